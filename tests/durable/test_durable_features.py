"""Issue 16's second half in durable mode: the in-queue changes, agent updates, heartbeats and
presence timeouts travel the wire as the core's inputs, and a replay of the log rebuilds the
same core (a real ``redis-server``)."""

from __future__ import annotations

import msgspec
import pytest
from redis.asyncio import Redis

from router import AgentSpec, Inquiry, decode_config
from router.durable import Producer
from router.durable.audit import verify_replay
from router.durable.testing import RedisServer
from router.events import AgentAway, AgentUpdated, InquiryUpdated, Requeued, Transferred
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


def test_changes_in_queue_and_presence_travel_the_log(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(
            CONFIG
            + """
[[queues]]
name = "escalations"
channel = "voice"
requires = { refund = 1 }
"""
        )
        cfg = msgspec.structs.replace(
            cfg, routing=msgspec.structs.replace(cfg.routing, presence_timeout_s=30.0)
        )
        clock = Clock(1.0)
        r = runner(c, clock, config=cfg, agents_from_config=False)
        await start(r)
        p = Producer(c, "d", producer="desk")
        await p.login(AgentSpec(id="ann", skills={"refund": 1}, capacity={"voice": 1}))
        await p.login(AgentSpec(id="bob", skills={"orders": 1}, capacity={"chat": 2}))
        await p.submit(Inquiry(id="r1", queue="refunds"))
        await settle(r)
        clock.t = 2.0
        await p.accept("r1", "ann")
        await p.submit(Inquiry(id="o1", queue="orders", requires={"vip": 2}))
        await settle(r)
        clock.t = 3.0
        await p.hand_back("r1", "ann", priority=1)  # nobody else has refund: it waits
        await p.update_inquiry("o1", requires={})  # bob can take it now
        await p.update_agent(AgentSpec(id="bob", skills={"orders": 1, "refund": 1}))
        await settle(r)
        clock.t = 4.0
        await p.transfer("r1", "escalations")
        await p.transfer("o1", "escalations")  # chat to voice: refused, naming the queue
        await settle(r)
        clock.t = 20.0
        await p.heartbeat("bob")  # ann says nothing more
        await settle(r)
        clock.t = 40.0  # ann's console silent since 3: away at 33; bob, seen at 20, stays
        await settle(r)
        core = r.core
        assert core is not None and core.statistics().agents_ready == 1
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        events = [e for o in rep.outputs for e in o.events]
        kinds = {type(e) for e in events}
        for kind in (Requeued, InquiryUpdated, AgentUpdated, Transferred, AgentAway):
            assert kind in kinds, kind.__name__
        away = [e for e in events if isinstance(e, AgentAway)]
        assert [(e.agent_id, e.reason, e.at) for e in away] == [("ann", "presence_timeout", 33.0)]
        refused = [x for o in rep.outputs for x in o.refusals]
        assert [(x.input, x.ref, x.error, x.producer) for x in refused] == [
            ("transfer", "o1", "InvalidInput", "desk")
        ]
        assert refused[0].message.startswith("queue: queue 'escalations' is on channel 'voice'")

    run(redis_server.url, body)
