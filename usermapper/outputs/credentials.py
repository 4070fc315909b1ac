"""The credentials sheet: who logs in with what, for the trainer to hand out.

Written as CSV (type, username, password), and for a lab with pods a fourth column, ``devices``: the
devices each user owns, as ``name=hostname`` separated by ``; `` (``Router=10.0.7.1; PC=10.0.7.10``), so a
trainer can hand out "your machine is 10.0.7.10". The password as the user types it, even when the XML holds only
its hash: that is the point of the sheet. A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula, so such a cell gets a leading ``'`` (OWASP's advice on CSV
injection), which spreadsheets show as nothing; a cell that already starts with ``'`` gets one too, so
that ``unprotected_cell`` gives back every value exactly.
"""

from __future__ import annotations

import csv
import io

from ..lab.expand import UserMapping

HEADER = ("type", "username", "password")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def credentials_csv(mapping: UserMapping) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    if not any(g.parts for g in mapping.groups):
        writer.writerow(HEADER)
        writer.writerows((protected_cell(u.user_type), protected_cell(u.username), protected_cell(u.password))
                         for u in mapping.users)
        return text.getvalue().encode("utf-8")
    writer.writerow(HEADER + ("devices",))
    writer.writerows((protected_cell(u.user_type), protected_cell(u.username), protected_cell(u.password),
                      protected_cell(owned(connections))) for u, connections in mapping.own_devices())
    return text.getvalue().encode("utf-8")


def owned(connections) -> str:
    """``name=hostname; ...`` for a user's own devices."""
    return "; ".join(f"{c.name}={dict(c.parameters).get('hostname', '')}" for c in connections)


def protected_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def unprotected_cell(value: str) -> str:
    """The value a cell of the sheet stands for."""
    return value[1:] if value.startswith("'") else value
