"""How much work one request may ask for. Every input is checked against these before work starts."""

from __future__ import annotations


class Limits:
    """The web app's defaults: whatever a config within them asks for is answered in well under a second
    and fits one Table Storage entity. The command line has larger ones (``cli.CLI_LIMITS``).

    ``max_nodes`` counts the config's YAML values (scalars, lists, mappings, aliases); ``max_xml_bytes``
    is the generated file's exact size, markup included; ``max_random_characters`` the characters of
    random passwords, which do not compress and are kept twice (in the file and the credentials sheet).
    A 200,000-connection lab shaped like ``examples/big-lab.yaml`` is 68 MB of XML.

    Each class attribute is a limit's default (``Limits.max_users``, as settings.py reads it);
    ``Limits(max_users=100)`` changes some by keyword, and cannot be changed after. A plain class, neither a
    dataclass (config.py says why not) nor a namedtuple, whose class attributes are not the defaults.
    """

    max_config_bytes: int = 1 << 20
    max_nodes: int = 20_000
    max_users: int = 10_000
    max_devices: int = 1_000
    max_connections: int = 200_000
    max_xml_bytes: int = 80_000_000
    max_random_characters: int = 300_000

    def __init__(self, **limits: int) -> None:
        for name, value in limits.items():
            if name not in _NAMES:
                raise TypeError(f"Limits() got an unexpected keyword argument {name!r}")
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: Limits cannot be changed")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: Limits cannot be changed")

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in _NAMES)

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Limits) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"Limits({', '.join(f'{name}={getattr(self, name)!r}' for name in _NAMES)})"


_NAMES = tuple(Limits.__annotations__)
