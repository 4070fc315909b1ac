"""Chunked request bodies, dropped the way the Functions host drops them.

The host passes a request body on to the worker only when it has a `Content-Length` above 0, so a body
sent with `Transfer-Encoding: chunked` (`curl -T`, streaming clients) reaches the function empty, with
that header still there. waitress de-chunks such a body, removes the header and tells a WSGI app nothing
of it; this parser, devhost's one hook into waitress's internals, puts the header back, and `conversion`
then drops the body as the host does.
"""

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser


class HostLikeParser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.chunked:
            self.headers["TRANSFER_ENCODING"] = "chunked"


class HostLikeChannel(HTTPChannel):
    parser_class = HostLikeParser
