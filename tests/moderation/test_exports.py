"""The CSV export written by PostgreSQL (COPY) says exactly what the Python writer says."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app.models import SignatureState
from app.moderation import exports
from app.organisations.registry import OrganisationInput, save_organisation
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
    # A registered organisation, stated by one signer and verified for another (a name that
    # a spreadsheet would run, too).
    registered = save_organisation(
        session, OrganisationInput("=Org Ltd", ["org.example"], "industry", ""), by=None
    )
    make_signature(session, letter=letter, name="Stated", affiliation="=Org Ltd")
    verified = make_signature(session, letter=letter, name="Verified", affiliation="Elsewhere")
    verified.email_organisation_id = registered.id
    session.commit()

    for include_all in (False, True):
        python = io.StringIO()
        exports.write_csv(exports.signature_rows(session, letter, include_all=include_all), python)
        database = io.BytesIO()
        count = exports.export_csv(session, letter, database, include_all=include_all)
        expected = list(csv.reader(io.StringIO(python.getvalue())))
        written = database.getvalue().decode("utf-8")
        assert list(csv.reader(io.StringIO(written))) == expected
        assert count == len(expected) - 1 == (7 if include_all else 5)
        verified_row = next(row for row in expected if row[0] == "Verified")
        # Stated elsewhere: not verified for what they stated; where the address is, recorded.
        assert verified_row[2:6] == ["Elsewhere", "", "no", "'=Org Ltd"]
        stated_row = next(row for row in expected if row[0] == "Stated")
        assert stated_row[2:6] == ["'=Org Ltd", "'=Org Ltd", "no", ""]


def test_the_consoles_filtered_csv_is_what_python_writes_in_the_filters_order(
    session, is_postgres
) -> None:
    from app.moderation.operations import SignatureFilter

    letter = make_letter(session)
    other = make_letter(session)
    make_signature(session, letter=other, name="Another letter's")
    make_signature(
        session,
        letter=letter,
        name='=HYPERLINK("http://evil")',
        affiliation='+Plus, Comma & "Quotes"',
        country="FR",
        comment='Two lines,\nwith "quotes"',
        signed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    for n in range(5):
        make_signature(session, letter=letter, name=f"Ada {n}", country="GB")
    make_signature(session, letter=letter, name="Pending Ada", state=SignatureState.PENDING)
    held = make_signature(session, letter=letter, name="Held")
    held.quarantined = True
    session.commit()

    filters = [
        SignatureFilter(),
        SignatureFilter(sort="oldest"),
        SignatureFilter(state=SignatureState.VERIFIED, sort="name"),
        SignatureFilter(text="ada"),
        SignatureFilter(country="FR"),
        SignatureFilter(held_only=True),
        SignatureFilter(country="DE"),  # nothing: the header alone
    ]
    for wanted in filters:
        python = "".join(exports.csv_lines(exports.moderation_rows(session, letter, wanted)))
        written = b"".join(exports.filtered_csv(session, letter, wanted)).decode("utf-8")
        expected = list(csv.reader(io.StringIO(python)))
        assert list(csv.reader(io.StringIO(written))) == expected, wanted
        assert "Another letter's" not in written
    everyone = list(csv.reader(io.StringIO(python)))
    assert everyone == [list(exports.EXPORT_COLUMNS)]
    session.rollback()  # the database's way leaves a temporary table until the transaction ends
