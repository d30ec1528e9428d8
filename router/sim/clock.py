"""The scenario's wall clock: router time ``t`` (seconds from the start) as ``mon 19:30``.

``simulation.start`` (scenario.md §2, ``"mon 00:00"`` by default) is the wall
clock at ``t = 0``; a scenario without it counts from ``mon 00:00``. Charts,
``simulate --csv`` interval rows and the dashboard label time with it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DAYS", "clock_label", "start_offset_s"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_START = re.compile(r"^\s*(?:(?P<day>[a-z]{3})\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})\s*$", re.IGNORECASE)


def start_offset_s(scenario: Any) -> float:
    """Seconds from Monday 00:00 to the scenario's ``t = 0`` (0 when it names no start)."""
    start = getattr(getattr(scenario, "simulation", None), "start", None)
    if not isinstance(start, str):
        return 0.0
    m = _START.match(start)
    if m is None:
        return 0.0
    day = DAYS.index(m["day"].lower()) if m["day"] and m["day"].lower() in DAYS else 0
    return day * 86400.0 + int(m["h"]) * 3600.0 + int(m["m"]) * 60.0


def clock_label(t: float, offset_s: float = 0.0, seconds: bool = False) -> str:
    """``mon 19:30`` (``mon 19:30:05`` with ``seconds``) for router time ``t``."""
    total = int(t + offset_s)
    day = DAYS[(total // 86400) % 7]
    h, rem = divmod(total % 86400, 3600)
    m, s = divmod(rem, 60)
    return f"{day} {h:02d}:{m:02d}:{s:02d}" if seconds else f"{day} {h:02d}:{m:02d}"
