"""The routing features through the adapters, on trio, asyncio and asyncio+uvloop:
attribute targeting, preferred agents, distribution modes and multi-offer with rescinds."""

from __future__ import annotations

import pytest

from router import AgentSpec, Inquiry, InvalidState, OfferRescinded, QueueConfig, RouterConfig
from router import Routing as RoutingCfg
from router.adapters import open_router
from tests.test_adapters import Env, env

__all__ = ["env"]  # the fixture, parametrised over the backends


def config(env: Env) -> RouterConfig:
    return RouterConfig(
        routing=RoutingCfg(offer_timeout_s=env.s(30)),
        queues=[
            QueueConfig(name="ring", max_offers=2, distribution="longest_idle"),
            QueueConfig(
                name="lang",
                match="inquiry.lang in langs",
                preferred_wait_s=env.s(20),
                distribution="round_robin",
            ),
        ],
    )


def test_multi_offer_rescinds_the_offer_the_other_agent_read(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
            r.agent(AgentSpec(id="a2")) as a2,
        ):
            await env.sleep(env.s(1))  # both listed (a later matching pass than their logins)
            r.submit_nowait(Inquiry(id="c1", queue="ring"))
            o1 = await env.next(a1)
            o2 = await env.next(a2)
            assert (o1.inquiry_id, o2.inquiry_id) == ("c1", "c1")
            assert sorted(r.core.offered_to("c1")) == ["a1", "a2"]
            a2.accept(o2)
            assigned = await r.wait_assigned("c1")
            assert assigned.agent_id == "a2"
            gone = await env.next(a1)
            assert isinstance(gone, OfferRescinded) and gone.accepted_by == "a2"
            with pytest.raises(InvalidState, match="rescinded \\('a2' accepted it first\\)"):
                a1.accept(gone)
            with pytest.raises(InvalidState, match="assigned, not offered"):
                a1.accept(o1)
            a2.complete("c1")

    env.run(scenario)


def test_targeting_and_preference_through_the_handle(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env), backend=env.name) as r,
            r.agent(AgentSpec(id="zh", attributes={"langs": ["zh"]})) as zh,
            r.agent(AgentSpec(id="en", attributes={"langs": ["en"]})) as en,
            r.agent(AgentSpec(id="en2", attributes={"langs": ["en"]})) as en2,
        ):
            await env.sleep(env.s(1))
            r.submit_nowait(Inquiry(id="c1", queue="lang", attributes={"lang": "zh"}))
            offer = await env.next(zh)
            assert offer.inquiry_id == "c1"
            zh.accept(offer)
            # en2 is preferred: it gets the inquiry although en comes first in turn
            r.submit_nowait(
                Inquiry(id="c2", queue="lang", attributes={"lang": "en"}, preferred_agents=["en2"])
            )
            offer = await env.next(en2)
            assert offer.inquiry_id == "c2" and offer.explanation is None
            en2.accept(offer)
            # a new attribute makes zh eligible for English inquiries
            zh.set_attributes({"langs": ["zh", "en"]})
            r.submit_nowait(Inquiry(id="c3", queue="lang", attributes={"lang": "en"}))
            offer = await env.next(en)  # round robin: en has not had an English turn yet
            assert offer.inquiry_id == "c3"
            en.accept(offer)
            for s, iid in ((zh, "c1"), (en2, "c2"), (en, "c3")):
                s.complete(iid)
            assert r.statistics().router.counters.assigned == 3

    env.run(scenario)
