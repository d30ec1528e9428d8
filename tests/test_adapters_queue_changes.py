"""Issue 16's second half through the adapters, on trio, asyncio and asyncio+uvloop:
in-queue changes, presence timeouts and keepalives, hours on the loop's clock or Unix time."""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, QueueConfig, RouterConfig, Routing
from router.adapters import open_router
from router.adapters._clock import UnixClock
from router.adapters._select import get_backend
from router.config import Clock, Hours
from tests.test_adapters import BACKENDS, Env, drain


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Env:
    return Env(request.param)


def config(env: Env, **routing: Any) -> RouterConfig:
    routing.setdefault("offer_timeout_s", env.s(30))
    queues = [QueueConfig(name="q"), QueueConfig(name="billing")]
    return RouterConfig(queues=queues, routing=Routing(**routing))


def test_hand_back_then_another_agent_and_wait_assigned_follows(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with (
            open_router(config(env, decline_memory="forever"), backend=env.name) as r,
            r.agent(AgentSpec(id="a1")) as a1,
        ):
            r.submit_nowait(Inquiry(id="c1", queue="q"))
            a1.accept(await env.next(a1))
            assert (await r.wait_assigned("c1")).agent_id == "a1"
            a1.hand_back("c1")
            await env.sleep(env.s(1))
            assert r.core.inquiry_state("c1") == "waiting"  # never back to a1
            async with r.agent(AgentSpec(id="a2")) as a2:
                offer = await env.next(a2)
                assert offer.inquiry_id == "c1"
                a2.accept(offer)
                assert (await r.wait_assigned("c1")).agent_id == "a2"
                a2.complete("c1")
            assert r.statistics().router.counters.handed_back == 1

    env.run(scenario)


def test_transfer_update_and_agent_update_through_the_handle(env: Env) -> None:
    async def scenario(env: Env) -> None:
        async with open_router(config(env), backend=env.name) as r:
            async with r.subscribe(maxlen=100) as events:
                r.submit_nowait(Inquiry(id="c1", queue="q", requires={"vip": 2}))
                r.update_inquiry("c1", priority=3)
                r.transfer("c1", "billing")
                async with r.agent(AgentSpec(id="a1")) as a1:
                    await env.sleep(env.s(1))
                    assert a1.pending == 0  # no vip skill
                    r.update_agent(AgentSpec(id="a1", skills={"vip": 2}))
                    offer = await env.next(a1)
                    assert (offer.inquiry_id, offer.queue) == ("c1", "billing")
                    a1.accept(offer)
                    a1.transfer(offer, "q")  # the agent transfers it on
                    await env.sleep(env.s(1))
                    assert r.core.inquiry_state("c1") in ("waiting", "offered")
                seen = [type(e).__name__ for e in drain(events)]
            assert seen.count("Transferred") == 2
            assert {"InquiryUpdated", "AgentUpdated"} <= set(seen)

    env.run(scenario)


def test_a_silent_remote_console_is_timed_out_and_its_offer_goes_on(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = config(env, presence_timeout_s=env.s(60), offer_timeout_s=env.s(300))
        async with open_router(cfg, backend=env.name) as r:
            async with (
                r.subscribe(maxlen=100) as events,
                r.agent(AgentSpec(id="silent"), keepalive=False) as silent,
                r.agent(AgentSpec(id="local")) as local,
            ):
                await env.sleep(env.s(10))
                r.submit_nowait(Inquiry(id="c1", queue="q"))
                await env.sleep(env.s(1))
                # whoever got it: the silent console times out at 60, the local
                # session (keepalive) never does
                await env.sleep(env.s(200))
                got = [e for e in drain(events) if type(e).__name__ == "AgentAway"]
                assert [(e.agent_id, e.reason) for e in got] == [("silent", "presence_timeout")]
                assert r.core.agent_of("c1") == "local"
                local.accept("c1")
                assert silent.pending == 0
            assert r.statistics().router.counters.presence_timeouts == 1

    env.run(scenario)


def test_a_remote_console_that_sends_heartbeats_stays(env: Env) -> None:
    async def scenario(env: Env) -> None:
        cfg = config(env, presence_timeout_s=env.s(60))
        async with (
            open_router(cfg, backend=env.name) as r,
            r.agent(AgentSpec(id="remote"), keepalive=False) as remote,
        ):
            for _ in range(10):
                await env.sleep(env.s(30))
                remote.heartbeat()
            assert r.statistics().router.agents_ready == 1
            await env.sleep(env.s(90))
            assert r.statistics().router.agents_ready == 0

    env.run(scenario)


HOURS = [Hours(days="mon-fri", open="08:00", close="18:00")]


@pytest.mark.parametrize("clock", ["start", "unix"])
def test_hours_on_the_routers_clock(env: Env, clock: str) -> None:
    if not env.virtual:
        pytest.skip("hours are wall-clock times: only a virtual clock reaches them in a test")

    async def scenario(env: Env) -> None:
        q = QueueConfig(name="sales", hours=HOURS, closed="callback")
        if clock == "start":
            routing = Routing(clock=Clock(start="mon 07:59"))
            backend: Any = env.name
        else:  # Unix time 1704095940 is Monday 2024-01-01 07:59 UTC
            routing = Routing(clock=Clock(unix=True))
            be = get_backend(env.name)
            backend = UnixClock(be, offset=1704095940.0 - be.now())
        async with open_router(RouterConfig(queues=[q], routing=routing), backend=backend) as r:
            adm = r.submit_nowait(Inquiry(id="early", queue="sales"))
            assert (adm.outcome, adm.reason, adm.expected_wait_s) == ("callback", "closed", 60.0)
            async with r.agent(AgentSpec(id="a1")) as a1:
                offer = await env.next(a1)  # called back at 08:00
                assert offer.inquiry_id == "early"
                opening = 60.0 if clock == "start" else 1704096000.0
                assert offer.at == pytest.approx(opening, abs=1e-3)

    env.run(scenario)


def test_a_unix_clock_config_runs_on_unix_time(env: Env) -> None:
    async def scenario(env: Env) -> None:
        import time

        cfg = RouterConfig(queues=[QueueConfig(name="q")], routing=Routing(clock=Clock(unix=True)))
        async with open_router(cfg, backend=env.name) as r:
            assert abs(r.now() - time.time()) < 5.0
            assert r.core.now >= 1.6e9

    env.run(scenario)
