"""Open data: the public list as CSV and JSON with the API's columns (public fields only),
the notable signatories' Atom feed, and the statistics page."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from flask.testing import FlaskClient

from app.db import utcnow
from app.models import EvidenceMethod, SignatureState
from app.moderation import operations
from tests.factories import make_letter, make_organiser, make_signature

ATOM = "{http://www.w3.org/2005/Atom}"


def _letter_with_signatories(session):
    letter = make_letter(session, slug="open")
    now = utcnow()
    make_signature(
        session, letter=letter, name="=Ada", country="GB", verified_at=now - timedelta(days=2)
    )
    make_signature(
        session, letter=letter, name="Grace", country="US", verified_at=now - timedelta(days=1)
    )
    make_signature(session, letter=letter, name="Hidden Name", is_public=False)
    make_signature(session, letter=letter, name="Pending", state=SignatureState.PENDING)
    held = make_signature(session, letter=letter, name="Held")
    held.quarantined = True
    session.commit()
    return letter


def test_the_downloads_carry_the_apis_columns_and_nothing_private(
    client: FlaskClient, session
) -> None:
    _letter_with_signatories(session)
    api_items = client.get("/api/letters/open/signatories").get_json()["items"]
    as_json = client.get("/letters/open/signatories.json")
    assert as_json.headers["Content-Type"] == "application/json; charset=utf-8"
    items = json.loads(as_json.get_data())
    assert [item["name"] for item in items] == ["=Ada", "Grace"]  # oldest first
    assert items == list(reversed(api_items))  # the same items as the API, field for field

    as_csv = client.get("/letters/open/signatories.csv")
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert list(rows[0]) == list(api_items[0])
    assert [row["name"] for row in rows] == ["'=Ada", "Grace"]  # a formula defused
    assert rows[1]["affiliation_verified"] == "no" and rows[1]["country"] == "US"
    for body in (as_json.get_data(as_text=True), as_csv.get_data(as_text=True)):
        assert "@" not in body and "Hidden Name" not in body and "Held" not in body


def test_the_notables_feed_lists_only_those_checked(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="notables")
    organiser = make_organiser(session)
    checked = make_signature(session, letter=letter, name="Geoffrey Hinton", title="Professor")
    make_signature(session, letter=letter, name="Unchecked Person")
    operations.record_evidence(
        session,
        letter,
        checked,
        operations.Evidence(EvidenceMethod.CALL),
        by=organiser,
        now=utcnow(),
    )
    session.commit()
    feed = client.get("/letters/notables/notables.atom")
    assert feed.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(feed.get_data())  # noqa: S314 (our own feed)
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Geoffrey Hinton, Professor, University of Example"]
    assert "a call" in feed.get_data(as_text=True)


def test_the_statistics_page_counts_by_day_and_country(client: FlaskClient, session) -> None:
    _letter_with_signatories(session)
    page = client.get("/letters/open/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Listed ones only: held, pending and unlisted ones (whose country and day could name them)
    # are not.
    assert re.search(r"2\s+signatures counted on the public list", html)
    assert '<svg class="chart" role="img"' in html
    assert "<td>United States</td><td>1</td>" in html
    assert "<td>United Kingdom</td><td>1</td>" in html
