"""Write ``user-mapping.xml`` with lxml, streamed: memory stays flat however many connections there are.

Every escape comes from lxml, and the markup is lxml's (serialized once, or the bytes lxml writes around
an attribute value or a text); this module only decides what is serialized once and reused. Every user
of a type gets the same connections, so a type's block of connections is built once and written after
each of its users' ``<authorize>`` start tag. Within a device type, connections differ only in their name
and hostname, so each distinct parameter is serialized once and each connection adds just its start tag
and its hostname. The file's bytes are exactly what serializing the whole tree with ``etree.indent``
would give, without ever holding that tree.

Pods cannot share one block per user type, but a pod type's connections differ from owner to owner only
in the owner's number and label: everything else is one block per type, into which each owner's pieces go
(``_PodWriter`` says why that gives lxml's bytes). The instructors' view of every pod is the same for
all of them, so it is kept for the next ones while it is small; a pod group's pieces are written in
chunks. ``tests/whole_tree.py`` serializes the whole tree the straightforward way, and the tests compare.

``file_size`` says how many bytes that will be, from the validated lab alone, before anything is built:
the web app and the command line refuse a file that is too big before doing any of the work.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from itertools import chain
from typing import BinaryIO

from lxml import etree

from ..lab.expand import Connection, Group, Part, User, UserMapping
from ..lab.model import DeviceType, Lab, Numbering, UserType
from ..lab.pods import instructor_label
from .made import Made

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
LIST_END = BLOCK_END + AUTHORIZE_END
HASH_LENGTHS = {"md5": 32, "sha256": 64}  # hex digits of each encoding's digest
CHUNK_BYTES = 64 << 10  # a pod group's pieces gathered before each write
VIEW_KEPT_BYTES = 8 << 20  # an instructors' view of every pod up to this size is made once for all of them


class FileTooLarge(Exception):
    """The file a lab would make is bigger than allowed; raised before any of it is built."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"the file would be {size:,} bytes of XML; the most allowed here is {limit:,} bytes")
        self.size, self.limit = size, limit


def write_user_mapping(mapping: UserMapping, out: BinaryIO) -> None:
    """Write the whole file to ``out`` (any binary file-like object), the XML declaration first."""
    out.write(XML_DECLARATION)
    out.write(ROOT_START)
    viewers: Counter[tuple[str, int]] = Counter()
    for group in mapping.groups:
        for part in group.parts:
            if part.viewed:
                viewers[part.device.name, id(part.viewed)] += len(group.users)
    serialized = _Serializer(next((g.pod_start for g in mapping.groups if g.parts), 1), viewers)
    # Groups of one ``devices:`` list share their tuple of connections (``expand``): one block for a run of
    # them, not one per group (100 user types aliasing a list of 1,000 device types joined 100,000).
    previous: tuple[tuple[Connection, ...] | None, list[bytes]] = (None, [])
    for group in mapping.groups:
        if group.parts:
            chunks = _Chunks(out)
            _write_pod_group(group, serialized, chunks)
            chunks.flush()
            continue
        if group.connections is not previous[0]:
            previous = (group.connections, serialized.block(group.connections))
        block = previous[1]
        for user in group.users:
            start = _authorize_start_tag(user)
            if block:
                out.write(b"%s%s>" % (USER_INDENT, start))
                out.writelines(block)
                out.write(AUTHORIZE_END)
            else:
                out.write(b"%s%s/>\n" % (USER_INDENT, start))
    out.write(ROOT_END)


def _write_pod_group(group: Group, serialized: _Serializer, out: _Chunks) -> None:
    """Each user's list made as it is written: shared parts from their cached block, pods per owner."""
    shared = {id(p): b"".join(chain.from_iterable(serialized.connection(c)[0] for c in p.connections))
              for p in group.parts if not p.device.per_user}
    writers = {p.device.name: serialized.pod(p.device) for p in group.parts if p.device.per_user}
    empty = not group.connection_count(0)  # every user of a group has as many connections
    for index, user in enumerate(group.users):
        start = _authorize_start_tag(user)
        if empty:
            out.write(b"%s%s/>\n" % (USER_INDENT, start))
            continue
        out.write(b"%s%s>" % (USER_INDENT, start))
        for part in group.parts:
            if part.own:
                out.write(writers[part.device.name].owner(group.first_owner + index))
            elif part.viewed:
                serialized.write_viewed(part, writers[part.device.name], out)
            else:
                out.write(shared[id(part)])
        out.write(LIST_END)


class _Chunks:
    """Writes gathered and passed on to ``out`` in chunks of about ``CHUNK_BYTES``: a pod group's pieces
    are a few kilobytes each, and a write to a file costs much the same for a few bytes as for a chunk."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.pieces: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.pieces.append(data)
        self.size += len(data)
        if self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        self.out.write(b"".join(self.pieces))
        self.pieces.clear()
        self.size = 0


def user_mapping_bytes(mapping: UserMapping) -> bytes:
    """The whole file in memory, for callers that need it at once."""
    buffer = io.BytesIO()
    write_user_mapping(mapping, buffer)
    return buffer.getvalue()


def check_file_size(lab: Lab, limit: int, kept_difference: int = 0) -> int:
    """The file's size in bytes, with ``kept_difference`` the bytes that passwords kept from a previous sheet
    take beyond new ones (``previous/passwords.py``); raises ``FileTooLarge`` when it is above ``limit``."""
    size = file_size(lab) + kept_difference
    if size > limit:
        raise FileTooLarge(size, limit)
    return size


def file_size(lab: Lab) -> int:
    """Exactly ``len(user_mapping_bytes(expand(lab)))``, worked out per type, not per user or connection:
    the cost grows with the config's size, never with the file's."""
    size = len(XML_DECLARATION) + len(ROOT_START) + len(ROOT_END)
    serialized = _Serializer()
    device_sizes = {d.name: _device_size(d, serialized) for d in lab.device_types if not d.per_user}
    fixed = {d.name: _connection_size(d, d.name_template.literal, d.hostname_template and
                                      d.hostname_template.literal, serialized)
             for d in lab.device_types if d.per_user}
    views: dict[str, int] = {}
    # A user's block of shared devices and viewed pods depends on the ``devices:`` list (and ``pods: all``)
    # alone: summed once per list, with the pod types whose own pods are then counted per user type.
    lists: dict[tuple[int, bool], tuple[int, list[DeviceType]]] = {}
    for user_type in lab.user_types:
        devices = lab.device_types_for(user_type)
        key = (id(devices), user_type.all_pods)
        if key not in lists:
            block, owned = 0, []
            for device in devices:
                if not device.per_user:
                    block += device_sizes[device.name]
                elif user_type.all_pods:
                    if device.name not in views:
                        views[device.name] = _view_size(lab, device, fixed[device.name])
                    block += views[device.name]
                else:
                    owned.append(device)
            lists[key] = block, owned
        block, owned = lists[key]
        # own: the type's users' own pods, all of them together
        own = sum(_pods_size(lab, device, fixed[device.name], lab.first_owner(user_type), user_type.quantity)
                  for device in owned)
        start = len(USER_INDENT) + _authorize_start_size(user_type)
        if lab.connections_per_user(user_type):
            user = start + len(b">") + block + len(BLOCK_END) + len(AUTHORIZE_END)
        else:
            user = start + len(b"/>\n")
        size += user_type.quantity * user + user_type.username.digits(user_type.quantity) + own
    return size


def _pods_size(lab: Lab, device: DeviceType, fixed: int, first_owner: int, owners: int) -> int:
    """The bytes of the pods of ``owners`` owners numbered from ``first_owner``, worked out per type."""
    per_owner = device.quantity
    size = owners * per_owner * fixed
    templates = [device.name_template] + ([device.hostname_template] if device.hostname else [])
    numberings = [device.connection_name] + ([device.hostname] if device.hostname else [])
    for template, numbering in zip(templates, numberings):
        size += per_owner * sum(Numbering("", first_owner, width).digits(owners) for width in template.widths)
        if not numbering.counted:
            continue
        if device.across_owners:
            first = numbering.start + device.first_index(first_owner, lab.pod_start)
            size += Numbering("", first, numbering.width).digits(owners * per_owner)
        else:
            size += owners * numbering.digits(per_owner)
    return size


def _view_size(lab: Lab, device: DeviceType, fixed: int) -> int:
    """The bytes of every owner's pod of a type as one ``pods: all`` user's list holds them: each name
    after its owner's username and a space."""
    size = 0
    for user_type, first in lab.owners(device):
        owners = user_type.quantity
        size += _pods_size(lab, device, fixed, first, owners)
        size += device.quantity * (owners * len(_escaped_attribute(instructor_label(user_type.username.prefix)))
                                   + user_type.username.digits(owners))
    return size


class _Serializer:
    """Serialized connections and parameters, each made once by lxml and then reused."""

    def __init__(self, pod_start: int = 1, viewers: Counter[tuple[str, int]] | None = None) -> None:
        self.pod_start = pod_start
        self.viewers = viewers or Counter()  # how many instructors are still to see each pod type's owners
        self._starts: dict[tuple[str, str | None], bytes] = {}  # a parameter's start tag, by tag and name
        self._texts: dict[str, bytes] = {}  # a value escaped, by value: one aliased value may fill many
        self._start_sizes: dict[tuple[str, str | None], int] = {}  # the sizes of those, for counting alone
        self._text_sizes: dict[str, int] = {}
        self._blocks: dict[int, tuple[tuple[bytes, ...], int]] = {}
        self._children = Made(self._child)  # a parameter's element, indented, by its name and value
        self._viewed: dict[tuple[str, int], bytes] = {}  # by pod type and the tuple of owners instructors see
        self._labelled: dict[int, list[tuple[bytes, int]]] = {}  # by the tuple of owners

    def block(self, connections: tuple[Connection, ...]) -> list[bytes]:
        """Everything between ``<authorize ...>`` and ``</authorize>``, indented for a user at level 1, as
        runs of connections joined to write at once; a connection of ``CHUNK_BYTES`` or more is written as
        its pieces, never joined: a 76 MB connection (a megabyte-long value aliased by 75 parameters) was
        held twice, in the cache and joined into the block (bench/bench_hostile.py), then once joined."""
        runs: list[bytes] = []
        pieces: list[bytes] = []
        for connection in connections:
            written, size = self.connection(connection)
            if size < CHUNK_BYTES:
                pieces += written
                continue
            if pieces:
                runs.append(b"".join(pieces))
                pieces = []
            runs += written
        if runs or pieces:
            runs.append(b"".join([*pieces, BLOCK_END]))
        return runs

    def connection(self, connection: Connection) -> tuple[tuple[bytes, ...], int]:
        """One connection, with the indentation before it (its children are the protocol, then each
        parameter in order), and its size: joined into one piece, or when it is ``CHUNK_BYTES`` or more, its
        pieces as they are, each long text the one serialized for its value (joining them took 40 ms of the
        76 MB connection above, and its memory)."""
        key = id(connection)  # a device type's connections are shared by every group that reaches them
        if key not in self._blocks:
            pieces = (CONNECTION_INDENT, _start_tag("connection", name=connection.name), b">", CHILD_INDENT,
                      *self.parameter_pieces("protocol", None, connection.protocol),
                      *chain.from_iterable(map(self._children.__getitem__, connection.parameters)), CONNECTION_END)
            size = sum(map(len, pieces))
            self._blocks[key] = (b"".join(pieces),) if size < CHUNK_BYTES else pieces, size
        return self._blocks[key]

    def _child(self, parameter: tuple[str, str]) -> tuple[bytes, ...]:
        """A parameter's element with the indentation before it, in one piece; or, for a text of ``CHUNK_BYTES``
        or more, as its indentation and start tag, the text serialized for every parameter of that value, and
        its end tag (a megabyte-long value aliased by 75 names is not copied 75 times). Made once per distinct
        name and value and looked up by ``map`` without a Python call: a device type's connections repeat all
        their parameters but the hostname; going through each parameter of each connection in Python, and the
        start tags, were most of the 136 ms of writing many-parameter-names (990 connections of 84 parameters;
        now 64 ms)."""
        start, text, end = self.parameter_pieces("param", *parameter)
        if len(text) < CHUNK_BYTES:
            return (CHILD_INDENT + start + text + end,)
        return CHILD_INDENT + start, text, end

    def write_viewed(self, part: Part, writer: _PodWriter, out: _Chunks) -> None:
        """Every owner's pods of one type, as an instructor sees them, each name after its owner's username
        and a space. The list is the same for every instructor (all share one tuple of owners): when more
        instructors are to come, it is kept for them while it is at most ``VIEW_KEPT_BYTES``; a longer one
        is made again for each instructor, so that memory stays flat however many pods there are."""
        key = (part.device.name, id(part.viewed))
        if key in self._viewed:
            out.write(self._viewed[key])
            return
        self.viewers[key] -= 1
        keep, kept, size = self.viewers[key] > 0, [], 0
        for label, owner in self.labelled(part.viewed):
            block = writer.owner(owner, label)
            out.write(block)
            if keep:
                kept.append(block)
                size += len(block)
                if size > VIEW_KEPT_BYTES:
                    keep, kept = False, []
        if keep:
            self._viewed[key] = b"".join(kept)

    def labelled(self, owners: tuple[tuple[str, int], ...]) -> list[tuple[bytes, int]]:
        """Each owner's username and a space, escaped, with their number: made once for every pod type
        the same owners have."""
        key = id(owners)
        if key not in self._labelled:
            self._labelled[key] = [(_escaped_attribute(instructor_label(username)), owner)
                                   for username, owner in owners]
        return self._labelled[key]

    def pod(self, device: DeviceType) -> _PodWriter:
        return _PodWriter(device, self)

    def parameter(self, tag: str, name: str | None, value: str) -> bytes:
        return b"".join(self.parameter_pieces(tag, name, value))

    def parameter_size(self, tag: str, name: str | None, value: str) -> int:
        """``len(self.parameter(tag, name, value))``, counted: a name or a value lxml writes as it is is
        measured, not serialized (making the start tags of 9,000 distinct parameter names took 40 ms of
        checking many-parameter-names); any other is serialized once, as ``parameter_pieces`` makes it."""
        start = self._start_sizes.get((tag, name))
        if start is None:
            start = self._start_sizes[tag, name] = (
                len(b"<>") + len(tag) + (0 if name is None else len(b' name=""') + len(name))
                if name is None or _verbatim(name) else len(self.parameter_pieces(tag, name, "")[0]))
        text = self._text_sizes.get(value)
        if text is None:
            text = self._text_sizes[value] = (len(value) if _verbatim(value)
                                              else len(self.parameter_pieces(tag, name, value)[1]))
        return start + text + len(b"</>") + len(tag)

    def parameter_pieces(self, tag: str, name: str | None, value: str) -> tuple[bytes, bytes, bytes]:
        """A parameter's element as its start tag, its text and its end tag: lxml escapes the text alone,
        so the three are its bytes. Each start tag and each text is made once: a megabyte-long value
        that YAML aliases under 75 names is escaped once, and the pieces are joined only into the block."""
        start = self._starts.get((tag, name))
        if start is None:  # a name lxml writes as it is is written here, as _element would (32 ms for 9,000 names)
            start = self._starts[tag, name] = (b'<%s name="%s">' % (tag.encode(), name.encode())
                                               if name is not None and _verbatim(name) else
                                               _start_tag(tag, **({} if name is None else {"name": name})) + b">")
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = _escaped_text(value)
        return start, text, _END_TAGS[tag]



class _PodWriter:
    """A pod device type's connections for any owner, from bytes serialized once per type.

    Two owners' connections of one pod type differ only in the owner's number where the name and
    hostname prefixes say ``{pod}``, in an instructor's list in the owner's username before each name,
    and with ``numbering: across_owners`` in the devices' numbers. Every other byte is the same for every
    owner: the indentation, ``<connection name="``, the protocol and each parameter as lxml serialized
    them, the hostname's element around its text, the end tags. So the type's connections are one block,
    made once (once per owner only when numbers go on across owners), with a mark where each start tag's
    name begins (``_HEAD``) and where each hostname begins (``_HOST``); an owner's connections are that
    block with two replaces (the first kept while it gives the same, as for short names like ``PC``). The
    marks are characters XML 1.0 cannot carry, so no byte of the block is one by chance. What replaces
    them is the prefix's literal pieces, escaped by lxml once per type, with the owner's digits between
    them (a bytes format, ``%`` doubled in the pieces): escaping is per character and digits are never
    escaped, so the escaped pieces joined are the escaped whole.
    """

    def __init__(self, device: DeviceType, serialized: _Serializer):
        self.device = device
        name = device.name_template
        self.head = CONNECTION_INDENT + b'<connection name="%s' + _owner_format(
            [_escaped_attribute(p) for p in name.pieces], name.widths)
        self.head_numbers = len(name.widths)
        children = [CHILD_INDENT + serialized.parameter("protocol", None, device.protocol)]
        host_at = None
        for parameter, value in device.parameters:
            if value is None:
                host_at = len(children)
                children.append(b"")
            else:
                children.append(CHILD_INDENT + serialized.parameter("param", parameter, value))
        if host_at is None:
            self.before, self.after, self.host = b"".join(children), b"", None
        else:
            self.before = b"".join(children[:host_at]) + CHILD_INDENT + b'<param name="hostname">'
            self.after = b"</param>" + b"".join(children[host_at + 1:])
            host = device.hostname_template
            self.host = _owner_format([_escaped_text(p) for p in host.pieces], host.widths)
            self.host_numbers = len(host.widths)
        self.pod_start = serialized.pod_start
        self._kept: tuple[int, bytes] = (-1, b"")
        self._marked = self._block = b""

    def owner(self, owner: int, label: bytes = b"") -> bytes:
        """All of one owner's connections of this type, each with the indentation before it; ``label``
        (the owner's escaped username and a space) before each name."""
        first = self.device.first_index(owner, self.pod_start) if self.device.across_owners else 0
        block = self.block(first, self.head % ((label,) + (owner,) * self.head_numbers))
        if self.host is None:
            return block
        return block.replace(_HOST, self.host % ((owner,) * self.host_numbers))

    def block(self, first: int, head: bytes) -> bytes:
        """The type's connections numbered from ``first``, each start tag's name begun with ``head``, and
        ``_HOST`` where each hostname begins; kept while both stay the same (as they do from owner to
        owner when the names hold neither the owner's number nor a label)."""
        if (first, head) != self._kept:
            if first != self._kept[0]:
                self._marked = self.marked(first)
            self._kept, self._block = (first, head), self._marked.replace(_HEAD, head)
        return self._block

    def marked(self, first: int) -> bytes:
        """The type's connections numbered from ``first``, with both marks."""
        device = self.device
        numbers = range(first, first + device.quantity)
        if self.host is None:
            middle = b'">' + self.before + CONNECTION_END
            return b"".join(_HEAD + _number(device.connection_name, i) + middle for i in numbers)
        middle, tail = b'">' + self.before + _HOST, self.after + CONNECTION_END
        return b"".join(_HEAD + _number(device.connection_name, i) + middle + _number(device.hostname, i) + tail
                        for i in numbers)


_END_TAGS = {"protocol": b"</protocol>", "param": b"</param>"}  # a connection's children's

# Marks in a pod type's block where each owner's pieces go: characters XML 1.0 cannot carry, so that no
# config, and no byte lxml writes, holds them.
_HEAD, _HOST = b"\x00", b"\x01"


def _number(numbering: Numbering, index: int) -> bytes:
    return b"%0*d" % (numbering.width, numbering.start + index) if numbering.counted else b""


def _owner_format(pieces: list[bytes], widths: tuple[int, ...]) -> bytes:
    """A bytes format of escaped ``pieces`` with the owner's number, zero-padded to each width, between
    them: ``b"pod%02d-kali"``."""
    literal = [p.replace(b"%", b"%%") for p in pieces]
    return literal[0] + b"".join(b"%%0%dd%s" % (width, piece) for width, piece in zip(widths, literal[1:]))


def _escaped_attribute(text: str) -> bytes:
    """``text`` as lxml escapes it in an attribute value: the text itself when lxml writes it as it is,
    so that most usernames and passwords need no element."""
    if _verbatim(text):
        return text.encode("ascii")
    return _lxml_attribute(text)


def _lxml_attribute(text: str) -> bytes:
    return _start_tag("connection", name=text)[len(b'<connection name="'):-1]


def _escaped_text(text: str) -> bytes:
    """``text`` as lxml escapes it as an element's text (serialized with a digit, which is never
    escaped, so that an empty text is not written as an empty element)."""
    return _element("param", {}, text + "0")[len(b"<param>"):-len(b"0</param>")]


def _device_size(device: DeviceType, serialized: _Serializer) -> int:
    """The bytes all of a shared device type's connections take in one user's block."""
    hostname = device.hostname
    fixed = _connection_size(device, device.connection_name.prefix, hostname and hostname.prefix, serialized)
    digits = device.connection_name.digits(device.quantity)
    if hostname is not None:
        digits += hostname.digits(device.quantity)
    return device.quantity * fixed + digits


def _connection_size(device: DeviceType, name_prefix: str, hostname_prefix: str | None,
                     serialized: _Serializer) -> int:
    """The bytes of one of a device type's connections, less the numbers in its name and hostname."""
    fixed = len(CONNECTION_INDENT) + len(_start_tag("connection", name=name_prefix)) + len(b">")
    fixed += len(CHILD_INDENT) + serialized.parameter_size("protocol", None, device.protocol)
    for name, value in device.parameters:
        if value is None:  # where the generated hostname goes
            size = len(_parameter_without_number(serialized, name, hostname_prefix))
        else:
            size = serialized.parameter_size("param", name, value)
        fixed += len(CHILD_INDENT) + size
    return fixed + len(CONNECTION_END)


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


def password_attribute_size(password: str) -> int:
    """The bytes a plain ``password`` takes in its ``<authorize>`` tag, escaped as lxml escapes it."""
    return len(_escaped_attribute(password))


def _authorize_start_tag(user: User) -> bytes:
    return _authorize_tag(user.username, user.stored_password, user.encoding)


def _authorize_tag(username: str, stored_password: str, encoding: str) -> bytes:
    """``<authorize username=".." password=".." [encoding=".."]`` without its closing ``>``, as lxml
    writes an element with those attributes in that order."""
    tag = b'<authorize username="%s" password="%s"' % (_escaped_attribute(username),
                                                        _escaped_attribute(stored_password))
    if encoding != "plain":
        tag += b' encoding="%s"' % _escaped_attribute(encoding)
    return tag


def _start_tag(tag: str, **attributes: str) -> bytes:
    """A start tag as lxml writes it, without its closing ``>``."""
    return _element(tag, attributes)[: -len(b"/>")]


def _element(tag: str, attributes: dict[str, str], text: str | None = None) -> bytes:
    """One element without children, as lxml serializes it in UTF-8 (``<tag/>`` when ``text`` is None).
    Written here when nothing in it needs escaping, which gives lxml's bytes; else by lxml."""
    if all(map(_verbatim, attributes.values())) and (text is None or _verbatim(text)):
        start = b" ".join([tag.encode(), *(b'%s="%s"' % (k.encode(), v.encode()) for k, v in attributes.items())])
        return b"<%s/>" % start if text is None else b"<%s>%s</%s>" % (start, text.encode(), tag.encode())
    element = etree.Element(tag, attributes)
    element.text = text
    return etree.tostring(element, encoding="UTF-8")


# The printable ASCII characters but ``"&<>``, the ones lxml escapes in attributes or text.
_VERBATIM = re.compile("[%s]*" % re.escape("".join(c for c in map(chr, range(0x20, 0x7F)) if c not in '"&<>')))


def _verbatim(text: str) -> bool:
    """True when lxml writes ``text`` as it is, in an attribute value and as text alike (tests/test_user_mapping.py
    checks every printable ASCII character against lxml)."""
    return _VERBATIM.fullmatch(text) is not None
