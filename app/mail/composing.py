"""Composing email at delivery: each kind of message is written by the domain that sends it,
from templates/mail/, when the sender delivers the outbox row that names it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.db import DbSession
from app.models import OutboundEmail
from app.support.languages import DEFAULT_LANGUAGE, LANGUAGES, formatting_locale
from config import PROJECT_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    body_text: str
    body_html: str
    #: Headers of its own (List-Unsubscribe on news), as (name, ASCII value) pairs.
    headers: tuple[tuple[str, str], ...] = ()


#: Writes the messages of one kind: outbox rows in, {row id: message} out. A row left out
#: cannot be written any more (what it was about is gone) and is marked failed, not sent.
#: Given the whole batch of its kind at once, so it can load what they are about in one query.
KindComposer = Callable[[DbSession, Sequence[OutboundEmail]], Mapping[int, ComposedEmail]]


@dataclass
class Composition:
    """A batch, written: the messages, and the rows whose composer failed (a bug, a broken
    template), kept apart so that one bad kind neither stops the worker nor loses the rest;
    they are tried again later like a message the server deferred."""

    messages: dict[int, ComposedEmail] = field(default_factory=dict)
    broken: dict[int, str] = field(default_factory=dict)


class Composer:
    """Every kind of message the sender may meet, each with the domain function that writes it."""

    def __init__(self, kinds: Mapping[str, KindComposer]) -> None:
        self.kinds = dict(kinds)

    def __call__(self, session: DbSession, rows: Sequence[OutboundEmail]) -> Composition:
        by_kind: dict[str, list[OutboundEmail]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row)
        composition = Composition()
        for kind, of_kind in by_kind.items():
            writer = self.kinds.get(kind)
            if writer is None:
                log.error("no composer for emails of kind %r", kind)
                continue
            try:
                composition.messages.update(writer(session, of_kind))
            except Exception as error:
                log.exception("emails of kind %r could not be composed", kind)
                reason = f"{type(error).__name__}: {error}"[:300]
                composition.broken.update({row.id: reason for row in of_kind})
        return composition


#: The compiled catalogues (pybabel compile, from app/translations/<language>/LC_MESSAGES).
TRANSLATIONS = PROJECT_ROOT / "app" / "translations"


_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


@cache
def _environment(language: str) -> Environment:
    """The mail templates in one language: gettext from that language's catalogue (English,
    or a language without one, writes the msgids as they are), numbers and dates its way."""
    env = Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates" / "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # read once per process, not checked on disk for every email
        extensions=["jinja2.ext.i18n"],
    )
    translations = Translations.load(str(TRANSLATIONS), [language], domain="messages")
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    formatting = formatting_locale(language)
    env.filters["number"] = lambda value: format_decimal(value, locale=formatting)
    env.filters["day"] = lambda value: format_date(value, format="long", locale=formatting)
    return env


def render(
    template: str,
    *,
    language: str = "en",
    headers: tuple[tuple[str, str], ...] = (),
    **context: Any,
) -> ComposedEmail:
    """templates/mail/<template>.{subject.txt,txt,html} in `language`, rendered with the same
    context."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    env = _environment(language)
    context["language"] = language
    subject = env.get_template(f"{template}.subject.txt").render(**context)
    return ComposedEmail(
        # A subject is one line: a newline in it would start a header of its own. Only line
        # breaks go: French puts no-break spaces before its colons.
        subject=_LINE_BREAKS.sub(" ", subject).strip(),
        body_text=env.get_template(f"{template}.txt").render(**context),
        body_html=env.get_template(f"{template}.html").render(**context),
        headers=headers,
    )
