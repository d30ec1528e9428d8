"""Callbacks that keep a customer's place.

Theory of operation
-------------------
When the ``callback`` policy (or surge mode) takes an arrival as
a callback, the inquiry stays in its pool's waiting heap under its original key
(arrival time and priority), so it keeps its place exactly, but its patience is
switched off: the customer hung up and will not abandon. When its place comes
up, the ordinary matching gives it to an agent: that ``Offered``/``Assigned`` is
the outbound call reserved for the place. If the call does not reach the
customer, the adapter reports :meth:`Router.callback_failed`; the inquiry then
leaves the line (state ``PARKED``, out of every heap, keeping its key) and a
timer puts it back at its original place ``retry_s`` later, or after
``max_attempts`` it ends with ``Abandoned`` (reason ``callback_unreached``).
A reached callback ends like any inquiry (``Assigned``); it is counted once in
its outcome and once in ``counters.callbacks``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from router.config import RouterConfig
from router.errors import InvalidState
from router.events import Abandoned, CallbackScheduled, Rejected, Requeued
from router.policies.admission import T_RETRY, CallbackOffer
from router.state.ops import CoreOps
from router.state.records import ASSIGNED, OFFERED, PARKED, WAITING, Ticket
from router.values import wire_seconds

__all__ = ["Callbacks"]


class Callbacks:
    """Parked callbacks: who they are, attempts made, retries."""

    def __init__(self, ops: CoreOps) -> None:
        self.ops = ops
        self.parked: dict[str, Ticket] = {}
        self.attempts: dict[str, int] = {}
        # callbacks between attempts: out of line but holding a place (bounds count them)
        self.retrying: dict[str, Ticket] = {}
        self.retrying_in: dict[str, int] = {}
        self.retry_s = 300.0
        self.max_attempts = 3
        self.policy: CallbackOffer | None = None
        self._compact_at = 64

    def configure(self, cfg: RouterConfig) -> None:
        c = cfg.backpressure.callback
        self.retry_s = c.retry_s
        self.max_attempts = c.max_attempts
        self.policy = CallbackOffer(cfg)

    def is_callback(self, t: Ticket) -> bool:
        return bool(self.parked) and self.parked.get(t.id) is t

    def park(self, t: Ticket, ewt: float, reason: str = "") -> None:
        """``t`` was just admitted as a callback (its patience already switched off)."""
        ops = self.ops
        if len(self.parked) >= self._compact_at:
            live = ops.ticket
            self.parked = {k: v for k, v in self.parked.items() if live(k) is v}
            self.attempts = {k: n for k, n in self.attempts.items() if k in self.parked}
            self._compact_at = 2 * len(self.parked) + 64
        self.parked[t.id] = t
        # a new callback: attempts are kept by id until a compaction, so an earlier
        # inquiry's under the same id must not count for this one
        self.attempts.pop(t.id, None)
        c = ops.counters
        c.callbacks += 1
        self.announce(t, ewt, reason)

    def announce(self, t: Ticket, ewt: float, reason: str = "") -> None:
        """Tell the customer of callback ``t`` when to expect the call (``CallbackScheduled``)."""
        ops = self.ops
        ops.emit(
            CallbackScheduled(
                at=ops.now,
                version=ops.version,
                inquiry_id=t.id,
                queue=t.queue.name,
                expected_wait_s=wire_seconds(ewt),
                reason=reason,
            )
        )

    def hold_until(self, t: Ticket, at: float) -> None:
        """Callback ``t`` (parked, out of line) holds its place until ``at``, then goes back
        in line (:meth:`on_retry`); bounds count it meanwhile. Used by hours of operation."""
        if self.retrying.get(t.id) is not t:
            self.retrying[t.id] = t
            name = t.queue.name
            self.retrying_in[name] = self.retrying_in.get(name, 0) + 1
        self.ops.schedule(at, t, T_RETRY)

    def failed(self, t: Ticket) -> None:
        """The call for ``t`` did not reach the customer: retry later or give up."""
        ops = self.ops
        if not self.is_callback(t):
            raise InvalidState(f"inquiry {t.id!r} is not a callback")
        if t.state not in (OFFERED, ASSIGNED):
            state = {WAITING: "waiting", PARKED: "parked"}.get(t.state, "finished")
            raise InvalidState(
                f"inquiry {t.id!r} is {state}; only a callback on offer or assigned can fail"
            )
        ops.release(t)  # the agent never talked to the customer
        n = self.attempts.get(t.id, 0) + 1
        self.attempts[t.id] = n
        c = ops.counters
        c.callback_attempts_failed += 1
        now = ops.now
        if n >= self.max_attempts:
            del self.parked[t.id]
            del self.attempts[t.id]
            ops.end(
                t,
                Abandoned(
                    at=now,
                    version=ops.version,
                    inquiry_id=t.id,
                    queue=t.queue.name,
                    wait_s=now - t.arrival,
                    reason=f"callback_unreached: {n} attempts",
                ),
            )
            return
        self._prune_retrying()
        self.retrying[t.id] = t
        name = t.queue.name
        self.retrying_in[name] = self.retrying_in.get(name, 0) + 1
        at = now + self.retry_s
        ops.schedule(at, t, T_RETRY)
        ops.emit(
            Requeued(
                at=now,
                version=ops.version,
                inquiry_id=t.id,
                queue=t.queue.name,
                reason=f"callback_unreached: attempt {n} of {self.max_attempts}, retry at {at:g}",
            )
        )

    def _forget_retry(self, t: Ticket) -> None:
        if self.retrying.pop(t.id, None) is not None:
            self.retrying_in[t.queue.name] -= 1

    def withdrawn(self, t: Ticket) -> None:
        """A parked ``t`` was withdrawn: it no longer holds a place."""
        if self.retrying and self.retrying.get(t.id) is t:
            self._forget_retry(t)

    def between_attempts_in(self, names: Collection[str]) -> list[Ticket]:
        """The callbacks between two attempts that hold a place in one of the queues
        ``names`` (a reconfigure removing them moves or ends these too)."""
        if not self.retrying:
            return []
        live = self.ops.ticket
        return [t for k, t in self.retrying.items() if t.queue.name in names and live(k) is t]

    def moved(self, t: Ticket, old: str) -> None:
        """``t``, between attempts, left queue ``old`` for ``t.queue`` (a removed queue's
        hand-over): its place now counts there until its retry."""
        self.retrying_in[old] -= 1
        name = t.queue.name
        self.retrying_in[name] = self.retrying_in.get(name, 0) + 1

    def _prune_retrying(self) -> None:
        """Drop callbacks withdrawn while between attempts (rare; done on each failure)."""
        live = self.ops.ticket
        for k, t in list(self.retrying.items()):
            if live(k) is not t:
                self._forget_retry(t)

    def on_retry(self, t: Ticket) -> None:
        """Back to the original place in line for another attempt."""
        ops = self.ops
        self._forget_retry(t)
        if t.queue.removed:
            ops.end(
                t,
                Rejected(
                    at=ops.now,
                    version=ops.version,
                    inquiry_id=t.id,
                    queue=t.queue.name,
                    reason="queue_removed",
                ),
            )
            return
        ops.enqueue(t)

    def dump(self) -> Any:
        """``[id, attempts, between attempts (1/0)]`` per callback: a parked callback may be
        held by another policy (an outbound queue it was moved to), not retrying."""
        live = self.ops.ticket
        retrying = self.retrying
        return [
            [k, self.attempts.get(k, 0), int(retrying.get(k) is t)]
            for k, t in self.parked.items()
            if live(k) is t
        ]

    def load(self, state: Any) -> None:
        if not state:
            return
        live = self.ops.ticket
        parked: dict[str, Ticket] = {}
        for row in state:
            k = row[0]
            t = live(k)
            assert t is not None
            parked[k] = t
            # older snapshots say nothing of it: a parked callback was between attempts
            between = bool(row[2]) if len(row) > 2 else t.state == PARKED
            if between:
                self.retrying[t.id] = t
                self.retrying_in[t.queue.name] = self.retrying_in.get(t.queue.name, 0) + 1
        self.parked = parked
        self.attempts = {row[0]: row[1] for row in state if row[1]}
        self._compact_at = 2 * len(self.parked) + 64
