"""Declines in the simulator (``[[agents]] decline_share``, ``decline_away_s``).

A group with ``decline_share`` declines that share of the offers it answers
(``Router.decline``, drawn from the run's own seeded stream); with ``[routing]
max_declines`` the core sets an agent away after that many declines in a row, and the
group's ``decline_away_s`` later it sets itself ready. Each expectation is checked against
what the core did not compute: the outcomes against the engine's own records, the agents
set away against the rule replayed here from the events, the declines against the core's
counters; ``examples/configs/declines.toml`` is the scenario.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from typing import Any

import msgspec
import pytest

from router.cli.check import check_main
from router.config.schema import Shift
from router.errors import ConfigError
from router.sim import Scenario, build_report, decode_scenario, load_scenario, simulate
from router.sim.engine import OPEN, SimResult
from router.sim.report import format_summary
from tests.sim_runs import EXAMPLES

DECLINES = EXAMPLES / "configs" / "declines.toml"


def run(sc: Scenario, load: float = 1.0) -> tuple[SimResult, dict[str, Any], list[Any]]:
    events: list[Any] = []

    def keep(e: Any) -> bool:
        events.append(e)
        return True

    res = simulate(sc, load=load, on_event=keep)
    return res, build_report(res), events


def adds_up(res: SimResult, rep: dict[str, Any]) -> None:
    """Every inquiry of the window one outcome (or counted unresolved), nothing refused."""
    outcomes = rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    assert rep["offered"] == outcomes + rep["unresolved"]
    left = [r for r in res.inquiries if r.outcome == OPEN and r.arrival >= res.warmup_s]
    assert rep["unresolved"] == len(left)
    assert rep["anomalies"] == {} and rep["cap_violations"] == 0


def with_routing(sc: Scenario, **routing: Any) -> Scenario:
    return msgspec.structs.replace(sc, routing=msgspec.structs.replace(sc.routing, **routing))


def test_every_inquiry_ends_once_with_declines_on() -> None:
    res, rep, events = run(load_scenario(DECLINES))
    adds_up(res, rep)
    assert rep["unresolved"] == 0  # drained, and everyone has patience
    assert rep["declined"] > 100 and rep["declined_inquiries"] < rep["declined"]
    # the engine's declines are the core's, one for one (warm-up arrivals too)
    declined = [e for e in events if type(e).__name__ == "OfferDeclined"]
    assert sum(res.declines.values()) == len(declined) == res.counters["declined"]
    # only the choosy team declines
    assert {e.agent_id.split("-")[0] for e in declined} == {"choosy"}
    # each inquiry assigned once: declined ones were answered by someone else or later
    assigned = Counter(e.inquiry_id for e in events if type(e).__name__ == "Assigned")
    assert set(assigned.values()) == {1}
    assert "declines: " in format_summary(rep)


def _runs_replayed(events: list[Any], most: int) -> list[tuple[str, float]]:
    """The agents ``max_declines = most`` sets away, from the events alone: a run of
    declines counts each ``OfferDeclined``, an ``Assigned`` (an accept) or ``AgentReady``
    (``set_ready``) ends it; ``OfferExpired`` neither counts nor ends it."""
    run_of: dict[str, int] = defaultdict(int)
    out: list[tuple[str, float]] = []
    for e in events:
        kind = type(e).__name__
        if kind == "OfferDeclined":
            run_of[e.agent_id] += 1
            if run_of[e.agent_id] == most:
                out.append((e.agent_id, e.at))
        elif kind in ("Assigned", "AgentReady"):
            run_of[e.agent_id] = 0
    return out


def test_max_declines_sets_agents_away_in_the_sim_as_in_the_core() -> None:
    sc = load_scenario(DECLINES)
    res, rep, events = run(sc)
    adds_up(res, rep)
    away = [(e.agent_id, e.at) for e in events if type(e).__name__ == "AgentAway"]
    assert away == _runs_replayed(events, 3)
    assert rep["away_for_declines"] == len(away) > 5
    # each sets itself ready 300 s later (decline_away_s), unless the run ended first
    ready = {(e.agent_id, e.at) for e in events if type(e).__name__ == "AgentReady"}
    back = [(aid, at) for aid, at in away if (aid, at + 300.0) in ready]
    assert rep["ready_after_declines"] == len(back)
    assert len(back) >= len(away) - 1
    # without the limit the same declines set nobody away
    _, off, off_events = run(with_routing(sc, max_declines=None))
    assert off["away_for_declines"] == 0 and off["declined"] > 100
    assert not [e for e in off_events if type(e).__name__ == "AgentAway"]
    # with max_declines = 1 (the products' rule) every decline does
    res1, one, events1 = run(with_routing(sc, max_declines=1))
    adds_up(res1, one)
    away1 = [(e.agent_id, e.at) for e in events1 if type(e).__name__ == "AgentAway"]
    assert away1 == _runs_replayed(events1, 1) and len(away1) == res1.counters["declined"]


def test_an_agent_away_for_its_declines_stays_away_without_decline_away_s() -> None:
    sc = load_scenario(DECLINES)
    groups = [msgspec.structs.replace(g, decline_away_s=None) for g in sc.agents]
    res, rep, events = run(msgspec.structs.replace(sc, agents=groups))
    adds_up(res, rep)
    assert rep["away_for_declines"] > 0 and rep["ready_after_declines"] == 0
    assert not [e for e in events if type(e).__name__ == "AgentReady"]


def test_an_agent_whose_shift_ends_while_away_for_declines_is_not_brought_back_off_shift() -> None:
    """Away for its declines shortly before its shift ends, the agent goes off shift; its
    ``decline_away_s`` return is dropped (the core would refuse ``set_ready`` off shift, an
    anomaly) and the next shift brings it back."""
    sc = load_scenario(DECLINES)
    shifts = [Shift(start_s=0.0, end_s=3600.0), Shift(start_s=5400.0, end_s=14400.0)]
    groups = [
        msgspec.structs.replace(g, decline_away_s=600.0, shifts=shifts) if g.name == "choosy" else g
        for g in sc.agents
    ]
    sc = with_routing(msgspec.structs.replace(sc, agents=groups), max_declines=1)
    res, rep, events = run(sc)
    adds_up(res, rep)  # no set_ready refused
    away_now: set[str] = set()
    caught = 0  # agents off shift while away for their declines
    for e in events:
        kind = type(e).__name__
        if kind == "AgentAway" and e.reason == "max_declines":
            away_now.add(e.agent_id)
        elif kind == "AgentAway" and e.reason == "off_shift" and e.agent_id in away_now:
            caught += 1
            away_now.discard(e.agent_id)
        elif kind == "AgentReady":
            away_now.discard(e.agent_id)
    assert caught > 0
    assert 0 < rep["ready_after_declines"] < rep["away_for_declines"]
    for e in events:
        if type(e).__name__ == "AgentReady" and e.agent_id.startswith("choosy"):
            assert e.at < 3600.0 or e.at >= 5400.0  # never between the two shifts


def test_forever_leaves_an_inquiry_every_agent_declined_counted_unresolved() -> None:
    """decline50's 2 of 600 in the simulator: under ``"forever"``, with no patience, an
    inquiry all six choosy agents declined waits for good; the drain ends (nothing can
    happen any more) and the report counts it unresolved, never twice, never lost."""
    sc = load_scenario(DECLINES)
    arrivals = [msgspec.structs.replace(a, patience=None) for a in sc.arrivals]
    choosy = [g for g in sc.agents if g.name == "choosy"]
    sc = with_routing(
        msgspec.structs.replace(sc, agents=choosy, arrivals=arrivals),
        decline_memory="forever",
        max_declines=None,
    )
    res, rep, events = run(sc, load=0.4)
    adds_up(res, rep)
    assert rep["unresolved"] > 0
    refused: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if type(e).__name__ in ("OfferDeclined", "OfferExpired"):
            refused[e.inquiry_id].add(e.agent_id)
    # the engine names the n-th arrival "n"
    left = [str(n) for n, r in enumerate(res.inquiries, 1) if r.outcome == OPEN]
    assert left and all(len(refused[iid]) == 6 for iid in left)
    # under the default rounds the same run leaves nobody
    res_r, rep_r, _ = run(with_routing(sc, decline_memory="round"), load=0.4)
    adds_up(res_r, rep_r)
    assert rep_r["unresolved"] == 0 and rep_r["answered"] == rep_r["offered"]


def test_no_decline_share_changes_nothing() -> None:
    sc = load_scenario(EXAMPLES / "configs" / "handback.toml")
    zero = [msgspec.structs.replace(g, decline_share=0.0) for g in sc.agents]
    _, base, base_events = run(sc)
    _, same, same_events = run(msgspec.structs.replace(sc, agents=zero))
    assert same_events == base_events
    assert same["declined"] == base["declined"] == 0 and same["away_for_declines"] == 0


BASE = """
[routing]
{routing}
[[queues]]
name = "q"
requires = {{ s = 1 }}
[[agents]]
count = 2
skills = {{ s = 1 }}
[[agents]]
count = 2
skills = {{ s = 1 }}
{agent}
[[arrivals]]
queue = "q"
rate_per_s = 0.1
handle_time = {{ dist = "exponential", mean_s = 60 }}
"""


@pytest.mark.parametrize(
    ("agent", "routing", "expected"),
    [
        ("decline_share = 1.5", "", "$.agents[1].decline_share: Expected float <= 1.0"),
        ("decline_share = -0.1", "", "$.agents[1].decline_share: Expected float >= 0.0"),
        ('decline_share = "half"', "", "$.agents[1].decline_share: Expected float, got str"),
        (
            "decline_away_s = -5",
            "max_declines = 3",
            "$.agents[1].decline_away_s: Expected float >= 0.0",
        ),
        (
            "decline_share = 0.2",
            'mode = "immediate"',
            "$.agents[1].decline_share: immediate mode makes no offers to decline "
            '(decline_share needs routing.mode = "offer")',
        ),
        (
            "decline_share = 1.0",
            "",
            '$.agents[1].decline_share: 1 declines every offer; with decline_memory = "round" '
            "and no routing.max_declines the same offers would ring for ever (set "
            "max_declines, or a share below 1)",
        ),
        (
            "decline_share = 0.2\ndecline_away_s = 60",
            "",
            "$.agents[1].decline_away_s: does nothing without routing.max_declines (no agent "
            "is set away for its declines)",
        ),
    ],
)
def test_a_bad_decline_setting_is_named(agent: str, routing: str, expected: str) -> None:
    routing = routing if routing.startswith("mode") else f'mode = "offer"\n{routing}'
    with pytest.raises(ConfigError) as info:
        decode_scenario(BASE.format(agent=agent, routing=routing))
    assert info.value.problems == [expected]


def test_every_decline_share_is_accepted_where_it_can_work() -> None:
    for agent, routing in [
        ("decline_share = 1.0", "max_declines = 2"),
        ("decline_share = 1.0", 'decline_memory = "forever"'),
        ("decline_share = 0.0", 'decline_memory = "round"'),
        ("decline_share = 0.3\ndecline_away_s = 0", "max_declines = 1"),
    ]:
        decode_scenario(BASE.format(agent=agent, routing=f'mode = "offer"\n{routing}'))


def test_check_names_the_field(tmp_path: Any) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASE.format(agent="decline_share = 2", routing='mode = "offer"'))
    out = io.StringIO()
    assert check_main([str(path)], out=out) == 2
    assert "$.agents[1].decline_share: Expected float <= 1.0" in out.getvalue()
    assert "Traceback" not in out.getvalue()
    ok = io.StringIO()
    assert check_main([str(DECLINES)], out=ok) == 0
