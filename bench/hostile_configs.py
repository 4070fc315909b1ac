"""The slowest and largest configs we know how to write within the web app's limits.

Each function returns a config as bytes, at most ``size`` bytes long (1 MiB by default, the largest the
app accepts) and holding at most ``NODES`` YAML values (the app's default limit), so that each is the worst
of its kind that the limits let through. ``SHAPES`` names them all; ``bench_hostile.py`` posts each to the running app and
``tests/test_bounds.py`` checks the bounds they run into. The first ten are the shapes reported in the
"bounded work" issue, the rest were found since.
"""

from __future__ import annotations

import random
from typing import Callable

import yaml

MiB = 1 << 20
NODES = 20_000  # Limits.max_nodes: the values (scalars, lists, mappings, aliases) a config may hold

USER = "  students: {quantity: 10, username_prefix: s, username_suffix: '1', password: p}\n"


def _device(name: str, parameters: str, quantity: int = 1, hostname: str = "h") -> str:
    return (f"  {name}: {{quantity: {quantity}, name_prefix: {name}, name_suffix: '1', "
            f"parameters: {{protocol: rdp, hostname: {hostname}{parameters}}}}}\n")


def _fill(head: str, item: Callable[[int], str], tail: str = "", size: int = MiB) -> bytes:
    """``head``, then as many ``item(i)`` as fit with ``tail`` in ``size`` bytes and ``NODES`` values."""
    def config(count: int) -> str:
        return head + "".join(item(i) for i in range(count)) + tail

    nodes_of_one = _nodes(config(1))
    per_item = _nodes(config(2)) - nodes_of_one  # items are alike, so the count grows by this much each
    count = (NODES - nodes_of_one) // per_item + 1 if per_item else NODES
    parts, used = [head], len(head) + len(tail)
    for index in range(count):
        piece = item(index)
        if used + len(piece) > size:
            break
        parts.append(piece)
        used += len(piece)
    parts.append(tail)
    return "".join(parts).encode()


def _nodes(text: str) -> int:
    return sum(isinstance(event, yaml.NodeEvent) for event in yaml.parse(text, Loader=yaml.CSafeLoader))


def _short_names():
    """a, b, ..., z, aa, ab, ...: distinct parameter names as short as they come."""
    letters = "abcdefghijklmnopqrstuvwxyz"

    def name(index: int) -> str:
        text = ""
        index += 1
        while index:
            index, digit = divmod(index - 1, 26)
            text = letters[digit] + text
        return text
    return name


def many_parameters(size: int = MiB) -> bytes:
    """One device type with as many one-letter parameters as fit: ``{protocol: rdp, a: 1, b: 1, ...}``."""
    name = _short_names()
    return _fill("users:\n" + USER + "devices:\n  pcs:\n    quantity: 1\n    name_prefix: PC\n"
                 "    name_suffix: '1'\n    parameters:\n      protocol: rdp\n      hostname: h\n",
                 lambda i: f"      {name(i)}: 1\n", size=size)


def many_parameters_without_values(size: int = MiB) -> bytes:
    """The same, every parameter refused for having no value."""
    name = _short_names()
    return _fill("users:\n" + USER + "devices:\n  pcs:\n    quantity: 1\n    name_prefix: PC\n"
                 "    name_suffix: '1'\n    parameters:\n      protocol: rdp\n      hostname: h\n",
                 lambda i: f"      {name(i)}:\n", size=size)


def long_devices_list(size: int = MiB) -> bytes:
    """1,000 device types, and one user type whose ``devices:`` list names them over and over: an
    anchored list of names, aliased 100 times, then more names until the config is full."""
    devices = "".join(_device(f"d{i}", "") for i in range(1000))  # 13 values each
    head = ("devices:\n" + devices + "users:\n  students:\n    quantity: 1\n    username_prefix: s\n"
            "    username_suffix: '1'\n    password: p\n    devices: [&all [" +
            ", ".join(f"d{i}" for i in range(1000)) + "], " + ", ".join(["*all"] * 99))
    return _fill(head, lambda i: f", d{i % 1000}", "]\n", size=size)


def aliased_devices_list(size: int = MiB) -> bytes:
    """1,000 device types, one user type listing them all, and 99 more user types aliasing that list."""
    devices = "".join(_device(f"d{i}", "") for i in range(1000))
    names = ", ".join(f"d{i}" for i in range(1000))
    users = "".join(f"  t{i}: {{quantity: 1, username_prefix: t{i}x, username_suffix: '1', password: p, "
                    f"devices: *all}}\n" for i in range(99))
    return (f"devices:\n{devices}users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', "
            f"password: p, devices: &all [{names}]}}\n{users}").encode()


def most_parameters(size: int = MiB) -> bytes:
    """As many device types as fit, each with the most parameters a device type may have (200)."""
    name = _short_names()
    parameters = "".join(f", {name(i)}: 1" for i in range(199))
    return _fill("users:\n" + USER + "devices:\n", lambda i: _device(f"d{i}", parameters), size=size)


def clashing_usernames(size: int = MiB) -> bytes:
    """As many user types as fit, all generating the same username."""
    return _fill("devices:\n" + _device("pcs", "") + "users:\n",
                 lambda i: f"  t{i}: {{quantity: 1, username_prefix: u, username_suffix: '1', password: p}}\n",
                 size=size)


def flow_sequence(size: int = MiB) -> bytes:
    """A flow sequence of one-letter scalars as long as fits, where a config expects a user type."""
    return _fill("users: [", lambda i: "a, ", "a]\n", size=size)


def random_passwords(size: int = MiB) -> bytes:
    """10,000 users with 128-character random passwords: 1.28 million random characters asked for."""
    return (b"users:\n  s: {quantity: 10000, username_prefix: s, username_suffix: '1', password: random, "
            b"password_length: 128}\ndevices:\n" + _device("pcs", "").encode())


def markup_bomb(size: int = MiB) -> bytes:
    """200 users x 1,000 devices with 96 one-letter parameters each: little text, a lot of markup."""
    name = _short_names()
    parameters = "".join(f", {name(i)}: 1" for i in range(96))
    return (b"users:\n  s: {quantity: 200, username_prefix: s, username_suffix: '1', password: p}\ndevices:\n"
            + _device("pcs", parameters, quantity=1000).encode())


def empty_values(size: int = MiB) -> bytes:
    """2,000 users x 100 devices, 140 parameters with empty values: each costs ~31 bytes of XML."""
    name = _short_names()
    parameters = "".join(f", {name(i)}: ''" for i in range(140))
    return (b"users:\n  s: {quantity: 2000, username_prefix: s, username_suffix: '1', password: p}\ndevices:\n"
            + _device("pcs", parameters, quantity=100).encode())


def many_unknown_long_names(size: int = MiB) -> bytes:
    """Device types whose 199 parameters all have long names that are near misses of known ones: each
    unknown name is a warning that could ask for a suggestion."""
    parameters = "".join(f", enable-desktop-compositio{i}: 1" for i in range(199))
    return _fill("users:\n" + USER + "devices:\n", lambda i: _device(f"d{i}", parameters), size=size)


def many_device_types(size: int = MiB) -> bytes:
    """As many device types as fit, each with a dozen parameters: the most nodes a config can hold."""
    name = _short_names()
    parameters = "".join(f", {name(i)}: 1" for i in range(12))
    return _fill("users:\n" + USER + "devices:\n", lambda i: _device(f"d{i}", parameters), size=size)


def many_problems(size: int = MiB) -> bytes:
    """As many user types as fit, each with a bad quantity: one problem per line."""
    return _fill("devices:\n" + _device("pcs", "") + "users:\n",
                 lambda i: f"  t{i}: {{quantity: 0, username_prefix: u{i}, username_suffix: '1', password: p}}\n",
                 size=size)


def long_scalar(size: int = MiB) -> bytes:
    """One value as long as the config can hold, in every connection of the largest lab."""
    head = ("users:\n  s: {quantity: 200, username_prefix: s, username_suffix: '1', password: p}\n"
            "devices:\n  pcs: {quantity: 1000, name_prefix: PC, name_suffix: '1', parameters: "
            "{protocol: rdp, hostname: h, initial-program: '")
    return _fill(head, lambda i: "x" * 1000, "'}}\n", size=size)


def merge_chain(size: int = MiB) -> bytes:
    """Device types that each merge the one before twice (with anchors): a merge-key bomb at the limits."""
    lines = ["users:\n", USER, "devices:\n",
             "  d0: &d0 {quantity: 1, name_prefix: d0, name_suffix: '1', parameters: {protocol: rdp, hostname: h}}\n"]
    for i in range(1, 50):  # two aliases each: 98 of the 100 allowed
        lines.append(f"  d{i}: &d{i} {{<<: [*d{i - 1}, *d{i - 1}]}}\n")
    return "".join(lines).encode()[:size]


def many_user_types_with_lists(size: int = MiB) -> bytes:
    """Many user types, each listing all 100 device types: references checked types x entries."""
    devices = "".join(_device(f"d{i}", "") for i in range(100))
    names = ", ".join(f"d{i}" for i in range(100))
    return _fill("devices:\n" + devices + "users:\n",
                 lambda i: f"  t{i}: {{quantity: 1, username_prefix: u{i}x, username_suffix: '1', password: p, "
                           f"devices: [{names}]}}\n", size=size)


# -- found by attacking the bounds above (each once broke them: seconds, or gigabytes) -------------------------

_ONE_DEVICE = ("devices:\n  pcs: {quantity: 1, name_prefix: pc, name_suffix: '1', "
               "parameters: {protocol: rdp, hostname: h}}\n")
_ONE_USER = "users:\n  s: {quantity: 1, username_prefix: s, username_suffix: '1', password: p}\n"


def long_hashed_password(size: int = MiB) -> bytes:
    """10,000 users sharing one fixed 50,000-character password with password_encoding sha256: the XML holds
    64 hex digits per user (2.5 MB, far under the byte budget) but every user's password is hashed anew and
    written in full to the credentials CSV (500 MB). A 1 MB password is 20x worse; capped here to stay measurable."""
    length = min(50_000, size - 200)
    return (f"{_ONE_DEVICE}users:\n  s: {{quantity: 10000, username_prefix: s, username_suffix: '1', "
            f"password_encoding: sha256, password: {'x' * length}}}\n").encode()


def long_username_prefix(size: int = MiB) -> bytes:
    """10,000 users with a username_prefix that fills the config: the uniqueness check builds all 10,000
    usernames (10 GB) before the XML size is checked, which would refuse it with a 413."""
    head = f"{_ONE_DEVICE}users:\n  s: {{quantity: 10000, username_suffix: '1', password: p, username_prefix: "
    return (head + "x" * (size - len(head) - 12) + "}\n").encode()


def username_prefix_at_budget(size: int = MiB) -> bytes:
    """Accepted (201): a 7,000-character username_prefix for 10,000 users makes 72 MB of XML, under the
    80 MB budget; the credentials CSV of the same 70 MB is written by the csv module at ~27 ns a byte."""
    return (f"{_ONE_DEVICE}users:\n  s: {{quantity: 10000, username_suffix: '1', password: p, "
            f"username_prefix: {'x' * min(7000, size - 200)}}}\n").encode()


def quoted_backslashes(size: int = MiB) -> bytes:
    """A value of ~1 MB of backslashes, aliased 100 times where a user type belongs: each of the 101 problems
    quotes it with repr (doubling it) and JSON doubles it again: a 419 MB problem+json answer."""
    tail = "".join(f"  t{i}: *b\n" for i in range(1, 101)) + _ONE_DEVICE
    head = "users:\n  t0: &b "
    return (head + "\\" * (size - len(head) - len(tail) - 2) + "\n" + tail).encode()


def long_type_name_devices_list(size: int = MiB) -> bytes:
    """Accepted (201): a user type whose name (an explicit `? ` key) is ~1 MB, with a devices list naming the
    one device type 1,000 times. Reading the list keeps f"{path}[{index}]" for every entry in _Reader.nodes:
    1,000 paths of 1 MB each."""
    items = ", ".join(["pcs"] * 1000)
    head = "users:\n  ? "
    mid = f"\n  : {{quantity: 1, username_prefix: s, username_suffix: '1', password: p, devices: [{items}]}}\n{_ONE_DEVICE}"
    return (head + "x" * (size - len(head) - len(mid) - 2) + mid).encode()


def long_type_name_unknown_fields(size: int = MiB) -> bytes:
    """A user type whose ~1 MB name is an explicit key, with 1,000 fields that are not fields: each keeps a
    path of the name in _Reader.nodes and in its problem (1,000 x 2 x 1 MB); 100 reach the JSON (105 MB)."""
    body = ", ".join(f"f{i}: 1" for i in range(1000))
    head = "users:\n  ? "
    mid = "\n  : {" + body + "}\n" + _ONE_DEVICE
    return (head + "x" * (size - len(head) - len(mid) - 2) + mid).encode()


def listed_device_names(size: int = MiB) -> bytes:
    """20 device types whose names (explicit keys) share the config, and 19 user types each listing 1,000
    unknown device types: each of the 19,000 problems copies the 1 MB list of the first 20 names into its
    message (19 GB)."""
    items = ", ".join(["zz"] * 1000)
    users = "users:\n" + "".join(f"  s{u}: {{quantity: 1, username_prefix: s{u}x, username_suffix: '1', "
                                 f"password: p, devices: [{items}]}}\n" for u in range(19)) + "devices:\n"
    per = (size - len(users) - 20 * 120) // 20
    devices = "".join(f"  ? {chr(97 + i % 26)}{i}{'x' * per}\n  : {{quantity: 1, name_prefix: d{i}x, "
                      f"name_suffix: '1', parameters: {{protocol: rdp, hostname: h}}}}\n" for i in range(20))
    return (users + devices).encode()


def difflib_suggestions(size: int = MiB) -> bytes:
    """1,000 device types named with 64 random letters a/b, and a devices list of 20 more such names that
    are not device types: each of the 20 suggestions runs SequenceMatcher.ratio against all 1,000 names
    (each pair passes quick_ratio's 0.6 cutoff; ~0.45 ms a pair on a two-letter alphabet). 163 KB."""
    chance = random.Random(1)
    word = lambda: "".join(chance.choice("ab") for _ in range(64))
    devices = "".join(f"  {word()}: {{quantity: 1, name_prefix: d{i}x, name_suffix: '1', parameters: "
                      f"{{protocol: rdp, hostname: h}}}}\n" for i in range(1000))
    wrong = ", ".join(word() for _ in range(20))
    return (f"users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', password: p, "
            f"devices: [{wrong}]}}\ndevices:\n{devices}").encode()


def long_device_name_warnings(size: int = MiB) -> bytes:
    """Accepted (201): a device type whose name (an explicit key) is ~1 MB of backslashes, with 199 parameters
    guacd does not know: 101 warnings kept, each path repeating the name, doubled by JSON: a 211 MB 201
    answer, and again for GET with Accept: application/json."""
    params = "".join(f", zq{i}: 1" for i in range(199))
    head = _ONE_USER + "devices:\n  ? "
    tail = f"\n  : {{quantity: 1, name_prefix: d, name_suffix: '1', parameters: {{protocol: rdp, hostname: h{params}}}}}\n"
    return (head + "\\\\" * ((size - len(head) - len(tail) - 2) // 2) + tail).encode()


def tokens_without_end(size: int = MiB) -> bytes:
    """A parameter value of a megabyte of colons after a ``${`` that never closes: the token check's
    slowest input (each colon is weighed as a possible modifier)."""
    head = "users:\n" + USER + "devices:\n  pcs: {quantity: 1, name_prefix: PC, name_suffix: '1', parameters: " \
           "{protocol: ssh, hostname: h, command: '${"
    tail = "'}}\n"
    return (head + ":" * (size - len(head) - len(tail)) + tail).encode()


def aliased_token_warnings(size: int = MiB) -> bytes:
    """Accepted (201) with warnings: a ~1 MB command that Guacamole's tokens change, aliased by 75 more
    parameters of its device type: each warning once quoted the whole value (a 76 MB answer)."""
    aliases = ", ".join(f"p{i}: *v" for i in range(75))
    head = ("users:\n  u: {quantity: 1, username_prefix: u, username_suffix: '1', password: p}\ndevices:\n"
            "  d: {quantity: 1, name_prefix: D, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', "
            "parameters: {protocol: ssh, command: &v '$${x}")
    tail = f"', {aliases}}}}}\n"
    return (head + "y" * (size - len(head) - len(tail)) + tail).encode()


def aliased_colour_scheme(size: int = MiB) -> bytes:
    """Accepted (201): a ~1 MB colour scheme guacd reads, anchored once and aliased by 90 device types no
    user reaches: weighing it took ~0.2 s for every alias (17 s in all) until a value was weighed once."""
    users = "users:\n  u: {quantity: 1, username_prefix: u, username_suffix: '1', password: p, devices: [d0]}\n"
    device = ("  d{i}: {{quantity: 1, name_prefix: D{i}x, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', "
              "parameters: {{protocol: ssh, color-scheme: {value}}}}}\n")
    aliases = "".join(device.format(i=i, value="*cs") for i in range(1, 91))
    first = device.format(i=0, value="&cs 'SCHEME'")
    room = size - len(users) - len("devices:\n") - len(first) + len("SCHEME") - len(aliases)
    scheme = "color1:red;" * (room // len("color1:red;"))
    return (users + "devices:\n" + first.replace("SCHEME", scheme) + aliases).encode()


# -- pods: owners, pod types and instructors multiply -------------------------------------------------------

def pods_types_owners_instructors(size: int = MiB) -> bytes:
    """300 pod types, 500 owner types and 500 instructor types: 75 million connections, refused; the
    counts are worked out per type and per ``devices:`` list, never per owner and pod type and viewer."""
    pod_types = "".join(f"  d{i}: {{per_user: 1, name_prefix: n{i}x, name_suffix: '', hostname_prefix: 'h{{pod}}', "
                        f"hostname_suffix: '', parameters: {{protocol: ssh}}}}\n" for i in range(300))
    owners = "".join(f"  o{i}: {{quantity: 1, username_prefix: o{i}x, username_suffix: '', password: x}}\n"
                     for i in range(500))
    instructors = "".join(f"  i{i}: {{quantity: 1, username_prefix: i{i}x, username_suffix: '', password: x, "
                          f"pods: all}}\n" for i in range(500))
    return ("users:\n" + owners + instructors + "devices:\n" + pod_types).encode()


def pods_instructor_names_checked(size: int = MiB) -> bytes:
    """Owners whose usernames hold a space, so each instructor's list is generated to compare its names:
    199 instructor types, each with a list of its own, each seeing 1,000 pods (199,000 connections)."""
    return ("users:\n  o: {quantity: 1000, username_prefix: 'student ', username_suffix: '0001', password: x}\n"
            + "".join(f"  i{i}: {{quantity: 1, username_prefix: i{i}x, username_suffix: '', password: x, "
                      f"pods: all, devices: [pcs]}}\n" for i in range(199))
            + "devices:\n  pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: 'pc{pod}', "
              "hostname_suffix: '', parameters: {protocol: rdp}}\n").encode()


SHAPES: dict[str, Callable[[int], bytes]] = {
    "many-parameters": many_parameters,
    "many-parameters-without-values": many_parameters_without_values,
    "long-devices-list": long_devices_list,
    "aliased-devices-list": aliased_devices_list,
    "most-parameters": most_parameters,
    "clashing-usernames": clashing_usernames,
    "flow-sequence": flow_sequence,
    "random-passwords": random_passwords,
    "markup-bomb": markup_bomb,
    "empty-values": empty_values,
    "many-unknown-long-names": many_unknown_long_names,
    "many-device-types": many_device_types,
    "many-problems": many_problems,
    "long-scalar": long_scalar,
    "merge-chain": merge_chain,
    "many-user-types-with-lists": many_user_types_with_lists,
    "long-hashed-password": long_hashed_password,
    "long-username-prefix": long_username_prefix,
    "username-prefix-at-budget": username_prefix_at_budget,
    "quoted-backslashes": quoted_backslashes,
    "long-type-name-devices-list": long_type_name_devices_list,
    "long-type-name-unknown-fields": long_type_name_unknown_fields,
    "listed-device-names": listed_device_names,
    "difflib-suggestions": difflib_suggestions,
    "long-device-name-warnings": long_device_name_warnings,
    "tokens-without-end": tokens_without_end,
    "aliased-token-warnings": aliased_token_warnings,
    "aliased-colour-scheme": aliased_colour_scheme,
    "pods-types-owners-instructors": pods_types_owners_instructors,
    "pods-instructor-names-checked": pods_instructor_names_checked,
}
