"""The routing-feature scenarios of ``examples/configs/``: the expected behaviour each one's
header promises, read from the simulation report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from router.sim import Simulator, build_report, load_scenario
from router.sim.scenario import Scenario

CONFIGS = Path(__file__).resolve().parent.parent / "examples" / "configs"


def report(sc: Scenario) -> dict[str, Any]:
    return build_report(Simulator(sc).run(), timeline=False)


def with_queue(sc: Scenario, **changes: Any) -> Scenario:
    queues = [msgspec.structs.replace(sc.queues[0], **changes), *sc.queues[1:]]
    return msgspec.structs.replace(sc, queues=queues)


def sound(rep: dict[str, Any]) -> None:
    """What every run must show: one outcome each, no cap exceeded, nothing odd."""
    assert rep["cap_violations"] == 0
    assert rep["anomalies"] == {}
    assert rep["unresolved"] == 0
    outcomes = rep["answered"] + rep["abandoned"] + rep["rejected"] + rep["deflected"]
    assert outcomes == rep["offered"]


def test_targeting_sends_each_inquiry_only_to_agents_it_matches() -> None:
    rep = report(load_scenario(CONFIGS / "targeting.toml"))
    sound(rep)
    streams = rep["streams"]
    assert set(streams["en_customers"]["answered_by_group"]) == {"bilingual"}
    assert set(streams["zh_customers"]["answered_by_group"]) == {"bilingual", "zh_team"}
    assert set(streams["vip_gold"]["answered_by_group"]) == {"vip_desk"}
    assert all(row["answered"] == row["offered"] for row in streams.values())
    assert rep["queues"]["support"]["service_level"] > 0.95


def test_preferred_agents_serve_most_of_their_returning_customers() -> None:
    sc = load_scenario(CONFIGS / "preferred_agent.toml")
    rep = report(sc)
    sound(rep)
    pref = rep["preferred"]
    assert pref["returning"] > 300
    assert pref["share_served_by_preferred"] >= 0.6
    # a wait of a moment: only customers whose agent happens to be free get it
    brief = report(with_queue(sc, preferred_wait_s=0.001))
    sound(brief)
    assert brief["preferred"]["returning"] == pref["returning"]  # the same customers
    assert brief["preferred"]["share_served_by_preferred"] < 0.4
    # the price: returning customers wait up to the window for their agent
    window = sc.queues[0].preferred_wait_s
    assert rep["asa_s"] > brief["asa_s"]
    assert rep["wait_max_s"] < window + 120


def test_round_robin_keeps_identical_agents_within_one_inquiry() -> None:
    sc = load_scenario(CONFIGS / "round_robin.toml")
    rep = report(sc)
    sound(rep)
    team = rep["handled_by_group"]["team"]
    assert team["total"] == rep["answered"] > 1000
    assert team["max"] - team["min"] <= 1
    scored = report(with_queue(sc, distribution="scored"))["handled_by_group"]["team"]
    assert scored["max"] - scored["min"] > 1  # the default weighted score does not take turns


@pytest.mark.parametrize("mode", ["longest_idle", "least_occupied", "best_skill", "random"])
def test_every_mode_runs_the_round_robin_scenario_soundly(mode: str) -> None:
    sc = with_queue(load_scenario(CONFIGS / "round_robin.toml"), distribution=mode)
    rep = report(sc)
    sound(rep)
    assert rep["handled_by_group"]["team"]["total"] == rep["answered"]


def test_multi_offer_answers_faster_and_never_assigns_twice() -> None:
    sc = load_scenario(CONFIGS / "multi_offer.toml")
    rep = report(sc)
    sound(rep)
    single = report(with_queue(sc, max_offers=1))
    sound(single)
    assert rep["offers_per_decision"] > 2.0 and single["offers_per_decision"] == 1.0
    assert rep["asa_s"] < 0.7 * single["asa_s"]
    assert rep["service_level"] > single["service_level"] + 0.1
    assert rep["abandoned"] < single["abandoned"]
    # no double assignment: the engine counts an Assigned after an outcome as an anomaly
    # (none, by sound()), and the core assigned at most one agent per arrival
    core = rep["core_counters"]
    assert rep["answered"] <= core["assigned"] <= rep["arrivals_total"]
    assert core["offers"] > 2 * core["decisions"]


def test_the_scenarios_check_clean() -> None:
    from router.cli.check import check_main

    names = ["targeting", "preferred_agent", "round_robin", "multi_offer"]
    assert check_main([str(CONFIGS / f"{n}.toml") for n in names]) == 0


def test_multi_offer_on_chat_holds_a_slot_per_offer_within_caps() -> None:
    sc = load_scenario(CONFIGS / "multi_offer.toml")
    sc = with_queue(sc, channel="chat")
    agents = [msgspec.structs.replace(a, capacity={"chat": 2}, count=10) for a in sc.agents]
    sc = msgspec.structs.replace(sc, agents=agents)
    rep = report(sc)
    sound(rep)  # the engine's own ledger: one slot per open offer, never above the cap
    assert rep["max_concurrency"]["chat"] == 2
    assert rep["offers_per_decision"] > 1.5


def test_explain_names_the_mode_the_match_and_the_ring() -> None:
    import io

    from router.cli.check import explain_main

    out = io.StringIO()
    assert explain_main([str(CONFIGS / "round_robin.toml"), "--limit", "1"], out) == 0
    text = out.getvalue().splitlines()
    assert text[0].endswith("(queue chat) [distribution round_robin]")
    assert text[1].split() == ["feature", "weight", "team-1", "x", "w", "team-2", "x", "w"]
    assert text[2].split()[0] == "last_turn"
    assert text[-1] == "  (a tie: the agent whose state changed longest ago goes first)"
    out = io.StringIO()
    assert explain_main([str(CONFIGS / "multi_offer.toml"), "--limit", "3"], out) == 0
    heads = [line for line in out.getvalue().splitlines() if line.startswith("t=")]
    assert len(heads) == 3 and all(h.endswith("[offered to 3 agents at once]") for h in heads)
    assert "no other agent could take it" not in out.getvalue()
    out = io.StringIO()
    assert explain_main([str(CONFIGS / "targeting.toml"), "--limit", "1"], out) == 0
    assert "[match 'inquiry.lang in langs']" in out.getvalue().splitlines()[0]
