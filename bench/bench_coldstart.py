"""Cold start: how long a fresh worker takes to give its first answer, and the command line's import.

The Functions app, as a user meets it after a cold start: a fresh interpreter imports ``function_app`` (as
the worker does when it indexes the functions), then answers the first request, the page's function
called as the worker calls it (``app.get_functions()``, its user function) with an
``azure.functions.HttpRequest`` for ``GET http://localhost:7071/`` (the page needs no storage; the
settings resolve from ``AzureWebJobsStorage=UseDevelopmentStorage=true``). Each process is timed from the
moment before it is started to the moment it holds the answer (``time.monotonic``, one clock for every
process on Linux): the interpreter's start, every import, building the app and the first answer, not the
process's exit. Measured beside it in the same run, in fresh processes, interleaved round by round (the
order rotating), after one unmeasured run of each that writes the bytecode caches:

- the floor: ``import azure.functions`` alone, which no Functions app in Python can start without (and a
  bare interpreter, for information);
- before: the same first answer from the code as it was before the package was reorganised (``BEFORE``,
  exported with ``git archive`` to a temporary directory), whose ``function_app`` imported only the
  Functions library at indexing and the web layer on the first request.

Target: the first answer no slower than before by more than noise: the median over rounds of (ours -
before), each round's pair taken together, at most the interquartile range of before's own times in
this run. With our files compiled from source (no ``__pycache__`` for them, as ``.funcignore`` deploys
them), ours and before are measured the same way, for information. One ``-X importtime`` run of our first
answer then lists the modules our code imports and what each costs.

The command line, for information (it has no target): ``python -X importtime -c "import usermapper.cli"``
in fresh processes, the cumulative time of ``usermapper.cli`` in that report, with our bytecode compiled
(as ``pip install`` leaves it) and compiled from source (a checkout under ``PYTHONDONTWRITEBYTECODE=1``),
beside ``import argparse, yaml`` alone (what it cannot do without), interleaved.

    .venv/bin/python bench/bench_coldstart.py [--runs 10] [--before REV] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("function_app", "usermapper")
# The last commit before the package was reorganised (usermapper/lab, outputs, web), when function_app
# imported the web layer on the first request; what the app needs of it to answer.
BEFORE = "ff2dd54"
APP_FILES = ("function_app.py", "usermapper", "static")
# Each measured process prints, when it is done, time.monotonic() and its CPU time, then what it answered.
BARE = "import time; print(time.monotonic(), time.process_time())"
FLOOR = "import time; import azure.functions; print(time.monotonic(), time.process_time())"
FIRST_ANSWER = """\
import time
import azure.functions as func  # the worker's own import, before it indexes the app
import function_app

page = next(f for f in function_app.app.get_functions() if f.get_function_name() == "page").get_user_function()
response = page(func.HttpRequest(method="GET", url="http://localhost:7071/",
                                 headers={"host": "localhost:7071", "accept": "text/html"}, body=b""))
answered, cpu = time.monotonic(), time.process_time()
print(answered, cpu, response.status_code, len(response.get_body()))
"""
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
TOP_IMPORTS = 12
CLI_IMPORT = "import usermapper.cli"
# What the command line cannot do without, measured beside it: its argument parser and its YAML parser.
CLI_FLOOR_IMPORT = "import argparse, yaml"


def environment() -> dict:
    """This environment with bytecode caches allowed (this machine's shell sets PYTHONDONTWRITEBYTECODE),
    nothing on PYTHONPATH (each app is imported from its own directory), and the app's settings replaced by
    the one it needs to build itself: storage on Azurite, which answering the page never calls."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH")
           and not k.startswith(("USERMAPPER_", "AzureWebJobs", "FUNCTIONS_"))}
    return {**env, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def run(code: str, cwd: Path, env: dict, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *options, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, check=True)


def until_done_ms(code: str, cwd: Path, env: dict, *options: str) -> tuple[float, float]:
    """Start ``python -c code`` in ``cwd``: the wall time from just before its start to the moment it was
    done, and the CPU time it had used by then (ms). A first answer must be a 200 with a body."""
    begin = time.monotonic()
    finished = run(code, cwd, env, *options)
    done, cpu, *answer = finished.stdout.split()
    if answer and (answer[0] != "200" or int(answer[1]) == 0):
        raise RuntimeError(f"the first answer in {cwd} was {answer}, not a 200 with a body")
    return (float(done) - begin) * 1000, float(cpu) * 1000


def export(revision: str, directory: Path) -> bool:
    """The app's files at ``revision`` written into ``directory``; False if this checkout cannot give them."""
    archive = subprocess.run(["git", "archive", "--format=tar", revision, *APP_FILES], cwd=ROOT, check=False,
                             capture_output=True)
    if archive.returncode != 0:
        print(f"before ({revision}) not measured: {archive.stderr.decode(errors='replace').strip()}",
              file=sys.stderr)
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(directory, filter="data")
    return True


@dataclass
class Command:
    """One measured process: its code, its directory, and whether our files' bytecode is cached."""

    code: str
    cwd: Path
    compiled: bool = True
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)


def measure_first_answer(runs: int, before: Path | None, prefix: Path) -> dict:
    """Every command's times, interleaved round by round with the order rotating.

    Compiled: caches as usual, written by one unmeasured run. From source: caches in a private prefix
    directory (``-X pycache_prefix``), filled by one run; then the part of it holding our files' caches is
    removed and nothing more is written, so they compile every time while the libraries' stay cached.
    """
    env = environment()
    commands = {"bare interpreter": Command(BARE, ROOT), "floor": Command(FLOOR, ROOT),
                "ours": Command(FIRST_ANSWER, ROOT), "ours, from source": Command(FIRST_ANSWER, ROOT, False)}
    if before is not None:
        commands["before"] = Command(FIRST_ANSWER, before)
        commands["before, from source"] = Command(FIRST_ANSWER, before, False)
    prefixed = ("-X", f"pycache_prefix={prefix}")
    for command in commands.values():
        run(command.code, command.cwd, env, *(() if command.compiled else prefixed))
    for command in commands.values():
        if not command.compiled:
            mirror = prefix / command.cwd.relative_to(command.cwd.anchor)  # also holds .venv's caches, which stay
            shutil.rmtree(mirror / "usermapper", ignore_errors=True)
            for cache in mirror.glob("function_app.*.pyc"):
                cache.unlink()
    from_source_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    order = list(commands.values())
    for round_ in range(runs):
        for command in order[round_ % len(order):] + order[:round_ % len(order)]:
            if command.compiled:
                wall, cpu = until_done_ms(command.code, command.cwd, env)
            else:
                wall, cpu = until_done_ms(command.code, command.cwd, from_source_env, *prefixed)
            command.times.append(wall)
            command.cpu_times.append(cpu)
    return {label: (command.times, command.cpu_times) for label, command in commands.items()}


def first_answer_figures(measured: dict[str, tuple[list[float], list[float]]]) -> dict:
    times = {label: wall for label, (wall, _) in measured.items()}
    median = {label: statistics.median(values) for label, values in times.items()}
    cpu_median = {label: statistics.median(cpu) for label, (_, cpu) in measured.items()}
    figures = {"times_ms": times, "median_ms": median, "cpu_median_ms": cpu_median,
               "ours_over_floor_ms": median["ours"] - median["floor"],
               "ours_from_source_over_floor_ms": median["ours, from source"] - median["floor"]}
    if "before" in times:
        q1, _, q3 = statistics.quantiles(times["before"], n=4, method="inclusive")
        figures.update(
            before_over_floor_ms=median["before"] - median["floor"],
            ours_minus_before_ms=statistics.median(o - b for o, b in zip(times["ours"], times["before"])),
            ours_minus_before_from_source_ms=statistics.median(
                o - b for o, b in zip(times["ours, from source"], times["before, from source"])),
            noise_ms=q3 - q1)
        figures["no_slower_than_before"] = figures["ours_minus_before_ms"] <= figures["noise_ms"]
    return figures


def measure_cli(runs: int, prefix: Path) -> dict:
    """``import usermapper.cli`` as ``-X importtime`` reports it: our bytecode compiled (a first run
    writes it), interleaved with the floor; then our files compiled from source, the libraries' caches
    in ``prefix`` as :func:`measure_first_answer` does it."""
    env = environment()
    cli_import_ms(env)
    ours, floor, uncached = [], [], []
    for _ in range(runs):  # interleaved, so that a drift in the machine's speed moves both
        ours.append(cli_import_ms(env))
        floor.append(cli_floor_import_ms(env))
    prefixed = ("-X", f"pycache_prefix={prefix}")
    run(CLI_IMPORT, ROOT, env, *prefixed)  # the libraries' caches, and ours, removed below
    shutil.rmtree(prefix / ROOT.relative_to(ROOT.anchor) / "usermapper")
    from_source_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(runs):
        uncached.append(cli_import_ms(from_source_env, *prefixed))
    return {"cli_import_ms": statistics.median(ours), "cli_floor_import_ms": statistics.median(floor),
            "cli_import_uncached_ms": statistics.median(uncached)}


def cli_import_ms(env: dict, *options: str) -> float:
    """The cumulative import time of ``usermapper.cli`` in one fresh ``-X importtime`` process (ms)."""
    finished = run(CLI_IMPORT, ROOT, env, *options, "-X", "importtime")
    return next(node.cumulative_us for node in import_tree(finished.stderr) if node.name == "usermapper.cli") / 1000


def cli_floor_import_ms(env: dict) -> float:
    """The cumulative import time of argparse and PyYAML alone in one fresh ``-X importtime`` process (ms)."""
    finished = run(CLI_FLOOR_IMPORT, ROOT, env, "-X", "importtime")
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
    """What our code imports on the way to the first answer: our own modules' self time, and each
    third-party (or standard-library) module one of our modules imports directly, with its subtree."""
    finished = run(FIRST_ANSWER, ROOT, environment(), "-X", "importtime")
    ours = [node for node in import_tree(finished.stderr) if is_ours(node.name)]
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

    for node in ours:
        visit(node)
    imported.sort(key=lambda entry: -entry["cumulative_ms"])
    return {"ours_cumulative_ms": sum(node.cumulative_us for node in ours) / 1000,
            "our_modules_self_ms": own_us / 1000, "top_imports": imported[:TOP_IMPORTS]}


def main() -> int:
    arguments = parser().parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        before = Path(scratch) / "before"
        prefix = Path(scratch) / "pycache"
        before.mkdir()
        exported = export(arguments.before, before)
        times = measure_first_answer(arguments.runs, before if exported else None, prefix)
        result = {"runs": arguments.runs, "before_revision": arguments.before if exported else None,
                  "first_answer": first_answer_figures(times), **measure_cli(arguments.runs, prefix),
                  "importtime": our_import_costs()}
    result["wall_seconds"] = time.perf_counter() - began
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    return 0


def report(result: dict) -> None:
    first = result["first_answer"]
    median, cpu = first["median_ms"], first["cpu_median_ms"]
    before = result["before_revision"]

    def line(label: str, key: str, note: str = "") -> None:
        print(f"  {label:<48} {median[key]:7.1f} ms  {cpu[key]:7.1f} ms  {note}".rstrip())

    print(f"From process start to the first answer (GET /), medians of {result['runs']} fresh processes each, "
          f"interleaved; wall time, and the process's CPU time by then:")
    line("bare interpreter", "bare interpreter")
    line("floor: import azure.functions", "floor")
    line("ours: import function_app, then the first answer", "ours",
         f"ours - floor {first['ours_over_floor_ms']:+.1f} ms")
    if before:
        line(f"before ({before}): the same", "before", f"before - floor {first['before_over_floor_ms']:+.1f} ms")
        print(f"  ours - before, median of the rounds' pairs: {first['ours_minus_before_ms']:+.1f} ms; noise "
              f"(before's interquartile range): {first['noise_ms']:.1f} ms")
        print(f"  target: no slower than before by more than noise: {verdict(first['no_slower_than_before'])}")
    else:
        print("  before: not measured, so no verdict")
    print("Our files compiled from source (no __pycache__, as .funcignore deploys them), for information:")
    line("ours", "ours, from source", f"ours - floor {first['ours_from_source_over_floor_ms']:+.1f} ms")
    if before:
        line(f"before ({before})", "before, from source",
             f"ours - before {first['ours_minus_before_from_source_ms']:+.1f} ms (median of pairs)")
    print(f"python -X importtime -c '{CLI_IMPORT}', cumulative, medians of {result['runs']}, for information:")
    print(f"  our bytecode compiled (as pip installs it)     {result['cli_import_ms']:7.1f} ms")
    print(f"  our files compiled from source                 {result['cli_import_uncached_ms']:7.1f} ms")
    adds = result["cli_import_ms"] - result["cli_floor_import_ms"]
    print(f"  '{CLI_FLOOR_IMPORT}' alone, the same runs   {result['cli_floor_import_ms']:7.1f} ms  (what the "
          f"command line cannot do without; ours adds {adds:.1f} ms)")
    costs = result["importtime"]
    print(f"-X importtime of our first answer (inflated by its own bookkeeping): our modules "
          f"{costs['ours_cumulative_ms']:.1f} ms, of which their own code {costs['our_modules_self_ms']:.1f} ms; "
          f"largest imports:")
    for entry in costs["top_imports"]:
        print(f"  {entry['cumulative_ms']:6.1f} ms  {entry['module']:<36} imported by {entry['imported_by']}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def runs_argument(text: str) -> int:
    runs = int(text)
    if runs < 3:
        raise argparse.ArgumentTypeError("at least 3 (the noise is an interquartile range)")
    return runs


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=runs_argument, default=10, help="fresh processes per command (default 10)")
    parser.add_argument("--before", default=BEFORE, help=f"the revision to compare with (default {BEFORE})")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser


if __name__ == "__main__":
    sys.exit(main())
