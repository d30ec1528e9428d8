"""The wire carries the core's own inputs: every member of the union, bad values refused per input.

The codec tests need no Redis: they drive :func:`decode_request` and
:func:`run_batch`, the functions the owner and every replay use. The rest go
through a real ``redis-server``: the producer API, a ``router serve`` process,
and an in-process runner.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from router import Inquiry, QueueConfig, Router, RouterConfig, UsageError, decode_config
from router.config import Channel
from router.durable import Producer
from router.durable.audit import verify_replay
from router.durable.testing import Proc, RedisServer
from router.durable.wire import (
    INPUT_TYPES,
    MAX_UNTYPED_DEPTH,
    Batch,
    Refusal,
    Request,
    batch_output,
    decode_batch,
    decode_request,
    encode_batch,
    encode_request,
    encode_requests,
    input_ref,
    input_tag,
    isolate,
    run_batch,
)
from router.errors import InvalidInput
from router.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentOnBreak,
    AgentReady,
    Assigned,
    Completed,
    OfferDeclined,
    Offered,
    Queued,
    Reconfigured,
    Withdrawn,
)
from router.inputs import GoOnBreak, Input, Reconfigure, Submit
from router.model import AgentSpec
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, serve, settle, start, wait_for
from tests.durable.wire_samples import sample, sample_data

#: A config where the samples' names (``a1``) mean something: the sampled inquiry is admitted
#: and the sampled agent logs in, so the agent inputs that follow are applied, not refused.
SAMPLE_CONFIG = RouterConfig(
    queues=[QueueConfig(name="a1", channel="a1")], channels={"a1": Channel(max_concurrency=2)}
)


def _fields(request: Request, how: str) -> dict[bytes, bytes]:
    """A ``requests`` entry holding ``request`` the way a producer writes it."""
    if how == "a":
        return {b"a": encode_requests([request])}
    if how == "m":
        return {b"m": encode_request(request)}
    return {b"j": msgspec.json.encode(request)}


def _direct(router: Router, inp: Input, now: float) -> Refusal | None:
    """Apply ``inp`` to the core directly, as a Python caller would; its refusal, if any."""
    try:
        router.handle(inp, now)
    except UsageError as exc:
        return Refusal(
            at=now, input=input_tag(inp), ref=input_ref(inp), error=type(exc).__name__,
            message=str(exc), key="k1", producer="p1",
        )  # fmt: skip
    return None


# ---------------------------------------------------------------------- every input, no Redis


def test_the_samples_cover_every_member_of_the_input_union() -> None:
    tags = {input_tag(sample(cls)) for cls in INPUT_TYPES}
    assert len(tags) == len(INPUT_TYPES)
    assert {"submit", "accept", "callback_failed", "reconfigure"} <= tags


@pytest.mark.parametrize("how", ["a", "m", "j"])
@pytest.mark.parametrize("cls", INPUT_TYPES, ids=lambda c: c.__name__)
def test_every_input_round_trips_through_the_wire_to_the_core(cls: type, how: str) -> None:
    """Any member of ``router.inputs.Input``, present or future, without touching the wire."""
    inp = sample(cls)
    request = Request(input=inp, key="k1", producer="p1")
    good, bad = decode_request(_fields(request, how), "7-0")
    assert bad == [] and good == [request]
    batch = Batch(now=2.0, cur="7-0", items=good)
    logged = decode_batch(encode_batch(batch))
    assert logged == batch and logged.items[0].input == inp
    # what the log applies is exactly what a Python caller's handle() does
    direct = Router(SAMPLE_CONFIG, now=0.0)
    refused = _direct(direct, inp, 2.0)
    core, events, refusals = run_batch(Router(SAMPLE_CONFIG, now=0.0), logged)
    assert events == direct.tick(2.0)
    assert refusals == ([refused] if refused is not None else [])
    assert core.snapshot() == direct.snapshot()
    assert not any(r.message.startswith("input: not a router input") for r in refusals)


def test_every_input_in_one_batch_replays_identically() -> None:
    requests = [Request(input=sample(cls), producer="p1") for cls in INPUT_TYPES]
    good, bad = decode_request({b"a": encode_requests(requests)}, "9-0")
    assert bad == [] and good == requests
    batch = Batch(now=2.0, cur="9-0", items=good)
    direct = Router(SAMPLE_CONFIG, now=0.0)
    for r in requests:
        _direct(direct, r.input, 2.0)
    core, events, refusals = run_batch(Router(SAMPLE_CONFIG, now=0.0), batch)
    assert events == direct.tick(2.0)
    kinds = [type(e) for e in events]
    assert {Queued, AgentLoggedIn, AgentOnBreak, AgentLoggedOut, Withdrawn} <= set(kinds)
    assert core.snapshot() == direct.snapshot()
    again = run_batch(Router(SAMPLE_CONFIG, now=0.0), decode_batch(encode_batch(batch)))
    assert batch_output("1-0", again[1], again[2], False) == batch_output(
        "1-0", events, refusals, False
    )


# ---------------------------------------------------------------------- bad values, no Redis

NAN, INF = math.nan, math.inf
ORDERS = decode_config(CONFIG.encode())


def _submit(**inquiry: Any) -> dict[str, Any]:
    return {"input": {"type": "submit", "inquiry": {"id": "b", "queue": "orders", **inquiry}}}


def _login(**agent: Any) -> dict[str, Any]:
    return {"input": {"type": "login", "agent": {"id": "b", "capacity": {"chat": 2}, **agent}}}


def _set_attributes(**attributes: Any) -> dict[str, Any]:
    return {"input": {"type": "set_attributes", "agent_id": "b", "attributes": attributes}}


def _reconfigure(**queue: Any) -> dict[str, Any]:
    config = {"queues": [{"name": "q", "channel": "chat", **queue}]}
    return {"input": {"type": "reconfigure", "config": config}}


#: Raw requests with a bad value each, and the start of the refusal's message (the field).
BAD: list[tuple[Any, str]] = [
    (_submit(patience_s=NAN), "$.input.inquiry.patience_s: Expected float > 0.0"),
    (_submit(patience_s=INF), "patience_s: must be a finite number > 0, got inf"),
    (_submit(arrived_at=NAN), "arrived_at: must be a finite number, got nan"),
    (_submit(arrived_at=-INF), "arrived_at: must be a finite number, got -inf"),
    (_submit(id=None), "$.input.inquiry.id: Expected str"),
    (_submit(id=""), "$.input.inquiry.id: Expected str of length >= 1"),
    (_submit(priority=10**18), "$.input.inquiry.priority: Expected int <= 1000"),
    (_submit(cost=-1), "$.input.inquiry.cost: Expected int >= 0"),
    (_submit(tenant=""), "$.input.inquiry.tenant: Expected str of length >= 1"),
    (_submit(requires={"orders": 9}), "$.input.inquiry.requires[...]: Expected int <= 5"),
    (_submit(queue="nope"), "unknown queue 'nope'"),
    (_login(capacity={"chat": 99}), "capacity.chat: 99 is above the channel's hard maximum"),
    (_login(capacity={"fax": 1}), "capacity.fax: unknown channel 'fax'"),
    (_login(wrap_up_s=INF), "wrap_up_s: must be a finite number >= 0, got inf"),
    (_login(shift_end=NAN), "shift_end: must be a finite number, got nan"),
    (_login(queues={"orders": NAN}), "$.input.agent.queues[...]: Expected float > 0.0"),
    (_login(units=0), "$.input.agent.units: Expected int >= 1"),
    ({"input": {"type": "go_on_break", "agent_id": "b", "reason": "x" * 201}}, "$.input.reason"),
    ({"input": {"type": "accept", "inquiry_id": 5}}, "$.input.inquiry_id: Expected str"),
    ({"input": {"type": "accept", "inquiry_id": "c", "agent_id": ""}}, "$.input.agent_id"),
    ({"input": {"type": "withdraw", "inquiry_id": "never"}}, "unknown inquiry 'never'"),
    ({"input": {"type": "reconfigure", "config": {"queues": "x"}}}, "$.queues: Expected array"),
    (_reconfigure(answer_target_s=NAN), "$.queues[0].answer_target_s: must be a finite number"),
    (
        {"input": {"type": "reconfigure", "config": {}, "hand_over": {"a": 5}}},
        "$.input.hand_over[...]: Expected str",
    ),
    ({"input": {"type": "complete", "inquiry_id": "c", "x": 1}}, "$.input: Object contains"),
    ({"input": {"type": "fly"}}, "$.input.type: Invalid value 'fly'"),
    ({"input": {"type": "complete", "inquiry_id": "c"}, "key": "k" * 201}, "$.key"),
    ({"input": {"type": "complete", "inquiry_id": "c"}, "producer": 7}, "$.producer"),
    ([1, 2], "$: Expected object, got array"),
    (None, "$: Expected object, got None"),
    # the routing features (issue 16): attributes, preferred agents, a queue's mode and ring
    (_set_attributes(level=NAN), "attributes.level: must be a finite number, got nan"),
    (_set_attributes(langs=["zh", INF]), "attributes.langs[1]: must be a finite number, got inf"),
    (_set_attributes(x={"y": 1}), "$.input.attributes[...]: Expected bool | int | float | str"),
    (
        {"input": {"type": "set_attributes", "agent_id": "b", "attributes": None}},
        "$.input.attributes: Expected object, got None",
    ),
    (_submit(attributes={"tier": NAN}), "attributes.tier: must be a finite number, got nan"),
    (_submit(preferred_agents=[None]), "$.input.inquiry.preferred_agents[0]: Expected str"),
    (_reconfigure(max_offers=0), "$.queues[0].max_offers: Expected int >= 1"),
    (_reconfigure(distribution="fastest"), "$.queues[0].distribution: unknown value 'fastest'"),
    (_reconfigure(match="vip =="), "$.queues[0].match: column 7: expected a value after '=='"),
    (_reconfigure(preferred_wait_s=NAN), "$.queues[0].preferred_wait_s: must be a finite number"),
]

GOOD = [
    {"input": {"type": "login", "agent": {"id": "g1", "skills": {"orders": 1},
                                           "capacity": {"chat": 2}}}},
    {"input": {"type": "submit", "inquiry": {"id": "ok1", "queue": "orders"}}, "key": "ok1"},
]  # fmt: skip


def _core() -> Router:
    return Router(ORDERS, now=0.0)


def test_bad_values_from_the_wire_are_refused_each_naming_its_field() -> None:
    raws = [*GOOD[:1], *(raw for raw, _ in BAD), *GOOD[1:]]
    good, bad = decode_request({b"a": msgspec.msgpack.encode(raws)}, "5-0")
    batch = Batch(now=1.0, cur="5-0", items=good, invalid=bad)
    core, events, refusals = run_batch(_core(), batch)  # never raises
    assert len(refusals) == len(BAD)
    messages = sorted(r.message for r in refusals)
    for _, expected in BAD:
        hits = [m for m in messages if m.startswith(expected)]
        assert hits, f"no refusal starts with {expected!r}; got {messages}"
    # the good inputs of the same entry were applied, and the bad ones changed nothing
    assert Offered in {type(e) for e in events}
    only_good = Batch(now=1.0, cur="5-0", items=decode_request({b"a": encode_raw(GOOD)}, "")[0])
    assert core.snapshot() == run_batch(_core(), only_good)[0].snapshot()
    # and the log replays to the same bytes
    again = run_batch(_core(), decode_batch(encode_batch(batch)))
    assert batch_output("1-0", again[1], again[2], False) == batch_output(
        "1-0", events, refusals, False
    )


def encode_raw(value: Any) -> bytes:
    return msgspec.msgpack.encode(value)


def test_a_reconfigure_naming_a_tenant_no_queue_has_is_refused_before_the_log_only() -> None:
    """The documents' tenant check (``convert_config``) runs where a request enters the
    log (``decode_request``): a new such reconfigure is an ``InvalidRequest`` naming the
    field. A logged one (the previous release took it) is applied by ``run_batch`` and by
    the dead-letter walk as it was then; any other problem stays the core's refusal."""
    doc = {
        "queues": [{"name": "orders", "channel": "chat", "tenant": "fliggy"}],
        "agents": [
            {"count": 1, "capacity": {"chat": 1}, "tenants": ["fliggy"]},
            {"count": 1, "capacity": {"chat": 1}, "tenants": ["fligy"]},
        ],
    }
    raw = msgspec.msgpack.encode({"input": {"type": "reconfigure", "config": doc}})
    good, bad = decode_request({b"m": raw}, "7-0")
    assert good == [] and [(x.input, x.ref, x.message) for x in bad] == [
        (
            "reconfigure",
            "7-0",
            "$.input.config.agents[1].tenants[0]: unknown tenant 'fligy'; "
            "the queues' tenants: fliggy",
        )
    ]
    logged = Batch(now=1.0, cur="7-0", items=[Request(input=Reconfigure(config=doc))])
    core, _, refusals = run_batch(_core(), decode_batch(encode_batch(logged)))
    assert refusals == [] and core.version == 2
    assert core.config.agents[1].tenants == ["fligy"]
    assert isolate(_core(), logged) == (None, None)  # the walk applies it alike
    # a document that is wrong otherwise: the core's ConfigError, as before
    worse = {"queues": [{"name": "orders", "channel": "fax", "tenant": "fliggy"}]}
    good, bad = decode_request(
        {b"m": encode_raw({"input": {"type": "reconfigure", "config": worse}})}, "8-0"
    )
    assert bad == [] and len(good) == 1
    _, _, refusals = run_batch(_core(), Batch(now=1.0, cur="8-0", items=good))
    assert [(r.error, r.message.splitlines()[0]) for r in refusals] == [
        (
            "ConfigError",
            "$.queues[0].channel: unknown channel 'fax'; known: chat, email, task, voice",
        )
    ]


def test_a_refusal_names_the_input_its_id_key_and_producer_even_when_undecodable() -> None:
    raw = _submit(patience_s=NAN) | {"key": "retry-1", "producer": "crm"}
    good, bad = decode_request({b"m": encode_raw(raw)}, "5-0")
    _, _, refusals = run_batch(_core(), Batch(now=1.0, cur="5-0", items=good, invalid=bad))
    assert refusals == [
        Refusal(
            at=1.0, input="submit", ref="b", error="InvalidRequest",
            message="$.input.inquiry.patience_s: Expected float > 0.0", key="retry-1",
            producer="crm",
        )
    ]  # fmt: skip


def test_untyped_data_nested_too_deep_is_refused_not_logged() -> None:
    """A config nested deeper than the bound would not decode again inside its batch."""
    deep: Any = 0
    for _ in range(MAX_UNTYPED_DEPTH + 1):
        deep = [deep]
    raw = {"input": {"type": "reconfigure", "config": {"x": deep}}}
    good, bad = decode_request({b"m": encode_raw(raw)}, "5-0")
    assert good == []
    assert [(b.input, b.message) for b in bad] == [
        ("reconfigure", f"$.input.config: nested more than {MAX_UNTYPED_DEPTH} levels deep")
    ]
    very = b"\x81\xa5input" + b"\x91" * 100_000 + b"\x00"  # past the decoder's own limit
    good, bad = decode_request({b"a": b"\x91" + very}, "6-0")
    assert good == [] and bad[0].message == "$: nested too deeply"
    shallow = {"input": {"type": "reconfigure", "config": {"x": [[[0]]]}}}
    good, bad = decode_request({b"m": encode_raw(shallow)}, "5-0")
    assert bad == [] and len(good) == 1


_NASTY = st.sampled_from(
    [NAN, INF, -INF, -1, 0, 10**18, -(2**63), "", "x" * 300, None, [], {}, True, 1.5, "a1", [[]]]
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _leaves(v, (*path, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    out = list(value)
    out[head] = _replace(out[head], rest, new)
    return out


@st.composite
def _mangled(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from(INPUT_TYPES))
    raw: Any = {"input": sample_data(msgspec.inspect.type_info(cls)), "key": "k", "producer": "p"}
    for _ in range(draw(st.integers(1, 3))):
        paths = _leaves(raw)
        raw = _replace(raw, draw(st.sampled_from(paths)), draw(_NASTY))
    return raw


@settings(
    # ROUTER_FUZZ=2000 for a longer, randomised bug hunt
    max_examples=int(os.environ.get("ROUTER_FUZZ", "150")),
    deadline=None,
    derandomize="ROUTER_FUZZ" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(_mangled(), min_size=1, max_size=6))
def test_no_value_from_the_wire_crashes_a_batch(raws: list[Any]) -> None:
    """Whatever a producer writes, each request is applied or refused: never a dead letter."""
    good, bad = decode_request({b"a": encode_raw(raws)}, "3-0")
    assert len(good) + len(bad) == len(raws)
    batch = Batch(now=2.0, cur="3-0", items=good, invalid=bad)
    core, events, refusals = run_batch(Router(SAMPLE_CONFIG, now=0.0), batch)
    assert len(refusals) <= len(raws) and len(refusals) >= len(bad)
    again = run_batch(Router(SAMPLE_CONFIG, now=0.0), decode_batch(encode_batch(batch)))
    assert again[0].snapshot() == core.snapshot()
    assert batch_output("1-0", again[1], again[2], False) == batch_output(
        "1-0", events, refusals, False
    )


# ---------------------------------------------------------------------- through Redis


@pytest.mark.redis
def test_the_producer_checks_an_inquiry_before_adding_it(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        p = Producer(c, "d")
        with pytest.raises(InvalidInput, match=r"^patience_s: must be a finite number > 0"):
            await p.submit_many(
                [Inquiry(id="ok", queue="orders"), Inquiry(id="x", queue="orders", patience_s=NAN)]
            )
        # a key or producer id the owner's decoding would refuse (a Name): refused here, before
        # the SUBMIT script records the key (a retry with that key was a duplicate, never served)
        for key, line in (
            ("k" * 201, r"^key: must be at most 200 characters, got 201$"),
            ("", r"^key: must be a non-empty string, got ''$"),
            (7, r"^key: must be a non-empty string, got 7$"),
        ):
            with pytest.raises(InvalidInput, match=line):
                await p.submit(Inquiry(id="x", queue="orders"), key)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match=r"^producer: must be at most 200 characters"):
            Producer(c, "d", producer="p" * 201)
        assert await c.zcard("router:{d}:idem") == 0
        with pytest.raises(TypeError, match="submit inquiries with submit"):
            await p.send(Submit(inquiry=Inquiry(id="x", queue="orders")))
        with pytest.raises(TypeError, match="expected a router input"):
            await p.send(Inquiry(id="x", queue="orders"))  # type: ignore[arg-type]
        assert await c.xlen("router:{d}:requests") == 0  # nothing was added

    run(redis_server.url, body)


@pytest.mark.redis
def test_every_input_reaches_the_core_through_the_producer_and_serve(
    redis_server: RedisServer, tmp_path: Path, config_file: Path, procs: list[Proc]
) -> None:
    """Every member of the union, sent with the Producer (MessagePack) and as JSON, logged
    unchanged by a ``router serve`` process and handed to the core."""
    sent: list[Request] = []

    async def produce(c: Redis) -> str:
        p = Producer(c, "w", producer="crm")
        for cls in INPUT_TYPES:
            inp = sample(cls)
            if isinstance(inp, Submit):
                await p.submit(inp.inquiry, key="k-a1")
                sent.append(Request(input=inp, key="k-a1", producer="crm"))
            else:
                await p.send(inp)
                sent.append(Request(input=inp, producer="crm"))
        for cls in INPUT_TYPES:  # the same inputs as JSON, as a non-Python producer writes them
            request = Request(input=sample(cls), producer="json")
            last = await c.xadd("router:{w}:requests", {"j": msgspec.json.encode(request)})
            sent.append(request)
        return str(last.decode())

    last = asyncio.run(_with_client(redis_server.url, produce))
    serve(procs, tmp_path, "s1", redis_server.url, config_file, "w")

    def logged() -> bool:
        rep = asyncio.run(
            _with_client(redis_server.url, lambda c: verify_replay(c, "w", strict=False))
        )
        return bool(rep.batches) and rep.batches[-1][2].cur == last

    wait_for(logged, "the serve process to log every request")
    procs[-1].terminate()  # hands the domain over: every output published
    rep = asyncio.run(_with_client(redis_server.url, lambda c: verify_replay(c, "w")))
    assert rep.problems == []
    items = [r for _, _, b in rep.batches if b.init is None for r in b.items]
    assert items == sent
    refused = [x for o in rep.outputs for x in o.refusals]
    assert not any(x.error == "InvalidRequest" for x in refused)
    assert not any(x.message.startswith("input: not a router input") for x in refused)
    assert {x.producer for x in refused} <= {"crm", "json"}


async def _with_client(url: str, fn: Any) -> Any:
    client = Redis.from_url(url)
    try:
        return await fn(client)
    finally:
        await client.aclose()


@pytest.mark.redis
def test_the_producers_methods_drive_a_whole_day_of_an_agent(redis_server: RedisServer) -> None:
    """Each method of the Producer is its input: the events show every one applied."""

    async def body(c: Redis) -> None:
        clock = Clock(1.0)
        r = runner(c, clock, agents_from_config=False)
        await start(r)
        p = Producer(c, "d", producer="desk")
        await p.login(AgentSpec(id="ann", skills={"orders": 1}, capacity={"chat": 2}))
        await p.submit(Inquiry(id="q1", queue="orders"))
        await settle(r)
        clock.t = 2.0
        await p.decline("q1", "ann")
        await p.submit(Inquiry(id="q2", queue="orders"))
        await settle(r)
        clock.t = 3.0
        await p.accept("q2", "ann")
        await p.go_on_break("ann", "lunch")
        await settle(r)
        clock.t = 4.0
        await p.set_ready("ann")
        await p.complete("q2")
        await p.withdraw("q1")
        await settle(r)
        clock.t = 5.0
        cfg = decode_config(CONFIG.encode())
        await p.reconfigure(msgspec.structs.replace(cfg, agents=[]))
        await p.callback_failed("q2")
        await p.logout("ann")
        await settle(r)
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        kinds = {type(e) for o in rep.outputs for e in o.events}
        for kind in (AgentLoggedIn, Offered, OfferDeclined, Assigned, AgentOnBreak, AgentReady,
                     Completed, Withdrawn, Reconfigured, AgentLoggedOut):  # fmt: skip
            assert kind in kinds, kind.__name__
        refused = [x for o in rep.outputs for x in o.refusals]
        assert [(x.input, x.ref, x.error, x.producer) for x in refused] == [
            ("callback_failed", "q2", "UnknownId", "desk")
        ]
        assert r.core is not None and r.core.version == 2

    run(redis_server.url, body)


@pytest.mark.redis
def test_bad_values_through_redis_cost_only_themselves(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0))
        await start(r)
        raws = [*(raw for raw, _ in BAD), *GOOD]
        await c.xadd("router:{d}:requests", {"a": encode_raw(raws)})
        for raw, _ in BAD[:5]:
            await c.xadd("router:{d}:requests", {"m": encode_raw(raw)})
        await settle(r)
        assert await c.xlen("router:{d}:dead") == 0
        assert r.stats.dead_letters == 0
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        refused = [x for o in rep.outputs for x in o.refusals]
        assert len(refused) == len(BAD) + 5
        assert any(isinstance(e, Offered) and e.inquiry_id == "ok1" for o in rep.outputs
                   for e in o.events)  # fmt: skip

    run(redis_server.url, body)


@pytest.mark.redis
def test_an_entry_with_a_garbled_submission_count_is_served(redis_server: RedisServer) -> None:
    """Field ``n`` of a ``requests`` entry written by another producer than the script is not a
    count: the entry's requests are served, the domain goes on (it failed every owner that read
    it, the entry stayed after the log's cursor, and the domain stalled)."""

    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0))
        await start(r)
        await c.xadd("router:{d}:requests", {"a": encode_raw(GOOD), "n": b"lots"})
        await settle(r)
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert any(isinstance(e, Offered) and e.inquiry_id == "ok1" for o in rep.outputs
                   for e in o.events)  # fmt: skip

    run(redis_server.url, body)


def test_a_break_reason_that_says_nothing_is_refused_at_the_log_edge_and_replays_as_break(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """user53: a ``go_on_break`` whose reason is empty or blank is refused where a request
    enters the log (an ``InvalidRequest`` naming ``$.input.reason``). A log written before
    user52's check (e6967c7) may hold one the core then applied: replay applies it as the
    default reason ``break`` with a warning naming the batch and the agent, so the agent is
    on break as it was when logged (refusing it would replay to another state)."""
    login = {"input": {"type": "login", "agent": {"id": "a1", "capacity": {"chat": 2}}}}
    for reason in ("", " \t"):
        raw = encode_raw({"input": {"type": "go_on_break", "agent_id": "a1", "reason": reason}})
        good, bad = decode_request({b"m": raw}, "7-0")
        assert good == [] and [(x.input, x.ref, x.message) for x in bad] == [
            (
                "go_on_break",
                "a1",
                f"$.input.reason: must say why: not empty or only whitespace, got {reason!r}",
            )
        ]
    logged_login = decode_request({b"m": encode_raw(login)}, "6-0")[0]
    old = Batch(
        now=1.0,
        cur="7-0",
        items=[*logged_login, Request(input=GoOnBreak(agent_id="a1", reason=""))],
    )
    caplog.set_level(logging.WARNING, logger="router.durable")
    core, events, refusals = run_batch(_core(), decode_batch(encode_batch(old)))
    assert refusals == []
    assert [e.reason for e in events if isinstance(e, AgentOnBreak)] == ["break"]
    assert [r.getMessage() for r in caplog.records] == [
        "batch 7-0, item 1: go_on_break of agent 'a1' logged with reason '' (accepted before "
        "e6967c7): replayed with reason 'break'"
    ]
    said = Batch(
        now=1.0,
        cur="7-0",
        items=[*logged_login, Request(input=GoOnBreak(agent_id="a1", reason="break"))],
    )
    assert core.snapshot() == run_batch(_core(), said)[0].snapshot()
    assert isolate(_core(), old) == (None, None)  # the dead-letter walk applies it alike
