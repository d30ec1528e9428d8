"""Events the core returns from ``tick``: one tagged msgspec union.

Every event is a frozen, GC-free Struct tagged with its class name, so a list of
events encodes to JSON or MessagePack as is and decodes back with
``decode_events``. ``at`` is the router time the event happened; ``version`` is
the config version in force.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from router.errors import read_message
from router.values import wire_seconds

__all__ = [
    "Abandoned",
    "AgentAttributesSet",
    "AgentAway",
    "AgentDraining",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentOnBreak",
    "AgentReady",
    "AgentUpdated",
    "Assigned",
    "BreakDeferred",
    "CallbackScheduled",
    "Completed",
    "CooldownStarted",
    "DeclinesForgotten",
    "Deflected",
    "Event",
    "Explanation",
    "FeatureScore",
    "InquiryUpdated",
    "OfferDeclined",
    "OfferExpired",
    "OfferRescinded",
    "Offered",
    "Overflowed",
    "QueueClosed",
    "QueueOpened",
    "Queued",
    "Reconfigured",
    "Rejected",
    "Requeued",
    "SurgeEnded",
    "SurgeStarted",
    "TaskExpired",
    "Transferred",
    "Withdrawn",
    "WrapUpEnded",
    "decode_events",
    "encode_events",
    "wire_seconds",
]


class _Ev(Struct, frozen=True, gc=False, tag=True, kw_only=True, omit_defaults=True):
    at: float
    version: int = 0


class FeatureScore(Struct, frozen=True, gc=False, kw_only=True):
    """One agent's features, weights and total score for a decision."""

    agent_id: str
    features: dict[str, float]
    weights: dict[str, float]
    score: float


class Explanation(Struct, frozen=True, gc=False, kw_only=True, omit_defaults=True):
    """Why this agent: its score breakdown and the runner-up's, if there was one.

    ``distribution`` is the queue's mode; for any mode but ``scored`` the features
    are that mode's one ordering value (docs/routing-features.md). ``match`` is the
    queue's targeting expression the agent satisfied, ``preferred`` says the
    inquiry went to one of its preferred agents, ``offers`` how many agents were
    offered the inquiry at once (``max_offers``).
    """

    chosen: FeatureScore
    runner_up: FeatureScore | None = None
    trigger: str = "arrival"  # "arrival": agent chosen for an inquiry; "agent_free": inquiry chosen
    #: set when the agent took it by interrupting work of other channels past its capacity
    #: units (``[channels.X] interrupts``): the inquiries it held then, per channel
    interrupted: dict[str, int] | None = None
    distribution: str = "scored"
    match: str | None = None
    preferred: bool = False
    offers: int = 1


class Queued(_Ev, frozen=True):
    """Admitted and waiting. ``expected_wait_s`` is ``None`` when no agent can serve it now."""

    inquiry_id: str
    queue: str
    position: int
    expected_wait_s: float | None


class Rejected(_Ev, frozen=True):
    inquiry_id: str
    queue: str
    reason: str


class Deflected(_Ev, frozen=True):
    inquiry_id: str
    queue: str
    reason: str


class CallbackScheduled(_Ev, frozen=True):
    inquiry_id: str
    queue: str
    expected_wait_s: float | None
    reason: str = ""  # "closed": the queue was closed; the call comes when it opens


class Offered(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str
    queue: str
    expires_at: float
    explanation: Explanation | None = None


class Assigned(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str
    queue: str
    wait_s: float
    explanation: Explanation | None = None


class OfferDeclined(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str


class OfferExpired(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str


class OfferRescinded(_Ev, frozen=True):
    """One agent's part of a multi-agent offer (``max_offers > 1``) taken back while the
    inquiry stays with others: ``reason`` is ``accepted_elsewhere`` (``accepted_by`` took
    it first) or why this agent stopped taking work (``break``, ``logout``, ...). The
    agent's slot is free again. (When the last open offer goes, ``Requeued`` says so.)"""

    inquiry_id: str
    agent_id: str
    reason: str
    accepted_by: str | None = None


class Requeued(_Ev, frozen=True):
    inquiry_id: str
    queue: str
    reason: str


class DeclinesForgotten(_Ev, frozen=True):
    """Every agent that may take the inquiry now declined it, let its offer expire or handed
    it back (a round, ``decline_memory = "round"``): those ``agents`` are forgotten and it is
    offered again from its place in line, to them too."""

    inquiry_id: str
    queue: str
    agents: int


class Overflowed(_Ev, frozen=True):
    inquiry_id: str
    from_queue: str
    to_queue: str
    reason: str


class Abandoned(_Ev, frozen=True):
    inquiry_id: str
    queue: str
    wait_s: float
    reason: str = ""  # empty when patience ran out; set when a callback gave up


class Withdrawn(_Ev, frozen=True):
    inquiry_id: str
    queue: str


class Completed(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str
    queue: str
    handle_s: float
    wrap_up_until: float


class WrapUpEnded(_Ev, frozen=True):
    inquiry_id: str
    agent_id: str


class AgentLoggedIn(_Ev, frozen=True):
    agent_id: str


class AgentReady(_Ev, frozen=True):
    agent_id: str


class AgentOnBreak(_Ev, frozen=True):
    agent_id: str
    reason: str
    until: float | None = None


class AgentDraining(_Ev, frozen=True):
    """The agent's break (due at ``due``) is brought forward and it holds work
    (``wellbeing.drain_for_break``): it takes nothing new on any channel, finishes what it
    holds, and its break starts when it holds nothing (``AgentOnBreak`` with ``until``).
    Follows the break's notice (``AgentOnBreak`` without ``until``)."""

    agent_id: str
    due: float


class AgentAway(_Ev, frozen=True):
    agent_id: str
    reason: str


class AgentLoggedOut(_Ev, frozen=True):
    agent_id: str


class AgentAttributesSet(_Ev, frozen=True):
    """A logged-in agent's attributes changed; ``pools`` is how many pools it now serves."""

    agent_id: str
    pools: int


class Reconfigured(_Ev, frozen=True):
    """A new config is in force from here (``Router.reconfigure``): ``handed_over`` waiting
    inquiries of removed queues moved, ``rejected`` rejected; ``answer_targets`` and
    ``channels``: (queue, value) of the queues it added or whose value it changed, in the
    config's order (left out when none; pairs, so the event stays hashable), so a consumer
    of the events (``Monitor``) learns them at this point."""

    handed_over: int = 0
    rejected: int = 0
    answer_targets: tuple[tuple[str, float], ...] = ()
    channels: tuple[tuple[str, str], ...] = ()


class SurgeStarted(_Ev, frozen=True):
    reason: str


class SurgeEnded(_Ev, frozen=True):
    reason: str


class BreakDeferred(_Ev, frozen=True):
    """The agent's break (due at ``due``) waits for a place: ``wellbeing.max_break_share`` is
    reached (``reason`` names the team and the count); the agent keeps working. ``due`` is
    in the future for a drained early break (``max_drain_share``) left with no place when
    its work ended: it waits in line by ``due`` (docs/events.md)."""

    agent_id: str
    due: float
    reason: str


class CooldownStarted(_Ev, frozen=True):
    """After long heavy work the agent takes no new work (``off = "all"``) or no heavy work
    (``off = "heavy"``) until ``until``."""

    agent_id: str
    inquiry_id: str
    until: float
    off: str
    reason: str


class TaskExpired(_Ev, frozen=True):
    """An outbound task not started by its deadline: its one outcome."""

    inquiry_id: str
    queue: str
    wait_s: float
    reason: str


class InquiryUpdated(_Ev, frozen=True):
    """An inquiry's priority or requirements changed in place (``UpdateInquiry``)."""

    inquiry_id: str
    queue: str
    priority: int


class Transferred(_Ev, frozen=True):
    """Moved to another queue (``Transfer``); ``agent_id``: the agent it left, if any."""

    inquiry_id: str
    from_queue: str
    to_queue: str
    agent_id: str | None = None


class AgentUpdated(_Ev, frozen=True):
    """A logged-in agent's spec changed (``UpdateAgent``)."""

    agent_id: str


class QueueOpened(_Ev, frozen=True):
    """A queue's hours of operation began (``hours``)."""

    queue: str


class QueueClosed(_Ev, frozen=True):
    """A queue's hours of operation ended; ``outcomes``: waiting inquiries that got the
    queue's ``closed`` outcome then (``at_close = "closed"``)."""

    queue: str
    outcomes: int = 0


Event = (
    Queued
    | Rejected
    | Deflected
    | CallbackScheduled
    | Offered
    | Assigned
    | OfferDeclined
    | OfferExpired
    | Requeued
    | DeclinesForgotten
    | Overflowed
    | Abandoned
    | Withdrawn
    | Completed
    | WrapUpEnded
    | AgentLoggedIn
    | AgentReady
    | AgentOnBreak
    | AgentAway
    | AgentLoggedOut
    | Reconfigured
    | SurgeStarted
    | SurgeEnded
    | BreakDeferred
    | CooldownStarted
    | TaskExpired
    | InquiryUpdated
    | Transferred
    | AgentUpdated
    | QueueOpened
    | QueueClosed
    | OfferRescinded
    | AgentAttributesSet
    | AgentDraining
)

_json_encoder = msgspec.json.Encoder()
_json_decoder: msgspec.json.Decoder[list[Any]] = msgspec.json.Decoder(list[Event])


def encode_events(events: list[Any]) -> bytes:
    """Encode events to JSON bytes (a list of tagged objects)."""
    return _json_encoder.encode(events)


def decode_events(data: bytes) -> list[Any]:
    """Decode JSON bytes from :func:`encode_events`; what it cannot read raises
    :class:`~router.errors.InvalidMessage` naming msgspec's path."""
    return read_message(_json_decoder, data)
