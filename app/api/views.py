"""JSON endpoints. Errors come back as {"error": ...} with the matching status code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for

from app.api import bp, openapi
from app.db import db, utcnow
from app.extensions import check_budget
from app.letters import letters
from app.organisations import breakdown
from app.signatories import checking, integrity, public_list
from app.signatories import snapshots as snapshot_module
from app.support.http_cache import shared_response
from app.support.identifiers import whole_number

MAX_LIMIT = 100


def _json(data: Callable[[], Any]) -> Response:
    """A JSON answer everyone gets alike (cached as the public pages are)."""
    return shared_response(
        lambda: json.dumps(data(), ensure_ascii=False), mimetype="application/json"
    )


@bp.get("/letters/<slug>")
def letter(slug: str) -> Response:
    """A letter: its status, count, current text's hash and the honest count.
    ---
    get:
      summary: A letter
      parameters:
        - slug
      responses:
        "200":
          description: The letter.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Letter"
        "404": NotFound
    """
    return _json(lambda: _letter(slug))


def _letter(slug: str) -> dict[str, Any]:
    found = letters.public_letter(db.session, slug)
    return {
        "slug": found.slug,
        "title": found.title,
        "status": found.status.value,
        "accepting_signatures": found.is_open(utcnow()),
        "closes_at": found.closes_at.isoformat() if found.closes_at else None,
        "launched_at": found.launched_at.isoformat() if found.launched_at else None,
        "verified_signatures": public_list.count_verified(db.session, found),
        "text_sha256": letters.version_of(db.session, found, found.version).sha256,
        "integrity": integrity.integrity(db.session, found).as_json(),
        "url": url_for("public.letter", slug=found.slug),
        "signatories": url_for("api.signatory_list", slug=found.slug),
    }


@bp.get("/letters/<slug>/versions")
def versions(slug: str) -> Response:
    """Every version of the text, oldest first, with the SHA-256 of its exact bytes.
    ---
    get:
      summary: The versions of the letter's text
      parameters:
        - slug
      responses:
        "200":
          description: Every version, oldest first.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/Version"
        "404": NotFound
    """

    def data() -> list[dict[str, Any]]:
        found = letters.public_letter(db.session, slug)
        return [
            {
                "number": version.number,
                "sha256": version.sha256,
                "published_at": version.created_at.isoformat(),
                "substantive": version.substantive,
                "url": url_for("public.version_text", slug=found.slug, number=version.number),
            }
            for version in reversed(letters.versions_of(db.session, found))
        ]

    return _json(data)


@bp.get("/letters/<slug>/snapshots")
def snapshots(slug: str) -> Response:
    """The letter's snapshots, oldest first: each file's SHA-256 and the one before it.
    ---
    get:
      summary: The snapshots of the public list
      parameters:
        - slug
      responses:
        "200":
          description: Every snapshot, oldest first.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/Snapshot"
        "404": NotFound
    """

    def data() -> list[dict[str, Any]]:
        found = letters.public_letter(db.session, slug)
        return [
            {
                "number": snapshot.number,
                "taken_at": snapshot.taken_at.isoformat(),
                "note": snapshot.note,
                "signatures": snapshot.signatures,
                "sha256": snapshot.sha256,
                "previous_sha256": snapshot.previous_sha256,
                "url": url_for("public.snapshot_file", slug=found.slug, number=snapshot.number),
            }
            for snapshot in snapshot_module.snapshots_of(db.session, found)
        ]

    return _json(data)


@bp.get("/letters/<slug>/signatories")
def signatory_list(slug: str) -> Response:
    """The public list, newest first, a page at a time.
    ---
    get:
      summary: The public signatories
      parameters:
        - slug
        - name: cursor
          in: query
          description: The `next` of the page before; absent for the first page.
          schema: {type: string, maxLength: 200}
        - name: q
          in: query
          description: Part of a name or an affiliation.
          schema: {type: string, maxLength: 100}
        - name: country
          in: query
          description: An ISO 3166-1 alpha-2 code.
          schema: {type: string, pattern: "^[A-Za-z]{2}$"}
        - name: verified
          in: query
          description: 1 lists only signatories whose affiliation is verified.
          schema: {type: string, enum: ["", "0", "1"]}
        - name: organisation
          in: query
          description: >-
            A registered organisation's name or other name: only signatories whose stated
            affiliation stands for it (the breakdown's `stated`).
          schema: {type: string, maxLength: 200}
        - name: affiliation
          in: query
          description: >-
            An affiliation as signatories typed it (case, accents and punctuation aside):
            only those who named it (the breakdown's `unregistered`).
          schema: {type: string, maxLength: 200}
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 100}
      responses:
        "200":
          description: A page of signatories.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/SignatoryPage"
        "400": BadRequest
        "404": NotFound
    """
    return _json(lambda: _signatory_list(slug))


def _signatory_list(slug: str) -> dict[str, Any]:
    found = letters.public_letter(db.session, slug)
    raw_limit = request.args.get("limit", "").strip()
    limit = current_app.config["SIGNATORIES_PAGE_SIZE"]
    if raw_limit:
        given = whole_number(raw_limit, maximum=MAX_LIMIT)
        if given is None:
            abort(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        limit = given
    page = public_list.signatory_page(
        db.session,
        found,
        limit=limit,
        cursor=request.args.get("cursor") or None,
        search=public_list.clean_search(request.args.get("q", "")),
        country=public_list.clean_country(request.args.get("country", "")),
        verified_only=public_list.clean_flag(request.args.get("verified", ""), "verified"),
        organisation=public_list.clean_name_filter(request.args.get("organisation", "")),
        affiliation=public_list.clean_name_filter(request.args.get("affiliation", "")),
    )
    return {"items": [item.as_json() for item in page.items], "next": page.next_cursor}


@bp.get("/letters/<slug>/affiliations")
def affiliations(slug: str) -> Response:
    """Listed signatories by organisation, sector and country.
    ---
    get:
      summary: Who signed, by organisation
      parameters:
        - slug
      responses:
        "200":
          description: The breakdown.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Affiliations"
        "404": NotFound
    """

    def data() -> dict[str, Any]:
        found = letters.public_letter(db.session, slug)
        return breakdown.as_json(breakdown.letter_breakdown(db.session, found))

    return _json(data)


@bp.get("/letters/<slug>/affiliations.csv")
def affiliations_csv(slug: str) -> Response:
    """The breakdown by organisation as CSV.
    ---
    get:
      summary: Who signed, by organisation, as CSV
      parameters:
        - slug
      responses:
        "200":
          description: One row per organisation.
          content:
            text/csv:
              schema: {type: string}
        "404": NotFound
    """

    def data() -> str:
        found = letters.public_letter(db.session, slug)
        return breakdown.as_csv(breakdown.letter_breakdown(db.session, found))

    response = shared_response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-affiliations.csv"'
    return response


@bp.post("/letters/<slug>/check")
@check_budget
def check(slug: str) -> Response:
    """Which of these names and organisations signed (public signatures only).
    ---
    post:
      summary: Check a list of names and organisations
      parameters:
        - slug
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/CheckRequest"
      responses:
        "200":
          description: For each name and organisation, whether it signed.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/CheckResult"
        "400": BadRequest
        "404": NotFound
        "413": TooLarge
        "429": TooMany
    """
    found = letters.public_letter(db.session, slug)
    try:
        given = request.get_json(silent=True)
    except RecursionError:  # nested thousands deep: not a list of names
        given = None
    if not isinstance(given, dict):
        abort(400, 'Send a JSON object: {"names": [...], "organisations": [...]}.')
    result = checking.check_list(
        db.session,
        found,
        checking.clean_queries(given.get("names", []), "names"),
        checking.clean_queries(given.get("organisations", []), "organisations"),
    )
    response = Response(
        json.dumps(result.as_json(), ensure_ascii=False), mimetype="application/json"
    )
    response.cache_control.no_store = True
    return response


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API described by OpenAPI 3.1, generated from the code (app/api/openapi.py)."""
    return _json(_document)


@bp.get("/")
def index() -> Response:
    """The API's readable page, written from the same document."""
    return shared_response(lambda: render_template("api/index.html", document=_document()))


def _document() -> dict[str, Any]:
    return openapi.openapi_document(current_app, server_url=request.script_root or "/")
