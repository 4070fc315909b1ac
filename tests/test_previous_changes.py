"""What changed since the previous run (usermapper/previous/changes.py and mapping.py), and what a lab
makes of a previous sheet (previous/passwords.py), through the one generate step (generate.py).

The week-two lab of docs/week-two.md: a desktop added, the router's hostname fixed, three students added,
a trainer removed. The summary names exactly those differences, read from the previous user-mapping.xml or
from the previous config alike; from the previous sheet alone, the users added, removed and kept.
"""

from __future__ import annotations

import io
import json

import guacamole_reader
import pytest

from usermapper.generate import check
from usermapper.limits import Limits
from usermapper.outputs.user_mapping import FileTooLarge
from usermapper.previous import PreviousRefused, previous_lab, read_user_mapping

LIMITS = Limits()
WEEK_ONE = """\
users:
    trainers: {quantity: 2, username_prefix: trainer, username_suffix: '1', password: random}
    students:
        quantity: 12
        username_prefix: student
        username_suffix: '01'
        password: random
        password_encoding: sha256
devices:
    desktops:
        quantity: 3
        name_prefix: WS
        name_suffix: '1'
        hostname_prefix: '192.168.50.'
        hostname_suffix: '21'
        parameters: {protocol: rdp, port: 3389}
    routers:
        quantity: 1
        name_prefix: Router
        name_suffix: ''
        hostname_prefix: 192.168.50.1
        hostname_suffix: ''
        parameters: {protocol: ssh, port: 22}
"""
WEEK_TWO = (WEEK_ONE.replace("trainers: {quantity: 2", "trainers: {quantity: 1")
            .replace("quantity: 12", "quantity: 15").replace("quantity: 3", "quantity: 4")
            .replace("hostname_prefix: 192.168.50.1", "hostname_prefix: 192.168.50.254"))
CHANGES = [
    "trainers: 1 removed (trainer2), 1 kept",
    "  trainer1: + WS4; ~ Router (hostname)",
    "students: 3 added (student13, student14, student15), 12 kept",
    "  all 12: + WS4; ~ Router (hostname)",
    "random passwords: 13 kept, 3 new (student13, student14, student15)",
]


def written(generated) -> bytes:
    out = io.BytesIO()
    generated.write_user_mapping(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def week_one():
    return check(WEEK_ONE, LIMITS).generate()


def test_the_week_two_changes_are_named_exactly_from_the_previous_file_or_the_previous_lab(week_one):
    checked = check(WEEK_TWO, LIMITS, sheet=week_one.credentials.csv)
    from_file = read_user_mapping(io.BytesIO(written(week_one)), LIMITS)
    assert checked.changes(from_file).lines() == CHANGES
    assert checked.changes(previous_lab(WEEK_ONE, LIMITS)).lines() == CHANGES
    assert checked.generate().changes(from_file).lines() == CHANGES


def test_from_the_sheet_alone_the_users_added_removed_and_kept(week_one):
    checked = check(WEEK_TWO, LIMITS, sheet=week_one.credentials.csv)
    assert checked.changes().lines() == [
        "trainers: 1 removed (trainer2), 1 kept",
        "students: 3 added (student13, student14, student15), 12 kept",
        "random passwords: 13 kept, 3 new (student13, student14, student15)"]
    assert checked.changes().as_dict()["connections_known"] is False


def test_every_remaining_user_logs_in_with_last_weeks_password_and_the_new_sheet_holds_everyone(week_one):
    generated = check(WEEK_TWO, LIMITS, sheet=week_one.credentials.csv).generate()
    before = {u.username: u.password for u in week_one.mapping.users}
    users = guacamole_reader.read(written(generated))
    assert set(users) == set(before) - {"trainer2"} | {"student13", "student14", "student15"}
    for user in generated.mapping.users:
        assert guacamole_reader.authenticates(users, user.username, before.get(user.username, user.password))
    new = [u.password for u in generated.mapping.users if u.username not in before]
    assert len(set(new)) == 3 and not set(new) & set(before.values())
    sheet = generated.credentials.csv.decode()
    assert all(f"{u.username},{u.password}" in sheet for u in generated.mapping.users)


def test_without_a_sheet_every_random_password_is_new(week_one):
    again = check(WEEK_ONE, LIMITS).generate()
    assert not {u.password for u in again.mapping.users} & {u.password for u in week_one.mapping.users}


def test_the_configs_own_password_wins_and_a_warning_says_whom_to_tell(week_one):
    literal = WEEK_TWO.replace("username_suffix: '1', password: random", "username_suffix: '1', password: Now-Known")
    checked = check(literal, LIMITS, sheet=week_one.credentials.csv)
    [warning] = checked.warnings
    column = literal.splitlines()[1].index("Now-Known") + 1
    assert (warning.path, warning.line, warning.column) == ("users.trainers.password", 2, column)
    assert warning.message == ("the config's password replaces the one the previous sheet gave 1 user (trainer1): "
                               "tell them the new one")
    assert checked.generate().mapping.users[0].password == "Now-Known"
    same = b"username,password\ntrainer1,Now-Known\n"
    assert check(literal, LIMITS, sheet=same).warnings == []


def test_a_kept_password_shorter_than_password_length_is_kept_and_warned_about():
    longer = WEEK_ONE.replace("password_encoding: sha256", "password_encoding: sha256\n        password_length: 20")
    sheet = b"username,password\n" + b"".join(b"student%02d,short%d\n" % (n, n) for n in range(1, 8))
    checked = check(longer, LIMITS, sheet=sheet)
    [warning] = checked.warnings
    assert (warning.path, warning.line) == ("users.students.password_length", 9)
    assert warning.message == ("7 kept passwords are shorter than 20 characters (student01, student02, student03, "
                               "student04, student05 and 2 more); kept all the same, so that nobody needs a new "
                               "one: leave them out of the sheet to give them new ones")
    users = guacamole_reader.read(written(checked.generate()))
    assert guacamole_reader.authenticates(users, "student07", "short7")
    assert users["student07"][1] == "sha256"


def test_the_files_size_is_exact_with_kept_passwords_of_any_length_and_escaping():
    plain = WEEK_ONE.replace("        password_encoding: sha256\n", "")
    sheet = ('username,password\nstudent01,"a&b<c>""d"\nstudent02,x\nstudent03,' + "ü" * 300 + "\n").encode()
    checked = check(plain, LIMITS, sheet=sheet)
    data = written(checked.generate())
    assert checked.xml_size == len(data)
    assert guacamole_reader.authenticates(guacamole_reader.read(data), "student01", 'a&b<c>"d')


def test_the_order_of_a_connections_parameters_is_no_change_but_its_protocol_and_each_value_are():
    reordered = WEEK_ONE.replace("{protocol: rdp, port: 3389}", "{port: 3389, protocol: rdp}")
    assert check(reordered, LIMITS).changes(previous_lab(WEEK_ONE, LIMITS)).lines() == [
        "trainers: 2 kept, connections unchanged", "students: 12 kept, connections unchanged"]
    other = (WEEK_ONE.replace("{protocol: rdp, port: 3389}", "{protocol: vnc, port: 5900, password: x}")
             .replace("{protocol: ssh, port: 22}", "{protocol: ssh}"))
    assert check(other, LIMITS).changes(previous_lab(WEEK_ONE, LIMITS)).lines() == [
        "trainers: 2 kept",
        "  all 2: ~ WS1 (protocol, port, password), WS2 (protocol, port, password), WS3 (protocol, port, "
        "password), Router (port)",
        "students: 12 kept",
        "  all 12: ~ WS1 (protocol, port, password), WS2 (protocol, port, password), WS3 (protocol, port, "
        "password), Router (port)"]


def test_each_pod_owners_own_change_is_one_line_for_all_of_them():
    pods = """\
users:
    students: {quantity: 20, username_prefix: student, username_suffix: '01', password: random}
devices:
    pcs: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: '10.0.{pod}.', hostname_suffix: '10',
          parameters: {protocol: rdp}}
"""
    moved = pods.replace("hostname_suffix: '10'", "hostname_suffix: '20'")
    previous = read_user_mapping(io.BytesIO(written(check(pods, LIMITS).generate())), LIMITS)
    assert check(moved, LIMITS).changes(previous).lines() == ["students: 20 kept", "  all 20: ~ PC (hostname)"]
    fewer = pods.replace("quantity: 20", "quantity: 19")
    assert check(fewer, LIMITS).changes(previous).lines() == [  # a user-mapping.xml has no types
        "students: 19 kept, connections unchanged", "no longer in the lab: 1 user (student20)"]
    assert check(fewer, LIMITS).changes(previous_lab(pods, LIMITS)).lines() == [
        "students: 1 removed (student20), 19 kept, connections unchanged"]


def previous_file(users: list[tuple[str, list[str]]]) -> bytes:
    blocks = "".join(f'<authorize username="{name}" password="x">'
                     + "".join(f'<connection name="{c}"><protocol>ssh</protocol>'
                               f'<param name="hostname">h</param></connection>' for c in connections)
                     + "</authorize>" for name, connections in users)
    return f'<?xml version="1.0"?><user-mapping>{blocks}</user-mapping>'.encode()


def test_every_list_is_bounded_and_counts_the_rest():
    lab = """\
users:
    students: {quantity: 300, username_prefix: s, username_suffix: '1', password: random}
devices:
    pcs: {quantity: 1, name_prefix: PC, name_suffix: '', hostname_prefix: h, hostname_suffix: '', parameters: {protocol: ssh}}
"""
    previous = read_user_mapping(io.BytesIO(previous_file(
        [(f"s{n}", ["PC", f"old{n}"]) for n in range(1, 301)]
        + [(f"gone{n}", [f"a{k}" for k in range(9)]) for n in range(7)])), LIMITS)
    lines = check(lab, LIMITS).changes(previous).lines()
    assert lines[0] == "students: 300 kept"
    assert lines[1:4] == ["  s1: - old1", "  s2: - old2", "  s3: - old3"]
    assert len(lines) == 1 + 100 + 1 + 1
    assert lines[-2] == "  and 200 more users with other changes"
    assert lines[-1] == "no longer in the lab: 7 users (gone0, gone1, gone2, gone3, gone4 and 2 more)"
    many = read_user_mapping(io.BytesIO(previous_file([("s1", [f"c{k}" for k in range(12)])])), LIMITS)
    assert check(lab, LIMITS).changes(many).lines()[:3] == [
        "students: 299 added (s2, s3, s4, s5, s6 and 294 more), 1 kept",
        "  s1: + PC; - c0, c1, c2, c3, c4 and 7 more"]


@pytest.mark.parametrize("data, expected", [
    (b"<user-mapping><authorize username='a' password='b'><group/></authorize></user-mapping>",
     (1, 0, "not a user-mapping.xml Guacamole can read: <group> inside <authorize>")),
    (b"<?xml version='1.0'?>\n<mapping/>", (2, 0, "not a user-mapping.xml Guacamole can read: <mapping> as the root")),
    (b"<user-mapping>\n<authorize password='b'/>", (2, 0, "not a user-mapping.xml Guacamole can read: <authorize> "
                                                          "without username")),
    (b"<user-mapping>\n  <authorize username='a' password='b'>\n</user-mapping>",
     (3, 16, "not a user-mapping.xml Guacamole can read: Opening and ending tag mismatch: authorize line 2 and "
            "user-mapping")),
    (b"<user-mapping><authorize username='a' password='b'/>\n<x/><authorize username='c' password='d'/>"
     b"</user-mapping>", (2, 0, "not a user-mapping.xml Guacamole can read: <x> inside <user-mapping>")),
    (b"<user-mapping><authorize username='a' password='b'/>\n<x/></user-mapping>",
     (2, 0, "not a user-mapping.xml Guacamole can read: <x> inside <user-mapping>")),
    (b"<user-mapping><authorize username='a' password='b'>\n<connection><protocol>ssh</protocol></connection>"
     b"</authorize></user-mapping>", (2, 0, "not a user-mapping.xml Guacamole can read: <connection> without name")),
    (b"<user-mapping><authorize username='a' password='b'><connection name='c'>\n<param name='x'><b/></param>"
     b"</connection></authorize></user-mapping>", (2, 0, "not a user-mapping.xml Guacamole can read: <b> inside "
                                                         "<param>")),
    (b"<user-mapping><authorize username='a' password='b'><connection name='c'>\n<param>v</param>"
     b"</connection></authorize></user-mapping>", (2, 0, "not a user-mapping.xml Guacamole can read: <param> "
                                                         "without name")),
])
def test_a_previous_file_guacamole_would_refuse_is_refused_at_its_line(data, expected):
    with pytest.raises(PreviousRefused) as refused:
        read_user_mapping(io.BytesIO(data), LIMITS)
    [problem] = refused.value.problems
    assert (problem.line, problem.column, problem.message) == expected


def test_a_previous_file_that_declares_entities_is_refused_before_any_is_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            b'<user-mapping><authorize username="&c;" password="x"/></user-mapping>')
    with pytest.raises(PreviousRefused) as refused:
        read_user_mapping(io.BytesIO(bomb), LIMITS)
    assert "DOCTYPE" in refused.value.problems[0].message


def test_a_previous_file_is_read_as_guacamole_reads_it_and_each_types_list_is_kept_once(week_one):
    previous = read_user_mapping(io.BytesIO(written(week_one)), LIMITS)
    assert previous.connections("student01") is previous.connections("student12")
    assert [c.name for c in previous.connections("trainer1")] == ["WS1", "WS2", "WS3", "Router"]
    twice = read_user_mapping(io.BytesIO(
        b"<user-mapping><authorize username='a' password='1'><connection name='c'><protocol>ssh</protocol>"
        b"<param name='port'>1</param><param name='port'>2</param></connection></authorize>"
        b"<authorize username='a' password='2'/></user-mapping>"), LIMITS)
    assert list(twice.types) == ["a"] and twice.connections("a") == ()  # the last one wins


def test_kept_passwords_longer_than_new_ones_count_against_the_files_limit():
    plain = WEEK_ONE.replace("        password_encoding: sha256\n", "")
    size = check(plain, LIMITS).xml_size
    limits = Limits(max_xml_bytes=size + 10)
    assert check(plain, limits, sheet=b"username,password\nstudent01," + b"x" * 22 + b"\n").xml_size == size + 10
    with pytest.raises(FileTooLarge):
        check(plain, limits, sheet=b"username,password\nstudent01," + b"x" * 23 + b"\n")


def test_the_changes_as_data_for_the_web_say_what_the_lines_say(week_one):
    checked = check(WEEK_TWO, LIMITS, sheet=week_one.credentials.csv)
    data = json.loads(json.dumps(checked.changes(read_user_mapping(io.BytesIO(written(week_one)), LIMITS)).as_dict()))
    change = "+ WS4; ~ Router (hostname)"
    assert data == {
        "user_types": [
            {"name": "trainers", "added": {"first": [], "count": 0}, "removed": {"first": ["trainer2"], "count": 1},
             "kept": 1, "changes": [{"users": {"first": ["trainer1"], "count": 1}, "change": change}],
             "other_changes": 0, "unchanged": 0},
            {"name": "students", "added": {"first": ["student13", "student14", "student15"], "count": 3},
             "removed": {"first": [], "count": 0}, "kept": 12,
             "changes": [{"users": {"first": ["student01", "student02", "student03", "student04", "student05"],
                                    "count": 12}, "change": change}],
             "other_changes": 0, "unchanged": 0}],
        "more_user_types": 0, "connections_known": True, "passwords_kept": 13,
        "passwords_new": {"first": ["student13", "student14", "student15"], "count": 3}}


def test_a_previous_file_is_read_no_further_than_the_most_users_a_lab_may_have():
    users = "".join(f"<authorize username='u{n}' password='p'/>" for n in range(4))
    with pytest.raises(PreviousRefused) as refused:
        read_user_mapping(io.BytesIO(f"<user-mapping>{users}</user-mapping>".encode()), Limits(max_users=3))
    assert refused.value.problems[0].message == ("the previous file has more than 3 users, the most a lab may "
                                                 "have; it was read no further")
