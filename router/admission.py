"""Admission control (backpressure): what happens to an arrival the center cannot serve now.

Theory of operation
-------------------
Every arrival gets an expected wait (``estimate.py``) and then passes through
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
(``surge.py``) switches a bundle of measures on and off. Those use deadlines of
their own kind in the core's single deadline heap, so they interleave with
patience and offer expiry in exact time order.

Policies are registered by name in :data:`POLICIES` (a factory taking the
:class:`~router.config.RouterConfig`); they read the router through
:class:`AdmissionView`, implemented by :class:`AdmissionControl`, the glue
between the policies and the core that owns every state change. Nothing is ever
lost: every inquiry that leaves a queue other than by being answered gets
exactly one outcome event (``Rejected``, ``Deflected``, ``Abandoned`` or
``Withdrawn``); a move gets an ``Overflowed`` event.

Stateful pieces (token buckets, CoDel state, the shedding index, surge state,
parked callbacks, held outbound tasks, estimator rates, policy timers) go into
the snapshot through :meth:`AdmissionControl.dump` / :meth:`AdmissionControl.load`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from router._records import OFFERED, PARKED, WAITING, Pool, Ticket
from router.config import DEFAULT_CHANNELS, Backpressure, RouterConfig
from router.errors import ConfigError
from router.events import Deflected, Overflowed, Queued, Rejected

if TYPE_CHECKING:
    from router.core import Router
    from router.outbound import Callbacks, Outbound
    from router.surge import SurgeControl

__all__ = [
    "POLICIES",
    "Admission",
    "AdmissionControl",
    "AdmissionPolicy",
    "AdmissionView",
    "AdmitAll",
    "Arrival",
    "Block",
    "CallbackOffer",
    "Codel",
    "Deflect",
    "Overflow",
    "RejectWhenFull",
    "ShedLowestPriority",
    "TokenBucket",
    "Verdict",
    "backpressure_problems",
    "build_policies",
    "policy_names",
]

Outcome = Literal["admitted", "rejected", "deflected", "callback", "blocked"]
VerdictKind = Literal["rejected", "deflected", "callback", "blocked", "overflow", "shed"]

#: Deadline kind of backpressure timers in the core's heap (K_OFFER..K_AGENT are 1..5).
K_BP = 6
# timer purposes (the ``arg`` of a K_BP deadline)
T_OVERFLOW = 1  # obj: Ticket
T_RETRY = 2  # obj: Ticket (a callback between attempts)
T_CODEL = 3  # obj: _Timer (one per queue)
T_SURGE = 4  # obj: _Timer

_INF = math.inf


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
    outcome: Outcome
    expected_wait_s: float
    position: int = 0
    reason: str = ""

    @property
    def admitted(self) -> bool:
        """True when the inquiry is in the router (in line or as a callback)."""
        return self.outcome == "admitted" or self.outcome == "callback"


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """A policy's opinion on one arrival. ``target``: overflow queue, or inquiry id to shed."""

    outcome: VerdictKind
    reason: str
    target: str = ""


class Arrival:
    """One arrival as the policies see it (mutable: an overflow changes its queue)."""

    __slots__ = ("expected_wait_s", "inquiry_id", "now", "position", "priority", "queue", "tenant")

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


class AdmissionView(Protocol):
    """What a policy may read of the router."""

    def queue_length(self, queue: str) -> int: ...

    def total_waiting(self) -> int: ...

    def expected_wait(self, queue: str, position: int) -> float: ...

    def lowest_priority_waiting(self, queue: str | None, below: int) -> tuple[str, int] | None: ...


class AdmissionPolicy:
    """Base class: decide on one arrival. Return ``None`` to pass it on.

    Optional hooks, called by :class:`AdmissionControl` when overridden:
    ``on_admitted`` (an inquiry entered a queue: arrival or overflow),
    ``on_check`` (after each matching pass and at the policy's own timers),
    ``on_timer`` (a ticket timer of this policy fired), ``dump``/``load`` (state
    for the snapshot).
    """

    name = "base"

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        return None

    def on_admitted(self, ctl: AdmissionControl, t: Ticket) -> None:
        return None

    def on_check(self, ctl: AdmissionControl, now: float) -> None:
        return None

    def on_timer(self, ctl: AdmissionControl, obj: Any, purpose: int) -> None:
        return None

    def dump(self) -> Any:
        return None

    def load(self, state: Any) -> None:
        return None


def _overrides(policy: AdmissionPolicy, hook: str) -> bool:
    return getattr(type(policy), hook) is not getattr(AdmissionPolicy, hook)


# ---------------------------------------------------------------------- policies


class AdmitAll(AdmissionPolicy):
    """Admit every arrival (the default; memory grows with the queue)."""

    name = "admit_all"


class _Bounds:
    """``$.backpressure.max_queue`` (the router) and ``$.queues[i].max_queue`` (each queue)."""

    def __init__(self, cfg: RouterConfig) -> None:
        self.global_max = cfg.backpressure.max_queue
        self.per_queue = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}

    def queue_full(self, view: AdmissionView, queue: str) -> str | None:
        limit = self.per_queue.get(queue)
        if limit is not None and view.queue_length(queue) >= limit:
            return f"queue_full: {queue} holds {limit}"
        return None

    def router_full(self, view: AdmissionView) -> str | None:
        if self.global_max is not None and view.total_waiting() >= self.global_max:
            return f"router_full: {self.global_max} waiting"
        return None


class RejectWhenFull(AdmissionPolicy):
    """Reject when the queue (``$.queues[i].max_queue``) or the router
    (``$.backpressure.max_queue``) already holds that many waiting inquiries."""

    name = "reject_when_full"

    def __init__(self, cfg: RouterConfig) -> None:
        self.bounds = _Bounds(cfg)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        reason = self.bounds.queue_full(view, arrival.queue) or self.bounds.router_full(view)
        return Verdict("rejected", reason) if reason else None


class ShedLowestPriority(AdmissionPolicy):
    """When full, a higher-priority arrival evicts the lowest-priority, newest waiting inquiry
    (of its queue if the queue is full, of the router otherwise); else the arrival is rejected."""

    name = "shed_lowest_priority"

    def __init__(self, cfg: RouterConfig) -> None:
        self.bounds = _Bounds(cfg)

    def on_arrival(self, view: AdmissionView, arrival: Arrival) -> Verdict | None:
        full_q = self.bounds.queue_full(view, arrival.queue)
        full = full_q or self.bounds.router_full(view)
        if full is None:
            return None
        victim = view.lowest_priority_waiting(arrival.queue if full_q else None, arrival.priority)
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
        reason = self.bounds.queue_full(view, arrival.queue) or self.bounds.router_full(view)
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
            n = view.queue_length(queue)
            if n < rule.max_queue:
                break
            reason = reason or f"queue_length: {queue} holds {n} (overflow at {rule.max_queue})"
            queue = rule.to
            seen.add(queue)
        if queue == arrival.queue:
            return None
        return Verdict("overflow", reason, queue)

    def on_admitted(self, ctl: AdmissionControl, t: Ticket) -> None:
        rule = self.rules.get(t.queue.name)
        if rule is not None and rule.after_s is not None:
            ctl.schedule(t.entered + rule.after_s, t, T_OVERFLOW)

    def on_timer(self, ctl: AdmissionControl, obj: Any, purpose: int) -> None:
        t: Ticket = obj
        if t.state != WAITING:
            return
        rule = self.rules.get(t.queue.name)
        now = ctl.r._now
        if rule is None or rule.after_s is None or now < t.entered + rule.after_s:
            return  # the queue changed since the timer was set; its own timer is pending
        limit = self.limits.get(rule.to)
        if limit is not None and ctl.queue_length(rule.to) >= limit:
            return  # the second pass is full: stay
        waited = now - t.entered
        ctl.move(t, rule.to, f"waited: {waited:.0f} s in {t.queue.name} (after_s {rule.after_s:g})")


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

    def on_check(self, ctl: AdmissionControl, now: float) -> None:
        for queue, st in self.state.items():
            self._check(ctl, queue, st, now)

    def on_timer(self, ctl: AdmissionControl, obj: Any, purpose: int) -> None:
        queue = obj.name[len("codel:") :]
        st = self.state.get(queue)
        if st is not None:
            self._check(ctl, queue, st, ctl.r._now)

    def _check(self, ctl: AdmissionControl, queue: str, st: _CodelQueue, now: float) -> None:
        head = ctl.head_of_line(queue)
        sojourn = now - head.entered if head is not None else 0.0
        ok = self._ok_to_drop(st, sojourn, ctl.queue_length(queue), now)
        if st.dropping:
            if not ok:
                st.dropping = False
            while st.dropping and now >= st.drop_next:
                assert head is not None
                if not self._shed(ctl, head, sojourn, now):  # a callback at the head: skip a turn
                    st.drop_next = now + self.interval / math.sqrt(max(st.count, 1))
                    break
                st.count += 1
                head = ctl.head_of_line(queue)
                sojourn = now - head.entered if head is not None else 0.0
                if not self._ok_to_drop(st, sojourn, ctl.queue_length(queue), now):
                    st.dropping = False
                else:
                    st.drop_next += self.interval / math.sqrt(st.count)
        elif ok and head is not None and self._shed(ctl, head, sojourn, now):
            st.dropping = True
            delta = st.count - st.lastcount
            recent = now - st.drop_next < 16 * self.interval
            st.count = delta if delta > 1 and recent else 1
            st.drop_next = now + self.interval / math.sqrt(st.count)
            st.lastcount = st.count
        name = f"codel:{queue}"
        if st.dropping:
            ctl.schedule_named(name, st.drop_next, st, T_CODEL)
        elif st.first_above:
            ctl.schedule_named(name, st.first_above, st, T_CODEL)
        elif head is not None:  # look again when the head would cross the target
            ctl.schedule_named(name, head.entered + self.target, st, T_CODEL)

    def _shed(self, ctl: AdmissionControl, head: Ticket, sojourn: float, now: float) -> bool:
        if ctl.callbacks.is_callback(head):
            return False  # a promised callback is never shed
        reason = (
            f"codel: head waited {sojourn:.0f} s in {head.queue.name}, "
            f"above target {self.target:g} s for {self.interval:g} s"
        )
        ctl.refuse_waiting(head, self.outcome, reason)
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


POLICIES: dict[str, Callable[[RouterConfig], AdmissionPolicy]] = {
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

_BOUNDED = ("reject_when_full", "shed_lowest_priority", "block")


def policy_names(bp: Backpressure) -> list[str]:
    return [bp.policy] if isinstance(bp.policy, str) else list(bp.policy)


def backpressure_problems(cfg: RouterConfig) -> list[str]:
    """Checks of ``[backpressure]`` against the rest of the config; one line per problem."""
    out: list[str] = []
    bp = cfg.backpressure
    names = policy_names(bp)
    queues = {q.name: q for q in cfg.queues}
    where = "$.backpressure.policy"
    for i, name in enumerate(names):
        at = where + (f"[{i}]" if not isinstance(bp.policy, str) else "")
        if name not in POLICIES:
            out.append(f"{at}: unknown policy {name!r}; known: {', '.join(sorted(POLICIES))}")
        elif name in names[:i]:
            out.append(f"{at}: policy {name!r} appears twice")
        elif (
            name in _BOUNDED
            and bp.max_queue is None
            and not any(q.max_queue is not None for q in cfg.queues)
        ):
            out.append(
                f"{at}: {name} needs a bound: set $.backpressure.max_queue or max_queue on a queue"
            )

    def check_queues(path: str, items: Any) -> None:
        for qn in items:
            if qn not in queues:
                out.append(
                    f"{path}.{qn}: unknown queue {qn!r}"
                    if isinstance(items, dict)
                    else f"{path}: unknown queue {qn!r}"
                )

    check_queues("$.backpressure.deflect.queues", bp.deflect.queues)
    check_queues("$.backpressure.deflect.exempt", bp.deflect.exempt)
    check_queues("$.backpressure.callback.queues", bp.callback.queues)
    check_queues("$.backpressure.callback.exempt", bp.callback.exempt)
    check_queues("$.backpressure.codel.queues", bp.codel.queues)
    check_queues("$.backpressure.outbound.queues", bp.outbound.queues)
    check_queues("$.backpressure.outbound.protect", bp.outbound.protect)
    if bp.token_bucket.per == "queue":
        check_queues("$.backpressure.token_bucket.limits", bp.token_bucket.limits)
    for src, rule in bp.overflow.queues.items():
        p = f"$.backpressure.overflow.queues.{src}"
        if src not in queues:
            out.append(f"{p}: unknown queue {src!r}")
            continue
        if rule.to not in queues:
            out.append(f"{p}.to: unknown queue {rule.to!r}")
            continue
        if rule.to == src:
            out.append(f"{p}.to: a queue cannot overflow to itself")
        elif queues[src].channel != queues[rule.to].channel:
            out.append(
                f"{p}.to: queue {rule.to!r} is on channel {queues[rule.to].channel!r}, "
                f"{src!r} on {queues[src].channel!r}"
            )
        elif queues[src].tenant != queues[rule.to].tenant and queues[rule.to].tenant is not None:
            out.append(
                f"{p}.to: queue {rule.to!r} belongs to tenant {queues[rule.to].tenant!r}, "
                f"{src!r} to {queues[src].tenant!r}"
            )
        if rule.after_s is None and rule.max_queue is None:
            out.append(f"{p}: set after_s, max_queue or both")
        # cycles of timed moves would bounce an inquiry forever
        seen, q = {src}, rule.to
        while q in bp.overflow.queues:
            if q in seen:
                out.append(f"{p}.to: overflow rules form a cycle through {q!r}")
                break
            seen.add(q)
            q = bp.overflow.queues[q].to
    s = bp.surge
    if s is not None:
        p = "$.backpressure.surge"
        if s.enter_wait_s is None and s.enter_waiting is None:
            out.append(f"{p}: set enter_wait_s, enter_waiting or both")
        if (
            s.enter_wait_s is not None
            and s.exit_wait_s is not None
            and s.exit_wait_s > s.enter_wait_s
        ):
            out.append(
                f"{p}.exit_wait_s: {s.exit_wait_s:g} is above enter_wait_s {s.enter_wait_s:g}"
            )
        if (
            s.enter_waiting is not None
            and s.exit_waiting is not None
            and s.exit_waiting > s.enter_waiting
        ):
            out.append(
                f"{p}.exit_waiting: {s.exit_waiting} is above enter_waiting {s.enter_waiting}"
            )
        check_queues(f"{p}.queues", s.queues)
        channels = {**DEFAULT_CHANNELS, **cfg.channels}
        for ch, cap in s.caps.items():
            if ch not in channels:
                out.append(f"{p}.caps.{ch}: unknown channel {ch!r}")
            elif cap > channels[ch].max_concurrency:
                out.append(
                    f"{p}.caps.{ch}: {cap} is above the channel's hard maximum "
                    f"{channels[ch].max_concurrency}"
                )
    return out


def build_policies(cfg: RouterConfig) -> list[AdmissionPolicy]:
    """Instantiate the configured chain; any problem of ``[backpressure]`` is a ConfigError."""
    problems = backpressure_problems(cfg)
    if problems:
        raise ConfigError(problems)
    return [POLICIES[name](cfg) for name in policy_names(cfg.backpressure)]


# ---------------------------------------------------------------------- the glue


class _Timer:
    """A named backpressure timer that is not about one inquiry (CoDel of a queue, surge)."""

    __slots__ = ("id", "name", "target")

    def __init__(self, name: str, target: Any) -> None:
        self.id = "\x00" + name  # never an inquiry id: the core snapshot skips it, we keep it
        self.name = name
        self.target = target


class AdmissionControl:
    """Runs the chain for each arrival and every time-driven backpressure measure.

    Owned by the :class:`~router.core.Router`; implements :class:`AdmissionView`.
    """

    def __init__(self, router: Router) -> None:
        from router.outbound import Callbacks, Outbound
        from router.surge import SurgeControl

        self.r = router
        self.chain: list[AdmissionPolicy] = []
        self.callbacks: Callbacks = Callbacks(self)
        self.outbound: Outbound = Outbound(self)
        self.surge: SurgeControl = SurgeControl(self)
        self.active = False
        self._timers: dict[str, _Timer] = {}
        self._timer_at: dict[str, float] = {}
        self._shed_q: dict[str, list[tuple[int, int, int, Ticket]]] = {}
        self._shed_all: list[tuple[int, int, int, Ticket]] = []
        self._shed_k = 0
        self._shed_on = False
        self._qpools: dict[str, list[Pool]] = {}
        self._qpools_key: tuple[int, int] = (0, -1)
        self._on_admitted: list[AdmissionPolicy] = []
        self._on_check: list[AdmissionPolicy] = []
        self._overflow: Overflow | None = None
        self._codel: Codel | None = None
        self._bounds: _Bounds | None = None

    # ------------------------------------------------------------------ config

    def configure(self, cfg: RouterConfig) -> None:
        """(Re)build the chain from ``cfg``, keeping the state of policies that stay."""
        old = {p.name: p for p in self.chain}
        chain = build_policies(cfg)
        for p in chain:
            prev = old.get(p.name)
            state = prev.dump() if prev is not None else None
            if state is not None:
                p.load(state)
        self.chain = [p for p in chain if not isinstance(p, AdmitAll)]  # no-ops cost nothing
        self._on_admitted = [p for p in chain if _overrides(p, "on_admitted")]
        self._on_check = [p for p in chain if _overrides(p, "on_check")]
        self._overflow = next((p for p in chain if isinstance(p, Overflow)), None)
        self._codel = next((p for p in chain if isinstance(p, Codel)), None)
        self._bounds = _Bounds(cfg)
        shed = any(isinstance(p, ShedLowestPriority) for p in chain)
        if shed and not self._shed_on:
            self._rebuild_shed_index()
        self._shed_on = shed
        bp = cfg.backpressure
        self.r._estimator.alpha = bp.estimate.alpha
        self.r._estimator.prior_handle_s = bp.estimate.prior_handle_s
        self.callbacks.configure(cfg)
        in_chain = next((p for p in chain if isinstance(p, CallbackOffer)), None)
        if in_chain is not None:
            self.callbacks.policy = in_chain  # surge then adds nothing: it already runs
        self.outbound.configure(cfg)
        self.surge.configure(cfg)
        self.active = bool(self._on_check) or self.surge.enabled or self.outbound.enabled

    # ------------------------------------------------------------------ the view

    def queue_length(self, queue: str) -> int:
        """Places held in ``queue``: waiting, plus callbacks between two attempts."""
        q = self.r._queues.get(queue)
        n = q.n_waiting if q is not None else 0
        cb = self.callbacks
        return n + cb.retrying_in.get(queue, 0) if cb.retrying else n

    def total_waiting(self) -> int:
        """Places held in the router (see :meth:`queue_length`)."""
        return self.r._waiting + len(self.callbacks.retrying)

    def expected_wait(self, queue: str, position: int) -> float:
        return self.r._estimator.expected_wait(queue, position)

    def has_room(self, queue: str) -> bool:
        """False while ``queue`` or the router is at a configured ``max_queue``."""
        b = self._bounds
        assert b is not None
        limit = b.per_queue.get(queue)
        if limit is not None and self.queue_length(queue) >= limit:
            return False
        return b.global_max is None or self.total_waiting() < b.global_max

    # ------------------------------------------------------------------ arrivals

    def estimate(self, t: Ticket, pool: Pool) -> tuple[int, float]:
        """Position (1 = next) and expected wait of a new arrival ``t`` in ``pool``."""
        r = self.r
        q = t.queue
        position = r._position(q, t.priority)
        if pool.eligible == 0:
            return position, _INF
        free = 0
        if not pool.n_waiting or r._pending or r._freed:
            # after a matching pass nobody free fits a pool that still has a line
            free = self._free_agents(pool, min(position, 8))  # they take the first in line
            if free >= position:
                return position, 0.0
        est = r._estimator
        slots = 1.0 if q.name in est.gap else _slots(pool)
        return position, est.expected_wait(q.name, position - free, t.priority, r._ps, slots)

    def _free_agents(self, pool: Pool, need: int) -> int:
        """Agents who could take an inquiry of ``pool`` now: listed ones, and ones freed
        since the last matching pass (a bounded look at both)."""
        n = _free_agents(pool, need)
        if n < need and self.r._freed:
            can_take = self.r._can_take
            for i, agent in enumerate(self.r._freed.values()):
                if i >= 64:
                    break
                if any(p is pool for p, _, _ in agent.pools) and can_take(agent, pool):
                    n += 1
                    if n >= need:
                        break
        return n

    def submit(self, t: Ticket, pool: Pool) -> Admission:
        """Decide on an arrival (already validated by the core) and act on the verdict."""
        r = self.r
        q = t.queue
        if self.outbound.enabled and q.name in self.outbound.queues:
            return self.outbound.hold(t)
        surge = r._surge
        if surge and self.surge.relax and q.steps:
            t.step = len(q.steps)
            pool = r._pool_for(t)
        position, ewt = self.estimate(t, pool)
        chain = self.chain
        extra = self.callbacks.policy
        if surge and self.surge.callbacks and extra is not None and extra not in chain:
            chain = [extra, *chain]
        if not chain:  # the fast path: admit
            r.counters["submitted"] += 1
            r._admit(t, pool)
            r._estimator.on_arrival(q.name, t.priority, t.arrival)
            if self._on_admitted:
                self._admitted(t)
            r._emit(
                Queued, inquiry_id=t.id, queue=q.name, position=position, expected_wait_s=_wire(ewt)
            )
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome="admitted",
                expected_wait_s=ewt,
                position=position,
            )
        return self._judge(t, pool, position, ewt, chain)

    def _judge(
        self, t: Ticket, pool: Pool, position: int, ewt: float, chain: list[AdmissionPolicy]
    ) -> Admission:
        """Run the chain on an arrival and act on the verdicts."""
        r = self.r
        c = r.counters
        q = t.queue
        callback = ""
        victims: list[tuple[str, str]] = []
        moves: list[tuple[str, str, str]] = []
        reason = ""
        arrival = Arrival(t.id, q.name, t.tenant, t.priority, position, ewt, r._now)
        for policy in chain:
            v = policy.on_arrival(self, arrival)
            if v is None:
                continue
            kind = v.outcome
            if kind == "shed":
                victims.append((v.target, v.reason))
                continue
            if kind == "overflow":
                moves.append((q.name, v.target, v.reason))
                reason = f"overflow: {v.reason}"
                q = t.queue = r._queues[v.target]
                pool = r._pool_for(t)
                position, ewt = self.estimate(t, pool)
                arrival.queue = q.name
                arrival.position = position
                arrival.expected_wait_s = ewt
                continue
            if kind == "blocked":
                c["blocked"] = c.get("blocked", 0) + 1
                return Admission(
                    inquiry_id=t.id,
                    queue=q.name,
                    outcome="blocked",
                    expected_wait_s=ewt,
                    reason=v.reason,
                )
            if kind == "callback":  # takes effect if no later policy refuses
                callback = callback or v.reason
                continue
            # rejected / deflected: the one outcome of this arrival
            c["submitted"] += 1
            self._overflow_events(t, moves)
            c[kind] += 1
            cls = Deflected if kind == "deflected" else Rejected
            r._emit(cls, inquiry_id=t.id, queue=q.name, reason=v.reason)
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome=kind,
                expected_wait_s=ewt,
                position=position,
                reason=v.reason,
            )
        c["submitted"] += 1
        self._overflow_events(t, moves)
        for vid, vreason in victims:
            victim = r._tickets.get(vid)
            if victim is not None and victim.state == WAITING:
                c["shed"] = c.get("shed", 0) + 1
                self.refuse_waiting(victim, "rejected", vreason)
        if callback:
            t.patience_at = None  # the customer hung up: no abandonment while parked
        r._admit(t, pool)
        r._estimator.on_arrival(q.name, t.priority, t.arrival)
        self._admitted(t, callback=bool(callback))
        r._emit(
            Queued, inquiry_id=t.id, queue=q.name, position=position, expected_wait_s=_wire(ewt)
        )
        if callback:
            self.callbacks.park(t, ewt)
            return Admission(
                inquiry_id=t.id,
                queue=q.name,
                outcome="callback",
                expected_wait_s=ewt,
                position=position,
                reason=callback,
            )
        return Admission(
            inquiry_id=t.id,
            queue=q.name,
            outcome="admitted",
            expected_wait_s=ewt,
            position=position,
            reason=reason,
        )

    def _overflow_events(self, t: Ticket, moves: list[tuple[str, str, str]]) -> None:
        if moves:
            c = self.r.counters
            c["overflowed"] = c.get("overflowed", 0) + len(moves)
        for src, dst, why in moves:
            self.r._emit(Overflowed, inquiry_id=t.id, from_queue=src, to_queue=dst, reason=why)

    def _admitted(self, t: Ticket, first: bool = True, callback: bool = False) -> None:
        """``t`` entered ``t.queue`` (an arrival, or an overflow when not ``first``)."""
        if self._shed_on and not callback and not self.callbacks.is_callback(t):
            self._shed_push(t, everywhere=first)
        for p in self._on_admitted:
            p.on_admitted(self, t)

    # ------------------------------------------------------------------ actions

    def refuse_waiting(
        self, t: Ticket, outcome: Literal["rejected", "deflected"], reason: str
    ) -> None:
        """Take a waiting inquiry out of line with its one outcome event."""
        r = self.r
        r._estimator.on_removed(t.queue.name, r._now - t.entered)
        r._leave(t)
        r.counters[outcome] += 1
        cls = Deflected if outcome == "deflected" else Rejected
        r._emit(cls, inquiry_id=t.id, queue=t.queue.name, reason=reason)

    def move(self, t: Ticket, to: str, reason: str) -> None:
        """Overflow a waiting inquiry to queue ``to``, keeping its arrival time."""
        r = self.r
        src = t.queue.name
        r._estimator.on_removed(src, r._now - t.entered)
        r._dequeue(t)
        t.queue = r._queues[to]
        t.entered = r._now
        t.step = len(t.queue.steps) if self.surge.relax_now else 0
        t.pool = r._pool_for(t)
        r._enqueue(t)
        r._pending.append(t)
        r._schedule_step(t)
        c = r.counters
        c["overflowed"] = c.get("overflowed", 0) + 1
        r._emit(Overflowed, inquiry_id=t.id, from_queue=src, to_queue=to, reason=reason)
        self._admitted(t, first=False)

    def relax_all(self) -> int:
        """Surge: every waiting inquiry jumps to its queue's last relaxation step."""
        r = self.r
        moved = 0
        for t in list(r._tickets.values()):
            steps = t.queue.steps
            if t.state != WAITING or not steps or t.step >= len(steps):
                continue
            r._dequeue(t)
            t.step = len(steps)
            t.pool = r._pool_for(t)
            r._enqueue(t)
            r._pending.append(t)
            moved += 1
        return moved

    # ------------------------------------------------------------------ queues

    def pools_of(self, queue: str) -> list[Pool]:
        r = self.r
        key = (id(r._pools), len(r._pools))
        if key != self._qpools_key:
            by: dict[str, list[Pool]] = {}
            for pool in r._pools.values():
                by.setdefault(pool.queue.name, []).append(pool)
            self._qpools = by
            self._qpools_key = key
        return self._qpools.get(queue, [])

    def head_of_line(self, queue: str) -> Ticket | None:
        """The waiting inquiry of ``queue`` that is next in line (smallest aged key)."""
        q = self.r._queues.get(queue)
        if q is None or not q.n_waiting:
            return None
        best: tuple[float, int, int, Ticket] | None = None
        for pool in self.pools_of(queue):
            heap = pool.waiting
            while heap:
                e = heap[0]
                t = e[3]
                if t.ver != e[2] or t.state != WAITING:
                    heappop(heap)
                    continue
                if best is None or e < best:
                    best = e
                break
        return best[3] if best is not None else None

    def waiting_in(self, queue: str) -> Iterator[Ticket]:
        """Every waiting inquiry of ``queue`` (no order)."""
        for pool in self.pools_of(queue):
            for e in pool.waiting:
                t = e[3]
                if t.ver == e[2] and t.state == WAITING:
                    yield t

    # ------------------------------------------------------------------ shedding index

    def _rebuild_shed_index(self) -> None:
        self._shed_q = {}
        self._shed_all = []
        for t in self.r._tickets.values():
            if t.state in (WAITING, OFFERED) and not self.callbacks.is_callback(t):
                self._shed_push(t)

    def _shed_push(self, t: Ticket, everywhere: bool = True) -> None:
        self._shed_k += 1
        e = (t.priority, -t.seq, self._shed_k, t)
        heappush(self._shed_q.setdefault(t.queue.name, []), e)
        if everywhere:
            heappush(self._shed_all, e)

    def lowest_priority_waiting(self, queue: str | None, below: int) -> tuple[str, int] | None:
        """The lowest-priority, newest waiting inquiry (of ``queue``, or anywhere) with a
        priority below ``below``; ``None`` if there is none."""
        r = self.r
        if queue is None:
            heap = self._shed_all
            live = r._waiting
        else:
            heap = self._shed_q.get(queue, [])
            q = r._queues.get(queue)
            live = q.n_waiting if q is not None else 0
        if len(heap) > 2 * live + 64:
            heap[:] = [e for e in heap if self._shed_live(e[3], queue)]
            heapify(heap)
        aside = []
        found = None
        while heap:
            t = heap[0][3]
            if not self._shed_live(t, queue):
                heappop(heap)
                continue
            if t.state != WAITING:  # on offer right now: may come back, keep it indexed
                aside.append(heappop(heap))
                continue
            if t.priority < below:
                found = (t.id, t.priority)
            break
        for e in aside:
            heappush(heap, e)
        return found

    def _shed_live(self, t: Ticket, queue: str | None) -> bool:
        return (
            self.r._tickets.get(t.id) is t
            and t.state in (WAITING, OFFERED)
            and (queue is None or t.queue.name == queue)
        )

    # ------------------------------------------------------------------ timers

    def schedule(self, when: float, t: Ticket, purpose: int) -> None:
        """A timer about one inquiry (it dies with the inquiry)."""
        self.r._at(when, K_BP, t, purpose)

    def schedule_named(self, name: str, when: float, target: Any, purpose: int) -> None:
        """A named timer; an earlier pending one of the same name makes this one redundant."""
        pending = self._timer_at.get(name, _INF)
        now = self.r._now
        if when <= now or now <= pending <= when:
            return  # never in the past (it would fire again at once); or already covered
        timer = self._timers.get(name)
        if timer is None:
            timer = self._timers[name] = _Timer(name, target)
        timer.target = target
        self._timer_at[name] = when
        self.r._at(when, K_BP, timer, purpose)

    def timer_live(self, obj: Any, purpose: int) -> bool:
        if isinstance(obj, _Timer):
            return self._timers.get(obj.name) is obj
        t: Ticket = obj
        if self.r._tickets.get(t.id) is not t:
            return False
        if purpose == T_RETRY:
            return t.state == PARKED
        return t.state == WAITING

    def fire(self, obj: Any, purpose: int) -> None:
        if isinstance(obj, _Timer):
            if self._timer_at.get(obj.name) == self.r._now:
                self._timer_at.pop(obj.name, None)
            if purpose == T_CODEL:
                if self._codel is not None:
                    self._codel.on_timer(self, obj, purpose)
            elif purpose == T_SURGE:
                self.surge.on_timer()
            return
        if purpose == T_OVERFLOW:
            if self._overflow is not None:
                self._overflow.on_timer(self, obj, purpose)
        elif purpose == T_RETRY:
            self.callbacks.on_retry(obj)

    # ------------------------------------------------------------------ after each match

    def after_match(self) -> None:
        """Surge evaluation, time-driven policies and outbound release, after a matching pass."""
        r = self.r
        now = r._now
        if self.surge.enabled:
            self.surge.evaluate(now)
            if r._freed or r._pending:
                r._match()
        for p in self._on_check:
            p.on_check(self, now)
        if self.outbound.enabled:
            self.outbound.release()

    # ------------------------------------------------------------------ snapshot

    def dump(self) -> dict[str, Any]:
        """Backpressure state for the snapshot (plain data)."""
        r = self.r
        timers = [
            [at, seq, arg, obj.name]
            for at, seq, kind, obj, arg in r._deadlines
            if kind == K_BP and isinstance(obj, _Timer) and self._timers.get(obj.name) is obj
        ]
        return {
            "policies": {p.name: p.dump() for p in self.chain if p.dump() is not None},
            "estimator": r._estimator.extra_state(),
            "callbacks": self.callbacks.dump(),
            "outbound": self.outbound.dump(),
            "surge": self.surge.dump(),
            "timers": timers,
            "timer_at": dict(self._timer_at),
            "shed": self._dump_shed() if self._shed_on else None,
        }

    def _dump_shed(self) -> Any:
        return {
            "k": self._shed_k,
            "all": [t.id for *_, t in self._shed_all if self.r._tickets.get(t.id) is t],
            "q": {
                q: [t.id for *_, t in heap if self.r._tickets.get(t.id) is t]
                for q, heap in self._shed_q.items()
            },
        }

    def load(self, state: dict[str, Any]) -> None:
        """Restore :meth:`dump` output into a router rebuilt from the same config."""
        if not state:
            return
        r = self.r
        by_name = {p.name: p for p in self.chain}
        for name, st in state.get("policies", {}).items():
            if name in by_name:
                by_name[name].load(st)
        r._estimator.load_extra_state(state.get("estimator", {}))
        self.callbacks.load(state.get("callbacks"))
        self.outbound.load(state.get("outbound"))
        self.surge.load(state.get("surge"))
        targets: dict[str, Any] = {}
        if self._codel is not None:
            for q, st in self._codel.state.items():
                targets[f"codel:{q}"] = st
        targets["surge"] = self.surge
        for at, seq, arg, name in state.get("timers", []):
            timer = self._timers.get(name)
            if timer is None:
                timer = self._timers[name] = _Timer(name, targets.get(name))
            r._deadlines.append((at, seq, K_BP, timer, arg))
        heapify(r._deadlines)
        self._timer_at = dict(state.get("timer_at", {}))
        shed = state.get("shed")
        if shed is not None and self._shed_on:
            tickets = r._tickets

            def entries(ids: list[str]) -> list[tuple[int, int, int, Ticket]]:
                # dead entries were dropped, so re-heapify; the pop order is the same
                # (a total order on priority, seq; ties are the same ticket)
                out = []
                for k, i in enumerate(ids):
                    t = tickets.get(i)
                    if t is not None:
                        out.append((t.priority, -t.seq, k, t))
                return out

            self._shed_all = entries(shed["all"])
            heapify(self._shed_all)
            self._shed_q = {q: entries(ids) for q, ids in shed["q"].items()}
            for heap in self._shed_q.values():
                heapify(heap)
            self._shed_k = shed["k"]


def _free_agents(pool: Pool, need: int) -> int:
    """How many agents listed in ``pool`` can take work now (counting stops at ``need``)."""
    heap = pool.agents
    while heap and heap[0][3].ver != heap[0][2]:
        heappop(heap)  # stale heads would be dropped by the next match anyway
    if not heap:
        return 0
    if need <= 1:
        return 1  # a valid head: the common case costs O(1)
    n = 0
    limit = 4 * need + 32  # stale entries are few after compaction; never scan a huge heap
    for i, e in enumerate(pool.agents):
        if e[3].ver == e[2]:
            n += 1
            if n >= need:
                break
        if i > limit:
            break
    return n


def _slots(pool: Pool) -> float:
    """Eligible capacity of ``pool``: eligible agents times their typical cap on its channel."""
    ch = pool.channel
    caps = [e[3].caps.get(ch, 1) for e in pool.agents[:32]]
    per_agent = sum(caps) / len(caps) if caps else 1.0
    return max(1.0, pool.eligible * per_agent)


def _wire(seconds: float) -> float | None:
    """An expected wait for events: ``None`` (unknown) instead of infinity, which JSON lacks."""
    return seconds if seconds < _INF else None
