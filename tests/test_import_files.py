"""Guacamole 1.6's import files: their exact bytes for the examples (tests/golden/, checked by hand once),
and, read back with ordinary parsers (json, a YAML 1.2 parser, csv plus the importer's list rules), the same
grants as the user-mapping.xml of the same lab as Guacamole's file reader sees them: every connection,
parameter and grant exactly once.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

import guacamole_reader
from databases import CASE_LAB
from usermapper.lab import DeviceType, Lab, Numbering, UserType, read_config
from usermapper.lab.expand import Connection, Group, User, UserMapping, expand
from usermapper.outputs.import_files import (ImportRefused, entries, group_paths, import_csv, import_file, import_json,
                                             import_yaml)
from usermapper.outputs.mysql_names import username_collisions
from usermapper.outputs.password_scripts import check_passwords
from usermapper.outputs.user_mapping import user_mapping_bytes

TESTS = Path(__file__).resolve().parent
EXAMPLES = TESTS.parent / "examples"
GOLDEN = TESTS / "golden"
LABS = ["classroom.yaml", "escaping.yaml", "original-format.yaml"]
SUFFIXES = {"import-json": "json", "import-yaml": "yaml", "import-csv": "csv"}


def lab_of(name: str):
    source = (EXAMPLES / name).read_text()
    lab = read_config(source)
    mapping = expand(lab)
    return lab, mapping, entries(lab, mapping)


@pytest.mark.parametrize("format_", SUFFIXES)
@pytest.mark.parametrize("name", LABS)
def test_exact_bytes_for_the_examples(name, format_):
    _, _, found = lab_of(name)
    golden = GOLDEN / f"{Path(name).stem}.{SUFFIXES[format_]}"
    assert import_file(found, format_) == golden.read_bytes()


def read_json(data: bytes) -> list[dict]:
    return json.loads(data)


def read_yaml(data: bytes) -> list[dict]:
    return YAML(typ="safe", pure=True).load(data.decode("utf-8"))  # YAML 1.2


def read_csv(data: bytes) -> list[dict]:
    """As the importer reads CSV: reserved columns, ``;``-separated lists with ``\\;`` for a ``;``, every
    other column a parameter (here always marked `` (parameter)``); an empty cell is no parameter."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, found = rows[0], []
    assert header[:4] == ["name", "protocol", "group", "users"]
    names = [re.fullmatch(r"(.+) \(parameter\)", column).group(1) for column in header[4:]]
    for row in rows[1:]:
        users = [item.replace("\\;", ";") for item in re.split(r"(?<!\\);", row[3])] if row[3] else []
        found.append({"name": row[0], "protocol": row[1], "group": row[2], "users": users,
                      "parameters": {n: v for n, v in zip(names, row[4:]) if v != ""}})
    return found


READERS = {"import-json": read_json, "import-yaml": read_yaml, "import-csv": read_csv}


@pytest.mark.parametrize("format_", READERS)
@pytest.mark.parametrize("name", [*LABS, "big-lab.yaml"])
def test_read_back_grants_exactly_what_the_xml_grants(name, format_):
    lab, mapping, found = lab_of(name)
    imported = READERS[format_](import_file(found, format_))
    in_xml = {(username, connection): settings
              for username, (_, _, connections) in guacamole_reader.read(user_mapping_bytes(mapping)).items()
              for connection, settings in connections.items()}
    grants = [((username, entry["name"]), (entry["protocol"], entry["parameters"]))
              for entry in imported for username in entry["users"]]
    assert len(grants) == len(set(key for key, _ in grants)) == len(in_xml)
    assert dict(grants) == in_xml
    keys = [(entry["group"], entry["name"]) for entry in imported]
    assert len(keys) == len(set(keys))
    assert {entry["group"] for entry in imported} == set(group_paths(lab, found)[1:])


def test_groups_are_per_lab_and_device_type_parents_first():
    source = "lab: Networking 101\n" + (EXAMPLES / "classroom.yaml").read_text()
    lab = read_config(source)
    found = entries(lab, expand(lab))
    assert group_paths(lab, found) == ["ROOT/Networking 101", "ROOT/Networking 101/desktops",
                                       "ROOT/Networking 101/routers"]
    assert [e["group"] for e in found] == ["ROOT/Networking 101/desktops"] * 3 + ["ROOT/Networking 101/routers"] * 2


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_json_is_written_as_json_dumps_writes_it(example):
    """import_json writes each text once; what it writes is json.dumps's own layout, byte for byte."""
    config = (EXAMPLES / example).read_bytes()
    lab = read_config(config)
    found = entries(lab, expand(lab))
    assert import_json(found) == (json.dumps(found, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def test_yaml_has_no_anchors_and_quotes_what_yaml_1_2_would_not_read_as_text():
    shared = ["ann", "bob"]
    data = import_yaml([{"name": n, "protocol": "ssh", "parameters": {"port": "22", "x": "0o17", "y": "yes",
                                                                        "z": ".inf", "w": "1e3"},
                         "group": "ROOT/a/b", "users": shared} for n in ("one", "two")])
    assert b"&" not in data and b"*" not in data and b"<<" not in data
    for entry in read_yaml(data):
        assert entry["parameters"] == {"port": "22", "x": "0o17", "y": "yes", "z": ".inf", "w": "1e3"}
    assert read_yaml(data) == read_json(import_json(read_yaml(data)))


@pytest.mark.parametrize("text", ["", "a: b", "#x", "- x", "line\nbreak\ttab", "\u0085 next line", "\u2028\u2029\ufeff", "Yes", "NULL",
                                  "~", "*alias", "&anchor", "!tag", "'single'", '"double"', "é", "\\", "%", "@x",
                                  "a #b", "1_000", "0x1F", "-1", "+.5", "<<"])
def test_yaml_reads_back_every_text_exactly(text):
    data = import_yaml([{"name": text or "x", "protocol": "ssh", "parameters": {text or "k": text},
                         "group": "ROOT/a/b", "users": [text]}])
    expected = [{"name": text or "x", "protocol": "ssh", "parameters": {text or "k": text}, "group": "ROOT/a/b",
                 "users": [text]}]
    assert read_yaml(data) == expected
    assert yaml.safe_load(data) == expected  # YAML 1.1, as Guacamole's SnakeYAML reads it


def test_yaml_of_empty_parameters_and_no_entries():
    entry = {"name": "x", "protocol": "ssh", "parameters": {}, "group": "ROOT/a/b", "users": []}
    assert read_yaml(import_yaml([entry])) == [entry]
    assert read_yaml(import_yaml([])) == []


def test_csv_escapes_semicolons_in_usernames():
    data = import_csv([{"name": "a,b", "protocol": "ssh", "parameters": {"hostname": "h;1"},
                        "group": "ROOT/x/y", "users": ["ann;1", "bob"]}])
    assert data.splitlines()[1] == b'"a,b",ssh,ROOT/x/y,ann\\;1;bob,h;1'
    assert read_csv(data)[0]["users"] == ["ann;1", "bob"]


def test_device_types_differing_only_in_case_are_refused_at_the_second():
    source = (EXAMPLES / "classroom.yaml").read_text().replace("    routers:", "    Desktops:")
    lab = read_config(source)
    with pytest.raises(ImportRefused) as refused:
        entries(lab, expand(lab))
    [problem] = refused.value.problems
    line = source.splitlines().index("    Desktops:") + 1
    assert (problem.path, problem.line, problem.column) == ("devices.Desktops", line, 5)
    assert "case" in problem.message


def test_a_type_named_like_another_types_field_is_placed_where_each_is_written():
    """The device type ``A.name_prefix`` and the field ``name_prefix`` of ``A`` have one dotted path: a
    problem of the type's name points at its name, one of the field at the field."""
    source = """\
users:
  s: {quantity: 1, username_prefix: s, username_suffix: '1', password: x}
devices:
  A: {quantity: 2, name_prefix: PC, name_suffix: '1', parameters: {protocol: ssh, hostname: h}}
  a.name_prefix: {quantity: 1, name_prefix: B, name_suffix: '1', parameters: {protocol: ssh, hostname: h}}
  A.name_prefix: {quantity: 1, name_prefix: C, name_suffix: '1', parameters: {protocol: ssh, hostname: h}}
"""
    lab = read_config(source)
    with pytest.raises(ImportRefused) as refused:
        entries(lab, expand(lab))
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("devices.A.name_prefix", *at(source, "A.name_prefix:"))
    assert "case" in problem.message
    device = DeviceType("A", 2, Numbering("PC", 1, 1), None, "ssh", (("hostname", "h"),))
    twins = (Connection("pc", "ssh", (("hostname", "h"),)), Connection("PC", "ssh", (("hostname", "h"),)))
    user_type = UserType("s", 1, Numbering("s", 1, 1), "x", 12, "plain", None)
    mapping = UserMapping((Group((User("s", "s1", "x", "plain", "x"),), twins),))
    with pytest.raises(ImportRefused) as refused:
        entries(Lab((user_type,), (device,), places=lab.places, name_places=lab.name_places), mapping)
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("devices.A.name_prefix", *at(source, "PC,"))


def test_a_field_is_placed_at_its_value_whatever_other_paths_read_alike():
    """``devices.A.parameters.name_prefix`` is the field name_prefix of the device type ``A.parameters`` and,
    read as a path, the parameter name_prefix of ``A`` (unknown to guacd, so kept with a warning): a problem
    of the field points at the field, whichever type comes first."""
    long_name, suffix = "P" * 64, "1" + "0" * 69
    source = f"""\
users:
  s: {{quantity: 1, username_prefix: s, username_suffix: '1', password: x}}
devices:
  A.parameters: {{quantity: 1, name_prefix: {long_name}, name_suffix: '{suffix}',
                 parameters: {{protocol: ssh, hostname: h}}}}
  A: {{quantity: 1, name_prefix: B, name_suffix: '1', parameters: {{protocol: ssh, hostname: h, name_prefix: x}}}}
"""
    lab = read_config(source)
    assert [w.path for w in lab.warnings] == ["devices.A.parameters.name_prefix"]
    with pytest.raises(ImportRefused) as refused:
        entries(lab, expand(lab))
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("devices.A.parameters.name_prefix", *at(source, long_name))
    assert "longer than the 128 characters" in problem.message


def test_a_field_given_through_a_merge_is_placed_where_its_value_is_written():
    """``<<: *a`` gives the type c the username_prefix and the password_encoding written under a: the
    problems of c point there, at the value, not at c."""
    source = """\
users:
  a: &a {quantity: 1, username_prefix: stu, username_suffix: '1', password: x, password_encoding: md5}
  b: {quantity: 1, username_prefix: Stu, username_suffix: '2', password: x}
  c:
    <<: *a
    username_suffix: '2'
devices:
  d: {quantity: 1, name_prefix: PC, name_suffix: '1', parameters: {protocol: ssh, hostname: h}}
"""
    lab = read_config(source)
    with pytest.raises(ImportRefused) as refused:
        entries(lab, expand(lab))
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("users.c.username_prefix", *at(source, "stu,"))
    with pytest.raises(ImportRefused) as refused:
        check_passwords(lab, "mysql")
    assert [(p.path, p.line, p.column) for p in refused.value.problems] == [
        ("users.c.username_prefix", *at(source, "stu,")), ("users.a.password_encoding", *at(source, "md5")),
        ("users.c.password_encoding", *at(source, "md5"))]


def test_a_json_config_with_an_escaped_pair_is_refused_at_its_places():
    """JSON writes a character beyond U+FFFF as two escaped halves, which YAML cannot read: the places come
    from the config as the reader read it, never from reading the text again as YAML."""
    source = json.dumps({
        "users": {"a": {"quantity": 1, "username_prefix": "\U0001f600a", "username_suffix": "1", "password": "x"},
                  "b": {"quantity": 1, "username_prefix": "\U0001f600A", "username_suffix": "1", "password": "x"}},
        "devices": {"x/y": {"quantity": 1, "name_prefix": "P", "name_suffix": "1",
                            "parameters": {"protocol": "ssh", "hostname": "h"}}}}, indent=1)
    assert "\\ud83d\\ude00" in source
    lab = read_config(source, as_json=True)
    with pytest.raises(ImportRefused) as refused:
        entries(lab, expand(lab))
    placed = [(p.path, p.line, p.column) for p in refused.value.problems]
    assert placed == [("devices.x/y", *at(source, '"x/y"')),
                      ("users.b.username_prefix", *at(source, '"\\ud83d\\ude00A"'))]


def at(source: str, fragment: str) -> tuple[int, int]:
    """The 1-based line and column of the first ``fragment`` in ``source``."""
    before = source[:source.index(fragment)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def test_usernames_of_two_types_differing_only_in_case_are_refused_at_the_second_naming_both():
    """MySQL and MariaDB would hold one account for Student1 and student1; user-mapping.xml keeps both."""
    lab = read_config(CASE_LAB)
    mapping = expand(lab)
    with pytest.raises(ImportRefused) as refused:
        entries(lab, mapping)
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("users.b.username_prefix", 3, 37)
    assert "'student1'" in problem.message and "'Student1' of the user type a" in problem.message
    assert len(guacamole_reader.read(user_mapping_bytes(mapping))) == 4


@pytest.mark.parametrize("first, second, refused", [
    ("Student", "STUDENT", True),
    ("Stüdent", "STUDENT", True),  # accents, as general_ci weighs them
    ("straße", "STRASE", True),  # general_ci: ß weighs as s
    ("strasse", "STRAßE", True),  # casefold: ß is ss (the UCA collations agree)
    ("Ȼ", "ȼ", True),  # a case pair general_ci does not know; casefold does
    ("カ", "ガ", False),  # kana with and without dakuten weigh apart
    ("Student", "Studant", False),
], ids=["case", "accent", "sharp s as s", "sharp s as ss", "newer case pair", "kana", "other"])
def test_usernames_the_database_takes_for_one_are_refused(first, second, refused):
    source = CASE_LAB.replace("username_prefix: Student", f"username_prefix: {first}").replace(
        "username_prefix: student", f"username_prefix: {second}")
    lab = read_config(source)
    problems = username_collisions(lab)
    assert bool(problems) == refused, problems
    if refused:
        assert [p.path for p in problems] == ["users.b.username_prefix"]


def test_usernames_equal_with_the_numbers_and_trailing_spaces_are_refused():
    """A prefix ending in digits meets another type's numbers; PAD SPACE ignores a single name's trailing
    spaces; a type's numbers never meet another type that only looks related (s vs s1 from 10 on)."""
    source = """\
users:
  many: {quantity: 14, username_prefix: pc, username_suffix: '1', password: x}
  one: {quantity: 1, username_prefix: 'PC12 ', username_suffix: '', password: x}
  late: {quantity: 2, username_prefix: Pc1, username_suffix: '3', password: x}
  fine: {quantity: 3, username_prefix: PC0, username_suffix: '1', password: x}
devices:
  d1: {quantity: 1, name_prefix: A, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: ssh}}
"""
    lab = read_config(source)
    problems = username_collisions(lab)
    assert [(p.path, p.line) for p in problems] == [("users.one.username_prefix", 3), ("users.late.username_prefix", 4)]
    assert "'PC12 '" in problems[0].message and "'pc12'" in problems[0].message
    assert "'Pc13'" in problems[1].message and "'pc13'" in problems[1].message


def test_a_connection_name_twice_in_one_group_is_refused():
    # Expansion never makes this today (pods may): two connections of one device type named alike.
    device = DeviceType("pcs", 2, Numbering("PC", 1, 1), None, "ssh", (("hostname", "h"),))
    user_type = UserType("students", 1, Numbering("s", 1, 1), "pw", 12, "plain", None)
    lab = Lab((user_type,), (device,))
    twins = (Connection("pc", "ssh", (("hostname", "h1"),)), Connection("PC", "ssh", (("hostname", "h2"),)))
    mapping = UserMapping((Group((User("students", "s1", "pw", "plain", "pw"),), twins),))
    with pytest.raises(ImportRefused) as refused:
        entries(lab, mapping)
    [problem] = refused.value.problems
    assert problem.path == "devices.pcs.name_prefix"
    assert "'PC' twice in the group ROOT/usermapper/pcs" in problem.message


def test_a_lab_name_with_a_slash_is_refused_at_its_line():
    from usermapper.lab import ConfigError
    source = "lab: 'a/b'\n" + (EXAMPLES / "classroom.yaml").read_text()
    with pytest.raises(ConfigError) as refused:
        read_config(source)
    [problem] = refused.value.problems
    assert (problem.path, problem.line, problem.column) == ("lab", 1, 6)
    assert read_config((EXAMPLES / "classroom.yaml").read_text()).name == "usermapper"


@pytest.mark.parametrize("name", ["pods.yaml", "pods-desktops.yaml"])
def test_a_pod_lab_grants_each_pod_device_to_its_owner_and_the_instructors_exactly_once(name):
    """Every (user, connection) of the XML is one grant of one entry: matched by protocol and parameters,
    which for a pod device include its owner's own hostname; pod entries are named as instructors see them."""
    source = (EXAMPLES / name).read_bytes()
    lab = read_config(source)
    mapping = expand(lab, lambda count, length: ["x" * length] * count)
    found = entries(lab, mapping)
    granted = sorted((user, e["protocol"], sorted(e["parameters"].items())) for e in found for user in e["users"])
    xml = guacamole_reader.read(user_mapping_bytes(mapping))
    reached = sorted((user, protocol, sorted(params.items()))
                     for user, (_, _, connections) in xml.items() for protocol, params in connections.values())
    assert granted == reached
    assert len({(e["group"], e["name"]) for e in found}) == len(found)  # unique within each group
