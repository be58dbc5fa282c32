"""The signer's whole story through HTTP and a real SMTP server: sign, email, confirm, listed."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import EmailStatus, OutboundEmail, Signature, SignatureState
from tests.conftest import SMTPServer
from tests.factories import make_letter
from tests.helpers import (
    confirm_link,
    csrf_token,
    deliver_mail,
    html_body,
    path_of,
    sign,
    sign_form_token,
    signing_answers,
    text_body,
)


def test_a_signer_signs_confirms_by_email_and_appears_on_the_list(
    app: Flask, client: FlaskClient, runner, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="ban-deepfakes", title="Ban deepfakes")

    response = sign(client, "ban-deepfakes", email="Ada@Example.ORG")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/letters/ban-deepfakes/check-email")
    assert "Check your email" in client.get(response.headers["Location"]).get_data(as_text=True)

    # Stored as pending with its email in the outbox, before any delivery happens.
    signature = session.scalars(select(Signature)).one()
    assert signature.state is SignatureState.PENDING
    assert signature.email_normalized == "ada@example.org"
    assert session.scalar(select(func.count()).select_from(OutboundEmail)) == 1

    stats = deliver_mail(app)
    assert stats.sent == 1
    [email] = mail_to_smtp.recorder.messages
    assert email["To"] == "Ada@example.org"
    assert email["Subject"] == "Confirm your signature: Ban deepfakes"
    assert email["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert email["Message-ID"] and email["Date"]
    assert email["Auto-Submitted"] == "auto-generated"
    link = confirm_link(email)
    assert link in html_body(email)
    assert "University of Cambridge" in text_body(email)

    confirm_path = path_of(link, app.config["BASE_URL"])
    page = client.get(confirm_path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Confirm my signature" in body and "Ada Lovelace" in body and "Ban deepfakes" in body
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    # Mail scanners open links: any number of GETs must change nothing.
    client.get(confirm_path)
    session.refresh(signature)
    assert signature.state is SignatureState.PENDING
    assert "Ada Lovelace" not in client.get(f"/letters/{letter.slug}/signatories").get_data(
        as_text=True
    )

    token = csrf_token(client, confirm_path)
    confirmed = client.post(confirm_path, data={"csrf_token": token})
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"].endswith(confirm_path)
    thanked = client.get(confirm_path).get_data(as_text=True)
    assert "Thank you: your signature is confirmed" in thanked
    assert "/letters/ban-deepfakes/withdraw/" in thanked
    session.refresh(signature)
    assert signature.state is SignatureState.VERIFIED
    assert signature.verified_at is not None

    # Confirming twice is harmless.
    again = client.post(confirm_path, data={"csrf_token": token})
    assert again.status_code == 303
    assert session.scalar(select(func.count()).select_from(Signature)) == 1

    listing = client.get("/letters/ban-deepfakes/signatories").get_data(as_text=True)
    assert "Ada Lovelace" in listing
    assert "University of Cambridge" in listing
    assert "ada@example.org" not in listing.lower()
    letter_page = client.get("/letters/ban-deepfakes").get_data(as_text=True)
    assert '<strong data-testid="verified-count">1</strong>' in letter_page
    assert "Ada Lovelace" in letter_page

    exported = runner.invoke(args=["signatures", "export", "ban-deepfakes", "--format", "csv"])
    assert exported.exit_code == 0
    assert "Ada Lovelace,Ada@example.org,University of Cambridge" in exported.output


def test_links_come_from_base_url_not_from_the_host_header(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="host")
    spoofed = {"Host": "evil.example"}
    token = client.get("/csrf-token", headers=spoofed).json["csrf_token"]
    response = client.post(
        "/letters/host/sign", data={"csrf_token": token, **signing_answers()}, headers=spoofed
    )
    assert response.status_code == 303
    deliver_mail(app)
    [email] = mail_to_smtp.recorder.messages
    assert confirm_link(email).startswith("http://signing.test/letters/host/confirm/")
    assert "evil.example" not in text_body(email) + html_body(email)


def test_the_same_page_appears_whoever_signs_but_the_emails_differ(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="same-page", title="Same page")
    first = sign(client, "same-page")
    deliver_mail(app)
    again_pending = sign(client, "same-page")
    deliver_mail(app)
    assert first.status_code == again_pending.status_code == 303
    assert first.headers["Location"] == again_pending.headers["Location"]
    confirmations = mail_to_smtp.recorder.to("ada@example.org")
    assert [m["Subject"] for m in confirmations] == ["Confirm your signature: Same page"] * 2

    path = path_of(confirm_link(confirmations[0]), app.config["BASE_URL"])
    client.post(path, data={"csrf_token": csrf_token(client, path)})

    already = sign(client, "same-page", name="Someone Else")
    assert already.status_code == 303
    assert already.headers["Location"] == first.headers["Location"]
    deliver_mail(app)
    latest = mail_to_smtp.recorder.to("ada@example.org")[-1]
    assert latest["Subject"] == "You have already signed: Same page"
    assert "/confirm/" not in text_body(latest)
    # The confirmed signature keeps what its owner confirmed.
    assert session.scalars(select(Signature)).one().name == "Ada Lovelace"


def test_confirmation_emails_are_capped_per_signature(
    app: Flask, client: FlaskClient, session
) -> None:
    make_letter(session, slug="capped")
    for _ in range(app.config["MAX_EMAILS_PER_SIGNATURE"] + 3):
        assert sign(client, "capped").status_code == 303
    queued = session.scalar(select(func.count()).select_from(OutboundEmail))
    assert queued == app.config["MAX_EMAILS_PER_SIGNATURE"]


def test_a_second_letter_is_signed_separately_with_the_same_address(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="first")
    make_letter(session, slug="second")
    sign(client, "first")
    sign(client, "second")
    assert session.scalar(select(func.count()).select_from(Signature)) == 2


def test_an_expired_link_says_so_and_sends_a_fresh_one(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer, monkeypatch
) -> None:
    make_letter(session, slug="expiring")
    sign(client, "expiring")
    deliver_mail(app)
    path = path_of(confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"])

    monkeypatch.setitem(app.config, "CONFIRM_MAX_AGE", -1)
    expired = client.get(path)
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    token = csrf_token(client, path)
    # Pressing "confirm" on an expired page does not confirm either.
    assert client.post(path, data={"csrf_token": token}).status_code == 410

    resent = client.post(path + "/resend", data={"csrf_token": token})
    assert resent.status_code == 303
    assert resent.headers["Location"].endswith("/letters/expiring/check-email")
    monkeypatch.setitem(app.config, "CONFIRM_MAX_AGE", 3600)
    deliver_mail(app)
    fresh = path_of(confirm_link(mail_to_smtp.recorder.messages[-1]), app.config["BASE_URL"])
    client.post(fresh, data={"csrf_token": csrf_token(client, fresh)})
    assert session.scalars(select(Signature)).one().state is SignatureState.VERIFIED


def test_tampered_and_foreign_links_get_a_clear_404(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="genuine")
    make_letter(session, slug="other")
    sign(client, "genuine")
    deliver_mail(app)
    path = path_of(confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"])
    token = path.rsplit("/", 1)[1]

    tampered = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert tampered.status_code == 404
    assert "This link is not valid" in tampered.get_data(as_text=True)
    assert client.get("/letters/genuine/confirm/not-a-token").status_code == 404
    # A genuine token used under another letter's address.
    assert client.get(f"/letters/other/confirm/{token}").status_code == 404
    form_token = sign_form_token(client)
    assert (
        client.post(f"/letters/other/confirm/{token}", data={"csrf_token": form_token}).status_code
        == 404
    )
    # A slug PostgreSQL would refuse as a parameter never reaches it.
    assert (
        client.post(f"/letters/%00/confirm/{token}", data={"csrf_token": form_token}).status_code
        == 404
    )
    assert session.scalars(select(Signature)).one().state is SignatureState.PENDING


def test_confirming_without_the_form_token_is_refused(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="csrf")
    sign(client, "csrf")
    deliver_mail(app)
    path = path_of(confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"])
    refused = client.post(path, data={})
    assert refused.status_code == 400
    assert "reload the page" in refused.get_data(as_text=True)
    assert client.post(path + "/resend", data={}).status_code == 400
    assert session.scalars(select(Signature)).one().state is SignatureState.PENDING


def test_mail_is_queued_even_when_no_smtp_server_is_up(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    """A signer who saw "check your email" is not lost to an SMTP outage."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 9)  # nothing listens on discard
    make_letter(session, slug="outage")
    assert sign(client, "outage").status_code == 303
    stats = deliver_mail(app)
    assert stats.deferred == 1
    email = session.scalars(select(OutboundEmail)).one()
    session.refresh(email)
    assert email.status is EmailStatus.QUEUED
    assert email.last_error
    assert session.scalars(select(Signature)).one().state is SignatureState.PENDING


def test_a_failure_while_queueing_the_email_leaves_no_signature_behind(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    flask_app = app
    import pytest

    import app.signing.lifecycle

    def broken_queue(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    make_letter(session, slug="atomic")
    token = sign_form_token(client)
    monkeypatch.setattr(app.signing.lifecycle, "queue_email", broken_queue)
    with pytest.raises(RuntimeError):
        client.post("/letters/atomic/sign", data={"csrf_token": token, **signing_answers()})
    assert session.scalar(select(func.count()).select_from(Signature)) == 0
    assert session.scalar(select(func.count()).select_from(OutboundEmail)) == 0

    # As in production, where errors are not propagated: a friendly 500 page, still nothing kept.
    monkeypatch.setitem(flask_app.config, "PROPAGATE_EXCEPTIONS", False)
    with flask_app.app_context():
        failed = client.post(
            "/letters/atomic/sign", data={"csrf_token": token, **signing_answers()}
        )
    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_too_many_signings_from_one_address_get_a_friendly_429(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    from app.extensions import limiter

    make_letter(session, slug="limited")
    limiter.reset()
    monkeypatch.setitem(app.config, "SIGN_RATE_LIMIT", "3 per minute")
    try:
        statuses = [
            sign(client, "limited", email=f"person{n}@example.org").status_code for n in range(4)
        ]
        assert statuses == [303, 303, 303, 429]
        refused = sign(client, "limited", email="late@example.org")
        # When to come back: at the end of the minute the limit counts.
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        page = refused.get_data(as_text=True)
        assert "Too many requests" in page
        assert "wait a minute" in page
        # Reading the letter is not limited.
        assert client.get("/letters/limited").status_code == 200
        # The limit is per letter: the same address may still sign another one.
        make_letter(session, slug="another-letter")
        assert sign(client, "another-letter", email="late@example.org").status_code == 303
    finally:
        limiter.reset()


def test_a_link_to_a_hidden_signature_can_no_longer_be_used(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="hidden-link")
    sign(client, "hidden-link")
    deliver_mail(app)
    path = path_of(confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"])
    token = csrf_token(client, path)
    signature = session.scalars(select(Signature)).one()
    signature.state = SignatureState.HIDDEN
    session.commit()
    page = client.get(path)
    assert page.status_code == 404
    assert "can no longer be used" in page.get_data(as_text=True)
    assert client.post(path, data={"csrf_token": token}).status_code == 404
    session.refresh(signature)
    assert signature.state is SignatureState.HIDDEN


def test_a_letter_that_closed_before_confirmation_says_so_and_confirms_nothing(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    from app.models import LetterStatus

    letter = make_letter(session, slug="closing")
    sign(client, "closing")
    deliver_mail(app)
    path = path_of(confirm_link(mail_to_smtp.recorder.messages[0]), app.config["BASE_URL"])
    token = csrf_token(client, path)
    letter.status = LetterStatus.CLOSED
    session.commit()
    page = client.get(path).get_data(as_text=True)
    assert "This letter is closed" in page
    assert "Confirm my signature</button>" not in page
    assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert session.scalars(select(Signature)).one().state is SignatureState.PENDING
