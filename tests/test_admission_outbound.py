"""Proactive outbound tasks: idle capacity only, a reserve kept for inbound, inbound first."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, decode_config
from router.errors import InvalidState
from router.events import Assigned
from tests.test_backpressure import Flood

CONFIG = """
[routing]
mode = "immediate"
[[queues]]
name = "in"
answer_target_s = 20
[[queues]]
name = "out"
[[queues]]
name = "quiet"
[backpressure.outbound]
queues = ["out"]
reserve_idle = {reserve}
protect = {protect}
"""


def make(reserve: int, agents: int, protect: str = '["in"]') -> Router:
    r = Router(decode_config(CONFIG.format(reserve=reserve, protect=protect)))
    for i in range(agents):
        r.login(AgentSpec(id=f"a{i}"), 0)
    return r


def assigned(events: list[Any]) -> list[str]:
    return [e.inquiry_id for e in events if isinstance(e, Assigned)]


def test_a_task_starts_only_while_more_than_the_reserve_stays_idle() -> None:
    r = make(reserve=1, agents=3)
    for i in range(3):
        adm = r.submit(Inquiry(id=f"t{i}", queue="out"), 0)
        assert (adm.outcome, adm.position) == ("admitted", i + 1)
    assert assigned(r.tick(0)) == ["t0", "t1"]  # 3 idle: two start, one agent stays free
    assert r.inquiry_state("t2") == "parked"
    r.submit(Inquiry(id="i0", queue="in"), 1)
    assert assigned(r.tick(1)) == ["i0"]  # the reserve took the inbound call at once
    r.complete("t0", 50)
    assert assigned(r.tick(50)) == []  # one idle agent is the reserve: t2 waits
    r.complete("i0", 60)
    assert assigned(r.tick(60)) == ["t2"]


def test_inbound_goes_first_when_an_agent_frees() -> None:
    r = make(reserve=0, agents=1, protect='["quiet"]')  # no staffing cap from "in" here
    r.submit(Inquiry(id="i0", queue="in"), 0)
    r.tick(0)
    r.submit(Inquiry(id="t0", queue="out"), 1)
    r.submit(Inquiry(id="i1", queue="in"), 2)
    r.tick(2)
    r.complete("i0", 10)
    assert assigned(r.tick(10)) == ["i1"]
    r.complete("i1", 20)
    assert assigned(r.tick(20)) == ["t0"]


def test_blending_keeps_inbound_service_and_never_starts_a_task_over_waiting_inbound() -> None:
    streams: list[tuple[str, float, int | None]] = [("in", 10 * 0.7 / 60, None)]
    service_level = {}
    for with_tasks in (False, True):
        r = make(reserve=2, agents=10)
        f = Flood(r, streams, handle_s=60, patience_s=None, duration_s=3600, seed=3, record=True)
        if with_tasks:
            for i in range(300):  # the day's list of calls to make
                r.submit(Inquiry(id=f"task{i}", queue="out"), 0)
                f.outcome[f"task{i}"] = None
        seen = 0

        def check(f: Flood) -> None:
            nonlocal seen
            assert f.events is not None
            new, seen = f.events[seen:], len(f.events)
            if any(isinstance(e, Assigned) and e.queue == "out" for e in new):
                assert f.r.queue_length("in") == 0  # a task starts only over an empty line
                assert f.r.statistics().agents_with_room >= 2  # and leaves the reserve idle

        f.run(check=check)
        waits = [w for i, w in f.waits.items() if not i.startswith("task")]
        service_level[with_tasks] = sum(w <= 20 for w in waits) / len(waits)
        if with_tasks:
            assert r.counters.assigned - len(waits) == 300  # every task was made
    assert service_level[False] > 0.9
    assert service_level[True] >= service_level[False] - 0.05


def test_a_held_task_withdrawn_or_expired_no_longer_counts_ahead() -> None:
    # no agent: t0..t2 held; t1 withdrawn, t2 past its deadline, both behind t0: t3 is
    # second in line, not fourth, and a restored router says the same (found by the
    # machines' replay: gone tasks were counted until they reached the head of the line)
    toml = CONFIG.format(reserve=0, protect='["in"]') + "deadline_s = { out = 30 }\n"

    def build() -> Router:
        r = Router(decode_config(toml))
        r.submit(Inquiry(id="t0", queue="out", patience_s=300), 0)  # its own deadline
        r.submit(Inquiry(id="t1", queue="out", patience_s=300), 0)
        r.submit(Inquiry(id="t2", queue="out"), 0)
        r.withdraw("t1", 1)
        expired = [e.inquiry_id for e in r.tick(40) if type(e).__name__ == "TaskExpired"]
        assert expired == ["t2"]  # the queue's deadline, 30 s
        return r

    kept = build().submit(Inquiry(id="t3", queue="out"), 41)
    restored = Router.restore(build().snapshot()).submit(Inquiry(id="t3", queue="out"), 41)
    assert kept == restored
    assert kept.position == 2


def test_a_priority_seconds_change_rekeys_the_held_tasks() -> None:
    # "old" (priority 0, at 0 s) and "new" (priority 1, at 30 s): "new" first at 60 s a
    # level, "old" first at 10 s a level. After the change the held heap must be keyed anew,
    # as the inbound lines are, or the live router and a restored one (which pushes its
    # tasks afresh) release them in different orders (found by the staffing machine)
    def build(queue: str) -> Router:
        toml = CONFIG.format(reserve=0, protect='["in"]')
        r = Router(decode_config(toml.replace("[routing]", "[routing]\npriority_seconds = 60")))
        r.submit(Inquiry(id="old", queue=queue, priority=0), 0)
        r.submit(Inquiry(id="new", queue=queue, priority=1), 30)
        r.tick(30)
        r.reconfigure(
            decode_config(toml.replace("[routing]", "[routing]\npriority_seconds = 10")), 31
        )
        return r

    for queue in ("in", "out"):
        live = build(queue)
        snap = live.snapshot()
        restored = Router.restore(snap)
        assert restored.snapshot() == snap
        firsts = []
        for r in (live, restored):
            r.login(AgentSpec(id="a"), 40)
            firsts.append(assigned(r.tick(40)))
        assert firsts == [["old"], ["old"]], (queue, firsts)


def test_a_callback_moved_to_an_outbound_queue_is_held_like_a_task() -> None:
    # a callback keeps its place in its inbound line; transferred to an outbound queue it
    # is held there, and a held task cannot be updated (its key is the held heap's): the
    # update is refused and changes nothing (found by the staffing machine: the priority
    # changed under the heap, and a restored router ordered the tasks differently)
    toml = CONFIG.format(reserve=0, protect='["in"]') + (
        '[backpressure]\npolicy = "callback"\n[backpressure.callback]\nmin_wait_s = 1\n'
    )
    r = Router(
        decode_config(toml.replace('[routing]\nmode = "immediate"', '[routing]\nmode = "offer"'))
    )
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="busy", queue="in"), 0)
    r.tick(0)
    r.accept("busy", 0)
    r.submit(Inquiry(id="t", queue="out", priority=0), 1)  # a task held ahead of the move
    assert r.submit(Inquiry(id="cb", queue="in"), 2).outcome == "callback"
    r.tick(2)
    r.transfer("cb", "out", 3, priority=1)
    r.tick(3)  # after the pass, held (no idle agent)
    assert r.inquiry_state("cb") == "parked"
    before = r.snapshot()
    with pytest.raises(InvalidState, match="outbound task held"):
        r.update_inquiry("cb", 4, priority=-5)
    assert r.snapshot() == before
    assert Router.restore(before).snapshot() == before


def test_inquiries_waiting_in_a_queue_a_reconfigure_makes_outbound_are_held_with_deadlines() -> (
    None
):
    # "out" starts as an inbound queue; three inquiries wait there (no agent), two with a
    # patience. A reconfigure makes "out" outbound with a 30 s deadline: after the next pass
    # all three are held (parked, in no heap), so two idle agents with a reserve of one
    # start one of them only, and the others end at their deadlines (their patience, else
    # the queue's), counted as expired tasks. Before the fix the queue had no heap of held
    # tasks until a task arrived there, so all three were offered as inbound inquiries, and
    # once held they had no deadline at all
    inbound = CONFIG.format(reserve=1, protect='["in"]').replace('queues = ["out"]', "queues = []")
    outbound = CONFIG.format(reserve=1, protect='["in"]') + "deadline_s = { out = 30 }\n"
    r = Router(decode_config(inbound))
    r.submit(Inquiry(id="w0", queue="out", patience_s=100), 0)
    r.submit(Inquiry(id="w1", queue="out"), 1)
    r.submit(Inquiry(id="w2", queue="out", patience_s=50), 2)
    r.tick(2)
    r.reconfigure(decode_config(outbound), 3)
    r.tick(3)
    assert [r.inquiry_state(i) for i in ("w0", "w1", "w2")] == ["parked"] * 3
    snap = r.snapshot()
    for router in (r, Router.restore(snap)):
        router.login(AgentSpec(id="a0"), 4)
        router.login(AgentSpec(id="a1"), 4)
        assert assigned(router.tick(4)) == ["w0"]  # two idle, a reserve of one: one starts
        expired = []
        for now in (30.0, 31.0, 32.0, 51.0, 52.0, 53.0):
            expired += [
                (e.inquiry_id, now) for e in router.tick(now) if type(e).__name__ == "TaskExpired"
            ]
        assert expired == [("w1", 31.0), ("w2", 52.0)]  # arrivals 1 and 2
        assert router.counters.tasks_expired == 2


def test_a_deadline_given_to_an_outbound_queue_reaches_the_tasks_held_there() -> None:
    # two tasks held without a deadline (no agent); a reconfigure gives "out" a 30 s
    # deadline: the task that arrived 40 s ago expires at the next tick, the other at its
    # arrival + 30 s; a task with its own patience keeps it. Before the fix only tasks
    # arriving after the change had a deadline, so these two were held for good
    base = CONFIG.format(reserve=0, protect='["in"]')
    r = Router(decode_config(base))
    r.submit(Inquiry(id="old", queue="out"), 0)
    r.submit(Inquiry(id="own", queue="out", patience_s=100), 0)
    r.submit(Inquiry(id="new", queue="out"), 20)
    r.tick(20)
    r.reconfigure(decode_config(base + "deadline_s = { out = 30 }\n"), 40)
    snap = r.snapshot()
    for router in (r, Router.restore(snap)):
        expired = []
        for now in (40.0, 49.0, 50.0, 99.0, 100.0):
            expired += [
                (e.inquiry_id, now) for e in router.tick(now) if type(e).__name__ == "TaskExpired"
            ]
        assert expired == [("old", 40.0), ("new", 50.0), ("own", 100.0)]


@pytest.mark.parametrize("how", ["decline", "expire", "hand_back", "transfer"])
def test_a_task_back_in_line_is_held_at_once_not_offered_over_waiting_inbound(how: str) -> None:
    # a1 is busy with i0, a0 has the task t0 (priority 5) on offer, i1 and i2 wait. Then
    # t0 comes back into line (or, "transfer": a waiting inquiry of "in" is moved to "out")
    # as a1 frees. Both free agents must go to inbound; the task waits, held. Before the fix
    # it waited in line through the pass, which gave it (priority 5) a1 while i2 waited
    toml = CONFIG.format(reserve=0, protect='["quiet"]')
    toml = toml.replace('mode = "immediate"', 'mode = "offer"\noffer_timeout_s = 10')
    r = Router(decode_config(toml))
    r.login(AgentSpec(id="a1"), 0)
    r.submit(Inquiry(id="i0", queue="in"), 0)
    r.tick(0)
    r.accept("i0", 0)
    r.login(AgentSpec(id="a0"), 1)
    if how == "transfer":
        r.submit(Inquiry(id="t0", queue="in", priority=5), 1)  # offered to a0 as inbound
    else:
        r.submit(Inquiry(id="t0", queue="out", priority=5), 1)
    r.tick(1)
    r.submit(Inquiry(id="i1", queue="in"), 2)
    r.submit(Inquiry(id="i2", queue="in"), 2)
    r.tick(2)
    now = 5.0
    if how == "decline":
        r.decline("t0", now)
    elif how == "expire":
        now = 11.0  # the offer's 10 s ran out
    elif how == "hand_back":
        r.accept("t0", 3)
        r.hand_back("t0", now)
    else:
        r.transfer("t0", "out", now)
    r.complete("i0", now)
    events = r.tick(now)
    offered = sorted(e.inquiry_id for e in events if type(e).__name__ == "Offered")
    assert offered == ["i1", "i2"]
    assert r.inquiry_state("t0") == "parked"
    snap = r.snapshot()
    assert Router.restore(snap).snapshot() == snap
