"""What the core leaves for the cyclic collector (issue 14, BENCHMARKS.md "Fewer objects for
the collector"): agents with the same skills share their pool memberships and eligibility
tuples, and an agent holds no tracked container it does not need."""

from __future__ import annotations

import gc

from bench.workload import SteadyState, make_workload
from router import Router
from router.state.records import Agent


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
