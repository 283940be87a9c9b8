"""git binary patches (``GIT binary patch`` / ``Binary files ... differ``), decided and applied as ``git apply`` does.

unidiff recognises a binary file section but keeps none of its data, so sections are read here from the
diff text. The rules are git's (``apply.c: apply_binary``): both ids of the ``index`` line must be full
object ids, else the patch is refused ("without full index line"); the current content must hash to
the old id (or be absent/empty for a new file); a null new id deletes the file; otherwise the forward
``literal`` or ``delta`` fragment (base85 lines, zlib-compressed; a delta in git's copy/insert format)
is applied and the result must hash to the new id. ``Binary files ... differ`` carries no data: git
can only apply it when the new object is already in its repository, which a patch alone never is, so
it is refused here.

Content is text (``str``) throughout the edits engine; a binary file is its bytes decoded as UTF-8 with
``surrogateescape``, so every byte string round-trips.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from patchline.edits.diff import NULL_BLOB, git_blob_id
from patchline.edits.errors import PatchApplyError
from patchline.edits.quoting import unquote_path

__all__ = ["BinaryPatch", "apply_binary_patch", "apply_delta", "iter_binary_patches", "text_bytes"]

_FULL_ID = re.compile(r"^[0-9a-f]{40}$")
_INDEX = re.compile(r"^index ([0-9a-fA-F]+)\.\.([0-9a-fA-F]+)(?: \d+)?$")
_FRAGMENT = re.compile(r"^(literal|delta) (\d+)$")
_GIT_HEADER = re.compile(r'^diff --git ("(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*"|\S+)$')


@dataclass(frozen=True, slots=True)
class BinaryPatch:
    """One binary file section: paths (None for /dev/null), the ids of the ``index`` line, forward fragment."""

    old_path: str | None
    new_path: str | None
    old_id: str
    new_id: str
    method: str  # "literal", "delta", or "" when the section carries no data
    size: int
    data: tuple[str, ...]  # the base85 lines of the forward fragment

    @property
    def name(self) -> str:
        """The path git names in its messages (the old one, else the new one)."""
        return self.old_path or self.new_path or "<diff>"


def text_bytes(content: str) -> bytes:
    """The bytes of a file given as text (inverse of decoding with ``surrogateescape``)."""
    return content.encode("utf-8", "surrogateescape")


def _sections(diff_text: str) -> Iterator[list[str]]:
    lines = diff_text.replace("\r\n", "\n").split("\n")
    current: list[str] = []
    for line in lines:
        if line.startswith("diff --git ") and current:
            yield current
            current = []
        current.append(line)
    if current:
        yield current


def _strip(name: str, prefix: str) -> str:
    name = unquote_path(name)
    return name[len(prefix) :] if name.startswith(prefix) else name


def _parse_section(section: list[str]) -> BinaryPatch | None:
    if not any(line == "GIT binary patch" or line.startswith("Binary files ") for line in section):
        return None
    header = _GIT_HEADER.match(section[0])
    old_path = _strip(header.group(1), "a/") if header else None
    new_path = _strip(header.group(2), "b/") if header else None
    old_id = new_id = method = ""
    size, data = 0, []
    reading = False
    for line in section[1:]:
        index = _INDEX.match(line)
        fragment = _FRAGMENT.match(line)
        if line.startswith("new file mode"):
            old_path = None
        elif line.startswith("deleted file mode"):
            new_path = None
        elif index and not method:
            old_id, new_id = index.group(1), index.group(2)
        elif fragment and not method:
            method, size, reading = fragment.group(1), int(fragment.group(2)), True
        elif reading:
            if not line or fragment:  # a blank line (or the reverse fragment) ends the forward one
                reading = False
            else:
                data.append(line)
    return BinaryPatch(old_path, new_path, old_id, new_id, method, size, tuple(data))


def iter_binary_patches(diff_text: str) -> Iterator[BinaryPatch]:
    """The binary file sections of a diff, in order."""
    for section in _sections(diff_text):
        patch = _parse_section(section)
        if patch is not None:
            yield patch


def _decode_lines(patch: BinaryPatch) -> bytes:
    """Base85 lines (first character: byte count, A-Z = 1-26, a-z = 27-52) inflated to the fragment."""
    raw = bytearray()
    for line in patch.data:
        code = line[:1]
        if "A" <= code <= "Z":
            count = ord(code) - ord("A") + 1
        elif "a" <= code <= "z":
            count = ord(code) - ord("a") + 27
        else:
            raise PatchApplyError(patch.name, None, "corrupt binary patch (bad line length)")
        try:
            raw += base64.b85decode(line[1:])[:count]
        except ValueError as exc:
            raise PatchApplyError(patch.name, None, f"corrupt binary patch ({exc})") from exc
    try:
        inflated = zlib.decompress(bytes(raw))
    except zlib.error as exc:
        raise PatchApplyError(patch.name, None, f"corrupt binary patch ({exc})") from exc
    if len(inflated) != patch.size:
        raise PatchApplyError(patch.name, None, "corrupt binary patch (size mismatch)")
    return inflated


def _varint(delta: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(delta):
            raise ValueError("truncated delta header")
        byte = delta[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _copy_operands(delta: bytes, pos: int, command: int) -> tuple[int, int, int]:
    offset = size = 0
    for bit, shift in ((0x01, 0), (0x02, 8), (0x04, 16), (0x08, 24)):
        if command & bit:
            offset |= delta[pos] << shift
            pos += 1
    for bit, shift in ((0x10, 0), (0x20, 8), (0x40, 16)):
        if command & bit:
            size |= delta[pos] << shift
            pos += 1
    return offset, size or 0x10000, pos


def apply_delta(source: bytes, delta: bytes) -> bytes:
    """Apply a git delta (patch-delta.c): source and result sizes, then copy and insert commands."""
    source_size, pos = _varint(delta, 0)
    result_size, pos = _varint(delta, pos)
    if source_size != len(source):
        raise ValueError("delta does not fit the source size")
    out = bytearray()
    while pos < len(delta):
        command = delta[pos]
        pos += 1
        if command & 0x80:
            offset, size, pos = _copy_operands(delta, pos, command)
            if offset + size > len(source):
                raise ValueError("delta copies past the end of the source")
            out += source[offset : offset + size]
        elif command:
            if pos + command > len(delta):
                raise ValueError("delta inserts past its end")
            out += delta[pos : pos + command]
            pos += command
        else:
            raise ValueError("delta has an unknown command 0")
    if len(out) != result_size:
        raise ValueError("delta result has the wrong size")
    return bytes(out)


def apply_binary_patch(patch: BinaryPatch, current: str | None) -> str | None:
    """The new content of the file (None: deleted), or :class:`PatchApplyError` where git refuses the patch."""
    if not (_FULL_ID.match(patch.old_id) and _FULL_ID.match(patch.new_id)):
        raise PatchApplyError(patch.name, None, f"cannot apply binary patch to '{patch.name}' without full index line")
    old = text_bytes(current or "")
    if patch.old_path is not None:
        if current is None or git_blob_id(old) != patch.old_id:
            raise PatchApplyError(patch.name, None, "the binary patch does not match the current contents")
    elif old:
        raise PatchApplyError(patch.name, None, "the binary patch applies to an empty file but it is not empty")
    if patch.new_id == NULL_BLOB:
        return None
    if not patch.method:
        raise PatchApplyError(patch.name, None, "missing binary patch data")
    fragment = _decode_lines(patch)
    try:
        new = fragment if patch.method == "literal" else apply_delta(old, fragment)
    except (ValueError, IndexError) as exc:
        raise PatchApplyError(patch.name, None, f"binary patch does not apply ({exc})") from exc
    if git_blob_id(new) != patch.new_id:
        raise PatchApplyError(patch.name, None, "binary patch creates an incorrect result")
    return new.decode("utf-8", "surrogateescape")
