"""The password scripts against real PostgreSQL and MariaDB servers, on Guacamole 1.6.0's own schema shape
(tests/databases.py: its user tables with their character sets, collations and keys, and its initial
guacadmin account, written from reading its schema files).

Each script runs twice; then, in the database's own SQL, every lab user's ``password_hash`` equals SHA-256
of the password followed by the upper-case hex of ``password_salt``, and the rows that were there before
(an administrator, user groups named like a lab user) are exactly as they were. Accounts outside the lab
that MySQL's collation takes for a lab user's (``STUDENT01``, ``stüdent02``, ``student03 ``, ``guacadmin``
for ``student01``, ``student02``, ``student03``, ``GuacAdmin``) stop the MySQL script before any change;
the PostgreSQL script reads the same whatever the session's settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from databases import CASE_LAB, MYSQL_SCHEMA, POSTGRESQL_SCHEMA, DatabaseError, MariaDB, PostgreSQL
from httpclient import Client, assert_problem
from test_cli import usermapper
from usermapper.lab import read_config
from usermapper.lab.expand import expand
from usermapper.outputs.import_files import ImportRefused
from usermapper.outputs.mysql_names import mysql_name_key
from usermapper.outputs.password_scripts import check_passwords, password_hash, passwords_sql

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LABS = ["classroom.yaml", "escaping.yaml", "original-format.yaml"]


def groups_named(dialect: str, *names: str) -> str:
    """Rows that were there before, beside the schema's guacadmin: user groups named as a lab user (a group
    is no account: its name may be a user's)."""
    text = pg_hex if dialect == "postgresql" else my_hex
    values = ", ".join(f"({text(name)}, 'USER_GROUP')" for name in names)
    return f"INSERT INTO guacamole_entity (name, type) VALUES {values};"


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


def pg_hex(value: str) -> str:
    return f"convert_from(decode('{value.encode().hex()}', 'hex'), 'UTF8')"


def my_hex(value: str) -> str:
    return f"_utf8mb4 x'{value.encode().hex()}'"


PERMISSIONS = ("SELECT * FROM guacamole_system_permission ORDER BY 1, 2; "
               "SELECT * FROM guacamole_user_permission ORDER BY 1, 2, 3")


def pg_rows(server: PostgreSQL) -> str:
    """Every row of every table of the test schema, in full."""
    return server.psql(
        "SELECT * FROM guacamole_entity ORDER BY entity_id; SELECT * FROM guacamole_user ORDER BY user_id; "
        + PERMISSIONS)


def my_rows(server: MariaDB) -> str:
    return server.sql(
        "SELECT entity_id, HEX(name), type FROM guacamole_entity ORDER BY entity_id; "
        "SELECT user_id, entity_id, HEX(password_hash), HEX(password_salt), password_date, disabled, expired, "
        "access_window_start, access_window_end, valid_from, valid_until, timezone, full_name, email_address, "
        "organization, organizational_role FROM guacamole_user ORDER BY user_id; " + PERMISSIONS)


MYSQL_RESET = ("DROP TABLE IF EXISTS guacamole_user_permission, guacamole_system_permission, guacamole_user, "
               "guacamole_entity;")


@pytest.mark.parametrize("lab", LABS)
def test_postgresql_script_sets_every_password_and_nothing_else(postgresql, lab):
    group = users_of(lab)[0][0]
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA
                    + groups_named("postgresql", group, group.upper()))
    before = postgresql.psql("SELECT e.name, e.type, u.password_hash, u.password_salt, u.password_date "
                             "FROM guacamole_entity e LEFT JOIN guacamole_user u USING (entity_id) ORDER BY 1, 2")
    granted = postgresql.psql(PERMISSIONS)
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
    assert postgresql.psql(PERMISSIONS) == granted


@pytest.mark.parametrize("lab", LABS)
def test_mysql_script_sets_every_password_and_nothing_else(mariadb, lab):
    users = users_of(lab)
    # one group: MySQL takes a name and its upper case for one
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA + groups_named("mysql", users[0][0].upper()))
    query_others = ("SELECT e.name, e.type, HEX(u.password_hash), HEX(u.password_salt), u.password_date "
                    "FROM guacamole_entity e LEFT JOIN guacamole_user u USING (entity_id) "
                    "WHERE e.name = 'guacadmin' OR e.type = 'USER_GROUP' ORDER BY 1, 2")
    before, granted = mariadb.sql(query_others), mariadb.sql(PERMISSIONS)
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
    assert (mariadb.sql(query_others), mariadb.sql(PERMISSIONS)) == (before, granted)


def test_a_second_run_with_new_salts_replaces_the_hash_without_adding_rows(postgresql):
    postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA)
    postgresql.psql(passwords_sql([("ann", "first")], "postgresql", new_salt=lambda: b"\x01" * 32).decode())
    postgresql.psql(passwords_sql([("ann", "second")], "postgresql", new_salt=lambda: b"\x02" * 32).decode())
    stored = postgresql.psql("SELECT encode(password_hash, 'hex') FROM guacamole_user JOIN guacamole_entity "
                             "USING (entity_id) WHERE name = 'ann'").split()
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
    """What the MySQL script would do: on Guacamole's tables, student1 and Student1 are one account, left
    for two users. The script is refused instead, naming both. (Run anyway, it still never gives one user
    the other's account: student1 finds Student1's row, not byte for byte its own, and leaves it alone.)"""
    lab = read_config(CASE_LAB)
    users = [(u.username, u.password) for u in expand(lab).users]
    for dialect in ("mysql", None):
        with pytest.raises(ImportRefused) as refused:
            check_passwords(lab, dialect)
        [problem] = refused.value.problems
        assert (problem.path, problem.line) == ("users.b.username_prefix", 3)
        assert "'student1'" in problem.message and "'Student1' of the user type a" in problem.message
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA)
    mariadb.sql(passwords_sql(users, "mysql").decode())
    passwords = dict(users)
    stored = [line.split("\t") for line in mariadb.sql(
        "SELECT name, HEX(password_hash), HEX(password_salt) FROM guacamole_entity JOIN guacamole_user "
        "USING (entity_id) WHERE name <> 'guacadmin' ORDER BY entity_id").splitlines()]
    assert [name for name, _, _ in stored] == ["Student1", "Student2"]  # what the refusal prevents: 2 for 4
    assert all(password_hash(passwords[name], bytes.fromhex(salt)).hex().upper() == hashed
               for name, hashed, salt in stored)


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


# -- accounts outside the lab ---------------------------------------------------------------------------------

# Accounts that were there before the lab, each one to MySQL's collation (utf8mb3_general_ci) with a lab
# user's name and not the same name byte for byte: case, an accent, a trailing space; and the schema's own
# guacadmin, which a lab user GuacAdmin would be.
BYSTANDERS = ["STUDENT01", "stüdent02", "student03 "]
BYSTANDER_LAB = """\
users:
  students: {quantity: 3, username_prefix: student, username_suffix: '01', password: random}
  admins: {quantity: 1, username_prefix: GuacAdmin, username_suffix: '', password: Lab-Admin}
devices:
  d1: {quantity: 1, name_prefix: A, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1',
       parameters: {protocol: ssh}}
"""


def bystander_users() -> list[tuple[str, str]]:
    lab = read_config(BYSTANDER_LAB)
    check_passwords(lab)  # two user types of the lab are never one account: refused before any script
    return [(u.username, u.password) for u in expand(lab).users]


def with_bystanders(names: list[str], hex_text) -> str:
    """The accounts ``names``, each with a password of its own, dated 2020."""
    values = ", ".join(f"({hex_text(name)}, 'USER')" for name in names)
    salt = "decode('" + "07" * 32 + "', 'hex')" if hex_text is pg_hex else "x'" + "07" * 32 + "'"
    hashed = "sha256(convert_to(name, 'UTF8'))" if hex_text is pg_hex else "UNHEX(SHA2(name, 256))"
    return (f"INSERT INTO guacamole_entity (name, type) VALUES {values};"
            f"INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date) "
            f"SELECT entity_id, {hashed}, {salt}, '2020-01-01 00:00:00' FROM guacamole_entity "
            f"WHERE name <> 'guacadmin';")


def test_mysql_script_stops_before_any_change_naming_each_lab_user_and_the_account_it_would_be(mariadb):
    users = bystander_users()
    assert [name for name, _ in users] == ["student01", "student02", "student03", "GuacAdmin"]
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA + with_bystanders(BYSTANDERS, my_hex))
    before = my_rows(mariadb)
    script = passwords_sql(users, "mysql").decode()
    for options in ((), ("--force",)):  # --force: a client that goes on after an error
        run = mariadb.run(script, *options)
        assert ("ERROR 1366 (22007) at line 11: Incorrect integer value: ''student01' is 'STUDENT01'; "
                "'student02' is 'stüdent02'; 'student03' is 'student03 '; 'GuacAdmin' is 'guacadmin'' for column "
                "`guacamole_db`.`usermapper_stopped`.`lab_users_are_existing_accounts_nothing_changed` at row 1"
                ) in run.stderr, run.stderr
        assert run.returncode != 0 or options
        assert my_rows(mariadb) == before  # every row of every table: no password, no account, no date


@pytest.mark.parametrize("existing, lab_user", [
    ("STUDENT01", "student01"), ("stüdent02", "student02"), ("student03 ", "student03"), (None, "GuacAdmin"),
    (None, "guacadmin "), ("Ωmega", "ωMEGA"),
])
def test_each_account_the_collation_takes_for_a_lab_user_stops_the_mysql_script(mariadb, existing, lab_user):
    """One such account among lab users that are new: the script stops before the first of them is made."""
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA + (with_bystanders([existing], my_hex) if existing else ""))
    before = my_rows(mariadb)
    script = passwords_sql([("new01", "a"), (lab_user, "b"), ("new02", "c")], "mysql").decode()
    with pytest.raises(DatabaseError) as stopped:
        mariadb.sql(script)
    assert f"Incorrect integer value: ''{lab_user}' is '{existing or 'guacadmin'}'' for column" in str(stopped.value)
    assert my_rows(mariadb) == before


def test_accounts_of_the_lab_and_others_the_collation_keeps_apart_let_the_mysql_script_run(mariadb):
    """Not every near name stops it: the lab's own accounts (made by the import, with a password nobody
    knows), a user group of a lab user's name, and names general_ci keeps apart (straße is not strasse,
    student1 not student01) are no clash; only the lab's users change."""
    users = [user for user in bystander_users() if user[0] != "GuacAdmin"] + [("strasse1", "d")]
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA + with_bystanders(["straße1", "student1", "student02"], my_hex)
                + groups_named("mysql", "STUDENT01"))
    others = ("SELECT e.entity_id, HEX(e.name), e.type, HEX(password_hash), password_date FROM guacamole_entity e "
              "LEFT JOIN guacamole_user USING (entity_id) WHERE e.type = 'USER_GROUP' OR "
              "HEX(e.name) IN (HEX('guacadmin'), HEX(_utf8mb4 x'73747261c39f6531'), HEX('student1')) ORDER BY 1")
    before, granted = mariadb.sql(others), mariadb.sql(PERMISSIONS)
    mariadb.sql(passwords_sql(users, "mysql").decode())
    assert (mariadb.sql(others), mariadb.sql(PERMISSIONS)) == (before, granted)
    lab_rows = " UNION ALL ".join(f"SELECT {my_hex(name)} AS name, {my_hex(password)} AS password"
                                  for name, password in users)
    assert mariadb.sql(
        f"SELECT e.entity_id, e.name FROM ({lab_rows}) AS lab JOIN guacamole_entity e ON e.type = 'USER' "
        f"AND CAST(e.name AS BINARY) = CAST(lab.name AS BINARY) JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = UNHEX(SHA2(CONCAT(lab.password, HEX(u.password_salt)), 256)) ORDER BY 1"
    ).splitlines() == ["4\tstudent02", "6\tstudent01", "7\tstudent03", "8\tstrasse1"]


def test_postgresql_script_reads_the_same_whatever_the_session_settings(postgresql):
    """Exact names: the bystanders are other accounts, left as they were, beside the lab's new ones. With
    standard_conforming_strings off, the old script's '\\x..'::bytea read as escapes (a harmless lab
    failed) and a backslash in a name ended its string early: the crafted name below dropped
    guacamole_user. The same script, run with it on, off, and off as one message (the server reads all of
    it before the script's own SET runs), leaves the same rows."""
    crafted = "a\\', (SELECT min(type) FROM guacamole_entity)); DROP TABLE guacamole_user CASCADE; COMMIT; --"
    users = [(crafted, "e")] + bystander_users() + [("LAB\\student1", "f"), ("élève", "g"), ("x\\", "h")]
    salts = iter(bytes([n]) * 32 for n in range(1, 100))
    script = passwords_sql(users, "postgresql", new_salt=lambda: next(salts)).decode()
    assert script.isascii() and "\\" not in script
    rows = ("SELECT entity_id, name, type FROM guacamole_entity ORDER BY 1; SELECT user_id, entity_id, "
            "encode(password_hash, 'hex'), encode(password_salt, 'hex') FROM guacamole_user ORDER BY 1; " + PERMISSIONS)
    others = ("SELECT e.entity_id, e.name, u.* FROM guacamole_entity e JOIN guacamole_user u USING (entity_id) "
              "WHERE e.entity_id <= 4 ORDER BY 1")  # guacadmin and the bystanders, made first
    values = ", ".join(f"({pg_hex(name)}, {pg_hex(password)})" for name, password in users)
    lab_passwords = (
        f"SELECT count(*) FROM (VALUES {values}) AS lab(name, password) "
        f"JOIN guacamole_entity e ON e.name = lab.name AND e.type = 'USER' JOIN guacamole_user u USING (entity_id) "
        f"WHERE u.password_hash = sha256(convert_to(lab.password || upper(encode(u.password_salt, 'hex')), 'UTF8'))")
    results = {}
    for run, setting, one_message in (("on", "on", False), ("off", "off", False), ("off, one message", "off", True)):
        postgresql.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;" + POSTGRESQL_SCHEMA
                        + with_bystanders(BYSTANDERS, pg_hex))
        settings = {"standard_conforming_strings": setting}
        assert postgresql.psql("SHOW standard_conforming_strings", settings=settings).strip() == setting
        before, granted = postgresql.psql(others), postgresql.psql(PERMISSIONS)
        assert len(before.splitlines()) == 4
        postgresql.psql(script, settings=settings, one_message=one_message)
        assert (postgresql.psql(others), postgresql.psql(PERMISSIONS)) == (before, granted), run
        assert int(postgresql.psql(lab_passwords)) == len(users), run
        results[run] = postgresql.psql(rows)
    assert results["off"] == results["on"] == results["off, one message"]


# -- characters Guacamole's MySQL tables cannot store ---------------------------------------------------------

CLEF_LAB = """users:
  teachers: {quantity: 1, username_prefix: teacher, username_suffix: '', password: Lab-Teacher}
  students: {quantity: 2, username_prefix: "s\U0001D11Ea-", username_suffix: '1', password: random}
devices:
  d1: {quantity: 1, name_prefix: A, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1',
       parameters: {protocol: ssh}}
"""
CLEF_PLACE = ("users.students.username_prefix", 3, CLEF_LAB.splitlines()[2].index('"s') + 1)


def test_a_username_beyond_u_ffff_is_refused_for_mysql_at_its_prefix(mariadb):
    """Guacamole's tables are CHARSET=utf8 (3 bytes a character): a name with 𝄞 stops the script at
    ERROR 1366 and nobody gets a password, as the old script did. Refused at generation instead, for the
    MySQL script alone."""
    lab = read_config(CLEF_LAB)
    with pytest.raises(ImportRefused) as refused:
        check_passwords(lab, "mysql")
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == CLEF_PLACE
    assert problem.message.startswith("holds '\U0001D11E' (U+1D11E, character 2 of the prefix), beyond U+FFFF")
    check_passwords(lab, "postgresql")
    users = [(u.username, u.password) for u in expand(lab).users]
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA)
    before = my_rows(mariadb)
    with pytest.raises(DatabaseError):  # what the refusal spares: the script stops, before any change
        mariadb.sql(passwords_sql(users, "mysql").decode())
    assert my_rows(mariadb) == before


def test_a_username_beyond_u_ffff_refuses_the_mysql_script_on_the_command_line(tmp_path):
    (tmp_path / "lab.yaml").write_text(CLEF_LAB, encoding="utf-8")
    result = usermapper("-i", "lab.yaml", "-o", "m.xml", "--passwords-sql", "mysql", "p.sql", "--credentials", "c.csv",
                        cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    path, line, column = CLEF_PLACE
    assert result.stderr.decode().startswith(f"lab.yaml:{line}:{column}: {path}: holds '\U0001D11E' (U+1D11E")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml"]
    result = usermapper("-i", "lab.yaml", "-o", "m.xml", "--passwords-sql", "postgresql", "p.sql", "--credentials",
                        "c.csv", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.sql").read_text().count("INSERT INTO guacamole_user ") == 3


@pytest.fixture
def client(app_url) -> Client:
    return Client(app_url)


def test_a_username_beyond_u_ffff_refuses_the_mysql_script_over_http(client):
    summary = client.post_file(CLEF_LAB.encode()).json()
    path, line, column = CLEF_PLACE
    [refused] = summary["import"]["passwords_refused_mysql"]
    assert (refused["path"], refused["line"], refused["column"]) == (path, line, column)
    assert summary["import"]["passwords_refused"] == []
    problem = assert_problem(client.get(params={"format": "passwords-mysql"}), 422)
    assert problem["errors"] == [refused]
    assert "U+1D11E" in refused["message"]
    script = client.get(params={"format": "passwords-postgresql"})
    assert script.status_code == 200 and script.text.count("INSERT INTO guacamole_user ") == 3


def test_the_stop_docs_guacamole_md_shows_is_the_one_mariadb_gives(mariadb):
    page = (Path(__file__).resolve().parent.parent / "docs" / "guacamole.md").read_text()
    [shown] = [line.strip() for line in page.splitlines() if line.strip().startswith("ERROR 1366")]
    mariadb.sql(MYSQL_RESET + MYSQL_SCHEMA + with_bystanders(["STUDENT01"], my_hex))
    run = mariadb.run(passwords_sql([("student01", "a"), ("GuacAdmin", "b")], "mysql").decode())
    assert run.returncode == 1 and run.stderr.splitlines()[-1] == shown
