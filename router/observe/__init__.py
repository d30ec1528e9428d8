"""Observability drivers: an event-fed monitor of real-time figures, and tracing.

``Monitor`` consumes the core's events (from ``tick``, an adapter subscription
or the simulator's hook) and keeps per-queue sliding windows, per-agent
figures and optional interval rows; ``router.metrics`` exposes it (and
``Router.statistics()``) to Prometheus, ``router.dashboard`` shows it on a
page, ``router.sim.csv_report`` writes its interval rows. See docs/metrics.md.
"""

from router.observe.follow import follow
from router.observe.monitor import (
    WAIT_BUCKETS,
    AgentFigures,
    AgentInterval,
    Monitor,
    MonitorStatistics,
    QueueFigures,
    ReconfigureNote,
)
from router.state.tallies import capacity_shares
from router.state.windows import DEFAULT_WINDOWS, Counts, SlidingWindows
from router.stats import AGENT_STATES, WindowFigures, window_label

__all__ = [
    "AGENT_STATES",
    "DEFAULT_WINDOWS",
    "WAIT_BUCKETS",
    "AgentFigures",
    "AgentInterval",
    "Counts",
    "Monitor",
    "MonitorStatistics",
    "QueueFigures",
    "ReconfigureNote",
    "SlidingWindows",
    "WindowFigures",
    "capacity_shares",
    "follow",
    "window_label",
]
