"""OS errors on a user's path as patchline errors: one line naming the path, with the exit code of its kind.

A directory given where a file goes, a missing parent, a name too long, no permission, a full disk: the
store and the readers of user files translate the ``OSError`` where it arises, so every command reports
``patchline: error: <path>: <reason>`` instead of a traceback.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from patchline.core.errors import ArtifactNotFoundError, InputError, PatchlineError, UnavailableError

__all__ = ["os_errors", "path_error"]

# Trouble of the machine or the storage, not of the path the user gave: retrying later may work.
_UNAVAILABLE = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.ETIMEDOUT,
        errno.EAGAIN,
        errno.EBUSY,
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENOMEM,
        errno.EMFILE,
        errno.ENFILE,
    }
)
_REASONS = {
    errno.EISDIR: "is a directory, not a file",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOENT: "no such file or directory",
    errno.EEXIST: "exists and is not a folder",
}


def path_error(exc: OSError, where: str) -> PatchlineError:
    """The patchline error for ``exc`` raised on the path or URI ``where``."""
    reason = _REASONS.get(exc.errno or -1) or (exc.strerror or str(exc) or type(exc).__name__).lower()
    message = f"{where}: {reason}"
    if isinstance(exc, FileNotFoundError):
        return ArtifactNotFoundError(message)
    if exc.errno in _UNAVAILABLE:
        return UnavailableError(message)
    return InputError(message)


@contextlib.contextmanager
def os_errors(where: str, *paths: str) -> Iterator[None]:
    """Translate an ``OSError`` raised inside into :func:`path_error` for ``where``.

    With ``paths``, only errors about one of them (or about no file at all, such as a full disk on a
    write) are translated: an error a caller's code raised about another file keeps its own name.
    """
    try:
        yield
    except OSError as exc:
        if paths and exc.filename is not None and exc.filename not in paths:
            raise
        raise path_error(exc, where) from exc
