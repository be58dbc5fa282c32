"""Check a list (journalists) and the honest count (everyone): what the page and the API say,
and what they never reveal."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.models import SignatureState
from app.organisations.registry import OrganisationInput, save_organisation
from tests.factories import make_letter, make_signature
from tests.helpers import csrf_token

CYRILLIC_A = "\u0430"


def _letter(session):
    letter = make_letter(session, slug="checked")
    save_organisation(
        session, OrganisationInput("DeepMind", ["deepmind.com"], "industry", "GB"), by=None
    )
    save_organisation(
        session, OrganisationInput("OpenAI", ["openai.com"], "industry", "US"), by=None
    )
    session.commit()
    make_signature(session, letter=letter, name="Barack Obama", affiliation="Citizen")
    make_signature(session, letter=letter, name=f"B{CYRILLIC_A}rack Obama", affiliation="Fake Org")
    make_signature(session, letter=letter, name="Demis Hassabis", affiliation="DeepMind")
    make_signature(session, letter=letter, name="Mira Private", affiliation="OpenAI",
                   is_public=False)  # fmt: skip
    make_signature(session, letter=letter, name="Sam Pending", affiliation="OpenAI",
                   state=SignatureState.PENDING)  # fmt: skip
    make_signature(session, letter=letter, name="Ilya Withdrawn", affiliation="OpenAI",
                   state=SignatureState.WITHDRAWN)  # fmt: skip
    make_signature(session, letter=letter, name="Held Person", affiliation="Acme Labs")
    make_signature(session, letter=letter, name="Quiet One", affiliation="Quiet NGO",
                   is_public=False)  # fmt: skip
    held = make_signature(session, letter=letter, name="Yann Held", affiliation="Acme Labs")
    held.quarantined = True
    make_signature(session, letter=letter, name="Hidden Fake", state=SignatureState.HIDDEN)
    session.commit()
    return letter


def test_the_api_checks_names_with_look_alikes_and_organisations(
    client: FlaskClient, session
) -> None:
    _letter(session)
    response = client.post(
        "/api/letters/checked/check",
        json={
            "names": [
                "barack OBAMA",
                "Demis Hassabis",
                "Mira Private",
                "Sam Pending",
                "Yann Held",
                "Nobody Here",
            ],
            "organisations": ["deepmind", "openai.com", "Acme Labs", "Unknown Inc", "Quiet NGO"],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    names = {item["query"]: item for item in data["names"]}
    assert names["barack OBAMA"]["signed"] is True
    assert names["barack OBAMA"]["matches"] == [
        {"name": "Barack Obama", "affiliation": "Citizen", "exact": True},
        {"name": f"B{CYRILLIC_A}rack Obama", "affiliation": "Fake Org", "exact": False},
    ]
    assert names["Demis Hassabis"]["signed"] is True
    # Only listed signatures are ever matched: not private, pending, held or withdrawn ones.
    for query in ("Mira Private", "Sam Pending", "Yann Held", "Nobody Here"):
        assert names[query] == {"query": query, "signed": False, "matches": []}
    organisations = {item["query"]: item for item in data["organisations"]}
    assert organisations["deepmind"] == {
        "query": "deepmind", "name": "DeepMind", "verified": 0, "stated": 1
    }  # fmt: skip
    assert organisations["openai.com"] == {
        "query": "openai.com", "name": "OpenAI", "verified": 0, "stated": 0
    }  # fmt: skip
    assert organisations["Acme Labs"] == {
        "query": "Acme Labs", "name": "Acme Labs", "verified": 0, "stated": 1
    }  # fmt: skip
    assert organisations["Unknown Inc"]["name"] is None
    # Named only by people who are not listed: as unknown as a name nobody typed.
    assert organisations["Quiet NGO"] == {
        "query": "Quiet NGO", "name": None, "verified": 0, "stated": 0
    }  # fmt: skip
    assert "@" not in response.get_data(as_text=True)


def test_bad_checks_get_a_clear_error(client: FlaskClient, session) -> None:
    _letter(session)
    for body in (
        {"names": "not a list"},
        {"names": [1, 2]},
        {"names": ["x" * 201]},
        {"names": ["a\u202eb"]},
        {"names": [f"Person {n}" for n in range(300)], "organisations": ["Org"] * 201},
        {},
        [],
    ):
        response = client.post("/api/letters/checked/check", json=body)
        assert response.status_code == 400, body
        assert "error" in response.get_json()
    assert client.post("/api/letters/checked/check", data="{").status_code == 400
    # Hostile JSON: nested past Python's recursion limit, or a lone surrogate.
    deep = "[" * 5000 + "]" * 5000
    response = client.post("/api/letters/checked/check", data=deep, content_type="application/json")
    assert response.status_code == 400
    for field in ("names", "organisations"):
        response = client.post(
            "/api/letters/checked/check",
            data='{"' + field + '": ["\\ud800 x"]}',
            content_type="application/json",
        )
        assert response.status_code == 400, field
    assert client.post("/api/letters/nowhere/check", json={"names": ["A"]}).status_code == 404


def test_the_check_page(client: FlaskClient, session) -> None:
    _letter(session)
    page = client.get("/letters/checked/check")
    assert page.status_code == 200
    token = csrf_token(client, "/letters/checked/check")
    response = client.post(
        "/letters/checked/check",
        data={
            "csrf_token": token,
            "names": "Barack Obama\nNobody Here\n",
            "organisations": "DeepMind",
        },
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Barack Obama" in text
    assert "near match" in text
    assert "Not found among the listed signatories" in text
    too_many = client.post(
        "/letters/checked/check",
        data={"csrf_token": token, "names": "\n".join(f"P {n}" for n in range(501))},
    )
    assert too_many.status_code == 422
    assert "at most 500" in too_many.get_data(as_text=True)


def test_the_integrity_line_counts_without_names(client: FlaskClient, session) -> None:
    _letter(session)
    data = client.get("/api/letters/checked").get_json()
    assert data["integrity"] == {
        "listed": 6,  # Obama, his look-alike, Hassabis, Held Person and the two private ones
        "withdrawn": 1,
        "hidden": 1,
        "held": 1,
        "unconfirmed": 1,
        "imported": 0,
    }
    page = client.get("/letters/checked").get_data(as_text=True)
    line = page[page.index('data-testid="integrity"') :][:600]
    assert f"{data['integrity']['listed']} counted" in line  # the page says what the API says
    assert "1 withdrawn by their signers" in line
    assert "1 hidden by the organisers" in line
    assert "1 held for review" in line
    assert "1 never confirmed" in line
    assert "Yann Held" not in page
