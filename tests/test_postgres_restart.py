"""PostgreSQL restarted under load: clear 503 pages meanwhile, nothing half-written, and the
site recovers by itself. Runs against a throwaway PostgreSQL server of its own (never the
shared one), so the rest of the suite is untouched."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from config import PROJECT_ROOT
from tests.conftest import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory):
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip("needs root and PostgreSQL 15's server binaries")
    # Not under pytest's tmp_path: its parents are closed to the postgres user.
    data = Path(tempfile.mkdtemp(prefix="undersigned-pg-"))
    shutil.chown(data, "postgres", "postgres")
    port = free_port()
    initdb = _as_postgres(
        str(PG_BIN / "initdb"), "-D", str(data / "db"), "--auth=trust", "-U", "postgres"
    )
    assert initdb.returncode == 0, initdb.stderr
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    # With a log file, the server never holds our output pipes open.
    ctl = [
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-o",
        options,
        "-w",
        "-l",
        str(data / "log"),
    ]
    started = _as_postgres(*ctl, "start")
    assert started.returncode == 0, started.stderr
    try:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE app")
        yield port, ctl
    finally:
        _as_postgres(*ctl, "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


# Requests until its stdin is closed; one line per round: when it started (the monotonic clock
# is the machine's, so comparable with the test's), then each response's status.
LOAD = """
import sys, threading, time
from flask_migrate import upgrade
from app import create_app
from app.db import db
from app.letters.letters import create_letter
from config import DevelopmentConfig
url = "postgresql+psycopg://postgres@127.0.0.1:PORT/app"
app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                 SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True,
                                            "connect_args": {"connect_timeout": 2}})
with app.app_context():
    upgrade()
    create_letter(db.session, slug="load", title="T", body="B", by=None)
    db.session.commit()
client = app.test_client()
print("ready", flush=True)
told_to_stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), told_to_stop.set()), daemon=True).start()
n = 0
while not told_to_stop.is_set():
    n += 1
    started = time.monotonic()
    statuses = [client.get("/letters/load").status_code]
    # The letter page is shared (cacheable), so the form fetches its token, as here.
    token = client.get("/csrf-token")
    if token.status_code == 200:
        form = dict(csrf_token=token.get_json()["csrf_token"], name=f"P{n}",
                    email=f"p{n}@example.org", affiliation="A", title="T", country="GB",
                    is_public="y")
        statuses.append(client.post("/letters/load/sign", data=form).status_code)
    print(started, *statuses, flush=True)
    time.sleep(0.05)
"""


def test_a_restart_under_load_gives_503s_then_recovers(own_postgres, tmp_path) -> None:
    port, ctl = own_postgres
    errors = tmp_path / "load.err"
    with errors.open("w") as err_file:
        load = subprocess.Popen(
            [sys.executable, "-c", LOAD.replace("PORT", str(port))],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_file,  # a file: a pipe nobody reads would fill and block the load
            text=True,
            env={**os.environ, "APP_ENV": "development"},
        )
    assert load.stdout is not None and load.stdin is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert load.stdout is not None
        for line in load.stdout:
            lines.put(line.strip())
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    rounds: list[tuple[float, list[int]]] = []

    def next_line() -> str | None:
        try:
            return lines.get(timeout=120)
        except queue.Empty:
            raise AssertionError(errors.read_text()[-2000:]) from None

    def next_round() -> tuple[float, list[int]]:
        line = next_line()
        assert line is not None, errors.read_text()[-2000:]
        started, *statuses = line.split()
        rounds.append((float(started), [int(s) for s in statuses]))
        return rounds[-1]

    try:
        assert next_line() == "ready"
        deadline = time.monotonic() + 120
        # Under load: signing works before the restart...
        while 303 not in next_round()[1]:
            assert time.monotonic() < deadline, f"no signature went through: {rounds[-5:]}"
        restarted = _as_postgres(*ctl, "-m", "fast", "restart")
        assert restarted.returncode == 0, restarted.stderr
        back = time.monotonic()
        # ...and again after it, by itself.
        deadline = time.monotonic() + 120
        while True:
            started, statuses = next_round()
            if started > back and 303 in statuses:
                break
            assert time.monotonic() < deadline, f"not recovered: {rounds[-5:]}"
        load.stdin.close()  # the load finishes its round and ends
        while (line := next_line()) is not None:
            started, *rest = line.split()
            rounds.append((float(started), [int(s) for s in rest]))
        assert load.wait(timeout=120) == 0, errors.read_text()[-2000:]
    finally:
        load.stdin.close()
        if load.poll() is None:
            load.kill()
            load.wait()
        reader.join(timeout=30)
        load.stdout.close()
    err = errors.read_text()
    statuses = [status for _, round_statuses in rounds for status in round_statuses]
    assert 500 not in statuses, err[-2000:]
    assert set(statuses) <= {200, 303, 503}
    assert statuses[-1] in (200, 303)
    stored = 0
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/app") as c:
        stored = c.execute("SELECT count(*) FROM signatures").fetchone()[0]
    # Every "check your email" (303) is a stored signature; nothing else was stored.
    assert stored == statuses.count(303)
