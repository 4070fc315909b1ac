"""The page, driven by a real headless Chromium against the real app (devhost + Azurite, from ``app_url``).

Every page is watched for console errors, uncaught exceptions and Content-Security-Policy violations; a
test ends by asserting that none happened, apart from the browser's own log line for an HTTP status the
test provoked on purpose (Chromium logs every 4xx fetch as a console error).
"""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from lxml import etree
from playwright.sync_api import Page, expect

from pages import (ARTIFACTS, CLASSROOM, DESKTOP, PHONE, ROOT, SMALL_PHONE, WIDTHS, caret_line, focused_id,
                   generate_example, generate_pods, in_view, line_of, load_example, serious_violations)

pytestmark = pytest.mark.browser


def test_page_is_served_with_a_strict_csp(app_url, open_page):
    page, _ = open_page()
    response = page.request.get(app_url + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy


def test_csp_watch_sees_a_violation(open_page):
    """The CSP assertions elsewhere mean something only if a violation would be caught."""
    page, watch = open_page()
    page.evaluate("document.head.append(Object.assign(document.createElement('style'), {textContent: 'b{}'}))")
    for _ in range(40):
        if watch.csp_violations:
            break
        page.wait_for_timeout(50)
    assert any("style-src" in v for v in watch.csp_violations)


def test_upload_a_file_and_download_the_same_bytes(open_page):
    page, watch = open_page()
    page.locator("#file-input").set_input_files(CLASSROOM)

    expect(page.locator("#summary-users")).to_have_text("13")
    expect(page.locator("#summary-connections")).to_have_text("65")
    expect(page.get_by_role("link", name="Download credentials")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download user-mapping.xml").click()
    saved = Path(download_info.value.path()).read_bytes()

    served = page.context.request.get("/api/usermapping")
    assert served.status == 200
    assert saved == served.body()
    root = etree.fromstring(saved)
    assert len(root.findall("authorize")) == 13
    assert len(root.findall("authorize/connection")) == 65
    watch.assert_clean()


def test_after_generating_one_line_leads_to_putting_the_file_on_the_server(open_page):
    page, watch = open_page()
    generate_example(page)
    page.get_by_role("link", name="put it on your Guacamole server").click()
    expect(page.get_by_role("heading", name="Putting the file on your Guacamole server")).to_be_visible()
    expect(page.locator("main")).to_contain_text("/etc/guacamole")
    watch.assert_clean()


DROP_FILE = """
([name, text]) => {
  const files = new DataTransfer();
  files.items.add(new File([text], name, {type: 'application/yaml'}));
  const target = document.getElementById('editor');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, {dataTransfer: files, bubbles: true, cancelable: true}));
  }
}
"""


def test_drop_a_file_on_the_page(open_page):
    page, watch = open_page()
    page.evaluate(DROP_FILE, ["notes.txt", "hello"])
    expect(page.locator("#problem")).to_contain_text("not a YAML file")

    original = ROOT / "examples" / "original-format.yaml"
    page.evaluate(DROP_FILE, [original.name, original.read_text()])
    expect(page.locator("#summary-connections")).to_have_text("96")
    expect(page.locator("#editor")).to_have_value(original.read_text())
    expect(page.locator("#problem")).to_be_hidden()
    watch.assert_clean()


def test_an_error_names_its_line_and_goes_there(open_page):
    page, watch = open_page()
    load_example(page)
    editor = page.locator("#editor")

    broken = CLASSROOM.read_text().replace("quantity: 12", "quantity: -3")
    editor.fill(broken)
    page.get_by_role("button", name="Generate user-mapping.xml").click()

    bad_line = line_of(broken, "quantity: -3")
    issue = page.locator("#problem-list button", has_text=f"Line {bad_line}")
    expect(issue).to_be_visible()
    expect(issue).to_contain_text("users.students.quantity")
    issue.click()
    expect(editor).to_be_focused()
    assert caret_line(page) == bad_line

    editor.fill(broken.replace("quantity: -3", "quantity: 3"))
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#summary-users")).to_have_text("4")
    expect(page.locator("#problem")).to_be_hidden()
    watch.assert_clean(422)


def test_every_problem_of_every_stage_is_listed_at_once_in_line_order(open_page):
    """A bad password_length, a devices entry naming no device type and a hostname past 255: one Generate
    lists all three, each a button to its line, where the trainer once met them one fix at a time."""
    page, watch = open_page()
    broken = (CLASSROOM.read_text().replace("password: Lab-Trainer-2026", "password: Lab-Trainer-2026\n"
                                            "        password_length: 4")
              .replace("password: random", "password: random\n        devices: [desktops, printers]")
              .replace("hostname_suffix: '21'", "hostname_suffix: '254'"))
    page.locator("#editor").fill(broken)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    issues = page.locator("#problem-list button")
    expect(issues).to_have_count(3)
    lines = [line_of(broken, "password_length: 4"), line_of(broken, "devices: [desktops, printers]"),
             line_of(broken, "hostname_suffix: '254'")]
    for issue, line in zip(issues.all(), lines):
        expect(issue).to_contain_text(f"Line {line}")
    watch.assert_clean(422)


def test_warnings_are_listed_with_their_line(open_page):
    page, watch = open_page()
    config = CLASSROOM.read_text().replace("port: 3389", "port: 3389\n            colour: blue")
    page.locator("#editor").fill(config)
    page.get_by_role("button", name="Generate user-mapping.xml").click()

    warning = page.locator("#warnings-list button")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text(f"Line {line_of(config, 'colour: blue')}")
    expect(warning).to_contain_text("devices.desktops.parameters.colour")
    expect(page.locator("#summary-users")).to_have_text("13")
    watch.assert_clean()


def test_keyboard_alone_gets_to_the_download(open_page):
    page, watch = open_page()
    page.keyboard.press("Tab")
    assert focused_id(page) == "file-input"
    page.keyboard.press("Tab")
    assert focused_id(page) == "example-choice"
    page.keyboard.press("Tab")
    assert focused_id(page) == "load-example"
    page.keyboard.press("Enter")
    expect(page.locator("#editor")).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#result-heading")).to_be_focused()
    expect(page.locator("#status")).to_contain_text("13 users, 65 connections")
    page.keyboard.press("Tab")
    assert focused_id(page) == "download"
    watch.assert_clean()


def test_start_over_deletes_the_file_and_other_browsers_never_see_it(open_page):
    page, watch = open_page()
    generate_example(page)
    download_url = page.get_by_role("link", name="Download user-mapping.xml").get_attribute("href")
    assert page.context.request.get(download_url).status == 200

    stranger, _ = open_page()
    assert stranger.context.request.get(download_url).status == 404

    page.get_by_role("button", name="Start over").click()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#editor")).to_have_value(CLASSROOM.read_text())  # the trainer's text stays
    assert page.context.request.get(download_url).status == 404
    watch.assert_clean()


def test_a_reload_shows_the_file_the_server_still_holds(open_page):
    page, watch = open_page()
    generate_example(page)
    expires = page.locator("#summary-expires").get_attribute("datetime")

    page.reload()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#summary-users")).to_have_text("13")
    expect(page.locator("#summary-connections")).to_have_text("65")
    assert page.locator("#summary-expires").get_attribute("datetime") == expires
    with page.expect_download() as download:
        page.get_by_role("link", name="Download user-mapping.xml").click()
    assert Path(download.value.path()).read_bytes().count(b"<authorize ") == 13

    page.get_by_role("button", name="Start over").click()
    expect(page.locator("#result")).to_be_hidden()
    page.reload()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#result")).to_be_hidden()
    watch.assert_clean()  # no 404: after Start over the page does not ask again


def test_a_first_visit_asks_the_server_for_nothing(open_page):
    page, watch = open_page()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#result")).to_be_hidden()
    watch.assert_clean()


def test_show_passwords_lists_every_user_and_copies_them(open_page):
    page, watch = open_page(permissions=["clipboard-read", "clipboard-write"])
    generate_example(page)
    table = page.locator("#credentials-panel")
    expect(table).to_be_hidden()

    page.get_by_role("button", name="Show passwords").click()
    expect(table.locator("tbody tr")).to_have_count(13)
    expect(page.get_by_role("button", name="Hide passwords")).to_have_attribute("aria-expanded", "true")
    page.get_by_role("button", name="Copy as text").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    rows = [line.split("\t") for line in copied.splitlines()]
    assert rows[0] == ["Type", "Username", "Password"]
    assert len(rows) == 14 and all(len(row) == 3 and row[2] for row in rows)
    watch.assert_clean()


def test_an_expired_session_is_a_sentence_not_json(open_page):
    page, watch = open_page()
    generate_example(page)
    page.context.request.delete("/api/usermapping")  # as if it expired, or was deleted in another tab

    page.get_by_role("button", name="Show passwords").click()
    notice = page.locator("#result-problem")
    expect(notice).to_contain_text("no longer available")
    expect(notice).to_contain_text("Generate it again")
    expect(notice).not_to_contain_text("{")
    assert page.locator("#download").get_attribute("href") is None  # no dead link left to click
    watch.assert_clean(404)


def test_a_network_failure_is_a_sentence(app_host, open_page, azurite):
    """The app goes away under an open page (its own app, stopped for real)."""
    app = app_host(azurite.connection_string, table="pagenetwork").start()
    try:
        page, watch = open_page(base_url=app.url)
        load_example(page)
    finally:
        app.stop()
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#problem")).to_contain_text("could not be reached")
    expect(page.get_by_role("button", name="Generate user-mapping.xml")).to_be_enabled()
    assert [e for e in watch.console_errors if "ERR_CONNECTION_REFUSED" not in e] == []
    assert watch.csp_violations == []


def test_a_storage_outage_says_when_to_retry(app_host, open_page, private_azurite):
    """Storage stops for real under the page's own app: the page words the 503 and its Retry-After."""
    with app_host(private_azurite.connection_string) as app:
        page, watch = open_page(base_url=app.url)
        load_example(page)
        private_azurite.stop()
        page.get_by_role("button", name="Generate user-mapping.xml").click()
        notice = page.locator("#problem")
        expect(notice).to_contain_text("Storage is unavailable")
        expect(notice).to_contain_text("in about 5 seconds")
        expect(notice).not_to_contain_text("{")
        watch.assert_clean(503)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(open_page, color_scheme):
    # axe is injected as an inline script, which the page's CSP would rightly block: bypass it here only.
    page, _ = open_page(color_scheme=color_scheme, bypass_csp=True)
    page.locator("#editor").fill(CLASSROOM.read_text().replace("quantity: 12", "quantity: -3"))
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#problem")).to_be_visible()
    assert serious_violations(page) == []

    page.locator("#editor").fill(CLASSROOM.read_text())
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    page.get_by_role("button", name="Show passwords").click()
    expect(page.locator("#credentials-panel tbody tr")).to_have_count(13)
    assert serious_violations(page) == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("name, viewport", [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots(open_page, name, viewport, color_scheme):
    page, watch = open_page(viewport=viewport, color_scheme=color_scheme)
    generate_pods(page)
    page.get_by_role("button", name="Show passwords").click()
    expect(page.locator("#credentials-panel tbody tr")).to_have_count(21)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}-{color_scheme}.png", full_page=True)
    watch.assert_clean()


# ---------- other origins and other tabs ----------

TWO_USERS = """users:
    pair:
        quantity: 2
        username_prefix: pair
        username_suffix: '1'
        password: Pair-Password-1
devices:
    pcs:
        quantity: 1
        name_prefix: PC
        name_suffix: '1'
        hostname_prefix: '10.0.0.'
        hostname_suffix: '1'
        parameters: {protocol: rdp}
"""

ATTACKS = {
    "multipart form": """<form id="f" method="POST" action="{target}" enctype="multipart/form-data">
        <textarea name="config">{config}</textarea></form>
        <script>document.getElementById('f').submit()</script>""",
    "text/plain form": """<form id="f" method="POST" action="{target}" enctype="text/plain">
        <input name="users: {{pair: " value="1}}"></form>
        <script>document.getElementById('f').submit()</script>""",
    "no-cors fetch": """<script>fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include",
        headers: {{"Content-Type": "text/plain"}}, body: {config_json}}})</script>""",
}


class AttackerSite:
    """Another origin on this machine (its own port), serving one page per attack that posts to the app."""

    def __init__(self, target: str):
        pages = {f"/{n}": ATTACKS[name].format(target=target, config=html.escape(TWO_USERS),
                                               config_json=json.dumps(TWO_USERS)).encode()
                 for n, name in enumerate(ATTACKS)}

        class Pages(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, b"")
                self.send_response(200 if body else 204)  # 204: the favicon the browser asks for
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str, attack: str) -> str:
        return f"http://{host}:{self.server.server_port}/{list(ATTACKS).index(attack)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def attacker(app_url):
    site = AttackerSite(app_url + "/api/usermapping")
    yield site
    site.stop()


def stored_file(page: Page) -> bytes:
    response = page.context.request.get("/api/usermapping")
    assert response.status == 200
    return response.body()


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("attacker_host", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site"])
def test_a_forged_request_from_another_origin_changes_nothing(open_page, attacker, app_url, attack, attacker_host):
    """The victim's page is on 127.0.0.1; the attacker's on another port of localhost (another site) or of
    127.0.0.1 (the same site: the browser sends the victim's cookie along)."""
    page, watch = open_page()
    generate_example(page)
    cookies, file = page.context.cookies(), stored_file(page)

    evil = page.context.new_page()
    with evil.expect_response(lambda r: r.url == app_url + "/api/usermapping" and r.request.method == "POST") as forged:
        evil.goto(attacker.url(attacker_host, attack))
    assert forged.value.status == 403
    evil.close()

    assert page.context.cookies() == cookies
    assert stored_file(page) == file
    with page.expect_download() as download:
        page.get_by_role("link", name="Download user-mapping.xml").click()
    assert Path(download.value.path()).read_bytes() == file
    watch.assert_clean(403)


def generate_in(page: Page, config: str) -> None:
    page.locator("#editor").fill(config)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#result")).to_be_visible()


def test_a_tab_never_downloads_the_file_another_tab_generated(open_page, app_url):
    tab1, watch = open_page()
    generate_example(tab1)
    tab2 = tab1.context.new_page()
    tab2.goto("/")
    generate_in(tab2, TWO_USERS)
    expect(tab2.locator("#summary-users")).to_have_text("2")

    notice = tab1.locator("#result-problem")
    expect(notice).to_contain_text("replaced in another tab")  # told at once, by the other tab
    downloads = []
    tab1.on("download", lambda download: downloads.append(download))
    with tab1.expect_response(lambda r: r.url.startswith(app_url + "/api/usermapping?sha256=")) as refused:
        tab1.get_by_role("link", name="Download user-mapping.xml").click()
    assert refused.value.status == 412
    expect(notice).to_contain_text("replaced in another tab")
    tab1.get_by_role("button", name="Show passwords").click()
    expect(notice).to_contain_text("replaced in another tab")
    expect(tab1.locator("#credentials-body tr")).to_have_count(0)
    tab1.wait_for_timeout(300)
    assert downloads == []

    tab1.get_by_role("button", name="Show the current file").click()
    expect(tab1.locator("#summary-users")).to_have_text("2")
    expect(notice).to_be_hidden()
    with tab1.expect_download() as download:
        tab1.get_by_role("link", name="Download user-mapping.xml").click()
    assert Path(download.value.path()).read_bytes().count(b"<authorize ") == 2
    watch.assert_clean(412)


def test_start_over_in_another_tab_says_the_file_is_gone(open_page):
    tab1, watch = open_page()
    generate_example(tab1)
    tab2 = tab1.context.new_page()
    tab2.goto("/")
    generate_in(tab2, TWO_USERS)
    tab2.get_by_role("button", name="Start over").click()
    expect(tab2.locator("#result")).to_be_hidden()

    expect(tab1.locator("#result-problem")).to_contain_text("no longer available")
    expect(tab1.locator("#result-problem")).to_contain_text("another tab")
    assert tab1.locator("#download").get_attribute("href") is None
    watch.assert_clean()


def test_generate_and_start_over_are_disabled_while_a_request_is_on_its_way(open_page):
    page, watch = open_page()
    generate_example(page)
    held = []
    page.route("**/api/usermapping", lambda route: held.append(route))  # answered when the test says
    page.get_by_role("button", name="Start over").click()
    expect(page.get_by_role("button", name="Start over")).to_be_disabled()
    expect(page.locator("#generate")).to_be_disabled()
    held[0].continue_()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#generate")).to_be_enabled()
    watch.assert_clean()


# ---------- the page shows what is current, and keeps the trainer's work ----------

@WIDTHS
def test_a_result_the_editor_no_longer_matches_is_marked_and_still_downloads_its_own_file(open_page, viewport):
    page, watch = open_page(viewport=viewport)
    generate_example(page)
    made = page.locator("#summary-users").text_content()
    stale = page.locator("#result-stale")
    expect(stale).to_be_hidden()
    editor = page.locator("#editor")
    editor.fill(CLASSROOM.read_text().replace("quantity: 12", "quantity: -1"))
    expect(stale).to_be_visible()
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#problem")).to_be_visible()
    expect(stale).to_be_visible()  # after a failed Generate, the result below is the previous version
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download user-mapping.xml").click()
    saved = Path(download_info.value.path()).read_bytes()
    assert len(etree.fromstring(saved).findall("authorize")) == int(made) == 13
    editor.fill(CLASSROOM.read_text())  # back to the text that made it
    expect(stale).to_be_hidden()
    watch.assert_clean(422)


@WIDTHS
def test_the_editors_text_survives_a_reload(open_page, viewport):
    page, watch = open_page(viewport=viewport)
    generate_example(page)
    edited = CLASSROOM.read_text().replace("quantity: 12", "quantity: 14")
    page.locator("#editor").fill(edited)
    page.wait_for_timeout(500)  # the text is kept a moment after typing stops
    page.reload()
    expect(page.locator("#editor")).to_have_value(edited)
    expect(page.locator("#summary-users")).to_have_text("13")  # the file the server holds
    expect(page.locator("#result-stale")).to_be_visible()  # ... made from the text before the edit
    watch.assert_clean()


def test_the_editors_text_stays_in_this_tab_only(open_page):
    page, watch = open_page()
    page.locator("#editor").fill("users: {}\n")
    page.wait_for_timeout(500)
    other = page.context.new_page()
    other.goto("/")
    expect(other.locator("#editor")).to_have_value("")  # sessionStorage: per tab, never sent
    watch.assert_clean()


@WIDTHS
def test_after_generate_the_result_heading_and_download_are_on_screen(open_page, viewport):
    page, watch = open_page(viewport=viewport)
    generate_example(page)
    assert in_view(page, "#result-heading") and in_view(page, "#download")
    watch.assert_clean()


@WIDTHS
def test_a_tap_on_a_problem_shows_its_line_with_the_caret_on_it(open_page, viewport):
    phone = viewport is SMALL_PHONE
    page, watch = open_page(viewport=viewport, has_touch=phone, is_mobile=phone)
    broken = CLASSROOM.read_text().replace("quantity: 12", "quantity: 0")  # near the top: line 10
    page.locator("#editor").fill(broken)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    bad_line = line_of(broken, "quantity: 0")
    issue = page.locator("#problem-list button", has_text=f"Line {bad_line}")
    issue.scroll_into_view_if_needed()
    issue.tap() if phone else issue.click()
    assert caret_line(page) == bad_line
    visible = page.evaluate("""(line) => {
      const editor = document.getElementById('editor');
      const style = getComputedStyle(editor);
      const height = parseFloat(style.lineHeight);
      const top = editor.getBoundingClientRect().top + parseFloat(style.paddingTop) + (line - 1) * height
                  - editor.scrollTop;
      const box = editor.getBoundingClientRect();
      return top >= Math.max(0, box.top) && top + height <= Math.min(window.innerHeight, box.bottom);
    }""", bad_line)
    assert visible
    watch.assert_clean(422)


# ---------- the download format choice: the XML, the database import, the password scripts ----------

def test_each_format_downloads_the_shown_labs_file(open_page):
    page, watch = open_page(viewport=DESKTOP)
    generate_example(page)
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("if-match"))))
    sha256 = page.context.request.get("/api/usermapping", headers={"Accept": "application/json"}).json()["sha256"]

    page.get_by_label("Download format", exact=True).select_option("import-json")
    expect(page.locator("#import-groups")).to_contain_text(
        "ROOT/usermapper, ROOT/usermapper/desktops, ROOT/usermapper/routers")
    expect(page.locator("#import-groups-list code")).to_have_text(  # one element each: a name may hold ", "
        ["ROOT/usermapper", "ROOT/usermapper/desktops", "ROOT/usermapper/routers"])
    with page.expect_download() as download:
        page.get_by_role("link", name="Download guacamole-import.json").click()
    assert download.value.suggested_filename == "guacamole-import.json"
    entries = json.loads(Path(download.value.path()).read_bytes())
    assert [e["name"] for e in entries] == ["WS1", "WS2", "WS3", "R01", "R02"]
    assert requests[-1] == (f"{page.url.rstrip('/')}/api/usermapping?format=import-json&sha256={sha256}",
                            f'"{sha256}"')

    page.get_by_label("Download format", exact=True).select_option("import-yaml")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download guacamole-import.yaml").click()
    assert yaml.safe_load(Path(download.value.path()).read_bytes()) == entries

    page.get_by_label("Download format", exact=True).select_option("passwords-postgresql")
    expect(page.locator("#import-groups")).to_be_hidden()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download passwords-postgresql.sql").click()
    assert Path(download.value.path()).read_text().count("INSERT INTO guacamole_user") == 13

    page.get_by_label("Download format", exact=True).select_option("user-mapping")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download user-mapping.xml").click()
    assert Path(download.value.path()).read_bytes().startswith(b"<?xml")
    watch.assert_clean()


def test_a_sheet_with_formula_cells_says_which_and_downloads_exactly_as_json(open_page):
    page, watch = open_page(viewport=DESKTOP)
    generate_in(page, CLASSROOM.read_text().replace("password: Lab-Trainer-2026", "password: '=Lab+Trainer'"))
    warning = page.locator("#credentials-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("A spreadsheet would run 1 cell of the credentials sheet as formulas "
                                    "(row 2 password)")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as JSON").click()
    assert download.value.suggested_filename == "credentials.json"
    rows = json.loads(Path(download.value.path()).read_bytes())["credentials"]
    assert rows[0] == {"type": "trainers", "username": "trainer1", "password": "=Lab+Trainer"}
    generate_in(page, CLASSROOM.read_text())
    expect(warning).to_be_hidden()
    watch.assert_clean()
