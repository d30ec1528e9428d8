"""The scenarios of examples/configs/ for issue 16's second half, read back from the report.

Each expectation is checked against something the core did not compute: the
hours against windows written out by hand here, hand-backs against the
engine's own count of answers, interruptions against the simulator's own
reading of the ``interrupts`` rule, presence against the same run without it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from router.sim import build_report, load_scenario, simulate
from router.sim.engine import ABANDONED, ANSWERED, REJECTED, SimResult
from router.sim.scenario import Scenario
from tests.sim_runs import EXAMPLES

H = 3600.0


@cache
def run(name: str) -> tuple[SimResult, dict[str, Any]]:
    res = simulate(load_scenario(EXAMPLES / "configs" / name))
    return res, build_report(res)


def run_changed(name: str, **routing: Any) -> dict[str, Any]:
    sc: Scenario = load_scenario(EXAMPLES / "configs" / name)
    return build_report(simulate(msgspec.structs.replace(sc, **routing)))


def adds_up(rep: dict[str, Any]) -> None:
    assert rep["unresolved"] == 0
    assert rep["offered"] == rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    assert rep["anomalies"] == {}
    assert rep["cap_violations"] == 0


# ------------------------------------------------------------------ hours


def _open(queue: str, t: float) -> bool:
    """hours.toml's hours, written out: t = 0 is Monday 06:00, the run lasts 48 h."""
    h = (t / H + 6.0) % 24.0  # hour of the day
    if queue == "sales":  # mon-fri 08:00-20:00 (the run is Monday to Wednesday)
        return 8.0 <= h < 20.0
    return 7.0 <= h < 23.0  # support: every day 07:00-23:00


def test_hours_closed_arrivals_get_the_closed_outcome_and_none_is_served_while_closed() -> None:
    res, rep = run("hours.toml")
    adds_up(rep)
    arrived_closed = {
        q: [r for r in res.inquiries if r.queue == q and not _open(q, r.arrival)]
        for q in ("sales", "support")
    }
    support = rep["queues"]["support"]
    # support rejects whoever calls while closed, and nobody else
    assert all(r.outcome == REJECTED for r in arrived_closed["support"])
    assert support["closed"] == support["rejected"] == len(arrived_closed["support"]) > 100
    # sales calls them back: every one answered, and only when open
    sales = rep["queues"]["sales"]
    assert all(r.outcome == ANSWERED for r in arrived_closed["sales"])
    assert sales["closed"] >= len(arrived_closed["sales"]) > 100  # + those waiting at 20:00
    assert sales["callbacks"] == sales["closed"]
    answered = [r for r in res.inquiries if r.queue == "sales" and r.outcome == ANSWERED]
    assert all(_open("sales", r.answered_at) for r in answered)
    assert sales["answered_while_closed"] == 0 and rep["answered_while_closed"] == 0
    # arrivals while open are served as usual (support closes at 23:00 with a short line)
    served_open = [r for r in res.inquiries if r.queue == "support" and _open("support", r.arrival)]
    assert sum(r.outcome in (ANSWERED, ABANDONED) for r in served_open) == len(served_open)
    assert rep["closed"] == sales["closed"] + support["closed"]


# ------------------------------------------------------------------ hand-backs


def test_every_handed_back_inquiry_is_answered_once_more_and_ends_once() -> None:
    res, rep = run("handback.toml")
    adds_up(rep)
    assert rep["handed_back"] > 30
    assert rep["answered_after_handback"] == rep["handed_back"]
    assert rep["handed_back_inquiries"] <= rep["handed_back"]
    # an inquiry counts for the agent of its last answer, once: the agents' handled add up
    answered = [r for r in res.inquiries if r.outcome == ANSWERED]
    assert sum(a.handled for a in res.agents) == len(answered)
    by_id = {a.id: a.group for a in res.agents}
    assert all(by_id[r.agent_id] == r.by for r in answered)
    # the core counted each hand-back (those of warm-up arrivals too)
    assert res.counters["handed_back"] >= rep["handed_back"]


# ------------------------------------------------------------------ interruptions


def test_calls_interrupt_chats_and_are_answered_sooner_than_without() -> None:
    _, rep = run("interrupts.toml")
    adds_up(rep)
    assert rep["interruptions"] > 50
    sc: Scenario = load_scenario(EXAMPLES / "configs" / "interrupts.toml")
    channels = dict(sc.channels)
    channels["voice"] = msgspec.structs.replace(channels["voice"], interrupts={})
    without = build_report(simulate(msgspec.structs.replace(sc, channels=channels)))
    assert without["interruptions"] == 0 and without["cap_violations"] == 0
    calls, calls_without = rep["queues"]["calls"], without["queues"]["calls"]
    assert calls["asa_s"] < calls_without["asa_s"] / 2
    assert calls["abandoned"] < calls_without["abandoned"]


# ------------------------------------------------------------------ presence


def test_silent_consoles_are_timed_out_instead_of_ringing_out_offers() -> None:
    _, rep = run("presence.toml")
    adds_up(rep)
    presence = rep["presence"]
    assert presence["timeouts"] == 4  # the four flaky consoles, and nobody else
    assert presence["expired_after_drop"] == 0
    assert presence["offers_after_drop"] <= 4  # at most the one each held at the drop
    sc: Scenario = load_scenario(EXAMPLES / "configs" / "presence.toml")
    off = msgspec.structs.replace(sc.routing, presence_timeout_s=None)
    without = build_report(simulate(msgspec.structs.replace(sc, routing=off)))
    assert without["presence"]["timeouts"] == 0
    # without the timeout each dead console rings out max_no_answer offers first
    assert without["presence"]["expired_after_drop"] >= 4 * sc.routing.max_no_answer
    assert without["asa_s"] > rep["asa_s"]
