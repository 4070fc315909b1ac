"""The lab as Guacamole 1.6's batch connection import (Settings > Connections > Import): JSON, YAML or CSV.

The database holds each connection once and grants it to users, where ``user-mapping.xml`` repeats it in
every user's block: so a device's connection becomes one entry, granted to every user who reaches it.
Entries sit in a connection group per lab and device type, ``ROOT/<lab>/<device type>`` (``lab:`` in the
config, ``usermapper`` by default). Guacamole 1.6.0 does not create groups on import: ``group_paths``
lists the ones to create first, parents before children.

``entries`` is the one model every format is written from: a list of plain dicts (``name``, ``protocol``,
``parameters``, ``group``, ``users``), so it survives a round trip through JSON exactly; the web app keeps
it that way and writes YAML and CSV from it later.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable

from ..lab.expand import Connection, UserMapping, pod_connections
from ..lab.model import DeviceType, Lab, Problem
from ..lab.pods import instructor_label
from .mysql_names import username_collisions

ROOT = "ROOT"
# Guacamole's schema: connection, connection group and entity (user) names are VARCHAR(128), and MySQL's
# default collation compares them case-insensitively, so two names differing only in case collide there
# (for usernames, see username_collisions).
LONGEST_NAME = 128
CSV_HEAD = ("name", "protocol", "group", "users")
# Every parameter column is marked as one: the importer then never takes it for an attribute, nor refuses a
# parameter it does not know for that protocol (the config keeps unknown parameters, with a warning).
PARAMETER_COLUMN = "{} (parameter)"
_PLAIN_YAML = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
# YAML folds these as line breaks even inside double quotes, where JSON leaves them as they are.
_YAML_BREAK = re.compile("[\u0085\u2028\u2029\ufeff]")
_YAML_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\u0085\u2028\u2029\ufeff"}
# Words YAML 1.1 or 1.2 reads as a boolean or null (in any case: 1.1 knows Yes, YES, ...).
_YAML_WORDS = ("y", "n", "yes", "no", "on", "off", "true", "false", "null")


class ImportRefused(Exception):
    """The lab holds something Guacamole's import cannot carry; ``problems`` say what and where."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def group_path(lab: Lab, device_type: str) -> str:
    return f"{ROOT}/{lab.name}/{device_type}"


def group_paths(lab: Lab, entries: list[dict]) -> list[str]:
    """The connection groups the import needs, parents first: the lab's, then one per device type used."""
    used = dict.fromkeys(entry["group"] for entry in entries)
    return [f"{ROOT}/{lab.name}", *used] if used else []


def entries(lab: Lab, mapping: UserMapping) -> list[dict]:
    """One entry per distinct connection, with every user who reaches it, in config order; raises
    ``ImportRefused`` (located at the lab's places) for what the import cannot carry.

    A shared device's connection is the same Connection object in every group that reaches it, so its
    users are found without comparing any two connections: a group without pods lists its connections
    device type by device type, in config order; a group with pods says which part is which. A pod
    device is one connection, named after its owner as instructors see it (``student07 PC1``), granted
    to its owner and to every user of a type with ``pods: all``."""
    shared: dict[int, dict] = {}
    device_of: dict[int, str] = {}  # each entry's device type, by the entry's id
    reached_by: dict[int, list[int]] = {}
    pods: dict[str, list[dict]] = {}  # each pod type's entries, in owner order
    viewers: dict[str, list[int]] = {}  # each pod type's instructor groups

    def share(connection: Connection, device: DeviceType, group_index: int) -> None:
        key = id(connection)
        if key not in shared:
            shared[key] = _entry(lab, connection, device)
            device_of[id(shared[key])] = device.name
            reached_by[key] = []
        reached_by[key].append(group_index)

    for index, (user_type, group) in enumerate(zip(lab.user_types, mapping.groups)):
        if not group.parts:
            connections = iter(group.connections)
            for device in lab.device_types_for(user_type):
                for _ in range(device.quantity):
                    share(next(connections), device, index)
            continue
        for part in group.parts:
            if not part.device.per_user:
                for connection in part.connections:
                    share(connection, part.device, index)
            elif part.viewed:
                viewers.setdefault(part.device.name, []).append(index)
            else:
                for offset, user in enumerate(group.users):
                    for connection in pod_connections(part.device, group.first_owner + offset, group.pod_start,
                                                      instructor_label(user.username)):
                        entry = _entry(lab, connection, part.device)
                        entry["users"] = [user.username]
                        device_of[id(entry)] = part.device.name
                        pods.setdefault(part.device.name, []).append(entry)
    usernames: dict[tuple[int, ...], list[str]] = {}  # entries reached by the same user types share a list

    def users_of(types: tuple[int, ...]) -> list[str]:
        if types not in usernames:
            usernames[types] = [u.username for i in types for u in mapping.groups[i].users]
        return usernames[types]

    for key, entry in shared.items():
        entry["users"] = users_of(tuple(reached_by[key]))
    for device_name, owned in pods.items():
        instructors = users_of(tuple(viewers.get(device_name, ())))
        for entry in owned:
            entry["users"] = entry["users"] + instructors
    by_type = {d.name: [] for d in lab.device_types}  # config order of device types, as the XML has it
    for entry in [*shared.values(), *(e for owned in pods.values() for e in owned)]:
        by_type[device_of[id(entry)]].append(entry)
    result = [entry for listed in by_type.values() for entry in listed]
    problems = _problems(lab, mapping, result)
    if problems:
        raise ImportRefused(problems)
    return result


def _entry(lab: Lab, connection: Connection, device: DeviceType) -> dict:
    return {"name": connection.name, "protocol": connection.protocol, "parameters": dict(connection.parameters),
            "group": group_path(lab, device.name), "users": None}


def import_file(entries_: list[dict], format_: str) -> bytes:
    """The import file in ``format_``, the name of one of ``outputs.IMPORT_FORMATS``."""
    return {"import-json": import_json, "import-yaml": import_yaml, "import-csv": import_csv}[format_](entries_)


def import_json(entries_: list[dict]) -> bytes:
    """As ``json.dumps(entries_, indent=2, ensure_ascii=False)`` writes them, and a line break; written
    here, each text encoded once however many entries repeat it (a megabyte-long value YAML aliases under
    75 parameter names took json 0.4 s), and entries sharing one ``users`` list share its text."""
    texts: dict[str, bytes] = {}

    def text(value: str | None) -> bytes:
        if value is None:
            return b"null"
        found = texts.get(value)
        if found is None:
            found = texts[value] = json.dumps(value, ensure_ascii=False).encode("utf-8")
        return found

    lists: dict[int, bytes] = {}
    out = [b"["]  # pieces, joined once: a megabyte-long text is copied only into the file
    for entry in entries_:
        users = entry["users"]
        if id(users) not in lists:
            lists[id(users)] = (b"[\n" + b",\n".join(b"      " + text(u) for u in users) + b"\n    ]" if users
                                else b"null" if users is None else b"[]")
        out += [b"\n  {\n    \"name\": ", text(entry["name"]), b',\n    "protocol": ', text(entry["protocol"]),
                b',\n    "parameters": ']
        separator = b"{"
        for name, value in entry["parameters"].items():
            out += [separator, b"\n      ", text(name), b": ", text(value)]
            separator = b","
        out += [b"{}" if separator == b"{" else b"\n    }", b',\n    "group": ', text(entry["group"]),
                b',\n    "users": ', lists[id(users)], b"\n  },"]
    if len(out) == 1:
        return b"[]\n"
    out[-1] = b"\n  }\n]\n"  # the last entry's end, without its comma
    return b"".join(out)


def import_yaml(entries_: list[dict]) -> bytes:
    """Block style, no anchors, aliases or merge keys, and every text that is not a plain word
    double-quoted (with JSON's escapes, which YAML's double-quoted style shares), so that a YAML 1.1
    reader (Guacamole's) and a 1.2 one read the same strings: ``3389``, ``10.0.0.1``, ``0o17`` or ``yes``
    never turn into a number or a boolean. Written directly, not with PyYAML's emitter, which takes
    seconds for a lab within the web app's limits; entries sharing one ``users`` list share its text."""
    lists: dict[int, str] = {}
    out = []
    for entry in entries_:
        users = entry["users"]
        if id(users) not in lists:
            lists[id(users)] = "".join(f"  - {_yaml_text(u)}\n" for u in users) if users else ""
        parameters = "".join(f"    {_yaml_text(k)}: {_yaml_text(v)}\n" for k, v in entry["parameters"].items())
        out += [f"- name: {_yaml_text(entry['name'])}\n  protocol: {_yaml_text(entry['protocol'])}\n",
                f"  parameters:\n{parameters}" if parameters else "  parameters: {}\n",
                f"  group: {_yaml_text(entry['group'])}\n",
                f"  users:\n{lists[id(users)]}" if users else "  users: []\n"]
    return "".join(out).encode("utf-8") if out else b"[]\n"


def _yaml_text(value: str) -> str:
    if _PLAIN_YAML.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    quoted = json.dumps(value, ensure_ascii=False)
    return quoted.translate(_YAML_BREAKS) if _YAML_BREAK.search(quoted) else quoted


def import_csv(entries_: list[dict]) -> bytes:
    """A header row, then one row per connection: ``name``, ``protocol``, ``group``, ``users`` (names
    separated by ``;``, a ``;`` within a name written ``\\;``), then one column per parameter name, in the
    order first met; a connection without that parameter leaves its cell empty."""
    names = list(dict.fromkeys(name for entry in entries_ for name in entry["parameters"]))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([*CSV_HEAD, *(PARAMETER_COLUMN.format(name) for name in names)])
    for entry in entries_:
        parameters = entry["parameters"]
        writer.writerow([entry["name"], entry["protocol"], entry["group"], _csv_list(entry["users"]),
                         *(parameters.get(name, "") for name in names)])
    return text.getvalue().encode("utf-8")


def _csv_list(items: Iterable[str]) -> str:
    return ";".join(item.replace(";", "\\;") for item in items)


# -- what the import cannot carry ----------------------------------------------------------------------------

def _problems(lab: Lab, mapping: UserMapping, entries_: list[dict]) -> list[Problem]:
    problems = []
    folded: dict[str, str] = {}
    for device in lab.device_types:
        if "/" in device.name:
            problems.append(lab.problem(f"devices.{device.name}", "names a connection group of the import, "
                                        "where '/' separates groups: rename the device type", at_name=True))
        earlier = folded.setdefault(device.name.casefold(), device.name)
        if earlier != device.name:
            problems.append(lab.problem(f"devices.{device.name}", f"differs from the device type {earlier} "
                                        f"only in case; their connection groups would collide in MySQL and "
                                        f"MariaDB, which compare names regardless of case", at_name=True))
        if len(device.name) > LONGEST_NAME:
            problems.append(lab.problem(f"devices.{device.name}", _too_long("a connection group's"), at_name=True))
    seen: dict[tuple[str, str], str] = {}
    for entry in entries_:
        device = entry["group"].rsplit("/", 1)[1]
        name = entry["name"]
        if len(name) > LONGEST_NAME:
            problems.append(lab.problem(f"devices.{device}.name_prefix", _too_long(f"connection {name!r}:")))
        folded_name = (entry["group"], name.casefold())
        if folded_name not in seen:
            seen[folded_name] = name
        else:
            earlier = seen[folded_name]
            problems.append(lab.problem(f"devices.{device}.name_prefix", f"makes the connection {name!r} "
                                        f"twice in the group {entry['group']} (as {earlier!r}); the import "
                                        f"would keep only one"))
    for user_type, group in zip(lab.user_types, mapping.groups):
        if any(len(user.username) > LONGEST_NAME for user in group.users):
            problems.append(lab.problem(f"users.{user_type.name}.username_prefix", _too_long("a username")))
    return problems + username_collisions(lab)


def _too_long(what: str) -> str:
    return f"makes {what} name longer than the {LONGEST_NAME} characters Guacamole's database can hold"
