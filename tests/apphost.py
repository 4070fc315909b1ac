"""The real app on a loopback port of its own, under one of two hosts (``HOSTS``):

- ``devhost``: as a user runs it, ``python -m tools.devhost``;
- ``worker``: loaded by Microsoft's worker library (``azure-functions-runtime``, Python 3.13 only) behind the
  stand-in host of ``tests/workerhost.py``.

Nothing here depends on pytest, so the benchmarks start the app the same way the tests do.
"""

from __future__ import annotations

import importlib.util
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
WORKER_HOST = REPO_ROOT / "tests" / "workerhost.py"


def worker_library_missing() -> str | None:
    """Why this Python cannot run the ``worker`` target, or None when it can."""
    if sys.version_info < (3, 13):
        return "azure-functions-runtime runs on Python 3.13 and newer"
    if importlib.util.find_spec("azure_functions_runtime") is None:
        return "azure-functions-runtime is not installed (pip install -r requirements-dev.txt)"
    return None


# The hosts the HTTP-facing tests run the app under on this Python: the worker's on 3.13 and newer.
HOSTS = ("devhost", "worker") if sys.version_info >= (3, 13) else ("devhost",)


class AppHost:
    """One process serving function_app against the given storage connection string, under ``host``."""

    def __init__(self, storage: str, table: str = "usermappings", host: str = "devhost", root: Path = REPO_ROOT,
                 **settings: str):
        """``root``: the checkout whose app to serve (a benchmark serves an older commit's beside this one's)."""
        self.host = host
        self.port = free_port()
        self.root = root
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
        self._log = tempfile.NamedTemporaryFile(prefix=f"{self.host}-", suffix=".log", delete=False)
        program = [str(WORKER_HOST)] if self.host == "worker" else ["-m", "tools.devhost"]
        self._process = subprocess.Popen(
            [sys.executable, *program, "--host", "127.0.0.1", "--port", str(self.port), "--app-dir", str(self.root)],
            cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
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
            raise RuntimeError(f"{self.host} {failure} (serving {self.url}):\n{log}")

    def _serving(self) -> bool:
        try:
            requests.get(f"{self.url}/static/style.css", timeout=1)
            return True
        except (requests.ConnectionError, requests.Timeout):  # the first request imports the web layer
            return False
