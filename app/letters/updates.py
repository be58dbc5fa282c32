"""News about a letter: updates the organisers publish (on the letter's updates page and feed,
and emailed to the verified signers who ticked "Email me news about this letter") and the
responses of the letter's addressees, shown on the letter page and sent on as updates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select

from app import audit
from app.db import DbSession
from app.errors import InvalidInput, NotFound
from app.letters.letters import BODY_MAX
from app.mail.outbox import queue_for_signatures
from app.models import (
    COMMENT_MAX,
    NAME_MAX,
    UPDATE_SUBJECT_MAX,
    URL_MAX,
    AddresseeResponse,
    Letter,
    LetterUpdate,
    Organiser,
    Signature,
    SignatureState,
)
from app.support.identifiers import is_row_id
from app.support.text import has_control_characters, normalise, web_address

#: The email carrying an update (written at delivery by app/signing/news_emails.py).
NEWS = "news"


def publish_update(
    session: DbSession,
    letter: Letter,
    *,
    subject: str,
    body: str,
    by: Organiser | None,
    now: datetime,
    sender_domain: str,
) -> LetterUpdate:
    """Publish an update on the letter's updates page and feed, and queue it to every verified
    signer who asked for news (one statement, however many). Recorded."""
    if not letter.is_public():
        raise InvalidInput("Publish updates once the letter is public: its pages would be 404.")
    subject = normalise(subject)
    body = normalise(body, multiline=True)
    if not subject or len(subject) > UPDATE_SUBJECT_MAX or has_control_characters(subject):
        raise InvalidInput(f"The subject must be 1 to {UPDATE_SUBJECT_MAX} printable characters.")
    if not body or len(body) > BODY_MAX or has_control_characters(body, multiline=True):
        raise InvalidInput(f"The update must be 1 to {BODY_MAX:,} characters of Markdown text.")
    update = LetterUpdate(letter_id=letter.id, subject=subject, body=body, published_at=now)
    session.add(update)
    session.flush()
    update.recipients = queue_for_signatures(
        session,
        NEWS,
        [
            Signature.letter_id == letter.id,
            Signature.state == SignatureState.VERIFIED,
            Signature.wants_news.is_(True),
        ],
        context={"update": str(update.id)},
        now=now,
        sender_domain=sender_domain,
    )
    session.flush()
    audit.record(
        session,
        by,
        "letter.update",
        letter=letter,
        update=update.id,
        subject=subject,
        recipients=update.recipients,
    )
    return update


def updates_of(session: DbSession, letter: Letter) -> Sequence[LetterUpdate]:
    """The letter's updates, newest first."""
    return session.scalars(
        select(LetterUpdate)
        .where(LetterUpdate.letter_id == letter.id)
        .order_by(LetterUpdate.published_at.desc(), LetterUpdate.id.desc())
    ).all()


def record_response(
    session: DbSession,
    letter: Letter,
    *,
    responder: str,
    responded_on: date,
    summary: str,
    url: str | None,
    by: Organiser | None,
) -> AddresseeResponse:
    """Record what one of the letter's addressees answered; shown on the letter page."""
    responder = normalise(responder)
    summary = normalise(summary, multiline=True)
    if not responder or len(responder) > NAME_MAX or has_control_characters(responder):
        raise InvalidInput(f"Say who responded, in at most {NAME_MAX} characters.")
    if not summary or len(summary) > COMMENT_MAX or has_control_characters(summary, multiline=True):
        raise InvalidInput(f"Say what they answered, in at most {COMMENT_MAX} characters.")
    try:
        link = web_address(url, URL_MAX)
    except ValueError:
        raise InvalidInput("The link must be a web address (https://...).") from None
    response = AddresseeResponse(
        letter_id=letter.id,
        responder=responder,
        responded_on=responded_on,
        summary=summary,
        url=link,
    )
    session.add(response)
    session.flush()
    audit.record(
        session, by, "response.record", letter=letter, response=response.id, responder=responder
    )
    return response


def responses_of(session: DbSession, letter: Letter) -> Sequence[AddresseeResponse]:
    """The addressees' responses, newest first."""
    return session.scalars(
        select(AddresseeResponse)
        .where(AddresseeResponse.letter_id == letter.id)
        .order_by(AddresseeResponse.responded_on.desc(), AddresseeResponse.id.desc())
    ).all()


def _response_of(session: DbSession, letter: Letter, response_id: int) -> AddresseeResponse:
    response = session.get(AddresseeResponse, response_id) if is_row_id(response_id) else None
    if response is None or response.letter_id != letter.id:
        raise NotFound("This letter has no such response.")
    return response


def remove_response(
    session: DbSession, letter: Letter, response_id: int, *, by: Organiser | None
) -> None:
    response = _response_of(session, letter, response_id)
    session.delete(response)
    session.flush()
    audit.record(session, by, "response.remove", letter=letter, response=response_id)


def send_response_as_update(
    session: DbSession,
    letter: Letter,
    response_id: int,
    *,
    by: Organiser | None,
    now: datetime,
    sender_domain: str,
) -> LetterUpdate:
    """Publish an addressee's response as an update (page, feed and email to subscribers)."""
    response = _response_of(session, letter, response_id)
    body = f"On {response.responded_on:%-d %B %Y}, {response.responder} responded:\n\n"
    body += "\n".join(f"> {line}" for line in response.summary.splitlines())
    if response.url:
        body += f"\n\n[Read the response]({response.url})"
    return publish_update(
        session,
        letter,
        subject=f"Response from {response.responder}"[:UPDATE_SUBJECT_MAX],
        body=body,
        by=by,
        now=now,
        sender_domain=sender_domain,
    )
