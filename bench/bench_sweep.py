"""The sweep of expired sessions: ``SessionStore.sweep()`` beside a naive sweep, on identical tables.

Each run builds one dataset, 10,000 expired and 10,000 live sessions spread over hour buckets, as
``SessionStore.save`` lays them out (each entity is captured from ``save`` and inserted 100 per
transaction, which is much faster than one request per session), and loads it into two fresh tables in
one Azurite. Our sweep runs on one, the naive sweep (scan the whole table with every property, then delete
the expired entities one request each) on the other. Both clients count every HTTP response they get, so
the request counts come from the same instrument. After each sweep the table must hold exactly the live
sessions. Figures are medians over the runs; ratios are taken within each run.

    .venv/bin/python bench/bench_sweep.py [--runs 3] [--expired 10000] [--live 10000] [--added-latency-ms 0]
                                          [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.data.tables import TableClient

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from azurite import Azurite  # noqa: E402
from usermapper.compression import CompressingWriter, compress  # noqa: E402
from usermapper.config import read_config  # noqa: E402
from usermapper.credentials import credentials_csv  # noqa: E402
from usermapper.expand import expand  # noqa: E402
from usermapper.store import CLIENT_OPTIONS, KEYS, TRANSACTION_LIMIT, SessionStore  # noqa: E402
from usermapper.xmlwriter import write_user_mapping  # noqa: E402

LIFETIME = timedelta(hours=1)
EXPIRED_SPAN = timedelta(hours=10)  # expired sessions were created up to this long before expiring
EXPIRED_MARGIN = timedelta(minutes=1)  # ... and expired at least this long before the dataset was built
LIVE_SPAN = timedelta(minutes=50)  # live sessions were created within this span, so none expires in a run
CONFIG = ROOT / "examples" / "classroom.yaml"
TARGET_REQUEST_RATIO = 50
TARGET_SPEEDUP = 10


class EntityRecorder:
    """Stands where ``SessionStore`` expects its TableClient and keeps each entity ``save`` would write."""

    def __init__(self):
        self.entities: list[dict] = []

    def create_table(self) -> None:
        pass

    def upsert_entity(self, entity: dict, **options) -> None:
        self.entities.append(entity)


class Counted:
    """A TableClient whose every HTTP response (pages, deletes, transactions, retries) is counted.

    ``added_latency`` seconds are slept before each request is sent: a stand-in for the network between a
    function and a real storage account, which loopback Azurite does not have.
    """

    def __init__(self, connection_string: str, table: str, added_latency: float = 0.0):
        self.responses = 0
        self.added_latency = added_latency
        self.client = TableClient.from_connection_string(
            connection_string, table, raw_request_hook=self._delay, raw_response_hook=self._count,
            **CLIENT_OPTIONS)

    def _delay(self, request) -> None:
        if self.added_latency:
            time.sleep(self.added_latency)

    def _count(self, response) -> None:
        self.responses += 1


def session_entities(expired: int, live: int, seed: int) -> tuple[list[dict], set[str]]:
    """Entities of ``expired`` expired and ``live`` live sessions, and the RowKeys of the live ones."""
    mapping = expand(read_config(CONFIG.read_bytes()))
    writer = CompressingWriter()
    write_user_mapping(mapping, writer)
    xml, credentials = writer.finish(), compress(credentials_csv(mapping))
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    recorder = EntityRecorder()
    created_at = [now - LIFETIME - EXPIRED_MARGIN - EXPIRED_SPAN * rng.random() for _ in range(expired)]
    created_at += [now - LIVE_SPAN * rng.random() for _ in range(live)]
    for created in created_at:
        store = SessionStore(recorder, LIFETIME, clock=lambda created=created: created)
        store.save(xml, credentials, mapping.user_count, mapping.connection_count, summary=compress(b"{}"))
    live_rows = {entity["RowKey"] for entity in recorder.entities[expired:]}
    return recorder.entities, live_rows


def load_table(connection_string: str, entities: list[dict]) -> str:
    """A fresh table holding these entities, inserted in transactions of one partition; its name."""
    name = f"sweep{uuid.uuid4().hex}"
    table = TableClient.from_connection_string(connection_string, name)
    table.create_table()
    by_partition: dict[str, list[dict]] = {}
    for entity in entities:
        by_partition.setdefault(entity["PartitionKey"], []).append(entity)
    for partition_entities in by_partition.values():
        for start in range(0, len(partition_entities), TRANSACTION_LIMIT):
            table.submit_transaction([("create", e) for e in partition_entities[start:start + TRANSACTION_LIMIT]])
    return name


def remaining_rows(connection_string: str, name: str) -> set[str]:
    table = TableClient.from_connection_string(connection_string, name)
    return {entity["RowKey"] for entity in table.list_entities(select=KEYS)}


def our_sweep(connection_string: str, name: str, added_latency: float) -> dict:
    counted = Counted(connection_string, name, added_latency)
    store = SessionStore(counted.client, LIFETIME)
    begin = time.perf_counter()
    report = store.sweep()
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "requests": counted.responses, "reported_requests": report.requests,
            "deleted": report.deleted}


def naive_sweep(connection_string: str, name: str, added_latency: float) -> dict:
    """Scan the whole table, every property, then delete each expired entity with a request of its own."""
    counted = Counted(connection_string, name, added_latency)
    begin = time.perf_counter()
    now = datetime.now(timezone.utc)
    expired = [e for e in counted.client.list_entities() if e["ExpiresAt"] <= now]
    for entity in expired:
        counted.client.delete_entity(entity["PartitionKey"], entity["RowKey"])
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "requests": counted.responses, "deleted": len(expired)}


def one_run(connection_string: str, expired: int, live: int, seed: int, added_latency: float) -> dict:
    entities, live_rows = session_entities(expired, live, seed)
    result = {"partitions": len({e["PartitionKey"] for e in entities})}
    for label, sweep in (("ours", our_sweep), ("naive", naive_sweep)):
        name = load_table(connection_string, entities)
        figures = sweep(connection_string, name, added_latency)
        left = remaining_rows(connection_string, name)
        figures["live_left"] = len(left & live_rows)
        figures["exactly_live_left"] = left == live_rows
        TableClient.from_connection_string(connection_string, name).delete_table()
        result[label] = figures
    result["request_ratio"] = result["naive"]["requests"] / result["ours"]["requests"]
    result["speedup"] = result["naive"]["seconds"] / result["ours"]["seconds"]
    result["break_even_latency_ms"] = break_even_latency(result) * 1000
    return result


def break_even_latency(run: dict) -> float:
    """The latency per request (s), on top of this run's, at which ours would be TARGET_SPEEDUP times faster.

    Each sweep's time grows by one latency per request it makes; 0 if the target is already met.
    """
    ours, naive = run["ours"], run["naive"]
    needed = TARGET_SPEEDUP * ours["seconds"] - naive["seconds"]
    return max(0.0, needed / (naive["requests"] - TARGET_SPEEDUP * ours["requests"]))


def summary(runs: list[dict], expired: int, live: int) -> dict:
    def median(*path: str) -> float:
        values = []
        for run in runs:
            value = run
            for key in path:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    result = {"expired": expired, "live": live, "runs": len(runs), "partitions": median("partitions")}
    for label in ("ours", "naive"):
        result[label] = {key: median(label, key) for key in runs[0][label] if key != "exactly_live_left"}
        result[label]["exactly_live_left"] = all(run[label]["exactly_live_left"] for run in runs)
    result["request_ratio"] = median("request_ratio")
    result["speedup"] = median("speedup")
    result["break_even_latency_ms"] = median("break_even_latency_ms")
    result["request_target_met"] = min(run["request_ratio"] for run in runs) >= TARGET_REQUEST_RATIO
    result["speed_target_met"] = min(run["speedup"] for run in runs) >= TARGET_SPEEDUP
    result["per_run"] = runs
    return result


def main() -> int:
    arguments = parser().parse_args()
    runs = []
    began = time.perf_counter()
    with Azurite() as storage:
        for run in range(arguments.runs):
            runs.append(one_run(storage.connection_string, arguments.expired, arguments.live, seed=run,
                                added_latency=arguments.added_latency_ms / 1000))
            print(f"run {run + 1}/{arguments.runs}: {json.dumps(runs[-1])}", file=sys.stderr)
    result = summary(runs, arguments.expired, arguments.live)
    result["added_latency_ms"] = arguments.added_latency_ms
    result["wall_seconds"] = time.perf_counter() - began
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    intact = all(result[label]["exactly_live_left"] for label in ("ours", "naive"))
    return 0 if intact else 1


def report(result: dict) -> None:
    print(f"{result['expired']:,} expired and {result['live']:,} live sessions in {result['partitions']:.0f} "
          f"hour buckets; medians of {result['runs']} runs")
    for label in ("ours", "naive"):
        figures = result[label]
        print(f"{label:>5}: {figures['seconds']:7.2f} s, {figures['requests']:6.0f} requests, deleted "
              f"{figures['deleted']:,.0f}, live left {figures['live_left']:,.0f}, exactly the live left: "
              f"{figures['exactly_live_left']}")
    print(f"naive/ours: {result['request_ratio']:.0f}x the requests, {result['speedup']:.1f}x the time; "
          f"{TARGET_SPEEDUP}x would take {result['break_even_latency_ms']:.1f} ms more per request")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh dataset (default 3)")
    parser.add_argument("--expired", type=int, default=10_000, help="expired sessions (default 10,000)")
    parser.add_argument("--live", type=int, default=10_000, help="live sessions (default 10,000)")
    parser.add_argument("--added-latency-ms", type=float, default=0.0,
                        help="sleep this long before every storage request of both sweeps (default 0)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    sys.exit(main())
