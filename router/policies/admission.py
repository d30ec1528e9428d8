"""Admission control (backpressure): what happens to an arrival the center cannot serve now.

Theory of operation
-------------------
Every arrival gets an expected wait (``router/state/estimate.py``) and then passes through
the chain of policies configured under ``[backpressure]``, in order. A policy
returns ``None`` (no opinion) or a :class:`Verdict`:

* refusals end the chain: ``rejected`` and ``deflected`` (one outcome event
  each, with a reason) and ``blocked`` (the adapter's producer must wait for
  room; nothing is recorded);
* ``overflow`` moves the arrival to another queue and the chain goes on there;
* ``callback`` and ``shed`` take effect only if no later policy refuses the
  arrival: ``callback`` admits it as a callback (the customer hangs up and
  keeps the place), ``shed`` names a waiting inquiry of lower priority to evict
  (which gets its own ``Rejected`` event). So a bound placed after
  ``callback`` in the chain bounds callbacks too.

An arrival no policy refuses is admitted with its expected wait, on the
:class:`Admission` and on the ``Queued`` event. Policies also act as queues age:
``overflow`` moves an inquiry after it waited ``after_s``, ``codel`` sheds the
head of a queue whose sojourn stayed above target, and surge mode
(``router/policies/surge.py``) switches a bundle of measures on and off. Those use deadlines of
their own kind in the core's single deadline heap, so they interleave with
patience and offer expiry in exact time order.

Policies are registered by name in :data:`POLICIES` (a factory taking the
:class:`~router.config.RouterConfig`; ``router/config/registry.py``: the built-in ones
below, an embedder's through ``register_policy``, a plug-in's entry point); they read the
router through
:class:`AdmissionView`, implemented by ``AdmissionControl``
(``router/policies/control.py``), the glue between the policies and the core
that owns every state change. Nothing is ever
lost: every inquiry that leaves a queue other than by being answered gets
exactly one outcome event (``Rejected``, ``Deflected``, ``Abandoned`` or
``Withdrawn``); a move gets an ``Overflowed`` event.

Stateful pieces (token buckets, CoDel state, the shedding index, surge state,
parked callbacks, held outbound tasks, estimator rates, policy timers) go into
the snapshot through :meth:`AdmissionControl.dump` / :meth:`AdmissionControl.load`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, Final, Literal, Protocol

from router.config import RouterConfig, backpressure_problems, policy_names
from router.config.registry import POLICIES as _REGISTRY
from router.config.schema import POLICY_NAMES
from router.errors import ConfigError
from router.policies.verdict import Verdict, VerdictKind
from router.state.records import WAITING, Ticket

try:  # mypyc reads the decorator when it compiles; at run time it is a no-op
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover - mypy_extensions ships with mypy

    def mypyc_attr(*_args: object, **_kwargs: object) -> Any:  # type: ignore[misc]
        """``mypy_extensions.mypyc_attr``'s stand-in: no-op."""
        return lambda cls: cls


__all__ = [
    "POLICIES",
    "AdmissionPolicy",
    "AdmissionView",
    "AdmitAll",
    "Arrival",
    "Block",
    "CallbackOffer",
    "Codel",
    "Deflect",
    "Overflow",
    "PolicyContext",
    "RejectWhenFull",
    "ShedLowestPriority",
    "TokenBucket",
    "Verdict",
    "build_policies",
]

#: Deadline kind of backpressure timers in the core's heap (K_OFFER..K_AGENT are 1..5).
K_BP: Final = 6
# timer purposes (the ``arg`` of a K_BP deadline)
T_OVERFLOW: Final = 1  # obj: Ticket
T_RETRY: Final = 2  # obj: Ticket (a callback between attempts)
T_CODEL: Final = 3  # obj: NamedTimer (one per queue)
T_SURGE: Final = 4  # obj: NamedTimer
T_DEADLINE: Final = 5  # obj: Ticket (an outbound task's deadline)

_INF: Final = math.inf


class Arrival:
    """One arrival as the policies see it (mutable: an overflow changes its queue)."""

    __slots__ = (
        "callback",
        "expected_wait_s",
        "inquiry_id",
        "now",
        "position",
        "priority",
        "queue",
        "tenant",
    )

    def __init__(
        self,
        inquiry_id: str,
        queue: str,
        tenant: str | None,
        priority: int,
        position: int,
        expected_wait_s: float,
        now: float,
    ) -> None:
        self.inquiry_id = inquiry_id
        self.queue = queue
        self.tenant = tenant
        self.priority = priority
        self.position = position
        self.expected_wait_s = expected_wait_s
        self.now = now
        self.callback = False  # an earlier policy of the chain made it a callback


class AdmissionView(Protocol):
    """What a policy may read of the router (docs/backpressure.md, "Writing a policy")."""

    def places_held(self, queue: str) -> int:
        """Its line plus callbacks between two attempts: what ``max_queue`` bounds."""
        ...

    def line_length(self, queue: str) -> int:
        """Its line only (callbacks in line included): ``Router.queue_length``."""
        ...

    def total_places_held(self) -> int: ...

    def queue_length(self, queue: str) -> int:
        """Deprecated: :meth:`places_held` (not ``Router.queue_length``'s figure)."""
        ...

    def total_waiting(self) -> int:
        """Deprecated: :meth:`total_places_held` (not ``Router.total_waiting``'s)."""
        ...

    def expected_wait(self, queue: str, position: int) -> float: ...

    def lowest_priority_waiting(
        self, queue: str | None, below: int, callback: bool | None = None
    ) -> tuple[str, int] | None: ...

    def live_waiting(self) -> int: ...

    def callbacks_held(self) -> int: ...

    def lower_priority_held(self, priority: int) -> bool: ...


class PolicyContext(Protocol):
    """What a policy's hooks may do (``router/policies/control.py`` implements it)."""

    @property
    def now(self) -> float: ...

    def places_held(self, queue: str) -> int: ...

    def line_length(self, queue: str) -> int: ...

    def queue_length(self, queue: str) -> int:
        """Deprecated: :meth:`places_held`."""
        ...

    def head_of_line(self, queue: str) -> Ticket | None: ...

    def is_callback(self, t: Ticket) -> bool: ...

    def schedule(self, when: float, t: Ticket, purpose: int) -> None: ...

    def schedule_named(self, name: str, when: float, target: Any, purpose: int) -> None: ...

    def move(self, t: Ticket, to: str, reason: str) -> None: ...

    def refuse_waiting(
        self, t: Ticket, outcome: Literal["rejected", "deflected"], reason: str
    ) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)  # an embedder's policy subclasses it
class AdmissionPolicy:
    """Base class: decide on one arrival. Return ``None`` to pass it on.

    Optional hooks, called by the control (``router/policies/control.py``) when
    the class says it has them (``has_on_admitted``, ``has_on_check``):
    ``on_admitted`` (an inquiry entered a queue: arrival or overflow),
    ``on_check`` (after each matching pass and at the policy's own timers),
    ``on_timer`` (a ticket timer of this policy fired), ``dump``/``load`` (state
    for the snapshot).
    """

    # class variables, not the native instance attributes mypyc makes of a plain class-level
    # assignment: a Python subclass's ``name = "quota"`` is then what the compiled glue reads
    name: ClassVar[str] = "base"
    has_on_admitted: ClassVar[bool] = False
    has_on_check: ClassVar[bool] = False

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        return None

    def on_admitted(self, ctx: PolicyContext, t: Ticket) -> None:
        return None

    def on_check(self, ctx: PolicyContext, now: float) -> None:
        return None

    def on_timer(self, ctx: PolicyContext, obj: Any, purpose: int) -> None:
        return None

    def dump(self) -> Any:
        return None

    def load(self, state: Any) -> None:
        return None


# ---------------------------------------------------------------------- policies


class AdmitAll(AdmissionPolicy):
    """Admit every arrival (the default; memory grows with the queue)."""

    name = "admit_all"


class _Bounds:
    """``$.queues[i].max_queue`` (each queue: every place held in it) and the router-wide
    bounds, which protect priority: ``$.backpressure.max_queue`` on callers waiting on the
    line and ``max_callbacks`` on callbacks holding a place, counted apart (callbacks that
    fill theirs never refuse a caller on the line, a complaint), each keeping its last
    ``priority_reserve`` share for arrivals above the lowest priority waiting."""

    def __init__(self, cfg: RouterConfig) -> None:
        bp = cfg.backpressure
        self.global_max = bp.max_queue
        self.callback_max = bp.max_callbacks if bp.max_callbacks is not None else bp.max_queue
        self.reserve = bp.priority_reserve
        self.per_queue = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}

    def queue_full(self, view: AdmissionView, queue: str) -> str | None:
        limit = self.per_queue.get(queue)
        if limit is not None and view.places_held(queue) >= limit:
            return f"queue_full: {queue} holds {limit}"
        return None

    def router_full(self, view: AdmissionView, arrival: Arrival | None = None) -> str | None:
        """Why the router-wide bound refuses ``arrival`` (a caller on the line unless it was
        made a callback), or None. Without an arrival: is the line's bound reached."""
        if arrival is not None and arrival.callback:
            limit, held, what = self.callback_max, view.callbacks_held(), "callbacks"
        else:
            limit, held, what = self.global_max, view.live_waiting(), "waiting"
        if limit is None:
            return None
        if held >= limit:
            return f"router_full: {limit} {what}"
        keep = math.floor(self.reserve * limit)
        if (
            keep
            and held >= limit - keep
            and arrival is not None
            and not view.lower_priority_held(arrival.priority)
        ):
            return (
                f"router_full: {held} {what}, the last {keep} places kept for arrivals "
                "above the lowest priority waiting"
            )
        return None


class RejectWhenFull(AdmissionPolicy):
    """Reject when the queue (``$.queues[i].max_queue``) or the router
    (``$.backpressure.max_queue``) already holds that many waiting inquiries."""

    name = "reject_when_full"

    def __init__(self, cfg: RouterConfig) -> None:
        self.bounds = _Bounds(cfg)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        bounds = self.bounds
        reason = bounds.queue_full(view, arrival.queue) or bounds.router_full(view, arrival)
        return Verdict("rejected", reason) if reason else None


class ShedLowestPriority(AdmissionPolicy):
    """When full, a higher-priority arrival evicts the lowest-priority, newest waiting inquiry
    (of its queue if the queue is full, of the router otherwise: of the arrival's kind, a callback
    for a callback, a caller on the line for a caller, as the router-wide bounds count them
    apart); else the arrival is rejected."""

    name = "shed_lowest_priority"

    def __init__(self, cfg: RouterConfig) -> None:
        self.bounds = _Bounds(cfg)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        full_q = self.bounds.queue_full(view, arrival.queue)
        full = full_q or self.bounds.router_full(view, arrival)
        if full is None:
            return None
        # the router-wide bounds are per kind: the victim must free a place of the arrival's
        victim = view.lowest_priority_waiting(
            arrival.queue if full_q else None,
            arrival.priority,
            None if full_q else arrival.callback,
        )
        if victim is None:
            return Verdict("rejected", full)
        vid, vprio = victim
        return Verdict(
            "shed",
            f"shed: displaced by {arrival.inquiry_id!r} "
            f"(priority {arrival.priority} > {vprio}); {full}",
            vid,
        )


class Block(AdmissionPolicy):
    """For adapters: when full, ``submit`` returns a ``blocked`` admission and records nothing;
    the producer waits until :meth:`Router.has_room` and submits again."""

    name = "block"

    def __init__(self, cfg: RouterConfig) -> None:
        self.bounds = _Bounds(cfg)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        bounds = self.bounds
        reason = bounds.queue_full(view, arrival.queue) or bounds.router_full(view, arrival)
        return Verdict("blocked", f"would_block: {reason}") if reason else None


class _WaitThreshold(AdmissionPolicy):
    """Shared by ``deflect`` and ``callback``: act when the expected wait exceeds a threshold."""

    kind: VerdictKind = "deflected"
    label = "expected_wait"

    def __init__(self, default: float, per_queue: dict[str, float], exempt: list[str]) -> None:
        self.default = default
        self.per_queue = per_queue
        self.exempt = frozenset(exempt)

    def threshold(self, queue: str) -> float | None:
        if queue in self.exempt:
            return None
        return self.per_queue.get(queue, self.default)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        limit = self.threshold(arrival.queue)
        if limit is None or not arrival.expected_wait_s > limit:
            return None
        ewt = arrival.expected_wait_s
        shown = "no agent" if ewt == _INF else f"{ewt:.0f} s"
        return Verdict(self.kind, f"{self.label}: {shown} > {limit:g} s")


class Deflect(_WaitThreshold):
    """Send an arrival to self-service when its expected wait exceeds the queue's threshold."""

    name = "deflect"
    kind = "deflected"

    def __init__(self, cfg: RouterConfig) -> None:
        d = cfg.backpressure.deflect
        super().__init__(d.max_wait_s, d.queues, d.exempt)


class CallbackOffer(_WaitThreshold):
    """Offer a callback when the expected wait exceeds the queue's threshold: the customer
    hangs up, keeps the place, and is called back when it comes up (``outbound.py``)."""

    name = "callback"
    kind = "callback"

    def __init__(self, cfg: RouterConfig) -> None:
        c = cfg.backpressure.callback
        super().__init__(c.min_wait_s, c.queues, c.exempt)


class Overflow(AdmissionPolicy):
    """Move an inquiry to a second-pass queue at arrival when its queue holds ``max_queue``,
    or once it has waited ``after_s`` there; the original arrival time is kept."""

    name = "overflow"
    has_on_admitted = True

    def __init__(self, cfg: RouterConfig) -> None:
        self.rules = cfg.backpressure.overflow.queues
        self.limits = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        queue = arrival.queue
        seen = {queue}
        reason = ""
        while True:
            rule = self.rules.get(queue)
            if rule is None or rule.max_queue is None or rule.to in seen:
                break
            n = view.places_held(queue)
            if n < rule.max_queue:
                break
            reason = reason or f"queue_length: {queue} holds {n} (overflow at {rule.max_queue})"
            queue = rule.to
            seen.add(queue)
        if queue == arrival.queue:
            return None
        return Verdict("overflow", reason, queue)

    def on_admitted(self, ctx: PolicyContext, t: Ticket) -> None:
        rule = self.rules.get(t.queue.name)
        if rule is not None and rule.after_s is not None:
            ctx.schedule(t.entered + rule.after_s, t, T_OVERFLOW)

    def on_timer(self, ctx: PolicyContext, obj: Any, purpose: int) -> None:
        t: Ticket = obj
        if t.state != WAITING:
            return
        rule = self.rules.get(t.queue.name)
        now = ctx.now
        if rule is None or rule.after_s is None or now < t.entered + rule.after_s:
            return  # the queue changed since the timer was set; its own timer is pending
        limit = self.limits.get(rule.to)
        if limit is not None and ctx.places_held(rule.to) >= limit:
            return  # the second pass is full: stay
        waited = now - t.entered
        ctx.move(t, rule.to, f"waited: {waited:.0f} s in {t.queue.name} (after_s {rule.after_s:g})")


class _CodelQueue:
    __slots__ = ("count", "drop_next", "dropping", "first_above", "lastcount")

    def __init__(self) -> None:
        self.first_above = 0.0
        self.dropping = False
        self.count = 0
        self.lastcount = 0
        self.drop_next = 0.0


class Codel(AdmissionPolicy):
    """CoDel (RFC 8289) per queue, in seconds: once the head's time in the queue has stayed
    above ``target_s`` for ``interval_s``, shed the head, then again every
    ``interval_s / sqrt(count)`` while it stays above; stop as soon as it is below."""

    name = "codel"
    has_on_check = True

    def __init__(self, cfg: RouterConfig) -> None:
        c = cfg.backpressure.codel
        self.target = c.target_s
        self.interval = c.interval_s
        self.outcome: Literal["rejected", "deflected"] = (
            "deflected" if c.action == "deflect" else "rejected"
        )
        self.queues = list(c.queues) or [q.name for q in cfg.queues]
        self.state: dict[str, _CodelQueue] = {q: _CodelQueue() for q in self.queues}

    def _ok_to_drop(self, st: _CodelQueue, sojourn: float, n: int, now: float) -> bool:
        if sojourn < self.target or n <= 1:
            st.first_above = 0.0
            return False
        if st.first_above == 0.0:
            st.first_above = now + self.interval
            return False
        return now >= st.first_above

    def on_check(self, ctx: PolicyContext, now: float) -> None:
        for queue, st in self.state.items():
            self._check(ctx, queue, st, now)

    def on_timer(self, ctx: PolicyContext, obj: Any, purpose: int) -> None:
        queue = obj.name[len("codel:") :]
        st = self.state.get(queue)
        if st is not None:
            self._check(ctx, queue, st, ctx.now)

    def _check(self, ctx: PolicyContext, queue: str, st: _CodelQueue, now: float) -> None:
        head = ctx.head_of_line(queue)
        sojourn = now - head.entered if head is not None else 0.0
        ok = self._ok_to_drop(st, sojourn, ctx.places_held(queue), now)
        if st.dropping:
            if not ok:
                st.dropping = False
            while st.dropping and now >= st.drop_next:
                assert head is not None
                if not self._shed(ctx, head, sojourn, now):  # a callback at the head: skip a turn
                    st.drop_next = now + self.interval / math.sqrt(max(st.count, 1))
                    break
                st.count += 1
                head = ctx.head_of_line(queue)
                sojourn = now - head.entered if head is not None else 0.0
                if not self._ok_to_drop(st, sojourn, ctx.places_held(queue), now):
                    st.dropping = False
                else:
                    st.drop_next += self.interval / math.sqrt(st.count)
        elif ok and head is not None and self._shed(ctx, head, sojourn, now):
            st.dropping = True
            delta = st.count - st.lastcount
            recent = now - st.drop_next < 16 * self.interval
            st.count = delta if delta > 1 and recent else 1
            st.drop_next = now + self.interval / math.sqrt(st.count)
            st.lastcount = st.count
        name = f"codel:{queue}"
        if st.dropping:
            ctx.schedule_named(name, st.drop_next, st, T_CODEL)
        elif st.first_above:
            ctx.schedule_named(name, st.first_above, st, T_CODEL)
        elif head is not None:  # look again when the head would cross the target
            ctx.schedule_named(name, head.entered + self.target, st, T_CODEL)

    def _shed(self, ctx: PolicyContext, head: Ticket, sojourn: float, now: float) -> bool:
        if ctx.is_callback(head):
            return False  # a promised callback is never shed
        reason = (
            f"codel: head waited {sojourn:.0f} s in {head.queue.name}, "
            f"above target {self.target:g} s for {self.interval:g} s"
        )
        ctx.refuse_waiting(head, self.outcome, reason)
        return True

    def dump(self) -> Any:
        return {
            q: [st.first_above, st.dropping, st.count, st.lastcount, st.drop_next]
            for q, st in self.state.items()
        }

    def load(self, state: Any) -> None:
        for q, vals in state.items():
            st = self.state.get(q)
            if st is not None:
                (st.first_above, st.dropping, st.count, st.lastcount, st.drop_next) = vals


class TokenBucket(AdmissionPolicy):
    """At most ``rate_per_s`` arrivals per second per tenant (or queue), bursts up to ``burst``."""

    name = "token_bucket"

    def __init__(self, cfg: RouterConfig) -> None:
        tb = cfg.backpressure.token_bucket
        self.per = tb.per
        self.rate = tb.rate_per_s
        self.burst = tb.burst
        self.limits = {k: (v.rate_per_s, v.burst) for k, v in tb.limits.items()}
        self.outcome: Literal["rejected", "deflected"] = (
            "deflected" if tb.action == "deflect" else "rejected"
        )
        self.buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill]
        self._compact_at = 64

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        key = arrival.queue if self.per == "queue" else (arrival.tenant or "-")
        rate, burst = self.limits.get(key, (self.rate, self.burst))
        now = arrival.now
        b = self.buckets.get(key)
        if b is None:
            if len(self.buckets) >= self._compact_at:
                self._compact(now)
            b = self.buckets[key] = [burst, now]
        tokens = min(burst, b[0] + (now - b[1]) * rate)
        b[1] = now
        if tokens >= 1.0:
            b[0] = tokens - 1.0
            return None
        b[0] = tokens
        return Verdict(
            self.outcome, f"rate_limited: {self.per} {key} above {rate:g}/s (burst {burst:g})"
        )

    def _compact(self, now: float) -> None:
        """Forget full buckets (a full bucket is the same as no bucket): memory stays bounded."""
        keep = {}
        for key, b in self.buckets.items():
            rate, burst = self.limits.get(key, (self.rate, self.burst))
            if b[0] + (now - b[1]) * rate < burst:
                keep[key] = b
        self.buckets = keep
        self._compact_at = 2 * len(keep) + 64

    def dump(self) -> Any:
        return [[k, b[0], b[1]] for k, b in self.buckets.items()]

    def load(self, state: Any) -> None:
        self.buckets = {k: [tokens, last] for k, tokens, last in state}
        self._compact_at = 2 * len(self.buckets) + 64


#: name -> factory: the registry (``router/config/registry.py``), the built-in policies in it
POLICIES: dict[str, Callable[[RouterConfig], AdmissionPolicy]] = _REGISTRY
POLICIES.update(
    {
        "admit_all": lambda cfg: AdmitAll(),
        "reject_when_full": RejectWhenFull,
        "shed_lowest_priority": ShedLowestPriority,
        "block": Block,
        "deflect": Deflect,
        "callback": CallbackOffer,
        "overflow": Overflow,
        "codel": Codel,
        "token_bucket": TokenBucket,
    }
)


def build_policies(cfg: RouterConfig) -> list[AdmissionPolicy]:
    """Instantiate the configured chain; any problem of ``[backpressure]`` is a ConfigError
    (a registered factory that raises on the config, builds something else, or a policy
    under another name, too: the snapshot keys each policy's state by its name). Building
    starts nothing: ``router check`` calls it to try a plug-in's factory."""
    problems = backpressure_problems(cfg)  # (this loads the entry points it names)
    if problems:
        raise ConfigError(problems)
    chain: list[AdmissionPolicy] = []
    bp = cfg.backpressure
    for i, name in enumerate(policy_names(bp)):
        at = "$.backpressure.policy" + (f"[{i}]" if not isinstance(bp.policy, str) else "")
        factory: Callable[[RouterConfig], object] = POLICIES[name]  # (compiled: no cast yet)
        if name in POLICY_NAMES:
            made = factory(cfg)  # (a built-in's options were checked above)
        else:
            try:
                made = factory(cfg)
            except Exception as exc:  # a plug-in's factory refusing the config's values
                problems.append(
                    f"{at}: policy {name!r} refused the config: {type(exc).__name__}: {exc}"
                )
                continue
        if not isinstance(made, AdmissionPolicy):
            problems.append(
                f"{at}: the factory of policy {name!r} made {type(made).__name__}, "
                "not an AdmissionPolicy"
            )
        elif made.name != name:
            problems.append(
                f"{at}: the policy registered as {name!r} is named {made.name!r} "
                f"(its class must say name = {name!r})"
            )
        else:
            chain.append(made)
    if problems:
        raise ConfigError(problems)
    return chain
