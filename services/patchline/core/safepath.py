"""Validation of path components that come from data (instance ids, model names, custom ids)."""

from __future__ import annotations

import hashlib
import posixpath
import re

from patchline.core.errors import UnsafePathError

__all__ = ["item_file_name", "safe_component", "safe_relpath"]

_FORBIDDEN_CHARS = ("/", "\\", "\x00")


def safe_component(value: str, *, what: str = "path component") -> str:
    """Return ``value`` if it can be used as one file or folder name inside a run root.

    Rejects empty names, ``.`` and ``..``, separators, NUL and other control characters, so a value
    taken from a dataset or a model answer can never name a file outside the folder it is joined to.
    """
    if not isinstance(value, str) or not value:
        raise UnsafePathError(f"empty {what}")
    if value in (".", ".."):
        raise UnsafePathError(f"{what} {value!r} is not a name")
    for char in _FORBIDDEN_CHARS:
        if char in value:
            raise UnsafePathError(f"{what} {value!r} contains {char!r}")
    if any(ord(c) < 32 for c in value):
        raise UnsafePathError(f"{what} {value!r} contains a control character")
    return value


def safe_relpath(value: str, *, what: str = "relative path") -> str:
    """Return a normalised ``a/b/c`` path whose every segment passes :func:`safe_component`.

    Used for values that legitimately contain folders (a file path inside a repository, a model name
    such as ``org/model``) but must stay below the folder they are joined to.
    """
    if not isinstance(value, str) or not value:
        raise UnsafePathError(f"empty {what}")
    if value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
        raise UnsafePathError(f"{what} {value!r} is absolute")
    if "\\" in value or "\x00" in value:
        raise UnsafePathError(f"{what} {value!r} contains a forbidden character")
    segments = [s for s in value.split("/") if s not in ("", ".")]
    if not segments:
        raise UnsafePathError(f"{what} {value!r} names no file")
    for segment in segments:
        safe_component(segment, what=what)
    normalised = posixpath.join(*segments)
    return normalised


# A per-item name is used as it is when it is plain and short; every other key gets a readable prefix and
# a digest of the whole key. Plain names never end like a digest, so the two kinds cannot collide.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DIGEST_END = re.compile(r"-[0-9a-f]{16}\Z")
_MAX_PLAIN = 150  # bytes: far below every filesystem's 255, so suffixes and temporary names still fit
_PREFIX = 80


def item_file_name(key: str, *, suffix: str = "") -> str:
    """A file name for the per-item file of ``key`` (an instance id, a custom id): safe, bounded, unique.

    ``django__django-11099`` stays ``django__django-11099{suffix}``. A key with a separator, a leading dot,
    other characters or more than 150 bytes becomes its first 80 characters with every unusual character
    as ``_``, then ``-`` and 16 hex digits of its SHA-256: never more than 97 bytes plus the suffix, never
    outside the folder, and two keys never share a name.
    """
    if not isinstance(key, str) or not key:
        raise UnsafePathError("empty item key")
    if _PLAIN.fullmatch(key) and len(key) <= _MAX_PLAIN and not _DIGEST_END.search(key):
        return key + suffix
    readable = re.sub(r"[^A-Za-z0-9._-]", "_", key[:_PREFIX]).lstrip(".") or "_"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{readable}-{digest}{suffix}"
