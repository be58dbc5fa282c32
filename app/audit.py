"""The audit log: every organiser action, appended in the same transaction as the action."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select

from app.db import DbSession, utcnow
from app.models import AuditEvent, Letter, Organiser

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


def scrub(session: DbSession, letter: Letter, signature_ids: Iterable[int]) -> int:
    """Erasure reaches the log too: earlier entries keep that something happened to these ids,
    but lose what they recorded about the people (names, affiliations, reasons)."""
    erased = {str(ident) for ident in signature_ids}
    if not erased:
        return 0
    changed = 0
    events = session.scalars(select(AuditEvent).where(AuditEvent.letter_id == letter.id))
    for event in events:
        if not erased & {str(ident) for ident in event.signature_ids}:
            continue
        details = dict(event.details)
        for part in ("before", "after"):
            values = details.get(part)
            if isinstance(values, dict):
                details[part] = {
                    key: (ERASED if key in erased else value) for key, value in values.items()
                }
        if details.get("reason"):
            details["reason"] = ERASED
        event.details = details
        changed += 1
    session.flush()
    return changed


def account_events(session: DbSession, *, limit: int = 200) -> Sequence[AuditEvent]:
    """Sign-ins, second-factor changes and account changes: events of no letter."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.letter_id.is_(None))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
