"""Proactive outbound tasks, released onto idle capacity only.

Theory of operation
-------------------
Proactive outbound tasks (an agent phoning a medical team, a fraud target)
are submitted to the queues listed in ``[backpressure.outbound].queues``. They
are *held* (``PARKED``, in no heap) so they can never take a slot an inbound
inquiry could use. After each matching pass, which leaves no inbound inquiry
waiting for an agent who could take it, a held task is released to an idle
agent only if (1) more than ``reserve_idle`` agents of its pool stay idle, and
(2) the agents not busy with tasks, one fewer, still number at least what the
protected inbound queues need for ``service_level`` within their answer target:
Erlang C (``router/state/erlang.py``) on their measured arrival rate
and handle time. A reserve alone is not enough: at 70% inbound occupancy, ten
agents and a reserve of two, tasks cut the inbound 20 s service level from
0.94 to 0.78 in the tests; the Erlang C cap keeps it. In surge (with
``pause_outbound``) nothing is released. A task that comes back (offer declined
or expired) is held again after the pass.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from router.config import RouterConfig
from router.events import Queued, Rejected, wire_seconds
from router.model import Admission
from router.policies.surge import SurgeControl
from router.state.erlang import agents_needed
from router.state.ops import CoreOps
from router.state.records import PARKED, Ticket, free_agents

__all__ = ["Outbound"]


class Outbound:
    """Held proactive outbound tasks, released onto idle capacity only."""

    #: how long (router seconds) a computed inbound staffing need stays valid
    RECOMPUTE_S = 10.0

    def __init__(self, ops: CoreOps, surge: SurgeControl) -> None:
        self.ops = ops
        self.surge = surge
        self.queues: frozenset[str] = frozenset()
        self.reserve = 1
        self.enabled = False
        self.held: dict[str, deque[Ticket]] = {}
        self.active: dict[str, Ticket] = {}  # released tasks not finished yet
        self.limits: dict[str, int] = {}
        self.protect: list[str] = []
        self.goal = 0.8
        self.target_s = 20.0
        self.need = 0  # agents the protected inbound queues need (Erlang C)
        self.need_at = -math.inf

    def configure(self, cfg: RouterConfig) -> None:
        o = cfg.backpressure.outbound
        self.queues = frozenset(o.queues)
        self.reserve = o.reserve_idle
        self.enabled = bool(self.queues)
        self.limits = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}
        protected = [q for q in cfg.queues if q.name not in self.queues]
        if o.protect:
            protected = [q for q in protected if q.name in o.protect]
        self.protect = [q.name for q in protected]
        self.target_s = min((q.answer_target_s for q in protected), default=20.0)
        self.goal = o.service_level
        self.need_at = -math.inf
        for name in list(self.held):
            if name not in self.queues:  # no longer an outbound queue: tasks wait like inquiries
                self._unhold(name)

    def _unhold(self, name: str) -> None:
        ops = self.ops
        for t in self.held.pop(name):
            if ops.ticket(t.id) is t and t.state == PARKED:
                if t.queue.removed:
                    ops.end(
                        t,
                        Rejected(
                            at=ops.now,
                            version=ops.version,
                            inquiry_id=t.id,
                            queue=name,
                            reason="queue_removed",
                        ),
                    )
                    continue
                ops.enqueue(t)

    def hold(self, t: Ticket) -> Admission:
        """Admit a task to its outbound queue: it waits, held, for idle capacity."""
        ops = self.ops
        c = ops.counters
        name = t.queue.name
        dq = self.held.setdefault(name, deque())
        c.submitted += 1
        limit = self.limits.get(name)
        if limit is not None and self._live(dq) >= limit:
            reason = f"queue_full: {name} holds {limit}"
            c.rejected += 1
            ops.emit(
                Rejected(
                    at=ops.now, version=ops.version, inquiry_id=t.id, queue=name, reason=reason
                )
            )
            return Admission(
                inquiry_id=t.id, queue=name, outcome="rejected", expected_wait_s=0.0, reason=reason
            )
        t.patience_at = None
        ops.hold(t)
        dq.append(t)
        position = len(dq)
        ewt = ops.estimator.expected_wait(name, position)
        ops.emit(
            Queued(
                at=ops.now,
                version=ops.version,
                inquiry_id=t.id,
                queue=name,
                position=position,
                expected_wait_s=wire_seconds(ewt),
            )
        )
        return Admission(
            inquiry_id=t.id, queue=name, outcome="admitted", expected_wait_s=ewt, position=position
        )

    def _live(self, dq: deque[Ticket]) -> int:
        live = self.ops.ticket
        while dq and (live(dq[0].id) is not dq[0] or dq[0].state != PARKED):
            dq.popleft()
        return len(dq)

    @property
    def paused(self) -> bool:
        s = self.surge.cfg
        return self.ops.in_surge and s is not None and s.pause_outbound

    def _inbound_need(self) -> int:
        """Agents the protected inbound queues need to meet the goal (Erlang C on measured
        arrival rates and handle times), recomputed every :attr:`RECOMPUTE_S` seconds."""
        ops = self.ops
        now = ops.now
        if now - self.need_at < self.RECOMPUTE_S:
            return self.need
        est = ops.estimator
        lam = 0.0
        work = 0.0
        for name in self.protect:
            rates = est.rates.get(name)
            if rates is None:
                continue
            q_lam = sum(1.0 / g for g in rates.arrival_gap.values() if g > 0.0)
            handle = rates.handle if rates.handle > 0.0 else est.prior_handle_s
            lam += q_lam
            work += q_lam * handle
        need = 0
        if lam > 0.0:
            need = agents_needed(lam, work / lam, self.target_s, self.goal)
        self.need, self.need_at = need, now
        return need

    def _busy_with_tasks(self) -> int:
        live = self.ops.ticket
        done = [k for k, t in self.active.items() if live(k) is not t]
        for k in done:
            del self.active[k]
        return len(self.active)

    def release(self) -> None:
        """After a matching pass: hold strays again, then start tasks on spare idle agents."""
        ops = self.ops
        paused = self.paused
        for name, dq in self.held.items():
            q = ops.queue(name)
            if q is not None and q.n_waiting:
                strays = sorted(q.waiting(), key=lambda t: t.seq, reverse=True)
                for t in strays:
                    ops.park(t)
                    self.active.pop(t.id, None)
                    dq.appendleft(t)
            if paused or not self._live(dq):
                continue
            need = self._inbound_need()
            idle_needed = self.reserve + 1
            while self._live(dq):
                if need and ops.agent_count() - self._busy_with_tasks() - 1 < need:
                    break  # one more task would leave inbound short of its service level
                t = dq[0]
                if free_agents(ops.pool_for(t), idle_needed) < idle_needed:
                    break
                dq.popleft()
                if not ops.try_start(t):  # nobody could take it after all (units, declines)
                    dq.appendleft(t)
                    break
                self.active[t.id] = t

    def dump(self) -> Any:
        live = self.ops.ticket
        return {
            "held": {
                name: [t.id for t in dq if live(t.id) is t and t.state == PARKED]
                for name, dq in self.held.items()
            },
            "active": [k for k, t in self.active.items() if live(k) is t],
            "need": [self.need, self.need_at],
        }

    def load(self, state: Any) -> None:
        if not state:
            return
        ops = self.ops

        def get(inquiry_id: str) -> Ticket:
            t = ops.ticket(inquiry_id)
            assert t is not None
            return t

        self.held = {name: deque(get(i) for i in ids) for name, ids in state["held"].items()}
        self.active = {k: get(k) for k in state["active"]}
        self.need, self.need_at = state["need"]
