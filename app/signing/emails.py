"""The emails signing sends: a confirmation link, an "already signed" notice and a withdrawal
receipt. Queued by the lifecycle as data; written here, links and all, when the mail worker
delivers them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.db import DbSession
from app.mail.composing import ComposedEmail, KindComposer, render
from app.mail.outbox import Outgoing, queue_email
from app.models import Letter, OutboundEmail, Signature
from app.signing.links import confirm_url, letter_url, withdraw_url
from app.signing.settings import SigningSettings
from app.support.countries import country_name

CONFIRM = "confirm"
#: The one reminder to confirm: the confirmation again, saying so.
REMINDER = "reminder"
ALREADY_SIGNED = "already_signed"
WITHDRAWN = "withdrawn"


def about_signature(kind: str, letter_id: int, signature_id: int, to_address: str) -> Outgoing:
    """A confirmation or an "already signed" notice, written at delivery from the signature."""
    return Outgoing(
        kind=kind, to_address=to_address, letter_id=letter_id, signature_id=signature_id
    )


def confirmation_for(letter_id: int, signature_id: int, to_address: str) -> Outgoing:
    return about_signature(CONFIRM, letter_id, signature_id, to_address)


def queue_about_signature(
    session: DbSession, kind: str, signature: Signature, settings: SigningSettings
) -> None:
    message = about_signature(kind, signature.letter_id, signature.id, signature.email)
    queue_email(session, message, sender_domain=settings.sender_domain)


def queue_withdrawal_receipt(
    session: DbSession,
    letter: Letter,
    *,
    name: str,
    to_address: str,
    language: str,
    settings: SigningSettings,
) -> None:
    """The receipt outlives the signature it is about, so it carries the name (and the
    language) with it."""
    message = Outgoing(
        kind=WITHDRAWN,
        to_address=to_address,
        letter_id=letter.id,
        language=language,
        context={"name": name},
    )
    queue_email(session, message, sender_domain=settings.sender_domain)


def composers(settings: SigningSettings) -> dict[str, KindComposer]:
    """Each kind this module queues, with what writes it."""

    def confirmations(reminder: bool) -> KindComposer:
        def confirm(session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
            days = max(1, settings.confirm_max_age // 86400)
            return {
                row.id: render(
                    CONFIRM,
                    language=signature.language,
                    letter=signature.letter,
                    signature=signature,
                    country=country_name(signature.country),
                    confirm_url=confirm_url(
                        settings, signature.letter.slug, signature.id, signature.language
                    ),
                    withdraw_url=withdraw_url(
                        settings, signature.letter.slug, signature.id, signature.language
                    ),
                    valid_days=days,
                    reminder=reminder,
                )
                for row, signature in with_signatures(session, rows)
            }

        return confirm

    def already_signed(
        session: DbSession, rows: Sequence[OutboundEmail]
    ) -> dict[int, ComposedEmail]:
        return {
            row.id: render(
                ALREADY_SIGNED,
                language=signature.language,
                letter=signature.letter,
                signature=signature,
                letter_url=letter_url(settings, signature.letter.slug, signature.language),
            )
            for row, signature in with_signatures(session, rows)
        }

    def withdrawn(session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
        letters = _letters(session, {row.letter_id for row in rows if row.letter_id})
        return {
            row.id: render(
                WITHDRAWN,
                language=row.language,
                letter=letter,
                name=(row.context or {}).get("name", ""),
                letter_url=letter_url(settings, letter.slug, row.language),
            )
            for row in rows
            if (letter := letters.get(row.letter_id or 0)) is not None
        }

    return {
        CONFIRM: confirmations(reminder=False),
        REMINDER: confirmations(reminder=True),
        ALREADY_SIGNED: already_signed,
        WITHDRAWN: withdrawn,
    }


def with_signatures(
    session: DbSession, rows: Sequence[OutboundEmail]
) -> list[tuple[OutboundEmail, Signature]]:
    """Each row with its signature, all read in one query; rows whose signature is gone (a
    purge, an erasure) are left out."""
    ids = {row.signature_id for row in rows if row.signature_id is not None}
    signatures = {
        signature.id: signature
        for signature in session.scalars(
            select(Signature)
            .where(Signature.id.in_(ids))
            .options(selectinload(Signature.letter), joinedload(Signature.affiliation))
        )
    }
    return [
        (row, signatures[row.signature_id])
        for row in rows
        if row.signature_id is not None and row.signature_id in signatures
    ]


def _letters(session: DbSession, ids: set[int]) -> Mapping[int, Letter]:
    return {
        letter.id: letter for letter in session.scalars(select(Letter).where(Letter.id.in_(ids)))
    }
