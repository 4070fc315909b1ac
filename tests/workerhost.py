"""The app loaded by Microsoft's Python worker library, behind the least host of our own: the tests' second target.

On Python 3.13, Azure runs a function app with `azure-functions-runtime` (PyPI): it imports function_app.py,
indexes its functions, binds each invocation's input and converts the return value. Its gRPC front (the proxy
worker) ships with the host, not on PyPI, so this drives the library's own entry points (`worker_init_request`,
`functions_metadata_request`, `function_load_request`, `invocation_request`) with a stand-in for the protobuf
messages (`protos`: plain objects with the fields and enum values the library reads and writes), and plays
the host's part as the host's source does it:

- HTTP/1.1 as Kestrel frames it: repeated request headers joined with "," (`StringValues.ToString()`), a
  body read only when `Content-Length` is above 0 (a chunked one is drained and dropped), over
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT an empty 413 before any of it is read (azure-functions-host
  `src/WebJobs.Script.WebHost/Middleware/HttpRequestBodySizeMiddleware.cs`); a function's body sent chunked
  (`src/WebJobs.Script/Binding/Http/Formatters/ByteArrayOutputFormatter.cs` sets no length), an empty one
  with `Content-Length: 0`, a HEAD answer with headers only.
- The request as the host sends it to the worker: `src/WebJobs.Script.Grpc/MessageExtensions/
  GrpcMessageConversionExtensions.cs` (`ToRpcHttp`: the URL from Host, Path and QueryString, lower-case
  header names, the query's values joined, empty ones left out, route values as params, the body as bytes
  because the library asks for `RawHttpBodyBytes`).
- The response as the host writes it: `GrpcMessageExtensionUtilities.cs` (`ConvertFromHttpMessageToExpando`,
  `RpcHttpCookieConverter`), `src/WebJobs.Script/Binding/Http/HttpBinding.cs` and `RawScriptResult.cs`
  (headers, then each cookie through ASP.NET Core's `Response.Cookies.Append`); a failed invocation is a 500
  with an empty body (`src/WebJobs.Script.WebHost/Middleware/ExceptionMiddleware.cs`).
- Routes: functions in the host's order (names compared case-insensitively, in upper case, as .NET's
  `OrdinalIgnoreCase`), each template matched by devhost's `tools/devhost/routing.py`, which mirrors
  ASP.NET Core's template router. The request's path (decoded and its dot segments removed, as Kestrel's
  `PathDecoder` does), URL and query are made by devhost's `tools/devhost/conversion.py` too. So a
  difference in these cannot show here.
- `POST /admin/functions/{name}` with a JSON body runs a timer function now (202), as Core Tools do.

What this proves and what it cannot is in docs/development.md ("The second target").
Run: `python tests/workerhost.py --port 7071 --app-dir .` (Python 3.13 with azure-functions-runtime).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import azure_functions_runtime as library

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# the host's path, URL and query rules, shared with devhost
from tools.devhost.conversion import host_path, host_url, query_params  # noqa: E402
from tools.devhost.routing import RouteTemplate, parse_route  # noqa: E402
from tools.devhost.settings import load_local_settings, read_request_body_limit, read_route_prefix  # noqa: E402

logger = logging.getLogger("workerhost")
_ADMIN_INVOKE = re.compile(r"/admin/functions/([^/]+)/?", re.IGNORECASE)
_NO_BODY_STATUSES = (204, 304)


# -- the protobuf messages, as plain objects ---------------------------------------------------------------

class Message:
    """A protobuf message's stand-in: the fields given, and `WhichOneof` for the two oneofs the library reads
    (TypedData's `data`, ParameterBinding's `rpc_data`). A field never given raises AttributeError, as the
    library expects of a message that is not a `TypedData` holder."""

    ONEOF_FIELDS = ("http", "bytes", "string", "json", "int", "double", "stream", "data")

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def WhichOneof(self, _group: str) -> str | None:  # noqa: N802  (protobuf's name)
        return next((name for name in self.ONEOF_FIELDS if self.__dict__.get(name) is not None), None)


def _protos() -> SimpleNamespace:
    names = ("WorkerInitResponse", "WorkerMetadata", "FunctionMetadataResponse", "RpcFunctionMetadata",
             "FunctionLoadResponse", "FunctionEnvironmentReloadResponse", "InvocationResponse", "StatusResult",
             "RpcException", "ParameterBinding", "TypedData", "RpcHttp", "RpcHttpCookie", "RpcRetryOptions",
             "BindingInfo", "NullableString", "NullableBool", "NullableDouble", "NullableTimestamp", "Timestamp")
    protos = SimpleNamespace(**{name: type(name, (Message,), {}) for name in names})
    # FunctionRpc.proto's enum values
    protos.StatusResult.Failure, protos.StatusResult.Success = 0, 1
    protos.BindingInfo.out, protos.BindingInfo.inout, protos.BindingInfo.undefined = 1, 2, 0
    protos.RpcHttpCookie.SameSite = SimpleNamespace(Lax=1, Strict=2, ExplicitNone=3, **{"None": 0})
    return protos


PROTOS = _protos()
SAME_SITE = {PROTOS.RpcHttpCookie.SameSite.Lax: "lax", PROTOS.RpcHttpCookie.SameSite.Strict: "strict",
             PROTOS.RpcHttpCookie.SameSite.ExplicitNone: "none"}


# -- the worker, driven as the host drives it -------------------------------------------------------------

@dataclass(frozen=True)
class Function:
    name: str
    function_id: str
    trigger: dict  # the trigger's raw binding, as the worker reported it
    route: RouteTemplate | None = None  # HTTP functions only

    def accepts(self, method: str) -> bool:
        methods = self.trigger.get("methods")
        return methods is None or method.upper() in (m.upper() for m in methods)


class Worker:
    """The library in this process: its own event loop in a thread, and its thread pool for sync functions."""

    def __init__(self, app_dir: Path):
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="worker loop", daemon=True).start()
        library.start_threadpool_executor()
        init = self._call(library.worker_init_request, worker_init_request=Message(
            capabilities={}, function_app_directory=str(app_dir)))
        _raise_unless_succeeded(init, "indexing the app")
        metadata = self._call(library.functions_metadata_request, functions_metadata_request=Message(
            function_app_directory=str(app_dir)))
        self.functions = []
        for function in metadata.function_metadata_results:
            loaded = self._call(library.function_load_request, function_load_request=Message(
                function_id=function.function_id, metadata=function))
            _raise_unless_succeeded(loaded, f"loading {function.name}")
            bindings = [json.loads(binding) for binding in function.raw_bindings]
            trigger = next(binding for binding in bindings if binding["type"].endswith("Trigger"))
            self.functions.append(Function(function.name, function.function_id, trigger))

    def invoke(self, function: Function, data: Message) -> Message:
        """One invocation: the trigger's value in, the library's InvocationResponse out."""
        request = Message(
            invocation_id=str(uuid.uuid4()), function_id=function.function_id, trigger_metadata={},
            input_data=[PROTOS.ParameterBinding(name=function.trigger["name"], data=data)],
            trace_context=Message(trace_parent="", trace_state="", attributes={}),
            retry_context=Message(retry_count=0, max_retry_count=0, exception=None))
        return self._call(library.invocation_request, invocation_request=request)

    def _call(self, entry_point, **message) -> Message:
        envelope = Message(request=Message(**message), properties={"host": "127.0.0.1", "protos": PROTOS})
        return asyncio.run_coroutine_threadsafe(entry_point(envelope), self._loop).result()


def _raise_unless_succeeded(response: Message, doing: str) -> None:
    if response.result.status != PROTOS.StatusResult.Success:
        raise RuntimeError(f"the worker failed {doing}: {response.result.exception.message}")


# -- the host's part --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostRequest:
    method: str
    target: str  # as sent: /path?query, or an absolute URL
    headers: dict[str, str]  # lower-case names, repeated lines joined with ","
    body: bytes

    @property
    def path(self) -> str:
        return host_path(self._origin_form.partition("?")[0])

    @property
    def query(self) -> str:
        return self._origin_form.partition("?")[2]

    @property
    def url(self) -> str:
        return host_url(self.headers.get("host", ""), self.path, self.query)

    @property
    def _origin_form(self) -> str:
        """`/path?query`, also of an absolute-form target (`http://name/path`, as sent to a proxy)."""
        if self.target.startswith("/"):
            return self.target
        parts = urlsplit(self.target)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class HostResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


class Host:
    """What the Functions host does with a request: its admin routes, the functions' routes in order, its
    homepage, and the conversions to and from the worker's messages."""

    def __init__(self, worker: Worker, route_prefix: str):
        self._worker = worker
        self.http_functions, self.timer_functions = [], []
        for function in sorted(worker.functions, key=lambda f: f.name.upper()):
            if function.trigger["type"] == "httpTrigger":
                route = function.trigger.get("route") or function.name
                template = parse_route(f"{route_prefix}/{route}" if route_prefix else route)
                self.http_functions.append(replace(function, route=template))
            else:
                self.timer_functions.append(function)

    def respond(self, request: HostRequest) -> tuple[str, HostResponse]:
        """The name of whatever answered, and its response."""
        path = request.path
        if path.casefold() == "/admin" or path.casefold().startswith("/admin/"):
            return "(host admin)", self._admin(request)
        for function in self.http_functions:
            route_values = function.route.match(path) if function.accepts(request.method) else None
            if route_values is not None:
                return function.name, self._invoke_http(function, request, route_values)
        if path == "/":
            disabled = os.environ.get("AzureWebJobsDisableHomepage", "").lower() == "true"
            return "(host homepage)", HostResponse(204) if disabled else HostResponse(
                200, (("Content-Type", "text/html"),), b"<!doctype html><title>Azure Functions</title>")
        return "(no function)", HostResponse(404)

    def _invoke_http(self, function: Function, request: HostRequest, route_values: dict) -> HostResponse:
        http = PROTOS.RpcHttp(
            method=request.method, url=request.url, headers=request.headers,
            query=query_params(request.query), params=route_values,
            body=PROTOS.TypedData(bytes=request.body) if request.body else PROTOS.TypedData())
        invocation = self._worker.invoke(function, PROTOS.TypedData(http=http))
        if invocation.result.status != PROTOS.StatusResult.Success:
            logger.error("Function '%s' failed: %s", function.name, invocation.result.exception.message)
            return HostResponse(500)
        return _host_response(invocation.return_value.http)

    def _admin(self, request: HostRequest) -> HostResponse:
        """`POST /admin/functions/{name}` with a JSON body runs that timer function in the background: 202."""
        match = _ADMIN_INVOKE.fullmatch(request.path)
        timer = next((t for t in self.timer_functions if match and t.name.casefold() == match[1].casefold()),
                     None)
        if timer is None or request.method != "POST":
            return HostResponse(404)
        try:
            json.loads(request.body or b"!")
        except ValueError:
            return HostResponse(415)
        threading.Thread(target=self.fire, args=(timer,), name=f"admin run {timer.name}", daemon=True).start()
        return HostResponse(202)

    def fire(self, timer: Function) -> None:
        """Run a timer function once, logging its outcome in the line devhost writes (the tests read it)."""
        started = time.perf_counter()
        info = json.dumps({"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False})
        invocation = self._worker.invoke(timer, PROTOS.TypedData(json=info))
        outcome = "Succeeded"
        if invocation.result.status != PROTOS.StatusResult.Success:
            logger.error("Function '%s' failed: %s", timer.name, invocation.result.exception.message)
            outcome = "Failed"
        logger.info("timer %s -> %s (%d ms)", timer.name, outcome, round((time.perf_counter() - started) * 1000))


def _host_response(http: Message) -> HostResponse:
    """RawScriptResult: the worker's headers (Content-Type among them), then each cookie as Response.Cookies
    .Append writes it; the body's bytes, or a string's UTF-8."""
    headers = [(name, value) for name, value in http.headers.items()]
    headers += [("Set-Cookie", _set_cookie(cookie)) for cookie in http.cookies or []]
    kind = http.body.WhichOneof("data") if http.body is not None else None
    body = {"bytes": lambda: http.body.bytes, "string": lambda: http.body.string.encode()}.get(kind, bytes)()
    return HostResponse(int(http.status_code), tuple(headers), body)


def _set_cookie(cookie: Message) -> str:
    """ASP.NET Core's SetCookieHeaderValue: the value escaped as Uri.EscapeDataString, attributes in lower
    case and in its order; a field the worker left null is left out."""
    parts = [f"{cookie.name}={quote(cookie.value, safe='')}"]
    if cookie.expires is not None:
        parts.append(f"expires={formatdate(cookie.expires.value.seconds, usegmt=True)}")
    if cookie.max_age is not None:
        parts.append(f"max-age={int(cookie.max_age.value)}")
    if cookie.domain is not None:
        parts.append(f"domain={cookie.domain.value}")
    if cookie.path is not None:
        parts.append(f"path={cookie.path.value}")
    if cookie.secure is not None and cookie.secure.value:
        parts.append("secure")
    if cookie.same_site in SAME_SITE:
        parts.append(f"samesite={SAME_SITE[cookie.same_site]}")
    if cookie.http_only is not None and cookie.http_only.value:
        parts.append("httponly")
    return "; ".join(parts)


# -- HTTP/1.1 as Kestrel frames it ------------------------------------------------------------------------

class BodyTooLarge(Exception):
    pass


class KestrelLikeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "WorkerHostServer"

    def __getattr__(self, name: str):
        """Every method (`do_GET`, `do_PROPFIND`, ...) goes to the host, which decides what it answers."""
        if name.startswith("do_"):
            return self.serve
        raise AttributeError(name)

    def handle_expect_100(self) -> bool:
        """A body announced over the limit is refused before any `100 Continue`."""
        if self._content_length() > self.server.body_limit:
            self._send(HostResponse(413), closing=True)
            return False
        return super().handle_expect_100()

    def serve(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except BodyTooLarge:
            self._send(HostResponse(413), closing=True)
            return
        except ValueError:
            self._send(HostResponse(400), closing=True)
            return
        target = self.requestline.split(" ")[1]  # as sent: `self.path` has leading slashes collapsed
        request = HostRequest(self.command, target, self._joined_headers(), body)
        answered_by, response = self.server.host.respond(request)
        logger.info("%s %s -> %s %d (%d ms)", self.command, request.path, answered_by, response.status,
                    round((time.perf_counter() - started) * 1000))
        self._send(response)

    def _joined_headers(self) -> dict[str, str]:
        names = dict.fromkeys(name.lower() for name in self.headers.keys())
        return {name: ",".join(value.strip(" \t") for value in self.headers.get_all(name)) for name in names}

    def _content_length(self) -> int:
        return int(self.headers.get("Content-Length") or 0)

    def _read_body(self) -> bytes:
        """The body the host forwards: only one with a Content-Length above 0; a chunked one is read to keep
        the connection usable, and dropped."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._drain_chunks()
            return b""
        length = self._content_length()
        if length > self.server.body_limit:
            raise BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _drain_chunks(self) -> None:
        received = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            received += size
            if received > self.server.body_limit:
                raise BodyTooLarge
            if size == 0:
                while self.rfile.readline(8192).strip():  # trailers, up to the empty line
                    pass
                return
            self.rfile.read(size + 2)

    def _send(self, response: HostResponse, closing: bool = False) -> None:
        """Headers, then the body: chunked when there is one, `Content-Length: 0` when empty; for HEAD, 204
        and 304 neither (Kestrel writes nothing of a HEAD answer's body and adds no length to it)."""
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        sends_body = self.command != "HEAD" and response.status not in _NO_BODY_STATUSES
        has_length = any(name.lower() == "content-length" for name, _ in response.headers)
        if sends_body and not has_length:
            self.send_header(*(("Transfer-Encoding", "chunked") if response.body else ("Content-Length", "0")))
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if sends_body and response.body:
            self.wfile.write(response.body if has_length else
                             b"%x\r\n%s\r\n0\r\n\r\n" % (len(response.body), response.body))

    def log_message(self, format: str, *args) -> None:
        """Requests are logged once each by `serve`; only the server's errors come here."""
        logger.warning(format, *args)

    def log_request(self, code="-", size="-") -> None:
        pass


class WorkerHostServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], host: Host, body_limit: int):
        super().__init__(address, KestrelLikeHandler)
        self.host = host
        self.body_limit = body_limit


def serve(app_dir: Path, host: str, port: int) -> None:
    """Load the app as the host and worker load it, then serve until SIGINT or SIGTERM."""
    app_dir = app_dir.resolve()
    os.chdir(app_dir)
    load_local_settings(app_dir, os.environ)
    sys.path.insert(0, str(app_dir))
    server = WorkerHostServer((host, port), Host(Worker(app_dir), read_route_prefix(app_dir)),
                              read_request_body_limit(os.environ))
    for function in server.host.http_functions:
        logger.info("    %s: %s", function.name, function.route.text)
    logger.info("Listening on http://%s:%d (Ctrl+C to stop)", *server.server_address[:2])
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the app through Microsoft's Python worker library.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--app-dir", type=Path, default=Path("."))
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s")
    logging.getLogger("azure.functions").setLevel(logging.WARNING)  # the library's line per invocation
    signal.signal(signal.SIGTERM, _stop_as_ctrl_c)
    try:
        serve(arguments.app_dir, arguments.host, arguments.port)
    except KeyboardInterrupt:
        pass


def _stop_as_ctrl_c(_signal_number, _frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
