"""Set-Cookie headers exactly as the real host sends them for a Python function.

A cookie takes three lossy hops between `resp.headers.add("Set-Cookie", ...)` and the browser;
devhost repeats each one so that a cookie that breaks in Azure breaks here too:

1. azure.functions (`HttpResponseConverter.encode`) parses every Set-Cookie with
   `http.cookies.SimpleCookie`, which silently drops a string it cannot parse, such as one with
   the `Partitioned` attribute or an unquoted value holding a space. devhost calls that very code.
2. The Python worker sends each kept cookie to the host as fields: name, value, domain and path
   (always, empty when unset), expires (parsed with dateutil; a date it cannot read fails the
   whole invocation), secure, httponly, samesite (lax, strict or none; anything else is left
   out) and max-age (a number, or the invocation fails). Other attributes are lost.
3. The host writes each with ASP.NET Core's `Response.Cookies.Append`, which percent-encodes the
   value (`Uri.EscapeDataString`: only letters, digits and `-._~` survive) and writes lower-case
   attributes in a fixed order. So `token=abc=; Path=/` arrives as `token=abc%3D; domain=; path=/`.

Sources: azure-functions-python-worker `bindings/datumdef.py` and `nullable_converters.py`,
azure-functions-host `ConvertCookie`, aspnetcore `ResponseCookies` and `SetCookieHeaderValue`;
the worker's tests against the real host expect `foo=bar` to arrive as `foo=bar; domain=; path=`.
"""

from email.utils import formatdate
from http.cookies import Morsel, SimpleCookie
from urllib.parse import quote

from dateutil import parser as date_parser

_SAME_SITE_VALUES = ("lax", "strict", "none")


def host_set_cookie_headers(cookies: list[SimpleCookie] | None) -> list[str]:
    """The Set-Cookie header values the host sends for the cookies azure.functions kept."""
    return [_host_set_cookie(name, morsel) for cookie in cookies or [] for name, morsel in cookie.items()]


def _host_set_cookie(name: str, morsel: Morsel) -> str:
    parts = [f"{name}={quote(morsel.value, safe='')}"]
    if morsel["expires"]:
        parts.append(f"expires={_http_date(morsel['expires'])}")
    if morsel["max-age"] != "":
        parts.append(f"max-age={int(float(morsel['max-age']))}")
    parts.append(f"domain={morsel['domain']}")
    parts.append(f"path={morsel['path']}")
    if morsel["secure"]:
        parts.append("secure")
    if str(morsel["samesite"]).lower() in _SAME_SITE_VALUES:
        parts.append(f"samesite={morsel['samesite'].lower()}")
    if morsel["httponly"]:
        parts.append("httponly")
    return "; ".join(parts)


def _http_date(expires: str) -> str:
    """The worker parses `expires` with dateutil and keeps whole seconds; the host writes RFC 1123."""
    seconds = int(date_parser.parse(expires).timestamp())
    return formatdate(seconds, usegmt=True)
