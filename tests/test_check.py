"""POST /api/usermapping/check over real HTTP: what generating would say of a config, with nothing stored.

The page calls it on every pause in typing, so it must say exactly what a POST says (the same problem
document, the same counts and size), keep nothing, set no cookie, and keep working while storage is down.
"""

from __future__ import annotations

import requests

from httpclient import CLASSROOM, EXAMPLES, Client, assert_problem, set_cookies
from sessiontables import entities_in_account

CHECK = "/api/usermapping/check"


def check(client: Client, config: bytes, **headers: str) -> requests.Response:
    return client.request("POST", CHECK, files={"config": ("lab.yaml", config, "application/yaml")},
                          headers=headers)


def test_a_valid_config_gets_the_counts_size_warnings_and_picture_a_post_would_give(app_url, azurite):
    config = (EXAMPLES / "pods.yaml").read_bytes().replace(b"port: 22}", b"port: 22, colour: blue}", 1)
    client = Client(app_url)
    before = entities_in_account(azurite.connection_string)
    checked = check(client, config)
    assert checked.status_code == 200, checked.text
    assert set_cookies(checked) == [] and client.token is None
    assert checked.headers["Cache-Control"] == "no-store"
    assert entities_in_account(azurite.connection_string) == before
    answer = checked.json()
    created = Client(app_url).post_file(config).json()
    assert answer["valid"] is True
    assert (answer["users"], answer["connections"], answer["bytes"]) == (
        created["users"], created["connections"], created["bytes"])
    assert answer["warnings"] == created["warnings"] and len(answer["warnings"]) == 1
    assert answer["lab"] == created["lab"]


def test_an_invalid_config_gets_the_very_problem_a_post_answers_with(app_url):
    client = Client(app_url)
    broken = CLASSROOM.replace(b"quantity: 12", b"quantity: -3").replace(b"protocol: ssh", b"protocol: sssh")
    unreadable = b"users:\n  students: [\n"
    too_big = CLASSROOM.replace(b"quantity: 12", b"quantity: 20000").replace(b"quantity: 3\n", b"quantity: 10\n")
    for config, status in ((broken, 422), (unreadable, 400), (too_big, 422)):
        checked = check(client, config)
        assert checked.status_code == 200, checked.text
        answer = checked.json()
        posted = client.post_file(config)
        assert_problem(posted, status)
        assert answer == {"valid": False, "problem": posted.json()}
    assert client.token is None


def test_a_file_too_large_for_the_web_app_is_a_located_verdict_not_an_error(app_host, azurite, table_name):
    with app_host(azurite.connection_string, table=table_name, USERMAPPER_MAX_XML_BYTES="50000") as app:
        client = Client(app.url)
        answer = check(client, CLASSROOM.replace(b"quantity: 12", b"quantity: 100")).json()
        assert answer["valid"] is False and answer["problem"]["status"] == 413
        assert "command line" in answer["problem"]["detail"]


def test_the_request_rules_of_a_post_apply(app_url):
    client = Client(app_url)
    assert_problem(check(client, CLASSROOM, **{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}),
                   403)
    assert_problem(check(client, CLASSROOM, Origin="https://evil.example"), 403)
    assert check(client, CLASSROOM, **{"Sec-Fetch-Site": "same-origin"}).status_code == 200
    wrong_method = client.get(CHECK)
    assert_problem(wrong_method, 405)
    assert wrong_method.headers["Allow"] == "POST"
    assert_problem(client.request("POST", CHECK, data=b"x" * 2_000_000, headers={"Content-Type": "application/yaml"}),
                   413)
    assert_problem(client.request("POST", CHECK, data=CLASSROOM, headers={"Content-Type": "text/plain"}), 415)
    assert_problem(check(client, b"   \n"), 400)
    raw = client.request("POST", CHECK, data=CLASSROOM, headers={"Content-Type": "application/yaml"})
    assert raw.json()["valid"] is True


def test_checking_needs_no_storage(app_host, private_azurite, table_name):
    with app_host(private_azurite.connection_string, table=table_name) as app:
        client = Client(app.url)
        private_azurite.stop()
        assert_problem(client.post_file(), 503)
        checked = check(client, CLASSROOM)
        assert checked.status_code == 200 and checked.json()["connections"] == 65
        assert "Traceback" not in app.log()
