"""The log, the lease and recovery, driven cycle by cycle against a real redis-server."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from router import Inquiry, InvalidSnapshot, decode_config
from router.config import checks
from router.durable import DomainOptions, DomainRunner, Fenced, Producer
from router.durable.audit import audit_events, verify_replay
from router.durable.serve import Server
from router.durable.testing import RedisServer
from router.durable.wire import Refusal, Request, decode_output, encode_request
from router.events import Assigned, Offered
from router.inputs import Accept, Complete
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis


def test_a_submission_with_a_key_already_seen_is_a_no_op(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        first = await p.submit(Inquiry(id="q1", queue="orders"))
        again = await p.submit(Inquiry(id="q1", queue="orders"))
        other_key = await p.submit(Inquiry(id="q1", queue="orders"), key="retry-2")
        batch = await p.submit_many([Inquiry(id="q2", queue="orders"), Inquiry(id="q1", queue="x")])
        assert not first.duplicate and again.duplicate and not other_key.duplicate
        assert again.request_id == first.request_id
        assert [r.duplicate for r in batch] == [False, True]
        assert await c.xlen("router:{d}:requests") == 3

    run(redis_server.url, body)


def test_recovery_rebuilds_the_dead_owners_core_and_publishes_what_it_did_not(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(1000.0)
        r1 = runner(c, clock)
        await start(r1)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(30)])
        await settle(r1)
        await r1.snapshot()  # the next owner starts from here ...
        offers = [e for o in await p.all_outputs() for e in o.events if isinstance(e, Offered)]
        clock.t = 1001.0
        await p.send_many(Accept(inquiry_id=e.inquiry_id, agent_id=e.agent_id) for e in offers)
        await p.submit_many([Inquiry(id=f"r{i}", queue="refunds") for i in range(5)])
        await r1.cycle(block=False)  # reads
        clock.t = 1001.5
        await r1.cycle(block=False)  # logs and applies; its outputs are still pending
        assert r1.pending_out
        published = await c.xlen("router:{d}:output")
        state = r1.core.snapshot()  # type: ignore[union-attr]
        # r1 dies here; its lease runs out
        await c.delete("router:{d}:lease")
        r2 = runner(c, Clock(999.0), owner="p2")  # a clock behind: time must not go back
        assert await r2.acquire()
        assert r2.token == r1.token + 1
        replayed = await r2.recover()
        assert replayed == 1  # ... and replays the batch logged after the snapshot
        assert r2.core.snapshot() == state  # type: ignore[union-attr]
        assert r2.pending_out == r1.pending_out
        await settle(r2)
        assert await c.xlen("router:{d}:output") == published + 1
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assigned = [e for o in rep.outputs for e in o.events if isinstance(e, Assigned)]
        assert len(assigned) == len(offers)
        # the next batch is stamped with the last router time, not the slow clock
        await p.send(Complete(inquiry_id=assigned[0].inquiry_id))
        await settle(r2)
        rep = await verify_replay(c, "d")
        assert rep.batches[-1][2].now == 1001.5
        cfg = decode_config(CONFIG.encode())
        audit = audit_events(rep, cfg)
        assert [x for x in audit.problems if "outcomes" not in x] == []

    run(redis_server.url, body)


def test_a_snapshot_trims_the_logs_and_recovery_starts_from_it(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=60_000, agents_from_config=True)  # keep_log off
        r1 = DomainRunner(c, "d", "p1", cfg, opts, clock=Clock(50.0))
        await start(r1)
        p = Producer(c, "d")
        for k in range(3):
            await p.submit_many([Inquiry(id=f"q{k}-{i}", queue="refunds") for i in range(4)])
        await settle(r1)
        await r1.snapshot()
        assert await c.xlen("router:{d}:input") == 1  # the snapshot's own batch stays
        assert await c.xlen("router:{d}:requests") == 1  # the last request it consumed
        await p.submit_many([Inquiry(id=f"late{i}", queue="orders") for i in range(3)])
        await settle(r1)
        await c.delete("router:{d}:lease")
        r2 = DomainRunner(c, "d", "p2", cfg, opts, clock=Clock(50.0))
        assert await r2.acquire()
        assert await r2.recover() == 1
        assert r2.core is not None and r1.core is not None
        assert r2.core.snapshot() == r1.core.snapshot()
        assert r2.cur == r1.cur and r2.head == r1.head
        rep = await verify_replay(c, "d")
        assert rep.problems == ["domain 'd': the input log does not start with the first batch"]

    run(redis_server.url, body)


def test_an_owner_that_lost_its_lease_is_refused_by_the_fence(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(10.0))
        await start(r1)
        r2 = runner(c, Clock(10.0), owner="p2")
        assert not await r2.acquire()  # held by p1
        await c.delete("router:{d}:lease")  # p1 paused past its lease
        assert await r2.acquire()
        await r2.recover()
        p = Producer(c, "d")
        await p.submit(Inquiry(id="q1", queue="orders"))
        before = await c.xlen("router:{d}:input"), await c.xlen("router:{d}:output")
        await r1.cycle(block=False)  # reads the request
        with pytest.raises(
            Fenced,
            match=r"^domain 'd': write refused by fencing \(our token 1, current token 2\)$",
        ):
            await r1.cycle(block=False)  # tries to log it
        with pytest.raises(Fenced):
            await r1.snapshot()
        assert (await c.xlen("router:{d}:input"), await c.xlen("router:{d}:output")) == before
        assert not await r1.log.release()
        await settle(r2)
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert [t for _, t, _ in rep.batches][-1] == 2

    run(redis_server.url, body)


def test_caller_mistakes_and_garbage_requests_become_refusals(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(5.0))
        await start(r)
        p = Producer(c, "d", producer="crm-1")
        await p.accept("nope")
        await c.xadd("router:{d}:requests", {"m": b"\xc1garbage"})
        await c.xadd("router:{d}:requests", {"j": b'{"input": {"type": "complete"}}'})
        good = encode_request(Request(input=Complete(inquiry_id="gone")))
        mixed = b"\x92" + good + b"\x81\xa5input\x81\xa4type\xa3zzz"
        rid = (await c.xadd("router:{d}:requests", {"a": mixed})).decode()
        await settle(r)
        raw: Any = await c.xrevrange("router:{d}:output", count=1)
        out = decode_output(raw[0][0], raw[0][1])
        # requests that could not be decoded are refused first, then the core's refusals
        assert [(x.input, x.ref, x.error) for x in out.refusals] == [
            ("invalid", out.refusals[0].ref, "InvalidRequest"),
            ("complete", out.refusals[1].ref, "InvalidRequest"),  # the tag could be read
            ("invalid", f"{rid}[1]", "InvalidRequest"),
            ("accept", "nope", "UnknownId"),
            ("complete", "gone", "UnknownId"),
        ]
        assert out.refusals[3] == Refusal(
            at=5.0,
            input="accept",
            ref="nope",
            error="UnknownId",
            message="unknown inquiry 'nope'",
            producer="crm-1",
        )
        assert re.match(r"^\$: MessagePack data is malformed", out.refusals[0].message)
        assert out.refusals[1].message == "$.input: Object missing required field inquiry_id"
        assert out.refusals[2].message == "$.input.type: Invalid value 'zzz'"
        assert (await verify_replay(c, "d")).problems == []

    run(redis_server.url, body)


def test_a_domain_keeps_its_reconfigured_config_across_owners(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(1.0))
        await start(r1)
        cfg = decode_config(CONFIG.encode())
        new = msgspec.structs.replace(
            cfg, routing=msgspec.structs.replace(cfg.routing, offer_timeout_s=9.0)
        )
        await Producer(c, "d").reconfigure(new)
        await settle(r1)
        await r1.snapshot()
        await c.delete("router:{d}:lease")
        r2 = runner(c, Clock(2.0), owner="p2")  # started with the old config file
        assert await r2.acquire()
        await r2.recover()
        assert r2.core is not None
        assert r2.core.config.routing.offer_timeout_s == 9.0
        assert r2.core.version == 2

    run(redis_server.url, body)


def _typo_profile_config() -> dict[str, Any]:
    """CONFIG as a document, with an offer timeout of 9 s and a profile whose tenant no
    queue belongs to: what the previous release took in a reconfigure and this one refuses
    in a document (``convert_config``, since 2f7ac36/e88afa5)."""
    doc = msgspec.to_builtins(decode_config(CONFIG.encode()))
    doc["routing"]["offer_timeout_s"] = 9.0
    doc["agents"].append(
        {"name": "typo", "count": 1, "skills": {"orders": 1}, "capacity": {"chat": 1}}
        | {"tenants": ["fligy"]}
    )
    return doc


def test_a_reconfigure_the_previous_release_logged_replays_to_the_same_state(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log's ``Reconfigure`` whose document the previous release accepted (a profile's
    tenant no queue belongs to) is applied on replay as it was then, so the new owner's
    state is the old owner's; the same document sent now is refused at the log's edge
    (the owner's decoding: an ``InvalidRequest`` naming the field), and changes nothing."""
    doc = _typo_profile_config()

    async def body(c: Redis) -> None:
        # the previous release: the documents' tenant check did not exist
        with monkeypatch.context() as m:
            m.setattr(checks, "_profile_tenant_problems", lambda *a: None)
            r1 = runner(c, Clock(1.0))
            await start(r1)
            await Producer(c, "d").reconfigure(doc)
            await settle(r1)
            assert r1.core is not None and r1.core.version == 2
            state = r1.core.snapshot()
        # the upgrade: the owner dies, a new release's owner replays the log
        await c.delete("router:{d}:lease")
        r2 = runner(c, Clock(2.0), owner="p2")
        assert await r2.acquire()
        await r2.recover()
        assert r2.core is not None and r2.core.snapshot() == state
        assert r2.core.config.routing.offer_timeout_s == 9.0
        assert (await verify_replay(c, "d")).problems == []
        # the same document sent now is refused before the log, naming the field
        p = Producer(c, "d", producer="ops")
        after = await c.xlen("router:{d}:output")
        rid = await p.reconfigure(doc)
        await settle(r2)
        assert r2.core.version == 2  # not applied (a reconfigure makes version 3)
        out = (await p.all_outputs())[after:]
        assert [r for o in out for r in o.refusals] == [
            Refusal(
                at=2.0,
                input="reconfigure",
                ref=rid,  # (an undecodable request's: its request id)
                error="InvalidRequest",
                message="$.input.config.agents[2].tenants[0]: unknown tenant 'fligy'; "
                "no queue belongs to a tenant",
                producer="ops",
            )
        ]
        assert (await verify_replay(c, "d")).problems == []

    run(redis_server.url, body)


def test_a_stored_snapshot_that_does_not_restore_raises_invalid_snapshot(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot hash whose bytes are no snapshot (a foreign write, a release that wrote
    another format) stops the recovery with ``InvalidSnapshot`` saying why, not msgspec's
    error; ``serve`` logs that one line (no traceback) and leaves the domain."""

    async def body(c: Redis) -> None:
        r1 = runner(c, Clock(1.0))
        await start(r1)
        await r1.snapshot()
        await c.hset("router:{d}:snapshot", "data", b"\x93\x01\x02")
        await c.delete("router:{d}:lease")
        r2 = runner(c, Clock(2.0), owner="p2")
        assert await r2.acquire()
        with pytest.raises(InvalidSnapshot, match=r"^snapshot: \$: Expected object, got array$"):
            await r2.recover()
        await c.delete("router:{d}:lease")
        s = Server(redis_server.url, decode_config(CONFIG.encode()), ["d"], DomainOptions())
        asyncio.get_running_loop().call_later(0.3, s.stop)
        with caplog.at_level(logging.INFO, logger="router.durable"):
            await s.run()
        assert s.counters["failed"] == 1 and s.counters["acquired"] == 1
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [(r.getMessage(), r.exc_info) for r in errors] == [
            (
                "domain d: snapshot: $: Expected object, got array; leaving the domain for 60 s",
                None,
            )
        ]

    run(redis_server.url, body)
