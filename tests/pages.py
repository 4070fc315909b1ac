"""What the browser tests share: the viewports, a watch on what goes wrong in a page, and what a trainer does.

The fixtures that open pages (``browser``, ``open_page``) are in conftest.py and use these.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "examples" / "classroom.yaml"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SMALL_PHONE = {"width": 390, "height": 844}
WIDTHS = pytest.mark.parametrize("viewport", [DESKTOP, SMALL_PHONE], ids=["1280x900", "390x844"])

# Reports every CSP violation to the test through a binding; bindings and init scripts come in over the
# DevTools protocol, so the page's own CSP does not block them.
REPORT_CSP = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`);
});
"""


class Watch:
    """What went wrong in one browser context: console errors, page errors, CSP violations."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.csp_violations: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        context.expose_binding("reportCspViolation", lambda _source, text: self.csp_violations.append(text))
        context.add_init_script(REPORT_CSP)
        context.on("page", self.attach_page)

    def attach_page(self, page: Page) -> None:
        page.on("console", self.console_message)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def console_message(self, message) -> None:
        # A page that shows no icon of its own (the API's JSON, after a forged form submits there) makes
        # Chromium ask for /favicon.ico, whenever it gets round to it: that 404 says nothing about the app.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.console_errors.append(message.text)

    def assert_clean(self, *expected_statuses: int) -> None:
        expected = {f"the server responded with a status of {status}" for status in expected_statuses}
        unexpected = [text for text in self.console_errors if not any(e in text for e in expected)]
        assert unexpected == []
        assert self.page_errors == []
        assert self.csp_violations == []


# ---------- helpers: what a trainer does ----------

def load_example(page: Page) -> None:
    page.get_by_role("button", name="Load example").click()
    expect(page.locator("#editor")).to_have_value(CLASSROOM.read_text())


def generate_example(page: Page) -> None:
    load_example(page)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#result")).to_be_visible()


def line_of(text: str, fragment: str) -> int:
    """1-based number of the first line holding fragment."""
    return text[: text.index(fragment)].count("\n") + 1


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement.id")


def caret_line(page: Page) -> int:
    return page.locator("#editor").evaluate("e => e.value.slice(0, e.selectionStart).split('\\n').length")


# ---------- tests ----------

def serious_violations(page: Page) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("axe.run().then(r => r.violations)")
    return [f"{v['id']}: {v['help']} at {[node['target'] for node in v['nodes'][:3]]}"
            for v in violations if v["impact"] in ("serious", "critical")]


def in_view(page: Page, selector: str) -> bool:
    return page.evaluate("""(selector) => {
      const box = document.querySelector(selector).getBoundingClientRect();
      // Within a pixel: scrolling to an element whose page offset is fractional leaves it a subpixel off.
      return box.top >= -1 && box.bottom <= window.innerHeight + 1;
    }""", selector)


# The page's example picker: each choice and the file of examples/ it loads.
EXAMPLE_CHOICES = {"classroom": "classroom.yaml", "pods": "pods.yaml", "pods-desktops": "pods-desktops.yaml"}


def generate_pods(page: Page, choice: str = "pods") -> None:
    page.locator("#example-choice").select_option(choice)
    page.get_by_role("button", name="Load example").click()
    expect(page.locator("#editor")).to_have_value((ROOT / "examples" / EXAMPLE_CHOICES[choice]).read_text())
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#result")).to_be_visible()
