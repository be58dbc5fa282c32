"""One reminder to confirm: sent once, CONFIRM_REMINDER_HOURS after signing, never after
withdrawal or once the link has expired, counted against the per-signature email cap."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from app.db import utcnow
from app.models import Signature, SignatureState
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_link, deliver_mail, text_body


def _pending(session, letter, email: str, *, hours_ago: float, emails_sent: int = 1) -> Signature:
    signature = make_signature(
        session,
        letter=letter,
        email=email,
        state=SignatureState.PENDING,
        signed_at=utcnow() - timedelta(hours=hours_ago),
    )
    signature.emails_sent = emails_sent
    session.commit()
    return signature


def test_the_reminder_goes_once_and_only_to_those_it_may_reach(
    app: Flask, session, runner, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="remind")
    due = _pending(session, letter, "due@example.org", hours_ago=25)
    _pending(session, letter, "early@example.org", hours_ago=2)  # not yet
    _pending(session, letter, "expired@example.org", hours_ago=24 * 8)  # link expired (7 days)
    _pending(session, letter, "capped@example.org", hours_ago=30, emails_sent=5)  # cap used up
    withdrawn = _pending(session, letter, "gone@example.org", hours_ago=30)
    lifecycle.withdraw(session, letter, withdrawn, settings=signing_settings(app.config))
    confirmed = make_signature(session, letter=letter, email="done@example.org")
    session.commit()
    assert confirmed.state is SignatureState.VERIFIED

    result = runner.invoke(args=["signatures", "remind"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminders to confirm." in result.output
    assert runner.invoke(args=["signatures", "remind"]).output.startswith("Queued 0")

    deliver_mail(app)
    [message] = [m for m in mail_to_smtp.recorder.messages if m["To"] == "due@example.org"]
    assert message["Subject"].startswith("Reminder: Confirm your signature")
    assert "This is the only reminder we send." in text_body(message)
    assert "/letters/remind/confirm/" in confirm_link(message)
    sent_to = {m["To"] for m in mail_to_smtp.recorder.messages}
    assert sent_to == {"due@example.org", "gone@example.org"}  # and the withdrawal receipt
    session.refresh(due)
    assert due.emails_sent == 2
    assert due.reminded_at is not None


def test_no_reminder_when_switched_off(app: Flask, session) -> None:
    letter = make_letter(session)
    _pending(session, letter, "due@example.org", hours_ago=48)
    settings = dataclasses.replace(signing_settings(app.config), reminder_hours=0)
    assert lifecycle.queue_reminders(session, settings=settings, now=utcnow()) == 0
    assert session.scalars(select(Signature.reminded_at)).one() is None
