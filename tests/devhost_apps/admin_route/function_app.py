"""A function app devhost must refuse to start, as the host does: a route under `admin`."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="admin/tools")
def tools(req: func.HttpRequest) -> str:
    return "tools"
