"""Every console address: anonymous visitors go to sign-in; an organiser of letter A gets 404
for anything of letter B."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import limiter
from app.models import OrganiserRole, SignatureState
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in

SIGN_IN_PAGES = {"organiser.login", "organiser.login_code"}


def _console_rules(app: Flask) -> list[tuple[str, str, set[str]]]:
    return [
        (rule.endpoint, rule.rule, set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and rule.endpoint not in SIGN_IN_PAGES
    ]


def _url(rule: str, slug: str, signature_id: int) -> str:
    url = rule.replace("<slug>", slug).replace("<int:signature_id>", str(signature_id))
    url = url.replace("<int:organiser_id>", "1").replace("<int:organisation_id>", "1")
    url = url.replace("<int:affiliation_id>", "1").replace("<int:invitation_id>", "1")
    url = url.replace("<int:update_id>", "1").replace("<int:response_id>", "1")
    url = url.replace("<language>", "fr")
    assert "<" not in url, f"{rule}: teach this test the new URL part"
    return url


def test_there_are_console_routes_to_check(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in _console_rules(app)}
    expected = {
        "organiser.home",
        "organiser.signatures",
        "organiser.act",
        "organiser.export_signatures",
        "organiser.audit_log",
        "organiser.import_signatures",
        "organiser.merge_affiliations",
    }
    assert expected <= endpoints


def test_every_console_address_sends_anonymous_visitors_to_sign_in(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="a")
    signature = make_signature(session, letter=letter)
    for endpoint, rule, methods in _console_rules(app):
        url = _url(rule, "a", signature.id)
        for method in methods:
            response = client.open(url, method=method)
            assert response.status_code in (302, 400), (endpoint, method, response.status_code)
            if response.status_code == 302:
                assert "/admin/login" in response.headers["Location"], (endpoint, method)
            else:  # a POST stopped by the missing form token first: still nothing done
                assert method == "POST"
    session.refresh(signature)
    assert signature.state is SignatureState.VERIFIED


def test_an_organiser_of_one_letter_cannot_reach_another_letters_data(
    app: Flask, client: FlaskClient, session
) -> None:
    limiter.reset()
    mine = make_letter(session, slug="mine")
    theirs = make_letter(session, slug="theirs")
    their_signature = make_signature(session, letter=theirs)
    my_signature = make_signature(session, letter=mine)
    owner = make_organiser(session, letters={mine: OrganiserRole.OWNER})
    log_in(client, owner.email)
    token = csrf_token(client, "/admin/")
    checked = 0
    for endpoint, rule, methods in _console_rules(app):
        if "<slug>" not in rule:
            continue
        for slug, signature_id in (("theirs", their_signature.id), ("mine", their_signature.id)):
            if slug == "mine" and "<int:signature_id>" not in rule:
                continue  # my own letter's pages are mine to see
            if "<int:organiser_id>" in rule and slug == "mine":
                continue  # my own letter's pages are mine to see
            url = _url(rule, slug, signature_id)
            for method in methods:
                data = {"csrf_token": token, "action": "hide", "reason": "x",
                        "ids": [str(their_signature.id)], "target": "1"}  # fmt: skip
                response = client.open(url, method=method, data=data if method == "POST" else None)
                assert response.status_code == 404, (endpoint, method, slug, response.status_code)
                checked += 1
    assert checked >= 15
    session.refresh(their_signature)
    assert their_signature.state is SignatureState.VERIFIED
    # And my own letter works, so the 404s above are about the letter, not a broken page.
    assert client.get(f"/admin/letters/mine/signatures/{my_signature.id}").status_code == 200


@pytest.mark.parametrize("role", [OrganiserRole.VIEWER, OrganiserRole.MODERATOR])
def test_lesser_roles_do_not_reach_owner_pages(client: FlaskClient, session, role) -> None:
    limiter.reset()
    letter = make_letter(session, slug="team")
    member = make_organiser(session, letters={letter: role})
    log_in(client, member.email)
    assert client.get("/admin/letters/team/edit").status_code == 404
    expected = 404 if role is OrganiserRole.VIEWER else 200
    assert client.get("/admin/letters/team/import").status_code == expected
