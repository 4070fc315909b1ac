"""A previous credentials sheet read back (usermapper/previous/sheet.py): our own sheet gives back exactly
the passwords it was written with, whatever a spreadsheet would make of them; any CSV with username and
password columns is read; anything else is refused whole, with the line and column of each cause."""

from __future__ import annotations

import pytest

from usermapper.lab import read_config
from usermapper.lab.expand import expand
from usermapper.limits import Limits
from usermapper.outputs.credentials import credentials_sheet
from usermapper.previous.sheet import SheetRefused, read_sheet

LIMITS = Limits()
LAB = """
users:
    students: {quantity: 9, username_prefix: student, username_suffix: '1', password: random}
devices:
    pcs: {quantity: 1, name_prefix: PC, name_suffix: '', hostname_prefix: pc, hostname_suffix: '',
          parameters: {protocol: ssh}}
"""
# Passwords a spreadsheet would run as formulas, or that need quoting in CSV, or are not ASCII.
AWKWARD = ["=1+2", "+cmd|' /C calc'!A0", "-2", "@SUM(A1)", "\tTab", "a,b", 'say "hi"', " both ends ", "ü€😀"]


def refusal(data: bytes, limits: Limits = LIMITS) -> list[tuple[str, int, int, str]]:
    with pytest.raises(SheetRefused) as refused:
        read_sheet(data, limits)
    return [(p.path, p.line, p.column, p.message) for p in refused.value.problems]


def test_our_own_sheet_gives_back_every_password_exactly_even_those_a_spreadsheet_would_run():
    mapping = expand(read_config(LAB), lambda count, length: AWKWARD[:count])
    sheet = credentials_sheet(mapping)
    assert sheet.formula_cells  # the sheet warns of them, and still holds them exactly
    read = read_sheet(sheet.csv, LIMITS)
    assert read.passwords == {u.username: u.password for u in mapping.users}
    assert list(read.passwords.values()) == AWKWARD
    assert set(read.types.values()) == {"students"}


def test_a_pod_labs_sheet_with_its_devices_column_is_read_too():
    pods = LAB.replace("quantity: 1, name_prefix: PC", "per_user: 1, name_prefix: PC").replace(
        "hostname_prefix: pc,", "hostname_prefix: 'pc{pod}-',")
    mapping = expand(read_config(pods))
    sheet = credentials_sheet(mapping).csv
    assert sheet.startswith(b"type,username,password,devices\r\n")
    assert read_sheet(sheet, LIMITS).passwords == {u.username: u.password for u in mapping.users}


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_byte_order_mark_and_any_line_break_read_the_same(line_break):
    text = line_break.join(["Password,Notes,USERNAME ", 'p1,"one, two",ann', '"p""2","x\ny",bob', ""])
    read = read_sheet(b"\xef\xbb\xbf" + text.encode(), LIMITS)
    assert read.passwords == {"ann": "p1", "bob": 'p"2'}
    assert read.types == {}


def test_usernames_differing_only_in_case_are_two_users_as_guacamole_compares_them():
    read = read_sheet(b"username,password\nStudent01,upper\nstudent01,lower\n", LIMITS)
    assert read.passwords == {"Student01": "upper", "student01": "lower"}


def test_blank_lines_are_skipped_and_their_lines_still_counted():
    data = b"\nusername,password\n\nann,1\n,\n\nann,2\n"
    assert refusal(data) == [("username", 7, 1, "'ann' is also on line 4: which password is theirs?")]


def test_a_sheet_without_the_columns_is_refused_at_its_first_line():
    assert refusal(b"type,user,pass\nstudents,ann,x\n") == [
        ("", 1, 1, "the first line does not name the columns username and password: a credentials sheet has "
                   "the columns username and password (usermapper writes type,username,password)")]
    assert refusal(b"username,Username,password\n")[0][:3] == ("username", 1, 10)


@pytest.mark.parametrize("data, expected", [
    (b"", (1, 1, "the credentials sheet is empty: its first line must name the columns username and password")),
    (b"username,password\nann,1\nbob\n", (3, 1, "this row has 1 cells and the first line 2")),
    (b"username,password\nann,1,x\n", (2, 7, "this row has 3 cells and the first line 2")),
    (b'username,password\nann,"1\nbob,2\n', (2, 5, "not CSV: a quote opens a field that no quote closes")),
    (b'username,password\nann,"1"x\n', (2, 5, "not CSV: text after a field's closing quote: a quote inside a "
                                              "quoted field is written twice")),
    (b"username,password\nann,\n", (2, 5, "an empty password")),
    (b"username,password\n,x\n", (2, 1, "an empty username")),
    (b'username,password\nann,x\nbob,"line\r\nbreak"\n', (3, 5, "holds a line break, which a browser's login "
                                                              "form cannot send")),
    (b'username,password\n"a\nb",x\n', (2, 1, "holds a line break, which a browser's login form cannot send")),
    (b"username,password\nann,\x01x\n", (2, 5, "holds the character U+0001, which an XML file cannot carry")),
    (b"username,password\nann,\xa0\n", (2, 5, "the credentials sheet is not UTF-8 text (byte 0xa0 cannot be "
                                              "read): save it as CSV UTF-8")),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U", (1, 15, "the credentials sheet is not UTF-8 text "
                                                                     "(byte 0xb5 cannot be read): save it as "
                                                                     "CSV UTF-8")),
])
def test_what_is_not_a_sheet_is_refused_with_its_line_and_column(data, expected):
    assert [p[1:] for p in refusal(data)] == [expected]


def test_a_problem_after_a_quoted_line_break_is_placed_on_its_own_line_and_column():
    data = b'username,password\nann,"two\nlines, ok?"\nbob,"a""b",extra\n'
    assert [p[1:] for p in refusal(data)] == [
        (2, 5, "holds a line break, which a browser's login form cannot send"),
        (4, 12, "this row has 3 cells and the first line 2")]


def test_nothing_is_kept_from_half_a_sheet_and_every_problem_is_listed_up_to_a_hundred():
    rows = b"".join(b"u%d,\n" % n for n in range(250))
    problems = refusal(b"username,password\nfine,ok\n" + rows)
    assert len(problems) == 101
    assert problems[99] == ("password", 102, 5, "an empty password")
    assert problems[100] == ("password", 103, 6, "and 150 more problems, from here on; fix those above first")


def test_the_sheet_has_the_configs_size_limit_and_a_row_per_user_at_most():
    limits = Limits(max_config_bytes=100, max_users=3)
    assert refusal(b"username,password\n" + b"x" * 83, limits) == [
        ("", 0, 0, "the credentials sheet is 101 bytes; the largest accepted is 100 bytes")]
    many = b"username,password\n" + b"".join(b"u%d,p\n" % n for n in range(5))
    assert refusal(many, limits) == [("", 5, 1, "the sheet has more than 4 lines: a first line, and one per user a "
                                                "lab may have at most; it was read no further")]
    assert refusal(b"\n" * 90, limits) == [("", 5, 1, "the sheet has more than 4 lines: a first line, and one per "
                                                     "user a lab may have at most; it was read no further")]
    assert len(read_sheet(b"username,password\n" + b"".join(b"u%d,p\n" % n for n in range(3)), limits).passwords) == 3
