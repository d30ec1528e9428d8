"""Agents who do not answer, in the simulator.

A group with ``[[agents]] no_answer_share`` leaves that share of its offers ringing (they
expire after ``offer_timeout_s``), instead of ``[simulation] no_answer_share``; drawn from
its own seeded stream, so a run where no group sets one draws nothing new. An agent the
core sets away for offers rung out (``max_no_answer``) is back its group's
``no_answer_away_s`` later; one set away for a presence timeout when its console comes
back (``console_back_s``); a return that falls while the console is silent waits for it,
and any other change of the agent's state first drops it. Each expectation is checked
against the events the core emitted: which agents' offers rang out, the agents it set
away and when they were ready again.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import msgspec
import pytest

from router.cli.check import check_main
from router.errors import ConfigError
from router.sim import Scenario, build_report, decode_scenario, load_scenario, simulate
from router.sim.engine import OPEN, SimResult
from router.sim.report import format_summary
from tests.sim_runs import EXAMPLES

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
        (
            "no_answer_away_s = -1",
            "",
            "$.agents[1].no_answer_away_s: Expected float >= 0.0",
        ),
        (
            "no_answer_away_s = 60",
            'mode = "immediate"',
            "$.agents[1].no_answer_away_s: immediate mode makes no offers to ring out "
            '(no_answer_away_s needs routing.mode = "offer")',
        ),
        (
            "console_back_s = 100",
            "",
            "$.agents[1].console_back_s: no console_drop_s (their consoles never go silent, "
            "so they never come back)",
        ),
        (
            "console_drop_s = 200\nconsole_back_s = 100",
            "",
            "$.agents[1].console_back_s: 100 is not after console_drop_s = 200",
        ),
        (
            "console_drop_s = 200\nconsole_back_s = 200",
            "",
            "$.agents[1].console_back_s: 200 is not after console_drop_s = 200",
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


# -- agents the core set away for what their consoles did, and their return


def aways(events: list[Any], reason: str) -> list[tuple[str, float]]:
    return [
        (e.agent_id, e.at) for e in events if type(e).__name__ == "AgentAway" and e.reason == reason
    ]


def readies(events: list[Any]) -> list[tuple[str, float]]:
    return [(e.agent_id, e.at) for e in events if type(e).__name__ == "AgentReady"]


def test_no_answer_away_s_brings_an_agent_back() -> None:
    drifting = "no_answer_share = 0.3\nno_answer_away_s = 120"
    res, rep, events = run(scenario(routing="max_no_answer = 2", drifting=drifting))
    adds_up(res, rep)
    away = aways(events, "max_no_answer")
    assert rep["away_for_no_answers"] == len(away) > 5
    # each sets itself ready 120 s later (the run may end first), and nobody else does
    ready = readies(events)
    back = [(aid, at) for aid, at in away if (aid, at + 120.0) in set(ready)]
    assert rep["ready_after_no_answers"] == len(back) == len(ready)
    assert len(back) >= len(away) - 1
    assert "no answers: " in format_summary(rep)
    # without it they stay away
    res0, rep0, events0 = run(
        scenario(routing="max_no_answer = 2", drifting="no_answer_share = 0.3")
    )
    adds_up(res0, rep0)
    assert rep0["away_for_no_answers"] > 0 and rep0["ready_after_no_answers"] == 0
    assert readies(events0) == []


def test_an_agent_away_for_another_reason_meanwhile_stays_away() -> None:
    """Set away for offers rung out shortly before its shift ends, the agent goes off shift;
    its ``no_answer_away_s`` return is dropped (the core would refuse ``set_ready`` off
    shift, an anomaly) and the next shift brings it back."""
    drifting = (
        "no_answer_share = 0.4\nno_answer_away_s = 1200\n"
        "shifts = [{ start_s = 0, end_s = 3600 }, { start_s = 5400, end_s = 7200 }]"
    )
    res, rep, events = run(scenario(routing="max_no_answer = 1", drifting=drifting))
    adds_up(res, rep)  # no set_ready refused
    away_now: set[str] = set()
    caught = 0  # agents off shift while away for offers rung out
    for e in events:
        kind = type(e).__name__
        if kind == "AgentAway" and e.reason == "max_no_answer":
            away_now.add(e.agent_id)
        elif kind == "AgentAway" and e.reason == "off_shift" and e.agent_id in away_now:
            caught += 1
            away_now.discard(e.agent_id)
        elif kind == "AgentReady":
            away_now.discard(e.agent_id)
    assert caught > 0
    assert 0 < rep["ready_after_no_answers"] < rep["away_for_no_answers"]
    for _, at in readies(events):
        assert at < 3600.0 or at >= 5400.0  # never between the two shifts


PRESENCE = "max_no_answer = 100\npresence_timeout_s = 45"
SILENT = "console_drop_s = 2400"


def test_console_back_s_brings_an_agent_away_for_a_presence_timeout_back() -> None:
    res, rep, events = run(scenario(routing=PRESENCE, drifting=f"{SILENT}\nconsole_back_s = 4200"))
    adds_up(res, rep)
    away = aways(events, "presence_timeout")
    assert {aid.split("-")[0] for aid, _ in away} == {"drifting"} and len(away) == 4
    assert all(2400.0 < at <= 2400.0 + 45.0 + 15.0 for _, at in away)
    assert rep["away_for_presence"] == rep["presence"]["timeouts"] == 4
    # each sets itself ready when its console comes back, and answers again
    assert sorted(readies(events)) == sorted((aid, 4200.0) for aid, _ in away)
    assert rep["ready_after_presence"] == 4
    answered_after = {
        e.agent_id
        for e in events
        if type(e).__name__ == "Assigned" and e.at > 4200.0 and e.agent_id.startswith("drift")
    }
    assert len(answered_after) == 4
    # its heartbeats start again: no timeout after the return (the run goes on to 7200 s)
    assert not [at for _, at in away if at > 4200.0]
    assert "ready again with their console" in format_summary(rep)
    # without console_back_s they stay away for good
    res0, rep0, events0 = run(scenario(routing=PRESENCE, drifting=SILENT))
    adds_up(res0, rep0)
    assert len(aways(events0, "presence_timeout")) == 4 and readies(events0) == []
    assert rep0["ready_after_presence"] == 0
    assert not [
        e
        for e in events0
        if type(e).__name__ == "Assigned" and e.at > 2460.0 and e.agent_id.startswith("drift")
    ]


def test_a_return_that_falls_while_the_console_is_silent_waits_for_it() -> None:
    """Offers to a silent console ring out and the core sets the agent away
    (``max_no_answer``); its ``no_answer_away_s`` return falls while the console is still
    silent, so it comes with the console (``console_back_s``), and never without."""
    drifting = f"{SILENT}\nno_answer_away_s = 60"
    res, rep, events = run(
        scenario(routing="max_no_answer = 2", drifting=f"{drifting}\nconsole_back_s = 4200")
    )
    adds_up(res, rep)
    away = aways(events, "max_no_answer")
    assert {aid.split("-")[0] for aid, _ in away} == {"drifting"}
    assert len(away) == 4 and all(2400.0 < at < 4200.0 - 60.0 for _, at in away)
    assert sorted(readies(events)) == sorted((aid, 4200.0) for aid, _ in away)
    assert rep["ready_after_no_answers"] == 4 and rep["away_for_presence"] == 0
    res0, rep0, events0 = run(scenario(routing="max_no_answer = 2", drifting=drifting))
    adds_up(res0, rep0)
    assert len(aways(events0, "max_no_answer")) == 4 and readies(events0) == []


NO_ANSWERS = EXAMPLES / "configs" / "no_answers.toml"


def test_the_example_sets_agents_away_and_brings_them_back() -> None:
    sc = load_scenario(NO_ANSWERS)
    res, rep, events = run(sc)
    adds_up(res, rep)
    assert rep["unresolved"] == 0  # drained, and everyone has patience
    offered, expired = rung_out(events)
    # the drifting team's own share against the run-wide one
    assert expired["drifting"] / offered["drifting"] > 0.15
    assert expired["steady"] / offered["steady"] < 0.05
    no_answer = aways(events, "max_no_answer")
    presence = aways(events, "presence_timeout")
    assert rep["away_for_no_answers"] == len(no_answer) > 0
    assert rep["away_for_presence"] == len(presence) == rep["presence"]["timeouts"] > 0
    ready = set(readies(events))
    back = [(aid, at) for aid, at in no_answer if (aid, at + 180.0) in ready]
    assert rep["ready_after_no_answers"] == len(back) == len(no_answer)
    assert {(aid, 5400.0) for aid, _ in presence} <= ready  # with their consoles
    assert rep["ready_after_presence"] == len(presence)
    assert len(ready) == len(no_answer) + len(presence)
    summary = format_summary(rep)
    assert "no answers: " in summary and "ready again with their console" in summary
    out = io.StringIO()
    assert check_main([str(NO_ANSWERS)], out=out) == 0
    # without the returns the same agents stay away, and callers pay for it
    groups = [
        msgspec.structs.replace(g, no_answer_away_s=None, console_back_s=None) for g in sc.agents
    ]
    res0, rep0, events0 = run(msgspec.structs.replace(sc, agents=groups))
    adds_up(res0, rep0)
    assert readies(events0) == [] and rep0["ready_after_no_answers"] == 0
    assert rep0["ready_after_presence"] == 0 and rep0["answered"] < rep["answered"]


def test_a_deferred_return_dropped_by_a_shift_end_is_not_taken_by_a_later_away() -> None:
    """Away for offers rung out while silent, its return deferred to the console; the shift
    ends first (the return is dropped), the next shift starts still silent and the agent is
    set away again: the console's return does not bring it back for the old away, its own
    return ``no_answer_away_s`` after the new away does."""
    drifting = (
        f"{SILENT}\nconsole_back_s = 4200\nno_answer_away_s = 1000\n"
        "shifts = [{ start_s = 0, end_s = 3800 }, { start_s = 3900, end_s = 7200 }]"
    )
    res, rep, events = run(scenario(routing="max_no_answer = 2", drifting=drifting))
    adds_up(res, rep)
    away = aways(events, "max_no_answer")
    first = [(aid, at) for aid, at in away if at < 3800.0 - 1000.0]  # deferred, then dropped
    second = [(aid, at) for aid, at in away if 3900.0 <= at < 4200.0]  # back after the console
    assert len(first) == len(second) == 4 and len(away) == 8
    ready = [(aid, at) for aid, at in readies(events) if at != 3900.0]  # (the shift's start)
    assert sorted(ready) == sorted((aid, at + 1000.0) for aid, at in second)
    assert rep["ready_after_no_answers"] == 4
