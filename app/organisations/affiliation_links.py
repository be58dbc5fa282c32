"""The one rule for which registered organisation a letter's affiliation stands for.

An affiliation stands for the organisation whose name or alias, folded as affiliations are
folded, is the affiliation's own key ("mit" for "M.I.T.", the alias of the Massachusetts
Institute of Technology), or else the key of one of the variants merged into it; none if no
organisation has it. An organiser's own choice (an organisation, or none) wins over the rule
and survives every registry change (`Affiliation.linked_by_hand`).

Signing, imports, corrections, merges, the registry and `signatures recount` all ask this
module: the first through `organisation_for_key` inside their INSERT, the others through
`relink`, one UPDATE over the affiliations they may have changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    SQLColumnExpression,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased

from app.db import DbSession
from app.models import Affiliation, Organisation, OrganisationAlias
from app.organisations import on_behalf


def organisation_for_key(key: SQLColumnExpression[str] | str) -> ColumnElement[int | None]:
    """The organisation whose name or alias folds to `key` (a column or a value), else NULL.
    Names and aliases are unique across the registry, so at most one answers."""
    by_name: ScalarSelect[int] = (
        select(Organisation.id).where(Organisation.key == key).scalar_subquery()
    )
    by_alias: ScalarSelect[int] = (
        select(OrganisationAlias.organisation_id)
        .where(OrganisationAlias.key == key)
        .scalar_subquery()
    )
    return func.coalesce(by_name, by_alias)


def _standing_for_affiliation() -> ColumnElement[int | None]:
    """The rule for the affiliation row being updated: its own key first, then its merged
    variants' (the first merged, if they name different organisations)."""
    variant = aliased(Affiliation)
    by_variant: ScalarSelect[int] = (
        select(organisation_for_key(variant.key))
        .where(
            variant.canonical_id == Affiliation.id, organisation_for_key(variant.key).is_not(None)
        )
        .order_by(variant.id)
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(organisation_for_key(Affiliation.key), by_variant)


@dataclass(frozen=True)
class Relinked:
    #: Affiliations whose organisation changed.
    affiliations: int
    #: The letters they belong to.
    letter_ids: Sequence[int]


def relink(session: DbSession, which: ColumnElement[bool] | None = None) -> Relinked:
    """Apply the rule to the affiliations `which` selects (every one when None), except those
    an organiser linked by hand and merged variants (they follow their canonical row); then
    what the changed letters' organisational signatures count for is decided again. Every
    count and breakdown reads the link when asked, so they follow at once."""
    rule = _standing_for_affiliation()
    changed = session.execute(
        update(Affiliation)
        .where(
            which if which is not None else true(),
            Affiliation.canonical_id.is_(None),
            Affiliation.linked_by_hand.is_(False),
            or_(
                Affiliation.organisation_id.is_(None) & rule.is_not(None),
                Affiliation.organisation_id.is_not(None) & rule.is_(None),
                Affiliation.organisation_id != rule,
            ),
        )
        .values(organisation_id=rule)
        .returning(Affiliation.letter_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    letters = list(changed)
    letter_ids = sorted(set(letters))
    if letter_ids:
        session.expire_all()
        on_behalf.review_again(session, letter_ids)
    return Relinked(len(letters), letter_ids)


def named_like(keys: Sequence[str]) -> ColumnElement[bool]:
    """The affiliations (of every letter) named by one of these folded keys, or with a merged
    variant named so: those a change to a name or alias with one of them may relink."""
    variant = aliased(Affiliation)
    return or_(
        Affiliation.key.in_(keys),
        Affiliation.id.in_(select(variant.canonical_id).where(variant.key.in_(keys))),
    )
