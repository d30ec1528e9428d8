"""A new operator's first ``router serve`` (BENCHMARKS: "Durable mode's loose ends, tidy43"):
what the process tells about the Redis it was pointed at."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from router import RouterConfig, decode_config
from router.durable.domain import DomainOptions
from router.durable.serve import Server
from router.durable.testing import RedisServer
from tests.durable.conftest import CONFIG

NO_AOF = (
    "redis keeps no append-only file (appendonly no): a Redis restart loses what was "
    "acknowledged; set appendonly yes (docs/deploy.md, section 4)"
)


def _warnings(url: str, caplog: pytest.LogCaptureFixture, refuse_config: bool = False) -> list[str]:
    """Serve domain ``d`` for a few polls and hand it back; the warnings logged."""

    async def main() -> None:
        cfg: RouterConfig = decode_config(CONFIG.encode())
        s = Server(url, cfg, ["d"], DomainOptions(lease_ms=1000))  # polls every 0.1 s
        if refuse_config:  # as managed Redis services often do

            async def refused(*args: object) -> None:
                raise ResponseError("unknown command 'CONFIG'")

            s.client.config_get = refused
        asyncio.get_running_loop().call_later(0.25, s.stop)
        await s.run()
        assert s.counters["acquired"] == 1 and s.counters["released"] == 1

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="router.durable"):
        asyncio.run(main())
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.redis
def test_serve_warns_once_when_redis_keeps_no_append_only_file(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert _warnings(redis_server.url, caplog) == []  # the fixture's Redis: appendonly yes

    async def aof_off() -> None:
        c = Redis.from_url(redis_server.url)
        await c.config_set("appendonly", "no")
        await c.aclose()

    asyncio.run(aof_off())
    assert _warnings(redis_server.url, caplog) == [NO_AOF]  # once, however many polls
    assert _warnings(redis_server.url, caplog, refuse_config=True) == []  # nothing to say
