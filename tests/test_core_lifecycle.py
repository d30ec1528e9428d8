"""Table-driven lifecycle tests of the sans-I/O core."""

from __future__ import annotations

import pytest

from router import Router
from tests.helpers import BASIC, agent, basic, brief, config, inq


def test_offer_accept_complete() -> None:
    r = basic()
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 1)
    assert brief(r.tick(1)) == [
        ("AgentLoggedIn", "a1"),
        ("Queued", "i1"),
        ("Offered", "i1", "a1"),
    ]
    r.accept("i1", 2, agent_id="a1")
    r.complete("i1", 50)
    ev = r.tick(50)
    assert brief(ev) == [("Assigned", "i1", "a1"), ("Completed", "i1", "a1")]
    assert ev[0].wait_s == 1.0
    assert ev[1].handle_s == 48.0
    assert r.statistics().in_service == 0


def test_immediate_mode_assigns_without_offer() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 0)
    assert brief(r.tick(0))[-1] == ("Assigned", "i1", "a1")
    assert r.inquiry_state("i1") == "assigned"


def test_waiting_inquiry_goes_to_freed_agent_fifo() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    for i in range(3):
        r.submit(inq(f"i{i}"), float(i))
        r.tick(float(i))
    assert r.inquiry_state("i0") == "assigned"
    assert r.statistics().waiting == 2
    r.complete("i0", 10)
    ev = r.tick(10)
    assert brief(ev)[-1] == ("Assigned", "i1", "a1")


def test_priority_aging_one_point_is_priority_seconds() -> None:
    # priority 1 arriving 30 s after a priority-0 inquiry is still ahead (60 s per point);
    # arriving 90 s after, it is behind.
    for gap, first in ((30.0, "hi"), (90.0, "lo")):
        r = basic(mode="immediate", priority_seconds=60.0)
        r.login(agent("a1"), 0)
        r.submit(inq("busy"), 0)
        r.tick(0)
        r.submit(inq("lo", priority=0), 1)
        r.submit(inq("hi", priority=1), 1 + gap)
        r.tick(1 + gap)
        r.complete("busy", 200)
        ev = r.tick(200)
        assert brief(ev)[-1] == ("Assigned", first, "a1"), gap


def test_decline_requeues_at_original_position_not_to_same_agent() -> None:
    r = basic(decline_memory="forever")  # (the round rule: the next test)
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 0)
    r.submit(inq("i2"), 1)
    r.tick(1)
    r.decline("i1", 2)
    ev = r.tick(2)
    # a1 may not get i1 again, so it gets i2; i1 keeps its place for the next agent
    assert brief(ev) == [
        ("OfferDeclined", "i1", "a1"),
        ("Requeued", "i1"),
        ("Offered", "i2", "a1"),
    ]
    r.login(agent("a2"), 3)
    assert brief(r.tick(3))[-1] == ("Offered", "i1", "a2")


def test_a_lone_agents_decline_ends_the_round_and_it_is_offered_again() -> None:
    r = basic()  # decline_memory = "round"
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 0)
    r.submit(inq("i2"), 1)
    r.tick(1)
    r.decline("i1", 2)
    ev = r.tick(2)
    # a1 was the round: its decline is forgotten, i1 first in line again (as in Omni-Channel)
    assert brief(ev) == [
        ("OfferDeclined", "i1", "a1"),
        ("Requeued", "i1"),
        ("DeclinesForgotten", "i1"),
        ("Offered", "i1", "a1"),
    ]
    r.login(agent("a2"), 3)
    r.decline("i1", 4)  # now a2 has not declined it: it waits for a2, a1 takes i2
    assert brief(r.tick(4)) == [
        ("AgentLoggedIn", "a2"),
        ("OfferDeclined", "i1", "a1"),
        ("Requeued", "i1"),
        ("Offered", "i1", "a2"),
        ("Offered", "i2", "a1"),
    ]


def test_offer_expiry_and_max_no_answer_sends_agent_away() -> None:
    r = basic(decline_memory="forever")  # offer_timeout 10, max_no_answer 2
    r.login(agent("a1"), 0)
    r.submit(inq("i1"), 0)
    r.submit(inq("i2"), 0)
    r.tick(0)
    assert r.next_deadline() == 10.0
    ev = r.tick(10)
    assert brief(ev) == [("OfferExpired", "i1", "a1"), ("Requeued", "i1"), ("Offered", "i2", "a1")]
    ev = r.tick(20)
    assert brief(ev) == [("OfferExpired", "i2", "a1"), ("Requeued", "i2"), ("AgentAway", "a1")]
    assert ev[-1].reason == "max_no_answer"
    r.set_ready("a1", 30)
    ev = r.tick(30)
    # both inquiries were refused by a1 once, so it gets neither: they wait for someone else
    assert brief(ev) == [("AgentReady", "a1")]
    assert r.statistics().waiting == 2


def test_patience_abandons_waiting_and_offered() -> None:
    r = basic()
    r.submit(inq("i1", patience_s=30), 0)
    r.tick(0)
    assert r.next_deadline() == 30.0
    ev = r.tick(31)
    assert brief(ev) == [("Abandoned", "i1")]
    assert ev[0].wait_s == 30.0 and ev[0].at == 30.0
    # offered then abandoned frees the agent's reserved slot
    r.login(agent("a1"), 40)
    r.submit(inq("i2", patience_s=5), 40)
    r.tick(40)
    ev = r.tick(45)
    assert brief(ev) == [("Abandoned", "i2")]
    assert r.statistics().agents_with_room == 1


def test_withdraw_waiting_and_errors_when_assigned() -> None:
    r = basic(mode="immediate")
    r.submit(inq("i1"), 0)
    r.withdraw("i1", 1)
    assert brief(r.tick(1))[-1] == ("Withdrawn", "i1")
    assert r.statistics().waiting == 0


def test_wrap_up_holds_the_slot() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1", wrap_up_s=15), 0)
    r.submit(inq("i1"), 0)
    r.submit(inq("i2"), 0)
    r.tick(0)
    r.complete("i1", 10)
    ev = r.tick(10)
    assert brief(ev) == [("Completed", "i1", "a1")]
    assert ev[0].wrap_up_until == 25.0
    assert r.next_deadline() == 25.0
    ev = r.tick(25)
    assert brief(ev) == [("WrapUpEnded", "i1", "a1"), ("Assigned", "i2", "a1")]


def test_chat_concurrency_cap_is_respected() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1", voice=0, chat=3), 0)
    for i in range(5):
        r.submit(inq(f"c{i}", queue="chat"), 0)
    ev = r.tick(0)
    assigned = [e for e in ev if type(e).__name__ == "Assigned"]
    assert [e.inquiry_id for e in assigned] == ["c0", "c1", "c2"]
    r.complete("c1", 5)
    ev = r.tick(5)
    assert brief(ev)[-1] == ("Assigned", "c3", "a1")


def test_skill_levels_and_relaxation_steps() -> None:
    toml = BASIC.replace(
        "requires = { refund = 4 }\npriority = 2",
        "requires = { refund = 4 }\npriority = 2\n"
        "steps = [{ after_s = 30, requires = { refund = 2 } }]",
    )
    r = Router(config(toml, mode="immediate"))
    r.login(agent("junior", level=2), 0)
    r.submit(inq("v1", queue="vip"), 0)
    ev = r.tick(0)
    assert brief(ev)[-1] == ("Queued", "v1")  # nobody at level 4
    assert r.next_deadline() == 30.0
    ev = r.tick(30)
    assert brief(ev) == [("Assigned", "v1", "junior")]


def test_tenant_isolation() -> None:
    toml = """
[[queues]]
name = "fliggy"
tenant = "fliggy"
[[queues]]
name = "taobao"
tenant = "taobao"
"""
    r = Router(config(toml, mode="immediate"))
    r.login(agent("t", tenants=frozenset({"taobao"})), 0)
    r.submit(inq("f1", queue="fliggy"), 0)
    r.tick(0)
    assert r.inquiry_state("f1") == "waiting"
    r.login(agent("both", tenants=frozenset({"taobao", "fliggy"})), 1)
    assert brief(r.tick(1))[-1] == ("Assigned", "f1", "both")


def test_multi_queue_agent_prefers_weighted_queue() -> None:
    toml = """
[[queues]]
name = "a"
[[queues]]
name = "b"
"""
    r = Router(config(toml, mode="immediate"))
    r.submit(inq("a1", queue="a"), 0)
    r.submit(inq("b1", queue="b"), 10)
    r.tick(10)
    # b1 waited 0 s, a1 10 s; weight 3 on b is not enough, weight 3 on a... check both
    r.login(agent("x", queues={"a": 1.0, "b": 3.0}), 20)
    ev = r.tick(20)
    # urgency a: 20*1 = 20; b: 10*3 = 30 -> b1 first
    assert brief(ev)[-1] == ("Assigned", "b1", "x")


def test_logout_with_work_in_flight_and_offers_requeued() -> None:
    r = basic()
    r.login(agent("a1", voice=0, chat=2), 0)
    r.submit(inq("c1", queue="chat"), 0)
    r.submit(inq("c2", queue="chat"), 0)
    r.tick(0)
    r.accept("c1", 1)
    r.logout("a1", 2)
    ev = r.tick(2)
    assert ("Requeued", "c2") in brief(ev)
    assert ("AgentAway", "a1") in brief(ev)
    r.complete("c1", 3)
    ev = r.tick(3)
    assert brief(ev) == [("Completed", "c1", "a1"), ("AgentLoggedOut", "a1")]


def test_break_stops_new_work_and_ready_resumes() -> None:
    r = basic(mode="immediate")
    r.login(agent("a1"), 0)
    r.go_on_break("a1", 1, reason="lunch")
    r.submit(inq("i1"), 2)
    ev = r.tick(2)
    assert brief(ev)[-1] == ("Queued", "i1")
    r.set_ready("a1", 3)
    assert brief(r.tick(3))[-1] == ("Assigned", "i1", "a1")


@pytest.mark.parametrize("mode", ["offer", "immediate"])
def test_counts_add_up(mode: str) -> None:
    r = basic(mode=mode)
    r.login(agent("a1"), 0)
    for i in range(4):
        r.submit(inq(f"i{i}", patience_s=15), 0)
    r.tick(0)
    if mode == "offer":
        r.accept("i0", 1)
    r.withdraw("i1", 2)
    r.tick(100)
    c = r.counters
    assert c.submitted == 4
    assert c.assigned == 1 and c.withdrawn == 1 and c.abandoned == 2


def test_capacity_units_a_call_uses_the_whole_agent() -> None:
    # default unit costs: voice 100, chat 20; an agent with 100 units holds 1 call or 5 chats
    r = basic(mode="immediate")
    r.login(agent("a1", voice=1, chat=20, units=100), 0)
    for i in range(6):
        r.submit(inq(f"c{i}", queue="chat"), 0)
    r.submit(inq("v1"), 0)
    ev = r.tick(0)
    assigned = [e.inquiry_id for e in ev if type(e).__name__ == "Assigned"]
    assert assigned == ["c0", "c1", "c2", "c3", "c4"]  # units full: no 6th chat, no call
    for i in range(5):
        r.complete(f"c{i}", 10)
    ev = r.tick(10)
    # oldest first: v1 (t=0, seq before c5? no: c5 was submitted first) -> c5 then no room for v1
    assert [e.inquiry_id for e in ev if type(e).__name__ == "Assigned"] == ["c5"]
    r.complete("c5", 20)
    assert brief(r.tick(20))[-1] == ("Assigned", "v1", "a1")


def test_explanation_on_trace() -> None:
    r = basic(mode="immediate", trace=True)
    r.login(agent("junior", level=1), 0)
    r.login(agent("senior", level=5), 0)
    r.tick(0)
    r.submit(inq("i1"), 10)
    ev = r.tick(10)
    a = ev[-1]
    assert a.agent_id == "senior" and a.explanation is not None
    ex = a.explanation
    assert ex.chosen.agent_id == "senior" and ex.runner_up is not None
    assert ex.runner_up.agent_id == "junior"
    assert ex.chosen.features["proficiency"] == 1.0 and ex.runner_up.features["proficiency"] == 0.0
    assert ex.chosen.score > ex.runner_up.score
    assert ex.trigger == "arrival"


def test_batch_of_freed_agents_best_scored_pulls_first() -> None:
    r = basic(mode="immediate")
    r.login(agent("junior", level=1), 0)
    r.login(agent("senior", level=5), 0)
    r.submit(inq("i1"), 10)
    assert brief(r.tick(10))[-1] == ("Assigned", "i1", "senior")


def test_new_inquiries_of_a_pass_go_to_the_best_listed_agent_not_the_freed_one() -> None:
    # a pass with an agent freed and several new inquiries (compiled: marked by their place
    # in a copy of the pending list, not put in a set): the freed junior's most urgent
    # inquiry is new in the pass, so it goes to the best listed agent, the idle senior;
    # the junior then meets the next new one, which nobody listed scores better for
    r = basic(mode="immediate")
    r.login(agent("junior", level=1), 0)
    r.submit(inq("busy"), 0)
    r.tick(0)
    r.login(agent("senior", level=5), 1)
    r.tick(1)
    r.complete("busy", 5)
    for i in range(1, 4):
        r.submit(inq(f"i{i}"), 5)
    ev = r.tick(5)
    assigned = [(e.inquiry_id, e.agent_id) for e in ev if type(e).__name__ == "Assigned"]
    assert assigned == [("i1", "senior"), ("i2", "junior")]
    assert r.inquiry_state("i3") == "waiting"


PRESENCE = """
[routing]
mode = "immediate"
presence_timeout_s = 10
[[queues]]
name = "q"
"""


def _shift_back(r: Router, query: bool) -> list[tuple[str, str]]:
    """Ann's timer at 10 (her shift end) is pushed before Bo's (his presence timeout at
    10); her shift is cut to 6, ends, and is set back to 10 at 7: her timer is pushed
    again, after Bo's. ``query``: the driver asks ``next_deadline()`` at 6."""
    from router import AgentSpec

    r.login(AgentSpec(id="ann", shift_end=10.0), 0)
    r.login(AgentSpec(id="bo"), 0)
    r.tick(0)
    r.update_agent(AgentSpec(id="ann", shift_end=6.0), 1)
    r.tick(6)
    if query:
        assert r.next_deadline() == 10.0
    r.update_agent(AgentSpec(id="ann", shift_end=10.0), 7)
    r.set_ready("ann", 7)
    r.tick(7)
    return [(e.agent_id, e.reason) for e in r.tick(10)]


def test_next_deadline_is_a_query_later_events_do_not_depend_on_it() -> None:
    # the stale entry of Ann's first timer (at 10, before Bo's) must not come back to life
    # when her timer is set to 10 again: only the latest entry is her timer, so the order
    # at 10 is the same whether or not next_deadline() dropped the stale entry at 6
    # (a replay of the same inputs, e.g. after a restore, does not ask it the same times)
    quiet = _shift_back(Router(config(PRESENCE)), query=False)
    asked = _shift_back(Router(config(PRESENCE)), query=True)
    assert quiet == asked == [("bo", "presence_timeout"), ("ann", "shift_end")]


def test_a_snapshot_with_stale_agent_timers_restores_the_first_at_its_time() -> None:
    # snapshots written before agent timers were numbered held every entry at the agent's
    # timer_at, with the agent's incarnation as ``arg``: the first of them is the timer
    import msgspec

    from router import AgentSpec
    from router.core import K_AGENT
    from router.state import codec

    r = Router(config(PRESENCE))
    r.login(AgentSpec(id="ann"), 0)
    r.login(AgentSpec(id="bo"), 0)
    r.tick(0)
    snap = codec.decode(r.snapshot())
    timers = [(e[3], e[0]) for e in sorted(snap.deadlines) if e[2] == K_AGENT]
    assert timers == [("ann", 10.0), ("bo", 10.0)]  # Ann's first, then Bo's
    old = [
        (at, seq, kind, oid, 1 if kind == K_AGENT else arg)
        for at, seq, kind, oid, arg in snap.deadlines
    ]
    old.append((10.0, snap.seq + 1, K_AGENT, "ann", 1))  # a copy after Bo's, never first
    older = msgspec.structs.replace(snap, deadlines=old, seq=snap.seq + 1)
    restored = Router.restore(codec.encode(older))
    assert [(e.agent_id, e.reason) for e in restored.tick(10)] == [
        ("ann", "presence_timeout"),
        ("bo", "presence_timeout"),
    ]
    assert restored.next_deadline() is None
    assert restored.counters.presence_timeouts == 2
