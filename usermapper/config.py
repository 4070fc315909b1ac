"""Read a lab config: YAML text in, a validated ``Lab`` out, or every mistake found, each with its place.

The YAML is composed into a node tree (never constructed into Python objects wholesale), so every value
keeps the line and column it came from and aliases are never expanded: an alias bomb costs nothing here.
Before composing, the event stream is scanned once to bound nesting depth and alias count, because the
composer recurses and would otherwise fail with a RecursionError on deeply nested input.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterator
from functools import cached_property

import yaml

from . import guacamole, pods, tokens
from .limits import Limits
from .wording import quoted

try:  # libyaml is much faster and keeps marks too; PyYAML's wheels ship it.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - only on PyYAML builds without libyaml
    from yaml import SafeLoader as _Loader

MAX_DEPTH = 12
MAX_ALIASES = 100
# Guacamole's rdp, the protocol with the most, has about 110 parameters; a device type needs no more.
MAX_PARAMETERS = 200
# A merge (<<: *defaults) shares a handful of settings; following a mapping of thousands, many times over,
# would cost more than reading the whole config.
MAX_MERGED_FIELDS = 1000
# Every problem is found, but a trainer reads the first few: the rest are summed up in one line.
MAX_REPORTED = 100
# Suggestions ("did you mean") compare a name with every known one: only the first few names get one.
MAX_SUGGESTIONS = 20
MAX_SUGGESTED_NAME = 40
# Suggestions compare each unknown name with every known one (difflib, quadratic in the names' lengths):
# at most this many comparisons in all, and only for names this long.
MAX_SUGGESTION_PAIRS = 500
# Names are read by people and repeated for every user and connection: a type or field name, a username
# or connection name prefix, and a literal password may be this long (a random one is at most 128).
MAX_NAME_LENGTH = 64
MAX_HOSTNAME_PREFIX_LENGTH = 253  # the longest DNS name
MAX_PASSWORD_LENGTH = 128
RANDOM = "random"
DEFAULT_PASSWORD_LENGTH = 12
PASSWORD_LENGTHS = range(8, 129)
MAX_SUFFIX_DIGITS = 100  # Python refuses to turn more than 4,300 digits into a number

_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# XML 1.0 allows tab, newline, carriage return, U+0020-U+D7FF, U+E000-U+FFFD and U+10000 up: these are the
# rest (listed, not negated: the negated class takes ten times longer to compile). Each is unprintable, so a
# printable value needs no search, and the pattern (1 ms to compile) is compiled, and kept by re, only for
# the first value that is not.
_NOT_XML_CHARACTER = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
_SURROGATE = "[\ud800-\udfff]"  # searched for only in a str (bytes decode to none), compiled then
DEFAULT_LAB_NAME = "usermapper"
MAX_DIGITS = 40  # far above every count's limit, far below the 4,300 digits Python refuses to read
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)")  # a count as people write one
_DOTTED_NUMBERS = re.compile(r"^\d+(\.\d+){1,3}$")

# The records the command line builds (here, in expand, guacamole and pods) are namedtuples, not frozen
# dataclasses: importing dataclasses (it brings inspect, ast, dis and tokenize) and generating each class
# cost a run of the command line about 20 ms, more than reading and writing a classroom's lab. Like the
# dataclasses they were, they are immutable and compare and hash by value; unlike them, they are tuples,
# equal to a plain tuple of the same values: nothing compares a record with anything but its own kind.
# The web app's records (settings, store, compression, web) stay dataclasses: it imports dataclasses anyway.
# A class whose cached_property needs an instance __dict__ leaves out ``__slots__ = ()``.


class Problem(namedtuple("Problem", (
    "path",  # str
    "line",  # int
    "column",  # int
    "message",  # str
))):
    """One mistake (or warning) in a config, at a 1-based line and column; line 0 when it has no place."""

    __slots__ = ()

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.line}:{self.column}: {where}{self.message}"


class ConfigError(ValueError):
    """A config that cannot be used. ``syntax`` is true when it is not even readable YAML (HTTP 400, not 422)."""

    def __init__(self, problems: list[Problem], syntax: bool = False):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
        self.syntax = syntax


class Numbering(namedtuple("Numbering", (
    "prefix",  # str
    "start",  # int
    "width",  # int
    "counted",  # bool, default True
), defaults=(True,))):
    """A prefix and a counter: start 9 with width 2 gives ``prefix09, prefix10, ...``. An empty suffix
    (``counted`` false) numbers nothing: the prefix alone, for a single name."""

    __slots__ = ()

    def name(self, index: int) -> str:
        return f"{self.prefix}{self.number(index)}"

    def number(self, index: int) -> str:
        return f"{self.start + index:0{self.width}d}" if self.counted else ""

    def names(self, count: int) -> list[str]:
        return [self.name(i) for i in range(count)]

    def digits(self, count: int) -> int:
        """How many digits the first ``count`` names hold in all, counted without making them."""
        if not self.counted:
            return 0
        total, first, end = 0, self.start, self.start + count  # numbers first .. end - 1
        while first < end:
            length = len(str(first))
            below_next_length = min(end, 10 ** length)
            total += (below_next_length - first) * max(length, self.width)
            first = below_next_length
        return total


class UserType(namedtuple("UserType", (
    "name",  # str
    "quantity",  # int
    "username",  # Numbering
    "password",  # str | None: None means one random password per user
    "password_length",  # int
    "password_encoding",  # str
    "devices",  # tuple[str, ...] | None: None means every device type
    "all_pods",  # bool, default False: ``pods: all`` reaches every owner's pod devices (an instructor), owns none
), defaults=(False,))):
    __slots__ = ()


class DeviceType(namedtuple("DeviceType", (
    "name",  # str
    "quantity",  # int; for a pod type: per owner
    "connection_name",  # Numbering
    "hostname",  # Numbering | None: None when parameters carry a literal hostname
    "protocol",  # str
    "parameters",  # tuple[tuple[str, str | None], ...]: in config order; None marks the generated hostname
    "per_user",  # bool, default False
    "across_owners",  # bool, default False: a pod type's numbers go on from owner to owner instead of restarting
), defaults=(False, False))):
    """A shared device type (``quantity`` devices every user reaches), or with ``per_user`` a pod type:
    each owner gets ``quantity`` devices of their own, whose prefixes may hold the owner's number."""

    @cached_property
    def name_template(self) -> pods.Template:
        return pods.template(self.connection_name.prefix)

    @cached_property
    def hostname_template(self) -> pods.Template | None:
        return pods.template(self.hostname.prefix) if self.hostname else None

    def first_index(self, owner: int, pod_start: int) -> int:
        """Where an owner's numbers start, counted from the suffix: the k-th owner's block, or 0."""
        return (owner - pod_start) * self.quantity if self.across_owners else 0

    def pod_name(self, owner: int, index: int) -> str:
        """The connection name of an owner's device, ``index`` counted from the suffix."""
        return self.name_template.render(owner) + self.connection_name.number(index)

    def pod_hostname(self, owner: int, index: int) -> str:
        return self.hostname_template.render(owner) + self.hostname.number(index)


class Lab(namedtuple("Lab", (
    "user_types",  # tuple[UserType, ...]
    "device_types",  # tuple[DeviceType, ...]
    "warnings",  # tuple[Problem, ...], default ()
    "pod_start",  # int, default 1: the first owner's number
    "name",  # str, default DEFAULT_LAB_NAME: the top-level ``lab:``, the connection group of a database import
), defaults=((), 1, DEFAULT_LAB_NAME))):

    def device_types_for(self, user_type: UserType) -> tuple[DeviceType, ...]:
        """The device types a user type reaches, in config order."""
        return self._reach[user_type.name][0]

    def first_owner(self, user_type: UserType) -> int | None:
        """The number of the type's first user when its users own pods (the next users count on), else None."""
        return self._owner_numbers.get(user_type.name)

    def owners(self, device: DeviceType) -> tuple[tuple[UserType, int], ...]:
        """The user types owning pods of a pod device type, each with its first owner's number, in order."""
        return self._owners_by_device.get(device.name, ())

    def owner_count(self, device: DeviceType) -> int:
        return self._owner_counts.get(device.name, 0)

    @property
    def has_pods(self) -> bool:
        return any(d.per_user for d in self.device_types)

    @property
    def user_count(self) -> int:
        return sum(u.quantity for u in self.user_types)

    @property
    def device_count(self) -> int:
        """Every device: a pod type's count once per owner."""
        return sum(d.quantity * (self.owner_count(d) if d.per_user else 1) for d in self.device_types)

    @property
    def connection_count(self) -> int:
        return sum(u.quantity * self.connections_per_user(u) for u in self.user_types)

    def connections_per_user(self, user_type: UserType) -> int:
        """Shared devices, the user's own pod devices, and for ``pods: all`` every owner's."""
        shared, own = self._reach[user_type.name][1:]
        return shared + (self._views[id(user_type.devices)] if user_type.all_pods else own)

    @property
    def random_characters(self) -> int:
        """The random password characters the lab asks for: counted before any is drawn."""
        return sum(u.quantity * u.password_length for u in self.user_types if u.password is None)

    @cached_property
    def _reach(self) -> dict[str, tuple[tuple[DeviceType, ...], int, int]]:
        """Each user type's device types and how many shared and pod devices of them one user gets, worked
        out once per distinct ``devices:`` list: user types that alias one anchored list share one answer."""
        by_list: dict[int, tuple[tuple[DeviceType, ...], int, int]] = {}
        reach = {}
        for user_type in self.user_types:
            key = id(user_type.devices)
            if key not in by_list:
                wanted = None if user_type.devices is None else frozenset(user_type.devices)
                devices = tuple(d for d in self.device_types if wanted is None or d.name in wanted)
                by_list[key] = (devices, sum(d.quantity for d in devices if not d.per_user),
                                sum(d.quantity for d in devices if d.per_user))
            reach[user_type.name] = by_list[key]
        return reach

    @cached_property
    def _owner_numbers(self) -> dict[str, int]:
        numbers, next_owner = {}, self.pod_start
        for user_type in self.user_types:
            if not user_type.all_pods and self._reach[user_type.name][2]:
                numbers[user_type.name] = next_owner
                next_owner += user_type.quantity
        return numbers

    @cached_property
    def _owner_counts(self) -> dict[str, int]:
        return {name: sum(u.quantity for u, _ in owners) for name, owners in self._owners_by_device.items()}

    @cached_property
    def _views(self) -> dict[int, int]:
        """How many pod devices a ``pods: all`` user sees, by ``devices:`` list (worked out once per list)."""
        views: dict[int, int] = {}
        for user_type in self.user_types:
            key = id(user_type.devices)
            if user_type.all_pods and key not in views:
                views[key] = sum(d.quantity * self.owner_count(d) for d in self.device_types_for(user_type)
                                 if d.per_user)
        return views

    @cached_property
    def _owners_by_device(self) -> dict[str, tuple[tuple[UserType, int], ...]]:
        owners: dict[str, list] = {}
        for user_type in self.user_types:
            first = self._owner_numbers.get(user_type.name)
            if first is not None:
                for device in self.device_types_for(user_type):
                    if device.per_user:
                        owners.setdefault(device.name, []).append((user_type, first))
        return {name: tuple(found) for name, found in owners.items()}


def read_config(source: str | bytes, limits: Limits = Limits(), *, as_json: bool = False) -> Lab:
    """Parse and validate a config; raise ``ConfigError`` listing every problem found.

    YAML reads JSON too; ``as_json`` (a body sent as ``application/json``) first checks that it is JSON,
    so a broken JSON document is told so in JSON's terms rather than YAML's.
    """
    text = _decode(source, limits)
    _check_line_breaks(text)
    if as_json:
        _check_json(text)
        text = re.sub(_JSON_SURROGATE_PAIR, _yaml_escape, text)
    root = _compose(text, limits)
    if as_json:
        _json_nulls_empty(root)
    reader = _Reader()
    lab = reader.lab(root, limits)
    if reader.problems:
        raise ConfigError(_reported(reader.problems, "problems"))
    return Lab(lab.user_types, lab.device_types, tuple(_reported(reader.warnings, "warnings")), lab.pod_start,
               lab.name)


def _reported(problems: list[Problem], what: str) -> list[Problem]:
    """In line order, the first ``MAX_REPORTED`` and then one line that counts the rest, at the first of
    them: ten thousand copies of one mistake help nobody."""
    ordered = sorted(problems, key=lambda p: (p.line, p.column))
    if len(ordered) <= MAX_REPORTED:
        return ordered
    first_left_out = ordered[MAX_REPORTED]
    rest = len(ordered) - MAX_REPORTED
    return ordered[:MAX_REPORTED] + [Problem(first_left_out.path, first_left_out.line, first_left_out.column,
                                             f"and {rest:,} more {what}, from here on; fix those above first")]


def _decode(source: str | bytes, limits: Limits) -> str:
    size = len(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
    if size > limits.max_config_bytes:
        raise ConfigError([Problem("", 0, 0, f"the config is {size:,} bytes; the largest accepted is "
                                             f"{limits.max_config_bytes:,} bytes")], syntax=True)
    if isinstance(source, str):
        surrogate = re.search(_SURROGATE, source)
        if surrogate:  # possible only in a str from Python, never in decoded bytes; libyaml cannot read it
            line, column = _place(source, surrogate.start())
            raise ConfigError([Problem("", line, column, f"holds the character U+{ord(surrogate.group()):04X}, "
                                                         f"half of a surrogate pair, which is not text")],
                              syntax=True)
        return source
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = _place(source, error.start)
        raise ConfigError([Problem("", line, column, f"the config is not UTF-8 text (byte "
                                                     f"0x{source[error.start]:02x} cannot be read)")],
                          syntax=True) from None


def _compose(text: str, limits: Limits) -> yaml.Node | None:
    try:
        _check_shape(text, limits.max_nodes)
        return yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as error:
        # libyaml gives the offset in the UTF-8 bytes of a character YAML does not allow
        before = text.encode("utf-8")[: error.position].decode("utf-8", "replace")
        line, column = _place(before, len(before))
        raise ConfigError([Problem("", line, column, f"not valid YAML: unacceptable character "
                                                     f"#x{error.character:04x}: {error.reason}")],
                          syntax=True) from None
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(error, text)], syntax=True) from None
    except yaml.YAMLError as error:
        raise ConfigError([Problem("", 0, 0, f"not valid YAML: {error}")], syntax=True) from None


# A JSON escape of a character beyond U+FFFF as its two UTF-16 halves ("\ud83d\ude00", as json.dumps
# writes emoji), after an even number of backslashes; libyaml refuses the halves, and reads "\U0001f600".
_JSON_SURROGATE_PAIR = r"(?i)(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})"  # compiled when used


def _yaml_escape(pair: re.Match) -> str:
    high, low = int(pair.group(2), 16), int(pair.group(3), 16)
    return f"{pair.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def _json_nulls_empty(node: yaml.Node | None) -> None:
    """JSON's ``null`` leaves a value out, as ``~`` does in YAML (where ``null`` is a word, as ``no`` is)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _json_nulls_empty(key)
            _json_nulls_empty(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _json_nulls_empty(item)
    elif _is_null(node) and not node.style:  # plain (libyaml says '', PyYAML None), not a quoted "null"
        node.value = "~"


def _check_line_breaks(text: str) -> None:
    """Refuse the characters YAML 1.1 takes as line breaks and editors do not (NEL, LINE SEPARATOR,
    PARAGRAPH SEPARATOR): every line number YAML gives after one would be off, and in a quoted value YAML
    folds it into a space, so what Guacamole got would not be what the trainer wrote."""
    if not any(character in text for character in _LINE_BREAK_NAMES):
        return
    problems = []
    for found in re.finditer("[\x85\u2028\u2029]", text):
        line, column = _place(text, found.start())
        character = found.group()
        problems.append(Problem("", line, column, f"holds U+{ord(character):04X} ({_LINE_BREAK_NAMES[character]}), "
                                                  f"which YAML reads as a line break although editors show none: "
                                                  f"remove it, or write it as \\u{ord(character):04x} inside "
                                                  f"double quotes"))
        if len(problems) > MAX_REPORTED:
            break
    if problems:
        raise ConfigError(_reported(problems, "problems"), syntax=True)


_LINE_BREAK_NAMES = {"\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def _check_json(text: str) -> None:
    import json  # here, not at the top: only a body sent as JSON needs it

    try:
        json.loads(text, parse_int=len, parse_float=len)  # checked, not used: no digits are converted
    except json.JSONDecodeError as error:
        raise ConfigError([Problem("", error.lineno, error.colno, f"not valid JSON: {error.msg}")],
                          syntax=True) from None
    except RecursionError:
        raise ConfigError([Problem("", 1, 1, f"not valid JSON here: nested more than {MAX_DEPTH} levels deep; "
                                             f"a lab config needs about 5")], syntax=True) from None


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> Problem:
    """libyaml's complaint in words a trainer knows, at the place that helps most to fix it."""
    problem, context = error.problem or "", error.context or ""
    at, opened = error.problem_mark, error.context_mark
    message = f"not valid YAML: {' '.join(part for part in (context, problem) if part)}"
    if problem == "found character that cannot start any token" and at is not None:
        character = text[at.index] if at.index < len(text) else ""
        message = ("a tab character: YAML indents with spaces only (replace the tab with spaces)"
                   if character == "\t" else
                   f"{character!r} cannot start a value: put a value that starts with it in quotes")
    elif context == "while scanning a quoted scalar" and opened is not None:
        message = "this quoted value is never closed: add the closing quote (a ' inside '...' is written '')"
        at = opened
    elif problem.startswith("mapping values are not allowed"):
        message = ("a colon where no value can start: the line above may lack the colon after its name "
                   "(`quantity: 2`, not `quantity 2`), or a value holding ': ' needs quotes")
    elif problem == "did not find expected key" and opened is not None:
        message = (f"this line is indented differently from the mapping it belongs to (line {opened.line + 1}, "
                   f"column {opened.column + 1}): indent it exactly like the names beside it")
    elif problem.startswith("did not find expected ',' or") and opened is not None:
        closing = problem[-2]
        message = (f"the list or mapping opened at line {opened.line + 1}, column {opened.column + 1} is not "
                   f"closed: it needs a {closing!r}, or a ',' between its items")
    elif problem == "found undefined alias":
        message = "an alias (*name) with no anchor (&name) before it"
    elif context.startswith("found duplicate anchor") and opened is not None:
        message = f"this anchor is already defined at line {opened.line + 1}; give each anchor its own name"
    mark = at or opened
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Problem("", line, column, message)


def _check_shape(text: str, max_nodes: int) -> None:
    """Bound nesting, aliases and values before composing: the composer recurses once per level, and
    builds an object of several hundred bytes for every value, so a megabyte of one-letter values would
    take seconds and hundreds of megabytes. The scan stops at the first value past the limit."""
    depth = aliases = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                _refuse_shape(event, f"holds more than {max_nodes:,} values (names, numbers, lists and "
                                     f"mappings); a lab config needs far fewer")
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _READ_TAGS:
                _refuse_shape(event, f"the tag {quoted(tag.replace(_YAML_TAG, '!!'))} is not read here: a lab "
                                     f"config holds only text, numbers, true or false, lists and mappings (remove "
                                     f"the tag)")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                _refuse_shape(event, f"nested more than {MAX_DEPTH} levels deep; a lab config needs about 5")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                _refuse_shape(event, f"more than {MAX_ALIASES} aliases (*name)")


_YAML_TAG = "tag:yaml.org,2002:"
# Explicit tags that say what the value is anyway (``!!str 10`` is the text 10; ``!`` a plain one's text).
_READ_TAGS = frozenset({"!", *(_YAML_TAG + kind for kind in ("str", "int", "bool", "null", "map", "seq"))})


def _place(text: str | bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, offset) + 1, offset - (text.rfind(newline, 0, offset) + 1) + 1


def _refuse_shape(event: yaml.Event, message: str) -> None:
    mark = event.start_mark
    raise ConfigError([Problem("", mark.line + 1, mark.column + 1, message)], syntax=True)


class _Reader:
    """Walks the node tree once, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.nodes: dict[str, yaml.Node] = {}  # each field's value by its path, for checks that come later
        self.suggestions_left = MAX_SUGGESTIONS
        self.pairs_left = MAX_SUGGESTION_PAIRS
        self.device_lists: dict[int, tuple[str, ...] | None] = {}  # by node: an aliased list is read once
        self.declared: dict[str, set[str]] = {}  # the names of the user and device types, read or not
        # An alias repeats a node, perhaps a megabyte long, under many names: what each check finds in a
        # value is worked out once. By node, the character XML cannot carry (None: none); by (protocol,
        # name, value), what guacd makes of it, and by value, what Guacamole's tokens make of it.
        self.forbidden: dict[int, str | None] = {}
        self.guacd_problems: dict[tuple[str, str, str], str | None] = {}
        self.token_problems: dict[str, str | None] = {}

    # -- reporting ---------------------------------------------------------------------------------------

    def refuse(self, path: str, node: yaml.Node, message: str) -> None:
        self.problems.append(_problem(path, node, message))

    def warn(self, path: str, node: yaml.Node, message: str) -> None:
        self.warnings.append(_problem(path, node, message))

    # -- the document ------------------------------------------------------------------------------------

    def lab(self, root: yaml.Node | None, limits: Limits) -> Lab | None:
        if root is None or _is_null(root):
            self.problems.append(Problem("", 1, 1, "the config is empty; it needs `users` and `devices`"))
            return None
        fields = self.mapping("", root, required=("users", "devices"), optional=("pods", "lab"))
        if fields is None:
            return None
        name = self.lab_name(fields.get("lab"))
        users = self.types("users", fields.get("users"), self.user_type, limits)
        devices = self.types("devices", fields.get("devices"), self.device_type, limits)
        # Every check runs on whatever could be read, so one run reports every problem; a type that could
        # not be read is left out of them (its own problems are reported already).
        lab = Lab(tuple(users), tuple(devices), pod_start=self.pod_start(fields.get("pods")), name=name)
        self.check_references(lab)
        self.check_pods(lab)
        self.check_hostnames(lab)
        if self.check_limits(lab, fields, limits):  # names are generated to compare them: only within limits
            self.check_unique_names(lab)
        return lab

    def pod_start(self, node: yaml.Node | None) -> int:
        """``pods: {start: N}``: the first owner's number (default 1)."""
        fields = self.mapping("pods", node, required=(), optional=("start",)) if node is not None else None
        if not fields or "start" not in fields:
            return 1
        start = self.integer("pods.start", fields["start"])
        if start is not None and not 0 <= start < 10 ** MAX_SUFFIX_DIGITS:
            self.refuse("pods.start", fields["start"], f"must be a whole number of at least 0, not {start}")
            return 1
        return 1 if start is None else start

    def lab_name(self, node: yaml.Node | None) -> str:
        """The lab's name: a connection group's name in Guacamole's database, so one line without ``/``."""
        name = self.text("lab", node, MAX_NAME_LENGTH)
        if name is not None and ("/" in name or "\n" in name or "\r" in name or not name.strip()):
            self.refuse("lab", node, "names a connection group: it must be one line of text without '/'")
        return name or DEFAULT_LAB_NAME

    def types(self, path: str, node: yaml.Node | None, read_one: Callable, limits: Limits) -> list:
        if node is None:
            return []
        entries = self.entries(path, node)
        if entries is not None and not node.value:
            self.refuse(path, node, f"needs at least one {path[:-1]} type")
        for key, _ in entries or ():
            self.nodes[f"{path}.{key.value}"] = key
        self.declared[path] = {key.value for key, _ in entries or ()}
        return [t for key, value in entries or ()
                if (t := read_one(f"{path}.{key.value}", key, value, limits))]

    # -- one user type -----------------------------------------------------------------------------------

    def user_type(self, path: str, key: yaml.Node, node: yaml.Node, limits: Limits) -> UserType | None:
        fields = self.mapping(path, node, key=key,
                              required=("quantity", "username_prefix", "username_suffix", "password"),
                              optional=("password_length", "password_encoding", "devices", "pods"))
        if fields is None:
            return None
        password = self.login_text(f"{path}.password", fields.get("password"), MAX_PASSWORD_LENGTH)
        quantity = self.quantity(f"{path}.quantity", fields.get("quantity"))
        user_type = UserType(
            name=key.value,
            quantity=quantity,
            username=self.numbering(path, "username", fields, quantity),
            password=None if password == RANDOM else password,
            password_length=self.password_length(f"{path}.password_length", fields.get("password_length")),
            password_encoding=self.choice(f"{path}.password_encoding", fields.get("password_encoding"),
                                          guacamole.PASSWORD_ENCODINGS, default="plain"),
            devices=self.device_list(f"{path}.devices", fields.get("devices"), limits),
            all_pods=self.choice(f"{path}.pods", fields.get("pods"), ("all",)) == "all",
        )
        return None if None in (user_type.quantity, user_type.username, password) else user_type

    def password_length(self, path: str, node: yaml.Node | None) -> int:
        if node is None:
            return DEFAULT_PASSWORD_LENGTH
        length = self.integer(path, node)
        if length is not None and length not in PASSWORD_LENGTHS:
            self.refuse(path, node, f"must be from {PASSWORD_LENGTHS.start} to {PASSWORD_LENGTHS.stop - 1}")
        return length or DEFAULT_PASSWORD_LENGTH

    def device_list(self, path: str, node: yaml.Node | None, limits: Limits) -> tuple[str, ...] | None:
        if node is None:
            return None
        if id(node) not in self.device_lists:
            self.device_lists[id(node)] = self.read_device_list(path, node, limits)
        return self.device_lists[id(node)]

    def read_device_list(self, path: str, node: yaml.Node, limits: Limits) -> tuple[str, ...] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.refuse(path, node, "must be a list of device types, like [servers, routers]")
            return None
        if not node.value:
            self.refuse(path, node, "lists no device types; leave the field out to reach every device type")
        if len(node.value) > limits.max_devices:
            self.refuse(path, node, f"lists {len(node.value):,} device types; a lab has at most "
                                    f"{limits.max_devices:,}")
            return None
        names = [self.text(f"{path}[{i}]", item, MAX_NAME_LENGTH) for i, item in enumerate(node.value)]
        for index, (item, name) in enumerate(zip(node.value, names)):
            self.nodes[f"{path}[{index}]"] = item
        # as written, like the type names they refer to: `on` stays `on`, not the boolean `true`
        return tuple(item.value for item, name in zip(node.value, names) if name is not None)

    # -- one device type ---------------------------------------------------------------------------------

    def device_type(self, path: str, key: yaml.Node, node: yaml.Node, limits: Limits) -> DeviceType | None:
        fields = self.mapping(path, node, key=key, required=("name_prefix", "name_suffix", "parameters"),
                              optional=("quantity", "per_user", "numbering", "hostname_prefix", "hostname_suffix"))
        if fields is None:
            return None
        per_user = "per_user" in fields
        if per_user == ("quantity" in fields):
            self.refuse(f"{path}.quantity", fields["per_user"] if per_user else key,
                        "and per_user both given: a device type is shared (quantity) or per user (per_user)"
                        if per_user else "is missing (or per_user, for devices each owner has of their own)")
        quantity = self.quantity(f"{path}.{'per_user' if per_user else 'quantity'}",
                                 fields.get("per_user" if per_user else "quantity"))
        numbering = self.choice(f"{path}.numbering", fields.get("numbering"), ("per_owner", "across_owners"),
                                default="per_owner")
        if "numbering" in fields and not per_user:
            self.refuse(f"{path}.numbering", fields["numbering"], "applies only to a per_user device type")
        for field in ("name_prefix", "hostname_prefix"):
            self.check_placeholders(f"{path}.{field}", fields.get(field), per_user)
        connection_name = self.numbering(path, "name", fields, quantity)
        parameters = self.parameters(f"{path}.parameters", fields.get("parameters"))
        if parameters is None:
            return None
        protocol, params = parameters
        hostname, params = self.hostname(path, key, fields, params, quantity)
        if hostname:
            problem = tokens.problem(hostname.prefix)
            if problem:
                self.warn(f"{path}.hostname_prefix", fields["hostname_prefix"], problem)
        if None in (quantity, connection_name, numbering) or hostname is False:
            return None
        return DeviceType(key.value, quantity, connection_name, hostname, protocol, params, per_user,
                          numbering == "across_owners")

    def check_placeholders(self, path: str, node: yaml.Node | None, per_user: bool) -> None:
        """``{pod}`` or ``{pod:02}``, and only where there is an owner."""
        if not isinstance(node, yaml.ScalarNode) or "{pod" not in node.value:
            return
        if pods.malformed(node.value):
            self.refuse(path, node, "writes the owner's number as {pod}, or {pod:02} for two digits "
                                    "zero-padded (widths 1 to 9)")
        elif not per_user:
            self.refuse(path, node, "holds {pod}, the owner's number, but this device type is shared: only a "
                                    "per_user device type has owners")

    def hostname(self, path: str, key: yaml.Node, fields: dict[str, yaml.Node], params: tuple,
                 count: int | None) -> tuple:
        """Where the generated hostname goes: the ``hostname: ~`` slot, or first when the slot is absent.

        Returns (numbering or None, parameters); numbering False when the fields contradict each other.
        """
        literal = dict(params).get("hostname")
        has_numbering = "hostname_prefix" in fields or "hostname_suffix" in fields
        if literal is not None and not has_numbering:
            return None, params
        if literal is not None:
            self.refuse(f"{path}.parameters.hostname", fields["parameters"],
                        "must be ~ when hostname_prefix and hostname_suffix generate the hostnames")
            return False, params
        for name in ("hostname_prefix", "hostname_suffix"):
            if name not in fields:
                self.refuse(f"{path}.{name}", key, "is missing (every device type needs hostname_prefix and "
                                                   "hostname_suffix, or a literal parameters.hostname)")
        numbering = self.numbering(path, "hostname", fields, count) if has_numbering else None
        if numbering is None:
            return False, params
        if "hostname" not in dict(params):
            params = (("hostname", None),) + params
        return numbering, params

    def parameters(self, path: str, node: yaml.Node | None) -> tuple[str, tuple] | None:
        entries = self.entries(path, node) if node is not None else None
        if entries is None:
            return None
        if "protocol" not in (key.value for key, _ in entries):
            self.refuse(f"{path}.protocol", node, "is missing; Guacamole needs one of "
                                                   + ", ".join(guacamole.PROTOCOLS))
            return None
        if len(entries) > MAX_PARAMETERS + 1:
            self.refuse(path, node, f"has {len(entries) - 1:,} parameters besides protocol; a device type may "
                                    f"have at most {MAX_PARAMETERS}")
            return None
        protocol = self.choice(f"{path}.protocol", next(v for k, v in entries if k.value == "protocol"),
                               guacamole.PROTOCOLS)
        known = guacamole.KNOWN_PARAMETERS.get(protocol, frozenset())
        params: list[tuple[str, str | None]] = []
        for key, value in entries:
            name = self.text(f"{path}.<name>", key)
            if name is None or name == "protocol":
                continue
            if not name:
                self.refuse(path, key, "a parameter name cannot be empty")
                continue
            if protocol and name not in known:
                self.warn(f"{path}.{name}", key, f"is not a parameter guacd {guacamole.GUACD_RELEASE} {protocol} "
                                                 f"connections know; it is written as given"
                                                 f"{self.suggest(name, known)}")
            params.append((name, self.parameter_value(f"{path}.{name}", protocol, name, value)))
        return (protocol, tuple(params)) if protocol else None

    def parameter_value(self, path: str, protocol: str | None, name: str, node: yaml.Node) -> str | None:
        """The value as written, but for a parameter guacd reads as a boolean, where every YAML spelling
        of one (``yes``, ``on``, ``True``) becomes the ``true`` or ``false`` guacd needs. A value guacd
        cannot read for its parameter, or one Guacamole's tokens change, is written as given, with a warning.
        """
        if not isinstance(node, yaml.ScalarNode):
            self.refuse(path, node, "must be a single value, not a list or a mapping")
            return ""
        if _is_null(node) and (name == "hostname" or _is_empty(node)):
            if name != "hostname":
                self.refuse(path, node, "has no value (only hostname may be ~, where the generated hostname "
                                        "goes)")
            return None
        value = self.text(path, node)
        if value is None:
            return ""
        if node.tag == _BOOL_TAG:
            truth = _CONSTRUCTOR.bool_values.get(value.lower())
            if truth is None:  # tagged !!bool, but not one of YAML's spellings of a boolean
                self.refuse(path, node, f"must be true or false, not {quoted(value)}")
                return ""
            if guacamole.kind_of(protocol, name) == guacamole.BOOLEAN:
                value = "true" if truth else "false"
        for problem in self.problems_with_value(protocol or "", name, value):
            self.warn(path, node, problem)
        return value

    def problems_with_value(self, protocol: str, name: str, value: str) -> tuple[str, ...]:
        # A colour scheme reads the same for every protocol that has one: weighed once, not once for each.
        key = ("", guacamole.COLOR_SCHEME, value) if guacamole.kind_of(protocol, name) == guacamole.COLOR_SCHEME \
            else (protocol, name, value)
        if key not in self.guacd_problems:
            self.guacd_problems[key] = guacamole.problem_with_value(protocol, name, value)
        if value not in self.token_problems:
            self.token_problems[value] = tokens.problem(value)
        return tuple(problem for problem in (self.guacd_problems[key], self.token_problems[value]) if problem)

    # -- shared field readers ----------------------------------------------------------------------------

    def entries(self, path: str, node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]] | None:
        """The key/value pairs of a mapping, merge keys applied, refusing duplicate and non-text keys."""
        if not isinstance(node, yaml.MappingNode):
            self.refuse(path, node, f"must be a mapping of names to settings, not {_describe(node)}")
            return None
        for key, value in node.value:
            if key.tag == _MERGE_TAG and not all(isinstance(s, yaml.MappingNode) for s in _merge_sources(value)):
                self.refuse(f"{path}.<<", value, "can only merge mappings, like <<: *defaults")
        try:
            flattened = _flattened(node)
        except _TooManyMerged:
            self.refuse(f"{path}.<<", node, f"merges more than {MAX_MERGED_FIELDS:,} fields into one mapping")
            return None
        seen: dict[str, yaml.Node] = {}
        entries = []
        for key, value in flattened:
            if not isinstance(key, yaml.ScalarNode) or _is_null(key):
                self.refuse(path, key, "keys must be names")
            elif len(key.value) > MAX_NAME_LENGTH:
                self.refuse(path, key, f"the name {quoted(key.value)} is longer than the {MAX_NAME_LENGTH} "
                                       f"characters a name may have")
            elif key.value in seen:
                self.refuse(f"{path}.{key.value}", key,
                            f"appears twice (first on line {seen[key.value].start_mark.line + 1})")
            else:
                seen[key.value] = key
                entries.append((key, value))
        return entries

    def mapping(self, path: str, node: yaml.Node, required: tuple[str, ...], optional: tuple[str, ...],
                key: yaml.Node | None = None) -> dict[str, yaml.Node] | None:
        """The fields of a mapping by name; missing required fields are reported at the mapping's key."""
        entries = self.entries(path or "config", node)
        if entries is None:
            return None
        fields = {k.value: v for k, v in entries}
        for name, value in fields.items():
            self.nodes[_join(path, name)] = value
        allowed = required + optional
        for k, _ in entries:
            if k.value not in allowed:
                self.refuse(_join(path, k.value), k, f"is not a field here{self.suggest(k.value, allowed)}; "
                                                     f"expected {', '.join(allowed)}")
        for name in required:
            if name not in fields:
                self.refuse(_join(path, name), key or node, "is missing")
        return fields

    def quantity(self, path: str, node: yaml.Node | None) -> int | None:
        value = self.integer(path, node) if node is not None else None
        if value is not None and value < 1:
            self.refuse(path, node, f"must be a whole number of at least 1, not {value}")
            return None
        return value

    def integer(self, path: str, node: yaml.Node) -> int | None:
        """A whole number in plain decimal digits. YAML 1.1 also reads ``010`` as 8 (octal), ``1:20`` as 80
        (base 60), ``0x10``, ``0b101`` and ``1_000``: a count written so is refused, saying what YAML makes
        of it, rather than taken as a number the trainer did not write."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG:
            if _DECIMAL.fullmatch(node.value):
                if len(node.value) <= MAX_DIGITS:
                    return int(node.value)
                self.refuse(path, node, f"is a number of {len(node.value):,} digits; no limit here reaches "
                                        f"{MAX_DIGITS} digits")
                return None
            try:
                read = yaml.SafeLoader.construct_yaml_int(_CONSTRUCTOR, node)
            except (ValueError, IndexError):  # tagged !!int but not a number, or too many digits
                read = None
            if read is not None and len(node.value) <= MAX_NAME_LENGTH:
                self.refuse(path, node, f"must be written in plain decimal digits: YAML reads "
                                        f"{quoted(node.value)} as {read:,}; write {read} if that is meant")
                return None
        self.refuse(path, node, f"must be a whole number, not {_describe(node)}")
        return None

    def numbering(self, path: str, field: str, fields: dict[str, yaml.Node],
                  count: int | None) -> Numbering | None:
        """A prefix and suffix; an empty suffix (``''``) numbers nothing, so it is only for ``count`` 1."""
        read = self.login_text if field == "username" else self.text
        longest = MAX_HOSTNAME_PREFIX_LENGTH if field == "hostname" else MAX_NAME_LENGTH
        prefix = read(f"{path}.{field}_prefix", fields.get(f"{field}_prefix"), longest)
        suffix_node = fields.get(f"{field}_suffix")
        suffix = self.text(f"{path}.{field}_suffix", suffix_node)
        if suffix == "" and count is not None and count > 1:
            self.refuse(f"{path}.{field}_suffix", suffix_node, f"is empty, which numbers nothing: all {count:,} "
                                                               f"would have the same {field}; write a start "
                                                               f"number like '1'")
            return None
        if suffix == "":
            return None if prefix is None else Numbering(prefix, 0, 0, counted=False)
        if suffix is not None and not (suffix.isascii() and suffix.isdigit()):
            self.refuse(f"{path}.{field}_suffix", suffix_node,
                        f"must be the number to start counting from, written in digits like '01', not "
                        f"{quoted(suffix)}")
            return None
        if suffix is not None and len(suffix) > MAX_SUFFIX_DIGITS:
            self.refuse(f"{path}.{field}_suffix", suffix_node,
                        f"has {len(suffix):,} digits; the most a suffix may have is {MAX_SUFFIX_DIGITS}")
            return None
        if prefix is None or suffix is None:
            return None
        return Numbering(prefix, int(suffix), len(suffix))

    def text(self, path: str, node: yaml.Node | None, longest: int | None = None) -> str | None:
        """A scalar as the text the trainer wrote: ``3389`` stays ``3389``, ``010`` stays ``010``, ``no``
        stays ``no`` and ``null`` stays ``null``: YAML 1.1 would read those as a number, a boolean or
        nothing, but a name or a password is the word itself. Only an empty value, or ``~``, is no value.
        A name repeated for every user or connection may be at most ``longest`` characters long."""
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or _is_empty(node):
            self.refuse(path, node, f"must be a single value, not {_describe(node)}")
            return None
        value = node.value
        if longest is not None and len(value) > longest:
            self.refuse(path, node, f"is {len(value):,} characters long; the most it may have is {longest}")
            return None
        if id(node) not in self.forbidden:
            bad = None if value.isprintable() else re.search(_NOT_XML_CHARACTER, value)
            self.forbidden[id(node)] = bad.group() if bad else None
        bad = self.forbidden[id(node)]
        if bad:
            self.refuse(path, node, f"holds the character U+{ord(bad):04X}, which an XML file cannot carry")
            return None
        return value

    def login_text(self, path: str, node: yaml.Node | None, longest: int) -> str | None:
        """A username's or password's text: a browser's login form cannot send a line break."""
        value = self.text(path, node, longest)
        if value is not None and ("\n" in value or "\r" in value):
            self.refuse(path, node, "holds a line break, which a browser's login form cannot send: nobody could "
                                    "log in with it")
            return None
        return value

    def choice(self, path: str, node: yaml.Node | None, choices: tuple[str, ...], default: str = "") -> str | None:
        if node is None:
            return default
        value = self.text(path, node)
        if value is not None and value not in choices:
            self.refuse(path, node, f"must be one of {', '.join(choices)}, not {quoted(value)}"
                                    f"{self.suggest(value, choices)}")
            return None
        return value

    # -- checks across types -----------------------------------------------------------------------------

    def check_references(self, lab: Lab) -> None:
        known = self.declared.get("devices", set())
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
            for name, indexes in unknown.items():
                path = f"users.{user_type.name}.devices[{indexes[0]}]"
                again = f" (listed {len(indexes):,} times)" if len(indexes) > 1 else ""
                self.refuse(path, self.nodes[path], f"{quoted(name)} is not a device type{again}"
                                                    f"{self.suggest(name, known)}{listed}")

    def check_pods(self, lab: Lab) -> None:
        """Pod shapes that cannot work: a pod type nobody owns, owners all on one host, an instructor with
        no pods to reach."""
        for device in lab.device_types:
            if not device.per_user:
                continue
            path = f"devices.{device.name}"
            owners = lab.owner_count(device)
            if owners == 0:
                self.refuse(f"{path}.per_user", self.nodes[f"{path}.per_user"],
                            "no user owns these devices: list the type in a user type's devices (a user type "
                            "with pods: all only views pods)")
            elif owners > 1 and (device.hostname is None or not pods.has_placeholder(device.hostname.prefix)
                                 and not (device.across_owners and device.hostname.counted)):
                field = "hostname_prefix" if device.hostname else "parameters"
                self.refuse(f"{path}.{field}", self.nodes[f"{path}.{field}"],
                            f"every one of the {owners:,} owners would reach the same hosts: put the owner's "
                            f"number in hostname_prefix ({{pod}}), or set numbering: across_owners")
        for user_type in lab.user_types:
            if user_type.all_pods and not any(d.per_user for d in lab.device_types_for(user_type)):
                path = f"users.{user_type.name}.pods"
                self.refuse(path, self.nodes[path], "this user type reaches no per_user device type, so there "
                                                    "are no pods to see")

    def check_limits(self, lab: Lab, fields: dict[str, yaml.Node], limits: Limits) -> bool:
        """True when the lab is within the limits."""
        within = True
        counts = (("users", lab.user_count, limits.max_users, "users"),
                  ("devices", lab.device_count, limits.max_devices, "devices"),
                  ("users", lab.connection_count, limits.max_connections, "connections"))
        for field, count, limit, what in counts:
            if count > limit:
                within = False
                self.refuse(field, fields[field],
                            f"the lab has {count:,} {what}; the most one file may hold is {limit:,}")
        if lab.random_characters > limits.max_random_characters:
            within = False
            self.refuse("users", fields["users"],
                        f"the random passwords would take {lab.random_characters:,} characters; the most one "
                        f"file may ask for is {limits.max_random_characters:,} (fewer users or a shorter "
                        f"password_length)")
        return within

    def check_unique_names(self, lab: Lab) -> None:
        """Guacamole silently keeps only the last of two equal usernames or connection names. A pod type's
        names are every owner's (each once); an instructor's list is checked as it will be written."""
        self.check_unique("users", "username", ((u.name, u.username.names(u.quantity)) for u in lab.user_types))
        self.check_unique("devices", "name", ((d.name, _device_names(lab, d)) for d in lab.device_types))
        checked: set[tuple[str, ...]] = set()  # two lists of the same device types make the same names
        for user_type in lab.user_types:
            reached = tuple(d.name for d in lab.device_types_for(user_type)) if user_type.all_pods else None
            if reached is not None and reached not in checked:
                checked.add(reached)
                self.check_instructor_names(lab, user_type)

    def check_instructor_names(self, lab: Lab, user_type: UserType) -> None:
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
                    self.refuse(path, self.nodes[path], f"this user type's list would hold {quoted(name)} "
                                                        f"twice; Guacamole would keep only one of them")
                    return
                seen.add(name)

    def check_unique(self, section: str, field: str, names_by_type: Iterator[tuple[str, list[str]]]) -> None:
        owner: dict[str, str] = {}
        for type_name, names in names_by_type:
            clashes = [n for n in names if n in owner]
            if clashes:
                shown = ", ".join(clashes[:3]) + (", ..." if len(clashes) > 3 else "")
                path = f"{section}.{type_name}.{field}_prefix"
                self.refuse(path, self.nodes[path],
                            f"{section} {owner[clashes[0]]!r} and {type_name!r} both generate {shown}; "
                            f"Guacamole would keep only one of them")
            owner.update((n, type_name) for n in names)

    def check_hostnames(self, lab: Lab) -> None:
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
                if _DOTTED_NUMBERS.match(host) and any(int(octet) > 255 for octet in host.split(".")):
                    path = f"devices.{device.name}.{field}"
                    self.refuse(path, self.nodes[path],
                                f"generates {host}{owner}, which is not an IPv4 address (each part goes up "
                                f"to 255); lower the {'pod start' if field == 'hostname_prefix' else 'suffix'}"
                                f" or the quantity")
                    break

    def suggest(self, name: str, choices) -> str:
        """" (did you mean 'x'?)" for a name close to one of ``choices``; nothing once the budget is spent."""
        choices = list(choices)
        if self.suggestions_left <= 0 or len(name) > MAX_SUGGESTED_NAME or len(choices) > self.pairs_left:
            return ""
        self.suggestions_left -= 1
        self.pairs_left -= len(choices)
        import difflib  # here, not at the top: only a mistyped name needs it

        close = difflib.get_close_matches(name, choices, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""


_CONSTRUCTOR = yaml.SafeLoader("")


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
            yield f"{username} {device.pod_name(owner, first + i)}"


def _extreme_pod_hostnames(lab: Lab, device: DeviceType) -> list[tuple[str, str]]:
    """The first and last hostname of the first and the last owner, each with ``for <username>``."""
    owners = lab.owners(device)
    if not owners:
        return []
    (first_type, first), (last_type, last_first) = owners[0], owners[-1]
    ends = [(first_type, 0, first), (last_type, last_type.quantity - 1, last_first + last_type.quantity - 1)]
    hosts = []
    for user_type, index, owner in ends:
        start = device.first_index(owner, lab.pod_start)
        for i in (start, start + device.quantity - 1):
            hosts.append((device.pod_hostname(owner, i), f" for {user_type.username.name(index)}"))
    return hosts


def _problem(path: str, node: yaml.Node, message: str) -> Problem:
    mark = node.start_mark
    return Problem(path, mark.line + 1, mark.column + 1, message)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _is_empty(node: yaml.Node) -> bool:
    """Nothing written, or ``~``: the ways to leave a value out. ``null`` is a word, as ``no`` is."""
    return _is_null(node) and node.value in ("", "~")


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if _is_null(node):
        return "an empty value"
    return quoted(node.value)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _TooManyMerged(Exception):
    """A mapping's merges (<<) bring in more than MAX_MERGED_FIELDS fields."""


def _flattened(node: yaml.MappingNode, followed: set[int] | None = None) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs with YAML merge keys (``<<: *defaults``) applied, as YAML defines them: the
    mapping's own keys win, then each merged mapping's in the order listed. Trainers use merges to share
    one device type's parameters with another. Each mapping is followed once: the first time it is met
    its keys take their place, and meeting it again (merged into itself, or the same mapping merged
    along many paths, which would otherwise cost 2**n for n mappings that each merge the last twice)
    could add none that are not there already."""
    followed = set() if followed is None else followed
    followed.add(id(node))
    own = [(key, value) for key, value in node.value if key.tag != _MERGE_TAG]
    if len(own) == len(node.value):
        return own
    names = {_identity(key) for key, _ in own}
    merged = []
    for key, value in node.value:
        if key.tag != _MERGE_TAG:
            continue
        for source in _merge_sources(value):
            if not isinstance(source, yaml.MappingNode) or id(source) in followed:
                continue
            for inner_key, inner_value in _flattened(source, followed):
                if _identity(inner_key) not in names:
                    names.add(_identity(inner_key))
                    merged.append((inner_key, inner_value))
            if len(merged) > MAX_MERGED_FIELDS:
                raise _TooManyMerged
    return merged + own


def _identity(key: yaml.Node) -> object:
    """What makes two keys the same key: a name's text; a list or mapping used as a key (refused later) is
    only ever itself."""
    return key.value if isinstance(key, yaml.ScalarNode) else id(key)


def _merge_sources(value: yaml.Node) -> list[yaml.Node]:
    return list(value.value) if isinstance(value, yaml.SequenceNode) else [value]


