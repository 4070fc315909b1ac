"""Each user's sign-in document without its expiry, for the page to make sign-in links in the browser.

A link needs the trainer's key, which never reaches the app (docs/signin-links.md); so the app serves what
a link holds apart from the key and the expiry, and ``static/signin.js`` signs it. The documents are read
from the session's ``user-mapping.xml``, the file Guacamole reads, so a user's link gives exactly the
connections and parameters the file gives them; ``outputs/signin_links`` writes each head and tail, as for
the command line, so the page's links are the command line's byte for byte.

Users who get the same connections share one tail, as they share one block of connections in the file:
each ``<authorize>`` element's content is compared with the one before it, and only a new one is parsed.
Parsing every user of the largest lab (68 MB of XML) took 1.5 s; this takes a tenth of that, and the answer
holds each shared list once. Users whose lists all differ (pods) are parsed one by one, so the work is
bounded apart from the file: at most ``MAX_SIGN_IN_BYTES`` of lists parsed, and of answer, counted as they
go; past either the answer is refused. A thousand students with pods of 70 KB each (70 MB of XML) took
1.3 s and 70 MB of answer before the bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from lxml import etree

from ..lab.expand import Connection
from ..outputs.signin_links import MAX_LINK_CHARS, document_head, document_tail

AUTHORIZE = b"<authorize"
AUTHORIZE_END = b"</authorize>"


# The longest tail a link can carry: a link is at least the base64 of the HMAC (32 bytes) and the document
# (4 characters for every 3 bytes), and at most MAX_LINK_CHARS.
MAX_TAIL_BYTES = MAX_LINK_CHARS * 3 // 4 - 32
# The file spends at most 5.4 bytes where a tail spends one: ``<param name="k">v</param>`` and its indent
# against ``"k":"v",``, and ``&amp;`` against ``&``. A user's connections over this many bytes of XML make a
# tail too long for any link, and are refused before they are parsed.
MAX_CONTENT_BYTES = 6 * MAX_TAIL_BYTES


# The most one answer parses of distinct users' lists in the file, and the most it holds: 16 MiB of documents
# is some 21 MiB of links for the page to make and hand out, far beyond a class's.
MAX_SIGN_IN_BYTES = 16 << 20


class DocumentsTooLarge(Exception):
    """The answer would be over the limit (its ``args[0]``); raised as soon as what is counted passes it."""


class LinkTooLong(Exception):
    """A user's link would be longer than browsers and Guacamole take."""

    def __init__(self, username: str):
        super().__init__(f"the sign-in link of {username!r} would be longer than {MAX_LINK_CHARS:,} characters")
        self.username = username


def sign_in_documents(xml: bytes, user_types: dict[str, str], warnings: list[dict], limit: int) -> bytes:
    """The JSON answer: ``tails``, each distinct list of connections once; ``users`` in the file's order,
    each its ``type``, ``username``, ``head`` and the index of its ``tail``; the sign-in links' ``warnings``
    said at the upload; and ``max_link_chars``. Raises ``DocumentsTooLarge`` past ``limit`` bytes (at most
    ``MAX_SIGN_IN_BYTES``) of answer, or of lists parsed."""
    size, parsed = _Size(min(limit, MAX_SIGN_IN_BYTES)), _Size(MAX_SIGN_IN_BYTES)
    tails: list[str] = []
    users: list[str] = []
    previous_content = None
    for start_tag, content in _authorize_elements(xml):
        username = etree.fromstring(start_tag + b"/>").get("username")
        if content != previous_content:
            parsed.counted(content)
            tails.append(size.counted(json.dumps(_tail(username, content))))
            previous_content = content
        user = {"type": user_types.get(username, ""), "username": username, "head": document_head(username),
                "tail": len(tails) - 1}
        users.append(size.counted(json.dumps(user)))
    opening = size.counted(f'{{"max_link_chars":{MAX_LINK_CHARS},"warnings":{json.dumps(warnings)},"tails":[')
    middle, closing = size.counted('],"users":['), size.counted("]}")
    return (opening + ",".join(tails) + middle + ",".join(users) + closing).encode("ascii")


def _tail(username: str, content: memoryview) -> str:
    """The tail of a user whose ``<authorize>`` element holds ``content``; raises ``LinkTooLong`` when no
    link could carry it."""
    if len(content) > MAX_CONTENT_BYTES:
        raise LinkTooLong(username)
    tail = document_tail(_connections(content))
    if len(tail.encode("utf-8")) > MAX_TAIL_BYTES:
        raise LinkTooLong(username)
    return tail


def _authorize_elements(xml: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """Each ``<authorize>`` element of the file: its start tag without ``>``, and its content (a view
    into ``xml``, not a copy).

    The file is the app's own (``outputs/user_mapping.py``, by lxml): no comment, CDATA section or processing
    instruction, and every ``<`` and ``>`` in a name or value escaped. So ``<authorize`` in it begins an
    element and nothing else, and the first ``>`` after it ends the start tag."""
    view = memoryview(xml)
    start = xml.find(AUTHORIZE)
    while start != -1:
        tag_end = xml.index(b">", start)
        following = xml.find(AUTHORIZE, tag_end)
        if xml[tag_end - 1] == ord("/"):  # <authorize .../>: a user without connections
            yield xml[start:tag_end - 1], view[:0]
        else:
            content_end = xml.rindex(AUTHORIZE_END, tag_end, len(xml) if following == -1 else following)
            yield xml[start:tag_end], view[tag_end + 1:content_end]
        start = following


def _connections(content: memoryview) -> Iterator[Connection]:
    for connection in etree.fromstring(b"<authorize>" + content + AUTHORIZE_END).iterfind("connection"):
        parameters = tuple((param.get("name"), param.text or "") for param in connection.iterfind("param"))
        yield Connection(connection.get("name"), connection.findtext("protocol") or "", parameters)


class _Size:
    """Bytes counted so far: past ``limit``, ``DocumentsTooLarge``. Every piece of the answer is ASCII (JSON
    with its default escapes), so its characters are bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.total = 0

    def counted(self, piece: str | memoryview) -> str | memoryview:
        self.total += len(piece) + 1  # and the comma or bracket after it
        if self.total > self.limit:
            raise DocumentsTooLarge(self.limit)
        return piece
