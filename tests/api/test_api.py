"""The JSON API: public fields only, cursor pagination, JSON errors."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from app.db import utcnow
from app.models import LetterStatus, SignatureState
from tests.factories import make_letter, make_signature


def test_a_letter_as_json(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="api", title="API letter")
    make_signature(session, letter=letter)
    make_signature(session, letter=letter, is_public=False)
    make_signature(session, letter=letter, state=SignatureState.PENDING)
    data = client.get("/api/letters/api").get_json()
    assert data["slug"] == "api"
    assert data["title"] == "API letter"
    assert data["status"] == "open"
    assert data["verified_signatures"] == 2
    assert data["accepting_signatures"] is True
    assert data["signatories"] == "/api/letters/api/signatories"


def test_signatories_as_json_never_include_emails(app: Flask, client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="api-list")
    moment = utcnow() - timedelta(hours=1)
    for number in range(5):
        make_signature(
            session,
            letter=letter,
            name=f"Person {number}",
            email=f"person{number}@example.org",
            country="FR",
            verified_at=moment + timedelta(minutes=number),
        )
    first = client.get("/api/letters/api-list/signatories?limit=3")
    assert first.status_code == 200
    data = first.get_json()
    assert [item["name"] for item in data["items"]] == ["Person 4", "Person 3", "Person 2"]
    assert set(data["items"][0]) == {
        "name",
        "title",
        "affiliation",
        "affiliation_verified",
        "organisation",
        "country",
        "signed_at",
        "text_sha256",
        "version",
        "reaffirmed",
        "initial",
        "imported",
        "source",
    }
    assert data["items"][0]["country"] == "FR"
    assert "example.org" not in first.get_data(as_text=True)
    rest = client.get(f"/api/letters/api-list/signatories?limit=3&cursor={data['next']}").get_json()
    assert [item["name"] for item in rest["items"]] == ["Person 1", "Person 0"]
    assert rest["next"] is None


def test_api_errors_are_json(client: FlaskClient, session) -> None:
    make_letter(session, slug="api-errors")
    make_letter(session, slug="api-draft", status=LetterStatus.DRAFT)
    for url, status in [
        ("/api/letters/missing", 404),
        ("/api/letters/api-draft", 404),
        ("/api/letters/api-draft/signatories", 404),
        ("/api/letters/api-errors/signatories?cursor=broken", 400),
        ("/api/letters/api-errors/signatories?limit=0", 400),
        ("/api/letters/api-errors/signatories?limit=1000", 400),
        ("/api/letters/api-errors/signatories?limit=abc", 400),
        ("/api/letters/api-errors/signatories?limit=%C2%B2", 400),
        ("/api/letters/api-errors/signatories?country=Narnia", 400),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        assert response.is_json, url
        assert response.get_json()["error"], url
