"""Invitations to sign a letter before it is launched: its founding signatories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, db, utcnow
from app.models.base import AFFILIATION_MAX, EMAIL_MAX, NAME_MAX, TITLE_MAX


class Invitation(db.Model):  # type: ignore[name-defined]
    """A person the organisers invited to sign, as their list named them. The emailed link
    (a token for this row, minted when the email is written) opens the letter even under
    embargo, with the form filled in from these fields. Revoking deletes the row."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("letter_id", "email_normalized"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: The address the invitation went to: the one a signature from it is confirmed for.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: Lower-cased; one invitation per address per letter.
    email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    affiliation: Mapped[str] = mapped_column(String(AFFILIATION_MAX), default="")
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    #: ISO 3166-1 alpha-2 code, or "" when the list did not say.
    country: Mapped[str] = mapped_column(String(2), default="")
    #: The language the invitation is written in (and its link opens the letter in).
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    #: Invitation emails queued so far (the first and resends), capped.
    emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: First time the link was opened.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The signature made from it; the invitation row is deleted with the signer's data
    #: when they withdraw or are erased.
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status(self) -> str:
        if self.signed_at is not None:
            return "signed"
        if self.opened_at is not None:
            return "opened"
        return "invited"
