"""The compiled build's agent heaps: parallel native vectors and a live table by slot.

Theory of operation: a compiled pool's agent heap (``Pool.vh``) is two parallel
``librt.vecs`` vectors, ``keys`` (``vec[float]``) and ``ss`` (``vec[i64]``: ``rank <<
SLOT_BITS | slot``), with its length ``n`` in a native field: a sift or a compaction reads 16
contiguous bytes per entry and no object header (the list of entry objects it replaces read
and wrote each entry's header: at 100,000 agents the compactions' largest cost;
BENCHMARKS.md, "A contiguous agent heap, vec51" and "..., finished, vec52"). The order and the
moves are ``heapq``'s on ``(key, ss)``, so on ``(key, rank)``: the pure build's tuples'
``(key, seq)`` order (ranks are given in ``seq``'s order, one per listing).

The vectors never shrink: a pop or a compaction only lowers ``n``, and a push writes in
place below their length, appending (a call into ``librt``, which may move the buffer) only
when ``n`` reaches it. A vec's length lives in the value, so a vector is read from its field
once per operation and written back only after an append.

An entry holds no version: it is live while the router's :class:`LiveTable` holds its very
``ss`` at its slot (``cells[slot] == ss``). ``Router._refresh`` writes the cell once per
listing (the listing's new rank, so an older entry of the slot never matches again),
``Router._index_agent`` when a slot is taken, and ``unlist``, ``Router._retire_slot`` write
``-1`` (no entry's ``ss`` is negative); ``Router._renumber_ranks`` and ``Router.restore``
give the ranks anew, cells and entries together. That is the version table's rule
(``Router._vers``, router/state/lazyheap.py: every write of a version there comes with a
cell here), read from one 8-byte native cell per entry.

Only the compiled build makes these (``Router._native_heap``); the pure build keeps its lists
of tuples, which ``heapq`` orders in C, and imports this module without ``librt`` (the
imports below fail quietly: their names are read only by code the pure build never runs, and
the annotations are strings). ``librt`` is the compiled build's runtime dependency
(docs/compiled.md).
"""

from __future__ import annotations

from typing import Any, Final, final

try:  # the compiled build's runtime dependency (librt.vecs); the pure build never calls it
    from librt.vecs import append, vec
    from mypy_extensions import i64
except ImportError:  # pragma: no cover (a pure install without librt: never made there)
    pass

try:  # mypyc reads the decorator when it compiles; at run time it is a no-op
    from mypy_extensions import mypyc_attr
except ImportError:  # (not a dependency: the pure build runs without it)

    def mypyc_attr(*_args: object, **_kwargs: object) -> Any:  # type: ignore[misc]
        """``mypy_extensions.mypyc_attr``'s stand-in: no-op."""
        return lambda cls: cls


__all__ = ["SLOT_BITS", "SLOT_MASK", "AgentHeap", "LiveTable"]

#: the bits of an entry's ``ss`` that hold its slot (67 million slots); the others, its
#: ``seq``, a listing's rank below ``lazyheap.RANK_LIMIT``
SLOT_BITS: Final = 26
SLOT_MASK: Final = (1 << SLOT_BITS) - 1


@final
@mypyc_attr(acyclic=True)
class LiveTable:
    """By slot (``Router._slots``), the ``ss`` of its agent's live listing, ``-1`` when none."""

    __slots__ = ("cells",)

    def __init__(self) -> None:
        self.cells: vec[i64] = vec[i64]()

    def add(self, s: i64) -> None:
        """A new slot's cell (``Router._index_agent``: the slot table grew by one)."""
        self.cells = append(self.cells, s)


@final
@mypyc_attr(acyclic=True)
class AgentHeap:
    """A pool's agent heap, compiled: ``keys[:n]`` and ``ss[:n]`` in ``heapq``'s layout."""

    __slots__ = ("keys", "n", "ss")

    def __init__(self) -> None:
        self.keys: vec[float] = vec[float]()
        self.ss: vec[i64] = vec[i64]()
        self.n: i64 = 0

    def __len__(self) -> int:
        return self.n

    def push(self, key: float, s: i64) -> None:
        """``heapq.heappush`` of ``(key, s)``."""
        n = self.n
        keys = self.keys
        ss = self.ss
        if n < len(ss):  # room below the vectors' length: written in place
            keys[n] = key
            ss[n] = s
        else:
            keys = self.keys = append(keys, key)
            ss = self.ss = append(ss, s)
        self.n = n + 1
        _sift_down(keys, ss, 0, n)

    def list_entry(self, key: float, s: i64, cells: vec[i64]) -> None:
        """``(key, s)`` pushed, except that a stale top gives it its place (sifted down from
        the top): the pool's next seek would pop that top, one sift from the top to a leaf;
        new entries mostly settle a few levels above the bottom. The live entries are those
        of a push (the same decisions); the layout is not ``heapq``'s after a replacement
        (never in a snapshot: its draws are read as a set)."""
        n = self.n
        if n:
            ss = self.ss
            top = ss[0]
            if cells[top & SLOT_MASK] != top:
                _settle(self.keys, ss, 0, key, s, n)
                return
        self.push(key, s)

    def pop(self) -> None:
        """The top taken off (``heapq.heappop``'s moves; read ``keys[0]``, ``ss[0]`` before)."""
        n = self.n - 1
        self.n = n
        if n > 0:
            keys = self.keys
            ss = self.ss
            _sift_up(keys, ss, 0, keys[n], ss[n], n)

    def compact(self, cells: vec[i64]) -> None:
        """Only the live entries kept (``cells``: the live table's), in their order, then
        heapified (``heapq.heapify``'s layout), as ``lazyheap.compact_agents``."""
        keys = self.keys
        ss = self.ss
        n = self.n
        j: i64 = 0
        for i in range(n):
            s = ss[i]
            if cells[s & SLOT_MASK] == s:
                keys[j] = keys[i]
                ss[j] = s
                j += 1
        self.n = j
        for i in range(j // 2 - 1, -1, -1):
            _settle(keys, ss, i, keys[i], ss[i], j)

    # -- readers off the hot path (explanations, snapshots, tests)

    def entries(self, cells: vec[i64]) -> list[tuple[float, int, int, bool]]:
        """Every entry ``(key, rank, slot, live)``, in the heap's layout."""
        keys = self.keys
        ss = self.ss
        out: list[tuple[float, int, int, bool]] = []
        for i in range(self.n):
            s = ss[i]
            slot = s & SLOT_MASK
            out.append((keys[i], int(s >> SLOT_BITS), int(slot), cells[slot] == s))
        return out

    def live_slots(self, cells: vec[i64], limit: i64) -> list[int]:
        """The slots of the live entries among the first ``limit`` of the layout (a bounded
        look: ``Router._listed_room``)."""
        ss = self.ss
        n = self.n if self.n < limit else limit
        out: list[int] = []
        for i in range(n):
            s = ss[i]
            slot = s & SLOT_MASK
            if cells[slot] == s:
                out.append(int(slot))
        return out

    def live_key(self, cells: vec[i64], slot: i64) -> float | None:
        """The key of the live entry of the agent at ``slot``, if it is listed here."""
        s = cells[slot]
        if s < 0:
            return None
        ss = self.ss
        for i in range(self.n):
            if ss[i] == s:
                return self.keys[i]
        return None

    def best_live_except(self, cells: vec[i64], slot: i64) -> tuple[float, int] | None:
        """``(key, slot)`` of the live entry of least ``(key, rank)`` whose slot is not
        ``slot`` (``None``: there is none), read without changing the heap: a best-first walk
        down the tree (a child is never before its parent), as ``lazyheap.best_live_except``."""
        n = self.n
        if not n:
            return None
        keys = self.keys
        ss = self.ss
        frontier: list[tuple[float, int, int]] = [(keys[0], int(ss[0]), 0)]
        while frontier:
            frontier.sort(reverse=True)  # (an explanation's walk: a few entries)
            i: i64 = frontier.pop()[2]
            s = ss[i]
            sl = s & SLOT_MASK
            if sl != slot and cells[sl] == s:
                return (keys[i], int(sl))
            for c in (2 * i + 1, 2 * i + 2):
                if c < n:
                    frontier.append((keys[c], int(ss[c]), int(c)))
        return None


def _sift_down(keys: vec[float], ss: vec[i64], startpos: i64, pos: i64) -> None:
    """``heapq._siftdown``'s moves: the entry at ``pos`` up while it comes before its parent."""
    nk = keys[pos]
    ns = ss[pos]
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        pk = keys[parentpos]
        ps = ss[parentpos]
        if nk < pk or (nk == pk and ns < ps):
            keys[pos] = pk
            ss[pos] = ps
            pos = parentpos
            continue
        break
    keys[pos] = nk
    ss[pos] = ns


def _settle(keys: vec[float], ss: vec[i64], pos: i64, ik: float, iss: i64, n: i64) -> None:
    """``(ik, iss)`` into the hole at ``pos`` of the first ``n`` entries, sifted down by the
    lesser child while that child comes before it (``heapq.heapify``'s step)."""
    childpos = 2 * pos + 1
    while childpos < n:
        kc = keys[childpos]
        sc = ss[childpos]
        rightpos = childpos + 1
        if rightpos < n:  # the lesser child, as ``heapq`` chooses it
            kr = keys[rightpos]
            sr = ss[rightpos]
            if not (kc < kr or (kc == kr and sc < sr)):
                childpos = rightpos
                kc = kr
                sc = sr
        if ik < kc or (ik == kc and iss < sc):
            break
        keys[pos] = kc
        ss[pos] = sc
        pos = childpos
        childpos = 2 * pos + 1
    keys[pos] = ik
    ss[pos] = iss


def _sift_up(keys: vec[float], ss: vec[i64], pos: i64, k: float, s: i64, n: i64) -> None:
    """``heapq._siftup``'s moves on the first ``n`` entries: the hole at ``pos`` goes down to
    a leaf by the lesser child, then ``(k, s)`` goes up from there."""
    startpos = pos
    childpos = 2 * pos + 1
    while childpos < n:
        rightpos = childpos + 1
        if rightpos < n:
            kc = keys[childpos]
            kr = keys[rightpos]
            if not (kc < kr or (kc == kr and ss[childpos] < ss[rightpos])):
                childpos = rightpos
        keys[pos] = keys[childpos]
        ss[pos] = ss[childpos]
        pos = childpos
        childpos = 2 * pos + 1
    keys[pos] = k
    ss[pos] = s
    _sift_down(keys, ss, startpos, pos)
