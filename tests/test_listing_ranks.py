"""The compiled agent heaps order equal keys by the listing's rank (``Agent.rank``, the
entries' ``seq``: router/state/lazyheap.py), ``seq``'s order in 31 bits, renumbered from 1
before it would run out (``Router._renumber_ranks``). A router whose bound is lowered so that
it renumbers every few listings must decide exactly as one that never does, on a center
where every key ties (the listing order alone picks the agent), and its heaps must stay
heaps whose live entries carry their agents' ranks in their seqs' order. The pure build
keeps the seqs (tuples): the same decisions, its entries checked against ``Agent.seq``."""

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
from router.state.lazyheap import RANK_LIMIT, SLOT_BITS, SLOT_LIMIT
from tests.helpers import native_heaps

#: every key ties: no idle time, load or recent work in the score, one skill level; each
#: agent listed in both queues' pools (an entry left stale in one when it is assigned from
#: the other)
TIES = """
[routing]
mode = "offer"
offer_timeout_s = 30
[routing.weights]
proficiency = 1.0
idle_time = 0.0
load = 0.0
[[queues]]
name = "c"
channel = "voice"
[[queues]]
name = "d"
channel = "voice"
"""


def _heaps_agree(r: Router) -> int:
    """Every agent heap is a heap by ``(key, seq)`` and each live entry carries its agent's
    listing number (compiled: its rank, in the order of the agents' seqs); the number of
    live entries."""
    native = r._native_heap
    slots = r._slots
    live = 0
    for pool in r._pools.values():
        h = r._heap_entries(pool)  # (key, seq, slot, live)
        for c in range(1, len(h)):
            parent, child = h[(c - 1) >> 1], h[c]
            assert not (child[0], child[1]) < (parent[0], parent[1]), (pool.key, c)
        for key, seq, slot, is_live in h:
            a = slots[slot]
            if a is _GONE or not is_live:
                continue
            live += 1
            assert seq == (a.rank if native else a.seq), (pool.key, key, seq, slot)
    if native:
        assert r._table is not None
        listed = [a for a in r._agents.values() if r._table.cells[a.slot] >= 0]
        by_rank = sorted(listed, key=lambda a: a.rank)
        assert by_rank == sorted(listed, key=lambda a: a.seq)
        assert len({a.rank for a in listed}) == len(listed)
        assert all(0 < a.rank <= max(r._rank, len(listed)) for a in listed)
    assert live == sum(p.n_listed for p in r._pools.values())
    return live


def _ties_run(r: Router, seed: int, steps: int, prefix: str = "", t: float = 0.0) -> list[Any]:
    """Random submits, accepts, declines, completes, logins and logouts on :data:`TIES`,
    the heaps checked after each step; the events."""
    rng = random.Random(seed)
    got: list[Any] = []
    open_ids: list[str] = []
    agents: list[str] = []
    for n in range(12):
        agents.append(f"{prefix}a{n}")
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
            open_ids.append(f"{prefix}i{k}")
            r.submit(Inquiry(id=open_ids[-1], queue=rng.choice("cd")), t)
        elif roll < 0.65 and offered:  # (an offer past its expiry is refused: one input)
            with contextlib.suppress(InvalidState):
                (r.accept if roll < 0.6 else r.decline)(rng.choice(offered), t)
        elif roll < 0.9 and assigned:
            r.complete(rng.choice(assigned), t)
        elif roll < 0.94:
            agents.append(f"{prefix}a{n_agents}")
            n_agents += 1
            r.login(AgentSpec(id=agents[-1], capacity={"voice": 1}), t)
        elif len(agents) > 4:
            r.logout(agents.pop(rng.randrange(len(agents))), t)
        got.extend(r.tick(t))
        _heaps_agree(r)
    return got


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("native", [False, True])
def test_renumbering_decides_as_the_seqs_where_every_key_ties(seed: int, native: bool) -> None:
    """``native``: the router under test takes the compiled build's heaps (vector heaps,
    the live table, ranks: router/state/vecheap.py) on either build, the pure one too
    (the reference router keeps its build's own)."""
    plain = Router(decode_config(TIES))
    low = Router(decode_config(TIES))
    if native:
        native_heaps(low)  # (before anything is listed: every heap starts empty)
    low._rank_limit = 40  # a renumbering every few listings (the tuples have none)
    want = _ties_run(plain, seed, 400)
    got = _ties_run(low, seed, 400)
    assert got == want
    assert sum(type(e).__name__ == "Offered" for e in want) > 50
    if low._native_heap:
        plain_ranks = plain._rank if plain._native_heap else 10**9
        # (the same listings: without a renumbering the two would be equal)
        assert low._rank < 40 + len(low._agents) < plain_ranks


@pytest.mark.parametrize("seed", [4, 5])
def test_a_restore_ranks_the_listings_in_their_seqs_order(seed: int) -> None:
    """A snapshot taken where every key ties, restored into a router with the compiled
    build's heaps (``native``, as in the test above) and into one of this build's: the same
    decisions after, the restored ranks in the seqs' order."""
    r = Router(decode_config(TIES))
    _ties_run(r, seed, 150)
    snap = r.snapshot()
    plain = Router.restore(snap)
    native = Router(decode_config(TIES), now=r._now)
    native_heaps(native)
    native._restore(codec.decode(snap))
    _heaps_agree(native)
    assert native._rank == len(native._agents)
    t = r._now
    want = _ties_run(plain, seed + 10, 200, "b", t)
    assert _ties_run(native, seed + 10, 200, "b", t) == want
    assert sum(type(e).__name__ == "Offered" for e in want) > 30


def test_renumbering_through_steady_lifecycles_and_a_restore() -> None:
    wp, wl = make_workload(60, seed=3), make_workload(60, seed=3)
    plain, low = Router(wp.config), Router(wl.config)
    low._rank_limit = 90
    sp, sl = SteadyState(plain, wp), SteadyState(low, wl)
    for _ in range(6):
        sp.run(200)
        sl.run(200)
        _heaps_agree(low)
        assert plain.snapshot() == low.snapshot()  # the ranks are never in a snapshot
    copy = Router.restore(low.snapshot())
    _heaps_agree(copy)
    if copy._native_heap:  # restored ranks: 1.. in the agents' seqs' order
        assert copy._rank == len(copy._agents)


def test_the_packed_field_orders_as_key_seq_slot() -> None:
    """A compiled heap entry's ``ss`` (``seq << SLOT_BITS | slot``) orders as ``(seq,
    slot)``: the vector heap pops ``(key, ss)`` in ``(key, seq, slot)`` order."""
    pytest.importorskip("librt.vecs", reason="the compiled build's heap needs librt")
    from router.state.vecheap import AgentHeap

    rng = random.Random(7)
    seqs = [0, 1, 2, 255, 256, (1 << 20) + 3, RANK_LIMIT - 1]
    slots = [0, 1, 5, 4096, SLOT_LIMIT - 1]
    entries = [(float(rng.randint(0, 2)), s, sl) for s in seqs for sl in slots]
    h = AgentHeap()
    for k, s, sl in entries:
        h.push(k, (s << SLOT_BITS) | sl)
    got = []
    while h.n:
        ss = h.ss[0]
        got.append((h.keys[0], ss >> SLOT_BITS, ss & (SLOT_LIMIT - 1)))
        h.pop()
    assert got == sorted(entries)


def test_a_compiled_router_refuses_a_login_past_its_slots() -> None:
    r = Router(decode_config(TIES))
    r.login(AgentSpec(id="a0", capacity={"voice": 1}), 0.0)
    if not r._native_heap:
        return  # the pure build's tuples have no such bound
    assert r._slot_limit == SLOT_LIMIT == 1 << 26
    r._slot_limit = 2  # (a test's bound: the router's is 67 million slots)
    r.login(AgentSpec(id="a1", capacity={"voice": 1}), 1.0)
    seq = r._seq
    with pytest.raises(InvalidState, match="'a2' cannot log in: a compiled router has room"):
        r.login(AgentSpec(id="a2", capacity={"voice": 1}), 2.0)
    assert "a2" not in r._agents and len(r._slots) == 2 and r._seq == seq
