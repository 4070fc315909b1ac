"""A function app devhost must refuse to start: a catch-all route, which the host knows and devhost does not
mirror."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> str:
    return "files"
