"""The compiled build's deadline entries (``lazyheap.DeadlineEntry``, ``deadline_push``,
``deadline_pop``, ``deadline_heapify``): the same order and layout as ``heapq`` on the tuples
``(when, seq, kind, obj, arg)`` of the pure build; entries that hold atoms only (the object a
ticket's or a policy timer's entry names waits beside the heap, ``Router._deadline_refs``,
for exactly as long as its entry is held)."""

from __future__ import annotations

import gc
import heapq
import inspect
import random
from typing import Any

import pytest

from router import Router, core
from router.core import K_AGENT, K_OFFER
from router.state.lazyheap import (
    DeadlineEntry,
    deadline_heapify,
    deadline_pop,
    deadline_push,
    deadline_rekey,
)
from tests.helpers import config
from tests.test_deadline_heap import CONFIG, Drive

COMPILED = not inspect.isfunction(deadline_push)


def _fields(e: DeadlineEntry) -> tuple[float, int, int, Any, int]:
    return (e.when, e.seq, e.kind, e.obj, e.arg)


def _entry(rng: random.Random, seq: int, times: list[float]) -> DeadlineEntry:
    when = rng.choice(times) if rng.random() < 0.6 else rng.uniform(0.0, 100.0)
    obj: str | int | None = rng.choice([None, 7, "i3"])
    return DeadlineEntry(when, seq, rng.randrange(1, 7), obj, rng.randrange(3))


def test_deadline_push_and_pop_keep_heapqs_order_and_layout() -> None:
    """Random pushes and pops with many entries due at one instant (and ``-0.0``): the
    entries come off in ``heapq``'s order of their tuples, laid out as ``heapq`` lays out
    the tuples, and as ``heapq`` lays out the entries themselves (their ``<``)."""
    rng = random.Random(5)
    ours: list[DeadlineEntry] = []
    tuples: list[tuple[float, int, int, Any, int]] = []
    objects: list[DeadlineEntry] = []
    times = [rng.uniform(0.0, 100.0) for _ in range(20)] + [0.0, -0.0]
    seq = 0
    for step in range(5000):
        if ours and rng.random() < 0.45:
            got = deadline_pop(ours)
            assert _fields(got) == heapq.heappop(tuples)
            assert got is heapq.heappop(objects)
        else:
            seq += 1
            entry = _entry(rng, seq, times)
            deadline_push(ours, entry)
            heapq.heappush(tuples, _fields(entry))
            heapq.heappush(objects, entry)
        if step % 50 == 0:
            assert [_fields(e) for e in ours] == tuples
            assert all(a is b for a, b in zip(ours, objects, strict=True))
    while ours:
        assert _fields(deadline_pop(ours)) == heapq.heappop(tuples)
    assert not tuples


def test_deadline_rekey_is_heapqs_heapreplace() -> None:
    """An agent timer's fire and its next timer (``Router._push_entry`` while
    ``_top_fired``): ``deadline_rekey`` takes the top off and pushes an entry in one sift,
    the top's object re-keyed: ``heapq.heapreplace``'s moves and layout, then the same order
    of every entry after."""
    rng = random.Random(8)
    ours: list[DeadlineEntry] = []
    tuples: list[tuple[float, int, int, Any, int]] = []
    times = [rng.uniform(0.0, 100.0) for _ in range(20)] + [0.0, -0.0]
    seq = 0
    for step in range(5000):
        roll = rng.random()
        if ours and roll < 0.35:
            assert _fields(deadline_pop(ours)) == heapq.heappop(tuples)
        else:
            seq += 1
            entry = _entry(rng, seq, times)
            if ours and roll < 0.7:
                top = ours[0]
                assert _fields(top) == heapq.heapreplace(tuples, _fields(entry))
                deadline_rekey(ours, *_fields(entry))
                assert top in ours  # the same object, re-keyed
            else:
                deadline_push(ours, entry)
                heapq.heappush(tuples, _fields(entry))
        if step % 50 == 0:
            assert [_fields(e) for e in ours] == tuples
    while ours:
        assert _fields(deadline_pop(ours)) == heapq.heappop(tuples)
    assert not tuples


def test_deadline_heapify_lays_entries_out_as_heapq_does() -> None:
    """A compaction's heapify (``Router._compact_deadlines``, compiled): ``heapq.heapify``'s
    layout, for random lists and for heaps with entries taken out."""
    rng = random.Random(13)
    times = [0.0, -0.0, 1.0, 5.0]
    for trial in range(400):
        n = rng.randrange(0, 200)
        seqs = rng.sample(range(10 * n + 1), n)
        entries = [_entry(rng, s, times) for s in seqs]
        if trial % 2:  # a heap with entries taken out: most stay where they are
            heapq.heapify(entries)
            drop = rng.random()
            entries = [e for e in entries if rng.random() >= drop]
        ours = list(entries)
        tuples = [_fields(e) for e in entries]
        deadline_heapify(ours)
        heapq.heapify(tuples)
        assert [_fields(e) for e in ours] == tuples


def test_a_deadline_entry_reads_as_its_tuple() -> None:
    """``e[i]``, unpacking, ``len`` and ``<`` as the tuple's; compiled, never tracked by the
    cyclic collector (``acyclic``: it holds atoms only)."""
    e = DeadlineEntry(2.5, 9, K_OFFER, "i1", 3)
    assert tuple(e) == (2.5, 9, K_OFFER, "i1", 3) == tuple(e[i] for i in range(len(e)))
    at, seq, kind, obj, arg = e
    assert (at, seq, kind, obj, arg) == (2.5, 9, K_OFFER, "i1", 3)
    assert e < DeadlineEntry(2.5, 10, K_AGENT, 4, 10) and not e < DeadlineEntry(2.5, 9, 1, None, 0)
    assert DeadlineEntry(-0.0, 8, 1, None, 0) < e
    assert "2.5" in repr(e)
    if COMPILED:
        gc.collect()
        assert not gc.is_tracked(e)


def _check_entries(r: Router) -> None:
    """The router's entries hold atoms; compiled, every object an entry names is in
    ``_deadline_refs`` under the entry's ``seq``, and nothing else is."""
    held = [*r._deadlines, *r._line_entries()]
    named = [e for e in r._deadline_entries() if e[2] not in (K_OFFER, K_AGENT)]
    if not r._native_heap:
        assert not r._deadline_refs
        assert all(type(e) is tuple for e in held)
        return
    assert all(type(e) is DeadlineEntry for e in held)
    assert all(e.obj is None for e in held if e.kind not in (K_OFFER, K_AGENT))
    assert all(
        type(e.obj) is (str if e.kind == K_OFFER else int) for e in held if e.obj is not None
    )
    assert sorted(r._deadline_refs) == sorted(e[1] for e in named)
    assert all(r._deadline_refs[e[1]] is e[3] for e in named)
    assert all(not gc.is_tracked(e) for e in held)


def test_the_objects_entries_name_leave_with_their_entries() -> None:
    """A seeded drive with patience, relaxation steps, wrap-ups, expiries, withdrawals and
    logouts (the entries that name a ticket fire, go spent, are compacted away): after every
    step the objects kept beside the compiled heap are exactly those its entries name; a
    restored router holds the same entries, and goes on alike."""
    r = Router(config(CONFIG))
    drive = Drive([r], seed=17)
    drive.login(12, chat=2)
    drive.submit(30)
    drive.tick()
    kinds: set[int] = set()
    for i in range(1500):
        drive.step()
        _check_entries(r)
        kinds |= {e[2] for e in r._deadline_entries()}
        if i % 300 == 299:
            back = Router.restore(r.snapshot())
            _check_entries(back)
            assert back.snapshot() == r.snapshot()
            assert back.next_deadline() == r.next_deadline()
            drive.routers = [r, back]
    assert len(kinds) >= 4  # offers, agent timers and at least two kinds that name a ticket


def test_an_agent_timer_fired_at_the_top_leaves_the_heap_by_its_input_end() -> None:
    """Either build, an agent timer firing from the heap's top stays there until the first
    push of its fire takes its place (``Router._top_fired``: compiled ``deadline_rekey``,
    pure ``heapq.heapreplace``) or the fire ends: between inputs the flag is down and the
    heap is a heap of ``(when, seq)`` with every entry held once; the seeded drive's
    decisions are checked against the pure build by ``tests/test_compiled.py`` and
    ``bench.digest``."""
    r = Router(config(CONFIG))
    drive = Drive([r], seed=23)
    drive.login(12, chat=2)
    drive.submit(30)
    drive.tick()
    fired = 0
    for _ in range(1500):
        timers = sum(1 for e in r._deadline_entries() if e[2] == K_AGENT)
        drive.step()
        fired += timers > sum(1 for e in r._deadline_entries() if e[2] == K_AGENT)
        assert not r._top_fired
        heap = r._deadlines
        keys = [(e[0], e[1]) for e in heap]
        assert all(keys[(i - 1) >> 1] < keys[i] for i in range(1, len(keys)))
        assert len({e[1] for e in r._deadline_entries()}) == len(heap) + len(r._line_entries())
    assert fired  # agent timers came off the heap (fired, or a push took their place)


@pytest.mark.skipif(COMPILED, reason="the pure build's heapq calls (compiled: deadline_rekey)")
def test_pure_agent_timer_refires_with_one_heapreplace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pure, an agent timer that fires from the heap's top and pushes the agent's next timer
    leaves by that push: one ``heapq.heapreplace`` of the deadline heap (one sift), not a
    ``heappop`` and a ``heappush`` (the compiled build's ``deadline_rekey``, the same
    entries in the same order)."""
    r = Router(config(CONFIG))
    calls: dict[str, int] = {"heappop": 0, "heappush": 0, "heapreplace": 0}

    def counted(name: str) -> Any:
        real = getattr(heapq, name)

        def call(heap: list[Any], *args: Any) -> Any:
            if heap is r._deadlines:
                calls[name] += 1
            return real(heap, *args)

        return call

    for name in calls:
        monkeypatch.setattr(core, name, counted(name))
    drive = Drive([r], seed=23)
    drive.login(12, chat=2)
    drive.submit(30)
    drive.tick()
    refired = 0
    for _ in range(600):
        before = dict(calls)
        timers = [e for e in r._deadline_entries() if e[2] == K_AGENT]
        drive.step()
        gone = {e[1] for e in timers} - {e[1] for e in r._deadline_entries()}
        if gone and calls["heapreplace"] > before["heapreplace"]:
            refired += 1
    assert refired >= 20  # agent timers fired and were replaced by their agents' next
    assert calls["heapreplace"] >= refired
    assert not r._top_fired


def _check_line(r: Router) -> tuple[int, int]:
    """The offer line's invariants between inputs; returns its head index and list length.
    Compiled (``Router._line`` from ``_line_head``): the cells before the head are
    ``_PASSED`` (each entry released at its pop), cut off once they are ``_LINE_CUT`` or more
    and at least as many as the entries held, and none once the line is empty; pure, the
    deque is the line. Either way the held entries are in ``(when, seq)`` order and the
    router's ``_line_at``/``_line_last`` are the first's and the last's times."""
    held = r._line_entries()
    if r._native_heap:
        line, hd = r._line, r._line_head
        assert not r._offer_line
        assert all(c is core._PASSED for c in line[:hd])
        assert hd < core._LINE_CUT or hd + hd < len(line)
        assert line or not hd
        assert hd < len(line) or not line  # (emptied: nothing kept)
        assert all(type(e) is DeadlineEntry and e is not core._PASSED for e in held)
    else:
        line, hd = r._line, r._line_head
        assert not line and not hd
        assert held == list(r._offer_line)
    keys = [(e[0], e[1]) for e in held]
    assert keys == sorted(keys)
    assert all(e[2] == K_OFFER for e in held)
    assert r._line_at == (held[0][0] if held else float("inf"))
    assert r._line_last == (held[-1][0] if held else -float("inf"))
    return hd, len(line)


def test_the_offer_line_releases_each_entry_at_its_pop_and_cuts_its_passed_cells() -> None:
    """Bursts of offers that expire at one instant (more than ``_LINE_CUT`` popped in one
    input), then a seeded drive: after every input the line holds its entries in order and,
    compiled, the popped ones are released and their cells cut off (head index kept below
    ``_LINE_CUT`` or half the list). A restored router holds the same line and goes on
    alike."""
    r = Router(config(CONFIG))
    drive = Drive([r], seed=31)
    drive.login(150, chat=1)
    heads: list[int] = []
    for _ in range(4):
        drive.submit(140, queue="chat")
        for e in r.tick(drive.now):  # offers left unanswered: they expire together
            assert type(e).__name__ != "OfferExpired"
        heads.append(_check_line(r)[0])
        drive.now += 20.0
        drive.tick()  # (some accepted, some declined, the rest left to expire)
        heads.append(_check_line(r)[0])
        back = Router.restore(r.snapshot())
        _check_line(back)
        assert back.snapshot() == r.snapshot()
        drive.routers = [r, back]
        for _ in range(40):
            drive.step()
            for router in drive.routers:
                heads.append(_check_line(router)[0])
        drive.routers = [r]
        for held in list(drive.held):
            drive.call("complete", held)
        drive.held.clear()
    if r._native_heap:
        assert max(heads) > 0  # passed cells kept between inputs
    for _ in range(1500):
        drive.step()
        _check_line(r)
