"""Proactive outbound tasks, released onto idle capacity only, with deadlines.

Theory of operation
-------------------
Proactive outbound tasks (an agent phoning a medical team, a fraud target)
are submitted to the queues listed in ``[backpressure.outbound].queues``. They
are *held* (``PARKED``, in no heap) so they can never take a slot an inbound
inquiry could use. After each matching pass, which leaves no inbound inquiry
waiting for an agent who could take it, held tasks are released, the most
urgent first across every outbound queue (aged priority, as inquiries: a fraud
wake-up of priority 5 before a supply callback of priority -10), each to an
idle agent only if (1) more than ``reserve_idle`` agents of its pool stay idle,
and (2) the agents not busy with tasks, one fewer, still number at least what
the protected inbound queues need for ``service_level`` within their answer
target: Erlang C (``router/state/erlang.py``) on their arrival rate and handle
time. A reserve alone is not enough: at 70% inbound occupancy, ten agents and a
reserve of two, tasks cut the inbound 20 s service level from 0.94 to 0.78 in the
tests; the Erlang C cap keeps it.

The arrival rate is one that falls when arrivals stop: the estimator's decayed
count (``WaitEstimator.arrival_rate``), and never more than ``3 / X`` for a queue
whose last arrival was ``X`` seconds ago (at a higher rate, such a silence has
less than a 5% chance). A mean of inter-arrival gaps, updated only on arrivals,
would keep the flood's rate after the flood and hold every task while every
agent sits idle. A queue counts once it has had two arrivals (one says nothing
about a rate). The reserve never takes a whole pool: a pool of ``k`` agents keeps
at most ``k - 1`` idle, so a task is never held for good while all of them idle.
In surge (with ``pause_outbound``) nothing is released: the surge detector's view
wins.

A task may have a deadline: its own ``patience_s``, else
``[backpressure.outbound].deadline_s`` of its queue, counted from its arrival. A
task still held at its deadline ends with ``TaskExpired`` (its one outcome,
counted in ``counters.tasks_expired``); one already started is done. A task that
comes back (offer declined or expired, handed back) or is transferred to an
outbound queue is held again at once (``take_back``, from the control plane's
``back_in_line``/``changed``: a pass must not offer it over waiting inbound), or
expires then if its deadline has passed; inquiries already waiting in a queue
that a reconfigure makes outbound are held after the next pass (their patience,
else the queue's ``deadline_s``, becomes their deadline). A held task's key is
fixed while it is held (it cannot be updated; a callback moved to an outbound
queue is held like any task). Every change of config keys the held tasks anew
(``priority_seconds`` may change) and gives a queue's new ``deadline_s`` to its
tasks held without a deadline (a deadline once set stays).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from heapq import heapify, heappop, heappush
from typing import Any

from router.config import RouterConfig
from router.events import Queued, Rejected, TaskExpired
from router.model import Admission
from router.policies.admission import T_DEADLINE
from router.policies.surge import SurgeControl
from router.state.erlang import agents_needed
from router.state.ops import CoreOps
from router.state.records import PARKED, Ticket, free_agents
from router.values import wire_seconds

__all__ = ["Outbound"]


#: a queue whose last arrival was X s ago has a rate of at most this / X (a 95% bound)
SILENCE_BOUND = -math.log(0.05)

_Entry = tuple[float, int, Ticket]  # (aged key, seq, task)


class Outbound:
    """Held proactive outbound tasks, released onto idle capacity only."""

    #: how long (router seconds) a computed inbound staffing need stays valid
    RECOMPUTE_S = 10.0

    def __init__(self, ops: CoreOps, surge: SurgeControl) -> None:
        self.ops = ops
        self.surge = surge
        self.queues: frozenset[str] = frozenset()
        self.order: tuple[str, ...] = ()  # the outbound queues in config order
        self.reserve = 1
        self.enabled = False
        self.held: dict[str, list[_Entry]] = {}  # per queue: a heap by aged key
        # the tasks held now (the heaps keep the entries of tasks gone since, lazily), and
        # how many per queue: positions and bounds count exactly these, so a restored
        # router (whose heaps hold only these) answers the same
        self.holding: dict[str, Ticket] = {}
        self.n_held: dict[str, int] = {}
        self.active: dict[str, Ticket] = {}  # released tasks not finished yet
        self.deadlines: dict[str, float] = {}  # task id -> deadline
        self.limits: dict[str, int] = {}
        self.deadline_s: dict[str, float] = {}
        self.protect: list[str] = []
        self.goal = 0.8
        self.target_s = 20.0
        self.need = 0  # agents the protected inbound queues need (Erlang C)
        self.need_at = -math.inf

    def configure(self, cfg: RouterConfig) -> None:
        o = cfg.backpressure.outbound
        self.queues = frozenset(o.queues)
        self.order = tuple(o.queues)
        self.reserve = o.reserve_idle
        self.enabled = bool(self.queues)
        self.limits = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}
        self.deadline_s = dict(o.deadline_s)
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
        self._watch()
        self._rekey()
        for name, heap in self.held.items():  # a queue given a deadline_s: tasks held without
            if name in self.deadline_s:  # a deadline take it (counted from their arrival)
                for _, _, t in sorted(heap):
                    if self.holding.get(t.id) is t and t.id not in self.deadlines:
                        self._set_deadline(t, name)

    def _watch(self) -> None:
        """Give every outbound queue a heap, in config order: :meth:`release` holds the
        strays of the queues it has heaps for, so inquiries already waiting in a queue that a
        reconfigure makes outbound are held after the next pass like any task."""
        for name in self.order:
            self.held.setdefault(name, [])

    def _rekey(self) -> None:
        """Key every held task again from its arrival and priority: ``priority_seconds``
        may have changed, and a restored router (which pushes them afresh) must hold them in
        the same order as this one."""
        ps = self.ops.priority_seconds
        holding = self.holding
        for name, heap in self.held.items():
            keyed = [
                (t.arrival - t.priority * ps, seq, t)
                for _, seq, t in heap
                if holding.get(t.id) is t
            ]
            heapify(keyed)
            self.held[name] = keyed

    def holds(self, t: Ticket) -> bool:
        """Whether ``t`` is a task held here for idle capacity now."""
        return self.holding.get(t.id) is t

    def _unhold(self, name: str) -> None:
        ops = self.ops
        self.n_held.pop(name, None)
        for _, _, t in sorted(self.held.pop(name)):
            if self.holding.get(t.id) is not t:
                continue  # an entry outlived its hold (started, ended, or held again later)
            del self.holding[t.id]
            if ops.ticket(t.id) is t and t.state == PARKED:
                self.deadlines.pop(t.id, None)
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

    def _push(self, t: Ticket) -> None:
        key = t.arrival - t.priority * self.ops.priority_seconds
        name = t.queue.name
        heappush(self.held.setdefault(name, []), (key, t.seq, t))
        self.holding[t.id] = t
        self.n_held[name] = self.n_held.get(name, 0) + 1

    def _let_go(self, t: Ticket) -> None:
        """``t`` is held no longer (started, expired or withdrawn); its entry stays in the
        heap until it reaches the head."""
        if self.holding.get(t.id) is t:
            del self.holding[t.id]
            self.n_held[t.queue.name] -= 1

    def held_in(self, names: Collection[str]) -> list[Ticket]:
        """The tasks held now in the queues ``names`` (O(tasks held); nothing changes)."""
        if not self.holding:
            return []
        return [t for t in self.holding.values() if t.queue.name in names and self._is_held(t)]

    def let_go_in(self, names: Collection[str]) -> list[Ticket]:
        """The tasks held now in the queues ``names``, let go: a reconfigure that removes
        those queues moves them (:meth:`take_back` in an outbound target) or ends them."""
        out = self.held_in(names)
        for t in out:
            self._let_go(t)
        return out

    def withdrawn(self, t: Ticket) -> None:
        """A parked ``t`` was withdrawn (the core ends it next)."""
        self._let_go(t)

    def hold(self, t: Ticket) -> Admission:
        """Admit a task to its outbound queue: it waits, held, for idle capacity."""
        ops = self.ops
        c = ops.counters
        name = t.queue.name
        heap = self.held.setdefault(name, [])
        c.submitted += 1
        limit = self.limits.get(name)
        if limit is not None and self._live(heap, name) >= limit:
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
        ops.hold(t)
        self._push(t)
        self._set_deadline(t, name)
        position = self._live(heap, name)
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

    def _set_deadline(self, t: Ticket, name: str) -> None:
        """``t``'s deadline, if it has one: its own patience (which it no longer has as an
        inquiry: a held task does not abandon), else its queue's ``deadline_s`` from its
        arrival."""
        deadline = t.patience_at
        if deadline is None and name in self.deadline_s:
            deadline = t.arrival + self.deadline_s[name]
        t.patience_at = None
        if deadline is not None:
            self.deadlines[t.id] = deadline
            self.ops.schedule(max(deadline, self.ops.now), t, T_DEADLINE)

    def take_back(self, t: Ticket) -> None:
        """``t`` waits in its outbound queue's line (a task whose offer was declined or
        expired, one handed back or transferred here, an inquiry waiting when a reconfigure
        made its queue outbound): held again, or ended if its deadline has passed."""
        self.ops.park(t)
        self.active.pop(t.id, None)
        if t.id not in self.deadlines:  # (never held: its deadline from now on)
            self._set_deadline(t, t.queue.name)
        if self.deadlines.get(t.id, math.inf) <= self.ops.now:
            self._expire(t)
        else:
            self._push(t)

    def _is_held(self, t: Ticket) -> bool:
        return self.ops.ticket(t.id) is t and t.state == PARKED

    def _live(self, heap: list[_Entry], name: str) -> int:
        """The tasks held in queue ``name``, whose heap is ``heap``: its dead heads are
        dropped first, so while any is held the head is."""
        holding = self.holding
        while heap:
            t = heap[0][2]
            if holding.get(t.id) is t:
                if self._is_held(t):
                    break
                self._let_go(t)  # gone without a word to this policy: counted out here
            heappop(heap)
        return self.n_held.get(name, 0)

    def on_deadline(self, t: Ticket) -> None:
        """A task's deadline: if it is still held, it ends (``TaskExpired``)."""
        if self._is_held(t) and t.id in self.deadlines:
            self._let_go(t)
            self._expire(t)

    def _expire(self, t: Ticket) -> None:
        ops = self.ops
        deadline = self.deadlines.pop(t.id)
        ops.counters.tasks_expired += 1
        waited = ops.now - t.arrival
        ops.end(
            t,
            TaskExpired(
                at=ops.now,
                version=ops.version,
                inquiry_id=t.id,
                queue=t.queue.name,
                wait_s=waited,
                reason=f"deadline: not started {waited:.0f} s after arrival "
                f"(deadline {deadline - t.arrival:g} s)",
            ),
        )

    @property
    def paused(self) -> bool:
        s = self.surge.cfg
        return self.ops.in_surge and s is not None and s.pause_outbound

    def _inbound_need(self) -> int:
        """Agents the protected inbound queues need to meet the goal (Erlang C on their
        arrival rates, which fall when arrivals stop, and handle times), recomputed every
        :attr:`RECOMPUTE_S` seconds."""
        ops = self.ops
        now = ops.now
        if now - self.need_at < self.RECOMPUTE_S:
            return self.need
        est = ops.estimator
        lam = 0.0
        work = 0.0
        for name in self.protect:
            rates = est.rates.get(name)
            if rates is None or not rates.arrival_gap:
                continue
            q_lam = est.arrival_rate(name, now)
            silence = now - max(rates.arrival_last.values())
            if silence > 0.0:
                q_lam = min(q_lam, SILENCE_BOUND / silence)
            lam += q_lam
            work += q_lam * est.handle_s(name)
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
        """After a matching pass: hold the strays (inquiries that entered an outbound
        queue's line without :meth:`take_back`: a reconfigure that made it outbound, a
        policy's move), or expire them past their deadline, then start tasks on spare idle
        agents, the most urgent first."""
        ops = self.ops
        for name in self.held:
            q = ops.queue(name)
            if q is not None and q.n_waiting:
                for t in sorted(q.waiting(), key=_by_seq):
                    self.take_back(t)
        if self.paused:
            return
        heads = []
        for name, heap in self.held.items():
            if self._live(heap, name):
                heads.append((heap[0][0], heap[0][1], name))
        if not heads:
            return
        heads.sort()
        need = self._inbound_need()
        for _, _, name in heads:
            heap = self.held[name]
            while self._live(heap, name):
                if need and ops.agent_count() - self._busy_with_tasks() - 1 < need:
                    return  # one more task would leave inbound short of its service level
                t = heap[0][2]
                pool = ops.pool_for(t)
                idle_needed = min(self.reserve, pool.eligible - 1) + 1
                if free_agents(pool, idle_needed) < idle_needed:
                    break
                entry = heappop(heap)
                if not ops.try_start(t):  # nobody could take it after all (units, declines)
                    heappush(heap, entry)
                    break
                self._let_go(t)
                self.active[t.id] = t

    def dump(self) -> Any:
        return {
            "held": {
                name: [e[2].id for e in sorted(heap) if self.holding.get(e[2].id) is e[2]]
                for name, heap in self.held.items()
            },
            "active": [k for k, t in self.active.items() if self.ops.ticket(k) is t],
            "need": [self.need, self.need_at],
            "deadlines": sorted(
                [k, d] for k, d in self.deadlines.items() if self.ops.ticket(k) is not None
            ),
        }

    def load(self, state: Any) -> None:
        if not state:
            return
        ops = self.ops

        def get(inquiry_id: str) -> Ticket:
            t = ops.ticket(inquiry_id)
            assert t is not None
            return t

        self.held = {}
        self.holding = {}
        self.n_held = {}
        for name, ids in state["held"].items():
            self.held[name] = []
            for i in ids:
                self._push(get(i))
        self._watch()  # (a snapshot from before every outbound queue had a heap)
        self.active = {k: get(k) for k in state["active"]}
        self.need, self.need_at = state["need"]
        self.deadlines = {k: d for k, d in state.get("deadlines", [])}


def _by_seq(t: Ticket) -> int:
    return t.seq
