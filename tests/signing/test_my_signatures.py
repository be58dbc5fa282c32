"""One link for everything a signer did: the same page whether or not the address signed, one
email to the address, a link that expires and changes nothing until a button is pressed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import limiter
from app.models import Signature, SignatureState, SignerAccess
from app.moderation import retention
from app.signing.settings import signing_settings
from app.signing.tokens import TokenPurpose, make_token
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import csrf_token, deliver_mail, path_of, text_body

LINK = re.compile(r"(https?://\S+/my-signatures/\S+)")


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def _ask(client: FlaskClient, address: str):
    return client.post(
        "/my-signatures",
        data={"csrf_token": csrf_token(client, "/my-signatures"), "email": address},
    )


def test_one_link_lists_every_letter_and_only_buttons_change_anything(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    first = make_letter(session, slug="first", title="First letter")
    second = make_letter(session, slug="second", title="Second letter")
    mine = make_signature(session, letter=first, email="ada@example.org", name="Ada")
    make_signature(session, letter=second, email="ADA@example.org", name="Ada L.")
    make_signature(session, letter=second, email="bob@example.org", name="Bob")

    signed = _ask(client, "ada@example.org")
    unknown = _ask(client, "nobody@example.org")
    assert signed.status_code == unknown.status_code == 200
    assert signed.get_data() == unknown.get_data()  # nothing told about the address
    assert _ask(client, "not an address").status_code == 422

    deliver_mail(app)
    [to_ada] = mail_to_smtp.recorder.to("ada@example.org")
    assert "It has signed 2 letters" in text_body(to_ada)
    [to_nobody] = mail_to_smtp.recorder.to("nobody@example.org")
    assert "has not signed any letter" in text_body(to_nobody)
    path = path_of(LINK.search(text_body(to_ada)).group(1), app.config["BASE_URL"])  # type: ignore[union-attr]

    page = client.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "First letter" in html and "Second letter" in html and "Bob" not in html
    session.refresh(mine)
    assert mine.is_public and not mine.wants_news  # opening changed nothing

    token = csrf_token(client, path)
    for action in ("hide", "news-on"):
        done = client.post(path, data={"csrf_token": token, "signature": mine.id, "action": action})
        assert done.status_code == 303
    session.refresh(mine)
    assert not mine.is_public and mine.wants_news
    bob = session.scalars(select(Signature).where(Signature.name == "Bob")).one()
    other = client.post(path, data={"csrf_token": token, "signature": bob.id, "action": "hide"})
    assert other.status_code == 404  # only this address's signatures
    gone = client.post(path, data={"csrf_token": token, "signature": mine.id, "action": "withdraw"})
    assert gone.status_code == 303
    session.refresh(mine)
    assert mine.state is SignatureState.WITHDRAWN
    assert "First letter" not in client.get(path).get_data(as_text=True)


def test_the_link_expires_and_is_forgotten(app: Flask, client: FlaskClient, session) -> None:
    settings = signing_settings(app.config)
    access = SignerAccess(email_normalized="ada@example.org", created_at=utcnow())
    session.add(access)
    session.commit()
    token = make_token(settings.secret_key, TokenPurpose.MY_SIGNATURES, access.id)
    assert client.get(f"/my-signatures/{token}").status_code == 200
    withdraw_token = make_token(settings.secret_key, TokenPurpose.WITHDRAW, access.id)
    assert client.get(f"/my-signatures/{withdraw_token}").status_code == 404
    retention.purge(
        session,
        now=utcnow() + timedelta(days=2),
        pending_days=14,
        email_days=30,
        access_max_age=settings.my_signatures_max_age,
    )
    session.commit()
    assert session.scalar(select(SignerAccess.id)) is None
    assert client.get(f"/my-signatures/{token}").status_code == 404
