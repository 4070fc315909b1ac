"""Expand a validated lab into its users and their connections, with Guacamole's semantics.

Every user of one type reaches the same shared devices, so a type's shared connections are built once and
shared by its users: the work and memory grow with users plus devices, never with their product. Pod
devices differ per owner: a group holds how to make them (``Part``), and they are made one user at a time
(``Group.connections_of``), so memory stays flat however many pods there are.
"""

from __future__ import annotations

import hashlib
import os
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .model import DeviceType, Lab, UserType
from .pods import instructor_label

PASSWORD_ALPHABET = string.ascii_letters + string.digits
# Random bytes map onto the alphabet by their remainder; the bytes from 248 up are dropped, because they
# would make the first eight characters likelier than the rest (248 is the largest multiple of 62).
_UNBIASED_BYTES = 256 - 256 % len(PASSWORD_ALPHABET)
_TO_ALPHABET = bytes(PASSWORD_ALPHABET.encode("ascii")[b % len(PASSWORD_ALPHABET)] for b in range(256))
_BIASED_BYTES = bytes(range(_UNBIASED_BYTES, 256))


@dataclass(frozen=True, slots=True)
class Connection:
    name: str
    protocol: str
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class User:
    user_type: str
    username: str
    password: str  # as the user types it
    encoding: str  # Guacamole's ``encoding`` attribute: plain, md5 or sha256
    stored_password: str  # what Guacamole compares against, see ``stored_password``


def stored_password(password: str, encoding: str) -> str:
    """The hex digest of the UTF-8 password for ``md5`` and ``sha256``, the password itself for ``plain``."""
    if encoding == "plain":
        return password
    return hashlib.new(encoding, password.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Part:
    """One device type's place in a user's list: its shared ``connections``; or, for a pod type, the
    user's own pod (``viewed`` empty), or every owner's pod named after its owner (``viewed``: each owner's
    username and number)."""

    device: DeviceType
    connections: tuple[Connection, ...] = ()
    viewed: tuple[tuple[str, int], ...] = ()

    @property
    def own(self) -> bool:
        return self.device.per_user and not self.viewed


@dataclass(frozen=True)
class Group:
    """The users of one type and the connections each of them gets: ``connections`` when they all get
    the same (no pods), else ``parts``, with ``first_owner`` the first user's owner number."""

    users: tuple[User, ...]
    connections: tuple[Connection, ...]
    parts: tuple[Part, ...] = ()
    first_owner: int = 0
    pod_start: int = 1

    def connections_of(self, index: int) -> Iterator[Connection]:
        """The connections of the group's ``index``-th user, in config order."""
        if not self.parts:
            yield from self.connections
            return
        for part in self.parts:
            if part.own:
                yield from pod_connections(part.device, self.first_owner + index, self.pod_start)
            elif part.viewed:
                for username, owner in part.viewed:
                    yield from pod_connections(part.device, owner, self.pod_start, instructor_label(username))
            else:
                yield from part.connections

    def connection_count(self, index: int) -> int:
        if not self.parts:
            return len(self.connections)
        return sum(p.device.quantity * (len(p.viewed) or 1) if p.device.per_user else len(p.connections)
                   for p in self.parts)


@dataclass(frozen=True)
class UserMapping:
    """Every user of the lab, by user type, with their connections."""

    groups: tuple[Group, ...]

    @property
    def users(self) -> list[User]:
        return [user for group in self.groups for user in group.users]

    @property
    def user_count(self) -> int:
        return sum(len(g.users) for g in self.groups)

    @property
    def connection_count(self) -> int:
        return sum(len(g.users) * g.connection_count(0) for g in self.groups)

    def own_devices(self) -> Iterator[tuple[User, list[Connection]]]:
        """Each user with the pod devices they own, in order (an empty list for users who own none)."""
        for group in self.groups:
            own = [p for p in group.parts if p.own]
            for index, user in enumerate(group.users):
                yield user, [c for p in own
                             for c in pod_connections(p.device, group.first_owner + index, group.pod_start)]


def random_passwords(count: int, length: int) -> list[str]:
    """``count`` passwords of ``length`` letters and digits, from the operating system's CSPRNG: the random
    bytes for all of them are drawn at once and mapped in one pass, instead of one ``secrets.choice`` per
    character. ``os.urandom`` is what ``secrets.token_bytes`` returns."""
    needed = count * length
    characters = bytearray()
    while len(characters) < needed:  # about 3% of the bytes are dropped: draw a little more than needed
        characters += os.urandom((needed - len(characters)) * 33 // 32 + 16).translate(_TO_ALPHABET, _BIASED_BYTES)
    text = characters[:needed].decode("ascii")
    return [text[start : start + length] for start in range(0, needed, length)]


def expand(lab: Lab, new_passwords: Callable[[int, int], list[str]] = random_passwords,
           kept: Mapping[str, str] | None = None) -> UserMapping:
    """Build every user and connection. Where the config says ``random``, each user gets a password of
    its own: the one ``kept`` holds for their username (a previous sheet's, ``previous/sheet.py``), or else
    a new one; ``new_passwords(count, length)`` is asked once per user type for all the new ones."""
    connections = {d.name: _connections(d) for d in lab.device_types if not d.per_user}
    users_by_type = {u.name: _users(u, new_passwords, kept or {}) for u in lab.user_types}
    groups = []
    owners: dict[tuple, tuple[tuple[str, int], ...]] = {}  # by owner types: one tuple for the pod types they share
    # Without pods, a group's connections are those of its ``devices:`` list: user types sharing one list (an
    # alias, or none) share one tuple, made once, which the outputs also write once (100 user types aliasing
    # a list of 1,000 device types made 100,000 references here, and as many in each output).
    reachable: dict[int, tuple[Connection, ...] | None] = {}  # by list; None for a list with pod types
    for user_type in lab.user_types:
        users = users_by_type[user_type.name]
        reached = lab.device_types_for(user_type)
        if id(reached) not in reachable:
            reachable[id(reached)] = (None if any(d.per_user for d in reached)
                                      else tuple(c for d in reached for c in connections[d.name]))
        if reachable[id(reached)] is not None:
            groups.append(Group(users, reachable[id(reached)]))
            continue
        parts = []
        for device in reached:
            if not device.per_user:
                parts.append(Part(device, tuple(connections[device.name])))
            elif user_type.all_pods:
                owner_types = lab.owners(device)
                if owner_types not in owners:
                    owners[owner_types] = tuple((user.username, first + index) for owner_type, first in owner_types
                                                for index, user in enumerate(users_by_type[owner_type.name]))
                parts.append(Part(device, viewed=owners[owner_types]))
            else:
                parts.append(Part(device))
        groups.append(Group(users, (), tuple(parts), lab.first_owner(user_type) or 0, lab.pod_start))
    return UserMapping(tuple(groups))


def pod_connections(device: DeviceType, owner: int, pod_start: int, label: str = "") -> Iterator[Connection]:
    """An owner's devices of a pod type; ``label`` (``student07 ``) goes before each name."""
    first = device.first_index(owner, pod_start)
    parameters = _parameters_with(device)
    for index in range(first, first + device.quantity):
        hostname = device.pod_hostname(owner, index) if device.hostname else None
        yield Connection(label + device.pod_name(owner, index), device.protocol, parameters(hostname))


def _users(user_type: UserType, new_passwords: Callable[[int, int], list[str]],
           kept_passwords: Mapping[str, str]) -> tuple[User, ...]:
    names = user_type.username.names(user_type.quantity)
    encoding = user_type.password_encoding
    if user_type.password is None:
        passwords = _random_passwords(names, user_type.password_length, new_passwords, kept_passwords)
        stored = [stored_password(p, encoding) for p in passwords]
    else:  # one password for the whole type: hashed once
        passwords = [user_type.password] * user_type.quantity
        stored = [stored_password(user_type.password, encoding)] * user_type.quantity
    return tuple(User(user_type.name, name, password, encoding, kept)
                 for name, password, kept in zip(names, passwords, stored))


def _random_passwords(names: list[str], length: int, new_passwords: Callable[[int, int], list[str]],
                      kept: Mapping[str, str]) -> list[str]:
    """Each user's password kept from a previous sheet, or else a new one, drawn for all of them at once."""
    if not kept:
        return new_passwords(len(names), length)
    drawn = iter(new_passwords(sum(name not in kept for name in names), length))
    return [kept[name] if name in kept else next(drawn) for name in names]


def _connections(device: DeviceType) -> list[Connection]:
    connections = []
    parameters = _parameters_with(device)
    for index, name in enumerate(device.connection_name.names(device.quantity)):
        hostname = device.hostname.name(index) if device.hostname else None
        connections.append(Connection(name, device.protocol, parameters(hostname)))
    return connections


def _parameters_with(device: DeviceType) -> Callable[[str | None], tuple[tuple[str, str], ...]]:
    """What makes a connection's parameters from its hostname: the device type's parameters with the hostname
    in the slot left for it (the value None), the parameters on either side of it shared as they are; the
    type's own parameters when it has no slot (a literal hostname). Joined from the slot's two sides, not
    pair by pair: 83,160 pairs took 20 ms of generating many-parameter-names (990 connections)."""
    parameters = device.parameters
    slot = next((index for index, (_, value) in enumerate(parameters) if value is None), None)
    if slot is None:
        return lambda hostname: parameters
    before, name, after = parameters[:slot], parameters[slot][0], parameters[slot + 1:]
    return lambda hostname: (*before, (name, hostname), *after)
