"""The worst configs we know, posted to the running app: is every one answered quickly, in bounded memory?

Each shape of ``hostile_configs.py`` (and the largest file the limits allow, and the slowest config a
hill-climb finds) is posted to ``python -m tools.devhost`` on a real Azurite; a 201 is followed by a GET of the
file as a browser without zstd would fetch it, and one with ``Accept-Encoding: zstd``. For each request:
the time, the status, the bytes of XML, and the app's peak RSS during that request (Linux's high-water
mark, reset just before each request through ``/proc/PID/clear_refs``, so it is the most the process held
while that request ran, what it held already included) beside its RSS just before (in parentheses): the
difference is the request's own. Each config is also checked first
(``POST /api/usermapping/check``), and each other format is fetched (``?format=``: the import files and
the password scripts) with its status, time, bytes and peak RSS. Then ``--concurrent`` of the slowest
posts at once, while ``GET /api/health`` is timed beside them; one client sending checks of the slowest
to check back to back for ``--stream-seconds``, health timed beside it; a DELETE carrying 500 made-up
session tokens and a GET with 11,605 session pairs in its Cookie header. Figures are medians of
``--runs`` runs. ``--shapes a,b`` runs only those configs.

    .venv/bin/python bench/bench_hostile.py [--runs 3] [--search-seconds 20] [--shapes ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
from usermapper.outputs import FORMATS, USER_MAPPING  # noqa: E402
from usermapper.outputs.user_mapping import FileTooLarge, check_file_size, write_user_mapping  # noqa: E402

API = "/api/usermapping"
COOKIE = "usermapper_session"
TIMEOUT = 60
TARGET_SECONDS = 0.5
TARGET_RSS_MB = 300
TARGET_HEALTH_SECONDS = 1.0
TARGET_CHECK_SECONDS = 0.2
CHECK = "/api/usermapping/check"
BIG_LAB = ROOT / "examples" / "big-lab.yaml"
OTHER_FORMATS = [name for name in FORMATS if name != USER_MAPPING.name]


def escaped_usernames() -> bytes:
    """Usernames of 64 characters YAML escapes (U+0085, six bytes each), every one reaching 100 shared devices:
    the XML writes each name once, the import files once per connection (issue 23: 239.5 MB of YAML)."""
    users = "".join(f"  u{i}: {{quantity: 100, username_prefix: \"{chr(0x41 + i % 26)}" + "\\x85" * 61
                    + f"{i:02d}\", username_suffix: '1', password: p}}\n" for i in range(20))
    devices = "".join(f"  d{i}: {{quantity: 1, name_prefix: p{i}x, name_suffix: '1', parameters: "
                      f"{{protocol: rdp, hostname: h}}}}\n" for i in range(100))
    return f"users:\n{users}devices:\n{devices}".encode()


def many_parameter_names() -> bytes:
    """110 device types of 9 connections, each with 82 parameters of its own: a CSV of 990 rows and 9,000 columns."""
    devices = "".join(f"  d{i}: {{quantity: 9, name_prefix: p{i}x, name_suffix: '1', parameters: {{protocol: rdp, "
                      f"hostname: h" + "".join(f", q{i}_{j}: v" for j in range(82)) + "}}\n" for i in range(110))
    return f"users:\n  s: {{quantity: 2, username_prefix: s, username_suffix: '1', password: p}}\ndevices:\n{devices}".encode()


def mysql_collisions() -> bytes:
    """100 user types whose usernames differ only in case: MySQL takes them for one another's."""
    def case(i: int) -> str:
        return "".join(c.upper() if i >> k & 1 else c for k, c in enumerate("student"))
    users = "".join(f"  t{i}: {{quantity: 99, username_prefix: {case(i)}, username_suffix: '1', password: p}}\n"
                    for i in range(100))
    return (f"users:\n{users}devices:\n  pcs: {{quantity: 1, name_prefix: pc, name_suffix: '1', "
            f"parameters: {{protocol: rdp, hostname: h}}}}\n").encode()


EXTRA_SHAPES = {"escaped-usernames": escaped_usernames, "many-parameter-names": many_parameter_names,
                "mysql-collisions": mysql_collisions}


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
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS:")

    def _status_mb(self, field: str) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(field))
        return int(line.split()[1]) / 1024

    def measured(self, method: str, path: str = API, **kwargs) -> dict:
        before = self.rss_mb()
        self.reset_peak()
        started = time.perf_counter()
        response = self.http.request(method, self.url + path, timeout=TIMEOUT, stream=True, **kwargs)
        received = sum(len(chunk) for chunk in response.raw.stream(1 << 20, decode_content=False))
        elapsed = time.perf_counter() - started
        return {"status": response.status_code, "seconds": elapsed, "peak_mb": self.peak_mb(),
                "before_mb": before, "bytes": received, "response": response}


def one_shape(app: App, config: bytes) -> dict:
    checked = app.measured("POST", CHECK, data=config, headers={"Content-Type": "application/yaml"})
    posted = app.measured("POST", data=config, headers={"Content-Type": "application/yaml"})
    result = {"config_bytes": len(config), "check_status": checked["status"], "check_seconds": checked["seconds"],
              "check_peak_mb": checked["peak_mb"], "check_before_mb": checked["before_mb"],
              "post_status": posted["status"], "post_seconds": posted["seconds"], "post_peak_mb": posted["peak_mb"],
              "post_before_mb": posted["before_mb"], "summary_bytes": posted["bytes"], "xml_bytes": None,
              "get_seconds": None, "get_peak_mb": None, "get_before_mb": None, "zstd_get_seconds": None,
              "zstd_bytes": None, "formats": {}}
    if posted["status"] != 201:
        return result
    token = posted["response"].cookies.get(COOKIE) or _cookie(posted["response"])
    cookie = {"Cookie": f"{COOKIE}={token}"}
    plain = app.measured("GET", headers={**cookie, "Accept-Encoding": "identity"})
    zstd = app.measured("GET", headers={**cookie, "Accept-Encoding": "zstd"})
    for name in OTHER_FORMATS:
        got = app.measured("GET", params={"format": name}, headers={**cookie, "Accept-Encoding": "identity"})
        result["formats"][name] = {"status": got["status"], "seconds": got["seconds"], "bytes": got["bytes"],
                                   "peak_mb": got["peak_mb"], "before_mb": got["before_mb"]}
    app.http.delete(app.url + API, headers=cookie, timeout=TIMEOUT)
    result.update(xml_bytes=plain["bytes"], get_seconds=plain["seconds"], get_peak_mb=plain["peak_mb"],
                  get_before_mb=plain["before_mb"], zstd_get_seconds=zstd["seconds"], zstd_bytes=zstd["bytes"])
    return result


def _cookie(response: requests.Response) -> str:
    header = response.headers.get("Set-Cookie", "")
    return header.split(";")[0].partition("=")[2]


def request_shapes(app: App) -> dict:
    """Requests whose worst part is not their config. A DELETE carrying 500 made-up session tokens (a 33 KB
    Cookie header), and a GET with 11,605 session pairs in one Cookie header. Uploads of 1 MiB whose
    config is line after line that starts as the multipart delimiter does and goes on (each such line a
    candidate the reader must look at, usermapper/web/multipart.py), with and without a space after the
    boundary."""
    made_up = "; ".join(f"{COOKIE}=2026010100-{uuid.uuid4()}" for _ in range(500))
    pairs = "; ".join(f"{COOKIE}=t{n}" for n in range(11_605))
    figures = {}
    for name, method, cookie in (("delete-500-made-up-tokens", "DELETE", made_up),
                                 ("get-11605-session-pairs", "GET", pairs)):
        got = app.measured(method, headers={"Cookie": cookie})
        figures[name] = {"status": got["status"], "seconds": got["seconds"], "bytes": got["bytes"],
                         "peak_mb": got["peak_mb"], "request_bytes": len(cookie)}
    for name, line in (("multipart-near-delimiters", b"\r\n--bx"), ("multipart-padded-near-delimiters", b"\r\n--b x")):
        opening, closing = b'--b\r\nContent-Disposition: form-data; name="config"\r\n\r\n', b"\r\n--b--\r\n"
        body = opening + line * ((Limits.max_config_bytes - len(opening) - len(closing)) // len(line)) + closing
        got = app.measured("POST", data=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
        figures[name] = {"status": got["status"], "seconds": got["seconds"], "bytes": got["bytes"],
                         "peak_mb": got["peak_mb"], "request_bytes": len(body)}
    return figures


@contextmanager
def health_timed(app: App) -> Iterator[list[float]]:
    """Health checks one after another, 20 ms apart, while the block runs; the list of their times."""
    done = threading.Event()
    health: list[float] = []

    def check_health() -> None:
        with requests.Session() as http:
            while not done.is_set():
                started = time.perf_counter()
                http.get(app.url + "/api/health", timeout=TIMEOUT)
                health.append(time.perf_counter() - started)
                time.sleep(0.02)

    checker = threading.Thread(target=check_health)
    checker.start()
    try:
        yield health
    finally:
        done.set()
        checker.join()


def check_stream(app: App, config: bytes, seconds: float) -> dict:
    """One client posting checks back to back for ``seconds``, and health checks one after another beside it."""
    checks: list[tuple[int, float]] = []
    app.reset_peak()
    deadline = time.monotonic() + seconds
    with health_timed(app) as health, requests.Session() as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status = http.post(app.url + CHECK, data=config, headers={"Content-Type": "application/yaml"},
                               timeout=TIMEOUT).status_code
            checks.append((status, time.perf_counter() - started))
    return {"checks": len(checks), "statuses": sorted({s for s, _ in checks}),
            "median_check_seconds": statistics.median(t for _, t in checks), "health_checks": len(health),
            "slowest_health_seconds": max(health), "peak_mb": app.peak_mb()}


def concurrent_posts(app: App, config: bytes, posts: int) -> dict:
    """``posts`` copies of one config at once, and health checks one after another until they are done."""

    def post(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        status = requests.post(app.url + API, data=config, headers={"Content-Type": "application/yaml"},
                               timeout=TIMEOUT).status_code
        return status, time.perf_counter() - started

    app.reset_peak()
    with health_timed(app) as health, ThreadPoolExecutor(posts) as pool:
        answers = list(pool.map(post, range(posts)))
    return {"posts": posts, "statuses": sorted({s for s, _ in answers}), "slowest_post_seconds": max(t for _, t in answers),
            "health_checks": len(health), "slowest_health_seconds": max(health), "peak_mb": app.peak_mb()}


# -- the run -----------------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--search-seconds", type=float, default=20)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--json")
    parser.add_argument("--shapes", help="comma-separated shape names to run (all by default)")
    parser.add_argument("--stream-seconds", type=float, default=10, help="how long one client sends checks")
    return parser


def medians(runs: list[dict]) -> dict:
    merged = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs]
        if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            merged[key] = {name: medians([run[key][name] for run in runs if name in run[key]]) for name in value}
        else:
            merged[key] = statistics.median(values) if isinstance(value, float) else max(values, key=str)
    return merged


def main() -> int:
    arguments = parser().parse_args()
    began = time.perf_counter()
    searched, searched_seconds = hill_climb(arguments.search_seconds)
    configs = {name: build() for name, build in {**SHAPES, **EXTRA_SHAPES}.items()}
    configs["largest-accepted"] = largest_accepted()
    configs["hill-climbed"] = searched
    if arguments.shapes:
        configs = {name: configs[name] for name in arguments.shapes.split(",")}
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
        slowest_check = max(shapes, key=lambda name: shapes[name]["check_seconds"])
        stream = check_stream(app, configs[slowest_check], arguments.stream_seconds)
        stream["shape"] = slowest_check
        requests_shapes = request_shapes(app)
    result = {"shapes": shapes, "concurrent": concurrent, "check_stream": stream, "requests": requests_shapes,
              "search": {"seconds": arguments.search_seconds,
              "slowest_in_process_seconds": searched_seconds},
              "settings": {"runs": arguments.runs}, "wall_seconds": time.perf_counter() - began}
    result["verdict"] = verdict(result)
    report(result)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(result, indent=2))
    return 0 if all(result["verdict"].values()) else 1


def verdict(result: dict) -> dict:
    shapes = result["shapes"].values()
    formats = [f for s in shapes for f in s["formats"].values()]
    return {
        "every_answer_under_0.5_s": all(s["post_seconds"] < TARGET_SECONDS and (s["get_seconds"] or 0) < TARGET_SECONDS
                                       for s in shapes) and all(f["seconds"] < TARGET_SECONDS for f in formats)
                                    and all(c["seconds"] < TARGET_SECONDS for c in result["requests"].values()),
        "every_check_under_0.2_s": all(s["check_seconds"] < TARGET_CHECK_SECONDS for s in shapes),
        "every_peak_under_300_mb": all(max(s["post_peak_mb"], s["get_peak_mb"] or 0, s["check_peak_mb"]) < TARGET_RSS_MB
                                       for s in shapes) and all(f["peak_mb"] < TARGET_RSS_MB for f in formats),
        "no_download_over_its_limit": all(f["bytes"] <= Limits.max_xml_bytes for f in formats),
        "health_under_1_s_beside_a_stream_of_checks": result["check_stream"]["slowest_health_seconds"] < TARGET_HEALTH_SECONDS,
        "no_5xx": all(s["post_status"] < 500 for s in shapes) and max(result["concurrent"]["statuses"]) < 500
                  and all(c["status"] < 500 for c in result["requests"].values()),
        "health_under_1_s_beside_concurrent_posts": result["concurrent"]["slowest_health_seconds"] < TARGET_HEALTH_SECONDS,
    }


def report(result: dict) -> None:
    print("| config | size | POST | time | peak RSS (before) | XML bytes | GET | peak RSS (before) | GET zstd (bytes) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in result["shapes"].items():
        get = f"{s['get_seconds'] * 1000:.0f} ms" if s["get_seconds"] is not None else "-"
        get_peak = f"{s['get_peak_mb']:.0f} MB ({s['get_before_mb']:.0f})" if s["get_peak_mb"] is not None else "-"
        zstd = (f"{s['zstd_get_seconds'] * 1000:.0f} ms ({s['zstd_bytes']:,})" if s["zstd_get_seconds"] is not None
                else "-")
        xml = f"{s['xml_bytes']:,}" if s["xml_bytes"] is not None else "-"
        print(f"| {name} | {s['config_bytes']:,} | {s['post_status']} | {s['post_seconds'] * 1000:.0f} ms | "
              f"{s['post_peak_mb']:.0f} MB ({s['post_before_mb']:.0f}) | {xml} | {get} | {get_peak} | {zstd} |")
    print("\n| config | check | time | peak RSS (before) | summary bytes | " + " | ".join(OTHER_FORMATS) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(OTHER_FORMATS))
    for name, s in result["shapes"].items():
        cells = [f"{f['status']}, {f['seconds'] * 1000:.0f} ms, {f['bytes']:,} B, {f['peak_mb']:.0f} MB ({f['before_mb']:.0f})"
                 if (f := s["formats"].get(n)) else "-" for n in OTHER_FORMATS]
        print(f"| {name} | {s['check_status']} | {s['check_seconds'] * 1000:.0f} ms | {s['check_peak_mb']:.0f} MB "
              f"({s['check_before_mb']:.0f}) | "
              f"{s['summary_bytes']:,} | " + " | ".join(cells) + " |")
    for name, c in result["requests"].items():
        print(f"\n{name} ({c['request_bytes']:,} bytes): {c['status']}, {c['seconds'] * 1000:.0f} ms, "
              f"peak RSS {c['peak_mb']:.0f} MB")
    st = result["check_stream"]
    print(f"\n{st['checks']} checks of {st['shape']} back to back: statuses {st['statuses']}, median "
          f"{st['median_check_seconds'] * 1000:.0f} ms; {st['health_checks']} health checks beside them, slowest "
          f"{st['slowest_health_seconds'] * 1000:.0f} ms")
    c = result["concurrent"]
    print(f"\n{c['posts']} concurrent posts of {c['shape']}: statuses {c['statuses']}, slowest "
          f"{c['slowest_post_seconds'] * 1000:.0f} ms, peak RSS {c['peak_mb']:.0f} MB; {c['health_checks']} "
          f"health checks beside them, slowest {c['slowest_health_seconds'] * 1000:.0f} ms")
    for name, met in result["verdict"].items():
        print(f"{name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
