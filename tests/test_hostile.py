"""Hostile input against the real app over real HTTP (``python -m tools.devhost`` on a real Azurite).

Whatever a client sends, the answer is a 4xx problem (``application/problem+json`` with type, title,
status and detail) or a success, within a second; never a 5xx, never a hang, never a file that is not
well-formed XML, never someone else's file, never a byte from outside ``static/``.

USERMAPPER_FUZZ_EXAMPLES=3000 runs more generated examples (a longer local run); the default keeps CI fast.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from apphost import HOST_BODY_LIMIT
from azurite import REPO_ROOT
from httpclient import API, CLASSROOM, Client, assert_problem, set_cookies, with_cookie
from usermapper.web.routes import MULTIPART_OVERHEAD, UPLOAD_FILES

FUZZ = settings(max_examples=int(os.environ.get("USERMAPPER_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ANSWER_SECONDS = 1.0  # the longest any single request may take
CLIENT_TIMEOUT = 10  # a hang shows as a failed request, not a stuck test run
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MiB = 1 << 20


# -- checking every answer ---------------------------------------------------------------------------------

def timed(call, *args, **kwargs) -> requests.Response:
    started = time.monotonic()
    response = call(*args, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_SECONDS, f"{response.status_code} took {elapsed:.2f} s"
    return response


def check_answer(response: requests.Response) -> None:
    """A success, or a 4xx problem document whose status is the response's; never 5xx. A body over the
    host's limit is the host's own empty 413, before the app sees it (as the Functions host answers)."""
    status = response.status_code
    assert status < 500, (status, response.text[:500])
    if status == 413 and len(response.request.body or b"") > int(HOST_BODY_LIMIT):
        assert response.content == b""
        return
    if status >= 400:
        assert_problem(response, status)
    else:
        assert status in (200, 201), (status, response.text[:500])


def check_file(base: str, created: requests.Response) -> bytes:
    """For a successful POST: the session's file downloads, matches the summary and is well-formed XML.
    The session is ended afterwards so the fuzz does not fill storage."""
    token = next(c.split(";")[0].partition("=")[2] for c in set_cookies(created)
                 if c.startswith("usermapper_session="))
    downloaded = timed(with_cookie, base, token)
    assert downloaded.status_code == 200, downloaded.text[:500]
    xml = downloaded.content
    if created.status_code == 201:
        summary = created.json()
        assert hashlib.sha256(xml).hexdigest() == summary["sha256"]
        assert len(xml) == summary["bytes"]
    else:
        assert created.content == xml
    assert xml.startswith(XML_DECLARATION)
    root = etree.fromstring(xml, etree.XMLParser(huge_tree=True))
    assert root.tag == "user-mapping"
    requests.delete(base + API, headers={"Cookie": f"usermapper_session={token}"}, timeout=CLIENT_TIMEOUT)
    return xml


def post(base: str, **kwargs) -> requests.Response:
    """POST without a session, check the answer, and the file when there is one."""
    response = timed(requests.post, base + API, timeout=CLIENT_TIMEOUT, **kwargs)
    check_answer(response)
    if response.status_code < 300:
        check_file(base, response)
    return response


# -- generated configs: a sound lab with hostile YAML in some of its fields -----------------------------------

SLOTS = {  # the fields of a sound lab, in the order they appear in TEMPLATE, and their sound values
    "trainer_password": "'Tr&iner<1>\"'", "user_type": "students", "quantity": "3",
    "username_prefix": "student", "username_suffix": "'01'", "password": "random", "password_length": "12",
    "password_encoding": "plain", "user_devices": "[pcs, routers]", "device_type": "pcs",
    "device_quantity": "2", "name_prefix": "PC", "name_suffix": "'1'", "hostname_prefix": "'10.0.0.'",
    "hostname_suffix": "'1'", "protocol": "rdp", "param_name": "port", "param_value": "3389",
    "router_password": "'a&b'",
}
TEMPLATE = """\
users:
  trainers: {{quantity: 1, username_prefix: trainer, username_suffix: '1', password: {trainer_password}}}
  {user_type}:
    quantity: {quantity}
    username_prefix: {username_prefix}
    username_suffix: {username_suffix}
    password: {password}
    password_length: {password_length}
    password_encoding: {password_encoding}
    devices: {user_devices}
devices:
  {device_type}:
    quantity: {device_quantity}
    name_prefix: {name_prefix}
    name_suffix: {name_suffix}
    hostname_prefix: {hostname_prefix}
    hostname_suffix: {hostname_suffix}
    parameters:
      protocol: {protocol}
      hostname: ~
      {param_name}: {param_value}
  routers:
    quantity: 2
    name_prefix: R
    name_suffix: '1'
    hostname_prefix: '10.0.1.'
    hostname_suffix: '1'
    parameters: {{protocol: ssh, username: admin, password: {router_password}}}
"""


def flow_bomb(levels: int, width: int) -> str:
    """The billion laughs in one flow node: each anchored list holds ``width`` aliases of the one before."""
    nodes = [f"&l0 [{', '.join(['lol'] * width)}]"]
    nodes += [f"&l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return f"[{', '.join(nodes)}]"


def nested(depth: int, mapping: bool) -> str:
    return "{a: " * depth + "x" + "}" * depth if mapping else "[" * depth + "x" + "]" * depth


def double_quoted(text: str) -> str:
    """A YAML double-quoted scalar holding ``text``; YAML escapes let it carry any code point."""
    return '"' + "".join(c if c.isalnum() or c in " &<>'" else f"\\U{ord(c):08x}" for c in text) + '"'


TEXT = st.builds(double_quoted, st.text(max_size=20))  # any text, often a value the config accepts
HOSTILE = st.one_of(
    st.builds(flow_bomb, st.integers(1, 9), st.integers(1, 12)),
    st.builds(nested, st.integers(1, 3000), st.booleans()),
    st.builds(lambda n, c: f"'{c * n}'", st.sampled_from([10, 1000, 100_000, MiB - 2000, MiB + 10]),
              st.sampled_from(["x", "&", "<", "é", "0"])),
    st.sampled_from([
        "'&'", "'<authorize/>'", "']]>'", '"\\0"', '"\\x1b"', '"\\ud800"', '"\\uffff"', '"\\N"', "'\t'",
        "-1", "0", "10001", "1000000000000000000000", "1" * 5000, "1e400", ".nan", ".inf", "0x10", "0o17",
        "1_0", "!!binary aGVsbG8=", "!!python/object/apply:os.system [ls]", "!!timestamp 2001-12-14",
        "!!set {a, b}", "!!omap [a: 1]", "!!str 5", "!!int x", "!!bool maybe", "!!float abc", "!custom x",
        "{<<: *nowhere}", "*nowhere", "<<", "{<<: [[a], {b: c}]}", "{<<: {quantity: 1}, quantity: 2}",
        "{<<: [{<<: {a: b}}, {a: c}]}", "&self {<<: *self}", "~", "''", "[]", "{}", "[a, b]", "{a: b}", "yes",
        "&a x", "? x",
        "|\n  block", "\"unterminated", "'", "- x", "%YAML 1.2", "---", "...", "@x", "`x",
    ]),
    st.text(st.sampled_from("&*!|>{}[],:#'\"-?% \t\n\\xé\x00\x85\u2028"), max_size=12),
)


@st.composite
def scalar_alias_bombs(draw) -> dict[str, str]:
    """One long scalar anchored in the first chosen field and aliased in the others: a small config
    whose text repeats once per user and device it reaches."""
    chosen = draw(st.lists(st.sampled_from(list(SLOTS)), min_size=2, max_size=8, unique=True))
    chosen.sort(key=list(SLOTS).index)
    length = draw(st.sampled_from([1, 100, 1000, 20_000]))
    values = {name: "*big" for name in chosen[1:]}
    values[chosen[0]] = f"&big '{'w' * length}'"
    if draw(st.booleans()):
        values.update(quantity="&q 1000", device_quantity="*q")
    return values


CONFIG_EDITS = st.one_of(st.dictionaries(st.sampled_from(list(SLOTS)), st.one_of(HOSTILE, TEXT), max_size=2),
                         scalar_alias_bombs())


def config_text(edits: dict[str, str]) -> str:
    return TEMPLATE.format(**{**SLOTS, **edits})


@st.composite
def bodies(draw) -> bytes:
    """A generated config as bytes, sometimes spoiled: truncated, junk inserted, another encoding."""
    text = config_text(draw(CONFIG_EDITS))
    spoil = draw(st.sampled_from(["none"] * 6 + ["truncate", "junk", "bom", "utf-16", "latin-1"]))
    if spoil == "utf-16":
        return text.encode("utf-16")
    if spoil == "latin-1":
        return text.encode("latin-1", "replace")
    body = text.encode("utf-8", "surrogatepass")
    if spoil == "bom":
        return b"\xef\xbb\xbf" + body
    cut = draw(st.integers(0, len(body)))
    if spoil == "truncate":
        return body[:cut]
    if spoil == "junk":
        return body[:cut] + draw(st.binary(min_size=1, max_size=64)) + body[cut:]
    return body


MEDIA_TYPES = st.sampled_from([
    *["application/yaml"] * 8, "text/yaml", "text/plain; charset=utf-8", "application/json",
    "APPLICATION/X-YAML", None, "", "application/octet-stream", "text/html", "multipart/form-data",
    "multipart/form-data; boundary=", "application/x-www-form-urlencoded", "image/png", "*/*", ";;;",
    "application/yaml; charset=utf-16", "text/yaml;;q=",
])
ACCEPTS = st.sampled_from([None, "application/json", "application/xml", "text/xml;q=0.9, application/json;q=0.8",
                           "application/xml;q=abc", "*/*", ",;,"])


@st.composite
def uploads(draw) -> dict:
    """Keyword arguments for one POST: a raw body under some media type, or a multipart form."""
    body = draw(bodies())
    headers = {}
    accept = draw(ACCEPTS)
    if accept is not None:
        headers["Accept"] = accept
    if draw(st.booleans()):
        media_type = draw(MEDIA_TYPES)
        if media_type is not None:
            headers["Content-Type"] = media_type
        return {"data": body, "headers": headers}
    field = draw(st.sampled_from(["config"] * 16 + ["Config", "other", ""]))
    as_file = draw(st.booleans())
    parts = [(field, ("lab.yaml", body, "application/yaml") if as_file else (None, body))]
    parts *= draw(st.sampled_from([1] * 16 + [0, 2]))
    parts += draw(st.lists(st.sampled_from([("note", (None, b"hello")), ("config2", ("x", b"\xff"))]), max_size=2))
    if not parts:
        parts = [("note", (None, b""))]
    return {"files": parts, "headers": headers}


@FUZZ
@given(uploads())
def test_any_upload_is_a_problem_or_a_well_formed_file(app_url, upload):
    post(app_url, **upload)


# -- the original tool's failures, and each kind of hostile input on its own ----------------------------------

LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_the_billion_laughs_of_1_kb_is_refused_at_once(app_url):
    assert len(LAUGHS) < 1024
    for media_type in ("application/yaml", "application/json"):
        assert timed(requests.post, app_url + API, data=LAUGHS, headers={"Content-Type": media_type},
                     timeout=CLIENT_TIMEOUT).status_code in (400, 422)
    assert Client(app_url).post_file().status_code == 201  # and the app is still well


@pytest.mark.parametrize("field", list(SLOTS))
def test_a_billion_laughs_in_any_field_is_refused_at_once(app_url, field):
    response = post(app_url, data=config_text({field: flow_bomb(9, 9)}).encode(),
                    headers={"Content-Type": "application/yaml"})
    assert 400 <= response.status_code < 500


def test_a_1_kb_scalar_alias_bomb_is_refused_before_the_work(app_url):
    """80 aliases of a 150-byte value as parameters of 1,000 devices: 1 KB of config asking for a file
    of 12 MB per user, 600 MB for 50 users: far more than a second of work."""
    aliases = ", ".join(f"p{n}: *p" for n in range(80))
    bomb = (f"users:\n  s: {{quantity: 50, username_prefix: u, username_suffix: '1', password: p}}\n"
            f"devices:\n  d: {{quantity: 1000, name_prefix: D, name_suffix: '1', hostname_prefix: h, "
            f"hostname_suffix: '1', parameters: {{protocol: ssh, domain: &p '{'p' * 150}', {aliases}}}}}\n").encode()
    assert len(bomb) < 1200
    problem = assert_problem(post(app_url, data=bomb, headers={"Content-Type": "application/yaml"}), 413)
    assert "bytes of XML" in problem["detail"] and "80,000,000 bytes" in problem["detail"], problem


def merge_bomb(levels: int) -> bytes:
    """Each mapping merges the one before it twice (``<<: [*m4, *m4]``): 1 KB of YAML naming 2**levels
    merges, if each is followed every time it is named."""
    anchors = ["m0: &m0 {k: v}"] + [f"m{n}: &m{n} {{<<: [*m{n - 1}, *m{n - 1}]}}" for n in range(1, levels)]
    return ("\n".join(anchors) + f"\nusers:\n  s: {{<<: *m{levels - 1}, quantity: 1, username_prefix: u, "
            f"username_suffix: '1', password: random}}\ndevices:\n  d: {{quantity: 1, name_prefix: D, "
            f"name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', parameters: {{protocol: ssh}}}}\n").encode()


def test_a_merge_key_bomb_is_answered_at_once(app_url):
    bomb = merge_bomb(24)
    assert len(bomb) < 1200
    response = post(app_url, data=bomb, headers={"Content-Type": "application/yaml"})
    assert 400 <= response.status_code < 500


def test_huge_scalars_repeated_by_the_counts_are_refused_before_the_work(app_url):
    """Without any alias: a 900 KB parameter value that every one of 20 users gets on 100 devices."""
    config = (b"users:\n  s: {quantity: 20, username_prefix: u, username_suffix: '1', password: random}\n"
              b"devices:\n  d:\n    quantity: 100\n    name_prefix: D\n    name_suffix: '1'\n"
              b"    hostname_prefix: h\n    hostname_suffix: '1'\n    parameters:\n      protocol: ssh\n"
              b"      x-note: '" + b"n" * 900_000 + b"'\n")
    assert_problem(post(app_url, data=config, headers={"Content-Type": "application/yaml"}), 413)


def test_a_huge_scalar_that_stays_within_reason_is_a_well_formed_file(app_url):
    big = "&<\"'é" * 130_000  # 910 KB of YAML, every character one XML must escape or encode
    config = config_text({"router_password": f"'{big.replace(chr(39), chr(39) * 2)}'"}).encode()
    assert len(config) < MiB
    created = post(app_url, data=config, headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201


def test_a_password_with_an_ampersand_is_written_as_valid_xml(app_url):
    client = Client(app_url)
    config = config_text({"trainer_password": "'a&b<c>\"d&amp;'", "router_password": "'&&'"}).encode()
    created = client.post_raw(config, "application/yaml")
    assert created.status_code == 201, created.text
    xml = check_file(app_url, created)
    root = etree.fromstring(xml)
    assert root.find("authorize[@username='trainer1']").get("password") == 'a&b<c>"d&amp;'
    assert {p.text for p in root.iter("param") if p.get("name") == "password"} == {"&&"}


@pytest.mark.parametrize("depth", [13, 100, 10_000, 100_000])
@pytest.mark.parametrize("mapping", [False, True], ids=["lists", "mappings"])
def test_deep_nesting_is_refused_at_once(app_url, depth, mapping):
    for body in (nested(depth, mapping), config_text({"param_value": nested(depth, mapping)})):
        response = post(app_url, data=body.encode(), headers={"Content-Type": "application/yaml"})
        assert response.status_code == 400


@pytest.mark.parametrize("body", [
    b"users: \xff\xfe\n", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", CLASSROOM + b"\x80",
    bytes(range(256)) * 8, os.urandom(4096), b"\x00" * 100, CLASSROOM.decode().encode("utf-16"),
], ids=["bad-byte", "bad-continuation", "encoded-surrogate", "past-U+10FFFF", "trailing-byte", "all-bytes",
        "random", "nuls", "utf-16"])
@pytest.mark.parametrize("as_file", [False, True], ids=["raw", "multipart"])
def test_bytes_that_are_not_utf8_text_are_a_400(app_url, body, as_file):
    kwargs = ({"files": {"config": ("lab.yaml", body)}} if as_file
              else {"data": body, "headers": {"Content-Type": "application/yaml"}})
    response = post(app_url, **kwargs)
    assert response.status_code == 400
    assert response.json()["title"] == "Unreadable config" and response.json()["errors"][0]["line"] >= 1


@pytest.mark.parametrize("parts", [
    [], [("other", ("lab.yaml", CLASSROOM))], [("config", ("a.yaml", CLASSROOM)), ("config", ("b.yaml", CLASSROOM))],
    [("config", ("a.yaml", b"")), ("config", ("b.yaml", b""))], [("config", ("a.yaml", b""))],
], ids=["nothing", "no-config-field", "two-files", "two-empty-files", "one-empty-file"])
def test_multipart_without_exactly_one_config_is_a_400(app_url, parts):
    files = parts or {"x": (None, b"")}
    assert post(app_url, files=files).status_code == 400


@pytest.mark.parametrize("body", [b"", b"--b--\r\n", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",
                                  b"garbage", b"--b\r\n" * 10_000])
@pytest.mark.parametrize("media_type", ["multipart/form-data", "multipart/form-data; boundary=b",
                                        "multipart/form-data; boundary=" + "b" * 5000])
def test_broken_multipart_is_a_400(app_url, body, media_type):
    assert post(app_url, data=body, headers={"Content-Type": media_type}).status_code == 400


@pytest.mark.parametrize("media_type", [None, "", "application/octet-stream", "application/x-www-form-urlencoded",
                                        "text/html", "image/png", "application/xml", "multipart/mixed; boundary=x",
                                        "yaml", "application/yaml+evil", "-"])
def test_a_media_type_it_does_not_read_is_a_415(app_url, media_type):
    headers = {} if media_type is None else {"Content-Type": media_type}
    assert post(app_url, data=CLASSROOM, headers=headers).status_code == 415


def padded(config: bytes, size: int) -> bytes:
    """The config followed by a comment that brings it to exactly ``size`` bytes."""
    return config + b"#" + b"x" * (size - len(config) - 2) + b"\n"


@pytest.mark.parametrize("as_file", [False, True], ids=["raw", "multipart"])
def test_a_config_of_exactly_1_mib_is_read_and_one_byte_more_is_a_413(app_url, as_file):
    def send(config: bytes) -> requests.Response:
        if as_file:
            return post(app_url, files={"config": ("lab.yaml", config)})
        return post(app_url, data=config, headers={"Content-Type": "application/yaml"})

    assert send(padded(CLASSROOM, MiB)).status_code == 201
    assert_problem(send(padded(CLASSROOM, MiB + 1)), 413)


@pytest.mark.parametrize("size", [UPLOAD_FILES * MiB + MULTIPART_OVERHEAD + 1, int(HOST_BODY_LIMIT)])
def test_an_oversized_body_of_any_kind_is_a_413(app_url, size):
    """Over what any upload the app takes can be (a config and a previous sheet, each at the limit, in a form),
    whatever it claims to be, the body is refused before it is read."""
    for media_type in ("application/yaml", "multipart/form-data; boundary=b", "image/png"):
        assert_problem(post(app_url, data=b"x" * size, headers={"Content-Type": media_type}), 413)


def test_a_body_over_the_hosts_limit_is_the_hosts_413_before_the_app_reads_it(app_url):
    response = requests.post(app_url + API, data=b"x" * (int(HOST_BODY_LIMIT) + 1), timeout=CLIENT_TIMEOUT,
                             headers={"Content-Type": "application/yaml"})
    assert response.status_code == 413
    check_answer(response)


# -- cookies ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_sessions(app_url) -> tuple[Client, Client]:
    alice, bob = Client(app_url), Client(app_url)
    assert alice.post_file().status_code == 201
    assert bob.post_file((Path(REPO_ROOT) / "examples" / "original-format.yaml").read_bytes()).status_code == 201
    return alice, bob


def changed(token: str, index: int) -> str:
    """The token with the character at ``index`` replaced by another one of the same kind."""
    character = token[index]
    others = "0123456789abcdef" if character in "0123456789abcdef" else "_"
    return token[:index] + next(c for c in others if c != character) + token[index + 1:]


def cookie_headers(token: str) -> list[dict[str, str]]:
    """Ways a client might send this token, and some it might add around it."""
    return [{"Cookie": f"usermapper_session={token}"}, {"Cookie": f'usermapper_session="{token}"'},
            {"Cookie": f"other=1; usermapper_session={token}; more=2"}, {"Cookie": f"a=b, usermapper_session={token}"}]


def assert_never_the_file_of(response: requests.Response, *clients: Client) -> None:
    assert response.status_code < 500
    for client in clients:
        mine = client.get()
        assert mine.status_code == 200 and mine.content not in response.content


@pytest.mark.parametrize("position", ["partition", "row"])
def test_a_token_with_one_character_changed_finds_nothing(app_url, two_sessions, position):
    alice, bob = two_sessions
    files = [alice.get().content, bob.get().content]
    token = alice.token
    positions = range(0, 10) if position == "partition" else range(11, len(token))
    for index in positions:
        for headers in cookie_headers(changed(token, index)):
            response = timed(requests.get, app_url + API, headers=headers, timeout=CLIENT_TIMEOUT)
            assert_problem(response, 404)
            assert not any(file in response.content for file in files)
    assert [alice.get().content, bob.get().content] == files


@pytest.mark.parametrize("cookie", [
    None, "", "usermapper_session=", "usermapper_session", "=", ";;;,,,", "usermapper_session=;usermapper_session=",
    "usermapper_session=\"", "usermapper_session=garbage", "usermapper_session=" + "a" * 8192, "a" * 8192,
    "usermapper_session=" + "2026112614-" + "0" * 32 + "x" * 8000, "usermapper_session=%32%30%32%36",
    "usermapper_session=2026112614-" + "A" * 32, "usermapper_session=9999999999-" + "f" * 32,
    "usermapper_session=' or PartitionKey ne '", "usermapper_session=../../etc/passwd",
    "usermapper_session=\u00e9\u00e9", "usermapper_session=\t x",
], ids=lambda c: repr(c)[:40])
@pytest.mark.parametrize("route", [API, API + "/credentials"])
def test_missing_empty_malformed_or_huge_cookies_are_a_404(app_url, two_sessions, cookie, route):
    headers = {} if cookie is None else {"Cookie": cookie}
    response = timed(requests.get, app_url + route, headers=headers, timeout=CLIENT_TIMEOUT)
    assert_problem(response, 404)
    assert_never_the_file_of(response, *two_sessions)


@pytest.mark.parametrize("cookie", ["", "garbage", "a" * 8192, "2026112614-" + "A" * 32])
def test_a_post_or_delete_with_a_bad_cookie_starts_afresh(app_url, two_sessions, cookie):
    client = Client(app_url)
    client.cookie = cookie
    created = timed(client.post_file)
    assert created.status_code == 201
    assert client.token and client.token != cookie
    assert client.get().content.count(b"<authorize ") == 13
    client.cookie = cookie
    assert timed(client.delete).status_code == 204
    alice, bob = two_sessions
    assert alice.get().status_code == 200 and bob.get().status_code == 200


def test_a_token_of_an_expired_session_is_a_404_and_a_post_starts_afresh(app_host, azurite):
    with app_host(azurite.connection_string, table="hostileexpiry", USERMAPPER_SESSION_SECONDS="1") as app:
        client = Client(app.url, timeout=CLIENT_TIMEOUT)
        assert client.post_file().status_code == 201
        expired = client.cookie
        other = Client(app.url, timeout=CLIENT_TIMEOUT)
        time.sleep(1.1)
        for route in (API, API + "/credentials"):
            assert_problem(timed(client.get, route), 404)
        assert other.post_file().status_code == 201  # a live session next to the expired one
        assert_never_the_file_of(timed(client.get), other)
        created = timed(client.post_file)
        assert created.status_code == 201 and client.token != expired
        assert timed(client.get).status_code == 200
        client.cookie = expired
        assert timed(client.delete).status_code == 204


# -- paths and headers: nothing outside static/ ---------------------------------------------------------------

STATIC = {p.read_bytes() for p in (Path(REPO_ROOT) / "static").iterdir() if p.is_file()}
PRIVATE = [Path(REPO_ROOT) / name for name in ("function_app.py", "local.settings.example.json", "host.json",
                                               "requirements.txt", "local.settings.json", ".gitignore",
                                               "pyproject.toml")]


def private_lines() -> set[bytes]:
    """Lines of the private files that no page asset holds: seeing one in an answer means a leak."""
    lines = {line.strip() for path in PRIVATE if path.exists() for line in path.read_bytes().splitlines()}
    return {line for line in lines if len(line) >= 12 and not any(line in asset for asset in STATIC)}


PRIVATE_LINES = private_lines()

TRICKS = [
    "/static/../function_app.py", "/static/..%2Ffunction_app.py", "/static/..%2ffunction_app.py",
    "/static/..%5Cfunction_app.py", "/static/..%5chost.json", "/static/%2e%2e/host.json",
    "/static/%2e%2e%2fhost.json", "/static/%252e%252e%252fhost.json", "/static/..%252Fhost.json",
    "/static/%c0%ae%c0%ae/host.json", "/static/..\\host.json", "/static/./../requirements.txt",
    "/static//../host.json", "/static/app.js/../../host.json", "/static/app.js%00.py", "/static/%00",
    "/static/", "/static", "/static/.", "/static/..", "/static/...", "/static/.gitignore",
    "/static/index.html/..", "/STATIC/../HOST.JSON", "/Static/app.js", "/api/../function_app.py",
    "/api/usermapping/../../host.json", "/api/usermapping/..%2F..%2Fhost.json", "/../host.json",
    "/%2e%2e/host.json", "//host.json", "///etc/passwd", "/download/../.env", "/.env", "/function_app.py",
    "/host.json", "/requirements.txt", "/local.settings.json", "/local.settings.example.json",
    "/static/" + "../" * 50 + "etc/passwd", "/static/" + "a" * 5000, "/?file=../host.json", "/index.html",
    "/static/index.html?../../host.json", "/static/index.html#/../../host.json",
    "http://evil/static/../function_app.py", "http://evil/static/..%2Fhost.json", "http://127.0.0.1/host.json",
    "http://evil/../requirements.txt", "//evil/static/app.js", "*", "../host.json", "host.json",
    "static/../host.json", "file:///etc/passwd", "http://[::1]/../local.settings.example.json",
]
HOSTS = ["127.0.0.1", "evil", "", "../../", "localhost:7071/../..", "a" * 4000, "127.0.0.1\r\nX-Injected: 1"]


def raw_get(port: int, target: str, host: str | None) -> tuple[int, bytes]:
    """Send a request line exactly as written, over a plain socket; return the status and body."""
    lines = [f"GET {target} HTTP/1.1"] + ([f"Host: {host}"] if host is not None else []) + ["Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
        except http.client.RemoteDisconnected:
            return 0, b""  # the server refused the request outright: nothing was served
        return response.status, response.read()


@pytest.fixture(scope="module")
def app_port(app_url) -> int:
    return int(app_url.rsplit(":", 1)[1])


def assert_nothing_private(status: int, body: bytes) -> None:
    assert status < 500, status
    if status == 200:
        assert body in STATIC, body[:200]
    leaked = [line for line in PRIVATE_LINES if line in body]
    assert not leaked, leaked[:3]


@pytest.mark.parametrize("target", TRICKS)
def test_path_tricks_serve_nothing_outside_static(app_port, target):
    for host in ("127.0.0.1", "evil"):
        status, body = raw_get(app_port, target, host)
        assert_nothing_private(status, body)


@pytest.mark.parametrize("host", HOSTS + [None], ids=lambda h: repr(h)[:30])
def test_host_header_tricks_serve_nothing_outside_static(app_port, host):
    for target in ("/", "/static/app.js", "/static/../host.json", "http://evil/static/../function_app.py"):
        status, body = raw_get(app_port, target, host)
        assert_nothing_private(status, body)


def test_the_private_lines_are_a_real_check():
    """The leak check would see the files if they were served."""
    assert len(PRIVATE_LINES) > 20
    for path in PRIVATE[:4]:
        assert any(line in path.read_bytes() for line in PRIVATE_LINES), path


def test_the_page_and_its_assets_are_served(app_port):
    assert raw_get(app_port, "/", "127.0.0.1")[0] == 200
    for name in ("app.js", "style.css", "index.html"):
        status, body = raw_get(app_port, f"/static/{name}", "127.0.0.1")
        assert status == 200 and body == (Path(REPO_ROOT) / "static" / name).read_bytes()
