"""The stored things: letters, signatures, affiliations and the outbox of email."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, db, utcnow
from app.support.text import LOOKALIKE_KEY_MAX

# Field bounds shared by the models and the forms, so a valid form always fits its column.
NAME_MAX = 200
EMAIL_MAX = 320
AFFILIATION_MAX = 200
TITLE_MAX = 200
COMMENT_MAX = 2000
NOTABLE_CONTEXT_MAX = 200
SLUG_MAX = 80
LETTER_TITLE_MAX = 200


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # Stored as short strings with a CHECK constraint: portable, readable in psql, easy to extend.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class LetterStatus(enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class SignatureState(enum.Enum):
    PENDING = "pending"
    VERIFIED = "verified"
    WITHDRAWN = "withdrawn"
    HIDDEN = "hidden"


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


class EmailStatus(enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Letter(db.Model):  # type: ignore[name-defined]
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The letter's address: /letters/<slug>.
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(LETTER_TITLE_MAX))
    #: The letter's text in Markdown; rendered and sanitised on display.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[LetterStatus] = mapped_column(
        _enum(LetterStatus, "letter_status"), default=LetterStatus.OPEN
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def is_open(self, now: datetime) -> bool:
        return self.status is LetterStatus.OPEN and (self.closes_at is None or self.closes_at > now)

    def is_public(self) -> bool:
        return self.status is not LetterStatus.DRAFT

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Affiliation(db.Model):  # type: ignore[name-defined]
    """An organisation as the signatories of one letter named it; variants share a folded key.

    Per letter, so what one letter's organisers merge, rename or correct never touches another
    letter's list."""

    __tablename__ = "affiliations"
    __table_args__ = (UniqueConstraint("letter_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: The spelling shown publicly (the first one seen, until an organiser corrects it).
    name: Mapped[str] = mapped_column(String(AFFILIATION_MAX))
    #: Case-, accent- and punctuation-folded name: "M.I.T." and "mit" share "mit".
    key: Mapped[str] = mapped_column(String(AFFILIATION_MAX))
    #: Set once merged: this row is then only an alias, and new signatures typed this way
    #: land on the canonical affiliation (of the same letter).
    canonical_id: Mapped[int | None] = mapped_column(
        ForeignKey("affiliations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Affiliation {self.name!r}>"


class Signature(db.Model):  # type: ignore[name-defined]
    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("letter_id", "email_normalized"),
        CheckConstraint(
            "state != 'verified' OR verified_at IS NOT NULL", name="verified_has_timestamp"
        ),
        CheckConstraint("emails_sent >= 0", name="emails_sent_not_negative"),
        # The public list: verified signatures of one letter, newest first, keyset-paginated.
        Index("ix_signatures_letter_state_verified", "letter_id", "state", "verified_at", "id"),
        # The moderation table's orders: by time signed, and by name.
        Index("ix_signatures_letter_signed", "letter_id", "signed_at", "id"),
        Index("ix_signatures_letter_name", "letter_id", "name", "id"),
        # Look-alike names: the console's hints and notable review find them by key.
        Index("ix_signatures_letter_name_key", "letter_id", "name_key"),
        Index("ix_signatures_letter_client_signed", "letter_id", "client_hash", "signed_at"),
        Index("ix_signatures_letter_block", "letter_id", "client_block_hash"),
        Index("ix_signatures_letter_canonical", "letter_id", "email_canonical"),
        # Featured signatories, on every letter page and list: a handful among a million.
        Index(
            "ix_signatures_letter_notable",
            "letter_id",
            "notable_rank",
            postgresql_where=text("is_notable IS true"),
            sqlite_where=text("is_notable IS 1"),
        ),
        # The moderation table's text search ("%hinton%") on PostgreSQL: trigram indexes. Not
        # on addresses (migration 0006): that one cost every insert and misled the planner.
        *(
            Index(
                f"ix_signatures_{column}_trigram",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            ).ddl_if(dialect="postgresql")
            for column in ("name", "title")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    state: Mapped[SignatureState] = mapped_column(
        _enum(SignatureState, "signature_state"), default=SignatureState.PENDING
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: The name's look-alike key (text.lookalike_key): "Barack Obama" typed with Cyrillic a (U+0430)
    #: shares the Latin spelling's. NULL once withdrawn or erased.
    name_key: Mapped[str | None] = mapped_column(String(LOOKALIKE_KEY_MAX))
    #: The address as the signer typed it (domain lower-cased by email-validator).
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: Lower-cased address; one signature per address per letter.
    email_normalized: Mapped[str] = mapped_column(String(EMAIL_MAX))
    affiliation_id: Mapped[int] = mapped_column(ForeignKey("affiliations.id"), index=True)
    #: The signer's title or role ("Professor of Computer Science").
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: ISO 3166-1 alpha-2 code.
    country: Mapped[str] = mapped_column(String(2))
    comment: Mapped[str | None] = mapped_column(Text)
    #: False: counted, but never listed by name.
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Confirmation and "already signed" emails sent so far, capped per signature.
    emails_sent: Mapped[int] = mapped_column(Integer, default=0)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The letter's text version this signature was given to.
    letter_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Why an organiser hid it (shown to organisers only).
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    #: Featured at the top of the letter page; ordered by notable_rank, then name.
    is_notable: Mapped[bool] = mapped_column(Boolean, default=False)
    notable_rank: Mapped[int | None] = mapped_column(Integer)
    #: A line of context shown with a notable signatory ("Turing Award laureate").
    notable_context: Mapped[str | None] = mapped_column(String(NOTABLE_CONTEXT_MAX))
    #: Where an imported signature came from ("import: paper-forms.csv"); NULL for the form.
    source: Mapped[str | None] = mapped_column(String(200))
    #: Held back for review by a soft defence: stored and confirmable, but neither listed nor
    #: counted until an organiser approves it. The signer is not told.
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Why it was held back ("honeypot", "rate", "disposable-domain", ...), for organisers.
    review_flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: Keyed hash of the client address (never the address), for the rate check; cleared
    #: after 30 days by `signatures purge`.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    #: Keyed hash of the client's address block (/24 for IPv4, /48 for IPv6), to see and
    #: invalidate waves from one network; cleared with client_hash.
    client_block_hash: Mapped[str | None] = mapped_column(String(64))
    #: The address with +tags and Gmail dots removed, to spot one mailbox signing twice.
    email_canonical: Mapped[str | None] = mapped_column(String(EMAIL_MAX))

    letter: Mapped[Letter] = relationship()
    affiliation: Mapped[Affiliation] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Signature {self.id} {self.state.value}>"


#: Verified and not held for review: what the public list shows and counts.
PUBLICLY_COUNTED = (Signature.state == SignatureState.VERIFIED, Signature.quarantined.is_(False))


#: Counter rows per letter. Concurrent confirmations add to different rows (a transaction
#: picks one by its id), so they never queue on one hot row.
COUNT_SHARDS = 16


class SignatureCount(db.Model):  # type: ignore[name-defined]
    """Publicly counted signatures of a letter, split over COUNT_SHARDS rows; the sum is the count.

    Kept by database triggers on `signatures` (migration 0003), so every path that changes a
    signature (form, console, import, erasure, raw SQL) keeps it right without a COUNT(*) per
    page view. `signatures recount` checks it against COUNT(*) and repairs any drift.
    """

    __tablename__ = "signature_counts"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    verified: Mapped[int] = mapped_column(BigInteger, default=0)


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
        _enum(EmailStatus, "email_status"), default=EmailStatus.QUEUED
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
    role: Mapped[OrganiserRole] = mapped_column(_enum(OrganiserRole, "organiser_role"))

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
