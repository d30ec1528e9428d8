"""Preferred agents: the lines of inquiries that wait for one agent first.

Theory of operation
-------------------
An inquiry naming ``preferred_agents`` in a queue with ``preferred_wait_s > 0``
waits, for that long after entering the queue, for those agents only (the
*preference phase*; ``Ticket.prefer_until > 0``). It is counted as waiting in
its pool like any other, but its heap entry goes into ``Pool.preferring`` (for
head-of-line and listing) and into one small line per preferred agent id,
``Pool.lines[agent_id]``, never into the heaps every eligible agent reads. So:

* an agent that is not preferred never sees it (no skipping, O(1));
* a preferred agent freed looks at the head of its own line in each pool it
  serves, in the same loop that looks at the pool's heads (``router/core.py``,
  ``Router._fill``): O(log n) per pool;
* a new arrival checks its few preferred agents directly
  (``Router._seek_preferred``).

Lines are lazy heaps like the others: an entry is live while the ticket's
version matches (leaving the phase re-enqueues the ticket, which bumps it).
``Pool.line_live`` counts the live entries per id, so a line is compacted when
mostly stale and dropped when none is live: the line of an agent who is not
logged in empties within one preference window. An agent that declined a
ticket skips it (set aside and pushed back), a cost paid by the one who
declined, as for the pool's declined heap.

The phase ends (the ticket moves to its pool's ordinary heaps, like a
relaxation step) at ``prefer_until``, when no preferred agent who could serve
it is logged in any more (none at arrival: no phase at all), or when every
logged-in preferred agent has declined it (or let the offer expire).
"""

from __future__ import annotations

from heapq import heappush

from router.state.lazyheap import bloated, first_not_declined, live_tickets
from router.state.records import WAITING, Agent, Pool, Ticket

__all__ = ["add", "eligible", "head", "line_tickets", "remove"]


def add(pool: Pool, t: Ticket) -> None:
    """List waiting ``t`` (in its preference phase) in ``pool`` for each preferred id."""
    assert t.prefer is not None
    entry = (t.aged, t.seq, t.ver, t)
    heappush(pool.preferring, entry)
    pool.n_preferring += 1
    if bloated(len(pool.preferring), pool.n_preferring):
        pool.preferring = live_tickets(pool.preferring)
    lines = pool.lines
    live = pool.line_live
    for aid in t.prefer:
        line = lines.get(aid)
        if line is None:
            line = lines[aid] = []
        heappush(line, entry)
        n = live.get(aid, 0) + 1
        live[aid] = n
        if bloated(len(line), n):
            lines[aid] = live_tickets(line)


def remove(pool: Pool, t: Ticket) -> None:
    """``t`` left the phase or the line (its entries are stale now): fix the counts."""
    assert t.prefer is not None
    pool.n_preferring -= 1
    live = pool.line_live
    for aid in t.prefer:
        n = live[aid] - 1
        if n:
            live[aid] = n
        else:  # every entry of that line is stale
            del live[aid]
            del pool.lines[aid]
    if not pool.n_preferring:
        pool.preferring = []


def head(pool: Pool, agent_id: str) -> Ticket | None:
    """The most urgent live ticket in ``agent_id``'s line of ``pool`` it did not decline."""
    line = pool.lines.get(agent_id)
    if line is None:
        return None
    return first_not_declined(line, agent_id)


def line_tickets(pool: Pool, agent_id: str) -> list[Ticket]:
    """The live tickets in ``agent_id``'s line of ``pool`` (no order)."""
    line = pool.lines.get(agent_id)
    if not line:
        return []
    return [e[3] for e in line if e[3].ver == e[2] and e[3].state == WAITING]


def eligible(agent: Agent, pool: Pool) -> bool:
    """Whether ``agent`` is eligible for ``pool`` (a scan of the agent's own pools)."""
    for p, _, _ in agent.pools:  # noqa: SIM110 (a plain loop: no generator)
        if p is pool:
            return True
    return False
