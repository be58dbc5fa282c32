"""Nothing secret in logs: link tokens in request paths are redacted."""

from __future__ import annotations

import logging

from app.support.logging_setup import RedactLinkTokens


def test_tokens_in_access_log_lines_are_redacted(caplog) -> None:
    logger = logging.getLogger("werkzeug")
    assert any(isinstance(f, RedactLinkTokens) for f in logger.filters)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - "%s %s HTTP/1.1" 200 -', "GET", "/letters/x/confirm/MQ.abc.def")
        logger.info('127.0.0.1 - - "GET /letters/x/withdraw/NQ.ghi?x=1 HTTP/1.1" 303 -')
    assert "MQ.abc" not in caplog.text and "NQ.ghi" not in caplog.text
    assert "/letters/x/confirm/[token]" in caplog.text
    assert "/letters/x/withdraw/[token]" in caplog.text


def test_the_mail_worker_logs_ids_not_addresses(app, session, caplog) -> None:
    from app.db import db
    from app.mail.sender import SMTPSettings, SMTPTransport, run_worker
    from tests.helpers import NOTES, queue_note

    queue_note(session, to="secret.person@example.org", subject="s", text="t")
    session.commit()
    with caplog.at_level(logging.INFO, logger="app.mail.sender"):
        run_worker(
            db.session,
            SMTPTransport(SMTPSettings("127.0.0.1", 9)),
            sender="a@x.example",
            compose=NOTES,
            once=True,
        )
    assert "secret.person" not in caplog.text
    assert "unavailable" in caplog.text


def test_warnings_reach_stderr_under_gunicorn(tmp_path) -> None:
    """The real server with Redis unreachable: Flask-Limiter's alert is in its output, one line
    with time, level and logger (nothing configured logging before, so it vanished)."""
    import os
    import signal
    import socket
    import subprocess
    import time
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode

    from config import PROJECT_ROOT
    from tests.conftest import free_port
    from tests.helpers import signing_answers

    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "logging-test-secret",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{tmp_path}/logs.db",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    env.pop("LOG_LEVEL", None)
    bin_dir = PROJECT_ROOT / ".venv" / "bin"
    flask = [str(bin_dir / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=PROJECT_ROOT, env=env, check=True)
    subprocess.run(
        [*flask, "letters", "create", "logged", "--title", "T", "--body-file", "README.md"],
        cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.1)
        signing = urllib.request.Request(
            f"http://127.0.0.1:{port}/letters/logged/sign",
            data=urlencode(signing_answers()).encode(),
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        with urllib.request.urlopen(signing, timeout=60) as response:  # noqa: S310
            assert response.status == 200  # the "check your email" page, after the redirect
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    alerts = [line for line in stderr.splitlines() if "Rate limit storage unreachable" in line]
    assert alerts, stderr[-3000:]
    assert " WARNING flask-limiter: " in alerts[0]
