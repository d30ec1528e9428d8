"""Immutable statistics snapshots returned by ``statistics()``."""

from __future__ import annotations

from msgspec import Struct

__all__ = ["QueueStatistics", "RouterStatistics"]


class QueueStatistics(Struct, frozen=True, kw_only=True):
    waiting: int
    expected_wait_s: float


class RouterStatistics(Struct, frozen=True, kw_only=True):
    """Counters since start plus what is in flight now."""

    now: float
    version: int
    agents_logged_in: int
    agents_ready: int
    agents_with_room: int
    waiting: int
    offered: int
    in_service: int
    wrap_up: int
    counters: dict[str, int]
    queues: dict[str, QueueStatistics]
    surge: bool = False
