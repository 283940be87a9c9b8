"""A git repository at one commit, read with one ``git ls-tree`` and one long-lived ``git cat-file --batch``.

Nothing goes through a shell. A commit given by data is checked against a strict pattern (hex id or a
plain ref name, optionally with ``~N``/``^N`` suffixes) and passed after ``--end-of-options``, then
resolved once to its full id, which every later command uses.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
import weakref
from pathlib import Path
from typing import IO

from patchline.core.errors import InputError, UnavailableError
from patchline.core.repos_base import SnapshotReading, decode_text

__all__ = ["GitSnapshot", "validate_commit"]

log = logging.getLogger(__name__)

_HEX = re.compile(r"[0-9a-fA-F]{4,64}")
_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*(?:[~^][0-9]*)*")
_BLOB_MODES = ("100644", "100755")  # regular files; symlinks (120000) and submodules (160000) are not files


def validate_commit(commit: str) -> str:
    """Return ``commit`` if it is a hex id or a safe ref name; raise InputError otherwise.

    Refuses anything git could read as an option or a revision expression beyond ``~N``/``^N``
    (``..``, ``@{``, ``:``, spaces, control characters), since commit ids come from datasets.
    """
    if not isinstance(commit, str) or not commit:
        raise InputError("empty commit id")
    if _HEX.fullmatch(commit):
        return commit
    if (
        not _REF.fullmatch(commit)
        or ".." in commit
        or "//" in commit
        or commit.split("~")[0].split("^")[0].endswith((".", "/", ".lock"))
    ):
        raise InputError(f"commit {commit!r} is neither a hex id nor a plain ref name")
    return commit


def _run_git(repo_dir: Path, *args: str, what: str = "") -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo_dir), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UnavailableError("git is not installed or not on PATH") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else what or f"exit code {done.returncode}"
        raise InputError(f"{repo_dir}: git {args[0]} failed: {reason}")
    return done.stdout


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


class GitSnapshot(SnapshotReading):
    """The files of ``repo_dir`` (a work tree or bare mirror) at ``commit``.

    The file list and sizes come from one ``git ls-tree -r -z -l --full-tree`` (cached); contents from one
    ``git cat-file --batch`` process started on first read and kept until :meth:`close` (or the end of
    a ``with`` block; it is also stopped when the object is garbage-collected). Reads are thread-safe.
    Only regular files are listed: symlinks and submodules are skipped, as are non-UTF-8 path names.
    """

    def __init__(self, repo_dir: str | os.PathLike[str], commit: str) -> None:
        self.repo_dir = Path(repo_dir).resolve()
        if not self.repo_dir.is_dir():
            raise InputError(f"{repo_dir}: no such repository folder")
        validate_commit(commit)
        resolved = _run_git(
            self.repo_dir,
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{commit}^{{commit}}",
            what=f"no commit {commit!r} in this repository",
        )
        self.commit: str = resolved.decode("ascii").strip()
        self.key: str = f"git:{self.repo_dir}@{self.commit}"
        self._blobs: dict[str, tuple[str, int]] | None = None  # path -> (blob id, size)
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], GitSnapshot] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GitSnapshot({str(self.repo_dir)!r}, {self.commit!r})"

    # -- files ---------------------------------------------------------------------------------------
    def _blob_index(self) -> dict[str, tuple[str, int]]:
        if self._blobs is None:
            out = _run_git(self.repo_dir, "ls-tree", "-r", "-z", "-l", "--full-tree", "--end-of-options", self.commit)
            blobs: dict[str, tuple[str, int]] = {}
            for record in out.split(b"\x00"):
                if not record:
                    continue
                meta, _, raw_path = record.partition(b"\t")
                mode, kind, object_id, size = meta.decode("ascii").split()  # the size is padded with spaces
                if kind != "blob" or mode not in _BLOB_MODES:
                    continue
                try:
                    blobs[raw_path.decode("utf-8")] = (object_id, int(size))
                except UnicodeDecodeError:
                    log.warning("%s: skipping a file whose name is not UTF-8: %r", self.repo_dir, raw_path)
            self._blobs = blobs
        return self._blobs

    def list_files(self) -> list[str]:
        """Every regular file at the commit, sorted."""
        return sorted(self._blob_index())

    def blob_id(self, path: str) -> str | None:
        """The git blob id of ``path`` at the commit, or None if there is no such file."""
        blob = self._blob_index().get(path)
        return None if blob is None else blob[0]

    def size_of(self, path: str) -> int | None:
        """The size in bytes of ``path`` at the commit (from the listing), or None if there is no such file."""
        blob = self._blob_index().get(path)
        return None if blob is None else blob[1]

    # -- contents ------------------------------------------------------------------------------------
    def _cat_file(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            try:
                process = subprocess.Popen(
                    ["git", "-C", str(self.repo_dir), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError as exc:
                raise UnavailableError("git is not installed or not on PATH") from exc
            self._process = process
            self._finalizer = weakref.finalize(self, _stop_process, process)
        return self._process

    def _read_object(self, object_id: str) -> bytes | None:
        with self._lock:
            process = self._cat_file()
            stdin: IO[bytes] | None = process.stdin
            stdout: IO[bytes] | None = process.stdout
            if stdin is None or stdout is None:
                raise UnavailableError("git cat-file has no pipes")
            try:
                stdin.write(object_id.encode("ascii") + b"\n")
                stdin.flush()
                header = stdout.readline().decode("ascii", "replace").split()
            except (BrokenPipeError, OSError) as exc:
                raise UnavailableError(f"{self.repo_dir}: git cat-file stopped: {exc}") from exc
            if len(header) != 3:  # "<id> missing" or the process died
                return None
            size = int(header[2])
            data = stdout.read(size)
            stdout.read(1)  # the newline after each object
            if len(data) != size:
                raise UnavailableError(f"{self.repo_dir}: git cat-file returned a short object {object_id}")
            return data

    def read_bytes(self, path: str) -> bytes | None:
        """The bytes of ``path`` at the commit, or None if there is no such file."""
        object_id = self.blob_id(path)
        return None if object_id is None else self._read_object(object_id)

    def read_text(self, path: str) -> str | None:
        """The UTF-8 text of ``path``; None if it is missing, binary or not UTF-8."""
        data = self.read_bytes(path)
        return None if data is None else decode_text(data)

    # -- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the cat-file process (a later read starts a new one)."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._finalizer = None
            self._process = None
