"""The multi-node shape of docs/DEPLOY.md: two app instances (gunicorn, the production settings)
on different ports, one PostgreSQL, one Redis, two mail workers. Signers may land on either
instance, so rate limits must be global, counts must agree, and no email may go out twice.

Runs against a database of its own (so the instances see committed data); PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import redis

from app.signing.tokens import TokenPurpose, make_token
from config import PROJECT_ROOT, TestingConfig
from tests.conftest import SMTPRecorder, SMTPServer, free_port
from tests.helpers import signing_answers

SECRET = "scale-out-test-secret"
DATABASE = "undersigned_scale_out"
REDIS_DB = 13
BIN = PROJECT_ROOT / ".venv" / "bin"

pytestmark = pytest.mark.skipif(
    not TestingConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql"),
    reason="the multi-node shape runs on PostgreSQL",
)


def _server_url() -> str:
    url = TestingConfig.SQLALCHEMY_DATABASE_URI.replace("postgresql+psycopg://", "postgresql://")
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def environment() -> Iterator[dict[str, str]]:
    server = _server_url()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "BASE_URL": "http://127.0.0.1",
        "DATABASE_URL": f"{server}/{DATABASE}",
        "REDIS_URL": redis_url,
        "SIGN_RATE_LIMIT": "3 per minute",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_LOG_LEVEL": "warning",
    }
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=PROJECT_ROOT, env=env, check=True)
    subprocess.run(
        [
            *flask,
            "letters",
            "create",
            "scale",
            "--title",
            "Scale out",
            "--body-file",
            "docs/demo-letter.md",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
    )
    yield env
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@contextmanager
def app_instance(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, "the app instance did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


#: The host the load balancer in front of both instances passes on: BASE_URL's (production
#: refuses any other host or port).
PUBLIC_HOST = {"Host": "127.0.0.1"}


def _request(url: str, data: dict[str, str] | None = None, cookie: str = "") -> tuple[int, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    headers = {"Cookie": cookie, **PUBLIC_HOST}
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response
    except urllib.error.HTTPError as error:
        return error.code, error


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _token(base: str) -> tuple[str, str]:
    """A CSRF token from one instance, with its session cookie (valid on every instance)."""
    asked = urllib.request.Request(base + "/csrf-token", headers=PUBLIC_HOST)  # noqa: S310
    with urllib.request.urlopen(asked, timeout=30) as response:  # noqa: S310
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        return json.load(response)["csrf_token"], cookie


def _count(base: str) -> int:
    # The query string keeps the instance's few-second page replay out of it: a fresh count.
    asked = urllib.request.Request(f"{base}/api/letters/scale?fresh=1", headers=PUBLIC_HOST)  # noqa: S310
    with urllib.request.urlopen(asked, timeout=30) as response:  # noqa: S310
        return int(json.load(response)["verified_signatures"])


@dataclass
class _FirstHeldRecorder(SMTPRecorder):
    """Holds the first message it is sent until `go_on`; counts those from other sessions."""

    holding: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)
    first_session: Any = None
    other_sessions: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.first_session is None:
            self.first_session = session
            self.holding.set()
            await asyncio.to_thread(self.go_on.wait, 60)
        reply = await super().handle_DATA(server, session, envelope)
        if session is not self.first_session:
            self.other_sessions += 1
        return reply

    def another_session_sent(self) -> bool:
        return self.other_sessions > 0


@pytest.fixture
def gated_smtp() -> Iterator[SMTPServer]:
    from aiosmtpd.controller import Controller

    recorder = _FirstHeldRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, recorder)
    finally:
        recorder.go_on.set()
        controller.stop()


def _wait_for(
    condition: Callable[[], object], what: str, *processes: subprocess.Popen[str]
) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert all(p.poll() is None for p in processes), f"a worker exited before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_two_instances_share_limits_and_counts_and_two_workers_send_each_email_once(
    environment: dict[str, str], gated_smtp: SMTPServer
) -> None:
    with app_instance(environment) as first, app_instance(environment) as second:
        token, cookie = _token(first)

        # Rate limits are global: three signatures per minute from this address, wherever
        # they land. Counted per process, each instance would allow three.
        statuses = []
        for number, base in enumerate([first, second, first, second, first]):
            answers = signing_answers(email=f"scale{number}@example.org")
            status, _ = _request(
                f"{base}/letters/scale/sign", {"csrf_token": token, **answers}, cookie
            )
            statuses.append(status)
        assert statuses == [303, 303, 303, 429, 429]

        # Counts agree: confirm on either instance, read on either.
        with psycopg.connect(environment["DATABASE_URL"]) as connection:
            ids = [row[0] for row in connection.execute("SELECT id FROM signatures ORDER BY id")]
        assert len(ids) == 3
        for signature_id, base in zip(ids, [first, second, second], strict=True):
            link = make_token(SECRET, TokenPurpose.CONFIRM, signature_id)
            status, _ = _request(
                f"{base}/letters/scale/confirm/{link}", {"csrf_token": token}, cookie
            )
            assert status == 303
        with psycopg.connect(environment["DATABASE_URL"]) as connection:
            counted, held = connection.execute(
                "SELECT count(*) FILTER (WHERE NOT quarantined), count(*) FILTER (WHERE "
                "quarantined) FROM signatures WHERE state = 'verified'"
            ).fetchone()
        # Three quick signatures from one address: the later two are held for review (the soft
        # rate defence), confirmed but not counted. Both instances say exactly that.
        assert (counted, held) == (1, 2)
        assert _count(first) == _count(second) == counted

    # Two mail workers on one outbox: every queued email leaves exactly once.
    with psycopg.connect(environment["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(
            # Withdrawal receipts: written from the row alone, whatever became of signatures.
            "INSERT INTO outbound_emails (kind, to_address, letter_id, language, context, "
            "message_id, status, attempts, next_attempt_at, created_at) "
            "SELECT 'withdrawn', 'bulk' || n || '@example.org', "
            "(SELECT id FROM letters WHERE slug = 'scale'), 'en', "
            "json_build_object('name', 'Bulk ' || n), "
            "'<bulk' || n || '@scale.test>', 'queued', 0, now(), now() "
            "FROM generate_series(1, 1500) AS n"
        )
        queued = connection.execute("SELECT count(*) FROM outbound_emails").fetchone()
    assert queued is not None
    expected = int(queued[0])
    recorder = gated_smtp.recorder
    assert isinstance(recorder, _FirstHeldRecorder)
    mail_env = {
        **environment,
        "MAIL_SERVER": gated_smtp.host,
        "MAIL_PORT": str(gated_smtp.port),
    }
    workers: list[subprocess.Popen[str]] = []

    def start_worker() -> subprocess.Popen[str]:
        worker = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "mail", "work"],
            cwd=PROJECT_ROOT,
            env=mail_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        workers.append(worker)
        return worker

    try:
        # Each worker's share is made certain, not left to which one starts first: the first
        # is paused in the middle of its first message, the second starts and sends, then the
        # first goes on. Both then drain the rest together.
        first_worker = start_worker()
        _wait_for(recorder.holding.is_set, "the first worker's first message", first_worker)
        first_worker.send_signal(signal.SIGSTOP)
        recorder.go_on.set()
        second_worker = start_worker()
        _wait_for(recorder.another_session_sent, "the second worker's first message", second_worker)
        first_worker.send_signal(signal.SIGCONT)

        def all_recorded_as_sent() -> bool:
            with psycopg.connect(environment["DATABASE_URL"]) as connection:
                left = connection.execute(
                    "SELECT count(*) FROM outbound_emails WHERE status <> 'sent'"
                ).fetchone()
            return left == (0,) and len(recorder.messages) >= expected

        _wait_for(all_recorded_as_sent, "every email sent and recorded", *workers)
    finally:
        recorder.go_on.set()
        for worker in workers:
            worker.send_signal(signal.SIGCONT)
            worker.send_signal(signal.SIGTERM)
        # Once both have exited, nothing more can arrive: the count below is final.
        reports = [worker.communicate(timeout=30)[0] for worker in workers]

    message_ids = [message["Message-ID"] for message in recorder.messages]
    assert len(message_ids) == expected
    assert len(set(message_ids)) == expected
    # Both workers took a share (so this shows two workers, not one doing everything).
    assert all(
        "sent" in report and not report.startswith("Mail worker done: 0 sent") for report in reports
    ), reports
    with psycopg.connect(environment["DATABASE_URL"]) as connection:
        left = connection.execute(
            "SELECT count(*) FROM outbound_emails WHERE status <> 'sent'"
        ).fetchone()
    assert left == (0,)
