"""The backend protocol the async runner is written against.

Theory of operation: the runner (``_runner.py``) needs six things from an event
loop, and nothing else: the loop's clock (``now``), a one-shot wake-up a task can
wait on (:class:`Waiter`), a way to sleep until a wake-up or a deadline
(``wait_until``), a task group to run the runner beside the caller's code, and
the loop's checkpoints (yield to the other tasks; the cancellation convention),
and a plain sleep for the presence keepalive. Each backend implements them in a
few lines (``_trio.py``, ``_asyncio.py``); uvloop is just an asyncio loop factory.
This module imports neither trio nor asyncio; ``_select.py`` imports the chosen
backend when a router is opened.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

__all__ = ["Backend", "TaskGroup", "Waiter"]


class Waiter(Protocol):
    """A one-shot wake-up: one task awaits :meth:`wait`, anyone calls :meth:`wake`."""

    def wake(self) -> None: ...

    def wait(self) -> Awaitable[None]:
        """An awaitable that completes at the wake-up (asyncio's is the bare future, no
        coroutine around it: one frame less on every wake-up of an agent session)."""
        ...


class TaskGroup(Protocol):
    """The part of a nursery / ``asyncio.TaskGroup`` the runner uses."""

    def start_soon(self, fn: Callable[[], Awaitable[Any]], name: str) -> None: ...

    def cancel(self) -> None: ...


class Backend(ABC):
    """One event loop's primitives. One instance per opened router."""

    #: ``"trio"`` or ``"asyncio"``.
    name: str
    #: True when every adapter ``await`` must be a checkpoint (trio's rule).
    #: asyncio's rule (``asyncio.Queue.get``) is to return at once when the answer is at hand.
    checkpoints: bool
    #: asyncio's running loop, or None (trio): an agent session then iterates its offers
    #: with ``_hot.Offers`` (a future of this loop per wait, no coroutine per read).
    loop: Any = None

    @abstractmethod
    def now(self) -> float:
        """The loop's own clock (``trio.current_time()``, ``loop.time()``)."""

    @abstractmethod
    def waiter(self) -> Waiter:
        """A fresh one-shot wake-up."""

    @abstractmethod
    async def wait_until(self, waiter: Waiter, deadline: float) -> None:
        """Return when ``waiter`` is woken or the clock reaches ``deadline`` (may be inf).

        Only the runner calls this, so a backend may keep one reusable timer.
        """

    @abstractmethod
    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        """A task group whose ``cancel()`` cancels every task in it."""

    @abstractmethod
    async def checkpoint(self) -> None:
        """Let every other ready task run before this one goes on."""

    @abstractmethod
    async def checkpoint_if_cancelled(self) -> None:
        """Raise the loop's cancellation if the caller is cancelled (no-op on asyncio)."""

    @abstractmethod
    async def cancel_shielded_checkpoint(self) -> None:
        """Let other tasks run without being cancellable here (no-op on asyncio)."""

    @abstractmethod
    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the loop's clock reaches ``deadline`` (the presence keepalive)."""
