"""The facts of a lab that a picture needs, as plain data (the API's summary carries them as ``lab``), and the
same facts as lines of text (the CLI's ``--check`` prints them; the page shows them as the picture's text).

User types and device types with their counts, which device types each user type reaches, and the pods:
how many owners, and the first few owners' devices with their names and hostnames. A config may hold
hundreds of types, so every list stops after a few and says how many more there are: the summary's size
does not grow with the lab.
"""

from __future__ import annotations

from itertools import islice

from ..lab.expand import pod_connections
from ..lab.model import DeviceType, Lab, UserType
from ..wording import counted

SHOWN_OWNERS = 5  # the picture draws the first few pods, then "and N more"
SHOWN_TYPES = 12  # and the first few user types and device types, and of each user type what it reaches
SHOWN_DEVICES = 12  # and of each pod drawn, its first few devices


def lab_summary(lab: Lab) -> dict:
    owners = _owner_total(lab)
    return {
        "user_types": [_user_type(lab, u) for u in lab.user_types[:SHOWN_TYPES]],
        "more_user_types": max(0, len(lab.user_types) - SHOWN_TYPES),
        "device_types": [_device_type(lab, d) for d in lab.device_types[:SHOWN_TYPES]],
        "more_device_types": max(0, len(lab.device_types) - SHOWN_TYPES),
        "pods": {"start": lab.pod_start, "owners": owners, "shown": _first_pods(lab),
                 "more": max(0, owners - SHOWN_OWNERS)},
        "facts": lab_facts(lab),
    }


def lab_facts(lab: Lab) -> list[str]:
    """The lab in a few sentences: the counts, each user type and what it reaches, the pods, the shared devices."""
    facts = [f"{counted(lab.user_count, 'user')} in {counted(len(lab.user_types), 'type')}, "
             f"{counted(lab.device_count, 'device')} in {counted(len(lab.device_types), 'type')}, "
             f"{counted(lab.connection_count, 'connection')}"]
    facts += [_user_fact(lab, u) for u in lab.user_types[:SHOWN_TYPES]]
    if len(lab.user_types) > SHOWN_TYPES:
        facts.append(f"and {counted(len(lab.user_types) - SHOWN_TYPES, 'more user type')}")
    shared = [_devices(d) for d in lab.device_types if not d.per_user]
    if shared:
        facts.append(f"shared devices: {_listed(shared)}")
    owners = _owner_total(lab)
    if owners:
        pod_types = [d for d in lab.device_types if d.per_user and lab.owner_count(d)]
        if all(lab.owner_count(d) == owners for d in pod_types):
            held = f"each holding {_listed([_devices(d) for d in pod_types])}"
        else:  # owners of different user types own different pod types
            held = f"holding {_listed([f'{_devices(d)} in {lab.owner_count(d):,}' for d in pod_types])}"
        facts.append(f"pods: {owners:,}, numbered {lab.pod_start} to {lab.pod_start + owners - 1} in config order, "
                     f"{held}")
    return facts


def _user_type(lab: Lab, user_type: UserType) -> dict:
    reached = lab.device_types_for(user_type)
    shown = reached[:SHOWN_TYPES]
    return {"name": user_type.name, "users": user_type.quantity, "usernames": _usernames(user_type),
            "reaches": [d.name for d in shown], "reaches_pods": [d.name for d in shown if d.per_user],
            "more_reached": max(0, len(reached) - SHOWN_TYPES),
            "owns_pods": lab.first_owner(user_type) is not None, "all_pods": user_type.all_pods,
            "first_pod": lab.first_owner(user_type), "connections_per_user": lab.connections_per_user(user_type)}


def _device_type(lab: Lab, device: DeviceType) -> dict:
    return {"name": device.name, "protocol": device.protocol, "per_user": device.per_user,
            "quantity": device.quantity, "owners": lab.owner_count(device) if device.per_user else None,
            "devices": device.quantity * lab.owner_count(device) if device.per_user else device.quantity}


def _first_pods(lab: Lab) -> list[dict]:
    """The first few owners, each with the devices they own, in order."""
    shown = []
    for user_type in lab.user_types:
        first = lab.first_owner(user_type)
        if first is None:
            continue
        pod_types = [d for d in lab.device_types_for(user_type) if d.per_user]
        per_pod = sum(d.quantity for d in pod_types)
        for index in range(min(user_type.quantity, SHOWN_OWNERS - len(shown))):
            owned = ((d, c) for d in pod_types for c in pod_connections(d, first + index, lab.pod_start))
            devices = [{"type": d.name, "name": c.name, "hostname": dict(c.parameters).get("hostname")}
                       for d, c in islice(owned, SHOWN_DEVICES)]
            shown.append({"username": user_type.username.name(index), "pod": first + index, "devices": devices,
                          "more_devices": per_pod - len(devices)})
        if len(shown) == SHOWN_OWNERS:
            break
    return shown


def _user_fact(lab: Lab, user_type: UserType) -> str:
    """``students: 20 users (student01 to student20), 4 connections each: jumphost and their own pod's ...``"""
    reached = lab.device_types_for(user_type)
    shared = [d.name for d in reached if not d.per_user]
    pod_types = [d.name for d in reached if d.per_user]
    parts = [_listed(shared)] if shared else []
    first = lab.first_owner(user_type)
    if pod_types and user_type.all_pods:
        parts.append(f"every pod's {_listed(pod_types)}, each named after its owner")
    elif first is not None:
        last = first + user_type.quantity - 1
        pods = f"pod {first}" if first == last else f"pods {first} to {last}"
        parts.append(f"their own pod's {_listed(pod_types)} ({pods})")
    reach = "; ".join(parts) if parts else "nothing"
    return (f"{user_type.name}: {counted(user_type.quantity, 'user')} ({_usernames(user_type)}), "
            f"{counted(lab.connections_per_user(user_type), 'connection')} each: {reach}")


def _usernames(user_type: UserType) -> str:
    first = user_type.username.name(0)
    return first if user_type.quantity == 1 else f"{first} to {user_type.username.name(user_type.quantity - 1)}"


def _devices(device: DeviceType) -> str:
    return f"{device.name} ({device.quantity:,} {device.protocol})"


def _owner_total(lab: Lab) -> int:
    return sum(u.quantity for u in lab.user_types if lab.first_owner(u) is not None)


def _listed(names: list[str]) -> str:
    """At most a dozen names, then how many more: a line stays short however many types a lab has."""
    shown = ", ".join(names[:SHOWN_TYPES])
    return shown if len(names) <= SHOWN_TYPES else f"{shown} and {len(names) - SHOWN_TYPES:,} more"
