"""What Guacamole 1.6.0's connection import cannot carry as the lab says it, found before any import file is
written: each is a problem at the field's place, for every format alike.

Guacamole's importer (its web app's ``import`` module, 1.6.0) does not always store what a file says.
What it would change, ``import_files`` writes so that it reads back exactly where the format has a
faithful escape (a ``\\`` or ``;`` in a CSV list of users, which its ``splitIdentifiers`` reads back);
the rest is refused here:

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

import re

from ..lab.expand import UserMapping
from ..lab.model import DeviceType, Lab, Numbering, Problem
from ..wording import quoted
from .mysql_names import mysql_name_key, username_collisions

# Guacamole's schema: connection, connection group and entity (user) names are VARCHAR(128), and MySQL's
# default collation compares them case-insensitively, so two names differing only in case collide there
# (for usernames, see username_collisions).
LONGEST_NAME = 128

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

# A value longer than this once trimmed matches no option and no member (lower-casing never shortens a text),
# so it is not lower-cased: a megabyte-long colour scheme aliased by 90 device types was, 91 times (60 ms).
_LONGEST_CHOICE = max(len(text) for options in FORM_OPTIONS.values() for field in options.values()
                      for text in [*field, *_LOWER_CASE_MEMBERS])


# -- what the import cannot carry ----------------------------------------------------------------------------

def import_problems(lab: Lab, mapping: UserMapping, entries_: list[dict]) -> list[Problem]:
    """Everything that refuses the lab for the import, in every format."""
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
        # A character beyond U+FFFF is two UTF-16 code units: only a value over half the limit can be too long.
        if len(value) > LONGEST_VALUE // 2 and (units := len(value.encode("utf-16-le")) // 2) > LONGEST_VALUE:
            counted = f" ({units:,} UTF-16 code units, as SQL Server counts)" if units != len(value) else ""
            problems.append(lab.parameter_problem(
                device.name, name, f"is {len(value):,} characters long{counted}; Guacamole's database holds at "
                                   f"most {LONGEST_VALUE:,} in a parameter's value (SQL Server; PostgreSQL and "
                                   f"MySQL 4,096 characters), so the import would fail"))
        choices = options.get(name)
        trimmed = value.strip(JS_SPACE)
        if not choices or len(trimmed) > _LONGEST_CHOICE:
            continue
        compared = trimmed.lower()
        if compared in choices and choices[compared] != value:
            problems.append(lab.parameter_problem(
                device.name, name, f"is {quoted(value)}, which Guacamole's importer would store as "
                                   f"{choices[compared]!r}, the choice of its form it matches once trimmed and "
                                   f"lower-cased, where user-mapping.xml gives guacd the value as written; write "
                                   f"{choices[compared]!r} if that is meant"))
        elif compared in _LOWER_CASE_MEMBERS:
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
