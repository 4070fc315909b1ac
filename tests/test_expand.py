"""expand: users, passwords and connections, with the original tool's semantics."""

from __future__ import annotations

import hashlib
import string
from collections import Counter
from pathlib import Path

from usermapper.lab import read_config
from usermapper.lab.expand import UserMapping, expand, random_passwords

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LETTERS_AND_DIGITS = set(string.ascii_letters + string.digits)


def expand_example(name: str, **kwargs) -> UserMapping:
    return expand(read_config((EXAMPLES / name).read_bytes()), **kwargs)


def fixed_password(count: int, length: int) -> list[str]:
    return ["p" * length] * count


def connections_of(mapping: UserMapping) -> dict[str, list]:
    """Each username with its connections, as the XML will list them."""
    return {user.username: list(group.connections) for group in mapping.groups for user in group.users}


def test_classroom():
    mapping = expand_example("classroom.yaml")
    assert (mapping.user_count, mapping.connection_count) == (13, 65)
    users = mapping.users
    assert [u.username for u in users] == ["trainer1"] + [f"student{n:02d}" for n in range(1, 13)]
    assert users[0].password == "Lab-Trainer-2026"
    students = [u.password for u in users[1:]]
    assert len(set(students)) == 12
    assert all(len(p) == 12 and set(p) <= LETTERS_AND_DIGITS for p in students)
    assert all(len(c) == 5 for c in connections_of(mapping).values())


def test_original_format():
    mapping = expand_example("original-format.yaml", new_passwords=fixed_password)
    assert (mapping.user_count, mapping.connection_count) == (12, 96)
    assert [u.username for u in mapping.users] == ["trainer01", "trainer02"] + [f"student{n:02d}" for n in range(1, 11)]
    for connections in connections_of(mapping).values():
        assert [c.name for c in connections] == ["PC09", "PC10", "PC11", "PC12", "R01", "R02", "R03", "R04"]
        assert [dict(c.parameters)["hostname"] for c in connections] == [
            "10.0.10.109", "10.0.10.110", "10.0.10.111", "10.0.10.112",
            "10.0.10.1", "10.0.10.2", "10.0.10.3", "10.0.10.4"]
        assert [c.protocol for c in connections] == ["rdp"] * 4 + ["ssh"] * 4
        assert connections[0].parameters == (
            ("hostname", "10.0.10.109"), ("port", "3389"), ("username", "root"), ("password", "root"))
        assert connections[4].parameters == (
            ("hostname", "10.0.10.1"), ("port", "22"), ("username", "admin"), ("password", "admin"),
            ("color-scheme", "white-black"), ("enable-sftp", "true"), ("sftp-root-directory", "/files/"))


def test_big_lab():
    mapping = expand_example("big-lab.yaml")
    assert (mapping.user_count, mapping.connection_count) == (500, 50_000)
    assert len({u.password for u in mapping.users}) == 500
    last = mapping.groups[1].connections[-1]
    assert (last.name, dict(last.parameters)["hostname"]) == ("SW40", "10.2.0.49")


def test_an_unquoted_suffix_counts_like_a_quoted_one():
    mapping = expand_example("invalid/unquoted-suffix-is-fine.yaml")
    assert [u.username for u in mapping.users] == ["s7", "s8"]
    (connection,) = mapping.groups[0].connections
    assert connection.name == "R1"
    assert connection.parameters == (("hostname", "10.0.0.1"), ("port", "22"))


LAB = """
users:
  trainers: {quantity: 1, username_prefix: t, username_suffix: '1', password: Trainer-1}
  students: {quantity: 3, username_prefix: s, username_suffix: '08', password: random, password_length: 20,
             devices: [routers]}
devices:
  pcs: {quantity: 2, name_prefix: PC, name_suffix: '1', hostname_prefix: pc-, hostname_suffix: '1',
        parameters: {protocol: rdp, port: 3389}}
  routers: {quantity: 2, name_prefix: R, name_suffix: '1', hostname_prefix: '10.0.0.', hostname_suffix: '1',
            parameters: {protocol: ssh}}
"""


def test_a_user_type_reaches_only_the_devices_it_lists():
    connections = connections_of(expand(read_config(LAB)))
    assert [c.name for c in connections["t1"]] == ["PC1", "PC2", "R1", "R2"]
    assert {u: [c.name for c in cs] for u, cs in connections.items() if u != "t1"} == {
        "s08": ["R1", "R2"], "s09": ["R1", "R2"], "s10": ["R1", "R2"]}
    assert expand(read_config(LAB)).connection_count == read_config(LAB).connection_count == 10


def test_password_length_sets_the_random_passwords_length():
    students = expand(read_config(LAB)).groups[1].users
    assert [len(u.password) for u in students] == [20, 20, 20]


def test_random_passwords_come_from_the_password_function_once_per_user_type():
    asked = []
    mapping = expand(read_config(LAB), new_passwords=lambda count, length: asked.append((count, length))
                     or [f"pw{i}" for i in range(1, count + 1)])
    assert asked == [(3, 20)]
    assert [u.password for u in mapping.users] == ["Trainer-1", "pw1", "pw2", "pw3"]


def test_random_password_is_letters_and_digits():
    passwords = set(random_passwords(50, 12))
    assert len(passwords) == 50
    assert all(len(p) == 12 and set(p) <= LETTERS_AND_DIGITS for p in passwords)


def test_random_passwords_use_every_character_about_equally_often():
    """The bytes that would favour some characters are dropped: over 620,000 characters each of the 62
    is drawn about 10,000 times (the standard deviation is about 100), never 1.25 times as often."""
    counts = Counter("".join(random_passwords(10_000, 62)))
    assert set(counts) == LETTERS_AND_DIGITS
    assert max(counts.values()) - min(counts.values()) < 1_000


def test_expansion_with_a_fixed_password_function_is_deterministic():
    assert expand(read_config(LAB), fixed_password) == expand(read_config(LAB), fixed_password)


def test_plain_passwords_are_stored_as_typed():
    trainer = expand(read_config(LAB)).users[0]
    assert (trainer.encoding, trainer.stored_password) == ("plain", "Trainer-1")


def test_hashed_passwords_are_stored_as_hex_digests_of_utf8():
    for encoding in ("md5", "sha256"):
        text = LAB.replace("password: Trainer-1", f"password: Prüfer-1, password_encoding: {encoding}")
        trainer = expand(read_config(text)).users[0]
        assert (trainer.password, trainer.encoding) == ("Prüfer-1", encoding)
        assert trainer.stored_password == hashlib.new(encoding, "Prüfer-1".encode("utf-8")).hexdigest()


def test_an_empty_password_stays_empty():
    text = LAB.replace("password: Trainer-1", "password: ''")
    assert expand(read_config(text)).users[0].password == ""


def test_a_literal_hostname_is_kept():
    text = LAB.replace("hostname_prefix: pc-, hostname_suffix: '1',", "").replace(
        "{protocol: rdp, port: 3389}", "{protocol: rdp, port: 3389, hostname: gateway}")
    pcs = expand(read_config(text)).groups[0].connections[:2]
    assert [c.parameters for c in pcs] == [(("port", "3389"), ("hostname", "gateway"))] * 2


def test_users_of_one_type_share_one_block_of_connections():
    mapping = expand(read_config(LAB))
    assert len(mapping.groups) == 2
    assert mapping.groups[1].connections == tuple(connections_of(mapping)["s09"])
