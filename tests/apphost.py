"""The real app, run as a user runs it (``python -m tools.devhost``), on a loopback port of its own.

Nothing here depends on pytest, so the benchmarks start the app the same way the tests do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from azurite import REPO_ROOT, free_port, stop_process, wait_until_ready

START_TIMEOUT_SECONDS = 30

# A schedule that never fires during a test run: sweeps are driven by the tests themselves.
NEVER = "0 0 0 1 1 *"
HOST_BODY_LIMIT = "4194304"
MALLOC_ARENA_MAX = "2"


class AppHost:
    """One devhost process serving function_app against the given storage connection string."""

    def __init__(self, storage: str, table: str = "usermappings", **settings: str):
        self.port = free_port()
        self.env = {
            **os.environ,
            "USERMAPPER_STORAGE": storage,
            "USERMAPPER_TABLE": table,
            "USERMAPPER_SWEEP_SCHEDULE": NEVER,
            # the host's body limit as deployed (infra/app/api.bicep), whatever local.settings.json says
            "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": HOST_BODY_LIMIT,
            # the C library's malloc arenas as deployed (infra/app/api.bicep): read as the process starts
            "MALLOC_ARENA_MAX": MALLOC_ARENA_MAX,
            **settings,
        }
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The devhost process's id, for benchmarks that read its memory."""
        return self._process.pid

    def start(self) -> "AppHost":
        self._log = tempfile.NamedTemporaryFile(prefix="devhost-", suffix=".log", delete=False)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.devhost", "--host", "127.0.0.1", "--port", str(self.port),
             "--app-dir", str(REPO_ROOT)],
            cwd=REPO_ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self._wait_until_serving()
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process)
        self._process = None
        self._log.close()
        os.unlink(self._log.name)

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def __enter__(self) -> "AppHost":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_serving(self) -> None:
        failure = wait_until_ready(self._process, self._serving, START_TIMEOUT_SECONDS)
        if failure:
            log = self.log()
            self.stop()
            raise RuntimeError(f"devhost {failure} (serving {self.url}):\n{log}")

    def _serving(self) -> bool:
        try:
            requests.get(f"{self.url}/static/style.css", timeout=1)
            return True
        except (requests.ConnectionError, requests.Timeout):  # the first request imports the web layer
            return False
