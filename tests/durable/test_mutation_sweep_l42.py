"""Directed tests from the mutation sweep of the durable wire and domain (mutL42).

Each test pins one behaviour of ``router/durable/wire.py`` or ``domain.py`` that a mutant
changed without any other test noticing. The ones marked ``redis`` start their own
``redis-server`` (the ``redis_server`` fixture).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from router import Inquiry
from router.durable import DomainOptions, DomainStats, Producer, faults
from router.durable.log import Fenced
from router.durable.testing import RedisServer
from router.durable.wire import (
    Batch,
    DeadLetter,
    Request,
    decode_batch,
    decode_request,
    encode_batch,
    run_batch,
)
from router.inputs import Reconfigure, Submit
from tests.durable.harness import Clock, run, runner, settle, start


def _mp(obj: Any) -> bytes:
    return msgspec.msgpack.encode(obj)


def _nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_untyped_data_nests_64_levels_as_the_docs_say_and_not_65() -> None:
    # docs/deploy.md: "Untyped values (a reconfigure's `config`) may nest at most 64 levels."
    def fields(config: Any) -> dict[bytes, bytes]:
        return {b"m": _mp({"input": {"type": "reconfigure", "config": config}})}

    (req,), bad = decode_request(fields(_nest(64)), "1-0")
    assert bad == [] and req.input == Reconfigure(config=_nest(64))
    # the logged batch nests the request two levels deeper; it still decodes
    batch = Batch(now=1.0, cur="1-0", items=[req])
    assert decode_batch(encode_batch(batch)) == batch
    good, (x,) = decode_request(fields(_nest(65)), "1-0")
    assert good == []
    assert x.message == "$.input.config: nested more than 64 levels deep"
    assert (x.ref, x.input) == ("1-0", "reconfigure")
    # a map's keys count too (MessagePack keys may be arrays: tuples once decoded)
    key: Any = 1
    for _ in range(64):
        key = (key,)
    good, (x,) = decode_request(fields({key: 0}), "1-0")
    assert good == [] and x.message == "$.input.config: nested more than 64 levels deep"
    assert len(decode_request(fields({key[0]: 0}), "1-0")[0]) == 1


class _Leaf(msgspec.Struct):
    n: int
    x: Any


class _Tree(msgspec.Struct):
    name: str
    kids: list[_Tree] = []
    note: dict[str, list[Any]] | None = None


class _Loop(msgspec.Struct):
    kids: list[_Loop]


def test_the_depth_check_finds_untyped_data_inside_any_container_or_struct() -> None:
    # today only Reconfigure.config is untyped; the check is generic over the union's
    # members, present or future, so each kind of container is looked into
    from router.durable.wire import _holds_any, _untyped_fields

    def holds(t: Any) -> bool:
        return _holds_any(msgspec.inspect.type_info(t), set())

    assert holds(Any) and not holds(int) and not holds(str)
    assert holds(dict[str, Any]) and holds(dict[Any, int]) and not holds(dict[str, int])
    assert holds(list[Any]) and holds(set[Any]) and holds(tuple[Any, ...])
    assert not holds(list[int]) and not holds(tuple[int, ...])
    assert holds(tuple[int, Any]) and not holds(tuple[int, str])
    assert holds(int | list[Any]) and not holds(int | str)
    assert holds(_Leaf) and holds(list[_Leaf]) and holds(_Tree)  # _Tree via note
    assert _untyped_fields(_Leaf) == ("x",)
    assert _untyped_fields(_Tree) == ("kids", "note")
    assert not holds(_Loop) and _untyped_fields(_Loop) == ()  # a recursive struct ends


def test_domain_options_default_to_the_documented_serve_flags() -> None:
    # docs/deploy.md's table of `router serve` flags (test_durable_cli holds the parser's
    # defaults to these)
    o = DomainOptions()
    assert (o.lease_ms, o.batch, o.batch_items, o.snapshot_every_s) == (5000, 1000, 5000, 5.0)
    assert (o.keep_log, o.agents_from_config, o.prefix) == (False, False, "router")
    assert (o.dedupe_window_s, o.output_retention_s, o.max_unprocessed) == (600.0, 600.0, 100_000)
    assert o.snapshot_every_batches == 10_000


def test_a_new_runner_and_its_counters_start_at_nothing() -> None:
    # what /health and /metrics report for a domain not yet served; no Redis is reached
    stats = msgspec.structs.asdict(DomainStats())
    assert stats.pop("batch_hist") == [0] * 8 and stats.pop("outputs_pending") == {}
    assert set(stats.values()) == {0} and len(stats) == 23
    r = runner(Redis(), Clock(0.0))
    assert (r.core, r.head, r.cur, r.last_now, r.pending_out) == (None, "", "0-0", 0.0, [])
    assert (r.token, r.stopping, r._requests, r._buffered, r._read_cur) == (0, False, [], 0, "0-0")
    assert msgspec.structs.asdict(r.stats) == msgspec.structs.asdict(DomainStats())
    assert (r._renew_at, r._snap_at, r._snap_batches, r.renewed_at) == (0.0, 0.0, 0, 0.0)
    assert (r.domain, r.keys.lease) == ("d", "router:{d}:lease")


@pytest.mark.redis
def test_an_idle_domain_takes_no_snapshot_however_late(redis_server: RedisServer) -> None:
    # a snapshot is due after a batch, when the period is over: with no batch since the last
    # one, none (a period of 0 s is over at every cycle)
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), keep_log=False, snapshot_every_s=0.0)
        await start(r)  # the logins' batch, then its snapshot
        assert r.stats.snapshots == 1 and r._snap_batches == 0
        await Producer(c, "d").submit(Inquiry(id="q1", queue="orders"))
        for _ in range(4):
            await r.cycle(block=False)
        assert r.stats.snapshots == 2 and r._snap_batches == 0
        assert not r._snapshot_due()

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_batch_takes_whole_entries_up_to_its_limit_and_reads_on_below_it(
    redis_server: RedisServer,
) -> None:
    # a batch logs whole entries up to batch_items inputs and keeps the rest; the same round
    # trip reads more only while what stays buffered is below batch_items
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), batch_items=2)
        await start(r)
        logins = r.stats.inputs
        p = Producer(c, "d")

        async def submit(i: int) -> str:
            return (await p.submit(Inquiry(id=f"q{i}", queue="orders"))).request_id

        ids = [await submit(i) for i in range(5)]
        await r.cycle(block=False)  # reads the five entries
        assert [x[0] for x in r._requests] == ids and r._buffered == 5
        assert await c.hmget("router:{d}:flow", "added", "taken") == [b"5", None]
        ids.append(await submit(5))
        m0 = time.monotonic()
        await r.cycle(block=False)  # logs q0, q1; three stay buffered: no read
        assert r.renewed_at >= m0  # the commit renewed the lease
        assert await c.hmget("router:{d}:flow", "added", "taken") == [b"6", b"2"]
        assert [x[0] for x in r._requests] == ids[2:5] and r._buffered == 3
        assert (r.cur, r.stats.inputs) == (ids[1], logins + 2)
        await r.cycle(block=False)  # logs q2, q3; one stays: reads q5
        assert [x[0] for x in r._requests] == ids[4:] and r._buffered == 2
        await r.cycle(block=False)
        assert (r._requests, r._buffered, r.cur, r.stats.inputs) == ([], 0, ids[5], logins + 6)

    run(redis_server.url, body)


@pytest.mark.redis
def test_the_last_flush_of_a_runner_that_lost_its_lease_is_fenced(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0))
        await start(r)
        await Producer(c, "d").submit(Inquiry(id="q1", queue="orders"))
        await r.cycle(block=False)  # reads
        await r.cycle(block=False)  # logs and applies; its outputs are pending
        assert r.pending_out
        await c.delete("router:{d}:lease")
        assert await runner(c, Clock(100.0), owner="p2").acquire()
        r.stopping = True
        with pytest.raises(Fenced):
            await r.run()  # no cycle: only the final flush, refused

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_recovery_republishes_only_batches_with_something_to_say_and_renews_when_due(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(100.0))
        await start(r1)  # the logins' batch, its output published
        await Producer(c, "d").heartbeat("chat-1")  # changes nothing: no event, no refusal
        await r1.cycle(block=False)  # reads
        await r1.cycle(block=False)  # logs and applies: no output entry
        assert r1.pending_out == [] and r1.stats.batches == 2
        for owner, renew_at, renewals in (("p2", None, 0), ("p3", 0.0, 1)):
            await c.delete("router:{d}:lease")
            r = runner(c, Clock(100.0), owner=owner)
            assert await r.acquire()
            if renew_at is not None:
                r._renew_at = renew_at  # a renewal due at the first batch replayed
                await c.pexpire("router:{d}:lease", 1000)
            points: list[str] = []
            faults.set_hook(points.append)
            try:
                assert await r.recover() == 2
            finally:
                faults.set_hook(None)
            assert points.count("recovering") == 2  # each batch has inputs: a busy point
            assert (r.stats.republished, r.pending_out) == (0, [])
            assert r.stats.recovery_renewals == renewals
            if renew_at is not None:  # the renewal reached the server: a full lease again
                assert await c.pttl("router:{d}:lease") > 30_000

    run(redis_server.url, body)


@pytest.mark.redis
def test_an_undecodable_request_counts_in_the_buffer_until_logged(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0))
        await start(r)
        await c.xadd("router:{d}:requests", {"j": b"{"})
        await r.cycle(block=False)  # reads it: one undecodable request
        ((_, good, bad, n),) = r._requests
        assert (good, len(bad), n, r._buffered) == ([], 1, 0, 1)
        await r.cycle(block=False)  # logged, refused first in its batch
        assert (r._requests, r._buffered, r.stats.refusals) == ([], 0, 1)

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_batch_stops_at_the_first_entry_that_does_not_fit(redis_server: RedisServer) -> None:
    # entries in order: one that does not fit ends the batch; a smaller one after it waits
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), batch_items=2)
        await start(r)
        logins = r.stats.inputs
        p = Producer(c, "d")
        a = (await p.submit(Inquiry(id="q0", queue="orders"))).request_id
        await p.submit_many([Inquiry(id="q1", queue="orders"), Inquiry(id="q2", queue="orders")])
        d = (await p.submit(Inquiry(id="q3", queue="orders"))).request_id
        await r.cycle(block=False)  # reads the three entries (1, 2 and 1 inputs)
        b = r._requests[1][0]
        seen = []
        for _ in range(3):
            await r.cycle(block=False)
            seen.append((r.cur, r.stats.inputs - logins, len(r._requests)))
        assert seen == [(a, 1, 2), (b, 3, 1), (d, 4, 0)]

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_batch_never_goes_back_in_time_when_the_clock_does(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(100.0)
        r = runner(c, clock)
        await start(r)
        p = Producer(c, "d")
        for i, t in enumerate((200.0, 150.0)):  # the machine's clock steps back 50 s
            clock.t = t
            await p.submit(Inquiry(id=f"q{i}", queue="orders"))
            await r.cycle(block=False)  # reads
            await r.cycle(block=False)  # logs and applies
            assert (r.last_now, r.core.now) == (200.0, 200.0)  # type: ignore[union-attr]
        assert r.stats.inputs == 9 + 2

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_cycle_that_dead_letters_its_batch_did_work(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0), batch_items=1)
        await start(r)
        p = Producer(c, "d")
        faults.set_poison("bad")
        try:
            await p.submit(Inquiry(id="bad", queue="orders"))
            await p.submit(Inquiry(id="ok", queue="orders"))
            assert await r.cycle(block=False)  # reads both
            assert await r.cycle(block=False)  # logs "bad", crashes, dead-letters, rebuilds
        finally:
            faults.set_poison(None)
        assert (r.stats.dead_letters, r.stats.dead_inputs) == (1, 1)
        # "ok" was read but not logged: dropped with the core, read again from the log's cursor
        assert (r._requests, r._buffered, r._read_cur) == ([], 0, r.cur)
        await settle(r)
        assert r.stats.refusals == 0 and r.core.statistics().offered == 1  # type: ignore[union-attr]
        assert await c.hmget("router:{d}:flow", "added", "taken") == [b"2", b"2"]
        assert not await r.cycle(block=False)  # then nothing to do

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_read_that_fails_raises_the_servers_error(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0))
        await start(r)
        await c.delete("router:{d}:requests")
        await c.set("router:{d}:requests", "not a stream")
        with pytest.raises(ResponseError, match=r"^WRONGTYPE"):
            await r.cycle(block=False)

    run(redis_server.url, body)


def test_a_dead_letter_names_one_error_per_input_or_none() -> None:
    # DeadLetter.errors[k] is items[k]'s error: a record whose lists differ is refused
    # (ValueError), not read as far as the shorter goes
    from router import decode_config
    from tests.durable.conftest import CONFIG

    cfg = decode_config(CONFIG.encode())
    core, _, _ = run_batch(None, Batch(now=1.0, cur="0-0", items=[], init=cfg))
    reqs = [Request(input=Submit(inquiry=Inquiry(id=f"q{i}", queue="orders"))) for i in range(2)]
    batch = Batch(now=2.0, cur="1-0", items=reqs)
    with pytest.raises(ValueError, match="zip"):
        run_batch(core, batch, DeadLetter(error="e", items=(0, 1), errors=("e0",)))
    _, _, refusals = run_batch(core, batch, DeadLetter(error="e", items=(0, 1)))
    assert [(x.ref, x.error, x.message) for x in refusals] == [
        ("q0", "DeadLettered", "e"),
        ("q1", "DeadLettered", "e"),
    ]


@pytest.mark.redis
def test_a_snapshot_sets_the_gauges_of_waiting_offered_and_in_service(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(100.0))
        await start(r)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="refunds") for i in range(12)])
        await r.cycle(block=False)  # reads
        await r.cycle(block=False)  # nine offers (as many agents take refunds), three wait
        await p.accept("q0")
        await settle(r)
        await r.snapshot()
        s = r.stats
        assert (s.now, s.waiting, s.offered, s.in_service) == (100.0, 3, 8, 1)
        assert r._renew_at == r.renewed_at + 60_000 / 3000.0  # the snapshot renewed the lease

    run(redis_server.url, body)
