"""Exporting a letter's signatures: rows from the database, then CSV or JSON, both streamed."""

from __future__ import annotations

import csv
import enum
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, TextIO

from sqlalchemy import Select, and_, column, func, insert, select, table, text
from sqlalchemy.orm import aliased

from app import audit
from app.db import DbSession
from app.errors import TooLarge
from app.models import (
    PUBLICLY_COUNTED,
    Affiliation,
    Letter,
    Organisation,
    Organiser,
    Signature,
    SignatureState,
)
from app.moderation.operations import SignatureFilter, filtered, filtered_columns, numbered
from app.support.spreadsheets import FORMULA_STARTS, spreadsheet_safe
from app.support.text import xml_text


class Shape(enum.Enum):
    """How a column's value is written, the same by Python and by PostgreSQL's COPY."""

    #: Typed by a person: defused against formulas; NULL as "".
    TEXT = "text"
    #: Chosen from a list (a country code, a state): as it is.
    CODE = "code"
    YES_NO = "yes/no"
    #: ISO 8601 in UTC, as datetime.isoformat() writes it; NULL as "".
    MOMENT = "moment"


@dataclass(frozen=True)
class ExportColumn:
    name: str
    #: A column, or an expression over the export's tables (see _joined).
    source: Any
    shape: Shape
    #: The same value in the SQL of the COPY statements, when `source` is not a plain column.
    copy_sql: str | None = None

    def python(self, value: Any) -> Any:
        """The value in a row of the Python writer (before CSV's own defusing)."""
        if self.shape is Shape.YES_NO:
            return bool(value)  # NULL (a comparison with no organisation) is a no, as in SQL
        if value is None:
            return ""
        if self.shape is Shape.MOMENT:
            return value.isoformat()
        return value.value if isinstance(value, enum.Enum) else value

    def sql(self) -> str:
        """The same value as CSV text, computed by PostgreSQL (for COPY)."""
        column = self.copy_sql or f"{self.source.table.name}.{self.source.name}"
        if self.shape is Shape.MOMENT:
            return f"coalesce({_iso(column)}, '') AS {self.name}"
        if self.shape is Shape.YES_NO:
            return f"CASE WHEN {column} THEN 'yes' ELSE 'no' END AS {self.name}"
        if self.shape is Shape.TEXT:
            return f"{_defused(f'coalesce({column}, {_EMPTY})')} AS {self.name}"
        return f"{column} AS {self.name}"


_EMPTY = "''"

#: The organisation a signature's stated affiliation is linked to, and the one its confirmed
#: address is at: joined to every export under these names (_joined, and the COPY queries).
_STATED = aliased(Organisation, name="stated_organisation")
_VERIFIED = aliased(Organisation, name="verified_organisation")
_ORGANISATION_JOINS = """
        LEFT JOIN organisations AS stated_organisation
            ON stated_organisation.id = affiliations.organisation_id
        LEFT JOIN organisations AS verified_organisation
            ON verified_organisation.id = signatures.email_organisation_id"""

#: The export, defined once: the Python writer and the COPY statements are built from it.
COLUMNS = (
    ExportColumn("name", Signature.name, Shape.TEXT),
    ExportColumn("email", Signature.email, Shape.TEXT),
    ExportColumn("affiliation", Affiliation.name, Shape.TEXT),
    # The registered organisation the stated affiliation stands for.
    ExportColumn("organisation", _STATED.name, Shape.TEXT, copy_sql="stated_organisation.name"),
    # Confirmed from an address at that organisation's domains (as the public list says).
    ExportColumn(
        "affiliation_verified",
        and_(
            Signature.state == SignatureState.VERIFIED,
            Signature.email_organisation_id == _STATED.id,
        ),
        Shape.YES_NO,
        copy_sql="(signatures.state = 'verified' "
        "AND signatures.email_organisation_id = stated_organisation.id)",
    ),
    # Where the confirmed address is, whatever was stated: for organisers only.
    ExportColumn(
        "email_organisation", _VERIFIED.name, Shape.TEXT, copy_sql="verified_organisation.name"
    ),
    ExportColumn("title", Signature.title, Shape.TEXT),
    ExportColumn("country", Signature.country, Shape.CODE),
    ExportColumn("comment", Signature.comment, Shape.TEXT),
    ExportColumn("public", Signature.is_public, Shape.YES_NO),
    ExportColumn("status", Signature.state, Shape.CODE),
    ExportColumn("signed_at", Signature.signed_at, Shape.MOMENT),
    ExportColumn("verified_at", Signature.verified_at, Shape.MOMENT),
    # The text version signed, and a later one of substance the signer said they keep.
    ExportColumn("text_version", Signature.letter_version, Shape.CODE),
    ExportColumn("reaffirmed_version", Signature.reaffirmed_version, Shape.CODE),
    # A founding signatory (signed from an invitation before the launch).
    ExportColumn("initial", Signature.initial, Shape.YES_NO),
    # Asked for news about the letter.
    ExportColumn("news", Signature.wants_news, Shape.YES_NO),
)
EXPORT_COLUMNS = tuple(column.name for column in COLUMNS)
_SOURCES = [column.source for column in COLUMNS]

#: JSON and Excel exports are built row by row in Python, about a minute a million rows: the
#: console refuses bigger ones rather than be cut off by the web worker's time limit mid-file.
#: CSV has no such limit (PostgreSQL writes it, see filtered_csv).
ROW_BY_ROW_MAX = 200_000


def _joined(query: Select[Any]) -> Select[Any]:
    """An export's query (signatures joined to their affiliations) with the organisations its
    columns read."""
    return query.outerjoin(_STATED, _STATED.id == Affiliation.organisation_id).outerjoin(
        _VERIFIED, _VERIFIED.id == Signature.email_organisation_id
    )


def _export_rows(session: DbSession, query: Select[Any]) -> Iterator[dict[str, Any]]:
    for values in session.execute(_joined(query)):
        yield {
            column.name: column.python(value) for column, value in zip(COLUMNS, values, strict=True)
        }


def signature_rows(
    session: DbSession, letter: Letter, *, include_all: bool = False, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Verified signatures (or every state, with include_all), oldest first, fetched in batches."""
    query = (
        select(*_SOURCES)
        .join(Affiliation, Signature.affiliation_id == Affiliation.id)
        .where(Signature.letter_id == letter.id)
        .order_by(Signature.id)
        .execution_options(yield_per=batch_size)
    )
    if not include_all:
        query = query.where(*PUBLICLY_COUNTED)
    return _export_rows(session, query)


def moderation_rows(
    session: DbSession, letter: Letter, wanted: SignatureFilter, *, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """The console's current filter, in its order, as export rows."""
    query = filtered_columns(session, letter, wanted, _SOURCES)
    return _export_rows(session, query.execution_options(yield_per=batch_size))


def _count_filtered(session: DbSession, letter: Letter, wanted: SignatureFilter) -> int:
    subquery = filtered(session, letter, wanted).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def record_export(
    session: DbSession,
    letter: Letter,
    wanted: SignatureFilter,
    file_format: str,
    *,
    by: Organiser | None,
    described: dict[str, str],
) -> int:
    """Count what a download of the table's filter will hold and record who takes it, before
    it is streamed; TooLarge when only CSV can carry that many rows."""
    rows = _count_filtered(session, letter, wanted)
    if file_format != "csv" and rows > ROW_BY_ROW_MAX:
        raise TooLarge(
            f"This filter selects {rows:,} signatures: more than a {file_format.upper()} file "
            f"built in the browser can hold ({ROW_BY_ROW_MAX:,}). Download CSV, which has no "
            "limit, or narrow the filter."
        )
    audit.record(
        session, by, "export", letter=letter, format=file_format, rows=rows, filter=described
    )
    return rows


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
    # Imported here: openpyxl costs every process (each CLI run, each worker) 0.2 s to load.
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Signatures")
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_cell(spreadsheet_safe(row[column])) for column in columns])
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(spool)
    spool.seek(0)
    return spool


def _cell(value: Any) -> Any:
    """A workbook's cell: its text as XML can hold it (the workbook is XML)."""
    return xml_text(value) if isinstance(value, str) else value


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _defused(column: str) -> str:
    # spreadsheet_safe in SQL, by the first character's code (a NUL cannot occur in
    # PostgreSQL text). ascii() costs far less than left() on a million rows.
    codes = ", ".join(str(ord(start)) for start in FORMULA_STARTS if start != "\0")
    quote = "''''"  # SQL for a text holding one quote
    return f"CASE WHEN ascii({column}) IN ({codes}) THEN {quote} || {column} ELSE {column} END"


def _iso(column: str) -> str:
    # datetime.isoformat() of a UTC time, which leaves out microseconds when there are none.
    pattern = 'YYYY-MM-DD"T"HH24:MI:SS.US+00:00'
    return f"replace(to_char({column} AT TIME ZONE 'UTC', '{pattern}'), '.000000+', '+')"


_CSV_COLUMNS = ", ".join(column.sql() for column in COLUMNS)
_COPY_OPTIONS = "TO STDOUT WITH (FORMAT csv, HEADER, ENCODING 'UTF8')"

#: The CSV export as one query for COPY. Built from constants only; the letter id and the flag
#: are bound values.
_COPY_QUERY = f"""
    COPY (
        SELECT {_CSV_COLUMNS}
        FROM signatures JOIN affiliations ON affiliations.id = signatures.affiliation_id
        {_ORGANISATION_JOINS}
        WHERE signatures.letter_id = %s
            AND (%s OR (signatures.state = 'verified' AND NOT signatures.quarantined))
        ORDER BY signatures.id
    ) {_COPY_OPTIONS}
"""  # noqa: S608

#: The console's filtered export: the signatures whose ids filtered_csv put in _EXPORT_IDS,
#: in their order there.
_EXPORT_IDS = table("export_ids", column("position"), column("signature_id"))
_DROP_EXPORT_IDS = text("DROP TABLE IF EXISTS pg_temp.export_ids")  # an earlier export's
_CREATE_EXPORT_IDS = text(
    "CREATE TEMPORARY TABLE export_ids (position bigint, signature_id integer) ON COMMIT DROP"
)
_COPY_FILTERED = f"""
    COPY (
        SELECT {_CSV_COLUMNS}
        FROM export_ids JOIN signatures ON signatures.id = export_ids.signature_id
            JOIN affiliations ON affiliations.id = signatures.affiliation_id
        {_ORGANISATION_JOINS}
        ORDER BY export_ids.position
    ) {_COPY_OPTIONS}
"""  # noqa: S608


def filtered_csv(session: DbSession, letter: Letter, wanted: SignatureFilter) -> Iterator[bytes]:
    """The console's current filter as UTF-8 CSV, in its order, chunk by chunk.

    On PostgreSQL the database writes it (COPY): a million rows in seconds, where building them
    row by row in Python took a minute, longer than a web worker may take to answer. The
    filter's ids and their order go into a temporary table first, through SQLAlchemy, so that
    the COPY itself needs no parameters."""
    if session.get_bind().dialect.name != "postgresql":
        for line in csv_lines(moderation_rows(session, letter, wanted)):
            yield line.encode("utf-8")
        return
    session.execute(_DROP_EXPORT_IDS)
    session.execute(_CREATE_EXPORT_IDS)
    session.execute(
        insert(_EXPORT_IDS).from_select(
            ["position", "signature_id"], numbered(session, letter, wanted)
        )
    )
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live connection, by construction of session.connection()
    with raw.cursor() as cursor, cursor.copy(_COPY_FILTERED) as copy:
        for chunk in copy:
            yield bytes(chunk)


def export_csv(session: DbSession, letter: Letter, out: BinaryIO, *, include_all: bool) -> int:
    """A letter's signatures as UTF-8 CSV into `out`; the number of rows.

    On PostgreSQL the database writes the CSV itself (COPY, passed on in chunks as they come):
    a million rows in about twice the time `psql \\copy` takes, in constant memory. Elsewhere,
    row by row in Python.
    """
    if session.get_bind().dialect.name != "postgresql":
        with _as_text(out) as text:
            return write_csv(signature_rows(session, letter, include_all=include_all), text)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live connection, by construction of session.connection()
    with raw.cursor() as cursor:
        with cursor.copy(_COPY_QUERY, (letter.id, include_all)) as copy:
            for chunk in copy:
                out.write(chunk)
        return max(cursor.rowcount, 0)


def export_json(session: DbSession, letter: Letter, out: BinaryIO, *, include_all: bool) -> int:
    """A letter's signatures as a UTF-8 JSON array into `out`; the number of rows."""
    with _as_text(out) as text:
        return write_json(signature_rows(session, letter, include_all=include_all), text)


EXPORTERS = {"csv": export_csv, "json": export_json}


@contextmanager
def _as_text(out: BinaryIO) -> Iterator[TextIO]:
    """Text written to a binary stream, which stays open afterwards."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()
