"""Who signed and who is absent: a letter's signatories counted by organisation (verified and
stated apart), by sector and by country, with the organisations its organisers watch shown
even when none of their people signed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, delete, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app import audit
from app.db import DbSession, upsert
from app.errors import InvalidInput
from app.models import (
    PUBLICLY_COUNTED,
    Affiliation,
    Letter,
    Organisation,
    Organiser,
    Sector,
    Signature,
    SignatureTally,
    WatchedOrganisation,
)
from app.organisations import registry
from app.support.spreadsheets import spreadsheet_csv
from app.support.text import matching_key

#: Organisations one letter may watch.
MAX_WATCHED = 1000


def watched_organisations(session: DbSession, letter: Letter) -> Sequence[Organisation]:
    return session.scalars(
        select(Organisation)
        .join(WatchedOrganisation, WatchedOrganisation.organisation_id == Organisation.id)
        .where(WatchedOrganisation.letter_id == letter.id)
        .order_by(Organisation.key)
    ).all()


def set_watch_list(
    session: DbSession, letter: Letter, names: Sequence[str], *, by: Organiser | None
) -> Sequence[Organisation]:
    """The letter watches exactly these registered organisations (by name or alias, folded
    as the registry folds them: "MIT" is the Massachusetts Institute of Technology);
    InvalidInput naming every one the registry does not have, and nothing changes."""
    names = [name for name in names if matching_key(name)]
    if len(set(map(matching_key, names))) > MAX_WATCHED:
        raise InvalidInput(f"A letter may watch at most {MAX_WATCHED:,} organisations.")
    found = registry.organisations_named(session, names)
    missing = [name for name in names if name not in found]
    if missing:
        raise InvalidInput(
            "Not in the registry of organisations, by name or other name (add them, or the "
            "name as one of their other names, first): " + "; ".join(missing)
        )
    # One row per organisation, however many of its names were given.
    chosen = list({found[name].id: found[name] for name in names}.values())
    before = [organisation.name for organisation in watched_organisations(session, letter)]
    session.execute(delete(WatchedOrganisation).where(WatchedOrganisation.letter_id == letter.id))
    session.add_all(
        WatchedOrganisation(letter_id=letter.id, organisation_id=organisation.id)
        for organisation in chosen
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another organiser saved the list at the same moment
        raise InvalidInput("The list was just changed by someone else; look at it again.") from None
    after = [organisation.name for organisation in chosen]
    audit.record(
        session, by, "letter.watch_organisations", letter=letter, before=before, after=after
    )
    return chosen


@dataclass(frozen=True)
class OrganisationCount:
    organisation_id: int
    name: str
    sector: Sector
    #: Listed signatories who confirmed from an address at the organisation's domains.
    verified: int
    #: Listed signatories whose stated affiliation is (linked to) the organisation.
    stated: int
    watched: bool


@dataclass(frozen=True)
class UnregisteredCount:
    """A letter's affiliation that no registered organisation stands for (after the letter's
    merges), and its listed signatories."""

    affiliation_id: int
    name: str
    stated: int


@dataclass(frozen=True)
class Breakdown:
    """A letter's listed signatories (verified, not held, public) by organisation, sector and
    country. Each signatory counts once, under the organisation their stated affiliation is
    linked to (verified when their address is at it too), never under their address's alone."""

    organisations: Sequence[OrganisationCount]
    sectors: dict[Sector, int]
    countries: dict[str, int]
    listed: int
    #: Listed signatories whose stated affiliation no registered organisation stands for.
    without_organisation: int
    #: Every affiliation no organisation stands for, most signatories first: "which
    #: universities signed" has an answer beyond the registry.
    unregistered: Sequence[UnregisteredCount] = ()

    @property
    def watched(self) -> Sequence[OrganisationCount]:
        return [count for count in self.organisations if count.watched]

    @property
    def absent(self) -> Sequence[OrganisationCount]:
        """Watched organisations none of whose people signed."""
        return [c for c in self.organisations if c.watched and not (c.verified or c.stated)]


def letter_breakdown(session: DbSession, letter: Letter) -> Breakdown:
    """The breakdown, from the kept tallies (SignatureTally): a few thousand rows for a letter
    with a million signatures, one statement, plus the organisations it names."""
    verified: Counter[int] = Counter()
    stated: Counter[int] = Counter()
    by_signatory: Counter[int] = Counter()
    countries: Counter[str] = Counter()
    unregistered: Counter[int] = Counter()
    listed = without = 0
    names: dict[int, str] = {}
    for (
        stated_id,
        unlinked_id,
        unlinked_name,
        verified_id,
        country,
        signatures,
    ) in session.connection().execute(_TALLIES, {"letter_id": letter.id}):
        number = int(signatures)
        listed += number
        countries[country] += number
        # A signer counts only under the affiliation they chose to state: "verified" when
        # their address is at that same organisation. Their address's organisation alone is
        # never shown (an "Oxford" signer writing from a Harvard address would otherwise
        # tell the world where they work).
        if stated_id is not None:
            stated[stated_id] += number
            by_signatory[stated_id] += number
            if verified_id == stated_id:
                verified[stated_id] += number
        else:
            unregistered[unlinked_id] += number
            names[unlinked_id] = unlinked_name
            without += number
    watched_ids = set(
        session.scalars(
            select(WatchedOrganisation.organisation_id).where(
                WatchedOrganisation.letter_id == letter.id
            )
        )
    )
    ids = set(verified) | set(stated) | watched_ids
    organisations = {
        organisation.id: organisation
        for organisation in session.scalars(
            # Names and sectors only: their domains and other names would be two more queries.
            select(Organisation)
            .where(Organisation.id.in_(ids))
            .options(lazyload(Organisation.domains), lazyload(Organisation.aliases))
        )
    }
    counts = [
        OrganisationCount(
            organisation_id=organisation.id,
            name=organisation.name,
            sector=organisation.sector,
            verified=verified[organisation.id],
            stated=stated[organisation.id],
            watched=organisation.id in watched_ids,
        )
        for organisation in organisations.values()
    ]
    counts.sort(key=lambda c: (-c.verified, -c.stated, matching_key(c.name)))
    sectors: Counter[Sector] = Counter()
    for organisation_id, number in by_signatory.items():
        if organisation_id in organisations:
            sectors[organisations[organisation_id].sector] += number
    unlinked = [
        UnregisteredCount(ident, names[ident], number) for ident, number in unregistered.items()
    ]
    unlinked.sort(key=lambda c: (-c.stated, matching_key(c.name)))
    return Breakdown(
        organisations=counts,
        sectors={sector: sectors[sector] for sector in Sector if sectors[sector]},
        countries=dict(sorted(countries.items(), key=lambda item: (-item[1], item[0]))),
        listed=listed,
        without_organisation=without,
        unregistered=unlinked,
    )


#: An affiliation no organisation stands for is counted on its own (its id and name, read in
#: the same statement); linked ones by organisation.
_UNLINKED_AFFILIATION = case((Affiliation.organisation_id.is_(None), Affiliation.id))
_UNLINKED_NAME = case((Affiliation.organisation_id.is_(None), Affiliation.name))
#: Built once: the tallies of one letter summed over shards and affiliations, by the stated
#: organisation (through the affiliation) or else the affiliation itself, the verified
#: organisation and the country.
_TALLIES = (
    select(
        Affiliation.organisation_id,
        _UNLINKED_AFFILIATION,
        _UNLINKED_NAME,
        SignatureTally.organisation_id,
        SignatureTally.country,
        func.sum(SignatureTally.signatures),
    )
    .join(Affiliation, Affiliation.id == SignatureTally.affiliation_id)
    .where(SignatureTally.letter_id == bindparam("letter_id"))
    .group_by(
        Affiliation.organisation_id,
        _UNLINKED_AFFILIATION,
        _UNLINKED_NAME,
        SignatureTally.organisation_id,
        SignatureTally.country,
    )
    .having(func.sum(SignatureTally.signatures) != 0)
)


def as_json(result: Breakdown) -> dict[str, object]:
    """The public API's shape (GET /api/letters/<slug>/affiliations)."""
    return {
        "organisations": [
            {
                "name": count.name,
                "sector": count.sector.value,
                "verified": count.verified,
                "stated": count.stated,
                "watched": count.watched,
            }
            for count in result.organisations
        ],
        "sectors": {sector.value: number for sector, number in result.sectors.items()},
        "countries": result.countries,
        "listed": result.listed,
        "without_organisation": result.without_organisation,
        "unregistered": [
            {"name": count.name, "stated": count.stated} for count in result.unregistered
        ],
    }


CSV_COLUMNS = ("kind", "name", "sector", "watched", "verified", "stated", "signatories")


def as_csv(result: Breakdown) -> str:
    """One table: a row per organisation (verified and stated counts), per affiliation not in
    the registry (kind "unregistered", stated), then per sector and per country
    (signatories), told apart by `kind`. Names are defused for spreadsheets."""
    organisations = [
        (
            "organisation",
            count.name,
            count.sector.value,
            "yes" if count.watched else "no",
            count.verified,
            count.stated,
            "",
        )
        for count in result.organisations
    ]
    unregistered = [
        ("unregistered", affiliation.name, "", "no", "", affiliation.stated, "")
        for affiliation in result.unregistered
    ]
    sectors = [
        ("sector", sector.value, sector.value, "", "", "", number)
        for sector, number in result.sectors.items()
    ]
    countries = [
        ("country", country, "", "", "", "", number) for country, number in result.countries.items()
    ]
    return spreadsheet_csv(CSV_COLUMNS, [*organisations, *unregistered, *sectors, *countries])


def reconcile_tallies(session: DbSession) -> int:
    """Compare the kept tallies with a GROUP BY over the listed signatures and repair any
    drift; the number of groups repaired. As reconcile_counts: both sides come from one
    statement (one snapshot), and the repair adds the difference to shard 0, so what commits
    meanwhile is kept too. The caller holds the recount's advisory lock (reconcile_counts)."""
    # The same expression in SELECT and GROUP BY, with no bound value that would make them
    # two expressions to PostgreSQL.
    organisation = func.coalesce(Signature.email_organisation_id, literal_column("0"))
    listed = (
        select(
            Signature.letter_id,
            Signature.affiliation_id,
            organisation.label("organisation_id"),
            Signature.country,
            func.count().label("signatures"),
        )
        .where(*PUBLICLY_COUNTED, Signature.is_public.is_(True))
        .group_by(Signature.letter_id, Signature.affiliation_id, organisation, Signature.country)
        .subquery()
    )
    kept = (
        select(
            SignatureTally.letter_id,
            SignatureTally.affiliation_id,
            SignatureTally.organisation_id,
            SignatureTally.country,
            func.sum(SignatureTally.signatures).label("signatures"),
        )
        .group_by(
            SignatureTally.letter_id,
            SignatureTally.affiliation_id,
            SignatureTally.organisation_id,
            SignatureTally.country,
        )
        .subquery()
    )
    same_group = and_(
        listed.c.letter_id == kept.c.letter_id,
        listed.c.affiliation_id == kept.c.affiliation_id,
        listed.c.organisation_id == kept.c.organisation_id,
        listed.c.country == kept.c.country,
    )
    drift = func.coalesce(listed.c.signatures, 0) - func.coalesce(kept.c.signatures, 0)
    rows = session.execute(
        select(
            func.coalesce(listed.c.letter_id, kept.c.letter_id),
            func.coalesce(listed.c.affiliation_id, kept.c.affiliation_id),
            func.coalesce(listed.c.organisation_id, kept.c.organisation_id),
            func.coalesce(listed.c.country, kept.c.country),
            drift,
        )
        .select_from(listed.join(kept, same_group, full=True))
        .where(drift != 0)
    ).all()
    dialect = session.get_bind().dialect.name
    for letter_id, affiliation_id, organisation_id, country, difference in rows:
        session.execute(
            upsert(SignatureTally, dialect)
            .values(
                letter_id=letter_id,
                affiliation_id=affiliation_id,
                organisation_id=organisation_id,
                country=country,
                shard=0,
                signatures=difference,
            )
            .on_conflict_do_update(
                index_elements=[
                    "letter_id",
                    "affiliation_id",
                    "organisation_id",
                    "country",
                    "shard",
                ],
                set_={"signatures": SignatureTally.signatures + difference},
            )
        )
    return len(rows)
