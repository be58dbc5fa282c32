"""Undersigned: open letters, signed and confirmed by email. The application factory."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

import app.db as database  # not `from app.db import db`: that would hide the module app.db
from app.errors import N_, DomainError, InvalidInput, LetterClosed, NotFound, TooLarge
from app.extensions import cors, csrf, limiter, login_manager, migrate
from app.public.share_views import FRAMEABLE_ENDPOINTS
from app.signing import captcha
from app.signing.tokens import TokenInvalid
from app.support import http_cache, logging_setup, translation
from app.support.public_address import UNKNOWN_HOST, PublicAddress
from config import PROJECT_ROOT, Config, config_from_environment


def create_app(config: type[Config] | None = None, **overrides: Any) -> Flask:
    config = config or config_from_environment()
    config.check()
    logging_setup.configure(config.LOG_LEVEL)
    logging_setup.install()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(config)
    app.config.update(overrides)
    if app.config.get("BASE_URL"):
        # Innermost, so that nothing a request says (a proxy's headers included) reaches the
        # app's links: see support/public_address.py.
        app.wsgi_app = PublicAddress(  # type: ignore[method-assign]
            app.wsgi_app,
            app.config["BASE_URL"],
            trusted_hosts=app.config.get("TRUSTED_HOSTS"),
        )
    if app.config["PROXY_HOPS"] > 0:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (PROJECT_ROOT / "instance").mkdir(exist_ok=True)

    database.db.init_app(app)
    # Registered after Flask-SQLAlchemy's, so it runs first: a connection the database dropped
    # (a restart) must not turn the end of a request into an error.
    app.teardown_appcontext(_end_session_even_if_the_database_went_away)
    with app.app_context():
        database.configure_sqlite(database.db.engine)
    migrate.init_app(app, database.db, directory=str(PROJECT_ROOT / "migrations"))
    # The blueprints before CSRFProtect: a blueprint's before_app_request hooks then run
    # before CSRFProtect's, which reads the body (the console's import page allows a bigger
    # one than the rest of the site, and must say so first).
    _register_blueprints(app)
    csrf.init_app(app)
    cors.init_app(app)
    limiter.init_app(app)
    if (
        app.config.get("IS_PRODUCTION")
        and app.config["RATELIMIT_ENABLED"]
        and not app.config.get("REDIS_URL")
    ):
        logging.getLogger("undersigned").warning(
            "Rate limits are kept in this process's memory. With more than one worker process "
            "set REDIS_URL, or each worker counts on its own."
        )
    login_manager.init_app(app)
    translation.install(app)
    http_cache.install(app)

    from app.cli import register_commands

    register_commands(app)
    _register_error_pages(app)
    app.before_request(_writes_begin_immediately)
    app.after_request(_security_headers)
    return app


def _end_session_even_if_the_database_went_away(_error: BaseException | None) -> None:
    try:
        database.db.session.remove()
    except SQLAlchemyError:
        database.db.session.registry.clear()


def _register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.organiser import bp as organiser_bp
    from app.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(organiser_bp)
    csrf.exempt(api_bp)  # read-only JSON, no cookies involved


def _writes_begin_immediately() -> None:
    """A request that may write takes SQLite's write lock at the start of its transaction
    (see db.begin_writing), but only once its whole body is here: a client that sends a few
    bytes a minute must not hold every other signer (and the mail worker) waiting."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    if request.mimetype in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        request.form  # noqa: B018  (reads and parses the whole body, once, for the view too)
    else:
        request.get_data(cache=True)
    database.begin_writing(database.db.session)


@functools.cache
def _content_security_policy(captcha_provider: str | None, *, frameable: bool = False) -> str:
    # A captcha, when switched on, loads its script and frame from the provider.
    provider = captcha.PROVIDERS[captcha_provider] if captcha_provider else None
    scripts = " ".join(provider.script_src) if provider else ""
    frames = " ".join(provider.frame_src) if provider and provider.frame_src else "'none'"
    connects = " ".join(provider.connect_src) if provider else ""
    # The embeddable widget may be framed by any site; no other page by any.
    ancestors = "*" if frameable else "'none'"
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self' {scripts}; frame-src {frames}; connect-src 'self' {connects}; "
        f"form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    frameable = request.endpoint in FRAMEABLE_ENDPOINTS
    if not frameable:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    config = current_app.config
    if config.get("BASE_URL", "").startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers.setdefault(
        "Content-Security-Policy",
        _content_security_policy(config.get("CAPTCHA_PROVIDER"), frameable=frameable),
    )
    return response


_DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (TokenInvalid, 404),
    (NotFound, 404),
    (LetterClosed, 403),
    (InvalidInput, 400),
    (TooLarge, 413),
]

_TITLES = {
    400: N_("That request could not be understood"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    410: N_("Gone"),
    413: N_("Too much data"),
    422: N_("Please check your answers"),
    429: N_("Too many requests"),
    503: N_("Briefly unavailable"),
    500: N_("Something went wrong"),
}


def _error_response(status: int, message: str) -> tuple[Any, int]:
    if request.path.startswith("/api/"):
        return jsonify(error=message, status=status), status
    # Messages are written in English where they arise (the domain knows no request);
    # shown here, each is looked up in the page's language (N_ marks them for the catalogue).
    title = gettext(_TITLES.get(status, "Error"))
    page = render_template(
        "errors/error.html", status=status, title=title, message=gettext(message)
    )
    return page, status


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Any, int]:
        for kind, status in _DOMAIN_STATUS:
            if isinstance(error, kind):
                return _error_response(status, error.shown(gettext))
        return _error_response(400, error.shown(gettext))

    @app.errorhandler(OperationalError)
    def database_unavailable(_error: OperationalError) -> tuple[Any, int]:
        # The database is restarting or unreachable: nothing was stored, and it will be back.
        try:
            database.db.session.rollback()
        except SQLAlchemyError:
            database.db.session.registry.clear()
        return _error_response(
            503,
            N_(
                "The site is briefly unavailable. Nothing you sent was stored; please try again "
                "in a minute."
            ),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[Any, int]:
        return _error_response(
            400,
            N_(
                "This form has expired or was sent from somewhere else. "
                "Please go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if isinstance(error, SecurityError):
            # An untrusted Host header: no links can be built for it, so plain text.
            return Response(UNKNOWN_HOST, mimetype="text/plain"), 400
        status = error.code or 500
        messages = {
            404: N_(
                "There is nothing at this address. Check the link, or start from the home page."
            ),
            413: N_("What you sent is larger than any form here accepts. Please shorten it."),
            429: N_(
                "You have sent a lot of requests in a short time. Please wait a minute and try "
                "again; nothing you signed has been lost."
            ),
            500: N_("Something went wrong on our side. Please try again shortly."),
        }
        if status >= 500:
            database.db.session.rollback()
        # A description given to abort() is written for the reader; werkzeug's own and
        # Flask-Limiter's (the limit, "20 per 1 minute") are not.
        for_the_reader = error.description != type(error).description and not isinstance(
            error, RateLimitExceeded
        )
        message = (error.description if for_the_reader else messages.get(status)) or (
            error.description or ""
        )
        response = _error_response(status, message)
        return _with_retry_after(response, error) if status == 429 else response


def _with_retry_after(response: tuple[Any, int], error: HTTPException) -> Response:
    """A 429 says when to come back: when the window of the limit that was hit ends."""
    made = current_app.make_response(response)
    limit = limiter.current_limit if isinstance(error, RateLimitExceeded) else None
    if limit is not None:
        wait = max(1, int(limit.reset_at - time.time()))
    else:
        given = getattr(error, "retry_after", None)
        wait = given if isinstance(given, int) and given > 0 else 60
    made.headers["Retry-After"] = str(wait)
    return made
