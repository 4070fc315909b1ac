"""The database import over real HTTP: ``GET /api/usermapping?format=...`` from the one stored session."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from databases import CASE_LAB
from httpclient import CLASSROOM, Client, assert_problem
from usermapper.outputs.password_scripts import password_hash


@pytest.fixture
def client(app_url) -> Client:
    return Client(app_url)


def test_every_format_comes_from_the_stored_session(client):
    summary = client.post_file().json()
    assert summary["import"]["groups"] == ["ROOT/usermapper", "ROOT/usermapper/desktops", "ROOT/usermapper/routers"]
    assert summary["links"]["import-csv"] == "/api/usermapping?format=import-csv"
    named = {"sha256": summary["sha256"]}
    as_json = client.get(params={"format": "import-json", **named})
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["Content-Disposition"] == 'attachment; filename="guacamole-import.json"'
    entries = as_json.json()
    assert [e["name"] for e in entries] == ["WS1", "WS2", "WS3", "R01", "R02"]
    assert yaml.safe_load(client.get(params={"format": "import-yaml", **named}).content) == entries
    rows = list(csv.DictReader(io.StringIO(client.get(params={"format": "import-csv", **named}).text)))
    assert [r["name"] for r in rows] == ["WS1", "WS2", "WS3", "R01", "R02"]
    assert rows[0]["users"].split(";") == entries[0]["users"]


def test_password_scripts_hold_the_hash_of_each_generated_password(client):
    summary = client.post_file().json()
    sheet = client.get("/api/usermapping/credentials", headers={"Accept": "application/json"}).json()
    for format_ in ("passwords-postgresql", "passwords-mysql"):
        script = client.get(params={"format": format_}, headers={"If-Match": f'"{summary["sha256"]}"'})
        assert script.status_code == 200, script.text
        assert script.headers["Content-Type"] == "application/sql"
        text = script.text
        assert text.count("INSERT INTO guacamole_user") == 13
        for row in sheet["credentials"]:
            assert row["password"] not in text
        # each user's salt and hash, as written, belong to that user's password
        for line in (l for l in text.splitlines() if l.startswith("INSERT INTO guacamole_user")):
            hexes = [part.split("'")[0] for part in line.split("x'")[1:]] if format_.endswith("mysql") else \
                [part.split("'")[0] for part in line.split("decode('")[1:]]
            hashed, salt = bytes.fromhex(hexes[0]), bytes.fromhex(hexes[1])
            assert any(password_hash(row["password"], salt) == hashed for row in sheet["credentials"])


def test_a_download_names_the_file_the_page_shows(client):
    client.post_file()
    assert_problem(client.get(params={"format": "import-json", "sha256": "0" * 64}), 409)
    assert_problem(client.get(params={"format": "passwords-mysql"}, headers={"If-Match": '"abc"'}), 412)


def test_unknown_format_and_md5_are_problems_with_places(client):
    client.post_file()
    assert "import-csv" in assert_problem(client.get(params={"format": "xml2"}), 400)["detail"]
    md5 = CLASSROOM.replace(b"password: random", b"password: random\n        password_encoding: md5")
    summary = client.post_file(md5).json()
    [refused] = summary["import"]["passwords_refused"]
    assert (refused["path"], refused["line"]) == ("users.students.password_encoding", 14)
    problem = assert_problem(client.get(params={"format": "passwords-postgresql"}), 422)
    assert problem["errors"][0]["path"] == "users.students.password_encoding"
    assert client.get(params={"format": "import-json"}).status_code == 200


def test_no_session_is_a_404_for_every_format(client):
    for format_ in ("import-json", "passwords-mysql"):
        assert_problem(client.get(params={"format": format_}), 404)




def test_usernames_mysql_takes_for_one_refuse_the_import_and_the_mysql_script_only(client):
    summary = client.post_file(CASE_LAB.encode()).json()
    [refused] = summary["import"]["refused"]
    assert (refused["path"], refused["line"], refused["column"]) == ("users.b.username_prefix", 3, 37)
    assert "'student1'" in refused["message"] and "'Student1' of the user type a" in refused["message"]
    assert summary["import"]["passwords_refused_mysql"] == [refused]
    for format_ in ("import-json", "import-csv", "passwords-mysql"):
        problem = assert_problem(client.get(params={"format": format_}), 422)
        assert problem["errors"] == [refused]
    script = client.get(params={"format": "passwords-postgresql"})
    assert script.status_code == 200 and script.text.count("INSERT INTO guacamole_user") == 4
    assert client.get().content.count(b"<authorize ") == 4  # user-mapping.xml compares names exactly


def _case(i: int, word: str = "studentx") -> str:
    return "".join(c.upper() if i >> k & 1 else c for k, c in enumerate(word))


# 150 user types whose usernames MySQL takes for one another's, and 120 device types named with '/'
MANY_REFUSALS = ("users:\n" + "".join(f"  t{i}: {{quantity: 2, username_prefix: {_case(i)}, username_suffix: '1', "
                                      f"password: p}}\n" for i in range(150))
                 + "  hashed: {quantity: 1, username_prefix: h, username_suffix: '1', password: x, "
                   "password_encoding: md5}\n"
                 + "devices:\n" + "".join(f"  a/{i}: {{quantity: 1, name_prefix: pc{i}x, name_suffix: '1', "
                                          f"parameters: {{protocol: rdp, hostname: h}}}}\n" for i in range(120)))


def test_every_list_of_the_summary_and_of_a_refusal_is_capped_with_a_count_of_the_rest(client):
    summary = client.post_file(MANY_REFUSALS.encode()).json()
    said = summary["import"]
    assert said["counts"]["refused"] > 250 and said["counts"]["passwords_refused_mysql"] == 149
    for key in ("refused", "passwords_refused_mysql"):
        assert len(said[key]) == 101
        rest = said["counts"][key] - 100
        assert said[key][-1]["message"].startswith(f"and {rest:,} more problems")
        lines = [(p["line"], p["column"]) for p in said[key]]
        assert lines == sorted(lines)
    assert said["passwords_refused"] == [p for p in said["passwords_refused"] if "md5" in p["message"]]
    assert said["counts"]["passwords_refused"] == 1
    assert said["groups"] == [] and said["groups_not_listed"] == 0
    problem = assert_problem(client.get(params={"format": "import-yaml"}), 422)
    assert problem["errors"] == said["refused"]
    problem = assert_problem(client.get(params={"format": "passwords-mysql"}), 422)
    total = said["counts"]["passwords_refused"] + said["counts"]["passwords_refused_mysql"]
    assert len(problem["errors"]) == 101 and problem["errors"][-1]["message"].startswith(f"and {total - 100:,} more")
    assert problem["errors"][:100] == said["passwords_refused_mysql"][:100]  # in line order: the md5 type is last


def test_the_groups_to_create_are_capped_with_a_count_of_the_rest(client):
    devices = "".join(f"  d{i}: {{quantity: 1, name_prefix: pc{i}x, name_suffix: '1', "
                      f"parameters: {{protocol: rdp, hostname: h}}}}\n" for i in range(150))
    config = "users:\n  s: {quantity: 1, username_prefix: s, username_suffix: '1', password: p}\ndevices:\n" + devices
    said = client.post_file(config.encode()).json()["import"]
    assert len(said["groups"]) == 100 and said["groups_not_listed"] == 51
    assert said["groups"][:2] == ["ROOT/usermapper", "ROOT/usermapper/d0"]
