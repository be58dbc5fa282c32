"""Field helpers shared by every form: cleaning filters and validators with plain messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from wtforms import Field
from wtforms.validators import ValidationError

from app.support.text import (
    STACKED_MARKS_MESSAGE,
    InvalidAddress,
    email_address,
    has_control_characters,
    has_stacked_marks,
    normalise,
)


def single_line(value: Any) -> Any:
    return normalise(value) if isinstance(value, str) else value


def multi_line(value: Any) -> Any:
    return normalise(value, multiline=True) if isinstance(value, str) else value


def printable(*, multiline: bool = False) -> Callable[[Any, Field], None]:
    def check(_form: Any, field: Field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data, multiline=multiline):
            raise ValidationError("Please remove the invisible control characters from this field.")

    return check


def no_stacked_marks(_form: Any, field: Field) -> None:
    """Refuse "zalgo" text: marks stacked on a letter smear over the lines of the list."""
    if isinstance(field.data, str) and has_stacked_marks(field.data):
        raise ValidationError(STACKED_MARKS_MESSAGE)


def moment_from(text: str, *, naive_means_utc: bool) -> datetime:
    """An ISO 8601 time typed into a form, within sane years; ValidationError otherwise.

    Without a time zone it is taken as UTC when `naive_means_utc`, and refused when not."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("Use ISO 8601, e.g. 2026-12-31T18:00+00:00.") from None
    if value.tzinfo is None:
        if not naive_means_utc:
            raise ValidationError("Add a time zone, e.g. +00:00.")
        value = value.replace(tzinfo=UTC)
    if not 2000 <= value.year <= 9000:
        raise ValidationError("Choose a time between the years 2000 and 9000.")
    return value


def deliverable_looking_email(_form: Any, field: Field) -> None:
    """Syntax and domain shape (text.email_address), without network look-ups."""
    try:
        field.data = email_address(field.data or "")
    except InvalidAddress as error:
        raise ValidationError(str(error)) from None
