"""Property-based tests: arbitrary labs and arbitrary bytes either work exactly or are refused with a place.

Labs are drawn as Python dicts with arbitrary Unicode in every string, written out as YAML (and as
JSON), and compared with a small independent model of the semantics in docs/config.md: the model says which
labs must be refused and what every other lab's file must hold. Nothing else may happen: no exception
other than ConfigError, no refusal without a place.

USERMAPPER_FUZZ_EXAMPLES=5000 runs more examples (a longer local run); the default keeps the suite fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import guacamole_reader
from whole_tree import whole_tree
from usermapper.lab import ConfigError, Lab, read_config
from usermapper.lab.expand import UserMapping, expand
from usermapper.lab.guacamole import PROTOCOLS
from usermapper.outputs.user_mapping import file_size, user_mapping_bytes

FUZZ = settings(max_examples=int(os.environ.get("USERMAPPER_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Strings YAML, XML or the config give a meaning to, mixed into arbitrary text.
SPECIAL = st.sampled_from([
    "", " ", "yes", "No", "on", "~", "null", "true", "1e3", "0x1F", "010", "1_000", "1:30", "<<", "-", "? x",
    "# c", "&a", "*a", "!x", "%", "@", "`", "'", '"', "\t", "\n", "\r\n", "\u2028", "\ufeff", "random",
    "hostname", "port", "]]>", "&amp;", "<a/>", "\x00", "\x1b", "\x7f", "\ufffe", "\U0001F600", "10.0.0.",
    "255.", "1.2.3.", "{pod}", "{pod:02}", "10.0.{pod}.", "{pod", "pod{pod:03}-", "all", "per_owner",
    "across_owners",
])
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
IPV4_LIKE = re.compile(r"[0-9]+(\.[0-9]+){1,3}")
# Any text, U+0085, U+2028 and U+2029 included: PyYAML's emitter writes them raw, and usermapper refuses a
# config holding them (YAML reads them as line breaks; editors show none), as the YAML test expects.
TEXT = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=6), SPECIAL)
XML_TEXT = TEXT.filter(lambda s: not NOT_XML.search(s))


class Fields:
    """Strategies for each field: ``strict`` ones draw only values the config accepts on their own
    (so that many labs get through and their files are checked), the others draw anything."""

    def __init__(self, strict: bool):
        self.text = XML_TEXT if strict else TEXT
        digits = st.one_of(st.from_regex(r"[0-9]{1,3}", fullmatch=True), st.integers(0, 300))
        self.suffix = digits if strict else st.one_of(digits, st.integers(-2, -1), TEXT)
        self.quantity = st.integers(1, 3) if strict else st.one_of(st.integers(-1, 3), TEXT)
        self.protocol = st.sampled_from(PROTOCOLS) if strict else st.one_of(st.sampled_from(PROTOCOLS), TEXT)
        self.value = st.one_of(self.text, st.integers(-10**6, 10**6), st.booleans(),
                               *([] if strict else [st.none()]))
        self.name = self.text.filter(lambda s: s not in ("", "hostname", "protocol")) if strict else TEXT
        self.password_length = st.integers(8, 128) if strict else st.integers(6, 130)
        self.encoding = st.sampled_from(["plain", "md5", "sha256"] + ([] if strict else ["SHA256"]))


def fixed_password(count: int, length: int) -> list[str]:
    return ["R" * length] * count


POD_PREFIX = st.sampled_from(["", "PC", "10.0.{pod}.", "pod{pod:02}-", "{pod}", "r{pod}.{pod:03}.", "255.{pod}"])


@st.composite
def device_types(draw, fields: Fields) -> dict:
    parameters = {"protocol": draw(fields.protocol)}
    parameters.update(draw(st.dictionaries(fields.name, fields.value, max_size=3)))
    if draw(st.booleans()):
        parameters["hostname"] = None
    pod = draw(st.booleans())
    prefix = st.one_of(fields.text, POD_PREFIX) if pod else fields.text
    suffix = st.one_of(fields.suffix, st.just("")) if pod else fields.suffix
    device = {"per_user" if pod else "quantity": draw(fields.quantity), "name_prefix": draw(prefix),
              "name_suffix": draw(suffix), "hostname_prefix": draw(prefix), "hostname_suffix": draw(suffix),
              "parameters": parameters}
    if pod and draw(st.booleans()):
        device["numbering"] = draw(st.sampled_from(["per_owner", "across_owners"]) if fields.text is XML_TEXT
                                   else st.one_of(st.just("across_owners"), TEXT))
    return device


@st.composite
def user_types(draw, fields: Fields, device_names: list[str]) -> dict:
    user = {"quantity": draw(fields.quantity), "username_prefix": draw(fields.text),
            "username_suffix": draw(fields.suffix), "password": draw(st.one_of(st.just("random"), fields.text))}
    if draw(st.booleans()):
        user["password_length"] = draw(fields.password_length)
    if draw(st.booleans()):
        user["password_encoding"] = draw(fields.encoding)
    if draw(st.integers(0, 3)) == 0:
        user["pods"] = "all" if fields.text is XML_TEXT else draw(st.one_of(st.just("all"), TEXT))
    if draw(st.booleans()):
        listed = st.sampled_from(device_names)
        user["devices"] = draw(st.lists(listed, min_size=1, max_size=3) if fields.text is XML_TEXT
                               else st.lists(st.one_of(listed, TEXT), max_size=3))
    return user


@st.composite
def labs(draw) -> dict:
    fields = Fields(strict=draw(st.booleans()))
    device_names = draw(st.lists(fields.text, min_size=1, max_size=3, unique=True))
    devices = {name: draw(device_types(fields)) for name in device_names}
    user_names = draw(st.lists(TEXT, min_size=1, max_size=4, unique=True))
    lab = {"users": {name: draw(user_types(fields, device_names)) for name in user_names}, "devices": devices}
    if draw(st.booleans()):
        start = st.integers(0, 300) if fields.text is XML_TEXT else st.one_of(st.integers(-1, 300), TEXT)
        lab["pods"] = {"start": draw(start)}
    return lab


# -- the model ---------------------------------------------------------------------------------------------

class Refused(Exception):
    """The model says the config must be refused."""


def text(value) -> str:
    if not isinstance(value, str) or NOT_XML.search(value):
        raise Refused(value)
    return value


def login(value) -> str:
    """A username's or password's text: a browser's login form cannot send a line break."""
    if "\n" in text(value) or "\r" in value:
        raise Refused(value)
    return value


def number(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise Refused(value)
    return value


def numbers(suffix, count: int, offset: int = 0) -> list[str]:
    """The counter's texts: ``count`` of them from the suffix's number plus ``offset``; an empty suffix
    is no number, for one only."""
    digits = str(suffix) if isinstance(suffix, int) else text(suffix)
    if digits == "" and count == 1:
        return [""]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 100:
        raise Refused(suffix)
    return [f"{int(digits) + offset + i:0{len(digits)}d}" for i in range(count)]


def names(prefix, suffix, count: int) -> list[str]:
    return [text(prefix) + n for n in numbers(suffix, count)]


POD = re.compile(r"\{pod(?::0([1-9]))?\}")


def prefix_of(value, per_user: bool) -> str:
    """A name or hostname prefix: ``{pod}`` or ``{pod:0N}`` only, and only in a per_user type."""
    value = text(value)
    if "{pod" in value and (not per_user or value.count("{pod") != len(POD.findall(value))):
        raise Refused(value)
    return value


def render(prefix: str, owner: int) -> str:
    return POD.sub(lambda m: f"{owner:0{int(m.group(1) or 0)}d}", prefix)


def parameter(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else text(value)


def device_shape(device: dict) -> dict:
    """A device type as the model needs it, every field checked."""
    per_user = "per_user" in device
    if per_user == ("quantity" in device):
        raise Refused("quantity or per_user")
    count = number(device["per_user" if per_user else "quantity"])
    numbering = device.get("numbering", "per_owner")
    if ("numbering" in device and not per_user) or numbering not in ("per_owner", "across_owners"):
        raise Refused(numbering)
    shape = {"per_user": per_user, "count": count, "across": numbering == "across_owners",
             "name_prefix": prefix_of(device["name_prefix"], per_user), "name_suffix": device["name_suffix"],
             "host_prefix": prefix_of(device["hostname_prefix"], per_user), "host_suffix": device["hostname_suffix"]}
    numbers(shape["name_suffix"], count)
    numbers(shape["host_suffix"], count)
    parameters = dict(device["parameters"])
    protocol = text(parameters.pop("protocol"))
    if protocol not in PROTOCOLS:
        raise Refused(protocol)
    if "hostname" not in parameters:
        parameters = {"hostname": None, **parameters}
    if parameters["hostname"] is not None or any(v is None for k, v in parameters.items() if k != "hostname"):
        raise Refused(parameters)
    if "" in parameters:
        raise Refused("an empty parameter name")
    shape["protocol"] = protocol
    shape["parameters"] = [(text(k), None if v is None else parameter(v)) for k, v in parameters.items()]
    return shape


def connections(shape: dict, owner: int = 0, block: int = 0, label: str = "") -> list:
    """A shared type's connections, or one owner's pod devices (the ``block``-th block across owners)."""
    count = shape["count"]
    offset = block * count if shape["across"] else 0
    hostnames = [render(shape["host_prefix"], owner) + n for n in numbers(shape["host_suffix"], count, offset)]
    for host in hostnames:
        if IPV4_LIKE.fullmatch(host) and any(int(octet) > 255 for octet in host.split(".")):
            raise Refused(host)
    names_ = [label + render(shape["name_prefix"], owner) + n for n in numbers(shape["name_suffix"], count, offset)]
    return [(name, shape["protocol"], [(k, host if v is None else v) for k, v in shape["parameters"]])
            for name, host in zip(names_, hostnames)]


def user_shape(user: dict, device_names: list) -> dict:
    reachable = list(device_names)
    if "devices" in user:
        listed = [text(name) for name in user["devices"]]
        if not listed or not set(listed) <= set(reachable):
            raise Refused(listed)
        reachable = [name for name in reachable if name in listed]
    length = user.get("password_length", 12)
    if not isinstance(length, int) or not 8 <= length <= 128:
        raise Refused(length)
    encoding = user.get("password_encoding", "plain")
    if encoding not in ("plain", "md5", "sha256"):
        raise Refused(encoding)
    if user.get("pods", "all") != "all":
        raise Refused(user["pods"])
    password = fixed_password(1, length)[0] if user["password"] == "random" else login(user["password"])
    stored = password if encoding == "plain" else hashlib.new(encoding, password.encode()).hexdigest()
    usernames = names(login(user["username_prefix"]), user["username_suffix"], number(user["quantity"]))
    return {"reachable": reachable, "stored": stored, "encoding": encoding, "usernames": usernames,
            "instructor": "pods" in user}


def model(lab: dict) -> list:
    """What the file must hold, as ``(username, stored password, encoding, connections)``; or Refused."""
    start = lab.get("pods", {}).get("start", 1)
    if set(lab.get("pods", {})) - {"start"} or not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise Refused(lab["pods"])
    shapes = {name: device_shape(device) for name, device in lab["devices"].items()}
    users_ = [user_shape(user, list(shapes)) for user in lab["users"].values()]
    owners: dict[str, list] = {name: [] for name in shapes}  # each pod type's owners: (username, number)
    number_ = start
    for user in users_:
        pods_reached = [n for n in user["reachable"] if shapes[n]["per_user"]]
        if user["instructor"]:
            if not pods_reached:
                raise Refused("pods: all without pods")
            continue
        if pods_reached:
            user["owners"] = list(range(number_, number_ + len(user["usernames"])))
            for name in pods_reached:
                owners[name] += zip(user["usernames"], user["owners"])
            number_ += len(user["usernames"])
    shared = {n: connections(s) for n, s in shapes.items() if not s["per_user"]}
    own = {n: {owner: connections(s, owner, owner - start) for _, owner in owners[n]}
           for n, s in shapes.items() if s["per_user"]}
    for name, shape in shapes.items():
        if not shape["per_user"]:
            continue
        distinct_hosts = POD.search(shape["host_prefix"]) or shape["across"] and shape["host_suffix"] != ""
        if not owners[name] or len(owners[name]) > 1 and not distinct_hosts:
            raise Refused("no owner, or owners on one host")
    expected = []
    for user in users_:
        for index, username in enumerate(user["usernames"]):
            block = []
            for name in user["reachable"]:
                if not shapes[name]["per_user"]:
                    block += shared[name]
                elif user["instructor"]:
                    block += [c for owner_name, owner in owners[name]
                              for c in connections(shapes[name], owner, owner - start, owner_name + " ")]
                else:
                    block += own[name][user["owners"][index]]
            if user["instructor"] and len({c[0] for c in block}) != len(block):
                raise Refused("a name twice in an instructor's list")
            expected.append((username, user["stored"], user["encoding"], block))
    device_names_ = [list(dict.fromkeys(c[0] for c in (shared[n] if n in shared else
                                                         [c for b in own[n].values() for c in b])))
                     for n in shapes]
    for generated in ([u[0] for u in expected], [n for names_ in device_names_ for n in names_]):
        if len(set(generated)) != len(generated):
            raise Refused("a name generated twice")
    return expected


# -- the oracle --------------------------------------------------------------------------------------------

def as_read(xml: bytes) -> list:
    """The file as Guacamole reads it, in the model's shape (and order)."""
    return [(name, password, encoding, [(c, protocol, list(params.items()))
                                        for c, (protocol, params) in connections.items()])
            for name, (password, encoding, connections) in guacamole_reader.read(xml).items()]


def expanded(mapping: UserMapping) -> list:
    return [(u.username, u.stored_password, u.encoding, [(c.name, c.protocol, list(c.parameters))
                                                          for c in group.connections_of(index)])
            for group in mapping.groups for index, u in enumerate(group.users)]


def outcome(source: str | bytes) -> list | ConfigError:
    """The file's content as read back, or the ConfigError; any other exception fails the test."""
    try:
        lab = read_config(source)
    except ConfigError as error:
        assert error.problems
        assert all(p.path or p.line >= 1 for p in error.problems), error.problems
        return error
    assert isinstance(lab, Lab)
    mapping = expand(lab, fixed_password)
    xml = user_mapping_bytes(mapping)
    assert xml == whole_tree(mapping)  # the writer's shortcuts give exactly lxml's bytes
    assert len(xml) == file_size(lab)  # the size the limits are checked against is the size written
    content = as_read(xml)
    assert content == expanded(mapping)
    return content


def yaml_block(lab: dict) -> str:
    return yaml.safe_dump(lab, allow_unicode=True, sort_keys=False)


def yaml_flow(lab: dict) -> str:
    return yaml.safe_dump(lab, allow_unicode=True, sort_keys=False, default_flow_style=True)


@FUZZ
@given(labs(), st.sampled_from([yaml_block, yaml_flow]))
def test_a_lab_written_as_yaml_gives_exactly_what_the_model_says(lab, dump):
    try:
        expected = model(lab)
    except Refused:
        expected = None
    text = dump(lab)
    if any(character in text for character in "\x85\u2028\u2029"):
        expected = None  # PyYAML writes these as they are; YAML reads them as line breaks, editors do not
    result = outcome(text.encode("utf-8"))
    if expected is None:
        assert isinstance(result, ConfigError), result
    else:
        assert result == expected


@FUZZ
@given(labs())
def test_a_lab_written_as_json_works_exactly_or_is_refused_with_a_place(lab):
    result = outcome(json.dumps(lab))
    if not isinstance(result, ConfigError):
        assert result == model(lab)


RAW = st.one_of(TEXT, st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .-]{0,6}", fullmatch=True),
                st.text(st.sampled_from("0123456789.'\"-:#&*!|>{}[], \n\t\\xé"), max_size=8))
TEMPLATE = ("users:\n  {}:\n    quantity: {}\n    username_prefix: {}\n    username_suffix: {}\n    password: {}\n"
            "devices:\n  {}:\n    quantity: {}\n    name_prefix: {}\n    name_suffix: {}\n    hostname_prefix: {}\n"
            "    hostname_suffix: {}\n    parameters: {{protocol: ssh, port: {}}}\n")
DEFAULTS = ["students", "2", "s", "'01'", "random", "pcs", "2", "PC", "'1'", "'10.0.0.'", "'1'", "22"]


@FUZZ
@given(st.dictionaries(st.integers(0, len(DEFAULTS) - 1), RAW, max_size=3))
def test_a_lab_with_raw_text_in_some_fields_works_or_is_refused_with_a_place(replacements):
    fields = [replacements.get(i, default) for i, default in enumerate(DEFAULTS)]
    outcome(TEMPLATE.format(*fields))


@FUZZ
@given(st.text())
def test_any_text_gives_a_lab_or_a_located_refusal(source):
    outcome(source)


@FUZZ
@given(st.binary())
def test_any_bytes_give_a_lab_or_a_located_refusal(source):
    outcome(source)


def test_the_model_agrees_with_the_examples():
    lab = yaml.safe_load((Path(__file__).resolve().parent.parent / "examples" / "original-format.yaml").read_text())
    expected = model(lab)
    assert len(expected) == 12 and all(len(u[3]) == 8 for u in expected)
    assert outcome(yaml_block(lab)) == expected
