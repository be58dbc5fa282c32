"""Console page for a letter's translations: its title and text in the site's other languages,
which the public letter page offers beside the original."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.db import db
from app.errors import InvalidInput
from app.letters import letters
from app.models import OrganiserRole
from app.organiser import bp
from app.organiser.forms import ConfirmActionForm, TranslationForm
from app.organiser.views import letter_of_mine, render_letter_page, require_button
from app.support.languages import LANGUAGES


@bp.route("/letters/<slug>/translations", methods=["GET", "POST"])
def translations(slug: str) -> BaseResponse | tuple[str, int]:
    letter, role = letter_of_mine(slug)
    form = TranslationForm()
    status = 200
    if request.method == "POST":
        letter, role = letter_of_mine(slug, OrganiserRole.OWNER)
        if form.validate_on_submit():
            try:
                letters.save_translation(
                    db.session,
                    letter,
                    language=form.language.data or "",
                    title=form.title.data,
                    body=form.body.data,
                    by=current_user,
                )
            except InvalidInput as error:
                form.language.errors = [str(error)]
            else:
                db.session.commit()
                flash(f"Translation into {LANGUAGES[form.language.data or '']} saved.")
                return redirect(url_for("organiser.translations", slug=slug), code=303)
        status = 422
    page = render_letter_page(
        "organiser/translations.html",
        letter,
        role,
        form=form,
        translations=letters.translations_of(db.session, letter),
        languages=LANGUAGES,
        action_form=ConfirmActionForm(),
    )
    return page, status


@bp.post("/letters/<slug>/translations/<language>/remove")
def remove_translation(slug: str, language: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.OWNER)
    require_button()
    letters.remove_translation(db.session, letter, language, by=current_user)
    db.session.commit()
    flash("Translation removed.")
    return redirect(url_for("organiser.translations", slug=slug), code=303)
