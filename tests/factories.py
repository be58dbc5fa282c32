"""Keyword-only factories with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from app.affiliations.affiliations import affiliation_for
from app.db import utcnow
from app.letters.letters import text_sha256
from app.models import Letter, LetterStatus, LetterVersion, Signature, SignatureState
from app.support.text import lookalike_key

_sequence = itertools.count(1)


def make_letter(
    session: Any,
    *,
    slug: str | None = None,
    title: str = "Ban non-consensual deepfakes",
    body: str = "We, the undersigned, call for **laws** against deepfakes.",
    status: LetterStatus = LetterStatus.OPEN,
    closes_at: datetime | None = None,
) -> Letter:
    letter = Letter(
        slug=slug or f"letter-{next(_sequence)}",
        title=title,
        body=body,
        status=status,
        closes_at=closes_at,
        launched_at=None if status is LetterStatus.DRAFT else utcnow(),
    )
    session.add(letter)
    session.flush()
    # As letters.create_letter does: the first version of the text, with its hash.
    session.add(
        LetterVersion(
            letter_id=letter.id, number=1, title=title, body=body, sha256=text_sha256(body)
        )
    )
    session.commit()
    return letter


def make_signature(
    session: Any,
    *,
    letter: Letter,
    name: str | None = None,
    email: str | None = None,
    affiliation: str = "University of Example",
    title: str = "Professor",
    country: str = "GB",
    comment: str | None = None,
    is_public: bool = True,
    state: SignatureState = SignatureState.VERIFIED,
    verified_at: datetime | None = None,
    signed_at: datetime | None = None,
) -> Signature:
    number = next(_sequence)
    email = email or f"signer{number}@example.org"
    signed_at = signed_at or utcnow() - timedelta(minutes=5)
    if state is SignatureState.VERIFIED and verified_at is None:
        verified_at = signed_at + timedelta(minutes=1)
    name = name or f"Signer {number}"
    signature = Signature(
        letter_id=letter.id,
        name=name,
        name_key=lookalike_key(name),
        email=email,
        email_normalized=email.lower(),
        affiliation=affiliation_for(session, letter.id, affiliation),
        title=title,
        country=country,
        comment=comment,
        is_public=is_public,
        state=state,
        emails_sent=1,
        signed_at=signed_at,
        verified_at=verified_at,
    )
    session.add(signature)
    session.commit()
    return signature


def make_organiser(
    session: Any,
    *,
    email: str | None = None,
    password: str = "correct horse battery staple",  # noqa: S107
    is_superuser: bool = False,
    letters: dict[Letter, Any] | None = None,
) -> Any:
    """An organiser, with roles on the given letters ({letter: OrganiserRole})."""
    from app.accounts import organisers

    organiser = organisers.create_organiser(
        session,
        email=email or f"organiser{next(_sequence)}@campaign.example",
        password=password,
        is_superuser=is_superuser,
        by=None,
    )
    for letter, role in (letters or {}).items():
        organisers.grant(session, letter, organiser, role)
    session.commit()
    return organiser
