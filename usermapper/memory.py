"""Big buffers given back to the system when freed, where the C library is glibc.

A download decompresses the whole file (up to ~80 MB) and a big lab's POST builds many buffers of a few
MB. glibc's malloc serves a block of ``M_MMAP_THRESHOLD`` bytes or more (128 KiB at start) with a mapping
of its own, unmapped when it is freed; but the threshold is dynamic: freeing such a block raises it to the
block's size, up to 32 MiB, and the trim threshold to twice that. After the first big request, buffers
below 32 MiB come from the heap of the thread's arena (one per server thread, up to 8 per core) and their
pages stay with the process when freed: measured through devhost, RSS went from 45 MB fresh to ~160 MB
after one pass of the hostile configs and ~230 MB after three, so a later 80 MB download peaked past
300 MB. Setting the threshold once turns the dynamic adjustment off: a block at or above it is always
mapped on its own and always unmapped when freed. With it, the same passes leave ~75-90 MB and the 80 MB
download peaks at ~170 MB. 1 MiB rather than glibc's starting 128 KiB: at 128 KiB every zstd context and
every 256 KiB piece of a response was mapped and faulted in afresh, which made small flows and big
downloads measurably slower for a few MB less; at 4 MiB the passes left ~95 MB and still growing.

Called once before the app serves its first request (``function_app.api()``), in devhost and in the
Functions Python worker alike; it changes process-wide settings, so it does nothing where the C library
is not glibc (macOS, musl), where these settings do not exist or mean something else. It overrides a
threshold given to glibc through the environment (``MALLOC_MMAP_THRESHOLD_``, ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import os

# mallopt(3) parameters, from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES  # as glibc's own dynamic rule sets it, but fixed

_tuned = False


def glibc_version() -> str | None:
    """``"2.36"`` on glibc, None on any other C library (``confstr`` has no such name there)."""
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not value or not value.startswith("glibc "):
        return None
    return value.split()[1]


def keep_big_buffers_out_of_the_heap() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; True if they were set, False off glibc.

    Only the first call that sets them acts; later ones return True at once.
    """
    global _tuned
    if _tuned:
        return True
    if glibc_version() is None:
        return False
    import ctypes  # imported here: off glibc, and at cold start, nothing pays for it

    libc = ctypes.CDLL(None)
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _tuned

