"""The HTTP API, independent of the host that serves it.

``function_app.py`` turns each ``func.HttpRequest`` into a ``Request`` and each ``Response`` back; the
devhost and the tests go through the very same path. Every failure a client can cause becomes an
RFC 9457 problem (``application/problem+json``) with a status below 500; storage trouble becomes a 503
with ``Retry-After``; anything else is logged and answered with a bare 500 problem, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import mimetypes
import time
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Callable, Mapping, TypeVar
from urllib.parse import parse_qs, urlsplit

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, State

from .compression import Compressed, CompressingWriter, compress, decompress
from .config import ConfigError, Lab, Problem, read_config
from .credentials import credentials_csv, unprotected_cell
from .expand import expand
from .importfile import (FILENAMES, ImportRefused, MEDIA_TYPES, Places, entries, group_paths, import_file, import_json,
                         username_collisions)
from .passwords_sql import FORMATS as SQL_FORMATS, check_passwords, passwords_sql
from .settings import SettingError, Settings
from .summary import lab_summary
from .store import CLI_HINT, Session, SessionStore, SessionTooLarge, StorageUnavailable
from .xmlwriter import FileTooLarge, check_file_size, write_user_mapping

log = logging.getLogger("usermapper")
T = TypeVar("T")

# Over https the cookie is __Host- prefixed: the browser then refuses one set by a sibling subdomain or with
# a Domain or another Path. Plain http on localhost cannot carry that prefix in every browser and curl.
COOKIE_NAME = "__Host-usermapper_session"
COOKIE_PATH = "/"
LOCAL_COOKIE_NAME = "usermapper_session"
LOCAL_COOKIE_PATH = "/api"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
STATE_CHANGING_METHODS = ("POST", "DELETE")
SAME_ORIGIN_FETCH_SITES = ("same-origin", "none")
DEFAULT_PORTS = {"http": 80, "https": 443}
DOWNLOAD_PATH = "/api/usermapping"
CREDENTIALS_PATH = "/api/usermapping/credentials"
# Each 4xx problem's type is the section of this page that says what it means and how to fix it.
PROBLEMS_PAGE = "/static/problems.html"
USER_MAPPING = "user-mapping"
DOWNLOAD_FORMATS = (USER_MAPPING, *MEDIA_TYPES, *SQL_FORMATS)
PREVIEW_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries and part headers around a config at the size limit
MAX_BOUNDARY = 70  # RFC 2046 5.1.1
MAX_PARTS = 100  # the form needs one, config; 20,000 one-byte parts took werkzeug half a second
# Not text/plain: that is what an HTML form on any site can send (enctype="text/plain").
RAW_CONFIG_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json")
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json",)
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".yaml": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8"}


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
        tokens = []
        for pair in self.header("cookie").split(";"):
            name, equals, value = pair.strip(" \t").partition("=")
            value = value.strip(" \t")
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if equals and name == self.cookie_name and value and value not in tokens:
                tokens.append(value)
        return tokens

    @property
    def session_token(self) -> str | None:
        """The session cookie's value. Two different ones (a page of another port on localhost can set a
        second with a longer Path, which the browser sends first) are refused rather than guessed between."""
        tokens = self.session_tokens
        if len(tokens) > 1:
            raise Problem4xx(400, "Two session cookies", f"This request carries {len(tokens)} different "
                             f"{self.cookie_name} cookies, so it is not clear which file is yours. Start over "
                             f"ends them all; if this persists, clear this site's cookies in the browser.")
        return tokens[0] if tokens else None

    @property
    def is_local_http(self) -> bool:
        url = urlsplit(self.url)
        return url.scheme == "http" and (url.hostname or "") in LOOPBACK_HOSTS

    @property
    def own_origins(self) -> set[str]:
        """The origin the request was sent to. In Azure the Functions host has already put the public host
        (App Service's DISGUISED-HOST) and scheme (X-Forwarded-Proto) into the URL; a proxy in front of it
        (Front Door, a gateway on a custom domain) names the host the browser used in X-Forwarded-Host."""
        url = urlsplit(self.url)
        origins = {_origin(url.scheme, url.netloc)}
        forwarded_host = _first_value(self.header("x-forwarded-host"))
        if forwarded_host:
            origins.add(_origin(_first_value(self.header("x-forwarded-proto")) or url.scheme, forwarded_host))
        return origins

    def query_value(self, name: str) -> str:
        values = parse_qs(urlsplit(self.url).query).get(name, [""])
        return values[0]


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class Problem4xx(Exception):
    """A request the client must change; becomes a problem response with this status."""

    def __init__(self, status: int, title: str, detail: str, errors: list[Problem] = ()):
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, list(errors)


class Api:
    """One object per app: settings, the session store and the page's files, read once."""

    def __init__(self, settings: Settings, store: SessionStore, static_dir: Path):
        self.settings = settings
        self.store = store
        self.assets = {p.name: p.read_bytes() for p in static_dir.iterdir() if p.is_file()}

    @classmethod
    def from_environment(cls, static_dir: Path) -> "Api":
        """The app as its settings describe it; if one is unusable, an app that says which on every route."""
        try:
            settings = Settings.from_environment()
            store = _store_from(settings)
        except SettingError as error:
            log.error("the app cannot serve requests: %s", error)
            return UnusableSettingsApi(error)
        return cls(settings, store, static_dir)

    # -- routes: every method reaches the route, which answers the ones it does not serve with a 405 --------

    def usermapping(self, request: Request) -> Response:
        return self.dispatch(request, {"POST": self.create, "GET": self.download, "DELETE": self.end})

    def check(self, request: Request) -> Response:
        return self.dispatch(request, {"POST": self.check_config})

    def credentials(self, request: Request) -> Response:
        return self.dispatch(request, {"GET": self.download_credentials})

    def health(self, request: Request) -> Response:
        return self.dispatch(request, {"GET": self.check_health})

    def page(self, request: Request) -> Response:
        return self.asset(request, "index.html")

    def asset(self, request: Request, name: str) -> Response:
        return self.dispatch(request, {"GET": lambda _request: self.asset_file(name)})

    def dispatch(self, request: Request, handlers: Mapping[str, Callable[[Request], Response]]) -> Response:
        """The handler for the request's method, behind the origin check for those that change state."""
        handler = handlers.get(request.method.upper())
        if handler is None:
            return _method_not_allowed(request, handlers)
        if request.method.upper() not in STATE_CHANGING_METHODS:
            return _guarded(handler, request)

        def same_origin_only(checked: Request) -> Response:
            self.refuse_cross_origin(checked)
            return handler(checked)

        return _guarded(same_origin_only, request)

    def asset_file(self, name: str) -> Response:
        """Only files that were in ``static/`` when the app started; names are never joined to paths."""
        body = self.assets.get(name)
        if body is None:
            return _problem(404, "Not found", f"There is no page asset named {name!r}.")
        suffix = Path(name).suffix
        kind = ASSET_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = [("Content-Type", kind), ("Cache-Control", "no-cache")]
        if suffix == ".html":
            headers.append(("Content-Security-Policy", PAGE_POLICY))
        return Response(200, body, headers)

    def refuse_cross_origin(self, request: Request) -> None:
        """Refuse a state-changing request sent by another origin's page, as Go 1.25's
        ``http.CrossOriginProtection`` does: a browser's ``Sec-Fetch-Site`` decides when sent; else an
        ``Origin`` must be this app's own or one of USERMAPPER_ALLOWED_ORIGINS; a request with neither
        (curl, scripts) comes from no page, so it passes. Returns None, or raises a 403 problem."""
        site = request.header("sec-fetch-site").strip().lower()
        origin = request.header("origin").strip().lower()
        if site in SAME_ORIGIN_FETCH_SITES or origin in self.settings.allowed_origins:
            return None
        if site:
            raise _cross_origin(f"the browser says it came from a {site} page ({origin or 'origin not sent'})")
        if origin and origin not in request.own_origins:
            raise _cross_origin(f"it came from a page of {origin}")
        return None

    # -- handlers ----------------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        started = time.perf_counter()
        previous = request.session_token
        config = self.config_from(request)
        lab, size = self.checked_lab(config, as_json=request.media_type == "application/json")
        mapping = expand(lab)
        writer = CompressingWriter(head_limit=PREVIEW_BYTES, size=size)
        write_user_mapping(mapping, writer)
        xml = writer.finish()
        details = _details(lab, xml)
        imported, details["import"] = _database_import(lab, mapping, config)
        session = self.store.save(xml, compress(credentials_csv(mapping)), mapping.user_count,
                                  mapping.connection_count, summary=compress(json.dumps(details).encode()),
                                  imported=compress(imported))
        self.replace_previous(previous, session)
        log.info("generated %s users, %s connections, %s bytes in %.0f ms", session.users, session.connections,
                 session.xml_size, (time.perf_counter() - started) * 1000)
        cookie = self.session_cookie(request, session.token, int(self.settings.session_lifetime.total_seconds()))
        if _prefers(request.header("accept"), XML_TYPES, over=JSON_TYPES):
            response = _xml_download(session, request)
        else:
            response = _json(201, _summary(session, details), ("Location", DOWNLOAD_PATH))
        response.headers.append(("Set-Cookie", cookie))
        return response

    def check_config(self, request: Request) -> Response:
        """Validation as the trainer types: what a POST would say of the config, with nothing made or kept.
        A config's problems are the answer here, not an error: ``valid`` false and the very problem
        document a POST would answer with. No storage, no cookie: it works while storage is down."""
        config = self.config_from(request)
        try:
            lab, size = self.checked_lab(config, as_json=request.media_type == "application/json")
        except Problem4xx as problem:
            return _json(200, {"valid": False, "problem": _problem_document(problem)})
        return _json(200, {"valid": True, "users": lab.user_count, "connections": lab.connection_count,
                           "bytes": size, "warnings": [w._asdict() for w in lab.warnings], "lab": lab_summary(lab)})

    def download(self, request: Request) -> Response:
        """The file; or, for a client that asks for JSON (the page after a reload), what the upload said.
        ``?format=`` asks for the same lab as Guacamole's database import or its password scripts."""
        format_ = request.query_value("format") or USER_MAPPING
        if format_ not in DOWNLOAD_FORMATS:
            raise Problem4xx(400, "Unknown format", f"format must be one of {', '.join(DOWNLOAD_FORMATS)}; "
                                                    f"not {format_!r}.")
        session = self.current_session(request)
        if format_ != USER_MAPPING:
            return _import_download(session, format_)
        if _prefers(request.header("accept"), JSON_TYPES, over=XML_TYPES):
            return _json(200, _summary(session, json.loads(session.summary())))
        response = _xml_download(session, request)
        return response

    def download_credentials(self, request: Request) -> Response:
        sheet = self.current_session(request).credentials()
        if _accepts(request.header("accept"), "application/json"):
            rows = [{name: unprotected_cell(value) for name, value in row.items()}
                    for row in csv.DictReader(io.StringIO(sheet.decode("utf-8")))]
            return _json(200, {"credentials": rows})
        return Response(200, sheet, [("Content-Type", "text/csv; charset=utf-8"),
                                     ("Content-Disposition", 'attachment; filename="credentials.csv"')])

    def end(self, request: Request) -> Response:
        """Start over: every session the request names ends, with whatever replaced it meanwhile."""
        for token in request.session_tokens:
            self.store.end(token)
        return Response(204, headers=[("Set-Cookie", self.session_cookie(request, "", 0))])

    def check_health(self, request: Request) -> Response:
        self.store.ping()
        return _json(200, {"status": "ok"})

    # -- steps -------------------------------------------------------------------------------------------

    def config_from(self, request: Request) -> bytes:
        """The config's bytes, from a multipart field ``config`` or the raw body, within the size limit."""
        limit = self.settings.limits.max_config_bytes
        if len(request.body) > limit + MULTIPART_OVERHEAD:
            raise _too_large(len(request.body), limit)
        if not request.body and "chunked" in request.header("transfer-encoding").lower():
            raise Problem4xx(411, "Length required", "The Functions host passes on a request body only when "
                             "it has a Content-Length; this one was sent in chunks and arrived empty. Send it "
                             "with Content-Length: curl --data-binary @lab.yaml, or curl -F config=@lab.yaml.")
        if request.media_type == "multipart/form-data":
            config = _single_config_field(_multipart_fields(request))
        elif request.media_type in RAW_CONFIG_TYPES:
            config = request.body
        else:
            raise Problem4xx(415, "Unsupported media type",
                             f"Send the config as multipart/form-data with a field named 'config' "
                             f"(curl -F config=@lab.yaml) or as a raw body with Content-Type "
                             f"application/yaml; {request.media_type or 'no Content-Type'} is not understood.")
        if len(config) > limit:
            raise _too_large(len(config), limit)
        if not config.strip():
            raise Problem4xx(400, "Empty config", "The config is empty; it needs `users` and `devices`.")
        return config

    def checked_lab(self, config: bytes, as_json: bool = False) -> tuple[Lab, int]:
        """The lab and the exact size of its file, or the 400, 413 or 422 problem that says why not."""
        lab = self.read_lab(config, as_json)
        try:
            return lab, check_file_size(lab, self.settings.limits.max_xml_bytes)
        except FileTooLarge as error:
            raise Problem4xx(413, "File too large", f"The file would be {error.size:,} bytes of XML; the web app "
                             f"makes files of at most {error.limit:,} bytes. For a lab this big use the command "
                             f"line: {CLI_HINT}") from None

    def read_lab(self, config: bytes, as_json: bool = False) -> Lab:
        try:
            return read_config(config, self.settings.limits, as_json=as_json)
        except ConfigError as error:
            if error.syntax:
                raise Problem4xx(400, "Unreadable config", _first_sentence(error), error.problems) from None
            raise Problem4xx(422, "Invalid config", f"The config has {len(error.problems)} "
                                                    f"problem{'s' if len(error.problems) > 1 else ''}; "
                                                    f"each names its field and line.", error.problems) from None

    def replace_previous(self, previous: str | None, replacement: Session) -> None:
        """The new file replaces the one the request's cookie named. If another request from that browser
        replaced or ended it first (two Generates, or Start over, at once), the new file is dropped: a file
        whose cookie the browser may never keep must not live on with its passwords."""
        if previous is None:
            return
        try:
            replaced = self.store.replace(previous, replacement.token)
        except StorageUnavailable:
            self.drop(replacement)
            raise
        if not replaced:
            self.drop(replacement)
            raise Problem4xx(409, "Replaced at the same time", "Another request from this browser replaced or "
                                  "ended its file while this one was being generated, so this one was dropped. "
                                  "Generate it again.")

    def drop(self, session: Session) -> None:
        try:
            self.store.delete(session.token)
        except StorageUnavailable:
            log.warning("could not drop a session no cookie names; it will expire")

    def current_session(self, request: Request) -> Session:
        """The request's session, if it still holds the file the request names (see ``_require_named``)."""
        session = self.from_session(request, self.store.load)
        _require_named(request, session.xml_sha256)
        return session

    def from_session(self, request: Request, load: Callable[[str], T | None]) -> T:
        """What ``load`` finds for the request's session cookie; a 404 when there is no cookie or nothing."""
        token = request.session_token
        found = load(token) if token else None
        if found is None:
            raise _no_session()
        return found

    def session_cookie(self, request: Request, token: str, max_age: int) -> str:
        path = LOCAL_COOKIE_PATH if request.is_local_http else COOKIE_PATH
        attributes = [f"{request.cookie_name}={token}", f"Max-Age={max_age}", f"Path={path}", "HttpOnly",
                      "SameSite=Lax"]
        if not request.is_local_http:
            attributes.append("Secure")
        return "; ".join(attributes)


class UnusableSettingsApi(Api):
    """Stands in for the app when a setting is unusable: every route answers 503 naming the setting
    (logged once, when the app was built), until the setting is fixed and the app restarted."""

    def __init__(self, error: SettingError):
        self.error = error

    def dispatch(self, request: Request, handlers: Mapping[str, Callable[[Request], Response]]) -> Response:
        response = _problem(503, "The app is misconfigured", f"An app setting is unusable, so nothing can be "
                            f"served until its operator fixes it: {self.error}.")
        response.headers.append(("Cache-Control", "no-store"))
        return _secured(response)


def _guarded(handler: Callable[[Request], Response], request: Request) -> Response:
    """Turn every way a handler can fail into the right problem response."""
    try:
        response = handler(request)
    except Problem4xx as problem:
        response = _problem(problem.status, problem.title, problem.detail, problem.errors)
    except SessionTooLarge as error:
        response = _problem(413, "File too large to keep", str(error))
    except StorageUnavailable as error:
        log.warning("storage unavailable: %s", error)
        response = _problem(503, "Storage unavailable", "The file store is not answering right now. Nothing "
                            "was lost; try again in a few seconds.")
        response.headers.append(("Retry-After", str(error.retry_after)))
    except Exception:
        log.exception("unexpected failure in %s %s", request.method, urlsplit(request.url).path)
        response = _problem(500, "Internal error", "Something went wrong on our side; it has been logged.")
    if not any(name == "Cache-Control" for name, _ in response.headers):
        response.headers.append(("Cache-Control", "no-store"))
    return _secured(response)


def _store_from(settings: Settings) -> SessionStore:
    """The session store; a connection string the storage SDK cannot even parse is a setting's fault."""
    try:
        return SessionStore.from_settings(settings)
    except ValueError as error:
        raise SettingError(f"the storage connection string (USERMAPPER_STORAGE or AzureWebJobsStorage) is "
                           f"unusable: {error}") from None


def _method_not_allowed(request: Request, handlers: Mapping[str, Callable]) -> Response:
    allowed = ", ".join(handlers)
    response = _problem(405, "Method not allowed", f"{urlsplit(request.url).path} answers {allowed}; "
                                                   f"not {request.method.upper()}.")
    response.headers += [("Allow", allowed), ("Cache-Control", "no-store")]
    return _secured(response)


def _require_named(request: Request, sha256: str) -> None:
    """The page names the file it shows, so that it never hands out another: ``If-Match`` with the file's
    ETag (fetch), or ``?sha256=`` (a plain link). A session now holding another file (generated in
    another tab, or swapped) is a 412 or a 409 problem that says so, never the other file."""
    if_match = request.header("if-match").strip()
    if if_match and if_match != "*" and f'"{sha256}"' not in [tag.strip() for tag in if_match.split(",")]:
        raise _replaced(412)
    named = request.query_value("sha256").strip().lower()
    if named and named != sha256:
        raise _replaced(409)


def _replaced(status: int) -> Problem4xx:
    return Problem4xx(status, "The file was replaced", "This browser's session now holds another file than "
                      "the one asked for: it was generated again, probably in another tab. Show the current "
                      "file, or generate this one again.")


def _cross_origin(reason: str) -> Problem4xx:
    return Problem4xx(403, "Cross-origin request refused", f"Only usermapper's own page may generate or delete "
                      f"files; this request was refused because {reason}. Scripts and curl, which send "
                      f"neither Origin nor Sec-Fetch-Site, are not affected.")


def _origin(scheme: str, netloc: str) -> str:
    """``scheme://host[:port]`` as a browser writes it in ``Origin``: lower case, no default port."""
    scheme, netloc = scheme.strip().lower(), netloc.strip().lower()
    default = f":{DEFAULT_PORTS.get(scheme)}"
    return f"{scheme}://{netloc[: -len(default)] if netloc.endswith(default) else netloc}"


def _first_value(header: str) -> str:
    """The first of a comma-joined header's values: the one the proxy nearest the browser added."""
    return header.split(",")[0].strip()


def _secured(response: Response) -> Response:
    response.headers.append(("X-Content-Type-Options", "nosniff"))
    return response


def _multipart_fields(request: Request) -> dict[str, list[bytes]]:
    """Every part of a multipart body by name, files and plain fields alike, as the very bytes sent.

    werkzeug's sans-IO decoder, not its form parser: the parser decodes a plain field (``curl -F
    'config=<lab.yaml'``, no filename) with errors="replace", so a config that is not UTF-8 would turn
    into another one silently instead of being refused at its line and column as the same bytes are in a
    file part or a raw body; it spools a large part to a temporary file (nothing a user sends may touch
    the app's disk); and it answers a body it cannot parse as an empty form. Here a body with no
    boundary, with none of the boundary its Content-Type names, or cut off before its closing boundary
    is a 400 that says so; a well-formed body without a ``config`` field is ``_single_config_field``'s."""
    _, options = parse_options_header(request.header("content-type"))
    boundary = options.get("boundary", "")
    if not boundary:
        raise _unreadable_upload("its Content-Type, multipart/form-data, names no boundary (the line that "
                                 "separates the parts: multipart/form-data; boundary=...), so no part can be found")
    if not 0 < len(boundary) <= MAX_BOUNDARY or not boundary.isascii():
        raise _unreadable_upload(f"the boundary its Content-Type names is not 1 to {MAX_BOUNDARY} ASCII "
                                 f"characters (RFC 2046)")
    decoder = MultipartDecoder(boundary.encode("ascii"), max_parts=MAX_PARTS)
    decoder.receive_data(request.body)
    decoder.receive_data(None)
    fields: dict[str, list[bytes]] = {}
    part: list[bytes] = []
    try:
        while not isinstance(event := decoder.next_event(), Epilogue):
            if isinstance(event, (Field, File)):
                part = fields.setdefault(event.name, [])
                part.append(b"")
            elif isinstance(event, Data):
                part[-1] += event.data
    except ValueError as error:  # the decoder's own words name its state, not the sender's mistake
        raise _unreadable_upload(_multipart_fault(decoder.state, boundary, error)) from None
    except RequestEntityTooLarge:
        raise _unreadable_upload(f"it holds more than {MAX_PARTS} parts; the form needs one, config") from None
    return fields


def _multipart_fault(state: State, boundary: str, error: ValueError) -> str:
    shown = boundary if len(boundary) <= 40 else boundary[:40] + "..."
    if state == State.PREAMBLE:
        return (f"no part of it starts with the boundary its Content-Type names (--{shown}): the body was "
                f"written with another boundary, or is not multipart at all")
    if state in (State.DATA_START, State.DATA):
        return (f"it ends inside a part, without the closing boundary --{shown}--: the upload was cut short, "
                f"or the boundary is wrong")
    if isinstance(error, UnicodeDecodeError):
        return "a part's headers are not UTF-8"
    if "Content-Disposition" in str(error):
        return "a part has no Content-Disposition header, so it has no name"
    return f"it ends after a boundary without the part's headers, or without the closing --{shown}--"


def _unreadable_upload(reason: str) -> Problem4xx:
    return Problem4xx(400, "Unreadable upload", f"The multipart body could not be read: {reason}. Let the "
                      f"client build the form: curl -F config=@lab.yaml.")


def _single_config_field(form: Mapping[str, list[bytes]]) -> bytes:
    values = form.get("config", [])
    if len(values) != 1:
        found = "no field" if not values else f"{len(values)} fields"
        raise Problem4xx(400, "No config in the upload", f"The form must hold exactly one field named 'config' "
                                                         f"(the YAML file); it held {found} of that name.")
    return values[0]


def _prefers(accept: str, wanted: tuple[str, ...], over: tuple[str, ...]) -> bool:
    """True when the client names one of ``wanted`` and ranks it above all of ``over``; a wildcard
    (``*/*``, curl's and browsers' default) names neither, so each route's own default stands."""
    ranks = _qualities(accept)
    best = max(ranks.get(t, 0.0) for t in wanted)
    return best > 0 and best > max(ranks.get(t, 0.0) for t in over)


def _accepts(header: str, value: str) -> bool:
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


def _xml_download(session: Session, request: Request) -> Response:
    """The file: the stored zstd frame as it is for a client that accepts zstd, else decompressed."""
    headers = [("Content-Type", "application/xml"),
               ("Content-Disposition", 'attachment; filename="user-mapping.xml"'),
               ("ETag", f'"{session.xml_sha256}"'), ("Vary", "Accept-Encoding")]
    if _accepts(request.header("accept-encoding"), "zstd"):
        headers.append(("Content-Encoding", "zstd"))
        return Response(200, session.xml_zstd, headers)
    return Response(200, decompress(session.xml_zstd), headers)


def _details(lab: Lab, xml: Compressed) -> dict:
    """What a summary says that the stored session does not: kept with it, to be said again later."""
    preview = xml.head if len(xml.head) == xml.size else xml.head[: xml.head.rfind(b"\n") + 1]
    return {
        "warnings": [w._asdict() for w in lab.warnings],
        "preview": preview.decode("utf-8"),
        "preview_truncated": len(preview) < xml.size,
        "passwords": {"generated": any(u.password is None for u in lab.user_types),
                      "hashed": any(u.password_encoding != "plain" for u in lab.user_types)},
        "lab": lab_summary(lab),
    }


def _database_import(lab: Lab, mapping, config: bytes) -> tuple[bytes, dict]:
    """The import entries as JSON (empty when the lab cannot be imported) and what the summary says of
    them: the connection groups to create, and what refuses the import or the password scripts."""
    said = {"groups": [], "refused": [], "passwords_refused": [], "passwords_refused_mysql": []}
    try:
        check_passwords(lab, config, "postgresql")  # what refuses both scripts
    except ImportRefused as error:
        said["passwords_refused"] = [p._asdict() for p in error.problems]
    # what refuses the MySQL script alone: usernames MySQL takes for one (PostgreSQL compares exactly)
    said["passwords_refused_mysql"] = [p._asdict() for p in username_collisions(lab, Places(config))]
    try:
        found = entries(lab, mapping, config)
    except ImportRefused as error:
        said["refused"] = [p._asdict() for p in error.problems]
        return b"", said
    said["groups"] = group_paths(lab, found)
    return import_json(found), said


def _import_download(session: Session, format_: str) -> Response:
    said = json.loads(session.summary())["import"]
    if format_ in SQL_FORMATS:
        refused = said["passwords_refused"]
        if SQL_FORMATS[format_] == "mysql":  # a session saved before this key has no such refusals
            refused = sorted(refused + said.get("passwords_refused_mysql", []), key=lambda p: (p["line"], p["column"]))
        if refused:
            raise Problem4xx(422, "Passwords cannot be set through SQL", "This lab's passwords cannot be set "
                             "through this script; each problem names its field and line.",
                             [Problem(**p) for p in refused])
        rows = csv.DictReader(io.StringIO(session.credentials().decode("utf-8")))
        users = [(unprotected_cell(row["username"]), unprotected_cell(row["password"])) for row in rows]
        body, kind, filename = passwords_sql(users, SQL_FORMATS[format_]), "application/sql", f"{format_}.sql"
    else:
        if said["refused"]:
            raise Problem4xx(422, "The lab cannot be imported", "Guacamole's connection import cannot carry "
                             "this lab as it is; each problem names its field and line.",
                             [Problem(**p) for p in said["refused"]])
        stored = session.import_entries()
        body = stored if format_ == "import-json" else import_file(json.loads(stored), format_)
        kind, filename = MEDIA_TYPES[format_], FILENAMES[format_]
    return Response(200, body, [("Content-Type", kind),
                                ("Content-Disposition", f'attachment; filename="{filename}"')])


def _summary(session: Session, details: dict) -> dict:
    return {
        "users": session.users,
        "connections": session.connections,
        "bytes": session.xml_size,
        "sha256": session.xml_sha256,
        "expires": session.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **details,
        "links": {"download": DOWNLOAD_PATH, "credentials": CREDENTIALS_PATH,
                  **{f: f"{DOWNLOAD_PATH}?format={f}" for f in DOWNLOAD_FORMATS[1:]}},
    }


def _json(status: int, document: dict, *headers: tuple[str, str]) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


def _problem(status: int, title: str, detail: str, errors: list[Problem] = ()) -> Response:
    document = _problem_document(Problem4xx(status, title, detail, errors))
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/problem+json; charset=utf-8")])


def _problem_document(problem: Problem4xx) -> dict:
    """RFC 9457's fields; ``type`` links the problem's section of the problems page."""
    document = {"type": "about:blank" if problem.status >= 500 else f"{PROBLEMS_PAGE}#{_slug(problem.title)}",
                "title": problem.title, "status": problem.status, "detail": problem.detail}
    if problem.errors:
        document["errors"] = [e._asdict() for e in problem.errors]
    return document


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def _too_large(size: int, limit: int) -> Problem4xx:
    return Problem4xx(413, "Config too large", f"The config is {size:,} bytes; the largest accepted is "
                                               f"{limit:,} bytes.")


def _no_session() -> Problem4xx:
    return Problem4xx(404, "No file for this session", "There is no generated file for this browser: it "
                                                       "expired, was ended, or was never made. Generate it again.")


def _first_sentence(error: ConfigError) -> str:
    problem = error.problems[0]
    where = f"line {problem.line}, column {problem.column}: " if problem.line else ""
    return f"{where}{problem.message}"
