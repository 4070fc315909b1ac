"""Shared fixtures. Storage is always a real Azurite and the real azure-data-tables SDK, never a mock.

- ``azurite``: one Azurite for the whole run; every test gets its own table prefix in it (``table_name``),
  and ``tables`` to look at that prefix's tables straight through the SDK.
- ``private_azurite``: an Azurite of the test's own, for tests that stop storage and bring it back.
- ``clock``: a settable time; ``store`` reads it, so tests move time instead of waiting.
- ``app_url`` and ``app_host``: the app over HTTP. Every test that uses either runs once per host in
  ``apphost.HOSTS``: under devhost, and on Python 3.13 under Microsoft's worker library too (``served_by``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from apphost import HOSTS, AppHost, worker_library_missing
from azurite import Azurite
from pages import CHROMIUM_ARGS, DESKTOP, Watch
from playwright.sync_api import Browser, sync_playwright
from sessiontables import SessionTables
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.store import SessionStore

SESSION_LIFETIME = timedelta(hours=1)


class Clock:
    """A clock that stands still until a test sets or advances it. Call it for the current time."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def azurite():
    """The run's Azurite, started once and stopped at the end; use ``.connection_string``."""
    with Azurite() as storage:
        yield storage


@pytest.fixture
def private_azurite():
    """An Azurite for this test alone; it may ``stop()`` and ``start()`` it (data is lost on restart)."""
    with Azurite() as storage:
        yield storage


@pytest.fixture
def table_name() -> str:
    """A fresh, valid table prefix (letters and digits, starting with a letter) for each test."""
    return f"t{uuid.uuid4().hex}"


@pytest.fixture
def tables(azurite, table_name) -> SessionTables:
    """The test's session tables, seen through the SDK; deleted after the test to free Azurite's memory."""
    seen = SessionTables(azurite.connection_string, table_name)
    yield seen
    seen.drop()


@pytest.fixture
def clock() -> Clock:
    """Starts at a fixed time with microseconds, in the middle of an hour bucket."""
    return Clock(datetime(2026, 11, 26, 14, 17, 5, 123456, tzinfo=timezone.utc))


@pytest.fixture
def store(azurite, table_name, tables, clock) -> SessionStore:
    """A SessionStore on the test's tables, built from settings as the app builds it, with ``clock`` as
    its time and sessions that last ``SESSION_LIFETIME``."""
    settings = Settings(
        storage=StorageTarget(connection_string=azurite.connection_string),
        table_name=table_name,
        session_lifetime=SESSION_LIFETIME,
    )
    return SessionStore.from_settings(settings, clock=clock)


@pytest.fixture(scope="session", params=HOSTS)
def served_by(request) -> str:
    """The host the app runs under: ``devhost``, or ``worker`` (skipped where azure-functions-runtime is not
    installed). Session-scoped, so pytest runs every test under one host before the other."""
    missing = worker_library_missing() if request.param == "worker" else None
    if missing:
        pytest.skip(missing)
    return request.param


@pytest.fixture(scope="session")
def app_url(azurite, served_by):
    """The real app under ``served_by`` on a free port, backed by the run's Azurite; yields its base URL.

    One app per host for the whole run: every test that uses it makes its own sessions, as real clients do.
    """
    with AppHost(azurite.connection_string, table="endtoend", host=served_by) as app:
        yield app.url


@pytest.fixture(scope="session")
def app_host(served_by):
    """Starts an app of the test's own under ``served_by``: ``with app_host(storage, table=..., **settings) as app``."""

    def start(storage: str, table: str = "usermappings", **settings: str) -> AppHost:
        return AppHost(storage, table, host=served_by, **settings)

    return start


# -- the browser tests' pages (pages.py has what they share) --------------------------------------------

@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, app_url: str):
    """Opens the page in a fresh context (its own cookies); returns (page, watch)."""
    contexts = []

    def open_(viewport=DESKTOP, color_scheme="light", base_url=app_url, **options):
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme, accept_downloads=True,
                                      base_url=base_url, **options)
        contexts.append(context)
        watch = Watch()
        watch.attach(context)
        page = context.new_page()
        response = page.goto("/")
        assert response.ok
        return page, watch

    yield open_
    for context in contexts:
        context.close()
