"""Where a session lives and what its cookie says.

A session's token is its expiry hour and a random UUID4 (``2026112615-<uuid>``): the table
``<prefix><YYYYMMDDHH>`` and, in it, RowKey the UUID and PartitionKey its first two hex digits (a busy hour
spreads over 256 partitions). So a download is a point read in a known table. The cookie adds, after
``.``s, the session's secret (what lets it read the file) and the version it was given (the entity's ETag,
in base64url), with which replacing or ending the session is one conditional write (``store.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import NamedTuple

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TOKEN_PATTERN = re.compile(rf"(?P<hour>[0-9]{{10}})-(?P<row>{UUID4})")
HOUR_FORMAT = "%Y%m%d%H"
LAST_HOUR = "9" * 10  # above every hour in a table name: the end of the sweep's name range
COOKIE_MARK = "."  # between a cookie's token, secret and version
SECRET_BYTES = 16  # a session's secret: 128 random bits, 22 base64url characters in the cookie
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")  # what new_secret makes
ETAG_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")  # what a version may be: visible ASCII, never a header break


class Location(NamedTuple):
    """Where a token's entity lives: its hour's table and its keys."""

    table: str
    partition: str
    row: str
    hour: datetime


class Cookie(NamedTuple):
    """What a session cookie holds: the token (where the entity is), the secret that lets it read the file,
    and the version it was given; the secret or the version is None where it is missing or malformed."""

    token: str
    secret: str | None
    etag: str | None


def table_name(prefix: str, expires: datetime) -> str:
    """The table of the sessions that expire in the same UTC hour as ``expires``."""
    return prefix + expires.astimezone(timezone.utc).strftime(HOUR_FORMAT)


def locate(prefix: str, token: str) -> Location | None:
    """The table and keys a token (or a cookie: a token, a secret and a version) names, or None for a token
    this layout never made (malformed, tampered with, or of an older layout)."""
    match = TOKEN_PATTERN.fullmatch((token or "").partition(COOKIE_MARK)[0])
    if match is None:
        return None
    try:
        hour = datetime.strptime(match["hour"], HOUR_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return Location(prefix + match["hour"], match["row"][:2], match["row"], hour)


def parse_cookie(cookie: str) -> Cookie:
    """A cookie's token, secret and version, each part None where it is missing or malformed (a cookie of
    the layout before secrets held a token and a version, or a token alone)."""
    token, _, rest = cookie.partition(COOKIE_MARK)
    secret, _, version = rest.partition(COOKIE_MARK)
    return Cookie(token, secret if SECRET_PATTERN.fullmatch(secret) else None, etag_of(version))


def etag_of(version: str) -> str | None:
    """The ETag a cookie's version stands for, or None when it cannot be one."""
    try:
        etag = base64.urlsafe_b64decode(version + "=" * (-len(version) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    return etag if ETAG_PATTERN.fullmatch(etag) else None


def new_secret() -> str:
    """A session's new secret, for its cookie and its entity."""
    return secrets.token_urlsafe(SECRET_BYTES)


def new_token(expires: datetime) -> str:
    """A token in the expiry's hour."""
    return f"{expires.strftime(HOUR_FORMAT)}-{uuid.uuid4()}"


def keyed(entity: dict, token: str) -> dict:
    """The entity under the keys the token names."""
    where = locate("", token)
    return {"PartitionKey": where.partition, "RowKey": where.row, **entity}


def cookie_value(token: str, secret: str, etag: str) -> str:
    """What the session cookie holds (``parse_cookie`` reads it back)."""
    version = base64.urlsafe_b64encode(etag.encode("ascii")).decode("ascii").rstrip("=")
    return COOKIE_MARK.join((token, secret, version))
