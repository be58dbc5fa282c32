"""Pages opened from links we emailed to one person: an invitation to sign before launch, keep
or withdraw a signature after the text changed, stop the news. Opening one changes nothing
that matters (mail scanners open links); only a button's POST does. Never cached, never sent
on as a Referer."""

from __future__ import annotations

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from app.db import db, utcnow
from app.extensions import csrf, limiter
from app.letters import letters
from app.models import Signature
from app.public import bp
from app.public.forms import (
    InvitationSignForm,
    MySignatureActionForm,
    MySignaturesForm,
    ReaffirmForm,
)
from app.public.views import link_page_limit, private, withdrawn_response
from app.signing import invitations, lifecycle, news_emails, reaffirm, signer_access
from app.signing.links import withdraw_url
from app.signing.settings import SigningSettings, signing_settings
from app.signing.tokens import TokenExpired
from app.support.markdown_html import render_markdown


@bp.route("/letters/<slug>/invitation/<token>", methods=["GET", "POST"])
@limiter.shared_limit(link_page_limit, scope="link-pages")
def invitation(slug: str, token: str) -> BaseResponse:
    """The letter for one invited person, with the form filled in from the organisers' list;
    signing here confirms at once. Works under embargo, only for its letter and person."""
    letter = letters.letter_for_link(db.session, slug)
    settings = signing_settings(current_app.config)
    now = utcnow()
    try:
        invited = invitations.invitation_from_token(
            db.session, letter, token, settings=settings, now=now
        )
    except TokenExpired:
        abort(410, gettext("This invitation has expired. Ask the organisers for a new one."))
    form = InvitationSignForm(
        data=None
        if invited.signed_at
        else {
            "name": invited.name,
            "affiliation": invited.affiliation,
            "title": invited.title,
            "country": invited.country or None,
        }
    )
    status = 200
    if invited.signed_at is None and form.validate_on_submit():
        answers = form.answers(language=str(get_locale()))
        if lifecycle.sign_from_invitation(db.session, letter, invited, answers, now=now):
            db.session.commit()
            return private(redirect(url_for("public.invitation", slug=slug, token=token), code=303))
        form.form_errors.append(
            gettext(
                "A signature from this address cannot be added here. Please contact the organisers."
            )
        )
    if form.errors:
        status = 422
    db.session.commit()  # the first opening, for the console
    is_open = letter.is_open(now)
    sign_form = Markup(  # noqa: S704 (a template's output, escaped by Jinja)
        render_template(
            "public/_sign_form.html",
            slug=slug,
            form=form,
            csrf_token=generate_csrf(),
            captcha=None,
            action=url_for("public.invitation", slug=slug, token=token),
            invited_email=invited.email,
        )
    )
    page = render_template(
        "public/invitation.html",
        letter=letter,
        invitation=invited,
        body_html=render_markdown(letter.body),
        sign_form=sign_form if is_open else None,
        withdraw_url=withdraw_url(settings, slug, invited.signature_id)
        if invited.signature_id
        else None,
    )
    return private(make_response(page, status))


@bp.route("/letters/<slug>/reaffirm/<token>", methods=["GET", "POST"])
@limiter.shared_limit(link_page_limit, scope="link-pages")
def reaffirm_signature(slug: str, token: str) -> BaseResponse:
    """After a change of substance: what changed since the text the signer agreed to, and two
    buttons, keep or withdraw. Opening it changes nothing (mail scanners open links)."""
    letter = letters.letter_for_link(db.session, slug)
    settings = signing_settings(current_app.config)
    try:
        signature = reaffirm.signature_to_reaffirm(db.session, letter, token, settings=settings)
    except TokenExpired:
        abort(410, gettext("This link has expired. Your signature stays on the letter."))
    form = ReaffirmForm()
    if form.validate_on_submit():
        if form.withdraw.data:
            lifecycle.withdraw(db.session, letter, signature, settings=settings)
            db.session.commit()
            return withdrawn_response(letter)
        reaffirm.keep(db.session, letter, signature, now=utcnow())
        db.session.commit()
        return private(redirect(url_for("public.reaffirm_signature", slug=slug, token=token), 303))
    agreed = reaffirm.agreed_version(signature)
    page = render_template(
        "public/reaffirm.html",
        letter=letter,
        signature=signature,
        agreed=agreed,
        changes=reaffirm.text_changes(db.session, letter, signature),
        form=form,
        token=token,
    )
    return private(make_response(page, 422 if form.errors else 200))


@bp.route("/letters/<slug>/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients post "List-Unsubscribe=One-Click" with no form token
# Pages only: one-click posts come from mail providers' servers by the thousand after an
# update, and a signed token cannot be guessed anyway.
@limiter.shared_limit(link_page_limit, scope="link-pages", methods=["GET"])
def unsubscribe(slug: str, token: str) -> BaseResponse:
    """Stop the news about this letter: one POST, no sign-in (RFC 8058 one-click, or the
    button on this page). Opening the link only shows the button. The POST is harmless to
    forge (it can only stop emails), hence no form token."""
    letter = letters.letter_for_link(db.session, slug)
    settings = signing_settings(current_app.config)
    try:
        signature = news_emails.signature_to_unsubscribe(
            db.session, letter, token, settings=settings
        )
    except TokenExpired:
        abort(410, gettext("This link has expired. Reply to any update to stop them."))
    stopped = request.method == "POST"
    if stopped:
        news_emails.stop_news(db.session, signature)
        db.session.commit()
    page = render_template(
        "public/unsubscribe.html",
        letter=letter,
        stopped=stopped or not signature.wants_news,
        token=token,
    )
    return private(make_response(page))


def _my_signatures_limit() -> str:
    return str(current_app.config["MY_SIGNATURES_RATE_LIMIT"])


@bp.route("/my-signatures", methods=["GET", "POST"])
@limiter.limit(_my_signatures_limit, methods=["POST"])
def my_signatures_request() -> BaseResponse:
    """Ask for the link to everything an address signed: the same answer whatever it signed.
    Per client, a limit; per mailbox, a cap on the emails (signer_access.request_access), not
    a limit, so that strangers asking for someone's address never lock its owner out."""
    form = MySignaturesForm()
    if form.validate_on_submit():
        settings = signing_settings(current_app.config)
        signer_access.request_access(
            db.session,
            form.email.data,
            language=str(get_locale()),
            settings=settings,
            now=utcnow(),
        )
        db.session.commit()
        page = render_template("public/my_signatures_sent.html")
        return private(make_response(page))
    page = render_template("public/my_signatures_request.html", form=form)
    return private(make_response(page, 422 if form.errors else 200))


@bp.route("/my-signatures/<token>", methods=["GET", "POST"])
@limiter.shared_limit(link_page_limit, scope="link-pages")
def my_signatures(token: str) -> BaseResponse:
    """Every letter the address signed, with a button for each thing a signer may change.
    Opening it changes nothing."""
    settings = signing_settings(current_app.config)
    try:
        access = signer_access.access_from_token(db.session, token, settings=settings)
    except TokenExpired:
        abort(410, gettext("This link has expired. Ask for a new one on the My signatures page."))
    form = MySignatureActionForm()
    if form.validate_on_submit():
        signature = signer_access.signature_of(db.session, access, form.signature.data or 0)
        _act(signature, form.action.data, settings)
        db.session.commit()
        return private(redirect(url_for("public.my_signatures", token=token), code=303))
    page = render_template(
        "public/my_signatures.html",
        signatures=signer_access.signatures_of(db.session, access),
        token=token,
        form=form,
    )
    return private(make_response(page, 422 if form.errors else 200))


def _act(signature: Signature, action: str | None, settings: SigningSettings) -> None:
    if action == "withdraw":
        lifecycle.withdraw(db.session, signature.letter, signature, settings=settings)
    elif action in ("show", "hide"):
        signer_access.set_listed(db.session, signature, action == "show")
    elif action in ("news-on", "news-off"):
        signer_access.set_news(db.session, signature, action == "news-on")
    else:
        abort(400, gettext("Choose what to do."))
