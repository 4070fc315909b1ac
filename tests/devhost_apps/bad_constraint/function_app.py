"""A function app devhost must refuse to start: a route constraint it does not mirror (the host knows it)."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:int}")
def item(req: func.HttpRequest) -> str:
    return "item"
