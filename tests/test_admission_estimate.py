"""The expected wait told to each arrival: the estimator's maths, and its error at 20x load."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from router.model import Admission, Inquiry
from router.state.estimate import WaitEstimator, digamma, wait_for_position
from tests.test_backpressure import Flood, make_router


def direct(n: int, rate: float, theta: float) -> float:
    return sum(1.0 / (rate + i * theta) for i in range(n))


@pytest.mark.parametrize("n", [1, 7, 8, 50, 5000])
@pytest.mark.parametrize(("rate", "theta"), [(0.3, 0.0), (0.3, 1 / 120), (2.0, 0.05)])
def test_wait_for_position_matches_the_sum(n: int, rate: float, theta: float) -> None:
    assert wait_for_position(n, rate, theta) == pytest.approx(direct(n, rate, theta), rel=1e-9)


def test_digamma_at_known_points() -> None:
    euler = 0.5772156649015329
    assert digamma(1.0) == pytest.approx(-euler, abs=1e-12)
    assert digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), abs=1e-12)


def test_rate_is_measured_only_while_backlogged() -> None:
    est = WaitEstimator(alpha=0.5)
    est.on_answer("q", 10.0, 10.0)  # answered on arrival: an idle agent, no backlog
    est.on_answer("q", 100.0, 95.0)  # waited 5 s: the queue was backlogged since 95
    assert est.gap["q"] == 5.0
    est.on_answer("q", 104.0, 90.0)  # backlogged through: 4 s since the last answer
    assert est.gap["q"] == 4.5
    assert est.expected_wait("q", 2) == pytest.approx(9.0)
    est.on_abandon("q", 30.0)  # one abandonment: theta = mean(abandon) / mean(waited)
    assert est.theta("q") > 0 and est.expected_wait("q", 2) < 9.0


def test_expected_wait_is_honest_at_20x_and_far_better_than_position_times_gap() -> None:
    """M/M/20+M at 20x load (patience 120 s): the measured service and abandonment rates
    predict the wait of those who stay; ``position / rate`` overstates it many times."""
    toml = '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'
    r = make_router(toml, agents=20)
    naive: dict[str, float] = {}

    def on_submit(f: Flood, adm: Admission) -> None:
        gap = f.r._estimator.gap.get("q")
        if gap is not None and adm.expected_wait_s > 0:
            naive[adm.inquiry_id] = adm.position * gap

    f = Flood(
        r,
        [("q", 20 * 20 / 60, None)],
        handle_s=60,
        patience_s=120,
        duration_s=3600,
        seed=5,
        on_submit=on_submit,
    ).run()
    told = [(t, w) for t, w in f.pairs]
    mean_wait = sum(w for _, w in told) / len(told)
    mae = sum(abs(t - w) for t, w in told) / len(told)
    bias = sum(t - w for t, w in told) / len(told)
    naive_pairs = [(naive[i], w) for i, w in f.waits.items() if i in naive]
    naive_mae = sum(abs(t - w) for t, w in naive_pairs) / len(naive_pairs)
    assert len(told) > 1000 and mean_wait > 200
    assert mae < 0.2 * mean_wait
    assert abs(bias) < 0.1 * mean_wait
    assert naive_mae > 5 * mae


SURGE_WATCH = """
[routing]
mode = "immediate"
[[queues]]
name = "q"
[backpressure]
policy = "admit_all"
[backpressure.surge]
enter_wait_s = 400
exit_wait_s = 100
queues = ["q"]
"""


def test_surge_measure_reuses_an_expected_wait_only_while_nothing_it_reads_changed() -> None:
    """The surge detector measures after every matching pass and recomputes a queue's
    expected wait only when its version, ``gap`` or arguments changed: at every step of a
    20x flood (two priorities, abandonments, answers) what it returns equals a fresh
    computation."""
    r = make_router(SURGE_WATCH, agents=20)
    surge = r._bp.surge
    seen = {"checks": 0, "waits": 0}

    def same_as_fresh(f: Flood) -> None:
        remembered = surge.measure()
        surge._measured.clear()
        assert surge.measure() == remembered
        seen["checks"] += 1
        seen["waits"] += remembered[0] > 0.0

    Flood(
        r,
        [("q", 20 * 20 / 60 * 0.8, 0), ("q", 20 * 20 / 60 * 0.2, 3)],
        handle_s=60,
        patience_s=120,
        duration_s=1200,
        seed=7,
        on_submit=lambda f, adm: same_as_fresh(f),
    ).run(check=same_as_fresh)
    assert seen["waits"] > 1000  # a line was measured at most steps


def test_surge_measure_sees_every_change_that_leaves_the_line_as_long() -> None:
    """Inputs batched between two matching passes can change what the estimate reads and
    leave the line as long as it was (one withdrawn, one arrived; one answered, one
    arrived): the detector's remembered expected wait must not survive that."""
    r = make_router(SURGE_WATCH, agents=2)
    surge = r._bp.surge
    t = 0.0
    ids = [f"w{i}" for i in range(12)]
    for iid in ids:
        r.submit(Inquiry(id=iid, queue="q", patience_s=900.0), t)
    r.tick(t)

    def first(state: str) -> str:
        return next(i for i in ids if i in r._tickets and r.inquiry_state(i) == state)

    changed = 0
    previous = surge.measure()

    def check() -> None:
        nonlocal changed
        before = surge.measure()
        surge._measured.clear()
        fresh = surge.measure()
        assert fresh == before
        changed += fresh != previous

    for k in range(60):
        t += 7.0 + k % 5
        if k % 2:  # one leaves the line, one arrives (of a higher priority every third)
            r.withdraw(first("waiting"), t)
        else:  # one is answered (its agent takes the next), one arrives
            r.complete(first("assigned"), t)
            r.tick(t)
        ids.append(f"n{k}")
        r.submit(Inquiry(id=ids[-1], queue="q", priority=3 if k % 3 == 0 else 0), t)
        check()
        previous = surge.measure()
        r.tick(t)
        check()
        previous = surge.measure()
    assert changed > 30  # the line stayed as long, its expected wait did not


def test_version_is_renewed_by_every_observation_a_prediction_reads() -> None:
    """``WaitEstimator.version`` promises: the same version gives the same
    prediction. Each observation that changes what ``expected_wait`` reads renews it; a
    staffing report that changes nothing does not."""
    est = WaitEstimator()
    assert est.version("q") == 0

    def predict() -> tuple[float, float | None]:
        return est.expected_wait("q", 30, 0, 60.0, 4.0), est.gap.get("q")

    steps: list[tuple[str, bool, Callable[[], None]]] = [
        ("first arrival", True, lambda: est.on_arrival("q", 0, 1.0)),
        ("arrival gap", True, lambda: est.on_arrival("q", 0, 2.0)),
        ("higher priority", False, lambda: est.on_arrival("q", 5, 2.5)),  # its first: no gap
        ("higher priority gap", True, lambda: est.on_arrival("q", 5, 4.0)),
        ("answer (a callback)", True, lambda: est.on_answer("q", 9.0, 1.0, live=False)),
        ("answer", True, lambda: est.on_answer("q", 9.5, 2.0)),
        ("staffing known", False, lambda: est.restaff("q", 10.0, 9.0)),
        ("staffing unchanged", False, lambda: est.restaff("q", 10.0, 9.5)),
        ("staffing doubled", True, lambda: est.restaff("q", 20.0, 10.0)),
        ("abandon", True, lambda: est.on_abandon("q", 30.0)),
        ("removed", True, lambda: est.on_removed("q", 40.0)),
        ("moved", True, lambda: est.on_moved("q", 12.0, 11.0)),
        ("complete", True, lambda: est.on_complete("q", 200.0)),
    ]
    for what, renews, step in steps:
        version, before = est.version("q"), predict()
        step()
        assert (est.version("q") != version) == renews, what
        if est.version("q") == version:
            assert predict() == before, what
    load = WaitEstimator()
    load.load_extra_state(est.extra_state())
    assert load.version("q") != 0  # restored measurements: a version of their own


def test_estimate_inputs_do_not_depend_on_the_agent_heaps_layout() -> None:
    """``pool_slots`` is the caps summed over the eligible agents and ``free_agents`` the
    agents listed now: the same with stale entries at the top of the heap as after a
    restore that rebuilds it without them, so both tell an arrival the same wait."""
    from router import AgentSpec, Router
    from router.state.lazyheap import compact_agents
    from router.state.records import free_agents, pool_slots

    toml = '[[queues]]\nname = "c"\nchannel = "chat"\n'
    r = make_router(toml, agents=0)
    caps = {f"a{i}": 1 + i % 7 for i in range(40)}
    for aid, cap in caps.items():
        r.login(AgentSpec(id=aid, capacity={"chat": cap}), 0.0)
    t = 0.0
    busy: list[str] = []
    for k in range(300):  # offers, accepts and completions leave stale entries behind
        t += 1.0
        r.submit(Inquiry(id=f"i{k}", queue="c"), t)
        for e in r.tick(t):
            if type(e).__name__ == "Offered":
                r.accept(e.inquiry_id, t)
                busy.append(e.inquiry_id)
        if len(busy) > 60:  # about 60 of the 160 slots busy
            r.complete(busy.pop(k % len(busy)), t)
    (pool,) = r._pools.values()
    slots = r._slots  # the heap entries name their agents by slot
    entries = r._heap_entries(pool)  # (key, seq, slot, live)
    live = {slots[sl].id for _, _, sl, is_live in entries if is_live}
    assert len(entries) > len(live)  # stale entries are there
    assert pool_slots(pool) == float(sum(caps.values()))
    for need in range(1, 10):
        assert free_agents(pool, need) == min(need, len(live))
    restored = Router.restore(r.snapshot())
    # a compacted layout of the same listing
    if pool.vh is not None and r._table is not None:  # compiled: router/state/vecheap.py
        pool.vh.compact(r._table.cells)
    else:
        compact_agents(pool.agents, r._vers)
    t += 1.0
    told = [x.submit(Inquiry(id="new", queue="c"), t) for x in (r, restored)]
    assert told[0] == told[1]


LOGOUT = """
[routing]
mode = "offer"
strict = true
[[queues]]
name = "early"
requires = { x = 1 }
[[queues]]
name = "late"
requires = { x = 1 }
"""


@pytest.mark.parametrize("restore", [False, True])
def test_an_agent_logging_out_with_work_is_no_staff(restore: bool) -> None:
    """An agent logging out finishes its work and takes no more: a queue whose pool was
    made before the logout counts it no more than one made after (the expected wait, the
    strict check), and a restored router agrees (the first release counted it in the old
    pools only, and a restore counted it everywhere)."""
    from router import AgentSpec, ImpossibleRequirement, Router
    from tests.helpers import config

    r = Router(config(LOGOUT))
    r.login(AgentSpec(id="a", skills={"x": 2}, capacity={"voice": 1}), 0)
    r.login(AgentSpec(id="b", skills={"x": 2}, capacity={"voice": 1}), 0)
    r.submit(Inquiry(id="c1", queue="early"), 0)  # the early pool: made before the logout
    r.tick(0)
    r.accept("c1", 1, "a")
    r.logout("b", 1)  # b leaves now; a stays on the call and logs out after it
    r.tick(1)
    r.logout("a", 2)
    if restore:
        r = Router.restore(r.snapshot())
    for queue in ("early", "late"):
        with pytest.raises(ImpossibleRequirement):
            r.submit(Inquiry(id=f"{queue}-1", queue=queue), 3)
    r2 = Router(config(LOGOUT.replace("strict = true", "strict = false")))
    r2.login(AgentSpec(id="a", skills={"x": 2}, capacity={"voice": 1}), 0)
    r2.submit(Inquiry(id="c1", queue="early"), 0)
    r2.tick(0)
    r2.accept("c1", 1, "a")
    r2.logout("a", 2)
    if restore:
        r2 = Router.restore(r2.snapshot())
    for queue in ("early", "late"):
        adm = r2.submit(Inquiry(id=f"{queue}-1", queue=queue), 3)
        assert adm.outcome == "admitted"
        assert adm.expected_wait_s == math.inf  # nobody who will take it is logged in
