"""The deadline compaction reads the offer line first, and the heap only where it must.

``Router._enter`` compacts once the spent offer entries outnumber the rest. Offers made in
time order wait in the offer line, so in a steady state every spent entry is there and the
heap (an agent timer per agent with recent work, inquiries' deadlines) holds none:
``Router._compact_offer_line`` drops the line's spent entries and, where that meets the rule,
the heap is not read (at 100,000 agents its pass read ~23,000 cold agent records to drop
nothing: BENCHMARKS.md, "Memory trips from 1k to 100k agents, scale47"). Spent offers in the
heap (made out of time order, after a shorter offer timeout) still get the whole compaction.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import pytest

from router import Inquiry, Offered, Router
from router.core import K_OFFER
from tests.helpers import config
from tests.test_deadline_heap import CONFIG, Drive, _agent

PURE = inspect.isfunction(Router._compact_deadlines)


def _entries(r: Router) -> list[Any]:
    return list(r._deadline_entries())


def _heap(r: Router) -> list[Any]:
    """The heap's entries as ``(when, seq, kind, obj, arg)`` tuples, either build (compiled,
    an entry that names an object holds it beside the heap: ``_entry_tuple`` reads it)."""
    heap = r._deadlines[1:] if r._top_fired else r._deadlines
    return [r._entry_tuple(e) for e in heap] if r._native_heap else list(heap)


def _spent(r: Router, entries: list[Any]) -> list[Any]:
    return [e for e in entries if r._deadline_spent(e[2], e[3], e[4], e[1])]


def _offers_held(r: Router) -> int:
    """The offer entries held, heap and line (what ``_offer_entries`` counts)."""
    heap = sum(1 for e in r._deadlines if e[2] == K_OFFER)
    return heap + len(r._line_entries())


def _setup(drive: Drive) -> None:
    """Waiting voice inquiries (their step deadlines in the heap) and 1,200 chat arrivals."""
    drive.login(60, chat=20)
    drive.submit(40, queue="voice")
    drive.submit(1200, queue="chat")


def _burst(drive: Drive) -> None:
    """The chat arrivals offered, 19 in 20 accepted at once: each accept leaves a spent
    expiry in the offer line, and the accepts' inputs compact as the rule trips."""
    rnd = drive.rng.random
    drive.rng.random = iter([0.0] * 19 * 70 + [0.95] * 70).__next__  # type: ignore[method-assign]
    drive.tick()
    drive.rng.random = rnd  # type: ignore[method-assign]


def _bounded(r: Router) -> None:
    n = len(_entries(r))
    spent = r._offer_entries - r._n_offered
    assert n <= 2 * (n - spent) + 64 + 8, f"{n} entries, {spent} of them spent offers"
    assert r._offer_entries == _offers_held(r)


def test_spent_offers_in_the_line_are_dropped_and_the_heap_kept() -> None:
    """Through a burst of accepted offers the compactions keep the entries within the
    rule's bound, the counts exact and every heap entry (live: the steps) where it was;
    the line keeps its live offers, and the router goes on as one never compacted."""
    cfg = config(CONFIG)
    r = Router(cfg)
    drive = Drive([r], seed=11)
    _setup(drive)
    steps = sorted(e for e in _heap(r) if e[2] != K_OFFER)
    assert len(steps) >= 10
    _burst(drive)
    assert sorted(e for e in _heap(r) if e[2] != K_OFFER) == steps
    assert not _spent(r, _heap(r))
    assert len(r._line_entries()) < 1000  # compacted during the burst
    _bounded(r)
    for _ in range(300):
        drive.step()
        _bounded(r)


@pytest.mark.skipif(not PURE, reason="counts the pure build's _deadline_spent calls")
def test_a_compaction_the_line_settles_reads_no_heap_entry(monkeypatch: Any) -> None:
    """The burst's compactions ask ``_deadline_spent`` about offer-line entries only: the
    heap's (the voice inquiries' step deadlines) are not read."""
    cfg = config(CONFIG)
    r = Router(cfg)
    drive = Drive([r], seed=11)
    _setup(drive)
    assert any(e[2] != K_OFFER for e in _heap(r))
    kinds: list[int] = []
    spent = Router._deadline_spent

    def counting(self: Router, kind: int, obj: Any, arg: int, seq: int) -> bool:
        kinds.append(kind)
        return spent(self, kind, obj, arg, seq)

    monkeypatch.setattr(Router, "_deadline_spent", counting)
    _burst(drive)
    assert kinds and set(kinds) == {K_OFFER}
    assert len(r._line_entries()) < 1000  # (compacted)


@pytest.mark.skipif(not PURE, reason="counts the pure build's _deadline_spent calls")
def test_a_compaction_reads_the_line_back_only_to_its_pending_offers(monkeypatch: Any) -> None:
    """Every inquiry on offer has one live entry (its latest ``offer_no``), so a compaction
    reads the line from its newest entry back and stops once it has found ``_n_offered``
    live ones: with every offer accepted it reads none and drops the whole line, with the
    newest pending it reads that one; with the oldest pending it reads back to it, keeps it
    and drops the rest."""
    r = Router(config(CONFIG))
    for i in range(60):
        r.login(_agent(i, 20), 0.0)
    reads: list[str] = []
    log: list[tuple[int, int, list[str], list[str]]] = []
    spent = Router._deadline_spent
    compact = Router._compact_offer_line

    def counting(self: Router, kind: int, obj: Any, arg: int, seq: int) -> bool:
        reads.append(obj)
        return spent(self, kind, obj, arg, seq)

    def logged(self: Router) -> bool:
        start, n, held = len(reads), self._n_offered, len(self._line_entries())
        out = compact(self)
        log.append((n, held, reads[start:], [e[3] for e in self._line_entries()]))
        return out

    monkeypatch.setattr(Router, "_deadline_spent", counting)
    monkeypatch.setattr(Router, "_compact_offer_line", logged)

    def arrivals(prefix: str, n: int, keep: str = "") -> None:
        for k in range(n):
            r.submit(Inquiry(id=f"{prefix}{k}", queue="chat"), 0.0)
            for ev in r.tick(0.0):
                if type(ev) is Offered and ev.inquiry_id != keep:
                    r.accept(ev.inquiry_id, 0.0)

    arrivals("a", 300)
    assert len(log) >= 2
    for n, held, read, kept in log:  # the newest entries are the pending offers, if any
        assert held > 64 and n <= 1 and len(read) == n and kept == read
    assert r._offer_entries == _offers_held(r)
    log.clear()
    r.submit(Inquiry(id="old", queue="chat"), 0.0)
    r.tick(0.0)  # its offer left pending: the line's oldest live entry from now on
    arrivals("b", 300, keep="old")
    assert len(log) >= 2
    for n, held, read, kept in log:
        assert held > 64 and n in (1, 2) and kept[0] == "old" and len(kept) == n
        assert read[-1] == "old" and "old" not in read[:-1]  # read back to it, no further
    assert r._offer_entries == _offers_held(r)
    assert r._line_entries()[0][3] == "old"


def test_spent_offers_in_the_heap_still_get_the_whole_compaction() -> None:
    """Offers made after a shorter offer timeout expire before the line's last, so they go
    to the heap; accepted, their spent entries outnumber the heap's others, the line alone
    cannot meet the rule and the compacting input drops them from the heap too."""
    cfg = config(CONFIG)
    r = Router(cfg)
    for i in range(60):
        r.login(_agent(i, 20), 0.0)
    r.submit(Inquiry(id="first", queue="chat"), 0.0)
    r.tick(0.0)  # its offer expires at 20, left pending: the line's last
    short = msgspec.structs.replace(
        cfg, routing=msgspec.structs.replace(cfg.routing, offer_timeout_s=5.0)
    )
    r.reconfigure(short, 1.0)
    before = after = 0
    for k in range(200):
        before = len(_spent(r, _heap(r)))
        r.submit(Inquiry(id=f"c{k}", queue="chat"), 1.0)
        after = len(_spent(r, _heap(r)))
        if after < before:  # this input compacted: the rule tripped
            break
        for ev in r.tick(1.0):
            if type(ev) is Offered:
                r.accept(ev.inquiry_id, 1.0)
    assert before > 64, "the rule tripped before the heap held enough spent offers"
    assert after == 0 and not _spent(r, _entries(r))
    assert [e[3] for e in r._line_entries()] == ["first"]  # the live offer kept in the line
    assert r._offer_entries == _offers_held(r) == r._n_offered
