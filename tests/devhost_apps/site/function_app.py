"""A function app for devhost's tests: one function per behaviour of the real host to reproduce.

Like usermapper itself it uses routePrefix "" (host.json), so every route is written in full.
Timers write to files named by settings, which the tests set; `tick` also fails on purpose.
"""

import asyncio
import hashlib
import json
import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(value) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), mimetype="application/json")


def _matched(name: str, req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": name, "route_params": dict(req.route_params)})


def _append_line(file_setting: str) -> None:
    with open(os.environ[file_setting], "a", encoding="utf-8") as file:
        file.write(f"{time.time()}\n")


@app.route(route="{ignored:maxlength(0)?}", methods=["GET"])
def page(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("<h1>page</h1>", mimetype="text/html")


@app.route(route="api/echo", methods=["GET", "POST"])
def api_echo(req: func.HttpRequest) -> func.HttpResponse:
    return _json({
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "body_length": len(req.get_body()),
    })


@app.route(route="api/bytes", methods=["POST"])
def api_bytes(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body(), mimetype="application/octet-stream")


@app.route(route="api/pages/{page?}")
def api_pages(req: func.HttpRequest) -> func.HttpResponse:
    return _matched("api_pages", req)


@app.route(route="api/tags/{tag:maxlength(4)}")
def api_tags(req: func.HttpRequest) -> func.HttpResponse:
    return _matched("api_tags", req)


@app.route(route="api/files/{name}")
def aaa_files(req: func.HttpRequest) -> func.HttpResponse:
    """Sorts before files_readme, so it takes api/files/readme too, as in the real host."""
    return _matched("aaa_files", req)


@app.route(route="api/files/readme")
def files_readme(req: func.HttpRequest) -> func.HttpResponse:
    return _matched("files_readme", req)


@app.route(route="api/docs/{name}")
def zzz_docs(req: func.HttpRequest) -> func.HttpResponse:
    """Sorts after docs_index, so api/docs/index stays docs_index's."""
    return _matched("zzz_docs", req)


@app.route(route="api/docs/index")
def docs_index(req: func.HttpRequest) -> func.HttpResponse:
    return _matched("docs_index", req)


@app.route(route="api/order/{name}")
def api_order(req: func.HttpRequest) -> func.HttpResponse:
    """Sorts after apiorder_first in the host, which compares names in upper case ("_" after letters)."""
    return _matched("api_order", req)


@app.route(route="api/order/first")
def apiorder_first(req: func.HttpRequest) -> func.HttpResponse:
    return _matched("apiorder_first", req)


@app.route(route="api/cookies", methods=["GET"])
def api_cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("cookies")
    for cookie in (
        "session=abc; Path=/api; HttpOnly; SameSite=Lax",
        "theme=dark; Max-Age=60",
        "token=a+b/c=; Path=/",
        "gone=; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/api",
        "chips=1; Path=/; Secure; SameSite=None; Partitioned",
        "spaced=a b",
    ):
        response.headers.add("Set-Cookie", cookie)
    return response


@app.route(route="api/form", methods=["POST"])
def api_form(req: func.HttpRequest) -> func.HttpResponse:
    files = {
        name: {"filename": upload.filename, "sha256": hashlib.sha256(upload.read()).hexdigest()}
        for name, upload in req.files.items()
    }
    return _json({"form": dict(req.form), "files": files})


@app.route(route="api/boom")
def api_boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom, on purpose")


@app.route(route="api/nothing")
def api_nothing(req: func.HttpRequest) -> func.HttpResponse:
    return None


@app.route(route="api/async")
async def api_async(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return func.HttpResponse("awaited")


@app.route(route="api/sleep")
def api_sleep(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(0.5)
    return func.HttpResponse("slept")


@app.route(route="api/overrun")
def api_overrun(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(1.2)  # past host.json's functionTimeout of one second
    return func.HttpResponse("late")


@app.route(route="api/only-post", methods=["POST"])
def api_only_post(req: func.HttpRequest) -> str:
    return "posted"


@app.route(route="api/settings")
def api_settings(req: func.HttpRequest) -> func.HttpResponse:
    return _json({
        "FROM_FILE": os.environ.get("FROM_FILE"),
        "OVERRIDDEN": os.environ.get("OVERRIDDEN"),
        "cwd": os.getcwd(),
    })


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
def tick(timer: func.TimerRequest) -> None:
    _append_line("TICK_FILE")
    raise RuntimeError("tick fails on purpose: the schedule must go on")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
def manual_job(timer: func.TimerRequest) -> None:
    _append_line("MANUAL_FILE")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def startup_job(timer: func.TimerRequest) -> None:
    _append_line("STARTUP_FILE")
