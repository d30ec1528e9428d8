"""The scenario's wall clock: router time ``t`` (seconds from the start) as ``mon 19:30``.

``simulation.start`` (docs/simulator.md, ``"mon 00:00"`` by default) is the wall
clock at ``t = 0``; a scenario without it counts from ``mon 00:00``. Charts,
``simulate --csv`` interval rows and the dashboard label time with it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DAYS", "clock_label", "clock_offset_s", "start_offset_s"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):([0-5][0-9])$")


def clock_offset_s(start: str) -> float:
    """Seconds from Monday 00:00 to ``start`` (``"fri 18:00"``); raises ValueError."""
    m = _CLOCK.match(start.strip().lower())
    if m is None:
        raise ValueError(f"expected a day and a time like 'mon 00:00', got {start!r}")
    return DAYS.index(m.group(1)) * 86400.0 + int(m.group(2)) * 3600.0 + int(m.group(3)) * 60.0


def start_offset_s(scenario: Any) -> float:
    """Seconds from Monday 00:00 to the scenario's ``t = 0`` (0 when it names no valid start)."""
    start = getattr(getattr(scenario, "simulation", None), "start", None)
    if not isinstance(start, str):
        return 0.0
    try:
        return clock_offset_s(start)
    except ValueError:
        return 0.0


def clock_label(t: float, offset_s: float = 0.0, *, seconds: bool = False, day: bool = True) -> str:
    """``mon 19:30`` for router time ``t`` (``mon 19:30:05`` with ``seconds``; ``19:30``
    without ``day``)."""
    total = round(t + offset_s) if not seconds else int(t + offset_s)
    h, rem = divmod(total % 86400, 3600)
    m, s = divmod(rem, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}" if seconds else f"{h:02d}:{m:02d}"
    return f"{DAYS[(total // 86400) % 7]} {text}" if day else text
