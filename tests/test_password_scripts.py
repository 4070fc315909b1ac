"""The password scripts against real PostgreSQL and MariaDB servers, on tables shaped as Guacamole's schema
documents ``guacamole_entity`` and ``guacamole_user`` (written here from the documented columns).

Each script runs twice; then, in the database's own SQL, every lab user's ``password_hash`` equals SHA-256
of the password followed by the upper-case hex of ``password_salt``, and the rows that were there before
(an administrator, a user group sharing a lab user's name) are exactly as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from databases import CASE_LAB, MariaDB, PostgreSQL
from usermapper.lab import read_config
from usermapper.lab.expand import expand
from usermapper.outputs.import_files import ImportRefused
from usermapper.outputs.mysql_names import mysql_name_key
from usermapper.outputs.password_scripts import check_passwords, password_hash, passwords_sql

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LABS = ["classroom.yaml", "escaping.yaml", "original-format.yaml"]

POSTGRESQL_SCHEMA = """
CREATE TYPE guacamole_entity_type AS ENUM ('USER', 'USER_GROUP');
CREATE TABLE guacamole_entity (
    entity_id serial PRIMARY KEY,
    name varchar(128) NOT NULL,
    type guacamole_entity_type NOT NULL,
    CONSTRAINT guacamole_entity_name_scope UNIQUE (type, name));
CREATE TABLE guacamole_user (
    user_id serial PRIMARY KEY,
    entity_id integer NOT NULL REFERENCES guacamole_entity (entity_id) ON DELETE CASCADE,
    password_hash bytea NOT NULL,
    password_salt bytea,
    password_date timestamptz NOT NULL,
    disabled boolean NOT NULL DEFAULT FALSE,
    expired boolean NOT NULL DEFAULT FALSE,
    access_window_start time, access_window_end time, valid_from date, valid_until date,
    timezone varchar(64), full_name varchar(256), email_address varchar(256),
    organization varchar(256), organizational_role varchar(256),
    CONSTRAINT guacamole_user_single_entity UNIQUE (entity_id));
"""

MYSQL_SCHEMA = """
CREATE TABLE guacamole_entity (
    entity_id int NOT NULL AUTO_INCREMENT,
    name varchar(128) NOT NULL,
    type enum('USER', 'USER_GROUP') NOT NULL,
    PRIMARY KEY (entity_id),
    UNIQUE KEY guacamole_entity_name_scope (type, name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE guacamole_user (
    user_id int NOT NULL AUTO_INCREMENT,
    entity_id int NOT NULL,
    password_hash binary(32) NOT NULL,
    password_salt binary(32),
    password_date datetime NOT NULL,
    disabled boolean NOT NULL DEFAULT 0,
    expired boolean NOT NULL DEFAULT 0,
    access_window_start time, access_window_end time, valid_from date, valid_until date,
    timezone varchar(64), full_name varchar(256), email_address varchar(256),
    organization varchar(256), organizational_role varchar(256),
    PRIMARY KEY (user_id),
    UNIQUE KEY guacamole_user_single_entity (entity_id),
    CONSTRAINT guacamole_user_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""

# Rows that were there before: guacadmin (Guacamole's default), and a user group named like a lab user.
BEFORE = """
INSERT INTO guacamole_entity (name, type) VALUES ('guacadmin', 'USER'), ('{group}', 'USER_GROUP');
INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date)
    SELECT entity_id, {hash}, {salt}, '2020-01-01 00:00:00' FROM guacamole_entity WHERE name = 'guacadmin';
"""
GUACADMIN_HASH = "CA458A7D494E3BE824F5E1E175A1556C0F8EEF2C2D7DF3633BEC4A29C4411960"
GUACADMIN_SALT = "FE24ADC5E11E2B25288D1704ABE67A79E342ECC26064CE69C5B3177795A82264"


@pytest.fixture(scope="module")
def postgresql():
    with PostgreSQL() as server:
        yield server


@pytest.fixture(scope="module")
def mariadb():
    with MariaDB() as server:
        yield server


def users_of(name: str) -> list[tuple[str, str]]:
    lab = read_config((EXAMPLES / name).read_text())
    return [(u.username, u.password) for u in expand(lab).users]


def pg_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def my_text(value: str) -> str:
    return f"CONVERT(x'{value.encode().hex()}' USING utf8mb4)"


@pytest.mark.parametrize("lab", LABS)
def test_postgresql_script_sets_every_password_and_nothing_else(postgresql, lab):
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA + BEFORE.format(
        group=users_of(lab)[0][0].replace("'", "''"), hash=f"'\\x{GUACADMIN_HASH}'::bytea",
        salt=f"'\\x{GUACADMIN_SALT}'::bytea"))
    before = postgresql.psql("SELECT e.name, e.type, u.password_hash, u.password_salt, u.password_date "
                             "FROM guacamole_entity e LEFT JOIN guacamole_user u USING (entity_id) ORDER BY 1, 2")
    users = users_of(lab)
    script = passwords_sql(users, "postgresql").decode()
    postgresql.psql(script)
    postgresql.psql(script)
    values = ", ".join(f"({pg_text(name)}, {pg_text(password)})" for name, password in users)
    matching = postgresql.psql(
        f"SELECT count(*) FROM (VALUES {values}) AS lab(name, password) "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = sha256(convert_to(lab.password || upper(encode(u.password_salt, 'hex')), 'UTF8')) "
        f"AND length(u.password_salt) = 32")
    assert int(matching) == len(users)
    assert int(postgresql.psql("SELECT count(*) FROM guacamole_user")) == len(users) + 1
    after = postgresql.psql("SELECT e.name, e.type, u.password_hash, u.password_salt, u.password_date "
                            "FROM guacamole_entity e LEFT JOIN guacamole_user u USING (entity_id) "
                            "WHERE e.name = 'guacadmin' OR e.type = 'USER_GROUP' ORDER BY 1, 2")
    assert after.splitlines() == [row for row in before.splitlines()]


@pytest.mark.parametrize("lab", LABS)
def test_mysql_script_sets_every_password_and_nothing_else(mariadb, lab):
    users = users_of(lab)
    mariadb.sql("DROP TABLE IF EXISTS guacamole_user, guacamole_entity;" + MYSQL_SCHEMA + BEFORE.format(
        group=users[0][0].replace("'", "''").replace("\\", "\\\\"), hash=f"x'{GUACADMIN_HASH}'",
        salt=f"x'{GUACADMIN_SALT}'"))
    query_others = ("SELECT e.name, e.type, HEX(u.password_hash), HEX(u.password_salt), u.password_date "
                    "FROM guacamole_entity e LEFT JOIN guacamole_user u USING (entity_id) "
                    "WHERE e.name = 'guacadmin' OR e.type = 'USER_GROUP' ORDER BY 1, 2")
    before = mariadb.sql(query_others)
    script = passwords_sql(users, "mysql").decode()
    mariadb.sql(script)
    mariadb.sql(script)
    lab_rows = " UNION ALL ".join(f"SELECT {my_text(name)} AS name, {my_text(password)} AS password"
                                  for name, password in users)
    matching = mariadb.sql(
        f"SELECT count(*) FROM ({lab_rows}) AS lab "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = UNHEX(SHA2(CONCAT(lab.password, HEX(u.password_salt)), 256)) "
        f"AND LENGTH(u.password_salt) = 32")
    assert int(matching) == len(users)
    assert int(mariadb.sql("SELECT count(*) FROM guacamole_user")) == len(users) + 1
    assert mariadb.sql(query_others) == before


def test_a_second_run_with_new_salts_replaces_the_hash_without_adding_rows(postgresql):
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA)
    postgresql.psql(passwords_sql([("ann", "first")], "postgresql", new_salt=lambda: b"\x01" * 32).decode())
    postgresql.psql(passwords_sql([("ann", "second")], "postgresql", new_salt=lambda: b"\x02" * 32).decode())
    stored = postgresql.psql("SELECT encode(password_hash, 'hex') FROM guacamole_user").split()
    assert stored == [password_hash("second", b"\x02" * 32).hex()]


def test_hash_is_sha256_of_password_and_upper_case_hex_salt():
    # the worked example: sha256("secret" + "0A0B") computed by hand with hashlib's reference
    import hashlib
    assert password_hash("secret", b"\x0a\x0b") == hashlib.sha256(b"secret0A0B").digest()
    assert password_hash("secret", None) == hashlib.sha256(b"secret").digest()


def test_md5_passwords_are_refused_at_their_encoding():
    source = (EXAMPLES / "classroom.yaml").read_text().replace("password: random",
                                                               "password: random\n        password_encoding: md5")
    lab = read_config(source)
    with pytest.raises(ImportRefused) as refused:
        check_passwords(lab)
    [problem] = refused.value.problems
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "password_encoding" in text)
    assert (problem.path, problem.line) == ("users.students.password_encoding", line)
    assert "md5" in problem.message


# -- usernames MySQL and MariaDB take for one -----------------------------------------------------------------

# Guacamole's own MySQL schema declares its tables DEFAULT CHARSET=utf8 (utf8mb3_general_ci on MariaDB
# 10.11 and MySQL 8); converted installations use utf8mb4 (utf8mb4_general_ci). Both, as the server says.
ENTITY_TABLES = {"utf8": "CREATE TABLE names_utf8 (name varchar(128) NOT NULL, UNIQUE KEY (name)) ENGINE=InnoDB "
                         "DEFAULT CHARSET=utf8",
                 "utf8mb4": "CREATE TABLE names_utf8mb4 (name varchar(128) NOT NULL, UNIQUE KEY (name)) "
                            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"}


@pytest.mark.parametrize("charset, last", [("utf8", 0xFFFF), ("utf8mb4", 0x10FFFF)])
def test_the_name_key_weighs_every_character_as_mariadb_does(mariadb, charset, last):
    """mysql_name_key against the server's own WEIGHT_STRING in the default collation of Guacamole's
    tables, for every code point the charset holds: two names are one to MySQL exactly when their keys
    are equal."""
    mariadb.sql(f"DROP TABLE IF EXISTS names_{charset}; {ENTITY_TABLES[charset]};")
    collation = mariadb.sql(f"SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                            f"'guacamole_db' AND TABLE_NAME = 'names_{charset}'").strip()
    assert collation == f"{'utf8mb3' if charset == 'utf8' else 'utf8mb4'}_general_ci"
    out = mariadb.sql(f"SELECT seq, HEX(WEIGHT_STRING(CONVERT(CONVERT(UNHEX(LPAD(HEX(seq), 8, '0')) USING utf32) "
                      f"USING {charset}) COLLATE {collation})) FROM seq_0_to_{last} "
                      f"WHERE seq < 55296 OR seq > 57343")
    weights = {int(code): chr(int(weight, 16)) for code, weight in (line.split("\t") for line in out.splitlines())}
    assert len(weights) == last + 1 - 2048
    wrong = [hex(code) for code, weight in weights.items() if code != 0x20 and mysql_name_key(chr(code)) != weight]
    assert wrong == []
    assert mysql_name_key("a ") == mysql_name_key("a  ") == "A" != mysql_name_key("a\t")


@pytest.mark.parametrize("first, second", [
    ("Student1", "student1"), ("Student1", "Student1 "), ("Stüdent1", "STUDENT1"), ("straße1", "strase1"),
    ("Ωmega1", "ωMEGA1"), ("strasse1", "straße1"), ("Ȼ1", "ȼ1"), ("カ1", "ガ1"), ("a1", "a1\t"), ("é1", "e\u03011"),
    ("a😀1", "a😁1"),
])
@pytest.mark.parametrize("charset", ENTITY_TABLES)
def test_two_names_are_one_row_exactly_when_their_keys_are_equal(mariadb, charset, first, second):
    if charset == "utf8" and max(first + second) > "\uffff":
        pytest.skip("utf8mb3 holds no character beyond U+FFFF")
    mariadb.sql(f"DROP TABLE IF EXISTS names_{charset}; {ENTITY_TABLES[charset]}; "
                f"INSERT IGNORE INTO names_{charset} VALUES ({my_text(first)}), ({my_text(second)});")
    rows = int(mariadb.sql(f"SELECT count(*) FROM names_{charset}"))
    assert (rows == 1) == (mysql_name_key(first) == mysql_name_key(second))




def test_usernames_differing_in_case_refuse_the_mysql_script_where_mariadb_would_merge_them(mariadb):
    """What the MySQL script would do: on Guacamole's tables, student1 finds Student1's row and takes its
    password, so one account is left for two users. The script is refused instead, naming both."""
    lab = read_config(CASE_LAB)
    users = [(u.username, u.password) for u in expand(lab).users]
    for dialect in ("mysql", None):
        with pytest.raises(ImportRefused) as refused:
            check_passwords(lab, dialect)
        [problem] = refused.value.problems
        assert (problem.path, problem.line) == ("users.b.username_prefix", 3)
        assert "'student1'" in problem.message and "'Student1' of the user type a" in problem.message
    mariadb.sql("DROP TABLE IF EXISTS guacamole_user, guacamole_entity;" + MYSQL_SCHEMA)
    mariadb.sql(passwords_sql(users, "mysql").decode())
    assert int(mariadb.sql("SELECT count(*) FROM guacamole_user")) == 2  # what the refusal prevents


def test_usernames_differing_in_case_are_two_accounts_in_postgresql(postgresql):
    lab = read_config(CASE_LAB)
    check_passwords(lab, "postgresql")
    users = [(u.username, u.password) for u in expand(lab).users]
    assert [name for name, _ in users] == ["Student1", "Student2", "student1", "student2"]
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA)
    postgresql.psql(passwords_sql(users, "postgresql").decode())
    values = ", ".join(f"({pg_text(name)}, {pg_text(password)})" for name, password in users)
    matching = postgresql.psql(
        f"SELECT count(*) FROM (VALUES {values}) AS lab(name, password) "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = sha256(convert_to(lab.password || upper(encode(u.password_salt, 'hex')), 'UTF8'))")
    assert int(matching) == 4
