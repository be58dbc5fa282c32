"""Issue 11, items 9 and 11: the second factor changes only with the password and an unused code,
under the sign-in limits; nobody can lock an owner out; `next=` cannot break a sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts import organisers
from app.db import utcnow
from app.extensions import limiter
from app.models import AuditEvent, Organiser
from tests.factories import make_organiser
from tests.helpers import PASSWORD, csrf_token

TWO_FACTOR = "/admin/account/two-factor"
STRANGER = {"REMOTE_ADDR": "198.51.100.7"}
OWNER = {"REMOTE_ADDR": "203.0.113.20"}


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


def _log_in(client: FlaskClient, email: str, password: str = PASSWORD, *, query: str = ""):
    token = csrf_token(client, "/admin/login")
    return client.post(
        "/admin/login" + query, data={"csrf_token": token, "email": email, "password": password}
    )


def _with_two_factor(session) -> tuple[Organiser, pyotp.TOTP]:
    organiser = make_organiser(session)
    organiser.totp_secret = organisers.new_totp_secret()
    session.commit()
    return organiser, pyotp.TOTP(organiser.totp_secret)


def _sign_in_with_code(client: FlaskClient, organiser: Organiser, code: str, query: str = ""):
    assert _log_in(client, organiser.email, query=query).status_code == 303
    token = csrf_token(client, "/admin/login/code")
    return client.post("/admin/login/code", data={"csrf_token": token, "code": code})


def _two_factor_post(client: FlaskClient, **fields: str):
    return client.post(TWO_FACTOR, data={"csrf_token": csrf_token(client, TWO_FACTOR), **fields})


# --- item 9: turning the second factor off or on ---------------------------------------------


def test_the_code_used_to_sign_in_cannot_turn_the_second_factor_off(client, session) -> None:
    organiser, totp = _with_two_factor(session)
    code = totp.at(utcnow())
    assert _sign_in_with_code(client, organiser, code).status_code == 303
    again = _two_factor_post(client, password=PASSWORD, code=code)
    assert again.status_code == 422
    assert "each works once" in again.get_data(as_text=True)
    assert organiser.totp_secret is not None


def test_turning_the_second_factor_off_needs_the_password(client, session) -> None:
    organiser, totp = _with_two_factor(session)
    assert _sign_in_with_code(client, organiser, totp.at(utcnow())).status_code == 303
    fresh = totp.at(utcnow() + timedelta(seconds=30))
    without = _two_factor_post(client, code=fresh)
    assert without.status_code == 422
    assert "Please enter your password" in without.get_data(as_text=True)
    wrong = _two_factor_post(client, password="not my password at all", code=fresh)
    assert wrong.status_code == 422
    assert "not your password" in wrong.get_data(as_text=True)
    assert organiser.totp_secret is not None

    turned_off = _two_factor_post(client, password=PASSWORD, code=fresh)
    assert turned_off.status_code == 303
    assert organiser.totp_secret is None
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-1] == "account.two_factor_off"


def test_wrong_tries_on_the_two_factor_page_are_throttled_like_sign_in(client, session) -> None:
    organiser, totp = _with_two_factor(session)
    assert _sign_in_with_code(client, organiser, totp.at(utcnow())).status_code == 303
    statuses = [
        _two_factor_post(client, password=PASSWORD, code="000000").status_code for _ in range(30)
    ]
    assert statuses[:5] == [422] * 5
    assert set(statuses[5:]) == {429}
    # The counter is the sign-in one: this account, from this address, is now waiting there too.
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert _log_in(client, organiser.email).status_code == 429
    assert organiser.totp_secret is not None


def test_turning_the_second_factor_on_needs_the_password_and_uses_the_code_up(
    client, session
) -> None:
    organiser = make_organiser(session)
    assert _log_in(client, organiser.email).status_code == 303
    page = client.get(TWO_FACTOR).get_data(as_text=True)
    secret = page.split('data-testid="totp-secret">')[1].split("<")[0]
    code = pyotp.TOTP(secret).at(utcnow())
    wrong = _two_factor_post(client, password="not my password at all", code=code)
    assert wrong.status_code == 422
    assert organiser.totp_secret is None

    assert _two_factor_post(client, password=PASSWORD, code=code).status_code == 303
    assert organiser.totp_secret == secret
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    # The code that turned it on does not sign in as well.
    assert _sign_in_with_code(client, organiser, code).status_code == 200


def test_wrong_passwords_on_the_page_that_turns_the_second_factor_on_are_throttled(
    client, session
) -> None:
    organiser = make_organiser(session)
    assert _log_in(client, organiser.email).status_code == 303
    statuses = [
        _two_factor_post(client, password=f"guess number {n}", code="000000").status_code
        for n in range(7)
    ]
    assert statuses == [422] * 5 + [429] * 2


# --- item 11: nobody can lock an owner out ----------------------------------------------------


def test_a_strangers_failures_do_not_stop_the_owner_signing_in_from_elsewhere(
    app: Flask, session
) -> None:
    organiser = make_organiser(session)
    stranger = app.test_client()
    stranger.environ_base.update(STRANGER)
    statuses = [_log_in(stranger, organiser.email, "a wrong guess!!").status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3  # the guesser's address is throttled
    assert _log_in(stranger, organiser.email).status_code == 429  # even with the right one

    owner = app.test_client()
    owner.environ_base.update(OWNER)
    assert _log_in(owner, organiser.email).status_code == 303


def test_the_owners_own_browser_passes_the_ceiling_that_many_addresses_reach(
    app: Flask, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "6 per hour")
    organiser = make_organiser(session)
    owner = app.test_client()
    owner.environ_base.update(OWNER)
    assert _log_in(owner, organiser.email).status_code == 303  # the browser is known from now on
    owner.post("/admin/logout", data={"csrf_token": csrf_token(owner, "/admin/")})

    statuses = []
    for n in range(4):  # guessers on four addresses, three tries each
        guesser = app.test_client()
        guesser.environ_base.update({"REMOTE_ADDR": f"198.51.100.{n + 10}"})
        for _ in range(3):
            statuses.append(_log_in(guesser, organiser.email, "a wrong guess!!").status_code)
    assert statuses == [200] * 6 + [429] * 6  # the account's ceiling slows them down

    newcomer = app.test_client()  # a browser this account has never signed in from
    newcomer.environ_base.update({"REMOTE_ADDR": "192.0.2.99"})
    assert _log_in(newcomer, organiser.email).status_code == 429
    assert _log_in(owner, organiser.email).status_code == 303


def test_a_known_browser_cookie_for_another_account_does_not_pass_the_ceiling(
    app: Flask, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2 per hour")
    target = make_organiser(session)
    mine = make_organiser(session)
    guesser = app.test_client()
    guesser.environ_base.update(STRANGER)
    assert _log_in(guesser, mine.email).status_code == 303  # known for `mine` only
    statuses = [_log_in(guesser, target.email, "a wrong guess!!").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# --- item 11: `next=` is checked before signing in -------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/admin/%0d%0aSet-Cookie:%20x=1",  # a CR LF, decoded into the target
        "/admin/\tx",
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/admin\\..\\..\\evil.example",
        "/admin/../elsewhere",
        "/elsewhere",
    ],
)
def test_a_bad_next_falls_back_to_the_console_home_without_a_500(
    client: FlaskClient, session, target: str
) -> None:
    from urllib.parse import quote

    organiser = make_organiser(session)
    response = _log_in(client, organiser.email, query="?next=" + quote(target, safe="%"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_good_next_survives_the_code_step_and_a_bad_one_does_not(
    client: FlaskClient, session
) -> None:
    organiser, totp = _with_two_factor(session)
    good = _sign_in_with_code(client, organiser, totp.at(utcnow()), "?next=/admin/audit")
    assert good.headers["Location"] == "/admin/audit"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    code = totp.at(utcnow() + timedelta(seconds=30))
    bad = _sign_in_with_code(client, organiser, code, "?next=/admin/%0d%0aX:%20y")
    assert bad.status_code == 303
    assert bad.headers["Location"] == "/admin/"
