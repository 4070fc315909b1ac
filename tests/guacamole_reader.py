"""Guacamole's reader of user-mapping.xml (its file authentication's SAX handlers), re-implemented for tests.

Guacamole reads the file with a SAX parser and rejects all of it on any surprise, after which nobody can
log in. ``read`` applies the same rules: the root is ``user-mapping``; inside it only ``authorize``;
inside that only ``connection`` (with a ``name``); inside a connection only ``protocol`` and ``param``
(with a ``name``), which hold text and no elements. ``encoding`` is exactly ``plain``, ``md5`` or
``sha256``. Nothing may come before ``<?xml`` but a byte-order mark. Duplicates are accepted and the last
one wins. Values are taken verbatim.
"""

from __future__ import annotations

import hashlib
import io
import xml.sax
import xml.sax.handler

ENCODINGS = ("plain", "md5", "sha256")
BOM = b"\xef\xbb\xbf"

# What each element may contain: the rules of Guacamole's tag handlers.
CHILDREN = {
    None: ("user-mapping",),
    "user-mapping": ("authorize",),
    "authorize": ("connection",),
    "connection": ("protocol", "param"),
    "protocol": (),
    "param": (),
}
REQUIRED_ATTRIBUTES = {"authorize": ("username", "password"), "connection": ("name",), "param": ("name",)}


class Rejected(ValueError):
    """Guacamole would refuse the whole file."""


def read(data: bytes) -> dict[str, tuple[str, str, dict[str, tuple[str | None, dict[str, str]]]]]:
    """``{username: (stored password, encoding, {connection name: (protocol, {param: value})})}``."""
    body = data[len(BOM):] if data.startswith(BOM) else data
    if b"<?xml" in body and not body.startswith(b"<?xml"):
        raise Rejected("something comes before <?xml")
    handler = _Handler()
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setContentHandler(handler)
    try:
        parser.parse(io.BytesIO(data))
    except xml.sax.SAXParseException as error:
        raise Rejected(f"not well-formed: {error}") from None
    return handler.users


def authenticates(users: dict, username: str, password: str) -> bool:
    """Whether Guacamole lets ``username`` in with ``password`` typed at its login page."""
    if username not in users:
        return False
    stored, encoding, _ = users[username]
    if encoding == "plain":
        return stored == password
    return stored.lower() == hashlib.new(encoding, password.encode("utf-8")).hexdigest()


class _Handler(xml.sax.handler.ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict = {}
        self.open: list[str] = []
        self.text: list[str] = []
        self.connections: dict = {}
        self.parameters: dict = {}
        self.protocol: str | None = None
        self.connection_name = ""
        self.param_name = ""

    def startElement(self, name: str, attributes) -> None:
        parent = self.open[-1] if self.open else None
        if name not in CHILDREN[parent]:
            raise Rejected(f"<{name}> is not allowed inside <{parent}>")
        for required in REQUIRED_ATTRIBUTES.get(name, ()):
            if attributes.get(required) is None:
                raise Rejected(f"<{name}> without {required}")
        if name == "authorize":
            encoding = attributes.get("encoding", "plain")
            if encoding not in ENCODINGS:
                raise Rejected(f"unknown encoding {encoding!r}")
            self.connections = {}
            self.users[attributes["username"]] = (attributes["password"], encoding, self.connections)
        elif name == "connection":
            self.protocol, self.parameters = None, {}
            self.connection_name = attributes["name"]
        elif name == "param":
            self.param_name = attributes["name"]
        self.open.append(name)
        self.text = []

    def characters(self, content: str) -> None:
        if self.open[-1] not in ("protocol", "param") and content.strip():
            raise Rejected(f"text {content!r} inside <{self.open[-1]}>")
        self.text.append(content)

    def endElement(self, name: str) -> None:
        self.open.pop()
        if name == "protocol":
            self.protocol = "".join(self.text)
        elif name == "param":
            self.parameters[self.param_name] = "".join(self.text)
        elif name == "connection":
            self.connections[self.connection_name] = (self.protocol, self.parameters)
