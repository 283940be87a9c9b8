"""A compact map from custom_id to a small flag, for the millions of ids a resumable batch must remember.

A Python ``set`` of a million custom_id strings costs about 100 MB, which alone would break the
executor's promise of memory that does not grow with the input. Here each id is a 128-bit BLAKE2b
digest in an open-addressing table of flat arrays (``array`` for the two halves, a ``bytearray`` for
the values): 17 bytes per slot, about 36 bytes per id at the maximum load. A map given tags (the
fingerprint of each id's latest line, :mod:`patchline.core.fingerprint`) holds 8 bytes more per slot.
With 128 bits, a collision among 10^9 ids has a probability below 10^-20. The stdlib arrays hand out
plain ints, which keeps a lookup at about a microsecond (numpy's scalars cost several times that per element access).
"""

from __future__ import annotations

import hashlib
from array import array

__all__ = ["IdMap"]

_EMPTY = 0xFF  # values are 0..127
_MAX_LOAD = 0.5


def _digest(custom_id: str) -> tuple[int, int]:
    raw = int.from_bytes(hashlib.blake2b(custom_id.encode("utf-8"), digest_size=16).digest(), "little")
    return raw >> 64, raw & 0xFFFF_FFFF_FFFF_FFFF


class IdMap:
    """custom_id -> small int (0..127), with membership; no deletion (ids only ever get a newer value)."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1
        while size < max(8, capacity):
            size *= 2
        self._alloc(size)
        self._count = 0

    def _alloc(self, size: int) -> None:
        self._hi = array("Q", bytes(8 * size))
        self._lo = array("Q", bytes(8 * size))
        self._tag: array[int] | None = None  # allocated when the first tag is put: most maps have none
        self._val = bytearray(b"\xff" * size)
        self._mask = size - 1

    def __len__(self) -> int:
        return self._count

    def __contains__(self, custom_id: object) -> bool:
        return isinstance(custom_id, str) and self.get(custom_id) is not None

    def _slot(self, hi: int, lo: int) -> int:
        mask, values, his, los = self._mask, self._val, self._hi, self._lo
        slot = hi & mask
        while values[slot] != _EMPTY:
            if his[slot] == hi and los[slot] == lo:
                return slot
            slot = (slot + 1) & mask
        return slot

    def get(self, custom_id: str) -> int | None:
        """The value stored for ``custom_id``, or None if it was never put."""
        value = self._val[self._slot(*_digest(custom_id))]
        return None if value == _EMPTY else value

    def tag(self, custom_id: str) -> int:
        """The 64-bit tag stored with ``custom_id`` (0 if none, or if the id was never put)."""
        if self._tag is None:
            return 0
        slot = self._slot(*_digest(custom_id))
        return 0 if self._val[slot] == _EMPTY else self._tag[slot]

    def put(self, custom_id: str, value: int, tag: int = 0) -> int | None:
        """Store ``value`` (0..127) and ``tag`` (64 bits) for ``custom_id``; returns the old value (None if new)."""
        if not 0 <= value <= 127:
            raise ValueError(f"IdMap values are 0..127, got {value}")
        hi, lo = _digest(custom_id)
        slot = self._slot(hi, lo)
        previous = self._val[slot]
        if previous == _EMPTY:
            self._hi[slot], self._lo[slot] = hi, lo
            self._count += 1
        self._val[slot] = value
        if tag and self._tag is None:
            self._tag = array("Q", bytes(8 * (self._mask + 1)))
        if self._tag is not None:
            self._tag[slot] = tag
        if self._count > _MAX_LOAD * (self._mask + 1):
            self._grow()
        return None if previous == _EMPTY else previous

    def count(self, value: int) -> int:
        """How many ids hold ``value``."""
        return self._val.count(value)

    def _grow(self) -> None:
        hi, lo, val, tags = self._hi, self._lo, self._val, self._tag
        self._alloc((self._mask + 1) * 2)
        if tags is not None:
            self._tag = array("Q", bytes(8 * (self._mask + 1)))
        for index, value in enumerate(val):
            if value != _EMPTY:
                h, low = hi[index], lo[index]
                slot = self._slot(h, low)
                self._hi[slot], self._lo[slot], self._val[slot] = h, low, value
                if tags is not None and self._tag is not None:
                    self._tag[slot] = tags[index]
