"""Checking as you type: how long POST /api/usermapping/check takes, for real labs and the worst configs.

The page sends the editor's text after each pause in typing, so a check must answer well inside the pause a
trainer notices. Each example of ``examples/`` is checked ``--requests`` times one after another (after a
few unmeasured ones), and each config of ``hostile_configs.py`` ``--hostile-requests`` times, through
``python -m tools.devhost`` on a real Azurite, over one keep-alive connection as a browser tab keeps one. Figures
are p50 and p99 of the answer times. Then the store is counted: a check must never leave an entity behind.

    .venv/bin/python bench/bench_check.py [--requests 200] [--hostile-requests 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from apphost import AppHost  # noqa: E402
from azurite import Azurite  # noqa: E402
from bench.hostile_configs import SHAPES  # noqa: E402
from sessiontables import entities_in_account  # noqa: E402

CHECK = "/api/usermapping/check"
EXAMPLES = ["classroom", "original-format", "pods", "pods-desktops", "big-lab"]
WARMUP = 5
TIMEOUT = 60
TARGET_EXAMPLE_P99_MS = 50  # a pause in typing is a few hundred ms; the answer should come well inside it
TARGET_HOSTILE_P99_MS = 500  # the bound every POST of these configs meets (bench_hostile.py)


def timed_checks(http: requests.Session, url: str, config: bytes, count: int) -> tuple[list[float], int]:
    """``count`` checks of one config, in ms, and the status of the last answer."""
    times, status = [], 0
    for _ in range(count):
        started = time.perf_counter()
        response = http.post(url + CHECK, data=config, headers={"Content-Type": "application/yaml"},
                             timeout=TIMEOUT)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        if status != 200:
            raise SystemExit(f"check answered {status}: {response.text[:300]}")
    return times, status


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(http: requests.Session, url: str, config: bytes, count: int) -> dict:
    timed_checks(http, url, config, min(WARMUP, count))
    times, _ = timed_checks(http, url, config, count)
    verdict = http.post(url + CHECK, data=config, headers={"Content-Type": "application/yaml"},
                        timeout=TIMEOUT).json()
    return {"config_bytes": len(config), "requests": count, "valid": verdict["valid"],
            "p50_ms": statistics.median(times), "p99_ms": percentile(times, 0.99), "max_ms": max(times)}


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("--requests", type=int, default=200, help="checks of each example")
    arguments.add_argument("--hostile-requests", type=int, default=10, help="checks of each hostile config")
    arguments.add_argument("--json", help="also write the figures here")
    options = arguments.parse_args()
    with Azurite() as storage, AppHost(storage.connection_string) as app, requests.Session() as http:
        before = entities_in_account(storage.connection_string)
        examples = {name: measure(http, app.url, (ROOT / "examples" / f"{name}.yaml").read_bytes(), options.requests)
                    for name in EXAMPLES}
        hostile = {name: measure(http, app.url, build(), options.hostile_requests) for name, build in SHAPES.items()}
        left_behind = entities_in_account(storage.connection_string) - before
    result = {"examples": examples, "hostile": hostile, "entities_left_behind": left_behind,
              "targets": {"example_p99_ms": TARGET_EXAMPLE_P99_MS, "hostile_p99_ms": TARGET_HOSTILE_P99_MS}}
    result["verdict"] = {
        "examples_p99": max(e["p99_ms"] for e in examples.values()) < TARGET_EXAMPLE_P99_MS,
        "hostile_p99": max(h["p99_ms"] for h in hostile.values()) < TARGET_HOSTILE_P99_MS,
        "nothing_stored": left_behind == 0,
    }
    report(result)
    if options.json:
        Path(options.json).write_text(json.dumps(result, indent=2))
    return 0 if all(result["verdict"].values()) else 1


def report(result: dict) -> None:
    print("| config | size | valid | requests | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for group in ("examples", "hostile"):
        for name, figures in result[group].items():
            label = f"`examples/{name}.yaml`" if group == "examples" else name
            print(f"| {label} | {figures['config_bytes']:,} | {'yes' if figures['valid'] else 'no'} | "
                  f"{figures['requests']} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} | "
                  f"{figures['max_ms']:.1f} |")
    print(f"\nentities left in storage by every check above: {result['entities_left_behind']}")
    for name, met in result["verdict"].items():
        print(f"{name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
