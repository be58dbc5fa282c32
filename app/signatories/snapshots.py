"""Snapshots anyone can check: the public list as it stands ("delivered to the European
Parliament, 14 March"), written once to a CSV file that is never changed afterwards, with its
SHA-256 and the SHA-256 of the letter's previous snapshot, so the snapshots form a chain.

The file's format is stable (README: "Snapshot files"): UTF-8 without a byte-order mark, CSV
with CRLF line ends and a header, one row per listed signatory (confirmed, not held, public),
oldest confirmation first, with the columns SNAPSHOT_COLUMNS. Text a spreadsheet would run as
a formula starts with a "'", as in every export. Withdrawals after a snapshot change the live
list, never a published file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.db import DbSession
from app.errors import N_, InvalidInput, NotFound
from app.models import (
    SNAPSHOT_NOTE_MAX,
    Letter,
    Organiser,
    Snapshot,
)
from app.signatories.public_list import listed_oldest_first
from app.support.spreadsheets import spreadsheet_safe
from app.support.text import has_control_characters, normalise

SNAPSHOT_COLUMNS = (
    "name",
    "title",
    "affiliation",
    "affiliation_verified",
    "country",
    "signed_at",
    "text_sha256",
)


def take_snapshot(
    session: DbSession, letter: Letter, *, note: str | None, by: Organiser | None, now: datetime
) -> Snapshot:
    """Write the public list as it stands now to a new snapshot of the letter; recorded."""
    note = normalise(note) or None
    if note is not None and (len(note) > SNAPSHOT_NOTE_MAX or has_control_characters(note)):
        raise InvalidInput(f"Keep the note under {SNAPSHOT_NOTE_MAX} printable characters.")
    content, rows = _file(session, letter)
    previous = session.scalars(
        select(Snapshot)
        .where(Snapshot.letter_id == letter.id)
        .order_by(Snapshot.number.desc())
        .limit(1)
    ).one_or_none()
    snapshot = Snapshot(
        letter_id=letter.id,
        number=(previous.number + 1) if previous else 1,
        taken_at=now,
        note=note,
        signatures=rows,
        sha256=hashlib.sha256(content).hexdigest(),
        previous_sha256=previous.sha256 if previous else None,
        content=content,
    )
    try:
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:  # another snapshot of this letter was taken at the same moment
        raise InvalidInput(
            "Another snapshot was being taken at the same time; try again."
        ) from None
    audit.record(
        session,
        by,
        "snapshot.take",
        letter=letter,
        number=snapshot.number,
        sha256=snapshot.sha256,
        signatures=rows,
        note=note,
    )
    return snapshot


def _file(session: DbSession, letter: Letter) -> tuple[bytes, int]:
    """The snapshot's CSV bytes and row count, in the documented format."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SNAPSHOT_COLUMNS)
    rows = 0
    query = listed_oldest_first().execution_options(yield_per=5000)
    for row in session.execute(query, {"letter_id": letter.id}):
        writer.writerow(
            (
                spreadsheet_safe(row.name),
                spreadsheet_safe(row.title),
                spreadsheet_safe(row.affiliation),
                "yes" if row.affiliation_verified else "no",
                row.country,
                row.verified_at.isoformat(),
                row.text_sha256 or "",
            )
        )
        rows += 1
    return out.getvalue().encode("utf-8"), rows


def snapshots_of(session: DbSession, letter: Letter) -> Sequence[Snapshot]:
    """The letter's snapshots, oldest first (their files are not read)."""
    return session.scalars(
        select(Snapshot).where(Snapshot.letter_id == letter.id).order_by(Snapshot.number)
    ).all()


def snapshot_file(session: DbSession, letter: Letter, number: int) -> bytes:
    """One snapshot's file, byte for byte; NotFound if the letter has no such snapshot."""
    content = session.scalar(
        select(Snapshot.content).where(Snapshot.letter_id == letter.id, Snapshot.number == number)
    )
    if content is None:
        raise NotFound(N_("This letter has no such snapshot."))
    return bytes(content)
