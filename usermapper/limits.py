"""How much work one request may ask for. Every input is checked against these before work starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The web app's defaults: whatever a config within them asks for is answered in well under a second
    and fits one Table Storage entity. The command line has larger ones (``cli.CLI_LIMITS``).

    ``max_nodes`` counts the config's YAML values (scalars, lists, mappings, aliases); ``max_xml_bytes``
    is the generated file's exact size, markup included; ``max_random_characters`` the characters of
    random passwords, which do not compress and are kept twice (in the file and the credentials sheet).
    A 200,000-connection lab shaped like ``examples/big-lab.yaml`` is 68 MB of XML.
    """

    max_config_bytes: int = 1 << 20
    max_nodes: int = 20_000
    max_users: int = 10_000
    max_devices: int = 1_000
    max_connections: int = 200_000
    max_xml_bytes: int = 80_000_000
    max_random_characters: int = 300_000
