"""The CSV export written by PostgreSQL (COPY) says exactly what the Python writer says."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app import exports
from app.models import SignatureState
from tests.factories import make_letter, make_signature


def test_the_database_writes_the_same_csv_as_python(session, is_postgres) -> None:
    if not is_postgres:
        pytest.skip("COPY is PostgreSQL's; elsewhere the Python writer is the export")
    letter = make_letter(session)
    make_signature(
        session,
        letter=letter,
        name='=HYPERLINK("http://evil")',
        affiliation='+Plus, Comma & "Quotes"',
        title="-minus",
        comment='Two lines,\nwith a comma and "quotes"\r\nand more',
        is_public=False,
        signed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds
    )
    make_signature(session, letter=letter, name="Zoé Ünïcode 北京", comment=None)
    make_signature(session, letter=letter, name="@handle", comment="\tTabbed")
    make_signature(session, letter=letter, name="Pending", state=SignatureState.PENDING)
    held = make_signature(session, letter=letter, name="Held")
    held.quarantined = True
    session.commit()

    for include_all in (False, True):
        python = io.StringIO()
        exports.write_csv(exports.signature_rows(session, letter, include_all=include_all), python)
        database = io.BytesIO()
        count = exports.export_csv(session, letter, database, include_all=include_all)
        expected = list(csv.reader(io.StringIO(python.getvalue())))
        written = database.getvalue().decode("utf-8")
        assert list(csv.reader(io.StringIO(written))) == expected
        assert count == len(expected) - 1 == (5 if include_all else 3)
