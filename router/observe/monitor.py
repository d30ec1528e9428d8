"""An event-fed monitor: real-time figures per queue and per agent, from the core's events.

Theory of operation
-------------------
The core's ``tick`` returns every fact as an event (``router/events.py``). A
:class:`Monitor` consumes those events, never the router's internals, so it
works the same behind the bare core, the adapters (``RouterHandle.subscribe``)
and the simulator (its ``on_event`` hook). It keeps:

- per inquiry in the router, a small record (arrival queue and time, state,
  the agent holding it and the capacity share it holds), dropped at its end;
- per queue, :class:`~router.state.windows.SlidingWindows` of outcome counts
  (5/15/30 minutes by default and since reset: the same buckets as the core's
  own ``statistics()``), lifetime totals for monotonic
  Prometheus counters, a histogram of answered waits, and a lazy heap of the
  waiting inquiries by arrival (longest waiting age);
- per agent, its state, its held work, and since reset: staffed time, busy
  capacity-time (occupancy), offers, handled, declines and expiries;
- optionally (``intervals_s``), fixed interval rows per queue and per agent on
  the router's clock, for workforce-style CSV reports.

Attribution, as the simulation report does (docs/simulator.md): ``offered`` counts
to the queue the inquiry *arrived* at; every outcome (and its wait, target and
handle time) to the queue it *ended* in, the one the outcome event names, so a
second-pass queue shows the work it served; ``moved_in``/``moved_out`` count
overflows. Waiting and longest wait are where the inquiry waits now.
Capacity shares follow the simulator's ledger: on one channel of an agent with
``capacity = {voice = 1, chat = 20}`` a chat holds ``1 / (20 * 2)``; with
``units`` a share is the channel's ``unit_cost / units``. An agent whose spec
the driver did not pass to :meth:`Monitor.add_agent` counts each held inquiry
as the whole agent.

Cost: O(1) per event (a heap push per enqueue), O(buckets x queues + agents)
per :meth:`Monitor.statistics`. Memory: one record per inquiry in the router.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec import Struct

from router.config import DEFAULT_CHANNELS, RouterConfig, window_problems
from router.events import (
    Abandoned,
    AgentAway,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentOnBreak,
    AgentReady,
    Assigned,
    CallbackScheduled,
    Completed,
    Deflected,
    OfferDeclined,
    Offered,
    OfferExpired,
    OfferRescinded,
    Overflowed,
    Queued,
    Reconfigured,
    Rejected,
    Requeued,
    SurgeEnded,
    SurgeStarted,
    TaskExpired,
    Transferred,
    Withdrawn,
    WrapUpEnded,
)
from router.model import AgentSpec
from router.state.tallies import capacity_shares
from router.state.windows import DEFAULT_WINDOWS, Counts, SlidingWindows
from router.stats import AGENT_STATES, WAIT_BUCKETS, WindowFigures, window_label

__all__ = [
    "AGENT_STATES",
    "DEFAULT_WINDOWS",
    "WAIT_BUCKETS",
    "AgentFigures",
    "AgentInterval",
    "Monitor",
    "MonitorStatistics",
    "QueueFigures",
    "ReconfigureNote",
    "capacity_shares",
]


# inquiry states
_NEW = -1  # seen in an Overflowed at arrival; its Queued (or refusal) follows
_WAITING = 0
_OFFERED = 1
_ASSIGNED = 2
_WRAPUP = 3
_PARKED = 4


class ReconfigureNote(Struct, frozen=True, kw_only=True):
    """The last ``Reconfigured`` event: when, the version it made, what moved."""

    at: float
    version: int
    handed_over: int
    rejected: int


class QueueFigures(Struct, frozen=True, kw_only=True):
    """One queue, now and over its windows."""

    name: str
    #: None while the monitor knows no channel for the queue (not in its config, and no
    #: ``Reconfigured`` event named it), as for ``answer_target_s``
    channel: str | None
    #: None while the monitor knows no target for the queue (not in its config, and no
    #: ``Reconfigured`` event named it): then no window has a ``service_level`` either
    answer_target_s: float | None
    waiting: int
    longest_wait_s: float
    offered: int  # lifetime totals (monotonic)
    outcomes: dict[str, int]
    moved_in: int
    moved_out: int
    windows: dict[str, WindowFigures]
    wait_histogram: list[int]  # cumulative counts per WAIT_BUCKETS bound, then +Inf
    wait_sum_s: float


class AgentFigures(Struct, frozen=True, kw_only=True):
    """One agent since reset (or since it logged in, if later)."""

    id: str
    state: str
    reason: str
    #: inquiries held (offered or assigned) per channel the monitor knows
    load: dict[str, int]
    staffed_s: float
    occupancy: float | None
    offers: int
    handled: int
    declined: int
    expired: int
    aht_s: float | None
    #: inquiries held on queues whose channel the monitor was not told (not in its config,
    #: or a ``Reconfigured`` naming only their target): apart from ``load``, whose keys are
    #: channel names (a JSON map has no None key; ``QueueFigures.channel`` is None for them)
    load_channel_unknown: int = 0


class MonitorStatistics(Struct, frozen=True, kw_only=True):
    """What :meth:`Monitor.statistics` returns: JSON-ready (``msgspec.json.encode``)."""

    now: float
    version: int
    surge: bool
    surge_changed_at: float | None
    last_reconfigure: ReconfigureNote | None
    reset_at: float
    agents_by_state: dict[str, int]
    offer_outcomes: dict[str, int]
    queues: dict[str, QueueFigures]
    agents: dict[str, AgentFigures]


class AgentInterval:
    """One agent over one fixed interval: the counters of a CSV row."""

    __slots__ = ("busy_s", "declined", "expired", "handle_s", "handled", "offers", "staffed_s")

    def __init__(self) -> None:
        self.staffed_s = 0.0
        self.busy_s = 0.0
        self.offers = 0
        self.handled = 0
        self.handle_s = 0.0
        self.declined = 0
        self.expired = 0


class _Inquiry:
    __slots__ = (
        "agent",
        "also",
        "answered",
        "arrival",
        "hold_from",
        "hold_w",
        "origin",
        "queue",
        "ring",
        "state",
    )

    def __init__(self, origin: str, arrival: float) -> None:
        self.origin = origin  # the queue it arrived at: offered counts here
        self.queue = origin  # the queue it is in now
        self.arrival = arrival
        self.state = _NEW
        self.agent: _Agent | None = None
        self.hold_from = 0.0
        self.hold_w = 0.0
        # (at, wait, queue, within the queue's target then) once counted answered
        self.answered: tuple[float, float, str, bool] | None = None
        # a multi-agent offer (max_offers > 1): the other agents ringing -> (agent, share)
        self.also: dict[str, tuple[_Agent, float]] | None = None
        self.ring = (0.0, 0.0)  # (at, expires_at) of the open offer


class _Agent:
    __slots__ = (
        "active",
        "busy_s",
        "declined",
        "expired",
        "handle_s",
        "handled",
        "held_w",
        "held_wt",
        "id",
        "load",
        "off_shift",
        "offers",
        "reason",
        "shares",
        "staffed_from",
        "staffed_s",
        "state",
        "wrapping",
    )

    def __init__(self, agent_id: str, shares: dict[str, float] | None, now: float) -> None:
        self.id = agent_id
        self.shares = shares
        self.state = "ready"
        self.reason = ""
        self.load: dict[str, int] = {}  # by channel; '' for a queue of no known channel
        self.active = 0  # offered or assigned inquiries held
        self.wrapping = 0  # inquiries in wrap-up
        self.held_w = 0.0  # sum of the shares held now
        self.held_wt = 0.0  # sum of share * hold start, for the open part of busy time
        self.staffed_from: float | None = now
        self.off_shift = False  # logged in between two shifts: not staffed
        self.staffed_s = 0.0
        self.busy_s = 0.0
        self.offers = 0
        self.handled = 0
        self.handle_s = 0.0
        self.declined = 0
        self.expired = 0

    def partition(self) -> str:
        if self.active:
            return "busy"
        if self.wrapping:
            return "wrap_up"
        if self.state == "ready":
            return "idle"
        return "break" if self.state == "break" else "away"


class _Queue:
    __slots__ = ("heap", "histogram", "moved_in", "moved_out", "totals", "waiting", "windows")

    def __init__(self, windows: tuple[float, ...], bucket_s: float, now: float) -> None:
        self.windows = SlidingWindows(windows, bucket_s, now)
        self.totals = Counts()  # lifetime, never reset (Prometheus counters)
        self.histogram = [0] * (len(WAIT_BUCKETS) + 1)
        self.waiting = 0
        self.heap: list[tuple[float, int, str]] = []
        self.moved_in = 0
        self.moved_out = 0


class Monitor:
    """Consumes the core's events; :meth:`statistics` gives real-time figures.

    ``config`` names the queues (channels, ``answer_target_s``) and channel unit
    costs; a ``Reconfigured`` event tells the queues a reconfigure adds or changes, and
    :meth:`configure` the rest of a new config (channel unit costs). ``windows`` are the
    sliding windows in seconds, ``bucket_s`` their resolution; ``intervals_s``
    turns on fixed interval rows (:meth:`queue_intervals`, :meth:`agent_intervals`).
    """

    def __init__(
        self,
        config: RouterConfig,
        *,
        windows: tuple[float, ...] = DEFAULT_WINDOWS,
        bucket_s: float = 10.0,
        intervals_s: float | None = None,
        now: float = 0.0,
    ) -> None:
        if not isinstance(config, RouterConfig):
            raise ValueError(f"config: must be a RouterConfig, got {type(config).__name__}")
        if type(now) not in (int, float) or not math.isfinite(now):
            raise ValueError(f"now: must be a finite number, got {now!r}")
        problems = window_problems(windows, bucket_s)
        if problems:
            raise ValueError(problems[0])
        if intervals_s is not None and not (math.isfinite(intervals_s) and intervals_s > 0):
            raise ValueError(f"intervals_s: must be a positive number, got {intervals_s!r}")
        self.windows = tuple(sorted(windows))
        self.bucket_s = bucket_s
        self.intervals_s = intervals_s
        self.now = now
        self.reset_at = now
        self.version = 0
        self.surge = False
        self.surge_changed_at: float | None = None
        self.last_reconfigure: ReconfigureNote | None = None
        self.offer_outcomes = dict.fromkeys(
            ("accepted", "declined", "expired", "taken_back", "rescinded"), 0
        )
        self._inq: dict[str, _Inquiry] = {}
        self._agents: dict[str, _Agent] = {}
        self._specs: dict[str, dict[str, float]] = {}
        self._queues: dict[str, _Queue] = {}
        self._seq = 0
        self._q_rows: dict[tuple[int, str], Counts] = {}
        self._a_rows: dict[tuple[int, str], AgentInterval] = {}
        #: per queue, when it last counted an answer it knew no target for (not judged)
        self._unjudged: dict[str, float] = {}
        #: the interval rows ``(index, queue)`` holding such an answer: no service level
        self._unjudged_rows: set[tuple[int, str]] = set()
        self.configure(config)
        self._handlers: dict[type, Any] = {
            Queued: self._on_queued,
            Offered: self._on_offered,
            Assigned: self._on_assigned,
            OfferDeclined: self._on_declined,
            OfferExpired: self._on_expired,
            OfferRescinded: self._on_rescinded,
            Requeued: self._on_requeued,
            Overflowed: self._on_overflowed,
            Transferred: self._on_transferred,
            Abandoned: self._on_abandoned,
            Withdrawn: self._on_abandoned,
            Rejected: self._on_refused,
            Deflected: self._on_refused,
            TaskExpired: self._on_task_expired,
            CallbackScheduled: self._on_callback,
            Completed: self._on_completed,
            WrapUpEnded: self._on_wrap_end,
            AgentLoggedIn: self._on_login,
            AgentReady: self._on_agent_state,
            AgentOnBreak: self._on_agent_state,
            AgentAway: self._on_agent_state,
            AgentLoggedOut: self._on_logout,
            Reconfigured: self._on_reconfigured,
            SurgeStarted: self._on_surge,
            SurgeEnded: self._on_surge,
        }

    # ------------------------------------------------------------------ configuration

    def configure(self, config: RouterConfig) -> None:
        """Take the queues and channel costs of ``config`` (at start and after a reconfigure)."""
        self.config = config
        channels = {**DEFAULT_CHANNELS, **config.channels}
        self._unit_costs = {name: ch.unit_cost for name, ch in channels.items()}
        self._channel = {q.name: q.channel for q in config.queues}
        self._target = {q.name: q.answer_target_s for q in config.queues}
        for q in config.queues:
            self._queue(q.name)

    def add_agent(self, spec: AgentSpec) -> None:
        """Tell the monitor an agent's capacity (before or after its login event)."""
        self.set_shares(spec.id, capacity_shares(dict(spec.capacity), spec.units, self._unit_costs))

    def set_shares(self, agent_id: str, shares: dict[str, float]) -> None:
        """Set the share of the agent one inquiry holds, per channel (see ``capacity_shares``).

        Work assigned from now on holds the new share; work held now keeps the share it was
        assigned with. A driver calls this (or :meth:`add_agent`) again after an agent's
        spec changes: ``AgentUpdated`` names the agent, not its capacity."""
        self._specs[agent_id] = shares
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.shares = shares

    def shares(self, agent_id: str) -> dict[str, float] | None:
        """The share per channel one inquiry holds of ``agent_id`` (None: not told, so an
        inquiry counts as the whole agent)."""
        agent = self._agents.get(agent_id)
        return agent.shares if agent is not None else self._specs.get(agent_id)

    def _queue(self, name: str) -> _Queue:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _Queue(self.windows, self.bucket_s, self.reset_at)
        return q

    # ------------------------------------------------------------------ feeding

    def feed(self, events: Iterable[Any]) -> None:
        """Consume events in the order ``tick`` returned them."""
        handlers = self._handlers
        for ev in events:
            at = ev.at
            if at > self.now:
                self.now = at
            if ev.version > self.version:
                self.version = ev.version
            handler = handlers.get(type(ev))
            if handler is not None:
                handler(ev)

    def _count(self, queue: str, at: float, field: str, amount: float = 1) -> None:
        """Add to one counter of ``queue``: its window bucket, since reset, totals, interval."""
        q = self._queue(queue)
        targets = [q.windows.current(at), q.totals]
        if self.intervals_s is not None:
            targets.append(self._q_row(int(at // self.intervals_s), queue))
        for c in targets:
            setattr(c, field, getattr(c, field) + amount)

    def _arrive(self, inquiry_id: str, queue: str, at: float) -> _Inquiry:
        rec = self._inq.get(inquiry_id)
        if rec is None:
            rec = self._inq[inquiry_id] = _Inquiry(queue, at)
            self._count(queue, at, "offered")
        return rec

    def _enqueue(self, inquiry_id: str, rec: _Inquiry) -> None:
        rec.state = _WAITING
        q = self._queue(rec.queue)
        q.waiting += 1
        self._seq += 1
        heapq.heappush(q.heap, (rec.arrival, self._seq, inquiry_id))
        if len(q.heap) > 2 * q.waiting + 64:  # drop entries of inquiries no longer waiting here
            inq = self._inq
            name = rec.queue
            q.heap = [
                e
                for e in q.heap
                if (r := inq.get(e[2])) is not None and r.state == _WAITING and r.queue == name
            ]
            heapq.heapify(q.heap)

    def _dequeue(self, rec: _Inquiry) -> None:
        if rec.state == _WAITING:
            self._queue(rec.queue).waiting -= 1

    def _hold(self, rec: _Inquiry, agent_id: str, queue: str, at: float) -> None:
        agent, w = self._take(agent_id, queue, at)
        rec.agent = agent
        rec.hold_from = at
        rec.hold_w = w

    def _take(self, agent_id: str, queue: str, at: float) -> tuple[_Agent, float]:
        agent = self._agents.get(agent_id)
        if agent is None:  # events from before the monitor started: adopt the agent
            agent = self._login(agent_id, at)
        ch = self._channel.get(queue, "")
        w = agent.shares.get(ch, 0.0) if agent.shares is not None else 1.0
        agent.load[ch] = agent.load.get(ch, 0) + 1
        agent.active += 1
        agent.held_w += w
        agent.held_wt += w * at
        return agent, w

    def _release(self, rec: _Inquiry, at: float) -> None:
        agent = rec.agent
        if agent is None:
            return
        rec.agent = None
        self._give(agent, rec, rec.hold_w, at)
        also = rec.also
        if also is not None:
            rec.also = None
            for other, w in also.values():
                self._give(other, rec, w, at)

    def _release_one(self, rec: _Inquiry, agent_id: str, at: float) -> None:
        """One agent's open offer of ``rec`` ended; the others of a multi-agent offer ring on."""
        also = rec.also
        if also is not None and agent_id in also:
            other, w = also.pop(agent_id)
            self._give(other, rec, w, at)
            return
        agent = rec.agent
        if agent is None or agent.id != agent_id:
            return
        if not also:
            self._release(rec, at)
            return
        self._give(agent, rec, rec.hold_w, at)
        _, (rec.agent, rec.hold_w) = also.popitem()

    def _give(self, agent: _Agent, rec: _Inquiry, w: float, at: float) -> None:
        if rec.state == _WRAPUP:
            agent.wrapping -= 1
        else:
            agent.active -= 1
        ch = self._channel.get(rec.queue, "")
        n = agent.load.get(ch, 0) - 1
        if n > 0:
            agent.load[ch] = n
        else:
            agent.load.pop(ch, None)
        agent.held_w -= w
        agent.held_wt -= w * rec.hold_from
        self._busy(agent, rec.queue, rec.hold_from, at, w)

    def _busy(self, agent: _Agent, queue: str, start: float, end: float, w: float) -> None:
        """Book ``w`` of the agent from ``start`` to ``end`` as busy time on ``queue``."""
        if end <= start or w == 0.0:
            return
        agent.busy_s += (end - start) * w
        q = self._queue(queue)
        q.totals.workload_s += (end - start) * w
        if self.intervals_s is not None:
            for k, part in self._split(start, end):
                self._a_row(k, agent.id).busy_s += part * w
                self._q_row(k, queue).workload_s += part * w

    def _split(self, start: float, end: float) -> list[tuple[int, float]]:
        """``[(interval index, seconds)]`` covering ``[start, end)``."""
        size = self.intervals_s
        assert size is not None
        out = []
        k = int(start // size)
        t = start
        while t < end:
            edge = min(end, (k + 1) * size)
            out.append((k, edge - t))
            t = edge
            k += 1
        return out

    def _q_row(self, k: int, queue: str) -> Counts:
        row = self._q_rows.get((k, queue))
        if row is None:
            row = self._q_rows[(k, queue)] = Counts()
        return row

    def _a_row(self, k: int, agent_id: str) -> AgentInterval:
        row = self._a_rows.get((k, agent_id))
        if row is None:
            row = self._a_rows[(k, agent_id)] = AgentInterval()
        return row

    def _end(self, inquiry_id: str, rec: _Inquiry, at: float) -> None:
        self._dequeue(rec)
        self._release(rec, at)
        del self._inq[inquiry_id]

    # ------------------------------------------------------------------ inquiry events

    def _on_queued(self, ev: Queued) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        self._dequeue(rec)
        rec.queue = ev.queue
        self._enqueue(ev.inquiry_id, rec)

    def _on_callback(self, ev: CallbackScheduled) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        self._dequeue(rec)
        rec.state = _PARKED

    def _on_offered(self, ev: Offered) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        ring = (ev.at, ev.expires_at)
        if rec.state == _OFFERED and rec.agent is not None and rec.ring == ring:
            other, w = self._take(ev.agent_id, ev.queue, ev.at)  # one more agent of the ring
            if rec.also is None:
                rec.also = {}
            rec.also[ev.agent_id] = (other, w)
            other.offers += 1
        else:
            self._dequeue(rec)
            self._release(rec, ev.at)
            rec.queue = ev.queue
            rec.state = _OFFERED
            rec.ring = ring
            self._hold(rec, ev.agent_id, ev.queue, ev.at)
            assert rec.agent is not None
            rec.agent.offers += 1
        if self.intervals_s is not None:
            self._a_row(int(ev.at // self.intervals_s), ev.agent_id).offers += 1

    def _on_assigned(self, ev: Assigned) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        if rec.state == _OFFERED and rec.agent is not None and rec.agent.id == ev.agent_id:
            self.offer_outcomes["accepted"] += 1
        else:  # immediate mode (or the monitor missed the offer)
            self._dequeue(rec)
            self._release(rec, ev.at)
            rec.queue = ev.queue
            self._hold(rec, ev.agent_id, ev.queue, ev.at)
        rec.state = _ASSIGNED
        if rec.answered is None:
            target = self._target.get(ev.queue)
            if target is None:  # no target known: not judged (no service level, statistics)
                self._unjudged[ev.queue] = ev.at
                if self.intervals_s is not None:
                    self._unjudged_rows.add((int(ev.at // self.intervals_s), ev.queue))
            in_target = target is not None and ev.wait_s <= target
            rec.answered = (ev.at, ev.wait_s, ev.queue, in_target)
            self._answer(ev.queue, ev.at, ev.wait_s, +1, in_target)

    def _answer(self, queue: str, at: float, wait: float, sign: int, in_target: bool) -> None:
        """Count (``sign`` +1) or take back (-1, a callback that did not reach) an answer;
        a take-back comes out of the bucket the answer was counted in, judged as it was
        (``in_target``: by the queue's target when answered, whatever a reconfigure did)."""
        q = self._queue(queue)
        if sign > 0:
            self._count(queue, at, "answered")
            self._count(queue, at, "wait_s", wait)
            if in_target:
                self._count(queue, at, "in_target")
        else:
            delta = Counts.unanswer(wait, in_target)
            q.windows.adjust(at, delta)
            q.totals.add(delta)
            if self.intervals_s is not None:
                self._q_row(int(at // self.intervals_s), queue).add(delta)
        i = 0
        while i < len(WAIT_BUCKETS) and wait > WAIT_BUCKETS[i]:
            i += 1
        for j in range(i, len(q.histogram)):
            q.histogram[j] += sign

    def _unanswer(self, rec: _Inquiry) -> None:
        """An answer counted for a callback whose call then reached nobody was no answer."""
        if rec.answered is not None:
            at, wait, queue, in_target = rec.answered
            rec.answered = None
            self._answer(queue, at, wait, -1, in_target)

    def _on_declined(self, ev: OfferDeclined) -> None:
        self._offer_refused(ev.inquiry_id, ev.agent_id, ev.at, "declined")

    def _on_expired(self, ev: OfferExpired) -> None:
        self._offer_refused(ev.inquiry_id, ev.agent_id, ev.at, "expired")

    def _offer_refused(self, inquiry_id: str, agent_id: str, at: float, how: str) -> None:
        self.offer_outcomes[how] += 1
        agent = self._agents.get(agent_id)
        if agent is not None:
            setattr(agent, how, getattr(agent, how) + 1)
            if self.intervals_s is not None:
                row = self._a_row(int(at // self.intervals_s), agent_id)
                setattr(row, how, getattr(row, how) + 1)
        rec = self._inq.get(inquiry_id)
        if rec is not None:  # the Requeued that follows (after the last one) puts it in line
            self._release_one(rec, agent_id, at)

    def _on_rescinded(self, ev: OfferRescinded) -> None:
        self.offer_outcomes["rescinded"] += 1
        rec = self._inq.get(ev.inquiry_id)
        if rec is not None:
            self._release_one(rec, ev.agent_id, ev.at)

    def _on_requeued(self, ev: Requeued) -> None:
        rec = self._inq.get(ev.inquiry_id)
        if rec is None:
            return
        unreached = ev.reason.startswith("callback_unreached")
        if rec.state == _OFFERED and rec.agent is not None and not unreached:
            self.offer_outcomes["taken_back"] += 1  # the agent went on break or logged out
        self._release(rec, ev.at)
        if unreached:  # the call for a callback reached nobody: retried later, out of line
            self._unanswer(rec)
            rec.state = _PARKED
            return
        if ev.reason == "handed_back":  # back in line: answered when an agent takes it again
            self._unanswer(rec)
        self._dequeue(rec)
        rec.queue = ev.queue
        self._enqueue(ev.inquiry_id, rec)

    def _on_overflowed(self, ev: Overflowed) -> None:
        rec = self._arrive(ev.inquiry_id, ev.from_queue, ev.at)
        self._queue(ev.from_queue).moved_out += 1
        self._queue(ev.to_queue).moved_in += 1
        if rec.state == _WAITING:  # a waiting inquiry moved (at arrival, its Queued follows)
            self._dequeue(rec)
            rec.queue = ev.to_queue
            self._enqueue(ev.inquiry_id, rec)
        else:
            rec.queue = ev.to_queue

    def _on_transferred(self, ev: Transferred) -> None:
        """Moved to another queue by a supervisor (``Router.transfer``): off its agent, its
        answer (if assigned) taken back, in line in the new queue."""
        rec = self._inq.get(ev.inquiry_id)
        if rec is None:
            return
        self._queue(ev.from_queue).moved_out += 1
        self._queue(ev.to_queue).moved_in += 1
        self._unanswer(rec)
        self._release(rec, ev.at)
        self._dequeue(rec)
        rec.queue = ev.to_queue
        self._enqueue(ev.inquiry_id, rec)

    def _on_abandoned(self, ev: Abandoned | Withdrawn) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        self._unanswer(rec)  # a callback that gave up after an unreached call
        self._count(ev.queue, ev.at, "abandoned")
        self._end(ev.inquiry_id, rec, ev.at)

    def _on_refused(self, ev: Rejected | Deflected) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        self._count(ev.queue, ev.at, "rejected" if type(ev) is Rejected else "deflected")
        self._end(ev.inquiry_id, rec, ev.at)

    def _on_task_expired(self, ev: TaskExpired) -> None:
        rec = self._arrive(ev.inquiry_id, ev.queue, ev.at)
        self._count(ev.queue, ev.at, "expired")
        self._end(ev.inquiry_id, rec, ev.at)

    def _on_completed(self, ev: Completed) -> None:
        rec = self._inq.get(ev.inquiry_id)
        self._count(ev.queue, ev.at, "handled")
        self._count(ev.queue, ev.at, "handle_s", ev.handle_s)
        agent = self._agents.get(ev.agent_id)
        if agent is not None:
            agent.handled += 1
            agent.handle_s += ev.handle_s
            if self.intervals_s is not None:
                row = self._a_row(int(ev.at // self.intervals_s), agent.id)
                row.handled += 1
                row.handle_s += ev.handle_s
        if rec is None:
            return
        if ev.wrap_up_until <= ev.at:
            self._end(ev.inquiry_id, rec, ev.at)
        elif rec.agent is not None:
            rec.agent.active -= 1
            rec.agent.wrapping += 1
            rec.state = _WRAPUP

    def _on_wrap_end(self, ev: WrapUpEnded) -> None:
        rec = self._inq.get(ev.inquiry_id)
        if rec is not None:
            self._end(ev.inquiry_id, rec, ev.at)

    # ------------------------------------------------------------------ agent events

    def _login(self, agent_id: str, at: float) -> _Agent:
        agent = self._agents[agent_id] = _Agent(agent_id, self._specs.get(agent_id), at)
        return agent

    def _on_login(self, ev: AgentLoggedIn) -> None:
        old = self._agents.get(ev.agent_id)
        if old is None or old.staffed_from is None:
            agent = self._login(ev.agent_id, ev.at)
            if old is not None:  # logged in again: keep the figures since reset
                for name in ("staffed_s", "busy_s", "offers", "handled", "handle_s"):
                    setattr(agent, name, getattr(old, name))
                agent.declined, agent.expired = old.declined, old.expired

    def _on_agent_state(self, ev: AgentReady | AgentOnBreak | AgentAway) -> None:
        agent = self._agents.get(ev.agent_id)
        if agent is None:
            agent = self._login(ev.agent_id, ev.at)
        if isinstance(ev, AgentReady):
            agent.state, agent.reason = "ready", ""
            if agent.off_shift:  # a shift starts: staffed from now
                agent.off_shift = False
                agent.staffed_from = ev.at
        else:
            if ev.reason == "off_shift" and not agent.off_shift:
                self._staff_until(agent, ev.at)
                agent.off_shift = True
            agent.state = "break" if isinstance(ev, AgentOnBreak) else "away"
            agent.reason = ev.reason

    def _on_logout(self, ev: AgentLoggedOut) -> None:
        agent = self._agents.get(ev.agent_id)
        if agent is None:
            return
        self._staff_until(agent, ev.at)
        agent.staffed_from = None
        agent.state, agent.reason = "logged_out", ""

    def _staff_until(self, agent: _Agent, at: float) -> None:
        start = agent.staffed_from
        if start is None or at <= start:
            return
        if agent.off_shift:
            agent.staffed_from = at
            return
        agent.staffed_s += at - start
        if self.intervals_s is not None:
            for k, part in self._split(start, at):
                self._a_row(k, agent.id).staffed_s += part
        agent.staffed_from = at

    # ------------------------------------------------------------------ router events

    def _on_reconfigured(self, ev: Reconfigured) -> None:
        # the queues the config added or changed: their channels and answer targets from
        # here on (an added queue's answers were judged by a default 20 s before fix50; a
        # queue without a known target is not judged at all since tidy50)
        for name, channel in ev.channels:
            self._channel[name] = channel
            self._queue(name)
        for name, target in ev.answer_targets:
            self._target[name] = target
            self._queue(name)
        self.last_reconfigure = ReconfigureNote(
            at=ev.at, version=ev.version, handed_over=ev.handed_over, rejected=ev.rejected
        )

    def _on_surge(self, ev: SurgeStarted | SurgeEnded) -> None:
        self.surge = type(ev) is SurgeStarted
        self.surge_changed_at = ev.at

    # ------------------------------------------------------------------ reading

    def flush(self, now: float) -> None:
        """Book staffed and busy time up to ``now`` (holds and logins carry on from there)."""
        if now > self.now:
            self.now = now
        now = self.now
        for agent in self._agents.values():
            self._staff_until(agent, now)
        for rec in self._inq.values():
            holder = rec.agent
            if holder is not None and now > rec.hold_from:
                self._busy(holder, rec.queue, rec.hold_from, now, rec.hold_w)
                holder.held_wt += rec.hold_w * (now - rec.hold_from)
                rec.hold_from = now

    def reset(self, now: float) -> None:
        """Start the "since reset" figures (queues and agents) over at ``now``."""
        self.flush(now)
        self.reset_at = self.now
        for q in self._queues.values():
            q.windows.reset(self.reset_at)
        for a in list(self._agents.values()):
            if a.staffed_from is None:
                del self._agents[a.id]
                continue
            a.staffed_s = a.busy_s = a.handle_s = 0.0
            a.offers = a.handled = a.declined = a.expired = 0

    def longest_wait(self, queue: str, now: float | None = None) -> float:
        """Seconds the longest-waiting inquiry of ``queue`` has waited (0 when none waits)."""
        q = self._queues.get(queue)
        if q is None or not q.waiting:
            return 0.0
        heap = q.heap
        inq = self._inq
        while heap:
            arrival, _, iid = heap[0]
            rec = inq.get(iid)
            live = rec is not None and rec.state == _WAITING and rec.queue == queue
            if live and rec is not None and rec.arrival == arrival:
                t = self.now if now is None else now
                return max(0.0, t - arrival)
            heapq.heappop(heap)
        return 0.0

    def agents_by_state(self) -> dict[str, int]:
        out = dict.fromkeys(AGENT_STATES, 0)
        for a in self._agents.values():
            if a.staffed_from is not None:
                out[a.partition()] += 1
        return out

    def statistics(self, now: float | None = None) -> MonitorStatistics:
        """Real-time figures at ``now`` (default: the time of the last event)."""
        t = max(self.now, now) if now is not None else self.now
        queues = {}
        for name, q in self._queues.items():
            tot = q.totals
            hist = q.histogram
            queues[name] = QueueFigures(
                name=name,
                channel=self._channel.get(name),
                answer_target_s=self._target.get(name),
                waiting=q.waiting,
                longest_wait_s=self.longest_wait(name, t),
                offered=tot.offered,
                outcomes={
                    "answered": tot.answered,
                    "abandoned": tot.abandoned,
                    "rejected": tot.rejected,
                    "deflected": tot.deflected,
                    "expired": tot.expired,
                },
                moved_in=q.moved_in,
                moved_out=q.moved_out,
                windows=self._judged(name, q.windows.query(t), t),
                wait_histogram=list(hist),
                wait_sum_s=tot.wait_s,
            )
        agents = {}
        for a in self._agents.values():
            staffed = a.staffed_s
            if a.staffed_from is not None and t > a.staffed_from and not a.off_shift:
                staffed += t - a.staffed_from
            busy = a.busy_s + a.held_w * t - a.held_wt
            agents[a.id] = AgentFigures(
                id=a.id,
                state=a.partition() if a.staffed_from is not None else "logged_out",
                reason=a.reason,
                load={ch: n for ch, n in a.load.items() if ch},
                load_channel_unknown=a.load.get("", 0),
                staffed_s=staffed,
                occupancy=busy / staffed if staffed > 0 else None,
                offers=a.offers,
                handled=a.handled,
                declined=a.declined,
                expired=a.expired,
                aht_s=a.handle_s / a.handled if a.handled else None,
            )
        return MonitorStatistics(
            now=t,
            version=self.version,
            surge=self.surge,
            surge_changed_at=self.surge_changed_at,
            last_reconfigure=self.last_reconfigure,
            reset_at=self.reset_at,
            agents_by_state=self.agents_by_state(),
            offer_outcomes=dict(self.offer_outcomes),
            queues=queues,
            agents=agents,
        )

    # ------------------------------------------------------------------ intervals

    def _judged(
        self, name: str, figures: dict[str, WindowFigures], t: float
    ) -> dict[str, WindowFigures]:
        """``figures`` with no ``service_level`` where it would rest on answers nobody could
        judge: every window while the queue's target is unknown; once known, each window
        that may still hold an answer counted before (to a bucket: a window one bucket
        longer), and ``since_reset`` until a reset after it."""
        known = name in self._target
        last = self._unjudged.get(name)
        if known and last is None:
            return figures
        out = dict(figures)
        for w in self.windows:
            label = window_label(w)
            if not known or (last is not None and last > t - w - self.bucket_s):
                out[label] = msgspec.structs.replace(out[label], service_level=None)
        if not known or (last is not None and last >= self.reset_at):
            out["since_reset"] = msgspec.structs.replace(out["since_reset"], service_level=None)
        return out

    def queue_intervals(self) -> list[tuple[float, float, str, Counts]]:
        """``(start_s, end_s, queue, counts)`` rows in time then queue order (needs
        ``intervals_s``); ``counts.figures()`` gives the ratios, but a row in
        :meth:`unjudged_intervals` has no service level (``answered_in_target`` / ended would
        count its unjudged answers as out of target)."""
        size = self._need_intervals()
        rows = sorted(self._q_rows.items())
        return [(k * size, (k + 1) * size, name, c) for (k, name), c in rows]

    def unjudged_intervals(self) -> set[tuple[float, str]]:
        """``(start_s, queue)`` of the interval rows holding an answer counted while the
        monitor knew no target for its queue: their service level is unknown (as a window's
        is, :meth:`statistics`), and so is that interval's across all queues."""
        size = self._need_intervals()
        return {(k * size, name) for k, name in self._unjudged_rows}

    def agent_intervals(self) -> list[tuple[float, float, str, AgentInterval]]:
        """``(start_s, end_s, agent, counters)`` rows in time then agent order."""
        size = self._need_intervals()
        rows = sorted(self._a_rows.items())
        return [(k * size, (k + 1) * size, aid, row) for (k, aid), row in rows]

    def _need_intervals(self) -> float:
        if self.intervals_s is None:
            raise ValueError("interval rows need Monitor(..., intervals_s=...)")
        return self.intervals_s
