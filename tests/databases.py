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

    def psql(self, sql: str) -> str:
        return _client(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", "postgres"], sql)

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
        return _client(["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", "root", "--batch",
                        "--skip-column-names", database], statements)

    def _ready(self) -> bool:
        return self.socket.exists() and subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-u", "root", "ping"],
            capture_output=True, stdin=subprocess.DEVNULL).returncode == 0


def _client(command: list[str], sql: str) -> str:
    done = subprocess.run(command, input=sql.encode("utf-8"), capture_output=True)
    if done.returncode:
        raise DatabaseError(f"{command[0]} failed ({done.returncode}): {done.stderr.decode()}")
    return done.stdout.decode("utf-8")
