"""Outcome counts per queue, and the sliding windows that hold them: O(1) to count.

Theory of operation
-------------------
Every figure a window reports is a difference of a few counters
(:class:`Counts`). A :class:`SlidingWindows` cuts time into buckets of
``bucket_s`` seconds (bucket ``k`` covers ``[k * bucket_s, (k + 1) *
bucket_s)``); a window of ``w`` seconds read at ``now`` is the ``w //
bucket_s`` buckets ending with the one holding ``now``, so it is exact to one
bucket, and the buckets are the same whoever counts (the core,
``router/core.py``, and the event-fed monitor, ``router/observe/monitor.py``,
agree to the count).

Counting adds to one cumulative :class:`Counts` (``cum``), whatever the
bucket: :meth:`SlidingWindows.current` returns it after one comparison while
the instant is inside the open bucket; a late count (an earlier instant) is
counted in the open bucket, as the events arrived. The first count after the
open bucket ends (:meth:`SlidingWindows.roll`) records ``cum`` as it stood at
that bucket's end: one tuple of ten numbers, kept while some window may start
after it (``longest window / bucket_s`` buckets). A window is then ``cum``
minus the record at the end of the bucket just before the window (the newest
record at or before it, found by bisection; none: nothing was counted before),
and the since-reset figures are ``cum`` minus the record taken at the reset.
The totals since the router started (:attr:`SlidingWindows.total`, for
Prometheus counters) are ``cum`` plus what windows of an earlier shape counted
(a reconfigure that changes the windows starts them empty, not the totals).
So counting costs the same at any rate of events, a roll copies one tuple, and
reading costs O(windows x log(buckets)), computed without changing anything:
a read never changes the snapshot (:meth:`SlidingWindows.dump`).
:meth:`SlidingWindows.adjust` takes something back from the bucket of an
earlier instant (an answer, when a callback's call reached nobody): ``cum``
and every record taken after that bucket lose it, and the reset record too if
it was counted before the reset.

Float sums (waits, handle times) are differences of cumulative sums, exact to
the last bits of the cumulative value (a microsecond after a year of waits).

Definitions (docs/metrics.md): an inquiry counts as *offered* when it arrives
and as *answered*, *abandoned* (patience ran out, or withdrawn), *rejected* or
*deflected* (or, an outbound task, *expired* past its deadline) when it
reaches that outcome, each at its own time. *Ended* is the sum of the five
outcomes; ``service_level`` is answered within the
queue's ``answer_target_s`` over ended, ``abandon_rate`` abandoned over ended,
and ``asa_s`` the mean wait of the answered.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from router.config import window_problems
from router.state.stat_records import CountsRecord, WindowsRecord
from router.stats import WindowFigures, window_label

__all__ = [
    "DEFAULT_BUCKET_S",
    "DEFAULT_WINDOWS",
    "Counts",
    "CountsRecord",
    "SlidingWindows",
    "WindowsRecord",
]

#: Sliding windows in seconds (5, 15 and 30 minutes); "since reset" is always there.
DEFAULT_WINDOWS: tuple[float, ...] = (300.0, 900.0, 1800.0)
#: Resolution of the windows: a window is exact to one bucket.
DEFAULT_BUCKET_S = 10.0
_NO_KEY = -(2**62)  # the key of "no bucket yet"


class Counts:
    """The counters behind every windowed figure of one queue."""

    __slots__ = (
        "abandoned",
        "answered",
        "deflected",
        "expired",
        "handle_s",
        "handled",
        "in_target",
        "offered",
        "rejected",
        "wait_s",
        "workload_s",
    )

    def __init__(self) -> None:
        self.offered = 0
        self.answered = 0
        self.in_target = 0
        self.abandoned = 0
        self.rejected = 0
        self.deflected = 0
        self.handled = 0  # completed inquiries
        self.wait_s = 0.0  # sum of the waits of answered inquiries
        self.handle_s = 0.0  # sum of the handle times of completed ones
        self.workload_s = 0.0  # agent capacity-seconds held for this queue (monitor intervals)
        self.expired = 0  # outbound tasks past their deadline

    def add(self, o: Counts) -> None:
        self.offered += o.offered
        self.answered += o.answered
        self.in_target += o.in_target
        self.abandoned += o.abandoned
        self.rejected += o.rejected
        self.deflected += o.deflected
        self.handled += o.handled
        self.wait_s += o.wait_s
        self.handle_s += o.handle_s
        self.workload_s += o.workload_s
        self.expired += o.expired
        self._settle()

    def sub(self, o: Counts) -> None:
        self.offered -= o.offered
        self.answered -= o.answered
        self.in_target -= o.in_target
        self.abandoned -= o.abandoned
        self.rejected -= o.rejected
        self.deflected -= o.deflected
        self.handled -= o.handled
        self.wait_s -= o.wait_s
        self.handle_s -= o.handle_s
        self.workload_s -= o.workload_s
        self.expired -= o.expired
        self._settle()

    def _settle(self) -> None:
        """No answer, no wait: drop the rounding residue a sum of floats can leave."""
        if self.answered == 0:
            self.wait_s = 0.0
        if self.handled == 0:
            self.handle_s = 0.0

    def copy(self) -> Counts:
        c = Counts()
        c.add(self)
        return c

    @property
    def ended(self) -> int:
        return self.answered + self.abandoned + self.rejected + self.deflected + self.expired

    def figures(self) -> WindowFigures:
        return _figures(self, _ZERO)

    def negated(self) -> Counts:
        c = Counts()
        c.sub(self)
        return c

    @classmethod
    def unanswer(cls, wait: float, in_target: bool) -> Counts:
        """The correction that takes back one answer (a callback whose call reached nobody)."""
        c = cls()
        c.answered = -1
        c.wait_s = -wait
        c.in_target = -1 if in_target else 0
        return c

    def record(self) -> CountsRecord:
        return (
            self.offered,
            self.answered,
            self.in_target,
            self.abandoned,
            self.rejected,
            self.deflected,
            self.handled,
            self.wait_s,
            self.handle_s,
            self.workload_s,
            self.expired,
        )

    @classmethod
    def from_record(cls, rec: CountsRecord) -> Counts:
        c = cls()
        (
            c.offered,
            c.answered,
            c.in_target,
            c.abandoned,
            c.rejected,
            c.deflected,
            c.handled,
            c.wait_s,
            c.handle_s,
            c.workload_s,
            c.expired,
        ) = rec
        return c


def _figures(c: Counts, base: CountsRecord) -> WindowFigures:
    """The figures of ``c`` minus ``base``."""
    answered = c.answered - base[1]
    in_target = c.in_target - base[2]
    abandoned = c.abandoned - base[3]
    rejected = c.rejected - base[4]
    deflected = c.deflected - base[5]
    handled = c.handled - base[6]
    expired = c.expired - base[10]
    ended = answered + abandoned + rejected + deflected + expired
    return WindowFigures(
        offered=c.offered - base[0],
        answered=answered,
        abandoned=abandoned,
        rejected=rejected,
        deflected=deflected,
        answered_in_target=in_target,
        handled=handled,
        service_level=in_target / ended if ended else None,
        abandon_rate=abandoned / ended if ended else None,
        asa_s=(c.wait_s - base[7]) / answered if answered else None,
        aht_s=(c.handle_s - base[8]) / handled if handled else None,
        expired=expired,
    )


def _plus(rec: CountsRecord, d: Counts) -> CountsRecord:
    return (
        rec[0] + d.offered,
        rec[1] + d.answered,
        rec[2] + d.in_target,
        rec[3] + d.abandoned,
        rec[4] + d.rejected,
        rec[5] + d.deflected,
        rec[6] + d.handled,
        rec[7] + d.wait_s,
        rec[8] + d.handle_s,
        rec[9] + d.workload_s,
        rec[10] + d.expired,
    )


_ZERO: CountsRecord = (0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0)


class SlidingWindows:
    """Bucketed counts of one queue, read over several trailing windows at once.

    ``windows`` are in seconds (each at least ``bucket_s``); ``now`` starts the
    since-reset figures. See the module docstring.
    """

    __slots__ = (
        "_before",
        "_cache",
        "_cache_key",
        "_ends",
        "_k",
        "_keys",
        "_n",
        "_reset",
        "_spans",
        "bucket_s",
        "cum",
        "labels",
        "reset_at",
        "total",
        "total_wait_s",
        "until",
        "version",
        "windows",
    )

    def __init__(self, windows: tuple[float, ...], bucket_s: float, now: float = 0.0) -> None:
        problems = window_problems(windows, bucket_s)
        if problems:
            raise ValueError(problems[0])
        self.windows = tuple(sorted(windows))
        self.bucket_s = float(bucket_s)
        self.labels = [window_label(w) for w in self.windows]
        self._spans = [int(w // self.bucket_s) for w in self.windows]
        self._n = max(self._spans, default=1)
        #: every count so far, whatever its bucket
        self.cum = Counts()
        self._k = _NO_KEY  # the open bucket (where the last count went)
        self.until = -math.inf  # its end: a count at or after it rolls
        self._keys: list[int] = []  # closed buckets, oldest first ...
        self._ends: list[CountsRecord] = []  # ... and ``cum`` at the end of each
        self._reset: CountsRecord = _ZERO  # ``cum`` at the last reset
        self.reset_at = float(now)
        #: bumped by every change but a count into the open bucket (see :meth:`query`)
        self.version = 0
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: dict[str, WindowFigures] = {}
        self._before: CountsRecord = _ZERO  # counted by windows of an earlier shape
        #: the figures since the router started, as of the last :meth:`query`
        self.total = _figures(Counts(), _ZERO)
        self.total_wait_s = 0.0  # ... and the sum of the answered waits in it

    def same_shape(self, windows: tuple[float, ...], bucket_s: float) -> bool:
        return self.windows == tuple(sorted(windows)) and self.bucket_s == float(bucket_s)

    def reshaped(self, windows: tuple[float, ...], bucket_s: float) -> SlidingWindows:
        """New windows of another shape: they start empty; the since-reset figures carry on."""
        new = SlidingWindows(windows, bucket_s, self.reset_at)
        new._reset = self.since_reset().negated().record()  # since reset = cum - reset
        new._before = _plus(self._before, self.cum)
        return new

    # ------------------------------------------------------------------ counting

    def current(self, at: float) -> Counts:
        """The counts to add an event at ``at`` to (records the bucket that just ended)."""
        if at < self.until:
            return self.cum
        return self.roll(at)

    def roll(self, at: float) -> Counts:
        """The open bucket ended before ``at`` (``at >= until``): record ``cum`` at its
        end, drop the records no window can start after, open the bucket of ``at``."""
        k = int(at // self.bucket_s)
        old = self._k
        if k <= old:  # rounding at a bucket edge: still the open bucket
            return self.cum
        self.version += 1
        keys = self._keys
        if old != _NO_KEY:
            keys.append(old)
            self._ends.append(self.cum.record())
            oldest_base = k - self._n  # the base of the longest window once ``k`` is open
            if len(keys) > 1 and keys[1] <= oldest_base:
                # keep the newest at or before it; one bucket rolled (the common case): the
                # first record only, without the bisection (a generic call, compiled)
                if len(keys) == 2 or keys[2] > oldest_base:
                    drop = 1
                else:
                    drop = bisect_right(keys, oldest_base) - 1
                del keys[:drop]
                del self._ends[:drop]
        self._k = k
        self.until = (k + 1) * self.bucket_s
        return self.cum

    def adjust(self, at: float, delta: Counts, before_reset: bool | None = None) -> None:
        """Add ``delta`` (negative counts take something back) to the bucket of ``at``,
        an instant at or before the open bucket.

        ``before_reset`` says whether what ``delta`` corrects was counted before the
        last reset (by default: whether ``at`` is earlier than the reset).
        """
        self.version += 1
        if before_reset is None:
            before_reset = at < self.reset_at
        self.cum.add(delta)
        ends = self._ends
        for i in range(bisect_left(self._keys, int(at // self.bucket_s)), len(ends)):
            ends[i] = _plus(ends[i], delta)  # recorded after the fact: it held it
        if before_reset:
            self._reset = _plus(self._reset, delta)

    def reset(self, now: float) -> None:
        """Start the since-reset figures over at ``now`` (the windows go on)."""
        self.version += 1
        self._reset = self.cum.record()
        self.reset_at = float(now)

    # ------------------------------------------------------------------ reading

    def _base(self, i: int, k_now: int) -> CountsRecord:
        """``cum`` at the end of the bucket just before window ``i`` at bucket ``k_now``."""
        j = k_now - self._spans[i]
        if j >= self._k:  # the window starts after the last count
            return self.cum.record()
        at = bisect_right(self._keys, j) - 1
        return self._ends[at] if at >= 0 else _ZERO

    def window(self, i: int, now: float) -> Counts:
        """The counts of window ``i`` (in :attr:`windows` order) read at ``now``."""
        k_now = max(int(now // self.bucket_s), self._k)
        c = self.cum.copy()
        c.sub(Counts.from_record(self._base(i, k_now)))
        return c

    def since_reset(self) -> Counts:
        c = self.cum.copy()
        c.sub(Counts.from_record(self._reset))
        return c

    def query(self, now: float) -> dict[str, WindowFigures]:
        """Figures per window label, plus ``since_reset``; refreshes :attr:`total` and
        :attr:`total_wait_s`.

        The answer is remembered: while nothing rolled, was adjusted or reset, time
        stays in the same bucket and nothing was counted since, the same figures
        come back (a count always adds to one of the integer counters, so their sum
        tells).
        """
        cum = self.cum
        k_now = max(int(now // self.bucket_s), self._k)
        key = (
            self.version,
            k_now,
            cum.offered
            + cum.answered
            + cum.abandoned
            + cum.rejected
            + cum.deflected
            + cum.handled
            + cum.expired,
        )
        if key == self._cache_key:
            return dict(self._cache)
        out = {label: _figures(cum, self._base(i, k_now)) for i, label in enumerate(self.labels)}
        out["since_reset"] = _figures(cum, self._reset)
        total = cum.copy()
        total.add(Counts.from_record(self._before))
        self.total = _figures(total, _ZERO)
        self.total_wait_s = total.wait_s
        self._cache_key = key
        self._cache = out
        return dict(out)

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> WindowsRecord:
        return WindowsRecord(
            key=self._k,
            cum=self.cum.record(),
            ends=list(zip(self._keys, self._ends, strict=True)),
            reset=self._reset,
            reset_at=self.reset_at,
            before=self._before,
        )

    def load(self, rec: WindowsRecord) -> None:
        """Put :meth:`dump` output back (on windows of the same shape)."""
        self.version += 1
        self._k = rec.key
        self.until = (rec.key + 1) * self.bucket_s if rec.key != _NO_KEY else -math.inf
        self.cum = Counts.from_record(rec.cum)
        self._keys = [k for k, _ in rec.ends]
        self._ends = [e for _, e in rec.ends]
        self._reset = rec.reset
        self.reset_at = rec.reset_at
        self._before = rec.before
