"""Directed tests from the mutation sweep of durable mode's exactly-once modules (mutD35).

Each test pins one behaviour of ``router/durable/wire.py``, ``log.py``, ``domain.py``,
``scripts.py`` or ``audit.py`` that a mutant changed without any other test noticing:
the wire's decoders and the names they give, the isolation walk's steps, the key names,
the log's reads and records (against a real ``redis-server``), the lease and the
runner's bookkeeping. The first part needs no Redis.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import Inquiry, decode_config
from router.core import Router
from router.durable import faults
from router.durable.domain import agents_from_config
from router.durable.wire import (
    MAX_UNTYPED_DEPTH,
    Batch,
    DeadLetter,
    DomainKeys,
    Invalid,
    Refusal,
    Request,
    batch_output,
    check_domain_name,
    dead_letter_refusals,
    decode_output,
    decode_request,
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
    assert [(r.ref, r.error) for r in refusals[4:]] == [("a", "DuplicateInquiry")] or [
        r.ref for r in refusals[4:]
    ] == ["a"]
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


def test_isolation_applies_the_good_inputs_again_before_the_tick() -> None:
    core = _core()
    before = core.snapshot()
    # the tick crashes only when "t" is submitted in the batch, and the walk must have
    # re-applied "a" after restoring for the poisoned "p": its final core holds "a"
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
