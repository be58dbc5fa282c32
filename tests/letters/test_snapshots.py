"""Snapshots anyone can check: written once, served byte for byte, chained by hash; what
happens to the list afterwards never changes a published file."""

from __future__ import annotations

import csv
import hashlib
import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import AuditEvent, SignatureState
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.factories import make_letter, make_signature


def test_snapshots_are_byte_identical_on_every_download_and_chained(
    app: Flask, client: FlaskClient, runner, session
) -> None:
    letter = make_letter(session, slug="delivered")
    first = make_signature(session, letter=letter, name="=Ada Lovelace", country="GB")
    make_signature(session, letter=letter, name="Private Person", is_public=False)
    make_signature(session, letter=letter, name="Pending Person", state=SignatureState.PENDING)
    held = make_signature(session, letter=letter, name="Held Person")
    held.quarantined = True
    make_signature(session, letter=letter, name="Grace Hopper", country="US")
    session.commit()

    result = runner.invoke(
        args=["snapshots", "take", "delivered", "--note", "Delivered to the Parliament"]
    )
    assert result.exit_code == 0, result.output
    number, sha256 = result.output.split()
    assert number == "1"

    downloads = [client.get("/letters/delivered/snapshots/1.csv") for _ in range(3)]
    assert all(response.status_code == 200 for response in downloads)
    assert downloads[0].headers["Content-Type"] == "text/csv; charset=utf-8"
    assert len({response.get_data() for response in downloads}) == 1
    content = downloads[0].get_data()
    assert hashlib.sha256(content).hexdigest() == sha256
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert [row["name"] for row in rows] == ["'=Ada Lovelace", "Grace Hopper"]
    assert rows[0]["text_sha256"] and rows[0]["affiliation_verified"] == "no"
    assert b"@" not in content  # never an address

    # The list changes afterwards: the published file does not.
    lifecycle.withdraw(session, letter, first, settings=signing_settings(app.config))
    session.commit()
    assert client.get("/letters/delivered/snapshots/1.csv").get_data() == content
    second = runner.invoke(args=["snapshots", "take", "delivered"])
    assert second.exit_code == 0, second.output
    second_sha = second.output.split()[1]

    listed = client.get("/api/letters/delivered/snapshots").get_json()
    assert [(s["number"], s["signatures"]) for s in listed] == [(1, 2), (2, 1)]
    assert listed[0]["previous_sha256"] is None
    assert listed[1]["previous_sha256"] == listed[0]["sha256"] == sha256
    assert listed[1]["sha256"] == second_sha
    assert listed[0]["note"] == "Delivered to the Parliament"
    for snapshot in listed:
        body = client.get(snapshot["url"]).get_data()
        assert hashlib.sha256(body).hexdigest() == snapshot["sha256"]
    page = client.get("/letters/delivered/snapshots").get_data(as_text=True)
    assert sha256 in page and second_sha in page
    assert "not a snapshot already" in page
    assert client.get("/letters/delivered/snapshots/3.csv").status_code == 404
    assert client.get(f"/letters/delivered/snapshots/{2**40}.csv").status_code == 404
    taken = session.scalars(select(AuditEvent).where(AuditEvent.action == "snapshot.take")).all()
    assert [event.details["number"] for event in taken] == [1, 2]


def test_a_bad_snapshot_request_gets_a_clear_error(runner, session) -> None:
    make_letter(session, slug="noted")
    result = runner.invoke(args=["snapshots", "take", "noted", "--note", "x" * 501])
    assert result.exit_code != 0
    assert "Keep the note under 500" in result.output
    assert runner.invoke(args=["snapshots", "take", "nowhere"]).exit_code != 0


def test_moderators_take_snapshots_in_the_console_and_viewers_only_see_them(
    client: FlaskClient, session
) -> None:
    from app.models import OrganiserRole
    from tests.factories import make_organiser
    from tests.helpers import csrf_token, log_in

    letter = make_letter(session, slug="console-snap")
    make_signature(session, letter=letter)
    viewer = make_organiser(session, letters={letter: OrganiserRole.VIEWER})
    moderator = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    url = "/admin/letters/console-snap/snapshots"
    log_in(client, viewer.email)
    assert client.post(url, data={"csrf_token": csrf_token(client, url)}).status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    log_in(client, moderator.email)
    too_long = client.post(url, data={"csrf_token": csrf_token(client, url), "note": "x" * 600})
    assert too_long.status_code == 422
    taken = client.post(url, data={"csrf_token": csrf_token(client, url), "note": "Handed over"})
    assert taken.status_code == 303
    listed = client.get("/api/letters/console-snap/snapshots").get_json()
    assert [(s["number"], s["note"], s["signatures"]) for s in listed] == [(1, "Handed over", 1)]
