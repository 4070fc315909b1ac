"""End to end over real HTTP: function_app under each host of ``apphost.HOSTS``, backed by a real Azurite."""

from __future__ import annotations

import ast
import hashlib
import html
import http.client
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml
import zstandard
from lxml import etree

from httpclient import API, CLASSROOM, EXAMPLES, PROBLEM_SECTIONS, Client, assert_problem, set_cookies, with_cookie
from sessiontables import SessionTables
from usermapper.web.problems import PROBLEMS
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.session_keys import locate
from usermapper.web.store import SessionStore
from usermapper.web.routes import MAX_ENDED_SESSIONS, Api, Request


REPO = EXAMPLES.parent


@pytest.fixture
def client(app_url) -> Client:
    return Client(app_url)


# -- the flow ------------------------------------------------------------------------------------------------

def test_upload_then_download_gives_the_file_the_upload_built(client):
    created = client.post_file()
    assert created.status_code == 201, created.text
    summary = created.json()
    assert (summary["users"], summary["connections"]) == (13, 65)
    assert summary["passwords"] == {"generated": True, "hashed": False, "spreadsheet_warning": None}
    assert created.headers["Location"] == API

    downloaded = client.get()
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Disposition"] == 'attachment; filename="user-mapping.xml"'
    assert downloaded.headers["Cache-Control"] == "no-store"
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
    assert len(downloaded.content) == summary["bytes"]
    assert hashlib.sha256(downloaded.content).hexdigest() == summary["sha256"]
    assert downloaded.content.startswith(summary["preview"].encode())
    assert len(etree.fromstring(downloaded.content).findall("authorize")) == 13


def test_asking_for_json_gives_the_summary_again(client):
    """The page, reloaded, asks what it has; browsers and curl (Accept */*) still get the file."""
    summary = client.post_file().json()
    again = client.get(headers={"Accept": "application/json"})
    assert again.status_code == 200
    assert again.json() == summary
    assert client.get(headers={"Accept": "*/*"}).content.startswith(b"<?xml")
    assert client.get(headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}).content.startswith(b"<?xml")
    client.delete()
    assert_problem(client.get(headers={"Accept": "application/json"}), 404)


def test_session_cookie_has_the_documented_attributes(client):
    cookie, = set_cookies(client.post_file())
    name_value, *attributes = [part.strip().lower() for part in cookie.split(";")]
    assert name_value.startswith("usermapper_session=")
    assert {"max-age=3600", "path=/api", "httponly", "samesite=lax"} <= set(attributes)
    assert "secure" not in attributes  # plain http on localhost


@pytest.mark.parametrize("media_type", ["application/yaml", "text/yaml"])
def test_raw_body_is_accepted(client, media_type):
    created = client.post_raw(CLASSROOM, media_type)
    assert created.status_code == 201, created.text
    assert created.json()["connections"] == 65


def test_json_body_is_accepted(client):
    created = client.post_raw(json.dumps(yaml.safe_load(CLASSROOM)).encode(), "application/json")
    assert created.status_code == 201, created.text
    assert created.json()["users"] == 13


def test_accept_xml_returns_the_file_itself(client):
    created = client.post_file(Accept="application/xml")
    assert created.status_code == 200
    assert created.headers["Content-Disposition"] == 'attachment; filename="user-mapping.xml"'
    assert created.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert client.get().content == created.content


def test_zstd_download_is_the_stored_bytes_and_decodes_to_the_file(client):
    client.post_file()
    plain = client.get().content
    compressed = client.get(headers={"Accept-Encoding": "zstd"}, stream=True)
    assert compressed.headers["Content-Encoding"] == "zstd"
    sent = compressed.raw.read(decode_content=False)
    assert len(sent) < len(plain) / 5
    assert zstandard.ZstdDecompressor().decompressobj().decompress(sent) == plain


@pytest.mark.parametrize("accept_encoding", ["gzip, zstd;q=0", "identity", "gzip, deflate"])
def test_a_client_that_does_not_accept_zstd_gets_plain_xml(client, accept_encoding):
    client.post_file()
    plain = client.get(headers={"Accept-Encoding": accept_encoding}, stream=True)
    assert "Content-Encoding" not in plain.headers
    assert plain.raw.read(decode_content=False).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_credentials_as_csv_and_json(client):
    client.post_file()
    sheet = client.get(API + "/credentials")
    assert sheet.status_code == 200
    assert sheet.headers["Content-Type"].startswith("text/csv")
    lines = sheet.text.splitlines()
    assert lines[0] == "type,username,password" and len(lines) == 14
    credentials = client.get(API + "/credentials", headers={"Accept": "application/json"}).json()["credentials"]
    assert credentials[0] == {"type": "trainers", "username": "trainer1", "password": "Lab-Trainer-2026"}
    assert len({row["password"] for row in credentials[1:]}) == 12



def test_a_sheet_holding_formula_cells_is_exact_named_in_the_summary_and_offered_as_a_json_file(client):
    config = CLASSROOM.replace(b"password: Lab-Trainer-2026", b"password: '=Lab+Trainer'")
    summary = client.post_file(config).json()
    assert summary["passwords"]["spreadsheet_warning"] == (
        "a spreadsheet would run 1 cell of the credentials sheet as formulas (row 2 password); they are written "
        "exactly, so open the sheet with every column as text, or download its JSON form "
        "(/api/usermapping/credentials?format=json)")
    assert client.get(API + "/credentials").text.splitlines()[1] == "trainers,trainer1,=Lab+Trainer"
    as_file = client.get(API + "/credentials?format=json")
    assert as_file.headers["Content-Disposition"] == 'attachment; filename="credentials.json"'
    assert as_file.json()["credentials"][0]["password"] == "=Lab+Trainer"
    assert client.post_file().json()["passwords"]["spreadsheet_warning"] is None


def test_delete_ends_the_session_at_once_and_is_idempotent(client):
    client.post_file()
    token = client.cookie
    ended = client.delete()
    assert ended.status_code == 204
    assert "max-age=0" in set_cookies(ended)[0].lower()
    assert_problem(with_cookie(client.base, token), 404)
    assert_problem(client.get(), 404)
    assert requests.delete(client.base + API, headers={"Cookie": f"usermapper_session={token}"},
                           timeout=30).status_code == 204


def test_a_new_upload_replaces_the_old_file_and_the_old_cookie_reads_nothing(client):
    client.post_file()
    old_cookie = client.cookie
    client.post_file((EXAMPLES / "original-format.yaml").read_bytes())
    assert client.cookie != old_cookie
    assert_problem(with_cookie(client.base, old_cookie), 404)
    assert client.get().content.count(b"<authorize ") == 12


def test_a_planted_cookie_never_reads_the_file_its_browser_makes_next(app_url):
    """Session fixation: a cookie planted in the trainer's browser (on localhost a page of another port can
    set it) names the planter's session, which the trainer's upload rewrites in place with a new secret."""
    planter, trainer = Client(app_url), Client(app_url)
    planter.post_file((EXAMPLES / "original-format.yaml").read_bytes())
    trainer.cookie = planter.cookie
    mine = trainer.post_file().json()
    assert trainer.token == planter.token and trainer.cookie != planter.cookie
    assert_problem(planter.get(), 404)
    assert hashlib.sha256(trainer.get().content).hexdigest() == mine["sha256"]
    assert_problem(planter.post_file(), 409)  # the planter's stale version cannot replace it either
    assert hashlib.sha256(trainer.get().content).hexdigest() == mine["sha256"]


def test_two_clients_never_see_each_others_file(app_url):
    alice, bob, stranger = Client(app_url), Client(app_url), Client(app_url)
    alice.post_file()
    bob.post_file((EXAMPLES / "original-format.yaml").read_bytes())
    assert alice.get().content.count(b"<authorize ") == 13
    assert bob.get().content.count(b"<authorize ") == 12
    assert_problem(stranger.get(), 404)


# -- errors ------------------------------------------------------------------------------------------------

def test_invalid_config_is_a_422_naming_field_and_line(client):
    problem = assert_problem(client.post_file((EXAMPLES / "invalid/missing-quantity.yaml").read_bytes()), 422)
    assert {"path": "users.students.quantity", "line": 5, "column": 5, "message": "is missing"} in problem["errors"]


def test_unreadable_yaml_is_a_400_with_line_and_column(client):
    problem = assert_problem(client.post_file((EXAMPLES / "invalid/not-yaml.yaml").read_bytes()), 400)
    assert problem["errors"][0]["line"] == 4


def test_oversized_config_is_a_413(client):
    huge = b"# " + b"x" * (1 << 20) + b"\n" + CLASSROOM
    assert_problem(client.post_raw(huge, "application/yaml"), 413)


@pytest.mark.parametrize("media_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_unknown_media_type_is_a_415_that_says_what_to_send(client, media_type):
    """text/plain included: it is what a form on any site can send (enctype="text/plain")."""
    problem = assert_problem(client.post_raw(CLASSROOM, media_type), 415)
    assert "-F config=@lab.yaml" in problem["detail"]


@pytest.mark.parametrize("files", [
    {"other": ("lab.yaml", CLASSROOM)},
    [("config", ("a.yaml", CLASSROOM)), ("config", ("b.yaml", CLASSROOM))],
], ids=["no config field", "two config fields"])
def test_multipart_without_exactly_one_config_is_a_400(client, files):
    assert_problem(client.request("POST", files=files), 400)


def multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"XyZ", closed: bool = True) -> bytes:
    """A multipart body written by hand, byte for byte: each part is (Content-Disposition's parameters, content)."""
    body = b"".join(b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n" % (boundary, disposition, content)
                    for disposition, content in parts)
    return body + (b"--%s--\r\n" % boundary if closed else b"")


LATIN1 = CLASSROOM.replace(b"Lab-Trainer-2026", "Lab-Trainör".encode("latin-1"))


@pytest.mark.parametrize("route", [API, API + "/check"])
def test_a_config_that_is_not_utf8_is_refused_at_its_place_however_it_is_sent(client, route):
    """A plain form field (curl -F 'config=<lab.yaml', no filename) reaches the same check as a file part
    and a raw body: never decoded with replacement characters into another config."""
    as_file = client.request("POST", route, files={"config": ("lab.yaml", LATIN1, "application/yaml")})
    as_field = client.request("POST", route, data=multipart((b'name="config"', LATIN1)),
                              headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    as_body = client.request("POST", route, data=LATIN1, headers={"Content-Type": "application/yaml"})
    answers = [as_file, as_field, as_body]
    if route == API:
        problems = [assert_problem(answer, 400) for answer in answers]
    else:
        problems = [answer.json()["problem"] for answer in answers]
    assert problems[0]["title"] == "Unreadable config"
    assert "not UTF-8" in problems[0]["detail"] and "0xf6" in problems[0]["detail"]
    assert problems[1] == problems[0] == problems[2]


def test_a_plain_form_field_keeps_its_utf8_text_exactly(client):
    config = CLASSROOM.replace(b"Lab-Trainer-2026", "Lab-Trainör-2026".encode())
    created = client.request("POST", data=multipart((b'name="config"', config)),
                             headers={"Content-Type": "multipart/form-data; boundary=XyZ", "Accept": "application/xml"})
    assert created.status_code == 200, created.text
    assert 'password="Lab-Trainör-2026"'.encode() in created.content


@pytest.mark.parametrize("content_type, body, said", [
    ("multipart/form-data", multipart((b'name="config"', CLASSROOM)), "names no boundary"),
    ("multipart/form-data; boundary=other", multipart((b'name="config"', CLASSROOM)),
     "no part of it starts with the boundary its Content-Type names (--other)"),
    ("multipart/form-data; boundary=XyZ", multipart((b'name="config"', CLASSROOM), closed=False),
     "without the closing boundary --XyZ--"),
    ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nX-Other: 1\r\n\r\n" + CLASSROOM + b"\r\n--XyZ--\r\n",
     "no Content-Disposition"),
    ("multipart/form-data; boundary=" + "b" * 71, multipart((b'name="config"', CLASSROOM), boundary=b"b" * 71),
     "1 to 70 ASCII characters"),
    ("multipart/form-data; boundary=XyZ", multipart(*[(b'name="a"', b"x")] * 101), "more than 100 parts"),
], ids=["no boundary", "wrong boundary", "no closing boundary", "no disposition", "long boundary", "many parts"])
@pytest.mark.parametrize("route", [API, API + "/check"])
def test_a_multipart_body_that_cannot_be_parsed_is_a_400_that_says_why(client, content_type, body, said, route):
    problem = assert_problem(client.request("POST", route, data=body, headers={"Content-Type": content_type}), 400)
    assert problem["title"] == "Unreadable upload"
    assert said in problem["detail"]


@pytest.mark.parametrize("body", [multipart((b'name="other"', CLASSROOM)), b"--XyZ--\r\n"],
                         ids=["another field", "no parts"])
def test_a_well_formed_multipart_body_without_config_says_so(client, body):
    problem = assert_problem(client.request("POST", data=body,
                                            headers={"Content-Type": "multipart/form-data; boundary=XyZ"}), 400)
    assert problem["title"] == "No config in the upload"
    assert "held no field of that name" in problem["detail"]


UNKNOWN_TOKENS = ["", "garbage", "2026112614-" + "0" * 32, "2026112615-4f1d2c3b-0a9e-4c7d-8b6a-5e4f3d2c1b0a",
                  "x" * 4000, "../../etc/passwd"]


@pytest.mark.parametrize("token", UNKNOWN_TOKENS, ids=["empty", "garbage", "old-layout", "unknown", "long", "path"])
def test_unknown_or_malformed_cookie_is_a_404(app_url, token):
    assert_problem(with_cookie(app_url, token), 404)


def test_tampered_token_or_secret_is_a_404_not_someone_elses_file(client):
    """The cookie is the session's token, its secret and the version of it the browser saw, between '.'s:
    a version changed by hand only costs the next write a read (tests/test_store.py); a token or secret
    changed by hand reads nothing."""
    client.post_file()
    token, secret, version = client.cookie.split(".")
    assert token == client.token and len(secret) == 22 and version
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert_problem(with_cookie(client.base, f"{tampered}.{secret}.{version}"), 404)
    assert_problem(with_cookie(client.base, f"{token}.{secret.swapcase()}.{version}"), 404)
    assert_problem(with_cookie(client.base, f"{token}.{version}"), 404)
    assert_problem(with_cookie(client.base, tampered), 404)
    assert with_cookie(client.base, client.cookie).status_code == 200


def test_a_session_cookie_smuggled_after_a_comma_in_another_cookie_is_not_a_session(app_url):
    """A sibling subdomain may set ``foo=a,<name>=<token>``: one cookie named foo, which browsers keep and
    send as it is. Only a cookie-pair of its own, between ';', is the session cookie (RFC 6265 5.4)."""
    name = "usermapper_session"
    planted, real = Client(app_url), Client(app_url)
    planted.post_file((EXAMPLES / "original-format.yaml").read_bytes())
    mine = real.post_file().json()

    def send(method: str, cookie: str) -> requests.Response:
        return requests.request(method, app_url + API, headers={"Cookie": cookie}, timeout=30)

    both = send("GET", f"foo=a,{name}={planted.cookie}; {name}={real.cookie}")
    assert both.status_code == 200, both.text
    assert hashlib.sha256(both.content).hexdigest() == mine["sha256"]
    assert_problem(send("GET", f"foo=a,{name}={planted.cookie}"), 404)
    assert send("DELETE", f"foo=a,{name}={planted.cookie}").status_code == 204
    assert planted.get().status_code == 200  # a DELETE ends only the sessions the request really names


@pytest.mark.parametrize("cookie, tokens", [
    ("foo=a,__Host-usermapper_session=planted; __Host-usermapper_session=real", ["real"]),
    ("foo=a,__Host-usermapper_session=planted", []),
    ("__Host-usermapper_session=\"real\"; other=x", ["real"]),
    ("x__Host-usermapper_session=planted; __Host-usermapper_session", []),
])
def test_only_a_cookie_pair_of_its_own_is_the_https_session_cookie(cookie, tokens):
    request = Request("GET", "https://lab.example.org/api/usermapping", {"cookie": cookie})
    assert request.session_tokens == tokens


# -- the page and its assets -------------------------------------------------------------------------------

def test_page_is_served_with_a_strict_content_security_policy(app_url):
    page = requests.get(app_url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(app_url + "/static/app.js", timeout=10).headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/static/..%2Ffunction_app.py", "/static/%2e%2e%2flocal.settings.json",
                                  "/static/nothing.js", "/api/../function_app.py", "/function_app.py",
                                  "/static/.gitignore"])
def test_nothing_outside_static_is_served(app_url, path):
    response = requests.get(app_url + path, timeout=10)
    assert response.status_code == 404
    assert b"import" not in response.content and b"AzureWebJobs" not in response.content


def test_health_answers_when_storage_does(app_url):
    assert requests.get(app_url + "/api/health", timeout=10).json() == {"status": "ok"}


# -- time and faults (their own app and storage, so they disturb nobody) ------------------------------------

def test_expiry_is_exact_even_before_the_sweep(app_host, azurite):
    with app_host(azurite.connection_string, table="shortlived", USERMAPPER_SESSION_SECONDS="2") as app:
        client = Client(app.url)
        created = client.post_file()
        assert "max-age=2" in set_cookies(created)[0].lower()
        assert client.get().status_code == 200
        time.sleep(2.2)
        assert_problem(client.get(), 404)


def test_storage_down_is_a_quick_503_and_the_app_recovers(app_host, private_azurite):
    with app_host(private_azurite.connection_string) as app:
        client = Client(app.url)
        assert client.post_file().status_code == 201
        private_azurite.stop()
        for call in (client.post_file, client.get, client.delete, lambda: client.get("/api/health")):
            started = time.monotonic()
            answer = call()
            assert time.monotonic() - started < 10
            problem = assert_problem(answer, 503)
            assert int(answer.headers["Retry-After"]) > 0
            assert "try again" in problem["detail"]
        private_azurite.start()
        assert client.post_file().status_code == 201
        assert client.get().status_code == 200


# -- cross-origin requests, with the headers browsers send (the page tests send them from real pages) --------

def victim(app_url) -> Client:
    client = Client(app_url)
    client.post_file()
    return client


def assert_untouched(client: Client, token: str, sha256: str) -> None:
    assert client.token == token
    assert hashlib.sha256(client.get().content).hexdigest() == sha256


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "null"},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://{host}"},
], ids=["cross-site", "same-site", "cross-site without Origin", "same-site sandboxed", "old browser",
        "old browser sandboxed", "old browser other scheme"])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_state_changing_request_from_another_origin_is_a_403_and_changes_nothing(app_url, headers, method):
    client = victim(app_url)
    token, sha256 = client.token, client.post_file().json()["sha256"]
    token = client.token
    host = app_url.removeprefix("http://")
    forged = {name: value.format(host=host) for name, value in headers.items()}
    if method == "POST":
        response = client.request("POST", files={"config": ("lab.yaml", b"users: {}", "application/yaml")},
                                  headers=forged)
    else:
        response = client.request("DELETE", headers=forged)
    problem = assert_problem(response, 403)
    assert "Only usermapper's own page" in problem["detail"]
    assert not set_cookies(response)
    assert_untouched(client, token, sha256)


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://{host}"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": "http://{host}"},
    {"Origin": "https://usermapper.example", "X-Forwarded-Host": "usermapper.example",
     "X-Forwarded-Proto": "https"},
    {},
], ids=["same-origin", "typed by the user", "old browser same origin", "behind a front end", "curl"])
def test_a_request_from_the_apps_own_origin_or_no_page_passes(app_url, headers):
    host = app_url.removeprefix("http://")
    client = victim(app_url)
    sent = {name: value.format(host=host) for name, value in headers.items()}
    assert client.post_file(**sent).status_code == 201
    assert client.delete(headers=sent).status_code == 204


def test_allowed_origins_may_post(app_host, azurite):
    with app_host(azurite.connection_string, table="allowedorigins",
                 USERMAPPER_ALLOWED_ORIGINS="https://lab.example.org, http://127.0.0.1:9") as app:
        client = Client(app.url)
        for origin in ("https://lab.example.org", "http://127.0.0.1:9"):
            assert client.post_file(Origin=origin, **{"Sec-Fetch-Site": "cross-site"}).status_code == 201
        assert_problem(client.post_file(Origin="https://lab.example.org.evil"), 403)


# -- every method on every route ---------------------------------------------------------------------------

ROUTES = {API: "POST, GET, DELETE, HEAD", API + "/credentials": "GET, HEAD", "/api/health": "GET, HEAD",
          "/": "GET, HEAD", "/static/app.js": "GET, HEAD", API + "/check": "POST"}


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "PATCH", "TRACE", "PROPFIND", "POST", "DELETE"])
@pytest.mark.parametrize("path", list(ROUTES))
def test_every_route_answers_every_method(app_url, path, method):
    allowed = ROUTES[path]
    if method in allowed.split(", "):
        return
    response = requests.request(method, app_url + path, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if method != "HEAD":  # a HEAD answer never has a body
        assert_problem(response, 405)


def raw_exchange(app_url: str, request: bytes) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    host, port = app_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("path", [path for path, allowed in ROUTES.items() if "HEAD" in allowed])
def test_every_route_that_serves_get_answers_head_as_get_without_a_body(client, path):
    """RFC 9110 9.1: wherever GET is served, HEAD is too, with GET's status and headers and no body (so
    `curl -I` works). On a kept-alive connection the next answer starts right after the HEAD's headers."""
    client.post_file()
    got, headed = client.request("GET", path), client.request("HEAD", path)
    assert headed.status_code == got.status_code and headed.content == b""
    for name in ("Content-Type", "Cache-Control", "X-Content-Type-Options", "Content-Disposition", "ETag"):
        assert headed.headers.get(name) == got.headers.get(name), name
    host = client.base.removeprefix("http://")
    cookie = f"Cookie: usermapper_session={client.cookie}\r\n".encode()
    both = raw_exchange(client.base, b"HEAD %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path.encode(), host.encode(),
                                                                                      cookie)
                        + b"GET /api/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
    head, _, rest = both.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % got.status_code)
    assert rest.startswith(b"HTTP/1.1 200 "), rest[:100]


@pytest.mark.parametrize("target", ["/static/../api/health", "/api/usermapping/%2E%2E/health", "/api/./health"])
def test_dot_segments_are_removed_before_routing_as_kestrel_removes_them(app_url, target):
    """Kestrel decodes the path, then removes its dot segments (RFC 3986 5.2.4) before the host routes it."""
    answer = raw_exchange(app_url, f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and b'{"status": "ok"}' in answer, answer[:200]


def test_two_cookie_lines_reach_the_app_joined_with_a_comma_so_the_second_is_no_session(client):
    """Browsers send one Cookie line. The Functions host joins a repeated header's lines with "," for HTTP/1.1
    (Cookie too: `theme=dark,usermapper_session=...`), and a session cookie is only a pair of its own between
    ';' (see the comma test above), so a session sent on a second line is not read: one line works."""
    client.post_file()
    connection = http.client.HTTPConnection(client.base.removeprefix("http://"), timeout=30)
    connection.putrequest("GET", API)
    connection.putheader("Cookie", "theme=dark")
    connection.putheader("Cookie", f"usermapper_session={client.cookie}")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 404, response.read()
    connection.close()
    assert with_cookie(client.base, f"{client.cookie}; theme=dark").status_code == 200


# -- chunked bodies, which the Functions host drops -----------------------------------------------------------

def test_a_chunked_upload_is_a_411_that_says_to_send_content_length(client):
    response = client.request("POST", data=iter([CLASSROOM]), headers={"Content-Type": "application/yaml"})
    problem = assert_problem(response, 411)
    assert "--data-binary" in problem["detail"]
    assert client.token is None


def test_an_empty_body_with_content_length_is_still_an_empty_config(client):
    assert_problem(client.post_raw(b"", "application/yaml"), 400)


# -- a download names the file its page shows ---------------------------------------------------------------

def test_a_download_naming_the_current_file_gets_it(client):
    sha256 = client.post_file().json()["sha256"]
    assert client.get(headers={"If-Match": f'"{sha256}"'}).status_code == 200
    assert client.get(API + f"?sha256={sha256}").status_code == 200
    assert client.get(API + "/credentials", headers={"If-Match": f'"{sha256}"'}).status_code == 200
    assert client.get(API + f"/credentials?sha256={sha256}").status_code == 200


def test_a_download_naming_a_replaced_file_is_a_412_or_409_not_the_new_file(client):
    first = client.post_file().json()["sha256"]
    second = client.post_file((EXAMPLES / "original-format.yaml").read_bytes()).json()["sha256"]
    assert first != second
    for path in (API, API + "/credentials"):
        stale = client.get(path, headers={"If-Match": f'"{first}"', "Accept": "application/json"})
        assert assert_problem(stale, 412)["title"] == "The file was replaced"
        assert "authorize" not in stale.text and "student" not in stale.text
        assert_problem(client.get(path + f"?sha256={first}"), 409)
    assert client.get(headers={"If-Match": f'"{second}"'}).content.count(b"<authorize ") == 12


# -- races between requests of one browser ------------------------------------------------------------------

ROUNDS = 6


def live_files(storage: str, table: str) -> set[str]:
    """Tokens of the sessions that still hold a file (not tombstones)."""
    return SessionTables(storage, table).files()


def final_cookie(start: str, responses: list[requests.Response]) -> str | None:
    """What a browser's cookie says once the responses arrived, in the order given (a token, its secret
    and the version of the session it saw, between '.'s)."""
    cookie = start
    for response in responses:
        for header in set_cookies(response):
            value = header.split(";")[0].split("=", 1)[1]
            cookie = None if "max-age=0" in header.lower() else value
    return cookie


def token_of(cookie: str) -> str:
    return cookie.partition(".")[0]


@pytest.fixture
def race_app(app_host, azurite):
    with app_host(azurite.connection_string, table="races") as app:
        yield app, azurite.connection_string, "races"


def race(client: Client, *calls) -> list[tuple[float, requests.Response]]:
    """Send the calls at once (each with the client's current cookie); each answer with when it arrived."""
    start = threading.Barrier(len(calls))

    def send(call):
        start.wait()
        response = call()
        return time.monotonic(), response

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def cookie_headers(token: str) -> dict:
    return {"Cookie": f"usermapper_session={token}"}


def test_concurrent_uploads_with_one_cookie_leave_one_live_file_the_cookie_names(race_app):
    app, storage, table = race_app
    started = time.monotonic()
    for round_ in range(ROUNDS):
        client = Client(app.url)
        client.post_file()
        token = client.cookie if round_ % 2 else client.token  # the version's one request; the read's way
        post = lambda: requests.post(app.url + API, headers=cookie_headers(token), timeout=30,  # noqa: E731
                                     files={"config": ("lab.yaml", CLASSROOM, "application/yaml")})
        answers = race(client, post, post, post)
        assert sorted(r.status_code for _, r in answers) == [201, 409, 409]
        cookie = final_cookie(token, [r for _, r in sorted(answers, key=lambda a: a[0])])
        assert live_files(storage, table) & {token_of(cookie), token_of(token)} == {token_of(cookie)}
        requests.delete(app.url + API, headers=cookie_headers(cookie), timeout=30)
        assert live_files(storage, table) == set()
    assert time.monotonic() - started < 60


def test_start_over_racing_an_upload_leaves_no_live_file(race_app):
    app, storage, table = race_app
    started = time.monotonic()
    for round_ in range(ROUNDS * 2):
        client = Client(app.url)
        client.post_file()
        token = client.cookie if round_ % 2 else client.token
        post = lambda: requests.post(app.url + API, headers=cookie_headers(token), timeout=30,  # noqa: E731
                                     files={"config": ("lab.yaml", CLASSROOM, "application/yaml")})
        delete = lambda: requests.delete(app.url + API, headers=cookie_headers(token), timeout=30)  # noqa: E731
        answers = race(client, post, delete)
        assert {r.status_code for _, r in answers} <= {201, 204, 409}
        assert live_files(storage, table) == set()
        cookie = final_cookie(token, [r for _, r in sorted(answers, key=lambda a: a[0])])
        if cookie:
            assert_problem(requests.get(app.url + API, headers=cookie_headers(cookie), timeout=30), 404)
    assert time.monotonic() - started < 60


# -- sessions saved by an older version ----------------------------------------------------------------------

def assert_generate_it_again(client: Client) -> None:
    for path, accept in [(API, "*/*"), (API, "application/json"), (API + "/credentials", "*/*")]:
        problem = assert_problem(client.get(path, headers={"Accept": accept}), 404)
        assert problem["title"] == "No file for this session" and "Generate it again" in problem["detail"]


def test_a_session_saved_before_summaries_and_schema_versions_is_a_404_generate_it_again(client, azurite):
    client.post_file()
    tables = SessionTables(azurite.connection_string, "endtoend")
    entity = tables.entity(client.token)
    tables.rewrite(client.token, {k: v for k, v in entity.items() if not k.startswith(("Summary", "SchemaVersion"))})
    assert_generate_it_again(client)
    assert client.post_file().status_code == 201


def test_a_cookie_of_the_one_table_layout_is_a_404_generate_it_again_and_can_be_replaced(app_url):
    """Before one table per hour, a token was the creation hour and 32 hex digits."""
    client = Client(app_url)
    client.cookie = "2026112614-" + "5" * 32
    assert_generate_it_again(client)
    assert client.post_file().status_code == 201 and client.get().status_code == 200


def test_a_download_of_a_session_whose_table_was_swept_is_a_404_generate_it_again(app_host, azurite):
    with app_host(azurite.connection_string, table="sweptaway") as app:
        client = Client(app.url)
        client.post_file()
        assert client.get().status_code == 200
        later = datetime.now(timezone.utc) + timedelta(hours=3)
        settings = Settings(storage=StorageTarget(connection_string=azurite.connection_string), table_name="sweptaway")
        swept = SessionStore.from_settings(settings, clock=lambda: later).sweep().tables
        # The app's own timer may have made the coming hour's table meanwhile: the sweep takes that too.
        assert locate("sweptaway", client.token).table in swept
        assert_generate_it_again(client)
        assert client.delete().status_code == 204
        assert client.post_file().status_code == 201 and client.get().status_code == 200
        assert "Traceback" not in app.log()


def raised_problem_keys() -> list[str | None]:
    """The key of every problem usermapper/web raises or answers with (None where it is not written out)."""
    calls = [node for path in (REPO / "usermapper" / "web").glob("*.py") if path.name != "problems.py"
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("HTTPProblem", "problem_response")]
    return [call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None for call in calls]


def test_every_problem_the_api_can_answer_has_a_section_that_explains_it(app_url):
    """Every problem the API answers with is raised by a key of the one table (usermapper/web/problems.py),
    and every problem of the table is raised somewhere; the served problems page has a section for each
    4xx of the table, titled as the API titles it; the page's scripts read the table from the app, never a
    copy, and name only problems it has."""
    keys = raised_problem_keys()
    assert len(keys) >= 20 and None not in keys
    assert set(keys) == set(PROBLEMS)

    page = requests.get(app_url + "/static/problems.html", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    sections = re.findall(r'<section class="problem-help" id="([^"]+)" aria-labelledby="\1-title">\s*'
                          r'<h2 id="\1-title">([^<]+)</h2>', page.text)
    assert {key: html.unescape(title) for key, title in sections} == {
        kind.key: kind.title for kind in PROBLEMS.values() if kind.has_section} and len(sections) >= 15
    assert set(PROBLEM_SECTIONS) == {key for key, _ in sections}

    module = requests.get(app_url + "/static/problemtable.js", timeout=10)
    assert module.status_code == 200 and module.headers["Content-Type"].startswith("text/javascript")
    served = json.loads(module.text[module.text.index("["):module.text.rindex("]") + 1])
    assert [(k["key"], k["title"], tuple(k["statuses"])) for k in served] == [
        (kind.key, kind.title, kind.statuses) for kind in PROBLEMS.values()]
    assert not (REPO / "static" / "problemtable.js").exists()
    scripts = {path.name: path.read_text() for path in (REPO / "static").glob("*.js")}
    assert "from './problemtable.js'" in scripts["problems.js"]
    named = set(re.findall(r"(?:problemOf\(|key === )'([a-z-]+)'", "".join(scripts.values())))
    page_only = set(re.findall(r"notice\('([a-z-]+)'", scripts["problems.js"]))
    assert len(named) >= 4 and named <= set(PROBLEMS) | page_only and not page_only & set(PROBLEMS)


def test_many_session_pairs_in_one_cookie_header_are_read_in_linear_time():
    pairs = "; ".join(f"__Host-usermapper_session=t{n}" for n in range(60_000))
    request = Request("GET", "https://lab.example.org/api/usermapping", {"cookie": pairs + "; __Host-usermapper_session=t7"})
    started = time.perf_counter()
    tokens = request.session_tokens
    assert time.perf_counter() - started < 0.5
    assert len(tokens) == 60_000 and tokens[:2] == ["t0", "t1"]


def test_a_delete_ends_at_most_a_few_of_the_sessions_it_names(tmp_path):
    """Each session cookie costs storage requests: a DELETE reads the first MAX_ENDED_SESSIONS only."""
    ended = []

    class Store:
        def end(self, token):
            ended.append(token)

    api = Api.__new__(Api)
    api.store, api.settings = Store(), None
    cookie = "; ".join(f"usermapper_session=t{n}" for n in range(500))
    response = api.end(Request("DELETE", "http://localhost:7071/api/usermapping", {"cookie": cookie}))
    assert response.status == 204
    assert ended == [f"t{n}" for n in range(MAX_ENDED_SESSIONS)]
