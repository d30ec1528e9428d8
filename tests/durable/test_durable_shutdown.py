"""``serve`` shuts down even when a cancel comes out of the Redis client as an error.

A cancel that lands inside a Redis call may surface as a ``RedisError`` (the client's
socket timeout and the cancel race). The heartbeat loop took it for Redis being down, went
on beating, and ``Server.run``'s shutdown waited for it forever: a CI run hung in
``test_health_and_metrics_follow_redis_leases_and_lag`` at ``await beat``. No Redis is
needed here: the heartbeat's Redis call is replaced by one that fails that way."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError

from router import RouterConfig, decode_config
from router.durable.domain import DomainOptions
from router.durable.serve import Server
from tests.durable.conftest import CONFIG


def _server() -> Server:
    # nothing connects until a call is made: the port is never used
    cfg: RouterConfig = decode_config(CONFIG.encode())
    return Server("redis://127.0.0.1:1", cfg, ["h1"], DomainOptions(lease_ms=300))


def test_a_cancel_that_comes_out_as_a_redis_error_ends_the_heartbeat() -> None:
    async def main() -> None:
        server = _server()
        entered = asyncio.Event()

        async def heartbeat() -> None:  # a Redis call that turns the cancel into an error
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError as exc:
                raise RedisConnectionError("the read was cut short") from exc

        server._heartbeat = heartbeat  # type: ignore[method-assign]
        beat = asyncio.create_task(server._heartbeat_loop())
        await entered.wait()
        beat.cancel()
        done, _ = await asyncio.wait({beat}, timeout=5.0)
        try:
            assert beat in done and beat.cancelled()
        finally:
            beat.cancel()
            await server.client.aclose()

    asyncio.run(main())


def test_the_heartbeat_ends_when_the_server_stops() -> None:
    async def main() -> None:
        server = _server()
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            beats += 1
            if beats == 2:
                server.stop()

        server._heartbeat = heartbeat  # type: ignore[method-assign]
        try:
            await asyncio.wait_for(server._heartbeat_loop(), timeout=10.0)
        finally:
            await server.client.aclose()
        assert beats == 2

    asyncio.run(main())
