"""What an adversarial review found the config reader getting wrong, each now refused or read as meant.

YAML 1.1 reads more than a trainer means (octal and base-60 numbers, line breaks editors do not show,
tags), JSON is read by the YAML parser, and Python refuses to read integers of more than 4,300 digits:
each of these once gave a silently different lab, a shifted line number or a traceback.
"""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from test_reader import config, only, refused
from usermapper.lab import guacamole, tokens
from usermapper.lab import ConfigError, read_config, yaml_nodes
from usermapper.lab.expand import expand
from bench.hostile_configs import SHAPES


# -- numbers: plain decimal digits, or refused saying what YAML reads ----------------------------------

@pytest.mark.parametrize("written, read", [("010", "8"), ("1:20", "80"), ("0x10", "16"), ("0b101", "5"),
                                           ("1_000", "1,000"), ("+5", "5")])
def test_a_count_yaml_would_read_as_another_number_is_refused_saying_which(written, read):
    problem = only(refused(config(user={"quantity": written})))
    assert (problem.path, problem.line) == ("users.students.quantity", 2)
    assert f"YAML reads '{written}' as {read}" in problem.message and "plain decimal digits" in problem.message


def test_an_octal_looking_pod_start_is_refused_not_taken_as_pod_eight():
    lab = config(device={"per_user": "1", "quantity": None, "hostname_prefix": "'10.0.{pod}.'"})
    problem = only(refused("pods: {start: 010}\n" + lab))
    assert problem.path == "pods.start" and "as 8" in problem.message


def test_counts_in_decimal_digits_still_read_and_a_huge_one_meets_the_limit():
    assert read_config(config(user={"quantity": "10"})).user_count == 10
    assert "the most one file may hold is 10,000" in refused(config(user={"quantity": "9" * 40}))[0].message
    problem = only(refused(config(user={"quantity": "9" * 5000})))  # Python would refuse to read it
    assert "5,000 digits" in problem.message and len(problem.message) < 200


@pytest.mark.parametrize("parameters, words", [
    ("{protocol: rdp, port: %s}", "is outside what a C int holds"),
    ("{protocol: ssh, font-size: %s}", "is outside what a C int holds"),
    ("{protocol: rdp, width: 'x%s'}", "is not a whole number"),
    ("{protocol: ssh, color-scheme: 'foreground: color%s'}", "is not a colour"),
])
def test_a_parameter_of_five_thousand_digits_is_a_short_warning(parameters, words):
    lab = read_config(config(device={"parameters": parameters % ("1" * 5000)}))
    (warning,) = lab.warnings
    assert words in warning.message and "(5,0" in warning.message and len(warning.message) < 400


def test_json_with_a_number_of_five_thousand_digits_is_a_located_problem():
    problem = refused_json('{"users": %s, "devices": {}}' % ("1" * 5001))[0]
    assert (problem.path, problem.line, problem.column) == ("users", 1, 11) and len(problem.message) < 200


# -- characters YAML reads as line breaks ------------------------------------------------------------------

@pytest.mark.parametrize("character, name", [("\x85", "NEXT LINE"), ("\u2028", "LINE SEPARATOR"),
                                             ("\u2029", "PARAGRAPH SEPARATOR")])
def test_a_line_break_only_yaml_sees_is_refused_where_an_editor_shows_it(character, name):
    text = config(user={"password": f"'Lab{character}Trainer'"}) + f"# a comment{character}too\n"
    problems = refused(text)
    assert [(p.line, p.column) for p in problems] == [(2, text.split("\n")[1].index(character) + 1), (5, 12)]
    assert f"U+{ord(character):04X} ({name})" in problems[0].message


# -- tags -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tagged, shown", [("!!binary aGVsbG8=", "!!binary"),
                                           ("!!python/object:os.system x", "!!python/object:os.system"),
                                           ("!custom x", "!custom")])
def test_a_tag_usermapper_does_not_read_is_refused_at_its_place(tagged, shown):
    text = config(user={"password": tagged})
    problem = only(refused(text))
    assert (problem.line, problem.column) == (2, text.splitlines()[1].index(tagged[0]) + 1)
    assert f"the tag '{shown}' is not read here" in problem.message


def test_tags_that_say_text_are_read_as_text():
    for tagged in ("!!str 0123", "! 0123"):
        lab = read_config(config(user={"password": tagged}))
        assert expand(lab).users[0].password == "0123"


# -- JSON bodies -----------------------------------------------------------------------------------------

def refused_json(text: str) -> list:
    from usermapper.lab import ConfigError

    with pytest.raises(ConfigError) as caught:
        read_config(text, as_json=True)
    return caught.value.problems


def json_lab(password, **parameters) -> str:
    return json.dumps({
        "users": {"s": {"quantity": 1, "username_prefix": "s", "username_suffix": "1", "password": password}},
        "devices": {"d": {"quantity": 1, "name_prefix": "D", "name_suffix": "1", "hostname_prefix": "h",
                          "hostname_suffix": "1", "parameters": {"protocol": "ssh", **parameters}}}})


def test_json_escapes_of_characters_beyond_the_first_plane_are_read():
    text = json_lab("Lab-\U0001F600-\\ud83d", command="echo \U0001F427")  # json.dumps writes both halves
    assert "\\ud83d\\ude00" in text
    lab = read_config(text, as_json=True)
    assert expand(lab).users[0].password == "Lab-\U0001F600-\\ud83d"  # an escaped backslash stays one
    assert dict(lab.device_types[0].parameters)["command"] == "echo \U0001F427"


def test_json_null_leaves_a_value_out_as_yaml_tilde_does():
    assert only(refused_json(json_lab(None))).path == "users.s.password"
    assert "has no value" in only(refused_json(json_lab("p", domain=None))).message
    lab = read_config(json_lab("p", hostname=None, domain="null"), as_json=True)  # the string "null" is a word
    assert dict(lab.device_types[0].parameters) == {"hostname": None, "domain": "null"}


# -- a value aliased many times is weighed once, and quoted short -------------------------------------------

def counting(monkeypatch, module, name: str) -> list:
    calls, original = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *args: calls.append(args) or original(*args))
    return calls


def test_an_aliased_colour_scheme_is_weighed_once(monkeypatch):
    calls = counting(monkeypatch, guacamole, "_color_scheme_problem")
    lab = read_config(SHAPES["aliased-colour-scheme"]())
    assert len(lab.device_types) == 91 and len(calls) == 1


def test_an_aliased_value_is_run_through_the_token_filter_once(monkeypatch):
    calls = counting(monkeypatch, tokens, "problem")
    lab = read_config(SHAPES["aliased-token-warnings"]())
    assert len([c for c in calls if len(c[0]) > 1000]) == 1
    assert len(lab.warnings) == 101 and all(len(w.message) < 1000 for w in lab.warnings)


# -- bounding the node tree: the event scan, or the tree once composed ------------------------------------

TREES = st.recursive(st.sampled_from(["a", "", "0", "x y", "'q'"]),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcd"), inner,
                                                                                 max_size=4), max_leaves=60)


def refusal(check) -> list[tuple[int, int, str]] | None:
    try:
        check()
    except ConfigError as error:
        return [(p.line, p.column, p.message) for p in error.problems]
    return None


def tree_refusal(text: str, max_nodes: int) -> list[tuple[int, int, str]] | None:
    found = yaml_nodes._check_tree(yaml.compose(text, Loader=yaml.CSafeLoader), max_nodes, "*" in text)
    return found and [(found[0].start_mark.line + 1, found[0].start_mark.column + 1, found[1])]


@settings(max_examples=300, deadline=None)
@given(TREES, st.booleans(), st.integers(1, 70))
def test_the_tree_is_refused_where_the_event_scan_refuses_it(tree, flow, max_nodes):
    """A config without aliases or tags is composed first and its tree checked (yaml_nodes._check_tree):
    refused, or not, exactly as the scan of its events would, at the same value and in the same words."""
    text = yaml.safe_dump(tree, default_flow_style=flow)
    scanned = refusal(lambda: yaml_nodes._check_shape(text, max_nodes))
    assert tree_refusal(text, max_nodes) == scanned
    assert refusal(lambda: yaml_nodes.compose(text, max_nodes)) == scanned


# Trees whose lists and mappings may be one object met again: PyYAML writes it once with an anchor (&id001)
# and then as an alias (*id001), as a trainer shares a devices list or merges defaults.
SHARING = st.recursive(st.sampled_from(["a", "", "0", "x y", "'q'"]),
                       lambda inner: st.lists(inner, max_size=4).flatmap(
                           lambda items: st.sampled_from([items, items + items[:1], [items, items]])), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(SHARING, st.booleans(), st.integers(1, 70), st.integers(0, 3))
def test_an_aliased_tree_is_refused_exactly_as_the_event_scan_refuses_it(tree, flow, max_nodes, max_aliases):
    """A config with aliases is composed first too: accepted exactly when the scan of its events accepts it
    (an alias counts as one value, and is not followed), and refused by the scan, in its words, at the alias."""
    text = yaml.safe_dump(tree, default_flow_style=flow)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml_nodes, "MAX_ALIASES", max_aliases)
        scanned = refusal(lambda: yaml_nodes._check_shape(text, max_nodes))
        assert (tree_refusal(text, max_nodes) is None) == (scanned is None)
        assert refusal(lambda: yaml_nodes.compose(text, max_nodes)) == scanned


@pytest.mark.parametrize("text, max_nodes", [
    ("a: &x v\nb: *x\nc: *x\n", 6), ("a: &x v\nb: *x\nc: *x\n", 7), ("&a [*a, *a]", 2), ("&a [*a, *a]", 3),
    ("a: &d {b: 1}\nc: {<<: *d}\n", 7), ("a: &d {b: 1}\nc: {<<: *d}\n", 8), ("[*nowhere, a, b, c]", 3),
    ("[*nowhere, a]", 5), ("a: &x [&x 1]\nb: [c, d, *x]\n", 8), ("a: &x [&x 1]\nb: [c, d, *x]\n", 9)])
def test_aliases_and_anchors_are_refused_as_the_event_scan_refuses_them(text, max_nodes):
    """Aliases of a scalar, of the list holding them, through a merge: refused where the scan refuses them.
    An undefined alias or a duplicate anchor, which the scan lets through and the composer refuses, is
    refused after a value past the limit, as when every aliased config was scanned first."""
    scanned = refusal(lambda: yaml_nodes._check_shape(text, max_nodes))
    unlimited = refusal(lambda: yaml_nodes.compose(text, 10 ** 6))
    assert refusal(lambda: yaml_nodes.compose(text, max_nodes)) == (scanned or unlimited)
    if unlimited is None:
        assert (tree_refusal(text, max_nodes) is None) == (scanned is None)


@pytest.mark.parametrize("depth", [12, 13, 999, 1001, 5000])
@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}"), ("- ", "")])
def test_nesting_without_aliases_is_refused_as_the_event_scan_refuses_it(depth, opening, closing, monkeypatch):
    """At the 13th level; past libyaml's 1,000 levels, libyaml's own refusal comes first, as it does when
    the events are scanned first."""
    text = opening * depth + "x" + closing * depth
    problems = refusal(lambda: yaml_nodes.compose(text, 20_000))
    monkeypatch.setattr(yaml_nodes, "_may_tag_or_overflow", lambda text, max_nodes: True)
    assert problems == refusal(lambda: yaml_nodes.compose(text, 20_000))
    if depth == 12:
        assert problems is None
    elif depth == 13:
        line, column = yaml_nodes.place(text, len(opening) * 12)
        assert problems == [(line, column, (f"nested more than {yaml_nodes.MAX_DEPTH} levels deep; a lab config "
                                            f"needs about 5"))]


# -- the composing loader: tags as PyYAML's resolver gives them ---------------------------------------------

WORDS = ["1", "010", "0x1f", "1_000", "1:20", "-2", "+3", "1.5", ".inf", "-.Inf", ".nan", "1e3", "2001-12-14",
         "2001-12-14t21:59:43.10-05:00", "yes", "No", "ON", "off", "y", "n", "true", "False", "TRUE", "null",
         "Null", "~", "", "<<", "=", "a", "pcs", "q1_2", "enable-x", "tr", "nul", "1a", "-", ".", "0.", "no way"]
SCALARS = st.one_of(st.sampled_from(WORDS),
                    st.text(st.sampled_from("yntfo0129.+-_:~<=aeZ "), min_size=1, max_size=6).map(str.strip))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(SCALARS, SCALARS, st.sampled_from(["", "'", '"'])), max_size=12))
def test_the_composing_loader_tags_every_value_as_pyyaml_does(pairs):
    """Plain, single- and double-quoted values, some repeated: each node gets the tag PyYAML's resolver gives."""
    text = "".join(f"- {{{quote}{key}{quote}: {value!r}}}\n" if quote else f"- {{{key or 'k'}: {value}}}\n"
                   for key, value, quote in pairs) or "[]"
    try:
        expected = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return

    def tags(node):
        if isinstance(node, yaml.ScalarNode):
            return [(node.tag, node.value)]
        children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        return [(node.tag, None)] + [tag for child in children for tag in tags(child)]

    assert tags(yaml.compose(text, Loader=yaml_nodes._ComposingLoader)) == tags(expected)
