"""A dict that makes each missing value from its key, once: the outputs' caches of serialized texts."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class Made(dict):
    """A dict that makes a missing value with ``make(key)`` and keeps it: ``map(made.__getitem__, keys)``
    costs no Python call for a key made already (``collections.defaultdict`` does not pass the key)."""

    def __init__(self, make: Callable[[Hashable], Any]):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value
