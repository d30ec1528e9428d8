"""An agent's recent-work window (``Agent.recent``): one entry per work ended, oldest first.

Theory of operation
-------------------
Every completion (or hand-back) appends an entry, when the work ended and how long it
took; the agent's timer takes entries out as they leave the window
(``Guardrails.check``), the scorer counts them and ``Agent.recent_sum`` sums their
handle times. At 10,000 agents the timer's agent is cold, and what it reads is trips to
memory. The two builds keep the window in two forms, each the cheaper for it:

- compiled (:data:`NATIVE`): a list of :class:`RecentWork` objects, two C doubles each,
  one object to fetch per entry where the flat form has two boxed floats;
- pure: the flat list ``[at, handle, at, handle, ...]`` (a Python object made per
  completion cost the pure build 0.7%: BENCHMARKS.md, lc37).

:data:`SHIFT` turns the list's length into the number of entries;
:func:`pairs` and :func:`from_pairs` read and make either form off the hot path
(snapshots, tests). The hot readers and writers (``Router._work_ended``,
``Guardrails.check`` and ``next_time``) branch on :data:`NATIVE` inline.
"""

from __future__ import annotations

from types import FunctionType
from typing import Any, Final, final

try:  # mypyc reads the decorator when it compiles; at run time it is a no-op
    from mypy_extensions import mypyc_attr
except ImportError:  # (not a dependency: the pure build runs without it)

    def mypyc_attr(*_args: object, **_kwargs: object) -> Any:  # type: ignore[misc]
        """``mypy_extensions.mypyc_attr``'s stand-in: no-op."""
        return lambda cls: cls


__all__ = ["NATIVE", "SHIFT", "RecentWork", "from_pairs", "pairs"]


@final
@mypyc_attr(acyclic=True, free_list_len=1)
class RecentWork:
    """The compiled build's recent-work entry: when the work ended (``at``) and how long
    it took (``handle``), C doubles. It holds no reference, so it is ``acyclic`` (never
    tracked by the cyclic collector); ``free_list_len=1`` keeps the entry the timer took
    out for the next completion."""

    __slots__ = ("at", "handle")

    def __init__(self, at: float, handle: float) -> None:
        self.at = at
        self.handle = handle

    def __repr__(self) -> str:
        return f"RecentWork({self.at!r}, {self.handle!r})"


def _probe() -> None:
    """A plain function in the pure build; compiled, mypyc makes it a builtin."""


#: whether this module is compiled: ``Agent.recent`` holds :class:`RecentWork` entries
NATIVE: Final = not isinstance(_probe, FunctionType)
#: ``len(Agent.recent) >> SHIFT`` is its number of entries (pure: two floats each)
SHIFT: Final = 0 if NATIVE else 1


def pairs(recent: list[Any]) -> list[tuple[float, float]]:
    """``(at, handle)`` of each entry of a window of either form, oldest first."""
    if NATIVE:
        out: list[tuple[float, float]] = []
        for x in recent:
            e: RecentWork = x
            out.append((e.at, e.handle))
        return out
    return [(recent[i], recent[i + 1]) for i in range(0, len(recent), 2)]


def from_pairs(items: list[tuple[float, float]]) -> list[Any]:
    """A window of this build's form holding ``items`` (``(at, handle)``, oldest first)."""
    if NATIVE:
        return [RecentWork(at, handle) for at, handle in items]
    return [x for pair in items for x in pair]
