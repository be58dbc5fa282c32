"""Console pages for moderation: the signatures table, bulk actions, corrections, notables."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse

from app.affiliations import affiliations as affiliation_module
from app.db import db, utcnow
from app.errors import InvalidInput
from app.models import Letter, OrganiserRole, SignatureState
from app.moderation import operations
from app.organiser import bp
from app.organiser.forms import (
    ConfirmActionForm,
    CorrectionForm,
    EvidenceForm,
    InvalidateForm,
    MergeForm,
    SignatureActionForm,
    SignatureFilterForm,
    redirect_target,
)
from app.organiser.views import letter_of_mine, render_letter_page, require_button
from app.signing import defences
from app.signing.settings import signing_settings
from app.support.countries import country_choices
from app.support.identifiers import whole_number


@bp.get("/letters/<slug>/signatures")
def signatures(slug: str) -> str:
    letter, role = letter_of_mine(slug)
    table_filter = SignatureFilterForm.read(request.args)
    wanted = table_filter.signature_filter()
    page = operations.signature_page(
        db.session, letter, wanted, limit=50, cursor=request.args.get("cursor") or None
    )
    return render_letter_page(
        "organiser/signatures.html",
        letter,
        role,
        page=page,
        wanted=wanted,
        args=table_filter.link_args(),
        countries=country_choices(),
        states=list(SignatureState),
        actions=operations.BULK_ACTIONS,
        form=ConfirmActionForm(),
    )


def _first_error(form: FlaskForm) -> str:
    return next(iter(form.errors.values()))[0] if form.errors else "The form is not valid."


def _back_to_table(letter: Letter, back: str | None) -> str:
    """The table page (with its filter) the form came from, or the table itself."""
    table = url_for("organiser.signatures", slug=letter.slug)
    return redirect_target(back, inside=table, default=table)


@bp.post("/letters/<slug>/signatures/act")
def act(slug: str) -> BaseResponse | str:
    letter, role = letter_of_mine(slug)
    form = SignatureActionForm()
    form.action.choices = {name: a.words for name, a in operations.BULK_ACTIONS.items()}
    if not form.validate_on_submit():
        raise InvalidInput(_first_error(form))
    back = _back_to_table(letter, form.back.data)  # checked before anything is done
    action = operations.BULK_ACTIONS[form.action.data]
    if not role.allows(action.role):
        abort(404)
    chosen = operations.signatures_of(db.session, letter, form.ids.data)
    if not chosen:
        raise InvalidInput("None of the selected signatures belong to this letter.")
    given = operations.BulkInput(reason=form.reason.data or "", context=form.context.data)
    action.check(given)
    if len(chosen) > 1 and form.confirmed.data != "1":
        return render_letter_page(
            "organiser/confirm_action.html",
            letter,
            role,
            chosen=chosen,
            action=action.name,
            words=action.words,
            reason=given.reason,
            context=given.context or "",
            back=back,
            form=ConfirmActionForm(),
        )
    result = operations.perform_bulk(
        db.session,
        letter,
        action,
        chosen,
        given,
        role=role,
        by=current_user,
        settings=signing_settings(current_app.config),
    )
    db.session.commit()
    skipped = f" ({len(result.skipped)} left as they were)" if result.skipped else ""
    flash(f"Done: {action.words} {len(result.changed)} signature(s){skipped}.")
    return redirect(back, code=303)


@bp.route("/letters/<slug>/signatures/<int:signature_id>", methods=["GET", "POST"])
def signature(slug: str, signature_id: int) -> BaseResponse | tuple[str, int]:
    letter, role = letter_of_mine(slug)
    found = operations.signature_of(db.session, letter, signature_id)
    form = CorrectionForm(obj=None if request.method == "POST" else CorrectionForm.initial(found))
    if request.method == "POST":
        if not role.allows(OrganiserRole.MODERATOR):
            abort(404)
        if form.validate_on_submit():
            try:
                operations.correct(db.session, found, form.correction(), by=current_user)
            except InvalidInput as error:
                form.name.errors = [str(error)]
            else:
                db.session.commit()
                flash("Saved.")
                return redirect(
                    url_for("organiser.signature", slug=slug, signature_id=signature_id), code=303
                )
    status = 422 if form.errors else 200
    page = render_letter_page(
        "organiser/signature.html",
        letter,
        role,
        signature=found,
        form=form,
        emails=operations.emails_about(db.session, found),
        evidence_form=EvidenceForm(),
        needs_evidence=operations.needs_evidence(found),
        lookalikes=operations.lookalikes(db.session, found),
        watched=defences.watched_name(letter, found.name),
    )
    return page, status


@bp.post("/letters/<slug>/signatures/<int:signature_id>/evidence")
def record_evidence(slug: str, signature_id: int) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    found = operations.signature_of(db.session, letter, signature_id)
    form = EvidenceForm()
    if not form.validate_on_submit():
        raise InvalidInput(_first_error(form))
    operations.record_evidence(
        db.session, letter, found, form.evidence(), by=current_user, now=utcnow()
    )
    db.session.commit()
    flash(f"Evidence recorded: {found.name} is listed as a notable signatory once confirmed.")
    return redirect(url_for("organiser.signature", slug=slug, signature_id=signature_id), code=303)


@bp.get("/letters/<slug>/notables/review")
def notable_review(slug: str) -> str:
    """Notable signatures held until the organisers record how they checked them."""
    letter, role = letter_of_mine(slug)
    return render_letter_page(
        "organiser/notable_review.html",
        letter,
        role,
        waiting=operations.evidence_queue(db.session, letter),
    )


@bp.post("/letters/<slug>/notables/order")
def order_notables(slug: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    require_button()
    ranks: dict[int, int] = {}
    for key, value in request.form.items():
        if key.startswith("rank-"):
            ident = whole_number(key.removeprefix("rank-"))
            rank = whole_number(value.strip(), maximum=operations.NOTABLE_RANK_MAX)
            if ident is None or rank is None:
                raise InvalidInput("Positions are whole numbers from 1.")
            ranks[ident] = rank
    operations.order_notables(db.session, letter, ranks, by=current_user)
    db.session.commit()
    flash("Order of notable signatories saved.")
    return redirect(url_for("organiser.signatures", slug=slug, notable="1"), code=303)


@bp.get("/letters/<slug>/affiliations")
def affiliations(slug: str) -> str:
    letter, role = letter_of_mine(slug)
    return render_letter_page(
        "organiser/affiliations.html",
        letter,
        role,
        rows=affiliation_module.affiliation_counts(db.session, letter),
        form=ConfirmActionForm(),
    )


@bp.post("/letters/<slug>/affiliations/merge")
def merge_affiliations(slug: str) -> BaseResponse:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    form = MergeForm()
    if not form.validate_on_submit():
        raise InvalidInput(_first_error(form))
    on_letter = affiliation_module.letter_affiliations(
        db.session, letter, [form.target.data, *form.ids.data]
    )
    target = on_letter.get(form.target.data)
    if target is None or any(ident not in on_letter for ident in form.ids.data):
        raise InvalidInput("Choose affiliations from this letter's list.")
    variants = [on_letter[ident] for ident in form.ids.data]
    result = affiliation_module.merge(
        db.session, target, variants, new_name=form.name.data or None, by=current_user
    )
    db.session.commit()
    flash(
        f"Merged {len(result.merged_ids)} variant(s); {result.signatures_moved} signature(s) moved."
    )
    return redirect(url_for("organiser.affiliations", slug=slug), code=303)


@bp.route("/letters/<slug>/invalidate", methods=["GET", "POST"])
def invalidate(slug: str) -> BaseResponse | tuple[str, int]:
    """Hide a wave of fakes at once: everything from a domain and/or a time window."""
    letter, role = letter_of_mine(slug, OrganiserRole.MODERATOR)
    form = InvalidateForm(
        data={"domain": request.args.get("domain", ""), "block": request.args.get("block", "")}
        if request.method == "GET"
        else None
    )
    matches = None
    if form.validate_on_submit():
        try:
            client_hashes: list[str] = []
            block_hashes = [form.block.data] if form.block.data else []
            if form.address_range.data:
                key = signing_settings(current_app.config).current_key
                kind, hashes = defences.hashes_for_range(key, form.address_range.data)
                (client_hashes if kind == "client" else block_hashes).extend(hashes)
            matches = operations.matching_domain_or_window(
                db.session,
                letter,
                domain=form.domain.data or None,
                signed_from=form.moment(form.signed_from),
                signed_until=form.moment(form.signed_until),
                client_hashes=client_hashes,
                block_hashes=block_hashes,
            )
        except InvalidInput as error:
            form.domain.errors = [str(error)]
        else:
            if len(matches) > operations.BULK_MAX:
                form.domain.errors = [
                    f"More than {operations.BULK_MAX:,} signatures match; narrow the window."
                ]
            elif form.confirmed.data == "1" and matches:
                result = operations.invalidate(
                    db.session,
                    letter,
                    matches,
                    form.reason.data,
                    by=current_user,
                    described_by={
                        "domain": form.domain.data or None,
                        "address_range": form.address_range.data or None,
                        "block": form.block.data or None,
                        "signed_from": form.signed_from.data or None,
                        "signed_until": form.signed_until.data or None,
                    },
                )
                db.session.commit()
                flash(f"Hid {len(result.changed)} signature(s).")
                return redirect(url_for("organiser.letter", slug=slug), code=303)
    page = render_letter_page("organiser/invalidate.html", letter, role, form=form, matches=matches)
    return page, 422 if form.errors else 200
