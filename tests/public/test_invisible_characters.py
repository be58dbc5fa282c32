"""Characters that render as nothing: "Bar\u200dack Obama" looks exactly like "Barack Obama".
Names are compared as a reader sees them, such characters are refused in names wherever a
name is set (unless the script of the letters around them needs them), and the defences run
wherever a name can be set."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.errors import InvalidInput
from app.extensions import limiter
from app.models import EvidenceMethod, OrganiserRole, Signature
from app.moderation import imports, operations
from app.signatories.checking import check_list
from app.signing import invitations
from app.signing.defences import WATCHED_NAME
from app.signing.settings import signing_settings
from app.signing.tokens import TokenPurpose, make_token
from app.support import csv_input
from app.support.text import has_control_characters, lookalike_key, without_ignorables
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import csrf_token, log_in, sign

#: Default_Ignorable_Code_Point, copied from Unicode's DerivedCoreProperties.txt (15.1; the
#: property's ranges have not changed since 6.0): the code's own table (the regex package's)
#: must agree with it.
DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
IGNORABLE = [chr(c) for low, high in DEFAULT_IGNORABLE_RANGES for c in range(low, high + 1)]
#: What the attack used, and U+2027 (a hyphenation point, a dot too small to notice).
REPORTED = ["\u200d", "\u200c", "\u034f", "\ufe0f", "\u3164", "\u2027"]
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]
HEADER = "name,email,affiliation,title,country,comment\n"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


def _disguised(char: str) -> str:
    return f"Bar{char}ack Obama"


def test_the_table_of_characters_that_render_as_nothing_is_unicodes() -> None:
    dropped = {c for c in map(chr, range(0x110000)) if not 0xD800 <= ord(c) <= 0xDFFF}
    dropped = {c for c in dropped if without_ignorables(c) == ""}
    assert dropped == set(IGNORABLE)


def test_a_name_with_a_hidden_character_is_compared_as_a_reader_sees_it() -> None:
    real = lookalike_key("Barack Obama")
    missed = [
        f"U+{ord(c):04X}" for c in [*IGNORABLE, "\u2027"] if lookalike_key(_disguised(c)) != real
    ]
    assert missed == []


def test_every_hidden_character_is_refused_in_a_name_between_latin_letters() -> None:
    accepted = [f"U+{ord(c):04X}" for c in IGNORABLE if not has_control_characters(_disguised(c))]
    assert accepted == []


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ between Arabic letters
        "\u0915\u094d\u200d\u0937",  # Devanagari: ZWJ in a conjunct
        "Ada \U0001f469\u200d\U0001f52c",  # an emoji sequence (woman scientist)
        "Ada \u2764\ufe0f",  # a heart as an emoji
        "\u845b\U000e0100",  # a Han character's variant
        "\u1828\u180b",  # a Mongolian letter's variant
    ],
)
def test_writing_that_needs_a_joiner_or_a_selector_keeps_it(name: str) -> None:
    assert not has_control_characters(name)


@pytest.mark.parametrize("char", NONCHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_noncharacters_are_refused_in_one_line_and_in_many(char: str) -> None:
    assert has_control_characters(f"Ada{char}")
    assert has_control_characters(f"A comment\n{char}", multiline=True)


@pytest.mark.parametrize("char", REPORTED[:-1], ids=lambda c: f"U+{ord(c):04X}")
def test_the_sign_form_refuses_a_hidden_character_and_keeps_nothing(
    client: FlaskClient, session, char: str
) -> None:
    letter = make_letter(session, slug="hidden")
    letter.watch_names = ["Barack Obama"]
    session.commit()
    response = sign(client, "hidden", name=_disguised(char), email="fake@example.org")
    assert response.status_code == 422
    assert "invisible" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_a_dotted_name_is_held_as_the_watched_name_it_looks_like(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="dotted")
    letter.watch_names = ["Barack Obama"]
    session.commit()
    assert (
        sign(client, "dotted", name=_disguised("\u2027"), email="f@example.org").status_code == 303
    )
    held = session.scalars(select(Signature)).one()
    assert held.quarantined and WATCHED_NAME in held.review_flags


def test_an_import_and_an_invitation_list_refuse_every_hidden_character(session) -> None:
    rows = "".join(
        f"{_disguised(c)},p{n}@example.org,Lab,Fellow,GB,\n" for n, c in enumerate(IGNORABLE)
    )
    with pytest.raises(csv_input.ImportRejected) as rejected:
        imports.parse((HEADER + rows).encode())
    assert len(rejected.value.problems) == len(IGNORABLE)
    listing = "name,email\n" + "".join(
        f"{_disguised(c)},p{n}@example.org\n" for n, c in enumerate(IGNORABLE)
    )
    with pytest.raises(csv_input.ImportRejected) as refused:
        invitations.read_invitation_list(listing.encode())
    assert len(refused.value.problems) == len(IGNORABLE)


def test_a_correction_refuses_every_hidden_character(session) -> None:
    signature = make_signature(session, letter=make_letter(session), name="Ada Lovelace")
    for char in IGNORABLE:
        fix = operations.Correction(
            name=_disguised(char), title="Professor", affiliation="Lab", country="GB"
        )
        with pytest.raises(InvalidInput):
            operations.correct(session, signature, fix, by=None)
    assert signature.name == "Ada Lovelace"


def _invitation_path(app: Flask, session, slug: str, listing: bytes) -> str:
    letter = make_letter(session, slug=slug)
    letter.watch_names = ["Barack Obama"]
    settings = signing_settings(app.config)
    invitations.invite(session, letter, listing, settings=settings, by=None, now=utcnow())
    session.commit()
    invitation = session.scalars(select(invitations.Invitation)).one()
    token = make_token(settings.secret_key, TokenPurpose.INVITE, invitation.id)
    return f"/letters/{slug}/invitation/{token}"


def _sign_from(client: FlaskClient, path: str, name: str):
    data = {"name": name, "affiliation": "Lab", "title": "Professor", "country": "GB"}
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def test_an_invitation_whose_name_is_changed_meets_the_defences(
    app: Flask, client: FlaskClient, session
) -> None:
    path = _invitation_path(app, session, "invited", b"name,email\nAda Lovelace,ada@example.org\n")
    assert _sign_from(client, path, _disguised("\u200d")).status_code == 422
    assert _sign_from(client, path, "Barack Obama").status_code == 303
    signature = session.scalars(select(Signature)).one()
    assert signature.quarantined and WATCHED_NAME in signature.review_flags


def test_an_invited_person_signing_under_their_own_name_is_not_held(
    app: Flask, client: FlaskClient, session
) -> None:
    # The organisers invited him, and watch for impostors: he is not one.
    path = _invitation_path(app, session, "invited", b"name,email\nBarack Obama,bo@example.org\n")
    assert _sign_from(client, path, "Barack Obama").status_code == 303
    assert not session.scalars(select(Signature)).one().quarantined


def test_check_a_list_finds_a_stored_name_with_a_hidden_character(session) -> None:
    # Stored before the characters were refused; migration 0018 gave it its key again.
    letter = make_letter(session)
    make_signature(session, letter=letter, name=_disguised("\u200d"))
    [result] = check_list(session, letter, ["Barack Obama"], []).names
    assert result.matches


def test_what_xml_cannot_hold_is_refused_at_the_form(client: FlaskClient, session) -> None:
    make_letter(session, slug="xml")
    for char in NONCHARACTERS[:2]:
        response = sign(client, "xml", name=f"Ada{char}", email="ada@example.org")
        assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Signature)) == 0


def test_every_xml_writer_copes_with_what_was_stored_before_the_checks(
    client: FlaskClient, session
) -> None:
    # Stored by an older release: the feed and the workbook still answer, the character
    # shown as U+FFFD.
    letter = make_letter(session, slug="stored")
    organiser = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    stored = make_signature(session, letter=letter, name="Ada\ufffe", affiliation="Lab\uffff\x01")
    operations.record_evidence(
        session,
        letter,
        stored,
        operations.Evidence(EvidenceMethod.CALL),
        by=organiser,
        now=utcnow(),
    )
    session.commit()
    feed = client.get("/letters/stored/notables.atom")
    assert feed.status_code == 200
    root = ET.fromstring(feed.get_data())  # noqa: S314 (our own feed)
    assert [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")] == [
        "Ada\ufffd, Professor, Lab\ufffd\ufffd"
    ]
    log_in(client, organiser.email)
    with client.get("/admin/letters/stored/signatures/export?format=xlsx") as workbook:
        assert workbook.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)][1:] == ["Ada\ufffd"]


def test_a_joiner_between_two_accents_of_a_latin_word_is_refused() -> None:
    # Only an emoji on one side makes a joiner part of an emoji sequence.
    assert has_control_characters("Re\u0301\u200d\u0301ne")
    assert not has_control_characters("Ada \U0001f3f3\ufe0f\u200d\U0001f308")
