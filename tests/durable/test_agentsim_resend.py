"""The test agents resend a completion refused as ``DeadLettered`` (docs/deploy.md, "Dead
letters"): its batch crashed the core, so it changed nothing and the inquiry is still with
its agent; without a resend it would never get an outcome (the crash-point test's dead-letter
case, under load, when agents' completions share the poison batch)."""

from __future__ import annotations

import asyncio

import pytest

from router.durable.log import connect
from router.durable.testing import RedisServer
from router.durable.wire import (
    DomainKeys,
    Refusal,
    decode_request,
    encode_refusals,
    pack_events,
)
from router.inputs import Complete
from tests.durable.agentsim import AgentSimulator

pytestmark = pytest.mark.redis


def _refusal(inp: str, ref: str, producer: str, error: str = "DeadLettered") -> Refusal:
    return Refusal(at=1.0, input=inp, ref=ref, error=error, message="boom", producer=producer)


def test_a_dead_lettered_completion_of_ours_is_sent_again(redis_server: RedisServer) -> None:
    keys = DomainKeys("d", "router")

    async def go() -> list[object]:
        sim = AgentSimulator(redis_server.url, ["d"])
        task = asyncio.create_task(sim.run())
        client = connect(redis_server.url, timeout_s=5.0)
        try:
            refusals = [
                _refusal("complete", "i1", "agentsim:d"),  # ours: sent again
                _refusal("complete", "i2", "someone-else"),  # not ours
                _refusal("complete", "i3", "agentsim:d", error="Unknown"),  # our mistake
                _refusal("accept", "i4", "agentsim:d"),  # the offer expires and comes again
            ]
            await client.xadd(
                keys.output,
                {"tok": 1, "in": "1-0", "ev": pack_events([]), "err": encode_refusals(refusals)},
            )
            for _ in range(200):  # the simulator reads outputs every 0.2 s at most
                rows = await client.xrange(keys.requests)
                if rows:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # nothing else follows
            rows = await client.xrange(keys.requests)
            sent = []
            for rid, fields in rows:
                good, bad = decode_request(fields, rid.decode())
                assert not bad
                sent += [(r.input, r.producer) for r in good]
            return sent
        finally:
            sim.stop()
            counts = await asyncio.wait_for(task, 10.0)
            assert counts["resent"] == 1
            await client.aclose()

    sent = asyncio.run(asyncio.wait_for(go(), 60.0))
    assert sent == [(Complete(inquiry_id="i1"), "agentsim:d")]
