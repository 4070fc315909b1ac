"""The app gives back the memory of a big request: RSS after the largest labs comes back near where it was.

Through the real app (``python -m devhost``, a process of its own so that no other test's requests count)
on the run's Azurite. Without ``usermapper.memory``'s settings, glibc raises its mmap threshold after the
first big buffer is freed, and every later buffer up to 32 MiB stays in the process's heaps: measured, these
requests left the process 49-56 MiB bigger than before them without the settings, 3-6 MiB with them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apphost import AppHost
from httpclient import CLASSROOM, EXAMPLES, Client
from usermapper import memory

MiB = 1 << 20
ROUNDS = 3
KEPT_AT_MOST = 25 * MiB  # measured: 3-6 MiB kept with the settings, 49-56 MiB without

pytestmark = pytest.mark.skipif(memory.glibc_version() is None or not Path("/proc/self/status").exists(),
                                reason="the settings exist only on glibc, and RSS is read from Linux's /proc")


def largest_accepted() -> bytes:
    """big-lab.yaml with four times the users: 200,000 connections, 68 MB of XML (as bench_hostile.py)."""
    text = (EXAMPLES / "big-lab.yaml").read_text().replace("quantity: 20\n", "quantity: 80\n")
    return text.replace("quantity: 480\n", "quantity: 1920\n").encode()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def flow(client: Client, config: bytes) -> int:
    """POST the config, GET its file plain and as zstd, end the session; the size of the file."""
    created = client.post_raw(config, "application/yaml")
    assert created.status_code == 201, created.text[:500]
    summary = created.json()
    plain = client.get(headers={"Accept-Encoding": "identity"}).content
    assert hashlib.sha256(plain).hexdigest() == summary["sha256"]
    assert client.get(headers={"Accept-Encoding": "zstd"}).status_code == 200
    assert client.request("DELETE").status_code == 204
    return len(plain)


def test_memory_taken_by_the_largest_labs_is_given_back(azurite, table_name, tables):
    with AppHost(azurite.connection_string, table=table_name) as app:
        client = Client(app.url, timeout=60)
        for _ in range(3):  # every module a flow needs is imported and every cache filled
            flow(client, CLASSROOM)
        before = rss_bytes(app.pid)
        config = largest_accepted()
        after = []
        for _ in range(ROUNDS):
            assert flow(client, config) > 60_000_000
            flow(client, CLASSROOM)  # a small request after the big ones, as a server goes on
            after.append(rss_bytes(app.pid))
    kept = [(size - before) / MiB for size in after]
    assert max(after) - before < KEPT_AT_MOST, (
        f"RSS was {before / MiB:.0f} MiB before {ROUNDS} rounds of the largest lab; after each it had kept "
        + ", ".join(f"{k:.0f}" for k in kept) + " MiB more")


HEAP_SCRIPT = """
import sys
from pathlib import Path
from usermapper import memory

def rss():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024

if sys.argv[1] == "set":
    assert memory.keep_big_buffers_out_of_the_heap() is True
    assert memory.keep_big_buffers_out_of_the_heap() is True  # a second call changes nothing
first = bytearray(24 << 20)  # mapped on its own; freeing it is what raises glibc's threshold
del first
before = rss()
blocks = [bytearray(8 << 20) for _ in range(8)]  # 64 MiB, every page written
last = blocks.pop()  # kept: the heap cannot shrink below a block still in use
del blocks
print(rss() - before)
"""


@pytest.mark.parametrize("settings, kept_mib", [("set", (0, 16)), ("unset", (48, 100))])
def test_freed_buffers_of_a_few_mib_leave_the_process_only_with_the_settings(settings, kept_mib):
    """The mechanism itself, in a fresh interpreter: after one 24 MiB buffer is freed, 56 MiB of freed
    8 MiB buffers stay in RSS without the settings and go back to the system with them."""
    root = Path(__file__).resolve().parent.parent
    kept = int(subprocess.run([sys.executable, "-c", HEAP_SCRIPT, settings], cwd=root, check=True,
                              capture_output=True, text=True, timeout=60).stdout) / MiB
    low, high = kept_mib
    assert low <= kept <= high, f"{kept:.0f} MiB of freed buffers stayed in RSS ({settings})"


def test_off_glibc_nothing_is_set(monkeypatch):
    def no_such_name(name: str) -> str:
        raise ValueError(f"unrecognized configuration name: {name}")

    monkeypatch.setattr(os, "confstr", no_such_name)
    monkeypatch.setattr(memory, "_tuned", False)
    assert memory.glibc_version() is None
    assert memory.keep_big_buffers_out_of_the_heap() is False

