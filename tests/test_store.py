import hashlib
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from azurite import free_port
from usermapper.web.compression import Compressed, compress
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.store import (
    SCHEMA_VERSION,
    STORED_BYTES_LIMIT,
    SessionReplaced,
    SessionStore,
    SessionTooLarge,
    StorageUnavailable,
)

XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping>\n' + b"".join(
    b'  <authorize username="student%03d" password="pw%03d">\n'
    b'    <connection name="PC%03d"><protocol>rdp</protocol></connection>\n  </authorize>\n' % (n, n, n)
    for n in range(300)
) + b"</user-mapping>\n"
CREDENTIALS = b"type,username,password\nstudents,student000,pw000\n"
SUMMARY = b'{"warnings": [], "passwords": {"generated": false, "hashed": false}}'


def save(store, xml=XML, credentials=CREDENTIALS, users=300, connections=300, replacing=None):
    return store.save(compress(xml, head_limit=100), compress(credentials), users, connections,
                      summary=compress(SUMMARY), replacing=replacing)


def random_bytes_compressed(size: int) -> Compressed:
    """Data that stands for an already compressed frame of exactly ``size`` bytes."""
    data = os.urandom(size)
    return Compressed(data=data, size=size, sha256=hashlib.sha256(data).hexdigest(), head=b"")


def test_load_returns_what_was_saved(store):
    saved = save(store)
    loaded = store.load(saved.cookie)

    assert loaded == saved
    assert loaded.xml() == XML
    assert loaded.summary() == SUMMARY
    assert (loaded.users, loaded.connections, loaded.xml_size) == (300, 300, len(XML))
    assert loaded.xml_sha256 == hashlib.sha256(XML).hexdigest()


def test_times_are_utc_and_the_session_lasts_its_lifetime(store, clock):
    session = store.load(save(store).cookie)

    assert session.created == clock.now
    assert session.created.utcoffset() == timedelta(0)
    assert session.expires == clock.now + timedelta(hours=1)


def test_load_returns_the_credentials_sheet_too(store):
    session = save(store)

    assert store.load(session.cookie).credentials() == CREDENTIALS


def test_token_names_the_expiry_hour_and_a_random_uuid4(store, clock):
    tokens = {save(store).token for _ in range(3)}

    assert len(tokens) == 3
    for token in tokens:  # saved at 14:17, so they expire in the hour from 15:00
        hour, row = token.split("-", 1)
        assert hour == "2026112615"
        assert uuid.UUID(row).version == 4 and str(uuid.UUID(row)) == row


def test_entity_layout(store, tables, table_name):
    session = save(store)
    (token, entity), = tables.entities().items()
    row = session.token.split("-", 1)[1]

    assert tables.names() == {table_name + "2026112615"}
    assert token == session.token
    assert (entity["PartitionKey"], entity["RowKey"]) == (row[:2], row)
    assert entity["SchemaVersion"] == SCHEMA_VERSION
    assert sorted(entity) == ["ExpiresAt", "Facts", "Files0", "PartitionKey", "RowKey", "SchemaVersion", "Secret"]
    assert json.loads(entity["Facts"]) == {
        "created": session.created.isoformat(), "users": session.users, "connections": session.connections,
        "xml_size": session.xml_size, "xml_sha256": session.xml_sha256,
        "file_bytes": [len(session.xml_zstd), len(session.credentials_zstd), len(session.summary_zstd), 0]}
    assert entity["Files0"] == session.xml_zstd + session.credentials_zstd + session.summary_zstd
    assert entity["ExpiresAt"] == session.expires


def test_a_save_into_a_new_hour_creates_its_table_and_later_saves_share_it(store, tables, table_name, clock):
    first = save(store)
    clock.advance(minutes=30)  # 14:47: these expire at 15:47, in the same hour
    second = save(store)
    clock.advance(minutes=20)  # 15:07: the next hour
    third = save(store)

    assert tables.names() == {table_name + "2026112615", table_name + "2026112616"}
    assert {token.split("-")[0] for token in tables.entities()} == {"2026112615", "2026112616"}
    assert all(store.load(s.cookie) is not None for s in (first, second, third))


def test_an_hour_crossing_a_day_and_a_year_is_one_table(store, tables, table_name, clock):
    clock.now = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)
    session = save(store)

    assert session.token.startswith("2027010100-")
    assert tables.names() == {table_name + "2027010100"}
    assert store.load(session.cookie) is not None


def tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize(
    "make_token",
    [
        lambda token: "",
        lambda token: "not-a-token",
        lambda token: token + "0",
        lambda token: token.upper(),
        lambda token: token.replace("-", " "),
        lambda token: token[:11] + str(uuid.uuid4()),
        lambda token: "2026112616" + token[10:],
        lambda token: "2026113324" + token[10:],
        lambda token: token[:11] + "' or RowKey ne '" + token[11:],
        lambda token: token[:10] + "-" + token[11:].replace("-", ""),
        tampered,
    ],
    ids=["empty", "garbage", "too-long", "upper-case", "space", "unknown-row", "other-hour", "not-an-hour",
         "injection", "old-layout", "one-char-changed"],
)
def test_bad_tokens_find_nothing(store, make_token):
    token = make_token(save(store).token)

    assert store.load(token) is None
    store.delete(token)


def test_expiry_is_exact(store, clock):
    session = save(store)

    clock.now = session.expires - timedelta(microseconds=1)
    assert store.load(session.cookie) is not None

    clock.now = session.expires
    assert store.load(session.cookie) is None


def test_delete_removes_the_entity_and_is_idempotent(store, tables):
    session = save(store)

    store.delete(session.token)
    store.delete(session.token)

    assert store.load(session.cookie) is None
    assert tables.entities() == {}


def test_sessions_never_see_each_other(store):
    first = save(store, xml=XML, credentials=b"type,username,password\na,alice,1\n")
    second = save(store, xml=XML.replace(b"student", b"trainee"), credentials=b"type,username,password\nb,bob,2\n")

    assert store.load(first.cookie).xml() == XML
    assert b"trainee" in store.load(second.cookie).xml()
    assert store.load(first.cookie).credentials() != store.load(second.cookie).credentials()

    store.delete(first.token)
    assert store.load(second.cookie) is not None


def test_incompressible_file_over_the_budget_is_refused_before_any_request(store, tables):
    with pytest.raises(SessionTooLarge) as refused:
        save(store, xml=os.urandom(STORED_BYTES_LIMIT + 1))

    message = str(refused.value)
    assert f"{STORED_BYTES_LIMIT:,}" in message
    assert "python -m usermapper -i lab.yaml -o user-mapping.xml" in message
    assert tables.names() == set()


def test_a_large_compressible_file_fits(store):
    block = XML[60:-16]
    big = XML[:60] + block * (30_000_000 // len(block)) + XML[-16:]

    session = save(store, xml=big, users=90_000, connections=90_000)

    assert store.load(session.cookie).xml() == big


def test_exactly_the_budget_fits_azurite_and_one_byte_more_does_not(store):
    xml_part = STORED_BYTES_LIMIT - 1500
    summary = random_bytes_compressed(500)

    session = store.save(random_bytes_compressed(xml_part), random_bytes_compressed(1000), 1, 1, summary=summary)
    assert len(store.load(session.cookie).xml_zstd) == xml_part

    with pytest.raises(SessionTooLarge):
        store.save(random_bytes_compressed(xml_part), random_bytes_compressed(1001), 1, 1, summary=summary)


def test_ping_answers_when_storage_does_and_creates_nothing(store, tables):
    assert store.ping() is None  # it raises StorageUnavailable when storage does not answer (below)
    store.ping()
    assert tables.names() == set()  # a read of the hour's table, even one that does not exist yet


def test_stopped_storage_is_unavailable_within_seconds_and_recovers(private_azurite, table_name):
    settings = Settings(storage=StorageTarget(connection_string=private_azurite.connection_string),
                        table_name=table_name)
    store = SessionStore.from_settings(settings)
    session = save(store)
    private_azurite.stop()

    for call in (lambda: save(store), lambda: store.load(session.cookie), lambda: store.delete(session.token),
                 store.ping, store.sweep):
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as unavailable:
            call()
        assert time.monotonic() - started < 15
        assert unavailable.value.retry_after > 0

    private_azurite.start()
    store.ping()
    again = save(store)
    assert store.load(again.cookie).xml() == XML


def test_the_environment_s_proxy_settings_are_honoured(azurite, table_name, monkeypatch):
    """The store reads HTTP_PROXY and NO_PROXY once, when it is built, as requests would on each request."""
    settings = Settings(storage=StorageTarget(connection_string=azurite.connection_string), table_name=table_name)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(StorageUnavailable):
        SessionStore.from_settings(settings).ping()

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    SessionStore.from_settings(settings).ping()


def test_storage_that_refuses_the_app_s_key_is_unavailable_not_a_crash(azurite, table_name, caplog):
    """A wrong account key (or an identity without its role) is answered 403 by storage: the app says
    503 to its users and logs, for the operator, what to check."""
    wrong_key = azurite.connection_string.replace("AccountKey=E", "AccountKey=X")
    settings = Settings(storage=StorageTarget(connection_string=wrong_key), table_name=table_name)
    refused = SessionStore.from_settings(settings)
    with pytest.raises(StorageUnavailable):
        refused.ping()
    assert "check the connection string's key" in caplog.text


# -- layouts this version cannot read ------------------------------------------------------------------------

def without(entity: dict, *names: str) -> dict:
    return {key: value for key, value in entity.items() if key not in names}


def one_property_per_fact(entity: dict) -> dict:
    """The layout of schema version 6: a property per fact, chunks per file."""
    facts, files = json.loads(entity["Facts"]), entity["Files0"]
    xml_end = facts["file_bytes"][0]
    return {**without(entity, "Facts", "Files0"), "SchemaVersion": 6, "Users": facts["users"],
            "Connections": facts["connections"], "XmlSize": facts["xml_size"], "XmlSha256": facts["xml_sha256"],
            "XmlChunks": 1, "Xml0": files[:xml_end], "SummaryChunks": 1, "Summary0": files[xml_end:]}


def with_facts(entity: dict, **changes) -> dict:
    return {**entity, "Facts": json.dumps({**json.loads(entity["Facts"]), **changes})}


def sizes_moved(entity: dict) -> dict:
    """The same total, split with a negative length: the frames would be cut where no file ends."""
    xml, credentials, summary, imported = json.loads(entity["Facts"])["file_bytes"]
    return with_facts(entity, file_bytes=[xml + credentials + 1, -1, summary, imported])


@pytest.mark.parametrize("older", [
    lambda e: without(e, "SchemaVersion"),
    lambda e: without(e, "Facts"),
    lambda e: without(e, "Files0"),
    lambda e: without(e, "ExpiresAt"),
    lambda e: {**e, "SchemaVersion": 3},
    lambda e: {**e, "SchemaVersion": 99},
    lambda e: {**e, "Files0": "not bytes"},
    lambda e: {**e, "Files0": e["Files0"][:-1]},
    lambda e: {**e, "Facts": "{not json"},
    one_property_per_fact,
    lambda e: {**e, "Facts": "[" * 30_000},
    lambda e: {**e, "Secret": "é" * 43},
    sizes_moved,
    lambda e: with_facts(e, file_bytes=[True, 0, 0, 0]),
    lambda e: with_facts(e, xml_size="9999"),
    lambda e: with_facts(e, users=[300]),
    lambda e: with_facts(e, connections=-1),
    lambda e: with_facts(e, xml_sha256=None),
    lambda e: with_facts(e, created="2026-01-01T00:00:00"),
    lambda e: {**e, "Facts": json.dumps([1, 2])},
], ids=["no version", "no facts", "no chunk", "no expiry", "one table", "newer version", "wrong type",
        "chunk cut short", "facts not json", "a property per fact", "facts nested deep", "secret not ascii",
        "a negative length", "a length not a number", "size a string", "users a list", "connections negative",
        "sha256 not a string", "created without a zone", "facts a list"])
def test_an_entity_this_version_cannot_read_is_no_session(store, tables, older):
    """Sessions saved by another version of the app answer 'no session' (a 404 for users), never raise."""
    session = save(store)
    tables.rewrite(session.token, older(tables.entity(session.token)))

    assert store.load(session.cookie) is None


def test_a_token_of_the_one_table_layout_names_nothing(store, tables, table_name):
    """Before one table per hour, tokens were the creation hour and 32 hex digits, in one table named
    the prefix: such a token is no session, and reading, replacing or ending it touches no table."""
    old_token = "2026112614-" + uuid.uuid4().hex
    tables.service.create_table(table_name)
    tables.service.get_table_client(table_name).create_entity(
        {"PartitionKey": old_token[:10], "RowKey": old_token[11:], "SchemaVersion": 3})

    assert store.load(old_token) is None
    save(store, replacing=old_token)
    store.end(old_token)
    store.delete(old_token)
    assert tables.names() == {table_name, table_name + "2026112615"}


# -- tombstones: replacing and ending ------------------------------------------------------------------------

def test_a_replacement_rewrites_the_file_in_place_and_only_the_first_replacement_wins(store, tables):
    """With the cookie's version, one conditional write over the same entity, with a new secret: the old
    cookie reads nothing, and a second upload with it is refused and writes nothing."""
    old = save(store)
    first = save(store, xml=XML.replace(b"student", b"trainee"), replacing=old.cookie)
    with pytest.raises(SessionReplaced):
        save(store, replacing=old.cookie)

    assert first.token == old.token and first.secret != old.secret and first.etag != old.etag
    assert store.load(old.cookie) is None
    assert b"trainee" in store.load(first.cookie).xml()
    assert tables.files() == {first.token}


def test_a_cookie_without_a_version_gets_a_new_token_and_the_old_file_a_tombstone(store, tables):
    """A cookie of the layout before secrets (a token and a version) or a token alone: the old session is
    read, then retired; of two uploads with it the first wins and the loser keeps nothing."""
    for form in ("{token}", "{token}.{version}"):
        old = save(store)
        before_secrets = form.format(token=old.token, version=old.cookie.rpartition(".")[2])
        first = save(store, replacing=before_secrets)
        with pytest.raises(SessionReplaced):
            save(store, replacing=before_secrets)

        assert first.token != old.token and store.load(old.cookie) is None
        tombstone = tables.entity(old.token)
        assert (tombstone["State"], tombstone["Successor"]) == ("replaced", first.token)
        assert not any(key.startswith(("Xml", "Credentials")) for key in tombstone)
        assert tables.files() == {first.token}
        store.delete(first.token)  # so that the next form starts with no file


def test_a_replacement_in_the_same_hour_is_one_request_and_so_is_ending_it(azurite, table_name, tables, clock):
    """The storage requests of a flow: the upload that replaces this browser's file, one; the download,
    one; Start over, one (counted as the SDK sends them)."""
    sent: list[str] = []
    service = TableServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=lambda pipeline: sent.append(pipeline.http_request.method))
    store = SessionStore(service, table_name, timedelta(hours=1), clock)
    old = save(store)
    sent.clear()
    new = save(store, replacing=old.cookie)
    assert sent == ["PUT"]  # the entity rewritten in place, If-Match the cookie's version
    sent.clear()
    assert store.load(new.cookie).xml() == XML
    assert sent == ["GET"]
    sent.clear()
    store.end(new.cookie)
    assert sent == ["PUT"] and tables.files() == set()


def test_a_replacement_in_the_next_hour_is_two_requests_and_the_loser_keeps_nothing(store, tables, clock):
    old = save(store)
    clock.advance(minutes=50)  # 15:07: the new session expires in the next hour, another table
    first = save(store, replacing=old.cookie)
    with pytest.raises(SessionReplaced):
        save(store, replacing=old.cookie)

    assert first.token[:10] != old.token[:10]
    assert tables.entity(old.token)["Successor"] == first.token
    assert tables.files() == {first.token}


def test_a_cookie_reads_its_file_only_with_the_file_s_secret(store):
    session = save(store)
    token, secret, version = session.cookie.split(".")
    other = save(store).secret
    for cookie in (token, f"{token}.{version}", f"{token}.{other}.{version}", f"{token}.{secret[:-1]}.{version}",
                   f"{token}.{secret}x.{version}", f"{token}.{secret.swapcase()}.{version}", f"{token}..{version}"):
        assert store.load(cookie) is None, cookie
    for garbled in ("", "%%%", "AAAA", "V1wiZGF0ZSIK"):  # the version is not needed to read
        assert store.load(f"{token}.{secret}.{garbled}").xml() == XML


def test_a_cookie_whose_version_is_forged_or_garbled_is_read_instead(store, tables):
    old = save(store)
    token, secret, version = old.cookie.split(".")
    for garbled in ("%%%", "V1wiZGF0ZSIK"):
        live = save(store)
        new = save(store, replacing=f"{live.token}.{live.secret}.{garbled}")
        assert new.token != live.token and tables.entity(live.token)["Successor"] == new.token
    stale = save(store, replacing=old.cookie)  # the in-place rewrite changes the version
    with pytest.raises(SessionReplaced):
        save(store, replacing=f"{token}.{secret}.{version}")
    assert store.load(stale.cookie).xml() == XML


def test_end_follows_the_sessions_that_replaced_it(store):
    """Start over that raced a Generate (which replaced the session first) ends the new file too."""
    old = save(store)
    new = save(store, replacing=old.cookie)

    store.end(old.cookie)
    store.end(old.cookie)

    assert store.load(new.cookie) is None
    with pytest.raises(SessionReplaced):
        save(store, replacing=new.cookie)


def test_an_ended_session_cannot_be_replaced(store):
    old = save(store)
    store.end(old.cookie)

    with pytest.raises(SessionReplaced):
        save(store, replacing=old.cookie)


def test_a_token_that_names_nothing_is_claimed_once(store, tables):
    """Two Generates with an expired or swept cookie still agree on one winner."""
    gone = save(store)
    store.delete(gone.token)

    first = save(store, replacing=gone.cookie)
    with pytest.raises(SessionReplaced):
        save(store, replacing=gone.cookie)
    assert tables.files() == {first.token}


def test_tombstones_live_in_the_table_of_their_hour_and_are_swept_with_it(store, tables, table_name, clock):
    old = save(store)
    clock.advance(minutes=50)  # 15:07: the new session expires in the next hour
    new = save(store, replacing=old.cookie)
    store.end(new.cookie)

    assert tables.entity(old.token)["State"] == "replaced" and tables.entity(new.token)["State"] == "ended"
    assert tables.entity(old.token)["ExpiresAt"] == datetime(2026, 11, 26, 16, tzinfo=timezone.utc)
    assert tables.names() == {table_name + "2026112615", table_name + "2026112616"}

    clock.now = datetime(2026, 11, 26, 16, 0, tzinfo=timezone.utc)
    store.sweep()  # and makes the tables of the hours saves from now to 17:00 expire in
    assert tables.hours() == {"2026112616", "2026112617", "2026112618"}
    clock.advance(hours=1)
    store.sweep()
    assert tables.hours() == {"2026112617", "2026112618", "2026112619"} and not tables.files()


def test_a_session_whose_table_was_swept_is_gone_and_every_call_on_it_works(store, tables, clock):
    """A cookie that outlived its hour's table (a clock or a cookie jar that ignores Max-Age)."""
    session = save(store)
    clock.advance(hours=2)
    store.sweep()
    assert session.token[:10] not in tables.hours()

    assert store.load(session.cookie) is None
    store.delete(session.token)
    store.end(session.cookie)
    save(store, replacing=session.cookie)


def test_ending_a_token_that_names_nothing_writes_nothing(store, tables):
    """A DELETE carrying made-up tokens costs reads, never writes; a Generate with the token still claims it."""
    gone = save(store)
    store.delete(gone.token)
    made_up = gone.token[:11] + str(uuid.uuid4())

    store.end(gone.token)
    store.end(made_up)

    store.end(gone.cookie)

    for token in (gone.token, made_up):
        with pytest.raises(ResourceNotFoundError):
            tables.entity(token)
    save(store, replacing=gone.token)
    with pytest.raises(SessionReplaced):
        save(store, replacing=gone.token)
