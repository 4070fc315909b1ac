"""The lab as it was: each previous user's type and connections, from the previous ``user-mapping.xml`` or
the previous lab's config, to say what changed (``changes.py``).

A user-mapping.xml is read as Guacamole's file authentication reads it (docs/architecture.md, "Facts
about Guacamole's reader"): the root ``user-mapping``, inside it only ``authorize``, inside that only
``connection``, inside a connection only ``protocol`` and ``param``; anything else is refused with its line,
as Guacamole would refuse the whole file. It is parsed as it streams (lxml's ``iterparse``, no DOCTYPE,
no network), each user's block dropped once read; the connection lists of users who have the same ones are
kept once, so a lab without pods takes the memory of one user per type, and a lab with pods the memory of
all its connections. The file has no user types: its users' types are unknown (None).

A config is read and expanded like the current one, and its users' connections are made when asked for:
its memory stays flat, pods or not.

Which of the two it is, the first character says: a user-mapping.xml starts with ``<`` (after a byte-order
mark and blank space), which no valid config does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from ..lab import ConfigError, Problem, expand, read_config
from ..lab.expand import Connection, UserMapping
from ..lab.model import Refused
from ..limits import Limits

XML_START = b"<"
# What Guacamole's reader refuses inside an <authorize>, found by libxml2 in one search per distinct block.
UNREADABLE = ("*[not(self::connection)] | connection[not(@name)] | connection/*[not(self::protocol or self::param)]"
              " | connection/param[not(@name)] | connection/*/*")
SHARED_BYTES = 64 << 20  # the blocks remembered, in bytes: a lab with pods has one per user, never shared


class PreviousRefused(Refused):
    """A previous user-mapping.xml that Guacamole would refuse too, at its line; or a previous config that
    is not valid (its problems, located in it)."""


@dataclass(frozen=True)
class PreviousLab:
    """Each previous user's type (None when the file does not say) by username, in the file's order, and a
    way to their connections: a tuple is one list shared by several users, a list is made for one."""

    types: dict[str, str | None]
    connections: Callable[[str], Sequence[Connection]]


def is_user_mapping(start: bytes) -> bool:
    """Whether a previous file starting with ``start`` is a user-mapping.xml rather than a config."""
    return start.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(XML_START)


def previous_lab(config: str | bytes, limits: Limits) -> PreviousLab:
    """The users of a previous config; raises ``PreviousRefused`` with its problems when it is not valid."""
    try:
        lab = read_config(config, limits)
    except ConfigError as error:
        raise PreviousRefused(error.problems) from None
    return from_mapping(expand(lab, no_passwords))


def from_mapping(mapping: UserMapping) -> PreviousLab:
    """The users of an expanded lab; a pod owner's connections are made when asked for."""
    where = {}
    for group in mapping.groups:
        for index, user in enumerate(group.users):
            where[user.username] = (group, index)

    def connections(username: str) -> Sequence[Connection]:
        group, index = where[username]
        return list(group.connections_of(index)) if group.parts else group.connections

    return PreviousLab({name: group.users[index].user_type for name, (group, index) in where.items()}, connections)


def no_passwords(count: int, length: int) -> list[str]:
    """What ``expand`` is given when only the users and their connections matter: no random passwords drawn."""
    return [""] * count


def read_user_mapping(source: BinaryIO, limits: Limits) -> PreviousLab:
    """The users of a previous user-mapping.xml read from ``source``, as many as a lab may have at most;
    raises ``PreviousRefused``."""
    by_user: dict[str, tuple[Connection, ...]] = {}
    try:
        for username, connections in _users(source):
            by_user[username] = connections  # the last one wins, as in Guacamole
            if len(by_user) > limits.max_users:
                raise PreviousRefused([Problem("", 0, 0, f"the previous file has more than {limits.max_users:,} "
                                                         f"users, the most a lab may have; it was read no further")])
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = re.sub(r", line \d+, column \d+$", "", error.msg)  # the place is the problem's own
        raise PreviousRefused([Problem("", line, column, f"not a user-mapping.xml Guacamole can read: "
                                                         f"{message}")]) from None
    return PreviousLab(dict.fromkeys(by_user), by_user.__getitem__)


def _users(source: BinaryIO) -> Iterator[tuple[str, tuple[Connection, ...]]]:
    """Each ``<authorize>``'s username and connections, checked as Guacamole checks them, as they are read.
    lxml reports the root's start and each ``<authorize>``'s end alone. A user's connections are read once
    per distinct block of them (its bytes as lxml writes them): the users of a type share one tuple."""
    parser = etree.iterparse(source, events=("start", "end"), tag=("user-mapping", "authorize"), no_network=True,
                             resolve_entities=False, load_dtd=False, remove_comments=True, remove_pis=True)
    blocks = _Blocks()
    for event, element in parser:
        if event == "start":
            if element.tag == "user-mapping" and element.getroottree().docinfo.doctype:
                raise _refused(element, "it declares a DOCTYPE, which usermapper never writes and does not read")
            continue
        parent = element.getparent()
        if element.tag == "user-mapping":  # its end: what follows the last user
            _check_children(element, ("authorize",))
        elif parent is None or parent.tag != "user-mapping" or parent.getparent() is not None:
            raise _refused(element, f"<authorize> inside <{parent.tag if parent is not None else ''}>")
        else:
            _check_children(parent, ("authorize",), until=element)  # what came between two users
            yield _required(element, "username"), _connections(element, blocks)
            element.clear(keep_tail=True)  # read: dropped, with the users before it (the next may be parsed)
            while element.getprevious() is not None:
                del parent[0]
    if parser.root is not None and parser.root.tag != "user-mapping":
        raise _refused(parser.root, f"<{parser.root.tag}> as the root")


class _Blocks(dict):
    """Blocks of connections read, by their bytes, up to ``SHARED_BYTES`` of them."""

    size = 0

    def remember(self, block: bytes, connections: tuple[Connection, ...]) -> None:
        if self.size + len(block) <= SHARED_BYTES:
            self[block] = connections
            self.size += len(block)


def _connections(user: etree._Element, blocks: _Blocks) -> tuple[Connection, ...]:
    """The connections of an ``<authorize>``: those of the same block read before, or read and checked now.
    Blocks are remembered up to ``SHARED_BYTES`` in all."""
    written = etree.tostring(user, with_tail=False)
    block = written[written.find(b">") + 1:]  # after the start tag, whose attributes escape every ">"
    known = blocks.get(block)
    if known is not None:
        return known
    bad = user.xpath(UNREADABLE)
    if bad:
        raise _refused(bad[0], _why_unreadable(bad[0]))
    connections = tuple(_connection(c) for c in user)
    blocks.remember(block, connections)
    return connections


def _why_unreadable(element: etree._Element) -> str:
    if element.tag in ("connection", "param") and element.get("name") is None:
        return f"<{element.tag}> without name"
    return f"<{element.tag}> inside <{element.getparent().tag}>"


def _connection(element: etree._Element) -> Connection:
    """A checked ``<connection>`` as Guacamole reads it: the last protocol, and of two parameters of one
    name, the last."""
    protocol = ""
    parameters = {}
    for child in element:
        if child.tag == "protocol":
            protocol = child.text or ""
        else:
            parameters[child.get("name")] = child.text or ""
    return Connection(element.get("name"), protocol, tuple(parameters.items()))


def _check_children(parent: etree._Element, allowed: tuple[str, ...], until: etree._Element | None = None) -> None:
    """Refuse a child of ``parent`` (those before ``until``) that Guacamole's reader does not allow there."""
    for child in parent:
        if child is until:
            return
        if child.tag not in allowed:
            raise _refused(child, f"<{child.tag}> inside <{parent.tag}>")


def _required(element: etree._Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise _refused(element, f"<{element.tag}> without {name}")
    return value


def _refused(element: etree._Element, reason: str) -> PreviousRefused:
    return PreviousRefused([Problem("", element.sourceline or 0, 0, f"not a user-mapping.xml Guacamole can read: "
                                                                    f"{reason}")])
