"""The original usermapper (blinklet/usermapper v0.3), re-created for the benchmark only: the baseline to beat.

Written here from reading that release's two modules (``usermapper/usermapper.py`` and ``mapperdata.py``),
so that its cost can be measured where it cannot be installed. It follows the same algorithm step by step,
because that algorithm is where the original's time and memory go:

- the config is read with ``yaml.safe_load``, PyYAML's pure-Python loader (not libyaml's);
- the arguments are read by hand from ``sys.argv`` (no argparse);
- every user gets a table of every device built afresh for them (name, then a copy of the device type's
  parameters with the generated hostname put in), and that table is copied once more into the user's
  entry: the work is users x devices dictionaries, not users + devices;
- every user's entry, with its table, is kept in one list until all are built, so memory grows with the
  number of connections (about 99 MB at 200,000);
- a ``random`` password is 8 characters, each drawn with ``secrets.choice``;
- the file is written as text, one ``write`` call per line, indented by four spaces per level, with no XML
  declaration and nothing escaped.

Not part of the package and not for use: it writes broken XML for values holding ``&`` or ``<``, Python's
``True``/``None`` for YAML booleans and nulls, and silently drops clashing names.

    python bench/original_usermapper.py -i config.yaml -o user-mapping.xml
"""

from __future__ import annotations

import secrets
import string
import sys

import yaml

ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 8
STEP = " " * 4


def numbered(prefix: str, suffix: str, index: int) -> str:
    """The ``index``-th name: the suffix's number plus ``index``, zero-padded to the suffix's length."""
    return prefix + str(int(suffix) + index).zfill(len(suffix))


def device_table(config: dict) -> dict[str, dict]:
    """Every device by name, each with its own copy of its type's parameters and its generated hostname."""
    table = {}
    for device in config["devices"].values():
        for index in range(int(device["quantity"])):
            parameters = dict(device["parameters"])
            parameters["hostname"] = numbered(device["hostname_prefix"], device["hostname_suffix"], index)
            table[numbered(device["name_prefix"], device["name_suffix"], index)] = parameters
    return table


def password(value: str) -> str:
    if value != "random":
        return value
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def users(config: dict) -> list[dict]:
    """Every user, each with a device table built for them alone, all kept until the last is built."""
    everyone = []
    for kind in config["users"].values():
        for index in range(int(kind["quantity"])):
            everyone.append({"username": numbered(kind["username_prefix"], kind["username_suffix"], index),
                             "password": password(kind["password"]),
                             "devices": dict(device_table(config))})
    return everyone


def write(everyone: list[dict], path: str) -> None:
    with open(path, "w") as out:
        out.write("<user-mapping>\n")
        for user in everyone:
            out.write(f'{STEP}<authorize username="{user["username"]}" password="{user["password"]}">\n')
            for name, parameters in user["devices"].items():
                out.write(f'{STEP * 2}<connection name="{name}">\n')
                for key, value in parameters.items():
                    if key == "protocol":
                        out.write(f"{STEP * 3}<protocol>{value}</protocol>\n")
                    else:
                        out.write(f'{STEP * 3}<param name="{key}">{value}</param>\n')
                out.write(f"{STEP * 2}</connection>\n")
            out.write(f"{STEP}</authorize>\n")
        out.write("</user-mapping>\n")


def arguments(argv: list[str]) -> tuple[str, str]:
    """``-i``/``--input`` and ``-o``/``--output``, with the original's defaults."""
    paths = {"input": "config.yaml", "output": "user-mapping.xml"}
    names = {"-i": "input", "--input": "input", "-o": "output", "--output": "output"}
    pending = list(argv)
    while pending:
        option = pending.pop(0)
        if option not in names or not pending:
            sys.exit(f"usage: {sys.argv[0]} -i config.yaml -o user-mapping.xml")
        paths[names[option]] = pending.pop(0)
    return paths["input"], paths["output"]


def main() -> None:
    source, target = arguments(sys.argv[1:])
    with open(source) as file:
        config = yaml.safe_load(file)
    write(users(config), target)


if __name__ == "__main__":
    main()
