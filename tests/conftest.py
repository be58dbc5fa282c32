"""Test set-up: one schema built by the migrations per run; each test in a rolled-back transaction.

TEST_DATABASE_URL picks the database (`make test` runs the suite on SQLite, then on PostgreSQL).
Tests that need data visible to other connections (threads, a live server) ask for the
`committed_db` fixture instead: their commits are real and the tables are emptied afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

os.environ.setdefault("APP_ENV", "testing")

from app import create_app
from app.db import db
from config import PROJECT_ROOT, TestingConfig

TABLES_CHILD_FIRST = (
    "audit_events",
    "notable_evidence",
    "letter_organisers",
    "organisers",
    "outbound_emails",
    "invitations",
    "watched_organisations",
    "signature_tallies",
    "signatures",
    "affiliations",
    "organisation_domains",
    "organisation_aliases",
    "organisations",
    "snapshots",
    "signer_accesses",
    "letter_translations",
    "letter_updates",
    "addressee_responses",
    "letters",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Each catalogue's .mo from its .po, as `make translations` does, so that a run of pytest
    alone reads the current translations."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (PROJECT_ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=po.parent.parent.name)
        with mo.open("wb") as target:
            write_mo(target, catalogue)


def _reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                path = parsed.database + suffix
                if os.path.exists(path):
                    os.remove(path)
            os.makedirs(os.path.dirname(parsed.database) or ".", exist_ok=True)
        return
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    url = TestingConfig.SQLALCHEMY_DATABASE_URI
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.exit("Set TEST_DATABASE_URL (the suite drops and rebuilds that database).", 2)
    _reset_database(url)
    application = create_app(TestingConfig)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def is_postgres(app: Flask) -> bool:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql")


class _RequestScopedTestSession(scoped_session):  # type: ignore[type-arg]
    """The test's session, kept across requests; a request's end discards what it left
    uncommitted (as closing the session does in production) without detaching the test's objects."""

    def remove(self) -> None:
        if self.registry.has():
            self.registry().rollback()

    def really_remove(self) -> None:
        super().remove()


@pytest.fixture(autouse=True)
def _isolated(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test in its own transaction, rolled back at the end (unless it commits for real).

    No app context is held during the test, so each request gets its own, as in production: its
    own `g`, its own teardown. Test set-up must commit (factories do): in this transaction, a
    commit only releases a savepoint, and the outer transaction is still rolled back at the end.
    """
    if "committed_db" in request.fixturenames:
        with app.app_context():
            yield
            db.session.remove()
            with db.engine.begin() as connection:
                for table in TABLES_CHILD_FIRST:
                    connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        return
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    real_session = db.session
    test_session = _RequestScopedTestSession(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    )
    db.session = test_session
    try:
        yield
    finally:
        test_session.really_remove()
        db.session = real_session
        outer.rollback()
        connection.close()


@pytest.fixture
def committed_db() -> None:
    """Marker fixture: this test's commits are real (see _isolated)."""


@pytest.fixture
def session(app: Flask) -> Any:
    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# --- a real SMTP server on loopback ---------------------------------------------------------


@dataclass
class SMTPRecorder:
    """aiosmtpd handler that keeps what it receives and can be told to refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    #: SMTP replies to give instead of accepting, used up one per delivery ("451 ...").
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: SMTP sessions opened (EHLO/HELO seen): one per worker run when the connection is reused.
    greetings: int = 0
    #: A reply to every MAIL FROM instead of "250 OK" ("553 ..."), until cleared.
    refuse_sender: str | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class SMTPServer:
    host: str
    port: int
    recorder: SMTPRecorder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    from aiosmtpd.controller import Controller

    recorder = SMTPRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def mail_to_smtp(
    app: Flask, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> SMTPServer:
    """Point the app's mail settings at the loopback SMTP server."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", smtp_server.host)
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.port)
    return smtp_server
