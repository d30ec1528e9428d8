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

Values are checked once, at the core's edge, by the functions of this module
(written in :mod:`router.values`, which the compiled build compiles with the core),
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

from router.errors import InvalidInput, InvalidMessage, read_message
from router.model import AgentSpec, Attributes, Inquiry, Level, Name
from router.values import (
    MAX_NAME,
    MAX_PRIORITY,
    MIN_PRIORITY,
    check_agent_spec,
    check_attributes,
    check_id,
    check_inquiry,
    check_now,
    check_priority,
    check_reason,
    check_requires,
)

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
    "wire_problem",
]

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
    """One input from JSON (``{"type": "accept", "inquiry_id": "c1"}``). A message it cannot
    read raises :class:`~router.errors.InvalidMessage` naming msgspec's path
    (``$.inquiry.patience_s: Expected float > 0.0``), or the path of a value the struct's
    type cannot refuse (:func:`wire_problem`: ``$.reason`` of a ``go_on_break``)."""
    inp = read_message(_json_decoder, data)
    problem = wire_problem(inp)
    if problem is not None:
        raise InvalidMessage(f"$.{problem[0]}", problem[1])
    return inp


def wire_problem(inp: Input) -> tuple[str, str] | None:
    """What a decoded input's struct accepts and the core refuses, as (field, problem):
    a ``go_on_break`` reason that says nothing (empty or only whitespace,
    :func:`~router.values.check_reason`). The wire's decoders refuse it naming the path
    (``decode_input``: ``$.reason``; the durable log's edge: ``$.input.reason``). The
    struct itself keeps accepting it, so a durable log written before the check
    (e6967c7) still decodes (``router/durable/wire.py`` replays it as ``break``)."""
    if type(inp) is GoOnBreak:
        try:
            check_reason(inp.reason)  # the core's own rule and words
        except InvalidInput as exc:
            return exc.field, exc.problem
    return None


def encode_input(inp: Input) -> bytes:
    """JSON bytes of an input (the inverse of :func:`decode_input`); anything that is no
    input of this module is :class:`~router.errors.InvalidInput` naming ``input``."""
    if not isinstance(inp, _Input):
        raise InvalidInput("input", f"must be an input of router.inputs, got {type(inp).__name__}")
    return _json_encoder.encode(inp)


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
