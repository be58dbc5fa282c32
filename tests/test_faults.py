"""Faults: the mail server goes away and comes back; Redis is down."""

from __future__ import annotations

import os
import subprocess
import sys

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import EmailStatus, OutboundEmail, Signature
from config import PROJECT_ROOT
from tests.conftest import SMTPRecorder, free_port
from tests.factories import make_letter
from tests.helpers import deliver_mail, sign


def test_signatures_made_while_smtp_is_down_are_all_delivered_once_it_is_back(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    from datetime import timedelta

    from aiosmtpd.controller import Controller

    from app.db import db, utcnow
    from app.emails import composer
    from app.mail.sender import SMTPTransport, run_worker, smtp_settings

    port = free_port()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    make_letter(session, slug="outage")
    for n in range(5):
        assert sign(client, "outage", email=f"signer{n}@example.org").status_code == 303
    assert deliver_mail(app).sent == 0  # nobody listening: all stay queued
    assert {e.status for e in session.scalars(select(OutboundEmail))} == {EmailStatus.QUEUED}

    recorder = SMTPRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = utcnow() + timedelta(minutes=5)
        stats = run_worker(
            db.session,
            SMTPTransport(smtp_settings(app.config)),
            sender=app.config["MAIL_DEFAULT_SENDER"],
            compose=composer(app.config),
            once=True,
            now=lambda: later,
        )
        assert stats.sent == 5
        assert sorted(m["To"] for m in recorder.messages) == [
            f"signer{n}@example.org" for n in range(5)
        ]
        # A second pass sends nothing again.
        assert run_worker(
            db.session, SMTPTransport(smtp_settings(app.config)), sender="x@y.example",
            compose=composer(app.config), once=True, now=lambda: later,
        ).sent == 0  # fmt: skip
    finally:
        controller.stop()
    assert len(session.scalars(select(Signature)).all()) == 5


def test_with_redis_down_signing_still_works_and_says_so(tmp_path) -> None:
    """Limits fail open (in memory meanwhile) with a logged alert: never a 500. Run in its own
    process, since the limiter's storage is process-wide."""
    script = f"""
import logging
from flask_migrate import upgrade
from app import create_app
from app.db import db
from app.letters.letters import create_letter
from config import DevelopmentConfig
app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI="sqlite:///{tmp_path}/r.db",
                 RATELIMIT_STORAGE_URI="redis://127.0.0.1:{free_port()}/0")
with app.app_context():
    upgrade()
    create_letter(db.session, slug="redis-down", title="T", body="B", by=None)
    db.session.commit()
client = app.test_client()
token = client.get("/csrf-token").json["csrf_token"]
form = dict(csrf_token=token, name="Ada", email="ada@example.org", affiliation="X", title="Y",
            country="GB", is_public="y")
print(client.post("/letters/redis-down/sign", data=form).status_code)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "APP_ENV": "development"},
    )  # fmt: skip
    assert result.stdout.split()[-1:] == ["303"], result.stderr[-2000:]
    assert "rate limit storage unreachable" in result.stderr.lower()  # the alert in the log


def test_an_unreachable_database_gives_a_clear_503(tmp_path) -> None:
    """What signers see while PostgreSQL restarts: a clear page, nothing half-written; the pool
    checks connections before use (pool_pre_ping), so the site recovers by itself."""
    script = f"""
from app import create_app
from config import DevelopmentConfig
options = {{"pool_pre_ping": True, "connect_args": {{"connect_timeout": 2}}}}
app = create_app(DevelopmentConfig,
                 SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
                 SQLALCHEMY_ENGINE_OPTIONS=options)
client = app.test_client()
response = client.get("/letters/anything")
print(response.status_code)
print("briefly unavailable" in response.get_data(as_text=True).lower())
api = client.get("/api/letters/anything")
print(api.status_code, api.is_json)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "APP_ENV": "development"},
    )  # fmt: skip
    assert result.stdout.split() == ["503", "True", "503", "True"], result.stderr[-2000:]


def test_a_permanently_refused_email_is_shown_to_organisers(
    app: Flask, client: FlaskClient, session, mail_to_smtp
) -> None:
    from app.extensions import limiter
    from app.models import OrganiserRole
    from tests.factories import make_organiser
    from tests.helpers import log_in

    limiter.reset()
    letter = make_letter(session, slug="bounced")
    sign(client, "bounced", email="nobody@example.org")
    sign(client, "bounced", email="fine@example.org")
    mail_to_smtp.recorder.refusals = ["550 5.1.1 No such user"]
    stats = deliver_mail(app)
    assert (stats.failed, stats.sent) == (1, 1)  # the other message is unaffected
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    assert 'data-testid="count-failed-emails">1<' in client.get("/admin/letters/bounced").get_data(
        as_text=True
    )
    bounced = session.scalars(
        select(Signature).where(Signature.email == "nobody@example.org")
    ).one()
    page = client.get(f"/admin/letters/bounced/signatures/{bounced.id}").get_data(as_text=True)
    assert 'data-testid="email-status">failed<' in page and "SMTP 550" in page
