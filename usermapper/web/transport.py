"""The storage client's HTTP transport: HTTP/1.1 connections kept alive and reused (``connection.py``).

The table SDK sends small, whole requests and reads small, whole answers (an entity is at most 1 MiB), one
origin per app. Through requests and urllib3 each one cost about 0.93 ms of CPU in process against Azurite,
more than half of a storage request (1.65 ms), for pool keys, adapters, retries that are turned off, header
merging and decoders the SDK never asks for; here it costs writing the request and reading the answer,
0.16 ms. azure-core's pipeline (signing, the SDK's retries, its errors) is untouched: this is the
transport it is built to take (``transport=``).

What requests and urllib3 did that still matters is done here too: an idle connection the server has
closed is never reused (Azurite closes them after 5 s, Azure's load balancers after minutes); connecting
and reading have their own timeouts; a failure is the azure-core error the SDK's retry policy and
``storage.storage_errors`` expect, the same one it was through requests (a connection that cannot be made is
a ``ServiceRequestError``, anything after that a ``ServiceResponseError``). A proxy is not spoken here:
``storage.service_client`` keeps requests for an account reached through one.
"""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

from .connection import Answer, Connection, ProtocolError
from .http import DEFAULT_PORTS

IDLE_CONNECTIONS_KEPT = 16  # per origin: more than the threads that ever ask for one at once


class KeptAliveTransport(HttpTransport):
    """Sends each request over an idle kept-alive connection to its origin, or a new one, and reads the
    whole answer; thread-safe (a connection is used by one request at a time)."""

    def __init__(self, *, connection_timeout: float, read_timeout: float, certificates: str | None = None):
        """``certificates``: the CA bundle (a file, or a directory of them) an https server's certificate is
        checked against; the system's when None."""
        self.connection_timeout = connection_timeout
        self.read_timeout = read_timeout
        self.certificates = certificates
        self._tls: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._lock = threading.Lock()

    @property
    def tls(self) -> ssl.SSLContext:
        """Made on the first https connection, not before: loading a CA bundle takes 25 ms, a cold start's
        share that an app on Azurite's http never needs."""
        with self._lock:
            if self._tls is None:
                if self.certificates is not None and os.path.isdir(self.certificates):
                    self._tls = ssl.create_default_context(capath=self.certificates)
                else:
                    self._tls = ssl.create_default_context(cafile=self.certificates)
            return self._tls

    def open(self) -> None:
        """Connections are made when a request needs one."""

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def __enter__(self) -> KeptAliveTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        url = urlsplit(request.url)
        origin = (url.scheme, url.hostname or "", url.port or DEFAULT_PORTS.get(url.scheme, 80))
        target = (url.path or "/") + ("?" + url.query if url.query else "")
        body = request.content
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {name: value for name, value in request.headers.items() if name.lower() != "content-length"}
        read_timeout = kwargs.get("read_timeout", self.read_timeout)
        connection = self._idle_connection(origin) or self._connect(
            origin, kwargs.get("connection_timeout", self.connection_timeout), read_timeout)
        connection.sock.settimeout(read_timeout)  # this request's, also on a connection made for another
        try:
            answer = connection.exchange(request.method, target, headers, body)
        except TimeoutError as error:
            connection.close()
            raise ServiceResponseTimeoutError(f"storage did not answer in time: {error}", error=error) from error
        except (OSError, ProtocolError) as error:
            connection.close()
            raise ServiceResponseError(f"the connection to storage failed: {error!r}", error=error) from error
        except BaseException:
            connection.close()
            raise
        if answer.reusable:
            self._keep(origin, connection)
        else:
            connection.close()
        return WholeResponse(request, answer)

    def _connect(self, origin: tuple[str, str, int], connection_timeout: float, read_timeout: float) -> Connection:
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=connection_timeout)
            if scheme == "https":
                sock = self.tls.wrap_socket(sock, server_hostname=host)
        except TimeoutError as error:
            raise ServiceRequestTimeoutError(f"storage could not be reached in time: {error}", error=error) from error
        except OSError as error:
            raise ServiceRequestError(f"storage could not be reached: {error!r}", error=error) from error
        sock.settimeout(read_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        shown_host = f"[{host}]" if ":" in host else host
        return Connection(sock, shown_host if port == DEFAULT_PORTS.get(scheme) else f"{shown_host}:{port}")

    def _idle_connection(self, origin: tuple[str, str, int]) -> Connection | None:
        """The most recently used idle connection that the server has not closed, if any."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                connection = idle.pop()
            if not _closed_by_server(connection.sock):
                return connection
            connection.close()

    def _keep(self, origin: tuple[str, str, int], connection: Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < IDLE_CONNECTIONS_KEPT:
                idle.append(connection)
                return
        connection.close()


def _closed_by_server(sock: socket.socket) -> bool:
    """An idle connection has nothing to read unless the server closed it (or broke the protocol): either
    way it is not to be reused."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)  # Windows, where Core Tools may run the app
    return bool(readable)


class WholeResponse(HttpResponse):
    """An answer read whole, as azure-core's ``HttpResponse`` (the SDK reads headers, text and JSON)."""

    def __init__(self, request: HttpRequest, answer: Answer):
        self._request = request
        self._status_code = answer.status
        self._reason = answer.reason
        self._content = answer.content
        self._headers = case_insensitive_dict(answer.headers)
        self._encoding: str | None = None

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self._headers

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return True

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        if self._encoding is None:
            _, _, charset = (self.content_type or "").partition("charset=")
            self._encoding = charset.split(";")[0].strip().strip('"') or None
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        try:
            return self._content.decode(encoding or self.encoding or "utf-8-sig", errors="replace")
        except LookupError:  # a charset Python does not know: storage's answers are UTF-8
            return self._content.decode("utf-8-sig", errors="replace")

    def json(self) -> Any:
        return json.loads(self.text())

    def raise_for_status(self) -> None:
        if self._status_code >= 400:
            raise HttpResponseError(response=self)

    def __enter__(self) -> WholeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        """Nothing to close: the answer was read whole and its connection kept or closed then."""

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._content

    def __repr__(self) -> str:
        return f"<WholeResponse: {self._status_code} {self._reason}>"

