"""Hours of operation: closed queues, their arrivals, and waiting work at closing.

Theory of operation
-------------------
A queue with ``hours`` (Amazon Connect's hours of operation, Genesys Cloud's
schedules) is open inside its spans and closed outside them, on the router's
clock (``[routing.clock]``, ``router/config/clock.py``). Whether it is open at
``now`` is a bisection over the week's boundaries of its
:class:`~router.config.clock.WeekSchedule`, so an arrival pays O(log spans) and
nothing is scanned.

* **Arrivals while closed** get the queue's ``closed`` outcome, reason
  ``closed``: ``reject`` (``Rejected``), ``deflect`` (``Deflected``), or
  ``callback``: the customer hangs up and is called back when the queue opens.
  Such a callback is held out of line (a callback between attempts,
  ``router/policies/callbacks.py``) with a timer at the opening; then it goes in
  line at its arrival time and priority, ahead of the day's new arrivals, and an
  agent calls back as for any callback. A callback whose retry comes due while
  its queue is closed waits for the opening the same way.
* **Transitions** are deadlines in the core's heap: one named timer per queue
  (``hours:<queue>``) at its next opening or closing. The timer emits
  ``QueueOpened`` / ``QueueClosed`` and applies ``at_close``: ``serve`` (the
  default) leaves waiting inquiries in line for the agents still there;
  ``closed`` gives each of them the ``closed`` outcome (in line order; a callback
  keeps its place for the opening). Offers and work in flight always finish;
  with ``closed``, one that comes back into line while the queue is closed (a
  declined or expired offer, a hand-back, an overflow move) gets the outcome
  then, so a closed queue answers nobody.
* A reconfigure recomputes every schedule; a change of state it causes is
  announced but does not apply ``at_close`` (that happens at scheduled closings).

The open flags (for the events) are a function of the schedule and ``now``
between transitions, so a snapshot needs only the pending timers.
"""

from __future__ import annotations

from typing import Literal

from router.config import RouterConfig
from router.config.clock import WeekSchedule, queue_schedules
from router.events import Deflected, QueueClosed, QueueOpened, Rejected
from router.model import Admission
from router.policies.callbacks import Callbacks
from router.policies.timers import NamedTimers
from router.state.ops import CoreOps
from router.state.records import QueueState, Ticket

__all__ = ["T_HOURS", "Hours"]

#: Purpose of a queue's transition timer (``K_BP`` deadline; obj: its NamedTimer).
T_HOURS = 5

CLOSED = "closed"


class Hours:
    """The hours of operation of every queue that has them."""

    __slots__ = ("at_close", "callbacks", "closed", "open", "ops", "schedules", "timers")

    def __init__(self, ops: CoreOps, timers: NamedTimers, callbacks: Callbacks) -> None:
        self.ops = ops
        self.timers = timers
        self.callbacks = callbacks
        self.schedules: dict[str, WeekSchedule] = {}
        self.closed: dict[str, str] = {}
        self.at_close: dict[str, str] = {}
        #: state as of the last transition (what QueueOpened/QueueClosed announced)
        self.open: dict[str, bool] = {}

    def configure(self, cfg: RouterConfig) -> None:
        """(Re)read every queue's hours; announce a state the new hours change; time the
        next transitions."""
        ops = self.ops
        now = ops.now
        self.schedules = queue_schedules(cfg)
        self.closed = {q.name: q.closed for q in cfg.queues if q.hours}
        self.at_close = {q.name: q.at_close for q in cfg.queues if q.hours}
        old = self.open
        self.open = {}
        for name, s in self.schedules.items():
            is_open = s.is_open(now)
            self.open[name] = is_open
            if name in old and old[name] != is_open:
                self._announce(name, is_open, 0)
            self.timers.schedule(f"hours:{name}", s.next_change(now), name, T_HOURS)

    def timer_names(self) -> dict[str, str]:
        """Named timer -> target (the queue name), to restore a snapshot's timers."""
        return {f"hours:{name}": name for name in self.schedules}

    # ------------------------------------------------------------------ questions

    def closed_now(self, queue: QueueState) -> bool:
        """Whether ``queue`` is closed at the router's time."""
        s = self.schedules.get(queue.name)
        return s is not None and not s.is_open(self.ops.now)

    def next_open(self, queue: QueueState) -> float:
        """When ``queue`` is next open (now if it is)."""
        s = self.schedules.get(queue.name)
        return s.next_open(self.ops.now) if s is not None else self.ops.now

    # ------------------------------------------------------------------ arrivals

    def arrival(self, t: Ticket) -> Admission:
        """The ``closed`` outcome of an arrival at a closed queue."""
        ops = self.ops
        q = t.queue
        now = ops.now
        opens = self.next_open(q)
        c = ops.counters
        c.submitted += 1
        c.closed += 1
        action = self.closed[q.name]
        if action == "callback":
            t.patience_at = None  # the customer hung up
            ops.hold(t)
            self.callbacks.park(t, opens - now, reason=CLOSED)
            self.callbacks.hold_until(t, opens)
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome="callback",
                expected_wait_s=opens - now,
                reason=CLOSED,
            )
        outcome: Literal["rejected", "deflected"] = (
            "deflected" if action == "deflect" else "rejected"
        )
        if outcome == "deflected":
            c.deflected += 1
            ops.emit(
                Deflected(at=now, version=ops.version, inquiry_id=t.id, queue=q.name, reason=CLOSED)
            )
        else:
            c.rejected += 1
            ops.emit(
                Rejected(at=now, version=ops.version, inquiry_id=t.id, queue=q.name, reason=CLOSED)
            )
        return Admission(
            inquiry_id=t.id,
            queue=q.name,
            outcome=outcome,
            expected_wait_s=opens - now,
            reason=CLOSED,
        )

    def retry_due(self, t: Ticket) -> bool:
        """A callback's retry came due: if its queue is closed, it waits for the opening
        (True); else the caller puts it back in line (False)."""
        if not self.schedules or not self.closed_now(t.queue):
            return False
        self.callbacks.hold_until(t, self.next_open(t.queue))
        return True

    # ------------------------------------------------------------------ transitions

    def on_timer(self, name: str) -> None:
        """A queue's transition timer fired (the named timer is already marked fired)."""
        s = self.schedules.get(name)
        if s is None:
            return  # its hours were removed by a reconfigure
        ops = self.ops
        now = ops.now
        is_open = s.is_open(now)
        if is_open != self.open.get(name):
            self.open[name] = is_open
            n = 0 if is_open else self._closing(name)
            self._announce(name, is_open, n)
        self.timers.schedule(f"hours:{name}", s.next_change(now), name, T_HOURS)

    def _announce(self, name: str, is_open: bool, outcomes: int) -> None:
        ops = self.ops
        if is_open:
            ops.emit(QueueOpened(at=ops.now, version=ops.version, queue=name))
        else:
            ops.emit(QueueClosed(at=ops.now, version=ops.version, queue=name, outcomes=outcomes))

    def _closing(self, name: str) -> int:
        """Apply ``at_close = "closed"`` to the queue's waiting inquiries; how many."""
        if self.at_close.get(name) != "closed":
            return 0
        ops = self.ops
        q = ops.queue(name)
        if q is None or not q.n_waiting:
            return 0
        line = sorted(q.waiting(), key=_in_line)
        opens = self.next_open(q)
        for t in line:
            self._close_one(t, opens)
        return len(line)

    def back_in_line(self, t: Ticket) -> None:
        """Waiting ``t`` came back into line (a declined or expired offer, a hand-back, an
        overflow move): in a queue closed with ``at_close = "closed"`` it gets the
        ``closed`` outcome at once, as it would have at the closing."""
        q = t.queue
        if self.at_close.get(q.name) == "closed" and self.closed_now(q):
            self._close_one(t, self.next_open(q))

    def _close_one(self, t: Ticket, opens: float) -> None:
        ops = self.ops
        name = t.queue.name
        now = ops.now
        ops.counters.closed += 1
        if self.closed[name] == "callback":
            ops.park(t)
            t.patience_at = None
            if self.callbacks.is_callback(t):
                self.callbacks.announce(t, opens - now, reason=CLOSED)
            else:
                self.callbacks.park(t, opens - now, reason=CLOSED)
            self.callbacks.hold_until(t, opens)
        else:
            ops.estimator.on_removed(name, now - t.entered)
            cls = Deflected if self.closed[name] == "deflect" else Rejected
            ops.end(t, cls(at=now, version=ops.version, inquiry_id=t.id, queue=name, reason=CLOSED))


def _in_line(t: Ticket) -> tuple[float, int]:
    return (t.aged, t.seq)
