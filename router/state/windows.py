"""Outcome counts per queue, and the sliding windows that hold them: O(1) to count.

Theory of operation
-------------------
Every figure a window reports is a sum of a few counters (:class:`Counts`).
A :class:`SlidingWindows` cuts time into buckets of ``bucket_s`` seconds
(bucket ``k`` covers ``[k * bucket_s, (k + 1) * bucket_s)``); a window of
``w`` seconds read at ``now`` is the ``w // bucket_s`` buckets ending with the
one holding ``now``, so it is exact to one bucket, and the buckets are the
same whoever counts (the core, ``router/core.py``, and the event-fed monitor,
``router/observe/monitor.py``, agree to the count).

Counting touches only the open (newest) bucket: :meth:`SlidingWindows.current`
returns it after one comparison while the instant is inside it; a late count
(an earlier instant) goes into it too, as the events arrived. When time leaves
the bucket, :meth:`SlidingWindows.roll` closes it: it is added to a running sum
per window and to the since-reset total, and the buckets that slid out of each
window are subtracted from that window's sum. Each bucket enters and leaves
each sum once, so the cost is O(windows) per bucket of time, whatever the rate
of events. Closed buckets stay in a ring of ``longest window / bucket_s``
slots, long enough to be subtracted when they slide out.

Reading (:meth:`SlidingWindows.query`) is O(windows): each window's sum plus
the open bucket, minus the buckets that slid out since the last roll (when
nothing was counted for a while), computed without changing anything, so a
read never changes the snapshot (:meth:`SlidingWindows.dump`).
:meth:`SlidingWindows.adjust` changes the bucket of an earlier instant (an
answer taken back when a callback's call reached nobody). The since-reset
figures are the total of the closed buckets plus the open one; a reset starts
the total at minus the open bucket, so counts before it cancel out.

Sums of floats are kept by adding and subtracting, so a window's ``wait_s``
may differ from a fresh sum in the last bits; it is set to exactly 0 whenever
its window holds no answer (and ``handle_s`` when it holds no completion), so
rounding never accumulates.

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

from msgspec import Struct

from router.config import window_problems
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

#: ``(offered, answered, in_target, abandoned, rejected, deflected, handled, wait_s,
#: handle_s, workload_s, expired)``: a :class:`Counts` in a snapshot.
CountsRecord = tuple[int, int, int, int, int, int, int, float, float, float, int]


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
        return _figures(self, _NOTHING)

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


def _figures(a: Counts, b: Counts) -> WindowFigures:
    """The figures of the sum of ``a`` and ``b``."""
    answered = a.answered + b.answered
    in_target = a.in_target + b.in_target
    abandoned = a.abandoned + b.abandoned
    handled = a.handled + b.handled
    expired = a.expired + b.expired
    ended = answered + abandoned + a.rejected + b.rejected + a.deflected + b.deflected + expired
    return WindowFigures(
        offered=a.offered + b.offered,
        answered=answered,
        abandoned=abandoned,
        rejected=a.rejected + b.rejected,
        deflected=a.deflected + b.deflected,
        answered_in_target=in_target,
        handled=handled,
        service_level=in_target / ended if ended else None,
        abandon_rate=abandoned / ended if ended else None,
        asa_s=(a.wait_s + b.wait_s) / answered if answered else None,
        aht_s=(a.handle_s + b.handle_s) / handled if handled else None,
        expired=expired,
    )


_NOTHING = Counts()  # never changed: the other half of a lone Counts' figures
_EMPTY = Counts().figures()


class WindowsRecord(Struct, array_like=True):
    """A :class:`SlidingWindows` in a snapshot (its windows and bucket come from the config)."""

    key: int
    buckets: list[tuple[int, CountsRecord]]
    sums: list[CountsRecord]
    total: CountsRecord
    reset_at: float


class SlidingWindows:
    """Bucketed counts of one queue, read over several trailing windows at once.

    ``windows`` are in seconds (each at least ``bucket_s``); ``now`` starts the
    since-reset figures. See the module docstring.
    """

    __slots__ = (
        "_cache",
        "_cache_key",
        "_k",
        "_keys",
        "_n",
        "_ring",
        "_spans",
        "_sums",
        "bucket_s",
        "cur",
        "labels",
        "reset_at",
        "total",
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
        self._ring: list[Counts | None] = [None] * self._n
        self._keys = [_NO_KEY] * self._n
        self._sums = [Counts() for _ in self.windows]
        self._k = _NO_KEY
        #: the open bucket, where counts go while ``at < until``
        self.cur = Counts()
        self.until = -math.inf
        self.total = Counts()
        self.reset_at = float(now)
        #: bumped by every change but a count into the open bucket (see :meth:`query`)
        self.version = 0
        self._cache_key: tuple[int, int, int] | None = None
        self._cache: dict[str, WindowFigures] = {}

    def same_shape(self, windows: tuple[float, ...], bucket_s: float) -> bool:
        return self.windows == tuple(sorted(windows)) and self.bucket_s == float(bucket_s)

    def reshaped(self, windows: tuple[float, ...], bucket_s: float) -> SlidingWindows:
        """New windows of another shape: they start empty; the since-reset figures carry on."""
        new = SlidingWindows(windows, bucket_s, self.reset_at)
        new.total = self.total.copy()
        new.total.add(self.cur)
        return new

    # ------------------------------------------------------------------ counting

    def current(self, at: float) -> Counts:
        """The bucket to count an event at ``at`` in (the open one; a new one if time left it)."""
        if at < self.until:
            return self.cur
        return self.roll(at)

    def roll(self, at: float) -> Counts:
        """Close the open bucket and open the one holding ``at`` (``at >= until``)."""
        k = int(at // self.bucket_s)
        old = self._k
        if k <= old:  # rounding at a bucket edge: still the open bucket
            return self.cur
        self.version += 1
        if old != _NO_KEY:
            cur = self.cur
            self.total.add(cur)
            for i, n in enumerate(self._spans):
                s = self._sums[i]
                lo = k - n + 1  # the oldest bucket in window i once ``k`` is open
                if lo > old:
                    self._sums[i] = Counts()
                    continue
                s.add(cur)
                for key in range(old - n + 1, lo):  # the buckets that slid out
                    b = self._bucket(key)
                    if b is not None:
                        s.sub(b)
        cur = Counts()
        slot = k % self._n
        self._ring[slot] = cur
        self._keys[slot] = k
        self._k = k
        self.cur = cur
        self.until = (k + 1) * self.bucket_s
        return cur

    def _bucket(self, key: int) -> Counts | None:
        slot = key % self._n
        return self._ring[slot] if self._keys[slot] == key else None

    def adjust(self, at: float, delta: Counts, before_reset: bool | None = None) -> None:
        """Add ``delta`` (negative counts take something back) to the bucket of ``at``,
        an instant at or before the open bucket, and to every sum that holds it.

        ``before_reset`` says whether what ``delta`` corrects was counted before the
        last reset (by default: whether ``at`` is earlier than the reset).
        """
        self.version += 1
        k = int(at // self.bucket_s)
        if before_reset is None:
            before_reset = at < self.reset_at
        if self._k == _NO_KEY or k >= self._k:
            self.cur.add(delta)
            if before_reset:  # the since-reset figures never held it
                self.total.sub(delta)
            return
        b = self._bucket(k)
        if b is not None:
            b.add(delta)
            for i, n in enumerate(self._spans):
                if k >= self._k - n + 1:
                    self._sums[i].add(delta)
        if not before_reset:
            self.total.add(delta)

    def reset(self, now: float) -> None:
        """Start the since-reset figures over at ``now`` (the windows go on)."""
        self.version += 1
        self.total = Counts()
        self.total.sub(self.cur)
        self.reset_at = float(now)

    # ------------------------------------------------------------------ reading

    def window(self, i: int, now: float) -> Counts:
        """The counts of window ``i`` (in :attr:`windows` order) read at ``now``."""
        n = self._spans[i]
        top = self._k
        k_now = max(int(now // self.bucket_s), top)
        lo = k_now - n + 1
        if top == _NO_KEY or lo > top:
            return Counts()
        c = self._sums[i].copy()
        c.add(self.cur)
        for key in range(top - n + 1, lo):
            b = self._bucket(key)
            if b is not None:
                c.sub(b)
        return c

    def since_reset(self) -> Counts:
        c = self.total.copy()
        c.add(self.cur)
        return c

    def query(self, now: float) -> dict[str, WindowFigures]:
        """Figures per window label, plus ``since_reset``: the sum of each window and the
        open bucket, straight into the figures.

        The answer is remembered: while no bucket rolled or was adjusted, time stays
        in the same bucket and nothing was counted since, the same figures come back
        (a count always adds to one of the integer counters, so their sum tells).
        """
        top = self._k
        cur = self.cur
        k_now = max(int(now // self.bucket_s), top)
        key = (
            self.version,
            k_now,
            cur.offered + cur.answered + cur.abandoned + cur.rejected + cur.deflected + cur.handled,
        )
        if key == self._cache_key:
            return dict(self._cache)
        out: dict[str, WindowFigures] = {}
        for i, label in enumerate(self.labels):
            n = self._spans[i]
            if top == _NO_KEY or k_now - n + 1 > top:
                out[label] = _EMPTY
            elif k_now == top:  # nothing slid out since the last roll
                out[label] = _figures(self._sums[i], cur)
            else:
                out[label] = self.window(i, now).figures()
        out["since_reset"] = _figures(self.total, cur)
        self._cache_key = key
        self._cache = out
        return dict(out)

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> WindowsRecord:
        top = self._k
        buckets = []
        if top != _NO_KEY:
            for key in range(top - self._n + 1, top + 1):
                b = self._bucket(key)
                if b is not None:
                    buckets.append((key, b.record()))
        return WindowsRecord(
            key=top,
            buckets=buckets,
            sums=[s.record() for s in self._sums],
            total=self.total.record(),
            reset_at=self.reset_at,
        )

    def load(self, rec: WindowsRecord) -> None:
        """Put :meth:`dump` output back (on windows of the same shape)."""
        if len(rec.sums) != len(self._sums):
            raise ValueError("windows record of another shape")
        self.version += 1
        for key, counts in rec.buckets:
            slot = key % self._n
            self._ring[slot] = Counts.from_record(counts)
            self._keys[slot] = key
        self._sums = [Counts.from_record(s) for s in rec.sums]
        self.total = Counts.from_record(rec.total)
        self.reset_at = rec.reset_at
        self._k = rec.key
        if rec.key != _NO_KEY:
            b = self._bucket(rec.key)
            self.cur = b if b is not None else Counts()
            self.until = (rec.key + 1) * self.bucket_s
