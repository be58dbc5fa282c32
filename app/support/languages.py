"""The languages of the public side, and how a request's language is chosen: the signer's
choice in the URL (`?lang=fr`, kept on every link of the page, so a shared link keeps it; no
cookie), else the browser's Accept-Language, else English. One rule, used by the app and by
the page replay's key alike, so a replayed page is always in the language asked for."""

from __future__ import annotations

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

#: Each language the public side speaks, in its own name; the first is the default.
LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}
DEFAULT_LANGUAGE = "en"
#: The query parameter that chooses the language.
LANGUAGE_PARAMETER = "lang"


def chosen_language(parameter: str | None) -> str | None:
    """The language a `?lang=` value names, if it is one we speak."""
    value = (parameter or "").strip().lower()
    return value if value in LANGUAGES else None


def negotiated_language(parameter: str | None, accept_language: str | None) -> str:
    """The language of a request: `?lang=`, else the best of Accept-Language, else English."""
    chosen = chosen_language(parameter)
    if chosen:
        return chosen
    if accept_language:
        accepted = parse_accept_header(accept_language, LanguageAccept)
        best = accepted.best_match(list(LANGUAGES))
        if best:
            return best.split("-")[0].lower()
    return DEFAULT_LANGUAGE


def formatting_locale(language: str) -> str:
    """The locale numbers and dates are written in: English the British way ("3 December
    2026", a 24-hour clock), the others their own."""
    return "en_GB" if language == "en" else language
