"""Sign-in links made in Chromium with WebCrypto (``static/signin.js``) are the command line's, byte for byte:
for every user of every example, single use or not, from the document parts the command line's own code
makes (``document_parts``). The key is passed to the module and used there; the page sends nothing."""

from __future__ import annotations

from pathlib import Path

import guacamole_json_auth as auth
import pytest

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
    # The key went nowhere: the page asked only for its own static files, and sent no body.
    assert requests and all(method == "GET" and "/static/" in url and body is None for method, url, body in requests)
    assert not any(KEY_HEX.lower() in url.lower() for _, url, _ in requests)
    watch.assert_clean()


def test_the_page_refuses_a_key_that_is_not_32_hex_digits_without_naming_it(open_page):
    page, _ = open_page()
    message = page.evaluate("""async (text) => {
      const signin = await import('/static/signin.js');
      try { signin.keyBytes(text); return null; } catch (error) { return error.message; }
    }""", "secret-but-not-hex")
    assert message and "32 hex digits" in message and "secret-but-not-hex" not in message
