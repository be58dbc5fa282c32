"""Exporting a letter's signatures: rows from the database, then CSV or JSON, both streamed."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, TextIO

from openpyxl import Workbook
from sqlalchemy import func, select

from app.db import DbSession
from app.models import PUBLICLY_COUNTED, Affiliation, Letter, Signature
from app.moderation import SignatureFilter, filtered

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
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


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
        query = query.where(*PUBLICLY_COUNTED)
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


def moderation_rows(
    session: DbSession, letter: Letter, wanted: SignatureFilter, *, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """The console's current filter, in its order, as export rows."""
    # Signature.affiliation is joined-eager by default: one query, however many rows.
    query = filtered(session, letter, wanted).execution_options(yield_per=batch_size)
    for signature in session.scalars(query):
        yield {
            "name": signature.name,
            "email": signature.email,
            "affiliation": signature.affiliation.name,
            "title": signature.title,
            "country": signature.country,
            "comment": signature.comment or "",
            "public": signature.is_public,
            "status": signature.state.value,
            "signed_at": signature.signed_at.isoformat(),
            "verified_at": signature.verified_at.isoformat() if signature.verified_at else "",
        }


def count_filtered(session: DbSession, letter: Letter, wanted: SignatureFilter) -> int:
    subquery = filtered(session, letter, wanted).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def spreadsheet_safe(value: Any) -> Any:
    """Defuse text a spreadsheet would run as a formula; booleans as yes/no."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


class _Line:
    """A write target for csv.writer that hands back what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def csv_lines(
    rows: Iterable[dict[str, Any]], columns: Sequence[str] = EXPORT_COLUMNS
) -> Iterator[str]:
    line = _Line()
    writer = csv.DictWriter(line, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
        yield line.text
        line.text = ""
    yield line.text  # the header, when there were no rows; "" otherwise


def json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, one object per line, so memory stays flat however long it is."""
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False)
        first = False
    yield "]\n" if first else "\n]\n"


class _Counted:
    """Passes rows through, counting them."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    counted = _Counted(rows)
    out.writelines(csv_lines(counted))
    return counted.count


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    counted = _Counted(rows)
    out.writelines(json_lines(counted))
    return counted.count


def xlsx_file(rows: Iterable[dict[str, Any]], columns: Sequence[str] = EXPORT_COLUMNS) -> IO[bytes]:
    """An Excel workbook in a temporary file (the format cannot be streamed as it is written)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Signatures")
    sheet.append(list(columns))
    for row in rows:
        sheet.append([spreadsheet_safe(row[column]) for column in columns])
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(spool)
    spool.seek(0)
    return spool


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


WRITERS = {"csv": write_csv, "json": write_json}
