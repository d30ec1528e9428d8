"""``wellbeing.max_drain_share_by_team``: a team's own drain share (drain52).

With ``max_drain_share = d`` every team drains under ``max(1, floor(d * n))`` places for its
``n`` agents on shift (share50). A team named in ``max_drain_share_by_team`` has its own
share in place of ``d`` (more drains at once, or fewer), as ``max_break_share_by_team``
(meal51) is for breaks; router-wide ``d`` still holds. Small routers pin each rule; no
timed assertion.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import ConfigError, Router
from router.config import config_warnings
from router.sim import build_report, decode_scenario, simulate
from tests.helpers import config
from tests.sim_runs import example_text
from tests.test_drain_for_break import breaks, chats, drains, spec
from tests.test_drain_share import SHARE, counts

# SHARE (tests/test_drain_share.py): 30 s breaks after 80 s, the window opens 40 s before
# due, a quarter on a break, half draining at once
TEAM = "max_drain_share = 0.5\n"


def shares(text: str, base: str = SHARE) -> str:
    """``base`` with ``max_drain_share_by_team = {text}``."""
    on = "drain_for_break = true\n"
    assert on in base
    return base.replace(on, f"{on}max_drain_share_by_team = {text}\n")


def eight(text: str) -> Router:
    """Team ``a`` (four, due at 80) and four agents of no team (due at 85), each holding one
    chat from login: router-wide half may drain (four), team ``a`` half of its own (two)."""
    r = Router(config(text))
    for k in range(4):
        r.login(spec(f"a{k}", team="a"), 0)
        chats(r, f"a{k}", [f"a{k}-1"], 0)
    for k in range(4):
        r.login(spec(f"n{k}"), 5)
        chats(r, f"n{k}", [f"n{k}-1"], 5)
    return r


def drained(events: list[Any]) -> list[str]:
    return [aid for aid, _ in drains(events)]


# ---------------------------------------------------------------- the rule


def test_without_it_a_team_drains_under_the_routers_share() -> None:
    r = eight(SHARE)
    assert drained(r.tick(40)) == ["a0", "a1"]  # half of four
    assert drained(r.tick(45)) == ["n0", "n1"]  # router-wide four of eight


def test_a_teams_own_share_gives_it_more_drain_places() -> None:
    r = eight(shares("{ a = 0.75 }"))
    assert drained(r.tick(40)) == ["a0", "a1", "a2"]  # floor(0.75 x 4)
    assert counts(r) == (0, 3)  # drains, none holding a break place
    assert drained(r.tick(45)) == ["n0"]  # router-wide still four


def test_a_team_share_below_the_routers_gives_fewer() -> None:
    r = eight(shares("{ a = 0.25 }"))
    assert drained(r.tick(40)) == ["a0"]
    # the router's other places go to the agents of no team (router-wide: four)
    assert drained(r.tick(45)) == ["n0", "n1", "n2"]


def test_a_team_always_allows_one_drain() -> None:
    assert drained(eight(shares("{ a = 0.1 }")).tick(40)) == ["a0"]  # floor 0.4: still one


def test_the_router_wide_drain_share_still_holds() -> None:
    # team a may all drain (its own share 1), router-wide half of eight is four: the
    # agents of no team find no drain place
    r = eight(shares("{ a = 1.0 }"))
    assert drained(r.tick(40)) == ["a0", "a1", "a2", "a3"]
    assert drained(r.tick(45)) == []
    r.complete("a0-1", 50)  # a0's drain ends, her break takes the one break place
    ev = r.tick(50)
    assert breaks(ev)[0] == ("a0", 80.0) and drained(ev) == ["n0"]  # her drain place


def test_a_drain_ended_in_the_team_hands_its_place_to_the_team() -> None:
    # two drain places in team a; the third a waits for one, the break share as before
    r = eight(shares("{ a = 0.5 }", SHARE.replace("max_drain_share = 0.5", "max_drain_share = 1")))
    assert drained(r.tick(40)) == ["a0", "a1"]
    assert drained(r.tick(45)) == ["n0", "n1", "n2", "n3"]  # no team: router-wide 1
    r.complete("a1-1", 46)
    ev = r.tick(46)
    assert breaks(ev)[0] == ("a1", 76.0) and drained(ev) == ["a2"]


# ---------------------------------------------------------------- reconfigure, snapshot


def test_a_reconfigure_that_raises_a_teams_drain_share_opens_its_places_at_once() -> None:
    r = eight(SHARE)
    assert drained(r.tick(40)) == ["a0", "a1"]
    r.reconfigure(config(shares("{ a = 0.75 }")), 41)
    assert drained(r.tick(41)) == ["a2"]
    assert r.config.wellbeing.max_drain_share_by_team == {"a": 0.75}


def test_a_reconfigure_that_lowers_it_cuts_no_drain_and_starts_none_above_it() -> None:
    r = eight(shares("{ a = 0.75 }"))
    assert drained(r.tick(40)) == ["a0", "a1", "a2"]
    r.reconfigure(config(shares("{ a = 0.25 }")), 41)
    ev = r.tick(41)
    assert drained(ev) == [] and counts(r) == (0, 3)  # each drains on, none cut
    assert all(r.agent_statistics(f"a{k}").drain_place for k in range(3))
    r.complete("a0-1", 42)
    ev = r.tick(42)
    # a0's break starts (the break place is free); a3 (due 80) gets no drain place: two of
    # team a still drain, its share one now
    assert breaks(ev)[0] == ("a0", 72.0) and drained(ev) == []
    r.complete("a1-1", 43)
    ev = r.tick(43)
    # a1 back at work, its break deferred (team a's break place is a0's); a2 drains on: one
    # of team a draining, its one place
    assert drained(ev) == [] and r.agent_statistics("a2").drain_place
    r.complete("a2-1", 44)
    # a2 back at work too: no one of team a drains, the place is a3's (due 80)
    assert drained(r.tick(44)) == ["a3"]
    assert [a for a in ("a1", "a2", "a3") if r.agent_statistics(a).drain_place] == ["a3"]


def test_dropping_it_brings_the_routers_share_back_for_the_team() -> None:
    r = eight(shares("{ a = 0.25 }"))
    assert drained(r.tick(40)) == ["a0"]
    r.reconfigure(config(SHARE), 41)
    assert drained(r.tick(41)) == ["a1"]  # half of four again
    assert r.config.wellbeing.max_drain_share_by_team == {}


def test_teams_counted_before_a_reconfigure_take_their_new_drain_share() -> None:
    # a team seen once (its tally stays when its agents are gone), a new share set while
    # no one is logged in (nothing recounted): the team's next four have three places
    # (all four router-wide)
    everyone = SHARE.replace("max_drain_share = 0.5", "max_drain_share = 1")
    r = Router(config(everyone))
    r.login(spec("early", team="a"), 0)
    r.logout("early", 0)
    r.reconfigure(config(shares("{ a = 0.75 }", everyone)), 0)
    r.tick(0)
    for k in range(4):
        r.login(spec(f"a{k}", team="a"), 0)
        chats(r, f"a{k}", [f"a{k}-1"], 0)
    assert drained(r.tick(40)) == ["a0", "a1", "a2"]


def test_a_restored_router_decides_as_one_run_straight_through() -> None:
    text = shares("{ a = 0.75 }")

    def run(restore: bool) -> list[Any]:
        r = eight(text)
        events = list(r.tick(40))
        if restore:
            r = Router.restore(r.snapshot())
            assert r.config.wellbeing.max_drain_share_by_team == {"a": 0.75}
        for t, iid in ((42.0, "a0-1"), (45.0, "a1-1"), (47.0, "n0-1"), (50.0, "a3-1")):
            r.complete(iid, t)
            events += r.tick(t)
        events += r.tick(200)
        return [(type(e).__name__, e.at, getattr(e, "agent_id", None)) for e in events]

    straight = run(False)
    assert straight == run(True)
    assert ("AgentDraining", 40.0, "a2") in straight  # the team's third place


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{ a = 0 }", r"\$\.wellbeing\.max_drain_share_by_team\.a: Expected float > 0"),
        ("{ a = 1.5 }", r"\$\.wellbeing\.max_drain_share_by_team\.a: Expected float <= 1"),
        ('{ a = "half" }', r"\$\.wellbeing\.max_drain_share_by_team\.a: Expected float, got str"),
        ("0.5", r"\$\.wellbeing\.max_drain_share_by_team: Expected object, got float"),
    ],
)
def test_a_bad_team_drain_share_is_named(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        config(shares(value))


def test_off_by_default() -> None:
    assert config(SHARE).wellbeing.max_drain_share_by_team == {}


def test_a_team_drain_share_warns_when_no_agent_drains_under_a_share() -> None:
    text = shares("{ a = 0.75 }")
    assert config_warnings(config(text)) == []  # no groups listed: any team may log in
    mine = "$.wellbeing.max_drain_share_by_team"
    no_share = [w for w in config_warnings(config(text.replace(TEAM, ""))) if mine in w]
    assert no_share == [
        f"{mine}: does nothing without max_drain_share (a drain holds a break place)"
    ]
    for drop in (
        "drain_for_break = true\n",
        "break_window_s = 40\n",
        "max_break_share = 0.25\n",
        "max_continuous_work_s = 80\n",
    ):
        warned = [w for w in config_warnings(config(text.replace(drop, ""))) if mine in w]
        assert warned == [
            f"{mine}: does nothing without drain_for_break (and its break_window_s, "
            "max_break_share, max_continuous_work_s): no agent drains"
        ], drop


def test_a_team_no_agent_group_is_named_warns_in_a_scenario() -> None:
    text = example_text("mafengwo_refund_flood.toml").replace(
        "break_window_s = 7200",
        "break_window_s = 7200\ndrain_for_break = true\nmax_drain_share = 0.25\n"
        'max_drain_share_by_team = { chat_team = 0.34, "chat team" = 0.3 }',
    )
    assert config_warnings(decode_scenario(text)) == [
        '$.wellbeing.max_drain_share_by_team["chat team"]: no agent group named '
        "'chat team' (a group's name is its agents' team; groups: after_shift_volunteers, "
        "chat_team, early_birds, remote_backlog, voice_team)"
    ]


def test_a_team_drain_share_that_does_nothing_is_warned_once_not_per_name() -> None:
    # as the break map: a map that does nothing is one warning, not one more per unknown name
    text = example_text("mafengwo_refund_flood.toml").replace(
        "break_window_s = 7200",
        'break_window_s = 7200\nmax_drain_share_by_team = { "chat team" = 0.3 }',
    )
    warned = [w for w in config_warnings(decode_scenario(text)) if "max_drain_share_by" in w]
    assert warned == [
        "$.wellbeing.max_drain_share_by_team: does nothing without drain_for_break (and its "
        "break_window_s, max_break_share, max_continuous_work_s): no agent drains"
    ]
    on = text.replace("break_window_s = 7200", "break_window_s = 7200\ndrain_for_break = true")
    warned = [w for w in config_warnings(decode_scenario(on)) if "max_drain_share_by" in w]
    assert warned == [
        "$.wellbeing.max_drain_share_by_team: does nothing without max_drain_share "
        "(a drain holds a break place)"
    ]


# ---------------------------------------------------------------- a simulated day


def test_mafengwos_chat_team_drains_under_its_own_share_the_others_under_the_routers() -> None:
    # the refund flood with drains under a quarter router-wide (share50) and the chat team
    # at half: up to nine of its eighteen drain at once (four under the quarter), Guo Yun's
    # remote six still one at a time (floor(0.25 x 6) = 1); no drainer is offered anything,
    # the break share holds for breaks. (Some may still drain at the run's end: the run
    # stops with chats in flight once no one waits, and a volunteer's drain starts 200 s
    # before it; liveness is the state machines' no_agent_stuck_before_its_break.)
    text = example_text("mafengwo_refund_flood.toml").replace(
        "break_window_s = 7200",
        "break_window_s = 7200\ndrain_for_break = true\nmax_drain_share = 0.25\n"
        "max_drain_share_by_team = { chat_team = 0.5 }",
    )
    draining: dict[str, str] = {}
    most: dict[str, int] = {}
    offers = [0]

    def hook(e: Any) -> bool:
        name = type(e).__name__
        if name == "AgentDraining":
            group = draining[e.agent_id] = e.agent_id.rsplit("-", 1)[0]
            n = sum(1 for g in draining.values() if g == group)
            most[group] = max(most.get(group, 0), n)
        elif name in ("Offered", "Assigned") and e.agent_id in draining:
            offers[0] += 1
        elif name in ("AgentReady", "AgentAway", "AgentLoggedOut") or (
            name == "AgentOnBreak" and e.until is not None
        ):
            draining.pop(e.agent_id, None)
        return True

    rep = build_report(simulate(decode_scenario(text), on_event=hook))
    assert 4 < most["chat_team"] <= 9
    assert most.get("remote_backlog", 0) == 1
    assert offers == [0]
    assert rep["breaks_missed"] == 0 and rep["on_break_max_fraction"] <= 0.25
