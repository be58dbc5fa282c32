"""Letters and the versions of their text."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, db, utcnow
from app.models.base import LETTER_TITLE_MAX, NAME_MAX, SLUG_MAX, SNAPSHOT_NOTE_MAX, stored_enum


class LetterStatus(enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Letter(db.Model):  # type: ignore[name-defined]
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The letter's address: /letters/<slug>.
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(LETTER_TITLE_MAX))
    #: The letter's text in Markdown; rendered and sanitised on display.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[LetterStatus] = mapped_column(
        stored_enum(LetterStatus, "letter_status"), default=LetterStatus.OPEN
    )
    #: After this moment the letter takes no more signatures, whatever its status says.
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The number of signatures the organisers aim for, shown as progress; optional.
    target: Mapped[int | None] = mapped_column(Integer)
    #: Number of the current text version (see LetterVersion); signatures record it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Names that fakes like to use ("Xi Jinping", famous researchers): a new signature under
    #: one of them is held for review until an organiser approves it.
    watch_names: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Email domains and client address ranges (CIDR) the organisers blocked: signatures from
    #: them are held for review.
    blocked_domains: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    blocked_ranges: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Titles ("Director", "Chief executive") under which a signer writing from their
    #: organisation's domain signs for it without an organiser confirming them one by one.
    accepted_roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: The language the letter is written in (its original); translations may be added.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    #: Who runs the campaign, as shown on the share image and poster ("AI researchers for
    #: safe media"); may be empty.
    organisers_name: Mapped[str] = mapped_column(String(NAME_MAX), default="", server_default="")
    #: Gathering founding signatories in private: every public page and the API answer 404,
    #: and only people holding an invitation link (Invitation) can read and sign it.
    embargoed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: When the letter went public (at creation, or at launch after an embargo); None before.
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Verified counts the organisers want an email at ([1000, 5000, ...]), ascending.
    milestones: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    #: The highest milestone the organisers were emailed about (0: none yet).
    milestone_reached: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def is_open(self, now: datetime) -> bool:
        return self.status is LetterStatus.OPEN and (self.closes_at is None or self.closes_at > now)

    def is_public(self) -> bool:
        return self.status is not LetterStatus.DRAFT and not self.embargoed

    def __repr__(self) -> str:
        return f"<Letter {self.slug!r} {self.status.value}>"


class LetterVersion(db.Model):  # type: ignore[name-defined]
    """A letter's text as it stood; a new one is made when a signed letter's text is edited."""

    __tablename__ = "letter_versions"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(LETTER_TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the body's exact bytes (UTF-8 Markdown as stored), in hex: anyone can
    #: download the text (/letters/<slug>/versions/<number>.md) and hash it themselves.
    sha256: Mapped[str] = mapped_column(String(64))
    #: A change of substance (signers of earlier versions are asked again), not a correction.
    substantive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: When this text was published.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LetterTranslation(db.Model):  # type: ignore[name-defined]
    """The letter's title and text in another language, added by its organisers. The letter
    page offers them and says which is the original; signatures count toward the one letter,
    under the original's versions (the translation is a reading aid, not another text)."""

    __tablename__ = "letter_translations"
    __table_args__ = (UniqueConstraint("letter_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: One of support/languages.py's LANGUAGES, not the letter's original language.
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(LETTER_TITLE_MAX))
    #: Markdown, rendered and sanitised on display.
    body: Mapped[str] = mapped_column(Text)
    #: The version of the original it translates: readers are told when the original has
    #: changed since.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Snapshot(db.Model):  # type: ignore[name-defined]
    """The public list as it stood at a moment ("delivered to the European Parliament"),
    written once as a CSV file that never changes; each names the hash of the one before it,
    so a letter's snapshots form a chain anyone can check."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(String(SNAPSHOT_NOTE_MAX))
    #: Rows in the file.
    signatures: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the file's bytes, in hex.
    sha256: Mapped[str] = mapped_column(String(64))
    #: The letter's previous snapshot's sha256; None for the first.
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    #: The file itself, byte for byte as published (read only when served).
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
