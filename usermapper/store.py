"""The session store: each generated file kept for a while in one Azure Table Storage entity.

Layout (docs/architecture.md, "The storage layout"): PartitionKey is the UTC hour the session was created in
(``YYYYMMDDHH``), RowKey a random UUID4 in hex; the session token carries both, so a download is a point
read and the sweep finds whole expired hours with one range query. The compressed XML, credentials and
summary, and the lab as Guacamole's import entries (``Import``, the other formats are written from it on
download), are split into binary properties of at most 64 KiB (``Xml0``.., ``Credentials0``..).

Every entity carries ``SchemaVersion``; one written under another layout (or missing a property this
version reads) is treated as no session at all, so the user is told to generate the file again.
A session that ends or is replaced becomes a *tombstone*: the same keys with ``State`` (``ended`` or
``replaced``), the token that replaced it, and no file. Tombstones are written with conditional requests,
so when two requests from one browser race (two Generates, or Generate and Start over) exactly one wins,
and no file is left alive that the browser's cookie does not name. The sweep removes them at expiry.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial

import requests
from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from .compression import Compressed, decompress
from .settings import Settings, StorageTarget

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"(?P<partition>[0-9]{10})-(?P<row>[0-9a-f]{32})")
BUCKET_FORMAT = "%Y%m%d%H"
CHUNK_BYTES = 64 * 1024
# Azure counts a binary property's raw bytes against the 1 MiB entity limit; Azurite counts the JSON
# request body, where binary is base64 (4/3 larger). 11 chunks' worth (704 KiB, 939 KiB as base64) plus
# the other properties fits both, in at most 14 chunk properties (XML, credentials, summary, import).
STORED_BYTES_LIMIT = 11 * CHUNK_BYTES
TRANSACTION_LIMIT = 100
PAGE_SIZE = 1000
KEYS = ["PartitionKey", "RowKey"]
DEFAULT_RETRY_AFTER = 5
REFUSED_ACCESS = (401, 403)  # a wrong key or a missing role: storage is there but not for us
CLI_HINT = "python -m usermapper -i lab.yaml -o user-mapping.xml"
SCHEMA_VERSION = 3  # 1: before SchemaVersion, Summary chunks and tombstones; 2: before Import chunks
ENDED, REPLACED = "ended", "replaced"
TOMBSTONE_PROPERTIES = ["State", "Successor"]
RETIRE_ATTEMPTS = 5  # conditional writes lost to a concurrent change before storage counts as unusable
MAX_SUCCESSORS = 16  # how far Start over follows sessions that replaced each other while it ran

# Dead storage must answer within seconds, not the SDK's minutes: one quick retry, short timeouts.
CLIENT_OPTIONS = {
    "connection_timeout": 3,
    "read_timeout": 3,
    "retry_total": 1,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 2,
}


class StorageUnavailable(Exception):
    """Storage did not answer, timed out, or answered 5xx or throttled; retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int = DEFAULT_RETRY_AFTER):
        super().__init__(message)
        self.retry_after = retry_after


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
class Session:
    """One stored file; times are timezone-aware UTC."""

    token: str
    created: datetime
    expires: datetime
    users: int
    connections: int
    xml_size: int
    xml_sha256: str
    xml_zstd: bytes = field(repr=False)
    summary_zstd: bytes = field(repr=False)
    credentials_zstd: bytes = field(repr=False, default=b"")
    import_zstd: bytes = field(repr=False, default=b"")

    def xml(self) -> bytes:
        return decompress(self.xml_zstd)

    def credentials(self) -> bytes:
        """The credentials sheet (CSV) kept with the file."""
        return decompress(self.credentials_zstd)

    def summary(self) -> bytes:
        """What the app said about the file when it was made (its JSON), to say it again after a reload."""
        return decompress(self.summary_zstd)

    def import_entries(self) -> bytes:
        """The lab as Guacamole's import file in JSON (``importfile.import_json``), kept with the file."""
        return decompress(self.import_zstd)


@dataclass(frozen=True)
class SweepReport:
    deleted: int
    requests: int


@dataclass(frozen=True)
class ExpiredKeys:
    """Row keys of expired sessions by partition, and the query pages it took to list them."""

    rows: dict[str, list[str]]
    requests: int


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SessionStore:
    """Sessions in one table. Safe to share between threads; the table is created on first use."""

    def __init__(self, table: TableClient, lifetime: timedelta, clock: Callable[[], datetime] = utc_now):
        """``clock`` returns the timezone-aware current time; tests pass one they can move."""
        self._table = table
        self._lifetime = lifetime
        self._clock = clock
        self._table_ready = False
        self._table_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], datetime] = utc_now) -> "SessionStore":
        return cls(_table_client(settings.storage, settings.table_name), settings.session_lifetime, clock)

    def save(self, xml: Compressed, credentials: Compressed, users: int, connections: int, *,
             summary: Compressed, imported: Compressed | None = None) -> Session:
        """Store a new session in one request, so it is either wholly there or not at all.

        Raises SessionTooLarge, before any request, when the compressed data cannot fit one entity.
        """
        import_zstd = imported.data if imported is not None else b""
        stored_bytes = len(xml.data) + len(credentials.data) + len(summary.data) + len(import_zstd)
        if stored_bytes > STORED_BYTES_LIMIT:
            raise SessionTooLarge(xml.size, stored_bytes)
        created = self._clock().astimezone(timezone.utc)
        partition, row = created.strftime(BUCKET_FORMAT), uuid.uuid4().hex
        session = Session(
            token=f"{partition}-{row}",
            created=created,
            expires=created + self._lifetime,
            users=users,
            connections=connections,
            xml_size=xml.size,
            xml_sha256=xml.sha256,
            xml_zstd=xml.data,
            summary_zstd=summary.data,
            credentials_zstd=credentials.data,
            import_zstd=import_zstd,
        )
        entity = {
            "PartitionKey": partition,
            "RowKey": row,
            "SchemaVersion": SCHEMA_VERSION,
            "CreatedAt": session.created,
            "ExpiresAt": session.expires,
            "Users": users,
            "Connections": connections,
            "XmlSize": xml.size,
            "XmlSha256": xml.sha256,
            **_chunked("Xml", xml.data),
            **_chunked("Credentials", credentials.data),
            **_chunked("Summary", summary.data),
            **_chunked("Import", import_zstd),
        }
        with _storage_errors():
            self._write(entity)
        return session

    def load(self, token: str) -> Session | None:
        """The session, or None if the token is malformed, unknown, expired (exactly at ExpiresAt), ended,
        replaced, or stored under a layout this version cannot read."""
        entity = self._live_entity(token)
        if entity is None or entity.get("State"):
            return None
        try:
            return _session(token, entity)
        except (KeyError, TypeError) as error:
            log.warning("session stored under schema version %s cannot be read (%r): treated as gone",
                        entity.get("SchemaVersion", 1), error)
            return None

    def replace(self, old_token: str, new_token: str) -> bool:
        """Mark the old session replaced by the new one, dropping its file. False when it was already
        replaced or ended: another request from the same browser got there first, and the caller must
        drop the new session, which no cookie will name."""
        return self._retire(old_token, REPLACED, new_token) is None

    def end(self, token: str) -> None:
        """End the session now, and each session that replaced it meanwhile (a Generate that raced this
        Start over): afterwards none of them holds a file. Ending twice is not an error."""
        for _ in range(MAX_SUCCESSORS):
            found = self._retire(token, ENDED)
            if found is None or found.get("State") != REPLACED:
                return
            token = found.get("Successor", "")

    def delete(self, token: str) -> None:
        """Remove the entity now, leaving no tombstone: for a session no cookie names. Deleting twice, or
        a token that names nothing, is not an error."""
        keys = _parse_token(token)
        if keys is None:
            return
        with _storage_errors():
            self._ensure_table()
            self._table.delete_entity(*keys)

    def sweep(self) -> SweepReport:
        """Delete every expired session and nothing else.

        Safe to run concurrently with other sweeps and with deletes, and to interrupt: the next run
        finishes the job. Its cost grows with the number of expired sessions, not with the table.
        """
        expired = self.list_expired()
        removed = self.delete_keys(expired.rows)
        report = SweepReport(deleted=removed.deleted, requests=expired.requests + removed.requests)
        log.info("sweep deleted %d expired sessions in %d requests", report.deleted, report.requests)
        return report

    def list_expired(self) -> ExpiredKeys:
        """The first half of a sweep: the keys of expired sessions, and nothing else of them.

        Hour buckets before the one of ``now - lifetime`` hold only expired sessions and are listed by a
        PartitionKey range; the later buckets, which hold the live sessions, by a second range. Both also
        require ExpiresAt before ``now``: that costs nothing where every session has expired, and keeps
        sessions saved under a longer lifetime setting alive until their own expiry. ``now`` is cut to
        whole milliseconds because Azurite compares times no finer; a session that expired within the
        last millisecond waits for the next sweep.
        """
        now = self._clock()
        first_live_bucket = (now - self._lifetime).astimezone(timezone.utc).strftime(BUCKET_FORMAT)
        whole_milliseconds = now.replace(microsecond=now.microsecond - now.microsecond % 1000)
        parameters = {"bucket": first_live_bucket, "now": whole_milliseconds}
        rows: dict[str, list[str]] = {}
        with _storage_errors():
            self._ensure_table()
            try:
                requests = self._collect_keys(rows, "PartitionKey lt @bucket and ExpiresAt lt @now", parameters)
                requests += self._collect_keys(rows, "PartitionKey ge @bucket and ExpiresAt lt @now", parameters)
            except ResourceNotFoundError:  # the table vanished (an emulator restarted without persistence)
                self._table_ready = False
                return ExpiredKeys({}, requests=1)
        return ExpiredKeys(rows, requests)

    def delete_keys(self, rows: Mapping[str, Sequence[str]]) -> SweepReport:
        """The second half of a sweep: delete these keys in transactions of one partition, at most 100
        each. Keys that are already gone are skipped; ``deleted`` counts only what this call removed."""
        deleted = requests = 0
        with _storage_errors():
            self._ensure_table()
            for partition, row_keys in rows.items():
                for start in range(0, len(row_keys), TRANSACTION_LIMIT):
                    batch = _batch_deleted(self._table, partition, row_keys[start : start + TRANSACTION_LIMIT])
                    deleted += batch.deleted
                    requests += batch.requests
        return SweepReport(deleted, requests)

    def ping(self) -> None:
        """Return if storage answers a point read in the session table; raise StorageUnavailable if not."""
        with _storage_errors():
            self._ensure_table()
            self._entity("ping", "ping")

    def _retire(self, token: str, state: str, successor: str = "") -> dict | None:
        """Turn the token's entity into a tombstone saying ``state``, unless it already is one.

        Returns None when this call wrote the tombstone, or the tombstone another request wrote first.
        The write is conditional (insert if absent, replace if unchanged since read), so of two racing
        calls exactly one wins. A malformed token names nothing to retire: None.
        """
        keys = _parse_token(token)
        if keys is None:
            return None
        tombstone = {"PartitionKey": keys[0], "RowKey": keys[1], "SchemaVersion": SCHEMA_VERSION,
                     "State": state, "Successor": successor, "ExpiresAt": self._clock() + self._lifetime}
        with _storage_errors():
            self._ensure_table()
            for _ in range(RETIRE_ATTEMPTS):
                entity = self._entity(*keys, select=TOMBSTONE_PROPERTIES)  # and the etag: not the file
                if entity is not None and entity.get("State"):
                    return entity
                try:
                    self._write_tombstone(tombstone, entity)
                    return None
                except (ResourceExistsError, ResourceModifiedError):
                    continue
        raise StorageUnavailable("the session kept changing under concurrent requests", retry_after=1)

    def _write_tombstone(self, tombstone: dict, current: dict | None) -> None:
        if current is None:
            self._table.create_entity(tombstone)
        else:
            self._table.update_entity(tombstone, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                      match_condition=MatchConditions.IfNotModified)

    def _live_entity(self, token: str) -> dict | None:
        keys = _parse_token(token)
        if keys is None:
            return None
        with _storage_errors():
            self._ensure_table()
            entity = self._entity(*keys)
        expires = entity.get("ExpiresAt") if entity is not None else None
        if not isinstance(expires, datetime) or self._clock() >= expires:
            return None
        return entity

    def _entity(self, partition: str, row: str, select: list[str] | None = None) -> dict | None:
        try:
            return self._table.get_entity(partition, row, select=select)
        except ResourceNotFoundError:
            return None

    def _collect_keys(self, rows: dict[str, list[str]], query_filter: str, parameters: dict) -> int:
        """Add the keys the query matches to ``rows``; return the number of pages (requests) it took."""
        pages = self._table.query_entities(
            query_filter, parameters=parameters, select=KEYS, results_per_page=PAGE_SIZE
        ).by_page()
        requests = 0
        for page in pages:
            requests += 1
            for entity in page:
                rows.setdefault(entity["PartitionKey"], []).append(entity["RowKey"])
        return requests

    def _write(self, entity: dict) -> None:
        """Upsert, so that the SDK's retry after a lost response cannot fail on the entity it just wrote.

        If the table vanished (an emulator restarted without persistence), create it again and retry.
        """
        self._ensure_table()
        try:
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            self._table_ready = False
            self._ensure_table()
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def _ensure_table(self) -> None:
        if self._table_ready:
            return
        with self._table_lock:
            if not self._table_ready:
                try:
                    self._table.create_table()
                except ResourceExistsError:
                    pass
                self._table_ready = True


def _table_client(target: StorageTarget, table_name: str) -> TableClient:
    """A connection string (``UseDevelopmentStorage=true`` only for Azurite's default port), or an
    https endpoint reached with the app's identity.

    One client serves every request, through one kept-alive ``requests.Session``. The environment's proxy
    and CA bundle settings (``HTTP(S)_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) are read here, once,
    for the table endpoint: left to requests, they are read again on every request, a quarter to a third
    of requests' own CPU per request. ``~/.netrc`` is never read (its basic auth would replace the storage
    signature).
    """
    if target.connection_string:
        build = partial(TableClient.from_connection_string, target.connection_string, table_name)
    else:
        build = partial(TableClient, target.table_endpoint, table_name, credential=_credential(target))
    client = build(use_env_settings=False, **CLIENT_OPTIONS)
    environment = requests.Session().merge_environment_settings(client.url, {}, None, None, None)
    if environment["proxies"] or environment["verify"] is not True:
        client.close()
        client = build(use_env_settings=False, proxies=environment["proxies"],
                       connection_verify=environment["verify"], **CLIENT_OPTIONS)
    return client


def _credential(target: StorageTarget) -> TokenCredential:
    """The identity the Functions host would use for the same settings: the managed identity (the
    user-assigned one ``client_id`` names) with ``__credential=managedidentity``, else DefaultAzureCredential.
    Token requests get the same short timeouts as storage requests, so a dead identity endpoint is a 503
    within seconds."""
    # Imported here: azure.identity costs ~100 ms at import, paid on every cold start otherwise.
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    timeouts = {"connection_timeout": CLIENT_OPTIONS["connection_timeout"],
                "read_timeout": CLIENT_OPTIONS["read_timeout"], "retry_total": CLIENT_OPTIONS["retry_total"]}
    if target.managed_identity:
        return ManagedIdentityCredential(client_id=target.client_id, **timeouts)
    return DefaultAzureCredential(managed_identity_client_id=target.client_id, process_timeout=10, **timeouts)


def _session(token: str, entity: Mapping) -> Session:
    """The session an entity of the current layout holds; KeyError or TypeError for any other layout."""
    if entity.get("SchemaVersion") != SCHEMA_VERSION:
        raise KeyError("SchemaVersion")
    return Session(
        token=token,
        created=entity["CreatedAt"],
        expires=entity["ExpiresAt"],
        users=entity["Users"],
        connections=entity["Connections"],
        xml_size=entity["XmlSize"],
        xml_sha256=entity["XmlSha256"],
        xml_zstd=_joined(entity, "Xml"),
        summary_zstd=_joined(entity, "Summary"),
        credentials_zstd=_joined(entity, "Credentials"),
        import_zstd=_joined(entity, "Import"),
    )


def _parse_token(token: str) -> tuple[str, str] | None:
    match = TOKEN_PATTERN.fullmatch(token or "")
    if match is None:
        return None
    return match["partition"], match["row"]


def _chunked(name: str, data: bytes) -> dict:
    chunks = [data[start : start + CHUNK_BYTES] for start in range(0, len(data), CHUNK_BYTES)]
    return {f"{name}Chunks": len(chunks), **{f"{name}{index}": chunk for index, chunk in enumerate(chunks)}}


def _joined(entity: Mapping, name: str) -> bytes:
    return b"".join(entity[f"{name}{index}"] for index in range(entity[f"{name}Chunks"]))


def _batch_deleted(table: TableClient, partition: str, row_keys: Sequence[str]) -> SweepReport:
    """Delete the keys in one transaction. A transaction fails whole if one entity is missing (another
    sweep or a user got there first); then delete each key in a transaction of its own."""
    if _transaction_deleted(table, partition, row_keys):
        return SweepReport(deleted=len(row_keys), requests=1)
    singles = [_transaction_deleted(table, partition, [row]) for row in row_keys]
    return SweepReport(deleted=sum(singles), requests=1 + len(singles))


def _transaction_deleted(table: TableClient, partition: str, row_keys: Sequence[str]) -> bool:
    """True if the transaction deleted every key; False if one was missing, and then it deleted none."""
    try:
        table.submit_transaction([("delete", {"PartitionKey": partition, "RowKey": row}) for row in row_keys])
    except TableTransactionError as error:
        if error.status_code == 404:
            return False
        raise
    return True


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn the SDK's ways of saying "storage is not there right now" into StorageUnavailable."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError) as error:
        raise StorageUnavailable(f"storage did not answer: {error}") from error
    except ClientAuthenticationError as error:
        # No token for the app's identity: the operator must fix it; users can only wait.
        log.error("storage credentials failed (check the app's identity and its role on the account): %s", error)
        raise StorageUnavailable(f"storage credentials failed: {error}") from error
    except HttpResponseError as error:
        status = error.status_code or 0
        if status in REFUSED_ACCESS:
            log.error("storage refused the app (%s: check the connection string's key, or the identity's role "
                      "on the account): %s", status, error.reason)
        elif status < 500 and status != 429:
            raise
        raise StorageUnavailable(f"storage answered {status}: {error.reason}", _retry_after(error)) from error


def _retry_after(error: HttpResponseError) -> int:
    header = error.response.headers.get("Retry-After", "") if error.response is not None else ""
    return int(header) if header.isdigit() else DEFAULT_RETRY_AFTER
