"""Affiliations: one row per organisation, found by its folded key so variants meet."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import DbSession
from app.models import Affiliation
from app.text import matching_key


def affiliation_for(session: DbSession, name: str) -> Affiliation:
    """The affiliation whose key matches `name` (or its canonical one), created on first sight."""
    key = matching_key(name) or name.casefold()
    found = session.scalars(select(Affiliation).where(Affiliation.key == key)).one_or_none()
    if found is not None:
        # A merged variant ("M.I.T.") is only an alias now: sign under the canonical name.
        canonical = session.get(Affiliation, found.canonical_id) if found.canonical_id else None
        return canonical or found
    affiliation = Affiliation(name=name, key=key)
    try:
        with session.begin_nested():
            session.add(affiliation)
    except IntegrityError:
        # Another signer from the same organisation got there first.
        return session.scalars(select(Affiliation).where(Affiliation.key == key)).one()
    return affiliation
