"""The simulation engine and its report: the real core in virtual time."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.sim import build_report, decode_scenario, load_scenario, simulate
from router.sim.engine import ANSWERED, SimResult, Simulator
from router.sim.report import SPEED_KEYS, format_summary

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEED_SCENARIOS = [
    "airline_complaints.toml",
    "alipay_hotline.toml",
    "mafengwo_refund_flood.toml",
    "spring_festival.toml",
    "taobao_fliggy_chat.toml",
]

SPEC_KEYS = {
    "offered",
    "answered",
    "abandoned",
    "rejected",
    "deflected",
    "callbacks",
    "p_wait",
    "asa_s",
    "service_level",
    "abandon_rate",
    "occupancy",
    "jain_occupancy",
    "max_concurrency",
    "cap_violations",
    "queues",
    "decisions",
    "wall_s",
    "sim_events_per_s",
}
SPEC_QUEUE_KEYS = {
    "offered",
    "answered",
    "abandoned",
    "rejected",
    "deflected",
    "p_wait",
    "asa_s",
    "service_level",
}


@cache
def run_example(name: str) -> tuple[SimResult, dict[str, Any]]:
    res = simulate(load_scenario(EXAMPLES / name))
    return res, build_report(res)


def scenario(text: str, **sim: Any) -> Any:
    head = "[simulation]\n" + "".join(
        f"{k} = {msgspec.json.encode(v).decode()}\n" for k, v in sim.items()
    )
    return decode_scenario(head + text)


ONE_QUEUE = """
[routing]
mode = "{mode}"
[[queues]]
name = "q"
channel = "{channel}"
answer_target_s = 10
[[agents]]
count = {count}
capacity = {{ {channel} = {cap} }}
{agent_extra}
[[arrivals]]
queue = "q"
rate_per_s = {rate}
handle_time = {{ dist = "{dist}", mean_s = {mean} }}
"""


def one_queue(
    *,
    mode: str = "immediate",
    channel: str = "voice",
    count: int = 1,
    cap: int = 1,
    rate: float = 0.01,
    dist: str = "exponential",
    mean: float = 50.0,
    agent_extra: str = "",
    **sim: Any,
) -> Any:
    return scenario(
        ONE_QUEUE.format(
            mode=mode,
            channel=channel,
            count=count,
            cap=cap,
            rate=rate,
            dist=dist,
            mean=mean,
            agent_extra=agent_extra,
        ),
        **sim,
    )


# ---------------------------------------------------------------- the seed scenarios


@pytest.mark.parametrize("name", SEED_SCENARIOS)
def test_seed_scenario_runs_and_conserves_inquiries(name: str) -> None:
    res, rep = run_example(name)
    assert rep.keys() >= SPEC_KEYS
    assert rep["offered"] > 500
    # drain: every inquiry that arrived in the window has exactly one outcome
    assert rep["unresolved"] == 0
    assert rep["offered"] == (
        rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    )
    outbound = set(res.scenario.backpressure.outbound.queues)
    for qname, q in rep["queues"].items():
        assert q.keys() >= SPEC_QUEUE_KEYS
        if qname not in outbound:
            assert q["offered"] == q["answered"] + q["abandoned"] + q["rejected"] + q["deflected"]
    assert (
        sum(q["offered"] for n, q in rep["queues"].items() if n not in outbound) == (rep["offered"])
    )
    assert rep["cap_violations"] == 0
    assert rep["anomalies"] == {}
    assert 0 < rep["occupancy"] <= 1 and 0 < rep["jain_occupancy"] <= 1
    assert rep["decisions"] >= rep["answered"]
    k = res.scenario.wellbeing.max_consecutive_heavy
    if k is not None:
        assert rep["max_heavy_run"] <= k
    msgspec.json.encode(rep)  # JSON-ready: no NaN objects, no custom types


def test_flagship_shows_the_backpressure_story() -> None:
    _, rep = run_example("spring_festival.toml")
    assert rep["callbacks"] > 1000  # surge mode offered callbacks
    assert rep["surge_mode_s"] > 3600
    assert rep["queues"]["cancellation"]["overflowed"] > 0  # the second pass
    assert rep["wellbeing_breaks"] > 0
    assert rep["core_counters"]["callback_attempts_failed"] > 0  # callback_reach 0.85


def test_chat_desk_reaches_twenty_chats_and_keeps_tenants_apart() -> None:
    res, rep = run_example("taobao_fliggy_chat.toml")
    assert rep["max_concurrency"] == {"chat": 20}
    # crossover agents work 4h-6h only; the Taobao day shift leaves at 4h
    for a in res.agents:
        if a.group == "crossover":
            assert a.login_at == 14400.0
        if a.group == "taobao_day":
            assert a.logout_at is not None and a.logout_at >= 14400.0


def test_refund_flood_deflects_to_self_service() -> None:
    _, rep = run_example("mafengwo_refund_flood.toml")
    assert rep["deflected"] > 100
    assert rep["queues"]["presale"]["deflected"] == 0  # exempt


def test_summary_table_has_a_row_per_queue() -> None:
    _, rep = run_example("alipay_hotline.toml")
    text = format_summary(rep, "title")
    lines = text.splitlines()
    assert lines[0] == "title"
    assert lines[1].split()[:4] == ["queue", "offered", "answered", "abandon"]
    for q in rep["queues"]:
        assert any(line.startswith(q + " ") for line in lines)
    assert any(line.startswith("TOTAL ") for line in lines)


# ---------------------------------------------------------------- determinism


def _stable(rep: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rep.items() if k not in SPEED_KEYS}


def test_same_file_and_seed_give_the_same_report() -> None:
    sc = load_scenario(EXAMPLES / "spring_festival.toml")
    a = build_report(simulate(sc, duration_s=8000))
    b = build_report(simulate(sc, duration_s=8000))
    assert msgspec.json.encode(_stable(a)) == msgspec.json.encode(_stable(b))
    c = build_report(simulate(sc, duration_s=8000, seed=sc.simulation.seed + 1))
    assert _stable(c) != _stable(a)


# ---------------------------------------------------------------- engine behaviour


def test_load_multiplies_every_rate() -> None:
    sc = one_queue(count=5, rate=0.05, duration_s=20000)
    n1 = build_report(simulate(sc))["offered"]
    n3 = build_report(simulate(sc, load=3.0))["offered"]
    assert abs(n1 - 1000) < 4 * 1000**0.5
    assert abs(n3 - 3000) < 4 * 3000**0.5


def test_accept_delay_adds_to_every_wait() -> None:
    sc = one_queue(mode="offer", count=3, rate=0.01, duration_s=20000, accept_delay_s=4.0)
    res = simulate(sc)
    waits = [r.answered_at - r.arrival for r in res.inquiries if r.outcome == ANSWERED]
    assert min(waits) == pytest.approx(4.0)
    assert all(w >= 4.0 - 1e-9 for w in waits)
    rep = build_report(res)
    assert rep["decisions"] == rep["core_counters"]["offers"]


def test_shift_start_and_end_come_from_the_core() -> None:
    sc = one_queue(
        count=2,
        rate=0.05,
        dist="constant",
        mean=30.0,
        agent_extra="shift_start_s = 1000\nshift_end_s = 2000",
        duration_s=3000,
        drain=False,
    )
    res = simulate(sc)
    for a in res.agents:
        assert a.login_at == 1000.0
        assert a.logout_at is not None and 2000.0 <= a.logout_at < 2030.0
    answered = [r for r in res.inquiries if r.outcome == ANSWERED]
    assert min(r.answered_at for r in answered) == 1000.0  # the early ones waited for 1000
    assert all(r.answered_at <= 2000.0 for r in answered)  # no new work after the shift


def test_occupancy_weights_chat_slots() -> None:
    # one chat agent with 10 slots, offered load 1 Erlang of chats: occupancy ~ 1/10
    sc = one_queue(channel="chat", cap=10, rate=0.02, mean=50.0, duration_s=200000)
    rep = build_report(simulate(sc))
    # ~4,000 chats; busy slot-time has relative sd sqrt(2 / 4000) ~ 2.2%
    assert rep["occupancy"] == pytest.approx(0.1, abs=4 * 0.1 * (2 / 4000) ** 0.5)
    assert rep["max_concurrency"]["chat"] <= 10
    assert rep["p_wait"] < 0.001


def test_mm1_occupancy_and_fairness() -> None:
    sc = one_queue(count=2, rate=0.01, mean=100.0, duration_s=1_000_000, warmup_s=1000)
    rep = build_report(simulate(sc))
    # two agents, 1 Erlang offered: occupancy 0.5. The busy time is a compound Poisson sum
    # of exponential handle times: relative sd sqrt(2 / n) with n ~ 10,000 arrivals.
    assert rep["occupancy"] == pytest.approx(0.5, abs=4 * 0.5 * (2 / 10_000) ** 0.5)
    assert rep["jain_occupancy"] > 0.99  # longest-idle-first spreads the work


def test_callbacks_that_miss_are_retried_by_the_core() -> None:
    text = """
[routing]
mode = "offer"
[backpressure]
policy = "callback"
[backpressure.callback]
min_wait_s = 30
retry_s = 60
max_attempts = 2
[[queues]]
name = "q"
[[agents]]
count = 2
[[arrivals]]
queue = "q"
rate_per_s = 0.03
handle_time = { dist = "exponential", mean_s = 60 }
patience = { dist = "exponential", mean_s = 120 }
"""
    res = simulate(scenario(text, duration_s=20000, callback_reach=0.5, accept_delay_s=1.0))
    rep = build_report(res)
    assert rep["callbacks"] > 50
    assert rep["core_counters"]["callback_attempts_failed"] > 20
    assert rep["unresolved"] == 0 and rep["cap_violations"] == 0
    assert rep["offered"] == rep["answered"] + rep["abandoned"]


def test_on_event_can_stop_the_run() -> None:
    seen: list[Any] = []

    def hook(ev: Any) -> bool:
        seen.append(ev)
        return len(seen) < 10

    res = simulate(one_queue(duration_s=100000), on_event=hook)
    assert len(seen) == 10
    assert res.end_time < 100000


def test_the_ledger_counts_cap_violations() -> None:
    sim = Simulator(one_queue(duration_s=100))
    sim._schedule_logins()
    agent = sim.result.agents[0]
    recs = [sim._recs.setdefault(str(i), _rec()) for i in range(2)]
    sim._acquire(recs[0], agent, "q", 0.0)
    assert sim.result.cap_violations == 0
    sim._acquire(recs[1], agent, "q", 0.0)
    assert sim.result.cap_violations == 1
    assert agent.maxload == {"voice": 2}


def _rec() -> Any:
    from router.sim.engine import InquiryRec

    return InquiryRec(0.0, 0, "q", 1.0, False)


def test_no_drain_stops_at_duration_and_reports_unresolved() -> None:
    sc = one_queue(count=1, rate=0.05, mean=100.0, duration_s=5000, drain=False)
    res = simulate(sc)
    rep = build_report(res)
    assert res.end_time < 5000
    assert rep["unresolved"] > 0  # overloaded: some are still waiting at the end
    assert rep["offered"] == (
        rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"] + rep["unresolved"]
    )


def test_empty_ratios_are_null_not_nan() -> None:
    sc = one_queue(rate=0.0, duration_s=100)
    rep = build_report(simulate(sc))
    assert rep["offered"] == 0
    assert rep["p_wait"] is None and rep["asa_s"] is None and rep["service_level"] is None
    assert not any(isinstance(v, float) and math.isnan(v) for v in rep.values())
