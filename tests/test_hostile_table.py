"""A table of hostile requests through HTTP: each gets its 4xx, stores nothing, sends nothing,
and leaks no email address."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import AuditEvent, OutboundEmail, Signature, SignatureState
from tests.factories import make_letter, make_signature
from tests.helpers import sign_form_token, signing_answers

SEED_EMAIL = "seed.person@example.org"
TOKEN = "TOKEN"  # replaced by a real form token


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


GOOD = signing_answers()
HOSTILE = [
    # (method, path, form or query, expected status)
    # The form again, answers kept, with a fresh token (see test_bad_input).
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": ""}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": "forged"}, 422),
    ("POST", "/letters/target/sign", {"csrf_token": TOKEN}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "email": "x"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "email": "a@b"}, 422),
    (
        "POST",
        "/letters/target/sign",
        {**GOOD, "csrf_token": TOKEN, "email": "a" * 400 + "@x.org"},
        422,
    ),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "name": "x" * 5000}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "name": "A\x00B"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "name": "\u202eevil"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "name": "\u200b"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "country": "XX"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "country": "' OR 1=1 --"}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "title": ""}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "comment": "c" * 3000}, 422),
    ("POST", "/letters/target/sign", {**GOOD, "csrf_token": TOKEN, "comment": "z" * 100_000}, 413),
    ("POST", "/letters/missing/sign", {**GOOD, "csrf_token": TOKEN}, 404),
    ("POST", "/letters/closed-one/sign", {**GOOD, "csrf_token": TOKEN}, 403),
    ("PUT", "/letters/target/sign", {}, 405),
    ("DELETE", "/letters/target", {}, 405),
    ("GET", "/letters/target/confirm/not-a-token", {}, 404),
    ("GET", "/letters/target/confirm/" + "A" * 5000, {}, 404),
    ("POST", "/letters/target/confirm/not-a-token", {"csrf_token": TOKEN}, 404),
    ("GET", "/letters/target/withdraw/not-a-token", {}, 404),
    ("POST", "/letters/target/withdraw/not-a-token", {"csrf_token": TOKEN}, 404),
    ("POST", "/letters/target/confirm/x/resend", {"csrf_token": TOKEN}, 404),
    ("GET", "/letters/target/signatories", {"cursor": "garbage"}, 400),
    ("GET", "/letters/target/signatories", {"cursor": _b64("2026-01-01T00:00:00+00:00|-1")}, 400),
    (
        "GET",
        "/letters/target/signatories",
        {"cursor": _b64("0001-01-01T00:00:00+00:00|99999999999")},
        400,
    ),
    ("GET", "/letters/target/signatories", {"country": "ß"}, 400),
    ("GET", "/letters/target/signatories", {"q": "\x00"}, 400),
    ("GET", "/api/letters/target/signatories", {"limit": "-1"}, 400),
    ("GET", "/api/letters/target/signatories", {"limit": "99999999999999999999"}, 400),
    ("GET", "/api/letters/target/signatories", {"limit": "1e3"}, 400),
    ("GET", "/api/letters/target/signatories", {"cursor": "%%%"}, 400),
    ("GET", "/api/letters/draft-one", {}, 404),
    ("GET", "/letters/..%2f..%2fetc%2fpasswd", {}, 404),
    ("GET", "/admin/letters/target/signatures", {}, 302),
    (
        "POST",
        "/admin/letters/target/signatures/act",
        {"csrf_token": TOKEN, "action": "delete"},
        302,
    ),
    ("GET", "/admin/letters/target/signatures/export", {"format": "csv"}, 302),
]


@pytest.mark.parametrize(("method", "path", "payload", "status"), HOSTILE)
def test_a_hostile_request_is_refused_cleanly(
    client: FlaskClient, session, method: str, path: str, payload: dict, status: int
) -> None:
    from app.models import LetterStatus

    letter = make_letter(session, slug="target")
    make_letter(session, slug="closed-one", status=LetterStatus.CLOSED)
    make_letter(session, slug="draft-one", status=LetterStatus.DRAFT)
    make_signature(session, letter=letter, email=SEED_EMAIL, name="Seed Person")
    make_signature(
        session, letter=letter, state=SignatureState.PENDING, email="pending.one@example.org"
    )
    before = (
        session.scalar(select(func.count()).select_from(Signature)),
        session.scalar(select(func.count()).select_from(OutboundEmail)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )
    token = sign_form_token(client)
    if method == "GET":
        response = client.get(path, query_string=payload)
    else:
        data = {k: (token if v == TOKEN else v) for k, v in payload.items()}
        response = client.open(path, method=method, data=data)
    assert response.status_code == status, (method, path, response.status_code)
    after = (
        session.scalar(select(func.count()).select_from(Signature)),
        session.scalar(select(func.count()).select_from(OutboundEmail)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )
    assert after == before
    body = response.get_data(as_text=True)
    assert SEED_EMAIL not in body and "pending.one@example.org" not in body
    assert "Traceback" not in body


def test_the_table_is_long_enough() -> None:
    assert len(HOSTILE) >= 30
