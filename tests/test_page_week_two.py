"""Week two on the page (issue 25, its page half), in a real headless Chromium against the real app on Azurite:
"Keep passwords from a previous sheet" takes last week's credentials.csv, chosen or dropped; the check as
the trainer types and Generate send it beside the config; every remaining user keeps their password in the
new sheet and file, downloaded from the page; the page says how many keep theirs and what changes since the
sheet, in the command line's words; a sheet that cannot be used is located in the sheet; a sheet over the
app's limit is refused before anything is sent; Start over forgets it; it is never in the browser's storage."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import guacamole_reader
import pytest
from pages import CLASSROOM, ROOT, focused_id, generate_example, load_example, serious_violations
from playwright.sync_api import Page, expect

from usermapper.generate import check
from usermapper.limits import Limits
from usermapper.previous import SheetRefused, previous_lab, read_sheet, read_user_mapping

pytestmark = pytest.mark.browser

API = "/api/usermapping"
CHECK = API + "/check"
SOON_MS = 2000
LIMITS = Limits()
# The week-two lab of docs/week-two.md: student01 left, three students joined, WS4 came, the routers moved.
WEEK_TWO = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "week-two.md").read_text(), re.DOTALL)[1]
KEPT_WEEK_TWO = ("11 users keep their password from credentials.csv; 3 users get a new one: "
                 "student13, student14, student15.")

DROP_SHEET = """
([selector, name, text]) => {
  const files = new DataTransfer();
  files.items.add(new File([text], name, {type: 'text/csv'}));
  const target = document.querySelector(selector);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {dataTransfer: files, bubbles: true, cancelable: true}));
  }
}
"""

# The change summary as the page shows it: a line per user type, and the lines nested under it indented by
# two spaces, as the command line prints them.
SHOWN_CHANGES = """
() => Array.from(document.querySelectorAll('#lab-changes-list > li')).flatMap((item) => [
  item.querySelector('.change-line').textContent,
  ...Array.from(item.querySelectorAll('.change-details > li'), (detail) => `  ${detail.textContent}`),
])
"""

RENDER = """
async ([changes, sheetName]) => {
  const { renderChanges } = await import('/static/labchanges.js');
  const kept = document.createElement('p');
  const list = document.createElement('ul');
  renderChanges(kept, list, changes, sheetName);
  const lines = Array.from(list.children).flatMap((item) => [
    item.querySelector('.change-line').textContent,
    ...Array.from(item.querySelectorAll('.change-details > li'), (detail) => `  ${detail.textContent}`),
  ]);
  return [kept.textContent, lines];
}
"""

STORED = "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"


def passwords(sheet: bytes) -> dict[str, str]:
    return {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(sheet.decode("utf-8")))}


def download(page: Page, link: str) -> bytes:
    with page.expect_download() as saved:
        page.get_by_role("link", name=link).click()
    return Path(saved.value.path()).read_bytes()


def cli_changes(config: str, sheet: bytes, previous=None):
    """What the command line says changes: its lines without the last (the passwords kept, which the page
    words as a sentence), and the API's form of it."""
    changes = check(config, LIMITS, sheet=sheet).changes(previous)
    assert changes.lines()[-1].startswith("random passwords: ")
    return changes.lines()[:-1], changes.as_dict()


def week_one(page: Page, tmp_path: Path) -> tuple[Path, bytes]:
    """Week one generated on the page from its classroom example, and its credentials sheet downloaded from
    the page, saved as credentials.csv."""
    generate_example(page)
    sheet = download(page, "Download credentials")
    path = tmp_path / "credentials.csv"
    path.write_bytes(sheet)
    return path, sheet


def to_week_two(page: Page) -> None:
    page.locator("#editor").fill(WEEK_TWO)
    expect(page.locator("#live-summary")).to_contain_text("No problems: 15 users, 90 connections", timeout=SOON_MS)


def bodies(page: Page) -> list[tuple[str, bytes]]:
    """Every request the page sends to the API from now on, as its URL and the body it carried. Chromium
    tells a request's body of Blobs only to a route, so a route sees each on its way, and lets it go on to
    the app unchanged."""
    sent: list[tuple[str, bytes]] = []

    def record(route):
        sent.append((route.request.url, route.request.post_data_buffer or b""))
        route.continue_()

    page.route("**/api/**", record)
    return sent


def stored(page: Page) -> str:
    return page.evaluate(STORED)


def hand_sheet(usernames) -> bytes:
    """A trainer's own sheet: any CSV with username and password columns."""
    return ("username,password\r\n" + "".join(f"{name},pw-{name}-kept\r\n" for name in usernames)).encode()


def choose(page: Page, name: str, data: bytes) -> None:
    page.locator("#sheet-input").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


# ---------- week two, start to end ----------

def test_week_two_on_the_page_keeps_every_remaining_password_and_says_what_changes(open_page, tmp_path):
    page, watch = open_page()
    sheet_path, first = week_one(page, tmp_path)
    to_week_two(page)
    expect(page.locator("#lab-changes")).to_be_hidden()  # no sheet, nothing of it

    with page.expect_response(lambda r: r.url.endswith(CHECK)) as checked:
        page.get_by_label("Keep passwords from a previous sheet").set_input_files(sheet_path)
    expect(page.locator("#sheet-chosen")).to_have_text(re.compile(r"Keeping passwords from credentials\.csv\s+Remove"))
    expected_lines, expected = cli_changes(WEEK_TWO, first)
    assert checked.value.json()["changes"] == expected  # the page's own check sent the sheet with the config
    expect(page.locator("#lab-changes-kept")).to_have_text(KEPT_WEEK_TWO)
    assert page.evaluate(SHOWN_CHANGES) == expected_lines == [
        "trainers: 1 kept", "students: 3 added (student13, student14, student15), 1 removed (student01), 11 kept"]

    with page.expect_response(lambda r: r.url.endswith(API) and r.request.method == "POST") as generated:
        page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#summary-users")).to_have_text("15")
    assert generated.value.status == 201 and generated.value.json()["changes"] == expected
    expect(page.locator("#lab-changes-kept")).to_have_text(KEPT_WEEK_TWO)
    assert page.evaluate(SHOWN_CHANGES) == expected_lines
    expect(page.locator("#status")).to_contain_text("Generated: 15 users, 90 connections. Available until")
    expect(page.locator("#status")).to_contain_text(KEPT_WEEK_TWO)

    before, after = passwords(first), passwords(download(page, "Download credentials"))
    remaining = set(before) - {"student01"}
    assert len(before) == 13 and set(after) == remaining | {"student13", "student14", "student15"}
    assert {user: after[user] for user in remaining} == {user: before[user] for user in remaining}
    new = {after[user] for user in ("student13", "student14", "student15")}
    assert len(new) == 3 and not new & set(before.values())
    logins = guacamole_reader.read(download(page, "Download user-mapping.xml"))
    assert {user: logins[user][0] for user in after} == after  # the file Guacamole reads says the same
    assert "WS4" in logins["student02"][2] and logins["student02"][2]["R01"][1]["hostname"] == "192.168.50.11"

    page.reload()  # the file's summary still holds its changes; the page no longer holds the sheet
    expect(page.locator("#summary-users")).to_have_text("15")
    expect(page.locator("#lab-panel")).to_be_visible()
    expect(page.locator("#sheet-chosen")).to_be_hidden()
    expect(page.locator("#lab-changes")).to_be_hidden()
    watch.assert_clean()


def test_a_sheet_dropped_on_the_control_is_taken_as_if_chosen(open_page, tmp_path):
    page, watch = open_page()
    _, first = week_one(page, tmp_path)
    to_week_two(page)
    page.evaluate(DROP_SHEET, ["#sheet-label", "credentials.csv", first.decode()])
    expect(page.locator("#sheet-name")).to_have_text("credentials.csv")
    expect(page.locator("#lab-changes-kept")).to_have_text(KEPT_WEEK_TWO, timeout=SOON_MS)
    expect(page.locator("#problem")).to_be_hidden()  # the page's own drop (a config) never saw it
    expect(page.locator("#editor")).to_have_value(WEEK_TWO)

    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#summary-users")).to_have_text("15")
    before, after = passwords(first), passwords(download(page, "Download credentials"))
    assert all(after[user] == before[user] for user in set(before) - {"student01"})
    watch.assert_clean()


def test_the_change_summary_follows_the_text_before_anything_is_generated(open_page):
    page, watch = open_page()
    sent = bodies(page)
    load_example(page)
    expect(page.locator("#live-summary")).to_contain_text("13 users", timeout=SOON_MS)
    sheet = hand_sheet(["trainer1", *(f"student{n:02}" for n in range(1, 13))])
    choose(page, "own.csv", sheet)
    expect(page.locator("#lab-changes-kept")).to_have_text(
        "12 users keep their password from own.csv; nobody gets a new one.", timeout=SOON_MS)
    assert page.evaluate(SHOWN_CHANGES) == ["trainers: 1 kept", "students: 12 kept"]

    editor = page.locator("#editor")
    at = editor.input_value().index("quantity: 12") + len("quantity: 1")
    editor.evaluate("(e, at) => { e.focus(); e.setSelectionRange(at, at + 1); }", at)
    page.keyboard.type("5")  # fifteen students: three new
    expect(page.locator("#lab-changes-kept")).to_have_text(
        "12 users keep their password from own.csv; 3 users get a new one: student13, student14, student15.",
        timeout=SOON_MS)
    expected_lines, _ = cli_changes(editor.input_value(), sheet)
    assert page.evaluate(SHOWN_CHANGES) == expected_lines

    checks = [body for url, body in sent if url.endswith(CHECK)]
    assert checks and all(b'name="config"' in body for body in checks)
    assert b"pw-student07-kept" in checks[-1]  # the sheet went with the check
    assert not [url for url, _ in sent if url.endswith(API)]  # nothing generated, nothing stored
    expect(page.locator("#result")).to_be_hidden()
    assert page.context.cookies() == []
    watch.assert_clean()


# ---------- sheets that cannot be used ----------

BAD_SHEETS = {
    "no-password-column": b"type,username,pass\r\nstudents,student02,x\r\n",
    "a-repeated-username": b"type,username,password\r\nstudents,student02,a\r\nstudents,student03,b\r\n"
                           b"students,student02,c\r\n",
}


@pytest.mark.parametrize("name", BAD_SHEETS)
def test_a_sheet_that_cannot_be_used_is_located_in_the_sheet_and_nothing_is_generated(open_page, name):
    sheet = BAD_SHEETS[name]
    with pytest.raises(SheetRefused) as refused:
        read_sheet(sheet, LIMITS)
    [problem] = refused.value.problems
    where = f"Sheet line {problem.line}, column {problem.column}" + (f" · {problem.path}" if problem.path else "")
    said = f"{where} {problem.message}"
    assert (problem.line, problem.column) == {"no-password-column": (1, 1), "a-repeated-username": (4, 10)}[name]

    page, watch = open_page()
    load_example(page)
    expect(page.locator("#live-summary")).to_contain_text("13 users", timeout=SOON_MS)
    choose(page, "bad.csv", sheet)
    listed = page.locator("#sheet-problem-list li")
    expect(listed).to_have_text([said], timeout=SOON_MS)
    expect(page.locator("#sheet-problem-title")).to_have_text("The credentials sheet has 1 problem")
    expect(page.locator("#live-summary")).to_have_text("The credentials sheet has 1 problem.")
    expect(page.locator("#live-problems")).to_be_hidden()  # the config has none
    expect(page.locator("#editor-marks .editor-mark")).to_have_count(0)
    expect(page.locator("#lab-changes")).to_be_hidden()
    expect(page.locator("#lab-outdated")).to_have_text(re.compile("^While the credentials sheet has problems, this "
                                                                  "picture does not follow the config"))
    expect(page.locator("#status")).to_have_text("Sheet checked: The credentials sheet has 1 problem.")

    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#problem-list li")).to_have_text([said])
    expect(page.locator("#problem-title")).to_have_text("The credentials sheet has 1 problem")
    expect(page.locator("#problem")).to_be_focused()
    expect(page.locator("#problem-list button")).to_have_count(0)  # no line of the editor to go to
    expect(page.locator("#sheet-problem")).to_be_hidden()  # one list at a time
    expect(page.locator("#editor-marks .editor-mark")).to_have_count(0)
    expect(page.locator("#result")).to_be_hidden()
    assert page.context.cookies() == []  # no session: nothing was generated
    watch.assert_clean(422)


def test_a_sheet_over_the_apps_limit_is_refused_before_anything_is_sent(app_host, azurite, table_name, open_page):
    """The app's limit, not a number of the page's own: with configs of at most 4,096 bytes, a sheet of 4,097
    never leaves the browser, and one of 4,096 goes with the check."""
    def sheet_of(size: int, marker: str) -> bytes:
        head = f"username,password\r\nstudent01,{marker}".encode()
        return head + b"x" * (size - len(head) - 2) + b"\r\n"

    with app_host(azurite.connection_string, table=table_name, USERMAPPER_MAX_CONFIG_BYTES="4096") as app:
        page, watch = open_page(base_url=app.url)
        sent = bodies(page)
        load_example(page)
        expect(page.locator("#live-summary")).to_contain_text("13 users", timeout=SOON_MS)
        choose(page, "big.csv", sheet_of(4097, "too-big-marker"))
        expect(page.locator("#sheet-problem-title")).to_have_text("“big.csv” is too large to keep passwords from")
        expect(page.locator("#sheet-problem-detail")).to_contain_text("(4,096 bytes), as large as a config. "
                                                                     "Nothing was sent.")
        expect(page.locator("#status")).to_have_text("“big.csv” is too large to keep passwords from")
        expect(page.locator("#sheet-chosen")).to_be_hidden()
        page.get_by_role("button", name="Generate user-mapping.xml").click()
        expect(page.locator("#summary-users")).to_have_text("13")
        assert [url for url, body in sent if b'name="config"' in body]  # the bodies are seen
        assert not [url for url, body in sent if b"too-big-marker" in body or b'name="credentials"' in body]

        with page.expect_request(lambda r: r.url.endswith(CHECK) and b"at-the-limit" in (r.post_data_buffer or b"")):
            choose(page, "limit.csv", sheet_of(4096, "at-the-limit"))
        expect(page.locator("#sheet-name")).to_have_text("limit.csv")
        expect(page.locator("#sheet-problem")).to_be_hidden()
        expect(page.locator("#lab-changes-kept")).to_have_text(
            "1 user keeps their password from limit.csv; 11 users get a new one: "
            "student02, student03, student04, student05, student06 and 6 more.", timeout=SOON_MS)
        watch.assert_clean()


# ---------- forgetting it ----------

def test_start_over_forgets_the_sheet_and_it_is_never_in_the_browsers_storage(open_page, tmp_path):
    page, watch = open_page()
    sheet_path, first = week_one(page, tmp_path)
    secrets = [password for user, password in passwords(first).items() if user.startswith("student")]

    def nowhere_stored():
        kept = stored(page)
        assert "student01" not in kept and not [secret for secret in secrets if secret in kept]

    page.locator("#sheet-input").set_input_files(sheet_path)
    expect(page.locator("#lab-changes-kept")).to_have_text(
        "12 users keep their password from credentials.csv; nobody gets a new one.", timeout=SOON_MS)
    nowhere_stored()
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#summary-users")).to_have_text("13")
    expect(page.locator("#status")).to_contain_text("12 users keep their password from credentials.csv")
    assert passwords(download(page, "Download credentials")) == passwords(first)
    nowhere_stored()

    page.get_by_role("button", name="Start over").click()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#sheet-chosen")).to_be_hidden()
    expect(page.locator("#lab-changes")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("The previous credentials sheet is forgotten.")
    nowhere_stored()

    sent = bodies(page)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#summary-users")).to_have_text("13")
    [generated] = [body for url, body in sent if url.endswith(API)]
    assert b'name="config"' in generated and b'name="credentials"' not in generated
    again = passwords(download(page, "Download credentials"))
    assert not {again[user] for user in again if user.startswith("student")} & set(secrets)  # all new
    expect(page.locator("#lab-changes")).to_be_hidden()
    nowhere_stored()
    page.reload()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#sheet-chosen")).to_be_hidden()
    nowhere_stored()
    watch.assert_clean()


# ---------- by keyboard, and for assistive technology ----------

@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_the_control_works_from_the_keyboard_and_passes_axe(open_page, color_scheme):
    # axe is injected as an inline script, which the page's CSP would rightly block: bypass it here only.
    page, watch = open_page(color_scheme=color_scheme, bypass_csp=True)
    # Listening from the start: the browser then hands every file chooser to the test. (expect_file_chooser
    # turns that on only as it starts waiting, and Enter sometimes came first: no chooser, a 30 s timeout.)
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    load_example(page)
    expect(page.locator("#live-summary")).to_contain_text("13 users", timeout=SOON_MS)
    assert page.get_by_label("Keep passwords from a previous sheet").evaluate("e => e.id") == "sheet-input"
    page.locator("#editor").focus()
    page.keyboard.press("Tab")  # Tab leaves the editor, for the sheet
    assert focused_id(page) == "sheet-input"
    page.keyboard.press("Enter")
    for _ in range(50):
        if choosers:
            break
        page.wait_for_timeout(100)
    [chooser] = choosers
    assert chooser.element.evaluate("e => e.id") == "sheet-input"
    chooser.set_files(files=[{"name": "credentials.csv", "mimeType": "text/csv",
                              "buffer": hand_sheet(["student01", "student02"])}])
    expect(page.locator("#lab-changes-kept")).to_have_text(
        "2 users keep their password from credentials.csv; 10 users get a new one: "
        "student03, student04, student05, student06, student07 and 5 more.", timeout=SOON_MS)
    expect(page.locator("#status")).to_have_text(page.locator("#lab-changes-kept").inner_text())
    assert serious_violations(page) == []

    page.keyboard.press("Tab")
    assert focused_id(page) == "sheet-remove"
    expect(page.get_by_role("button", name="Remove credentials.csv")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#sheet-chosen")).to_be_hidden()
    assert focused_id(page) == "sheet-input"
    expect(page.locator("#lab-changes")).to_be_hidden(timeout=SOON_MS)
    expect(page.locator("#status")).to_contain_text("credentials.csv removed")

    choose(page, "bad.csv", BAD_SHEETS["a-repeated-username"])
    expect(page.locator("#sheet-problem")).to_be_visible(timeout=SOON_MS)
    assert serious_violations(page) == []
    watch.assert_clean()


# ---------- the summary's words ----------

def test_the_summary_words_every_change_as_the_command_line_does(open_page):
    """labchanges.js draws what the API gives, including what the page never sends for (the previous file's
    connections): each user type's line and each change under it is the command line's line, bounded alike."""
    page, watch = open_page()
    classroom = CLASSROOM.read_text()
    sheet = check(classroom, LIMITS).generate().credentials.csv
    many = (ROOT / "examples" / "pods-desktops.yaml").read_text().replace("quantity: 20", "quantity: 120")
    moved = many.replace("port: 3389", "port: 3390").replace("quantity: 120", "quantity: 130")
    xml = io.BytesIO()
    check(classroom, LIMITS).generate().write_user_mapping(xml)
    cases = {
        "with the previous lab": (WEEK_TWO, sheet, previous_lab(classroom, LIMITS)),
        "with the sheet alone": (WEEK_TWO, sheet, None),
        "bounded": (moved, check(many, LIMITS).generate().credentials.csv, previous_lab(many, LIMITS)),
        "without types": (WEEK_TWO, hand_sheet(["trainer1", "student05", "visitor"]),
                          read_user_mapping(io.BytesIO(xml.getvalue()), LIMITS)),
    }
    shown = {}
    for case, (config, sheet_bytes, previous) in cases.items():
        lines, changes = cli_changes(config, sheet_bytes, previous)
        kept, shown[case] = page.evaluate(RENDER, [changes, "credentials.csv"])
        assert shown[case] == lines, case
        assert kept.startswith(f"{changes['passwords_kept']:,} user")
    assert shown["with the previous lab"] == [
        "trainers: 1 kept", "  trainer1: + WS4; ~ R01 (hostname), R02 (hostname)",
        "students: 3 added (student13, student14, student15), 1 removed (student01), 11 kept",
        "  all 11: + WS4; ~ R01 (hostname), R02 (hostname)"]
    assert "  and 21 more users with other changes" in shown["bounded"]
    assert "no longer in the lab: 1 user (student01)" in shown["without types"]
    watch.assert_clean()
