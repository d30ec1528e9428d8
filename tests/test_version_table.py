"""The router's version table (``Router._vers``, router/state/lazyheap.py): a pure build's
agent heap entry is live while it holds its slot's very object there, a test that must agree
with the version compare it replaces (``slots[slot].ver == ver``) on every entry. The compiled
build keeps no version table: its liveness is the live table's (router/state/vecheap.py),
checked here by tests/test_live_table.py's ``_table_agrees`` instead."""

from __future__ import annotations

from bench.workload import SteadyState, make_workload
from router import AgentSpec, Inquiry, Router
from router.core import _GONE
from tests.helpers import new_agents_then_inquiries


def _table_agrees(r: Router) -> int:
    """The table against the agents and every agent entry; the number of live entries."""
    if r._table is not None:  # compiled: the live table
        from tests.test_live_table import _table_agrees as live_table_agrees

        return live_table_agrees(r)
    slots, vers = r._slots, r._vers
    assert len(vers) == len(slots)
    for slot, a in enumerate(slots):
        if a is _GONE:
            assert vers[slot] is None  # retired: no entry holds it
        else:
            if vers[slot] is None:  # unlisted since its version moved on
                assert a.listed_ver != a.ver
            else:
                assert type(vers[slot]) is int and vers[slot] == a.ver
            assert r._agents.get(a.id) is a
    live = 0
    for pool in r._pools.values():
        for e in pool.agents:
            by_value = slots[e[3]].ver == e[2]
            assert (vers[e[3]] is e[2]) == by_value, (pool.key, e)
            live += by_value
    assert live == sum(p.n_listed for p in r._pools.values())
    return live


def test_the_table_agrees_with_the_versions_through_many_lifecycles() -> None:
    """Few agents, many lifecycles: their versions pass CPython's small-int cache (256),
    past which equal values made apart are distinct objects."""
    wl = make_workload(60, seed=3)
    r = Router(wl.config)
    s = SteadyState(r, wl)
    for _ in range(20):
        s.run(300)
        assert _table_agrees(r)
    assert max(a.ver for a in r._agents.values()) > 256


def test_the_table_follows_slots_retired_reused_and_restored() -> None:
    from tests.test_backpressure import make_router

    toml = '[[queues]]\nname = "c"\nchannel = "chat"\n'
    r = make_router(toml, agents=0)
    for i in range(120):
        r.login(AgentSpec(id=f"a{i}", capacity={"chat": 2}), 0.0)
    _table_agrees(r)
    t = 1.0
    for k in range(40):  # offers and accepts re-list some agents, stale entries stay
        t += 1.0
        r.submit(Inquiry(id=f"i{k}", queue="c"), t)
        for e in r.tick(t):
            if type(e).__name__ == "Offered":
                r.accept(e.inquiry_id, t)
        _table_agrees(r)
    for i in range(0, 120, 2):  # 60 leave: their slots retire, then free
        r.logout(f"a{i}", t)
        _table_agrees(r)
    r.tick(t)
    assert r._free_slots
    copy = Router.restore(r.snapshot())  # entries rebuilt from the restored table
    _table_agrees(copy)
    outs = [
        new_agents_then_inquiries(x, t, 30, range(40, 100), _table_agrees, 3) for x in (r, copy)
    ]
    assert outs[0] == outs[1]
