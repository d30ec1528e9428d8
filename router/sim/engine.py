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
(``Assigned`` = answered, ``Abandoned``/``Withdrawn``, ``Rejected``, ``Deflected``),
except that an answer the core takes back (assigned work transferred or handed back: its
``_unanswer``) opens the inquiry again and takes back what the answer counted
(``_reopen``), so its one outcome is whatever ends it next; event types it does not know
are counted and otherwise ignored, so new backpressure events cannot break a run.

Independently of the core, the engine tracks what every agent holds on every
channel (from ``Offered``/``Assigned`` until the slot is given back by expiry,
decline, requeue, abandonment, completion, wrap-up end or a transfer). That ledger yields the
occupancy figures and an independent check of the caps (``cap_violations``). Work taken off
its agent unfinished (a ``Transferred`` naming the agent, a hand-back) calls off the
completion the engine scheduled for it: each completion carries the heap's sequence number,
and one that is not the inquiry's current one does nothing.

The engine also follows what a manager watches: the queue each inquiry ends in
(``Overflowed`` moves it), the agent group that answered it, who is on a break
(from the break's start, ``AgentOnBreak`` with ``until``, to ``AgentReady``,
``AgentAway`` or logout; the highest share at any instant, overall and per group),
and the gap after a long heavy inquiry to the agent's next work. The timeline is
sampled every ``sample_s`` until the run ends, the drain included; callers who
took a callback are counted apart from live callers (``Router.inquiry_state``
tells a callback holding its place from one between two attempts).

Issue 16's features are simulated the same way, by what people do: an agent
group with ``handback_share`` hands that share of the inquiries it answers back
unfinished (``Router.hand_back`` when the work would have ended), and the
engine counts each hand-back and the answer that follows; a group with
``decline_share`` declines that share of the offers it answers (``Router.decline``
when it would have accepted; with ``[routing] max_declines`` the core sets an agent
away, counted, and a group's ``decline_away_s`` later it sets itself ready); a group with
its own ``no_answer_share`` leaves that share of its offers ringing (else the run-wide
share), and one the core sets away for them (``max_no_answer``) is back a group's
``no_answer_away_s`` later; a group with
``console_drop_s`` stops answering at that time (no accepts, no heartbeats:
its consoles are gone, while work in flight still ends) until its ``console_back_s``
(an agent set away meanwhile for a presence timeout sets itself ready then, and a return
that fell while the console was silent comes with it), and with ``[routing]
presence_timeout_s`` every other logged-in agent's console sends a heartbeat a
third of the timeout apart. A return is dropped when the agent's state changes first.
The engine reads the queues' hours in force (a mid-run reconfigure's from then on;
``router/config/clock.py``) to count the inquiries that
got the ``closed`` outcome and any answered while their queue was closed, and checks
an agent over its capacity units against the ``interrupts`` rule itself.

Stopping: without ``drain`` the run stops at ``duration_s``; with it, it goes on
until every inquiry has an outcome (or ``drain_limit_s`` later, or until nothing
can happen any more: no input left and no core deadline). Before anything is
built, the run is sized (:mod:`router.sim.guard`) and refused past
``[simulation.limits]`` unless ``force``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import Any, Final, final

import msgspec

from router.config import DEFAULT_CHANNELS, QueueConfig, RouterConfig, profile_agent
from router.config.clock import queue_schedules
from router.core import Router
from router.errors import UsageError
from router.events import (
    Abandoned,
    AgentAway,
    AgentDraining,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentOnBreak,
    AgentReady,
    Assigned,
    BreakDeferred,
    CallbackScheduled,
    Completed,
    Deflected,
    Event,
    OfferDeclined,
    Offered,
    OfferExpired,
    OfferRescinded,
    Overflowed,
    Queued,
    Rejected,
    Requeued,
    SurgeEnded,
    SurgeStarted,
    TaskExpired,
    Transferred,
    Withdrawn,
    WrapUpEnded,
)
from router.model import Inquiry
from router.sim.arrivals import Sampler, Stream, sampler
from router.sim.clock import start_offset_s
from router.sim.guard import check_run_size
from router.sim.replay import make_stream
from router.sim.scenario import Scenario, router_config

__all__ = [
    "ABANDONED",
    "ANSWERED",
    "DEFLECTED",
    "EXPIRED",
    "OPEN",
    "REJECTED",
    "AgentRec",
    "InquiryRec",
    "SimResult",
    "Simulator",
    "simulate",
]

# inquiry outcomes
OPEN: Final = 0
ANSWERED: Final = 1
ABANDONED: Final = 2
REJECTED: Final = 3
DEFLECTED: Final = 4
EXPIRED: Final = 5  # an outbound task not started by its deadline

# heap input kinds
_ARRIVAL: Final = 0
_COMPLETE: Final = 1
_ACCEPT: Final = 2
_LOGIN: Final = 3
_WAKE: Final = 4  # no input: makes the loop tick at that instant (after inputs given between ticks)
_HEARTBEAT: Final = 5  # an agent's console says it is alive (presence timeouts)
_DECLINE: Final = 6  # the agent declines an offer (its group's ``decline_share``)
#: an agent set away for its declines or for offers rung out sets itself ready
#: (``decline_away_s``, ``no_answer_away_s``)
_BACK: Final = 7
_CONSOLE: Final = 8  # an agent's console comes back (``console_back_s``)

_INF: Final = math.inf

# the event types the run loop handles, as small ints: one dict lookup per event picks the
# branch (compiled, comparing the class with each imported name would be a module-dict
# lookup per comparison); any other type is 0 and only counted
_E_QUEUED: Final = 1
_E_ASSIGNED: Final = 2
_E_COMPLETED: Final = 3
_E_OFFERED: Final = 4
_E_OFFER_EXPIRED: Final = 5
_E_OFFER_GONE: Final = 6  # declined or rescinded
_E_RELEASED: Final = 7  # wrap-up ended
_E_ABANDONED: Final = 8  # abandoned or withdrawn
_E_REJECTED: Final = 9
_E_DEFLECTED: Final = 10
_E_TASK_EXPIRED: Final = 11
_E_CALLBACK: Final = 12
_E_OVERFLOWED: Final = 13
_E_LOGGED_IN: Final = 14
_E_LOGGED_OUT: Final = 15
_E_AWAY: Final = 16
_E_ON_BREAK: Final = 17
_E_READY: Final = 18
_E_SURGE_STARTED: Final = 19
_E_SURGE_ENDED: Final = 20
_E_BREAK_DEFERRED: Final = 21
_E_DRAINING: Final = 22
_E_TRANSFERRED: Final = 23
_E_REQUEUED: Final = 24
_EVENT_KIND: Final[dict[type, int]] = {
    Queued: _E_QUEUED,
    Assigned: _E_ASSIGNED,
    Completed: _E_COMPLETED,
    Offered: _E_OFFERED,
    OfferExpired: _E_OFFER_EXPIRED,
    OfferDeclined: _E_OFFER_GONE,
    OfferRescinded: _E_OFFER_GONE,
    WrapUpEnded: _E_RELEASED,
    Requeued: _E_REQUEUED,
    Abandoned: _E_ABANDONED,
    Withdrawn: _E_ABANDONED,
    Rejected: _E_REJECTED,
    Deflected: _E_DEFLECTED,
    TaskExpired: _E_TASK_EXPIRED,
    CallbackScheduled: _E_CALLBACK,
    Overflowed: _E_OVERFLOWED,
    AgentLoggedIn: _E_LOGGED_IN,
    AgentLoggedOut: _E_LOGGED_OUT,
    AgentAway: _E_AWAY,
    AgentOnBreak: _E_ON_BREAK,
    AgentReady: _E_READY,
    SurgeStarted: _E_SURGE_STARTED,
    SurgeEnded: _E_SURGE_ENDED,
    BreakDeferred: _E_BREAK_DEFERRED,
    AgentDraining: _E_DRAINING,
    Transferred: _E_TRANSFERRED,
}

#: a heavy inquiry at least this long is followed in the report by the gap to the agent's
#: next work (``after_long_heavy``): the recovery an abusive 20-minute call deserves
LONG_HEAVY_S: Final = 1200.0

Progress = Callable[[str], None]
#: Called with every core event; returning False stops the run early.
EventHook = Callable[[Any], bool]


@final
class InquiryRec:
    """What the engine knows about one simulated inquiry."""

    __slots__ = (
        "accepted_by",
        "agent_id",
        "answered_at",
        "arrival",
        "by",
        "callback",
        "decided_at",
        "done",
        "ewt",
        "extra",
        "handle",
        "heavy",
        "hold_ch",
        "hold_cost",
        "hold_from",
        "hold_w",
        "holder",
        "offer_no",
        "outcome",
        "path",
        "preferred",
        "queue",
        "reach",
        "ring_expires",
        "stream",
        "target",
    )

    answered_at: float
    by: str  # the group of the agent who answered it (answered inquiries)
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
        #: the engine heap's sequence number of its scheduled completion (0: none): a
        #: completion whose number is not this one was called off (the work was transferred
        #: or handed back by a hook) and does nothing
        self.done = 0
        self.offer_no = 0
        self.callback = False
        self.reach = True  # whether the current callback attempt reaches the customer
        #: the queues it was moved to (overflow), in order; None if it never moved
        self.path: list[str] | None = None
        #: with max_offers > 1: the other agents holding its open offer -> (agent, share, cost)
        self.extra: dict[str, tuple[AgentRec, float, int]] | None = None
        self.ring_expires = 0.0
        #: a returning customer: the agent it prefers (the one who served an earlier one)
        self.preferred: str | None = None
        self.agent_id = ""  # who answered it (answered inquiries)
        self.accepted_by: str | None = None  # whose accept the engine sent (this offer round)
        #: the answer target in force when answered, once a reconfigure changed the config
        #: (None: the scenario's; the report judges the answer by it)
        self.target: float | None = None

    @property
    def wait(self) -> float:
        """Arrival to acceptance (answered inquiries)."""
        return self.answered_at - self.arrival

    @property
    def final_queue(self) -> str:
        """The queue it ended in (the one that served it): its arrival queue unless moved."""
        return self.path[-1] if self.path else self.queue


@final
class AgentRec:
    """One simulated agent: its slots ledger, staffed and busy time, heavy runs."""

    __slots__ = (
        "break_due",
        "busy",
        "caps",
        "drop_at",
        "group",
        "handled",
        "heavy_open",
        "heavy_run",
        "held",
        "id",
        "idle_from",
        "last_heavy_end",
        "load",
        "login_at",
        "logout_at",
        "long_heavy_end",
        "max_heavy_run",
        "maxload",
        "on_shift",
        "spans",
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
        self.handled = 0  # inquiries it answered
        self.units_used = 0
        self.busy = 0.0
        self.login_at: float | None = None
        self.logout_at: float | None = None
        self.heavy_run = 0
        self.max_heavy_run = 0
        self.heavy_open = 0
        self.last_heavy_end = -_INF
        #: when its last heavy inquiry longer than LONG_HEAVY_S ended (None: not pending)
        self.long_heavy_end: float | None = None
        #: staffed: logged in and on shift; ``spans`` are the staffed stretches
        #: ``[start, end]`` (end ``None`` while it lasts)
        self.on_shift = False
        self.spans: list[list[float | None]] = []
        #: when its console goes silent (``console_drop_s``), or inf
        self.drop_at = _INF
        #: when its wellbeing break fell due (its continuous work reached the limit) and the
        #: break has not started yet, or inf; ``held``: slots it holds; ``idle_from``: since
        #: when it holds none (idle as long as a break counts as one, as in the core)
        self.break_due = _INF
        self.held = 0
        self.idle_from = 0.0


class SimResult:
    """Everything a run produced; :func:`router.sim.report.build_report` summarises it."""

    __slots__ = (
        "added_at",
        "added_queues",
        "agents",
        "anomalies",
        "away",
        "break_late",
        "breaks_missed",
        "cap_violations",
        "closed_answered",
        "closed_outcomes",
        "counters",
        "declines",
        "duration_s",
        "end_time",
        "events_by_type",
        "gaps_after_long_heavy",
        "handbacks",
        "inquiries",
        "interrupted",
        "load",
        "lost_races",
        "on_break_max",
        "on_break_max_by_group",
        "presence",
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
        #: per wellbeing break (due, started or not): ``(group, seconds from due to its
        #: start, or to the agent leaving or the run ending first)``; ``breaks_missed``
        #: counts those that never started
        self.break_late: list[tuple[str, float]] = []
        self.breaks_missed = 0
        #: highest share of logged-in agents on a break at any instant, and per group
        self.on_break_max = 0.0
        self.on_break_max_by_group: dict[str, float] = {}
        #: ``(gap_s, next_is_heavy)``: from the end of a heavy inquiry longer than
        #: LONG_HEAVY_S to the agent's next offer or assignment
        self.gaps_after_long_heavy: list[tuple[float, bool]] = []
        #: per inquiry handed back: ``[times handed back, answers after a hand-back]``
        self.handbacks: dict[InquiryRec, list[int]] = {}
        #: per inquiry an agent declined (``decline_share``): offers of it declined
        self.declines: dict[InquiryRec, int] = {}
        #: per reason the core sets an agent away for what it did (``max_declines``,
        #: ``max_no_answer``, ``presence_timeout``): ``[agents set away, ready again]`` (a
        #: group's ``decline_away_s``, ``no_answer_away_s``, ``console_back_s``)
        self.away: dict[str, list[int]] = {
            "max_declines": [0, 0],
            "max_no_answer": [0, 0],
            "presence_timeout": [0, 0],
        }
        #: inquiries that got their queue's ``closed`` outcome; answered while it was closed
        self.closed_outcomes: list[InquiryRec] = []
        self.closed_answered: list[InquiryRec] = []
        #: inquiries an agent took by interrupting other channels' work (``interrupts``)
        self.interrupted: list[InquiryRec] = []
        #: presence: timeouts, and offers/expiries to agents after their console dropped
        self.presence: dict[str, int] = {
            "timeouts": 0,
            "offers_after_drop": 0,
            "expired_after_drop": 0,
        }
        #: accepts that came after another agent of the same multi-agent offer won
        self.lost_races = 0
        #: queues a mid-run reconfigure added (not in the scenario), as first configured, in
        #: the order they came: the report's rows and the timeline have them after the
        #: scenario's (their points ``None`` before they existed)
        self.added_queues: list[QueueConfig] = []
        #: when each of ``added_queues`` came (the router's time of the reconfigure)
        self.added_at: dict[str, float] = {}

    def queue_configs(self) -> list[QueueConfig]:
        """Every queue the run had: the scenario's, then those a reconfigure added."""
        return [*self.scenario.queues, *self.added_queues]


@final
class Simulator:
    """Run one scenario through a fresh :class:`~router.core.Router` in virtual time.

    ``seed`` overrides ``simulation.seed``; ``load`` multiplies every arrival rate;
    ``duration_s`` overrides ``simulation.duration_s`` (handy for short test runs;
    ``warmup_s`` is clipped to stay below it). ``progress`` receives a line of text
    about once a second of wall clock on long runs. ``on_event`` sees every core
    event after the engine has handled it; returning False ends the run there
    (``router explain`` uses it to stop after the decisions it shows). A run larger than
    ``[simulation.limits]`` raises :class:`~router.sim.guard.RunTooLarge` (a
    ``ConfigError``) before anything is built, unless ``force``.
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
        force: bool = False,
    ) -> None:
        if not (load >= 0 and math.isfinite(load)):
            raise ValueError(f"load must be a finite number >= 0, got {load!r}")
        sim = scenario.simulation
        self.scenario = scenario
        self.seed = sim.seed if seed is None else seed
        self.load = load
        self.duration = sim.duration_s if duration_s is None else float(duration_s)
        check_run_size(scenario, load=load, duration_s=self.duration, force=force)
        self.warmup = (
            min(sim.warmup_s, self.duration / 2) if duration_s is not None else sim.warmup_s
        )
        self.progress = progress
        self.on_event = on_event
        self.router = Router(router_config(scenario), now=0.0)
        self.router.add_reconfigure_listener(self._reconfigured)  # every config, a hook's too
        #: the call that ticks the router; a caller may wrap it before ``run`` (the
        #: benchmarks time every tick this way: the Router's own methods are never patched)
        self.tick: Callable[[float], list[Event]] = self.router.tick
        self._own_tick = self.tick  # unwrapped: the loop then calls the router directly
        channels = {**DEFAULT_CHANNELS, **scenario.channels}
        self._unit_cost = {name: ch.unit_cost for name, ch in channels.items()}
        self._max_conc = {name: ch.max_concurrency for name, ch in channels.items()}
        self._channel_of = {q.name: q.channel for q in scenario.queues}
        self._heavy_q = {q.name: q.heavy for q in scenario.queues}
        #: the queues' heavy flags under each config version (a ``Transferred`` is judged by
        #: the config it was decided under: a hook may reconfigure before its tick returns it)
        self._heavy_at: dict[int, dict[str, bool]] = {self.router.version: dict(self._heavy_q)}
        self._recovery = scenario.wellbeing.heavy_recovery_s
        self._break_s = scenario.wellbeing.break_s
        offset = start_offset_s(scenario)
        self.streams = [
            make_stream(i, a, self.seed, load, scenario.surges, self.duration, offset)
            for i, a in enumerate(scenario.arrivals)
        ]
        self.result = SimResult(scenario, self.seed, load, self.duration, self.warmup)
        self._agents: dict[str, AgentRec] = {}
        self._recs: dict[str, InquiryRec] = {}
        self._heap: list[tuple[float, int, int, Any]] = []
        self._seq = count()
        self._busy_w = 0.0
        self._staffed = 0
        # breaks: agents on a break now, logged-in and on-break counts per group
        self._on_break: set[str] = set()
        self._staffed_by: dict[str, int] = {}
        self._break_by: dict[str, int] = {}
        # callbacks without an outcome yet (for the timeline: callers who hung up)
        self._callbacks_open: dict[str, InquiryRec] = {}
        #: returning customers' history, per stream: the agent each answered call counts for
        self._served: list[list[str]] = []
        self._ran = False
        self._in_surge = False
        surge = scenario.backpressure.surge
        self._surge_caps = {
            ch: min(cap, self._max_conc.get(ch, cap))
            for ch, cap in (surge.caps.items() if surge is not None else ())
        }
        self._interrupts = {name: dict(ch.interrupts) for name, ch in channels.items()}
        self._schedules = queue_schedules(self.router.config)
        # after a reconfigure: the config in force, the scenario's queues it no longer has
        # (their timeline points are None) and where their arrivals go (None: nowhere)
        self._config = self.router.config
        self._gone: set[str] = set()
        self._on_remove: dict[str, str | None] = {}
        self._redirect: dict[str, str | None] = {}
        self._heavy_streams()  # the streams' heavy: their queues' flags, or their tags
        self._handback_share = {
            g.name or f"group{i}": g.handback_share for i, g in enumerate(scenario.agents)
        }
        self._handback_rng = random.Random(f"router-sim/{self.seed}/handback")
        groups = [g.name or f"group{i}" for i, g in enumerate(scenario.agents)]
        self._decline_share = {n: g.decline_share for n, g in zip(groups, scenario.agents)}
        #: the groups with their own share of offers rung out (``no_answer_share``): drawn
        #: from their own stream; the others keep the run-wide share (and its draws)
        self._no_answer_share: dict[str, float] = {}
        #: per reason the core sets an agent away: each group's time until it sets itself
        #: ready (``decline_away_s``, ``no_answer_away_s``; groups without one stay away)
        self._away_s: dict[str, dict[str, float]] = {"max_declines": {}, "max_no_answer": {}}
        #: the groups whose consoles come back (``console_back_s``)
        self._console_back: dict[str, float] = {}
        for n, g in zip(groups, scenario.agents):
            if g.no_answer_share is not None:
                self._no_answer_share[n] = g.no_answer_share
            if g.decline_away_s is not None:
                self._away_s["max_declines"][n] = g.decline_away_s
            if g.no_answer_away_s is not None:
                self._away_s["max_no_answer"][n] = g.no_answer_away_s
            if g.console_back_s is not None and g.console_drop_s is not None:
                self._console_back[n] = g.console_back_s
        #: agents away now for a reason the engine brings them back from: ``(reason, since)``
        #: (a later state change drops them: another away, a break, ready, logout)
        self._away: dict[str, tuple[str, float]] = {}
        #: of those, the ones whose return fell while their console was silent: it comes
        #: with the console (``console_back_s``), else never
        self._due_on_console: dict[str, tuple[str, float]] = {}
        #: agents whose heartbeats stopped when their console dropped (the console's return
        #: starts them again)
        self._beats_stopped: set[str] = set()
        timeout = scenario.routing.presence_timeout_s
        self._beat_s = timeout / 3.0 if timeout is not None else None

    # ------------------------------------------------------------------ setup

    def _schedule_logins(self) -> None:
        sc = self.scenario
        heap = self._heap
        for gi, g in enumerate(sc.agents):
            group = g.name or f"group{gi}"
            caps = {ch: min(cap, self._max_conc.get(ch, cap)) for ch, cap in g.capacity.items()}
            # a schedule is known from the start (the roster): those agents log in at t = 0
            # and are off shift until their first shift; others log in unannounced
            login_at = 0.0 if g.shifts else g.shift_start_s
            for k in range(g.count):
                aid = f"{group}-{k + 1}"
                spec = profile_agent(g, aid, group)
                rec = AgentRec(aid, group, caps, g.units, self._unit_cost)
                if g.console_drop_s is not None:
                    rec.drop_at = g.console_drop_s
                    if group in self._console_back:
                        back = (self._console_back[group], next(self._seq), _CONSOLE, rec)
                        heappush(heap, back)
                self._agents[aid] = rec
                self.result.agents.append(rec)
                heappush(heap, (login_at, next(self._seq), _LOGIN, spec))

    # ------------------------------------------------------------------ ledger

    def _acquire(self, rec: InquiryRec, a: AgentRec, queue: str, t: float) -> None:
        ch = self._channel_of[queue]
        rec.holder = a
        rec.hold_from = t
        rec.hold_ch = ch
        rec.hold_w, rec.hold_cost = self._take(rec, a, ch, t)

    def _acquire_also(self, rec: InquiryRec, a: AgentRec, t: float) -> None:
        """Another agent of the same multi-agent offer holds a slot too."""
        w, cost = self._take(rec, a, rec.hold_ch, t)
        if rec.extra is None:
            rec.extra = {}
        rec.extra[a.id] = (a, w, cost)

    def _take(self, rec: InquiryRec, a: AgentRec, ch: str, t: float) -> tuple[float, int]:
        """One slot of ``a`` on ``ch`` from ``t``: caps checked; returns (share, unit cost)."""
        w = a.weights.get(ch, 0.0)
        cost = 0
        if a.held == 0:
            self._rested(a, t)
        a.held += 1
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
            if a.units_used + cost > a.units:
                if self._may_interrupt(a, ch, cost):
                    self.result.interrupted.append(rec)
                else:
                    self.result.cap_violations += 1
            a.units_used += cost
        self._busy_w += w
        if a.long_heavy_end is not None:  # the first work after a long heavy inquiry
            self.result.gaps_after_long_heavy.append((t - a.long_heavy_end, rec.heavy))
            a.long_heavy_end = None
        return w, cost

    def _give(self, a: AgentRec, w: float, ch: str, cost: int, since: float, t: float) -> None:
        lo = since if since > self.warmup else self.warmup
        hi = t if t < self.duration else self.duration
        if hi > lo:
            a.busy += (hi - lo) * w
        a.load[ch] -= 1
        a.held -= 1
        if a.held == 0:
            a.idle_from = t
        if a.units is not None:
            a.units_used -= cost
        self._busy_w -= w

    def _may_interrupt(self, a: AgentRec, ch: str, cost: int) -> bool:
        """The ``interrupts`` rule, read from the config: ``ch`` may interrupt the agent's
        work of the channels it names, each held at most so often; the rest must fit."""
        rule = self._interrupts.get(ch)
        if not rule or a.units is None:
            return False
        held = 0
        for other, most in rule.items():
            n = a.load.get(other, 0)
            if n > most:
                return False
            held += n * self._unit_cost.get(other, 0)
        return held > 0 and a.units_used - held + cost <= a.units

    def _release(self, rec: InquiryRec, t: float) -> None:
        """Every slot the inquiry holds is given back."""
        a = rec.holder
        if a is None:
            return
        rec.holder = None
        self._give(a, rec.hold_w, rec.hold_ch, rec.hold_cost, rec.hold_from, t)
        extra = rec.extra
        if extra is not None:
            rec.extra = None
            for b, w, cost in extra.values():
                self._give(b, w, rec.hold_ch, cost, rec.hold_from, t)

    def _drop(self, rec: InquiryRec, agent_id: str, t: float) -> None:
        """One agent's slot is given back (a declined, expired or rescinded offer)."""
        extra = rec.extra
        if extra is not None and agent_id in extra:
            b, w, cost = extra.pop(agent_id)
            self._give(b, w, rec.hold_ch, cost, rec.hold_from, t)
            return
        a = rec.holder
        if a is None or a.id != agent_id:
            return
        self._give(a, rec.hold_w, rec.hold_ch, rec.hold_cost, rec.hold_from, t)
        if extra:  # another agent of the ring becomes the one the ledger follows
            _, (b, w, cost) = extra.popitem()
            rec.holder, rec.hold_w, rec.hold_cost = b, w, cost
        else:
            rec.holder = None
            rec.extra = None

    @staticmethod
    def _holds(rec: InquiryRec, agent_id: str) -> bool:
        a = rec.holder
        if a is not None and a.id == agent_id:
            return True
        extra = rec.extra
        return extra is not None and agent_id in extra

    # ------------------------------------------------------------------ breaks, timeline

    def _shift_change(self, a: AgentRec, on: bool, t: float) -> None:
        """The agent is staffed (logged in and on shift) from ``t``, or no longer."""
        if on == a.on_shift:
            return
        a.on_shift = on
        sign = 1 if on else -1
        self._staffed += sign
        self._staffed_by[a.group] = self._staffed_by.get(a.group, 0) + sign
        if on:
            a.spans.append([t, None])
        else:
            a.spans[-1][1] = t

    def _break_change(self, a: AgentRec, on: bool) -> bool:
        """Record an agent starting (``on``) or ending a break; True if that changed it."""
        if on == (a.id in self._on_break):
            return False
        if on:
            self._on_break.add(a.id)
        else:
            self._on_break.discard(a.id)
        self._break_by[a.group] = self._break_by.get(a.group, 0) + (1 if on else -1)
        return True

    def _note_breaks(self) -> None:
        """After an instant's events: update the highest on-break shares."""
        res = self.result
        if self._staffed:
            res.on_break_max = max(res.on_break_max, len(self._on_break) / self._staffed)
        by = res.on_break_max_by_group
        for g, n in self._staffed_by.items():
            if n:
                share = self._break_by.get(g, 0) / n
                if share > by.get(g, 0.0):
                    by[g] = share

    def _sample(self, tl: dict[str, Any], t: float) -> None:
        """One timeline point: live callers and callbacks per queue, agents."""
        router = self.router
        in_line: dict[str, int] = {}
        holding: dict[str, int] = {}
        for iid, rec in self._callbacks_open.items():
            if rec.holder is not None:
                continue  # being called back right now
            try:
                state = router.inquiry_state(iid)
            except UsageError:  # pragma: no cover - the outcome event is not handled yet
                continue
            q = rec.final_queue
            if state == "waiting":
                in_line[q] = in_line.get(q, 0) + 1
            if state in ("waiting", "parked"):
                holding[q] = holding.get(q, 0) + 1
        added = self.result.added_queues
        if added and len(tl["waiting"]) < len(self._channel_of):  # null before it existed
            for qc in added:
                if qc.name not in tl["waiting"]:
                    tl["waiting"][qc.name] = [None] * len(tl["t"])
                    tl["callbacks"][qc.name] = [None] * len(tl["t"])
        tl["t"].append(t)
        gone = self._gone
        for q, series in tl["waiting"].items():
            if gone and q in gone:  # removed by a reconfigure: no point while it is gone
                series.append(None)
                tl["callbacks"][q].append(None)
                continue
            series.append(router.queue_length(q) - in_line.get(q, 0))
            tl["callbacks"][q].append(holding.get(q, 0))
        tl["busy_capacity"].append(self._busy_w)
        tl["agents_staffed"].append(self._staffed)
        tl["agents_on_break"].append(len(self._on_break))

    def reconfigure(self, config: RouterConfig, *, hand_over: dict[str, str] | None = None) -> int:
        """``Router.reconfigure`` at the router's time, from a hook between two steps (the
        operator page's upload): where the arrivals of a queue it removes go (``hand_over``,
        else the queue's ``on_remove``). A hook may call ``Router.reconfigure`` itself, as
        often as it likes: the engine sees each config as it is applied (its listener,
        ``Router.add_reconfigure_listener``). Returns the new version."""
        router = self.router
        return router.reconfigure(config, router.now, hand_over=hand_over)

    def _reconfigured(self, moved: dict[str, str | None] | None = None) -> None:
        """The router was reconfigured (``moved``: the queues it removed, each mapped to where
        its waiting inquiries went; the engine's ``Router.add_reconfigure_listener``): note
        the queues it adds (``SimResult.added_queues``), the queues' hours in force
        (``answered_while_closed``), the scenario's queues it no longer has and where their
        arrivals go from now on: the removed queue's ``hand_over`` target or ``on_remove``
        at its removal (followed while that one is gone too), if the router has that queue;
        else nowhere (such an arrival is rejected without reaching the core, which no
        longer knows its queue). Idempotent."""
        old = self._config
        cfg = self._config = self.router.config
        names = set(cfg.queue_names())
        if cfg is not old:  # (the core reads the hours in force; answered_while_closed too)
            self._schedules = queue_schedules(cfg)
            self._heavy_at[self.router.version] = {q.name: q.heavy for q in cfg.queues}
        for q in cfg.queues:
            self._heavy_q[q.name] = q.heavy  # (an added queue's, or a flag changed)
            if q.name not in self._channel_of:  # added: handed over to, or dialed from now on
                self._channel_of[q.name] = q.channel
                self.result.added_queues.append(q)
                self.result.added_at[q.name] = self.router.now
        before: dict[str, str | None] = {q.name: q.on_remove for q in old.queues}
        if moved:
            before.update(moved)
        gone = {n for n in self._channel_of if n not in names}
        on_remove = self._on_remove
        for n in list(on_remove):
            if n not in gone:
                del on_remove[n]  # back again
        for n in gone:
            if n not in on_remove:
                on_remove[n] = before.get(n)
        self._gone = gone
        redirect = self._redirect
        redirect.clear()
        for n in gone:
            to = on_remove[n]
            seen = {n}
            while to is not None and to in gone and to not in seen:
                seen.add(to)
                to = on_remove[to]
            ok = to is not None and to in names
            redirect[n] = to if ok else None
        self._heavy_streams()

    def _heavy_streams(self) -> None:
        """Each stream's ``heavy``: its arrivals are heavy if they carry the tag ``heavy`` or
        the queue they are submitted to now is heavy (the core's rule, ``Router.submit``):
        the stream's own queue, or where its arrivals go while that one is removed (its
        redirect, a queue a reconfigure may have added). A removed queue with nowhere to go:
        its arrivals are rejected before the core, and stay as they were."""
        heavy_q = self._heavy_q
        redirect = self._redirect
        for s in self.streams:
            queue = s.queue
            if queue in redirect:
                queue = redirect[queue] or queue
            s.heavy = heavy_q.get(queue, False) or "heavy" in s.arrival.tags

    def _arrival_elsewhere(self, rec: InquiryRec, t: float) -> str:
        """An arrival for a queue a reconfigure removed: its queue from the redirect, or
        ``""`` with the inquiry rejected (decided now) when it has none."""
        to = self._redirect[rec.queue]
        if to is None:
            rec.outcome = REJECTED
            rec.decided_at = t
            return ""
        rec.queue = to
        return to

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
        tick = self.tick
        # the router's methods are called on ``router`` itself, not through bound-method
        # locals: compiled, that is a direct C call instead of a call through the wrapper
        # that parses Python arguments
        wrapped = tick is not self._own_tick
        heap = self._heap
        # heapq's functions as locals: compiled, each call by its imported name is a lookup
        # in the module's dict
        push = heappush
        pop = heappop
        recs = self._recs
        agents = self._agents
        streams = self.streams
        duration = self.duration
        drain = sim.drain
        stop_at = duration + sim.drain_limit_s if drain else duration
        accept_delay = sim.accept_delay_s
        answer = sampler(sim.answer_time) if sim.answer_time is not None else None
        no_answer = sim.no_answer_share
        ans_rng = random.Random(f"router-sim/{self.seed}/answers")
        own_no_answer = self._no_answer_share  # groups with their own share
        na_rng = random.Random(f"router-sim/{self.seed}/no_answers")
        returning = [a.returning_share for a in self.scenario.arrivals]
        served: list[list[str]] = [[] for _ in returning]  # who answered each stream's calls
        self._served = served
        keep_served = [share > 0 for share in returning]
        ret_rng = random.Random(f"router-sim/{self.seed}/returning")
        reach = sim.callback_reach
        cb_rng = random.Random(f"router-sim/{self.seed}/callbacks")
        recovery = self._recovery
        inquiries = res.inquiries
        other: dict[str, int] = {}
        handing_back = any(share > 0 for share in self._handback_share.values())
        decline_share = self._decline_share
        declining = any(share > 0 for share in decline_share.values())
        dec_rng = random.Random(f"router-sim/{self.seed}/declines")
        away_s = self._away_s
        away = self._away
        beat_s = self._beat_s
        schedules = self._schedules

        # timeline: every sample_s until the run ends (the drain included)
        sample_s = sim.sample_s or duration / 240.0
        queue_names = [q.name for q in self.scenario.queues]
        tl: dict[str, Any] = {
            "t": [],
            "waiting": {q: [] for q in queue_names},
            "callbacks": {q: [] for q in queue_names},
            "busy_capacity": [],
            "agents_staffed": [],
            "agents_on_break": [],
        }
        next_sample = 0.0
        sample = self._sample
        callbacks_open = self._callbacks_open
        event_kind = _EVENT_KIND

        self._schedule_logins()
        sq = next(self._seq)  # tie-breaking sequence of the engine's heap (a local from here)
        for s in streams:
            first = s.next_after(0.0)
            if first is not None and first < duration:
                sq += 1
                push(heap, (first, sq, _ARRIVAL, s))
        open_ = 0  # inquiries without an outcome yet
        ver = router.version  # a reconfigure (from a hook) bumps it
        targets: dict[str, float] = {}  # answer targets in force, once ``retargeted``
        retargeted = False
        redirect = self._redirect

        n_inq = 0
        n_sim = 0
        n_core = 0
        steps = 0
        progress = self.progress
        on_event = self.on_event
        stopped = False
        hooked = False  # a hook's input at the drain's last step: one more step takes it
        wall0 = time.perf_counter()
        last_report = wall0
        t = 0.0
        while True:
            t = heap[0][0] if heap else _INF
            nd = router.next_deadline(t)  # exact below t, the engine's own next event
            if nd is not None and nd < t:
                t = nd
            if t >= duration and (t >= stop_at or open_ == 0 or not drain) and not hooked:
                break
            hooked = False
            if router.version != ver:  # reconfigured between two steps
                ver = router.version
                targets = {q.name: q.answer_target_s for q in router.config.queues}
                retargeted = True
                self._reconfigured()
                schedules = self._schedules  # the hours in force
            while next_sample <= t and next_sample < stop_at:
                sample(tl, next_sample)
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
                item = pop(heap)  # unpacked by index: no float or int boxed to be dropped
                kind = item[2]
                p = item[3]
                n_sim += 1
                if kind == _ARRIVAL:
                    n_inq += 1
                    iid = str(n_inq)
                    # a Poisson stream is the compiled ``Stream``: read through a variable of
                    # that type, its fields are native reads (through ``p``, typed Any, each
                    # is a generic attribute lookup); a replayed day's ``CsvStream`` offers
                    # the same interface and is read as before
                    poisson = type(p) is Stream
                    if poisson:
                        st: Stream = p
                        rng: random.Random = st.rng
                        si: int = st.index
                        queue: str = st.queue
                        rec = InquiryRec(t, si, queue, st.handle(rng), st.heavy)
                        pat: Sampler | None = st.patience
                        fixed: dict[str, Any] = st.fixed
                    else:
                        rng = p.rng
                        si = p.index
                        queue = p.queue
                        rec = InquiryRec(t, si, queue, p.handle(rng), p.heavy)
                        pat = p.patience
                        fixed = p.fixed
                    if redirect and queue in redirect:  # its queue was removed mid-run
                        queue = self._arrival_elsewhere(rec, t)
                    recs[iid] = rec
                    inquiries.append(rec)
                    open_ += 1
                    share = returning[si]
                    if not queue:
                        open_ -= 1  # rejected: its queue was removed with nowhere to go
                    elif share > 0 and served[si] and ret_rng.random() < share:
                        # a returning customer: prefers the agent who served an earlier one
                        history = served[si]
                        aid = history[int(ret_rng.random() * len(history))]
                        rec.preferred = aid
                        fields = dict(fixed)
                        fields["preferred_agents"] = [aid, *fields.get("preferred_agents", ())]
                        if pat is not None:
                            fields["patience_s"] = pat(rng)
                        router.submit(Inquiry(id=iid, queue=queue, **fields), t)
                    elif fixed:
                        if pat is None:
                            router.submit(Inquiry(id=iid, queue=queue, **fixed), t)
                        else:
                            router.submit(
                                Inquiry(id=iid, queue=queue, patience_s=pat(rng), **fixed), t
                            )
                    elif pat is None:  # no fixed fields: a plain call, no keyword dict to build
                        router.submit(Inquiry(id=iid, queue=queue), t)
                    else:
                        router.submit(Inquiry(id=iid, queue=queue, patience_s=pat(rng)), t)
                    nxt = st.next_after(t) if poisson else p.next_after(t)
                    if nxt is not None and nxt < duration:
                        sq += 1
                        push(heap, (nxt, sq, _ARRIVAL, p))
                elif kind == _COMPLETE:
                    rec = recs[p]
                    if rec.done != item[1]:
                        continue  # called off: the work was transferred or handed back
                    rec.done = 0
                    if handing_back and self._hands_back(p, t):
                        continue  # its Requeued(handed_back) opens it again
                    try:
                        router.complete(p, t)
                    except UsageError:
                        self._anomaly("complete_refused")
                elif kind == _ACCEPT:
                    # typed: a native unbox of the tuple (through Any, an iterator to unpack);
                    # the records ride along (no lookup of the inquiry's or the agent's)
                    acc: tuple[InquiryRec, str, int, AgentRec] = p
                    rec, iid, no, a = acc
                    aid = a.id
                    if (
                        rec.offer_no == no
                        and rec.outcome == OPEN
                        and self._holds(rec, aid)
                        and t < a.drop_at  # a console that dropped answers nothing
                    ):
                        if rec.accepted_by is not None:
                            res.lost_races += 1  # another agent of the ring answered first
                            continue
                        try:
                            if rec.reach:
                                router.accept(iid, t, aid)
                                rec.accepted_by = aid
                            else:  # the agent's call for this callback found nobody
                                self._release(rec, t)
                                router.callback_failed(iid, t)
                        except UsageError:
                            self._anomaly("accept_refused")
                elif kind == _DECLINE:
                    dec: tuple[InquiryRec, str, int, AgentRec] = p
                    rec, iid, no, a = dec
                    if (
                        rec.offer_no == no
                        and rec.outcome == OPEN
                        and rec.accepted_by is None
                        and self._holds(rec, a.id)
                        and t < a.drop_at
                    ):
                        try:
                            router.decline(iid, t, a.id)
                        except UsageError:
                            self._anomaly("decline_refused")
                            continue
                        res.declines[rec] = res.declines.get(rec, 0) + 1
                elif kind == _BACK:
                    back: tuple[AgentRec, tuple[str, float]] = p
                    a, why = back
                    if away.get(a.id) == why and a.logout_at is None:
                        if t >= a.drop_at:  # a silent console sends nothing: back with it
                            self._due_on_console[a.id] = why
                        else:
                            self._set_ready(a, t)
                elif kind == _CONSOLE:
                    if self._console_returns(p, t):  # its heartbeats start again: one now
                        sq += 1
                        push(heap, (t, sq, _HEARTBEAT, p))
                elif kind == _LOGIN:
                    router.login(p, t)
                elif kind == _HEARTBEAT:
                    a = p
                    if a.logout_at is None and t < a.drop_at:
                        try:
                            router.heartbeat(a.id, t)
                        except UsageError:  # logged out at this instant: no more beats
                            continue
                        assert beat_s is not None
                        sq += 1
                        push(heap, (t + beat_s, sq, _HEARTBEAT, a))
                    elif a.logout_at is None:
                        self._beats_stopped.add(a.id)  # its console dropped
            events: list[Any] = tick(t) if wrapped else router.tick(t)
            n_core += len(events)
            breaks_changed = False
            for e in events:
                cls = type(e)
                ek = event_kind.get(cls, 0)
                if ek == _E_QUEUED:
                    rec = recs[e.inquiry_id]
                    if rec.ewt is None:
                        rec.ewt = e.expected_wait_s
                elif ek == _E_ASSIGNED:
                    iid = e.inquiry_id
                    rec = recs[iid]
                    if rec.callback and rec.holder is None and cb_rng.random() >= reach:
                        # immediate mode: this callback attempt did not reach the customer
                        router.callback_failed(iid, t)
                        sq += 1
                        push(heap, (t, sq, _WAKE, None))
                        continue
                    a = agents[e.agent_id]
                    if retargeted:
                        rec.target = targets.get(e.queue)
                    if rec.outcome == OPEN:
                        rec.outcome = ANSWERED
                        rec.answered_at = t
                        rec.by = a.group
                        rec.agent_id = a.id
                        a.handled += 1
                        if keep_served[rec.stream]:
                            served[rec.stream].append(a.id)
                        open_ -= 1
                        if rec.decided_at is None:
                            rec.decided_at = t
                        if rec.callback:
                            callbacks_open.pop(iid, None)
                        if res.handbacks and self._awaits_answer(rec):
                            # answered again after a hand-back: this answer is the one
                            # that counts (as in the core's figures), from the same arrival
                            res.handbacks[rec][1] += 1
                    else:
                        self._anomaly("assigned_after_outcome")
                    if schedules and e.queue in schedules and not schedules[e.queue].is_open(t):
                        res.closed_answered.append(rec)
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
                    rec.done = sq
                    push(heap, (t + rec.handle, sq, _COMPLETE, iid))
                elif ek == _E_COMPLETED:
                    rec = recs[e.inquiry_id]
                    if rec.heavy:
                        a = agents[e.agent_id]
                        a.heavy_open -= 1
                        a.last_heavy_end = t
                        if rec.handle >= LONG_HEAVY_S:
                            a.long_heavy_end = t
                    if e.wrap_up_until <= t:
                        self._release(rec, t)
                elif ek == _E_OFFERED:
                    iid = e.inquiry_id
                    rec = recs[iid]
                    if rec.decided_at is None:
                        rec.decided_at = t
                    a = agents[e.agent_id]
                    if t >= a.drop_at:
                        res.presence["offers_after_drop"] += 1
                    if (
                        rec.holder is not None
                        and rec.ring_expires == e.expires_at
                        and rec.hold_from == t
                    ):
                        self._acquire_also(rec, a, t)  # one more agent of the same offer
                    else:
                        if rec.holder is not None:
                            self._release(rec, t)
                        self._acquire(rec, a, e.queue, t)
                        rec.ring_expires = e.expires_at
                        rec.accepted_by = None
                        if rec.callback:
                            rec.reach = cb_rng.random() < reach
                        rec.offer_no += 1
                    if own_no_answer and a.group in own_no_answer:
                        share = own_no_answer[a.group]  # its group's own: its own stream
                        if share > 0 and na_rng.random() < share:
                            continue  # this agent never answers: the offer expires
                    elif no_answer and ans_rng.random() < no_answer:
                        continue  # this agent never answers: the offer expires
                    delay = accept_delay if answer is None else answer(ans_rng)
                    sq += 1
                    if declining and dec_rng.random() < decline_share.get(a.group, 0.0):
                        push(heap, (t + delay, sq, _DECLINE, (rec, iid, rec.offer_no, a)))
                        continue
                    push(heap, (t + delay, sq, _ACCEPT, (rec, iid, rec.offer_no, a)))
                elif ek in (_E_OFFER_EXPIRED, _E_OFFER_GONE):
                    if ek == _E_OFFER_EXPIRED and t >= agents[e.agent_id].drop_at:
                        res.presence["expired_after_drop"] += 1
                    self._drop(recs[e.inquiry_id], e.agent_id, t)
                elif ek == _E_RELEASED:
                    self._release(recs[e.inquiry_id], t)
                elif ek == _E_REQUEUED:
                    rec = recs[e.inquiry_id]
                    if e.reason == "handed_back":
                        open_ += self._handed_back(rec, e.inquiry_id, t)
                    self._release(rec, t)
                elif ek == _E_ABANDONED:
                    open_ -= self._finish(e.inquiry_id, ABANDONED, t)
                elif ek == _E_REJECTED:
                    if e.reason == "closed":
                        res.closed_outcomes.append(recs[e.inquiry_id])
                    open_ -= self._finish(e.inquiry_id, REJECTED, t)
                elif ek == _E_DEFLECTED:
                    if e.reason == "closed":
                        res.closed_outcomes.append(recs[e.inquiry_id])
                    open_ -= self._finish(e.inquiry_id, DEFLECTED, t)
                elif ek == _E_TASK_EXPIRED:
                    open_ -= self._finish(e.inquiry_id, EXPIRED, t)
                elif ek == _E_CALLBACK:
                    rec = recs[e.inquiry_id]
                    rec.callback = True
                    if e.reason == "closed":
                        res.closed_outcomes.append(rec)
                    if rec.outcome == OPEN:
                        callbacks_open[e.inquiry_id] = rec
                elif ek == _E_OVERFLOWED:
                    rec = recs[e.inquiry_id]
                    if rec.path is None:
                        rec.path = [e.to_queue]
                    else:
                        rec.path.append(e.to_queue)
                elif ek == _E_LOGGED_IN:
                    a = agents[e.agent_id]
                    a.login_at = t
                    if beat_s is not None:
                        sq += 1
                        push(heap, (t + beat_s, sq, _HEARTBEAT, a))
                    self._shift_change(a, True, t)
                    breaks_changed = True
                elif ek == _E_LOGGED_OUT:
                    a = agents[e.agent_id]
                    if away:
                        away.pop(a.id, None)
                    self._break_missed(a, t)
                    a.logout_at = t
                    self._shift_change(a, False, t)
                    self._break_change(a, False)
                    breaks_changed = True
                elif ek == _E_AWAY:
                    a = agents[e.agent_id]
                    if away:
                        away.pop(a.id, None)
                    if e.reason in ("shift_end", "off_shift"):
                        self._break_missed(a, t)
                    self._break_change(a, False)
                    if e.reason == "presence_timeout":
                        res.presence["timeouts"] += 1
                        res.away["presence_timeout"][0] += 1
                        if a.group in self._console_back:  # back with its console
                            away[a.id] = ("presence_timeout", t)
                    elif e.reason == "off_shift":  # logged in, between two shifts
                        self._shift_change(a, False, t)
                        breaks_changed = True
                    elif e.reason == "shift_end":
                        router.logout(e.agent_id, t)
                        sq += 1
                        push(heap, (t, sq, _WAKE, None))
                    elif e.reason in away_s:  # max_declines, max_no_answer
                        res.away[e.reason][0] += 1
                        after = away_s[e.reason].get(a.group)
                        if after is not None:
                            why = (e.reason, t)
                            away[a.id] = why
                            sq += 1
                            push(heap, (t + after, sq, _BACK, (a, why)))
                elif ek == _E_ON_BREAK:
                    # a wellbeing break starts when the work in flight is done (until set);
                    # before that the agent only stops taking new work
                    started = e.until is not None or e.reason != "wellbeing"
                    a = agents[e.agent_id]
                    if away:
                        away.pop(a.id, None)
                    if e.reason == "wellbeing":
                        self._rested(a, t)
                        if a.break_due == _INF:
                            a.break_due = t  # due now (the core's timer fired at the limit)
                        if started:  # (a drained break may start before it fell due: 0)
                            res.break_late.append((a.group, max(0.0, t - a.break_due)))
                            a.break_due = _INF
                    if started and self._break_change(a, True):
                        breaks_changed = True
                        if e.reason == "wellbeing":
                            res.wellbeing_breaks += 1
                elif ek == _E_READY:
                    a = agents[e.agent_id]
                    if away:
                        away.pop(a.id, None)
                    if self._break_change(a, False):
                        breaks_changed = True
                    if not a.on_shift:  # a shift starts
                        self._shift_change(a, True, t)
                        breaks_changed = True
                elif ek == _E_SURGE_STARTED:
                    self._in_surge = True
                    res.surge_windows.append([t, _INF])
                elif ek == _E_SURGE_ENDED:
                    self._in_surge = False
                    if res.surge_windows and res.surge_windows[-1][1] == _INF:
                        res.surge_windows[-1][1] = t
                elif ek == _E_BREAK_DEFERRED:
                    a = agents[e.agent_id]
                    if e.due < a.break_due:
                        a.break_due = e.due
                    other["BreakDeferred"] = other.get("BreakDeferred", 0) + 1
                elif ek == _E_DRAINING:
                    # drain_for_break: the notice just before was given early; due at e.due
                    agents[e.agent_id].break_due = e.due
                    other["AgentDraining"] = other.get("AgentDraining", 0) + 1
                elif ek == _E_TRANSFERRED:
                    rec = recs[e.inquiry_id]
                    if e.agent_id is not None:
                        # taken off its agent (Router._leave_agent, no Completed): an offer's
                        # slot is given back; assigned work ends unfinished and its answer
                        # is taken back (the core's _unanswer): it is answered when an agent
                        # takes it again
                        if rec.done:
                            self._work_off(rec, t)
                            open_ += self._reopen(rec, e.inquiry_id)
                        self._release(rec, t)
                    if rec.path is None:  # followed into its new queue, as an overflow
                        rec.path = [e.to_queue]
                    else:
                        rec.path.append(e.to_queue)
                    # the core's rule (Router.transfer): into a heavy queue the inquiry
                    # becomes heavy; a heavy one stays heavy (after its work above ended).
                    # The queue's flag as it was then: the event's config version (a hook
                    # may have reconfigured since the transfer, before this tick)
                    flags = self._heavy_at.get(e.version, self._heavy_q)
                    if flags.get(e.to_queue, False):
                        rec.heavy = True
                    other["Transferred"] = other.get("Transferred", 0) + 1
                else:
                    name = cls.__name__
                    other[name] = other.get(name, 0) + 1
            if breaks_changed:
                self._note_breaks()
            if on_event is not None:
                # the drain's last step (every caller has an outcome): an input the hook
                # makes now (a hand-back, a transfer) is taken by one more step, its tick's
                # events followed, instead of being lost with the run's end
                last = drain and open_ == 0 and duration <= t < stop_at
                pending = last and self._pending_at(t)
                for e in events:
                    if not on_event(e):
                        stopped = True
                        break
                if stopped:
                    break
                hooked = last and not pending and self._pending_at(t)
        wall = time.perf_counter() - wall0
        # close the ledgers (busy time is clipped to the measured window anyway)
        close = max(router.now, duration)
        for rec in inquiries:
            if rec.holder is not None:
                self._release(rec, close)
        res.end_time = router.now
        if router.version != ver:  # reconfigured by the last step's hook
            self._reconfigured()
        for a in self.result.agents:  # breaks still waiting when the run ended
            self._break_missed(a, res.end_time)
        if not tl["t"] or tl["t"][-1] < res.end_time:
            sample(tl, res.end_time)  # the last point: where the run (or its drain) ended
        res.counters = msgspec.structs.asdict(router.counters)
        res.events_by_type = other
        res.sim_events = n_sim + n_core
        res.wall_s = wall
        res.timeline = tl
        if progress is not None and wall >= 1.0:
            progress(f"sim done: {n_inq:,} arrivals in {wall:.1f}s wall")
        return res

    def _pending_at(self, t: float) -> bool:
        """The router has input at ``t`` not yet taken by a tick (its matching pass is
        pending: :meth:`Router.next_deadline` says now; any deadline due by ``t`` fired)."""
        nd = self.router.next_deadline()
        return nd is not None and nd <= t

    def _set_ready(self, a: AgentRec, t: float) -> None:
        """An agent away for what it did sets itself ready (its reason's return)."""
        why = self._away.pop(a.id)
        self._due_on_console.pop(a.id, None)
        try:
            self.router.set_ready(a.id, t)
        except UsageError:
            self._anomaly("set_ready_refused")
            return
        self.result.away[why[0]][1] += 1

    def _console_returns(self, a: AgentRec, t: float) -> bool:
        """``console_back_s``: the agent's console answers again; if the core set it away
        meanwhile for a presence timeout, or its return from another away fell while the
        console was silent, it sets itself ready. Returns True if its heartbeats, stopped
        by the drop, are to start again (the caller schedules one now)."""
        a.drop_at = _INF
        if a.logout_at is not None:
            return False
        why = self._away.get(a.id)
        if why is not None and (
            why[0] == "presence_timeout" or self._due_on_console.get(a.id) == why
        ):
            self._set_ready(a, t)
        if a.id in self._beats_stopped:
            self._beats_stopped.discard(a.id)
            return True
        return False

    def _rested(self, a: AgentRec, t: float) -> None:
        """Idle (holding nothing) as long as a break: the core counts that as one, and a
        break that was due is no longer (``Guardrails.check``, ``Router._assign``)."""
        if a.break_due < _INF and a.held == 0 and t - a.idle_from >= self._break_s:
            a.break_due = _INF

    def _break_missed(self, a: AgentRec, t: float) -> None:
        """The agent leaves (or the run ends) with its wellbeing break due and not taken."""
        self._rested(a, t)
        if a.break_due > t:  # a drain ended before the break fell due: nothing missed
            a.break_due = _INF
        if a.break_due < _INF:
            self.result.break_late.append((a.group, t - a.break_due))
            self.result.breaks_missed += 1
            a.break_due = _INF

    def _hands_back(self, iid: str, t: float) -> bool:
        """At the end of its work, the agent hands ``iid`` back with its group's share."""
        rec = self._recs[iid]
        a = rec.holder
        if a is None or self._handback_rng.random() >= self._handback_share.get(a.group, 0.0):
            return False
        try:
            self.router.hand_back(iid, t)
        except UsageError:
            self._anomaly("hand_back_refused")
            return False
        return True

    def _work_off(self, rec: InquiryRec, t: float) -> None:
        """The assigned ``rec``'s work ends unfinished (a transfer, a hand-back): its
        completion is called off, and a heavy call's work in progress ends (the core's
        ``_work_ended``: the agent's heavy run goes on from here as after a completion)."""
        rec.done = 0
        a = rec.holder
        if rec.heavy and a is not None:
            a.heavy_open -= 1
            a.last_heavy_end = t

    def _handed_back(self, rec: InquiryRec, iid: str, t: float) -> int:
        """A ``Requeued(handed_back)`` (the group's share, :meth:`_hands_back`, or a hook's):
        the work ends unfinished (its completion, if still scheduled, is called off) and
        the answer is taken back (:meth:`_reopen`); counted as a hand-back. Returns 1 if it
        was answered (open again until whatever ends it next), else 0."""
        self._work_off(rec, t)
        if not self._reopen(rec, iid):
            return 0
        self.result.handbacks.setdefault(rec, [0, 0])[0] += 1
        return 1

    def _reopen(self, rec: InquiryRec, iid: str) -> int:
        """Take an answered ``rec``'s answer back, as the core's ``_unanswer`` (assigned work
        transferred or handed back): it is open again, and its one outcome is whatever ends
        it next (an answer counts from its arrival, for the agent who gave it). What the
        answer counted goes with it: the agent's ``handled``, its entry in the returning
        customers' history (one per answered call, so a returning customer's preferred
        agent is drawn as before the answer) and an answer while its queue was closed.
        Returns 1 if it was answered (open now), else 0."""
        if rec.outcome != ANSWERED:
            return 0
        rec.outcome = OPEN
        aid = rec.agent_id
        self._agents[aid].handled -= 1
        history = self._served[rec.stream]
        for i in range(len(history) - 1, -1, -1):
            if history[i] == aid:  # (any entry of the agent: the same draws' odds)
                history[i] = history[-1]
                history.pop()
                break
        closed = self.result.closed_answered  # in the order of answers: look back only
        for i in range(len(closed) - 1, -1, -1):  # to those since this one
            if closed[i] is rec:
                del closed[i]
                break
            if closed[i].answered_at < rec.answered_at:
                break
        if rec.callback:
            self._callbacks_open[iid] = rec
        return 1

    def _awaits_answer(self, rec: InquiryRec) -> bool:
        """Handed back more often than answered again since."""
        counts = self.result.handbacks.get(rec) if self.result.handbacks else None
        return counts is not None and counts[1] < counts[0]

    def _finish(self, iid: str, outcome: int, t: float) -> int:
        """Record a final outcome; returns 1 if the inquiry was still open."""
        rec = self._recs[iid]
        if rec.holder is not None:
            self._release(rec, t)
        if rec.outcome == OPEN:
            rec.outcome = outcome
            if rec.callback:
                self._callbacks_open.pop(iid, None)
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
    force: bool = False,
) -> SimResult:
    """Run ``scenario`` once and return the raw :class:`SimResult`."""
    return Simulator(
        scenario,
        seed=seed,
        load=load,
        duration_s=duration_s,
        progress=progress,
        on_event=on_event,
        force=force,
    ).run()
