"""The sweep of expired sessions: ``SessionStore.sweep()`` beside a naive sweep, on identical tables.

Each run builds one dataset as ``SessionStore.save`` lays it out (one table per expiry hour; each entity is
captured from ``save`` and inserted 100 per transaction, which is much faster than one request per
session): ``--expired`` sessions that expired over the ``--past-hours`` hours before the current hour began
(a sweep that was down that long), and ``--live`` sessions created within the last 50 minutes, which expire
in this hour's table or the next one's. The dataset is loaded twice into one Azurite, under two table
prefixes. Our sweep runs on one, the naive sweep on the other: list the prefix's tables, query each for
its expired entities (keys only), delete them one request each. Both clients count every HTTP response
they get (a hook on the SDK's pipeline), so the request counts come from the same instrument. After each
sweep the tables must hold exactly the live sessions. Figures are medians over the runs; ratios are taken
within each run.

    .venv/bin/python bench/bench_sweep.py [--runs 3] [--expired 10000] [--live 10000] [--past-hours 6]
                                          [--added-latency-ms 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.core.exceptions import ServiceResponseError
from azure.data.tables import TableServiceClient

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from azurite import Azurite  # noqa: E402
from sessiontables import SessionTables  # noqa: E402
from usermapper.web.compression import CompressingWriter, compress  # noqa: E402
from usermapper.lab import read_config  # noqa: E402
from usermapper.outputs.credentials import credentials_sheet  # noqa: E402
from usermapper.lab.expand import expand  # noqa: E402
from usermapper.web.storage import CLIENT_OPTIONS  # noqa: E402
from usermapper.web.session_keys import LAST_HOUR  # noqa: E402
from usermapper.web.store import SessionStore  # noqa: E402
from usermapper.outputs.user_mapping import write_user_mapping  # noqa: E402

LIFETIME = timedelta(hours=1)
EXPIRED_MARGIN = timedelta(minutes=1)  # expired sessions expired at least this long before the hour began
LIVE_SPAN = timedelta(minutes=50)  # live sessions were created within this span, so none expires in a run
CONFIG = ROOT / "examples" / "classroom.yaml"
TRANSACTION_LIMIT = 100  # operations in one transaction (one PartitionKey)
TARGET_REQUESTS = 10
TARGET_SPEEDUP = 20


class EntityRecorder:
    """Stands where ``SessionStore`` expects its TableServiceClient and keeps each entity ``save`` would
    write, with the hour of its table."""

    def __init__(self):
        self.entities: list[tuple[str, dict]] = []

    def get_table_client(self, name: str) -> "EntityRecorder.Table":
        return self.Table(self, name)

    class Table:
        def __init__(self, recorder: "EntityRecorder", name: str):
            self.recorder, self.name = recorder, name

        def upsert_entity(self, entity: dict, **options) -> dict:
            """As the SDK's: the response's metadata, of which ``save`` keeps the ETag."""
            self.recorder.entities.append((self.name[-10:], entity))
            return {"etag": ""}


class Counted:
    """A TableServiceClient whose every HTTP response (pages, deletes, retries), on it and on each table
    client it hands out, is counted.

    ``added_latency`` seconds are slept before each request is sent: a stand-in for the network between a
    function and a real storage account, which loopback Azurite does not have.
    """

    def __init__(self, connection_string: str, added_latency: float = 0.0):
        self.responses = 0
        self.added_latency = added_latency
        self.service = TableServiceClient.from_connection_string(
            connection_string, raw_request_hook=self._delay, raw_response_hook=self._count, **CLIENT_OPTIONS)

    def _delay(self, request) -> None:
        if self.added_latency:
            time.sleep(self.added_latency)

    def _count(self, response) -> None:
        self.responses += 1


def session_entities(expired: int, live: int, past_hours: int, seed: int) -> tuple[list[tuple[str, dict]], set[str]]:
    """(hour, entity) of ``expired`` expired and ``live`` live sessions, and the RowKeys of the live ones."""
    mapping = expand(read_config(CONFIG.read_bytes()))
    writer = CompressingWriter()
    write_user_mapping(mapping, writer)
    xml, credentials = writer.finish(), compress(credentials_sheet(mapping).csv)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    past_span = timedelta(hours=past_hours) - EXPIRED_MARGIN
    created_at = [this_hour - EXPIRED_MARGIN - past_span * rng.random() - LIFETIME for _ in range(expired)]
    created_at += [now - LIVE_SPAN * rng.random() for _ in range(live)]
    recorder = EntityRecorder()
    for created in created_at:
        store = SessionStore(recorder, "x", LIFETIME, clock=lambda created=created: created)
        store.save(xml, credentials, mapping.user_count, mapping.connection_count, summary=compress(b"{}"))
    live_rows = {entity["RowKey"] for _, entity in recorder.entities[expired:]}
    return recorder.entities, live_rows


def load_tables(connection_string: str, entities: list[tuple[str, dict]]) -> str:
    """Fresh tables under a fresh prefix holding these entities, inserted in transactions of one
    partition; the prefix."""
    prefix = f"sweep{uuid.uuid4().hex[:12]}"
    service = TableServiceClient.from_connection_string(connection_string)
    batches: dict[tuple[str, str], list[dict]] = {}
    for hour, entity in entities:
        batches.setdefault((hour, entity["PartitionKey"]), []).append(entity)
    for hour in {hour for hour, _ in batches}:
        service.create_table(prefix + hour)

    def insert(key: tuple[str, str]) -> None:
        """Upserts, so that a transaction whose answer was lost (Azurite, loaded, resets a connection now
        and then) can be sent again."""
        table, group = service.get_table_client(prefix + key[0]), batches[key]
        for start in range(0, len(group), TRANSACTION_LIMIT):
            operations = [("upsert", e) for e in group[start:start + TRANSACTION_LIMIT]]
            try:
                table.submit_transaction(operations)
            except ServiceResponseError:
                table.submit_transaction(operations)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(insert, batches))
    return prefix


def remaining_rows(connection_string: str, prefix: str) -> set[str]:
    return {entity["RowKey"] for entity in SessionTables(connection_string, prefix).entities().values()}


def our_sweep(connection_string: str, prefix: str, added_latency: float) -> dict:
    counted = Counted(connection_string, added_latency)
    store = SessionStore(counted.service, prefix, LIFETIME)
    begin = time.perf_counter()
    report = store.sweep()
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "requests": counted.responses, "reported_requests": report.requests,
            "tables_deleted": len(report.tables)}


def naive_sweep(connection_string: str, prefix: str, added_latency: float) -> dict:
    """List the prefix's tables, query each for its expired entities, delete each with a request of its own."""
    counted = Counted(connection_string, added_latency)
    begin = time.perf_counter()
    now = datetime.now(timezone.utc)
    deleted = 0
    for table in counted.service.query_tables("TableName ge @prefix and TableName le @last",
                                              parameters={"prefix": prefix, "last": prefix + LAST_HOUR}):
        client = counted.service.get_table_client(table.name)
        expired = list(client.query_entities("ExpiresAt lt @now", parameters={"now": now},
                                             select=["PartitionKey", "RowKey"], results_per_page=1000))
        for entity in expired:
            client.delete_entity(entity["PartitionKey"], entity["RowKey"])
        deleted += len(expired)
    seconds = time.perf_counter() - begin
    return {"seconds": seconds, "requests": counted.responses, "sessions_deleted": deleted}


def delete_largest_ms(connection_string: str, prefix: str, entities: list[tuple[str, dict]]) -> float:
    """How long Azurite takes to delete the dataset's largest table (a live one, left by the sweep): what
    a sweep's delete would cost if a past hour held that many sessions."""
    hours = [hour for hour, _ in entities]
    largest = max(set(hours), key=hours.count)
    service = TableServiceClient.from_connection_string(connection_string)
    begin = time.perf_counter()
    service.delete_table(prefix + largest)
    return (time.perf_counter() - begin) * 1000


def one_run(connection_string: str, expired: int, live: int, past_hours: int, seed: int,
            added_latency: float) -> dict:
    entities, live_rows = session_entities(expired, live, past_hours, seed)
    hours = {hour for hour, _ in entities}
    result = {"tables": len(hours), "largest_table": max(sum(h == hour for h, _ in entities) for hour in hours)}
    for label, sweep in (("ours", our_sweep), ("naive", naive_sweep)):
        prefix = load_tables(connection_string, entities)
        figures = sweep(connection_string, prefix, added_latency)
        left = remaining_rows(connection_string, prefix)
        figures["live_left"] = len(left & live_rows)
        figures["exactly_live_left"] = left == live_rows
        if label == "ours":
            result["largest_table_delete_ms"] = delete_largest_ms(connection_string, prefix, entities)
        SessionTables(connection_string, prefix).drop()
        result[label] = figures
    result["request_ratio"] = result["naive"]["requests"] / result["ours"]["requests"]
    result["speedup"] = result["naive"]["seconds"] / result["ours"]["seconds"]
    return result


def summary(runs: list[dict], expired: int, live: int, past_hours: int) -> dict:
    def median(*path: str) -> float:
        values = []
        for run in runs:
            value = run
            for key in path:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    result = {"expired": expired, "live": live, "past_hours": past_hours, "runs": len(runs),
              "tables": median("tables"), "largest_table": median("largest_table"),
              "largest_table_delete_ms": median("largest_table_delete_ms")}
    for label in ("ours", "naive"):
        result[label] = {key: median(label, key) for key in runs[0][label] if key != "exactly_live_left"}
        result[label]["exactly_live_left"] = all(run[label]["exactly_live_left"] for run in runs)
    result["request_ratio"] = median("request_ratio")
    result["speedup"] = median("speedup")
    result["request_target_met"] = max(run["ours"]["requests"] for run in runs) <= TARGET_REQUESTS
    result["speed_target_met"] = min(run["speedup"] for run in runs) >= TARGET_SPEEDUP
    result["per_run"] = runs
    return result


def main() -> int:
    arguments = parser().parse_args()
    runs = []
    began = time.perf_counter()
    with Azurite() as storage:
        for run in range(arguments.runs):
            runs.append(one_run(storage.connection_string, arguments.expired, arguments.live, arguments.past_hours,
                                seed=run, added_latency=arguments.added_latency_ms / 1000))
            print(f"run {run + 1}/{arguments.runs}: {json.dumps(runs[-1])}", file=sys.stderr)
    result = summary(runs, arguments.expired, arguments.live, arguments.past_hours)
    result["added_latency_ms"] = arguments.added_latency_ms
    result["wall_seconds"] = time.perf_counter() - began
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    intact = all(result[label]["exactly_live_left"] for label in ("ours", "naive"))
    return 0 if intact else 1


def report(result: dict) -> None:
    print(f"{result['expired']:,} expired sessions over {result['past_hours']} past hours and {result['live']:,} "
          f"live ones, in {result['tables']:.0f} tables (the largest, {result['largest_table']:,.0f} sessions, is "
          f"deleted in {result['largest_table_delete_ms']:.1f} ms); medians of {result['runs']} runs")
    ours, naive = result["ours"], result["naive"]
    print(f"ours:  {ours['seconds'] * 1000:8.1f} ms, {ours['requests']:6.0f} requests, deleted "
          f"{ours['tables_deleted']:.0f} tables, live left {ours['live_left']:,.0f}, exactly the live left: "
          f"{ours['exactly_live_left']}")
    print(f"naive: {naive['seconds'] * 1000:8.1f} ms, {naive['requests']:6.0f} requests, deleted "
          f"{naive['sessions_deleted']:,.0f} sessions, live left {naive['live_left']:,.0f}, exactly the live left: "
          f"{naive['exactly_live_left']}")
    print(f"naive/ours: {result['request_ratio']:.0f}x the requests, {result['speedup']:.0f}x the time "
          f"(targets: ours at most {TARGET_REQUESTS} requests, at least {TARGET_SPEEDUP}x faster)")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh dataset (default 3)")
    parser.add_argument("--expired", type=int, default=10_000, help="expired sessions (default 10,000)")
    parser.add_argument("--live", type=int, default=10_000, help="live sessions (default 10,000)")
    parser.add_argument("--past-hours", type=int, default=6,
                        help="hours before this one over which the expired sessions expired (default 6)")
    parser.add_argument("--added-latency-ms", type=float, default=0.0,
                        help="sleep this long before every storage request of both sweeps (default 0)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    sys.exit(main())
