"""The asyncio backend (any loop: the default one, uvloop, a virtual-time loop).

``loop.time()`` is the clock; a waiter is a bare future (``_hot.FutureWaiter``,
compiled in the compiled build); the runner's deadline is
one ``loop.call_at`` timer kept across wake-ups and moved only when the core's
next deadline changes, so a flood of inputs does not churn the timer heap. A
checkpoint is one bare yield to the task (:func:`_yield_once`), as ``asyncio.sleep(0)``
is.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

from router.adapters._backend import Backend, TaskGroup, Waiter
from router.adapters._hot import FutureWaiter as _FutureWaiter

__all__ = ["AsyncioBackend"]


@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    """Let the loop run the other ready tasks once: a bare yield, which the task answers
    by scheduling its next step (``loop.call_soon``). ``asyncio.sleep(0)`` does exactly
    this (its ``__sleep0``), behind two coroutine frames of its own; the runner
    checkpoints once per tick that woke someone."""
    yield


class _Group:
    __slots__ = ("_group", "_tasks")

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group
        self._tasks: list[asyncio.Task[Any]] = []

    def start_soon(self, fn: Callable[[], Awaitable[Any]], name: str) -> None:
        if inspect.iscoroutinefunction(fn):  # its coroutine is the task: no frame around it
            coro: Coroutine[Any, Any, Any] = fn()
        else:

            async def run() -> None:
                await fn()

            coro = run()
        self._tasks.append(self._group.create_task(coro, name=name))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


class AsyncioBackend(Backend):
    name = "asyncio"
    checkpoints = False

    def __init__(self) -> None:
        self._loop = self.loop = asyncio.get_running_loop()
        self.now = self._loop.time  # type: ignore[method-assign]  # skip one call layer
        self.waiter = partial(_FutureWaiter, self._loop)  # type: ignore[method-assign]  # idem
        self.checkpoint = _yield_once  # type: ignore[method-assign]  # idem, no frames
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._alarm: Waiter | None = None

    def now(self) -> float:
        return self._loop.time()

    def waiter(self) -> Waiter:
        return _FutureWaiter(self._loop)

    def _ring(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        alarm = self._alarm
        if alarm is not None:
            alarm.wake()

    async def wait_until(self, waiter: Waiter, deadline: float) -> None:
        if deadline != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if deadline != math.inf:
                self._timer = self._loop.call_at(deadline, self._ring)
            self._timer_at = deadline
        self._alarm = waiter
        try:
            await waiter.wait()
        finally:
            self._alarm = None

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        return _open_group()

    async def checkpoint(self) -> None:  # (replaced by ``_yield_once`` in ``__init__``)
        await _yield_once()

    async def checkpoint_if_cancelled(self) -> None:
        pass  # asyncio delivers cancellation at the next suspension

    async def cancel_shielded_checkpoint(self) -> None:
        pass  # asyncio's convention: an operation that can proceed does not yield

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self._loop.time()))


@asynccontextmanager
async def _open_group() -> AsyncIterator[TaskGroup]:
    async with asyncio.TaskGroup() as group:
        yield _Group(group)
