"""Wellbeing guardrails on a person's day, one test (or more) per guardrail.

Time is data: every scenario is a fixed sequence of inputs, checked event by event.
"""

from __future__ import annotations

from typing import Any

from router import AgentSpec, Inquiry, Router, Shift
from router.events import (
    AgentAway,
    AgentOnBreak,
    AgentReady,
    Assigned,
    BreakDeferred,
    CooldownStarted,
    Requeued,
)
from router.state.records import BREAK
from tests.helpers import BREAK_SHARE, config

CONTINUOUS = """
[routing]
mode = "immediate"
[wellbeing]
max_continuous_work_s = 3600
break_s = 600
[[queues]]
name = "q"
"""


def _of(events: list[Any], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def _assigned(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in _of(events, Assigned)]


def _router(toml: str, *agents: AgentSpec, **routing: Any) -> Router:
    r = Router(config(toml, **routing))
    for a in agents:
        r.login(a, 0.0)
    r.tick(0.0)
    return r


# ---------------------------------------------------------------- continuous work


def test_break_after_stretch_waits_for_work_in_flight_then_auto_ready() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"))
    r.submit(Inquiry(id="i1", queue="q"), 0)
    assert _assigned(r.tick(0)) == [("i1", "a")]
    r.complete("i1", 3000)
    r.submit(Inquiry(id="i2", queue="q"), 3000)
    assert _assigned(r.tick(3000)) == [("i2", "a")]
    assert r.next_deadline() == 3600.0  # the stretch ends one hour after login
    ev = r.tick(3600)
    # no new work from now on, but i2 is in flight: the break has no end yet
    assert _of(ev, AgentOnBreak) == [
        AgentOnBreak(at=3600.0, version=1, agent_id="a", reason="wellbeing", until=None)
    ]
    r.submit(Inquiry(id="i3", queue="q"), 3700)
    assert _assigned(r.tick(3700)) == []
    assert r.inquiry_state("i3") == "waiting"
    r.complete("i2", 4000)  # work in flight ends: the break starts now
    ev = r.tick(4000)
    assert _of(ev, AgentOnBreak) == [
        AgentOnBreak(at=4000.0, version=1, agent_id="a", reason="wellbeing", until=4600.0)
    ]
    assert r.next_deadline() == 4600.0
    assert _assigned(r.tick(4599.9)) == []
    ev = r.tick(4600)
    assert [type(e).__name__ for e in ev] == ["AgentReady", "Assigned"]
    assert _assigned(ev) == [("i3", "a")]
    # the next stretch counts from the end of the break
    assert r.next_deadline() == 4600.0 + 3600.0


def test_idle_agent_at_end_of_stretch_breaks_at_once() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"))
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    r.complete("i1", 3400)  # idle for 200 s when the stretch ends: not a break yet
    r.tick(3400)
    ev = r.tick(3600)
    assert _of(ev, AgentOnBreak) == [
        AgentOnBreak(at=3600.0, version=1, agent_id="a", reason="wellbeing", until=4200.0)
    ]
    assert _of(r.tick(4200), AgentReady) == [AgentReady(at=4200.0, version=1, agent_id="a")]


def test_natural_pause_as_long_as_a_break_resets_the_stretch() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"))
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    r.complete("i1", 2000)  # idle 2000..3600: longer than break_s = 600
    r.tick(2000)
    assert _of(r.tick(3600), AgentOnBreak) == []
    # work restarting after the pause starts a new stretch
    r.submit(Inquiry(id="i2", queue="q"), 4000)
    assert _assigned(r.tick(4000)) == [("i2", "a")]
    assert _of(r.tick(7599), AgentOnBreak) == []
    assert _of(r.tick(7600), AgentOnBreak)[0].reason == "wellbeing"


def test_short_pauses_do_not_reset_the_stretch() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"))
    t = 0.0
    for k in range(6):  # 500 s calls with 100 s gaps: never a 600 s pause
        r.submit(Inquiry(id=f"i{k}", queue="q"), t)
        r.tick(t)
        r.complete(f"i{k}", t + 500)
        r.tick(t + 500)
        t += 600
    assert _of(r.tick(3600), AgentOnBreak)[0].until == 4200.0


def test_manual_ready_during_wellbeing_break_restarts_the_stretch() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"))
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    r.complete("i1", 3650)
    assert [e.until for e in _of(r.tick(3650), AgentOnBreak)] == [None, 4250.0]
    r.set_ready("a", 3700)  # the agent (or a supervisor) ends the break early
    r.submit(Inquiry(id="i2", queue="q"), 3700)
    ev = r.tick(3700)
    assert _of(ev, AgentReady) != [] and _assigned(ev) == [("i2", "a")]
    assert _of(r.tick(7299), AgentOnBreak) == []
    assert _of(r.tick(7300), AgentOnBreak)[0].reason == "wellbeing"


def test_wellbeing_break_takes_back_pending_offers() -> None:
    r = _router(CONTINUOUS, AgentSpec(id="a"), AgentSpec(id="b"), mode="offer")
    r.go_on_break("b", 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    r.accept("i0", 1)
    r.complete("i0", 3500)
    r.submit(Inquiry(id="i1", queue="q"), 3599)
    r.tick(3599)
    assert r.agent_of("i1") == "a"
    ev = r.tick(3600)  # offered when the stretch ends: the offer goes back in line
    assert _of(ev, Requeued) == [
        Requeued(at=3600.0, version=1, inquiry_id="i1", queue="q", reason="wellbeing")
    ]
    assert r.inquiry_state("i1") == "waiting"


# ---------------------------------------------------------------- shift end

SHIFT = """
[routing]
mode = "immediate"
[wellbeing]
max_overtime_s = 600
[[queues]]
name = "q"
"""


def test_no_new_work_past_shift_end_work_in_flight_finishes() -> None:
    r = _router(SHIFT, AgentSpec(id="a", shift_end=1000.0), AgentSpec(id="b", shift_end=5000.0))
    r.go_on_break("b", 0)
    r.submit(Inquiry(id="i1", queue="q"), 900)
    assert _assigned(r.tick(900)) == [("i1", "a")]
    assert r.next_deadline() == 1000.0
    ev = r.tick(1000)
    assert _of(ev, AgentAway) == [AgentAway(at=1000.0, version=1, agent_id="a", reason="shift_end")]
    assert r.inquiry_state("i1") == "assigned"  # never preempted
    r.submit(Inquiry(id="i2", queue="q"), 1050)
    r.complete("i1", 1100)
    assert _assigned(r.tick(1100)) == []
    assert r.inquiry_state("i2") == "waiting"
    r.set_ready("b", 1200)
    assert _assigned(r.tick(1200)) == [("i2", "b")]


def test_login_after_shift_end_takes_no_work() -> None:
    r = _router(SHIFT)
    r.submit(Inquiry(id="i1", queue="q"), 10)
    r.login(AgentSpec(id="late", shift_end=5.0), 10)
    ev = r.tick(10)
    assert _assigned(ev) == []
    assert _of(ev, AgentAway)[0].reason == "shift_end"


def test_a_shift_end_set_by_an_update_counts_in_the_staffing_to_come() -> None:
    # Bo's shift end at 50, given at login or by an update at 1: the expected wait told
    # at arrival is the same (an update left the staffing to come as it was)
    toml = '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'

    def waits(update: bool) -> list[float]:
        r = Router(config(toml))
        r.login(AgentSpec(id="ann", shifts=[Shift(start_s=100.0, end_s=900.0)]), 0)
        r.login(AgentSpec(id="bo", shift_end=None if update else 50.0), 0)
        r.submit(Inquiry(id="i0", queue="q"), 0)
        r.tick(0)
        if update:
            r.update_agent(AgentSpec(id="bo", shift_end=50.0), 1)
        r.tick(1)
        return [r.submit(Inquiry(id=f"i{k}", queue="q"), 2).expected_wait_s for k in (1, 2)]

    assert waits(update=True) == waits(update=False) == [230.0, 410.0]


def test_overtime_outside_surge_is_not_granted() -> None:
    r = _router(SHIFT.replace("[wellbeing]", '[wellbeing]\nsuspend_in_surge = ["shift"]'))
    r.login(AgentSpec(id="a", shift_end=1000.0), 0)
    r.tick(0)
    assert r.next_deadline() == 1000.0
    assert _of(r.tick(1000), AgentAway)[0].reason == "shift_end"


# ---------------------------------------------------------------- heavy inquiries

HEAVY = """
[routing]
mode = "immediate"
[wellbeing]
max_consecutive_heavy = 2
heavy_recovery_s = 120
[[queues]]
name = "complaints"
heavy = true
priority = 5
[[queues]]
name = "orders"
"""


def _serve(r: Router, iid: str, queue: str, at: float, until: float, **kw: Any) -> list[Any]:
    r.submit(Inquiry(id=iid, queue=queue, **kw), at)
    ev = r.tick(at)
    if r.inquiry_state(iid) == "assigned":
        r.complete(iid, until)
        ev += r.tick(until)
    return ev


def test_at_most_k_heavy_in_a_row_then_a_lighter_one() -> None:
    r = _router(HEAVY, AgentSpec(id="a"))
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "c2", "complaints", 100, 200)
    # c3 (heavy, high priority) waits; the lighter o1 goes first even though it is later
    r.submit(Inquiry(id="c3", queue="complaints"), 200)
    r.submit(Inquiry(id="o1", queue="orders"), 201)
    assert _assigned(r.tick(201)) == [("o1", "a")]
    assert r.inquiry_state("c3") == "waiting"
    r.complete("o1", 210)  # a lighter inquiry resets the streak
    assert _assigned(r.tick(210)) == [("c3", "a")]


def test_recovery_pause_after_k_heavy() -> None:
    r = _router(HEAVY, AgentSpec(id="a"))
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "c2", "complaints", 100, 200)
    r.submit(Inquiry(id="c3", queue="complaints"), 250)
    assert _assigned(r.tick(250)) == []
    assert r.next_deadline() == 320.0  # 120 s after the second heavy one ended
    assert _assigned(r.tick(319)) == []
    assert _assigned(r.tick(320)) == [("c3", "a")]


def test_heavy_tag_counts_like_a_heavy_queue() -> None:
    r = _router(HEAVY, AgentSpec(id="a"))
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "x1", "orders", 100, 200, tags=frozenset({"heavy"}))
    ev = _serve(r, "x2", "orders", 250, 300, tags=frozenset({"heavy"}))
    assert _assigned(ev) == []
    assert _assigned(r.tick(320)) == [("x2", "a")]


def test_blocked_agent_still_takes_light_work_and_others_take_heavy() -> None:
    r = _router(HEAVY, AgentSpec(id="a"), AgentSpec(id="b"))
    r.go_on_break("b", 0)
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "c2", "complaints", 100, 200)
    r.set_ready("b", 201)
    r.submit(Inquiry(id="c3", queue="complaints"), 201)
    r.submit(Inquiry(id="o1", queue="orders"), 201)
    assert sorted(_assigned(r.tick(201))) == [("c3", "b"), ("o1", "a")]


# ---------------------------------------------------------------- break staffing


def _on_break(r: Router) -> int:
    return sum(1 for a in r._agents.values() if a.state == BREAK)


def test_a_break_waits_when_leaving_colleagues_would_leave_too_many_on_a_break() -> None:
    # five on shift, half may break: two places. Li's run of shifts ends at 100 and she
    # is on a break; Xu and Xi go off shift at 90 (back at 500). At 80 Su's stretch is
    # over: now 2 of 5 would be on a break, but from 90 to 100 it would be 2 of 3 (Li
    # may leave last): Su's break waits for a place (found by StaffingMachine)
    later = Shift(start_s=500.0, end_s=900.0)
    r = Router(config(BREAK_SHARE))
    r.login(AgentSpec(id="su"), 0)
    r.submit(Inquiry(id="long", queue="q"), 0)
    assert _assigned(r.tick(0)) == [("long", "su")]  # Su works without a pause from 0
    for aid in ("xu", "xi"):
        r.login(AgentSpec(id=aid, shifts=[Shift(start_s=0.0, end_s=90.0), later]), 10)
    r.login(AgentSpec(id="li", shift_end=100.0), 10)
    r.login(AgentSpec(id="pu"), 10)
    r.go_on_break("li", 75)
    r.tick(75)
    ev = r.tick(80)
    assert [e.agent_id for e in _of(ev, BreakDeferred)] == ["su"]
    assert _of(ev, AgentOnBreak) == []
    ev = r.tick(90)
    assert [e.reason for e in _of(ev, AgentAway)] == ["off_shift", "off_shift"]
    assert _on_break(r) == 1  # Li alone: 1 of the 3 on shift
    r.set_ready("li", 95)  # a place opens: Su goes first, by due time
    assert [(e.agent_id, e.reason) for e in _of(r.tick(95), AgentOnBreak)] == [("su", "wellbeing")]


def test_a_break_is_decided_after_the_shift_changes_of_the_same_instant() -> None:
    # a third may break (share 0.34): one place among 3 or 4. Xu's shift pauses from 50 to
    # 80 and she goes on a break of her own while off shift. At 80 Su's stretch is over and
    # Xu comes back on shift, still on her break, at the same instant: Su's timer was set
    # first, but her break is decided after Xu counts again: 1 of 4 already on a break,
    # Su's waits (found by StaffingMachine: the break was granted before Xu counted)
    toml = BREAK_SHARE.replace("max_break_share = 0.5", "max_break_share = 0.34")
    r = Router(config(toml))
    r.login(AgentSpec(id="su"), 0)
    r.submit(Inquiry(id="long", queue="q"), 0)
    assert _assigned(r.tick(0)) == [("long", "su")]  # Su's timer for 80 is pushed first
    r.login(AgentSpec(id="pu"), 0)
    r.login(AgentSpec(id="ka"), 0)
    xu = [Shift(start_s=0.0, end_s=50.0), Shift(start_s=80.0, end_s=900.0)]
    r.login(AgentSpec(id="xu", shifts=xu), 0)
    assert [e.reason for e in _of(r.tick(50), AgentAway)] == ["off_shift"]
    r.go_on_break("xu", 60)
    r.tick(60)
    ev = r.tick(80)
    assert [e.agent_id for e in _of(ev, BreakDeferred)] == ["su"]
    assert _of(ev, AgentOnBreak) == []
    assert _on_break(r) == 1  # Xu alone: 1 of the 4 on shift
    r.set_ready("xu", 85)  # the place opens: Su's break starts
    assert [(e.agent_id, e.reason) for e in _of(r.tick(85), AgentOnBreak)] == [("su", "wellbeing")]
    assert _on_break(r) == 1


# ---------------------------------------------------------------- cooldown after heavy work

COOLDOWN = """
[routing]
mode = "immediate"
[wellbeing]
cooldown_after_heavy_s = 600
cooldown_s = 300
cooldown_from = "FROM"
[[queues]]
name = "complaints"
heavy = true
priority = 5
[[queues]]
name = "orders"
"""


def test_cooldown_after_long_heavy_work_keeps_the_agent_off_all_work() -> None:
    r = _router(COOLDOWN.replace("FROM", "all"), AgentSpec(id="a"))
    _serve(r, "c0", "complaints", 0, 100)  # a short heavy call: no cooldown
    assert _assigned(_serve(r, "o0", "orders", 100, 110)) == [("o0", "a")]
    r.submit(Inquiry(id="c1", queue="complaints"), 110)
    r.tick(110)
    r.complete("c1", 800)  # 690 s of heavy work >= 600 s: 300 s off from 800
    ev = r.tick(800)
    assert [(e.agent_id, e.inquiry_id, e.until, e.off) for e in _of(ev, CooldownStarted)] == [
        ("a", "c1", 1100.0, "all")
    ]
    r.submit(Inquiry(id="o1", queue="orders"), 801)
    r.submit(Inquiry(id="c2", queue="complaints"), 801)
    assert _assigned(r.tick(801)) == []
    assert r.next_deadline() == 1100.0
    assert _assigned(r.tick(1099)) == []
    assert _assigned(r.tick(1100)) == [("c2", "a")]  # the higher priority first


def test_an_agent_whose_cooldown_ends_as_its_break_waits_takes_heavy_work_again() -> None:
    # Ann's cooldown (from 60) and her stretch (from 0) both end at 85; Bo is on a break,
    # the one place: her break waits and she keeps working, heavy work included, at once
    # (found by StaffingMachine: the timer's other news was dropped with the deferral)
    toml = (
        COOLDOWN.replace("FROM", "heavy")
        .replace("cooldown_after_heavy_s = 600", "cooldown_after_heavy_s = 10")
        .replace("cooldown_s = 300", "cooldown_s = 25")
        .replace(
            "[wellbeing]",
            "[wellbeing]\nmax_continuous_work_s = 85\nbreak_s = 30\nmax_break_share = 0.5",
        )
    )
    r = _router(toml, AgentSpec(id="ann"), AgentSpec(id="bo"))
    r.go_on_break("bo", 0)
    r.submit(Inquiry(id="c0", queue="complaints"), 0)
    assert _assigned(r.tick(0)) == [("c0", "ann")]
    r.complete("c0", 60)  # 60 s of heavy work: off heavy queues until 85
    assert [e.until for e in _of(r.tick(60), CooldownStarted)] == [85.0]
    r.submit(Inquiry(id="c1", queue="complaints"), 70)
    assert _assigned(r.tick(70)) == []
    ev = r.tick(85)
    assert [e.agent_id for e in _of(ev, BreakDeferred)] == ["ann"]
    assert _assigned(ev) == [("c1", "ann")]


def test_cooldown_from_heavy_still_takes_light_work() -> None:
    r = _router(COOLDOWN.replace("FROM", "heavy"), AgentSpec(id="a"))
    r.submit(Inquiry(id="c1", queue="complaints"), 0)
    r.tick(0)
    r.complete("c1", 700)
    assert _of(r.tick(700), CooldownStarted)[0].until == 1000.0
    r.submit(Inquiry(id="c2", queue="complaints"), 701)
    r.submit(Inquiry(id="o1", queue="orders"), 701)
    assert _assigned(r.tick(701)) == [("o1", "a")]  # light work only
    r.complete("o1", 710)
    assert _assigned(r.tick(710)) == []
    assert _assigned(r.tick(1000)) == [("c2", "a")]


# ---------------------------------------------------------------- surge overrides

# Surge mode as the backpressure layer runs it: two inquiries nobody can serve waiting
# in "flood" put the router in surge at once; withdrawing them ends it at once.
SURGE = """
[backpressure.surge]
enter_waiting = 1
enter_after_s = 0
exit_after_s = 0
queues = ["flood"]
[[queues]]
name = "flood"
requires = { nobody = 1 }
"""


def _surge_on(r: Router, at: float) -> list[Any]:
    for k in range(2):
        r.submit(Inquiry(id=f"flood{k}", queue="flood"), at)
    ev = r.tick(at)
    assert [type(e).__name__ for e in ev if "Surge" in type(e).__name__] == ["SurgeStarted"]
    return ev


def _surge_off(r: Router, at: float) -> list[Any]:
    for k in range(2):
        r.withdraw(f"flood{k}", at)
    ev = r.tick(at)
    assert [type(e).__name__ for e in ev if "Surge" in type(e).__name__] == ["SurgeEnded"]
    return ev + r.tick(at)  # guardrail timers rescheduled by the toggle fire now


def _with_surge(toml: str, suspend: str) -> str:
    return toml.replace("[wellbeing]", f"[wellbeing]\nsuspend_in_surge = {suspend}") + SURGE


def test_guardrails_hold_in_surge_unless_the_operator_opts_out() -> None:
    r = _router(_with_surge(HEAVY, "[]"), AgentSpec(id="a"))
    _surge_on(r, 0)
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "c2", "complaints", 100, 200)
    assert _assigned(_serve(r, "c3", "complaints", 201, 300)) == []


def test_heavy_limit_suspended_in_surge_when_opted_in() -> None:
    r = _router(_with_surge(HEAVY, '["heavy"]'), AgentSpec(id="a"))
    _surge_on(r, 0)
    _serve(r, "c1", "complaints", 0, 100)
    _serve(r, "c2", "complaints", 100, 200)
    assert _assigned(_serve(r, "c3", "complaints", 201, 300)) == [("c3", "a")]


def test_heavy_limit_returns_when_the_surge_ends() -> None:
    r = _router(_with_surge(HEAVY, '["heavy"]'), AgentSpec(id="a"))
    _surge_on(r, 0)
    for k in range(3):
        _serve(r, f"c{k}", "complaints", 100 * k, 100 * k + 50)
    _surge_off(r, 300)
    r.submit(Inquiry(id="c9", queue="complaints"), 301)
    assert _assigned(r.tick(301)) == []  # three in a row: blocked again, out of surge


def test_continuous_work_limit_suspended_in_surge_when_opted_in() -> None:
    r = _router(_with_surge(CONTINUOUS, '["continuous_work"]'), AgentSpec(id="a"))
    _surge_on(r, 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    assert _of(r.tick(3600), AgentOnBreak) == []
    # when the surge ends the guardrail applies at once: the stretch is long over
    ev = _surge_off(r, 4000)
    assert _of(ev, AgentOnBreak) == [
        AgentOnBreak(at=4000.0, version=1, agent_id="a", reason="wellbeing", until=None)
    ]


def test_overtime_in_surge_only_when_opted_in() -> None:
    for suspend, stop in (("[]", 1000.0), ('["shift"]', 1600.0)):
        r = _router(_with_surge(SHIFT, suspend))
        _surge_on(r, 0)
        r.login(AgentSpec(id="a", shift_end=1000.0), 0)
        r.tick(0)
        assert r.next_deadline() == stop
        assert _of(r.tick(stop - 1), AgentAway) == []
        assert _of(r.tick(stop), AgentAway)[0].reason == "shift_end"


def test_overtime_ends_with_the_surge() -> None:
    r = _router(_with_surge(SHIFT, '["shift"]'))
    _surge_on(r, 0)
    r.login(AgentSpec(id="a", shift_end=1000.0), 0)
    r.tick(0)
    assert _of(r.tick(1200), AgentAway) == []  # in overtime
    ev = _surge_off(r, 1200)
    assert _of(ev, AgentAway) == [AgentAway(at=1200.0, version=1, agent_id="a", reason="shift_end")]
