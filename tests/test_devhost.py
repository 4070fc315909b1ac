"""devhost, tested as people run it: `python -m tools.devhost` in a subprocess, real HTTP over sockets.

Each app under tests/devhost_apps/ exercises behaviours of the real Functions host that devhost
must reproduce. An app is copied to a temporary directory before it runs: its timers write files
there, and its local.settings.json (never committed) is written there by the test.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "devhost_apps"
LISTENING = re.compile(r"Listening on (http://\S+)")
START_TIMEOUT_SECONDS = 20
CONTROLLED_SETTINGS = (
    "FROM_FILE", "OVERRIDDEN", "TICK_SCHEDULE", "TICK_FILE", "MANUAL_FILE", "STARTUP_FILE",
    "AzureWebJobsDisableHomepage", "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
)


def devhost_command(app_dir: Path) -> list[str]:
    return [sys.executable, "-m", "tools.devhost", "--host", "127.0.0.1", "--port", "0", "--app-dir", str(app_dir)]


def environment(**settings: str) -> dict[str, str]:
    """The test process's environment without the settings these tests control, plus `settings`."""
    inherited = {name: value for name, value in os.environ.items() if name not in CONTROLLED_SETTINGS}
    return {**inherited, **settings}


def copy_app(name: str, destination: Path, local_values: Optional[dict[str, str]] = None) -> Path:
    app_dir = destination / name
    shutil.copytree(APPS / name, app_dir)
    if local_values is not None:
        (app_dir / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": local_values}))
    return app_dir


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


class Devhost:
    """One `python -m tools.devhost` process on a free port, its output in a log file."""

    def __init__(self, app_dir: Path, env: dict[str, str]):
        self._log_path = app_dir.parent / f"{app_dir.name}-devhost.log"
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                devhost_command(app_dir), cwd=REPO_ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.base_url = self._wait_until_listening()

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager (or tests/apphost.py) stops it; returns the exit status."""
        self._process.terminate()
        try:
            return self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise

    def _wait_until_listening(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            listening = LISTENING.search(self.log())
            if listening:
                return listening[1]
            if self._process.poll() is not None:
                raise RuntimeError(f"devhost exited with status {self._process.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self._process.kill()
        raise RuntimeError(f"devhost did not start within {START_TIMEOUT_SECONDS} s:\n{self.log()}")


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    workspace = tmp_path_factory.mktemp("site")
    return copy_app("site", workspace, {
        "FROM_FILE": "from the file",
        "OVERRIDDEN": "from the file",
        "TICK_SCHEDULE": "*/1 * * * * *",
        "TICK_FILE": str(workspace / "tick.txt"),
        "MANUAL_FILE": str(workspace / "manual.txt"),
        "STARTUP_FILE": str(workspace / "startup.txt"),
        "AzureWebJobsDisableHomepage": "true",
    })


@pytest.fixture(scope="module")
def site(site_dir):
    """The site app (routePrefix ""), with one setting also set in the environment."""
    host = Devhost(site_dir, environment(OVERRIDDEN="from the environment"))
    yield host
    host.stop()


# Startup


def test_startup_lists_each_function_with_its_url_or_schedule(site):
    log = site.log()
    assert f"page: [GET] {site.base_url}/{{ignored:maxlength(0)?}}" in log
    assert f"api_echo: [GET,POST] {site.base_url}/api/echo" in log
    assert f"aaa_files: [*] {site.base_url}/api/files/{{name}}" in log
    assert "tick: timerTrigger, schedule '*/1 * * * * *'" in log


# Route matching


def test_a_parameter_route_whose_name_sorts_first_swallows_the_literal_routes_after_it(site):
    response = requests.get(site.url("/api/files/readme"))
    assert response.json() == {"function": "aaa_files", "route_params": {"name": "readme"}}


def test_a_parameter_route_whose_name_sorts_last_leaves_earlier_routes_alone(site):
    assert requests.get(site.url("/api/docs/index")).json()["function"] == "docs_index"
    response = requests.get(site.url("/api/docs/guide/"))
    assert response.json() == {"function": "zzz_docs", "route_params": {"name": "guide"}}


def test_names_are_ordered_in_upper_case_as_the_host_orders_them_so_an_underscore_sorts_after_letters(site):
    """.NET's OrdinalIgnoreCase compares upper-cased names: APIORDER_FIRST before API_ORDER (in lower case,
    api_order would come first and take /api/order/first)."""
    assert requests.get(site.url("/api/order/first")).json()["function"] == "apiorder_first"
    assert requests.get(site.url("/api/order/other")).json()["function"] == "api_order"


@pytest.mark.parametrize("path, function, route_params", [
    ("/api/pages", "api_pages", {}),
    ("/api/pages/3", "api_pages", {"page": "3"}),
    ("/api/pages/3/4", None, None),
    ("/api/tags/abcd", "api_tags", {"tag": "abcd"}),
    ("/api/tags/abcde", None, None),
    ("/api/files/a%2Fb", "aaa_files", {"name": "a%2Fb"}),
    ("/api/files/c%20d", "aaa_files", {"name": "c d"}),
    ("/api/files/a/b", None, None),
])
def test_route_parameters_and_constraints(site, path, function, route_params):
    response = requests.get(site.url(path))
    if function is None:
        assert (response.status_code, response.content) == (404, b"")
    else:
        assert response.json() == {"function": function, "route_params": route_params}


def test_the_empty_optional_route_serves_the_site_root_only(site):
    root = requests.get(site.url("/"))
    assert (root.status_code, root.text) == (200, "<h1>page</h1>")
    assert requests.get(site.url("/x")).status_code == 404


def test_literals_ignore_case_and_a_trailing_slash(site):
    assert requests.get(site.url("/API/Echo/")).json()["method"] == "GET"


def test_a_method_no_function_accepts_on_a_route_is_404(site):
    assert requests.get(site.url("/api/only-post")).status_code == 404
    posted = requests.post(site.url("/api/only-post"))
    assert (posted.status_code, posted.text) == (200, "posted")
    assert posted.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_an_async_function_is_awaited(site):
    assert requests.get(site.url("/api/async")).text == "awaited"


def test_no_route_is_404_with_an_empty_body(site):
    response = requests.get(site.url("/api/nowhere"))
    assert (response.status_code, response.content) == (404, b"")


def test_the_site_root_nobody_handles_is_the_hosts_and_204_with_the_homepage_disabled(site):
    assert requests.post(site.url("/")).status_code == 204


def test_admin_routes_belong_to_the_host(site):
    assert requests.get(site.url("/admin/host/status")).status_code == 404


# Request and response conversion


def test_the_url_and_query_arrive_as_the_host_sends_them(site):
    response = requests.get(site.url("/api/echo?a=1&A=2&empty=&plus=x+y&e=%C3%A9"))
    echoed = response.json()
    assert echoed["url"] == site.url("/api/echo?a=1&A=2&empty=&plus=x+y&e=%C3%A9")
    assert echoed["params"] == {"a": "1,2", "plus": "x y", "e": "é"}


def test_headers_arrive_with_repeated_ones_joined_cookie_lines_too(site):
    """The host joins a header's lines with "," (ASP.NET Core's StringValues.ToString()), Cookie lines like any
    other, with no space (waitress's own join has one): a cookie on a second Cookie line arrives inside the
    first line's last value, not as a cookie-pair of its own."""
    connection = http.client.HTTPConnection(site.base_url.removeprefix("http://"))
    connection.putrequest("GET", "/api/echo")
    for name, value in [("X-Multi", "one"), ("X-Multi", "two"), ("Cookie", "a=1"), ("Cookie", "b=2")]:
        connection.putheader(name, value)
    connection.endheaders()
    headers = json.loads(connection.getresponse().read())["headers"]
    connection.close()
    assert headers["x-multi"] == "one,two"
    assert headers["cookie"] == "a=1,b=2"


def test_a_comma_inside_one_cookie_line_stays_part_of_a_value(site):
    """A sibling subdomain can set `a=b, __Host-x=y` as one cookie; it must not arrive as two pairs."""
    response = requests.get(site.url("/api/echo"), headers={"Cookie": "a=b, __Host-x=y; theme=dark"})
    assert response.json()["headers"]["cookie"] == "a=b, __Host-x=y; theme=dark"


def test_a_cookie_header_reaches_the_function(site):
    response = requests.get(site.url("/api/echo"), headers={"Cookie": "session=abc; theme=dark"})
    assert response.json()["headers"]["cookie"] == "session=abc; theme=dark"


def test_binary_bodies_round_trip_byte_exact(site):
    body = bytes(range(256)) * 4096 + b"\r\n\x00tail"
    response = requests.post(
        site.url("/api/bytes"), data=body, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.content == body
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_multipart_form_data_reaches_form_and_files(site):
    upload = bytes(range(256)) * 10
    response = requests.post(
        site.url("/api/form"),
        data={"config": "users:\n  student: {quantity: 2}\n"},
        files={"file": ("lab.yaml", upload, "application/octet-stream")},
    )
    assert response.json() == {
        "form": {"config": "users:\n  student: {quantity: 2}\n"},
        "files": {"file": {"filename": "lab.yaml", "sha256": hashlib.sha256(upload).hexdigest()}},
    }


def test_set_cookie_headers_arrive_as_the_real_host_writes_them(site):
    """Partitioned and unquoted-space cookies are dropped; values are percent-encoded by ASP.NET."""
    response = requests.get(site.url("/api/cookies"))
    assert response.raw.headers.getlist("Set-Cookie") == [
        "session=abc; domain=; path=/api; samesite=lax; httponly",
        "theme=dark; max-age=60; domain=; path=",
        "token=a%2Bb%2Fc%3D; domain=; path=/",
        "gone=; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; domain=; path=/api",
    ]


def test_a_head_request_is_answered_with_headers_only(site):
    """Kestrel sends no body to a HEAD request, whatever the function returned; a body sent anyway is read as
    the start of the next response on the connection (http.client hides it: it reads ahead and drops it)."""
    host, port = site.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"HEAD /api/settings HTTP/1.1\r\nHost: localhost\r\n\r\n"
                           b"GET /api/settings HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        received = b""
        while piece := connection.recv(65536):
            received += piece
    before, head, get = received.split(b"HTTP/1.1 ")
    assert before == b"" and head.startswith(b"200 ") and head.endswith(b"\r\n\r\n")
    assert json.loads(get.partition(b"\r\n\r\n")[2])["FROM_FILE"] == "from the file"


def raw_exchange(host: Devhost, *sends: bytes, timeout: float = 1.0) -> tuple[bytes, bool]:
    """Send each piece over one connection, reading whatever comes back after each; returns all that was
    received and whether devhost closed the connection, both within `timeout` seconds of the first send."""
    address, port = host.base_url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    received = b""
    with socket.create_connection((address, int(port)), timeout=timeout) as connection:
        for index, piece in enumerate(sends):
            connection.sendall(piece)
            last = index == len(sends) - 1
            while (remaining := deadline - time.monotonic()) > 0:
                connection.settimeout(remaining if last else min(remaining, 0.3))
                try:
                    data = connection.recv(65536)
                except TimeoutError:
                    break
                except ConnectionResetError:
                    return received, True
                if not data:
                    return received, True
                received += data
                if not last:
                    break
    return received, False


def post_head(length: int, expect_continue: bool = False, path: str = "/api/bytes") -> bytes:
    expect = b"Expect: 100-continue\r\n" if expect_continue else b""
    return b"POST %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %d\r\n\r\n" % (path.encode(), expect, length)


def assert_the_hosts_413(received: bytes, closed: bool) -> None:
    """Kestrel's refusal of a body over MaxRequestBodySize: 413, no body, the connection closed after it."""
    assert received.startswith(b"HTTP/1.1 413 "), received
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 0\r\n" in head + b"\r\n" and b"\r\nConnection: close\r\n" in head + b"\r\n"
    assert body == b""
    assert closed, "the connection stays open after the 413"


def test_a_body_over_100_mib_is_the_hosts_413_before_any_of_it_is_sent(site):
    assert_the_hosts_413(*raw_exchange(site, post_head(100 * 1024 * 1024 + 1)))


@pytest.mark.parametrize("length", [100 * 1024 * 1024 + 1, 999_999_999])
def test_expect_100_continue_over_the_limit_is_413_and_never_100_continue(site, length):
    """Kestrel checks the announced length before it would send 100 Continue; waitress invited the body and
    read it, up to the limit, into memory."""
    started = time.monotonic()
    received, closed = raw_exchange(site, post_head(length, expect_continue=True))
    assert b"100 Continue" not in received
    assert_the_hosts_413(received, closed)
    assert time.monotonic() - started < 1.0


def test_expect_100_continue_within_the_limit_gets_100_continue_then_the_answer(site):
    body = bytes(range(256)) * 4
    received, closed = raw_exchange(site, post_head(len(body), expect_continue=True), body)
    continued, _, answer = received.partition(b"\r\n\r\n")
    assert continued == b"HTTP/1.1 100 Continue"
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n" + body)
    assert not closed


def test_half_sent_bodies_leave_everyone_else_served(site):
    """20 connections that announce a body, send a little of it and wait: each holds a connection (waitress
    serves 100 sockets at once, see docs/development.md), no thread, and the rest are served at once."""
    address, port = site.base_url.removeprefix("http://").split(":")
    stalled = []
    try:
        for index in range(20):
            connection = socket.create_connection((address, int(port)), timeout=1)
            stalled.append(connection)
            connection.sendall(post_head(1_000_000, expect_continue=index % 2 == 0) + b"x" * 1000)
        for _ in range(3):
            started = time.monotonic()
            response = requests.get(site.url("/api/echo"), timeout=1)
            assert response.status_code == 200 and time.monotonic() - started < 1.0
    finally:
        for connection in stalled:
            connection.close()


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory):
    """The site app with FUNCTIONS_REQUEST_BODY_SIZE_LIMIT=1000 in local.settings.json."""
    workspace = tmp_path_factory.mktemp("small-limit")
    host = Devhost(copy_app("site", workspace, {"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "1000"}),
                   environment(TICK_SCHEDULE="0 0 0 1 1 *"))
    yield host
    host.stop()


def test_the_body_limit_is_the_hosts_setting_when_set(small_limit):
    """FUNCTIONS_REQUEST_BODY_SIZE_LIMIT in local.settings.json: a body of the limit is read, one byte more is 413."""
    assert requests.post(small_limit.url("/api/bytes"), data=b"x" * 1000, timeout=10).content == b"x" * 1000
    assert requests.post(small_limit.url("/api/bytes"), data=b"x" * 1001, timeout=10).status_code == 413


def test_expect_100_continue_is_answered_against_the_hosts_setting(small_limit):
    received, closed = raw_exchange(small_limit, post_head(1001, expect_continue=True))
    assert b"100 Continue" not in received
    assert_the_hosts_413(received, closed)
    received, _ = raw_exchange(small_limit, post_head(1000, expect_continue=True), b"x" * 1000)
    assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ")
    assert received.endswith(b"\r\n\r\n" + b"x" * 1000)


# Failures


def test_an_exception_is_a_logged_500_with_an_empty_body_and_serving_goes_on(site):
    response = requests.get(site.url("/api/boom"))
    assert (response.status_code, response.content) == (500, b"")
    assert requests.get(site.url("/api/echo")).status_code == 200
    assert "RuntimeError: boom, on purpose" in site.log()
    assert re.search(r"GET /api/boom -> api_boom 500 \(\d+ ms\)", site.log())


def test_a_return_value_the_worker_cannot_send_is_500(site):
    response = requests.get(site.url("/api/nothing"))
    assert (response.status_code, response.content) == (500, b"")
    assert 'unsupported type "http" for Python type "NoneType"' in site.log()


# Concurrency


def test_requests_are_served_in_parallel(site):
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: requests.get(site.url("/api/sleep")).status_code, range(4)))
    assert statuses == [200] * 4
    assert time.monotonic() - started < 1.5  # one after another would take 2 s


def test_a_request_past_the_function_timeout_is_logged_as_a_warning(site):
    """The host would end it; devhost lets it finish but says so, so that a slow path shows up locally."""
    assert requests.get(site.url("/api/sleep")).status_code == 200  # 0.5 s: within the timeout
    assert requests.get(site.url("/api/overrun")).text == "late"
    warnings = [line for line in site.log().splitlines() if "past host.json's functionTimeout" in line]
    assert len(warnings) == 1 and "GET /api/overrun ran 1.2 s" in warnings[0], warnings


# Timers and settings


def test_a_timer_fires_on_its_seconds_schedule_and_survives_its_exceptions(site, site_dir):
    tick_file = site_dir.parent / "tick.txt"
    assert wait_for(lambda: line_count(tick_file) >= 2, timeout=5)
    assert "tick fails on purpose" in site.log()


def test_a_run_on_startup_timer_runs_at_startup(site, site_dir):
    assert wait_for(lambda: line_count(site_dir.parent / "startup.txt") == 1)


def test_the_admin_api_runs_a_timer_function_now(site, site_dir):
    response = requests.post(site.url("/admin/functions/manual_job"), json={"input": ""})
    assert response.status_code == 202
    assert wait_for(lambda: line_count(site_dir.parent / "manual.txt") == 1)


def test_the_admin_api_refuses_unknown_and_http_functions(site):
    assert requests.post(site.url("/admin/functions/nope"), json={}).status_code == 404
    assert requests.post(site.url("/admin/functions/api_echo"), json={}).status_code == 400


@pytest.mark.parametrize("body, content_type", [
    (None, None), (b"{}", "text/plain"), (b"", "application/json"), (b"not json", "application/json"),
], ids=["no body", "a simple request's text/plain", "empty JSON body", "not JSON"])
def test_the_admin_api_needs_a_json_body_as_the_host_does(site, site_dir, body, content_type):
    """A page of any site can send a no-cors POST with a text/plain body; it must not run a function."""
    before = line_count(site_dir.parent / "manual.txt")
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(site.url("/admin/functions/manual_job"), data=body, headers=headers)
    assert response.status_code == 415 and response.text
    time.sleep(0.3)
    assert line_count(site_dir.parent / "manual.txt") == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7071", "127.0.0.1.nip.io", "localhost.evil"])
def test_a_request_for_another_host_name_is_refused(site, site_dir, host):
    """DNS rebinding: a name an attacker controls, resolving to 127.0.0.1, must not reach the app or the
    admin API."""
    before = line_count(site_dir.parent / "manual.txt")
    for method, path, kwargs in [("GET", "/api/echo", {}), ("POST", "/admin/functions/manual_job", {"json": {}})]:
        response = requests.request(method, site.url(path), headers={"Host": host}, **kwargs)
        assert response.status_code == 421
        assert "localhost" in response.text
    time.sleep(0.3)
    assert line_count(site_dir.parent / "manual.txt") == before


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:7071", "127.0.0.1", "127.0.0.2:80", "[::1]:7071"])
def test_loopback_host_names_are_served(site, host):
    assert requests.get(site.url("/api/echo"), headers={"Host": host}).status_code == 200


def test_a_chunked_body_reaches_the_function_empty_as_in_the_host(site):
    """The host forwards a body only with a Content-Length above 0; the header says how it was sent."""
    echoed = requests.post(site.url("/api/echo"), data=iter([b"users: ", b"{}\n"])).json()
    assert echoed["body_length"] == 0
    assert echoed["headers"]["transfer-encoding"] == "chunked"
    assert "content-length" not in echoed["headers"]
    assert requests.post(site.url("/api/echo"), data=b"users: {}\n").json()["body_length"] == 10


def test_local_settings_are_loaded_and_the_environment_wins(site, site_dir):
    settings = requests.get(site.url("/api/settings")).json()
    assert settings == {"FROM_FILE": "from the file", "OVERRIDDEN": "from the environment", "cwd": str(site_dir)}


# The default route prefix, the homepage, stopping


def test_the_default_route_prefix_is_api_and_sigterm_stops_cleanly(tmp_path):
    host = Devhost(copy_app("prefixed", tmp_path), environment())
    try:
        assert requests.get(host.url("/api/hello")).text == "hello"
        assert requests.get(host.url("/hello")).status_code == 404
        assert requests.get(host.url("/api/ping")).text == "pong"
        assert requests.get(host.url("/api/blank")).text == "blank"
        assert requests.get(host.url("/api/keyed")).text == "keyed"
        assert "keyed has auth level 'function': Azure will require a key" in host.log()
        homepage = requests.get(host.url("/"))
        assert (homepage.status_code, homepage.headers["Content-Type"]) == (200, "text/html")
        assert "No local.settings.json" in host.log()
    finally:
        assert host.stop() == 0
    assert "devhost stopped" in host.log()


# Apps devhost refuses, as the real host would


@pytest.mark.parametrize("app, message", [
    ("bad_constraint", "devhost does not know the constraint 'int'"),
    ("catch_all", "no catch-all"),
    ("admin_route", "conflicts with the host's built-in admin routes"),
    ("site", "'%TICK_SCHEDULE%' does not resolve to a value"),
])
def test_startup_fails_clearly(tmp_path, app, message):
    result = subprocess.run(
        devhost_command(copy_app(app, tmp_path)), cwd=REPO_ROOT, env=environment(),
        capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS,
    )
    assert result.returncode == 1
    assert message in result.stderr


# -- big bodies go to the socket as views of the function's bytes ---------------------------------------------

def test_a_body_reader_serves_waitress_file_wrapper_views_of_the_body_without_copies():
    from waitress.buffers import ReadOnlyFileBasedBuffer

    from tools.devhost.wsgi import BodyReader

    body = bytes(range(256)) * 5000
    wrapper = ReadOnlyFileBasedBuffer(BodyReader(body))
    assert wrapper.prepare(len(body)) == len(body)
    sent = bytearray()
    while wrapper.remain:  # as waitress's channel flushes it: look at a piece, send it, skip what was sent
        piece = wrapper.get(65536)
        assert isinstance(piece, memoryview) and piece.obj is body
        sent += piece[:40000]
        wrapper.skip(min(40000, len(piece)), True)
    assert bytes(sent) == body
    wrapper.close()
