"""The API's routes: what each method of each route does, from the request to the response.

Every failure a client can cause becomes an RFC 9457 problem (``problems.py``) with a status below 500;
storage trouble becomes a 503 with ``Retry-After``; anything else is logged and answered with a bare 500
problem, never a traceback. docs/http-api.md describes the routes from the outside.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..generate import Checked, check
from ..lab import ConfigError
from ..limits import Limits
from ..previous import SheetRefused
from ..outputs import FORMATS, USER_MAPPING
from ..outputs.summary import lab_summary
from ..outputs.user_mapping import FileTooLarge
from .compression import compress, decompress_head
from .downloads import (
    DOWNLOAD_PATH,
    JSON_TYPES,
    PREVIEW_BYTES,
    XML_TYPES,
    credentials_download,
    generation_details,
    import_download,
    sign_in_documents_download,
    summary,
    written_user_mapping,
    xml_download,
)
from .http import Request, Response, json_response, prefers
from .multipart import credentials_field, form_fields, single_config_field
from .origin import STATE_CHANGING_METHODS, refuse_cross_origin
from .problems import HTTPProblem, problem_document, problem_response, served_assets
from .settings import SettingError, Settings
from .storage import StorageUnavailable
from .session_entity import Session
from .store import CLI_HINT, SessionReplaced, SessionStore, SessionTooLarge

log = logging.getLogger("usermapper")

MAX_ENDED_SESSIONS = 4  # the session cookies one DELETE reads: each costs storage requests
MULTIPART_OVERHEAD = 64 * 1024  # room for boundaries and part headers around a config at the size limit
UPLOAD_FILES = 2  # a config, and the previous credentials sheet whose passwords to keep: each within the limit
# Not text/plain: that is what an HTML form on any site can send (enctype="text/plain").
RAW_CONFIG_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json")
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# The limits the page checks before it sends anything, served as a module made from the app's settings.
LIMITS_MODULE = "limits.js"
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".yaml": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8"}

Handler = Callable[[Request], Response]


class Api:
    """One object per app: settings, the session store and the page's files, read once.

    A method per route, one per handler behind it, and the steps handlers share (the config from a
    request, the lab and its size, the request's session): all of them read the settings or the store."""

    def __init__(self, settings: Settings, store: SessionStore, static_dir: Path):
        self.settings = settings
        self.store = store
        assets = {p.name: p.read_bytes() for p in static_dir.iterdir() if p.is_file()}
        self.assets = assets | served_assets(assets) | {LIMITS_MODULE: _limits_module(settings.limits)}

    @classmethod
    def from_environment(cls, static_dir: Path) -> Api:
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

    def sign_in_documents(self, request: Request) -> Response:
        return self.dispatch(request, {"GET": self.download_sign_in_documents})

    def health(self, request: Request) -> Response:
        return self.dispatch(request, {"GET": self.check_health})

    def page(self, request: Request) -> Response:
        return self.asset(request, "index.html")

    def asset(self, request: Request, name: str) -> Response:
        return self.dispatch(request, {"GET": lambda _request: self.asset_file(name)})

    def sweep(self) -> None:
        """The timer's work: delete every expired session (the store logs what it did)."""
        self.store.sweep()

    def dispatch(self, request: Request, handlers: Mapping[str, Handler]) -> Response:
        """The handler for the request's method, behind the origin check for those that change state.

        A route that serves GET serves HEAD with the same handler (RFC 9110 9.3.2): the same status and
        headers, and the body, which every host drops from a HEAD answer (Kestrel writes none of it; devhost
        sends only its length), so `curl -I` sees what a GET would get."""
        if "GET" in handlers:
            handlers = {**handlers, "HEAD": handlers["GET"]}
        handler = handlers.get(request.method.upper())
        if handler is None:
            return _method_not_allowed(request, handlers)
        if request.method.upper() not in STATE_CHANGING_METHODS:
            return _guarded(handler, request)

        def same_origin_only(checked: Request) -> Response:
            refuse_cross_origin(checked, self.settings.allowed_origins)
            return handler(checked)

        return _guarded(same_origin_only, request)

    # -- handlers ----------------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        started = time.perf_counter()
        previous = _session_token(request)
        generated = self.checked(request).generate()
        xml = written_user_mapping(generated)
        details, imported = generation_details(generated, xml, self.settings.limits.max_xml_bytes)
        try:
            session = self.store.save(xml, compress(generated.credentials.csv), generated.mapping.user_count,
                                      generated.mapping.connection_count,
                                      summary=compress(json.dumps(details).encode()), imported=compress(imported),
                                      replacing=previous)
        except SessionReplaced:
            raise HTTPProblem("replaced-at-the-same-time", "Another request from this browser replaced or "
                              "ended its file while this one was being generated, so this one was dropped. "
                              "Generate it again.") from None
        log.info("generated %s users, %s connections, %s bytes in %.0f ms", session.users, session.connections,
                 session.xml_size, (time.perf_counter() - started) * 1000)
        cookie = request.session_cookie(session.cookie, int(self.settings.session_lifetime.total_seconds()))
        if prefers(request.header("accept"), XML_TYPES, over=JSON_TYPES):
            response = xml_download(session, request)
        else:
            response = json_response(201, summary(session, details, xml.head), ("Location", DOWNLOAD_PATH))
        response.headers.append(("Set-Cookie", cookie))
        return response

    def check_config(self, request: Request) -> Response:
        """Validation as the trainer types: what a POST would say of the config, with nothing made or kept.
        A config's problems are the answer here, not an error: ``valid`` false and the very problem
        document a POST would answer with. No storage, no cookie: it works while storage is down. With a
        previous credentials sheet, ``changes`` says who keeps a password and who is new or gone."""
        config, sheet = self.upload_from(request)
        try:
            checked = self.checked_lab(config, as_json=request.media_type == "application/json", sheet=sheet)
        except HTTPProblem as problem:
            return json_response(200, {"valid": False, "problem": problem_document(problem)})
        lab = checked.lab
        return json_response(200, {"valid": True, "users": lab.user_count, "connections": lab.connection_count,
                                   "bytes": checked.xml_size, "warnings": [w.as_dict() for w in checked.warnings],
                                   "changes": checked.changes().as_dict() if checked.kept else None,
                                   "lab": lab_summary(lab)})

    def download(self, request: Request) -> Response:
        """The file; or, for a client that asks for JSON (the page after a reload), what the upload said.
        ``?format=`` asks for the same lab as Guacamole's database import or its password scripts."""
        format_name = request.query_value("format") or USER_MAPPING.name
        if format_name not in FORMATS:
            raise HTTPProblem("unknown-format", f"format must be one of {', '.join(FORMATS)}; "
                                                f"not {format_name!r}.")
        session = self.current_session(request)
        if format_name != USER_MAPPING.name:
            return import_download(session, FORMATS[format_name], self.settings.limits.max_xml_bytes)
        if prefers(request.header("accept"), JSON_TYPES, over=XML_TYPES):
            return json_response(200, summary(session, json.loads(session.summary()),
                                              decompress_head(session.xml_zstd, PREVIEW_BYTES)))
        return xml_download(session, request)

    def download_credentials(self, request: Request) -> Response:
        return credentials_download(self.current_session(request), request)

    def download_sign_in_documents(self, request: Request) -> Response:
        return sign_in_documents_download(self.current_session(request), self.settings.limits.max_xml_bytes)

    def end(self, request: Request) -> Response:
        """Start over: the sessions the request names end (the first ``MAX_ENDED_SESSIONS`` of them: a browser
        sends one, two when a sibling page set another), with whatever replaced them meanwhile."""
        for token in request.session_tokens[:MAX_ENDED_SESSIONS]:
            self.store.end(token)
        return Response(204, headers=[("Set-Cookie", request.session_cookie("", 0))])

    def check_health(self, request: Request) -> Response:
        self.store.ping()
        return json_response(200, {"status": "ok"})

    def asset_file(self, name: str) -> Response:
        """Only files that were in ``static/`` when the app started, and those made from the table of problems
        (``problems.served_assets``); names are never joined to paths."""
        body = self.assets.get(name)
        if body is None:
            return problem_response("not-found", f"There is no page asset named {name!r}.")
        suffix = Path(name).suffix
        kind = ASSET_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = [("Content-Type", kind), ("Cache-Control", "no-cache")]
        if suffix == ".html":
            headers.append(("Content-Security-Policy", PAGE_POLICY))
        return Response(200, body, headers)

    # -- steps -------------------------------------------------------------------------------------------

    def checked(self, request: Request) -> Checked:
        config, sheet = self.upload_from(request)
        return self.checked_lab(config, as_json=request.media_type == "application/json", sheet=sheet)

    def upload_from(self, request: Request) -> tuple[bytes, bytes | None]:
        """The config's bytes, from a multipart field ``config`` or the raw body, within the size limit; and
        a form's previous credentials sheet (field ``credentials``), or None."""
        limit = self.settings.limits.max_config_bytes
        if len(request.body) > UPLOAD_FILES * limit + MULTIPART_OVERHEAD:
            raise _too_large(len(request.body), limit)
        if not request.body and "chunked" in request.header("transfer-encoding").lower():
            raise HTTPProblem("length-required", "The Functions host passes on a request body only when "
                              "it has a Content-Length; this one was sent in chunks and arrived empty. Send it "
                              "with Content-Length: curl --data-binary @lab.yaml, or curl -F config=@lab.yaml.")
        sheet = None
        if request.media_type == "multipart/form-data":
            form = form_fields(request)
            config, sheet = single_config_field(form), credentials_field(form)
        elif request.media_type in RAW_CONFIG_TYPES:
            config = request.body
        else:
            raise HTTPProblem("unsupported-media-type",
                              f"Send the config as multipart/form-data with a field named 'config' "
                              f"(curl -F config=@lab.yaml) or as a raw body with Content-Type "
                              f"application/yaml; {request.media_type or 'no Content-Type'} is not understood.")
        if len(config) > limit:
            raise _too_large(len(config), limit)
        if not config.strip():
            raise HTTPProblem("empty-config", "The config is empty; it needs `users` and `devices`.")
        return config, sheet

    def checked_lab(self, config: bytes, as_json: bool = False, sheet: bytes | None = None) -> Checked:
        """The lab and the exact size of its file, or the 400, 413 or 422 problem that says why not."""
        try:
            return check(config, self.settings.limits, as_json=as_json, sheet=sheet)
        except ConfigError as error:
            if error.syntax:
                raise HTTPProblem("unreadable-config", _first_sentence(error), error.problems) from None
            raise HTTPProblem("invalid-config", f"The config has {len(error.problems)} "
                                                f"problem{'s' if len(error.problems) > 1 else ''}; "
                                                f"each names its field and line.", error.problems) from None
        except SheetRefused as error:
            raise HTTPProblem("invalid-credentials-sheet", f"The credentials sheet has {len(error.problems)} "
                              f"problem{'s' if len(error.problems) > 1 else ''}; each gives its line and column "
                              f"in the sheet.", error.problems) from None
        except FileTooLarge as error:
            raise HTTPProblem("file-too-large", f"The file would be {error.size:,} bytes of XML; the web app "
                              f"makes files of at most {error.limit:,} bytes. For a lab this big use the command "
                              f"line: {CLI_HINT}") from None

    def current_session(self, request: Request) -> Session:
        """The request's session, if it still holds the file the request names (see ``_require_named``)."""
        token = _session_token(request)
        session = self.store.load(token) if token else None
        if session is None:
            raise HTTPProblem("no-file-for-this-session", "There is no generated file for this browser: it "
                              "expired, was ended, or was never made. Generate it again.")
        _require_named(request, session.xml_sha256)
        return session


class UnusableSettingsApi(Api):
    """Stands in for the app when a setting is unusable: every route answers 503 naming the setting
    (logged once, when the app was built), and the timer logs it and returns, until the setting is fixed
    and the app restarted."""

    def __init__(self, error: SettingError):
        self.error = error

    def dispatch(self, request: Request, handlers: Mapping[str, Handler]) -> Response:
        response = problem_response("the-app-is-misconfigured", f"An app setting is unusable, so nothing "
                                    f"can be served until its operator fixes it: {self.error}.")
        response.headers.append(("Cache-Control", "no-store"))
        return _secured(response)

    def sweep(self) -> None:
        log.error("the sweep cannot run: %s", self.error)


def _session_token(request: Request) -> str | None:
    """The session cookie's value. Two different ones (a page of another port on localhost can set a
    second with a longer Path, which the browser sends first) are refused rather than guessed between."""
    tokens = request.session_tokens
    if len(tokens) > 1:
        raise HTTPProblem("two-session-cookies", f"This request carries {len(tokens)} different "
                          f"{request.cookie_name} cookies, so it is not clear which file is yours. Start over "
                          f"ends them all; if this persists, clear this site's cookies in the browser.")
    return tokens[0] if tokens else None


def _guarded(handler: Handler, request: Request) -> Response:
    """Turn every way a handler can fail into the right problem response."""
    try:
        response = handler(request)
    except HTTPProblem as problem:
        response = problem.response()
    except SessionTooLarge as error:
        response = problem_response("file-too-large-to-keep", str(error))
    except StorageUnavailable as error:
        log.warning("storage unavailable: %s", error)
        response = problem_response("storage-unavailable", "The file store is not answering right now. "
                                    "Nothing was lost; try again in a few seconds.")
        response.headers.append(("Retry-After", str(error.retry_after)))
    except Exception:
        log.exception("unexpected failure in %s %s", request.method, urlsplit(request.url).path)
        response = problem_response("internal-error", "Something went wrong on our side; it has been logged.")
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


def _method_not_allowed(request: Request, handlers: Mapping[str, Handler]) -> Response:
    allowed = ", ".join(handlers)
    response = problem_response("method-not-allowed", f"{urlsplit(request.url).path} answers {allowed}; "
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


def _replaced(status: int) -> HTTPProblem:
    return HTTPProblem("the-file-was-replaced", "This browser's session now holds another file than the one "
                       "asked for: it was generated again, probably in another tab. Show the current file, or "
                       "generate this one again.", status=status)


def _secured(response: Response) -> Response:
    response.headers.append(("X-Content-Type-Options", "nosniff"))
    return response


def _limits_module(limits: Limits) -> bytes:
    """What the page may send, as its scripts import it (``/static/limits.js``): the largest config, which is
    also the largest previous credentials sheet, so that the page refuses a bigger sheet before sending it."""
    return ("// Made by the app from its settings (usermapper/web/routes.py): not a file of static/.\n"
            f"export const MAX_CONFIG_BYTES = {limits.max_config_bytes};\n").encode()


def _too_large(size: int, limit: int) -> HTTPProblem:
    return HTTPProblem("config-too-large", f"The config is {size:,} bytes; the largest accepted is "
                                           f"{limit:,} bytes.")


def _first_sentence(error: ConfigError) -> str:
    problem = error.problems[0]
    where = f"line {problem.line}, column {problem.column}: " if problem.line else ""
    return f"{where}{problem.message}"
