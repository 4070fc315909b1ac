"""Expand a validated lab into its users and their connections, with Guacamole's semantics.

Every user of one type reaches the same devices, so a type's connections are built once and shared by
its users: the work and memory grow with users plus devices, never with their product.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from typing import Callable

from .config import DeviceType, Lab, UserType

PASSWORD_ALPHABET = string.ascii_letters + string.digits
# Random bytes map onto the alphabet by their remainder; the bytes from 248 up are dropped, because they
# would make the first eight characters likelier than the rest (248 is the largest multiple of 62).
_UNBIASED_BYTES = 256 - 256 % len(PASSWORD_ALPHABET)
_TO_ALPHABET = bytes(PASSWORD_ALPHABET.encode("ascii")[b % len(PASSWORD_ALPHABET)] for b in range(256))
_BIASED_BYTES = bytes(range(_UNBIASED_BYTES, 256))


@dataclass(frozen=True)
class Connection:
    name: str
    protocol: str
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class User:
    user_type: str
    username: str
    password: str  # as the user types it
    encoding: str  # Guacamole's ``encoding`` attribute: plain, md5 or sha256
    stored_password: str  # what Guacamole compares against: see ``stored_password``


def stored_password(password: str, encoding: str) -> str:
    """The hex digest of the UTF-8 password for ``md5`` and ``sha256``, the password itself for ``plain``."""
    if encoding == "plain":
        return password
    return hashlib.new(encoding, password.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Group:
    """The users of one type and the connections each of them gets."""

    users: tuple[User, ...]
    connections: tuple[Connection, ...]


@dataclass(frozen=True)
class UserMapping:
    groups: tuple[Group, ...]

    @property
    def users(self) -> list[User]:
        return [user for group in self.groups for user in group.users]

    @property
    def user_count(self) -> int:
        return sum(len(g.users) for g in self.groups)

    @property
    def connection_count(self) -> int:
        return sum(len(g.users) * len(g.connections) for g in self.groups)


def random_passwords(count: int, length: int) -> list[str]:
    """``count`` passwords of ``length`` letters and digits, from ``secrets``: the random bytes for all
    of them are drawn at once and mapped in one pass, instead of one ``secrets.choice`` per character."""
    needed = count * length
    characters = bytearray()
    while len(characters) < needed:  # about 3% of the bytes are dropped: draw a little more than needed
        characters += secrets.token_bytes((needed - len(characters)) * 33 // 32 + 16).translate(
            _TO_ALPHABET, _BIASED_BYTES)
    text = characters[:needed].decode("ascii")
    return [text[start : start + length] for start in range(0, needed, length)]


def expand(lab: Lab, new_passwords: Callable[[int, int], list[str]] = random_passwords) -> UserMapping:
    """Build every user and connection. Where the config says ``random``, each user gets a password of
    its own: ``new_passwords(count, length)`` is asked once per user type for all of them."""
    connections = {d.name: _connections(d) for d in lab.device_types}
    groups = []
    for user_type in lab.user_types:
        reachable = tuple(c for d in lab.device_types_for(user_type) for c in connections[d.name])
        groups.append(Group(_users(user_type, new_passwords), reachable))
    return UserMapping(tuple(groups))


def _users(user_type: UserType, new_passwords: Callable[[int, int], list[str]]) -> tuple[User, ...]:
    names = user_type.username.names(user_type.quantity)
    encoding = user_type.password_encoding
    if user_type.password is None:
        passwords = new_passwords(user_type.quantity, user_type.password_length)
        stored = [stored_password(p, encoding) for p in passwords]
    else:  # one password for the whole type: hashed once
        passwords = [user_type.password] * user_type.quantity
        stored = [stored_password(user_type.password, encoding)] * user_type.quantity
    return tuple(User(user_type.name, name, password, encoding, kept)
                 for name, password, kept in zip(names, passwords, stored))


def _connections(device: DeviceType) -> list[Connection]:
    connections = []
    for index, name in enumerate(device.connection_name.names(device.quantity)):
        hostname = device.hostname.name(index) if device.hostname else None
        parameters = tuple((key, hostname if value is None else value) for key, value in device.parameters)
        connections.append(Connection(name, device.protocol, parameters))
    return connections
