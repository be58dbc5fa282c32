"""The floor with the required libraries: the floor's statements (bench/floor.py), asked the
way Undersigned must ask them, and nothing else.

Per request it does only what the libraries the project is built on do by themselves: Flask-WTF
checks the CSRF token and validates the real sign form, Flask-Limiter counts the request in
Redis, and SQLAlchemy runs the floor's SQL through a pooled session that pings its connection
first (pool_pre_ping) and commits; confirming also reads the emailed itsdangerous token. No
letter is loaded, no defence runs, no email is queued as the app queues it. `make bench`
reports it beside the floor: what lies between the two is what the chosen libraries cost on
this machine, and what the app spends above this line is its own.
"""

from __future__ import annotations

import os
import uuid

from flask import Flask, abort, jsonify, redirect
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text
from werkzeug.wrappers import Response

from app.public.forms import SignForm
from app.signing.tokens import TokenPurpose, read_token
from bench.floor import CONFIRM_SQL, INSERT_SIGNATURE_SQL, QUEUE_EMAIL_SQL
from config import database_url

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SQLALCHEMY_DATABASE_URI=database_url(os.environ["DATABASE_URL"]),
    SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    RATELIMIT_STORAGE_URI=os.environ["REDIS_URL"],
    RATELIMIT_HEADERS_ENABLED=False,
)
db = SQLAlchemy(app)
limiter = Limiter(get_remote_address, app=app)
LIMIT = os.environ.get("SIGN_RATE_LIMIT", "100000000 per minute")
MAX_AGE = 7 * 24 * 3600


class ConfirmForm(FlaskForm):
    pass


def _sql(statement: str):  # psycopg's %(name)s placeholders, as SQLAlchemy's :name
    import re

    return text(re.sub(r"%\((\w+)\)s", r":\1", statement))


SIGN, QUEUE, CONFIRM = _sql(INSERT_SIGNATURE_SQL), _sql(QUEUE_EMAIL_SQL), _sql(CONFIRM_SQL)


@app.get("/")
def ready() -> str:
    return "libraries floor"


@app.get("/csrf-token")
def csrf_token() -> Response:
    return jsonify(csrf_token=generate_csrf())


@app.post("/letters/<slug>/sign")
@limiter.limit(LIMIT)
def sign(slug: str) -> Response:
    form = SignForm()
    if not form.validate_on_submit():
        abort(422)
    answers = form.answers()
    signature_id = db.session.execute(
        SIGN,
        {
            "slug": slug,
            "name": answers.name,
            "email": answers.email,
            "email_key": answers.email.strip().lower(),
            "title": answers.title,
            "country": answers.country,
        },
    ).scalar()
    if signature_id is not None:
        db.session.execute(
            QUEUE,
            {"email": answers.email, "message_id": uuid.uuid4().hex, "signature_id": signature_id},
        )
    db.session.commit()
    return redirect(f"/letters/{slug}/check-email", code=303)


@app.post("/letters/<slug>/confirm/<token>")
@limiter.limit(LIMIT)
def confirm(slug: str, token: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    signature_id = read_token(
        app.config["SECRET_KEY"], TokenPurpose.CONFIRM, token, max_age=MAX_AGE
    )
    db.session.execute(CONFIRM, {"id": signature_id})
    db.session.commit()
    return redirect(f"/letters/{slug}/confirm/{token}", code=303)
