"""The one generate step, used by the command line and the web app alike.

Config text in; out, the lab and the outputs asked for. ``check`` reads and validates the config and
counts the exact size of its ``user-mapping.xml`` before anything is built, refusing it above the limit;
``Checked.generate`` expands the lab (drawing its random passwords) and every output is written from that
one expansion, so the XML, the credentials sheet, the import files and the password scripts of one
generation always agree.

Given a previous credentials sheet (its bytes: a file, or a form's field), ``check`` reads it with the
config's size limit and the generation keeps its passwords; ``changes`` says what changed since the
previous run (``previous/``, docs/week-two.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import BinaryIO

from .lab import Lab, Problem, UserMapping, expand, read_config
from .limits import Limits
from .outputs.credentials import Sheet, credentials_sheet
from .outputs.import_files import ImportRefused, entries, group_paths, import_file
from .outputs.mysql_names import mysql_problems
from .outputs.password_scripts import check_passwords, passwords_sql
from .outputs.user_mapping import check_file_size, write_user_mapping
from .previous import Changes, PreviousLab, PreviousSheet, changes, read_sheet
from .previous.mapping import no_passwords
from .previous.passwords import kept_warnings, size_difference


@dataclass(frozen=True)
class Checked:
    """A valid lab within the limits, the exact size in bytes of its ``user-mapping.xml``, and the
    previous sheet whose passwords it keeps, if any."""

    lab: Lab
    xml_size: int
    kept: PreviousSheet | None = None

    @cached_property
    def warnings(self) -> list[Problem]:
        return _warnings(self.lab, self.kept)

    def generate(self) -> Generated:
        return Generated(self.lab, self.xml_size, expand(self.lab, kept=self.kept and self.kept.passwords),
                         self.kept)

    def changes(self, previous: PreviousLab | None = None) -> Changes:
        """What changed since ``previous`` (or since the sheet's users), without drawing any password."""
        return changes(expand(self.lab, no_passwords), previous, self.kept, _random_types(self.lab))


@dataclass(frozen=True)
class DatabaseRoute:
    """What Guacamole's database route makes of a lab: the import's entries, or the problems that refuse
    the import; and the problems that refuse both password scripts, or the MySQL one alone."""

    entries: list[dict] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # the connection groups to create before importing
    refused: list[Problem] = field(default_factory=list)
    passwords_refused: list[Problem] = field(default_factory=list)
    passwords_refused_mysql: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ImportFile:
    """Guacamole's connection import in one format, and the connection groups to create before importing it."""

    data: bytes
    groups: list[str]


@dataclass(frozen=True)
class Generated:
    """One generation: the lab expanded into users with their passwords, and every output written from it."""

    lab: Lab
    xml_size: int
    mapping: UserMapping
    kept: PreviousSheet | None = None

    @cached_property
    def warnings(self) -> list[Problem]:
        return _warnings(self.lab, self.kept)

    def changes(self, previous: PreviousLab | None = None) -> Changes:
        """What changed since ``previous`` (or since the sheet's users) to this generation."""
        return changes(self.mapping, previous, self.kept, _random_types(self.lab))

    def write_user_mapping(self, out: BinaryIO) -> None:
        write_user_mapping(self.mapping, out)

    @cached_property
    def credentials(self) -> Sheet:
        """The credentials sheet, made once: the CSV and the cells a spreadsheet would run."""
        return credentials_sheet(self.mapping)

    def import_file(self, format_name: str) -> ImportFile:
        """Guacamole's connection import in one of ``outputs.IMPORT_FORMATS``; raises ``ImportRefused``."""
        found = entries(self.lab, self.mapping)
        return ImportFile(import_file(found, format_name), group_paths(self.lab, found))

    def password_script(self, dialect: str) -> bytes:
        """The SQL that sets every user's password; raises ``ImportRefused`` when it cannot."""
        check_passwords(self.lab, dialect)
        return passwords_sql(((u.username, u.password) for u in self.mapping.users), dialect)

    def database_route(self) -> DatabaseRoute:
        """Everything the database route can say of this lab, whether or not it can be imported."""
        try:
            check_passwords(self.lab, "postgresql")  # what refuses both scripts
            passwords_refused = []
        except ImportRefused as error:
            passwords_refused = error.problems
        mysql_only = mysql_problems(self.lab)  # PostgreSQL compares names exactly, stores any character
        try:
            found = entries(self.lab, self.mapping)
        except ImportRefused as error:
            return DatabaseRoute(refused=error.problems, passwords_refused=passwords_refused,
                                 passwords_refused_mysql=mysql_only)
        return DatabaseRoute(found, group_paths(self.lab, found), [], passwords_refused, mysql_only)


def _warnings(lab: Lab, kept: PreviousSheet | None) -> list[Problem]:
    """The config's warnings, and what it makes of the previous sheet: all located in the config."""
    return [*lab.warnings, *(kept_warnings(lab, kept) if kept else ())]


def check(config: str | bytes, limits: Limits, *, as_json: bool = False, sheet: bytes | None = None) -> Checked:
    """Read and validate ``config``, and the previous credentials ``sheet`` whose passwords to keep; raises
    ``ConfigError`` (its problems, located), ``SheetRefused`` (located in the sheet) or ``FileTooLarge``."""
    lab = read_config(config, limits, as_json=as_json)
    kept = read_sheet(sheet, limits) if sheet is not None else None
    size = check_file_size(lab, limits.max_xml_bytes, size_difference(lab, kept) if kept else 0)
    return Checked(lab, size, kept)


def generate(config: str | bytes, limits: Limits, *, as_json: bool = False, sheet: bytes | None = None
             ) -> Generated:
    return check(config, limits, as_json=as_json, sheet=sheet).generate()


def _random_types(lab: Lab) -> frozenset[str]:
    return frozenset(u.name for u in lab.user_types if u.password is None)
