"""Faults, against the real app (``python -m tools.devhost``) and a real Azurite: storage stopped, slow, stalled
or cut (tcpproxy.py stands between the app and Azurite), sweeps racing each other or killed half way,
and many clients at once.

What must hold: a storage fault is a 503 problem with ``Retry-After`` within seconds, never a 500 or a
hang; nothing is half-written; once storage is back every call works and no session saved before the
fault is lost; a sweep deletes exactly the tables of past hours however it is interrupted or doubled; under
load every client downloads exactly the file it uploaded.

USERMAPPER_LOAD_SECONDS=30 runs the load test for 30 s (the issue's setting); CI runs it for 8 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml
import zstandard
from apphost import AppHost
from azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY, REPO_ROOT
from httpclient import API, CLASSROOM, Client, assert_problem, set_cookies
from sessiontables import SessionTables
from tcpproxy import TcpProxy
from usermapper.web.compression import compress
from usermapper.lab import read_config
from usermapper.lab.expand import expand
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.session_keys import HOUR_FORMAT
from usermapper.web.store import SessionStore, StorageUnavailable
from usermapper.outputs.user_mapping import user_mapping_bytes

QUICK_SECONDS = 10  # "within a few seconds": one retry of the store's 3 s timeouts, and a margin
STALLED_SECONDS = 15  # a stalled storage: connect and read timeouts of 3 s, one retry
SWEEP_SECONDS = 30  # the longest a sweep fired through the admin API may take to report
LOAD_SECONDS = float(os.environ.get("USERMAPPER_LOAD_SECONDS", "8"))
LOAD_CLIENTS = 16
SWEEP = "/admin/functions/sweep_expired_sessions"
CREDENTIALS = API + "/credentials"
XML = compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping/>\n')


def connection_string(port: int) -> str:
    """The development account on 127.0.0.1:``port`` (Azurite itself, or a proxy in front of it)."""
    return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{port}/{DEV_ACCOUNT};")


def store_at(storage: str, table: str, created: datetime | None = None) -> SessionStore:
    """A store on the app's table; with ``created``, one whose clock stands at that time."""
    settings = Settings(storage=StorageTarget(connection_string=storage), table_name=table)
    if created is None:
        return SessionStore.from_settings(settings)
    return SessionStore.from_settings(settings, clock=lambda: created)


def save_at(storage: str, table: str, created: datetime, count: int) -> set[str]:
    store = store_at(storage, table, created)
    return {store.save(XML, XML, 1, 1, summary=XML).token for _ in range(count)}


def whole_sessions(storage: str, table: str) -> dict[str, bytes]:
    """Every stored session's token and file, having checked that each entity is whole: every chunk there,
    the file and credentials decompress, and the file matches its recorded size and SHA-256."""
    sessions = {}
    for token, entity in SessionTables(storage, table).entities().items():
        if "State" in entity:  # a tombstone: an ended or replaced session, holding no file
            continue
        facts = json.loads(entity["Facts"])
        files = b"".join(entity[f"Files{i}"] for i in range(-(-sum(facts["file_bytes"]) // (64 * 1024))))
        xml_bytes, credentials_bytes = facts["file_bytes"][:2]
        xml, _ = (zstandard.ZstdDecompressor().decompressobj().decompress(frame)
                  for frame in (files[:xml_bytes], files[xml_bytes:xml_bytes + credentials_bytes]))
        assert len(xml) == facts["xml_size"]
        assert hashlib.sha256(xml).hexdigest() == facts["xml_sha256"]
        sessions[token] = xml
    return sessions


def past_tables(storage: str, table: str) -> set[str]:
    """The tables of hours already over: what the next sweep must delete."""
    current_hour = datetime.now(timezone.utc).strftime(HOUR_FORMAT)
    return {table + hour for hour in SessionTables(storage, table).hours() if hour < current_hour}


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def assert_unavailable(response: requests.Response, elapsed: float, bound: float = QUICK_SECONDS) -> None:
    """A 503 problem that tells the client when to come back, within ``bound`` seconds; no cookie changes."""
    assert elapsed < bound, f"{response.status_code} after {elapsed:.1f} s"
    assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert not set_cookies(response)


def sweeps_run(app: AppHost) -> int:
    return app.log().count("timer sweep_expired_sessions -> ")


def start_sweep(app: AppHost) -> None:
    """Run the app's timer function now, through the host's admin API (it answers before the run ends)."""
    assert requests.post(app.url + SWEEP, json={"input": ""}, timeout=QUICK_SECONDS).status_code == 202


def wait_for_sweeps(app: AppHost, runs: int) -> None:
    """Wait until the app's log reports ``runs`` finished sweeps in all."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while sweeps_run(app) < runs:
        assert time.monotonic() < deadline, f"the sweep did not finish within {SWEEP_SECONDS} s"
        time.sleep(0.05)


def fire_sweep(app: AppHost) -> str:
    """Run the app's timer function once and wait for it; return the log it wrote meanwhile."""
    before = app.log()
    start_sweep(app)
    wait_for_sweeps(app, before.count("timer sweep_expired_sessions -> ") + 1)
    return app.log()[len(before):]


def swept(log: str) -> list[set[str]]:
    """The tables each sweep in this log deleted, as the store reports it: one line per sweep."""
    return [set() if names == "none past" else set(names.split(", "))
            for names in re.findall(r"sweep deleted \d+ tables of expired sessions \(([^)]*)\) and made \d+ for coming hours in \d+ requests", log)]


@pytest.fixture
def proxied_app(app_host, private_azurite, table_name):
    """The app reaching its own Azurite through a TCP proxy the test can slow, stall or cut."""
    with TcpProxy(private_azurite.port) as proxy, \
            app_host(connection_string(proxy.port), table=table_name) as app:
        yield app, proxy


def calls(client: Client) -> dict:
    """Every API call a client makes, each returning its response."""
    return {
        "POST multipart": lambda: client.post_file(),
        "POST raw": lambda: client.post_raw(CLASSROOM, "application/yaml"),
        "POST for XML": lambda: client.post_file(Accept="application/xml"),
        "GET": lambda: client.get(),
        "GET credentials": lambda: client.get(CREDENTIALS),
        "DELETE": lambda: client.delete(),
        "health": lambda: client.get("/api/health"),
    }


# -- storage stopped ----------------------------------------------------------------------------------------

def test_stopped_storage_every_call_is_a_quick_503_and_the_page_still_loads(app_host, private_azurite, table_name):
    with app_host(private_azurite.connection_string, table=table_name) as app:
        client = Client(app.url)
        assert client.post_file().status_code == 201
        private_azurite.stop()
        for name, call in calls(client).items():
            response, elapsed = timed(call)
            assert_unavailable(response, elapsed)
        assert requests.get(app.url + "/", timeout=QUICK_SECONDS).status_code == 200

        private_azurite.start()  # the same port, empty: the session table is gone with the data
        assert_problem(client.get(), 404)
        for name, call in calls(client).items():
            assert call().status_code < 300, name
        assert "Traceback" not in app.log()


def test_a_timer_sweep_with_storage_stopped_fails_quickly_and_the_next_run_sweeps(app_host, private_azurite,
                                                                                  table_name):
    storage = private_azurite.connection_string
    with app_host(storage, table=table_name) as app:
        assert Client(app.url).post_file().status_code == 201
        private_azurite.stop()
        started = time.monotonic()
        log = fire_sweep(app)
        assert time.monotonic() - started < QUICK_SECONDS
        assert "timer sweep_expired_sessions -> Failed" in log and "StorageUnavailable" in log
        assert requests.get(app.url + "/api/health", timeout=QUICK_SECONDS).status_code == 503

        private_azurite.start()  # empty, without the tables, as an emulator without persistence comes back
        assert "-> Succeeded" in fire_sweep(app)
        now = datetime.now(timezone.utc)
        save_at(storage, table_name, now - timedelta(hours=3), 120)
        live = save_at(storage, table_name, now - timedelta(minutes=50), 5)
        expired = past_tables(storage, table_name)
        assert len(expired) == 1 and swept(fire_sweep(app)) == [expired]
        assert set(whole_sessions(storage, table_name)) == live


def test_the_store_sweeps_again_once_storage_is_back(private_azurite, table_name):
    storage = private_azurite.connection_string
    store = store_at(storage, table_name)
    store.save(XML, XML, 1, 1, summary=XML)
    private_azurite.stop()
    with pytest.raises(StorageUnavailable):
        store.sweep()
    private_azurite.start()
    assert store.sweep().tables == ()
    save_at(storage, table_name, datetime.now(timezone.utc) - timedelta(hours=2), 3)
    assert len(store.sweep().tables) == 1 and whole_sessions(storage, table_name) == {}


# -- storage cut, slow, stalled (through the proxy: the data survives) ----------------------------------------

def test_cut_storage_is_a_quick_503_and_no_session_is_lost(proxied_app, private_azurite, table_name):
    app, proxy = proxied_app
    clients = [Client(app.url) for _ in range(4)]
    files = {}
    for client in clients:
        assert client.post_file().status_code == 201
        files[client.token] = client.get().content

    proxy.cut()
    for client in clients:
        for name, call in calls(client).items():
            response, elapsed = timed(call)
            assert_unavailable(response, elapsed)
    assert [client.token for client in clients] == list(files)

    proxy.forward()
    for client in clients:
        assert client.get().content == files[client.token]
    stored = whole_sessions(private_azurite.connection_string, table_name)
    assert stored == files  # each failed POST wrote nothing, each failed DELETE deleted nothing
    for client in clients:
        assert client.post_file().status_code == 201 and client.get().status_code == 200
        assert client.delete().status_code == 204
    assert whole_sessions(private_azurite.connection_string, table_name) == {}


def test_cutting_storage_while_uploads_are_on_the_wire_leaves_only_whole_sessions(proxied_app, private_azurite,
                                                                                  table_name):
    """Slow storage and uploads started one after another, so that the cut lands while requests are in
    flight: each upload is answered 201 or 503; afterwards every stored session is whole, and every
    201's file is there."""
    app, proxy = proxied_app
    first = Client(app.url)
    assert first.post_file().status_code == 201  # the table exists: the cut lands on the sessions' writes
    proxy.forward(latency=0.15)
    clients = [Client(app.url) for _ in range(6)]

    def upload(client: Client, delay: float) -> tuple[int, float]:
        time.sleep(delay)
        response, elapsed = timed(client.post_file)
        return response.status_code, elapsed

    with ThreadPoolExecutor(len(clients)) as pool:
        uploads = [pool.submit(upload, client, n * 0.1) for n, client in enumerate(clients)]
        time.sleep(0.35)
        proxy.cut()
        answers = [future.result() for future in uploads]
    assert all(status in (201, 503) and elapsed < QUICK_SECONDS for status, elapsed in answers), answers

    proxy.forward()
    stored = whole_sessions(private_azurite.connection_string, table_name)
    for client, (status, _) in [(first, (201, 0))] + list(zip(clients, answers)):
        if status == 201:
            assert client.token in stored and client.get().content == stored[client.token]


def test_slow_storage_still_answers_every_call(proxied_app):
    app, proxy = proxied_app
    proxy.forward(latency=0.2)
    client = Client(app.url)
    for name, call in calls(client).items():
        response, elapsed = timed(call)
        assert response.status_code < 300, (name, response.status_code, response.text[:300])
        assert elapsed < QUICK_SECONDS, (name, elapsed)
    assert "-> Succeeded" in fire_sweep(app)


def test_stalled_storage_is_a_503_within_bounded_time_then_recovers(proxied_app, private_azurite, table_name):
    """Every call at once, each as the owner of one session, while storage accepts connections and answers
    nothing. A stalled request may still arrive once storage moves again (the DELETE, here, of a session
    of its own), as with a server that froze; the owner's session must survive all the others."""
    app, proxy = proxied_app
    owner, leaver = Client(app.url, timeout=STALLED_SECONDS * 2), Client(app.url, timeout=STALLED_SECONDS * 2)
    for client in (owner, leaver):
        assert client.post_file().status_code == 201
    file = owner.get().content
    store = store_at(connection_string(proxy.port), table_name)
    stalled = {name: call for name, call in calls(owner).items() if not name.startswith(("POST", "DELETE"))}
    stalled |= {name: call for name, call in calls(leaver).items() if name.startswith(("POST", "DELETE"))}

    proxy.stall()

    def direct_sweep() -> float:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            store.sweep()
        return time.monotonic() - started

    with ThreadPoolExecutor(len(stalled) + 1) as pool:  # at once: devhost serves 8 requests in parallel
        answers = {name: pool.submit(timed, call) for name, call in stalled.items()}
        sweep_seconds = pool.submit(direct_sweep)
        for name, answer in answers.items():
            assert_unavailable(*answer.result(), bound=STALLED_SECONDS)
        assert sweep_seconds.result() < STALLED_SECONDS

    proxy.forward()
    assert owner.get().content == file
    assert owner.token in whole_sessions(private_azurite.connection_string, table_name)
    assert owner.post_file().status_code == 201 and owner.get().status_code == 200


# -- sweeps doubled or killed --------------------------------------------------------------------------------

@pytest.fixture
def expired_and_live(azurite, table_name):
    """300 sessions in the tables of five past hours (the last one expired a minute before this hour
    began) and 40 live ones, some of which expire in a minute; yields the live tokens and the tables of
    the expired ones."""
    storage = azurite.connection_string
    now = datetime.now(timezone.utc)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    for age, count in ((timedelta(hours=7), 60), (timedelta(hours=5), 60), (timedelta(hours=4), 60),
                       (timedelta(hours=2, minutes=30), 60), (timedelta(minutes=61), 60)):
        save_at(storage, table_name, this_hour - age, count)
    expired = past_tables(storage, table_name)
    live = set().union(*(save_at(storage, table_name, now - age, count) for age, count in (
        (timedelta(minutes=59), 20), (timedelta(minutes=5), 20))))
    assert len(expired) == 5
    yield live, expired
    SessionTables(storage, table_name).drop()


def test_two_app_instances_sweeping_at_once_delete_each_expired_session_once(app_host, azurite,
                                                                             table_name, expired_and_live):
    """Three sweeps started together, two of them in one app: whichever way they interleave, every past
    table is deleted (two sweeps may both report one: the second's delete finds it gone, which is fine)
    and no live session is touched."""
    live, expired = expired_and_live
    with app_host(azurite.connection_string, table=table_name) as first, \
            app_host(azurite.connection_string, table=table_name) as second:
        for app in (first, second, first):
            start_sweep(app)
        wait_for_sweeps(first, 2)
        wait_for_sweeps(second, 1)
        logs = [first.log(), second.log()]
    reports = [names for log in logs for names in swept(log)]
    assert len(reports) == 3 and set().union(*reports) == expired, reports
    assert set(whole_sessions(azurite.connection_string, table_name)) == live
    assert "-> Failed" not in "".join(logs)


def test_a_timer_sweep_cut_off_half_way_is_finished_by_the_next_run(app_host, azurite, table_name, expired_and_live):
    live, expired = expired_and_live
    storage = azurite.connection_string
    with TcpProxy(azurite.port) as proxy, app_host(connection_string(proxy.port), table=table_name) as app:
        proxy.forward(latency=0.3)  # slow enough to cut the sweep between its deletes
        start_sweep(app)
        deadline = time.monotonic() + SWEEP_SECONDS
        while past_tables(storage, table_name) == expired:
            assert time.monotonic() < deadline, "the sweep deleted nothing"
            time.sleep(0.02)
        proxy.cut()
        wait_for_sweeps(app, 1)
        assert "timer sweep_expired_sessions -> Failed" in app.log() and "StorageUnavailable" in app.log()
        remaining = past_tables(storage, table_name)
        assert remaining and remaining < expired, "not cut half way"
        assert live <= set(whole_sessions(storage, table_name))

        proxy.forward()
        assert swept(fire_sweep(app)) == [remaining]
    assert set(whole_sessions(storage, table_name)) == live


SWEEP_SCRIPT = """
import sys
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.store import SessionStore
settings = Settings(storage=StorageTarget(connection_string=sys.argv[1]), table_name=sys.argv[2])
store = SessionStore.from_settings(settings)
print("sweeping", flush=True)
print(store.sweep(), flush=True)
"""


def test_a_sweep_process_killed_half_way_is_finished_by_the_next_timer_run(app_host, azurite,
                                                                           table_name, expired_and_live):
    live, expired = expired_and_live
    storage = azurite.connection_string
    with TcpProxy(azurite.port) as proxy:
        proxy.forward(latency=0.3)  # slow enough to kill the sweep between its deletes
        sweeper = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT, connection_string(proxy.port), table_name],
                                   cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + SWEEP_SECONDS
            while past_tables(storage, table_name) == expired:
                assert sweeper.poll() is None and time.monotonic() < deadline, "the sweep deleted nothing"
                time.sleep(0.02)
            sweeper.send_signal(signal.SIGKILL)
        finally:
            sweeper.kill()
            output = sweeper.communicate(timeout=QUICK_SECONDS)[0]
    assert live <= set(whole_sessions(storage, table_name)), "the killed sweep deleted a live session"
    remaining = past_tables(storage, table_name)
    assert remaining and remaining < expired, f"not killed half way: {output}"

    with app_host(storage, table=table_name) as app:
        assert swept(fire_sweep(app)) == [remaining]
    assert set(whole_sessions(storage, table_name)) == live


# -- load ----------------------------------------------------------------------------------------------------

def client_config(client: int, flow: int) -> bytes:
    """A config of this client's own, with no random password, so the client knows the exact file."""
    lab = yaml.safe_load(CLASSROOM)
    lab["users"]["students"]["password"] = f"client{client}-flow{flow}&"
    lab["users"]["students"]["quantity"] = 1 + (client + flow) % 12
    return yaml.safe_dump(lab, sort_keys=False).encode()


def test_many_clients_each_download_exactly_the_file_they_uploaded(app_host, azurite, table_name, capsys):
    tallies = {"flows": 0, "mismatches": 0, "5xx": 0, "other": 0}
    latencies: list[float] = []
    lock = threading.Lock()

    def count(key: str) -> None:
        with lock:
            tallies[key] += 1

    def run(number: int, base: str, deadline: float) -> None:
        client = Client(base)
        flow = 0
        while time.monotonic() < deadline and flow < 10_000:
            config = client_config(number, flow)
            expected = hashlib.sha256(user_mapping_bytes(expand(read_config(config)))).hexdigest()
            created, posted = timed(client.post_raw, config, "application/yaml")
            downloaded, got = timed(client.get)
            with lock:
                latencies.extend((posted, got))
            for response in (created, downloaded):
                if response.status_code >= 500:
                    count("5xx")
            if created.status_code != 201 or downloaded.status_code != 200:
                count("other")
            elif not (created.json()["sha256"] == expected == hashlib.sha256(downloaded.content).hexdigest()):
                count("mismatches")
            count("flows")
            flow += 1

    with app_host(azurite.connection_string, table=table_name) as app:
        deadline = time.monotonic() + LOAD_SECONDS
        with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
            for done in [pool.submit(run, n, app.url, deadline) for n in range(LOAD_CLIENTS)]:
                done.result()
    latencies.sort()
    with capsys.disabled():
        print(f"\nload: {LOAD_CLIENTS} clients for {LOAD_SECONDS:g} s: {tallies['flows']} flows "
              f"({tallies['flows'] / LOAD_SECONDS:.0f}/s), {tallies['mismatches']} mismatches, {tallies['5xx']} 5xx, "
              f"{tallies['other']} other failures; per request p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")
    assert tallies["flows"] >= LOAD_CLIENTS
    assert (tallies["mismatches"], tallies["5xx"], tallies["other"]) == (0, 0, 0), tallies
