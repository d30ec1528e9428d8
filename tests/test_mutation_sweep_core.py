"""Directed tests for the mutants a second sweep of the core, the adapter's hot path and
the real-time counts left alive.

A mutation sweep (BENCHMARKS.md, "Mutation sweep of the core, the adapter's hot path and
the real-time counts (mutA33)") applied one small change at a time to ``router/core.py``,
``router/adapters/_hot.py``, ``router/state/realtime.py`` and the state modules changed
since ``69f375d`` and ran the module's tests. Each test here fails on a mutant that
survived them and passes on the real code; each says which mutant. They read behaviour
(the events, who is offered what) where it shows the fault, and a stated invariant of a
structure only where nothing else does.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

import router
from router import AgentSpec, Assigned, Offered, Router
from tests.helpers import agent, config, inq

RECENT = """
[routing]
mode = "offer"
offer_timeout_s = 10
recent_window_s = 100
[routing.weights]
recent_work = 1.0
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
"""


def _offered(events: Iterable[object]) -> list[tuple[str, str]]:
    """(inquiry, agent) of each decision among ``events``: ``Offered`` or ``Assigned``."""
    return [(e.inquiry_id, e.agent_id) for e in events if isinstance(e, (Offered, Assigned))]


def test_recent_work_leaves_the_score_when_the_window_passes() -> None:
    """A completion puts the work's handle time in the agent's recent-work window and sets
    the agent's timer for when it leaves (``Router._work_ended``: the timer is pushed when it
    comes before the pending one, and with none pending it always does). Once it has left,
    the agent is scored as one that did no work: the longest idle of two agents gets the
    next inquiry. Kills the timer not pushed at a completion (``_schedule_agent`` dropped):
    the work stayed in the score for good and the other agent got it."""
    r = Router(config(RECENT))
    r.login(agent("a"), 0.0)
    r.submit(inq("i1"), 0.0)
    assert _offered(r.tick(0.0)) == [("i1", "a")]
    r.accept("i1", 0.0)
    r.complete("i1", 50.0)  # 50 s of work in a's window until 150
    r.tick(50.0)
    r.login(agent("b"), 55.0)  # idle since 55: a has been idle longer
    r.tick(55.0)
    r.tick(200.0)  # a's work left its window at 150
    r.submit(inq("i2"), 200.0)
    assert _offered(r.tick(200.0)) == [("i2", "a")]


NOBODY = (
    RECENT
    + """
[[queues]]
name = "nobody"
channel = "voice"
requires = { other = 1 }
"""
)


@pytest.mark.parametrize("end", ["withdraw", "transfer"])
def test_offers_ended_in_a_burst_are_compacted_at_the_next_input(end: str) -> None:
    """The deadline entries of offers that ended are spent; when they outnumber the rest by
    the slack (64), the next input drops them (``Router._compact_deadlines``), and the core
    knows when without counting every input: ``_spent_room`` is a lower bound of the rule's
    margin, lowered with every change that lowers the margin (tests/test_deadline_heap.py).
    A hundred offers counted at one input and then ended while offered (withdrawn, or
    transferred to a queue nobody serves): each lowers the margin by two, and the input after
    it ran out compacts. Kills ``_end`` (withdrawn) and ``_leave_agent`` (transferred) not
    lowering the bound for an offered inquiry (``_spent_room -= 2`` dropped, or ``-= 1``):
    the bound rose above the margin and the spent entries stayed."""
    from tests.test_deadline_heap import _margin

    r = Router(config(NOBODY))
    for n in range(100):
        r.login(agent(f"a{n:03d}"), 0.0)
        r.submit(inq(f"i{n:03d}"), 0.0)
    assert len(_offered(r.tick(0.0))) == 100
    r.tick(1.0)  # the bound counted again with the offers' entries in
    for n in range(100):
        if end == "withdraw":
            r.withdraw(f"i{n:03d}", 2.0)
        else:
            r.transfer(f"i{n:03d}", "nobody", 2.0)
        assert r._spent_room <= _margin(r), (n, r._spent_room, _margin(r))
    # past 82 of them the spent entries outnumbered the rest by the slack: compacted
    assert len(r._deadline_entries()) == r._offer_entries < 64


def test_a_heap_deadline_between_two_offer_expiries_at_one_instant_fires_between_them() -> None:
    """Deadlines due at one instant fire in the order they were set, ``(when, seq)``: here
    two offers' expiries in the offer line (made before and after) and an inquiry's patience
    in the heap (set between them), all due at 10. ``Router._enter`` compares the heap's
    head with the line's head, the first of the line. Kills the tie read from the line's
    last entry (``ol[-1]``): the patience came first."""
    r = Router(config(RECENT))
    r.login(agent("a"), 0.0)
    r.submit(inq("i1"), 0.0)
    assert _offered(r.tick(0.0)) == [("i1", "a")]  # expires at 10
    r.submit(inq("i2", patience_s=10.0), 0.0)  # nobody free: gives up at 10
    r.login(agent("b"), 0.0)
    r.submit(inq("i3", priority=1), 0.0)  # served before i2
    assert _offered(r.tick(0.0)) == [("i3", "b")]  # expires at 10
    got = [
        (type(e).__name__, e.inquiry_id)
        for e in r.tick(10.0)
        if type(e).__name__ in ("OfferExpired", "Abandoned")
    ]
    assert got == [("OfferExpired", "i1"), ("Abandoned", "i2"), ("OfferExpired", "i3")]


STEP = """
[routing]
mode = "immediate"
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
[[queues]]
name = "step"
channel = "chat"
requires = { refund = 1 }
steps = [{ after_s = 50, requires = {} }]
"""


def test_next_deadline_past_a_sleeping_entry_lowers_the_spent_room_with_each_drop() -> None:
    """``next_deadline`` with a sleeping entry at the top (a relaxation step's timer of an
    inquiry now with an agent: it may come back to life) sets it aside and drops the dead
    entries behind it (``Router._next_live_past_dormant``: here the patience deadlines of
    inquiries already assigned); each drop lowers the compaction rule's margin, and the
    bound ``_spent_room`` with it (tests/test_deadline_heap.py). The bound counted exactly
    first (a restored router counts it at its first input). Kills the drops past a sleeping
    entry raising the bound (``+= 1``) or lowering it only for an offer's entry
    (``kind == K_OFFER``): above the margin, an input would skip a compaction."""
    from tests.test_deadline_heap import _margin

    r = Router(config(STEP))
    r.submit(inq("s1", queue="step"), 0.0)
    r.tick(0.0)  # waits: its step is due at 50
    r.login(agent("s", voice=0, chat=1), 0.5)
    for n in range(40):
        r.login(agent(f"a{n}"), 0.5)
        r.submit(inq(f"p{n}", patience_s=100.0), 0.5)
    assert sum(isinstance(e, Assigned) for e in r.tick(0.5)) == 41
    r = Router.restore(r.snapshot())
    r.tick(1.0)
    assert r._spent_room == _margin(r)  # counted
    assert r.next_deadline() is None  # the step's timer kept, the 40 patience ones dropped
    assert len(r._deadline_entries()) == 1
    assert r._spent_room <= _margin(r), (r._spent_room, _margin(r))


CHAT = """
[routing]
mode = "immediate"
[routing.weights]
proficiency = 1.0
idle_time = 1.0
load = 1.0
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 1 }
"""


def test_an_agent_freed_by_a_release_is_scored_as_it_is_now() -> None:
    """A release changes the agent's score (its load; its idle time starts again once it
    holds nothing), so its entries in the agent heaps, keyed before, are made stale
    (``Router._release``: ``unlist``) and the matching pass lists it again with its new key.
    Here b, listed with a chat since 0 (its idle term 10 by 600), ends it at 600 as a, a
    better agent (level 4), logs in and a new chat arrives: by the scores at 600 (b 0.5, a
    0.75) a takes it. Kills the release leaving b's old entry live (``unlist`` dropped):
    the pass found b at its old key, 10 - 0.5, and gave it the chat."""
    r = Router(config(CHAT))
    r.login(agent("b", level=3, voice=0, chat=2), 0.0)
    r.submit(inq("c0", queue="chat"), 0.0)
    assert _offered(r.tick(0.0)) == [("c0", "b")]  # b listed again: one chat of two
    r.complete("c0", 600.0)
    r.login(agent("a", level=4, voice=0, chat=2), 600.0)
    r.submit(inq("c1", queue="chat"), 600.0)
    assert _offered(r.tick(600.0)) == [("c1", "a")]


def test_an_agent_updated_out_of_a_queue_is_not_given_its_work() -> None:
    """``update_agent`` works an agent's pools out again (``Router._relist``): its entries in
    every agent heap go stale first, so an agent whose new skills no longer meet a queue's
    requirement is never found there. b, listed in chat's pool since 0, loses the skill at
    600, as a logs in and a chat arrives in the same pass: a takes it. Kills the stale
    entries left live (``unlist`` dropped in ``_relist``): b, which cannot serve the
    queue, was assigned the chat (ahead of a by its old key)."""
    r = Router(config(CHAT))
    r.login(agent("b", level=3, voice=0, chat=2), 0.0)
    r.submit(inq("c0", queue="chat"), 0.0)
    assert _offered(r.tick(0.0)) == [("c0", "b")]
    r.complete("c0", 0.0)
    r.tick(0.0)  # b listed in chat's pool again
    r.update_agent(AgentSpec(id="b", skills={"other": 3}, capacity={"chat": 2}), 600.0)
    r.login(agent("a", level=4, voice=0, chat=2), 600.0)
    r.submit(inq("c1", queue="chat"), 600.0)
    assert _offered(r.tick(600.0)) == [("c1", "a")]


RING_AND_CHAT = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "ring"
channel = "chat"
max_offers = 2
[[queues]]
name = "chat2"
channel = "chat"
requires = { refund = 1 }
"""


def test_agents_rung_on_their_last_slot_are_not_offered_another_queues_work() -> None:
    """A ring offers one inquiry to several agents at once (``Router._offer_many``); each
    one's entries in every agent heap go stale, and one left without room is listed
    nowhere until work ends. y and z (one chat each) are rung for r1 and listed in chat2's
    pool too; a chat2 inquiry next goes to x, the one agent with room. Kills the rung
    agents' entries left live (``unlist`` dropped in ``_offer_many``): the inquiry was
    offered to y, past its cap."""
    r = Router(config(RING_AND_CHAT))
    r.submit(inq("w0", queue="chat2"), 0.0)  # chat2's pool made, before the logins
    r.withdraw("w0", 0.0)
    r.login(agent("x", level=2, voice=0, chat=2), 0.0)
    r.login(agent("y", voice=0, chat=1), 0.0)
    r.login(agent("z", voice=0, chat=1), 0.0)
    r.tick(0.0)
    r.submit(inq("r1", queue="ring"), 1.0)
    assert sorted(_offered(r.tick(1.0))) == [("r1", "y"), ("r1", "z")]
    r.submit(inq("w1", queue="chat2"), 2.0)
    assert _offered(r.tick(2.0)) == [("w1", "x")]


def test_an_async_for_reader_waiting_is_woken_by_an_immediate_assignment() -> None:
    """In immediate mode the adapter delivers each ``Assigned`` to the agent's session
    (``Hub.on_assigned`` -> ``Inbox.deliver``), which wakes a reader already waiting in
    ``async for`` on asyncio (``_hot.Offers``). The reader waits first, then the inquiry
    comes (virtual time: the wait for it is bounded by the loop's own clock, not the
    machine's). Kills ``deliver`` clearing the reader without waking it: it never read."""
    import asyncio

    from router import Inquiry, QueueConfig, RouterConfig, Routing
    from router.adapters import open_router
    from router.adapters.testing import run_virtual

    async def scenario() -> list[str]:
        cfg = RouterConfig(queues=[QueueConfig(name="q")], routing=Routing(mode="immediate"))
        async with open_router(cfg, backend="asyncio") as r, r.agent(AgentSpec(id="a1")) as a1:
            read: list[str] = []

            async def reader() -> None:
                async for work in a1:
                    read.append(work.inquiry_id)
                    return

            task = asyncio.create_task(reader())
            for _ in range(20):  # the reader runs up to its wait
                await asyncio.sleep(0)
            assert not task.done()
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            try:
                async with asyncio.timeout(1000.0):  # virtual seconds
                    await task
            except TimeoutError:
                task.cancel()
            return read

    assert run_virtual(scenario()) == ["c1"]


def test_a_resubmitted_id_does_not_push_an_older_outcome_out_of_the_history() -> None:
    """The adapter keeps the last ``history`` outcomes for ``wait_assigned``; an id submitted
    again drops its old outcome at once (``Hub.submit``): its new life gets a new one, and
    it must not count among the kept ones meanwhile. With a history of 2: k0 and c1 give up,
    c1 is submitted again, k2 gives up: k0 and k2 are the last two outcomes, and
    ``wait_assigned("k0")`` still says how k0 ended. Kills the old outcome kept (``del``
    dropped): it counted, and k0's was forgotten (``UnknownId``)."""
    import asyncio

    from router import Inquiry, QueueConfig, RouterConfig, UnknownId
    from router.adapters import InquiryEnded, open_router
    from router.adapters.testing import run_virtual

    async def scenario() -> str:
        cfg = RouterConfig(queues=[QueueConfig(name="q")])
        async with open_router(cfg, backend="asyncio", history=2) as r:
            r.submit_nowait(Inquiry(id="k0", queue="q", patience_s=1.0))
            r.submit_nowait(Inquiry(id="c1", queue="q", patience_s=1.0))
            await asyncio.sleep(5.0)  # both gave up
            r.submit_nowait(Inquiry(id="c1", queue="q"))  # waits: nobody to serve it
            r.submit_nowait(Inquiry(id="k2", queue="q", patience_s=1.0))
            await asyncio.sleep(5.0)
            try:
                await r.wait_assigned("k0")
            except InquiryEnded as exc:
                return type(exc.event).__name__
            except UnknownId:
                return "forgotten"
            return "assigned"

    assert run_virtual(scenario()) == "Abandoned"


def _arrival_line(stale_head: bool) -> tuple[int, float]:
    """w0 waits from 1 (behind an inquiry that left at once if ``stale_head``), 79 others
    come and go, w1 comes at 100: the queue's waiting count and longest wait at 100; the
    line's bound checked after every arrival."""
    r = Router(config(RECENT))
    if stale_head:
        r.submit(inq("x0"), 0.0)
        r.withdraw("x0", 0.0)
    r.submit(inq("w0"), 1.0)  # waits from 1: the longest wait
    q = r._queues["refund"]
    for n in range(1, 80):
        r.submit(inq(f"x{n}"), 1.0 + n)
        assert len(q.by_arrival) - q.arrival_head <= 2 * q.n_waiting + 64
        r.withdraw(f"x{n}", 1.0 + n)
    r.submit(inq("w1"), 100.0)
    r.tick(100.0)
    s = r.statistics().queues["refund"]
    return s.waiting, s.longest_wait_s


def test_the_arrival_line_is_compacted_within_its_bound_and_keeps_the_longest_wait() -> None:
    """Each queue's line of arrivals (``QueueState.by_arrival``, read from
    ``arrival_head``) gives the longest wait; entries of inquiries that left stay until
    the line outgrows twice the waiting count plus 64, when ``compact_arrivals`` drops them
    (router/state/realtime.py: "by compaction when a structure grows past twice the
    queue's waiting count"). w0 waits while 79 arrivals come and go behind it, with and
    without a stale entry before it: the line stays within its bound and the longest wait
    is w0's. Kills the walk past stale heads going backwards (``i -= 1``: past a stale
    head only the newest was kept, and the longest wait read 0) and the compaction from
    everywhere skipped while the line is long (``not`` added: with w0 at the head the line
    grew past its bound)."""
    assert _arrival_line(stale_head=False) == (2, 99.0)
    assert _arrival_line(stale_head=True) == (2, 99.0)


def test_an_agent_passed_over_for_an_inquiry_it_declined_is_offered_the_next_one() -> None:
    """An inquiry seeks the best listed agent that did not decline it; the entries of the
    agents that did are set aside and put back once the seek ends (``Router._seek_agent``),
    so they stay listed for other work. a declines i1 (back in line: nobody else to take
    it), then i2 comes: a is offered i2. Kills the set-aside entries not put back
    (``heappush`` dropped): a, free, was listed nowhere and i2 waited."""
    r = Router(config(RECENT, max_no_answer=5, decline_memory="forever"))  # (a alone)
    r.login(agent("a"), 0.0)
    r.submit(inq("i1"), 0.0)
    assert _offered(r.tick(0.0)) == [("i1", "a")]
    r.decline("i1", 1.0)
    assert _offered(r.tick(1.0)) == []  # i1 sought a again and passed it over
    r.submit(inq("i2"), 2.0)
    assert _offered(r.tick(2.0)) == [("i2", "a")]


def test_a_new_inquiry_met_by_a_freed_agent_goes_to_a_better_listed_one() -> None:
    """A freed agent that meets a new inquiry first compares its own key with the head of
    the pool's agent heap (``Router._placed_elsewhere``): the best listed agent takes it when
    it is better. b (level 4, idle since 0) and c (level 1, idle since 59) are listed; a
    (level 3) logs in at 60 with a new inquiry: scores b 1.75, a 0.5, c 0.02, so b takes
    it. Kills the comparison made with another entry than the head's key (``heap[-1]``: c's,
    or ``head[1]``/``head[-1]``: its sequence number or slot): a took it."""
    r = Router(config(RECENT))
    r.login(AgentSpec(id="d", skills={"other": 1}, capacity={"chat": 1}), 0.0)  # slot 0
    r.login(agent("b", level=4), 0.0)
    r.login(agent("c", level=1), 59.0)
    r.tick(59.0)
    r.login(agent("a", level=3), 60.0)
    r.submit(inq("i1"), 60.0)
    assert _offered(r.tick(60.0)) == [("i1", "b")]


def test_a_freed_agent_tied_with_the_listed_head_leaves_the_new_inquiry_to_it() -> None:
    """Equal keys fall to the agent listed first (router/state/distribution.py: "the agent
    listed first"); a freed agent meeting a new inquiry would be listed after the pool's head,
    so on a tie the head takes it (``Router._placed_elsewhere``). b (level 1) idle since 0
    and a (level 5) logging in at 60 both score 1.0 then: b takes the inquiry. Kills the
    tie going to the freed agent (``<=`` for ``<``)."""
    r = Router(config(RECENT))
    r.login(agent("b", level=1), 0.0)
    r.tick(0.0)
    r.login(agent("a", level=5), 60.0)
    r.submit(inq("i1"), 60.0)
    assert _offered(r.tick(60.0)) == [("i1", "b")]


def test_the_real_time_counts_follow_an_agent_back_from_a_break_before_the_next_pass() -> None:
    """``statistics()`` re-counts the agents noted as changed since its last call
    (router/state/realtime.py, "Agents"); an agent back from a break (``set_ready`` ->
    ``Router._make_ready``) is noted at once, so a read before the next matching pass
    already counts it idle. Kills the note dropped there: it was still counted on a break."""
    r = Router(config(RECENT))
    r.login(agent("a"), 0.0)
    r.tick(0.0)
    r.go_on_break("a", 1.0)
    r.tick(1.0)
    assert r.statistics().agents_by_state["break"] == 1
    r.set_ready("a", 2.0)
    by_state = r.statistics().agents_by_state
    assert (by_state["idle"], by_state["break"]) == (1, 0)


def test_an_agent_given_room_by_the_surge_caps_is_counted_available() -> None:
    """Surge mode raises the chat cap (tests/test_surge.py's config: 4); every agent's caps
    are set again (``Router._set_caps``) and the agent is noted for the real-time counts: an
    agent holding two chats at a cap of two becomes available for the chat queue. Kills the
    note dropped in ``_set_caps``: the queue still counted no agent available."""
    from router import Inquiry
    from tests.test_surge import make, start_surge

    r = make(enter_after=0)
    r.login(AgentSpec(id="c", capacity={"chat": 2, "voice": 1}), 0)
    for i in range(2):
        r.submit(Inquiry(id=f"c{i}", queue="chat"), 0)
    r.tick(0)
    assert r.statistics().queues["chat"].available_agents == 0
    start_surge(r, 1)
    assert r.statistics().queues["chat"].available_agents == 1


RING2 = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "ring"
channel = "chat"
max_offers = 2
"""


def test_the_real_time_counts_follow_the_agents_a_ring_reached() -> None:
    """A ring's offer (``Router._offer_many``) notes every agent it reached for the
    real-time counts: x and y (one chat each) rung for r1 are busy, with no room and not
    available for the queue. Kills the note dropped there: both were still counted idle
    and available."""
    r = Router(config(RING2))
    r.login(agent("x", voice=0, chat=1), 0.0)
    r.login(agent("y", voice=0, chat=1), 0.0)
    r.tick(0.0)
    assert r.statistics().queues["ring"].available_agents == 2
    r.submit(inq("r1", queue="ring"), 1.0)
    assert sorted(_offered(r.tick(1.0))) == [("r1", "x"), ("r1", "y")]
    s = r.statistics()
    assert (s.agents_by_state["busy"], s.agents_by_state["idle"]) == (2, 0)
    assert (s.queues["ring"].available_agents, s.agents_with_room) == (0, 0)


STEPS = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "a"
channel = "voice"
requires = { refund = 3 }
steps = [{ after_s = 10, requires = { refund = 1 } }]
[[queues]]
name = "b"
channel = "voice"
requires = { refund = 3 }
steps = [{ after_s = 600, requires = { refund = 1 } }]
"""


def test_a_transfer_starts_the_new_queues_relaxation_steps_again() -> None:
    """A transferred inquiry enters its new queue at its first requirement: "the new queue's
    relaxation steps start now" (``Router.transfer`` -> ``_move_to``). x waited into queue
    a's relaxed step (level 1 from 10 s), is transferred to b (level 3 for its first 600 s):
    a level-1 agent back from a break is not offered it. Kills the step left as it was
    (``t.step = step`` dropped): b's relaxed step applied at once and lo was offered x."""
    r = Router(config(STEPS))
    r.login(agent("lo", level=1), 0.0)
    r.go_on_break("lo", 0.0)
    r.submit(inq("x", queue="a"), 0.0)
    r.tick(20.0)  # a's step 1 reached
    r.transfer("x", "b", 21.0)
    r.set_ready("lo", 22.0)
    assert _offered(r.tick(22.0)) == []
    assert r.inquiry_state("x") == "waiting"


PREFERRED = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "care"
channel = "voice"
requires = { care = 1 }
preferred_wait_s = 0.05
[[queues]]
name = "plain"
channel = "voice"
requires = { care = 1 }
"""


def test_a_transfer_ends_a_wait_for_preferred_agents_within_the_first_second() -> None:
    """A move into a queue without a window for preferred agents ends the wait at once
    (``Router._move_to``: a wait is on while ``prefer_until > 0``, times being any float).
    c1 waits for li (busy) from 0.01 to 0.06 and is transferred at 0.02: ye, free, is
    offered it then. Kills the test of a wait in force read against a constant above 0
    (``<= 1.0``, ``<= 0.1``): a wait ending before it was left running."""
    from router import Inquiry

    r = Router(config(PREFERRED))
    for aid in ("ye", "li"):
        r.login(AgentSpec(id=aid, skills={"care": 2}), 0.0)
    r.tick(0.0)
    r.submit(Inquiry(id="x", queue="care", preferred_agents=["li"]), 0.0)
    assert _offered(r.tick(0.0)) == [("x", "li")]
    r.accept("x", 0.0)
    r.submit(Inquiry(id="c1", queue="care", preferred_agents=["li"]), 0.01)
    assert ("c1", "ye") not in _offered(r.tick(0.01))  # li's until 0.06
    r.transfer("c1", "plain", 0.02)
    assert _offered(r.tick(0.02)) == [("c1", "ye")]


def test_a_reconfigure_rebuilds_the_arrival_line_read_from_its_start() -> None:
    """A reconfigure rebuilds each queue's line of arrivals from its waiting inquiries
    (``index_arrivals``), read from its start again. Four of five arrivals left, a read of
    the statistics walked the line past them (``arrival_head`` 4), then the same config is
    applied: the longest wait is still x4's. Kills the old head kept on the rebuilt line
    (``arrival_head = 0`` dropped): the walk started past its one entry, and read 0."""
    cfg = config(RECENT)
    r = Router(cfg)
    for n in range(5):
        r.submit(inq(f"x{n}"), float(n))
    for n in range(4):
        r.withdraw(f"x{n}", 5.0)
    assert r.statistics().queues["refund"].longest_wait_s == 1.0  # x4, since 4
    r.reconfigure(cfg, 10.0)
    s = r.statistics().queues["refund"]
    assert (s.waiting, s.longest_wait_s) == (1, 6.0)


def test_accept_and_complete_refuse_an_id_that_is_not_a_string() -> None:
    """``accept`` and ``complete`` test a plain short string id inline and leave any other to
    ``check_id`` (``Router.accept``): an int, None or bytes is refused as ``InvalidInput``
    naming ``inquiry_id``, and the router goes on. Kills the inline test's type check
    flipped (``is str``): an int failed inside as a ``TypeError`` (the router then broken)
    and bytes came out as an unknown id."""
    from router import InvalidInput

    r = Router(config(RECENT))
    r.login(agent("a"), 0.0)
    r.submit(inq("i1"), 0.0)
    r.tick(0.0)
    before = r.snapshot()
    for bad in (5, None, b"i1"):
        for call in (r.accept, r.complete):
            if router.compiled:  # mypyc's own TypeError, before anything changes (as test_inputs)
                with pytest.raises(TypeError):
                    call(bad, 1.0)  # type: ignore[arg-type]
                continue
            with pytest.raises(InvalidInput) as err:
                call(bad, 1.0)  # type: ignore[arg-type]
            assert err.value.field == "inquiry_id"
    assert r.snapshot() == before
    r.accept("i1", 1.0)
    r.complete("i1", 2.0)


def test_the_shared_caps_are_forgotten_not_grown_past_their_bound() -> None:
    """Agents with the same caps share one dict, kept by content in ``Router._caps_shared``;
    the contents are open-ended (any capacity an update names), so past ``MAX_SHARED_CAPS``
    the cache is cleared, not grown ("open-ended: forget, not grow"). One agent updated
    through 4,200 distinct capacities: the cache stays within its bound and the agent's caps
    are its last. Kills the clear dropped (the cache grew by one dict per capacity)."""
    import itertools

    from router.core import MAX_SHARED_CAPS

    r = Router(config(RECENT))
    r.login(agent("a"), 0.0)
    combos = itertools.product(range(1, 31), range(21), range(6), range(2))
    for n, (chat, email, task, voice) in enumerate(itertools.islice(combos, 4200)):
        cap = {"chat": chat, "email": email, "task": task, "voice": voice}
        r.update_agent(AgentSpec(id="a", skills={"refund": 3}, capacity=cap), 1.0)
        assert len(r._caps_shared) <= MAX_SHARED_CAPS, n
    assert r._agents["a"].caps == cap


def test_the_agent_heaps_stay_within_their_compaction_bound() -> None:
    """An agent's entries go stale whenever it changes; a pool's agent heap is compacted
    once its length passes its listed agents by half plus 32 (the pure build: by all of
    them plus 64; ``Router._refresh``: "dropped in bulk"), so after every input it holds at
    most that many. A seeded run of twenty
    agents and 1,500 seconds of arrivals, offers accepted at once and completions at random:
    the bound holds in every pool throughout. Kills the compaction dropped from
    ``_refresh`` (the heap passed its bound)."""
    import random

    r = Router(config(RECENT))
    rnd = random.Random(5)
    for i in range(20):
        r.login(agent(f"a{i}", level=1 + i % 5), 0.0)
    held: list[str] = []
    n = 0
    for step in range(1, 1501):
        now = float(step)
        for _ in range(rnd.choice((0, 1, 1, 2, 3))):
            n += 1
            r.submit(inq(f"i{n}"), now)
        for e in r.tick(now):
            if isinstance(e, Offered):
                r.accept(e.inquiry_id, now)
                held.append(e.inquiry_id)
        rnd.shuffle(held)
        while held and rnd.random() < 0.6:
            r.complete(held.pop(), now)
        for p in r._pools.values():
            n_l = p.n_listed  # (pure: a compaction costs more than longer heaps' sifts)
            bound = n_l + (n_l >> 1) + 32 if r._native_heap else 2 * n_l + 64
            assert len(p.agents) <= bound, step


RING_AND_CHAT_LONG = """
[routing]
mode = "offer"
offer_timeout_s = 100
[[queues]]
name = "ring"
channel = "chat"
max_offers = 2
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 1 }
"""


def test_the_winner_of_a_ring_is_scored_from_its_answer() -> None:
    """The agent that accepts a ring's offer first wins it (``Router._win``): its idle time
    starts again, so its entries in the agent heaps are made stale and it is listed again
    with its new key. x (idle since 0, listed in chat's pool with one of two chats rung)
    wins r1 at 600 as a (level 4) logs in and a chat arrives: by the scores at 600 (x 0.0,
    a 0.75) a takes it. Kills the winner's entries left live (``unlist`` dropped in
    ``_win``): x was found at its old key, 10, and given the chat."""
    r = Router(config(RING_AND_CHAT_LONG))
    r.submit(inq("w0", queue="chat"), 0.0)  # chat's pool made, before the logins
    r.withdraw("w0", 0.0)
    r.login(agent("x", level=3, voice=0, chat=2), 0.0)
    r.tick(0.0)
    r.login(agent("y", level=1, voice=0, chat=2), 590.0)
    r.tick(590.0)
    r.submit(inq("r1", queue="ring"), 595.0)
    assert sorted(_offered(r.tick(595.0))) == [("r1", "x"), ("r1", "y")]
    r.accept("r1", 600.0, agent_id="x")
    r.login(agent("a", level=4, voice=0, chat=2), 600.0)
    r.submit(inq("c1", queue="chat"), 600.0)
    assert ("c1", "a") in _offered(r.tick(600.0))


def test_a_callback_failed_on_offer_lowers_the_spent_room() -> None:
    """A callback whose call reached nobody while on offer is released from its agent
    (``callback_failed`` -> the policies' ``release``): its offer's deadline entry is spent,
    the compaction rule's margin falls by two, and the bound ``_spent_room`` with it
    (tests/test_deadline_heap.py). The bound counted exactly first (a restored router counts
    it at its first input); the last attempt gives up (no retry timer set after it). Kills
    the release not lowering it (``-= 2`` dropped, or ``-= 1``): above the margin, an input
    would skip a compaction."""
    from tests.test_admission import callback_behind_two
    from tests.test_deadline_heap import _margin

    r = callback_behind_two()
    for iid, at in (("1", 10.0), ("2", 20.0)):
        r.accept(iid, at - 9.0)
        r.complete(iid, at)
        r.tick(at)
    for at in (20.0, 81.0):  # its first call, then its retry at 81 (the last: 2 attempts)
        r.tick(at)
        assert r.inquiry_state("cb") == "offered"
        r = Router.restore(r.snapshot())
        r.tick(at)
        assert r._spent_room == _margin(r)  # counted at the restored router's first input
        r.callback_failed("cb", at + 1.0)
        assert r._spent_room <= _margin(r), (at, r._spent_room, _margin(r))
    assert r.counters.abandoned == 1  # gave up after its second attempt


TENANTS = """
[routing]
mode = "immediate"
[routing.weights]
idle_time = 0.01
[[queues]]
name = "taobao"
tenant = "taobao"
requires = { refund = 1 }
[[queues]]
name = "fliggy"
tenant = "fliggy"
requires = { fl = 1 }
"""


def test_an_agent_whose_shift_leaves_a_tenant_is_not_given_its_work() -> None:
    """A shift change lists the agent again in the pools its new shift allows
    (``Router._repool``): its entries in every agent heap go stale first. ye serves both
    tenants until 600, then Fliggy only; at 600 z (Taobao, level 3) logs in and a Taobao
    inquiry arrives in the same pass: z takes it (ye's score in Fliggy's pool, 0.1, puts it
    after z in the pass; its old Taobao entry would score 1.1). Kills the stale entries
    left live (``unlist`` dropped in ``_repool``): ye, off Taobao, was assigned it."""
    from router import Shift

    r = Router(config(TENANTS))
    r.submit(inq("w0", queue="taobao"), 0.0)  # Taobao's pool made
    r.withdraw("w0", 0.0)
    shifts = [
        Shift(start_s=0.0, end_s=600.0),
        Shift(start_s=600.0, end_s=4000.0, tenants=frozenset({"fliggy"})),
    ]
    both = frozenset({"taobao", "fliggy"})
    r.login(AgentSpec(id="ye", skills={"refund": 5, "fl": 1}, tenants=both, shifts=shifts), 0.0)
    r.tick(0.0)
    r.login(AgentSpec(id="z", skills={"refund": 3}, tenants=frozenset({"taobao"})), 600.0)
    r.submit(inq("t", queue="taobao"), 600.0)
    assert _offered(r.tick(600.0)) == [("t", "z")]


def test_an_answer_is_a_departure_that_did_not_abandon() -> None:
    """``WaitEstimator`` keeps, per queue, exponentially weighted means over departures from
    the line (router/state/estimate.py: weight ``alpha``): whether it was an abandonment,
    and how long it had waited; an answer is such a departure, not abandoned, and renews the
    queue's version (predictions cached on it are made again), also when it waited nothing.
    One abandonment after 100 s, then answers after 0.05 s and after 0 s: each moves the
    means by ``alpha`` and ``theta`` (their ratio) with them. Kills ``on_answer`` leaving the
    abandonment mean as it was, counting a wait up to 1 s (or 0.1 s) as none or none as 1 s,
    and not renewing the version."""
    from router.state.estimate import WaitEstimator

    est = WaitEstimator(alpha=0.5)
    est.on_abandon("q", 100.0)
    abandon, waited = 0.5, 50.0  # each mean moved half way from 0
    assert est.theta("q") == pytest.approx(abandon / waited)
    for at, wait in ((10.0, 0.05), (20.0, 0.0)):
        ver = est.version("q")
        est.on_answer("q", at, at - wait)
        abandon, waited = abandon / 2, waited + 0.5 * (wait - waited)
        assert est.theta("q") == pytest.approx(abandon / waited), (at, wait)
        assert est.version("q") != ver
