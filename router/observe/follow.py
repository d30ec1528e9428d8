"""Feed a :class:`~router.observe.Monitor` from a running adapter (trio or asyncio).

``await follow(handle, monitor)`` subscribes to every event the adapter's router
emits (``RouterHandle.subscribe``, ``drop_oldest`` so a slow consumer never stalls
routing) and feeds them to the monitor until the router closes. Start it as a task
beside the service: ``asyncio.create_task(follow(router, monitor))`` or
``nursery.start_soon(follow, router, monitor)``.
"""

from __future__ import annotations

from typing import Any

from router.observe.monitor import Monitor

__all__ = ["follow"]


async def follow(handle: Any, monitor: Monitor, *, maxlen: int = 100_000) -> int:
    """Feed ``monitor`` every event of ``handle`` until it closes; returns the events dropped
    because the monitor fell ``maxlen`` events behind (0 in a healthy service)."""
    async with handle.subscribe(maxlen=maxlen, overflow="drop_oldest") as events:
        async for ev in events:
            monitor.feed((ev,))
        dropped: int = events.dropped
    return dropped
