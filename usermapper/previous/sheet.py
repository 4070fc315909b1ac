"""A previous credentials sheet, read to keep its passwords (docs/week-two.md).

Any CSV whose first line names a ``username`` and a ``password`` column (in any case, in any order, with
any other columns) is one: the sheet ``outputs/credentials.py`` writes, or a trainer's own. It is read as
RFC 4180 says, and as that module writes it: UTF-8 (a byte-order mark is dropped), fields separated by
commas, records by CRLF, LF or CR, a field holding a comma, a quote or a line break between quotes with
its quotes doubled. Every cell is taken exactly, as the sheet is written exactly: a password such as
``=1+2`` or ``-x``, which a spreadsheet would run, is the password.

The sheet is refused whole, with the line and column of each cause, when it is not that: larger than the
config may be, longer than a line per user a lab may have, not UTF-8, not CSV (a quote that no quote
closes, text after a closing quote), without the two columns, a row with another number of cells than the
first line, a username given twice, an empty username or password, or a username or password
holding a line break (which a browser's login form cannot send) or a character XML cannot carry. Nothing is
kept from half a sheet. Usernames are compared exactly, as Guacamole compares them: ``Student01`` and
``student01`` are two users.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from ..lab.fields import NOT_XML_CHARACTER
from ..lab.model import Problem, Refused
from ..lab.yaml_nodes import MAX_REPORTED, place
from ..limits import Limits
from ..wording import quoted

USERNAME, PASSWORD, TYPE = "username", "password", "type"
LINE_BREAK = re.compile(r"\r\n|\n|\r")
# To locate cells: a quoted field (its quotes doubled inside), or an unquoted one, up to a comma or a line break.
FIELD = re.compile(r'"((?:[^"]|"")*)"|[^,\r\n]*')


class SheetRefused(Refused):
    """A sheet nothing may be kept from: ``problems`` give the line and column of each cause in the sheet,
    and ``path`` names its column (``username``, ``password``) where there is one."""


@dataclass(frozen=True)
class PreviousSheet:
    """The passwords of a previous sheet by username, and each user's type where the sheet has a ``type``
    column (else the empty text)."""

    passwords: dict[str, str]
    types: dict[str, str] = field(default_factory=dict)


def read_sheet(data: bytes, limits: Limits) -> PreviousSheet:
    """The sheet in ``data``, within the config's size limit and a row per user the lab may have at most;
    raises ``SheetRefused``."""
    if len(data) > limits.max_config_bytes:
        raise SheetRefused([Problem("", 0, 0, f"the credentials sheet is {len(data):,} bytes; the largest "
                                              f"accepted is {limits.max_config_bytes:,} bytes")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = place(data, error.start)
        raise SheetRefused([Problem("", line, column, f"the credentials sheet is not UTF-8 text (byte "
                                                      f"0x{data[error.start]:02x} cannot be read): save it as "
                                                      f"CSV UTF-8")]) from None
    rows = _Rows(text)
    try:
        return _sheet(rows, limits.max_users)
    except csv.Error as error:
        cells = rows.located(rows.start_line)
        raise SheetRefused([Problem("", *cells[-1], f"not CSV: {_CSV_ERRORS.get(str(error), error)}")]) from None


class _Rows:
    """The records of CSV ``text`` as Python's csv module reads them (quoted fields, CRLF, LF or CR), and the
    line each starts on; ``located`` reads one again, slowly, for the place of each of its cells."""

    def __init__(self, text: str):
        self.text = text
        self.reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        self.start_line = 1  # of the record being read
        self.count = 0  # records read, blank lines too
        self._cursor = (1, 0)  # a line and where it starts: lines are located in order, each found once

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        for row in reader:
            self.count += 1
            yield self.start_line, row
            self.start_line = reader.line_num + 1

    def located(self, line: int) -> list[tuple[int, int]]:
        """The place of each cell of the record starting on ``line``, as far as it is CSV: at least one."""
        at_line, offset = self._cursor
        for found in LINE_BREAK.finditer(self.text, offset) if at_line < line else ():
            at_line, offset = at_line + 1, found.end()
            if at_line == line:
                break
        self._cursor = (at_line, offset)
        return _places(self.text, offset, line)


def _sheet(rows: _Rows, max_users: int) -> PreviousSheet:
    most = max_users + 2  # the first line, a row per user, and one more that says there are more
    records = islice(rows, most)
    first = next(((line, row) for line, row in records if any(row)), None)  # blank lines are no users
    if first is None and rows.count == most:
        raise SheetRefused([_too_long(rows, most)])
    if first is None:
        raise SheetRefused([Problem("", 1, 1, "the credentials sheet is empty: its first line must name the "
                                              "columns username and password")])
    header_line, header = first
    columns = _columns(header, rows.located(header_line))
    user_at, password_at, type_at = columns[USERNAME], columns[PASSWORD], columns.get(TYPE)
    width = len(header)
    passwords: dict[str, str] = {}
    types: dict[str, str] = {}
    lines: dict[str, int] = {}
    found = _Problems(rows)
    for line, row in records:
        if len(row) != width:
            if any(row):  # at the first cell too many, or the last of too few
                found.add(line, width if len(row) > width else len(row) - 1, "",
                          f"this row has {len(row)} cells and the first line {width}")
            continue
        username, password = row[user_at], row[password_at]
        if not (username and password and username.isprintable() and password.isprintable()):
            if not any(row):  # a spreadsheet's empty row: commas alone
                continue
            bad = _cell_problem(username, USERNAME) or _cell_problem(password, PASSWORD)
            if bad:
                found.add(line, user_at if bad[0] == USERNAME else password_at, *bad)
                continue
        if username in lines:
            found.add(line, user_at, USERNAME, f"{quoted(username)} is also on line {lines[username]}: which "
                                               f"password is theirs?")
            continue
        passwords[username] = password
        lines[username] = line
        if type_at is not None:
            types[username] = row[type_at]
    if rows.count == most:
        found.listed.append(_too_long(rows, most))
    found.raise_any()
    return PreviousSheet(passwords, types)


def _too_long(rows: _Rows, most: int) -> Problem:
    return Problem("", rows.start_line, 1, f"the sheet has more than {most - 1:,} lines: a first line, and one per "
                                           f"user a lab may have at most; it was read no further")


class _Problems:
    """The problems of a sheet's rows, located when listed: the first ``MAX_REPORTED``, then a count."""

    def __init__(self, rows: _Rows):
        self.rows, self.listed, self.count = rows, [], 0

    def add(self, line: int, cell: int, path: str, message: str) -> None:
        self.count += 1
        if len(self.listed) <= MAX_REPORTED:  # one more than listed: where the rest start
            places = self.rows.located(line)
            self.listed.append(Problem(path, *places[min(cell, len(places) - 1)], message))

    def raise_any(self) -> None:
        if self.count > MAX_REPORTED:
            first = self.listed[MAX_REPORTED]
            self.listed[MAX_REPORTED] = Problem(first.path, first.line, first.column,
                                               f"and {self.count - MAX_REPORTED:,} more problems, from here on; "
                                               f"fix those above first")
        if self.listed:
            raise SheetRefused(self.listed)


def _columns(header: list[str], places: list[tuple[int, int]]) -> dict[str, int]:
    """Where the username, password and type columns are; raises ``SheetRefused`` without the first two."""
    names = [cell.strip().lower() for cell in header]
    problems = [Problem(name, *places[index], f"the first line names the column {name} twice")
                for index, name in enumerate(names)
                if name in (USERNAME, PASSWORD, TYPE) and names.index(name) != index]
    missing = [name for name in (USERNAME, PASSWORD) if name not in names]
    if missing:
        problems.append(Problem("", *places[0], f"the first line does not name the column"
                                                f"{'s' if len(missing) > 1 else ''} {' and '.join(missing)}: a "
                                                f"credentials sheet has the columns username and password "
                                                f"(usermapper writes type,username,password)"))
    if problems:
        raise SheetRefused(problems)
    return {name: names.index(name) for name in (USERNAME, PASSWORD, TYPE) if name in names}


def _cell_problem(value: str, name: str) -> tuple[str, str] | None:
    if not value:
        return name, f"an empty {name}"
    if value.isprintable():
        return None
    if "\n" in value or "\r" in value:
        return name, "holds a line break, which a browser's login form cannot send"
    bad = NOT_XML_CHARACTER.search(value)
    if bad:
        return name, f"holds the character U+{ord(bad.group()):04X}, which an XML file cannot carry"
    return None


# What Python's csv module says, as a trainer would say it.
_CSV_ERRORS = {"',' expected after '\"'": "text after a field's closing quote: a quote inside a quoted field "
                                          "is written twice",
               "unexpected end of data": "a quote opens a field that no quote closes"}


def _places(text: str, at: int, line: int) -> list[tuple[int, int]]:
    """The place of each cell of the record starting at offset ``at`` on ``line``, read field by field as
    far as it is CSV."""
    line_start = at
    places = []
    while True:
        places.append((line, at - line_start + 1))
        match = FIELD.match(text, at)
        if text.startswith('"', at) and match.group(1) is None:
            return places  # a quote no quote closes
        for found in LINE_BREAK.finditer(match.group()):
            line, line_start = line + 1, at + found.end()
        at = match.end()
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        return places
