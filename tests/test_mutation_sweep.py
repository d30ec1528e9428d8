"""Directed tests for the mutants a sweep of the change since ``c83e7cc`` left alive.

A mutation sweep (BENCHMARKS.md, "Mutation sweep of the change since c83e7cc (mut32)")
applied one small change at a time (a comparison flipped, an index off by one, a statement
dropped) to the lines of ``router/`` changed for speed, and ran the tests of the module. Each
test here fails on a mutant that survived and changes what the router does or keeps, and
passes on the real code. They read behaviour (events, the order of service) where it shows
the fault, or a stated invariant of a structure (a bound on what it keeps) where only that
does.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from router import InvalidInput, Offered, Router
from router.state.windows import SlidingWindows
from router.values import MAX_NAME
from tests.helpers import agent, config, inq

FIFO = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
"""


def _serve(r: Router, now: float, served: list[str]) -> None:
    """Accept every offer at once and complete it in the same instant (no wrap-up)."""
    for e in r.tick(now):
        if isinstance(e, Offered):
            r.accept(e.inquiry_id, now)
            served.append(e.inquiry_id)
            r.complete(e.inquiry_id, now)


def test_a_compacted_arrival_line_keeps_its_waiting_inquiries_in_order() -> None:
    """A pool's ``arrivals`` line grows by one entry per arrival and sheds the stale ones
    (served, passed by the head) only when it outgrows twice the waiting inquiries plus 64
    (``lazyheap.live_arrivals``): with a small backlog served for hundreds of arrivals, it is
    compacted many times, and every inquiry is still served, in the order it came (one
    queue, one priority: first come, first served). Kills ``live_arrivals`` keeping the
    stale entries instead of the live ones (``==`` flipped): the waiting inquiries left the
    line and no agent was offered them again."""
    r = Router(config(FIFO))
    r.login(agent("a0"), 0.0)  # one inquiry at a time: a backlog of 5 stays in line
    served: list[str] = []  # offered (and accepted at once), in order
    n = 0
    now = 0.0
    for step in range(400):
        now += 1.0
        for _ in range(2 if step < 5 else 1):  # a backlog of a few, then one in, one out
            n += 1
            r.submit(inq(f"i{n:04d}"), now)
        _serve(r, now, served)
    for _ in range(20):  # drain
        now += 1.0
        _serve(r, now, served)
    assert served == [f"i{k:04d}" for k in range(1, n + 1)]


def test_a_roll_keeps_one_record_at_or_before_the_longest_windows_base() -> None:
    """``SlidingWindows.roll`` keeps the records some window may start after, and of those
    at or before the base of the longest window only the newest (router/state/windows.py:
    "kept while some window may start after it"): seeded gaps of zero to a dozen buckets
    between counts, the rule checked after every roll. Kills the roll keeping one record
    too many: ``bisect_right(...) - 2`` for ``- 1`` (a gap of several buckets), and the
    one-bucket shortcut taken when the third record sits on the base (``>=`` for ``>``)."""
    rnd = random.Random(32)
    sw = SlidingWindows((30.0, 60.0), 10.0)  # the longest window: 6 buckets
    at = 0.0
    for _ in range(3000):
        at += rnd.choice((0.0, 3.0, 10.0, 10.0, 20.0, 25.0, 40.0, 70.0, 130.0))
        sw.current(at).offered += 1
        base = sw._k - sw._n  # the base of the longest window, its bucket open
        assert sum(1 for k in sw._keys if k <= base) <= 1, (sw._k, sw._keys)
        assert sw._keys == sorted(set(sw._keys)) and len(sw._keys) <= sw._n + 1


RING = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "ring"
channel = "voice"
max_offers = 3
"""


def test_a_ring_reaches_every_agent_freed_in_the_same_pass_as_the_arrival() -> None:
    """Agents logged in and an inquiry submitted at one instant are met in one matching pass
    (several agents freed at once, a batch): the first freed agent to meet the new inquiry
    lists the rest of the batch before the ring is offered (``Router._placed_elsewhere``),
    so it rings ``max_offers`` agents, as it would have had they logged in before. Kills the
    batch's agents left unlisted for a ring (``if ring`` flipped): the ring reached one."""
    r = Router(config(RING))
    for i in range(4):
        r.login(agent(f"a{i}"), 0.0)
    r.submit(inq("c1", queue="ring"), 0.0)
    offered = sorted(e.agent_id for e in r.tick(0.0) if isinstance(e, Offered))
    assert len(offered) == 3 and r.offered_to("c1") == offered
    before = Router(config(RING))  # the same agents, listed in an earlier pass
    for i in range(4):
        before.login(agent(f"a{i}"), 0.0)
    before.tick(0.0)
    before.submit(inq("c1", queue="ring"), 0.0)
    assert sorted(e.agent_id for e in before.tick(0.0) if isinstance(e, Offered)) == offered


class _Outcome:
    """An outcome as ``Hub.remember`` keeps it: anything with an ``inquiry_id``."""

    def __init__(self, inquiry_id: str) -> None:
        self.inquiry_id = inquiry_id


def _live_order(h: Any) -> list[str]:
    """The ids of ``Hub.ended_order`` from its head, its stale entries (an outcome dropped
    early, its id submitted again) left out: oldest first."""
    return [
        ev.inquiry_id
        for ev in h.ended_order[h.ended_head :]
        if ev is not None and h.ended.get(ev.inquiry_id) is ev
    ]


def test_the_outcome_order_rebuilt_after_some_were_forgotten_reads_from_its_start() -> None:
    """``Hub.remember`` rebuilds ``ended_order`` from ``ended`` once stale entries (ids
    submitted again) pile up; the rebuilt order is read from its start, whatever had been
    forgotten before it. Some outcomes forgotten first (more than ``history``), then one id
    submitted again and again: after every step the order's live part is the history, oldest
    first, and new outcomes push out the oldest. Kills the rebuild keeping the old head
    (``ended_head = 0`` dropped): the newest outcome was forgotten instead of the oldest."""
    from router.adapters._hot import Hub
    from router.config import QueueConfig, RouterConfig

    h = Hub(Router(RouterConfig(queues=[QueueConfig(name="q")])), lambda: 0.0, 10, None)
    for n in range(15):  # five forgotten: the head moves past them
        h.remember(f"k{n}", _Outcome(f"k{n}"))
    assert h.ended_head > 0
    for _ in range(300):  # k14 submitted again and again (Hub.submit drops its outcome)
        del h.ended["k14"]
        h.remember("k14", _Outcome("k14"))
        assert _live_order(h) == list(h.ended)
    for n in range(3):
        h.remember(f"m{n}", _Outcome(f"m{n}"))
        assert _live_order(h) == list(h.ended)
    assert list(h.ended) == [f"k{n}" for n in range(8, 15)] + ["m0", "m1", "m2"]


def _expiry_and_abandon(offer_first: bool) -> list[str]:
    """An offer's expiry (the offer line) and another inquiry's patience (the deadline heap)
    due at the same instant, 10; ``offer_first``: the offer was made before the patience
    deadline was set (a smaller sequence number), else after. The names of the two events,
    in the order they came."""
    r = Router(config(FIFO))
    if offer_first:
        r.login(agent("a0"), 0.0)
        r.submit(inq("i1"), 0.0)
        assert [type(e).__name__ for e in r.tick(0.0)][-1:] == ["Offered"]
        r.submit(inq("i2", patience_s=5.0), 5.0)  # in line behind the offer: gives up at 10
    else:
        r.submit(inq("i2", patience_s=10.0), 0.0)  # nobody to serve it yet: gives up at 10
        r.login(agent("a0"), 0.0)
        r.submit(inq("i1", priority=1), 0.0)  # served first: offered, expires at 10
        assert [e.inquiry_id for e in r.tick(0.0) if isinstance(e, Offered)] == ["i1"]
    r.tick(5.0)
    return [
        type(e).__name__ for e in r.tick(10.0) if type(e).__name__ in ("OfferExpired", "Abandoned")
    ]


def test_deadlines_due_at_one_instant_fire_in_the_order_they_were_set() -> None:
    """Deadlines due at one instant fire in the order they were set (``(when, seq)``),
    whether they sit in the offer line or in the heap: ``Router._enter`` merges the two
    heads, and on a tie of times the smaller sequence number goes first. Kills the merge
    taking the heap's head on a tie (``<=`` for ``<``) and the one taking the line's
    (the tie's test reading the wrong field)."""
    assert _expiry_and_abandon(offer_first=True) == ["OfferExpired", "Abandoned"]
    assert _expiry_and_abandon(offer_first=False) == ["Abandoned", "OfferExpired"]


def test_accept_and_complete_refuse_an_empty_or_long_id_naming_the_field() -> None:
    """``accept`` and ``complete`` test a short id inline and call ``check_id`` for any other
    (``Router.accept``); an empty id and one past ``MAX_NAME`` are refused as ``check_id``
    refuses them, naming ``inquiry_id``, and change nothing. Kills the inline test letting
    an empty string through (``or`` to ``and``): it came out as an unknown id."""
    r = Router(config(FIFO))
    r.login(agent("a0"), 0.0)
    r.submit(inq("i1"), 0.0)
    r.tick(0.0)
    before = r.snapshot()
    for bad in ("", "x" * (MAX_NAME + 1)):
        for call in (r.accept, r.complete):
            with pytest.raises(InvalidInput) as err:
                call(bad, 1.0)
            assert err.value.field == "inquiry_id"
    assert r.snapshot() == before


def test_the_spent_room_stays_a_lower_bound_when_next_deadline_drops_dead_entries() -> None:
    """``next_deadline`` drops the entries at the top that can never fire (here the patience
    deadlines of inquiries served long before them, and spent offers' expiries); each one
    dropped lowers the compaction rule's margin, and ``Router._spent_room``, its lower bound,
    with it (tests/test_deadline_heap.py checks the bound through inputs). Kills the drop of
    a dead entry other than an offer's raising the bound (``-=`` to ``+=``): above the margin,
    a later input would skip a compaction the rule asks for."""
    from tests.test_deadline_heap import _margin

    r = Router(config(FIFO))
    for a in ("a0", "a1"):
        r.login(agent(a), 0.0)
    served: list[str] = []
    now = 0.0
    for n in range(60):
        now += 1.0
        r.submit(inq(f"i{n}", patience_s=500.0), now)
        _serve(r, now, served)
        assert r._spent_room <= _margin(r)
    assert len(served) == 60
    r.tick(now)  # the agents freed by the last completions: listed again
    assert r.next_deadline() is None  # every entry dead: all dropped
    assert r._spent_room <= _margin(r), (r._spent_room, _margin(r))
    r.tick(now + 1.0)
    assert r._spent_room <= _margin(r)


def test_waking_a_waiter_whose_task_was_cancelled_is_harmless() -> None:
    """``FutureWaiter.wake`` and ``Offers.wake`` (router/adapters/_hot.py) set the result
    without asking ``done()`` first; a future already done (its task was cancelled while it
    waited, or it was woken before) refuses it, and the wake must swallow that refusal (it
    runs inside ``Hub.tick``, for every inbox). Kills the refusal re-raised when the future
    is done (``not`` dropped), for both waiters. Reached through the constructors and a
    session's own ``async for`` reader (asyncio), so it runs on both builds (a compiled
    ``Offers`` cannot be made with ``__new__``)."""
    import asyncio

    from router import AgentSpec
    from router.adapters import open_router
    from router.adapters._hot import FutureWaiter, Offers

    async def read(reader: Any) -> Any:
        return await reader.__anext__()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        w = FutureWaiter(loop)
        w.fut.cancel()
        w.wake()  # cancelled: nothing to wake
        w = FutureWaiter(loop)
        w.wake()
        w.wake()  # woken before
        assert w.fut.done() and not w.fut.cancelled()
        async with (
            open_router(config(CHAT), backend="asyncio") as r,
            r.agent(AgentSpec(id="a1", skills={"refund": 1}, capacity={"chat": 1})) as a1,
        ):
            reader = a1.__aiter__()
            assert type(reader) is Offers
            task = asyncio.create_task(read(reader))
            await asyncio.sleep(0)  # the task waits on the reader's future: no offer yet
            fut = reader.fut
            assert fut is not None and not fut.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert fut.cancelled() and reader.fut is fut
            reader.wake()  # as Hub.tick's wake would, had it raced the cancellation

    asyncio.run(main())


CHAT = """
[routing]
mode = "offer"
offer_timeout_s = 10
[[queues]]
name = "chat"
channel = "chat"
requires = { refund = 1 }
"""


def test_an_agent_back_at_a_lowered_cap_after_a_release_has_no_room() -> None:
    """A release tests the agent's room inline (``Router._release``): a channel has room
    while its load is below its cap. An agent holding three chats whose cap fell to two
    (``update_agent``) is still full once one ends: ``agents_with_room`` stays 0 until a
    second one ends, and is 0 again once it is full. Kills the inline test counting a load
    equal to the cap as room (``<=`` for ``<``, or room assumed before the test), and the
    agent's flag left unchanged where the count changed (``agent.roomy = roomy`` dropped).
    """
    r = Router(config(CHAT))
    r.login(agent("a0", voice=0, chat=3), 0.0)
    for n in range(3):
        r.submit(inq(f"c{n}", queue="chat"), 0.0)
    for e in r.tick(0.0):
        if isinstance(e, Offered):
            r.accept(e.inquiry_id, 0.0)
    assert r.statistics().agents_with_room == 0
    r.update_agent(agent("a0", voice=0, chat=2), 1.0)
    r.complete("c0", 2.0)
    r.tick(2.0)
    assert r.statistics().agents_with_room == 0  # two chats held, two allowed: full
    r.complete("c1", 3.0)
    r.tick(3.0)
    assert r.statistics().agents_with_room == 1
    r.submit(inq("c3", queue="chat"), 4.0)  # full again: the count follows the agent's flag
    for e in r.tick(4.0):
        if isinstance(e, Offered):
            r.accept(e.inquiry_id, 4.0)
    assert r.statistics().agents_with_room == 0


def test_a_history_of_none_forgets_every_outcome_at_once() -> None:
    """``history = 0`` keeps no outcome: each one is forgotten as it comes
    (``Hub.forget_oldest``: the order emptied and read from its start again). Kills the
    head left where it was when the order is emptied (``head = 0`` dropped): the next
    outcome was looked up past the end of the order."""
    from router.adapters._hot import Hub
    from router.config import QueueConfig, RouterConfig

    h = Hub(Router(RouterConfig(queues=[QueueConfig(name="q")])), lambda: 0.0, 0, None)
    for n in range(5):
        h.remember(f"k{n}", _Outcome(f"k{n}"))
        assert not h.ended and not h.ended_order and h.ended_head == 0
