"""Links to everything one address signed (/my-signatures)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, db, utcnow
from app.models.base import EMAIL_MAX


class SignerAccess(db.Model):  # type: ignore[name-defined]
    """A request for the link to every signature of one address: the emailed token names this
    row, never the address. Deleted by `signatures purge` once its link has expired."""

    __tablename__ = "signer_accesses"
    #: The emails one mailbox was sent within the hour (signer_access.request_access's cap).
    __table_args__ = (
        Index("ix_signer_accesses_mailbox_created", "email_normalized", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: text.mailbox_key, as Signature.email_normalized.
    email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
