"""The WSGI application standing in for the Functions host's HTTP pipeline."""

import ipaddress
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from .conversion import HostResponse, RequestTarget, function_request, host_response
from .indexing import FunctionIndex, HttpFunction, TimerFunction
from .timers import fire

logger = logging.getLogger("devhost")

_NOT_FOUND = HostResponse(404, (), b"")
BIG_BODY_BYTES = 256 * 1024  # sent through wsgi.file_wrapper, as a BodyReader
_OTHER_HOST = HostResponse(
    421, (("Content-Type", "text/plain; charset=utf-8"),),
    b"devhost answers only requests addressed to localhost, 127.0.0.1 or [::1] (a page on another name "
    b"could reach it by DNS rebinding). Start it with --host 0.0.0.0 to serve other names.\n",
)
_ADMIN_INVOKE = re.compile(r"/admin/functions/([^/]+)/?", re.IGNORECASE)
_HOMEPAGE = (
    b"<!doctype html><title>Azure Functions</title>"
    b"<p>Your Functions app is up and running. (devhost's stand-in for the host's homepage: "
    b"set AzureWebJobsDisableHomepage to true to turn it off.)</p>"
)


class FunctionsWsgiApp:
    """Sends each request to the first HTTP function whose route and methods both match.

    As in the host: functions are tried in alphabetical order of name; a route that matches with
    the wrong method is skipped, so a path no function accepts for that method is a 404, never a
    405; `/admin/...` belongs to the host; `/` with no function for it is the host's homepage.
    Unlike the host, a request whose `Host` is not a loopback name is refused (421) unless
    `serve_any_host` (devhost listening on a non-loopback address): otherwise a web page could reach
    this server through a name it controls that resolves to 127.0.0.1 (DNS rebinding).
    """

    def __init__(self, index: FunctionIndex, serve_any_host: bool = False,
                 function_timeout: timedelta | None = None) -> None:
        self._index = index
        self._serve_any_host = serve_any_host
        self._timeout_seconds = function_timeout.total_seconds() if function_timeout else None

    def __call__(self, environ: Mapping[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        target = RequestTarget.from_environ(environ)
        handler, response = self._respond(environ, target)
        elapsed = time.perf_counter() - started
        logger.info(
            "%s %s -> %s %d (%d ms)",
            environ["REQUEST_METHOD"], target.path, handler, response.status, round(elapsed * 1000),
        )
        if self._timeout_seconds is not None and elapsed > self._timeout_seconds:
            logger.warning(
                "%s %s ran %.1f s, past host.json's functionTimeout of %.0f s: the Functions host would "
                "have ended it", environ["REQUEST_METHOD"], target.path, elapsed, self._timeout_seconds,
            )
        headers = list(response.headers)
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(_status_line(response.status), headers)
        if environ["REQUEST_METHOD"] == "HEAD":
            return []  # Kestrel sends a HEAD request the headers only; waitress sends whatever it is given
        if len(response.body) > BIG_BODY_BYTES and response.status not in (204, 304):  # (sent even to those)
            return environ["wsgi.file_wrapper"](BodyReader(response.body))
        return [response.body]

    def _respond(self, environ: Mapping[str, Any], target: RequestTarget) -> tuple[str, HostResponse]:
        """The name of whatever answered (a function, or the host) and its response."""
        if not self._serve_any_host and not is_loopback(target.host):
            return "(refused Host)", _OTHER_HOST
        if _is_admin_path(target.path):
            return "(host admin)", self._admin(environ, target)
        for function in self._index.http_functions:
            if not function.accepts_method(environ["REQUEST_METHOD"]):
                continue
            route_params = function.route.match(target.path)
            if route_params is not None:
                return function.name, _invoke(function, function_request(environ, target, route_params))
        if target.path == "/":
            return "(host homepage)", _homepage()
        return "(no function)", _NOT_FOUND

    def _admin(self, environ: Mapping[str, Any], target: RequestTarget) -> HostResponse:
        """`POST /admin/functions/{name}` runs a non-HTTP function now and answers 202, as Core Tools does.

        Only for a loopback `Host`, and, as in the host, only with a JSON body (`Content-Type:
        application/json`, such as `{"input": ""}`): so no other web page can run it with a simple
        request. The input itself is ignored, as the host ignores the input of a timer. The rest of
        the host's admin API answers 404 here.
        """
        match = _ADMIN_INVOKE.fullmatch(target.path)
        function = self._index.find(match[1]) if match and environ["REQUEST_METHOD"] == "POST" else None
        if function is None or not is_loopback(target.host):
            return _NOT_FOUND
        if not _has_json_body(environ):
            return HostResponse(415, (("Content-Type", "text/plain; charset=utf-8"),),
                                b"Send a JSON body with Content-Type: application/json, such as {}.\n")
        if isinstance(function, HttpFunction):
            logger.warning("'%s' is an HTTP function: call its route instead of the admin API", function.name)
            return HostResponse(400, (), b"")
        _run_in_background(function)
        return HostResponse(202, (), b"")


class BodyReader:
    """A read-only file over a body already in memory, whose reads are views of it, never copies.

    Given to ``wsgi.file_wrapper``, a big body goes to the socket straight from the function's bytes, not
    copied through waitress's output buffer (up to 16 MiB at a time): devhost adds no copy of a download
    to the app's own memory, which the benchmarks measure.
    """

    def __init__(self, body: bytes) -> None:
        self._view = memoryview(body)
        self._position = 0

    def read(self, size: int = -1) -> memoryview:
        end = len(self._view) if size < 0 else min(len(self._view), self._position + size)
        piece = self._view[self._position : end]
        self._position = max(self._position, end)
        return piece

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = max(0, offset + (0, self._position, len(self._view))[whence])
        return self._position

    def tell(self) -> int:
        return self._position


def _invoke(function: HttpFunction, request: func.HttpRequest) -> HostResponse:
    """Run the function and convert its result; any failure is a 500 with an empty body, as in the host."""
    try:
        return host_response(function.call(request))
    except Exception:
        logger.exception("Function '%s' failed", function.name)
        return HostResponse(500, (), b"")


def _run_in_background(timer: TimerFunction) -> None:
    threading.Thread(target=fire, args=(timer,), name=f"admin run {timer.name}", daemon=True).start()


def _homepage() -> HostResponse:
    """The host answers `/` itself when no function did: its welcome page, or 204 when
    AzureWebJobsDisableHomepage is true (read per request, as the host does)."""
    if os.environ.get("AzureWebJobsDisableHomepage", "").lower() == "true":
        return HostResponse(204, (), b"")
    return HostResponse(200, (("Content-Type", "text/html"),), _HOMEPAGE)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses, with or without a port (`Host` header form)."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _has_json_body(environ: Mapping[str, Any]) -> bool:
    media_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    length = environ.get("CONTENT_LENGTH") or "0"
    if media_type != "application/json" or not length.isdigit():
        return False
    try:
        json.loads(environ["wsgi.input"].read(int(length)) or b"!")
    except ValueError:
        return False
    return True


def _is_admin_path(path: str) -> bool:
    """The host keeps `/admin` and everything below it, whatever the route prefix."""
    folded = path.casefold()
    return folded == "/admin" or folded.startswith("/admin/")


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
