"""The same defence on a path and on its twin: one mailbox key wherever an address is counted,
one budget for check a list on its page and in the API, the emails capped rather than the
owner locked out, and the truth about hidden signatures in the my-signatures email."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import limiter
from app.models import OutboundEmail, SignatureState
from app.support.text import mailbox_key
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import csrf_token, deliver_mail, text_body


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def _ask(client: FlaskClient, address: str, client_address: str = "198.51.100.1"):
    client.environ_base["REMOTE_ADDR"] = client_address
    return client.post(
        "/my-signatures",
        data={"csrf_token": csrf_token(client, "/my-signatures"), "email": address},
    )


def _emails(session) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboundEmail)) or 0)


@pytest.mark.parametrize(
    "spelling",
    ["victim@\uff4dailbox.example", "\uff56ictim@mailbox.example", " VICTIM@Mailbox.Example "],
)
def test_one_mailbox_has_one_key_however_it_is_spelt(spelling: str) -> None:
    assert mailbox_key(spelling) == mailbox_key("victim@mailbox.example")


def test_strangers_asking_for_an_address_cap_its_emails_and_never_lock_its_owner_out(
    app: Flask, client: FlaskClient, session
) -> None:
    spellings = ["victim@mailbox.example", "victim@\uff4dailbox.example", "VICTIM@mailbox.example"]
    # Four strangers, each within their own client's budget, all for one mailbox.
    for n in range(4):
        for spelling in spellings[: 1 + n % 3]:
            assert _ask(client, spelling, f"203.0.113.{n}").status_code == 200
    capped = app.config["MY_SIGNATURES_EMAILS_PER_HOUR"]
    assert _emails(session) == capped
    # The owner, from their own client: the same page as ever (no 429); no more mail this hour.
    owner = _ask(client, "victim@mailbox.example", "192.0.2.7")
    assert owner.status_code == 200
    assert owner.get_data() == _ask(client, "someone.else@example.org", "192.0.2.7").get_data()
    assert _emails(session) == capped + 1  # someone else's email went


def test_check_a_list_has_one_budget_on_its_page_and_in_the_api(
    app: Flask, client: FlaskClient, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CHECK_RATE_LIMIT", "3 per minute")
    make_letter(session, slug="budget")
    session.commit()
    page = "/letters/budget/check"

    def on_the_page():
        return client.post(page, data={"csrf_token": csrf_token(client, page), "names": "Ada"})

    def in_the_api():
        return client.post("/api/letters/budget/check", json={"names": ["Ada"]})

    assert [on_the_page().status_code, in_the_api().status_code, on_the_page().status_code] == [
        200,
        200,
        200,
    ]
    assert in_the_api().status_code == 429
    assert on_the_page().status_code == 429


def test_the_email_tells_a_signer_whose_signature_was_hidden(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="hid")
    hidden = make_signature(session, letter=letter, email="ada@example.org")
    hidden.state = SignatureState.HIDDEN
    session.commit()
    assert _ask(client, "ada@example.org").status_code == 200
    deliver_mail(app)
    [email] = mail_to_smtp.recorder.to("ada@example.org")
    body = text_body(email)
    assert "has not signed any letter" not in body
    assert "On 1 letter the organisers hid its signature" in body
    assert "/my-signatures/" in body


def test_what_the_check_form_promises_fits_in_a_request(client: FlaskClient, session) -> None:
    # 500 names of 200 characters, in Cyrillic (each character 6 bytes in a form), and in a
    # script outside the first plane (12 bytes each, in a form and in JSON).
    make_letter(session, slug="long-list")
    session.commit()
    page = "/letters/long-list/check"
    for letter in ("\u0416", "\U00020000"):
        names = [letter * 200] * 500
        form = {"csrf_token": csrf_token(client, page), "names": "\n".join(names)}
        assert client.post(page, data=form).status_code == 200
        api = client.post("/api/letters/long-list/check", json={"names": names})
        assert api.status_code == 200, api.get_data(as_text=True)[:200]
