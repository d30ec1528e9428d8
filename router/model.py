"""What the backend hands to the router (inquiries, agents) and what ``submit`` returns.

These are msgspec Structs so an adapter or a service can decode them straight
from JSON/MessagePack with validation (``msgspec.json.decode(b, type=Inquiry)``).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

__all__ = [
    "Admission",
    "AdmissionOutcome",
    "AgentSpec",
    "AttrValue",
    "Attributes",
    "Inquiry",
    "Level",
    "Name",
    "Shift",
]

#: A proficiency level.
Level = Annotated[int, Meta(ge=1, le=5, description="proficiency level 1..5")]
#: An id or a name: a non-empty string of at most 200 characters.
Name = Annotated[str, Meta(min_length=1, max_length=200)]

#: An attribute's plain value: a string, number or boolean, or a list of them.
AttrScalar = Annotated[str, Meta(max_length=200)] | int | float | bool
AttrValue = AttrScalar | Annotated[list[AttrScalar], Meta(max_length=100)]
#: Attributes of an inquiry or an agent, read by a queue's ``match`` (docs/routing-features.md).
Attributes = dict[Name, AttrValue]

AdmissionOutcome = Literal["admitted", "rejected", "deflected", "callback", "blocked"]


class Inquiry(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One customer inquiry to route.

    ``queue`` fixes the channel, base requirements, priority and tenant;
    ``requires`` adds skills on top, ``priority`` overrides the queue's.
    ``patience_s`` is how long the customer will wait before abandoning.
    ``arrived_at`` keeps an earlier arrival time (a transfer, a callback); it
    defaults to the ``now`` of submission. Tag ``heavy`` marks an emotionally
    heavy inquiry (a complaint) for the wellbeing guardrail. ``attributes`` are read
    by the queue's ``match`` expression (``inquiry.NAME``); ``preferred_agents``
    names the agents it waits for first, for the queue's ``preferred_wait_s``
    (docs/routing-features.md).
    """

    id: Name
    queue: Name
    priority: Annotated[int, Meta(ge=-1000, le=1000)] | None = None
    requires: dict[Name, Level] | None = None
    tenant: Name | None = None
    patience_s: Annotated[float, Meta(gt=0)] | None = None
    tags: frozenset[Name] = frozenset()
    cost: Annotated[int, Meta(ge=0)] | None = None
    arrived_at: float | None = None
    attributes: Attributes = msgspec.field(default_factory=dict)
    preferred_agents: Annotated[list[Name], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class Shift(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One shift of an agent's schedule: on duty from ``start_s`` to ``end_s``.

    Times are on the router's clock (the one ``now`` is given in); ``end_s`` absent
    means until the agent logs out (only the last shift may be open). ``tenants`` and
    ``queues``, when given, replace the agent's own for the shift (Taobao by day, then
    Fliggy in the evening); absent, the agent's own apply.
    """

    start_s: float
    end_s: float | None = None
    tenants: frozenset[Name] | None = None
    queues: dict[Name, Annotated[float, Meta(gt=0)]] | None = None


class AgentSpec(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A person logging in: skills, caps per channel, tenants and queues served.

    ``capacity`` caps concurrent inquiries per channel (voice 1, chat up to 20).
    ``units`` optionally caps all channels together in capacity units, each
    inquiry costing its channel's ``unit_cost`` (a call the whole agent, a chat
    a fifth). Empty ``queues`` means every queue the skills and tenants allow;
    otherwise only those queues, with the given weight when choosing among them.
    ``shift_end`` is an absolute time after which no new work starts.
    ``team`` names the agent's group for ``wellbeing.max_break_share`` (the scenario's
    ``[[agents]]`` name). ``shifts`` is the agent's schedule (:class:`Shift`, in time
    order, not overlapping): between shifts the agent is away (``off_shift``), its
    continuous-work and heavy-streak counters carry across, and the last shift's
    ``end_s`` is its shift end (``shift_end`` must then be absent).
    ``attributes`` are what queues' ``match`` expressions read as bare names.
    """

    id: Name
    skills: dict[Name, Level] = msgspec.field(default_factory=dict)
    capacity: dict[Name, Annotated[int, Meta(ge=0)]] = msgspec.field(
        default_factory=lambda: {"voice": 1}
    )
    units: Annotated[int, Meta(ge=1)] | None = None
    tenants: frozenset[Name] = frozenset()
    queues: dict[Name, Annotated[float, Meta(gt=0)]] = msgspec.field(default_factory=dict)
    wrap_up_s: Annotated[float, Meta(ge=0)] = 0.0
    shift_end: float | None = None
    team: Name | None = None
    shifts: list[Shift] = msgspec.field(default_factory=list)
    attributes: Attributes = msgspec.field(default_factory=dict)


class Admission(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What ``submit`` tells the caller: admitted (with an expected wait) or refused.

    ``outcome`` is ``admitted``, ``callback`` (admitted; the customer is called
    back when its place comes up), ``rejected``, ``deflected`` or ``blocked``
    (under the ``block`` policy: nothing was recorded, submit again when
    :meth:`Router.has_room` says so). ``queue`` is where the inquiry ended up
    (an overflow at arrival moves it); ``reason`` explains anything but a plain
    admission.
    """

    inquiry_id: str
    queue: str
    outcome: AdmissionOutcome
    expected_wait_s: float
    position: int = 0
    reason: str = ""

    @property
    def admitted(self) -> bool:
        """True when the inquiry is in the router (in line or as a callback)."""
        return self.outcome == "admitted" or self.outcome == "callback"
