"""Signing organisers in and out: passwords, the optional second factor, idle timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from app import audit, organisers
from app.db import db, utcnow
from app.errors import InvalidInput
from app.extensions import limiter, login_manager
from app.models import Organiser
from app.organiser import bp
from app.organiser.forms import CodeForm, ConfirmActionForm, LoginForm

FAILED_LOGIN = "That email address and password do not match an organiser account."
PUBLIC_ENDPOINTS = {"organiser.login", "organiser.login_code"}


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


def _login_account_key() -> str:
    return "login:" + organisers.normalise_login(request.form.get("email", ""))[:320]


def _failed(response: BaseResponse) -> bool:
    return response.status_code != 303


def _safe_next(target: str | None) -> str:
    # Only paths inside the console: never an open redirect to another site.
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("organiser.home")


def _start_session(organiser: Organiser, next_url: str | None) -> BaseResponse:
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(organiser)
    session["seen_at"] = time.time()
    organisers.record_login(db.session, organiser, now=utcnow())
    audit.record(db.session, organiser, "account.sign_in", address=request.remote_addr)
    db.session.commit()
    return redirect(_safe_next(next_url), code=303)


#: A view function, kept as it is by the decorator.
F = TypeVar("F", bound=Callable[..., Any])


def _sign_in_limits(account_key: Callable[[], str]) -> Callable[[F], F]:
    """Failed attempts counted per client address and per account, on both sign-in steps."""

    def decorate(view: F) -> F:
        per_account = limiter.limit(
            lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
            methods=["POST"],
            key_func=account_key,
            deduct_when=_failed,
        )
        per_address = limiter.limit(
            lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
            methods=["POST"],
            deduct_when=_failed,
        )
        return cast(F, per_address(per_account(view)))

    return decorate


@bp.route("/login", methods=["GET", "POST"])
@_sign_in_limits(_login_account_key)
def login() -> BaseResponse | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        organiser = organisers.authenticate(db.session, form.email.data, form.password.data)
        if organiser is not None and organiser.totp_secret:
            session.clear()
            session["pending_login"] = organiser.get_id()
            session["pending_since"] = time.time()
            session["pending_next"] = request.args.get("next", "")
            return redirect(url_for("organiser.login_code"), code=303)
        if organiser is not None:
            return _start_session(organiser, request.args.get("next"))
        form.password.errors = [FAILED_LOGIN]
        return render_template("organiser/login.html", form=form), 200
    status = 422 if request.method == "POST" else 200
    return render_template("organiser/login.html", form=form), status


def _pending_organiser() -> Organiser | None:
    started = session.get("pending_since", 0)
    if time.time() - started > 300:  # five minutes to type the code
        return None
    return organisers.organiser_by_session_id(db.session, session.get("pending_login", ""))


def _pending_account_key() -> str:
    return "code:" + str(session.get("pending_login", "")).partition(":")[0]


@bp.route("/login/code", methods=["GET", "POST"])
@_sign_in_limits(_pending_account_key)
def login_code() -> BaseResponse | tuple[str, int]:
    organiser = _pending_organiser()
    if organiser is None or not organiser.totp_secret:
        session.clear()
        flash("Please sign in again.")
        return redirect(url_for("organiser.login"), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        if organisers.use_totp_code(db.session, organiser, form.code.data, now=utcnow()):
            return _start_session(organiser, session.get("pending_next"))
        form.code.errors = ["That code is not right. Codes change every 30 seconds."]
    return render_template("organiser/login_code.html", form=form), 200


@bp.post("/logout")
def logout() -> BaseResponse:
    if not ConfirmActionForm().validate_on_submit():
        abort(400)
    organisers.end_sessions(db.session, current_user)
    audit.record(db.session, current_user, "account.sign_out")
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("organiser.login"), code=303)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> BaseResponse | str:
    organiser: Organiser = current_user
    form = CodeForm()
    if organiser.totp_secret:
        if form.validate_on_submit():
            if organisers.totp_code_is_valid(organiser.totp_secret, form.code.data, now=utcnow()):
                organisers.disable_totp(db.session, organiser)
                audit.record(db.session, organiser, "account.two_factor_off")
                db.session.commit()
                flash("Two-factor sign-in is off.")
                return redirect(url_for("organiser.two_factor"), code=303)
            form.code.errors = ["That code is not right."]
        return render_template("organiser/two_factor.html", form=form, enabled=True)
    secret = session.get("totp_setup") or organisers.new_totp_secret()
    session["totp_setup"] = secret
    if form.validate_on_submit():
        try:
            organisers.enable_totp(db.session, organiser, secret, form.code.data, now=utcnow())
        except InvalidInput as error:
            form.code.errors = [str(error)]
        else:
            audit.record(db.session, organiser, "account.two_factor_on")
            db.session.commit()
            session.pop("totp_setup", None)
            flash("Two-factor sign-in is on. You will need a code each time you sign in.")
            return redirect(url_for("organiser.two_factor"), code=303)
    uri = organisers.totp_uri(secret, organiser.email, current_app.config["SITE_NAME"])
    return render_template(
        "organiser/two_factor.html", form=form, enabled=False, secret=secret, uri=uri
    )
