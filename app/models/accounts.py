"""Organisers, their roles on letters, and the audit log of what they did."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, db, utcnow
from app.models.base import EMAIL_MAX, stored_enum


class OrganiserRole(enum.Enum):
    """What an organiser may do on one letter; each role includes those below it."""

    VIEWER = "viewer"
    MODERATOR = "moderator"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ["viewer", "moderator", "owner"].index(self.value)

    def allows(self, needed: OrganiserRole) -> bool:
        return self.rank >= needed.rank


class Organiser(UserMixin, db.Model):  # type: ignore[name-defined]
    """A person who runs campaigns in the console."""

    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; the login name.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    #: werkzeug's scrypt hash; never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Sees and runs every letter.
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Base32 TOTP secret once the organiser turned the second factor on; NULL while off.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Bumped on password change and sign-out: sessions made before it stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def get_id(self) -> str:
        # The version rides along in the login session, so a password change ends old sessions.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<Organiser {self.id}>"


class LetterOrganiser(db.Model):  # type: ignore[name-defined]
    """An organiser's role on one letter."""

    __tablename__ = "letter_organisers"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    organiser_id: Mapped[int] = mapped_column(
        ForeignKey("organisers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[OrganiserRole] = mapped_column(stored_enum(OrganiserRole, "organiser_role"))

    organiser: Mapped[Organiser] = relationship(lazy="joined")


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """One organiser action, as it happened. Rows are only ever added."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_letter_id_id", "letter_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL")
    )
    #: Kept as text too, so the record survives the account.
    organiser_email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: NULL for account events (sign-ins, second factor); kept if the letter ever goes.
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    #: What was done: "signatures.hide", "letter.edit", "export", ...
    action: Mapped[str] = mapped_column(String(60))
    #: Ids of the signatures acted on, if any.
    signature_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Before/after values and anything else worth knowing (reason, row count, format).
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
