"""Security hardening: headers, key rotation, trusted hosts, dependency floors."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

from flask import Flask
from flask.testing import FlaskClient
from packaging.version import Version

from app.tokens import TokenPurpose, make_token, read_token
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
