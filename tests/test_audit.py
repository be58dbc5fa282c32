"""Withdrawal, erasure and retention purges reach the whole audit log: no entry, of any kind,
keeps a trace of the person (before/after of corrections, export filters, reasons)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import audit
from app.db import utcnow
from app.models import AuditEvent, Letter, OrganiserRole, Signature, SignatureState
from app.moderation import operations, retention
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in

TRACES = ("erase me", "erase.me", "emma erasmus")


def _withdraw(app: Flask, session, letter: Letter, signature: Signature) -> None:
    lifecycle.withdraw(session, letter, signature, settings=signing_settings(app.config))


def _erase(app: Flask, session, letter: Letter, signature: Signature) -> None:
    operations.erase(session, [signature])


def _purge(app: Flask, session, letter: Letter, signature: Signature) -> None:
    signature.state, signature.verified_at = SignatureState.PENDING, None
    signature.signed_at = utcnow() - timedelta(days=60)
    session.flush()
    purged = retention.purge(session, now=utcnow(), pending_days=14, email_days=30)
    assert purged.pending_signatures == 1


@pytest.mark.parametrize("forget", [_withdraw, _erase, _purge], ids=["withdraw", "erase", "purge"])
def test_no_trace_of_a_person_is_left_anywhere_in_the_audit_log(
    app: Flask,
    client: FlaskClient,
    session,
    forget: Callable[[Flask, object, Letter, Signature], None],
) -> None:
    letter = make_letter(session, slug="forgetful")
    person = make_signature(session, letter=letter, name="Erase Me", email="Erase.Me@example.org")
    make_signature(session, letter=letter, name="Other Person", email="other.person@example.org")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)

    # What organisers do that the log records: a correction (before/after), exports filtered
    # by the person's address or part of it, a search for someone else, a reason that names them.
    page = f"/admin/letters/forgetful/signatures/{person.id}"
    corrected = client.post(page, data={
        "csrf_token": csrf_token(client, page), "name": "Emma Erasmus", "title": "Professor",
        "affiliation": "University of Example", "country": "GB", "notable_context": "",
    })  # fmt: skip
    assert corrected.status_code == 303
    for query in ("erase.me@example.org", "ERASE.ME", "other.person"):
        exported = client.get(f"/admin/letters/forgetful/signatures/export?q={query}")
        assert exported.status_code == 200
        exported.close()
    audit.record(
        session, owner, "signature.hide", letter=letter, signature_ids=[person.id],
        reason="Emma Erasmus asked us to take her off",
    )  # fmt: skip
    audit.record(session, owner, "note", letter=letter, text="Called Erase Me on Monday")
    session.commit()
    assert _log_text(session, client, letter).count("erase.me") >= 2

    forget(app, session, letter, session.get(Signature, person.id))
    session.commit()

    text = _log_text(session, client, letter)
    for trace in TRACES:
        assert trace not in text, trace
    assert "other.person" in text  # other people's entries are kept as they were
    assert audit.ERASED.lower() in text
    # The log still says what happened, and to which signature.
    actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert {"signature.correct", "export", "signature.hide", "note"} <= set(actions)


def _log_text(session, client: FlaskClient, letter: Letter) -> str:
    """Everything the log holds about the letter: the rows, the console page, the CSV export."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.letter_id == letter.id)).all()
    stored = json.dumps([e.details for e in events], ensure_ascii=False)
    shown = client.get(f"/admin/letters/{letter.slug}/audit").get_data(as_text=True)
    exported = client.get(f"/admin/letters/{letter.slug}/audit/export").get_data(as_text=True)
    return "\n".join((stored, shown, exported)).casefold()
