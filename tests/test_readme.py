"""The README and every page in docs/ are true: each config does what the page says, each command works as
pasted, and what a page shows a command or a config give is what they give.

Every fenced block of README.md and docs/*.md is one of these, by its info string (GitHub shows only its
first word, the language):

- ``yaml``: a whole config. It is saved as ``lab.yaml`` in the page's directory and run through the
  command line: it must be valid and give no warning, unless a claim below says otherwise.
- ``sh``: commands, run with bash (``-euo pipefail``) in the page's directory, in page order, so that a
  later block finds what an earlier one wrote. The directory is a copy of ``examples/``, with
  ``.venv/bin/python`` standing for this interpreter. ``http://localhost:7071`` is the app under test;
  ``curl`` fails on an HTTP error; ``psql`` reaches a real PostgreSQL holding Guacamole's user tables
  in ``guacamole_db``. Commands that install, serve or need Azure are not run (``NOT_RUN`` says which
  and why): the files they name must exist, and the settings they set must be ones ``infra/`` knows.
- a claim: ``text``, ``xml``, ``csv`` or ``json``, about the closest ``yaml`` or ``sh`` block above it.
  After a config: ``text check`` is what ``--check`` prints, ``text warnings`` the warnings, ``text
  refused`` the refusal (exit status 2), ``xml`` the whole file, ``xml excerpt`` a run of its lines,
  ``csv`` the credentials sheet, ``csv import`` and ``json import`` Guacamole's import file.
  After commands: ``text`` is all they print, ``json`` what they print, as JSON, ``xml`` and ``xml
  excerpt`` the ``user-mapping.xml`` they wrote.
  In a claim, ``…`` stands for any text within a line, and a line of ``…`` alone for any lines; in a
  ``json`` claim, ``"…"`` stands for any value (as a list's last item, for any more items), and ``…`` inside
  a string for any text.
- no info string: a picture; not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import guacamole_reader
import pytest

from usermapper.lab.expand import expand
from usermapper.lab.reader import read_config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
APP = "localhost:7071"

# Commands not run here, by how they start, with the reason.
NOT_RUN = {
    "scripts/start": "installs packages, then serves until stopped",
    "scripts/test": "installs packages, then runs the whole suite, this file included",
    "azd ": "needs an Azure subscription",
    "az ": "needs an Azure subscription",
    "func ": "needs Azure Functions Core Tools (and for `func azure`, a subscription)",
    "node_modules/.bin/azurite ": "serves until stopped",
    ". .venv/bin/activate && func start": "needs Azure Functions Core Tools; serves until stopped",
    ".venv/bin/python bench/run_all.py": "runs every benchmark, for many minutes",
    "pyenv ": "builds a Python from source",
    "python3.13 ": "needs a Python 3.13",
}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, counted from 1
    lang: str
    kind: str  # the info string's words after the first
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks; a block indented under a list item is read without that indentation."""
    found, lines, at = [], page.read_text().split("\n"), 0
    while at < len(lines):
        opening = re.match(r"^( *)```(\S*)[ \t]*(.*?)\s*$", lines[at])
        if not opening:
            at += 1
            continue
        indent, body, end = len(opening[1]), [], at + 1
        while not re.match(rf"^ {{{indent}}}```\s*$", lines[end]):
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        found.append(Block(page, at + 1, opening[2], opening[3], "\n".join(body) + "\n"))
        at = end + 1
    return found


def commands(block: Block) -> list[str]:
    """Its commands: continued lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    return [line.strip() for line in joined.split("\n") if line.strip() and not line.strip().startswith("#")]


# -- claims ---------------------------------------------------------------------------------------------

def _line_pattern(line: str) -> str:
    if line.strip() == "…":
        return r"(?:[^\n]*\n)*?"
    return "[^\n]*?".join(re.escape(piece) for piece in line.split("…")) + "\n"


def matches(expected: str, actual: str, excerpt: bool = False) -> bool:
    """``actual`` is ``expected`` (or for an excerpt holds it as whole lines), ``…`` standing for any text."""
    pattern = "".join(_line_pattern(line) for line in expected.rstrip("\n").split("\n"))
    actual = actual.replace("\r\n", "\n").rstrip("\n") + "\n"
    if excerpt:
        return re.search("(?m)^" + pattern, actual) is not None
    return re.fullmatch(pattern, actual) is not None


def json_matches(expected, actual) -> bool:
    if expected == "…":
        return True
    if isinstance(expected, str) and "…" in expected:  # here … stands for any text, line breaks included
        pattern = ".*?".join(re.escape(piece) for piece in expected.split("…"))
        return isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL) is not None
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(json_matches(expected[k], actual[k]) for k in expected))
    if isinstance(expected, list) and expected[-1:] == ["…"]:  # the first items, then any more
        return (isinstance(actual, list) and len(actual) >= len(expected) - 1
                and all(json_matches(e, a) for e, a in zip(expected[:-1], actual)))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(json_matches(e, a) for e, a in zip(expected, actual)))
    return expected == actual


# -- running a page -------------------------------------------------------------------------------------

class Page:
    """A page's examples, run in order in a directory of their own; ``problems`` collects what is false."""

    def __init__(self, page: Path, directory: Path, request: pytest.FixtureRequest):
        self.page, self.directory, self.request = page, directory, request
        self.problems: list[str] = []
        shutil.copytree(REPO / "examples", directory / "examples")
        (directory / ".venv" / "bin").mkdir(parents=True)
        (directory / "bin").mkdir()
        self.shim(directory / ".venv" / "bin" / "python", f'exec "{sys.executable}" "$@"')
        self.shim(directory / "bin" / "curl", f'exec "{shutil.which("curl")}" -sS --fail-with-body "$@"')
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "PATH": f"{directory / 'bin'}:{os.environ['PATH']}"}

    @staticmethod
    def shim(path: Path, line: str) -> None:
        path.write_text(f"#!/bin/sh\n{line}\n")
        path.chmod(0o755)

    def fail(self, block: Block, message: str) -> None:
        self.problems.append(f"{block}: {message if len(message) < 3000 else message[:3000] + ' [...]'}")

    def run(self, args: list[str], env: dict[str, str] | None = None, merged: bool = False
            ) -> subprocess.CompletedProcess:
        """``merged``: standard error goes into standard output, in the order they were written."""
        return subprocess.run(args, check=False, cwd=self.directory, env=env or self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if merged else subprocess.PIPE, text=True, timeout=300)

    def usermapper(self, *args: str) -> subprocess.CompletedProcess:
        """The command line on ``lab.yaml``; a run that writes also writes the credentials sheet (random
        passwords stored only as hashes are refused without one)."""
        sheet = ("--credentials", "passwords.csv") if "-o" in args and "--credentials" not in args else ()
        return self.run([sys.executable, "-m", "usermapper", "-i", "lab.yaml", *args, *sheet])

    def check(self) -> None:
        subject, subject_output = None, None
        for block in blocks(self.page):
            if block.lang == "yaml":
                subject = block
                (self.directory / "lab.yaml").write_text(block.text)
                self.config(block, self.claims_about(block))
            elif block.lang == "sh":
                subject = block
                subject_output = self.run_commands(block)
            elif block.lang in ("text", "xml", "csv", "json"):
                if subject is None:
                    self.fail(block, "a claim with no config or commands above it")
                elif subject.lang == "yaml":
                    self.config_claim(block)
                elif subject_output is None:
                    self.fail(block, "a claim about commands that are not run")
                else:
                    self.commands_claim(block, subject_output)
            elif block.lang:
                self.fail(block, f"a block of unknown kind {block.lang!r}: use yaml, sh, text, xml, csv or json")

    def claims_about(self, config: Block) -> list[Block]:
        page = blocks(self.page)
        after = page[page.index(config) + 1:]
        claims = []
        for block in after:
            if block.lang not in ("text", "xml", "csv", "json"):
                break
            claims.append(block)
        return claims

    # a config, and what is claimed of it

    def config(self, block: Block, claims: list[Block]) -> None:
        kinds = {(c.lang, c.kind) for c in claims}
        if ("text", "refused") in kinds:
            return  # the claim compares the refusal
        done = self.usermapper("-o", "user-mapping.xml", "-q")
        if done.returncode != 0:
            self.fail(block, f"the config is refused:\n{done.stderr}")
        elif done.stderr and ("text", "warnings") not in kinds:
            self.fail(block, f"the config gives warnings the page does not show:\n{done.stderr}")

    def config_claim(self, claim: Block) -> None:
        kind = (claim.lang, claim.kind)
        if kind == ("text", "check"):
            done, status, actual = (d := self.usermapper("--check")), 0, d.stdout
        elif kind == ("text", "warnings"):
            done, status, actual = (d := self.usermapper("-o", "user-mapping.xml", "-q")), 0, d.stderr
        elif kind == ("text", "refused"):
            done, status, actual = (d := self.usermapper("-o", "user-mapping.xml")), 2, d.stderr
        elif kind in (("xml", ""), ("xml", "excerpt")):
            done, status, actual = (d := self.usermapper("-o", "-", "-q")), 0, d.stdout
        elif kind in (("csv", "import"), ("json", "import")):
            done, status = self.usermapper("-o", "-", "-q", "--format", f"import-{claim.lang}"), 0
            actual = done.stdout
        elif kind == ("csv", ""):
            done, status = self.usermapper("-o", "user-mapping.xml", "-q"), 0
            actual = (self.directory / "passwords.csv").read_text() if done.returncode == 0 else ""
        else:
            self.fail(claim, f"a claim about a config must be text check, text warnings, text refused, xml, "
                             f"xml excerpt, csv, csv import or json import, not {' '.join(kind).strip()!r}")
            return
        if done.returncode != status:
            self.fail(claim, f"exit status {done.returncode}, not {status}:\n{done.stderr}")
        elif not matches(claim.text, actual, excerpt=claim.kind == "excerpt"):
            self.fail(claim, f"the page says\n{claim.text}but the config gives\n{actual}")

    # commands, and what is claimed of them

    def run_commands(self, block: Block) -> str | None:
        """Runs the block (or checks what it names, when it is not run); returns what it printed."""
        lines = commands(block)
        not_run = [any(line.startswith(start) for start in NOT_RUN) for line in lines]
        if all(not_run):
            self.not_run(block, lines)
            return None
        if any(not_run):
            self.fail(block, "mixes commands that are run with commands that are not: split the block")
            return None
        script, env = block.text, dict(self.env)
        if APP in script:
            url = self.request.getfixturevalue("app_url")
            script = script.replace(f"http://{APP}", url).replace(APP, url.removeprefix("http://"))
        if re.search(r"^\s*psql\b", script, re.MULTILINE):
            env.update(self.request.getfixturevalue("guacamole_db"))
        done = self.run(["bash", "-euo", "pipefail", "-c", script], env=env, merged=True)
        if done.returncode != 0:
            self.fail(block, f"exit status {done.returncode}:\n{done.stdout}")
        return done.stdout

    def not_run(self, block: Block, lines: list[str]) -> None:
        """Each repository path a command names exists; each setting it sets is one infra/ knows."""
        infra = "\n".join(p.read_text() for p in (REPO / "infra").rglob("*") if p.is_file())
        for line in lines:
            for word in re.findall(r"[^\s'\"]+", line.split(" #")[0]):
                path = word.split("=")[-1]
                if re.fullmatch(r"(scripts|bench|infra|tools|usermapper)/[\w./-]+", path):
                    if not (REPO / path).exists():
                        self.fail(block, f"{path} does not exist")
                    elif path.startswith("scripts/") and not os.access(REPO / path, os.X_OK):
                        self.fail(block, f"{path} is not executable")
            words = shlex.split(line.split(" #")[0], comments=True)
            settings = [w.split("=")[0] for w in words if re.match(r"[A-Za-z][A-Za-z0-9_]*=", w)]
            settings += re.findall(r"azd env (?:set|get-value) (\w+)", line)
            for name in settings:
                if name not in infra:
                    self.fail(block, f"names the setting {name}, which nothing in infra/ sets or reads")

    def commands_claim(self, claim: Block, output: str) -> None:
        if (claim.lang, claim.kind) == ("text", ""):
            if not matches(claim.text, output):
                self.fail(claim, f"the page says\n{claim.text}but the commands print\n{output}")
        elif (claim.lang, claim.kind) == ("json", ""):
            try:
                actual = json.loads(output)
            except ValueError:
                self.fail(claim, f"the commands print no JSON:\n{output}")
                return
            if not json_matches(json.loads(claim.text), actual):
                self.fail(claim, f"the page says\n{claim.text}but the commands print\n{output}")
        elif claim.lang == "xml" and claim.kind in ("", "excerpt"):
            written = self.directory / "user-mapping.xml"
            actual = written.read_text() if written.exists() else "(no user-mapping.xml)"
            if not matches(claim.text, actual, excerpt=claim.kind == "excerpt"):
                self.fail(claim, f"the page says\n{claim.text}but the commands wrote\n{actual}")
        else:
            self.fail(claim, "a claim about commands must be text, json, xml or xml excerpt")


@pytest.fixture(scope="module")
def guacamole_db():
    """A PostgreSQL with Guacamole's user tables in ``guacamole_db``; the environment that reaches it."""
    from databases import PostgreSQL
    from test_password_scripts import POSTGRESQL_SCHEMA

    with PostgreSQL() as server:
        server.psql("CREATE DATABASE guacamole_db")
        env = {"PGHOST": "127.0.0.1", "PGPORT": str(server.port), "PGUSER": "postgres"}
        done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "guacamole_db"], check=False,
                              input=POSTGRESQL_SCHEMA, text=True, capture_output=True, env={**os.environ, **env})
        assert done.returncode == 0, done.stderr
        yield env


# Pages whose commands call the app run once per host the app runs under (conftest.py's served_by).
APP_PAGES = [page for page in PAGES if APP in page.read_text()]


@pytest.mark.parametrize("page", [p for p in PAGES if p not in APP_PAGES], ids=lambda p: str(p.relative_to(REPO)))
def test_every_config_and_command_on_the_page_does_what_the_page_says(page, tmp_path, request):
    assert_the_page_is_true(Page(page, tmp_path, request))


@pytest.mark.parametrize("page", APP_PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_config_and_command_on_a_page_that_calls_the_app_does_what_it_says(page, tmp_path, request, app_url):
    assert_the_page_is_true(Page(page, tmp_path, request))


def assert_the_page_is_true(checked: Page) -> None:
    checked.check()
    assert not checked.problems, "\n\n".join(checked.problems)


# -- what particular examples say -------------------------------------------------------------------------

def first(page: str, lang: str) -> Block:
    return next(b for b in blocks(REPO / page) if b.lang == lang)


def test_the_config_pages_example_is_valid_and_does_what_its_comments_say():
    lab = read_config(first("docs/config.md", "yaml").text)
    assert lab.warnings == ()
    mapping = expand(lab)
    trainers, students = mapping.groups
    assert [u.username for u in students.users] == [f"student{n:02d}" for n in range(1, 13)]
    assert {u.encoding for u in students.users} == {"sha256"}
    assert {len(u.password) for u in students.users} == {14}
    assert [c.name for c in students.connections] == ["WS1", "WS2", "WS3"]
    assert [dict(c.parameters)["hostname"] for c in students.connections] == [
        "192.168.50.21", "192.168.50.22", "192.168.50.23"]
    assert [c.name for c in trainers.connections] == ["WS1", "WS2", "WS3", "R01", "R02"]
    assert trainers.users[0].password == "Lab-Trainer-2026"


def test_the_command_line_examples_work_when_pasted_in_order(tmp_path):
    """Run in a copy of the checkout's examples, with `.venv/bin/python` standing for this interpreter."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    Page.shim(tmp_path / ".venv" / "bin" / "python", f'exec "{sys.executable}" "$@"')
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", first("docs/cli.md", "sh").text], check=False,
                            cwd=tmp_path, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    written = (tmp_path / "user-mapping.xml").read_bytes()
    assert (tmp_path / "copy.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert len(guacamole_reader.read(written)) == 13
    assert (tmp_path / "passwords.csv").stat().st_mode & 0o777 == 0o600
    assert "usermapper: wrote 20,314 bytes to user-mapping.xml" in result.stderr.decode()


def section(text: str, heading: str) -> str:
    start = re.search(rf"^#+ {re.escape(heading)}\n", text, re.MULTILINE).start()
    following = re.compile(r"^#+ ", re.MULTILINE).search(text, start + 1)
    return text[start:following.start() if following else len(text)]


def test_the_page_guide_says_what_the_readme_and_the_guacamole_page_say():
    """static/guacamole-server.html repeats the README's section for the page, and docs/guacamole.md's
    fuller one: each point, in order."""
    page = (REPO / "static" / "guacamole-server.html").read_text()
    leads = re.findall(r"<li><strong>(.+?)</strong>", page)
    assert len(leads) == 5
    for text in (README, (REPO / "docs" / "guacamole.md").read_text()):
        guide = section(text, "Putting the file on your Guacamole server")
        assert re.findall(r"^- \*\*(.+?)\*\*", guide, re.MULTILINE) == leads
        for fact in ("GUACAMOLE_HOME", "/etc/guacamole", "modification time", "atomically", "until they log out"):
            assert fact in page and fact in guide


# -- the pages as a whole -----------------------------------------------------------------------------------

def test_the_readme_is_a_short_guide_that_links_every_page():
    assert len(README.split("\n")) <= 160
    for page in (REPO / "docs").glob("*.md"):
        assert f"](docs/{page.name})" in README, f"the README does not link {page.name}"
    for script in ("start", "test"):  # the two commands, as README.md has always written them
        assert re.search(rf"^scripts/{script}\s+# ", README, re.MULTILINE)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", [*PAGES, REPO / "examples" / "README.md"], ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_and_path_the_page_names_exists(page):
    text = page.read_text()
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            missing.append(f"link {target}")
        elif anchor and linked.suffix == ".md":
            anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)}
            if anchor not in anchors:
                missing.append(f"anchor {target}")
    for path in re.findall(r"`((?:usermapper|tools|static|tests|bench|infra|examples|scripts|docs|\.ci|\.github)"
                           r"/[\w./-]*|[\w.-]+\.(?:py|json|yaml|toml|txt|bicep))`", text):
        if "/" in path and not (REPO / path).exists():
            missing.append(f"path {path}")
        elif "/" not in path and path not in repository_file_names() and path not in NOT_REPO_FILES:
            missing.append(f"file {path}")
    assert not missing, f"{page.relative_to(REPO)} names what does not exist: {', '.join(missing)}"


# File names the pages give that are not files of the repository: what commands write, and examples.
NOT_REPO_FILES = {"lab.yaml", "copy.xml", "guacamole-import.json", "guacamole-import.yaml", "config.yaml"}


def repository_file_names() -> set[str]:
    names = set()
    for root, directories, files in os.walk(REPO):
        directories[:] = [d for d in directories if d not in (".git", ".venv", ".venv313", ".venv-infra",
                                                              "node_modules", "__pycache__", ".azurite")]
        names.update(files)
    return names


def test_the_files_the_examples_write_into_a_checkout_are_ignored_as_the_api_page_says():
    said = re.search(r"Files these examples create in the checkout \(([^)]*)\)", (REPO / "docs" / "http-api.md")
                     .read_text())[1]
    names = re.findall(r"`([^`]+)`", said)
    assert names
    for ignore in (".gitignore", ".funcignore"):
        listed = {line.strip().lstrip("/") for line in (REPO / ignore).read_text().splitlines()}
        assert set(names) <= listed, f"{ignore} lacks {set(names) - listed}"


def test_the_architecture_pages_map_of_the_modules_is_the_code():
    """Every module the map names exists where it says, and every module of the package is on the map."""
    picture = next(b.text for b in blocks(REPO / "docs" / "architecture.md") if "usermapper/" in b.text
                   and not b.lang)
    named, folders = set(), []
    for line in picture.split("\n"):
        if not line.strip():
            continue
        depth, entry = (len(line) - len(line.lstrip())) // 2, line.split()[0].rstrip(",")
        folders = folders[:depth]
        if entry.endswith("/"):
            folders.append(entry)
        elif entry.endswith(".py"):
            named.add("".join(folders) + entry)
    assert named, "no modules found on the map"
    assert not {n for n in named if not (REPO / n).exists()}, "the map names modules that do not exist"
    modules = {str(p.relative_to(REPO)) for p in (REPO / "usermapper").rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")}
    assert modules <= named, f"modules missing from the map: {sorted(modules - named)}"


def test_every_setting_the_app_reads_is_on_the_settings_page_and_no_other():
    code = "\n".join(p.read_text() for p in [REPO / "function_app.py", *(REPO / "usermapper").rglob("*.py")])
    page = (REPO / "docs" / "settings.md").read_text()
    read = set(re.findall(r"\b(USERMAPPER_[A-Z_]*[A-Z])\b", code))
    listed = set(re.findall(r"^\| `(USERMAPPER_[A-Z_]+)`", page, re.MULTILINE))
    assert read and read == listed
