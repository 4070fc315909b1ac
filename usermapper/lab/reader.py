"""Read a lab config: YAML text in, a validated ``Lab`` out, or every mistake found, each with its place.

``yaml_nodes`` turns the text into nodes that keep their places, ``fields`` reads single fields, this
module reads the lab's types from them, and ``checks`` checks the types against each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import yaml

from ..limits import Limits
from ..wording import quoted
from . import guacamole, pods, tokens
from .checks import check_lab
from .fields import CONSTRUCTOR, MAX_NAME_LENGTH, MAX_SUFFIX_DIGITS, FieldReader
from .model import DEFAULT_LAB_NAME, ConfigError, DeviceType, Lab, UserType
from .yaml_nodes import BOOL_TAG, Found, cycle_collection_paused, is_empty, is_null, parse, reported_found

# Guacamole's rdp, the protocol with the most, has about 110 parameters; a device type needs no more.
MAX_PARAMETERS = 200
MAX_PASSWORD_LENGTH = 128
RANDOM = "random"
DEFAULT_PASSWORD_LENGTH = 12
PASSWORD_LENGTHS = range(8, 129)


def read_config(source: str | bytes, limits: Limits = Limits(), *, as_json: bool = False) -> Lab:
    """Parse and validate a config; raise ``ConfigError`` listing every problem found.

    ``as_json``: the config was sent as ``application/json`` (``yaml_nodes.parse`` says what changes).
    The node tree lives only inside ``_read``, so it is gone before the cycle collector runs again: one
    pass over a tree still held cost as much as the passes the pause saves.
    """
    with cycle_collection_paused():
        lab, problems = _read(source, limits, as_json)
    if problems:
        raise ConfigError(reported_found(problems, "problems"))
    return lab


def _read(source: str | bytes, limits: Limits, as_json: bool) -> tuple[Lab | None, list[Found]]:
    """The lab with its warnings and places, or the problems that refuse it."""
    root = parse(source, limits.max_config_bytes, limits.max_nodes, as_json=as_json)
    reader = LabReader()
    lab = reader.lab(root, limits)
    if reader.problems:
        return None, reader.problems
    return replace(lab, warnings=tuple(reported_found(reader.warnings, "warnings")), places=_places(reader.nodes),
                   name_places=_places(reader.type_names),
                   parameter_places={device_and_name: (_place(key), _place(value))
                                     for device_and_name, (key, value) in reader.parameter_nodes.items()}), []


def _places(nodes: dict[str, yaml.Node]) -> dict[str, tuple[int, int]]:
    return {path: _place(node) for path, node in nodes.items()}


def _place(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class LabReader(FieldReader):
    """Walks the node tree once: the lab's name, its user types and its device types.

    A method per field of a user type or a device type, in the order the docs list them (docs/config.md);
    one class with ``FieldReader`` because they all record into the same pass (see its docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.device_lists: dict[int, tuple[str, ...] | None] = {}  # by node: an aliased list is read once
        self.declared: dict[str, set[str]] = {}  # the names of the user and device types, read or not
        self.type_names: dict[str, yaml.Node] = {}  # each type's name by the type's path (``devices.PC``)
        # each parameter's name and value by its device type and name: apart from the fields' paths, which
        # a parameter's path can read like (the parameter name_prefix of A, the field of A.parameters)
        self.parameter_nodes: dict[tuple[str, str], tuple[yaml.Node, yaml.Node]] = {}
        # What guacd makes of a value, by (protocol, name, value), and what Guacamole's tokens make of it,
        # by value: worked out once however often an alias repeats it.
        self.guacd_problems: dict[tuple[str, str, str], str | None] = {}
        self.token_problems: dict[str, str | None] = {}

    # -- the document ------------------------------------------------------------------------------------

    def lab(self, root: yaml.Node | None, limits: Limits) -> Lab | None:
        if root is None or is_null(root):
            self.problems.append((1, 1, "", "the config is empty; it needs `users` and `devices`"))
            return None
        fields = self.mapping("", root, required=("users", "devices"), optional=("pods", "lab"))
        if fields is None:
            return None
        name = self.lab_name(fields.get("lab"))
        users = self.types("users", fields.get("users"), self.user_type, limits)
        devices = self.types("devices", fields.get("devices"), self.device_type, limits)
        lab = Lab(tuple(users), tuple(devices), pod_start=self.pod_start(fields.get("pods")), name=name)
        check_lab(self, lab, fields, limits)
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
            self.type_names[f"{path}.{key.value}"] = key
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
        # Each name's place is its node in the list, which self.nodes holds under ``path`` (checks.py finds an
        # unknown name's there): not recorded again under a path of its own for each of thousands of names.
        names = [self.text(f"{path}[{i}]", item, MAX_NAME_LENGTH) for i, item in enumerate(node.value)]
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
        parameters = self.parameters(f"{path}.parameters", fields.get("parameters"), key.value)
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

    def parameters(self, path: str, node: yaml.Node | None, device: str) -> tuple[str, tuple] | None:
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
            self.parameter_nodes[device, name] = (key, value)
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
        if is_null(node) and (name == "hostname" or is_empty(node)):
            if name != "hostname":
                self.refuse(path, node, "has no value (only hostname may be ~, where the generated hostname "
                                        "goes)")
            return None
        value = self.text(path, node)
        if value is None:
            return ""
        if node.tag == BOOL_TAG:
            truth = CONSTRUCTOR.bool_values.get(value.lower())
            if truth is None:  # tagged !!bool, but not one of YAML's spellings of a boolean
                self.refuse(path, node, f"must be true or false, not {quoted(value)}")
                return ""
            if guacamole.kind_of(protocol, name) == guacamole.BOOLEAN:
                value = "true" if truth else "false"
        for problem in self.problems_with_value(protocol or "", name, value):
            self.warn(path, node, problem)
        return value

    def problems_with_value(self, protocol: str, name: str, value: str) -> list[str]:
        """What guacd makes of the value, when it knows the parameter (of one it does not, ``problem_with_value``
        says nothing: most of the 9,600 of many-unknown-long-names), and what Guacamole's tokens make of it;
        each worked out once per distinct value, however often an alias repeats it."""
        problems = []
        kind = guacamole.kind_of(protocol, name)
        if kind is not None:
            # A colour scheme reads the same for every protocol that has one: weighed once, not once for each.
            key = ("", kind, value) if kind == guacamole.COLOR_SCHEME else (protocol, name, value)
            if key not in self.guacd_problems:
                self.guacd_problems[key] = guacamole.problem_with_value(protocol, name, value)
            if self.guacd_problems[key]:
                problems.append(self.guacd_problems[key])
        if value not in self.token_problems:
            self.token_problems[value] = tokens.problem(value)
        if self.token_problems[value]:
            problems.append(self.token_problems[value])
        return problems
