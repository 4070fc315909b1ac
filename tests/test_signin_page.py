"""Sign-in links made in Chromium with WebCrypto (``static/signin.js``) are the command line's, byte for byte:
for every user of every example, single use or not, from the document parts the command line's own code
makes (``document_parts``). The page's form (``static/signinlinks.js``) makes them from what the app serves,
and its CSV is the command line's file; the key reaches no request and no storage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import guacamole_json_auth as auth
import pytest
from pages import EXAMPLE_CHOICES, generate_pods
from playwright.sync_api import expect

from usermapper.cli import CLI_LIMITS
from usermapper.generate import generate
from usermapper.outputs.signin_links import document_parts, sign_in_links

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
KEY_HEX = "0123456789abcdef0123456789ABCDEF"
URL = "https://guacamole.example.org/guacamole/"
EXPIRES = 4_070_908_800_000  # 2099-01-01T00:00Z

SIGN_ALL = """async ({keyHex, url, users, expires, singleUse}) => {
  const signin = await import('/static/signin.js');
  const key = signin.keyBytes(keyHex);
  const links = [];
  for (const [head, tail] of users) links.push(await signin.signInLink(url, key, head, tail, expires, singleUse));
  return links;
}"""


@pytest.mark.parametrize("single_use", [False, True], ids=["reusable", "single-use"])
def test_the_page_makes_the_command_lines_links_byte_for_byte(open_page, single_use):
    page, watch = open_page()
    requests: list[tuple[str, str, str | None]] = []
    page.on("request", lambda r: requests.append((r.method, r.url, r.post_data)))
    for example in EXAMPLES:
        generated = generate(example.read_bytes(), CLI_LIMITS)
        expected = sign_in_links(generated.lab, generated.mapping, bytes.fromhex(KEY_HEX), EXPIRES, URL, single_use)
        users = [document_parts(user.username, group.connections_of(index))
                 for group in generated.mapping.groups for index, user in enumerate(group.users)]
        made = page.evaluate(SIGN_ALL, {"keyHex": KEY_HEX, "url": URL, "users": users, "expires": EXPIRES,
                                        "singleUse": single_use})
        assert made == [link.url for link in expected.links], example.name
        decoded = auth.decode(auth.from_link(made[-1]), bytes.fromhex(KEY_HEX), EXPIRES)
        assert decoded.get("singleUse", False) is single_use
    # The key went nowhere: the page asked at most for its own static files, and sent no body.
    assert all(method == "GET" and "/static/" in url and body is None for method, url, body in requests)
    assert not any(KEY_HEX.lower() in url.lower() for _, url, _ in requests)
    watch.assert_clean()


def test_the_page_refuses_a_key_that_is_not_32_hex_digits_without_naming_it(open_page):
    page, _ = open_page()
    message = page.evaluate("""async (text) => {
      const signin = await import('/static/signin.js');
      try { signin.keyBytes(text); return null; } catch (error) { return error.message; }
    }""", "secret-but-not-hex")
    assert message and "32 hex digits" in message and "secret-but-not-hex" not in message


# -- the page's form: the trainer's way to the links -------------------------------------------------------

PARIS_EXPIRY = "2099-01-01T01:00"  # typed in Europe/Paris, in winter: 2099-01-01T00:00Z
UTC_EXPIRY = "2099-01-01T00:00Z"


def make_links(page, key=KEY_HEX, url=URL, expires=PARIS_EXPIRY, single_use=False):
    page.locator("#signin-key").fill(key)
    page.locator("#signin-url").fill(url)
    page.locator("#signin-expires").fill(expires)
    page.locator("#signin-single-use").set_checked(single_use)
    page.get_by_role("button", name="Make sign-in links").click()


def command_line_links(tmp_path: Path, example: Path, single_use: bool) -> bytes:
    (tmp_path / "key").write_text(KEY_HEX + "\n")
    args = ["-i", str(example), "--format", "sign-in-links", "--json-secret-key-file", "key", "--expires",
            UTC_EXPIRY, "--guacamole-url", URL, "-o", "links.csv", *(["--single-use"] if single_use else [])]
    done = subprocess.run([sys.executable, "-m", "usermapper", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "links.csv").read_bytes()


@pytest.mark.parametrize("choice, single_use", [("classroom", False), ("pods", True)])
def test_the_page_s_links_are_the_command_line_s_and_the_key_goes_nowhere(open_page, tmp_path, choice, single_use):
    page, watch = open_page(timezone_id="Europe/Paris")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.headers} {r.post_data}"))
    generate_pods(page, choice)
    make_links(page, single_use=single_use)
    expect(page.locator("#signin-result")).to_be_visible()
    users = len(generate((REPO / "examples" / EXAMPLE_CHOICES[choice]).read_bytes(), CLI_LIMITS).mapping.users)
    expect(page.locator("#signin-body tr")).to_have_count(users)
    expect(page.locator("#signin-summary")).to_contain_text("(2099-01-01T00:00:00Z)")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download sign-in-links.csv").click()
    assert download.value.suggested_filename == "sign-in-links.csv"
    made = Path(download.value.path()).read_bytes()
    assert made == command_line_links(tmp_path, REPO / "examples" / EXAMPLE_CHOICES[choice], single_use)
    # The key went nowhere: no request carried it, and the page kept it in no storage.
    assert any("/api/usermapping/sign-in-documents" in line for line in sent)
    assert not [line for line in sent if KEY_HEX.lower() in line.lower()]
    kept = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert KEY_HEX.lower() not in kept.lower() and URL in kept  # the address is remembered, the key is not
    watch.assert_clean()


def test_the_page_says_which_field_is_wrong_before_asking_for_anything(open_page):
    page, watch = open_page()
    generate_pods(page, "classroom")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    problem = page.locator("#signin-problem")
    for fields, says, focused in [
        ({"key": "not-a-key"}, "32 hex digits", "signin-key"),
        ({"url": "ftp://guacamole.example.org/"}, "http or https", "signin-url"),
        ({"url": URL + "?x=1"}, "without ? or #", "signin-url"),
        ({"expires": "2001-01-01T00:00"}, "already have expired", "signin-expires"),
    ]:
        make_links(page, **fields)
        expect(problem).to_be_visible()
        expect(problem).to_contain_text(says)
        assert page.evaluate("document.activeElement.id") == focused
        expect(page.locator("#signin-result")).to_be_hidden()
    assert asked == []
    watch.assert_clean()


def test_a_user_whose_link_would_be_too_long_is_named(open_page):
    config = ("users: {u: {quantity: 1, username_prefix: big, username_suffix: '1', password: p}}\n"
              "devices: {pc: {quantity: 1000, name_prefix: PC, name_suffix: '0001', hostname_prefix: pc, "
              "hostname_suffix: '1', parameters: {protocol: rdp, hostname: ~, note: " + "n" * 2000 + "}}}\n")
    page, watch = open_page()
    page.locator("#editor").fill(config)
    page.get_by_role("button", name="Generate user-mapping.xml").click()
    expect(page.locator("#result")).to_be_visible()
    make_links(page)
    expect(page.locator("#signin-problem")).to_contain_text("A sign-in link would be too long")
    expect(page.locator("#signin-problem")).to_contain_text("'big1'")
    watch.assert_clean(422)
