"""The public list as open data: CSV and JSON downloads (streamed), the notable signatories'
feed and the statistics page. Public fields only, the same as the API's."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, render_template, stream_with_context, url_for

from app.db import db, utcnow
from app.letters import letters
from app.public import bp
from app.signatories import open_data, public_list, statistics
from app.support.http_cache import shared_response
from app.support.translation import local_country_name

#: Downloads are read afresh at most this often by a CDN or browser (they are streamed, so
#: the page replay does not keep them).
_DOWNLOAD_MAX_AGE = 60


def _download(chunks: Iterator[str], mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = f"public, max-age={_DOWNLOAD_MAX_AGE}"
    return response


@bp.get("/letters/<slug>/signatories.csv")
def signatories_csv(slug: str) -> Response:
    """The public list as CSV, oldest first, with the API's columns.
    ---
    get:
      summary: The public list as a CSV file
      parameters:
        - slug
      responses:
        "200":
          description: One row per listed signatory.
          content:
            text/csv:
              schema: {type: string}
        "404": NotFoundPage
    """
    letter = letters.public_letter(db.session, slug)
    return _download(
        open_data.csv_chunks(db.session, letter), "text/csv", f"{slug}-signatories.csv"
    )


@bp.get("/letters/<slug>/signatories.json")
def signatories_json(slug: str) -> Response:
    """The public list as JSON, oldest first: the API's items, all of them.
    ---
    get:
      summary: The public list as a JSON file
      parameters:
        - slug
      responses:
        "200":
          description: Every listed signatory.
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: "#/components/schemas/Signatory"
        "404": NotFoundPage
    """
    letter = letters.public_letter(db.session, slug)
    return _download(
        open_data.json_chunks(db.session, letter), "application/json", f"{slug}-signatories.json"
    )


@bp.get("/letters/<slug>/notables.atom")
def notables_feed(slug: str) -> Response:
    def feed() -> bytes:
        letter = letters.public_letter(db.session, slug)
        return open_data.notables_atom(
            letter,
            public_list.notable_signatories(db.session, letter),
            letter_url=url_for("public.letter", slug=slug, _external=True),
            feed_url=url_for("public.notables_feed", slug=slug, _external=True),
        )

    response = shared_response(feed, mimetype="application/atom+xml")
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    return response


@bp.get("/letters/<slug>/stats")
def stats(slug: str) -> Response:
    """Signatures per day and by country, as SVG charts with the tables beside them."""

    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        return render_template(
            "public/stats.html",
            letter=letter,
            stats=statistics.letter_statistics(db.session, letter, today=utcnow().date()),
            country_name=local_country_name,
        )

    return shared_response(page)
