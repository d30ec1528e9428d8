"""The native entry heaps' own push and pop (router/state/lazyheap.py, the compiled build's
agent heaps and deadline heap): an ``ARITY``-ary layout, popped in the order ``heapq`` pops
the same entries ``(key, seq, ...)`` in (``(key, seq)`` decide: no two entries of a heap
have both equal). The pure build's heaps are ``heapq``'s; a heap is never touched by both."""

from __future__ import annotations

import heapq
import random
from typing import Any

import pytest

from router import AgentSpec
from router.state.lazyheap import (
    ARITY,
    agent_list,
    best_live_except,
    compact_agents,
    entry_heapify,
    entry_pop,
    entry_push,
)
from router.state.records import Agent


def _is_heap(heap: list[Any], arity: int = ARITY) -> bool:
    """No entry comes before its parent (``(i - 1) // arity``) by ``(key, seq)``."""
    return all(not heap[i][:2] < heap[(i - 1) // arity][:2] for i in range(1, len(heap)))


def test_the_arity_is_a_power_of_two_above_two() -> None:
    assert ARITY in (4, 8)


def test_entry_push_and_pop_keep_heapqs_order_with_ties_on_the_key() -> None:
    rng = random.Random(7)
    ours: list[tuple[float, int, int, object]] = []
    theirs: list[tuple[float, int, int, object]] = []
    seq = 0
    keys = [rng.choice([0.0, -1.5, 2.25, float("inf")]) for _ in range(50)]  # many ties
    for step in range(4000):
        if ours and rng.random() < 0.45:
            a, b = entry_pop(ours), heapq.heappop(theirs)
            assert a is b
        else:
            seq += 1
            key = rng.choice(keys) if rng.random() < 0.5 else rng.uniform(-5.0, 5.0)
            entry = (key, seq, step, None)
            entry_push(ours, entry)
            heapq.heappush(theirs, entry)
        assert ours[0] is theirs[0] if ours else not theirs
        if step % 97 == 0:
            assert _is_heap(ours)
    while ours:
        assert entry_pop(ours) is heapq.heappop(theirs)
    assert not theirs


def test_deadline_entries_pop_in_heapqs_order() -> None:
    """The router's deadline entries ``(when, seq, kind, obj, arg)`` go through the same
    functions in the compiled build: ``(when, seq)`` decide (each entry has its own ``seq``),
    whatever the rest holds (objects that do not compare)."""
    rng = random.Random(11)
    ours: list[tuple[float, int, int, object, int]] = []
    theirs: list[tuple[float, int, int, object, int]] = []
    seq = 0
    times = [rng.uniform(0.0, 100.0) for _ in range(30)]  # many entries due at one instant
    for _ in range(3000):
        if ours and rng.random() < 0.4:
            assert entry_pop(ours) is heapq.heappop(theirs)
        else:
            seq += 1
            when = rng.choice(times) if rng.random() < 0.6 else rng.uniform(0.0, 100.0)
            entry = (when, seq, rng.randrange(6), object(), rng.randrange(3))
            entry_push(ours, entry)
            heapq.heappush(theirs, entry)
    assert _is_heap(ours)
    while ours:
        assert entry_pop(ours) is heapq.heappop(theirs)
    assert not theirs


class _Rec:
    """An agent record as a heap reads it: its version."""

    def __init__(self, ver: int) -> None:
        self.ver = ver


@pytest.mark.parametrize("native", [False, True])
def test_best_live_except_is_the_least_live_entry_of_another_agent(native: bool) -> None:
    """Against a scan of the whole heap, on heaps with many stale entries and ties, in
    either layout (``heapq``'s, the pure build's; the native one, the compiled build's)."""
    rng = random.Random(11)
    push = entry_push if native else heapq.heappush
    arity = ARITY if native else 2
    for _ in range(300):
        slots = [_Rec(0) for _ in range(rng.randint(1, 40))]
        heap: list[tuple[float, int, int, int]] = []
        for seq in range(rng.randint(0, 120)):
            slot = rng.randrange(len(slots))
            push(heap, (float(rng.randint(0, 6)), seq, slots[slot].ver, slot))
            if rng.random() < 0.6:  # its entries so far go stale
                slots[slot].ver += 1
        before = list(heap)
        skip = rng.choice(slots)
        live = [e for e in heap if slots[e[3]] is not skip and slots[e[3]].ver == e[2]]
        got = best_live_except(heap, slots, skip, arity)
        assert got == (min(live) if live else None)
        assert heap == before  # read only


def _drain(heap: list[Any]) -> list[Any]:
    out = []
    while heap:
        out.append(entry_pop(heap))
    return out


def test_entry_heapify_makes_a_heap_of_any_list() -> None:
    rng = random.Random(23)
    for _ in range(400):
        n = rng.randrange(0, 200)
        keys = [0.0, -0.0, 1.0, float("inf")]  # ties, and -0.0 == 0.0 (no NaN key is made)
        seqs = rng.sample(range(10 * n + 1), n)
        entries = [
            (rng.choice(keys) if rng.random() < 0.5 else rng.uniform(-5.0, 5.0), s, 0, None)
            for s in seqs
        ]
        ours = list(entries)
        entry_heapify(ours)
        assert _is_heap(ours)
        assert sorted(map(id, ours)) == sorted(map(id, entries))
        assert _drain(ours) == sorted(entries, key=lambda e: e[:2])


def test_entry_heapify_of_a_compacted_heap() -> None:
    """A compaction's input: a heap with entries taken out (most items stay where they are,
    so ``entry_heapify``'s sifts stop early); it comes out a heap, popped in order."""
    rng = random.Random(29)
    for _ in range(300):
        n = rng.randrange(0, 300)
        keys = [0.0, -0.0, 1.0]  # ties on the key, decided by the seq
        seqs = rng.sample(range(10 * n + 1), n)
        heap = [
            (rng.choice(keys) if rng.random() < 0.3 else rng.uniform(-5.0, 5.0), s, 0, None)
            for s in seqs
        ]
        entry_heapify(heap)
        drop = rng.random()
        kept = [e for e in heap if rng.random() >= drop]
        entry_heapify(kept)
        assert _is_heap(kept)
        assert _drain(list(kept)) == sorted(kept, key=lambda e: e[:2])


@pytest.mark.parametrize("native", [False, True])
def test_compact_agents_compacts_the_heap_in_place(native: bool) -> None:
    """``Router._seek_agent`` holds a pool's heap while it skips the agents who declined
    the inquiry, and pushes them back after the assignment, whose refresh may compact
    that very heap: the compaction must keep the list object, or the pushed-back agents
    land in a discarded list and are never found in that pool until re-listed."""
    rng = random.Random(5)
    slots = [Agent(AgentSpec(id=f"s{i}", capacity={}), 0.0, i) for i in range(40)]
    for agent in slots:
        agent.ver = rng.randrange(3)
    heap = [(rng.uniform(-5.0, 5.0), s, rng.randrange(3), rng.randrange(40)) for s in range(200)]
    (entry_heapify if native else heapq.heapify)(heap)
    want = [e for e in heap if slots[e[3]].ver == e[2]]
    held = heap  # what _seek_agent holds; a copy-out would leave it with the stale entries
    compact_agents(heap, slots, native)
    assert held is heap and len(held) == len(want)
    if native:
        assert _is_heap(held)
        assert _drain(list(held)) == sorted(want)
    else:
        heapq.heapify(want)  # heapq's very layout
        assert all(a is b for a, b in zip(held, want, strict=True))


def _replaced(heap: list[tuple[float, int, int, int]], entry: tuple[float, int, int, int]) -> None:
    """The model of ``agent_list``'s replacement: the new entry at the top, moved down past
    each least child that comes before it."""
    pos, n = 0, len(heap)
    while ARITY * pos + 1 < n:
        first = ARITY * pos + 1
        c = min(range(first, min(first + ARITY, n)), key=lambda i: heap[i][:2])
        if entry[:2] < heap[c][:2]:
            break
        heap[pos] = heap[c]
        pos = c
    heap[pos] = entry


def test_agent_list_gives_a_stale_tops_place_to_the_new_entry() -> None:
    """``agent_list`` (the compiled refresh's push): a stale top is replaced by the new entry,
    sifted down from the top (the model above, entry by entry); else a push. The heap stays
    a heap, and its live entries are those of plain pushes and pops."""
    rng = random.Random(27)
    slots = [Agent(AgentSpec(id=f"s{i}", capacity={}), 0.0, i) for i in range(60)]
    ours: list[tuple[float, int, int, int]] = []
    model: list[tuple[float, int, int, int]] = []
    plain: list[tuple[float, int, int, int]] = []  # plain pushes and pops (heapq's)
    keys = [0.0, -1.5, 2.25]  # ties on the key, decided by the seq

    def stale(e: tuple[float, int, int, int]) -> bool:
        return slots[e[3]].ver != e[2]

    replaced = 0
    for seq in range(6000):
        r = rng.random()
        if r < 0.25 and ours:  # the seek: pops stale tops, then takes the live one
            while ours and stale(ours[0]):
                entry_pop(ours)
                entry_pop(model)
            while plain and stale(plain[0]):
                heapq.heappop(plain)
            if ours:
                a, b, c = entry_pop(ours), entry_pop(model), heapq.heappop(plain)
                assert a is b is c
        elif r < 0.45:  # an agent changes: its entries go stale
            slots[rng.randrange(60)].ver += 1
        else:
            slot = rng.randrange(60)
            key = rng.choice(keys) if rng.random() < 0.3 else rng.uniform(-5.0, 5.0)
            entry = (key, seq, slots[slot].ver, slot)
            if model and stale(model[0]):
                _replaced(model, entry)
                replaced += 1
            else:
                entry_push(model, entry)
            heapq.heappush(plain, entry)
            agent_list(ours, entry, slots)
        assert all(a is b for a, b in zip(ours, model, strict=True))
        assert _is_heap(ours)
        assert sorted(e for e in ours if not stale(e)) == sorted(e for e in plain if not stale(e))
    assert replaced > 100


def test_a_native_agent_heap_under_the_routers_operations() -> None:
    """Random listings (``agent_list``), seeks (stale tops popped, the live one taken),
    declines (entries popped and pushed back), agents changing (their entries go stale) and
    compactions, on a native heap and on ``heapq``'s: the native one stays an
    ``ARITY``-ary heap, and both give the same live entries in the same ``(key, seq)``
    order."""
    rng = random.Random(41)
    for _ in range(20):
        slots = [
            Agent(AgentSpec(id=f"s{i}", capacity={}), 0.0, i) for i in range(rng.randint(1, 80))
        ]
        ours: list[tuple[float, int, int, int]] = []
        plain: list[tuple[float, int, int, int]] = []

        def stale(e: tuple[float, int, int, int], slots: list[Agent] = slots) -> bool:
            return slots[e[3]].ver != e[2]

        for seq in range(1500):
            r = rng.random()
            if r < 0.2:
                while ours and stale(ours[0]):
                    entry_pop(ours)
                while plain and stale(plain[0]):
                    heapq.heappop(plain)
                if ours:
                    a, b = entry_pop(ours), heapq.heappop(plain)
                    assert a is b
                    slots[a[3]].ver += 1  # the agent took work
            elif r < 0.3 and ours:  # a decline: the head set aside, pushed back
                a, b = entry_pop(ours), heapq.heappop(plain)
                entry_push(ours, a)
                heapq.heappush(plain, b)
            elif r < 0.45:
                slots[rng.randrange(len(slots))].ver += 1
            elif r < 0.5:
                compact_agents(ours, slots, True)
                compact_agents(plain, slots, False)
                assert len(ours) == len(plain)
            else:
                slot = rng.randrange(len(slots))
                key = float(rng.randint(0, 5)) if rng.random() < 0.4 else rng.uniform(-5.0, 5.0)
                entry = (key, seq, slots[slot].ver, slot)
                agent_list(ours, entry, slots)
                heapq.heappush(plain, entry)
            assert _is_heap(ours)
        live = sorted(e for e in ours if not stale(e))
        assert live == sorted(e for e in plain if not stale(e))
        compact_agents(ours, slots, True)
        assert _drain(ours) == live
