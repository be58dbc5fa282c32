"""Helpers for driving the site as a signer would."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.db import DbSession, db, utcnow
from app.emails import composer
from app.mail.composing import ComposedEmail, Composer
from app.mail.outbox import Outgoing, queue_email
from app.mail.sender import SMTPTransport, WorkerStats, run_worker, smtp_settings
from app.models import OutboundEmail, Signature
from app.signing import lifecycle
from app.signing.settings import signing_settings
from app.signing.tokens import TokenPurpose, make_token

CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"'
    r'|type="hidden" name="csrf_token" value="([^"]+)"'
)
CONFIRM_LINK = re.compile(r"(https?://[^\s\"<>]+/letters/[a-z0-9-]+/confirm/[A-Za-z0-9_.\-]+)")


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    match = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1) or match.group(2)


def sign_form_token(client: FlaskClient) -> str:
    """The token the sign form fetches for itself (cached letter pages carry none)."""
    response = client.get("/csrf-token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return str(response.json["csrf_token"])


def signing_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "affiliation": "University of Cambridge",
        "title": "Professor of Mathematics",
        "country": "GB",
        "comment": "",
        "is_public": "y",
    }
    answers.update(overrides)
    return {key: value for key, value in answers.items() if value is not None}


def sign(client: FlaskClient, slug: str, **overrides: Any) -> TestResponse:
    token = sign_form_token(client)
    return client.post(
        f"/letters/{slug}/sign", data={"csrf_token": token, **signing_answers(**overrides)}
    )


def deliver_mail(app: Flask) -> WorkerStats:
    """Run the mail worker once against the configured (loopback) SMTP server."""
    settings = smtp_settings(app.config)
    assert settings is not None, "point MAIL_SERVER at the test SMTP server first"
    return run_worker(
        db.session,
        SMTPTransport(settings),
        sender=app.config["MAIL_DEFAULT_SENDER"],
        compose=composer(app.config),
        once=True,
    )


# For tests of the mail worker itself: a kind of message that carries its own words.
NOTE = "note"


def queue_note(
    session: DbSession, *, to: str, subject: str, text: str, html: str = "", domain: str = "s.test"
) -> int:
    note = Outgoing(
        kind=NOTE, to_address=to, context={"subject": subject, "text": text, "html": html}
    )
    return queue_email(session, note, sender_domain=domain)


def _write_notes(_session: DbSession, rows: Sequence[OutboundEmail]) -> dict[int, ComposedEmail]:
    return {
        row.id: ComposedEmail(
            subject=(row.context or {})["subject"],
            body_text=(row.context or {})["text"],
            body_html=(row.context or {})["html"],
        )
        for row in rows
    }


NOTES = Composer({NOTE: _write_notes})


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def confirm_link(message: EmailMessage) -> str:
    match = CONFIRM_LINK.search(text_body(message))
    assert match, "no confirmation link in the email"
    return match.group(1)


def path_of(link: str, base_url: str) -> str:
    assert link.startswith(base_url + "/"), f"{link} is not under {base_url}"
    return link[len(base_url) :]


PASSWORD = "correct horse battery staple"


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/admin/login")
    return client.post(
        "/admin/login", data={"csrf_token": token, "email": email, "password": password}
    )


def form_token(client: FlaskClient, url: str) -> str:
    """A CSRF token from any console page that has a form (the sign-out button counts)."""
    return csrf_token(client, url)


def confirm_signature(session: DbSession, app: Flask, signature: Signature, **at: Any) -> bool:
    """Confirm as the signer's link would (`now=` to choose when); the signature refreshed."""
    settings = signing_settings(app.config)
    token = make_token(settings.secret_key, TokenPurpose.CONFIRM, signature.id)
    done = lifecycle.confirm_by_link(
        session, signature.letter.slug, token, settings=settings, now=at.get("now", utcnow())
    )
    session.refresh(signature)
    return done
