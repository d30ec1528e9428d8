"""Named policy timers: one pending wake-up per name (CoDel of a queue, surge detection).

Theory of operation: a policy that must look again at some time, whatever else
happens, asks for a named timer. The core keeps it in its one deadline heap
(``CoreOps.schedule``), so it interleaves with patience and offer expiry in
exact time order. An earlier pending timer of the same name covers a later
request; a request in the past is dropped (it would fire again at once). A
timer about one inquiry is not named: it goes to the heap with the inquiry as
its target and dies with it.
"""

from __future__ import annotations

import math
from typing import Any

from router.state.ops import CoreOps

__all__ = ["NamedTimer", "NamedTimers"]


class NamedTimer:
    """The target of a named timer in the core's deadline heap."""

    __slots__ = ("id", "name", "target")

    def __init__(self, name: str, target: Any) -> None:
        self.id = "\x00" + name  # never an inquiry id: the core snapshot skips it, we keep it
        self.name = name
        self.target = target


class NamedTimers:
    """The pending named timers of the policies."""

    __slots__ = ("at", "ops", "timers")

    def __init__(self, ops: CoreOps) -> None:
        self.ops = ops
        self.timers: dict[str, NamedTimer] = {}
        self.at: dict[str, float] = {}

    def schedule(self, name: str, when: float, target: Any, purpose: int) -> None:
        """Wake ``target`` at ``when`` unless a pending timer of ``name`` comes first."""
        pending = self.at.get(name, math.inf)
        now = self.ops.now
        if when <= now or now <= pending <= when:
            return  # never in the past (it would fire again at once); or already covered
        timer = self.timers.get(name)
        if timer is None:
            timer = self.timers[name] = NamedTimer(name, target)
        timer.target = target
        self.at[name] = when
        self.ops.schedule(when, timer, purpose)

    def live(self, timer: NamedTimer) -> bool:
        return self.timers.get(timer.name) is timer

    def fired(self, timer: NamedTimer) -> None:
        """``timer`` is firing now: it is no longer pending (unless another one is)."""
        if self.at.get(timer.name) == self.ops.now:
            self.at.pop(timer.name, None)

    def dump(self) -> tuple[list[list[Any]], dict[str, float]]:
        """Pending entries ``[at, seq, purpose, name]`` and the earliest time per name."""
        entries = [
            [at, seq, purpose, obj.name]
            for at, seq, obj, purpose in sorted(self.ops.policy_timers(), key=_at_seq)
            if isinstance(obj, NamedTimer) and self.live(obj)
        ]  # in time order, not the heap's layout: equal states give equal bytes
        return entries, dict(self.at)

    def load(
        self, entries: list[list[Any]], timer_at: dict[str, float], targets: dict[str, Any]
    ) -> None:
        """Put back :meth:`dump` output; ``targets`` names each timer's target.

        Timers scheduled before (by a fresh router's configure) are dropped: the
        snapshot's are the pending ones."""
        self.timers = {}
        for at, seq, purpose, name in entries:
            timer = self.timers.get(name)
            if timer is None:
                timer = self.timers[name] = NamedTimer(name, targets.get(name))
            self.ops.restore_policy_timer((at, seq, timer, purpose))
        self.at = dict(timer_at)


def _at_seq(timer: tuple[float, int, Any, int]) -> tuple[float, int]:
    return (timer[0], timer[1])
