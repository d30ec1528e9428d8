"""Directed tests from mutG37's sweep of durable mode's log (``router/durable/log.py``).

Each test pins one behaviour a mutant changed without the durable subset noticing
(BENCHMARKS.md, "Mutation sweep of the policies' rest and durable mode's log (mutG37)").
The first part needs no Redis.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from router.durable import DomainOptions, Producer
from router.durable.log import Calls, DomainLog, Observed, SubmitResult, connect
from router.durable.testing import RedisServer
from router.durable.wire import DomainKeys, OutputEntry, decode_request, pack_events
from router.inputs import (
    Accept,
    CallbackFailed,
    Complete,
    Decline,
    GoOnBreak,
    HandBack,
    Heartbeat,
    Login,
    Logout,
    ResetStatistics,
    SetAttributes,
    SetReady,
    Transfer,
    UpdateAgent,
    UpdateInquiry,
    Withdraw,
)
from router.model import AgentSpec, Inquiry
from tests.durable.harness import run


class _FakeCluster(RedisCluster):  # type: ignore[misc]
    """A cluster client that answers ``get`` itself: ``a`` only once ``b`` has answered."""

    def __init__(self) -> None:  # no nodes, no connection
        self.seen: list[str] = []
        self.b_done = asyncio.Event()

    async def get(self, key: str) -> Any:
        if key == "bad":
            raise ValueError("no such key")
        if key == "a":
            await self.b_done.wait()
        self.seen.append(key)
        self.b_done.set()
        return key.upper()


def test_calls_on_a_cluster_go_to_the_client_concurrently_errors_as_values() -> None:
    # `log.py:123` (`self.client` not kept): on a Cluster (no pipeline: redis-py refuses
    # scripts in cluster pipelines) the calls are made on the client itself, together;
    # replies come back in the order called, an error as a value
    client = _FakeCluster()
    calls = Calls(client)
    assert calls.pipe is None
    for key in ("a", "bad", "b"):
        calls.call("get", key)
    assert len(calls) == 3
    replies = asyncio.run(asyncio.wait_for(calls.execute(), 10))  # one at a time: stuck
    assert replies[0::2] == ["A", "B"]
    assert isinstance(replies[1], ValueError) and str(replies[1]) == "no such key"
    assert client.seen == ["b", "a"]  # together: a answered after b
    assert asyncio.run(Calls(client).execute()) == []


# --- the Producer and observe, against a real redis-server ---------------------------------


@pytest.mark.redis
def test_each_producer_call_appends_its_input_and_returns_the_entry_id(
    redis_server: RedisServer,
) -> None:
    # `log.py:624` (`set_attributes` returned None) and the other calls spelled as inputs:
    # each appends one request entry holding exactly its input, and returns that entry's id
    agent = AgentSpec(id="a1", queues={"orders": 1.0})
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = [
        ("withdraw", ("i1",), {}, Withdraw(inquiry_id="i1")),
        ("login", (agent,), {}, Login(agent=agent)),
        ("set_ready", ("a1",), {}, SetReady(agent_id="a1")),
        ("go_on_break", ("a1",), {}, GoOnBreak(agent_id="a1", reason="break")),
        ("go_on_break", ("a1", "lunch"), {}, GoOnBreak(agent_id="a1", reason="lunch")),
        ("logout", ("a1",), {}, Logout(agent_id="a1")),
        ("accept", ("i1", "a1"), {}, Accept(inquiry_id="i1", agent_id="a1")),
        ("accept", ("i1",), {}, Accept(inquiry_id="i1", agent_id=None)),
        ("decline", ("i1", "a1"), {}, Decline(inquiry_id="i1", agent_id="a1")),
        ("complete", ("i1",), {}, Complete(inquiry_id="i1")),
        ("callback_failed", ("i1",), {}, CallbackFailed(inquiry_id="i1")),
        (
            "set_attributes",
            ("a1", {"level": 3}),
            {},
            SetAttributes(agent_id="a1", attributes={"level": 3}),
        ),
        (
            "update_inquiry",
            ("i1",),
            {"priority": 4, "requires": {"orders": 2}},
            UpdateInquiry(inquiry_id="i1", priority=4, requires={"orders": 2}),
        ),
        (
            "transfer",
            ("i1", "refunds"),
            {"agent_id": "a1", "priority": 2, "requires": {"refund": 1}},
            Transfer(
                inquiry_id="i1", queue="refunds", agent_id="a1", priority=2, requires={"refund": 1}
            ),
        ),
        (
            "hand_back",
            ("i1", "a1"),
            {"priority": 7},
            HandBack(inquiry_id="i1", agent_id="a1", priority=7),
        ),
        ("update_agent", (agent,), {}, UpdateAgent(agent=agent)),
        ("heartbeat", ("a1",), {}, Heartbeat(agent_id="a1")),
        ("reset_statistics", (), {}, ResetStatistics()),
    ]

    async def body(c: Redis) -> None:
        p = Producer(c, "d", producer="pp")
        for name, args, kwargs, expected in cases:
            rid = await getattr(p, name)(*args, **kwargs)
            (last_id, fields), *_ = await c.xrevrange("router:{d}:requests", count=1)
            assert rid == last_id.decode(), name
            good, bad = decode_request(fields, rid)
            assert bad == [] and [(r.input, r.producer) for r in good] == [(expected, "pp")], name
        assert await p.send_many([]) is None
        rid = await p.send_many([Withdraw(inquiry_id="x"), Complete(inquiry_id="y")])
        (last_id, fields), *_ = await c.xrevrange("router:{d}:requests", count=1)
        good, _ = decode_request(fields, rid)
        assert rid == last_id.decode()
        assert [r.input for r in good] == [Withdraw(inquiry_id="x"), Complete(inquiry_id="y")]
        assert await c.xlen("router:{d}:requests") == len(cases) + 1

    run(redis_server.url, body)


@pytest.mark.redis
def test_reading_outputs_an_empty_stream_groups_and_acks(redis_server: RedisServer) -> None:
    # `log.py:683` (`read_group` returned None for nothing new): every read answers a list
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        assert await p.read_outputs() == []
        assert await p.all_outputs() == []
        assert await p.create_group("g") is True
        assert await p.create_group("g") is False  # it exists
        assert await p.read_group("g", "c1") == []
        assert await p.read_group("g", "c1", pending=True) == []
        assert await p.ack("g", []) == 0
        obs = await DomainLog(c, DomainKeys("d"), "o1", 60_000).observe()
        assert obs == Observed(backlog=0, outputs_pending={"g": 0})

    run(redis_server.url, body)


@pytest.mark.redis
def test_calls_on_a_plain_redis_are_a_pipeline_in_which_a_read_blocks(
    redis_server: RedisServer,
) -> None:
    # `log.py:124` (`pipeline(transaction=True)`): inside MULTI a blocking XREAD does not
    # block, so a runner's cycle (its commit and its read sent together) never waited for
    # input. Here the read is held by the server until another client adds an entry
    async def body(c: Redis) -> None:
        other = Redis.from_url(redis_server.url)
        try:
            calls = Calls(c)
            calls.call("ping")
            calls.call("xread", {"s": "$"}, count=10, block=60_000)
            task = asyncio.create_task(calls.execute())
            for _ in range(2000):  # until the server holds the read (or it came back)
                if task.done() or (await other.info("clients"))["blocked_clients"] == 1:
                    break
                await asyncio.sleep(0.005)
            assert not task.done()
            rid = await other.xadd("s", {"k": "v"})
            pong, read = await asyncio.wait_for(task, 30)
            assert pong is True
            assert read == [[b"s", [(rid, {b"k": b"v"})]]]
            stats = await other.info("commandstats")
            assert "cmdstat_multi" not in stats and "cmdstat_exec" not in stats
        finally:
            await other.aclose()

    run(redis_server.url, body)


def test_connect_never_retries_and_bounds_each_command() -> None:
    # `log.py:102` (`Retry(NoBackoff(), 1)` for a cluster): a client must never retry on
    # its own (a lost reply is an in-doubt write); `timeout_s` bounds connecting and every
    # command. Building a client connects to nothing
    plain = connect("redis://127.0.0.1:1", timeout_s=3.5)
    assert plain.get_retry().get_retries() == 0
    kw = plain.connection_pool.connection_kwargs
    assert (kw["socket_timeout"], kw["socket_connect_timeout"]) == (3.5, 3.5)
    cluster = connect("redis://127.0.0.1:1", timeout_s=3.5, cluster=True)
    assert isinstance(cluster, RedisCluster)
    assert cluster.retry.get_retries() == 0
    kw = cluster.connection_kwargs
    assert (kw["socket_timeout"], kw["socket_connect_timeout"]) == (3.5, 3.5)
    assert connect("redis://127.0.0.1:1").connection_pool.connection_kwargs["socket_timeout"] == 2.0


@pytest.mark.redis
def test_observe_counts_the_backlog_and_each_groups_unacknowledged(
    redis_server: RedisServer,
) -> None:
    # `log.py:463` (`backlog = 1` before the read): a flow it cannot read (an error as a
    # value) counts as no backlog, as does a missing output stream as no groups
    async def body(c: Redis) -> None:
        log = DomainLog(c, DomainKeys("d"), "o1", 60_000)
        assert await log.observe() == Observed(backlog=0, outputs_pending={})
        await c.set("router:{d}:flow", "not a hash")
        assert await log.observe() == Observed(backlog=0, outputs_pending={})
        await c.delete("router:{d}:flow")
        await c.hset("router:{d}:flow", mapping={"added": 5, "taken": 2})
        for i in range(3):
            await c.xadd("router:{d}:output", {"in": f"{i}-0"})
        p = Producer(c, "d")
        assert await p.create_group("g", start="0") is True
        assert await p.create_group("h", start="$") is True
        await c.xreadgroup("g", "c1", {"router:{d}:output": ">"}, count=1)
        # g: one read and not acknowledged, two not read yet; h: from the end
        assert await log.observe() == Observed(backlog=3, outputs_pending={"g": 3, "h": 0})
        await c.hset("router:{d}:flow", "taken", 9)  # more taken than added: none
        assert (await log.observe()).backlog == 0

    run(redis_server.url, body)


@pytest.mark.redis
def test_submit_many_gives_each_inquiry_its_own_entry_id(redis_server: RedisServer) -> None:
    # `log.py:560` (`res[i - 1]`): each result took its neighbour's request id; a new
    # inquiry beside a duplicate was told the earlier entry's id, the duplicate the new one
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        first = await p.submit(Inquiry(id="x", queue="orders"))
        both = await p.submit_many(
            [Inquiry(id="y", queue="orders"), Inquiry(id="x", queue="orders")]
        )
        (last_id, _), *_ = await c.xrevrange("router:{d}:requests", count=1)
        assert last_id.decode() != first.request_id
        assert both == [
            SubmitResult(request_id=last_id.decode(), duplicate=False),
            SubmitResult(request_id=first.request_id, duplicate=True),
        ]

    run(redis_server.url, body)


@pytest.mark.redis
def test_reading_outputs_decodes_each_entry_after_the_id_asked(redis_server: RedisServer) -> None:
    # `log.py:684` (`read_outputs` returned None for entries read): outputs after `after`,
    # decoded, through every reader (plain, a group's new and pending entries, all)
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        assert await p.create_group("g") is True
        ids = []
        for k in range(3):
            fields = {"tok": 7, "in": f"{k + 1}-0", "ev": pack_events([])}
            ids.append((await c.xadd("router:{d}:output", fields)).decode())
        expected = [
            OutputEntry(id=i, token=7, input_id=f"{k + 1}-0", events=[], refusals=[])
            for k, i in enumerate(ids)
        ]
        assert await p.read_outputs() == expected
        assert await p.read_outputs(after=ids[0], count=1) == expected[1:2]
        assert await p.all_outputs(chunk=2) == expected
        assert await p.read_group("g", "c1", count=2) == expected[:2]
        assert await p.read_group("g", "c1", pending=True) == expected[:2]
        assert await p.ack("g", ids[:2]) == 2
        assert await p.read_group("g", "c1", pending=True) == []

    run(redis_server.url, body)


def test_domain_options_defaults_are_the_documented_ones() -> None:
    # `domain.py:99` (`max_unprocessed = 99999`): the bound on submissions not yet logged
    # is 100,000 by default (docs/deploy.md, `serve --max-unprocessed`)
    o = DomainOptions()
    assert (o.max_unprocessed, o.dedupe_window_s, o.output_retention_s) == (100_000, 600.0, 600.0)
