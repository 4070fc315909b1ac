"""The slowest and largest configs we know how to write within the web app's limits.

Each function returns a config as bytes, at most ``size`` bytes long (1 MiB by default, the largest the
app accepts) and holding at most ``NODES`` YAML values (the app's default limit), so that each is the worst
of its kind that the limits let through. ``SHAPES`` names them all; ``bench_hostile.py`` posts each to the running app and
``tests/test_bounds.py`` checks the bounds they run into. The first ten are the shapes reported in the
"bounded work" issue, the rest were found since.
"""

from __future__ import annotations

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
}
