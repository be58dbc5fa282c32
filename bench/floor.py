"""The floor: the least database work a sign or confirm request can do, in the smallest Flask
app, served by the same gunicorn settings as Undersigned.

Signing here is: read the form, INSERT the signature, INSERT its email into the outbox, COMMIT.
Confirming is one UPDATE and a COMMIT. No checks, no token, no rate limit, no email text: what
is left is what PostgreSQL's durable commits and one Python process per request cost on this
machine. `make bench` reports it next to signing and confirming, so that a target above the
floor reads as a limit of the machine, not of the app.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from flask import Flask, redirect, request
from werkzeug.wrappers import Response

app = Flask(__name__)

INSERT_SIGNATURE_SQL = """
    INSERT INTO signatures (letter_id, state, name, email, email_normalized, affiliation_id,
        title, country, is_public, emails_sent, signed_at, letter_version, quarantined,
        review_flags)
    SELECT letters.id, 'pending', %(name)s, %(email)s, %(email_key)s,
        (SELECT min(id) FROM affiliations WHERE letter_id = letters.id), %(title)s,
        %(country)s, true, 1, now(), letters.version, false, '[]'
    FROM letters WHERE letters.slug = %(slug)s
    ON CONFLICT (letter_id, email_normalized) DO NOTHING
    RETURNING id
"""
QUEUE_EMAIL_SQL = """
    INSERT INTO outbound_emails (kind, to_address, letter_id, signature_id, language, message_id,
        status, attempts, next_attempt_at, created_at)
    SELECT 'confirm', %(email)s, letter_id, id, 'en', %(message_id)s, 'queued', 0, now(), now()
    FROM signatures WHERE id = %(signature_id)s
"""
CONFIRM_SQL = """
    UPDATE signatures SET state = 'verified', verified_at = now()
    WHERE id = %(id)s AND state = 'pending'
"""

_connection: psycopg.Connection | None = None


def _database() -> psycopg.Connection:
    # One connection per worker process, opened at its first request: a pool of one.
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"])
    return _connection


@app.get("/")
def ready() -> str:
    return "floor"


@app.post("/letters/<slug>/sign")
def sign(slug: str) -> Response:
    form = request.form
    database = _database()
    with database.transaction():
        signature_id = database.execute(
            INSERT_SIGNATURE_SQL,
            {
                "slug": slug,
                "name": form["name"],
                "email": form["email"],
                "email_key": form["email"].strip().lower(),
                "title": form["title"],
                "country": form["country"],
            },
            prepare=True,
        ).fetchone()
        if signature_id is not None:
            database.execute(
                QUEUE_EMAIL_SQL,
                {
                    "email": form["email"],
                    "message_id": uuid.uuid4().hex,
                    "signature_id": signature_id[0],
                },
                prepare=True,
            )
    return redirect(f"/letters/{slug}/check-email", code=303)


@app.post("/letters/<slug>/confirm/<int:signature_id>")
def confirm(slug: str, signature_id: int) -> Response:
    database = _database()
    with database.transaction():
        database.execute(CONFIRM_SQL, {"id": signature_id}, prepare=True)
    return redirect(f"/letters/{slug}/confirm/{signature_id}", code=303)
