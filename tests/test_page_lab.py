"""The page's picture of the lab and its examples, in a real headless Chromium against the real app."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from pages import ARTIFACTS, DESKTOP, EXAMPLE_CHOICES, PHONE, ROOT, generate_pods, serious_violations

pytestmark = pytest.mark.browser



def test_the_page_serves_the_examples_as_they_are_in_examples():
    for choice, name in EXAMPLE_CHOICES.items():
        assert (ROOT / "static" / f"example-{choice}.yaml").read_bytes() == (ROOT / "examples" / name).read_bytes()


def test_the_example_picker_loads_each_example(open_page):
    page, watch = open_page()
    options = page.locator("#example-choice option").evaluate_all("options => options.map(o => o.value)")
    assert options == list(EXAMPLE_CHOICES)
    for choice, name in EXAMPLE_CHOICES.items():
        page.locator("#example-choice").select_option(choice)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Load example").click()
        expect(page.locator("#editor")).to_have_value((ROOT / "examples" / name).read_text())
    watch.assert_clean()


def check_facts(name: str) -> list[str]:
    """What ``usermapper --check`` prints of an example, without the file name and the indentation."""
    printed = subprocess.run([sys.executable, "-m", "usermapper", "--check", "-i", name], cwd=ROOT / "examples",
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                             check=True, timeout=60).stdout.splitlines()
    return [printed[0].removeprefix(f"{name}: valid: ")] + [line.strip() for line in printed[1:]]


def test_the_picture_draws_each_pod_and_says_the_same_as_the_command_line(open_page):
    page, watch = open_page()
    generate_pods(page)
    picture = page.locator("#lab-picture")
    expect(picture).to_be_visible()
    users = picture.locator(".lab-users .lab-card")
    expect(users).to_have_count(2)
    expect(users.nth(0)).to_contain_text("instructors")
    expect(users.nth(0).locator(".chip")).to_have_text(
        ["jumphost", "routers (every pod)", "switches (every pod)", "pcs (every pod)"])
    expect(users.nth(1)).to_contain_text("20 users: student01 to student20")
    expect(users.nth(1)).to_contain_text("4 connections each")
    expect(users.nth(1).locator(".chip.pod")).to_have_text(["routers (own)", "switches (own)", "pcs (own)"])
    expect(picture.locator(".lab-shared .lab-card")).to_have_text(["jumphost1 device, ssh"])
    blocks = picture.locator(".lab-pods .pod-block")
    expect(blocks).to_have_count(6)  # the first five owners, then the rest counted
    expect(blocks.nth(0).locator(".pod-owner")).to_have_text("pod 1: student01")
    expect(blocks.nth(6 - 2).locator(".pod-devices li")).to_have_text(
        ["Router 10.0.5.1", "Switch 10.0.5.2", "PC 10.0.5.10"])
    expect(blocks.nth(5)).to_have_text("and 15 more pods")
    facts = check_facts("pods.yaml")
    expect(page.locator("#lab-facts li")).to_have_text(facts)
    assert picture.get_attribute("aria-label").startswith(f"Picture of the lab: {facts[0]}.")
    page.get_by_text("The lab as text").click()
    expect(page.locator("#lab-facts")).to_be_visible()
    watch.assert_clean()


def test_a_shared_lab_is_drawn_without_pods_and_a_new_file_redraws_the_picture(open_page):
    page, watch = open_page()
    generate_pods(page, "pods-desktops")
    expect(page.locator("#lab-picture .pod-block")).to_have_count(6)
    expect(page.locator("#lab-picture .lab-shared")).to_have_count(0)
    expect(page.locator("#lab-picture .pod-block").nth(6 - 5).locator(".pod-devices li")).to_have_text(
        ["Desktop02 10.0.0.102", "Kali pod02-kali.lab.example"])
    page.once("dialog", lambda dialog: dialog.accept())
    generate_pods(page, "classroom")
    expect(page.locator("#lab-picture .lab-pods")).to_have_count(0)
    expect(page.locator("#lab-picture .lab-shared .lab-card")).to_have_text(
        ["desktops3 devices, rdp", "routers2 devices, ssh"])
    expect(page.locator("#lab-facts li")).to_have_text(check_facts("classroom.yaml"))
    watch.assert_clean()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_picture_passes_axe_and_fits_the_screen(open_page, color_scheme, viewport):
    page, watch = open_page(viewport=viewport, color_scheme=color_scheme, bypass_csp=True)
    generate_pods(page)
    page.get_by_text("The lab as text").click()
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#lab-panel").screenshot(path=ARTIFACTS / f"lab-picture-{'phone' if viewport == PHONE else 'desktop'}-"
                                         f"{color_scheme}.png")
    watch.assert_clean()


