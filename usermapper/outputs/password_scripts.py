"""The passwords to set after a database import: one SQL script for PostgreSQL, one for MySQL/MariaDB.

Guacamole's import creates the users it names with a random, unusable password. The script gives each user
of the lab the password the trainer hands out, in the form Guacamole's database backend checks:
``password_hash`` = SHA-256 of the password's UTF-8 bytes followed by the upper-case hex of
``password_salt``. Each user gets a random 32-byte salt, as Guacamole itself gives when a password is set
through its interface: a leaked table then tells nobody which users share a password (a user type with one
literal password would otherwise show one hash many times) and no precomputed SHA-256 table applies. The
hash is computed here, so the script holds no password in the clear.

The script runs in one transaction and may run again (before or after the import): it adds the lab's users
that do not exist yet (``guacamole_entity`` type ``USER``, then ``guacamole_user``) and sets the password of
those that do; it touches no other row. It needs every password in the clear, so it exists only for users
whose password is known when the lab is generated (literal or random ones, with ``plain`` or ``sha256``):
an md5 digest cannot become the database's hash, and the lab is refused with the place of its
``password_encoding``. The MySQL script is refused too for usernames MySQL and MariaDB would take for one
(``Student1`` and ``student1``): the second would find the first's row and set its password.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable

from ..lab.model import Lab
from .import_files import ImportRefused
from .mysql_names import username_collisions

SALT_BYTES = 32


def check_passwords(lab: Lab, dialect: str | None = None) -> None:
    """Raise ``ImportRefused`` when a user type's passwords cannot be set through SQL (md5), or, for MySQL
    (``dialect`` ``mysql``, or None: either script), when two user types' usernames would be one account
    there (``mysql_names.username_collisions``). PostgreSQL compares names exactly (its schema's unique key
    on ``guacamole_entity (type, name)`` is a plain one), so its script keeps usernames differing in case
    apart."""
    problems = [lab.problem(f"users.{u.name}.password_encoding",
                            "md5 cannot be set in Guacamole's database, which checks salted SHA-256 "
                            "hashes of the password: use sha256 or plain for the SQL route")
                for u in lab.user_types if u.password_encoding == "md5"]
    if dialect != "postgresql":
        problems += username_collisions(lab)
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: (p.line, p.column)))


def password_hash(password: str, salt: bytes | None) -> bytes:
    """What Guacamole's database stores in ``password_hash`` for this password and salt."""
    salted = password + (salt.hex().upper() if salt is not None else "")
    return hashlib.sha256(salted.encode("utf-8")).digest()


def passwords_sql(users: Iterable[tuple[str, str]], dialect: str,
                  new_salt: Callable[[], bytes] = lambda: secrets.token_bytes(SALT_BYTES)) -> bytes:
    """The script for ``(username, password)`` pairs in ``dialect`` (``postgresql`` or ``mysql``)."""
    rows = []
    for username, password in users:
        salt = new_salt()
        rows.append((username, password_hash(password, salt), salt))
    write = _postgresql if dialect == "postgresql" else _mysql
    return write(rows).encode("utf-8")


def _postgresql(rows: list[tuple[str, bytes, bytes]]) -> str:
    lines = ["-- Passwords for the users of a usermapper lab, for Guacamole's PostgreSQL database.",
             "-- Safe to run again; touches only these users. psql -v ON_ERROR_STOP=1 -f this-file.sql",
             "BEGIN;"]
    for username, hashed, salt in rows:
        name = _pg_text(username)
        lines += [
            f"INSERT INTO guacamole_entity (name, type) VALUES ({name}, 'USER') ON CONFLICT (type, name) DO NOTHING;",
            f"INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date) "
            f"SELECT entity_id, '\\x{hashed.hex()}'::bytea, '\\x{salt.hex()}'::bytea, CURRENT_TIMESTAMP "
            f"FROM guacamole_entity WHERE type = 'USER' AND name = {name} "
            f"ON CONFLICT (entity_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
            f"password_salt = EXCLUDED.password_salt, password_date = EXCLUDED.password_date;",
        ]
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _mysql(rows: list[tuple[str, bytes, bytes]]) -> str:
    lines = ["-- Passwords for the users of a usermapper lab, for Guacamole's MySQL or MariaDB database.",
             "-- Safe to run again; touches only these users. mysql guacamole_db < this-file.sql",
             "START TRANSACTION;"]
    for username, hashed, salt in rows:
        name = _mysql_text(username)
        lines += [
            f"INSERT INTO guacamole_entity (name, type) SELECT {name}, 'USER' FROM DUAL WHERE NOT EXISTS "
            f"(SELECT 1 FROM guacamole_entity WHERE type = 'USER' AND name = {name});",
            f"INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date) "
            f"SELECT entity_id, x'{hashed.hex()}', x'{salt.hex()}', NOW() "
            f"FROM guacamole_entity WHERE type = 'USER' AND name = {name} "
            f"ON DUPLICATE KEY UPDATE password_hash = x'{hashed.hex()}', password_salt = x'{salt.hex()}', "
            f"password_date = NOW();",
        ]
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _pg_text(value: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings, on since 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def _mysql_text(value: str) -> str:
    """A MySQL string: as hex, converted to utf8mb4. A quoted literal would read differently with and without
    the NO_BACKSLASH_ESCAPES SQL mode; hex reads the same in every mode and character set."""
    return f"CONVERT(x'{value.encode('utf-8').hex()}' USING utf8mb4)"
