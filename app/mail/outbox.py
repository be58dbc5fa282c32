"""Queueing email in the same transaction as the change that causes it."""

from __future__ import annotations

from email.utils import make_msgid

from app.db import DbSession, utcnow
from app.mail.messages import ComposedEmail
from app.models import OutboundEmail


def queue_email(
    session: DbSession,
    message: ComposedEmail,
    *,
    to_address: str,
    sender_domain: str,
    signature_id: int | None = None,
) -> OutboundEmail:
    row = OutboundEmail(
        kind=message.kind,
        to_address=to_address,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=make_msgid(domain=sender_domain),
        signature_id=signature_id,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
