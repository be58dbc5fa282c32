"""One link for everything a signer did (/my-signatures): anyone may ask for it by address,
and the same page follows whether or not the address signed anything; the email goes to the
address itself, with a link (a token naming a SignerAccess row, never the address) to a page
listing every letter it signed, where each signature can be withdrawn, shown or hidden, and
its news turned on or off. Opening the link changes nothing; only a button does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import joinedload

from app.db import DbSession
from app.errors import N_, NotFound
from app.mail.composing import ComposedEmail, KindComposer, render
from app.mail.outbox import Outgoing, queue_email
from app.models import Letter, OutboundEmail, Signature, SignatureState, SignerAccess
from app.signing.links import my_signatures_url
from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose, read_token
from app.support.identifiers import is_row_id
from app.support.text import mailbox_key

MY_SIGNATURES = "my_signatures"


def request_access(
    session: DbSession,
    address: str,
    *,
    language: str,
    settings: SigningSettings,
    now: datetime,
) -> None:
    """Queue the email with the link for this (already checked) address, unless the mailbox
    had my_signatures_emails_per_hour of them within the hour. Nothing tells the caller
    whether the address signed anything, or whether the email went."""
    key = mailbox_key(address)
    recent = session.scalar(
        select(func.count()).where(
            SignerAccess.email_normalized == key, SignerAccess.created_at > now - timedelta(hours=1)
        )
    )
    if recent is not None and recent >= settings.my_signatures_emails_per_hour:
        return
    access = SignerAccess(email_normalized=key, created_at=now)
    session.add(access)
    session.flush()
    queue_email(
        session,
        Outgoing(
            kind=MY_SIGNATURES,
            to_address=address,
            language=language,
            context={"access": str(access.id)},
        ),
        sender_domain=settings.sender_domain,
    )


def access_from_token(session: DbSession, token: str, *, settings: SigningSettings) -> SignerAccess:
    access_id = read_token(
        settings.secret_key,
        TokenPurpose.MY_SIGNATURES,
        token,
        max_age=settings.my_signatures_max_age,
    )
    access = session.get(SignerAccess, access_id)
    if access is None:
        raise NotFound(N_("This link is not valid."))
    return access


def signatures_of(session: DbSession, access: SignerAccess) -> Sequence[Signature]:
    """Every standing signature (pending or confirmed) of the address, and those the
    organisers hid (the signer is told the truth about each), newest first."""
    standing_or_hidden = (
        *_standing(access)[:2],
        Signature.state.in_(
            [SignatureState.PENDING, SignatureState.VERIFIED, SignatureState.HIDDEN]
        ),
    )
    return session.scalars(
        select(Signature)
        .where(*standing_or_hidden)
        .options(joinedload(Signature.letter), joinedload(Signature.affiliation))
        .order_by(Signature.signed_at.desc())
    ).all()


def _counts(session: DbSession, access: SignerAccess) -> tuple[int, int]:
    """How many letters the address has a standing signature on, and how many the organisers
    hid its signature on (for the email: it tells the truth about those too)."""
    standing = _standing(access)[:2]
    hidden = Signature.state == SignatureState.HIDDEN
    row = session.execute(
        select(
            func.count().filter(~hidden),
            func.count().filter(hidden),
        ).where(
            *standing,
            Signature.state.in_(
                [SignatureState.PENDING, SignatureState.VERIFIED, SignatureState.HIDDEN]
            ),
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def _standing(access: SignerAccess) -> tuple[ColumnElement[bool], ...]:
    """The address's standing signatures, by the letters' ids, so each letter's (letter,
    address) index answers, not a scan."""
    return (
        Signature.letter_id.in_(select(Letter.id)),
        Signature.email_normalized == access.email_normalized,
        Signature.state.in_([SignatureState.PENDING, SignatureState.VERIFIED]),
    )


def signature_of(session: DbSession, access: SignerAccess, signature_id: int) -> Signature:
    """One of the address's standing signatures; NotFound for anyone else's."""
    signature = session.get(Signature, signature_id) if is_row_id(signature_id) else None
    if (
        signature is None
        or signature.email_normalized != access.email_normalized
        or signature.state not in (SignatureState.PENDING, SignatureState.VERIFIED)
    ):
        raise NotFound(N_("This signature is not on this page."))
    return signature


def set_listed(session: DbSession, signature: Signature, listed: bool) -> None:
    """Show or hide the name on the public list (counted either way)."""
    signature.is_public = listed
    session.flush()


def set_news(session: DbSession, signature: Signature, wanted: bool) -> None:
    signature.wants_news = wanted
    session.flush()


def composers(settings: SigningSettings) -> dict[str, KindComposer]:
    def my_signatures(
        session: DbSession, rows: Sequence[OutboundEmail]
    ) -> dict[int, ComposedEmail]:
        ids = {int((row.context or {}).get("access", 0)) for row in rows}
        accesses = {
            access.id: access
            for access in session.scalars(select(SignerAccess).where(SignerAccess.id.in_(ids)))
        }
        written = {}
        for row in rows:
            access = accesses.get(int((row.context or {}).get("access", 0)))
            if access is None:
                continue  # expired and forgotten
            signed, hidden = _counts(session, access)
            written[row.id] = render(
                MY_SIGNATURES,
                language=row.language,
                signed=signed,
                hidden=hidden,
                link=my_signatures_url(settings, access.id, row.language),
                valid_hours=max(1, settings.my_signatures_max_age // 3600),
            )
        return written

    return {MY_SIGNATURES: my_signatures}
