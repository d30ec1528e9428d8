"""Rounds of declines (``[routing] decline_memory``, docs/routing-features.md).

An inquiry is not offered again to an agent that declined it, let its offer expire or
handed it back, until its round is over: every agent in the round (logged in, not
leaving, not set away, eligible for it at its step: tenant, queue, skills, the queue's
``match``; busy or on a break counts) did. Then the declines are forgotten
(``DeclinesForgotten``) and it is offered again from its place in line. ``"forever"``
keeps today's rule. Each test checks the pools' bookkeeping against their heaps
(:func:`pool_problems`) and the independent liveness checker (``tests/liveness.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from router import AgentSpec, ConfigError, Inquiry, Router, decode_config
from router.state.records import FIRST_STAY, WAITING
from tests.helpers import config
from tests.liveness import pool_counts, stalls

ONE = """
[routing]
offer_timeout_s = 30
max_no_answer = 1000
[[queues]]
name = "q"
requires = { s = 1 }
"""


def kinds(events: list[Any], name: str) -> list[Any]:
    return [e for e in events if type(e).__name__ == name]


def offers(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in kinds(events, "Offered")]


def pool_problems(r: Router) -> list[str]:
    """Each pool's counters against its heaps, recomputed from the live entries: a waiting
    ticket is in exactly one of its lines, the declined heap holds exactly those with
    declines, ``n_declined`` and ``declined_by`` count them; and its round's size,
    ``eligible`` and ``n_away``, against its agents (``tests/liveness.py``'s
    ``pool_counts``, mutS49's check: fix50)."""
    out: list[str] = pool_counts(r)
    seen: Counter[str] = Counter()
    for pool in r._pools.values():
        live_declined = [e[3] for e in pool.declined if e[3].ver == e[2] and e[3].state == WAITING]
        live = [t for t in pool.arrivals[pool.head :] if t.ver == FIRST_STAY and t.state == WAITING]
        live += [e[3] for e in pool.waiting if e[3].ver == e[2] and e[3].state == WAITING]
        live += [e[3] for e in pool.preferring if e[3].ver == e[2] and e[3].state == WAITING]
        for t in live:
            if t.declined and t.prefer_until <= 0.0:
                out.append(f"{t.id} has declines outside the declined heap")
        live += live_declined
        seen.update(t.id for t in live)
        for t in live_declined:
            if not t.declined:
                out.append(f"{t.id} is in the declined heap without declines")
        if pool.n_declined != len(live_declined):
            out.append(f"n_declined {pool.n_declined} != {len(live_declined)}")
        by: Counter[str] = Counter()
        for t in live_declined:
            by.update(t.declined or ())
        if dict(by) != pool.declined_by:
            out.append(f"declined_by {pool.declined_by} != {dict(by)}")
        if pool.n_waiting != len(live):
            out.append(f"n_waiting {pool.n_waiting} != {len(live)}")
    waiting = [t.id for t in r._tickets.values() if t.state == WAITING]
    if sorted(seen.elements()) != sorted(waiting):
        out.append(f"lines hold {sorted(seen.elements())}, waiting {sorted(waiting)}")
    return out


def healthy(r: Router) -> None:
    assert pool_problems(r) == []
    assert stalls(r) == []


# ------------------------------------------------------------------ the stuck case


def test_a_lone_agent_declining_twice_is_offered_it_a_third_time() -> None:
    r = Router(config(ONE))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a")]
    for n in (1, 2):
        r.decline("x", float(n))
        events = r.tick(float(n))
        (gone,) = kinds(events, "DeclinesForgotten")
        assert (gone.inquiry_id, gone.queue, gone.agents) == ("x", "q", 1)
        assert offers(events) == [("x", "a")]  # offered again: the round was the agent alone
        healthy(r)
    r.accept("x", 3.0)
    r.complete("x", 4.0)
    assert r.statistics().waiting == 0


def test_an_expired_offer_ends_a_lone_agents_round_too() -> None:
    r = Router(config(ONE))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    r.tick(0.0)
    events = r.tick(30.0)  # the offer expires
    assert [type(e).__name__ for e in events][:3] == [
        "OfferExpired",
        "Requeued",
        "DeclinesForgotten",
    ]
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_forever_keeps_the_declines_for_the_whole_stay() -> None:
    r = Router(config(ONE, decline_memory="forever"))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    r.tick(0.0)
    r.decline("x", 1.0)
    events = r.tick(1.0)
    assert offers(events) == [] and kinds(events, "DeclinesForgotten") == []
    assert r.next_deadline() is None  # it waits for good: today's rule, asked for
    assert stalls(r) == [] and pool_problems(r) == []
    r.logout("a", 2.0)  # the round would be over twice over: forever keeps them
    r.login(AgentSpec(id="a", skills={"s": 1}), 3.0)
    assert offers(r.tick(3.0)) == []
    r.login(AgentSpec(id="b", skills={"s": 1}), 4.0)
    assert offers(r.tick(4.0)) == [("x", "b")]


def test_forever_an_inquiry_every_agent_declined_still_reaches_an_outcome() -> None:
    """decline50 saw 2 of 600 inquiries left under "forever" (bench's decisions check):
    each refused by every agent that may take it, and without patience there. They keep
    their deadlines: one with patience abandons at it, one without waits until withdrawn
    (or an agent who did not refuse it comes; above); nothing is lost from the line."""
    r = Router(config(ONE, decline_memory="forever"))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q", patience_s=60.0), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a")]
    r.decline("x", 1.0)
    assert offers(r.tick(1.0)) == [("y", "a")]
    r.decline("y", 2.0)
    assert offers(r.tick(2.0)) == []
    assert r.next_deadline() == 60.0  # x's patience: the declines left its timer alone
    assert stalls(r) == [] and pool_problems(r) == []
    events = r.tick(60.0)
    assert [(e.inquiry_id, e.wait_s) for e in kinds(events, "Abandoned")] == [("x", 60.0)]
    assert r.next_deadline() is None and r.inquiry_state("y") == "waiting"
    r.withdraw("y", 70.0)
    assert [e.inquiry_id for e in kinds(r.tick(70.0), "Withdrawn")] == ["y"]
    assert r.statistics().waiting == 0
    assert pool_problems(r) == []


def test_the_inquiry_op47_saw_stuck_is_offered_again() -> None:
    """op47's shape: crossover agents set away by ``max_no_answer``, the two still available
    let the offers of a (callback) inquiry expire; those set away are out of its round."""
    cfg = """
[routing]
offer_timeout_s = 20
max_no_answer = 2
[[queues]]
name = "q"
requires = { s = 1 }
"""
    r = Router(config(cfg))
    r.login(AgentSpec(id="a0", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="a1", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="w0", queue="q"), 0.0)
    r.submit(Inquiry(id="w1", queue="q"), 0.0)
    assert len(offers(r.tick(0.0))) == 2
    assert len(offers(r.tick(20.0))) == 2  # each rings out and goes to the other
    events = r.tick(40.0)  # and out again: both set away (no answer twice)
    assert sorted(e.agent_id for e in kinds(events, "AgentAway")) == ["a0", "a1"]
    r.withdraw("w0", 41.0)
    r.withdraw("w1", 41.0)
    r.login(AgentSpec(id="a2", skills={"s": 1}), 41.0)
    r.login(AgentSpec(id="a3", skills={"s": 1}), 41.0)
    r.submit(Inquiry(id="cb", queue="q"), 41.0)
    ((_, first),) = offers(r.tick(41.0))
    events = r.tick(61.0)  # rings out at the first: the second is in the round
    assert offers(events) == [("cb", "a3" if first == "a2" else "a2")]
    assert kinds(events, "DeclinesForgotten") == []
    events = r.tick(81.0)  # rings out at the second: a0, a1 are away, out of the round
    (gone,) = kinds(events, "DeclinesForgotten")
    assert (gone.inquiry_id, gone.agents) == ("cb", 2)
    assert len(offers(events)) == 1  # offered again (under "forever": never)
    healthy(r)


# ------------------------------------------------------------------ who is in the round

TWO = """
[routing]
offer_timeout_s = 30
max_no_answer = 1000
[[queues]]
name = "q"
requires = { s = 1 }
"""


def busy_b_and_declined_by_a() -> Router:
    """``b`` busy with ``y``, ``x`` declined by ``a``: ``b`` has not declined ``x``."""
    r = Router(config(TWO))
    r.login(AgentSpec(id="b", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="y", queue="q"), 0.0)
    assert offers(r.tick(0.0)) == [("y", "b")]
    r.accept("y", 1.0)
    r.login(AgentSpec(id="a", skills={"s": 1}), 2.0)
    r.submit(Inquiry(id="x", queue="q"), 2.0)
    assert offers(r.tick(2.0)) == [("x", "a")]
    r.decline("x", 3.0)
    events = r.tick(3.0)
    assert offers(events) == [] and kinds(events, "DeclinesForgotten") == []
    healthy(r)
    return r


def test_a_busy_agent_that_has_not_declined_keeps_the_round_on() -> None:
    r = busy_b_and_declined_by_a()
    for now in (10.0, 100.0, 1000.0):
        assert offers(r.tick(now)) == []  # a is free, yet x waits for b: not a again yet
    r.complete("y", 1001.0)
    assert offers(r.tick(1001.0)) == [("x", "b")]
    healthy(r)


def test_an_agent_on_a_break_keeps_the_round_on_an_agent_set_away_does_not() -> None:
    r = busy_b_and_declined_by_a()
    r.complete("y", 4.0)
    r.go_on_break("b", 4.0)  # (no offer: b leaves first; x is for b only)
    events = r.tick(4.0)
    assert offers(events) == [] and kinds(events, "DeclinesForgotten") == []
    healthy(r)
    r.set_ready("b", 5.0)
    assert offers(r.tick(5.0)) == [("x", "b")]
    r.decline("x", 6.0)  # now both declined: over, a is free first
    events = r.tick(6.0)
    assert kinds(events, "DeclinesForgotten")[0].agents == 2
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_the_last_undeclined_agent_logging_out_ends_the_round() -> None:
    r = busy_b_and_declined_by_a()
    r.logout("b", 5.0)  # busy: it logs out after y, but takes nothing new from now
    events = r.tick(5.0)
    assert [type(e).__name__ for e in events].count("DeclinesForgotten") == 1
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_the_last_undeclined_agent_set_away_ends_the_round() -> None:
    r = busy_b_and_declined_by_a()
    r.reconfigure(config(TWO, presence_timeout_s=50.0), 4.0)  # every agent seen at 4
    r.heartbeat("a", 40.0)
    events = r.tick(54.0)  # b's console silent for 50 s: set away, out of the round
    assert [e.agent_id for e in kinds(events, "AgentAway")] == ["b"]
    assert kinds(events, "DeclinesForgotten")[0].agents == 1
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_an_away_agent_updated_then_logging_out_leaves_the_round_size_right() -> None:
    # (fix50) b, set away, is updated (it leaves and joins its pools while away) and then
    # logs out (it leaves them while away): each pool's ``n_away`` follows (pool_counts in
    # healthy), so a's next decline ends a round of a alone at once
    r = busy_b_and_declined_by_a()
    r.reconfigure(config(TWO, presence_timeout_s=50.0), 4.0)
    r.heartbeat("a", 40.0)
    assert offers(r.tick(54.0)) == [("x", "a")]  # b away: a's round over, x offered again
    r.update_agent(AgentSpec(id="b", skills={"s": 2}), 55.0)
    r.tick(55.0)
    healthy(r)
    r.complete("y", 56.0)
    r.logout("b", 57.0)
    r.tick(57.0)
    healthy(r)
    r.decline("x", 58.0)
    events = r.tick(58.0)
    assert kinds(events, "DeclinesForgotten")[0].agents == 1
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_a_skill_update_that_leaves_only_decliners_ends_the_round() -> None:
    r = busy_b_and_declined_by_a()
    r.update_agent(AgentSpec(id="b", skills={"t": 1}), 5.0)  # b no longer serves q
    events = r.tick(5.0)
    assert offers(events) == [("x", "a")]
    assert kinds(events, "DeclinesForgotten")[0].agents == 1
    healthy(r)


def test_an_agent_logging_in_later_joins_the_round() -> None:
    r = Router(config(TWO))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    (first,) = offers(r.tick(0.0))
    r.decline("x", 1.0, first[1])
    (second,) = offers(r.tick(1.0))
    r.login(AgentSpec(id="c", skills={"s": 1}), 2.0)  # while x rings at the second agent
    r.decline("x", 3.0, second[1])
    events = r.tick(3.0)
    assert kinds(events, "DeclinesForgotten") == []  # c has not declined it
    assert offers(events) == [("x", "c")]
    r.decline("x", 4.0, "c")
    events = r.tick(4.0)
    assert kinds(events, "DeclinesForgotten")[0].agents == 3
    assert len(offers(events)) == 1
    healthy(r)


TENANTS = """
[routing]
offer_timeout_s = 30
max_no_answer = 1000
[[queues]]
name = "q"
tenant = "t1"
requires = { s = 1 }
match = "tier == 'gold'"
"""


@pytest.mark.parametrize(
    "outsider",
    [
        AgentSpec(id="z", skills={"s": 1}, tenants={"t2"}, attributes={"tier": "gold"}),
        AgentSpec(id="z", skills={"t": 1}, tenants={"t1"}, attributes={"tier": "gold"}),
        AgentSpec(id="z", skills={"s": 1}, tenants={"t1"}, attributes={"tier": "iron"}),
        AgentSpec(
            id="z", skills={"s": 1}, tenants={"t1"}, attributes={"tier": "gold"}, queues={"r": 1.0}
        ),
    ],
    ids=["other_tenant", "lacks_skill", "match_refuses", "other_queue"],
)
def test_an_agent_who_may_not_take_it_is_not_in_the_round(outsider: AgentSpec) -> None:
    cfg = TENANTS + '[[queues]]\nname = "r"\n'
    r = Router(config(cfg))
    r.login(outsider, 0.0)
    r.login(AgentSpec(id="a", skills={"s": 1}, tenants={"t1"}, attributes={"tier": "gold"}), 0.0)
    r.submit(Inquiry(id="x", queue="q", tenant="t1"), 0.0)
    assert offers(r.tick(0.0)) == [("x", "a")]
    r.decline("x", 1.0)
    events = r.tick(1.0)
    assert offers(events) == [("x", "a")]  # z does not count: a alone was the round
    healthy(r)


def test_an_eligible_insider_keeps_it_from_ending() -> None:
    r = Router(config(TENANTS))
    gold = {"tier": "gold"}
    r.login(AgentSpec(id="a", skills={"s": 1}, tenants={"t1"}, attributes=gold), 0.0)
    r.submit(Inquiry(id="y", queue="q", tenant="t1"), 0.0)
    r.tick(0.0)
    r.accept("y", 0.0)  # a busy
    r.login(AgentSpec(id="b", skills={"s": 1}, tenants={"t1"}, attributes=gold), 1.0)
    r.submit(Inquiry(id="x", queue="q", tenant="t1"), 1.0)
    assert offers(r.tick(1.0)) == [("x", "b")]
    r.decline("x", 2.0)
    events = r.tick(2.0)
    assert offers(events) == [] and kinds(events, "DeclinesForgotten") == []
    healthy(r)


STEPS = """
[routing]
offer_timeout_s = 1000
max_no_answer = 1000
[[queues]]
name = "q"
requires = { s = 3 }
steps = [{ after_s = 60, requires = { s = 1 } }]
"""


def test_a_relaxation_step_brings_new_agents_into_the_round() -> None:
    r = Router(config(STEPS + '[[queues]]\nname = "easy"\n'))
    r.login(AgentSpec(id="expert", skills={"s": 3}, queues={"q": 1.0}), 0.0)
    r.login(AgentSpec(id="junior", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="j", queue="easy"), 0.0)
    assert offers(r.tick(0.0)) == [("j", "junior")]
    r.accept("j", 0.0)  # the junior busy
    r.submit(Inquiry(id="x", queue="q"), 1.0)
    assert offers(r.tick(1.0)) == [("x", "expert")]
    r.decline("x", 2.0)  # the expert alone is the round at step 0: over
    events = r.tick(2.0)
    assert kinds(events, "DeclinesForgotten")[0].agents == 1
    assert offers(events) == [("x", "expert")]
    r.decline("x", 70.0)  # back at step 1 (due at 61): the busy junior is in the round
    events = r.tick(70.0)
    assert offers(events) == [] and kinds(events, "DeclinesForgotten") == []
    healthy(r)
    r.complete("j", 71.0)
    assert offers(r.tick(71.0)) == [("x", "junior")]
    healthy(r)


def test_a_hand_back_counts_as_a_decline() -> None:
    r = Router(config(TWO))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.login(AgentSpec(id="b", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    (first,) = offers(r.tick(0.0))
    r.accept("x", 1.0)
    r.hand_back("x", 2.0)
    (second,) = offers(r.tick(2.0))
    assert second[1] != first[1]
    r.decline("x", 3.0)
    events = r.tick(3.0)
    assert kinds(events, "DeclinesForgotten")[0].agents == 2
    assert len(offers(events)) == 1
    healthy(r)


# ------------------------------------------------------------------ snapshot, config


def test_a_snapshot_mid_round_restores_the_round() -> None:
    r = busy_b_and_declined_by_a()
    copy = Router.restore(r.snapshot())
    healthy(copy)
    for router in (r, copy):
        assert offers(router.tick(10.0)) == []  # still a's decline: b is in the round
        router.complete("y", 11.0)
        assert offers(router.tick(11.0)) == [("x", "b")]
        router.decline("x", 12.0)
        events = router.tick(12.0)
        assert kinds(events, "DeclinesForgotten")[0].agents == 2
        assert offers(events) == [("x", "a")] or offers(events) == [("x", "b")]
        healthy(router)
    assert r.snapshot() == copy.snapshot()


def test_switching_to_round_ends_the_rounds_already_over() -> None:
    r = Router(config(ONE, decline_memory="forever"))
    r.login(AgentSpec(id="a", skills={"s": 1}), 0.0)
    r.submit(Inquiry(id="x", queue="q"), 0.0)
    r.tick(0.0)
    r.decline("x", 1.0)
    assert offers(r.tick(1.0)) == []
    r.reconfigure(config(ONE), 2.0)
    events = r.tick(2.0)
    assert kinds(events, "DeclinesForgotten")[0].inquiry_id == "x"
    assert offers(events) == [("x", "a")]
    healthy(r)


def test_a_wrong_decline_memory_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config('[routing]\ndecline_memory = "sometimes"\n')
    assert info.value.problems == [
        "$.routing.decline_memory: unknown value 'sometimes'; known: forever, round"
    ]
    assert decode_config('[routing]\nmode = "offer"\n').routing.decline_memory == "round"
