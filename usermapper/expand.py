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

    @property
    def stored_password(self) -> str:
        """The value Guacamole compares against: the hex digest of the UTF-8 password, or the password."""
        if self.encoding == "plain":
            return self.password
        return hashlib.new(self.encoding, self.password.encode("utf-8")).hexdigest()


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


def random_password(length: int) -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def expand(lab: Lab, new_password: Callable[[int], str] = random_password) -> UserMapping:
    """Build every user (one random password each where the config says ``random``) and connection."""
    connections = {d.name: _connections(d) for d in lab.device_types}
    groups = []
    for user_type in lab.user_types:
        reachable = tuple(c for d in lab.device_types_for(user_type) for c in connections[d.name])
        groups.append(Group(_users(user_type, new_password), reachable))
    return UserMapping(tuple(groups))


def _users(user_type: UserType, new_password: Callable[[int], str]) -> tuple[User, ...]:
    return tuple(
        User(user_type.name, name,
             new_password(user_type.password_length) if user_type.password is None else user_type.password,
             user_type.password_encoding)
        for name in user_type.username.names(user_type.quantity)
    )


def _connections(device: DeviceType) -> list[Connection]:
    connections = []
    for index, name in enumerate(device.connection_name.names(device.quantity)):
        hostname = device.hostname.name(index) if device.hostname else None
        parameters = tuple((key, hostname if value is None else value) for key, value in device.parameters)
        connections.append(Connection(name, device.protocol, parameters))
    return connections
