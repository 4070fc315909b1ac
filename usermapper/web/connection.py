"""One HTTP/1.1 connection to storage: a request written in one piece, its answer read whole (RFC 9112).

Storage answers the table SDK with a status, a dozen headers and a small body (an entity is at most 1 MiB),
framed by Content-Length or chunked. ``http.client`` reads the same answer through a file object and the
``email`` package's header parser: 0.21 ms of CPU a request against Azurite, where reading the bytes
here costs under a tenth of that. Only what storage's answers can hold is read; anything else (a status
line that is not HTTP/1.x, a head over 64 KiB, a chunk size that is not hex, an answer cut short) is a
``ProtocolError``, and the connection is not used again.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024  # far over any answer storage gives the SDK (an entity: at most 1 MiB)
RECEIVE_BYTES = 256 * 1024
HEX_DIGITS = b"0123456789abcdefABCDEF"
NO_BODY_STATUSES = (204, 304)
MAX_INTERIM_ANSWERS = 8  # storage sends none; a server sending them without end is refused, not waited on


class ProtocolError(Exception):
    """The server's answer is not one HTTP/1.1 allows, or was cut short."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # by lower-case name, a repeated header's values joined with ", " (RFC 9110 5.3)
    content: bytes
    reusable: bool  # the connection may carry another request


class Connection:
    """A socket to one origin, used by one request at a time."""

    def __init__(self, sock: socket.socket, host: str):
        self.sock = sock
        self.host = host  # the Host header's value
        self._received = bytearray()

    def close(self) -> None:
        self.sock.close()

    def exchange(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Answer:
        """Send the request (``headers`` without Host and Content-Length) and read its answer."""
        self.sock.sendall(_request(method, target, self.host, headers, body))
        for _ in range(MAX_INTERIM_ANSWERS + 1):
            status, reason, answer_headers, version = self._head()
            if not 100 <= status < 200:  # an interim answer (100 Continue) comes before the real one
                break
        else:
            raise ProtocolError(f"more than {MAX_INTERIM_ANSWERS} interim answers and no final one")
        fields = _fields(answer_headers)
        connection_options = fields.get("connection", "").lower()
        keep_alive = version == "HTTP/1.1" and "close" not in connection_options
        if method == "HEAD" or status in NO_BODY_STATUSES:
            content = b""
        elif "transfer-encoding" in fields:
            if fields["transfer-encoding"].split(",")[-1].strip(" \t").lower() != "chunked":
                content, keep_alive = self._until_closed(), False
            else:
                content = self._chunked()
            if "content-length" in fields:  # framed two ways: whichever the server meant, it is not to be trusted
                keep_alive = False
        elif "content-length" in fields:
            content = self._exactly(_content_length(fields["content-length"]))
        else:
            content, keep_alive = self._until_closed(), False
        # bytes after the answer are no answer to the next request: a connection holding some is not reused
        return Answer(status, reason, fields, content, keep_alive and not self._received)

    def _head(self) -> tuple[int, str, list[tuple[str, str]], str]:
        end = self._until(b"\r\n\r\n", "the answer's head")
        head = self._received[:end].decode("latin-1")
        del self._received[:end + 4]
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not _is_decimal(code):
            raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:100]!r}")
        headers = []
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise ProtocolError(f"not a header line: {line[:100]!r}")
            headers.append((name, value.strip(" \t")))
        return int(code), reason, headers, version

    def _chunked(self) -> bytes:
        content = bytearray()
        while True:
            size_text = self._line().split(b";")[0].rstrip(b" \t")
            if not size_text or size_text.strip(HEX_DIGITS):  # int() would also take " 5", "-1", "0x5", "5_0"
                raise ProtocolError(f"not a chunk size: {size_text[:20]!r}")
            size = int(size_text, 16)
            if size == 0:
                while self._line():  # trailer fields, which storage does not send and nothing here reads
                    pass
                return bytes(content)
            if len(content) + size > MAX_BODY_BYTES:
                raise ProtocolError(f"an answer over {MAX_BODY_BYTES} bytes")
            chunk = self._exactly(size + 2)
            if not chunk.endswith(b"\r\n"):
                raise ProtocolError(f"a chunk of {size} bytes not followed by CRLF")
            content += chunk[:-2]

    def _exactly(self, size: int) -> bytes:
        while len(self._received) < size:
            self._receive()
        content = bytes(self._received[:size])
        del self._received[:size]
        return content

    def _until(self, marker: bytes, what: str) -> int:
        """Where ``marker`` starts in what was received, receiving more until it comes, within
        ``MAX_HEAD_BYTES``."""
        while (end := self._received.find(marker, 0, MAX_HEAD_BYTES + len(marker))) < 0:
            if len(self._received) > MAX_HEAD_BYTES:
                raise ProtocolError(f"{what} is over {MAX_HEAD_BYTES} bytes")
            self._receive()
        return end

    def _line(self) -> bytes:
        end = self._until(b"\r\n", "a line of the answer")
        line = bytes(self._received[:end])
        del self._received[:end + 2]
        return line

    def _until_closed(self) -> bytes:
        while self._receive(end_allowed=True):
            if len(self._received) > MAX_BODY_BYTES:
                raise ProtocolError(f"an answer over {MAX_BODY_BYTES} bytes")
        content = bytes(self._received)
        self._received.clear()
        return content

    def _receive(self, end_allowed: bool = False) -> bool:
        data = self.sock.recv(RECEIVE_BYTES)
        if not data and not end_allowed:
            raise ProtocolError("the server closed the connection before its answer was complete")
        self._received += data
        return bool(data)


def _request(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None or method in ("PUT", "POST", "PATCH", "MERGE"):
        lines.append(f"Content-Length: {len(body or b'')}")
    if any("\r" in line or "\n" in line for line in lines):  # it would end the line, and start another
        raise ValueError("a request header or target holds a line break")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b"")


def _fields(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The headers by lower-case name, a repeated one's values joined with ", " (RFC 9110 5.3)."""
    fields: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    return fields


def _content_length(value: str) -> int:
    lengths = {length.strip() for length in value.split(",")}  # the same length repeated is allowed
    if len(lengths) != 1 or not _is_decimal(length := lengths.pop()) or int(length) > MAX_BODY_BYTES:
        raise ProtocolError(f"not a Content-Length this client reads: {value[:40]!r}")
    return int(length)


def _is_decimal(text: str) -> bool:
    """Only ASCII digits: ``str.isdigit`` also takes the superscripts a latin-1 head may hold ("\xb2"), which
    ``int`` refuses."""
    return text.isascii() and text.isdigit()
