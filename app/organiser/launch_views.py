"""Console pages for a letter's launch: the embargo, invitations to its founding signatories
(upload, resend, revoke; who was invited, opened, signed) and the launch itself."""

from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.db import db, utcnow
from app.errors import InvalidInput
from app.letters import letters
from app.models import OrganiserRole
from app.organiser import bp
from app.organiser.forms import ConfirmActionForm, InvitationListForm
from app.organiser.views import letter_of_mine, render_letter_page, require_button
from app.signing import invitations
from app.signing.settings import signing_settings
from app.support.csv_input import MAX_ERRORS_REPORTED, ImportRejected, RowProblem


@bp.route("/letters/<slug>/invitations", methods=["GET", "POST"])
def invitation_list(slug: str) -> BaseResponse | tuple[str, int]:
    """Who was invited, opened their link, signed; moderators invite more from a CSV file."""
    letter, role = letter_of_mine(slug)
    form = InvitationListForm()
    problems: list[RowProblem] = []
    error = None
    status = 200
    if form.is_submitted():
        letter, role = letter_of_mine(slug, OrganiserRole.MODERATOR)
        if form.validate():
            try:
                result = invitations.invite(
                    db.session,
                    letter,
                    form.file.data.read(),
                    settings=signing_settings(current_app.config),
                    by=current_user,
                    now=utcnow(),
                )
            except ImportRejected as rejected:
                problems = rejected.problems[:MAX_ERRORS_REPORTED]
            except InvalidInput as refused:
                error = str(refused)
            else:
                db.session.commit()
                flash(
                    f"Invited {result.invited} people; {result.already_invited} had been "
                    "invited already."
                )
                return redirect(url_for("organiser.invitation_list", slug=slug), code=303)
        status = 422
    page = render_letter_page(
        "organiser/invitations.html",
        letter,
        role,
        form=form,
        problems=problems,
        error=error,
        invitations=invitations.invitations_of(db.session, letter),
        action_form=ConfirmActionForm(),
        cap=current_app.config["MAX_EMAILS_PER_SIGNATURE"],
    )
    return page, status


@bp.post("/letters/<slug>/invitations/<int:invitation_id>/resend")
def resend_invitation(slug: str, invitation_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    sent = invitations.resend_invitation(
        db.session,
        letter,
        invitation_id,
        settings=signing_settings(current_app.config),
        by=current_user,
    )
    db.session.commit()
    flash(
        "The invitation is on its way again."
        if sent
        else "Not sent: this invitation was signed, or its emails are used up."
    )
    return redirect(url_for("organiser.invitation_list", slug=slug), code=303)


@bp.post("/letters/<slug>/invitations/<int:invitation_id>/revoke")
def revoke_invitation(slug: str, invitation_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    invitations.revoke_invitation(db.session, letter, invitation_id, by=current_user)
    db.session.commit()
    flash("Revoked and deleted: its link no longer opens the letter.")
    return redirect(url_for("organiser.invitation_list", slug=slug), code=303)


@bp.post("/letters/<slug>/embargo")
def embargo_letter(slug: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.OWNER)
    require_button()
    try:
        letters.set_embargo(db.session, letter, by=current_user)
    except InvalidInput as error:
        flash(str(error))
    else:
        db.session.commit()
        flash("Under embargo: hidden from the public; invited people can read and sign it.")
    return redirect(url_for("organiser.invitation_list", slug=slug), code=303)


@bp.post("/letters/<slug>/launch")
def launch_letter(slug: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.OWNER)
    require_button()
    try:
        letters.launch(db.session, letter, by=current_user, now=utcnow())
    except InvalidInput as error:
        flash(str(error))
    else:
        db.session.commit()
        flash("Launched: the letter is public, with its initial signatories listed.")
    return redirect(url_for("organiser.invitation_list", slug=slug), code=303)
