"""The look-ups of an import and of signing use the index made for them, whatever the statistics
say (PostgreSQL's plans): each statement is run, then explained, against a letter whose rows no
statistics have seen, as a new letter's or one a big import just grew are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from app.affiliations.affiliations import affiliation_for
from app.db import utcnow
from app.models import Letter
from app.moderation import imports
from app.signing import lifecycle
from app.signing.defences import Clues
from app.signing.settings import signing_settings
from tests.factories import make_letter

#: The unique (letter_id, email_normalized) index: how an address is found.
BY_ADDRESS = "uq_signatures_letter_id_email_normalized"
HEADER = "name,email,affiliation,title,country,comment\n"


def _add_signatures(session: Any, letter: Letter, count: int) -> None:
    affiliation = affiliation_for(session, letter.id, "Lab")
    session.execute(
        text(
            "INSERT INTO signatures (letter_id, state, name, name_key, email, email_normalized, "
            "email_canonical, affiliation_id, title, country, is_public, emails_sent, signed_at, "
            "verified_at, letter_version, quarantined, review_flags, client_hash) "
            "SELECT :letter, 'verified', 'Person ' || n, 'person ' || n, "
            ":slug || n || '@example.org', :slug || n || '@example.org', "
            ":slug || n || '@example.org', :affiliation, 'Fellow', 'GB', true, 1, now(), now(), "
            "1, false, '[]', 'client' || n % 50 FROM generate_series(1, :count) AS n"
        ),
        {"letter": letter.id, "slug": letter.slug, "affiliation": affiliation.id, "count": count},
    )


@pytest.fixture
def unseen_letter(session: Any, is_postgres: bool) -> Letter:
    """A letter of 3,000 signatures added after the last ANALYZE, beside one it measured."""
    if not is_postgres:
        pytest.skip("query plans are PostgreSQL's")
    _add_signatures(session, make_letter(session, slug="measured"), 3000)
    session.execute(text("ANALYZE signatures"))  # within the test's transaction: undone after
    letter = make_letter(session, slug="unseen")
    _add_signatures(session, letter, 3000)
    return letter


@contextmanager
def _reads_of_signatures(session: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT that reads the signatures table while the block runs, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM signatures" in statement:
            statements.append((statement, parameters))

    engine = session.connection().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _indexes_read(session: Any, statement: str, parameters: Any) -> list[tuple[str, str]]:
    """(index or "Seq Scan", its condition) for each read of signatures in the statement's plan."""
    [[plan]] = session.connection().exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {statement}", parameters
    )
    reads = []
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        index = node.get("Index Name", "")
        if index.startswith(("pk_signatures", "uq_signatures", "ix_signatures")):
            reads.append((index, node.get("Index Cond", "")))
        elif node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "signatures":
            reads.append(("Seq Scan", node.get("Filter", "")))
    return reads


def test_the_import_finds_addresses_by_the_unique_index_on_a_letter_new_to_the_statistics(
    app: Flask, session: Any, unseen_letter: Letter
) -> None:
    # Rows 2,991-3,000 signed already; the others are new. Pending, so their ids are looked up
    # too (for the confirmation emails).
    lines = [f"P{n},unseen{n}@example.org,Lab,Fellow,GB,\n" for n in range(2991, 3031)]
    with _reads_of_signatures(session) as statements:
        result = imports.import_file(
            session,
            unseen_letter,
            (HEADER + "".join(lines)).encode(),
            file_name="plans.csv",
            source="test",
            verified=False,
            settings=signing_settings(app.config),
            now=utcnow(),
            organiser=None,
        )
    assert (result.imported, result.skipped_already_signed) == (30, 10)
    by_address = [s for s in statements if "signatures.email_normalized = " in s[0]]
    assert len(by_address) == 2  # those who signed already; the new rows' ids
    for statement, parameters in statements:
        reads = _indexes_read(session, statement, parameters)
        wanted = BY_ADDRESS if (statement, parameters) in by_address else "pk_signatures"
        assert [index for index, _ in reads] == [wanted], (statement, reads)
        assert ("email_normalized" if wanted == BY_ADDRESS else "id") in reads[0][1], reads


def test_signing_reads_a_letter_new_to_the_statistics_only_through_keyed_indexes(
    app: Flask, session: Any, unseen_letter: Letter
) -> None:
    settings = signing_settings(app.config)
    answers = lifecycle.SignatureInput(
        name="Ada Lovelace",
        email="unseen7@example.org",  # signed already: the earlier signature is looked up
        affiliation="Lab",
        title="Fellow",
        country="GB",
        comment=None,
        is_public=True,
    )
    clues = Clues(client_hash="client7", client_block_hash="block")
    with _reads_of_signatures(session) as statements:
        lifecycle.sign(
            session, unseen_letter, answers, settings=settings, now=utcnow(), clues=clues
        )
    assert len(statements) >= 2  # the defences' look-ups, the earlier signature
    for statement, parameters in statements:
        for index, condition in _indexes_read(session, statement, parameters):
            # Never the letter's every row (a sequential scan, or an index by letter alone,
            # filtered): each read is keyed by an address, a client, a name's key or a
            # signature's id, or reads the letter's notable signatories (a partial index of the
            # few an organiser marked).
            assert index != "Seq Scan", statement
            if index == "ix_signatures_letter_notable":
                continue
            keyed_by = condition.replace("letter_id", "")
            assert any(key in keyed_by for key in ("email", "client_hash", "name_key", "(id =")), (
                statement,
                index,
                condition,
            )
            assert "trigram" not in index
