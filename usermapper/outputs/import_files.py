"""The lab as Guacamole 1.6's batch connection import (Settings > Connections > Import): JSON, YAML or CSV.

The database holds each connection once and grants it to users, where ``user-mapping.xml`` repeats it in
every user's block: so a device's connection becomes one entry, granted to every user who reaches it.
Entries sit in a connection group per lab and device type, ``ROOT/<lab>/<device type>`` (``lab:`` in the
config, ``usermapper`` by default). Guacamole 1.6.0 does not create groups on import: ``group_paths``
lists the ones to create first, parents before children.

``entries`` is the one model every format is written from: a list of plain dicts (``name``, ``protocol``,
``parameters``, ``group``, ``users``), so it survives a round trip through JSON exactly; the web app keeps
it that way and writes YAML and CSV from it later.

Guacamole's importer (its web app's ``import`` module, 1.6.0) does not always store what a file says. What
it would change, usermapper writes so that it reads back exactly where the format has a faithful escape (a
``\\`` or ``;`` in a CSV list of users is written ``\\\\`` or ``\\;``, which its ``splitIdentifiers``
reads back) and refuses otherwise, at the field's place, for every format alike (``_importer_problems``):

* usernames with white space around them: it trims every username (``String(user).trim()``), so it would
  create and grant another user, and merge two users differing only in those spaces;
* usernames that name a member of ``Object.prototype`` (``constructor``, ``__proto__``, ``toString``...): it
  counts each user's connections in a plain JavaScript object, where those names are taken, and the whole
  import fails (``TypeError: users[identifier].push is not a function``);
* a parameter's value that matches, once lower-cased and trimmed, an option the protocol's form offers
  (``NLA``, ``TRUE``, `` 16``, ``XTERM``): the importer stores the option (``nla``, ``true``, ``16``,
  ``xterm``) where ``user-mapping.xml`` gives guacd the value as written. No way of writing the value keeps
  the importer from matching it, and writing the option in the import file would make the two routes give
  guacd different values, so the lab is refused for the import and the message names the option to write
  (the XML route warns where guacd falls back);
* parameter names the importer reads as something else: a name beginning with white space (it trims a
  CSV file's column names, and refuses a file with one twice), holding `` (parameter)`` (it takes the first
  one in a column's name for the marker), beginning ``$$`` (the web app leaves such keys out when it sends
  the connections), or naming a member of ``Object.prototype`` (it looks the value up under the name in
  plain JavaScript objects, which may replace it, and CSV loses ``__proto__``);
* connection names its lookups misread: its check for a connection imported twice reads ``group + '/' +
  name`` as a lodash path, split at ``.`` and ``[...]``, so a connection whose path continues another's
  (``a`` and ``a.b``), equals another's once split (``a.b`` and ``a[b]``) or has a part naming a member of
  ``Object.prototype`` is taken for one already imported; a name that names such a member is taken for an
  existing connection of its group. A name that is blank to Java (``trim()``) is refused by the database.

And what Guacamole's database cannot hold: a parameter's value longer than its schemas' columns, two
parameter names MySQL takes for one (it keys a connection's parameters by name, regardless of case).
docs/guacamole.md says the same for trainers; tests/guacamole_importer.py re-implements the importer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable

from ..lab.expand import Connection, UserMapping, pod_connections
from ..lab.model import DeviceType, Lab, Numbering, Problem
from ..lab.pods import instructor_label
from ..wording import quoted
from .mysql_names import mysql_name_key, username_collisions

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
# Characters JSON's escapes leave as they are that YAML does not read as written: YAML 1.1 folds U+0085,
# U+2028 and U+2029 as line breaks even inside double quotes and reads U+FEFF as a byte-order mark, and
# YAML readers that keep to its printable characters (PyYAML, ruamel.yaml) refuse U+007F to U+009F. Escaped,
# every reader reads them as written (Guacamole's yaml 2.5.0 reads them either way).
_YAML_ESCAPE = re.compile("[\u007f-\u009f\u2028\u2029\ufeff]")
_YAML_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029, 0xFEFF)}
# Words YAML 1.1 or 1.2 reads as a boolean or null (in any case: 1.1 knows Yes, YES, ...).
_YAML_WORDS = ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
_CSV_LIST_ESCAPE = re.compile(r"[\\;]")

# -- what Guacamole 1.6.0's importer reads differently (the module docstring says why each matters) -----------

# What JavaScript's String.prototype.trim removes (ECMAScript's WhiteSpace and LineTerminator).
JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
            "\u2028\u2029\u202f\u205f\u3000\ufeff")
# What Java's String.trim removes, with which Guacamole's database finds a name blank.
_JAVA_SPACE = "".join(map(chr, range(0x21)))
# The members of JavaScript's Object.prototype, which every plain object of the importer seems to hold.
OBJECT_PROTOTYPE = frozenset({
    "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
    "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
    "toLocaleString"})
_LOWER_CASE_MEMBERS = ("constructor", "__proto__")  # the ones a lower-cased value can name
PARAMETER_MARK = " (parameter)"
# Guacamole's schemas hold a parameter's value in VARCHAR(4096) (PostgreSQL, MySQL) or NVARCHAR(4000)
# (SQL Server, counted in UTF-16 code units): the import of a longer one fails.
LONGEST_VALUE = 4000

# The options each protocol's connection form offers (guacamole-ext 1.6.0,
# src/main/resources/org/apache/guacamole/protocols/<protocol>.json), besides the empty one: the importer
# replaces a value matching one of them, once trimmed and lower-cased, by that option. Every BOOLEAN field
# offers one option, "true".
_TERMINAL_CHOICES = {"color-scheme": "black-white gray-black green-black white-black",
                     "font-size": "8 9 10 11 12 14 18 24 30 36 48 60 72 96", "backspace": "127 8"}
_TERMINAL_TYPES = "xterm xterm-256color vt220 vt100 ansi linux"
_RECORDING_SWITCHES = ("recording-exclude-output recording-exclude-mouse recording-include-keys "
                       "create-recording-path recording-write-existing")
_TERMINAL_SWITCHES = f"read-only create-typescript-path typescript-write-existing {_RECORDING_SWITCHES}"
_FORM_CHOICES: dict[str, tuple[str, dict[str, str]]] = {  # protocol: (its BOOLEAN fields, its other choices)
    "rdp": (
        ("disable-auth ignore-cert cert-tofu enable-touch console force-lossless read-only disable-copy "
         "disable-paste console-audio disable-audio enable-audio-input enable-printing enable-drive "
         "disable-download disable-upload create-drive-path enable-wallpaper enable-theming "
         "enable-font-smoothing enable-full-window-drag enable-desktop-composition enable-menu-animations "
         "disable-bitmap-caching disable-offscreen-caching disable-glyph-caching disable-gfx "
         f"{_RECORDING_SWITCHES} recording-exclude-touch enable-sftp sftp-disable-download "
         "sftp-disable-upload wol-send-packet"),
        {"security": "rdp tls nla vmconnect any",
         "server-layout": "cs-cz-qwertz de-ch-qwertz de-de-qwertz en-gb-qwerty en-us-qwerty es-es-qwerty "
                          "es-latam-qwerty failsafe fr-be-azerty fr-fr-azerty fr-ca-qwerty fr-ch-qwertz "
                          "hu-hu-qwertz it-it-qwerty ja-jp-qwerty no-no-qwerty pl-pl-qwerty pt-br-qwerty "
                          "pt-pt-qwerty ro-ro-qwerty sv-se-qwerty da-dk-qwerty tr-tr-qwerty",
         "color-depth": "8 16 24 32", "resize-method": "reconnect display-update",
         "normalize-clipboard": "preserve unix windows"}),
    "vnc": (
        ("read-only disable-server-input disable-display-resize swap-red-blue force-lossless disable-copy "
         f"disable-paste {_RECORDING_SWITCHES} enable-sftp sftp-disable-download sftp-disable-upload "
         "enable-audio wol-send-packet"),
        {"cursor": "local remote", "color-depth": "8 16 24 32", "compress-level": "0 1 2 3 4 5 6 7 8 9",
         "quality-level": "0 1 2 3 4 5 6 7 8 9", "clipboard-encoding": "ISO8859-1 UTF-8 UTF-16 CP1252"}),
    "ssh": (
        (f"disable-copy disable-paste {_TERMINAL_SWITCHES} enable-sftp sftp-disable-download "
         "sftp-disable-upload wol-send-packet"),
        {**_TERMINAL_CHOICES, "terminal-type": _TERMINAL_TYPES}),
    "telnet": (f"disable-copy disable-paste {_TERMINAL_SWITCHES} wol-send-packet",
               {**_TERMINAL_CHOICES, "terminal-type": _TERMINAL_TYPES}),
    "kubernetes": (f"use-ssl ignore-cert {_TERMINAL_SWITCHES}", _TERMINAL_CHOICES),
}
# Each protocol's choices as the importer looks them up: {field: {trimmed, lower-cased option: option}}.
FORM_OPTIONS: dict[str, dict[str, dict[str, str]]] = {
    protocol: {**{field: {"true": "true"} for field in switches.split()},
               **{field: {option.lower(): option for option in options.split()}
                  for field, options in choices.items()}}
    for protocol, (switches, choices) in _FORM_CHOICES.items()}


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
    written = json.dumps(value, ensure_ascii=False)
    return written.translate(_YAML_ESCAPES) if _YAML_ESCAPE.search(written) else written


def import_csv(entries_: list[dict]) -> bytes:
    """A header row, then one row per connection: ``name``, ``protocol``, ``group``, ``users`` (names
    separated by ``;``, a ``;`` or ``\\`` within a name written ``\\;`` or ``\\\\``), then one column per
    parameter name, in the order first met; a connection without that parameter leaves its cell empty.

    Written as Python's ``csv.writer`` (``QUOTE_MINIMAL``, ``\\r\\n``) writes it, but a row's run of empty
    cells is written as its commas at once: a lab of 990 connections with 9,004 parameter names each used
    once took csv 1.1 s for its 8.9 million cells. ``import_size`` counts the same bytes without writing."""
    names, rows = _csv_rows(entries_, _csv_cell)
    out = [",".join([*CSV_HEAD, *(_csv_cell(PARAMETER_COLUMN.format(name)) for name in names)]), "\r\n"]
    for fixed, cells, trailing in rows:
        out += [",".join(fixed), *cells, "," * trailing, "\r\n"]
    return "".join(out).encode("utf-8")


def _csv_rows(entries_: list[dict], cell):
    """The parameter names in column order, and each row as its four fixed cells, then its parameters'
    cells each after the commas that reach its column, then the commas of the empty cells after the last."""
    names = list(dict.fromkeys(name for entry in entries_ for name in entry["parameters"]))
    column = {name: index for index, name in enumerate(names)}
    lists: dict[int, str] = {}
    rows = []
    for entry in entries_:
        users = entry["users"]
        if id(users) not in lists:
            lists[id(users)] = cell(_csv_list(users))
        fixed = [cell(entry["name"]), cell(entry["protocol"]), cell(entry["group"]), lists[id(users)]]
        cells, at = [], -1
        for index, value in sorted((column[name], value) for name, value in entry["parameters"].items()):
            cells += ["," * (index - at), cell(value)]
            at = index
        rows.append((fixed, cells, len(names) - 1 - at))
    return names, rows


def _csv_cell(value: str) -> str:
    """One cell as ``csv.writer`` (QUOTE_MINIMAL) writes it: quoted, its quotes doubled, when it holds the
    delimiter, a quote or a line break."""
    if _CSV_SPECIAL.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


_CSV_SPECIAL = re.compile('[,"\r\n]')


# -- the exact size of each format, counted without writing it -------------------------------------------------

def import_size(entries_: list[dict], format_: str) -> int:
    """The exact size in bytes of ``import_file(entries_, format_)``, counted without writing it: each text's
    size is counted once however many entries hold it, and a ``users`` list shared by entries once."""
    return {"import-json": _json_size, "import-yaml": _yaml_size, "import-csv": _csv_size}[format_](entries_)


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _counter(write) -> dict:
    """A dict that counts, once per text, the UTF-8 bytes ``write`` makes of it."""
    class Sizes(dict):
        def __missing__(self, value):
            size = self[value] = _utf8(write(value))
            return size
    return Sizes()


def _json_size(entries_: list[dict]) -> int:
    if not entries_:
        return 3
    text = _counter(lambda value: json.dumps(value, ensure_ascii=False))
    lists: dict[int, int] = {}
    total = 1  # [
    for entry in entries_:
        users = entry["users"]
        if id(users) not in lists:
            lists[id(users)] = (2 + sum(6 + text[u] for u in users) + 2 * (len(users) - 1) + len(b"\n    ]") if users
                                else 4 if users is None else 2)
        parameters = entry["parameters"]
        total += (len(b'\n  {\n    "name": ') + text[entry["name"]] + len(b',\n    "protocol": ')
                  + text[entry["protocol"]] + len(b',\n    "parameters": ')
                  + (sum(1 + len(b"\n      ") + text[k] + 2 + text[v] for k, v in parameters.items())
                     + len(b"\n    }") if parameters else 2)
                  + len(b',\n    "group": ') + text[entry["group"]] + len(b',\n    "users": ') + lists[id(users)]
                  + len(b"\n  },"))
    return total + 2  # the last entry's "\n  }\n]\n" in place of "\n  },"


def _yaml_size(entries_: list[dict]) -> int:
    if not entries_:
        return 3
    text = _counter(_yaml_text)
    lists: dict[int, int] = {}
    total = 0
    for entry in entries_:
        users = entry["users"]
        if id(users) not in lists:
            lists[id(users)] = sum(5 + text[u] for u in users) if users else 0
        parameters = sum(4 + text[k] + 2 + text[v] + 1 for k, v in entry["parameters"].items())
        total += (len("- name: ") + text[entry["name"]] + len("\n  protocol: ") + text[entry["protocol"]] + 1
                  + (len("  parameters:\n") + parameters if parameters else len("  parameters: {}\n"))
                  + len("  group: ") + text[entry["group"]] + 1
                  + (len("  users:\n") + lists[id(users)] if users else len("  users: []\n")))
    return total


def _csv_size(entries_: list[dict]) -> int:
    size = _counter(_csv_cell)
    names, rows = _csv_rows(entries_, lambda value: value)  # the texts; their cells are counted once each
    total = sum(_utf8(c) for c in CSV_HEAD) + sum(size[PARAMETER_COLUMN.format(n)] for n in names) + len(names) + 3 + 2
    for fixed, cells, trailing in rows:
        total += (sum(size[c] for c in fixed) + 3 + sum(len(c) if i % 2 == 0 else size[c] for i, c in enumerate(cells))
                  + trailing + 2)
    return total


def _csv_list(items: Iterable[str]) -> str:
    """Names separated by ``;``, as the importer's ``splitIdentifiers`` reads them: a ``\\`` takes the next
    character as it is, so ``\\`` and ``;`` within a name are written ``\\\\`` and ``\\;``."""
    return ";".join(_CSV_LIST_ESCAPE.sub(r"\\\g<0>", item) for item in items)


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
    return problems + _importer_problems(lab, entries_) + username_collisions(lab)


def _too_long(what: str) -> str:
    return f"makes {what} name longer than the {LONGEST_NAME} characters Guacamole's database can hold"


# -- what Guacamole's importer would read differently (the module docstring lists it) ------------------------

def _importer_problems(lab: Lab, entries_: list[dict]) -> list[Problem]:
    problems = []
    for user_type in lab.user_types:
        problems += _username_problems(lab, user_type.name, user_type.username)
    for device in lab.device_types:
        problems += _parameter_problems(lab, device)
    return problems + _connection_problems(lab, entries_)


def _username_problems(lab: Lab, user_type: str, numbering: Numbering) -> list[Problem]:
    """A type's usernames are its prefix and numbers (ASCII digits): only the prefix can begin with white
    space or name a member of Object.prototype (none ends in a digit), and only a single name without a
    number can end with white space."""
    path, first = f"users.{user_type}.username_prefix", numbering.name(0)
    prefix = numbering.prefix
    if prefix != prefix.lstrip(JS_SPACE) or (not numbering.counted and prefix != prefix.rstrip(JS_SPACE)):
        return [lab.problem(path, f"makes the username {first!r}, which Guacamole's importer trims to "
                                  f"{first.strip(JS_SPACE)!r} (it removes the white space around every "
                                  f"username): it would create and grant that user instead, where "
                                  f"user-mapping.xml keeps the name as it is; remove the white space")]
    if not numbering.counted and prefix in OBJECT_PROTOTYPE:
        return [lab.problem(path, f"makes the username {first!r}, the name of a member of every JavaScript "
                                  f"object (Object.prototype.{first}): Guacamole's importer counts each "
                                  f"user's connections in a plain JavaScript object, so the whole import "
                                  f"would fail (TypeError: users[identifier].push is not a function); "
                                  f"choose another name")]
    return []


def _parameter_problems(lab: Lab, device: DeviceType) -> list[Problem]:
    problems = []
    options = FORM_OPTIONS.get(device.protocol, {})
    by_mysql_key: dict[str, str] = {}
    for name, value in device.parameters:
        named = _parameter_name_problem(name, device)
        if named:
            problems.append(lab.parameter_problem(device.name, name, named, at_name=True))
        earlier = by_mysql_key.setdefault(mysql_name_key(name), name)
        if earlier != name:
            problems.append(lab.parameter_problem(
                device.name, name, f"and the parameter {earlier!r} are one name to Guacamole's MySQL and MariaDB "
                                   f"database, which keeps a connection's parameters by name regardless of case, "
                                   f"accents and trailing spaces: the import would fail there; keep one of them",
                at_name=True))
        if value is None:  # the generated hostname: no choices, and short
            continue
        if len(value) > LONGEST_VALUE and len(value.encode("utf-16-le")) // 2 > LONGEST_VALUE:
            problems.append(lab.parameter_problem(
                device.name, name, f"is {len(value):,} characters long; Guacamole's database holds at most "
                                   f"{LONGEST_VALUE:,} in a parameter's value (SQL Server; PostgreSQL and MySQL "
                                   f"4,096), so the import would fail"))
        compared = value.strip(JS_SPACE).lower()
        choices = options.get(name)
        if choices and compared in choices and choices[compared] != value:
            problems.append(lab.parameter_problem(
                device.name, name, f"is {quoted(value)}, which Guacamole's importer would store as "
                                   f"{choices[compared]!r}, the choice of its form it matches once trimmed and "
                                   f"lower-cased, where user-mapping.xml gives guacd the value as written; write "
                                   f"{choices[compared]!r} if that is meant"))
        elif choices and compared in _LOWER_CASE_MEMBERS:
            problems.append(lab.parameter_problem(
                device.name, name, f"is {quoted(value)}: Guacamole's importer looks it up among the choices of "
                                   f"its form for {name} in a plain JavaScript object and finds JavaScript's own "
                                   f"Object.prototype.{compared}, so the parameter would be lost or the import "
                                   f"fail"))
    return problems


def _parameter_name_problem(name: str, device: DeviceType) -> str | None:
    """What the importer makes of a parameter's name, in a CSV file's column ``NAME (parameter)`` (whose
    name it trims, and which it cuts at the first mark) and in the plain objects it looks names up in."""
    column = (name + PARAMETER_MARK).strip(JS_SPACE)
    read = column.replace(PARAMETER_MARK, "", 1) if column.endswith(PARAMETER_MARK) else None
    if name != name.lstrip(JS_SPACE):
        twice = (f", and with the parameter {read!r} also given it would refuse the whole file (a column "
                 f"twice)") if read in dict(device.parameters) else ""
        return (f"begins with white space, which Guacamole's importer trims from a CSV file's column names: it "
                f"would import the parameter as {read!r}{twice}; remove the white space" if read else
                "is only white space, which Guacamole's importer trims from a CSV file's column names: it "
                "would refuse the file; name the parameter")
    if read != name:
        return (f"holds {PARAMETER_MARK!r}, which Guacamole's importer reads in a CSV file's column "
                f"{column!r} as the end of the parameter's name: it would import the parameter as {read!r}")
    if name.startswith("$$"):
        return ("begins with '$$': Guacamole's web app leaves names beginning so out when it sends the "
                "imported connections (angular.toJson), so the parameter would be lost")
    if name in OBJECT_PROTOTYPE:
        return (f"names a member of every JavaScript object (Object.prototype.{name}): Guacamole's importer "
                f"looks the value up under it in plain JavaScript objects, which may replace the value (and a "
                f"CSV file loses a parameter named __proto__)")
    return None


def _connection_problems(lab: Lab, entries_: list[dict]) -> list[Problem]:
    """Connection names: blank to Java, naming an Object.prototype member, or misread by the importer's
    check for a connection imported twice (``_lodash_keys``). At most one problem per device type and kind."""
    found: dict[tuple[str, str], Problem] = {}
    keys_of: dict[tuple[str, ...], str] = {}  # each connection's lodash keys: its path
    deep: list[tuple[dict, str, list[str]]] = []
    for entry in entries_:
        name, group = entry["name"], entry["group"]
        device = group.rsplit("/", 1)[1]
        at = f"devices.{device}.name_prefix"
        if not name.strip(_JAVA_SPACE) and (at, "blank") not in found:
            found[at, "blank"] = lab.problem(at, f"makes the connection name {name!r}, which Guacamole's "
                                                 f"database refuses as blank (it trims spaces and control "
                                                 f"characters from names)")
        if name in OBJECT_PROTOTYPE and (at, "member") not in found:
            found[at, "member"] = lab.problem(at, f"makes the connection name {name!r}, the name of a member of "
                                                  f"every JavaScript object: Guacamole's importer looks existing "
                                                  f"connections up by name in a plain JavaScript object, so in a "
                                                  f"group holding any it would take this one for one of them and "
                                                  f"refuse the file; choose another name")
        path = f"{group}/{name}"
        keys = _lodash_keys(path)
        other = keys_of.setdefault(tuple(keys or (path,)), path)
        if other != path and (at, "same") not in found:
            found[at, "same"] = _path_problem(lab, entry, f"the same lodash path as {other!r}", keys or [path])
        if keys is not None:
            deep.append((entry, path, keys))
    for entry, path, keys in deep:  # a path continuing another's, or holding a member of Object.prototype
        at = f"devices.{entry['group'].rsplit('/', 1)[1]}.name_prefix"
        shorter = next((keys_of[tuple(keys[:end])] for end in range(1, len(keys)) if tuple(keys[:end]) in keys_of),
                       None)
        if shorter is not None and (at, "continues") not in found:
            found[at, "continues"] = _path_problem(lab, entry, f"a lodash path that continues {shorter!r}", keys)
        member = next((key for key in keys[1:] if key in OBJECT_PROTOTYPE), None)
        if member is not None and (at, "member path") not in found:
            found[at, "member path"] = _path_problem(
                lab, entry, f"a lodash path with the part {member!r}, a member of every JavaScript object", keys)
    return list(found.values())


def _path_problem(lab: Lab, entry: dict, what: str, keys: list[str]) -> Problem:
    """Placed where the ``.`` or ``[...]`` comes from: the connection's name, else its device type's name,
    else the lab's."""
    group, name = entry["group"], entry["name"]
    device = group.rsplit("/", 1)[1]
    path = f"{group}/{name}"
    message = (f"puts the connection {name!r} at {path!r}, {what}: Guacamole's importer checks for a connection "
               f"imported twice by reading group and name as a lodash path, split at '.' and '[...]' (here "
               f"{keys!r}), so it would take the connection for one already imported and refuse the file, or "
               f"change that connection")
    if any(c in name for c in ".[]"):
        return lab.problem(f"devices.{device}.name_prefix", message)
    if any(c in device for c in ".[]"):
        return lab.problem(f"devices.{device}", message, at_name=True)
    return lab.problem("lab", message)


# lodash 4.17.21's path syntax (_isKey's reIsDeepProp, _stringToPath's rePropName and reEscapeChar), with
# JavaScript's meanings: \d is [0-9], `.` any character but a line terminator, `$` the end of the text.
_LODASH_DEEP = re.compile(r"""\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\[^\n\r\u2028\u2029])*?\1)\]""")
_LODASH_KEY = re.compile(r"""[^.[\]]+"""
                         r"""|\[(?:(-?[0-9]+(?:\.[0-9]+)?)|(["'])((?:(?!\2)[^\\]|\\[^\n\r\u2028\u2029])*?)\2)\]"""
                         r"""|(?=(?:\.|\[\])(?:\.|\[\]|\Z))""")
_LODASH_ESCAPE = re.compile(r"\\(\\)?")


def _lodash_keys(path: str) -> list[str] | None:
    """The keys lodash's ``_.get`` and ``_.setWith`` find in ``path``: None when it is one key (it has no
    ``.`` and no ``[...]``), else the parts ``_stringToPath`` splits it into. (A path of the import begins
    ``ROOT/``, so it is never a key the importer's object already holds, which lodash would take whole.)"""
    if not _LODASH_DEEP.search(path):
        return None
    keys = [""] if path.startswith(".") else []
    for found in _LODASH_KEY.finditer(path):
        number, quote, inner = found.group(1, 2, 3)
        keys.append(_LODASH_ESCAPE.sub(lambda m: m.group(1) or "", inner) if quote else number or found.group())
    return keys
