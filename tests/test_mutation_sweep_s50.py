"""Directed tests from the mutation sweep of the last round's code (mutS50).

The drain for a break (drain49: ``drain_for_break``, ``AgentDraining``, the window's
opening), the break-window candidates in snapshots (snap49), the restore's slot limit, the
engine's hours in force and added queues (fix49), ``Router.on_reconfigure`` and the chain
built before a reconfigure (tidy49), and mutS49's three open mutants, swept one mutant a
line without the randomized fuzz: each test pins one behaviour a mutant changed without the
nearest test files noticing; its comment names the mutants (``file:line`` at ``659b705``,
BENCHMARKS.md, mutS50). They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router
from router.config.registry import POLICIES
from router.events import AgentAway, AgentDraining, AgentReady, Offered
from router.model import Shift
from router.policies import register_policy
from router.sim import build_report, simulate
from router.state import codec
from router.state.breaks import LEAVING
from tests.helpers import config
from tests.test_custom_policy import STRICT_REFUSED, Strict, bounded
from tests.test_drain_for_break import DRAIN, SURGE
from tests.test_drain_for_break import spec as drain_spec
from tests.test_mutation_sweep_s49 import breaks, early_entries, window
from tests.test_sim_engine import BREAK_PAIR, scenario

# BREAK_SHARE (tests/helpers.py): a break of 30 s after 80 s of work, half the staff on a
# break at once; window(w): with break_window_s = w


def _own_queues(names: str | tuple[str, ...]) -> str:
    """One queue per agent name, served only by the agent of that name."""
    return "".join(f'[[queues]]\nname = "{n}"\nrequires = {{ {n} = 1 }}\n' for n in names)


def _call(r: Router, aid: str, iid: str, at: float, queue: str | None = None) -> None:
    r.submit(Inquiry(id=iid, queue=queue or aid), at)
    r.tick(at)
    assert r.holds(iid, aid), iid


# ---------------------------------------------------------------------- mutS49's open three


def test_a_compaction_with_a_stale_head_keeps_the_candidates_in_due_order() -> None:
    # `breaks.py:262` (`tally.early.sort()` dropped from the compaction; mutS49's open
    # `breaks:252`): h (due 80), b (84) and c (82) free up in their windows in that order
    # while the four places are taken (the heap [h, b, c, ...]); s frees up again and again
    # (past 64 + 2 x 8 staffed entries: every free-up compacts, all kept). h takes a call
    # and s frees up once more: the compaction drops h's entry at the head, and a filtered
    # heap is no heap (b before c). When two places open, c (due before b; h, due first,
    # counts ahead: one place each) takes one; without the sort b heads the queue and,
    # with h and c due before it, takes none
    r = Router(config(window(40) + _own_queues("hbcs")))
    for n in range(1, 5):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    for aid, at in (("h", 0), ("c", 2), ("b", 4), ("s", 6)):
        r.login(AgentSpec(id=aid, skills={aid: 1}), at)
        _call(r, aid, aid + "0", at)
    for aid, free in (("h", 41), ("b", 45), ("c", 46), ("s", 47)):
        r.complete(aid + "0", free)
        assert breaks(r.tick(free)) == [], aid
    n = 1
    while early_entries(r)[0] <= 81:
        t = 47 + n / 4
        _call(r, "s", f"s{n}", t)
        r.complete(f"s{n}", t + 0.125)
        assert breaks(r.tick(t + 0.125)) == []
        n += 1
    _call(r, "h", "h1", 68)
    _call(r, "s", "sx", 68.5)
    r.complete("sx", 69)
    assert breaks(r.tick(69)) == []
    assert early_entries(r) == (82, 82)  # compacted at every free-up: all of s's stand
    r.set_ready("l1", 70)
    r.set_ready("l2", 70)
    assert breaks(r.tick(70)) == [("c", 100.0)]


@pytest.mark.parametrize(
    ("m_works", "at"), [(True, 74.0), (False, 80.0)], ids=["m_takes_work", "m_timer"]
)
def test_a_colleague_due_first_who_rested_frees_the_place_held_for_it(
    m_works: bool, at: float
) -> None:
    # `core.py:2892` (`added = True` in `_ask_early`: a release at every pass that asked
    # anyone; mutS49's open `core:2829`) found it: m (due 80) frees up in her window at 41
    # with no place (l1 and l2 on a break), and rests (idle 30 s: that was a break, no
    # candidate any more). x (due 90) frees up at 55; when l2 is back at 72 the place is
    # held for m, due first. m's stretch restarts (her natural break) when she takes work
    # at 74, or at her timer at 80: she is due at 154 or 160, no longer ahead of x, and x
    # takes the place then. Before, nothing looked at the candidates again: x got no
    # early break (the mutant gave it at z's free-up at 76, a pass that asked someone)
    r = Router(config(window(40) + _own_queues("mxz")))
    for n in (1, 2):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    for aid, t in (("m", 0), ("x", 10)):
        r.login(AgentSpec(id=aid, skills={aid: 1}), t)
        _call(r, aid, aid + "0", t)
    r.complete("m0", 41)
    assert breaks(r.tick(41)) == []
    r.login(AgentSpec(id="z", skills={"z": 1}), 50)
    _call(r, "z", "z0", 50)
    r.complete("x0", 55)
    assert breaks(r.tick(55)) == []
    r.set_ready("l2", 72)
    assert breaks(r.tick(72)) == [] and early_entries(r) == (1, 1)
    got = []
    if m_works:
        r.submit(Inquiry(id="m1", queue="m"), 74)
        got += breaks(r.tick(74))
        assert r.holds("m1", "m")
    r.complete("z0", 76)
    got += breaks(r.tick(76))
    for t in range(77, 95):
        got += breaks(r.tick(t))
    assert got == [("x", at + 30)]


# ---------------------------------------------------------------------- snap49: Snapshot.early


def _two_waiting(r: Router) -> None:
    """l1 and l2 on a break of their own (every place: one of three, two of four), su (due
    80) working."""
    for n in (1, 2):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    r.login(AgentSpec(id="su", skills={"su": 1}), 0)
    _call(r, "su", "s0", 0)


def test_a_restored_router_counts_its_candidates_up() -> None:
    # `breaks.py:344` (`n_early -= 1` in `restore_early`): su waits in her window for a
    # place when the router is restored; xu frees up in hers after the restore (a second
    # candidate: two entries, not 0, which would read as none queued), and when l2 is back
    # the place goes to su, due first
    r = Router(config(window(40) + _own_queues(("su", "xu"))))
    _two_waiting(r)
    r.login(AgentSpec(id="xu", skills={"xu": 1}), 5)
    _call(r, "xu", "x0", 5)
    r.complete("s0", 50)
    assert breaks(r.tick(50)) == []
    r = Router.restore(r.snapshot())
    assert early_entries(r) == (1, 1)
    r.complete("x0", 55)
    assert breaks(r.tick(55)) == []
    assert early_entries(r) == (2, 2)
    r.set_ready("l2", 60)
    assert breaks(r.tick(60)) == [("su", 90.0)]


def test_a_restored_routers_snapshot_is_the_same_bytes_whatever_its_teams_order() -> None:
    # `breaks.py:335` (`out.sort()` dropped in `early_entries`: the entries in the order of
    # the tallies): team a's tally is made first (a1 logs in first), but a1 logs out and in
    # again, so the agents' order (b1, a1) makes the restored router's tallies b then a. a1
    # and b1 wait in their windows (c1's break takes the one place router-wide); the
    # restored router's snapshot is the bytes it was restored from (tests/machine_base.py
    # checks it of every restore): the entries sorted (b1 first, due with a1 but logged in
    # before her), not in the tallies' order
    r = Router(config(window(40) + _own_queues("abc")))
    r.login(AgentSpec(id="a1", team="a", skills={"a": 1}), 0)
    r.logout("a1", 1)
    r.login(AgentSpec(id="b1", team="b", skills={"b": 1}), 2)
    r.login(AgentSpec(id="a1", team="a", skills={"a": 1}), 2)
    r.login(AgentSpec(id="c1", skills={"c": 1}), 2)
    r.go_on_break("c1", 2)
    _call(r, "a1", "ia", 2, "a")
    _call(r, "b1", "ib", 2, "b")
    r.complete("ia", 50)
    r.complete("ib", 50)
    assert breaks(r.tick(50)) == []
    assert list(r._breaks.teams) == ["a", "b"]
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert list(restored._breaks.teams) == ["b", "a"]
    early = codec.decode(snap).early
    assert isinstance(early, codec.EarlyRecord)
    assert [e[3] for e in early.entries] == ["b1", "a1"]  # by due
    assert restored.snapshot() == snap


def test_the_candidates_record_is_an_array_on_the_wire() -> None:
    # `codec.py:144` (`EarlyRecord` as a map): snapshots snap49's build wrote hold the
    # candidates as an array of three (asks, entries, counter); they must restore as such
    r = Router(config(window(40) + _own_queues(("su",))))
    _two_waiting(r)
    r.complete("s0", 50)
    r.tick(50)
    raw = msgspec.msgpack.decode(r.snapshot())
    assert raw["early"] == [[], [[80.0, r._agents["su"].incarnation, 1, "su"]], 1]
    restored = Router.restore(msgspec.msgpack.encode(raw))
    restored.set_ready("l1", 60)
    restored.set_ready("l2", 60)
    assert breaks(restored.tick(60)) == [("su", 90.0)]


def test_a_window_of_a_second_keeps_its_candidates_in_the_snapshot() -> None:
    # `core.py:4949` (`_early_record`'s `<= 1.0`: a window of 1 s left out of the bytes): su
    # frees up half a second before her break falls due with no place; the snapshot holds
    # her as a candidate
    r = Router(config(window(1) + _own_queues(("su",))))
    _two_waiting(r)
    r.complete("s0", 79.5)
    assert breaks(r.tick(79.5)) == []
    early = codec.decode(r.snapshot()).early
    assert isinstance(early, codec.EarlyRecord)
    assert [e[3] for e in early.entries] == ["su"]


# ---------------------------------------------------------------------- drain49: the drain


def test_a_reconfigure_that_turns_the_drain_off_ends_only_the_drains() -> None:
    # `core.py:2859`-`:2862` (`_draining`'s `and`s as `or`: agents on a break proper or on
    # a break of the caller's read as draining), `:2872` (`_end_drains`' `continue` dropped:
    # every agent, draining or not, made ready): su drains from 40 (her window, two
    # chats held); pu frees up at her window's opening at 41 and takes her early break (the
    # second place of four); li goes on a break of her own at 45 (ku works). The switch
    # turned off at 55 ends su's drain only
    r = Router(config(DRAIN + _own_queues(("pu",))))
    r.login(drain_spec("su"), 0)
    for iid in ("c1", "c2"):
        r.submit(Inquiry(id=iid, queue="c"), 0)
    r.tick(0)
    assert r.holds("c1", "su") and r.holds("c2", "su")
    r.login(drain_spec("pu", skills={"pu": 1}), 1)
    _call(r, "pu", "p1", 1)
    r.login(drain_spec("li"), 30)
    r.login(drain_spec("ku"), 30)
    ev = r.tick(40)
    assert breaks(ev) == [("su", None)]
    r.complete("p1", 41)
    assert breaks(r.tick(41)) == [("pu", 71.0)]
    r.go_on_break("li", 45)
    r.tick(45)
    r.reconfigure(config(DRAIN.replace("drain_for_break = true\n", "")), 55)
    ev = r.tick(55)
    assert [e.agent_id for e in ev if isinstance(e, AgentReady)] == ["su"]
    states = {aid: r.agent_statistics(aid).state for aid in ("su", "pu", "li", "ku")}
    assert states == {"su": "busy", "pu": "break", "li": "break", "ku": "idle"}


def test_a_window_of_a_second_drains_at_its_opening() -> None:
    # `core.py:2650` (`_drain_s > 1.0`: no timer at the opening of a 1 s window): su holds
    # two chats; her window opens at 79, a second before her break falls due: she drains
    # then, not at 80
    r = Router(config(DRAIN.replace("break_window_s = 40\n", "break_window_s = 1\n")))
    r.login(drain_spec("su"), 0)
    for iid in ("c1", "c2"):
        r.submit(Inquiry(id=iid, queue="c"), 0)
    r.tick(0)
    assert breaks(r.tick(78)) == []
    ev = r.tick(79)
    assert breaks(ev) == [("su", None)]
    assert [(e.agent_id, e.due) for e in ev if isinstance(e, AgentDraining)] == [("su", 80.0)]


def _su_drains(text: str, at: float) -> Router:
    """su holds two chats from 0 (due 80); she drains from ``at``, her window's opening."""
    r = Router(config(text))
    r.login(drain_spec("su"), 0)
    for iid in ("c1", "c2"):
        r.submit(Inquiry(id=iid, queue="c"), 0)
    r.tick(0)
    ev = r.tick(at)
    assert [(e.agent_id, e.due) for e in ev if isinstance(e, AgentDraining)] == [("su", 80.0)]
    return r


@pytest.mark.parametrize(
    ("w", "at", "now"), [(40, 40.0, 40.0), (1, 79.0, 79.5)], ids=["at_the_opening", "window_1s"]
)
def test_a_reconfigure_that_keeps_the_window_keeps_the_drain(w: int, at: float, now: float) -> None:
    # `core.py:2878` (`<=`: a drain ended by a reconfigure at the very instant its window
    # opened) and `:2875` (`_drain_s <= 1.0`: a drain in a window of 1 s read as the
    # switch off): the same config again keeps su draining
    text = DRAIN.replace("break_window_s = 40\n", f"break_window_s = {w}\n")
    r = _su_drains(text, at)
    r.reconfigure(config(text), now)
    ev = r.tick(now)
    assert [e for e in ev if isinstance(e, AgentReady)] == []
    assert r.agent_statistics("su").draining


def test_a_surge_ends_a_drain_in_a_window_of_a_second() -> None:
    # `core.py:5372` (`_drain_s > 1.0` in the surge's start: a drain in a 1 s window kept
    # while continuous work is suspended): su drains from 79; the surge at 79.5 ends it
    r = _su_drains(SURGE.replace("break_window_s = 40\n", "break_window_s = 1\n"), 79.0)
    r.submit(Inquiry(id="f", queue="flood"), 79.5)
    r.submit(Inquiry(id="g", queue="flood"), 79.5)
    ev = r.tick(79.5)
    assert r._surge
    assert [e.agent_id for e in ev if isinstance(e, AgentReady)] == ["su"]
    assert not r.agent_statistics("su").draining


def test_at_its_due_time_a_candidates_break_is_the_timers_not_a_drain() -> None:
    # `wellbeing.py:113` (`now > due`: a candidate still one at its due instant): su holds
    # two chats, queued a candidate at her window's opening (40) while li's break of her
    # own takes the one place; xu's shift starts at 80, su's due time, and opens a second
    # place. The instant's release meets su's entry first: at her due time it is stale,
    # and her timer gives her the due break (a notice, no AgentDraining)
    r = Router(config(DRAIN))
    r.login(drain_spec("su"), 0)
    for iid in ("c1", "c2"):
        r.submit(Inquiry(id=iid, queue="c"), 0)
    r.tick(0)
    r.login(drain_spec("li"), 0)
    r.go_on_break("li", 0)
    r.login(drain_spec("pu"), 30)
    r.login(drain_spec("xu", shifts=[Shift(start_s=80.0)]), 30)
    assert breaks(r.tick(40)) == [] and early_entries(r) == (1, 1)
    ev = r.tick(80)
    assert breaks(ev) == [("su", None)]
    assert [e for e in ev if isinstance(e, AgentDraining)] == []


def test_a_surges_start_asks_the_candidates_again_at_the_next_pass() -> None:
    # `core.py:2905` (`clear_early` dropped from `_ask_early_all`; mutS49's open
    # `core:2841`): su waits in her window for li's place. A surge that leaves continuous
    # work alone begins by its timer at 53 (two waiting from 51, `enter_after_s = 2`),
    # fired by li's return at 54 before that input: every agent is asked again at the next
    # pass, the queue cleared, so li's place finds no candidate then and su goes at the
    # pass at 55 (kept, her entry would have taken the place at 54, between passes)
    toml = (
        window(40)
        + '[[queues]]\nname = "c"\nchannel = "chat"\n'
        + "[backpressure.surge]\nenter_waiting = 1\nenter_after_s = 2\nexit_after_s = 0\n"
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
    assert breaks(r.tick(50)) == [] and early_entries(r) == (1, 1)
    r.submit(Inquiry(id="c2", queue="c"), 51)  # waits for pu
    r.submit(Inquiry(id="c3", queue="c"), 51)  # one waiting: a surge from 53
    r.tick(51)
    assert not r._surge
    r.set_ready("li", 54)
    assert r._surge and early_entries(r) == (0, 0)
    assert breaks(r.tick(55)) == [("su", 85.0)]


def test_a_candidate_set_away_takes_no_early_break() -> None:
    # `wellbeing.py:139`, `:140` (`_due_to_bring_forward`'s `or`s as `and`: an agent not
    # ready read as one whose break may come forward): su frees up in her window at 50 and
    # waits for li's place; her console goes quiet and she is set away at 70 (presence);
    # li's place at 72 is not hers
    toml = window(40).replace(
        'mode = "immediate"\n', 'mode = "immediate"\npresence_timeout_s = 20\n'
    )
    r = Router(config(toml))
    for aid in ("su", "li"):
        r.login(AgentSpec(id=aid), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su")
    for t in (15, 30):  # both seen: not away
        r.heartbeat("su", t)
        r.heartbeat("li", t)
    r.go_on_break("li", 40)
    r.heartbeat("su", 45)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == [] and early_entries(r) == (1, 1)
    ev = r.tick(70)
    assert [e.agent_id for e in ev if isinstance(e, AgentAway)] == ["su"]
    r.set_ready("li", 72)
    assert breaks(r.tick(72)) == []
    assert r.agent_statistics("su").state == "away"


def test_the_simulators_report_counts_each_drain_once() -> None:
    # `sim/engine.py:1238` (the report's count of AgentDraining from 1, not 0): two agents
    # working flat out, one place on a break, a window of 400 s with the drain: the report's
    # `other_events` counts the drains the run gave
    text = BREAK_PAIR.format(extra="break_window_s = 400\ndrain_for_break = true", shift="")
    n = {"drains": 0}

    def hook(ev: Any) -> bool:
        if isinstance(ev, AgentDraining):
            n["drains"] += 1
        return True

    rep = build_report(simulate(scenario(text, duration_s=2000, drain=False), on_event=hook))
    assert n["drains"] >= 1
    assert rep["other_events"]["AgentDraining"] == n["drains"]


def test_a_break_due_when_the_run_ends_is_missed() -> None:
    # `sim/engine.py:1282` (`break_due >= t`: a break due at the very instant the run's
    # agents are last seen read as a drain that ended before due): two agents working flat
    # out, both due at 1000, one place; the run ends at 1001 with neither break started
    # (the one noticed still finishing its call, the other deferred): both missed
    text = BREAK_PAIR.format(extra="", shift="")
    rep = build_report(simulate(scenario(text, duration_s=1001, drain=False)))
    assert rep["breaks_missed"] == 2


def test_without_the_drain_a_candidates_timer_does_not_queue_it_again() -> None:
    # `core.py:2707` (`or`: every ready agent asked at each of its timers, the drain off):
    # su, a candidate waiting for li's place from 50, becomes leaving at 70 (her shift ends
    # at 100, within break_s): her timer fires, and she stays one entry (asked at her
    # free-ups only, break48; the count gates the queue and its compaction)
    r = Router(config(window(40)))
    r.login(AgentSpec(id="su", shifts=[Shift(start_s=0.0, end_s=100.0)]), 0)
    r.login(AgentSpec(id="li"), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    r.tick(0)
    assert r.holds("i1", "su")
    r.go_on_break("li", 1)
    r.complete("i1", 50)
    assert breaks(r.tick(50)) == [] and early_entries(r) == (1, 1)
    assert breaks(r.tick(70)) == []
    assert r._agents["su"].brk_flags & LEAVING
    r.tick(71)
    assert early_entries(r) == (1, 1)


# ---------------------------------------------------------------------- tidy49: the chain


def test_router_check_without_the_simulator_builds_a_scenarios_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cli/check.py:76` (`build_policies(cfg)` dropped where `router.sim` is not installed:
    # a scenario's router tables are checked alone): a plug-in whose factory refuses the
    # config is one line naming the policy there too, exit 2
    import router.cli.check as check

    monkeypatch.setattr(check, "_scenario_type", lambda: None)
    saved = dict(POLICIES)
    try:
        register_policy("strict", Strict)
        scenario = (
            '[simulation]\nduration_s = 600\n[[agents]]\ncount = 1\n[[arrivals]]\nqueue = "a"\n'
            'rate_per_s = 0.1\nhandle_time = { dist = "exponential", mean_s = 120 }\n'
        )
        path = tmp_path / "refused_scenario.toml"
        path.write_text(bounded('["admit_all", "strict"]', 2) + scenario)
        out = io.StringIO()
        assert (check.check_main([str(path)], out=out), out.getvalue().splitlines()) == (
            2,
            [STRICT_REFUSED],
        )
    finally:
        POLICIES.clear()
        POLICIES.update(saved)


def test_a_drain_under_way_when_the_run_ends_is_no_break_missed() -> None:
    # `sim/engine.py:1283` (`break_due = _INF` dropped where a drain ended before its break
    # fell due: counted missed, late by a negative time): calls of 500 s; one of the two
    # drains from 600 (its window), still finishing its call when the run ends at 650, due
    # at 1000
    text = BREAK_PAIR.format(extra="break_window_s = 400\ndrain_for_break = true", shift="")
    text = text.replace('dist = "constant", mean_s = 120', 'dist = "constant", mean_s = 500')
    assert "mean_s = 500" in text
    n = {"drains": 0}

    def hook(ev: Any) -> bool:
        if isinstance(ev, AgentDraining):
            n["drains"] += 1
        return True

    rep = build_report(simulate(scenario(text, duration_s=650, drain=False), on_event=hook))
    assert n["drains"] == 1
    assert rep["breaks_missed"] == 0


def _offer_taken(r: Router, aid: str, iid: str, at: float, queue: str | None = None) -> None:
    """``_call`` in offer mode: offered to ``aid`` alone, accepted at once."""
    r.submit(Inquiry(id=iid, queue=queue or aid), at)
    r.tick(at)
    r.accept(iid, at)
    r.tick(at)
    assert r.holds(iid, aid), iid


def test_a_colleague_due_first_who_rested_and_won_a_multi_offer_frees_the_place() -> None:
    # tidy50: `_win`'s release (51b72a2; the multi-agent offer's twin of `_assign`'s
    # `_early_look`) had no test of its own. The story of the test above in offer mode: m
    # (due 80) rests from 41; x (due 90) frees up in her window at 55 with no place; l2 is
    # back at 72 and the place is held for m, due first. At 74 m and z (room for a chat) are
    # both offered the chat `mz1` and m accepts first: her stretch restarts (she rested 33 s, as
    # long as a break), she is due at 154, and x takes the place at once (until 104).
    # Without the release nothing looks at the candidates again before m's old timer at 80
    # (x's break until 110: checked by removing it)
    toml = window(40).replace('mode = "immediate"', 'mode = "offer"')
    toml += _own_queues("mxz")
    toml += '[[queues]]\nname = "mz"\nchannel = "chat"\nrequires = { mz = 1 }\nmax_offers = 2\n'
    both = {"voice": 1, "chat": 1}
    r = Router(config(toml))
    for n in (1, 2):
        r.login(AgentSpec(id=f"l{n}"), 0)
        r.go_on_break(f"l{n}", 0)
    r.login(AgentSpec(id="m", skills={"m": 1, "mz": 1}, capacity=both), 0)
    _offer_taken(r, "m", "m0", 0)
    r.login(AgentSpec(id="x", skills={"x": 1}), 10)
    _offer_taken(r, "x", "x0", 10)
    r.complete("m0", 41)
    assert breaks(r.tick(41)) == []
    r.login(AgentSpec(id="z", skills={"z": 1, "mz": 1}, capacity=both), 50)
    _offer_taken(r, "z", "z0", 50)
    r.complete("x0", 55)
    assert breaks(r.tick(55)) == []
    r.set_ready("l2", 72)
    assert breaks(r.tick(72)) == [] and early_entries(r) == (1, 1)
    r.submit(Inquiry(id="mz1", queue="mz"), 74)
    offered = r.tick(74)
    assert sorted(e.agent_id for e in offered if isinstance(e, Offered)) == ["m", "z"]
    r.accept("mz1", 74, agent_id="m")
    got = breaks(r.tick(74))
    assert r.holds("mz1", "m")
    for t in range(75, 95):
        got += breaks(r.tick(t))
    assert got == [("x", 104.0)]
