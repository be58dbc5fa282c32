"""The mail worker when the database fails it: a connection killed mid-statement, a locked
outbox. It waits, reconnects and carries on; every message still leaves exactly once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.db import configure_sqlite, db
from app.mail import sender as sender_module
from app.mail.sender import SMTPSettings, SMTPTransport, WorkerStats, run_worker
from app.models import EmailStatus, OutboundEmail
from tests.conftest import SMTPRecorder, free_port
from tests.helpers import NOTES, queue_note

SENDER = "Undersigned <no-reply@signing.test>"


def _queue(count: int) -> None:
    for number in range(count):
        queue_note(
            db.session,
            to="reader@example.org",
            subject=f"Message {number}",
            text=f"Plain {number}",
            html=f"<p>HTML {number}</p>",
            domain="signing.test",
        )
    db.session.commit()
    db.session.remove()


def _wait_for(condition: Callable[[], object], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def _statuses() -> list[EmailStatus]:
    with Session(db.engine) as reader:
        return list(reader.scalars(select(OutboundEmail.status)))


def _delivered_once(recorder: SMTPRecorder, count: int) -> None:
    message_ids = [message["Message-ID"] for message in recorder.messages]
    assert len(message_ids) == count
    assert len(set(message_ids)) == count
    assert _statuses() == [EmailStatus.SENT] * count


def _database_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == sender_module.__name__
        and record.levelno == logging.WARNING
        and "database" in record.getMessage()
    ]


def _one_line_each(records: list[logging.LogRecord]) -> bool:
    return all("\n" not in r.getMessage() and r.exc_info is None for r in records)


@dataclass
class _Worker:
    """run_worker in a thread, ended by its stop event; what it returned or raised."""

    thread: threading.Thread
    stop: threading.Event
    stats: list[WorkerStats] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def finish(self) -> WorkerStats:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors
        return self.stats[0]


def _start_worker(
    app: Flask, session_for: Callable[[], Any], port: int, *, once: bool = False
) -> _Worker:
    stop = threading.Event()
    worker = _Worker(threading.Thread(target=lambda: None), stop)

    def work() -> None:
        try:
            with app.app_context():
                session = session_for()
                try:
                    worker.stats.append(
                        run_worker(
                            session,
                            SMTPTransport(SMTPSettings("127.0.0.1", port, timeout=60)),
                            sender=SENDER,
                            compose=NOTES,
                            once=once,
                            poll_interval=0.05,
                            stop=stop,
                        )
                    )
                finally:
                    session.close()
        except BaseException as error:
            worker.errors.append(error)

    worker.thread = threading.Thread(target=work, daemon=True)
    worker.thread.start()
    return worker


@contextmanager
def _smtp(recorder: SMTPRecorder) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass
class _HoldingRecorder(SMTPRecorder):
    """Holds the first message until `go`, then defers the next one (451) once."""

    arrived: threading.Event = field(default_factory=threading.Event)
    go: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        first = not self.arrived.is_set()
        if first:
            self.arrived.set()
            await asyncio.to_thread(self.go.wait, 60)
        reply = await super().handle_DATA(server, session, envelope)
        if first:
            self.refusals.append("451 4.3.0 Try again later")
        return reply


def test_a_worker_whose_connection_is_killed_mid_statement_carries_on_and_sends_each_once(
    app: Flask, committed_db, is_postgres: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """What a PostgreSQL restart or failover does to every query in flight, mid-batch: the
    first message is out, the second was deferred and its requeue is the statement killed."""
    if not is_postgres:
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    caplog.set_level(logging.WARNING, logger=sender_module.__name__)
    _queue(5)
    recorder = _HoldingRecorder()
    with _smtp(recorder) as port:
        worker = _start_worker(app, lambda: db.session, port)
        _wait_for(recorder.arrived.is_set, "the worker is mid-batch")
        with db.engine.connect() as locker, db.engine.connect() as watcher:
            # The outbox is locked, so the worker's next write waits on it, in flight.
            locker.execute(text("LOCK TABLE outbound_emails IN EXCLUSIVE MODE"))
            recorder.go.set()
            waiting: list[int] = []

            def worker_waits_on_the_lock() -> bool:
                waiting[:] = watcher.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                ).all()
                watcher.rollback()
                return bool(waiting) or not worker.thread.is_alive()

            _wait_for(worker_waits_on_the_lock, "the worker's write waits on the lock")
            for pid in waiting:
                watcher.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            watcher.commit()
            locker.rollback()
        _wait_for(
            lambda: set(_statuses()) == {EmailStatus.SENT} or not worker.thread.is_alive(),
            "every message recorded as sent",
        )
        assert worker.thread.is_alive(), worker.errors
        stats = worker.finish()
    _delivered_once(recorder, 5)
    assert stats.sent == 5
    warnings = _database_warnings(caplog)
    assert len(warnings) >= 1
    assert _one_line_each(warnings)


@contextmanager
def _locked_outbox(app: Flask, is_postgres: bool) -> Iterator[tuple[Engine, Callable[[], None]]]:
    """An engine for the worker that gives up on a lock within 0.1 s, and the outbox locked
    against writers by another connection until the returned function is called."""
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if is_postgres:
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"options": "-c lock_timeout=100"}
        )
        locker = db.engine.connect()
        locker.execute(text("LOCK TABLE outbound_emails IN EXCLUSIVE MODE"))
        release = locker.rollback
        close = locker.close
    else:
        engine = create_engine(url)
        configure_sqlite(engine)

        @event.listens_for(engine, "connect")
        def _impatient(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout = 100")

        path = make_url(url).database
        assert path
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the write lock, held
        release = writer.rollback
        close = writer.close
    try:
        yield engine, release
    finally:
        release()
        close()
        engine.dispose()


def test_a_worker_that_finds_the_outbox_locked_says_so_waits_and_delivers_everything(
    app: Flask, committed_db, is_postgres: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's "database is locked", PostgreSQL's lock timeout: both are waited out."""
    caplog.set_level(logging.WARNING, logger=sender_module.__name__)
    _queue(5)
    recorder = SMTPRecorder()
    with _smtp(recorder) as port, _locked_outbox(app, is_postgres) as (engine, release):
        worker = _start_worker(app, lambda: Session(engine), port)
        _wait_for(
            lambda: _database_warnings(caplog) or not worker.thread.is_alive(),
            "the worker says the database failed it",
        )
        assert worker.thread.is_alive(), worker.errors
        release()
        _wait_for(
            lambda: set(_statuses()) == {EmailStatus.SENT} or not worker.thread.is_alive(),
            "every message recorded as sent",
        )
        assert worker.thread.is_alive(), worker.errors
        stats = worker.finish()
    _delivered_once(recorder, 5)
    assert stats.sent == 5
    assert _one_line_each(_database_warnings(caplog))


def test_a_worker_run_once_waits_out_a_locked_outbox_then_ends_when_nothing_is_due(
    app: Flask, committed_db, is_postgres: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=sender_module.__name__)
    _queue(3)
    recorder = SMTPRecorder()
    with _smtp(recorder) as port, _locked_outbox(app, is_postgres) as (engine, release):
        worker = _start_worker(app, lambda: Session(engine), port, once=True)
        _wait_for(
            lambda: _database_warnings(caplog) or not worker.thread.is_alive(),
            "the worker says the database failed it",
        )
        assert worker.thread.is_alive(), worker.errors
        release()
        worker.thread.join(timeout=60)  # ends by itself: once=True, never stopped
        assert not worker.thread.is_alive()
        assert not worker.errors, worker.errors
    assert worker.stats[0].sent == 3
    _delivered_once(recorder, 3)


def test_a_stop_ends_the_wait_after_a_database_error_at_once(
    app: Flask,
    committed_db,
    is_postgres: bool,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker told to stop (SIGTERM) while it waits for the database does not sit out the
    wait: here it would last an hour."""
    monkeypatch.setattr(sender_module, "DATABASE_RETRY_FIRST", 3600.0)
    monkeypatch.setattr(sender_module, "DATABASE_RETRY_CAP", 3600.0)
    caplog.set_level(logging.WARNING, logger=sender_module.__name__)
    _queue(1)
    recorder = SMTPRecorder()
    with _smtp(recorder) as port, _locked_outbox(app, is_postgres) as (engine, _release):
        worker = _start_worker(app, lambda: Session(engine), port)
        _wait_for(
            lambda: _database_warnings(caplog) or not worker.thread.is_alive(),
            "the worker says the database failed it",
        )
        stats = worker.finish()
    assert stats.sent == 0
    assert recorder.messages == []
