"""The agent heaps' own push and pop (router/state/lazyheap.py, used by the compiled build;
the deadline heap's are in tests/test_deadline_entries.py): the compiled build's agent
heaps hold ``AgentEntry`` objects (``agent_push``, ``agent_pop``, ``agent_list``,
``agent_heapify``): the same order and layout as ``heapq`` on them, or on the tuples of
their fields."""

from __future__ import annotations

import heapq
import random
from typing import Any

import pytest

from router.state.lazyheap import (
    SPARE_MAX,
    AgentEntry,
    agent_heapify,
    agent_list,
    agent_pop,
    agent_push,
    best_live_except,
    compact_agents,
)


class _Rec:
    """An agent record as a heap reads it: its version."""

    def __init__(self, ver: int) -> None:
        self.ver = ver


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


def test_agent_heapify_of_a_compacted_heap_lays_entries_out_as_heapq_does() -> None:
    """A compaction's input (``compact_agents``, compiled): a heap with entries taken out
    (most items stay where they are, so ``agent_heapify``'s sifts stop early); the layout is
    still ``heapq.heapify``'s, so either build may act on a heap the other built."""
    rng = random.Random(29)
    for _ in range(300):
        n = rng.randrange(0, 300)
        keys = [0.0, -0.0, 1.0]  # ties on the key, decided by the seq
        seqs = rng.sample(range(10 * n + 1), n)
        heap = [
            AgentEntry(rng.choice(keys) if rng.random() < 0.3 else rng.uniform(-5.0, 5.0), s, 0, 0)
            for s in seqs
        ]
        heapq.heapify(heap)
        drop = rng.random()
        kept = [e for e in heap if rng.random() >= drop]
        ours, theirs = list(kept), list(kept)
        agent_heapify(ours)
        heapq.heapify(theirs)
        assert all(a is b for a, b in zip(ours, theirs, strict=True))


@pytest.mark.parametrize(("native", "objects"), [(False, False), (False, True), (True, True)])
def test_compact_agents_compacts_the_heap_in_place(native: bool, objects: bool) -> None:
    """``Router._seek_agent`` holds a pool's heap while it skips the agents who declined
    the inquiry, and pushes them back after the assignment, whose refresh may compact
    that very heap: the compaction must keep the list object, or the pushed-back agents
    land in a discarded list and are never found in that pool until re-listed. (``objects``:
    ``AgentEntry`` objects, the compiled build's; the pure branch compacts them too, as a
    test may on a compiled router's heap.)"""
    rng = random.Random(5)
    # the version table (``Router._vers``): ints past the small-int cache, one object each
    vers: list[object] = [_big(rng.randrange(3)) for _ in range(40)]
    heap: list[Any] = []
    for s in range(200):
        slot = rng.randrange(40)
        # a live entry holds the table's object; a stale one an older version's
        ver = vers[slot] if rng.random() < 0.5 else _big(rng.randrange(3) - 3)
        key = rng.uniform(-5.0, 5.0)
        heap.append(AgentEntry(key, s, ver, slot) if objects else (key, s, ver, slot))
    heapq.heapify(heap)
    want = [e for e in heap if vers[e[3]] == e[2]]  # the value compare: the same entries
    heapq.heapify(want)
    held = heap  # what _seek_agent holds; a copy-out would leave it with the stale entries
    compact_agents(heap, vers, native)
    assert all(a is b for a, b in zip(held, want, strict=True))


def test_compacted_stale_entries_are_reused_by_agent_list() -> None:
    """The compiled refresh's compaction keeps the stale entries it drops in ``spare`` (up
    to ``SPARE_MAX`` in all), and ``agent_list`` appends one of them, given the new fields,
    instead of a new object when the top is live; a stale top is still reused first. The
    heap's live entries and order are those of plain pushes."""
    rng = random.Random(41)
    vers: list[object] = [_big(0) for _ in range(30)]
    heap: list[AgentEntry] = []
    for s in range(120):
        slot = rng.randrange(30)
        # a stale entry holds another int object than its slot's
        ver = vers[slot] if s % 3 else _big(1)
        agent_push(heap, AgentEntry(rng.uniform(-5.0, 5.0), s, ver, slot))
    stale = [e for e in heap if vers[e.slot] is not e.ver]
    live = sorted(_kq(e) for e in heap if vers[e.slot] is e.ver)
    spare: list[AgentEntry] = [AgentEntry(0.0, -1, None, 0) for _ in range(SPARE_MAX - 10)]
    compact_agents(heap, vers, True, spare)
    assert sorted(_kq(e) for e in heap) == live  # only the live entries stay
    assert len(spare) == SPARE_MAX  # full: the other stale entries are dropped
    assert all(any(e is d for d in stale) for e in spare[-10:])  # the first 10 dropped
    # the top is live: the entry appended is spare's last one, with the new fields
    assert vers[heap[0].slot] is heap[0].ver
    reused = spare[-1]
    agent_list(heap, -9.0, 500, vers[7], 7, vers, spare)
    assert len(spare) == SPARE_MAX - 1 and heap[0] is reused
    assert tuple(reused) == (-9.0, 500, vers[7], 7)
    # a stale top is replaced in place: spare is not read
    vers[7] = _big(2)
    agent_list(heap, 9.0, 501, vers[3], 3, vers, spare)
    assert len(spare) == SPARE_MAX - 1 and any(e is reused for e in heap)
    assert tuple(reused) == (9.0, 501, vers[3], 3)
    # no spare left and a live top: a new entry
    compact_agents(heap, vers, True, spare)
    assert vers[heap[0].slot] is heap[0].ver
    before = list(heap)  # (held: no id of theirs is reused)
    agent_list(heap, 0.5, 502, vers[3], 3, vers, [])
    assert len(heap) == len(before) + 1
    assert sum(not any(e is b for b in before) for e in heap) == 1
    assert all(not _kq(heap[i]) < _kq(heap[(i - 1) >> 1]) for i in range(1, len(heap)))


def _big(v: int) -> object:
    """A version ``v`` as an int object of its own (past CPython's small-int cache: equal
    values made apart are distinct objects, as the compiled build boxes them)."""
    return int(str(10**6 + v))


def _kq(e: AgentEntry) -> tuple[float, int]:
    return (e.key, e.seq)


def _replaced(heap: list[AgentEntry], entry: AgentEntry) -> None:
    """The model of ``agent_list``'s replacement: the new entry at the top, moved down past
    each lesser child (``heapq``'s choice of child) that comes before it."""
    pos, n = 0, len(heap)
    while 2 * pos + 1 < n:
        c = 2 * pos + 1
        if c + 1 < n and not _kq(heap[c]) < _kq(heap[c + 1]):
            c += 1
        if _kq(entry) < _kq(heap[c]):
            break
        heap[pos] = heap[c]
        pos = c
    heap[pos] = entry


def test_agent_list_gives_a_stale_tops_place_to_the_new_entry() -> None:
    """``agent_list`` (the compiled refresh's push): a stale top is replaced by the new entry,
    sifted down from the top (the model above, entry by entry); else a push as ``heapq``'s.
    The heap stays a heap, and its live entries are those of plain pushes and pops. The
    replacement is the stale top's own object with the new fields (no allocation); a push
    makes a new one."""
    rng = random.Random(27)
    vers: list[object] = [_big(0) for _ in range(60)]  # the version table (Router._vers)
    ours: list[AgentEntry] = []  # agent_list's own objects (it rewrites a stale top's)
    model: list[AgentEntry] = []
    plain: list[AgentEntry] = []  # plain pushes and pops: main's heap
    keys = [0.0, -1.5, 2.25]  # ties on the key, decided by the seq

    def stale(e: AgentEntry) -> bool:
        return vers[e.slot] != e.ver  # the value compare (agent_list tests identity)

    replaced = 0
    for seq in range(6000):
        r = rng.random()
        if r < 0.25 and ours:  # the seek: pops stale tops, then takes the live one
            while ours and stale(ours[0]):
                agent_pop(ours)
                heapq.heappop(model)
            while plain and stale(plain[0]):
                heapq.heappop(plain)
            if ours:
                a, b, c = agent_pop(ours), heapq.heappop(model), heapq.heappop(plain)
                assert tuple(a) == tuple(b) and b is c
        elif r < 0.45:  # an agent changes: its entries go stale
            slot = rng.randrange(60)
            vers[slot] = _big(int(str(vers[slot])) - 10**6 + 1)  # the next version
        else:
            slot = rng.randrange(60)
            key = rng.choice(keys) if rng.random() < 0.3 else rng.uniform(-5.0, 5.0)
            entry = AgentEntry(key, seq, vers[slot], slot)
            top = ours[0] if ours else None
            replacing = bool(model) and stale(model[0])
            if replacing:
                _replaced(model, entry)
                replaced += 1
            else:
                heapq.heappush(model, entry)
            heapq.heappush(plain, entry)
            before = {id(e) for e in ours}
            agent_list(ours, key, seq, vers[slot], slot, vers, [])
            if replacing:  # the stale top's object, with the new fields, somewhere below
                assert top is not None and tuple(top) == tuple(entry)
                assert {id(e) for e in ours} == before
            else:
                assert len(ours) == len(before) + 1
        assert [tuple(e) for e in ours] == [tuple(e) for e in model]
        assert all(not _kq(ours[i]) < _kq(ours[(i - 1) >> 1]) for i in range(1, len(ours)))
        live = sorted(_kq(e) for e in ours if not stale(e))
        assert live == sorted(_kq(e) for e in plain if not stale(e))
    assert replaced > 100


def test_agent_entry_heaps_keep_heapqs_order_and_layout() -> None:
    """``agent_push``, ``agent_pop`` and ``agent_heapify`` on ``AgentEntry`` objects lay
    them out as ``heapq`` lays out the tuples of their fields (ties on the key decided by
    the seq, ``-0.0 == 0.0``), so either build's functions may act on a heap the other
    built; ``heapq`` on the objects themselves (their ``<``) agrees too."""
    rng = random.Random(31)
    ours: list[AgentEntry] = []
    tuples: list[tuple[float, int, object, int]] = []
    objs: list[AgentEntry] = []  # heapq on the objects
    keys = [0.0, -0.0, -1.5, 2.25, float("inf")]
    for seq in range(5000):
        if ours and rng.random() < 0.45:
            a, b, c = agent_pop(ours), heapq.heappop(tuples), heapq.heappop(objs)
            assert a is c and tuple(a) == b
        else:
            key = rng.choice(keys) if rng.random() < 0.5 else rng.uniform(-5.0, 5.0)
            e = AgentEntry(key, seq, seq % 7, rng.randrange(50))
            agent_push(ours, e)
            heapq.heappush(tuples, (e.key, e.seq, e.ver, e.slot))
            heapq.heappush(objs, e)
        assert [tuple(e) for e in ours] == tuples
        assert all(a is b for a, b in zip(ours, objs, strict=True))
    for _ in range(300):
        n = rng.randrange(0, 200)
        entries = [
            AgentEntry(rng.choice(keys) if rng.random() < 0.5 else rng.uniform(-5.0, 5.0), s, 0, 0)
            for s in rng.sample(range(10 * n + 1), n)
        ]
        mine, theirs = list(entries), list(entries)
        agent_heapify(mine)
        heapq.heapify(theirs)
        assert all(a is b for a, b in zip(mine, theirs, strict=True))


def test_agent_entry_reads_as_its_tuple() -> None:
    """Readers off the hot path take either form: ``e[i]``, unpacking, ``len`` and ``<``
    as the tuple ``(key, seq, ver, slot)``'s (``<`` by ``(key, seq)``, never reaching the
    version: one listing per agent and pool, so no two entries of a heap tie on both)."""
    ver = _big(5)
    e = AgentEntry(-2.5, 17, ver, 3)
    assert (e[0], e[1], e[2], e[3]) == (-2.5, 17, ver, 3) and e[2] is ver
    key, seq, v, slot = e
    assert (key, seq, v, slot) == (-2.5, 17, ver, 3) and len(e) == 4
    assert tuple(e) == (-2.5, 17, ver, 3)
    assert "AgentEntry" in repr(e)
    for a, b in [((1.0, 1), (2.0, 0)), ((1.0, 1), (1.0, 2)), ((-0.0, 1), (0.0, 2))]:
        x, y = AgentEntry(a[0], a[1], None, 0), AgentEntry(b[0], b[1], None, 0)
        assert (x < y) == (a < b) and (y < x) == (b < a)


def test_entries_are_sized_for_their_blocks_and_read_as_their_tuples() -> None:
    """No entry takes a 64-byte block, which puts the object header and the key in two
    cache lines every time (``AgentEntry.__init__``): compiled, an agent entry is 48 bytes
    (its seq and slot packed in one field) and a deadline entry 65-80 (padded); either build,
    the entries read, iterate and compare as the tuples of their fields."""
    import sys

    import router
    from router.state.lazyheap import DeadlineEntry

    a = AgentEntry(1.5, 7, None, 3)
    d = DeadlineEntry(2.5, 9, 1, "x", 4)
    assert tuple(a) == (1.5, 7, None, 3) and len(a) == 4
    assert [a[i] for i in range(4)] == [1.5, 7, None, 3]
    assert tuple(d) == (2.5, 9, 1, "x", 4) and len(d) == 5
    assert AgentEntry(1.5, 6, None, 9) < a < AgentEntry(1.5, 8, None, 0)
    assert DeadlineEntry(2.5, 8, 0, None, 0) < d < DeadlineEntry(3.0, 0, 0, None, 0)
    if router.compiled:  # a 48-byte block (three fields), an 80-byte one (padded)
        assert sys.getsizeof(a) == 48, sys.getsizeof(a)
        assert 64 < sys.getsizeof(d) <= 80, sys.getsizeof(d)
