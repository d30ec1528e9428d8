"""A router dropped with inquiries in flight leaves nothing behind (ticket50): the collector
frees its tickets with their agents, terms, queues and pools, on both builds. A ticket the
collector cannot see through (mypyc ``acyclic``) while it can reach itself through its agent,
terms or pool would keep all of these alive: the census counts the tracked records it holds."""

from __future__ import annotations

import gc
from collections import Counter

from bench.workload import SteadyState, make_workload
from router import Router
from router.state.records import ASSIGNED, WAITING

KINDS = ("Agent", "TicketTerms", "QueueState", "Pool")


def _census() -> Counter[str]:
    gc.collect()
    return Counter(
        type(o).__name__
        for o in gc.get_objects()
        if type(o).__module__ == "router.state.records" and type(o).__name__ in KINDS
    )


def _busy_router(reconfigure: bool) -> Counter[int]:
    wl = make_workload(60, seed=3)
    r = Router(wl.config)
    s = SteadyState(r, wl)
    s.run(300)
    s.fill(wl.slots)  # more than the free slots: the rest wait
    if reconfigure:
        r.reconfigure(wl.config, s.now)  # every pool rebuilt, the old ones dropped
    return Counter(t.state for t in r._tickets.values())


def test_a_dropped_router_with_inquiries_held_and_waiting_is_freed() -> None:
    before = _census()
    states = _busy_router(reconfigure=False)
    assert states[ASSIGNED] > 0 and states[WAITING] > 0
    assert _census() == before


def test_a_dropped_router_after_its_pools_were_rebuilt_is_freed() -> None:
    before = _census()
    states = _busy_router(reconfigure=True)
    assert states[ASSIGNED] > 0 and states[WAITING] > 0
    assert _census() == before
