"""Wrong, missing, oversized and hostile input: a clear error, the answers kept, nothing written,
never a 500."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from app.db import utcnow
from app.models import LetterStatus, OutboundEmail, Signature
from config import TestingConfig
from tests.factories import make_letter, make_signature
from tests.helpers import CSRF_PATTERN, confirm_signature, sign, sign_form_token, signing_answers


def _nothing_written(session) -> bool:
    signatures = session.scalar(select(func.count()).select_from(Signature))
    emails = session.scalar(select(func.count()).select_from(OutboundEmail))
    return signatures == 0 and emails == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Please enter your full name."),
        ("name", "   ", "Please enter your full name."),
        ("name", "x" * 201, "Please keep your name under 200 characters."),
        ("name", "Ada\x00Lovelace", "invisible control characters"),
        ("name", "Ada \u202eecalevoL", "invisible control characters"),
        ("email", "", "Please enter your email address."),
        ("email", "not-an-email", "An email address must have an @-sign."),
        ("email", "ada@localhost", "The part after the @-sign is not valid"),
        ("email", "a" * 310 + "@example.org", "That email address is too long."),
        ("affiliation", "", "Please enter your organisation"),
        ("title", "", "Please enter your title or role."),
        ("country", "", "Please choose your country."),
        ("country", "XX", "Please choose a country from the list."),
        ("country", "<script>", "Please choose a country from the list."),
        ("comment", "y" * 2001, "Please keep your comment under 2000 characters."),
        ("comment", "fine\x07bell", "invisible control characters"),
    ],
)
def test_a_bad_answer_re_renders_the_form_with_the_error_and_the_input_kept(
    client: FlaskClient, session, field: str, value: str, message: str
) -> None:
    make_letter(session, slug="bad-input")
    response = sign(client, "bad-input", **{field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'class="error-summary"' in page
    # What the person typed in the other fields is still there.
    if field != "affiliation":
        assert 'value="University of Cambridge"' in page
    if field != "name":
        assert 'value="Ada Lovelace"' in page
    assert _nothing_written(session)


def test_a_missing_field_is_an_error_not_a_crash(client: FlaskClient, session) -> None:
    make_letter(session, slug="missing")
    token = sign_form_token(client)
    response = client.post("/letters/missing/sign", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Please enter your full name." in response.get_data(as_text=True)
    assert _nothing_written(session)


def test_input_is_trimmed_and_unicode_normalised(client: FlaskClient, session) -> None:
    make_letter(session, slug="nfc")
    decomposed = "Zoe\u0301 Bro\u0308nte"  # e + combining acute, o + combining diaeresis
    response = sign(client, "nfc", name=f"  {decomposed}  ", affiliation="  ETH Zürich ")
    assert response.status_code == 303
    signature = session.scalars(select(Signature)).one()
    assert signature.name == "Zoé Brönte"
    assert signature.affiliation.name == "ETH Zürich"


def test_html_in_answers_is_shown_as_text_never_run(client: FlaskClient, session, app) -> None:
    from app.models import SignatureState

    letter = make_letter(session, slug="xss")
    sign(client, "xss", name="<script>alert(1)</script>", affiliation="<b>Evil</b> Corp")
    signature = session.scalars(select(Signature)).one()
    confirm_signature(session, app, signature)
    assert signature.state is SignatureState.VERIFIED
    page = client.get(f"/letters/{letter.slug}/signatories").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Evil&lt;/b&gt; Corp" in page


def test_an_oversized_body_gets_413(client: FlaskClient, session) -> None:
    make_letter(session, slug="huge")
    token = sign_form_token(client)
    response = client.post(
        "/letters/huge/sign",
        data={"csrf_token": token, **signing_answers(comment="z" * 200_000)},
    )
    assert response.status_code == 413
    assert "larger than any form here accepts" in response.get_data(as_text=True)
    assert _nothing_written(session)


def test_a_post_without_a_valid_token_or_origin_gets_the_form_back_and_loses_nothing(
    client: FlaskClient, session
) -> None:
    """A client that sends neither Sec-Fetch-Site nor Origin (an old browser) must bring the
    token; without a good one it gets its answers back with a fresh token."""
    make_letter(session, slug="no-csrf")
    for token in ("", "forged"):
        response = client.post(
            "/letters/no-csrf/sign", data={**signing_answers(), "csrf_token": token}
        )
        assert response.status_code == 422
        assert _nothing_written(session)
        page = response.get_data(as_text=True)
        assert "please press the button again" in page
        assert 'value="Ada Lovelace"' in page
        # This page carries a token of this visitor's own, so it is nobody else's to cache.
        assert response.headers["Cache-Control"] == "no-store"
        fresh = CSRF_PATTERN.search(page)
        assert fresh is not None
        again = client.post(
            "/letters/no-csrf/sign",
            data={**signing_answers(), "csrf_token": fresh.group(1) or fresh.group(2)},
        )
        assert again.status_code == 303
        session.execute(delete(OutboundEmail))
        session.execute(delete(Signature))
        session.commit()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost"},
    ],
    ids=["other-origin", "null-origin", "cross-site", "same-site"],
)
def test_a_form_posted_from_another_site_is_refused_without_echoing_it(
    client: FlaskClient, session, headers
) -> None:
    make_letter(session, slug="forged")
    token = sign_form_token(client)  # even with this visitor's own token
    response = client.post(
        "/letters/forged/sign",
        data={**signing_answers(name="Forged Name"), "csrf_token": token},
        headers=headers,
    )
    assert response.status_code == 403
    assert _nothing_written(session)
    page = response.get_data(as_text=True)
    assert "Forged Name" not in page
    assert "sent from another site" in page


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://signing.test"}],
    ids=["sec-fetch-site", "origin"],
)
def test_a_browser_that_says_the_form_is_ours_needs_no_token(
    client: FlaskClient, session, headers
) -> None:
    """Without JavaScript the cached page's form has no token; modern browsers prove its origin."""
    make_letter(session, slug="no-js")
    response = client.post("/letters/no-js/sign", data=signing_answers(), headers=headers)
    assert response.status_code == 303
    assert session.scalar(select(func.count()).select_from(Signature)) == 1


def test_unknown_and_draft_letters_are_404(client: FlaskClient, session) -> None:
    make_letter(session, slug="secret-draft", status=LetterStatus.DRAFT)
    for url in ("/letters/nope", "/letters/secret-draft", "/letters/secret-draft/signatories"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "There is no letter at this address." in response.get_data(as_text=True)
    make_letter(session, slug="open-one")
    token = sign_form_token(client)
    posted = client.post("/letters/nope/sign", data={"csrf_token": token, **signing_answers()})
    assert posted.status_code == 404
    assert _nothing_written(session)


@pytest.mark.parametrize("how", ["status", "closing time"])
def test_a_closed_letter_shows_a_notice_and_refuses_signatures(
    client: FlaskClient, session, how: str
) -> None:
    if how == "status":
        make_letter(session, slug="closed", status=LetterStatus.CLOSED)
    else:
        make_letter(session, slug="closed", closes_at=utcnow() - timedelta(minutes=1))
    page = client.get("/letters/closed")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "This letter is closed" in body
    assert 'action="/letters/closed/sign"' not in body
    make_letter(session, slug="open-one")
    token = sign_form_token(client)
    refused = client.post("/letters/closed/sign", data={"csrf_token": token, **signing_answers()})
    assert refused.status_code == 403
    assert "no longer takes signatures" in refused.get_data(as_text=True)
    assert _nothing_written(session)


def test_a_wrong_method_gets_a_clear_405(client: FlaskClient, session) -> None:
    make_letter(session, slug="method")
    response = client.put("/letters/method/sign")
    assert response.status_code == 405


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
