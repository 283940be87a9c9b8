"""A line diff that makes the same choices as git's xdiff (Myers with git's heuristics, then group sliding).

Ported from the algorithm of git's ``xdiff/`` (xprepare.c, xdiffi.c) so rendered hunks are identical to
``git diff`` with default settings (myers, indent heuristic on). Records are whole lines including their
newline, so a last line without newline differs from the same text with one, as in git.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from patchline.edits.slide import compact

__all__ = ["Change", "diff_lines"]

_MAX_EQLIMIT = 1024
_SIMSCAN_WINDOW = 100
_KPDIS_RUN = 4
_MAX_COST_MIN = 256
_HEUR_MIN_COST = 256
_SNAKE_CNT = 20
_K_HEUR = 4
_LINE_MAX = 1 << 62


@dataclass(frozen=True, slots=True)
class Change:
    """One change group: ``del_count`` lines at old index ``old`` replaced by ``add_count`` at new index ``new``."""

    old: int
    new: int
    del_count: int
    add_count: int


def _bogosqrt(n: int) -> int:
    i = 1
    while n > 0:
        i <<= 1
        n >>= 2
    return i


class _File:
    """One side: class ids of its records, the changed flags (with sentinels) and the reduced index."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.nrec = len(ids)
        self.rchg = bytearray(self.nrec + 2)  # rchg[i + 1] is line i; both ends are sentinels
        self.rindex: list[int] = []
        self.ha: list[int] = []

    def changed(self, i: int) -> bool:
        return bool(self.rchg[i + 1])

    def mark(self, i: int, value: int) -> None:
        self.rchg[i + 1] = value


def _clean_mmatch(dis: bytearray, i: int, s: int, e: int) -> bool:
    s = max(s, i - _SIMSCAN_WINDOW)
    e = min(e, i + _SIMSCAN_WINDOW)
    rdis0, rpdis0, r = 0, 1, 1
    while i - r >= s:
        if not dis[i - r]:
            rdis0 += 1
        elif dis[i - r] == 2:
            rpdis0 += 1
        else:
            break
        r += 1
    if rdis0 == 0:
        return False
    rdis1, rpdis1, r = 0, 1, 1
    while i + r <= e:
        if not dis[i + r]:
            rdis1 += 1
        elif dis[i + r] == 2:
            rpdis1 += 1
        else:
            break
        r += 1
    if rdis1 == 0:
        return False
    rdis1 += rdis0
    rpdis1 += rpdis0
    return rpdis1 * _KPDIS_RUN < rpdis1 + rdis1


def _prepare(f1: _File, f2: _File, counts1: dict[int, int], counts2: dict[int, int]) -> None:
    """xdl_trim_ends + xdl_cleanup_records: common ends out, lines without a match discarded up front."""
    lim = min(f1.nrec, f2.nrec)
    start = 0
    while start < lim and f1.ids[start] == f2.ids[start]:
        start += 1
    tail = 0
    while tail < lim - start and f1.ids[f1.nrec - 1 - tail] == f2.ids[f2.nrec - 1 - tail]:
        tail += 1
    for this, other_counts in ((f1, counts2), (f2, counts1)):
        dend = this.nrec - tail - 1
        mlim = min(_bogosqrt(this.nrec), _MAX_EQLIMIT)
        dis = bytearray(this.nrec + 1)
        for i in range(start, dend + 1):
            nm = other_counts.get(this.ids[i], 0)
            dis[i] = 0 if nm == 0 else (2 if nm >= mlim else 1)
        for i in range(start, dend + 1):
            if dis[i] == 1 or (dis[i] == 2 and not _clean_mmatch(dis, i, start, dend)):
                this.rindex.append(i)
                this.ha.append(this.ids[i])
            else:
                this.mark(i, 1)


@dataclass(slots=True)
class _Box:
    """One sub-problem of xdl_split: the box and the diagonal windows of the forward and backward paths."""

    off1: int
    lim1: int
    off2: int
    lim2: int
    # Derived in __post_init__, never passed: diagonal range, middle diagonals, parity, search windows.
    dmin: int = field(init=False)
    dmax: int = field(init=False)
    fmid: int = field(init=False)
    bmid: int = field(init=False)
    odd: int = field(init=False)
    fmin: int = field(init=False)
    fmax: int = field(init=False)
    bmin: int = field(init=False)
    bmax: int = field(init=False)

    def __post_init__(self) -> None:
        self.dmin, self.dmax = self.off1 - self.lim2, self.lim1 - self.off2
        self.fmid, self.bmid = self.off1 - self.off2, self.lim1 - self.lim2
        self.odd = (self.fmid - self.bmid) & 1
        self.fmin = self.fmax = self.fmid
        self.bmin = self.bmax = self.bmid


class _Myers:
    """xdl_recs_cmp / xdl_split over the reduced sequences."""

    def __init__(self, f1: _File, f2: _File) -> None:
        self.f1, self.f2 = f1, f2
        self.ha1, self.ha2 = f1.ha, f2.ha
        ndiags = len(self.ha1) + len(self.ha2) + 3
        self.kvdf = [0] * ndiags
        self.kvdb = [0] * ndiags
        self.base = len(self.ha2) + 1
        self.mxcost = max(_bogosqrt(ndiags), _MAX_COST_MIN)

    def run(self) -> None:
        stack = [(0, len(self.ha1), 0, len(self.ha2), False)]
        while stack:
            off1, lim1, off2, lim2, need_min = stack.pop()
            ha1, ha2 = self.ha1, self.ha2
            while off1 < lim1 and off2 < lim2 and ha1[off1] == ha2[off2]:
                off1 += 1
                off2 += 1
            while off1 < lim1 and off2 < lim2 and ha1[lim1 - 1] == ha2[lim2 - 1]:
                lim1 -= 1
                lim2 -= 1
            if off1 == lim1:
                for k in range(off2, lim2):
                    self.f2.mark(self.f2.rindex[k], 1)
            elif off2 == lim2:
                for k in range(off1, lim1):
                    self.f1.mark(self.f1.rindex[k], 1)
            else:
                i1, i2, min_lo, min_hi = self._split(off1, lim1, off2, lim2, need_min)
                stack.append((i1, lim1, i2, lim2, min_hi))
                stack.append((off1, i1, off2, i2, min_lo))

    def _split(self, off1: int, lim1: int, off2: int, lim2: int, need_min: bool) -> tuple[int, int, bool, bool]:
        """xdl_split: the middle snake of the box, or a heuristic split point when the search gets costly."""
        box = _Box(off1, lim1, off2, lim2)
        self.kvdf[self.base + box.fmid] = off1
        self.kvdb[self.base + box.bmid] = lim1
        ec = 0
        while True:
            ec += 1
            found, forward_snake = self._forward(box)
            if found is not None:
                return found
            found, backward_snake = self._backward(box)
            if found is not None:
                return found
            if need_min:
                continue
            if (forward_snake or backward_snake) and ec > _HEUR_MIN_COST:
                found = self._heuristic(
                    off1, lim1, off2, lim2, ec, (box.fmin, box.fmax, box.fmid), (box.bmin, box.bmax, box.bmid)
                )
                if found is not None:
                    return found
            if ec >= self.mxcost:
                return self._furthest(off1, lim1, off2, lim2, (box.fmin, box.fmax), (box.bmin, box.bmax))

    def _forward(self, box: _Box) -> tuple[tuple[int, int, bool, bool] | None, bool]:
        """One forward sweep over the diagonals (extending the window by one); a split if it meets the backward path."""
        ha1, ha2, b, kvdf, kvdb = self.ha1, self.ha2, self.base, self.kvdf, self.kvdb
        if box.fmin > box.dmin:
            box.fmin -= 1
            kvdf[b + box.fmin - 1] = -1
        else:
            box.fmin += 1
        if box.fmax < box.dmax:
            box.fmax += 1
            kvdf[b + box.fmax + 1] = -1
        else:
            box.fmax -= 1
        got_snake = False
        for d in range(box.fmax, box.fmin - 1, -2):
            i1 = kvdf[b + d - 1] + 1 if kvdf[b + d - 1] >= kvdf[b + d + 1] else kvdf[b + d + 1]
            prev1 = i1
            i2 = i1 - d
            while i1 < box.lim1 and i2 < box.lim2 and ha1[i1] == ha2[i2]:
                i1 += 1
                i2 += 1
            if i1 - prev1 > _SNAKE_CNT:
                got_snake = True
            kvdf[b + d] = i1
            if box.odd and box.bmin <= d <= box.bmax and kvdb[b + d] <= i1:
                return (i1, i2, True, True), got_snake
        return None, got_snake

    def _backward(self, box: _Box) -> tuple[tuple[int, int, bool, bool] | None, bool]:
        """One backward sweep over the diagonals; a split if it meets the forward path."""
        ha1, ha2, b, kvdf, kvdb = self.ha1, self.ha2, self.base, self.kvdf, self.kvdb
        if box.bmin > box.dmin:
            box.bmin -= 1
            kvdb[b + box.bmin - 1] = _LINE_MAX
        else:
            box.bmin += 1
        if box.bmax < box.dmax:
            box.bmax += 1
            kvdb[b + box.bmax + 1] = _LINE_MAX
        else:
            box.bmax -= 1
        got_snake = False
        for d in range(box.bmax, box.bmin - 1, -2):
            i1 = kvdb[b + d - 1] if kvdb[b + d - 1] < kvdb[b + d + 1] else kvdb[b + d + 1] - 1
            prev1 = i1
            i2 = i1 - d
            while i1 > box.off1 and i2 > box.off2 and ha1[i1 - 1] == ha2[i2 - 1]:
                i1 -= 1
                i2 -= 1
            if prev1 - i1 > _SNAKE_CNT:
                got_snake = True
            kvdb[b + d] = i1
            if not box.odd and box.fmin <= d <= box.fmax and i1 <= kvdf[b + d]:
                return (i1, i2, True, True), got_snake
        return None, got_snake

    def _heuristic(
        self,
        off1: int,
        lim1: int,
        off2: int,
        lim2: int,
        ec: int,
        fwd: tuple[int, int, int],
        bwd: tuple[int, int, int],
    ) -> tuple[int, int, bool, bool] | None:
        ha1, ha2, b = self.ha1, self.ha2, self.base
        fmin, fmax, fmid = fwd
        best, spl = 0, (0, 0)
        for d in range(fmax, fmin - 1, -2):
            dd = d - fmid if d > fmid else fmid - d
            i1 = self.kvdf[b + d]
            i2 = i1 - d
            v = (i1 - off1) + (i2 - off2) - dd
            if v > _K_HEUR * ec and v > best and off1 + _SNAKE_CNT <= i1 < lim1 and off2 + _SNAKE_CNT <= i2 < lim2:
                k = 1
                while ha1[i1 - k] == ha2[i2 - k]:
                    if k == _SNAKE_CNT:
                        best, spl = v, (i1, i2)
                        break
                    k += 1
        if best > 0:
            return spl[0], spl[1], True, False
        bmin, bmax, bmid = bwd
        best = 0
        for d in range(bmax, bmin - 1, -2):
            dd = d - bmid if d > bmid else bmid - d
            i1 = self.kvdb[b + d]
            i2 = i1 - d
            v = (lim1 - i1) + (lim2 - i2) - dd
            if v > _K_HEUR * ec and v > best and off1 < i1 <= lim1 - _SNAKE_CNT and off2 < i2 <= lim2 - _SNAKE_CNT:
                k = 0
                while ha1[i1 + k] == ha2[i2 + k]:
                    if k == _SNAKE_CNT - 1:
                        best, spl = v, (i1, i2)
                        break
                    k += 1
        if best > 0:
            return spl[0], spl[1], False, True
        return None

    def _furthest(
        self, off1: int, lim1: int, off2: int, lim2: int, fwd: tuple[int, int], bwd: tuple[int, int]
    ) -> tuple[int, int, bool, bool]:
        b = self.base
        fbest = fbest1 = -1
        for d in range(fwd[1], fwd[0] - 1, -2):
            i1 = min(self.kvdf[b + d], lim1)
            i2 = i1 - d
            if lim2 < i2:
                i1, i2 = lim2 + d, lim2
            if fbest < i1 + i2:
                fbest, fbest1 = i1 + i2, i1
        bbest = bbest1 = _LINE_MAX
        for d in range(bwd[1], bwd[0] - 1, -2):
            i1 = max(off1, self.kvdb[b + d])
            i2 = i1 - d
            if i2 < off2:
                i1, i2 = off2 + d, off2
            if i1 + i2 < bbest:
                bbest, bbest1 = i1 + i2, i1
        if (lim1 + lim2) - bbest < fbest - (off1 + off2):
            return fbest1, fbest - fbest1, True, False
        return bbest1, bbest - bbest1, False, True


def _classify(old: Sequence[str], new: Sequence[str]) -> tuple[list[int], list[int], dict[int, int], dict[int, int]]:
    classes: dict[str, int] = {}
    ids1 = [classes.setdefault(line, len(classes)) for line in old]
    ids2 = [classes.setdefault(line, len(classes)) for line in new]
    counts1: dict[int, int] = {}
    counts2: dict[int, int] = {}
    for i in ids1:
        counts1[i] = counts1.get(i, 0) + 1
    for i in ids2:
        counts2[i] = counts2.get(i, 0) + 1
    return ids1, ids2, counts1, counts2


def _script(f1: _File, f2: _File) -> list[Change]:
    """xdl_build_script: the change groups, in file order."""
    changes: list[Change] = []
    i1, i2 = f1.nrec, f2.nrec
    while i1 >= 0 or i2 >= 0:
        if f1.changed(i1 - 1) or f2.changed(i2 - 1):
            l1, l2 = i1, i2
            while f1.changed(i1 - 1):
                i1 -= 1
            while f2.changed(i2 - 1):
                i2 -= 1
            changes.append(Change(i1, i2, l1 - i1, l2 - i2))
        i1 -= 1
        i2 -= 1
    changes.reverse()
    return changes


def diff_lines(old: Sequence[str], new: Sequence[str]) -> list[Change]:
    """Return git's change groups turning ``old`` into ``new`` (lines including their newline)."""
    ids1, ids2, counts1, counts2 = _classify(old, new)
    f1, f2 = _File(ids1), _File(ids2)
    _prepare(f1, f2, counts1, counts2)
    _Myers(f1, f2).run()
    compact(ids1, old, f1.rchg, ids2, f2.rchg)
    compact(ids2, new, f2.rchg, ids1, f1.rchg)
    return _script(f1, f2)
