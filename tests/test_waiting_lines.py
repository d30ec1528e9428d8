"""A pool's waiting inquiries in two lines, read as one: the order is ``(aged, seq)``.

New arrivals in order go to a pool's ``arrivals`` line (one pointer each), every other
entry into line (a priority, a requeue after a decline or an expiry, an arrival stamped
earlier than the last, a transfer, a hand-back) to its heaps (``Pool`` in
router/state/records.py). These seeded runs mix all of them and check, after every
input, that the head a freed agent reads and the queue's head of line are the most
urgent inquiry by a brute-force sort of the waiting tickets, and that the order in which
inquiries are then served is that sort. The arrival lines are lists read from a head
index (``Pool.head``, ``QueueState.arrival_head``): what lies before it is passed for good,
and the lines stay within a constant factor of the waiting inquiries.
"""

from __future__ import annotations

import random

import pytest

from router import Offered, Router
from router.state.records import ASSIGNED, FIRST_STAY, OFFERED, READY, WAITING, Pool, Ticket
from tests.helpers import agent, config, inq

TWO_QUEUES = """
[routing]
mode = "offer"
offer_timeout_s = 10
max_no_answer = 100
priority_seconds = 20
[[queues]]
name = "refund"
channel = "voice"
requires = { refund = 1 }
[[queues]]
name = "vip"
channel = "voice"
requires = { refund = 1 }
priority = 1
"""


def _key(t: Ticket) -> tuple[float, int]:
    return (t.aged, t.seq)


def _undeclined(r: Router, pool: Pool) -> list[Ticket]:
    return sorted(
        (
            t
            for t in r._tickets.values()
            if t.state == WAITING and t.pool is pool and not t.declined and t.prefer_until <= 0
        ),
        key=_key,
    )


def _check(r: Router, seen: dict[str, int]) -> None:
    for pool in r._pools.values():
        want = _undeclined(r, pool)
        head = pool.first()
        assert head is (want[0] if want else None), (pool.key, head, want[:1])
        in_line = sum(1 for t in pool.arrivals if t.ver == FIRST_STAY)
        in_heap = sum(1 for e in pool.waiting if e[3].ver == e[2])
        assert in_line + in_heap == len(want)
        if in_line and in_heap:
            seen["both"] += 1
    for q in r._queues.values():
        mine = (t for t in r._tickets.values() if t.state == WAITING and t.queue is q)
        waiting = sorted(mine, key=_key)
        assert q.head_of_line() is (waiting[0] if waiting else None)
        assert sorted(q.waiting(), key=_key) == waiting


@pytest.mark.parametrize("seed", range(6))
def test_mixed_entries_keep_the_aged_order(seed: int) -> None:
    rnd = random.Random(seed)
    r = Router(config(TWO_QUEUES))
    agents = [f"a{i}" for i in range(4)]
    for a in agents:
        r.login(agent(a), 0.0)
        r.go_on_break(a, 0.0)
    now = 0.0
    n = 0
    seen = {"both": 0}
    for _ in range(500):
        now += rnd.choice((0.0, 0.5, 1.0, 3.0))
        r.tick(now)  # deadlines due now fire first: the lists below stand at ``now``
        roll = rnd.random()
        waiting = [t.id for t in r._tickets.values() if t.state == WAITING]
        offered = [t.id for t in r._tickets.values() if t.state == OFFERED]
        assigned = [t.id for t in r._tickets.values() if t.state == ASSIGNED]
        if roll < 0.35:
            n += 1
            late = rnd.random() < 0.2
            r.submit(
                inq(
                    f"i{n}",
                    queue=rnd.choice(("refund", "refund", "vip")),
                    priority=rnd.choice((None, None, None, 0, 2)),
                    arrived_at=max(0.0, now - rnd.choice((5.0, 40.0))) if late else None,
                ),
                now,
            )
        elif roll < 0.45 and waiting:
            r.update_inquiry(rnd.choice(waiting), now, priority=rnd.randrange(3))
        elif roll < 0.52 and waiting:
            t = r._tickets[rnd.choice(waiting)]
            r.transfer(t.id, "vip" if t.queue.name == "refund" else "refund", now)
        elif roll < 0.57 and waiting:
            r.withdraw(rnd.choice(waiting), now)
        elif roll < 0.67:
            a = rnd.choice(agents)
            if r._agents[a].state == READY:
                r.go_on_break(a, now)
            else:
                r.set_ready(a, now)
        elif roll < 0.77 and offered:
            r.decline(rnd.choice(offered), now)
        elif roll < 0.85 and offered:
            r.accept(rnd.choice(offered), now)
        elif roll < 0.9 and assigned:
            r.hand_back(rnd.choice(assigned), now)
        elif roll < 0.95 and assigned:
            r.complete(rnd.choice(assigned), now)
        else:
            now += 11.0  # offers expire: back in line at their place
        r.tick(now)
        _check(r, seen)
    assert seen["both"] > 20  # the two lines were read together, not one at a time
    # the rest is served in the order of the sort: one agent, one at a time
    for a in agents:
        if r._agents[a].state == READY:
            r.go_on_break(a, now)
    for t in list(r._tickets.values()):
        if t.state == OFFERED:
            r.decline(t.id, now)
        elif t.state == ASSIGNED:
            r.complete(t.id, now)
    r.tick(now)
    first = agents[0]
    order = sorted(
        (
            t
            for t in r._tickets.values()
            if t.state == WAITING and (t.declined is None or first not in t.declined)
        ),
        key=_key,
    )
    r.set_ready(first, now)
    served: list[str] = []
    while True:
        now += 1.0
        offers = [e.inquiry_id for e in r.tick(now) if isinstance(e, Offered)]
        if not offers:
            break
        served += offers
        r.accept(offers[0], now)
        r.complete(offers[0], now)
    assert served == [t.id for t in order]
    assert served


def _check_heads(r: Router, now: float) -> None:
    """The entries before a pool's head are stale for good; the longest wait the statistics
    read from a queue's arrival line (past its head) is the brute-force one."""
    for pool in r._pools.values():
        assert 0 <= pool.head <= len(pool.arrivals)
        assert all(t.ver != FIRST_STAY for t in pool.arrivals[: pool.head])
    stats = r.statistics().queues
    for q in r._queues.values():
        assert 0 <= q.arrival_head <= len(q.by_arrival)
        mine = [t for t in r._tickets.values() if t.state == WAITING and t.queue is q]
        want = max((now - t.arrival for t in mine), default=0.0)
        assert stats[q.name].longest_wait_s == want


@pytest.mark.parametrize("seed", range(3))
def test_arrival_lines_pass_their_heads_and_stay_bounded(seed: int) -> None:
    """A long run with a backlog that grows and drains, the statistics read after every
    step: the heads move past stale entries, the passed ones are cut off or compacted
    away, and neither line outgrows a constant factor of the waiting inquiries."""
    rnd = random.Random(seed)
    r = Router(config(TWO_QUEUES))
    agents = [f"a{i}" for i in range(3)]
    for a in agents:
        r.login(agent(a), 0.0)
    now = 0.0
    n = 0
    most = 0  # the most inquiries waiting at once so far
    moved = {"pool": 0, "queue": 0, "cut": 0}  # steps after which each was seen
    for step in range(3000):
        now += 1.0
        lengths = [len(q.by_arrival) for q in r._queues.values()]
        # a backlog builds (1.5 arrivals a step, one served) and then drains (0.3)
        k = (1 + (rnd.random() < 0.5)) if (step // 300) % 2 == 0 else int(rnd.random() < 0.3)
        for _ in range(k):
            n += 1
            r.submit(inq(f"i{n}", queue=rnd.choice(("refund", "vip"))), now)
        for e in r.tick(now):
            if isinstance(e, Offered):
                if rnd.random() < 0.1:
                    r.decline(e.inquiry_id, now)  # back in line, in a heap
                else:
                    r.accept(e.inquiry_id, now)
        assigned = [t.id for t in r._tickets.values() if t.state == ASSIGNED]
        if assigned:
            r.complete(rnd.choice(assigned), now)
        for e in r.tick(now):
            if isinstance(e, Offered):
                r.accept(e.inquiry_id, now)
        most = max(most, r.total_waiting())
        _check_heads(r, now)
        for pool in r._pools.values():
            moved["pool"] += pool.head > 0
            assert len(pool.arrivals) <= 2 * most + 65
        for q, before in zip(r._queues.values(), lengths):
            moved["queue"] += q.arrival_head > 0
            moved["cut"] += len(q.by_arrival) < before  # passed heads cut off, or compacted
            assert len(q.by_arrival) <= 4 * most + 130
    assert most > 50 and all(moved.values()), (most, moved)
