"""The app's configuration files, read the way Core Tools and the Functions host read them."""

import json
import logging
import re
from collections.abc import Mapping, MutableMapping
from datetime import timedelta
from pathlib import Path

from .errors import DevhostError

logger = logging.getLogger("devhost")

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_FUNCTION_TIMEOUT = timedelta(minutes=30)
REQUEST_BODY_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
DEFAULT_REQUEST_BODY_BYTES = 100 * 1024 * 1024  # the host's, when the setting is absent
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})")
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


def load_local_settings(app_dir: Path, environ: MutableMapping[str, str]) -> None:
    """Copy `local.settings.json`'s `Values` into `environ`, as Core Tools does before starting.

    A variable already in the environment wins, so tests and CI can override a value without
    editing the file. The file is optional (it is never committed); its absence is one log line.
    """
    path = app_dir / "local.settings.json"
    if not path.is_file():
        logger.info("No local.settings.json in %s: using the environment only", app_dir)
        return
    for name, value in _read_values(path).items():
        if name in environ:
            logger.info("Skipping '%s' from local.settings.json: already set in the environment", name)
        else:
            environ[name] = value


def _read_values(path: Path) -> dict[str, str]:
    try:
        settings = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        raise DevhostError(f"{path} is not valid JSON: {error}") from error
    if settings.get("IsEncrypted"):
        raise DevhostError(f"{path} is encrypted; devhost reads only plain values (set IsEncrypted to false)")
    values = settings.get("Values", {})
    not_text = [name for name, value in values.items() if not isinstance(value, str)]
    if not_text:
        raise DevhostError(f"{path}: write these Values as strings: {', '.join(not_text)}")
    return values


def read_request_body_limit(environ: Mapping[str, str]) -> int:
    """The largest request body the host reads, in bytes: `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`, or 100 MiB.

    The host reads the whole body before a function runs, so this, not the app's own limit, bounds the
    memory one request takes. Like the host, a value that is not a whole number is ignored (logged here).
    """
    text = environ.get(REQUEST_BODY_LIMIT_SETTING, "").strip()
    if not text:
        return DEFAULT_REQUEST_BODY_BYTES
    try:
        return int(text)
    except ValueError:
        logger.warning("%s=%r is not a number of bytes: the host's default, %d, applies",
                       REQUEST_BODY_LIMIT_SETTING, text, DEFAULT_REQUEST_BODY_BYTES)
        return DEFAULT_REQUEST_BODY_BYTES


def read_route_prefix(app_dir: Path) -> str:
    """`extensions.http.routePrefix` from host.json: `api` when absent, and `""` is allowed."""
    return _read_host_json(app_dir).get("extensions", {}).get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)


def read_function_timeout(app_dir: Path) -> timedelta | None:
    """`functionTimeout` from host.json (`hh:mm:ss` or `d.hh:mm:ss`); the Flex Consumption default of 30
    minutes when absent, None for `-1` (no limit)."""
    text = _read_host_json(app_dir).get("functionTimeout")
    if text is None:
        return DEFAULT_FUNCTION_TIMEOUT
    if str(text).strip() == "-1":
        return None
    match = _TIMESPAN.fullmatch(str(text).strip())
    if match is None:
        raise DevhostError(f"host.json: functionTimeout {text!r} is not a time span like '00:00:30'")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _read_host_json(app_dir: Path) -> dict:
    """host.json itself is required: without it the host does not recognise a function app, and a
    missing file here usually means `--app-dir` points at the wrong directory."""
    path = app_dir / "host.json"
    if not path.is_file():
        raise DevhostError(f"no host.json in {app_dir}: is --app-dir the function app's directory?")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        raise DevhostError(f"{path} is not valid JSON: {error}") from error


def resolve_setting_references(text: str, environ: MutableMapping[str, str]) -> str:
    """Replace each `%NAME%` with the app setting NAME, as the host does for binding properties.

    An unresolved name is an error: the real host refuses to index such a function.
    """
    def setting(match: re.Match) -> str:
        name = match[1]
        if name not in environ:
            raise DevhostError(
                f"'%{name}%' does not resolve to a value: set {name} in local.settings.json or the environment"
            )
        return environ[name]

    return _SETTING_REFERENCE.sub(setting, text)
