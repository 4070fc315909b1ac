"""The README is true: its config example does what its comments say, its commands work as pasted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import guacamole_reader
from usermapper.config import read_config
from usermapper.expand import expand

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def readme_config() -> str:
    return re.search(r"```yaml\n(.*?)```", README, re.DOTALL).group(1)


def test_the_readme_config_example_is_valid_and_does_what_its_comments_say():
    lab = read_config(readme_config())
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


def section(heading: str) -> str:
    start = README.index(f"## {heading}\n")
    return README[start : README.index("\n## ", start + 1)]


def test_the_command_line_examples_work_when_pasted_in_order(tmp_path):
    """Run in a copy of the checkout's examples, with `.venv/bin/python` standing for this interpreter."""
    commands = re.search(r"```sh\n(.*?)```", section("Command line"), re.DOTALL).group(1)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=tmp_path, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    written = (tmp_path / "user-mapping.xml").read_bytes()
    assert (tmp_path / "copy.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert len(guacamole_reader.read(written)) == 13
    assert (tmp_path / "passwords.csv").stat().st_mode & 0o777 == 0o600
    assert "usermapper: wrote 20,314 bytes to user-mapping.xml" in result.stderr.decode()


def test_the_page_guide_says_what_the_readme_section_says():
    """static/guacamole-server.html repeats the README's section for the page: each point, in order."""
    leads = re.findall(r"^- \*\*(.+?)\*\*", section("Putting the file on your Guacamole server"), re.MULTILINE)
    page = (REPO / "static" / "guacamole-server.html").read_text()
    assert leads == re.findall(r"<li><strong>(.+?)</strong>", page) and len(leads) == 5
    for fact in ("GUACAMOLE_HOME", "/etc/guacamole", "modification time", "atomically", "until they log out"):
        assert fact in page and fact in README
