"""The agent heaps' own operations. Pure build: lists of ``(key, seq, ver, slot)`` tuples
kept by ``heapq``, compacted and read by router/state/lazyheap.py's ``compact_agents`` and
``best_live_except``. Compiled build: ``vecheap.AgentHeap``, parallel ``librt.vecs``
vectors with liveness from a live table by slot (router/state/vecheap.py; compiled here when
the build is, else interpreted through ``librt``): checked against ``heapq`` on
``(key, ss)`` tuples. The router's use of the live table: tests/test_live_table.py; the
deadline heap's entries: tests/test_deadline_entries.py."""

from __future__ import annotations

import heapq
import random
import sys
from typing import Any

import pytest

from router.state.lazyheap import SLOT_BITS, best_live_except, compact_agents

M = (1 << SLOT_BITS) - 1


class _Rec:
    """An agent record as a heap reads it: its version."""

    def __init__(self, ver: int) -> None:
        self.ver = ver


def _big(v: int) -> object:
    """A version ``v`` as an int object of its own (past CPython's small-int cache: equal
    values made apart are distinct objects)."""
    return int(str(10**6 + v))


def test_best_live_except_is_the_least_live_entry_of_another_agent() -> None:
    """Against a scan of the whole heap, on heaps with many stale entries and ties."""
    rng = random.Random(11)
    for _ in range(300):
        slots = [_Rec(0) for _ in range(rng.randint(1, 40))]
        heap: list[tuple[float, int, int, int]] = []
        for seq in range(rng.randint(0, 120)):
            slot = rng.randrange(len(slots))
            heapq.heappush(heap, (float(rng.randint(0, 6)), seq, slots[slot].ver, slot))
            if rng.random() < 0.6:  # its entries so far go stale
                slots[slot].ver += 1
        before = list(heap)
        skip = rng.choice(slots)
        live = [e for e in heap if slots[e[3]] is not skip and slots[e[3]].ver == e[2]]
        got = best_live_except(heap, slots, skip)
        assert got == (min(live) if live else None)
        assert heap == before  # read only


def test_compact_agents_compacts_the_heap_in_place() -> None:
    """``Router._seek_agent`` (pure) holds a pool's heap while it skips the agents who
    declined the inquiry, and pushes them back after the assignment, whose refresh may
    compact that very heap: the compaction must keep the list object, or the pushed-back
    agents land in a discarded list and are never found in that pool until re-listed."""
    rng = random.Random(5)
    # the version table (``Router._vers``): ints past the small-int cache, one object each
    vers: list[object] = [_big(rng.randrange(3)) for _ in range(40)]
    heap: list[Any] = []
    for s in range(200):
        slot = rng.randrange(40)
        # a live entry holds the table's object; a stale one an older version's
        ver = vers[slot] if rng.random() < 0.5 else _big(rng.randrange(3) - 3)
        heap.append((rng.uniform(-5.0, 5.0), s, ver, slot))
    heapq.heapify(heap)
    want = [e for e in heap if vers[e[3]] is e[2]]
    heapq.heapify(want)
    held = heap  # what _seek_agent holds; a copy-out would leave it with the stale entries
    compact_agents(heap, vers)
    assert all(a is b for a, b in zip(held, want, strict=True))


# -- the compiled build's heap (router/state/vecheap.py)

vecs = pytest.importorskip("librt.vecs", reason="the compiled build's heap needs librt")

from router.state.vecheap import AgentHeap, LiveTable  # noqa: E402


def _table(n: int) -> LiveTable:
    t = LiveTable()
    for _ in range(n):
        t.add(-1)
    return t


def _layout(h: AgentHeap) -> list[tuple[float, int]]:
    return [(h.keys[i], h.ss[i]) for i in range(h.n)]


def _is_heap(h: AgentHeap) -> bool:
    e = _layout(h)
    return all(not e[i] < e[(i - 1) >> 1] for i in range(1, len(e)))


def test_agent_heap_keeps_heapqs_order_against_a_model() -> None:
    """Random pushes, stale-top listings, unlistings, pops and compactions, against
    ``heapq`` on ``(key, ss)`` tuples with the same liveness rule: every top and length
    agree, and the layout is ``heapq``'s where the operation is ``heapq``'s (push, pop,
    compaction's heapify); a listing over a stale top replaces it as ``heapreplace``."""
    rng = random.Random(5)
    for _ in range(150):
        h = AgentHeap()
        ref: list[tuple[float, int]] = []
        nslots = rng.randint(1, 40)
        t = _table(nslots)
        rank = 0

        def live(s: int, t: LiveTable = t) -> bool:
            return bool(t.cells[s & M] == s)

        for _step in range(300):
            op = rng.random()
            if op < 0.45:  # a listing: the slot's cell takes its new rank
                sl = rng.randrange(nslots)
                rank += 1
                s = (rank << SLOT_BITS) | sl
                t.cells[sl] = s
                k = float(rng.randint(0, 5)) if rng.random() < 0.5 else rng.uniform(-3, 3)
                if rng.random() < 0.5:
                    h.list_entry(k, s, t.cells)
                    if ref and not live(ref[0][1]):
                        heapq.heapreplace(ref, (k, s))
                    else:
                        heapq.heappush(ref, (k, s))
                else:
                    h.push(k, s)
                    heapq.heappush(ref, (k, s))
                    assert _layout(h) == ref  # heappush's moves
            elif op < 0.6:  # unlisted: its entries stale
                t.cells[rng.randrange(nslots)] = -1
            elif op < 0.85 and h.n:
                assert (h.keys[0], h.ss[0]) == ref[0]
                h.pop()
                heapq.heappop(ref)
            else:
                h.compact(t.cells)
                ref = [e for e in ref if live(e[1])]
                assert sorted(_layout(h)) == sorted(ref)
                heapq.heapify(ref)
            assert len(h) == h.n == len(ref)
            assert _is_heap(h)
            if h.n:
                assert (h.keys[0], h.ss[0]) == ref[0]
            assert len(h.keys) == len(h.ss) >= h.n  # the vectors never shrink


def test_agent_heap_vectors_grow_only_when_full() -> None:
    """A pop or a compaction lowers ``n`` only; a push writes below the vectors' length
    and appends only when ``n`` reaches it (no ``librt`` call on the steady path)."""
    h = AgentHeap()
    t = _table(8)
    for i in range(8):
        t.cells[i] = (i + 1) << SLOT_BITS | i
        h.push(float(8 - i), t.cells[i])
    assert len(h.keys) == 8 and h.n == 8
    for _ in range(5):
        h.pop()
    assert h.n == 3 and len(h.keys) == len(h.ss) == 8
    for i in range(5):
        h.push(float(i), (20 + i) << SLOT_BITS | i)
    assert h.n == 8 and len(h.keys) == 8  # written in place
    h.push(-1.0, 30 << SLOT_BITS | 7)
    assert h.n == 9 and len(h.keys) == len(h.ss) == 9  # appended once full
    h.compact(t.cells)
    assert h.n == 3 and len(h.keys) == 9  # the three first listings not popped are live
    assert sorted(_layout(h)) == sorted((float(8 - i), t.cells[i]) for i in (0, 1, 2))


def test_agent_heap_readers_off_the_hot_path() -> None:
    """``entries`` (every entry, its liveness from the table), ``live_key`` (a slot's live
    key) and ``best_live_except`` (the least live entry of another slot, read only): against
    scans of the entries."""
    rng = random.Random(17)
    for _ in range(200):
        nslots = rng.randint(1, 20)
        t = _table(nslots)
        h = AgentHeap()
        for rank in range(1, rng.randint(1, 80)):
            sl = rng.randrange(nslots)
            s = (rank << SLOT_BITS) | sl
            t.cells[sl] = s
            h.push(float(rng.randint(0, 4)), s)
            if rng.random() < 0.3:
                t.cells[rng.randrange(nslots)] = -1
        before = _layout(h)
        entries = h.entries(t.cells)
        assert [(k, (r << SLOT_BITS) | sl) for k, r, sl, _ in entries] == before
        assert [live for *_, live in entries] == [t.cells[s & M] == s for _, s in before]
        for sl in range(nslots):
            mine = [k for k, r, s, live in entries if live and s == sl]
            assert len(mine) <= 1  # one live listing per slot and pool
            assert h.live_key(t.cells, sl) == (mine[0] if mine else None)
            others = [(k, s) for k, s in before if s & M != sl and t.cells[s & M] == s]
            want = min(others) if others else None
            got = h.best_live_except(t.cells, sl)
            assert got == (None if want is None else (want[0], want[1] & M))
        assert _layout(h) == before  # read only


def test_deadline_entries_are_sized_for_their_blocks_and_read_as_their_tuples() -> None:
    """A deadline entry does not take a 64-byte block, which puts the object header and its
    time in two cache lines every time: compiled, it is 65-80 bytes (padded); either build,
    it reads, iterates and compares as the tuple of its fields."""
    import router
    from router.state.lazyheap import DeadlineEntry

    d = DeadlineEntry(2.5, 9, 1, "x", 4)
    assert tuple(d) == (2.5, 9, 1, "x", 4) and len(d) == 5
    assert DeadlineEntry(2.5, 8, 0, None, 0) < d < DeadlineEntry(3.0, 0, 0, None, 0)
    if router.compiled:
        assert 64 < sys.getsizeof(d) <= 80, sys.getsizeof(d)
