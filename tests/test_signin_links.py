"""Sign-in links (issue 24): each user's link, decoded as Guacamole 1.6.0's encrypted JSON authentication
decodes it (``guacamole_json_auth.py``), gives that user exactly the connections and parameters
user-mapping.xml gives them, until the expiry and not after; a wrong key, a tampered link and an expired one
are refused; the command line writes the links 0600 and the key appears in nothing it writes or prints."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import guacamole_json_auth as auth
import guacamole_reader
import pytest

from usermapper.cli import CLI_LIMITS
from usermapper.generate import generate
from usermapper.lab.expand import Connection
from usermapper.outputs import FORMATS, SIGN_IN_LINKS
from usermapper.outputs.signin_links import (
    MAX_LINK_CHARS,
    LinksRefused,
    document,
    document_parts,
    expiry_part,
    link,
    parse_expires,
    parse_key,
    seal,
    sign_in_links,
)
from usermapper.outputs.user_mapping import user_mapping_bytes

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
KEY_HEX = "0123456789abcdef0123456789ABCDEF"
KEY = bytes.fromhex(KEY_HEX)
URL = "https://guacamole.example.org/guacamole"
NOW = 1_796_000_000_000
EXPIRES = NOW + 8 * 3600 * 1000


def links_of(config: bytes, single_use: bool = False):
    generated = generate(config, CLI_LIMITS)
    made = sign_in_links(generated.lab, generated.mapping, KEY, EXPIRES, URL + "/", single_use)
    return generated, made


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_link_gives_its_user_what_user_mapping_xml_gives_them(example):
    generated, made = links_of(example.read_bytes())
    xml_users = guacamole_reader.read(user_mapping_bytes(generated.mapping))
    assert [(k.username) for k in made.links] == list(xml_users)
    for one in made.links:
        assert one.url.startswith(URL + "/#/?data=")
        user = auth.decode(auth.from_link(one.url), KEY, NOW)
        assert user["username"] == one.username and user["expires"] == EXPIRES and "singleUse" not in user
        assert auth.connections(user) == xml_users[one.username][2]


def test_the_links_are_valid_until_their_expiry_millisecond_and_not_after():
    _, made = links_of((REPO / "examples" / "classroom.yaml").read_bytes())
    data = auth.from_link(made.links[0].url)
    assert auth.decode(data, KEY, EXPIRES)["expires"] == EXPIRES
    with pytest.raises(auth.Refused, match="expired"):
        auth.decode(data, KEY, EXPIRES + 1)


def test_a_wrong_key_and_a_tampered_link_are_refused():
    _, made = links_of((REPO / "examples" / "pods.yaml").read_bytes())
    data = auth.from_link(made.links[-1].url)
    for wrong in (bytes(16), KEY[:-1] + bytes([KEY[-1] ^ 1])):
        with pytest.raises(auth.Refused):
            auth.decode(data, wrong, NOW)
    raw = bytearray(__import__("base64").b64decode(data))
    for at in (0, 17, len(raw) // 2, len(raw) - 17, len(raw) - 1):  # each block, the signature's and the JSON's
        tampered = bytearray(raw)
        tampered[at] ^= 0x01
        with pytest.raises(auth.Refused):
            auth.decode(__import__("base64").b64encode(bytes(tampered)).decode(), KEY, NOW)
    with pytest.raises(auth.Refused):
        auth.decode(data[:-8], KEY, NOW)


def test_a_single_use_link_signs_in_once():
    _, made = links_of((REPO / "examples" / "classroom.yaml").read_bytes(), single_use=True)
    data, seen = auth.from_link(made.links[0].url), set()
    assert auth.decode(data, KEY, NOW, seen)["singleUse"] is True
    with pytest.raises(auth.Refused, match="used already"):
        auth.decode(data, KEY, NOW, seen)


def test_the_same_key_and_data_give_the_same_link_and_the_fragment_form_is_percent_encoded():
    sealed = seal(document("student01", iter([Connection("PC 1", "rdp", (("hostname", "10.0.0.1"),))]), EXPIRES),
                  KEY)
    assert sealed == seal(document("student01", iter([Connection("PC 1", "rdp", (("hostname", "10.0.0.1"),))]),
                                   EXPIRES), KEY)
    made = link(URL + "/", sealed)
    assert made == URL + "/#/?data=" + quote(sealed, safe="")
    assert not set("+/=") & set(made.partition("data=")[2])
    assert auth.connections(auth.decode(auth.from_link(made), KEY, NOW)) == {"PC 1": ("rdp", {"hostname": "10.0.0.1"})}


def test_a_document_is_its_parts_around_the_expiry_as_the_page_joins_them():
    connections = [Connection("PC \u00e9 \"1\"", "rdp", (("hostname", "10.0.0.1"), ("password", "a\nb\\c")))]
    head, tail = document_parts("st\u00fcdent \u2028", iter(connections))
    assert head.endswith('"expires":') and tail.startswith(',"connections":')
    for single_use in (False, True):
        whole = document("st\u00fcdent \u2028", iter(connections), EXPIRES, single_use)
        assert (head + expiry_part(EXPIRES, single_use) + tail).encode("utf-8") == whole
        assert __import__("json").loads(whole)["username"] == "st\u00fcdent \u2028"


def test_a_name_twice_keeps_the_last_as_guacamole_does():
    data = document("u", iter([Connection("A", "ssh", (("hostname", "one"),)), Connection("B", "ssh", ()),
                               Connection("A", "rdp", (("hostname", "two"),))]), EXPIRES)
    user = auth.decode(seal(data, KEY), KEY, NOW)
    assert auth.connections(user) == {"A": ("rdp", {"hostname": "two"}), "B": ("ssh", {})}


GUAC_PASSWORD_LAB = b"""\
users:
  students:
    quantity: 2
    username_prefix: student
    username_suffix: '1'
    password: same
devices:
  pc:
    quantity: 1
    name_prefix: PC
    name_suffix: '1'
    hostname_prefix: 10.0.0.
    hostname_suffix: '1'
    parameters:
      protocol: rdp
      hostname: ~
      username: ${GUAC_USERNAME}
      password: ${GUAC_PASSWORD}
"""

def test_guac_password_is_warned_about_at_its_place(tmp_path):
    (tmp_path / "lab.yaml").write_bytes(GUAC_PASSWORD_LAB)
    (tmp_path / "key").write_text(KEY_HEX + "\n")
    done = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key", "--expires",
                      "8h", "--guacamole-url", URL, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("lab.yaml:18:17: warning: devices.pc.parameters.password: ${GUAC_PASSWORD} has no value with a "
            "sign-in link") in done.stderr


def test_a_link_longer_than_browsers_take_is_refused_at_its_user_type(monkeypatch):
    import usermapper.outputs.signin_links as module

    monkeypatch.setattr(module, "MAX_LINK_CHARS", 2_000)
    with pytest.raises(LinksRefused) as refused:
        links_of((REPO / "examples" / "pods.yaml").read_bytes())
    problem = refused.value.problems[0]
    assert problem.path == "users.instructors" and problem.line > 0
    assert "2,000" in problem.message and "fewer connections" in problem.message
    assert MAX_LINK_CHARS == 2_000_000


def test_the_format_is_the_command_lines_alone():
    assert SIGN_IN_LINKS.name not in FORMATS  # the web app never holds the key


def test_expiry_and_key_are_read_as_documented():
    now = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert parse_expires("2026-12-10T17:00Z", now) == int(datetime(2026, 12, 10, 17, tzinfo=UTC)
                                                          .timestamp()) * 1000
    assert parse_expires("2026-12-10T18:00+01:00", now) == parse_expires("8h", now)
    assert parse_expires("1d12h", now) == int((now + timedelta(hours=36)).timestamp()) * 1000
    for bad in ("2026-12-10T17:00", "2026-12-10T08:00Z", "8 hours", "0h", ""):
        with pytest.raises(ValueError):
            parse_expires(bad, now)
    assert parse_key(f" {KEY_HEX}\n") == KEY
    for bad in (KEY_HEX[:-1], KEY_HEX + "0", "g" * 32):
        with pytest.raises(ValueError) as error:
            parse_key(bad)
        assert bad.strip() not in str(error.value)


# -- the command line -------------------------------------------------------------------------------------

def usermapper(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "usermapper", *args], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_the_command_line_writes_the_links_0600_and_the_key_nowhere(tmp_path):
    shutil_copy = (REPO / "examples" / "pods.yaml").read_bytes()
    (tmp_path / "lab.yaml").write_bytes(shutil_copy)
    (tmp_path / "key").write_text(KEY_HEX + "\n")
    (tmp_path / "links.csv").write_text("old")
    os.chmod(tmp_path / "links.csv", 0o644)
    done = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key",
                      "--expires", "2099-01-01T00:00Z", "--guacamole-url", URL, "-o", "links.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "links.csv").st_mode) == 0o600
    assert "usermapper: 21 sign-in links, each valid until 2099-01-01T00:00:00Z" in done.stderr
    written = (tmp_path / "links.csv").read_text()
    rows = list(csv.reader(io.StringIO(written)))
    assert rows[0] == ["type", "username", "link"] and len(rows) == 22
    xml_users = guacamole_reader.read(user_mapping_bytes(generate(shutil_copy, CLI_LIMITS).mapping))
    for user_type, username, url in rows[1:]:
        user = auth.decode(auth.from_link(url), KEY, NOW)
        assert user["username"] == username and user["expires"] == 4_070_908_800_000
        assert auth.connections(user) == xml_users[username][2]
    from_env = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--expires", "2099-01-01T00:00Z",
                          "--guacamole-url", URL, "-o", "-", cwd=tmp_path, env={"USERMAPPER_JSON_SECRET_KEY": KEY_HEX})
    assert from_env.returncode == 0 and from_env.stdout.replace("\r\n", "\n") == written.replace("\r\n", "\n")
    for text in (written, done.stdout, done.stderr, from_env.stdout, from_env.stderr):
        for form in (KEY_HEX, KEY_HEX.lower(), KEY.hex().upper()):
            assert form not in text


def test_the_command_line_refuses_without_leaking_a_bad_key(tmp_path):
    (tmp_path / "lab.yaml").write_bytes((REPO / "examples" / "classroom.yaml").read_bytes())
    secret = "not-a-key-but-secret-all-the-same"
    (tmp_path / "key").write_text(secret)
    common = ["-i", "lab.yaml", "--format", "sign-in-links", "--expires", "8h", "--guacamole-url", URL]
    for args, env in ((["--json-secret-key-file", "key"], {}), ([], {"USERMAPPER_JSON_SECRET_KEY": secret})):
        done = usermapper(*common, *args, cwd=tmp_path, env=env)
        assert done.returncode == 2 and "32 hex digits" in done.stderr and secret not in done.stderr + done.stdout
    assert not (tmp_path / "sign-in-links.csv").exists()
    nothing = usermapper(*common, cwd=tmp_path, env={"USERMAPPER_JSON_SECRET_KEY": ""})
    assert nothing.returncode == 2 and "USERMAPPER_JSON_SECRET_KEY" in nothing.stderr
    missing = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key", cwd=tmp_path)
    assert missing.returncode == 2 and "--expires" in missing.stderr
    alone = usermapper("-i", "lab.yaml", "--single-use", cwd=tmp_path)
    assert alone.returncode == 2 and "--single-use is for --format sign-in-links alone" in alone.stderr
    (tmp_path / "key").write_text(KEY_HEX)
    past = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key", "--expires",
                      "2020-01-01T00:00Z", "--guacamole-url", URL, cwd=tmp_path)
    assert past.returncode == 2 and "not in the future" in past.stderr
    query = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key", "--expires",
                       "8h", "--guacamole-url", URL + "/?x=1", cwd=tmp_path)
    assert query.returncode == 2 and "--guacamole-url" in query.stderr
    over = usermapper("-i", "lab.yaml", "--format", "sign-in-links", "--json-secret-key-file", "key", "--expires",
                      "8h", "--guacamole-url", URL, "-o", "key", cwd=tmp_path)
    assert over.returncode == 2 and "would overwrite the key" in over.stderr
    assert (tmp_path / "key").read_text() == KEY_HEX
    assert not (tmp_path / "sign-in-links.csv").exists()
