"""What every model module shares: the field bounds (the forms use them too, so a valid form
always fits its column) and how enums are stored."""

from __future__ import annotations

import enum

from sqlalchemy import Enum

# Field bounds shared by the models and the forms, so a valid form always fits its column.
NAME_MAX = 200
EMAIL_MAX = 320
AFFILIATION_MAX = 200
TITLE_MAX = 200
COMMENT_MAX = 2000
NOTABLE_CONTEXT_MAX = 200
SLUG_MAX = 80
LETTER_TITLE_MAX = 200
DOMAIN_MAX = 253
URL_MAX = 500
SNAPSHOT_NOTE_MAX = 500
UPDATE_SUBJECT_MAX = 200
#: An import's description, shown publicly beside its signatures.
SOURCE_MAX = 200


def stored_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # Stored as short strings with a CHECK constraint: portable, readable in psql, easy to extend.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
