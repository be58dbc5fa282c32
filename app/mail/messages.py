"""Composing emails from templates/mail/, with no Flask application needed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config import PROJECT_ROOT


@dataclass(frozen=True)
class ComposedEmail:
    kind: str
    subject: str
    body_text: str
    body_html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates" / "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # read once per process, not checked on disk for every email
    )


def compose(kind: str, **context: Any) -> ComposedEmail:
    """Render templates/mail/<kind>.{subject,txt,html} with the same context."""
    env = _environment()
    subject = env.get_template(f"{kind}.subject.txt").render(**context)
    return ComposedEmail(
        kind=kind,
        # A subject is one line: a newline in it would start a header of its own.
        subject=" ".join(subject.split()),
        body_text=env.get_template(f"{kind}.txt").render(**context),
        body_html=env.get_template(f"{kind}.html").render(**context),
    )
