"""The parameter table against facts read in apache/guacamole-server at tag 1.6.0, and problem_with_value."""

import pytest

from usermapper.lab.guacamole import (BOOLEAN, COLOR_SCHEME, ENUMERATION, INTEGER, KINDS, KNOWN_PARAMETERS,
                                  PARAMETERS, PASSWORD_ENCODINGS, PROTOCOLS, TEXT, problem_with_value)


def kind(protocol, name):
    return PARAMETERS[protocol][name].kind


def test_the_public_interface_keeps_its_shape():
    assert PROTOCOLS == ("rdp", "vnc", "ssh", "telnet", "kubernetes")
    assert PASSWORD_ENCODINGS == ("plain", "md5", "sha256")
    assert set(KNOWN_PARAMETERS) == set(PARAMETERS) == set(PROTOCOLS)
    assert all(isinstance(names, frozenset) for names in KNOWN_PARAMETERS.values())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_known_parameters_are_the_names_of_the_table(protocol):
    assert KNOWN_PARAMETERS[protocol] == frozenset(PARAMETERS[protocol])
    for name, parameter in PARAMETERS[protocol].items():
        assert parameter.name == name
        assert parameter.kind in KINDS
        assert bool(parameter.choices) or parameter.kind != ENUMERATION


@pytest.mark.parametrize("protocol, count", [("rdp", 88), ("vnc", 51), ("ssh", 43), ("telnet", 34),
                                             ("kubernetes", 30)])
def test_each_protocol_has_as_many_names_as_guacd_lists(protocol, count):
    # The lengths of GUAC_*_CLIENT_ARGS at 1.6.0, with every optional build feature on.
    assert len(PARAMETERS[protocol]) == count


# -- what 1.6.0 added, and what it does not accept ----------------------------------------------------------

@pytest.mark.parametrize("protocol, name", [
    ("rdp", "timeout"), ("ssh", "timeout"), ("telnet", "timeout"), ("vnc", "disable-server-input"),
    ("ssh", "enable-agent"), ("ssh", "public-key"), ("vnc", "compress-level"), ("rdp", "cert-tofu"),
])
def test_names_guacd_1_6_knows(protocol, name):
    assert name in KNOWN_PARAMETERS[protocol]


@pytest.mark.parametrize("protocol, name", [
    *[(p, n) for p in ("rdp", "vnc") for n in ("typescript-path", "typescript-name", "create-typescript-path",
                                               "typescript-write-existing")],
    ("ssh", "sftp-hostname"), ("ssh", "sftp-port"),
    *[("vnc", n) for n in ("width", "height", "dpi", "resize-method", "timezone")],
    *[("kubernetes", n) for n in ("wol-send-packet", "wol-mac-addr", "wol-broadcast-addr", "wol-udp-port",
                                  "wol-wait-time")],
    ("rdp", "server-alive-interval"), ("kubernetes", "timeout"), ("kubernetes", "terminal-type"),
    ("telnet", "timezone"), ("vnc", "recording-exclude-touch"),
    *[(p, "clipboard-buffer-size") for p in PROTOCOLS],
])
def test_names_guacd_1_6_does_not_know(protocol, name):
    assert name not in KNOWN_PARAMETERS[protocol]


def test_enable_agent_needs_a_guacd_built_with_it():
    assert PARAMETERS["ssh"]["enable-agent"].build
    assert PARAMETERS["rdp"]["sftp-port"].build and not PARAMETERS["ssh"]["sftp-root-directory"].build


# -- types -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol, name, expected", [
    ("rdp", "ignore-cert", BOOLEAN), ("rdp", "port", INTEGER), ("rdp", "timeout", INTEGER),
    ("rdp", "color-depth", INTEGER), ("rdp", "width", INTEGER), ("rdp", "static-channels", TEXT),
    ("rdp", "sftp-port", TEXT), ("rdp", "read-only", BOOLEAN),
    ("vnc", "cursor", ENUMERATION), ("vnc", "clipboard-encoding", ENUMERATION), ("vnc", "port", INTEGER),
    ("vnc", "swap-red-blue", BOOLEAN), ("vnc", "encodings", TEXT),
    ("ssh", "port", TEXT), ("ssh", "backspace", INTEGER), ("ssh", "color-scheme", COLOR_SCHEME),
    ("ssh", "server-alive-interval", INTEGER), ("ssh", "enable-agent", BOOLEAN),
    ("telnet", "port", TEXT), ("telnet", "login-success-regex", TEXT), ("telnet", "scrollback", INTEGER),
    ("kubernetes", "port", INTEGER), ("kubernetes", "use-ssl", BOOLEAN), ("kubernetes", "namespace", TEXT),
])
def test_kinds(protocol, name, expected):
    assert kind(protocol, name) == expected


@pytest.mark.parametrize("protocol, name, choices", [
    ("rdp", "security", {"any", "nla", "nla-ext", "tls", "vmconnect", "rdp"}),
    ("rdp", "resize-method", {"display-update", "reconnect"}),
    ("rdp", "normalize-clipboard", {"preserve", "unix", "windows"}),
    ("vnc", "cursor", {"local", "remote"}),
    ("vnc", "clipboard-encoding", {"ISO8859-1", "UTF-8", "UTF-16", "CP1252"}),
])
def test_enumerations(protocol, name, choices):
    assert set(PARAMETERS[protocol][name].choices) == choices


def test_server_layouts_are_the_keymap_names():
    layouts = PARAMETERS["rdp"]["server-layout"].choices
    assert len(layouts) == 25
    assert {"en-us-qwerty", "de-ch-qwertz", "es-latam-qwerty", "failsafe", "tr-tr-qwerty"} <= set(layouts)
    assert "en_us_qwerty" not in layouts  # the file name, not the layout name


@pytest.mark.parametrize("protocol", ["ssh", "telnet", "kubernetes"])
def test_terminal_protocols_share_the_terminal_settings(protocol):
    assert PARAMETERS[protocol]["color-scheme"].choices == ("black-white", "gray-black", "green-black",
                                                           "white-black")
    assert {"font-name", "font-size", "scrollback", "backspace", "typescript-path"} <= KNOWN_PARAMETERS[protocol]


def test_every_boolean_defaults_to_false():
    assert {p.default for table in PARAMETERS.values() for p in table.values() if p.kind == BOOLEAN} == {"false"}


# -- problem_with_value ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["yes", "True", "1", "on", " true"])
def test_a_boolean_other_than_true_or_false_is_the_default(value):
    problem = problem_with_value("rdp", "ignore-cert", value)
    assert problem.startswith(f"`{value}` is not `true`") and "default, false" in problem


@pytest.mark.parametrize("value", ["true", "false", ""])
def test_true_false_and_empty_are_fine_booleans(value):
    assert problem_with_value("vnc", "read-only", value) is None


@pytest.mark.parametrize("value", ["0x16", "1_000", "22 ", "1e3", "2.5", "٢٢", "99999999999"])
def test_an_integer_guacd_cannot_read_means_the_default(value):
    problem = problem_with_value("rdp", "port", value)
    assert problem.startswith(f"`{value}` is") and "uses the default for port, 3389" in problem


@pytest.mark.parametrize("value", ["22", "0022", "+22", " 22", ""])
def test_integers_guacd_reads(value):
    assert problem_with_value("kubernetes", "port", value) is None


def test_a_negative_integer_is_read_but_means_nothing():
    assert "reads it as -1" in problem_with_value("ssh", "timeout", "-1")
    assert problem_with_value("vnc", "quality-level", "-1") is None  # the default, "left to the library"
    assert "0 to 9" in problem_with_value("vnc", "quality-level", "10")


def test_width_is_read_with_atoi():
    assert "reads 0" in problem_with_value("rdp", "width", "0x16") and "1024" in problem_with_value(
        "rdp", "width", "0x16")
    assert problem_with_value("rdp", "width", "1_000").endswith("so it reads 1")
    assert "768" in problem_with_value("rdp", "height", "-1")
    assert "no preconnection ID" in problem_with_value("rdp", "preconnection-id", "-1")
    assert problem_with_value("rdp", "width", "1280") is None


def test_an_integer_outside_the_values_guacd_gives_a_meaning():
    assert "32" in problem_with_value("rdp", "color-depth", "15")
    assert problem_with_value("rdp", "color-depth", "24") is None


@pytest.mark.parametrize("protocol, name, value, fallback", [
    ("rdp", "security", "NLA", "any"), ("rdp", "security", "negotiate", "any"),
    ("rdp", "server-layout", "en_us_qwerty", "en-us-qwerty"), ("rdp", "resize-method", "none", "none"),
    ("vnc", "cursor", "Remote", "local"), ("vnc", "clipboard-encoding", "utf-8", "ISO8859-1"),
    ("rdp", "normalize-clipboard", "crlf", "preserve"),
])
def test_an_enumeration_value_outside_the_list(protocol, name, value, fallback):
    problem = problem_with_value(protocol, name, value)
    assert problem.startswith(f"`{value}` is not one of") and f"uses {fallback}" in problem


@pytest.mark.parametrize("protocol, name, value", [
    ("rdp", "security", "nla-ext"), ("rdp", "server-layout", "fr-ch-qwertz"), ("vnc", "cursor", "remote"),
    ("vnc", "clipboard-encoding", "UTF-8"), ("rdp", "resize-method", ""), ("rdp", "security", ""),
])
def test_an_enumeration_value_inside_the_list(protocol, name, value):
    assert problem_with_value(protocol, name, value) is None


@pytest.mark.parametrize("value", ["", "green-black", "foreground: rgb:ff/ff/ff; background: color0;",
                                   "color1: rgb:f/0/0; foreground:color7", "background: navy"])
def test_colour_schemes_guacd_reads(value):
    assert problem_with_value("ssh", "color-scheme", value) is None


@pytest.mark.parametrize("value, culprit", [("solarized", "solarized"), ("fg: red", "fg"),
                                            ("foreground: color256", "color256"),
                                            ("background: rgb:zz/00/00", "rgb:zz/00/00"),
                                            ("foreground:", "foreground:")])
def test_colour_schemes_guacd_stops_reading(value, culprit):
    problem = problem_with_value("telnet", "color-scheme", value)
    assert problem.startswith(f"`{culprit}`") and "stops reading" in problem


@pytest.mark.parametrize("protocol, name, value", [
    ("ssh", "port", "0x16"), ("rdp", "hostname", "yes"), ("ssh", "command", "-1"),
    ("rdp", "no-such-parameter", "yes"), ("nope", "port", "x"), ("vnc", "width", "abc"),
])
def test_text_and_unknown_names_have_no_problem(protocol, name, value):
    assert problem_with_value(protocol, name, value) is None
