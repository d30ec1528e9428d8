"""Promises the mutK41 sweep (``router/inputs.py``, the rest of ``router/values.py``) found
untested.

Each test names, in a comment, the mutants it kills (BENCHMARKS.md, mutK41's section).
The inputs' wire form is one promise of ``router/inputs.py``: a struct decoded from JSON
was checked by msgspec against the same constraints the core checks (an id of 1..200
characters, a priority -1000..1000, a level 1..5, no unknown field), so the wire refuses,
naming the field, what the core would refuse; and it takes each bound itself.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, InvalidInput
from router.inputs import Accept, GoOnBreak, check_input_ids, decode_input
from router.values import NO_TAGS, check_id, check_priority, wire_seconds
from tests.helpers import agent, basic, inq, names

# ---------------------------------------------------------------------- inputs.py: the wire

#: the inputs that carry a priority, each with its other required fields
_PRIORITIED: list[dict[str, Any]] = [
    {"type": "update_inquiry", "inquiry_id": "i"},
    {"type": "transfer", "inquiry_id": "i", "queue": "q"},
    {"type": "hand_back", "inquiry_id": "i"},
]


@pytest.mark.parametrize("base", _PRIORITIED, ids=[b["type"] for b in _PRIORITIED])
def test_the_wire_takes_each_priority_bound_and_refuses_one_past(base: dict[str, Any]) -> None:
    # inputs.py:175, :187, :198 (``ge=`` made ``gt=``, ``le=`` made ``lt=``: the wire
    # refused -1000 or 1000, which the core takes)
    for p in (-1000, 1000):
        inp = decode_input(json.dumps({**base, "priority": p}))
        assert inp.priority == p  # type: ignore[union-attr]
        check_input_ids(inp)
        check_priority(p)
    for p, message in ((-1001, "Expected int >= -1000"), (1001, "Expected int <= 1000")):
        with pytest.raises(msgspec.ValidationError) as info:
            decode_input(json.dumps({**base, "priority": p}))
        assert str(info.value) == f"$.priority: {message}"


#: every id field of every input, with the input's other required fields: the wire takes
#: 1..200 characters, as the core's ``check_id`` does
_IDS: list[tuple[dict[str, Any], str]] = [
    ({"type": "withdraw", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "set_ready", "agent_id": "a"}, "agent_id"),
    ({"type": "go_on_break", "agent_id": "a"}, "agent_id"),
    ({"type": "logout", "agent_id": "a"}, "agent_id"),
    ({"type": "accept", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "accept", "inquiry_id": "i"}, "agent_id"),
    ({"type": "decline", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "decline", "inquiry_id": "i"}, "agent_id"),
    ({"type": "complete", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "callback_failed", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "update_inquiry", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "transfer", "inquiry_id": "i", "queue": "q"}, "inquiry_id"),
    ({"type": "transfer", "inquiry_id": "i", "queue": "q"}, "queue"),
    ({"type": "transfer", "inquiry_id": "i", "queue": "q"}, "agent_id"),
    ({"type": "hand_back", "inquiry_id": "i"}, "inquiry_id"),
    ({"type": "hand_back", "inquiry_id": "i"}, "agent_id"),
    ({"type": "heartbeat", "agent_id": "a"}, "agent_id"),
    ({"type": "set_attributes", "agent_id": "a", "attributes": {}}, "agent_id"),
]


@pytest.mark.parametrize(("base", "field"), _IDS, ids=[f"{b['type']}.{f}" for b, f in _IDS])
def test_the_wire_takes_an_id_of_1_to_200_characters_naming_the_field(
    base: dict[str, Any], field: str
) -> None:
    # inputs.py's id fields typed ``str`` instead of ``Name`` (:102 ... :219): the wire
    # took an empty or a too long id, which only the core then refused
    for good in ("x", "x" * 200):
        assert getattr(decode_input(json.dumps({**base, field: good})), field) == good
    for bad, message in (("", "length >= 1"), ("x" * 201, "length <= 200")):
        with pytest.raises(msgspec.ValidationError) as info:
            decode_input(json.dumps({**base, field: bad}))
        assert str(info.value) == f"$.{field}: Expected str of {message}"


#: the wire's other constraints, each the core's too: (input, the whole message)
_WIRE_REFUSED: list[tuple[dict[str, Any], str]] = [
    # inputs.py:78 (``Reason = str``): a break reason of 201 characters
    (
        {"type": "go_on_break", "agent_id": "a", "reason": "x" * 201},
        "$.reason: Expected str of length <= 200",
    ),
    # inputs.py:86 (``forbid_unknown_fields=False``): a misspelt field went unseen
    (
        {"type": "accept", "inquiry_id": "i", "agent": "a"},
        "$: Object contains unknown field agent",
    ),
    # inputs.py:176, :188 (``dict[Name, int]``, ``dict[str, Level]``): a requirement's
    # level, and its skill's name
    (
        {"type": "update_inquiry", "inquiry_id": "i", "requires": {"r": 6}},
        "$.requires[...]: Expected int <= 5",
    ),
    (
        {"type": "update_inquiry", "inquiry_id": "i", "requires": {"": 1}},
        "$.requires: Expected str of length >= 1 (a key)",
    ),
    (
        {"type": "transfer", "inquiry_id": "i", "queue": "q", "requires": {"r": 0}},
        "$.requires[...]: Expected int >= 1",
    ),
    (
        {"type": "transfer", "inquiry_id": "i", "queue": "q", "requires": {"": 1}},
        "$.requires: Expected str of length >= 1 (a key)",
    ),
    # inputs.py:165 (``dict[str, str]``): a hand-over's queues
    (
        {"type": "reconfigure", "config": {}, "hand_over": {"": "a"}},
        "$.hand_over: Expected str of length >= 1 (a key)",
    ),
    (
        {"type": "reconfigure", "config": {}, "hand_over": {"a": ""}},
        "$.hand_over[...]: Expected str of length >= 1",
    ),
    # inputs.py:220 (``dict[str, Any]``): an agent's attributes
    (
        {"type": "set_attributes", "agent_id": "a", "attributes": {"": 1}},
        "$.attributes: Expected str of length >= 1 (a key)",
    ),
    (
        {"type": "set_attributes", "agent_id": "a", "attributes": {"x": None}},
        "$.attributes[...]: Expected bool | int | float | str | array, got null",
    ),
]


@pytest.mark.parametrize(
    ("value", "message"), _WIRE_REFUSED, ids=[str(i) for i in range(len(_WIRE_REFUSED))]
)
def test_the_wire_refuses_what_the_core_would_naming_the_field(
    value: dict[str, Any], message: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        decode_input(json.dumps(value))
    assert str(info.value) == message


# ---------------------------------------------------------------------- values.py


def test_an_infinite_wait_goes_on_the_wire_as_none() -> None:
    # values.py:354 (``seconds <= math.inf``: infinity went out as itself, which JSON lacks)
    assert wire_seconds(math.inf) is None
    assert wire_seconds(12.5) == 12.5
    assert wire_seconds(0.0) == 0.0


def test_no_tags_is_the_default_tags_object() -> None:
    # values.py:224 (``f.name != "tags"``: NO_TAGS the first other field's default, and
    # default tags no longer passed on identity; the same decisions, the promise broken)
    assert Inquiry(id="x", queue="q").tags is NO_TAGS
    assert type(NO_TAGS) is frozenset and not NO_TAGS


#: (a call, the whole message)
_REFUSED: list[tuple[str, Any, str]] = [
    (
        # values.py:121 (a skill's name unchecked in ``_check_skills``)
        "requires a skill named ''",
        lambda r: r.submit(inq("x", requires={"": 1}), 2),
        "requires: must be a non-empty string, got ''",
    ),
    (
        "skills a skill named ''",
        lambda r: r.login(AgentSpec(id="b", skills={"": 1}), 2),
        "skills: must be a non-empty string, got ''",
    ),
    (
        # values.py:252 (an inquiry's tenant unchecked)
        "tenant empty",
        lambda r: r.submit(inq("x", tenant=""), 2),
        "tenant: must be a non-empty string, got ''",
    ),
    (
        "tenant a number",
        lambda r: r.submit(inq("x", tenant=5), 2),
        "tenant: must be a non-empty string, got 5",
    ),
    (
        # values.py:261 (``type(attributes) is dict or attributes``: a falsy non-mapping
        # passed unchecked)
        "inquiry attributes None",
        lambda r: r.submit(inq("x", attributes=None), 2),
        "attributes: must be a mapping of name to value, got None",
    ),
    (
        "inquiry attributes an empty list",
        lambda r: r.submit(inq("x", attributes=[]), 2),
        "attributes: must be a mapping of name to value, got []",
    ),
]


@pytest.mark.parametrize(("case", "call", "message"), _REFUSED, ids=[c[0] for c in _REFUSED])
def test_a_bad_value_is_refused_naming_its_field(case: str, call: Any, message: str) -> None:
    r = basic()
    before = r.snapshot()
    with pytest.raises(InvalidInput) as info:
        call(r)
    assert str(info.value) == message
    assert r.snapshot() == before


def test_an_id_of_200_characters_is_taken_and_201_refused() -> None:
    # values.py:99 (``len(value) >= MAX_NAME``: a 200-character id refused; an inquiry's
    # own id skips the call when it is short enough, so the agent's and an input's show it)
    long = "a" * 200
    assert check_id(long, "id") == long
    r = basic()
    r.login(agent(long, team=long, tenants=frozenset({long})), 0)
    r.submit(inq(long, tenant=long), 1)
    assert names(r.tick(1))[-1] == "Offered"
    r.handle(Accept(inquiry_id=long, agent_id=long), 2)
    assert names(r.tick(2)) == ["Assigned"]
    with pytest.raises(InvalidInput) as info:
        r.login(agent("b" * 201), 2)
    assert str(info.value) == "id: must be at most 200 characters, got 201"


def test_a_break_reason_of_200_characters_is_taken_and_201_refused() -> None:
    # values.py:105 (``len(value) >= MAX_NAME``: a 200-character reason refused)
    r = basic()
    r.login(agent("a1"), 0)
    r.handle(GoOnBreak(agent_id="a1", reason="r" * 200), 1)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in r.tick(1)][-1] == (
        "AgentOnBreak",
        "r" * 200,
    )
    with pytest.raises(InvalidInput) as info:
        r.handle(GoOnBreak(agent_id="a1", reason="r" * 201), 2)
    assert str(info.value) == "reason: must be a string of at most 200 characters"
