"""A function app for devhost's tests with host.json's default route prefix, `api`."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest) -> str:
    return "hello"


@app.route()
def ping(req: func.HttpRequest) -> str:
    """No route: azure.functions uses the function's name."""
    return "pong"


@app.route(route="")
def blank(req: func.HttpRequest) -> str:
    """An empty route: the host uses the function's name, so the site root cannot be ""."""
    return "blank"


@app.route(route="keyed", auth_level=func.AuthLevel.FUNCTION)
def keyed(req: func.HttpRequest) -> str:
    """Needs a key in Azure; devhost serves it anyway, like Core Tools, but warns at startup."""
    return "keyed"
