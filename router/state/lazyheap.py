"""Lazy heaps: entries go stale instead of being removed, and are dropped in bulk.

Theory of operation: the core's heaps hold entries ``(key, seq, ver, record)``.
An entry is live while ``record.ver == ver``; any change of the record bumps its
version, so the old entry goes stale in O(1) and a new one is pushed where the
record now belongs. Readers drop stale entries when they reach the top. A heap
whose length grows past ``2 * live + 64`` is compacted (stale entries dropped,
the rest re-heapified), so memory stays within a constant factor of the live
entries and the compaction's O(n) cost is amortised over the n pushes that
made it necessary.
"""

from __future__ import annotations

from heapq import heapify

from router.state.records import WAITING, Agent, Ticket

__all__ = ["AgentEntry", "TicketEntry", "bloated", "live_agents", "live_tickets"]

#: ``(score key, listing seq, agent version, agent)``; lower key is better.
AgentEntry = tuple[float, int, int, Agent]
#: ``(aged arrival, ticket seq, ticket version, ticket)``; lower key is more urgent.
TicketEntry = tuple[float, int, int, Ticket]


def bloated(length: int, live: int) -> bool:
    """Whether a heap of ``length`` entries with ``live`` live ones needs compacting."""
    return length > 2 * live + 64


def live_agents(heap: list[AgentEntry]) -> list[AgentEntry]:
    """The live entries of an agent heap, as a new heap."""
    out = [e for e in heap if e[3].ver == e[2]]
    heapify(out)
    return out


def live_tickets(heap: list[TicketEntry]) -> list[TicketEntry]:
    """The live entries of a waiting-ticket heap, as a new heap."""
    out = [e for e in heap if e[3].ver == e[2] and e[3].state == WAITING]
    heapify(out)
    return out
