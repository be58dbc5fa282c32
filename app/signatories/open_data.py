"""The public list as open data: CSV and JSON files with the API's columns (public fields
only, never an address), streamed row by row so a million signatories take little memory,
and an Atom feed of the notable signatories the organisers have checked."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from feedgen.feed import FeedGenerator

from app.db import DbSession
from app.models import Letter
from app.signatories.public_list import NotableSignatory, listed_oldest_first
from app.support.spreadsheets import spreadsheet_safe
from app.support.text import xml_text

#: The columns of the files: the API's signatory items, in order.
COLUMNS = (
    "name",
    "title",
    "affiliation",
    "affiliation_verified",
    "organisation",
    "country",
    "signed_at",
    "text_sha256",
    "version",
    "reaffirmed",
    "initial",
    "imported",
    "source",
)
_TEXT = {"name", "title", "affiliation", "organisation", "source"}


def _items(session: DbSession, letter: Letter) -> Iterator[dict[str, Any]]:
    query = listed_oldest_first().execution_options(yield_per=2000)
    for row in session.execute(query, {"letter_id": letter.id}):
        yield {
            "name": row.name,
            "title": row.title,
            "affiliation": row.affiliation,
            "affiliation_verified": bool(row.affiliation_verified),
            "organisation": row.organisation,
            "country": row.country,
            "signed_at": row.verified_at.isoformat(),
            "text_sha256": row.text_sha256,
            "version": int(row.version),
            "reaffirmed": bool(row.reaffirmed),
            "initial": bool(row.initial),
            "imported": row.source is not None,
            "source": row.source,
        }


def csv_chunks(session: DbSession, letter: Letter) -> Iterator[str]:
    """The list as CSV (UTF-8, CRLF, a header), oldest first; text a spreadsheet would run as a
    formula starts with "'"."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for number, item in enumerate(_items(session, letter), 1):
        writer.writerow(
            spreadsheet_safe(item[column] or "")
            if column in _TEXT
            else ("yes" if item[column] else "no")
            if isinstance(item[column], bool)
            else item[column]
            for column in COLUMNS
        )
        if number % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def json_chunks(session: DbSession, letter: Letter) -> Iterator[str]:
    """The list as a JSON array of the API's items, oldest first."""
    yield "["
    for number, item in enumerate(_items(session, letter)):
        yield ("," if number else "") + "\n" + json.dumps(item, ensure_ascii=False)
    yield "\n]\n"


def notables_atom(
    letter: Letter,
    notables: Sequence[NotableSignatory],
    *,
    letter_url: str,
    feed_url: str,
) -> bytes:
    """Notable signatories as the organisers listed them (with their evidence), newest check
    first: for newsrooms following who signs."""
    feed = FeedGenerator()
    feed.id(feed_url)
    feed.title(xml_text(f"Notable signatories: {letter.title}"))
    feed.link(href=letter_url, rel="alternate")
    feed.link(href=feed_url, rel="self")
    feed.language("en")
    checked = sorted(
        ((n.checked_at, n) for n in notables if n.checked_at is not None),
        key=lambda pair: (pair[0], pair[1].name),
    )
    feed.updated(checked[-1][0] if checked else (letter.launched_at or letter.created_at))
    for moment, notable in checked:  # feedgen writes the last added first
        key = hashlib.sha256(f"{moment.isoformat()} {notable.name}".encode()).hexdigest()[:16]
        entry = feed.add_entry()
        entry.id(f"{letter_url}#notable-{key}")
        entry.title(xml_text(f"{notable.name}, {notable.title}, {notable.affiliation}"))
        entry.link(href=xml_text(notable.evidence_url or letter_url))
        entry.published(moment)
        entry.updated(moment)
        entry.content(xml_text(_described(notable)), type="text")
    return bytes(feed.atom_str(pretty=True))


def _described(notable: NotableSignatory) -> str:
    checked = notable.checked_at.strftime("%-d %B %Y") if notable.checked_at else ""
    context = f"{notable.context}. " if notable.context else ""
    return f"{context}Verified by the organisers on {checked}: {notable.method_label}."
