"""The worst configs we know, posted to the running app: is every one answered quickly, in bounded memory?

Each shape of ``hostile_configs.py`` (and the largest file the limits allow, and the slowest config a
hill-climb finds) is posted to ``python -m tools.devhost`` on a real Azurite; a 201 is followed by a GET of the
file as a browser without zstd would fetch it, and one with ``Accept-Encoding: zstd``. For each request:
the time, the status, the bytes of XML, and the app's peak RSS during that request (Linux's high-water
mark, reset before each request through ``/proc/PID/clear_refs``). Then ``--concurrent`` of the slowest
posts at once, while ``GET /api/health`` is timed beside them. Figures are medians of ``--runs`` runs.

    .venv/bin/python bench/bench_hostile.py [--runs 3] [--search-seconds 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from apphost import AppHost  # noqa: E402
from azurite import Azurite  # noqa: E402
from bench.hostile_configs import SHAPES  # noqa: E402
from usermapper.web.compression import CompressingWriter  # noqa: E402
from usermapper.lab import ConfigError, read_config  # noqa: E402
from usermapper.lab.expand import expand  # noqa: E402
from usermapper.limits import Limits  # noqa: E402
from usermapper.outputs.user_mapping import FileTooLarge, check_file_size, write_user_mapping  # noqa: E402

API = "/api/usermapping"
COOKIE = "usermapper_session"
TIMEOUT = 60
TARGET_SECONDS = 0.5
TARGET_RSS_MB = 300
TARGET_HEALTH_SECONDS = 1.0
BIG_LAB = ROOT / "examples" / "big-lab.yaml"


def largest_accepted() -> bytes:
    """big-lab.yaml with four times the users: 200,000 connections, 68 MB of XML, the largest real lab."""
    text = BIG_LAB.read_text().replace("quantity: 20\n", "quantity: 80\n")
    return text.replace("quantity: 480\n", "quantity: 1920\n").encode()


# -- the hill-climb ----------------------------------------------------------------------------------------

def searched_config(genes: dict) -> bytes:
    """A lab from a few numbers: a search moves them to find the slowest config the limits accept."""
    parameters = "".join(f", p{i}: {'v' * genes['value']}" for i in range(genes["parameters"]))
    devices = "".join(
        f"  d{i}: {{quantity: {genes['quantity']}, name_prefix: {'n' * genes['name']}{i}x, name_suffix: '1', "
        f"hostname_prefix: '10.{i % 250}.', hostname_suffix: '1', parameters: {{protocol: rdp{parameters}}}}}\n"
        for i in range(genes["device_types"]))
    users = "".join(
        f"  u{i}: {{quantity: {genes['users']}, username_prefix: {'u' * genes['name']}{i}x, username_suffix: '1', "
        f"password: random, password_length: {genes['password']}}}\n" for i in range(genes["user_types"]))
    return f"users:\n{users}devices:\n{devices}".encode()


GENES = {"parameters": (0, 200), "value": (1, 2000), "device_types": (1, 400), "quantity": (1, 1000),
         "name": (1, 200), "user_types": (1, 400), "users": (1, 10_000), "password": (8, 128)}


def work_seconds(config: bytes, limits: Limits = Limits()) -> float:
    """What the app does with a POST before storage, timed in this process (a 4xx counts as answered)."""
    started = time.perf_counter()
    try:
        lab = read_config(config, limits)
        size = check_file_size(lab, limits.max_xml_bytes)
        writer = CompressingWriter(head_limit=64 * 1024, size=size)
        write_user_mapping(expand(lab), writer)
        writer.finish()
    except (ConfigError, FileTooLarge):
        pass
    return time.perf_counter() - started


def hill_climb(seconds: float, seed: int = 7) -> tuple[bytes, float]:
    """Mutate one number at a time, keep whatever is slower; return the slowest config found."""
    chance = random.Random(seed)
    best = {name: chance.randint(low, min(high, low + 10)) for name, (low, high) in GENES.items()}
    best_time = work_seconds(searched_config(best))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        genes = dict(best)
        name = chance.choice(list(GENES))
        low, high = GENES[name]
        genes[name] = max(low, min(high, int(genes[name] * chance.choice([0.5, 0.8, 1.25, 2, 4])) + chance.randint(-2, 2)))
        config = searched_config(genes)
        if len(config) > Limits.max_config_bytes:
            continue
        elapsed = work_seconds(config)
        if elapsed > best_time:
            best, best_time = genes, elapsed
    print(f"hill-climb: slowest found {best_time:.3f} s in-process with {best}", file=sys.stderr)
    return searched_config(best), best_time


# -- measuring the app -------------------------------------------------------------------------------------

class App:
    """The running app and its process, whose peak RSS is reset before each measured request."""

    def __init__(self, host: AppHost):
        self.url = host.url
        self.pid = host.pid
        self.http = requests.Session()

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def measured(self, method: str, **kwargs) -> dict:
        self.reset_peak()
        started = time.perf_counter()
        response = self.http.request(method, self.url + API, timeout=TIMEOUT, stream=True, **kwargs)
        received = sum(len(chunk) for chunk in response.raw.stream(1 << 20, decode_content=False))
        elapsed = time.perf_counter() - started
        return {"status": response.status_code, "seconds": elapsed, "peak_mb": self.peak_mb(),
                "bytes": received, "response": response}


def one_shape(app: App, config: bytes) -> dict:
    posted = app.measured("POST", data=config, headers={"Content-Type": "application/yaml"})
    result = {"config_bytes": len(config), "post_status": posted["status"], "post_seconds": posted["seconds"],
              "post_peak_mb": posted["peak_mb"], "xml_bytes": None, "get_seconds": None, "get_peak_mb": None,
              "zstd_get_seconds": None, "zstd_bytes": None}
    if posted["status"] != 201:
        return result
    token = posted["response"].cookies.get(COOKIE) or _cookie(posted["response"])
    cookie = {"Cookie": f"{COOKIE}={token}"}
    plain = app.measured("GET", headers={**cookie, "Accept-Encoding": "identity"})
    zstd = app.measured("GET", headers={**cookie, "Accept-Encoding": "zstd"})
    app.http.delete(app.url + API, headers=cookie, timeout=TIMEOUT)
    result.update(xml_bytes=plain["bytes"], get_seconds=plain["seconds"], get_peak_mb=plain["peak_mb"],
                  zstd_get_seconds=zstd["seconds"], zstd_bytes=zstd["bytes"])
    return result


def _cookie(response: requests.Response) -> str:
    header = response.headers.get("Set-Cookie", "")
    return header.split(";")[0].partition("=")[2]


def concurrent_posts(app: App, config: bytes, posts: int) -> dict:
    """``posts`` copies of one config at once, and health checks one after another until they are done."""
    done = threading.Event()
    health: list[float] = []

    def check_health() -> None:
        with requests.Session() as http:
            while not done.is_set():
                started = time.perf_counter()
                http.get(app.url + "/api/health", timeout=TIMEOUT)
                health.append(time.perf_counter() - started)
                time.sleep(0.02)

    def post(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        status = requests.post(app.url + API, data=config, headers={"Content-Type": "application/yaml"},
                               timeout=TIMEOUT).status_code
        return status, time.perf_counter() - started

    app.reset_peak()
    checker = threading.Thread(target=check_health)
    checker.start()
    with ThreadPoolExecutor(posts) as pool:
        answers = list(pool.map(post, range(posts)))
    done.set()
    checker.join()
    return {"posts": posts, "statuses": sorted({s for s, _ in answers}), "slowest_post_seconds": max(t for _, t in answers),
            "health_checks": len(health), "slowest_health_seconds": max(health), "peak_mb": app.peak_mb()}


# -- the run -----------------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--search-seconds", type=float, default=20)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--json")
    return parser


def medians(runs: list[dict]) -> dict:
    merged = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs]
        merged[key] = statistics.median(values) if isinstance(value, float) else max(values, key=str)
    return merged


def main() -> int:
    arguments = parser().parse_args()
    began = time.perf_counter()
    searched, searched_seconds = hill_climb(arguments.search_seconds)
    configs = {name: build() for name, build in SHAPES.items()}
    configs["largest-accepted"] = largest_accepted()
    configs["hill-climbed"] = searched
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    with Azurite() as storage, AppHost(storage.connection_string) as host:
        app = App(host)
        for run in range(arguments.runs):
            for name, config in configs.items():
                runs[name].append(one_shape(app, config))
            print(f"run {run + 1}/{arguments.runs} done", file=sys.stderr)
        shapes = {name: medians(figures) for name, figures in runs.items()}
        slowest = max(shapes, key=lambda name: shapes[name]["post_seconds"])
        concurrent = concurrent_posts(app, configs[slowest], arguments.concurrent)
        concurrent["shape"] = slowest
    result = {"shapes": shapes, "concurrent": concurrent, "search": {"seconds": arguments.search_seconds,
              "slowest_in_process_seconds": searched_seconds},
              "settings": {"runs": arguments.runs}, "wall_seconds": time.perf_counter() - began}
    result["verdict"] = verdict(result)
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    return 0 if all(result["verdict"].values()) else 1


def verdict(result: dict) -> dict:
    shapes = result["shapes"].values()
    return {
        "every_answer_under_0.5_s": all(s["post_seconds"] < TARGET_SECONDS and (s["get_seconds"] or 0) < TARGET_SECONDS
                                       for s in shapes),
        "every_peak_under_300_mb": all(max(s["post_peak_mb"], s["get_peak_mb"] or 0) < TARGET_RSS_MB for s in shapes),
        "no_5xx": all(s["post_status"] < 500 for s in shapes) and max(result["concurrent"]["statuses"]) < 500,
        "health_under_1_s_beside_concurrent_posts": result["concurrent"]["slowest_health_seconds"] < TARGET_HEALTH_SECONDS,
    }


def report(result: dict) -> None:
    print("| config | size | POST | time | peak RSS | XML bytes | GET | peak RSS | GET zstd (bytes) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in result["shapes"].items():
        get = f"{s['get_seconds'] * 1000:.0f} ms" if s["get_seconds"] is not None else "-"
        get_peak = f"{s['get_peak_mb']:.0f} MB" if s["get_peak_mb"] is not None else "-"
        zstd = (f"{s['zstd_get_seconds'] * 1000:.0f} ms ({s['zstd_bytes']:,})" if s["zstd_get_seconds"] is not None
                else "-")
        xml = f"{s['xml_bytes']:,}" if s["xml_bytes"] is not None else "-"
        print(f"| {name} | {s['config_bytes']:,} | {s['post_status']} | {s['post_seconds'] * 1000:.0f} ms | "
              f"{s['post_peak_mb']:.0f} MB | {xml} | {get} | {get_peak} | {zstd} |")
    c = result["concurrent"]
    print(f"\n{c['posts']} concurrent posts of {c['shape']}: statuses {c['statuses']}, slowest "
          f"{c['slowest_post_seconds'] * 1000:.0f} ms, peak RSS {c['peak_mb']:.0f} MB; {c['health_checks']} "
          f"health checks beside them, slowest {c['slowest_health_seconds'] * 1000:.0f} ms")
    for name, met in result["verdict"].items():
        print(f"{name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
