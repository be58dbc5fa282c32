"""The command line: letters create/list, signatures export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Letter, LetterStatus, SignatureState
from tests.factories import make_letter, make_signature


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "letter.md"
    path.write_text("We call for **action**.\n", encoding="utf-8")
    return path


def test_letters_create_makes_an_open_letter(runner, session, body_file: Path) -> None:
    result = runner.invoke(
        args=[
            "letters",
            "create",
            "call-to-act",
            "--title",
            "A call",
            "--body-file",
            str(body_file),
        ]
    )
    assert result.exit_code == 0, result.output
    assert (
        "Created open letter call-to-act: http://signing.test/letters/call-to-act" in result.output
    )
    letter = session.scalars(select(Letter).where(Letter.slug == "call-to-act")).one()
    assert letter.status is LetterStatus.OPEN
    assert letter.body == "We call for **action**."


def test_letters_create_with_draft_and_closing_time(runner, session, body_file: Path) -> None:
    result = runner.invoke(
        args=[
            "letters", "create", "later", "--title", "Later", "--body-file", str(body_file),
            "--draft", "--closes-at", "2030-01-31T12:00:00+01:00",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    letter = session.scalars(select(Letter).where(Letter.slug == "later")).one()
    assert letter.status is LetterStatus.DRAFT
    assert letter.closes_at.isoformat() == "2030-01-31T11:00:00+00:00"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["Not A Slug", "--title", "T"], "must be lower-case letters"),
        (["ok-slug", "--title", ""], "The title must be"),
        (["ok-slug", "--title", "T", "--closes-at", "tomorrow"], "use ISO 8601"),
        (["ok-slug", "--title", "T", "--closes-at", "2030-01-01T00:00:00"], "add a time zone"),
        (["ok-slug", "--title", "T", "--closes-at", "9999-12-31T23:59:59-23:59"], "out of range"),
    ],
)
def test_letters_create_explains_bad_input(
    runner, session, body_file: Path, extra: list[str], message: str
) -> None:
    result = runner.invoke(args=["letters", "create", *extra, "--body-file", str(body_file)])
    assert result.exit_code != 0
    assert message in result.output
    assert session.scalars(select(Letter)).all() == []


def test_letters_create_refuses_a_duplicate_slug_and_a_missing_file(
    runner, session, body_file: Path, tmp_path: Path
) -> None:
    make_letter(session, slug="taken")
    duplicate = runner.invoke(
        args=["letters", "create", "taken", "--title", "T", "--body-file", str(body_file)]
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    missing = runner.invoke(
        args=["letters", "create", "new", "--title", "T", "--body-file", str(tmp_path / "no.md")]
    )
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    ok = runner.invoke(
        args=[
            "letters",
            "create",
            "taken",
            "--title",
            "T",
            "--body-file",
            str(body_file),
            "--exist-ok",
        ]
    )
    assert ok.exit_code == 0
    assert "already exists; left as it is" in ok.output


def test_letters_list_shows_status_and_verified_count(runner, session) -> None:
    letter = make_letter(session, slug="listed", title="Listed letter")
    make_signature(session, letter=letter)
    make_signature(session, letter=letter, state=SignatureState.PENDING)
    result = runner.invoke(args=["letters", "list"])
    assert result.exit_code == 0
    assert "listed\topen\t1 verified\tListed letter" in result.output


def _signed_letter(session):
    letter = make_letter(session, slug="export")
    make_signature(
        session,
        letter=letter,
        name="Zoé Verified",
        email="zoe@example.org",
        affiliation="ETH Zürich",
        country="CH",
        comment='=HYPERLINK("http://evil")',
    )
    make_signature(session, letter=letter, name="Pending One", state=SignatureState.PENDING)
    make_signature(session, letter=letter, name="Withdrawn One", state=SignatureState.WITHDRAWN)
    return letter


def test_export_csv_has_verified_signatures_with_every_column(runner, session) -> None:
    _signed_letter(session)
    result = runner.invoke(args=["signatures", "export", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["name"] for row in rows] == ["Zoé Verified"]
    row = rows[0]
    assert list(row) == [
        "name", "email", "affiliation", "organisation", "affiliation_verified",
        "email_organisation", "title", "country", "comment", "public", "status", "signed_at",
        "verified_at", "text_version", "reaffirmed_version", "initial", "news",
    ]  # fmt: skip
    assert row["email"] == "zoe@example.org"
    assert row["affiliation"] == "ETH Zürich"
    assert row["status"] == "verified"
    assert row["comment"].startswith("'=")  # spreadsheet formulas are defused
    assert row["verified_at"]


def test_export_all_adds_pending_and_withdrawn_with_status(runner, session) -> None:
    _signed_letter(session)
    result = runner.invoke(args=["signatures", "export", "export", "--format", "json", "--all"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {(row["name"], row["status"]) for row in data} == {
        ("Zoé Verified", "verified"),
        ("Pending One", "pending"),
        ("Withdrawn One", "withdrawn"),
    }
    assert data[0]["comment"] == '=HYPERLINK("http://evil")'  # JSON is data, not a sheet
    assert data[0]["public"] is True


def test_export_to_a_file_in_utf8(runner, session, tmp_path: Path) -> None:
    _signed_letter(session)
    target = tmp_path / "out.csv"
    result = runner.invoke(
        args=["signatures", "export", "export", "--format", "csv", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "Exported 1 signatures" in result.output
    assert "Zoé Verified" in target.read_text(encoding="utf-8")
    assert not (tmp_path / "out.csv.partial").exists()


def test_export_of_an_empty_letter_is_valid_json(runner, session) -> None:
    make_letter(session, slug="empty")
    result = runner.invoke(args=["signatures", "export", "empty", "--format", "json"])
    assert json.loads(result.output) == []


def test_export_refuses_unknown_letters_and_formats(runner, session) -> None:
    unknown = runner.invoke(args=["signatures", "export", "nope", "--format", "csv"])
    assert unknown.exit_code == 1
    assert "No letter with the slug 'nope'" in unknown.output
    make_letter(session, slug="fmt")
    bad = runner.invoke(args=["signatures", "export", "fmt", "--format", "xml"])
    assert bad.exit_code == 2


def test_export_to_a_folder_that_does_not_exist_is_a_clear_error(
    runner, session, tmp_path: Path
) -> None:
    _signed_letter(session)
    target = tmp_path / "missing" / "out.csv"
    result = runner.invoke(
        args=["signatures", "export", "export", "--format", "csv", "--output", str(target)]
    )
    assert result.exit_code == 1
    assert "Could not write" in result.output
    assert "No such file or directory" in result.output
