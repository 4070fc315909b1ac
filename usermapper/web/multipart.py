"""Reading a ``multipart/form-data`` upload: the page's form, or ``curl -F config=@lab.yaml``."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, State

from .http import Request
from .problems import HTTPProblem

MAX_BOUNDARY = 70  # RFC 2046 5.1.1
MAX_PARTS = 100  # the form needs one, config; 20,000 one-byte parts took werkzeug half a second


def form_fields(request: Request) -> dict[str, list[bytes]]:
    """Every part of a multipart body by name, files and plain fields alike, as the very bytes sent.

    werkzeug's sans-IO decoder, not its form parser: the parser decodes a plain field (``curl -F
    'config=<lab.yaml'``, no filename) with errors="replace", so a config that is not UTF-8 would turn
    into another one silently instead of being refused at its line and column as the same bytes are in a
    file part or a raw body; it spools a large part to a temporary file (nothing a user sends may touch
    the app's disk); and it answers a body it cannot parse as an empty form. Here a body with no
    boundary, with none of the boundary its Content-Type names, or cut off before its closing boundary
    is a 400 that says so; a well-formed body without a ``config`` field is ``single_config_field``'s."""
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
