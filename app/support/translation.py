"""The public side in four languages (Flask-Babel): the language each request is answered in
(support/languages.py), links that keep a chosen language, the language switcher, numbers and
dates written the language's way. The console and the API stay in English."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, Response, request, url_for
from flask_babel import Babel, get_locale

from app.support.countries import country_name
from app.support.http_cache import is_tracking
from app.support.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGE_PARAMETER,
    LANGUAGES,
    chosen_language,
    formatting_locale,
    negotiated_language,
)

babel = Babel()

#: Blueprints that answer in English whatever the visitor reads (the organisers' console, the
#: API's JSON).
_ENGLISH_ONLY = {"organiser", "api"}


def request_language() -> str:
    if request.blueprint in _ENGLISH_ONLY:
        return DEFAULT_LANGUAGE
    return negotiated_language(
        request.args.get(LANGUAGE_PARAMETER), request.headers.get("Accept-Language")
    )


def install(app: Flask) -> None:
    babel.init_app(app, locale_selector=request_language, default_locale=DEFAULT_LANGUAGE)
    app.url_defaults(_keep_the_chosen_language)
    app.context_processor(_language_context)
    app.after_request(_say_the_language)
    app.jinja_env.filters["number"] = _number
    app.jinja_env.filters["day"] = _day
    app.jinja_env.filters["moment"] = _moment
    app.jinja_env.filters["country"] = local_country_name


def _keep_the_chosen_language(endpoint: str, values: dict[str, Any]) -> None:
    """A language chosen in the URL stays on every link of the page (public pages only)."""
    if LANGUAGE_PARAMETER in values or not endpoint.startswith("public."):
        return
    chosen = chosen_language(request.args.get(LANGUAGE_PARAMETER)) if request else None
    if chosen:
        values[LANGUAGE_PARAMETER] = chosen


def _language_context() -> dict[str, Any]:
    current = str(get_locale() or DEFAULT_LANGUAGE)
    return {
        "language": current,
        "languages": LANGUAGES,
        "language_url": _language_url,
        # The console and the API answer in English: no switcher there.
        "show_languages": request.blueprint not in _ENGLISH_ONLY,
    }


def _language_url(language: str) -> str:
    """This page in another language (for the switcher)."""
    if request.endpoint is None or request.endpoint == "static":
        return "/?" + f"{LANGUAGE_PARAMETER}={language}"
    # The page's own parameters (a search, a page of the list), not tracking ones (the
    # replayed page is everyone's) nor url_for's own (_method, _anchor...).
    kept = {
        name: value
        for name, value in request.args.items()
        if not is_tracking(name) and not name.startswith("_")
    }
    values: dict[str, Any] = {**(request.view_args or {}), **kept, LANGUAGE_PARAMETER: language}
    return url_for(request.endpoint, **values)


def _say_the_language(response: Response) -> Response:
    """Public responses (pages, the share image...) say their language, and that it may
    follow Accept-Language (for proxies)."""
    if request.blueprint not in _ENGLISH_ONLY and request.endpoint != "static":
        response.headers["Content-Language"] = str(get_locale() or DEFAULT_LANGUAGE)
        if not chosen_language(request.args.get(LANGUAGE_PARAMETER)):
            response.vary.add("Accept-Language")
    return response


def _formatting_locale() -> str:
    return formatting_locale(str(get_locale() or DEFAULT_LANGUAGE))


def local_country_name(code: str) -> str:
    """A country's name in the page's language."""
    return country_name(code, str(get_locale() or DEFAULT_LANGUAGE))


def _number(value: int | float) -> str:
    return str(babel_numbers.format_decimal(value, locale=_formatting_locale()))


def _day(value: date | datetime) -> str:
    return str(babel_dates.format_date(value, format="long", locale=_formatting_locale()))


def _moment(value: datetime) -> str:
    """A day and a time, in UTC (as the site keeps every time), saying so."""
    locale = _formatting_locale()
    day = babel_dates.format_date(value, format="long", locale=locale)
    hour = babel_dates.format_time(value, format="HH:mm", tzinfo=UTC, locale=locale)
    return f"{day}, {hour} UTC"
