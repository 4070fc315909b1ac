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
from collections.abc import Callable, Iterable

import yaml

try:  # libyaml, as config.py reads the config
    from yaml import CSafeLoader as _LOADER
except ImportError:  # pragma: no cover - only on PyYAML builds without libyaml
    from yaml import SafeLoader as _LOADER

from .config import DeviceType, Lab, Problem
from .expand import Connection, UserMapping, pod_connections

FORMATS = ("import-json", "import-yaml", "import-csv")
MEDIA_TYPES = {"import-json": "application/json", "import-yaml": "application/yaml",
               "import-csv": "text/csv; charset=utf-8"}
FILENAMES = {"import-json": "guacamole-import.json", "import-yaml": "guacamole-import.yaml",
             "import-csv": "guacamole-import.csv"}
ROOT = "ROOT"
# Guacamole's schema: connection, connection group and entity (user) names are VARCHAR(128), and MySQL's
# default collation compares them case-insensitively, so two names differing only in case collide there
# (for usernames, see username_collisions).
LONGEST_NAME = 128
RESERVED_COLUMNS = ("name", "protocol", "group", "parentIdentifier", "users", "groups")
CSV_HEAD = ("name", "protocol", "group", "users")
# Every parameter column is marked as one: the importer then never takes it for an attribute, nor refuses a
# parameter it does not know for that protocol (the config keeps unknown parameters, with a warning).
PARAMETER_COLUMN = "{} (parameter)"
_PLAIN_YAML = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
# Words YAML 1.1 or 1.2 reads as a boolean or null (in any case: 1.1 knows Yes, YES, ...).
# YAML folds these as line breaks even inside double quotes, where JSON leaves them as they are.
_YAML_BREAK = re.compile("[\u0085\u2028\u2029\ufeff]")
_YAML_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\u0085\u2028\u2029\ufeff"}
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


def entries(lab: Lab, mapping: UserMapping, source: str | bytes = "") -> list[dict]:
    """One entry per distinct connection, with every user who reaches it, in config order; raises
    ``ImportRefused`` (located in ``source``, the config's text) for what the import cannot carry.

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
                                                      f"{user.username} "):
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
    problems = _problems(lab, mapping, result, source)
    if problems:
        raise ImportRefused(problems)
    return result


def _entry(lab: Lab, connection: Connection, device: DeviceType) -> dict:
    return {"name": connection.name, "protocol": connection.protocol, "parameters": dict(connection.parameters),
            "group": group_path(lab, device.name), "users": None}


def import_file(entries_: list[dict], format_: str) -> bytes:
    """The import file in ``format_`` (one of ``FORMATS``)."""
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

def _problems(lab: Lab, mapping: UserMapping, entries_: list[dict], source: str | bytes) -> list[Problem]:
    places = Places(source)
    problems = []
    folded: dict[str, str] = {}
    for device in lab.device_types:
        if "/" in device.name:
            problems.append(places.problem(f"devices.{device.name}", "names a connection group of the import, "
                                           "where '/' separates groups: rename the device type", key=True))
        earlier = folded.setdefault(device.name.casefold(), device.name)
        if earlier != device.name:
            problems.append(places.problem(f"devices.{device.name}", f"differs from the device type {earlier} "
                                           f"only in case; their connection groups would collide in MySQL and "
                                           f"MariaDB, which compare names regardless of case", key=True))
        if len(device.name) > LONGEST_NAME:
            problems.append(places.problem(f"devices.{device.name}", _too_long("a connection group's"), key=True))
    seen: dict[tuple[str, str], str] = {}
    for entry in entries_:
        device = entry["group"].rsplit("/", 1)[1]
        name = entry["name"]
        if len(name) > LONGEST_NAME:
            problems.append(places.problem(f"devices.{device}.name_prefix", _too_long(f"connection {name!r}:")))
        folded_name = (entry["group"], name.casefold())
        if folded_name not in seen:
            seen[folded_name] = name
        else:
            earlier = seen[folded_name]
            problems.append(places.problem(f"devices.{device}.name_prefix", f"makes the connection {name!r} "
                                           f"twice in the group {entry['group']} (as {earlier!r}); the import "
                                           f"would keep only one"))
    for user_type, group in zip(lab.user_types, mapping.groups):
        if any(len(user.username) > LONGEST_NAME for user in group.users):
            problems.append(places.problem(f"users.{user_type.name}.username_prefix", _too_long("a username")))
    return problems + username_collisions(lab, places)


def username_collisions(lab: Lab, places: "Places") -> list[Problem]:
    """Usernames of two user types that are one account in Guacamole's MySQL or MariaDB database: its
    tables (``CHARSET=utf8``) compare names in the charset's default collation, ``utf8mb3_general_ci``
    (``utf8mb4_general_ci`` for tables converted to utf8mb4), for which ``Student1``, ``student1``,
    ``STUDENT1 `` and ``stüdent1`` are equal; so the import would merge their grants and the password
    script give both the password of the last. Also names equal under ``str.casefold`` (``ß`` and ``ss``,
    newer case pairs the 2005 tables of general_ci do not know), which the UCA collations of newer
    servers and PostgreSQL with ``postgresql-case-sensitive-usernames: false`` equate. One problem per
    pair of user types, at the later type's ``username_prefix``, naming the first such pair of names.
    (``user-mapping.xml`` compares usernames exactly; config.py refuses equal ones there.)"""
    order = {u.name: i for i, u in enumerate(lab.user_types)}
    clashing: dict[tuple[str, str], tuple[str, str]] = {}  # (earlier type, type): the first two usernames
    # ASCII names are equal folded exactly when their general_ci keys are: fold only a lab with others
    kinds = [_general_key] if all(u.username.prefix.isascii() for u in lab.user_types) else [_general_key,
                                                                                              _folded_key]
    for key_of in kinds:
        # A username is its prefix and a number, whose ASCII digits weigh and fold as themselves: two
        # usernames can be equal only if their prefixes' keys are, without the digits they end with.
        related: dict[str, list] = {}
        for user_type in lab.user_types:
            related.setdefault(key_of(user_type.username).rstrip(_DIGITS), []).append(user_type)
        for user_types in related.values():
            if len(user_types) > 1:
                _find_equal_usernames(user_types, key_of, clashing)
    problems = []
    for (earlier_type, type_name), (earlier, username) in sorted(
            clashing.items(), key=lambda item: (order[item[0][1]], order[item[0][0]])):
        problems.append(places.problem(
            f"users.{type_name}.username_prefix",
            f"makes the username {username!r}, which Guacamole's MySQL or MariaDB database takes for "
            f"{earlier!r} of the user type {earlier_type}: it compares names regardless of case, accents "
            f"and trailing spaces, so the two would be one account; make the user types' usernames differ "
            f"in more than that"))
    return problems


def _find_equal_usernames(user_types: list, key_of: Callable, clashing: dict[tuple[str, str], tuple[str, str]]) -> None:
    seen: dict[str, tuple[str, str]] = {}  # each key: the first username that made it, and its type
    for user_type in user_types:
        numbering = user_type.username
        prefix_key = key_of(numbering)
        for index in range(user_type.quantity):
            number = numbering.number(index)
            earlier = seen.setdefault(prefix_key + number, (numbering.prefix + number, user_type.name))
            if earlier[1] != user_type.name:
                clashing.setdefault((earlier[1], user_type.name), (earlier[0], numbering.prefix + number))


def _general_key(numbering) -> str:
    """The general_ci key of a user type's usernames without their numbers (of its one name, if uncounted)."""
    weighed = _weights(numbering.prefix)
    return weighed if numbering.counted else weighed.rstrip(" ")


def _folded_key(numbering) -> str:
    return numbering.prefix.casefold()


def mysql_name_key(name: str) -> str:
    """What MySQL and MariaDB compare of a name in ``utf8mb4_general_ci`` (and ``utf8mb3_general_ci``,
    the same for every character it holds): each character's weight, trailing spaces ignored (PAD SPACE).
    Checked against MariaDB 10.11's ``WEIGHT_STRING`` for every code point (tests/test_passwords_sql.py)."""
    return _weights(name).rstrip(" ")


def _weights(text: str) -> str:
    """Each character's general_ci weight: ASCII letters weigh as their upper case, ``_GENERAL_CI`` has
    every other character whose weight is not itself, and every character beyond U+FFFF weighs U+FFFD."""
    if text.isascii():
        return text.upper()
    if max(text) > "\uffff":
        text = _BEYOND_BMP.sub("\ufffd", text)
    return text.translate(_general_ci())


# utf8mb4_general_ci's weights that are not the character itself, as MariaDB 10.11 reports them
# (SELECT HEX(WEIGHT_STRING(c COLLATE utf8mb4_general_ci)) for every code point): runs written
# START[+COUNT[/2]] then =WEIGHT (every character of the run weighs that) or +OFFSET / -OFFSET (each weighs
# itself plus that); START, WEIGHT and OFFSET in hex, COUNT in decimal, /2 for every other code point.
_GENERAL_CI = (
    "61+26-20 b5=39c c0+6=41 c7=43 c8+4=45 cc+4=49 d1+2-83 d3+4=4f d9+4=55 dd=59 df=53 e0+6=41 e6=c6 "
    "e7=43 e8+4=45 ec+4=49 f0=d0 f1+2-a3 f3+4=4f f8=d8 f9+4=55 fd=59 fe=de ff=59 100+6=41 106+8=43 "
    "10e+2=44 111=110 112+10=45 11c+8=47 124+2=48 127=126 128+10=49 133=132 134+2=4a 136+2=4b "
    "139+6=4c 140+2/2-1 143+6=4e 14b=14a 14c+6=4f 153=152 154+6=52 15a+8=53 162+4=54 167=166 "
    "168+12=55 174+2=57 176+3=59 179+6=5a 17f=53 183+2/2-1 188=187 18c=18b 192=191 195=1f6 199=198 "
    "1a0+2=4f 1a3+2/2-1 1a8=1a7 1ad=1ac 1af+2=55 1b4+2/2-1 1b9=1b8 1bd=1bc 1bf=1f7 1c5+2=1c4 "
    "1c8+2=1c7 1cb+2=1ca 1cd+2=41 1cf+2=49 1d1+2=4f 1d3+10=55 1dd=18e 1de+4=41 1e2+2=c6 1e5=1e4 "
    "1e6+2=47 1e8+2=4b 1ea+4=4f 1ee+2=1b7 1f0=4a 1f2+2=1f1 1f4+2=47 1f8+2=4e 1fa+2=41 1fc+2=c6 "
    "1fe+2=d8 200+4=41 204+4=45 208+4=49 20c+4=4f 210+4=52 214+4=55 218+2=53 21a+2=54 21d=21c "
    "21e+2=48 223+2/2-1 226+2=41 228+2=45 22a+8=4f 232+2=59 253=181 254=186 256+2-cd 259=18f 25b=190 "
    "260=193 263=194 268=197 269=196 26f=19c 272=19d 275=19f 280=1a6 283=1a9 288=1ae 28a+2-d9 292=1b7 "
    "345=399 386=391 388=395 389=397 38a=399 38c=39f 38e=3a5 38f=3a9 390=399 3aa=399 3ab=3a5 3ac=391 "
    "3ad=395 3ae=397 3af=399 3b0=3a5 3b1+17-20 3c2+2=3a3 3c4+6-20 3ca=399 3cb=3a5 3cc=39f 3cd=3a5 "
    "3ce=3a9 3d0=392 3d1=398 3d3+2=3d2 3d5=3a6 3d6=3a0 3db+11/2-1 3f0=39a 3f1=3a1 3f2=3a3 400+2=415 "
    "403=413 407=406 40c=41a 40d=418 40e=423 430+32-20 450+2=415 452=402 453=413 454+3-50 457=406 "
    "458+4-50 45c=41a 45d=418 45e=423 45f=40f 461+11/2-1 476+2=474 479+5/2-1 48d+26/2-1 4c1+2=416 "
    "4c4=4c3 4c8=4c7 4cc=4cb 4d0+4=410 4d5=4d4 4d6+2=415 4d9+3=4d8 4dc+2=416 4de+2=417 4e1=4e0 "
    "4e2+4=418 4e6+2=41e 4e9+3=4e8 4ec+2=42d 4ee+6=423 4f4+2=427 4f8+2=42b 561+38-30 1e00+2=41 "
    "1e02+6=42 1e08+2=43 1e0a+10=44 1e14+10=45 1e1e+2=46 1e20+2=47 1e22+10=48 1e2c+4=49 1e30+6=4b "
    "1e36+8=4c 1e3e+6=4d 1e44+8=4e 1e4c+8=4f 1e54+4=50 1e58+8=52 1e60+10=53 1e6a+8=54 1e72+10=55 "
    "1e7c+4=56 1e80+10=57 1e8a+4=58 1e8e+2=59 1e90+6=5a 1e96=48 1e97=54 1e98=57 1e99=59 1e9b=53 "
    "1ea0+24=41 1eb8+16=45 1ec8+4=49 1ecc+24=4f 1ee4+14=55 1ef2+8=59 1f00+16=391 1f10+6=395 "
    "1f18+6=395 1f20+16=397 1f30+16=399 1f40+6=39f 1f48+6=39f 1f50+8=3a5 1f59+4/2=3a5 1f60+16=3a9 "
    "1f70=391 1f71=1fbb 1f72=395 1f73=1fc9 1f74=397 1f75=1fcb 1f76=399 1f77=1fdb 1f78=39f 1f79=1ff9 "
    "1f7a=3a5 1f7b=1feb 1f7c=3a9 1f7d=1ffb 1f80+16=391 1f90+16=397 1fa0+16=3a9 1fb0+5=391 1fb6+5=391 "
    "1fbc=391 1fbe=399 1fc2+3=397 1fc6+2=397 1fc8+2/2-1c33 1fcc=397 1fd0+3=399 1fd6+5=399 1fe0+3=3a5 "
    "1fe4+2=3a1 1fe6+5=3a5 1fec=3a1 1ff2+3=3a9 1ff6+2=3a9 1ff8=39f 1ffa+2/2=3a9 2170+16-10 24d0+26-1a "
    "ff41+26-20"
)
_DIGITS = "0123456789"
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")
_GENERAL_CI_TABLE: dict[int, int] = {}
_GENERAL_CI_RUN = re.compile(r"([0-9a-f]+)(?:\+(\d+)(/2)?)?(?:=([0-9a-f]+)|([+-][0-9a-f]+))")


def _general_ci() -> dict[int, int]:
    """``_GENERAL_CI`` as a ``str.translate`` table, read on first use."""
    if not _GENERAL_CI_TABLE:
        for run in _GENERAL_CI.split():
            start, count, every_other, weight, offset = _GENERAL_CI_RUN.fullmatch(run).groups()
            first, step = int(start, 16), 2 if every_other else 1
            for code in range(first, first + int(count or 1) * step, step):
                _GENERAL_CI_TABLE[code] = int(weight, 16) if weight else code + int(offset, 16)
    return _GENERAL_CI_TABLE


def _too_long(what: str) -> str:
    return f"makes {what} name longer than the {LONGEST_NAME} characters Guacamole's database can hold"


class Places:
    """Where a field of a config is, by its dotted path (``users.students.password_encoding``), found by
    reading the config's text again: the lab itself keeps no positions. The text has passed ``read_config``
    already, so it is valid and within the limits. It is read only when a problem needs a place (most
    configs have none), and with libyaml: composing 20,000 values in pure Python took a second."""

    def __init__(self, source: str | bytes):
        self._source = source
        self._composed = False
        self._root_node = None

    @property
    def _root(self) -> yaml.Node | None:
        if not self._composed:
            self._root_node = yaml.compose(self._source, Loader=_LOADER) if self._source else None
            self._composed = True
        return self._root_node

    def problem(self, path: str, message: str, key: bool = False) -> Problem:
        line, column = self.place(path, key)
        return Problem(path, line, column, message)

    def place(self, path: str, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the field's value (or its key), or (0, 0) when it is not there."""
        node, found = self._root, None
        parts = path.split(".")
        # a type's name may hold dots: match keys greedily against what is left of the path
        while parts and isinstance(node, yaml.MappingNode):
            for length in range(len(parts), 0, -1):
                wanted = ".".join(parts[:length])
                match = next(((k, v) for k, v in node.value if k.value == wanted), None)
                if match:
                    found = match[0] if key and length == len(parts) else match[1]
                    node, parts = match[1], parts[length:]
                    break
            else:
                break
        if parts or found is None:
            return (0, 0) if found is None else (found.start_mark.line + 1, found.start_mark.column + 1)
        return found.start_mark.line + 1, found.start_mark.column + 1
