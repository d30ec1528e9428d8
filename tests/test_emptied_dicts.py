"""An agent's ``offers`` or ``work`` dict that an accept or a completion empties is cleared.

At 10,000 agents an agent's own objects are out of the caches when it is next touched, and
an emptied dict keeps its key table: the next insertion read and wrote that cold table.
Cleared (``dict.clear()``) while it is in cache, the table goes to the interpreter's free
list and the next insertion takes a recently used one (``router/core.py``, "Memory at
scale"; BENCHMARKS.md, ix39). A cleared dict is as small as ``{}`` (``sys.getsizeof``); one
that still holds entries keeps its table. Seeded drives (offers accepted, declined and
expiring, completions with and without wrap-up, hand-backs, logouts and logins, a
reconfigure, snapshots restored) check that every agent's dicts hold exactly its tickets.
"""

from __future__ import annotations

import random
import sys

import pytest

from router import AgentSpec, Inquiry, Router
from router.config import QueueConfig, RouterConfig, Routing
from router.events import Offered
from router.state.records import ASSIGNED, OFFERED, WRAPUP

EMPTY = sys.getsizeof({})


def _config(offer_timeout_s: float = 30.0) -> RouterConfig:
    return RouterConfig(
        routing=Routing(offer_timeout_s=offer_timeout_s),
        queues=[
            QueueConfig(name="c", channel="chat", requires={"s": 1}),
            QueueConfig(name="v", channel="voice", requires={"s": 1}),
        ],
    )


def test_the_accept_and_the_completion_that_empty_a_dict_clear_it() -> None:
    r = Router(_config())
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 2, "voice": 1}), 0.0)
    a = r._agents["a"]
    r.submit(Inquiry(id="v1", queue="v"), 1.0)
    r.tick(1.0)
    assert list(a.offers) == ["v1"] and sys.getsizeof(a.offers) > EMPTY
    r.accept("v1", 2.0)
    assert a.offers == {} and sys.getsizeof(a.offers) == EMPTY  # emptied: cleared
    for iid in ("c1", "c2"):
        r.submit(Inquiry(id=iid, queue="c"), 3.0)
    r.tick(3.0)
    assert list(a.offers) == ["c1", "c2"]
    r.accept("c1", 4.0)
    assert list(a.offers) == ["c2"]  # one left: kept as it is
    r.accept("c2", 5.0)
    assert sys.getsizeof(a.offers) == EMPTY
    r.complete("c1", 6.0)
    assert list(a.work) == ["v1", "c2"] and sys.getsizeof(a.work) > EMPTY
    r.complete("v1", 7.0)
    r.complete("c2", 8.0)
    assert a.work == {} and sys.getsizeof(a.work) == EMPTY
    r.submit(Inquiry(id="c3", queue="c"), 9.0)  # a cleared dict takes the next one as before
    assert [e.inquiry_id for e in r.tick(9.0) if type(e) is Offered] == ["c3"]
    r.accept("c3", 10.0)
    assert list(a.work) == ["c3"] and a.work["c3"] is r._tickets["c3"]
    assert a.offers == {}


def test_the_wrap_up_end_that_empties_work_clears_it() -> None:
    r = Router(_config())
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"voice": 1}, wrap_up_s=5.0), 0.0)
    a = r._agents["a"]
    r.submit(Inquiry(id="v1", queue="v"), 1.0)
    r.tick(1.0)
    r.accept("v1", 2.0)
    r.complete("v1", 3.0)
    assert list(a.work) == ["v1"] and a.work["v1"].state == WRAPUP  # held through wrap-up
    r.tick(8.0)
    assert a.work == {} and sys.getsizeof(a.work) == EMPTY


def _check(r: Router) -> None:
    """Every agent's ``offers`` and ``work`` hold exactly the tickets on offer to it and in
    its hands (a dict that is empty may be cleared or not: it holds nothing either way)."""
    offered: dict[str, set[str]] = {aid: set() for aid in r._agents}
    working: dict[str, set[str]] = {aid: set() for aid in r._agents}
    for iid, t in r._tickets.items():
        if t.state == OFFERED:
            assert t.agent is not None
            for aid in (t.agent.id, *(t.also or ())):
                offered[aid].add(iid)
        elif t.state in (ASSIGNED, WRAPUP):
            assert t.agent is not None
            working[t.agent.id].add(iid)
    for aid, a in r._agents.items():
        assert set(a.offers) == offered[aid], aid
        assert set(a.work) == working[aid], aid
        assert all(a.offers[i] is r._tickets[i] for i in a.offers), aid
        assert all(a.work[i] is r._tickets[i] for i in a.work), aid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_drives_keep_each_agents_dicts_to_its_tickets(seed: int) -> None:
    rng = random.Random(seed)
    r = Router(_config(offer_timeout_s=4.0))
    specs = [
        AgentSpec(
            id=f"a{i}",
            skills={"s": 1},
            capacity=rng.choice([{"voice": 1}, {"chat": 3}, {"voice": 1, "chat": 2}]),
            wrap_up_s=rng.choice([0.0, 0.0, 2.0]),
        )
        for i in range(6)
    ]
    for spec in specs:
        r.login(spec, 0.0)
    now, n, cleared = 0.0, 0, 0
    for step in range(400):
        now += rng.uniform(0.1, 1.5)
        r.tick(now)  # what is due fires before the lists are read
        op = rng.random()
        offers = [i for i, t in r._tickets.items() if t.state == OFFERED]
        working = [i for i, t in r._tickets.items() if t.state == ASSIGNED]
        if op < 0.35:
            n += 1
            r.submit(Inquiry(id=f"i{n}", queue=rng.choice("cv")), now)
        elif op < 0.6 and offers:
            iid = rng.choice(offers)
            agent = r._tickets[iid].agent
            assert agent is not None
            r.accept(iid, now)
            if not agent.offers:
                assert sys.getsizeof(agent.offers) == EMPTY  # the accept emptied it: cleared
                cleared += 1
        elif op < 0.65 and offers:
            r.decline(rng.choice(offers), now)
        elif op < 0.85 and working:
            iid = rng.choice(working)
            agent = r._tickets[iid].agent
            assert agent is not None
            r.complete(iid, now)
            if not agent.work:
                assert sys.getsizeof(agent.work) == EMPTY  # the completion emptied it
                cleared += 1
        elif op < 0.88 and working:
            r.hand_back(rng.choice(working), now)
        elif op < 0.9:
            spec = rng.choice(specs)
            if spec.id in r._agents:
                r.logout(spec.id, now)
            else:
                r.login(spec, now)
        elif op < 0.91:
            r.reconfigure(_config(offer_timeout_s=rng.choice([3.0, 4.0])), now)
        r.tick(now)
        _check(r)
        if step % 50 == 49:
            r = Router.restore(r.snapshot())
            _check(r)
    assert cleared > 20  # the drive did empty dicts
