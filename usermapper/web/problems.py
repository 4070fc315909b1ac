"""Problem documents (RFC 9457): how every failure a client can cause is answered.

A handler raises ``HTTPProblem``; ``routes`` turns it into an ``application/problem+json`` response whose
``type`` links the section of the problems page (``static/problems.html``) that says what it means.
"""

from __future__ import annotations

import json

from ..lab.model import Problem
from .http import Response

# Each 4xx problem's type is the section of this page that says what it means and how to fix it.
PROBLEMS_PAGE = "/static/problems.html"


class HTTPProblem(Exception):
    """A request the client must change; becomes a problem response with this status."""

    def __init__(self, status: int, title: str, detail: str, errors: list[Problem] = ()):
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, list(errors)


def problem_response(status: int, title: str, detail: str, errors: list[Problem] = ()) -> Response:
    document = problem_document(HTTPProblem(status, title, detail, errors))
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return Response(status, body, [("Content-Type", "application/problem+json; charset=utf-8")])


def problem_document(problem: HTTPProblem) -> dict:
    """RFC 9457's fields; ``type`` links the problem's section of the problems page."""
    document = {"type": "about:blank" if problem.status >= 500 else f"{PROBLEMS_PAGE}#{slug(problem.title)}",
                "title": problem.title, "status": problem.status, "detail": problem.detail}
    if problem.errors:
        document["errors"] = [e.as_dict() for e in problem.errors]
    return document


def slug(title: str) -> str:
    return "-".join(title.lower().split())
