"""Signers withdraw themselves; unconfirmed signatures and old emails are purged."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.db import utcnow
from app.models import OutboundEmail, Signature, SignatureState
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_link, csrf_token, deliver_mail, path_of, sign, text_body

WITHDRAW_LINK = re.compile(r"(https?://\S+/letters/[a-z0-9-]+/withdraw/[A-Za-z0-9_.\-]+)")


def _signed_and_confirmed(app: Flask, client: FlaskClient, smtp: SMTPServer) -> str:
    sign(client, "withdrawable", name="Ada Lovelace", email="ada@example.org")
    deliver_mail(app)
    email = smtp.recorder.messages[-1]
    path = path_of(confirm_link(email), app.config["BASE_URL"])
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    match = WITHDRAW_LINK.search(text_body(email))
    assert match, "the confirmation email carries a withdraw link"
    return path_of(match.group(1), app.config["BASE_URL"])


def test_a_signer_withdraws_with_a_confirming_post_and_gets_a_receipt(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer, runner
) -> None:
    make_letter(session, slug="withdrawable", title="Withdrawable")
    withdraw_path = _signed_and_confirmed(app, client, mail_to_smtp)
    assert client.get("/api/letters/withdrawable").get_json()["verified_signatures"] == 1

    page = client.get(withdraw_path)
    assert page.status_code == 200
    assert "Withdraw my signature" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    client.get(withdraw_path)  # opening it again (a mail scanner) changes nothing
    assert session.scalars(select(Signature)).one().state is SignatureState.VERIFIED

    done = client.post(withdraw_path, data={"csrf_token": csrf_token(client, withdraw_path)})
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/letters/withdrawable/withdrawn")
    marker = session.scalars(select(Signature)).one()
    assert marker.state is SignatureState.WITHDRAWN
    assert (marker.name, marker.email, marker.title, marker.comment) == ("", "", "", None)
    assert "ada" not in marker.email_normalized
    assert (marker.email_canonical, marker.client_hash, marker.client_block_hash) == (
        None,
        None,
        None,
    )
    assert (marker.country, marker.source, marker.review_flags) == ("", None, [])
    assert marker.affiliation.name == "(withdrawn)"
    assert client.get("/api/letters/withdrawable").get_json()["verified_signatures"] == 0
    assert "Ada Lovelace" not in client.get("/letters/withdrawable/signatories").get_data(
        as_text=True
    )
    exported = runner.invoke(args=["signatures", "export", "withdrawable", "--format", "csv"])
    assert "Ada" not in exported.output and "ada@" not in exported.output

    deliver_mail(app)
    receipt = mail_to_smtp.recorder.messages[-1]
    assert receipt["To"] == "ada@example.org"
    assert receipt["Subject"] == "Your signature has been withdrawn: Withdrawable"
    # Only the receipt (now sent) is left in the outbox; nothing else names the signer.
    assert [e.kind for e in session.scalars(select(OutboundEmail))] == ["withdrawn"]
    assert client.get(withdraw_path).status_code == 404  # used up

    # The address is free again: the same person may sign anew.
    assert sign(client, "withdrawable", email="ada@example.org").status_code == 303
    assert session.scalar(select(func.count()).select_from(Signature)) == 2
    again = session.scalars(select(Signature).where(Signature.email == "ada@example.org")).one()
    assert "duplicate-mailbox" not in again.review_flags  # nothing betrays the earlier signature


def test_withdraw_links_are_their_own_kind_of_token(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="withdrawable")
    withdraw_path = _signed_and_confirmed(app, client, mail_to_smtp)
    token = withdraw_path.rsplit("/", 1)[1]
    assert client.get(f"/letters/withdrawable/confirm/{token}").status_code == 404
    confirm_token = path_of(
        confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"]
    ).rsplit("/", 1)[1]
    assert client.get(f"/letters/withdrawable/withdraw/{confirm_token}").status_code == 404
    assert client.get("/letters/withdrawable/withdraw/garbage").status_code == 404
    refused = client.post(withdraw_path, data={})
    assert refused.status_code == 400
    assert session.scalars(select(Signature)).one().state is SignatureState.VERIFIED


def test_purge_deletes_old_unconfirmed_signatures_and_old_emails(
    app: Flask, session, runner
) -> None:
    letter = make_letter(session, slug="retention")
    old = utcnow() - timedelta(days=app.config["PENDING_RETENTION_DAYS"] + 1)
    stale = make_signature(session, letter=letter, state=SignatureState.PENDING, signed_at=old)
    fresh = make_signature(session, letter=letter, state=SignatureState.PENDING)
    confirmed_long_ago = make_signature(session, letter=letter, signed_at=old)
    from app.mail.outbox import queue_email
    from app.models import EmailStatus
    from app.signing.emails import confirmation_for
    from tests.helpers import queue_note

    confirmation = confirmation_for(letter.id, stale.id, stale.email)
    queue_email(session, confirmation, sender_domain="x")
    sent = queue_note(session, to="someone@example.org", subject="s", text="t")
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == sent)
        .values(
            status=EmailStatus.SENT,
            created_at=utcnow() - timedelta(days=app.config["EMAIL_RETENTION_DAYS"] + 1),
        )
    )
    session.commit()

    result = runner.invoke(args=["signatures", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 unconfirmed signatures" in result.output
    remaining = {s.id for s in session.scalars(select(Signature))}
    assert remaining == {fresh.id, confirmed_long_ago.id}
    assert session.scalars(select(OutboundEmail)).all() == []


def test_the_privacy_page_says_what_is_kept_and_for_how_long(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/privacy").get_data(as_text=True)
    assert f"deleted after {app.config['PENDING_RETENTION_DAYS']} days" in page
    assert "withdraw" in page


def test_guessing_links_is_rate_limited(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    from app.extensions import limiter

    make_letter(session, slug="guessed")
    limiter.reset()
    monkeypatch.setitem(app.config, "LINK_PAGE_RATE_LIMIT", "3 per minute")
    try:
        statuses = [client.get(f"/letters/guessed/confirm/guess{n}").status_code for n in range(4)]
        assert statuses == [404, 404, 404, 429]
        refused = client.get("/letters/guessed/withdraw/guess")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    finally:
        limiter.reset()
