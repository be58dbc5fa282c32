"""Reading a CSV file people made in a spreadsheet, all or nothing: every problem is reported
by its line number, and a caller keeps nothing of a file that has one.

Every check is linear in the file's size: a file too wide or with a line too long is refused
before its cells are looked at. Signatory imports and the registry of organisations read
their files through here.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.errors import DomainError
from app.support.countries import country_code
from app.support.text import (
    MAX_MARKS_PER_LETTER,
    InvalidAddress,
    email_address,
    has_control_characters,
    has_stacked_marks,
    normalise,
)

MAX_ERRORS_REPORTED = 100
#: The longest address a cell may hold (RFC 3696's 320, as the models' EMAIL_MAX).
ADDRESS_MAX = 320
#: Columns a header may have: a few more than are read are tolerated (a spreadsheet's notes).
MAX_COLUMNS = 50
#: Bytes a line may have. A signatory's row at every field's limit, in four-byte characters,
#: takes about 12 KB; anything longer is not a row of anything we read.
MAX_LINE_BYTES = 32 * 1024


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(DomainError):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(str(p) for p in self.problems[:MAX_ERRORS_REPORTED])
        more = len(self.problems) - MAX_ERRORS_REPORTED
        extra = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"Nothing was imported: {len(self.problems)} problem(s).\n{shown}{extra}")


class LineTooLong(ValueError):
    """A line of the file is longer than MAX_LINE_BYTES."""

    def __init__(self, line: int) -> None:
        self.line = line
        super().__init__(f"longer than {MAX_LINE_BYTES:,} bytes")


class _Lines:
    """The file's lines, for the CSV reader: a line longer than MAX_LINE_BYTES stops the
    reading (LineTooLong) before the reader splits it into cells."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text, newline=""))
        self._number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._number += 1
        # Characters first: a line that short cannot be too long in bytes (UTF-8: at most 4).
        if len(line) > MAX_LINE_BYTES // 4 and len(line.encode()) > MAX_LINE_BYTES:
            raise LineTooLong(self._number)
        return line


class CsvRecords:
    """The records of a CSV file with a header, as {column: text} over the columns read.

    Iterate over it for (line, record); add a row's problem to `problems`; call finish() at the
    end, which raises ImportRejected if there were any (or no rows at all). Problems of the
    file's shape (not UTF-8, not CSV, a missing column) raise at once.
    """

    def __init__(
        self,
        data: bytes,
        *,
        required: Sequence[str],
        optional: Sequence[str] = (),
        max_rows: int,
    ) -> None:
        self.problems: list[RowProblem] = []
        self.rows_seen = 0
        self._columns = (*required, *optional)
        self._max_rows = max_rows
        described = (
            f"an import file has at most {MAX_COLUMNS} columns, among them {', '.join(required)}"
        )
        if optional:
            described += f" and, optionally, {', '.join(optional)}"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportRejected(
                [RowProblem(1, f"the file is not UTF-8 text ({error.reason})")]
            ) from None
        self._reader = csv.DictReader(_Lines(text))
        try:
            columns = self._reader.fieldnames or []
        except csv.Error as error:
            raise ImportRejected([RowProblem(1, f"not readable as CSV ({error})")]) from None
        except LineTooLong as error:
            problem = RowProblem(error.line, f"the header is {error}; {described}")
            raise ImportRejected([problem]) from None
        if len(columns) > MAX_COLUMNS:
            raise ImportRejected([RowProblem(1, f"{len(columns):,} columns; {described}")])
        headers = [normalise(h).lower() for h in columns]
        counts = Counter(h for h in headers if h)
        repeated = sorted(h for h, count in counts.items() if count > 1)
        if repeated:
            raise ImportRejected([RowProblem(1, f"repeated column(s): {', '.join(repeated)}")])
        missing = [column for column in required if column not in headers]
        if missing:
            raise ImportRejected([RowProblem(1, f"missing column(s): {', '.join(missing)}")])
        self._reader.fieldnames = headers
        #: The columns the file's header has (an optional column may be absent).
        self.columns = frozenset(headers)

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        reader = self._reader
        records = iter(reader)
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except csv.Error as error:
                self.problems.append(RowProblem(reader.line_num, f"not readable as CSV ({error})"))
                return
            except LineTooLong as error:
                self.problems.append(
                    RowProblem(error.line, f"not readable as CSV: {error}, more than any row needs")
                )
                return
            line = reader.line_num
            if self.rows_seen >= self._max_rows:
                self.problems.append(
                    RowProblem(line, f"more than {self._max_rows:,} rows; split the file")
                )
                return
            self.rows_seen += 1
            if None in record:
                self.problems.append(RowProblem(line, "more cells than there are columns"))
                continue
            yield line, {column: record.get(column) or "" for column in self._columns}

    def finish(self) -> None:
        if self.problems:
            raise ImportRejected(self.problems)
        if not self.rows_seen:
            raise ImportRejected([RowProblem(1, "the file has no rows")])


def cell_text(
    value: str, label: str, limit: int, *, required: bool, multiline: bool = False
) -> str:
    """A cell's text as the site keeps text (NFC, trimmed); ValueError, for the row's problem,
    if it is missing, too long, or holds what no name needs."""
    value = normalise(value, multiline=multiline)
    if required and not value:
        raise ValueError(f"{label} is missing")
    if len(value) > limit:
        raise ValueError(f"{label} is longer than {limit} characters")
    if has_control_characters(value, multiline=multiline):
        raise ValueError(
            f"{label} contains invisible control characters (they often come with pasted "
            "text: type the cell again)"
        )
    if has_stacked_marks(value):
        raise ValueError(f"{label} has letters with more than {MAX_MARKS_PER_LETTER} accents")
    return value


def email_cell(value: str) -> str:
    """An address cell, checked as the sign form checks one (InvalidAddress's reason becomes
    the row's problem, as a ValueError)."""
    text = cell_text(value, "email", ADDRESS_MAX, required=True)
    try:
        return email_address(text)
    except InvalidAddress as error:
        raise ValueError(f"email {text!r}: {error}") from None


def country_cell(value: str, *, required: bool) -> str:
    """A country cell (a name or an ISO 3166 code) as its alpha-2 code; "" when it may be empty
    and is."""
    text = cell_text(value, "country", 100, required=required)
    if not text:
        return ""
    code = country_code(text)
    if code is None:
        raise ValueError(f"country {text!r} is not a country name or ISO 3166 code")
    return code
