"""Founding signatories: the invitations that let chosen people read and sign a letter under
embargo before anyone else (the embargo and the launch are app/letters/letters.py's).

An embargoed letter answers 404 on every public page and API (letters.public_letter); an
invitation link opens it for one person, with the form filled in from the organisers' list,
and signing from it confirms at once (the link was emailed to that address). The invitation
email is composed at delivery, its link minted then: nothing usable is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from app import audit
from app.db import DbSession
from app.errors import N_, InvalidInput, NotFound
from app.mail.composing import ComposedEmail, KindComposer, render
from app.mail.outbox import Outgoing, queue_many
from app.models import (
    AFFILIATION_MAX,
    NAME_MAX,
    TITLE_MAX,
    Invitation,
    Letter,
    LetterStatus,
    Organiser,
    OutboundEmail,
)
from app.signing.links import invitation_url
from app.signing.settings import SigningSettings
from app.signing.tokens import TokenPurpose, read_token
from app.support.csv_input import CsvRecords, RowProblem, cell_text, country_cell, email_cell
from app.support.identifiers import is_row_id
from app.support.languages import LANGUAGES
from app.support.text import mailbox_key

INVITATION = "invitation"
REQUIRED_COLUMNS = ("name", "email")
OPTIONAL_COLUMNS = ("affiliation", "title", "country", "language")
#: Founding signatories are invited by hand-picked list: thousands, not millions.
MAX_INVITATIONS = 20_000


@dataclass(frozen=True)
class InvitedPerson:
    line: int
    name: str
    email: str
    email_key: str
    affiliation: str
    title: str
    country: str
    #: A code of LANGUAGES, or "" for the letter's own.
    language: str


@dataclass(frozen=True)
class InvitationResult:
    invited: int
    #: Addresses invited to this letter before, or twice in the file: not invited again.
    already_invited: int


def read_invitation_list(data: bytes) -> list[InvitedPerson]:
    """Every row checked; ImportRejected listing each bad line, or the people to invite."""
    records = CsvRecords(
        data, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, max_rows=MAX_INVITATIONS
    )
    people = []
    for line, record in records:
        try:
            people.append(_person(line, record))
        except ValueError as error:
            records.problems.append(RowProblem(line, str(error)))
    records.finish()
    return people


def _person(line: int, value: dict[str, str]) -> InvitedPerson:
    email = email_cell(value["email"])
    return InvitedPerson(
        line=line,
        name=cell_text(value["name"], "name", NAME_MAX, required=True),
        email=email,
        email_key=mailbox_key(email),
        affiliation=cell_text(value["affiliation"], "affiliation", AFFILIATION_MAX, required=False),
        title=cell_text(value["title"], "title", TITLE_MAX, required=False),
        country=country_cell(value["country"], required=False),
        language=_language_cell(value["language"]),
    )


def _language_cell(value: str) -> str:
    code = cell_text(value, "language", 16, required=False).lower()
    if code and code not in LANGUAGES:
        raise ValueError(f"language {code!r} is not one of {', '.join(LANGUAGES)}")
    return code


def invite(
    session: DbSession,
    letter: Letter,
    data: bytes,
    *,
    settings: SigningSettings,
    by: Organiser | None,
    now: datetime,
) -> InvitationResult:
    """Invite everyone on a CSV list (name, email; optionally affiliation, title, country):
    all or nothing, each with an invitation email queued. Recorded (counts only: the list's
    names and addresses stay out of the audit log)."""
    if not letter.embargoed and not letter.is_public():
        raise InvalidInput(
            "This letter is a draft: invitation links would lead nowhere. Put it under "
            "embargo (or publish it) first."
        )
    if letter.status is LetterStatus.CLOSED:
        raise InvalidInput("This letter is closed: nobody can sign it any more.")
    people = read_invitation_list(data)
    known = set(
        session.scalars(
            select(Invitation.email_normalized).where(Invitation.letter_id == letter.id)
        )
    )
    new: dict[str, InvitedPerson] = {}
    for person in people:
        if person.email_key not in known:
            new.setdefault(person.email_key, person)
    invitations = [
        Invitation(
            letter_id=letter.id,
            name=person.name,
            email=person.email,
            email_normalized=person.email_key,
            affiliation=person.affiliation,
            title=person.title,
            country=person.country,
            language=person.language or letter.language,
            emails_sent=1,
            created_at=now,
        )
        for person in new.values()
    ]
    session.add_all(invitations)
    session.flush()
    queue_many(
        session,
        [_invitation_email(letter, invitation) for invitation in invitations],
        sender_domain=settings.sender_domain,
    )
    result = InvitationResult(invited=len(invitations), already_invited=len(people) - len(new))
    audit.record(
        session,
        by,
        "letter.invite",
        letter=letter,
        invited=result.invited,
        already_invited=result.already_invited,
    )
    return result


def _invitation_email(letter: Letter, invitation: Invitation) -> Outgoing:
    return Outgoing(
        kind=INVITATION,
        to_address=invitation.email,
        letter_id=letter.id,
        language=invitation.language,
        context={"invitation": str(invitation.id)},
    )


def invitations_of(session: DbSession, letter: Letter) -> Sequence[Invitation]:
    return session.scalars(
        select(Invitation).where(Invitation.letter_id == letter.id).order_by(Invitation.id)
    ).all()


def _invitation_of(session: DbSession, letter: Letter, invitation_id: int) -> Invitation:
    invitation = session.get(Invitation, invitation_id) if is_row_id(invitation_id) else None
    if invitation is None or invitation.letter_id != letter.id:
        raise NotFound(N_("This letter has no such invitation."))
    return invitation


def resend_invitation(
    session: DbSession,
    letter: Letter,
    invitation_id: int,
    *,
    settings: SigningSettings,
    by: Organiser | None,
) -> bool:
    """The invitation email again, within the per-person email cap; False when it is used up
    or the invitation was signed. One conditional UPDATE takes the allowance, so
    two clicks at once cannot both pass the cap."""
    invitation = _invitation_of(session, letter, invitation_id)
    taken = session.scalar(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.emails_sent < settings.max_emails_per_signature,
            Invitation.signed_at.is_(None),
        )
        .values(emails_sent=Invitation.emails_sent + 1)
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        return False
    session.refresh(invitation)
    queue_many(
        session, [_invitation_email(letter, invitation)], sender_domain=settings.sender_domain
    )
    audit.record(session, by, "invitation.resend", letter=letter, invitation=invitation.id)
    return True


def revoke_invitation(
    session: DbSession, letter: Letter, invitation_id: int, *, by: Organiser | None
) -> None:
    """The invitation is deleted with the person's details: its link opens nothing any more,
    its unsent emails are not sent, and the address may be invited again. A signature already
    made from it stays (the signer may withdraw it)."""
    invitation = _invitation_of(session, letter, invitation_id)
    forget_invitation_emails(session, [invitation])
    session.delete(invitation)
    session.flush()
    audit.record(session, by, "invitation.revoke", letter=letter, invitation=invitation_id)


def forget_invitation_emails(session: DbSession, invitations: Sequence[Invitation]) -> None:
    """Delete the invitation emails not yet sent to these people."""
    for invitation in invitations:
        session.execute(
            delete(OutboundEmail)
            .where(
                OutboundEmail.kind == INVITATION,
                OutboundEmail.letter_id == invitation.letter_id,
                OutboundEmail.to_address == invitation.email,
            )
            .execution_options(synchronize_session=False)
        )


def forget_invited(session: DbSession, letter_id: int, email_keys: Sequence[str]) -> None:
    """A signer withdrew or was erased: their invitation (name, address) goes too."""
    if not email_keys:
        return
    gone = session.scalars(
        select(Invitation).where(
            Invitation.letter_id == letter_id, Invitation.email_normalized.in_(email_keys)
        )
    ).all()
    forget_invitation_emails(session, gone)
    for invitation in gone:
        session.delete(invitation)
    session.flush()


def invitation_from_token(
    session: DbSession, letter: Letter, token: str, *, settings: SigningSettings, now: datetime
) -> Invitation:
    """The invitation a link is for, if it is this letter's and still there (TokenExpired,
    TokenInvalid or NotFound otherwise); the first opening is noted for the console."""
    invitation_id = read_token(
        settings.secret_key, TokenPurpose.INVITE, token, max_age=settings.invitation_max_age
    )
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.letter_id != letter.id:
        raise NotFound(N_("This link is not valid."))
    if invitation.opened_at is None:
        invitation.opened_at = now
        session.flush()
    return invitation


def composers(settings: SigningSettings) -> dict[str, KindComposer]:
    """The invitation email, written at delivery with a fresh link."""

    def invitations(session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
        ids = {int((row.context or {}).get("invitation", 0)) for row in rows}
        found = {
            invitation.id: invitation
            for invitation in session.scalars(select(Invitation).where(Invitation.id.in_(ids)))
        }
        letters = {
            letter.id: letter
            for letter in session.scalars(
                select(Letter).where(Letter.id.in_({i.letter_id for i in found.values()}))
            )
        }
        days = max(1, settings.invitation_max_age // 86400)
        written = {}
        for row in rows:
            invitation = found.get(int((row.context or {}).get("invitation", 0)))
            if invitation is None:
                continue  # revoked or forgotten since: not to be sent
            letter = letters[invitation.letter_id]
            written[row.id] = render(
                INVITATION,
                language=row.language,
                letter=letter,
                invitation=invitation,
                invitation_url=invitation_url(settings, letter.slug, invitation.id, row.language),
                valid_days=days,
            )
        return written

    return {INVITATION: invitations}
