"""Reading single fields from the node tree: a mapping's fields, a name, a count, a choice, a numbering.

Each reader returns the value, or None after recording a problem at the field's place, so one pass over
the config reports every mistake. Names and counts are read as the trainer wrote them, never as YAML 1.1
would read them (``010`` stays the text ``010``; ``no`` stays ``no``).
"""

from __future__ import annotations

import difflib
import re

import yaml

from ..wording import quoted
from .model import Numbering
from .yaml_nodes import (
    INT_TAG,
    MAX_MERGED_FIELDS,
    MERGE_TAG,
    Found,
    TooManyMerged,
    describe,
    flattened,
    found_at,
    is_empty,
    is_null,
    merge_sources,
)

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
MAX_SUFFIX_DIGITS = 100  # Python refuses to turn more than 4,300 digits into a number
MAX_DIGITS = 40  # far above every count's limit, far below the 4,300 digits Python refuses to read
DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)")  # a count as people write one
# XML 1.0 allows tab, newline, carriage return, U+0020-U+D7FF, U+E000-U+FFFD and U+10000 up: these are the
# rest. Each is unprintable, so a printable value needs no search.
NOT_XML_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A value this short is looked at each time it is read: quicker than remembering it by its node, which
# every value but the few an alias repeats never needs (remembering 20,000 took 8% of checking the
# largest configs).
LOOKED_AT_EACH_TIME = 1000
CONSTRUCTOR = yaml.SafeLoader("")  # YAML's own readings of a scalar (its booleans, its integers)


class FieldReader:
    """Reads one field at a time from the node tree, collecting problems instead of stopping at the first;
    ``reader.LabReader`` builds on it to read the lab.

    One class of many short methods, one per kind of field, because every reader shares what one pass
    over the config collects: the problems and warnings, the nodes by path (the lab's places), the budget
    of "did you mean" suggestions, and what an aliased value was already found to hold."""

    def __init__(self) -> None:
        # As found, (line, column, path, message): ``reported_found`` makes a Problem of those reported.
        self.problems: list[Found] = []
        self.warnings: list[Found] = []
        self.nodes: dict[str, yaml.Node] = {}  # each field's value by its path, for checks that come later
        self.suggestions_left = MAX_SUGGESTIONS
        self.pairs_left = MAX_SUGGESTION_PAIRS
        # An alias repeats a node, perhaps a megabyte long, under many names: in a long value the character
        # XML cannot carry is looked for once per node (None: none).
        self.forbidden: dict[int, str | None] = {}

    # -- reporting ---------------------------------------------------------------------------------------

    def refuse(self, path: str, node: yaml.Node, message: str) -> None:
        self.problems.append(found_at(path, node, message))

    def warn(self, path: str, node: yaml.Node, message: str) -> None:
        self.warnings.append(found_at(path, node, message))

    def entries(self, path: str, node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]] | None:
        """The key/value pairs of a mapping, merge keys applied, refusing duplicate and non-text keys."""
        if not isinstance(node, yaml.MappingNode):
            self.refuse(path, node, f"must be a mapping of names to settings, not {describe(node)}")
            return None
        for key, value in node.value:
            if key.tag == MERGE_TAG and not all(isinstance(s, yaml.MappingNode) for s in merge_sources(value)):
                self.refuse(f"{path}.<<", value, "can only merge mappings, like <<: *defaults")
        try:
            merged = flattened(node)
        except TooManyMerged:
            self.refuse(f"{path}.<<", node, f"merges more than {MAX_MERGED_FIELDS:,} fields into one mapping")
            return None
        seen: dict[str, yaml.Node] = {}
        entries = []
        for key, value in merged:
            if not isinstance(key, yaml.ScalarNode) or is_null(key):
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
            self.nodes[join(path, name)] = value
        allowed = required + optional
        for k, _ in entries:
            if k.value not in allowed:
                self.refuse(join(path, k.value), k, f"is not a field here{self.suggest(k.value, allowed)}; "
                                                     f"expected {', '.join(allowed)}")
        for name in required:
            if name not in fields:
                self.refuse(join(path, name), key or node, "is missing")
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
        if isinstance(node, yaml.ScalarNode) and node.tag == INT_TAG:
            if DECIMAL.fullmatch(node.value):
                if len(node.value) <= MAX_DIGITS:
                    return int(node.value)
                self.refuse(path, node, f"is a number of {len(node.value):,} digits; no limit here reaches "
                                        f"{MAX_DIGITS} digits")
                return None
            try:
                read = yaml.SafeLoader.construct_yaml_int(CONSTRUCTOR, node)
            except (ValueError, IndexError):  # tagged !!int but not a number, or too many digits
                read = None
            if read is not None and len(node.value) <= MAX_NAME_LENGTH:
                self.refuse(path, node, f"must be written in plain decimal digits: YAML reads "
                                        f"{quoted(node.value)} as {read:,}; write {read} if that is meant")
                return None
        self.refuse(path, node, f"must be a whole number, not {describe(node)}")
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
        if not isinstance(node, yaml.ScalarNode) or is_empty(node):
            self.refuse(path, node, f"must be a single value, not {describe(node)}")
            return None
        value = node.value
        if longest is not None and len(value) > longest:
            self.refuse(path, node, f"is {len(value):,} characters long; the most it may have is {longest}")
            return None
        if len(value) > LOOKED_AT_EACH_TIME:
            if id(node) not in self.forbidden:
                self.forbidden[id(node)] = _forbidden(value)
            bad = self.forbidden[id(node)]
        else:
            bad = _forbidden(value)
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

    def suggest(self, name: str, choices) -> str:
        """" (did you mean 'x'?)" for a name close to one of ``choices``; nothing once the budget is spent."""
        if self.suggestions_left <= 0 or len(name) > MAX_SUGGESTED_NAME or len(choices) > self.pairs_left:
            return ""
        self.suggestions_left -= 1
        self.pairs_left -= len(choices)
        close = difflib.get_close_matches(name, list(choices), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""


def _forbidden(value: str) -> str | None:
    """The first character of ``value`` an XML file cannot carry, or None; a printable value holds none."""
    bad = None if value.isprintable() else NOT_XML_CHARACTER.search(value)
    return bad.group() if bad else None


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
