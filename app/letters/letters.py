"""Letters: creating and editing them (with versions), and finding the ones the public may see."""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.db import DbSession, utcnow
from app.errors import N_, InvalidInput, NotFound
from app.mail.outbox import queue_for_signatures
from app.models import (
    LETTER_TITLE_MAX,
    NAME_MAX,
    SLUG_MAX,
    EmailStatus,
    Letter,
    LetterOrganiser,
    LetterStatus,
    LetterTranslation,
    LetterVersion,
    Organiser,
    OrganiserRole,
    OutboundEmail,
    Signature,
    SignatureState,
)
from app.support.languages import DEFAULT_LANGUAGE, LANGUAGES
from app.support.text import has_control_characters, normalise

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
BODY_MAX = 100_000
#: An email domain as organisers may block one (with its subdomains).
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$")


def create_letter(
    session: DbSession,
    *,
    slug: str,
    title: str,
    body: str,
    status: LetterStatus = LetterStatus.OPEN,
    closes_at: datetime | None = None,
    target: int | None = None,
    embargoed: bool = False,
    organisers_name: str = "",
    language: str = DEFAULT_LANGUAGE,
    now: datetime | None = None,
    by: Organiser | None,
) -> Letter:
    """A new letter with its first version; `by`, the organiser creating it, becomes its owner
    (None: the command line, which owns nothing). Embargoed, it stays hidden from the public
    (but open to invitations) until it is launched (app/letters/founding.py)."""
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX:
        raise InvalidInput(
            f"The slug {slug!r} must be lower-case letters, digits and single hyphens "
            f"(at most {SLUG_MAX} characters), e.g. 'ban-deepfakes'."
        )
    title, body = _checked_text(title, body)
    if closes_at is not None and closes_at.tzinfo is None:
        raise InvalidInput("The closing time needs a time zone (e.g. 2026-12-31T18:00:00+00:00).")
    _check_target(target)
    letter = Letter(
        slug=slug,
        title=title,
        body=body,
        status=status,
        closes_at=closes_at,
        target=target,
        version=1,
        embargoed=embargoed,
        organisers_name=_checked_organisers(organisers_name),
        language=_checked_language(language),
        launched_at=None if embargoed or status is LetterStatus.DRAFT else (now or utcnow()),
    )
    try:
        with session.begin_nested():
            session.add(letter)
    except IntegrityError:
        raise InvalidInput(f"A letter with the slug {slug!r} already exists.") from None
    session.add(
        LetterVersion(
            letter_id=letter.id, number=1, title=title, body=body, sha256=text_sha256(body)
        )
    )
    if by is not None:
        session.add(
            LetterOrganiser(letter_id=letter.id, organiser_id=by.id, role=OrganiserRole.OWNER)
        )
    session.flush()
    audit.record(session, by, "letter.create", letter=letter, slug=letter.slug)
    return letter


def _checked_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"The letter's language must be one of {', '.join(LANGUAGES)}.")
    return language


def _checked_organisers(name: str) -> str:
    name = normalise(name)
    if len(name) > NAME_MAX or has_control_characters(name):
        raise InvalidInput(f"The organisers' name is at most {NAME_MAX} printable characters.")
    return name


def text_sha256(body: str) -> str:
    """The SHA-256 of a letter's text as stored (its UTF-8 bytes), in hex: what anyone gets
    by hashing the file /letters/<slug>/versions/<number>.md serves."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _checked_text(title: str, body: str) -> tuple[str, str]:
    title = normalise(title)
    body = normalise(body, multiline=True)
    if not title or len(title) > LETTER_TITLE_MAX or has_control_characters(title):
        raise InvalidInput(f"The title must be 1 to {LETTER_TITLE_MAX} printable characters.")
    if not body or len(body) > BODY_MAX or has_control_characters(body, multiline=True):
        raise InvalidInput(f"The body must be 1 to {BODY_MAX} characters of Markdown text.")
    return title, body


@dataclass(frozen=True)
class LetterChange:
    """What an edit changed, for the audit log."""

    before: dict[str, object]
    after: dict[str, object]
    new_version: bool


def update_letter(
    session: DbSession,
    letter: Letter,
    *,
    title: str,
    body: str,
    status: LetterStatus,
    closes_at: datetime | None,
    target: int | None,
    now: datetime,
    substantive: bool = False,
    sender_domain: str = "localhost",
    watch_names: list[str] | None = None,
    blocked_domains: list[str] | None = None,
    blocked_ranges: list[str] | None = None,
    milestones: list[int] | None = None,
    organisers_name: str | None = None,
    language: str | None = None,
    by: Organiser | None,
) -> LetterChange:
    """Edit a letter. Once it has signatures, new text becomes a new version (with its own
    SHA-256), so every signature still points at the words its signer agreed to; `substantive`
    says the new text changes what they agreed to (not a correction of typos or links), and
    every verified signer of an earlier version is then asked, by email, to keep or withdraw
    their signature (ask_signers_again). Recorded if anything changed."""
    title, body = _checked_text(title, body)
    if closes_at is not None and closes_at.tzinfo is None:
        raise InvalidInput("The closing time needs a time zone.")
    _check_target(target)
    fields = (
        "title", "body", "status", "closes_at", "target",
        "watch_names", "blocked_domains", "blocked_ranges", "milestones", "organisers_name",
        "language",
    )  # fmt: skip
    before = {name: _plain(getattr(letter, name)) for name in fields}
    text_changed = (title, body) != (letter.title, letter.body)
    new_version = False
    asked = 0
    if text_changed:
        if _has_signatures(session, letter):
            letter.version += 1
            session.add(
                LetterVersion(
                    letter_id=letter.id,
                    number=letter.version,
                    title=title,
                    body=body,
                    sha256=text_sha256(body),
                    substantive=substantive,
                    created_at=now,
                )
            )
            new_version = True
            session.flush()
            if substantive:
                asked = ask_signers_again(session, letter, now=now, sender_domain=sender_domain)
        else:
            current = _version(session, letter, letter.version)
            if current is None:
                session.add(
                    LetterVersion(
                        letter_id=letter.id,
                        number=letter.version,
                        title=title,
                        body=body,
                        sha256=text_sha256(body),
                    )
                )
            else:
                current.title, current.body = title, body
                current.sha256 = text_sha256(body)
    letter.title, letter.body, letter.status = title, body, status
    letter.closes_at, letter.target = closes_at, target
    if letter.launched_at is None and letter.is_public():  # a draft published
        letter.launched_at = now
    if watch_names is not None:
        cleaned = [normalise(name) for name in watch_names]
        if any(len(name) > 200 or has_control_characters(name) for name in cleaned):
            raise InvalidInput("Watch-list names are at most 200 printable characters each.")
        letter.watch_names = sorted({name for name in cleaned if name})[:1000]
    if organisers_name is not None:
        letter.organisers_name = _checked_organisers(organisers_name)
    if language is not None and language != letter.language:
        _checked_language(language)
        if language in translations_of(session, letter):
            raise InvalidInput("Remove the translation into that language first.")
        letter.language = language
    if milestones is not None:
        if any(not 1 <= count <= 100_000_000 for count in milestones) or len(milestones) > 50:
            raise InvalidInput("Milestones are up to 50 whole numbers from 1 to 100,000,000.")
        letter.milestones = sorted(set(milestones))
    if blocked_domains is not None or blocked_ranges is not None:
        letter.blocked_domains, letter.blocked_ranges = clean_blocklists(
            blocked_domains or [], blocked_ranges or []
        )
    session.flush()
    after = {name: _plain(getattr(letter, name)) for name in fields}
    changed = [name for name in fields if before[name] != after[name]]
    change = LetterChange(
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
        new_version=new_version,
    )
    if change.after:
        audit.record(
            session,
            by,
            "letter.edit",
            letter=letter,
            before=change.before,
            after=change.after,
            new_version=letter.version if new_version else None,
            substantive=substantive if new_version else None,
            signers_asked=asked if new_version and substantive else None,
        )
    return change


#: The email asking a signer of an earlier version to keep or withdraw their signature
#: (written at delivery by app/signing/reaffirm.py).
REAFFIRM = "reaffirm"


def ask_signers_again(
    session: DbSession, letter: Letter, *, now: datetime, sender_domain: str
) -> int:
    """Queue the re-affirm email to every verified signer whose signature stands under an
    earlier version than the current one; how many (queue_for_signatures: one statement for
    a million signers)."""
    # One email per signer however many changes of substance follow one another: each is
    # written at delivery against the text of that moment, so the waiting ones are replaced.
    session.execute(
        delete(OutboundEmail)
        .where(
            OutboundEmail.letter_id == letter.id,
            OutboundEmail.kind == REAFFIRM,
            OutboundEmail.status == EmailStatus.QUEUED,
        )
        .execution_options(synchronize_session=False)
    )
    agreed = func.coalesce(Signature.reaffirmed_version, Signature.letter_version)
    return queue_for_signatures(
        session,
        REAFFIRM,
        [
            Signature.letter_id == letter.id,
            Signature.state == SignatureState.VERIFIED,
            agreed < letter.version,
        ],
        context={"version": str(letter.version)},
        now=now,
        sender_domain=sender_domain,
    )


def clean_blocklists(domains: list[str], ranges: list[str]) -> tuple[list[str], list[str]]:
    """Organisers' blocklists, checked: InvalidInput naming the first bad entry."""
    clean_domains = sorted({d.strip().lower().lstrip("@.") for d in domains if d.strip()})
    for domain in clean_domains:
        if not _DOMAIN.match(domain):
            raise InvalidInput(f"{domain!r} is not an email domain (like example.org).")
    clean_ranges = []
    for cidr in (r.strip() for r in ranges if r.strip()):
        try:
            clean_ranges.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError:
            raise InvalidInput(f"{cidr!r} is not an address range (like 203.0.113.0/24).") from None
    return clean_domains[:1000], sorted(set(clean_ranges))[:1000]


def _check_target(target: int | None) -> None:
    if target is not None and not 1 <= target <= 100_000_000:
        raise InvalidInput("The target must be a whole number from 1 to 100,000,000.")


def _plain(value: object) -> object:
    if isinstance(value, LetterStatus):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _has_signatures(session: DbSession, letter: Letter) -> bool:
    return (
        session.scalar(select(Signature.id).where(Signature.letter_id == letter.id).limit(1))
        is not None
    )


def _version(session: DbSession, letter: Letter, number: int) -> LetterVersion | None:
    return session.scalars(
        select(LetterVersion).where(
            LetterVersion.letter_id == letter.id, LetterVersion.number == number
        )
    ).one_or_none()


def versions_of(session: DbSession, letter: Letter) -> Sequence[LetterVersion]:
    """The text's history, newest first."""
    return session.scalars(
        select(LetterVersion)
        .where(LetterVersion.letter_id == letter.id)
        .order_by(LetterVersion.number.desc())
    ).all()


def version_of(session: DbSession, letter: Letter, number: int) -> LetterVersion:
    """One version of the letter's text; NotFound if it has no such version."""
    found = _version(session, letter, number)
    if found is None:
        raise NotFound(N_("This letter has no such version."))
    return found


@dataclass(frozen=True)
class LineChange:
    kind: str  # "added", "removed" or "same"
    text: str


def changes_between(versions: Sequence[LetterVersion]) -> dict[int, list[LineChange]]:
    """For each version but the first, its text's lines against the version before it
    (difflib, line by line): {version number: lines}. `versions` as versions_of gives them."""
    by_number = {version.number: version for version in versions}
    changes: dict[int, list[LineChange]] = {}
    for number, version in by_number.items():
        previous = by_number.get(number - 1)
        if previous is not None:
            changes[number] = diff_lines(previous.body, version.body)
    return changes


def diff_lines(before: str, after: str) -> list[LineChange]:
    """The lines of `after` against `before` (difflib, line by line)."""
    lines = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        marker, text = line[:2], line[2:]
        if marker == "+ ":
            lines.append(LineChange("added", text))
        elif marker == "- ":
            lines.append(LineChange("removed", text))
        elif marker == "  ":
            lines.append(LineChange("same", text))
    return lines


def launch(session: DbSession, letter: Letter, *, by: Organiser | None, now: datetime) -> Letter:
    """Open the letter to everyone: its founding signatures are listed at once, marked as
    initial signatories, and the launch time is recorded."""
    if not letter.embargoed and letter.launched_at is not None:
        raise InvalidInput(
            f"{letter.slug} was launched on {letter.launched_at:%Y-%m-%d %H:%M} UTC."
        )
    letter.embargoed = False
    letter.launched_at = now
    if letter.status is LetterStatus.DRAFT:
        letter.status = LetterStatus.OPEN
    session.flush()
    audit.record(session, by, "letter.launch", letter=letter, launched_at=now.isoformat())
    return letter


def set_embargo(session: DbSession, letter: Letter, *, by: Organiser | None) -> None:
    """Put a letter that was never public under embargo, to gather founding signatories."""
    if letter.embargoed:
        return
    if letter.launched_at is not None:
        raise InvalidInput("A letter that has been public cannot be put under embargo.")
    letter.embargoed = True
    letter.status = LetterStatus.OPEN  # to invitations: the public still sees nothing
    session.flush()
    audit.record(session, by, "letter.embargo", letter=letter)


def translations_of(session: DbSession, letter: Letter) -> dict[str, LetterTranslation]:
    """The letter's translations by language."""
    return {
        translation.language: translation
        for translation in session.scalars(
            select(LetterTranslation).where(LetterTranslation.letter_id == letter.id)
        )
    }


def save_translation(
    session: DbSession,
    letter: Letter,
    *,
    language: str,
    title: str,
    body: str,
    by: Organiser | None,
) -> LetterTranslation:
    """Add or replace the letter's title and text in another language. Recorded."""
    if language not in LANGUAGES or language == letter.language:
        raise InvalidInput("Choose one of the site's languages other than the letter's own.")
    title, body = _checked_text(title, body)
    translation = translations_of(session, letter).get(language)
    if translation is None:
        translation = LetterTranslation(letter_id=letter.id, language=language)
        session.add(translation)
    translation.title, translation.body = title, body
    translation.version = letter.version
    session.flush()
    audit.record(session, by, "letter.translate", letter=letter, language=language)
    return translation


def remove_translation(
    session: DbSession, letter: Letter, language: str, *, by: Organiser | None
) -> None:
    translation = translations_of(session, letter).get(language)
    if translation is None:
        raise NotFound("This letter has no translation in that language.")
    session.delete(translation)
    session.flush()
    audit.record(session, by, "letter.untranslate", letter=letter, language=language)


def find_letter(session: DbSession, slug: str) -> Letter | None:
    return session.scalars(_LETTER_BY_SLUG, {"slug": slug}).one_or_none()


#: Built once: every public request looks its letter up.
_LETTER_BY_SLUG = select(Letter).where(Letter.slug == bindparam("slug"))


def public_letter(session: DbSession, slug: str) -> Letter:
    """A letter the public may see (open or closed, never a draft nor under embargo), or
    NotFound: every public page, feed and API answer starts here."""
    # Anything that cannot be a slug (a NUL byte, say) need not reach the database.
    letter = find_letter(session, slug) if SLUG_PATTERN.match(slug) else None
    if letter is None or not letter.is_public():
        raise NotFound(N_("There is no letter at this address."))
    return letter


def letter_for_link(session: DbSession, slug: str) -> Letter:
    """The letter of a page reached through a link we emailed to one person (an invitation,
    confirm, withdraw, re-affirm, stop the news): public, or under embargo, whose founding
    signatories need these pages too; never a draft. NotFound says only that the link is not
    valid, as a bad token does, so such pages never tell who asks whether a hidden letter
    exists."""
    letter = find_letter(session, slug) if SLUG_PATTERN.match(slug) else None
    if letter is None or not (letter.is_public() or letter.embargoed):
        raise NotFound(N_("This link is not valid."))
    return letter


def open_letters(session: DbSession, *, now: datetime) -> Sequence[Letter]:
    return session.scalars(
        select(Letter)
        .where(
            Letter.status == LetterStatus.OPEN,
            Letter.embargoed.is_(False),
            or_(Letter.closes_at.is_(None), Letter.closes_at > now),
        )
        .order_by(Letter.created_at.desc(), Letter.id.desc())
    ).all()


def all_letters(session: DbSession) -> Sequence[Letter]:
    return session.scalars(select(Letter).order_by(Letter.id)).all()
