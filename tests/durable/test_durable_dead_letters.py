"""A crashing input dead-letters itself, not its whole batch (durable mode, isolation).

One batch holds the inputs of several producers; the poison ones (``faults.set_poison``)
crash the core where they are applied. Only they are refused ``DeadLettered``; the
others are served and their inquiries reach outcomes; the audit's full replay gives
the output stream byte for byte, and so does a successor's. A batch whose tick
crashes is dead whole, as is one recorded by the old code (no ``items``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from router import Inquiry, decode_config
from router.core import Router
from router.durable import Producer, faults
from router.durable import domain as domain_mod
from router.durable import wire as wire_mod
from router.durable.audit import audit_events, verify_replay
from router.durable.domain import DomainRunner
from router.durable.testing import RedisServer
from router.durable.wire import OutputEntry, decode_batch
from router.errors import UnknownId
from router.events import Assigned, Completed, Offered
from router.inputs import Accept, Complete, Withdraw
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


class Died(BaseException):
    """The owner stops dead at a crash point."""


@pytest.fixture
def die_at() -> Iterator[list[str]]:
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


def _offered(outs: list[OutputEntry]) -> dict[str, str]:
    return {e.inquiry_id: e.agent_id for o in outs for e in o.events if isinstance(e, Offered)}


async def _setup(c: Redis, clock: Clock) -> tuple[DomainRunner, dict[str, str]]:
    """A served domain with q0..q3 offered and q0, q1 assigned."""
    r1 = runner(c, clock)
    await start(r1)
    await Producer(c, "d", producer="pa").submit_many(
        [Inquiry(id=f"q{i}", queue="orders") for i in range(4)]
    )
    await settle(r1)
    agent = Producer(c, "d", producer="agents")
    offers = _offered(await agent.all_outputs())
    assert set(offers) == {"q0", "q1", "q2", "q3"}
    await agent.send_many([Accept(inquiry_id=q, agent_id=offers[q]) for q in ("q0", "q1")])
    await settle(r1)
    return r1, offers


async def _poison_batch(c: Redis, r1: DomainRunner, offers: dict[str, str]) -> str:
    """One batch of three producers' submissions and an agent's inputs; returns its id."""
    head = r1.head
    pa = Producer(c, "d", producer="pa")
    pb = Producer(c, "d", producer="pb")
    pc = Producer(c, "d", producer="pc")
    agent = Producer(c, "d", producer="agents")
    await pa.submit_many([Inquiry(id="a1", queue="orders"), Inquiry(id="a2", queue="orders")])
    await agent.send_many([Complete(inquiry_id="q0"), Accept(inquiry_id="q2")])
    await pb.submit_many([Inquiry(id="bad", queue="orders"), Inquiry(id="b2", queue="orders")])
    await pc.submit_many([Inquiry(id="c1", queue="orders")])
    await agent.send_many([Complete(inquiry_id="q1")])
    await settle(r1)
    ids = [bid for bid, _ in await c.xrange("router:{d}:input", min=f"({head}", max="+")]
    assert len(ids) == 1, "the inputs did not go into one batch"
    return ids[0].decode()


async def _drain(c: Redis, r: DomainRunner, withdraw: list[str], complete: list[str]) -> None:
    agent = Producer(c, "d", producer="agents")
    await agent.send_many(
        [Complete(inquiry_id=q) for q in complete] + [Withdraw(inquiry_id=q) for q in withdraw]
    )
    await settle(r)


#: The refs of the poison batch's inputs, in order.
WHOLE = ["a1", "a2", "q0", "q2", "bad", "b2", "c1", "q1"]

ADDED = ["q0", "q1", "q2", "q3", "a1", "a2", "bad", "b2", "c1"]


def test_only_the_poison_submission_of_a_batch_is_dead_lettered(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("bad")
        bid = await _poison_batch(c, r1, offers)
        assert r1.stats.dead_letters == 1 and r1.stats.dead_inputs == 1
        dead = await c.xrange("router:{d}:dead")
        assert len(dead) == 1 and dead[0][1][b"in"].decode() == bid
        batch = decode_batch(dead[0][1][b"b"])
        assert len(batch.items) == 8
        assert msgspec.msgpack.decode(dead[0][1][b"items"]) == [4]  # "bad", in the middle
        assert dead[0][1][b"err"] == b"InjectedFault: injected fault: submit 'bad'"
        outs = await Producer(c, "d").all_outputs()
        entry = [o for o in outs if o.input_id == bid]
        assert len(entry) == 1  # published once
        refused = [(x.input, x.ref, x.error, x.producer) for x in entry[0].refusals]
        assert refused == [("submit", "bad", "DeadLettered", "pb")]
        assert entry[0].refusals[0].message == "InjectedFault: injected fault: submit 'bad'"
        events = entry[0].events
        assert {e.inquiry_id for e in events if isinstance(e, Completed)} == {"q0", "q1"}
        assert {e.inquiry_id for e in events if isinstance(e, Assigned)} == {"q2"}
        assert {"a1", "a2", "b2", "c1"} <= set(_offered(outs))
        assert "bad" not in _offered(outs)
        # the domain carries on: the rest reach their outcomes
        await _drain(c, r1, ["q3", "a1", "a2", "b2", "c1"], ["q2"])
        rep = await verify_replay(c, "d")  # strict: the stream is the replay, byte for byte
        assert rep.problems == []
        assert rep.dead[bid].items == (4,)
        audit = audit_events(rep, decode_config(CONFIG.encode()), ADDED)
        assert audit.problems == []
        assert audit.outcomes == {"Completed": 3, "Withdrawn": 5, "DeadLettered": 1}
        # a successor replays the same: the same core, nothing left to publish
        state = r1.core.snapshot()  # type: ignore[union-attr]
        n_out = await c.xlen("router:{d}:output")
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        assert r2.core.snapshot() == state  # type: ignore[union-attr]
        assert r2.pending_out == []
        await settle(r2)
        assert await c.xlen("router:{d}:output") == n_out

    run(redis_server.url, body)


def test_a_successor_isolates_the_batch_its_predecessor_died_on_as_the_live_owner_would(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    """The owner logs the poison batch and dies before applying it: the successor's
    recovery meets the crash, isolates, and publishes the entry a live owner does."""

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("bad")
        die_at.append("after_commit")
        with pytest.raises(Died):
            await _poison_batch(c, r1, offers)
        assert await c.xlen("router:{d}:dead") == 0
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        await settle(r2)
        assert r2.stats.dead_letters == 1 and r2.stats.dead_inputs == 1
        outs = await Producer(c, "d").all_outputs()
        refused = [(x.input, x.ref, x.error) for o in outs for x in o.refusals]
        assert refused == [("submit", "bad", "DeadLettered")]
        await _drain(c, r2, ["q3", "a1", "a2", "b2", "c1"], ["q2"])
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        audit = audit_events(rep, decode_config(CONFIG.encode()), ADDED)
        assert audit.problems == []
        assert audit.outcomes == {"Completed": 3, "Withdrawn": 5, "DeadLettered": 1}

    run(redis_server.url, body)


def test_two_poison_inputs_one_a_completion_are_each_dead_lettered_alone(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("bad,complete:q1")
        bid = await _poison_batch(c, r1, offers)
        assert r1.stats.dead_letters == 1 and r1.stats.dead_inputs == 2
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert rep.dead[bid].items == (4, 7)
        # each crashing input is refused with its own error; the record's is the first's
        bad = "InjectedFault: injected fault: submit 'bad'"
        q1 = "InjectedFault: injected fault: complete 'q1'"
        assert rep.dead[bid].error == bad
        assert rep.dead[bid].errors == (bad, q1)
        dead = await c.xrange("router:{d}:dead")
        assert msgspec.msgpack.decode(dead[0][1][b"items"]) == [4, [7, q1]]
        entry = next(o for o in await Producer(c, "d").all_outputs() if o.input_id == bid)
        refused = [(x.input, x.ref, x.error, x.message) for x in entry.refusals]
        assert refused == [
            ("submit", "bad", "DeadLettered", bad),
            ("complete", "q1", "DeadLettered", q1),
        ]
        assert {e.inquiry_id for e in entry.events if isinstance(e, Completed)} == {"q0"}
        # q1's completion changed nothing: it stays with its agent until one is applied
        faults.set_poison(None)
        await _drain(c, r1, ["q3", "a1", "a2", "b2", "c1"], ["q2", "q1"])
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        audit = audit_events(rep, decode_config(CONFIG.encode()), ADDED)
        assert audit.problems == []
        assert audit.outcomes == {"Completed": 3, "Withdrawn": 5, "DeadLettered": 1}

    run(redis_server.url, body)


def test_a_batch_whose_tick_crashes_is_dead_whole(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("tick:b2")
        bid = await _poison_batch(c, r1, offers)
        assert r1.stats.dead_letters == 1 and r1.stats.dead_inputs == 8
        dead = await c.xrange("router:{d}:dead")
        assert b"items" not in dead[0][1]
        err = b"InjectedFault: injected fault: the tick of a batch that submits 'b2'"
        assert dead[0][1][b"err"] == err
        entry = next(o for o in await Producer(c, "d").all_outputs() if o.input_id == bid)
        assert entry.events == []
        assert [x.ref for x in entry.refusals] == WHOLE
        assert {x.error for x in entry.refusals} == {"DeadLettered"}
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert rep.dead[bid].items is None
        # nothing of the batch was applied: q0 and q1 still held, q2 still offered
        await _drain(c, r1, ["q2", "q3"], ["q0", "q1"])
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        audit = audit_events(rep, decode_config(CONFIG.encode()), ADDED)
        assert audit.problems == []
        assert audit.outcomes == {"Completed": 2, "Withdrawn": 2, "DeadLettered": 5}

    run(redis_server.url, body)


def test_an_old_dead_letter_without_items_still_replays_as_the_whole_batch(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    """An entry the old code wrote (no ``items``) for a batch a successor replays."""

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        die_at.append("after_commit")  # logged, not applied, nothing published
        with pytest.raises(Died):
            await _poison_batch(c, r1, offers)
        bid, fields = (await c.xrange("router:{d}:input", count=1000))[-1]
        # as the old DEAD_LETTER script wrote it
        await c.xadd(
            "router:{d}:dead",
            {"in": bid, "tok": fields[b"tok"], "err": "RuntimeError: old", "b": fields[b"b"]},
        )
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        await settle(r2)
        assert r2.stats.dead_letters == 0  # recorded already
        entry = [o for o in await Producer(c, "d").all_outputs() if o.input_id == bid.decode()]
        assert len(entry) == 1 and entry[0].events == []
        assert [x.ref for x in entry[0].refusals] == WHOLE
        assert {(x.error, x.message) for x in entry[0].refusals} == {
            ("DeadLettered", "RuntimeError: old")
        }
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert rep.dead[bid.decode()].items is None

    run(redis_server.url, body)


def test_the_isolation_walk_renews_the_lease(
    redis_server: RedisServer, die_at: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk that outlasts the lease renews it between its steps, as the replay does.

    The runner's monotonic clock is fake, and each restore of the walk (one per
    crashing input: the slow part on a large state) takes 1.8 "seconds" of it. When
    the fake time since the runner's last acknowledged renewal passes the lease
    (3 s, renewed every 1 s), the lease is gone from Redis and another process holds
    the domain (a new fencing token), so the runner's next fenced write is refused.
    Two crashing inputs, two restores, 3.6 s: without the renewals between the
    walk's steps the record would be refused and the next owner would walk the
    batch again.
    """
    fake = Clock(1000.0)
    monkeypatch.setattr(
        domain_mod,
        "time",
        SimpleNamespace(monotonic=fake, time=time.time, perf_counter=time.perf_counter),
    )
    sync = SyncRedis.from_url(redis_server.url)
    lease_s = 3.0
    expired: list[float] = []
    runners: list[DomainRunner] = []

    class SlowRestores:
        """``wire.Router``: the walk's restores take long (the replay's are not these)."""

        def __call__(self, *args: Any, **kwargs: Any) -> Router:
            return Router(*args, **kwargs)

        def restore(self, data: bytes) -> Router:
            fake.t += 1.8
            if fake.t - runners[0].renewed_at > lease_s and not expired:
                expired.append(fake.t)  # the lease ran out: another process takes the domain
                sync.set("router:{d}:lease", "p2")
                sync.incr("router:{d}:fence")
            return Router.restore(data)

    monkeypatch.setattr(wire_mod, "Router", SlowRestores())

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        runners.append(r1)
        # renew as a 3 s lease would (Redis keeps the harness's long one: only the
        # restores above make it "run out")
        r1._renew_every = lease_s / 3
        r1._renew_at = r1.renewed_at + r1._renew_every
        faults.set_poison("bad,complete:q1")
        bid = await _poison_batch(c, r1, offers)
        assert expired == []
        assert r1.stats.isolation_renewals >= 1
        assert r1.stats.dead_letters == 1
        dead = await c.xrange("router:{d}:dead")
        assert len(dead) == 1 and dead[0][1][b"in"].decode() == bid
        q1 = "InjectedFault: injected fault: complete 'q1'"
        assert msgspec.msgpack.decode(dead[0][1][b"items"]) == [4, [7, q1]]
        assert await c.get("router:{d}:fence") == str(r1.token).encode()

    try:
        run(redis_server.url, body)
    finally:
        sync.close()


def test_a_recorded_batch_that_crashes_again_is_isolated_again_then_dead_whole(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    """A record that no longer holds (a crash that is not reproducible, a core a deploy
    changed): a successor's replay of the recorded batch crashes on another input. It
    is isolated again from the core before it, and the new entry supersedes the old;
    a batch recorded twice that crashes once more is recorded whole (no walk), so
    recovery never loops on it."""

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("bad")
        bid = await _poison_batch(c, r1, offers)
        assert (await r1.log.dead_letters())[bid].items == (4,)
        published = [o for o in await Producer(c, "d").all_outputs() if o.input_id == bid]
        assert [x.ref for x in published[0].refusals] == ["bad"]
        n_out = await c.xlen("router:{d}:output")

        # the core changed: c1 (index 6) crashes it now as well
        faults.set_poison("bad,c1")
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        assert r2.stats.dead_letters == 1 and r2.stats.dead_inputs == 2
        dead = await c.xrange("router:{d}:dead")
        assert [f[b"in"].decode() for _, f in dead] == [bid, bid]
        c1 = "InjectedFault: injected fault: submit 'c1'"
        assert msgspec.msgpack.decode(dead[1][1][b"items"]) == [4, [6, c1]]
        assert dead[1][1][b"err"] == b"InjectedFault: injected fault: submit 'bad'"
        assert (await r2.log.dead_letters())[bid].items == (4, 6)  # the last entry wins
        assert await r2.log.dead_letter_records(bid) == 2
        state = r2.core.inquiry_state  # type: ignore[union-attr]
        assert state("b2") is not None
        with pytest.raises(UnknownId):
            state("c1")  # refused by the new record: the replay never applied it
        # the batch's entry was published by the first owner; it is not published again
        await settle(r2)
        assert await c.xlen("router:{d}:output") == n_out
        # the audit replays through the last record; the published entry is the first's
        rep = await verify_replay(c, "d")
        assert rep.dead[bid].items == (4, 6)
        assert [p for p in rep.problems if f"(batch {bid}) differs from the replay" in p]

        # once more: b2 (index 5) too. Recorded twice already: the whole batch, no walk
        faults.set_poison("bad,c1,b2")
        await c.delete("router:{d}:lease")
        r3 = runner(c, clock, owner="p3")
        assert await r3.acquire()
        await r3.recover()
        assert r3.stats.dead_letters == 1 and r3.stats.dead_inputs == 8
        dead = await c.xrange("router:{d}:dead")
        assert [f[b"in"].decode() for _, f in dead] == [bid, bid, bid]
        assert b"items" not in dead[2][1]
        assert dead[2][1][b"err"] == b"InjectedFault: injected fault: submit 'b2'"
        assert (await r3.log.dead_letters())[bid].items is None
        # nothing of the batch applied: q0 and q1 still held by their agents
        with pytest.raises(UnknownId):
            r3.core.inquiry_state("a1")  # type: ignore[union-attr]
        assert r3.core.inquiry_state("q0") is not None  # type: ignore[union-attr]
        # and a further recovery replays it whole without crashing or recording again
        await c.delete("router:{d}:lease")
        r4 = runner(c, clock, owner="p4")
        assert await r4.acquire()
        await r4.recover()
        assert r4.stats.dead_letters == 0
        assert await c.xlen("router:{d}:dead") == 3
        assert r4.core.snapshot() == r3.core.snapshot()  # type: ignore[union-attr]

    run(redis_server.url, body)


def test_a_recovery_meeting_a_batch_that_keeps_crashing_ends_with_it_dead_whole(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    """One recovery: after each record of the batch another of its inputs starts to
    crash (the faults hook moves the poison at ``after_dead_letter``). Isolated, then
    isolated again, then recorded whole: three records, and the recovery ends."""

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        faults.set_poison("bad")
        die_at.append("after_commit")  # logged, never applied by its owner
        with pytest.raises(Died):
            await _poison_batch(c, r1, offers)
        bid = (await c.xrange("router:{d}:input", count=1000))[-1][0].decode()
        poisons = ["bad,c1", "bad,c1,b2", "bad,c1,b2,a1"]

        def hook(point: str) -> None:
            if point == "after_dead_letter":
                faults.set_poison(poisons.pop(0))

        faults.set_hook(hook)
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        assert r2.stats.dead_letters == 3 and r2.stats.dead_inputs == 1 + 2 + 8
        assert poisons == []  # three records (a fourth would pop from an empty list)
        dead = await c.xrange("router:{d}:dead")
        assert [f[b"in"].decode() for _, f in dead] == [bid, bid, bid]
        c1 = "InjectedFault: injected fault: submit 'c1'"
        items = [msgspec.msgpack.decode(f[b"items"]) for _, f in dead[:2]]
        assert items == [[4], [4, [6, c1]]]
        assert b"items" not in dead[2][1]
        # the entry published is the last record's: every input refused
        await settle(r2)
        entry = [o for o in await Producer(c, "d").all_outputs() if o.input_id == bid]
        assert len(entry) == 1 and entry[0].events == []
        assert [x.ref for x in entry[0].refusals] == WHOLE
        rep = await verify_replay(c, "d")
        assert rep.problems == []

    run(redis_server.url, body)


def test_a_dead_letter_with_indices_only_still_replays_with_its_one_error(
    redis_server: RedisServer, die_at: list[str]
) -> None:
    """An entry written before per-input errors: ``items`` holds indices only, each
    crashing input refused with the entry's ``err``."""

    async def body(c: Redis) -> None:
        clock = Clock(50.0)
        r1, offers = await _setup(c, clock)
        die_at.append("after_commit")  # logged, not applied, nothing published
        with pytest.raises(Died):
            await _poison_batch(c, r1, offers)
        bid, fields = (await c.xrange("router:{d}:input", count=1000))[-1]
        # as the dlq34 DEAD_LETTER script wrote it: "bad" and q1's completion
        await c.xadd(
            "router:{d}:dead",
            {
                "in": bid,
                "tok": fields[b"tok"],
                "err": "RuntimeError: old",
                "b": fields[b"b"],
                "items": msgspec.msgpack.encode([4, 7]),
            },
        )
        await c.delete("router:{d}:lease")
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        await settle(r2)
        assert r2.stats.dead_letters == 0  # recorded already
        dead = (await r2.log.dead_letters())[bid.decode()]
        assert dead.items == (4, 7) and dead.errors == ("RuntimeError: old",) * 2
        entry = [o for o in await Producer(c, "d").all_outputs() if o.input_id == bid.decode()]
        assert len(entry) == 1
        refused = [(x.ref, x.error, x.message) for x in entry[0].refusals]
        assert refused == [
            ("bad", "DeadLettered", "RuntimeError: old"),
            ("q1", "DeadLettered", "RuntimeError: old"),
        ]
        assert {e.inquiry_id for e in entry[0].events if isinstance(e, Completed)} == {"q0"}
        rep = await verify_replay(c, "d")
        assert rep.problems == []

    run(redis_server.url, body)
