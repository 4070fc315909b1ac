"""Route templates, parsed and matched the way the Functions host does it.

The host hands each HTTP function's template to ASP.NET Core's template router: a leading and a
trailing `/` are ignored, literals compare case-insensitively, a `{name}` takes one non-empty segment
and `{name?}` may be absent. Of the router's inline constraints only `maxlength(n)` is mirrored, the one
this app uses. Anything else (another constraint, a catch-all `{*name}`, a default value, text around a
parameter) is refused at startup, so a route never quietly matches differently here than in Azure.
"""

import re
from dataclasses import dataclass
from itertools import zip_longest

from .errors import DevhostError

_PARAMETER = re.compile(r"\{(?P<name>[^{}:?*=/]+)(?P<constraints>(?::[^:?{}]+)*)(?P<optional>\?)?\}")
_MAX_LENGTH = re.compile(r"maxlength\((?P<length>[0-9]+)\)", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """One `/`-separated part of a template: literal text, or a single parameter."""

    literal: str | None = None
    parameter: str | None = None
    optional: bool = False
    max_length: int | None = None

    def accepts(self, value: str) -> bool:
        if self.literal is not None:
            return value.casefold() == self.literal.casefold()
        return bool(value) and (self.max_length is None or len(value) <= self.max_length)


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; `text` is the template as the host sees it (prefix included)."""

    text: str
    segments: tuple[Segment, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for `path` (percent-decoded, starting with `/`), or None if it does not match.

        An absent optional parameter gives no value at all, as in the host, which leaves null route
        values out of `route_params`.
        """
        values: dict[str, str] = {}
        for segment, value in zip_longest(self.segments, _split_path(path)):
            if segment is None:  # more of the path than of the template
                return None
            if value is None:
                if not segment.optional:
                    return None
            elif not segment.accepts(value):
                return None
            elif segment.parameter is not None:
                values[segment.parameter] = value
        return values


def parse_route(template: str) -> RouteTemplate:
    """Parse a route template, refusing what the host would refuse and what devhost does not mirror."""
    text = template.removeprefix("/").removesuffix("/")
    segments = tuple(_parse_segment(part, template) for part in (text.split("/") if text else []))
    names = [segment.parameter.casefold() for segment in segments if segment.parameter]
    if len(names) != len(set(names)):
        raise DevhostError(f"route '{template}': a parameter name appears twice")
    return RouteTemplate(text=template, segments=segments)


def _parse_segment(part: str, template: str) -> Segment:
    if not part:
        raise DevhostError(f"route '{template}': '/' cannot appear twice in a row")
    if "{" not in part and "}" not in part:
        return Segment(literal=part)
    match = _PARAMETER.fullmatch(part)
    if match is None:
        raise DevhostError(
            f"route '{template}': devhost supports segments that are plain text or exactly one "
            f"{{parameter}} (no catch-all, no default value, no text around it), not '{part}'"
        )
    lengths = []
    for constraint in match["constraints"].split(":")[1:]:
        known = _MAX_LENGTH.fullmatch(constraint)
        if known is None:
            raise DevhostError(
                f"route '{template}': devhost does not know the constraint '{constraint}' (it knows maxlength(n))"
            )
        lengths.append(int(known["length"]))
    return Segment(parameter=match["name"], optional=bool(match["optional"]), max_length=min(lengths, default=None))


def _split_path(path: str) -> list[str]:
    """Path segments as ASP.NET Core's PathTokenizer sees them: one trailing slash is ignored."""
    trimmed = path[1:].removesuffix("/")
    return trimmed.split("/") if trimmed else []
