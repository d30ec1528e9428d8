"""The estimator's record of each queue, held by the core (e2e40).

The core gives each inquiry's arrival, answer and completion to the estimator with the
queue's record in hand (``QueueState.est``), not by the queue's name. The held record
must be the estimator's own, whatever happened since it was taken: queues added,
removed, renamed, staffing rescaled, a restore, the estimator's records replaced under
a running router (``load_extra_state``: the old ones are marked ``dropped``). Each test
drives two routers with the same inputs and compares the estimates and the events.
"""

from __future__ import annotations

import random

import pytest

from router import AgentSpec, Inquiry, Router, RouterConfig, decode_config, encode_events
from router.events import Assigned, Offered
from router.state.estimate import WaitEstimator

TOML = """
[routing]
mode = "MODE"
[[queues]]
name = "q"
requires = { x = 1 }
[[queues]]
name = "r"
requires = { x = 1 }
"""


def _cfg(mode: str, extra: str = "", rename: bool = False) -> RouterConfig:
    text = TOML.replace("MODE", mode)
    if rename:
        text = text.replace('"r"', '"s"')
    return decode_config((text + extra).encode())


def _agent(i: int) -> AgentSpec:
    return AgentSpec(id=f"a{i}", skills={"x": 1}, capacity={"voice": 1})


def _traffic(
    r: Router, t: float, n: int, seed: int, live: list[str], queues: tuple[str, ...]
) -> tuple[float, list[str], bytes]:
    """``n`` seeded arrivals; every offer accepted at once; a completion after about half
    of them. Returns the time, the inquiries in service and the events."""
    rng = random.Random(seed)
    live = list(live)
    out = []
    for k in range(n):
        t += rng.expovariate(0.6)
        q = rng.choice(queues)
        r.submit(Inquiry(id=f"s{seed}-{k}", queue=q, patience_s=rng.choice([None, 40.0])), now=t)
        events = r.tick(t)
        if live and rng.random() < 0.55:
            r.complete(live.pop(0), now=t)
            events += r.tick(t)
        for e in list(events):
            if isinstance(e, Offered):
                r.accept(e.inquiry_id, now=t, agent_id=e.agent_id)
                events += r.tick(t)
        live += [e.inquiry_id for e in events if isinstance(e, Assigned)]
        out += events
    return t, live, encode_events(out)


def _held_are_own(router: Router) -> None:
    """Every record the core holds is the estimator's current one for its queue."""
    est = router._estimator
    for name, qs in router._queues.items():
        if qs.est is not None:
            assert qs.est is est.rates[name] and not qs.est.dropped


def _same_estimates(a: WaitEstimator, b: WaitEstimator, queues: tuple[str, ...]) -> None:
    assert a.answers() == b.answers()
    assert a.extra_state() == b.extra_state()
    for q in queues:
        assert [a.expected_wait(q, k, 0, 5.0) for k in (1, 4, 12, 40)] == [
            b.expected_wait(q, k, 0, 5.0) for k in (1, 4, 12, 40)
        ]
        assert a.rate(q) == b.rate(q) and a.handle_s(q) == b.handle_s(q)


@pytest.mark.parametrize("mode", ["offer", "immediate"])
def test_the_held_records_follow_reconfigures_staffing_and_a_restore(mode: str) -> None:
    """``r`` renamed ``s`` (removed, its line handed over), added back, staff logging in
    and out, then a restore: the restored router and the original, given the same
    inputs, estimate and decide alike, and every held record is the estimator's own."""
    a = Router(_cfg(mode))
    for i in range(3):
        a.login(_agent(i), now=0.0)
    t, live, _ = _traffic(a, 0.0, 40, 1, [], ("q", "r"))
    assert a._queues["q"].est is a._estimator.rates["q"]  # held once used
    _held_are_own(a)
    a.reconfigure(_cfg(mode, rename=True), t, hand_over={"r": "s"})
    t, live, _ = _traffic(a, t, 30, 2, live, ("q", "s"))
    a.login(_agent(3), now=t)  # staffing rescaled (WaitEstimator.restaff)
    a.login(_agent(4), now=t)
    t, live, _ = _traffic(a, t, 30, 3, live, ("q", "s"))
    _held_are_own(a)
    assert set(a._estimator.answers()[0]) == {"q", "r", "s"}
    b = Router.restore(a.snapshot())
    _same_estimates(a._estimator, b._estimator, ("q", "r", "s"))
    both = _cfg(mode, '[[queues]]\nname = "s"\nrequires = { x = 1 }\n')
    ta, la, ea = _traffic(a, t, 30, 4, live, ("q", "s"))
    tb, lb, eb = _traffic(b, t, 30, 4, live, ("q", "s"))
    assert ea == eb
    a.reconfigure(both, ta)  # r back
    b.reconfigure(both, tb)
    a.logout("a4", now=ta)
    b.logout("a4", now=tb)
    _, _, ea = _traffic(a, ta, 40, 5, la, ("q", "r", "s"))
    _, _, eb = _traffic(b, tb, 40, 5, lb, ("q", "r", "s"))
    assert ea == eb
    for router in (a, b):
        _held_are_own(router)
        assert all(router._queues[q].est is not None for q in ("q", "r", "s"))
    _same_estimates(a._estimator, b._estimator, ("q", "r", "s"))
    assert a.snapshot() == b.snapshot()


@pytest.mark.parametrize("mode", ["offer", "immediate"])
def test_records_replaced_under_a_running_router_are_not_fed(mode: str) -> None:
    """The estimator's state reloaded in place (``load_extra_state`` and ``load_answers``
    of its own output) under a running router: the records the core held are dropped;
    its next observations go to the new ones, as a twin router's go to its own. (Held
    records that ignored ``dropped`` would take them: the estimates would stay put.)"""
    a, b = Router(_cfg(mode)), Router(_cfg(mode))
    for router in (a, b):
        for i in range(3):
            router.login(_agent(i), now=0.0)
    t, live, ea = _traffic(a, 0.0, 40, 1, [], ("q", "r"))
    _, _, eb = _traffic(b, 0.0, 40, 1, [], ("q", "r"))
    assert ea == eb
    est = a._estimator
    old = a._queues["q"].est
    assert old is est.rates["q"]
    extra, answers = est.extra_state(), est.answers()
    assert set(answers[0]) == {"q", "r"}  # both lines were backlogged: gaps measured
    est.load_extra_state(extra)
    est.load_answers(*answers)
    assert old is not None and old.dropped and est.rates["q"] is not old
    _same_estimates(est, b._estimator, ("q", "r"))
    _, _, ea = _traffic(a, t, 40, 2, live, ("q", "r"))
    _, _, eb = _traffic(b, t, 40, 2, live, ("q", "r"))
    assert ea == eb
    _held_are_own(a)
    _same_estimates(est, b._estimator, ("q", "r"))


@pytest.mark.parametrize("mode", ["offer", "immediate"])
def test_records_reloaded_from_earlier_are_read_by_the_first_answer_and_arrival(mode: str) -> None:
    """The estimator's records reloaded from an earlier state of their own under a running
    router: the records the core held are dropped and hold later values. The first answer
    (a new agent takes a waiting inquiry: no arrival or completion of its queue before) and
    the first waiting arrival of each queue (``AdmissionControl.arrival_wait``) read the new
    records, as a twin restored from the reloaded state (which holds none yet) does. (Held
    records used without the ``dropped`` check would give the old values: other waits.)"""
    a = Router(_cfg(mode))
    for i in range(3):
        a.login(_agent(i), now=0.0)
    t, live, _ = _traffic(a, 0.0, 40, 1, [], ("q", "r"))
    est = a._estimator
    early = est.extra_state(), est.answers()
    t, live, _ = _traffic(a, t, 40, 2, live, ("q", "r"))
    assert est.answers() != early[1]  # the records moved on since
    est.load_extra_state(early[0])
    est.load_answers(*early[1])
    assert all(a._queues[q].est.dropped for q in ("q", "r"))  # type: ignore[union-attr]
    assert all(a._queues[q].n_waiting for q in ("q", "r"))  # both lines backlogged
    b = Router.restore(a.snapshot())
    out: list[bytes] = []
    for router in (a, b):
        events = []
        t1 = t + 1.0
        router.login(_agent(9), now=t1)  # takes the most urgent waiting inquiry: an answer
        events += router.tick(t1)
        for e in list(events):
            if isinstance(e, Offered):
                router.accept(e.inquiry_id, now=t1, agent_id=e.agent_id)
                events += router.tick(t1)
        assert sum(isinstance(e, Assigned) for e in events) == 1
        for k, q in enumerate(("q", "r", "q", "r")):  # they wait: every agent is busy
            router.submit(Inquiry(id=f"late-{k}", queue=q), now=t1 + k)
            events += router.tick(t1 + k)
        out.append(encode_events(events))
    assert out[0] == out[1]
    _held_are_own(a)
    _same_estimates(a._estimator, b._estimator, ("q", "r"))
