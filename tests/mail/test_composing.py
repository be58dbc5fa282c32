"""Mail is data first: the outbox says what to send, the worker writes it when it delivers."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from app.db import utcnow
from app.mail.outbox import queue_email
from app.models import EmailStatus, OutboundEmail, Signature, SignatureState
from app.signing import lifecycle
from app.signing.emails import confirmation_for
from app.signing.settings import signing_settings
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_link, deliver_mail, path_of, sign, text_body


def _stored_text(session, email_id: int) -> str:
    """Every column of the outbox row, as the database holds it (what a backup would show)."""
    row = session.execute(
        text("SELECT * FROM outbound_emails WHERE id = :id"), {"id": email_id}
    ).one()
    return " ".join(str(value) for value in row)


def test_the_outbox_row_holds_what_to_send_and_no_link(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="at-rest")
    assert sign(client, "at-rest", email="ada@example.org").status_code == 303
    [row] = session.scalars(select(OutboundEmail)).all()
    assert (row.kind, row.to_address, row.language) == ("confirm", "ada@example.org", "en")
    stored = _stored_text(session, row.id)
    assert "/confirm/" not in stored and "/withdraw/" not in stored
    assert "Ada Lovelace" not in stored  # the signature holds the name; the row points to it

    deliver_mail(app)
    [message] = mail_to_smtp.recorder.to("ada@example.org")
    # The link minted at delivery works.
    link = confirm_link(message)
    assert client.get(path_of(link, app.config["BASE_URL"])).status_code == 200
    assert "/confirm/" not in _stored_text(session, row.id)


def test_a_retried_message_keeps_its_message_id(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="retried")
    signature = make_signature(session, letter=letter, state=SignatureState.PENDING)
    queue_email(
        session,
        confirmation_for(letter.id, signature.id, signature.email),
        sender_domain="signing.test",
    )
    session.commit()
    [row] = session.scalars(select(OutboundEmail)).all()
    message_id = row.message_id
    mail_to_smtp.recorder.refusals = ["451 4.3.0 Try again later"]
    assert deliver_mail(app).deferred == 1
    session.execute(update(OutboundEmail).values(next_attempt_at=utcnow()))
    session.commit()
    assert deliver_mail(app).sent == 1
    [message] = mail_to_smtp.recorder.messages
    assert message["Message-ID"] == message_id
    assert session.get(OutboundEmail, row.id).message_id == message_id


def test_a_withdrawal_receipt_is_written_with_the_name_after_the_signature_is_cleared(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="receipt", title="Stop deepfakes")
    signature = make_signature(session, letter=letter, name="Zoé Müller", email="zoe@example.org")
    lifecycle.withdraw(session, letter, signature, settings=signing_settings(app.config))
    session.commit()
    assert session.get(Signature, signature.id).name == ""
    [row] = session.scalars(select(OutboundEmail)).all()
    assert row.context == {"name": "Zoé Müller"}

    assert deliver_mail(app).sent == 1
    [receipt] = mail_to_smtp.recorder.to("zoe@example.org")
    body = text_body(receipt)
    assert "Hello Zoé Müller" in body and "Stop deepfakes" in body
    session.expire_all()
    # Sent: the name it carried is not kept.
    assert session.get(OutboundEmail, row.id).context is None


def test_a_message_whose_signature_is_gone_is_marked_failed_not_sent(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="purged")
    old = utcnow().replace(year=utcnow().year - 1)
    signature = make_signature(session, letter=letter, state=SignatureState.PENDING, signed_at=old)
    email_id = queue_email(
        session,
        confirmation_for(letter.id, signature.id, signature.email),
        sender_domain="signing.test",
    )
    session.commit()
    # The signature goes (here by deleting the row itself, as an erasure outside the app
    # might) while its confirmation waits in the queue.
    session.execute(
        update(OutboundEmail).where(OutboundEmail.id == email_id).values(signature_id=None)
    )
    session.delete(session.get(Signature, signature.id))
    session.commit()

    stats = deliver_mail(app)
    assert (stats.sent, stats.failed) == (0, 1)
    assert mail_to_smtp.recorder.messages == []
    session.expire_all()
    row = session.get(OutboundEmail, email_id)
    assert row.status is EmailStatus.FAILED
    assert "gone" in (row.last_error or "")
