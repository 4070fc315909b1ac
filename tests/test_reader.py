"""read_config: every example, every refusal with its place, warnings, and how values are read."""

from __future__ import annotations

import gc
import textwrap
import threading
import time
from pathlib import Path

import pytest

from usermapper.lab import ConfigError, Lab, Numbering, Problem, read_config
from usermapper.lab.yaml_nodes import cycle_collection_paused
from usermapper.limits import Limits

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

USER = {"quantity": "2", "username_prefix": "s", "username_suffix": "'1'", "password": "random"}
DEVICE = {"quantity": "2", "name_prefix": "PC", "name_suffix": "'1'", "hostname_prefix": "'10.0.0.'",
          "hostname_suffix": "'1'", "parameters": "{protocol: rdp, port: 3389}"}


def config(user: dict | None = None, device: dict | None = None) -> str:
    """A small valid lab, one line per type (user fields on line 2, device fields on line 4).

    Each override is raw YAML; None leaves the field out.
    """
    def flow(fields: dict, overrides: dict | None) -> str:
        merged = {**fields, **(overrides or {})}
        return "{" + ", ".join(f"{k}: {v}" for k, v in merged.items() if v is not None) + "}"

    return f"users:\n  students: {flow(USER, user)}\ndevices:\n  pcs: {flow(DEVICE, device)}\n"


def refused(text: str | bytes, limits: Limits = Limits()) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        read_config(text, limits)
    return caught.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_the_helper_config_is_valid():
    lab = read_config(config())
    assert (lab.user_count, lab.connection_count, lab.warnings) == (2, 4, ())


# -- the example files ------------------------------------------------------------------------------------

INVALID_EXAMPLES = {
    # file: (path, line, words the message must hold)
    "bad-protocol.yaml": ("devices.pcs.parameters.protocol", 13, ("rpd", "rdp")),
    "duplicate-connection-names.yaml": ("devices.edge.name_prefix", 15, ("core", "edge", "R1, R2")),
    "missing-quantity.yaml": ("users.students.quantity", 5, ("missing",)),
    "negative-quantity.yaml": ("users.students.quantity", 4, ("at least 1", "-3")),
    "not-yaml.yaml": ("", 4, ("a tab character", "spaces")),
}


def test_every_invalid_example_is_covered():
    files = {p.name for p in (EXAMPLES / "invalid").glob("*.yaml")}
    assert files == set(INVALID_EXAMPLES) | {"unquoted-suffix-is-fine.yaml"}


@pytest.mark.parametrize("name", sorted(INVALID_EXAMPLES))
def test_invalid_example_is_refused_where_its_comment_says(name):
    path, line, words = INVALID_EXAMPLES[name]
    problem = only(refused((EXAMPLES / "invalid" / name).read_bytes()))
    assert (problem.path, problem.line) == (path, line)
    assert problem.column >= 1
    assert all(word in problem.message for word in words), problem.message


def test_an_unquoted_number_suffix_means_its_digits():
    text = (EXAMPLES / "invalid" / "unquoted-suffix-is-fine.yaml").read_text()
    quoted = text.replace("suffix: 7", "suffix: '7'").replace("suffix: 1", "suffix: '1'")
    assert quoted.count("suffix: '") == 3
    lab = read_config(text)
    assert lab == read_config(quoted)
    assert lab.user_types[0].username == Numbering("s", 7, 1)
    assert (lab.user_count, lab.connection_count) == (2, 2)


@pytest.mark.parametrize("name", ["classroom.yaml", "original-format.yaml", "escaping.yaml", "big-lab.yaml"])
def test_valid_examples_read_without_warnings(name):
    lab = read_config((EXAMPLES / name).read_bytes())
    assert isinstance(lab, Lab)
    assert lab.warnings == ()


# -- refused: fields ---------------------------------------------------------------------------------------

def test_a_missing_field_is_reported_at_its_type():
    problem = only(refused(config(user={"quantity": None})))
    assert (problem.path, problem.line, problem.column) == ("users.students.quantity", 2, 3)
    assert "missing" in problem.message


@pytest.mark.parametrize("value, shown", [("two", "'two'"), ("2.5", "'2.5'"), ("[2]", "a list"),
                                          ("true", "'true'"), ("~", "an empty value")])
def test_a_quantity_must_be_a_whole_number(value, shown):
    problem = only(refused(config(user={"quantity": value})))
    assert (problem.path, problem.line) == ("users.students.quantity", 2)
    assert problem.message == f"must be a whole number, not {shown}"


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_quantity_below_one_is_refused(value):
    text = config(device={"quantity": value})
    problem = only(refused(text))
    assert (problem.path, problem.line) == ("devices.pcs.quantity", 4)
    assert problem.column == text.splitlines()[3].index(value) + 1
    assert problem.message == f"must be a whole number of at least 1, not {value}"


def test_an_unknown_field_suggests_the_one_meant():
    problems = refused(config(user={"quantity": None, "quantiy": "2"}))
    assert [p.path for p in problems] == ["users.students.quantity", "users.students.quantiy"]
    assert "did you mean 'quantity'?" in problems[1].message
    assert problems[1].column == config(user={"quantity": None, "quantiy": "2"}).splitlines()[1].index("quantiy") + 1


def test_an_unknown_top_level_field_is_refused():
    problem = only(refused(config() + "device:\n  x: 1\n"))
    assert (problem.path, problem.line, problem.column) == ("device", 5, 1)
    assert "did you mean 'devices'?" in problem.message


def test_an_empty_suffix_numbers_nothing_so_it_is_refused_for_more_than_one():
    problem = only(refused(config(user={"username_suffix": "''"})))
    assert (problem.path, problem.line) == ("users.students.username_suffix", 2)
    assert "is empty, which numbers nothing: all 2 would have the same username" in problem.message


@pytest.mark.parametrize("suffix", ["'A1'", "'-1'", "'1.5'", "' 1'", "'١'"])
def test_a_suffix_must_be_digits(suffix):
    problem = only(refused(config(user={"username_suffix": suffix})))
    assert (problem.path, problem.line) == ("users.students.username_suffix", 2)
    assert "written in digits" in problem.message


def test_hostname_fields_are_checked_like_the_others():
    problem = only(refused(config(device={"hostname_suffix": "x1"})))
    assert problem.path == "devices.pcs.hostname_suffix"
    problem = only(refused(config(device={"hostname_suffix": None})))
    assert (problem.path, problem.line, problem.column) == ("devices.pcs.hostname_suffix", 4, 3)


def test_a_literal_hostname_needs_no_numbering():
    lab = read_config(config(device={"hostname_prefix": None, "hostname_suffix": None,
                                     "parameters": "{protocol: ssh, hostname: jump.example}"}))
    assert lab.device_types[0].hostname is None
    assert lab.device_types[0].parameters == (("hostname", "jump.example"),)


def test_a_literal_hostname_contradicts_hostname_numbering():
    problem = only(refused(config(device={"parameters": "{protocol: ssh, hostname: jump.example}"})))
    assert problem.path == "devices.pcs.parameters.hostname"
    assert "must be ~" in problem.message


@pytest.mark.parametrize("field, value, words", [
    ("password_length", "7", "from 8 to 128"),
    ("password_length", "129", "from 8 to 128"),
    ("password_length", "long", "whole number"),
    ("password_encoding", "SHA256", "plain, md5, sha256"),
    ("password_encoding", "bcrypt", "plain, md5, sha256"),
    ("password", "~", "single value"),
    ("devices", "pcs", "list of device types"),
    ("devices", "[]", "lists no device types"),
])
def test_optional_user_fields_are_checked(field, value, words):
    problem = only(refused(config(user={field: value})))
    assert (problem.path, problem.line) == (f"users.students.{field}", 2)
    assert words in problem.message


# -- refused: across types ---------------------------------------------------------------------------------

def test_two_user_types_generating_one_username_are_refused():
    text = dedent("""
        users:
          students: {quantity: 3, username_prefix: s, username_suffix: '1', password: random}
          guests: {quantity: 2, username_prefix: s, username_suffix: '3', password: random}
        devices:
          pcs: {quantity: 1, name_prefix: PC, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: rdp}}
        """)
    problem = only(refused(text))
    assert (problem.path, problem.line) == ("users.guests.username_prefix", 3)
    assert problem.column == text.splitlines()[2].index("s, username_suffix") + 1
    assert "'students' and 'guests' both generate s3" in problem.message


def test_two_device_types_generating_one_connection_name_are_refused():
    text = dedent("""
        users:
          students: {quantity: 1, username_prefix: s, username_suffix: '1', password: random}
        devices:
          pcs: {quantity: 1, name_prefix: PC1, name_suffix: '0', hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: rdp}}
          more: {quantity: 12, name_prefix: PC, name_suffix: '1', hostname_prefix: g, hostname_suffix: '1', parameters: {protocol: rdp}}
        """)
    problem = only(refused(text))
    assert (problem.path, problem.line) == ("devices.more.name_prefix", 5)
    assert "'pcs' and 'more' both generate PC10" in problem.message


def test_an_unknown_protocol_is_refused_with_a_suggestion():
    problem = only(refused(config(device={"parameters": "{protocol: sshh}"})))
    assert (problem.path, problem.line) == ("devices.pcs.parameters.protocol", 4)
    assert problem.message == ("must be one of rdp, vnc, ssh, telnet, kubernetes, not 'sshh' "
                               "(did you mean 'ssh'?)")


def test_a_missing_protocol_is_refused():
    problem = only(refused(config(device={"parameters": "{port: 22}"})))
    assert problem.path == "devices.pcs.parameters.protocol"
    assert "is missing" in problem.message


def test_a_generated_ipv4_address_past_255_is_refused():
    problem = only(refused(config(device={"quantity": "3", "hostname_suffix": "'254'"})))
    assert (problem.path, problem.line) == ("devices.pcs.hostname_suffix", 4)
    assert "10.0.0.256" in problem.message


def test_hostnames_that_are_not_addresses_may_count_past_255():
    lab = read_config(config(device={"quantity": "3", "hostname_prefix": "pc-", "hostname_suffix": "'254'"}))
    assert lab.device_types[0].hostname.names(3) == ["pc-254", "pc-255", "pc-256"]


def test_a_user_type_may_only_name_device_types_that_exist():
    problem = only(refused(config(user={"devices": "[pcs, pc]"})))
    assert (problem.path, problem.line) == ("users.students.devices[1]", 2)
    assert "'pc' is not a device type (did you mean 'pcs'?)" in problem.message


def test_a_device_type_named_like_a_boolean_can_be_listed():
    text = config(user={"devices": "[on]"}).replace("  pcs:", "  on:")
    assert read_config(text).user_types[0].devices == ("on",)


# -- refused: limits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("limits, words", [
    (Limits(max_users=1), "2 users; the most one file may hold is 1"),
    (Limits(max_devices=1), "2 devices; the most one file may hold is 1"),
    (Limits(max_connections=3), "4 connections; the most one file may hold is 3"),
])
def test_labs_over_the_limits_are_refused(limits, words):
    problem = only(refused(config(), limits))
    assert problem.line >= 1 and problem.path in ("users", "devices")
    assert words in problem.message


def test_a_config_over_the_size_limit_is_refused():
    problem = only(refused(config(), Limits(max_config_bytes=100)))
    assert "the largest accepted is 100 bytes" in problem.message


def test_a_huge_quantity_is_refused_by_the_limits_not_built():
    started = time.perf_counter()
    problems = refused(config(user={"quantity": "1" + "0" * 30}))
    assert time.perf_counter() - started < 0.5
    assert problems[0].path == "users"
    assert "1,000,000,000,000,000,000,000,000,000,000 users; the most one file may hold is 10,000" in problems[0].message


# -- refused: values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("escape, code", [("\\x01", "U+0001"), ("\\x1b", "U+001B"), ("\\uFFFE", "U+FFFE"),
                                          ("\\0", "U+0000")])
def test_characters_xml_cannot_carry_are_refused(escape, code):
    problem = only(refused(config(user={"password": f'"pass{escape}"'})))
    assert (problem.path, problem.line) == ("users.students.password", 2)
    assert code in problem.message and "XML" in problem.message


def test_control_characters_are_refused_in_parameters_too():
    problem = only(refused(config(device={"parameters": '{protocol: ssh, command: "ls\\x07"}'})))
    assert problem.path == "devices.pcs.parameters.command"
    assert "U+0007" in problem.message


def test_a_raw_control_character_is_refused_with_its_place():
    problem = only(refused("users:\n  é: x\x01\n"))
    assert (problem.line, problem.column) == (2, 7)
    assert "#x0001" in problem.message


@pytest.mark.parametrize("value", ["[a, b]", "{a: b}"])
def test_a_list_or_mapping_as_a_parameter_value_is_refused(value):
    problem = only(refused(config(device={"parameters": f"{{protocol: rdp, port: {value}}}"})))
    assert (problem.path, problem.line) == ("devices.pcs.parameters.port", 4)
    assert "not a list or a mapping" in problem.message


def test_a_parameter_without_a_value_is_refused():
    problem = only(refused(config(device={"parameters": "{protocol: rdp, port: ~}"})))
    assert problem.path == "devices.pcs.parameters.port"
    assert "has no value" in problem.message


@pytest.mark.parametrize("value", ['!!int "abc"', '!!int ""', "1" * 5000])
def test_a_quantity_that_is_no_number_is_refused_even_when_tagged_as_one(value):
    problem = only(refused(config(user={"quantity": value})))
    assert (problem.path, problem.line) == ("users.students.quantity", 2)


def test_a_suffix_too_long_to_be_a_number_is_refused():
    problem = only(refused(config(user={"username_suffix": "'" + "1" * 5000 + "'"})))
    assert (problem.path, problem.line) == ("users.students.username_suffix", 2)
    assert problem.message == "has 5,000 digits; the most a suffix may have is 100"


def test_a_value_tagged_as_a_boolean_must_be_one():
    problem = only(refused(config(device={"parameters": '{protocol: rdp, console: !!bool "maybe"}'})))
    assert (problem.path, problem.line) == ("devices.pcs.parameters.console", 4)
    assert problem.message == "must be true or false, not 'maybe'"


# -- refused: the document ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "~\n", "---\n"])
def test_an_empty_config_is_refused(text):
    problem = only(refused(text))
    assert problem.line == 1
    assert "empty" in problem.message


@pytest.mark.parametrize("text, shown", [("- users\n- devices\n", "a list"), ("users\n", "'users'"),
                                         ("42\n", "'42'")])
def test_a_config_that_is_not_a_mapping_is_refused(text, shown):
    problem = only(refused(text))
    assert (problem.path, problem.line, problem.column) == ("config", 1, 1)
    assert problem.message == f"must be a mapping of names to settings, not {shown}"


def test_a_section_needs_at_least_one_type():
    problems = refused("users: {}\ndevices: {}\n")
    assert [(p.path, p.line, p.message) for p in problems] == [("users", 1, "needs at least one user type"),
                                                               ("devices", 2, "needs at least one device type")]


def test_duplicate_keys_are_refused_at_the_second():
    text = dedent("""
        users:
          students: {quantity: 1, username_prefix: s, username_suffix: '1', password: random}
          students: {quantity: 1, username_prefix: t, username_suffix: '1', password: random}
        devices:
          pcs: {quantity: 1, quantity: 2, name_prefix: PC, name_suffix: '1', hostname_prefix: h, hostname_suffix: '1', parameters: {protocol: rdp, port: 1, port: 2}}
        """)
    problems = refused(text)
    assert [(p.path, p.line) for p in problems] == [
        ("users.students", 3), ("devices.pcs.quantity", 5), ("devices.pcs.parameters.port", 5)]
    assert all("appears twice" in p.message for p in problems)
    assert "first on line 2" in problems[0].message


def test_parameter_names_are_kept_as_written_even_when_yaml_1_1_reads_them_as_one_boolean():
    lab = read_config(config(device={"parameters": "{protocol: rdp, yes: a, true: b}"}))
    assert [name for name, _ in lab.device_types[0].parameters] == ["hostname", "yes", "true"]


def test_a_yaml_syntax_error_has_a_line_and_column():
    problem = only(refused("users:\n  students: [1, 2\ndevices: {}\n"))
    assert (problem.path, problem.line) == ("", 3)
    assert problem.column >= 1
    assert problem.message.startswith("the list or mapping opened at line 2, column 13 is not closed")


def test_two_documents_are_refused():
    problem = only(refused(config() + "---\n" + config()))
    assert problem.line == 5
    assert "single document" in problem.message


def test_invalid_utf8_is_refused_with_its_place():
    problem = only(refused(b"users:\n  caf\xe9: {}\n"))
    assert (problem.line, problem.column) == (2, 6)
    assert "not UTF-8" in problem.message and "0xe9" in problem.message


def test_a_byte_order_mark_is_fine():
    assert read_config(b"\xef\xbb\xbf" + config().encode()).user_count == 2


def test_text_with_a_lone_surrogate_is_refused():
    problem = only(refused(config(user={"password": "p\ud800"})))
    assert problem.line == 2
    assert "U+D800" in problem.message


# -- refused: hostile shapes, quickly ----------------------------------------------------------------------

@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_quickly(opening, closing):
    text = "users: " + opening * 100_000 + closing * 100_000 + "\n"
    started = time.perf_counter()
    problem = only(refused(text))
    assert time.perf_counter() - started < 1
    assert problem.line == 1 and "nest" in problem.message


def billion_laughs(levels: int, width: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly():
    text = billion_laughs(levels=20, width=10)
    assert len(text) < 2_000
    started = time.perf_counter()
    problem = only(refused(text))
    assert time.perf_counter() - started < 0.5
    assert "aliases" in problem.message


def test_an_alias_bomb_under_the_alias_limit_costs_nothing():
    bomb = billion_laughs(levels=10, width=9).replace("\n", "\n  ")
    text = "bomb:\n  " + bomb + "\n" + config(device={"parameters": "{protocol: rdp, port: *a9}"})
    assert len(text) < 1_500
    started = time.perf_counter()
    problems = refused(text)
    assert time.perf_counter() - started < 0.5
    assert [p.path for p in problems] == ["bomb", "devices.pcs.parameters.port"]


# -- all at once -------------------------------------------------------------------------------------------

def test_every_problem_is_reported_at_once_in_line_order():
    text = dedent("""
        users:
          students:
            quantity: 0
            username_prefix: s
            username_suffix: '1'
            password: random
        devices:
          pcs:
            quantity: 1
            name_prefix: PC
            name_suffix: one
            hostname_prefix: h
            hostname_suffix: '1'
            parameters: {protocol: rdpp}
        """)
    problems = refused(text)
    assert [(p.path, p.line) for p in problems] == [("users.students.quantity", 3),
                                                    ("devices.pcs.name_suffix", 11),
                                                    ("devices.pcs.parameters.protocol", 14)]


def test_problems_print_with_their_place():
    problem = Problem("users.students.quantity", 3, 15, "is missing")
    assert str(problem) == "3:15: users.students.quantity: is missing"
    assert str(ConfigError([problem, Problem("", 1, 1, "x")])) == "3:15: users.students.quantity: is missing\n1:1: x"


# -- warnings ----------------------------------------------------------------------------------------------

def test_an_unknown_parameter_is_a_warning_and_is_kept():
    lab = read_config(config(device={"parameters": "{protocol: rdp, port: 3389, ignore-certs: 'true'}"}))
    warning = only(list(lab.warnings))
    assert (warning.path, warning.line) == ("devices.pcs.parameters.ignore-certs", 4)
    assert "did you mean 'ignore-cert'?" in warning.message
    assert lab.device_types[0].parameters == (("hostname", None), ("port", "3389"), ("ignore-certs", "true"))


def test_parameters_known_to_one_protocol_only_warn_on_another():
    lab = read_config(config(device={"parameters": "{protocol: ssh, color-scheme: green-black, security: any}"}))
    assert [w.path for w in lab.warnings] == ["devices.pcs.parameters.security"]


# -- values ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, value", [
    ("yes", "true"), ("True", "true"), ("on", "true"), ("no", "false"), ("Off", "false"), ("FALSE", "false"),
    ("'yes'", "yes"), ("3389", "3389"), ("0022", "0022"), ("1.50", "1.50"), ("0x1F", "0x1F"), ("1e3", "1e3"),
    ("''", ""), ('" spaced "', " spaced "), ("a: b", None),
])
def test_values_are_written_as_guacamole_expects(written, value):
    text = config(device={"parameters": f"{{protocol: rdp, ignore-cert: {written}}}"})
    if value is None:
        refused(text)
        return
    assert dict(read_config(text).device_types[0].parameters)["ignore-cert"] == value


def test_the_generated_hostname_goes_where_hostname_tilde_stands():
    lab = read_config(config(device={"parameters": "{protocol: rdp, port: 3389, hostname: ~, security: any}"}))
    assert lab.device_types[0].parameters == (("port", "3389"), ("hostname", None), ("security", "any"))


def test_the_generated_hostname_comes_first_when_not_placed():
    lab = read_config(config())
    assert lab.device_types[0].parameters == (("hostname", None), ("port", "3389"))
    assert lab.device_types[0].hostname == Numbering("10.0.0.", 1, 1)


def test_a_user_type_keeps_its_options():
    lab = read_config(config(user={"password_length": "20", "password_encoding": "sha256", "devices": "[pcs]",
                                   "password": "secret"}))
    user_type = lab.user_types[0]
    assert (user_type.password, user_type.password_length, user_type.password_encoding, user_type.devices) == (
        "secret", 20, "sha256", ("pcs",))


def test_password_random_means_one_per_user():
    assert read_config(config()).user_types[0].password is None
    assert read_config(config(user={"password": "'Random'"})).user_types[0].password == "Random"


def test_a_number_password_is_kept_as_written():
    assert read_config(config(user={"password": "007"})).user_types[0].password == "007"


MERGED = """\
users:
    defaults: &student {quantity: 2, username_prefix: s, username_suffix: '1', password: random}
    students:
        <<: *student
        username_prefix: pupil
        devices: [labs]
devices:
    pcs: &pc
        quantity: 2
        name_prefix: PC
        name_suffix: '1'
        hostname_prefix: '10.0.0.'
        hostname_suffix: '1'
        parameters: &rdp {protocol: rdp, hostname: ~, port: 3389}
    labs:
        <<: *pc
        name_prefix: LAB
        parameters:
            <<: *rdp
            port: 3390
            ignore-cert: true
"""


def test_merge_keys_share_settings_and_the_mapping_s_own_keys_win():
    lab = read_config(MERGED)
    students = lab.user_types[1]
    assert (students.quantity, students.username.prefix, students.devices) == (2, "pupil", ("labs",))
    labs = lab.device_types[1]
    assert (labs.quantity, labs.connection_name.prefix, labs.hostname.prefix) == (2, "LAB", "10.0.0.")
    assert labs.parameters == (("hostname", None), ("port", "3390"), ("ignore-cert", "true"))


def test_merging_a_list_of_mappings_takes_the_first_that_has_a_key():
    text = MERGED.replace("<<: *pc", "<<: [{name_prefix: FIRST}, *pc ]").replace("        name_prefix: LAB\n", "")
    assert read_config(text).device_types[1].connection_name.prefix == "FIRST"


def test_merging_what_is_not_a_mapping_is_refused_where_it_stands():
    problems = refused(MERGED.replace("<<: *student", "<<: [1]"))
    assert Problem("users.students.<<", 4, 13, "can only merge mappings, like <<: *defaults") in problems


def test_a_mapping_merged_into_itself_is_read_once():
    problems = refused("users: &u\n    <<: *u\n    s: {quantity: 1}\ndevices: {}\n")
    assert any(p.path == "users.s.username_prefix" for p in problems)


def test_the_cycle_collector_runs_again_once_every_config_is_read():
    """Paused while any thread reads a config (yaml_nodes.cycle_collection_paused), whether the config is
    valid, refused or unreadable, and running again after the last: never left off."""
    configs = [(EXAMPLES / "classroom.yaml").read_text(), "users: {}\ndevices: {}\n", "a: [", "&a [*a]"]
    paused_inside, failures = [], []
    barrier = threading.Barrier(8)

    def read(index: int) -> None:
        barrier.wait()
        for _ in range(20):
            try:
                read_config(configs[index % len(configs)])
            except ConfigError:
                pass
            except Exception as error:  # noqa: BLE001 - reported below, not swallowed
                failures.append(error)
        with cycle_collection_paused():
            paused_inside.append(not gc.isenabled())

    threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and paused_inside == [True] * 8
    assert gc.isenabled()
