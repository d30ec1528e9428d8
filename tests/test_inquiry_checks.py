"""The number and tag checks of an inquiry's and an agent's values, at their edges (e2e40).

``router/values.py`` reads a float field unboxed (compiled) and passes an inquiry's tags
left at their default on identity; these cases pin what each check accepts and the
message each refusal gives (the same as before, both builds): ints and floats, zero and
negative zero, NaN and the infinities, a bool, a string; the default tags, an empty
frozenset of the caller's, names, a bad name, not a collection.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from router import AgentSpec, Inquiry, InvalidInput
from router.values import check_agent_spec, check_inquiry
from tests.helpers import basic, inq

NAN, INF = math.nan, math.inf
OK = None

PATIENCE: list[tuple[Any, str | None]] = [
    (30.0, OK),
    (1, OK),
    (1e-300, OK),
    (0.0, "patience_s: must be a finite number > 0, got 0.0"),
    (-0.0, "patience_s: must be a finite number > 0, got -0.0"),
    (0, "patience_s: must be a finite number > 0, got 0"),
    (-1, "patience_s: must be a finite number > 0, got -1"),
    (-2.5, "patience_s: must be a finite number > 0, got -2.5"),
    (True, "patience_s: must be a finite number > 0, got True"),
    (NAN, "patience_s: must be a finite number > 0, got nan"),
    (INF, "patience_s: must be a finite number > 0, got inf"),
    (-INF, "patience_s: must be a finite number > 0, got -inf"),
    ("5", "patience_s: must be a finite number > 0, got '5'"),
]

ARRIVED: list[tuple[Any, str | None]] = [
    (0.0, OK),
    (-3.5, OK),
    (3, OK),
    (NAN, "arrived_at: must be a finite number, got nan"),
    (INF, "arrived_at: must be a finite number, got inf"),
    (-INF, "arrived_at: must be a finite number, got -inf"),
    (False, "arrived_at: must be a finite number, got False"),
    ("1", "arrived_at: must be a finite number, got '1'"),
]

TAGS: list[tuple[Any, str | None]] = [
    (frozenset(), OK),  # the caller's own empty frozenset, not the default's object
    (frozenset({"vip", "heavy"}), OK),
    (["vip"], OK),  # a Python caller's list, set or tuple is taken as the frozenset
    ({"vip", "heavy"}, OK),
    (("heavy",), OK),
    (frozenset({""}), "tags: must be a non-empty string, got ''"),
    (frozenset({"x" * 201}), "tags: must be at most 200 characters, got 201"),
    (5, "tags: must be a set of names, got 5"),
    (None, "tags: must be a set of names, got None"),
]

WEIGHTS: list[tuple[Any, str | None]] = [
    (2, OK),
    (0.5, OK),
    (0.0, "queues.refund: must be a finite number > 0, got 0.0"),
    (0, "queues.refund: must be a finite number > 0, got 0"),
    (-1.0, "queues.refund: must be a finite number > 0, got -1.0"),
    (True, "queues.refund: must be a finite number > 0, got True"),
    (NAN, "queues.refund: must be a finite number > 0, got nan"),
    (INF, "queues.refund: must be a finite number > 0, got inf"),
]


def _refused(call: Any, message: str | None) -> None:
    if message is None:
        call()
        return
    with pytest.raises(InvalidInput) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize(("value", "message"), PATIENCE)
def test_patience(value: Any, message: str | None) -> None:
    _refused(lambda: check_inquiry(inq("x", patience_s=value)), message)
    r = basic()  # and through the core's submit, which reads the checked fields
    _refused(lambda: r.submit(inq("x", patience_s=value), 10.0), message)


@pytest.mark.parametrize(("value", "message"), ARRIVED)
def test_arrived_at(value: Any, message: str | None) -> None:
    _refused(lambda: check_inquiry(inq("x", arrived_at=value)), message)


@pytest.mark.parametrize(("value", "message"), TAGS)
def test_tags(value: Any, message: str | None) -> None:
    _refused(lambda: check_inquiry(inq("x", tags=value)), message)
    r = basic()  # and the core's submit, both builds (compiled, a list was mypyc's TypeError)
    _refused(lambda: r.submit(inq("x", tags=value), 10.0), message)


def test_default_tags_pass() -> None:
    assert check_inquiry(Inquiry(id="x", queue="q")).tags == frozenset()


@pytest.mark.parametrize(("value", "message"), WEIGHTS)
def test_queue_weights(value: Any, message: str | None) -> None:
    spec = AgentSpec(id="a", skills={}, capacity={"voice": 1}, queues={"refund": value})
    _refused(lambda: check_agent_spec(spec, {"voice": 4}), message)
