"""Temporary files: named so no reader takes them for data, locked while in use, removed once stale.

A whole-file write goes to a temporary file beside its target and is renamed over it at the end; a
spool goes to the system's temporary folder. A process killed with ``kill -9`` leaves its temporary
files behind, so they are named ``.{name}.{host}-{pid}-{random}.patchline-tmp``: hidden, and ending in
no extension any reader looks for (``samples/*.jsonl`` never lists one). The writer holds an exclusive
``flock`` on the file while it writes. :func:`remove_stale` (run by the next writer in that folder)
deletes a temporary file when its writer is gone: on this host its pid no longer runs; from another
host (a shared volume) nobody holds its lock and it is older than :data:`STALE_AFTER_S`.

Temporary files of earlier versions (``.tmp-XXXXXXXX-{name}``) are recognised and removed the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from typing import IO

try:  # POSIX; elsewhere writers are not locked and only the pid tells
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["STALE_AFTER_S", "TEMP_SUFFIX", "is_temp_name", "locked_temp", "remove_stale", "spool"]

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".patchline-tmp"
STALE_AFTER_S = 3600.0  # a temporary file of another host, unlocked this long, is abandoned

_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_OURS = re.compile(r"\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + r"\Z")
_LEGACY = re.compile(r"\A\.tmp-[a-z0-9_]{8}-.")  # tempfile.mkstemp(prefix=".tmp-", suffix="-{name}")
_SHOWN_NAME_BYTES = 40  # the target's name is only a hint for humans: keep temp names short


def is_temp_name(name: str) -> bool:
    """True when ``name`` (a file name, no folder) is a temporary file of patchline, never data."""
    return name.endswith(TEMP_SUFFIX) or bool(_LEGACY.match(name))


_NEW_FILE_MODE = 0o666  # what open() asks for; the process umask takes its bits away


def _umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def locked_temp(folder: str, target_name: str) -> tuple[IO[bytes], str]:
    """A new temporary file in ``folder`` for writing ``target_name``, open for writing and locked.

    Its mode is what an appended file would get (``0666 & ~umask``), not mkstemp's 0600: it becomes the
    artifact, and a harness running as another user must be able to read predictions.
    """
    shown = target_name.encode("utf-8")[:_SHOWN_NAME_BYTES].decode("utf-8", "ignore")
    fd, path = tempfile.mkstemp(dir=folder, prefix=f".{shown}.{_HOST}-{os.getpid()}-", suffix=TEMP_SUFFIX)
    os.fchmod(fd, _NEW_FILE_MODE & ~_umask())
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file made just now: nobody else can hold it
    return os.fdopen(fd, "wb"), path


def remove_stale(folder: str) -> int:
    """Delete the temporary files in ``folder`` whose writers are gone; returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not is_temp_name(entry.name) or not _is_stale(entry):
            continue
        with contextlib.suppress(OSError):  # gone already, or someone else's (a shared temp folder)
            os.unlink(entry.path)
            removed += 1
    if removed:
        log.info("%s: removed %d temporary file(s) left by interrupted runs", folder, removed)
    return removed


def _is_stale(entry: os.DirEntry[str]) -> bool:
    if not entry.is_file(follow_symlinks=False) or _is_locked(entry.path):
        return False
    ours = _OURS.search(entry.name)
    if ours is not None and ours["host"] == _HOST:
        return not _runs(int(ours["pid"]))
    try:
        age = time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    return age > STALE_AFTER_S


def _runs(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _is_locked(path: str) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # cannot tell: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: its writer holds it
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def spool(target_name: str) -> Iterator[tuple[IO[bytes], str]]:
    """A locked temporary file in the system's temporary folder, removed on leaving (even on error)."""
    handle, path = locked_temp(tempfile.gettempdir(), target_name)
    try:
        yield handle, path
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
