"""usermapper as an Azure Functions app (Python v2 programming model).

This file only wires triggers to the ``usermapper`` package: it converts the host's request and response
types and hands off at once. Routes are literal and do not overlap, because the Functions host tries
routes in alphabetical order of function name, not most-literal first (host.json sets routePrefix "").

The web app itself (``usermapper.web``) is built on the first call of ``api()``, not at import, so that
the settings it reads are the ones in the environment when the host starts serving.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import azure.functions as func

from usermapper.web import Api, Request, Response

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# The storage SDK logs every request and response at INFO; one line per invocation is what we want to read.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def api() -> Api:
    """The app as its settings describe it, built once per process."""
    return Api.from_environment(Path(__file__).parent / "static")


# No `methods`: the host would answer any other method with an empty 404; each route answers 405 itself.
@app.route(route="api/usermapping")
def usermapping(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().usermapping(_request(req)))


@app.route(route="api/usermapping/check")
def usermapping_check(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().check(_request(req)))


@app.route(route="api/usermapping/credentials")
def usermapping_credentials(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().credentials(_request(req)))


@app.route(route="api/usermapping/sign-in-documents")
def usermapping_sign_in_documents(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().sign_in_documents(_request(req)))


@app.route(route="api/health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().health(_request(req)))


# The host accepts no empty route; this template matches the site root and nothing else.
@app.route(route="{root:maxlength(0)?}")
def page(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().page(_request(req)))


@app.route(route="static/{name}")
def static_asset(req: func.HttpRequest) -> func.HttpResponse:
    return _respond(api().asset(_request(req), req.route_params.get("name", "")))


@app.timer_trigger(schedule="%USERMAPPER_SWEEP_SCHEDULE%", arg_name="timer", run_on_startup=False,
                   use_monitor=False)
def sweep_expired_sessions(timer: func.TimerRequest) -> None:
    api().sweep()  # which logs its one line: how many it deleted, or why it could not


def _request(req: func.HttpRequest) -> Request:
    return Request(method=req.method, url=req.url, headers={k.lower(): v for k, v in req.headers.items()},
                   body=req.get_body() or b"")


def _respond(response: Response) -> func.HttpResponse:
    result = func.HttpResponse(response.body, status_code=response.status)
    for name, value in response.headers:
        result.headers.add(name, value)
    return result
