"""Every download is bounded like the XML (issue 23, part 1): each format's exact size is counted at the
upload without writing it, a format over the limit is a 413 naming its size, and the summary says which
formats the lab can be downloaded in."""

from __future__ import annotations

import csv
import io
import random

import pytest

from bench.hostile_configs import SHAPES
from httpclient import EXAMPLES, Client, assert_problem
from usermapper.generate import generate
from usermapper.lab import ConfigError
from usermapper.limits import Limits
from usermapper.outputs import IMPORT_FORMATS, PASSWORD_SCRIPTS
from usermapper.outputs.import_files import (
    CSV_HEAD,
    PARAMETER_COLUMN,
    ImportRefused,
    _csv_cell,
    _csv_list,
    entries,
    import_file,
    import_size,
)
from usermapper.outputs.password_scripts import passwords_sql, passwords_sql_size
from usermapper.outputs.user_mapping import FileTooLarge

LIMIT = 40_000
BIG = Limits(max_xml_bytes=10**9, max_connections=10**7, max_random_characters=10**8)


def configs() -> list[tuple[str, bytes]]:
    found = [(path.name, path.read_bytes()) for path in sorted(EXAMPLES.glob("*.yaml"))]
    return found + [(name, shape(64 * 1024)) for name, shape in SHAPES.items()]


def csv_writer_file(entries_: list[dict]) -> bytes:
    """The CSV as Python's csv.writer writes it, cell by cell: what import_csv must equal."""
    names = list(dict.fromkeys(name for entry in entries_ for name in entry["parameters"]))
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([*CSV_HEAD, *(PARAMETER_COLUMN.format(name) for name in names)])
    for entry in entries_:
        writer.writerow([entry["name"], entry["protocol"], entry["group"], _csv_list(entry["users"]),
                         *(entry["parameters"].get(name, "") for name in names)])
    return text.getvalue().encode("utf-8")


@pytest.mark.parametrize("name, config", configs(), ids=[name for name, _ in configs()])
def test_each_format_s_counted_size_is_the_size_written(name, config):
    try:
        generated = generate(config, BIG)
    except (ConfigError, FileTooLarge):
        pytest.skip("not a lab")
    usernames = [u.username for u in generated.mapping.users]
    for dialect in PASSWORD_SCRIPTS:
        assert passwords_sql_size(usernames, dialect) == len(passwords_sql(((u, "pw") for u in usernames), dialect))
    try:
        found = entries(generated.lab, generated.mapping)
    except ImportRefused:
        return
    for format_ in IMPORT_FORMATS:
        assert import_size(found, format_.name) == len(import_file(found, format_.name)), format_.name
    assert import_file(found, "import-csv") == csv_writer_file(found)


def test_a_cell_is_written_as_csv_writer_writes_it():
    alphabet = ["a", ",", '"', "\r", "\n", " ", "é", "\t", "\\", ";", "\U0001f600", "'", "\x00", "\x1f", "\u2028"]
    chosen = random.Random(23)
    for _ in range(5000):
        cells = ["".join(chosen.choice(alphabet) for _ in range(chosen.randint(0, 5))) for _ in range(4)]
        row = io.StringIO(newline="")
        csv.writer(row, lineterminator="\r\n").writerow(cells)
        assert row.getvalue() == ",".join(map(_csv_cell, cells)) + "\r\n", cells


def test_the_password_scripts_sizes_are_exact_for_any_name():
    names = ["", "a", "student01", "\u00dcn\u00ef", "x'y", "a\\b", "\U0001f600", "tab\there", "l" * 3000]
    for count in (0, 1, 9, 10, 11, 120):
        chosen = [names[i % len(names)] + str(i) for i in range(count)]
        for dialect in PASSWORD_SCRIPTS:
            assert passwords_sql_size(chosen, dialect) == len(passwords_sql(((u, "p") for u in chosen), dialect))


# Usernames of 61 characters YAML escapes (U+0085, written \u0085): the XML writes each once and as it is,
# the import files once per connection, the MySQL script in hex, several times.
LONG_NAMES = ("users:\n  s: {quantity: 25, username_prefix: \"u" + "\\x85" * 60 + "\", username_suffix: '1', "
              "password: p}\ndevices:\n" + "".join(f"  d{i}: {{quantity: 1, name_prefix: p{i}, name_suffix: '1', "
                                                   f"parameters: {{protocol: rdp, hostname: h}}}}\n" for i in range(12)))


@pytest.fixture(scope="module")
def small_app(app_host, azurite):
    with app_host(azurite.connection_string, table="sizes", USERMAPPER_MAX_XML_BYTES=str(LIMIT)) as app:
        yield app


def test_a_format_over_the_limit_is_a_413_naming_its_size_and_the_summary_lists_the_others(small_app):
    client = Client(small_app.url)
    summary = client.post_file(LONG_NAMES.encode()).json()
    sizes, formats = summary["sizes"], summary["formats"]
    assert sizes["user-mapping"] == summary["bytes"] <= LIMIT
    over = {name for name, size in sizes.items() if size > LIMIT}
    assert {"import-json", "import-yaml", "passwords-mysql"} <= over and "passwords-postgresql" not in over
    assert formats == ["user-mapping", "passwords-postgresql"]  # the CSV is written from the JSON, over the limit
    for name, size in sizes.items():
        response = client.get(params={"format": name})
        if name in over:
            problem = assert_problem(response, 413)
            assert problem["type"].endswith("#download-too-large") and f"{size:,} bytes" in problem["detail"]
            assert f"{LIMIT:,} bytes" in problem["detail"]
        elif name in formats:
            assert response.status_code == 200 and len(response.content) == size, name


def test_the_import_files_other_than_json_are_refused_with_it(small_app):
    """Written from the JSON form, which is not kept when it is over the limit: a 413 naming that size."""
    client = Client(small_app.url)
    summary = client.post_file(LONG_NAMES.encode()).json()
    assert summary["sizes"]["import-csv"] <= LIMIT < summary["sizes"]["import-json"]
    problem = assert_problem(client.get(params={"format": "import-csv"}), 413)
    assert f"{summary['sizes']['import-json']:,} bytes" in problem["detail"] and "import-csv" in problem["detail"]


def test_a_lab_within_every_limit_can_be_downloaded_in_every_format(small_app):
    client = Client(small_app.url)
    summary = client.post_file((EXAMPLES / "classroom.yaml").read_bytes()).json()
    assert summary["formats"] == list(summary["sizes"])
    for name, size in summary["sizes"].items():
        response = client.get(params={"format": name})
        assert response.status_code == 200 and len(response.content) == size, name
