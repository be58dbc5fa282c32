"""Configuration: the only place environment variables are read.

`APP_ENV` picks the class (development, testing or production; production by default, so a
bare `gunicorn wsgi:app` is safe). Production refuses to start without SECRET_KEY and BASE_URL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


#: gunicorn's "worker failed to boot" status: it stops the server instead of restarting workers.
EXIT_CONFIGURATION_ERROR = 3


def refuse_to_start(message: str) -> NoReturn:
    """A required setting is missing or wrong: say so in one line and exit."""
    print(message, file=sys.stderr)
    raise SystemExit(EXIT_CONFIGURATION_ERROR)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_N = TypeVar("_N", int, float)


def _int(name: str, default: int) -> int:
    return _number(name, default, int, "a whole number")


def _float(name: str, default: float) -> float:
    return _number(name, default, float, "a number")


def _number(name: str, default: _N, parse: Callable[[str], _N], what: str) -> _N:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return parse(value)
    except ValueError:
        refuse_to_start(f"Undersigned: {name} must be {what}, got {value!r}.")


def database_url(raw: str | None) -> str:
    """Normalise DATABASE_URL: default SQLite under instance/, PostgreSQL through psycopg 3."""
    if not raw:
        return f"sqlite:///{INSTANCE_DIR / 'undersigned.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


class Config:
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
    #: Earlier keys, comma-separated: links and sessions they signed keep working while
    #: SECRET_KEY signs everything new (key rotation).
    SECRET_KEY_FALLBACKS: list[str] = [
        key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
    ]
    BASE_URL: str | None = (os.environ.get("BASE_URL") or "").rstrip("/") or None
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}

    MAIL_SERVER: str | None = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME: str | None = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD: str | None = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = (
        os.environ.get("MAIL_DEFAULT_SENDER") or "Undersigned <no-reply@localhost>"
    )
    #: Seconds an idle mail worker waits before looking at the outbox again.
    MAIL_POLL_INTERVAL = 2.0

    #: Reverse proxies in front of the app that set X-Forwarded-For/-Proto. The client address
    #: (rate limits) is read that many hops back, never from a header a client could forge.
    PROXY_HOPS = _int("PROXY_HOPS", 0)

    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    REDIS_URL: str | None = os.environ.get("REDIS_URL") or None
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    #: X-RateLimit-* headers cost a Redis round trip per limited request; a 429 still says
    #: Retry-After. Only the sign form and link pages are limited, and browsers ignore them.
    RATELIMIT_HEADERS_ENABLED = False
    #: Redis down: limits fail open (each process counts in memory meanwhile) with a logged
    #: alert, rather than turning every page into a 500.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    #: Signing form posts per client address. A campus or company behind one NAT address may
    #: need more during a launch; raise it from the environment (limits syntax: "20 per minute").
    SIGN_RATE_LIMIT = os.environ.get("SIGN_RATE_LIMIT") or "20 per minute;200 per hour"
    #: Confirm and withdraw pages per client address: people open a few, guessers thousands.
    LINK_PAGE_RATE_LIMIT = os.environ.get("LINK_PAGE_RATE_LIMIT") or "30 per minute;300 per hour"
    #: "Check a list" (page and API) per client address: each check may ask about 500 names.
    CHECK_RATE_LIMIT = os.environ.get("CHECK_RATE_LIMIT") or "10 per minute;100 per hour"

    #: Optional hosted captcha: hcaptcha, turnstile or friendlycaptcha (off when unset).
    CAPTCHA_PROVIDER: str | None = (os.environ.get("CAPTCHA_PROVIDER") or "").lower() or None
    CAPTCHA_SITE_KEY: str | None = os.environ.get("CAPTCHA_SITE_KEY") or None
    CAPTCHA_SECRET: str | None = os.environ.get("CAPTCHA_SECRET") or None
    #: Only for tests against a local stand-in of the provider's verify endpoint.
    CAPTCHA_VERIFY_URL: str | None = os.environ.get("CAPTCHA_VERIFY_URL") or None

    CONFIRM_MAX_AGE = _int("CONFIRM_MAX_AGE", 7 * 24 * 3600)
    #: Hours after signing before the one reminder to confirm goes out (`signatures remind`,
    #: from cron); 0 sends none.
    CONFIRM_REMINDER_HOURS = _int("CONFIRM_REMINDER_HOURS", 24)
    #: Withdraw links ride in the confirmation email and must outlive the campaign.
    WITHDRAW_MAX_AGE = 2 * 365 * 24 * 3600
    #: Invitation links to sign before a launch: founding signatories may take weeks.
    INVITATION_MAX_AGE = _int("INVITATION_MAX_AGE", 60 * 24 * 3600)
    #: The link to everything one address signed (/my-signatures).
    MY_SIGNATURES_MAX_AGE = _int("MY_SIGNATURES_MAX_AGE", 24 * 3600)
    #: Asking for that link, per client address (each asks for an email).
    MY_SIGNATURES_RATE_LIMIT = os.environ.get("MY_SIGNATURES_RATE_LIMIT") or "5 per hour"
    #: Emails with that link one mailbox receives in an hour at most, however many clients ask:
    #: beyond, the page answers as ever and no email goes (the owner is never locked out).
    MY_SIGNATURES_EMAILS_PER_HOUR = _int("MY_SIGNATURES_EMAILS_PER_HOUR", 3)
    #: Pending signatures older than this are deleted by `signatures purge`.
    PENDING_RETENTION_DAYS = _int("PENDING_RETENTION_DAYS", 14)
    #: Sent or failed emails (which hold addresses) are deleted after this many days.
    EMAIL_RETENTION_DAYS = 30
    #: Confirmation or "already signed" emails one signature may trigger in total.
    MAX_EMAILS_PER_SIGNATURE = 5

    #: Nothing a signer posts comes near this; bigger bodies get 413.
    MAX_CONTENT_LENGTH = 64 * 1024
    WTF_CSRF_TIME_LIMIT: int | None = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SIGNATORIES_PAGE_SIZE = 50
    #: Pages everyone sees alike (letter, public list, API) are rendered at most once per this
    #: many seconds per worker process; 0 renders every time (see app/support/http_cache.py).
    PAGE_CACHE_SECONDS = _float("PAGE_CACHE_SECONDS", 3.0)
    #: How long a CDN or reverse proxy may serve them without asking (s-maxage), may serve a
    #: stale copy while it asks again in the background, and may serve one while the app fails.
    HTTP_SHARED_MAX_AGE = 10
    HTTP_STALE_WHILE_REVALIDATE = 60
    HTTP_STALE_IF_ERROR = 600
    #: New signatures from one email domain within an hour that raise an alert in the console.
    TRENDING_THRESHOLD = 50
    #: The console's import page alone accepts uploads this big.
    IMPORT_MAX_BYTES = 64 * 1024 * 1024

    #: Console sessions end after this long without a request.
    ORGANISER_IDLE_TIMEOUT = _int("ORGANISER_IDLE_TIMEOUT", 30 * 60)
    #: Failed attempts at a password or a second-factor code (signing in, turning the second
    #: factor on or off), counted together. Tight per account from one client address: that
    #: address is stopped, and only that one, so a stranger cannot lock the owner out.
    LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
    #: Per client address, whichever accounts it tries.
    LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    #: Per account from all addresses together: a ceiling that slows a guesser spread over many
    #: addresses. The owner's own browser, known from an earlier sign-in, is exempt from it.
    LOGIN_LIMIT_PER_ACCOUNT = "100 per hour"
    SITE_NAME = "Undersigned"
    #: The least serious log records written to stderr (DEBUG, INFO, WARNING, ERROR).
    LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").strip().upper()

    @classmethod
    def check(cls) -> None:
        """Fail fast on settings this environment cannot run without."""
        cls.check_common()

    @classmethod
    def check_common(cls) -> None:
        cls.check_captcha()
        if cls.LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            refuse_to_start(
                "Undersigned: LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                f"got {cls.LOG_LEVEL!r}."
            )

    @classmethod
    def check_captcha(cls) -> None:
        if cls.CAPTCHA_PROVIDER is None:
            return
        if cls.CAPTCHA_PROVIDER not in {"hcaptcha", "turnstile", "friendlycaptcha"}:
            refuse_to_start(
                "Undersigned: CAPTCHA_PROVIDER must be hcaptcha, turnstile or friendlycaptcha."
            )
        if not (cls.CAPTCHA_SITE_KEY and cls.CAPTCHA_SECRET):
            refuse_to_start("Undersigned: a captcha needs CAPTCHA_SITE_KEY and CAPTCHA_SECRET.")


class DevelopmentConfig(Config):
    DEBUG = False
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"
    BASE_URL = Config.BASE_URL or "http://127.0.0.1:5000"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105  (tests only)
    BASE_URL = "http://signing.test"
    SQLALCHEMY_DATABASE_URI = database_url(
        os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    )
    # Limits stay on so tests go through them; generous, except where a test tightens them.
    SIGN_RATE_LIMIT = "10000 per minute"
    LINK_PAGE_RATE_LIMIT = "10000 per minute"
    CHECK_RATE_LIMIT = "10000 per minute"
    MAIL_SERVER = None
    # Each test sees its own writes at once; tests of the page cache switch it on.
    PAGE_CACHE_SECONDS = 0.0


class ProductionConfig(Config):
    IS_PRODUCTION = True
    SESSION_COOKIE_SECURE = (Config.BASE_URL or "").startswith("https://")
    #: Requests for any other host get a 400 (Host header attacks).
    TRUSTED_HOSTS = [urlsplit(Config.BASE_URL).hostname] if Config.BASE_URL else None
    #: ... and so do those for BASE_URL's host on another port (app/support/public_address.py).

    @classmethod
    def check(cls) -> None:
        cls.check_common()
        missing = [name for name in ("SECRET_KEY", "BASE_URL") if not getattr(cls, name)]
        if missing:
            refuse_to_start(
                f"Undersigned: refusing to start in production without {' and '.join(missing)} "
                "(set them in the environment)."
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    name = (os.environ.get("APP_ENV") or "production").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        refuse_to_start(f"Undersigned: APP_ENV must be one of {', '.join(CONFIGS)}, got {name!r}.")
