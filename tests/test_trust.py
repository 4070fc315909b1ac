"""Trust in the output: what the trainer wrote is what Guacamole gets, or a located reason why not.

Over real HTTP (devhost on Azurite), each file read back with the project's re-implementation of
Guacamole's reader; and as properties of the config reader, for any scalar YAML can write.
"""

from __future__ import annotations

import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import guacamole_reader
from httpclient import Client, assert_problem
from usermapper.lab import tokens
from usermapper.lab import ConfigError, read_config

LAB = """\
users:
  trainers: {{quantity: 1, username_prefix: {username_prefix}, username_suffix: '1', password: {password}}}
devices:
  pcs:
    quantity: 1
    name_prefix: {name_prefix}
    name_suffix: '1'
    parameters:
      protocol: {protocol}
      hostname: 10.0.0.1
      {parameter}: {value}
"""


def lab(**fields: str) -> str:
    values = {"username_prefix": "t", "password": "pw", "name_prefix": "PC", "protocol": "rdp",
              "parameter": "username", "value": "lab", **fields}
    return LAB.format(**values)


def generated(app_url: str, config: str) -> tuple[dict, dict]:
    """The 201 summary and the file as Guacamole reads it."""
    client = Client(app_url)
    created = client.post_raw(config.encode(), "application/yaml")
    assert created.status_code == 201, created.text
    return created.json(), guacamole_reader.read(client.get().content)


def warnings_at(summary: dict, path: str) -> list[str]:
    return [w["message"] for w in summary["warnings"] if w["path"] == path]


# -- YAML 1.1's words are words ----------------------------------------------------------------------------

def test_no_on_off_and_yes_stay_the_words_written(app_url):
    summary, users = generated(app_url, lab(username_prefix="no", password="on", name_prefix="off", value="yes"))
    assert list(users) == ["no1"]
    password, _, connections = users["no1"]
    assert password == "on"
    assert connections["off1"][1]["username"] == "yes"
    assert summary["warnings"] == []


@pytest.mark.parametrize("written, sent", [("yes", "true"), ("on", "true"), ("False", "false"), ("true", "true")])
def test_a_boolean_parameter_gets_the_true_or_false_guacd_needs(app_url, written, sent):
    summary, users = generated(app_url, lab(parameter="ignore-cert", value=written))
    assert users["t1"][2]["PC1"][1]["ignore-cert"] == sent
    assert summary["warnings"] == []


@pytest.mark.parametrize("parameter, value, words", [
    ("ignore-cert", "'yes'", "`yes` is not `true`"),
    ("port", "0x16", "`0x16` is not a whole number in decimal digits"),
    ("port", "1_000", "`1_000` is not a whole number"),
    ("security", "NLA", "`NLA` is not one of"),
])
def test_a_value_guacd_cannot_read_is_written_as_given_with_a_warning_that_says_what_guacd_does(
        app_url, parameter, value, words):
    summary, users = generated(app_url, lab(parameter=parameter, value=value))
    assert users["t1"][2]["PC1"][1][parameter] == value.strip("'")
    (message,) = warnings_at(summary, f"devices.pcs.parameters.{parameter}")
    assert words in message and "guacd 1.6.0" in message


@pytest.mark.parametrize("protocol, parameter, known", [
    ("ssh", "timeout", True), ("vnc", "disable-server-input", True), ("ssh", "enable-agent", True),
    ("rdp", "typescript-path", False), ("ssh", "sftp-port", False), ("vnc", "width", False),
    ("rdp", "server-alive-interval", False), ("kubernetes", "wol-send-packet", False),
])
def test_parameter_names_are_guacd_1_6_0s(app_url, protocol, parameter, known):
    summary, _ = generated(app_url, lab(protocol=protocol, parameter=parameter, value="'1'"))
    unknown = [m for m in warnings_at(summary, f"devices.pcs.parameters.{parameter}") if "know" in m]
    assert bool(unknown) is not known, summary["warnings"]


# -- tokens ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, words", [
    ('"line1\\necho ${HOME}"', "guacd receives 'echo ${HOME}'"),
    ("'a$${b}'", "guacd receives 'a${b}'"),
    ("'echo ${HOME}'", "`${HOME}` is no token Guacamole knows"),
    ('"x\\n${GUAC_USERNAME}"', "starts a line, and Guacamole substitutes no token there"),
])
def test_values_guacamoles_tokens_change_are_warned_about(app_url, value, words):
    summary, users = generated(app_url, lab(protocol="ssh", parameter="command", value=value))
    (message,) = warnings_at(summary, "devices.pcs.parameters.command")
    assert words in message


@pytest.mark.parametrize("value", ["'${GUAC_USERNAME}'", "'home-${GUAC_USERNAME:LOWER}'", "'${GUAC_DATE}-${GUAC_TIME}'"])
def test_known_tokens_pass_without_a_warning(app_url, value):
    summary, users = generated(app_url, lab(parameter="domain", value=value))
    assert summary["warnings"] == []
    assert users["t1"][2]["PC1"][1]["domain"] == value.strip("'")


def test_a_token_in_a_generated_hostname_is_a_way_to_give_each_user_a_host(app_url):
    config = lab().replace("      hostname: 10.0.0.1\n", "").replace(
        "    name_suffix: '1'\n", "    name_suffix: '1'\n    hostname_prefix: '${GUAC_USERNAME}.pc'\n"
                                 "    hostname_suffix: '1'\n")
    summary, users = generated(app_url, config)
    assert summary["warnings"] == []
    assert users["t1"][2]["PC1"][1]["hostname"] == "${GUAC_USERNAME}.pc1"


# -- refusals and their places -----------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("username_prefix", '"stu\\ndent"'), ("password", '"pass\\rword"')])
def test_a_line_break_where_a_browser_types_is_refused_at_its_line(app_url, field, value):
    problem = assert_problem(Client(app_url).post_raw(lab(**{field: value}).encode(), "application/yaml"), 422)
    (error,) = problem["errors"]
    assert (error["path"], error["line"]) == (f"users.trainers.{field}", 2)
    assert "line break" in error["message"]


def test_every_problem_of_every_stage_comes_at_once_in_line_order(app_url):
    config = """\
users:
  trainers: {quantity: 1, username_prefix: t, username_suffix: '1', password: pw, password_length: 4}
  students: {quantity: 3, username_prefix: s, username_suffix: '1', password: random, devices: [pcs, printers]}
devices:
  pcs: {quantity: 3, name_prefix: PC, name_suffix: '1', hostname_prefix: '10.0.0.', hostname_suffix: '254',
        parameters: {protocol: rdp}}
"""
    problem = assert_problem(Client(app_url).post_raw(config.encode(), "application/yaml"), 422)
    assert [(e["path"], e["line"]) for e in problem["errors"]] == [
        ("users.trainers.password_length", 2), ("users.students.devices[1]", 3), ("devices.pcs.hostname_suffix", 5)]


@pytest.mark.parametrize("config, line, words", [
    ("users:\n\tstudents: {}\n", 2, "a tab character"),
    ("users:\n  s: {password: 'abc}\ndevices: {}\n", 2, "never closed"),
    ("users:\n  students\n    quantity: 2\n", 3, "lack the colon"),
    ("users:\n    s: 1\n  t: 2\n", 3, "indented differently"),
])
def test_yaml_mistakes_are_told_in_words_with_their_place(app_url, config, line, words):
    problem = assert_problem(Client(app_url).post_raw(config.encode(), "application/yaml"), 400)
    (error,) = problem["errors"]
    assert error["line"] == line and words in error["message"], error
    assert "while scanning" not in problem["detail"]


def test_a_json_body_that_is_not_json_is_told_so_with_line_and_column(app_url):
    problem = assert_problem(Client(app_url).post_raw(b'{"users": {"s": 1,},\n "devices": {}}', "application/json"), 400)
    (error,) = problem["errors"]
    # Python 3.13's json names the trailing comma itself; earlier ones the place a name was expected after it.
    assert (error["line"], error["column"]) == ((1, 18) if sys.version_info >= (3, 13) else (1, 19))
    assert error["message"].startswith("not valid JSON: ")


# -- every string field reads back as the text it spells ---------------------------------------------------

YAML_1_1_WORDS = ["no", "yes", "on", "off", "y", "n", "True", "FALSE", "null", "Null", "0123", "1_000", "0x1F",
                  "1e3", ".inf", "-.5", "0o17", "12:30", "2026-12-01", "=1+1", "@home"]
LOGIN_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x85\u2028\u2029"),
                     min_size=1, max_size=20)


def scalars(text: str) -> list[str]:
    """The ways YAML can write ``text`` as a flow value: plain where it may be, quoted, double-quoted."""
    written = [yaml.safe_dump(text, default_style=style, width=1 << 20, allow_unicode=True)
               for style in ("'", '"')]
    written = [w.removesuffix("\n...\n").removesuffix("\n") for w in written]
    return written + ([text] if text in YAML_1_1_WORDS else [])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.sampled_from(YAML_1_1_WORDS), LOGIN_TEXT), st.sampled_from(["username_prefix", "password",
                                                                                "name_prefix"]))
def test_any_scalar_in_a_string_field_reads_back_as_the_text_it_spells(text, field):
    for scalar in scalars(text):
        try:
            parsed = read_config(lab(**{field: scalar}))
        except ConfigError as error:
            assert all(p.line >= 1 for p in error.problems), error.problems  # refused, with its place
            continue
        user, device = parsed.user_types[0], parsed.device_types[0]
        got = {"username_prefix": user.username.prefix, "password": user.password,
               "name_prefix": device.connection_name.prefix}[field]
        assert got == text, (scalar, got)


@given(st.text(alphabet="ab$${}:\nLOWERUPGAC_SN", max_size=30))
def test_the_token_filter_model_keeps_text_without_tokens_and_changes_only_around_dollars(value):
    sent = tokens.sent(value)
    if "${" not in value:
        assert sent == value
    assert len(sent) <= len(value)
