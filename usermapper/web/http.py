"""What the app needs of HTTP, whoever serves it: a request, a response, content negotiation, cookies.

``function_app.py`` converts the Functions host's types to these and back; devhost and the tests build
them directly, so every route is exercised through the very same path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

# Over https the cookie is __Host- prefixed: the browser then refuses one set by a sibling subdomain or with
# a Domain or another Path. Plain http on localhost cannot carry that prefix in every browser and curl.
COOKIE_NAME = "__Host-usermapper_session"
COOKIE_PATH = "/"
LOCAL_COOKIE_NAME = "usermapper_session"
LOCAL_COOKIE_PATH = "/api"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}  # a URL without a port means these


@dataclass(frozen=True)
class Request:
    """What the API needs of a request."""

    method: str
    url: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    @property
    def is_local_http(self) -> bool:
        url = urlsplit(self.url)
        return url.scheme == "http" and (url.hostname or "") in LOOPBACK_HOSTS

    @property
    def cookie_name(self) -> str:
        return LOCAL_COOKIE_NAME if self.is_local_http else COOKIE_NAME

    @property
    def session_tokens(self) -> list[str]:
        """Each distinct value of the session cookie, in the order sent: of every cookie-pair whose name is
        exactly the session cookie's, pairs separated by ';' only (RFC 6265 5.4: a browser sends one Cookie
        header, its pairs joined by "; "; HTTP/2 and HTTP/3 servers join cookie crumbs with "; " too, RFC
        9113 8.2.3). A ',' is no separator: it is allowed inside a value a browser keeps, so a sibling
        subdomain could set ``foo=a,__Host-usermapper_session=<token>`` and, were ',' split on, plant a
        session the ``__Host-`` prefix exists to refuse, or a second one that makes every request a 400."""
        tokens: dict[str, None] = {}  # a dict, not a list: thousands of pairs are read in linear time
        for pair in self.header("cookie").split(";"):
            name, equals, value = pair.strip(" \t").partition("=")
            value = value.strip(" \t")
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if equals and name == self.cookie_name and value:
                tokens[value] = None
        return list(tokens)

    def query_value(self, name: str) -> str:
        values = parse_qs(urlsplit(self.url).query).get(name, [""])
        return values[0]

    def session_cookie(self, token: str, max_age: int) -> str:
        """The ``Set-Cookie`` value that keeps ``token`` for ``max_age`` seconds (0 ends it)."""
        path = LOCAL_COOKIE_PATH if self.is_local_http else COOKIE_PATH
        attributes = [f"{self.cookie_name}={token}", f"Max-Age={max_age}", f"Path={path}", "HttpOnly",
                      "SameSite=Lax"]
        if not self.is_local_http:
            attributes.append("Secure")
        return "; ".join(attributes)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, document: dict, *headers: tuple[str, str]) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


def prefers(accept: str, wanted: tuple[str, ...], over: tuple[str, ...]) -> bool:
    """True when the client names one of ``wanted`` and ranks it above all of ``over``; a wildcard
    (``*/*``, curl's and browsers' default) names neither, so each route's own default stands."""
    ranks = _qualities(accept)
    best = max(ranks.get(t, 0.0) for t in wanted)
    return best > 0 and best > max(ranks.get(t, 0.0) for t in over)


def accepts(header: str, value: str) -> bool:
    """True when an Accept or Accept-Encoding header names the value without refusing it (``;q=0``)."""
    return _qualities(header).get(value, 0.0) > 0


def _qualities(header: str) -> dict[str, float]:
    """Each value an Accept-style header lists, with its weight (``q``, 1 when absent; RFC 9110 12.4.2)."""
    ranks: dict[str, float] = {}
    for item in header.lower().split(","):
        value, *params = (part.strip() for part in item.split(";"))
        quality = next((_quality(p[2:]) for p in params if p.startswith("q=")), 1.0)
        ranks[value] = max(ranks.get(value, 0.0), quality)
    return ranks


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
