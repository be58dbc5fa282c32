"""Console pages for a letter's news: updates to signers who asked for them, and the
responses of the letter's addressees (recorded, shown on the letter page, sent on as updates)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.db import db, utcnow
from app.errors import InvalidInput
from app.letters import updates
from app.models import Letter, OrganiserRole
from app.organiser import bp
from app.organiser.forms import ConfirmActionForm, ResponseForm, UpdateForm
from app.organiser.views import letter_of_mine, render_letter_page, require_button
from app.signing.settings import signing_settings


def _sender_domain() -> str:
    return signing_settings(current_app.config).sender_domain


@bp.route("/letters/<slug>/updates", methods=["GET", "POST"])
def letter_updates(slug: str) -> BaseResponse | tuple[str, int]:
    """Published updates and addressees' responses; moderators publish and record."""
    letter, role = letter_of_mine(slug)
    update_form = UpdateForm(prefix="update")
    response_form = ResponseForm(prefix="response")
    status = 200
    if request.method == "POST":
        letter, role = letter_of_mine(slug, OrganiserRole.MODERATOR)
        form = update_form if "update-subject" in request.form else response_form
        if form.validate_on_submit():
            try:
                message = _save(form, letter)
            except InvalidInput as error:
                form.form_errors.append(str(error))
            else:
                db.session.commit()
                flash(message)
                return redirect(url_for("organiser.letter_updates", slug=slug), code=303)
        status = 422
    page = render_letter_page(
        "organiser/updates.html",
        letter,
        role,
        update_form=update_form,
        response_form=response_form,
        action_form=ConfirmActionForm(),
        updates=updates.updates_of(db.session, letter),
        responses=updates.responses_of(db.session, letter),
    )
    return page, status


def _save(form: UpdateForm | ResponseForm, letter: Letter) -> str:
    if isinstance(form, UpdateForm):
        update = updates.publish_update(
            db.session,
            letter,
            subject=form.subject.data,
            body=form.body.data,
            by=current_user,
            now=utcnow(),
            sender_domain=_sender_domain(),
        )
        return f"Published; emailed to {update.recipients:,} signers who asked for news."
    updates.record_response(
        db.session,
        letter,
        responder=form.responder.data,
        responded_on=form.responded_on.data,
        summary=form.summary.data,
        url=form.url.data,
        by=current_user,
    )
    return "Response recorded; it is shown on the letter page."


@bp.post("/letters/<slug>/responses/<int:response_id>/send")
def send_response(slug: str, response_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    update = updates.send_response_as_update(
        db.session,
        letter,
        response_id,
        by=current_user,
        now=utcnow(),
        sender_domain=_sender_domain(),
    )
    db.session.commit()
    flash(f"Sent as an update to {update.recipients:,} signers who asked for news.")
    return redirect(url_for("organiser.letter_updates", slug=slug), code=303)


@bp.post("/letters/<slug>/responses/<int:response_id>/remove")
def remove_response(slug: str, response_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    updates.remove_response(db.session, letter, response_id, by=current_user)
    db.session.commit()
    flash("Response removed.")
    return redirect(url_for("organiser.letter_updates", slug=slug), code=303)
