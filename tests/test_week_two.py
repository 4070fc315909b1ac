"""Issue 25's "done when", end to end through the command line: a lab generated, changed (a desktop added,
the router's hostname fixed, three students added, a trainer removed) and generated again with the first
sheet gives every remaining user the same password in user-mapping.xml (read as Guacamole reads it, plain
and sha256), in the import (read as Guacamole's importer reads it) and through the password scripts, run on
real PostgreSQL and MariaDB servers holding Guacamole's user tables; and the change summary names exactly
the differences."""

from __future__ import annotations

import csv
import io

import guacamole_importer
import guacamole_reader
from test_cli import usermapper
from test_password_scripts import MYSQL_RESET, mariadb, my_text, pg_text, postgresql  # noqa: F401 - fixtures
from test_previous_changes import CHANGES, WEEK_ONE, WEEK_TWO

from databases import MYSQL_SCHEMA, POSTGRESQL_SCHEMA

KEEP = ("--credentials", "passwords.csv", "--keep-passwords", "passwords.csv")


def run(directory, *args: str) -> str:
    done = usermapper("-i", "lab.yaml", *args, cwd=directory)
    assert done.returncode == 0, done.stderr
    return done.stderr.decode()


def generate_week(directory, config: str, *first_run: str) -> tuple[str, dict[str, str]]:
    """The XML and the PostgreSQL script in one run, the import and the MySQL script in another, both
    keeping the sheet's passwords, as a trainer runs them; what the first printed, and the sheet."""
    (directory / "lab.yaml").write_text(config)
    printed = run(directory, "-o", "user-mapping.xml", "--passwords-sql", "postgresql", "pg.sql", *first_run)
    run(directory, "--format", "import-json", "-o", "guacamole-import.json", "--passwords-sql", "mysql", "my.sql",
        *KEEP)
    rows = csv.DictReader(io.StringIO((directory / "passwords.csv").read_text()))
    return printed, {row["username"]: row["password"] for row in rows}


def postgresql_logins(server, passwords: dict[str, str]) -> int:
    """How many of ``passwords`` Guacamole's PostgreSQL backend would let in: salted SHA-256, as it checks."""
    values = ", ".join(f"({pg_text(name)}, {pg_text(password)})" for name, password in passwords.items())
    return int(server.psql(
        f"SELECT count(*) FROM (VALUES {values}) AS lab(name, password) "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = sha256(convert_to(lab.password || upper(encode(u.password_salt, 'hex')), 'UTF8'))"))


def mariadb_logins(server, passwords: dict[str, str]) -> int:
    rows = " UNION ALL ".join(f"SELECT {my_text(name)} AS name, {my_text(password)} AS password"
                              for name, password in passwords.items())
    return int(server.sql(
        f"SELECT count(*) FROM ({rows}) AS lab "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = UNHEX(SHA2(CONCAT(lab.password, HEX(u.password_salt)), 256))"))


def test_week_two_keeps_every_remaining_password_through_every_output(tmp_path, postgresql, mariadb):  # noqa: F811
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA)
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA)

    _, first = generate_week(tmp_path, WEEK_ONE, "--credentials", "passwords.csv")
    postgresql.psql((tmp_path / "pg.sql").read_text())
    mariadb.sql((tmp_path / "my.sql").read_text())
    assert postgresql_logins(postgresql, first) == mariadb_logins(mariadb, first) == 14

    printed, second = generate_week(tmp_path, WEEK_TWO, *KEEP, "--previous", "user-mapping.xml")
    postgresql.psql((tmp_path / "pg.sql").read_text())
    mariadb.sql((tmp_path / "my.sql").read_text())

    assert printed.splitlines()[1:] == ["usermapper: changes since user-mapping.xml:", *(f"  {c}" for c in CHANGES)]
    remaining = {name: password for name, password in first.items() if name != "trainer2"}
    added = {"student13", "student14", "student15"}
    assert set(second) == set(remaining) | added
    assert {name: second[name] for name in remaining} == remaining

    users = guacamole_reader.read((tmp_path / "user-mapping.xml").read_bytes())
    assert set(users) == set(second)
    assert all(guacamole_reader.authenticates(users, name, password) for name, password in second.items())
    assert {users[name][1] for name in added} == {"sha256"} and users["trainer1"][1] == "plain"
    assert all("WS4" in users[name][2] and users[name][2]["Router"][1]["hostname"] == "192.168.50.254"
               for name in users)

    imported = guacamole_importer.read((tmp_path / "guacamole-import.json").read_bytes(), "import-json")
    assert set(imported) == set(second)
    assert all(any(name == "WS4" for _, name in connections) for connections in imported.values())

    assert postgresql_logins(postgresql, remaining) == mariadb_logins(mariadb, remaining) == len(remaining)
    assert postgresql_logins(postgresql, second) == mariadb_logins(mariadb, second) == len(second)
