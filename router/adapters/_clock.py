"""The router's clock in an adapter: the loop's clock, or Unix time read off it.

Theory of operation: an adapter drives the core with the loop's own clock
(``trio.current_time()``, ``loop.time()``), which starts anywhere. A config whose
``[routing.clock]`` says ``unix = true`` (hours of operation on the wall clock,
``router/config/clock.py``) needs ``now`` to be Unix time instead.
:class:`UnixClock` wraps a backend: its ``now`` is the loop's clock plus the
offset to ``time.time()`` measured once when the router opens, and deadlines
are turned back into loop time before the loop waits for them. The router's
clock so stays monotonic (a wall-clock step does not move it) and tests on a
virtual clock keep exact times.
"""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager

from router.adapters._backend import Backend, TaskGroup, Waiter

__all__ = ["UnixClock"]


class UnixClock(Backend):
    """``backend`` with ``now`` in Unix seconds (see the module docstring)."""

    def __init__(self, backend: Backend, offset: float | None = None) -> None:
        self._be = backend
        self.name = backend.name
        self.checkpoints = backend.checkpoints
        self.loop = backend.loop
        #: Unix time minus loop time, fixed at open
        self.offset = time.time() - backend.now() if offset is None else offset

    def now(self) -> float:
        return self._be.now() + self.offset

    def waiter(self) -> Waiter:
        return self._be.waiter()

    async def wait_until(self, waiter: Waiter, deadline: float) -> None:
        await self._be.wait_until(waiter, deadline - self.offset)

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        return self._be.task_group()

    async def checkpoint(self) -> None:
        await self._be.checkpoint()

    async def checkpoint_if_cancelled(self) -> None:
        await self._be.checkpoint_if_cancelled()

    async def cancel_shielded_checkpoint(self) -> None:
        await self._be.cancel_shielded_checkpoint()

    async def sleep_until(self, deadline: float) -> None:
        await self._be.sleep_until(deadline - self.offset)
