"""``wellbeing.max_break_share_by_team``: a team's own break share (meal51).

With ``max_break_share = s`` every team gets ``max(1, floor(s * n))`` places for its ``n``
agents on shift: six remote agents under a quarter get one, and six 30-minute meals every
3 hours fill it all the time (Mafengwo's remote six, share50). A team named in
``max_break_share_by_team`` has its own share in place of ``s`` (more places, or fewer);
router-wide ``s`` still holds. Small routers pin each rule; no timed assertion.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, ConfigError, Inquiry, Router
from router.config import config_warnings
from router.events import AgentOnBreak, BreakDeferred
from router.sim import build_report, decode_scenario, simulate
from tests.helpers import config
from tests.sim_runs import example_text

# a break of 30 s after 80 s of work, a quarter of a team (and of all) on a break at once
QUARTER = """
[routing]
mode = "immediate"
[wellbeing]
max_continuous_work_s = 80
break_s = 30
max_break_share = 0.25
[[queues]]
name = "q"
"""


WINDOW = "max_break_share = 0.25\nbreak_window_s = 40\n"


def shares(text: str) -> str:
    """``QUARTER`` with ``max_break_share_by_team = {text}``."""
    return QUARTER.replace(
        "max_break_share = 0.25\n", f"max_break_share = 0.25\nmax_break_share_by_team = {text}\n"
    )


def notices(events: list[Any]) -> list[str]:
    """The agents told their wellbeing break in ``events`` (each busy: a notice first)."""
    return [
        e.agent_id
        for e in events
        if isinstance(e, AgentOnBreak) and e.reason == "wellbeing" and e.until is None
    ]


def busy(text: str, teams: dict[str, int]) -> Router:
    """A router of ``text`` with ``teams`` (name: size) logged in at 0, each agent holding
    one call from then on (so all fall due at 80 together)."""
    r = Router(config(text))
    for team, n in teams.items():
        for k in range(n):
            aid = f"{team}{k}"
            r.login(AgentSpec(id=aid, team=team), 0)
            r.submit(Inquiry(id=aid + "-call", queue="q"), 0)
            r.tick(0)
            assert r.holds(aid + "-call", aid)
    return r


def by_team(agents: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for aid in agents:
        team = aid.rstrip("0123456789")
        out[team] = out.get(team, 0) + 1
    return out


# ---------------------------------------------------------------- the rule


def test_a_small_team_gets_the_places_of_its_own_share() -> None:
    # twelve on shift, a quarter router-wide: three places; the router's quarter gives each
    # team of six one (floor 1.5), remote's own third two (floor 2.04)
    ev = busy(shares("{ remote = 0.34 }"), {"remote": 6, "voice": 6}).tick(80)
    assert by_team(notices(ev)) == {"remote": 2, "voice": 1}
    assert len([e for e in ev if isinstance(e, BreakDeferred)]) == 9


def test_without_it_every_team_has_the_routers_share() -> None:
    ev = busy(QUARTER, {"remote": 6, "voice": 6}).tick(80)
    assert by_team(notices(ev)) == {"remote": 1, "voice": 1}


def test_the_router_wide_share_still_holds() -> None:
    # remote may all go (share 1), but a quarter of the twelve is three: three breaks,
    # voice's one of them at most
    ev = busy(shares("{ remote = 1.0 }"), {"remote": 6, "voice": 6}).tick(80)
    got = by_team(notices(ev))
    assert sum(got.values()) == 3 and got.get("voice", 0) <= 1


def test_a_team_share_below_the_routers_gives_fewer_places() -> None:
    # a team of eight: two places under a quarter, one under an eighth
    assert len(notices(busy(QUARTER, {"big": 8}).tick(80))) == 2
    assert len(notices(busy(shares("{ big = 0.125 }"), {"big": 8}).tick(80))) == 1


def test_a_team_always_allows_one() -> None:
    # a team of three at a tenth: floor 0.3, still one place (as under the router's share)
    ev = busy(shares("{ trio = 0.1 }"), {"trio": 3, "voice": 9}).tick(80)
    assert by_team(notices(ev)) == {"trio": 1, "voice": 2}


def test_an_early_break_goes_into_the_teams_own_places() -> None:
    # with a window (40 s before due at 80) a freed-up agent takes a free place early: the
    # second remote agent freed up finds its team's second place (its own third), where
    # under the router's quarter the team's one place is taken
    def early(text: str) -> list[str]:
        r = busy(text.replace("max_break_share = 0.25\n", WINDOW), {"remote": 6, "voice": 6})
        r.complete("remote0-call", 50)
        got = r.tick(50)
        r.complete("remote1-call", 55)
        got += r.tick(55)
        return [e.agent_id for e in got if isinstance(e, AgentOnBreak) and e.until]

    assert early(shares("{ remote = 0.34 }")) == ["remote0", "remote1"]
    assert early(QUARTER) == ["remote0"]


def test_a_deferred_break_names_the_teams_own_share() -> None:
    ev = busy(shares("{ remote = 0.34 }"), {"remote": 6, "voice": 6}).tick(80)
    why = {e.agent_id: e.reason for e in ev if isinstance(e, BreakDeferred)}
    remote = [why[a] for a in why if a.startswith("remote")]
    voice = [why[a] for a in why if a.startswith("voice")]
    assert remote and all("max_break_share_by_team.remote 0.34" in w for w in remote)
    assert all("team remote" in w for w in remote)
    assert voice and all("(max_break_share 0.25" in w for w in voice)


# ---------------------------------------------------------------- reconfigure, snapshot


def test_a_reconfigure_that_raises_a_teams_share_opens_its_places_at_once() -> None:
    r = busy(QUARTER, {"remote": 6, "voice": 6})
    assert by_team(notices(r.tick(80))) == {"remote": 1, "voice": 1}
    r.reconfigure(config(shares("{ remote = 0.34 }")), 85)
    ev = r.tick(85)
    assert by_team(notices(ev)) == {"remote": 1}  # the next remote one, due first
    assert r.config.wellbeing.max_break_share_by_team == {"remote": 0.34}


def test_a_reconfigure_that_drops_it_cuts_no_break_and_starts_none_above_the_share() -> None:
    r = busy(shares("{ remote = 0.34 }"), {"remote": 6, "voice": 6})
    told = notices(r.tick(80))
    assert by_team(told) == {"remote": 2, "voice": 1}
    r.reconfigure(config(QUARTER), 85)
    ev = r.tick(85)
    assert notices(ev) == [] and not [e for e in ev if isinstance(e, AgentOnBreak)]
    # each still told its break (finishing its call): no notice taken back
    assert all(r.agent_statistics(a).reason == "wellbeing" for a in told)
    assert all(r.agent_statistics(a).draining for a in told)
    # the two remote calls end: one place under the router's quarter now, so the first to
    # end goes back to work, its break deferred first in line (break staffing's rule for a
    # notice whose place is gone at its start), and the other's break starts
    r.complete("remote0-call", 90)
    r.complete("remote1-call", 90)
    ev = r.tick(90)
    started = [e.agent_id for e in ev if isinstance(e, AgentOnBreak) and e.until]
    assert started == ["remote1"]
    assert [(e.agent_id, e.due) for e in ev if isinstance(e, BreakDeferred)] == [("remote0", 80.0)]
    # remote1 back at 120: the one place goes to remote0 (due first, idle: at once)
    ev = r.tick(120)
    assert [e.agent_id for e in ev if isinstance(e, AgentOnBreak) and e.until] == ["remote0"]
    assert notices(ev) == []


def test_teams_counted_before_a_reconfigure_take_their_new_share() -> None:
    # a team seen once (its tally stays when its agents are gone), a new share set while
    # no one is logged in: the team's next agents have its places
    r = Router(config(QUARTER))
    r.login(AgentSpec(id="early", team="remote"), 0)
    r.logout("early", 0)
    assert r.agent_ids() == []
    r.reconfigure(config(shares("{ remote = 0.34 }")), 0)
    for team in ("remote", "voice"):
        for k in range(6):
            aid = f"{team}{k}"
            r.login(AgentSpec(id=aid, team=team), 0)
            r.submit(Inquiry(id=aid + "-call", queue="q"), 0)
    r.tick(0)
    assert by_team(notices(r.tick(80))) == {"remote": 2, "voice": 1}


def test_a_restored_router_decides_as_one_run_straight_through() -> None:
    text = shares("{ remote = 0.34 }")

    def run(restore: bool) -> list[Any]:
        r = busy(text, {"remote": 6, "voice": 6})
        events = list(r.tick(80))
        if restore:
            r = Router.restore(r.snapshot())
        for k, t in ((0, 95.0), (1, 100.0), (6, 105.0)):
            team = "remote" if k < 6 else "voice"
            aid = f"{team}{k % 6}"
            r.complete(aid + "-call", t)
            events += r.tick(t)
        events += r.tick(140)
        return events

    straight = run(False)
    assert straight == run(True)
    assert by_team(notices(straight))["remote"] >= 3  # the places went round


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{ remote = 0 }", r"\$\.wellbeing\.max_break_share_by_team\.remote: Expected float > 0"),
        ("{ remote = 1.5 }", r"max_break_share_by_team\.remote: Expected float <= 1"),
        ('{ remote = "half" }', r"max_break_share_by_team\.remote: Expected float, got str"),
        ("0.34", r"\$\.wellbeing\.max_break_share_by_team: Expected object, got float"),
    ],
)
def test_a_bad_team_share_is_named(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        config(shares(value))


def test_a_team_share_without_the_break_share_warns() -> None:
    text = shares("{ remote = 0.34 }").replace("max_break_share = 0.25\n", "")
    assert config_warnings(config(text)) == [
        "$.wellbeing.max_break_share_by_team: does nothing without max_break_share "
        "(no break waits for a place)"
    ]
    assert config_warnings(config(shares("{ remote = 0.34 }"))) == []  # no groups listed


def test_a_team_no_agent_group_is_named_warns_in_a_scenario() -> None:
    text = example_text("mafengwo_refund_flood.toml").replace(
        "break_window_s = 7200",
        'break_window_s = 7200\nmax_break_share_by_team = { remote_backlog = 0.34, "chat team" '
        "= 0.3 }",
    )
    warnings = config_warnings(decode_scenario(text))
    assert warnings == [
        '$.wellbeing.max_break_share_by_team["chat team"]: no agent group named '
        "'chat team' (a group's name is its agents' team; groups: after_shift_volunteers, "
        "chat_team, early_birds, remote_backlog, voice_team)"
    ]


# ---------------------------------------------------------------- a simulated day


def test_mafengwos_remote_six_get_two_places_the_day_a_quarter_router_wide() -> None:
    # share50: Guo Yun's remote six have one place under a quarter; their own third gives
    # two, router-wide a quarter still holds (the report's fraction is of all on shift)
    base = example_text("mafengwo_refund_flood.toml")
    text = base.replace(
        "break_window_s = 7200",
        "break_window_s = 7200\nmax_break_share_by_team = { remote_backlog = 0.34 }",
    )
    before = build_report(simulate(decode_scenario(base)))
    after = build_report(simulate(decode_scenario(text)))
    assert before["on_break_max_fraction_by_group"]["remote_backlog"] == pytest.approx(1 / 6)
    assert after["on_break_max_fraction_by_group"]["remote_backlog"] == pytest.approx(2 / 6)
    assert after["on_break_max_fraction"] <= 0.25
    assert after["breaks_missed"] == 0
    for rep in (before, after):
        for group, frac in rep["on_break_max_fraction_by_group"].items():
            if group != "remote_backlog":
                assert frac <= 0.25 or frac * 6 <= 1.0 + 1e-9, (group, frac)
