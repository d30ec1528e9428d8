"""What the core leaves for the cyclic collector (issue 14, BENCHMARKS.md "Fewer objects for
the collector"): agents with the same skills share their pool memberships and eligibility
tuples, and an agent holds no tracked container it does not need."""

from __future__ import annotations

import gc

from bench.workload import SteadyState, make_workload
from router import Router
from router.state.records import Agent
from tests.helpers import new_agents_then_inquiries


def _steady(agents: int = 60) -> Router:
    wl = make_workload(agents, seed=3)
    r = Router(wl.config)
    s = SteadyState(r, wl)
    s.run(300)
    return r


def test_agents_with_the_same_skills_share_their_memberships_and_eligibility() -> None:
    r = _steady()
    by_spec: dict[tuple[object, ...], list[Agent]] = {}
    for a in r._agents.values():
        s = a.spec
        key = (tuple(sorted(s.skills.items())), tuple(sorted(s.capacity.items())), s.tenants)
        by_spec.setdefault(key, []).append(a)
    pairs = [group[:2] for group in by_spec.values() if len(group) > 1]
    assert pairs
    for a, b in pairs:
        assert a.pools
        for m, n in zip(a.pools, b.pools, strict=True):
            assert m is n  # one tuple per (pool, proficiency, weight)
        assert a.tally.elig is b.tally.elig
    n_members = sum(len(a.pools) for a in r._agents.values())
    distinct = {id(m) for a in r._agents.values() for m in a.pools}
    assert len(distinct) < n_members


def test_an_agent_without_a_schedule_holds_no_tracked_shift_container() -> None:
    r = _steady()
    for a in r._agents.values():
        assert a.shifts == ()
        assert not gc.is_tracked(a.shifts)


def test_an_agent_holds_its_specs_tenants_not_a_copy() -> None:
    r = _steady()
    for a in r._agents.values():
        assert a.tenants is a.spec.tenants


def test_agent_heap_entries_hold_no_agent_and_are_not_tracked() -> None:
    """The pools' agent heap entries name their agent by its slot (atoms only): the
    collector stops tracking them at their first collection instead of promoting them
    with the agent they held (BENCHMARKS.md "The lifecycle, core19")."""
    r = _steady()
    if r._native_heap:  # compiled: no entry objects (vectors of floats and ints: vecheap.py)
        assert all(not p.agents and p.vh is not None for p in r._pools.values())
        assert any(p.vh is not None and p.vh.n for p in r._pools.values())
        return
    gc.collect()
    entries = [e for pool in r._pools.values() for e in pool.agents]
    assert entries
    for e in entries:
        assert type(e[3]) is int
        assert not gc.is_tracked(e)
    for a in r._agents.values():
        assert r._slots[a.slot] is a


def _listing_agrees(r: Router) -> None:
    for pool in r._pools.values():
        live = [r._slots[sl] for _, _, sl, is_live in r._heap_entries(pool) if is_live]
        assert len(live) == pool.n_listed == len({a.id for a in live})
        for a in live:
            assert r._agents.get(a.id) is a


def test_a_slot_is_reused_only_after_the_heaps_forget_its_last_agent() -> None:
    """Agents who leave retire their slots; once every agent heap was compacted the slots
    go to new agents, whose versions restart low: an entry of the slot's last agent left in
    a heap would then look live (listed twice). The decisions after the reuse are those of a
    restored copy, whose agents got fresh slots."""
    from router import AgentSpec, Inquiry
    from tests.test_backpressure import make_router

    toml = '[[queues]]\nname = "c"\nchannel = "chat"\n'
    r = make_router(toml, agents=0)
    for i in range(200):
        r.login(AgentSpec(id=f"a{i}", capacity={"chat": 2}), 0.0)
    t = 1.0
    for k in range(30):  # offers and accepts re-list some agents, stale entries stay
        r.submit(Inquiry(id=f"i{k}", queue="c"), t)
        for e in r.tick(t):
            if type(e).__name__ == "Offered":
                r.accept(e.inquiry_id, t)
    for i in range(200):  # 80 leave (the busy ones at the end of their work)
        if i % 10 < 4:
            r.logout(f"a{i}", t)
    r.tick(t)
    assert r._free_slots  # retired past the bound: compacted, free again
    n_slots, n_free = len(r._slots), len(r._free_slots)
    copy = Router.restore(r.snapshot())
    outs = [new_agents_then_inquiries(x, t, 40, range(30, 80), _listing_agrees) for x in (r, copy)]
    assert len(r._slots) == n_slots + max(0, 40 - n_free)  # the freed slots went first
    assert outs[0] == outs[1]


def test_offer_and_agent_timer_entries_hold_atoms_and_are_not_tracked() -> None:
    """The deadline entries the lifecycle pushes, an offer's expiry and an agent's timer, name
    their inquiry by id and their agent by slot (BENCHMARKS.md "Deadline entries without
    references (gc22)"): untracked after a collection, and an inquiry that left is not kept
    alive by its spent offer entry."""
    from router.core import K_AGENT, K_OFFER

    r = _steady()
    gc.collect()
    # the entries as held: tuples (pure), ``lazyheap.DeadlineEntry`` objects (compiled: never
    # tracked), which index alike
    entries = [*r._deadlines, *r._line_entries()]
    kinds = {e[2] for e in entries}
    assert K_OFFER in kinds and K_AGENT in kinds
    for e in entries:
        if e[2] == K_OFFER:
            assert type(e[3]) is str
        elif e[2] == K_AGENT:
            assert type(e[3]) is int
            assert r._entry_obj(K_AGENT, e[3], e[1]) is r._slots[e[3]]
        else:
            continue
        assert not gc.is_tracked(e)


OFFER = """
[routing]
mode = "offer"
offer_timeout_s = 20
[[queues]]
name = "q"
"""


def test_a_spent_offer_entry_never_expires_a_later_inquiry_of_the_same_id() -> None:
    """An inquiry that left and one of the same id offered after it: both offers are number 1,
    the first one's entry (due at 20) is still held when the second one's offer is out, and
    must not expire it (the entry names an id: its ``seq`` is before the second inquiry's)."""
    from router import AgentSpec, Inquiry, OfferExpired
    from router.state.records import OFFERED
    from tests.helpers import config

    r = Router(config(OFFER))
    r.login(AgentSpec(id="a", capacity={"voice": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    r.tick(0.0)
    r.accept("x", 1.0)
    r.complete("x", 2.0)
    r.submit(Inquiry(id="x", queue="q"), 3.0)
    r.tick(3.0)
    assert r._tickets["x"].offer_no == 1
    assert len([e for e in r._deadline_entries() if e[3] == "x"]) == 2
    assert r._deadline_spent(*_entry_args(r, 0))
    assert r.next_deadline() == 23.0
    assert not [e for e in r.tick(20.0) if isinstance(e, OfferExpired)]
    assert r._tickets["x"].state == OFFERED
    assert [e.inquiry_id for e in r.tick(23.0) if isinstance(e, OfferExpired)] == ["x"]


def _entry_args(r: Router, k: int) -> tuple[int, object, int, int]:
    """The ``k``-th deadline entry by ``(when, seq)`` as ``_deadline_spent``'s arguments."""
    _at, seq, kind, obj, arg = sorted(r._deadline_entries(), key=lambda e: (e[0], e[1]))[k]
    return kind, obj, arg, seq


def test_an_agent_heap_stays_bounded_by_its_compaction_rule() -> None:
    """Every refresh lists its agent again and leaves the old entry stale in the heap: the
    refresh compacts a heap once it passes its build's bound (compiled: ``1.5 n + 32``;
    pure: ``2 n + 64``, where a compaction costs more than the longer heap's sifts), so the
    heap reaches the bound and never passes it, however many refreshes come."""
    from router import AgentSpec, Inquiry
    from tests.test_backpressure import make_router

    toml = '[[queues]]\nname = "c"\nchannel = "chat"\n'
    r = make_router(toml, agents=0)
    n = 100
    for i in range(n):
        r.login(AgentSpec(id=f"a{i}", capacity={"chat": 3}), 0.0)
    r.submit(Inquiry(id="x", queue="c"), 0.5)  # (the pool is made at the first arrival)
    for e in r.tick(0.5):
        if type(e).__name__ == "Offered":
            r.accept(e.inquiry_id, 0.5)
    (pool,) = r._pools.values()
    agents = list(r._agents.values())
    bound = n + (n >> 1) + 32 if r._native_heap else 2 * n + 64
    sizes = []
    for k in range(1000):  # agents deep in the heap as well as at its top
        r._refresh(agents[(k * 37) % n])
        sizes.append(len(r._heap_entries(pool)))
        assert pool.n_listed == n
    assert max(sizes) == bound
    # compacted at the bound: the stale entries dropped (compiled, a stale top is then
    # reused by the next listings: the heap may settle below the bound)
    assert sizes[sizes.index(bound) + 1 :].count(n) >= 1
