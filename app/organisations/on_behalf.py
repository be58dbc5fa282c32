"""Organisational signatures: a signer may sign on behalf of their organisation rather than
name it for identification only. Such a signature counts for the organisation only once it is
confirmed: by an organiser, or at once when the signer writes from the organisation's own
domain under a title the letter accepts ("Director", "Chief executive")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select, update

from app import audit
from app.db import DbSession
from app.errors import InvalidInput
from app.models import (
    PUBLICLY_COUNTED,
    TITLE_MAX,
    Affiliation,
    Letter,
    Organisation,
    Organiser,
    Signature,
)
from app.support.text import has_control_characters, matching_key, normalise

#: Accepted roles one letter may list.
MAX_ROLES = 50


@dataclass(frozen=True)
class OrganisationalSignature:
    signature_id: int
    #: The registry's name for the organisation, or the affiliation as stated when unlinked.
    organisation: str
    name: str
    title: str
    confirmed: bool
    #: The signer's address is at the organisation's own domain.
    from_its_domain: bool


def organisational_signatures(
    session: DbSession, letter: Letter, *, confirmed_only: bool
) -> Sequence[OrganisationalSignature]:
    """Listed signatures made on behalf of an organisation (for the public list, only the
    confirmed ones; for organisers, all of them, to confirm)."""
    query = (
        select(
            Signature.id,
            func.coalesce(Organisation.name, Affiliation.name),
            Signature.name,
            Signature.title,
            Signature.on_behalf_confirmed,
            and_(
                Signature.email_organisation_id.is_not(None),
                Signature.email_organisation_id == Affiliation.organisation_id,
            ),
        )
        .join(Affiliation, Affiliation.id == Signature.affiliation_id)
        .outerjoin(Organisation, Organisation.id == Affiliation.organisation_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.on_behalf.is_(True),
            *PUBLICLY_COUNTED,
            Signature.is_public.is_(True),
        )
        .order_by(func.coalesce(Organisation.name, Affiliation.name), Signature.name)
        .limit(2000)
    )
    if confirmed_only:
        query = query.where(Signature.on_behalf_confirmed.is_(True))
    return [OrganisationalSignature(*row) for row in session.execute(query)]


def accepted_without_review(
    letter: Letter,
    *,
    title: str,
    email_organisation_id: int | None,
    stated_organisation_id: int | None,
) -> bool:
    """True when an organisational signature needs no organiser: the address is at the very
    organisation the signer names, and their title is one the letter accepts."""
    return (
        email_organisation_id is not None
        and email_organisation_id == stated_organisation_id
        and matching_key(title) in {matching_key(role) for role in letter.accepted_roles or []}
    )


def set_accepted_roles(
    session: DbSession, letter: Letter, roles: Sequence[str], *, by: Organiser | None
) -> list[str]:
    """The titles under which a signer from their organisation's domain signs for it without
    review. Organisational signatures confirmed that way are looked at again; those an
    organiser confirmed stay confirmed."""
    cleaned: list[str] = []
    for role in roles:
        role = normalise(role)
        if not role:
            continue
        if len(role) > TITLE_MAX or has_control_characters(role):
            raise InvalidInput(f"A role must be under {TITLE_MAX} printable characters.")
        if matching_key(role) not in {matching_key(kept) for kept in cleaned}:
            cleaned.append(role)
    if len(cleaned) > MAX_ROLES:
        raise InvalidInput(f"A letter may accept at most {MAX_ROLES} roles.")
    before = list(letter.accepted_roles or [])
    letter.accepted_roles = cleaned
    session.flush()
    _review_again(session, letter)
    audit.record(session, by, "letter.accepted_roles", letter=letter, before=before, after=cleaned)
    return cleaned


def review_again(session: DbSession, letter_ids: Sequence[int] | None = None) -> None:
    """Organisational signatures that counted (or did not) by domain and accepted role are
    looked at again, after what decides it changed: the registry, an affiliation's link, a
    merge, a corrected title. Those an organiser confirmed stay confirmed. None: every letter
    (organisational signatures are few)."""
    query = select(Letter)
    if letter_ids is not None:
        query = query.where(Letter.id.in_(letter_ids))
    for letter in session.scalars(
        query.where(
            select(Signature.id)
            .where(Signature.letter_id == Letter.id, Signature.on_behalf.is_(True))
            .exists()
        )
    ):
        _review_again(session, letter)


def _review_again(session: DbSession, letter: Letter) -> None:
    rows = session.execute(
        select(
            Signature.id,
            Signature.title,
            Signature.email_organisation_id,
            Signature.on_behalf_confirmed,
            Affiliation.organisation_id,
        )
        .join(Affiliation, Affiliation.id == Signature.affiliation_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.on_behalf.is_(True),
            Signature.on_behalf_confirmed_by_organiser.is_(False),
        )
    ).all()
    for signature_id, title, email_organisation_id, confirmed, stated_organisation_id in rows:
        accepted = accepted_without_review(
            letter,
            title=title,
            email_organisation_id=email_organisation_id,
            stated_organisation_id=stated_organisation_id,
        )
        if accepted != confirmed:
            session.execute(
                update(Signature)
                .where(Signature.id == signature_id)
                .values(on_behalf_confirmed=accepted)
                .execution_options(synchronize_session=False)
            )


def confirm_on_behalf(
    session: DbSession,
    letter: Letter,
    signature_ids: Sequence[int],
    *,
    confirmed: bool,
    by: Organiser | None,
) -> int:
    """An organiser confirms (or takes back) that these organisational signatures speak for
    their organisation; the number changed. Signatures of other letters are left alone."""
    values = (
        {"on_behalf_confirmed": True, "on_behalf_confirmed_by_organiser": True}
        if confirmed
        else {"on_behalf_confirmed": False, "on_behalf_confirmed_by_organiser": False}
    )
    result = session.execute(
        update(Signature)
        .where(
            Signature.letter_id == letter.id,
            Signature.id.in_(signature_ids),
            Signature.on_behalf.is_(True),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    if not confirmed:
        _review_again(session, letter)  # an accepted role may still count it
    audit.record(
        session,
        by,
        "signatures.confirm_on_behalf" if confirmed else "signatures.unconfirm_on_behalf",
        letter=letter,
        signature_ids=signature_ids,
    )
    return int(getattr(result, "rowcount", 0) or 0)
