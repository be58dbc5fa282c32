"""Queueing email in the same transaction as the change that causes it: what to send, to whom,
about what and in which language. The sender composes it at delivery (app/mail/composing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlalchemy import insert

from app.db import DbSession, bulk_insert, utcnow
from app.models import EmailStatus, OutboundEmail


@dataclass(frozen=True)
class Outgoing:
    """One message to send; nothing in it is a usable link."""

    kind: str
    to_address: str
    letter_id: int | None = None
    signature_id: int | None = None
    language: str = "en"
    #: Only what may be gone by delivery (the name on a withdrawal receipt): kept small.
    context: dict[str, str] | None = None


def queue_email(session: DbSession, message: Outgoing, *, sender_domain: str) -> int:
    """Queue one message in the current transaction; its id.

    A Core INSERT built once: the ORM's unit of work cost several times more, once per
    signature."""
    row = _row(message, sender_domain=sender_domain, now=utcnow())
    return int(session.connection().execute(_INSERT_EMAIL, row).scalar_one())


_INSERT_EMAIL = insert(OutboundEmail.__table__).returning(OutboundEmail.__table__.c.id)


def queue_many(session: DbSession, messages: Sequence[Outgoing], *, sender_domain: str) -> int:
    """Queue messages in one statement, for bulk jobs; how many."""
    if not messages:
        return 0
    now = utcnow()
    rows = [_row(message, sender_domain=sender_domain, now=now) for message in messages]
    bulk_insert(session, OutboundEmail.__table__, rows)
    return len(messages)


def _row(message: Outgoing, *, sender_domain: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "to_address": message.to_address,
        "letter_id": message.letter_id,
        "signature_id": message.signature_id,
        "language": message.language,
        "context": message.context,
        # Fixed here, so every retry carries the same Message-ID.
        "message_id": make_msgid(domain=sender_domain),
        "status": EmailStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
