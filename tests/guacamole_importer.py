"""Guacamole 1.6.0's connection import (Settings > Connections > Import), re-implemented for tests.

Like ``guacamole_reader`` for ``user-mapping.xml``, this is written by hand from reading the source at
apache/guacamole-client tag ``1.6.0``, never copied from it:

* ``guacamole/src/main/frontend/src/app/import/controllers/importConnectionsController.js``:
  ``handleFiles`` reads the file with ``FileReader.readAsText`` (UTF-8, a byte-order mark dropped);
  ``handleParseSuccess`` sends the connections, ``createUsersAndGroups`` creates every user named
  (``Object.keys(parseResult.users)``) and ``grantConnectionPermissions`` grants each its connections;
* ``import/services/connectionParseService.js``: ``parseJSON`` (``JSON.parse``), ``parseYAML`` (the ``yaml``
  package's ``parse``), ``parseCSV`` (``csv-parse`` with ``skip_empty_lines``); ``parseConnectionData``, which
  refuses the whole file if any connection has an error and keeps ``users`` in a plain JavaScript object
  (``users[identifier].push(index)``); ``getFieldTransformer``, which checks the protocol and name, trims
  every username (``String(user).trim()``) and replaces a parameter's value by the option of the protocol's
  form it matches once lower-cased and trimmed (``getProtocolParameterOptions``: ``_.mapKeys(options,
  option => option.trim().toLowerCase())``, looked up with ``_.get(protocols, [protocol, name, value])``);
  ``getTreeTransformer``, which finds the group and refuses a connection whose ``group + '/' + name`` it has
  seen (``_.get`` / ``_.setWith`` on ``connectionsInFile`` with that string as a lodash path) or that
  exists already (``_.get(connectionIdsByGroupAndName, [parentIdentifier, name])``);
* ``import/services/connectionCSVService.js``: ``getCSVTransformer`` trims each header, refuses a header
  seen before (``headerSet[header]``, a plain object), reads ``name``, ``protocol``, ``group``,
  ``parentIdentifier``, ``users``, ``groups``, ``X (parameter)`` and ``X (attribute)`` (the name is the
  header with the first `` (parameter)`` removed), keeps only non-empty cells (``if (type && name &&
  value)``, set with ``values[type][name] = value``); ``splitIdentifiers`` splits a list at ``;``, a ``\\``
  taking the next character as it is, and drops empty names;
* ``import/types/ImportConnection.js``; ``rest/services/authenticationService.js`` and angular 1.8.3's
  ``$http``, which sends the connections as ``angular.toJson`` writes them (a key beginning ``$$`` is
  left out);
* ``guacamole-ext/src/main/resources/org/apache/guacamole/protocols/*.json``: each protocol's fields and
  the options they offer (``FORMS`` below);
* the versions its ``package-lock.json`` pins: csv-parse 5.5.6 (``lib/api/index.js``: ``csv_parse``
  below), yaml 2.5.0 (YAML 1.2, core schema), lodash 4.17.21 (``_stringToPath``, ``_isKey``, ``_baseGet``,
  ``_baseSet``: ``lodash_path``, ``_get``, ``_set_with`` below);
* ``extensions/guacamole-auth-jdbc``'s ``ConnectionService.getParameterModels``: a parameter with an empty
  value is not stored.

``read`` gives, per username, the connections Guacamole would store and grant, with their parameters.
It raises ``Rejected`` where the importer refuses the file (nothing imported), ``Failed`` where it stops
with a JavaScript error, and ``Unmodelled`` where a lookup reaches JavaScript's own objects
(``Object.prototype`` and the like), whose outcome this model does not follow: in every such case the
import does not hold what the file says. Every group the file names is taken to exist (step 1 of the
import in docs/guacamole.md), holding the connections of ``existing`` (none by default).
"""

from __future__ import annotations

import json
import re

from ruamel.yaml import YAML
from ruamel.yaml.reader import Reader

# ECMAScript's WhiteSpace and LineTerminator: what String.prototype.trim removes.
JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
            "\u2028\u2029\u202f\u205f\u3000\ufeff")
# The members of Object.prototype: every plain JavaScript object seems to hold them.
OBJECT_PROTOTYPE = frozenset({
    "constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
    "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
    "toLocaleString"})

# Each protocol's form fields (protocols/<protocol>.json, connectionForms) with the options they offer:
# None for a field without options. BOOLEAN fields offer "true" (and the empty option every list has).
_BOOLEAN = ("true",)
_FONT_SIZES = ("8", "9", "10", "11", "12", "14", "18", "24", "30", "36", "48", "60", "72", "96")
_TERMINAL_TYPES = ("xterm", "xterm-256color", "vt220", "vt100", "ansi", "linux")
_SCHEMES = ("black-white", "gray-black", "green-black", "white-black")
_WOL = {"wol-send-packet": _BOOLEAN, "wol-mac-addr": None, "wol-broadcast-addr": None, "wol-udp-port": None,
        "wol-wait-time": None}
_RECORDING = {"recording-path": None, "recording-name": None, "recording-exclude-output": _BOOLEAN,
              "recording-exclude-mouse": _BOOLEAN, "recording-include-keys": _BOOLEAN,
              "create-recording-path": _BOOLEAN, "recording-write-existing": _BOOLEAN}
_TYPESCRIPT = {"typescript-path": None, "typescript-name": None, "create-typescript-path": _BOOLEAN,
               "typescript-write-existing": _BOOLEAN}
_TERMINAL = {"font-name": None, "font-size": _FONT_SIZES, "color-scheme": _SCHEMES, "scrollback": None,
             "backspace": ("127", "8")}
_SFTP = {"enable-sftp": _BOOLEAN, "sftp-hostname": None, "sftp-port": None, "sftp-timeout": None,
         "sftp-host-key": None, "sftp-username": None, "sftp-password": None, "sftp-private-key": None,
         "sftp-passphrase": None, "sftp-public-key": None, "sftp-directory": None, "sftp-root-directory": None,
         "sftp-server-alive-interval": None, "sftp-disable-download": _BOOLEAN, "sftp-disable-upload": _BOOLEAN}
FORMS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "rdp": {
        "hostname": None, "port": None, "timeout": None, "username": None, "password": None, "domain": None,
        "security": ("rdp", "tls", "nla", "vmconnect", "any"), "disable-auth": _BOOLEAN,
        "ignore-cert": _BOOLEAN, "cert-tofu": _BOOLEAN, "cert-fingerprints": None,
        "gateway-hostname": None, "gateway-port": None, "gateway-username": None, "gateway-password": None,
        "gateway-domain": None, "initial-program": None, "client-name": None,
        "server-layout": ("cs-cz-qwertz", "de-ch-qwertz", "de-de-qwertz", "en-gb-qwerty", "en-us-qwerty",
                          "es-es-qwerty", "es-latam-qwerty", "failsafe", "fr-be-azerty", "fr-fr-azerty",
                          "fr-ca-qwerty", "fr-ch-qwertz", "hu-hu-qwertz", "it-it-qwerty", "ja-jp-qwerty",
                          "no-no-qwerty", "pl-pl-qwerty", "pt-br-qwerty", "pt-pt-qwerty", "ro-ro-qwerty",
                          "sv-se-qwerty", "da-dk-qwerty", "tr-tr-qwerty"),
        "timezone": None, "enable-touch": _BOOLEAN, "console": _BOOLEAN, "width": None, "height": None,
        "dpi": None, "color-depth": ("8", "16", "24", "32"), "force-lossless": _BOOLEAN,
        "resize-method": ("reconnect", "display-update"), "read-only": _BOOLEAN,
        "normalize-clipboard": ("preserve", "unix", "windows"), "disable-copy": _BOOLEAN,
        "disable-paste": _BOOLEAN, "console-audio": _BOOLEAN, "disable-audio": _BOOLEAN,
        "enable-audio-input": _BOOLEAN, "enable-printing": _BOOLEAN, "printer-name": None,
        "enable-drive": _BOOLEAN, "drive-name": None, "drive-path": None, "create-drive-path": _BOOLEAN,
        "disable-download": _BOOLEAN, "disable-upload": _BOOLEAN, "static-channels": None,
        "enable-wallpaper": _BOOLEAN, "enable-theming": _BOOLEAN, "enable-font-smoothing": _BOOLEAN,
        "enable-full-window-drag": _BOOLEAN, "enable-desktop-composition": _BOOLEAN,
        "enable-menu-animations": _BOOLEAN, "disable-bitmap-caching": _BOOLEAN,
        "disable-offscreen-caching": _BOOLEAN, "disable-glyph-caching": _BOOLEAN, "disable-gfx": _BOOLEAN,
        "remote-app": None, "remote-app-dir": None, "remote-app-args": None, "preconnection-id": None,
        "preconnection-blob": None, "load-balance-info": None, **_RECORDING,
        "recording-exclude-touch": _BOOLEAN, **_SFTP, **_WOL},
    "vnc": {
        "hostname": None, "port": None, "username": None, "password": None,
        "read-only": _BOOLEAN, "disable-server-input": _BOOLEAN, "disable-display-resize": _BOOLEAN,
        "swap-red-blue": _BOOLEAN, "cursor": ("local", "remote"), "color-depth": ("8", "16", "24", "32"),
        "force-lossless": _BOOLEAN, "compress-level": tuple("0123456789"),
        "quality-level": tuple("0123456789"), "encodings": None,
        "clipboard-encoding": ("ISO8859-1", "UTF-8", "UTF-16", "CP1252"), "dest-host": None,
        "dest-port": None, "disable-copy": _BOOLEAN, "disable-paste": _BOOLEAN, **_RECORDING,
        **{k: v for k, v in _SFTP.items() if k != "sftp-host-key"}, "sftp-host-key": None,
        "enable-audio": _BOOLEAN, "audio-servername": None, **_WOL},
    "ssh": {
        "hostname": None, "port": None, "host-key": None, "timeout": None, "server-alive-interval": None,
        "username": None,
        "password": None, "private-key": None, "passphrase": None, "public-key": None, **_TERMINAL,
        "read-only": _BOOLEAN, "disable-copy": _BOOLEAN, "disable-paste": _BOOLEAN,
        "terminal-type": _TERMINAL_TYPES, "command": None, "locale": None, "timezone": None,
        **_TYPESCRIPT, **_RECORDING, "enable-sftp": _BOOLEAN, "sftp-root-directory": None,
        "sftp-disable-download": _BOOLEAN, "sftp-disable-upload": _BOOLEAN, **_WOL},
    "telnet": {
        "hostname": None, "port": None, "timeout": None, "username": None, "username-regex": None,
        "password": None,
        "password-regex": None, "login-success-regex": None, "login-failure-regex": None, **_TERMINAL,
        "read-only": _BOOLEAN, "disable-copy": _BOOLEAN, "disable-paste": _BOOLEAN,
        "terminal-type": _TERMINAL_TYPES, **_TYPESCRIPT, **_RECORDING, **_WOL},
    "kubernetes": {
        "hostname": None, "port": None, "namespace": None, "pod": None, "container": None,
        "exec-command": None, "use-ssl": _BOOLEAN, "client-cert": None, "client-key": None, "ca-cert": None,
        "ignore-cert": _BOOLEAN, **_TERMINAL, "read-only": _BOOLEAN, **_TYPESCRIPT, **_RECORDING},
}
# What getProtocolParameterOptions makes of them: each option by its trimmed, lower-cased self (the
# empty option every list offers included, under '').
_OPTIONS = {protocol: {name: None if options is None else {"": "", **{o.strip(JS_SPACE).lower(): o for o in options}}
                       for name, options in fields.items()}
            for protocol, fields in FORMS.items()}

PARAMETER_SUFFIX = " (parameter)"
ATTRIBUTE_SUFFIX = " (attribute)"


class Rejected(ValueError):
    """The importer refuses the whole file: nothing is imported."""


class Failed(RuntimeError):
    """The import stops with a JavaScript error."""


class Unmodelled(RuntimeError):
    """A lookup reaches JavaScript's own objects: what the importer then stores is not what the file says."""


def js_trim(text: str) -> str:
    return text.strip(JS_SPACE)


def read(data: bytes, format_: str, existing: dict[str, set[str]] | None = None,
         ) -> dict[str, dict[tuple[str, str], tuple[str, dict[str, str]]]]:
    """``{username: {(group path, connection name): (protocol, {parameter: value})}}`` as Guacamole stores
    and grants them; ``format_`` is ``import-json``, ``import-yaml`` or ``import-csv``."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")  # FileReader.readAsText
    if format_ == "import-csv":
        rows = csv_parse(text)
        connections = [_csv_connection(row, rows[0]) for row in rows[1:]] if rows else None
        if rows:
            _check_header(rows[0])
    else:
        try:
            parsed = json.loads(text) if format_ == "import-json" else _yaml(text)
        except Exception as error:  # noqa: BLE001 - any parse error refuses the file
            raise Rejected(f"parse failure: {error}") from None
        if not isinstance(parsed, list):
            raise Rejected("Import data must be a list of connections")
        connections = [_import_connection(item) for item in parsed]
    if not connections:
        raise Rejected("The provided file is empty")
    return _import(connections, existing or {})


# -- csv-parse 5.5.6, with the importer's one option, skip_empty_lines ----------------------------------------

def csv_parse(text: str) -> list[list[str]]:
    """The records csv-parse 5.5.6 reads (``lib/api/index.js``'s ``parse``): ``,`` between fields; a field
    that begins with ``"`` is quoted, ``""`` in it is one ``"``, and its closing quote must be followed by
    ``,``, the record delimiter or the end; a ``"`` anywhere else is an error. The record delimiter is the
    first of ``\\r\\n``, ``\\n`` or ``\\r`` met outside quotes, and only it ends a record; empty lines are
    skipped; every record must have as many fields as the first."""
    records: list[list[str]] = []
    record: list[str] = []
    field: list[str] = []
    quoting = was_quoting = False
    delimiter = None
    expected = None
    i, end = 0, len(text)

    def close_field() -> None:
        nonlocal was_quoting
        record.append("".join(field))
        field.clear()
        was_quoting = False

    def close_record() -> None:
        nonlocal expected
        if expected is None:
            expected = len(record)
        elif len(record) != expected:
            raise Rejected(f"CSV Parse Failure: Invalid Record Length: expect {expected}, got {len(record)}")
        records.append(list(record))
        record.clear()

    while i < end:
        if not quoting and delimiter is None:
            delimiter = next((d for d in ("\r\n", "\n", "\r") if text.startswith(d, i)), None)
        char = text[i]
        if quoting:
            if char == '"':
                if text.startswith('""', i):  # an escaped quote: the second one is kept
                    field.append('"')
                    i += 2
                    continue
                after = text[i + 1:i + 2]
                if delimiter is None:  # the record delimiter may be found right after a closing quote
                    delimiter = next((d for d in ("\r\n", "\n", "\r") if text.startswith(d, i + 1)), None)
                # (csv-parse tests the next byte's truth: a NUL after a quote closes it too)
                if after in ("", ",", "\x00") or (delimiter and text.startswith(delimiter, i + 1)):
                    quoting, was_quoting = False, True
                    i += 1
                    continue
                raise Rejected(f"CSV Parse Failure: Invalid Closing Quote: got {after!r}")
            field.append(char)
            i += 1
            continue
        if char == '"':
            if field:
                raise Rejected("CSV Parse Failure: Invalid Opening Quote")
            quoting = True
            i += 1
            continue
        if delimiter and text.startswith(delimiter, i):
            if not (not was_quoting and not record and not field):  # skip_empty_lines
                close_field()
                close_record()
            i += len(delimiter)
            continue
        if char == ",":
            close_field()
            i += 1
            continue
        field.append(char)
        i += 1
    if quoting:
        raise Rejected("CSV Parse Failure: Quote Not Closed")
    if was_quoting or record or field:
        close_field()
        close_record()
    return records


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for raw in header:
        name = js_trim(raw)
        if name in seen or name in OBJECT_PROTOTYPE:  # headerSet[header] is a plain object
            raise Rejected(f"Duplicate CSV Header: {name}")
        seen.add(name)
    if "name" not in seen:
        raise Rejected("The connection name must be provided")
    if "protocol" not in seen:
        raise Rejected("The connection protocol must be provided")


def _csv_connection(row: list[str], header: list[str]) -> dict:
    connection = {"name": None, "protocol": None, "group": None, "parentIdentifier": None, "users": [],
                  "groups": [], "parameters": {}, "attributes": {}, "errors": []}
    for raw, cell in zip(header, row):
        name = js_trim(raw)
        if name in ("name", "protocol", "group", "parentIdentifier"):
            connection[name] = cell
        elif name in ("users", "groups"):
            connection[name] = split_identifiers(cell)
        elif name.endswith((PARAMETER_SUFFIX, ATTRIBUTE_SUFFIX)):
            kind = "parameters" if name.endswith(PARAMETER_SUFFIX) else "attributes"
            key = name.replace(PARAMETER_SUFFIX if kind == "parameters" else ATTRIBUTE_SUFFIX, "", 1)
            if key and cell and key != "__proto__":  # values[type]['__proto__'] = 'x' sets nothing
                connection[kind][key] = cell
        elif cell:
            # A header without a suffix is a parameter or an attribute according to the data source's
            # attributes and the protocol's fields; usermapper never writes one.
            raise Unmodelled(f"the header {name!r} is resolved against the data source's attributes")
    return connection


def split_identifiers(raw: str) -> list[str]:
    """``splitIdentifiers``: ``;`` separates; ``\\`` takes the next character as it is; empty names dropped."""
    names, escaped = [""], False
    for char in raw:
        if not escaped and char == "\\":
            escaped = True
        elif not escaped and char == ";":
            names.append("")
        else:
            names[-1] += char
            escaped = False
    return [name for name in names if name]


# -- yaml 2.5.0 and JSON ------------------------------------------------------------------------------------

class _AnyCharacterReader(Reader):
    """yaml 2.5.0 reads every character as it comes, where ruamel.yaml refuses those YAML calls
    non-printable (U+007F, most of U+0080 to U+009F)."""

    def check_printable(self, data) -> None:
        pass


def _yaml(text: str):
    """YAML 1.2 with the core schema, which yaml 2.5.0's ``parse`` reads by default (ruamel.yaml's safe
    loader reads 1.2 too; a file mixing the schemas' differences, which usermapper never writes, is not
    modelled)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    yaml.Reader = _AnyCharacterReader
    return yaml.load(text)


def _import_connection(item) -> dict:
    """``new ImportConnection(data)``: the fields the importer reads, with its defaults."""
    if not isinstance(item, dict):
        raise Unmodelled(f"a connection that is not a mapping: {item!r}")
    return {"name": item.get("name"), "protocol": item.get("protocol"), "group": item.get("group"),
            "parentIdentifier": item.get("parentIdentifier"), "users": item.get("users") or [],
            "groups": item.get("groups") or [], "parameters": item.get("parameters") or {},
            "attributes": item.get("attributes") or {}, "errors": []}


def js_string(value) -> str:
    """``String(value)`` for what JSON and YAML give."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    raise Unmodelled(f"String() of {value!r}")


# -- the transforms and the import --------------------------------------------------------------------------

def _import(connections: list[dict], existing: dict[str, set[str]]):
    in_file = _JSObject()  # connectionsInFile
    existing_ids = _JSObject()  # connectionIdsByGroupAndName, keyed by group path here
    for group, names in existing.items():
        for name in names:
            _set_with(existing_ids, [group, name], "existing")
    users: dict[str, list[int]] = {}
    errors = []
    for index, connection in enumerate(connections):
        _transform_fields(connection)
        _transform_tree(connection, in_file, existing_ids)
        errors += connection["errors"]
        for identifier in connection["users"]:
            if identifier in OBJECT_PROTOTYPE:  # users[identifier] is Object.prototype's, not a list
                raise Failed("TypeError: users[identifier].push is not a function")
            users.setdefault(identifier, []).append(index)
        for identifier in connection["groups"]:  # the same for user groups, which usermapper never names
            if js_string(identifier) in OBJECT_PROTOTYPE:
                raise Failed("TypeError: groups[identifier].push is not a function")
    if errors:
        raise Rejected("; ".join(errors))
    stored = [_stored(connection) for connection in connections]
    for username in users:  # UserService refuses a blank username, and PostgreSQL's column holds 128
        if not username.strip("".join(map(chr, range(0x21)))) or len(username) > 128:
            raise Rejected(f"database: the username {username!r} is blank or too long")
    return {username: {stored[i][0]: stored[i][1] for i in indices} for username, indices in users.items()}


def _transform_fields(connection: dict) -> None:
    """``getFieldTransformer``."""
    protocol = connection["protocol"]
    if not protocol:
        connection["errors"].append("Missing required protocol field")
    if protocol is not None and not isinstance(protocol, str):
        raise Unmodelled(f"a protocol that is not text: {protocol!r}")
    if protocol in OBJECT_PROTOTYPE:
        raise Unmodelled(f"the protocol {protocol!r} is looked up in a plain object")
    if protocol not in FORMS:
        connection["errors"].append(f"Invalid protocol: {protocol}")
    if not connection["name"]:
        connection["errors"].append("Missing required name field")
    users = connection["users"]
    if not isinstance(users, list):
        connection["errors"].append("Invalid users list - must be an array")
        connection["users"] = []
    else:
        connection["users"] = [js_trim(js_string(user)) for user in users]
    if protocol not in FORMS:
        return
    fields = _OPTIONS[protocol]
    parameters = connection["parameters"]
    if not isinstance(parameters, dict):
        raise Unmodelled(f"parameters that are not a mapping: {parameters!r}")
    for name, value in list(parameters.items()):
        if value is None:
            continue
        text = js_string(value)
        compared = js_trim(text).lower()
        if name in fields:
            options = fields[name]
            if options is not None and compared in options:
                parameters[name] = options[compared] or text  # the empty option is no match
            elif options is not None and compared in ("constructor", "__proto__"):
                raise Unmodelled(f"{name}: {text!r} is looked up in the options' plain object")
            else:
                parameters[name] = text
        elif name in OBJECT_PROTOTYPE:
            raise Unmodelled(f"the parameter {name!r} is looked up in the fields' plain object")
        else:
            parameters[name] = text


def _transform_tree(connection: dict, in_file: _JSObject, existing_ids: _JSObject) -> None:
    """``getTreeTransformer``, for a file naming groups by path; every group it names exists."""
    if connection["parentIdentifier"] and connection["group"]:
        connection["errors"].append("Only one of group or parentIdentifier can be set")
        return
    if connection["parentIdentifier"]:
        raise Unmodelled("a parentIdentifier")
    group = connection["group"]
    if group:
        if not isinstance(group, str):
            connection["errors"].append("Invalid group type - must be a string")
            return
        if group.startswith("/"):
            group = "ROOT" + group
        elif not group.startswith("ROOT"):
            group = "ROOT/" + group
        group = group.removesuffix("/")
    else:
        group = "ROOT"
    path = f"{group}/{connection['name']}"
    if _truthy(_get(in_file, path)):
        connection["errors"].append(f"Duplicate connection in file: {path}")
    # What is set is the connection as the field transforms left it (an ImportConnection: these own
    # properties, its group as the file wrote it); the import goes on with a copy holding the group's path.
    _set_with(in_file, path, _JSObject({**connection, "identifier": None, "importMode": "CREATE"},
                                       kind="connection"))
    if _truthy(_get(existing_ids, [group, js_string(connection["name"])])):
        connection["errors"].append(f"Rejecting update to existing connection: {path}")
    connection["group"] = group


def _stored(connection: dict) -> tuple[tuple[str, str], tuple[str, dict[str, str]]]:
    """What the REST call sends (``angular.toJson``) and the database keeps: ``ConnectionService`` refuses
    a blank name (Java's ``trim()``) and stores only non-empty values, in PostgreSQL's columns (128
    characters for a name, 4,096 for a value; other databases compare and hold names differently)."""
    name = connection["name"]
    if not name.strip("".join(map(chr, range(0x21)))):
        raise Rejected("database: Connection names must not be blank.")
    parameters = {}
    for key, value in connection["parameters"].items():
        if key.startswith("$$"):  # angular.toJson leaves such keys out
            continue
        if not isinstance(value, str | None):
            raise Unmodelled(f"the parameter {key!r} holds {value!r}")
        if value is None or value == "":
            continue
        if len(key) > 128 or len(value) > 4096:
            raise Rejected(f"database: value too long for the parameter {key!r}")
        parameters[key] = value
    if len(name) > 128:
        raise Rejected(f"database: value too long for the connection name {name!r}")
    return (connection["group"], name), (connection["protocol"], parameters)


# -- lodash 4.17.21's paths, on a model of JavaScript objects -------------------------------------------------

# _stringToPath's rePropName and _isKey's reIsDeepProp, with JavaScript's meaning: \d is [0-9], `.` is any
# character but a line terminator, `$` is the end of the text.
_NOT_TERMINATOR = "[^\n\r\u2028\u2029]"
_PROP_NAME = re.compile(r"""[^.[\]]+|\[(?:(-?[0-9]+(?:\.[0-9]+)?)|(["'])((?:(?!\2)[^\\]|\\""" + _NOT_TERMINATOR
                        + r""")*?)\2)\]|(?=(?:\.|\[\])(?:\.|\[\]|\Z))""")
_DEEP = re.compile(r"""\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\""" + _NOT_TERMINATOR + r""")*?\1)\]""")
_PLAIN = re.compile(r"[A-Za-z0-9_]*\Z")
_ESCAPE = re.compile(r"\\(\\)?")


def lodash_path(path: str, root: _JSObject | None = None) -> list[str]:
    """``castPath(path, root)``: the path as one key, or split as ``_stringToPath`` splits it."""
    if _PLAIN.match(path) or not _DEEP.search(path) or (root is not None and (path in root.own
                                                                               or path in OBJECT_PROTOTYPE)):
        return [path]
    keys = [""] if path.startswith(".") else []
    for found in _PROP_NAME.finditer(path):
        number, quote, inner = found.group(1), found.group(2), found.group(3)
        keys.append(_ESCAPE.sub(lambda m: m.group(1) or "", inner) if quote else (number or found.group(0)))
    return keys


class _JSObject:
    """A plain JavaScript object (or, ``kind`` "connection", an ImportConnection): its own properties."""

    def __init__(self, own: dict | None = None, kind: str = "plain"):
        self.own = own if own is not None else {}
        self.kind = kind


class _Builtin:
    """One of JavaScript's own objects, reached through a prototype: truthy, and not followed further."""

    def __init__(self, what: str):
        self.what = what


_UNDEFINED = object()


def _truthy(value) -> bool:
    """JavaScript's truthiness of what ``_get`` returns."""
    if isinstance(value, (_JSObject, _Builtin, list, dict)):
        return True
    if isinstance(value, (bool, int, float)):
        return bool(value)
    return value is not _UNDEFINED and value is not None and value != ""


def _property(value, key: str):
    if isinstance(value, _JSObject):
        if key in value.own:
            found = value.own[key]
            return _JSObject(found) if isinstance(found, dict) and value.kind == "connection" else found
        if key in OBJECT_PROTOTYPE or (value.kind == "connection" and key == "constructor"):
            return _Builtin(f"Object.prototype.{key}")
        return _UNDEFINED
    if isinstance(value, str):
        if key == "length":
            return len(value.encode("utf-16-le")) // 2
        if key.isascii() and key.isdigit() and str(int(key)) == key:
            units = value.encode("utf-16-le")
            at = int(key)
            return units[2 * at:2 * at + 2].decode("utf-16-le", errors="replace") if 2 * at < len(units) \
                else _UNDEFINED
        raise Unmodelled(f"the property {key!r} of a string")
    raise Unmodelled(f"the property {key!r} of {getattr(value, 'what', type(value).__name__)}")


def _get(root: _JSObject, path) -> object:
    """``_.get(root, path)`` (``baseGet``)."""
    keys = path if isinstance(path, list) else lodash_path(path, root)
    value = root
    for index, key in enumerate(keys):
        if value is _UNDEFINED or value is None:
            return _UNDEFINED
        if isinstance(value, _Builtin):
            raise Unmodelled(f"the lookup of {key!r} in {value.what}")
        value = _property(value, key)
    return value


def _set_with(root: _JSObject, path, value) -> None:
    """``_.setWith(root, path, value, Object)`` (``baseSet``): stops at ``__proto__``, ``constructor`` and
    ``prototype``; a missing level becomes a new plain object. A connection set earlier is the object the
    field transforms returned, which the import no longer reads but for the objects it shares with it (its
    parameters, attributes and lists): what is set on it changes the import only through those."""
    keys = path if isinstance(path, list) else lodash_path(path, root)
    nested = root
    for index, key in enumerate(keys):
        if key in ("__proto__", "constructor", "prototype"):
            return
        if not isinstance(nested, _JSObject):
            raise Unmodelled(f"the import sets {key!r} on {getattr(nested, 'what', 'a JavaScript value')}")
        if index == len(keys) - 1:
            nested.own[key] = value
            return
        current = nested.own.get(key)
        if isinstance(current, dict):  # a connection's parameters or attributes: shared with the import
            current = _JSObject(current)
        elif current is None:  # undefined (or an own property holding undefined): Object() makes {}
            if key in OBJECT_PROTOTYPE or (nested.kind == "connection" and key == "constructor"):
                raise Unmodelled(f"the import sets a property of Object.prototype.{key}")
            current = nested.own[key] = _JSObject()
        elif not isinstance(current, _JSObject):
            raise Unmodelled(f"the import sets a property of {current!r}")
        nested = current
