"""Claiming the outbox: a claim takes at most its batch, whatever the planner believes."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.db import utcnow
from app.mail.sender import claim_batch
from app.models import EmailStatus, OutboundEmail
from tests.helpers import queue_note


def test_a_claim_takes_at_most_its_batch_even_when_statistics_say_nothing_is_queued(
    session,
) -> None:
    """Statistics gathered while the outbox held no queued rows (a quiet night, a fresh
    database) once made PostgreSQL rerun the LIMITed, locking candidate query for every
    outbox row: one claim took the whole queue, so a second worker found nothing and a crash
    would have sent everything again, not one batch."""
    session.execute(text("ANALYZE outbound_emails"))
    for number in range(20):
        queue_note(
            session, to="reader@example.org", subject=f"S{number}", text="Text", html="<p>Text</p>"
        )
    session.commit()

    claimed = claim_batch(session, now=utcnow(), claim_token="one", limit=5)

    assert len(claimed) == 5
    still_queued = session.scalar(
        select(func.count()).where(OutboundEmail.status == EmailStatus.QUEUED)
    )
    assert still_queued == 15
