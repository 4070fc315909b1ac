"""The original usermapper's approach, re-created for the benchmark only: the baseline to beat.

It does what the original tool did, the way it did it: load the YAML with ``yaml.safe_load``, build the
whole file in memory as one Python string with plain string writes (every user's connections written out
again, nothing escaped), then write that string to the file. Not part of the package and not for use:
it writes broken XML for values holding ``&`` or ``<``, and silently drops clashing names.

    python bench/original_usermapper.py -i config.yaml -o user-mapping.xml
"""

from __future__ import annotations

import argparse
import secrets
import string

import yaml

ALPHABET = string.ascii_letters + string.digits


def numbered(prefix: str, suffix: str, count: int) -> list[str]:
    width, start = len(str(suffix)), int(suffix)
    return [prefix + str(start + i).zfill(width) for i in range(count)]


def generate(config: dict) -> str:
    devices = {}
    for device in config["devices"].values():
        names = numbered(device["name_prefix"], device["name_suffix"], device["quantity"])
        hosts = numbered(device["hostname_prefix"], device["hostname_suffix"], device["quantity"])
        for name, host in zip(names, hosts):
            parameters = dict(device["parameters"])
            parameters["hostname"] = host
            devices[name] = parameters
    users = {}
    for user in config["users"].values():
        for name in numbered(user["username_prefix"], user["username_suffix"], user["quantity"]):
            password = user["password"]
            if password == "random":
                password = "".join(secrets.choice(ALPHABET) for _ in range(12))
            users[name] = password

    xml = "<user-mapping>\n"
    for username, password in users.items():
        xml += f'    <authorize username="{username}" password="{password}">\n'
        for name, parameters in devices.items():
            xml += f'        <connection name="{name}">\n'
            xml += f'            <protocol>{parameters["protocol"]}</protocol>\n'
            for key, value in parameters.items():
                if key != "protocol":
                    xml += f'            <param name="{key}">{value}</param>\n'
            xml += "        </connection>\n"
        xml += "    </authorize>\n"
    xml += "</user-mapping>\n"
    return xml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-i", "--input", default="config.yaml")
    parser.add_argument("-o", "--output", default="user-mapping.xml")
    args = parser.parse_args()
    with open(args.input) as file:
        config = yaml.safe_load(file)
    with open(args.output, "w") as file:
        file.write(generate(config))


if __name__ == "__main__":
    main()
