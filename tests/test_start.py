"""scripts/start on a busy machine: two instances side by side on ports of their own, and a port already
taken is one line that names it, not a traceback. Each instance runs in its own process group, stopped by
its PID; stopping the script by its PID or with Ctrl-C stops both. And what it installs: what running needs,
nothing only the tests need (scripts/test installs that)."""

from __future__ import annotations

import fcntl
import os
import shutil
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
        setup = subprocess.Popen([str(ROOT / "scripts" / "setup"), "run"], cwd=ROOT, stdin=subprocess.DEVNULL,
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


# -- what each script installs, in a copy of the scripts whose installers only write down what they were asked --

SANDBOX_FILES = ("scripts/setup", "scripts/start", "scripts/test", "requirements.txt", "requirements-local.txt",
                 "requirements-dev.txt", "requirements-infra.txt", "package.json", "package-lock.json",
                 "local.settings.example.json")
# What only the tests need: scripts/start must neither install these nor look for them.
TEST_ONLY = ("requirements-dev", "chromium", "postgresql", "mariadb", "checkov", "venv-infra", "requirements-infra")
LOGGING = 'echo "$0 $*" >> "$INSTALL_LOG"\n'
# A virtualenv's python: pip installs nothing, pytest passes, and `-c` (scripts/start's check that a port is
# free) fails, so that scripts/start stops, saying the port is taken, right after its install step.
VENV_PYTHON = "#!/bin/sh\n" + LOGGING + '[ "$1" = -c ] && exit 1\nexit 0\n'
SHIMS = {
    "python3": "#!/bin/sh\n" + LOGGING + '[ "$1 $2" = "-m venv" ] || exit 1\nmkdir -p "$3/bin"\n'
               'cat "$(dirname "$0")/venv-python" > "$3/bin/python"\nchmod +x "$3/bin/python"\n',
    "venv-python": VENV_PYTHON,
    "npm": "#!/bin/sh\n" + LOGGING + "mkdir -p node_modules/.bin\ntouch node_modules/.bin/azurite-table "
           "node_modules/.package-lock.json\nchmod +x node_modules/.bin/azurite-table\n",
    "apt-get": "#!/bin/sh\n" + LOGGING,
    "sudo": "#!/bin/sh\n" + LOGGING,
}


class Sandbox:
    def __init__(self, root: Path):
        self.root = root
        for name in SANDBOX_FILES:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
        shims = root / "shims"
        shims.mkdir()
        for name, text in SHIMS.items():
            (shims / name).write_text(text)
            (shims / name).chmod(0o755)
        self.log = root / "installs.log"
        self.env = {"PATH": f"{shims}:/usr/local/bin:/usr/bin:/bin", "HOME": str(root), "INSTALL_LOG": str(self.log),
                    "SHELLOPTS": "xtrace"}  # every bash script traces what it runs, scripts/setup too

    def run(self, script: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        """Runs scripts/<script>; returns it, its output and trace, and what it installed, in order."""
        run = subprocess.run([str(self.root / "scripts" / script)], cwd=self.root, env=self.env, text=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        installs = []
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            command, *arguments = line.split()
            command = str(Path(command).relative_to(self.root)) if command.startswith(str(self.root)) else command
            if arguments[:2] == ["-m", "venv"]:
                installs.append(f"create {arguments[2]}")
            elif "-r" in arguments:
                installs.append(f"{command.split('/bin/')[0]} <- {arguments[arguments.index('-r') + 1]}")
            elif Path(command).name in ("npm", "apt-get", "sudo"):
                installs.append(f"{Path(command).name} {' '.join(arguments[:1])}")
        self.log.unlink(missing_ok=True)
        return run, installs


def test_start_installs_what_running_needs_and_test_the_rest_each_once(tmp_path):
    sandbox = Sandbox(tmp_path)
    start, installs = sandbox.run("start")
    assert "(the app) is already in use" in start.stdout, start.stdout  # the shim's answer: it stopped there
    assert installs == ["create .venv", ".venv <- requirements-local.txt", "npm ci"]
    assert [word for word in TEST_ONLY if word in start.stdout.lower()] == [], start.stdout
    assert sandbox.run("start")[1] == []

    test, installs = sandbox.run("test")
    assert test.returncode == 0, test.stdout
    assert installs == [".venv <- requirements-dev.txt", "create .venv-infra", ".venv-infra <- requirements-infra.txt"]
    for looked_for in ("/usr/bin/chromium", "/usr/lib/postgresql/", "mariadbd"):  # installed with apt if missing
        assert looked_for in test.stdout
    assert sandbox.run("start")[1] == [] and sandbox.run("test")[1] == []

    time.sleep(1.1)  # past the stamps' second, whatever the file system's clock resolution
    (tmp_path / "requirements.txt").touch()
    assert sandbox.run("start")[1] == [".venv <- requirements-local.txt"]
    assert sandbox.run("test")[1] == [".venv <- requirements-dev.txt"]
