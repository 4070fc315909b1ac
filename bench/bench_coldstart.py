"""Cold start: the cost of importing ``function_app`` in a fresh interpreter, and what it is made of.

Three commands run as fresh processes (cwd the repo root), interleaved, ``--runs`` times each after one
unmeasured run that writes the bytecode caches: a bare interpreter (``pass``), ``import azure.functions``
(the Functions library itself), and ``import azure.functions`` then ``import function_app``. Each process
is timed from outside (start to exit), and the last one also times its two imports from inside, which
splits the Functions library's cost from what our code adds. The same split is measured once more with
our own files compiled from source (no ``__pycache__`` for them, as in a read-only deployment built
without caches: ``.funcignore`` leaves ``__pycache__/`` out). One ``-X importtime`` run then lists the
third-party modules our code imports and what each costs. Figures are medians.

The command line's start is measured the same way: ``python -X importtime -c "import usermapper.cli"`` in
fresh processes, the cumulative time of ``usermapper.cli`` in that report (the figure the target is set
in), with our files' bytecode compiled (as ``pip install`` leaves them) and compiled from source (a
checkout under ``PYTHONDONTWRITEBYTECODE=1``, as these machines set it).

    .venv/bin/python bench/bench_coldstart.py [--runs 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("function_app", "usermapper")
SPLIT = ("import time; t0 = time.perf_counter(); import azure.functions; t1 = time.perf_counter(); "
         "import function_app; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
COMMANDS = {"bare interpreter": "pass", "import azure.functions": "import azure.functions",
            "import azure.functions, function_app": SPLIT}
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
TOP_IMPORTS = 12
CLI_IMPORT = "import usermapper.cli"
# What the command line cannot do without, measured beside it: its argument parser and its YAML parser.
CLI_FLOOR_IMPORT = "import argparse, yaml"
TARGET_OURS_IMPORT_MS = 50  # what importing function_app may add to importing azure.functions
TARGET_CLI_IMPORT_MS = 40  # python -X importtime -c "import usermapper.cli", cumulative


def run(code: str, env: dict, *options: str) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``python [options] -c code`` in the repo root; its wall time (s) and the finished process."""
    begin = time.perf_counter()
    finished = subprocess.run([sys.executable, *options, "-c", code], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60, check=True)
    return time.perf_counter() - begin, finished


def cached_environment() -> dict:
    """The environment with bytecode caches allowed (this machine's shell sets PYTHONDONTWRITEBYTECODE)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}


def measure(runs: int) -> dict:
    env = cached_environment()
    for code in COMMANDS.values():
        run(code, env)
    walls: dict[str, list[float]] = {label: [] for label in COMMANDS}
    functions_import, ours_import = [], []
    for _ in range(runs):
        for label, code in COMMANDS.items():
            wall, finished = run(code, env)
            walls[label].append(wall)
            if code == SPLIT:
                first, second = map(float, finished.stdout.split())
                functions_import.append(first)
                ours_import.append(second)
    return {
        "process_ms": {label: statistics.median(values) * 1000 for label, values in walls.items()},
        "functions_import_ms": statistics.median(functions_import) * 1000,
        "ours_import_ms": statistics.median(ours_import) * 1000,
    }


def measure_uncached(runs: int) -> dict:
    """The in-process split, and the command line's import, with every module's bytecode cached except
    our own files.

    Caches go to a private prefix directory (``-X pycache_prefix``), filled by one run; then the part of
    it that holds our files' caches is removed and nothing more is written, so they compile every time.
    """
    prefix = Path(tempfile.mkdtemp(prefix="coldstart-pycache-"))
    try:
        env = cached_environment()
        options = ("-X", f"pycache_prefix={prefix}")
        run(SPLIT, env, *options)
        run(CLI_IMPORT, env, *options)
        mirror = prefix / ROOT.relative_to(ROOT.anchor)  # also holds the caches of .venv, which stay
        shutil.rmtree(mirror / "usermapper")
        for cache in mirror.glob("function_app.*.pyc"):
            cache.unlink()
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        ours, cli = [], []
        for _ in range(runs):
            ours.append(float(run(SPLIT, env, *options)[1].stdout.split()[1]))
            cli.append(cli_import_ms(env, *options))
    finally:
        shutil.rmtree(prefix)
    return {"ours_import_uncached_ms": statistics.median(ours) * 1000,
            "cli_import_uncached_ms": statistics.median(cli)}


def measure_cli(runs: int) -> dict:
    """``import usermapper.cli`` as ``-X importtime`` reports it, our bytecode compiled (the first run
    writes it)."""
    env = cached_environment()
    cli_import_ms(env)
    ours, floor = [], []
    for _ in range(runs):  # interleaved, so that a drift in the machine's speed moves both
        ours.append(cli_import_ms(env))
        floor.append(cli_floor_import_ms(env))
    return {"cli_import_ms": statistics.median(ours), "cli_floor_import_ms": statistics.median(floor)}


def cli_import_ms(env: dict, *options: str) -> float:
    """The cumulative import time of ``usermapper.cli`` in one fresh ``-X importtime`` process (ms)."""
    _, finished = run(CLI_IMPORT, env, *options, "-X", "importtime")
    return next(node.cumulative_us for node in import_tree(finished.stderr) if node.name == "usermapper.cli") / 1000


def cli_floor_import_ms(env: dict) -> float:
    """The cumulative import time of argparse and PyYAML alone in one fresh ``-X importtime`` process (ms)."""
    _, finished = run(CLI_FLOOR_IMPORT, env, "-X", "importtime")
    return sum(node.cumulative_us for node in import_tree(finished.stderr) if node.name in ("argparse", "yaml")) / 1000


@dataclass
class Node:
    name: str
    self_us: int
    cumulative_us: int
    children: list["Node"] = field(default_factory=list)


def import_tree(stderr: str) -> list[Node]:
    """The top-level imports of an ``-X importtime`` report, with their subtrees.

    The report lists each module after the modules it imported, indented one level deeper (two spaces).
    """
    pending: list[tuple[int, Node]] = []
    for match in IMPORTTIME_LINE.finditer(stderr):
        depth = len(match[3]) // 2
        node = Node(match[4], int(match[1]), int(match[2]))
        while pending and pending[-1][0] > depth:
            node.children.insert(0, pending.pop()[1])
        pending.append((depth, node))
    return [node for _, node in pending]


def is_ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def our_import_costs() -> dict:
    """What importing function_app after azure.functions imports: our own modules' self time, and each
    third-party (or standard-library) module one of our modules imports directly, with its subtree."""
    _, finished = run("import azure.functions; import function_app", cached_environment(), "-X", "importtime")
    app = next(node for node in import_tree(finished.stderr) if node.name == "function_app")
    own_us, imported = 0, []

    def visit(node: Node) -> None:
        nonlocal own_us
        own_us += node.self_us
        for child in node.children:
            if is_ours(child.name):
                visit(child)
            else:
                imported.append({"module": child.name, "imported_by": node.name,
                                 "cumulative_ms": child.cumulative_us / 1000})

    visit(app)
    imported.sort(key=lambda entry: -entry["cumulative_ms"])
    return {"function_app_cumulative_ms": app.cumulative_us / 1000, "our_modules_self_ms": own_us / 1000,
            "top_imports": imported[:TOP_IMPORTS]}


def main() -> int:
    arguments = parser().parse_args()
    began = time.perf_counter()
    result = {"runs": arguments.runs, **measure(arguments.runs), **measure_uncached(arguments.runs),
              **measure_cli(arguments.runs), "importtime": our_import_costs()}
    result["targets"] = {"ours_import_ms": TARGET_OURS_IMPORT_MS, "cli_import_ms": TARGET_CLI_IMPORT_MS}
    result["wall_seconds"] = time.perf_counter() - began
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    return 0


def report(result: dict) -> None:
    print(f"medians of {result['runs']} fresh processes")
    for label, ms in result["process_ms"].items():
        print(f"  {label:<40} {ms:7.1f} ms  (process start to exit)")
    print(f"  import azure.functions, in process        {result['functions_import_ms']:7.1f} ms")
    print(f"  then import function_app, in process      {result['ours_import_ms']:7.1f} ms")
    print(f"  ... with our files compiled from source   {result['ours_import_uncached_ms']:7.1f} ms")
    print(f"  target: at most +{TARGET_OURS_IMPORT_MS} ms with bytecode compiled: "
          f"{verdict(result['ours_import_ms'] <= TARGET_OURS_IMPORT_MS)}")
    print(f"python -X importtime -c '{CLI_IMPORT}', cumulative, medians of {result['runs']}:")
    print(f"  our bytecode compiled (as pip installs it) {result['cli_import_ms']:7.1f} ms  (target <= "
          f"{TARGET_CLI_IMPORT_MS} ms: {verdict(result['cli_import_ms'] <= TARGET_CLI_IMPORT_MS)})")
    print(f"  our files compiled from source            {result['cli_import_uncached_ms']:7.1f} ms")
    print(f"  '{CLI_FLOOR_IMPORT}' alone, the same runs   {result['cli_floor_import_ms']:7.1f} ms (what the command "
          f"line cannot do without; ours adds {result['cli_import_ms'] - result['cli_floor_import_ms']:.1f} ms)")
    costs = result["importtime"]
    print(f"-X importtime (inflated by its own bookkeeping): function_app {costs['function_app_cumulative_ms']:.1f} "
          f"ms, of which our modules' own code {costs['our_modules_self_ms']:.1f} ms; largest imports:")
    for entry in costs["top_imports"]:
        print(f"  {entry['cumulative_ms']:6.1f} ms  {entry['module']:<36} imported by {entry['imported_by']}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per command (default 10)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    sys.exit(main())
