"""Organiser accounts and who may do what on which letter."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from functools import cache

import pyotp
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit
from app.db import DbSession
from app.errors import InvalidInput, NotFound
from app.letters.letters import SLUG_PATTERN, find_letter
from app.models import EMAIL_MAX, Letter, LetterOrganiser, Organiser, OrganiserRole
from app.support.identifiers import is_row_id, whole_number
from app.support.text import mailbox_key

PASSWORD_MIN = 12
PASSWORD_MAX = 256


@cache
def _dummy_hash() -> str:
    """Checked against when the account does not exist, so both cases take the same time.
    Made on first use: hashing costs every process start (each worker, each CLI run) 0.1 s."""
    return generate_password_hash("not a password of anyone's")


def check_password_strength(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"The password must be at least {PASSWORD_MIN} characters long.")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"The password must be at most {PASSWORD_MAX} characters long.")


def create_organiser(
    session: DbSession,
    *,
    email: str,
    password: str,
    is_superuser: bool = False,
    by: Organiser | None,
) -> Organiser:
    """A new account; `by` None is the command line."""
    login = mailbox_key(email)
    if "@" not in login or len(login) > EMAIL_MAX:
        raise InvalidInput(f"{email!r} is not an email address.")
    check_password_strength(password)
    organiser = Organiser(
        email=login, password_hash=generate_password_hash(password), is_superuser=is_superuser
    )
    try:
        with session.begin_nested():
            session.add(organiser)
    except IntegrityError:
        raise InvalidInput(f"An organiser with the email {login} already exists.") from None
    audit.record(session, by, "account.create", account=login, superuser=is_superuser)
    return organiser


def organiser_by_session_id(session: DbSession, session_id: str) -> Organiser | None:
    """The organiser a login session names ("id:version"), if it is still valid."""
    ident, _, version = session_id.partition(":")
    organiser_id = whole_number(ident)
    if organiser_id is None or not version.isascii() or not version.isdigit():
        return None
    organiser = session.get(Organiser, organiser_id)
    if organiser is None or str(organiser.session_version) != version:
        return None
    return organiser


def find_organiser(session: DbSession, email: str) -> Organiser | None:
    return session.scalars(
        select(Organiser).where(Organiser.email == mailbox_key(email))
    ).one_or_none()


def set_password(
    session: DbSession, organiser: Organiser, password: str, *, by: Organiser | None
) -> None:
    check_password_strength(password)
    organiser.password_hash = generate_password_hash(password)
    organiser.session_version += 1  # signs out every other session
    session.flush()
    audit.record(session, by, "account.set_password", account=organiser.email)


def authenticate(session: DbSession, email: str, password: str) -> Organiser | None:
    """The organiser if the password is right; None otherwise, taking the same time either way."""
    organiser = find_organiser(session, email)
    if organiser is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return organiser if check_password_hash(organiser.password_hash, password) else None


def record_login(
    session: DbSession, organiser: Organiser, *, now: datetime, address: str | None
) -> None:
    """A sign-in, from `address` (kept in the account's audit log)."""
    organiser.last_login_at = now
    session.flush()
    audit.record(session, organiser, "account.sign_in", address=address)


def all_organisers(session: DbSession) -> Sequence[Organiser]:
    return session.scalars(select(Organiser).order_by(Organiser.email)).all()


# --- second factor ---------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    # One step either side forgives a phone clock that is a little off.
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


class WrongPassword(InvalidInput):
    """The password given to confirm an account change is not the account's."""


class WrongCode(InvalidInput):
    """The second-factor code is not right, or has been used already."""


def _unused_step(organiser: Organiser, secret: str, code: str, now: datetime) -> int:
    """The time step `code` belongs to, if it is right for `secret` and newer than any code this
    account has used: each code works once, wherever it is typed."""
    step = _matching_step(secret, code, now)
    if step is None or (organiser.totp_last_step is not None and step <= organiser.totp_last_step):
        raise WrongCode("That code is not right. Codes change every 30 seconds; each works once.")
    return step


def use_totp_code(session: DbSession, organiser: Organiser, code: str, *, now: datetime) -> bool:
    """Check a sign-in code and use it up: the same code never works twice."""
    if not organiser.totp_secret:
        return False
    try:
        organiser.totp_last_step = _unused_step(organiser, organiser.totp_secret, code, now)
    except WrongCode:
        return False
    session.flush()
    return True


def end_sessions(session: DbSession, organiser: Organiser) -> None:
    """Sign out everywhere: cookies from before stop working (sessions live in cookies)."""
    organiser.session_version += 1
    session.flush()
    audit.record(session, organiser, "account.sign_out")


def _check_password(organiser: Organiser, password: str) -> None:
    if not check_password_hash(organiser.password_hash, password):
        raise WrongPassword("That is not your password.")


def enable_totp(
    session: DbSession,
    organiser: Organiser,
    secret: str,
    *,
    password: str,
    code: str,
    now: datetime,
) -> None:
    """Turn the second factor on: the password (someone with a borrowed session must not lock
    the owner out with a phone of theirs) and a code from the new key, which is then used up."""
    _check_password(organiser, password)
    if organiser.totp_secret:
        raise InvalidInput("Two-factor sign-in is already on.")
    try:
        step = _unused_step(organiser, secret, code, now)
    except WrongCode:
        raise WrongCode(
            "That code does not match. Check the time on your phone and try again."
        ) from None
    organiser.totp_secret = secret
    organiser.totp_last_step = step
    session.flush()
    audit.record(session, organiser, "account.two_factor_on")


def disable_totp(
    session: DbSession, organiser: Organiser, *, password: str, code: str, now: datetime
) -> None:
    """Turn the second factor off: the password and a code never used before, not even to sign
    in (a session alone, or a code seen over a shoulder, is not enough)."""
    _check_password(organiser, password)
    if not organiser.totp_secret:
        raise InvalidInput("Two-factor sign-in is already off.")
    _unused_step(organiser, organiser.totp_secret, code, now)
    organiser.totp_secret = None
    organiser.totp_last_step = None
    session.flush()
    audit.record(session, organiser, "account.two_factor_off")


# --- roles -----------------------------------------------------------------------------------


def role_on(session: DbSession, organiser: Organiser, letter: Letter) -> OrganiserRole | None:
    if organiser.is_superuser:
        return OrganiserRole.OWNER
    return session.scalar(
        select(LetterOrganiser.role).where(
            LetterOrganiser.letter_id == letter.id, LetterOrganiser.organiser_id == organiser.id
        )
    )


def letter_for(
    session: DbSession,
    organiser: Organiser,
    slug: str,
    needed: OrganiserRole = OrganiserRole.VIEWER,
) -> tuple[Letter, OrganiserRole]:
    """The letter and the organiser's role on it; NotFound unless the role is at least `needed`.

    Not found, rather than forbidden: an organiser of letter A learns nothing about letter B.
    """
    letter = find_letter(session, slug) if SLUG_PATTERN.match(slug) else None
    role = role_on(session, organiser, letter) if letter is not None else None
    if letter is None or role is None or not role.allows(needed):
        raise NotFound("There is no letter of yours at this address.")
    return letter, role


def letters_of(session: DbSession, organiser: Organiser) -> Sequence[tuple[Letter, OrganiserRole]]:
    if organiser.is_superuser:
        letters = session.scalars(select(Letter).order_by(Letter.created_at.desc())).all()
        return [(letter, OrganiserRole.OWNER) for letter in letters]
    rows = session.execute(
        select(Letter, LetterOrganiser.role)
        .join(LetterOrganiser, LetterOrganiser.letter_id == Letter.id)
        .where(LetterOrganiser.organiser_id == organiser.id)
        .order_by(Letter.created_at.desc())
    ).all()
    return [(letter, role) for letter, role in rows]


def _other_owners(session: DbSession, letter: Letter, organiser_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LetterOrganiser)
            .where(
                LetterOrganiser.letter_id == letter.id,
                LetterOrganiser.role == OrganiserRole.OWNER,
                LetterOrganiser.organiser_id != organiser_id,
            )
        )
        or 0
    )


_LAST_OWNER = "A letter needs at least one owner; make someone else owner first."


def grant(session: DbSession, letter: Letter, organiser: Organiser, role: OrganiserRole) -> None:
    existing = session.get(LetterOrganiser, (letter.id, organiser.id))
    if existing is None:
        session.add(LetterOrganiser(letter_id=letter.id, organiser_id=organiser.id, role=role))
    else:
        if (
            existing.role is OrganiserRole.OWNER
            and role is not OrganiserRole.OWNER
            and not _other_owners(session, letter, organiser.id)
        ):
            raise InvalidInput(_LAST_OWNER)
        existing.role = role
    session.flush()


def change_role(
    session: DbSession,
    letter: Letter,
    member: Organiser,
    role: OrganiserRole,
    *,
    by: Organiser | None,
) -> None:
    """Give a member a role on a letter and log who did (by None: the command line)."""
    before = role_on(session, member, letter)
    grant(session, letter, member, role)
    audit.record(
        session,
        by,
        "team.grant",
        letter=letter,
        member=member.email,
        before=before.value if before else None,
        after=role.value,
    )


def team_of(session: DbSession, letter: Letter) -> Sequence[LetterOrganiser]:
    return session.scalars(
        select(LetterOrganiser)
        .where(LetterOrganiser.letter_id == letter.id)
        .order_by(LetterOrganiser.role)
    ).all()


def remove_from_team(
    session: DbSession, letter: Letter, organiser_id: int, *, by: Organiser | None
) -> LetterOrganiser:
    """Take an organiser off a letter; a letter always keeps at least one owner."""
    membership = (
        session.get(LetterOrganiser, (letter.id, organiser_id)) if is_row_id(organiser_id) else None
    )
    if membership is None:
        raise NotFound("That organiser is not on this letter's team.")
    if membership.role is OrganiserRole.OWNER and not _other_owners(session, letter, organiser_id):
        raise InvalidInput(_LAST_OWNER)
    session.delete(membership)
    session.flush()
    audit.record(
        session,
        by,
        "team.remove",
        letter=letter,
        member=membership.organiser.email,
        before=membership.role.value,
    )
    return membership
