"""One input vocabulary, values checked at the core's edge.

Every bad value, given through the Router's methods or through ``handle``,
raises a ``UsageError`` whose message names the field, and leaves the router
byte-identical (snapshot equal), strict mode included. The same inputs through
``handle`` and through the methods give the same events.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

import router
from router import (
    AgentSpec,
    ConfigError,
    ImpossibleRequirement,
    Inquiry,
    InvalidInput,
    InvalidMessage,
    Router,
    RouterConfig,
    TimeWentBackwards,
    UnknownId,
    UsageError,
    decode_events,
    encode_events,
)
from router.config import Backpressure, QueueConfig, Routing, Weights
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
    Reconfigure,
    SetReady,
    Submit,
    Transfer,
    UpdateAgent,
    UpdateInquiry,
    Withdraw,
    decode_input,
    encode_input,
)
from tests.helpers import agent, basic, inq

NAN = math.nan
INF = math.inf


def _router(**routing: Any) -> Router:
    r = basic(**routing)
    r.login(agent("a1"), 0)
    r.submit(inq("i1", patience_s=100.0), 5)
    r.submit(inq("i2"), 5)
    r.tick(5)  # i1 offered to a1 (expires at 15), i2 waiting
    return r


# (name, method call, the same as an input for handle, field named in the message)
BAD: list[tuple[str, Callable[[Router], object], Any, str]] = [
    (
        "inquiry id None",
        lambda r: r.submit(Inquiry(id=None, queue="refund"), 6),  # type: ignore[arg-type]
        Submit(inquiry=Inquiry(id=None, queue="refund")),  # type: ignore[arg-type]
        "id",
    ),
    (
        "inquiry id empty",
        lambda r: r.submit(Inquiry(id="", queue="refund"), 6),
        Submit(inquiry=Inquiry(id="", queue="refund")),
        "id",
    ),
    (
        "patience nan",
        lambda r: r.submit(inq("x", patience_s=NAN), 6),
        Submit(inquiry=inq("x", patience_s=NAN)),
        "patience_s",
    ),
    (
        "patience inf",
        lambda r: r.submit(inq("x", patience_s=INF), 6),
        Submit(inquiry=inq("x", patience_s=INF)),
        "patience_s",
    ),
    (
        "patience negative",
        lambda r: r.submit(inq("x", patience_s=-1.0), 6),
        Submit(inquiry=inq("x", patience_s=-1.0)),
        "patience_s",
    ),
    (
        "priority 10**30",
        lambda r: r.submit(inq("x", priority=10**30), 6),
        Submit(inquiry=inq("x", priority=10**30)),
        "priority",
    ),
    (
        "required level 99",
        lambda r: r.submit(inq("x", requires={"refund": 99}), 6),
        Submit(inquiry=inq("x", requires={"refund": 99})),
        "requires.refund",
    ),
    (
        "cost -1",
        lambda r: r.submit(inq("x", cost=-1), 6),
        Submit(inquiry=inq("x", cost=-1)),
        "cost",
    ),
    (
        "arrived_at inf",
        lambda r: r.submit(inq("x", arrived_at=INF), 6),
        Submit(inquiry=inq("x", arrived_at=INF)),
        "arrived_at",
    ),
    (
        "now nan",
        lambda r: r.submit(inq("x"), NAN),
        Submit(inquiry=inq("x")),
        "now",
    ),
    (
        "now inf",
        lambda r: r.submit(inq("x"), INF),
        Submit(inquiry=inq("x")),
        "now",
    ),
    (
        "capacity -1",
        lambda r: r.login(AgentSpec(id="b", capacity={"voice": -1}), 6),
        Login(agent=AgentSpec(id="b", capacity={"voice": -1})),
        "capacity.voice",
    ),
    (
        "capacity above the channel maximum",
        lambda r: r.login(AgentSpec(id="b", capacity={"chat": 31}), 6),
        Login(agent=AgentSpec(id="b", capacity={"chat": 31})),
        "capacity.chat",
    ),
    (
        "skill level 99",
        lambda r: r.login(AgentSpec(id="b", skills={"refund": 99}), 6),
        Login(agent=AgentSpec(id="b", skills={"refund": 99})),
        "skills.refund",
    ),
    (
        "wrap_up_s nan",
        lambda r: r.login(AgentSpec(id="b", wrap_up_s=NAN), 6),
        Login(agent=AgentSpec(id="b", wrap_up_s=NAN)),
        "wrap_up_s",
    ),
    (
        "shift_end nan",
        lambda r: r.login(AgentSpec(id="b", shift_end=NAN), 6),
        Login(agent=AgentSpec(id="b", shift_end=NAN)),
        "shift_end",
    ),
    (
        "agent id empty",
        lambda r: r.login(AgentSpec(id=""), 6),
        Login(agent=AgentSpec(id="")),
        "id",
    ),
    (
        "queue weight 0",
        lambda r: r.login(AgentSpec(id="b", queues={"refund": 0.0}), 6),
        Login(agent=AgentSpec(id="b", queues={"refund": 0.0})),
        "queues.refund",
    ),
    (
        "accept id None",
        lambda r: r.accept(None, 6),  # type: ignore[arg-type]
        Accept(inquiry_id=None),  # type: ignore[arg-type]
        "inquiry_id",
    ),
    (
        "accept agent id empty",
        lambda r: r.accept("i1", 6, agent_id=""),
        Accept(inquiry_id="i1", agent_id=""),
        "agent_id",
    ),
    (
        "decline id 5",
        lambda r: r.decline(5, 6),  # type: ignore[arg-type]
        Decline(inquiry_id=5),  # type: ignore[arg-type]
        "inquiry_id",
    ),
    (
        "complete id None",
        lambda r: r.complete(None, 6),  # type: ignore[arg-type]
        Complete(inquiry_id=None),  # type: ignore[arg-type]
        "inquiry_id",
    ),
    (
        "withdraw id empty",
        lambda r: r.withdraw("", 6),
        Withdraw(inquiry_id=""),
        "inquiry_id",
    ),
    (
        "callback_failed id None",
        lambda r: r.callback_failed(None, 6),  # type: ignore[arg-type]
        CallbackFailed(inquiry_id=None),  # type: ignore[arg-type]
        "inquiry_id",
    ),
    (
        "set_ready id None",
        lambda r: r.set_ready(None, 6),  # type: ignore[arg-type]
        SetReady(agent_id=None),  # type: ignore[arg-type]
        "agent_id",
    ),
    (
        "break reason empty",
        lambda r: r.go_on_break("a1", 6, ""),
        GoOnBreak(agent_id="a1", reason=""),
        "reason",
    ),
    (
        "break reason blank",
        lambda r: r.go_on_break("a1", 6, " \t"),
        GoOnBreak(agent_id="a1", reason=" \t"),
        "reason",
    ),
    (
        "break reason None",
        lambda r: r.go_on_break("a1", 6, None),  # type: ignore[arg-type]
        GoOnBreak(agent_id="a1", reason=None),  # type: ignore[arg-type]
        "reason",
    ),
    (
        "break reason too long",
        lambda r: r.go_on_break("a1", 6, "x" * 201),
        GoOnBreak(agent_id="a1", reason="x" * 201),
        "reason",
    ),
    (
        "logout id None",
        lambda r: r.logout(None, 6),  # type: ignore[arg-type]
        Logout(agent_id=None),  # type: ignore[arg-type]
        "agent_id",
    ),
    (
        "update priority 10**30",
        lambda r: r.update_inquiry("i2", 6, priority=10**30),
        UpdateInquiry(inquiry_id="i2", priority=10**30),
        "priority",
    ),
    (
        "update required level 99",
        lambda r: r.update_inquiry("i2", 6, requires={"refund": 99}),
        UpdateInquiry(inquiry_id="i2", requires={"refund": 99}),
        "requires.refund",
    ),
    (
        "update id None",
        lambda r: r.update_inquiry(None, 6, priority=1),  # type: ignore[arg-type]
        UpdateInquiry(inquiry_id=None, priority=1),  # type: ignore[arg-type]
        "inquiry_id",
    ),
    (
        "transfer queue empty",
        lambda r: r.transfer("i2", "", 6),
        Transfer(inquiry_id="i2", queue=""),
        "queue",
    ),
    (
        "transfer priority nan",
        lambda r: r.transfer("i2", "vip", 6, priority=NAN),  # type: ignore[arg-type]
        Transfer(inquiry_id="i2", queue="vip", priority=NAN),  # type: ignore[arg-type]
        "priority",
    ),
    (
        "transfer to another channel",
        lambda r: r.transfer("i2", "chat", 6),
        Transfer(inquiry_id="i2", queue="chat"),
        "queue",
    ),
    (
        "hand back agent id empty",
        lambda r: r.hand_back("i1", 6, agent_id=""),
        HandBack(inquiry_id="i1", agent_id=""),
        "agent_id",
    ),
    (
        "hand back priority high",
        lambda r: r.hand_back("i1", 6, priority="high"),  # type: ignore[arg-type]
        HandBack(inquiry_id="i1", priority="high"),  # type: ignore[arg-type]
        "priority",
    ),
    (
        "update agent capacity -1",
        lambda r: r.update_agent(AgentSpec(id="a1", capacity={"voice": -1}), 6),
        UpdateAgent(agent=AgentSpec(id="a1", capacity={"voice": -1})),
        "capacity.voice",
    ),
    (
        "update agent units 0",
        lambda r: r.update_agent(AgentSpec(id="a1", units=0), 6),
        UpdateAgent(agent=AgentSpec(id="a1", units=0)),
        "units",
    ),
    (
        "heartbeat id None",
        lambda r: r.heartbeat(None, 6),  # type: ignore[arg-type]
        Heartbeat(agent_id=None),  # type: ignore[arg-type]
        "agent_id",
    ),
    (
        "not an input",
        lambda r: r.handle(inq("x"), 6),  # type: ignore[call-overload]
        inq("x"),
        "input",
    ),
]


#: arguments of a type the method's signature excludes (None or 5 where it says ``str``)
WRONG_TYPE = {
    "accept id None",
    "decline id 5",
    "complete id None",
    "callback_failed id None",
    "set_ready id None",
    "logout id None",
    # issue 16's in-queue changes and heartbeats: typed arguments the same way
    "update id None",
    "transfer priority nan",
    "hand back priority high",
    "heartbeat id None",
    "break reason None",
}


@pytest.mark.parametrize("via", ["method", "handle"])
@pytest.mark.parametrize(("name", "call", "input", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_refused_naming_the_field_and_change_nothing(
    name: str, call: Callable[[Router], object], input: Any, field: str, via: str
) -> None:
    r = _router()
    before = r.snapshot()
    now = NAN if name == "now nan" else INF if name == "now inf" else 6.0
    if via == "method" and name in WRONG_TYPE and router.compiled:
        # a compiled method refuses an argument of the wrong type itself, before anything
        # changes: mypyc's TypeError, not a UsageError naming the field (docs/compiled.md)
        with pytest.raises(TypeError):
            call(r)
        assert r.snapshot() == before
        return
    with pytest.raises(InvalidInput) as info:
        if via == "method":
            call(r)
        else:
            r.handle(input, now)
    assert isinstance(info.value, UsageError)
    assert info.value.field == field
    assert re.match(rf"^{re.escape(field)}: ", str(info.value)), str(info.value)
    assert r.snapshot() == before
    r.accept("i1", 6)  # still usable
    assert any(type(e).__name__ == "Assigned" for e in r.tick(6))


def test_a_bool_where_a_number_belongs() -> None:
    """A bool is not a number to the checks (``True`` is an int to Python). Read as ``Any``
    (an inquiry's or an agent's fields, priorities), both builds refuse it naming the field;
    a compiled method's ``float``/``int`` parameter (``now``, ``before``, ``position``) takes
    it as the number 1 or 0 on entry, as mypyc does for an int (docs/compiled.md), so only the
    pure build can refuse it there. Nothing changes either way."""
    r = _router()
    before = r.snapshot()
    for call, field in (
        (lambda: r.submit(inq("x", patience_s=True), 6), "patience_s"),
        (lambda: r.submit(inq("x", priority=True), 6), "priority"),
        (lambda: r.update_inquiry("i2", 6, priority=True), "priority"),
        (lambda: r.login(agent("a2", voice=True), 6), "capacity.voice"),
        (lambda: r.login(agent("a2", wrap_up_s=False), 6), "wrap_up_s"),
    ):
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.field == field
    if router.compiled:
        with pytest.raises(TimeWentBackwards, match=r"^now=1.0 is earlier than .* 5.0$"):
            r.tick(True)  # type: ignore[arg-type]
        assert r.next_deadline(True) == r.next_deadline(1.0)  # type: ignore[arg-type]
        assert r.expected_wait("refund", True) == r.expected_wait("refund", 1)  # type: ignore[arg-type]
        assert Router(r.config, now=True).now == 1.0
    else:
        for call, field in (
            (lambda: r.tick(True), "now"),  # type: ignore[arg-type]
            (lambda: r.next_deadline(True), "before"),  # type: ignore[arg-type]
            (lambda: r.expected_wait("refund", True), "position"),  # type: ignore[arg-type]
        ):
            with pytest.raises(InvalidInput, match=rf"^{field}: must be "):
                call()
        with pytest.raises(InvalidInput, match=r"^now: must be a finite number, got True$"):
            Router(r.config, now=True)
    assert r.snapshot() == before


def test_values_are_checked_before_due_deadlines_fire() -> None:
    r = _router()  # i1's offer expires at 15
    before = r.snapshot()
    with pytest.raises(InvalidInput, match=r"^patience_s: must be a finite number > 0, got nan$"):
        r.submit(inq("x", patience_s=NAN), 20)
    assert r.snapshot() == before


def test_nan_patience_never_reaches_the_deadlines() -> None:
    r = _router()
    with pytest.raises(InvalidInput):
        r.submit(inq("x", patience_s=NAN), 6)
    deadline = r.next_deadline()
    assert deadline is not None and math.isfinite(deadline)


def test_strict_refusal_leaves_the_router_byte_identical() -> None:
    r = basic(strict=True)
    r.login(agent("junior", level=2), 0)
    before = r.snapshot()
    for via in ("method", "handle"):
        with pytest.raises(ImpossibleRequirement):
            if via == "method":
                r.submit(inq("v1", queue="vip"), 1)
            else:
                r.handle(Submit(inquiry=inq("v1", queue="vip")), 1)
        assert r.snapshot() == before
    # a possible one still goes in, with the next sequence number
    assert r.submit(inq("r1"), 1).admitted


def test_config_built_in_python_is_checked_in_one_round() -> None:
    cfg = RouterConfig(
        queues=[
            QueueConfig(name="a", priority=10**30),
            QueueConfig(name="b", channel="fax"),
        ],
        routing=Routing(offer_timeout_s=NAN),
    )
    with pytest.raises(ConfigError) as info:
        Router(cfg)
    assert info.value.problems == [
        "$.routing.offer_timeout_s: must be a finite number, got nan",
        "$.queues[0].priority: Expected int <= 1000",
    ]
    semantic = RouterConfig(
        queues=[QueueConfig(name="a"), QueueConfig(name="a", channel="fax")],
        backpressure=Backpressure(policy="reject_when_full"),
    )
    with pytest.raises(ConfigError) as info:
        Router(semantic)
    assert info.value.problems == [
        "$.queues[1].name: duplicate queue name 'a' (also $.queues[0])",
        "$.queues[1].channel: unknown channel 'fax'; known: chat, email, task, voice",
        "$.backpressure.policy: reject_when_full needs a bound: set $.backpressure.max_queue "
        "or max_queue on a queue",
    ]


def test_router_refuses_a_nan_start_time() -> None:
    with pytest.raises(InvalidInput, match=r"^now: must be a finite number, got nan$"):
        Router(now=NAN)


def test_reconfigure_takes_plain_data_and_names_every_problem() -> None:
    r = _router()
    before = r.snapshot()
    with pytest.raises(ConfigError) as info:
        r.handle(Reconfigure(config={"queues": [{"name": "a", "priority": "high"}]}), 6)
    assert info.value.problems == ["$.queues[0].priority: Expected int, got str"]
    assert r.snapshot() == before
    version = r.handle(
        Reconfigure(config=msgspec.to_builtins(r.config), hand_over=None),
        6,
    )
    assert version == 2


def _bad_shapes() -> list[tuple[RouterConfig, str]]:
    """Configs built in Python with a value of the wrong kind where a table belongs (a
    dict for ``Weights``, as the file's inline table reads) or where a value must be."""
    q = QueueConfig(name="refund")
    return [
        (
            RouterConfig(queues=[q], routing=Routing(weights={"load": 2.0})),  # type: ignore[arg-type]
            "$.routing.weights: must be a router.config.Weights, got dict",
        ),
        (
            RouterConfig(queues=[QueueConfig(name="refund", weights={})]),  # type: ignore[arg-type]
            "$.queues[0].weights: must be a router.config.Weights, got dict",
        ),
        (
            RouterConfig(queues=[{"name": "refund"}]),  # type: ignore[list-item]
            "$.queues[0]: must be a router.config.QueueConfig, got dict",
        ),
        (
            RouterConfig(queues=[q], backpressure=Backpressure(surge={})),  # type: ignore[arg-type]
            "$.backpressure.surge: must be a router.config.SurgeConfig, got dict",
        ),
        (
            RouterConfig(queues=[q], routing=Routing(clock=None)),  # type: ignore[arg-type]
            "$.routing.clock: Expected object, got null",
        ),
    ]


def test_a_config_with_a_dict_where_a_table_belongs_is_refused_naming_it() -> None:
    for cfg, problem in _bad_shapes():
        with pytest.raises(ConfigError) as info:
            Router(cfg)
        assert info.value.problems == [problem]


def test_reconfigure_refuses_a_badly_shaped_config_and_stays_usable() -> None:
    r = _router()
    before = r.snapshot()
    for cfg, problem in _bad_shapes():
        with pytest.raises(ConfigError) as info:
            r.reconfigure(cfg, 6)
        assert info.value.problems == [problem]
        assert r.snapshot() == before
    assert r.submit(inq("after"), 6).admitted  # not RouterBroken


def test_the_router_keeps_its_own_copy_of_the_config() -> None:
    """A config object edited after ``Router(cfg)`` or ``reconfigure(cfg)`` is the caller's:
    the router runs (and snapshots) the config it checked (user51: a NaN weight set on the
    caller's object reached the scores unchecked)."""
    cfg = RouterConfig(
        queues=[QueueConfig(name="refund", channel="chat")], routing=Routing(trace=True)
    )
    r = Router(cfg)
    before = r.snapshot()
    cfg.routing.weights.load = NAN
    cfg.routing.offer_timeout_s = 5.0
    assert r.snapshot() == before
    assert r.config.routing.weights.load == 1.0
    r.login(AgentSpec(id="a1", capacity={"chat": 3}), 0)
    r.submit(inq("c1", queue="refund"), 1)
    offered = [e for e in r.tick(1) if isinstance(e, router.Offered)]
    assert offered[0].expires_at == 31.0
    assert offered[0].explanation is not None
    assert math.isfinite(offered[0].explanation.chosen.score)
    new = RouterConfig(
        queues=[QueueConfig(name="refund", channel="chat")],
        routing=Routing(trace=True, weights=Weights(load=3.0)),
    )
    r.reconfigure(new, 2)
    new.routing.weights.load = NAN
    assert r.config.routing.weights.load == 3.0


def _script() -> list[Any]:
    return [
        (0.0, Login(agent=agent("a1"))),
        (0.0, Login(agent=agent("a2", level=4))),
        (1.0, Submit(inquiry=inq("c1"))),
        (1.0, Submit(inquiry=inq("c2", queue="vip"))),
        (1.0, None),
        (2.0, Decline(inquiry_id="c2", agent_id="a2")),
        (2.0, Accept(inquiry_id="c1")),
        (2.0, None),
        (3.0, GoOnBreak(agent_id="a1", reason="lunch")),
        (3.0, SetReady(agent_id="a1")),
        (4.0, Complete(inquiry_id="c1")),
        (4.0, None),
        (5.0, Submit(inquiry=inq("c3", patience_s=30.0))),
        (5.0, Withdraw(inquiry_id="c3")),
        (6.0, Logout(agent_id="a2")),
        (7.0, None),
        (7.0, Submit(inquiry=inq("c4"))),
        (7.0, Submit(inquiry=inq("c5"))),
        (7.0, UpdateInquiry(inquiry_id="c5", priority=3)),
        (7.0, Heartbeat(agent_id="a1")),
        (7.0, None),
        (8.0, Accept(inquiry_id="c5", agent_id="a1")),
        (8.0, None),
        (9.0, HandBack(inquiry_id="c5", agent_id="a1", priority=4)),
        (9.0, None),
        (10.0, Login(agent=agent("a3", level=2))),
        (10.0, Transfer(inquiry_id="c4", queue="vip")),
        (10.0, UpdateAgent(agent=agent("a3", level=5))),
        (11.0, None),
    ]


def _as_call(r: Router, inp: Any, now: float) -> None:
    if isinstance(inp, Submit):
        r.submit(inp.inquiry, now)
    elif isinstance(inp, Login):
        r.login(inp.agent, now)
    elif isinstance(inp, Accept):
        r.accept(inp.inquiry_id, now, inp.agent_id)
    elif isinstance(inp, Decline):
        r.decline(inp.inquiry_id, now, inp.agent_id)
    elif isinstance(inp, Complete):
        r.complete(inp.inquiry_id, now)
    elif isinstance(inp, Withdraw):
        r.withdraw(inp.inquiry_id, now)
    elif isinstance(inp, GoOnBreak):
        r.go_on_break(inp.agent_id, now, inp.reason)
    elif isinstance(inp, SetReady):
        r.set_ready(inp.agent_id, now)
    elif isinstance(inp, Logout):
        r.logout(inp.agent_id, now)
    elif isinstance(inp, UpdateInquiry):
        r.update_inquiry(inp.inquiry_id, now, inp.priority, inp.requires)
    elif isinstance(inp, Transfer):
        r.transfer(
            inp.inquiry_id,
            inp.queue,
            now,
            agent_id=inp.agent_id,
            priority=inp.priority,
            requires=inp.requires,
        )
    elif isinstance(inp, HandBack):
        r.hand_back(inp.inquiry_id, now, inp.agent_id, priority=inp.priority)
    elif isinstance(inp, UpdateAgent):
        r.update_agent(inp.agent, now)
    elif isinstance(inp, Heartbeat):
        r.heartbeat(inp.agent_id, now)
    else:
        raise AssertionError(inp)


def test_handle_and_the_methods_are_the_same_inputs() -> None:
    by_handle, by_method = basic(), basic()
    out_h: list[Any] = []
    out_m: list[Any] = []
    for now, inp in _script():
        if inp is None:
            out_h += by_handle.tick(now)
            out_m += by_method.tick(now)
        else:
            # through the wire form too: encode, decode, handle
            by_handle.handle(decode_input(encode_input(inp)), now)
            _as_call(by_method, inp, now)
    assert encode_events(out_h) == encode_events(out_m)
    assert by_handle.snapshot() == by_method.snapshot()
    assert {type(e).__name__ for e in out_h} >= {
        "Offered",
        "Assigned",
        "Completed",
        "Withdrawn",
        "InquiryUpdated",
        "Requeued",
        "Transferred",
        "AgentUpdated",
    }


def test_every_input_round_trips_through_json() -> None:
    inputs = [inp for _, inp in _script() if inp is not None]
    inputs += [
        CallbackFailed(inquiry_id="c1"),
        Reconfigure(config={"queues": [{"name": "a"}]}, hand_over={"b": "a"}),
    ]
    for inp in inputs:
        assert decode_input(encode_input(inp)) == inp
    assert encode_input(Accept(inquiry_id="c1")) == b'{"type":"accept","inquiry_id":"c1"}'


def test_a_bad_wire_input_names_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"patience_s"):
        decode_input(b'{"type":"submit","inquiry":{"id":"x","queue":"q","patience_s":-1}}')
    with pytest.raises(msgspec.ValidationError, match=r"Invalid value 'teleport'"):
        decode_input(b'{"type":"teleport"}')


def test_a_message_decode_input_cannot_read_raises_invalid_message_naming_the_path() -> None:
    """``decode_input`` (and ``decode_events``) raise the project's ``InvalidMessage``: an
    ``InvalidInput`` whose field is msgspec's path, and still a ``msgspec.ValidationError``
    (a ``ValueError``) for callers that catch msgspec's errors."""
    cases: list[tuple[Any, str, str]] = [
        (b'{"type":"submit","inquiry":{"id":"x","queue":"q","patience_s":-1}}',
         "$.inquiry.patience_s", "Expected float > 0.0"),
        (b'{"type":"teleport"}', "$.type", "Invalid value 'teleport'"),
        (b'{"type":"accept"}', "$", "Object missing required field inquiry_id"),
        (b"[1]", "$", "Expected object, got array"),
        (b'{"type":', "$", "Input data was truncated"),
        (b"", "$", "Input data was truncated"),
        ("\x00", "$", "JSON is malformed"),
        (None, "data", "must be bytes or str, got NoneType"),
        (7, "data", "must be bytes or str, got int"),
    ]  # fmt: skip
    for data, field, problem in cases:
        with pytest.raises(InvalidMessage) as info:
            decode_input(data)
        err = info.value
        assert isinstance(err, InvalidInput) and isinstance(err, msgspec.ValidationError)
        assert err.field == field, (data, str(err))
        assert err.problem.startswith(problem), (data, str(err))
        assert str(err).startswith(f"{field}: {problem}")
    with pytest.raises(InvalidMessage, match=r"^\$\[0\]\.type: Invalid value 'fly'"):
        decode_events(b'[{"type":"fly"}]')


#: every public query of the core that takes an id (or a queue name), with the argument
QUERIES: list[tuple[str, Callable[[Router, Any], object], str]] = [
    ("holds inquiry", lambda r, x: r.holds(x, "a1"), "inquiry_id"),
    ("holds agent", lambda r, x: r.holds("i1", x), "agent_id"),
    ("offered_to", lambda r, x: r.offered_to(x), "inquiry_id"),
    ("inquiry_state", lambda r, x: r.inquiry_state(x), "inquiry_id"),
    ("agent_of", lambda r, x: r.agent_of(x), "inquiry_id"),
    ("agent_spec", lambda r, x: r.agent_spec(x), "agent_id"),
    ("agent_statistics", lambda r, x: r.agent_statistics(x), "agent_id"),
    ("has_room", lambda r, x: r.has_room(x), "queue"),
    ("queue_length", lambda r, x: r.queue_length(x), "queue"),
    ("queue_holds", lambda r, x: r.queue_holds(x), "queue"),
    ("queue_holdings", lambda r, x: r.queue_holdings(x), "queue"),
    ("expected_wait", lambda r, x: r.expected_wait(x, 1), "queue"),
]


@pytest.mark.parametrize(("name", "query", "field"), QUERIES, ids=[q[0] for q in QUERIES])
def test_a_query_given_an_id_that_is_no_str_raises_invalid_input_on_both_builds(
    name: str, query: Callable[[Router, Any], object], field: str
) -> None:
    """The queries are not the hot path: their id parameters take any object, so the
    compiled build refuses a wrong type as the pure one does (docs/compiled.md)."""
    r = _router()
    before = r.snapshot()
    for bad in (None, 7, b"i1", ["i1"], True):
        with pytest.raises(InvalidInput) as info:
            query(r, bad)
        assert info.value.field == field, (name, bad)
        assert str(info.value) == f"{field}: must be a non-empty string, got {bad!r}"
    assert r.snapshot() == before
    # a str is an answer (or, for an id the router does not know, UnknownId), as before
    assert r.holds("i1", "a1") and not r.holds("i2", "a1") and not r.holds("nobody", "a1")
    assert r.offered_to("i1") == ["a1"] and r.inquiry_state("i2") == "waiting"
    with pytest.raises(UnknownId):
        r.inquiry_state("nobody")


def test_ids_are_opaque_strings_compared_exactly_and_a_break_reason_must_say_why() -> None:
    """user52: an id is any string of 1..200 characters, never trimmed (whitespace is part
    of it: `" a"` and `"a"` are two inquiries, `" "` one more); an empty id is refused.
    A ``go_on_break`` reason is free text that events carry (``AgentOnBreak``, the
    ``Requeued`` of the agent's open offers): empty or whitespace-only says nothing and
    is refused naming ``reason``, the router unchanged."""
    r = _router()
    for iid in ("a", " a", " "):
        assert r.submit(inq(iid), 6).admitted
    assert r.queue_length("refund") == 4  # i2 and the three
    for iid in ("a", " a", " "):
        assert r.inquiry_state(iid) == "waiting"
        r.withdraw(iid, 6)
    r.login(agent(" "), 6)
    assert " " in r.agent_ids()
    before = r.snapshot()
    for reason in ("", " ", "\n\t", "\u3000"):
        with pytest.raises(InvalidInput) as info:
            r.go_on_break("a1", 7, reason)
        assert str(info.value) == (
            f"reason: must say why: not empty or only whitespace, got {reason!r}"
        )
        assert r.snapshot() == before
    r.go_on_break("a1", 7, " lunch ")
    ev = r.tick(7)
    assert [(type(e).__name__, e.reason) for e in ev if hasattr(e, "reason")] == [
        ("Requeued", " lunch "),
        ("AgentOnBreak", " lunch "),
    ]


@pytest.mark.parametrize("value", [None, "x", math.nan, {}, [], inq("x"), b"\x00"])
def test_encode_input_refuses_what_is_no_input_naming_it(value: object) -> None:
    """user52: ``encode_input`` wrote any value msgspec can encode (``b'null'`` for None
    or NaN, ``b'"x"'``), bytes ``decode_input`` then refuses far from the mistake."""
    with pytest.raises(InvalidInput, match=r"^input: must be an input of router\.inputs, got "):
        encode_input(value)  # type: ignore[arg-type]
    assert decode_input(encode_input(GoOnBreak(agent_id="a1"))) == GoOnBreak(agent_id="a1")


@pytest.mark.parametrize("reason", ["", " ", "\n\t", "\u3000"])
def test_a_break_reason_from_the_wire_that_says_nothing_is_refused_at_decode(reason: str) -> None:
    """user53: ``decode_input`` read ``{"type": "go_on_break", "reason": ""}`` and the core
    then refused it naming ``reason``; the wire names its fields by path, so decoding
    refuses it naming ``$.reason`` (an ``InvalidMessage``, as msgspec's own refusals).
    The Python caller's message still names ``reason``."""
    data = msgspec.json.encode({"type": "go_on_break", "agent_id": "a1", "reason": reason})
    with pytest.raises(InvalidMessage) as info:
        decode_input(data)
    assert info.value.field == "$.reason"
    assert str(info.value) == (
        f"$.reason: must say why: not empty or only whitespace, got {reason!r}"
    )
    good = decode_input(b'{"type": "go_on_break", "agent_id": "a1", "reason": " lunch "}')
    assert good == GoOnBreak(agent_id="a1", reason=" lunch ")
    assert decode_input(b'{"type": "go_on_break", "agent_id": "a1"}').reason == "break"
    r = _router()
    with pytest.raises(InvalidInput) as py:
        r.go_on_break("a1", 7, reason)
    assert py.value.field == "reason"
