"""End to end over real HTTP: ``python -m devhost`` serving function_app, backed by a real Azurite."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import requests
import yaml
from lxml import etree

from apphost import AppHost
from azurite import Azurite

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLASSROOM = (EXAMPLES / "classroom.yaml").read_bytes()
API = "/api/usermapping"


def post_file(client: requests.Session, url: str, config: bytes = CLASSROOM, **headers) -> requests.Response:
    return client.post(url + API, files={"config": ("lab.yaml", config, "application/yaml")}, headers=headers,
                       timeout=30)


def set_cookies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"]
    return problem


@pytest.fixture
def client() -> requests.Session:
    with requests.Session() as session:
        yield session


# -- the flow ------------------------------------------------------------------------------------------------

def test_upload_then_download_gives_the_file_the_upload_built(app_url, client):
    created = post_file(client, app_url)
    assert created.status_code == 201, created.text
    summary = created.json()
    assert (summary["users"], summary["connections"]) == (13, 65)
    assert summary["passwords"] == {"generated": True, "hashed": False}
    assert created.headers["Location"] == API

    downloaded = client.get(app_url + API, timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Disposition"] == 'attachment; filename="user-mapping.xml"'
    assert downloaded.headers["Cache-Control"] == "no-store"
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
    assert len(downloaded.content) == summary["bytes"]
    assert hashlib.sha256(downloaded.content).hexdigest() == summary["sha256"]
    assert downloaded.content.startswith(summary["preview"].encode())
    assert len(etree.fromstring(downloaded.content).findall("authorize")) == 13


def test_session_cookie_has_the_documented_attributes(app_url, client):
    cookie, = set_cookies(post_file(client, app_url))
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value.startswith("usermapper_session=")
    assert set(attributes) == {"Max-Age=3600", "Path=/api", "HttpOnly", "SameSite=Lax"}  # no Secure on local http


@pytest.mark.parametrize("media_type", ["application/yaml", "text/yaml", "text/plain"])
def test_raw_body_is_accepted(app_url, client, media_type):
    created = client.post(app_url + API, data=CLASSROOM, headers={"Content-Type": media_type}, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["connections"] == 65


def test_json_body_is_accepted(app_url, client):
    body = json.dumps(yaml.safe_load(CLASSROOM))
    created = client.post(app_url + API, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["users"] == 13


def test_accept_xml_returns_the_file_itself(app_url, client):
    created = post_file(client, app_url, Accept="application/xml")
    assert created.status_code == 200
    assert created.headers["Content-Disposition"] == 'attachment; filename="user-mapping.xml"'
    assert created.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert client.get(app_url + API, timeout=10).content == created.content


def test_credentials_as_csv_and_json(app_url, client):
    post_file(client, app_url)
    sheet = client.get(app_url + API + "/credentials", timeout=10)
    assert sheet.status_code == 200
    assert sheet.headers["Content-Type"].startswith("text/csv")
    lines = sheet.text.splitlines()
    assert lines[0] == "type,username,password" and len(lines) == 14
    rows = client.get(app_url + API + "/credentials", headers={"Accept": "application/json"}, timeout=10)
    credentials = rows.json()["credentials"]
    assert credentials[0] == {"type": "trainers", "username": "trainer1", "password": "Lab-Trainer-2026"}
    assert len({row["password"] for row in credentials[1:]}) == 12


def test_delete_ends_the_session_at_once_and_is_idempotent(app_url, client):
    post_file(client, app_url)
    ended = client.delete(app_url + API, timeout=10)
    assert ended.status_code == 204
    assert "Max-Age=0" in set_cookies(ended)[0]
    assert_problem(client.get(app_url + API, timeout=10), 404)
    assert client.delete(app_url + API, timeout=10).status_code == 204


def test_a_new_upload_replaces_and_deletes_the_old_file(app_url, client):
    post_file(client, app_url)
    old_token = client.cookies["usermapper_session"]
    post_file(client, app_url, (EXAMPLES / "original-format.yaml").read_bytes())
    assert client.cookies["usermapper_session"] != old_token
    stale = requests.get(app_url + API, cookies={"usermapper_session": old_token}, timeout=10)
    assert_problem(stale, 404)
    assert client.get(app_url + API, timeout=10).content.count(b"<authorize ") == 12


def test_two_clients_never_see_each_others_file(app_url):
    with requests.Session() as alice, requests.Session() as bob:
        post_file(alice, app_url)
        post_file(bob, app_url, (EXAMPLES / "original-format.yaml").read_bytes())
        assert alice.get(app_url + API, timeout=10).content.count(b"<authorize ") == 13
        assert bob.get(app_url + API, timeout=10).content.count(b"<authorize ") == 12
        with requests.Session() as stranger:
            assert_problem(stranger.get(app_url + API, timeout=10), 404)


# -- errors ------------------------------------------------------------------------------------------------

def test_invalid_config_is_a_422_naming_field_and_line(app_url, client):
    problem = assert_problem(post_file(client, app_url, (EXAMPLES / "invalid/missing-quantity.yaml").read_bytes()),
                             422)
    assert {"path": "users.students.quantity", "line": 5, "column": 5, "message": "is missing"} in problem["errors"]


def test_unreadable_yaml_is_a_400_with_line_and_column(app_url, client):
    problem = assert_problem(post_file(client, app_url, (EXAMPLES / "invalid/not-yaml.yaml").read_bytes()), 400)
    assert problem["errors"][0]["line"] == 4


def test_oversized_config_is_a_413(app_url, client):
    huge = b"# " + b"x" * (1 << 20) + b"\n" + CLASSROOM
    assert_problem(client.post(app_url + API, data=huge, headers={"Content-Type": "application/yaml"},
                               timeout=30), 413)


def test_unknown_media_type_is_a_415_that_says_what_to_send(app_url, client):
    problem = assert_problem(client.post(app_url + API, data=CLASSROOM, timeout=10), 415)  # form-urlencoded
    assert "-F config=@lab.yaml" in problem["detail"]


@pytest.mark.parametrize("files", [
    {"other": ("lab.yaml", CLASSROOM)},
    [("config", ("a.yaml", CLASSROOM)), ("config", ("b.yaml", CLASSROOM))],
], ids=["no config field", "two config fields"])
def test_multipart_without_exactly_one_config_is_a_400(app_url, client, files):
    assert_problem(client.post(app_url + API, files=files, timeout=10), 400)


@pytest.mark.parametrize("cookie", ["", "garbage", "2026112614-" + "0" * 32, "x" * 4000, "../../etc/passwd"])
def test_unknown_or_malformed_cookie_is_a_404(app_url, cookie):
    assert_problem(requests.get(app_url + API, cookies={"usermapper_session": cookie}, timeout=10), 404)


def test_tampered_token_is_a_404_not_someone_elses_file(app_url, client):
    post_file(client, app_url)
    token = client.cookies["usermapper_session"]
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert_problem(requests.get(app_url + API, cookies={"usermapper_session": tampered}, timeout=10), 404)


# -- the page and its assets -------------------------------------------------------------------------------

def test_page_is_served_with_a_strict_content_security_policy(app_url):
    page = requests.get(app_url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(app_url + "/static/app.js", timeout=10).headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/static/..%2Ffunction_app.py", "/static/%2e%2e%2flocal.settings.json",
                                  "/static/nothing.js", "/api/../function_app.py", "/function_app.py",
                                  "/static/.gitignore"])
def test_nothing_outside_static_is_served(app_url, path):
    response = requests.get(app_url + path, timeout=10)
    assert response.status_code == 404
    assert b"import" not in response.content and b"AzureWebJobs" not in response.content


def test_health_answers_when_storage_does(app_url):
    assert requests.get(app_url + "/api/health", timeout=10).json() == {"status": "ok"}


# -- time and faults (their own app and storage, so they disturb nobody) ------------------------------------

def test_expiry_is_exact_even_before_the_sweep(azurite):
    with AppHost(azurite.connection_string, table="shortlived", USERMAPPER_SESSION_SECONDS="2") as app, \
            requests.Session() as client:
        created = post_file(client, app.url)
        assert "Max-Age=2" in set_cookies(created)[0]
        assert client.get(app.url + API, timeout=10).status_code == 200
        time.sleep(2.2)
        assert_problem(client.get(app.url + API, timeout=10), 404)


def test_storage_down_is_a_quick_503_and_the_app_recovers():
    with Azurite() as storage, AppHost(storage.connection_string) as app, requests.Session() as client:
        assert post_file(client, app.url).status_code == 201
        storage.stop()
        for call in (lambda: post_file(client, app.url), lambda: client.get(app.url + API, timeout=30),
                     lambda: client.delete(app.url + API, timeout=30),
                     lambda: client.get(app.url + "/api/health", timeout=30)):
            started = time.monotonic()
            answer = call()
            assert time.monotonic() - started < 10
            problem = assert_problem(answer, 503)
            assert int(answer.headers["Retry-After"]) > 0
            assert "try again" in problem["detail"]
        storage.start()
        assert post_file(client, app.url).status_code == 201
        assert client.get(app.url + API, timeout=10).status_code == 200
