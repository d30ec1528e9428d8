"""The glue between the backpressure policies and the core: arrivals, timers, snapshot state.

Theory of operation
-------------------
:class:`AdmissionControl` is owned by the :class:`~router.core.Router`. For each
arrival it computes the position and expected wait, runs the configured chain
(``router/policies/admission.py``) and acts on the verdicts; after every
matching pass it runs the time-driven measures (CoDel, surge detection,
outbound release). It implements the policies' :class:`AdmissionView`.

Stateful pieces (token buckets, CoDel state, the shedding index, surge state,
parked callbacks, held outbound tasks, estimator rates, policy timers) go into
the snapshot through :meth:`AdmissionControl.dump` / :meth:`AdmissionControl.load`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING, Any, Literal

from router.config import RouterConfig
from router.events import Deflected, Overflowed, Queued, Rejected
from router.model import Admission
from router.policies.admission import (
    K_BP,
    T_CODEL,
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
from router.state.records import OFFERED, PARKED, WAITING, Pool, Ticket

if TYPE_CHECKING:
    from router.core import Router
    from router.policies.callbacks import Callbacks
    from router.policies.outbound import Outbound
    from router.policies.surge import SurgeControl

__all__ = ["AdmissionControl"]

_INF = math.inf


def _overrides(policy: AdmissionPolicy, hook: str) -> bool:
    return getattr(type(policy), hook) is not getattr(AdmissionPolicy, hook)


class _Timer:
    """A named backpressure timer that is not about one inquiry (CoDel of a queue, surge)."""

    __slots__ = ("id", "name", "target")

    def __init__(self, name: str, target: Any) -> None:
        self.id = "\x00" + name  # never an inquiry id: the core snapshot skips it, we keep it
        self.name = name
        self.target = target


class AdmissionControl:
    """Runs the chain for each arrival and every time-driven backpressure measure.

    Owned by the :class:`~router.core.Router`; implements :class:`AdmissionView`.
    """

    def __init__(self, router: Router) -> None:
        from router.policies.callbacks import Callbacks
        from router.policies.outbound import Outbound
        from router.policies.surge import SurgeControl

        self.r = router
        self.chain: list[AdmissionPolicy] = []
        self.callbacks: Callbacks = Callbacks(self)
        self.outbound: Outbound = Outbound(self)
        self.surge: SurgeControl = SurgeControl(self)
        self.active = False
        self._timers: dict[str, _Timer] = {}
        self._timer_at: dict[str, float] = {}
        self._shed_q: dict[str, list[tuple[int, int, int, Ticket]]] = {}
        self._shed_all: list[tuple[int, int, int, Ticket]] = []
        self._shed_k = 0
        self._shed_on = False
        self._qpools: dict[str, list[Pool]] = {}
        self._qpools_key: tuple[int, int] = (0, -1)
        self._on_admitted: list[AdmissionPolicy] = []
        self._on_check: list[AdmissionPolicy] = []
        self._overflow: Overflow | None = None
        self._codel: Codel | None = None
        self._bounds: _Bounds | None = None

    # ------------------------------------------------------------------ config

    def configure(self, cfg: RouterConfig) -> None:
        """(Re)build the chain from ``cfg``, keeping the state of policies that stay."""
        old = {p.name: p for p in self.chain}
        chain = build_policies(cfg)
        for p in chain:
            prev = old.get(p.name)
            state = prev.dump() if prev is not None else None
            if state is not None:
                p.load(state)
        self.chain = [p for p in chain if not isinstance(p, AdmitAll)]  # no-ops cost nothing
        self._on_admitted = [p for p in chain if _overrides(p, "on_admitted")]
        self._on_check = [p for p in chain if _overrides(p, "on_check")]
        self._overflow = next((p for p in chain if isinstance(p, Overflow)), None)
        self._codel = next((p for p in chain if isinstance(p, Codel)), None)
        self._bounds = _Bounds(cfg)
        shed = any(isinstance(p, ShedLowestPriority) for p in chain)
        if shed and not self._shed_on:
            self._rebuild_shed_index()
        self._shed_on = shed
        bp = cfg.backpressure
        self.r._estimator.alpha = bp.estimate.alpha
        self.r._estimator.prior_handle_s = bp.estimate.prior_handle_s
        self.callbacks.configure(cfg)
        in_chain = next((p for p in chain if isinstance(p, CallbackOffer)), None)
        if in_chain is not None:
            self.callbacks.policy = in_chain  # surge then adds nothing: it already runs
        self.outbound.configure(cfg)
        self.surge.configure(cfg)
        self.active = bool(self._on_check) or self.surge.enabled or self.outbound.enabled

    # ------------------------------------------------------------------ the view

    def queue_length(self, queue: str) -> int:
        """Places held in ``queue``: waiting, plus callbacks between two attempts."""
        q = self.r._queues.get(queue)
        n = q.n_waiting if q is not None else 0
        cb = self.callbacks
        return n + cb.retrying_in.get(queue, 0) if cb.retrying else n

    def total_waiting(self) -> int:
        """Places held in the router (see :meth:`queue_length`)."""
        return self.r._waiting + len(self.callbacks.retrying)

    def expected_wait(self, queue: str, position: int) -> float:
        return self.r._estimator.expected_wait(queue, position)

    def has_room(self, queue: str) -> bool:
        """False while ``queue`` or the router is at a configured ``max_queue``."""
        b = self._bounds
        assert b is not None
        limit = b.per_queue.get(queue)
        if limit is not None and self.queue_length(queue) >= limit:
            return False
        return b.global_max is None or self.total_waiting() < b.global_max

    # ------------------------------------------------------------------ arrivals

    def estimate(self, t: Ticket, pool: Pool) -> tuple[int, float]:
        """Position (1 = next) and expected wait of a new arrival ``t`` in ``pool``."""
        r = self.r
        q = t.queue
        position = r._position(q, t.priority)
        if pool.eligible == 0:
            return position, _INF
        free = 0
        if not pool.n_waiting or r._pending or r._freed:
            # after a matching pass nobody free fits a pool that still has a line
            free = self._free_agents(pool, min(position, 8))  # they take the first in line
            if free >= position:
                return position, 0.0
        est = r._estimator
        slots = 1.0 if q.name in est.gap else _slots(pool)
        return position, est.expected_wait(q.name, position - free, t.priority, r._ps, slots)

    def _free_agents(self, pool: Pool, need: int) -> int:
        """Agents who could take an inquiry of ``pool`` now: listed ones, and ones freed
        since the last matching pass (a bounded look at both)."""
        n = _free_agents(pool, need)
        if n < need and self.r._freed:
            can_take = self.r._can_take
            for i, agent in enumerate(self.r._freed.values()):
                if i >= 64:
                    break
                if any(p is pool for p, _, _ in agent.pools) and can_take(agent, pool):
                    n += 1
                    if n >= need:
                        break
        return n

    def submit(self, t: Ticket, pool: Pool) -> Admission:
        """Decide on an arrival (already validated by the core) and act on the verdict."""
        r = self.r
        q = t.queue
        if self.outbound.enabled and q.name in self.outbound.queues:
            return self.outbound.hold(t)
        surge = r._surge
        if surge and self.surge.relax and q.steps:
            t.step = len(q.steps)
            pool = r._pool_for(t)
        position, ewt = self.estimate(t, pool)
        chain = self.chain
        extra = self.callbacks.policy
        if surge and self.surge.callbacks and extra is not None and extra not in chain:
            chain = [extra, *chain]
        if not chain:  # the fast path: admit
            r.counters["submitted"] += 1
            r._admit(t, pool)
            r._estimator.on_arrival(q.name, t.priority, t.arrival)
            if self._on_admitted:
                self._admitted(t)
            r._emit(
                Queued, inquiry_id=t.id, queue=q.name, position=position, expected_wait_s=_wire(ewt)
            )
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome="admitted",
                expected_wait_s=ewt,
                position=position,
            )
        return self._judge(t, pool, position, ewt, chain)

    def _judge(
        self, t: Ticket, pool: Pool, position: int, ewt: float, chain: list[AdmissionPolicy]
    ) -> Admission:
        """Run the chain on an arrival and act on the verdicts."""
        r = self.r
        c = r.counters
        q = t.queue
        callback = ""
        victims: list[tuple[str, str]] = []
        moves: list[tuple[str, str, str]] = []
        reason = ""
        arrival = Arrival(t.id, q.name, t.tenant, t.priority, position, ewt, r._now)
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
                q = t.queue = r._queues[v.target]
                pool = r._pool_for(t)
                position, ewt = self.estimate(t, pool)
                arrival.queue = q.name
                arrival.position = position
                arrival.expected_wait_s = ewt
                continue
            if kind == "blocked":
                c["blocked"] = c.get("blocked", 0) + 1
                return Admission(
                    inquiry_id=t.id,
                    queue=q.name,
                    outcome="blocked",
                    expected_wait_s=ewt,
                    reason=v.reason,
                )
            if kind == "callback":  # takes effect if no later policy refuses
                callback = callback or v.reason
                continue
            # rejected / deflected: the one outcome of this arrival
            c["submitted"] += 1
            self._overflow_events(t, moves)
            c[kind] += 1
            cls = Deflected if kind == "deflected" else Rejected
            r._emit(cls, inquiry_id=t.id, queue=q.name, reason=v.reason)
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome=kind,
                expected_wait_s=ewt,
                position=position,
                reason=v.reason,
            )
        c["submitted"] += 1
        self._overflow_events(t, moves)
        for vid, vreason in victims:
            victim = r._tickets.get(vid)
            if victim is not None and victim.state == WAITING:
                c["shed"] = c.get("shed", 0) + 1
                self.refuse_waiting(victim, "rejected", vreason)
        if callback:
            t.patience_at = None  # the customer hung up: no abandonment while parked
        r._admit(t, pool)
        r._estimator.on_arrival(q.name, t.priority, t.arrival)
        self._admitted(t, callback=bool(callback))
        r._emit(
            Queued, inquiry_id=t.id, queue=q.name, position=position, expected_wait_s=_wire(ewt)
        )
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

    def _overflow_events(self, t: Ticket, moves: list[tuple[str, str, str]]) -> None:
        if moves:
            c = self.r.counters
            c["overflowed"] = c.get("overflowed", 0) + len(moves)
        for src, dst, why in moves:
            self.r._emit(Overflowed, inquiry_id=t.id, from_queue=src, to_queue=dst, reason=why)

    def _admitted(self, t: Ticket, first: bool = True, callback: bool = False) -> None:
        """``t`` entered ``t.queue`` (an arrival, or an overflow when not ``first``)."""
        if self._shed_on and not callback and not self.callbacks.is_callback(t):
            self._shed_push(t, everywhere=first)
        for p in self._on_admitted:
            p.on_admitted(self, t)

    # ------------------------------------------------------------------ actions

    def refuse_waiting(
        self, t: Ticket, outcome: Literal["rejected", "deflected"], reason: str
    ) -> None:
        """Take a waiting inquiry out of line with its one outcome event."""
        r = self.r
        r._estimator.on_removed(t.queue.name, r._now - t.entered)
        r._leave(t)
        r.counters[outcome] += 1
        cls = Deflected if outcome == "deflected" else Rejected
        r._emit(cls, inquiry_id=t.id, queue=t.queue.name, reason=reason)

    def move(self, t: Ticket, to: str, reason: str) -> None:
        """Overflow a waiting inquiry to queue ``to``, keeping its arrival time."""
        r = self.r
        src = t.queue.name
        r._estimator.on_removed(src, r._now - t.entered)
        r._dequeue(t)
        t.queue = r._queues[to]
        t.entered = r._now
        t.step = len(t.queue.steps) if self.surge.relax_now else 0
        t.pool = r._pool_for(t)
        r._enqueue(t)
        r._pending.append(t)
        r._schedule_step(t)
        c = r.counters
        c["overflowed"] = c.get("overflowed", 0) + 1
        r._emit(Overflowed, inquiry_id=t.id, from_queue=src, to_queue=to, reason=reason)
        self._admitted(t, first=False)

    def relax_all(self) -> int:
        """Surge: every waiting inquiry jumps to its queue's last relaxation step."""
        r = self.r
        moved = 0
        for t in list(r._tickets.values()):
            steps = t.queue.steps
            if t.state != WAITING or not steps or t.step >= len(steps):
                continue
            r._dequeue(t)
            t.step = len(steps)
            t.pool = r._pool_for(t)
            r._enqueue(t)
            r._pending.append(t)
            moved += 1
        return moved

    # ------------------------------------------------------------------ queues

    def pools_of(self, queue: str) -> list[Pool]:
        r = self.r
        key = (id(r._pools), len(r._pools))
        if key != self._qpools_key:
            by: dict[str, list[Pool]] = {}
            for pool in r._pools.values():
                by.setdefault(pool.queue.name, []).append(pool)
            self._qpools = by
            self._qpools_key = key
        return self._qpools.get(queue, [])

    def head_of_line(self, queue: str) -> Ticket | None:
        """The waiting inquiry of ``queue`` that is next in line (smallest aged key)."""
        q = self.r._queues.get(queue)
        if q is None or not q.n_waiting:
            return None
        best: tuple[float, int, int, Ticket] | None = None
        for pool in self.pools_of(queue):
            heap = pool.waiting
            while heap:
                e = heap[0]
                t = e[3]
                if t.ver != e[2] or t.state != WAITING:
                    heappop(heap)
                    continue
                if best is None or e < best:
                    best = e
                break
        return best[3] if best is not None else None

    def waiting_in(self, queue: str) -> Iterator[Ticket]:
        """Every waiting inquiry of ``queue`` (no order)."""
        for pool in self.pools_of(queue):
            for e in pool.waiting:
                t = e[3]
                if t.ver == e[2] and t.state == WAITING:
                    yield t

    # ------------------------------------------------------------------ shedding index

    def _rebuild_shed_index(self) -> None:
        self._shed_q = {}
        self._shed_all = []
        for t in self.r._tickets.values():
            if t.state in (WAITING, OFFERED) and not self.callbacks.is_callback(t):
                self._shed_push(t)

    def _shed_push(self, t: Ticket, everywhere: bool = True) -> None:
        self._shed_k += 1
        e = (t.priority, -t.seq, self._shed_k, t)
        heappush(self._shed_q.setdefault(t.queue.name, []), e)
        if everywhere:
            heappush(self._shed_all, e)

    def lowest_priority_waiting(self, queue: str | None, below: int) -> tuple[str, int] | None:
        """The lowest-priority, newest waiting inquiry (of ``queue``, or anywhere) with a
        priority below ``below``; ``None`` if there is none."""
        r = self.r
        if queue is None:
            heap = self._shed_all
            live = r._waiting
        else:
            heap = self._shed_q.get(queue, [])
            q = r._queues.get(queue)
            live = q.n_waiting if q is not None else 0
        if len(heap) > 2 * live + 64:
            heap[:] = [e for e in heap if self._shed_live(e[3], queue)]
            heapify(heap)
        aside = []
        found = None
        while heap:
            t = heap[0][3]
            if not self._shed_live(t, queue):
                heappop(heap)
                continue
            if t.state != WAITING:  # on offer right now: may come back, keep it indexed
                aside.append(heappop(heap))
                continue
            if t.priority < below:
                found = (t.id, t.priority)
            break
        for e in aside:
            heappush(heap, e)
        return found

    def _shed_live(self, t: Ticket, queue: str | None) -> bool:
        return (
            self.r._tickets.get(t.id) is t
            and t.state in (WAITING, OFFERED)
            and (queue is None or t.queue.name == queue)
        )

    # ------------------------------------------------------------------ timers

    def schedule(self, when: float, t: Ticket, purpose: int) -> None:
        """A timer about one inquiry (it dies with the inquiry)."""
        self.r._at(when, K_BP, t, purpose)

    def schedule_named(self, name: str, when: float, target: Any, purpose: int) -> None:
        """A named timer; an earlier pending one of the same name makes this one redundant."""
        pending = self._timer_at.get(name, _INF)
        now = self.r._now
        if when <= now or now <= pending <= when:
            return  # never in the past (it would fire again at once); or already covered
        timer = self._timers.get(name)
        if timer is None:
            timer = self._timers[name] = _Timer(name, target)
        timer.target = target
        self._timer_at[name] = when
        self.r._at(when, K_BP, timer, purpose)

    def timer_live(self, obj: Any, purpose: int) -> bool:
        if isinstance(obj, _Timer):
            return self._timers.get(obj.name) is obj
        t: Ticket = obj
        if self.r._tickets.get(t.id) is not t:
            return False
        if purpose == T_RETRY:
            return t.state == PARKED
        return t.state == WAITING

    def fire(self, obj: Any, purpose: int) -> None:
        if isinstance(obj, _Timer):
            if self._timer_at.get(obj.name) == self.r._now:
                self._timer_at.pop(obj.name, None)
            if purpose == T_CODEL:
                if self._codel is not None:
                    self._codel.on_timer(self, obj, purpose)
            elif purpose == T_SURGE:
                self.surge.on_timer()
            return
        if purpose == T_OVERFLOW:
            if self._overflow is not None:
                self._overflow.on_timer(self, obj, purpose)
        elif purpose == T_RETRY:
            self.callbacks.on_retry(obj)

    # ------------------------------------------------------------------ after each match

    def after_match(self) -> None:
        """Surge evaluation, time-driven policies and outbound release, after a matching pass."""
        r = self.r
        now = r._now
        if self.surge.enabled:
            self.surge.evaluate(now)
            if r._freed or r._pending:
                r._match()
        for p in self._on_check:
            p.on_check(self, now)
        if self.outbound.enabled:
            self.outbound.release()

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> dict[str, Any]:
        """Backpressure state for the snapshot (plain data)."""
        r = self.r
        timers = [
            [at, seq, arg, obj.name]
            for at, seq, kind, obj, arg in r._deadlines
            if kind == K_BP and isinstance(obj, _Timer) and self._timers.get(obj.name) is obj
        ]
        return {
            "policies": {p.name: p.dump() for p in self.chain if p.dump() is not None},
            "estimator": r._estimator.extra_state(),
            "callbacks": self.callbacks.dump(),
            "outbound": self.outbound.dump(),
            "surge": self.surge.dump(),
            "timers": timers,
            "timer_at": dict(self._timer_at),
            "shed": self._dump_shed() if self._shed_on else None,
        }

    def _dump_shed(self) -> Any:
        return {
            "k": self._shed_k,
            "all": [t.id for *_, t in self._shed_all if self.r._tickets.get(t.id) is t],
            "q": {
                q: [t.id for *_, t in heap if self.r._tickets.get(t.id) is t]
                for q, heap in self._shed_q.items()
            },
        }

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`dump` output into a router rebuilt from the same config."""
        if not state:
            return
        r = self.r
        by_name = {p.name: p for p in self.chain}
        for name, st in state.get("policies", {}).items():
            if name in by_name:
                by_name[name].load(st)
        r._estimator.load_extra_state(state.get("estimator", {}))
        self.callbacks.load(state.get("callbacks"))
        self.outbound.load(state.get("outbound"))
        self.surge.load(state.get("surge"))
        targets: dict[str, Any] = {}
        if self._codel is not None:
            for q, st in self._codel.state.items():
                targets[f"codel:{q}"] = st
        targets["surge"] = self.surge
        for at, seq, arg, name in state.get("timers", []):
            timer = self._timers.get(name)
            if timer is None:
                timer = self._timers[name] = _Timer(name, targets.get(name))
            r._deadlines.append((at, seq, K_BP, timer, arg))
        heapify(r._deadlines)
        self._timer_at = dict(state.get("timer_at", {}))
        shed = state.get("shed")
        if shed is not None and self._shed_on:
            tickets = r._tickets

            def entries(ids: list[str]) -> list[tuple[int, int, int, Ticket]]:
                # dead entries were dropped, so re-heapify; the pop order is the same
                # (a total order on priority, seq; ties are the same ticket)
                out = []
                for k, i in enumerate(ids):
                    t = tickets.get(i)
                    if t is not None:
                        out.append((t.priority, -t.seq, k, t))
                return out

            self._shed_all = entries(shed["all"])
            heapify(self._shed_all)
            self._shed_q = {q: entries(ids) for q, ids in shed["q"].items()}
            for heap in self._shed_q.values():
                heapify(heap)
            self._shed_k = shed["k"]


def _free_agents(pool: Pool, need: int) -> int:
    """How many agents listed in ``pool`` can take work now (counting stops at ``need``)."""
    heap = pool.agents
    while heap and heap[0][3].ver != heap[0][2]:
        heappop(heap)  # stale heads would be dropped by the next match anyway
    if not heap:
        return 0
    if need <= 1:
        return 1  # a valid head: the common case costs O(1)
    n = 0
    limit = 4 * need + 32  # stale entries are few after compaction; never scan a huge heap
    for i, e in enumerate(pool.agents):
        if e[3].ver == e[2]:
            n += 1
            if n >= need:
                break
        if i > limit:
            break
    return n


def _slots(pool: Pool) -> float:
    """Eligible capacity of ``pool``: eligible agents times their typical cap on its channel."""
    ch = pool.channel
    caps = [e[3].caps.get(ch, 1) for e in pool.agents[:32]]
    per_agent = sum(caps) / len(caps) if caps else 1.0
    return max(1.0, pool.eligible * per_agent)


def _wire(seconds: float) -> float | None:
    """An expected wait for events: ``None`` (unknown) instead of infinity, which JSON lacks."""
    return seconds if seconds < _INF else None
