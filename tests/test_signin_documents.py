"""The app serves each user's sign-in document without its expiry (``GET /api/usermapping/sign-in-documents``),
read from the session's user-mapping.xml: signed with a key, as the page does, each gives its user exactly what
the file gives them, and the documents are the command line's, byte for byte. The answer is bounded: a user
whose link no browser would take is a 422 naming them, an answer over the download limit a 413."""

from __future__ import annotations

import json

import guacamole_json_auth as auth
import guacamole_reader
import pytest

from bench.hostile_configs import SHAPES
from httpclient import API, EXAMPLES, Client, assert_problem
from usermapper.cli import CLI_LIMITS
from usermapper.generate import generate
from usermapper.lab import ConfigError
from usermapper.limits import Limits
from usermapper.outputs.signin_links import MAX_LINK_CHARS, document_parts, expiry_part, link, seal
from usermapper.outputs.user_mapping import FileTooLarge, user_mapping_bytes
from usermapper.web.signin_documents import (
    MAX_SIGN_IN_BYTES,
    MAX_TAIL_BYTES,
    DocumentsTooLarge,
    LinkTooLong,
    sign_in_documents,
)

PATH = API + "/sign-in-documents"
KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
NOW = 1_796_000_000_000
EXPIRES = NOW + 3_600_000
# One user, 1,000 connections of 2 KB each: a link of about 2.7 million characters.
TOO_LONG = (b"users: {u: {quantity: 1, username_prefix: big, username_suffix: '1', password: p}}\n"
            b"devices: {pc: {quantity: 1000, name_prefix: PC, name_suffix: '0001', hostname_prefix: pc, "
            b"hostname_suffix: '1', parameters: {protocol: rdp, hostname: ~, note: " + b"n" * 2000 + b"}}}\n")
BIG = Limits(max_xml_bytes=10**9, max_connections=10**7, max_random_characters=10**8)


def expected_parts(config: bytes, limits: Limits = CLI_LIMITS) -> list[tuple[str, str, str, str]]:
    """type, username, head and tail of every user, as the command line makes them."""
    mapping = generate(config, limits).mapping
    return [(user.user_type, user.username, *document_parts(user.username, group.connections_of(index)))
            for group in mapping.groups for index, user in enumerate(group.users)]


def served_parts(answer: dict) -> list[tuple[str, str, str, str]]:
    return [(user["type"], user["username"], user["head"], answer["tails"][user["tail"]]) for user in answer["users"]]


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_each_document_signed_gives_its_user_what_the_file_gives_them(app_url, example):
    client = Client(app_url)
    assert client.post_file(example.read_bytes()).status_code == 201
    response = client.get(PATH)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert served_parts(answer) == expected_parts(example.read_bytes())
    assert answer["max_link_chars"] == MAX_LINK_CHARS
    xml_users = guacamole_reader.read(client.get(API).content)
    assert [user["username"] for user in answer["users"]] == list(xml_users)
    for user in answer["users"]:
        sealed = seal((user["head"] + expiry_part(EXPIRES, False) + answer["tails"][user["tail"]]).encode(), KEY)
        signed_in = auth.decode(auth.from_link(link("https://guacamole.example.org", sealed)), KEY, NOW)
        assert signed_in["username"] == user["username"] and signed_in["expires"] == EXPIRES
        assert auth.connections(signed_in) == xml_users[user["username"]][2]


@pytest.mark.parametrize("example, tails", [("classroom.yaml", 1), ("pods.yaml", 21)])
def test_users_with_the_same_connections_share_one_tail(app_url, example, tails):
    """classroom: every user gets the same devices; pods: twenty students with pods of their own, and the
    trainers the same view of all of them."""
    client = Client(app_url)
    client.post_file((EXAMPLES / example).read_bytes())
    answer = client.get(PATH).json()
    assert len(answer["tails"]) == tails == len(set(answer["tails"]))
    assert [user["tail"] for user in answer["users"]] == sorted(user["tail"] for user in answer["users"])


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_hostile_labs_documents_are_the_command_lines(name):
    """The file is split at its ``<authorize`` elements without a parser: escaped names and values of every
    kind (the hostile shapes) must not move a boundary."""
    config = SHAPES[name](64 * 1024)
    try:
        generated = generate(config, BIG)
    except (ConfigError, FileTooLarge):
        pytest.skip("not a lab")
    types = {user.username: user.user_type for user in generated.mapping.users}
    try:
        answer = json.loads(sign_in_documents(user_mapping_bytes(generated.mapping), types, [], 10**9))
    except LinkTooLong as refused:  # then the command line's link is too long as well
        tail = next(tail for _, username, _, tail in expected_parts(config, BIG) if username == refused.username)
        assert len(tail.encode()) > MAX_TAIL_BYTES
        return
    assert served_parts(answer) == expected_parts(config, BIG)


def test_names_and_values_that_look_like_markup_keep_their_users_apart():
    config = b"""users:
  '<authorize username="x">':
    quantity: 2
    username_prefix: '</authorize><authorize username="y" a=">'
    username_suffix: '1'
    password: '/>"&amp;'
  plain:
    quantity: 1
    username_prefix: p
    username_suffix: '1'
    password: p
devices:
  pc:
    quantity: 2
    name_prefix: '<connection name="z"/>'
    name_suffix: '1'
    hostname_prefix: '10.0.0.'
    hostname_suffix: '1'
    parameters: {protocol: rdp, hostname: ~, note: '</authorize>\\u00e9\\u2028"', empty: ''}
"""
    generated = generate(config, CLI_LIMITS)
    types = {user.username: user.user_type for user in generated.mapping.users}
    answer = json.loads(sign_in_documents(user_mapping_bytes(generated.mapping), types, [], 10**6))
    assert served_parts(answer) == expected_parts(config)
    assert len(answer["users"]) == 3


def test_a_user_whose_link_no_browser_takes_is_refused_by_name():
    xml = user_mapping_bytes(generate(TOO_LONG, BIG).mapping)
    with pytest.raises(LinkTooLong) as refused:
        sign_in_documents(xml, {}, [], 10**9)
    assert refused.value.username == "big1"
    with pytest.raises(DocumentsTooLarge):
        sign_in_documents(user_mapping_bytes(generate((EXAMPLES / "pods.yaml").read_bytes(), BIG).mapping),
                          {}, [], 10_000)


def test_lists_that_all_differ_are_parsed_up_to_a_bound_whatever_the_download_limit():
    """Pods of 70 KB each: each user's list differs from the one before, and each must be parsed. 300 of them
    are 21 MB of XML, within the download limit; the route stops parsing at its own bound."""
    pods = (b"users: {s: {quantity: 300, username_prefix: s, username_suffix: '001', password: p}}\n"
            b"devices: {pc: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: 'h{pod}x', "
            b"hostname_suffix: '', parameters: {protocol: rdp, hostname: ~, note: " + b"n" * 70_000 + b"}}}\n")
    xml = user_mapping_bytes(generate(pods, Limits()).mapping)
    assert MAX_SIGN_IN_BYTES < len(xml) < Limits().max_xml_bytes
    with pytest.raises(DocumentsTooLarge) as refused:
        sign_in_documents(xml, {}, [], Limits().max_xml_bytes)
    assert refused.value.args[0] == MAX_SIGN_IN_BYTES
    fewer = pods.replace(b"quantity: 300", b"quantity: 200")
    answer = json.loads(sign_in_documents(user_mapping_bytes(generate(fewer, Limits()).mapping), {}, [], 10**9))
    assert len(answer["tails"]) == 200


def test_the_route_refuses_a_link_too_long_and_an_answer_over_the_limit(azurite, app_host):
    # Quotes cost 1 byte in the file, 4 in the answer (a JSON string in a JSON string): three users with
    # pods of their own (three tails) of 1 MB of file, 4 MB of answer.
    quotes = (b"users: {u: {quantity: 3, username_prefix: q, username_suffix: '1', password: p}}\n"
              b"devices: {pc: {per_user: 1, name_prefix: PC, name_suffix: '', hostname_prefix: '10.0.{pod}.', "
              b"hostname_suffix: '1', parameters: {protocol: rdp, hostname: ~, note: '" + b'"' * 300_000 + b"'}}}\n")
    with app_host(azurite.connection_string, table="signindocuments", USERMAPPER_MAX_XML_BYTES="3000000") as app:
        client = Client(app.url)
        assert client.post_file(TOO_LONG).status_code == 201
        problem = assert_problem(client.get(PATH), 422)
        assert problem["type"].endswith("#sign-in-link-too-long") and "'big1'" in problem["detail"]
        assert client.post_file(quotes).status_code == 201
        assert client.get(API).status_code == 200
        problem = assert_problem(client.get(PATH), 413)
        assert problem["type"].endswith("#download-too-large") and "3,000,000 bytes" in problem["detail"]


def test_the_documents_of_the_file_the_page_names_and_no_other(app_url):
    assert_problem(Client(app_url).get(PATH), 404)
    client = Client(app_url)
    sha256 = client.post_file().json()["sha256"]
    assert client.get(PATH, headers={"If-Match": f'"{sha256}"'}).status_code == 200
    assert_problem(client.get(PATH, headers={"If-Match": '"' + "0" * 64 + '"'}), 412)
    assert_problem(client.request("POST", PATH), 405)


def test_the_warnings_said_at_the_upload_come_with_the_documents(app_url):
    config = (EXAMPLES / "classroom.yaml").read_bytes().replace(b"password: lab", b"password: '${GUAC_PASSWORD}'")
    client = Client(app_url)
    created = client.post_file(config)
    assert created.status_code == 201, created.text
    said = created.json()["sign_in_links"]["warnings"]
    assert said and "${GUAC_PASSWORD}" in said[0]["message"]
    assert client.get(PATH).json()["warnings"] == said
