"""A stored session, and how one Azure Table Storage entity holds it (schema version 7).

The compressed XML, credentials and summary, and the lab as Guacamole's import entries (the other formats
are written from them on download), one after another, are split into binary properties of at most 64 KiB
(``Files0``..); ``Facts`` (JSON) says how long each is, and what the summary needs without reading them.
Few properties, because the SDK's CPU grows with their number: 18 properties cost 0.3 ms more a save and
a read than 7. Where the entity lives, and how it is written and retired, is ``store.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate

from .compression import Compressed, decompress
from .session_keys import cookie_value

CHUNK_BYTES = 64 * 1024
# Azure counts a binary property's raw bytes against the 1 MiB entity limit; Azurite counts the JSON
# request body, where binary is base64 (4/3 larger). 11 chunks' worth (704 KiB, 939 KiB as base64) plus
# the other properties fits both, in at most 11 chunk properties.
STORED_BYTES_LIMIT = 11 * CHUNK_BYTES
# 1: before SchemaVersion, Summary chunks and tombstones; 2: before Import chunks; 3: one table for all hours;
# 4: credentials cells a spreadsheet would run were written with a leading '; 5: no Secret, a token per upload;
# 6: a property per fact and chunks per file (Xml0.., Credentials0..)
SCHEMA_VERSION = 7


@dataclass(frozen=True)
class Session:
    """One stored file; times are timezone-aware UTC."""

    token: str
    created: datetime
    expires: datetime
    users: int
    connections: int
    xml_size: int
    xml_sha256: str
    xml_zstd: bytes = field(repr=False)
    summary_zstd: bytes = field(repr=False)
    credentials_zstd: bytes = field(repr=False, default=b"")
    import_zstd: bytes = field(repr=False, default=b"")
    secret: str = field(repr=False, default="")  # what proves a cookie was given this version of the file
    etag: str = ""  # the entity's version, as storage gave it

    @property
    def cookie(self) -> str:
        """What the session cookie holds: the token, the secret that lets it read the file, and the version
        of the entity this browser saw, with which replacing or ending the session is one conditional write."""
        return cookie_value(self.token, self.secret, self.etag)

    def xml(self) -> bytes:
        return decompress(self.xml_zstd)

    def credentials(self) -> bytes:
        """The credentials sheet (CSV) kept with the file."""
        return decompress(self.credentials_zstd)

    def summary(self) -> bytes:
        """What the app said about the file when it was made (its JSON), to say it again after a reload."""
        return decompress(self.summary_zstd)

    def import_entries(self) -> bytes:
        """The lab as Guacamole's import file in JSON (``outputs.import_files.import_json``), kept with the file."""
        return decompress(self.import_zstd)


def session_properties(*, secret: str, created: datetime, expires: datetime, users: int, connections: int,
                       xml: Compressed, files: tuple[bytes, ...]) -> dict:
    """A session's entity, apart from its keys: ``files`` are the XML's, credentials', summary's and
    import's zstd frames, in that order."""
    facts = {"created": created.isoformat(), "users": users, "connections": connections,
             "xml_size": xml.size, "xml_sha256": xml.sha256, "file_bytes": [len(file) for file in files]}
    return {"SchemaVersion": SCHEMA_VERSION, "Secret": secret, "ExpiresAt": expires,
            "Facts": json.dumps(facts), **_chunked(b"".join(files))}


def session_from(token: str, entity: Mapping) -> Session:
    """The session an entity of the current layout holds; KeyError, TypeError or ValueError for any other
    layout, or for chunks that do not add up to the files ``Facts`` counts."""
    if entity.get("SchemaVersion") != SCHEMA_VERSION:
        raise KeyError("SchemaVersion")
    facts = json.loads(entity["Facts"])
    sizes = [_count(size) for size in facts["file_bytes"]]
    data = b"".join(entity[f"Files{index}"] for index in range(-(-sum(sizes) // CHUNK_BYTES)))
    if len(data) != sum(sizes):
        raise ValueError("the chunks do not hold the files")
    ends = list(accumulate(sizes))
    xml_zstd, credentials_zstd, summary_zstd, import_zstd = (
        data[end - size:end] for end, size in zip(ends, sizes, strict=True))
    return Session(
        token=token,
        created=_aware(datetime.fromisoformat(facts["created"])),
        expires=entity["ExpiresAt"],
        users=_count(facts["users"]),
        connections=_count(facts["connections"]),
        xml_size=_count(facts["xml_size"]),
        xml_sha256=_text(facts["xml_sha256"]),
        xml_zstd=xml_zstd,
        summary_zstd=summary_zstd,
        credentials_zstd=credentials_zstd,
        import_zstd=import_zstd,
        secret=entity["Secret"],
        etag=entity.metadata["etag"],
    )


def _count(value: object) -> int:
    """A length or count from ``Facts``; TypeError for anything but a whole number from 0 (a negative
    length would cut the frames where no file ends, a size in a string fail only at download)."""
    if type(value) is not int or value < 0:  # not isinstance: JSON's true is a bool, and a bool an int
        raise TypeError(f"not a count: {value!r}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _aware(moment: datetime) -> datetime:
    """Session times are timezone-aware: a naive one fails when compared with one."""
    if moment.tzinfo is None:
        raise ValueError(f"a time without its zone: {moment.isoformat()}")
    return moment


def _chunked(data: bytes) -> dict:
    starts = range(0, len(data), CHUNK_BYTES)
    return {f"Files{index}": data[start:start + CHUNK_BYTES] for index, start in enumerate(starts)}
