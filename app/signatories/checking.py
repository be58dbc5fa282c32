"""Check a list: a journalist pastes names or organisations and learns, for each, whether it
signed. Names are matched by the watch-list's folding and look-alike skeletons (so "Barack Obama"
spelt with a Cyrillic a is found, and marked as a near match); organisations by the registry
(name or email domain) or the letter's own affiliations, with verified and stated counts. Only
listed signatures are ever matched: never a held, private, pending or withdrawn one."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import idna
from sqlalchemy import select

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
)
from app.organisations import registry
from app.organisations.breakdown import letter_breakdown
from app.support.spreadsheets import spreadsheet_csv
from app.support.text import has_control_characters, lookalike_key, matching_key, normalise

#: Names and organisations one check may ask about, together.
MAX_ITEMS = 500
#: Characters one name or organisation may have.
QUERY_MAX = 200
#: The largest request body a check may need: MAX_ITEMS lines of a name and an affiliation at
#: QUERY_MAX characters each, every character escaped at its longest (a four-byte character is
#: 12 bytes as %XX in a form, and as a JSON surrogate pair), and room for the rest of the form.
#: 500 ordinary Cyrillic names did not fit in the site's usual 64 KiB.
CHECK_BODY_MAX = MAX_ITEMS * (2 * QUERY_MAX + 2) * 12 + 64 * 1024
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
    #: The affiliation given beside the name ("Ada Lovelace, University of London"), if any.
    affiliation: str | None = None

    @property
    def signed(self) -> bool:
        return any(match.exact for match in self.matches)

    @property
    def same_affiliation(self) -> bool:
        """An exact match names the affiliation given beside the name (folded alike)."""
        wanted = affiliation_key(self.affiliation) if self.affiliation else None
        return wanted is not None and any(
            match.exact and affiliation_key(match.affiliation) == wanted for match in self.matches
        )


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

    @property
    def names_signed(self) -> int:
        return sum(1 for result in self.names if result.signed)

    @property
    def organisations_present(self) -> int:
        """Organisations asked about with at least one listed signatory, verified or stated."""
        return sum(1 for result in self.organisations if result.verified or result.stated)

    def as_csv(self) -> str:
        """The results as one table, a row per name then per organisation (`kind` tells
        them apart); what people typed is defused for spreadsheets."""
        names = (
            (
                "name",
                name.query,
                name.affiliation or "",
                "yes" if name.signed else ("near match only" if name.matches else "no"),
                "; ".join(
                    f"{m.name} ({m.affiliation})" + ("" if m.exact else " ~") for m in name.matches
                ),
                "",
                "",
            )
            for name in self.names
        )
        organisations = (
            (
                "organisation",
                organisation.query,
                "",
                "yes" if organisation.verified or organisation.stated else "no",
                organisation.name or "",
                organisation.verified,
                organisation.stated,
            )
            for organisation in self.organisations
        )
        return spreadsheet_csv(CSV_COLUMNS, itertools.chain(names, organisations))

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


#: The columns of a check's CSV download.
CSV_COLUMNS = ("kind", "asked", "affiliation_given", "signed", "found", "verified", "stated")


def pasted_names(lines: Sequence[str]) -> tuple[list[str], list[str | None]]:
    """Names as pasted from a spreadsheet or typed: "Name", or "Name, Affiliation" (a comma
    or a tab between them). A first line that only names the columns is skipped. The names,
    and beside each the affiliation given (None if none)."""
    names: list[str] = []
    affiliations: list[str | None] = []
    for number, line in enumerate(lines):
        name, separator, affiliation = line.replace("\t", ",").partition(",")
        if number == 0 and matching_key(name) == "name":
            continue  # a header row: "Name, Affiliation"
        if not name.strip():
            continue
        names.append(name)
        affiliations.append(affiliation.strip(" ,") or None if separator else None)
    return names, affiliations


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
    session: DbSession,
    letter: Letter,
    names: Sequence[str],
    organisations: Sequence[str],
    *,
    affiliations: Sequence[str | None] = (),
) -> CheckResult:
    """Whether each name signed (beside each, optionally, the affiliation the list gives it)
    and, for each organisation, the breakdown's own numbers."""
    if len(names) + len(organisations) > MAX_ITEMS:
        raise InvalidInput(
            N_("Check at most %(max)s names and organisations at a time."), max=MAX_ITEMS
        )
    if not names and not organisations:
        raise InvalidInput(N_("Give at least one name or organisation to check."))
    results = _check_names(session, letter, names) if names else []
    given = list(affiliations) + [None] * (len(results) - len(affiliations))
    return CheckResult(
        names=[replace(result, affiliation=a) for result, a in zip(results, given, strict=True)],
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
    # One result per name asked, in the order asked (a list may name someone twice).
    for query in names:
        key, wanted = keys[query], matching_key(query)
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
    """Each query answered with the breakdown's numbers: a registered organisation's name or
    other name, an email domain of one, or an affiliation of the letter (standing for an
    organisation: that organisation's numbers; else its own count, all of it stated)."""
    named = registry.organisations_named(session, queries)
    # A domain or a subdomain of one (cs.mit.edu is MIT's), as the registry matches addresses.
    domains = {
        query: registry.email_domains("x@" + _as_domain(query)) for query in queries if "." in query
    }
    registered: dict[str, Organisation] = {
        domain: organisation
        for domain, organisation in session.execute(
            select(OrganisationDomain.domain, Organisation)
            .join(Organisation, Organisation.id == OrganisationDomain.organisation_id)
            .where(OrganisationDomain.domain.in_({d for ds in domains.values() for d in ds}))
        )
    }
    by_domain = {
        query: next((registered[d] for d in suffixes if d in registered), None)
        for query, suffixes in domains.items()
    }
    result = letter_breakdown(session, letter)
    counts = {count.organisation_id: count for count in result.organisations}
    unregistered = {count.affiliation_id: count for count in result.unregistered}
    affiliations = _letter_affiliations(session, letter, queries)
    results = []
    for query in queries:
        organisation = named.get(query) or by_domain.get(query)
        found = affiliations.get(query)
        if organisation is None and found is not None and found.organisation is not None:
            organisation = found.organisation
        if organisation is not None:
            count = counts.get(organisation.id)
            results.append(
                OrganisationResult(
                    query,
                    organisation.name,
                    count.verified if count else 0,
                    count.stated if count else 0,
                )
            )
        elif found is not None and found.id in unregistered:
            results.append(OrganisationResult(query, found.name, 0, unregistered[found.id].stated))
        else:
            # Named only by pending, private, held or withdrawn signers, or by nobody: "not
            # found", as if nobody had typed it.
            results.append(OrganisationResult(query, None, 0, 0))
    return results


def _as_domain(query: str) -> str:
    """A domain as typed ("@Université.ch") in the registry's spelling (lower-case IDNA)."""
    text = query.strip().removeprefix("@").lower()
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return text


def _letter_affiliations(
    session: DbSession, letter: Letter, queries: Sequence[str]
) -> dict[str, Affiliation]:
    """The letter's affiliation each query names (its canonical one, if merged)."""
    keys = {query: affiliation_key(query) for query in queries}
    rows = session.execute(
        select(Affiliation.key, Affiliation.id, Affiliation.canonical_id).where(
            Affiliation.letter_id == letter.id, Affiliation.key.in_(set(keys.values()))
        )
    ).all()
    canonical = {key: canonical_id or own_id for key, own_id, canonical_id in rows}
    if not canonical:
        return {}
    loaded = {
        affiliation.id: affiliation
        for affiliation in session.scalars(
            select(Affiliation).where(Affiliation.id.in_(set(canonical.values())))
        )
    }
    return {query: loaded[canonical[key]] for query, key in keys.items() if key in canonical}
