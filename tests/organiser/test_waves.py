"""Fighting waves of fakes: a watch-list of names, invalidating by domain or time window,
and an alert when one domain is trending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import utcnow
from app.extensions import limiter
from app.models import AuditEvent, OrganiserRole, Signature, SignatureState
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in, sign, sign_form_token


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def test_a_name_on_the_watch_list_is_held_until_approved(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="watched")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    page = client.get("/admin/letters/watched/edit").get_data(as_text=True)
    assert "Watch-list" in page
    token = csrf_token(client, "/admin/letters/watched/edit")
    client.post(
        "/admin/letters/watched/edit",
        data={"csrf_token": token, "title": letter.title, "body": letter.body, "status": "open",
              "closes_at": "", "target": "", "watch_names": "Xi Jinping\nGeoffrey Hinton\n"},
    )  # fmt: skip
    session.refresh(letter)
    assert letter.watch_names == ["Geoffrey Hinton", "Xi Jinping"]
    sign(client, "watched", name="xi  jinping", email="xi@example.org")
    held = session.scalars(select(Signature).where(Signature.email == "xi@example.org")).one()
    assert held.quarantined and "watch-list" in held.review_flags


def test_invalidating_a_domain_hides_its_signatures_after_a_look(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="wave")
    fakes = [
        make_signature(session, letter=letter, email=f"bot{n}@botfarm.example") for n in range(3)
    ]
    real = make_signature(session, letter=letter, email="ada@uni.example")
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    token = csrf_token(client, "/admin/letters/wave/invalidate?domain=botfarm.example")
    look = client.post(
        "/admin/letters/wave/invalidate",
        data={"csrf_token": token, "domain": "botfarm.example", "reason": "Bot farm"},
    )
    assert 'data-testid="match-count">3<' in look.get_data(as_text=True)
    assert client.get("/api/letters/wave").get_json()["verified_signatures"] == 4
    done = client.post(
        "/admin/letters/wave/invalidate",
        data={
            "csrf_token": token,
            "domain": "botfarm.example",
            "reason": "Bot farm",
            "confirmed": "1",
        },
    )
    assert done.status_code == 303
    assert client.get("/api/letters/wave").get_json()["verified_signatures"] == 1
    for fake in fakes:
        session.refresh(fake)
        assert fake.state is SignatureState.HIDDEN
    session.refresh(real)
    assert real.state is SignatureState.VERIFIED
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signatures.invalidate")
    ).one()
    assert event.signature_ids == sorted(f.id for f in fakes)


def test_invalidating_a_time_window(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="window")
    now = utcnow()
    burst = make_signature(session, letter=letter, signed_at=now - timedelta(minutes=30))
    earlier = make_signature(session, letter=letter, signed_at=now - timedelta(days=2))
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    token = csrf_token(client, "/admin/letters/window/invalidate")
    window = {
        "signed_from": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "signed_until": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    client.post(
        "/admin/letters/window/invalidate",
        data={"csrf_token": token, "reason": "Burst", "confirmed": "1", **window},
    )
    session.refresh(burst)
    session.refresh(earlier)
    assert (burst.state, earlier.state) == (SignatureState.HIDDEN, SignatureState.VERIFIED)
    half = client.post(
        "/admin/letters/window/invalidate",
        data={"csrf_token": token, "reason": "x", "domain": "example.org",
              "signed_from": window["signed_from"]},
    )  # fmt: skip
    assert half.status_code == 422
    assert "both ends of the time window" in half.get_data(as_text=True)
    nothing = client.post(
        "/admin/letters/window/invalidate", data={"csrf_token": token, "reason": "x"}
    )
    assert nothing.status_code == 422
    assert "Give a domain, an address range, or a time window" in nothing.get_data(as_text=True)


def test_the_overview_alerts_when_a_domain_is_trending(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "TRENDING_THRESHOLD", 3)
    letter = make_letter(session, slug="trend")
    for n in range(3):
        make_signature(session, letter=letter, email=f"p{n}@surge.example", signed_at=utcnow())
    make_signature(session, letter=letter, email="calm@quiet.example", signed_at=utcnow())
    viewer = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, viewer.email)
    page = client.get("/admin/letters/trend").get_data(as_text=True)
    assert "Trending in the last hour" in page
    assert "3 new signatures from <strong>@surge.example</strong>" in page
    assert "quiet.example" not in page


def _edit_letter(client: FlaskClient, letter, **fields: str):
    token = csrf_token(client, f"/admin/letters/{letter.slug}/edit")
    data = {"csrf_token": token, "title": letter.title, "body": letter.body, "status": "open",
            "closes_at": "", "target": "", "watch_names": "", "blocked_domains": "",
            "blocked_ranges": ""}  # fmt: skip
    data.update(fields)
    return client.post(f"/admin/letters/{letter.slug}/edit", data=data)


def test_blocked_domains_and_address_ranges_hold_signatures(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="blocked")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    response = _edit_letter(
        client, letter, blocked_domains="@SpamFarm.example\n", blocked_ranges="203.0.113.0/24"
    )
    assert response.status_code == 303
    session.refresh(letter)
    assert (letter.blocked_domains, letter.blocked_ranges) == (
        ["spamfarm.example"],
        ["203.0.113.0/24"],
    )

    sign(client, "blocked", email="a@mx.spamfarm.example")
    from tests.helpers import signing_answers

    other = app.test_client()
    token = sign_form_token(other)
    other.post(
        "/letters/blocked/sign",
        data={"csrf_token": token, **signing_answers(email="b@uni.example")},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    by_email = {s.email: s for s in session.scalars(select(Signature))}
    assert "blocked-domain" in by_email["a@mx.spamfarm.example"].review_flags
    assert "blocked-range" in by_email["b@uni.example"].review_flags
    assert "203.0.113" not in (by_email["b@uni.example"].client_hash or "")


def test_bad_blocklist_entries_are_a_form_error(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="bad-block")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    bad_range = _edit_letter(client, letter, blocked_ranges="not a range")
    assert bad_range.status_code == 422
    assert "is not an address range" in bad_range.get_data(as_text=True)
    bad_domain = _edit_letter(client, letter, blocked_domains="no spaces allowed.example x")
    assert bad_domain.status_code == 422


def _sign_from(app: Flask, address: str, email: str) -> None:
    from tests.helpers import signing_answers

    other = app.test_client()
    environ = {"REMOTE_ADDR": address}
    token = sign_form_token(other)
    response = other.post(
        "/letters/ranges/sign",
        data={"csrf_token": token, **signing_answers(email=email)},
        environ_base=environ,
    )
    assert response.status_code == 303


def test_invalidating_an_address_range_and_the_trending_block_alert(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "TRENDING_THRESHOLD", 3)
    letter = make_letter(session, slug="ranges")
    for n in range(3):
        _sign_from(app, f"198.51.100.{10 + n}", f"farm{n}@example.org")
    _sign_from(app, "192.0.2.7", "elsewhere@example.org")
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, moderator.email)
    overview = client.get("/admin/letters/ranges").get_data(as_text=True)
    assert "3 new signatures from <strong>one address block</strong>" in overview
    assert "198.51.100" not in overview  # addresses are never stored, so never shown

    token = csrf_token(client, "/admin/letters/ranges/invalidate")
    look = client.post(
        "/admin/letters/ranges/invalidate",
        data={"csrf_token": token, "address_range": "198.51.100.0/24", "reason": "Farm"},
    )
    assert 'data-testid="match-count">3<' in look.get_data(as_text=True)
    single = client.post(
        "/admin/letters/ranges/invalidate",
        data={"csrf_token": token, "address_range": "198.51.100.11/32", "reason": "One"},
    )
    assert 'data-testid="match-count">1<' in single.get_data(as_text=True)
    too_wide = client.post(
        "/admin/letters/ranges/invalidate",
        data={"csrf_token": token, "address_range": "10.0.0.0/8", "reason": "x"},
    )
    assert too_wide.status_code == 422
    client.post(
        "/admin/letters/ranges/invalidate",
        data={"csrf_token": token, "address_range": "198.51.100.0/24", "reason": "Farm",
              "confirmed": "1"},
    )  # fmt: skip
    states = {s.email: s.state for s in session.scalars(select(Signature))}
    assert (
        states["elsewhere@example.org"] is SignatureState.VERIFIED
        or states["elsewhere@example.org"] is SignatureState.PENDING
    )
    assert all(states[f"farm{n}@example.org"] is SignatureState.HIDDEN for n in range(3))
