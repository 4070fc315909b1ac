"""Write ``user-mapping.xml`` with lxml, streamed: memory stays flat however many connections there are.

Every byte of markup and every escape comes from lxml; this module only decides what is serialized once
and reused. Every user of a type gets the same connections, so a type's block of connections is built
once and written after each of its users' ``<authorize>`` start tag. Within a device type, connections
differ only in their name and hostname, so each distinct parameter is serialized once and each connection
adds just its start tag and its hostname. The file's bytes are exactly what serializing the whole tree
with ``etree.indent`` would give, without ever holding that tree.

``file_size`` says how many bytes that will be, from the validated lab alone, before anything is built:
the web app and the command line refuse a file that is too big before doing any of the work.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from lxml import etree

from .config import DeviceType, Lab, Numbering, UserType
from .expand import Connection, Group, User, UserMapping

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT_START = b"<user-mapping>\n"
ROOT_END = b"</user-mapping>\n"
INDENT = b"  "
USER_INDENT = INDENT  # <authorize> is a child of the root
CONNECTION_INDENT = b"\n" + INDENT * 2
CHILD_INDENT = b"\n" + INDENT * 3
CONNECTION_END = CONNECTION_INDENT + b"</connection>"
BLOCK_END = b"\n" + INDENT  # after the last connection, before </authorize>
AUTHORIZE_END = b"</authorize>\n"
HASH_LENGTHS = {"md5": 32, "sha256": 64}  # hex digits of each encoding's digest


class FileTooLarge(Exception):
    """The file a lab would make is bigger than allowed; raised before any of it is built."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"the file would be {size:,} bytes of XML; the most allowed here is {limit:,} bytes")
        self.size, self.limit = size, limit


def write_user_mapping(mapping: UserMapping, out: BinaryIO) -> None:
    """Write the whole file to ``out`` (any binary file-like object), the XML declaration first."""
    out.write(XML_DECLARATION)
    out.write(ROOT_START)
    serialized = _Serializer()
    for group in mapping.groups:
        block = serialized.block(group.connections)
        for user in group.users:
            start = _authorize_start_tag(user)
            if block:
                out.write(b"%s%s>" % (USER_INDENT, start))
                out.write(block)
                out.write(AUTHORIZE_END)
            else:
                out.write(b"%s%s/>\n" % (USER_INDENT, start))
    out.write(ROOT_END)


def user_mapping_bytes(mapping: UserMapping) -> bytes:
    """The whole file in memory, for callers that need it at once."""
    buffer = io.BytesIO()
    write_user_mapping(mapping, buffer)
    return buffer.getvalue()


def check_file_size(lab: Lab, limit: int) -> int:
    """The file's size in bytes; raises ``FileTooLarge`` when it is above ``limit``."""
    size = file_size(lab)
    if size > limit:
        raise FileTooLarge(size, limit)
    return size


def file_size(lab: Lab) -> int:
    """Exactly ``len(user_mapping_bytes(expand(lab)))``, worked out per type, not per user or connection:
    the cost grows with the config's size, never with the file's."""
    size = len(XML_DECLARATION) + len(ROOT_START) + len(ROOT_END)
    serialized = _Serializer()
    device_sizes = {d.name: _device_size(d, serialized) for d in lab.device_types}
    for user_type in lab.user_types:
        block = sum(device_sizes[d.name] for d in lab.device_types_for(user_type))
        start = len(USER_INDENT) + _authorize_start_size(user_type)
        if block:
            user = start + len(b">") + block + len(BLOCK_END) + len(AUTHORIZE_END)
        else:
            user = start + len(b"/>\n")
        size += user_type.quantity * user + user_type.username.digits(user_type.quantity)
    return size


class _Serializer:
    """Serialized connections and parameters, each made once by lxml and then reused."""

    def __init__(self) -> None:
        self._parameters: dict[tuple[str, str], bytes] = {}
        self._blocks: dict[int, bytes] = {}

    def block(self, connections: tuple[Connection, ...]) -> bytes:
        """Everything between ``<authorize ...>`` and ``</authorize>``, indented for a user at level 1."""
        if not connections:
            return b""
        return b"".join(self.connection(c) for c in connections) + BLOCK_END

    def connection(self, connection: Connection) -> bytes:
        """One connection, with the indentation before it: its children are the protocol, then each
        parameter in order."""
        key = id(connection)  # a device type's connections are shared by every group that reaches them
        if key not in self._blocks:
            children = [self.parameter("protocol", None, connection.protocol)]
            children += [self.parameter("param", name, value) for name, value in connection.parameters]
            self._blocks[key] = b"".join((CONNECTION_INDENT, _start_tag("connection", name=connection.name), b">",
                                          *(CHILD_INDENT + child for child in children), CONNECTION_END))
        return self._blocks[key]

    def parameter(self, tag: str, name: str | None, value: str) -> bytes:
        key = (tag, name, value)
        found = self._parameters.get(key)
        if found is None:
            element = etree.Element(tag) if name is None else etree.Element(tag, name=name)
            element.text = value
            found = self._parameters[key] = etree.tostring(element, encoding="UTF-8")
        return found


def _device_size(device: DeviceType, serialized: _Serializer) -> int:
    """The bytes all of a device type's connections take in one user's block."""
    hostname = device.hostname
    fixed = len(CONNECTION_INDENT) + len(_start_tag("connection", name=device.connection_name.prefix)) + len(b">")
    fixed += len(CHILD_INDENT) + len(serialized.parameter("protocol", None, device.protocol))
    for name, value in device.parameters:
        if value is None:  # where the generated hostname goes
            element = _parameter_without_number(serialized, name, hostname.prefix)
        else:
            element = serialized.parameter("param", name, value)
        fixed += len(CHILD_INDENT) + len(element)
    fixed += len(CONNECTION_END)
    digits = device.connection_name.digits(device.quantity)
    if hostname is not None:
        digits += hostname.digits(device.quantity)
    return device.quantity * fixed + digits


def _parameter_without_number(serialized: _Serializer, name: str, prefix: str) -> bytes:
    """A parameter's element for a numbered text, less the number: ``<param name="hostname">10.0.0.``
    and its end tag. Serialized with one digit, so that an empty prefix is not taken for an empty text."""
    with_digit = serialized.parameter("param", name, prefix + "0")
    return with_digit[: -len(b"0</param>")] + b"</param>"


def _authorize_start_size(user_type: UserType) -> int:
    """The bytes of one user's ``<authorize ...`` start tag (without ``>``), less its username's digits."""
    encoding = user_type.password_encoding
    if user_type.password is not None and encoding == "plain":
        stored_password = user_type.password
    else:  # letters and digits, or a hex digest: nothing to escape, only the length matters
        stored_password = "0" * HASH_LENGTHS.get(encoding, user_type.password_length)
    return len(_authorize_tag(user_type.username.prefix, stored_password, encoding))


def _authorize_start_tag(user: User) -> bytes:
    return _authorize_tag(user.username, user.stored_password, user.encoding)


def _authorize_tag(username: str, stored_password: str, encoding: str) -> bytes:
    """``<authorize username=".." password=".." [encoding=".."]`` without its closing ``>``."""
    attributes = {"username": username, "password": stored_password}
    if encoding != "plain":
        attributes["encoding"] = encoding
    return _start_tag("authorize", **attributes)


def _start_tag(tag: str, **attributes: str) -> bytes:
    """A start tag as lxml writes it, without its closing ``>``."""
    return etree.tostring(etree.Element(tag, attributes), encoding="UTF-8")[: -len(b"/>")]
