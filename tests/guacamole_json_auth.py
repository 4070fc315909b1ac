"""Guacamole 1.6.0's encrypted JSON authentication (the extension guacamole-auth-json), re-implemented for tests.

Written from reading the extension's ``UserDataService.fromCredentials``, ``CryptoService`` and ``UserData``:
the ``data`` parameter is base64 (Guava's ``BaseEncoding.base64()``: the standard alphabet, nothing else);
decrypted with AES/CBC/PKCS5Padding under the key and a zero IV (a bad padding refuses it); what is left must
be longer than the 32-byte signature, which must equal the HMAC-SHA256 under the same key of the rest; the
rest is UTF-8 JSON that Jackson reads into ``UserData`` (an unknown property refuses it; of a key given twice
the last wins); data whose ``expires`` (milliseconds) is before the current millisecond is refused (the
comparison is ``now > expires``: the expiry's own millisecond is still valid); single-use data needs
``expires``, and is refused the second time its signature is seen.

``from_link`` takes the link a student opens (``...#/?data=...``, or ``?data=`` before the fragment) as
Guacamole's web app reads it: AngularJS's ``$location.search()`` percent-decodes the query of the fragment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SIGNATURE_LENGTH = 32
USER_DATA = {"username", "expires", "singleUse", "connections"}
CONNECTION = {"id", "protocol", "join", "parameters", "singleUse"}
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class Refused(ValueError):
    """Guacamole would not sign anybody in with this data."""


def from_link(url: str) -> str:
    """The ``data`` parameter a link gives Guacamole."""
    parts = urlsplit(url)
    query = parts.fragment.partition("?")[2] if "?" in parts.fragment else parts.query
    values = [unquote(value) for name, _, value in (p.partition("=") for p in query.split("&")) if name == "data"]
    if not values:
        raise Refused("no data parameter")
    return values[0]


def decode(data: str, key: bytes, now: int, seen: set[bytes] | None = None) -> dict:
    """The user data Guacamole would accept, as a dict; raises ``Refused`` as the extension returns null.
    ``now`` is the current time in milliseconds; ``seen``, the single-use signatures seen already."""
    if not _BASE64.fullmatch(data) or len(data.rstrip("=")) % 4 == 1:
        raise Refused("not proper base64")
    try:
        encrypted = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except binascii.Error:
        raise Refused("not proper base64") from None
    if not encrypted or len(encrypted) % 16:
        raise Refused("decryption failed: not whole blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise Refused("decryption failed: bad padding") from None
    if len(plain) <= SIGNATURE_LENGTH:
        raise Refused("too small to contain both a signature and JSON")
    signature, body = plain[:SIGNATURE_LENGTH], plain[SIGNATURE_LENGTH:]
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256).digest()):
        raise Refused("signature of submitted data is incorrect")
    try:
        user = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise Refused(f"received JSON is invalid: {error}") from None
    _check_shape(user)
    expires = user.get("expires")
    if expires is not None and now > expires:
        raise Refused("expired")
    if user.get("singleUse"):
        if expires is None:
            raise Refused("single-use data without an expiry")
        if seen is not None:
            if signature in seen:
                raise Refused("single-use data used already")
            seen.add(signature)
    return user


def _check_shape(user) -> None:
    """What Jackson's mapping into ``UserData`` refuses (a stricter reading of strings than Jackson's
    coercions, which the links never need)."""
    if not isinstance(user, dict) or set(user) - USER_DATA:
        raise Refused("not UserData: unknown property")
    if not isinstance(user.get("username"), (str, type(None))):
        raise Refused("username is not a string")
    expires = user.get("expires")
    if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool)):
        raise Refused("expires is not a whole number of milliseconds")
    connections = user.get("connections")
    if connections is None:
        return
    if not isinstance(connections, dict):
        raise Refused("connections is not an object")
    for connection in connections.values():
        if not isinstance(connection, dict) or set(connection) - CONNECTION:
            raise Refused("a connection with an unknown property")
        parameters = connection.get("parameters")
        if parameters is not None and not (isinstance(parameters, dict)
                                           and all(isinstance(v, str) for v in parameters.values())):
            raise Refused("parameters are not strings")


def connections(user: dict) -> dict[str, tuple[str | None, dict[str, str]]]:
    """``{name: (protocol, {parameter: value})}``, as ``guacamole_reader.read`` gives a user's connections."""
    return {name: (c.get("protocol"), dict(c.get("parameters") or {}))
            for name, c in (user.get("connections") or {}).items()}
