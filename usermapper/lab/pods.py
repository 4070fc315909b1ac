"""The owner number in a pod device type's name and hostname prefixes: ``{pod}`` and ``{pod:02}``.

A prefix such as ``10.0.{pod}.`` or ``pod{pod:02}-kali`` is split once into its literal text and its
placeholders; ``render`` puts an owner's number in. docs/config.md says what pods are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{pod(?::0([1-9]))?\}")
MENTION = re.compile(r"\{pod")  # where a placeholder was meant, written or not


@dataclass(frozen=True)
class Template:
    """A prefix as literal pieces around placeholders: ``pieces`` has one more item than ``widths``."""

    pieces: tuple[str, ...]
    widths: tuple[int, ...]  # each placeholder's zero-padded width (0: as many digits as the number has)

    @property
    def literal(self) -> str:
        """The prefix without its placeholders: what is the same for every owner."""
        return "".join(self.pieces)

    def render(self, owner: int) -> str:
        parts = [self.pieces[0]]
        for width, piece in zip(self.widths, self.pieces[1:]):
            parts += (f"{owner:0{width}d}", piece)
        return "".join(parts)


def template(prefix: str) -> Template:
    pieces, widths, at = [], [], 0
    for found in PLACEHOLDER.finditer(prefix):
        pieces.append(prefix[at:found.start()])
        widths.append(int(found.group(1) or 0))
        at = found.end()
    pieces.append(prefix[at:])
    return Template(tuple(pieces), tuple(widths))


def malformed(prefix: str) -> bool:
    """True when ``{pod`` appears other than as ``{pod}`` or ``{pod:0N}``."""
    return len(MENTION.findall(prefix)) != len(PLACEHOLDER.findall(prefix))


def has_placeholder(prefix: str) -> bool:
    return PLACEHOLDER.search(prefix) is not None


def instructor_label(username: str) -> str:
    """What goes before the name of an owner's pod device in the list of a ``pods: all`` user, so that
    the name says whose it is (``student07 PC``). The one place this naming is written."""
    return f"{username} "
