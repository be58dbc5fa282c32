"""The outbox: what to send, to whom, about what; composed when it is delivered."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, db, utcnow
from app.models.base import EMAIL_MAX, stored_enum


class EmailStatus(enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboundEmail(db.Model):  # type: ignore[name-defined]
    """A message in the outbox: written with the change that caused it, delivered later by id."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_outbound_emails_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is ("confirm", "already_signed", "withdrawn"): app/mail/composing.py
    #: writes it from that, at delivery. No subject, body or link is ever stored.
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: The letter the message is about.
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: The language it is to be written in.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    #: What the message needs that may be gone by the time it is sent (the name on a
    #: withdrawal receipt); cleared once the message is sent or has failed.
    context: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Fixed when queued, so a retried delivery carries the same Message-ID.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[EmailStatus] = mapped_column(
        stored_enum(EmailStatus, "email_status"), default=EmailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A queued message is not tried before this moment (backoff after a temporary failure).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When a worker claimed it; a claim older than the lease is taken to be a dead worker's.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Which worker's claim this is; every update of a claimed row must present it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )

    def __repr__(self) -> str:
        return f"<OutboundEmail {self.id} {self.kind} {self.status.value}>"
