"""Console pages that move data in and out: export, import, and the audit log."""

from __future__ import annotations

from collections.abc import Iterable

from flask import (
    Response,
    abort,
    request,
    send_file,
    stream_with_context,
)
from flask_login import current_user

from app import audit, exports
from app.db import db
from app.models import OrganiserRole
from app.organiser import bp
from app.organiser.moderation_views import filter_from
from app.organiser.views import letter_of_mine, render_letter_page

_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _download(body: Iterable[str], filename: str, kind: str) -> Response:
    response = Response(body, mimetype=_TYPES[kind])
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
    wanted = filter_from(request.args)
    rows = exports.count_filtered(db.session, letter, wanted)
    audit.record(
        db.session,
        current_user,
        "export",
        letter=letter,
        format=kind,
        rows=rows,
        filter={
            key: value for key, value in request.args.items() if key not in {"format", "cursor"}
        },
    )
    db.session.commit()
    filename = f"{letter.slug}-signatures.{kind}"
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
    lines = exports.csv_lines(signatures) if kind == "csv" else exports.json_lines(signatures)
    return _download(stream_with_context(lines), filename, kind)


@bp.get("/letters/<slug>/audit")
def audit_log(slug: str) -> str:
    letter, role = letter_of_mine(slug)
    before = request.args.get("before", "")
    if before and not (before.isascii() and before.isdigit() and len(before) < 10):
        abort(400, "That page link is not valid.")
    events = audit.events_of(db.session, letter, before_id=int(before) if before else None)
    return render_letter_page("organiser/audit.html", letter, role, events=events)


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
