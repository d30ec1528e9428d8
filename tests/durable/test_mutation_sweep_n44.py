"""Directed tests from the mutation sweep's last two open ``domain.py`` mutants (mutN44).

Each test pins one behaviour of ``router/durable/domain.py``'s live cycle that a mutant
changed without any other test noticing: when the cycle's XREAD may block, and that a
trip whose batch was dead-lettered keeps nothing it read. Both start their own
``redis-server`` (the ``redis_server`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from router import Inquiry
from router.durable import Producer, faults
from router.durable import domain as domain_mod
from router.durable.log import Calls
from router.durable.testing import RedisServer
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


@pytest.mark.redis
def test_a_cycle_blocks_its_read_only_when_it_took_no_batch(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `domain.py:447`: a trip that logs a batch must not wait in its XREAD (the batch's
    # outputs would be held back); an idle trip waits until the next deadline
    blocks: list[Any] = []

    class Recorded(Calls):
        def call(self, name: str, *args: Any, **kwargs: Any) -> None:
            if name == "xread":
                blocks.append(kwargs["block"])
            super().call(name, *args, **kwargs)

    monkeypatch.setattr(domain_mod, "Calls", Recorded)

    async def body(c: Redis) -> None:
        clock = Clock(100.0)
        r = runner(c, clock)
        await start(r)
        await Producer(c, "d").submit(Inquiry(id="q1", queue="orders"))
        await r.cycle(block=False)  # reads q1
        blocks.clear()
        assert await r.cycle()  # logs q1 (an offer, expiring at 102.0): no wait
        clock.t = 101.75
        assert not await r.cycle()  # idle: waits at most the 250 ms to the expiry
        assert blocks == [None, 250]

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_dead_lettered_trip_drops_what_it_read_and_reads_again_from_the_log(
    redis_server: RedisServer,
) -> None:
    # `domain.py:502`: after a dead letter the core is rebuilt and the read cursor goes
    # back to the log's; what the same trip read (past entries read earlier and not in
    # the batch) must not be buffered, or those earlier entries are never logged
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), batch_items=2)
        await start(r)
        p = Producer(c, "d")
        faults.set_poison("bad")
        try:
            await p.submit_many(
                [Inquiry(id="bad", queue="orders"), Inquiry(id="a", queue="orders")]
            )
            await p.submit(Inquiry(id="b", queue="orders"))
            await r.cycle(block=False)  # reads both entries (3 inputs)
            assert len(r._requests) == 2
            await p.submit(Inquiry(id="c", queue="orders"))
            # logs the first entry alone (2 inputs), reads "c", crashes, dead-letters
            assert await r.cycle(block=False)
        finally:
            faults.set_poison(None)
        assert r.stats.dead_inputs == 1
        assert (r._requests, r._read_cur) == ([], r.cur)  # "b" and "c" read again
        await settle(r)
        assert r.core is not None and r.core.statistics().offered == 3  # a, b, c
        assert await c.hmget("router:{d}:flow", "added", "taken") == [b"4", b"4"]

    run(redis_server.url, body)
