"""The credentials sheet: who logs in with what, for the trainer to hand out.

Written as CSV (type, username, password), and for a lab with pods a fourth column, ``devices``: the
devices each user owns, as ``name=hostname`` separated by ``; `` (``Router=10.0.7.1; PC=10.0.7.10``), so a
trainer can hand out "your machine is 10.0.7.10". Every cell holds exactly what the user types, even when
the XML holds only the password's hash: that is the point of the sheet.

A spreadsheet that opens the file runs a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (OWASP, "CSV injection"). Such a cell is still written exactly, since a changed password
would not log in; ``Sheet.formula_cells`` names them, so the command line and the page can say which cells to
open as text (docs/guacamole.md, "The credentials sheet").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from ..lab.expand import Connection, UserMapping

HEADER = ("type", "username", "password")
DEVICES = "devices"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHOWN_FORMULA_CELLS = 5  # a warning names this many cells, then counts the rest


@dataclass(frozen=True)
class Sheet:
    """The sheet as CSV bytes, and the cells in it a spreadsheet would run (``row 3 password``; row 1 is
    the header), found as it is written."""

    csv: bytes
    formula_cells: tuple[str, ...]

    def warning(self) -> str | None:
        """One sentence naming the first few formula cells and counting the rest, or None when there are none."""
        cells = self.formula_cells
        if not cells:
            return None
        named = ", ".join(cells[:SHOWN_FORMULA_CELLS])
        more = f" and {len(cells) - SHOWN_FORMULA_CELLS:,} more" if len(cells) > SHOWN_FORMULA_CELLS else ""
        return (f"a spreadsheet would run {len(cells):,} cell{'s' if len(cells) > 1 else ''} of the credentials "
                f"sheet as formulas ({named}{more}); they are written exactly, so open the sheet with every column "
                f"as text")


def credentials_sheet(mapping: UserMapping) -> Sheet:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    columns = _header(mapping)
    writer.writerow(columns)
    formulas = []
    for number, row in enumerate(_rows(mapping), start=2):
        writer.writerow(row)
        formulas += (f"row {number} {column}" for column, cell in zip(columns, row) if cell.startswith(FORMULA_STARTS))
    return Sheet(text.getvalue().encode("utf-8"), tuple(formulas))


def _header(mapping: UserMapping) -> tuple[str, ...]:
    return HEADER + (DEVICES,) if _has_pods(mapping) else HEADER


def _rows(mapping: UserMapping) -> Iterator[tuple[str, ...]]:
    if not _has_pods(mapping):
        return ((u.user_type, u.username, u.password) for u in mapping.users)
    return ((u.user_type, u.username, u.password, owned(connections)) for u, connections in mapping.own_devices())


def _has_pods(mapping: UserMapping) -> bool:
    return any(g.parts for g in mapping.groups)


def owned(connections: list[Connection]) -> str:
    """``name=hostname; ...`` for a user's own devices."""
    return "; ".join(f"{c.name}={dict(c.parameters).get('hostname', '')}" for c in connections)

