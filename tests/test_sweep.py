"""The sweep against a real Azurite: sessions are saved at chosen times by moving the store's clock.

The store's sessions last one hour. Unless a test says otherwise it sweeps at 15:30, when the hour
buckets up to 13 have wholly expired and bucket 14 is the boundary: expired before 14:30, live after.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from usermapper.compression import compress
from usermapper.store import SessionStore

SWEEP_TIME = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)
XML = compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping/>\n')
NO_CREDENTIALS = compress(b"")


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2026, 11, 26, hour, minute, second, microsecond, tzinfo=timezone.utc)


def save_at(store, clock, when: datetime, count: int = 1) -> list[str]:
    clock.now = when
    return [store.save(XML, NO_CREDENTIALS, 1, 1, summary=NO_CREDENTIALS).token for _ in range(count)]


def stored_tokens(table_client) -> set[str]:
    return {f"{e['PartitionKey']}-{e['RowKey']}" for e in table_client.list_entities(select=["PartitionKey", "RowKey"])}


def test_sweep_deletes_expired_sessions_and_keeps_live_ones(store, clock, table_client):
    expired = (
        save_at(store, clock, at(10, 5), 3)  # a bucket that expired hours ago
        + save_at(store, clock, at(13, 59, 59, 999999))  # the last moment of the last wholly expired bucket
        + save_at(store, clock, at(14, 10))  # boundary bucket, expired at 15:10
        + save_at(store, clock, at(14, 29, 59, 999000))  # expired a millisecond before the sweep
    )
    live = (
        save_at(store, clock, at(14, 30, 0, 1))  # expires a microsecond after the sweep
        + save_at(store, clock, at(14, 30, 0, 999))  # expires in the same millisecond as the sweep
        + save_at(store, clock, at(14, 45))
        + save_at(store, clock, at(15, 20))
    )
    clock.now = SWEEP_TIME

    report = store.sweep()

    assert report.deleted == len(expired)
    assert stored_tokens(table_client) == set(live)
    assert all(store.load(token) is not None for token in live)


def test_a_second_sweep_finds_nothing(store, clock):
    save_at(store, clock, at(9), 5)
    clock.now = SWEEP_TIME
    store.sweep()

    report = store.sweep()

    assert report.deleted == 0
    assert report.requests == 2  # one page for each of the two queries


def test_sessions_saved_under_a_longer_lifetime_outlive_a_shorter_one(store, clock, table_client):
    long_lived = SessionStore(table_client, timedelta(hours=24), clock)
    kept = save_at(long_lived, clock, at(9))
    swept = save_at(store, clock, at(9))
    clock.now = SWEEP_TIME

    assert store.sweep().deleted == 1
    assert stored_tokens(table_client) == set(kept)
    assert set(swept).isdisjoint(stored_tokens(table_client))


def test_sessions_deleted_between_listing_and_deleting_are_skipped(store, clock, table_client):
    tokens = save_at(store, clock, at(11), 30) + save_at(store, clock, at(14, 5), 5)
    clock.now = SWEEP_TIME
    listed = store.list_expired()
    for token in tokens[::7]:  # users ending their sessions while the sweep runs
        store.delete(token)

    report = store.delete_keys(listed.rows)

    assert report.deleted == len(tokens) - len(tokens[::7])
    assert stored_tokens(table_client) == set()


def test_concurrent_sweeps_delete_each_session_once(store, clock, table_client):
    live = save_at(store, clock, at(15))
    save_at(store, clock, at(12), 150)
    save_at(store, clock, at(13), 150)
    clock.now = SWEEP_TIME
    listings = [store.list_expired(), store.list_expired()]  # both list everything before either deletes
    start = threading.Barrier(len(listings))

    def delete_listed(listing):
        start.wait()
        return store.delete_keys(listing.rows)

    with ThreadPoolExecutor(max_workers=len(listings)) as pool:
        reports = list(pool.map(delete_listed, listings))

    assert sum(report.deleted for report in reports) == 300
    assert stored_tokens(table_client) == set(live)


def test_an_interrupted_sweep_is_finished_by_the_next(store, clock, table_client):
    live = save_at(store, clock, at(15))
    save_at(store, clock, at(10), 250)
    save_at(store, clock, at(14), 20)
    clock.now = SWEEP_TIME
    listed = store.list_expired()
    first_partition = min(listed.rows)
    interrupted = store.delete_keys({first_partition: listed.rows[first_partition][:200]})

    finished = store.sweep()

    assert interrupted.deleted == 200
    assert finished.deleted == 70
    assert stored_tokens(table_client) == set(live)


def test_requests_grow_with_expired_sessions_by_the_hundred(store, clock, table_client):
    save_at(store, clock, at(8), 400)
    save_at(store, clock, at(9), 400)
    save_at(store, clock, at(14, 10), 200)
    live = save_at(store, clock, at(14, 40), 50)
    clock.now = SWEEP_TIME

    report = store.sweep()

    assert report.deleted == 1000
    assert 1000 // 100 <= report.requests <= 1000 // 100 + 4
    assert stored_tokens(table_client) == set(live)
