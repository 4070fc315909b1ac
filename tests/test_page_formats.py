"""The page's format choice beside Download, in Chromium: each format of the shown file, named as the page
names its XML (``?sha256=`` and ``If-Match``), and the groups to create for an import."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from playwright.sync_api import expect

from test_page import DESKTOP, browser, generate_example, open_page  # noqa: F401 (fixtures)


def test_each_format_downloads_the_shown_labs_file(open_page):
    page, watch = open_page(viewport=DESKTOP)
    generate_example(page)
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("if-match"))))
    sha256 = page.context.request.get("/api/usermapping", headers={"Accept": "application/json"}).json()["sha256"]

    page.get_by_label("Download format", exact=True).select_option("import-json")
    expect(page.locator("#import-groups")).to_contain_text(
        "ROOT/usermapper, ROOT/usermapper/desktops, ROOT/usermapper/routers")
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
