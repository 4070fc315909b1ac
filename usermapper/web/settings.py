"""The app's settings, read once from the environment.

Core Tools and the local host (devhost) load ``local.settings.json`` into the environment; in Azure they
are app settings. Every setting has a default, so an empty environment gives a working app on Azurite.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping
from urllib.parse import urlsplit

from ..limits import Limits

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


class SettingError(ValueError):
    """A setting holds a value the app cannot use; the message names the setting."""


@dataclass(frozen=True)
class StorageTarget:
    """Where the session table lives: a connection string, or an https endpoint reached with an identity.

    With an endpoint, ``managed_identity`` says the token comes from the app's managed identity
    (``__credential=managedidentity``), and ``client_id`` names a user-assigned one; without
    ``managed_identity`` the token comes from whatever ``DefaultAzureCredential`` finds (``az login``).
    """

    connection_string: str | None = None
    table_endpoint: str | None = None
    managed_identity: bool = False
    client_id: str | None = None


@dataclass(frozen=True)
class Settings:
    storage: StorageTarget = field(default_factory=lambda: StorageTarget(DEVELOPMENT_STORAGE))
    table_name: str = "usermappings"  # the prefix of the tables: one per expiry hour, <prefix><YYYYMMDDHH>
    session_lifetime: timedelta = timedelta(hours=1)
    limits: Limits = field(default_factory=Limits)
    allowed_origins: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            storage=_storage_target(env),
            table_name=_table_prefix(env, "USERMAPPER_TABLE", "usermappings"),
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


STORAGE_SETTINGS = ("USERMAPPER_STORAGE", "AzureWebJobsStorage")
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
# A table name is 3 to 63 letters and digits, starting with a letter; the store appends YYYYMMDDHH.
TABLE_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,52}")


def _storage_target(env: Mapping[str, str]) -> StorageTarget:
    """Our own ``USERMAPPER_STORAGE`` wins over the host's ``AzureWebJobsStorage``, read as the Functions
    host reads a connection.

    Each is a connection string, or identity-based settings named ``<NAME>__<property>``: the first of
    ``__tableServiceUri``, ``__accountName``, ``__blobServiceUri`` and ``__queueServiceUri`` gives the table
    endpoint (the same account's ``.table.`` endpoint), and ``__credential`` / ``__clientId`` the identity.
    Without any of them the app uses Azurite, except in Azure (``WEBSITE_SITE_NAME`` set), where that can
    only be a mistake: a SettingError.
    """
    for name in STORAGE_SETTINGS:
        if env.get(name):
            if env.get("WEBSITE_SITE_NAME") and env[name].strip().lower().startswith("usedevelopmentstorage"):
                raise SettingError(f"{name} points at the storage emulator ({env[name]!r}), which does not exist "
                                   f"in Azure; set it, or {name}__accountName, to the app's storage account")
            return StorageTarget(connection_string=env[name])
        endpoint = _table_endpoint(env, name)
        if endpoint:
            return StorageTarget(table_endpoint=endpoint, **_identity(env, name))
    if env.get("WEBSITE_SITE_NAME"):
        raise SettingError("no storage is set: set AzureWebJobsStorage (a connection string, or "
                           "AzureWebJobsStorage__accountName with AzureWebJobsStorage__credential=managedidentity) "
                           "or USERMAPPER_STORAGE the same way")
    return StorageTarget(connection_string=DEVELOPMENT_STORAGE)


def _table_endpoint(env: Mapping[str, str], name: str) -> str | None:
    if env.get(f"{name}__tableServiceUri"):
        return _service_uri(env, f"{name}__tableServiceUri", "table", keep=True)
    if env.get(f"{name}__accountName"):
        account = env[f"{name}__accountName"].strip()
        if not ACCOUNT_NAME.fullmatch(account):
            raise SettingError(f"{name}__accountName must be a storage account name (3 to 24 lower-case letters "
                               f"and digits), not {account!r}")
        return f"https://{account}.table.core.windows.net"
    for service in ("blob", "queue"):
        if env.get(f"{name}__{service}ServiceUri"):
            return _service_uri(env, f"{name}__{service}ServiceUri", service)
    return None


def _service_uri(env: Mapping[str, str], setting: str, service: str, keep: bool = False) -> str:
    """The table endpoint of the account whose ``service`` endpoint the setting holds (``keep``: the
    setting's own endpoint, which must be https but may have any host name)."""
    raw = env[setting].strip()
    parts = urlsplit(raw)
    # <account>.<service>.core.windows.net, and the same shape in every other cloud.
    host = re.fullmatch(rf"(?P<account>[a-z0-9]{{3,24}})\.{service}\.(?P<suffix>[a-z0-9.-]+)", parts.hostname or "")
    if parts.scheme != "https" or parts.path not in ("", "/") or parts.query or not (host or keep and parts.hostname):
        raise SettingError(f"{setting} must be the account's {service} endpoint, such as "
                           f"https://account.{service}.core.windows.net, not {raw!r}")
    if keep:
        return raw.rstrip("/")
    return f"https://{host['account']}.table.{host['suffix']}"


def _identity(env: Mapping[str, str], name: str) -> dict:
    credential = env.get(f"{name}__credential", "").strip()
    if credential and credential.lower() != "managedidentity":
        raise SettingError(f"{name}__credential must be managedidentity (or unset), not {credential!r}")
    return {"managed_identity": bool(credential), "client_id": env.get(f"{name}__clientId", "").strip() or None}


def _table_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    prefix = env.get(name) or default
    if not TABLE_PREFIX.fullmatch(prefix):
        raise SettingError(f"{name} must be 1 to 53 letters and digits starting with a letter (the app adds "
                           f"the hour, YYYYMMDDHH, to name each hour's table), not {prefix!r}")
    return prefix


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
