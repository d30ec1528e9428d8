"""The compiled build's live table (``Router._table``, router/state/vecheap.py): an agent
heap entry is live while its slot's cell holds its very ``ss`` (the listing's rank and
slot). Every write of a cell is checked here through what it decides: a cell written
by the refresh (a new listing), cleared by ``unlist`` (stale everywhere) and by a retired
slot, taken by a new or reused slot, renumbered with the ranks, rebuilt by a restore. On
the compiled build the router's own heaps; on the pure build the same code interpreted
through ``librt`` (``tests.helpers.native_heaps``), checked against the pure build's tuple
heaps (the reference) event for event."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest

from bench.workload import SteadyState, make_workload
from router import AgentSpec, Inquiry, Router
from router.config import decode_config
from router.core import _GONE
from router.errors import InvalidState, UnknownId
from router.state import codec
from router.state.lazyheap import SLOT_BITS
from tests.helpers import native_heaps, new_agents_then_inquiries

M = (1 << SLOT_BITS) - 1


def _native(cfg: Any) -> Router:
    r = Router(cfg)
    if not r._native_heap:
        native_heaps(r)
    return r


def _reference(cfg: Any) -> Router | None:
    """A router of the pure build's heaps (tuples, versions), or None on the compiled build
    (its core takes its own heaps)."""
    r = Router(cfg)
    return None if r._native_heap else r


def _table_agrees(r: Router) -> int:
    """The live table against the agents and every heap: a cell holds its agent's rank and
    slot (from its last listing, or its login or restore), ``-1`` once its version moves
    on or the slot retires; each pool's live entries are exactly its listed agents', one
    each; the number of live entries."""
    table = r._table
    assert table is not None and r._native_heap and not r._vers
    cells = table.cells
    slots = r._slots
    assert len(cells) == len(slots)
    for slot, a in enumerate(slots):
        if a is _GONE:
            assert cells[slot] == -1  # retired: no entry holds it
        elif cells[slot] == -1:  # unlisted since its version moved on
            assert a.listed_ver != a.ver
        else:
            assert cells[slot] == (a.rank << SLOT_BITS) | slot
    live = 0
    for pool in r._pools.values():
        assert not pool.agents and pool.vh is not None
        mine = sorted(sl for _, _, sl, is_live in r._heap_entries(pool) if is_live)
        listed = sorted(a.slot for a in r._agents.values() if pool in a.listed)
        assert mine == listed, pool.key  # each listed agent once, no other
        assert len(mine) == pool.n_listed
        live += len(mine)
    return live


def test_the_table_follows_many_lifecycles_and_decides_as_the_tuples() -> None:
    """Few agents, many lifecycles (each a refresh's cell and an assignment's ``-1``): the
    table agrees throughout and the snapshots equal the tuple heaps' (the pure build)."""
    wl, wr = make_workload(60, seed=3), make_workload(60, seed=3)
    r = _native(wl.config)
    ref = _reference(wr.config)
    s = SteadyState(r, wl)
    sr = SteadyState(ref, wr) if ref is not None else None
    for _ in range(12):
        s.run(250)
        assert _table_agrees(r)
        if sr is not None and ref is not None:
            sr.run(250)
            assert r.snapshot() == ref.snapshot()


def test_the_table_follows_slots_retired_reused_and_restored() -> None:
    """Logouts retire slots (``-1``), the heaps are compacted and the slots reused by new
    logins (their cells written); a restore rebuilds the cells and the heaps."""
    from tests.test_backpressure import make_router

    toml = '[[queues]]\nname = "c"\nchannel = "chat"\n'
    routers = [make_router(toml, agents=0), make_router(toml, agents=0)]
    if not routers[0]._native_heap:
        native_heaps(routers[0])
    outs = []
    for r in routers:
        for i in range(120):
            r.login(AgentSpec(id=f"a{i}", capacity={"chat": 2}), 0.0)
        t = 1.0
        for k in range(40):  # offers and accepts re-list some agents, stale entries stay
            t += 1.0
            r.submit(Inquiry(id=f"i{k}", queue="c"), t)
            for e in r.tick(t):
                if type(e).__name__ == "Offered":
                    r.accept(e.inquiry_id, t)
            if r._table is not None:
                _table_agrees(r)
        for i in range(0, 120, 2):  # 60 leave: their slots retire, then free
            r.logout(f"a{i}", t)
            if r._table is not None:
                _table_agrees(r)
        r.tick(t)
        assert r._free_slots
        copy = Router.restore(r.snapshot())
        if r is routers[0] and not copy._native_heap:  # pure: restored the compiled way too
            copy = Router(r._cfg, now=r._now)
            native_heaps(copy)
            copy._restore(codec.decode(r.snapshot()))
        if copy._table is not None:
            _table_agrees(copy)
        check = _table_agrees if r._table is not None else (lambda _r: None)
        got = [new_agents_then_inquiries(x, t, 30, range(40, 100), check, 3) for x in (r, copy)]
        assert got[0] == got[1]
        outs.append(got[0])
    assert outs[0] == outs[1]  # the vector heaps decide as the tuples (pure build)


#: every key ties: the listing order (the ranks) alone picks the agent; offers to two agents
#: at once in one queue (``_seek_many``), one at a time in the other
RING = """
[routing]
mode = "offer"
offer_timeout_s = 30
max_declines = 3
trace = true
[routing.weights]
proficiency = 1.0
idle_time = 0.0
load = 0.0
[[queues]]
name = "c"
channel = "voice"
max_offers = 2
[[queues]]
name = "d"
channel = "voice"
distribution = "random"
"""


def _run(r: Router, seed: int, steps: int) -> list[Any]:
    """Random submits, accepts, declines, completes, logins and logouts; the events (traced
    decisions: each explanation names its runner-up, read from the heap)."""
    rng = random.Random(seed)
    got: list[Any] = []
    open_ids: list[str] = []
    agents: list[str] = []
    t = 0.0
    for n in range(10):
        agents.append(f"a{n}")
        r.login(AgentSpec(id=agents[-1], capacity={"voice": 1}), t)
    n_agents = len(agents)
    for k in range(steps):
        t += rng.choice((0.0, 0.5, 1.0))
        states: dict[str, list[str]] = {}
        for i in list(open_ids):
            try:
                states.setdefault(r.inquiry_state(i), []).append(i)
            except UnknownId:
                open_ids.remove(i)
        offered, assigned = states.get("offered", []), states.get("assigned", [])
        roll = rng.random()
        if roll < 0.35:
            open_ids.append(f"i{k}")
            r.submit(Inquiry(id=open_ids[-1], queue=rng.choice("cd")), t)
        elif roll < 0.65 and offered:
            with contextlib.suppress(InvalidState):
                (r.accept if roll < 0.55 else r.decline)(rng.choice(offered), t)
        elif roll < 0.9 and assigned:
            r.complete(rng.choice(assigned), t)
        elif roll < 0.94:
            agents.append(f"a{n_agents}")
            n_agents += 1
            r.login(AgentSpec(id=agents[-1], capacity={"voice": 1}), t)
        elif len(agents) > 4:
            r.logout(agents.pop(rng.randrange(len(agents))), t)
        got.extend(r.tick(t))
        if r._table is not None:
            _table_agrees(r)
    return got


@pytest.mark.parametrize("seed", [1, 2])
def test_rings_declines_and_explanations_read_the_table(seed: int) -> None:
    """``_seek_many`` (two offers at once), declined agents set aside and pushed back, and
    the traced explanations' runner-up and draws (``best_live_except``, ``live_key``),
    with the ranks renumbered every few listings (``_renumber_ranks``: cells and entries):
    the same events as the tuple heaps' (pure build), or as a router of the compiled
    build's heaps that never renumbers."""
    cfg = decode_config(RING)
    r = _native(cfg)
    r._rank_limit = 30  # renumbered every few listings: cells and entries together
    got = _run(r, seed, 300)
    assert sum(type(e).__name__ == "Offered" for e in got) > 40
    assert sum(type(e).__name__ == "OfferDeclined" for e in got) > 5
    assert r._rank < 30 + len(r._agents)
    ref = _reference(cfg)
    if ref is None:  # compiled: the reference is a router that never renumbers
        ref = Router(cfg)
    assert _run(ref, seed, 300) == got
