"""The facts of a lab a picture needs, as plain data: the API's summary carries them as ``lab``.

User types and device types with their counts, which device types each user type reaches, and the pods:
how many owners, and the first few owners' devices with their names and hostnames.
"""

from __future__ import annotations

from .config import Lab
from .expand import pod_connections

SHOWN_OWNERS = 5  # the picture draws the first few pods, then "and N more"


def lab_summary(lab: Lab) -> dict:
    owners = sum(u.quantity for u in lab.user_types if lab.first_owner(u) is not None)
    return {
        "user_types": [{"name": u.name, "users": u.quantity, "reaches": [d.name for d in lab.device_types_for(u)],
                        "owns_pods": lab.first_owner(u) is not None, "all_pods": u.all_pods,
                        "first_pod": lab.first_owner(u), "connections_per_user": lab.connections_per_user(u)}
                       for u in lab.user_types],
        "device_types": [{"name": d.name, "protocol": d.protocol, "per_user": d.per_user,
                          "quantity": d.quantity, "owners": lab.owner_count(d) if d.per_user else None,
                          "devices": d.quantity * lab.owner_count(d) if d.per_user else d.quantity}
                         for d in lab.device_types],
        "pods": {"start": lab.pod_start, "owners": owners, "shown": _first_pods(lab),
                 "more": max(0, owners - SHOWN_OWNERS)},
    }


def _first_pods(lab: Lab) -> list[dict]:
    """The first few owners, each with the devices they own, in order."""
    shown = []
    for user_type in lab.user_types:
        first = lab.first_owner(user_type)
        if first is None:
            continue
        pod_types = [d for d in lab.device_types_for(user_type) if d.per_user]
        for index in range(min(user_type.quantity, SHOWN_OWNERS - len(shown))):
            devices = [{"type": d.name, "name": c.name, "hostname": dict(c.parameters).get("hostname")}
                       for d in pod_types for c in pod_connections(d, first + index, lab.pod_start)]
            shown.append({"username": user_type.username.name(index), "pod": first + index, "devices": devices})
        if len(shown) == SHOWN_OWNERS:
            break
    return shown
