"""After a change of substance, every verified signer of an earlier version is asked once, by
email with the difference, to keep or withdraw their signature; opening the link changes
nothing; the list, the API, exports and the history page say who stands under which text."""

from __future__ import annotations

import csv
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.letters import letters
from app.models import OrganiserRole, OutboundEmail, Signature, SignatureState
from app.signing.settings import signing_settings
from app.signing.tokens import TokenPurpose, make_token
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, deliver_mail, html_body, log_in, path_of, text_body

BODY = "We call for laws against deepfakes.\n\nSigned by researchers."
REAFFIRM_LINK = re.compile(r"(https?://\S+/reaffirm/\S+)")


def _reaffirm_emails(session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "reaffirm")
        )
    )


def _edit_in_console(client: FlaskClient, slug: str, body: str, kind: str) -> None:
    url = f"/admin/letters/{slug}/edit"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "title": "Ban deepfakes",
            "body": body,
            "status": "open",
            "edit_kind": kind,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_signers_are_asked_once_and_only_a_button_keeps_or_withdraws(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="changed", title="Ban deepfakes", body=BODY)
    keeper = make_signature(session, letter=letter, name="Ada Keeper", email="ada@example.org")
    leaver = make_signature(session, letter=letter, name="Bob Leaver", email="bob@example.org")
    make_signature(session, letter=letter, name="Carol Silent", email="carol@example.org")
    make_signature(
        session, letter=letter, email="pending@example.org", state=SignatureState.PENDING
    )
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)

    _edit_in_console(client, "changed", BODY.replace("laws", "strict laws"), "correction")
    assert _reaffirm_emails(session) == 0  # a correction asks nobody
    _edit_in_console(client, "changed", BODY.replace("laws", "binding laws"), "substance")
    assert _reaffirm_emails(session) == 3  # the verified signers, not the pending one

    deliver_mail(app)
    [to_ada] = mail_to_smtp.recorder.to("ada@example.org")
    assert to_ada["Subject"] == "The text you signed has changed: Ban deepfakes"
    text = text_body(to_ada)
    assert "- We call for laws against deepfakes." in text  # from the text they signed
    assert "+ We call for binding laws against deepfakes." in text
    assert "binding laws" in html_body(to_ada)
    assert not mail_to_smtp.recorder.to("pending@example.org")
    links = {
        message["To"]: REAFFIRM_LINK.search(text_body(message)).group(1)  # type: ignore[union-attr]
        for message in mail_to_smtp.recorder.messages
        if message["Subject"].startswith("The text you signed")
    }
    ada_path = path_of(links["ada@example.org"], app.config["BASE_URL"])
    bob_path = path_of(links["bob@example.org"], app.config["BASE_URL"])

    # A mail scanner opening the link (GET, HEAD) changes nothing.
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    page = client.get(ada_path)
    client.head(ada_path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    shown = page.get_data(as_text=True)
    assert (
        "binding laws" in shown
        and "Keep my signature" in shown
        and "Withdraw my signature" in shown
    )
    session.refresh(keeper)
    assert keeper.reaffirmed_version is None and keeper.state is SignatureState.VERIFIED

    kept = client.post(ada_path, data={"csrf_token": csrf_token(client, ada_path), "keep": "y"})
    assert kept.status_code == 303
    session.refresh(keeper)
    assert keeper.reaffirmed_version == 3 and keeper.letter_version == 1
    assert "Your signature stays" in client.get(ada_path).get_data(as_text=True)

    gone = client.post(bob_path, data={"csrf_token": csrf_token(client, bob_path), "withdraw": "y"})
    assert gone.status_code == 303 and gone.headers["Location"].endswith(
        "/letters/changed/withdrawn"
    )
    session.refresh(leaver)
    assert leaver.state is SignatureState.WITHDRAWN
    assert client.get(bob_path).status_code == 404  # nothing left to keep

    # The API and list say which text each signature stands under.
    items = {
        item["name"]: item
        for item in client.get("/api/letters/changed/signatories").get_json()["items"]
    }
    current = letters.version_of(session, letter, 3).sha256
    assert items["Ada Keeper"]["version"] == 3 and items["Ada Keeper"]["reaffirmed"] is True
    assert items["Ada Keeper"]["text_sha256"] == current
    assert items["Carol Silent"]["version"] == 1 and items["Carol Silent"]["reaffirmed"] is False
    assert items["Carol Silent"]["text_sha256"] == letters.version_of(session, letter, 1).sha256
    listing = client.get("/letters/changed/signatories").get_data(as_text=True)
    assert "text version 3, re-affirmed" in listing and "text version 1" in listing
    history = client.get("/letters/changed/history").get_data(as_text=True)
    assert re.search(r'data-testid="signatures-3">1 confirmed signature stands', history)
    assert re.search(r'data-testid="signatures-1">1 confirmed signature stands', history)


def test_exports_say_which_version_each_signature_agreed_to(runner, session) -> None:
    letter = make_letter(session, slug="exported", body=BODY)
    signature = make_signature(session, letter=letter, name="Ada")
    letters.update_letter(
        session, letter, title=letter.title, body=BODY + "\nMore.", status=letter.status,
        closes_at=None, target=None, now=utcnow(), substantive=True, by=None,
    )  # fmt: skip
    signature.reaffirmed_version = 2
    session.commit()
    result = runner.invoke(args=["signatures", "export", "exported", "--format", "csv"])
    [row] = list(csv.DictReader(io.StringIO(result.output)))
    assert (row["text_version"], row["reaffirmed_version"]) == ("1", "2")


def test_a_reaffirm_link_works_only_for_its_letter_and_purpose(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="mine", body=BODY)
    make_letter(session, slug="theirs")
    signature = make_signature(session, letter=letter)
    settings = signing_settings(app.config)
    token = make_token(settings.secret_key, TokenPurpose.REAFFIRM, signature.id)
    assert client.get(f"/letters/mine/reaffirm/{token}").status_code == 200
    assert client.get(f"/letters/theirs/reaffirm/{token}").status_code == 404
    withdraw_token = make_token(settings.secret_key, TokenPurpose.WITHDRAW, signature.id)
    assert client.get(f"/letters/mine/reaffirm/{withdraw_token}").status_code == 404
    # Without its form token, a POST changes nothing.
    assert client.post(f"/letters/mine/reaffirm/{token}", data={"withdraw": "y"}).status_code == 400
    assert session.scalar(select(Signature.state).where(Signature.id == signature.id)) is (
        SignatureState.VERIFIED
    )


def test_several_changes_of_substance_ask_each_signer_once(session) -> None:
    letter = make_letter(session, slug="twice", body=BODY)
    make_signature(session, letter=letter, email="ada@example.org")
    for text in ("First change.", "Second change."):
        letters.update_letter(
            session, letter, title=letter.title, body=BODY + text, status=letter.status,
            closes_at=None, target=None, now=utcnow(), substantive=True, by=None,
        )  # fmt: skip
    session.commit()
    assert _reaffirm_emails(session) == 1
