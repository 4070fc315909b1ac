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
from dataclasses import asdict, dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Callable, Mapping, TypeVar
from urllib.parse import urlsplit

from .compression import Compressed, CompressingWriter, compress, decompress
from .config import ConfigError, Lab, Problem, read_config
from .credentials import credentials_csv
from .expand import expand
from .settings import Settings
from .store import CLI_HINT, Session, SessionStore, SessionTooLarge, StorageUnavailable
from .xmlwriter import FileTooLarge, check_file_size, write_user_mapping

log = logging.getLogger("usermapper")
T = TypeVar("T")

COOKIE_NAME = "usermapper_session"
COOKIE_PATH = "/api"
DOWNLOAD_PATH = "/api/usermapping"
CREDENTIALS_PATH = "/api/usermapping/credentials"
PREVIEW_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries and part headers around a config at the size limit
RAW_CONFIG_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain",
                    "application/json")
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json",)
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".yaml": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class Request:
    """What the API needs of a request. ``form`` parses a multipart body only when it is asked for."""

    method: str
    url: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""
    form: Callable[[], Mapping[str, list[bytes]]] = lambda: {}

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    @property
    def session_token(self) -> str | None:
        """The session cookie's value. Proxies may join several Cookie headers with ',' instead of '; '."""
        for pair in self.header("cookie").replace(",", ";").split(";"):
            name, _, value = pair.strip().partition("=")
            if name == COOKIE_NAME and value:
                return value.strip('"')
        return None

    @property
    def is_local_http(self) -> bool:
        url = urlsplit(self.url)
        return url.scheme == "http" and (url.hostname or "") in ("localhost", "127.0.0.1", "::1")


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
        settings = Settings.from_environment()
        return cls(settings, SessionStore.from_settings(settings), static_dir)

    # -- routes ------------------------------------------------------------------------------------------

    def usermapping(self, request: Request) -> Response:
        handlers = {"POST": self.create, "GET": self.download, "DELETE": self.end}
        handler = handlers.get(request.method.upper())
        if handler is None:
            return _secured(_problem(405, "Method not allowed", "Use POST, GET or DELETE."))
        return _guarded(handler, request)

    def credentials(self, request: Request) -> Response:
        return _guarded(self.download_credentials, request)

    def health(self, request: Request) -> Response:
        return _guarded(self.check_health, request)

    def page(self, request: Request) -> Response:
        return self.asset(request, "index.html")

    def asset(self, request: Request, name: str) -> Response:
        """Only files that were in ``static/`` when the app started; names are never joined to paths."""
        body = self.assets.get(name)
        if body is None:
            return _secured(_problem(404, "Not found", f"There is no page asset named {name!r}."))
        suffix = Path(name).suffix
        kind = ASSET_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = [("Content-Type", kind), ("Cache-Control", "no-cache")]
        if suffix == ".html":
            headers.append(("Content-Security-Policy", PAGE_POLICY))
        return _secured(Response(200, body, headers))

    # -- handlers ----------------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        started = time.perf_counter()
        lab = self.read_lab(self.config_from(request))
        size = check_file_size(lab, self.settings.limits.max_xml_bytes)
        mapping = expand(lab)
        writer = CompressingWriter(head_limit=PREVIEW_BYTES, size=size)
        write_user_mapping(mapping, writer)
        xml = writer.finish()
        details = _details(lab, xml)
        session = self.store.save(xml, compress(credentials_csv(mapping)), mapping.user_count,
                                  mapping.connection_count, summary=compress(json.dumps(details).encode()))
        self.end_previous(request, session)
        log.info("generated %s users, %s connections, %s bytes in %.0f ms", session.users, session.connections,
                 session.xml_size, (time.perf_counter() - started) * 1000)
        cookie = self.session_cookie(request, session.token, int(self.settings.session_lifetime.total_seconds()))
        if _prefers(request.header("accept"), XML_TYPES, over=JSON_TYPES):
            response = _xml_download(session, compressed=_accepts(request.header("accept-encoding"), "zstd"))
        else:
            response = _json(201, _summary(session, details), ("Location", DOWNLOAD_PATH))
        response.headers.append(("Set-Cookie", cookie))
        return response

    def download(self, request: Request) -> Response:
        """The file; or, for a client that asks for JSON (the page after a reload), what the upload said."""
        session = self.current_session(request)
        if _prefers(request.header("accept"), JSON_TYPES, over=XML_TYPES):
            return _json(200, _summary(session, json.loads(session.summary())))
        response = _xml_download(session, compressed=_accepts(request.header("accept-encoding"), "zstd"))
        response.headers.append(("Vary", "Accept-Encoding"))
        return response

    def download_credentials(self, request: Request) -> Response:
        sheet = self.from_session(request, self.store.load_credentials)
        if _accepts(request.header("accept"), "application/json"):
            rows = list(csv.DictReader(io.StringIO(sheet.decode("utf-8"))))
            return _json(200, {"credentials": rows})
        return Response(200, sheet, [("Content-Type", "text/csv; charset=utf-8"),
                                     ("Content-Disposition", 'attachment; filename="credentials.csv"')])

    def end(self, request: Request) -> Response:
        if request.session_token:
            self.store.delete(request.session_token)
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
        if request.media_type == "multipart/form-data":
            config = _single_config_field(request.form())
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

    def read_lab(self, config: bytes) -> Lab:
        try:
            return read_config(config, self.settings.limits)
        except ConfigError as error:
            if error.syntax:
                raise Problem4xx(400, "Unreadable config", _first_sentence(error), error.problems) from None
            raise Problem4xx(422, "Invalid config", f"The config has {len(error.problems)} "
                                                    f"problem{'s' if len(error.problems) > 1 else ''}; "
                                                    f"each names its field and line.", error.problems) from None

    def end_previous(self, request: Request, replacement: Session) -> None:
        """A new file replaces the session's old one; if storage fails here the old one simply expires."""
        if request.session_token and request.session_token != replacement.token:
            try:
                self.store.delete(request.session_token)
            except StorageUnavailable:
                log.warning("could not delete the replaced session; it will expire")

    def current_session(self, request: Request) -> Session:
        return self.from_session(request, self.store.load)

    def from_session(self, request: Request, load: Callable[[str], T | None]) -> T:
        """What ``load`` finds for the request's session cookie; a 404 when there is no cookie or nothing."""
        token = request.session_token
        found = load(token) if token else None
        if found is None:
            raise _no_session()
        return found

    def session_cookie(self, request: Request, token: str, max_age: int) -> str:
        attributes = [f"{COOKIE_NAME}={token}", f"Max-Age={max_age}", f"Path={COOKIE_PATH}", "HttpOnly",
                      "SameSite=Lax"]
        if not request.is_local_http:
            attributes.append("Secure")
        return "; ".join(attributes)


def _guarded(handler: Callable[[Request], Response], request: Request) -> Response:
    """Turn every way a handler can fail into the right problem response."""
    try:
        response = handler(request)
    except Problem4xx as problem:
        response = _problem(problem.status, problem.title, problem.detail, problem.errors)
    except FileTooLarge as error:
        response = _problem(413, "File too large", f"The file would be {error.size:,} bytes of XML; the web app "
                            f"makes files of at most {error.limit:,} bytes. For a lab this big use the command "
                            f"line: {CLI_HINT}")
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
    response.headers.append(("Cache-Control", "no-store"))
    return _secured(response)


def _secured(response: Response) -> Response:
    response.headers.append(("X-Content-Type-Options", "nosniff"))
    return response


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


def _xml_download(session: Session, compressed: bool = False) -> Response:
    headers = [("Content-Type", "application/xml"),
               ("Content-Disposition", 'attachment; filename="user-mapping.xml"'),
               ("ETag", f'"{session.xml_sha256}"')]
    if compressed:
        headers.append(("Content-Encoding", "zstd"))
        return Response(200, session.xml_zstd, headers)
    return Response(200, decompress(session.xml_zstd), headers)


def _details(lab: Lab, xml: Compressed) -> dict:
    """What a summary says that the stored session does not: kept with it, to be said again later."""
    preview = xml.head if len(xml.head) == xml.size else xml.head[: xml.head.rfind(b"\n") + 1]
    return {
        "warnings": [asdict(w) for w in lab.warnings],
        "preview": preview.decode("utf-8"),
        "preview_truncated": len(preview) < xml.size,
        "passwords": {"generated": any(u.password is None for u in lab.user_types),
                      "hashed": any(u.password_encoding != "plain" for u in lab.user_types)},
    }


def _summary(session: Session, details: dict) -> dict:
    return {
        "users": session.users,
        "connections": session.connections,
        "bytes": session.xml_size,
        "sha256": session.xml_sha256,
        "expires": session.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **details,
        "links": {"download": DOWNLOAD_PATH, "credentials": CREDENTIALS_PATH},
    }


def _json(status: int, document: dict, *headers: tuple[str, str]) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


def _problem(status: int, title: str, detail: str, errors: list[Problem] = ()) -> Response:
    document = {"type": "about:blank" if status >= 500 else f"/problems/{_slug(title)}", "title": title,
                "status": status, "detail": detail}
    if errors:
        document["errors"] = [asdict(e) for e in errors]
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/problem+json; charset=utf-8")])


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
