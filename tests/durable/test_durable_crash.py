"""Crash points and poison batches, driven cycle by cycle in one process.

An owner "dies" at a named point (:mod:`router.durable.faults`) by raising out
of its cycle; a second runner takes the domain over, and the streams must show
every logged batch's outputs exactly once, byte-identical to a full replay.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from router import Inquiry, decode_config
from router.durable import Producer, faults
from router.durable.audit import audit_events, verify_replay
from router.durable.testing import RedisServer
from router.events import Offered
from router.inputs import Accept
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


class Died(BaseException):
    """The owner stops dead at a crash point (nothing after it runs)."""


@pytest.fixture
def die_at() -> Iterator[list[str]]:
    """Points to die at: the next busy pass through one of them raises :class:`Died`."""
    armed: list[str] = []

    def hook(point: str) -> None:
        if point in armed:
            armed.remove(point)
            raise Died(point)

    faults.set_hook(hook)
    try:
        yield armed
    finally:
        faults.set_hook(None)
        faults.set_poison(None)


async def _take_over(c: Redis, clock: Clock) -> None:
    await c.delete("router:{d}:lease")  # the dead owner's lease runs out
    r2 = runner(c, clock, owner="p2")
    assert await r2.acquire()
    await r2.recover()
    await settle(r2)


@pytest.mark.parametrize(
    "point",
    ["after_read", "commit_unacknowledged", "after_commit", "after_apply", "after_snapshot"],
)
def test_an_owner_dying_at_any_point_of_its_cycle_loses_and_doubles_nothing(
    redis_server: RedisServer, die_at: list[str], point: str
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(100.0)
        r1 = runner(c, clock, snapshot_every_s=0.0)  # a snapshot after every applied batch
        await start(r1)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(12)])
        await settle(r1)
        offers = [e for o in await p.all_outputs() for e in o.events if isinstance(e, Offered)]
        await p.send_many(Accept(inquiry_id=e.inquiry_id, agent_id=e.agent_id) for e in offers)
        await p.submit_many([Inquiry(id=f"r{i}", queue="refunds") for i in range(4)])
        die_at.append(point)
        clock.t = 101.0
        with pytest.raises(Died):
            for _ in range(10):
                await r1.cycle(block=False)
        await _take_over(c, Clock(101.5))
        rep = await verify_replay(c, "d")
        assert rep.problems == []  # every logged batch's outputs, once, as a replay gives them
        audit = audit_events(rep, decode_config(CONFIG.encode()))
        assert [x for x in audit.problems if "has 0 outcomes" not in x] == []
        seen = {e.inquiry_id for o in rep.outputs for e in o.events if hasattr(e, "inquiry_id")}
        assert {f"r{i}" for i in range(4)} <= seen  # nothing acknowledged went missing

    run(redis_server.url, body)


def test_a_snapshot_publishes_the_outputs_it_covers(redis_server: RedisServer) -> None:
    """The reported loss: a snapshot taken while a batch's events were unpublished."""

    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(10.0))
        await start(r1)
        await Producer(c, "d").submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(5)])
        await r1.cycle(block=False)  # reads
        await r1.cycle(block=False)  # logs and applies: Offered events pending
        assert r1.pending_out
        await r1.snapshot()  # ... and the owner dies right after it
        assert r1.pending_out == []
        await _take_over(c, Clock(10.0))
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        offered = [e for o in rep.outputs for e in o.events if isinstance(e, Offered)]
        assert sorted(e.inquiry_id for e in offered) == [f"q{i}" for i in range(5)]

    run(redis_server.url, body)


def test_a_batch_that_crashes_the_core_is_dead_lettered_and_the_domain_carries_on(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(20.0)
        r1 = runner(c, clock)
        await start(r1)
        p = Producer(c, "d")
        faults.set_poison("bad")
        await p.submit_many([Inquiry(id="ok1", queue="orders")])
        await settle(r1)
        await p.submit_many([Inquiry(id="bad", queue="orders"), Inquiry(id="ok2", queue="orders")])
        await settle(r1)
        await p.submit_many([Inquiry(id="ok3", queue="orders")])
        await settle(r1)
        assert r1.stats.dead_letters == 1
        dead = await c.xrange("router:{d}:dead")
        assert len(dead) == 1
        assert dead[0][1][b"err"] == b"InjectedFault: injected fault: submit 'bad'"
        outs = await p.all_outputs()
        refused = [x for o in outs for x in o.refusals]
        assert [(x.input, x.ref, x.error) for x in refused] == [("submit", "bad", "DeadLettered")]
        assert refused[0].message.startswith("InjectedFault: injected fault")
        offered = {e.inquiry_id for o in outs for e in o.events if isinstance(e, Offered)}
        assert offered == {"ok1", "ok2", "ok3"}  # only the poison input was dead-lettered
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        audit = audit_events(rep, decode_config(CONFIG.encode()), ["ok1", "bad", "ok2", "ok3"])
        assert audit.outcomes.get("DeadLettered") == 1
        # the next owner skips the dead batch without crashing and holds the same core
        state = r1.core.snapshot()  # type: ignore[union-attr]
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        assert r2.core.snapshot() == state  # type: ignore[union-attr]

    run(redis_server.url, body)


@pytest.mark.parametrize("point", ["after_commit", "after_isolation", "after_dead_letter"])
def test_an_owner_dying_around_a_dead_letter_leaves_the_rest_to_its_successor(
    redis_server: RedisServer, die_at: list[str], point: str
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(30.0)
        r1 = runner(c, clock)
        await start(r1)
        p = Producer(c, "d")
        faults.set_poison("bad")
        await p.submit_many([Inquiry(id="bad", queue="orders"), Inquiry(id="ok0", queue="orders")])
        die_at.append(point)  # the poison batch is logged; r1 dies before it, or its record
        with pytest.raises(Died):
            for _ in range(5):
                await r1.cycle(block=False)
        await p.submit_many([Inquiry(id="ok", queue="orders")])
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()  # replay meets the poison batch: dead-letters it, replays again
        await settle(r2)
        assert r2.stats.dead_letters == (point != "after_dead_letter")  # recorded once
        assert await c.xlen("router:{d}:dead") == 1
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        audit = audit_events(rep, decode_config(CONFIG.encode()), ["bad", "ok0", "ok"])
        assert audit.outcomes.get("DeadLettered") == 1
        assert [x for x in audit.problems if "has 0 outcomes" not in x] == []
        offered = {e.inquiry_id for o in rep.outputs for e in o.events if isinstance(e, Offered)}
        assert offered == {"ok0", "ok"}  # the poison batch's other input was served

    run(redis_server.url, body)
