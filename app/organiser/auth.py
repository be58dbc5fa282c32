"""Signing organisers in and out: passwords, the optional second factor, idle timeout, and the
limits on failed attempts at a password or a code."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from app.accounts import organisers
from app.db import db, utcnow
from app.errors import InvalidInput
from app.extensions import client_key, limit_key, limiter, login_manager
from app.models import Organiser
from app.organiser import bp
from app.organiser.forms import (
    CodeForm,
    ConfirmActionForm,
    LoginForm,
    TwoFactorForm,
    redirect_target,
)
from app.support.text import mailbox_key, normalise

FAILED_LOGIN = "That email address and password do not match an organiser account."
PUBLIC_ENDPOINTS = {"organiser.login", "organiser.login_code"}


login_manager.login_view = "organiser.login"


@login_manager.user_loader
def _load_organiser(session_id: str) -> Organiser | None:
    return organisers.organiser_by_session_id(db.session, session_id)


@bp.before_request
def _signed_in_and_not_idle() -> BaseResponse | None:
    """Every /admin page needs a signed-in organiser who has not been idle too long."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    now = time.time()
    seen = session.get("seen_at", now)
    if now - seen > current_app.config["ORGANISER_IDLE_TIMEOUT"]:
        logout_user()
        session.clear()
        flash("You were signed out after a while without activity. Please sign in again.")
        return redirect(url_for("organiser.login", next=request.path))
    session["seen_at"] = now
    return None


@bp.after_request
def _never_cached(response: BaseResponse) -> BaseResponse:
    # Console pages hold personal data.
    response.headers["Cache-Control"] = "no-store"
    return response


def _failed(response: BaseResponse) -> bool:
    return response.status_code != 303


def _next_page(target: str | None) -> str:
    """Where to go after signing in: a page inside the console, never another site."""
    home = url_for("organiser.home")
    return redirect_target(target, inside=home, default=home)


#: A cookie a browser gets at each full sign-in, naming the account (as a keyed hash): the
#: owner's own browser then passes the per-account ceiling on failed sign-ins, which strangers
#: guessing from many addresses reach, so nobody can lock the owner out of their account.
KNOWN_BROWSER_COOKIE = "known_browser"
KNOWN_BROWSER_SALT = "undersigned.known-browser"
KNOWN_BROWSER_MAX_AGE = 365 * 24 * 3600


def _known_browsers() -> URLSafeTimedSerializer:
    config = current_app.config
    keys = [*config.get("SECRET_KEY_FALLBACKS", ()), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=KNOWN_BROWSER_SALT)


def _is_known_browser(account: str) -> bool:
    token = request.cookies.get(KNOWN_BROWSER_COOKIE, "")
    try:
        known = _known_browsers().loads(token, max_age=KNOWN_BROWSER_MAX_AGE) if token else None
    except BadSignature:
        return False
    return isinstance(known, str) and hmac.compare_digest(known, account)


def _account_key(login: str) -> str:
    """The account an attempt is on, as the limits count it: a keyed hash of its email."""
    # Spelt as the form reads it (Unicode NFC, trimmed), so no spelling gets a counter of its own.
    return limit_key("account:" + mailbox_key(normalise(login[:400]))[:320])


def _start_session(organiser: Organiser, next_page: str) -> BaseResponse:
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(organiser)
    session["seen_at"] = time.time()
    organisers.record_login(db.session, organiser, now=utcnow(), address=request.remote_addr)
    db.session.commit()
    response = redirect(next_page, code=303)
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        _known_browsers().dumps(_account_key(organiser.email)),
        max_age=KNOWN_BROWSER_MAX_AGE,
        path=url_for("organiser.home"),
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response


#: A view function, kept as it is by the decorator.
F = TypeVar("F", bound=Callable[..., Any])


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def _sign_in_limits(account: Callable[[], str]) -> Callable[[F], F]:
    """Failed attempts at a password or a code, counted alike on every page that checks one
    (signing in, its code step, turning the second factor on or off):

    - per account from one client address, tightly: a guesser's address is soon stopped, and
      only that address;
    - per client address, on any accounts;
    - per account from everywhere, a much higher ceiling against a guesser spread over many
      addresses. The owner's own browser (known from an earlier sign-in) is exempt from it:
      strangers can slow guessing down, but cannot lock the owner out.
    """

    def decorate(view: F) -> F:
        per_account_and_address = limiter.shared_limit(
            _setting("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"),
            scope="sign-in:account+address",
            key_func=lambda: f"{account()}:{client_key()}",
            methods=["POST"],
            deduct_when=_failed,
        )
        per_address = limiter.shared_limit(
            _setting("LOGIN_LIMIT_PER_ADDRESS"),
            scope="sign-in:address",
            methods=["POST"],
            deduct_when=_failed,
        )
        per_account = limiter.shared_limit(
            _setting("LOGIN_LIMIT_PER_ACCOUNT"),
            scope="sign-in:account",
            key_func=account,
            exempt_when=lambda: _is_known_browser(account()),
            methods=["POST"],
            deduct_when=_failed,
        )
        return cast(F, per_account_and_address(per_address(per_account(view))))

    return decorate


def _login_account() -> str:
    return _account_key(request.form.get("email", ""))


@bp.route("/login", methods=["GET", "POST"])
@_sign_in_limits(_login_account)
def login() -> BaseResponse | tuple[str, int]:
    form = LoginForm()
    next_page = _next_page(request.args.get("next"))  # checked before anything is done
    if form.validate_on_submit():
        organiser = organisers.authenticate(db.session, form.email.data, form.password.data)
        if organiser is not None and organiser.totp_secret:
            session.clear()
            session["pending_login"] = organiser.get_id()
            session["pending_account"] = _account_key(organiser.email)
            session["pending_since"] = time.time()
            session["pending_next"] = next_page
            return redirect(url_for("organiser.login_code"), code=303)
        if organiser is not None:
            return _start_session(organiser, next_page)
        form.password.errors = [FAILED_LOGIN]
        return render_template("organiser/login.html", form=form), 200
    status = 422 if request.method == "POST" else 200
    return render_template("organiser/login.html", form=form), status


def _pending_organiser() -> Organiser | None:
    started = session.get("pending_since", 0)
    if time.time() - started > 300:  # five minutes to type the code
        return None
    return organisers.organiser_by_session_id(db.session, session.get("pending_login", ""))


def _pending_account() -> str:
    return str(session.get("pending_account", "")) or "-"


@bp.route("/login/code", methods=["GET", "POST"])
@_sign_in_limits(_pending_account)
def login_code() -> BaseResponse | tuple[str, int]:
    organiser = _pending_organiser()
    if organiser is None or not organiser.totp_secret:
        session.clear()
        flash("Please sign in again.")
        return redirect(url_for("organiser.login"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        if organisers.use_totp_code(db.session, organiser, form.code.data, now=utcnow()):
            return _start_session(organiser, _next_page(session.get("pending_next")))
        form.code.errors = ["That code is not right. Codes change every 30 seconds."]
    return render_template("organiser/login_code.html", form=form), 200


@bp.post("/logout")
def logout() -> BaseResponse:
    if not ConfirmActionForm().validate_on_submit():
        abort(400)
    organisers.end_sessions(db.session, current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("organiser.login"), code=303)


def _own_account() -> str:
    return _account_key(current_user.email) if current_user.is_authenticated else "-"


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@_sign_in_limits(_own_account)
def two_factor() -> BaseResponse | tuple[str, int]:
    """Turning the second factor on or off takes the password and an unused code, and wrong
    tries count towards the sign-in limits: a borrowed session is not the account."""
    organiser: Organiser = current_user
    form = TwoFactorForm()
    enabled = organiser.totp_secret is not None
    secret = None if enabled else session.get("totp_setup") or organisers.new_totp_secret()
    if secret:
        session["totp_setup"] = secret
    if form.validate_on_submit():
        try:
            if secret is None:
                organisers.disable_totp(
                    db.session,
                    organiser,
                    password=form.password.data,
                    code=form.code.data,
                    now=utcnow(),
                )
            else:
                organisers.enable_totp(
                    db.session,
                    organiser,
                    secret,
                    password=form.password.data,
                    code=form.code.data,
                    now=utcnow(),
                )
        except organisers.WrongPassword as error:
            form.password.errors = [str(error)]
        except InvalidInput as error:
            form.code.errors = [str(error)]
        else:
            db.session.commit()
            session.pop("totp_setup", None)
            flash(
                "Two-factor sign-in is off."
                if enabled
                else "Two-factor sign-in is on. You will need a code each time you sign in."
            )
            return redirect(url_for("organiser.two_factor"), code=303)
    uri = (
        organisers.totp_uri(secret, organiser.email, current_app.config["SITE_NAME"])
        if secret
        else None
    )
    page = render_template(
        "organiser/two_factor.html", form=form, enabled=enabled, secret=secret, uri=uri
    )
    return page, 422 if form.errors else 200
