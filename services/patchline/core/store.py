"""The artifact store: one small object over fsspec for local folders, ``file://`` and ``s3://`` roots.

Appending on object storage
---------------------------
S3 has no append, yet "the output file is the state" must hold there too. An :class:`Appender` on a local root
appends to the file and flushes after every write (a line, or a batch of lines). On an object-store root it
writes immutable *part files* next to the logical file, ``{name}.parts/{session}-{seq}.jsonl``, one per flush
(every ``part_lines`` lines or ``part_seconds`` seconds, and on close). Readers
(:meth:`ArtifactStore.iter_lines`) treat the file followed by its parts, in name order, as one logical file.
:meth:`ArtifactStore.seal` folds the parts into the file with one put and then deletes them; a crash between
the two leaves lines that are also in the file, which readers that take the latest line per key do not mind.
On S3 a crash loses at most the lines buffered since the last part (bounded by both limits).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel

from patchline.core.closing import Closing
from patchline.core.errors import ArtifactNotFoundError, UnavailableError
from patchline.core.jsonl import dumps_line
from patchline.core.oserrors import os_errors, path_error
from patchline.core.safepath import safe_relpath
from patchline.core.settings import StorageConfig, storage_config_from_env
from patchline.core.tempfiles import is_temp_name, locked_temp, remove_stale, spool

__all__ = ["Appender", "ArtifactStore", "open_artifact"]

log = logging.getLogger(__name__)

PARTS_SUFFIX = ".parts"


class ArtifactStore:
    """Artifacts below one root URI. Relative names are validated: nothing resolves outside the root."""

    def __init__(self, root: str, *, config: StorageConfig | None = None) -> None:
        self.root = root.rstrip("/") or "/"
        options: dict[str, Any] = {}
        if root.startswith(("s3://", "s3a://")):
            options = (config or storage_config_from_env()).s3_options()
        self.fs, self._root_path = fsspec.core.url_to_fs(self.root, **options)
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self._swept: set[str] = set()  # folders whose stale temporary files this store has removed

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    # -- names -------------------------------------------------------------------------------------
    def path(self, name: str) -> str:
        """The backend path of ``name`` (a relative path below the root)."""
        return posixpath.join(self._root_path, safe_relpath(name, what="artifact name"))

    def uri(self, name: str) -> str:
        """The URI a user or another service can open, e.g. ``s3://bucket/run/output.jsonl``."""
        return f"{self.root.rstrip('/')}/{safe_relpath(name, what='artifact name')}"

    def child(self, name: str) -> ArtifactStore:
        """A store rooted at a sub-folder, sharing this store's connection settings."""
        sub = ArtifactStore.__new__(ArtifactStore)
        sub.root = self.uri(name)
        sub.fs = self.fs
        sub._root_path = self.path(name)
        sub.is_local = self.is_local
        sub._swept = set()
        return sub

    # -- queries -----------------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        """True if the file exists, or (on object storage) if it has unsealed parts."""
        with os_errors(self.uri(name)):
            return bool(self.fs.exists(self.path(name))) or bool(self._parts(name))

    def list_files(self, prefix: str = "") -> list[str]:
        """Relative names of the files below ``prefix`` (recursive), sorted; temporary files never count."""
        base = self.path(prefix) if prefix else self._root_path
        with os_errors(self.uri(prefix) if prefix else self.root):
            if not self.fs.exists(base):
                return []
            found = self.fs.find(base)
        root = self._root_path.rstrip("/") + "/"
        names = (p[len(root) :] if p.startswith(root) else p for p in found)
        return sorted(n for n in names if not is_temp_name(posixpath.basename(n)))

    def size(self, name: str) -> int:
        """Size in bytes of the file itself (parts excluded)."""
        with os_errors(self.uri(name)):
            return int(self.fs.size(self.path(name)))

    # -- reading -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open_read(self, name: str) -> Iterator[IO[bytes]]:
        """A streaming binary reader of one file."""
        path = self.path(name)
        try:
            handle = self.fs.open(path, "rb")
        except FileNotFoundError as exc:
            raise ArtifactNotFoundError(f"{self.uri(name)} does not exist") from exc
        except OSError as exc:
            raise path_error(exc, self.uri(name)) from exc
        with handle, os_errors(self.uri(name), path):
            yield handle

    def read_bytes(self, name: str) -> bytes:
        """The whole content of a small file."""
        with self.open_read(name) as handle:
            return handle.read()

    def read_text(self, name: str) -> str:
        """The whole content of a small UTF-8 file."""
        return self.read_bytes(name).decode("utf-8")

    def iter_lines(self, name: str, *, missing_ok: bool = False) -> Iterator[bytes]:
        """Stream the lines of a logical file: the file itself, then its unsealed parts in order."""
        path = self.path(name)
        with os_errors(self.uri(name)):
            parts = self._parts(name)
            if not self.fs.exists(path) and not parts:
                if missing_ok:
                    return
                raise ArtifactNotFoundError(f"{self.uri(name)} does not exist")
            yield from self._lines_of(([path] if self.fs.exists(path) else []) + parts)

    def _lines_of(self, paths: list[str]) -> Iterator[bytes]:
        for each in paths:
            with self.fs.open(each, "rb") as handle:
                previous = b"\n"
                for line in handle:
                    yield line
                    previous = line
                if not previous.endswith(b"\n"):
                    # A crash mid-line left a fragment; the next file starts on a fresh line.
                    log.debug("%s ends without a newline", each)

    # -- writing -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def atomic_writer(self, name: str) -> Iterator[IO[bytes]]:
        """Write a whole file so readers see the old content or the new, never a half.

        Locally: a temporary file in the same folder (:mod:`patchline.core.tempfiles`: never read as data,
        removed by a later writer if this process dies), renamed over the target on success. On object
        storage: spooled locally, then one put. On an exception nothing is replaced.
        """
        path = self.path(name)
        where = self.uri(name)
        if not self.is_local:
            with self._spool(name) as (handle, spooled):
                yield handle
                handle.flush()
                self._put(spooled, path)
            return
        folder = os.path.dirname(path)
        with os_errors(self._folder_uri(name)):
            os.makedirs(folder, exist_ok=True)
        with os_errors(where):
            self._sweep(folder)
            handle, tmp = locked_temp(folder, os.path.basename(path))
        try:
            with handle, os_errors(where, tmp):
                yield handle
            with os_errors(where, tmp, path):
                os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def write_bytes(self, name: str, data: bytes) -> None:
        """Replace a file atomically with ``data``."""
        with self.atomic_writer(name) as handle:
            handle.write(data)

    def write_text(self, name: str, text: str) -> None:
        """Replace a file atomically with UTF-8 ``text``."""
        self.write_bytes(name, text.encode("utf-8"))

    def appender(self, name: str, *, part_lines: int = 256, part_seconds: float = 2.0) -> Appender:
        """An appending writer of a logical file (see the module docstring for object storage)."""
        return Appender(self, name, part_lines=part_lines, part_seconds=part_seconds)

    def _folder_uri(self, name: str) -> str:
        """The URI of the folder ``name`` is in (for errors about creating it)."""
        parent = posixpath.dirname(safe_relpath(name, what="artifact name"))
        return self.uri(parent) if parent else self.root

    def _sweep(self, folder: str) -> None:
        """Remove stale temporary files of ``folder`` (once per store and folder: a rerun cleans up)."""
        if folder not in self._swept:
            self._swept.add(folder)
            remove_stale(folder)

    @contextlib.contextmanager
    def _spool(self, name: str) -> Iterator[tuple[IO[bytes], str]]:
        self._sweep(tempfile.gettempdir())
        with os_errors(f"a local spool file for {self.uri(name)}"), spool(posixpath.basename(name)) as opened:
            yield opened

    def seal(self, name: str) -> None:
        """Fold unsealed parts into the file (one put), then delete the parts. Local files: no-op."""
        parts = self._parts(name)
        if not parts:
            return
        with self.atomic_writer(name) as out:
            for line in self.iter_lines(name):
                out.write(line if line.endswith(b"\n") else line + b"\n")
        self.fs.rm(parts)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rmdir(self.path(name) + PARTS_SUFFIX)

    def move_aside(self, name: str) -> str | None:
        """Rename a file (its parts sealed first) to ``{name}.replaced-{UTC time}``; None if there was none.

        For starting an output over on request: the old content is kept under a name no reader of
        ``*.jsonl`` picks up, never deleted.
        """
        if not self.exists(name):
            return None
        self.seal(name)
        aside = f"{name}.replaced-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        self.fs.mv(self.path(name), self.path(aside))
        self.fs.invalidate_cache(posixpath.dirname(self.path(name)))
        return aside

    def delete(self, name: str) -> None:
        """Remove a file and its parts if present."""
        with os_errors(self.uri(name)):
            for each in [self.path(name), *self._parts(name)]:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm(each)

    # -- internals ---------------------------------------------------------------------------------
    def _parts(self, name: str) -> list[str]:
        if self.is_local:
            return []
        folder = self.path(name) + PARTS_SUFFIX
        try:
            return sorted(p for p in self.fs.find(folder) if p.endswith(".jsonl"))
        except FileNotFoundError:
            return []

    def _put(self, local_path: str, path: str) -> None:
        try:
            self.fs.put_file(local_path, path)
        except (OSError, PermissionError) as exc:
            raise UnavailableError(f"could not write {self.root}: {type(exc).__name__}") from exc
        self.fs.invalidate_cache(posixpath.dirname(path))


class Appender(Closing):
    """Appends lines to a logical file; every write call is flushed locally, parts are flushed on S3."""

    def __init__(self, store: ArtifactStore, name: str, *, part_lines: int, part_seconds: float) -> None:
        self._store = store
        self._name = name
        self._part_lines = part_lines
        self._part_seconds = part_seconds
        self._buffer: list[bytes] = []
        self._last_flush = time.monotonic()
        self._seq = 0
        self._session = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._handle: IO[bytes] | None = None
        self._where = store.uri(name)
        if store.is_local:
            path = store.path(name)
            with os_errors(store._folder_uri(name)):
                os.makedirs(os.path.dirname(path), exist_ok=True)
            with os_errors(self._where):
                self._handle = open(path, "ab")  # noqa: SIM115 - closed in close()
                if self._handle.tell() > 0 and not self._ends_with_newline(path):
                    self._handle.write(b"\n")  # a killed writer left a fragment: start a fresh line

    @staticmethod
    def _ends_with_newline(path: str) -> bool:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def write_line(self, line: bytes) -> None:
        """Append one line (must end with a newline)."""
        if self._handle is not None:
            with os_errors(self._where):
                self._handle.write(line)
                self._handle.flush()
        else:
            self._buffer.append(line)
            if len(self._buffer) >= self._part_lines or time.monotonic() - self._last_flush >= self._part_seconds:
                self.flush()

    def write_lines(self, lines: list[bytes]) -> None:
        """Append several lines (each ending with a newline) with one write and one flush locally."""
        if self._handle is not None:
            with os_errors(self._where):
                self._handle.write(b"".join(lines))
                self._handle.flush()
            return
        for line in lines:
            self.write_line(line)

    def write_record(self, record: BaseModel | dict[str, Any]) -> None:
        """Append one record as one JSON line."""
        self.write_line(dumps_line(record))

    def flush(self) -> None:
        """Make every written line durable (a new part file on object storage)."""
        if self._handle is not None:
            with os_errors(self._where):
                self._handle.flush()
            return
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        part = f"{self._name}{PARTS_SUFFIX}/{self._session}-{self._seq:06d}.jsonl"
        self._store.write_bytes(part, b"".join(self._buffer))
        self._seq += 1
        self._buffer.clear()

    def close(self) -> None:
        """Flush and release the file."""
        self.flush()
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def open_artifact(uri: str, *, config: StorageConfig | None = None) -> tuple[ArtifactStore, str]:
    """Split a file URI or path given by a user into (store of its folder, file name)."""
    stripped = uri.rstrip("/")
    if "://" in stripped:
        scheme, rest = stripped.split("://", 1)
        folder, _, name = rest.rpartition("/")
        root = f"{scheme}://{folder}" if folder else f"{scheme}://"
    else:
        absolute = os.path.abspath(stripped)
        root, name = os.path.dirname(absolute), os.path.basename(absolute)
    return ArtifactStore(root, config=config), name
