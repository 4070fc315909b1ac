"""The app loaded as the host loads it, served by waitress set up as the host's front end, timers started.

`HostLikeParser` is devhost's one hook into waitress's internals (its request parser), for three things a
WSGI app cannot see or change:

- Repeated request headers: the host joins a header's lines with "," (ASP.NET Core's
  `StringValues.ToString()`), Cookie lines too; waitress joins them with ", ". The parser joins them again
  from the request's own lines, as the host does.
- Chunked request bodies: the host passes a body on to the worker only when it has a `Content-Length`
  above 0, so a body sent with `Transfer-Encoding: chunked` (`curl -T`, streaming clients) reaches the
  function empty, with that header still there. waitress de-chunks such a body, removes the header and
  tells a WSGI app nothing of it: the parser puts the header back, and `conversion` drops the body as the
  host does.
- Bodies over the limit: see `HostLikeParser.received`.
"""

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.parser import HEADER_FIELD_RE, HTTPRequestParser, get_header_lines
from waitress.utilities import RequestEntityTooLarge

from .indexing import FunctionIndex, index_app
from .settings import load_local_settings, read_function_timeout, read_request_body_limit, read_route_prefix
from .timers import TimerScheduler
from .wsgi import FunctionsWsgiApp, is_loopback

logger = logging.getLogger("devhost")
OUTPUT_BUFFER_BYTES = 16 * 1024 * 1024
# waitress's own defaults, named so that docs/development.md's numbers are these: at most this many
# sockets open at once (the listening socket and waitress's internal trigger count among them), beyond
# which waitress accepts nobody until one closes; and a connection that has had no traffic for this many
# seconds, and no request being served, is closed (checked every 30 s), even halfway through a body.
# Nothing bounds a slow sender, which the host's Kestrel does (MinRequestBodyDataRate).
CONNECTION_LIMIT = 100
CHANNEL_TIMEOUT_SECONDS = 120


def serve(app_dir: str | Path = ".", host: str = "127.0.0.1", port: int = 7071) -> None:
    """Run the app in `app_dir` until SIGINT or SIGTERM; call it from the main thread.

    As Core Tools and the worker do: local.settings.json's Values join the environment (variables already
    set win), the working directory becomes the app's, function_app.py is imported and its functions
    indexed (DevhostError for what the host would refuse or devhost does not mirror). HTTP is served with
    8 threads (port 0 picks a free port, logged at startup); timer functions run in background threads.
    On a loopback address, requests whose `Host` is not a loopback name are refused (DNS rebinding).
    """
    app_dir = Path(app_dir).resolve()
    os.chdir(app_dir)
    load_local_settings(app_dir, os.environ)
    index = index_app(app_dir, read_route_prefix(app_dir), os.environ)
    wsgi_app = FunctionsWsgiApp(index, serve_any_host=not is_loopback(host),
                                function_timeout=read_function_timeout(app_dir))
    body_limit = read_request_body_limit(os.environ)
    # waitress refuses a body of exactly max_request_body_size; the host accepts exactly its limit. Its
    # buffers stay in memory: by default a request body past 512 KiB, or a response past 1 MB, goes to a
    # temporary file, and nothing a user sends or gets may touch the disk. A response is buffered up to
    # the high-water mark (16 MiB) and then waits for the client, so a buffer never grows past it.
    # The host passes X-Forwarded-* headers on to functions; waitress would drop them by default.
    server = waitress.create_server(
        wsgi_app, host=host, port=port, threads=8, max_request_body_size=body_limit + 1,
        inbuf_overflow=body_limit + 1, outbuf_overflow=OUTPUT_BUFFER_BYTES + 1,
        outbuf_high_watermark=OUTPUT_BUFFER_BYTES, clear_untrusted_proxy_headers=False,
        connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_SECONDS,
    )
    for listener in [server, *getattr(server, "map", {}).values()]:  # one server per address `host` has
        if hasattr(listener, "channel_class"):
            listener.channel_class = HostLikeChannel
    base_url = _base_url(server)
    _log_functions(index, base_url)
    scheduler = TimerScheduler(index.timer_functions)
    scheduler.start()
    logger.info("Listening on %s (Ctrl+C to stop)", base_url)
    try:
        with _sigterm_stops_like_ctrl_c():
            server.run()
    finally:
        scheduler.stop()
        server.close()
        logger.info("devhost stopped")


class HostLikeParser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        self._join_repeated_lines_as_the_host_does(header_plus)
        if self.chunked:
            self.headers["TRANSFER_ENCODING"] = "chunked"

    def _join_repeated_lines_as_the_host_does(self, header_plus: bytes) -> None:
        """Join each repeated header's values with "," where waitress put ", ", from lines waitress has already
        accepted (so each matches its header grammar), skipping what it skips (names with "_") and the two
        headers it reads itself (their repetition is its own error)."""
        lines = get_header_lines(header_plus.partition(b"\r\n")[2])
        if len(lines) == len(self.headers):  # waitress keeps one entry per name: no name came twice
            return
        values: dict[str, list[str]] = {}
        for line in lines:
            name, value = HEADER_FIELD_RE.match(line).group("name", "value")
            key = name.upper().replace(b"-", b"_").decode("latin-1")
            if b"_" not in name and key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                values.setdefault(key, []).append(value.strip(b" \t").decode("latin-1"))
        for key, lines in values.items():
            if len(lines) > 1:
                self.headers[key] = ",".join(lines)

    def received(self, data: bytes) -> int:
        """Parse as waitress does; a request it refuses is never invited to send its body, and a body over
        the limit gets the host's 413.

        The Functions host (azure-functions-host `HttpRequestBodySizeMiddleware`) sets Kestrel's
        `MaxRequestBodySize` to FUNCTIONS_REQUEST_BODY_SIZE_LIMIT (100 MiB, `ScriptConstants`, when
        unset), and reads the body of every function invocation with a `Content-Length` above 0
        (`GrpcMessageConversionExtensions.ToRpcHttp`). On that first read Kestrel (aspnetcore
        `MessageBody.TryStartAsync`, `Http1ContentLengthMessageBody.OnReadStarting`) checks the
        announced `Content-Length` before anything else: over the limit, keep-alive is turned off and
        the request is rejected, so the client gets `413` with an empty body (`Content-Length: 0`,
        `Connection: close`, from `HttpProtocol.SetErrorResponseHeaders`) and no body is read.
        `100 Continue` is written only after that check, by a read that finds no body bytes waiting
        (`MessageBody.StartTimingReadAsync`), so a request over the limit never gets one.

        waitress refuses such a request as soon as its headers are parsed (its `max_request_body_size`,
        the limit + 1 here), but its channel still sends `100 Continue` to a request that asked for it,
        refused or not, and then reads the body it invited (up to the limit, into memory). Here a
        refused request no longer expects a `100 Continue`, so none is sent, and a refusal for size has
        an empty body, as the host's. waitress closes the connection after any refusal and reads no
        more from it, so a body the client sends anyway is never taken in (what arrived with the
        headers is dropped).

        A difference left: waitress sends `100 Continue` to a request within the limit as soon as its
        headers arrive, where Kestrel waits for the host to read the body (which it does for every
        function; a request no function takes gets its answer without one).
        """
        consumed = super().received(data)
        if self.error is not None:
            self.expect_continue = False
            if isinstance(self.error, RequestEntityTooLarge):
                self.error = HostRequestEntityTooLarge(self.error.body)
        return consumed


class HostRequestEntityTooLarge(RequestEntityTooLarge):
    """The host's 413: no body (waitress's names its `max_request_body_size`, one more than the limit)."""

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        return f"{self.code} {self.reason}", [], b""


class HostLikeChannel(HTTPChannel):
    parser_class = HostLikeParser


def _base_url(server: Any) -> str:
    """The URL of the first address waitress listens on (one per address `host` resolves to)."""
    addresses = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    host, port = addresses[0][:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _log_functions(index: FunctionIndex, base_url: str) -> None:
    """List the functions as Core Tools does: each HTTP route's URL, each timer's schedule.

    A function that is not anonymous gets a warning: Azure will answer 401 without a key, while
    devhost, like Core Tools, asks for none.
    """
    logger.info("Functions:")
    for function in index.http_functions:
        methods = ",".join(sorted(function.methods)) if function.methods is not None else "*"
        logger.info("    %s: [%s] %s/%s", function.name, methods, base_url, function.route.text)
        if function.auth_level != "anonymous":
            logger.warning("    %s has auth level '%s': Azure will require a key, devhost does not",
                           function.name, function.auth_level)
    for timer in index.timer_functions:
        startup = ", runs on startup" if timer.run_on_startup else ""
        logger.info("    %s: timerTrigger, schedule '%s'%s", timer.name, timer.schedule.text, startup)


@contextmanager
def _sigterm_stops_like_ctrl_c() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, which waitress's loop takes as the signal to stop."""
    def interrupt(_signal_number: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
