"""Guacamole's parameter tokens: what it does to a value with ``${`` in it before guacd sees it.

At connect time, file authentication runs every connection parameter through its token filter
(``org.apache.guacamole.token.TokenFilter`` in guacamole-ext): ``${GUAC_USERNAME}`` and the other standard
tokens become the user's values, ``$${NAME}`` becomes the literal ``${NAME}``, an unknown ``${NAME}`` is
left as it is. The filter matches tokens with a regular expression whose leading text cannot cross a line
break, and writes out only the text each match covers: so the text between one token (or the start) and
a later line holding a token is dropped, and a token at the very start of a line is not substituted.
``sent()`` repeats that filter, with the known tokens standing for themselves, so a warning can say what
guacd will receive instead of what the trainer wrote.
"""

from __future__ import annotations

import re

from ..wording import code, quoted

KNOWN = ("GUAC_USERNAME", "GUAC_PASSWORD", "GUAC_CLIENT_ADDRESS", "GUAC_CLIENT_HOSTNAME", "GUAC_DATE",
         "GUAC_TIME")
MODIFIERS = ("LOWER", "UPPER")
SHOWN_UNKNOWN = 5  # unknown token names a warning lists
MAX_FOLLOWED = 100  # a value with more ${ than this is not followed token by token: no real value has them

# The token part of the filter's own pattern: the token's name, then ":" and a modifier. Its quantifiers
# are possessive here (the filter's are greedy): each alternative starts with a different character, so
# giving characters back never lets a match succeed, and without that a long value with no closing brace
# would be rescanned once for every character. (Possessive quantifiers need Python 3.11: pyproject.toml.)
_TOKEN = re.compile(r"\$\{((?:[^{}:]++|:(?!(?:LOWER|UPPER|OPTIONAL)(?=\}))|\{(?:[^{}]++|\{[^{}]*+\})*+\})++)"
                    r"(:(?:(LOWER|UPPER|OPTIONAL))(?=\}))?\}")  # groups: name, ":modifier", modifier
_OPENING = re.compile(r"\$\{")


def sent(value: str) -> str:
    """The value as guacd receives it, a known token still written as itself (its value varies)."""
    return _filtered(value, _candidates(value))[0]


def problem(value: str) -> str | None:
    """A sentence for a value Guacamole changes or leaves surprising; None for plain text and known tokens."""
    openings = value.count("${")
    if not openings:
        return None
    if openings > MAX_FOLLOWED:
        return (f"holds {openings:,} ${{: Guacamole runs every parameter through its token substitution, which "
                f"may change this value before guacd sees it; check what it sends")
    candidates = _candidates(value)
    received, matched = _filtered(value, candidates)
    if received != value:
        return (f"Guacamole's token substitution changes it before guacd sees it: guacd receives {quoted(received)}"
                f" ($${{ stands for a literal ${{, and text before a line that holds a token is dropped)")
    missed = [token for token in candidates if token.start() not in matched]
    if missed:
        return (f"{code(missed[0].group())} starts a line, and Guacamole substitutes no token there: it is sent as "
                f"written (put any character before it on that line)")
    unknown = sorted({token.group(1) for token in candidates if _is_unknown(token.group(1), token.group(3))})
    if unknown:
        names = ", ".join(code(f"${{{name}}}") for name in unknown[:SHOWN_UNKNOWN])
        if len(unknown) > SHOWN_UNKNOWN:
            names += f" and {len(unknown) - SHOWN_UNKNOWN:,} more"
        return (f"{names} is no token Guacamole knows (it knows {', '.join(KNOWN)}, with :LOWER or :UPPER); "
                f"it is sent as written")
    return None


def _candidates(value: str) -> list[re.Match]:
    """Every token the filter's pattern could match, one for each ``${`` that opens one."""
    return [token for opening in _OPENING.finditer(value) if (token := _TOKEN.match(value, opening.start()))]


def _filtered(value: str, candidates: list[re.Match]) -> tuple[str, set[int]]:
    """The filter's output, and where each token it matched starts.

    The filter's pattern begins with a lazy ``(.*?)(^|.)``, which a regular-expression engine tries again
    from every position: quadratic on a long line. This walks the candidate tokens once instead, with
    the same outcome: a token is matched when it opens the value, or when the character before it is on
    its line and after the last match; the text from the last match (or from the start of the token's
    line, when a line break lies between) up to that character is kept, and whatever lies before is not.
    """
    output, matched, end = [], set(), 0
    for token in candidates:
        t = token.start()
        if t < end or (t > 0 and (t - 1 < end or value[t - 1] == "\n")):
            continue
        line_start = value.rfind("\n", end, t) + 1 or end  # the match begins after the last line break
        escape = value[t - 1] if t > 0 else ""
        output.append(value[max(line_start, end) : max(t - 1, 0)])
        output.append(token.group() if escape == "$" else escape + token.group())
        matched.add(t)
        end = token.end()
    output.append(value[end:])
    return "".join(output), matched


def _is_unknown(name: str, modifier: str | None) -> bool:
    return name not in KNOWN or (modifier is not None and modifier not in MODIFIERS)
