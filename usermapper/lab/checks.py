"""Checks across the lab's types, made once every type is read: references between types, pods that
cannot work, the limits, names Guacamole would see twice, hostnames that are not addresses.

Each records its problems on the reader, at the place of the field to change, so one run reports all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import yaml

from ..limits import Limits
from ..wording import quoted
from . import pods
from .model import DeviceType, Lab, UserType
from .pods import instructor_label

if TYPE_CHECKING:
    from .reader import LabReader

DOTTED_NUMBERS = re.compile(r"^\d+(\.\d+){1,3}$")


def check_lab(reader: LabReader, lab: Lab, fields: dict[str, yaml.Node], limits: Limits) -> None:
    """Every check runs on whatever could be read, so one run reports every problem; a type that could
    not be read is left out of them (its own problems are reported already)."""
    check_references(reader, lab)
    check_pods(reader, lab)
    check_hostnames(reader, lab)
    if check_limits(reader, lab, fields, limits):  # names are generated to compare them: only within limits
        check_unique_names(reader, lab)


def check_references(reader: LabReader, lab: Lab) -> None:
    known = reader.declared.get("devices", set())
    listed = (f"; the device types are {', '.join(sorted(known))}" if 0 < len(known) <= 10
              else f"; the lab has {len(known):,} device types, under devices:" if known else "")
    checked: set[int] = set()
    for user_type in lab.user_types:
        if user_type.devices is None or id(user_type.devices) in checked:
            continue  # an aliased list is checked once, where it is written
        checked.add(id(user_type.devices))
        unknown = {}  # each unknown name once per list, where it first appears
        for index, name in enumerate(user_type.devices):
            if name not in known:
                unknown.setdefault(name, []).append(index)
        listed_at = reader.nodes[f"users.{user_type.name}.devices"]  # the list, its names' nodes in order
        for name, indexes in unknown.items():
            path = f"users.{user_type.name}.devices[{indexes[0]}]"
            again = f" (listed {len(indexes):,} times)" if len(indexes) > 1 else ""
            reader.refuse(path, listed_at.value[indexes[0]], f"{quoted(name)} is not a device type{again}"
                                                              f"{reader.suggest(name, known)}{listed}")


def check_pods(reader: LabReader, lab: Lab) -> None:
    """Pod shapes that cannot work: a pod type nobody owns, owners all on one host, an instructor with
    no pods to reach."""
    for device in lab.device_types:
        if not device.per_user:
            continue
        path = f"devices.{device.name}"
        owners = lab.owner_count(device)
        if owners == 0:
            reader.refuse(f"{path}.per_user", reader.nodes[f"{path}.per_user"],
                          "no user owns these devices: list the type in a user type's devices (a user type "
                          "with pods: all only views pods)")
        elif owners > 1 and (device.hostname is None or not pods.has_placeholder(device.hostname.prefix)
                             and not (device.across_owners and device.hostname.counted)):
            field = "hostname_prefix" if device.hostname else "parameters"
            other_way = ("give hostname_suffix a start number to count on across owners" if device.across_owners
                         else "set numbering: across_owners")
            reader.refuse(f"{path}.{field}", reader.nodes[f"{path}.{field}"],
                          f"every one of the {owners:,} owners would reach the same hosts: put the owner's "
                          f"number in hostname_prefix ({{pod}}), or {other_way}")
    for user_type in lab.user_types:
        if user_type.all_pods and not any(d.per_user for d in lab.device_types_for(user_type)):
            path = f"users.{user_type.name}.pods"
            reader.refuse(path, reader.nodes[path], "this user type reaches no per_user device type, so there "
                                                    "are no pods to see")


def check_limits(reader: LabReader, lab: Lab, fields: dict[str, yaml.Node], limits: Limits) -> bool:
    """True when the lab is within the limits."""
    within = True
    counts = (("users", lab.user_count, limits.max_users, "users"),
              ("devices", lab.device_count, limits.max_devices, "devices"),
              ("users", lab.connection_count, limits.max_connections, "connections"))
    for field, count, limit, what in counts:
        if count > limit:
            within = False
            reader.refuse(field, fields[field],
                          f"the lab has {count:,} {what}; the most one file may hold is {limit:,}")
    if lab.random_characters > limits.max_random_characters:
        within = False
        reader.refuse("users", fields["users"],
                      f"the random passwords would take {lab.random_characters:,} characters; the most one "
                      f"file may ask for is {limits.max_random_characters:,} (fewer users or a shorter "
                      f"password_length)")
    return within


def check_unique_names(reader: LabReader, lab: Lab) -> None:
    """Guacamole silently keeps only the last of two equal usernames or connection names. A pod type's
    names are every owner's (each once); an instructor's list is checked as it will be written."""
    check_unique(reader, "users", "username", ((u.name, u.username.names(u.quantity)) for u in lab.user_types))
    check_unique(reader, "devices", "name", ((d.name, _device_names(lab, d)) for d in lab.device_types))
    checked: set[tuple[str, ...]] = set()  # two lists of the same device types make the same names
    for user_type in lab.user_types:
        reached = tuple(d.name for d in lab.device_types_for(user_type)) if user_type.all_pods else None
        if reached is not None and reached not in checked:
            checked.add(reached)
            check_instructor_names(reader, lab, user_type)


def check_instructor_names(reader: LabReader, lab: Lab, user_type: UserType) -> None:
    """Without a space in an owner's username or a shared name, every name is its owner's username, a
    space and a name of that owner's own list (distinct already), or a shared name: nothing to generate."""
    reached = lab.device_types_for(user_type)
    if not any(" " in d.connection_name.prefix for d in reached if not d.per_user) and not any(
            " " in u.username.prefix for d in reached for u, _ in lab.owners(d)):
        return
    seen: set[str] = set()
    for device in lab.device_types_for(user_type):
        for name in _viewed_names(lab, device):
            if name in seen:
                path = f"users.{user_type.name}.pods"
                reader.refuse(path, reader.nodes[path], f"this user type's list would hold {quoted(name)} "
                                                        f"twice; Guacamole would keep only one of them")
                return
            seen.add(name)


def check_unique(reader: LabReader, section: str, field: str, names_by_type: Iterator[tuple[str, list[str]]]) -> None:
    owner: dict[str, str] = {}
    for type_name, names in names_by_type:
        clashes = [n for n in names if n in owner]
        if clashes:
            shown = ", ".join(clashes[:3]) + (", ..." if len(clashes) > 3 else "")
            path = f"{section}.{type_name}.{field}_prefix"
            reader.refuse(path, reader.nodes[path],
                          f"{section} {owner[clashes[0]]!r} and {type_name!r} both generate {shown}; "
                          f"Guacamole would keep only one of them")
        owner.update((n, type_name) for n in names)


def check_hostnames(reader: LabReader, lab: Lab) -> None:
    """The first and the last hostname (of the first and the last owner) are the extremes."""
    for device in lab.device_types:
        if device.hostname is None:
            continue
        if device.per_user:
            hosts = _extreme_pod_hostnames(lab, device)
            field = "hostname_prefix" if pods.has_placeholder(device.hostname.prefix) else "hostname_suffix"
        else:
            hosts = [(device.hostname.name(0), ""), (device.hostname.name(device.quantity - 1), "")]
            field = "hostname_suffix"
        for host, owner in hosts:
            if DOTTED_NUMBERS.match(host) and any(int(octet) > 255 for octet in host.split(".")):
                path = f"devices.{device.name}.{field}"
                reader.refuse(path, reader.nodes[path],
                              f"generates {host}{owner}, which is not an IPv4 address (each part goes up "
                              f"to 255); lower the {'pod start' if field == 'hostname_prefix' else 'suffix'}"
                              f" or the quantity")
                break


def _owner_numbers(lab: Lab, device: DeviceType) -> Iterator[tuple[UserType, int, int]]:
    """Each owner of a pod type: its user type, its index in the type, its owner number."""
    for user_type, first in lab.owners(device):
        for index in range(user_type.quantity):
            yield user_type, index, first + index


def _device_names(lab: Lab, device: DeviceType) -> list[str]:
    """A device type's connection names, a pod type's for every owner, each name once."""
    if not device.per_user or not (device.across_owners or pods.has_placeholder(device.connection_name.prefix)):
        return device.connection_name.names(device.quantity)  # every owner's are the same
    names = {}
    for _, _, owner in _owner_numbers(lab, device):
        first = device.first_index(owner, lab.pod_start)
        names.update(dict.fromkeys(device.pod_name(owner, first + i) for i in range(device.quantity)))
    return list(names)


def _viewed_names(lab: Lab, device: DeviceType) -> Iterator[str]:
    """The names a ``pods: all`` user sees for a device type: a pod device's name after its owner's."""
    if not device.per_user:
        yield from device.connection_name.names(device.quantity)
        return
    for user_type, index, owner in _owner_numbers(lab, device):
        username = user_type.username.name(index)
        first = device.first_index(owner, lab.pod_start)
        for i in range(device.quantity):
            yield instructor_label(username) + device.pod_name(owner, first + i)


def _extreme_pod_hostnames(lab: Lab, device: DeviceType) -> list[tuple[str, str]]:
    """The first and last hostname of the first and the last owner, each with ``for <username>``."""
    ends = lab.end_owners(device)
    if ends is None:
        return []
    (first_type, first), (last_type, last_first) = ends
    ends = [(first_type, 0, first), (last_type, last_type.quantity - 1, last_first + last_type.quantity - 1)]
    hosts = []
    for user_type, index, owner in ends:
        start = device.first_index(owner, lab.pod_start)
        for i in (start, start + device.quantity - 1):
            hosts.append((device.pod_hostname(owner, i), f" for {user_type.username.name(index)}"))
    return hosts
