"""devhost and Microsoft's worker (tests/workerhost.py) answer the same requests the same way, on Python 3.13.

Every HTTP test runs under both hosts, but asserts only what it is about; here the same requests go to
both, and every status, header and body must be equal, apart from what is each host's own framing (`Date`,
`Server`, how the body's length is sent) and what is each session's own (its token and expiry).
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from apphost import AppHost, worker_library_missing
from httpclient import API, CLASSROOM

pytestmark = pytest.mark.skipif(worker_library_missing() is not None, reason=str(worker_library_missing()))

LAB = CLASSROOM.replace(b"password: random", b"password: Student-2026")  # the same file from both hosts
FRAMING = {"date", "server", "content-length", "transfer-encoding", "connection"}
# A session cookie: the token, and after a '.' the version of the session (its ETag in base64url)
TOKEN = re.compile(r"[0-9]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[A-Za-z0-9_-]+)*")  # and the secret and version
EXPIRY = re.compile(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|\+00:00)")


def exchanges(base: str) -> list[tuple[str, int, list[tuple[str, str]], str]]:
    """A session's life and the errors around it, each answer as (request, status, headers, body)."""
    yaml = {"Content-Type": "application/yaml"}
    session = {}
    answers = []

    def send(method: str, path: str, **kwargs) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **session}
        response = requests.request(method, base + path, headers=headers, timeout=30, **kwargs)
        answers.append((f"{method} {path}", response.status_code, _headers(response), _body(response)))
        return response

    for path in ("/", "/static/app.js", "/static/nothing.js", "/api/health", "/api/nowhere", "/admin/host/status"):
        send("GET", path)
    send("GET", "/static/../api/health")
    send("HEAD", "/")
    send("OPTIONS", "/")
    send("PUT", "/api/health")
    created = send("POST", API, data=LAB, headers=yaml)
    session["Cookie"] = created.headers["Set-Cookie"].split(";")[0]
    for query in ("", "?format=import-json", "?format=import-yaml", "?format=import-csv", "?format=postgresql",
                  "?format=mysql", "?format=nothing", "?sha256=abc&sha256=def"):
        send("GET", API + query)
    send("GET", API, headers={"Accept-Encoding": "zstd"})
    send("GET", API, headers={"If-Match": '"another"'})
    send("GET", API + "/credentials")
    send("HEAD", API)
    send("POST", API + "/check", data=LAB, headers=yaml)
    send("POST", API, data=b"users: [", headers=yaml)
    send("POST", API, data=b"users: {}", headers={"Content-Type": "text/plain"})
    send("POST", API, data=iter([CLASSROOM]), headers=yaml)
    send("POST", API, files={"config": ("lab.yaml", LAB)})
    send("POST", API, data=LAB, headers={**yaml, "Origin": "http://elsewhere.example"})
    send("POST", API, data=b"#" * (1024 * 1024 + 1), headers=yaml)
    send("POST", API, data=b"x" * 5_000_000, headers=yaml)
    send("DELETE", API, headers={"Sec-Fetch-Site": "cross-site"})
    send("DELETE", API)
    send("GET", API)
    return answers


def _headers(response: requests.Response) -> list[tuple[str, str]]:
    return sorted((name.lower(), TOKEN.sub("<token>", value)) for name, value in response.headers.items()
                  if name.lower() not in FRAMING)


def _body(response: requests.Response) -> str:
    text = response.content.decode("utf-8", "replace")
    return EXPIRY.sub("<expiry>", TOKEN.sub("<token>", text))


def test_devhost_and_the_worker_answer_the_same_requests_alike(azurite):
    answers = {}
    for host in ("devhost", "worker"):
        with AppHost(azurite.connection_string, table=f"alike{host}", host=host) as app:
            answers[host] = exchanges(app.url)
    differences = [f"{ours[0]}:\n  devhost {json.dumps(ours[1:])[:400]}\n  worker  {json.dumps(theirs[1:])[:400]}"
                   for ours, theirs in zip(answers["devhost"], answers["worker"]) if ours != theirs]
    assert len(answers["devhost"]) == len(answers["worker"]) > 30
    assert not differences, "\n".join(differences)
