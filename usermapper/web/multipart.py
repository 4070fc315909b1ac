"""Reading a ``multipart/form-data`` upload: the page's form, or ``curl -F config=@lab.yaml``."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.http import parse_options_header

from .http import Request
from .problems import HTTPProblem

MAX_BOUNDARY = 70  # RFC 2046 5.1.1
MAX_PARTS = 100  # the form needs one, config (and the page a second, credentials)


def form_fields(request: Request) -> dict[str, list[bytes]]:
    """Every part of a multipart body by name, files and plain fields alike, as the very bytes sent.

    Read here, by RFC 2046 (5.1.1) and RFC 7578, from the body already in memory. werkzeug's form parser
    decodes a plain field (``curl -F 'config=<lab.yaml'``, no filename) with errors="replace", so a config
    that is not UTF-8 would turn into another one silently instead of being refused at its line and column
    as the same bytes are in a file part or a raw body; it spools a large part to a temporary file (nothing
    a user sends may touch the app's disk); and it answers a body it cannot parse as an empty form. Its
    sans-IO decoder compiles two regular expressions for every boundary it meets, and a browser makes a new
    boundary for every upload: 0.39 ms of each upload's CPU, about a tenth of reading and checking
    classroom.yaml. Here a body with no boundary, with none of the boundary its Content-Type names, or cut
    off before its closing boundary is a 400 that says so; a well-formed body without a ``config`` field is
    ``single_config_field``'s."""
    _, options = parse_options_header(request.header("content-type"))
    boundary = options.get("boundary", "")
    if not boundary:
        raise _unreadable_upload("its Content-Type, multipart/form-data, names no boundary (the line that "
                                 "separates the parts: multipart/form-data; boundary=...), so no part can be found")
    if not 0 < len(boundary) <= MAX_BOUNDARY or not boundary.isascii():
        raise _unreadable_upload(f"the boundary its Content-Type names is not 1 to {MAX_BOUNDARY} ASCII "
                                 f"characters (RFC 2046)")
    return _parts(request.body, boundary)


def _parts(body: bytes, boundary: str) -> dict[str, list[bytes]]:
    """The parts between the first delimiter line (``--boundary``, at the start of the body or of a line)
    and the close delimiter (``--boundary--``); the preamble before and the epilogue after are ignored."""
    delimiter = b"--" + boundary.encode("ascii")
    shown = boundary if len(boundary) <= 40 else boundary[:40] + "..."
    position = _delimiter_end(body, delimiter, 0, first=True)
    if position < 0:
        raise _unreadable_upload(f"no part of it starts with the boundary its Content-Type names (--{shown}): "
                                 f"the body was written with another boundary, or is not multipart at all")
    fields: dict[str, list[bytes]] = {}
    parts = 0
    while not body.startswith(b"--", position):  # "--" ends the close delimiter
        parts += 1
        if parts > MAX_PARTS:
            raise _unreadable_upload(f"it holds more than {MAX_PARTS} parts; the form needs one, config")
        line_end = body.find(b"\r\n", position)
        headers_end = body.find(b"\r\n\r\n", line_end)
        if line_end < 0 or body[position:line_end].strip(b" \t") or headers_end < 0:
            raise _unreadable_upload(f"it ends after a boundary without the part's headers, or without the "
                                     f"closing --{shown}--")
        name = _part_name(body[line_end + 2:headers_end])
        content_start = headers_end + 4
        next_delimiter = _delimiter_end(body, delimiter, content_start - 2)
        if next_delimiter < 0:
            raise _unreadable_upload(f"it ends inside a part, without the closing boundary --{shown}--: the "
                                     f"upload was cut short, or the boundary is wrong")
        fields.setdefault(name, []).append(body[content_start:next_delimiter - len(delimiter) - 2])
        position = next_delimiter
    return fields


def _delimiter_end(body: bytes, delimiter: bytes, start: int, first: bool = False) -> int:
    """Where the first delimiter at or after ``start`` ends, or -1. A delimiter is CRLF, ``delimiter``, then
    the close's ``--`` or a line end after spaces and tabs (RFC 2046's transport padding); the first one
    may open the body without the CRLF."""
    if first and _delimits(body, len(delimiter)) and body.startswith(delimiter):
        return len(delimiter)
    line_delimiter = b"\r\n" + delimiter
    while (found := body.find(line_delimiter, start)) >= 0:
        end = found + len(line_delimiter)
        if _delimits(body, end):
            return end
        start = end
    return -1


def _delimits(body: bytes, end: int) -> bool:
    """Whether the boundary text ending at ``end`` is a delimiter, not the start of a longer word."""
    if body.startswith((b"--", b"\r\n"), end):
        return True
    if body[end:end + 1] not in (b" ", b"\t"):  # a word goes on: no need to look for the line's end
        return False
    line_end = body.find(b"\r\n", end)
    return line_end >= 0 and not body[end:line_end].strip(b" \t")


def _part_name(header_block: bytes) -> str:
    """The ``name`` its Content-Disposition gives a part (RFC 7578 4.2).

    A line that starts with a space or tab goes on the header before it (RFC 5322 2.2.3 folding, which
    RFC 2046's part headers keep): it is no header of its own. A bare CR or LF is refused: werkzeug (and
    other readers) end the headers at "\n\n" or "\r\r", and reading on to the next CRLF CRLF would take
    the start of the content for headers, and the rest for the whole field."""
    try:
        text = header_block.decode("utf-8")
    except UnicodeDecodeError:
        raise _unreadable_upload("a part's headers are not UTF-8") from None
    lines = text.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n") if text else []
    if any("\r" in line or "\n" in line for line in lines):
        raise _unreadable_upload("a part's headers hold a line break that is not CRLF")
    for line in lines:
        header, colon, value = line.partition(":")
        if colon and header.strip().lower() == "content-disposition":
            return parse_options_header(value.strip())[1].get("name", "")
    raise _unreadable_upload("a part has no Content-Disposition header, so it has no name")


def _unreadable_upload(reason: str) -> HTTPProblem:
    return HTTPProblem("unreadable-upload", f"The multipart body could not be read: {reason}. Let the "
                       f"client build the form: curl -F config=@lab.yaml.")


def single_config_field(form: Mapping[str, list[bytes]]) -> bytes:
    values = form.get("config", [])
    if len(values) != 1:
        found = "no field" if not values else f"{len(values)} fields"
        raise HTTPProblem("no-config-in-the-upload", f"The form must hold exactly one field named 'config' "
                                                    f"(the YAML file); it held {found} of that name.")
    return values[0]


def credentials_field(form: Mapping[str, list[bytes]]) -> bytes | None:
    """The previous credentials sheet whose passwords to keep (the field ``credentials``, docs/week-two.md),
    or None when the form holds none."""
    values = form.get("credentials", [])
    if len(values) > 1:
        raise _unreadable_upload(f"it holds {len(values)} fields named 'credentials'; send one sheet")
    return values[0] if values else None
