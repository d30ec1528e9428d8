"""Surge mode: detect a flood with hysteresis, and switch a bundle of measures on and off.

Theory of operation
-------------------
After every matching pass (and at its own timer) the detector measures the
watched queues: the expected wait of a new arrival at the back of each one and
the number waiting in all of them. Outside surge, when either crosses its
``enter_*`` threshold, the crossing must *last* ``enter_after_s`` (every
measurement in between still above; a timer makes sure the check happens even
if nothing else does) before ``SurgeStarted``. In surge, ``SurgeEnded`` needs
both measures below their ``exit_*`` thresholds for ``exit_after_s``. The gap
between the two thresholds and the two hold times is the hysteresis: a queue
hovering around one threshold does not flap.

While in surge the router applies the configured bundle:

* ``caps``: chat (or any channel) caps are raised to the given value, never
  above the channel's hard maximum and only for agents who serve that channel;
  when surge ends the normal caps return (work in flight is never preempted);
* ``wrap_up_s``: wrap-up is shortened to at most this;
* ``relax_steps``: waiting inquiries, and new ones, jump to their queue's last
  skill-relaxation step;
* ``pause_outbound``: proactive outbound tasks stay held;
* ``callbacks``: the ``callback`` policy runs first for every arrival, even if
  it is not in the chain.

On every toggle each agent is re-evaluated: caps recomputed, version bumped,
ready agents re-listed, guardrail timers rescheduled, so the wellbeing
guardrails suspended in surge (``wellbeing.suspend_in_surge``) switch at once.
"""

from __future__ import annotations

from typing import Any

from router.config import RouterConfig, SurgeConfig
from router.events import SurgeEnded, SurgeStarted
from router.policies.admission import T_SURGE
from router.policies.timers import NamedTimers
from router.state.estimate import WaitEstimator
from router.state.ops import CoreOps
from router.state.records import WAITING, pool_slots

__all__ = ["SurgeControl"]

#: what one queue's expected wait in :meth:`SurgeControl.measure` depends on: the
#: estimator, the queue's measurement version and ``gap``, the prior handle time, the
#: number waiting, the queue's priority, ``priority_seconds`` and the capacity slots
_MeasureKey = tuple[WaitEstimator, int, "float | None", float, int, int, float, float]


class SurgeControl:
    """The surge detector and the bundle it applies."""

    def __init__(self, ops: CoreOps, timers: NamedTimers) -> None:
        self.ops = ops
        self.timers = timers
        self.cfg: SurgeConfig | None = None
        self.enabled = False
        self.watched: list[str] = []
        self.since: float | None = None  # when the current crossing began
        self.caps: dict[str, int] = {}
        self.relax = False
        self.callbacks = False
        # queue -> the arguments of its last measurement and the expected wait they gave
        self._measured: dict[str, tuple[_MeasureKey, float]] = {}

    def configure(self, cfg: RouterConfig) -> None:
        s = cfg.backpressure.surge
        self.cfg = s
        self.enabled = s is not None
        self.watched = (list(s.queues) if s is not None else []) or [q.name for q in cfg.queues]
        self.caps = dict(s.caps) if s is not None else {}
        self.relax = s is not None and s.relax_steps
        self.callbacks = s is not None and s.callbacks
        if s is None and self.ops.in_surge:
            self._set(False, "surge_disabled")

    # ------------------------------------------------------------------ the bundle

    @property
    def relax_now(self) -> bool:
        return self.relax and self.ops.in_surge

    def cap(self, channel: str, cap: int) -> int:
        """An agent's cap on ``channel`` (``cap`` from its spec) in the current mode."""
        if cap > 0 and self.ops.in_surge:
            raised = self.caps.get(channel)
            if raised is not None and raised > cap:
                return raised
        return cap

    def wrap_up(self, wrap: float) -> float:
        """Wrap-up time in the current mode."""
        s = self.cfg
        if s is not None and s.wrap_up_s is not None and self.ops.in_surge and wrap > s.wrap_up_s:
            return s.wrap_up_s
        return wrap

    # ------------------------------------------------------------------ detection

    def measure(self) -> tuple[float, str, int]:
        """The largest expected wait of a new arrival over watched queues (and which queue),
        and the number waiting in them.

        It runs after every matching pass, mostly with nothing changed for a watched
        queue since the last one: a queue's expected wait is computed again only when its
        arguments or its measurements (``WaitEstimator.version``) changed."""
        ops = self.ops
        est = ops.estimator
        measured = self._measured
        worst = 0.0
        worst_q = ""
        depth = 0
        for name in self.watched:
            q = ops.queue(name)
            if q is None or q.removed or not q.n_waiting:
                continue
            n = q.n_waiting
            depth += n
            slots = 1.0
            gap = est.gap.get(name)
            if gap is None:
                slots = pool_slots(q.pools[0]) if q.pools else 1.0
            ps = ops.priority_seconds
            key: _MeasureKey = (
                est,
                est.version(name),
                gap,
                est.prior_handle_s,
                n,
                q.priority,
                ps,
                slots,
            )
            last = measured.get(name)
            if last is not None and last[0] == key:
                ewt = last[1]
            else:
                ewt = est.expected_wait(name, n + 1, q.priority, ps, slots)
                measured[name] = (key, ewt)
            if ewt > worst:
                worst, worst_q = ewt, name
        return worst, worst_q, depth

    def evaluate(self, now: float) -> None:
        s = self.cfg
        if s is None:
            return
        ewt, queue, depth = self.measure()
        surge = self.ops.in_surge
        if not surge:
            why = ""
            if s.enter_wait_s is not None and ewt > s.enter_wait_s:
                why = f"expected_wait: {queue} {ewt:.0f} s > {s.enter_wait_s:g} s"
            elif s.enter_waiting is not None and depth > s.enter_waiting:
                why = f"waiting: {depth} > {s.enter_waiting}"
            hold = s.enter_after_s
        else:
            exit_wait = s.exit_wait_s
            if exit_wait is None and s.enter_wait_s is not None:
                exit_wait = s.enter_wait_s / 2
            exit_waiting = s.exit_waiting
            if exit_waiting is None and s.enter_waiting is not None:
                exit_waiting = (s.enter_waiting + 1) // 2  # half, rounded up: 1 stays 1
            low_wait = exit_wait is None or ewt < exit_wait
            low_depth = exit_waiting is None or depth < exit_waiting
            why = ""
            if low_wait and low_depth:
                parts = []
                if exit_wait is not None:
                    parts.append(f"expected_wait {ewt:.0f} s < {exit_wait:g} s")
                if exit_waiting is not None:
                    parts.append(f"waiting {depth} < {exit_waiting}")
                why = ", ".join(parts)
            hold = s.exit_after_s
        if not why:
            self.since = None
            return
        if self.since is None:
            self.since = now
        if now - self.since >= hold:
            self.since = None
            self._set(not surge, f"{why} for {hold:g} s")
        else:
            self.timers.schedule("surge", self.since + hold, self, T_SURGE)

    def on_timer(self) -> None:
        self.evaluate(self.ops.now)

    def _set(self, on: bool, reason: str) -> None:
        """Enter or leave surge; the core re-evaluates every agent."""
        ops = self.ops
        c = ops.counters
        if on:
            c.surges += 1
            ops.emit(SurgeStarted(at=ops.now, version=ops.version, reason=reason))
        else:
            ops.emit(SurgeEnded(at=ops.now, version=ops.version, reason=reason))
        ops.set_surge(on)
        if on and self.relax:
            self.relax_all()

    def relax_all(self) -> int:
        """Every waiting inquiry jumps to its queue's last relaxation step."""
        ops = self.ops
        moved = 0
        for t in list(ops.tickets()):
            steps = t.queue.steps
            if t.state != WAITING or not steps or t.step >= len(steps):
                continue
            ops.relax(t, len(steps))
            moved += 1
        return moved

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> Any:
        return {"since": self.since}

    def load(self, state: Any) -> None:
        if state:
            self.since = state.get("since")
