"""The credentials sheet: who logs in with what, for the trainer to hand out.

Written as CSV (type, username, password), the password as the user types it, even when the XML holds only
its hash: that is the point of the sheet.
"""

from __future__ import annotations

import csv
import io

from .expand import UserMapping

HEADER = ("type", "username", "password")


def credentials_csv(mapping: UserMapping) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows((u.user_type, u.username, u.password) for u in mapping.users)
    return text.getvalue().encode("utf-8")
