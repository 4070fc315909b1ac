"""Route templates, parsed and matched the way the Functions host does it.

The host hands each HTTP function's template to ASP.NET Core's template router: a leading and a
trailing `/` are ignored, literals compare case-insensitively, a `{name}` takes one non-empty
segment, `{name?}` may be absent, `{*name}` takes the rest of the path. The grammar here is the
subset this project uses; anything else is refused at startup, so a route never quietly matches
differently here than in Azure.
"""

import re
from dataclasses import dataclass
from typing import Optional

from .errors import DevhostError

_PARAMETER = re.compile(
    r"\{(?P<stars>\*{1,2})?(?P<name>[^{}:?*=/]+)(?P<constraints>(?::[^:?{}]+)*)(?P<optional>\?)?\}"
)
_CONSTRAINT = re.compile(r"(?P<name>[A-Za-z]+)(?:\((?P<argument>[0-9]+)\))?")
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_LETTERS = re.compile(r"[A-Za-z]*")


def _is_int32(value: str, _argument: Optional[int]) -> bool:
    """ASP.NET's `int`: what Int32.TryParse accepts (sign, surrounding spaces, 32-bit range)."""
    return bool(_INTEGER.fullmatch(value)) and -(2**31) <= int(value) < 2**31


def _is_letters(value: str, _argument: Optional[int]) -> bool:
    """ASP.NET's `alpha`: ASCII letters only."""
    return bool(_LETTERS.fullmatch(value))


def _has_min_length(value: str, length: int) -> bool:
    return len(value) >= length


def _has_max_length(value: str, length: int) -> bool:
    return len(value) <= length


def _has_length(value: str, length: int) -> bool:
    return len(value) == length


# name -> (test, whether it takes a number in parentheses)
_CONSTRAINT_TESTS = {
    "int": (_is_int32, False),
    "alpha": (_is_letters, False),
    "minlength": (_has_min_length, True),
    "maxlength": (_has_max_length, True),
    "length": (_has_length, True),
}


@dataclass(frozen=True)
class Constraint:
    """One inline constraint such as `int` or `maxlength(0)`."""

    name: str
    argument: Optional[int]

    def accepts(self, value: str) -> bool:
        test, _ = _CONSTRAINT_TESTS[self.name]
        return test(value, self.argument)


@dataclass(frozen=True)
class Segment:
    """One `/`-separated part of a template: literal text, or a single parameter."""

    literal: Optional[str] = None
    parameter: Optional[str] = None
    optional: bool = False
    catch_all: bool = False
    constraints: tuple[Constraint, ...] = ()

    def accepts(self, value: str) -> bool:
        return all(constraint.accepts(value) for constraint in self.constraints)


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; `text` is the template as the host sees it (prefix included)."""

    text: str
    segments: tuple[Segment, ...]

    def match(self, path: str) -> Optional[dict[str, str]]:
        """Route values for `path` (percent-decoded, starting with `/`), or None if it does not match.

        An absent optional parameter or an empty catch-all gives no value at all, as in the host,
        which leaves null route values out of `route_params`.
        """
        request_segments = _split_path(path)
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                return _with_catch_all(values, segment, _rest_of_path(path, index))
            if index >= len(request_segments):
                if segment.optional:
                    continue
                return None
            value = request_segments[index]
            if segment.literal is not None:
                if value.casefold() != segment.literal.casefold():
                    return None
            elif value and segment.accepts(value):
                values[segment.parameter] = value
            else:
                return None
        if len(request_segments) > len(self.segments):
            return None
        return values


def parse_route(template: str) -> RouteTemplate:
    """Parse a route template, refusing what the host would refuse and what devhost cannot match."""
    text = template[1:] if template.startswith("/") else template
    text = text[:-1] if text.endswith("/") else text
    parts = text.split("/") if text else []
    segments = tuple(_parse_segment(part, template) for part in parts)
    _check_parameters(segments, template)
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
            f"{{parameter}} (no default values, no text around it), not '{part}'"
        )
    catch_all = bool(match["stars"])
    optional = bool(match["optional"])
    if catch_all and optional:
        raise DevhostError(f"route '{template}': a catch-all parameter cannot be marked optional")
    constraints = tuple(_parse_constraint(text, template) for text in match["constraints"].split(":")[1:])
    return Segment(parameter=match["name"], optional=optional, catch_all=catch_all, constraints=constraints)


def _parse_constraint(text: str, template: str) -> Constraint:
    match = _CONSTRAINT.fullmatch(text)
    known = match is not None and match["name"].lower() in _CONSTRAINT_TESTS
    if not known:
        supported = ", ".join(sorted(_CONSTRAINT_TESTS))
        raise DevhostError(f"route '{template}': devhost does not know the constraint '{text}' (it knows {supported})")
    name = match["name"].lower()
    _, takes_argument = _CONSTRAINT_TESTS[name]
    if takes_argument != (match["argument"] is not None):
        usage = f"{name}(n)" if takes_argument else name
        raise DevhostError(f"route '{template}': write the constraint '{text}' as {usage}")
    argument = int(match["argument"]) if takes_argument else None
    return Constraint(name=name, argument=argument)


def _check_parameters(segments: tuple[Segment, ...], template: str) -> None:
    names = [segment.parameter.casefold() for segment in segments if segment.parameter]
    if len(names) != len(set(names)):
        raise DevhostError(f"route '{template}': a parameter name appears twice")
    if any(segment.catch_all for segment in segments[:-1]):
        raise DevhostError(f"route '{template}': a catch-all parameter must be the last segment")


def _split_path(path: str) -> list[str]:
    """Path segments as ASP.NET Core's PathTokenizer sees them: one trailing slash is ignored."""
    trimmed = path[1:]
    trimmed = trimmed[:-1] if trimmed.endswith("/") else trimmed
    return trimmed.split("/") if trimmed else []


def _rest_of_path(path: str, index: int) -> str:
    """Everything after the first `index` segments, slashes (and a trailing slash) included."""
    parts = path[1:].split("/", index)
    return parts[index] if len(parts) > index else ""


def _with_catch_all(values: dict[str, str], segment: Segment, rest: str) -> Optional[dict[str, str]]:
    if not rest:
        return values
    if not segment.accepts(rest):
        return None
    return {**values, segment.parameter: rest}
