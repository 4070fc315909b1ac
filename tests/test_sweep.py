"""The sweep against a real Azurite: sessions are saved at chosen times by moving the store's clock.

The store's sessions last one hour, so a session saved at 13:20 expires at 14:20 and lives in the table
of hour 14. Unless a test says otherwise it sweeps at 15:30, when the tables up to hour 14 have wholly
passed and the table of hour 15 holds sessions that expired (at 15:10) beside live ones (till 15:50).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from azure.data.tables import TableServiceClient

from usermapper.web.compression import compress
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.storage import CLIENT_OPTIONS
from usermapper.web.store import SessionStore

SWEEP_TIME = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)
XML = compress(b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping/>\n')
NO_CREDENTIALS = compress(b"")


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2026, 11, 26, hour, minute, second, microsecond, tzinfo=timezone.utc)


def save_at(store, clock, when: datetime, count: int = 1) -> list[str]:
    """The cookies of ``count`` sessions saved at ``when``."""
    clock.now = when
    return [store.save(XML, NO_CREDENTIALS, 1, 1, summary=NO_CREDENTIALS).cookie for _ in range(count)]


def tokens(cookies: list[str]) -> set[str]:
    return {cookie.partition(".")[0] for cookie in cookies}


def hours(*hours: int) -> set[str]:
    return {f"20261126{hour:02d}" for hour in hours}


@pytest.fixture
def expired_and_live(store, clock):
    """Sessions in the tables of hours 11, 12, 14 (all expired) and 15 and 16 (expired and live at 15:30)."""
    expired = save_at(store, clock, at(10, 5), 3) + save_at(store, clock, at(11, 59), 2)
    expired += save_at(store, clock, at(13, 59, 59, 999999))  # the last moment of the last wholly past hour
    in_current_hour = save_at(store, clock, at(14, 10))  # expired at 15:10: a 404, its table not yet past
    live = save_at(store, clock, at(14, 30, 0, 1)) + save_at(store, clock, at(14, 45))
    live += save_at(store, clock, at(15, 20))
    clock.now = SWEEP_TIME
    return expired, in_current_hour, live


def test_the_sweep_deletes_the_tables_of_past_hours_and_keeps_every_live_session(store, tables, table_name,
                                                                                 expired_and_live):
    expired, in_current_hour, live = expired_and_live
    assert tables.hours() == hours(11, 12, 14, 15, 16)

    report = store.sweep()

    assert set(report.tables) == {table_name + hour for hour in hours(11, 12, 14)}
    assert report.made == (table_name + "2026112617",)  # for saves until 16:30, which expire in hour 17
    assert report.requests == 1 + 3 + 1
    assert tables.hours() == hours(15, 16, 17)
    assert set(tables.entities()) == tokens(in_current_hour + live)
    assert all(store.load(cookie) is not None for cookie in live)
    assert all(store.load(cookie) is None for cookie in expired + in_current_hour)


def test_a_table_goes_exactly_when_its_hour_is_over(store, tables, clock):
    cookie, = save_at(store, clock, at(14, 10))  # expires 15:10, in the table of hour 15

    clock.now = at(15, 59, 59, 999999)
    assert store.sweep().tables == ()
    assert store.load(cookie) is None  # expired at 15:10 all the same: expiry is exact, sweep or not

    clock.now = at(16)
    assert len(store.sweep().tables) == 1
    assert tables.hours() == hours(16, 17, 18) and tables.entities() == {}


def test_a_second_sweep_finds_nothing_in_one_request(store, expired_and_live):
    store.sweep()

    report = store.sweep()

    assert report.tables == ()
    assert report.requests == 1  # the one page of the table listing


def test_requests_do_not_grow_with_the_sessions_swept(store, clock, tables):
    for hour in (8, 9, 10, 11, 12):
        save_at(store, clock, at(hour, 15), 200)
    live = save_at(store, clock, at(14, 40), 50)
    clock.now = SWEEP_TIME

    report = store.sweep()

    assert len(report.tables) == 5 and report.requests == 1 + 5 + 2  # and the tables of hours 16 and 17
    assert set(tables.entities()) == tokens(live)


def test_the_sweep_makes_the_coming_hours_tables_so_no_save_makes_one(azurite, table_name, tables, clock):
    """Saves from now until the next sweep (at most an hour on) expire in the hour of now plus the lifetime
    or the next: each such table is there before the first save of its hour, which is then one request."""
    sent: list[str] = []
    service = TableServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=lambda pipeline: sent.append(pipeline.http_request.method))
    store = SessionStore(service, table_name, timedelta(hours=1), clock)
    clock.now = at(15, 30)
    assert store.sweep().made == tuple(table_name + hour for hour in sorted(hours(16, 17)))
    for when in (at(15, 31), at(16, 5), at(16, 29)):
        sent.clear()
        save_at(store, clock, when)
        assert sent == ["PUT"]


def test_sessions_saved_under_a_longer_lifetime_outlive_a_shorter_one(store, clock, tables, azurite, table_name):
    settings = Settings(storage=StorageTarget(connection_string=azurite.connection_string), table_name=table_name,
                        session_lifetime=timedelta(hours=24))
    long_lived = SessionStore.from_settings(settings, clock=clock)
    kept = save_at(long_lived, clock, at(9))
    save_at(store, clock, at(9))
    clock.now = SWEEP_TIME

    assert len(store.sweep().tables) == 1
    assert set(tables.entities()) == tokens(kept)


def test_two_sweeps_at_once_delete_each_past_table_and_nothing_else(store, tables, table_name, expired_and_live):
    _, in_current_hour, live = expired_and_live
    start = threading.Barrier(2)

    def sweep():
        start.wait()
        return store.sweep()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: sweep(), range(2)))

    assert set().union(*(report.tables for report in reports)) == {table_name + h for h in hours(11, 12, 14)}
    assert set(tables.entities()) == tokens(in_current_hour + live)


class Interrupted(Exception):
    """The sweep's process died here."""


def test_a_sweep_interrupted_after_one_table_is_finished_by_the_next(store, tables, table_name, azurite, clock,
                                                                     expired_and_live):
    """A sweep that dies after its first delete (a hook on the real pipeline raises, as a killed process
    stops), then a full sweep: every past table goes, every live session stays."""
    _, in_current_hour, live = expired_and_live
    responses = []

    def die_after_first_delete(response):
        responses.append(response.http_request.method)
        if responses.count("DELETE") == 1:
            raise Interrupted

    service = TableServiceClient.from_connection_string(azurite.connection_string, **CLIENT_OPTIONS,
                                                        raw_response_hook=die_after_first_delete)
    with pytest.raises(Interrupted):
        SessionStore(service, table_name, timedelta(hours=1), clock).sweep()
    assert tables.hours() == hours(12, 14, 15, 16)

    finished = store.sweep()

    assert set(finished.tables) == {table_name + h for h in hours(12, 14)}
    assert set(tables.entities()) == tokens(in_current_hour + live)


def test_a_sweep_whose_tables_another_deleted_meanwhile_does_not_fail(store, tables, table_name, azurite,
                                                                       expired_and_live):
    """Listed by this sweep, deleted by another before this one gets to them: a 404, which is fine."""
    _, in_current_hour, live = expired_and_live
    deleted_by_the_other = []

    def other_sweep_first(request):
        if request.http_request.method == "DELETE" and not deleted_by_the_other:
            deleted_by_the_other.extend(sorted(tables.names())[:3])
            for name in deleted_by_the_other:
                tables.service.delete_table(name)

    service = TableServiceClient.from_connection_string(azurite.connection_string, **CLIENT_OPTIONS,
                                                        raw_request_hook=other_sweep_first)
    report = SessionStore(service, table_name, timedelta(hours=1), lambda: SWEEP_TIME).sweep()

    assert len(report.tables) == 3 and len(deleted_by_the_other) == 3
    assert set(tables.entities()) == tokens(in_current_hour + live)


def test_the_one_table_of_the_old_layout_is_swept_and_look_alikes_are_kept(store, tables, table_name, clock):
    """The table named the prefix itself held every session before one table per hour; its sessions
    answer 404 since, and must not keep their files. Tables that only share the prefix are not ours."""
    others = [table_name + "2026112", table_name + "20261126101", table_name + "x2026112610",
              "a" + table_name + "2026112610"]
    for name in [table_name, *others]:
        tables.service.create_table(name)
    clock.now = SWEEP_TIME

    assert store.sweep().tables == (table_name,)
    remaining = {t.name for t in tables.service.list_tables()}
    assert set(others) <= remaining and table_name not in remaining
    for name in others:
        tables.service.delete_table(name)
