"""Every page that takes an emailed token shares one rate budget per client address (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import limiter
from tests.factories import make_letter
from tests.helpers import sign_form_token


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    limiter.reset()
    yield
    limiter.reset()


def test_guessing_tokens_on_the_resend_button_is_throttled(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    make_letter(session, slug="guessed")
    monkeypatch.setitem(app.config, "LINK_PAGE_RATE_LIMIT", "5 per minute")
    token = sign_form_token(client)
    statuses = [
        client.post(
            f"/letters/guessed/confirm/guess{n}/resend", data={"csrf_token": token}
        ).status_code
        for n in range(8)
    ]
    assert statuses == [404] * 5 + [429] * 3


def test_confirm_resend_and_withdraw_draw_on_one_budget(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    make_letter(session, slug="shared")
    monkeypatch.setitem(app.config, "LINK_PAGE_RATE_LIMIT", "3 per minute")
    token = sign_form_token(client)
    assert client.get("/letters/shared/confirm/guess").status_code == 404
    assert client.get("/letters/shared/withdraw/guess").status_code == 404
    resend = client.post("/letters/shared/confirm/guess/resend", data={"csrf_token": token})
    assert resend.status_code == 404
    again = client.post("/letters/shared/confirm/guess/resend", data={"csrf_token": token})
    assert again.status_code == 429
    assert client.get("/letters/shared/confirm/guess").status_code == 429
    assert client.get("/letters/shared/withdraw/guess").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    assert other.get("/letters/shared/confirm/guess").status_code == 404  # per address
