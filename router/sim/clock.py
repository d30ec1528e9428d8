"""The scenario's wall clock: router time ``t`` (seconds from the start) as ``mon 19:30``.

``simulation.start`` (docs/simulator.md, ``"mon 00:00"`` by default) is the wall
clock at ``t = 0``; a scenario without it counts from ``mon 00:00``. Charts,
``simulate --csv`` interval rows and the dashboard label time with it, and the
simulator hands it to the core as ``[routing.clock] start`` (hours of
operation; ``router/config/clock.py`` parses it).
"""

from __future__ import annotations

from typing import Any

from router.config.clock import DAYS, clock_offset_s

__all__ = ["DAYS", "clock_label", "clock_offset_s", "start_offset_s"]


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
