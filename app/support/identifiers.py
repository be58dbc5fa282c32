"""Numbers and page links that come from outside (URLs, forms, cookies), read one way."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

#: The largest id a row can have: PostgreSQL's `integer`. A bigger number in a URL or form
#: would make the database refuse the query (a 500), not find nothing (a 404).
ROW_ID_MAX = 2**31 - 1

#: Values bound in one IN (...) list or array at most: big lists cost the planner and the
#: driver more than several smaller queries.
IN_LIST_MAX = 10_000

T = TypeVar("T")


def whole_number(text: str, *, maximum: int = ROW_ID_MAX) -> int | None:
    """The number written in `text` (ASCII digits only) if it is from 1 to `maximum`; None for
    anything else, such as "-1", "1e9", "١٢" or a 400-digit number."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if 1 <= number <= maximum else None


def is_row_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ROW_ID_MAX


def chunks(values: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class BadCursor(ValueError):
    """A page link that was not made here, or has been tampered with."""


def encode_cursor(*values: Any) -> str:
    """A keyset page link: the sort values of the last row shown, as URL-safe text."""
    raw = json.dumps(list(values), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The values encode_cursor wrote, or BadCursor; the last is always a row id, and text
    values are free of what a database refuses (NUL, lone surrogates)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != length or not is_row_id(values[-1]):
            raise BadCursor(cursor)
        for value in values:
            if isinstance(value, str):
                if "\x00" in value:
                    raise BadCursor(cursor)
                value.encode("utf-8")
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise BadCursor(cursor) from None
    return values
