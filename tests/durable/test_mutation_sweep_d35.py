"""Directed tests from the mutation sweep of durable mode's exactly-once modules (mutD35).

Each test pins one behaviour of ``router/durable/wire.py``, ``log.py``, ``domain.py``,
``scripts.py`` or ``audit.py`` that a mutant changed without any other test noticing:
the wire's decoders and the names they give, the isolation walk's steps, the key names,
the log's reads and records (against a real ``redis-server``), the lease and the
runner's bookkeeping. The first part needs no Redis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from router import Inquiry, decode_config
from router.core import Router
from router.durable import DomainOptions, DomainRunner, Producer, faults
from router.durable.audit import Replay, audit_events, verify_replay
from router.durable.domain import agents_from_config
from router.durable.log import Calls, DomainLog, Fenced, LogMoved, SnapshotRecord
from router.durable.testing import RedisServer
from router.durable.wire import (
    MAX_UNTYPED_DEPTH,
    Batch,
    DeadLetter,
    DomainKeys,
    Invalid,
    OutputEntry,
    Refusal,
    Request,
    batch_output,
    check_domain_name,
    dead_letter_refusals,
    decode_output,
    decode_request,
    encode_batch,
    encode_refusals,
    input_ref,
    input_tag,
    isolate,
    isolate_steps,
    pack_events,
    replay_batch,
    run_batch,
    stream_id_key,
    submissions,
)
from router.events import (
    Abandoned,
    AgentReady,
    Assigned,
    Completed,
    Deflected,
    OfferDeclined,
    Offered,
    OfferExpired,
    OfferRescinded,
    Rejected,
    Requeued,
    Withdrawn,
    WrapUpEnded,
)
from router.inputs import (
    Accept,
    Login,
    Reconfigure,
    ResetStatistics,
    SetReady,
    Submit,
    Withdraw,
)
from router.model import AgentSpec
from tests.durable.conftest import CONFIG
from tests.durable.harness import Clock, run, runner, settle, start

mp = msgspec.msgpack.encode


def _submit(inquiry_id: str, key: str | None = None, producer: str | None = None) -> Request:
    return Request(
        input=Submit(inquiry=Inquiry(id=inquiry_id, queue="orders")), key=key, producer=producer
    )


def _core(now: float = 1.0) -> Router:
    cfg = decode_config(CONFIG.encode())
    core, _, _ = run_batch(
        None, Batch(now=now, cur="0-0", items=agents_from_config(cfg, now), init=cfg)
    )
    return core


# ---------------------------------------------------------------------- wire: decoding


def _inv(
    ref: str, message: str, input: str = "invalid", key: Any = None, producer: Any = None
) -> Invalid:
    return Invalid(ref=ref, message=message, input=input, key=key, producer=producer)


_SUB_BAD_ID = {"type": "submit", "inquiry": {"id": 5, "queue": "q"}}


DECODE_CASES: list[tuple[str, dict[bytes, bytes], list[str], list[Invalid]]] = [
    (
        "a: malformed array",
        {b"a": b"\xc1"},
        [],
        [_inv("5-0", "$: MessagePack data is malformed: invalid opcode '\\xc1' (byte 0)")],
    ),
    (
        "a: each item on its own, named ref[i]",
        {
            b"a": mp(
                [
                    {"input": _SUB_BAD_ID, "key": "k1", "producer": "p"},
                    {"input": {"type": "accept", "inquiry_id": "i1", "agent_id": "a1"}},
                    {"input": {"type": "nope", "agent_id": "ag"}},
                    {"input": {"type": "withdraw", "inquiry_id": "w1"}, "key": "k4"},
                ]
            )
        },
        ["accept i1", "withdraw w1"],
        [
            _inv("5-0[0]", "$.input.inquiry.id: Expected str, got int", "submit", "k1", "p"),
            _inv("ag", "$.input.type: Invalid value 'nope'"),
        ],
    ),
    (
        "m: one MessagePack request",
        {b"m": mp({"input": {"type": "set_ready", "agent_id": "ag1"}, "producer": "pp"})},
        ["set_ready ag1"],
        [],
    ),
    (
        "m: malformed",
        {b"m": b"\xc1"},
        [],
        [_inv("5-0", "$: MessagePack data is malformed: invalid opcode '\\xc1' (byte 0)")],
    ),
    (
        "m: wrong value, what can be read kept",
        {b"m": mp({"input": {"type": "complete", "inquiry_id": 3}, "key": "kk", "producer": 7})},
        [],
        [_inv("5-0", "$.input.inquiry_id: Expected str, got int", "complete", "kk")],
    ),
    (
        "j: one JSON request",
        {b"j": b'{"input": {"type": "withdraw", "inquiry_id": "w2"}}'},
        ["withdraw w2"],
        [],
    ),
    (
        "j: wrong value, read loosely as JSON",
        {b"j": b'{"input": {"type": "withdraw", "inquiry_id": 7}, "key": "jk"}'},
        [],
        [_inv("5-0", "$.input.inquiry_id: Expected str, got int", "withdraw", "jk")],
    ),
    (
        "j: not an object",
        {b"j": b"[1]"},
        [],
        [_inv("5-0", "$: Expected object, got array")],
    ),
    (
        "no field",
        {b"x": b"[1]"},
        [],
        [_inv("5-0", "$: request has no 'a', 'm' (MessagePack) or 'j' (JSON) field")],
    ),
    (
        "a wins over m and j",
        {
            b"a": mp([{"input": {"type": "withdraw", "inquiry_id": "fromA"}}]),
            b"m": mp({"input": {"type": "withdraw", "inquiry_id": "fromM"}}),
            b"j": b'{"input": {"type": "withdraw", "inquiry_id": "fromJ"}}',
        },
        ["withdraw fromA"],
        [],
    ),
    (
        "m wins over j",
        {
            b"m": mp({"input": {"type": "withdraw", "inquiry_id": "fromM"}}),
            b"j": b'{"input": {"type": "withdraw", "inquiry_id": "fromJ"}}',
        },
        ["withdraw fromM"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("fields", "good", "bad"),
    [c[1:] for c in DECODE_CASES],
    ids=[c[0] for c in DECODE_CASES],
)
def test_decode_request_gives_each_request_or_its_invalid_named(
    fields: dict[bytes, bytes], good: list[str], bad: list[Invalid]
) -> None:
    requests, invalid = decode_request(fields, "5-0")
    assert [f"{input_tag(r.input)} {input_ref(r.input)}" for r in requests] == good
    assert invalid == bad


@pytest.mark.parametrize(
    ("inp", "ref", "tag"),
    [
        ({"type": "accept", "inquiry_id": "iq", "agent_id": "ag"}, "iq", "accept"),
        ({"type": "accept", "inquiry_id": 1, "agent_id": "ag"}, "ag", "accept"),
        ({"type": "accept", "inquiry_id": "", "agent_id": "ag"}, "ag", "accept"),
        ({"type": "login", "agent": {"id": "a1", "capacity": 5}}, "a1", "login"),
        ({"type": "submit", "inquiry": {"id": "q1", "queue": 3}}, "q1", "submit"),
        ({"type": "submit", "inquiry": {"id": "x" * 200, "queue": 3}}, "x" * 200, "submit"),
        ({"type": "submit", "inquiry": {"id": "x" * 201, "queue": 3}}, "7-1", "submit"),
        ({"type": "submit", "inquiry": {"id": "", "queue": 3}}, "7-1", "submit"),
        ({"type": "submit", "inquiry": ["q1"]}, "7-1", "submit"),
        (
            {"type": "transfer", "inquiry_id": "t1", "agent": {"id": "a9"}, "queue": 4},
            "t1",
            "transfer",
        ),
        ({"type": "update_agent", "agent": {"id": "u1"}, "agent_id": 4}, "u1", "update_agent"),
        ({"type": "update_agent", "agent": "u1", "agent_id": 4}, "7-1", "update_agent"),
        ({"type": 5, "inquiry_id": "iq"}, "iq", "invalid"),
        ({"type": "Submit", "inquiry_id": "iq"}, "iq", "invalid"),
        (["submit"], "7-1", "invalid"),
    ],
)
def test_an_undecodable_request_keeps_its_tag_and_the_id_it_is_about(
    inp: Any, ref: str, tag: str
) -> None:
    for k, key, producer in ((b"m", "k" * 200, "p"), (b"m", "k" * 201, ""), (b"j", None, "pj")):
        body: dict[str, Any] = {"input": inp, "zz": 1}  # an unknown field: refused
        if key is not None:
            body["key"] = key
        body["producer"] = producer
        raw = mp(body) if k == b"m" else msgspec.json.encode(body)
        good, bad = decode_request({k: raw}, "7-1")
        assert good == []
        (x,) = bad
        assert (x.ref, x.input) == (ref, tag)
        assert x.key == (key if key is not None and len(key) <= 200 else None)
        assert x.producer == (producer or None)


def _nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_untyped_data_is_refused_past_the_depth_limit_naming_the_field() -> None:
    def fields(config: Any) -> dict[bytes, bytes]:
        return {b"m": mp({"input": {"type": "reconfigure", "config": config}})}

    good, bad = decode_request(fields(_nest(MAX_UNTYPED_DEPTH)), "1-0")
    assert len(good) == 1 and bad == []
    good, bad = decode_request(fields(_nest(MAX_UNTYPED_DEPTH + 1)), "1-0")
    assert good == [] and bad == [
        _inv(
            "1-0",
            f"$.input.config: nested more than {MAX_UNTYPED_DEPTH} levels deep",
            "reconfigure",
        )
    ]
    # through dict keys and values, tuples, sets and structs alike
    deep = {"k": [{"x": _nest(MAX_UNTYPED_DEPTH - 3)}]}
    assert len(decode_request(fields(deep), "1-0")[0]) == 1
    deep = {"k": [{"x": _nest(MAX_UNTYPED_DEPTH - 2)}]}
    assert decode_request(fields(deep), "1-0")[0] == []
    from router.durable.wire import _checked, _too_deep

    assert not _too_deep(1, 0) and _too_deep([1], 0) and not _too_deep([1], 1)
    assert _too_deep({_nest(0): 1}, 0) and not _too_deep({}, 0)
    assert _too_deep(((1,),), 1) and not _too_deep(((1,),), 2)
    assert _too_deep({frozenset({1})}, 1) and not _too_deep({frozenset({1})}, 2)
    assert _too_deep(Inquiry(id="a", queue="b"), 0) and not _too_deep(Inquiry(id="a", queue="b"), 1)
    # a typed input is not depth-checked; one with an untyped field is
    req = Request(input=Withdraw(inquiry_id="w"))
    assert _checked(req) is req
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.input\.config`$"):
        _checked(Request(input=Reconfigure(config=_nest(MAX_UNTYPED_DEPTH + 1))))


def test_a_recursion_error_is_nested_too_deeply_at_the_root() -> None:
    from router.durable.wire import _invalid

    x = _invalid(
        "3-0", RecursionError("deep"), mp({"input": {"type": "complete", "inquiry_id": "c"}})
    )
    assert x == _inv("c", "$: nested too deeply", "complete")
    x = _invalid("3-0", RecursionError("deep"), b'{"key": "jk"}', json=True)
    assert x == _inv("3-0", "$: nested too deeply", key="jk")
    assert _invalid("3-0", RecursionError(), None) == _inv("3-0", "$: nested too deeply")
    assert _invalid("3-0", RecursionError(), b"") == _inv("3-0", "$: nested too deeply")
    assert _invalid("3-0", RecursionError(), b"\xc1") == _inv("3-0", "$: nested too deeply")


def test_submissions_counts_the_n_field() -> None:
    assert submissions({b"n": b"3", b"a": b""}) == 3
    assert submissions({b"a": b""}) == 0
    assert submissions({b"n": b""}) == 0
    assert submissions({b"n": b"0"}) == 0
    for garbled in (b"lots", b"-3", b"1.5", b" 2", "\u00b2".encode()):  # not a count: 0
        assert submissions({b"n": garbled, b"a": b""}) == 0


def test_decode_output_reads_every_field() -> None:
    refusal = Refusal(at=1.5, input="submit", ref="q", error="E", message="m", key="k")
    fields = {
        b"tok": b"7",
        b"in": b"3-1",
        b"ev": pack_events([]),
        b"err": encode_refusals([refusal]),
    }
    out = decode_output(b"9-2", fields)
    assert (out.id, out.token, out.input_id, out.events, out.refusals) == (
        "9-2",
        7,
        "3-1",
        [],
        [refusal],
    )
    del fields[b"err"]
    out = decode_output("9-3", fields)
    assert (out.id, out.refusals) == ("9-3", [])
    assert encode_refusals([]) == b""


def test_input_ref_and_tag_for_each_kind_of_input() -> None:
    agent = AgentSpec(id="ag", skills={}, capacity={"chat": 1})
    assert (input_tag(_submit("q").input), input_ref(_submit("q").input)) == ("submit", "q")
    assert input_ref(Login(agent=agent)) == "ag"
    assert input_ref(Accept(inquiry_id="iq", agent_id="ag")) == "iq"
    assert input_ref(Accept(inquiry_id="iq")) == "iq"
    assert input_ref(SetReady(agent_id="ag")) == "ag"
    assert (input_tag(ResetStatistics()), input_ref(ResetStatistics())) == ("reset_statistics",) * 2
    assert input_ref(Reconfigure(config={"id": "x"})) == "reconfigure"


# ---------------------------------------------------------------------- wire: run and replay


def test_a_first_batch_without_init_is_an_error() -> None:
    with pytest.raises(
        ValueError, match=r"^the first batch of a domain must carry its config \(init\)$"
    ):
        run_batch(None, Batch(now=1.0, cur="0-0", items=[]))


def test_run_batch_refuses_invalid_first_then_dead_items_in_place() -> None:
    core = _core()
    bad = [_inv("r1", "$.x: bad", "submit", "k", "p"), _inv("r2", "$: no")]
    batch = Batch(
        now=2.0,
        cur="2-0",
        items=[_submit("a", "ka", "pa"), _submit("b", "kb"), _submit("c"), _submit("a")],
        invalid=bad,
    )
    before = core.snapshot()
    _, _, refusals = run_batch(
        Router.restore(before), batch, DeadLetter(error="E0", items=(1, 2), errors=("E1", "E2"))
    )
    got = [(r.at, r.input, r.ref, r.error, r.message, r.key, r.producer) for r in refusals]
    assert got[:2] == [
        (2.0, "submit", "r1", "InvalidRequest", "$.x: bad", "k", "p"),
        (2.0, "invalid", "r2", "InvalidRequest", "$: no", None, None),
    ]
    assert got[2:4] == [
        (2.0, "submit", "b", "DeadLettered", "E1", "kb", None),
        (2.0, "submit", "c", "DeadLettered", "E2", None, None),
    ]
    assert [(r.ref, r.error) for r in refusals[4:]] == [("a", "DuplicateId")]  # the core's own
    # errors empty: each dead item gets the record's error
    core2, _, refusals = run_batch(
        Router.restore(before), batch, DeadLetter(error="E0", items=(0,))
    )
    assert [(r.ref, r.error, r.message) for r in refusals[2:3]] == [("a", "DeadLettered", "E0")]
    assert len(refusals) == 3  # the later "a" is served: the first was skipped
    assert core2.inquiry_state("a") is not None
    # a whole dead batch: nothing applied, every input refused, the router untouched
    same, events, refusals = replay_batch(core2, batch, DeadLetter(error="boom"))
    assert same is core2 and events == []
    assert [(r.ref, r.error, r.message) for r in refusals] == [
        ("r1", "InvalidRequest", "$.x: bad"),
        ("r2", "InvalidRequest", "$: no"),
        ("a", "DeadLettered", "boom"),
        ("b", "DeadLettered", "boom"),
        ("c", "DeadLettered", "boom"),
        ("a", "DeadLettered", "boom"),
    ]
    assert refusals == dead_letter_refusals(batch, "boom")
    assert refusals[2].key == "ka" and refusals[2].producer == "pa"


def test_batch_output_only_when_something_to_say_or_dead() -> None:
    assert batch_output("1-0", [], [], False) is None
    assert batch_output("1-0", [], [], True) == ("1-0", pack_events([]), b"")
    r = Refusal(at=1.0, input="submit", ref="q", error="E", message="m")
    assert batch_output("1-0", [], [r], False) == ("1-0", pack_events([]), encode_refusals([r]))


def _steps(router: Router, batch: Batch) -> tuple[int, Any]:
    walk = isolate_steps(router, batch)
    n = 0
    while True:
        try:
            next(walk)
        except StopIteration as stop:
            return n, stop.value
        n += 1


def test_isolation_finds_each_poison_input_and_yields_after_every_step() -> None:
    core = _core()
    before = core.snapshot()
    batch = Batch(now=2.0, cur="2-0", items=[_submit(x) for x in "abcde"])
    faults.set_poison("b,d")
    try:
        n, (items, first) = _steps(Router.restore(before), batch)
        assert isolate(Router.restore(before), batch)[0] is not None
    finally:
        faults.set_poison(None)
    assert items is not None and [(i, str(e)) for i, e in items] == [
        (1, "injected fault: submit 'b'"),
        (3, "injected fault: submit 'd'"),
    ]
    assert first is items[0][1]
    # 1 (the snapshot) + 5 inputs + for b: a restore and "a" again + for d: a restore, "a", "c"
    assert n == 1 + 5 + 2 + 3
    # nothing poisoned: nothing crashes this time, the caller's crash stands
    n, result = _steps(Router.restore(before), batch)
    assert result == (None, None) and n == 6
    assert _steps(Router.restore(before), Batch(now=2.0, cur="2-0", items=[])) == (1, (None, None))


def test_a_poison_input_and_a_crashing_tick_make_the_batch_dead_whole() -> None:
    core = _core()
    before = core.snapshot()
    # "p" crashes where it is applied, the tick crashes because "t" is in the batch: the
    # tick's crash wins (the whole batch), not the list of poison inputs
    batch = Batch(now=2.0, cur="2-0", items=[_submit("a"), _submit("p"), _submit("t")])
    faults.set_poison("p,tick:t")
    try:
        items, crash = isolate(Router.restore(before), batch)
    finally:
        faults.set_poison(None)
    assert items is None and isinstance(crash, faults.InjectedFault)
    assert str(crash) == "injected fault: the tick of a batch that submits 't'"


# ---------------------------------------------------------------------- wire: names and keys


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("9", True),
        ("a" * 100, True),
        ("a" * 101, False),
        ("a-b.c_D9", True),
        ("", False),
        ("-a", False),
        ("_a", False),
        (".a", False),
        ("a b", False),
        ("a{b}", False),
        ("a\n", False),
    ],
)
def test_domain_names(name: str, ok: bool) -> None:
    if ok:
        assert check_domain_name(name) == name
        assert DomainKeys(name).domain == name
    else:
        msg = (
            f"domain name {name!r}: use 1-100 letters, digits, '_', '.', '-' "
            "(starting with a letter or digit)"
        )
        with pytest.raises(ValueError) as e:
            check_domain_name(name)
        assert str(e.value) == msg
        with pytest.raises(ValueError):
            DomainKeys(name)


def test_domain_keys_share_the_hash_tag() -> None:
    k = DomainKeys("d1", "pre")
    names = {s: getattr(k, s) for s in DomainKeys.__slots__}
    assert names == {
        "dead": "pre:{d1}:dead",
        "domain": "d1",
        "fence": "pre:{d1}:fence",
        "flow": "pre:{d1}:flow",
        "idem": "pre:{d1}:idem",
        "input": "pre:{d1}:input",
        "lease": "pre:{d1}:lease",
        "output": "pre:{d1}:output",
        "prefix": "pre",
        "requests": "pre:{d1}:requests",
        "snapshot": "pre:{d1}:snapshot",
    }
    assert DomainKeys("d1").lease == "router:{d1}:lease"
    for bad in ("a{", "}a", "{}"):
        with pytest.raises(ValueError, match=r"must not contain braces$"):
            DomainKeys("d1", bad)


def test_stream_id_key_orders_ids() -> None:
    assert stream_id_key(b"12-3") == (12, 3)
    assert stream_id_key("12-3") == (12, 3)
    assert stream_id_key("12") == (12, 0)
    assert stream_id_key("12-") == (12, 0)
    assert stream_id_key("") == (-1, -1)
    assert stream_id_key(b"") == (-1, -1)
    assert stream_id_key("") < stream_id_key("0-0") < stream_id_key("0-1") < stream_id_key("1-0")


# ---------------------------------------------------------------------- domain: pure helpers


def test_batch_size_buckets_and_the_error_text() -> None:
    from router.durable.domain import BATCH_BUCKETS, _bucket, _error, _inputs

    assert [_bucket(n) for n in (0, 1, 2, 10, 11, 100, 101, 5000, 20000, 20001)] == [
        0, 1, 2, 2, 3, 3, 4, 5, 6, 7,
    ]  # fmt: skip
    assert _bucket(10**9) == len(BATCH_BUCKETS)
    assert _error(ValueError("x")) == "ValueError: x"
    assert _error(ValueError("y" * 2000)) == ("ValueError: " + "y" * 2000)[:1000]
    assert _inputs([("1-0", [_submit("a")], [], 1), ("2-0", [], [_inv("r", "m")] * 2, 0)]) == 3


# ---------------------------------------------------------------------- domain and log: Redis


@pytest.mark.redis
def test_a_runner_keeps_its_token_renewal_times_lag_and_counts(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(time.time() + 100.0)
        r = runner(c, clock)
        assert r.statistics() is None and r.lag_s() == 0.0 and r.token == 0
        t0, m0 = time.time(), time.monotonic()
        assert await r.acquire()
        t1, m1 = time.time(), time.monotonic()
        assert r.token == 1 and r.log.token == 1 and r.stats.token == 1
        assert t0 <= r.stats.acquired_at <= t1
        assert m0 <= r.renewed_at <= m1
        assert r._renew_at == r.renewed_at + 60_000 / 3000.0
        await r.recover()
        await settle(r)
        assert r.statistics() == r.core.statistics()  # type: ignore[union-attr]
        p = Producer(c, "d")
        a = await p.submit(Inquiry(id="q1", queue="orders"))
        await asyncio.sleep(0.01)
        await p.submit_many([Inquiry(id="q2", queue="orders"), Inquiry(id="q3", queue="nope")])
        assert r.lag_s() == 0.0
        await r.cycle(block=False)  # reads both entries, logs nothing
        assert len(r._requests) == 2
        first_ms = int(a.request_id.split("-")[0])
        assert r.lag_s() == max(0.0, clock.t - first_ms / 1000.0) > 99.0
        clock.t = first_ms / 1000.0 - 5.0  # a clock behind the request: no negative lag
        assert r.lag_s() == 0.0
        clock.t = first_ms / 1000.0 + 100.0
        await settle(r)
        s = r.stats
        got = (s.batches, s.inputs, s.events, s.refusals, s.max_batch, s.batch_hist, s.snapshots)
        assert got == (2, 12, 13, 1, 9, [0, 0, 2, 0, 0, 0, 0, 0], 0)
        assert (s.now, s.offered) == (0.0, 0)  # the gauges follow snapshots and recoveries
        await r.snapshot()
        assert (s.snapshots, s.now, s.offered, s.waiting) == (1, r.core.now, 2, 0)  # type: ignore[union-attr]
        # a token acquired elsewhere (the server acquires many domains in one pipeline)
        other = runner(c, clock, owner="p3")
        other.adopt(5)
        assert (other.token, other.log.token, other.stats.token) == (5, 5, 5)

    run(redis_server.url, body)


def _log(c: Redis, owner: str, lease_ms: int = 60_000) -> DomainLog:
    return DomainLog(c, DomainKeys("d"), owner, lease_ms)


@pytest.mark.redis
def test_the_lease_its_fence_and_release(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        a, b = _log(c, "o1"), _log(c, "o2")
        await a.load_scripts()
        assert await a.acquire(limit=7) == 1 and a.token == 1
        assert await c.hget("router:{d}:flow", "limit") == b"7"
        assert await c.get("router:{d}:lease") == b"o1"
        assert 0 < await c.pttl("router:{d}:lease") <= 60_000
        assert await b.acquire() is None and b.token == 0
        assert await a.acquire() == 2 and a.token == 2  # the holder again: a new token
        assert await c.hget("router:{d}:flow", "limit") == b"0"
        await a.renew()
        a.token = 1
        with pytest.raises(Fenced) as e:
            await a.renew()
        assert str(e.value) == "domain 'd': write refused by fencing (our token 1, current token 2)"
        assert (e.value.domain, e.value.token, e.value.current) == ("d", 1, "2")
        a.token = 2
        await c.set("router:{d}:lease", "o9")  # the fence is ours, the lease another's
        with pytest.raises(Fenced, match=r"current token 2\)$"):
            await a.renew()
        await c.delete("router:{d}:lease")  # ran out, nobody took it: ours to renew
        await a.renew()
        assert await c.get("router:{d}:lease") == b"o1"
        assert not await b.release()
        a.token = 1
        assert not await a.release()
        a.token = 2
        assert await a.release() and await c.get("router:{d}:lease") is None
        assert not await a.release()
        assert await b.acquire() == 3
        with pytest.raises(Fenced, match=r"our token 2, current token 3\)$"):
            await a.renew()
        await c.delete("router:{d}:fence")
        with pytest.raises(Fenced, match=r"current token none\)$"):
            await a.renew()

    run(redis_server.url, body)


@pytest.mark.redis
def test_commits_batches_outputs_and_dead_letters_as_the_log_reads_them(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        log = _log(c, "o1")
        await log.load_scripts()
        await log.acquire()
        assert await log.read_snapshot() is None
        assert await log.last_output_input() == ""

        async def commit(head: str, batch: Batch | None, outputs: Any = (), taken: int = 0) -> Any:
            calls = Calls(c)
            payload = encode_batch(batch) if batch is not None else None
            log.queue_commit(calls, head, payload, outputs, taken)
            assert len(calls) == 1
            (reply,) = await calls.execute()
            return reply

        batches = [Batch(now=float(i), cur=f"{i}-0", items=[_submit(f"q{i}")]) for i in (1, 2, 3)]
        ids = []
        head = ""
        for i, batch in enumerate(batches):
            head = log.check_commit(await commit(head, batch, taken=i + 1))
            ids.append(head)
        assert await c.hget("router:{d}:flow", "taken") == b"6"
        with pytest.raises(LogMoved) as moved:
            log.check_commit(await commit(ids[0], batches[0]))
        assert str(moved.value) == (
            f"domain 'd': input log head is {ids[2]!r}, not the last batch this owner wrote"
        )
        assert await c.xlen("router:{d}:input") == 3
        # no batch: outputs only, any head
        r = Refusal(at=1.0, input="submit", ref="q", error="E", message="m")
        outs = [(ids[0], pack_events([]), b""), (ids[1], pack_events([]), encode_refusals([r]))]
        assert log.check_commit(await commit("whatever", None, outs)) == ""
        rows = await c.xrange("router:{d}:output")
        assert [f for _, f in rows] == [
            {b"tok": b"1", b"in": ids[0].encode(), b"ev": pack_events([])},
            {b"tok": b"1", b"in": ids[1].encode(), b"ev": pack_events([]), b"err": outs[1][2]},
        ]
        assert await log.last_output_input() == ids[1]
        with pytest.raises(ConnectionError):
            log.check_commit(ConnectionError("lost"))
        log.token = 5
        with pytest.raises(Fenced):
            log.check_commit(await commit(ids[2], batches[0]))
        log.token = 1
        # the batches, in chunks, after an id
        chunks = [chunk async for chunk in log.batches_after("", chunk=2)]
        assert [[(i, t, b.cur) for i, t, b in ch] for ch in chunks] == [
            [(ids[0], 1, "1-0"), (ids[1], 1, "2-0")],
            [(ids[2], 1, "3-0")],
        ]
        chunks = [chunk async for chunk in log.batches_after(ids[0], chunk=1)]
        assert [[i for i, _, _ in ch] for ch in chunks] == [[ids[1]], [ids[2]]]
        assert [chunk async for chunk in log.batches_after(ids[2])] == []
        # dead letters: per input its index, or (index, error) when not the first crash's
        blob = encode_batch(batches[1])
        await log.dead_letter(ids[1], blob, "E1", [(0, "E1"), (2, "E2")], [])
        (entry,) = [f for _, f in await c.xrange("router:{d}:dead")]
        assert entry == {
            b"in": ids[1].encode(),
            b"tok": b"1",
            b"err": b"E1",
            b"b": blob,
            b"items": msgspec.msgpack.encode([0, [2, "E2"]]),
        }
        assert await log.dead_letters() == {
            ids[1]: DeadLetter(error="E1", items=(0, 2), errors=("E1", "E2"))
        }
        await log.dead_letter(ids[0], blob, "W", None, [(ids[2], pack_events([]), b"")])
        await log.dead_letter(ids[1], blob, "E3", [(1, "E3")], [])
        assert await log.dead_letters() == {
            ids[0]: DeadLetter(error="W"),
            ids[1]: DeadLetter(error="E3", items=(1,), errors=("E3",)),
        }
        assert [await log.dead_letter_records(i) for i in ids] == [1, 2, 0]
        assert b"items" not in (await c.xrange("router:{d}:dead"))[1][1]
        assert await log.last_output_input() == ids[2]  # published with the record
        log.token = 9
        with pytest.raises(Fenced):
            await log.dead_letter(ids[2], blob, "X", None, [])
        assert await log.dead_letter_records(ids[2]) == 0

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_recovery_counts_what_it_replayed_and_republishes(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(1000.0)
        r1 = runner(c, clock)
        await start(r1)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="refunds") for i in range(12)])
        await settle(r1)
        clock.t = 1001.0
        await p.submit_many([Inquiry(id=f"r{i}", queue="refunds") for i in range(2)])
        await r1.cycle(block=False)  # reads
        await r1.cycle(block=False)  # logs and applies; the outputs are pending
        assert len(r1.pending_out) == 1
        await c.delete("router:{d}:lease")
        r2 = runner(c, Clock(1001.0), owner="p2")
        assert await r2.acquire()
        t0 = time.perf_counter()
        assert await r2.recover() == 3
        wall_ms = (time.perf_counter() - t0) * 1000.0
        s = r2.stats
        assert (s.recovered_batches, s.republished) == (3, 1)
        assert 0.0 < s.recovery_ms <= wall_ms
        st = r2.core.statistics()  # type: ignore[union-attr]
        assert (s.now, s.waiting, s.offered, s.in_service) == (1001.0, st.waiting, st.offered, 0)
        assert (s.waiting, s.offered) == (14 - 9, 9)  # nine agents take a refund each
        assert r2.pending_out == r1.pending_out
        assert (r2.head, r2.cur, r2.last_now) == (r1.head, r1.cur, 1001.0)
        assert r2._read_cur == r1.cur and r2._requests == [] and r2._buffered == 0

    run(redis_server.url, body)


@pytest.mark.redis
async def _past_ms(c: Redis, stream_id: str) -> None:
    """Wait until the server's clock (``TIME``, the scripts' own) is past ``stream_id``'s
    millisecond."""
    ms = int(stream_id.split("-")[0])
    while True:
        sec, usec = await c.time()
        if sec * 1000 + usec // 1000 > ms:
            return
        await asyncio.sleep(0.001)


def test_a_snapshot_trims_keys_requests_and_outputs_as_its_script_says(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        log = _log(c, "o1")
        await log.load_scripts()
        await log.acquire()
        p = Producer(c, "d")
        rids = [(await p.submit(Inquiry(id=f"k{i}", queue="orders"))).request_id for i in range(3)]
        ev = pack_events([])
        ids = []
        head = ""
        for i in range(3):
            calls = Calls(c)
            blob = encode_batch(Batch(now=1.0, cur=rids[i], items=[]))
            log.queue_commit(calls, head, blob, [(f"o{i}", ev, b"")], 1)
            head = log.check_commit((await calls.execute())[0])
            ids.append(head)
        assert (await log.observe()).backlog == 0
        # a snapshot at the second batch: the logs trimmed below it, no key (the window is long)
        got = await log.snapshot(ids[1], rids[1], b"core", 5.25, trim=True, dedupe_window_ms=10**12)
        assert got == (0, 0)  # output_retention_ms -1: outputs kept
        assert [i.decode() for i, _ in await c.xrange("router:{d}:input")] == ids[1:]
        assert [i.decode() for i, _ in await c.xrange("router:{d}:requests")] == rids[1:]
        assert await c.hgetall("router:{d}:snapshot") == {
            b"in": ids[1].encode(),
            b"cur": rids[1].encode(),
            b"data": b"core",
            b"tok": b"1",
            b"now": b"5.25",
        }
        assert await log.read_snapshot() == SnapshotRecord(ids[1], rids[1], b"core", 1)
        # no window: every key up to the cursor's own goes, never one past it (the window's
        # cut is the server's millisecond: past the cursor's, so the cursor is the bound)
        await _past_ms(c, rids[1])
        got = await log.snapshot(ids[1], rids[1], b"core", 5.25, trim=False, dedupe_window_ms=0)
        assert got == (2, 0)
        assert [k for k, _ in await c.zrange("router:{d}:idem", 0, -1, withscores=True)] == [b"k2"]
        assert await c.xlen("router:{d}:input") == 2  # trim off
        # outputs without consumer groups: kept for the retention time, the newest always
        assert await c.xlen("router:{d}:output") == 3
        kw: dict[str, Any] = {"trim": False, "dedupe_window_ms": 0}
        got = await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=10**9, **kw)
        assert got == (1, 0)
        more = [(f"o{i}", ev, b"") for i in range(3, 7)]
        assert await log.snapshot(ids[2], rids[2], b"c", 6.0, outputs=more, **kw) == (0, 0)
        out_ids = [i.decode() for i, _ in await c.xrange("router:{d}:output")]
        assert len(out_ids) == 7
        # retention 0 trims below the server's millisecond: past the newest output's first
        # (on a fast host the next call can land in the same millisecond and keep its batch)
        await _past_ms(c, out_ids[-1])
        got = await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=0, **kw)
        assert got == (0, 6)
        assert [i.decode() for i, _ in await c.xrange("router:{d}:output")] == out_ids[-1:]
        # with groups: what the slowest group has not acknowledged stays
        more = [(f"o{i}", ev, b"") for i in range(7, 12)]
        await log.snapshot(ids[2], rids[2], b"c", 6.0, outputs=more, **kw)
        out_ids = [i.decode() for i, _ in await c.xrange("router:{d}:output")]
        assert len(out_ids) == 6
        assert await p.create_group("slow", start="0")
        assert await p.create_group("fast", start="0")
        assert await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=0, **kw) == (
            0,
            0,
        )  # "slow" has read nothing
        read = await p.read_group("slow", "x", count=3)
        await p.ack("slow", [read[0].id, read[2].id])  # one pending, older than the last read
        fast = await p.read_group("fast", "y", count=6)
        await p.ack("fast", [e.id for e in fast])
        obs = await log.observe()
        assert obs.outputs_pending == {"slow": 1 + 3, "fast": 0}
        got = await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=0, **kw)
        assert got == (0, 1)  # up to slow's oldest pending entry
        await p.ack("slow", [read[1].id])
        got = await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=0, **kw)
        assert got == (0, 1)  # up to slow's last delivered entry, which stays
        assert [i.decode() for i, _ in await c.xrange("router:{d}:output")] == out_ids[2:]
        await p.read_group("slow", "x", count=10)
        await p.ack("slow", out_ids[3:])
        # everything acknowledged: the newest entry stays; with groups, no retention time
        got = await log.snapshot(ids[2], rids[2], b"c", 6.0, output_retention_ms=10**9, **kw)
        assert got == (0, 3)
        assert await c.xlen("router:{d}:output") == 1
        # the cursor's score: seq capped at 1023, then never one past it (ids of one ms
        # past 1023 adds share a score: their keys stay)
        await c.delete("router:{d}:idem")
        scores = {"a": 5 * 1024 + 3, "b": 5 * 1024 + 4, "c": 5 * 1024 + 1023, "d": 6 * 1024}
        await c.zadd("router:{d}:idem", scores)
        assert await log.snapshot(ids[2], "5-3", b"c", 6.0, **kw) == (1, 0)
        assert await log.snapshot(ids[2], "5-5000", b"c", 6.0, **kw) == (1, 0)
        assert await c.zrange("router:{d}:idem", 0, -1) == [b"c", b"d"]
        # the backlog: submissions added and not taken
        await p.submit_many([Inquiry(id=f"n{i}", queue="orders") for i in range(4)])
        calls = Calls(c)
        log.queue_commit(calls, ids[2], encode_batch(Batch(now=1.0, cur="0-0", items=[])), [], 1)
        log.check_commit((await calls.execute())[0])
        assert (await log.observe()).backlog == 3
        await c.hset("router:{d}:flow", "taken", 100)
        assert (await log.observe()).backlog == 0
        log.token = 7
        with pytest.raises(Fenced):
            await log.snapshot(ids[2], rids[2], b"c", 6.0, **kw)

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_replay_goes_past_its_first_chunk_of_batches(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        log = _log(c, "o1")
        await log.load_scripts()
        await log.acquire()
        head = ""
        for i in range(130):  # more than batches_after's chunk of 100
            batch = Batch(now=float(i + 1), cur="0-0", items=[], init=cfg if i == 0 else None)
            calls = Calls(c)
            log.queue_commit(calls, head, encode_batch(batch), [])
            head = log.check_commit((await calls.execute())[0])
        await log.release()
        r = runner(c, Clock(1.0))
        assert await r.acquire()
        assert await r.recover() == 130
        assert (r.head, r.last_now) == (head, 130.0)
        rep = await verify_replay(c, "d")
        assert len(rep.batches) == 130 and rep.problems == []

    run(redis_server.url, body)


@pytest.mark.redis
def test_verify_replay_names_each_kind_of_mismatch(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        assert (await verify_replay(c, "d")).problems == [
            "domain 'd': the input log does not start with the first batch"
        ]
        r = runner(c, Clock(10.0))
        await start(r)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(3)])
        await settle(r)
        rep = await verify_replay(c, "d")
        assert rep.problems == [] and rep.config is not None and len(rep.outputs) == 2
        ids = [o.id for o in rep.outputs]
        fields = (await c.xrange("router:{d}:output"))[1][1]
        await r.log.release()
        # a missing entry: fine as a prefix unless strict
        await c.xdel("router:{d}:output", ids[1])
        assert (await verify_replay(c, "d", strict=False)).problems == []
        assert (await verify_replay(c, "d")).problems == [
            "domain 'd': replay gives 2 output entries, the stream holds 1"
        ]
        # an entry too many, or one that differs, or a token going down
        await c.xadd("router:{d}:output", fields, id="9999999999999-0")
        await c.xadd("router:{d}:output", fields, id="9999999999999-1")
        assert (await verify_replay(c, "d", strict=False)).problems == [
            "domain 'd': replay gives 2 output entries, the stream holds 3"
        ]
        await c.xdel("router:{d}:output", "9999999999999-1")
        assert (await verify_replay(c, "d")).problems == []
        bad = dict(fields, ev=pack_events([]))
        await c.xadd("router:{d}:output", bad, id="9999999999999-2")
        bid = fields[b"in"].decode()
        assert (await verify_replay(c, "d", strict=False)).problems == [
            "domain 'd': replay gives 2 output entries, the stream holds 3"
        ]
        await c.xdel("router:{d}:output", "9999999999999-0")
        assert (await verify_replay(c, "d")).problems == [
            f"domain 'd': output entry 1 (batch {bid}) differs from the replay of batch {bid}"
        ]
        await c.xdel("router:{d}:output", "9999999999999-2")
        await c.xadd("router:{d}:output", dict(fields, tok=b"0"), id="9999999999999-3")
        assert (await verify_replay(c, "d")).problems == [
            "domain 'd': output stream has a write with token 0 after one with token 1"
        ]
        entry = (await c.xrange("router:{d}:input"))[-1]
        await c.xadd("router:{d}:input", dict(entry[1], tok=b"0"))
        problems = (await verify_replay(c, "d", strict=False)).problems
        assert (
            "domain 'd': input stream has a write with token 0 after one with token 1" in problems
        )

    run(redis_server.url, body)


@pytest.mark.redis
def test_a_poison_batch_in_a_long_log_is_isolated_on_the_core_before_it(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        log = _log(c, "o1")
        await log.load_scripts()
        await log.acquire()
        head = ""
        ids = []
        for i in range(130):  # the poison batch early in the first chunk of 100, more after
            items = agents_from_config(cfg, 1.0) if i == 0 else [_submit(f"n{i}")]
            if i == 2:
                items = [_submit("poison"), _submit("fine")]
            batch = Batch(now=1.0 + i, cur="0-0", items=items, init=cfg if i == 0 else None)
            calls = Calls(c)
            log.queue_commit(calls, head, encode_batch(batch), [])
            head = log.check_commit((await calls.execute())[0])
            ids.append(head)
        await log.release()  # the owner died before it applied any: nothing published
        r = runner(c, Clock(1.0))
        assert await r.acquire()
        faults.set_poison("poison")
        try:
            assert await r.recover() == 130
            await settle(r)
        finally:
            faults.set_poison(None)
        dead = await r.log.dead_letters()
        assert list(dead) == [ids[2]] and dead[ids[2]].items == (0,)
        assert r.stats.dead_letters == 1 and r.stats.dead_inputs == 1
        rep = await verify_replay(c, "d")
        assert rep.problems == []
        assert [o.input_id for o in rep.outputs] == ids  # each batch's entry, once, in order
        audit = audit_events(rep, cfg)
        assert audit.outcomes == {"DeadLettered": 1} and audit.problems == [
            f"inquiry {x!r} has 0 outcomes, expected exactly 1"
            for x in sorted(["fine"] + [f"n{i}" for i in range(1, 130) if i != 2])
        ]

    run(redis_server.url, body)


def test_the_audit_counts_outcomes_assignments_and_loads_against_caps() -> None:
    cfg = decode_config(CONFIG.encode())
    a = AgentSpec(id="A", skills={}, capacity={"chat": 2, "voice": 1})
    b = AgentSpec(id="B", skills={}, capacity={"chat": 1})
    o = {"queue": "orders", "expires_at": 9.0}
    ev = [
        Offered(at=1, inquiry_id="q1", agent_id="A", **o),
        Assigned(at=1, inquiry_id="q1", agent_id="A", queue="orders", wait_s=0),
        Offered(at=1, inquiry_id="q2", agent_id="A", **o),
        Offered(at=1, inquiry_id="q2", agent_id="B", **o),
        Assigned(at=1, inquiry_id="q2", agent_id="A", queue="orders", wait_s=0),  # B freed
        Offered(at=2, inquiry_id="q3", agent_id="A", **o),  # A holds 3 chats, its cap 2
        OfferDeclined(at=2, inquiry_id="q3", agent_id="A"),
        Completed(at=3, inquiry_id="q1", agent_id="A", queue="orders", handle_s=1, wrap_up_until=3),
        Completed(at=3, inquiry_id="q2", agent_id="A", queue="orders", handle_s=1, wrap_up_until=5),
        WrapUpEnded(at=5, inquiry_id="q2", agent_id="A"),
        Offered(at=5, inquiry_id="q4", agent_id="B", queue="refunds", expires_at=9),
        Requeued(at=5, inquiry_id="q4", queue="refunds", reason="break"),
        Withdrawn(at=6, inquiry_id="q4", queue="refunds"),
        Abandoned(at=6, inquiry_id="q5", queue="orders", wait_s=1),
        Rejected(at=6, inquiry_id="q6", queue="orders", reason="x"),
        Deflected(at=6, inquiry_id="q7", queue="orders", reason="x"),
        Offered(at=7, inquiry_id="q8", agent_id="A", queue="refunds", expires_at=9),
        Abandoned(at=7, inquiry_id="q8", queue="refunds", wait_s=1),
        Assigned(at=7, inquiry_id="q9", agent_id="B", queue="orders", wait_s=0),
        Assigned(at=7, inquiry_id="q9", agent_id="B", queue="orders", wait_s=0),
        Completed(at=8, inquiry_id="q1", agent_id="A", queue="orders", handle_s=1, wrap_up_until=8),
        AgentReady(at=8, agent_id="A"),
    ]
    refusals = [
        Refusal(at=1, input="submit", ref="q10", error="DeadLettered", message="m"),
        Refusal(at=1, input="accept", ref="q11", error="DeadLettered", message="m"),
        Refusal(at=1, input="submit", ref="q12", error="DuplicateInquiry", message="m"),
    ]
    logins = [Request(input=Login(agent=a)), Request(input=Login(agent=b))]
    rep = Replay(
        batches=[("1-0", 1, Batch(now=1, cur="0-0", items=logins, init=cfg))],
        outputs=[OutputEntry(id="2-0", token=1, input_id="1-0", events=ev, refusals=refusals)],
        raw_outputs=[],
        problems=[],
    )
    outcomes = {
        "DeadLettered": 1,
        "Completed": 3,
        "Withdrawn": 1,
        "Abandoned": 2,
        "Rejected": 1,
        "Deflected": 1,
    }
    loads = {"A/chat": 3, "B/chat": 2, "B/voice": 1, "A/voice": 1}
    caps = [
        "agent 'A' holds 3 on 'chat', above its cap 2",
        "agent 'B' holds 2 on 'chat', above its cap 1",
    ]
    audit = audit_events(rep, cfg)
    assert (audit.inquiries, audit.outcomes, audit.assigned, audit.max_load) == (
        10,
        outcomes,
        4,
        loads,
    )
    assert audit.problems == [
        *caps,
        "inquiry 'q1' has 2 outcomes, expected exactly 1",
        "inquiry 'q3' has 0 outcomes, expected exactly 1",
        "inquiry 'q9' has 0 outcomes, expected exactly 1",
        "inquiry 'q9' was assigned 2 times",
    ]
    audit = audit_events(rep, cfg, added=["q1", "q2", "q3", "q5", "q10", "q11", "q13"])
    never_added = ["q4", "q6", "q7", "q8", "q9"]
    assert audit.inquiries == 7 and audit.problems == [
        *caps,
        "inquiry 'q1' has 2 outcomes, expected exactly 1",
        "inquiry 'q11' has 0 outcomes, expected exactly 1",
        "inquiry 'q13' has 0 outcomes, expected exactly 1",
        "inquiry 'q3' has 0 outcomes, expected exactly 1",
        "inquiry 'q9' was assigned 2 times",
        *[f"inquiry {x!r} appears in the outputs but was never added" for x in never_added],
    ]
    # a channel's max_concurrency caps an agent's capacity; an unknown channel keeps it
    from router.durable.audit import _caps

    big = AgentSpec(id="C", skills={}, capacity={"chat": 50, "voice": 3, "video": 2})
    later = Batch(now=2, cur="0-0", items=[Request(input=Login(agent=big))])
    assert _caps([("2-0", 1, later)])["C"] == {"chat": 30, "voice": 1, "video": 2}  # defaults
    assert _caps([("1-0", 1, rep.batches[0][2]), ("2-0", 1, later)])["C"] == {
        "chat": 30,
        "voice": 1,
        "video": 2,
    }


@pytest.mark.redis
def test_when_a_runner_snapshots_what_it_trims_and_its_hand_over(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(100.0)
        r = runner(
            c,
            clock,
            keep_log=False,
            snapshot_every_s=3600.0,
            snapshot_every_batches=2,
            dedupe_window_s=0.0,
            output_retention_s=0.0,
        )
        await r.snapshot()  # no core yet: nothing stored
        assert await c.exists("router:{d}:snapshot") == 0
        assert await r.acquire()
        await r.recover()
        assert not r._snapshot_due()
        await r.cycle(block=False)  # the first batch (the logins): one of two
        assert r._snap_batches == 1 and not r._snapshot_due()
        assert await c.exists("router:{d}:snapshot") == 0
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(2)])
        await r.cycle(block=False)  # reads
        await r.cycle(block=False)  # the second batch: a snapshot in the same cycle
        assert r._snap_batches == 0 and r.stats.snapshots == 1
        snap = await r.log.read_snapshot()
        assert snap is not None and (snap.input_id, snap.cur) == (r.head, r.cur)
        assert r.stats.idem_trimmed == 2  # no dedupe window: the keys up to the cursor
        assert await c.zcard("router:{d}:idem") == 0
        assert r.stats.outputs_trimmed == 1  # no retention: the newest entry only
        assert await c.xlen("router:{d}:output") == 1
        assert r.pending_out == []
        # a snapshot published the pending outputs, so the next commit has none
        await p.submit(Inquiry(id="q9", queue="orders"))
        await r.cycle(block=False)
        await r.cycle(block=False)
        assert r.pending_out and r._snap_batches == 1
        before = await c.xlen("router:{d}:output")
        r.stopping = True
        await r.run()  # no cycle: only the final flush of the pending outputs
        assert r.pending_out == [] and await c.xlen("router:{d}:output") == before + 1
        await r.hand_over()  # a batch since the last snapshot: a snapshot, then the release
        assert r.stats.snapshots == 2 and await c.get("router:{d}:lease") is None
        snap = await r.log.read_snapshot()
        assert snap is not None and snap.input_id == r.head
        # nothing new: hand_over only releases
        r2 = runner(c, clock, owner="p2")
        assert await r2.acquire()
        await r2.recover()
        await r2.hand_over()
        assert r2.stats.snapshots == 0 and await c.get("router:{d}:lease") is None

    run(redis_server.url, body)


@pytest.mark.redis
def test_how_long_a_read_may_block(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        clock = Clock(100.0)
        r = runner(c, clock)
        await start(r)
        assert 499 <= r._block_ms() <= 500  # type: ignore[operator]  # at most 0.5 s
        p = Producer(c, "d")
        await p.submit(Inquiry(id="q1", queue="orders"))
        await settle(r)
        due = r.core.next_deadline()  # type: ignore[union-attr]
        assert due == 102.0  # the offer expires
        clock.t = due - 0.1234
        assert r._block_ms() == 124
        clock.t = due - 0.0004
        assert r._block_ms() == 1
        clock.t = due
        assert r._block_ms() is None
        clock.t = 100.0
        r._renew_at = time.monotonic() + 0.2  # a renewal sooner than the deadline
        assert 150 <= r._block_ms() <= 200  # type: ignore[operator]
        r._renew_at = time.monotonic() - 1.0
        assert r._block_ms() is None

    run(redis_server.url, body)


@pytest.mark.redis
def test_submit_dedupes_within_a_call_bounds_the_backlog_and_packs_any_count(
    redis_server: RedisServer,
) -> None:
    from router.durable.log import DomainFull
    from router.durable.scripts import id_score

    assert id_score("5-3") == 5 * 1024 + 3
    assert id_score("5-5000") == 5 * 1024 + 1023
    assert id_score("5") == 5 * 1024

    async def body(c: Redis) -> None:
        p = Producer(c, "d", default_limit=3, producer="pp")
        res = await p.submit_many(
            [Inquiry(id="a", queue="orders"), (Inquiry(id="b", queue="orders"), "a")]
        )
        assert [r.duplicate for r in res] == [False, True]
        assert res[0].request_id == res[1].request_id  # the same entry
        again = await p.submit(Inquiry(id="c", queue="orders"), key="a")
        assert again.duplicate and again.request_id == res[0].request_id  # from its score
        assert await p.submit_many([Inquiry(id="a", queue="orders")]) == [again]
        assert await p.submit_many([]) == []
        await p.submit_many([Inquiry(id="b", queue="orders"), Inquiry(id="c", queue="orders")])
        assert await c.hget("router:{d}:flow", "added") == b"3"
        with pytest.raises(DomainFull) as e:
            await p.submit(Inquiry(id="d", queue="orders"))
        assert (e.value.domain, e.value.backlog, e.value.limit) == ("d", 3, 3)
        assert str(e.value).startswith(
            "domain 'd' is full: 3 submissions not yet processed, limit 3 (waited "
        )
        assert (await p.submit(Inquiry(id="a", queue="orders"))).duplicate  # dups never full
        await c.hset("router:{d}:flow", "taken", 9)  # more taken than added: no backlog
        with pytest.raises(DomainFull) as e:
            await p.submit_many([Inquiry(id=f"x{i}", queue="orders") for i in range(4)])
        assert (e.value.backlog, e.value.limit) == (0, 3)
        await p.submit_many([Inquiry(id=f"x{i}", queue="orders") for i in range(3)])
        await c.hset("router:{d}:flow", mapping={"added": 0, "taken": 0, "limit": 0})
        for n in (15, 16, 17, 300):  # MessagePack array headers: fixarray, then array 16
            res = await p.submit_many([Inquiry(id=f"n{n}-{i}", queue="orders") for i in range(n)])
            rows = await c.xrange("router:{d}:requests", min=res[0].request_id, max="+")
            (rid, fields), *_ = rows
            good, bad = decode_request(fields, rid.decode())
            assert bad == [] and submissions(fields) == n
            assert [r.input.inquiry.id for r in good] == [f"n{n}-{i}" for i in range(n)]  # type: ignore[attr-defined]
            assert {r.producer for r in good} == {"pp"}

    run(redis_server.url, body)


@pytest.mark.redis
def test_the_dead_stream_is_capped_near_a_thousand_records(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        log = _log(c, "o1")
        await log.load_scripts()
        await log.acquire()
        for i in range(250):
            await log.dead_letter(f"{i + 1}-0", b"", "E", None, [])
        assert await c.xlen("router:{d}:dead") == 250  # far below the cap: every record
        for i in range(250, 1300):
            await log.dead_letter(f"{i + 1}-0", b"", "E", None, [])
        assert 1000 <= await c.xlen("router:{d}:dead") < 1300  # MAXLEN ~ 1000

    run(redis_server.url, body)


@pytest.mark.redis
def test_the_dead_letter_callback_gets_the_batch_its_crash_and_its_counts(
    redis_server: RedisServer,
) -> None:
    async def body(c: Redis) -> None:
        calls: list[tuple[str, str, int, int]] = []
        cfg = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=60_000, keep_log=True, agents_from_config=True)
        r = DomainRunner(
            c, "d", "p1", cfg, opts, clock=Clock(5.0), on_dead_letter=lambda *a: calls.append(a)
        )
        await start(r)
        p = Producer(c, "d")
        faults.set_poison("bad,tick:whole")
        try:
            await p.submit_many([Inquiry(id=x, queue="orders") for x in ("ok1", "bad", "ok2")])
            await c.xadd("router:{d}:requests", {"j": b"[1]"})  # an undecodable request
            await settle(r)
            assert len(calls) == 1
            bid, detail, refused, total = calls[0]
            assert bid == r.head and (refused, total) == (1, 4)
            assert detail.startswith("Traceback (most recent call last):")
            assert detail.endswith("InjectedFault: injected fault: submit 'bad'\n")
            assert (r.stats.dead_letters, r.stats.dead_inputs) == (1, 1)
            await p.submit_many([Inquiry(id=x, queue="orders") for x in ("w1", "whole")])
            await settle(r)
        finally:
            faults.set_poison(None)
        assert len(calls) == 2
        bid, detail, refused, total = calls[1]
        assert bid == r.head and (refused, total) == (2, 2)  # the tick: the whole batch
        assert detail.endswith("injected fault: the tick of a batch that submits 'whole'\n")
        assert (r.stats.dead_letters, r.stats.dead_inputs) == (2, 3)
        dead = await r.log.dead_letters()
        assert dead[bid] == DeadLetter(
            error="InjectedFault: injected fault: the tick of a batch that submits 'whole'"
        )
        rep = await verify_replay(c, "d")
        assert rep.problems == []

    run(redis_server.url, body)


def _knows(core: Router, inquiry_id: str) -> bool:
    try:
        core.inquiry_state(inquiry_id)
    except Exception:
        return False
    return True


def test_isolation_applies_the_good_inputs_before_a_crash_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core = _core()
    original = Router.handle

    def buggy(self: Router, inp: Any, now: float) -> Any:
        if isinstance(inp, Submit) and inp.inquiry.id == "late" and not _knows(self, "a"):
            raise RuntimeError("a bug when 'a' is missing")  # the log says 'a' is there
        return original(self, inp, now)

    try:
        monkeypatch.setattr(Router, "handle", buggy)
    except (TypeError, AttributeError):
        pytest.skip("the compiled Router's methods cannot be patched")
    batch = Batch(now=2.0, cur="2-0", items=[_submit(x) for x in ("a", "bad", "late")])
    faults.set_poison("bad")
    try:
        items, crash = isolate(core, batch)
    finally:
        faults.set_poison(None)
    assert items is not None and [i for i, _ in items] == [1]
    assert str(crash) == "injected fault: submit 'bad'"


def test_isolation_ticks_the_core_and_a_crashing_tick_is_the_whole_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core = _core()
    original = Router.tick

    def buggy(self: Router, now: float) -> Any:
        if _knows(self, "boom"):
            raise RuntimeError("a bug in the tick")
        return original(self, now)

    try:
        monkeypatch.setattr(Router, "tick", buggy)
    except (TypeError, AttributeError):
        pytest.skip("the compiled Router's methods cannot be patched")
    before = core.snapshot()
    batch = Batch(now=2.0, cur="2-0", items=[_submit("a"), _submit("boom")])
    items, crash = isolate(Router.restore(before), batch)
    assert items is None and str(crash) == "a bug in the tick"
    ok = Batch(now=2.0, cur="2-0", items=[_submit("a")])
    assert isolate(Router.restore(before), ok) == (None, None)


def test_the_audit_frees_an_offer_that_ends_without_the_work() -> None:
    cfg = decode_config(CONFIG.encode())
    c = AgentSpec(id="C", skills={}, capacity={"chat": 1})
    o = {"agent_id": "C", "queue": "orders", "expires_at": 9.0}
    ev: list[Any] = []
    for i, end in enumerate(
        [
            OfferDeclined(at=1, inquiry_id="x0", agent_id="C"),
            OfferExpired(at=1, inquiry_id="x1", agent_id="C"),
            OfferRescinded(at=1, inquiry_id="x2", agent_id="C", reason="withdrawn"),
            Requeued(at=1, inquiry_id="x3", queue="orders", reason="break"),
            Abandoned(at=1, inquiry_id="x4", queue="orders", wait_s=1),
            Withdrawn(at=1, inquiry_id="x5", queue="orders"),
        ]
    ):
        ev += [Offered(at=1, inquiry_id=f"x{i}", **o), end]
    ev += [Offered(at=1, inquiry_id="x6", **o)]  # each slot was given back: never above 1
    rep = Replay(
        batches=[("1-0", 1, Batch(now=1, cur="0-0", items=[Request(input=Login(agent=c))]))],
        outputs=[OutputEntry(id="2-0", token=1, input_id="1-0", events=ev, refusals=[])],
        raw_outputs=[],
        problems=[],
    )
    audit = audit_events(rep, cfg, added=["x4", "x5"])
    assert audit.max_load == {"C/chat": 1}
    assert audit.outcomes == {"Abandoned": 1, "Withdrawn": 1}
    assert [p for p in audit.problems if "cap" in p] == []
    # an open offer holds its slot until it ends: two at once pass a cap of 1
    two = [Offered(at=1, inquiry_id=f"y{i}", **o) for i in range(2)]
    rep.outputs = [OutputEntry(id="2-0", token=1, input_id="1-0", events=two, refusals=[])]
    audit = audit_events(rep, cfg)
    assert audit.max_load == {"C/chat": 2}
    assert audit.problems[0] == "agent 'C' holds 2 on 'chat', above its cap 1"
