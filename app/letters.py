"""Letters: creating them and finding the ones the public may see."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.db import DbSession
from app.errors import InvalidInput, NotFound
from app.models import LETTER_TITLE_MAX, SLUG_MAX, Letter, LetterStatus
from app.text import has_control_characters, normalise

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BODY_MAX = 100_000


def create_letter(
    session: DbSession,
    *,
    slug: str,
    title: str,
    body: str,
    status: LetterStatus = LetterStatus.OPEN,
    closes_at: datetime | None = None,
) -> Letter:
    slug = slug.strip().lower()
    title = normalise(title)
    body = normalise(body, multiline=True)
    if not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX:
        raise InvalidInput(
            f"The slug {slug!r} must be lower-case letters, digits and single hyphens "
            f"(at most {SLUG_MAX} characters), e.g. 'ban-deepfakes'."
        )
    if not title or len(title) > LETTER_TITLE_MAX or has_control_characters(title):
        raise InvalidInput(f"The title must be 1 to {LETTER_TITLE_MAX} printable characters.")
    if not body or len(body) > BODY_MAX or has_control_characters(body, multiline=True):
        raise InvalidInput(f"The body must be 1 to {BODY_MAX} characters of Markdown text.")
    if closes_at is not None and closes_at.tzinfo is None:
        raise InvalidInput("The closing time needs a time zone (e.g. 2026-12-31T18:00:00+00:00).")
    letter = Letter(slug=slug, title=title, body=body, status=status, closes_at=closes_at)
    try:
        with session.begin_nested():
            session.add(letter)
    except IntegrityError:
        raise InvalidInput(f"A letter with the slug {slug!r} already exists.") from None
    return letter


def find_letter(session: DbSession, slug: str) -> Letter | None:
    return session.scalars(select(Letter).where(Letter.slug == slug)).one_or_none()


def public_letter(session: DbSession, slug: str) -> Letter:
    """A letter the public may see (open or closed, never a draft), or NotFound."""
    # Anything that cannot be a slug (a NUL byte, say) need not reach the database.
    letter = find_letter(session, slug) if SLUG_PATTERN.match(slug) else None
    if letter is None or not letter.is_public():
        raise NotFound("There is no letter at this address.")
    return letter


def open_letters(session: DbSession, *, now: datetime) -> Sequence[Letter]:
    return session.scalars(
        select(Letter)
        .where(
            Letter.status == LetterStatus.OPEN,
            or_(Letter.closes_at.is_(None), Letter.closes_at > now),
        )
        .order_by(Letter.created_at.desc(), Letter.id.desc())
    ).all()


def all_letters(session: DbSession) -> Sequence[Letter]:
    return session.scalars(select(Letter).order_by(Letter.id)).all()
