"""What ``statistics()`` returns: fixed, typed structs (no key appears on first use).

:class:`Counters` is what the router counted since it started; the core keeps
one and updates it in place, ``statistics()`` and ``Router.counters`` hand out
copies. :class:`RouterStatistics` adds what is in flight now; every figure is
kept up to date as inputs arrive, so a scrape costs O(queues), never a scan of
the agents or the inquiries. New figures are new fields with defaults: snapshots
written before they existed still decode.
"""

from __future__ import annotations

from msgspec import Struct

__all__ = ["Counters", "QueueStatistics", "RouterStatistics"]


class Counters(Struct, kw_only=True, gc=False):
    """Counts since the router started; docs/backpressure.md says how they add up."""

    #: arrivals that got an outcome from admission (``blocked`` attempts excluded)
    submitted: int = 0
    #: arrivals admitted (in line, as a callback, or held as an outbound task)
    admitted: int = 0
    rejected: int = 0
    deflected: int = 0
    withdrawn: int = 0
    abandoned: int = 0
    #: offers made (offer mode), declined by agents, expired unanswered
    offers: int = 0
    declined: int = 0
    expired: int = 0
    assigned: int = 0
    completed: int = 0
    #: routing decisions (an offer, or an assignment in immediate mode)
    decisions: int = 0
    #: submits a ``block`` policy held back (nothing recorded)
    blocked: int = 0
    #: waiting inquiries evicted by ``shed_lowest_priority`` (also in ``rejected``)
    shed: int = 0
    #: moves to another queue by ``overflow``
    overflowed: int = 0
    #: arrivals taken as callbacks, and callback calls that did not reach the customer
    callbacks: int = 0
    callback_attempts_failed: int = 0
    #: times surge mode started
    surges: int = 0
    #: outbound tasks not started by their deadline (``TaskExpired``, their one outcome)
    tasks_expired: int = 0
    #: in-queue changes: priority/requirement updates, transfers, hand-backs, agent updates
    updated: int = 0
    transferred: int = 0
    handed_back: int = 0
    agents_updated: int = 0
    #: inquiries that got their queue's ``closed`` outcome (arrivals, and waiting at closing)
    closed: int = 0
    #: assignments that interrupted other channels' work past the agent's capacity units
    interruptions: int = 0
    #: agents set away because their console sent nothing for ``presence_timeout_s``
    presence_timeouts: int = 0


class QueueStatistics(Struct, frozen=True, kw_only=True):
    waiting: int
    expected_wait_s: float


class RouterStatistics(Struct, frozen=True, kw_only=True):
    """Counters since start plus what is in flight now."""

    now: float
    version: int
    agents_logged_in: int
    agents_ready: int
    agents_with_room: int
    waiting: int
    offered: int
    in_service: int
    wrap_up: int
    counters: Counters
    queues: dict[str, QueueStatistics]
    surge: bool = False
    #: inquiries out of line but alive: callbacks between attempts, held outbound tasks
    parked: int = 0
