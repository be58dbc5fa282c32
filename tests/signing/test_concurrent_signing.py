"""Two people (or one impatient person) signing with the same address at the same moment."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from app.db import db, utcnow
from app.models import Letter, OutboundEmail, Signature
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.factories import make_letter
from tests.helpers import sign_form_token


def _answers(**overrides) -> lifecycle.SignatureInput:
    values = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "affiliation": "University of Cambridge",
        "title": "Professor",
        "country": "GB",
        "comment": None,
        "is_public": True,
    }
    values.update(overrides)
    return lifecycle.SignatureInput(**values)


def _wait_until_a_session_waits_on_a_lock(engine: Engine, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 60
    with engine.connect() as watcher:
        while thread.is_alive():
            waiting = watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
            watcher.rollback()
            if waiting:
                return
            assert time.monotonic() < deadline, "the second signing never waited on the first"
            time.sleep(0.01)
    raise AssertionError("the second signing ended without waiting on the first")


def test_a_signing_that_loses_the_race_finds_the_winner_instead_of_failing(
    app: Flask, committed_db, is_postgres: bool
) -> None:
    """Deterministic: B inserts while A's uncommitted row holds the unique key."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so this race cannot happen")
    make_letter(db.session, slug="race")
    db.session.commit()
    settings = signing_settings(app.config)
    engine = db.engine
    outcome: dict[str, object] = {}

    with Session(engine) as first:
        letter_a = first.scalars(select(Letter).where(Letter.slug == "race")).one()
        assert lifecycle.sign(first, letter_a, _answers(), settings=settings, now=utcnow()) is (
            lifecycle.SignOutcome.CREATED
        )

        def second() -> None:
            with Session(engine) as other:
                letter_b = other.scalars(select(Letter).where(Letter.slug == "race")).one()
                outcome["b"] = lifecycle.sign(
                    other, letter_b, _answers(name="Same Person"), settings=settings, now=utcnow()
                )
                other.commit()

        thread = threading.Thread(target=second)
        thread.start()
        _wait_until_a_session_waits_on_a_lock(engine, thread)  # B, on A's key in the index
        first.commit()
        thread.join(timeout=30)

    assert outcome["b"] is lifecycle.SignOutcome.CONFIRMATION_RESENT
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 2


def test_simultaneous_form_posts_with_one_address_make_one_signature_and_no_500(
    app: Flask, committed_db
) -> None:
    make_letter(db.session, slug="stampede")
    db.session.commit()
    db.session.remove()
    clients = [app.test_client() for _ in range(6)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def post(number: int) -> None:
        # Fetched in the thread: the test's own app context would share one `g` between clients.
        token = sign_form_token(clients[number])
        barrier.wait()
        response = clients[number].post(
            "/letters/stampede/sign",
            data={
                "csrf_token": token,
                "name": "Ada Lovelace",
                "email": "ADA@example.org" if number % 2 else "ada@example.org",
                "affiliation": "Analytical Engines Ltd",
                "title": "Mathematician",
                "country": "GB",
                "is_public": "y",
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303] * len(clients)
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    # One confirmation per post, within the per-signature cap; never more.
    emails = db.session.scalar(select(func.count()).select_from(OutboundEmail))
    assert 1 <= emails <= app.config["MAX_EMAILS_PER_SIGNATURE"]
