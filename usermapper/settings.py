"""The app's settings, read once from the environment.

Core Tools and the local host (devhost) load ``local.settings.json`` into the environment; in Azure they
are app settings. Every setting has a default, so an empty environment gives a working app on Azurite.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping
from urllib.parse import urlsplit

from .limits import Limits

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


class SettingError(ValueError):
    """A setting holds a value the app cannot use; the message names the setting."""


@dataclass(frozen=True)
class StorageTarget:
    """Where the session table lives: a connection string, or an endpoint reached with an identity."""

    connection_string: str | None = None
    table_endpoint: str | None = None


@dataclass(frozen=True)
class Settings:
    storage: StorageTarget = field(default_factory=lambda: StorageTarget(DEVELOPMENT_STORAGE))
    table_name: str = "usermappings"
    session_lifetime: timedelta = timedelta(hours=1)
    limits: Limits = field(default_factory=Limits)
    allowed_origins: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            storage=_storage_target(env),
            table_name=env.get("USERMAPPER_TABLE") or "usermappings",
            session_lifetime=timedelta(seconds=_positive_number(env, "USERMAPPER_SESSION_SECONDS", 3600)),
            limits=Limits(
                max_config_bytes=int(_positive_number(env, "USERMAPPER_MAX_CONFIG_BYTES", Limits.max_config_bytes)),
                max_users=int(_positive_number(env, "USERMAPPER_MAX_USERS", Limits.max_users)),
                max_devices=int(_positive_number(env, "USERMAPPER_MAX_DEVICES", Limits.max_devices)),
                max_connections=int(_positive_number(env, "USERMAPPER_MAX_CONNECTIONS", Limits.max_connections)),
                max_xml_bytes=int(_positive_number(env, "USERMAPPER_MAX_XML_BYTES", Limits.max_xml_bytes)),
            ),
            allowed_origins=_origins(env, "USERMAPPER_ALLOWED_ORIGINS"),
        )


def _storage_target(env: Mapping[str, str]) -> StorageTarget:
    """Our own ``USERMAPPER_STORAGE`` wins over the host's ``AzureWebJobsStorage``.

    Each may be a connection string, or (identity-based, as the Functions host spells it) the pair of
    settings ``<NAME>__tableServiceUri`` or ``<NAME>__accountName``.
    """
    for name in ("USERMAPPER_STORAGE", "AzureWebJobsStorage"):
        if env.get(name):
            return StorageTarget(connection_string=env[name])
        if env.get(f"{name}__tableServiceUri"):
            return StorageTarget(table_endpoint=env[f"{name}__tableServiceUri"].rstrip("/"))
        if env.get(f"{name}__accountName"):
            account = env[f"{name}__accountName"]
            return StorageTarget(table_endpoint=f"https://{account}.table.core.windows.net")
    return StorageTarget(connection_string=DEVELOPMENT_STORAGE)


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingError(f"{name} must be a number greater than 0, not {raw!r}")
    return value


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Origins besides the app's own whose pages may POST and DELETE (a front end on another name):
    comma separated, each ``scheme://host[:port]`` exactly as a browser writes it in ``Origin``."""
    origins = tuple(part.strip().lower() for part in env.get(name, "").split(",") if part.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or origin != f"{parts.scheme}://{parts.netloc}":
            raise SettingError(f"{name} must list origins such as https://lab.example.org, comma separated, "
                               f"with no path or trailing slash; {origin!r} is not one")
    return origins
