"""The command line, compatible with the original tool: ``usermapper -i config.yaml -o user-mapping.xml``.

A thin layer over the library: read_config -> expand -> write_user_mapping. The output file is written
to a temporary file beside it and renamed at the end, so a failed run never leaves half a file behind.
A file replaced keeps its mode (an /etc/guacamole/user-mapping.xml readable only by Guacamole stays so);
a new one gets the umask's; the credentials sheet, which holds passwords, is always 0600.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from .config import ConfigError, Lab, Problem, read_config
from .credentials import credentials_csv
from .expand import expand
from .limits import Limits
from .xmlwriter import FileTooLarge, check_file_size, write_user_mapping

STDIO = "-"
EXIT_INVALID = 2
SECRET_MODE = 0o600

# The command line builds files on the trainer's own machine, so it takes far bigger labs than the web app.
CLI_LIMITS = Limits(max_config_bytes=64 << 20, max_nodes=4_000_000, max_users=1_000_000, max_devices=100_000,
                    max_connections=50_000_000, max_xml_bytes=20_000_000_000, max_random_characters=200_000_000)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        source = _read_input(args.input)
    except OSError as error:
        print(f"usermapper: cannot read {args.input}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        lab = read_config(source, CLI_LIMITS)
        check_file_size(lab, CLI_LIMITS.max_xml_bytes)
    except ConfigError as error:
        _report(args.input, error.problems)
        return EXIT_INVALID
    except FileTooLarge as error:
        print(f"usermapper: {args.input}: {error}", file=sys.stderr)
        return EXIT_INVALID
    _report(args.input, lab.warnings, "warning: ")
    try:
        if args.check:
            print(_summary(args.input, lab), flush=True)
            return 0
        mapping = expand(lab)
        if args.credentials:  # first: a file of random passwords nobody can read is worse than none
            with _output(args.credentials, mode=SECRET_MODE) as out:
                out.write(credentials_csv(mapping))
        with _output(args.output) as out:
            write_user_mapping(mapping, out)
    except BrokenPipeError:  # whoever read standard output has gone, as in `usermapper -o - | head`
        _discard_stdout()
        return 1
    except OSError as error:
        print(f"usermapper: cannot write {error.filename or args.output}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="usermapper",
        description="Turn a YAML lab description into Apache Guacamole's user-mapping.xml.")
    parser.add_argument("-i", "--input", default="config.yaml",
                        help="the lab config (default: config.yaml; - for standard input)")
    parser.add_argument("-o", "--output", default="user-mapping.xml",
                        help="where to write the XML (default: user-mapping.xml; - for standard output)")
    parser.add_argument("--credentials", metavar="FILE",
                        help="also write a CSV of every user's type, username and password")
    parser.add_argument("--check", action="store_true",
                        help="only validate the config and print a summary; write nothing")
    return parser


def _read_input(path: str) -> bytes:
    if path == STDIO:
        return sys.stdin.buffer.read()
    with open(path, "rb") as file:
        return file.read()


@contextmanager
def _output(path: str, mode: int | None = None) -> Iterator[BinaryIO]:
    """Write ``path`` atomically, with ``mode``, or else the mode of the file it replaces or the umask's."""
    if path == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".usermapper-", suffix=".tmp")
        with os.fdopen(handle, "wb", buffering=1 << 20) as file:
            yield file
        os.chmod(temporary, _mode_for(path) if mode is None else mode)
        os.replace(temporary, path)
    except BaseException as error:
        if temporary:
            os.unlink(temporary)
        if isinstance(error, OSError):  # name the file asked for, not the temporary one
            raise OSError(error.errno, error.strerror, path) from None
        raise


def _mode_for(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's last flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(source: str, problems, label: str = "") -> None:
    name = "<stdin>" if source == STDIO else source
    for problem in problems:
        print(_located(name, problem, label), file=sys.stderr)


def _located(name: str, problem: Problem, label: str) -> str:
    field = f"{problem.path}: " if problem.path else ""
    return f"{name}:{problem.line}:{problem.column}: {label}{field}{problem.message}"


def _summary(source: str, lab: Lab) -> str:
    name = "<stdin>" if source == STDIO else source
    devices = sum(d.quantity for d in lab.device_types)
    return (f"{name}: valid: {_count(lab.user_count, 'user')} in {_count(len(lab.user_types), 'type')}, "
            f"{_count(devices, 'device')} in {_count(len(lab.device_types), 'type')}, "
            f"{_count(lab.connection_count, 'connection')}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
