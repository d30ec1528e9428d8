"""The trio backend: ``trio.current_time()``, ``trio.Event``, cancel-scope deadlines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import trio

from router.adapters._backend import Backend, TaskGroup, Waiter

__all__ = ["TrioBackend"]


class _TrioWaiter:
    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = trio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


class _Nursery:
    __slots__ = ("_nursery",)

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    def start_soon(self, fn: Callable[[], Awaitable[Any]], name: str) -> None:
        self._nursery.start_soon(fn, name=name)

    def cancel(self) -> None:
        self._nursery.cancel_scope.cancel()


class TrioBackend(Backend):
    name = "trio"
    checkpoints = True

    def now(self) -> float:
        return trio.current_time()

    def waiter(self) -> Waiter:
        return _TrioWaiter()

    async def wait_until(self, waiter: Waiter, deadline: float) -> None:
        with trio.move_on_at(deadline):
            await waiter.wait()

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        return _open_nursery()

    async def checkpoint(self) -> None:
        await trio.lowlevel.checkpoint()

    async def checkpoint_if_cancelled(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()

    async def cancel_shielded_checkpoint(self) -> None:
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def sleep_until(self, deadline: float) -> None:
        await trio.sleep_until(deadline)


@asynccontextmanager
async def _open_nursery() -> AsyncIterator[TaskGroup]:
    async with trio.open_nursery() as nursery:
        yield _Nursery(nursery)
