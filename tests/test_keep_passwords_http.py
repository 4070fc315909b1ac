"""Keeping passwords through the API (issue 25, its web half): a form's second field, ``credentials``, carries
a previous credentials sheet. The upload keeps the passwords of every user still in the lab and its summary
says what changed; /check says the same and stores nothing; a sheet that cannot be used is a 422 located in
the sheet, and nothing is generated from it."""

from __future__ import annotations

import csv
import io

import guacamole_reader

from httpclient import API, CLASSROOM, Client, assert_problem, set_cookies

CREDENTIALS = API + "/credentials"
# Week two: three late students.
WEEK_TWO = CLASSROOM.replace(b"quantity: 12", b"quantity: 15")


def passwords(sheet: bytes) -> dict[str, str]:
    return {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(sheet.decode("utf-8")))}


def upload(client: Client, config: bytes, sheet: bytes | None, path: str = API):
    files = {"config": ("lab.yaml", config, "application/yaml")}
    if sheet is not None:
        files["credentials"] = ("passwords.csv", sheet, "text/csv")
    return client.request("POST", path, files=files)


def test_an_upload_with_last_week_s_sheet_keeps_every_remaining_user_s_password(app_url):
    week_one = Client(app_url)
    assert week_one.post_file().status_code == 201
    sheet = week_one.get(CREDENTIALS).content

    week_two = Client(app_url)
    created = upload(week_two, WEEK_TWO, sheet)
    assert created.status_code == 201, created.text
    changes = created.json()["changes"]
    assert changes["passwords_kept"] == 12
    assert changes["passwords_new"] == {"first": ["student13", "student14", "student15"], "count": 3}

    before, after = passwords(sheet), passwords(week_two.get(CREDENTIALS).content)
    assert {user: after[user] for user in before} == before
    assert len(after) == 16 and len({after[f"student{n}"] for n in (13, 14, 15)} - set(before.values())) == 3
    logins = guacamole_reader.read(week_two.get(API).content)
    assert all(logins[user][0] == password for user, password in before.items())


def test_check_with_a_sheet_says_what_changed_and_keeps_nothing(app_url):
    week_one = Client(app_url)
    week_one.post_file()
    sheet = week_one.get(CREDENTIALS).content

    checked = upload(Client(app_url), WEEK_TWO, sheet, API + "/check")
    assert checked.status_code == 200 and set_cookies(checked) == []
    answer = checked.json()
    assert answer["valid"] is True and answer["users"] == 16
    assert answer["changes"]["user_types"][1]["added"]["first"] == ["student13", "student14", "student15"]
    alone = upload(Client(app_url), WEEK_TWO, None, API + "/check").json()
    assert alone["valid"] is True and alone["changes"] is None


def test_a_sheet_that_cannot_be_used_is_a_422_located_in_the_sheet_and_nothing_is_made(app_url):
    sheet = b"username,password\r\nstudent01,a\r\nstudent01,b\r\n"
    client = Client(app_url)
    problem = assert_problem(upload(client, WEEK_TWO, sheet), 422)
    assert problem["type"].endswith("#invalid-credentials-sheet")
    assert problem["errors"][0]["line"] == 3 and "student01" in problem["errors"][0]["message"]
    assert client.cookie is None
    checked = upload(Client(app_url), WEEK_TWO, sheet, API + "/check").json()
    assert checked["valid"] is False and checked["problem"]["type"].endswith("#invalid-credentials-sheet")
    no_columns = assert_problem(upload(Client(app_url), WEEK_TWO, b"user;pass\r\nx;y\r\n"), 422)
    assert no_columns["errors"][0]["line"] == 1


def test_two_sheets_in_one_form_are_a_400(app_url):
    files = [("config", ("lab.yaml", WEEK_TWO, "application/yaml")),
             ("credentials", ("a.csv", b"username,password\r\n", "text/csv")),
             ("credentials", ("b.csv", b"username,password\r\n", "text/csv"))]
    problem = assert_problem(Client(app_url).request("POST", API, files=files), 400)
    assert "2 fields named 'credentials'" in problem["detail"]
