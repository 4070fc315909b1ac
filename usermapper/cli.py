"""The command line, compatible with the original tool: ``usermapper -i config.yaml -o user-mapping.xml``.

A thin layer over ``generate.py``: the arguments, and the run. ``files.py`` reads the config within its
bound and writes the outputs, all or none: a regular file is replaced atomically (through a link, the
link's target), a device, a FIFO or standard output is written into, and what is never written (a
directory, a disk) or would overwrite the config or another output is refused before anything is written.
A file replaced keeps its mode (an /etc/guacamole/user-mapping.xml readable only by Guacamole stays so); a
new one gets the umask's; the credentials sheet and the password script, which hold passwords, are 0600.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .files import (
    NotWritten,
    Target,
    TooLarge,
    input_identity,
    open_bounded,
    plan,
    read_bounded,
    removing_temporaries_on_signals,
    write_all,
)
from .generate import Checked, Generated, ImportFile, check
from .lab import ConfigError, Lab, Problem
from .limits import Limits
from .outputs import IMPORT_FORMATS, SIGN_IN_LINKS, SQL_DIALECTS, USER_MAPPING
from .outputs.import_files import ImportRefused
from .outputs.password_scripts import check_passwords
from .outputs.signin_links import (
    LinksRefused,
    SignInLinks,
    check_base_url,
    expiry_text,
    parse_expires,
    parse_key,
    sign_in_links,
    warnings,
)
from .outputs.summary import lab_facts
from .outputs.user_mapping import FileTooLarge
from .previous import (
    Changes,
    PreviousLab,
    PreviousRefused,
    SheetRefused,
    is_user_mapping,
    previous_lab,
    read_user_mapping,
)
from .wording import counted

STDIO = "-"
EXIT_INVALID = 2
EXIT_NOT_WRITTEN = 1
SECRET_MODE = 0o600
# What each output option writes, in the order the files are written and renamed: the credentials sheet
# first, since a file of random passwords nobody can read is worse than none.
# The options of sign-in links, by the attribute argparse gives each; the key is never an argument.
LINK_OPTIONS = {"--json-secret-key-file": "json_secret_key_file", "--expires": "expires",
                "--single-use": "single_use", "--guacamole-url": "guacamole_url"}
KEY_VARIABLE = "USERMAPPER_JSON_SECRET_KEY"
KEY_FILE_BYTES = 4096
OUTPUTS = {"--credentials": "sheet", "--passwords-sql": "script", "-o": "file"}
# The files of a previous run that are read, by option, and the one output each may be replaced by: the
# week-two run reads passwords.csv and user-mapping.xml, then writes them again (docs/week-two.md).
PREVIOUS_INPUTS = {"--keep-passwords": ("keep_passwords", "--credentials", "sheet whose passwords are kept"),
                   "--previous": ("previous", "-o", "previous file")}

# The command line builds files on the trainer's own machine, so it takes far bigger labs than the web app.
CLI_LIMITS = Limits(max_config_bytes=64 << 20, max_nodes=4_000_000, max_users=1_000_000, max_devices=100_000,
                    max_connections=50_000_000, max_xml_bytes=20_000_000_000, max_random_characters=200_000_000)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.passwords_sql and args.passwords_sql[0] not in SQL_DIALECTS:
        parser.error(f"--passwords-sql: the dialect is {' or '.join(SQL_DIALECTS)}, not {args.passwords_sql[0]!r}")
    if args.format != SIGN_IN_LINKS.name:
        given = [option for option, attribute in LINK_OPTIONS.items() if getattr(args, attribute)]
        if given:
            parser.error(f"{given[0]} is for --format {SIGN_IN_LINKS.name} alone")
    elif not args.expires or not args.guacamole_url:
        parser.error(f"--format {SIGN_IN_LINKS.name} needs --expires WHEN and --guacamole-url URL, and the key "
                     f"in --json-secret-key-file FILE or the environment variable {KEY_VARIABLE}")
    if args.output is None:
        args.output = SIGN_IN_LINKS.filename if args.format == SIGN_IN_LINKS.name else USER_MAPPING.filename
    clash = _same_output(args)
    if clash:
        print(f"usermapper: {clash}", file=sys.stderr)
        return EXIT_INVALID
    with removing_temporaries_on_signals():
        try:
            return _run(args)
        except MemoryError:  # the limits allow labs larger than some machines can hold
            print(f"usermapper: {_name(args.input)}: this machine ran out of memory for this lab", file=sys.stderr)
            return EXIT_NOT_WRITTEN


def _run(args: argparse.Namespace) -> int:
    targets: dict[str, Target] = {}
    links = None
    if args.format == SIGN_IN_LINKS.name and not args.check:
        try:
            links = link_options(args)
        except ValueError as error:
            print(f"usermapper: {error}", file=sys.stderr)
            return EXIT_INVALID
    if not args.check:  # which writes nothing: its outputs are not looked at
        try:
            targets = {option: plan(name) for option, name in _outputs(args).items()}
        except NotWritten as error:
            print(f"usermapper: {error}", file=sys.stderr)
            return EXIT_NOT_WRITTEN
        clash = _same_file(args, targets)
        if clash:
            print(f"usermapper: {clash}", file=sys.stderr)
            return EXIT_INVALID
        clash = _previous_overwritten(args, targets)
        if clash:
            print(f"usermapper: {clash}", file=sys.stderr)
            return EXIT_INVALID
        key_file = input_identity(args.json_secret_key_file) if links and args.json_secret_key_file else None
        overwritten = next((option for option, target in targets.items() if key_file and target.identity == key_file),
                           None)
        if overwritten:
            print(f"usermapper: {overwritten} and --json-secret-key-file name one file; the "
                  f"{OUTPUTS[overwritten]} would overwrite the key", file=sys.stderr)
            return EXIT_INVALID
    source = _read(args.input, "the config")
    if source is None:
        return EXIT_INVALID
    sheet = None
    if args.keep_passwords:
        sheet = _read(args.keep_passwords, "the credentials sheet")
        if sheet is None:
            return EXIT_INVALID
    try:
        checked = check(source, CLI_LIMITS, sheet=sheet)
    except ConfigError as error:
        _report(args.input, error.problems)
        return EXIT_INVALID
    except SheetRefused as error:
        _report(args.keep_passwords, error.problems)
        return EXIT_INVALID
    except FileTooLarge as error:
        print(f"usermapper: {args.input}: {error}", file=sys.stderr)
        return EXIT_INVALID
    try:
        previous = _read_previous(args.previous) if args.previous else None
    except PreviousRefused as error:
        _report(args.previous, error.problems)
        return EXIT_INVALID
    except TooLarge as error:
        _report(args.previous, [Problem("", 0, 0, str(error))])
        return EXIT_INVALID
    except OSError as error:
        _cannot_read(args.previous, error)
        return EXIT_INVALID
    lab = checked.lab
    _report(args.input, checked.warnings, "warning: ")
    unseen = _unseen_passwords(lab)
    if unseen and not args.credentials and not args.check and links is None:
        print(f"usermapper: {_name(args.input)}: users.{unseen}: random passwords stored only as hashes would "
              f"reach nobody; add --credentials FILE to write them down", file=sys.stderr)
        return EXIT_INVALID
    try:
        if args.passwords_sql:
            check_passwords(lab, args.passwords_sql[0])
        if args.check:
            return _print_summary(args, checked, previous)
        generated = checked.generate()
        made = _links(args.input, generated, links) if links else None
        imported = None if args.format in (USER_MAPPING.name, SIGN_IN_LINKS.name) else generated.import_file(
            args.format)
    except (ImportRefused, LinksRefused) as error:
        _report(args.input, error.problems)
        return EXIT_INVALID
    return _write(args, targets, generated, imported, made, previous)


def _links(source: str, generated: Generated, options: LinkOptions) -> SignInLinks:
    """Every user's sign-in link, after the warnings of what they cannot give; raises ``LinksRefused``."""
    _report(source, warnings(generated.lab), "warning: ")
    return sign_in_links(generated.lab, generated.mapping, options.key, options.expires, options.url,
                         options.single_use)


@dataclass(frozen=True)
class LinkOptions:
    key: bytes = field(repr=False)  # never printed
    expires: int
    url: str
    single_use: bool


def link_options(args: argparse.Namespace) -> LinkOptions:
    """The key (from its file or the environment), the expiry and the address; raises ``ValueError`` with a
    message that never holds the key."""
    if args.json_secret_key_file:
        try:
            text = read_bounded(args.json_secret_key_file, KEY_FILE_BYTES).decode("utf-8", "replace")
        except TooLarge:
            raise ValueError(f"{args.json_secret_key_file}: a key file is 32 hex digits, not over "
                             f"{KEY_FILE_BYTES:,} bytes") from None
        except OSError as error:
            raise ValueError(f"cannot read {args.json_secret_key_file}: {error.strerror}") from None
        where = args.json_secret_key_file
    elif os.environ.get(KEY_VARIABLE):
        text, where = os.environ[KEY_VARIABLE], KEY_VARIABLE
    else:
        raise ValueError(f"--format {SIGN_IN_LINKS.name} needs the key Guacamole's json-secret-key holds: in "
                         f"--json-secret-key-file FILE, or in the environment variable {KEY_VARIABLE}")
    try:
        key = parse_key(text)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    try:
        expires = parse_expires(args.expires, datetime.now(UTC))
    except ValueError as error:
        raise ValueError(f"--expires: {error}") from None
    try:
        url = check_base_url(args.guacamole_url)
    except ValueError as error:
        raise ValueError(f"--guacamole-url: {error}") from None
    return LinkOptions(key, expires, url, args.single_use)


def _write(args: argparse.Namespace, targets: dict[str, Target], generated: Generated,
           imported: ImportFile | None, links: SignInLinks | None = None, previous: PreviousLab | None = None) -> int:
    """Write every file asked for, all or none (``files.write_all``); the links, like the passwords, 0600."""
    data = links.csv if links else imported.data if imported else None
    writers = {"-o": generated.write_user_mapping if data is None else (lambda out: out.write(data))}
    if args.credentials:
        writers["--credentials"] = lambda out: out.write(generated.credentials.csv)
    if args.passwords_sql:
        script = generated.password_script(args.passwords_sql[0])
        writers["--passwords-sql"] = lambda out: out.write(script)
    size = generated.xml_size if data is None else len(data)
    output_mode = SECRET_MODE if links else None
    try:
        write_all([(targets[option], output_mode if option == "-o" else SECRET_MODE, writers[option])
                   for option in OUTPUTS if option in writers])
    except NotWritten as error:
        if error.name == STDIO and error.errno == errno.EPIPE and not error.replaced:
            _discard_stdout()  # whoever read standard output has gone, as in `usermapper -o - | head`
        else:
            print(f"usermapper: {error}", file=sys.stderr)
        return EXIT_NOT_WRITTEN
    sheet_warning = generated.credentials.warning() if args.credentials else None
    if sheet_warning:
        print(f"usermapper: warning: {_where(args.credentials)}: {sheet_warning}", file=sys.stderr)
    if not args.quiet:
        print(_done(args, generated, size), file=sys.stderr)
        if links is not None:
            print(f"usermapper: {counted(len(links.links), 'sign-in link')}, each valid until "
                  f"{expiry_text(links.expires)}{', once' if args.single_use else ''}", file=sys.stderr)
        if imported is not None:
            print("usermapper: Guacamole 1.6.0 imports only into connection groups that exist; create these "
                  "first: " + _quoted_list(imported.groups), file=sys.stderr)
        if args.keep_passwords or args.previous:
            print("usermapper: " + _changes(args, generated.changes(previous)), file=sys.stderr)
    return 0


def _read(name: str, what: str) -> bytes | None:
    """The config or the sheet at ``name``, within the config's limit; or None, once it has said why not."""
    try:
        return read_bounded(name, CLI_LIMITS.max_config_bytes, what)
    except TooLarge as error:
        _report(name, [Problem("", 0, 0, str(error))])
    except OSError as error:
        _cannot_read(name, error)
    return None


def _cannot_read(name: str, error: OSError) -> None:
    print(f"usermapper: cannot read {'standard input' if name == STDIO else name}: {error.strerror}", file=sys.stderr)


def _read_previous(name: str) -> PreviousLab:
    """The previous user-mapping.xml (read as it streams, up to the largest file the command line writes) or
    the previous config; raises ``TooLarge``, ``PreviousRefused`` or ``OSError``."""
    with open_bounded(name, CLI_LIMITS.max_xml_bytes, "the previous file") as stream:
        if is_user_mapping(stream.peek(64)):
            return read_user_mapping(stream, CLI_LIMITS)
        config = stream.read(CLI_LIMITS.max_config_bytes + 1)
    if len(config) > CLI_LIMITS.max_config_bytes:
        raise TooLarge(None, CLI_LIMITS.max_config_bytes, "the previous file")
    return previous_lab(config, CLI_LIMITS)


def _changes(args: argparse.Namespace, changes: Changes) -> str:
    """``changes since FILE:`` and the change summary's lines, indented."""
    since = args.previous or args.keep_passwords
    return "\n".join([f"changes since {_name(since)}:", *(f"  {line}" for line in changes.lines())])


def _previous_overwritten(args: argparse.Namespace, targets: dict[str, Target]) -> str | None:
    """Why an output would overwrite a previous run's file before it is read, or None. The sheet whose
    passwords are kept may be the sheet written, and the previous file the file written: each is read
    first, then replaced whole."""
    for option, (attribute, replaced_by, what) in PREVIOUS_INPUTS.items():
        name = getattr(args, attribute)
        identity = input_identity(name) if name else None
        if identity is None:
            continue
        for output, target in targets.items():
            if target.identity == identity and not (output == replaced_by and target.replace):
                return (f"{output} and {option} both name {_as(_outputs(args)[output], name)}; the "
                        f"{OUTPUTS[output]} would overwrite the {what}")
    return None


def _outputs(args: argparse.Namespace) -> dict[str, str]:
    """The name each output option was given, for the options given."""
    names = {"--credentials": args.credentials, "--passwords-sql": args.passwords_sql and args.passwords_sql[1]}
    return {**{option: name for option, name in names.items() if name}, "-o": args.output}


def _same_output(args: argparse.Namespace) -> str | None:
    """Why two outputs cannot both go to standard output, or two inputs come from standard input, or None."""
    readers = [option for option, name in (("-i", args.input), ("--keep-passwords", args.keep_passwords),
                                           ("--previous", args.previous)) if name == STDIO]
    if len(readers) > 1:
        return f"{readers[0]} - and {readers[1]} - would both read standard input; name a file for one"
    if args.passwords_sql and args.passwords_sql[1] == STDIO and STDIO in (args.output, args.credentials):
        return "only one of -o, --credentials and --passwords-sql may write to standard output"
    if args.credentials == STDIO and args.output == STDIO:
        return "-o - and --credentials - would mix the XML and the passwords on standard output; name a file for one"
    return None


def _same_file(args: argparse.Namespace, targets: dict[str, Target]) -> str | None:
    """Why an output would overwrite the config or another output (one file under two names, through a link
    or a hard link, or standard output redirected to it), or None. A character device (a terminal,
    /dev/null) may take several, and the input too."""
    names = _outputs(args)
    config = input_identity(args.input)
    for option, target in targets.items():
        if config is not None and target.identity == config:
            if args.input == STDIO:
                return f"{option} names the file on standard input; the {OUTPUTS[option]} would overwrite the config"
            return (f"{option} and -i both name {_as(args.input, names[option])}; the {OUTPUTS[option]} would "
                    f"overwrite the config")
    order = ["-o", "--credentials", "--passwords-sql"]  # the first named is the one overwritten
    given = [option for option in order if option in targets]
    for at, first in enumerate(given):
        for second in given[at + 1:]:
            if targets[first].is_same(targets[second]):
                return (f"{first} and {second} both name {_as(names[first], names[second])}; the "
                        f"{OUTPUTS[second]} would overwrite the {OUTPUTS[first]}")
    return None


def _as(name: str, other: str) -> str:
    return name if name == other else f"{name} (as {other})"


def _unseen_passwords(lab: Lab) -> str | None:
    """The first user type whose random passwords the file holds only as hashes, or None."""
    return next((u.name for u in lab.user_types if u.password is None and u.password_encoding != "plain"), None)


def _done(args: argparse.Namespace, generated: Generated, size: int) -> str:
    sheet = f"; passwords in {_where(args.credentials)}" if args.credentials else ""
    if args.passwords_sql:
        sheet += f"; {args.passwords_sql[0]} password script in {_where(args.passwords_sql[1])}"
    kind = "" if args.format == USER_MAPPING.name else f" of {args.format}"
    mapping = generated.mapping
    return (f"usermapper: wrote {size:,} bytes{kind} to {_where(args.output)}: {counted(mapping.user_count, 'user')}, "
            f"{counted(mapping.connection_count, 'connection')}{sheet}")


def _quoted_list(names: list[str]) -> str:
    """Names as JSON strings: a name holding ", ", a quote or a line break still reads as one name."""
    return ", ".join(json.dumps(name, ensure_ascii=False) for name in names)


def _where(path: str) -> str:
    return "standard output" if path == STDIO else path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="usermapper",
        description="Turn a YAML lab description into Apache Guacamole's user-mapping.xml.")
    parser.add_argument("-i", "--input", default="config.yaml",
                        help="the lab config (default: config.yaml; - for standard input)")
    parser.add_argument("-o", "--output", default=None,
                        help="where to write the XML (default: user-mapping.xml, or sign-in-links.csv for the "
                             "links; - for standard output)")
    imports = [f.name for f in IMPORT_FORMATS]
    parser.add_argument("--format", choices=[USER_MAPPING.name, *imports, SIGN_IN_LINKS.name],
                        default=USER_MAPPING.name,
                        help=f"{USER_MAPPING.name} (the XML, default), Guacamole 1.6's connection import as "
                             f"{', '.join(imports[:-1])} or {imports[-1]}, or {SIGN_IN_LINKS.name}: a CSV of "
                             f"each user's link into Guacamole's encrypted JSON authentication")
    parser.add_argument("--json-secret-key-file", metavar="FILE",
                        help=f"{SIGN_IN_LINKS.name}: the file holding json-secret-key, 32 hex digits (else the "
                             f"environment variable {KEY_VARIABLE}; never an argument, which ps shows)")
    parser.add_argument("--expires", metavar="WHEN",
                        help=f"{SIGN_IN_LINKS.name}: when the links stop working, an ISO 8601 instant "
                             f"(2026-12-10T17:00Z) or a duration from now (8h, 90m, 1d12h)")
    parser.add_argument("--single-use", action="store_true",
                        help=f"{SIGN_IN_LINKS.name}: each link signs in once (Guacamole remembers it until restarted)")
    parser.add_argument("--guacamole-url", metavar="URL",
                        help=f"{SIGN_IN_LINKS.name}: Guacamole's address, https://guacamole.example.org/guacamole")
    parser.add_argument("--passwords-sql", nargs=2, metavar=("DIALECT", "FILE"), type=str,
                        help=f"also write the SQL that sets every user's password in Guacamole's database "
                             f"after the import; DIALECT is {' or '.join(SQL_DIALECTS)}")
    parser.add_argument("--credentials", metavar="FILE",
                        help="also write a CSV of every user's type, username and password")
    parser.add_argument("--keep-passwords", metavar="FILE",
                        help="keep the random passwords of a previous credentials sheet (a CSV with username and "
                             "password columns; may be the --credentials file); users not in it get new ones")
    parser.add_argument("--previous", metavar="FILE",
                        help="the previous user-mapping.xml (may be the -o file) or lab config: say what changed")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on success (problems and warnings are still printed)")
    parser.add_argument("--check", action="store_true",
                        help="only validate the config and print a summary; write nothing")
    return parser


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's last flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(source: str, problems, label: str = "") -> None:
    name = _name(source)
    for problem in problems:
        print(_located(name, problem, label), file=sys.stderr)


def _located(name: str, problem: Problem, label: str) -> str:
    field = f"{problem.path}: " if problem.path else ""
    return f"{name}:{problem.line}:{problem.column}: {label}{field}{problem.message}"


def _name(source: str) -> str:
    return "<stdin>" if source == STDIO else source


def _print_summary(args: argparse.Namespace, checked: Checked, previous: PreviousLab | None) -> int:
    text = _summary(args.input, checked.lab)
    if args.keep_passwords or args.previous:
        text += "\n" + _changes(args, checked.changes(previous))
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _discard_stdout()
        return 1
    except OSError as error:  # a full disk under `usermapper --check > summary.txt`
        print(f"usermapper: cannot write standard output: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def _summary(source: str, lab: Lab) -> str:
    """What ``--check`` prints: the facts the page's picture of the lab shows, as text."""
    first, *rest = lab_facts(lab)
    return "\n".join([f"{_name(source)}: valid: {first}", *(f"  {fact}" for fact in rest)])
