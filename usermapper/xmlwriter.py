"""Write ``user-mapping.xml`` with lxml, streamed: memory stays flat however many connections there are.

Every user of a type gets the same connections, so a type's block of connections is serialized once by
lxml (escaped and indented by the library, never by string formatting) and written after each of its
users' ``<authorize>`` start tag, which lxml serializes too. The file's bytes are exactly what
serializing the whole tree with ``etree.indent`` would give, without ever holding that tree.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from lxml import etree

from .expand import Connection, Group, User, UserMapping

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
INDENT = "  "


def write_user_mapping(mapping: UserMapping, out: BinaryIO) -> None:
    """Write the whole file to ``out`` (any binary file-like object), the XML declaration first."""
    out.write(XML_DECLARATION)
    out.write(b"<user-mapping>\n")
    for group in mapping.groups:
        _write_group(group, out)
    out.write(b"</user-mapping>\n")


def user_mapping_bytes(mapping: UserMapping) -> bytes:
    """The whole file in memory, for callers that need it at once."""
    buffer = io.BytesIO()
    write_user_mapping(mapping, buffer)
    return buffer.getvalue()


def _write_group(group: Group, out: BinaryIO) -> None:
    block = _connections_block(group.connections)
    for user in group.users:
        start = _authorize_start_tag(user)
        if block:
            out.write(b"%s%s>%s</authorize>\n" % (INDENT.encode(), start, block))
        else:
            out.write(b"%s%s/>\n" % (INDENT.encode(), start))


def _authorize_start_tag(user: User) -> bytes:
    """``<authorize username=".." password=".." [encoding=".."]`` without its closing ``>``."""
    attributes = {"username": user.username, "password": user.stored_password}
    if user.encoding != "plain":
        attributes["encoding"] = user.encoding
    empty_element = etree.tostring(etree.Element("authorize", attributes), encoding="UTF-8")
    return empty_element[: -len(b"/>")]


def _connections_block(connections: tuple[Connection, ...]) -> bytes:
    """Everything between ``<authorize ...>`` and ``</authorize>``, indented for a user at level 1."""
    if not connections:
        return b""
    authorize = etree.Element("authorize")
    for connection in connections:
        element = etree.SubElement(authorize, "connection", name=connection.name)
        etree.SubElement(element, "protocol").text = connection.protocol
        for name, value in connection.parameters:
            etree.SubElement(element, "param", name=name).text = value
    etree.indent(authorize, space=INDENT, level=1)
    serialized = etree.tostring(authorize, encoding="UTF-8")
    return serialized[len(b"<authorize>"): -len(b"</authorize>")]
