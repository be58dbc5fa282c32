"""Importing signatories collected elsewhere (paper, a form tool, a previous site).

All or nothing: every bad row is reported by its line number, and nothing of a file with one is
kept. Rows are written in bulk, chunk by chunk, while the next chunk is being checked, all in one
savepoint that a bad line anywhere rolls back: so 100,000 rows take seconds. Every check is
linear in the file's size: a file too wide or with a line too long is refused before its cells
are looked at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from sqlalchemy import String, func, insert, literal, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from app import audit
from app.affiliations.affiliations import affiliation_key
from app.db import DbSession, bulk_insert
from app.errors import InvalidInput
from app.mail.outbox import queue_many
from app.models import (
    AFFILIATION_MAX,
    COMMENT_MAX,
    NAME_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    Affiliation,
    Letter,
    Organiser,
    Signature,
    SignatureState,
)
from app.organisations import affiliation_links
from app.signing.emails import confirmation_for
from app.signing.settings import SigningSettings
from app.support.csv_input import CsvRecords, RowProblem, cell_text, country_cell, email_cell
from app.support.identifiers import IN_LIST_MAX, chunks
from app.support.text import has_control_characters, lookalike_key, mailbox_key, normalise

REQUIRED_COLUMNS = ("name", "email", "affiliation", "title", "country")
OPTIONAL_COLUMNS = ("comment", "signed_at")
#: What an import is described as in public when the organisers say nothing more.
DEFAULT_SOURCE = "Imported by the organisers"
MAX_ROWS = 500_000
#: Keys (addresses, organisations) looked up per query when matching a file against the letter.
LOOKUP_CHUNK = IN_LIST_MAX
#: Rows checked, then written, at a time: big enough for COPY to pay, small enough to overlap.
CHUNK_ROWS = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class ImportRow:
    line: int
    name: str
    email: str
    email_key: str
    affiliation: str
    title: str
    country: str
    comment: str | None
    #: When the person signed, as the file says (None: the moment of the import).
    signed_at: datetime | None = None
    #: The name's look-alike key and the affiliation's folded key, made while the file is
    #: checked (in the checking thread, while the database works on the chunk before:
    #: 200,000 look-alike keys cost seconds of CPU).
    name_key: str = ""
    affiliation_key: str = ""


@dataclass
class ImportResult:
    imported: int = 0
    skipped_already_signed: int = 0
    skipped_repeated_in_file: int = 0
    emails_queued: int = 0
    skipped_lines: list[int] = field(default_factory=list)

    def audit_details(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "skipped_already_signed": self.skipped_already_signed,
            "skipped_repeated_in_file": self.skipped_repeated_in_file,
            "emails_queued": self.emails_queued,
        }


def parse(data: bytes) -> list[ImportRow]:
    """Check every row; ImportRejected listing each bad line, or the clean rows."""
    return [row for chunk in _checked_chunks(data) for row in chunk]


def _checked_chunks(data: bytes) -> Iterator[list[ImportRow]]:
    """The file's clean rows, CHUNK_ROWS at a time; once the whole file is read,
    ImportRejected listing every bad line (after a first bad line no more chunks come)."""
    records = CsvRecords(
        data, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, max_rows=MAX_ROWS
    )
    rows: list[ImportRow] = []
    for line, record in records:
        try:
            row = _row(line, record)
        except ValueError as error:
            records.problems.append(RowProblem(line, str(error)))
            continue
        if records.problems:  # a refused file's clean rows are never written: not kept either
            continue
        rows.append(row)
        if len(rows) == CHUNK_ROWS:
            yield rows
            rows = []
    records.finish()
    yield rows


def _row(line: int, value: dict[str, str]) -> ImportRow:
    email = email_cell(value["email"])
    code = country_cell(value["country"], required=True)
    comment = cell_text(value["comment"], "comment", COMMENT_MAX, required=False, multiline=True)
    name = cell_text(value["name"], "name", NAME_MAX, required=True)
    affiliation = cell_text(value["affiliation"], "affiliation", AFFILIATION_MAX, required=True)
    return ImportRow(
        line=line,
        name=name,
        name_key=lookalike_key(name),
        email=email,
        email_key=mailbox_key(email),
        affiliation=affiliation,
        affiliation_key=affiliation_key(affiliation),
        title=cell_text(value["title"], "title", TITLE_MAX, required=True),
        country=code,
        comment=comment or None,
        signed_at=signed_at_cell(value["signed_at"]),
    )


def signed_at_cell(value: str) -> datetime | None:
    """The optional signed_at cell: an ISO 8601 date or time (a time without a zone is UTC),
    not in the future; None when empty."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"signed_at {text[:40]!r} is not a date (2026-03-01) or a time (2026-03-01T14:30Z)"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > datetime.now(UTC) + timedelta(days=1) or moment.year < 1900:
        raise ValueError(f"signed_at {text[:40]!r} is not a date on which anyone signed")
    return moment


def _look_up(
    session: DbSession,
    letter: Letter,
    key: InstrumentedAttribute[str],
    keys: Sequence[str],
    *columns: InstrumentedAttribute[Any],
) -> Iterator[Any]:
    """(key, *columns) of the letter's rows whose `key` is one of `keys`, LOOKUP_CHUNK keys a
    query; the table's unique index on (letter_id, key) finds each.

    On PostgreSQL each key of the chunk (one array parameter) is looked up on its own, by a
    LIMIT 1 subquery the planner cannot turn into a scan of the letter's rows, and with the
    letter's id given as a sub-select, whose value the planner does not see. So no statistics
    (a new letter's rows are in none; a letter that grew by the import has stale ones) can make
    it read the letter through another index and filter: to the planner, only the unique index
    finds a key's one row; through any other index it would read a whole letter's share of the
    table. Planned by the statistics instead, `key = ANY(:keys)` read every row of the letter
    per chunk, or the whole table, or the addresses' trigram index (docs/PERFORMANCE.md).
    """
    model = key.class_
    for some_keys in chunks(keys, LOOKUP_CHUNK):
        chunk = list(some_keys)
        if session.get_bind().dialect.name != "postgresql":
            query = select(key, *columns).where(model.letter_id == letter.id, key.in_(chunk))
        else:
            wanted = (
                func.unnest(literal(chunk, postgresql.ARRAY(String())))
                .table_valued("key")
                .render_derived(name="wanted")
            )
            found = (
                select(key, *columns)
                .where(
                    model.letter_id == select(literal(letter.id)).scalar_subquery(),
                    key == wanted.c.key,
                )
                .limit(1)
                .lateral("found")
            )
            query = select(*found.c).select_from(wanted).join(found, true())
        yield from session.execute(query)


def _affiliation_ids(
    session: DbSession, letter: Letter, rows: Iterable[ImportRow]
) -> dict[str, int]:
    """Folded key -> canonical affiliation id, creating the missing ones in one statement."""
    first_spelling: dict[str, str] = {}
    for row in rows:
        first_spelling.setdefault(row.affiliation_key, row.affiliation)
    keys = list(first_spelling)
    found: dict[str, int] = {}
    for key, ident, canonical in _look_up(
        session, letter, Affiliation.key, keys, Affiliation.id, Affiliation.canonical_id
    ):
        found[key] = canonical or ident
    missing = [key for key in keys if key not in found]
    if missing:
        created: dict[str, int] = {
            key: ident
            for key, ident in session.execute(
                insert(Affiliation).returning(Affiliation.key, Affiliation.id),
                [
                    {"letter_id": letter.id, "key": key, "name": first_spelling[key]}
                    for key in missing
                ],
            )
        }
        found.update(created)
        # Linked by the one rule, as the sign form's are: one UPDATE for the chunk's new ones.
        for batch in chunks(list(created.values()), LOOKUP_CHUNK):
            affiliation_links.relink(session, Affiliation.id.in_(batch))
    return found


def _signed_already(session: DbSession, letter: Letter, keys: Sequence[str]) -> set[str]:
    """Which of these addresses signed the letter already: looked up address by address in the
    unique index, not by reading the letter's every signature."""
    return {key for (key,) in _look_up(session, letter, Signature.email_normalized, keys)}


def import_rows(
    session: DbSession,
    letter: Letter,
    rows: Sequence[ImportRow],
    *,
    verified: bool,
    source: str,
    settings: SigningSettings,
    now: datetime,
) -> ImportResult:
    """Write checked rows in bulk. Addresses that already signed are skipped and counted;
    unverified rows get a confirmation email each, like any other pending signature."""
    return _import_chunks(
        session, letter, [rows], verified=verified, source=source, settings=settings, now=now
    )


def _read_ahead(executor: Executor, items: Iterator[T]) -> Iterator[T]:
    """`items`, each next one computed on `executor` while the caller handles this one."""
    upcoming = executor.submit(next, items, None)
    while (item := upcoming.result()) is not None:
        upcoming = executor.submit(next, items, None)
        yield item


def _import_chunks(
    session: DbSession,
    letter: Letter,
    chunks: Iterable[Sequence[ImportRow]],
    *,
    verified: bool,
    source: str,
    settings: SigningSettings,
    now: datetime,
) -> ImportResult:
    """import_rows, chunk by chunk, in one savepoint: an exception from `chunks` (a bad line
    further down the file) or from the database undoes every chunk written before it."""
    result = ImportResult()
    in_file: set[str] = set()
    pending: list[ImportRow] = []
    try:
        with session.begin_nested():
            for chunk in chunks:
                fresh = _fresh(session, letter, chunk, in_file, result)
                if not fresh:
                    continue
                bulk_insert(
                    session,
                    Signature.__table__,
                    _signature_values(session, letter, fresh, verified, source, now),
                )
                result.imported += len(fresh)
                if not verified:
                    pending.extend(fresh)
    except (IntegrityError, psycopg.errors.UniqueViolation):
        raise InvalidInput(
            "Someone signed the letter with one of these addresses or organisations while the "
            "file was being imported. Nothing was imported; please run the import again."
        ) from None
    if pending:
        ids = _ids_of(session, letter, [row.email_key for row in pending])
        result.emails_queued = _queue_confirmations(session, letter, pending, ids, settings)
    session.flush()
    return result


def _fresh(
    session: DbSession,
    letter: Letter,
    rows: Sequence[ImportRow],
    in_file: set[str],
    result: ImportResult,
) -> list[ImportRow]:
    """The rows to write: not signed already, and not repeating an earlier row of the file
    (`in_file`, kept across chunks); the others are counted in `result`."""
    already = _signed_already(session, letter, [row.email_key for row in rows])
    fresh: list[ImportRow] = []
    for row in rows:
        # The file first: an earlier chunk's rows are in the database by now.
        if row.email_key in in_file:
            result.skipped_repeated_in_file += 1
        elif row.email_key in already:
            result.skipped_already_signed += 1
        else:
            in_file.add(row.email_key)
            fresh.append(row)
            continue
        result.skipped_lines.append(row.line)
    return fresh


def _signature_values(
    session: DbSession,
    letter: Letter,
    rows: Sequence[ImportRow],
    verified: bool,
    source: str,
    now: datetime,
) -> list[dict[str, Any]]:
    affiliation_ids = _affiliation_ids(session, letter, rows)
    state = SignatureState.VERIFIED if verified else SignatureState.PENDING
    return [
        {
            "letter_id": letter.id,
            "state": state,
            "name": row.name,
            "name_key": row.name_key,
            "email": row.email,
            "email_normalized": row.email_key,
            "affiliation_id": affiliation_ids[row.affiliation_key],
            "title": row.title,
            "country": row.country,
            "comment": row.comment,
            "is_public": True,
            "emails_sent": 0 if verified else 1,
            # The file's date only for people who confirmed already: a pending signature's
            # reminder and retention count from now, when it was emailed.
            "signed_at": signed_at if verified else now,
            "verified_at": signed_at if verified else None,
            "letter_version": letter.version,
            "source": source,
        }
        for row in rows
        for signed_at in (row.signed_at or now,)
    ]


def _ids_of(session: DbSession, letter: Letter, keys: Sequence[str]) -> dict[str, int]:
    found = _look_up(session, letter, Signature.email_normalized, keys, Signature.id)
    return {email_key: ident for email_key, ident in found}


def _queue_confirmations(
    session: DbSession,
    letter: Letter,
    rows: Sequence[ImportRow],
    ids: dict[str, int],
    settings: SigningSettings,
) -> int:
    """A confirmation email for each imported pending signature, queued in bulk; the worker
    writes each one when it delivers it."""
    messages = [confirmation_for(letter.id, ids[row.email_key], row.email) for row in rows]
    return queue_many(session, messages, sender_domain=settings.sender_domain)


def import_file(
    session: DbSession,
    letter: Letter,
    data: bytes,
    *,
    file_name: str,
    source: str,
    verified: bool,
    settings: SigningSettings,
    now: datetime,
    organiser: Organiser | None,
) -> ImportResult:
    """Check a CSV file, import its rows and log it: what the command line and the console
    both do (organiser None: the command line). ImportRejected if any row is wrong."""
    source = normalise(source)
    if not source or len(source) > SOURCE_MAX or has_control_characters(source):
        raise InvalidInput(
            f"Say in 1 to {SOURCE_MAX} printable characters where these signatures come from "
            "(it is shown beside them in public)."
        )
    if letter.embargoed and not verified:
        raise InvalidInput(
            "This letter is under embargo: its confirmation links would lead nowhere. Import "
            "people who have confirmed already, or invite them (letters invite)."
        )
    # The next chunk of the file is checked in a thread while this one is written: the
    # database's index work and Python's checking overlap instead of taking turns.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-check") as checker:
        result = _import_chunks(
            session,
            letter,
            _read_ahead(checker, _checked_chunks(data)),
            verified=verified,
            source=source,
            settings=settings,
            now=now,
        )
    audit.record(
        session,
        organiser,
        "import",
        letter=letter,
        file=file_name,
        **result.audit_details(),
        verified=verified,
    )
    return result
