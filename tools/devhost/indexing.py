"""Find the app's functions as the Python worker and the host index them.

The worker imports `function_app.py` from the app directory, takes its single top-level
`FunctionApp` (or other `FunctionRegister`) and calls `get_functions()`, which works only once
per app object: the `FunctionIndex` built here is the one cached result. Whatever devhost cannot
run as the real host would is refused here, at startup, with the function's name.
"""

import asyncio
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from .errors import DevhostError
from .routing import RouteTemplate, parse_route
from .schedule import Schedule, parse_schedule
from .settings import resolve_setting_references

HTTP_TRIGGER = "httpTrigger"
TIMER_TRIGGER = "timerTrigger"


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: RouteTemplate
    methods: frozenset[str] | None  # None accepts every method, as in the host
    auth_level: str  # "anonymous", "function" or "admin": enforced in Azure, not locally
    call: Callable[[func.HttpRequest], Any]

    def accepts_method(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: Schedule
    run_on_startup: bool
    call: Callable[[func.TimerRequest], Any]


AnyFunction = HttpFunction | TimerFunction


@dataclass(frozen=True)
class FunctionIndex:
    """The app's functions; HTTP functions in the order the host tries their routes."""

    http_functions: tuple[HttpFunction, ...]
    timer_functions: tuple[TimerFunction, ...]

    def find(self, name: str) -> AnyFunction | None:
        """The function called `name`; function names are case-insensitive in the host."""
        for function in self.http_functions + self.timer_functions:
            if function.name.casefold() == name.casefold():
                return function
        return None


def index_app(app_dir: Path, route_prefix: str, environ: Mapping[str, str]) -> FunctionIndex:
    """Import the app in `app_dir` and describe each of its functions.

    HTTP routes are ordered alphabetically by function name, ignoring case as .NET's OrdinalIgnoreCase
    does, in upper case (so `_` sorts after letters): the host registers them in that order and takes
    the first match, so a catch-all whose name sorts first swallows the routes after it, here as in Azure.
    """
    app = _find_function_app(_import_function_app(app_dir))
    try:
        functions = app.get_functions()
    except ValueError as error:
        raise DevhostError(f"the app cannot be indexed: {error}") from error
    http_functions, timer_functions = [], []
    for function in functions:
        trigger_type = _supported_trigger_type(function)
        if trigger_type == HTTP_TRIGGER:
            http_functions.append(_http_function(function, route_prefix))
        else:
            timer_functions.append(_timer_function(function, environ))
    http_functions.sort(key=lambda function: function.name.upper())
    return FunctionIndex(tuple(http_functions), tuple(timer_functions))


def _import_function_app(app_dir: Path) -> ModuleType:
    """Import `function_app.py` as module `function_app`, with the app directory importable."""
    path = app_dir / "function_app.py"
    if not path.is_file():
        raise DevhostError(f"no function_app.py in {app_dir}")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    spec = importlib.util.spec_from_file_location("function_app", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


def _find_function_app(module: ModuleType) -> func.FunctionRegister:
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(apps) != 1:
        raise DevhostError(f"function_app.py must define exactly one top-level FunctionApp, found {len(apps)}")
    return apps[0]


def _supported_trigger_type(function: func.Function) -> str:
    trigger_type = function.get_trigger().type
    if trigger_type not in (HTTP_TRIGGER, TIMER_TRIGGER):
        raise DevhostError(
            f"function '{function.get_function_name()}': devhost runs HTTP and timer triggers only, "
            f"not {trigger_type}"
        )
    _check_bindings(function, trigger_type)
    return trigger_type


def _check_bindings(function: func.Function, trigger_type: str) -> None:
    """Besides its trigger, a function may only return its HTTP response: no other bindings."""
    for binding in function.get_bindings():
        is_http_return = trigger_type == HTTP_TRIGGER and binding.type == "http" and binding.name == "$return"
        if binding is not function.get_trigger() and not is_http_return:
            raise DevhostError(
                f"function '{function.get_function_name()}': devhost does not support its "
                f"'{binding.type}' binding '{binding.name}'"
            )


def _http_function(function: func.Function, route_prefix: str) -> HttpFunction:
    name = function.get_function_name()
    trigger = function.get_trigger()
    route = trigger.route or name  # the host maps an empty route to the function's name
    if route.lstrip("/").lower().startswith("admin"):
        raise DevhostError(
            f"function '{name}': the route '{route}' conflicts with the host's built-in admin routes"
        )
    try:
        template = parse_route(f"{route_prefix}/{route}" if route_prefix else route)
    except DevhostError as error:
        raise DevhostError(f"function '{name}': {error}") from error
    methods = None
    if trigger.methods is not None:
        methods = frozenset(_enum_text(method).upper() for method in trigger.methods)
    auth_level = "function" if trigger.auth_level is None else _enum_text(trigger.auth_level).lower()
    return HttpFunction(name, template, methods, auth_level, _caller(function, trigger.name))


def _enum_text(value: Any) -> str:
    """The text of an azure.functions enum member, or of a plain string given in its place."""
    return str(getattr(value, "value", value))


def _timer_function(function: func.Function, environ: Mapping[str, str]) -> TimerFunction:
    name = function.get_function_name()
    trigger = function.get_trigger()
    try:
        schedule = parse_schedule(resolve_setting_references(trigger.schedule, environ))
    except DevhostError as error:
        raise DevhostError(f"function '{name}': {error}") from error
    return TimerFunction(name, schedule, bool(trigger.run_on_startup), _caller(function, trigger.name))


def _caller(function: func.Function, argument_name: str) -> Callable[[Any], Any]:
    """A one-argument callable running the user's function, async ones to completion."""
    user_function = function.get_user_function()
    _check_parameters(function, user_function)

    def call(trigger_value: Any) -> Any:
        result = user_function(**{argument_name: trigger_value})
        return asyncio.run(result) if inspect.iscoroutine(result) else result

    return call


def _check_parameters(function: func.Function, user_function: Callable) -> None:
    """The worker passes one argument per input binding and refuses functions that differ."""
    bindings = {binding.name for binding in function.get_bindings() if binding.name != "$return"}
    parameters = set(inspect.signature(user_function).parameters)
    if parameters != bindings:
        raise DevhostError(
            f"function '{function.get_function_name()}': its parameters {sorted(parameters)} must be "
            f"exactly its bindings {sorted(bindings)} (devhost passes no 'context')"
        )
