"""Outcome counts per queue, and the sliding windows and fixed intervals that hold them.

Theory of operation: every figure a window or an interval reports is a sum of
a few counters (:class:`Counts`). A :class:`SlidingWindows` keeps one
:class:`Counts` per time bucket of ``bucket_s`` seconds in a deque, newest
last; adding is O(1), and a query sums the buckets that lie in each window (at
most ``longest window / bucket_s`` of them), so a window is exact to one
bucket: it covers ``(now - window, now]`` rounded out to the bucket edges.
Buckets older than the longest window are dropped as time moves. The since
reset figures are one more :class:`Counts` that is never trimmed.

Definitions (docs/metrics.md): an inquiry counts as *offered* when it arrives
and as *answered*, *abandoned* (patience ran out, or withdrawn), *rejected* or
*deflected* when it reaches that outcome, each at its own time. *Ended* is the
sum of the four outcomes; ``service_level`` is answered within the queue's
``answer_target_s`` over ended, ``abandon_rate`` abandoned over ended, and
``asa_s`` the mean wait of answered. Over a whole drained run, ended equals
offered, so these equal the simulation report's figures (docs/simulator.md).
"""

from __future__ import annotations

from collections import deque

from msgspec import Struct

__all__ = ["Counts", "SlidingWindows", "WindowFigures", "window_label"]


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
        self.expired = 0  # outbound tasks past their deadline
        self.wait_s = 0.0  # sum of the waits of answered inquiries
        self.handled = 0  # completed inquiries
        self.handle_s = 0.0  # sum of their handle times
        self.workload_s = 0.0  # agent capacity-seconds held for this queue (occupancy)

    def add(self, other: Counts) -> None:
        for name in Counts.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def ended(self) -> int:
        return self.answered + self.abandoned + self.rejected + self.deflected + self.expired

    def figures(self) -> WindowFigures:
        ended = self.ended
        return WindowFigures(
            offered=self.offered,
            answered=self.answered,
            abandoned=self.abandoned,
            rejected=self.rejected,
            deflected=self.deflected,
            answered_in_target=self.in_target,
            handled=self.handled,
            service_level=self.in_target / ended if ended else None,
            abandon_rate=self.abandoned / ended if ended else None,
            asa_s=self.wait_s / self.answered if self.answered else None,
            aht_s=self.handle_s / self.handled if self.handled else None,
            expired=self.expired,
        )


class WindowFigures(Struct, frozen=True, kw_only=True):
    """One queue's figures over one window (``None``: nothing to divide by yet)."""

    offered: int
    answered: int
    abandoned: int
    rejected: int
    deflected: int
    answered_in_target: int
    handled: int
    service_level: float | None
    abandon_rate: float | None
    asa_s: float | None
    aht_s: float | None
    expired: int = 0


def window_label(seconds: float) -> str:
    """``300 -> "5m"``, ``3600 -> "1h"``, ``45 -> "45s"``: the ``window`` label of a metric."""
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


class SlidingWindows:
    """Bucketed counts of one queue, queried over several trailing windows at once."""

    __slots__ = ("_buckets", "_horizon", "bucket_s", "since_reset", "windows")

    def __init__(self, windows: tuple[float, ...], bucket_s: float) -> None:
        self.windows = windows
        self.bucket_s = bucket_s
        self._horizon = int(max(windows) // bucket_s) + 1 if windows else 0
        self._buckets: deque[tuple[int, Counts]] = deque()
        self.since_reset = Counts()

    def at(self, now: float) -> Counts:
        """The bucket counting ``now`` (created on demand; old buckets are dropped)."""
        k = int(now // self.bucket_s)
        b = self._buckets
        if b and b[-1][0] == k:
            return b[-1][1]
        if b and b[-1][0] > k:  # a late event (an earlier instant): count it in the newest
            return b[-1][1]
        c = Counts()
        b.append((k, c))
        while b and b[0][0] <= k - self._horizon:
            b.popleft()
        return c

    def query(self, now: float) -> dict[str, WindowFigures]:
        """Figures per window label, plus ``since_reset``."""
        k_now = int(now // self.bucket_s)
        out: dict[str, WindowFigures] = {}
        for w in self.windows:
            first = k_now - int(w // self.bucket_s) + 1
            total = Counts()
            for k, c in reversed(self._buckets):
                if k < first:
                    break
                if k <= k_now:
                    total.add(c)
            out[window_label(w)] = total.figures()
        out["since_reset"] = self.since_reset.figures()
        return out

    def reset(self) -> None:
        self._buckets.clear()
        self.since_reset = Counts()
