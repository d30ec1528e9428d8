"""The snapshot records of the real-time statistics (``router/state/windows.py``,
``router/state/tallies.py``): plain msgspec Structs, in a module of their own so the
compiled build (setup.py) leaves them pure Python, where their class keywords hold.
"""

from __future__ import annotations

from msgspec import Struct

__all__ = ["AgentTallyRecord", "CountsRecord", "WindowsRecord"]

#: ``(offered, answered, in_target, abandoned, rejected, deflected, handled, wait_s,
#: handle_s, workload_s, expired)``: a :class:`Counts` in a snapshot.
CountsRecord = tuple[int, int, int, int, int, int, int, float, float, float, int]


class WindowsRecord(Struct, array_like=True):
    """A :class:`SlidingWindows` in a snapshot (its windows and bucket come from the config)."""

    key: int
    cum: CountsRecord
    #: ``cum`` at the end of each bucket still needed, oldest first
    ends: list[tuple[int, CountsRecord]]
    reset: CountsRecord
    reset_at: float
    #: what windows of earlier shapes counted (for the totals since the start)
    before: CountsRecord = (0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0)


class AgentTallyRecord(Struct, array_like=True):
    """The figures of an :class:`AgentTally` in a snapshot (the rest is derived)."""

    since: float
    offers: int
    handled: int
    handle_s: float
    declined: int
    expired: int
    busy_s: float
    staffed_s: float = 0.0
    on_from: float | None = None  # None: ``since``
