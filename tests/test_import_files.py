"""Guacamole 1.6's import files: their exact bytes for the examples (tests/golden/, checked by hand once),
and, read back with ordinary parsers (json, a YAML 1.2 parser, csv plus the importer's list rules), the same
grants as the user-mapping.xml of the same lab as Guacamole's file reader sees them: every connection,
parameter and grant exactly once.

Then through Guacamole's own importer (``guacamole_importer``, which re-implements its trimming, escapes,
lookups and canonical values): every example, and every lab the import accepts, gives each user exactly
what user-mapping.xml gives them, in each format; each lab built to meet one of the importer's rules is
refused at its place, in every format, and without the refusal the importer would not give it exactly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

import guacamole_importer
import guacamole_reader
from databases import CASE_LAB
from usermapper.lab import ConfigError, DeviceType, Lab, Numbering, UserType, read_config
from usermapper.lab.expand import Connection, Group, User, UserMapping, expand
from usermapper.outputs import import_files, import_refusals
from usermapper.outputs.import_files import (ImportRefused, entries, group_path, group_paths, import_csv, import_file,
                                             import_json, import_yaml)
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
    """As the importer reads CSV: reserved columns, ``;``-separated lists (``\\`` taking the next character
    as it is), every other column a parameter (here always marked `` (parameter)``); an empty cell is no
    parameter. (``guacamole_importer`` reads every rule of the importer; this is the plain reading.)"""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, found = rows[0], []
    assert header[:4] == ["name", "protocol", "group", "users"]
    names = [re.fullmatch(r"(.+) \(parameter\)", column).group(1) for column in header[4:]]
    for row in rows[1:]:
        users = guacamole_importer.split_identifiers(row[3])
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


POD_LAB = ("users:\n  o: {quantity: 50, username_prefix: s, username_suffix: '01', password: x}\n"
           "  i: {quantity: 1, username_prefix: i, username_suffix: '', password: x, pods: all}\n"
           "devices:\n  pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: 'pc{pod}', "
           "hostname_suffix: '', parameters: {protocol: rdp}}\n")


@pytest.mark.parametrize("source", [POD_LAB, POD_LAB + "  srv: {quantity: 3, name_prefix: srv, name_suffix: '1', "
                                                          "parameters: {protocol: ssh, hostname: h}}\n"])
def test_a_lab_of_many_pods_and_of_shared_parameters_is_read_back_as_the_xml_grants_it(source):
    """Entries of shared connections sharing their parameters (a literal hostname) share one dict of them;
    a pod's connections are made and dropped one by one, their tuples' ids come again, and each pod's entry
    has its own (the first lab made 50 pods' entries share 2 dicts when tuples' ids were looked up)."""
    lab = read_config(source)
    mapping = expand(lab)
    found = entries(lab, mapping)
    pods = [entry for entry in found if entry["group"].endswith("/pcs")]
    assert len({id(entry["parameters"]) for entry in pods}) == len(pods) == 50
    if "srv" in source:
        assert found[-1]["parameters"] is found[-2]["parameters"] is found[-3]["parameters"]
    _, _, instructors_view = guacamole_reader.read(user_mapping_bytes(mapping))["i"]  # every pod, as entries name it
    for format_, read in READERS.items():
        imported = read(import_file(found, format_))
        assert {entry["name"]: (entry["protocol"], entry["parameters"]) for entry in imported} == instructors_view


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
                                  "\x7f", "\x80\x9f", "a\u00a0b",
                                  "~", "*alias", "&anchor", "!tag", "'single'", '"double"', "é", "\\", "%", "@x",
                                  "a #b", "1_000", "0x1F", "-1", "+.5", "<<"])
def test_yaml_reads_back_every_text_exactly(text):
    data = import_yaml([{"name": text or "x", "protocol": "ssh", "parameters": {text or "k": text},
                         "group": "ROOT/a/b", "users": [text]}])
    expected = [{"name": text or "x", "protocol": "ssh", "parameters": {text or "k": text}, "group": "ROOT/a/b",
                 "users": [text]}]
    assert read_yaml(data) == expected
    assert yaml.safe_load(data) == expected  # YAML 1.1, as Guacamole's SnakeYAML reads it


# What YAML readers refuse or fold unless escaped: C0 controls, DEL, the C1 controls (U+0085 a line break in
# YAML 1.1), the line and paragraph separators and the byte-order mark; and texts YAML would read otherwise.
HARD_TEXTS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA1), 0x2028, 0x2029, 0xFEFF)] + [
    "".join(map(chr, range(0x7F, 0xA0))), "\x85" * 64, "a\x7fb\x9fc", "Yes", "NULL", "~", "*alias", "- x", "a #b",
    "0x1F", "1_000", "<<", "\\", '"', "'", "\U0001f600"]


def read_yaml_as_guacamole(data: bytes) -> object:
    """What Guacamole 1.6.0's importer reads: the npm package yaml (its version, pinned in package.json),
    run in node by tests/read_yaml.mjs."""
    node = subprocess.run(["node", str(TESTS / "read_yaml.mjs")], input=data, capture_output=True, cwd=TESTS.parent,
                          timeout=60, check=False)
    assert node.returncode == 0, node.stderr.decode(errors="replace")  # "npm ci" installs the yaml package
    return json.loads(node.stdout)


def test_the_yaml_package_installed_is_the_one_package_json_pins():
    """package.json pins Guacamole 1.6.0's yaml (its package-lock.json: 2.5.0); the tests read with that one."""
    pinned = json.loads((TESTS.parent / "package.json").read_text())["devDependencies"]["yaml"]
    installed = json.loads((TESTS.parent / "node_modules" / "yaml" / "package.json").read_text())["version"]
    assert pinned == installed == "2.5.0"


def test_guacamoles_yaml_reader_reads_every_hard_text_exactly():
    written = [{"name": text, "protocol": "ssh", "parameters": {text: text, "port": "22"}, "group": f"ROOT/{text}/b",
                "users": [text, "s01"]} for text in HARD_TEXTS]
    assert read_yaml_as_guacamole(import_yaml(written)) == written


@pytest.mark.parametrize("name", LABS)
def test_guacamoles_yaml_reader_reads_the_examples_as_the_json_says(name):
    _, _, found = lab_of(name)
    assert read_yaml_as_guacamole(import_yaml(found)) == read_json(import_json(found))


def test_guacamoles_yaml_reader_reads_escaped_usernames_exactly():
    """The escaped usernames of bench_hostile, smaller: names of U+0085 (a line break to YAML 1.1), DEL and
    C1 controls, each user granted every shared device, and values of them; every reader reads them as meant."""
    escaped = "\\x85" * 30 + "\\x7f\\x80\\x9f"
    users = "".join(f"  u{i}: {{quantity: 3, username_prefix: \"{chr(0x41 + i)}{escaped}\", username_suffix: '1', "
                    f"password: p}}\n" for i in range(3))
    devices = "".join(f"  d{i}: {{quantity: 2, name_prefix: \"p{i}{escaped}\", name_suffix: '1', parameters: "
                      f"{{protocol: rdp, hostname: \"h{escaped}\", \"x{escaped}\": \"{escaped}\"}}}}\n"
                      for i in range(4))
    lab = read_config(f"users:\n{users}devices:\n{devices}")
    found = entries(lab, expand(lab))
    assert "\x85" * 30 + "\x7f\x80\x9f" in found[0]["users"][0] and len(found) == 8
    data = import_yaml(found)
    meant = read_json(import_json(found))
    assert read_yaml_as_guacamole(data) == meant
    assert read_yaml(data) == meant and yaml.safe_load(data) == meant


def test_yaml_of_empty_parameters_and_no_entries():
    entry = {"name": "x", "protocol": "ssh", "parameters": {}, "group": "ROOT/a/b", "users": []}
    assert read_yaml(import_yaml([entry])) == [entry]
    assert read_yaml(import_yaml([])) == []


def test_csv_escapes_semicolons_and_backslashes_in_usernames():
    """The importer's splitIdentifiers reads ``\\`` as taking the next character as it is: ``LAB\\s1`` written
    as it is would be ``LABs1``, and ``x\\`` then ``a;b`` would be the one user ``x;a;b``."""
    data = import_csv([{"name": "a,b", "protocol": "ssh", "parameters": {"hostname": "h;1"},
                        "group": "ROOT/x/y", "users": ["ann;1", "bob", "LAB\\s1", "x\\", "a;b", "\\\\;"]}])
    assert data.splitlines()[1] == b'"a,b",ssh,ROOT/x/y,ann\\;1;bob;LAB\\\\s1;x\\\\;a\\;b;\\\\\\\\\\;,h;1'
    assert read_csv(data)[0]["users"] == ["ann;1", "bob", "LAB\\s1", "x\\", "a;b", "\\\\;"]


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


# -- through Guacamole's own importer ------------------------------------------------------------------------

FORMATS = tuple(SUFFIXES)


def fixed_passwords(count: int, length: int) -> list[str]:
    return ["x" * length] * count


def xml_view(mapping: UserMapping) -> dict[str, dict[str, tuple[str, dict[str, str]]]]:
    """Each user's connections as Guacamole's file reader reads user-mapping.xml."""
    return {user: dict(connections)
            for user, (_, _, connections) in guacamole_reader.read(user_mapping_bytes(mapping)).items()}


def imported_view(lab: Lab, data: bytes, format_: str, existing: dict | None = None) -> dict:
    """Each user's connections as Guacamole's importer stores and grants them, named as user-mapping.xml names
    them: an owner sees a pod device without the ``student07 `` its import name begins with (docs/config.md)."""
    pod_groups = {group_path(lab, d.name) for d in lab.device_types if d.per_user}
    instructors = {name for t in lab.user_types if t.all_pods for name in t.username.names(t.quantity)}
    view = {}
    for user, connections in guacamole_importer.read(data, format_, existing).items():
        view[user] = {}
        for (group, name), connection in connections.items():
            if group in pod_groups and user not in instructors:
                assert name.startswith(f"{user} "), (user, name)
                name = name[len(user) + 1:]
            view[user][name] = connection
    return view


def assert_exact_through_the_importer(lab: Lab, mapping: UserMapping) -> None:
    found = entries(lab, mapping)
    want = xml_view(mapping)
    for format_ in FORMATS:
        assert imported_view(lab, import_file(found, format_), format_) == want, format_


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_is_exact_through_guacamole_importer(example):
    lab = read_config((EXAMPLES / example).read_bytes())
    assert_exact_through_the_importer(lab, expand(lab, fixed_passwords))


ONE_DEVICE = ("devices:\n  pcs: {quantity: 2, name_prefix: PC, name_suffix: '1', hostname_prefix: 10.0.0.,"
              " hostname_suffix: '1', parameters: {protocol: %s}}\n")
STUDENTS = "users:\n  students: {quantity: 2, username_prefix: student, username_suffix: '1', password: x}\n"


def one_user(prefix: str) -> str:
    return f"users:\n  t: {{quantity: 1, username_prefix: {prefix}, username_suffix: '', password: x}}\n"


def with_parameters(parameters: str) -> str:
    return STUDENTS + ONE_DEVICE % parameters


def named(prefix: str, protocol: str = "ssh") -> str:
    return STUDENTS + (f"devices:\n  pcs: {{quantity: 1, name_prefix: {prefix}, name_suffix: '', hostname_prefix: h,"
                       f" hostname_suffix: '', parameters: {{protocol: {protocol}}}}}\n")


# One lab per rule of the importer: where it is refused (the path, and the text written there), words of the
# message, and what the importer makes of it unrefused (``harm``: "differs", "rejected" or "failed" when it
# does not give it exactly; "unmodelled" when its lookups reach JavaScript's own objects, which in Guacamole's
# own code replace the value by 'Object' or lose it; "existing" when it takes a connection for one already in
# its group; "database" when Guacamole's database refuses it; "mysql" when only MySQL or MariaDB would).
RULES = {
    "username with a leading space": (
        STUDENTS.replace("username_prefix: student", "username_prefix: ' student'") + ONE_DEVICE % "rdp",
        "users.students.username_prefix", "' student'", "trims to 'student1'", "differs"),
    "username with a tab": (
        STUDENTS.replace("username_prefix: student", 'username_prefix: "\\tstudent"') + ONE_DEVICE % "rdp",
        "users.students.username_prefix", '"\\tstudent"', "trims to 'student1'", "differs"),
    "username with a trailing space": (
        one_user("'trainer '") + ONE_DEVICE % "rdp", "users.t.username_prefix", "'trainer '", "trims",
        "differs"),
    "usernames differing only in spaces": (
        "users:\n  a: {quantity: 1, username_prefix: x, username_suffix: '', password: x}\n"
        "  b: {quantity: 1, username_prefix: ' x', username_suffix: '', password: y}\n" + ONE_DEVICE % "rdp",
        "users.b.username_prefix", "' x'", "trims to 'x'", "differs"),
    "username __proto__": (one_user("__proto__") + ONE_DEVICE % "rdp", "users.t.username_prefix", "__proto__",
                           "users[identifier].push is not a function", "failed"),
    "username constructor": (one_user("constructor") + ONE_DEVICE % "rdp", "users.t.username_prefix",
                             "constructor", "users[identifier].push", "failed"),
    "username toString": (one_user("toString") + ONE_DEVICE % "rdp", "users.t.username_prefix", "toString",
                          "TypeError", "failed"),
    "security NLA": (with_parameters("rdp, security: NLA"), "devices.pcs.parameters.security", "NLA",
                     "would store as 'nla'", "differs"),
    "ignore-cert 'TRUE'": (with_parameters("rdp, ignore-cert: 'TRUE'"), "devices.pcs.parameters.ignore-cert",
                           "'TRUE'", "would store as 'true'", "differs"),
    "color-depth ' 16'": (with_parameters("rdp, color-depth: ' 16'"), "devices.pcs.parameters.color-depth",
                          "' 16'", "would store as '16'", "differs"),
    "terminal-type XTERM": (with_parameters("ssh, terminal-type: XTERM"), "devices.pcs.parameters.terminal-type",
                            "XTERM", "would store as 'xterm'", "differs"),
    "color-scheme White-Black": (with_parameters("ssh, color-scheme: White-Black"),
                                 "devices.pcs.parameters.color-scheme", "White-Black",
                                 "would store as 'white-black'", "differs"),
    "server-layout ' de-de-qwertz '": (with_parameters("rdp, server-layout: ' de-de-qwertz '"),
                                       "devices.pcs.parameters.server-layout", "' de-de-qwertz '",
                                       "would store as 'de-de-qwertz'", "differs"),
    "clipboard-encoding utf-8": (with_parameters("vnc, clipboard-encoding: utf-8"),
                                 "devices.pcs.parameters.clipboard-encoding", "utf-8", "would store as 'UTF-8'",
                                 "differs"),
    "font-size ' 12'": (with_parameters("telnet, font-size: ' 12'"), "devices.pcs.parameters.font-size", "' 12'",
                        "would store as '12'", "differs"),
    "security Constructor": (with_parameters("rdp, security: Constructor"), "devices.pcs.parameters.security",
                             "Constructor", "Object.prototype.constructor", "unmodelled"),
    "parameter ' port'": (with_parameters("rdp, ' port': '3389'"), "devices.pcs.parameters. port", "' port'",
                          "import the parameter as 'port'", "differs"),
    "parameters port and ' port'": (with_parameters("rdp, port: '3389', ' port': '3390'"),
                                    "devices.pcs.parameters. port", "' port'", "refuse the whole file", "rejected"),
    "parameter named with ' (parameter)'": (with_parameters("rdp, 'a (parameter)b': x"),
                                            "devices.pcs.parameters.a (parameter)b", "'a (parameter)b'",
                                            "as 'ab (parameter)'", "differs"),
    "parameter $$x": (with_parameters("rdp, $$x: y"), "devices.pcs.parameters.$$x", "$$x", "angular.toJson",
                      "differs"),
    "parameter constructor": (with_parameters("rdp, constructor: name"), "devices.pcs.parameters.constructor",
                              "constructor", "Object.prototype.constructor", "unmodelled"),
    "parameter __proto__": (with_parameters("rdp, __proto__: x"), "devices.pcs.parameters.__proto__", "__proto__",
                            "CSV file loses", "differs"),
    "parameters port and Port": (with_parameters("rdp, port: '1', Port: '2'"), "devices.pcs.parameters.Port",
                                 "Port", "MySQL", "mysql"),
    "a value of 4,097 characters": (with_parameters("rdp, initial-program: " + "x" * 4097),
                                    "devices.pcs.parameters.initial-program", "x" * 4097, "4,097 characters",
                                    "database"),
    "a blank connection name": (named("' '"), "devices.pcs.name_prefix", "' '", "blank", "database"),
    "connection name constructor": (named("constructor"), "devices.pcs.name_prefix", "constructor",
                                    "existing connections", "existing"),
    "a connection path that continues another": (
        ("users:\n  b: {quantity: 1, username_prefix: 'u1 R.', username_suffix: '1', password: x}\n"
         "  a: {quantity: 1, username_prefix: u, username_suffix: '1', password: x}\n"
         "devices:\n  r: {per_user: 1, name_prefix: R, name_suffix: '', hostname_prefix: '10.0.{pod}.', "
         "hostname_suffix: '1', parameters: {protocol: ssh}}\n"),
        "devices.r.name_prefix", "R,", "continues 'ROOT/usermapper/r/u1 R'", "rejected"),
    "a connection path with a part toString": (
        ("users:\n  b: {quantity: 1, username_prefix: 'u R.y', username_suffix: '', password: x}\n"
         "  a: {quantity: 1, username_prefix: u, username_suffix: '', password: x}\n"
         "devices:\n  r: {per_user: 1, name_prefix: R.toString, name_suffix: '', hostname_prefix: '10.0.{pod}.', "
         "hostname_suffix: '1', parameters: {protocol: ssh}}\n"),
        "devices.r.name_prefix", "R.toString", "the part 'toString'", "rejected"),
    "connection paths the same once split": (
        ("users:\n  a: {quantity: 1, username_prefix: \"a['b']\", username_suffix: '', password: x}\n"
         "  b: {quantity: 1, username_prefix: a.b., username_suffix: '', password: x}\n"
         "devices:\n  r: {per_user: 1, name_prefix: R, name_suffix: '', hostname_prefix: '10.0.{pod}.', "
         "hostname_suffix: '1', parameters: {protocol: ssh}}\n"),
        "devices.r.name_prefix", "R,", "the same lodash path", "rejected"),
}


def refusal(source: str, format_: str):
    lab = read_config(source)
    with pytest.raises(ImportRefused) as refused:
        import_file(entries(lab, expand(lab, fixed_passwords)), format_)
    return refused.value.problems


@pytest.mark.parametrize("format_", FORMATS)
@pytest.mark.parametrize("rule", RULES)
def test_each_rule_of_the_importer_is_refused_at_its_place_in_every_format(rule, format_):
    source, path, written, words, _ = RULES[rule]
    problems = refusal(source, format_)
    assert [(p.path, p.line, p.column) for p in problems] == [(path, *at(source, written))], problems
    assert words in problems[0].message


@pytest.mark.parametrize("rule", RULES)
def test_without_the_refusal_the_importer_would_not_give_the_lab_exactly(rule, monkeypatch):
    """Each rule matters: the same lab's import files, written without the refusal (as before it), are
    changed, refused or fail in Guacamole's importer in at least one format, or its database refuses them."""
    source, _, _, _, harm = RULES[rule]
    lab = read_config(source)
    mapping = expand(lab, fixed_passwords)
    monkeypatch.setattr(import_files, "import_problems", lambda *_: [])
    found = entries(lab, mapping)
    existing = {group: {"other"} for group in group_paths(lab, found)} if harm == "existing" else None
    outcomes = set()
    for format_ in FORMATS:
        try:
            view = imported_view(lab, import_file(found, format_), format_, existing)
            outcomes.add("exact" if view == xml_view(mapping) else "differs")
        except guacamole_importer.Rejected as error:
            outcomes.add("database" if str(error).startswith("database:") else "rejected")
        except guacamole_importer.Failed:
            outcomes.add("failed")
        except guacamole_importer.Unmodelled:
            outcomes.add("unmodelled")
    if harm == "mysql":  # the re-implementation stores as PostgreSQL does, which keeps the two apart
        assert outcomes == {"exact"}
    else:
        assert {"existing": "rejected"}.get(harm, harm) in outcomes, outcomes


# Labs near the rules that the import takes: written so that the importer reads them exactly.
ACCEPTED = {
    "backslashes and semicolons in usernames": (
        "users:\n  s: {quantity: 2, username_prefix: 'LAB\\student', username_suffix: '1', password: x}\n"
        "  t: {quantity: 1, username_prefix: 'x\\', username_suffix: '', password: x}\n"
        "  u: {quantity: 1, username_prefix: 'a;b', username_suffix: '', password: x}\n" + ONE_DEVICE % "rdp"),
    "dots in the lab, types, names and usernames": (
        "lab: 'Net 1.0'\nusers:\n  s: {quantity: 2, username_prefix: j.doe, username_suffix: '1', password: x}\n"
        "  i: {quantity: 1, username_prefix: i.nstructor, username_suffix: '', password: x, pods: all}\n"
        "devices:\n  pcs.x: {per_user: 2, name_prefix: PC., name_suffix: '1', hostname_prefix: '10.0.{pod}.',"
        " hostname_suffix: '1', parameters: {protocol: rdp, security: nla, ignore-cert: true}}\n"
        "  srv.lab: {quantity: 2, name_prefix: srv.lab., name_suffix: '1', hostname_prefix: h,"
        " hostname_suffix: '1', parameters: {protocol: ssh, terminal-type: xterm-256color}}\n"),
    "brackets and quotes in names and parameters": (
        "lab: \"a[b] 'c'\"\n" + STUDENTS + "devices:\n  d[1]: {quantity: 2, name_prefix: 'PC[', name_suffix: '1',"
        " hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: ssh, x.y: '[0]', 'a[\"b\"]': ';\\'}}\n"),
    "values the forms do not offer, and inner spaces": with_parameters(
        "ssh, terminal-type: my-term, color-scheme: 'foreground: rgb:ff/ff/ff', font-size: '13', "
        "'port ': '22', username: ' root ', command: 'TRUE'"),
    "names like the importer's own": (
        "users:\n  s: {quantity: 2, username_prefix: Constructor, username_suffix: '1', password: x}\n"
        "  t: {quantity: 1, username_prefix: name, username_suffix: '', password: x}\n"
        "devices:\n  d: {quantity: 1, name_prefix: __PROTO__, name_suffix: '', hostname_prefix: h, "
        "hostname_suffix: '', parameters: {protocol: ssh, toString2: x, length: '5', 'users (parameter)': x}}\n"),
}


@pytest.mark.parametrize("lab_name", ACCEPTED)
def test_labs_near_the_rules_are_exact_through_the_importer(lab_name):
    lab = read_config(ACCEPTED[lab_name])
    assert_exact_through_the_importer(lab, expand(lab, fixed_passwords))


# Arbitrary labs of the characters and words the importer treats specially.
SPECIAL = ["a", "B", " ", "\t", "\u00a0", "\\", ";", ",", '"', "'", ".", "[", "]", "[0]", "['x']", "constructor",
           "__proto__", "toString", "NLA", "nla", " TRUE", "true", "16", " 16 ", "XTERM", "White-Black", "\r", "é",
           "\u2028", "$$", " (parameter)", "0", "\U0001f600", "#", ":", "utf-8", "\x7f", "\x85", "\ufeff"]
PARAMETER_NAMES = ["port", " port", "Port", "security", "ignore-cert", "color-depth", "font-size", "terminal-type",
                   "color-scheme", "server-layout", "clipboard-encoding", "cursor", "constructor", "$$x",
                   "a (parameter)b", "x.y", "username"]
SPECIAL_TEXT = st.lists(st.sampled_from(SPECIAL), min_size=1, max_size=3).map("".join)


@st.composite
def special_labs(draw) -> str:
    users = {}
    for index in range(draw(st.integers(1, 3))):
        quantity = draw(st.integers(1, 2))
        users[f"u{index}"] = {"quantity": quantity, "username_prefix": draw(st.one_of(SPECIAL_TEXT, st.just("s"))),
                              "username_suffix": "1" if quantity > 1 or draw(st.booleans()) else "",
                              "password": "x", **({"pods": "all"} if draw(st.booleans()) else {})}
    devices = {}
    for index in range(draw(st.integers(1, 3))):
        pod, quantity = draw(st.booleans()), draw(st.integers(1, 2))
        parameters = {"protocol": draw(st.sampled_from(["rdp", "vnc", "ssh", "telnet", "kubernetes"]))}
        parameters.update(draw(st.dictionaries(st.sampled_from(PARAMETER_NAMES),
                                               st.one_of(SPECIAL_TEXT, st.sampled_from(["true", "nla", "16"])),
                                               max_size=3)))
        devices[draw(st.sampled_from(["d", "d.e", "d[1]", "r"])) + str(index)] = {
            "per_user" if pod else "quantity": quantity, "name_prefix": draw(st.one_of(SPECIAL_TEXT, st.just("PC"))),
            "name_suffix": "1" if quantity > 1 or draw(st.booleans()) else "",
            "hostname_prefix": "10.0.{pod}." if pod else "h", "hostname_suffix": "1", "parameters": parameters}
    lab = draw(st.sampled_from([None, "Net 1.0", "a[b]", "x.toString"]))
    return json.dumps({**({"lab": lab} if lab else {}), "users": users, "devices": devices})


@settings(max_examples=int(os.environ.get("USERMAPPER_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(special_labs())
def test_every_lab_the_import_takes_is_exact_through_the_importer(source):
    try:
        lab = read_config(source, as_json=True)
    except ConfigError:
        return
    mapping = expand(lab, fixed_passwords)
    try:
        entries(lab, mapping)
    except ImportRefused as refused:
        assert all(p.line > 0 for p in refused.problems), refused.problems
        return
    assert_exact_through_the_importer(lab, mapping)


# -- the re-implementation's own rules, as Guacamole 1.6.0's libraries apply them ---------------------------

@pytest.mark.parametrize("text, rows", [
    ('a,"b,""c"""\r\n', [["a", 'b,"c"']]),
    ("a,b\nc\r,d\n\n", [["a", "b"], ["c\r", "d"]]),  # the first line break found ends every record
    ('a\r\n"x\r\ny",b\r\n', None),  # a record shorter than the first
    ('a,b"c\r\n', None),  # a quote inside a field
    ('"a"b\r\n', None),  # text after a closing quote
    ('"a', None),
    ("", []),
])
def test_csv_is_read_as_csv_parse_reads_it(text, rows):
    if rows is None:
        with pytest.raises(guacamole_importer.Rejected):
            guacamole_importer.csv_parse(text)
    else:
        assert guacamole_importer.csv_parse(text) == rows


@pytest.mark.parametrize("path, keys", [
    ("ROOT/lab/d/PC1", ["ROOT/lab/d/PC1"]),
    ("ROOT/Net 1.0/d/PC1", ["ROOT/Net 1", "0/d/PC1"]),
    ("ROOT/l/d/a..b.", ["ROOT/l/d/a", "", "b", ""]),
    ("ROOT/l/d/x[0]", ["ROOT/l/d/x", "0"]),
    ("ROOT/l/d/x['a.b']", ["ROOT/l/d/x", "a.b"]),
    ("ROOT/l/d/x[y]", ["ROOT/l/d/x", "y"]),
    ("ROOT/l/d/x[", ["ROOT/l/d/x["]),
])
def test_lodash_paths_split_as_lodash_splits_them(path, keys):
    assert guacamole_importer.lodash_path(path) == keys
    assert (import_refusals._lodash_keys(path) or [path]) == keys


def test_the_forms_choices_are_the_same_in_the_import_and_its_re_implementation():
    for protocol, fields in guacamole_importer.FORMS.items():
        offered = {name: {o.lower(): o for o in options} for name, options in fields.items() if options}
        assert import_refusals.FORM_OPTIONS[protocol] == offered, protocol


@pytest.mark.parametrize("value, refused", [
    ("x" * 4000, False), ("x" * 4001, True),
    ("\U0001F600" * 2000, False), ("\U0001F600" * 2000 + "x", True),  # 4,001 UTF-16 code units in 2,001 characters
])
def test_a_parameter_value_longer_than_sql_server_holds_is_refused_counted_in_utf16(value, refused):
    source = (EXAMPLES / "classroom.yaml").read_text().replace("ignore-cert: 'true'", f"ignore-cert: '{value}'", 1)
    assert value in source
    lab = read_config(source)
    if not refused:
        entries(lab, expand(lab))
        return
    with pytest.raises(ImportRefused) as error:
        entries(lab, expand(lab))
    assert "Guacamole's database holds at most 4,000" in error.value.problems[0].message
