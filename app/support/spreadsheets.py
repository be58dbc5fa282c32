"""Text bound for a spreadsheet: cells a spreadsheet would run as a formula are defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: Spreadsheets run a cell starting with these as a formula ("=HYPERLINK(...)" in a name
#: field); such text is written with a "'" in front (spreadsheet_safe; exports do the same in
#: SQL for PostgreSQL's COPY).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def spreadsheet_safe(value: Any) -> Any:
    """Defuse text a spreadsheet would run as a formula; booleans as yes/no."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def spreadsheet_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV table (header, then rows, CRLF as RFC 4180 has it) with every cell defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()
