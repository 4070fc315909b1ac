"""The credentials sheet is safe to open in a spreadsheet, and still says exactly what each user types."""

from __future__ import annotations

import csv
import io
import json

import pytest

from usermapper.lab import read_config
from usermapper.outputs.credentials import credentials_csv, unprotected_cell
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
    return list(csv.DictReader(io.StringIO(credentials_csv(mapping).decode("utf-8"))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "'"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(start):
    """In a password, and (since a password cannot hold a line break) for a carriage return in a type name."""
    formula = f"{start}HYPERLINK(\"http://evil.example\")"
    row, = sheet(kind=formula) if start == "\r" else sheet(password=formula)
    cell = row["type"] if start == "\r" else row["password"]
    assert cell == f"'{formula}"
    assert unprotected_cell(cell) == formula


def test_usernames_and_types_are_protected_too():
    row, = sheet(kind="=cmd", name="@user")
    assert (row["type"], row["username"]) == ("'=cmd", "'@user1")


def test_ordinary_cells_are_written_as_they_are():
    row, = sheet(password="Lab-Trainer-2026")
    assert row == {"type": "students", "username": "student1", "password": "Lab-Trainer-2026"}
