"""Signing a letter: sign, confirm, and resend a link. The signature state machine lives here.

pending --confirm--> verified. (withdrawn and hidden are set by withdrawal and moderation.)
Signing never tells the caller whether the address had signed before: the outcome only decides
which email goes out, and the signer sees the same page either way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Insert, Select, bindparam, delete, literal, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.affiliations.affiliations import (
    affiliation_for,
    affiliation_key,
    create_affiliation,
    existing_affiliation_id,
)
from app.db import DbSession, upsert
from app.errors import N_, LetterClosed, NotFound
from app.letters.letters import SLUG_PATTERN, public_letter
from app.mail.outbox import queue_email
from app.models import (
    Affiliation,
    Invitation,
    Letter,
    LetterStatus,
    OutboundEmail,
    Signature,
    SignatureState,
)
from app.organisations.on_behalf import accepted_without_review
from app.organisations.registry import email_domains, email_organisation_id
from app.signing.defences import (
    NO_CLUES,
    Clues,
    SignerKeys,
    look_up_values,
    look_ups,
    name_flags,
    review_flags,
)
from app.signing.emails import (
    ALREADY_SIGNED,
    CONFIRM,
    REMINDER,
    about_signature,
    confirmation_for,
    queue_about_signature,
    queue_withdrawal_receipt,
)
from app.signing.invitations import forget_invited
from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose, read_token
from app.support.text import lookalike_key


@dataclass(frozen=True)
class SignatureInput:
    """A signer's answers, already cleaned and validated by the form."""

    name: str
    email: str
    affiliation: str
    title: str
    country: str
    comment: str | None
    is_public: bool
    #: "Signing on behalf of my organisation", not naming it for identification only.
    on_behalf: bool = False
    #: "Email me news about this letter" (unticked unless the signer ticks it).
    wants_news: bool = False
    #: The language the signer read and signed in; their emails are written in it.
    language: str = "en"


class SignOutcome(enum.Enum):
    CREATED = "created"
    CONFIRMATION_RESENT = "confirmation_resent"
    ALREADY_SIGNED_NOTICE = "already_signed_notice"
    NOTHING_SENT = "nothing_sent"


def sign(
    session: DbSession,
    letter: Letter,
    answers: SignatureInput,
    *,
    settings: SigningSettings,
    now: datetime,
    clues: Clues = NO_CLUES,
) -> SignOutcome:
    """Record a signature (or recognise an earlier one) and queue the right email.

    A new signature that trips a soft defence is stored held for review (quarantined); the
    signer sees and receives exactly what anyone else would."""
    if not letter.is_open(now):
        raise LetterClosed(N_("This letter is closed and no longer takes signatures."))
    keys = SignerKeys.of(answers.name, answers.email)
    with_rate = settings.rate_checks and clues.client_hash is not None
    found = (
        session.connection()
        .execute(
            _before_signing(with_rate),
            {
                **look_up_values(letter, keys, clues, now=now, with_rate=with_rate),
                "affiliation_key": affiliation_key(answers.affiliation),
                "email_domains": email_domains(answers.email),
            },
        )
        .one()
    )
    flags = review_flags(
        letter,
        name=answers.name,
        email=answers.email,
        keys=keys,
        clues=clues,
        found=found,
        with_rate=with_rate,
    )
    at = _placement(session, letter, answers, found)
    # Most signers are new: try the insert first, and look for an earlier signature only when
    # the address turns out to have one (the unique constraint says so, race-free).
    created_id = _create(session, letter, answers, keys, at, now, clues, flags)
    if created_id is not None:
        confirmation = confirmation_for(letter.id, created_id, answers.email)
        queue_email(session, confirmation, sender_domain=settings.sender_domain)
        return SignOutcome.CREATED
    existing = _find(session, letter, keys.email_key)
    if existing is None:  # pragma: no cover - the unique constraint says it exists
        raise RuntimeError("signature vanished after a conflict on its address")
    return _respond_to_repeat(session, existing, settings)


def sign_from_invitation(
    session: DbSession,
    letter: Letter,
    invitation: Invitation,
    answers: SignatureInput,
    *,
    now: datetime,
) -> Signature | None:
    """Sign from an invitation link: under the invited address whatever the form says (the
    link was emailed there, so the signature is confirmed at once), and as a founding
    signatory while the letter is not launched. The organisers chose these people, so no
    soft defence holds them, unless the name is not the invited one. An unconfirmed
    signature of the same address (signed on the form) is replaced by this one; a confirmed
    one stands (a founding one if the letter is not launched). The signature, or None when
    the address's signature was hidden by the organisers. Signing twice from one invitation
    changes nothing."""
    if not letter.is_open(now):
        raise LetterClosed(N_("This letter is closed and no longer takes signatures."))
    if invitation.signature_id is not None:
        return session.get(Signature, invitation.signature_id)
    answers = replace(answers, email=invitation.email)
    keys = SignerKeys.of(answers.name, answers.email)
    found = (
        session.connection()
        .execute(
            _before_signing(False),
            {
                **look_up_values(letter, keys, NO_CLUES, now=now, with_rate=False),
                "affiliation_key": affiliation_key(answers.affiliation),
                "email_domains": email_domains(answers.email),
            },
        )
        .one()
    )
    # The organisers chose this person, not whatever name the link's holder types: a name
    # changed from the invited one meets the defences a name meets on the sign form.
    flags = (
        []
        if keys.name_key == lookalike_key(invitation.name)
        else name_flags(letter, name=answers.name, keys=keys, found=found)
    )
    at = _placement(session, letter, answers, found)
    created_id = _create(session, letter, answers, keys, at, now, NO_CLUES, flags, confirmed=True)
    if created_id is None:
        signature = _find(session, letter, keys.email_key)
        if signature is None or signature.state is SignatureState.HIDDEN:
            return None
        if signature.state is SignatureState.PENDING:  # the invitation's answers replace it
            session.execute(
                delete(OutboundEmail)
                .where(OutboundEmail.signature_id == signature.id)
                .execution_options(synchronize_session=False)
            )
            session.delete(signature)
            session.flush()
            created_id = _create(
                session, letter, answers, keys, at, now, NO_CLUES, flags, confirmed=True
            )
        else:
            signature.initial = signature.initial or letter.launched_at is None
    if created_id is not None:
        signature = session.get(Signature, created_id)
    if signature is None:  # pragma: no cover - just inserted
        raise RuntimeError("signature vanished after signing from an invitation")
    invitation.signature_id, invitation.signed_at = signature.id, now
    session.flush()
    return signature


@cache
def _before_signing(with_rate: bool) -> Select[*tuple[Any, ...]]:
    """What signing must know before its insert, in one statement (one round trip): the soft
    defences' look-ups and the id of the signer's affiliation if it exists."""
    return look_ups(with_rate).add_columns(
        existing_affiliation_id().label("affiliation_id"),
        email_organisation_id().label("email_organisation_id"),
    )


@dataclass(frozen=True)
class Placement:
    """Where a new signature stands: its affiliation, the organisation its address is at, and
    whether its organisational signature needs no organiser's review."""

    affiliation_id: int
    email_organisation_id: int | None
    on_behalf_confirmed: bool


def _placement(
    session: DbSession, letter: Letter, answers: SignatureInput, found: Any
) -> Placement:
    affiliation_id = found.affiliation_id
    if affiliation_id is None:  # the first signer from there
        affiliation_id = create_affiliation(session, letter.id, answers.affiliation).id
    return Placement(
        affiliation_id=affiliation_id,
        email_organisation_id=found.email_organisation_id,
        on_behalf_confirmed=answers.on_behalf
        and accepted_without_review(
            letter,
            title=answers.title,
            email_organisation_id=found.email_organisation_id,
            stated_organisation_id=_organisation_of(session, affiliation_id),
        ),
    )


def _organisation_of(session: DbSession, affiliation_id: int) -> int | None:
    affiliation = session.get(Affiliation, affiliation_id)
    return affiliation.organisation_id if affiliation is not None else None


def _find(session: DbSession, letter: Letter, email_key: str) -> Signature | None:
    # The letter's id as a sub-select, unseen by the planner: statistics that have not yet met
    # this letter's rows (a new letter, a big import) then cannot make a scan of the whole
    # letter look cheaper than the unique index (see imports._look_up).
    return session.scalars(
        select(Signature).where(
            Signature.letter_id == select(literal(letter.id)).scalar_subquery(),
            Signature.email_normalized == email_key,
        )
    ).one_or_none()


def _create(
    session: DbSession,
    letter: Letter,
    answers: SignatureInput,
    keys: SignerKeys,
    at: Placement,
    now: datetime,
    clues: Clues,
    flags: list[str],
    *,
    confirmed: bool = False,
) -> int | None:
    """Insert unless the address has signed this letter already; the new signature's id, or
    None when it had. `confirmed`: the address is known to be the signer's already (an
    invitation link), so the signature is verified from the start, and a founding one if the
    letter is not launched yet.

    INSERT ... ON CONFLICT DO NOTHING RETURNING: one round trip, no savepoint, and correct
    when two requests with one address race (the loser gets None).
    """
    values = {
        "letter_id": letter.id,
        "state": SignatureState.VERIFIED if confirmed else SignatureState.PENDING,
        "verified_at": now if confirmed else None,
        "initial": confirmed and letter.launched_at is None,
        "wants_news": answers.wants_news,
        "language": answers.language,
        "name": answers.name,
        "name_key": keys.name_key,
        "email": answers.email,
        "email_normalized": keys.email_key,
        "affiliation_id": at.affiliation_id,
        "email_organisation_id": at.email_organisation_id,
        "on_behalf": answers.on_behalf,
        "on_behalf_confirmed": at.on_behalf_confirmed,
        "title": answers.title,
        "country": answers.country,
        "comment": answers.comment or None,
        "is_public": answers.is_public,
        "emails_sent": 0 if confirmed else 1,  # the confirmation queued after this insert
        "signed_at": now,
        "letter_version": letter.version,
        "quarantined": bool(flags),
        "review_flags": flags,
        "client_hash": clues.client_hash,
        "client_block_hash": clues.client_block_hash,
        "email_canonical": keys.email_canonical,
    }
    connection = session.connection()
    new_id = connection.execute(_insert_signature(connection.dialect.name), values).scalar()
    return None if new_id is None else int(new_id)


@cache
def _insert_signature(dialect_name: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, in SQLAlchemy Core on the table and
    built once: through the ORM the same statement cost twenty times the CPU of the database
    driver, the largest single cost of a signature."""
    table = Signature.__table__
    return (
        upsert(table, dialect_name)
        .on_conflict_do_nothing(index_elements=[table.c.letter_id, table.c.email_normalized])
        .returning(table.c.id)
    )


def _respond_to_repeat(
    session: DbSession, signature: Signature, settings: SigningSettings
) -> SignOutcome:
    if signature.state not in (SignatureState.PENDING, SignatureState.VERIFIED):
        # Withdrawn and hidden signatures get no email: neither is the signer's to undo here.
        return SignOutcome.NOTHING_SENT
    if not _take_email_allowance(session, signature, settings.max_emails_per_signature):
        return SignOutcome.NOTHING_SENT
    if signature.state is SignatureState.PENDING:
        queue_about_signature(session, CONFIRM, signature, settings)
        return SignOutcome.CONFIRMATION_RESENT
    queue_about_signature(session, ALREADY_SIGNED, signature, settings)
    return SignOutcome.ALREADY_SIGNED_NOTICE


def queue_confirmation_if_allowed(
    session: DbSession, signature: Signature, settings: SigningSettings
) -> bool:
    """Send a pending signature its link again (an organiser's resend), within the cap."""
    if signature.state is not SignatureState.PENDING:
        return False
    if not _take_email_allowance(session, signature, settings.max_emails_per_signature):
        return False
    queue_about_signature(session, CONFIRM, signature, settings)
    return True


def _take_email_allowance(session: DbSession, signature: Signature, cap: int) -> bool:
    """Count one more email against the signature's cap; False when it is used up.

    A single conditional UPDATE, so simultaneous requests for one signature cannot all read
    "4 sent" and each send a fifth: the row lock makes them take turns.
    """
    taken = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.emails_sent < cap)
        .values(emails_sent=Signature.emails_sent + 1)
        .returning(Signature.emails_sent)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if taken is None:
        return False
    set_committed_value(signature, "emails_sent", taken)
    return True


def signature_from_token(
    session: DbSession, letter: Letter, token: str, *, settings: SigningSettings
) -> Signature:
    """The signature a confirm link is for; TokenExpired, TokenInvalid or NotFound otherwise."""
    signature_id = read_token(
        settings.secret_key, TokenPurpose.CONFIRM, token, max_age=settings.confirm_max_age
    )
    return _confirmable(session, letter, signature_id)


def _confirmable(session: DbSession, letter: Letter, signature_id: int) -> Signature:
    signature = _signature_of_letter(session, letter, signature_id)
    if signature.state not in (SignatureState.PENDING, SignatureState.VERIFIED):
        raise NotFound(N_("This link can no longer be used."))
    return signature


def signature_from_link(
    session: DbSession,
    letter: Letter,
    token: str,
    purpose: TokenPurpose,
    *,
    settings: SigningSettings,
    max_age: int,
) -> Signature:
    """The signature of this letter an emailed link of `purpose` is for: TokenExpired,
    TokenInvalid (another purpose's token among them) or NotFound otherwise."""
    signature_id = read_token(settings.secret_key, purpose, token, max_age=max_age)
    return _signature_of_letter(session, letter, signature_id)


def _signature_of_letter(session: DbSession, letter: Letter, signature_id: int) -> Signature:
    signature = session.get(Signature, signature_id)
    if signature is None or signature.letter_id != letter.id:
        raise NotFound(N_("This link is not valid."))
    return signature


def confirm_by_link(
    session: DbSession, slug: str, token: str, *, settings: SigningSettings, now: datetime
) -> bool:
    """pending -> verified, from a confirmation link: True if this call confirmed it, False if
    it was confirmed already (a second click changes nothing, and keeps the first time).

    One conditional UPDATE checks what a click needs (the token, that the signature is this
    letter's and pending, that the letter is open) without loading the letter or signature,
    which cost more CPU than the UPDATE. Only when it changes nothing are they loaded, to say
    why: TokenExpired or TokenInvalid, NotFound (another letter's link, a withdrawn or hidden
    signature), LetterClosed, or False."""
    signature_id = read_token(
        settings.secret_key, TokenPurpose.CONFIRM, token, max_age=settings.confirm_max_age
    )
    # A slug that could not name a letter (a NUL byte, say, which PostgreSQL refuses as a
    # parameter) goes straight to the explanation.
    if SLUG_PATTERN.match(slug):
        parameters = {"signature_id": signature_id, "slug": slug, "now": now}
        if session.connection().execute(_CONFIRM_FROM_LINK, parameters).rowcount == 1:
            return True
    signature = _confirmable(session, public_letter(session, slug), signature_id)
    if signature.state is SignatureState.PENDING:
        if not signature.letter.is_open(now):
            raise LetterClosed(N_("This letter closed before the signature was confirmed."))
        session.refresh(signature)  # confirmed meanwhile by another click
    return False


_signatures = Signature.__table__.c
_letters = Letter.__table__.c
#: pending -> verified (confirmed) for a signature of the open letter at `slug`; conditional,
#: so of two confirmations at once only the first sets verified_at. Core on the table, built
#: once (see _insert_signature).
_CONFIRM_FROM_LINK = (
    update(Signature.__table__)
    .where(
        _signatures.id == bindparam("signature_id"),
        _signatures.state == SignatureState.PENDING,
        _signatures.letter_id
        == select(_letters.id)
        .where(
            _letters.slug == bindparam("slug"),
            _letters.status == LetterStatus.OPEN,
            _letters.embargoed.is_(False),
            or_(_letters.closes_at.is_(None), _letters.closes_at > bindparam("now")),
        )
        .scalar_subquery(),
    )
    # Confirmed by its own link here, an imported signature is no longer "imported" (not
    # confirmed here): the public list and the integrity line count it as any other.
    .values(state=SignatureState.VERIFIED, verified_at=bindparam("now"), source=None)
)


def queue_reminders(
    session: DbSession, *, settings: SigningSettings, now: datetime, limit: int = 5000
) -> int:
    """The one reminder to confirm, for pending signatures signed settings.reminder_hours ago
    or more whose link still works: never twice (reminded_at), never after withdrawal (no
    longer pending) or expiry, and within the per-signature email cap, which it counts
    against. One conditional UPDATE marks them, so two runs at once cannot both remind one;
    the number queued. Off when reminder_hours is 0."""
    if settings.reminder_hours <= 0:
        return 0
    due = (
        select(Signature.id)
        .where(
            Signature.state == SignatureState.PENDING,
            Signature.reminded_at.is_(None),
            Signature.signed_at <= now - timedelta(hours=settings.reminder_hours),
            Signature.signed_at > now - timedelta(seconds=settings.confirm_max_age),
            Signature.emails_sent < settings.max_emails_per_signature,
        )
        .order_by(Signature.signed_at)
        .limit(limit)
    )
    reminded = session.execute(
        update(Signature)
        .where(
            Signature.id.in_(due.scalar_subquery()),
            Signature.state == SignatureState.PENDING,
            Signature.reminded_at.is_(None),
        )
        .values(reminded_at=now, emails_sent=Signature.emails_sent + 1)
        .returning(Signature.id, Signature.letter_id, Signature.email)
        .execution_options(synchronize_session=False)
    ).all()
    for signature_id, letter_id, address in reminded:
        queue_email(
            session,
            about_signature(REMINDER, letter_id, signature_id, address),
            sender_domain=settings.sender_domain,
        )
    return len(reminded)


def resend_confirmation(
    session: DbSession,
    letter: Letter,
    signature_id: int,
    *,
    settings: SigningSettings,
    now: datetime,
) -> SignOutcome:
    """A fresh link for an expired one, within the per-signature cap."""
    if not letter.is_open(now):
        raise LetterClosed(N_("This letter is closed and no longer takes signatures."))
    signature = _signature_of_letter(session, letter, signature_id)
    return _respond_to_repeat(session, signature, settings)


# --- withdrawal ------------------------------------------------------------------------------

#: What a withdrawn signature keeps: that it existed, when, and its state. Nothing personal.
WITHDRAWN_NAME = ""
WITHDRAWN_AFFILIATION = "(withdrawn)"


def signature_for_withdrawal(
    session: DbSession, letter: Letter, token: str, *, settings: SigningSettings
) -> Signature:
    """The signature a withdraw link is for; TokenExpired, TokenInvalid or NotFound otherwise."""
    signature = signature_from_link(
        session,
        letter,
        token,
        TokenPurpose.WITHDRAW,
        settings=settings,
        max_age=settings.withdraw_max_age,
    )
    if signature.state is SignatureState.WITHDRAWN:
        raise NotFound(N_("This signature has already been withdrawn."))
    return signature


def withdraw(
    session: DbSession, letter: Letter, signature: Signature, *, settings: SigningSettings
) -> None:
    """The signer takes their name back: off the list, the count and exports, with a receipt.

    The row stays only as a marker (that a signature existed, and when); every personal field
    is cleared and the emails about it are deleted, except the receipt now on its way.
    """
    name, address = signature.name, signature.email
    audit.forget(session, letter.id, {signature.id: audit.traces_of(signature)})
    forget_invited(session, letter.id, [signature.email_normalized])
    session.execute(
        delete(OutboundEmail)
        .where(OutboundEmail.signature_id == signature.id)
        .execution_options(synchronize_session=False)
    )
    signature.state = SignatureState.WITHDRAWN
    signature.name = WITHDRAWN_NAME
    signature.name_key = None
    signature.email = ""
    # Frees the address: the same person may sign again later.
    signature.email_normalized = f"withdrawn:{signature.id}"
    signature.title = ""
    signature.country = ""
    signature.comment = None
    signature.source = None
    signature.email_canonical = None
    signature.email_organisation_id = None
    signature.on_behalf = False
    signature.on_behalf_confirmed = signature.on_behalf_confirmed_by_organiser = False
    signature.evidence = None
    signature.client_hash = signature.client_block_hash = None
    signature.review_flags = []
    signature.affiliation = affiliation_for(session, letter.id, WITHDRAWN_AFFILIATION)
    signature.is_public = False
    signature.is_notable = False
    signature.notable_rank = None
    signature.notable_context = None
    signature.hidden_reason = None
    signature.wants_news = False
    session.flush()
    queue_withdrawal_receipt(
        session,
        letter,
        name=name,
        to_address=address,
        language=signature.language,
        settings=settings,
    )
