"""The public list: who signed, counted and paged. Only verified signatures, never an email."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVarTuple, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Integer,
    Result,
    Select,
    String,
    Text,
    and_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)

from app.affiliations.affiliations import affiliation_key, existing_affiliation_id, ids_containing
from app.db import DbSession, UTCDateTime, upsert
from app.errors import InvalidInput
from app.models import (
    AFFILIATION_MAX,
    PUBLICLY_COUNTED,
    Affiliation,
    EvidenceMethod,
    Letter,
    LetterVersion,
    NotableEvidence,
    Organisation,
    Signature,
    SignatureCount,
    SignatureTally,
)
from app.organisations import registry
from app.signatories.integrity import COUNTS as INTEGRITY_COUNTS
from app.signatories.integrity import Integrity
from app.support.countries import country_name, is_country_code
from app.support.identifiers import BadCursor, decode_cursor, encode_cursor
from app.support.text import has_control_characters, normalise

SEARCH_MAX = 100
#: Signature ids are 32-bit integers in the database.
#: Advisory lock key that serialises `signatures recount` runs ("UNDR" in ASCII).
RECOUNT_LOCK = 0x554E4452
_BAD_CURSOR = "This page link is not valid; start again from the first page."


@dataclass(frozen=True)
class PublicSignatory:
    name: str
    title: str
    #: As the signer stated it.
    affiliation: str
    country: str
    verified_at: datetime
    #: The registered organisation the stated affiliation stands for; None when unlinked.
    organisation: str | None = None
    #: The signer confirmed from an address at that very organisation's domains. An address
    #: at another organisation is recorded (exports, the breakdown's counts) but never shown
    #: beside the name: it would say where someone works who chose to say otherwise.
    affiliation_verified: bool = False
    #: The SHA-256 of the text version the signer agreed to (LetterVersion.sha256): the
    #: one they signed, or a later one they re-affirmed after a change of substance.
    text_sha256: str | None = None
    #: A founding signatory, who signed from an invitation before the launch.
    initial: bool = False
    #: The number of that text version.
    version: int = 1
    #: The signer kept their signature under a later version of substance.
    reaffirmed: bool = False
    #: An imported signature's source as the organisers described the import; None for a
    #: signature made and confirmed by email here.
    source: str | None = None

    @property
    def imported(self) -> bool:
        return self.source is not None

    @property
    def country_name(self) -> str:
        return country_name(self.country)

    def as_json(self) -> dict[str, str | bool | int | None]:
        return {
            "name": self.name,
            "title": self.title,
            "affiliation": self.affiliation,
            "affiliation_verified": self.affiliation_verified,
            "organisation": self.organisation,
            "country": self.country,
            "signed_at": self.verified_at.isoformat(),
            "text_sha256": self.text_sha256,
            "version": self.version,
            "reaffirmed": self.reaffirmed,
            "initial": self.initial,
            "imported": self.imported,
            "source": self.source,
        }


@dataclass(frozen=True)
class SignatoryPage:
    items: Sequence[PublicSignatory]
    #: Opaque cursor for the page after this one; None on the last page.
    next_cursor: str | None


def count_verified(session: DbSession, letter: Letter) -> int:
    """Verified signatures, listed or not, unless held for review (see verified_counts)."""
    return int(_read(session, _KEPT_COUNT, letter_id=letter.id).scalar() or 0)


#: Built once, as every letter page asks it.
_KEPT_COUNT = select(func.sum(SignatureCount.verified)).where(
    SignatureCount.letter_id == bindparam("letter_id")
)


def verified_counts(session: DbSession, letter_ids: Sequence[int]) -> dict[int, int]:
    """count_verified for several letters in one query (letters with none are left out).

    Read from the counter rows the database keeps (see SignatureCount): a handful of rows per
    letter whatever its size, where COUNT(*) would read every signature on every view.
    """
    rows = session.execute(
        select(SignatureCount.letter_id, func.sum(SignatureCount.verified))
        .where(SignatureCount.letter_id.in_(letter_ids))
        .group_by(SignatureCount.letter_id)
    )
    return {letter_id: int(total) for letter_id, total in rows}


def reconcile_counts(session: DbSession) -> dict[int, int]:
    """Compare each letter's kept count with COUNT(*), repair any drift; {letter id: drift}.

    Both numbers come from one statement, so from one snapshot: a confirmation committing
    meanwhile changes both or neither, and is never mistaken for drift. The repair adds the
    drift instead of overwriting, so confirmations after that snapshot are kept too.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two recounts at once (cron on two nodes) would both add the same drift.
        session.execute(select(func.pg_advisory_xact_lock(RECOUNT_LOCK)))
    true_count = (
        select(func.count())
        .select_from(Signature)
        .where(Signature.letter_id == Letter.id, *PUBLICLY_COUNTED)
        .scalar_subquery()
    )
    kept_count = (
        select(func.coalesce(func.sum(SignatureCount.verified), 0))
        .where(SignatureCount.letter_id == Letter.id)
        .scalar_subquery()
    )
    rows = session.execute(select(Letter.id, true_count - kept_count).order_by(Letter.id)).all()
    drifts = {letter_id: int(drift) for letter_id, drift in rows if drift}
    for letter_id, drift in drifts.items():
        session.execute(
            upsert(SignatureCount, session.get_bind().dialect.name)
            .values(letter_id=letter_id, shard=0, verified=drift)
            .on_conflict_do_update(
                index_elements=["letter_id", "shard"],
                set_={"verified": SignatureCount.verified + drift},
            )
        )
    return drifts


def page_cursor(verified_at: datetime, signature_id: int) -> str:
    return encode_cursor(verified_at.astimezone(UTC).isoformat(), signature_id)


def _read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        moment, signature_id = decode_cursor(cursor, 2)
        if not isinstance(moment, str) or not moment.endswith("+00:00"):
            raise BadCursor(cursor)
        return datetime.fromisoformat(moment).astimezone(UTC), signature_id
    except (BadCursor, ValueError, OverflowError):
        raise InvalidInput(_BAD_CURSOR) from None


def clean_search(text: str, limit: int = SEARCH_MAX) -> str | None:
    """The search box's text, normalised and bounded; InvalidInput for control characters."""
    cleaned = normalise(text)[:limit]
    if has_control_characters(cleaned):
        raise InvalidInput("Please search with letters, digits and punctuation only.")
    return cleaned or None


def clean_name_filter(text: str) -> str | None:
    """The organisation or affiliation filter: a whole name, as long as one may be."""
    return clean_search(text, AFFILIATION_MAX)


def clean_country(code: str) -> str | None:
    """An ISO 3166-1 alpha-2 filter, upper-cased; InvalidInput for anything else."""
    code = code.strip()
    if not code:
        return None
    if not (code.isascii() and is_country_code(code.upper())):
        raise InvalidInput("Please choose a country from the list (an ISO 3166 code such as GB).")
    return code.upper()


def clean_flag(text: str, name: str) -> bool:
    """A yes-or-no filter: "1", "true", "yes" or "on" (and their opposites, or nothing)."""
    value = text.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise InvalidInput(f"{name} must be 1 or 0.")


def signatory_page(
    session: DbSession,
    letter: Letter,
    *,
    limit: int,
    cursor: str | None = None,
    search: str | None = None,
    country: str | None = None,
    verified_only: bool = False,
    organisation: str | None = None,
    affiliation: str | None = None,
) -> SignatoryPage:
    """Public signatories, newest first, by keyset: page 5,000 costs what page 1 does.
    `organisation`: those whose stated affiliation stands for the registered organisation of
    that name or alias (the breakdown's "stated"); `affiliation`: those who named that
    affiliation of the letter (after its merges)."""
    query = _PUBLIC_SIGNATORIES
    filtered = bool(cursor or search or country or verified_only or organisation or affiliation)
    if organisation:
        found = registry.organisation_named(session, organisation)
        query = query.where(
            Affiliation.organisation_id == found.id if found is not None else false()
        )
    if affiliation:
        named = session.scalar(
            select(existing_affiliation_id()),
            {"letter_id": letter.id, "affiliation_key": affiliation_key(affiliation)},
        )
        query = query.where(Signature.affiliation_id == named if named is not None else false())
    if cursor:
        verified_at, signature_id = _read_cursor(cursor)
        query = query.where(
            tuple_(Signature.verified_at, Signature.id)
            < tuple_(literal(verified_at, UTCDateTime()), literal(signature_id))
        )
    if search:
        query = query.where(
            or_(
                Signature.name.icontains(search, autoescape=True),
                Signature.affiliation_id.in_(ids_containing(bindparam("letter_id"), search)),
            )
        )
    if country:
        query = query.where(Signature.country == country)
    if verified_only:
        query = query.where(_AFFILIATION_VERIFIED)
    # The unfiltered first page (every letter page shows it) is a statement built once.
    query = query.limit(_ROW_LIMIT) if filtered else _FIRST_PAGE
    rows = _read(session, query, letter_id=letter.id, row_limit=limit + 1).all()
    # verified_at is never NULL on a verified signature: a CHECK constraint guarantees it.
    items = [
        PublicSignatory(
            name=row.name,
            title=row.title,
            affiliation=row.affiliation,
            country=row.country,
            verified_at=cast(datetime, row.verified_at),
            organisation=row.organisation,
            affiliation_verified=bool(row.affiliation_verified),
            text_sha256=row.text_sha256,
            initial=bool(row.initial),
            version=int(row.version),
            reaffirmed=bool(row.reaffirmed),
            source=row.source,
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = page_cursor(last.verified_at, rows[limit - 1].id)
    return SignatoryPage(items=items, next_cursor=next_cursor)


#: The stated affiliation is verified: the confirmed address is at its organisation's domains.
_AFFILIATION_VERIFIED = and_(
    Signature.email_organisation_id.is_not(None),
    Signature.email_organisation_id == Affiliation.organisation_id,
)
#: The text version a signature stands under: the one signed, or a later one re-affirmed.
AGREED_VERSION = func.coalesce(Signature.reaffirmed_version, Signature.letter_version)
#: Every page of the public list starts from this, built once.
_PUBLIC_SIGNATORIES = (
    select(
        Signature.name,
        Signature.title,
        Affiliation.name.label("affiliation"),
        Signature.country,
        Signature.verified_at,
        Signature.id,
        Organisation.name.label("organisation"),
        _AFFILIATION_VERIFIED.label("affiliation_verified"),
        LetterVersion.sha256.label("text_sha256"),
        Signature.initial,
        AGREED_VERSION.label("version"),
        Signature.reaffirmed_version.is_not(None).label("reaffirmed"),
        Signature.source,
    )
    .join(Affiliation, Signature.affiliation_id == Affiliation.id)
    .outerjoin(Organisation, Organisation.id == Affiliation.organisation_id)
    .outerjoin(
        LetterVersion,
        and_(
            LetterVersion.letter_id == Signature.letter_id,
            LetterVersion.number == AGREED_VERSION,
        ),
    )
    .where(
        Signature.letter_id == bindparam("letter_id"),
        *PUBLICLY_COUNTED,
        Signature.is_public.is_(True),
    )
    .order_by(Signature.verified_at.desc(), Signature.id.desc())
)


def counts_by_version(session: DbSession, letter: Letter) -> dict[int, int]:
    """Publicly counted signatures by the text version they stand under (AGREED_VERSION)."""
    rows = session.execute(
        select(AGREED_VERSION, func.count())
        .where(Signature.letter_id == letter.id, *PUBLICLY_COUNTED)
        .group_by(AGREED_VERSION)
    )
    return {int(version): int(count) for version, count in rows}


def listed_oldest_first() -> Select[*tuple[Any, ...]]:
    """Every listed signatory of the letter `letter_id`, in the public list's columns, oldest
    confirmation first (what a snapshot writes)."""
    return _PUBLIC_SIGNATORIES.order_by(None).order_by(Signature.verified_at, Signature.id)


_Columns = TypeVarTuple("_Columns")
_ROW_LIMIT = bindparam("row_limit", type_=Integer)
_FIRST_PAGE = _PUBLIC_SIGNATORIES.limit(_ROW_LIMIT)


def _read(session: DbSession, statement: Select[*_Columns], **values: object) -> Result[*_Columns]:
    """Run one of the public list's read-only statements on the session's connection, in Core:
    the rows are plain values, so the ORM's execution layer would only add its CPU (a quarter
    of each statement's, measured on the letter page)."""
    return session.connection().execute(statement, values)


@dataclass(frozen=True)
class NotableSignatory:
    name: str
    title: str
    affiliation: str
    context: str | None
    #: When the organisers checked that this person signed, how, and where anyone can see it.
    checked_at: datetime | None = None
    #: An EvidenceMethod's value.
    method: str | None = None
    evidence_url: str | None = None

    @property
    def method_label(self) -> str:
        return EvidenceMethod(self.method).label if self.method else ""


def notable_signatories(session: DbSession, letter: Letter) -> Sequence[NotableSignatory]:
    """Featured signatories in the organisers' order: verified and public ones only, and only
    with the organisers' evidence that they signed."""
    rows = _read(session, _NOTABLES, letter_id=letter.id)
    return [
        NotableSignatory(
            row.name,
            row.title,
            row.affiliation,
            row.notable_context,
            row.checked_at,
            row.method.value,
            row.public_url,
        )
        for row in rows
    ]


#: Built once, as every letter page asks it.
_NOTABLES = (
    select(
        Signature.name,
        Signature.title,
        Affiliation.name.label("affiliation"),
        Signature.notable_context,
        NotableEvidence.checked_at,
        NotableEvidence.method,
        NotableEvidence.public_url,
    )
    .join(Affiliation, Signature.affiliation_id == Affiliation.id)
    .join(NotableEvidence, NotableEvidence.signature_id == Signature.id)
    .where(
        Signature.letter_id == bindparam("letter_id"),
        *PUBLICLY_COUNTED,
        Signature.is_public.is_(True),
        Signature.is_notable.is_(True),
    )
    .order_by(Signature.notable_rank.asc().nulls_last(), Signature.name)
    .limit(200)
)


@dataclass(frozen=True)
class LetterSummary:
    """What the letter page shows of its signatories."""

    verified_count: int  # as count_verified
    newest: Sequence[PublicSignatory]  # the first NEWEST_SHOWN of the public list
    notables: Sequence[NotableSignatory]  # as notable_signatories
    #: Listed signatories who confirmed from an address at a registered organisation.
    verified_affiliations: int
    #: The honest count shown under the letter (as integrity.integrity).
    integrity: Integrity


NEWEST_SHOWN = 10


def letter_summary(session: DbSession, letter: Letter) -> LetterSummary:
    """count_verified, the newest NEWEST_SHOWN signatories and notable_signatories, in one
    statement (_SUMMARY): the letter page needs all three on every render, and asked one by one
    their round trips to the database were a fifth of the page's CPU."""
    verified_count = verified_affiliations = 0
    newest: list[PublicSignatory] = []
    notables: list[NotableSignatory] = []
    counted: dict[str, int] = {}
    for row in session.connection().execute(_SUMMARY, {"letter_id": letter.id}):
        if row.part == "count":
            verified_count = int(row.number or 0)
        elif row.part == "verified":
            verified_affiliations = int(row.number or 0)
        elif row.part in INTEGRITY_COUNTS:
            counted[row.part] = int(row.number or 0)
        elif row.part == "newest":
            newest.append(
                PublicSignatory(
                    row.name,
                    row.title,
                    row.affiliation,
                    row.country,
                    row.verified_at,
                    row.organisation,
                    bool(row.affiliation_verified),
                    row.text_sha256,
                    bool(row.initial),
                    int(row.version or 1),
                    bool(row.reaffirmed),
                    row.source,
                )
            )
        else:
            notables.append(
                NotableSignatory(
                    row.name,
                    row.title,
                    row.affiliation,
                    row.context,
                    row.checked_at,
                    row.method,
                    row.evidence_url,
                )
            )
    return LetterSummary(
        verified_count,
        newest,
        notables,
        verified_affiliations,
        # "listed" is the kept count, asked once above (the statement leaves it out).
        Integrity(
            **{name: counted.get(name, 0) for name in INTEGRITY_COUNTS} | {"listed": verified_count}
        ),
    )


#: The summary's columns, in order, with their types: each part fills those it has and leaves
#: the rest NULL.
_SUMMARY_COLUMNS = (
    ("name", String()),
    ("title", String()),
    ("affiliation", String()),
    ("country", String()),
    ("verified_at", UTCDateTime()),
    ("organisation", String()),
    ("affiliation_verified", Boolean()),
    ("context", Text()),
    ("checked_at", UTCDateTime()),
    ("method", String()),
    ("evidence_url", String()),
    ("text_sha256", String()),
    ("initial", Boolean()),
    ("version", Integer()),
    ("reaffirmed", Boolean()),
    ("source", String()),
)


def _summary_part(part: str, number: ColumnElement[Any], **columns: Any) -> Select[Any]:
    return select(
        literal(part).label("part"),
        *(columns.get(name, null().cast(kind)).label(name) for name, kind in _SUMMARY_COLUMNS),
        number.label("number"),
    )


def _summary_statement() -> CompoundSelect:
    """The newest, the notables and the counts (the kept count, the verified affiliations and
    the integrity line's) in one UNION ALL, told apart by `part`, each in its own order
    (`number`, from row_number(), which also carries the counts)."""
    newest = _PUBLIC_SIGNATORIES.limit(NEWEST_SHOWN).subquery()
    notables = _NOTABLES.add_columns(Signature.notable_rank.label("rank")).subquery()
    listed = ("name", "title", "affiliation")
    newest_part = _summary_part(
        "newest",
        func.row_number().over(order_by=(newest.c.verified_at.desc(), newest.c.id.desc())),
        **{name: newest.c[name] for name in listed},
        country=newest.c.country,
        verified_at=newest.c.verified_at,
        organisation=newest.c.organisation,
        affiliation_verified=newest.c.affiliation_verified,
        text_sha256=newest.c.text_sha256,
        initial=newest.c.initial,
        version=newest.c.version,
        reaffirmed=newest.c.reaffirmed,
        source=newest.c.source,
    )
    notables_part = _summary_part(
        "notable",
        func.row_number().over(order_by=(notables.c.rank.asc().nulls_last(), notables.c.name)),
        **{name: notables.c[name] for name in listed},
        context=notables.c.notable_context,
        checked_at=notables.c.checked_at,
        method=notables.c.method,
        evidence_url=notables.c.public_url,
    )
    count_part = _summary_part("count", _KEPT_COUNT.scalar_subquery())
    # Those whose ✓ the list shows (_AFFILIATION_VERIFIED): an address at the very
    # organisation their stated affiliation stands for, not merely at some organisation.
    verified_part = _summary_part(
        "verified",
        select(func.coalesce(func.sum(SignatureTally.signatures), 0))
        .join(Affiliation, Affiliation.id == SignatureTally.affiliation_id)
        .where(
            SignatureTally.letter_id == bindparam("letter_id"),
            SignatureTally.organisation_id != 0,
            SignatureTally.organisation_id == Affiliation.organisation_id,
        )
        .scalar_subquery(),
    )
    integrity_parts = [
        _summary_part(name, count) for name, count in INTEGRITY_COUNTS.items() if name != "listed"
    ]
    return union_all(
        newest_part, notables_part, count_part, verified_part, *integrity_parts
    ).order_by(literal_column("part"), literal_column("number"))


#: Built once, as every letter page asks it.
_SUMMARY = _summary_statement()
