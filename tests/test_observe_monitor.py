"""The event-fed monitor: real-time figures agree with the core and with the simulation report."""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router
from router.observe import AGENT_STATES, WAIT_BUCKETS, Monitor, capacity_shares
from router.sim import build_report, load_scenario
from router.sim.engine import SimResult
from router.sim.observed import ObservedRun
from tests.helpers import config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TWO_QUEUES = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "refund"
channel = "voice"
answer_target_s = 20
[[queues]]
name = "chat"
channel = "chat"
answer_target_s = 60
"""


class Driven:
    """A bare core with a monitor fed every tick's events."""

    def __init__(self, toml: str = TWO_QUEUES, **monitor: Any) -> None:
        self.cfg = config(toml)
        self.router = Router(self.cfg, now=0.0)
        self.monitor = Monitor(self.cfg, **monitor)

    def tick(self, now: float) -> list[Any]:
        events = self.router.tick(now)
        self.monitor.feed(events)
        return events


def test_waiting_longest_wait_and_agent_states_follow_the_core() -> None:
    d = Driven()
    r, m = d.router, d.monitor
    for i in range(3):
        r.submit(Inquiry(id=f"c{i}", queue="refund", patience_s=100), now=float(i))
    d.tick(2.0)
    st = m.statistics(now=12.0)
    q = st.queues["refund"]
    assert q.waiting == 3 == r.statistics().queues["refund"].waiting
    assert q.longest_wait_s == 12.0  # c0 arrived at 0
    assert q.offered == 3
    assert st.agents_by_state == dict.fromkeys(AGENT_STATES, 0)

    spec = AgentSpec(id="ye", capacity={"voice": 1, "chat": 2})
    m.add_agent(spec)
    r.login(spec, now=20.0)
    d.tick(20.0)  # c0 offered to ye
    st = m.statistics()
    assert st.queues["refund"].waiting == 2
    assert st.queues["refund"].longest_wait_s == 19.0  # c1 is now the oldest
    assert st.agents_by_state["busy"] == 1
    assert st.agents["ye"].load == {"voice": 1}
    r.accept("c0", now=22.0)
    d.tick(22.0)
    r.complete("c0", now=82.0)
    d.tick(82.0)  # c1 offered
    r.decline("c1", now=83.0)
    d.tick(83.0)  # c1 goes back, c2 offered? declined agents are skipped for c1
    st = m.statistics()
    assert st.offer_outcomes["accepted"] == 1
    assert st.offer_outcomes["declined"] == 1
    a = st.agents["ye"]
    assert (a.handled, a.declined, a.offers) == (1, 1, 3)
    assert a.aht_s == 60.0
    # the agent held voice (half the agent: two live channels) from 20 to 82 and 82 to 83,
    # then c2 from 83: busy 0.5 * 63 over 63 s staffed, plus the open hold
    assert st.agents["ye"].occupancy == pytest.approx(0.5)
    r.go_on_break("ye", now=84.0)
    d.tick(84.0)
    st = m.statistics()
    assert st.agents_by_state["break"] == 1
    assert st.offer_outcomes["taken_back"] == 1
    assert sum(st.agents_by_state.values()) == 1


def test_outcomes_windows_and_histogram() -> None:
    d = Driven(bucket_s=10.0, windows=(300.0, 900.0))
    r, m = d.router, d.monitor
    spec = AgentSpec(id="ye", capacity={"voice": 1})
    r.login(spec, now=0.0)
    r.submit(Inquiry(id="a", queue="refund"), now=0.0)
    r.submit(Inquiry(id="b", queue="refund", patience_s=30), now=0.0)
    d.tick(0.0)  # a offered at once
    r.accept("a", now=5.0)
    d.tick(5.0)
    d.tick(30.0)  # b abandons
    r.complete("a", now=40.0)
    d.tick(40.0)
    st = m.statistics(now=40.0)
    w5 = st.queues["refund"].windows["5m"]
    assert (w5.offered, w5.answered, w5.abandoned, w5.answered_in_target) == (2, 1, 1, 1)
    assert w5.service_level == 0.5
    assert w5.abandon_rate == 0.5
    assert w5.asa_s == 5.0
    assert w5.aht_s == 35.0
    assert st.queues["refund"].outcomes == {
        "answered": 1,
        "abandoned": 1,
        "rejected": 0,
        "deflected": 0,
        "expired": 0,
    }
    hist = st.queues["refund"].wait_histogram
    assert len(hist) == len(WAIT_BUCKETS) + 1
    assert hist[WAIT_BUCKETS.index(5)] == 1 and hist[WAIT_BUCKETS.index(2)] == 0
    assert hist[-1] == 1
    # ten minutes later the 5-minute window is empty, the 15-minute one is not
    st = m.statistics(now=640.0)
    assert st.queues["refund"].windows["5m"].offered == 0
    assert st.queues["refund"].windows["5m"].service_level is None
    assert st.queues["refund"].windows["15m"].offered == 2
    assert st.queues["refund"].windows["since_reset"].offered == 2
    m.reset(640.0)
    st = m.statistics(now=640.0)
    assert st.queues["refund"].windows["since_reset"].offered == 0
    assert st.queues["refund"].offered == 2  # lifetime totals stay monotonic


def test_callback_unreached_is_not_an_answer() -> None:
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
max_attempts = 1
"""
    d = Driven(toml)
    r, m = d.router, d.monitor
    r.login(AgentSpec(id="ye"), now=0.0)
    r.submit(Inquiry(id="busy", queue="refund"), now=0.0)
    d.tick(0.0)
    r.submit(Inquiry(id="cb", queue="refund"), now=1.0)
    events = d.tick(1.0)
    assert any(type(e).__name__ == "CallbackScheduled" for e in events)
    r.complete("busy", now=100.0)
    d.tick(100.0)  # the callback is assigned: the agent calls
    assert m.statistics().queues["refund"].windows["since_reset"].answered == 2
    r.callback_failed("cb", now=101.0)
    d.tick(101.0)  # max_attempts = 1: it ends abandoned
    w = m.statistics().queues["refund"].windows["since_reset"]
    assert (w.answered, w.abandoned, w.offered) == (1, 1, 2)


def test_capacity_shares_match_the_simulators_ledger() -> None:
    assert capacity_shares({"voice": 1, "chat": 20}, None, {}) == {"voice": 0.5, "chat": 0.025}
    assert capacity_shares({"voice": 1, "chat": 5}, 100, {"voice": 100, "chat": 20}) == {
        "voice": 1.0,
        "chat": 0.2,
    }


def test_monitor_rejects_bad_windows() -> None:
    cfg = config(TWO_QUEUES)
    with pytest.raises(ValueError, match=r"^bucket_s: must be a positive number, got nan$"):
        Monitor(cfg, bucket_s=math.nan)
    with pytest.raises(ValueError, match=r"^windows\[0\]: 5 must be a number >= bucket_s \(10\)$"):
        Monitor(cfg, windows=(5.0,))
    with pytest.raises(ValueError, match=r"^interval rows need"):
        Monitor(cfg).queue_intervals()
    # a config that is not one, a start time that is not a finite number: named (they were an
    # AttributeError on config.channels and "cannot convert float NaN to integer")
    with pytest.raises(ValueError, match=r"^config: must be a RouterConfig, got str$"):
        Monitor("x")  # type: ignore[arg-type]
    for now in (math.nan, math.inf, None, True, "0"):
        with pytest.raises(ValueError, match=r"^now: must be a finite number, got "):
            Monitor(cfg, now=now)  # type: ignore[arg-type]


@cache
def observed(name: str, duration_s: float) -> tuple[SimResult, dict[str, Any], Monitor]:
    sc = load_scenario(EXAMPLES / name)
    sim = msgspec.structs.replace(sc.simulation, warmup_s=0.0, duration_s=duration_s)
    sc = msgspec.structs.replace(sc, simulation=sim)
    run = ObservedRun(sc, Monitor(sc, intervals_s=900.0))
    res = run.run()
    return res, build_report(res, timeline=False), run.monitor


@pytest.mark.parametrize(
    ("name", "duration_s"),
    [
        ("spring_festival.toml", 5400.0),
        ("taobao_fliggy_chat.toml", 3600.0),
        ("configs/multi_offer.toml", 3600.0),  # rings: several agents hold one inquiry
        ("configs/preferred_agent.toml", 3600.0),
    ],
)
def test_since_reset_figures_equal_the_simulation_report(name: str, duration_s: float) -> None:
    """Fed a drained run's events, the monitor's per-queue figures are the report's."""
    res, rep, mon = observed(name, duration_s)
    st = mon.statistics()
    assert rep["unresolved"] == 0
    for qname, q in rep["queues"].items():
        w = st.queues[qname].windows["since_reset"]
        assert w.offered == q["offered"], qname
        assert w.answered == q["answered"], qname
        assert w.abandoned == q["abandoned"], qname
        assert w.rejected == q["rejected"], qname
        assert w.deflected == q["deflected"], qname
        for key in ("service_level", "asa_s", "abandon_rate"):
            want = q[key]
            got = getattr(w, key)
            assert (got is None) if want is None else got == pytest.approx(want, rel=1e-9), key
    logged_in = sum(1 for a in res.agents if a.login_at is not None and a.logout_at is None)
    assert sum(st.agents_by_state.values()) == logged_in


@pytest.mark.parametrize(
    ("name", "duration_s"),
    [
        ("spring_festival.toml", 5400.0),
        ("taobao_fliggy_chat.toml", 3600.0),
        ("configs/multi_offer.toml", 3600.0),  # rings: several agents hold one inquiry
        ("configs/preferred_agent.toml", 3600.0),
    ],
)
def test_interval_occupancy_equals_the_simulation_report(name: str, duration_s: float) -> None:
    """Agent interval rows inside the run's window add up to the report's occupancy."""
    _res, rep, mon = observed(name, duration_s)
    busy = staffed = 0.0
    for start, _end, _agent, row in mon.agent_intervals():
        if start < duration_s:
            busy += row.busy_s
            staffed += row.staffed_s
    assert busy / staffed == pytest.approx(rep["occupancy"], rel=1e-9)
    # queue rows add up to the same busy time, split by the queue it was spent on
    workload = sum(c.workload_s for start, _, _, c in mon.queue_intervals() if start < duration_s)
    assert workload == pytest.approx(busy, rel=1e-9)
    offered = sum(c.offered for _, _, _, c in mon.queue_intervals())
    assert offered == rep["arrivals_total"]


def _answer_chat(d: Driven, iid: str, at: float) -> None:
    """``iid`` in the chat queue, offered at ``at``, answered 5 s later and completed."""
    d.router.submit(Inquiry(id=iid, queue="chat"), now=at)
    d.tick(at)
    d.router.accept(iid, now=at + 5)
    d.tick(at + 5)
    d.router.complete(iid, now=at + 6)
    d.tick(at + 6)


def test_a_queue_without_a_known_target_has_no_service_level() -> None:
    # tidy50: a monitor never told a queue's target judged its answers by an invented 20 s
    # (this 5 s answer: service level 1.0 against 20 s). Now: no target, no service level;
    # once it learns the target, the windows that may still hold that answer have none
    # either (to a bucket), nor since_reset before a reset
    d = Driven(bucket_s=10.0, windows=(300.0, 900.0))
    full = d.cfg
    only_refund = msgspec.structs.replace(
        full, queues=[q for q in full.queues if q.name == "refund"]
    )
    m = d.monitor
    m.configure(only_refund)
    d.router.login(AgentSpec(id="ye", capacity={"chat": 1}), now=0.0)
    _answer_chat(d, "c1", 0.0)
    st = m.statistics(now=10.0)
    chat = st.queues["chat"]
    assert chat.answer_target_s is None
    assert chat.channel is None  # user52: not told, one spelling with the target ('' before)
    assert chat.outcomes["answered"] == 1
    assert all(w.answered == 1 for w in chat.windows.values())
    assert all(w.service_level is None for w in chat.windows.values())
    assert all(w.answered_in_target == 0 for w in chat.windows.values())
    assert st.queues["refund"].answer_target_s == 20.0  # a known queue: its own target
    doc = msgspec.json.decode(msgspec.json.encode(st))
    assert doc["queues"]["chat"]["answer_target_s"] is None
    assert doc["queues"]["chat"]["windows"]["5m"]["service_level"] is None
    m.configure(full)  # told at last: 60 s, judged from here
    _answer_chat(d, "c2", 100.0)
    st = m.statistics(now=110.0)
    assert st.queues["chat"].answer_target_s == 60.0
    assert all(w.service_level is None for w in st.queues["chat"].windows.values())
    _answer_chat(d, "c3", 400.0)  # the 5-minute window (and a bucket) holds only c3 now
    w = m.statistics(now=410.0).queues["chat"].windows
    assert (w["5m"].answered, w["5m"].service_level) == (1, 1.0)  # c3 alone, judged
    assert w["15m"].service_level is None and w["since_reset"].service_level is None
    m.reset(410.0)
    _answer_chat(d, "c4", 420.0)
    w = m.statistics(now=430.0).queues["chat"].windows
    assert (w["since_reset"].answered, w["since_reset"].service_level) == (1, 1.0)
    assert w["15m"].service_level is None  # c1 still in it


SCENARIO_TWO_QUEUES = """
[[queues]]
name = "refund"
channel = "voice"
answer_target_s = 20
[[queues]]
name = "chat"
channel = "chat"
answer_target_s = 60
[[agents]]
count = 1
capacity = { voice = 1, chat = 1 }
[[arrivals]]
queue = "refund"
rate_per_s = 0.01
handle_time = { dist = "constant", mean_s = 60 }
"""


def test_an_interval_row_with_an_unjudged_answer_has_no_service_level(tmp_path: Path) -> None:
    # tidy51 (tidy50's note): docs/metrics.md's service level is answered within the
    # queue's target / ended; an answer counted while the monitor knew no target was not
    # judged, yet the interval rows (queues.csv) counted it as out of target: 0.0 here
    from router.sim import decode_scenario
    from router.sim.csv_report import write_csv

    d = Driven(intervals_s=60.0)
    full = d.cfg
    m = d.monitor
    m.configure(
        msgspec.structs.replace(full, queues=[q for q in full.queues if q.name == "refund"])
    )
    d.router.login(AgentSpec(id="ye", capacity={"chat": 1, "voice": 1}), now=0.0)
    _answer_chat(d, "c1", 0.0)  # unjudged: counted in 0-60
    d.router.submit(Inquiry(id="r1", queue="refund"), now=10.0)  # refund, judged: 20 s
    d.tick(10.0)
    d.router.accept("r1", now=12.0)
    d.tick(12.0)
    d.router.complete("r1", now=13.0)
    d.tick(13.0)
    m.configure(full)  # told chat's target: answers from here are judged
    _answer_chat(d, "c2", 100.0)  # in 60-120
    rows = {(s, q): c for s, _, q, c in m.queue_intervals()}
    assert rows[(0.0, "chat")].answered == 1 and rows[(0.0, "chat")].in_target == 0
    (path, _) = write_csv(m, decode_scenario(SCENARIO_TWO_QUEUES), tmp_path)
    with path.open(newline="") as f:
        got = {(r["start_s"], r["queue"]): r for r in csv.DictReader(f)}
    assert got[("0.0", "chat")]["answered"] == "1"
    assert got[("0.0", "chat")]["service_level"] == ""  # unknown, not 0
    assert got[("0.0", "ALL")]["service_level"] == ""  # nor across the queues
    assert got[("0.0", "refund")]["service_level"] == "1"  # a known queue: judged
    assert got[("60.0", "chat")]["service_level"] == "1"  # judged once the target is known
    assert got[("60.0", "ALL")]["service_level"] == "1"
    assert m.unjudged_intervals() == {(0.0, "chat")}


def test_an_agents_load_on_a_queue_of_no_known_channel_is_counted_apart() -> None:
    """user53: an agent's load on a queue whose channel the monitor was not told was keyed
    ``''`` (``AgentFigures.load == {'': 1}``) while ``QueueFigures.channel`` says None.
    ``load`` keys only channels the monitor knows (a JSON map has no None key); the load
    on queues of no known channel is ``load_channel_unknown`` (0 when none)."""
    d = Driven()
    full = d.cfg
    m = d.monitor
    m.configure(
        msgspec.structs.replace(full, queues=[q for q in full.queues if q.name == "refund"])
    )
    d.router.login(AgentSpec(id="ye", capacity={"chat": 2, "voice": 1}), now=0.0)
    d.router.submit(Inquiry(id="c1", queue="chat"), now=0.0)
    d.router.submit(Inquiry(id="v1", queue="refund"), now=0.0)
    d.tick(0.0)
    for iid in ("c1", "v1"):
        if d.router.agent_of(iid) == "ye":
            d.router.accept(iid, now=1.0)
    d.tick(1.0)
    held = {iid for iid in ("c1", "v1") if d.router.inquiry_state(iid) == "assigned"}
    assert held == {"c1", "v1"}
    st = m.statistics(now=2.0)
    ye = st.agents["ye"]
    assert (ye.load, ye.load_channel_unknown) == ({"voice": 1}, 1)  # {'': 1, 'voice': 1} before
    assert st.queues["chat"].channel is None
    doc = msgspec.json.decode(msgspec.json.encode(st))
    assert doc["agents"]["ye"]["load_channel_unknown"] == ye.load_channel_unknown
    for iid in held:
        d.router.complete(iid, now=3.0)
    d.tick(3.0)
    ye = m.statistics(now=4.0).agents["ye"]
    assert (ye.load, ye.load_channel_unknown) == ({}, 0)
