"""The config schema: the operators' file as a tree of msgspec Structs.

Theory of operation: every table of the file is a Struct with ``Meta``
constraints and ``forbid_unknown_fields``, so one ``msgspec.convert`` validates
a parsed file (see ``router/config/loading.py``). What a schema cannot express
(NaN/inf, duplicate names, references between tables) is checked by
``router/config/checks.py``; the path of each problem is built by
``router/config/problems.py``. This module has no logic beyond defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta, Struct

from router.model import Attributes, Level, Name, Shift

__all__ = [
    "DEFAULT_CHANNELS",
    "DISTRIBUTIONS",
    "FEATURES",
    "POLICY_NAMES",
    "AgentProfile",
    "Backpressure",
    "BucketLimit",
    "CallbackPolicy",
    "Channel",
    "Clock",
    "CodelPolicy",
    "DeflectPolicy",
    "DistributionMode",
    "EstimateConfig",
    "Hours",
    "Level",
    "Name",
    "OutboundConfig",
    "OverflowPolicy",
    "OverflowRule",
    "PolicyName",
    "PositiveSeconds",
    "QueueConfig",
    "RouterConfig",
    "Routing",
    "Seconds",
    "Skills",
    "StatisticsConfig",
    "Step",
    "SurgeConfig",
    "TokenBucketPolicy",
    "Weight",
    "Weights",
    "Wellbeing",
]

Seconds = Annotated[float, Meta(ge=0)]
PositiveSeconds = Annotated[float, Meta(gt=0)]
Skills = dict[Name, Level]
Weight = Annotated[float, Meta(ge=0)]

#: The built-in backpressure policies; docs/backpressure.md documents each.
POLICY_NAMES: tuple[str, ...] = (
    "admit_all",
    "reject_when_full",
    "shed_lowest_priority",
    "block",
    "deflect",
    "callback",
    "overflow",
    "codel",
    "token_bucket",
)

#: A backpressure policy (``$.backpressure.policy``): a built-in name (:data:`POLICY_NAMES`)
#: or one registered by ``router.policies.register_policy`` or the ``router.policies``
#: entry points. The config checks (``backpressure_problems``) refuse a name none knows.
PolicyName = Annotated[
    str,
    Meta(
        title="policy",
        description="a built-in policy or one registered (docs/backpressure.md)",
        examples=list(POLICY_NAMES),
    ),
]

#: A queue's distribution mode (``$.queues[i].distribution``); docs/routing-features.md.
DistributionMode = Literal[
    "scored", "longest_idle", "least_occupied", "round_robin", "best_skill", "random"
]
DISTRIBUTIONS: tuple[str, ...] = get_args(DistributionMode)

#: Agent-scoring features, in the order the explanation reports them.
FEATURES: tuple[str, ...] = (
    "proficiency",
    "idle_time",
    "load",
    "recent_work",
    "recent_count",
    "heavy_streak",
)


class _Base(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Weights(_Base):
    """Weights of the agent-scoring features (higher score wins). See docs/tuning.md."""

    proficiency: Weight = 1.0
    idle_time: Weight = 1.0
    load: Weight = 1.0
    recent_work: Weight = 0.0
    recent_count: Weight = 0.0
    heavy_streak: Weight = 0.0


class Clock(_Base):
    """How the router's ``now`` maps to the wall clock (``router/config/clock.py``): ``now = 0``
    is ``start``; or, with ``unix``, ``now`` is Unix time and the wall clock is UTC plus
    ``utc_offset``. Hours of operation read it."""

    start: str = "mon 00:00"
    unix: bool = False
    utc_offset: str = "+00:00"


class Routing(_Base):
    """How decisions are made."""

    weights: Weights = msgspec.field(default_factory=Weights)
    priority_seconds: Seconds = 60.0
    mode: Literal["offer", "immediate"] = "offer"
    offer_timeout_s: PositiveSeconds = 30.0
    max_no_answer: Annotated[int, Meta(ge=1)] = 3
    #: this many declines in a row with nothing accepted between set the agent away
    #: (``AgentAway(reason="max_declines")``); None: off. At most 100 (no limit beyond;
    #: the run is a byte of the agent's record)
    max_declines: Annotated[int, Meta(ge=1, le=100)] | None = None
    #: how long an agent's decline (or expired offer, or hand-back) keeps an inquiry from it:
    #: ``round`` until every agent that may take it has declined it (then all are forgotten),
    #: ``forever`` for the inquiry's whole stay (docs/routing-features.md)
    decline_memory: Literal["round", "forever"] = "round"
    idle_scale_s: PositiveSeconds = 60.0
    recent_window_s: PositiveSeconds = 1800.0
    trace: bool = False
    strict: bool = False
    #: the wall clock of ``now`` (hours of operation)
    clock: Clock = msgspec.field(default_factory=Clock)
    #: an agent that sends nothing for this long while ready is set away (None: off)
    presence_timeout_s: PositiveSeconds | None = None
    #: seed of the ``random`` distribution mode's draws (deterministic, in the snapshot)
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 0


class Channel(_Base):
    """A channel's hard maximum concurrency per agent and its capacity-unit cost."""

    max_concurrency: Annotated[int, Meta(ge=1, le=1000)] = 1
    unit_cost: Annotated[int, Meta(ge=0)] = 0
    #: an inquiry of this channel may take an agent holding at most this many of another
    #: channel's inquiries even past its capacity units; they keep running (interruptible)
    interrupts: dict[Name, Annotated[int, Meta(ge=0)]] = msgspec.field(default_factory=dict)


DEFAULT_CHANNELS: dict[str, Channel] = {
    "voice": Channel(max_concurrency=1, unit_cost=100),
    "chat": Channel(max_concurrency=30, unit_cost=20),
    "email": Channel(max_concurrency=20, unit_cost=10),
    "task": Channel(max_concurrency=5, unit_cost=20),
}


class Step(_Base):
    """A skill-relaxation step: after waiting ``after_s``, require only ``requires``."""

    after_s: PositiveSeconds
    requires: Skills = msgspec.field(default_factory=dict)


class Hours(_Base):
    """One span of a queue's hours of operation: ``days`` (``"mon-fri"``, ``"sat,sun"``),
    ``open`` and ``close`` as ``"HH:MM"`` on the router's clock (``close`` not after
    ``open``: past midnight; ``"24:00"``: the end of the day)."""

    days: str = "mon-sun"
    open: str = "00:00"
    close: str = "24:00"


class QueueConfig(_Base):
    name: Name
    channel: Name = "voice"
    requires: Skills = msgspec.field(default_factory=dict)
    priority: Annotated[int, Meta(ge=-1000, le=1000)] = 0
    tenant: Name | None = None
    #: the service-level threshold: an answer within it is in target (default 20 s;
    #: docs/tuning.md section 7, docs/metrics.md); of the decisions, only outbound pacing
    #: reads it (the protected queues' goal)
    answer_target_s: PositiveSeconds = 20.0
    steps: list[Step] = msgspec.field(default_factory=list)
    weights: Weights | None = None
    heavy: bool = False
    on_remove: Name | None = None
    max_queue: Annotated[int, Meta(ge=0)] | None = None
    #: hours of operation (None: always open); arrivals while closed get ``closed``
    hours: list[Hours] | None = None
    closed: Literal["reject", "deflect", "callback"] = "reject"
    #: inquiries waiting at closing: ``serve`` (stay in line) or ``closed`` (get ``closed``)
    at_close: Literal["serve", "closed"] = "serve"
    #: targeting expression over agent (bare names) and inquiry (``inquiry.NAME``) attributes
    match: Annotated[str, Meta(max_length=2000)] | None = None
    distribution: DistributionMode = "scored"
    #: offer each inquiry to up to this many agents at once; the first to accept wins
    max_offers: Annotated[int, Meta(ge=1, le=50)] = 1
    #: an inquiry naming preferred agents waits this long for them before anyone else
    preferred_wait_s: Seconds = 0.0


class Wellbeing(_Base):
    """Guardrails on a person's day. ``None`` switches a guardrail off."""

    max_continuous_work_s: PositiveSeconds | None = None
    break_s: PositiveSeconds = 900.0
    max_consecutive_heavy: Annotated[int, Meta(ge=1)] | None = None
    heavy_recovery_s: Seconds = 120.0
    max_overtime_s: Seconds = 0.0
    suspend_in_surge: list[Literal["continuous_work", "shift", "heavy", "cooldown"]] = (
        msgspec.field(default_factory=list)
    )
    #: at most this share of a team (``AgentSpec.team``) and of all agents on a break at once
    max_break_share: Annotated[float, Meta(gt=0, le=1)] | None = None
    #: a team's own share in place of ``max_break_share`` (team name -> share in (0, 1]):
    #: at most ``max(1, floor(s * n))`` of the team's ``n`` on a break at once; router-wide
    #: ``max_break_share`` still holds (a small team's meals fit: two places for six at 1/3)
    max_break_share_by_team: dict[Name, Annotated[float, Meta(gt=0, le=1)]] = msgspec.field(
        default_factory=dict
    )
    #: how long past ``max_continuous_work_s`` a break may wait for a place (None: as long
    #: as it takes); past it the agent goes anyway, above the share
    max_break_deferral_s: PositiveSeconds | None = None
    #: a break may start this long before ``max_continuous_work_s``, when the agent frees up
    #: and a place under ``max_break_share`` is free (earliest due first): the breaks of a
    #: team that logged in together spread over the window instead of queueing past due
    #: (None or 0: off)
    break_window_s: Seconds | None = None
    #: with ``break_window_s``: an agent in its window whose early break fits under the share
    #: stops taking new work on every channel (it *drains*: finishes what it holds) and its
    #: break starts when it holds nothing; the window also opens with a timer of its own
    drain_for_break: bool = False
    #: with ``drain_for_break``: drains get a share of their own, at most this share of a
    #: team and of all agents draining at once, and a drain holds no place under
    #: ``max_break_share`` (the agent still serves its work); its break starts when it holds
    #: nothing if a place is free, else it waits first in line, back at work (None: a drain
    #: holds a break place from its notice)
    max_drain_share: Annotated[float, Meta(gt=0, le=1)] | None = None
    #: a team's own share in place of ``max_drain_share`` (team name -> share in (0, 1]):
    #: at most ``max(1, floor(d * n))`` of the team's ``n`` draining at once; router-wide
    #: ``max_drain_share`` still holds
    max_drain_share_by_team: dict[Name, Annotated[float, Meta(gt=0, le=1)]] = msgspec.field(
        default_factory=dict
    )
    #: a heavy inquiry handled at least this long is followed by ``cooldown_s`` without work
    cooldown_after_heavy_s: PositiveSeconds | None = None
    cooldown_s: Seconds = 300.0
    #: what the cooldown keeps the agent off: every queue, or heavy work only
    cooldown_from: Literal["all", "heavy"] = "all"


class AgentProfile(_Base):
    """A group of identical agents (config: for checks; scenario: who is staffed)."""

    count: Annotated[int, Meta(ge=0)] = 1
    name: Name | None = None
    skills: Skills = msgspec.field(default_factory=dict)
    capacity: dict[Name, Annotated[int, Meta(ge=0)]] = msgspec.field(
        default_factory=lambda: {"voice": 1}
    )
    units: Annotated[int, Meta(ge=1)] | None = None
    tenants: list[Name] = msgspec.field(default_factory=list)
    queues: dict[Name, Annotated[float, Meta(gt=0)]] = msgspec.field(default_factory=dict)
    wrap_up_s: Seconds = 0.0
    shift_start_s: Seconds = 0.0
    shift_end_s: Seconds | None = None
    #: a schedule (``AgentSpec.shifts``): in a scenario the agents log in at t = 0 and the
    #: router knows when each shift starts; not with shift_start_s / shift_end_s
    shifts: list[Shift] = msgspec.field(default_factory=list)
    #: simulation: the share of the inquiries they answer that they hand back unfinished
    handback_share: Annotated[float, Meta(ge=0, le=1)] = 0.0
    #: simulation: the share of the offers they answer that they decline (``Router.decline``)
    decline_share: Annotated[float, Meta(ge=0, le=1)] = 0.0
    #: simulation: set away for their declines (``[routing] max_declines``), they set
    #: themselves ready again this long after (None: they stay away)
    decline_away_s: Seconds | None = None
    #: simulation: their own share of offers never answered (they ring out), instead of
    #: ``[simulation] no_answer_share`` (None: the run-wide share)
    no_answer_share: Annotated[float, Meta(ge=0, le=1)] | None = None
    #: simulation: set away for offers rung out (``[routing] max_no_answer``), they set
    #: themselves ready this long after (None: they stay away)
    no_answer_away_s: Seconds | None = None
    #: simulation: their consoles go silent at this time (no heartbeat, no accept)
    console_drop_s: Seconds | None = None
    #: simulation: their consoles come back at this time (after ``console_drop_s``): they
    #: answer again, and one set away meanwhile for a presence timeout sets itself ready
    console_back_s: Seconds | None = None
    attributes: Attributes = msgspec.field(default_factory=dict)


class DeflectPolicy(_Base):
    """``deflect``: send an arrival to self-service when its expected wait is above a threshold."""

    max_wait_s: PositiveSeconds = 300.0
    queues: dict[Name, PositiveSeconds] = msgspec.field(default_factory=dict)
    exempt: list[Name] = msgspec.field(default_factory=list)


class CallbackPolicy(_Base):
    """``callback``: above ``min_wait_s`` of expected wait the customer hangs up and keeps the
    place; when it comes up an agent calls back (``max_attempts`` tries, ``retry_s`` apart)."""

    min_wait_s: PositiveSeconds = 120.0
    queues: dict[Name, PositiveSeconds] = msgspec.field(default_factory=dict)
    exempt: list[Name] = msgspec.field(default_factory=list)
    retry_s: PositiveSeconds = 300.0
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 3


class OverflowRule(_Base):
    """Move a waiting inquiry to ``to`` after ``after_s`` of waiting, or at arrival when the
    queue already holds ``max_queue``; the original arrival time is kept."""

    to: Name
    after_s: PositiveSeconds | None = None
    max_queue: Annotated[int, Meta(ge=0)] | None = None


class OverflowPolicy(_Base):
    """``overflow``: one rule per source queue."""

    queues: dict[Name, OverflowRule] = msgspec.field(default_factory=dict)


class CodelPolicy(_Base):
    """``codel``: shed from the head once the head's wait stayed above ``target_s`` for
    ``interval_s``; the next sheds come ``interval_s / sqrt(count)`` apart (RFC 8289)."""

    target_s: PositiveSeconds = 30.0
    interval_s: PositiveSeconds = 120.0
    queues: list[Name] = msgspec.field(default_factory=list)
    action: Literal["reject", "deflect"] = "reject"


class BucketLimit(_Base):
    rate_per_s: Annotated[float, Meta(gt=0)]
    burst: Annotated[float, Meta(ge=1)]


class TokenBucketPolicy(_Base):
    """``token_bucket``: at most ``rate_per_s`` arrivals per second per tenant (or queue), with
    bursts up to ``burst``; ``limits`` overrides the rate for named tenants (or queues)."""

    per: Literal["tenant", "queue"] = "queue"
    rate_per_s: Annotated[float, Meta(gt=0)] = 10.0
    burst: Annotated[float, Meta(ge=1)] = 20.0
    limits: dict[Name, BucketLimit] = msgspec.field(default_factory=dict)
    action: Literal["reject", "deflect"] = "reject"


class SurgeConfig(_Base):
    """Surge mode with hysteresis: enter when the expected wait of a watched queue or the number
    waiting stays above an ``enter_*`` threshold for ``enter_after_s``; leave once both stay
    below the ``exit_*`` ones (default: half the ``enter_*`` ones, rounded up) for
    ``exit_after_s``.
    While in surge, apply the bundle."""

    enter_wait_s: PositiveSeconds | None = None
    exit_wait_s: PositiveSeconds | None = None
    enter_waiting: Annotated[int, Meta(ge=1)] | None = None
    exit_waiting: Annotated[int, Meta(ge=0)] | None = None
    enter_after_s: Seconds = 60.0
    exit_after_s: Seconds = 300.0
    queues: list[Name] = msgspec.field(default_factory=list)
    # the bundle
    caps: dict[Name, Annotated[int, Meta(ge=1)]] = msgspec.field(default_factory=dict)
    wrap_up_s: Seconds | None = None
    relax_steps: bool = False
    pause_outbound: bool = True
    callbacks: bool = False


class OutboundConfig(_Base):
    """Proactive outbound task queues: tasks start only on idle capacity, leaving
    ``reserve_idle`` agents free and enough agents for the ``protect``ed inbound queues to
    meet ``service_level`` within their answer target (Erlang C on measured load); paused
    in surge."""

    queues: list[Name] = msgspec.field(default_factory=list)
    reserve_idle: Annotated[int, Meta(ge=0)] = 1
    protect: list[Name] = msgspec.field(default_factory=list)
    service_level: Annotated[float, Meta(gt=0, lt=1)] = 0.8
    #: per outbound queue: a task not started this long after it was submitted ends with
    #: ``TaskExpired`` (a task's own ``patience_s`` overrides it)
    deadline_s: dict[Name, PositiveSeconds] = msgspec.field(default_factory=dict)


class EstimateConfig(_Base):
    """Expected-wait estimator smoothing (see router/state/estimate.py)."""

    alpha: Annotated[float, Meta(gt=0, le=1)] = 0.05
    prior_handle_s: PositiveSeconds = 180.0
    #: time constant of the arrival-rate estimate that decays when arrivals stop
    arrival_window_s: PositiveSeconds = 600.0


class Backpressure(_Base):
    """Admission control; the policy names are documented in docs/backpressure.md."""

    policy: PolicyName | list[PolicyName] = "admit_all"
    max_queue: Annotated[int, Meta(ge=0)] | None = None
    deflect: DeflectPolicy = msgspec.field(default_factory=DeflectPolicy)
    callback: CallbackPolicy = msgspec.field(default_factory=CallbackPolicy)
    overflow: OverflowPolicy = msgspec.field(default_factory=OverflowPolicy)
    codel: CodelPolicy = msgspec.field(default_factory=CodelPolicy)
    token_bucket: TokenBucketPolicy = msgspec.field(default_factory=TokenBucketPolicy)
    surge: SurgeConfig | None = None
    outbound: OutboundConfig = msgspec.field(default_factory=OutboundConfig)
    estimate: EstimateConfig = msgspec.field(default_factory=EstimateConfig)
    #: router-wide bound on callbacks holding a place, counted apart from callers on the
    #: line (``max_queue``); default: the same number as ``max_queue``
    max_callbacks: Annotated[int, Meta(ge=0)] | None = None
    #: share of each router-wide bound kept for arrivals of a higher priority than some
    #: work already waiting (that work could make room: it is served after them)
    priority_reserve: Annotated[float, Meta(ge=0, lt=1)] = 0.0


class StatisticsConfig(_Base):
    """``[statistics]``: the sliding windows of ``statistics()`` (docs/metrics.md)."""

    #: window lengths in seconds, each at least ``bucket_s`` ("since reset" is always there)
    windows: Annotated[list[PositiveSeconds], Meta(max_length=16)] = msgspec.field(
        default_factory=lambda: [300.0, 900.0, 1800.0]
    )
    #: resolution: a window is exact to one bucket
    bucket_s: PositiveSeconds = 10.0


class RouterConfig(_Base):
    """The whole router config (docs/tuning.md)."""

    routing: Routing = msgspec.field(default_factory=Routing)
    channels: dict[Name, Channel] = msgspec.field(default_factory=dict)
    queues: list[QueueConfig] = msgspec.field(default_factory=list)
    wellbeing: Wellbeing = msgspec.field(default_factory=Wellbeing)
    backpressure: Backpressure = msgspec.field(default_factory=Backpressure)
    agents: list[AgentProfile] = msgspec.field(default_factory=list)
    statistics: StatisticsConfig = msgspec.field(default_factory=StatisticsConfig)

    def channel(self, name: str) -> Channel:
        """The channel's settings, falling back to the built-in defaults."""
        found = self.channels.get(name) or DEFAULT_CHANNELS.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]

    def extra_problems(self) -> list[str]:
        """Hook for subclasses (a scenario): checks of their own tables, run by
        :func:`semantic_problems` after the config's. One ``path: message`` line each."""
        return []
