"""Which usernames Guacamole's MySQL or MariaDB database takes for one account, and which it cannot hold.

Its tables compare names in a case- and accent-insensitive collation, so two user types of one lab can
make usernames that are distinct in ``user-mapping.xml`` and one account in the database. The database
route (``import_files``, ``password_scripts``) refuses such labs, at the later type's ``username_prefix``.
Its tables store 3-byte UTF-8 (``CHARSET=utf8``), so a username with a character beyond U+FFFF cannot be
written at all: the MySQL password script refuses it, at the type's ``username_prefix``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..lab.model import Lab, Problem


def username_collisions(lab: Lab) -> list[Problem]:
    """Usernames of two user types that are one account in Guacamole's MySQL or MariaDB database: its
    tables (``CHARSET=utf8``) compare names in the charset's default collation, ``utf8mb3_general_ci``
    (``utf8mb4_general_ci`` for tables converted to utf8mb4), for which ``Student1``, ``student1``,
    ``STUDENT1 `` and ``stüdent1`` are equal; so the import would merge their grants, and the password
    script could give the one account only one of their passwords. Also names equal under
    ``str.casefold`` (``ß`` and ``ss``, newer case pairs the 2005 tables of general_ci do not know), which
    the UCA collations of newer servers and PostgreSQL with ``postgresql-case-sensitive-usernames: false``
    equate. One problem per pair of user types, at the later type's ``username_prefix``, naming the first
    such pair of names.
    (``user-mapping.xml`` compares usernames exactly; ``lab/checks.py`` refuses equal ones there.)"""
    order = {u.name: i for i, u in enumerate(lab.user_types)}
    clashing: dict[tuple[str, str], tuple[str, str]] = {}  # (earlier type, type): the first two usernames
    # ASCII names are equal folded exactly when their general_ci keys are: fold only a lab with others
    kinds = [_general_key] if all(u.username.prefix.isascii() for u in lab.user_types) else [_general_key,
                                                                                              _folded_key]
    for key_of in kinds:
        # A username is its prefix and a number, whose ASCII digits weigh and fold as themselves: two
        # usernames can be equal only if their prefixes' keys are, without the digits they end with.
        related: dict[str, list] = {}
        for user_type in lab.user_types:
            related.setdefault(key_of(user_type.username).rstrip(_DIGITS), []).append(user_type)
        for user_types in related.values():
            if len(user_types) > 1:
                _find_equal_usernames(user_types, key_of, clashing)
    problems = []
    for (earlier_type, type_name), (earlier, username) in sorted(
            clashing.items(), key=lambda item: (order[item[0][1]], order[item[0][0]])):
        problems.append(lab.problem(
            f"users.{type_name}.username_prefix",
            f"makes the username {username!r}, which Guacamole's MySQL or MariaDB database takes for "
            f"{earlier!r} of the user type {earlier_type}: it compares names regardless of case, accents "
            f"and trailing spaces, so the two would be one account; make the user types' usernames differ "
            f"in more than that"))
    return problems


def unstorable_usernames(lab: Lab) -> list[Problem]:
    """Usernames Guacamole's MySQL or MariaDB schema cannot store: its tables are ``CHARSET=utf8``
    (utf8mb3, at most 3 bytes a character), which holds no character beyond U+FFFF (an emoji, ``𝄞``): a
    statement with one fails (``ERROR 1366`` inserting it, 1267 comparing it), so the whole script would
    stop and nobody get a password.
    Only the prefix can hold one (the rest of a username is ASCII digits). One problem per user type, at
    its ``username_prefix``, naming the first such character."""
    problems = []
    for user_type in lab.user_types:
        beyond = _BEYOND_BMP.search(user_type.username.prefix)
        if beyond:
            char = beyond.group()
            problems.append(lab.problem(
                f"users.{user_type.name}.username_prefix",
                f"holds {char!r} (U+{ord(char):04X}, character {beyond.start() + 1} of the prefix), beyond "
                f"U+FFFF: Guacamole's MySQL and MariaDB tables (CHARSET=utf8, 3 bytes a character) cannot "
                f"store it, so the MySQL password script would stop there and set no password; use "
                f"characters up to U+FFFF, or the PostgreSQL script"))
    return problems


def mysql_problems(lab: Lab) -> list[Problem]:
    """What refuses the MySQL password script and not the PostgreSQL one: usernames MySQL takes for one,
    usernames it cannot store; in the order of their places."""
    return sorted(username_collisions(lab) + unstorable_usernames(lab), key=lambda p: (p.line, p.column))


def _find_equal_usernames(user_types: list, key_of: Callable, clashing: dict[tuple[str, str], tuple[str, str]]) -> None:
    seen: dict[str, tuple[str, str]] = {}  # each key: the first username that made it, and its type
    for user_type in user_types:
        numbering = user_type.username
        prefix_key = key_of(numbering)
        for index in range(user_type.quantity):
            number = numbering.number(index)
            earlier = seen.setdefault(prefix_key + number, (numbering.prefix + number, user_type.name))
            if earlier[1] != user_type.name:
                clashing.setdefault((earlier[1], user_type.name), (earlier[0], numbering.prefix + number))


def _general_key(numbering) -> str:
    """The general_ci key of a user type's usernames without their numbers (of its one name, if uncounted)."""
    weighed = _weights(numbering.prefix)
    return weighed if numbering.counted else weighed.rstrip(" ")


def _folded_key(numbering) -> str:
    return numbering.prefix.casefold()


def mysql_name_key(name: str) -> str:
    """What MySQL and MariaDB compare of a name in ``utf8mb4_general_ci`` (and ``utf8mb3_general_ci``,
    the same for every character it holds): each character's weight, trailing spaces ignored (PAD SPACE).
    Checked against MariaDB 10.11's ``WEIGHT_STRING`` for every code point (tests/test_password_scripts.py)."""
    return _weights(name).rstrip(" ")


def _weights(text: str) -> str:
    """Each character's general_ci weight: ASCII letters weigh as their upper case, ``_GENERAL_CI`` has
    every other character whose weight is not itself, and every character beyond U+FFFF weighs U+FFFD."""
    if text.isascii():
        return text.upper()
    if max(text) > "\uffff":
        text = _BEYOND_BMP.sub("\ufffd", text)
    return text.translate(_GENERAL_CI_TABLE)


# utf8mb4_general_ci's weights that are not the character itself, as MariaDB 10.11 reports them
# (SELECT HEX(WEIGHT_STRING(c COLLATE utf8mb4_general_ci)) for every code point): runs written
# START[+COUNT[/2]] then =WEIGHT (every character of the run weighs that) or +OFFSET / -OFFSET (each weighs
# itself plus that); START, WEIGHT and OFFSET in hex, COUNT in decimal, /2 for every other code point.
_GENERAL_CI = (
    "61+26-20 b5=39c c0+6=41 c7=43 c8+4=45 cc+4=49 d1+2-83 d3+4=4f d9+4=55 dd=59 df=53 e0+6=41 e6=c6 "
    "e7=43 e8+4=45 ec+4=49 f0=d0 f1+2-a3 f3+4=4f f8=d8 f9+4=55 fd=59 fe=de ff=59 100+6=41 106+8=43 "
    "10e+2=44 111=110 112+10=45 11c+8=47 124+2=48 127=126 128+10=49 133=132 134+2=4a 136+2=4b "
    "139+6=4c 140+2/2-1 143+6=4e 14b=14a 14c+6=4f 153=152 154+6=52 15a+8=53 162+4=54 167=166 "
    "168+12=55 174+2=57 176+3=59 179+6=5a 17f=53 183+2/2-1 188=187 18c=18b 192=191 195=1f6 199=198 "
    "1a0+2=4f 1a3+2/2-1 1a8=1a7 1ad=1ac 1af+2=55 1b4+2/2-1 1b9=1b8 1bd=1bc 1bf=1f7 1c5+2=1c4 "
    "1c8+2=1c7 1cb+2=1ca 1cd+2=41 1cf+2=49 1d1+2=4f 1d3+10=55 1dd=18e 1de+4=41 1e2+2=c6 1e5=1e4 "
    "1e6+2=47 1e8+2=4b 1ea+4=4f 1ee+2=1b7 1f0=4a 1f2+2=1f1 1f4+2=47 1f8+2=4e 1fa+2=41 1fc+2=c6 "
    "1fe+2=d8 200+4=41 204+4=45 208+4=49 20c+4=4f 210+4=52 214+4=55 218+2=53 21a+2=54 21d=21c "
    "21e+2=48 223+2/2-1 226+2=41 228+2=45 22a+8=4f 232+2=59 253=181 254=186 256+2-cd 259=18f 25b=190 "
    "260=193 263=194 268=197 269=196 26f=19c 272=19d 275=19f 280=1a6 283=1a9 288=1ae 28a+2-d9 292=1b7 "
    "345=399 386=391 388=395 389=397 38a=399 38c=39f 38e=3a5 38f=3a9 390=399 3aa=399 3ab=3a5 3ac=391 "
    "3ad=395 3ae=397 3af=399 3b0=3a5 3b1+17-20 3c2+2=3a3 3c4+6-20 3ca=399 3cb=3a5 3cc=39f 3cd=3a5 "
    "3ce=3a9 3d0=392 3d1=398 3d3+2=3d2 3d5=3a6 3d6=3a0 3db+11/2-1 3f0=39a 3f1=3a1 3f2=3a3 400+2=415 "
    "403=413 407=406 40c=41a 40d=418 40e=423 430+32-20 450+2=415 452=402 453=413 454+3-50 457=406 "
    "458+4-50 45c=41a 45d=418 45e=423 45f=40f 461+11/2-1 476+2=474 479+5/2-1 48d+26/2-1 4c1+2=416 "
    "4c4=4c3 4c8=4c7 4cc=4cb 4d0+4=410 4d5=4d4 4d6+2=415 4d9+3=4d8 4dc+2=416 4de+2=417 4e1=4e0 "
    "4e2+4=418 4e6+2=41e 4e9+3=4e8 4ec+2=42d 4ee+6=423 4f4+2=427 4f8+2=42b 561+38-30 1e00+2=41 "
    "1e02+6=42 1e08+2=43 1e0a+10=44 1e14+10=45 1e1e+2=46 1e20+2=47 1e22+10=48 1e2c+4=49 1e30+6=4b "
    "1e36+8=4c 1e3e+6=4d 1e44+8=4e 1e4c+8=4f 1e54+4=50 1e58+8=52 1e60+10=53 1e6a+8=54 1e72+10=55 "
    "1e7c+4=56 1e80+10=57 1e8a+4=58 1e8e+2=59 1e90+6=5a 1e96=48 1e97=54 1e98=57 1e99=59 1e9b=53 "
    "1ea0+24=41 1eb8+16=45 1ec8+4=49 1ecc+24=4f 1ee4+14=55 1ef2+8=59 1f00+16=391 1f10+6=395 "
    "1f18+6=395 1f20+16=397 1f30+16=399 1f40+6=39f 1f48+6=39f 1f50+8=3a5 1f59+4/2=3a5 1f60+16=3a9 "
    "1f70=391 1f71=1fbb 1f72=395 1f73=1fc9 1f74=397 1f75=1fcb 1f76=399 1f77=1fdb 1f78=39f 1f79=1ff9 "
    "1f7a=3a5 1f7b=1feb 1f7c=3a9 1f7d=1ffb 1f80+16=391 1f90+16=397 1fa0+16=3a9 1fb0+5=391 1fb6+5=391 "
    "1fbc=391 1fbe=399 1fc2+3=397 1fc6+2=397 1fc8+2/2-1c33 1fcc=397 1fd0+3=399 1fd6+5=399 1fe0+3=3a5 "
    "1fe4+2=3a1 1fe6+5=3a5 1fec=3a1 1ff2+3=3a9 1ff6+2=3a9 1ff8=39f 1ffa+2/2=3a9 2170+16-10 24d0+26-1a "
    "ff41+26-20"
)
_DIGITS = "0123456789"
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")
_GENERAL_CI_RUN = re.compile(r"([0-9a-f]+)(?:\+(\d+)(/2)?)?(?:=([0-9a-f]+)|([+-][0-9a-f]+))")


def _translation_table(runs: str) -> dict[int, int]:
    """``_GENERAL_CI``'s runs as a ``str.translate`` table."""
    table = {}
    for run in runs.split():
        start, count, every_other, weight, offset = _GENERAL_CI_RUN.fullmatch(run).groups()
        first, step = int(start, 16), 2 if every_other else 1
        for code in range(first, first + int(count or 1) * step, step):
            table[code] = int(weight, 16) if weight else code + int(offset, 16)
    return table


_GENERAL_CI_TABLE = _translation_table(_GENERAL_CI)
