"""Soft defences: suspicious signatures are stored but held for review, never refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import limiter
from app.models import OrganiserRole, OutboundEmail, Signature, SignatureState
from app.signing import lifecycle
from app.signing.defences import canonical_email, client_hash
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in, sign


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def _held(session, email: str) -> Signature:
    return session.scalars(select(Signature).where(Signature.email == email)).one()


@pytest.mark.parametrize(
    ("answers", "flag"),
    [
        ({"website": "http://spam.example"}, "honeypot"),
        ({"name": "Cheap pills www.pills.example"}, "url-in-name"),
        ({"name": "Visit https://x.example now"}, "url-in-name"),
        ({"email": "throwaway@mailinator.com"}, "disposable-domain"),
    ],
)
def test_a_suspicious_signature_is_held_yet_looks_accepted(
    client: FlaskClient, session, answers: dict[str, str], flag: str
) -> None:
    make_letter(session, slug="guarded")
    response = sign(client, "guarded", **answers)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/letters/guarded/check-email")
    signature = session.scalars(select(Signature)).one()
    assert signature.quarantined
    assert flag in signature.review_flags
    # The confirmation email still goes out: nothing tells the sender it was caught.
    assert session.scalars(select(OutboundEmail.kind)).all() == ["confirm"]


def test_held_signatures_are_neither_listed_nor_counted_until_approved(
    client: FlaskClient, session, runner
) -> None:
    letter = make_letter(session, slug="held")
    held = make_signature(session, letter=letter, name="Xi Jinping")
    held.quarantined, held.review_flags = True, ["watch"]
    make_signature(session, letter=letter, name="Real Person")
    session.commit()
    assert client.get("/api/letters/held").get_json()["verified_signatures"] == 1
    assert "Xi Jinping" not in client.get("/letters/held/signatories").get_data(as_text=True)
    exported = runner.invoke(args=["signatures", "export", "held", "--format", "csv"])
    assert "Xi Jinping" not in exported.output

    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    overview = client.get("/admin/letters/held").get_data(as_text=True)
    assert 'data-testid="count-held">1<' in overview
    table = client.get("/admin/letters/held/signatures?held=1").get_data(as_text=True)
    assert "Xi Jinping" in table and "Real Person" not in table and "held for review" in table
    token = csrf_token(client, "/admin/letters/held/signatures")
    approved = client.post(
        "/admin/letters/held/signatures/act",
        data={"csrf_token": token, "action": "approve", "ids": [str(held.id)]},
    )
    assert approved.status_code == 303
    assert client.get("/api/letters/held").get_json()["verified_signatures"] == 2


def test_another_spelling_of_a_mailbox_that_signed_is_held(client: FlaskClient, session) -> None:
    make_letter(session, slug="mailbox")
    sign(client, "mailbox", email="ada.lovelace@gmail.com")
    sign(client, "mailbox", email="adalovelace+again@googlemail.com", name="Ada Again")
    second = _held(session, "adalovelace+again@googlemail.com")
    assert "duplicate-mailbox" in second.review_flags
    assert not _held(session, "ada.lovelace@gmail.com").quarantined
    assert canonical_email("A.Da+x@GMail.com") == "ada@gmail.com"
    assert canonical_email("a.da+x@example.org") == "a.da@example.org"


def test_many_signatures_from_one_address_within_minutes_are_held(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="burst")
    for n in range(3):
        assert sign(client, "burst", email=f"person{n}@example.org").status_code == 303
    first, second, third = (_held(session, f"person{n}@example.org") for n in range(3))
    assert not first.quarantined
    assert second.review_flags == ["rate"] and third.review_flags == ["rate"]
    # Only a keyed hash of the address is stored.
    assert first.client_hash and "127.0.0.1" not in first.client_hash


def test_with_rate_limits_off_the_rate_check_is_off_too(app: Flask, session) -> None:
    from app.signing.defences import Clues
    from app.signing.settings import signing_settings

    letter = make_letter(session, slug="bench")
    settings = signing_settings({**app.config, "RATELIMIT_ENABLED": False})
    clues = Clues(client_hash=client_hash("k", "10.0.0.1"))
    for n in range(4):
        answers = lifecycle.SignatureInput(
            name=f"P{n}", email=f"p{n}@example.org", affiliation="A", title="T",
            country="GB", comment=None, is_public=True,
        )  # fmt: skip
        lifecycle.sign(session, letter, answers, settings=settings, now=utcnow(), clues=clues)
    assert not any(s.quarantined for s in session.scalars(select(Signature)))


def test_purge_drops_client_address_hashes_after_30_days(app: Flask, session, runner) -> None:
    letter = make_letter(session, slug="hashes")
    old = make_signature(session, letter=letter, signed_at=utcnow() - timedelta(days=31))
    new = make_signature(session, letter=letter)
    old.client_hash = new.client_hash = "abc"
    session.commit()
    runner.invoke(args=["signatures", "purge"])
    session.refresh(old)
    session.refresh(new)
    assert (old.client_hash, new.client_hash) == (None, "abc")
    assert old.state is SignatureState.VERIFIED


def test_an_ipv4_client_seen_through_ipv6_still_matches_a_blocked_range() -> None:
    from app.signing.defences import _in_blocked_range

    assert _in_blocked_range("::ffff:203.0.113.9", ["203.0.113.0/24"])
    assert not _in_blocked_range("::ffff:192.0.2.1", ["203.0.113.0/24"])
    assert not _in_blocked_range("not an address", ["203.0.113.0/24"])
