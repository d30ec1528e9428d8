"""The simulation engine: the real routing core driven in virtual time.

Theory of operation
-------------------
There is no event loop and no sleeping. The engine keeps one heap of its own
future inputs, ``(time, seq, kind, payload)``: the next arrival of each stream,
agents logging in at their ``shift_start_s``, accepting an offer
``accept_delay_s`` after it was made, and finishing an inquiry after its handle
time. Each step takes the earlier of the heap's head and the core's
``next_deadline()`` (offer expiry, patience, wrap-up end, guardrail timers), applies
*every* heap input due at that instant, then calls ``tick`` once: all inputs at one
instant are batched into one matching pass, as a live adapter would. The events
``tick`` returns drive the rest: ``Offered`` schedules the accept, ``Assigned``
schedules the completion, ``AgentAway(shift_end)`` logs the agent out (the core
decides when a shift really ends, overtime and surge rules included). Since the
heap and the core are both consulted every step, virtual time only moves forward
and never skips a deadline.

What customers do is drawn when they arrive (see ``arrivals.py``): handle time and
patience come from the stream's own seeded RNG, and patience is handed to the core
as ``Inquiry.patience_s`` so the *core* abandons the inquiry. The engine never
second-guesses the core: an inquiry's outcome is the first final event it gets
(``Assigned`` = answered, ``Abandoned``/``Withdrawn``, ``Rejected``, ``Deflected``);
event types it does not know are counted and otherwise ignored, so new
backpressure events cannot break a run.

Independently of the core, the engine tracks what every agent holds on every
channel (from ``Offered``/``Assigned`` until the slot is given back by expiry,
decline, requeue, abandonment, completion or wrap-up end). That ledger yields the
occupancy figures and an independent check of the caps (``cap_violations``).

Stopping: without ``drain`` the run stops at ``duration_s``; with it, it goes on
until every inquiry has an outcome (or ``drain_limit_s`` later).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any

import msgspec

from router.config import DEFAULT_CHANNELS
from router.core import Router
from router.errors import UsageError
from router.events import (
    Abandoned,
    AgentAway,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentOnBreak,
    Assigned,
    CallbackScheduled,
    Completed,
    Deflected,
    OfferDeclined,
    Offered,
    OfferExpired,
    Overflowed,
    Queued,
    Rejected,
    Requeued,
    SurgeEnded,
    SurgeStarted,
    Withdrawn,
    WrapUpEnded,
)
from router.model import AgentSpec, Inquiry
from router.sim.arrivals import Stream
from router.sim.scenario import Scenario, router_config

__all__ = [
    "ABANDONED",
    "ANSWERED",
    "DEFLECTED",
    "OPEN",
    "REJECTED",
    "AgentRec",
    "InquiryRec",
    "SimResult",
    "Simulator",
    "simulate",
]

# inquiry outcomes
OPEN = 0
ANSWERED = 1
ABANDONED = 2
REJECTED = 3
DEFLECTED = 4

# heap input kinds
_ARRIVAL = 0
_COMPLETE = 1
_ACCEPT = 2
_LOGIN = 3
_WAKE = 4  # no input: makes the loop tick at that instant (after inputs given between ticks)

_INF = math.inf

Progress = Callable[[str], None]
#: Called with every core event; returning False stops the run early.
EventHook = Callable[[Any], bool]


class InquiryRec:
    """What the engine knows about one simulated inquiry."""

    __slots__ = (
        "answered_at",
        "arrival",
        "callback",
        "decided_at",
        "ewt",
        "handle",
        "heavy",
        "hold_ch",
        "hold_cost",
        "hold_from",
        "hold_w",
        "holder",
        "offer_no",
        "outcome",
        "overflowed_to",
        "queue",
        "reach",
        "stream",
    )

    answered_at: float
    hold_from: float
    hold_w: float
    hold_ch: str
    hold_cost: int

    def __init__(self, arrival: float, stream: int, queue: str, handle: float, heavy: bool) -> None:
        self.arrival = arrival
        self.stream = stream
        self.queue = queue
        self.handle = handle
        self.heavy = heavy
        self.outcome = OPEN
        self.ewt: float | None = None
        self.decided_at: float | None = None
        # answered_at is set when answered; hold_* while ``holder`` is set (hot path: the
        # fewer attributes an arrival initialises, the faster the simulator)
        self.holder: AgentRec | None = None
        self.offer_no = 0
        self.callback = False
        self.reach = True  # whether the current callback attempt reaches the customer
        self.overflowed_to: str | None = None

    @property
    def wait(self) -> float:
        """Arrival to acceptance (answered inquiries)."""
        return self.answered_at - self.arrival


class AgentRec:
    """One simulated agent: its slots ledger, staffed and busy time, heavy runs."""

    __slots__ = (
        "busy",
        "caps",
        "group",
        "heavy_open",
        "heavy_run",
        "id",
        "last_heavy_end",
        "load",
        "login_at",
        "logout_at",
        "max_heavy_run",
        "maxload",
        "units",
        "units_used",
        "weights",
    )

    def __init__(
        self,
        id: str,
        group: str,
        caps: dict[str, int],
        units: int | None,
        unit_costs: dict[str, int],
    ) -> None:
        self.id = id
        self.group = group
        self.caps = caps
        self.units = units
        live = [ch for ch, cap in caps.items() if cap > 0]
        # each channel's share of the agent: full on every channel = occupancy 1
        if units is not None:
            self.weights = {ch: unit_costs[ch] / units for ch in caps}
        else:
            self.weights = {
                ch: 1.0 / (caps[ch] * len(live)) if caps[ch] > 0 else 0.0 for ch in caps
            }
        self.load = dict.fromkeys(caps, 0)
        self.maxload = dict.fromkeys(caps, 0)
        self.units_used = 0
        self.busy = 0.0
        self.login_at: float | None = None
        self.logout_at: float | None = None
        self.heavy_run = 0
        self.max_heavy_run = 0
        self.heavy_open = 0
        self.last_heavy_end = -_INF


class SimResult:
    """Everything a run produced; :func:`router.sim.report.build_report` summarises it."""

    __slots__ = (
        "agents",
        "anomalies",
        "cap_violations",
        "counters",
        "duration_s",
        "end_time",
        "events_by_type",
        "inquiries",
        "load",
        "scenario",
        "seed",
        "sim_events",
        "surge_windows",
        "timeline",
        "wall_s",
        "warmup_s",
        "wellbeing_breaks",
    )

    def __init__(
        self, scenario: Scenario, seed: int, load: float, duration_s: float, warmup_s: float
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.load = load
        self.duration_s = duration_s
        self.warmup_s = warmup_s
        self.inquiries: list[InquiryRec] = []
        self.agents: list[AgentRec] = []
        self.counters: dict[str, int] = {}
        self.cap_violations = 0
        self.anomalies: dict[str, int] = {}
        self.events_by_type: dict[str, int] = {}
        self.wellbeing_breaks = 0
        self.timeline: dict[str, Any] = {}
        #: ``[start, end]`` of the core's surge mode (backpressure); end inf while still on
        self.surge_windows: list[list[float]] = []
        self.end_time = 0.0
        self.sim_events = 0
        self.wall_s = 0.0


class Simulator:
    """Run one scenario through a fresh :class:`~router.core.Router` in virtual time.

    ``seed`` overrides ``simulation.seed``; ``load`` multiplies every arrival rate;
    ``duration_s`` overrides ``simulation.duration_s`` (handy for short test runs;
    ``warmup_s`` is clipped to stay below it). ``progress`` receives a line of text
    about once a second of wall clock on long runs. ``on_event`` sees every core
    event after the engine has handled it; returning False ends the run there
    (``router explain`` uses it to stop after the decisions it shows).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        load: float = 1.0,
        duration_s: float | None = None,
        progress: Progress | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if not (load >= 0 and math.isfinite(load)):
            raise ValueError(f"load must be a finite number >= 0, got {load!r}")
        sim = scenario.simulation
        self.scenario = scenario
        self.seed = sim.seed if seed is None else seed
        self.load = load
        self.duration = sim.duration_s if duration_s is None else float(duration_s)
        self.warmup = (
            min(sim.warmup_s, self.duration / 2) if duration_s is not None else sim.warmup_s
        )
        self.progress = progress
        self.on_event = on_event
        self.router = Router(router_config(scenario), now=0.0)
        channels = {**DEFAULT_CHANNELS, **scenario.channels}
        self._unit_cost = {name: ch.unit_cost for name, ch in channels.items()}
        self._max_conc = {name: ch.max_concurrency for name, ch in channels.items()}
        self._channel_of = {q.name: q.channel for q in scenario.queues}
        self._heavy_q = {q.name: q.heavy for q in scenario.queues}
        self._recovery = scenario.wellbeing.heavy_recovery_s
        self.streams = [
            Stream(i, a, self.seed, load, scenario.surges, self.duration)
            for i, a in enumerate(scenario.arrivals)
        ]
        for s in self.streams:
            s.heavy = self._heavy_q.get(s.queue, False) or "heavy" in s.arrival.tags
        self.result = SimResult(scenario, self.seed, load, self.duration, self.warmup)
        self._agents: dict[str, AgentRec] = {}
        self._recs: dict[str, InquiryRec] = {}
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = count()
        self._busy_w = 0.0
        self._staffed = 0
        self._ran = False
        self._in_surge = False
        surge = scenario.backpressure.surge
        self._surge_caps = {
            ch: min(cap, self._max_conc.get(ch, cap))
            for ch, cap in (surge.caps.items() if surge is not None else ())
        }

    # ------------------------------------------------------------------ setup

    def _schedule_logins(self) -> None:
        sc = self.scenario
        heap = self._heap
        for gi, g in enumerate(sc.agents):
            group = g.name or f"group{gi}"
            caps = {ch: min(cap, self._max_conc.get(ch, cap)) for ch, cap in g.capacity.items()}
            for k in range(g.count):
                aid = f"{group}-{k + 1}"
                spec = AgentSpec(
                    id=aid,
                    skills=dict(g.skills),
                    capacity=dict(g.capacity),
                    units=g.units,
                    tenants=frozenset(g.tenants),
                    queues=dict(g.queues),
                    wrap_up_s=g.wrap_up_s,
                    shift_end=g.shift_end_s,
                )
                rec = AgentRec(aid, group, caps, g.units, self._unit_cost)
                self._agents[aid] = rec
                self.result.agents.append(rec)
                heappush(heap, (g.shift_start_s, next(self._seq), _LOGIN, spec))

    # ------------------------------------------------------------------ ledger

    def _acquire(self, rec: InquiryRec, a: AgentRec, queue: str, t: float) -> None:
        ch = self._channel_of[queue]
        w = a.weights.get(ch, 0.0)
        rec.holder = a
        rec.hold_from = t
        rec.hold_w = w
        rec.hold_ch = ch
        n = a.load.get(ch, 0) + 1
        a.load[ch] = n
        if n > a.maxload.get(ch, 0):
            a.maxload[ch] = n
        cap = a.caps.get(ch, 0)
        if self._in_surge and cap > 0 and ch in self._surge_caps:
            cap = max(cap, self._surge_caps[ch])  # surge mode raises caps (never lowers)
        if n > cap:
            self.result.cap_violations += 1
        if a.units is not None:
            cost = self._unit_cost.get(ch, 0)
            rec.hold_cost = cost
            a.units_used += cost
            if a.units_used > a.units:
                self.result.cap_violations += 1
        self._busy_w += w

    def _release(self, rec: InquiryRec, t: float) -> None:
        a = rec.holder
        if a is None:
            return
        rec.holder = None
        lo = rec.hold_from if rec.hold_from > self.warmup else self.warmup
        hi = t if t < self.duration else self.duration
        if hi > lo:
            a.busy += (hi - lo) * rec.hold_w
        a.load[rec.hold_ch] -= 1
        if a.units is not None:
            a.units_used -= rec.hold_cost
        self._busy_w -= rec.hold_w

    def _anomaly(self, what: str) -> None:
        an = self.result.anomalies
        an[what] = an.get(what, 0) + 1

    # ------------------------------------------------------------------ run

    def run(self) -> SimResult:
        """Run to the end and return the raw result (once per Simulator)."""
        if self._ran:
            raise RuntimeError("a Simulator runs once; create a new one")
        self._ran = True
        res = self.result
        sim = self.scenario.simulation
        router = self.router
        tick = router.tick
        next_deadline = router.next_deadline
        submit = router.submit
        heap = self._heap
        recs = self._recs
        agents = self._agents
        streams = self.streams
        duration = self.duration
        drain = sim.drain
        stop_at = duration + sim.drain_limit_s if drain else duration
        accept_delay = sim.accept_delay_s
        reach = sim.callback_reach
        cb_rng = random.Random(f"router-sim/{self.seed}/callbacks")
        recovery = self._recovery
        inquiries = res.inquiries
        other: dict[str, int] = {}

        # timeline
        sample_s = sim.sample_s or duration / 240.0
        queue_names = [q.name for q in self.scenario.queues]
        tl_t: list[float] = []
        tl_wait: dict[str, list[int]] = {q: [] for q in queue_names}
        tl_busy: list[float] = []
        tl_staffed: list[int] = []
        next_sample = 0.0
        queue_length = router.queue_length

        self._schedule_logins()
        sq = next(self._seq)  # tie-breaking sequence of the engine's heap (a local from here)
        for s in streams:
            first = s.next_after(0.0)
            if first is not None and first < duration:
                sq += 1
                heappush(heap, (first, sq, _ARRIVAL, s))
        open_ = 0  # inquiries without an outcome yet

        n_inq = 0
        n_sim = 0
        n_core = 0
        steps = 0
        progress = self.progress
        on_event = self.on_event
        stopped = False
        wall0 = time.perf_counter()
        last_report = wall0
        t = 0.0
        while True:
            nd = next_deadline()
            t = heap[0][0] if heap else _INF
            if nd is not None and nd < t:
                t = nd
            if t >= duration and (t >= stop_at or open_ == 0 or not drain):
                break
            while next_sample <= t and next_sample < duration:
                tl_t.append(next_sample)
                for q in queue_names:
                    tl_wait[q].append(queue_length(q))
                tl_busy.append(self._busy_w)
                tl_staffed.append(self._staffed)
                next_sample += sample_s
            steps += 1
            if progress is not None and not steps & 8191:
                now_wall = time.perf_counter()
                if now_wall - last_report >= 1.0:
                    last_report = now_wall
                    progress(
                        f"sim t={t:,.0f}s of {duration:,.0f}s ({100 * min(t / duration, 1):.0f}%)"
                        f"  arrivals={n_inq:,}  open={open_:,}"
                        f"  wall={now_wall - wall0:.1f}s"
                    )
            # apply every engine input due now, then one matching pass
            while heap and heap[0][0] <= t:
                _, _, kind, p = heappop(heap)
                n_sim += 1
                if kind == _ARRIVAL:
                    s = p
                    n_inq += 1
                    iid = str(n_inq)
                    rng = s.rng
                    rec = InquiryRec(t, s.index, s.queue, s.handle(rng), s.heavy)
                    recs[iid] = rec
                    inquiries.append(rec)
                    open_ += 1
                    pat = s.patience
                    if pat is None:
                        submit(Inquiry(id=iid, queue=s.queue, **s.fixed), t)
                    else:
                        submit(Inquiry(id=iid, queue=s.queue, patience_s=pat(rng), **s.fixed), t)
                    nxt = s.next_after(t)
                    if nxt is not None and nxt < duration:
                        sq += 1
                        heappush(heap, (nxt, sq, _ARRIVAL, s))
                elif kind == _COMPLETE:
                    try:
                        router.complete(p, t)
                    except UsageError:
                        self._anomaly("complete_refused")
                elif kind == _ACCEPT:
                    iid, no = p
                    rec = recs[iid]
                    if rec.offer_no == no and rec.holder is not None and rec.outcome == OPEN:
                        try:
                            if rec.reach:
                                router.accept(iid, t)
                            else:  # the agent's call for this callback found nobody
                                self._release(rec, t)
                                router.callback_failed(iid, t)
                        except UsageError:
                            self._anomaly("accept_refused")
                elif kind == _LOGIN:
                    router.login(p, t)
            events: list[Any] = tick(t)
            n_core += len(events)
            for e in events:
                cls = e.__class__
                if cls is Queued:
                    rec = recs[e.inquiry_id]
                    if rec.ewt is None:
                        rec.ewt = e.expected_wait_s
                elif cls is Assigned:
                    iid = e.inquiry_id
                    rec = recs[iid]
                    if rec.callback and rec.holder is None and cb_rng.random() >= reach:
                        # immediate mode: this callback attempt did not reach the customer
                        router.callback_failed(iid, t)
                        sq += 1
                        heappush(heap, (t, sq, _WAKE, None))
                        continue
                    if rec.outcome == OPEN:
                        rec.outcome = ANSWERED
                        rec.answered_at = t
                        open_ -= 1
                        if rec.decided_at is None:
                            rec.decided_at = t
                    else:
                        self._anomaly("assigned_after_outcome")
                    a = agents[e.agent_id]
                    if rec.holder is not a:
                        if rec.holder is not None:
                            self._release(rec, t)
                        self._acquire(rec, a, e.queue, t)
                    if rec.heavy:
                        # t < end + recovery, the core's own expression (heavy_block_until)
                        if a.heavy_run and (a.heavy_open or t < a.last_heavy_end + recovery):
                            a.heavy_run += 1
                        else:
                            a.heavy_run = 1
                        a.heavy_open += 1
                        if a.heavy_run > a.max_heavy_run:
                            a.max_heavy_run = a.heavy_run
                    else:
                        a.heavy_run = 0
                    sq += 1
                    heappush(heap, (t + rec.handle, sq, _COMPLETE, iid))
                elif cls is Completed:
                    rec = recs[e.inquiry_id]
                    if rec.heavy:
                        a = agents[e.agent_id]
                        a.heavy_open -= 1
                        a.last_heavy_end = t
                    if e.wrap_up_until <= t:
                        self._release(rec, t)
                elif cls is Offered:
                    iid = e.inquiry_id
                    rec = recs[iid]
                    if rec.decided_at is None:
                        rec.decided_at = t
                    if rec.holder is not None:
                        self._release(rec, t)
                    self._acquire(rec, agents[e.agent_id], e.queue, t)
                    if rec.callback:
                        rec.reach = cb_rng.random() < reach
                    rec.offer_no += 1
                    sq += 1
                    heappush(heap, (t + accept_delay, sq, _ACCEPT, (iid, rec.offer_no)))
                elif (
                    cls is WrapUpEnded
                    or cls is OfferExpired
                    or cls is OfferDeclined
                    or cls is Requeued
                ):
                    self._release(recs[e.inquiry_id], t)
                elif cls is Abandoned or cls is Withdrawn:
                    open_ -= self._finish(recs[e.inquiry_id], ABANDONED, t)
                elif cls is Rejected:
                    open_ -= self._finish(recs[e.inquiry_id], REJECTED, t)
                elif cls is Deflected:
                    open_ -= self._finish(recs[e.inquiry_id], DEFLECTED, t)
                elif cls is CallbackScheduled:
                    recs[e.inquiry_id].callback = True
                elif cls is Overflowed:
                    recs[e.inquiry_id].overflowed_to = e.to_queue
                elif cls is AgentLoggedIn:
                    agents[e.agent_id].login_at = t
                    self._staffed += 1
                elif cls is AgentLoggedOut:
                    agents[e.agent_id].logout_at = t
                    self._staffed -= 1
                elif cls is AgentAway:
                    if e.reason == "shift_end":
                        router.logout(e.agent_id, t)
                        sq += 1
                        heappush(heap, (t, sq, _WAKE, None))
                elif cls is AgentOnBreak:
                    if e.reason == "wellbeing":
                        res.wellbeing_breaks += 1
                elif cls is SurgeStarted:
                    self._in_surge = True
                    res.surge_windows.append([t, _INF])
                elif cls is SurgeEnded:
                    self._in_surge = False
                    if res.surge_windows and res.surge_windows[-1][1] == _INF:
                        res.surge_windows[-1][1] = t
                else:
                    name = cls.__name__
                    other[name] = other.get(name, 0) + 1
            if on_event is not None:
                for e in events:
                    if not on_event(e):
                        stopped = True
                        break
                if stopped:
                    break
        wall = time.perf_counter() - wall0
        # close the ledgers (busy time is clipped to the measured window anyway)
        close = max(router.now, duration)
        for rec in inquiries:
            if rec.holder is not None:
                self._release(rec, close)
        res.end_time = router.now
        res.counters = msgspec.structs.asdict(router.counters)
        res.events_by_type = other
        res.sim_events = n_sim + n_core
        res.wall_s = wall
        res.timeline = {
            "t": tl_t,
            "waiting": tl_wait,
            "busy_capacity": tl_busy,
            "agents_staffed": tl_staffed,
        }
        if progress is not None and wall >= 1.0:
            progress(f"sim done: {n_inq:,} arrivals in {wall:.1f}s wall")
        return res

    def _finish(self, rec: InquiryRec, outcome: int, t: float) -> int:
        """Record a final outcome; returns 1 if the inquiry was still open."""
        if rec.holder is not None:
            self._release(rec, t)
        if rec.outcome == OPEN:
            rec.outcome = outcome
            return 1
        self._anomaly("second_outcome")
        return 0


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    load: float = 1.0,
    duration_s: float | None = None,
    progress: Progress | None = None,
    on_event: EventHook | None = None,
) -> SimResult:
    """Run ``scenario`` once and return the raw :class:`SimResult`."""
    return Simulator(
        scenario,
        seed=seed,
        load=load,
        duration_s=duration_s,
        progress=progress,
        on_event=on_event,
    ).run()
