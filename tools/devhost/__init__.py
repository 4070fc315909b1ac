"""devhost: run this Azure Functions app locally, for machines without Core Tools.

`python -m tools.devhost` serves the app's HTTP functions on http://127.0.0.1:7071 and fires its timer
functions on their schedules. Where a difference from the real host could hide a bug, it behaves
like the real host: route order, reserved routes, request and response conversion, cookies.

The modules, in the order an app meets them: `settings` (local.settings.json, host.json),
`indexing` (function_app.py -> functions, with `routing` and `schedule`), `wsgi` (dispatch, with
`conversion`, `cookies` and `chunked` for HTTP in and out), `timers`. This file only assembles them.
"""

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import waitress

from .chunked import HostLikeChannel
from .errors import DevhostError
from .indexing import FunctionIndex, index_app
from .settings import load_local_settings, read_function_timeout, read_request_body_limit, read_route_prefix
from .timers import TimerScheduler
from .wsgi import FunctionsWsgiApp, is_loopback

__all__ = ["DevhostError", "LocalHost", "load", "serve"]

logger = logging.getLogger("devhost")
OUTPUT_BUFFER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class LocalHost:
    """An app loaded as the host loads it at startup: its functions and its WSGI application."""

    index: FunctionIndex
    wsgi_app: FunctionsWsgiApp


def load(app_dir: Union[str, Path] = ".", serve_any_host: bool = False) -> LocalHost:
    """Load the app in `app_dir` without serving it.

    Copies local.settings.json's Values into `os.environ` (variables already set win), reads the
    route prefix and the function timeout from host.json, imports function_app.py and indexes its
    functions. Raises DevhostError for anything the real host would refuse or devhost cannot run.
    Requests whose `Host` is not a loopback name are refused unless `serve_any_host`.
    """
    app_dir = Path(app_dir).resolve()
    load_local_settings(app_dir, os.environ)
    index = index_app(app_dir, read_route_prefix(app_dir), os.environ)
    return LocalHost(index, FunctionsWsgiApp(index, serve_any_host, read_function_timeout(app_dir)))


def serve(app_dir: Union[str, Path] = ".", host: str = "127.0.0.1", port: int = 7071) -> None:
    """Run the app until SIGINT or SIGTERM; call it from the main thread.

    HTTP is served by waitress with 8 threads (port 0 picks a free port, logged at startup) and
    bodies above the host's limit (`FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`, 100 MiB unless set) are answered
    413; a chunked body reaches the function
    empty, as in the host. Timer functions run in background
    threads. The working directory becomes the app directory, where the worker runs an app.
    Everything is logged through the `devhost` logger. To serve an app from another thread, give
    `load(app_dir).wsgi_app` to a WSGI server of your own.
    """
    app_dir = Path(app_dir).resolve()
    os.chdir(app_dir)
    local = load(app_dir, serve_any_host=not is_loopback(host))
    body_limit = read_request_body_limit(os.environ)  # local.settings.json's values are in it by now
    # waitress refuses a body of exactly max_request_body_size; the host accepts exactly its limit. Its
    # buffers stay in memory: by default a request body past 512 KiB, or a response past 1 MB, goes to a
    # temporary file, and nothing a user sends or gets may touch the disk. A response is buffered up to
    # the high-water mark (16 MiB) and then waits for the client, so a buffer never grows past it.
    # The host passes X-Forwarded-* headers on to functions; waitress would drop them by default.
    server = waitress.create_server(
        local.wsgi_app, host=host, port=port, threads=8, max_request_body_size=body_limit + 1,
        inbuf_overflow=body_limit + 1, outbuf_overflow=OUTPUT_BUFFER_BYTES + 1,
        outbuf_high_watermark=OUTPUT_BUFFER_BYTES, clear_untrusted_proxy_headers=False,
    )
    server.channel_class = HostLikeChannel  # chunked bodies dropped, as the host drops them
    base_url = _base_url(server)
    _log_functions(local.index, base_url)
    scheduler = TimerScheduler(local.index.timer_functions)
    scheduler.start()
    logger.info("Listening on %s (Ctrl+C to stop)", base_url)
    try:
        with _sigterm_stops_like_ctrl_c():
            server.run()
    finally:
        scheduler.stop()
        server.close()
        logger.info("devhost stopped")


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
