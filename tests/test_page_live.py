"""Checking as you type, in a real headless Chromium against the real app: marks where each problem is,
the list beside the editor, the lab picture following the text, few requests, nothing stored."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from pages import CLASSROOM, ROOT, line_of, load_example, serious_violations
from sessiontables import entities_in_account

pytestmark = pytest.mark.browser

CHECK = "/api/usermapping/check"
SOON_MS = 1000  # "within a second" of the last keystroke


def checks_sent(page: Page) -> list[str]:
    """Every check request the page sends from now on, as the body it carried."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.post_data or "") if request.url.endswith(CHECK) else None)
    return sent


def type_at_end_of(page: Page, fragment: str, keys: str, delay: int = 0) -> None:
    """Puts the caret just after ``fragment`` in the editor and types ``keys`` as a trainer would."""
    editor = page.locator("#editor")
    offset = editor.input_value().index(fragment) + len(fragment)
    editor.evaluate("(e, at) => { e.focus(); e.setSelectionRange(at, at); }", offset)
    page.keyboard.type(keys, delay=delay)


def gutter_line(page: Page, line: int):
    return page.locator("#editor-gutter span").nth(line - 1)


def test_a_mistake_is_marked_where_it_is_and_the_mark_clears_when_fixed(open_page):
    page, watch = open_page()
    load_example(page)
    expect(page.locator("#live-summary")).to_have_text("No problems: 13 users, 65 connections, 20.3 kB of XML.")
    type_at_end_of(page, "quantity: 12", "x")
    line = line_of(CLASSROOM.read_text(), "quantity: 12")
    expect(gutter_line(page, line)).to_have_class("error", timeout=SOON_MS)
    mark = page.locator("#editor-marks .editor-mark.error")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text("12x")  # under the value, starting at its column
    issue = page.locator("#live-problems-list button")
    expect(issue).to_have_count(1)
    expect(issue).to_contain_text(f"Line {line}")
    expect(page.locator("#live-problems-title")).to_have_text("The config has 1 problem")
    expect(page.locator("#lab-outdated")).to_be_visible()

    page.keyboard.press("Backspace")
    expect(mark).to_have_count(0, timeout=SOON_MS)
    expect(gutter_line(page, line)).not_to_have_class("error")
    expect(page.locator("#live-problems")).to_be_hidden()
    expect(page.locator("#lab-outdated")).to_be_hidden()
    watch.assert_clean()


def test_the_list_says_what_generating_says_and_each_problem_goes_to_its_line(open_page):
    page, watch = open_page()
    broken = (CLASSROOM.read_text().replace("quantity: 12", "quantity: -3")
              .replace("hostname_suffix: '21'", "hostname_suffix: '254'"))
    page.locator("#editor").fill(broken)
    live = page.locator("#live-problems-list button")
    expect(live).to_have_count(2, timeout=SOON_MS)
    checked = live.all_inner_texts()
    expect(page.locator("#editor-gutter span.error")).to_have_count(2)

    live.nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#editor")).to_be_focused()
    assert page.locator("#editor").evaluate("e => e.value.slice(0, e.selectionStart).split('\\n').length") == \
        int(checked[1].split()[1])

    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#problem-list button")).to_have_count(2)
    assert page.locator("#problem-list button").all_inner_texts() == checked
    expect(page.locator("#live-problems")).to_be_hidden()  # one list at a time
    watch.assert_clean(422)


def test_a_burst_of_typing_sends_few_checks_and_the_last_answer_wins(open_page):
    page, watch = open_page()
    load_example(page)
    expect(page.locator("#live-summary")).to_contain_text("13 users")
    sent = checks_sent(page)
    type_at_end_of(page, "quantity: 12", "99", delay=40)
    for _ in range(3):
        page.keyboard.press("Backspace", delay=40)
    page.keyboard.type("0")  # students: 1299, then 1, then 10
    expect(page.locator("#live-summary")).to_contain_text("No problems: 11 users, 55 connections",
                                                          timeout=SOON_MS * 2)
    page.wait_for_timeout(800)
    assert 1 <= len(sent) <= 2, sent  # one per pause, not one per keystroke (six of them)
    expect(page.locator("#lab-counts")).to_contain_text("11 users, 55 connections")
    expect(page.locator("#lab-picture .lab-users .lab-card").nth(1)).to_contain_text("10 users: student01 to student10")
    watch.assert_clean()


def test_a_slow_answer_never_lands_on_a_newer_one(open_page):
    """The first text is the slowest config the limits allow to check; the second is tiny. Whatever order the
    answers would come in, the page shows the second's, and still shows it once the first is long done."""
    from bench.hostile_configs import SHAPES

    slow = SHAPES["many-parameters"]().decode()
    page, watch = open_page()
    type_all = "(e, text) => { e.value = text; e.dispatchEvent(new Event('input')); }"
    editor = page.locator("#editor")
    editor.evaluate(type_all, slow)
    page.wait_for_timeout(450)  # the slow check is on its way
    editor.evaluate(type_all, CLASSROOM.read_text())
    expect(page.locator("#live-summary")).to_have_text("No problems: 13 users, 65 connections, 20.3 kB of XML.",
                                                       timeout=SOON_MS * 3)
    page.wait_for_timeout(1500)
    expect(page.locator("#live-summary")).to_have_text("No problems: 13 users, 65 connections, 20.3 kB of XML.")
    watch.assert_clean()


def test_checking_never_stores_anything_nor_sets_a_cookie(open_page, azurite):
    page, watch = open_page()
    before = entities_in_account(azurite.connection_string)
    sent = checks_sent(page)
    load_example(page)
    type_at_end_of(page, "quantity: 12", "3", delay=30)
    expect(page.locator("#live-summary")).to_contain_text("124 users", timeout=SOON_MS)
    assert len(sent) >= 2
    assert page.context.cookies() == []
    assert entities_in_account(azurite.connection_string) == before
    watch.assert_clean()


def test_the_picture_follows_the_text(open_page):
    page, watch = open_page()
    page.locator("#example-choice").select_option("pods")
    page.get_by_role("button", name="Load example").click()
    expect(page.locator("#lab-picture .pod-block")).to_have_count(6, timeout=SOON_MS)
    type_at_end_of(page, "quantity: 20", "")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("3")  # three students
    expect(page.locator("#lab-picture .pod-block")).to_have_count(3, timeout=SOON_MS)
    expect(page.locator("#lab-counts")).to_contain_text("4 users, 22 connections")
    expect(page.locator("#result")).to_be_hidden()  # nothing generated: Generate is the one action that stores
    watch.assert_clean()


def test_problems_are_announced_once_not_on_every_keystroke(open_page):
    page, watch = open_page()
    load_example(page)
    expect(page.locator("#status")).to_contain_text("Example lab loaded")
    type_at_end_of(page, "quantity: 12", "x")
    expect(page.locator("#status")).to_have_text("Config checked: The config has 1 problem.", timeout=SOON_MS)
    page.evaluate("document.getElementById('status').textContent = 'quiet'")
    type_at_end_of(page, "quantity: 12x", "y")  # still one problem: nothing new to say
    expect(page.locator("#editor-marks .editor-mark")).to_have_text("12xy", timeout=SOON_MS)
    page.wait_for_timeout(300)
    expect(page.locator("#status")).to_have_text("quiet")
    watch.assert_clean()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_marks_and_the_list_pass_axe(open_page, color_scheme):
    page, _ = open_page(color_scheme=color_scheme, bypass_csp=True)
    load_example(page)
    type_at_end_of(page, "port: 3389", "\n            colour: blue")
    expect(page.locator("#live-warnings-list button")).to_have_count(1, timeout=SOON_MS)
    expect(page.locator("#editor-marks .editor-mark.warning")).to_have_count(1)
    assert serious_violations(page) == []
    type_at_end_of(page, "quantity: 12", "x")  # a config with a problem gets no warnings: generating stops first
    expect(page.locator("#live-problems-list button")).to_have_count(1, timeout=SOON_MS)
    expect(page.locator("#editor-marks .editor-mark.error")).to_have_count(1)
    expect(page.locator("#lab-outdated")).to_be_visible()
    assert serious_violations(page) == []
    page.locator("#config-panel").screenshot(path=ROOT / "tests" / "artifacts" / f"live-check-{color_scheme}.png")


def test_with_storage_down_checking_goes_on_and_the_page_says_generating_waits(app_host, open_page, private_azurite):
    with app_host(private_azurite.connection_string) as app:
        page, watch = open_page(base_url=app.url)
        load_example(page)
        private_azurite.stop()
        type_at_end_of(page, "quantity: 12", "x")
        expect(page.locator("#live-problems-list button")).to_have_count(1, timeout=SOON_MS)
        page.keyboard.press("Backspace")
        expect(page.locator("#live-problems")).to_be_hidden(timeout=SOON_MS)
        page.get_by_role("button", name="Generate user-mapping.xml").click()
        note = page.locator("#live-note")
        expect(note).to_contain_text("generating has to wait; checking goes on")
        type_at_end_of(page, "quantity: 12", "3")
        expect(page.locator("#live-summary")).to_contain_text("124 users", timeout=SOON_MS)
        private_azurite.start()
        expect(note).to_be_hidden(timeout=15_000)  # the page asks /api/health after Retry-After
        watch.assert_clean(503)
