"""The wall clock and hours of operation: router time ``now`` as a point of the week.

Theory of operation
-------------------
The core counts time in seconds (``now``), and never reads a clock. Hours of
operation need to know which weekday and time of day ``now`` is, so the config
says how to map it (``[routing.clock]``):

* ``start = "mon 08:00"``: ``now = 0`` is that weekday and time, and ``now``
  counts seconds from there (the simulator passes ``[simulation] start``);
* ``unix = true`` with ``utc_offset = "+08:00"``: ``now`` is Unix time (what
  ``time.time()`` returns; the durable mode and the adapters with this clock run
  on it), and the hours are local time at that fixed offset from UTC
  (no daylight saving: change the offset by reconfiguring).

Either way the point of the week is ``(now + base) mod 604800`` with one
constant ``base`` (:func:`clock_base`): the start's offset from Monday 00:00, or,
for Unix time, Thursday (1970-01-01 was one) plus the UTC offset.

A queue's ``hours`` is a list of spans ``{days = "mon-fri", open = "08:00",
close = "22:00"}``; a span whose ``close`` is not after its ``open`` runs past
midnight into the next day (``open = "22:00", close = "06:00"``), ``close =
"24:00"`` is the end of the day. :class:`WeekSchedule` merges the spans of a
queue into the sorted boundaries of the open intervals of one week (wrapping
around Sunday midnight), so whether it is open at ``now`` and when that next
changes are a bisection over at most a few dozen numbers. A point within
:data:`EPS` of a boundary counts as past it, so a timer set for a change, which
fires a rounding error early or late, always sees the change and the next one
is always later.

Parsing errors are ``ValueError`` with a message; :func:`clock_problems` turns
them into ``path: message`` lines for ``check``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from typing import Any

__all__ = [
    "DAYS",
    "EPS",
    "WEEK",
    "WeekSchedule",
    "clock_base",
    "clock_offset_s",
    "clock_problems",
    "parse_days",
    "parse_time_of_day",
    "parse_utc_offset",
    "queue_schedules",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 86400.0
WEEK = 7 * DAY
#: Seconds within which a point of the week counts as a boundary it is next to.
EPS = 1e-6
#: 1970-01-01 (Unix time 0) was a Thursday: Monday-based day 3.
UNIX_EPOCH_DAY = 3

_CLOCK = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):([0-5][0-9])$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_OFFSET = re.compile(r"^([+-])([01][0-9]|2[0-3]):([0-5][0-9])$")
# Read with `fullmatch`: `$` alone also matches before a final newline ("08:30\n").


def clock_offset_s(start: str) -> float:
    """Seconds from Monday 00:00 to ``start`` (``"fri 18:00"``); raises ValueError."""
    m = _CLOCK.fullmatch(start.strip().lower())
    if m is None:
        raise ValueError(f"expected a day and a time like 'mon 00:00', got {start!r}")
    return DAYS.index(m.group(1)) * DAY + int(m.group(2)) * 3600.0 + int(m.group(3)) * 60.0


def parse_time_of_day(text: str, *, allow_24: bool = False) -> float:
    """``"08:30"`` as seconds after midnight (``"24:00"`` too if ``allow_24``)."""
    if allow_24 and text == "24:00":
        return DAY
    m = _TIME.fullmatch(text)
    if m is None:
        end = " (or '24:00')" if allow_24 else ""
        raise ValueError(f"expected a time like '08:00'{end}, got {text!r}")
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0


def parse_utc_offset(text: str) -> float:
    """``"+08:00"`` / ``"-05:30"`` as seconds east of UTC."""
    m = _OFFSET.fullmatch(text)
    if m is None:
        raise ValueError(f"expected an offset like '+08:00' or '-05:30', got {text!r}")
    sign = 1.0 if m.group(1) == "+" else -1.0
    return sign * (int(m.group(2)) * 3600.0 + int(m.group(3)) * 60.0)


def parse_days(text: str) -> list[int]:
    """``"mon-fri"``, ``"sat,sun"``, ``"fri-mon"`` (wraps), ``"mon-fri,sun"`` as day
    indexes (Monday 0), each once, in week order."""
    out: set[int] = set()
    for part in text.lower().split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        lo, hi = lo.strip(), hi.strip()
        if lo not in DAYS or (sep and hi not in DAYS):
            raise ValueError(
                f"expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), "
                f"got {text!r}"
            )
        a = DAYS.index(lo)
        b = DAYS.index(hi) if sep else a
        d = a
        while True:
            out.add(d)
            if d == b:
                break
            d = (d + 1) % 7
    return sorted(out)


def clock_base(clock: Any) -> float:
    """The constant ``base`` of ``[routing.clock]``: the point of the week is
    ``(now + base) mod WEEK``. ``clock`` is a :class:`~router.config.Clock` (valid)."""
    if clock.unix:
        return UNIX_EPOCH_DAY * DAY + parse_utc_offset(clock.utc_offset)
    return clock_offset_s(clock.start)


class WeekSchedule:
    """The open intervals of one queue over a week, and the two questions asked of them."""

    __slots__ = ("base", "bounds", "open_at_zero")

    def __init__(self, spans: list[tuple[list[int], float, float]], base: float) -> None:
        """``spans``: ``(days, open, close)`` with seconds after midnight; ``base``: see
        :func:`clock_base`."""
        self.base = base
        intervals: list[tuple[float, float]] = []
        for days, open_s, close_s in spans:
            length = close_s - open_s if close_s > open_s else close_s + DAY - open_s
            for d in days:
                start = d * DAY + open_s
                end = start + length
                if end <= WEEK:
                    intervals.append((start, end))
                else:  # past Sunday midnight: the rest is on Monday
                    intervals.append((start, WEEK))
                    intervals.append((0.0, end - WEEK))
        intervals.sort()
        merged: list[list[float]] = []
        for start, end in intervals:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        # ``bounds``: the points of (0, WEEK] where the state changes, the week's end
        # included when the state differs on either side of Sunday midnight
        self.open_at_zero = bool(merged) and merged[0][0] == 0.0
        bounds = [x for iv in merged for x in iv]
        if self.open_at_zero:
            bounds = bounds[1:]  # open from the start of the week: no change at 0
            if bounds[-1] == WEEK:
                bounds.pop()  # open at the end too: no change at the wrap
            else:
                bounds.append(WEEK)  # closed at the end: it opens again at the wrap
        self.bounds: list[float] = bounds

    def _pos(self, now: float) -> float:
        return (now + self.base) % WEEK

    def is_open(self, now: float) -> bool:
        """Whether the queue is open at router time ``now``."""
        i = bisect_right(self.bounds, self._pos(now) + EPS)
        return self.open_at_zero != bool(i & 1)

    def next_change(self, now: float) -> float:
        """The first router time after ``now`` (by more than :data:`EPS`) at which
        :meth:`is_open` changes; ``inf`` if it never does."""
        bounds = self.bounds
        if not bounds:
            return math.inf
        pos = self._pos(now)
        i = bisect_right(bounds, pos + EPS)
        delta = bounds[i] - pos if i < len(bounds) else WEEK - pos + bounds[0]
        return now + delta

    def next_open(self, now: float) -> float:
        """``now`` if open at ``now``, else when it next opens (``inf`` if never)."""
        if self.is_open(now):
            return now
        return self.next_change(now)


def _spans(hours: list[Any]) -> list[tuple[list[int], float, float]]:
    return [
        (parse_days(h.days), parse_time_of_day(h.open), parse_time_of_day(h.close, allow_24=True))
        for h in hours
    ]


def queue_schedules(cfg: Any) -> dict[str, WeekSchedule]:
    """The :class:`WeekSchedule` of every queue of a (valid) config that has ``hours``."""
    base = clock_base(cfg.routing.clock)
    return {q.name: WeekSchedule(_spans(q.hours), base) for q in cfg.queues if q.hours}


def clock_problems(cfg: Any) -> list[str]:
    """``[routing.clock]`` and every queue's ``hours``: one ``path: message`` line each."""
    out: list[str] = []
    c = cfg.routing.clock
    p = "$.routing.clock"
    try:
        clock_offset_s(c.start)
    except ValueError as exc:
        out.append(f"{p}.start: {exc}")
    try:
        parse_utc_offset(c.utc_offset)
    except ValueError as exc:
        out.append(f"{p}.utc_offset: {exc}")
    if c.unix and c.start != "mon 00:00":
        out.append(f"{p}.start: with unix = true, now is Unix time; leave start out")
    if not c.unix and c.utc_offset != "+00:00":
        out.append(f"{p}.utc_offset: applies only with unix = true (now as Unix time)")
    for i, q in enumerate(cfg.queues):
        if q.hours is None:
            if q.at_close != "serve":
                out.append(f"$.queues[{i}].at_close: the queue has no hours")
            continue
        if not q.hours:
            out.append(
                f"$.queues[{i}].hours: an empty list would never open; "
                "leave hours out for a queue that is always open"
            )
        for j, h in enumerate(q.hours):
            hp = f"$.queues[{i}].hours[{j}]"
            try:
                parse_days(h.days)
            except ValueError as exc:
                out.append(f"{hp}.days: {exc}")
            try:
                opens = parse_time_of_day(h.open)
            except ValueError as exc:
                out.append(f"{hp}.open: {exc}")
                continue
            try:
                closes = parse_time_of_day(h.close, allow_24=True)
            except ValueError as exc:
                out.append(f"{hp}.close: {exc}")
                continue
            if closes == opens:
                out.append(
                    f"{hp}.close: equals open ({h.open}); for all day use "
                    "open = '00:00', close = '24:00'"
                )
    return out
