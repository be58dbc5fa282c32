"""Console pages that move data in and out: export, import, and the audit log."""

from __future__ import annotations

from collections.abc import Iterable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from app import audit
from app.db import db, utcnow
from app.models import OrganiserRole
from app.moderation import exports, imports
from app.organiser import bp
from app.organiser.forms import ImportForm, SignatureFilterForm, SnapshotForm
from app.organiser.views import letter_of_mine, render_letter_page
from app.signatories import snapshots as snapshot_module
from app.signing.settings import signing_settings
from app.support.csv_input import MAX_ERRORS_REPORTED, ImportRejected, RowProblem
from app.support.identifiers import whole_number

#: Whole Content-Type values. Given as content_type, never as mimetype: Werkzeug appends
#: "; charset=utf-8" to a text/* mimetype, which would say the charset twice.
_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(body: Iterable[str] | Iterable[bytes], filename: str, kind: str) -> Response:
    response = Response(body, content_type=_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/letters/<slug>/signatures/export")
def export_signatures(slug: str) -> Response:
    """The table's current filter as CSV, JSON or Excel, streamed; recorded with its row count."""
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    kind = request.args.get("format", "csv")
    if kind not in _TYPES:
        abort(400, "format must be csv, json or xlsx.")
    wanted = SignatureFilterForm.read(request.args).signature_filter()
    exports.record_export(
        db.session,
        letter,
        wanted,
        kind,
        by=current_user,
        described={
            key: value for key, value in request.args.items() if key not in {"format", "cursor"}
        },
    )
    db.session.commit()
    filename = f"{letter.slug}-signatures.{kind}"
    if kind == "csv":
        chunks = exports.filtered_csv(db.session, letter, wanted)
        return _download(stream_with_context(chunks), filename, kind)
    signatures = exports.moderation_rows(db.session, letter, wanted)
    if kind == "xlsx":
        workbook = send_file(
            exports.xlsx_file(signatures),
            mimetype=_TYPES[kind],
            as_attachment=True,
            download_name=filename,
        )
        workbook.headers["Cache-Control"] = "no-store"
        return workbook
    return _download(stream_with_context(exports.json_lines(signatures)), filename, kind)


@bp.get("/letters/<slug>/audit")
def audit_log(slug: str) -> str:
    letter, role = letter_of_mine(slug)
    before = request.args.get("before", "")
    before_id = whole_number(before) if before else None
    if before and before_id is None:
        abort(400, "That page link is not valid.")
    events = audit.events_of(db.session, letter, before_id=before_id)
    return render_letter_page("organiser/audit.html", letter, role, events=events)


@bp.get("/audit")
def account_audit() -> str:
    """Sign-ins, second-factor and account changes, for superusers."""
    if not current_user.is_superuser:
        abort(404)
    return render_template("organiser/account_audit.html", events=audit.account_events(db.session))


@bp.get("/letters/<slug>/audit/export")
def export_audit(slug: str) -> Response:
    letter, _ = letter_of_mine(slug, OrganiserRole.MODERATOR)
    columns = ("id", "at", "organiser", "action", "signature_ids", "details")
    rows = (
        {**row, "details": exports.json_text(row["details"])}
        for row in audit.event_rows(db.session, letter)
    )
    return _download(
        stream_with_context(exports.csv_lines(rows, columns)), f"{letter.slug}-audit.csv", "csv"
    )


@bp.before_app_request
def _larger_body_for_imports() -> None:
    """The import and invitation pages take uploads bigger than any other form
    (IMPORT_MAX_BYTES), from a signed-in organiser only; set before anything reads the body."""
    uploads = ("organiser.import_signatures", "organiser.invitation_list")
    if request.endpoint in uploads and current_user.is_authenticated:
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


@bp.route("/letters/<slug>/import", methods=["GET", "POST"])
def import_signatures(slug: str) -> BaseResponse | tuple[str, int]:
    letter, role = letter_of_mine(slug, OrganiserRole.MODERATOR)
    form = ImportForm()
    problems: list[RowProblem] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = imports.import_file(
                db.session,
                letter,
                upload.read(),
                file_name=upload.filename or "upload.csv",
                source=form.source.data or "",
                verified=form.verified.data,
                settings=signing_settings(current_app.config),
                now=utcnow(),
                organiser=current_user,
            )
        except ImportRejected as rejected:
            problems = rejected.problems[:MAX_ERRORS_REPORTED]
            status = 422
        else:
            db.session.commit()
            flash(
                f"Imported {result.imported} signatures; skipped {result.skipped_already_signed} "
                f"already signed and {result.skipped_repeated_in_file} repeated in the file."
            )
            return redirect(url_for("organiser.signatures", slug=slug), code=303)
    elif form.errors:
        status = 422
    page = render_letter_page("organiser/import.html", letter, role, form=form, problems=problems)
    return page, status


@bp.route("/letters/<slug>/snapshots", methods=["GET", "POST"])
def snapshots(slug: str) -> BaseResponse | tuple[str, int]:
    """The letter's snapshots; moderators take a new one."""
    letter, role = letter_of_mine(slug)
    form = SnapshotForm()
    if request.method == "POST":
        if not role.allows(OrganiserRole.MODERATOR):
            abort(404)
        if form.validate_on_submit():
            taken = snapshot_module.take_snapshot(
                db.session, letter, note=form.note.data, by=current_user, now=utcnow()
            )
            db.session.commit()
            flash(
                f"Snapshot {taken.number} taken: {taken.signatures:,} signatories, "
                f"SHA-256 {taken.sha256}."
            )
            return redirect(url_for("organiser.snapshots", slug=slug), code=303)
    page = render_letter_page(
        "organiser/snapshots.html",
        letter,
        role,
        form=form,
        snapshots=snapshot_module.snapshots_of(db.session, letter),
    )
    return page, 422 if form.errors else 200
