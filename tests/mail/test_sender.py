"""The mail worker: real SMTP on loopback, retries with backoff, no message sent twice."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.db import db, utcnow
from app.mail.composing import ComposedEmail
from app.mail.outbox import Outgoing, queue_email
from app.mail.sender import (
    LEASE,
    MAX_ATTEMPTS,
    ConsoleTransport,
    Delivery,
    SMTPTransport,
    backoff,
    claim_batch,
    claim_statement,
    deliver,
    run_worker,
    smtp_settings,
)
from app.models import EmailStatus, OutboundEmail, SignatureState
from app.signing.emails import confirmation_for
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import NOTES, queue_note


def _queue(session, count: int = 1, to: str = "reader@example.org") -> list[int]:
    ids = []
    for number in range(count):
        queued = queue_note(
            session,
            to=to,
            subject=f"Message {number}",
            text=f"Plain {number} http://signing.test/letters/x/confirm/tok{number}",
            html=f"<p>HTML {number}</p>",
            domain="signing.test",
        )
        ids.append(queued)
    session.commit()
    return ids


def _worker(app: Flask, *, now=utcnow):
    return run_worker(
        db.session,
        SMTPTransport(smtp_settings(app.config)),
        sender=app.config["MAIL_DEFAULT_SENDER"],
        compose=NOTES,
        once=True,
        now=now,
    )


def test_messages_go_out_as_multipart_with_headers_over_one_connection(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    _queue(session, 3)
    stats = _worker(app)
    assert stats.sent == 3
    messages = mail_to_smtp.recorder.messages
    assert [m["Subject"] for m in messages] == ["Message 0", "Message 1", "Message 2"]
    first = messages[0]
    assert first.get_content_type() == "multipart/alternative"
    assert first.get_body(preferencelist=("html",)).get_content().strip() == "<p>HTML 0</p>"
    assert first["Message-ID"].endswith("@signing.test>")
    assert mail_to_smtp.recorder.greetings == 1  # one SMTP connection for the whole batch
    rows = session.scalars(select(OutboundEmail)).all()
    assert {row.status for row in rows} == {EmailStatus.SENT}
    assert all(row.sent_at is not None for row in rows)


def test_a_temporary_refusal_is_retried_later_with_backoff(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    [email_id] = _queue(session)
    mail_to_smtp.recorder.refusals = ["451 4.3.0 Try again later"]
    started = utcnow()
    first = _worker(app, now=lambda: started)
    assert first.deferred == 1
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    assert row.status is EmailStatus.QUEUED
    assert row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at == started + backoff(1)

    # Not due yet: --once leaves it alone.
    assert _worker(app, now=lambda: started + timedelta(seconds=5)).sent == 0
    later = _worker(app, now=lambda: started + backoff(1) + timedelta(seconds=1))
    assert later.sent == 1
    assert len(mail_to_smtp.recorder.messages) == 1
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    assert row.status is EmailStatus.SENT
    assert row.attempts == 2
    assert row.last_error is None


def test_a_permanent_refusal_is_recorded_and_never_retried(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    [email_id] = _queue(session)
    mail_to_smtp.recorder.refusals = ["550 5.1.1 No such user"]
    assert _worker(app).failed == 1
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    assert row.status is EmailStatus.FAILED
    assert "550" in row.last_error
    assert _worker(app, now=lambda: utcnow() + timedelta(days=1)).sent == 0
    assert mail_to_smtp.recorder.messages == []


def test_it_gives_up_after_the_last_attempt(app: Flask, session, mail_to_smtp: SMTPServer) -> None:
    [email_id] = _queue(session)
    mail_to_smtp.recorder.refusals = ["421 4.7.0 Busy"] * MAX_ATTEMPTS
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS):
        moment += timedelta(hours=2)
        _worker(app, now=lambda: moment)  # noqa: B023
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    assert row.status is EmailStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=1)


def test_a_claim_left_by_a_dead_worker_is_taken_again_after_the_lease(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    [email_id] = _queue(session)
    moment = utcnow()
    assert claim_batch(session, now=moment, claim_token="dead") == [email_id]  # ...and it dies
    assert _worker(app, now=lambda: moment + timedelta(minutes=1)).sent == 0
    assert _worker(app, now=lambda: moment + LEASE + timedelta(seconds=1)).sent == 1
    assert len(mail_to_smtp.recorder.messages) == 1


def test_a_slow_worker_whose_claim_was_taken_over_does_not_send_it_again(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    [email_id] = _queue(session)
    transport = SMTPTransport(smtp_settings(app.config))
    sender = app.config["MAIL_DEFAULT_SENDER"]
    moment = utcnow()
    assert claim_batch(session, now=moment, claim_token="slow") == [email_id]
    # The slow worker is still busy with earlier messages when its lease runs out.
    later = moment + LEASE + timedelta(seconds=1)
    assert claim_batch(session, now=later, claim_token="fresh") == [email_id]
    fresh = deliver(session, email_id, transport, sender=sender, compose=NOTES, claim_token="fresh")
    slow = deliver(session, email_id, transport, sender=sender, compose=NOTES, claim_token="slow")
    transport.close()
    assert (fresh, slow) == (Delivery.SENT, Delivery.SKIPPED)
    assert len(mail_to_smtp.recorder.messages) == 1


def test_claims_skip_rows_other_workers_have_locked_on_postgresql() -> None:
    from sqlalchemy.dialects import postgresql

    statement = claim_statement(now=utcnow(), limit=5, claim_token="t")
    assert "FOR UPDATE SKIP LOCKED" in str(statement.compile(dialect=postgresql.dialect()))


def test_a_refused_login_keeps_the_queue_without_using_up_attempts(
    app: Flask, session, mail_to_smtp: SMTPServer, monkeypatch
) -> None:
    """A mistyped MAIL_PASSWORD (here: the server offers no AUTH at all) must lose nothing."""
    ids = _queue(session, 3)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "mailer")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "wrong")
    stats = _worker(app)
    assert (stats.sent, stats.failed, stats.deferred) == (0, 0, 3)
    rows = [session.get(OutboundEmail, i, populate_existing=True) for i in ids]
    assert {row.status for row in rows} == {EmailStatus.QUEUED}
    assert {row.attempts for row in rows} == {0}
    assert "AUTH" in rows[0].last_error
    monkeypatch.setitem(app.config, "MAIL_USERNAME", None)
    assert _worker(app, now=lambda: utcnow() + timedelta(minutes=2)).sent == 3


def test_a_refused_sender_address_keeps_the_queue(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    [email_id] = _queue(session)
    mail_to_smtp.recorder.refuse_sender = "553 5.7.1 Sender address rejected"
    assert _worker(app).failed == 0
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    assert row.status is EmailStatus.QUEUED
    assert row.attempts == 0
    assert "sender address was refused (SMTP 553)" in row.last_error


def test_without_mail_server_mail_goes_to_the_console_with_links(
    app: Flask, session, caplog
) -> None:
    _queue(session)
    with caplog.at_level(logging.INFO, logger="undersigned.mail.console"):
        stats = run_worker(
            db.session, ConsoleTransport(), sender="x@signing.test", compose=NOTES, once=True
        )
    assert stats.sent == 1
    assert "http://signing.test/letters/x/confirm/tok0" in caplog.text
    assert "Subject: Message 0" in caplog.text


def test_the_mail_work_command_drains_the_queue_and_exits(
    app: Flask, session, runner, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="drain")
    for number in range(2):
        signature = make_signature(
            session, letter=letter, state=SignatureState.PENDING, email=f"s{number}@example.org"
        )
        confirmation = confirmation_for(letter.id, signature.id, signature.email)
        queue_email(session, confirmation, sender_domain="signing.test")
    session.commit()
    result = runner.invoke(args=["mail", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 deferred, 0 failed" in result.output
    assert len(mail_to_smtp.recorder.messages) == 2


def test_several_workers_at_once_send_every_message_exactly_once(
    app: Flask, committed_db, mail_to_smtp: SMTPServer
) -> None:
    _queue(db.session, 120)
    db.session.remove()
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def work() -> None:
        try:
            with app.app_context():
                start.wait()
                _worker(app)
                db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    subjects = [m["Subject"] for m in mail_to_smtp.recorder.messages]
    assert len(subjects) == 120
    assert len(set(subjects)) == 120
    statuses = db.session.scalars(select(OutboundEmail.status)).all()
    assert set(statuses) == {EmailStatus.SENT}


def test_non_ascii_names_subjects_and_bodies_arrive_intact(
    app: Flask, session, mail_to_smtp: SMTPServer, monkeypatch
) -> None:
    monkeypatch.setitem(
        app.config, "MAIL_DEFAULT_SENDER", "Offener Brief Zürich <brief@signing.test>"
    )
    message = ComposedEmail(
        subject="Bitte bestätigen: Gegen Deepfakes \u2013 北京",
        body_text="Grüße, Zoé!\nhttp://signing.test/letters/x/confirm/tok\n" + "lang " * 40,
        body_html="<p>Grüße, <b>Zoé</b>!</p>",
    )
    queue_note(
        session,
        to="zoe@example.org",
        subject=message.subject,
        text=message.body_text,
        html=message.body_html,
        domain="signing.test",
    )
    session.commit()
    assert _worker(app).sent == 1
    [received] = mail_to_smtp.recorder.messages
    assert received["Subject"] == "Bitte bestätigen: Gegen Deepfakes \u2013 北京"
    assert received["From"].addresses[0].display_name == "Offener Brief Zürich"
    assert received["Auto-Submitted"] == "auto-generated"
    plain = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    # Line ends travel as CRLF, as SMTP wants; the text is otherwise exactly what was queued.
    assert plain.get_content().replace("\r\n", "\n") == message.body_text
    assert html.get_content().strip() == message.body_html


def test_a_slow_batch_records_what_it_sent_before_its_claims_could_be_taken_over(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    """Each send takes six minutes of a (simulated) clock against a ten-minute lease: messages
    sent early in the batch must be marked sent before another worker may take them over."""
    ids = _queue(session, 3)
    clock = [utcnow()]
    taken_by_another: list[list[int]] = []

    class SlowTransport(SMTPTransport):
        def send(self, message) -> None:
            super().send(message)
            clock[0] += timedelta(minutes=6)
            if len(mail_to_smtp.recorder.messages) == 2:
                # Another worker looks for abandoned claims just past the first lease.
                taken_by_another.append(claim_batch(session, now=clock[0], claim_token="another"))

    stats = run_worker(
        db.session,
        SlowTransport(smtp_settings(app.config)),
        sender=app.config["MAIL_DEFAULT_SENDER"],
        compose=NOTES,
        once=True,
        now=lambda: clock[0],
    )
    assert ids[0] not in taken_by_another[0]
    sent_twice = len(mail_to_smtp.recorder.messages) - len(
        {m["Message-ID"] for m in mail_to_smtp.recorder.messages}
    )
    assert sent_twice == 0
    assert stats.sent + len(taken_by_another[0]) == 3


def test_a_kind_that_cannot_be_composed_is_deferred_and_the_rest_still_go(
    app: Flask, session, mail_to_smtp: SMTPServer
) -> None:
    """A bug in one kind's composer neither stops the worker nor loses the batch: its rows are
    tried again later (counted as attempts), every other message goes out."""
    from app.mail.composing import Composer

    def broken(_session, _rows):
        raise RuntimeError("template missing")

    [good] = _queue(session, 1)
    bad = queue_email(
        session, Outgoing(kind="broken", to_address="b@example.org"), sender_domain="s.test"
    )
    session.commit()
    compose = Composer({**NOTES.kinds, "broken": broken})
    stats = run_worker(
        db.session,
        SMTPTransport(smtp_settings(app.config)),
        sender=app.config["MAIL_DEFAULT_SENDER"],
        compose=compose,
        once=True,
    )
    assert (stats.sent, stats.deferred) == (1, 1)
    session.expire_all()
    assert session.get(OutboundEmail, good).status is EmailStatus.SENT
    deferred = session.get(OutboundEmail, bad)
    assert (deferred.status, deferred.attempts) == (EmailStatus.QUEUED, 1)
    assert "could not be composed: RuntimeError: template missing" in (deferred.last_error or "")
