"""Sign-in links: one link per user that signs them straight in to Guacamole with exactly their connections.

Guacamole's encrypted JSON authentication (the extension ``guacamole-auth-json`` of the 1.6.0 release) takes
a ``data`` parameter: a JSON document (``username``; ``expires``, milliseconds since 1970, valid up to and
including that millisecond; ``singleUse``; ``connections``, each name the user sees mapped to its
``protocol`` and ``parameters``), with its HMAC-SHA256 under the 16-byte key put before it, the whole
encrypted with AES-128-CBC under the same key, a zero IV and PKCS#7 padding, then base64. The key is the
server's ``json-secret-key``. Each user's document holds exactly the connections and parameters
``user-mapping.xml`` gives them (read from the same expansion, ``lab.expand.UserMapping``). The IV is fixed,
so the same key and document always give the same link, byte for byte.

The link is ``<guacamole-url>/#/?data=<base64, percent-encoded>``: Guacamole's web app hands the query of
its page's fragment to ``/api/tokens`` in a form body (up to Tomcat's 2 MiB ``maxPostSize``), while ``?data=``
before the fragment rides in the request line, which Tomcat's 8 KB limit refuses for a long list. A link
longer than ``MAX_LINK_CHARS`` is refused, at the user type, before anything is written (docs/signin-links.md).

What JSON authentication cannot give is said in warnings: ``${GUAC_PASSWORD}`` has no value (nobody typed a
password), so Guacamole sends it as written; and a connection name twice in one user's list keeps only
the last (the document is a JSON object).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from ..lab.expand import Connection, UserMapping
from ..lab.model import Lab, Problem, Refused
from ..wording import quoted

KEY_BYTES = 16  # AES-128: the key is 32 hex digits (``openssl rand -hex 16``)
IV = bytes(16)  # the extension's: all zero
# The longest link written. Chromium refuses a URL over 2 MiB (2,097,152 characters), and Guacamole's web
# app posts the data to /api/tokens in a form body, which Tomcat reads up to 2 MiB (``maxPostSize``): a
# round bound under both, with room for the base URL and the form's other fields.
MAX_LINK_CHARS = 2_000_000
HEADER = ("type", "username", "link")
FRAGMENT = "/#/?data="
_PASSWORD_TOKEN = re.compile(r"(?<!\$)\$\{GUAC_PASSWORD(?::[A-Z]+)?\}")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX_KEY = re.compile(rf"[0-9a-fA-F]{{{2 * KEY_BYTES}}}")


class LinksRefused(Refused):
    """The links cannot be made: the problems, located in the config."""


@dataclass(frozen=True)
class Link:
    user_type: str
    username: str
    url: str


@dataclass(frozen=True)
class SignInLinks:
    links: tuple[Link, ...]
    expires: int  # milliseconds since 1970-01-01T00:00Z, the last valid one

    @property
    def csv(self) -> bytes:
        """type, username, link: one row a user, in the order of user-mapping.xml."""
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows((link.user_type, link.username, link.url) for link in self.links)
        return text.getvalue().encode("utf-8")


def parse_key(text: str) -> bytes:
    """The 16-byte key from its 32 hex digits (white space around them ignored); raises ``ValueError`` with
    a message that never holds the text."""
    digits = text.strip()
    if not _HEX_KEY.fullmatch(digits):
        raise ValueError(f"the key must be {2 * KEY_BYTES} hex digits (as `openssl rand -hex {KEY_BYTES}` "
                         f"writes), not {len(digits)} characters of something else")
    return bytes.fromhex(digits)


def parse_expires(text: str, now: datetime) -> int:
    """The last valid millisecond of a link: ``text`` is an ISO 8601 instant with its offset
    (``2026-12-10T17:00Z``, ``2026-12-10T18:00+01:00``) or a duration from ``now`` (``8h``, ``2d``,
    ``1h30m``); raises ``ValueError`` for anything else, and for an instant that is not in the future."""
    duration = _DURATION.fullmatch(text.strip())
    if duration and any(duration.groups()):
        days, hours, minutes, seconds = (int(g or 0) for g in duration.groups())
        when = now + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    else:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{quoted(text)} is neither an ISO 8601 instant such as 2026-12-10T17:00Z nor a "
                             f"duration such as 8h, 90m or 1d12h") from None
        if when.tzinfo is None:
            raise ValueError(f"{quoted(text)} has no offset from UTC: write Z or +01:00 after the time")
    if when <= now:
        raise ValueError(f"{quoted(text)} is not in the future: every link would already have expired")
    return (when - _EPOCH) // timedelta(milliseconds=1)


def check_base_url(url: str) -> str:
    """The Guacamole web app's address without a trailing slash; raises ``ValueError`` unless it is an
    http or https URL with no query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{quoted(url)} is not an http or https address such as https://guacamole.example.org/"
                         f"guacamole")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValueError(f"{quoted(url)} has a query or a fragment; give the address of Guacamole's page alone")
    return url.rstrip("/")


def document(username: str, connections: Iterator[Connection], expires: int, single_use: bool = False) -> bytes:
    """The JSON the extension reads, as UTF-8: compact, keys in a fixed order, so that it is the same
    bytes wherever it is made."""
    head, tail = document_parts(username, connections)
    return (head + expiry_part(expires, single_use) + tail).encode("utf-8")


def document_parts(username: str, connections: Iterator[Connection]) -> tuple[str, str]:
    """The document around its expiry: ``document_head`` and ``document_tail``. A page that makes links
    puts ``expiry_part`` between them (``static/signin.js``): its links are then the command line's, byte for
    byte."""
    return document_head(username), document_tail(connections)


def document_head(username: str) -> str:
    """The document up to its expiry: it ends with ``"expires":``."""
    return '{"username":' + _json(username) + ',"expires":'


def document_tail(connections: Iterator[Connection]) -> str:
    """The document after its expiry: it begins with ``,"connections":``. A name twice keeps only the last,
    as Guacamole's JSON reader does."""
    listed: dict[str, dict] = {}
    for connection in connections:
        listed.pop(connection.name, None)
        listed[connection.name] = {"protocol": connection.protocol, "parameters": dict(connection.parameters)}
    return ',"connections":' + _json(listed) + "}"


def expiry_part(expires: int, single_use: bool) -> str:
    """What goes between a document's head and tail: the expiry in milliseconds, and ``singleUse``."""
    return str(expires) + (',"singleUse":true' if single_use else "")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def seal(data: bytes, key: bytes) -> str:
    """``data`` signed, encrypted and in base64, as the extension's ``data`` parameter."""
    # Imported here, where it is needed: only sign-in links use cryptography, whose OpenSSL bindings add
    # 8 MB and 14 ms to every other run of the command line (bench/RESULTS.md, section 1).
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    signed = hmac.new(key, data, hashlib.sha256).digest() + data
    padder = padding.PKCS7(128).padder()
    padded = padder.update(signed) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def link(base_url: str, sealed: str) -> str:
    """The link a student opens: the data in the fragment, ``+``, ``/`` and ``=`` percent-encoded."""
    return base_url.rstrip("/") + FRAGMENT + quote(sealed, safe="")


def warnings(lab: Lab) -> list[Problem]:
    """What sign-in links cannot give that user-mapping.xml does, each at its place in the config. A connection
    name twice in one user's list would keep only the last (the list is a JSON object), but the lab's check
    refuses such a lab for every output (``lab/checks.py``, ``check_unique_names``): nothing to warn about."""
    found = []
    lists = {id(devices): devices for devices in map(lab.device_types_for, lab.user_types)}  # each list once
    reached = {d.name for devices in lists.values() for d in devices}
    # YAML aliases let a 1 MB config give a hundred parameters the same megabyte of text: each distinct value
    # is searched once (76 MB searched took 2.1 s), so at most the config's own text is.
    holds_token: dict[str, bool] = {}
    for device in lab.device_types:
        if device.name not in reached:
            continue
        for name, value in device.parameters:
            if value is None:
                value, field = device.hostname.prefix, f"devices.{device.name}.hostname_prefix"
            else:
                field = None
            if value not in holds_token:
                holds_token[value] = _PASSWORD_TOKEN.search(value) is not None
            if holds_token[value]:
                message = ("${GUAC_PASSWORD} has no value with a sign-in link (nobody types a password): Guacamole "
                           "sends it as written")
                found.append(lab.problem(field, message) if field else lab.parameter_problem(device.name, name,
                                                                                             message))
    return found


def sign_in_links(lab: Lab, mapping: UserMapping, key: bytes, expires: int, base_url: str,
                  single_use: bool = False) -> SignInLinks:
    """Every user's link; raises ``LinksRefused`` when a user type's links would be longer than
    ``MAX_LINK_CHARS``."""
    links, refused = [], {}
    for group in mapping.groups:
        for index, user in enumerate(group.users):
            url = link(base_url, seal(document(user.username, group.connections_of(index), expires, single_use),
                                      key))
            if len(url) > MAX_LINK_CHARS:
                refused.setdefault(user.user_type, (user.username, len(url)))
            links.append(Link(user.user_type, user.username, url))
    if refused:
        raise LinksRefused([lab.problem(f"users.{name}", f"the sign-in link of {quoted(username)} would be "
                                        f"{size:,} characters; browsers and Guacamole take at most "
                                        f"{MAX_LINK_CHARS:,}: give this user type fewer connections",
                                        at_name=True)
                            for name, (username, size) in refused.items()])
    return SignInLinks(tuple(links), expires)


def expiry_text(expires: int) -> str:
    """The expiry as an ISO 8601 instant in UTC, for messages."""
    when = datetime.fromtimestamp(expires / 1000, UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")
