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
``password_encoding``.

Never an account outside the lab. PostgreSQL compares names exactly; its script is ASCII without a
backslash (names that are not, and every hash and salt, in hex through ``decode``), so it reads the same
whatever the server's ``standard_conforming_strings`` and the client's encoding, and it sets
``standard_conforming_strings`` inside its transaction besides. MySQL and MariaDB compare names in the
tables' case- and accent-insensitive collation: the MySQL script first looks up every lab user in that
collation and, if one finds an existing account whose name differs byte for byte (``STUDENT01``,
``stüdent01`` or ``student01 `` for ``student01``; ``guacadmin`` for ``GuacAdmin``), stops with an error
naming both names before any change; every change also requires that check to have passed, and selects
the account byte for byte. The MySQL script is refused at generation (``mysql_names.mysql_problems``) for
usernames MySQL and MariaDB would take for one (``Student1`` and ``student1``: one account for two users,
with one password) and for usernames with a character beyond U+FFFF, which Guacamole's
``CHARSET=utf8`` tables cannot store.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable

from ..lab.model import Lab
from .import_files import ImportRefused
from .mysql_names import mysql_problems

SALT_BYTES = 32


def check_passwords(lab: Lab, dialect: str | None = None) -> None:
    """Raise ``ImportRefused`` when a user type's passwords cannot be set through SQL (md5), or, for MySQL
    (``dialect`` ``mysql``, or None: either script), when two user types' usernames would be one account
    there or a username holds a character its tables cannot store (``mysql_names.mysql_problems``).
    PostgreSQL compares names exactly (its schema's unique key on ``guacamole_entity (type, name)`` is a
    plain one) and stores every character, so its script keeps usernames differing in case apart."""
    problems = [lab.problem(f"users.{u.name}.password_encoding",
                            "md5 cannot be set in Guacamole's database, which checks salted SHA-256 "
                            "hashes of the password: use sha256 or plain for the SQL route")
                for u in lab.user_types if u.password_encoding == "md5"]
    if dialect != "postgresql":
        problems += mysql_problems(lab)
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
             "-- ASCII only, without backslashes: it reads the same in every client encoding and with",
             "-- standard_conforming_strings on or off. The tables are found through search_path.",
             "BEGIN;",
             "SET LOCAL standard_conforming_strings = on;"]
    for username, hashed, salt in rows:
        lines += _pg_user(username, hashed, salt)
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _pg_user(username: str, hashed: bytes, salt: bytes) -> list[str]:
    name = _pg_text(username)
    return [
        f"INSERT INTO guacamole_entity (name, type) VALUES ({name}, 'USER') ON CONFLICT (type, name) DO NOTHING;",
        f"INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date) "
        f"SELECT entity_id, {_pg_bytes(hashed)}, {_pg_bytes(salt)}, CURRENT_TIMESTAMP "
        f"FROM guacamole_entity WHERE type = 'USER' AND name = {name} "
        f"ON CONFLICT (entity_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
        f"password_salt = EXCLUDED.password_salt, password_date = EXCLUDED.password_date;",
    ]


# The MySQL script's check, before any change: every lab user's name that the tables' own collation takes
# for an existing account's (case, accents, trailing spaces) without being that name byte for byte. Each
# name is a literal (``_mysql_text``), coercible, so it is compared in guacamole_entity.name's collation,
# whatever the server's default for utf8mb4.
_MYSQL_CLASH = ("SELECT {n} AS n, CONCAT(QUOTE({name}), ' is ', QUOTE(name)) AS clash "
                "FROM guacamole_entity WHERE type = 'USER' AND name = {name} AND CAST(name AS BINARY) <> {bytes}")
_MYSQL_STOP = "usermapper_stopped"  # the table whose column names the stop in MySQL's message
_MYSQL_STOP_COLUMN = "lab_users_are_existing_accounts_nothing_changed"


def _mysql(rows: list[tuple[str, bytes, bytes]]) -> str:
    clashes = " UNION ALL ".join(_mysql_clash(n, username) for n, (username, _, _) in enumerate(rows, 1))
    lines = ["-- Passwords for the users of a usermapper lab, for Guacamole's MySQL or MariaDB database.",
             "-- Safe to run again; touches only these users. mysql guacamole_db < this-file.sql",
             "-- It stops before any change, with ERROR 1366 naming both names, when a lab user's name is an",
             "-- existing account's for the tables' collation (case, accents, trailing spaces) but not byte for",
             "-- byte; and then every change below does nothing, even for a client that goes on after errors.",
             "SET @usermapper_sql_mode = @@SESSION.sql_mode;",
             "SET SESSION sql_mode = 'STRICT_ALL_TABLES';",
             "SET @usermapper_clashes = 'not checked';"]
    if rows:
        lines.append(_MYSQL_CLASHES.format(clashes=clashes))
    else:
        lines.append("SET @usermapper_clashes = NULL;")
    lines += [f"DROP TEMPORARY TABLE IF EXISTS {_MYSQL_STOP};",
              f"CREATE TEMPORARY TABLE {_MYSQL_STOP} ({_MYSQL_STOP_COLUMN} INT) "
              f"SELECT @usermapper_clashes AS {_MYSQL_STOP_COLUMN} FROM DUAL WHERE @usermapper_clashes IS NOT NULL;",
              f"DROP TEMPORARY TABLE {_MYSQL_STOP};",
              "START TRANSACTION;"]
    for username, hashed, salt in rows:
        lines += _mysql_user(username, hashed, salt)
    lines += ["COMMIT;", "SET SESSION sql_mode = @usermapper_sql_mode;"]
    return "\n".join(lines) + "\n"


_MYSQL_CLASHES = "SET @usermapper_clashes = (SELECT GROUP_CONCAT(clash ORDER BY n SEPARATOR '; ') FROM ({clashes}) AS clashes);"


def _mysql_clash(n: int, username: str) -> str:
    return _MYSQL_CLASH.format(n=n, name=_mysql_text(username), bytes=_mysql_bytes(username.encode("utf-8")))


def _mysql_user(username: str, hashed: bytes, salt: bytes) -> list[str]:
    name, exact = _mysql_text(username), _mysql_bytes(username.encode("utf-8"))
    return [
        f"INSERT INTO guacamole_entity (name, type) SELECT {name}, 'USER' FROM DUAL "
        f"WHERE @usermapper_clashes IS NULL AND NOT EXISTS "
        f"(SELECT 1 FROM guacamole_entity WHERE type = 'USER' AND name = {name});",
        f"INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date) "
        f"SELECT entity_id, {_mysql_bytes(hashed)}, {_mysql_bytes(salt)}, NOW() FROM guacamole_entity "
        f"WHERE @usermapper_clashes IS NULL AND type = 'USER' AND name = {name} AND CAST(name AS BINARY) = {exact} "
        f"ON DUPLICATE KEY UPDATE password_hash = {_mysql_bytes(hashed)}, password_salt = {_mysql_bytes(salt)}, "
        f"password_date = NOW();",
    ]


def passwords_sql_size(usernames: Iterable[str], dialect: str) -> int:
    """The exact size in bytes of ``passwords_sql`` for these users, counted without hashing or writing it:
    every hash and salt is written in hex of a fixed length, every name in ASCII (quoted or in hex)."""
    hashed, salt = bytes(32), bytes(SALT_BYTES)
    if dialect == "postgresql":
        return len(_postgresql([])) + sum(sum(map(len, _pg_user(u, hashed, salt))) + 2 for u in usernames)
    names = list(usernames)
    if not names:
        return len(_mysql([]))
    total = len(_mysql([])) - len("SET @usermapper_clashes = NULL;") + len(_MYSQL_CLASHES.format(clashes=""))
    total += len(" UNION ALL ") * (len(names) - 1)
    for n, username in enumerate(names, 1):
        total += len(_mysql_clash(n, username)) + sum(map(len, _mysql_user(username, hashed, salt))) + 2
    return total


def _pg_text(value: str) -> str:
    """A PostgreSQL string that reads the same whatever the session's settings: quoted when it is printable
    ASCII without a backslash (read alike with standard_conforming_strings on and off), else its UTF-8
    bytes in hex, converted (ASCII, so no client encoding changes it)."""
    if value.isascii() and value.isprintable() and "\\" not in value:
        return "'" + value.replace("'", "''") + "'"
    return f"pg_catalog.convert_from({_pg_bytes(value.encode('utf-8'))}, 'UTF8')"


def _pg_bytes(value: bytes) -> str:
    """A bytea from hex: ``decode`` reads the same with every setting (``'\\x..'::bytea`` does not when
    standard_conforming_strings is off: the string's backslash is then an escape)."""
    return f"pg_catalog.decode('{value.hex()}', 'hex')"


def _mysql_text(value: str) -> str:
    """A MySQL string literal, as hex with a character set: it reads the same in every SQL mode
    (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) and client character set, and, being a literal (coercible), it is
    compared in the collation of the column it meets, the one of the tables' unique keys. (``CONVERT(x'..'
    USING utf8mb4)`` is not: it is compared in the server's default utf8mb4 collation, which on MySQL 8
    (utf8mb4_0900_ai_ci) and MariaDB 11.5 (utf8mb4_uca1400_ai_ci) is not the tables'.)"""
    return f"_utf8mb4 {_mysql_bytes(value.encode('utf-8'))}"


def _mysql_bytes(value: bytes) -> str:
    return f"x'{value.hex()}'"
