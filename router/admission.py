"""Admission control (backpressure): what happens to an arrival the center cannot serve now.

Theory of operation: every arrival passes through a chain of policies, in the
order configured under ``[backpressure]``. Each policy may return a verdict
(reject, deflect, ...) that ends the chain, or ``None`` to pass the arrival on;
an arrival no policy refuses is admitted. Policies see the router only through
the small :class:`AdmissionView` protocol (queue lengths, expected wait), so they
stay testable alone. Policies are registered by name in :data:`POLICIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import msgspec

from router.config import Backpressure, RouterConfig
from router.errors import ConfigError

__all__ = [
    "POLICIES",
    "Admission",
    "AdmissionPolicy",
    "AdmissionView",
    "AdmitAll",
    "RejectWhenFull",
    "Verdict",
    "build_policies",
]

Outcome = Literal["admitted", "rejected", "deflected", "callback"]


class Admission(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What ``submit`` tells the caller: admitted (with an expected wait) or refused."""

    inquiry_id: str
    queue: str
    outcome: Outcome
    expected_wait_s: float
    position: int = 0
    reason: str = ""

    @property
    def admitted(self) -> bool:
        return self.outcome == "admitted"


class Verdict(msgspec.Struct, frozen=True, gc=False):
    outcome: Outcome
    reason: str


class AdmissionView(Protocol):
    """What a policy may read of the router."""

    def queue_length(self, queue: str) -> int: ...

    def total_waiting(self) -> int: ...

    def expected_wait(self, queue: str, position: int) -> float: ...


class AdmissionPolicy:
    """Base class: decide on one arrival. Return ``None`` to pass it on."""

    name = "base"

    def on_arrival(
        self, view: AdmissionView, queue: str, priority: int, now: float
    ) -> Verdict | None:
        return None


class AdmitAll(AdmissionPolicy):
    """Admit every arrival (the default; memory grows with the queue)."""

    name = "admit_all"


class RejectWhenFull(AdmissionPolicy):
    """Reject when the queue (``$.queues[i].max_queue``) or the router
    (``$.backpressure.max_queue``) already holds that many waiting inquiries."""

    name = "reject_when_full"

    def __init__(self, cfg: RouterConfig) -> None:
        self.global_max = cfg.backpressure.max_queue
        self.per_queue = {q.name: q.max_queue for q in cfg.queues if q.max_queue is not None}

    def on_arrival(
        self, view: AdmissionView, queue: str, priority: int, now: float
    ) -> Verdict | None:
        limit = self.per_queue.get(queue)
        if limit is not None and view.queue_length(queue) >= limit:
            return Verdict("rejected", f"queue_full: {queue} holds {limit}")
        if self.global_max is not None and view.total_waiting() >= self.global_max:
            return Verdict("rejected", f"router_full: {self.global_max} waiting")
        return None


POLICIES: dict[str, Callable[[RouterConfig], AdmissionPolicy]] = {
    "admit_all": lambda cfg: AdmitAll(),
    "reject_when_full": RejectWhenFull,
}


def policy_names(bp: Backpressure) -> list[str]:
    return [bp.policy] if isinstance(bp.policy, str) else list(bp.policy)


def build_policies(cfg: RouterConfig) -> list[AdmissionPolicy]:
    """Instantiate the configured chain; unknown names are a ConfigError."""
    out: list[AdmissionPolicy] = []
    names = policy_names(cfg.backpressure)
    for i, name in enumerate(names):
        factory = POLICIES.get(name)
        if factory is None:
            where = "$.backpressure.policy" + (f"[{i}]" if len(names) > 1 else "")
            known = ", ".join(sorted(POLICIES))
            raise ConfigError([f"{where}: unknown policy {name!r}; known: {known}"])
        out.append(factory(cfg))
    return out
