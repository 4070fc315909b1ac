"""The README's config example is a real lab that does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

from usermapper.config import read_config
from usermapper.expand import expand

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


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
