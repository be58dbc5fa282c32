"""Configuration from the environment, and refusing to run production half-configured."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config import PROJECT_ROOT, database_url


def _start(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "BASE_URL"}}
    env["DATABASE_URL"] = "sqlite:///:memory:"
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({}, "SECRET_KEY and BASE_URL"),
        ({"SECRET_KEY": "s3cret"}, "BASE_URL"),
        ({"BASE_URL": "https://letters.example"}, "SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_secret_key_and_base_url(
    settings: dict[str, str], missing: str
) -> None:
    result = _start({"APP_ENV": "production", **settings})
    assert result.returncode == 3  # gunicorn stops rather than restarting workers forever
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Undersigned: refusing to start in production without {missing} "
        "(set them in the environment)."
    ]


def test_production_starts_when_configured() -> None:
    result = _start(
        {"APP_ENV": "production", "SECRET_KEY": "s3cret", "BASE_URL": "https://letters.example"}
    )
    assert result.returncode == 0, result.stderr


def test_production_is_the_default_environment() -> None:
    result = _start({"APP_ENV": None})
    assert result.returncode != 0
    assert "refusing to start in production" in result.stderr


def test_database_urls_use_psycopg_3_and_default_to_sqlite() -> None:
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert database_url(None).endswith("/instance/undersigned.db")
    assert database_url(None).startswith("sqlite:///")


def test_rate_limits_for_signing_and_links_can_be_raised_from_the_environment() -> None:
    """A campus behind one NAT address may need more during a launch."""
    env = {
        **os.environ,
        "SIGN_RATE_LIMIT": "500 per minute",
        "LINK_PAGE_RATE_LIMIT": "900 per minute",
    }
    shown = subprocess.run(
        [sys.executable, "-c", "from config import Config as C; "
         "print(C.SIGN_RATE_LIMIT, '|', C.LINK_PAGE_RATE_LIMIT)"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert shown.stdout.strip() == "500 per minute | 900 per minute"


@pytest.mark.parametrize(("value", "shown"), [("0", "0.0"), ("1.5", "1.5"), ("", "3.0")])
def test_the_page_replay_can_be_tuned_or_switched_off_from_the_environment(
    value: str, shown: str
) -> None:
    """Behind a CDN that keeps pages itself, an operator may want the replay off (0)."""
    printed = subprocess.run(
        [sys.executable, "-c", "from config import Config; print(Config.PAGE_CACHE_SECONDS)"],
        cwd=PROJECT_ROOT, env={**os.environ, "PAGE_CACHE_SECONDS": value},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert printed.stdout.strip() == shown


def test_a_replay_interval_that_is_not_a_number_stops_the_start() -> None:
    started = _start(
        {"SECRET_KEY": "s3cret", "BASE_URL": "https://x.example", "PAGE_CACHE_SECONDS": "soon"}
    )
    assert started.returncode != 0
    assert "PAGE_CACHE_SECONDS must be a number" in started.stderr
