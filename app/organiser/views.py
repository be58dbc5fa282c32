"""Console pages. Thin: check the organiser's role, call one domain function, commit, redirect."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.accounts import organisers
from app.db import db, utcnow
from app.errors import InvalidInput
from app.letters import letters
from app.models import Letter, LetterStatus, OrganiserRole
from app.moderation import operations
from app.organiser import bp
from app.organiser.forms import ConfirmActionForm, LetterForm, TeamForm
from app.signatories import overview, public_list
from app.signing import defences
from app.signing.settings import signing_settings
from app.support.http_cache import console_changed
from app.support.markdown_html import render_markdown


@bp.after_request
def _public_pages_follow_the_console(response: BaseResponse) -> BaseResponse:
    """A change a signed-in organiser made to a letter (or a new letter) is on the public pages
    at the next request, in every worker. Only those: a sign-in or an anonymous post must not
    be a way to switch every worker's replay off."""
    changes_a_letter = "slug" in (request.view_args or {}) or request.endpoint == (
        "organiser.new_letter"
    )
    if (
        request.method == "POST"
        and response.status_code < 400
        and changes_a_letter
        and current_user.is_authenticated
    ):
        console_changed()
    return response


def letter_of_mine(
    slug: str, needed: OrganiserRole = OrganiserRole.VIEWER
) -> tuple[Letter, OrganiserRole]:
    """The letter if the signed-in organiser has at least `needed` on it; 404 otherwise."""
    return organisers.letter_for(db.session, current_user, slug, needed)


def require_button() -> None:
    """A console button's POST must carry its form token (ConfirmActionForm); 400 otherwise."""
    if not ConfirmActionForm().validate_on_submit():
        abort(400)


def render_letter_page(template: str, letter: Letter, role: OrganiserRole, **context: Any) -> str:
    """A page under a letter's console header (title, status, tools). Counting a million
    signatures takes a while, so only the overview counts; the other pages stay fast."""
    return render_template(template, letter=letter, role=role, **context)


@bp.get("/")
def home() -> str:
    mine = organisers.letters_of(db.session, current_user)
    counts = public_list.verified_counts(db.session, [letter.id for letter, _ in mine])
    return render_template("organiser/home.html", letters=mine, counts=counts)


@bp.route("/letters/new", methods=["GET", "POST"])
def new_letter() -> BaseResponse | tuple[str, int]:
    # Anyone invited to one letter must not be able to publish letters of their own.
    if not current_user.is_superuser:
        abort(404)
    return _letter_form(None)


@bp.route("/letters/<slug>/edit", methods=["GET", "POST"])
def edit_letter(slug: str) -> BaseResponse | tuple[str, int]:
    letter, _ = letter_of_mine(slug, OrganiserRole.OWNER)
    return _letter_form(letter)


def _letter_form(letter: Letter | None) -> BaseResponse | tuple[str, int]:
    """The create (letter None) and edit form: preview, or save and go to the letter."""
    shown = None if request.method == "POST" or letter is None else _letter_fields(letter)
    form = LetterForm(obj=shown)
    preview = None
    if form.validate_on_submit():
        if "preview" in request.form:
            preview = render_markdown(form.body.data)
        else:
            try:
                saved, message = _save_letter(form, letter)
            except InvalidInput as error:
                (form.slug if letter is None else form.body).errors = [str(error)]
            else:
                db.session.commit()
                flash(message)
                return redirect(url_for("organiser.letter", slug=saved.slug), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "organiser/letter_form.html", form=form, preview=preview, letter=letter
    ), status


def _save_letter(form: LetterForm, letter: Letter | None) -> tuple[Letter, str]:
    common = {
        "title": form.title.data,
        "body": form.body.data,
        "status": LetterStatus(form.status.data),
        "closes_at": form.closing_time(),
        "target": form.target.data,
        "organisers_name": form.organisers_name.data or "",
        "language": form.language.data or "en",
        "by": current_user,
    }
    if letter is None:
        created = letters.create_letter(db.session, slug=form.slug.data or "", **common)
        return created, "Letter created."
    change = letters.update_letter(
        db.session,
        letter,
        now=utcnow(),
        substantive=form.edit_kind.data == "substance",
        sender_domain=signing_settings(current_app.config).sender_domain,
        watch_names=(form.watch_names.data or "").splitlines(),
        blocked_domains=(form.blocked_domains.data or "").splitlines(),
        blocked_ranges=(form.blocked_ranges.data or "").splitlines(),
        milestones=form.milestone_counts(),
        **common,
    )
    if change.new_version:
        return letter, f"Saved as version {letter.version}; earlier signers keep the text they saw."
    return letter, "Saved."


def _letter_fields(letter: Letter) -> SimpleNamespace:
    """The letter as the edit form shows it."""
    return SimpleNamespace(
        slug=letter.slug,
        title=letter.title,
        body=letter.body,
        status=letter.status.value,
        closes_at=letter.closes_at.isoformat() if letter.closes_at else "",
        target=letter.target,
        watch_names="\n".join(letter.watch_names or []),
        blocked_domains="\n".join(letter.blocked_domains or []),
        blocked_ranges="\n".join(letter.blocked_ranges or []),
        milestones=", ".join(str(count) for count in letter.milestones or []),
        organisers_name=letter.organisers_name,
        language=letter.language,
    )


@bp.get("/letters/<slug>")
def letter(slug: str) -> str:
    found, role = letter_of_mine(slug)
    return render_letter_page(
        "organiser/overview.html",
        found,
        role,
        overview=overview.overview(db.session, found, today=utcnow().date()),
        failed_emails=operations.failed_email_count(db.session, found),
        trending_blocks=defences.trending_blocks(
            db.session, found, now=utcnow(), threshold=current_app.config["TRENDING_THRESHOLD"]
        ),
        trending=defences.trending_domains(
            db.session, found, now=utcnow(), threshold=current_app.config["TRENDING_THRESHOLD"]
        ),
    )


@bp.route("/letters/<slug>/team", methods=["GET", "POST"])
def team(slug: str) -> BaseResponse | tuple[str, int]:
    letter, role = letter_of_mine(slug)
    form = TeamForm()
    if request.method == "POST":
        letter, role = letter_of_mine(slug, OrganiserRole.OWNER)
        if form.validate_on_submit() and _grant_from(form, letter):
            db.session.commit()
            # The same words whether or not the address has an account: the form must not
            # tell anyone which addresses do.
            flash(
                f"If {form.email.data} has an organiser account, it is now {form.role.data} of "
                "this letter."
            )
            return redirect(url_for("organiser.team", slug=slug), code=303)
    page = render_letter_page(
        "organiser/team.html",
        letter,
        role,
        members=organisers.team_of(db.session, letter),
        form=form,
        remove_form=ConfirmActionForm(),
    )
    return page, 422 if form.errors else 200


def _grant_from(form: TeamForm, letter: Letter) -> bool:
    """Apply the team form; False (with the error on the form) when it cannot be done. An
    address without an account counts as done: nothing changes, and nothing says so."""
    member = organisers.find_organiser(db.session, form.email.data)
    if member is None:
        return True
    try:
        organisers.change_role(
            db.session, letter, member, OrganiserRole(form.role.data), by=current_user
        )
    except InvalidInput as error:
        form.role.errors = [str(error)]
        return False
    return True


@bp.post("/letters/<slug>/team/<int:organiser_id>/remove")
def remove_team_member(slug: str, organiser_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.OWNER)
    require_button()
    removed = organisers.remove_from_team(db.session, letter, organiser_id, by=current_user)
    db.session.commit()
    flash(f"{removed.organiser.email} is no longer on this letter's team.")
    return redirect(url_for("organiser.team", slug=slug), code=303)
