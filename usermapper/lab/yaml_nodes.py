"""YAML text in, a node tree out: every value keeps the line and column it was written at.

The YAML is composed into nodes, never constructed into Python objects wholesale, so aliases are never
expanded (an alias bomb costs nothing here) and every later problem can name its place. Nesting, aliases
and values are bounded before the composer works for them (it recurses once per level and builds objects
for every value): a config that may hold a tag, or more values than the limit, has its event stream
scanned first; any other is composed at once, its cost bounded by libyaml's count of its events, and its
tree checked.
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter

import yaml

from ..wording import quoted
from .model import ConfigError, Problem

try:  # libyaml is much faster and keeps marks too; PyYAML's wheels ship it.
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - only on PyYAML builds without libyaml
    from yaml import SafeLoader as Loader


class _ComposingLoader(Loader):
    """The loader that composes a config: libyaml's, whose one step in Python for each value is the choice of
    its tag. PyYAML's ``resolve`` tries a list of regular expressions on a plain value, picked by its first
    character; here a plain value whose first character starts no implicit tag (most names: ``pcs``,
    ``q1_2``, ``enable-...``) is text at once, as ``resolve`` finds, and any other value is resolved once per
    distinct text (a config repeats ``1``, ``true``, ``'1'``): resolving took 15-25 ms of composing the
    largest configs, a tenth of checking them. The safe loaders have no implicit resolver for every first
    character and no path resolvers, which would make the first character not enough."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        if implicit[0] and value and value[0] not in _STARTS_A_TAG:
            return self.DEFAULT_SCALAR_TAG
        key = (value, implicit)
        if key not in self._resolved:
            self._resolved[key] = super().resolve(kind, value, implicit)
        return self._resolved[key]


_STARTS_A_TAG = frozenset(Loader.yaml_implicit_resolvers)  # the first characters of YAML's bools, numbers, nulls
assert None not in _STARTS_A_TAG and not Loader.yaml_path_resolvers  # see _ComposingLoader

MAX_DEPTH = 12
MAX_ALIASES = 100
# A merge (<<: *defaults) shares a handful of settings; following a mapping of thousands, many times over,
# would cost more than reading the whole config.
MAX_MERGED_FIELDS = 1000
# Every problem is found, but a trainer reads the first few: the rest are summed up in one line.
MAX_REPORTED = 100

INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
SURROGATE = re.compile("[\ud800-\udfff]")


def parse(source: str | bytes, max_bytes: int, max_nodes: int, *, as_json: bool = False) -> yaml.Node | None:
    """The config's node tree, or a ``ConfigError`` (``syntax`` true) saying where it cannot be read.

    YAML reads JSON too; ``as_json`` (a body sent as ``application/json``) first checks that it is JSON,
    so a broken JSON document is told so in JSON's terms rather than YAML's.
    """
    text = decode(source, max_bytes)
    check_line_breaks(text)
    if as_json:
        check_json(text)
        text = JSON_SURROGATE_PAIR.sub(yaml_escape, text)
    root = compose(text, max_nodes)
    if as_json:
        json_nulls_empty(root)
    return root


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while a node tree lives: each value is about seven objects (the node,
    its two marks, their dicts, a mapping's pairs), and every pass of the collector walks the whole tree
    again; it took 35-45% of the CPU time of checking the largest configs (bench/bench_hostile.py). Nothing
    is lost: a cycle made meanwhile (an alias inside its own anchor, ``&a [*a]``) is collected once the
    last config being read in any thread is read."""
    global _readers
    with _readers_lock:
        _readers += 1
        gc.disable()
    try:
        yield
    finally:
        with _readers_lock:
            _readers -= 1
            if _readers == 0:
                gc.enable()


_readers = 0  # the configs being read at once, in any thread
_readers_lock = threading.Lock()


def reported(problems: list[Problem], what: str) -> list[Problem]:
    """In line order, the first ``MAX_REPORTED`` and then one line that counts the rest, at the first of
    them: ten thousand copies of one mistake help nobody."""
    ordered = sorted(problems, key=lambda p: (p.line, p.column))
    return _first_reported(ordered[:MAX_REPORTED + 1], len(ordered), what)


# A problem as the config reader finds it: (line, column, path, message).
Found = tuple[int, int, str, str]


def reported_found(found: list[Found], what: str) -> list[Problem]:
    """``reported`` of problems kept as the reader finds them, a ``Problem`` made only for each one reported:
    a config can make thousands (an unknown parameter's name in every device type), and making them took
    15 ms of checking many-unknown-long-names (9,552 warnings, 101 reported)."""
    ordered = sorted(found, key=itemgetter(0, 1))  # stable, as ``reported``'s sort: in the order found
    first = [Problem(path, line, column, message) for line, column, path, message in ordered[:MAX_REPORTED + 1]]
    return _first_reported(first, len(ordered), what)


def found_at(path: str, node: yaml.Node, message: str) -> Found:
    mark = node.start_mark
    return mark.line + 1, mark.column + 1, path, message


def _first_reported(first: list[Problem], count: int, what: str) -> list[Problem]:
    """The first ``MAX_REPORTED`` of ``count`` problems in line order and, when there are more, one line that
    counts the rest, at the first of them (``first`` holds one more than those reported, if there is one)."""
    if count <= MAX_REPORTED:
        return first
    first_left_out = first[MAX_REPORTED]
    rest = count - MAX_REPORTED
    return first[:MAX_REPORTED] + [Problem(first_left_out.path, first_left_out.line, first_left_out.column,
                                           f"and {rest:,} more {what}, from here on; fix those above first")]


def decode(source: str | bytes, max_bytes: int) -> str:
    size = len(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
    if size > max_bytes:
        raise ConfigError([Problem("", 0, 0, f"the config is {size:,} bytes; the largest accepted is "
                                             f"{max_bytes:,} bytes")], syntax=True)
    if isinstance(source, str):
        surrogate = SURROGATE.search(source)
        if surrogate:  # possible only in a str from Python, never in decoded bytes; libyaml cannot read it
            line, column = place(source, surrogate.start())
            raise ConfigError([Problem("", line, column, f"holds the character U+{ord(surrogate.group()):04X}, "
                                                         f"half of a surrogate pair, which is not text")],
                              syntax=True)
        return source
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = place(source, error.start)
        raise ConfigError([Problem("", line, column, f"the config is not UTF-8 text (byte "
                                                     f"0x{source[error.start]:02x} cannot be read)")],
                          syntax=True) from None


def compose(text: str, max_nodes: int) -> yaml.Node | None:
    """The tree, its bounds checked as ``_check_shape`` checks them. A config that may hold aliases is
    composed first too, but refused by the scan: its refusals name the alias (``*name``) where the tree
    holds only the anchored value, and a composer's error (an undefined alias) comes after them."""
    try:
        if _may_tag_or_overflow(text, max_nodes):
            _check_shape(text, max_nodes)
            return yaml.compose(text, Loader=_ComposingLoader)
        aliased = "*" in text
        try:
            root = yaml.compose(text, Loader=_ComposingLoader)
        except yaml.YAMLError:
            if aliased:
                _check_shape(text, max_nodes)
            raise
        refused = _check_tree(root, max_nodes, aliased)
        if refused:
            if aliased:
                _check_shape(text, max_nodes)
            _refuse_node(*refused)
        return root
    except yaml.reader.ReaderError as error:
        # libyaml gives the offset in the UTF-8 bytes of a character YAML does not allow
        before = text.encode("utf-8")[: error.position].decode("utf-8", "replace")
        line, column = place(before, len(before))
        raise ConfigError([Problem("", line, column, f"not valid YAML: unacceptable character "
                                                     f"#x{error.character:04x}: {error.reason}")],
                          syntax=True) from None
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(error, text)], syntax=True) from None
    except yaml.YAMLError as error:
        raise ConfigError([Problem("", 0, 0, f"not valid YAML: {error}")], syntax=True) from None


# A JSON escape of a character beyond U+FFFF as its two UTF-16 halves ("\ud83d\ude00", as json.dumps
# writes emoji), after an even number of backslashes; libyaml refuses the halves, and reads "\U0001f600".
JSON_SURROGATE_PAIR = re.compile(r"(?i)(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def yaml_escape(pair: re.Match) -> str:
    high, low = int(pair.group(2), 16), int(pair.group(3), 16)
    return f"{pair.group(1)}\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def json_nulls_empty(node: yaml.Node | None) -> None:
    """JSON's ``null`` leaves a value out, as ``~`` does in YAML (where ``null`` is a word, as ``no`` is)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            json_nulls_empty(key)
            json_nulls_empty(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            json_nulls_empty(item)
    elif is_null(node) and not node.style:  # plain (libyaml says '', PyYAML None), not a quoted "null"
        node.value = "~"


def check_line_breaks(text: str) -> None:
    """Refuse the characters YAML 1.1 takes as line breaks and editors do not (NEL, LINE SEPARATOR,
    PARAGRAPH SEPARATOR): every line number YAML gives after one would be off, and in a quoted value YAML
    folds it into a space, so what Guacamole got would not be what the trainer wrote."""
    if not any(character in text for character in _LINE_BREAK_NAMES):
        return
    problems = []
    for found in re.finditer("[\x85\u2028\u2029]", text):
        line, column = place(text, found.start())
        character = found.group()
        problems.append(Problem("", line, column, f"holds U+{ord(character):04X} ({_LINE_BREAK_NAMES[character]}), "
                                                  f"which YAML reads as a line break although editors show none: "
                                                  f"remove it, or write it as \\u{ord(character):04x} inside "
                                                  f"double quotes"))
        if len(problems) > MAX_REPORTED:
            break
    if problems:
        raise ConfigError(reported(problems, "problems"), syntax=True)


_LINE_BREAK_NAMES = {"\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


def check_json(text: str) -> None:
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
    for event in yaml.parse(text, Loader=Loader):
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                _refuse_shape(event, _too_many_values(max_nodes))
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in _READ_TAGS:
                _refuse_shape(event, f"the tag {quoted(tag.replace(_YAML_TAG, '!!'))} is not read here: a lab "
                                     f"config holds only text, numbers, true or false, lists and mappings (remove "
                                     f"the tag)")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                _refuse_shape(event, _TOO_DEEP)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                _refuse_shape(event, _too_many_aliases())


def _may_tag_or_overflow(text: str, max_nodes: int) -> bool:
    """Whether the config needs ``_check_shape``'s scan of its events before it is composed: it may hold a
    tag (a ``!`` anywhere: a tree does not tell ``!!str 10`` from ``'10'``), or libyaml counts more events
    than ``max_nodes`` values and their ends make, or cannot read it (the scan says where, in its words).
    Otherwise composing costs no more than a config within the limits does (aliases are not expanded, and
    libyaml itself refuses nesting past 1,000 levels), and ``_check_tree`` checks the tree: libyaml's count
    of events, made in C, costs a sixth of the scan, whose event objects took 15% of checking the largest
    configs (and 30 ms of the 0.17 s check of aliased-devices-list, when every aliased config was scanned)."""
    if "!" in text:
        return True
    loader = Loader(text)
    try:
        return loader.raw_parse() > 2 * max_nodes + _STREAM_EVENTS
    except yaml.YAMLError:
        return True
    finally:
        loader.dispose()


_STREAM_EVENTS = 4  # the stream's and the document's start and end


def _check_tree(root: yaml.Node | None, max_nodes: int, aliased: bool) -> tuple[yaml.Node, str] | None:
    """``_check_shape``'s bounds on a composed tree without tags: the first node past one, with what to say,
    or None. Node by node in the order they are written, so the first past a limit is the one the scan
    would refuse (for an alias, the value it repeats). In an ``aliased`` tree (one whose text holds a ``*``)
    an alias is the anchored node met again: it counts once, as its event does, and is not followed (nor is
    its nesting counted), as the scan does not."""
    pending = [] if root is None else [(root, 1)]
    nodes = aliases = 0
    seen: set[yaml.Node] = set()  # nodes hash by identity; kept only for an aliased tree (2 ms of 20,000 nodes)
    while pending:
        node, level = pending.pop()
        nodes += 1
        if nodes > max_nodes:
            return node, _too_many_values(max_nodes)
        if aliased:
            if node in seen:
                aliases += 1
                if aliases > MAX_ALIASES:
                    return node, _too_many_aliases()
                continue
            seen.add(node)
        if isinstance(node, yaml.ScalarNode):
            continue
        if level > MAX_DEPTH:
            return node, _TOO_DEEP
        children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        pending += ((child, level + 1) for child in reversed(children))
    return None


def _too_many_values(max_nodes: int) -> str:
    return (f"holds more than {max_nodes:,} values (names, numbers, lists and mappings); a lab config needs far "
            f"fewer")


def _too_many_aliases() -> str:
    return f"more than {MAX_ALIASES} aliases (*name)"


_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; a lab config needs about 5"
_YAML_TAG = "tag:yaml.org,2002:"
# Explicit tags that say what the value is anyway (``!!str 10`` is the text 10; ``!`` a plain one's text).
_READ_TAGS = frozenset({"!", *(_YAML_TAG + kind for kind in ("str", "int", "bool", "null", "map", "seq"))})


def place(text: str | bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column of ``offset`` in ``text``."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline, 0, offset) + 1, offset - (text.rfind(newline, 0, offset) + 1) + 1


def _refuse_shape(event: yaml.Event, message: str) -> None:
    mark = event.start_mark
    raise ConfigError([Problem("", mark.line + 1, mark.column + 1, message)], syntax=True)


def _refuse_node(node: yaml.Node, message: str) -> None:
    raise ConfigError([problem_at("", node, message)], syntax=True)


def problem_at(path: str, node: yaml.Node, message: str) -> Problem:
    mark = node.start_mark
    return Problem(path, mark.line + 1, mark.column + 1, message)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def is_empty(node: yaml.Node) -> bool:
    """Nothing written, or ``~``: the ways to leave a value out. ``null`` is a word, as ``no`` is."""
    return is_null(node) and node.value in ("", "~")


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "an empty value"
    return quoted(node.value)


class TooManyMerged(Exception):
    """A mapping's merges (<<) bring in more than MAX_MERGED_FIELDS fields."""


def flattened(node: yaml.MappingNode, followed: set[int] | None = None) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's pairs with YAML merge keys (``<<: *defaults``) applied, as YAML defines them: the
    mapping's own keys win, then each merged mapping's in the order listed. Trainers use merges to share
    one device type's parameters with another. Each mapping is followed once: the first time it is met
    its keys take their place, and meeting it again (merged into itself, or the same mapping merged
    along many paths, which would otherwise cost 2**n for n mappings that each merge the last twice)
    could add none that are not there already."""
    followed = set() if followed is None else followed
    followed.add(id(node))
    own = [(key, value) for key, value in node.value if key.tag != MERGE_TAG]
    if len(own) == len(node.value):
        return own
    names = {_identity(key) for key, _ in own}
    merged = []
    for key, value in node.value:
        if key.tag != MERGE_TAG:
            continue
        for source in merge_sources(value):
            if not isinstance(source, yaml.MappingNode) or id(source) in followed:
                continue
            for inner_key, inner_value in flattened(source, followed):
                if _identity(inner_key) not in names:
                    names.add(_identity(inner_key))
                    merged.append((inner_key, inner_value))
            if len(merged) > MAX_MERGED_FIELDS:
                raise TooManyMerged
    return merged + own


def _identity(key: yaml.Node) -> object:
    """What makes two keys the same key: a name's text; a list or mapping used as a key (refused later) is
    only ever itself."""
    return key.value if isinstance(key, yaml.ScalarNode) else id(key)


def merge_sources(value: yaml.Node) -> list[yaml.Node]:
    return list(value.value) if isinstance(value, yaml.SequenceNode) else [value]
