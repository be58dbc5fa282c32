"""Exporting a letter's signatures: rows from the database, then CSV or JSON, both streamed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import select

from app.db import DbSession
from app.models import Affiliation, Letter, Signature, SignatureState

EXPORT_COLUMNS = (
    "name",
    "email",
    "affiliation",
    "title",
    "country",
    "comment",
    "public",
    "status",
    "signed_at",
    "verified_at",
)

# Spreadsheets run a cell starting with these as a formula ("=HYPERLINK(...)" in a name field).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def signature_rows(
    session: DbSession, letter: Letter, *, include_all: bool = False, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Verified signatures (or every state, with include_all), oldest first, fetched in batches."""
    query = (
        select(
            Signature.name,
            Signature.email,
            Affiliation.name,
            Signature.title,
            Signature.country,
            Signature.comment,
            Signature.is_public,
            Signature.state,
            Signature.signed_at,
            Signature.verified_at,
        )
        .join(Affiliation, Signature.affiliation_id == Affiliation.id)
        .where(Signature.letter_id == letter.id)
        .order_by(Signature.id)
        .execution_options(yield_per=batch_size)
    )
    if not include_all:
        query = query.where(Signature.state == SignatureState.VERIFIED)
    for row in session.execute(query):
        yield {
            "name": row[0],
            "email": row[1],
            "affiliation": row[2],
            "title": row[3],
            "country": row[4],
            "comment": row[5] or "",
            "public": bool(row[6]),
            "status": row[7].value,
            "signed_at": row[8].isoformat(),
            "verified_at": row[9].isoformat() if row[9] else "",
        }


def _spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """A JSON array written one object per line, so memory stays flat however long it is."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


WRITERS = {"csv": write_csv, "json": write_json}
