"""Directed tests from the mutation sweep of ``router/events.py`` (mutM43).

The events are the core's answer to its users: their classes, fields, defaults, the JSON
``encode_events`` writes and what ``decode_events`` reads back are a wire format. Each test
pins a part of it that a mutant changed without any other test noticing.
"""

from __future__ import annotations

import gc
import typing
from typing import Any

import msgspec
import pytest

from router import events as E
from router.events import (
    AgentReady,
    Assigned,
    Explanation,
    FeatureScore,
    QueueClosed,
    Reconfigured,
    decode_events,
    encode_events,
)

# every event class: (required fields in encoding order, optional fields and their defaults)
SCHEMA: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "Abandoned": (("inquiry_id", "queue", "wait_s", "at"), {"reason": "", "version": 0}),
    "AgentAttributesSet": (("agent_id", "pools", "at"), {"version": 0}),
    "AgentAway": (("agent_id", "reason", "at"), {"version": 0}),
    "AgentDraining": (("agent_id", "due", "at"), {"version": 0}),
    "AgentLoggedIn": (("agent_id", "at"), {"version": 0}),
    "AgentLoggedOut": (("agent_id", "at"), {"version": 0}),
    "AgentOnBreak": (("agent_id", "reason", "at"), {"until": None, "version": 0}),
    "AgentReady": (("agent_id", "at"), {"version": 0}),
    "AgentUpdated": (("agent_id", "at"), {"version": 0}),
    "Assigned": (
        ("inquiry_id", "agent_id", "queue", "wait_s", "at"),
        {"explanation": None, "version": 0},
    ),
    "BreakDeferred": (("agent_id", "due", "reason", "at"), {"version": 0}),
    "CallbackScheduled": (
        ("inquiry_id", "queue", "expected_wait_s", "at"),
        {"reason": "", "version": 0},
    ),
    "Completed": (
        ("inquiry_id", "agent_id", "queue", "handle_s", "wrap_up_until", "at"),
        {"version": 0},
    ),
    "CooldownStarted": (
        ("agent_id", "inquiry_id", "until", "off", "reason", "at"),
        {"version": 0},
    ),
    "DeclinesForgotten": (("inquiry_id", "queue", "agents", "at"), {"version": 0}),
    "Deflected": (("inquiry_id", "queue", "reason", "at"), {"version": 0}),
    "InquiryUpdated": (("inquiry_id", "queue", "priority", "at"), {"version": 0}),
    "OfferDeclined": (("inquiry_id", "agent_id", "at"), {"version": 0}),
    "OfferExpired": (("inquiry_id", "agent_id", "at"), {"version": 0}),
    "OfferRescinded": (
        ("inquiry_id", "agent_id", "reason", "at"),
        {"accepted_by": None, "version": 0},
    ),
    "Offered": (
        ("inquiry_id", "agent_id", "queue", "expires_at", "at"),
        {"explanation": None, "version": 0},
    ),
    "Overflowed": (("inquiry_id", "from_queue", "to_queue", "reason", "at"), {"version": 0}),
    "QueueClosed": (("queue", "at"), {"outcomes": 0, "version": 0}),
    "QueueOpened": (("queue", "at"), {"version": 0}),
    "Queued": (("inquiry_id", "queue", "position", "expected_wait_s", "at"), {"version": 0}),
    "Reconfigured": (
        ("at",),
        {"answer_targets": (), "channels": (), "handed_over": 0, "rejected": 0, "version": 0},
    ),
    "Rejected": (("inquiry_id", "queue", "reason", "at"), {"version": 0}),
    "Requeued": (("inquiry_id", "queue", "reason", "at"), {"version": 0}),
    "SurgeEnded": (("reason", "at"), {"version": 0}),
    "SurgeStarted": (("reason", "at"), {"version": 0}),
    "TaskExpired": (("inquiry_id", "queue", "wait_s", "reason", "at"), {"version": 0}),
    "Transferred": (
        ("inquiry_id", "from_queue", "to_queue", "at"),
        {"agent_id": None, "version": 0},
    ),
    "Withdrawn": (("inquiry_id", "queue", "at"), {"version": 0}),
    "WrapUpEnded": (("inquiry_id", "agent_id", "at"), {"version": 0}),
}

_CLASSES = sorted(
    (
        v
        for v in vars(E).values()
        if isinstance(v, type) and issubclass(v, E._Ev) and v is not E._Ev
    ),
    key=lambda c: c.__name__,
)


def _value(t: Any) -> Any:
    """A value of a required field's type (``float | None`` gets the float)."""
    return {str: "s", float: 1.5, int: 2, float | None: 2.5}[t]


def _one(cls: type) -> Any:
    fields = msgspec.structs.fields(cls)
    return cls(**{f.name: _value(f.type) for f in fields if f.required}, version=3)


def test_every_event_class_is_in_the_union_with_its_fields_and_defaults() -> None:
    assert set(_CLASSES) == set(typing.get_args(E.Event)) and len(_CLASSES) == 34
    schema = {
        c.__name__: (
            tuple(f.name for f in msgspec.structs.fields(c) if f.required),
            {f.name: f.default for f in msgspec.structs.fields(c) if not f.required},
        )
        for c in _CLASSES
    }
    assert schema == SCHEMA


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
def test_every_event_round_trips_tagged_and_is_frozen_and_gc_free(cls: type) -> None:
    ev = _one(cls)
    data = encode_events([ev])
    assert data.startswith(b'[{"type":"' + cls.__name__.encode() + b'",')
    (back,) = decode_events(data)
    assert back == ev and back.version == 3 and type(back) is cls
    assert not gc.is_tracked(ev) and hash(ev) == hash(back)
    with pytest.raises(AttributeError):
        ev.at = 9.0


def test_an_event_leaves_its_defaults_out_of_the_json() -> None:
    assert encode_events([AgentReady(at=1.0, agent_id="a")]) == (
        b'[{"type":"AgentReady","agent_id":"a","at":1.0}]'
    )
    assert AgentReady(at=1.0, agent_id="a").version == 0
    assert encode_events([QueueClosed(at=2.0, queue="q"), Reconfigured(at=3.0)]) == (
        b'[{"type":"QueueClosed","queue":"q","at":2.0},{"type":"Reconfigured","at":3.0}]'
    )
    assert encode_events([Reconfigured(at=3.0, handed_over=1, rejected=2, version=4)]) == (
        b'[{"type":"Reconfigured","handed_over":1,"rejected":2,"at":3.0,"version":4}]'
    )


def test_an_explanation_leaves_its_defaults_out_and_is_frozen_and_gc_free() -> None:
    fs = FeatureScore(agent_id="a", features={"x": 1.0}, weights={"x": 2.0}, score=2.0)
    ex = Explanation(chosen=fs)
    assert (ex.runner_up, ex.trigger, ex.interrupted, ex.distribution) == (
        None,
        "arrival",
        None,
        "scored",
    )
    assert (ex.match, ex.preferred, ex.offers) == (None, False, 1)
    ev = Assigned(at=1.0, inquiry_id="i", agent_id="a", queue="q", wait_s=0.5, explanation=ex)
    assert encode_events([ev]) == (
        b'[{"type":"Assigned","inquiry_id":"i","agent_id":"a","queue":"q","wait_s":0.5,'
        b'"explanation":{"chosen":{"agent_id":"a","features":{"x":1.0},"weights":{"x":2.0},'
        b'"score":2.0}},"at":1.0}]'
    )
    assert decode_events(encode_events([ev])) == [ev]
    assert not gc.is_tracked(fs) and not gc.is_tracked(ex)  # gc=False though they hold dicts
    held = Explanation(chosen=fs, interrupted={"chat": 1})
    ev2 = Assigned(at=1.0, inquiry_id="i", agent_id="a", queue="q", wait_s=0.5, explanation=held)
    assert not gc.is_tracked(held) and not gc.is_tracked(ev2)
    for obj, name in ((fs, "score"), (ex, "offers")):
        with pytest.raises(AttributeError):
            setattr(obj, name, 5)
    with pytest.raises(TypeError):
        FeatureScore("a", {}, {}, 1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Explanation(fs)  # type: ignore[call-arg]


def test_decode_events_names_the_unknown_tag_and_the_missing_field() -> None:
    with pytest.raises(msgspec.ValidationError) as e:
        decode_events(b'[{"type":"Nope","at":1.0}]')
    assert str(e.value) == "$[0].type: Invalid value 'Nope'"
    with pytest.raises(msgspec.ValidationError) as e:
        decode_events(b'[{"type":"AgentReady","at":1.0}]')
    assert str(e.value) == "$[0]: Object missing required field agent_id"


#: what the module imports for itself
_IMPORTED = {"annotations", "Any", "msgspec", "Struct", "read_message"}


def test_the_module_exports_every_public_name_it_defines() -> None:
    # ``from router.events import *`` gives every event, the union and the codec
    public = {n for n in vars(E) if not n.startswith("_") and n not in _IMPORTED}
    assert sorted(E.__all__) == E.__all__ and set(E.__all__) == public and len(public) == 40
