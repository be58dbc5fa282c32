"""Console pages for organisations: the shared registry (superusers edit it, every organiser
reads it), and per letter the watch-list, the accepted roles, organisational signatures to
confirm and which organisation each affiliation stands for."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app.affiliations import affiliations as affiliation_module
from app.db import db
from app.errors import InvalidInput, NotFound
from app.models import Organisation, OrganiserRole
from app.organisations import breakdown, on_behalf, registry
from app.organiser import bp
from app.organiser.forms import (
    ConfirmActionForm,
    LetterOrganisationsForm,
    OrganisationForm,
    RegistryImportForm,
)
from app.organiser.views import letter_of_mine, render_letter_page, require_button
from app.support.csv_input import MAX_ERRORS_REPORTED, ImportRejected, RowProblem
from app.support.http_cache import console_changed
from app.support.identifiers import is_row_id, whole_number


@bp.after_request
def _registry_changes_reach_every_public_page(response: BaseResponse) -> BaseResponse:
    """The registry is every letter's: a change to it (names, domains, what is verified) is on
    the public pages at the next request, in every worker, like a letter's own change."""
    if (
        request.method == "POST"
        and response.status_code < 400
        and (request.endpoint or "").endswith(("_organisation", "import_organisations"))
        and current_user.is_authenticated
    ):
        console_changed()
    return response


def _superuser_only() -> None:
    if not current_user.is_superuser:
        abort(404)


@bp.get("/organisations")
def organisations() -> str:
    search = request.args.get("q", "")[:100]
    return render_template(
        "organiser/organisations.html",
        organisations=registry.organisations(db.session, search=search),
        search=search,
        form=ConfirmActionForm(),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
def new_organisation() -> BaseResponse | tuple[str, int]:
    _superuser_only()
    return _organisation_form(None)


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit_organisation(organisation_id: int) -> BaseResponse | tuple[str, int]:
    _superuser_only()
    return _organisation_form(registry.organisation(db.session, organisation_id))


def _organisation_form(existing: Organisation | None) -> BaseResponse | tuple[str, int]:
    form = OrganisationForm(
        obj=OrganisationForm.initial(existing) if existing and request.method == "GET" else None
    )
    if form.validate_on_submit():
        try:
            saved = registry.save_organisation(
                db.session, form.organisation(), by=current_user, existing=existing
            )
        except InvalidInput as error:
            form.name.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"Saved {saved.name}.")
            return redirect(url_for("organiser.organisations"), code=303)
    page = render_template("organiser/organisation_form.html", form=form, existing=existing)
    return page, 422 if form.errors else 200


@bp.post("/organisations/<int:organisation_id>/delete")
def delete_organisation(organisation_id: int) -> BaseResponse:
    _superuser_only()
    require_button()
    found = registry.organisation(db.session, organisation_id)
    name = found.name
    registry.delete_organisation(db.session, found, by=current_user)
    db.session.commit()
    flash(f"Removed {name} from the registry.")
    return redirect(url_for("organiser.organisations"), code=303)


@bp.route("/organisations/import", methods=["GET", "POST"])
def import_organisations() -> BaseResponse | tuple[str, int]:
    _superuser_only()
    form = RegistryImportForm()
    problems: list[RowProblem] = []
    if form.validate_on_submit():
        try:
            result = registry.import_registry(db.session, form.file.data.read(), by=current_user)
        except ImportRejected as rejected:
            problems = rejected.problems[:MAX_ERRORS_REPORTED]
        else:
            db.session.commit()
            flash(
                f"Added {result.added} organisations, updated {result.updated},"
                f" {result.unchanged} unchanged; {result.relinked} letters' affiliations now"
                " stand for another organisation (or none)."
            )
            return redirect(url_for("organiser.organisations"), code=303)
    page = render_template("organiser/organisations_import.html", form=form, problems=problems)
    return page, 422 if problems or form.errors else 200


@bp.route("/letters/<slug>/organisations", methods=["GET", "POST"])
def letter_organisations(slug: str) -> BaseResponse | tuple[str, int]:
    """The letter's watch-list and accepted roles (owners edit them), and its organisational
    signatures (moderators confirm them)."""
    letter, role = letter_of_mine(slug)
    form = LetterOrganisationsForm(
        data=None
        if request.method == "POST"
        else {
            "watched": "\n".join(
                o.name for o in breakdown.watched_organisations(db.session, letter)
            ),
            "roles": "\n".join(letter.accepted_roles or []),
        }
    )
    if request.method == "POST":
        if not role.allows(OrganiserRole.OWNER):
            abort(404)
        if form.validate_on_submit():
            try:
                breakdown.set_watch_list(
                    db.session, letter, (form.watched.data or "").splitlines(), by=current_user
                )
                on_behalf.set_accepted_roles(
                    db.session, letter, (form.roles.data or "").splitlines(), by=current_user
                )
            except InvalidInput as error:
                db.session.rollback()
                form.watched.errors = [str(error)]
            else:
                db.session.commit()
                flash("Saved.")
                return redirect(url_for("organiser.letter_organisations", slug=slug), code=303)
    page = render_letter_page(
        "organiser/letter_organisations.html",
        letter,
        role,
        form=form,
        action_form=ConfirmActionForm(),
        signatures=on_behalf.organisational_signatures(db.session, letter, confirmed_only=False),
    )
    return page, 422 if form.errors else 200


@bp.post("/letters/<slug>/organisations/confirm")
def confirm_on_behalf(slug: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    ids = [whole_number(value) for value in request.form.getlist("ids")]
    if not ids or None in ids:
        raise InvalidInput("Choose the organisational signatures to confirm.")
    confirmed = request.form.get("confirmed") != "0"
    changed = on_behalf.confirm_on_behalf(
        db.session, letter, [i for i in ids if i is not None], confirmed=confirmed, by=current_user
    )
    db.session.commit()
    flash(f"{'Confirmed' if confirmed else 'Unconfirmed'} {changed} organisational signature(s).")
    return redirect(url_for("organiser.letter_organisations", slug=slug), code=303)


@bp.post("/letters/<slug>/affiliations/<int:affiliation_id>/link")
def link_affiliation(slug: str, affiliation_id: int) -> BaseResponse:
    """Say which registered organisation an affiliation stands for (empty: none)."""
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    found = (
        affiliation_module.letter_affiliations(db.session, letter, [affiliation_id])
        if is_row_id(affiliation_id)
        else {}
    )
    if affiliation_id not in found:
        raise NotFound("There is no such affiliation on this letter.")
    automatic = request.form.get("automatic") == "1"
    name = "" if automatic else request.form.get("organisation", "").strip()
    organisation = registry.organisation_named(db.session, name) if name else None
    if name and organisation is None:
        raise InvalidInput(
            f"“{name[:100]}” is not in the registry of organisations, by name or other name."
        )
    affiliation_module.link_organisation(
        db.session, found[affiliation_id], organisation, by=current_user, automatic=automatic
    )
    db.session.commit()
    flash("Saved.")
    return redirect(url_for("organiser.affiliations", slug=slug), code=303)
