"""What ``statistics()`` returns: fixed, typed structs (no key appears on first use).

:class:`Counters` is what the router counted since it started; the core keeps
one and updates it in place, ``statistics()`` and ``Router.counters`` hand out
copies. :class:`RouterStatistics` adds what is in flight now and, per queue
(:class:`QueueStatistics`), the real-time figures of docs/metrics.md: longest
wait, waiting and expected wait by priority, eligible and available agents,
and :class:`WindowFigures` over sliding windows. Every figure is kept up to
date as inputs arrive (``router/state/realtime.py``), so a call costs
O(queues + agents changed since the last call), never a scan of the inquiries
or of every agent. :class:`AgentStatistics` is one agent's figures
(``Router.agent_statistics``). New figures are new fields with defaults:
snapshots written before they existed still decode.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

__all__ = [
    "AGENT_STATES",
    "WAIT_BUCKETS",
    "AgentStatistics",
    "Counters",
    "QueueHolds",
    "QueueStatistics",
    "RouterStatistics",
    "WindowFigures",
    "window_label",
]

#: Upper bounds (seconds) of the answered-wait histogram buckets (+Inf is implied): the
#: core's ``QueueStatistics.wait_histogram`` and the monitor's use the same.
WAIT_BUCKETS: tuple[float, ...] = (
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1200.0,
    1800.0,
    3600.0,
)

#: Every logged-in agent is in exactly one of these (``agents_by_state``, the ``state``
#: label of ``router_agents``): ``busy`` holds an offer or work in service, ``wrap_up``
#: only wrap-up, ``idle`` is ready and holds nothing, ``break`` and ``away`` (which
#: includes an agent logging out) hold nothing either.
AGENT_STATES: tuple[str, ...] = ("idle", "busy", "wrap_up", "break", "away")


class QueueHolds(Struct, frozen=True, kw_only=True):
    """What a queue holds that removing it would move or reject, by kind
    (``Router.queue_holdings``; ``total`` is ``Router.queue_holds``)."""

    #: in its line, callbacks holding their place included (``Router.queue_length``)
    waiting: int
    #: callbacks between two attempts, or held until the queue's hours open
    between_attempts: int
    #: outbound tasks held there, not yet released onto idle capacity
    held_tasks: int

    @property
    def total(self) -> int:
        """Everything it holds."""
        return self.waiting + self.between_attempts + self.held_tasks

    def describe(self) -> str:
        """``"2 waiting, 1 callback between attempts, 3 held outbound tasks"``: the
        non-zero parts (``"nothing"`` when it holds nothing)."""
        parts = []
        if self.waiting:
            parts.append(f"{self.waiting} waiting")
        if self.between_attempts:
            n = self.between_attempts
            parts.append(f"{n} callback{'' if n == 1 else 's'} between attempts")
        if self.held_tasks:
            n = self.held_tasks
            parts.append(f"{n} held outbound task{'' if n == 1 else 's'}")
        return ", ".join(parts) or "nothing"


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


def window_label(seconds: float) -> str:
    """``300 -> "5m"``, ``3600 -> "1h"``, ``45 -> "45s"``: a window's key in
    :attr:`QueueStatistics.windows` and its ``window`` label in metrics."""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


class WindowFigures(Struct, frozen=True, kw_only=True):
    """One queue's figures over one window (``None``: nothing to divide by yet).

    Definitions (docs/metrics.md): *offered* counts under the queue an inquiry
    arrived at, every outcome under the queue it ended in, each at its own time;
    *ended* is answered + abandoned + rejected + deflected + expired.
    """

    offered: int
    answered: int
    abandoned: int
    rejected: int
    deflected: int
    answered_in_target: int
    handled: int
    #: answered within the queue's ``answer_target_s`` over ended
    service_level: float | None
    #: abandoned (patience ran out, or withdrawn) over ended
    abandon_rate: float | None
    #: mean wait, arrival to answer, of the answered
    asa_s: float | None
    #: mean handle time of the inquiries completed
    aht_s: float | None
    #: outbound tasks not started by their deadline (``TaskExpired``)
    expired: int = 0


class QueueStatistics(Struct, frozen=True, kw_only=True):
    waiting: int
    expected_wait_s: float
    #: how long the longest-waiting inquiry now in line has waited (since its arrival)
    longest_wait_s: float = 0.0
    #: inquiries in line by priority (only priorities with someone waiting)
    waiting_by_priority: dict[int, int] = msgspec.field(default_factory=dict)
    #: the expected wait a new arrival of each priority would be told: the queue's own
    #: priority and every priority now waiting (inf: nobody can serve the queue)
    expected_wait_by_priority_s: dict[int, float] = msgspec.field(default_factory=dict)
    #: logged-in agents whose skills, tenants, queue list and channels fit the queue
    #: (its base requirement, before relaxation steps)
    eligible_agents: int = 0
    #: eligible agents that are ready with room for one more inquiry of the queue now
    available_agents: int = 0
    #: figures per window label (``"5m"``, ``"15m"``, ``"30m"``) and ``"since_reset"``
    windows: dict[str, WindowFigures] = msgspec.field(default_factory=dict)
    #: the same figures since the router started, across resets and reconfigures and
    #: from owner to owner in durable mode (the snapshot keeps them): counters for
    #: ``router_outcomes_total`` and ``router_offered_total``
    totals: WindowFigures | None = None
    #: the answered waits since the router started (as ``totals``), arrival to answer, by
    #: the queue that answered: cumulative counts per :data:`WAIT_BUCKETS` bound, then
    #: +Inf (an answer taken back by a hand-back leaves it again); empty from a core
    #: that does not keep them
    wait_histogram: list[int] = msgspec.field(default_factory=list)
    #: the sum of those waits (the histogram's ``_sum``)
    wait_sum_s: float = 0.0


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
    #: logged-in agents by :data:`AGENT_STATES` (a partition: the values sum to
    #: ``agents_logged_in``)
    agents_by_state: dict[str, int] = msgspec.field(default_factory=dict)
    #: when the "since reset" figures started (the router's start, or ``reset_statistics``)
    reset_at: float = 0.0


class AgentStatistics(Struct, frozen=True, kw_only=True):
    """One logged-in agent, since it logged in or since the last reset, whichever is later."""

    id: str
    #: one of :data:`AGENT_STATES`
    state: str
    #: why the agent is on break or away ("" when ready)
    reason: str
    #: inquiries held per channel (offers, work in service, wrap-up)
    load: dict[str, int]
    #: the caps in force per channel (surge mode may change them)
    caps: dict[str, int]
    since: float
    staffed_s: float
    #: capacity-time held, from each offer to the end of its wrap-up (a call on an agent
    #: with ``capacity = {voice = 1, chat = 20}`` holds half the agent, a chat 1/40)
    busy_s: float
    #: ``busy_s / staffed_s`` (None before any time passed)
    occupancy: float | None
    offers: int
    handled: int
    aht_s: float | None
    declined: int
    expired: int
    #: told its wellbeing break and finishing what it holds (a break brought forward,
    #: ``wellbeing.drain_for_break``, or a break due): no new work; the break starts when it
    #: holds nothing
    draining: bool = False
    #: draining under ``wellbeing.max_drain_share``: its drain holds a place among the
    #: drains, not under ``max_break_share`` (False for a notice that holds a break place)
    drain_place: bool = False
