"""The XML: its exact shape, escaping, what Guacamole's reader makes of it, and the credentials sheet."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import pytest
import yaml
from lxml import etree

import guacamole_reader
from whole_tree import whole_tree
from usermapper.lab import Numbering, read_config
from usermapper.outputs.credentials import credentials_sheet
from usermapper.lab.expand import Connection, Group, User, UserMapping, expand
from usermapper.outputs.user_mapping import (FileTooLarge, check_file_size, file_size, user_mapping_bytes,
                                  write_user_mapping)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL_EXAMPLES = ["classroom.yaml", "original-format.yaml", "escaping.yaml", "invalid/unquoted-suffix-is-fine.yaml"]


def expand_example(name: str, text_change=lambda text: text) -> UserMapping:
    return expand(read_config(text_change((EXAMPLES / name).read_text(encoding="utf-8"))),
                  new_passwords=lambda count, length: ["Pw" + "x" * (length - 2)] * count)


def with_encoding(encoding: str):
    """A change to an example's text: every user type stores its passwords with ``encoding``."""
    field = f"        password_encoding: {encoding}\n        password: "
    return lambda text: re.sub("^        password: ", field, text, flags=re.MULTILINE)


def ordered(users: dict) -> list:
    """The reader's result as nested lists, so comparing it also compares the order of everything."""
    return [(name, password, encoding, [(c, protocol, list(params.items()))
                                        for c, (protocol, params) in connections.items()])
            for name, (password, encoding, connections) in users.items()]


def expected(mapping: UserMapping) -> list:
    return [(u.username, u.stored_password, u.encoding, [(c.name, c.protocol, list(c.parameters))
                                                          for c in group.connections])
            for group in mapping.groups for u in group.users]


# -- shape -------------------------------------------------------------------------------------------------

def test_the_file_starts_with_the_xml_declaration_and_ends_with_the_root():
    xml = user_mapping_bytes(expand_example("classroom.yaml"))
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping>\n  <authorize ')
    assert xml.endswith(b"  </authorize>\n</user-mapping>\n")


def test_the_file_is_indented_for_reading():
    lines = user_mapping_bytes(expand_example("invalid/unquoted-suffix-is-fine.yaml")).decode().splitlines()
    assert lines[2:9] == [
        '  <authorize username="s7" password="Pwxxxxxxxxxx">',
        '    <connection name="R1">',
        "      <protocol>ssh</protocol>",
        '      <param name="hostname">10.0.0.1</param>',
        '      <param name="port">22</param>',
        "    </connection>",
        "  </authorize>",
    ]


@pytest.mark.parametrize("name", SMALL_EXAMPLES)
def test_streamed_output_equals_the_whole_tree_serialized_by_lxml(name):
    mapping = expand_example(name)
    assert user_mapping_bytes(mapping) == whole_tree(mapping)


def test_streamed_output_equals_the_whole_tree_with_hashed_passwords():
    mapping = expand_example("classroom.yaml", with_encoding("sha256"))
    assert b' encoding="sha256"' in user_mapping_bytes(mapping)
    assert user_mapping_bytes(mapping) == whole_tree(mapping)


def test_every_printable_ascii_character_is_written_as_lxml_writes_it():
    """Names and values without anything to escape are written without lxml: the same bytes either way."""
    characters = [chr(c) for c in range(0x20, 0x7F)] + ["\t", "\n", "\r", "é", "€"]
    connections = tuple(Connection(f"PC {c}", "ssh", (("hostname", f"h{c}"), ("command", f"{c}x{c}")))
                        for c in characters)
    users = tuple(User("t", f"user{c}", f"pass{c}", "plain", f"pass{c}") for c in characters)
    mapping = UserMapping((Group(users, connections),))
    assert user_mapping_bytes(mapping) == whole_tree(mapping)


def test_output_is_deterministic():
    assert user_mapping_bytes(expand_example("original-format.yaml")) == user_mapping_bytes(
        expand_example("original-format.yaml"))


def test_writing_to_a_file_gives_the_same_bytes(tmp_path):
    mapping = expand_example("escaping.yaml")
    with open(tmp_path / "user-mapping.xml", "wb") as out:
        write_user_mapping(mapping, out)
    assert (tmp_path / "user-mapping.xml").read_bytes() == user_mapping_bytes(mapping)


def test_the_big_lab_holds_every_connection():
    mapping = expand_example("big-lab.yaml")
    root = etree.fromstring(user_mapping_bytes(mapping))
    assert root.tag == "user-mapping"
    assert len(root) == 500
    assert len(root.findall("authorize/connection")) == 50_000
    assert {e.tag for e in root.iter()} == {"user-mapping", "authorize", "connection", "protocol", "param"}


# -- what Guacamole reads ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SMALL_EXAMPLES)
@pytest.mark.parametrize("encoding", ["plain", "md5", "sha256"])
def test_guacamole_reads_back_exactly_the_expanded_lab(name, encoding):
    mapping = expand_example(name, with_encoding(encoding))
    assert {u.encoding for u in mapping.users} == {encoding}
    assert ordered(guacamole_reader.read(user_mapping_bytes(mapping))) == expected(mapping)


@pytest.mark.parametrize("encoding", ["plain", "md5", "sha256"])
def test_every_generated_password_logs_in(encoding):
    mapping = expand(read_config(with_encoding(encoding)((EXAMPLES / "classroom.yaml").read_text())))
    users = guacamole_reader.read(user_mapping_bytes(mapping))
    rows = list(csv.DictReader(io.StringIO(credentials_sheet(mapping).csv.decode("utf-8"))))
    assert len(rows) == 13
    for row in rows:
        assert guacamole_reader.authenticates(users, row["username"], row["password"])
        assert not guacamole_reader.authenticates(users, row["username"], row["password"] + "x")


def test_plain_passwords_carry_no_encoding_attribute():
    xml = user_mapping_bytes(expand_example("classroom.yaml"))
    assert b"encoding=" not in xml.split(b"\n", 1)[1]
    assert b'password="Lab-Trainer-2026"' in xml


@pytest.mark.parametrize("encoding", ["md5", "sha256"])
def test_hashed_passwords_are_hex_digests_of_their_utf8(encoding):
    mapping = expand_example("escaping.yaml", with_encoding(encoding))
    users = guacamole_reader.read(user_mapping_bytes(mapping))
    stored, written_encoding, _ = users["o'brien&1"]
    assert written_encoding == encoding
    assert stored == hashlib.new(encoding, "p<a>ss\"&'word".encode("utf-8")).hexdigest()


def test_escaping_example_reads_back_exactly_as_written_in_the_yaml():
    text = (EXAMPLES / "escaping.yaml").read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    xml = user_mapping_bytes(expand(read_config(text)))
    users = guacamole_reader.read(xml)
    instructors, console = written["users"]["instructors"], written["devices"]["consoles"]
    assert list(users) == [instructors["username_prefix"] + "1", "élève-1", "élève-2"]
    assert users["o'brien&1"][0] == instructors["password"] == "p<a>ss\"&'word"
    parameters = {k: str(v) for k, v in console["parameters"].items() if k != "protocol"}
    parameters["hostname"] = "console-1"
    for _, _, connections in users.values():
        assert connections == {console["name_prefix"] + "1": ("ssh", parameters)}
    assert parameters["password"] == '</param><param name="x">injected'
    assert b'<param name="x">' not in xml


# -- the reader used above rejects what Guacamole rejects --------------------------------------------------

GOOD = b'<?xml version="1.0" encoding="UTF-8"?>\n<user-mapping>%s</user-mapping>'
USER = b'<authorize username="u" password="p">%s</authorize>'
CONNECTION = b'<connection name="c"><protocol>ssh</protocol>%s</connection>'


@pytest.mark.parametrize("document", [
    b" " + GOOD % b"",
    b"<!-- hello -->" + GOOD % b"",
    GOOD.replace(b"user-mapping", b"users") % b"",
    GOOD % b"<user/>",
    GOOD % USER % b"<param name='x'>1</param>",
    GOOD % USER % CONNECTION % b"<param name='x'><b/></param>",
    GOOD % USER % CONNECTION % b"<protocol><x/></protocol>",
    GOOD % USER % CONNECTION % b"<param>no name</param>",
    GOOD % USER % b"<connection><protocol>ssh</protocol></connection>",
    GOOD % b'<authorize username="u" password="p" encoding="SHA256"/>',
    GOOD % b'<authorize username="u"/>',
    GOOD % USER % CONNECTION % b"<param name='x'>a & b</param>",
])
def test_the_reader_rejects_what_guacamole_rejects(document):
    with pytest.raises(guacamole_reader.Rejected):
        guacamole_reader.read(document)


def test_the_reader_keeps_the_last_of_duplicates_and_takes_values_verbatim():
    connection = CONNECTION % b'<param name="x">1</param><param name="x"> 2&amp;\n</param>'
    assert guacamole_reader.read(GOOD % USER % connection) == {"u": ("p", "plain", {"c": ("ssh", {"x": " 2&\n"})})}
    twice = GOOD % (USER % connection + b'<authorize username="u" password="q" encoding="md5"/>')
    assert guacamole_reader.read(b"\xef\xbb\xbf" + twice) == {"u": ("q", "md5", {})}


# -- the credentials sheet ---------------------------------------------------------------------------------

def test_the_credentials_sheet_lists_every_user_in_order():
    mapping = expand_example("escaping.yaml")
    rows = list(csv.reader(io.StringIO(credentials_sheet(mapping).csv.decode("utf-8"), newline="")))
    assert rows == [["type", "username", "password"], ["instructors", "o'brien&1", "p<a>ss\"&'word"],
                    ["élèves", "élève-1", "Pwxxxxxxxxxx"], ["élèves", "élève-2", "Pwxxxxxxxxxx"]]


@pytest.mark.parametrize("name_suffix, hostname_prefix, quantity", [
    ("'9'", "''", 200), ("'0098'", "'10.0.'", 5), ("'1'", "'h&<\"'", 150), ("'00'", "'é'", 11)])
@pytest.mark.parametrize("password", ["random", "'a&b<\"c'"])
@pytest.mark.parametrize("encoding", ["plain", "md5", "sha256"])
def test_the_size_known_before_writing_is_the_size_written(name_suffix, hostname_prefix, quantity, password,
                                                           encoding):
    """Numbers that grow a digit (9 -> 10 -> 100), zero-padding, escapes in names, passwords and values,
    hashed and random passwords, a type that reaches one device type and one that reaches all."""
    text = f"""
users:
  a: {{quantity: {quantity}, username_prefix: 'u&', username_suffix: {name_suffix}, password: {password},
      password_length: 17, password_encoding: {encoding}}}
  b: {{quantity: 3, username_prefix: v, username_suffix: '1', password: x, devices: [pcs]}}
devices:
  pcs:
    quantity: {quantity}
    name_prefix: 'PC "<'
    name_suffix: {name_suffix}
    hostname_prefix: {hostname_prefix}
    hostname_suffix: {name_suffix}
    parameters: {{protocol: rdp, port: 3389, hostname: ~, domain: 'a&b', empty: '', initial-program: "l1\\nl2",
                  'n<&"é': 'v"é>', "t\\tx": "\\t"}}
  routers:
    quantity: 2
    name_prefix: R
    name_suffix: '1'
    parameters: {{protocol: ssh, hostname: '10.0.0.1'}}
"""
    lab = read_config(text)
    assert file_size(lab) == len(user_mapping_bytes(expand(lab)))


def test_a_file_above_the_limit_is_refused_before_anything_is_built():
    lab = read_config((EXAMPLES / "big-lab.yaml").read_bytes())
    size = file_size(lab)
    assert check_file_size(lab, size) == size
    with pytest.raises(FileTooLarge) as refused:
        check_file_size(lab, size - 1)
    assert (refused.value.size, refused.value.limit) == (size, size - 1)


@pytest.mark.parametrize("start, width", [(0, 1), (9, 1), (1, 3), (98, 4), (999_999, 2)])
def test_a_numbering_counts_its_digits_without_making_its_names(start, width):
    numbering = Numbering("x", start, width)
    for count in (1, 2, 11, 1001):
        assert numbering.digits(count) == sum(len(name) - 1 for name in numbering.names(count))
