"""The package as a user installs it: ``pip install .`` into a fresh virtualenv gives the ``usermapper``
command, with every subpackage of the layout (pyproject.toml lists them by pattern, so a new one is not
left out)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pip_install_gives_a_command_that_writes_every_format(tmp_path):
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "usermapper", source / "usermapper", ignore=shutil.ignore_patterns("__pycache__"))
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
                               capture_output=True, timeout=600)
    assert installed.returncode == 0, installed.stderr.decode()

    work = tmp_path / "work"
    work.mkdir()
    example = ROOT / "examples" / "pods.yaml"
    run = subprocess.run([environment / "bin" / "usermapper", "-i", str(example), "-o", "user-mapping.xml",
                          "--credentials", "credentials.csv"], cwd=work, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    assert (work / "user-mapping.xml").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert run.stderr.decode().startswith("usermapper: wrote ")
    same = subprocess.run([sys.executable, "-m", "usermapper", "-i", str(example), "--check"], capture_output=True,
                          cwd=ROOT, timeout=60)
    installed_check = subprocess.run([python, "-m", "usermapper", "-i", str(example), "--check"], capture_output=True,
                                     cwd=work, timeout=60)
    assert installed_check.returncode == 0 and installed_check.stdout == same.stdout
    for format_ in ("import-json", "import-yaml", "import-csv"):
        imported = subprocess.run([environment / "bin" / "usermapper", "-i", str(example), "-o", "-", "--format",
                                   format_, "--credentials", f"{format_}.csv", "-q"], cwd=work, capture_output=True, timeout=60)
        assert imported.returncode == 0 and imported.stdout, imported.stderr.decode()
    where = subprocess.run([python, "-c", "import usermapper; print(usermapper.__file__)"], capture_output=True,
                           cwd=work, timeout=60)
    package = Path(where.stdout.decode().strip()).parent
    assert environment in package.parents, where.stderr.decode()
    source_modules = {p.relative_to(ROOT / "usermapper") for p in (ROOT / "usermapper").rglob("*.py")}
    assert {p.relative_to(package) for p in package.rglob("*.py")} == source_modules  # web/ too (its extra: [web])
