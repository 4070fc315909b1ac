"""What a generation keeps in its session and how each download is served from it.

A POST writes the XML once into a zstd frame (``compression.py``) and keeps, beside it, the summary the
page shows and the database route's entries; every later GET is served from those, never by generating
again, so every download of one session is of the same lab with the same passwords.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timezone

from ..generate import DatabaseRoute, Generated
from ..lab import Problem
from ..lab.yaml_nodes import MAX_REPORTED, reported
from ..outputs import FORMATS, IMPORT_FORMATS, PASSWORD_SCRIPTS, USER_MAPPING, Format
from ..outputs.import_files import import_file, import_json, import_size
from ..outputs.password_scripts import passwords_sql, passwords_sql_size
from ..outputs.signin_links import MAX_LINK_CHARS
from ..outputs.signin_links import warnings as sign_in_warnings
from ..outputs.summary import lab_summary
from .compression import Compressed, CompressingWriter, decompress
from .http import Request, Response, accepts, json_response
from .problems import HTTPProblem
from .session_entity import Session
from .signin_documents import DocumentsTooLarge, LinkTooLong, sign_in_documents

DOWNLOAD_PATH = "/api/usermapping"
CREDENTIALS_PATH = "/api/usermapping/credentials"
SIGN_IN_DOCUMENTS_PATH = "/api/usermapping/sign-in-documents"
PREVIEW_BYTES = 64 * 1024
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json",)


def written_user_mapping(generated: Generated) -> Compressed:
    """The XML, compressed as it is written, with its first ``PREVIEW_BYTES`` kept for the preview."""
    writer = CompressingWriter(head_limit=PREVIEW_BYTES, size=generated.xml_size)
    generated.write_user_mapping(writer)
    return writer.finish()


def generation_details(generated: Generated, xml: Compressed, limit: int) -> tuple[dict, bytes]:
    """What a summary says that the stored session does not, kept with it to be said again later (all but
    the preview, which is the stored XML's own first bytes); and the database import's entries as JSON
    (empty when the lab cannot be imported, or its JSON file would be over ``limit``: the other import
    formats are written from it)."""
    lab = generated.lab
    route = generated.database_route()
    sizes = download_sizes(generated, route, xml.size)
    # Every list is capped (``reported``: the first MAX_REPORTED in line order, then one that counts the rest)
    lists = {"refused": route.refused, "passwords_refused": route.passwords_refused,
             "passwords_refused_mysql": route.passwords_refused_mysql}
    details = {
        "warnings": [w.as_dict() for w in generated.warnings],
        "changes": generated.changes().as_dict() if generated.kept else None,
        "passwords": {"generated": any(u.password is None for u in lab.user_types),
                      "hashed": any(u.password_encoding != "plain" for u in lab.user_types),
                      "spreadsheet_warning": _with_json_form(generated.credentials.warning())},
        "lab": lab_summary(lab),
        "sizes": sizes,
        "formats": available_formats(sizes, limit),
        "sign_in_links": {"warnings": [w.as_dict() for w in reported(sign_in_warnings(lab),
                                                                       "warnings")]},
        "import": {"groups": route.groups[:MAX_REPORTED], "groups_not_listed": max(0, len(route.groups) - MAX_REPORTED),
                   **{key: [p.as_dict() for p in reported(problems, "problems")] for key, problems in lists.items()},
                   "counts": {key: len(problems) for key, problems in lists.items()}},
    }
    kept = not route.refused and sizes[IMPORT_FORMATS[0].name] <= limit
    return details, import_json(route.entries) if kept else b""


def available_formats(sizes: dict[str, int | None], limit: int) -> list[str]:
    """The formats a GET serves: not refused by the lab's problems, within the limit, and for the YAML and
    CSV import files, their JSON form within it too (they are written from it)."""
    json_kept = (sizes[IMPORT_FORMATS[0].name] or 0) <= limit
    return [name for name, size in sizes.items() if size is not None and size <= limit
            and (json_kept or FORMATS[name] not in IMPORT_FORMATS)]


def download_sizes(generated: Generated, route: DatabaseRoute, xml_size: int) -> dict[str, int | None]:
    """Each format's exact size in bytes, counted without writing it; None for a format the lab's problems
    refuse (a 422)."""
    sizes: dict[str, int | None] = {USER_MAPPING.name: xml_size}
    for format_ in IMPORT_FORMATS:
        sizes[format_.name] = None if route.refused else import_size(route.entries, format_.name)
    usernames = [u.username for u in generated.mapping.users]
    for dialect, script in PASSWORD_SCRIPTS.items():
        refused = route.passwords_refused or (dialect == "mysql" and route.passwords_refused_mysql)
        sizes[script.name] = None if refused else passwords_sql_size(usernames, dialect)
    return sizes


def _with_json_form(warning: str | None) -> str | None:
    return f"{warning}, or download its JSON form ({CREDENTIALS_PATH}?format=json)" if warning else None


def summary(session: Session, details: dict, head: bytes) -> dict:
    """What the page shows of a session: its figures, ``details`` (``generation_details``), and the preview
    of the file, from ``head``, its first ``PREVIEW_BYTES`` or all of it."""
    preview = head if len(head) == session.xml_size else head[: head.rfind(b"\n") + 1]
    return {
        "users": session.users,
        "connections": session.connections,
        "bytes": session.xml_size,
        "sha256": session.xml_sha256,
        "expires": session.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **details,
        "preview": preview.decode("utf-8"),
        "preview_truncated": len(preview) < session.xml_size,
        "links": {"download": DOWNLOAD_PATH, "credentials": CREDENTIALS_PATH,
                  "sign_in_documents": SIGN_IN_DOCUMENTS_PATH,
                  **{name: f"{DOWNLOAD_PATH}?format={name}" for name in FORMATS if name != USER_MAPPING.name}},
    }


def xml_download(session: Session, request: Request) -> Response:
    """The file: the stored zstd frame as it is for a client that accepts zstd, else decompressed."""
    headers = [("Content-Type", USER_MAPPING.media_type), _attachment(USER_MAPPING.filename),
               ("ETag", f'"{session.xml_sha256}"'), ("Vary", "Accept-Encoding")]
    if accepts(request.header("accept-encoding"), "zstd"):
        headers.append(("Content-Encoding", "zstd"))
        return Response(200, session.xml_zstd, headers)
    return Response(200, decompress(session.xml_zstd), headers)


def credentials_download(session: Session, request: Request) -> Response:
    """The sheet as CSV; as JSON for a client that asks for it, or as a JSON file with ``?format=json``."""
    sheet = session.credentials()
    as_file = request.query_value("format") == "json"
    if as_file or accepts(request.header("accept"), "application/json"):
        rows = list(csv.DictReader(io.StringIO(sheet.decode("utf-8"))))
        response = json_response(200, {"credentials": rows})
        if as_file:
            response.headers.append(_attachment("credentials.json"))
        return response
    return Response(200, sheet, [("Content-Type", "text/csv; charset=utf-8"), _attachment("credentials.csv")])


def sign_in_documents_download(session: Session, limit: int) -> Response:
    """Each user's sign-in document without its expiry (``signin_documents.py``), or the 413 that says the
    answer would be over ``limit`` or the route's own bound, or the 422 that names a user whose link no
    browser would take."""
    user_types = {row["username"]: row["type"]
                  for row in csv.DictReader(io.StringIO(session.credentials().decode("utf-8")))}
    said = json.loads(session.summary()).get("sign_in_links", {"warnings": []})
    try:
        body = sign_in_documents(session.xml(), user_types, said["warnings"], limit)
    except DocumentsTooLarge as error:
        bound = error.args[0]
        raise HTTPProblem("download-too-large", f"This lab's sign-in documents are over {bound:,} bytes, the "
                          f"most the web app serves of them. Use fewer users or devices, or the command line: "
                          f"python -m usermapper -i lab.yaml --format sign-in-links") from None
    except LinkTooLong as error:
        raise HTTPProblem("sign-in-link-too-long", f"The sign-in link of {error.username!r} would be longer "
                          f"than the {MAX_LINK_CHARS:,} characters browsers and Guacamole take: give that user "
                          f"fewer connections.") from None
    return Response(200, body, [("Content-Type", "application/json")])


def import_download(session: Session, format_: Format, limit: int) -> Response:
    """An import file or a password script, or the 422 problem that says why this lab has none, or the 413
    that says its size is over ``limit`` (counted at the upload; a session saved before has no sizes)."""
    summary_ = json.loads(session.summary())
    said = summary_["import"]
    dialect = next((d for d, script in PASSWORD_SCRIPTS.items() if script == format_), None)
    if dialect is not None:
        keys = ("passwords_refused", "passwords_refused_mysql") if dialect == "mysql" else ("passwords_refused",)
        refused = _listed(said, keys)
        if refused:
            raise HTTPProblem("passwords-cannot-be-set-through-sql", "This lab's passwords cannot be set "
                              "through this script; each problem names its field and line.", refused)
        _refuse_over_limit(summary_.get("sizes", {}), format_, limit)
        rows = csv.DictReader(io.StringIO(session.credentials().decode("utf-8")))
        users = [(row["username"], row["password"]) for row in rows]
        body = passwords_sql(users, dialect)
    else:
        if said["refused"]:
            raise HTTPProblem("the-lab-cannot-be-imported", "Guacamole's connection import cannot carry "
                              "this lab as it is; each problem names its field and line.", _listed(said, ("refused",)))
        sizes = summary_.get("sizes", {})
        _refuse_over_limit(sizes, format_, limit)
        _refuse_over_limit(sizes, IMPORT_FORMATS[0], limit, format_)
        stored = session.import_entries()
        body = stored if format_ == IMPORT_FORMATS[0] else import_file(_users_shared(json.loads(stored)), format_.name)
    return Response(200, body, [("Content-Type", format_.media_type), _attachment(format_.filename)])


def _users_shared(entries_: list[dict]) -> list[dict]:
    """Entries read back from JSON, those granted to the same users sharing one list again, as when they
    were made: the writers write a shared list's text once (2,000 users of escaped names on 100 connections
    took the YAML 6.7 s when each entry's list was written anew)."""
    lists: dict[tuple, list] = {}
    for entry in entries_:
        users = entry["users"]
        if users is not None:
            entry["users"] = lists.setdefault(tuple(users), users)
    return entries_


def _refuse_over_limit(sizes: dict, format_: Format, limit: int, asked: Format | None = None) -> None:
    size = sizes.get(format_.name)
    if size is None or size <= limit:
        return
    if asked is None:
        detail = f"This lab's {format_.filename} would be {size:,} bytes"
    else:  # the other import files are written from the JSON one, which was not kept
        detail = (f"This lab's {asked.filename} is written from its {format_.filename}, which would be {size:,} "
                  f"bytes")
    raise HTTPProblem("download-too-large", f"{detail}; the web app serves files of at most {limit:,} bytes. "
                      f"Use fewer users or devices, or the command line: python -m usermapper -i lab.yaml --format "
                      f"{(asked or format_).name} -o {(asked or format_).filename}")


def _listed(said: dict, keys: tuple[str, ...]) -> list[Problem]:
    """The problems of the summary's lists ``keys``, in line order, capped again as one list. Each list kept
    its first MAX_REPORTED in line order, so the first MAX_REPORTED of them all are among those kept; the
    counts say how many were left out (a session saved before ``counts`` kept every problem)."""
    counts = said.get("counts", {})
    if len(keys) == 1:  # as the summary says it
        return [Problem(**p) for p in said.get(keys[0], [])]
    kept, total = [], 0
    for key in keys:
        problems = said.get(key, [])
        count = counts.get(key, len(problems))
        kept += [Problem(**p) for p in problems[: min(count, MAX_REPORTED)]]
        total += count
    kept.sort(key=lambda p: (p.line, p.column))
    if total <= MAX_REPORTED:
        return kept
    first_left_out = kept[MAX_REPORTED] if len(kept) > MAX_REPORTED else kept[-1]
    return kept[:MAX_REPORTED] + [Problem(first_left_out.path, first_left_out.line, first_left_out.column,
                                          f"and {total - MAX_REPORTED:,} more problems, from here on; fix those "
                                          f"above first")]


def _attachment(filename: str) -> tuple[str, str]:
    return ("Content-Disposition", f'attachment; filename="{filename}"')
