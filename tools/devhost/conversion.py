"""HTTP requests and responses converted the way the host and the Python worker convert them.

In Azure the host receives the request, turns it into an `RpcHttp` message for the Python
worker, which builds an `azure.functions.http.HttpRequest`; on the way back the worker encodes
the function's return value with azure.functions' `HttpResponseConverter` and the host writes
the response. Each hop changes things a function can observe; they are repeated here.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import azure.functions as func
from azure.functions.http import HttpRequest as WorkerHttpRequest
from azure.functions.http import HttpResponseConverter

from .cookies import host_set_cookie_headers

_UNPREFIXED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")
_ENCODED_SLASH = re.compile("%2[fF]")
_PATH_CHARACTERS = "/!$&'()*+,;=:@%"  # RFC 3986's pchar and "/", besides letters, digits and -._~


@dataclass(frozen=True)
class RequestTarget:
    """Where a request goes: the URL as the client sent it, its `Host`, and the decoded path routes match."""

    url: str
    host: str
    path: str
    query: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> "RequestTarget":
        raw_path, _, query = _origin_form(environ).partition("?")
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        path = host_path(raw_path)
        return cls(url=host_url(host, path, query), host=host, path=path, query=query)


@dataclass(frozen=True)
class HostResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def function_request(
    environ: Mapping[str, Any], target: RequestTarget, route_params: dict[str, str]
) -> func.HttpRequest:
    """The request object the worker hands the function: raw body bytes, host-shaped headers and query."""
    return WorkerHttpRequest(
        method=environ["REQUEST_METHOD"],
        url=target.url,
        headers=request_headers(environ),
        params=query_params(target.query),
        route_params=route_params,
        body_type="bytes",
        body=_read_body(environ),
    )


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """Headers with lower-case names, as the host sends them: a repeated header's lines joined with ","
    (Cookie lines too), which `server.HostLikeParser` does where waitress joins them with ", "."""
    headers = {}
    for key, value in environ.items():
        name = _header_name(key)
        if name is not None:
            headers[name] = value
    if _is_chunked(environ):  # the client sent no Content-Length; waitress computed one
        headers.pop("content-length", None)
    return headers


def query_params(query: str) -> dict[str, str]:
    """Query parameters as the host sends them to the Python worker.

    ASP.NET Core groups repeated names case-insensitively and the host joins their values with
    "," (`StringValues.ToString()`); a parameter whose value is empty is left out altogether.
    """
    grouped: dict[str, list[str]] = {}
    first_spelling: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        spelling = first_spelling.setdefault(name.casefold(), name)
        grouped.setdefault(spelling, []).append(value)
    joined = {name: ",".join(values) for name, values in grouped.items()}
    return {name: value for name, value in joined.items() if value}


def host_response(result: Any) -> HostResponse:
    """What the host sends for a function's return value, through the converter the worker uses.

    The converter keeps only the last value of a repeated header (other than Set-Cookie) and adds
    a Content-Type when there is none. A return value it cannot encode (None, bytes, a dict) fails
    the invocation in the worker, so it raises TypeError here with the worker's message.
    """
    try:
        datum = HttpResponseConverter.encode(result, expected_type=None)
    except NotImplementedError as error:
        python_type = type(result).__name__
        raise TypeError(
            f'unable to encode outgoing TypedData: unsupported type "http" for Python type "{python_type}"'
        ) from error
    if datum.type == "string":
        return HostResponse(200, (("Content-Type", "text/plain; charset=utf-8"),), datum.value.encode("utf-8"))
    response = datum.value
    headers = [(name, header.value) for name, header in response["headers"].items()]
    headers += [("Set-Cookie", cookie) for cookie in host_set_cookie_headers(response["cookies"])]
    return HostResponse(int(response["status_code"].value), tuple(headers), response["body"].value)


def _origin_form(environ: Mapping[str, Any]) -> str:
    """The request target as the client sent it (waitress's `REQUEST_URI`: PATH_INFO has %2F decoded), as
    `/path?query`, decoded from WSGI's latin-1 as UTF-8."""
    target = environ["REQUEST_URI"]
    if not target.startswith("/"):  # absolute-form, as sent to a proxy
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target.encode("latin-1").decode("utf-8", "replace")


def host_path(raw_path: str) -> str:
    """The request's path as Kestrel gives it to the host (ASP.NET Core's Kestrel `PathDecoder.DecodePath`):
    percent-decoded, but %2F kept encoded so that it never splits a segment, then its dot segments removed
    (RFC 3986 5.2.4: `/static/../api/health` is `/api/health`)."""
    decoded = "%2F".join(unquote(part) for part in _ENCODED_SLASH.split(raw_path))
    kept: list[str] = []
    segments = decoded.split("/")[1:]
    for number, segment in enumerate(segments, 1):
        if segment == "..":
            kept = kept[:-1]
        elif segment != ".":
            kept.append(segment)
        if segment in (".", "..") and number == len(segments):
            kept.append("")  # `/a/.` is `/a/`
    return "/" + "/".join(kept)


def host_url(host: str, path: str, query: str) -> str:
    """The URL the host gives the worker: `{scheme}://{Host}{Path}{QueryString}` (azure-functions-host
    `GrpcMessageConversionExtensions.ToRpcHttp`), the path escaped again as ASP.NET Core's
    `PathString.ToUriComponent` does (what a path may hold stays as it is), the query as sent."""
    return f"http://{host}{quote(path, safe=_PATH_CHARACTERS)}" + (f"?{query}" if query else "")


def _header_name(environ_key: str) -> str | None:
    if environ_key.startswith("HTTP_"):
        return environ_key[5:].replace("_", "-").lower()
    if environ_key in _UNPREFIXED_HEADERS:
        return environ_key.replace("_", "-").lower()
    return None


def _read_body(environ: Mapping[str, Any]) -> bytes:
    """The body, only when the client sent a Content-Length above 0: the host drops a chunked body."""
    length = environ.get("CONTENT_LENGTH")
    if _is_chunked(environ) or not length or int(length) <= 0:
        return b""
    return environ["wsgi.input"].read(int(length))


def _is_chunked(environ: Mapping[str, Any]) -> bool:
    """Set by `server.HostLikeParser`, which puts back the header waitress removes."""
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
