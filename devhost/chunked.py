"""Request heads parsed the way the Functions host hands them to a function.

Chunked bodies: the host forwards a request body to the worker only when it has a `Content-Length`
above 0, so a body sent with `Transfer-Encoding: chunked` (`curl -T`, streaming clients) reaches the
function empty, with that header still there. waitress de-chunks such a body and removes the header;
this parser puts the header back, and `conversion` then drops the body as the host does.

Cookie lines: waitress joins a repeated header with ", ". Several Cookie lines (curl with two `-H
'Cookie: ...'`; a browser sends one over HTTP/1.1) are joined with "; " here instead, as RFC 9113 joins
HTTP/2's cookie crumbs, so the function sees one ordinary Cookie header. Only separate lines are joined:
a ", " inside one line is part of a cookie's value (a sibling subdomain can set `a=b, c=d` as one
cookie), and must not become a cookie-pair of its own.
"""

from waitress.channel import HTTPChannel
from waitress.parser import HEADER_FIELD_RE, HTTPRequestParser, get_header_lines


class HostLikeParser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked:
            self.headers["TRANSFER_ENCODING"] = "chunked"
        cookies = _cookie_lines(header_plus)
        if len(cookies) > 1:
            self.headers["COOKIE"] = "; ".join(cookies)


def _cookie_lines(header_plus: bytes) -> list[str]:
    """The value of each Cookie line of a request head, as waitress reads a header line."""
    lines = get_header_lines(header_plus[header_plus.find(b"\r\n") + 2:])
    fields = (HEADER_FIELD_RE.match(line) for line in lines)
    return [field.group("value").strip(b" \t").decode("latin-1") for field in fields
            if field and field.group("name").lower() == b"cookie"]


class HostLikeChannel(HTTPChannel):
    parser_class = HostLikeParser
