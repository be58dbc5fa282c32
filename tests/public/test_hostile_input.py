"""Hostile input found in review: each once gave a 500 or slipped through."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import Signature
from config import TestingConfig
from tests.factories import make_letter, make_signature
from tests.helpers import sign, signing_answers


def _cursor(raw: str) -> str:
    """A well-formed cursor around hostile contents."""
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "url",
    [
        "/letters/a%00",
        "/letters/a%00/signatories",
        "/letters/a%00/withdrawn",
        "/letters/a%00/check-email",
        "/api/letters/a%00",
        "/api/letters/a%00/signatories",
        "/letters/%E2%80%AE%00x",
    ],
)
def test_a_nul_byte_in_a_letter_address_is_a_404(client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("prefix", ["/letters/nul/signatories", "/api/letters/nul/signatories"])
@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=a%00b",
        "country=%C3%9F",  # "ß".upper() is "SS", which is South Sudan's code
        "country=G%00",
        "cursor="
        + base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|99999999999999999999").decode(),
        "cursor=" + base64.urlsafe_b64encode(b"2026-01-01T00:00:00+05:00|5").decode(),
        "cursor=" + base64.urlsafe_b64encode(b"2026-01-01T00:00:00|5").decode(),
        "cursor=" + base64.urlsafe_b64encode(b"9999-12-31T23:59:59-23:59|5").decode(),
        "cursor=" + "A" * 5000,
    ],
)
def test_hostile_list_parameters_are_a_400(
    client: FlaskClient, session, prefix: str, query: str
) -> None:
    make_letter(session, slug="nul")
    response = client.get(f"{prefix}?{query}")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]


def test_a_long_search_is_cut_not_refused(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="long-search")
    make_signature(session, letter=letter, name="Findable")
    response = client.get("/letters/long-search/signatories?q=" + "x" * 10_000)
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["\u200b\u200b", "Ada\u200bLovelace", "Ada\u00ad", "\ufeffAda"])
def test_invisible_format_characters_are_refused_in_names(
    client: FlaskClient, session, name: str
) -> None:
    make_letter(session, slug="invisible")
    response = sign(client, "invisible", name=name)
    assert response.status_code == 422
    assert session.scalars(select(Signature)).all() == []


def test_joiners_that_scripts_need_are_kept(client: FlaskClient, session) -> None:
    make_letter(session, slug="joiners")
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # with a non-joiner
    assert sign(client, "joiners", name=persian).status_code == 303


def test_an_internationalised_domain_is_stored_in_ascii_and_a_non_ascii_mailbox_refused(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="idn")
    assert sign(client, "idn", email="ada@exämple.org").status_code == 303
    assert session.scalars(select(Signature)).one().email == "ada@xn--exmple-cua.org"
    refused = sign(client, "idn", email="üser@example.org")
    assert refused.status_code == 422
    assert "before the @-sign" in refused.get_data(as_text=True)


def test_behind_a_proxy_each_client_address_gets_its_own_signing_budget(session) -> None:
    from app import create_app
    from app.extensions import limiter

    proxied = create_app(TestingConfig, PROXY_HOPS=1, SIGN_RATE_LIMIT="2 per minute")
    make_letter(session, slug="proxied")
    limiter.reset()
    try:

        def post_from(address: str, number: int) -> int:
            client = proxied.test_client()
            headers = {"X-Forwarded-For": address}
            token = client.get("/csrf-token", headers=headers).json["csrf_token"]
            return client.post(
                "/letters/proxied/sign",
                data={"csrf_token": token, **signing_answers(email=f"p{number}@example.org")},
                headers=headers,
            ).status_code

        assert [post_from("203.0.113.7", n) for n in range(3)] == [303, 303, 429]
        assert post_from("198.51.100.9", 9) == 303
    finally:
        limiter.reset()
