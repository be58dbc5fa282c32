"""Field helpers shared by every form: cleaning filters and validators with plain messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from wtforms import Field
from wtforms.validators import ValidationError

from app.text import has_control_characters, normalise


def single_line(value: Any) -> Any:
    return normalise(value) if isinstance(value, str) else value


def multi_line(value: Any) -> Any:
    return normalise(value, multiline=True) if isinstance(value, str) else value


def printable(*, multiline: bool = False) -> Callable[[Any, Field], None]:
    def check(_form: Any, field: Field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data, multiline=multiline):
            raise ValidationError("Please remove the invisible control characters from this field.")

    return check


def deliverable_looking_email(_form: Any, field: Field) -> None:
    """Syntax and domain shape by email-validator, without network look-ups.

    Kept in its ASCII form (an internationalised domain as punycode): every SMTP server can
    deliver to it, and one address has one spelling for the one-signature-per-address rule.
    """
    try:
        checked = validate_email(field.data or "", check_deliverability=False, allow_smtputf8=False)
        field.data = checked.ascii_email or checked.normalized
    except EmailNotValidError as error:
        raise ValidationError(str(error)) from None
