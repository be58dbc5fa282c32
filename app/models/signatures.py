"""Signatures, the affiliations signers name, notable signatories' evidence and the kept
counts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, db, utcnow
from app.errors import N_
from app.models.base import (
    AFFILIATION_MAX,
    EMAIL_MAX,
    NAME_MAX,
    NOTABLE_CONTEXT_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    URL_MAX,
    stored_enum,
)
from app.support.text import LOOKALIKE_KEY_MAX

if TYPE_CHECKING:
    from app.models.letters import Letter
    from app.models.organisations import Organisation


class SignatureState(enum.Enum):
    PENDING = "pending"
    #: Confirmed by its signer (the stored value keeps its first name: "verified" is the word
    #: for an affiliation confirmed from the organisation's address).
    VERIFIED = "verified"
    WITHDRAWN = "withdrawn"
    HIDDEN = "hidden"

    @property
    def label(self) -> str:
        """The state in the words the console uses."""
        return {"pending": "not confirmed", "verified": "confirmed"}.get(self.value, self.value)


class EvidenceMethod(enum.Enum):
    """How organisers checked that a notable signatory really signed."""

    INSTITUTIONAL_EMAIL = "institutional"
    PUBLIC_STATEMENT = "statement"
    CALL = "call"
    KNOWN = "known"

    @property
    def label(self) -> str:
        return {
            "institutional": N_("a reply from their institutional address"),
            "statement": N_("a public statement"),
            "call": N_("a call"),
            "known": N_("the organisers know them"),
        }[self.value]


class Affiliation(db.Model):  # type: ignore[name-defined]
    """An organisation as the signatories of one letter named it; variants share a folded key.

    Per letter, so what one letter's organisers merge, rename or correct never touches another
    letter's list."""

    __tablename__ = "affiliations"
    __table_args__ = (
        UniqueConstraint("letter_id", "key"),
        # A registry change finds the affiliations of every letter named like the organisation.
        Index("ix_affiliations_key", "key"),
    )

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
    #: The registry's organisation this name stands for (organisations/affiliation_links.py
    #: decides it from the registry's names and aliases, unless an organiser set it by hand);
    #: merged variants follow their canonical row.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    #: An organiser chose organisation_id (an organisation, or none): registry changes and
    #: recount leave it as they chose.
    linked_by_hand: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()

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
        # Verified affiliations, counted per organisation by the breakdown.
        Index("ix_signatures_letter_email_organisation", "letter_id", "email_organisation_id"),
        # The integrity line counts imported signatures apart.
        Index(
            "ix_signatures_letter_imported",
            "letter_id",
            postgresql_where=text("source IS NOT NULL"),
            sqlite_where=text("source IS NOT NULL"),
        ),
        # The integrity line counts held signatures: a few among a million.
        Index(
            "ix_signatures_letter_held",
            "letter_id",
            postgresql_where=text("quarantined IS true"),
            sqlite_where=text("quarantined IS 1"),
        ),
        # Pending signatures not yet reminded, by age: what `signatures remind` looks for.
        Index(
            "ix_signatures_to_remind",
            "signed_at",
            postgresql_where=text("state = 'pending' AND reminded_at IS NULL"),
            sqlite_where=text("state = 'pending' AND reminded_at IS NULL"),
        ),
        # Signers who asked for news: an update goes to these among a million.
        Index(
            "ix_signatures_letter_news",
            "letter_id",
            postgresql_where=text("wants_news IS true"),
            sqlite_where=text("wants_news IS 1"),
        ),
        # Organisational signatures, listed apart on the public list: a few among a million.
        Index(
            "ix_signatures_letter_on_behalf",
            "letter_id",
            postgresql_where=text("on_behalf IS true"),
            sqlite_where=text("on_behalf IS 1"),
        ),
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
        stored_enum(SignatureState, "signature_state"), default=SignatureState.PENDING
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
    #: After a change of substance, the later version the signer said they keep their
    #: signature under (and when); None if they have not been asked or not answered.
    reaffirmed_version: Mapped[int | None] = mapped_column(Integer)
    reaffirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A founding signatory: signed from an invitation before the letter was launched.
    initial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The language the signer read the letter and signed in (support/languages.py): the
    #: emails about this signature are written in it.
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    #: "Email me news about this letter", ticked at signing (never ticked for them).
    wants_news: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Why an organiser hid it (shown to organisers only).
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    #: Featured at the top of the letter page; ordered by notable_rank, then name.
    is_notable: Mapped[bool] = mapped_column(Boolean, default=False)
    notable_rank: Mapped[int | None] = mapped_column(Integer)
    #: A line of context shown with a notable signatory ("Turing Award laureate").
    notable_context: Mapped[str | None] = mapped_column(String(NOTABLE_CONTEXT_MAX))
    #: Where an imported signature came from, as the organisers described the import ("Paper
    #: forms, Geneva 2026"); shown publicly. NULL for a signature made on this site.
    source: Mapped[str | None] = mapped_column(String(SOURCE_MAX))
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
    #: When the one reminder to confirm was queued (signing.lifecycle.queue_reminders).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The organisation whose email domain the address is at (registry.domain_organisation),
    #: kept in step with the registry. Once the signer has confirmed from that address, this
    #: is their verified affiliation; imported signatures never have one.
    email_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    #: "Signing on behalf of my organisation" rather than naming it for identification only.
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: An organisational signature counts for its organisation only once this is true: an
    #: organiser confirmed it, or the signer writes from the organisation's domain under one
    #: of the letter's accepted roles (organisations.on_behalf).
    on_behalf_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: An organiser confirmed it (it then stays confirmed whatever the accepted roles become).
    on_behalf_confirmed_by_organiser: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    letter: Mapped[Letter] = relationship()
    affiliation: Mapped[Affiliation] = relationship(lazy="joined")
    email_organisation: Mapped[Organisation | None] = relationship()
    evidence: Mapped[NotableEvidence | None] = relationship(
        back_populates="signature", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def status_for_signer(self) -> str:
        """What the signer's own page says of it, truthfully: "pending" (not confirmed yet),
        "listed", "counted" (confirmed, name not shown, as they asked), "in_review" (held
        until the organisers look at it), "hidden" (by the organisers) or "withdrawn"."""
        if self.state is SignatureState.VERIFIED:
            if self.quarantined:
                return "in_review"
            return "listed" if self.is_public else "counted"
        return self.state.value

    @hybrid_property
    def imported(self) -> bool:
        """Brought in by the organisers from elsewhere (paper, another site), not signed and
        confirmed by email here: said so wherever the signature is shown or counted."""
        return self.source is not None

    @imported.inplace.expression
    @classmethod
    def _imported_expression(cls) -> ColumnElement[bool]:
        return cls.source.is_not(None)

    def __repr__(self) -> str:
        return f"<Signature {self.id} {self.state.value}>"


class NotableEvidence(db.Model):  # type: ignore[name-defined]
    """Why the organisers believe a notable signatory really signed: until this exists, a
    notable signature is held (confirmed, but neither listed nor counted)."""

    __tablename__ = "notable_evidence"

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), primary_key=True
    )
    method: Mapped[EvidenceMethod] = mapped_column(stored_enum(EvidenceMethod, "evidence_method"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    checked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL")
    )
    #: Kept as text too, so the record survives the account (shown to organisers only).
    checked_by_email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    #: A public statement or page anyone can read; shown on the list.
    public_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    #: For organisers: what was said, who called whom.
    note: Mapped[str | None] = mapped_column(String(NOTABLE_CONTEXT_MAX))

    signature: Mapped[Signature] = relationship(back_populates="evidence")


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


class SignatureTally(db.Model):  # type: ignore[name-defined]
    """Listed signatures of a letter counted by affiliation, verified organisation and country,
    kept by database triggers (migration 0009) as SignatureCount is: the breakdown reads these
    few rows, never the signatures. Listed: verified, not held, and public."""

    __tablename__ = "signature_tallies"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    affiliation_id: Mapped[int] = mapped_column(
        ForeignKey("affiliations.id", ondelete="CASCADE"), primary_key=True
    )
    #: The verified organisation (Signature.email_organisation_id); 0 for none.
    organisation_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    signatures: Mapped[int] = mapped_column(BigInteger, default=0)
