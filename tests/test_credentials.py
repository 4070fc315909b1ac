"""The credentials sheet says exactly what each user types, and names the cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json

import pytest

from usermapper.lab import read_config
from usermapper.outputs.credentials import credentials_sheet
from usermapper.lab.expand import expand

LAB = """
users:
    {kind}:
        quantity: 1
        username_prefix: {name}
        username_suffix: '1'
        password: {password}
devices:
    pcs:
        quantity: 1
        name_prefix: PC
        name_suffix: '1'
        hostname_prefix: '10.0.0.'
        hostname_suffix: '1'
        parameters: {{protocol: rdp}}
"""


def sheet(kind: str = "students", name: str = "student", password: str = "secret-1") -> list[dict]:
    text = LAB.format(kind=json.dumps(kind), name=json.dumps(name), password=json.dumps(password))
    mapping = expand(read_config(text))
    return list(csv.DictReader(io.StringIO(credentials_sheet(mapping).csv.decode("utf-8"))))


def mapping_of(kind: str = "students", name: str = "student", password: str = "secret-1"):
    return expand(read_config(LAB.format(kind=json.dumps(kind), name=json.dumps(name), password=json.dumps(password))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_exactly_and_named(start):
    """In a password, and (since a password cannot hold a line break) for a carriage return in a type name."""
    formula = f"{start}HYPERLINK(\"http://evil.example\")"
    kind, password = (formula, "secret-1") if start == "\r" else ("students", formula)
    row, = sheet(kind=kind, password=password)
    assert (row["type"], row["password"]) == (kind, password)  # what the user types, or the type as written
    cells = credentials_sheet(mapping_of(kind=kind, password=password)).formula_cells
    assert cells == (("row 2 type",) if start == "\r" else ("row 2 password",))


def test_usernames_and_types_are_named_too_and_the_warning_counts_past_five():
    row, = sheet(kind="=cmd", name="@user")
    assert (row["type"], row["username"]) == ("=cmd", "@user1")
    assert list(credentials_sheet(mapping_of(kind="=cmd", name="@user")).formula_cells) == ["row 2 type", "row 2 username"]
    many = expand(read_config(LAB.format(kind="students", name='"-u"', password='"+pw"').replace(
        "quantity: 1\n        username_prefix", "quantity: 4\n        username_prefix")))
    assert credentials_sheet(many).warning() == (
        "a spreadsheet would run 8 cells of the credentials sheet as formulas (row 2 username, row 2 password, "
        "row 3 username, row 3 password, row 4 username and 3 more); they are written exactly, so open the sheet "
        "with every column as text")


def test_a_quote_is_written_as_it_is_and_is_no_formula():
    row, = sheet(password="'quoted")
    assert row["password"] == "'quoted" and credentials_sheet(mapping_of(password="'quoted")).warning() is None


def test_ordinary_cells_are_written_as_they_are():
    row, = sheet(password="Lab-Trainer-2026")
    assert row == {"type": "students", "username": "student1", "password": "Lab-Trainer-2026"}
