"""An HTTP client for the real app over real HTTP, and checks of its answers, shared by the HTTP tests."""

from __future__ import annotations

from pathlib import Path

import requests

from usermapper.web.problems import PROBLEMS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLASSROOM = (EXAMPLES / "classroom.yaml").read_bytes()
API = "/api/usermapping"


class Client:
    """An HTTP client that keeps the session cookie the way browsers and curl do.

    The Functions host writes every cookie with an empty ``domain=`` attribute, which browsers and curl
    ignore (RFC 6265) but Python's cookie jar takes as a reason to drop the cookie; so it is kept here.
    """

    def __init__(self, base: str, timeout: float = 30):
        self.base = base
        self.timeout = timeout
        self.http = requests.Session()
        self.cookie: str | None = None

    @property
    def token(self) -> str | None:
        """The session's token: the cookie's value up to its secret and version."""
        return self.cookie.partition(".")[0] if self.cookie else None

    def request(self, method: str, path: str = API, headers: dict | None = None, **kwargs) -> requests.Response:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = f"usermapper_session={self.cookie}"
        response = self.http.request(method, self.base + path, headers=headers, timeout=self.timeout, **kwargs)
        for cookie in set_cookies(response):
            name, _, value = cookie.split(";")[0].partition("=")
            if name == "usermapper_session":
                self.cookie = None if "max-age=0" in cookie.lower() else value
        return response

    def get(self, path: str = API, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def delete(self, path: str = API, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def post_file(self, config: bytes = CLASSROOM, **headers: str) -> requests.Response:
        return self.request("POST", files={"config": ("lab.yaml", config, "application/yaml")}, headers=headers)

    def post_raw(self, body: bytes, media_type: str | None) -> requests.Response:
        return self.request("POST", data=body, headers={"Content-Type": media_type} if media_type else {})


def with_cookie(base: str, token: str) -> requests.Response:
    return requests.get(base + API, headers={"Cookie": f"usermapper_session={token}"}, timeout=30)


def set_cookies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


# The problems page's sections: one per 4xx problem of the table (test_http checks that the served page has them).
PROBLEM_SECTIONS = {kind.key for kind in PROBLEMS.values() if kind.has_section}


def assert_problem(response: requests.Response, status: int) -> dict:
    """A problem document with this status, whose type is the section of the problems page for its title (or
    about:blank)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"] and problem["type"]
    if status >= 500:
        assert problem["type"] == "about:blank"
    else:
        page, _, section = problem["type"].partition("#")
        assert page == "/static/problems.html" and section in PROBLEM_SECTIONS, problem["type"]
        assert PROBLEMS[section].title == problem["title"] and status in PROBLEMS[section].statuses
    return problem
