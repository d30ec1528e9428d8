"""Directed tests from the mutation sweep of last round's code (mutV52).

user51 (config shape checks, the accepted config's own copy, the max_queue warning, the
chain readers), xfer51 + reopen51 (the simulator following transferred and handed-back
work, the drain's last step), decline51 (``decline_share``, ``decline_away_s``),
meal51 (``max_break_share_by_team``) and tidy51 (unjudged interval rows, a 0 break
window, the replay's start/stop), swept one mutant a line without the randomized fuzz:
each test pins one behaviour a mutant changed without the nearest test files noticing;
its comment names the mutants (``file:line`` at ``3e9bc14``, BENCHMARKS.md, mutV52).
None is timed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Router
from router.config import config_warnings
from router.config.schema import (
    Backpressure,
    OverflowPolicy,
    OverflowRule,
    QueueConfig,
    RouterConfig,
)
from router.errors import ConfigError, UnknownId
from router.events import AgentAway, AgentReady, Assigned, Queued, Requeued
from router.sim import build_report, decode_scenario
from router.sim.engine import ANSWERED, OPEN, Simulator
from router.sim.report import format_summary
from tests.sim_runs import example_text
from tests.test_observe_monitor import Driven, _answer_chat
from tests.test_sim_transfers import CLOSING as CLOSING_AT_SIX
from tests.test_sim_transfers import Watch, check, scenario

QUIET = """
[simulation]
duration_s = 10
warmup_s = 0
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 1
capacity = { voice = 1 }
shift_start_s = 100
[[arrivals]]
queue = "q"
rate_per_s = 0.001
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_a_run_with_nothing_before_its_end_ends_at_once() -> None:
    # sim/engine:960 (``hooked = False`` dropped before the loop): the drain's loop asks
    # ``not hooked`` at its first check when the first thing to happen (here the only
    # agent's login at 100 s) is past the duration and nobody is waiting: a NameError
    sim = Simulator(decode_scenario(QUIET))
    res = sim.run()
    assert res.end_time == 0.0
    assert res.sim_events == 0
    assert build_report(res)["unresolved"] == 0


def _state(router: Router, iid: str) -> str | None:
    try:
        return router.inquiry_state(iid)
    except UnknownId:  # ended
        return None


def test_calls_handed_back_at_one_instant_are_each_followed() -> None:
    # sim/engine:1236 (the Requeued branch's ``rec = recs[e.inquiry_id]`` dropped): each
    # Requeued then worked on the record of whatever event came before it; with one
    # hand-back at a time that was its own call, with several at one instant it was not
    # sim/engine:1451 (``_work_off``'s ``a.last_heavy_end = t`` dropped): a heavy call
    # handed back ended the agent's work in progress but not at that instant, so its next
    # heavy call was counted a new run where the core's went on (the recovery from the
    # last heavy work); sim/engine:1462 (``_handed_back`` returning 2): the drain ran on
    batches: list[int] = []
    by: dict[str, str] = {}  # handed-back heavy call -> the agent it was with
    heavy_ends: list[tuple[float, float]] = []  # (hand-back, the agent's last heavy end)

    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Requeued) and ev.inquiry_id in by:  # the engine followed it
            a = w.sim._agents[by.pop(ev.inquiry_id)]
            heavy_ends.append((ev.at, a.last_heavy_end))
        # at every fifth caller's answer, each call then in service is handed back at once
        if isinstance(ev, Assigned) and int(ev.inquiry_id) % 5 == 0:
            router = w.sim.router
            n = len(w.handed)
            for iid in list(w.sim._recs):
                if _state(router, iid) == "assigned":
                    aid = router.agent_of(iid)
                    assert aid is not None
                    had = len(w.handed)
                    w.hand_back(iid, aid)  # (once a call)
                    if len(w.handed) > had and w.sim._recs[iid].heavy:
                        by[iid] = aid
            batches.append(len(w.handed) - n)

    w = Watch(scenario(duration_s=6000, warmup_s=0, accept_delay_s=5.0), act)
    res = w.sim.run()
    recs = w.sim._recs
    assert max(batches) >= 3 and len(w.handed) > 20
    assert dict(res.handbacks) == {recs[i]: [1, 1] for i in w.handed}
    check(w, res)
    assert len(heavy_ends) > 5 and all(at == end for at, end in heavy_ends)
    # the drain ends with the last answer (every caller answered, none open)
    assert res.end_time == max(r.answered_at for r in recs.values()) > w.sim.duration


def test_callers_transferred_at_one_instant_are_each_followed() -> None:
    # sim/engine:1349 (the Transferred branch's ``rec = recs[e.inquiry_id]`` dropped): each
    # Transferred then moved the record of the event before it (one at a time, its own);
    # sim/engine:1362 (``rec.path.append`` dropped): a caller moved twice kept its first
    # new queue as its last
    moved: dict[str, list[str]] = {}
    batches: list[int] = []

    def act(w: Watch, ev: Any) -> None:
        # at every fourth caller's Queued, each caller then waiting is moved to the other
        # queue (a caller already moved once is moved back: twice in all, no more)
        if isinstance(ev, Queued) and int(ev.inquiry_id) % 4 == 0:
            router = w.sim.router
            n = 0
            for iid, rec in w.sim._recs.items():
                path = moved.setdefault(iid, [])
                if _state(router, iid) == "waiting" and len(path) < 2:
                    to = "q" if (path[-1] if path else rec.queue) == "h" else "h"
                    router.transfer(iid, to, router.now)
                    path.append(to)
                    n += 1
            batches.append(n)

    w = Watch(scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0), act)
    res = w.sim.run()
    recs = w.sim._recs
    twice = [i for i, p in moved.items() if len(p) == 2]
    assert max(batches) >= 3 and len(twice) >= 3
    assert res.events_by_type["Transferred"] == sum(len(p) for p in moved.values())
    for iid, path in moved.items():
        assert (recs[iid].path or []) == path, iid
        assert recs[iid].final_queue == (path[-1] if path else recs[iid].queue), iid
    rep = build_report(res)
    assert rep["anomalies"] == {} and rep["unresolved"] == 0
    assert all(r.outcome == ANSWERED for r in recs.values())


CLOSING = """
[simulation]
duration_s = 300
warmup_s = 0
[routing]
mode = "immediate"
[[queues]]
name = "q"
hours = [ { open = "00:00", close = "00:05" } ]
at_close = "closed"
[[agents]]
name = "a"
count = 2
capacity = { voice = 1 }
[[arrivals]]
queue = "q"
rate_per_s = 0.1
handle_time = { dist = "exponential", mean_s = 120 }
"""


def test_a_hooks_hand_back_at_a_last_step_at_the_duration_itself_is_followed() -> None:
    # sim/engine:1377 (``duration <= t`` made ``<``): the drain's last step can fall at the
    # duration itself (here the queue closes then: its waiting callers get ``closed``, the
    # last open ones); a hook's hand-back there was lost with the run's end
    handed: list[str] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        router = sim.router
        last = ev.at >= sim.duration and all(r.outcome != OPEN for r in sim._recs.values())
        if last and not handed:
            for iid in sim._recs:
                if _state(router, iid) == "assigned":
                    aid = router.agent_of(iid)
                    assert aid is not None
                    router.hand_back(iid, router.now, aid)
                    handed.append(iid)
                    break
        return True

    sim = Simulator(decode_scenario(CLOSING), on_event=hook)
    res = sim.run()
    assert len(handed) == 1
    rec = sim._recs[handed[0]]
    assert rec.answered_at < sim.duration  # answered before, handed back at the close
    assert res.handbacks.get(rec, [0])[0] == 1
    rep = build_report(res)
    assert rep["anomalies"] == {}


RETURNING = """
[simulation]
duration_s = 8000
warmup_s = 0
accept_delay_s = 5.0
[routing]
mode = "offer"
[[queues]]
name = "q"
preferred_wait_s = 30
[[agents]]
name = "a"
count = 4
capacity = { voice = 1 }
[[arrivals]]
queue = "q"
rate_per_s = 0.03
returning_share = 0.5
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_the_returning_customers_history_loses_exactly_the_answers_taken_back() -> None:
    # sim/engine:1478 (the look-back from the second-to-last entry), :1479 (``!=``): a
    # hand-back takes its answer's history entry back (one entry of that agent), so the
    # history ends as one entry per answered call, for the agent who answered it last
    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Assigned) and int(ev.inquiry_id) % 3 == 0:
            w.hand_back(ev.inquiry_id, ev.agent_id)

    w = Watch(decode_scenario(RETURNING), act)
    res = w.sim.run()
    recs = w.sim._recs
    assert len(w.handed) > 30
    assert res.anomalies == {}
    assert all(r.outcome == ANSWERED for r in recs.values())
    (history,) = w.sim._served
    assert Counter(history) == Counter(r.agent_id for r in recs.values())


def test_answers_taken_back_while_closed_leave_each_closed_answer_once() -> None:
    # sim/engine:1484 (the look-back in steps of 2), :1488 (``<``, the look-back's stop,
    # made ``<=``): the answer taken back need not be the newest while-closed answer; here
    # every call in service is handed back at once (so the same callers are answered again
    # at one instant, and go back again, up to three times), in the order of their answers:
    # each closed answer is found (past others of the same instant) and removed, and a
    # caller answered again while closed is listed once
    last: dict[str, float] = {}
    times: Counter[str] = Counter()

    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Assigned):
            last[ev.inquiry_id] = ev.at
            if ev.at >= 3600 and int(ev.inquiry_id) % 3 == 0:  # closed from 18:00
                router = w.sim.router
                order = {id(r): k for k, r in enumerate(w.sim.result.closed_answered)}
                recs = w.sim._recs
                for iid in sorted(recs, key=lambda i: order.get(id(recs[i]), -1)):
                    if _state(router, iid) == "assigned" and times[iid] < 3:
                        aid = router.agent_of(iid)
                        assert aid is not None
                        router.hand_back(iid, router.now, aid)
                        times[iid] += 1
                        w.handed.add(iid)

    sc = decode_scenario(
        CLOSING_AT_SIX.replace("rate_per_s = 0.04", "rate_per_s = 0.08").replace(
            "count = 2", "count = 3"
        )
    )
    w = Watch(sc, act, late=True)
    res = w.sim.run()
    recs = w.sim._recs
    assert res.anomalies == {}
    assert len([i for i in w.handed if last[i] >= 3600]) > 10
    ids = [id(r) for r in res.closed_answered]
    assert len(ids) == len(set(ids))  # each once
    # (a caller handed back after the close may be closed out: not answered)
    closed = {id(r) for i, r in recs.items() if r.outcome == ANSWERED and last[i] >= 3600}
    assert set(ids) == closed
    # sim/engine:1480 (the entry's place filled from the second-to-last): the history is
    # one entry per answered call, for its agent (an entry taken back from inside it)
    answered = [r.agent_id for r in recs.values() if r.outcome == ANSWERED]
    assert Counter(w.sim._served[0]) == Counter(answered)


SLOW_DECLINES = """
[simulation]
duration_s = 8000
warmup_s = 0
answer_time = { dist = "exponential", mean_s = 15 }
[routing]
mode = "offer"
offer_timeout_s = 20
max_no_answer = 1000
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 2
capacity = { voice = 1 }
decline_share = 0.5
[[arrivals]]
queue = "q"
rate_per_s = 0.01
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_a_decline_answered_after_its_offer_expired_is_not_made() -> None:
    # sim/engine:1095 (the decline's guard ``and self._holds(...)`` made ``or``): an agent
    # whose answer (a decline) comes after its offer expired may hold the caller again by
    # then (offered again, or assigned); the stale decline is not made: no refused decline,
    # the declines the engine made are the core's
    res = Simulator(decode_scenario(SLOW_DECLINES)).run()
    assert res.counters["expired"] > 20 and res.counters["declined"] > 20
    assert res.anomalies == {}
    assert sum(res.declines.values()) == res.counters["declined"]


AWAY_FOR_DECLINES = """
[simulation]
duration_s = 4000
warmup_s = 0
accept_delay_s = 4.0
[routing]
mode = "offer"
max_declines = 1
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 3
capacity = { voice = 1 }
decline_share = 0.3
decline_away_s = 60
[[arrivals]]
queue = "q"
rate_per_s = 0.02
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_an_agent_away_for_its_declines_sent_on_a_break_is_not_set_ready_by_the_engine() -> None:
    # sim/engine:1311 (the OnBreak branch's ``away_declines.pop`` dropped): an agent set
    # away for its declines that goes on a break of its own before its decline_away_s is
    # up (a hook's go_on_break) stays on it: the engine's return does not end the break
    sim: Simulator
    breaks: set[str] = set()
    readied: list[str] = []

    def hook(ev: Any) -> bool:
        if isinstance(ev, AgentAway) and ev.reason == "max_declines" and len(breaks) < 5:
            if ev.agent_id not in breaks:
                breaks.add(ev.agent_id)
                sim.router.go_on_break(ev.agent_id, sim.router.now)
        elif isinstance(ev, AgentReady) and ev.agent_id in breaks:
            readied.append(ev.agent_id)
        return True

    sim = Simulator(decode_scenario(AWAY_FOR_DECLINES), on_event=hook)
    res = sim.run()
    assert len(breaks) == 3  # every agent: away for its declines, then on a break
    assert res.anomalies == {}
    assert readied == []  # nobody ended those breaks (the hook never does)
    assert res.away["max_declines"][1] < res.away["max_declines"][0]


def test_an_agent_away_for_its_declines_set_ready_by_a_hook_is_not_returned_again() -> None:
    # sim/engine:1326 (the Ready branch's ``away_declines.pop`` dropped): an agent set away
    # for its declines and made ready by the embedder before its decline_away_s is up is
    # back already: the engine's own return is called off (not counted, not made)
    sim: Simulator
    back: list[str] = []

    def hook(ev: Any) -> bool:
        if isinstance(ev, AgentAway) and ev.reason == "max_declines":
            sim.router.set_ready(ev.agent_id, sim.router.now)
            back.append(ev.agent_id)
        return True

    sim = Simulator(decode_scenario(AWAY_FOR_DECLINES), on_event=hook)
    res = sim.run()
    assert len(back) == res.away["max_declines"][0] > 10
    assert res.anomalies == {}
    assert res.away["max_declines"][1] == 0


def test_the_summary_names_declines_without_agents_set_away() -> None:
    # sim/report:448 (``or`` made ``and``): declines without max_declines (nobody set away)
    # still have their summary line
    sc = decode_scenario(
        AWAY_FOR_DECLINES.replace("max_declines = 1\n", "").replace("decline_away_s = 60\n", "")
    )
    rep = build_report(Simulator(sc).run())
    assert rep["declined"] > 10 and rep["away_for_declines"] == 0
    assert f"declines: {rep['declined']:,} offers" in format_summary(rep)


def test_interval_rows_end_one_interval_after_they_start() -> None:
    # observe/monitor:950 (``(k + 1) * size`` made ``(k - 1)``): each ``queue_intervals``
    # row is ``(start_s, end_s, ...)`` of one interval (tidy51 rewrote the line)
    d = Driven(intervals_s=60.0)
    d.router.login(AgentSpec(id="ye", capacity={"chat": 1, "voice": 1}), now=0.0)
    _answer_chat(d, "c1", 0.0)
    _answer_chat(d, "c2", 100.0)
    rows = d.monitor.queue_intervals()
    assert {(s, e) for s, e, _, c in rows if c.answered} == {(0.0, 60.0), (60.0, 120.0)}
    assert all(e == s + 60.0 for s, e, _, _ in rows)


def test_a_dict_where_a_rule_belongs_in_a_table_of_rules_is_refused_naming_it() -> None:
    # config/checks:149 (``_kind_problems`` not descending into a dict's values): a rule
    # of a dict of rules built as a dict (``OverflowPolicy(queues={"a": {...}})``, as the
    # file's inline table reads) is named; the nearest tests had dicts only in lists and
    # struct fields
    rule = {"to": "b", "after_s": 30.0}
    queues = [QueueConfig(name="a"), QueueConfig(name="b")]
    overflow = OverflowPolicy(queues={"a": rule})  # type: ignore[dict-item]
    cfg = RouterConfig(queues=queues, backpressure=Backpressure(overflow=overflow))
    with pytest.raises(ConfigError) as info:
        Router(cfg)
    assert info.value.problems == [
        "$.backpressure.overflow.queues.a: must be a router.config.OverflowRule, got dict"
    ]
    good = OverflowPolicy(queues={"a": OverflowRule(to="b", after_s=30.0)})
    Router(msgspec.structs.replace(cfg, backpressure=Backpressure(overflow=good)))


def test_a_team_share_without_the_break_share_warns_once_in_a_scenario() -> None:
    # config/warnings:144 (the ``return`` after the no-max_break_share warning dropped):
    # with agent groups listed the team names were then checked too, a second warning
    # for a setting that does nothing anyway (the nearest test had no groups listed)
    text = example_text("mafengwo_refund_flood.toml")
    assert "max_break_share = " in text
    text = re.sub(r"(?m)^max_break_share = .*\n", "", text).replace(
        "break_window_s = 7200",
        'break_window_s = 7200\nmax_break_share_by_team = { "chat team" = 0.3 }',
    )
    warnings = [w for w in config_warnings(decode_scenario(text)) if "by_team" in w]
    assert warnings == [
        "$.wellbeing.max_break_share_by_team: does nothing without max_break_share "
        "(no break waits for a place)"
    ]


MANY_AWAY = """
[simulation]
duration_s = 20000
warmup_s = 0
accept_delay_s = 5.0
[routing]
mode = "offer"
max_declines = 1
[[queues]]
name = "q"
[[agents]]
name = "a"
count = 6
capacity = { voice = 1 }
decline_share = 0.3
decline_away_s = 30
[[arrivals]]
queue = "q"
rate_per_s = 0.06
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_agents_set_away_for_declines_among_hand_backs_keep_the_engines_order() -> None:
    # sim/engine:1303 (``sq += 1`` before the return's push made ``-= 1``): the engine's
    # heap numbers repeat, two items of one instant and kind then compared by their
    # payloads (a TypeError), or a handed-back call's stale completion takes the new
    # work's number; here many agents are set away for their declines while every call
    # in service is handed back at each second answer: each completion its full length
    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Assigned) and int(ev.inquiry_id) % 2 == 0:
            router = w.sim.router
            for iid in list(w.sim._recs):
                if _state(router, iid) == "assigned":
                    aid = router.agent_of(iid)
                    assert aid is not None
                    w.hand_back(iid, aid)

    w = Watch(decode_scenario(MANY_AWAY), act)
    res = w.sim.run()
    recs = w.sim._recs
    assert len(w.handed) > 500 and res.away["max_declines"][0] > 500 and len(w.works) > 500
    assert res.anomalies == {}
    assert all(length == pytest.approx(recs[i].handle) for i, _, _, length in w.works)
    assert all(a == c for _, a, c, _ in w.works)
