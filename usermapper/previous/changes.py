"""What changed since the previous run, for the trainer to know whom to tell what (docs/week-two.md).

Per user type of the lab: the users added, removed and kept; and for the users kept, the connections each
gained (``+ PC3``), lost (``- WS2``) or whose protocol or parameters changed (``~ Router (hostname)``).
Users with the same change share one line (``student01, student02, student03 and 9 more: + PC3``), and
the rest are counted (``4 others unchanged``). The users come from the previous user-mapping.xml or lab
(``mapping.py``), or from the previous credentials sheet alone, which says who was there but not what they
reached. A user is the same user when the username is the same, exactly, as Guacamole compares them; a
connection is the same connection when its name is. The order of a connection's parameters does not
matter to Guacamole, and does not count as a change.

Every list is bounded: a line names at most ``SHOWN_NAMES`` users or connections, then counts the rest; at
most ``SHOWN_CHANGES`` distinct changes are listed in all (the users of the others are counted), and at
most ``MAX_REPORTED`` user types. So the summary stays a few kilobytes whatever the lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..lab.expand import Connection, UserMapping
from ..lab.yaml_nodes import MAX_REPORTED
from ..wording import counted
from .mapping import PreviousLab
from .sheet import PreviousSheet

SHOWN_NAMES = 5
SHOWN_CHANGES = 100


@dataclass
class Named:
    """The first ``SHOWN_NAMES`` names of a list, and how many it holds."""

    first: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, name: str) -> None:
        if len(self.first) < SHOWN_NAMES:
            self.first.append(name)
        self.count += 1

    def text(self) -> str:
        if self.count <= len(self.first):
            return ", ".join(self.first)
        return f"{', '.join(self.first)} and {self.count - len(self.first):,} more"

    def as_dict(self) -> dict:
        return {"first": self.first, "count": self.count}


@dataclass
class TypeChanges:
    """One user type's users added, removed and kept, and the changes of those kept (by change, the users
    who have it); ``other_changes`` counts the users whose change is not listed."""

    name: str
    added: Named = field(default_factory=Named)
    removed: Named = field(default_factory=Named)
    kept: int = 0
    changes: dict[str, Named] = field(default_factory=dict)
    other_changes: int = 0
    unchanged: int = 0

    def lines(self, connections_known: bool) -> list[str]:
        counts = [f"{self.added.count:,} added ({self.added.text()})" if self.added.count else "",
                  f"{self.removed.count:,} removed ({self.removed.text()})" if self.removed.count else "",
                  f"{self.kept:,} kept" if self.kept else ""]
        same = connections_known and self.kept and self.unchanged == self.kept
        lines = [f"{self.name}: {', '.join(c for c in counts if c)}{', connections unchanged' if same else ''}"]
        if not connections_known or same:
            return lines
        lines += [f"  {self._who(users)}: {change}" for change, users in self.changes.items()]
        if self.other_changes:
            lines.append(f"  and {counted(self.other_changes, 'more user')} with other changes")
        if self.unchanged:
            lines.append(f"  {self.unchanged:,} other{'s' if self.unchanged > 1 else ''} unchanged")
        return lines

    def _who(self, users: Named) -> str:
        """The users who have one change: ``all 12`` when every kept user of the type has it."""
        return f"all {users.count:,}" if users.count == self.kept > 1 else users.text()

    def as_dict(self) -> dict:
        return {"name": self.name, "added": self.added.as_dict(), "removed": self.removed.as_dict(),
                "kept": self.kept, "changes": [{"users": u.as_dict(), "change": c} for c, u in self.changes.items()],
                "other_changes": self.other_changes, "unchanged": self.unchanged}


@dataclass
class Changes:
    """The changes per user type (a removed user whose type is not in the lab any more is listed under
    that type, or under ``None`` when the previous file had no types), and with a previous sheet, how many
    random passwords were kept and which users got new ones. ``connections_known`` is false when only a
    sheet said who was there before."""

    types: list[TypeChanges]
    more_types: int
    connections_known: bool
    passwords_kept: int | None = None
    passwords_new: Named = field(default_factory=Named)

    def lines(self) -> list[str]:
        """The summary as lines of text, as the command line prints it."""
        lines = []
        for changed in self.types:
            if changed.name is None:
                lines.append(f"no longer in the lab: {counted(changed.removed.count, 'user')} "
                             f"({changed.removed.text()})")
            else:
                lines += changed.lines(self.connections_known)
        if self.more_types:
            lines.append(f"and {counted(self.more_types, 'more user type')}")
        if self.passwords_kept is not None:
            new = f", {self.passwords_new.count:,} new ({self.passwords_new.text()})" if self.passwords_new.count else ""
            lines.append(f"random passwords: {self.passwords_kept:,} kept{new}")
        return lines

    def as_dict(self) -> dict:
        return {"user_types": [t.as_dict() for t in self.types], "more_user_types": self.more_types,
                "connections_known": self.connections_known, "passwords_kept": self.passwords_kept,
                "passwords_new": self.passwords_new.as_dict()}


def changes(mapping: UserMapping, previous: PreviousLab | None, sheet: PreviousSheet | None,
            random_types: frozenset[str] = frozenset()) -> Changes:
    """What changed from ``previous`` (or, without it, from the users of ``sheet``) to ``mapping``; with a
    sheet, which users of the ``random_types`` (the user types with ``password: random``) keep theirs."""
    before = previous.types if previous is not None else (
        {name: sheet.types.get(name) or None for name in sheet.passwords} if sheet is not None else {})
    by_type: dict[str | None, TypeChanges] = {g.users[0].user_type: TypeChanges(g.users[0].user_type)
                                              for g in mapping.groups if g.users}
    budget = Budget(SHOWN_CHANGES)
    differences: dict[tuple[int, int], str] = {}
    kept, new = 0, Named()
    for group in mapping.groups:
        for index, user in enumerate(group.users):
            changed = by_type[user.user_type]
            if sheet is not None and user.user_type in random_types:
                if user.username in sheet.passwords:
                    kept += 1
                else:
                    new.add(user.username)
            if user.username not in before:
                changed.added.add(user.username)
                continue
            changed.kept += 1
            if previous is not None:
                now = list(group.connections_of(index)) if group.parts else group.connections
                _note(changed, user.username, _difference(previous.connections(user.username), now, differences),
                      budget)
    usernames = {u.username for g in mapping.groups for u in g.users}
    sheet_types = sheet.types if sheet is not None else {}
    for username, user_type in before.items():
        if username not in usernames:
            user_type = user_type or sheet_types.get(username) or None  # a user-mapping.xml has no types
            by_type.setdefault(user_type, TypeChanges(user_type)).removed.add(username)
    listed = [t for t in by_type.values() if t.added.count or t.removed.count or t.kept]
    return Changes(listed[:MAX_REPORTED], max(0, len(listed) - MAX_REPORTED), previous is not None,
                   kept if sheet is not None else None, new)


@dataclass
class Budget:
    """How many more distinct changes may be listed, in all user types together."""

    left: int


def _note(changed: TypeChanges, username: str, difference: str, budget: Budget) -> None:
    if not difference:
        changed.unchanged += 1
    elif difference in changed.changes:
        changed.changes[difference].add(username)
    elif budget.left > 0:
        budget.left -= 1
        changed.changes[difference] = Named()
        changed.changes[difference].add(username)
    else:
        changed.other_changes += 1


def _difference(old: Sequence[Connection], new: Sequence[Connection], known: dict[tuple[int, int], str]) -> str:
    """``+ PC3; - WS2; ~ Router (hostname)``, or the empty text when nothing changed. Two tuples are lists
    shared by many users, alive as long as their labs: their difference is worked out once."""
    shared = isinstance(old, tuple) and isinstance(new, tuple)
    if shared and (id(old), id(new)) in known:
        return known[id(old), id(new)]
    before = {c.name: c for c in old}
    after = {c.name: c for c in new}
    added = Named()
    changed = Named()
    for name, connection in after.items():
        was = before.get(name)
        if was is None:
            added.add(name)
        elif was != connection:
            parameters = _changed_parameters(was, connection)
            if parameters:
                changed.add(f"{name} ({', '.join(parameters)})")
    removed = Named()
    for name in before:
        if name not in after:
            removed.add(name)
    parts = [f"{sign} {names.text()}" for sign, names in (("+", added), ("-", removed), ("~", changed)) if names.count]
    difference = "; ".join(parts)
    if shared:
        known[id(old), id(new)] = difference
    return difference


def _changed_parameters(was: Connection, now: Connection) -> list[str]:
    """The protocol, if it changed, and each parameter added, removed or given another value."""
    before, after = dict(was.parameters), dict(now.parameters)
    changed = ["protocol"] if was.protocol != now.protocol else []
    changed += [name for name, value in after.items() if before.get(name) != value]
    changed += [name for name in before if name not in after]
    return changed[:SHOWN_NAMES] + ([f"{len(changed) - SHOWN_NAMES} more"] if len(changed) > SHOWN_NAMES else [])
