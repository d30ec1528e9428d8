"""A listing put off (``Router._flush``) decides as the listing made at once.

After ``_seek_agent`` gives an agent an inquiry, its new listing's pushes may wait for the
next read of a pool it is in (``router/core.py``, ``_refresh(agent, _LIST_LATER)``). Random
inputs on the end-to-end section's center (scored queues, voice and chat agents) drive
three routers: ``now`` lists at once (``_later_ok`` off), ``later`` puts listings off,
``flushed`` puts them off and makes them after every input. After every input ``later``
has returned the same events and states as ``now``, and ``flushed`` holds the same live
entries ``(key, seq, slot)`` in every pool's agent heap, with the same listing counts;
snapshots agree byte for byte.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bench.flows import flow_work
from bench.workload import may_serve
from router import Inquiry, Router
from router.errors import UsageError


def _live(r: Router) -> dict[Any, list[tuple[float, int, int]]]:
    """Each pool's live agent entries, ``(key, seq, slot)`` in order, and its count."""
    out: dict[Any, list[tuple[float, int, int]]] = {}
    for key, pool in r._pools.items():
        entries = sorted((e[0], e[1], e[3]) for e in pool.agents if r._vers[e[3]] is e[2])
        assert len(entries) == pool.n_listed, pool.queue.name
        out[key] = entries
    return out


def _drive(seed: int, steps: int) -> tuple[int, int]:
    work = flow_work(40, 1, seed=seed)
    rng = random.Random(seed)
    now_r = Router(work.config, now=0.0)
    now_r._later_ok = False
    later = Router(work.config, now=0.0)
    flushed = Router(work.config, now=0.0)
    assert later._later_ok and flushed._later_ok  # this center allows it
    routers = (now_r, later, flushed)
    queues = sorted({q.name for q in work.config.queues})
    agents = {spec.id: spec for spec in work.agents}
    for r in routers:
        for spec in work.agents:
            r.login(spec, 0.0)
    held: list[str] = []  # offered or assigned, by id
    put_off = outlived = 0
    n = 0
    t = 0.0

    def each(call: str, *args: Any) -> Any:
        results = []
        for r in routers:
            try:
                results.append(("ok", getattr(r, call)(*args)))
            except UsageError as exc:
                results.append(("error", str(exc)))
        assert results[1] == results[0], (call, args)
        assert results[2] == results[0], (call, args)
        if flushed._later:
            flushed._flush()
        return results[0][1] if results[0][0] == "ok" else None

    for _ in range(steps):
        t += rng.choice((0.0, 0.5, 3.0, 40.0))
        roll = rng.random()
        if roll < 0.35:
            for _ in range(rng.randint(1, 6)):
                n += 1
                each("submit", Inquiry(id=f"i{n}", queue=rng.choice(queues)), t)
        elif roll < 0.75:  # a pass, then (as the flow does) answers, completions
            events = each("tick", t)
            for ev in events or []:
                if type(ev).__name__ in ("Offered", "Assigned"):
                    held.append(ev.inquiry_id)
            rng.shuffle(held)
            keep = []
            for iid in held:
                # some answers come late: offers expire, deadlines fire inside an answer
                t += 31.0 if rng.random() < 0.03 else 0.0
                state = now_r.inquiry_state(iid) if iid in now_r._tickets else "gone"
                r = rng.random()
                if state == "offered" and r < 0.8:
                    each("accept", iid, t)
                    state = "assigned"
                elif state == "offered" and r < 0.85:
                    each("decline", iid, t)
                    continue
                if state == "assigned" and rng.random() < 0.6:
                    each("complete", iid, t)
                elif state in ("offered", "assigned"):
                    keep.append(iid)
            held = keep
        elif roll < 0.9:
            each("withdraw", f"i{rng.randint(1, max(n, 1))}", t)
        elif roll < 0.95:
            aid = rng.choice(sorted(agents))
            each("go_on_break", aid, t) if rng.random() < 0.5 else each("set_ready", aid, t)
        else:
            aid = rng.choice(sorted(agents))
            if aid in later._agents and rng.random() < 0.5:
                each("logout", aid, t)
            else:
                each("login", agents[aid], t)
        if later._later:
            put_off += 1
            if any(a.listed_ver != a.ver for a in later._later):
                outlived += 1  # a listing put off that went stale unmade
        assert _live(flushed) == _live(now_r)
        for a, b in zip(now_r._agents.values(), flushed._agents.values(), strict=True):
            assert (a.id, a.seq, a.ver, a.listed_ver) == (b.id, b.seq, b.ver, b.listed_ver)
            assert sorted(map(repr, (p.key for p in a.listed))) == sorted(
                map(repr, (p.key for p in b.listed))
            )
        if rng.random() < 0.05:
            assert later.snapshot() == now_r.snapshot()
    return put_off, outlived


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_listing_put_off_decides_as_one_made_at_once(seed: int) -> None:
    put_off, outlived = _drive(seed, 1500)
    assert put_off > 50  # listings were put off across inputs ...
    assert outlived > 30  # ... and some went stale before any read made them


def test_a_listing_put_off_is_made_before_its_pool_is_read() -> None:
    """One chat agent with room for three: the first inquiry's listing is put off; a second
    arrival in the same pool meets the listing made (the same agent takes it), and a
    completion of an inquiry whose listing was put off drops it unmade."""
    work = flow_work(40, 1, seed=1)
    r = Router(work.config, now=0.0)
    spec = next(s for s in work.agents if s.capacity.get("chat", 0) >= 3)
    r.login(spec, 0.0)
    r.tick(0.0)
    queue = next(q.name for q in work.config.queues if q.channel == "chat" and may_serve(spec, q))
    r.submit(Inquiry(id="a", queue=queue), 1.0)
    (offered,) = [e for e in r.tick(1.0) if type(e).__name__ == "Offered"]
    assert offered.agent_id == spec.id
    agent = r._agents[spec.id]
    assert r._later == [agent] and not agent.listed  # put off: no pool holds it yet
    assert agent.listed_ver == agent.ver
    r.submit(Inquiry(id="b", queue=queue), 2.0)  # an input but accept/complete: made
    assert not r._later and agent.listed
    events = r.tick(2.0)
    assert [e.agent_id for e in events if type(e).__name__ == "Offered"] == [spec.id]
    assert r._later == [agent]
    r.accept("a", 3.0)
    r.accept("b", 3.0)
    assert r._later == [agent] and not agent.listed  # accepts leave it put off
    r.complete("a", 4.0)  # the completion unlists the agent: the listing is stale
    assert agent.listed_ver != agent.ver
    r._flush()
    assert not agent.listed  # dropped, never pushed
