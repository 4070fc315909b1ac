"""The cross-origin check for requests that change state, as Go 1.25's ``http.CrossOriginProtection``
does it: a browser's ``Sec-Fetch-Site`` decides when sent; else an ``Origin`` must be this app's own or
one the operator allows; a request with neither (curl, scripts) comes from no page, so it passes."""

from __future__ import annotations

from urllib.parse import urlsplit

from .http import DEFAULT_PORTS, Request
from .problems import HTTPProblem

STATE_CHANGING_METHODS = ("POST", "DELETE")
SAME_ORIGIN_FETCH_SITES = ("same-origin", "none")


def refuse_cross_origin(request: Request, allowed_origins: tuple[str, ...]) -> None:
    """Raise a 403 problem when another origin's page sent the request."""
    site = request.header("sec-fetch-site").strip().lower()
    origin = request.header("origin").strip().lower()
    if site in SAME_ORIGIN_FETCH_SITES or origin in allowed_origins:
        return
    if site:
        raise _cross_origin(f"the browser says it came from a {site} page ({origin or 'origin not sent'})")
    if origin and origin not in own_origins(request):
        raise _cross_origin(f"it came from a page of {origin}")


def own_origins(request: Request) -> set[str]:
    """The origin the request was sent to. In Azure the Functions host has already put the public host
    (App Service's DISGUISED-HOST) and scheme (X-Forwarded-Proto) into the URL; a proxy in front of it
    (Front Door, a gateway on a custom domain) names the host the browser used in X-Forwarded-Host."""
    url = urlsplit(request.url)
    origins = {_origin(url.scheme, url.netloc)}
    forwarded_host = _first_value(request.header("x-forwarded-host"))
    if forwarded_host:
        origins.add(_origin(_first_value(request.header("x-forwarded-proto")) or url.scheme, forwarded_host))
    return origins


def _origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]`` as a browser writes it in ``Origin``: lower case, no default port."""
    scheme, netloc = scheme.strip().lower(), netloc.strip().lower()
    default = f":{DEFAULT_PORTS.get(scheme)}"
    return f"{scheme}://{netloc[: -len(default)] if netloc.endswith(default) else netloc}"


def _first_value(header: str) -> str:
    """The first of a comma-joined header's values: the one the proxy nearest the browser added."""
    return header.split(",")[0].strip()


def _cross_origin(reason: str) -> HTTPProblem:
    return HTTPProblem("cross-origin-request-refused", f"Only usermapper's own page may generate or delete "
                       f"files; this request was refused because {reason}. Scripts and curl, which send "
                       f"neither Origin nor Sec-Fetch-Site, are not affected.")
