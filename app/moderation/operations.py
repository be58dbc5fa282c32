"""What organisers do to signatures: find them, hide, delete, correct, feature, resend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, literal, or_, select, tuple_

from app import audit
from app.affiliations.affiliations import affiliation_for, affiliation_key, ids_containing, rename
from app.db import DbSession, UTCDateTime
from app.errors import InvalidInput, NotFound
from app.models import (
    AFFILIATION_MAX,
    NAME_MAX,
    NOTABLE_CONTEXT_MAX,
    TITLE_MAX,
    URL_MAX,
    Affiliation,
    EmailStatus,
    EvidenceMethod,
    Letter,
    NotableEvidence,
    Organiser,
    OrganiserRole,
    OutboundEmail,
    Signature,
    SignatureState,
)
from app.organisations import on_behalf
from app.signing.defences import WATCHED_NAME
from app.signing.invitations import forget_invited
from app.signing.lifecycle import queue_confirmation_if_allowed
from app.signing.settings import SigningSettings
from app.support.countries import is_country_code
from app.support.identifiers import BadCursor, decode_cursor, encode_cursor, is_row_id
from app.support.text import (
    STACKED_MARKS_MESSAGE,
    has_control_characters,
    has_stacked_marks,
    lookalike_key,
    mailbox_key,
    normalise,
    web_address,
)

#: Sort orders the table offers: name -> (column, descending).
SORTS: dict[str, tuple[Any, bool]] = {
    "newest": (Signature.signed_at, True),
    "oldest": (Signature.signed_at, False),
    "name": (Signature.name, False),
}
BULK_MAX = 1000
NOTABLE_RANK_MAX = 100_000
HIDE_REASON_MAX = 500


@dataclass(frozen=True)
class SignatureFilter:
    """What the moderation table shows; every field optional."""

    state: SignatureState | None = None
    country: str | None = None
    affiliation_id: int | None = None
    signed_from: datetime | None = None
    signed_until: datetime | None = None
    text: str | None = None
    notable_only: bool = False
    #: Only signatures a soft defence held back for review.
    held_only: bool = False
    sort: str = "newest"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"Unknown sort order {self.sort!r}.")
        if self.country is not None and not is_country_code(self.country):
            raise InvalidInput("Unknown country code.")


@dataclass(frozen=True)
class SignaturePage:
    items: Sequence[Signature]
    next_cursor: str | None


def _affiliations_matching(session: DbSession, letter: Letter, text: str) -> list[int]:
    """Ids of the letter's affiliations whose name contains `text` (few rows: one letter's)."""
    return list(session.scalars(ids_containing(letter.id, text).limit(1000)))


def _conditions(
    session: DbSession, letter: Letter, wanted: SignatureFilter
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Signature.letter_id == letter.id]
    if wanted.state is not None:
        conditions.append(Signature.state == wanted.state)
    if wanted.country:
        conditions.append(Signature.country == wanted.country)
    if wanted.affiliation_id is not None:
        conditions.append(Signature.affiliation_id == wanted.affiliation_id)
    if wanted.signed_from is not None:
        conditions.append(Signature.signed_at >= wanted.signed_from)
    if wanted.signed_until is not None:
        conditions.append(Signature.signed_at < wanted.signed_until)
    if wanted.notable_only:
        conditions.append(Signature.is_notable.is_(True))
    if wanted.held_only:
        conditions.append(Signature.quarantined.is_(True))
    if wanted.text:
        # Each branch can use an index (trigram ones on PostgreSQL), so the OR stays fast. An
        # address is matched whole, through the unique (letter, address) index: a trigram index
        # on addresses cost signing about 40% of its insert (migration 0006).
        conditions.append(
            or_(
                Signature.name.icontains(wanted.text, autoescape=True),
                # The whole name, look-alikes included: "Barack Obama" finds its Cyrillic twin.
                Signature.name_key == lookalike_key(wanted.text),
                Signature.email_normalized == mailbox_key(wanted.text),
                Signature.title.icontains(wanted.text, autoescape=True),
                Signature.affiliation_id.in_(_affiliations_matching(session, letter, wanted.text)),
            )
        )
    return conditions


def filtered(session: DbSession, letter: Letter, wanted: SignatureFilter) -> Select[Signature]:
    """Signatures matching the filter, in the filter's order (for the table and exports)."""
    return select(Signature).where(*_conditions(session, letter, wanted)).order_by(*_order(wanted))


def filtered_columns(
    session: DbSession, letter: Letter, wanted: SignatureFilter, columns: Sequence[Any]
) -> Select[Any]:
    """`filtered`, as the given columns of each signature and its affiliation."""
    return (
        select(*columns)
        .join(Affiliation, Signature.affiliation_id == Affiliation.id)
        .where(*_conditions(session, letter, wanted))
        .order_by(*_order(wanted))
    )


def numbered(session: DbSession, letter: Letter, wanted: SignatureFilter) -> Select[Any]:
    """The ids of the signatures matching the filter, each with its place in the filter's
    order (from 1): for exports the database writes itself."""
    return select(func.row_number().over(order_by=_order(wanted)), Signature.id).where(
        *_conditions(session, letter, wanted)
    )


def _order(wanted: SignatureFilter) -> tuple[Any, Any]:
    column, descending = SORTS[wanted.sort]
    return (column.desc(), Signature.id.desc()) if descending else (column, Signature.id)


def _encode_cursor(sort: str, value: Any, ident: int) -> str:
    return encode_cursor(sort, value.isoformat() if isinstance(value, datetime) else value, ident)


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        cursor_sort, value, ident = decode_cursor(cursor, 3)
        if cursor_sort != sort or not isinstance(value, str):
            raise BadCursor(cursor)
        if sort in ("newest", "oldest"):
            value = datetime.fromisoformat(value).astimezone(UTC)
    except (BadCursor, ValueError, OverflowError):
        raise InvalidInput(
            "This page link is not valid; start again from the first page."
        ) from None
    return value, ident


def signature_page(
    session: DbSession,
    letter: Letter,
    wanted: SignatureFilter,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> SignaturePage:
    """One page of the moderation table, by keyset in the chosen order."""
    query = filtered(session, letter, wanted)
    column, descending = SORTS[wanted.sort]
    if cursor:
        value, ident = _decode_cursor(cursor, wanted.sort)
        bound = literal(value, UTCDateTime()) if isinstance(value, datetime) else literal(value)
        position = tuple_(column, Signature.id)
        after = tuple_(bound, literal(ident))
        query = query.where(position < after if descending else position > after)
    rows = session.scalars(query.limit(limit + 1)).all()
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = _encode_cursor(wanted.sort, getattr(last, column.key), last.id)
    return SignaturePage(items=items, next_cursor=next_cursor)


# --- actions ---------------------------------------------------------------------------------


@dataclass
class ActionResult:
    """What an action did: the ids it changed, and per-id before/after for the audit log."""

    changed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    before: dict[int, Any] = field(default_factory=dict)
    after: dict[int, Any] = field(default_factory=dict)


def signatures_of(session: DbSession, letter: Letter, ids: Sequence[int]) -> Sequence[Signature]:
    """The letter's signatures with these ids; ids of other letters are simply not there."""
    if not ids:
        raise InvalidInput("Select at least one signature.")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"Act on at most {BULK_MAX:,} signatures at a time.")
    return session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.id.in_(ids))
        .order_by(Signature.id)
    ).all()


def lookalikes(session: DbSession, signature: Signature, *, limit: int = 20) -> Sequence[Signature]:
    """Other signatures of the letter whose names look like this one ("Barack Obama" with
    Cyrillic a, U+0430, beside the Latin one): duplicates and impostors, for whoever reviews it."""
    if not signature.name_key:
        return []
    return session.scalars(
        select(Signature)
        .where(
            Signature.letter_id == signature.letter_id,
            Signature.name_key == signature.name_key,
            Signature.id != signature.id,
        )
        .order_by(Signature.id)
        .limit(limit)
    ).all()


def emails_about(session: DbSession, signature: Signature) -> Sequence[OutboundEmail]:
    """The emails sent (or failing) for one signature, for organisers to see what happened."""
    return session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.signature_id == signature.id)
        .order_by(OutboundEmail.id)
    ).all()


def failed_email_count(session: DbSession, letter: Letter) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboundEmail)
            .join(Signature, OutboundEmail.signature_id == Signature.id)
            .where(Signature.letter_id == letter.id, OutboundEmail.status == EmailStatus.FAILED)
        )
        or 0
    )


def signature_of(session: DbSession, letter: Letter, signature_id: int) -> Signature:
    if not is_row_id(signature_id):
        raise NotFound("There is no such signature on this letter.")
    found = session.scalars(
        select(Signature).where(Signature.letter_id == letter.id, Signature.id == signature_id)
    ).one_or_none()
    if found is None:
        raise NotFound("There is no such signature on this letter.")
    return found


def clean_reason(reason: str) -> str:
    reason = normalise(reason)
    if not reason:
        raise InvalidInput("Please give a reason for hiding (organisers see it in the log).")
    if len(reason) > HIDE_REASON_MAX or has_control_characters(reason):
        raise InvalidInput(f"Please keep the reason under {HIDE_REASON_MAX} printable characters.")
    return reason


def hide(session: DbSession, signatures: Sequence[Signature], reason: str) -> ActionResult:
    """Take signatures off the public list and count (fakes, duplicates), keeping them."""
    reason = clean_reason(reason)
    result = ActionResult()
    for signature in signatures:
        if signature.state not in (SignatureState.PENDING, SignatureState.VERIFIED):
            result.skipped.append(signature.id)
            continue
        result.before[signature.id] = signature.state.value
        signature.state = SignatureState.HIDDEN
        signature.hidden_reason = reason
        result.after[signature.id] = SignatureState.HIDDEN.value
        result.changed.append(signature.id)
    session.flush()
    return result


def approve(session: DbSession, signatures: Sequence[Signature]) -> ActionResult:
    """Release signatures held for review: they are listed and counted once confirmed. A
    notable one (on the watch-list, or marked notable) is skipped: only evidence releases it
    (record_evidence)."""
    result = ActionResult()
    for signature in signatures:
        if not signature.quarantined or needs_evidence(signature):
            result.skipped.append(signature.id)
            continue
        result.before[signature.id] = {"held": True, "flags": list(signature.review_flags)}
        signature.quarantined = False
        result.after[signature.id] = {"held": False}
        result.changed.append(signature.id)
    session.flush()
    return result


def unhide(session: DbSession, signatures: Sequence[Signature]) -> ActionResult:
    """Hidden -> verified again if it had been confirmed, else back to pending."""
    result = ActionResult()
    for signature in signatures:
        if signature.state is not SignatureState.HIDDEN:
            result.skipped.append(signature.id)
            continue
        restored = SignatureState.VERIFIED if signature.verified_at else SignatureState.PENDING
        result.before[signature.id] = {"state": "hidden", "reason": signature.hidden_reason}
        signature.state = restored
        signature.hidden_reason = None
        result.after[signature.id] = restored.value
        result.changed.append(signature.id)
    session.flush()
    return result


def erase(session: DbSession, signatures: Sequence[Signature]) -> ActionResult:
    """Delete for good (personal-data erasure): the signature and every email about it."""
    ids = [signature.id for signature in signatures]
    by_letter: dict[int, dict[int, list[str]]] = {}
    for signature in signatures:
        by_letter.setdefault(signature.letter_id, {})[signature.id] = audit.traces_of(signature)
    for letter_id, people in by_letter.items():
        audit.forget(session, letter_id, people)
    for signature in signatures:
        forget_invited(session, signature.letter_id, [signature.email_normalized])
    if ids:
        session.execute(
            delete(OutboundEmail)
            .where(OutboundEmail.signature_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        for signature in signatures:
            session.delete(signature)
        session.flush()
    # The audit log keeps ids only: a log of erasures must not keep what it erased, and
    # earlier entries lose what they said about these people (audit.forget, above).
    return ActionResult(changed=ids)


def set_notable(
    session: DbSession, signatures: Sequence[Signature], notable: bool, context: str | None = None
) -> ActionResult:
    if context is not None:
        context = normalise(context) or None
        if context and (len(context) > NOTABLE_CONTEXT_MAX or has_control_characters(context)):
            raise InvalidInput(f"Keep the context under {NOTABLE_CONTEXT_MAX} characters.")
    result = ActionResult()
    next_rank = 0
    if signatures:
        last = select(func.max(Signature.notable_rank)).where(
            Signature.letter_id == signatures[0].letter_id
        )
        next_rank = session.scalar(last) or 0
    for signature in signatures:
        if signature.is_notable == notable and context is None:
            result.skipped.append(signature.id)
            continue
        result.before[signature.id] = signature.is_notable
        signature.is_notable = notable
        if notable:
            if signature.notable_rank is None:
                next_rank += 1
                signature.notable_rank = next_rank
            if context is not None:
                signature.notable_context = context
            if signature.evidence is None:
                # Listed only with evidence: held until an organiser records how they checked.
                signature.quarantined = True
                if NEEDS_EVIDENCE not in signature.review_flags:
                    signature.review_flags = [*signature.review_flags, NEEDS_EVIDENCE]
        else:
            signature.notable_rank = None
        result.after[signature.id] = notable
        result.changed.append(signature.id)
    session.flush()
    return result


#: A review flag: marked notable by an organiser, held until evidence is recorded.
NEEDS_EVIDENCE = "notable-unchecked"


def needs_evidence(signature: Signature) -> bool:
    """A notable signature (marked so, or on the letter's watch-list) without evidence: held,
    and only record_evidence may release it."""
    notable = signature.is_notable or WATCHED_NAME in signature.review_flags
    return notable and signature.evidence is None


@dataclass(frozen=True)
class Evidence:
    """How an organiser checked that a notable signatory really signed."""

    method: EvidenceMethod
    public_url: str | None = None
    note: str | None = None


def record_evidence(
    session: DbSession,
    letter: Letter,
    signature: Signature,
    evidence: Evidence,
    *,
    by: Organiser,
    now: datetime,
) -> NotableEvidence:
    """Record who checked a notable signatory, how and when: the signature is then released
    from review and featured as notable (listed once confirmed), with "verified by the
    organisers", the date and the method. The audit log keeps each review."""
    try:
        url = web_address(evidence.public_url, URL_MAX)
    except ValueError:
        raise InvalidInput("The public link must be a web address (https://...).") from None
    note = normalise(evidence.note) or None
    if note is not None and (len(note) > NOTABLE_CONTEXT_MAX or has_control_characters(note)):
        raise InvalidInput(f"Keep the note under {NOTABLE_CONTEXT_MAX} characters.")
    if signature.state not in (SignatureState.PENDING, SignatureState.VERIFIED):
        raise InvalidInput("Only a signature that stands (pending or confirmed) can be listed.")
    before = {
        "held": signature.quarantined,
        "notable": signature.is_notable,
        "flags": list(signature.review_flags),
    }
    found = signature.evidence or NotableEvidence(signature_id=signature.id)
    found.method = evidence.method
    found.public_url = url
    found.note = note
    found.checked_at = now
    found.checked_by_id = by.id
    found.checked_by_email = by.email
    signature.evidence = found
    if not signature.is_notable:
        set_notable(session, [signature], True)
    # The organisers checked the person: that settles what any soft defence suspected.
    signature.quarantined = False
    signature.review_flags = [
        flag for flag in signature.review_flags if flag not in (NEEDS_EVIDENCE, WATCHED_NAME)
    ]
    session.flush()
    audit.record(
        session,
        by,
        "signatures.notable_evidence",
        letter=letter,
        signature_ids=[signature.id],
        before={str(signature.id): before},
        after={str(signature.id): {"held": False, "notable": True}},
        method=evidence.method.value,
        public_url=url,
    )
    return found


def evidence_queue(session: DbSession, letter: Letter) -> Sequence[Signature]:
    """Notable signatures waiting for evidence (marked notable, or matching the watch-list),
    oldest first: the console's review queue."""
    held = session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.quarantined.is_(True))
        .order_by(Signature.signed_at, Signature.id)
        .limit(500)
    )
    return [signature for signature in held if needs_evidence(signature)]


def order_notables(
    session: DbSession, letter: Letter, ranks: dict[int, int], *, by: Organiser | None
) -> ActionResult:
    """Set the order of notable signatories (1 first)."""
    result = ActionResult()
    signatures = {s.id: s for s in signatures_of(session, letter, list(ranks))}
    for ident, rank in ranks.items():
        signature = signatures.get(ident)
        if signature is None or not signature.is_notable:
            result.skipped.append(ident)
            continue
        if not 1 <= rank <= NOTABLE_RANK_MAX:
            raise InvalidInput("Positions are whole numbers from 1.")
        result.before[ident], result.after[ident] = signature.notable_rank, rank
        signature.notable_rank = rank
        result.changed.append(ident)
    session.flush()
    return record(session, letter, result, "notables.order", by=by)


@dataclass(frozen=True)
class Correction:
    name: str
    title: str
    affiliation: str
    country: str
    notable_context: str | None = None


def correct(
    session: DbSession, signature: Signature, fix: Correction, *, by: Organiser | None
) -> ActionResult:
    """Fix what the public sees (a typo in a name or an affiliation); recorded if it changed
    anything."""
    name, title, affiliation = normalise(fix.name), normalise(fix.title), normalise(fix.affiliation)
    for label, value, limit in (
        ("name", name, NAME_MAX),
        ("title", title, TITLE_MAX),
        ("affiliation", affiliation, AFFILIATION_MAX),
    ):
        if not value or len(value) > limit or has_control_characters(value):
            raise InvalidInput(f"The {label} must be 1 to {limit} printable characters.")
        if has_stacked_marks(value):
            raise InvalidInput(f"{STACKED_MARKS_MESSAGE} ({label})")
    if not is_country_code(fix.country):
        raise InvalidInput("Choose a country from the list.")
    before = _display(signature)
    signature.name, signature.title, signature.country = name, title, fix.country
    signature.name_key = lookalike_key(name)
    if affiliation_key(affiliation) == signature.affiliation.key:
        # The same organisation spelt better ("mit" -> "MIT"): fix it for the whole letter.
        rename(session, signature.affiliation, affiliation)
    else:
        signature.affiliation = affiliation_for(session, signature.letter_id, affiliation)
    if fix.notable_context is not None:
        context = normalise(fix.notable_context) or None
        if context and (len(context) > NOTABLE_CONTEXT_MAX or has_control_characters(context)):
            raise InvalidInput(f"Keep the context under {NOTABLE_CONTEXT_MAX} characters.")
        signature.notable_context = context
    session.flush()
    after = _display(signature)
    changed = {key for key in before if before[key] != after[key]}
    result = ActionResult(
        changed=[signature.id] if changed else [],
        before={signature.id: {k: before[k] for k in changed}},
        after={signature.id: {k: after[k] for k in changed}},
    )
    if changed:
        record(session, signature.letter, result, "signature.correct", by=by)
        if signature.on_behalf:  # its title or affiliation may decide whether it counts
            on_behalf.review_again(session, [signature.letter_id])
    return result


def _display(signature: Signature) -> dict[str, Any]:
    return {
        "name": signature.name,
        "title": signature.title,
        "affiliation": signature.affiliation.name,
        "country": signature.country,
        "notable_context": signature.notable_context,
    }


def resend_confirmations(
    session: DbSession, signatures: Sequence[Signature], settings: SigningSettings
) -> ActionResult:
    """A fresh confirmation email for each pending signature, within its cap."""
    result = ActionResult()
    for signature in signatures:
        if signature.state is SignatureState.PENDING and queue_confirmation_if_allowed(
            session, signature, settings
        ):
            result.changed.append(signature.id)
        else:
            result.skipped.append(signature.id)
    return result


def record(
    session: DbSession,
    letter: Letter,
    result: ActionResult,
    action: str,
    *,
    by: Organiser | None,
    **details: Any,
) -> ActionResult:
    """The audit entry of an action on signatures, in the same transaction; the result."""
    audit.record(
        session,
        by,
        action,
        letter=letter,
        signature_ids=result.changed,
        before=_keyed(result.before),
        after=_keyed(result.after),
        **details,
    )
    return result


def _keyed(values: dict[int, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in values.items()}


# --- bulk actions on the table's ticked signatures ---------------------------------------------


@dataclass(frozen=True)
class BulkInput:
    """What the bulk form gives beside the signatures."""

    reason: str = ""
    #: The notable context (who they are), for "mark as notable".
    context: str | None = None


BulkRun = Callable[
    [DbSession, Letter, Sequence[Signature], BulkInput, SigningSettings], ActionResult
]


@dataclass(frozen=True)
class BulkAction:
    name: str
    #: The least role that may do it.
    role: OrganiserRole
    #: For the menu and the confirmation page: "hide 3 signature(s)".
    words: str
    run: BulkRun
    #: Checks the input before the organiser is asked to confirm, not after.
    check: Callable[[BulkInput], object] = lambda given: None

    @property
    def audit_action(self) -> str:
        return "signatures." + self.name.replace("-", "_")


BULK_ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        BulkAction(
            "approve",
            OrganiserRole.MODERATOR,
            "approve (release from review)",
            lambda session, letter, chosen, given, settings: approve(session, chosen),
        ),
        BulkAction(
            "hide",
            OrganiserRole.MODERATOR,
            "hide",
            lambda session, letter, chosen, given, settings: hide(session, chosen, given.reason),
            check=lambda given: clean_reason(given.reason),
        ),
        BulkAction(
            "unhide",
            OrganiserRole.MODERATOR,
            "show again",
            lambda session, letter, chosen, given, settings: unhide(session, chosen),
        ),
        BulkAction(
            "notable",
            OrganiserRole.MODERATOR,
            "mark as notable",
            lambda session, letter, chosen, given, settings: set_notable(
                session, chosen, True, given.context or None
            ),
        ),
        BulkAction(
            "not-notable",
            OrganiserRole.MODERATOR,
            "unmark as notable",
            lambda session, letter, chosen, given, settings: set_notable(session, chosen, False),
        ),
        BulkAction(
            "resend",
            OrganiserRole.MODERATOR,
            "resend the confirmation email to",
            lambda session, letter, chosen, given, settings: resend_confirmations(
                session, chosen, settings
            ),
        ),
        BulkAction(
            "delete",
            OrganiserRole.OWNER,
            "delete for good",
            lambda session, letter, chosen, given, settings: erase(session, chosen),
        ),
    )
}


def perform_bulk(
    session: DbSession,
    letter: Letter,
    action: BulkAction,
    chosen: Sequence[Signature],
    given: BulkInput,
    *,
    role: OrganiserRole,
    by: Organiser | None,
    settings: SigningSettings,
) -> ActionResult:
    """Do a bulk action the role allows, and record it."""
    if not role.allows(action.role):
        raise NotFound("There is no such action for you on this letter.")
    result = action.run(session, letter, chosen, given, settings)
    return record(
        session,
        letter,
        result,
        action.audit_action,
        by=by,
        reason=given.reason or None,
        skipped=result.skipped,
    )


def invalidate(
    session: DbSession,
    letter: Letter,
    matches: Sequence[Signature],
    reason: str,
    *,
    by: Organiser | None,
    described_by: dict[str, str | None],
) -> ActionResult:
    """Hide a wave of fakes found by domain, address range or time window; recorded with what
    found them."""
    result = hide(session, matches, reason)
    audit.record(
        session,
        by,
        "signatures.invalidate",
        letter=letter,
        signature_ids=result.changed,
        reason=reason,
        **described_by,
    )
    return result


def matching_domain_or_window(
    session: DbSession,
    letter: Letter,
    *,
    domain: str | None,
    signed_from: datetime | None,
    signed_until: datetime | None,
    client_hashes: Sequence[str] = (),
    block_hashes: Sequence[str] = (),
) -> Sequence[Signature]:
    """Listed-or-pending signatures from an email domain and/or a time window, for invalidating
    a wave of fakes at once."""
    if bool(signed_from) != bool(signed_until):
        raise InvalidInput("Give both ends of the time window, or neither.")
    if not domain and not (signed_from and signed_until) and not client_hashes and not block_hashes:
        raise InvalidInput("Give a domain, an address range, or a time window with both ends.")
    query = select(Signature).where(
        Signature.letter_id == letter.id,
        Signature.state.in_([SignatureState.PENDING, SignatureState.VERIFIED]),
    )
    if domain:
        domain = domain.strip().lower().lstrip("@")
        if not domain or "%" in domain or has_control_characters(domain) or len(domain) > 253:
            raise InvalidInput("That is not an email domain.")
        query = query.where(Signature.email_normalized.endswith("@" + domain, autoescape=True))
    if signed_from and signed_until:
        query = query.where(Signature.signed_at >= signed_from, Signature.signed_at < signed_until)
    if client_hashes:
        query = query.where(Signature.client_hash.in_(list(client_hashes)))
    if block_hashes:
        query = query.where(Signature.client_block_hash.in_(list(block_hashes)))
    return session.scalars(query.order_by(Signature.id).limit(BULK_MAX + 1)).all()
