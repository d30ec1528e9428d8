"""Directed tests from mutG37's sweep of durable mode's log (``router/durable/log.py``).

Each test pins one behaviour a mutant changed without the durable subset noticing
(BENCHMARKS.md, "Mutation sweep of the policies' rest and durable mode's log (mutG37)").
The first part needs no Redis.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.cluster import RedisCluster

from router.durable.log import Calls


class _FakeCluster(RedisCluster):  # type: ignore[misc]
    """A cluster client that answers ``get`` itself: ``a`` only once ``b`` has answered."""

    def __init__(self) -> None:  # no nodes, no connection
        self.seen: list[str] = []
        self.b_done = asyncio.Event()

    async def get(self, key: str) -> Any:
        if key == "bad":
            raise ValueError("no such key")
        if key == "a":
            await self.b_done.wait()
        self.seen.append(key)
        self.b_done.set()
        return key.upper()


def test_calls_on_a_cluster_go_to_the_client_concurrently_errors_as_values() -> None:
    # `log.py:123` (`self.client` not kept): on a Cluster (no pipeline: redis-py refuses
    # scripts in cluster pipelines) the calls are made on the client itself, together;
    # replies come back in the order called, an error as a value
    client = _FakeCluster()
    calls = Calls(client)
    assert calls.pipe is None
    for key in ("a", "bad", "b"):
        calls.call("get", key)
    assert len(calls) == 3
    replies = asyncio.run(asyncio.wait_for(calls.execute(), 10))  # one at a time: stuck
    assert replies[0::2] == ["A", "B"]
    assert isinstance(replies[1], ValueError) and str(replies[1]) == "no such key"
    assert client.seen == ["b", "a"]  # together: a answered after b
    assert asyncio.run(Calls(client).execute()) == []
