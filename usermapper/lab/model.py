"""The lab: what a valid config describes, before anything is generated from it.

The reader (``reader.py``) builds it and the checks (``checks.py``) have passed on it, so everything in
it is consistent: every ``devices:`` name exists, every count is within the limits, names are unique.
It also keeps where each field was written (``places``), so a later step that finds a problem (the
database import, ``outputs/import_files.py``) can point at the line without reading the config again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property

from . import pods

DEFAULT_LAB_NAME = "usermapper"


@dataclass(frozen=True)
class Problem:
    """One mistake (or warning) in a config, at a 1-based line and column; line 0 when it has no place."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.line}:{self.column}: {where}{self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


class Refused(Exception):
    """What the lab or an output of it cannot be: ``problems`` say what and where, one per line."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class ConfigError(Refused, ValueError):
    """A config that cannot be used. ``syntax`` is true when it is not even readable YAML (HTTP 400, not 422)."""

    def __init__(self, problems: list[Problem], syntax: bool = False):
        super().__init__(problems)
        self.syntax = syntax


@dataclass(frozen=True)
class Numbering:
    """A prefix and a counter: start 9 with width 2 gives ``prefix09, prefix10, ...``. An empty suffix
    (``counted`` false) numbers nothing: the prefix alone, for a single name."""

    prefix: str
    start: int
    width: int
    counted: bool = True

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


@dataclass(frozen=True)
class UserType:
    name: str
    quantity: int
    username: Numbering
    password: str | None  # None: one random password per user
    password_length: int
    password_encoding: str  # plain, md5 or sha256
    devices: tuple[str, ...] | None  # None: every device type
    all_pods: bool = False  # ``pods: all``: reaches every owner's pod devices (an instructor), owns none


@dataclass(frozen=True)
class DeviceType:
    """A shared device type (``quantity`` devices every user reaches), or with ``per_user`` a pod type:
    each owner gets ``quantity`` devices of their own, whose prefixes may hold the owner's number."""

    name: str
    quantity: int  # for a pod type: per owner
    connection_name: Numbering
    hostname: Numbering | None  # None when parameters carry a literal hostname
    protocol: str
    parameters: tuple[tuple[str, str | None], ...]  # in config order; None marks the generated hostname
    per_user: bool = False
    across_owners: bool = False  # a pod type's numbers go on from owner to owner instead of restarting

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


@dataclass(frozen=True)
class Lab:
    user_types: tuple[UserType, ...]
    device_types: tuple[DeviceType, ...]
    warnings: tuple[Problem, ...] = ()
    pod_start: int = 1  # the first owner's number
    name: str = DEFAULT_LAB_NAME  # the top-level ``lab:``, the connection group of a database import
    # Where each field was written, by its dotted path (``users.students.username_prefix``), and where each
    # type's name was written (``devices.PC``). Apart, because a type's name may hold dots: the device type
    # ``PC.name_prefix`` and the field ``name_prefix`` of the device type ``PC`` have one path.
    places: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    name_places: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)
    # Where each parameter's name and value were written, by device type and parameter name: apart again,
    # since ``devices.A.parameters.name_prefix`` is also the field name_prefix of the device type A.parameters.
    parameter_places: dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int]]] = field(
        default_factory=dict, compare=False, repr=False)

    def problem(self, path: str, message: str, *, at_name: bool = False) -> Problem:
        """A problem at the place of the field ``path``, or with ``at_name`` of the name of the type ``path``
        (line 0 when the config did not write it)."""
        line, column = (self.name_places if at_name else self.places).get(path, (0, 0))
        return Problem(path, line, column, message)

    def parameter_problem(self, device: str, name: str, message: str, *, at_name: bool = False) -> Problem:
        """A problem of the parameter ``name`` of the device type ``device``, at its value or with ``at_name``
        at its name (line 0 when the config did not write it)."""
        name_place, value_place = self.parameter_places.get((device, name), ((0, 0), (0, 0)))
        line, column = name_place if at_name else value_place
        return Problem(f"devices.{device}.parameters.{name}", line, column, message)

    def device_types_for(self, user_type: UserType) -> tuple[DeviceType, ...]:
        """The device types a user type reaches, in config order: one tuple for all the user types of one
        ``devices:`` list (an alias, or none), so that what depends on the list alone is worked out once."""
        return self._reach[user_type.name][0]

    def first_owner(self, user_type: UserType) -> int | None:
        """The number of the type's first user when its users own pods (the next users count on), else None."""
        return self._owner_numbers.get(user_type.name)

    def owners(self, device: DeviceType) -> tuple[tuple[UserType, int], ...]:
        """The user types owning pods of a pod device type, each with its first owner's number, in order."""
        return self._owners_by_device.get(device.name, ())

    def owner_count(self, device: DeviceType) -> int:
        return self._owner_counts.get(device.name, 0)

    def end_owners(self, device: DeviceType) -> tuple[tuple[UserType, int], tuple[UserType, int]] | None:
        """The first and the last user type owning pods of ``device``, each with its first owner's number,
        as ``owners`` would list them; None when nobody owns them. Found without listing every owner."""
        first = self._first_owners.get(device.name)
        return None if first is None else (first, self._last_owners[device.name])

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
        """Owner numbers, in config order from ``pod_start``: only the users of types that own pods
        (reach a per_user type without ``pods: all``) take one."""
        numbers, next_owner = {}, self.pod_start
        for user_type in self.user_types:
            if not user_type.all_pods and self._reach[user_type.name][2]:
                numbers[user_type.name] = next_owner
                next_owner += user_type.quantity
        return numbers

    @cached_property
    def _owner_counts(self) -> dict[str, int]:
        """The owners of each pod type, summed per ``devices:`` list and then spread over the list's pod
        types: 500 owner types of 300 pod types cost 800 steps here, where ``owners`` makes 150,000 pairs
        (a lab that large is refused by its counts, so only one within the limits lists its owners)."""
        owners_by_list: dict[int, int] = {}
        for owner_type in self._owner_types:
            key = id(owner_type.devices)
            owners_by_list[key] = owners_by_list.get(key, 0) + owner_type.quantity
        counts: dict[str, int] = {}
        for key, devices in self._pod_types_by_list.items():
            for device in devices:
                counts[device.name] = counts.get(device.name, 0) + owners_by_list[key]
        return counts

    @cached_property
    def _first_owners(self) -> dict[str, tuple[UserType, int]]:
        return self._end_owners(self._owner_types)

    @cached_property
    def _last_owners(self) -> dict[str, tuple[UserType, int]]:
        return self._end_owners(self._owner_types[::-1])

    def _end_owners(self, owner_types: tuple[UserType, ...]) -> dict[str, tuple[UserType, int]]:
        """For each pod type, the first of ``owner_types`` that owns pods of it: each ``devices:`` list is
        looked at once, where it first appears."""
        found: dict[str, tuple[UserType, int]] = {}
        seen: set[int] = set()
        for owner_type in owner_types:
            key = id(owner_type.devices)
            if key not in seen:
                seen.add(key)
                for device in self._pod_types_by_list[key]:
                    found.setdefault(device.name, (owner_type, self._owner_numbers[owner_type.name]))
        return found

    @cached_property
    def _owner_types(self) -> tuple[UserType, ...]:
        return tuple(u for u in self.user_types if u.name in self._owner_numbers)

    @cached_property
    def _pod_types_by_list(self) -> dict[int, tuple[DeviceType, ...]]:
        """The pod types each owners' ``devices:`` list reaches, by the list."""
        return {id(u.devices): tuple(d for d in self.device_types_for(u) if d.per_user) for u in self._owner_types}

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
