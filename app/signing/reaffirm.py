"""Keeping a signature after a change of substance: the email to signers of an earlier
version (queued by letters.ask_signers_again, written here at delivery with the difference and
two buttons), and what the buttons do. Opening the link changes nothing; only a POST keeps or
withdraws."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from app.db import DbSession
from app.errors import N_, NotFound
from app.letters.letters import REAFFIRM, LineChange, diff_lines
from app.mail.composing import ComposedEmail, KindComposer, render
from app.models import EmailStatus, Letter, LetterVersion, OutboundEmail, Signature, SignatureState
from app.signing.emails import with_signatures
from app.signing.lifecycle import signature_from_link
from app.signing.links import reaffirm_url, withdraw_url
from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose


def agreed_version(signature: Signature) -> int:
    """The text version a signature stands under: the one signed, or one re-affirmed since."""
    return signature.reaffirmed_version or signature.letter_version


def signature_to_reaffirm(
    session: DbSession, letter: Letter, token: str, *, settings: SigningSettings
) -> Signature:
    """The signature a re-affirm link is for (TokenExpired, TokenInvalid or NotFound)."""
    signature = signature_from_link(
        session,
        letter,
        token,
        TokenPurpose.REAFFIRM,
        settings=settings,
        max_age=settings.withdraw_max_age,
    )
    if signature.state is not SignatureState.VERIFIED:
        raise NotFound(N_("This signature is no longer on the letter."))
    return signature


def keep(session: DbSession, letter: Letter, signature: Signature, *, now: datetime) -> None:
    """The signer keeps their signature under the current text; the re-affirm emails still
    waiting for them are not sent."""
    if agreed_version(signature) < letter.version:
        signature.reaffirmed_version, signature.reaffirmed_at = letter.version, now
    session.execute(
        delete(OutboundEmail)
        .where(
            OutboundEmail.signature_id == signature.id,
            OutboundEmail.kind == REAFFIRM,
            OutboundEmail.status == EmailStatus.QUEUED,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()


def text_changes(session: DbSession, letter: Letter, signature: Signature) -> list[LineChange]:
    """The current text against the version the signature stands under."""
    before = _versions(session, {letter.id})[letter.id, agreed_version(signature)]
    return diff_lines(before.body, letter.body)


def _versions(session: DbSession, letter_ids: set[int]) -> dict[tuple[int, int], LetterVersion]:
    return {
        (version.letter_id, version.number): version
        for version in session.scalars(
            select(LetterVersion).where(LetterVersion.letter_id.in_(letter_ids))
        )
    }


def composers(settings: SigningSettings) -> dict[str, KindComposer]:
    def reaffirm(session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
        pairs = with_signatures(session, rows)
        versions = _versions(session, {signature.letter_id for _, signature in pairs})
        written = {}
        for row, signature in pairs:
            letter = signature.letter
            agreed = agreed_version(signature)
            if signature.state is not SignatureState.VERIFIED or agreed >= letter.version:
                continue  # withdrawn, or kept already: nothing to ask
            written[row.id] = render(
                REAFFIRM,
                language=signature.language,
                letter=letter,
                signature=signature,
                agreed=agreed,
                changes=diff_lines(versions[letter.id, agreed].body, letter.body),
                reaffirm_url=reaffirm_url(settings, letter.slug, signature.id, signature.language),
                withdraw_url=withdraw_url(settings, letter.slug, signature.id, signature.language),
            )
        return written

    return {REAFFIRM: reaffirm}
