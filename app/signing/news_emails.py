"""News for signers who asked for it: the update email (written at delivery, with a one-click
unsubscribe, RFC 8058) and what the unsubscribe link does."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from app.db import DbSession
from app.letters.updates import NEWS
from app.mail.composing import ComposedEmail, KindComposer, render
from app.models import EmailStatus, Letter, LetterUpdate, OutboundEmail, Signature, SignatureState
from app.signing.emails import with_signatures
from app.signing.lifecycle import signature_from_link
from app.signing.links import letter_url, unsubscribe_url
from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose
from app.support.markdown_html import render_markdown


def signature_to_unsubscribe(
    session: DbSession, letter: Letter, token: str, *, settings: SigningSettings
) -> Signature:
    """The signature an unsubscribe link is for (TokenExpired, TokenInvalid or NotFound)."""
    return signature_from_link(
        session,
        letter,
        token,
        TokenPurpose.UNSUBSCRIBE,
        settings=settings,
        max_age=settings.withdraw_max_age,
    )


def stop_news(session: DbSession, signature: Signature) -> None:
    """No more news about this letter, including updates queued but not yet sent. Idempotent."""
    signature.wants_news = False
    session.execute(
        delete(OutboundEmail)
        .where(
            OutboundEmail.signature_id == signature.id,
            OutboundEmail.kind == NEWS,
            OutboundEmail.status == EmailStatus.QUEUED,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()


def composers(settings: SigningSettings) -> dict[str, KindComposer]:
    def news(session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
        ids = {int((row.context or {}).get("update", 0)) for row in rows}
        updates = {
            update.id: update
            for update in session.scalars(select(LetterUpdate).where(LetterUpdate.id.in_(ids)))
        }
        written = {}
        for row, signature in with_signatures(session, rows):
            update = updates.get(int((row.context or {}).get("update", 0)))
            if update is None or not signature.wants_news:
                continue  # removed, or the signer stopped the news since
            if signature.state is not SignatureState.VERIFIED:
                continue
            letter = signature.letter
            stop_url = unsubscribe_url(settings, letter.slug, signature.id, signature.language)
            written[row.id] = render(
                NEWS,
                language=signature.language,
                letter=letter,
                update=update,
                body_html=render_markdown(update.body),
                letter_url=letter_url(settings, letter.slug, signature.language),
                unsubscribe_url=stop_url,
                headers=(
                    ("List-Unsubscribe", f"<{stop_url}>"),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ),
            )
        return written

    return {NEWS: news}
