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
