"""PostgreSQL restarted under load: clear 503 pages meanwhile, nothing half-written, and the
site recovers by itself. Runs against a throwaway PostgreSQL server of its own (never the
shared one), so the rest of the suite is untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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


LOAD = """
import sys, time, re
from flask_migrate import upgrade
from app import create_app
from app.db import db
from app.letters import create_letter
from config import DevelopmentConfig
url = "postgresql+psycopg://postgres@127.0.0.1:PORT/app"
app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                 SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True,
                                            "connect_args": {"connect_timeout": 2}})
with app.app_context():
    upgrade()
    create_letter(db.session, slug="load", title="T", body="B")
    db.session.commit()
client = app.test_client()
print("ready", flush=True)
statuses = []
end = time.time() + 9
n = 0
while time.time() < end:
    n += 1
    page = client.get("/letters/load")
    statuses.append(page.status_code)
    token = 'name="csrf_token" type="hidden" value="([^"]+)"'
    match = re.search(token, page.get_data(as_text=True))
    if match:
        form = dict(csrf_token=match.group(1), name=f"P{n}", email=f"p{n}@example.org",
                    affiliation="A", title="T", country="GB", is_public="y")
        statuses.append(client.post("/letters/load/sign", data=form).status_code)
    time.sleep(0.05)
print(" ".join(map(str, statuses)), flush=True)
"""


def test_a_restart_under_load_gives_503s_then_recovers(own_postgres) -> None:
    port, ctl = own_postgres
    load = subprocess.Popen(
        [sys.executable, "-c", LOAD.replace("PORT", str(port))],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "APP_ENV": "development"},
    )
    assert load.stdout is not None
    assert load.stdout.readline().strip() == "ready"
    time.sleep(2)
    restarted = _as_postgres(*ctl, "-m", "fast", "restart")
    assert restarted.returncode == 0, restarted.stderr
    out, err = load.communicate(timeout=120)
    statuses = [int(s) for s in out.split()]
    assert statuses, err[-2000:]
    assert 500 not in statuses, err[-2000:]
    assert set(statuses) <= {200, 303, 503}
    assert statuses[-1] in (200, 303)  # recovered by itself
    stored = 0
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/app") as c:
        stored = c.execute("SELECT count(*) FROM signatures").fetchone()[0]
    # Every "check your email" (303) is a stored signature; nothing else was stored.
    assert stored == statuses.count(303)
