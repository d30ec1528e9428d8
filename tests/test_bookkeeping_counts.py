"""Two counts the core keeps without a dict store per change (bk32).

* ``QueueState.waiting_by_priority`` holds one ``WaitingCount`` per priority, which the
  ``TicketTerms`` of that queue and priority share (``TicketTerms.waiting``): an entry into
  or exit from the line counts there. After every input, each count is the number of the
  queue's waiting inquiries of that priority, and each live ticket's terms hold its own
  queue's record for its priority.
* ``AgentTally.noted``: the agent is in ``Realtime.changed`` (the core skips the store
  while it is). After every input, an agent noted is there; after ``statistics()`` (which
  settles) none is noted; and the real-time counts equal those a restored router counts
  from scratch.

Seeded runs mix priorities, priority updates, transfers, withdrawals, declines, expiries,
hand-backs, breaks, logouts and logins, reading the statistics now and then.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from router import Router
from router.state.records import ASSIGNED, LOGGING_OUT, OFFERED, READY, WAITING
from tests.helpers import agent, config, inq
from tests.test_waiting_lines import TWO_QUEUES as CFG  # (refund, and vip at priority 1)


def _check_counts(r: Router) -> None:
    for q in r._queues.values():
        want = Counter(
            t.priority for t in r._tickets.values() if t.state == WAITING and t.queue is q
        )
        have = {p: c.n for p, c in q.waiting_by_priority.items() if c.n}
        assert have == dict(want), (q.name, have, want)
        assert all(c.n >= 0 for c in q.waiting_by_priority.values())
    for t in r._tickets.values():
        assert t.terms.waiting is t.queue.waiting_by_priority[t.priority]


def _check_noted(r: Router) -> None:
    changed = r._live.changed
    for a in r._agents.values():
        if a.tally.noted:
            assert changed.get(a.id) is a, a.id


def _agent_counts(r: Router) -> tuple[object, ...]:
    s = r.statistics()
    queues = sorted(
        (
            name,
            q.eligible_agents,
            q.available_agents,
            q.waiting,
            sorted(q.waiting_by_priority.items()),
        )
        for name, q in s.queues.items()
    )
    return (s.agents_by_state, s.agents_with_room, queues)


@pytest.mark.parametrize("seed", range(4))
def test_waiting_counts_and_noted_agents_follow_every_input(seed: int) -> None:
    rnd = random.Random(seed)
    r = Router(config(CFG))
    agents = [f"a{i}" for i in range(5)]
    for a in agents:
        r.login(agent(a), 0.0)
    now = 0.0
    n = 0
    settled = 0
    for _ in range(600):
        now += rnd.choice((0.0, 0.5, 1.0, 3.0))
        r.tick(now)
        roll = rnd.random()
        waiting = [t.id for t in r._tickets.values() if t.state == WAITING]
        offered = [t.id for t in r._tickets.values() if t.state == OFFERED]
        assigned = [t.id for t in r._tickets.values() if t.state == ASSIGNED]
        if roll < 0.35:
            n += 1
            r.submit(
                inq(
                    f"i{n}",
                    queue=rnd.choice(("refund", "refund", "vip")),
                    priority=rnd.choice((None, None, 0, 2, 3)),
                ),
                now,
            )
        elif roll < 0.42 and waiting:
            r.update_inquiry(rnd.choice(waiting), now, priority=rnd.randrange(4))
        elif roll < 0.48 and waiting:
            t = r._tickets[rnd.choice(waiting)]
            r.transfer(t.id, "vip" if t.queue.name == "refund" else "refund", now)
        elif roll < 0.52 and waiting:
            r.withdraw(rnd.choice(waiting), now)
        elif roll < 0.6:
            a = rnd.choice(agents)
            if a not in r._agents:
                r.login(agent(a), now)
            elif r._agents[a].state == LOGGING_OUT:
                pass  # (its work ends first)
            elif rnd.random() < 0.2:
                r.logout(a, now)
            elif r._agents[a].state == READY:
                r.go_on_break(a, now)
            else:
                r.set_ready(a, now)
        elif roll < 0.68 and offered:
            r.decline(rnd.choice(offered), now)
        elif roll < 0.78 and offered:
            r.accept(rnd.choice(offered), now)
        elif roll < 0.82 and assigned:
            r.hand_back(rnd.choice(assigned), now)
        elif roll < 0.9 and assigned:
            r.complete(rnd.choice(assigned), now)
        elif roll < 0.95:
            now += 11.0  # offers expire: back in line at their place
        else:
            mine = _agent_counts(r)
            assert not any(a.tally.noted for a in r._agents.values())
            assert not r._live.changed
            back = Router.restore(r.snapshot())
            assert _agent_counts(back) == mine
            settled += 1
        r.tick(now)
        _check_counts(r)
        _check_noted(r)
    assert settled > 10
    assert any(len(q.waiting_by_priority) > 1 for q in r._queues.values())
