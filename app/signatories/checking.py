"""Check a list: a journalist pastes names or organisations and learns, for each, whether it
signed. Names are matched by the watch-list's folding and look-alike skeletons (so "Barack Obama"
spelt with a Cyrillic a is found, and marked as a near match); organisations by the registry
(name or email domain) or the letter's own affiliations, with verified and stated counts. Only
listed signatures are ever matched: never a held, private, pending or withdrawn one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from app.affiliations.affiliations import affiliation_key
from app.db import DbSession
from app.errors import N_, InvalidInput
from app.models import (
    PUBLICLY_COUNTED,
    Affiliation,
    Letter,
    Organisation,
    OrganisationDomain,
    Signature,
    SignatureTally,
)
from app.organisations.breakdown import letter_breakdown
from app.support.text import has_control_characters, lookalike_key, matching_key, normalise

#: Names and organisations one check may ask about, together.
MAX_ITEMS = 500
#: Characters one name or organisation may have.
QUERY_MAX = 200
#: Matches shown per name: a common name may have many namesakes.
MATCHES_SHOWN = 20


@dataclass(frozen=True)
class NameMatch:
    name: str
    affiliation: str
    #: The same name, spelt the same once case, accents and punctuation are folded; False for
    #: a look-alike (another alphabet's letters, confusable characters).
    exact: bool


@dataclass(frozen=True)
class NameResult:
    query: str
    matches: Sequence[NameMatch]

    @property
    def signed(self) -> bool:
        return any(match.exact for match in self.matches)


@dataclass(frozen=True)
class OrganisationResult:
    query: str
    #: The registry's name, or the letter's affiliation it matched; None when nothing did.
    name: str | None
    verified: int
    stated: int


@dataclass(frozen=True)
class CheckResult:
    names: Sequence[NameResult]
    organisations: Sequence[OrganisationResult]

    def as_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            "names": [
                {
                    "query": result.query,
                    "signed": result.signed,
                    "matches": [
                        {"name": m.name, "affiliation": m.affiliation, "exact": m.exact}
                        for m in result.matches
                    ],
                }
                for result in self.names
            ],
            "organisations": [
                {
                    "query": result.query,
                    "name": result.name,
                    "verified": result.verified,
                    "stated": result.stated,
                }
                for result in self.organisations
            ],
        }


def clean_queries(values: object, label: str) -> list[str]:
    """A list of names or organisations as given (a JSON list, or a text box's lines), cleaned;
    InvalidInput saying what is wrong with it."""
    if not isinstance(values, list):
        raise InvalidInput(f"{label} must be a list of text.")
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidInput(f"Each of the {label} must be text.")
        text = normalise(value)
        if not text:
            continue
        if len(text) > QUERY_MAX or has_control_characters(text):
            raise InvalidInput(
                N_(
                    "Each of the %(label)s must be under %(max)s printable characters: "
                    "“%(text)s…” is not."
                ),
                label=label,
                max=QUERY_MAX,
                text=text[:40],
            )
        cleaned.append(text)
    return cleaned


def check_list(
    session: DbSession, letter: Letter, names: Sequence[str], organisations: Sequence[str]
) -> CheckResult:
    if len(names) + len(organisations) > MAX_ITEMS:
        raise InvalidInput(
            N_("Check at most %(max)s names and organisations at a time."), max=MAX_ITEMS
        )
    if not names and not organisations:
        raise InvalidInput(N_("Give at least one name or organisation to check."))
    return CheckResult(
        names=_check_names(session, letter, names) if names else [],
        organisations=_check_organisations(session, letter, organisations) if organisations else [],
    )


def _check_names(session: DbSession, letter: Letter, names: Sequence[str]) -> list[NameResult]:
    keys = {name: lookalike_key(name) for name in names}
    found: dict[str, list[NameMatch]] = defaultdict(list)
    # One statement through the (letter_id, name_key) index, whatever the list's length.
    rows = session.execute(
        select(Signature.name, Affiliation.name, Signature.name_key)
        .join(Affiliation, Affiliation.id == Signature.affiliation_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.name_key.in_(set(keys.values())),
            *PUBLICLY_COUNTED,
            Signature.is_public.is_(True),
        )
        .order_by(Signature.name, Signature.id)
    )
    for name, affiliation, key in rows:
        found[key or ""].append(NameMatch(name, affiliation, exact=False))
    results = []
    for query, key in keys.items():
        wanted = matching_key(query)
        matches = [
            NameMatch(m.name, m.affiliation, exact=matching_key(m.name) == wanted)
            for m in found.get(key, [])
        ]
        matches.sort(key=lambda m: not m.exact)  # the exact ones first
        results.append(NameResult(query, matches[:MATCHES_SHOWN]))
    return results


def _check_organisations(
    session: DbSession, letter: Letter, queries: Sequence[str]
) -> list[OrganisationResult]:
    keys = {query: matching_key(query) for query in queries}
    domains = {query: query.lower().removeprefix("@") for query in queries if "." in query}
    registered = {
        organisation.key: organisation
        for organisation in session.scalars(
            select(Organisation).where(Organisation.key.in_(set(keys.values())))
        )
    }
    by_domain: dict[str, Organisation] = {
        domain: organisation
        for domain, organisation in session.execute(
            select(OrganisationDomain.domain, Organisation)
            .join(Organisation, Organisation.id == OrganisationDomain.organisation_id)
            .where(OrganisationDomain.domain.in_(set(domains.values())))
        )
    }
    counts = {count.name: count for count in letter_breakdown(session, letter).organisations}
    affiliations = _letter_affiliations(session, letter, queries)
    results = []
    for query in queries:
        organisation = registered.get(keys[query]) or by_domain.get(domains.get(query, ""))
        if organisation is not None:
            count = counts.get(organisation.name)
            results.append(
                OrganisationResult(
                    query,
                    organisation.name,
                    count.verified if count else 0,
                    count.stated if count else 0,
                )
            )
        elif query in affiliations:
            name, stated = affiliations[query]
            results.append(OrganisationResult(query, name, 0, stated))
        else:
            results.append(OrganisationResult(query, None, 0, 0))
    return results


def _letter_affiliations(
    session: DbSession, letter: Letter, queries: Sequence[str]
) -> dict[str, tuple[str, int]]:
    """For organisations not in the registry: the letter's affiliation each query names (its
    canonical one, if merged) and its listed signatories, from the kept tallies."""
    keys = {query: affiliation_key(query) for query in queries}
    rows = session.execute(
        select(Affiliation.key, Affiliation.id, Affiliation.canonical_id).where(
            Affiliation.letter_id == letter.id, Affiliation.key.in_(set(keys.values()))
        )
    ).all()
    canonical = {key: canonical_id or own_id for key, own_id, canonical_id in rows}
    if not canonical:
        return {}
    tallied: dict[int, int] = {
        affiliation_id: int(signatures or 0)
        for affiliation_id, signatures in session.execute(
            select(SignatureTally.affiliation_id, func.sum(SignatureTally.signatures))
            .where(
                SignatureTally.letter_id == letter.id,
                SignatureTally.affiliation_id.in_(set(canonical.values())),
            )
            .group_by(SignatureTally.affiliation_id)
        )
    }
    names: dict[int, str] = {
        affiliation_id: name
        for affiliation_id, name in session.execute(
            select(Affiliation.id, Affiliation.name).where(
                Affiliation.id.in_(set(canonical.values()))
            )
        )
    }
    # Only an affiliation with listed signatories answers: one named only by pending, private,
    # held or withdrawn signers is "not found", as if nobody had typed it.
    return {
        query: (names[canonical[key]], tallied[canonical[key]])
        for query, key in keys.items()
        if key in canonical and tallied.get(canonical[key], 0) > 0
    }
