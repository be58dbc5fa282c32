"""Security hardening: headers, key rotation, trusted hosts, dependency floors."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

from flask import Flask
from flask.testing import FlaskClient
from packaging.version import Version

from app.signing.tokens import TokenPurpose, make_token, read_token
from config import PROJECT_ROOT
from tests.factories import make_letter


def test_installed_versions_are_above_the_known_advisories() -> None:
    # Flask < 3.1.3: CVE-2026-27205 (and CVE-2023-30861 before it); Werkzeug < 3.0.6: the
    # multipart denial-of-service advisories CVE-2023-46136 and CVE-2024-49767.
    assert Version(version("flask")) >= Version("3.1.3")
    assert Version(version("werkzeug")) >= Version("3.0.6")


def test_pages_send_opener_policy_and_hsts_only_for_https(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    make_letter(session, slug="headers")
    plain = client.get("/letters/headers")
    assert plain.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in plain.headers
    assert "unsafe-inline" not in plain.headers["Content-Security-Policy"]
    monkeypatch.setitem(app.config, "BASE_URL", "https://letters.example")
    secure = client.get("/letters/headers")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_links_signed_with_an_old_key_still_work_after_rotation() -> None:
    old = make_token("old-key", TokenPurpose.CONFIRM, 42)
    assert read_token(("old-key", "new-key"), TokenPurpose.CONFIRM, old, max_age=60) == 42
    new = make_token(("old-key", "new-key"), TokenPurpose.CONFIRM, 7)
    assert read_token("new-key", TokenPurpose.CONFIRM, new, max_age=60) == 7


def test_production_trusts_only_the_base_url_host_and_secures_cookies() -> None:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "s3cret",
        "BASE_URL": "https://letters.example",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    script = (
        "from wsgi import app\n"
        "c = app.test_client()\n"
        "print(c.get('/privacy', headers={'Host': 'evil.example'}).status_code)\n"
        "print(c.get('/privacy', headers={'Host': 'letters.example'}).status_code)\n"
        "print(app.config['SESSION_COOKIE_SECURE'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.split() == ["400", "200", "True"], result.stderr


def test_rate_limit_keys_in_redis_hold_no_client_address_or_email(tmp_path) -> None:
    """Limited requests of every kind, counted in Redis: the keys hold the keyed hash the
    database keeps (app.signing.defences.client_hash), never the address or a typed email. Run
    in its own process, since the limiter's storage is process-wide."""
    redis_url = "redis://127.0.0.1:6379/11"
    script = f"""
import redis
from flask_migrate import upgrade
from app import create_app
from app.db import db
from app.signing.defences import client_hash
from app.letters.letters import create_letter
from config import DevelopmentConfig
store = redis.Redis.from_url("{redis_url}")
store.flushdb()
app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI="sqlite:///{tmp_path}/k.db",
                 RATELIMIT_STORAGE_URI="{redis_url}", LINK_PAGE_RATE_LIMIT="3 per minute",
                 LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS="2 per minute")
with app.app_context():
    upgrade()
    create_letter(db.session, slug="keys", title="T", body="B", by=None)
    db.session.commit()
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
token = client.get("/csrf-token").json["csrf_token"]
form = dict(csrf_token=token, name="Ada", email="ada@example.org", affiliation="X", title="Y",
            country="GB", is_public="y")
statuses = [client.post("/letters/keys/sign", data=form).status_code]
statuses += [client.get("/letters/keys/confirm/guess").status_code]
resend = client.post("/letters/keys/confirm/guess/resend", data=dict(csrf_token=token))
statuses += [resend.status_code]
statuses += [client.get("/letters/keys/withdraw/guess").status_code]
statuses += [client.get("/letters/keys/withdraw/guess").status_code]
login = dict(csrf_token=token, email="Someone.Typed@Example.org", password="wrong guess!!")
statuses += [client.post("/admin/login", data=login).status_code for _ in range(3)]
print(*statuses)
keys = [key.decode() for key in store.keys("*")]
print(len(keys))
print(any("203.0.113.77" in key or "203-0-113-77" in key for key in keys))
print(any("example.org" in key.lower() for key in keys))
print(any(client_hash(app.config["SECRET_KEY"], "203.0.113.77") in key for key in keys))
store.flushdb()
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "APP_ENV": "development"},
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert len(lines) == 5, result.stderr[-3000:]
    # Signed; three link pages within the budget, the fourth refused; two failed sign-ins, the
    # third refused.
    assert lines[0] == "303 404 404 404 429 200 200 429"
    assert int(lines[1]) >= 5
    assert lines[2:] == ["False", "False", "True"]
