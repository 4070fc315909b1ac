"""A real Azurite table service for tests and bench scripts, on a loopback port of its own.

Nothing here depends on pytest: a bench script can run ``with Azurite() as storage: ...`` too.
Data lives in memory only, so it is gone after ``stop()``; ``start()`` again brings an empty service back
on the same port, which is how the fault tests take storage away and return it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"

# Azurite's published development account; it is not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 5


class AzuriteError(RuntimeError):
    """Azurite did not start; the message carries what it printed."""


class Azurite:
    """One ``azurite-table`` process on 127.0.0.1, started and stopped by its own PID."""

    def __init__(self, access_log: bool = False, tls: tuple[Path, Path] | None = None):
        """``access_log``: Azurite writes a line per request it answers (``answered`` counts them).
        ``tls``: a certificate and its key (PEM files): Azurite then answers https only."""
        self.port = free_port()
        self.access_log = access_log
        self.tls = tls
        self._process: subprocess.Popen | None = None
        self._output = None

    @property
    def connection_string(self) -> str:
        """The full development-account connection string; the SDK takes ``UseDevelopmentStorage=true``
        only for port 10002."""
        return (
            f"DefaultEndpointsProtocol={self.scheme};AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
            f"TableEndpoint={self.scheme}://127.0.0.1:{self.port}/{DEV_ACCOUNT};"
        )

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the service and return once its port accepts connections."""
        if self.running:
            return
        self._output = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [
                str(AZURITE_TABLE),
                "--inMemoryPersistence",
                "--disableTelemetry",
                *([] if self.access_log else ["--silent"]),
                "--tableHost", "127.0.0.1",
                "--tablePort", str(self.port),
                *(["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else []),
            ],
            cwd=REPO_ROOT,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    @property
    def pid(self) -> int:
        return self._process.pid

    def answered(self) -> int:
        """The requests answered so far, from the access log (read without moving the file's offset,
        which the process writes at)."""
        size = os.fstat(self._output.fileno()).st_size
        return os.pread(self._output.fileno(), size, 0).count(b' HTTP/1.1" ')

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers); its in-memory data is lost."""
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None
        self._output.close()
        self._output = None

    def __enter__(self) -> "Azurite":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        failure = wait_until_ready(self._process, lambda: _port_answers(self.port), START_TIMEOUT_SECONDS)
        if failure:
            self._fail(f"azurite-table {failure} (port {self.port})")

    def _fail(self, reason: str) -> None:
        self._output.seek(0)
        printed = self._output.read().decode(errors="replace")
        self.stop()
        raise AzuriteError(f"{reason}; it printed:\n{printed}")


def wait_until_ready(process: subprocess.Popen, ready: Callable[[], bool], timeout: float) -> str | None:
    """Poll ``ready`` until it is true. None then; otherwise why not: the process exited, or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}"
        if ready():
            return None
        time.sleep(0.05)
    return f"was not ready within {timeout} s"


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server we started, by its PID; kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
