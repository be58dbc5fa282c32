"""Organiser accounts: the CLI, signing in and out, throttling, two factors, idle timeout."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import limiter
from app.models import LetterOrganiser, Organiser, OrganiserRole
from tests.factories import make_letter, make_organiser
from tests.helpers import PASSWORD, csrf_token, log_in


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def test_organisers_create_reads_the_password_from_stdin_and_hashes_it(runner, session) -> None:
    result = runner.invoke(
        args=["organisers", "create", "Chair@Campaign.example", "--password-stdin", "--superuser"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created superuser chair@campaign.example" in result.output
    organiser = session.scalars(select(Organiser)).one()
    assert organiser.is_superuser
    assert organiser.password_hash.startswith("scrypt:")
    assert "a long enough passphrase" not in organiser.password_hash


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("short@campaign.example", "short", "at least 12 characters"),
        ("not-an-email", "a long enough passphrase", "is not an email address"),
    ],
)
def test_organisers_create_explains_what_is_wrong(
    runner, session, email: str, password: str, message: str
) -> None:
    result = runner.invoke(
        args=["organisers", "create", email, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 1
    assert message in result.output
    assert session.scalars(select(Organiser)).all() == []


def test_organisers_create_refuses_duplicates_and_needs_a_password_source(runner, session) -> None:
    make_organiser(session, email="taken@campaign.example")
    duplicate = runner.invoke(
        args=["organisers", "create", "TAKEN@campaign.example", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    no_terminal = runner.invoke(args=["organisers", "create", "new@campaign.example"])
    assert no_terminal.exit_code == 1
    assert "--password-stdin" in no_terminal.output


def test_organisers_list_set_password_and_grant(runner, session) -> None:
    organiser = make_organiser(session, email="mod@campaign.example")
    make_letter(session, slug="granted")
    listed = runner.invoke(args=["organisers", "list"])
    assert "mod@campaign.example\t-\tlast sign-in never" in listed.output
    changed = runner.invoke(
        args=["organisers", "set-password", "mod@campaign.example", "--password-stdin"],
        input="another long passphrase\n",
    )
    assert changed.exit_code == 0, changed.output
    assert organiser.session_version == 2
    granted = runner.invoke(
        args=["organisers", "grant", "mod@campaign.example", "granted", "--role", "moderator"]
    )
    assert granted.exit_code == 0, granted.output
    role = session.scalars(select(LetterOrganiser)).one().role
    assert role is OrganiserRole.MODERATOR
    missing = runner.invoke(args=["organisers", "grant", "nobody@x.example", "granted"])
    assert missing.exit_code == 1


def test_the_command_line_cannot_demote_a_letters_last_owner(runner, session) -> None:
    letter = make_letter(session, slug="owned")
    make_organiser(session, email="only@campaign.example", letters={letter: OrganiserRole.OWNER})
    demoted = runner.invoke(
        args=["organisers", "grant", "only@campaign.example", "owned", "--role", "viewer"]
    )
    assert demoted.exit_code == 1
    assert "needs at least one owner" in demoted.output
    assert session.scalars(select(LetterOrganiser)).one().role is OrganiserRole.OWNER


def test_an_organiser_signs_in_sees_their_letters_and_signs_out(
    client: FlaskClient, session
) -> None:
    mine = make_letter(session, slug="mine", title="My letter")
    make_letter(session, slug="theirs", title="Their letter")
    organiser = make_organiser(session, letters={mine: OrganiserRole.OWNER})

    signed_in = log_in(client, organiser.email)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    page = home.get_data(as_text=True)
    assert home.status_code == 200
    assert "My letter" in page
    assert "Their letter" not in page
    assert home.headers["Cache-Control"] == "no-store"
    assert organiser.last_login_at is not None

    token = csrf_token(client, "/admin/")
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/").status_code == 302


def test_a_superuser_sees_every_letter(client: FlaskClient, session) -> None:
    make_letter(session, slug="one", title="Letter one")
    make_letter(session, slug="two", title="Letter two")
    admin = make_organiser(session, is_superuser=True)
    log_in(client, admin.email)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Letter one" in page and "Letter two" in page


def test_a_wrong_password_and_an_unknown_account_look_the_same(
    client: FlaskClient, session
) -> None:
    organiser = make_organiser(session)
    wrong = log_in(client, organiser.email, "not the password at all")
    unknown = log_in(client, "nobody@campaign.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200

    def message(response) -> str:
        body = response.get_data(as_text=True)
        return body[
            body.index('<p class="error"') : body.index("</p>", body.index('<p class="error"'))
        ]

    assert message(wrong) == message(unknown)
    assert "do not match an organiser account" in message(wrong)
    assert client.get("/admin/").status_code == 302  # not signed in


def test_failed_sign_ins_are_throttled_per_account_whether_it_exists_or_not(
    client: FlaskClient, session
) -> None:
    organiser = make_organiser(session)
    for email in (organiser.email, "nobody@campaign.example"):
        statuses = [log_in(client, email, "wrong password!!").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429], email
    # Even the right password waits: the account is under attack.
    assert log_in(client, organiser.email).status_code == 429


def test_failed_sign_ins_are_throttled_per_address(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "3 per 15 minutes")
    statuses = [
        log_in(client, f"guess{n}@campaign.example", "wrong password!!").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_signing_in_starts_a_fresh_session(client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    log_in(client, organiser.email)
    with client.session_transaction() as after:
        assert "planted" not in after
        assert "_user_id" in after


def test_an_idle_session_ends(app: Flask, client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    log_in(client, organiser.email)
    with client.session_transaction() as stored:
        stored["seen_at"] = time.time() - app.config["ORGANISER_IDLE_TIMEOUT"] - 5
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]
    assert client.get("/admin/").status_code == 302


def test_a_password_change_ends_other_sessions(client: FlaskClient, session, app) -> None:
    from app.accounts import organisers

    organiser = make_organiser(session)
    log_in(client, organiser.email)
    assert client.get("/admin/").status_code == 200
    organisers.set_password(session, organiser, "a brand new passphrase", by=None)
    assert client.get("/admin/").status_code == 302


def test_signing_out_needs_the_form_token(client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    log_in(client, organiser.email)
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/logout").status_code == 405
    assert client.get("/admin/").status_code == 200


def test_next_only_leads_inside_the_console(client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    token = csrf_token(client, "/admin/login")
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"csrf_token": token, "email": organiser.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_two_factor_sign_in(client: FlaskClient, session) -> None:
    organiser = make_organiser(session)
    log_in(client, organiser.email)
    page = client.get("/admin/account/two-factor").get_data(as_text=True)
    secret = page.split('data-testid="totp-secret">')[1].split("<")[0]
    token = csrf_token(client, "/admin/account/two-factor")
    wrong = client.post(
        "/admin/account/two-factor",
        data={"csrf_token": token, "password": PASSWORD, "code": "000000"},
    )
    assert "does not match" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(utcnow())
    enabled = client.post(
        "/admin/account/two-factor",
        data={"csrf_token": token, "password": PASSWORD, "code": code},
    )
    assert enabled.status_code == 303
    assert organiser.totp_secret == secret

    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    first_step = log_in(client, organiser.email)
    assert first_step.headers["Location"] == "/admin/login/code"
    assert client.get("/admin/").status_code == 302  # a password alone is not enough
    token = csrf_token(client, "/admin/login/code")
    bad = client.post("/admin/login/code", data={"csrf_token": token, "code": "123456"})
    assert "not right" in bad.get_data(as_text=True)
    good = client.post(
        "/admin/login/code",
        # The enabling code is used up: sign in with the next one.
        data={"csrf_token": token, "code": pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))},
    )
    assert good.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_the_code_page_without_a_password_first_goes_back_to_sign_in(
    client: FlaskClient,
) -> None:
    response = client.get("/admin/login/code")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/login")
