"""The database route on the command line, run as its own process."""

from __future__ import annotations

import os
import stat

from databases import CASE_LAB
from test_cli import CLASSROOM, EXAMPLES, usermapper


def test_import_file_and_password_script_with_the_groups_to_create(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "import.json", "--format", "import-json",
                        "--passwords-sql", "mysql", "passwords.sql", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines() == [
        "usermapper: wrote 2,619 bytes of import-json to import.json: 13 users, 65 connections; "
        "mysql password script in passwords.sql",
        "usermapper: Guacamole 1.6.0 imports only into connection groups that exist; create these first: "
        '"ROOT/usermapper", "ROOT/usermapper/desktops", "ROOT/usermapper/routers"']
    assert (tmp_path / "import.json").read_bytes() == (EXAMPLES.parent / "tests/golden/classroom.json").read_bytes()
    script = tmp_path / "passwords.sql"
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o600
    assert script.read_text().count("INSERT INTO guacamole_user") == 13


def test_the_groups_to_create_read_as_one_name_each_whatever_they_hold(tmp_path):
    config = CLASSROOM.read_text().replace("    desktops:", '    \'desk, "tops"\':').replace("[desktops]", "['desk, \"tops\"']")
    result = usermapper("-i", "-", "-o", "import.json", "--format", "import-json", cwd=tmp_path, stdin=config.encode())
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines()[-1].endswith(
        'create these first: "ROOT/usermapper", "ROOT/usermapper/desk, \\"tops\\"", "ROOT/usermapper/routers"')


def test_csv_to_standard_output(tmp_path):
    result = usermapper("-i", str(CLASSROOM), "-o", "-", "--format", "import-csv", "-q", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == (EXAMPLES.parent / "tests/golden/classroom.csv").read_bytes()


def test_md5_with_passwords_sql_is_refused_at_its_line_and_nothing_is_written(tmp_path):
    config = tmp_path / "lab.yaml"
    config.write_text(CLASSROOM.read_text().replace("password: random",
                                                    "password: random\n        password_encoding: md5"))
    result = usermapper("-i", "lab.yaml", "--passwords-sql", "postgresql", "p.sql", "--credentials", "c.csv",
                        cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("lab.yaml:14:28: users.students.password_encoding: md5 cannot")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml"]


def test_unknown_dialect_and_one_standard_output(tmp_path):
    assert usermapper("-i", str(CLASSROOM), "--passwords-sql", "oracle", "p.sql", cwd=tmp_path).returncode == 2
    both = usermapper("-i", str(CLASSROOM), "-o", "-", "--passwords-sql", "mysql", "-", cwd=tmp_path)
    assert both.returncode == 2 and b"standard output" in both.stderr


def test_the_command_line_offers_every_import_format_and_dialect_the_outputs_write(tmp_path):
    from usermapper.outputs import IMPORT_FORMATS, SQL_DIALECTS

    for format_ in IMPORT_FORMATS:
        result = usermapper("-i", str(CLASSROOM), "-o", "-", "--format", format_.name, "-q", cwd=tmp_path)
        assert result.returncode == 0 and result.stdout, format_
    for dialect in SQL_DIALECTS:
        result = usermapper("-i", str(CLASSROOM), "-o", "x.xml", "--passwords-sql", dialect, f"{dialect}.sql", "-q",
                            cwd=tmp_path)
        assert result.returncode == 0 and (tmp_path / f"{dialect}.sql").read_bytes().count(b"INSERT") == 26


def test_check_with_passwords_sql_refuses_what_the_script_cannot_set_and_writes_nothing(tmp_path):
    """--check weighs the password script it is given (md5, and for mysql the usernames MySQL takes for one),
    but not the import: --format asks for a file, which --check never writes."""
    (tmp_path / "lab.yaml").write_text(CASE_LAB)
    md5 = CASE_LAB.replace("password: random", "password: random, password_encoding: md5", 1)
    assert md5 != CASE_LAB
    (tmp_path / "md5.yaml").write_text(md5)
    for config, dialect, refused in (("lab.yaml", "mysql", "users.b.username_prefix: makes the username"),
                                     ("md5.yaml", "postgresql", "users.a.password_encoding: md5 cannot")):
        result = usermapper("-i", config, "--check", "--passwords-sql", dialect, "p.sql", cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, b""), result.stderr
        assert refused in result.stderr.decode()
    for args in (["--passwords-sql", "postgresql", "p.sql"], ["--format", "import-json", "-o", "i.json"]):
        result = usermapper("-i", "lab.yaml", "--check", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(b"lab.yaml: valid: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml", "md5.yaml"]


def test_usernames_mysql_takes_for_one_refuse_the_database_route_and_nothing_is_written(tmp_path):
    (tmp_path / "lab.yaml").write_text(CASE_LAB)
    for route in (["--format", "import-json", "--passwords-sql", "mysql", "p.sql"], ["--format", "import-csv"],
                  ["--passwords-sql", "mysql", "p.sql"]):
        result = usermapper("-i", "lab.yaml", "-o", "out", "--credentials", "c.csv", *route, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.decode().startswith("lab.yaml:3:37: users.b.username_prefix: makes the username "
                                                 "'student1', which Guacamole's MySQL or MariaDB database takes "
                                                 "for 'Student1' of the user type a")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml"]
    assert usermapper("-i", "lab.yaml", "-o", "user-mapping.xml", "-q", cwd=tmp_path).returncode == 0
    # PostgreSQL compares names exactly: its script keeps the two accounts apart, as the web app's does
    result = usermapper("-i", "lab.yaml", "-o", "m.xml", "--passwords-sql", "postgresql", "p.sql", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "student1" in (tmp_path / "p.sql").read_text() and "Student1" in (tmp_path / "p.sql").read_text()
