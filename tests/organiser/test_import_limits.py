"""Import files too wide, or with a line too long, are refused before their cells are read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import limiter
from app.models import OrganiserRole, Signature
from app.moderation import imports
from app.support import csv_input
from tests.factories import make_letter, make_organiser
from tests.helpers import csrf_token, log_in

HEADER = "name,email,affiliation,title,country,comment\n"
ROW = "Ada Lovelace,ada@example.org,Cambridge,Professor,GB,\n"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    limiter.reset()


@pytest.fixture
def campaign(session, client: FlaskClient):
    letter = make_letter(session, slug="campaign")
    organiser = make_organiser(session, letters={letter: OrganiserRole.MODERATOR})
    log_in(client, organiser.email)
    return letter


@pytest.fixture
def header_cells(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every value the import normalises (each header cell, then each row's cells); a check
    that looks at a refused header's cells one by one stops at the hundredth."""
    seen: list[str] = []
    original = csv_input.normalise

    def counting(value: str | None, *, multiline: bool = False) -> str:
        seen.append(value or "")
        if len(seen) > 100:
            raise AssertionError("the import looks at the cells of a file it should refuse")
        return original(value, multiline=multiline)

    monkeypatch.setattr(csv_input, "normalise", counting)
    return seen


def _upload(client: FlaskClient, content: str) -> tuple[int, str]:
    token = csrf_token(client, "/admin/letters/campaign/import")
    response = client.post(
        "/admin/letters/campaign/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(content.encode()), "list.csv"),
            "source": "Paper forms",
        },
        content_type="multipart/form-data",
    )
    return response.status_code, response.get_data(as_text=True)


def _signatures(session) -> int:
    return int(session.scalar(select(func.count()).select_from(Signature)))


def test_a_header_of_sixty_thousand_columns_is_refused_before_its_cells_are_read(
    client: FlaskClient, session, campaign, header_cells: list[str]
) -> None:
    # The upload that kept a worker busy until gunicorn killed it: 457 KB, one header line.
    wide = ",".join(f"c{n}" for n in range(60_000)) + "\n"
    status, page = _upload(client, wide + ROW)
    assert status == 422
    assert "Line 1: the header is longer than 32,768 bytes" in page
    assert "an import file has at most 50 columns" in page
    assert header_cells == []
    assert _signatures(session) == 0


def test_a_header_of_more_than_fifty_columns_is_refused_with_the_columns_wanted(
    client: FlaskClient, session, campaign, header_cells: list[str]
) -> None:
    extra = ",".join(f"note{n}" for n in range(45))
    status, page = _upload(client, HEADER.strip() + "," + extra + "\n" + ROW)
    assert status == 422
    assert (
        "Line 1: 51 columns; an import file has at most 50 columns, among them name, email, "
        "affiliation, title, country and, optionally, comment"
    ) in page
    assert header_cells == []
    assert _signatures(session) == 0


def test_fifty_columns_are_still_imported(client: FlaskClient, session, campaign) -> None:
    extra = ",".join(f"note{n}" for n in range(44))
    status, _ = _upload(client, HEADER.strip() + "," + extra + "\n" + ROW.strip() + "," * 44)
    assert status == 303
    assert _signatures(session) == 1


@pytest.mark.parametrize(
    "long_row",
    [
        # Blanks around a name are trimmed: the row itself would be clean.
        "Ada" + " " * 40_000 + ",ada@example.org,Cambridge,Professor,GB,\n",
        # 17,000 characters, but 34,000 bytes in UTF-8: the bound is in bytes.
        "Ada,ada@example.org,Cambridge,Professor,GB," + "é" * 17_000 + "\n",
    ],
    ids=["blanks", "two-byte characters"],
)
def test_a_line_longer_than_the_bound_is_refused_and_nothing_is_kept(
    runner, session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, long_row: str
) -> None:
    # One row a chunk: the first is written before the long line is read, and undone.
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    make_letter(session, slug="long-lines")
    path = tmp_path / "long.csv"
    first = "Grace Hopper,grace@example.org,Yale,Admiral,US,\n"
    path.write_text(HEADER + first + long_row + ROW, encoding="utf-8")
    result = runner.invoke(args=["signatures", "import", "long-lines", str(path), "--verified"])
    assert result.exit_code == 1
    assert (
        "line 3: not readable as CSV: longer than 32,768 bytes, more than any row" in result.output
    )
    assert _signatures(session) == 0


def test_a_line_just_within_the_bound_is_read_as_usual(runner, session, tmp_path: Path) -> None:
    make_letter(session, slug="long-lines")
    padding = " " * (csv_input.MAX_LINE_BYTES - len(ROW.encode()) - 1)
    path = tmp_path / "padded.csv"
    path.write_text(HEADER + padding + ROW, encoding="utf-8")  # blanks before the name
    result = runner.invoke(args=["signatures", "import", "long-lines", str(path), "--verified"])
    assert result.exit_code == 0, result.output
    assert _signatures(session) == 1
