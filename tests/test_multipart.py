"""The multipart/form-data reader (usermapper/web/multipart.py) against werkzeug's decoder, which it replaced
for speed: on every well-formed body, the same fields with the same bytes; and its refusals, each saying
what is wrong."""

from __future__ import annotations

import random

import pytest
from urllib3 import encode_multipart_formdata
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder

from usermapper.web.http import Request
from usermapper.web.multipart import MAX_PARTS, form_fields
from usermapper.web.problems import HTTPProblem


def read(body: bytes, boundary: str) -> dict[str, list[bytes]]:
    return form_fields(Request("POST", "http://127.0.0.1/api/usermapping",
                               {"content-type": f'multipart/form-data; boundary="{boundary}"'}, body))


def werkzeug_read(body: bytes, boundary: str) -> dict[str, list[bytes]]:
    decoder = MultipartDecoder(boundary.encode(), max_parts=MAX_PARTS)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields: dict[str, list[bytes]] = {}
    while not isinstance(event := decoder.next_event(), Epilogue):
        if isinstance(event, (Field, File)):
            part = fields.setdefault(event.name, [])
            part.append(b"")
        elif isinstance(event, Data):
            part[-1] += event.data
    return fields


PIECES = [b"", b"x", b"\r\n", b"--", b"\r\n--", b"-", b" ", b"\t", b"\n", b"\r", "ö".encode(), b"\x00", b"\xff",
          b"Content-Disposition: form-data", b"lab: 1\r\n"]


def random_content(rng: random.Random, boundary: bytes) -> bytes:
    """Pieces that look like line ends, delimiters and headers; never the delimiter itself, which RFC 2046
    forbids inside a part (where werkzeug also ends a part at a bare CR or LF before it, and this reader
    only at CRLF)."""
    pieces = PIECES + [b"--" + boundary[:-1], boundary, b"\r\n--" + boundary[:-1] + b"x"]
    while b"--" + boundary in (content := b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))):
        pass
    return content


@pytest.mark.parametrize("seed", range(300))
def test_every_well_formed_body_reads_as_werkzeug_reads_it(seed):
    """Bodies as urllib3 (requests) writes them, with contents made to look like boundaries, line ends
    and headers; some fields repeated, some files, some empty."""
    rng = random.Random(seed)
    boundary = rng.choice(["XyZ", "b", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "a" * 70, "x-y_z.1'(+)"])
    names = rng.choices(["config", "credentials", "other", "ö", ""], k=rng.randrange(1, 6))
    fields = [(name, (f"f{n}.yaml", random_content(rng, boundary.encode())) if rng.random() < 0.5
               else random_content(rng, boundary.encode()).decode("latin-1"))
              for n, name in enumerate(names)]
    body, _ = encode_multipart_formdata(fields, boundary=boundary)
    body = rng.choice([b"", b"a preamble\r\n", b"\r\n"]) + body + rng.choice([b"", b"an epilogue", b"\r\n--more"])
    assert read(body, boundary) == werkzeug_read(body, boundary)


@pytest.mark.parametrize("body, fields", [
    (b"--b\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n\r\n--b--", {"config": [b""]}),
    (b"--b\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n--b--", {"config": [b""]}),
    (b"--b \t\r\ncontent-disposition: form-data; name=\"config\"\r\n\r\nlab\r\n--b \r\n"
     b"Content-Disposition: form-data; name=\"config\"\r\n\r\n--bee\r\n--b--\r\n",
     {"config": [b"lab", b"--bee"]}),
    (b"preamble --b\r\n--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.yaml\"\r\n"
     b"Content-Type: application/yaml\r\n\r\nx\r\n--bx\r\n--b--epilogue\r\n--b\r\n", {"a": [b"x\r\n--bx"]}),
    (b"--b--\r\n", {}),
    (b"--b x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--", {}),
    (b"--b\r\nContent-Disposition: form-data;\r\n\tname=\"config\"\r\n\r\nx\r\n--b--", {"config": [b"x"]}),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Note: 1\r\n Content-Disposition: form-data; "
     b"name=\"config\"\r\n\r\nx\r\n--b--", {"a": [b"x"]}),
], ids=["empty part", "empty part, no blank line", "padding and lower-case header", "preamble, epilogue",
        "no parts", "all preamble", "folded header", "folded line is no header"])
def test_bodies_at_the_edges_of_the_grammar(body, fields):
    assert read(body, "b") == fields == werkzeug_read(body, "b")


@pytest.mark.parametrize("body, said", [
    (b"", "no part of it starts with the boundary"),
    (b"x--b\r\n", "no part of it starts with the boundary"),
    (b"--bb\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--bb--", "no part of it starts"),
    (b"--b\nContent-Disposition: form-data; name=\"a\"\n\nx\n--b--", "no part of it starts with the boundary"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx", "ends inside a part"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--bx--", "ends inside a part"),
    (b"--b\r\nContent-Disposition: form-data; name=\"a\"", "without the part's headers"),
    (b"--b\r\n" * 10_000, "without the part's headers"),
    (b"--b\r\nX-Other: 1\r\n\r\nx\r\n--b--", "no Content-Disposition"),
    (b"--b\r\n\r\nx\r\n--b--", "no Content-Disposition"),
    (b"--b\r\nContent-Disposition: form-data; name=\"\xf6\"\r\n\r\nx\r\n--b--", "headers are not UTF-8"),
    (b"--b\r\nX-Other: 1\r\n Content-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--", "no Content-Disposition"),
    (b"--b\r\nContent-Disposition: form-data; name=\"config\"\n\nusers:\r\n\r\n  a: 1\r\n--b--",
     "a line break that is not CRLF"),
    (b"--b\r\nContent-Disposition: form-data; name=\"config\"\r\r\n\r\n\r\n--b--", "a line break that is not CRLF"),
    (b"".join(b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n" for _ in range(MAX_PARTS + 1))
     + b"--b--", f"more than {MAX_PARTS} parts"),
])
def test_a_body_that_is_not_well_formed_is_refused_with_what_is_wrong(body, said):
    with pytest.raises(HTTPProblem) as refused:
        read(body, "b")
    assert refused.value.title == "Unreadable upload"
    assert said in refused.value.detail


def test_as_many_parts_as_allowed_are_read():
    body = b"".join(b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n" for _ in range(MAX_PARTS))
    assert read(body + b"--b--", "b") == {"a": [b"x"] * MAX_PARTS}
