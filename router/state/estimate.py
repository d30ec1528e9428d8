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
``slots / handle``, with the measured mean handle time (or ``prior_handle_s``);
``slots`` is the sum of the caps on the queue's channel over the eligible agents
(``router/state/records.py``: ``pool_slots``, a counter, not a sample of a heap).

Staffing that changes. The measurements are made with the agents who could serve
the queue at the time (``staff``: agents on shift eligible for it, on a break or
not). When that number changes (logins, logouts, shift changes), every rate of the
queue is rescaled by the ratio (:meth:`WaitEstimator.restaff`): a measured rate is
a rate per agent times the agents, and 190 agents logging in multiply it at once
instead of over the next hour of measurements. Changes the schedules announce
(``router/state/staffing.py``: agents logged in ahead of their shift, shift ends)
make the rate piecewise constant over the wait; the customer then moves up through
the segments (:func:`wait_through`), each one the same pure-death line, entered with
the people still ahead.

Moves count as service. An inquiry that overflows out of the line (second pass)
frees its place like an answer: the team of the queue it moved to serves it. Moves
are measured apart (a decayed count, :meth:`WaitEstimator.on_moved`, called by
``router/policies/control.py``) and their rate is added to the answer rate: it
belongs to the other team, so it does not grow or shrink with this queue's staffing.

Arrival rate that decays. Besides the gaps per priority (overtaking), each queue
keeps an exponentially decayed count of arrivals (time constant
``arrival_window_s``): :meth:`WaitEstimator.arrival_rate` falls when arrivals stop,
where a mean of inter-arrival gaps would stay where the last arrival left it (the
outbound gate, ``router/policies/outbound.py``, relies on it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final, final

__all__ = [
    "QueueRates",
    "WaitEstimator",
    "digamma",
    "inverse_digamma",
    "wait_for_position",
    "wait_through",
]


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


def trigamma(x: float) -> float:
    """Trigamma for ``x > 0``: recurrence up to ``x >= 10``, then the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    return acc + 1.0 / x + f / 2.0 + f / x * (1.0 / 6 - f * (1.0 / 30 - f / 42))


def inverse_digamma(y: float) -> float:
    """The ``x > 0`` with ``digamma(x) == y`` (Newton from Minka's starting point)."""
    x = math.exp(y) + 0.5 if y >= -2.22 else -1.0 / (y + 0.5772156649)
    for _ in range(8):
        step = (digamma(x) - y) / trigamma(x)
        x -= step
        if x <= 0.0:
            x = 1e-9
        if abs(step) < 1e-9 * x:
            break
    return x


def wait_through(n: float, theta: float, segments: list[tuple[float, float]]) -> float:
    """The wait of position ``n`` when the service rate changes: ``segments`` are
    ``(length_s, rate)`` in time order, the last one open (``inf``). Within a segment
    the line moves as in :func:`wait_for_position`; a segment that ends first leaves
    fewer people ahead for the next."""
    t = 0.0
    m = n
    for length, rate in segments:
        if rate <= 0.0:
            if not length < _INF_WAIT:
                return _INF_WAIT
            if theta > 0.0 and m > 1.0:  # nobody serves: only those ahead who give up move
                m = 1.0 + (m - 1.0) * math.exp(-theta * length)
            t += length
            continue
        whole = wait_for_position(m, rate, theta)
        if whole <= length:
            return t + whole
        if theta <= 0.0 or theta < rate * 1e-9:
            m -= rate * length
        else:
            a = rate / theta
            m = inverse_digamma(digamma(a + m) - theta * length) - a
        t += length
        if m <= 0.0:
            return t
    return t


_INF_WAIT: Final = math.inf  # Final: compiled, a constant (not a module-dict lookup)


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


#: Time constants (s) of the slower service-rate measurements, used for long predicted waits:
#: two, each a pair of native floats on the record (``QueueRates.n600`` ...: compiled, a list of
#: floats boxes every store)
_H600: Final = 600.0
_H3600: Final = 3600.0
HORIZONS: Final[tuple[float, ...]] = (_H600, _H3600)


@final
class _Arrivals:
    """One priority's arrivals at a queue (``QueueRates.arrivals``): the last one's time and the
    EWMA of the gaps between them, each once there is one (``has_last``, ``has_gap``)."""

    __slots__ = ("gap", "has_gap", "has_last", "last")

    def __init__(self) -> None:
        self.last = 0.0
        self.has_last = False
        self.gap = 0.0
        self.has_gap = False


@final
class QueueRates:
    """Per-queue smoothed measurements (kept for the snapshot as a list, but ``gap`` and
    ``last``, which the core snapshot stores as two dicts: :meth:`WaitEstimator.answers`)."""

    __slots__ = (
        "abandon",
        "arr_n",
        "arr_t",
        "arr_t0",
        "arrivals",
        "b600",
        "b3600",
        "dropped",
        "gap",
        "gap_order",
        "handle",
        "has_gap",
        "has_last",
        "last",
        "last_arrivals",
        "last_priority",
        "mv_n",
        "mv_t",
        "n600",
        "n3600",
        "settle_until",
        "staff",
        "t_slow",
        "ver",
        "waited",
    )

    def __init__(self) -> None:
        # the answers: the last one's time, the EWMA of the backlogged gaps between them
        # (each once there is one: ``has_last``, ``has_gap``; on the record, not in two
        # str-keyed dicts: one lookup per answer)
        self.last = 0.0
        self.has_last = False
        self.gap = 0.0
        self.has_gap = False
        # per horizon (HORIZONS): decayed count of answers and decayed backlogged time
        self.n600 = 0.0
        self.b600 = 0.0
        self.n3600 = 0.0
        self.b3600 = 0.0
        self.t_slow = 0.0
        self.abandon = 0.0  # EWMA of "this departure from the line was an abandonment"
        self.waited = 0.0  # EWMA of the time that departure had waited
        self.handle = 0.0  # EWMA of handle time (0 = unknown)
        #: priority -> its arrivals (one dict read per arrival, not four reads and writes
        #: of two dicts), in the order the priorities first arrived (``arrival_last``'s);
        #: the priorities in the order their first gap was measured (``arrival_gap``'s: the
        #: order :meth:`WaitEstimator.expected_wait` sums them in)
        self.arrivals: dict[int, _Arrivals] = {}
        #: the last arrival's priority and its entry of ``arrivals`` (the same object)
        self.last_priority = 0
        self.last_arrivals: _Arrivals | None = None
        self.gap_order: list[int] = []
        # arrivals decayed with time: count, when it was last decayed, the first arrival
        self.arr_n = 0.0
        self.arr_t = 0.0
        self.arr_t0 = _INF_WAIT
        self.staff = 0.0  # the agents the rates were measured with (0: not known)
        self.mv_n = 0.0  # moves out of the line (overflow), decayed like arrivals
        self.mv_t = 0.0
        self.settle_until = -_INF_WAIT  # after a large staffing change: no rate samples
        self.ver = 0  # WaitEstimator.version: renewed whenever a prediction's input changes
        #: no longer the queue's: :meth:`WaitEstimator.load_extra_state` replaced the records
        #: (a holder of this one, ``QueueState.est``, asks for the new one)
        self.dropped = False

    @property
    def slow(self) -> list[float]:
        """The horizons' counts and backlogged times, in HORIZONS' order: the snapshot's
        list."""
        return [self.n600, self.b600, self.n3600, self.b3600]

    @property
    def arrival_gap(self) -> dict[int, float]:
        """Priority -> EWMA inter-arrival time (built when read: the snapshot, the outbound
        gate)."""
        arrivals = self.arrivals
        return {p: arrivals[p].gap for p in self.gap_order}

    @property
    def arrival_last(self) -> dict[int, float]:
        """Priority -> the time of its last arrival (built when read)."""
        return {p: a.last for p, a in self.arrivals.items() if a.has_last}


@final
class Gaps:
    """``WaitEstimator.gap``: queue -> the EWMA of its backlogged answer gaps, read-only
    (``get``, ``[]``, ``in``, ``dict(...)``), read from the per-queue records."""

    __slots__ = ("_est",)

    def __init__(self, est: WaitEstimator) -> None:
        self._est = est

    def get(self, queue: str) -> float | None:
        r = self._est.rates.get(queue)
        return r.gap if r is not None and r.has_gap else None

    def __getitem__(self, queue: str) -> float:
        r = self._est.rates.get(queue)
        if r is None or not r.has_gap:
            raise KeyError(queue)
        return r.gap

    def __contains__(self, queue: object) -> bool:
        if not isinstance(queue, str):
            return False
        r = self._est.rates.get(queue)
        return r is not None and r.has_gap

    def keys(self) -> list[str]:
        return [q for q, r in self._est.rates.items() if r.has_gap]

    def items(self) -> list[tuple[str, float]]:
        return [(q, r.gap) for q, r in self._est.rates.items() if r.has_gap]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())


@final
class WaitEstimator:
    """Measures per-queue service and abandonment rates; predicts the wait for a position."""

    __slots__ = (
        "_bare_last",
        "alpha",
        "arrival_window_s",
        "changes",
        "gap",
        "prior_handle_s",
        "rates",
    )

    def __init__(self, alpha: float = 0.05, prior_handle_s: float = 180.0) -> None:
        self.alpha = alpha
        self.prior_handle_s = prior_handle_s
        self.arrival_window_s = 600.0
        self.rates: dict[str, QueueRates] = {}
        self.gap: Final = Gaps(self)  # read-only: the records' gaps
        #: an answer's time at a queue without a record (a callback answered at once, the
        #: queue's first observation): an answer that measures nothing makes no record
        #: (:meth:`restaff` starts with a record); the record made later takes it (``_r``)
        self._bare_last: dict[str, float] = {}
        self.changes = 0  # the last version given (version)

    def _r(self, queue: str) -> QueueRates:
        r = self.rates.get(queue)
        if r is None:
            r = self.rates[queue] = QueueRates()
            if self._bare_last:
                last = self._bare_last.pop(queue, None)
                if last is not None:
                    r.last = last
                    r.has_last = True
            self._changed(r)
        return r

    def _changed(self, r: QueueRates) -> None:
        self.changes += 1
        r.ver = self.changes

    def _touched(self, queue: str) -> QueueRates:
        """The measurements of ``queue`` (made on first use), their version renewed: one
        call where an observation took ``_r`` and ``_changed``."""
        r = self.rates.get(queue)
        if r is None:
            r = self._r(queue)
        self.changes += 1
        r.ver = self.changes
        return r

    def version(self, queue: str) -> int:
        """A number renewed whenever something :meth:`expected_wait` reads of ``queue``
        changes (``gap`` included), apart from the arrival and move counts that only a call
        with ``now`` reads: without ``now``, the same version and arguments give the same
        prediction (caches of predictions key on it). 0: nothing measured for ``queue``."""
        r = self.rates.get(queue)
        return r.ver if r is not None else 0

    # ------------------------------------------------------------------ records to hold

    # The core makes three observations per inquiry (an arrival, an answer, a completion):
    # it holds each queue's record (``QueueState.est``) and gives it to :meth:`arrival`,
    # :meth:`answer` and :meth:`complete`, where ``on_arrival``, ``on_answer`` and
    # ``on_complete`` (every other caller's) find it by name first. A record is its
    # queue's for the estimator's life but for :meth:`load_extra_state`, which replaces
    # them all and marks the old ones ``dropped``: a holder checks that and asks again.

    def record(self, queue: str) -> QueueRates | None:
        """The record of ``queue``'s measurements, ``None`` before its first."""
        return self.rates.get(queue)

    def made(self, queue: str) -> QueueRates:
        """The record of ``queue``'s measurements, made on first use (as an arrival or a
        completion makes it)."""
        return self._r(queue)

    # ------------------------------------------------------------------ observations

    def on_arrival(self, queue: str, priority: int, now: float) -> None:
        """An inquiry of ``priority`` arrived (feeds the overtaking forecast)."""
        r = self.rates.get(queue)
        if r is None:
            r = self._r(queue)
        self.arrival(r, priority, now)

    def arrival(self, r: QueueRates, priority: int, now: float) -> None:
        """:meth:`on_arrival` with the queue's record in hand (:meth:`made`)."""
        a = r.last_arrivals  # the priority of the last arrival's, mostly: no dict lookup
        if a is None or r.last_priority != priority:
            arrivals = r.arrivals
            a = arrivals.get(priority)
            if a is None:
                a = arrivals[priority] = _Arrivals()
            r.last_arrivals = a
            r.last_priority = priority
        if a.has_last:
            g = now - a.last
            if a.has_gap:
                prev = a.gap
                a.gap = prev + self.alpha * (g - prev)
            else:
                a.gap = g
                a.has_gap = True
                r.gap_order.append(priority)
            self.changes += 1  # _changed(r), inline: these run on every arrival and answer
            r.ver = self.changes
        a.last = now
        a.has_last = True
        if r.arr_t0 == _INF_WAIT:
            r.arr_t0 = r.arr_t = now
        elif now > r.arr_t:
            r.arr_n *= math.exp((r.arr_t - now) / self.arrival_window_s)
            r.arr_t = now
        r.arr_n += 1.0

    def arrival_rate(self, queue: str, now: float) -> float:
        """Arrivals per second over about the last ``arrival_window_s``, decayed to ``now``:
        it falls when arrivals stop (0 before the first)."""
        r = self.rates.get(queue)
        if r is None or r.arr_t0 == _INF_WAIT:
            return 0.0
        return self._per_s(r, r.arr_n, r.arr_t, now)

    def _per_s(self, r: QueueRates, n: float, at: float, now: float) -> float:
        tau = self.arrival_window_s
        n *= math.exp(min(0.0, at - now) / tau)
        # the first window is shorter than tau: divide by the time actually seen
        seen = tau * -math.expm1(-max(now - r.arr_t0, 1.0) / tau)
        return n / seen

    def on_moved(self, queue: str, now: float, waited: float) -> None:
        """An inquiry left ``queue``'s line for another queue (overflow) after ``waited``."""
        r = self._r(queue)
        if r.mv_n and now > r.mv_t:
            r.mv_n *= math.exp((r.mv_t - now) / self.arrival_window_s)
        r.mv_t = max(r.mv_t, now)
        r.mv_n += 1.0
        self._leave(queue, waited, 0.0)

    def move_rate(self, queue: str, now: float) -> float:
        """Moves out of ``queue``'s line per second, decayed like :meth:`arrival_rate`."""
        r = self.rates.get(queue)
        if r is None or not r.mv_n or r.arr_t0 == _INF_WAIT:
            return 0.0
        return self._per_s(r, r.mv_n, r.mv_t, now)

    def restaff(self, queue: str, staff: float, now: float) -> None:
        """The agents able to serve ``queue`` are now ``staff``: rescale its rates.

        After a large change (a quarter or more) the answers of the next handle time
        are a transient, not a rate: agents who came on shift together took the head
        of the line together and finish together. They are not measured.
        """
        r = self.rates.get(queue)
        if r is not None:
            self.rescale(r, staff, now)

    def rescale(self, r: QueueRates, staff: float, now: float) -> None:
        """:meth:`restaff` with the queue's record in hand (:meth:`record`)."""
        if staff <= 0.0:
            return
        old = r.staff
        r.staff = staff
        if old <= 0.0 or old == staff:
            return
        self._changed(r)
        f = staff / old
        if not 0.8 < f < 1.25:
            r.settle_until = now + (r.handle if r.handle > 0.0 else self.prior_handle_s)
        if r.has_gap:
            r.gap /= f
        r.b600 /= f  # backlogged time per answer shrinks with more agents
        r.b3600 /= f

    def on_answer(
        self, queue: str, decided: float, entered: float = -math.inf, live: bool = True
    ) -> None:
        """An inquiry that entered the line at ``entered`` was given to an agent at ``decided``.

        Answers at the same instant as the one before are one observation: agents coming
        on shift together pick up the line at once, which is a change of staffing
        (:meth:`restaff`), not a rate. ``live``: a caller on the line (a callback, who
        cannot abandon, tells nothing about patience).
        """
        r = self.rates.get(queue)
        if r is None:  # the queue's first observation (rare)
            r = self._first_answer(queue, decided, decided - entered, live)
            if r is None:
                return
        self.answer(r, decided, entered, live)

    def answer(self, r: QueueRates, decided: float, entered: float, live: bool) -> None:
        """:meth:`on_answer` with the queue's record in hand (:meth:`record`; without one,
        :meth:`on_answer` decides whether the answer makes it)."""
        waited = decided - entered
        # the record holds the answers' ``last`` and ``gap``: no other lookup per answer
        last = r.last
        first = not r.has_last
        r.last = decided
        r.has_last = True
        if waited > 0.0 and (first or decided != last) and not decided < r.settle_until:
            start = entered if first or entered > last else last
            g = decided - start
            if g < 0.0:
                g = 0.0
            if r.has_gap:
                prev = r.gap
                r.gap = prev + self.alpha * (g - prev)
            else:
                r.gap = g
                r.has_gap = True
            # self._touched(queue), with the record already in hand
            self.changes += 1
            r.ver = self.changes
            dt = decided - r.t_slow if r.t_slow else 0.0
            r.t_slow = decided
            f = math.exp(-dt / _H600) if dt > 0.0 else 1.0  # each horizon decays
            r.n600 = r.n600 * f + 1.0
            r.b600 = r.b600 * f + g
            f = math.exp(-dt / _H3600) if dt > 0.0 else 1.0
            r.n3600 = r.n3600 * f + 1.0
            r.b3600 = r.b3600 * f + g
        if live:
            # self._leave(queue, max(waited, 0.0), 0.0), inline with the same record
            self.changes += 1
            r.ver = self.changes
            a = self.alpha
            r.abandon += a * (0.0 - r.abandon)
            r.waited += a * ((waited if waited > 0.0 else 0.0) - r.waited)

    def _first_answer(
        self, queue: str, decided: float, waited: float, live: bool
    ) -> QueueRates | None:
        """:meth:`on_answer` at a queue without a record: its record, made (and ``last``
        from ``_bare_last``) unless the answer measures nothing; then ``None``, the time
        kept in ``_bare_last``."""
        bare = self._bare_last
        last = bare.get(queue)
        if live or (waited > 0.0 and (last is None or decided != last)):
            return self._r(queue)
        bare[queue] = decided
        return None

    def on_abandon(self, queue: str, waited: float) -> None:
        """A customer left the line after ``waited`` seconds (patience ran out, withdrew)."""
        self._leave(queue, waited, 1.0)

    def on_removed(self, queue: str, waited: float) -> None:
        """An inquiry left the line for another reason (shed, overflowed): censored patience."""
        self._leave(queue, waited, 0.0)

    def _leave(self, queue: str, waited: float, abandoned: float) -> None:
        r = self._touched(queue)
        a = self.alpha
        r.abandon += a * (abandoned - r.abandon)
        r.waited += a * (waited - r.waited)

    def on_complete(self, queue: str, handle: float) -> None:
        """An agent finished an inquiry of ``queue`` after ``handle`` seconds."""
        self.complete(self.made(queue), handle)

    def complete(self, r: QueueRates, handle: float) -> None:
        """:meth:`on_complete` with the queue's record in hand (:meth:`made`)."""
        self.changes += 1  # _changed(r), inline
        r.ver = self.changes
        h = r.handle
        r.handle = handle if h == 0.0 else h + self.alpha * (handle - h)

    # ------------------------------------------------------------------ predictions

    def rate(self, queue: str, slots: float = 1.0) -> float:
        """Answers per second while backlogged; ``slots / handle`` until that is measured."""
        r = self.rates.get(queue)
        if r is not None and r.has_gap and r.gap > 0.0:
            return 1.0 / r.gap
        handle = r.handle if r is not None and r.handle > 0.0 else self.prior_handle_s
        return max(slots, 1.0) / handle

    def handle_s(self, queue: str) -> float:
        """Measured mean handle time of ``queue`` (``prior_handle_s`` until measured)."""
        r = self.rates.get(queue)
        return r.handle if r is not None and r.handle > 0.0 else self.prior_handle_s

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
        staff: float = 0.0,
        changes: list[tuple[float, int]] | None = None,
        now: float | None = None,
        live_share: float = 1.0,
    ) -> float:
        """Expected wait of the customer at ``position`` (1 = next) in ``queue``.

        With ``priority`` given, later arrivals of higher priority that will overtake
        it are added to the line ahead. ``changes`` (seconds from now, agents more or
        fewer) are the staffing changes announced for the ``staff`` agents able to
        serve it now (``router/state/staffing.py``). With ``now``, moves out of the line
        (overflow) count as service at their measured rate. ``live_share``: the share of
        the line that can abandon (callbacks keep their place and never do).
        """
        if position <= 0:
            return 0.0
        # move_rate, theta and rate with the queue's measurements looked up once
        return self.wait(
            self.rates.get(queue),
            position,
            priority,
            priority_seconds,
            slots,
            staff,
            changes,
            now,
            live_share,
        )

    def wait(
        self,
        r: QueueRates | None,
        position: int,
        priority: int | None,
        priority_seconds: float,
        slots: float,
        staff: float,
        changes: list[tuple[float, int]] | None,
        now: float | None,
        live_share: float,
    ) -> float:
        """:meth:`expected_wait` with the queue's record in hand (:meth:`record`; ``None``:
        nothing measured yet)."""
        if position <= 0:
            return 0.0
        moves = 0.0
        if now is not None and r is not None and r.mv_n and r.arr_t0 != _INF_WAIT:
            moves = self._per_s(r, r.mv_n, r.mv_t, now)
        theta = (r.abandon / r.waited if r is not None and r.waited > 0.0 else 0.0) * live_share
        if staff <= 0.0 and changes:
            return self._wait_for_staff(r, position, slots, changes, moves, theta)
        if r is not None and r.has_gap and r.gap > 0.0:
            rate = 1.0 / r.gap
        else:
            handle = r.handle if r is not None and r.handle > 0.0 else self.prior_handle_s
            rate = max(slots, 1.0) / handle
        ahead = float(position)
        w = wait_for_position(position, rate + moves, theta)
        if r is not None:
            # a long wait depends on the rate over a long time: use the slower measurements,
            # each once the wait reaches its horizon (and it has ten answers)
            count = r.n600
            busy = r.b600
            if not w < _H600 and not count < 10.0 and not busy <= 0.0:
                rate = count / busy
                w = wait_for_position(position, rate + moves, theta)
                count = r.n3600
                busy = r.b3600
                if not w < _H3600 and not count < 10.0 and not busy <= 0.0:
                    rate = count / busy
                    w = wait_for_position(position, rate + moves, theta)
        if (
            priority is not None
            and priority_seconds > 0.0
            and r is not None
            and len(r.gap_order) > 1
        ):
            extra = 0.0
            arrivals = r.arrivals
            for p in r.gap_order:  # (arrival_gap's order)
                g = arrivals[p].gap
                if p > priority and g > 0.0:
                    extra += min(w, (p - priority) * priority_seconds) / g
            if extra > 0.0:
                w = wait_for_position(position + extra, rate + moves, theta)
                ahead += extra
        if changes and staff > 0.0:
            w = wait_through(ahead, theta, _segments(rate, staff, changes, staff, moves))
        return w

    def _wait_for_staff(
        self,
        r: QueueRates | None,
        position: int,
        slots: float,
        changes: list[tuple[float, int]],
        moves: float,
        theta: float,
    ) -> float:
        """Nobody can serve the queue of record ``r`` now but agents are scheduled to: each
        serves at ``slots / handle`` (its capacity over the handle time) once on shift."""
        handle = r.handle if r is not None and r.handle > 0.0 else self.prior_handle_s
        per_agent = max(slots, 1.0) / handle
        segments = _segments(per_agent, 1.0, changes, 0.0, moves)
        return wait_through(position, theta, segments)

    # ------------------------------------------------------------------ snapshot

    def answers(self) -> tuple[dict[str, float], dict[str, float]]:
        """``gap`` and ``last`` per queue, two dicts: the core snapshot's ``gaps`` and
        ``lasts`` (the wire format of before they moved onto the records)."""
        gaps: dict[str, float] = {}
        lasts: dict[str, float] = {}
        for q, r in self.rates.items():
            if r.has_gap:
                gaps[q] = r.gap
            if r.has_last:
                lasts[q] = r.last
        lasts.update(self._bare_last)
        return gaps, lasts

    def load_answers(self, gaps: dict[str, float], lasts: dict[str, float]) -> None:
        """Restore :meth:`answers` output, after :meth:`load_extra_state` (which makes the
        records). A queue with a ``last`` and no record keeps it apart (``_bare_last``), as
        it was; with a ``gap`` (never written so: a gap is measured on the record) one is
        made."""
        for r in self.rates.values():
            r.has_last = r.has_gap = False
            r.last = r.gap = 0.0
        self._bare_last = {}
        for q, t in lasts.items():
            rec = self.rates.get(q)
            if rec is None:
                self._bare_last[q] = t
            else:
                rec.last = t
                rec.has_last = True
        for q, g in gaps.items():
            r = self._r(q)
            r.gap = g
            r.has_gap = True

    def extra_state(self) -> dict[str, Any]:
        """State beyond ``gap``/``last`` (which the core snapshot stores itself:
        :meth:`answers`)."""
        return {
            q: [
                r.abandon,
                r.waited,
                r.handle,
                list(r.arrival_gap.items()),
                list(r.arrival_last.items()),
                list(r.slow),
                r.t_slow,
                [r.arr_n, r.arr_t, r.arr_t0, r.staff, r.mv_n, r.mv_t, r.settle_until],
            ]
            for q, r in self.rates.items()
        }

    def load_extra_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`extra_state` output: the records, each without ``gap`` and
        ``last`` (:meth:`load_answers` sets them, after this). The records replaced are
        marked ``dropped`` (their holders ask for the new ones)."""
        for old in self.rates.values():
            old.dropped = True
        self.rates = {}
        self._bare_last = {}
        for q, (abandon, waited, handle, gaps, lasts, slow, t_slow, *more) in data.items():
            r = self._r(q)
            r.abandon, r.waited, r.handle = abandon, waited, handle
            arrivals = r.arrivals
            for p, t in lasts:
                a = arrivals.get(int(p))
                if a is None:
                    a = arrivals[int(p)] = _Arrivals()
                a.last = t
                a.has_last = True
            for p, g in gaps:
                a = arrivals.get(int(p))
                if a is None:  # (a gap comes after a last: not in a snapshot written here)
                    a = arrivals[int(p)] = _Arrivals()
                a.gap = g
                if not a.has_gap:
                    a.has_gap = True
                    r.gap_order.append(int(p))
            r.n600, r.b600, r.n3600, r.b3600 = slow
            r.t_slow = t_slow
            if more:  # written before the decaying arrival count existed: starts empty
                (r.arr_n, r.arr_t, r.arr_t0, r.staff, r.mv_n, r.mv_t, r.settle_until) = more[0]


def _segments(
    rate: float, staff: float, changes: list[tuple[float, int]], now_staff: float, moves: float
) -> list[tuple[float, float]]:
    """``(length, rate)`` segments: ``rate`` is for ``staff`` agents, scaled as the
    announced ``changes`` (seconds from now, delta) move the number from ``now_staff``;
    ``moves`` (another team's) is added unscaled."""
    n = now_staff
    per = rate / staff
    out: list[tuple[float, float]] = []
    t = 0.0
    for at, delta in changes:
        if at > t:
            out.append((at - t, per * max(n, 0.0) + moves))
            t = at
        n += delta
    out.append((_INF_WAIT, per * max(n, 0.0) + moves))
    return out
