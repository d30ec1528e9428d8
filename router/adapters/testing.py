"""Deterministic time for asyncio tests: an event loop with a virtual clock.

Theory of operation: asyncio's loop asks its selector to wait ``timeout``
seconds for I/O only when no callback is ready, ``timeout`` being the time to the
earliest timer. :class:`VirtualTimeLoop` gives the loop a selector that polls
without blocking and, if nothing arrived, moves the virtual clock straight to
that timer, which then fires. So time only passes when every task is blocked:
the asyncio twin of ``trio.testing.MockClock(autojump_threshold=0)``. Runs are
as fast as the code and give the same times on every machine.

Ready I/O is still seen (a loopback socket's data is there at once), but I/O
that is not ready does not hold the clock back; for threads or remote peers use
a real loop. When no task can run, no timer is set and no I/O arrives within
``idle_timeout`` real seconds, the loop raises ``RuntimeError`` (a deadlock)
instead of hanging.

This module imports asyncio; ``router.adapters`` does not import it.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, idle_timeout: float | None) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None
        self._idle_timeout = idle_timeout

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if events or timeout == 0:
            return events
        loop = self.loop
        assert loop is not None
        if timeout is None:
            events = super().select(self._idle_timeout)
            if not events:
                raise RuntimeError(
                    "virtual-time loop: no task can run, no timer is set and no I/O arrived "
                    f"in {self._idle_timeout} s (a deadlock)"
                )
            return events
        scheduled = getattr(loop, "_scheduled", None)
        target = scheduled[0].when() if scheduled else loop.virtual_now + timeout
        loop.advance_to(target)
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual and jumps to the next timer."""

    def __init__(self, start: float = 0.0, idle_timeout: float | None = 10.0) -> None:
        self.virtual_now = float(start)
        selector = _JumpingSelector(idle_timeout)
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        return self.virtual_now

    def advance_to(self, when: float) -> None:
        """Move the clock forward to ``when`` (never backwards)."""
        if when > self.virtual_now:
            self.virtual_now = when


def run_virtual(main: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """``asyncio.run`` on a :class:`VirtualTimeLoop` starting at ``start``."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(main)
