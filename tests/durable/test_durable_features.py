"""The routing features through the durable wire against a real redis-server: attribute
targeting (profiles' attributes, inquiries' attributes, ``set_attributes``), preferred
agents and multi-offer, with the audit and a byte-identical replay of the log; and issue 16's
second half: the in-queue changes, agent updates, heartbeats and presence timeouts travel the
wire as the core's inputs, and a replay of the log rebuilds the same core."""

from __future__ import annotations

import msgspec
import pytest
from redis.asyncio import Redis

from router import AgentSpec, Inquiry, decode_config
from router.durable import DomainOptions, DomainRunner, Producer
from router.durable.audit import audit_events, verify_replay
from router.durable.testing import RedisServer
from router.durable.wire import Request, decode_request, encode_request
from router.events import (
    AgentAway,
    AgentUpdated,
    Assigned,
    InquiryUpdated,
    Offered,
    OfferRescinded,
    Requeued,
    Transferred,
)
from router.inputs import Accept, Complete, Decline, SetAttributes
from tests.durable.conftest import CONFIG as BASE_CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis

CONFIG = """
[routing]
mode = "offer"
offer_timeout_s = 60.0
[[queues]]
name = "lang"
channel = "voice"
match = "inquiry.lang in langs"
preferred_wait_s = 30
[[queues]]
name = "ring"
channel = "voice"
max_offers = 3
distribution = "round_robin"
[[agents]]
name = "zh"
count = 2
attributes = { langs = ["zh"] }
[[agents]]
name = "en"
count = 2
attributes = { langs = ["en"] }
"""


def test_the_features_through_the_log(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=60_000, keep_log=True, agents_from_config=True)
        clock = Clock(100.0)
        r = DomainRunner(c, "d", "p1", cfg, opts, clock=clock)
        await start(r)
        p = Producer(c, "d")
        # targeting, and a preference for the second English agent
        await p.submit_many(
            [
                Inquiry(id="z1", queue="lang", attributes={"lang": "zh"}),
                Inquiry(
                    id="e1", queue="lang", attributes={"lang": "en"}, preferred_agents=["en-2"]
                ),
            ]
        )
        await settle(r)
        offers = {
            e.inquiry_id: e.agent_id
            for o in await p.all_outputs()
            for e in o.events
            if isinstance(e, Offered)
        }
        assert offers["z1"].startswith("zh-") and offers["e1"] == "en-2"
        clock.t = 101.0
        await p.send_many(Accept(inquiry_id=i, agent_id=a) for i, a in offers.items())
        # the English agent left free learns Chinese; a ring to up to three agents
        await p.set_attributes("en-1", {"langs": ["en", "zh"]})
        await p.submit(Inquiry(id="z2", queue="lang", attributes={"lang": "zh"}))
        await settle(r)
        outs = [e for o in await p.all_outputs() for e in o.events]
        z2 = [e.agent_id for e in outs if isinstance(e, Offered) and e.inquiry_id == "z2"]
        assert len(z2) == 1 and z2[0] in ("zh-1", "zh-2", "en-1")
        clock.t = 102.0
        await p.send(Accept(inquiry_id="z2", agent_id=z2[0]))
        await settle(r)
        await p.submit(Inquiry(id="r1", queue="ring"))
        await settle(r)
        outs = [e for o in await p.all_outputs() for e in o.events]
        ring = [e.agent_id for e in outs if isinstance(e, Offered) and e.inquiry_id == "r1"]
        assert len(ring) == 1  # every other agent holds a call: up to three, one free
        clock.t = 103.0
        await p.send_many(
            [Complete(inquiry_id="z1"), Complete(inquiry_id="e1"), Decline(inquiry_id="r1")]
        )
        await settle(r)
        outs = [e for o in await p.all_outputs() for e in o.events]
        ring = [e.agent_id for e in outs if isinstance(e, Offered) and e.inquiry_id == "r1"]
        assert len(ring) == 3  # the decliner's place goes to the two freed agents
        clock.t = 104.0
        await p.send_many(Accept(inquiry_id="r1", agent_id=a) for a in ring[1:])  # two race
        await settle(r)
        rep = await verify_replay(c, "d")
        assert rep.problems == []  # the log replays to the same bytes
        events = [e for o in rep.outputs for e in o.events]
        assert sum(1 for e in events if isinstance(e, Assigned) and e.inquiry_id == "r1") == 1
        assert [e.agent_id for e in events if isinstance(e, OfferRescinded)] == [ring[2]]
        refusals = [f for o in rep.outputs for f in o.refusals]
        assert [f.input for f in refusals] == ["accept"]  # the second accept came too late
        audit = audit_events(rep, cfg, added=["z1", "e1", "z2", "r1"])
        assert [x for x in audit.problems if "outcomes" not in x] == []
        assert audit.assigned == 4

    run(redis_server.url, body)


def test_set_attributes_travels_as_json_and_msgpack() -> None:
    inp = SetAttributes(agent_id="a", attributes={"langs": ["zh"], "vip": True, "n": 2.5})
    request = Request(input=inp, producer="p1")
    assert decode_request({b"m": encode_request(request)}, "1-0") == ([request], [])
    js = b'{"input": {"type": "set_attributes", "agent_id": "a", "attributes": {"x": {"y": 1}}}}'
    good, (bad,) = decode_request({b"j": js}, "2-0")
    assert good == [] and bad.input == "set_attributes" and "attributes" in bad.message
    assert bad.ref == "a"


def test_changes_in_queue_and_presence_travel_the_log(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(
            BASE_CONFIG
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
