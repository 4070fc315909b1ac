"""The command line, run as its own process: ``python -m usermapper``."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import guacamole_reader

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CLASSROOM = EXAMPLES / "classroom.yaml"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def usermapper(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "usermapper", *args], cwd=cwd, input=stdin,
                          capture_output=True, env=ENV, timeout=60)


def test_writes_the_file(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, b"")
    assert result.stderr == b"usermapper: wrote 20,314 bytes to out.xml: 13 users, 65 connections\n"
    users = guacamole_reader.read((tmp_path / "out.xml").read_bytes())
    assert len(users) == 13
    assert users["trainer1"][0] == "Lab-Trainer-2026"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]


def test_reads_config_yaml_and_writes_user_mapping_xml_by_default(tmp_path):
    shutil.copy(CLASSROOM, tmp_path / "config.yaml")
    result = usermapper(cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "user-mapping.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')


def test_a_dash_means_standard_input_and_output(tmp_path):
    result = usermapper("-i", "-", "-o", "-", cwd=tmp_path, stdin=CLASSROOM.read_bytes())
    assert result.returncode == 0
    assert len(guacamole_reader.read(result.stdout)) == 13
    assert list(tmp_path.iterdir()) == []


def test_credentials_sheet_logs_every_user_in(tmp_path):
    hashed = re.sub("^        password: ", "        password_encoding: md5\n        password: ", CLASSROOM.read_text(),
                    flags=re.MULTILINE)
    result = usermapper("-i", "-", "-o", "out.xml", "--credentials", "people.csv", cwd=tmp_path,
                        stdin=hashed.encode())
    assert result.returncode == 0
    users = guacamole_reader.read((tmp_path / "out.xml").read_bytes())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "people.csv").read_text(encoding="utf-8"))))
    assert [r["username"] for r in rows] == list(users)
    assert all(guacamole_reader.authenticates(users, r["username"], r["password"]) for r in rows)
    assert {encoding for _, encoding, _ in users.values()} == {"md5"}


def test_check_prints_a_summary_and_writes_nothing(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "--check", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [
        f"{CLASSROOM}: valid: 13 users in 2 types, 5 devices in 2 types, 65 connections",
        "  trainers: 1 user (trainer1), 5 connections each: desktops, routers",
        "  students: 12 users (student01 to student12), 5 connections each: desktops, routers",
        "  shared devices: desktops (3 rdp), routers (2 ssh)"]
    assert list(tmp_path.iterdir()) == []


def test_errors_are_located_on_stderr_with_exit_2(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CLASSROOM.read_text().replace("quantity: 12", "quantity: 0")
                      .replace("protocol: ssh", "protocol: shh"))
    result = usermapper(cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().splitlines() == [
        "config.yaml:10:19: users.students.quantity: must be a whole number of at least 1, not 0",
        "config.yaml:36:23: devices.routers.parameters.protocol: must be one of rdp, vnc, ssh, telnet, "
        "kubernetes, not 'shh' (did you mean 'ssh'?)",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("name, line", [("missing-quantity.yaml", "5:5: users.students.quantity: is missing"),
                                        ("not-yaml.yaml", "4:1: a tab character: ")])
def test_invalid_examples_are_reported_by_file_and_place(tmp_path, name, line):
    path = EXAMPLES / "invalid" / name
    result = usermapper("-i", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"{path}:{line}")
    assert list(tmp_path.iterdir()) == []


def test_errors_in_standard_input_are_located_in_stdin(tmp_path):
    result = usermapper("-i", "-", "-o", "-", cwd=tmp_path, stdin=b"users: [\n")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().startswith("<stdin>:2:1: not valid YAML")


def test_warnings_are_reported_and_the_file_is_written(tmp_path):
    config = CLASSROOM.read_text().replace("ignore-cert:", "ignore-certs:")
    result = usermapper("-i", "-", "-o", "out.xml", "--quiet", cwd=tmp_path, stdin=config.encode())
    assert result.returncode == 0
    assert result.stderr.decode() == (
        "<stdin>:28:13: warning: devices.desktops.parameters.ignore-certs: is not a parameter guacd 1.6.0 rdp "
        "connections know; it is written as given (did you mean 'ignore-cert'?)\n")
    assert b'<param name="ignore-certs">true</param>' in (tmp_path / "out.xml").read_bytes()


def test_a_missing_input_file_is_a_clear_error(tmp_path):
    result = usermapper("-i", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode() == "usermapper: cannot read nope.yaml: No such file or directory\n"


def test_a_failed_run_leaves_the_old_file_untouched(tmp_path):
    (tmp_path / "user-mapping.xml").write_text("old")
    result = usermapper("-i", str(EXAMPLES / "invalid" / "bad-protocol.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert (tmp_path / "user-mapping.xml").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user-mapping.xml"]


def test_an_unwritable_output_names_the_file_asked_for(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "missing/out.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == "usermapper: cannot write missing/out.xml: No such file or directory\n"


def test_no_file_is_written_when_the_credentials_cannot_be(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "missing/people.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing/people.csv" in result.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_the_run_quietly(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "usermapper", "-i", str(EXAMPLES / "big-lab.yaml"), "-o", "-"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert process.stdout.readline() == b'<?xml version="1.0" encoding="UTF-8"?>\n'
    process.stdout.close()
    assert process.stderr.read() == b""
    assert process.wait(timeout=60) == 1


def test_a_summary_into_a_closed_pipe_ends_quietly(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "usermapper", "-i", str(CLASSROOM), "--check"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    process.stdout.close()
    assert process.stderr.read() == b""
    assert process.wait(timeout=60) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_summary_that_cannot_be_written_is_said_so(tmp_path):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "usermapper", "-i", str(CLASSROOM), "--check"], cwd=tmp_path,
                                stdout=full, stderr=subprocess.PIPE, env=ENV, timeout=60)
    assert result.returncode == 1
    assert result.stderr == b"usermapper: cannot write standard output: No space left on device\n"


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_replaced_file_keeps_its_mode_and_the_credentials_sheet_is_private(tmp_path):
    """/etc/guacamole/user-mapping.xml may be readable by Guacamole alone; passwords by their owner alone."""
    (tmp_path / "user-mapping.xml").write_text("old")
    os.chmod(tmp_path / "user-mapping.xml", 0o640)
    (tmp_path / "passwords.csv").write_text("old")
    os.chmod(tmp_path / "passwords.csv", 0o644)
    result = usermapper("-i", str(CLASSROOM), "--credentials", "passwords.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert mode_of(tmp_path / "user-mapping.xml") == 0o640
    assert mode_of(tmp_path / "passwords.csv") == 0o600


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, expected):
    result = subprocess.run(f"umask {umask:03o} && exec {sys.executable} -m usermapper -i {CLASSROOM} "
                            f"-o out.xml --credentials new.csv", shell=True, cwd=tmp_path, env=ENV,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert mode_of(tmp_path / "out.xml") == expected
    assert mode_of(tmp_path / "new.csv") == 0o600


def test_files_are_written_beside_their_target_and_nothing_else_is_left(tmp_path):
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.xml")  # a link where the temporary file might go
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "new.csv", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.xml", "new.csv", "out.xml"]
    assert not (tmp_path / "elsewhere").exists()


def test_quiet_prints_nothing_on_success(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "out.xml", "-q", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_a_sheet_holding_formula_cells_is_exact_and_a_warning_names_them_even_when_quiet(tmp_path):
    config = CLASSROOM.read_text().replace("password: Lab-Trainer-2026", "password: '@Lab-Trainer'")
    result = usermapper("-i", "-", "-o", "out.xml", "--credentials", "sheet.csv", "-q", cwd=tmp_path,
                        stdin=config.encode())
    assert result.returncode == 0
    assert result.stderr.decode() == ("usermapper: warning: sheet.csv: a spreadsheet would run 1 cell of the "
                                      "credentials sheet as formulas (row 2 password); they are written exactly, so "
                                      "open the sheet with every column as text\n")
    assert (tmp_path / "sheet.csv").read_text().splitlines()[1] == "trainers,trainer1,@Lab-Trainer"


def test_the_summary_line_says_where_the_passwords_went(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "-", "--credentials", "people.csv", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(b"<?xml")
    assert result.stderr == (b"usermapper: wrote 20,314 bytes to standard output: 13 users, 65 connections; "
                             b"passwords in people.csv\n")


@pytest.mark.parametrize("encoding", ["sha256", "md5"])
def test_hashed_random_passwords_without_a_credentials_sheet_are_refused(tmp_path, encoding):
    """The file would hold only hashes of passwords nobody ever sees: nobody could log in."""
    config = CLASSROOM.read_text().replace("password: random", f"password: random\n        password_encoding: {encoding}")
    result = usermapper("-i", "-", "-o", "out.xml", cwd=tmp_path, stdin=config.encode())
    assert result.returncode == 2
    assert result.stderr.decode() == ("usermapper: <stdin>: users.students: random passwords stored only as hashes "
                                      "would reach nobody; add --credentials FILE to write them down\n")
    assert list(tmp_path.iterdir()) == []
    written = usermapper("-i", "-", "-o", "out.xml", "--credentials", "p.csv", cwd=tmp_path, stdin=config.encode())
    assert written.returncode == 0 and (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("output, credentials", [("-", "-"), ("out.xml", "out.xml"), ("out.xml", "./sub/../out.xml")])
def test_the_file_and_the_sheet_cannot_go_to_the_same_place(tmp_path, output, credentials):
    (tmp_path / "sub").mkdir()
    result = usermapper("-i", str(CLASSROOM), "-o", output, "--credentials", credentials, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, b"")
    assert "usermapper: -o " in result.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


# The command line is the engine alone: it never loads the web app's modules or the storage SDK.
WEB_MODULES = ("usermapper.web", "azure", "werkzeug", "zstandard")
LOADED = "import sys; from usermapper.cli import main; status = main(sys.argv[1:]); print(*sorted(sys.modules))"


def modules_loaded_by(*args: str, cwd: Path) -> set[str]:
    """The modules and packages loaded by one run with these arguments."""
    result = subprocess.run([sys.executable, "-c", LOADED, *args], cwd=cwd, capture_output=True, env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    names = result.stdout.decode().split()
    return set(names) | {name.split(".")[0] for name in names}


def test_no_run_of_the_command_line_loads_the_web_app(tmp_path):
    runs = [("-i", str(CLASSROOM), "-o", "out.xml", "--credentials", "c.csv", "-q"),
            ("-i", str(CLASSROOM), "-o", "i.json", "--format", "import-json", "--passwords-sql", "mysql", "p.sql", "-q"),
            ("-i", str(CLASSROOM), "--check")]
    for args in runs:
        loaded = modules_loaded_by(*args, cwd=tmp_path)
        assert "usermapper.generate" in loaded
        assert loaded.isdisjoint(WEB_MODULES), (args, sorted(loaded.intersection(WEB_MODULES)))