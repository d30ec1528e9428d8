"""A running adapter as a source for the operator page (the example service's ``--http``).

Theory of operation: the page state is built on demand in the event loop that
runs the router, so nothing crosses a thread: :meth:`LiveSource.state` reads the
handle's ``statistics()`` and the monitor (fed by :func:`router.observe.follow`),
at most once per ``push_s``; :meth:`LiveSource.apply` calls the handle's
``reconfigure`` (atomic; a refused config changes nothing) and tells the monitor
the new queues. ``/metrics`` is the :class:`~router.metrics.RouterCollector` over
the same handle and monitor, when prometheus-client is installed.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from router.config import RouterConfig
from router.dashboard.state import page_state
from router.observe import Monitor

__all__ = ["LiveSource"]


class LiveSource:
    """The page source over an open ``RouterHandle`` and a monitor that follows it."""

    def __init__(
        self,
        handle: Any,
        monitor: Monitor,
        *,
        title: str = "live service",
        sl_goal: float = 0.8,
        push_s: float = 0.25,
    ) -> None:
        self.handle = handle
        self.monitor = monitor
        self.title = title
        self.sl_goal = sl_goal
        self.push_s = push_s
        self._seq = 0
        self._body = b"{}"
        self._at = -float("inf")
        self._registry: Any = None
        try:
            from prometheus_client import CollectorRegistry

            from router.metrics import RouterCollector
        except ImportError:
            pass
        else:
            self._registry = CollectorRegistry()
            self._registry.register(RouterCollector(handle, monitor))

    def _clock(self, t: float) -> str:
        """Router time (the loop's clock) as local wall-clock time."""
        return time.strftime("%H:%M:%S", time.localtime(time.time() + t - self.handle.now()))

    def state(self) -> tuple[int, bytes]:
        wall = time.monotonic()
        if wall - self._at >= self.push_s:
            self._at = wall
            stats = self.handle.statistics().router
            state = page_state(
                stats,
                self.monitor.statistics(self.handle.now()),
                title=self.title,
                mode="live",
                clock=self._clock,
                sl_goal=self.sl_goal,
                extra={"clock": self._clock(self.handle.now()), "done": False, "progress": None},
            )
            body = msgspec.json.encode(state)
            if body != self._body:
                self._seq += 1
                self._body = body
        return self._seq, self._body

    async def apply(self, config: RouterConfig) -> int:
        version: int = self.handle.reconfigure(config)
        self.monitor.configure(config)
        self._at = -float("inf")
        return version

    def metrics(self) -> bytes | None:
        if self._registry is None:
            return None
        from prometheus_client import generate_latest

        body: bytes = generate_latest(self._registry)
        return body
