"""Directed tests from the mutation sweep of the last round's code (mutS49).

The rounds of declines (decline48: ``_round_over``, ``_end_rounds``, ``Pool.n_away`` and
their callers), the break window (break48), the answer target kept across a reconfigure and
the queue's holdings (left48) and the policies' registry (plug48) swept one mutant a line
without the randomized fuzz: each test pins one behaviour a mutant changed without the
nearest test files noticing; its comment names the mutants (``file:line`` at ``e0b096a``,
BENCHMARKS.md, mutS49). They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router
from router.config.registry import POLICIES
from router.errors import ConfigError
from router.events import AgentAway, AgentOnBreak, DeclinesForgotten, Offered
from router.model import Shift
from router.observe import Monitor
from router.stats import QueueHolds
from tests.helpers import BREAK_SHARE, config
from tests.liveness import pool_counts, stalls
from tests.test_midrun_reconfigure import ONE as MIDRUN_ONE
from tests.test_midrun_reconfigure import _answered_at_30 as answered_at_30
from tests.test_midrun_reconfigure import _in_target as in_target


def offered(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in events if isinstance(e, Offered)]


def forgotten(events: list[Any]) -> list[tuple[str, int]]:
    return [(e.inquiry_id, e.agents) for e in events if isinstance(e, DeclinesForgotten)]


# ---------------------------------------------------------------------- rounds of declines

ROUNDS = """
[routing]
offer_timeout_s = 10
max_no_answer = 1
[[queues]]
name = "q"
requires = { s = 1 }
"""


def away_and_back(back: str) -> Router:
    """``a`` lets ``y``'s offer ring out (set away: ``max_no_answer = 1``), then comes back
    by ``set_ready`` or by a break and ``set_ready``; it takes ``y`` and completes it."""
    r = Router(config(ROUNDS))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offered(r.tick(0.0)) == [("y", "a")]
    ev = r.tick(10.0)
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["a"]
    assert pool_counts(r) == []
    if back == "break":
        r.go_on_break("a", 11.0)  # from away straight to a break: out of n_away
        assert pool_counts(r) == []
    r.set_ready("a", 12.0)
    assert offered(r.tick(12.0)) == [("y", "a")]
    assert pool_counts(r) == []
    r.accept("y", 13.0)
    r.complete("y", 14.0)
    return r


def test_an_agent_back_from_away_counts_in_the_round_once() -> None:
    # `core.py:2396` (`count_away(agent, -2)` in `_make_ready`): back from away, every pool
    # of the agent counted it as away -1 times, so a round of two that both declined was
    # one short of over: `x` waited for good beside two free agents
    for back in ("ready", "break"):  # `core.py:2433` (`-2` in `_stop_new_work`): by a break
        r = away_and_back(back)
        r.login(AgentSpec(id="b", skills={"s": 1}), 20.0)
        r.submit(Inquiry(id="x", queue="q"), 20.0)
        ((_, first),) = offered(r.tick(20.0))
        r.decline("x", 21.0)
        ((_, second),) = offered(r.tick(21.0))
        assert second != first
        r.decline("x", 22.0)
        ev = r.tick(22.0)
        assert forgotten(ev) == [("x", 2)]
        assert len(offered(ev)) == 1
        assert stalls(r) == [] and pool_counts(r) == []


def test_a_decliner_set_away_no_longer_counts_against_the_round() -> None:
    # `core.py:3455` (`a is not None or ...`): a decliner set away (or no longer eligible)
    # was still counted as one who declined, so the round of b and c ended when b declined,
    # though c (busy) had not: `x` rang at b again instead of waiting for c
    r = Router(config(ROUNDS.replace("max_no_answer = 1", "max_no_answer = 1\nmode = 'offer'")))
    r.login(AgentSpec(id="c", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offered(r.tick(0.0)) == [("y", "c")]
    r.accept("y", 1.0)  # c busy: in the round, has not declined
    r.login(AgentSpec(id="a", skills={"s": 1}), 2.0)
    r.submit(Inquiry(id="x", queue="q"), 2.0)
    assert offered(r.tick(2.0)) == [("x", "a")]
    r.login(AgentSpec(id="b", skills={"s": 1}), 3.0)
    ev = r.tick(12.0)  # a lets it ring out: set away, out of the round; b is offered it
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["a"]
    assert offered(ev) == [("x", "b")] and forgotten(ev) == []
    r.decline("x", 13.0)  # b declined, c has not: the round goes on
    ev = r.tick(13.0)
    assert offered(ev) == [] and forgotten(ev) == []
    assert stalls(r) == [] and pool_counts(r) == []
    r.complete("y", 14.0)
    assert offered(r.tick(14.0)) == [("x", "c")]


def test_the_last_undeclined_agent_logging_out_idle_ends_the_round() -> None:
    # `core.py:2532` (`_end_rounds` dropped from `_remove_agent`): b, on a break and so
    # in the round, logs out with nothing in flight (removed at once): the round is over
    r = Router(config(ROUNDS))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 0.0)
    r.go_on_break("b", 0.0)
    r.submit(Inquiry(id="x", queue="q"), 1.0)
    assert offered(r.tick(1.0)) == [("x", "a")]
    r.decline("x", 2.0)
    ev = r.tick(2.0)
    assert offered(ev) == [] and forgotten(ev) == []  # b, on a break, has not declined
    r.logout("b", 3.0)
    ev = r.tick(3.0)
    assert forgotten(ev) == [("x", 1)]
    assert offered(ev) == [("x", "a")]
    assert stalls(r) == [] and pool_counts(r) == []


def test_a_shift_change_out_of_the_queue_ends_the_round() -> None:
    # `core.py:2914` (`_end_rounds` dropped from `_repool`), `:2901`: b's next shift (no
    # gap, so b stays on shift) serves another queue only: b leaves q's round, which a
    # alone has declined: over, x goes back to a
    r = Router(config(ROUNDS + '[[queues]]\nname = "r"\nrequires = { s = 1 }\n'))
    shifts = [Shift(start_s=0.0, end_s=100.0), Shift(start_s=100.0, queues={"r": 1.0})]
    r.login(AgentSpec(id="b", skills={"s": 1}, shifts=shifts), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offered(r.tick(0.0)) == [("y", "b")]
    r.accept("y", 1.0)
    r.login(AgentSpec(id="a", skills={"s": 1}), 2.0)
    r.submit(Inquiry(id="x", queue="q"), 2.0)
    assert offered(r.tick(2.0)) == [("x", "a")]
    r.decline("x", 3.0)
    ev = r.tick(3.0)
    assert offered(ev) == [] and forgotten(ev) == []  # b, busy, has not declined
    ev = r.tick(100.0)
    assert forgotten(ev) == [("x", 1)]
    assert offered(ev) == [("x", "a")]
    assert stalls(r) == [] and pool_counts(r) == []


def test_rounds_over_at_once_are_forgotten_most_urgent_first() -> None:
    # `core.py:3492` (`over.sort(key=_urgency)` dropped): b logging out ends three rounds
    # at once; the declined heap holds x1, x3, x2 (declined in that order), and the
    # inquiries are forgotten and back in line in urgency order, not the heap's
    cfg = """
[routing]
offer_timeout_s = 100
max_no_answer = 1000
[[queues]]
name = "c"
channel = "chat"
requires = { s = 1 }
"""
    r = Router(config(cfg))
    r.login(AgentSpec(id="b", skills={"s": 1}, capacity={"chat": 1}), 0.0)
    r.submit(Inquiry(id="y", queue="c"), 0.0)
    assert offered(r.tick(0.0)) == [("y", "b")]
    r.accept("y", 1.0)  # b full: in the round, has not declined
    r.login(AgentSpec(id="a", skills={"s": 1}, capacity={"chat": 3}), 2.0)
    for n in (1, 2, 3):
        r.submit(Inquiry(id=f"x{n}", queue="c"), 2.0 + n)
    assert offered(r.tick(5.0)) == [("x1", "a"), ("x2", "a"), ("x3", "a")]
    for n in (1, 3, 2):
        r.decline(f"x{n}", 6.0)
    ev = r.tick(6.0)
    assert offered(ev) == [] and forgotten(ev) == []
    r.logout("b", 8.0)
    ev = r.tick(8.0)
    assert forgotten(ev) == [("x1", 1), ("x2", 1), ("x3", 1)]
    assert offered(ev) == [("x1", "a"), ("x2", "a"), ("x3", "a")]
    assert stalls(r) == [] and pool_counts(r) == []


def test_an_agent_set_away_that_leaves_the_pool_leaves_no_count_behind() -> None:
    # `records.py:1004` (`pool.n_away -= 1` dropped from `leave_pools`): a, set away, is
    # updated to serve another skill (its pools worked out again while away); q's pool still
    # counted one agent away, so the round of b and c (busy, has not declined) ended when b
    # declined: `x` rang at b again instead of waiting for c. (A logout comes back from
    # away first: `_stop_new_work` counts it out.)
    r = Router(config(ROUNDS))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="w", queue="q"), 0.0)
    assert offered(r.tick(0.0)) == [("w", "a")]
    ev = r.tick(10.0)
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["a"]
    r.withdraw("w", 11.0)
    r.update_agent(AgentSpec(id="a", skills={"t": 1}), 12.0)
    r.login(AgentSpec(id="c", skills={"s": 1}), 13.0)
    r.submit(Inquiry(id="y", queue="q"), 13.0)
    assert offered(r.tick(13.0)) == [("y", "c")]
    r.accept("y", 14.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 15.0)
    r.submit(Inquiry(id="x", queue="q"), 15.0)
    assert offered(r.tick(15.0)) == [("x", "b")]
    r.decline("x", 16.0)
    ev = r.tick(16.0)
    assert offered(ev) == [] and forgotten(ev) == []  # c has not declined it
    assert stalls(r) == [] and pool_counts(r) == []


# ---------------------------------------------------------------------- the break window

# BREAK_SHARE: a break of 30 s after 80 s of work, half the staff on a break at once


def window(w: float) -> str:
    return BREAK_SHARE.replace(
        "max_break_share = 0.5\n", f"max_break_share = 0.5\nbreak_window_s = {w}\n"
    )


def breaks(events: list[Any]) -> list[tuple[str, float | None]]:
    """(agent, until) of the wellbeing breaks in ``events`` (until None: a notice)."""
    return [
        (e.agent_id, e.until)
        for e in events
        if isinstance(e, AgentOnBreak) and e.reason == "wellbeing"
    ]


def early_entries(r: Router) -> tuple[int, int]:
    """(``n_early``, the entries in the early heaps): the count, stale entries included,
    is what gates the queue (``next_early``) and its compaction."""
    bs = r._breaks
    return bs.n_early, sum(len(t.early) for t in (bs.all, *bs.teams.values()))


def test_without_a_window_no_break_comes_early_however_close_to_due() -> None:
    # `core.py:589` (`else 1.0`: no window given, a window of 1 s): freed up half a second
    # before its break falls due, su takes the break at its due time, not at once
    r = Router(config(BREAK_SHARE))
    r.login(AgentSpec(id="su"), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    r.complete("i1", 79.5)
    assert breaks(r.tick(79.5)) == []
    assert breaks(r.tick(80)) == [("su", 110.0)]


@pytest.mark.parametrize(
    ("w", "ring", "done", "ready"), [(40, 30.0, 50.0, 55.0), (1, 73.0, 79.25, 79.5)]
)
def test_an_agent_back_from_away_in_its_window_is_asked(
    w: float, ring: float, done: float, ready: float
) -> None:
    # `core.py:2410` (the ask in `_make_ready` dropped), `:2409` (`_early_s > 1.0`, so a
    # window of 1 s): su, holding a chat, lets a second chat's offer ring out (set away,
    # `max_no_answer = 1`), frees up in her window while away (not ready: not asked then);
    # back (`set_ready`, her stretch goes on) she is asked and takes her break early
    cfg = window(w).replace(
        'mode = "immediate"', 'mode = "offer"\noffer_timeout_s = 5\nmax_no_answer = 1'
    )
    cfg = cfg.replace('name = "q"', 'name = "q"\nchannel = "chat"')
    r = Router(config(cfg))
    r.login(AgentSpec(id="su", capacity={"chat": 2}), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    assert offered(r.tick(0)) == [("i1", "su")]
    r.accept("i1", 0)
    r.submit(Inquiry(id="i2", queue="q"), ring)
    assert offered(r.tick(ring)) == [("i2", "su")]
    ev = r.tick(ring + 5)
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["su"]
    r.withdraw("i2", ring + 5)
    r.complete("i1", done)
    assert breaks(r.tick(done)) == []
    # every agent is asked again after a reconfigure: away, su is no candidate
    # (`wellbeing.py:108`, `max_work is None and agent.state != READY`)
    r.reconfigure(config(cfg.replace("break_s = 30", "break_s = 30.0")), done)
    assert breaks(r.tick(done)) == []
    r.set_ready("su", ready)
    assert breaks(r.tick(ready)) == [("su", ready + 30.0)]


@pytest.mark.parametrize(
    ("w", "done", "change", "back"), [(40, 50.0, 55.0, 60.0), (1, 79.25, 79.5, 79.75)]
)
def test_a_reconfigure_keeps_a_waiting_candidate_a_candidate(
    w: float, done: float, change: float, back: float
) -> None:
    # `core.py:2860` (`_ask_early_all` dropped from `_recount_breaks`), `:2842` (`_early_s
    # > 1.0`: a window of 1 s not asked again): the reconfigure counts every agent again
    # and drops the candidates; they must be asked again, so su, in her window and waiting
    # for a place when the config changes, takes it when li is back, not at her due time
    r = Router(config(window(w)))
    for aid in ("su", "li", "pu"):
        r.login(AgentSpec(id=aid), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su")
    r.go_on_break("li", 40)
    r.complete("i1", done)
    assert breaks(r.tick(done)) == []  # no place: li has it
    r.reconfigure(config(window(w).replace("break_s = 30", "break_s = 25")), change)
    assert breaks(r.tick(change)) == []
    r.set_ready("li", back)
    assert breaks(r.tick(back)) == [("su", back + 25.0)]


def test_a_candidate_passed_over_in_a_surge_is_asked_again_when_it_ends() -> None:
    # `core.py:5263` (`_ask_early_all` dropped from the surge's change): in a surge that
    # suspends continuous work su's candidacy lapses (the place li frees at 55 finds her
    # entry stale and drops it); when the surge ends she is asked again and goes
    toml = (
        window(40).replace(
            "max_break_share = 0.5\n",
            'max_break_share = 0.5\nsuspend_in_surge = ["continuous_work"]\n',
        )
        + '[[queues]]\nname = "c"\nchannel = "chat"\n'
        + "[backpressure.surge]\nenter_waiting = 1\nenter_after_s = 0\nexit_after_s = 0\n"
    )
    r = Router(config(toml))
    for aid in ("su", "li"):
        r.login(AgentSpec(id=aid), 0)
    r.login(AgentSpec(id="pu", capacity={"chat": 1}), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.submit(Inquiry(id="c1", queue="c"), 0)
    r.tick(0)
    assert r.holds("i1", "su") and r.holds("c1", "pu")
    r.go_on_break("li", 40)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []  # no place: li has it
    r.submit(Inquiry(id="c2", queue="c"), 51)  # waits for pu
    r.submit(Inquiry(id="c3", queue="c"), 51)  # one waiting: a surge
    r.tick(51)
    assert r._surge
    r.set_ready("li", 55)
    assert breaks(r.tick(55)) == []  # a place, but continuous work is suspended
    # su's entry dropped when the surge began (`breaks.py:314`, `:315`: `clear_early`
    # keeping the entries or their count: the count, stale ones included, gates the queue)
    assert early_entries(r) == (0, 0)
    r.withdraw("c2", 58)
    r.withdraw("c3", 58)
    ev = r.tick(58)
    assert not r._surge
    assert breaks(ev) == [("su", 88.0)]


def test_a_colleague_who_logged_out_is_not_due_ahead_of_a_candidate() -> None:
    # `breaks.py:155` (`group.members.pop` dropped): a, due at 80, logs out at 10; su (due
    # at 85) frees up in her window at 50 with a place free: nobody on shift is due before
    # her, so she goes at once (the gone a must not hold the place for itself)
    r = Router(config(window(40)))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    r.login(AgentSpec(id="su"), 5)
    r.submit(Inquiry(id="i1", queue="q"), 5)
    r.tick(5)
    assert r.holds("i0", "a") and r.holds("i1", "su")
    r.login(AgentSpec(id="pu"), 6)
    r.complete("i0", 9)
    r.logout("a", 10)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == [("su", 80.0)]
    assert early_entries(r) == (0, 0)  # `breaks.py:308` (`n_early += 1` as it goes)


def test_many_free_ups_in_the_window_compact_the_candidates_queue() -> None:
    # `breaks.py:249`-`:251` (the compaction of the early heaps: `n = 0` dropped, the
    # entry's agent misread), `:253`, `:254` (the count of entries left wrong): su frees up
    # 71 times in her window while li holds the only place, each free-up a new entry (past
    # 64 + 2 x 2 staffed: compacted, all kept: they stand); when li is back su goes
    r = Router(config(window(40)))
    r.login(AgentSpec(id="su"), 0)
    r.login(AgentSpec(id="li"), 0)
    r.go_on_break("li", 0)
    r.submit(Inquiry(id="w", queue="q"), 0)
    r.tick(0)
    r.complete("w", 40.5)  # su worked from 0: due at 80
    assert breaks(r.tick(40.5)) == []
    for n in range(70):
        t = 41.0 + n / 2
        r.submit(Inquiry(id=f"i{n}", queue="q"), t)
        r.tick(t)
        assert r.holds(f"i{n}", "su")
        r.complete(f"i{n}", t + 0.25)
        assert breaks(r.tick(t + 0.25)) == []
    assert early_entries(r) == (71, 71)
    r.set_ready("li", 77)
    assert breaks(r.tick(77)) == [("su", 107.0)]


def test_a_candidate_who_took_work_again_is_dropped_when_met() -> None:
    # `breaks.py:297` (`n_early -= 2` for a stale entry met at a queue's head): su, a
    # candidate waiting for a place, takes a call; when li's place opens her entry is
    # stale, dropped, and the count of entries follows (it gates the queue)
    r = Router(config(window(40)))
    for aid in ("su", "li", "pu"):
        r.login(AgentSpec(id=aid), 0)
    for iid in ("i1", "i2"):
        r.submit(Inquiry(id=iid, queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su") and r.holds("i2", "li")
    r.complete("i2", 1)
    r.go_on_break("li", 1)
    r.submit(Inquiry(id="i3", queue="q"), 1)
    r.tick(1)
    assert r.holds("i3", "pu")
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == [] and early_entries(r) == (1, 1)
    r.submit(Inquiry(id="x", queue="q"), 52)
    r.tick(52)
    assert r.holds("x", "su")
    r.set_ready("li", 55)
    assert breaks(r.tick(55)) == []
    assert early_entries(r) == (0, 0)


@pytest.mark.parametrize(
    ("done", "shift_end", "early"),
    [(40.0, None, True), (45.0, 80.0, False), (45.0, 80.5, True)],
    ids=["window_opens", "shift_ends_at_due", "shift_ends_after_due"],
)
def test_the_window_and_the_shift_end_at_their_edges(
    done: float, shift_end: float | None, early: bool
) -> None:
    # `wellbeing.py:115` (`idle_from <= due - window`): freed up exactly as the window
    # opens (80 - 40) is in it; `:117` (`due > staffed_until`): a shift ending exactly when
    # the break falls due means home, not an early break
    r = Router(config(window(40)))
    r.login(AgentSpec(id="su", shift_end=shift_end), 0)
    r.login(AgentSpec(id="li"), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su")
    r.complete("i1", done)
    assert breaks(r.tick(done)) == ([("su", done + 30.0)] if early else [])


# ---------------------------------------------------------------------- the answer target kept


def test_a_take_back_at_exactly_the_target_comes_out_of_in_target() -> None:
    # `core.py:1757` (the queue's target not read when none was kept: a take-back without
    # a reconfigure compared with None), `:1760` (`wait < target`): answered after exactly
    # the 60 s target (in target), handed back: both counts go back to 0
    r = Router(config(MIDRUN_ONE))
    mon = Monitor(config(MIDRUN_ONE))
    r.submit(Inquiry(id="i", queue="q"), now=0.0)
    mon.feed(r.tick(0.0))
    r.login(AgentSpec(id="a", skills={"x": 1}), now=60.0)
    mon.feed(r.tick(60.0))
    assert in_target(r, mon) == (1, 1, 1, 1)
    # the monitor's histogram counts the answer once (`monitor.py:584`, `+2`)
    assert mon.statistics().queues["q"].wait_histogram[-1] == 1
    r.hand_back("i", 70.0)
    mon.feed(r.tick(70.0))
    assert in_target(r, mon) == (0, 0, 0, 0)
    assert set(mon.statistics().queues["q"].wait_histogram) == {0}


def test_a_second_take_back_uses_the_target_in_force_not_the_kept_one() -> None:
    # `core.py:1759` (the kept target not cleared by the take-back that used it): i was
    # answered in 60 s's target, the target lowered to 10, handed back (out as counted),
    # answered again after 55 s (late by 10) and handed back again: out as late, by 10
    r, mon = answered_at_30()
    r.hand_back("i", 50.0)
    mon.feed(r.tick(50.0))
    r.login(AgentSpec(id="b", skills={"x": 1}), now=55.0)
    mon.feed(r.tick(55.0))
    assert in_target(r, mon) == (1, 0, 1, 0)
    r.hand_back("i", 56.0)
    mon.feed(r.tick(56.0))
    assert in_target(r, mon) == (0, 0, 0, 0)
    assert [t.answer_target for t in r._tickets.values()] == [None]  # nothing kept now


def test_a_second_change_of_the_target_keeps_the_first_kept_one() -> None:
    # `core.py:4576` (`q.name in changed or t.answer_target is None`: the kept target
    # overwritten by the next change): i was answered within 60 s (30 s), the target
    # lowered to 10 then raised to 20; the hand-back takes out the answer as counted
    r, mon = answered_at_30()
    raised = config(MIDRUN_ONE.replace("answer_target_s = 60", "answer_target_s = 20"))
    r.reconfigure(raised, 45.0)
    mon.feed(r.tick(45.0))
    mon.configure(raised)
    r.hand_back("i", 50.0)
    mon.feed(r.tick(50.0))
    assert in_target(r, mon) == (0, 0, 0, 0)


def test_the_count_of_ready_agents_follows_a_break_and_away() -> None:
    # `core.py:2427` (`was != READY`: the ready count taken down when a non-ready agent
    # stops new work, not when a ready one does; the line decline48 moved)
    r = Router(config(ROUNDS))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 0.0)
    assert r.statistics().agents_ready == 2
    r.go_on_break("a", 1.0)
    assert r.statistics().agents_ready == 1
    r.submit(Inquiry(id="w", queue="q"), 2.0)
    assert offered(r.tick(2.0)) == [("w", "b")]
    ev = r.tick(12.0)  # b lets it ring out: away
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["b"]
    assert r.statistics().agents_ready == 0
    r.set_ready("a", 13.0)
    r.set_ready("b", 13.0)
    assert r.statistics().agents_ready == 2


def test_a_candidate_is_queued_once_per_free_up_not_once_per_pass() -> None:
    # `core.py:2824` (`self._early_asks = {}` dropped: every agent ever asked asked again
    # at every matching pass): su, a candidate waiting for li's place, stays one entry
    # while pu takes and finishes calls of a queue only pu serves (a pass each)
    r = Router(config(window(40) + '[[queues]]\nname = "p"\nrequires = { s = 1 }\n'))
    for aid in ("su", "li"):
        r.login(AgentSpec(id=aid), 0)
    r.login(AgentSpec(id="pu", skills={"s": 1}, queues={"p": 1.0}), 0)
    for iid in ("i1", "i2"):
        r.submit(Inquiry(id=iid, queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su") and r.holds("i2", "li")
    r.complete("i2", 1)
    r.go_on_break("li", 1)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == [] and early_entries(r) == (1, 1)
    for n in range(3):
        r.submit(Inquiry(id=f"x{n}", queue="p"), 51 + n)
        r.tick(51 + n)
        assert r.holds(f"x{n}", "pu")
        r.complete(f"x{n}", 51.5 + n)
        assert breaks(r.tick(51.5 + n)) == []
    assert early_entries(r) == (1, 1)
    r.set_ready("li", 55)
    assert breaks(r.tick(55)) == [("su", 85.0)]


def test_queue_holds_is_built_by_keyword_and_frozen() -> None:
    # `stats.py:58` (`kw_only=False`): `QueueHolds(2, 1, 3)` would read as whatever order
    # the fields happen to have; the figures are named
    with pytest.raises(TypeError):
        QueueHolds(2, 1, 3)  # type: ignore[call-arg]
    h = QueueHolds(waiting=2, between_attempts=1, held_tasks=3)
    assert (h.total, h.describe()) == (
        6,
        "2 waiting, 1 callback between attempts, 3 held outbound tasks",
    )
    with pytest.raises(AttributeError):
        h.waiting = 0  # type: ignore[misc]


# ---------------------------------------------------------------------- the policies' registry


def test_an_entry_point_that_is_not_callable_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `registry.py:104` (the "is not callable" refusal dropped: the object registered as a
    # factory, and the config accepted; `Router(...)` then fails calling it)
    pkg = tmp_path / "notcall_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("POLICY = 3\n")
    info = tmp_path / "notcall_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: notcall-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[router.policies]\nnotcall = notcall_plugin:POLICY\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    saved = dict(POLICIES)
    try:
        with pytest.raises(ConfigError) as refused:
            config('[backpressure]\npolicy = ["notcall"]\n[[queues]]\nname = "a"\n')
        assert refused.value.problems == [
            "$.backpressure.policy[0]: policy 'notcall' (entry point notcall_plugin:POLICY) "
            "is not callable"
        ]
        assert "notcall" not in POLICIES
    finally:
        POLICIES.clear()
        POLICIES.update(saved)
        sys.modules.pop("notcall_plugin", None)


@pytest.mark.parametrize(
    ("leave", "at"),
    [("logout", 55.0), ("shift_end", 70.0)],
    ids=["logs_out_with_a_call_in_flight", "shift_ends_within_break_s"],
)
def test_a_colleague_due_first_who_starts_leaving_frees_the_place_held_for_it(
    leave: str, at: float
) -> None:
    # Found by `core.py:2829` (`added = True`, a release at every pass that asked anyone),
    # a fix of `BreakStaffing.count`: su (due 85) frees up in her window at 50 with a place
    # free, held for a (due 80, busy). a starts leaving (logs out with a call in flight, or
    # her shift ends within `break_s`): she no longer counts ahead, and su goes then, not
    # when a's call ends (70) or at her due time (85)
    r = Router(config(window(40)))
    r.login(AgentSpec(id="a", shift_end=100.0 if leave == "shift_end" else None), 0)
    r.submit(Inquiry(id="ia", queue="q"), 0)
    r.tick(0)
    r.login(AgentSpec(id="su"), 5)
    r.submit(Inquiry(id="i1", queue="q"), 5)
    r.tick(5)
    r.login(AgentSpec(id="pu"), 10)
    assert r.holds("ia", "a") and r.holds("i1", "su")
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == []  # a, due first, would take the place
    if leave == "logout":
        r.logout("a", at)
    else:
        assert breaks(r.tick(at - 1)) == []  # not leaving yet
    assert breaks(r.tick(at)) == [("su", at + 30.0)]
