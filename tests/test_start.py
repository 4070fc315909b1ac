"""scripts/start on a busy machine: two instances side by side on ports of their own, and a port already
taken is one line that names it, not a traceback. Each instance runs in its own process group, stopped by
its PID; stopping the script by its PID or with Ctrl-C stops both."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def started(*args: str, env: dict | None = None):
    process = subprocess.Popen([str(ROOT / "scripts" / "start"), *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_healthy(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"scripts/start on port {port} did not answer within {START_SECONDS} s")


def test_two_instances_run_side_by_side_and_a_busy_port_is_one_line():
    first, first_storage = free_port(), free_port()
    second, second_storage = free_port(), free_port()
    with started("--port", str(first), "--storage-port", str(first_storage)) as one, \
            started(env={"USERMAPPER_PORT": str(second), "USERMAPPER_STORAGE_PORT": str(second_storage)}) as two:
        wait_healthy(one, first)
        wait_healthy(two, second)
        with started("--port", str(first), "--storage-port", str(free_port())) as clash:
            output, _ = clash.communicate(timeout=60)
        assert clash.returncode == 1
        complaint = output.strip().splitlines()[-1]
        assert f"port {first} (the app) is already in use" in complaint and "--port" in complaint
        assert "Traceback" not in output
        with started("--port", str(free_port()), "--storage-port", str(first_storage)) as clash:
            output, _ = clash.communicate(timeout=60)
        assert clash.returncode == 1 and f"port {first_storage} (Azurite's tables)" in output
        assert requests.get(f"http://127.0.0.1:{first}/api/health", timeout=5).status_code == 200


def test_a_second_setup_waits_for_the_first():
    """scripts/start and scripts/test both run scripts/setup; one at a time, or pip and npm trip over each other."""
    with open(ROOT / ".setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        setup = subprocess.Popen([str(ROOT / "scripts" / "setup")], cwd=ROOT, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            time.sleep(3)
            assert setup.poll() is None, setup.stdout.read()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    output, _ = setup.communicate(timeout=120)
    assert setup.returncode == 0, output
    assert "another setup is running in this checkout; waiting for it" in output


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("how", ["kill of its PID", "Ctrl-C"])
def test_stopping_the_script_stops_the_app_and_azurite(how):
    """A kill of the script's own PID (a process manager, a test) and Ctrl-C (SIGINT to the terminal's
    process group) both leave neither the app nor Azurite running."""
    port, storage = free_port(), free_port()
    with started("--port", str(port), "--storage-port", str(storage)) as process:
        wait_healthy(process, port)
        if how == "Ctrl-C":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        deadline = time.monotonic() + 10
        while (listening(port) or listening(storage)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not listening(port) and not listening(storage)
