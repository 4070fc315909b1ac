"""The one error devhost raises on purpose."""


class DevhostError(Exception):
    """The app cannot run as written; the message names the function or file and what to change.

    Raised at startup for whatever the real Functions host would refuse to index (an unresolved
    `%SETTING%`, a route under `admin`, a malformed route template), and for what the real host runs
    but devhost does not mirror (other trigger or binding types, route constraints other than
    `maxlength`, catch-all routes), so nothing runs differently without a word.
    """
