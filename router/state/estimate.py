"""Expected wait: what the router tells an arrival, from measured rates and its place in line.

Theory of operation
-------------------
For each queue the estimator measures three things, all smoothed by an
exponentially weighted mean over events (weight ``alpha``, default 0.05, i.e.
about the last 20 events):

* ``gap``: the time between two answers *while the queue was backlogged*. An
  answer feeds ``decided - max(last answer, the inquiry's entry)``, so idle
  stretches (an empty queue, an arrival answered at once) never inflate it;
  ``1 / gap`` is the queue's measured service rate ``r``, whatever the staffing,
  the chat caps or the competition with other queues for the same agents.
* ``theta``: the abandonment hazard of a waiting customer, the censored
  exponential estimate ``abandons / total time waited`` over inquiries leaving
  the line (answered ones are censored observations of patience).
* the arrival rate of each priority class, to foresee overtaking.

A customer at position ``n`` (``n - 1`` ahead of it) moves up when an agent
takes the head (rate ``r``) or one of the ``i`` customers ahead abandons (rate
``i * theta``), so (Ibrahim & Whitt 2009, the ``QL_m`` estimator)::

    W(n) = sum_{i=0}^{n-1} 1 / (r + i * theta) = (psi(r/theta + n) - psi(r/theta)) / theta

with ``psi`` the digamma function (``n / r`` when nobody abandons). At 20x load
the naive ``n / r`` overstates the wait several times over, because most of the
line ahead abandons; ``W(n)`` does not. Customers of higher priority arriving
later overtake: ``lambda_hi * min(W, dp * priority_seconds)`` of them join ahead
before the customer is served (aging stops them after ``dp * priority_seconds``),
which one fixed-point step adds to ``n``.

Before a queue has been backlogged at all the rate comes from eligible capacity:
``slots / handle``, with the measured mean handle time (or ``prior_handle_s``).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["WaitEstimator", "digamma", "wait_for_position"]


def digamma(x: float) -> float:
    """Digamma for ``x > 0``: recurrence up to ``x >= 10``, then the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return (
        acc
        + math.log(x)
        - 0.5 / x
        - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    )


def wait_for_position(n: float, rate: float, theta: float) -> float:
    """``sum_{i<n} 1 / (rate + i * theta)``, continuous in ``n`` (``n`` >= 0)."""
    if n <= 0:
        return 0.0
    if theta <= 0.0 or theta < rate * 1e-9:
        return n / rate
    a = rate / theta
    if n < 8:  # direct sum: cheaper and exact for small lines
        k = int(n)
        total = sum(1.0 / (rate + i * theta) for i in range(k))
        if n > k:
            total += (n - k) / (rate + k * theta)
        return total
    return (digamma(a + n) - digamma(a)) / theta


#: Time constants (s) of the slower service-rate measurements, used for long predicted waits.
HORIZONS = (600.0, 3600.0)


class _Rates:
    """Per-queue smoothed measurements beyond ``gap`` (kept for the snapshot as a list)."""

    __slots__ = ("abandon", "arrival_gap", "arrival_last", "handle", "slow", "t_slow", "waited")

    def __init__(self) -> None:
        # per horizon: decayed count of answers and decayed backlogged time
        self.slow = [0.0] * (2 * len(HORIZONS))
        self.t_slow = 0.0
        self.abandon = 0.0  # EWMA of "this departure from the line was an abandonment"
        self.waited = 0.0  # EWMA of the time that departure had waited
        self.handle = 0.0  # EWMA of handle time (0 = unknown)
        self.arrival_gap: dict[int, float] = {}  # priority -> EWMA inter-arrival time
        self.arrival_last: dict[int, float] = {}


class WaitEstimator:
    """Measures per-queue service and abandonment rates; predicts the wait for a position."""

    __slots__ = ("alpha", "gap", "last", "prior_handle_s", "rates")

    def __init__(self, alpha: float = 0.05, prior_handle_s: float = 180.0) -> None:
        self.alpha = alpha
        self.prior_handle_s = prior_handle_s
        self.gap: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.rates: dict[str, _Rates] = {}

    def _r(self, queue: str) -> _Rates:
        r = self.rates.get(queue)
        if r is None:
            r = self.rates[queue] = _Rates()
        return r

    # ------------------------------------------------------------------ observations

    def on_arrival(self, queue: str, priority: int, now: float) -> None:
        """An inquiry of ``priority`` arrived (feeds the overtaking forecast)."""
        r = self._r(queue)
        last = r.arrival_last.get(priority)
        r.arrival_last[priority] = now
        if last is not None:
            g = now - last
            prev = r.arrival_gap.get(priority)
            r.arrival_gap[priority] = g if prev is None else prev + self.alpha * (g - prev)

    def on_answer(self, queue: str, decided: float, entered: float = -math.inf) -> None:
        """An inquiry that entered the line at ``entered`` was given to an agent at ``decided``."""
        last = self.last.get(queue)
        self.last[queue] = decided
        waited = decided - entered
        if waited > 0.0:
            start = entered if last is None or entered > last else last
            g = decided - start
            if g < 0.0:
                g = 0.0
            prev = self.gap.get(queue)
            self.gap[queue] = g if prev is None else prev + self.alpha * (g - prev)
            r = self._r(queue)
            dt = decided - r.t_slow if r.t_slow else 0.0
            r.t_slow = decided
            slow = r.slow
            for i, h in enumerate(HORIZONS):
                f = math.exp(-dt / h) if dt > 0.0 else 1.0
                slow[2 * i] = slow[2 * i] * f + 1.0
                slow[2 * i + 1] = slow[2 * i + 1] * f + g
        self._leave(queue, waited if waited > 0.0 else 0.0, 0.0)

    def on_abandon(self, queue: str, waited: float) -> None:
        """A customer left the line after ``waited`` seconds (patience ran out, withdrew)."""
        self._leave(queue, waited, 1.0)

    def on_removed(self, queue: str, waited: float) -> None:
        """An inquiry left the line for another reason (shed, overflowed): censored patience."""
        self._leave(queue, waited, 0.0)

    def _leave(self, queue: str, waited: float, abandoned: float) -> None:
        r = self._r(queue)
        a = self.alpha
        r.abandon += a * (abandoned - r.abandon)
        r.waited += a * (waited - r.waited)

    def on_complete(self, queue: str, handle: float) -> None:
        """An agent finished an inquiry of ``queue`` after ``handle`` seconds."""
        r = self._r(queue)
        r.handle = handle if r.handle == 0.0 else r.handle + self.alpha * (handle - r.handle)

    # ------------------------------------------------------------------ predictions

    def rate(self, queue: str, slots: float = 1.0) -> float:
        """Answers per second while backlogged; ``slots / handle`` until that is measured."""
        g = self.gap.get(queue)
        if g is not None and g > 0.0:
            return 1.0 / g
        r = self.rates.get(queue)
        handle = r.handle if r is not None and r.handle > 0.0 else self.prior_handle_s
        return max(slots, 1.0) / handle

    def theta(self, queue: str) -> float:
        """Measured abandonment hazard of a waiting customer (per second)."""
        r = self.rates.get(queue)
        if r is None or r.waited <= 0.0:
            return 0.0
        return r.abandon / r.waited

    def expected_wait(
        self,
        queue: str,
        position: int,
        priority: int | None = None,
        priority_seconds: float = 0.0,
        slots: float = 1.0,
    ) -> float:
        """Expected wait of the customer at ``position`` (1 = next) in ``queue``.

        With ``priority`` given, later arrivals of higher priority that will overtake
        it are added to the line ahead.
        """
        if position <= 0:
            return 0.0
        rate = self.rate(queue, slots)
        theta = self.theta(queue)
        w = wait_for_position(position, rate, theta)
        r = self.rates.get(queue)
        if r is not None:
            # a long wait depends on the rate over a long time: use the slower measurements
            slow = r.slow
            for i, h in enumerate(HORIZONS):
                if w < h:
                    break
                count, busy = slow[2 * i], slow[2 * i + 1]
                if count < 10.0 or busy <= 0.0:
                    break
                rate = count / busy
                w = wait_for_position(position, rate, theta)
        if (
            priority is not None
            and priority_seconds > 0.0
            and r is not None
            and len(r.arrival_gap) > 1
        ):
            extra = 0.0
            for p, g in r.arrival_gap.items():
                if p > priority and g > 0.0:
                    extra += min(w, (p - priority) * priority_seconds) / g
            if extra > 0.0:
                w = wait_for_position(position + extra, rate, theta)
        return w

    # ------------------------------------------------------------------ snapshot

    def extra_state(self) -> dict[str, Any]:
        """State beyond ``gap``/``last`` (which the core snapshot stores itself)."""
        return {
            q: [
                r.abandon,
                r.waited,
                r.handle,
                list(r.arrival_gap.items()),
                list(r.arrival_last.items()),
                list(r.slow),
                r.t_slow,
            ]
            for q, r in self.rates.items()
        }

    def load_extra_state(self, data: dict[str, Any]) -> None:
        self.rates = {}
        for q, (abandon, waited, handle, gaps, lasts, slow, t_slow) in data.items():
            r = self.rates[q] = _Rates()
            r.abandon, r.waited, r.handle = abandon, waited, handle
            r.arrival_gap = {int(p): g for p, g in gaps}
            r.arrival_last = {int(p): t for p, t in lasts}
            r.slow = list(slow)
            r.t_slow = t_slow
