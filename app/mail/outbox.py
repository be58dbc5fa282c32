"""Queueing email in the same transaction as the change that causes it: what to send, to whom,
about what and in which language. The sender composes it at delivery (app/mail/composing.py)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, cast, func, insert, literal, select

from app.db import DbSession, UTCDateTime, bulk_insert, utcnow
from app.models import EmailStatus, OutboundEmail, Signature


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


def queue_for_signatures(
    session: DbSession,
    kind: str,
    which: Sequence[ColumnElement[bool]],
    *,
    context: dict[str, str],
    now: datetime,
    sender_domain: str,
) -> int:
    """Queue one message of `kind` to each signature matching `which`, with `context`; how
    many. One INSERT ... SELECT: a letter's million signers are queued by the database without
    a row passing through Python, and the senders deliver them in their batches, each
    composed at delivery (the signature's address is read now, its links minted then)."""
    run = secrets.token_hex(6)
    # Unique, as Message-IDs must be: the kind, the signature and this run.
    message_id = (
        literal(f"<{kind}.") + cast(Signature.id, String) + literal(f".{run}@{sender_domain}>")
    )
    chosen = select(
        literal(kind),
        Signature.email,
        Signature.letter_id,
        Signature.id,
        literal("en"),
        literal(context, type_=JSON),
        message_id,
        literal(EmailStatus.QUEUED.value),
        literal(0),
        literal(now, type_=UTCDateTime()),
        literal(now, type_=UTCDateTime()),
    ).where(*which)
    emails = OutboundEmail.__table__.c
    columns = [
        emails.kind,
        emails.to_address,
        emails.letter_id,
        emails.signature_id,
        emails.language,
        emails.context,
        emails.message_id,
        emails.status,
        emails.attempts,
        emails.next_attempt_at,
        emails.created_at,
    ]
    # Counted apart, in the same transaction: psycopg reports no row count (-1) for the
    # INSERT ... SELECT as SQLAlchemy runs it.
    count = int(session.scalar(select(func.count()).select_from(Signature).where(*which)) or 0)
    if count:
        session.execute(insert(OutboundEmail.__table__).from_select(columns, chosen))
    return count
