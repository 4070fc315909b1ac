"""How much work one request may ask for. Every input is checked against these before work starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Defaults chosen so that a config of 1 MiB cannot ask for more than the app can build in a second
    or store in one Table Storage entity."""

    max_config_bytes: int = 1 << 20
    max_users: int = 10_000
    max_devices: int = 1_000
    max_connections: int = 200_000
