"""Problem documents (RFC 9457): how every failure a client can cause is answered, and the one table of them.

``PROBLEMS`` holds every problem the API answers with: its key, status, title, what the problems page
says of it and what the page says to a trainer who meets it. Everything else is made from it:

- a handler raises ``HTTPProblem(key, detail)``, with only the request's own ``detail`` (and ``errors``);
  ``routes`` turns it into an ``application/problem+json`` response whose ``type`` links the problem's
  section of the problems page (``/static/problems.html#key``);
- the problems page is ``static/problems.html`` with one section per 4xx problem filled in by the app;
- the page's words for each problem reach its scripts as ``/static/problemtable.js``, a module the app
  makes from the table (``static/problems.js`` imports it).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from ..lab.model import Problem
from ..outputs import FORMATS
from .http import Response

# Each 4xx problem's type is the section of this page that says what it means and how to fix it.
PROBLEMS_PAGE = "/static/problems.html"
PAGE_TEMPLATE = "problems.html"
SECTIONS_MARK = "<!-- the sections: one per problem of usermapper/web/problems.py's table -->"
PAGE_MODULE = "problemtable.js"


@dataclass(frozen=True)
class PageWording:
    """What the page says when it meets the problem: a heading and a sentence a trainer can act on.

    ``{problems}`` in the title is the number of located errors ("3 problems"). An empty ``detail`` shows
    the server's own, or ``hint`` for an answer that carried none (a proxy's, the host's); ``{retry}`` is
    when to try again, from Retry-After, and ``{status}`` the answer's status."""

    title: str
    detail: str = ""
    hint: str = ""


@dataclass(frozen=True)
class ProblemKind:
    """One problem the API answers with. The key is its section's id on the problems page and the end of
    its ``type``; a 5xx has no section (its type is about:blank: nothing to fix but to try again).
    ``means`` and ``fix`` are the section's text, with `code` between backticks. The first status is the
    one it is raised with unless the raise names another of them."""

    key: str
    statuses: tuple[int, ...]
    title: str
    page: PageWording
    means: str = ""
    fix: str = ""

    @property
    def has_section(self) -> bool:
        return self.statuses[0] < 500


READ_AGAIN = PageWording("The config could not be read", hint="Check that it is YAML text.")
NOT_ACCEPTED = PageWording("The server did not accept the upload", "Reload the page and try again.")
TOO_LARGE = PageWording("The config or the lab is too large for the web page",
                        hint="Make the lab smaller, or use the usermapper command line for big labs.")
REFUSED = PageWording("The server refused this page's request")


def _formats() -> str:
    names = [f"`{name}`" for name in FORMATS]
    names[0] += " (the default)"
    return f"{', '.join(names[:-1])} or {names[-1]}"


# In the problems page's order. Where an answer names no problem of its own (a proxy's 502, the host's
# 413), the page takes the first problem of its status, so the likeliest comes first.
PROBLEMS: Mapping[str, ProblemKind] = {kind.key: kind for kind in (
    ProblemKind(
        "unreadable-config", (400,), "Unreadable config",
        PageWording("The config could not be read", "Check the YAML at the line shown."),
        "The config is not valid YAML (or, sent as `application/json`, not valid JSON).",
        "The problem's `errors` give the line and column and say what is wrong there: a tab in the indentation "
        "(YAML indents with spaces only), a quote or bracket never closed, a name without its colon, a line "
        "indented differently from its neighbours. Fix that place and send it again."),
    ProblemKind(
        "invalid-config", (422,), "Invalid config",
        PageWording("The config has {problems}", "Choose one to go to its line in the editor."),
        "The config is valid YAML, but not a lab usermapper can build: a field is missing, misspelt or of the "
        "wrong kind, a number is out of range, two types would generate the same username or connection name, "
        "or a limit is passed.",
        "Each entry of `errors` names the field (`users.students.quantity`), its line and column, and what to "
        "change. Every problem is listed at once, in line order; fix them all and send it again. "
        "The project's docs/config.md describes every field."),
    ProblemKind(
        "empty-config", (400,), "Empty config", READ_AGAIN,
        "The request held no config, or only white space.",
        "Send the YAML file: `curl -F config=@lab.yaml`, or a raw body with `--data-binary @lab.yaml`."),
    ProblemKind(
        "invalid-credentials-sheet", (422,), "Invalid credentials sheet",
        PageWording("The credentials sheet has {problems}", "Fix the sheet, or generate without it."),
        "The previous credentials sheet sent in the field `credentials`, whose passwords the lab was to keep, "
        "cannot be used: it is not UTF-8 CSV, lacks the `username` or `password` column, repeats a username, "
        "holds a line break in a password, or is larger than a config may be. Nothing was generated from it.",
        "Each entry of `errors` gives the line and column in the sheet (and its column's name as `path`). "
        "Send the sheet a previous generation gave (its credentials download), or any CSV with `username` and "
        "`password` columns."),
    ProblemKind(
        "no-config-in-the-upload", (400,), "No config in the upload", READ_AGAIN,
        "A `multipart/form-data` upload must hold exactly one field named `config`.",
        "Name the file's field `config` (`curl -F config=@lab.yaml`), and send one."),
    ProblemKind(
        "unreadable-upload", (400,), "Unreadable upload", READ_AGAIN,
        "The multipart body could not be parsed: its boundary or parts are broken.",
        "Let your client build the form (`curl -F config=@lab.yaml`, or the page)."),
    ProblemKind(
        "unsupported-media-type", (415,), "Unsupported media type", NOT_ACCEPTED,
        "The body's `Content-Type` is not one the API reads. A form's `text/plain` encoding is refused too, "
        "since any web page can send it.",
        "Send `multipart/form-data` with a field `config`, or a raw body as `application/yaml`, `text/yaml` or "
        "`application/json`."),
    ProblemKind(
        "length-required", (411,), "Length required", NOT_ACCEPTED,
        "The body was sent in chunks, without a `Content-Length`. The Azure Functions host passes a body on "
        "only when it has one, so it arrived empty.",
        "Send it with a length: `curl --data-binary @lab.yaml` or `curl -F config=@lab.yaml` (not `-T`)."),
    ProblemKind(
        "config-too-large", (413,), "Config too large", TOO_LARGE,
        "The config is bigger than the largest the app accepts (1 MiB by default, "
        "`USERMAPPER_MAX_CONFIG_BYTES`).",
        "A lab config is a few kilobytes; for a truly bigger one, use the command line, which takes 64 MiB."),
    ProblemKind(
        "file-too-large", (413,), "File too large", TOO_LARGE,
        "The file this lab asks for would be bigger than the web app makes (80 MB of XML by default, "
        "`USERMAPPER_MAX_XML_BYTES`). Its size is computed exactly before anything is built.",
        "Use fewer users or devices, shorter values, or the command line: "
        "`python -m usermapper -i lab.yaml -o user-mapping.xml`, which writes far bigger files."),
    ProblemKind(
        "download-too-large", (413,), "Download too large", TOO_LARGE,
        "This lab's file in the format asked for (an import file, a password script, or the sign-in "
        "documents, at most 16 MiB, counted as they are written) would be bigger than the web app serves, the same limit as the XML's (80 MB by default, `USERMAPPER_MAX_XML_BYTES`). Each "
        "format's size is counted exactly at the upload, before anything is built; the summary's `formats` "
        "lists those the lab can be downloaded in, and `sizes` each one's bytes.",
        "Download another format, use fewer users or devices, or the command line, whose `--format` writes "
        "far bigger files."),
    ProblemKind(
        "file-too-large-to-keep", (413,), "File too large to keep", TOO_LARGE,
        "The file and its passwords, compressed, do not fit the one storage entity a session has (704 KiB). "
        "This happens with many long random values, which do not compress.",
        "Use shorter random passwords or fewer users, or the command line."),
    ProblemKind(
        "no-file-for-this-session", (404,), "No file for this session",
        PageWording("This file is no longer available", "It expired or was deleted. Generate it again from "
                    "your config."),
        "This browser has no generated file: it expired (after 60 minutes by default), was ended with Start "
        "over, was never made, or was saved by an older version of the app.",
        "Generate it again."),
    ProblemKind(
        "the-file-was-replaced", (409, 412), "The file was replaced",
        PageWording("This file was replaced in another tab", "Another tab of this browser generated a new "
                    "file, and the server keeps one per browser. Show the current file, or generate this one "
                    "again."),
        "The download named one file (by its SHA-256, with `If-Match` or `?sha256=`), but this browser's "
        "session now holds another: another tab generated a new one.",
        "Show the current file (the page offers a button), or generate again in this tab."),
    ProblemKind(
        "replaced-at-the-same-time", (409,), "Replaced at the same time",
        PageWording("Another tab changed the file at the same time"),
        "Two requests of this browser changed its file at once (two Generates, or Generate and Start over); "
        "the other one won, and this one's file was dropped.",
        "Generate again."),
    ProblemKind(
        "two-session-cookies", (400,), "Two session cookies",
        PageWording("This browser sends two session cookies"),
        "The request carried two different session cookies (on `localhost`, a page of another port can set "
        "one), so the app cannot tell which file is meant.",
        "Clear this site's cookies, or use one tab per port, and generate again."),
    ProblemKind(
        "cross-origin-request-refused", (403,), "Cross-origin request refused", REFUSED,
        "Another site's page tried to generate or delete a file in your browser's session. Only usermapper's "
        "own page may; scripts and `curl`, which send no `Origin`, may too.",
        "Use the app's own page. To allow another origin of yours, list it in `USERMAPPER_ALLOWED_ORIGINS`."),
    ProblemKind(
        "method-not-allowed", (405,), "Method not allowed", REFUSED,
        "The route does not serve this HTTP method.",
        "Use one of the methods the `Allow` header lists."),
    ProblemKind(
        "not-found", (404,), "Not found",
        PageWording("A file of this page could not be loaded", "Reload the page and try again."),
        "There is no page asset by that name.",
        "Check the address: the page is at `/`, its files under `/static/`."),
    ProblemKind(
        "unknown-format", (400,), "Unknown format",
        PageWording("The server does not make this format"),
        "A download asked for a `format` the API does not make.",
        f"Use {_formats()}."),
    ProblemKind(
        "the-lab-cannot-be-imported", (422,), "The lab cannot be imported",
        PageWording("Guacamole's import cannot carry this lab"),
        "Guacamole's database import cannot carry this lab as it is: a device type with a `/` in its name, two "
        "device types that differ only in case, a connection name twice in one group, or a name longer than "
        "the database holds.",
        "Each entry of `errors` names the field and line to change; `user-mapping.xml` itself is still "
        "available."),
    ProblemKind(
        "passwords-cannot-be-set-through-sql", (422,), "Passwords cannot be set through SQL",
        PageWording("The password scripts cannot set these passwords"),
        "A password script needs each password or its SHA-256; an `md5` hash cannot become the hash "
        "Guacamole's database checks.",
        "Use `password_encoding: sha256` or `plain` for the users you import, and generate again."),
    ProblemKind(
        "sign-in-link-too-long", (422,), "Sign-in link too long",
        PageWording("A sign-in link would be too long"),
        "A user gets so many connections, or such long parameters, that their sign-in link would be longer "
        "than the 2,000,000 characters browsers and Guacamole take (docs/signin-links.md).",
        "Give that user's type fewer devices, or hand that user a password instead."),
    ProblemKind(
        "storage-unavailable", (503,), "Storage unavailable",
        PageWording("Storage is unavailable right now", "Nothing was lost: your config is still here. Try "
                    "again {retry}.")),
    ProblemKind(
        "the-app-is-misconfigured", (503,), "The app is misconfigured",
        PageWording("The app is misconfigured", "Nothing can be generated until its operator fixes a setting; "
                    "your config is still here.")),
    ProblemKind(
        "internal-error", (500,), "Internal error",
        PageWording("Something went wrong on the server", "It answered with status {status}. Try again in a "
                    "moment.")),
)}


class HTTPProblem(Exception):
    """A request the client must change (or a failure on our side): the problem of the table with this
    key, answered with its status and this request's ``detail``."""

    def __init__(self, key: str, detail: str, errors: Iterable[Problem] = (), status: int | None = None):
        super().__init__(detail)
        self.kind = PROBLEMS[key]
        if status is not None and status not in self.kind.statuses:
            raise ValueError(f"{key} is answered with {self.kind.statuses}, not {status}")
        self.status = status or self.kind.statuses[0]
        self.title, self.detail, self.errors = self.kind.title, detail, list(errors)

    def response(self) -> Response:
        body = json.dumps(problem_document(self), ensure_ascii=False).encode("utf-8")
        return Response(self.status, body, [("Content-Type", "application/problem+json; charset=utf-8")])


def problem_response(key: str, detail: str, errors: Iterable[Problem] = ()) -> Response:
    return HTTPProblem(key, detail, errors).response()


def problem_document(problem: HTTPProblem) -> dict:
    """RFC 9457's fields; ``type`` links the problem's section of the problems page."""
    document = {"type": f"{PROBLEMS_PAGE}#{problem.kind.key}" if problem.kind.has_section else "about:blank",
                "title": problem.title, "status": problem.status, "detail": problem.detail}
    if problem.errors:
        document["errors"] = [e.as_dict() for e in problem.errors]
    return document


# -- what the app serves from the table -----------------------------------------------------------------------

def served_assets(assets: Mapping[str, bytes]) -> dict[str, bytes]:
    """The problems page, its template's sections filled in from the table, and the page's module of it."""
    template = assets[PAGE_TEMPLATE].decode("utf-8")
    if template.count(SECTIONS_MARK) != 1:
        raise ValueError(f"static/{PAGE_TEMPLATE} must hold the line {SECTIONS_MARK} once")
    sections = "\n".join(_section(kind) for kind in PROBLEMS.values() if kind.has_section)
    return {PAGE_TEMPLATE: template.replace(SECTIONS_MARK, sections.strip()).encode("utf-8"),
            PAGE_MODULE: page_module().encode("utf-8")}


def page_module() -> str:
    """The table as the page's scripts read it: each problem's key, statuses, title and page wording."""
    kinds = [json.dumps({"key": kind.key, "statuses": kind.statuses, "title": kind.title, "page": asdict(kind.page)},
                        ensure_ascii=False) for kind in PROBLEMS.values()]
    return ("// Made by the app from the table of problems in usermapper/web/problems.py: not a file of static/.\n"
            "export default [\n  " + ",\n  ".join(kinds) + "\n];\n")


def _section(kind: ProblemKind) -> str:
    return (f'      <section class="problem-help" id="{kind.key}" aria-labelledby="{kind.key}-title">\n'
            f'        <h2 id="{kind.key}-title">{html.escape(kind.title)}</h2>\n'
            f'        <p>{_markup(kind.means)}</p>\n'
            f'        <p><strong>What to do:</strong> {_markup(kind.fix)}</p>\n'
            f'      </section>')


def _markup(text: str) -> str:
    """Text with `code` between backticks, as HTML."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))
