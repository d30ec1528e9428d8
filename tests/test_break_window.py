"""``wellbeing.break_window_s``: breaks brought forward under a break share (break48).

With ``max_break_share`` alone a team that logs in together falls due together and the
share only *defers* breaks, so the last of the team works through the others' breaks
(story48: up to 3.1 h late in the seed days). With a window, an agent that frees up within
it before its break falls due takes the break early when a place is free, earliest due
first, never above the share and never cutting work in flight
(router/state/breaks.py). Small routers pin each rule; a simulated team of 60 that logs
in together shows the spread. No timed assertion.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from router import AgentSpec, ConfigError, Inquiry, Router, Shift
from router.config import config_warnings
from router.events import AgentDraining, AgentOnBreak, AgentReady, BreakDeferred
from router.sim import build_report, decode_scenario, load_scenario
from router.sim.engine import Simulator
from router.state import codec
from tests.helpers import BREAK_SHARE, config
from tests.sim_runs import EXAMPLES, TEAM_DAY

# BREAK_SHARE: a break of 30 s after 80 s of work, half the staff on a break at once;
# the window opens 40 s before a break falls due
WINDOW = BREAK_SHARE.replace(
    "max_break_share = 0.5\n", "max_break_share = 0.5\nbreak_window_s = 40\n"
)


def breaks(events: list[Any]) -> list[tuple[str, float | None]]:
    """(agent, until) of the wellbeing breaks in ``events`` (until None: a notice)."""
    return [
        (e.agent_id, e.until)
        for e in events
        if isinstance(e, AgentOnBreak) and e.reason == "wellbeing"
    ]


def working(r: Router, aid: str, iid: str, now: float) -> None:
    r.submit(Inquiry(id=iid, queue="q"), now)
    r.tick(now)
    assert r.holds(iid, aid)


# ---------------------------------------------------------------- the rules, one router


def test_an_agent_freed_up_in_its_window_breaks_at_once_when_a_place_is_free() -> None:
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    r.complete("i1", 50)  # due at 80, the window opened at 40: a place is free
    assert breaks(r.tick(50)) == [("su", 80.0)]  # the break starts now, 30 s
    ev = r.tick(80)
    assert [e.agent_id for e in ev if isinstance(e, AgentReady)] == ["su"]
    # the early break reset continuous work: the next is due at 80 + 80, not at 80 or 130
    working(r, "su", "i2", 80)
    assert breaks(r.tick(159)) == []
    assert breaks(r.tick(160)) == [("su", None)]  # due: a notice, work in flight first


def test_an_agent_freed_up_before_its_window_keeps_working() -> None:
    # the window is 40 s: freed up at 30 (50 s before due) it takes the next call
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    r.complete("i1", 30)
    assert breaks(r.tick(30)) == []
    working(r, "su", "i2", 31)


def test_off_when_unset_the_break_starts_at_its_due_time() -> None:
    r = Router(config(BREAK_SHARE))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    r.complete("i1", 55)
    assert breaks(r.tick(55)) == []
    assert breaks(r.tick(80)) == [("su", 110.0)]  # idle at its due time: at once


def test_an_early_break_never_cuts_work_in_flight() -> None:
    # Su works from 0 through her window: no early break; at 80 the due break is a notice
    # and starts when the call ends, as without a window
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    assert breaks(r.tick(60)) == []
    assert breaks(r.tick(80)) == [("su", None)]
    assert r.holds("i1", "su")
    r.complete("i1", 90)
    assert breaks(r.tick(90)) == [("su", 120.0)]


def test_an_early_break_waits_for_a_place_and_never_exceeds_the_share() -> None:
    # three on shift, half may break: one place. Li is on a break of her own from 40;
    # Su frees up in her window at 50: no place, she stays ready (and takes no break above
    # the share); Li back at 60: the place goes to Su, idle since 50
    r = Router(config(WINDOW))
    for aid in ("su", "li", "pu"):
        r.login(AgentSpec(id=aid), 0)
    working(r, "su", "i1", 0)
    r.go_on_break("li", 40)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []
    assert sum(1 for a in r._agents.values() if a.state_reason in ("break", "wellbeing")) == 1
    r.set_ready("li", 60)
    assert breaks(r.tick(60)) == [("su", 90.0)]


def test_an_early_break_keeps_the_router_wide_share_too() -> None:
    # three teams of one: each team always allows one, the router one of three (half of
    # 3, floored). Li is on a break; Su frees up in her window: her team has a place, the
    # router none: no early break
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su", team="a"), 0)
    working(r, "su", "i1", 0)
    r.login(AgentSpec(id="li", team="b"), 0)
    r.login(AgentSpec(id="pu", team="c"), 0)
    r.go_on_break("li", 40)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []
    r.set_ready("li", 60)
    assert breaks(r.tick(60)) == [("su", 90.0)]


def test_the_place_goes_to_the_candidate_due_earliest() -> None:
    # one place among three. Su (due 80) and Xu (due 85, she logged in at 5) free up in
    # their windows while Li is on a break of her own, Xu first; when Li is back the place
    # goes to Su, due first, not to Xu who freed up first
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    r.login(AgentSpec(id="xu"), 5)
    working(r, "xu", "i2", 5)
    r.login(AgentSpec(id="li"), 6)
    r.go_on_break("li", 40)
    r.complete("i2", 46)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []
    r.set_ready("li", 55)
    assert breaks(r.tick(55)) == [("su", 85.0)]
    r.set_ready("su", 60)  # Su is back early: the place goes to Xu
    assert breaks(r.tick(60)) == [("xu", 90.0)]


def test_a_deferred_break_goes_before_an_early_one() -> None:
    # one place among three. Li is on a break; Su's break falls due at 80 while she works:
    # deferred. Xu (due 85) frees up in her window at 82. Li back at 83: the place goes to
    # Su (due already, a notice: her call in flight ends first), not to idle Xu
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su"), 0)
    working(r, "su", "i1", 0)
    r.login(AgentSpec(id="xu"), 5)
    working(r, "xu", "i2", 5)
    r.login(AgentSpec(id="li"), 6)
    r.go_on_break("li", 40)
    ev = r.tick(80)
    assert [e.agent_id for e in ev if isinstance(e, BreakDeferred)] == ["su"]
    r.complete("i2", 82)
    assert breaks(r.tick(82)) == []
    r.set_ready("li", 83)
    assert breaks(r.tick(83)) == [("su", None)]


def test_no_early_break_for_an_agent_who_goes_home_before_it_falls_due() -> None:
    r = Router(config(WINDOW))
    r.login(AgentSpec(id="su", shift_end=75.0), 0)
    working(r, "su", "i1", 0)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []


def test_no_early_break_while_continuous_work_is_suspended_in_a_surge() -> None:
    # surge mode from the first waiting inquiry (as tests/test_mutation_sweep_o45.py)
    toml = (
        WINDOW.replace(
            "max_break_share = 0.5\n",
            'max_break_share = 0.5\nsuspend_in_surge = ["continuous_work"]\n',
        )
        + "[backpressure.surge]\nenter_waiting = 1\nenter_after_s = 0\nexit_after_s = 0\n"
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="su"), 0)
    r.login(AgentSpec(id="li"), 0)
    working(r, "su", "i1", 0)
    working(r, "li", "i2", 0)
    r.submit(Inquiry(id="w", queue="q"), 1)
    r.submit(Inquiry(id="w2", queue="q"), 1)
    r.tick(1)
    assert r._surge
    r.complete("i1", 50)  # in her window, a place free, but the guardrail is off
    assert breaks(r.tick(50)) == []
    assert r.holds("w", "su")


def test_a_snapshot_keeps_the_candidates() -> None:
    # Su waits idle in her window for a place; a restored router gives it to her as well
    def run(restore: bool) -> list[Any]:
        r = Router(config(WINDOW))
        for aid in ("su", "li", "pu"):
            r.login(AgentSpec(id=aid), 0)
        working(r, "su", "i1", 0)
        r.go_on_break("li", 40)
        r.complete("i1", 50)
        r.tick(50)
        if restore:
            r = Router.restore(r.snapshot())
        r.set_ready("li", 60)
        return breaks(r.tick(60))

    assert run(True) == run(False) == [("su", 90.0)]


@pytest.mark.parametrize("before_pass", [False, True])
@pytest.mark.parametrize(
    "window", [WINDOW, WINDOW.replace("= 40\n", "= 40\ndrain_for_break = true\n")]
)
def test_a_restored_router_decides_as_one_run_straight_through(
    window: str, before_pass: bool
) -> None:
    # (snap49) one place among Su, Li and Pu; Li on a break. Su frees up in her window at
    # 50 and waits as a candidate. Xu's shift starts at 55 (a deadline): a second place.
    # The login at 55 fires that deadline before the next pass (the tick at 56): the router
    # run straight through gives the place to Su at 55. One restored at 52 must hold Su as
    # a candidate too; break48 asked every agent again at the next pass only, so the
    # restored router's break came at 56 (until 86, not 85). Restored right after Su frees
    # up (``before_pass``), it must ask Su, and only her, at the pass at 50: Pu, idle since
    # 35 (before her window), is asked again only at her next free-up (break48), so the
    # place Li's return opens at 58 is not hers
    def run(restore: bool) -> tuple[list[Any], bytes]:
        r = Router(config(window))
        for aid in ("su", "pu"):
            r.login(AgentSpec(id=aid), 0)
        working(r, "su", "i1", 0)
        working(r, "pu", "i0", 0)
        r.login(AgentSpec(id="li"), 0)
        r.login(AgentSpec(id="xu", shifts=[Shift(start_s=55.0)]), 0)
        r.complete("i0", 35)  # Pu frees up before her window: asked then, no candidate
        r.go_on_break("li", 40)
        r.complete("i1", 50)
        if restore and before_pass:
            r = Router.restore(r.snapshot())
        events = r.tick(50)
        assert breaks(events) == []
        events += r.tick(52)
        if restore and not before_pass:
            r = Router.restore(r.snapshot())
        r.login(AgentSpec(id="zu"), 55)
        r.submit(Inquiry(id="i2", queue="q"), 55)
        events += r.tick(56)
        r.set_ready("li", 58)
        for now in (60, 90, 130, 200):
            events += r.tick(now)
        return events, r.snapshot()

    through, snap = run(False)
    assert ("su", 85.0) in breaks(through)
    restored, snap_restored = run(True)
    assert restored == through
    assert snap_restored == snap


def test_a_snapshot_without_the_candidates_still_loads() -> None:
    # snapshots written before snap49 (and without a window) have no ``early``: a restore
    # asks every agent at the next pass, as before
    r = Router(config(WINDOW))
    for aid in ("su", "li", "pu"):
        r.login(AgentSpec(id=aid), 0)
    working(r, "su", "i1", 0)
    r.go_on_break("li", 40)
    r.complete("i1", 50)
    r.tick(50)
    snap = codec.decode(r.snapshot())
    assert isinstance(snap.early, codec.EarlyRecord)
    assert [e[3] for e in snap.early.entries] == ["su"]
    old = Router.restore(codec.encode(msgspec.structs.replace(snap, early=msgspec.UNSET)))
    assert set(old._early_asks) == {"su", "li", "pu"}  # all asked at the next pass
    old.set_ready("li", 60)
    assert breaks(old.tick(60)) == [("su", 90.0)]
    plain = Router(config(BREAK_SHARE))
    plain.login(AgentSpec(id="su"), 0)
    assert codec.decode(plain.snapshot()).early is msgspec.UNSET  # no window: bytes as before


# ---------------------------------------------------------------- the config's edge


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("-1", "$.wellbeing.break_window_s"),
        ("nan", "$.wellbeing.break_window_s"),
        ("80", "$.wellbeing.break_window_s: 80 must be below max_continuous_work_s (80)"),
        ("100", "$.wellbeing.break_window_s: 100 must be below max_continuous_work_s (80)"),
    ],
)
def test_a_bad_window_is_named(value: str, says: str) -> None:
    toml = BREAK_SHARE.replace(
        "max_break_share = 0.5\n", f"max_break_share = 0.5\nbreak_window_s = {value}\n"
    )
    with pytest.raises(ConfigError) as exc:
        config(toml)
    assert says in str(exc.value)


@pytest.mark.parametrize(
    ("drop", "needs"),
    [
        ("max_break_share = 0.5\n", "max_break_share"),
        ("max_continuous_work_s = 80\n", "max_continuous_work_s"),
    ],
)
def test_a_window_that_does_nothing_warns(drop: str, needs: str) -> None:
    cfg = config(WINDOW.replace(drop, ""))
    assert any(
        w.startswith("$.wellbeing.break_window_s: does nothing without " + needs)
        for w in config_warnings(cfg)
    )
    assert not any("break_window_s" in w for w in config_warnings(config(WINDOW)))


# ---------------------------------------------------------------- a team logging in together


def run_team(window: str) -> dict[str, Any]:
    """The 60 agents who log in together at 0 (a quarter may break: 15 places), their
    breaks due at 3600: each break's lateness past due, the most on a break at once (from
    the notice, as the share counts), and breaks that started with work in flight."""
    sim = Simulator(decode_scenario(TEAM_DAY.format(wellbeing="max_break_share = 0.25\n" + window)))
    due: dict[str, float] = {}
    late: list[float] = []
    on_break: set[str] = set()
    most = 0
    cut = 0

    def hook(e: Any) -> bool:
        nonlocal most, cut
        if isinstance(e, BreakDeferred):
            due[e.agent_id] = min(due.get(e.agent_id, math.inf), e.due)
        elif isinstance(e, AgentOnBreak):
            on_break.add(e.agent_id)
            most = max(most, len(on_break))
            if e.until is None:  # a notice: the timer fired at the due time (or a deferred one)
                due.setdefault(e.agent_id, e.at)
            else:  # the break starts (an early one was never due: 0)
                late.append(max(0.0, e.at - due.pop(e.agent_id, e.at)))
                cut += sim.router._agents[e.agent_id].total_load > 0
        elif isinstance(e, AgentReady):
            on_break.discard(e.agent_id)
        return True

    sim.on_event = hook
    rep = build_report(sim.run())
    return {"late": late, "most": most, "cut": cut, "rep": rep}


def test_a_team_logging_in_together_takes_its_breaks_within_the_window() -> None:
    # without a window the 60 break in four rounds of 15 from 3600: the last round
    # starts 2700 s late (three breaks of 900) and more; a window of 3300 s spreads the
    # rounds before the due time (the share held throughout), each break waiting at most
    # for the call in flight of those due before it
    before = run_team("")
    after = run_team("break_window_s = 3300")
    assert max(before["late"]) >= 3 * 900  # the fourth round, and later days worse
    late = sorted(after["late"])
    assert late[-1] <= 1000, late[-5:]  # a place waits for the call of the one due first
    assert late[int(0.9 * len(late))] <= 200, late
    for run in (before, after):
        assert run["most"] <= 15  # a quarter of 60, notices included, at every event
        assert run["rep"]["on_break_max_fraction"] <= 0.25
        assert run["cut"] == 0  # a break starts with no work in flight
        assert run["rep"]["unresolved"] == 0
    assert len(after["late"]) >= 60  # everyone had a break


# ---------------------------------------------------------------- the seed days


def late_by_group(name: str) -> tuple[dict[str, float], dict[str, Any]]:
    """examples/NAME run once: per agent group the latest break start after its due time
    (a notice's time, or ``BreakDeferred.due`` or ``AgentDraining.due``; an early break 0),
    and the report."""
    sim = Simulator(load_scenario(EXAMPLES / name))
    due: dict[str, float] = {}
    late: dict[str, float] = {}

    def hook(e: Any) -> bool:
        if isinstance(e, BreakDeferred):
            due[e.agent_id] = min(due.get(e.agent_id, math.inf), e.due)
        elif isinstance(e, AgentDraining):  # drain_for_break: the notice came early
            due[e.agent_id] = e.due
        elif isinstance(e, AgentOnBreak) and e.reason == "wellbeing":
            if e.until is None:
                due.setdefault(e.agent_id, e.at)
            else:
                s = max(0.0, e.at - due.pop(e.agent_id, e.at))
                late[e.agent_id] = max(late.get(e.agent_id, 0.0), s)
        return True

    sim.on_event = hook
    res = sim.run()
    by: dict[str, float] = {}
    for a in res.agents:
        by[a.group] = max(by.get(a.group, 0.0), late.get(a.id, 0.0))
    return by, build_report(res)


@pytest.mark.parametrize(
    ("name", "late_s", "groups"),
    [
        # story48's xfail (test_seed_stories.py) asks an hour for airline's 15-minute break
        # after 90 minutes (74 minutes late before) and 30 minutes for Tujia's 15 after 2 h
        # (86 minutes late before); both now with break_window_s = 3600
        ("airline_complaints.toml", 3600.0, None),
        ("tujia_24h.toml", 1800.0, None),
        # Mafengwo's meal after 3 h, window 2 h: the voice teams (one call at a time) eat
        # within the hour (1.7 h late before); the chat teams hold up to 5 chats in the
        # flood and a break waits for them to end, as before (not brought forward)
        ("mafengwo_refund_flood.toml", 3600.0, ["voice_team", "early_birds"]),
    ],
)
def test_breaks_start_soon_after_due_with_a_quarter_away(
    name: str, late_s: float, groups: list[str] | None
) -> None:
    by, rep = late_by_group(name)
    assert rep["on_break_max_fraction"] <= 0.25
    assert max(rep["on_break_max_fraction_by_group"].values()) <= 0.25
    assert rep["unresolved"] == 0
    assert max(v for g, v in by.items() if groups is None or g in groups) <= late_s, by


def test_a_restored_router_keeps_the_candidates_of_agents_gone_in_its_count() -> None:
    # (fix50) the early heaps hold stale entries, counted in ``n_early``, until a pass pops
    # them or the count outgrows the staff (``add_early`` then drops every stale one). One
    # place, Li's. Su (due 80) heads the queue from 50; 80 Xs (due 81) queue behind her at
    # 51 and log out at 52; Pu's entry went stale when she took work again at 46. A restore
    # at 53 must count the Xs' entries still: when Mo queues at 55 the run straight through
    # drops the stale ones (82 > 64 + 2 x 4 staffed), Pu's with them; a restored router
    # counting 2 kept Pu's, and its snapshot at 60 held her twice
    cfg = config(WINDOW.replace("max_break_share = 0.5", "max_break_share = 0.01"))

    def run(restore: bool) -> tuple[list[Any], bytes, int]:
        r = Router(cfg)
        for aid in ("su", "li"):
            r.login(AgentSpec(id=aid), 0)
        working(r, "su", "i_su", 0)
        r.go_on_break("li", 0)
        xs = [f"x{i}" for i in range(80)]
        for aid in (*xs, "pu", "mo"):
            r.login(AgentSpec(id=aid), 1)
            working(r, aid, f"i_{aid}", 1)
        events = r.tick(1)
        r.complete("i_pu", 45)  # in her window (41): a candidate, no place
        events += r.tick(45)
        working(r, "pu", "i_pu2", 46)  # her entry is stale while she works
        r.complete("i_su", 50)
        events += r.tick(50)
        for aid in xs:
            r.complete(f"i_{aid}", 51)
        events += r.tick(51)
        for aid in xs:
            r.logout(aid, 52)
        events += r.tick(52)
        assert r._breaks.n_early == 82
        if restore:
            r = Router.restore(r.snapshot())
        r.complete("i_mo", 55)
        events += r.tick(55)
        events += r.tick(60)
        return events, r.snapshot(), r._breaks.n_early

    through, snap, n = run(False)
    assert n == 2  # Su's and Mo's
    assert [e[3] for e in codec.decode(snap).early.entries] == ["su", "mo"]
    assert run(True) == (through, snap, n)


@pytest.mark.parametrize("at", [79.0, 80.0, 80.5])
def test_breaks_asked_within_an_instant_are_decided_before_a_snapshot(at: float) -> None:
    # (fix50) a break timer firing while an instant's deadlines fire waits for the instant's
    # end (``Router._break_asks``, decided by ``_decide_breaks``): Su's and Li's breaks fall
    # due at 80, when Xu's shift starts (one place more). ``_break_asks`` is not in
    # snapshots: no input returns with it pending, so a router restored right after that
    # instant (or just before or after it) decides as one run straight through
    def run(restore: bool) -> tuple[list[Any], bytes]:
        r = Router(config(BREAK_SHARE))
        for aid in ("su", "li", "pu"):
            r.login(AgentSpec(id=aid), 0)
        working(r, "su", "i1", 0)
        working(r, "li", "i2", 0)
        r.login(AgentSpec(id="xu", shifts=[Shift(start_s=80.0)]), 0)
        events = r.tick(at)
        assert not r._break_asks and not r._release_asked
        if restore:
            r = Router.restore(r.snapshot())
        for now in (81, 100, 111, 150, 200):
            events += r.tick(now)
        r.complete("i1", 210)
        r.complete("i2", 210)
        events += r.tick(300)
        return events, r.snapshot()

    through, snap = run(False)
    assert ("su", None) in breaks(through) or ("li", None) in breaks(through)
    assert run(True) == (through, snap)
