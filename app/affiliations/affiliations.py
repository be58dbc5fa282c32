"""Affiliations: one row per organisation, found by its folded key so variants meet; merging
variants makes them aliases of one canonical organisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from app import audit
from app.db import DbSession
from app.errors import InvalidInput
from app.models import (
    AFFILIATION_MAX,
    PUBLICLY_COUNTED,
    Affiliation,
    Letter,
    Organisation,
    Organiser,
    Signature,
)
from app.organisations import affiliation_links, on_behalf
from app.support.text import has_control_characters, matching_key, normalise


def affiliation_key(name: str) -> str:
    return matching_key(name) or name.casefold()


def affiliation_for(session: DbSession, letter_id: int, name: str) -> Affiliation:
    """The letter's affiliation whose key matches `name` (or its canonical one), created on
    first sight."""
    key = affiliation_key(name)
    found = session.scalars(_BY_KEY, {"letter_id": letter_id, "key": key}).one_or_none()
    if found is not None:
        # A merged variant ("M.I.T.") is only an alias now: sign under the canonical name.
        canonical = session.get(Affiliation, found.canonical_id) if found.canonical_id else None
        return canonical or found
    return create_affiliation(session, letter_id, name)


def create_affiliation(session: DbSession, letter_id: int, name: str) -> Affiliation:
    """A new affiliation for the letter, when a look-up found none; if another signer from the
    same organisation created it meanwhile, theirs."""
    key = affiliation_key(name)
    affiliation = Affiliation(
        letter_id=letter_id,
        name=name,
        key=key,
        # Linked at once by the one rule (a registered organisation's name or alias), asked
        # within the INSERT, so the first signer from there pays no extra round trip.
        organisation_id=affiliation_links.organisation_for_key(key),
    )
    try:
        with session.begin_nested():
            session.add(affiliation)
    except IntegrityError:
        # Another signer from the same organisation got there first.
        return session.scalars(_BY_KEY, {"letter_id": letter_id, "key": key}).one()
    return affiliation


#: Built once: every signature looks its affiliation up.
_BY_KEY = select(Affiliation).where(
    Affiliation.letter_id == bindparam("letter_id"), Affiliation.key == bindparam("key")
)


def existing_affiliation_id() -> ScalarSelect[int]:
    """As a column of a caller's statement (signing asks it with its other look-ups, in one
    round trip): the id affiliation_for would sign under, if that affiliation exists already;
    NULL if not. Takes `letter_id` and `affiliation_key` (affiliation_key(name))."""
    return (
        select(func.coalesce(Affiliation.canonical_id, Affiliation.id))
        .where(
            Affiliation.letter_id == bindparam("letter_id"),
            Affiliation.key == bindparam("affiliation_key"),
        )
        .scalar_subquery()
    )


def ids_containing(letter_id: int | BindParameter[int], text: str) -> Select[int]:
    """The ids of one letter's affiliations whose name contains `text`: a search of signatures
    by affiliation asks `affiliation_id IN` this, so each side of its OR keeps an index (an OR
    across the join would make PostgreSQL read every signature of the letter)."""
    return select(Affiliation.id).where(
        Affiliation.letter_id == letter_id, Affiliation.name.icontains(text, autoescape=True)
    )


@dataclass(frozen=True)
class AffiliationCount:
    affiliation: Affiliation
    verified: int
    total: int
    aliases: Sequence[str]


def affiliation_counts(session: DbSession, letter: Letter) -> Sequence[AffiliationCount]:
    """The letter's affiliations, most verified signatures first, with their known aliases."""
    verified = func.sum(case((and_(*PUBLICLY_COUNTED), 1), else_=0))
    rows = session.execute(
        select(Affiliation, verified, func.count(Signature.id))
        .join(Signature, Signature.affiliation_id == Affiliation.id)
        .where(Signature.letter_id == letter.id)
        .group_by(Affiliation.id)
        .order_by(verified.desc(), Affiliation.name)
    ).all()
    ids = [affiliation.id for affiliation, _, _ in rows]
    aliases: dict[int, list[str]] = {}
    if ids:
        for alias in session.scalars(select(Affiliation).where(Affiliation.canonical_id.in_(ids))):
            aliases.setdefault(alias.canonical_id or 0, []).append(alias.name)
    return [
        AffiliationCount(affiliation, int(v or 0), int(t), sorted(aliases.get(affiliation.id, [])))
        for affiliation, v, t in rows
    ]


@dataclass(frozen=True)
class Merge:
    target_id: int
    merged_ids: list[int]
    signatures_moved: int
    renamed_from: str | None


def merge(
    session: DbSession,
    target: Affiliation,
    variants: Sequence[Affiliation],
    *,
    new_name: str | None,
    by: Organiser | None,
) -> Merge:
    """Fold variants into `target`: their signatures move to it (on every letter, so counts
    agree everywhere) and their keys stay as aliases, so future signers typing a variant land
    on the target too.

    The target must be canonical itself: kept merged names are one hop from their canonical
    one, so merging into an alias (an organisation into one of its own aliases, or A into B
    once B has been merged into A) would make a name its own canonical, or a chain."""
    if target.canonical_id is not None:
        canonical = session.get(Affiliation, target.canonical_id)
        raise InvalidInput(
            f"“{target.name}” is already merged into “{canonical.name if canonical else '?'}”: "
            "merge into that one instead."
        )
    variants = [v for v in variants if v.id != target.id]
    if not variants and not new_name:
        raise InvalidInput("Choose at least one other affiliation to merge into this one.")
    renamed_from = None
    if new_name:
        new_name = normalise(new_name)
        if len(new_name) > AFFILIATION_MAX or has_control_characters(new_name):
            raise InvalidInput(f"Keep the name under {AFFILIATION_MAX} printable characters.")
        if new_name != target.name:
            renamed_from, target.name = target.name, new_name
    ids = [variant.id for variant in variants]
    names = [variant.name for variant in variants]
    moved = 0
    if ids:
        result = session.execute(
            update(Signature)
            .where(Signature.affiliation_id.in_(ids))
            .values(affiliation_id=target.id)
            .execution_options(synchronize_session=False)
        )
        moved = getattr(result, "rowcount", 0)
        # Aliases of a variant become aliases of the target: one hop, always.
        session.execute(
            update(Affiliation)
            .where(Affiliation.canonical_id.in_(ids))
            .values(canonical_id=target.id)
            .execution_options(synchronize_session=False)
        )
        for variant in variants:
            variant.canonical_id = target.id
            # What the organisers linked a variant to by hand is not lost when the target
            # had nothing.
            if (
                target.organisation_id is None
                and not target.linked_by_hand  # "none", chosen by hand, stays
                and variant.linked_by_hand
            ):
                target.organisation_id = variant.organisation_id
                target.linked_by_hand = True
    session.flush()
    # The target may stand for an organisation now through a variant's name.
    affiliation_links.relink(session, Affiliation.id == target.id)
    on_behalf.review_again(session, [target.letter_id])
    merged = Merge(target.id, ids, int(moved or 0), renamed_from)
    audit.record(
        session,
        by,
        "affiliations.merge",
        letter=session.get(Letter, target.letter_id),
        into=merged.target_id,
        merged=merged.merged_ids,
        names=names,
        signatures_moved=merged.signatures_moved,
        renamed_from=merged.renamed_from,
    )
    session.expire_all()
    return merged


def letter_affiliations(
    session: DbSession, letter: Letter, ids: Sequence[int]
) -> dict[int, Affiliation]:
    """The letter's affiliations with these ids; other letters' ids are simply not there."""
    rows = session.scalars(
        select(Affiliation).where(Affiliation.letter_id == letter.id, Affiliation.id.in_(ids))
    )
    return {affiliation.id: affiliation for affiliation in rows}


def rename(session: DbSession, affiliation: Affiliation, name: str) -> str | None:
    """Correct how the letter shows an organisation ("mit" -> "MIT"); the old name, if changed."""
    name = normalise(name)
    if not name or len(name) > AFFILIATION_MAX or has_control_characters(name):
        raise InvalidInput(f"The affiliation must be 1 to {AFFILIATION_MAX} printable characters.")
    if name == affiliation.name:
        return None
    old, affiliation.name = affiliation.name, name
    session.flush()
    return old


def link_organisation(
    session: DbSession,
    affiliation: Affiliation,
    organisation: Organisation | None,
    *,
    by: Organiser | None,
    automatic: bool = False,
) -> None:
    """Say which registered organisation a letter's affiliation stands for (None: none), by
    hand: registry changes leave the choice alone. `automatic`: hand it back to the rule
    (the registry's names and aliases). Its signatories then count as stating that
    organisation; merged variants follow it."""
    if affiliation.canonical_id is not None:
        raise InvalidInput("Link the affiliation this one was merged into instead.")
    before = affiliation.organisation.name if affiliation.organisation else None
    if automatic:
        affiliation.linked_by_hand = False
        session.flush()
        affiliation_links.relink(session, Affiliation.id == affiliation.id)
        session.refresh(affiliation)
    else:
        affiliation.organisation = organisation
        affiliation.linked_by_hand = True
        session.flush()
    on_behalf.review_again(session, [affiliation.letter_id])
    after = affiliation.organisation.name if affiliation.organisation else None
    audit.record(
        session,
        by,
        "affiliations.link",
        letter=session.get(Letter, affiliation.letter_id),
        affiliation=affiliation.name,
        before=before,
        after=after,
        by_hand=not automatic,
    )
