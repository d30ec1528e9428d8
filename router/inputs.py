"""The inputs the core takes: one frozen struct per input, and the checks of their values.

Theory of operation
-------------------
Like h11's events, every input to the router is a small frozen msgspec Struct,
tagged with its name so a list of them encodes to JSON or MessagePack and
decodes back (:func:`decode_input`). ``Router.handle(input, now)``
(``router/core.py``) takes any of them; the Router's methods (``submit``,
``accept``, ...) are the same inputs spelled as calls. The adapters, the
example service, the simulator and the durable wire (``router/durable/wire.py``)
carry these structs; nothing else defines an input.

Values are checked once, at the core's edge, by the functions of this module,
whoever the caller is: a struct decoded from the wire was checked by msgspec
against the same constraints, a struct built in Python was not, so the core
checks both the same way before anything changes. A refused value raises
:class:`~router.errors.InvalidInput` naming the field (``patience_s: must be a
finite number > 0, got nan``). The checks are plain comparisons, cheaper than
re-validating the struct with msgspec on every call.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from router.errors import InvalidInput
from router.model import AgentSpec, Attributes, Inquiry, Level, Name, Shift

__all__ = [
    "Accept",
    "CallbackFailed",
    "Complete",
    "Decline",
    "GoOnBreak",
    "HandBack",
    "Heartbeat",
    "Input",
    "Login",
    "Logout",
    "Reconfigure",
    "ResetStatistics",
    "SetAttributes",
    "SetReady",
    "Submit",
    "Transfer",
    "UpdateAgent",
    "UpdateInquiry",
    "Withdraw",
    "check_agent_spec",
    "check_attributes",
    "check_id",
    "check_input_ids",
    "check_inquiry",
    "check_now",
    "check_priority",
    "check_reason",
    "check_requires",
    "decode_input",
    "encode_input",
]

#: Longest id or name, as :data:`router.model.Name` says.
MAX_NAME = 200
#: Priorities an inquiry may carry (as ``Inquiry.priority`` says).
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
#: Proficiency levels (as :data:`router.model.Level` says).
MIN_LEVEL, MAX_LEVEL = 1, 5
#: Most agents an inquiry may prefer (as ``Inquiry.preferred_agents`` says).
MAX_PREFERRED = 20

Reason = Annotated[str, Meta(max_length=MAX_NAME)]


class _Input(
    Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    forbid_unknown_fields=True,
    tag_field="type",
    gc=False,
):
    pass


class Submit(_Input, tag="submit", frozen=True):
    """A new inquiry; ``Router.handle`` returns its :class:`~router.model.Admission`."""

    inquiry: Inquiry


class Withdraw(_Input, tag="withdraw", frozen=True):
    """The customer left (or the backend cancelled) before being assigned."""

    inquiry_id: Name


class Login(_Input, tag="login", frozen=True):
    """An agent logs in, ready for work."""

    agent: AgentSpec


class SetReady(_Input, tag="set_ready", frozen=True):
    """Back from a break or away: the agent takes work again."""

    agent_id: Name


class GoOnBreak(_Input, tag="go_on_break", frozen=True):
    """No new work for the agent; its open offers go back to their place."""

    agent_id: Name
    reason: Reason = "break"


class Logout(_Input, tag="logout", frozen=True):
    """The agent leaves once its work in flight is done."""

    agent_id: Name


class Accept(_Input, tag="accept", frozen=True):
    """The agent takes the offered inquiry (``agent_id``, if given, must be the one offered)."""

    inquiry_id: Name
    agent_id: Name | None = None


class Decline(_Input, tag="decline", frozen=True):
    """The agent refuses the offer; the inquiry goes back to its place, never to this agent."""

    inquiry_id: Name
    agent_id: Name | None = None


class Complete(_Input, tag="complete", frozen=True):
    """The agent finished the inquiry; its slot is held for the agent's wrap-up time."""

    inquiry_id: Name


class CallbackFailed(_Input, tag="callback_failed", frozen=True):
    """The call for a callback on offer or assigned did not reach the customer."""

    inquiry_id: Name


class Reconfigure(_Input, tag="reconfigure", frozen=True):
    """Switch to a new config; ``Router.handle`` returns the new version.

    ``config`` is a :class:`~router.config.RouterConfig`, or its plain-data form
    (as decoded from JSON), which the core validates with every problem named.
    ``hand_over`` says where the waiting inquiries of a removed queue go.
    """

    config: Any
    hand_over: dict[Name, Name] | None = None


class UpdateInquiry(_Input, tag="update_inquiry", frozen=True):
    """Change a waiting, offered or parked inquiry in place (TaskRouter's task update, ACS's
    reclassify): a new ``priority`` re-ages it from its original arrival; new ``requires``
    (skills on top of its queue's; ``{}`` clears them) move it to the matching line at the
    same place. ``None`` leaves a field as it is. See docs/routing-features.md."""

    inquiry_id: Name
    priority: Annotated[int, Meta(ge=MIN_PRIORITY, le=MAX_PRIORITY)] | None = None
    requires: dict[Name, Level] | None = None


class Transfer(_Input, tag="transfer", frozen=True):
    """Move a waiting, offered or assigned inquiry to another queue of the same channel,
    keeping its arrival time (its place by arrival there); the new queue's relaxation steps
    start now. An assigned one leaves its agent (``agent_id``, if given, must be it)."""

    inquiry_id: Name
    queue: Name
    agent_id: Name | None = None
    priority: Annotated[int, Meta(ge=MIN_PRIORITY, le=MAX_PRIORITY)] | None = None
    requires: dict[Name, Level] | None = None


class HandBack(_Input, tag="hand_back", frozen=True):
    """The agent gives an assigned inquiry back unfinished: it waits again at its original
    place (arrival and priority; ``priority`` changes it, Salesforce's secondary routing
    priority), never for this agent again."""

    inquiry_id: Name
    agent_id: Name | None = None
    priority: Annotated[int, Meta(ge=MIN_PRIORITY, le=MAX_PRIORITY)] | None = None


class UpdateAgent(_Input, tag="update_agent", frozen=True):
    """A logged-in agent's new spec (same id): skills, capacity, units, tenants, queues,
    wrap-up and shift end change without a logout. Work in flight stays; a cap below the
    current load only stops new work; an open offer it no longer fits goes back."""

    agent: AgentSpec


class Heartbeat(_Input, tag="heartbeat", frozen=True):
    """The agent's console is alive (``[routing] presence_timeout_s``); changes nothing else."""

    agent_id: Name


class SetAttributes(_Input, tag="set_attributes", frozen=True):
    """Replace a logged-in agent's attributes; the queues' ``match`` expressions are
    evaluated again for it (work in hand and open offers stay)."""

    agent_id: Name
    attributes: Attributes


class ResetStatistics(_Input, tag="reset_statistics", frozen=True):
    """Start the "since reset" figures of ``statistics()`` over (the sliding windows go on)."""


Input = (
    Submit
    | Withdraw
    | Login
    | SetReady
    | GoOnBreak
    | Logout
    | Accept
    | Decline
    | Complete
    | CallbackFailed
    | Reconfigure
    | UpdateInquiry
    | Transfer
    | HandBack
    | UpdateAgent
    | Heartbeat
    | SetAttributes
    | ResetStatistics
)

_json_decoder: msgspec.json.Decoder[Input] = msgspec.json.Decoder(Input)
_json_encoder = msgspec.json.Encoder()


def decode_input(data: bytes | str) -> Input:
    """One input from JSON (``{"type": "accept", "inquiry_id": "c1"}``); msgspec errors name
    the field."""
    return _json_decoder.decode(data)


def encode_input(inp: Input) -> bytes:
    """JSON bytes of an input (the inverse of :func:`decode_input`)."""
    return _json_encoder.encode(inp)


# ---------------------------------------------------------------------- value checks


def _finite(value: Any) -> bool:
    return (type(value) is float and value - value == 0.0) or type(value) is int


def check_now(now: Any) -> float:
    """``now`` as a float; InvalidInput unless it is a finite number."""
    if type(now) is float:
        if now - now == 0.0:  # false for nan and +-inf
            return now
    elif type(now) is int:
        return float(now)
    raise InvalidInput("now", f"must be a finite number, got {now!r}")


def check_id(value: Any, field: str) -> str:
    """A non-empty string of at most 200 characters."""
    if type(value) is not str or not value:
        raise InvalidInput(field, f"must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME:
        raise InvalidInput(field, f"must be at most {MAX_NAME} characters, got {len(value)}")
    return value


def check_reason(value: Any, field: str = "reason") -> str:
    if type(value) is not str or len(value) > MAX_NAME:
        raise InvalidInput(field, f"must be a string of at most {MAX_NAME} characters")
    return value


def _check_names(values: Any, field: str) -> None:
    if not isinstance(values, frozenset | set | list | tuple):
        raise InvalidInput(field, f"must be a set of names, got {values!r}")
    for v in values:
        check_id(v, field)


def _check_skills(skills: Any, field: str) -> None:
    if type(skills) is not dict:
        raise InvalidInput(field, f"must be a mapping of skill to level, got {skills!r}")
    for skill, level in skills.items():
        check_id(skill, field)
        if type(level) is not int or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InvalidInput(
                f"{field}.{skill}", f"must be a level {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}"
            )


def _check_weights(queues: Any, field: str) -> None:
    if type(queues) is not dict:
        raise InvalidInput(field, f"must be a mapping of queue to weight, got {queues!r}")
    for qn, weight in queues.items():
        check_id(qn, field)
        if not (_finite(weight) and weight > 0):
            raise InvalidInput(f"{field}.{qn}", f"must be a finite number > 0, got {weight!r}")


def check_priority(p: Any, field: str = "priority") -> None:
    """``None`` or an integer priority -1000..1000."""
    if p is not None and (type(p) is not int or not MIN_PRIORITY <= p <= MAX_PRIORITY):
        raise InvalidInput(field, f"must be an integer {MIN_PRIORITY}..{MAX_PRIORITY}, got {p!r}")


def check_requires(requires: Any, field: str = "requires") -> None:
    """``None`` or a mapping of skill to level 1..5."""
    if requires is not None:
        _check_skills(requires, field)


#: Integers an attribute may hold: what MessagePack carries (signed 64 bits).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
#: Longest list an attribute may hold (as :data:`router.model.AttrValue` says).
MAX_ATTR_LIST = 100


def _attr_scalar(v: Any, field: str) -> None:
    t = type(v)
    if t is bool:
        return
    if t is int:
        if not _INT_MIN <= v <= _INT_MAX:
            raise InvalidInput(field, f"an integer attribute must fit in 64 bits, got {v!r}")
        return
    if t is float:
        if v - v != 0.0:
            raise InvalidInput(field, f"must be a finite number, got {v!r}")
        return
    if t is str:
        if len(v) > MAX_NAME:
            raise InvalidInput(field, f"must be at most {MAX_NAME} characters, got {len(v)}")
        return
    raise InvalidInput(
        field, f"must be a string, number, boolean or a list of them, got {type(v).__name__}"
    )


def check_attributes(attrs: Any, field: str = "attributes") -> dict[str, Any]:
    """A mapping of names to strings, finite numbers, booleans, or lists of them."""
    if type(attrs) is not dict:
        raise InvalidInput(field, f"must be a mapping of name to value, got {attrs!r}")
    for name, value in attrs.items():
        check_id(name, field)
        where = f"{field}.{name}"
        if type(value) is list:
            if len(value) > MAX_ATTR_LIST:
                raise InvalidInput(
                    where,
                    f"a list attribute holds at most {MAX_ATTR_LIST} values, got {len(value)}",
                )
            for i, item in enumerate(value):
                _attr_scalar(item, f"{where}[{i}]")
        else:
            _attr_scalar(value, where)
    return attrs


def check_inquiry(inq: Any) -> Inquiry:
    """Every value of an :class:`~router.model.Inquiry`, as the wire checks them."""
    if type(inq) is not Inquiry:
        raise InvalidInput("inquiry", f"must be a router.Inquiry, got {type(inq).__name__}")
    # each field checked in order; a value of the common shape (a short id, a field left
    # at its default) is passed without a call, anything else goes to its full check
    v = inq.id
    if type(v) is not str or not v or len(v) > MAX_NAME:
        check_id(v, "id")
    v = inq.queue
    if type(v) is not str or not v or len(v) > MAX_NAME:
        check_id(v, "queue")
    if inq.priority is not None:
        check_priority(inq.priority)
    if inq.requires is not None:
        check_requires(inq.requires)
    if inq.tenant is not None:
        check_id(inq.tenant, "tenant")
    w = inq.patience_s
    if w is not None and not (_finite(w) and w > 0):
        raise InvalidInput("patience_s", f"must be a finite number > 0, got {w!r}")
    tags = inq.tags
    if type(tags) is not frozenset or tags:
        _check_names(tags, "tags")
    c = inq.cost
    if c is not None and (type(c) is not int or c < 0):
        raise InvalidInput("cost", f"must be an integer >= 0, got {c!r}")
    a = inq.arrived_at
    if a is not None and not _finite(a):
        raise InvalidInput("arrived_at", f"must be a finite number, got {a!r}")
    if type(inq.attributes) is not dict or inq.attributes:
        check_attributes(inq.attributes)
    pref = inq.preferred_agents
    if type(pref) is not list or pref:
        if type(pref) is not list or len(pref) > MAX_PREFERRED:
            raise InvalidInput(
                "preferred_agents", f"must be a list of at most {MAX_PREFERRED} agent ids"
            )
        for aid in pref:
            check_id(aid, "preferred_agents")
    return inq


def check_agent_spec(spec: Any, max_concurrency: dict[str, int]) -> AgentSpec:
    """Every value of an :class:`~router.model.AgentSpec`; ``max_concurrency`` maps each
    known channel to its hard maximum."""
    if type(spec) is not AgentSpec:
        raise InvalidInput("agent", f"must be a router.AgentSpec, got {type(spec).__name__}")
    check_id(spec.id, "id")
    _check_skills(spec.skills, "skills")
    if type(spec.capacity) is not dict:
        raise InvalidInput(
            "capacity", f"must be a mapping of channel to cap, got {spec.capacity!r}"
        )
    for ch, cap in spec.capacity.items():
        check_id(ch, "capacity")
        field = f"capacity.{ch}"
        if ch not in max_concurrency:
            known = ", ".join(sorted(max_concurrency))
            raise InvalidInput(field, f"unknown channel {ch!r}; known: {known}")
        if type(cap) is not int or cap < 0:
            raise InvalidInput(field, f"must be an integer >= 0, got {cap!r}")
        if cap > max_concurrency[ch]:
            raise InvalidInput(
                field, f"{cap} is above the channel's hard maximum {max_concurrency[ch]}"
            )
    u = spec.units
    if u is not None and (type(u) is not int or u < 1):
        raise InvalidInput("units", f"must be an integer >= 1, got {u!r}")
    _check_names(spec.tenants, "tenants")
    _check_weights(spec.queues, "queues")
    w = spec.wrap_up_s
    if not (_finite(w) and w >= 0):
        raise InvalidInput("wrap_up_s", f"must be a finite number >= 0, got {w!r}")
    e = spec.shift_end
    if e is not None and not _finite(e):
        raise InvalidInput("shift_end", f"must be a finite number, got {e!r}")
    if spec.team is not None:
        check_id(spec.team, "team")
    _check_shifts(spec)
    if type(spec.attributes) is not dict or spec.attributes:
        check_attributes(spec.attributes)
    return spec


def _check_shifts(spec: AgentSpec) -> None:
    """A schedule: shifts in time order, not overlapping, only the last one open-ended."""
    shifts = spec.shifts
    if type(shifts) is not list:
        raise InvalidInput("shifts", f"must be a list of router.Shift, got {shifts!r}")
    if shifts and spec.shift_end is not None:
        raise InvalidInput(
            "shift_end", "not with shifts: the last shift's end_s is the agent's shift end"
        )
    prev_end: float | None = None
    for i, sh in enumerate(shifts):
        p = f"shifts[{i}]"
        if type(sh) is not Shift:
            raise InvalidInput(p, f"must be a router.Shift, got {type(sh).__name__}")
        if not _finite(sh.start_s):
            raise InvalidInput(f"{p}.start_s", f"must be a finite number, got {sh.start_s!r}")
        end = sh.end_s
        if end is not None and not (_finite(end) and end > sh.start_s):
            raise InvalidInput(f"{p}.end_s", f"must be a finite number after start_s, got {end!r}")
        if i:
            if prev_end is None:
                raise InvalidInput(f"shifts[{i - 1}].end_s", "only the last shift may be open")
            if sh.start_s < prev_end:
                raise InvalidInput(
                    f"{p}.start_s",
                    f"{sh.start_s!r} is before the end of shifts[{i - 1}] ({prev_end!r})",
                )
        prev_end = end
        if sh.tenants is not None:
            _check_names(sh.tenants, f"{p}.tenants")
        if sh.queues is not None:
            _check_weights(sh.queues, f"{p}.queues")


def check_input_ids(input: object) -> None:
    """The ids (and break reason) an input carries, checked before its method is called.

    The methods check them again; checking here first lets ``Router.handle`` name
    the field in the compiled build too, whose methods refuse an argument of the
    wrong type (``None`` for an id) themselves, with a ``TypeError`` (docs/compiled.md).
    """
    if isinstance(input, Accept | Decline):
        check_id(input.inquiry_id, "inquiry_id")
        if input.agent_id is not None:
            check_id(input.agent_id, "agent_id")
    elif isinstance(input, Withdraw | Complete | CallbackFailed):
        check_id(input.inquiry_id, "inquiry_id")
    elif isinstance(input, SetReady | Logout):
        check_id(input.agent_id, "agent_id")
    elif isinstance(input, GoOnBreak):
        check_id(input.agent_id, "agent_id")
        check_reason(input.reason)
    elif isinstance(input, Heartbeat | SetAttributes):
        check_id(input.agent_id, "agent_id")
    elif isinstance(input, UpdateInquiry | Transfer | HandBack):
        check_id(input.inquiry_id, "inquiry_id")
        if isinstance(input, Transfer):
            check_id(input.queue, "queue")
        if not isinstance(input, UpdateInquiry) and input.agent_id is not None:
            check_id(input.agent_id, "agent_id")
        check_priority(input.priority)
        if not isinstance(input, HandBack):
            check_requires(input.requires)
