"""An agent's recent-work window (``Agent.recent``, ``router/state/recent.py``).

An entry per work ended (when, and how long it took), in time order: compiled, a
``RecentWork`` object of two C doubles; pure, a pair of floats in one flat list
``[at, handle, at, handle, ...]``, where a list of ``(at, handle)`` tuples was one more
object per entry for the agent's timer to fetch (BENCHMARKS.md, lc37, ix39). Through
seeded drives (completions, the window's timers, transfers and hand-backs, reconfigures,
snapshots) the window keeps its invariants: this build's form, in time order, inside the
window, summed by ``recent_sum``, counted by the scorer as one per entry; a restored router
holds the same window and the snapshot reads it as pairs.
"""

from __future__ import annotations

import random

import pytest

from router import AgentSpec, Inquiry, Router
from router._build import is_compiled
from router.config import QueueConfig, RouterConfig, Routing, Weights
from router.events import Offered
from router.state import recent as rw


def _config(window: float = 50.0) -> RouterConfig:
    return RouterConfig(
        routing=Routing(
            recent_window_s=window,
            weights=Weights(recent_work=1.0, recent_count=0.5, load=1.0, idle_time=1.0),
        ),
        queues=[
            QueueConfig(name="c", channel="chat", requires={"s": 1}),
            QueueConfig(name="v", channel="voice", requires={"s": 1}),
        ],
    )


def _check(r: Router) -> None:
    window = r._window
    for a in r._agents.values():
        rec = a.recent
        if rw.NATIVE:  # this build's form: one object per entry, or two floats
            assert all(type(x) is rw.RecentWork for x in rec)
        else:
            assert len(rec) % 2 == 0 and all(type(x) is float for x in rec)
        ats = [at for at, _ in rw.pairs(rec)]
        handles = [h for _, h in rw.pairs(rec)]
        assert ats == sorted(ats)
        assert all(at + window > r._now for at in ats)  # the timer took the ones out
        assert all(h >= 0.0 for h in handles)
        if rec:
            assert a.recent_sum == pytest.approx(sum(handles))
            assert a.timer_at <= ats[0] + window  # its timer comes for the oldest
        else:
            assert a.recent_sum == 0.0
        if r._scorer is not None and a.state == 1:
            feats = r._scorer.features(a, next(iter(a.pools))[0], 0.5, r._now) if a.pools else {}
            if feats:
                assert feats["recent_count"] == -float(len(ats))


def test_one_completion_is_one_entry() -> None:
    r = Router(_config())
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 2}), 0.0)
    r.submit(Inquiry(id="i1", queue="c"), 1.0)
    assert Offered in [type(e) for e in r.tick(1.0)]
    r.accept("i1", 2.0)
    r.complete("i1", 12.0)
    a = r._agents["a"]
    assert is_compiled("router.state.recent") == rw.NATIVE  # the form follows the build
    assert len(a.recent) == (1 if rw.NATIVE else 2)  # one object, or two floats
    assert rw.pairs(a.recent) == [(12.0, 10.0)] and a.recent_sum == 10.0
    back = Router.restore(r.snapshot())
    assert rw.pairs(back._agents["a"].recent) == [(12.0, 10.0)]
    assert back.snapshot() == r.snapshot()
    r.tick(61.9)
    assert rw.pairs(a.recent) == [(12.0, 10.0)]
    r.tick(62.0)  # 12 + 50: out of the window
    assert a.recent == [] and a.recent_sum == 0.0


def test_entries_leave_the_window_one_or_several_at_a_time() -> None:
    """The timer takes out every entry past the window at once: two ended at the same time
    leave together, the one after them alone, then the last one (the timer's one-entry and
    several-entry takes: ``Guardrails.check``)."""
    r = Router(_config())
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 3}), 0.0)
    for i in (1, 2, 3):
        r.submit(Inquiry(id=f"i{i}", queue="c"), 1.0)
    r.tick(1.0)
    for i in (1, 2, 3):
        r.accept(f"i{i}", 1.0)
    a = r._agents["a"]
    for iid, at in (("i1", 10.0), ("i2", 10.0), ("i3", 14.0)):
        r.complete(iid, at)
    r.submit(Inquiry(id="i4", queue="c"), 15.0)
    r.tick(15.0)
    r.accept("i4", 15.0)
    r.complete("i4", 20.0)
    assert rw.pairs(a.recent) == [(10.0, 9.0), (10.0, 9.0), (14.0, 13.0), (20.0, 5.0)]
    r.tick(60.0)  # 10 + 50: the two of 10.0 leave together
    assert rw.pairs(a.recent) == [(14.0, 13.0), (20.0, 5.0)] and a.recent_sum == 18.0
    r.tick(64.0)  # then the one of 14.0 alone
    assert rw.pairs(a.recent) == [(20.0, 5.0)] and a.recent_sum == 5.0
    r.tick(70.0)
    assert a.recent == [] and a.recent_sum == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_window_keeps_its_pairs_through_seeded_drives(seed: int) -> None:
    rng = random.Random(seed)
    r = Router(_config(window=rng.choice((20.0, 50.0))))
    for i in range(6):
        cap = {"chat": rng.randint(1, 4)} if i % 3 else {"voice": 1, "chat": 2}
        r.login(AgentSpec(id=f"a{i}", skills={"s": 1}, capacity=cap), 0.0)
    now = 0.0
    busy: list[str] = []
    n = 0
    for step in range(400):
        now += rng.choice((0.0, 0.5, 1.0, 3.0))
        roll = rng.random()
        if roll < 0.45:
            n += 1
            r.submit(Inquiry(id=f"i{n}", queue=rng.choice("cv")), now)
        elif roll < 0.85 and busy:
            r.complete(busy.pop(rng.randrange(len(busy))), now)
        elif roll < 0.9 and busy:
            iid = busy.pop(rng.randrange(len(busy)))
            r.hand_back(iid, now)
        elif roll < 0.93:
            r.reconfigure(_config(window=r._window), now)  # (the same window)
        for e in r.tick(now):
            if type(e) is Offered:
                r.accept(e.inquiry_id, now)
                busy.append(e.inquiry_id)
        _check(r)
        if step % 50 == 49:
            back = Router.restore(r.snapshot())
            assert back.snapshot() == r.snapshot()
            for aid, a in r._agents.items():
                assert rw.pairs(back._agents[aid].recent) == rw.pairs(a.recent)
            r = back
            _check(r)
    assert sum(len(a.recent) for a in r._agents.values()) > 0
