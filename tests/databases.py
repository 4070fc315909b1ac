"""Real PostgreSQL and MariaDB servers for tests, each in a temporary directory on a free loopback port.

Debian's ``postgresql`` and ``mariadb-server`` packages (``scripts/setup test`` installs them). A missing server
is an error, never a skip: the SQL scripts are only known to work where they ran. PostgreSQL refuses to run
as root, so when the tests run as root it runs as ``nobody``. Both are stopped by their own PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from azurite import free_port, stop_process, wait_until_ready

START_TIMEOUT_SECONDS = 60
# Two user types whose usernames differ only in case: one account in MySQL and MariaDB, two in PostgreSQL.
CASE_LAB = """\
users:
  a: {quantity: 2, username_prefix: Student, username_suffix: '1', password: random}
  b: {quantity: 2, username_prefix: student, username_suffix: '1', password: random, devices: [d2]}
devices:
  d1: {quantity: 1, name_prefix: A, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: ssh}}
  d2: {quantity: 1, name_prefix: B, name_suffix: '1', hostname_prefix: g, hostname_suffix: '1', parameters: {protocol: ssh}}
"""


# Guacamole 1.6.0's user tables, written here from reading its schema files (guacamole-auth-jdbc-mysql and
# -postgresql, schema/001-create-schema.sql and 002-create-admin-user.sql): guacamole_entity, guacamole_user
# and the two permission tables its initial account needs, with the same columns, types, keys, engine and
# character set (MySQL: CHARSET=utf8, that is utf8mb3, whose default collation utf8mb3_general_ci compares
# names regardless of case, many accents and trailing spaces; PostgreSQL: plain varchar, compared exactly),
# then that initial account: guacadmin, password guacadmin, with every system permission but AUDIT and
# READ, UPDATE and ADMINISTER on itself.
GUACADMIN_HASH = "CA458A7D494E3BE824F5E1E175A1556C0F8EEF2C2D7DF3633BEC4A29C4411960"
GUACADMIN_SALT = "FE24ADC5E11E2B25288D1704ABE67A79E342ECC26064CE69C5B3177795A82264"
_ADMIN_SYSTEM_PERMISSIONS = ("CREATE_CONNECTION", "CREATE_CONNECTION_GROUP", "CREATE_SHARING_PROFILE", "CREATE_USER",
                             "CREATE_USER_GROUP", "ADMINISTER")
_ADMIN_USER_PERMISSIONS = ("READ", "UPDATE", "ADMINISTER")


def _one_column(values: tuple[str, ...]) -> str:
    return " UNION ALL ".join(f"SELECT '{value}' AS permission" for value in values)


MYSQL_SCHEMA = f"""
CREATE TABLE guacamole_entity (
    entity_id int(11) NOT NULL AUTO_INCREMENT,
    name varchar(128) NOT NULL,
    type enum('USER', 'USER_GROUP') NOT NULL,
    PRIMARY KEY (entity_id),
    UNIQUE KEY guacamole_entity_name_scope (type, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE guacamole_user (
    user_id int(11) NOT NULL AUTO_INCREMENT,
    entity_id int(11) NOT NULL,
    password_hash binary(32) NOT NULL,
    password_salt binary(32),
    password_date datetime NOT NULL,
    disabled boolean NOT NULL DEFAULT 0,
    expired boolean NOT NULL DEFAULT 0,
    access_window_start TIME,
    access_window_end TIME,
    valid_from DATE,
    valid_until DATE,
    timezone VARCHAR(64),
    full_name VARCHAR(256),
    email_address VARCHAR(256),
    organization VARCHAR(256),
    organizational_role VARCHAR(256),
    PRIMARY KEY (user_id),
    UNIQUE KEY guacamole_user_single_entity (entity_id),
    CONSTRAINT guacamole_user_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE guacamole_system_permission (
    entity_id int(11) NOT NULL,
    permission enum('CREATE_CONNECTION', 'CREATE_CONNECTION_GROUP', 'CREATE_SHARING_PROFILE', 'CREATE_USER',
                    'CREATE_USER_GROUP', 'AUDIT', 'ADMINISTER') NOT NULL,
    PRIMARY KEY (entity_id, permission),
    CONSTRAINT guacamole_system_permission_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
CREATE TABLE guacamole_user_permission (
    entity_id int(11) NOT NULL,
    affected_user_id int(11) NOT NULL,
    permission enum('READ', 'UPDATE', 'DELETE', 'ADMINISTER') NOT NULL,
    PRIMARY KEY (entity_id, affected_user_id, permission),
    CONSTRAINT guacamole_user_permission_ibfk_1 FOREIGN KEY (affected_user_id) REFERENCES guacamole_user (user_id)
        ON DELETE CASCADE,
    CONSTRAINT guacamole_user_permission_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
INSERT INTO guacamole_entity (name, type) VALUES ('guacadmin', 'USER');
INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date)
    SELECT entity_id, x'{GUACADMIN_HASH}', x'{GUACADMIN_SALT}', NOW()
    FROM guacamole_entity WHERE name = 'guacadmin' AND type = 'USER';
INSERT INTO guacamole_system_permission (entity_id, permission)
    SELECT entity_id, permission FROM guacamole_entity, ({_one_column(_ADMIN_SYSTEM_PERMISSIONS)}) AS granted
    WHERE name = 'guacadmin' AND type = 'USER';
INSERT INTO guacamole_user_permission (entity_id, affected_user_id, permission)
    SELECT entity_id, user_id, permission FROM guacamole_entity JOIN guacamole_user USING (entity_id),
        ({_one_column(_ADMIN_USER_PERMISSIONS)}) AS granted
    WHERE name = 'guacadmin' AND type = 'USER';
"""

POSTGRESQL_SCHEMA = f"""
CREATE TYPE guacamole_entity_type AS ENUM ('USER', 'USER_GROUP');
CREATE TYPE guacamole_object_permission_type AS ENUM ('READ', 'UPDATE', 'DELETE', 'ADMINISTER');
CREATE TYPE guacamole_system_permission_type AS ENUM ('CREATE_CONNECTION', 'CREATE_CONNECTION_GROUP',
    'CREATE_SHARING_PROFILE', 'CREATE_USER', 'CREATE_USER_GROUP', 'AUDIT', 'ADMINISTER');
CREATE TABLE guacamole_entity (
    entity_id serial NOT NULL,
    name varchar(128) NOT NULL,
    type guacamole_entity_type NOT NULL,
    PRIMARY KEY (entity_id),
    CONSTRAINT guacamole_entity_name_scope UNIQUE (type, name));
CREATE TABLE guacamole_user (
    user_id serial NOT NULL,
    entity_id integer NOT NULL,
    password_hash bytea NOT NULL,
    password_salt bytea,
    password_date timestamptz NOT NULL,
    disabled boolean NOT NULL DEFAULT FALSE,
    expired boolean NOT NULL DEFAULT FALSE,
    access_window_start time,
    access_window_end time,
    valid_from date,
    valid_until date,
    timezone varchar(64),
    full_name varchar(256),
    email_address varchar(256),
    organization varchar(256),
    organizational_role varchar(256),
    PRIMARY KEY (user_id),
    CONSTRAINT guacamole_user_single_entity UNIQUE (entity_id),
    CONSTRAINT guacamole_user_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE);
CREATE TABLE guacamole_system_permission (
    entity_id integer NOT NULL,
    permission guacamole_system_permission_type NOT NULL,
    PRIMARY KEY (entity_id, permission),
    CONSTRAINT guacamole_system_permission_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE);
CREATE INDEX guacamole_system_permission_entity_id ON guacamole_system_permission (entity_id);
CREATE TABLE guacamole_user_permission (
    entity_id integer NOT NULL,
    affected_user_id integer NOT NULL,
    permission guacamole_object_permission_type NOT NULL,
    PRIMARY KEY (entity_id, affected_user_id, permission),
    CONSTRAINT guacamole_user_permission_ibfk_1 FOREIGN KEY (affected_user_id) REFERENCES guacamole_user (user_id)
        ON DELETE CASCADE,
    CONSTRAINT guacamole_user_permission_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id)
        ON DELETE CASCADE);
CREATE INDEX guacamole_user_permission_affected_user_id ON guacamole_user_permission (affected_user_id);
CREATE INDEX guacamole_user_permission_entity_id ON guacamole_user_permission (entity_id);
INSERT INTO guacamole_entity (name, type) VALUES ('guacadmin', 'USER');
INSERT INTO guacamole_user (entity_id, password_hash, password_salt, password_date)
    SELECT entity_id, decode('{GUACADMIN_HASH}', 'hex'), decode('{GUACADMIN_SALT}', 'hex'), CURRENT_TIMESTAMP
    FROM guacamole_entity WHERE name = 'guacadmin' AND type = 'USER';
INSERT INTO guacamole_system_permission (entity_id, permission)
    SELECT entity_id, permission::guacamole_system_permission_type
    FROM guacamole_entity, ({_one_column(_ADMIN_SYSTEM_PERMISSIONS)}) AS granted
    WHERE name = 'guacadmin' AND type = 'USER';
INSERT INTO guacamole_user_permission (entity_id, affected_user_id, permission)
    SELECT entity_id, user_id, permission::guacamole_object_permission_type
    FROM guacamole_entity JOIN guacamole_user USING (entity_id), ({_one_column(_ADMIN_USER_PERMISSIONS)}) AS granted
    WHERE name = 'guacadmin' AND type = 'USER';
"""


class DatabaseError(RuntimeError):
    """A server did not start, or a statement failed; the message carries what it printed."""


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise DatabaseError("PostgreSQL is not installed (Debian's postgresql package): run scripts/setup test")
    return Path(found[-1]).parent


class _TemporaryServer:
    """A database server process of the test run's own, and the temporary directory that holds its data."""

    directory: Path
    _process: subprocess.Popen | None = None

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None
            self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgreSQL(_TemporaryServer):
    """``psql(sql)`` runs statements as the superuser in database ``postgres`` and returns what it printed."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="usermapper-pg-"))
        self.user = "nobody" if os.geteuid() == 0 else None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "PostgreSQL":
        data = self.directory / "data"
        if self.user:
            shutil.chown(self.directory, self.user)
        self._run([str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync"])
        self._log = open(self.directory / "log", "wb")
        self._process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.directory), "-F"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=self.user)
        failure = wait_until_ready(self._process, self._ready, START_TIMEOUT_SECONDS)
        if failure:
            self.__exit__()
            raise DatabaseError(f"postgres {failure}")
        return self

    def psql(self, sql: str, *, settings: dict[str, str] | None = None, one_message: bool = False) -> str:
        """``settings``: the session's, as a server's configuration would set them (``PGOPTIONS``).
        ``one_message``: send ``sql`` as one query message (``psql -c``), as a client that runs a whole
        file at once does; the server then reads all of it before running any of it."""
        command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", "postgres", "-d", "postgres"]
        env = {"PGOPTIONS": " ".join(f"-c {name}={value}" for name, value in settings.items())} if settings else {}
        if one_message:
            return _client([*command, "-c", sql], "", env)
        return _client(command, sql, env)

    def _ready(self) -> bool:
        return subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              stdin=subprocess.DEVNULL).returncode == 0

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, user=self.user)
        if done.returncode:
            raise DatabaseError(f"{command[0]} failed: {done.stdout.decode()}{done.stderr.decode()}")


class MariaDB(_TemporaryServer):
    """``sql(statements)`` runs them as root in database ``guacamole_db`` and returns what it printed."""

    def __init__(self):
        if not shutil.which("mariadbd", path=os.environ.get("PATH", "") + ":/usr/sbin"):
            raise DatabaseError("MariaDB is not installed (Debian's mariadb-server package): run scripts/setup test")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="usermapper-mariadb-"))
        self.socket = self.directory / "mariadb.sock"
        self.user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "MariaDB":
        data = self.directory / "data"
        done = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", f"--user={self.user}",
                               "--auth-root-authentication-method=normal", "--skip-test-db"],
                              capture_output=True, stdin=subprocess.DEVNULL)
        if done.returncode:
            raise DatabaseError(f"mariadb-install-db failed: {done.stdout.decode()}{done.stderr.decode()}")
        self._log = open(self.directory / "log", "wb")
        self._process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--user={self.user}",
             f"--pid-file={self.directory / 'mariadb.pid'}", "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        failure = wait_until_ready(self._process, self._ready, START_TIMEOUT_SECONDS)
        if failure:
            self.__exit__()
            raise DatabaseError(f"mariadbd {failure}")
        self.sql("CREATE DATABASE guacamole_db CHARACTER SET utf8mb4", database="mysql")
        return self

    def sql(self, statements: str, database: str = "guacamole_db") -> str:
        return _client(self._command(database), statements)

    def run(self, statements: str, *options: str, database: str = "guacamole_db") -> subprocess.CompletedProcess:
        """The client run as ``mariadb [options] database < file``, whatever it exits with; its output as text."""
        return subprocess.run([*self._command(database), *options], input=statements, capture_output=True,
                              text=True, encoding="utf-8")

    def _command(self, database: str) -> list[str]:
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root", "--batch", "--skip-column-names",
                database]

    def _ready(self) -> bool:
        return self.socket.exists() and subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-u", "root", "ping"],
            capture_output=True, stdin=subprocess.DEVNULL).returncode == 0


def _client(command: list[str], sql: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, input=sql.encode("utf-8"), capture_output=True,
                          env={**os.environ, **env} if env else None)
    if done.returncode:
        raise DatabaseError(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()}")
    return done.stdout.decode("utf-8")
