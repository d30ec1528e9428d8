"""Directed tests from the mutation sweep of ``router/durable/domain.py``'s rest (mutM43).

Each test pins one behaviour of ``domain.py`` that a mutant changed without any other test
noticing. The one marked ``redis`` starts its own ``redis-server`` (the ``redis_server``
fixture).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from redis.asyncio import Redis

from router import Inquiry, Router, decode_config
from router.durable import Producer
from router.durable.domain import BATCH_BUCKETS, _bucket
from router.durable.testing import RedisServer
from router.durable.wire import Batch
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, start

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_the_batch_size_buckets_are_the_ones_the_docs_list() -> None:
    # docs/deploy.md's metrics table names the histogram's bucket bounds
    (row,) = [x for x in DOCS.read_text().splitlines() if "router_durable_batch_inputs" in x]
    m = re.search(r"buckets ([0-9, ]+)\)", row)
    assert m is not None
    assert tuple(int(b) for b in m.group(1).split(", ")) == BATCH_BUCKETS
    # a batch counts in the first bucket whose bound it does not pass
    assert [_bucket(b) for b in BATCH_BUCKETS] == list(range(len(BATCH_BUCKETS)))
    assert [_bucket(b + 1) for b in BATCH_BUCKETS] == list(range(1, len(BATCH_BUCKETS) + 1))


def test_each_renewal_during_an_isolation_counts_once() -> None:
    # /metrics' isolation renewals: one per renewal the walk of a crashing batch made
    r = runner(Redis(), Clock(0.0))  # no Redis is reached: the renewal is counted here
    r.core = Router(decode_config(CONFIG.encode()), now=1.0)
    renewals: list[float] = []

    async def renew() -> None:  # the lease's renewal, left due after each
        renewals.append(r._renew_at)

    r._renew = renew  # type: ignore[method-assign]
    batch = Batch(now=2.0, cur="1-0", items=[])
    asyncio.run(r._isolate(batch))
    assert len(renewals) >= 1 and r.stats.isolation_renewals == len(renewals)


@pytest.mark.redis
def test_an_entrys_undecodable_requests_count_toward_the_batch_limit(
    redis_server: RedisServer,
) -> None:
    # batch_items bounds a batch's inputs, the undecodable ones (refused in it) included
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), batch_items=1)
        await start(r)
        logins = r.stats.inputs
        await Producer(c, "d").submit(Inquiry(id="q0", queue="orders"))
        await c.xadd("router:{d}:requests", {"j": b"{"})
        await c.xadd("router:{d}:requests", {"j": b"{"})
        await r.cycle(block=False)  # reads the three entries (1 input, 1 and 1 undecodable)
        assert len(r._requests) == 3
        await r.cycle(block=False)  # logs the first alone: one more input would pass 1
        assert (r.stats.inputs - logins, r.stats.refusals, len(r._requests)) == (1, 0, 2)

    run(redis_server.url, body)
