"""Agents who do not answer, in the simulator: a group's own ``no_answer_share``.

A group with ``[[agents]] no_answer_share`` leaves that share of its offers ringing (they
expire after ``offer_timeout_s``), instead of ``[simulation] no_answer_share``; drawn from
its own seeded stream, so a run where no group sets one draws nothing new. Each expectation
is checked against the events the core emitted: which agents' offers rang out, and the
agents the core set away for it (``max_no_answer``).
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import msgspec
import pytest

from router.cli.check import check_main
from router.errors import ConfigError
from router.sim import Scenario, build_report, decode_scenario, simulate
from router.sim.engine import OPEN, SimResult

SCENARIO = """
[simulation]
duration_s = 7200
warmup_s = 600
seed = 52
accept_delay_s = 3
{simulation}

[routing]
mode = "offer"
offer_timeout_s = 15
{routing}

[[queues]]
name = "q"
requires = {{ s = 1 }}
answer_target_s = 30

[[agents]]
name = "steady"
count = 6
skills = {{ s = 2 }}
{steady}

[[agents]]
name = "drifting"
count = 4
skills = {{ s = 2 }}
{drifting}

[[arrivals]]
queue = "q"
rate_per_s = 0.03
handle_time = {{ dist = "exponential", mean_s = 180 }}
patience = {{ dist = "exponential", mean_s = 600 }}
"""


def scenario(
    simulation: str = "",
    routing: str = "max_no_answer = 100",
    steady: str = "",
    drifting: str = "",
) -> Scenario:
    return decode_scenario(
        SCENARIO.format(simulation=simulation, routing=routing, steady=steady, drifting=drifting)
    )


def run(sc: Scenario) -> tuple[SimResult, dict[str, Any], list[Any]]:
    events: list[Any] = []

    def keep(e: Any) -> bool:
        events.append(e)
        return True

    res = simulate(sc, on_event=keep)
    return res, build_report(res), events


def adds_up(res: SimResult, rep: dict[str, Any]) -> None:
    """Every inquiry of the window one outcome (or counted unresolved), nothing refused."""
    outcomes = rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    assert rep["offered"] == outcomes + rep["unresolved"]
    left = [r for r in res.inquiries if r.outcome == OPEN and r.arrival >= res.warmup_s]
    assert rep["unresolved"] == len(left)
    assert rep["anomalies"] == {} and rep["cap_violations"] == 0


def rung_out(events: list[Any]) -> tuple[Counter[str], Counter[str]]:
    """Per group: offers made, offers that expired."""
    offered: Counter[str] = Counter()
    expired: Counter[str] = Counter()
    for e in events:
        kind = type(e).__name__
        if kind == "Offered":
            offered[e.agent_id.split("-")[0]] += 1
        elif kind == "OfferExpired":
            expired[e.agent_id.split("-")[0]] += 1
    return offered, expired


def test_a_groups_own_share_rings_out_its_offers_only() -> None:
    res, rep, events = run(scenario(drifting="no_answer_share = 0.3"))
    adds_up(res, rep)
    offered, expired = rung_out(events)
    assert expired["steady"] == 0  # the run-wide share is 0
    assert 0.2 < expired["drifting"] / offered["drifting"] < 0.4
    assert not [e for e in events if type(e).__name__ == "AgentAway"]
    # with max_no_answer = 2 the core sets that group's agents away, and only them
    res2, rep2, events2 = run(
        scenario(routing="max_no_answer = 2", drifting="no_answer_share = 0.3")
    )
    adds_up(res2, rep2)
    away = [e for e in events2 if type(e).__name__ == "AgentAway"]
    assert away and {e.reason for e in away} == {"max_no_answer"}
    assert {e.agent_id.split("-")[0] for e in away} == {"drifting"}


def test_a_groups_own_share_overrides_the_run_wide_one() -> None:
    res, rep, events = run(
        scenario(simulation="no_answer_share = 0.3", steady="no_answer_share = 0.0")
    )
    adds_up(res, rep)
    offered, expired = rung_out(events)
    assert expired["steady"] == 0 and offered["steady"] > 100  # its own 0, not the run's
    assert 0.2 < expired["drifting"] / offered["drifting"] < 0.4  # the run-wide 0.3
    # and a higher own share than the run's
    _, _, events2 = run(
        scenario(simulation="no_answer_share = 0.1", drifting="no_answer_share = 0.6")
    )
    offered2, expired2 = rung_out(events2)
    assert expired2["steady"] / offered2["steady"] < 0.2
    assert expired2["drifting"] / offered2["drifting"] > 0.45


def test_a_zero_own_share_draws_nothing() -> None:
    """Unset or 0 without a run-wide share: no draw, so the run decides as before."""
    _, _, base = run(scenario())
    _, _, zero = run(scenario(steady="no_answer_share = 0.0", drifting="no_answer_share = 0.0"))
    assert zero == base
    # with a run-wide share, a group left unset keeps it and its draws
    _, _, wide = run(scenario(simulation="no_answer_share = 0.2"))
    _, _, same = run(scenario(simulation="no_answer_share = 0.2", steady=""))
    assert same == wide and rung_out(wide)[1]["steady"] > 0


def test_the_own_stream_is_seeded() -> None:
    sc = scenario(drifting="no_answer_share = 0.3")
    _, _, once = run(sc)
    _, _, again = run(sc)
    assert once == again
    _, _, other = run(
        msgspec.structs.replace(sc, simulation=msgspec.structs.replace(sc.simulation, seed=53))
    )
    assert other != once


@pytest.mark.parametrize(
    ("drifting", "routing", "expected"),
    [
        ("no_answer_share = 1.5", "", "$.agents[1].no_answer_share: Expected float <= 1.0"),
        ("no_answer_share = -0.1", "", "$.agents[1].no_answer_share: Expected float >= 0.0"),
        (
            'no_answer_share = "half"',
            "",
            "$.agents[1].no_answer_share: Expected float | null, got str",
        ),
        (
            "no_answer_share = 0.2",
            'mode = "immediate"',
            "$.agents[1].no_answer_share: immediate mode makes no offers to answer "
            '(no_answer_share needs routing.mode = "offer")',
        ),
    ],
)
def test_a_bad_no_answer_setting_is_named(drifting: str, routing: str, expected: str) -> None:
    text = SCENARIO.format(simulation="", routing="", steady="", drifting=drifting)
    if routing:
        text = text.replace('mode = "offer"', routing).replace("offer_timeout_s = 15\n", "")
    with pytest.raises(ConfigError) as info:
        decode_scenario(text)
    assert info.value.problems == [expected]


def test_check_names_the_field(tmp_path: Any) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        SCENARIO.format(simulation="", routing="", steady="", drifting="no_answer_share = 2")
    )
    out = io.StringIO()
    assert check_main([str(path)], out=out) == 2
    assert "$.agents[1].no_answer_share: Expected float <= 1.0" in out.getvalue()
    assert "Traceback" not in out.getvalue()
