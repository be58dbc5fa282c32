"""Every signature tied to its text: each version has the SHA-256 of its exact bytes, anyone can
download the text and check it, the history shows what changed, and the API says which
version each signature agreed to."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient

from app.db import utcnow
from app.letters import letters
from app.models import LetterStatus, OrganiserRole
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in

BODY = "We, the undersigned, call for **laws** against deepfakes.\n\nSee [the report](https://x.example)."


def _edit(session, letter, body: str, *, substantive: bool = False) -> None:
    letters.update_letter(
        session,
        letter,
        title=letter.title,
        body=body,
        status=letter.status,
        closes_at=None,
        target=None,
        now=utcnow(),
        substantive=substantive,
        by=None,
    )
    session.commit()


def test_each_version_is_downloadable_byte_for_byte_and_hashes_to_its_sha256(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="hashed", body="Dür Text mit Umlauten — and “quotes”.")
    version = letters.version_of(session, letter, 1)
    assert version.sha256 == hashlib.sha256(letter.body.encode("utf-8")).hexdigest()
    # Stable: the same text hashes the same in any process, on any database.
    assert version.sha256 == letters.text_sha256("Dür Text mit Umlauten — and “quotes”.")

    response = client.get("/letters/hashed/versions/1.md")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert hashlib.sha256(response.get_data()).hexdigest() == version.sha256
    assert client.get("/letters/hashed/versions/2.md").status_code == 404
    assert client.get(f"/letters/hashed/versions/{2**40}.md").status_code == 404
    assert client.get("/letters/nowhere/versions/1.md").status_code == 404


def test_one_byte_makes_a_new_version_with_another_hash_and_signatures_keep_theirs(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="versions", body=BODY)
    first = make_signature(session, letter=letter, name="Early Signer")
    first_hash = letters.version_of(session, letter, 1).sha256
    _edit(session, letter, BODY + " ")  # one byte: trailing spaces are trimmed, so...
    assert letter.version == 1  # ...nothing changed after cleaning
    _edit(session, letter, BODY.replace("laws", "Laws"))  # one byte
    _edit(session, letter, BODY.replace("laws", "binding laws"), substantive=True)
    assert letter.version == 3
    late = make_signature(session, letter=letter, name="Late Signer")
    late.letter_version = letter.version  # as signing records it
    session.commit()

    data = client.get("/api/letters/versions/versions").get_json()
    assert [(v["number"], v["substantive"]) for v in data] == [(1, False), (2, False), (3, True)]
    assert data[0]["sha256"] == first_hash
    assert len({v["sha256"] for v in data}) == 3
    for version in data:
        text = client.get(version["url"]).get_data()
        assert hashlib.sha256(text).hexdigest() == version["sha256"]

    letter_json = client.get("/api/letters/versions").get_json()
    assert letter_json["text_sha256"] == data[2]["sha256"]
    items = {
        i["name"]: i for i in client.get("/api/letters/versions/signatories").get_json()["items"]
    }
    assert items["Early Signer"]["text_sha256"] == first_hash
    assert items["Late Signer"]["text_sha256"] == data[2]["sha256"]
    assert first.letter_version == 1

    history = client.get("/letters/versions/history").get_data(as_text=True)
    for version in data:
        assert version["sha256"] in history
    added = '<ins><span class="visually-hidden">Added: </span>We, the undersigned, call for '
    assert added + "**binding laws**" in history
    assert "a change of substance" in history and "a correction (typos, links)" in history


def test_the_console_asks_whether_an_edit_is_a_correction_or_of_substance(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="console-edit", body=BODY, status=LetterStatus.OPEN)
    make_signature(session, letter=letter)
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    url = "/admin/letters/console-edit/edit"
    assert "A change of substance" in client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "title": letter.title,
            "body": BODY + "\n\nA new paragraph.",
            "status": "open",
            "edit_kind": "substance",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert letters.version_of(session, letter, 2).substantive is True
