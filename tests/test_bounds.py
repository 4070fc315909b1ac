"""Bounded work: the limits that keep any config within the web limits cheap, asserted as counts, not times.

Times and memory are measured by ``bench/bench_hostile.py``; here, each cap refuses what it must with its
place, work is never repeated for aliases, the file's size is known exactly before it is written and
refused above the limit over HTTP, and a client that takes zstd gets the stored frame as it is.
"""

from __future__ import annotations

import hashlib

import pytest
import zstandard

from bench.hostile_configs import NODES, SHAPES
from httpclient import API, Client, assert_problem, set_cookies
from usermapper.lab import ConfigError, read_config
from usermapper.lab.fields import MAX_SUGGESTIONS
from usermapper.lab.reader import MAX_PARAMETERS
from usermapper.lab.yaml_nodes import MAX_REPORTED
from usermapper.lab.expand import expand
from usermapper.limits import Limits
from usermapper.web.settings import Settings, StorageTarget
from usermapper.web.store import SessionStore
from usermapper.outputs.user_mapping import file_size, user_mapping_bytes

DEVICE = "  pcs: {quantity: 1, name_prefix: PC, name_suffix: '1', parameters: {protocol: rdp, hostname: h}}\n"
USER = "  s: {quantity: 1, username_prefix: s, username_suffix: '1', password: p}\n"


def refused(config: bytes | str, limits: Limits = Limits()) -> list:
    with pytest.raises(ConfigError) as error:
        read_config(config, limits)
    return error.value.problems


def test_the_hostile_shapes_stay_within_the_node_limit_they_were_built_for():
    assert NODES == Limits().max_nodes  # else the benchmark would measure refusals, not the worst accepted


def test_a_config_with_more_values_than_the_limit_is_refused_at_the_first_one_past_it():
    items = ", ".join("a" for _ in range(NODES + 10))
    (problem,) = refused(f"users: [{items}]\n")
    # the mapping, the key `users` and the list are the first three values; item k is at column 9 + 3k
    assert (problem.line, problem.column) == (1, 9 + 3 * (NODES + 1 - 4))
    assert "holds more than 20,000 values" in problem.message


def test_a_device_type_with_more_parameters_than_the_cap_is_refused_once_at_its_parameters():
    parameters = "".join(f"      p{i}: 1\n" for i in range(MAX_PARAMETERS + 1))  # and hostname
    config = (f"users:\n{USER}devices:\n  pcs:\n    quantity: 1\n    name_prefix: PC\n    name_suffix: '1'\n"
              f"    parameters:\n      protocol: rdp\n      hostname: h\n{parameters}")
    (problem,) = refused(config)
    assert (problem.path, problem.line) == ("devices.pcs.parameters", 9)
    assert f"has {MAX_PARAMETERS + 2} parameters besides protocol" in problem.message
    fits = config.replace(f"      p{MAX_PARAMETERS}: 1\n", "").replace(f"      p{MAX_PARAMETERS - 1}: 1\n", "")
    assert len(read_config(fits).device_types[0].parameters) == MAX_PARAMETERS


def test_a_devices_list_longer_than_a_lab_can_be_is_refused():
    names = ", ".join(["pcs"] * 1001)
    (problem,) = refused(f"devices:\n{DEVICE}users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', "
                         f"password: p, devices: [{names}]}}\n")
    assert problem.path == "users.s.devices" and "lists 1,001 device types" in problem.message


def test_an_aliased_devices_list_is_read_and_checked_once_where_it_is_written():
    devices = "".join(DEVICE.replace("pcs", f"d{i}").replace("PC", f"PC{i}x") for i in range(3))
    users = "".join(f"  t{i}: {{quantity: 1, username_prefix: t{i}x, username_suffix: '1', password: p, "
                    f"devices: *list}}\n" for i in range(50))
    config = (f"devices:\n{devices}users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', password: p,"
              f" devices: &list [d0, nope, d2]}}\n{users}")
    (problem,) = refused(config)  # one mistake, written once: one problem, not 51
    assert (problem.path, problem.line) == ("users.s.devices[1]", 6)
    lab = read_config(config.replace("nope", "d1"))
    assert lab.connection_count == 51 * 3
    assert {d.name for u in lab.user_types for d in lab.device_types_for(u)} == {"d0", "d1", "d2"}


def test_merges_that_bring_in_more_than_a_thousand_fields_are_refused():
    fields = ", ".join(f"p{i}: 1" for i in range(1001))
    config = (f"defaults: &many {{{fields}}}\nusers:\n{USER}devices:\n  pcs: {{quantity: 1, name_prefix: PC, "
              f"name_suffix: '1', parameters: {{<<: *many, protocol: rdp, hostname: h}}}}\n")
    problems = refused(config, Limits(max_nodes=10_000))
    assert any(p.path == "devices.pcs.parameters.<<" and "more than 1,000 fields" in p.message for p in problems)


def test_ten_thousand_copies_of_one_mistake_are_reported_as_a_hundred_and_a_count():
    problems = refused(SHAPES["many-problems"]())
    assert len(problems) == MAX_REPORTED + 1
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    rest = problems[-1]
    assert rest.line == problems[-2].line + 1 and rest.message.startswith("and ")
    assert rest.message.endswith("more problems, from here on; fix those above first")


def test_warnings_are_capped_the_same_way_and_only_the_first_names_get_a_suggestion():
    lab = read_config(SHAPES["many-unknown-long-names"]())
    assert len(lab.warnings) == MAX_REPORTED + 1 and "more warnings" in lab.warnings[-1].message
    suggested = [w for w in lab.warnings if "did you mean" in w.message]
    assert 0 < len(suggested) <= MAX_SUGGESTIONS


def test_random_characters_are_counted_before_any_is_drawn():
    (problem,) = refused(SHAPES["random-passwords"]())
    assert problem.path == "users" and "1,280,000 characters" in problem.message
    assert "300,000" in problem.message
    lab = read_config(SHAPES["random-passwords"]().replace(b"128", b"30"))
    assert lab.random_characters == 300_000 and len(expand(lab).users) == 10_000


@pytest.mark.parametrize("shape", ["aliased-devices-list", "most-parameters", "many-device-types",
                                   "many-unknown-long-names", "many-user-types-with-lists",
                                   "pods-instructor-names-checked"])
def test_the_worst_accepted_shapes_are_exactly_the_size_predicted(shape):
    lab = read_config(SHAPES[shape]())
    assert file_size(lab) == len(user_mapping_bytes(expand(lab)))


# -- over HTTP ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, size", [("markup-bomb", "652,190,162"), ("empty-values", "914,500,963"),
                                         ("long-scalar", "209,632,590,162")])
def test_a_small_config_asking_for_a_huge_file_is_a_413_naming_the_size_and_the_cli(app_url, shape, size):
    response = Client(app_url).post_raw(SHAPES[shape](), "application/yaml")
    problem = assert_problem(response, 413)
    assert f"The file would be {size} bytes of XML" in problem["detail"]
    assert "80,000,000 bytes" in problem["detail"] and "python -m usermapper" in problem["detail"]
    assert not set_cookies(response)  # nothing was stored


def test_the_largest_lab_the_limits_allow_is_made_and_its_stored_frame_is_served_as_is(app_url, azurite):
    config = SHAPES["aliased-devices-list"]()
    client = Client(app_url)
    created = client.post_raw(config, "application/yaml")
    assert created.status_code == 201, created.text
    summary = created.json()
    assert summary["bytes"] == file_size(read_config(config))
    store = SessionStore.from_settings(Settings(storage=StorageTarget(azurite.connection_string),
                                                table_name="endtoend"))
    stored = store.load(client.cookie).xml_zstd
    sent = client.get(headers={"Accept-Encoding": "zstd"}, stream=True)
    assert sent.headers["Content-Encoding"] == "zstd"
    assert sent.raw.read(decode_content=False) == stored
    plain = client.get(headers={"Accept-Encoding": "identity"}).content
    assert len(plain) == summary["bytes"] and hashlib.sha256(plain).hexdigest() == summary["sha256"]
    assert zstandard.get_frame_parameters(stored).content_size == summary["bytes"]  # one buffer, sized up front


def test_asking_for_the_file_on_upload_with_zstd_gets_the_stored_frame_too(app_url):
    client = Client(app_url)
    created = client.request("POST", files={"config": ("lab.yaml", SHAPES["most-parameters"](), "application/yaml")},
                             headers={"Accept": "application/xml", "Accept-Encoding": "zstd"}, stream=True)
    assert created.status_code == 200 and created.headers["Content-Encoding"] == "zstd"
    frame = created.raw.read(decode_content=False)
    assert zstandard.ZstdDecompressor().decompress(frame) == client.get().content


# -- found by attacking these bounds -----------------------------------------------------------------------

@pytest.mark.parametrize("field, value, longest", [
    ("username_prefix", "u" * 65, 64), ("password", "p" * 129, 128)])
def test_names_and_passwords_repeated_for_every_user_have_a_length_limit(field, value, longest):
    config = f"users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', password: p, {field}: {value}}}\n"
    problems = refused(config.replace(f"{field}: {'s' if field == 'username_prefix' else 'p'}, ", "") + "devices:\n"
                       + DEVICE)
    (problem,) = problems
    assert problem.path == f"users.s.{field}" and f"the most it may have is {longest}" in problem.message


def test_a_key_longer_than_a_name_may_be_is_refused_and_quoted_short():
    (problem,) = refused(f"users:\n  ? {'x' * 5000}\n  : {{quantity: 1}}\ndevices:\n{DEVICE}")  # YAML's long key
    assert problem.path == "users" and "longer than the 64 characters" in problem.message
    assert len(problem.message) < 200


def test_an_unknown_name_listed_a_thousand_times_is_one_problem():
    names = ", ".join(["zz"] * 1000)
    (problem,) = refused(f"devices:\n{DEVICE}users:\n  s: {{quantity: 1, username_prefix: s, username_suffix: '1', "
                         f"password: p, devices: [{names}]}}\n")
    assert problem.path == "users.s.devices[0]" and "(listed 1,000 times)" in problem.message


@pytest.mark.parametrize("shape", ["quoted-backslashes", "long-type-name-unknown-fields", "listed-device-names",
                                   "long-device-name-warnings", "difflib-suggestions"])
def test_problems_about_huge_values_are_small(app_url, shape):
    """Each of these once answered with a problem document of 100 MB or more, quoting a value 400 times."""
    response = Client(app_url).post_raw(SHAPES[shape](), "application/yaml")
    assert_problem(response, 422)
    assert len(response.content) < 64 * 1024, len(response.content)


@pytest.mark.parametrize("route", ["", "/check"])
def test_warnings_about_a_huge_aliased_value_are_small(app_url, route):
    """A 1 MB value aliased 75 times once made a 76 MB answer, stored with the session and sent again on
    every reload, by quoting it whole in each warning."""
    response = Client(app_url).request("POST", API + route, data=SHAPES["aliased-token-warnings"](),
                                       headers={"Content-Type": "application/yaml"})
    assert response.status_code == (200 if route else 201), response.text[:500]
    assert len(response.json()["warnings"]) == 101 and len(response.content) < 128 * 1024, len(response.content)


@pytest.mark.parametrize("media_type", ["application/json", "application/yaml"])
def test_a_number_of_five_thousand_digits_is_a_problem_not_a_crash(app_url, media_type):
    body = b'{"users": %s, "devices": {}}' % (b"1" * 5001)
    assert_problem(Client(app_url).post_raw(body, media_type), 422)


def test_suggestions_stop_when_their_comparisons_are_spent():
    problems = refused(SHAPES["difflib-suggestions"]())
    assert len(problems) == 20 and not any("did you mean" in p.message for p in problems)  # 1,000 names > 500
