"""Field helpers shared by every form: cleaning filters and validators with plain messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask_babel import get_locale, gettext
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, Field, StringField, TextAreaField, widgets
from wtforms.validators import ValidationError
from wtforms.widgets.core import clean_key

from app.support.countries import country_choices, is_country_code
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
            raise ValidationError(
                gettext(
                    "Please remove the invisible control characters from this field: they often "
                    "come with pasted text, and typing it again removes them."
                )
            )

    return check


def no_stacked_marks(_form: Any, field: Field) -> None:
    """Refuse "zalgo" text: marks stacked on a letter smear over the lines of the list."""
    if isinstance(field.data, str) and has_stacked_marks(field.data):
        raise ValidationError(gettext(STACKED_MARKS_MESSAGE))


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
        raise ValidationError(gettext(str(error))) from None


# --- fields that render cheaply --------------------------------------------------------------
# WTForms writes each attribute through Markup.format (string.Formatter in Python): on the letter
# page, a third of its CPU went to the sign form's dozen inputs. These widgets write the same
# attributes with f-strings and markupsafe's C escape.


def attributes(**values: Any) -> str:
    """HTML attributes, as WTForms' html_params writes them (sorted, `class_` and `data_`
    spellings, True as a bare attribute, False and None left out), each value escaped."""
    written = []
    for key, value in sorted(values.items()):
        if value is True:
            written.append(clean_key(key))
        elif value is not False and value is not None:
            written.append(f'{clean_key(key)}="{escape(value)}"')
    return " ".join(written)


def _with_validation_attributes(
    widget: widgets.TextArea | widgets.Select, field: Field, values: dict[str, Any]
) -> dict[str, Any]:
    """The attributes the field's validators imply (required, maxlength, ...), as WTForms adds
    them, unless given."""
    for name in widget.validation_attrs:
        if name not in values and getattr(field.flags, name, False):
            values[name] = getattr(field.flags, name)
    return values


class TextInput(widgets.TextInput):
    html_params = staticmethod(attributes)


class EmailInput(widgets.EmailInput):
    html_params = staticmethod(attributes)


class CheckboxInput(widgets.CheckboxInput):
    html_params = staticmethod(attributes)


class TextArea(widgets.TextArea):
    def __call__(self, field: Field, **values: Any) -> Markup:
        values.setdefault("id", field.id)
        _with_validation_attributes(self, field, values)
        text = escape(field._value())
        return Markup(f"<textarea {attributes(name=field.name, **values)}>\r\n{text}</textarea>")  # noqa: S704


class TextField(StringField):
    widget = TextInput()


class EmailAddressField(EmailField):
    widget = EmailInput()


class TextBoxField(TextAreaField):
    widget = TextArea()


class CheckboxField(BooleanField):
    widget = CheckboxInput()


class CountrySelect(widgets.Select):
    """The country list: each of its 250 options is written once per process, and a render
    only picks the selected one. WTForms' own Select escaped and formatted every option anew,
    half of the CPU of a letter page."""

    def __call__(self, field: Field, **values: Any) -> Markup:
        values.setdefault("id", field.id)
        _with_validation_attributes(self, field, values)
        chosen = field.data or None  # nothing chosen yet: no option marked, as WTForms did
        options = "".join(
            selected if value == chosen else plain
            for value, plain, selected in _country_options(
                _text(getattr(field, "placeholder", None)), str(get_locale() or "en")
            )
        )
        # The options were escaped when they were made; `attributes` escapes the rest.
        select = f"<select {attributes(name=field.name, **values)}>{options}</select>"
        return Markup(select)  # noqa: S704


def _text(value: object) -> str | None:
    return None if value is None else str(value)  # a lazy translation, in the page's language


@cache
def _country_options(placeholder: str | None, language: str) -> tuple[tuple[str, str, str], ...]:
    """(code, option, selected option) for each country, named in `language`, after the
    placeholder if any."""
    choices = [("", placeholder)] if placeholder is not None else []
    options = []
    for value, label in [*choices, *country_choices(language)]:
        code, name = escape(value), escape(label)
        options.append(
            (
                value,
                f'<option value="{code}">{name}</option>',
                f'<option selected value="{code}">{name}</option>',
            )
        )
    return tuple(options)


class CountryField(TextField):
    """An ISO 3166-1 alpha-2 code chosen from the list, with an optional first "choose" line.

    Not a SelectField: WTForms parses a SelectField's choices again for every form made, and
    this list is the same for every form."""

    widget = CountrySelect()

    def __init__(self, *args: Any, placeholder: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placeholder = placeholder

    def pre_validate(self, form: object) -> None:
        if self.data and not is_country_code(self.data):
            raise ValidationError(gettext("Please choose a country from the list."))
