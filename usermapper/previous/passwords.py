"""What a lab makes of a previous sheet's passwords: the warnings, and the bytes they change in the file.

A user of a ``password: random`` type who is in the sheet keeps the sheet's password (``lab.expand``
chooses it); the config's own password wins over the sheet's. Two things are worth a warning, located at
the user type in the config: a literal password that is not the one the sheet gave those users (they must
be told the new one), and kept passwords shorter than the type's ``password_length`` now is (kept all the
same: a password replaced silently is one nobody was told).
"""

from __future__ import annotations

from ..lab.model import Lab, Problem, UserType
from ..outputs.user_mapping import password_attribute_size
from ..wording import counted
from .changes import Named
from .sheet import PreviousSheet


def kept_warnings(lab: Lab, sheet: PreviousSheet) -> list[Problem]:
    """One warning per user type whose sheet passwords are replaced by the config's, or kept though short."""
    warnings = []
    for user_type in lab.user_types:
        in_sheet = [name for name in user_type.username.names(user_type.quantity) if name in sheet.passwords]
        if user_type.password is not None:
            differ = _named(name for name in in_sheet if sheet.passwords[name] != user_type.password)
            if differ.count:
                warnings.append(lab.problem(
                    f"users.{user_type.name}.password",
                    f"the config's password replaces the one the previous sheet gave "
                    f"{counted(differ.count, 'user')} ({differ.text()}): tell them the new one"))
            continue
        short = _named(name for name in in_sheet if len(sheet.passwords[name]) < user_type.password_length)
        if short.count:
            warnings.append(lab.problem(
                _length_path(lab, user_type),
                f"{counted(short.count, 'kept password')} {'is' if short.count == 1 else 'are'} shorter than "
                f"{user_type.password_length} characters ({short.text()}); kept all the same, so that nobody "
                f"needs a new one: leave them out of the sheet to give them new ones"))
    return warnings


def size_difference(lab: Lab, sheet: PreviousSheet) -> int:
    """The bytes the kept passwords add to the file (or take from it), against new random ones: a kept
    password may be longer or shorter, or need escaping. A hashed one is a digest of fixed length."""
    difference = 0
    for user_type in lab.user_types:
        if user_type.password is None and user_type.password_encoding == "plain":
            difference += sum(password_attribute_size(sheet.passwords[name]) - user_type.password_length
                              for name in user_type.username.names(user_type.quantity) if name in sheet.passwords)
    return difference


def _named(names) -> Named:
    found = Named()
    for name in names:
        found.add(name)
    return found


def _length_path(lab: Lab, user_type: UserType) -> str:
    written = f"users.{user_type.name}.password_length"
    return written if written in lab.places else f"users.{user_type.name}.password"
