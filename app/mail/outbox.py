"""Queueing email in the same transaction as the change that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlalchemy import insert

from app.db import DbSession, bulk_insert, utcnow
from app.mail.messages import ComposedEmail
from app.models import EmailStatus, OutboundEmail


def queue_email(
    session: DbSession,
    message: ComposedEmail,
    *,
    to_address: str,
    sender_domain: str,
    signature_id: int | None = None,
) -> int:
    """Queue one message in the current transaction; its id.

    A Core INSERT built once: the ORM's unit of work cost several times more, once per
    signature."""
    row = _row(message, to_address, signature_id, sender_domain=sender_domain, now=utcnow())
    return int(session.connection().execute(_INSERT_EMAIL, row).scalar_one())


_INSERT_EMAIL = insert(OutboundEmail.__table__).returning(OutboundEmail.__table__.c.id)


def queue_many(
    session: DbSession,
    messages: Sequence[tuple[ComposedEmail, str, int | None]],
    *,
    sender_domain: str,
) -> int:
    """Queue (message, to_address, signature_id) triples in one statement, for bulk jobs."""
    if not messages:
        return 0
    now = utcnow()
    rows = [
        _row(message, to_address, signature_id, sender_domain=sender_domain, now=now)
        for message, to_address, signature_id in messages
    ]
    bulk_insert(session, OutboundEmail.__table__, rows)
    return len(messages)


def _row(
    message: ComposedEmail,
    to_address: str,
    signature_id: int | None,
    *,
    sender_domain: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "to_address": to_address,
        "subject": message.subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "message_id": make_msgid(domain=sender_domain),
        "status": EmailStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "signature_id": signature_id,
    }
