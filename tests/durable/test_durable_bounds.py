"""Bounded work and memory, and backpressure: driven cycle by cycle against a real Redis."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import redis as redis_sync
from redis.asyncio import Redis

from router import Inquiry
from router.durable import DomainFull, Producer, faults
from router.durable.audit import verify_replay
from router.durable.testing import RedisServer
from router.inputs import Complete
from tests.durable.conftest import need_redis
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


def test_a_full_domain_refuses_submissions_at_once_or_after_the_producers_wait(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0), max_unprocessed=10)
        await start(r)  # the owner sets the domain's limit
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(8)])
        t0 = time.monotonic()
        with pytest.raises(
            DomainFull,
            match=r"^domain 'd' is full: 8 submissions not yet processed, limit 10 "
            r"\(waited 0\.\d+ s\); nothing was added$",
        ):
            await p.submit_many([Inquiry(id=f"x{i}", queue="orders") for i in range(3)])
        with pytest.raises(DomainFull) as info:
            await p.submit_many([Inquiry(id=f"x{i}", queue="orders") for i in range(3)], wait_s=0.2)
        assert info.value.waited_s >= 0.2 and time.monotonic() - t0 < 10.0  # all of wait_s
        assert await c.xlen("router:{d}:requests") == 1  # nothing of the refused calls
        # a retry of what was accepted is a duplicate, not a refusal; agent inputs always pass
        again = await p.submit_many([Inquiry(id="q0", queue="orders")])
        assert again[0].duplicate
        await p.send(Complete(inquiry_id="nope"))
        await p.submit_many([Inquiry(id=f"y{i}", queue="orders") for i in range(2)])  # fits
        await settle(r)  # the owner takes them: room again
        res = await p.submit_many([Inquiry(id=f"x{i}", queue="orders") for i in range(3)])
        assert not any(x.duplicate for x in res)
        await settle(r)
        assert await c.hmget("router:{d}:flow", ["added", "taken"]) == [b"13", b"13"]

    run(redis_server.url, body)


def test_batches_are_bounded_in_inputs_as_well_as_entries(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0), batch_items=250)
        await start(r)
        p = Producer(c, "d")
        for k in range(6):
            await p.submit_many([Inquiry(id=f"q{k}-{i}", queue="orders") for i in range(100)])
        await p.submit_many([Inquiry(id=f"big{i}", queue="orders") for i in range(400)])
        await settle(r)
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        sizes = [len(b.items) for _, _, b in rep.batches if b.items and b.init is None]
        assert sizes == [200, 200, 200, 400]  # whole entries; one bigger entry goes alone
        assert r.stats.max_batch == 400

    run(redis_server.url, body)


def test_recovery_renews_the_lease_while_it_replays(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(1.0))
        await start(r1)
        p = Producer(c, "d")
        for k in range(12):
            await p.submit_many([Inquiry(id=f"q{k}-{i}", queue="orders") for i in range(3)])
            await settle(r1)
        await c.delete("router:{d}:lease")
        sync = redis_sync.Redis(port=redis_server.port)
        holders: list[bytes | None] = []

        def slow_replay(point: str) -> None:
            if point == "recovering":
                # 12 batches x 150 ms: 1.8 s, more than the 1.5 s lease; renewed every 0.5 s,
                # so a stall of up to about 1 s on a loaded machine still keeps it
                time.sleep(0.15)
                holders.append(sync.get("router:{d}:lease"))

        r2 = runner(c, Clock(2.0), owner="p2", lease_ms=1500)
        assert await r2.acquire()
        faults.set_hook(slow_replay)
        try:
            assert await r2.recover() >= 12
        finally:
            faults.set_hook(None)
            sync.close()
        assert r2.stats.recovery_renewals >= 2
        assert holders and set(holders) == {b"p2"}  # never free for another process to take

    run(redis_server.url, body)


def test_idempotency_keys_are_kept_for_the_dedupe_window_only(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        # the window runs on the server's clock (wall time): long enough that the steps
        # before the first check fit in it on a loaded machine (0.3 s did not, at load 16)
        r = runner(c, Clock(1.0), keep_log=False, dedupe_window_s=2.0)
        await start(r)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(5)])
        await settle(r)
        await r.snapshot()
        assert await c.zcard("router:{d}:idem") == 5  # inside the window
        assert (await p.submit(Inquiry(id="q1", queue="orders"))).duplicate
        await p.submit_many([Inquiry(id="late", queue="orders")])  # added, not yet processed
        time.sleep(2.1)
        await r.snapshot()
        assert await c.zcard("router:{d}:idem") == 1  # never past the log's cursor
        await settle(r)
        await r.snapshot()
        assert await c.zcard("router:{d}:idem") == 0
        assert not (await p.submit(Inquiry(id="q1", queue="orders"))).duplicate  # window passed

    run(redis_server.url, body)


def test_outputs_are_trimmed_only_past_what_every_consumer_group_acknowledged(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0), keep_log=False, output_retention_s=0.0)
        await start(r)
        p = Producer(c, "d")
        assert await p.create_group("slow") and await p.create_group("fast")
        assert not await p.create_group("fast")
        for k in range(4):
            await p.submit_many([Inquiry(id=f"q{k}", queue="orders")])
            await settle(r)
        total = await c.xlen("router:{d}:output")
        assert total >= 5
        fast = await p.read_group("fast", "f1")
        await p.ack("fast", [e.id for e in fast])
        slow = await p.read_group("slow", "s1", count=2)  # read, not acknowledged
        await r.snapshot()
        assert await c.xlen("router:{d}:output") == total  # "slow" has not acknowledged any
        await p.ack("slow", [slow[0].id])
        await r.snapshot()
        assert await c.xlen("router:{d}:output") == total - 1
        assert [e.id for e in await p.read_group("slow", "s1", pending=True)] == [slow[1].id]
        rest = await p.read_group("slow", "s1")
        await p.ack("slow", [slow[1].id, *(e.id for e in rest)])
        await r.snapshot()
        assert await c.xlen("router:{d}:output") == 1  # the newest entry always stays
        # without groups, the retention time applies (0 here: all but the newest)
        await c.delete("router:{d}:output")
        for k in range(3):
            await p.submit_many([Inquiry(id=f"z{k}", queue="orders")])
            await settle(r)
        await r.snapshot()
        assert await c.xlen("router:{d}:output") == 1

    run(redis_server.url, body)


def test_request_ids_of_duplicates_are_the_first_adds(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        first = await p.submit(Inquiry(id="a", queue="orders"))
        again = await p.submit(Inquiry(id="a", queue="orders"))
        assert re.match(r"^\d+-\d+$", first.request_id)
        assert again.duplicate and again.request_id == first.request_id

    run(redis_server.url, body)


def test_a_producer_facing_a_stalled_domain_is_refused_and_loses_nothing(tmp_path: Path) -> None:
    """Real processes: the owner is stopped (SIGSTOP) under load, then resumed."""
    from bench.durable import refusal

    need_redis()
    res = refusal(rate=400.0, limit=300, wait_s=0.2, workdir=tmp_path)
    assert res["audit_problems"] == []  # every accepted inquiry: exactly one outcome
    assert res["accepted"] >= 300
    assert res["first_refusal_after_stall_s"] == res["first_refusal_after_stall_s"]  # not NaN
    assert all(0.2 <= b < 5.0 for b in res["blocking_refusal_s"])  # waited all of wait_s


def test_a_waiting_producer_backs_off_doubling_to_a_tenth_and_stops_at_its_wait(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retries of a full domain: 5 ms doubling to 100 ms, the last cut to end at ``wait_s``.

    Time is data here: the producer's clock and sleep are replaced in its own module only
    (the event loop and the Redis client keep theirs), so the pauses are exact.
    """
    import asyncio
    from types import SimpleNamespace

    from router.durable import log

    now = [100.0]
    pauses: list[float] = []

    async def sleep(s: float) -> None:
        pauses.append(s)
        assert len(pauses) < 100, "the producer retries without end"
        now[0] += s
        await asyncio.sleep(0)

    monkeypatch.setattr(log, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(log, "asyncio", SimpleNamespace(sleep=sleep, gather=asyncio.gather))

    async def body(c: Redis) -> None:
        p = Producer(c, "d", default_limit=2)
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(2)])
        with pytest.raises(DomainFull) as info:
            await p.submit(Inquiry(id="late", queue="orders"), wait_s=1.0)
        expected = [0.005, 0.01, 0.02, 0.04, 0.08] + [0.1] * 8
        assert pauses[:-1] == pytest.approx(expected)
        assert pauses[-1] == pytest.approx(1.0 - sum(expected))  # cut: never past wait_s
        assert info.value.waited_s == pytest.approx(1.0)
        assert await c.xlen("router:{d}:requests") == 1  # the refused one added nothing

    run(redis_server.url, body)
