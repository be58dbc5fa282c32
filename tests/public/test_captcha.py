"""The optional captcha, verified on our side against a local stand-in of the provider."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.models import Signature
from tests.conftest import free_port
from tests.factories import make_letter
from tests.helpers import sign_form_token, signing_answers

# Cloudflare Turnstile's published test keys: this secret always passes, the other always fails.
PASSING_SECRET = "1x0000000000000000000000000000000AA"
FAILING_SECRET = "2x0000000000000000000000000000000AA"
TEST_SITE_KEY = "1x00000000000000000000AA"


@pytest.fixture
def verify_stub() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Answers like the provider's siteverify endpoint does for its test keys."""
    calls: list[dict[str, str]] = []

    @Request.application
    def siteverify(request: Request) -> Response:
        calls.append(dict(request.form))
        ok = request.form.get("secret") == PASSING_SECRET and bool(request.form.get("response"))
        return Response(json.dumps({"success": ok}), mimetype="application/json")

    port = free_port()
    server = make_server("127.0.0.1", port, siteverify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/siteverify", calls
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def turnstile(app: Flask, monkeypatch, verify_stub):
    url, calls = verify_stub
    monkeypatch.setitem(app.config, "CAPTCHA_PROVIDER", "turnstile")
    monkeypatch.setitem(app.config, "CAPTCHA_SITE_KEY", TEST_SITE_KEY)
    monkeypatch.setitem(app.config, "CAPTCHA_SECRET", PASSING_SECRET)
    monkeypatch.setitem(app.config, "CAPTCHA_VERIFY_URL", url)
    return calls


def _sign(client: FlaskClient, **extra: str):
    token = sign_form_token(client)
    return client.post(
        "/letters/guarded/sign", data={"csrf_token": token, **signing_answers(), **extra}
    )


def test_the_form_carries_the_widget_and_the_policy_allows_it(
    client: FlaskClient, session, turnstile
) -> None:
    make_letter(session, slug="guarded")
    page = client.get("/letters/guarded")
    body = page.get_data(as_text=True)
    assert f'class="cf-turnstile" data-sitekey="{TEST_SITE_KEY}"' in body
    assert "https://challenges.cloudflare.com" in page.headers["Content-Security-Policy"]


def test_a_genuine_answer_signs(client: FlaskClient, session, turnstile) -> None:
    make_letter(session, slug="guarded")
    response = _sign(client, **{"cf-turnstile-response": "XXXX.DUMMY.TOKEN.XXXX"})
    assert response.status_code == 303
    assert turnstile[-1]["secret"] == PASSING_SECRET
    assert turnstile[-1]["remoteip"] == "127.0.0.1"


def test_a_missing_or_rejected_answer_is_a_form_error_and_stores_nothing(
    app: Flask, client: FlaskClient, session, turnstile, monkeypatch
) -> None:
    make_letter(session, slug="guarded")
    missing = _sign(client)
    assert missing.status_code == 422
    assert "Please complete the anti-spam test" in missing.get_data(as_text=True)
    monkeypatch.setitem(app.config, "CAPTCHA_SECRET", FAILING_SECRET)
    rejected = _sign(client, **{"cf-turnstile-response": "XXXX.DUMMY.TOKEN.XXXX"})
    assert rejected.status_code == 422
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_when_the_provider_cannot_be_reached_nothing_is_stored(
    app: Flask, client: FlaskClient, session, turnstile, monkeypatch
) -> None:
    make_letter(session, slug="guarded")
    monkeypatch.setitem(app.config, "CAPTCHA_VERIFY_URL", f"http://127.0.0.1:{free_port()}/x")
    response = _sign(client, **{"cf-turnstile-response": "XXXX.DUMMY.TOKEN.XXXX"})
    assert response.status_code == 422
    assert "could not check the anti-spam test" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_without_a_provider_there_is_no_widget(client: FlaskClient, session) -> None:
    make_letter(session, slug="guarded")
    assert "cf-turnstile" not in client.get("/letters/guarded").get_data(as_text=True)


def test_friendly_captcha_allows_its_one_script_not_the_whole_cdn(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "CAPTCHA_PROVIDER", "friendlycaptcha")
    make_letter(session, slug="guarded")
    policy = client.get("/letters/guarded").headers["Content-Security-Policy"]
    assert "https://cdn.jsdelivr.net/npm/friendly-challenge@" in policy
    assert "https://cdn.jsdelivr.net " not in policy and "frame-src 'none'" in policy
