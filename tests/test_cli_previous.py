"""The command line's week-two options (docs/week-two.md): ``--keep-passwords FILE`` keeps a previous
credentials sheet's passwords, ``--previous FILE`` says what changed since the previous user-mapping.xml or
lab. Each file is read as the config is (files.py: bounded, a FIFO or a device read like a file) before
anything is written; the sheet kept may be the sheet written, the previous file the file written."""

from __future__ import annotations

import csv
import io
import os
import threading

import pytest

import guacamole_reader
from test_cli import usermapper
from test_previous_changes import CHANGES, WEEK_ONE, WEEK_TWO

SHEET_LIMIT = 64 << 20


def week_one(directory) -> dict[str, str]:
    (directory / "lab.yaml").write_text(WEEK_ONE)
    done = usermapper("-i", "lab.yaml", "-o", "user-mapping.xml", "--credentials", "passwords.csv", cwd=directory)
    assert done.returncode == 0, done.stderr
    (directory / "lab.yaml").write_text(WEEK_TWO)
    return sheet_of(directory / "passwords.csv")


def sheet_of(path) -> dict[str, str]:
    return {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(path.read_text()))}


def test_the_week_two_run_reads_the_sheet_and_the_file_then_replaces_both(tmp_path):
    before = week_one(tmp_path)
    old_sheet = (tmp_path / "passwords.csv").stat()
    done = usermapper("-i", "lab.yaml", "-o", "user-mapping.xml", "--credentials", "passwords.csv",
                      "--keep-passwords", "passwords.csv", "--previous", "user-mapping.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines() == [
        "usermapper: wrote 15,615 bytes to user-mapping.xml: 16 users, 80 connections; passwords in passwords.csv",
        "usermapper: changes since user-mapping.xml:", *(f"  {line}" for line in CHANGES)]
    after = sheet_of(tmp_path / "passwords.csv")
    assert set(after) == set(before) - {"trainer2"} | {"student13", "student14", "student15"}
    assert all(after[name] == before[name] for name in after if name in before)
    replaced = (tmp_path / "passwords.csv").stat()
    assert replaced.st_ino != old_sheet.st_ino and replaced.st_mode & 0o777 == 0o600  # replaced whole
    users = guacamole_reader.read((tmp_path / "user-mapping.xml").read_bytes())
    assert all(guacamole_reader.authenticates(users, name, password) for name, password in after.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml", "passwords.csv", "user-mapping.xml"]


def test_check_prints_the_changes_and_writes_nothing(tmp_path):
    week_one(tmp_path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = usermapper("-i", "lab.yaml", "--check", "--keep-passwords", "passwords.csv", "--previous", "user-mapping.xml",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-6:] == ["changes since user-mapping.xml:",
                                                      *(f"  {line}" for line in CHANGES)]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_quiet_silences_the_changes_but_not_the_warnings(tmp_path):
    week_one(tmp_path)
    literal = WEEK_TWO.replace("username_suffix: '1', password: random", "username_suffix: '1', password: Known-1")
    (tmp_path / "lab.yaml").write_text(literal)
    done = usermapper("-i", "lab.yaml", "-o", "user-mapping.xml", "-q", "--keep-passwords", "passwords.csv",
                      "--credentials", "passwords.csv", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr.decode() == ("lab.yaml:2:87: warning: users.trainers.password: the config's password replaces "
                                    "the one the previous sheet gave 1 user (trainer1): tell them the new one\n")


def test_a_previous_lab_config_is_compared_as_well_as_a_previous_file(tmp_path):
    week_one(tmp_path)
    (tmp_path / "last-week.yaml").write_text(WEEK_ONE)
    done = usermapper("-i", "lab.yaml", "--check", "--previous", "last-week.yaml", "--keep-passwords", "passwords.csv",
                      cwd=tmp_path)
    assert done.stdout.decode().splitlines()[-6:] == ["changes since last-week.yaml:",
                                                      *(f"  {line}" for line in CHANGES)]


@pytest.mark.parametrize("args, message", [
    (["-o", "passwords.csv", "--keep-passwords", "passwords.csv"],
     "-o and --keep-passwords both name passwords.csv; the file would overwrite the sheet whose passwords are kept"),
    (["--passwords-sql", "postgresql", "passwords.csv", "--keep-passwords", "passwords.csv"],
     "--passwords-sql and --keep-passwords both name passwords.csv; the script would overwrite the sheet whose "
     "passwords are kept"),
    (["--credentials", "user-mapping.xml", "--previous", "user-mapping.xml", "-o", "new.xml"],
     "--credentials and --previous both name user-mapping.xml; the sheet would overwrite the previous file"),
    (["-i", "-", "--keep-passwords", "-"], "-i - and --keep-passwords - would both read standard input; name a file "
                                           "for one"),
])
def test_an_output_that_would_overwrite_a_previous_file_before_it_is_read_is_refused(tmp_path, args, message):
    week_one(tmp_path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = usermapper(*(["-i", "lab.yaml"] if "-i" not in args else []), *args, cwd=tmp_path,
                      stdin=WEEK_TWO.encode())
    assert (done.returncode, done.stderr.decode()) == (2, f"usermapper: {message}\n")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_a_bad_sheet_is_refused_at_its_line_and_column_and_nothing_is_written(tmp_path):
    week_one(tmp_path)
    with open(tmp_path / "passwords.csv", "a", newline="") as sheet:
        sheet.write('students,student13,"two\r\nlines"\r\n')
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = usermapper("-i", "lab.yaml", "-o", "user-mapping.xml", "--credentials", "passwords.csv",
                      "--keep-passwords", "passwords.csv", cwd=tmp_path)
    assert (done.returncode, done.stderr.decode()) == (
        2, "passwords.csv:16:20: password: holds a line break, which a browser's login form cannot send\n")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_a_bad_previous_file_is_refused_at_its_line(tmp_path):
    week_one(tmp_path)
    (tmp_path / "old.xml").write_text('<?xml version="1.0"?>\n<user-mapping>\n  <user name="x"/>\n</user-mapping>\n')
    done = usermapper("-i", "lab.yaml", "--check", "--previous", "old.xml", cwd=tmp_path)
    assert (done.returncode, done.stderr.decode()) == (
        2, "old.xml:3:0: not a user-mapping.xml Guacamole can read: <user> inside <user-mapping>\n")
    (tmp_path / "old.yaml").write_text("users: 3\n")
    done = usermapper("-i", "lab.yaml", "--check", "--previous", "old.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "old.yaml:1:8: users: must be a mapping of names to settings, not '3'\n" in done.stderr.decode()


def test_a_sheet_over_the_limit_is_refused_by_its_size_unread_and_an_endless_one_at_the_limit(tmp_path):
    week_one(tmp_path)
    with open(tmp_path / "huge.csv", "wb") as huge:
        huge.truncate(SHEET_LIMIT + 1)
    done = usermapper("-i", "lab.yaml", "--check", "--keep-passwords", "huge.csv", cwd=tmp_path)
    assert (done.returncode, done.stderr.decode()) == (
        2, f"huge.csv:0:0: the credentials sheet is {SHEET_LIMIT + 1:,} bytes; the largest accepted is "
           f"{SHEET_LIMIT:,} bytes\n")
    done = usermapper("-i", "lab.yaml", "--check", "--keep-passwords", "/dev/zero", cwd=tmp_path)
    assert (done.returncode, done.stderr.decode()) == (
        2, f"/dev/zero:0:0: the credentials sheet is larger than {SHEET_LIMIT:,} bytes, the largest accepted; it "
           f"was read no further\n")


def test_a_sheet_of_exactly_the_limit_is_read_whole(tmp_path):
    week_one(tmp_path)
    head = b'username,password,notes\nstudent01,"=x,1",first\n'
    row = b"u%07d,p," + b"n" * 100 + b"\n"  # 112 bytes: fewer rows than the million users a lab may have
    rows = (SHEET_LIMIT - len(head)) // 112
    padding = b"\r\n" * ((SHEET_LIMIT - len(head) - rows * 112) // 2)
    (tmp_path / "big.csv").write_bytes(head + b"".join(row % n for n in range(rows)) + padding
                                       + b"\n" * ((SHEET_LIMIT - len(head)) % 2))
    assert (tmp_path / "big.csv").stat().st_size == SHEET_LIMIT
    done = usermapper("-i", "lab.yaml", "--check", "--keep-passwords", "big.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-2:] == [
        f"  no longer in the lab: {rows:,} users (u0000000, u0000001, u0000002, u0000003, u0000004 and {rows - 5:,} more)",
        "  random passwords: 1 kept, 15 new (trainer1, student02, student03, student04, student05 and 10 more)"]


def test_a_sheet_through_a_fifo_is_read_like_a_file(tmp_path):
    before = week_one(tmp_path)
    os.mkfifo(tmp_path / "sheet.fifo")
    data = (tmp_path / "passwords.csv").read_bytes()

    def feed():
        with open(tmp_path / "sheet.fifo", "wb") as fifo:
            fifo.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    done = usermapper("-i", "lab.yaml", "-o", "-", "-q", "--keep-passwords", "sheet.fifo", "--credentials", "new.csv",
                      cwd=tmp_path)
    writer.join()
    assert done.returncode == 0, done.stderr
    users = guacamole_reader.read(done.stdout)
    assert guacamole_reader.authenticates(users, "student12", before["student12"])


def test_a_directory_is_not_a_sheet(tmp_path):
    week_one(tmp_path)
    done = usermapper("-i", "lab.yaml", "--check", "--keep-passwords", ".", cwd=tmp_path)
    assert (done.returncode, done.stderr.decode()) == (2, "usermapper: cannot read .: Is a directory\n")


def test_check_too_refuses_two_inputs_on_standard_input(tmp_path):
    done = usermapper("-i", "-", "--check", "--previous", "-", cwd=tmp_path, stdin=WEEK_TWO.encode())
    assert (done.returncode, done.stderr.decode()) == (
        2, "usermapper: -i - and --previous - would both read standard input; name a file for one\n")
