"""The lab as it was: each previous user's type and connections, from the previous ``user-mapping.xml`` or
the previous lab's config, to say what changed (``changes.py``).

A user-mapping.xml is read as Guacamole's file authentication reads it (docs/architecture.md, "Facts
about Guacamole's reader"): the root ``user-mapping``, inside it only ``authorize``, inside that only
``connection``, inside a connection only ``protocol`` and ``param``; anything else is refused with its line,
as Guacamole would refuse the whole file. It is parsed as it streams (lxml's ``iterparse``, no DTD, no
entities, no network), each user's block dropped once read; the connection lists of users who have the
same ones are kept once, so a lab without pods takes the memory of one user per type. The file has no
user types: its users' types are unknown (None).

A config is read and expanded like the current one, and its users' connections are made when asked for.

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
# The elements Guacamole's reader allows inside each one.
CHILDREN = {"user-mapping": ("authorize",), "authorize": ("connection",), "connection": ("protocol", "param"),
            "protocol": (), "param": ()}
REQUIRED = {"authorize": "username", "connection": "name", "param": "name"}


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


def read_user_mapping(source: BinaryIO) -> PreviousLab:
    """The users of a previous user-mapping.xml read from ``source``; raises ``PreviousRefused``."""
    lists: dict[tuple[Connection, ...], tuple[Connection, ...]] = {}  # each distinct list, kept once
    by_user: dict[str, tuple[Connection, ...]] = {}
    try:
        for username, connections in _users(source):
            by_user[username] = lists.setdefault(connections, connections)  # the last one wins, as in Guacamole
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = re.sub(r", line \d+, column \d+$", "", error.msg)  # the place is the problem's own
        raise PreviousRefused([Problem("", line, column, f"not a user-mapping.xml Guacamole can read: "
                                                         f"{message}")]) from None
    return PreviousLab(dict.fromkeys(by_user), by_user.__getitem__)


def _users(source: BinaryIO) -> Iterator[tuple[str, tuple[Connection, ...]]]:
    """Each ``<authorize>``'s username and connections, checked as Guacamole checks them, as they are read."""
    parser = etree.iterparse(source, events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=True, remove_comments=True, remove_pis=True)
    depth: list[str] = []
    for event, element in parser:
        if event == "start" and not depth and element.getroottree().docinfo.doctype:
            raise PreviousRefused([Problem("", 1, 0, "not a user-mapping.xml Guacamole can read: it declares a "
                                                     "DOCTYPE, which usermapper never writes and does not read")])
        if event == "start":
            _check_place(element, depth[-1] if depth else None)
            depth.append(element.tag)
            continue
        depth.pop()
        if element.tag == "authorize":
            yield element.get("username"), tuple(_connection(c) for c in element)
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:  # what came before, read and dropped
                del parent[:]


def _check_place(element: etree._Element, parent: str | None) -> None:
    allowed = CHILDREN[parent] if parent else ("user-mapping",)
    if element.tag not in allowed:
        inside = f"inside <{parent}>" if parent else "as the root"
        raise PreviousRefused([Problem("", element.sourceline or 0, 0, f"not a user-mapping.xml Guacamole can "
                                                                       f"read: <{element.tag}> {inside}")])
    required = REQUIRED.get(element.tag)
    if required and element.get(required) is None:
        raise PreviousRefused([Problem("", element.sourceline or 0, 0, f"not a user-mapping.xml Guacamole can "
                                                                       f"read: <{element.tag}> without {required}")])


def _connection(element: etree._Element) -> Connection:
    protocol = ""
    parameters = {}
    for child in element:
        if child.tag == "protocol":
            protocol = child.text or ""
        else:
            parameters[child.get("name")] = child.text or ""  # the last one wins, as in Guacamole
    return Connection(element.get("name"), protocol, tuple(parameters.items()))
