"""The audit log: every organiser action, appended in the same transaction as the action."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from app.db import DbSession, utcnow
from app.models import AuditEvent, Letter, Organiser, Signature

#: Who did it, when it was done from the command line rather than by a signed-in organiser.
COMMAND_LINE = "command line"


def record(
    session: DbSession,
    organiser: Organiser | None,
    action: str,
    *,
    letter: Letter | None = None,
    signature_ids: Iterable[int] = (),
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        created_at=utcnow(),
        organiser_id=organiser.id if organiser is not None else None,
        organiser_email=organiser.email if organiser is not None else COMMAND_LINE,
        letter_id=letter.id if letter is not None else None,
        action=action,
        signature_ids=sorted(signature_ids),
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def events_of(
    session: DbSession, letter: Letter, *, before_id: int | None = None, limit: int = 100
) -> Sequence[AuditEvent]:
    """Newest first, keyset-paged by id."""
    query = select(AuditEvent).where(AuditEvent.letter_id == letter.id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()


def event_rows(session: DbSession, letter: Letter) -> Iterator[dict[str, Any]]:
    """Every event of a letter, oldest first, for export."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.letter_id == letter.id)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=500)
    )
    for event in session.scalars(query):
        yield {
            "id": event.id,
            "at": event.created_at.isoformat(),
            "organiser": event.organiser_email,
            "action": event.action,
            "signature_ids": " ".join(map(str, event.signature_ids)),
            "details": event.details,
        }


ERASED = "[erased]"
#: Shorter traces would match too much of other people's entries ("Al" in "Alice").
_SHORTEST_TRACE = 3


#: What a signature holds that may have been written into the log in free text: the name
#: and the addresses as typed (searches, filters, reasons), and the comment. Titles and
#: affiliations are shared by many people; they are erased only where an entry is about the
#: signature itself (its before and after).
TRACED = ("name", "email", "email_normalized", "email_canonical", "comment")


def traces_of(signature: Signature) -> list[str]:
    return traces(getattr(signature, column) for column in TRACED)


def traces(values: Iterable[str | None]) -> list[str]:
    """The values of TRACED worth looking for (long enough not to match everyone)."""
    return [value for value in values if value and len(value.strip()) >= _SHORTEST_TRACE]


def forget(session: DbSession, letter_id: int, people: Mapping[int, Iterable[str]]) -> int:
    """Withdrawal, erasure and retention purges reach the log too: every entry of the letter
    keeps that something happened (and to which ids), but loses what it recorded about these
    people, wherever it was written: an entry's before and after for their ids, the free text
    (reasons) of entries about them, and any value anywhere that holds one of their traces
    (a search for their address in an export's filter) or is part of one.

    `people` maps each signature id to its traces (traces_of, read before the fields go).
    Returns how many entries changed."""
    ids = {str(ident) for ident in people}
    if not ids:
        return 0
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.letter_id == letter_id).order_by(AuditEvent.id)
    ).all()
    about_them = {event.id: ids & {str(ident) for ident in event.signature_ids} for event in events}
    # Names they had before a correction are theirs too ("Called <old name> on Monday").
    earlier = [
        earlier_name
        for event in events
        for ident in about_them[event.id]
        for earlier_name in _names_recorded(event.details, ident)
    ]
    folded = {t.strip().casefold() for found in people.values() for t in [*found, *earlier]}
    traces = {t for t in folded if len(t) >= _SHORTEST_TRACE}
    mentions = _mention_pattern(traces)
    changed = 0
    for event in events:
        scrubbed = _scrubbed(event.details, about_them[event.id], traces, mentions)
        if scrubbed != event.details:
            event.details = scrubbed
            changed += 1
    session.flush()
    return changed


def _names_recorded(details: dict[str, Any], ident: str) -> list[str]:
    """The names an entry's before and after hold for one signature."""
    names = []
    for part in ("before", "after"):
        values = details.get(part) if isinstance(details, dict) else None
        recorded = values.get(ident) if isinstance(values, dict) else None
        if isinstance(recorded, dict) and isinstance(recorded.get("name"), str):
            names.append(recorded["name"])
    return names


def _mention_pattern(traces: set[str]) -> re.Pattern[str] | None:
    if not traces:
        return None
    longest_first = sorted(traces, key=len, reverse=True)
    alternatives = "|".join(re.escape(trace) for trace in longest_first)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _scrubbed(value: Any, ids: set[str], traces: set[str], mentions: re.Pattern[str] | None) -> Any:
    """The value with every trace of the people erased; ids: those the entry is about."""
    if isinstance(value, dict):
        return {
            key: (
                ERASED
                if key in ids or (ids and key in _FREE_TEXT and inner)
                else _scrubbed(inner, ids, traces, mentions)
            )
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(inner, ids, traces, mentions) for inner in value]
    if isinstance(value, str) and _mentions(value, traces, mentions):
        return ERASED
    return value


#: Keys whose values are whatever an organiser typed about the signatures of the entry.
_FREE_TEXT = frozenset({"reason", "note", "context", "public_url"})


def _mentions(text: str, traces: set[str], mentions: re.Pattern[str] | None) -> bool:
    if mentions is None:
        return False
    if mentions.search(text):
        return True
    # A search or filter typed as part of their name or address ("erase.me").
    folded = text.strip().casefold()
    return len(folded) >= _SHORTEST_TRACE and any(folded in trace for trace in traces)


def account_events(session: DbSession, *, limit: int = 200) -> Sequence[AuditEvent]:
    """Sign-ins, second-factor changes and account changes: events of no letter."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.letter_id.is_(None))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
