"""The session store: each generated file kept for a while in one Azure Table Storage entity.

Layout (docs/architecture.md, "The storage layout"): one table per expiry hour, ``<prefix><YYYYMMDDHH>``
(the UTC hour in which its sessions expire; the prefix is the table setting), each session under the keys
its token names (``session_keys.py``), so a download is a point read in a known table. The sweep lists
the prefix's tables and deletes each whose hour has wholly passed: a handful of requests however many
sessions expired. What one entity holds is ``session_entity.py``'s.

Every entity carries ``SchemaVersion``; one written under another layout (or missing a property this
version reads) is treated as no session at all, so the user is told to generate the file again; a token
of an older layout names no table at all. A session that ends or is replaced becomes a *tombstone*, in
the same table under the same keys: ``State`` (``ended`` or ``replaced``), the token that replaced it,
and no file. Tombstones are written with conditional requests, so when two requests from one browser race
(two Generates, or Generate and Start over) exactly one wins, and no file is left alive that the
browser's cookie does not name. They go with their table.

The cookie (``session_keys.py``) holds the token, the session's secret and its version (the entity's ETag):
an upload that replaces a file of the same hour rewrites that entity in place, ``If-Match`` the version,
with a new secret, so a cookie from before the upload (or planted before it) reads nothing ("Two storage
requests a flow" in docs/architecture.md).
"""

from __future__ import annotations

import enum
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from .compression import Compressed
from .session_entity import SCHEMA_VERSION, STORED_BYTES_LIMIT, Session, session_from, session_properties
from .session_keys import (
    HOUR_FORMAT,
    LAST_HOUR,
    Cookie,
    Location,
    keyed,
    locate,
    new_secret,
    new_token,
    parse_cookie,
    table_name,
)
from .settings import Settings
from .storage import StorageUnavailable, service_client, storage_errors

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
CLI_HINT = "python -m usermapper -i lab.yaml -o user-mapping.xml"
ENDED, REPLACED = "ended", "replaced"
TOMBSTONE_PROPERTIES = ["State", "Successor"]
RETIRE_ATTEMPTS = 5  # conditional writes lost to a concurrent change before storage counts as unusable
KEPT_TABLE_CLIENTS = 8  # the hours' table clients kept at once (sessions of a few hours are in use)
MAX_SUCCESSORS = 16  # how far Start over follows sessions that replaced each other while it ran


class Retired(enum.Enum):
    """How a conditional tombstone write with a cookie's version went."""

    DONE = "the session is retired"
    CHANGED = "the session changed since the cookie's version"
    MISSING = "no entity under the token"
    UNKNOWN = "no version to write over (none in the cookie, or one storage cannot read)"


class SessionReplaced(Exception):
    """The session an upload was to replace was replaced or ended meanwhile, by another request from the
    same browser; nothing of the upload is kept."""


class SessionTooLarge(Exception):
    """The compressed file and credentials do not fit one entity; refused before any request."""

    def __init__(self, xml_size: int, stored_bytes: int, limit: int = STORED_BYTES_LIMIT):
        super().__init__(
            f"The generated file is {xml_size:,} bytes; compressed together with its credentials it still "
            f"takes {stored_bytes:,} bytes, more than the {limit:,} bytes a session can keep. "
            f"For a lab this big use the command line: {CLI_HINT}"
        )
        self.xml_size = xml_size
        self.stored_bytes = stored_bytes
        self.limit = limit


@dataclass(frozen=True)
class SweepReport:
    """The tables one sweep deleted (each one past hour's sessions and tombstones), its requests, and the
    tables it made for the coming hours' saves."""

    tables: tuple[str, ...]
    requests: int
    made: tuple[str, ...] = ()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SessionStore:
    """Sessions in one table per expiry hour, each table created by the first save of its hour.

    A method per thing a route does to a session (save, load, replace, end, delete, sweep, ping) and the
    few they share; the layout they keep to is the module's docstring. Safe to share between threads.
    ``prefix`` is the table setting (``Settings.table_name``).
    """

    def __init__(self, service: TableServiceClient, prefix: str, lifetime: timedelta,
                 clock: Callable[[], datetime] = utc_now):
        """``clock`` returns the timezone-aware current time; tests pass one they can move."""
        self._service = service
        self._prefix = prefix
        self._lifetime = lifetime
        self._clock = clock
        self._tables: dict[str, TableClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], datetime] = utc_now) -> "SessionStore":
        return cls(service_client(settings.storage), settings.table_name, settings.session_lifetime, clock)

    def save(self, xml: Compressed, credentials: Compressed, users: int, connections: int, *,
             summary: Compressed, imported: Compressed | None = None, replacing: str | None = None) -> Session:
        """Store a new file, wholly or not at all. ``replacing`` is the cookie of the session it replaces
        (the browser's previous file); of two uploads racing with one cookie exactly one replaces it, and
        the other raises ``SessionReplaced`` keeping nothing.

        One request when the cookie carries its secret and version and the new file expires in the same
        hour as the old: the entity is rewritten in place, with a new secret. Otherwise the file gets a new
        token and the old session becomes a tombstone naming it: two requests, or more for a cookie without
        a version or naming nothing (docs/architecture.md, "Two storage requests a flow").
        Raises SessionTooLarge, before any request, when the compressed data cannot fit one entity.
        """
        import_zstd = imported.data if imported is not None else b""
        files = (xml.data, credentials.data, summary.data, import_zstd)
        stored_bytes = sum(len(file) for file in files)
        if stored_bytes > STORED_BYTES_LIMIT:
            raise SessionTooLarge(xml.size, stored_bytes)
        created = self._clock().astimezone(timezone.utc)
        expires = created + self._lifetime
        secret = new_secret()
        entity = session_properties(secret=secret, created=created, expires=expires, users=users,
                                    connections=connections, xml=xml, files=files)
        cookie = parse_cookie(replacing) if replacing else None
        with storage_errors():
            etag = self._rewrite(cookie, expires, entity) if cookie else None
            token = cookie.token if etag else new_token(expires)
            if etag is None:
                etag = self._write(self._table(locate(self._prefix, token)), keyed(entity, token))
                if cookie:
                    self._retire_replaced(cookie, token)
        return Session(token=token, created=created, expires=expires, users=users, connections=connections,
                       xml_size=xml.size, xml_sha256=xml.sha256, xml_zstd=xml.data, summary_zstd=summary.data,
                       credentials_zstd=credentials.data, import_zstd=import_zstd, secret=secret, etag=etag)

    def load(self, cookie: str) -> Session | None:
        """The session, or None if the cookie is malformed, unknown, expired (exactly at ExpiresAt), ended,
        replaced (in place too: its secret is no longer the file's), swept with its table, or stored under a
        layout this version cannot read."""
        parsed = parse_cookie(cookie)
        entity = self._live_entity(parsed.token) if parsed.secret else None
        if entity is None or entity.get("State") or not hmac.compare_digest(
                str(entity.get("Secret")).encode(), parsed.secret.encode()):  # as str, only ASCII compares
            return None
        try:
            return session_from(parsed.token, entity)
        except (KeyError, TypeError, ValueError, RecursionError) as error:  # RecursionError: Facts nested deep
            log.warning("session stored under schema version %s cannot be read (%r): treated as gone",
                        entity.get("SchemaVersion", 1), error)
            return None

    def end(self, cookie: str) -> None:
        """End the session now, with what replaced it meanwhile (a Generate that raced this Start over,
        rewriting it in place or naming its successor in a tombstone): afterwards none of them holds a
        file. Ending twice is not an error. A cookie with the session's version ends it in one conditional
        write. Only the token counts here, not the secret: ending a file shows nobody anything. A token
        that names no entity (made up, expired and swept, or deleted) is left as it is: nothing is written
        for it, so a request cannot make storage writes by naming tokens. (A Generate racing this call
        with that token as its cookie claims it with its own tombstone, as for any token that names
        nothing: if that came first, this call finds it and ends the new session too; if this call came
        first, its answer went out before the Generate's, whose cookie then names the new session.)"""
        parsed = parse_cookie(cookie)
        if self._retire_known_version(parsed, ENDED) in (Retired.DONE, Retired.MISSING):
            return
        token = parsed.token
        for _ in range(MAX_SUCCESSORS):
            found = self._retire(token, ENDED, only_existing=True)
            if found is None or found.get("State") != REPLACED:
                return
            token = found.get("Successor", "")

    def delete(self, token: str) -> None:
        """Remove the entity now, leaving no tombstone: for a session no cookie names. Deleting twice, a
        token that names nothing, or one whose table was swept, is not an error."""
        where = locate(self._prefix, token)
        if where is None:
            return
        with storage_errors():
            self._table(where).delete_entity(where.partition, where.row)  # the SDK ignores a 404

    def sweep(self) -> SweepReport:
        """Delete each of the prefix's tables whose hour has wholly passed, and nothing else; and make the
        tables the next hour's saves will use, so that no upload pays for making one.

        One query lists the tables (a page per 1,000), then one request deletes each past one: however
        many sessions expired. Safe to run concurrently and to interrupt: a table already gone (or already
        made) is fine, and the next run does what is left. Saves go only to hours not yet over, so no save
        races a sweep. The old layout's single table (named the prefix itself) is deleted too: its
        sessions are no longer read, and must not keep their files.
        """
        now = self._clock().astimezone(timezone.utc)
        current_hour = now.strftime(HOUR_FORMAT)
        coming = {self._table_name(now + self._lifetime + ahead) for ahead in (timedelta(0), HOUR)}
        past, requests = [], 0
        with storage_errors():
            pages = self._service.query_tables("TableName ge @prefix and TableName le @last", parameters={
                "prefix": self._prefix, "last": self._prefix + LAST_HOUR}).by_page()
            for page in pages:
                requests += 1
                for table in page:
                    coming.discard(table.name)
                    if self._is_past(table.name, current_hour):
                        past.append(table.name)
            for name in past:
                requests += 1
                try:
                    self._service.delete_table(name)  # the SDK ignores a 404: another sweep got there first
                except ResourceExistsError:  # Azure's 409 TableBeingDeleted: another sweep's delete is under way
                    pass
            for name in sorted(coming):
                requests += 1
                try:
                    self._service.create_table(name)
                except ResourceExistsError:  # a save or another sweep made it meanwhile
                    pass
        report = SweepReport(tables=tuple(past), requests=requests, made=tuple(sorted(coming)))
        log.info("sweep deleted %d tables of expired sessions (%s) and made %d for coming hours in %d requests",
                 len(past), ", ".join(past) or "none past", len(coming), requests)
        return report

    def ping(self) -> None:
        """Return if storage answers a point read in this hour's table (there or not: either answer is
        storage's); raise StorageUnavailable if not."""
        with storage_errors():
            _entity(self._service.get_table_client(table_name(self._prefix, self._clock())), "ping", "ping")

    def _is_past(self, name: str, current_hour: str) -> bool:
        """A table of an hour before the current one, or the old layout's single table."""
        hour = name[len(self._prefix):]
        return name == self._prefix or (name.startswith(self._prefix) and len(hour) == len(current_hour)
                                         and hour.isdigit() and hour < current_hour)

    def _table(self, where: Location) -> TableClient:
        """The hour's table client, kept: making one costs a tenth of a millisecond, and a flow asks for
        its hour's three or four times. The few hours in use at once are kept; more clears the lot."""
        table = self._tables.get(where.table)
        if table is None:
            if len(self._tables) >= KEPT_TABLE_CLIENTS:
                self._tables.clear()
            table = self._tables[where.table] = self._service.get_table_client(where.table)
        return table

    def _retire(self, token: str, state: str, successor: str = "", *, only_existing: bool = False) -> dict | None:
        """Turn the token's entity into a tombstone saying ``state``, unless it already is one.

        Returns None when this call wrote the tombstone, or the tombstone another request wrote first.
        The write is conditional (insert if absent, replace if unchanged since read), so of two racing
        calls exactly one wins. The tombstone expires with its table, at the end of the token's hour.
        A malformed token, or one whose table was swept, names nothing to retire: None; with
        ``only_existing``, so does a token whose entity is not there (nothing is written).
        """
        where = locate(self._prefix, token)
        if where is None:
            return None
        table = self._table(where)
        tombstone = self._tombstone(where, state, successor)
        with storage_errors():
            for _ in range(RETIRE_ATTEMPTS):
                entity = _entity(table, where.partition, where.row, TOMBSTONE_PROPERTIES)  # and the etag: not the file
                if entity is not None and entity.get("State"):
                    return entity
                if entity is None and only_existing:
                    return None
                try:
                    _write_tombstone(table, tombstone, entity)
                    return None
                except (ResourceExistsError, ResourceModifiedError):
                    continue
                except ResourceNotFoundError as error:
                    if _table_missing(error):
                        return None
                    continue  # the entity was deleted between reading and replacing it: read again
        raise StorageUnavailable("the session kept changing under concurrent requests", retry_after=1)

    def _rewrite(self, cookie: Cookie, expires: datetime, entity: dict) -> str | None:
        """Rewrite the cookie's session in place, conditional on the version the cookie carries: the new
        ETag; None when this cannot be done in one request (no secret or version, another hour's table,
        nothing there, a version storage cannot read), so that the file gets a token of its own. Raises
        SessionReplaced when another request replaced or ended the session first."""
        where = locate(self._prefix, cookie.token)
        if not (cookie.secret and cookie.etag) or where is None or where.table != self._table_name(expires):
            return None
        table, rewritten = self._table(where), keyed(entity, cookie.token)
        try:
            return _update_if_unchanged(table, rewritten, cookie.etag)
        except ResourceModifiedError:
            pass
        except ResourceNotFoundError:  # expired and swept, ended and deleted, or made up: nothing to replace
            return None
        except HttpResponseError as error:
            if error.status_code == 400:  # a version storage cannot read (a cookie edited by hand)
                return None
            raise
        found = _entity(table, where.partition, where.row, ["Secret", "State"])
        if found is None or found.get("State"):  # ended meanwhile, or replaced under a new token
            raise SessionReplaced()
        if found.get("Secret") == entity["Secret"]:  # this very write, sent again after its answer was lost
            return found.metadata["etag"]
        if found.get("Secret") != cookie.secret:  # another upload rewrote it first
            raise SessionReplaced()
        try:  # still the cookie's own file, written since by something other than an upload: over that
            return _update_if_unchanged(table, rewritten, found.metadata["etag"])
        except ResourceModifiedError:
            raise SessionReplaced() from None

    def _retire_replaced(self, cookie: Cookie, successor: str) -> None:
        """Make the replaced session a tombstone naming ``successor``, which is already written; if another
        request replaced or ended it first, or storage fails, delete ``successor`` (no cookie will name it)
        and raise SessionReplaced or StorageUnavailable.

        With the cookie's version the tombstone goes only over that version: if the session changed since,
        another request (an upload rewriting it in place, or Start over) won, unless the tombstone found is
        this upload's own, written by a request the SDK sent again. Without a version, it is read first."""
        try:
            outcome = self._retire_known_version(cookie, REPLACED, successor)
            if outcome is Retired.CHANGED:
                where = locate(self._prefix, cookie.token)
                found = _entity(self._table(where), where.partition, where.row, TOMBSTONE_PROPERTIES) or {}
            elif outcome in (Retired.UNKNOWN, Retired.MISSING):
                found = self._retire(cookie.token, REPLACED, successor) or {"Successor": successor}
            else:
                found = {"Successor": successor}
            if found.get("Successor") != successor:
                raise SessionReplaced()
        except (SessionReplaced, StorageUnavailable):
            where = locate(self._prefix, successor)
            try:
                with storage_errors():
                    self._table(where).delete_entity(where.partition, where.row)
            except StorageUnavailable:
                log.warning("could not drop a session no cookie names; it will expire")
            raise

    def _retire_known_version(self, cookie: Cookie, state: str, successor: str = "") -> "Retired":
        """One conditional write, with the version the cookie carries (``Retired`` says how it went)."""
        where = locate(self._prefix, cookie.token)
        if where is None or cookie.etag is None:
            return Retired.UNKNOWN
        try:
            with storage_errors():
                _update_if_unchanged(self._table(where), self._tombstone(where, state, successor), cookie.etag)
            return Retired.DONE
        except ResourceModifiedError:
            return Retired.CHANGED
        except ResourceNotFoundError:
            return Retired.MISSING
        except HttpResponseError as error:
            if error.status_code == 400:  # a version storage cannot read (a cookie edited by hand)
                return Retired.UNKNOWN
            raise

    def _tombstone(self, where: Location, state: str, successor: str = "") -> dict:
        return {"PartitionKey": where.partition, "RowKey": where.row, "SchemaVersion": SCHEMA_VERSION,
                "State": state, "Successor": successor, "ExpiresAt": where.hour + HOUR}

    def _table_name(self, expires: datetime) -> str:
        return table_name(self._prefix, expires)

    def _live_entity(self, token: str) -> dict | None:
        where = locate(self._prefix, token)
        if where is None:
            return None
        with storage_errors():
            entity = _entity(self._table(where), where.partition, where.row)
        expires = entity.get("ExpiresAt") if entity is not None else None
        if not isinstance(expires, datetime) or self._clock() >= expires:
            return None
        return entity

    @staticmethod
    def _write(table: TableClient, entity: dict) -> str:
        """Upsert, so that the SDK's retry after a lost response cannot fail on the entity it just wrote;
        returns its ETag.

        A save that finds no table (the sweep makes each hour's ahead of time, but it may not have run
        yet) creates it (a conflict means another save just did) and writes again. The same brings the
        table back after an emulator restarted without persistence.
        """
        try:
            return table.upsert_entity(entity, mode=UpdateMode.REPLACE)["etag"]
        except ResourceNotFoundError:
            pass
        try:
            table.create_table()
        except ResourceExistsError:
            pass
        try:
            return table.upsert_entity(entity, mode=UpdateMode.REPLACE)["etag"]
        except ResourceNotFoundError as error:  # Azure's "being deleted", seconds after a delete
            raise StorageUnavailable(f"the table {table.table_name} is not there yet", retry_after=1) from error


def _entity(table: TableClient, partition: str, row: str, select: list[str] | None = None) -> dict | None:
    """The entity (only the ``select`` properties, and its etag, when given), or None when it or its
    whole table is not there."""
    try:
        return table.get_entity(partition, row, select=select)
    except ResourceNotFoundError:
        return None


def _update_if_unchanged(table: TableClient, entity: dict, etag: str) -> str:
    """Replace the entity if its version is still ``etag``; its new ETag."""
    return table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                               match_condition=MatchConditions.IfNotModified)["etag"]


def _write_tombstone(table: TableClient, tombstone: dict, current: dict | None) -> None:
    if current is None:
        table.create_entity(tombstone)
    else:
        _update_if_unchanged(table, tombstone, current.metadata["etag"])


def _table_missing(error: ResourceNotFoundError) -> bool:
    """True if the 404 says the table is not there (rather than the entity)."""
    return error.response is not None and error.response.headers.get("x-ms-error-code") == "TableNotFound"
