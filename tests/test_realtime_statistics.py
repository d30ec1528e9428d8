"""The core's real-time statistics: exact against a recount, the monitor and the report."""

from __future__ import annotations

import math
import random
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest

import router
from router import AgentSpec, Inquiry, ResetStatistics, Router, UsageError
from router.errors import ConfigError, InvalidInput, UnknownId
from router.observe import Monitor
from router.sim import build_report, load_scenario
from router.sim.observed import ObservedRun
from router.state import codec
from router.state.windows import Counts, SlidingWindows
from router.stats import WindowFigures
from tests.helpers import config
from tests.realtime_ledger import EventLedger, check_realtime

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TWO_QUEUES = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "refund"
channel = "voice"
answer_target_s = 20
requires = { refund = 2 }
[[queues]]
name = "chat"
channel = "chat"
answer_target_s = 60
"""

#: TWO_QUEUES with a refusal kept for the inquiry's whole stay (docs/routing-features.md)
KEPT = TWO_QUEUES.replace(
    "offer_timeout_s = 10\n", 'offer_timeout_s = 10\ndecline_memory = "forever"\n'
)


class Driven:
    """A bare core whose events feed a ledger (and optionally a monitor)."""

    def __init__(self, toml: str = TWO_QUEUES, monitor: bool = False) -> None:
        self.cfg = config(toml)
        self.r = Router(self.cfg)
        self.ledger = EventLedger({q.name: q.answer_target_s for q in self.cfg.queues})
        self.monitor = Monitor(self.cfg) if monitor else None

    def tick(self, now: float) -> list[Any]:
        events = self.r.tick(now)
        self.ledger.feed(events)
        if self.monitor is not None:
            self.monitor.feed(events)
        return events

    def check(self) -> None:
        check_realtime(self.r, self.ledger)


# ---------------------------------------------------------------------- sliding windows


def _brute(facts: list[tuple[float, int]], now: float, window: float, bucket: float) -> int:
    k_now = int(now // bucket)
    return sum(n for at, n in facts if k_now - int(window // bucket) < int(at // bucket) <= k_now)


def test_windows_equal_a_recount_of_every_fact() -> None:
    rng = random.Random(7)
    sw = SlidingWindows((60.0, 300.0, 900.0), 10.0)
    facts: list[tuple[float, int]] = []
    t = 0.0
    for _ in range(3000):
        t += rng.choice([0.0, 0.5, 3.0, 9.9, 10.0, 45.0, 400.0, 2000.0])
        sw.current(t).offered += 1
        facts.append((t, 1))
        if rng.random() < 0.1:  # take one back from an earlier bucket, maybe long gone
            at, _ = rng.choice(facts[-200:])
            delta = Counts()
            delta.offered = -1
            sw.adjust(at, delta)
            facts.append((at, -1))
        if rng.random() < 0.2:
            later = t + rng.choice([0.0, 5.0, 60.0, 290.0, 1000.0])
            for i, w in enumerate(sw.windows):
                assert sw.window(i, later).offered == _brute(facts, later, w, 10.0), (i, later)
    assert sw.since_reset().offered == sum(n for _, n in facts)


def test_reads_change_nothing_and_the_record_round_trips() -> None:
    sw = SlidingWindows((60.0, 120.0), 10.0)
    for t in (1.0, 15.0, 33.0, 70.0):
        c = sw.current(t)
        c.answered += 1
        c.wait_s += t / 3
    before = msgspec.msgpack.encode(sw.dump())
    sw.query(500.0)
    assert msgspec.msgpack.encode(sw.dump()) == before
    copy = SlidingWindows((60.0, 120.0), 10.0)
    copy.load(sw.dump())
    assert copy.query(95.0) == sw.query(95.0)
    assert msgspec.msgpack.encode(copy.dump()) == before


def test_a_reset_starts_since_reset_over_and_keeps_the_windows() -> None:
    sw = SlidingWindows((300.0,), 10.0)
    sw.current(1.0).offered += 2
    sw.reset(5.0)
    sw.current(6.0).offered += 1
    assert sw.since_reset().offered == 1
    assert sw.window(0, 6.0).offered == 3
    # a take-back of something counted before the reset leaves since-reset alone
    delta = Counts()
    delta.offered = -1
    sw.adjust(1.0, delta)
    assert (sw.since_reset().offered, sw.window(0, 6.0).offered) == (1, 2)
    sw.current(100.0)  # the bucket of the reset closes
    assert sw.since_reset().offered == 1


def test_float_sums_leave_no_residue_in_an_empty_window() -> None:
    sw = SlidingWindows((20.0,), 10.0)
    for i in range(1000):
        c = sw.current(i * 3.0)
        c.answered += 1
        c.wait_s += 0.1 * (i % 7)
    c = sw.window(0, 5000.0)
    assert (c.answered, c.wait_s) == (0, 0.0)


# ---------------------------------------------------------------------- the core


def test_queue_figures_follow_the_inquiries() -> None:
    d = Driven(KEPT)  # (one agent: its refusals kept, as these figures were worked out)
    r = d.r
    for i in range(4):
        r.submit(Inquiry(id=f"c{i}", queue="refund", priority=i % 2, patience_s=500), now=i)
    d.tick(3.0)
    q = r.statistics().queues["refund"]
    assert q.waiting_by_priority == {1: 2, 0: 2}
    assert q.longest_wait_s == 3.0
    assert q.eligible_agents == 0 and q.expected_wait_by_priority_s == {1: math.inf, 0: math.inf}
    d.check()
    r.login(AgentSpec(id="a", skills={"refund": 3}), now=10.0)
    r.login(AgentSpec(id="b", skills={"refund": 1}, capacity={"voice": 1, "chat": 3}), now=10.0)
    st = r.statistics()
    assert st.queues["refund"].eligible_agents == 1  # b lacks the skill
    assert st.queues["chat"].eligible_agents == 1  # only b has chat
    assert (st.queues["refund"].available_agents, st.queues["chat"].available_agents) == (1, 1)
    d.check()
    d.tick(10.0)  # c1 (priority 1) offered to a
    st = r.statistics()
    assert st.queues["refund"].available_agents == 0
    assert st.queues["refund"].longest_wait_s == 10.0  # c0 waits still
    assert st.agents_by_state == {"idle": 1, "busy": 1, "wrap_up": 0, "break": 0, "away": 0}
    d.check()
    r.decline("c1", now=12.0)
    d.tick(12.0)
    r.accept("c3", now=13.0)  # the next of priority 1
    d.tick(13.0)
    r.complete("c3", now=50.0)
    d.tick(50.0)
    d.check()
    w = r.statistics().queues["refund"].windows["5m"]
    assert (w.offered, w.answered, w.handled, w.answered_in_target) == (4, 1, 1, 1)
    assert w.asa_s == 10.0 and w.aht_s == 37.0 and w.service_level == 1.0
    a = r.agent_statistics("a")
    assert (a.offers, a.declined, a.handled, a.state) == (3, 1, 1, "busy")


COOLDOWN = """
[routing]
mode = "offer"
offer_timeout_s = 10
[wellbeing]
cooldown_after_heavy_s = 10
cooldown_s = 100
cooldown_from = "%s"
[[queues]]
name = "complaint"
channel = "voice"
heavy = true
[[queues]]
name = "chat"
channel = "chat"
"""


@pytest.mark.parametrize("cooldown_from", ["all", "heavy"])
def test_an_agent_in_a_cooldown_is_not_available(cooldown_from: str) -> None:
    d = Driven(COOLDOWN % cooldown_from)
    r = d.r
    r.login(AgentSpec(id="a", capacity={"voice": 1, "chat": 3}), now=0.0)
    r.submit(Inquiry(id="h1", queue="complaint"), now=0.0)
    d.tick(0.0)
    r.accept("h1", now=1.0)
    d.tick(1.0)
    r.complete("h1", now=30.0)  # 29 s of heavy work: a cooldown until 130
    events = d.tick(30.0)
    assert [type(e).__name__ for e in events].count("CooldownStarted") == 1
    st = r.statistics()
    available = {q: st.queues[q].available_agents for q in ("complaint", "chat")}
    # off every queue, or off the heavy one only; eligible either way, and idle
    assert available == (
        {"complaint": 0, "chat": 0}
        if cooldown_from == "all"
        else {
            "complaint": 0,
            "chat": 1,
        }
    )
    assert (st.queues["complaint"].eligible_agents, st.queues["chat"].eligible_agents) == (1, 1)
    assert st.agents_by_state["idle"] == 1
    d.check()
    d.tick(129.0)
    assert r.statistics().queues["complaint"].available_agents == 0
    d.tick(130.0)  # the cooldown is over
    st = r.statistics()
    assert (st.queues["complaint"].available_agents, st.queues["chat"].available_agents) == (1, 1)
    d.check()


def test_an_agent_paused_after_heavy_work_is_not_available_for_heavy_queues() -> None:
    toml = COOLDOWN.replace("%s", "all").replace(
        "cooldown_after_heavy_s = 10", "max_consecutive_heavy = 1\nheavy_recovery_s = 50"
    )
    d = Driven(toml)
    r = d.r
    r.login(AgentSpec(id="a", capacity={"voice": 1, "chat": 3}), now=0.0)
    r.submit(Inquiry(id="h1", queue="complaint"), now=0.0)
    d.tick(0.0)
    r.accept("h1", now=1.0)
    d.tick(1.0)
    r.complete("h1", now=10.0)  # one heavy inquiry in a row: no heavy work until 60
    d.tick(10.0)
    st = r.statistics()
    assert (st.queues["complaint"].available_agents, st.queues["chat"].available_agents) == (0, 1)
    d.check()
    d.tick(60.0)  # the recovery pause is over
    st = r.statistics()
    assert (st.queues["complaint"].available_agents, st.queues["chat"].available_agents) == (1, 1)
    d.check()


def test_outcomes_count_where_they_end_and_windows_slide() -> None:
    d = Driven(
        TWO_QUEUES
        + """
[backpressure]
policy = ["reject_when_full"]
max_queue = 2
"""
    )
    r = d.r
    for i in range(3):  # the third is refused at arrival
        r.submit(Inquiry(id=f"c{i}", queue="chat", patience_s=30), now=0.0)
    r.withdraw("c0", now=5.0)
    d.tick(40.0)  # c1 abandons at 30
    w = r.statistics().queues["chat"].windows["5m"]
    assert (w.offered, w.rejected, w.abandoned) == (3, 1, 2)
    assert w.service_level == 0.0 and w.abandon_rate == pytest.approx(2 / 3)
    d.check()
    d.tick(400.0)
    st = r.statistics().queues["chat"].windows
    assert st["5m"].offered == 0 and st["5m"].service_level is None
    assert st["15m"].offered == 3 == st["since_reset"].offered
    d.check()
    r.reset_statistics(401.0)
    assert r.statistics().queues["chat"].windows["since_reset"].offered == 0
    assert r.statistics().reset_at == 401.0
    d.ledger.mark_reset(len(r._events))
    d.check()


def test_a_callback_that_reached_nobody_is_no_answer() -> None:
    toml = """
[routing]
mode = "immediate"
[[queues]]
name = "refund"
channel = "voice"
[backpressure]
policy = "callback"
[backpressure.callback]
min_wait_s = 1
max_attempts = 2
retry_s = 60
"""
    d = Driven(toml, monitor=True)
    r = d.r
    r.login(AgentSpec(id="ye"), now=0.0)
    r.submit(Inquiry(id="busy", queue="refund"), now=0.0)
    d.tick(0.0)
    r.submit(Inquiry(id="cb", queue="refund"), now=1.0)
    d.tick(1.0)
    r.complete("busy", now=100.0)
    d.tick(100.0)  # the callback is assigned: the agent calls
    assert r.statistics().queues["refund"].windows["5m"].answered == 2
    r.reset_statistics(100.0)  # the answer was before the reset, at the same instant
    d.ledger.mark_reset(len(r._events))
    r.callback_failed("cb", now=101.0)
    d.tick(101.0)
    w = r.statistics().queues["refund"].windows
    assert (w["5m"].answered, w["since_reset"].answered) == (1, 0)
    d.check()
    d.tick(161.0)  # back in line, assigned again
    r.callback_failed("cb", now=170.0)  # the last attempt: abandoned
    d.tick(170.0)
    w = r.statistics().queues["refund"].windows
    assert (w["5m"].answered, w["5m"].abandoned, w["since_reset"].abandoned) == (1, 1, 1)
    d.check()
    assert d.monitor is not None
    mon = d.monitor.statistics(r.now).queues["refund"].windows
    assert mon["5m"] == w["5m"]


def test_agent_figures_occupancy_and_states() -> None:
    d = Driven(KEPT)  # (one agent: its refusals kept, as these figures were worked out)
    r = d.r
    r.login(AgentSpec(id="ye", skills={"refund": 2}, capacity={"voice": 1, "chat": 2}), now=0.0)
    r.submit(Inquiry(id="v", queue="refund"), now=0.0)
    r.submit(Inquiry(id="c", queue="chat"), now=0.0)
    d.tick(0.0)
    r.accept("v", now=2.0)
    r.decline("c", now=3.0)
    d.tick(3.0)
    r.complete("v", now=20.0)
    d.tick(20.0)
    a = r.agent_statistics("ye")
    assert (a.offers, a.handled, a.declined, a.expired) == (2, 1, 1, 0)
    # the call held half the agent 0..20, the chat 1/4 of it 0..3
    assert a.busy_s == pytest.approx(0.5 * 20 + 0.25 * 3)
    assert a.occupancy == pytest.approx((10 + 0.75) / 20)
    r.go_on_break("ye", now=30.0)
    assert r.agent_statistics("ye").state == "break"
    assert r.statistics().agents_by_state["break"] == 1
    r.reset_statistics(40.0)
    d.ledger.mark_reset(len(r._events))
    a = r.agent_statistics("ye")
    assert (a.since, a.offers, a.handled, a.busy_s) == (40.0, 0, 0, 0.0)
    with pytest.raises(UnknownId):
        r.agent_statistics("nobody")
    # a query: an id of the wrong type is InvalidInput on both builds (docs/compiled.md)
    with pytest.raises(InvalidInput, match=r"^agent_id: must be a non-empty string, got None$"):
        r.agent_statistics(None)
    d.check()


def test_statistics_look_only_at_agents_that_changed() -> None:
    r = Router(config(TWO_QUEUES))
    for i in range(50):
        r.login(AgentSpec(id=f"a{i}", skills={"refund": 2}), now=0.0)
    r.statistics()
    assert not r._live.changed
    r.submit(Inquiry(id="x", queue="refund"), now=1.0)
    r.tick(1.0)
    assert set(r._live.changed) == {"a0"} or len(r._live.changed) == 1
    r.statistics()
    assert not r._live.changed


def test_reset_is_an_input_checked_at_the_edge() -> None:
    r = Router(config(TWO_QUEUES), now=10.0)
    snap = r.snapshot()
    for bad in (math.nan, math.inf, None, "1"):
        # (the compiled handle refuses a now that is no float itself: mypyc's TypeError)
        wrong_type = router.compiled and not isinstance(bad, float)
        with pytest.raises(TypeError if wrong_type else InvalidInput, match=r"now|float"):
            r.handle(ResetStatistics(), bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="earlier"):
        r.reset_statistics(5.0)
    assert r.snapshot() == snap
    r.handle(ResetStatistics(), 11.0)
    assert r.statistics().reset_at == 11.0
    restored = Router.restore(r.snapshot())
    assert restored.statistics() == r.statistics()
    assert restored.snapshot() == r.snapshot()


def test_the_windows_come_from_the_config() -> None:
    cfg = config(TWO_QUEUES + "[statistics]\nwindows = [60, 3600]\nbucket_s = 5\n")
    r = Router(cfg)
    r.submit(Inquiry(id="x", queue="refund"), now=0.0)
    assert set(r.statistics().queues["refund"].windows) == {"1m", "1h", "since_reset"}
    # a reconfigure to other windows starts them empty; since reset carries on
    r.reconfigure(config(TWO_QUEUES), now=10.0)
    w = r.statistics().queues["refund"].windows
    assert set(w) == {"5m", "15m", "30m", "since_reset"}
    assert (w["5m"].offered, w["since_reset"].offered) == (0, 1)
    # the totals since the start carry on too, across a reset and a snapshot
    r.reset_statistics(now=11.0)
    r.submit(Inquiry(id="y", queue="refund"), now=12.0)
    totals = r.statistics().queues["refund"].totals
    assert totals is not None and totals.offered == 2
    restored = Router.restore(r.snapshot())
    assert restored.statistics().queues["refund"].totals == totals
    assert restored.snapshot() == r.snapshot()
    with pytest.raises(ConfigError) as err:
        Router(config(TWO_QUEUES + "[statistics]\nwindows = [5, 300, 300.0]\n"))
    assert err.value.problems == [
        "$.statistics.windows[0]: 5 must be a number >= bucket_s (10)",
        "$.statistics.windows[2]: 300 repeats the window '5m'",
    ]
    with pytest.raises(ConfigError, match=r"\$\.statistics\.bucket_s: must be a finite number"):
        Router(config(TWO_QUEUES + "[statistics]\nbucket_s = nan\n"))


def test_the_wait_histogram_survives_a_snapshot_and_an_older_one_restarts_it() -> None:
    d = Driven()
    r = d.r
    r.login(AgentSpec(id="ye", skills={"refund": 2}), now=0.0)
    for i, wait in enumerate((0.5, 7.0, 7000.0)):
        r.submit(Inquiry(id=f"c{i}", queue="refund"), now=10_000.0 * i)
        d.tick(10_000.0 * i + wait)
        r.accept(f"c{i}", now=10_000.0 * i + wait)
        r.complete(f"c{i}", now=10_000.0 * i + wait + 1)
    q = r.statistics().queues["refund"]
    assert q.wait_histogram == [1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]  # 0.5, 7, 7000 s
    assert q.wait_sum_s == 7007.5
    again = Router.restore(r.snapshot())
    assert again.statistics().queues["refund"].wait_histogram == q.wait_histogram
    assert again.snapshot() == r.snapshot()
    # a snapshot written before the histogram was kept restores, and counts from zero
    old = codec.decode(r.snapshot())
    old.queues = [msgspec.structs.replace(sq, waits=None) for sq in old.queues]
    older = Router.restore(codec.encode(old))
    st = older.statistics().queues["refund"]
    assert (st.wait_histogram, st.totals) == ([0] * 14, q.totals)
    older.submit(Inquiry(id="c9", queue="refund"), now=40_000.0)
    older.tick(40_000.0)
    older.accept("c9", now=40_001.0)
    assert older.statistics().queues["refund"].wait_histogram == [1] * 14  # 1 s: le=1 on


def test_snapshot_round_trips_the_windows_and_agent_figures() -> None:
    d = Driven()
    r = d.r
    r.login(AgentSpec(id="ye", skills={"refund": 2}, capacity={"voice": 1, "chat": 5}), now=0.0)
    for i in range(6):
        r.submit(Inquiry(id=f"c{i}", queue="chat" if i % 2 else "refund"), now=float(i * 50))
        d.tick(float(i * 50))
        for iid in list(r._agents["ye"].offers):
            r.accept(iid, now=float(i * 50 + 1))
    d.tick(400.0)
    snap = r.snapshot()
    again = Router.restore(snap)
    assert again.snapshot() == snap
    assert again.statistics() == r.statistics()
    assert again.agent_statistics("ye") == r.agent_statistics("ye")
    for x in (r, again):
        x.complete("c0", now=500.0)
    assert again.tick(500.0) == r.tick(500.0)
    assert again.statistics() == r.statistics()


# ---------------------------------------------------------------------- the same run


@cache
def _observed(
    name: str, duration_s: float
) -> tuple[dict[str, Any], Monitor, Router, int, dict[str, int]]:
    """A drained run with a monitor, compared with the core after every 40th tick's events."""
    sc = load_scenario(EXAMPLES / name)
    sim = msgspec.structs.replace(sc.simulation, warmup_s=0.0, duration_s=duration_s)
    sc = msgspec.structs.replace(sc, simulation=sim)
    run = ObservedRun(sc, Monitor(sc))
    core = run.sim.router
    inner = run.sim.tick  # the engine's tick hook (the Router's methods are never patched)
    left = [0, 0]  # events of the last tick not yet seen by the monitor; ticks so far
    compared = [0]

    def tick(now: float) -> list[Any]:
        events = inner(now)
        left[0] = len(events)
        left[1] += 1
        return events

    def after(ev: Any) -> bool:
        left[0] -= 1
        if left[0] == 0 and left[1] % 40 == 0:
            _agree_with_monitor(core, run.monitor)
            compared[0] += 1
        return True

    run.sim.tick = tick
    run.after_event = after
    res = run.run()
    handled = {a.id: a.handled for a in res.agents}  # the report's, per agent
    return build_report(res, timeline=False), run.monitor, core, compared[0], handled


def _same(a: WindowFigures, b: WindowFigures, where: str) -> None:
    for field in msgspec.structs.fields(WindowFigures):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, float) or isinstance(y, float):
            assert x is not None and y is not None, f"{where}.{field.name}: {x} vs {y}"
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9), f"{where}.{field.name}"
        else:
            assert x == y, f"{where}.{field.name}: core {x}, monitor {y}"


def _agree_with_monitor(core: Router, monitor: Monitor, labels: tuple[str, ...] = ()) -> None:
    """The core's figures are the monitor's (only the windows in ``labels``, if given)."""
    st = core.statistics()
    mon = monitor.statistics(core.now)
    assert st.agents_by_state == mon.agents_by_state
    for agent_id in core.agent_ids():
        a, m = core.agent_statistics(agent_id), mon.agents[agent_id]
        assert (a.state, a.offers, a.handled, a.declined, a.expired) == (
            m.state,
            m.offers,
            m.handled,
            m.declined,
            m.expired,
        ), agent_id
        if not labels:  # (a final check reads the monitor at its own, later, time)
            assert a.staffed_s == pytest.approx(m.staffed_s, abs=1e-6), agent_id
            if m.occupancy is None:
                assert a.occupancy is None, (agent_id, a, m)
            else:
                assert a.occupancy == pytest.approx(m.occupancy, rel=1e-9, abs=1e-9), agent_id
        assert {ch: n for ch, n in a.load.items() if n} == {ch: n for ch, n in m.load.items() if n}
    for name, q in st.queues.items():
        m = mon.queues[name]
        if not st.counters.callbacks:  # the core counts a callback holding its place as
            # waiting (as ``waiting`` always did); the monitor counts it parked
            assert q.waiting == m.waiting, name
            assert q.longest_wait_s == pytest.approx(m.longest_wait_s, abs=1e-9), name
        # the answered waits since the start, bucket for bucket (hand-backs and callbacks
        # that reached nobody take theirs back out)
        assert q.wait_histogram == m.wait_histogram, name
        assert q.wait_sum_s == pytest.approx(m.wait_sum_s, rel=1e-9, abs=1e-9), name
        assert set(q.windows) == set(m.windows)
        for label, w in q.windows.items():
            if not labels or label in labels:
                _same(w, m.windows[label], f"{name}.{label}")


@pytest.mark.parametrize(
    ("name", "duration_s"),
    [
        ("spring_festival.toml", 5400.0),
        ("taobao_fliggy_chat.toml", 3600.0),
        ("configs/handback.toml", 14400.0),  # hand-backs take answers back (issue 16)
        ("configs/presence.toml", 14400.0),  # silent consoles set agents away
        ("configs/declines.toml", 14400.0),  # declined offers, agents away and back
        ("configs/no_answers.toml", 14400.0),  # offers rung out, silent consoles, back again
    ],
)
def test_core_monitor_and_report_agree_on_the_same_run(name: str, duration_s: float) -> None:
    """Fed the same run, the core and the monitor agree at every comparison, and the
    since-reset figures of a drained run are the simulation report's."""
    rep, monitor, core, compared, handled = _observed(name, duration_s)
    assert compared >= 20
    assert rep["unresolved"] == 0
    # the monitor was flushed to the end of the day, maybe past the core's last instant
    _agree_with_monitor(core, monitor, labels=("since_reset",))
    st = core.statistics()
    for qname, q in rep["queues"].items():
        w = st.queues[qname].windows["since_reset"]
        for key in ("offered", "answered", "abandoned", "rejected", "deflected"):
            assert getattr(w, key) == q[key], (qname, key)
        for key in ("service_level", "asa_s", "abandon_rate"):
            # (a handed-back inquiry's wait runs to its last answer in all three)
            want, got = q[key], getattr(w, key)
            assert (got is None) if want is None else got == pytest.approx(want, rel=1e-9), key
    # the agent an inquiry counts for in the report is the one who completed it (the core's
    # ``handled``, of the agents that hold nothing at the core's last instant), a
    # hand-back's last answer's
    idle = [a for a in map(core.agent_statistics, core.agent_ids()) if not any(a.load.values())]
    assert len(idle) >= 5 or not rep.get("handed_back")
    for a in idle:
        assert a.handled == handled[a.id], a.id
