"""The glue between the backpressure policies and the core: arrivals, timers, snapshot state.

Theory of operation
-------------------
:class:`AdmissionControl` is owned by the :class:`~router.core.Router` and sees
it only through the core operations (``router/state/ops.py``). For each
arrival it computes the position and expected wait, runs the configured chain
(``router/policies/admission.py``) and acts on the verdicts; after every
matching pass it runs the time-driven measures (surge detection, CoDel,
outbound release). It is the policies' :class:`AdmissionView` and
:class:`PolicyContext`.

When no policy can act on an arrival (``plain``: an empty chain, no hours of
operation, no outbound work, no shedding index; ``plain_in_surge``: nor surge
mode's relaxation or callbacks), ``Router._submit`` admits it itself, with
:meth:`AdmissionControl.arrival_wait` given the inputs the core holds, instead
of a round trip through :meth:`AdmissionControl.submit` and the core
operations: the same estimate, counters and events (``tests/test_plain_admission.py``).

Stateful pieces (token buckets, CoDel state, the shedding index, surge state,
parked callbacks, held outbound tasks, estimator rates, policy timers) go into
the snapshot through :meth:`AdmissionControl.dump` / :meth:`AdmissionControl.load`.
"""

from __future__ import annotations

import math
import warnings
from heapq import heapify, heappop, heappush
from typing import Any, Final, Literal, final

from router._build import is_compiled
from router.config import RouterConfig
from router.events import Deflected, Event, Overflowed, Queued, Rejected
from router.model import Admission
from router.policies.admission import (
    T_CODEL,
    T_DEADLINE,
    T_OVERFLOW,
    T_RETRY,
    T_SURGE,
    AdmissionPolicy,
    AdmitAll,
    Arrival,
    CallbackOffer,
    Codel,
    Overflow,
    ShedLowestPriority,
    _Bounds,
    build_policies,
)
from router.policies.callbacks import Callbacks
from router.policies.hours import T_HOURS, Hours
from router.policies.outbound import Outbound
from router.policies.surge import SurgeControl
from router.policies.timers import NamedTimer, NamedTimers
from router.state.ops import CoreOps
from router.state.records import (
    OFFERED,
    PARKED,
    WAITING,
    Pool,
    QueueState,
    Ticket,
    agent_room,
    pool_slots,
)

__all__ = ["AdmissionControl", "admitted", "queued"]

_INF: Final = math.inf
#: the most places an arrival's wait counts in the room of a pool's listed agents (chat)
_ROOM_NEED: Final = 64
# what every plain arrival builds (queued, admitted), as this module's Finals: compiled, a
# class imported from another module is a module-dict lookup per use
_Queued: Final = Queued
_Admission: Final = Admission


@final
class AdmissionControl:
    """Runs the chain for each arrival and every time-driven backpressure measure."""

    def __init__(self, ops: CoreOps) -> None:
        self.ops = ops
        self.estimator = ops.estimator  # the core's one estimator, for its whole life
        self.chain: list[AdmissionPolicy] = []
        self.timers = NamedTimers(ops)
        self.callbacks = Callbacks(ops)
        self.surge = SurgeControl(ops, self.timers)
        self.outbound = Outbound(ops, self.surge)
        self.hours = Hours(ops, self.timers, self.callbacks)
        self.active = False
        self._shed_q: dict[str, list[tuple[int, int, int, Ticket]]] = {}
        self._shed_all: list[tuple[int, int, int, Ticket]] = []
        self._shed_k = 0
        self._shed_on = False
        self._on_admitted: list[AdmissionPolicy] = []
        self._on_check: list[AdmissionPolicy] = []
        self._overflow: Overflow | None = None
        self._codel: Codel | None = None
        self._bounds: _Bounds | None = None
        self._queue_names: list[str] = []
        self._warned: set[str] = set()  # deprecated names a custom policy called (once each)
        #: no policy can act on an arrival (none in the chain, no hours, no outbound work,
        #: no shedding index), out of surge and in it: ``Router._submit`` then admits it
        #: itself, with the same estimate, counters and events as :meth:`submit`
        self.plain = True
        self.plain_in_surge = True

    # ------------------------------------------------------------------ config

    def configure(self, cfg: RouterConfig, built: list[AdmissionPolicy] | None = None) -> None:
        """(Re)build the chain from ``cfg`` (or take ``built``, :func:`build_policies` of it,
        made before anything changed), keeping the state of policies that stay."""
        old = {p.name: p for p in self.chain}
        chain = build_policies(cfg) if built is None else built
        for p in chain:
            prev = old.get(p.name)
            state = prev.dump() if prev is not None else None
            if state is not None:
                p.load(state)
        self.chain = [p for p in chain if not isinstance(p, AdmitAll)]  # no-ops cost nothing
        self._on_admitted = [p for p in chain if p.has_on_admitted]
        self._on_check = [p for p in chain if p.has_on_check]
        self._overflow = next((p for p in chain if isinstance(p, Overflow)), None)
        self._codel = next((p for p in chain if isinstance(p, Codel)), None)
        self._bounds = _Bounds(cfg)
        self._queue_names = [q.name for q in cfg.queues]
        shed = any(isinstance(p, ShedLowestPriority) for p in chain)
        if shed and not self._shed_on:
            self._rebuild_shed_index()
        self._shed_on = shed
        bp = cfg.backpressure
        est = self.ops.estimator
        est.alpha = bp.estimate.alpha
        est.prior_handle_s = bp.estimate.prior_handle_s
        est.arrival_window_s = bp.estimate.arrival_window_s
        self.callbacks.configure(cfg)
        in_chain = next((p for p in chain if isinstance(p, CallbackOffer)), None)
        if in_chain is not None:
            self.callbacks.policy = in_chain  # surge then adds nothing: it already runs
        self.outbound.configure(cfg)
        self.surge.configure(cfg)
        self.hours.configure(cfg)
        self.active = bool(self._on_check) or self.surge.enabled or self.outbound.enabled
        self.plain = not (
            self.chain
            or self._on_admitted
            or self._shed_on
            or self.hours.schedules
            or self.outbound.enabled
        )
        surge = self.surge
        self.plain_in_surge = (
            self.plain
            and not surge.relax
            and not (surge.callbacks and self.callbacks.policy is not None)
        )

    # ------------------------------------------------------------------ the view

    @property
    def now(self) -> float:
        return self.ops.now

    def places_held(self, queue: str) -> int:
        """Places held in ``queue``, what its ``max_queue`` bounds: its line (callbacks
        holding their place in line included) plus callbacks between two attempts. 0 for
        a queue the config does not have."""
        n = self.line_length(queue)
        cb = self.callbacks
        return n + cb.retrying_in.get(queue, 0) if cb.retrying else n

    def line_length(self, queue: str) -> int:
        """The inquiries in ``queue``'s line, callbacks holding their place there included,
        callbacks between two attempts not: ``Router.queue_length``'s figure. 0 for a
        queue the config does not have."""
        q = self.ops.queue(queue)
        return q.n_waiting if q is not None else 0

    def total_places_held(self) -> int:
        """Places held in the router (:meth:`places_held` over every queue)."""
        return self.ops.total_waiting() + len(self.callbacks.retrying)

    def queue_length(self, queue: str) -> int:
        """Deprecated name of :meth:`places_held` (the same figure: callbacks between two
        attempts counted, unlike ``Router.queue_length``); kept for custom policies, with a
        ``DeprecationWarning`` the first time. Use :meth:`places_held` for a bound,
        :meth:`line_length` for ``Router.queue_length``'s figure."""
        self._deprecated("queue_length", "places_held (or line_length: the line only)")
        return self.places_held(queue)

    def total_waiting(self) -> int:
        """Deprecated name of :meth:`total_places_held` (callbacks between two attempts
        counted, unlike ``Router.total_waiting``); kept, warned once like
        :meth:`queue_length`."""
        self._deprecated("total_waiting", "total_places_held")
        return self.total_places_held()

    def _deprecated(self, name: str, use: str) -> None:
        """Warn once about the old ``name``, at the line that called it: pure, two frames
        up (this method's, the old name's); compiled, the caller's is the top frame (a
        native call has none)."""
        if name not in self._warned:
            self._warned.add(name)
            warnings.warn(
                f"AdmissionView.{name} is deprecated: it counts callbacks between two "
                f"attempts, unlike Router.{name}; use {use} (docs/backpressure.md)",
                DeprecationWarning,
                stacklevel=1 if is_compiled("router.policies.control") else 3,
            )

    def live_waiting(self) -> int:
        """Callers waiting on the line (callbacks apart)."""
        return self.ops.total_waiting() - self.ops.callbacks_waiting()

    def callbacks_held(self) -> int:
        """Callbacks holding a place: in line, or between two attempts."""
        return self.ops.callbacks_waiting() + len(self.callbacks.retrying)

    def lower_priority_held(self, priority: int) -> bool:
        """Whether some inquiry of a priority below ``priority`` holds a place in line."""
        ops = self.ops
        for name in self._queue_names:
            q = ops.queue(name)
            if q is not None and q.n_waiting:
                for p, c in q.waiting_by_priority.items():
                    if c.n and p < priority:
                        return True
        return False

    def expected_wait(self, queue: str, position: int) -> float:
        return self.ops.estimator.expected_wait(queue, position)

    def has_room(self, queue: str) -> bool:
        """False while ``queue`` or the router is at a configured ``max_queue``."""
        b = self._bounds
        assert b is not None
        limit = b.per_queue.get(queue)
        if limit is not None and self.places_held(queue) >= limit:
            return False
        return b.global_max is None or self.live_waiting() < b.global_max

    def head_of_line(self, queue: str) -> Ticket | None:
        """The waiting inquiry of ``queue`` that is next in line."""
        q = self.ops.queue(queue)
        return q.head_of_line() if q is not None else None

    def is_callback(self, t: Ticket) -> bool:
        return self.callbacks.is_callback(t)

    # ------------------------------------------------------------------ arrivals

    def estimate(self, t: Ticket, pool: Pool) -> tuple[int, float]:
        """Position (1 = next) and expected wait of a new arrival ``t`` in ``pool``."""
        ops = self.ops
        position = ops.position(t.terms.queue, t.terms.priority)
        changes = ops.staffing_changes(pool)  # agents scheduled to come or go
        # (whether a matching pass is pending matters only to a pool with a line)
        pending = bool(pool.n_waiting) and ops.match_pending()
        wait = self.arrival_wait(t, pool, position, changes, pending, ops.now, ops.priority_seconds)
        return position, wait

    def arrival_wait(
        self,
        t: Ticket,
        pool: Pool,
        position: int,
        changes: list[tuple[float, int]],
        pending: bool,
        now: float,
        priority_seconds: float,
    ) -> float:
        """Expected wait of a new arrival ``t`` at ``position`` in ``pool``, from what the
        core reads for it: the announced staffing ``changes``, whether a matching pass is
        ``pending``, the time and ``priority_seconds`` (:meth:`estimate` reads them through
        the core operations; ``Router._submit`` passes its own when no policy can act)."""
        staff = pool.eligible
        if staff == 0 and not changes:
            return _INF
        free = 0
        if staff and (not pool.n_waiting or pending):
            # after a matching pass nobody free fits a pool that still has a line
            need = position if position < 8 else 8  # they take the first in line
            n = pool.n_listed  # free_agents(pool, need), inline: once per arrival
            free = n if n < need else need
            if free < position and n and pool.slots > staff:
                # more slots than agents (chat): count the listed agents' room, a bounded
                # look at the pool's heap (``Router._listed_room``), to the arrival's place
                free = self.ops.listed_room(pool, position if position < _ROOM_NEED else _ROOM_NEED)
            if free < need:
                free = self._freed_fit(pool, need, free)
            if free >= position:
                return 0.0
        q = t.terms.queue
        est = self.estimator
        # the estimator's record of q as the core holds it (``QueueState.est``; asked by name
        # only when the core has none yet or it was dropped): three lookups by name less
        r = q.est
        if r is None or r.dropped:
            r = est.record(q.name)
        if r is not None and t.terms.step == 0 and t.extra is None and pool.tenant == q.tenant:
            est.rescale(r, float(staff), now)  # the queue's own pool: its staffing (restaff)
        slots = 1.0 if r is not None and r.has_gap else pool_slots(pool)  # q.name in est.gap
        n = q.n_waiting
        return est.wait(
            r,
            position - free,
            t.terms.priority,
            priority_seconds,
            slots,
            float(staff),
            changes,
            now,
            1.0 - q.n_callbacks / n if n else 1.0,
        )

    def _freed_fit(self, pool: Pool, need: int, n: int) -> int:
        """The ``n`` places free in ``pool`` plus those of the agents freed since the last
        matching pass who could take an inquiry of it now, each its room (its cap on the
        channel less its load: a chat agent frees several; a bounded look), counting stops
        at ``need``."""
        can_take = self.ops.can_take
        for i, agent in enumerate(self.ops.freed_agents()):
            if i >= 64:
                break
            if any(p is pool for p, _, _ in agent.pools) and can_take(agent, pool):
                n += agent_room(agent, pool)
                if n >= need:
                    break
        return n

    def submit(self, t: Ticket, pool: Pool) -> Admission:
        """Decide on an arrival (already validated by the core) and act on the verdict."""
        ops = self.ops
        q = t.terms.queue
        if self.hours.schedules and self.hours.closed_now(q):
            return self.hours.arrival(t)
        if self.outbound.enabled and q.name in self.outbound.queues:
            return self.outbound.hold(t)
        surge = ops.in_surge
        if surge and self.surge.relax and q.steps:
            t.step = len(q.steps)
            pool = ops.pool_for(t)
        position, ewt = self.estimate(t, pool)
        chain = self.chain
        extra = self.callbacks.policy
        if surge and self.surge.callbacks and extra is not None and extra not in chain:
            chain = [extra, *chain]
        if not chain:  # the fast path: admit
            ops.counters.submitted += 1
            self._in_line(t, pool, position, ewt)
            return admitted(t, position, ewt)
        return self._judge(t, pool, position, ewt, chain)

    def _judge(
        self, t: Ticket, pool: Pool, position: int, ewt: float, chain: list[AdmissionPolicy]
    ) -> Admission:
        """Run the chain on an arrival and act on the verdicts."""
        ops = self.ops
        c = ops.counters
        q = t.terms.queue
        callback = ""
        victims: list[tuple[str, str]] = []
        moves: list[tuple[str, str, str]] = []
        reason = ""
        arrival = Arrival(t.id, q.name, t.terms.tenant, t.terms.priority, position, ewt, ops.now)
        for policy in chain:
            v = policy.on_arrival(self, arrival)
            if v is None:
                continue
            kind = v.outcome
            if kind == "shed":
                victims.append((v.target, v.reason))
                continue
            if kind == "overflow":
                moves.append((q.name, v.target, v.reason))
                reason = f"overflow: {v.reason}"
                target = ops.queue(v.target)
                assert target is not None  # the config checks name every overflow target
                q = t.queue = target
                t.step = len(q.steps) if self.surge.relax_now else 0  # its new queue's steps
                pool = ops.pool_for(t)
                position, ewt = self.estimate(t, pool)
                arrival.queue = q.name
                arrival.position = position
                arrival.expected_wait_s = ewt
                continue
            if kind == "blocked":
                c.blocked += 1
                return Admission(
                    inquiry_id=t.id,
                    queue=q.name,
                    outcome="blocked",
                    expected_wait_s=ewt,
                    reason=v.reason,
                )
            if kind == "callback":  # takes effect if no later policy refuses
                callback = callback or v.reason
                arrival.callback = True
                continue
            # rejected / deflected: the one outcome of this arrival
            c.submitted += 1
            self._overflow_events(t, moves)
            refused: Literal["rejected", "deflected"] = (
                "deflected" if kind == "deflected" else "rejected"
            )
            if refused == "deflected":
                c.deflected += 1
            else:
                c.rejected += 1
            cls = Deflected if refused == "deflected" else Rejected
            ops.emit(
                cls(at=ops.now, version=ops.version, inquiry_id=t.id, queue=q.name, reason=v.reason)
            )
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome=refused,
                expected_wait_s=ewt,
                position=position,
                reason=v.reason,
            )
        c.submitted += 1
        self._overflow_events(t, moves)
        for vid, vreason in victims:
            victim = ops.ticket(vid)
            if victim is not None and victim.state == WAITING:
                c.shed += 1
                self.refuse_waiting(victim, "rejected", vreason)
        if callback:
            t.patience_at = None  # the customer hung up: no abandonment while parked
            t.callback = True  # counted apart from callers on the line
        self._in_line(t, pool, position, ewt, callback=bool(callback))
        if callback:
            self.callbacks.park(t, ewt)
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome="callback",
                expected_wait_s=ewt,
                position=position,
                reason=callback,
            )
        return Admission(
            inquiry_id=t.id,
            queue=q.name,
            outcome="admitted",
            expected_wait_s=ewt,
            position=position,
            reason=reason,
        )

    def _in_line(
        self, t: Ticket, pool: Pool, position: int, ewt: float, callback: bool = False
    ) -> None:
        """An admitted arrival takes its place in ``pool``, with its ``Queued`` event."""
        ops = self.ops
        ops.admit(t, pool)
        ops.estimator.on_arrival(t.terms.queue.name, t.terms.priority, t.arrival)
        if self._shed_on or self._on_admitted:
            self._admitted(t, callback=callback)
        ops.emit(queued(t, position, ewt, ops.now, ops.version))

    def _overflow_events(self, t: Ticket, moves: list[tuple[str, str, str]]) -> None:
        ops = self.ops
        if moves:
            c = ops.counters
            c.overflowed += len(moves)
        for src, dst, why in moves:
            ops.emit(
                Overflowed(
                    at=ops.now,
                    version=ops.version,
                    inquiry_id=t.id,
                    from_queue=src,
                    to_queue=dst,
                    reason=why,
                )
            )

    def _admitted(self, t: Ticket, first: bool = True, callback: bool = False) -> None:
        """``t`` entered ``t.queue`` (an arrival, or an overflow when not ``first``)."""
        if self._shed_on and not callback and not self.callbacks.is_callback(t):
            self._shed_push(t, everywhere=first)
        for p in self._on_admitted:
            p.on_admitted(self, t)

    def changed(self, t: Ticket, moved: bool) -> None:
        """``t`` changed in queue (``router/core.py``: an update, a transfer, a hand-back):
        re-index it for shedding; a move also starts the time-driven rules of the queue it
        entered (an overflow's ``after_s`` counts from then)."""
        if self._shed_on and not self.callbacks.is_callback(t):
            self._shed_push(t)
        if moved:
            for p in self._on_admitted:
                p.on_admitted(self, t)
            self._hold_task(t)

    def back_in_line(self, t: Ticket) -> None:
        """``t`` came back into line (``router/core.py``: a requeue): hours of operation
        may close it out; in an outbound queue it is held again."""
        if self.hours.schedules:
            self.hours.back_in_line(t)
        self._hold_task(t)

    def _hold_task(self, t: Ticket) -> None:
        # a task back in an outbound queue's line is held at once, before the next pass
        # could offer it over inbound inquiries waiting for the same agents
        o = self.outbound
        if o.enabled and t.state == WAITING and t.terms.queue.name in o.queues:
            o.take_back(t)

    def closed_now(self, queue: QueueState) -> bool:
        """Whether ``queue`` is closed by its hours of operation now."""
        return bool(self.hours.schedules) and self.hours.closed_now(queue)

    # ------------------------------------------------------------------ actions

    def refuse_waiting(
        self, t: Ticket, outcome: Literal["rejected", "deflected"], reason: str
    ) -> None:
        """Take a waiting inquiry out of line with its one outcome event."""
        ops = self.ops
        ops.estimator.on_removed(t.terms.queue.name, ops.now - t.entered)
        cls = Deflected if outcome == "deflected" else Rejected
        ops.end(
            t,
            cls(
                at=ops.now,
                version=ops.version,
                inquiry_id=t.id,
                queue=t.terms.queue.name,
                reason=reason,
            ),
        )

    def move(self, t: Ticket, to: str, reason: str) -> None:
        """Overflow a waiting inquiry to queue ``to``, keeping its arrival time."""
        ops = self.ops
        src = t.terms.queue.name
        target = ops.queue(to)
        assert target is not None  # the config checks name every overflow target
        # the line moves on: the second pass serves it (a rate apart from the answers)
        ops.estimator.on_moved(src, ops.now, ops.now - t.entered)
        ops.move(t, target, len(target.steps) if self.surge.relax_now else 0)
        c = ops.counters
        c.overflowed += 1
        ops.emit(
            Overflowed(
                at=ops.now,
                version=ops.version,
                inquiry_id=t.id,
                from_queue=src,
                to_queue=to,
                reason=reason,
            )
        )
        self._admitted(t, first=False)
        self.back_in_line(t)

    # ------------------------------------------------------------------ shedding index

    def _rebuild_shed_index(self) -> None:
        self._shed_q = {}
        self._shed_all = []
        for t in self.ops.tickets():
            if t.state in (WAITING, OFFERED) and not self.callbacks.is_callback(t):
                self._shed_push(t)

    def _shed_push(self, t: Ticket, everywhere: bool = True) -> None:
        self._shed_k += 1
        e = (t.terms.priority, -t.seq, self._shed_k, t)
        heappush(self._shed_q.setdefault(t.terms.queue.name, []), e)
        if everywhere:
            heappush(self._shed_all, e)

    def lowest_priority_waiting(
        self, queue: str | None, below: int, callback: bool | None = None
    ) -> tuple[str, int] | None:
        """The lowest-priority, newest waiting inquiry (of ``queue``, or anywhere) with a
        priority below ``below``; ``None`` if there is none, or if ``callback`` is given and
        that inquiry is not of the kind asked for (a callback, or a caller on the line)."""
        ops = self.ops
        if queue is None:
            heap = self._shed_all
            live = ops.total_waiting()
        else:
            heap = self._shed_q.get(queue, [])
            q = ops.queue(queue)
            live = q.n_waiting if q is not None else 0
        if len(heap) > 2 * live + 64:
            heap[:] = [e for e in heap if self._shed_live(e[3], queue) and e[0] == e[3].priority]
            heapify(heap)
        aside = []
        found = None
        while heap:
            e = heap[0]
            t = e[3]
            if not self._shed_live(t, queue) or e[0] != t.terms.priority:  # priority changed since
                heappop(heap)
                continue
            if t.state != WAITING:  # on offer right now: may come back, keep it indexed
                aside.append(heappop(heap))
                continue
            if t.terms.priority < below and (callback is None or t.callback == callback):
                found = (t.id, t.terms.priority)
            break
        for e in aside:
            heappush(heap, e)
        return found

    def _shed_live(self, t: Ticket, queue: str | None) -> bool:
        # an entry outlives changes to its inquiry: it counts while the inquiry waits (or is
        # on offer) in ``queue`` and is no callback (a caller waiting at a closing becomes one)
        return (
            self.ops.ticket(t.id) is t
            and t.state in (WAITING, OFFERED)
            and (queue is None or t.terms.queue.name == queue)
            and not self.callbacks.is_callback(t)
        )

    # ------------------------------------------------------------------ timers

    def schedule(self, when: float, t: Ticket, purpose: int) -> None:
        """A timer about one inquiry (it dies with the inquiry)."""
        self.ops.schedule(when, t, purpose)

    def schedule_named(self, name: str, when: float, target: Any, purpose: int) -> None:
        """A named timer; an earlier pending one of the same name makes this one redundant."""
        self.timers.schedule(name, when, target, purpose)

    def timer_live(self, obj: Any, purpose: int) -> bool:
        if isinstance(obj, NamedTimer):
            return self.timers.live(obj)
        t: Ticket = obj
        if self.ops.ticket(t.id) is not t:
            return False
        if purpose in (T_RETRY, T_DEADLINE):
            return t.state == PARKED
        return t.state == WAITING

    def fire(self, obj: Any, purpose: int) -> None:
        if isinstance(obj, NamedTimer):
            self.timers.fired(obj)
            if purpose == T_CODEL:
                if self._codel is not None:
                    self._codel.on_timer(self, obj, purpose)
            elif purpose == T_SURGE:
                self.surge.on_timer()
            elif purpose == T_HOURS:
                self.hours.on_timer(obj.target)
            return
        if purpose == T_OVERFLOW:
            if self._overflow is not None:
                self._overflow.on_timer(self, obj, purpose)
        elif purpose == T_RETRY and not self.hours.retry_due(obj):
            self.callbacks.on_retry(obj)  # (a closed queue's callback waits for the opening)
        elif purpose == T_DEADLINE:
            self.outbound.on_deadline(obj)

    # ------------------------------------------------------------------ after each match

    def after_match(self) -> None:
        """Surge evaluation, time-driven policies and outbound release, after a matching pass."""
        ops = self.ops
        now = ops.now
        if self.surge.enabled:
            self.surge.evaluate(now)
            if ops.match_pending():
                ops.match()
        for p in self._on_check:
            p.on_check(self, now)
        if self.outbound.enabled:
            self.outbound.release()

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> dict[str, Any]:
        """Backpressure state for the snapshot (plain data)."""
        timers, timer_at = self.timers.dump()
        return {
            "policies": {p.name: p.dump() for p in self.chain if p.dump() is not None},
            "estimator": self.ops.estimator.extra_state(),
            "callbacks": self.callbacks.dump(),
            "outbound": self.outbound.dump(),
            "surge": self.surge.dump(),
            "timers": timers,
            "timer_at": timer_at,
            "shed": self._dump_shed() if self._shed_on else None,
        }

    def _dump_shed(self) -> Any:
        ops = self.ops

        def ids(heap: list[tuple[int, int, int, Ticket]]) -> list[str]:
            # in the heap's order, not its layout: equal states give equal bytes
            # (an entry whose priority is stale was left behind by a re-prioritization)
            return [
                t.id for p, *_, t in sorted(heap) if ops.ticket(t.id) is t and p == t.terms.priority
            ]

        return {
            "k": self._shed_k,
            "all": ids(self._shed_all),
            "q": {q: ids(heap) for q, heap in self._shed_q.items()},
        }

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`dump` output into a router rebuilt from the same config."""
        if not state:
            return
        ops = self.ops
        by_name = {p.name: p for p in self.chain}
        for name, st in state.get("policies", {}).items():
            if name in by_name:
                by_name[name].load(st)
        ops.estimator.load_extra_state(state.get("estimator", {}))
        self.callbacks.load(state.get("callbacks"))
        self.outbound.load(state.get("outbound"))
        self.surge.load(state.get("surge"))
        targets: dict[str, Any] = {}
        if self._codel is not None:
            for q, st in self._codel.state.items():
                targets[f"codel:{q}"] = st
        targets["surge"] = self.surge
        targets.update(self.hours.timer_names())
        self.timers.load(state.get("timers", []), state.get("timer_at", {}), targets)
        shed = state.get("shed")
        if shed is not None and self._shed_on:

            def entries(ids: list[str]) -> list[tuple[int, int, int, Ticket]]:
                # dead entries were dropped, so re-heapify; the pop order is the same
                # (a total order on priority, seq; ties are the same ticket)
                out = []
                for k, i in enumerate(ids):
                    t = ops.ticket(i)
                    if t is not None:
                        out.append((t.terms.priority, -t.seq, k, t))
                return out

            self._shed_all = entries(shed["all"])
            heapify(self._shed_all)
            self._shed_q = {q: entries(ids) for q, ids in shed["q"].items()}
            for heap in self._shed_q.values():
                heapify(heap)
            self._shed_k = shed["k"]


def queued(t: Ticket, position: int, ewt: float, now: float, version: int) -> Queued:
    """The ``Queued`` event of an arrival admitted at ``position`` with wait ``ewt``."""
    return _Queued(
        at=now,
        version=version,
        inquiry_id=t.id,
        queue=t.terms.queue.name,
        position=position,
        # wire_seconds(ewt), inline (every arrival): None for an unknown (infinite) wait
        expected_wait_s=ewt if ewt < _INF else None,
    )


def queued_admitted(
    events: list[Event], t: Ticket, queue: str, position: int, ewt: float, now: float, version: int
) -> Admission:
    """:func:`queued` appended to ``events``, :func:`admitted` returned: the core's plain
    arrival (``Router._submit``), ``queue`` its queue's name. (Compiled, the position and
    the wait are boxed once for the two structs, not once each.)"""
    pos: Any = position
    wait: Any = ewt
    iid = t.id
    events.append(
        _Queued(
            at=now,
            version=version,
            inquiry_id=iid,
            queue=queue,
            position=pos,
            expected_wait_s=wait if ewt < _INF else None,  # wire_seconds(ewt), inline
        )
    )
    return _Admission(
        inquiry_id=iid, queue=queue, outcome="admitted", expected_wait_s=wait, position=pos
    )


def admitted(t: Ticket, position: int, ewt: float) -> Admission:
    """What ``submit`` returns for an arrival admitted in line with no reason to give."""
    return _Admission(
        inquiry_id=t.id,
        queue=t.terms.queue.name,
        outcome="admitted",
        expected_wait_s=ewt,
        position=position,
    )
