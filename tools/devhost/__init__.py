"""devhost: this function app served locally as the Azure Functions host serves it, where Core Tools are not.

`python -m tools.devhost`, from the repository's root, serves the app's HTTP functions on
http://127.0.0.1:7071 with waitress and fires its timer functions on their schedules. It mirrors what the
app meets in the host: route order and templates, reserved routes, request and response conversion,
Set-Cookie, the body limit, chunked bodies, timers. What the app might declare and devhost does not
mirror (other triggers and bindings, other route constraints) is refused at startup, never run otherwise.

Modules, in the order an app meets them: `settings` (local.settings.json, host.json), `indexing`
(function_app.py -> functions, with `routing` and `schedule`), `server` (waitress), `wsgi` (each request,
with `conversion` and `cookies`), `timers`.
"""
