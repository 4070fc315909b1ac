"""How messages say a count (``1 user``, ``20,000 connections``) and repeat a value the trainer wrote.

A value may be a megabyte long and repeated by YAML aliases a hundred times, so a message never repeats
more than ``QUOTED_LENGTH`` characters of one: a problem document stays a few kilobytes whatever the config.
"""

QUOTED_LENGTH = 60  # the most of a value a message repeats


def counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def quoted(text: str) -> str:
    """A value in quotes, as Python writes a string (escapes show what is invisible), cut short."""
    if len(text) <= QUOTED_LENGTH:
        return repr(text)
    return repr(text[:QUOTED_LENGTH]) + f"... ({len(text):,} characters)"


def code(text: str) -> str:
    """A value between backticks, as written, cut short."""
    if len(text) <= QUOTED_LENGTH:
        return f"`{text}`"
    return f"`{text[:QUOTED_LENGTH]}...` ({len(text):,} characters)"
