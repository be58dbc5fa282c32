"""Issue 11: bulk actions check `back=` before acting, downloads say their charset once,
affiliations cannot be merged into a cycle, and the team form does not tell who has an account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.affiliations import affiliations
from app.errors import InvalidInput
from app.extensions import limiter
from app.models import Affiliation, AuditEvent, LetterOrganiser, OrganiserRole, SignatureState
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def campaign(session, client: FlaskClient):
    letter = make_letter(session, slug="campaign")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    return letter


# --- `back=` ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "back",
    [
        "/admin/letters/campaign/signatures\r\nSet-Cookie: x=1",
        "/admin/letters/campaign/signatures?q=a\nb",
        "/admin/letters/campaign/signatures/../../other/signatures",
        "//evil.example/admin/letters/campaign/signatures",
        "https://evil.example/admin/letters/campaign/signatures",
    ],
)
def test_a_bad_back_after_a_bulk_action_falls_back_to_the_table(
    client: FlaskClient, session, campaign, back: str
) -> None:
    signature = make_signature(session, letter=campaign)
    token = csrf_token(client, "/admin/letters/campaign/signatures")
    response = client.post(
        "/admin/letters/campaign/signatures/act",
        data={"csrf_token": token, "action": "hide", "ids": [str(signature.id)],
              "reason": "spam", "back": back},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/letters/campaign/signatures"
    session.refresh(signature)
    assert signature.state is SignatureState.HIDDEN


def test_a_good_back_keeps_the_tables_filter(client: FlaskClient, session, campaign) -> None:
    signature = make_signature(session, letter=campaign)
    token = csrf_token(client, "/admin/letters/campaign/signatures")
    back = "/admin/letters/campaign/signatures?state=verified&q=Signer"
    response = client.post(
        "/admin/letters/campaign/signatures/act",
        data={"csrf_token": token, "action": "notable", "ids": [str(signature.id)], "back": back},
    )
    assert response.headers["Location"] == back


# --- downloads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/admin/letters/campaign/signatures/export", "text/csv; charset=utf-8"),
        ("/admin/letters/campaign/signatures/export?format=csv", "text/csv; charset=utf-8"),
        (
            "/admin/letters/campaign/signatures/export?format=json",
            "application/json; charset=utf-8",
        ),
        (
            "/admin/letters/campaign/signatures/export?format=xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("/admin/letters/campaign/audit/export", "text/csv; charset=utf-8"),
        ("/api/letters/campaign", "application/json"),
        ("/api/letters/campaign/signatories", "application/json"),
        ("/csrf-token", "application/json"),
    ],
)
def test_every_download_states_its_content_type_once(
    client: FlaskClient, session, campaign, url: str, content_type: str
) -> None:
    make_signature(session, letter=campaign)
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.headers.getlist("Content-Type") == [content_type]


# --- merging affiliations -----------------------------------------------------------------


def _merge(client: FlaskClient, target: int, ids: list[int]):
    token = csrf_token(client, "/admin/letters/campaign/affiliations")
    return client.post(
        "/admin/letters/campaign/affiliations/merge",
        data={"csrf_token": token, "target": str(target), "ids": [str(i) for i in ids]},
    )


def test_an_affiliation_cannot_be_merged_into_its_own_alias(
    client: FlaskClient, session, campaign
) -> None:
    kept = make_signature(session, letter=campaign, affiliation="University of Oxford").affiliation
    alias = make_signature(session, letter=campaign, affiliation="Oxford Uni").affiliation
    assert _merge(client, kept.id, [alias.id]).status_code == 303

    refused = _merge(client, alias.id, [kept.id])
    assert refused.status_code == 400
    assert "already merged into “University of Oxford”" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Affiliation, kept.id).canonical_id is None
    assert session.get(Affiliation, alias.id).canonical_id == kept.id
    merges = select(AuditEvent).where(AuditEvent.action == "affiliations.merge")
    assert len(session.scalars(merges).all()) == 1


def test_merging_never_makes_a_cycle_of_any_length(session) -> None:
    letter = make_letter(session, slug="cycles")
    a, b, c = (
        make_signature(session, letter=letter, affiliation=name).affiliation
        for name in ("Alpha Institute", "Beta College", "Gamma School")
    )
    affiliations.merge(session, a, [b], new_name=None, by=None)  # B is now an alias of A
    with pytest.raises(InvalidInput, match="already merged into"):
        affiliations.merge(session, b, [a], new_name=None, by=None)  # A into B
    with pytest.raises(InvalidInput, match="already merged into"):
        affiliations.merge(session, b, [c], new_name=None, by=None)  # C into an alias: a chain
    affiliations.merge(session, c, [a], new_name=None, by=None)  # A (with its alias B) into C
    with pytest.raises(InvalidInput, match="already merged into"):
        affiliations.merge(session, a, [c], new_name=None, by=None)  # C back into A: a longer cycle
    rows = {row.id: row.canonical_id for row in session.scalars(select(Affiliation))}
    assert rows == {a.id: c.id, b.id: c.id, c.id: None}


# --- the team form ------------------------------------------------------------------------


def _add_member(client: FlaskClient, email: str):
    token = csrf_token(client, "/admin/letters/campaign/team")
    return client.post(
        "/admin/letters/campaign/team",
        data={"csrf_token": token, "email": email, "role": "viewer"},
        follow_redirects=True,
    )


def _message(page: str) -> str:
    start = page.index('<div class="flash')
    return page[start : page.index("</div>", start)]


def test_adding_a_member_answers_the_same_whether_or_not_the_account_exists(
    client: FlaskClient, session, campaign
) -> None:
    make_organiser(session, email="exists@campaign.example")
    found = _add_member(client, "exists@campaign.example")
    missing = _add_member(client, "missing@campaign.example")
    assert found.status_code == missing.status_code == 200
    assert [r.request.path for r in found.history] == ["/admin/letters/campaign/team"]
    assert [r.request.path for r in missing.history] == ["/admin/letters/campaign/team"]
    same = _message(found.get_data(as_text=True)).replace("exists@", "missing@")
    assert same == _message(missing.get_data(as_text=True))
    assert "no organiser account" not in missing.get_data(as_text=True)
    roles = session.scalars(select(LetterOrganiser).where(LetterOrganiser.letter_id == campaign.id))
    assert sorted(m.role.value for m in roles) == ["owner", "viewer"]
