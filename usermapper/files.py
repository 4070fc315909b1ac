"""The files the command line reads and writes: the config within its bound, and every output, all or none.

Each output is planned before the config is read (``plan``), by what its name is now, following links:

- ``-`` is standard output, written into.
- A regular file, or no file yet, is replaced atomically: written to a temporary file in its own directory,
  renamed over it at the end. Through a symbolic link, the link's target is replaced and the link kept.
- A character device (a terminal, ``/dev/null``) or a FIFO is written into, as ``cp`` and ``sort -o`` do,
  and never replaced.
- A directory, a block device (a disk) or a socket is refused before anything is written.

``write_all`` writes every file it replaces to its temporary file, then writes into every device, FIFO or
standard output, and only then renames the temporary files into place: the last steps, cheap, and taken
with SIGINT, SIGTERM and SIGHUP held. Whatever fails before that leaves every file as it was (a device or a
FIFO may have taken part of its output). While ``removing_temporaries_on_signals`` is in force, one of those
signals removes every temporary file and ends the process by that signal.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

STDIO = "-"
BUFFER = 1 << 20
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

Writer = Callable[[BinaryIO], object]


class NotWritten(Exception):
    """A file that cannot be written, and why; ``replaced`` names the files already renamed into place."""

    def __init__(self, name: str, reason: str, code: int | None = None, replaced: tuple[str, ...] = ()):
        super().__init__(name, reason)
        self.name, self.reason, self.errno, self.replaced = name, reason, code, replaced

    @classmethod
    def of(cls, name: str, error: OSError) -> NotWritten:
        return cls(name, error.strerror or str(error), error.errno)

    def __str__(self) -> str:
        done = f"; {', '.join(self.replaced)} already replaced" if self.replaced else ""
        return f"cannot write {'standard output' if self.name == STDIO else self.name}: {self.reason}{done}"


class TooLarge(Exception):
    """The config (or ``what`` else is read) is larger than the limit: ``size`` when known (a regular
    file), else None."""

    def __init__(self, size: int | None, limit: int, what: str = "the config"):
        super().__init__(size, limit)
        self.size, self.limit, self.what = size, limit, what

    def __str__(self) -> str:
        if self.size is None:
            return (f"{self.what} is larger than {self.limit:,} bytes, the largest accepted; "
                    f"it was read no further")
        return f"{self.what} is {self.size:,} bytes; the largest accepted is {self.limit:,} bytes"


def read_bounded(name: str, limit: int, what: str = "the config") -> bytes:
    """The config (or ``what`` else) at ``name`` (``-``: standard input), read no further than ``limit`` + 1
    bytes; raises ``TooLarge`` above the limit (a regular file by its size, unread) and ``OSError``."""
    with open_bounded(name, limit, what) as file:
        return file.read(limit + 1)  # in one piece where the file gives it so; the byte past the limit raises


@contextmanager
def open_bounded(name: str, limit: int, what: str) -> Iterator[io.BufferedReader]:
    """``name`` (``-``: standard input) open for reading in a stream that raises ``TooLarge`` as soon as
    more than ``limit`` bytes are read (a regular file larger than that by its size, before reading), for
    what is parsed as it is read (a previous user-mapping.xml)."""
    with open(0 if name == STDIO else name, "rb", buffering=0, closefd=name != STDIO) as file:
        info = os.fstat(file.fileno())
        start = file.tell() if stat.S_ISREG(info.st_mode) else 0
        if stat.S_ISREG(info.st_mode) and info.st_size - start > limit:  # standard input may be part read
            raise TooLarge(info.st_size - start, limit, what)
        yield io.BufferedReader(_Bounded(file, limit, what), BUFFER)


class _Bounded(io.RawIOBase):
    """A file read no further than one byte past ``limit``; that byte raises ``TooLarge``."""

    def __init__(self, file: BinaryIO, limit: int, what: str):
        super().__init__()
        self.file, self.left, self.limit, self.what = file, limit, limit, what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.file.read(min(len(buffer), self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise TooLarge(None, self.limit, self.what)
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class Target:
    """Where one output goes: a regular file to replace (``path``, the link's target for a link), or a file
    to write into (``path`` None for standard output). ``identity`` is the (device, inode) of the regular
    file or FIFO there now; None for no file yet, and for a character device (a terminal, /dev/null) or a
    socket, which several outputs and the input may share.
    ``path`` stays relative when the name is: a run works in a directory whose parents it cannot search."""

    name: str
    path: str | None
    replace: bool
    identity: tuple[int, int] | None

    def is_same(self, other: Target) -> bool:
        if self.identity is not None:
            return self.identity == other.identity
        return (self.replace and other.replace and other.identity is None
                and os.path.realpath(self.path) == os.path.realpath(other.path))


def plan(name: str) -> Target:
    """Where the output named ``name`` goes; raises ``NotWritten`` for what is never written."""
    if name == STDIO:
        try:
            return Target(name, None, False, _identity(os.fstat(1)))
        except OSError:
            return Target(name, None, False, None)  # closed: the write says so
    if not name:
        raise NotWritten(name, os.strerror(errno.ENOENT), errno.ENOENT)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise NotWritten.of(name, error) from None
    if info is None or stat.S_ISREG(info.st_mode):
        path = _link_target(name)
        if info is None:
            _check_directory(name, os.path.dirname(path) or os.curdir)
        return Target(name, path, True, _identity(info))
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return Target(name, name, False, _identity(info))
    if stat.S_ISDIR(info.st_mode):
        raise NotWritten(name, os.strerror(errno.EISDIR), errno.EISDIR)
    kind = ("a block device" if stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
            else "not a file")
    raise NotWritten(name, f"{kind}, which usermapper never writes")


def input_identity(name: str) -> tuple[int, int] | None:
    """The (device, inode) of the config at ``name`` (``-``: standard input) when it is a regular file or a
    FIFO, else None (a terminal, a socket, a file that cannot be read)."""
    try:
        return _identity(os.fstat(0) if name == STDIO else os.stat(name))
    except OSError:
        return None


def _identity(info: os.stat_result | None) -> tuple[int, int] | None:
    if info is None or not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        return None
    return info.st_dev, info.st_ino


def _link_target(name: str) -> str:
    """The file a chain of symbolic links named ``name`` ends at (``name`` itself when it is no link), or would
    end at when the last link dangles."""
    path = name
    for _ in range(40):
        try:
            link = os.readlink(path)
        except OSError:  # no link, or no file
            return path
        path = os.path.join(os.path.dirname(path), link)
    raise NotWritten(name, os.strerror(errno.ELOOP), errno.ELOOP)


def _check_directory(name: str, directory: str) -> None:
    try:
        info = os.stat(directory)
    except OSError as error:
        raise NotWritten.of(name, error) from None
    if not stat.S_ISDIR(info.st_mode):
        raise NotWritten(name, os.strerror(errno.ENOTDIR), errno.ENOTDIR)


def write_all(outputs: list[tuple[Target, int | None, Writer]]) -> None:
    """Write each output, in order, with its writer: a file replaced gets ``mode``, or else the mode of the
    file it replaces or the umask's, and keeps the owner and group of the file it replaces where this user
    may give them. All are committed, or none (see the module's docstring); raises ``NotWritten`` naming the
    file asked for."""
    pending: list[tuple[Target, str]] = []
    try:
        for target, mode, write in outputs:
            if target.replace:
                with _naming(target):
                    handle, temporary = _temporary_beside(target.path)
                    pending.append((target, temporary))
                    with os.fdopen(handle, "wb", buffering=BUFFER) as file:
                        write(file)
                    _keep_owner(temporary, target.path)
                    os.chmod(temporary, _mode_for(target.path) if mode is None else mode)
        for target, _, write in outputs:
            if not target.replace:
                with _naming(target):
                    _write_into(target, write)
        for target, _ in pending:
            with _naming(target):
                _check_renamable(target)
        _commit(pending)
    finally:
        for _, temporary in pending:
            _remove(temporary)


@contextmanager
def _naming(target: Target) -> Iterator[None]:
    """An ``OSError`` becomes a ``NotWritten`` naming the file asked for, not the temporary one."""
    try:
        yield
    except OSError as error:
        raise NotWritten.of(target.name, error) from None


def _write_into(target: Target, write: Writer) -> None:
    if target.path is None:
        if sys.stdout is None:
            raise OSError(errno.EBADF, "it is closed")
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    handle = os.open(target.path, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))  # never O_CREAT
    mode = os.fstat(handle).st_mode
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # it changed since it was planned
        os.close(handle)
        raise NotWritten(target.name, "it is no longer a device or a FIFO")
    with os.fdopen(handle, "wb", buffering=BUFFER) as file:
        write(file)


def _check_renamable(target: Target) -> None:
    """Refuse, before any file is renamed, what the rename would refuse: a directory there now, or a file
    of another owner in a sticky directory (as /tmp is)."""
    try:
        info = os.lstat(target.path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    directory = os.stat(os.path.dirname(target.path) or os.curdir)
    if directory.st_mode & stat.S_ISVTX and os.geteuid() not in (0, info.st_uid, directory.st_uid):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))


def _commit(pending: list[tuple[Target, str]]) -> None:
    """Rename every temporary file into place, with the signals held; a rename failing after another took
    place cannot be undone, so the error names the files already replaced."""
    replaced: list[str] = []
    with _signals_held():
        while pending:
            target, temporary = pending[0]
            try:
                os.replace(temporary, target.path)
            except OSError as error:
                raise NotWritten(target.name, error.strerror or str(error), error.errno, tuple(replaced)) from None
            _temporaries.discard(temporary)
            pending.pop(0)
            replaced.append(target.name)


def _keep_owner(temporary: str, path: str) -> None:
    """Give the temporary file the owner and group of the file it replaces (root may; another user may keep
    the group when a member of it): a user-mapping.xml of group tomcat, 0640, stays readable by Tomcat."""
    if not hasattr(os, "chown"):
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    made = os.stat(temporary)
    if (made.st_uid, made.st_gid) == (info.st_uid, info.st_gid):
        return
    for owner in (info.st_uid, -1):
        try:
            os.chown(temporary, owner, info.st_gid)
            return
        except PermissionError:
            continue


def _mode_for(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# -- signals -------------------------------------------------------------------------------------------------

_temporaries: set[str] = set()  # every temporary file that exists now


def _temporary_beside(path: str) -> tuple[int, str]:
    """A new file, 0600, in the directory of ``path``, named as ``path`` is: relative when it is relative."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = os.path.join(os.path.dirname(path), f".usermapper-{os.urandom(6).hex()}.tmp")
        with _signals_held():  # made and known together: a signal never misses a temporary file
            try:
                handle = os.open(temporary, flags, 0o600)
            except FileExistsError:
                continue
            _temporaries.add(temporary)
        return handle, temporary
    raise FileExistsError(errno.EEXIST, "no temporary file name was free")


def _remove(temporary: str) -> None:
    with _signals_held():
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        _temporaries.discard(temporary)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the end of the block."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextmanager
def removing_temporaries_on_signals() -> Iterator[None]:
    """While in force, SIGINT, SIGTERM and SIGHUP (unless ignored) remove every temporary file, then end
    the process by that signal: no traceback, and the shell sees the signal. Outside the main thread, a
    no-op (Python delivers signals to the main thread alone)."""
    try:
        before = {signum: signal.getsignal(signum) for signum in SIGNALS}
        for signum, handler in before.items():
            if handler != signal.SIG_IGN:
                signal.signal(signum, _on_signal)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _on_signal(signum: int, frame: object) -> None:
    for temporary in list(_temporaries):
        try:
            os.unlink(temporary)
        except OSError:
            pass
    _temporaries.clear()
    signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)
    raise SystemExit(128 + signum)  # only where the signal did not end the process
