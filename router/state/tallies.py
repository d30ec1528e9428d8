"""The running tallies behind the real-time statistics: one per queue, one per agent.

Theory of operation: a :class:`QueueTally` hangs off each ``QueueState`` and an
:class:`AgentTally` off each ``Agent`` (``router/state/records.py``), so the
core's hot path counts with a few attribute increments and no lookups. The
core (``router/core.py``) counts outcomes into ``QueueTally.windows`` and the
agent's own figures into ``AgentTally``; ``router/state/realtime.py`` keeps
the eligible and available counts and the agents-by-state partition, and
reads everything for ``statistics()``. Plain data: no logic beyond
construction and the snapshot record.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Final

from router.state.loads import channel_no
from router.state.stat_records import AgentTallyRecord
from router.state.windows import DEFAULT_BUCKET_S, DEFAULT_WINDOWS, SlidingWindows
from router.stats import WAIT_BUCKETS

if TYPE_CHECKING:  # (an annotation only: never evaluated, the pure build needs no import)
    from mypy_extensions import i64

#: the histogram's bounds as this module's own constant (compiled: a native read)
_BOUNDS: Final = WAIT_BUCKETS

__all__ = ["AgentTally", "AgentTallyRecord", "QueueTally", "capacity_shares"]


def capacity_shares(
    capacity: dict[str, int], units: int | None, unit_costs: dict[str, int]
) -> dict[str, float]:
    """The share of the whole agent one inquiry holds, per channel (occupancy weights).

    As the simulator's ledger (``router/sim/engine.py``): with ``units``, a channel's
    ``unit_cost / units``; else each live channel gets an equal part of the agent,
    split over its cap (``{voice: 1, chat: 20}``: a call 1/2, a chat 1/40).
    """
    if units is not None:
        return {ch: unit_costs.get(ch, 0) / units for ch in capacity}
    live = [ch for ch, cap in capacity.items() if cap > 0]
    return {ch: 1.0 / (cap * len(live)) if cap > 0 else 0.0 for ch, cap in capacity.items()}


def shares_by_number(shares: dict[str, float]) -> list[float]:
    """``shares`` as a list by channel number (``router/state/loads.py``: ``channel_no``),
    0.0 where a channel has no share, as long as its highest channel number + 1."""
    nums = [(channel_no(ch), v) for ch, v in shares.items()]
    out = [0.0] * (max(n for n, _ in nums) + 1 if nums else 0)
    for n, v in nums:
        out[n] = v
    return out


class QueueTally:
    """One queue's windows of outcome counts, its answered waits and its eligible and
    available agents."""

    __slots__ = (
        "available",
        "channel",
        "eligible",
        "ewt",
        "ewt_key",
        "heavy",
        "hist",
        "hist_ver",
        "run_i",
        "run_n",
        "unit_cost",
        "waits",
        "waits_ver",
        "windows",
    )

    def __init__(self, channel: str) -> None:
        self.windows = SlidingWindows(DEFAULT_WINDOWS, DEFAULT_BUCKET_S)
        self.channel = channel
        self.unit_cost = 0  # the channel's capacity-unit cost (agents with ``units``)
        self.eligible = 0
        self.available = 0
        #: the expected waits last computed, and what they were computed from
        self.ewt_key: tuple[object, ...] | None = None
        self.ewt: tuple[float, dict[int, float]] = (0.0, {})
        self.heavy = False  # a heavy queue (a cooldown may keep agents off heavy work only)
        #: answers since the router started by wait: index ``i`` counts the waits in
        #: ``(WAIT_BUCKETS[i - 1], WAIT_BUCKETS[i]]``, the last one those past every bound;
        #: the latest run of counts in one bucket is held apart (read :meth:`counts`)
        self.waits = [0] * (len(WAIT_BUCKETS) + 1)
        #: the run: ``run_n`` counts not yet in ``waits[run_i]``. Consecutive answers
        #: mostly fall in one bucket; compiled, the run's count is a native int, where a
        #: count in the list boxes a new int past 256 and stores it through a generic call
        self.run_i: i64 = 0
        self.run_n: i64 = 0
        self.waits_ver = 0  # bumped by every count
        #: :attr:`waits` cumulated (the statistics' histogram), as of ``hist_ver``
        self.hist: list[int] = []
        self.hist_ver = -1

    def count_wait(self, wait: float, sign: int) -> None:
        """Count an answered ``wait`` (``sign`` -1: take it back): in the run while it falls
        in the run's bucket, else the run goes into :attr:`waits` and a new one starts."""
        i = 0
        for bound in _BOUNDS:
            if wait <= bound:
                break
            i += 1
        if i != self.run_i:  # another bucket: the run so far goes into the list
            self._fold()
            self.run_i = i
        self.run_n += sign
        self.waits_ver += 1

    def _fold(self) -> None:
        """Add the run to :attr:`waits` (the run is then empty)."""
        n = self.run_n
        if n:
            waits = self.waits
            i = self.run_i
            waits[i] = waits[i] + n  # (not ``+=``: compiled, an item's ``+=`` is generic)
            self.run_n = 0

    def counts(self) -> list[int]:
        """The answered waits per bucket, run included (a new list; the snapshot's)."""
        self._fold()
        return self.waits[:]

    def load_counts(self, waits: list[int]) -> None:
        """Take ``waits`` as the counts per bucket (a restore)."""
        self.waits = list(waits)
        self.run_n = 0
        self.waits_ver += 1

    def histogram(self) -> list[int]:
        """The cumulative counts per bound, then +Inf (a new list; cumulated again only
        after a count: a scrape of many queues reads mostly unchanged ones)."""
        if self.hist_ver != self.waits_ver:
            self._fold()
            self.hist = list(accumulate(self.waits))
            self.hist_ver = self.waits_ver
        return self.hist[:]


class AgentTally:
    """One agent's figures since login (or the last reset) and where it is counted."""

    __slots__ = (
        "avail",
        "busy_s",
        "counted",
        "declined",
        "elig",
        "expired",
        "handle_s",
        "handled",
        "noted",
        "offers",
        "on_from",
        "part",
        "sharen",
        "shares",
        "since",
        "staffed_s",
    )

    def __init__(self, now: float) -> None:
        # The order of these assignments is the field order of the compiled record (mypyc
        # lays its attributes out as ``__init__`` first assigns them): first what a
        # lifecycle reads and writes (``noted`` on every decision, release and agent timer;
        # the counts of a completion and a release; ``offers`` at an offer), beside the
        # object header, so that the record costs one or two cache lines where it cost two
        # or three (at 10,000 agents and more they are memory misses: BENCHMARKS.md, scale49)
        #: whether the agent is in ``Realtime.changed`` (noted since the last settle): the
        #: core's store there is skipped while it is; one there may have it unset (noted by
        #: ``Realtime`` itself), never the other way round
        self.noted = False
        #: whether the agent is in the counts below (from login until it leaves)
        self.counted = False
        self.handled = 0
        self.handle_s = 0.0
        #: capacity-time of the holds already released (open holds are added when read)
        self.busy_s = 0.0
        self.shares: dict[str, float] = {}
        #: ``shares`` by channel number (``shares_by_number``; 0.0 past its end): what a
        #: release reads, an index where the dict cost a str-keyed probe and, compiled, a
        #: boxed default (``Router._release``)
        self.sharen: list[float] = []
        self.offers = 0
        self.since = now
        self.declined = 0
        self.expired = 0
        #: staffed time booked, and when the present staffed stretch began (inf: off
        #: shift, logged in between two shifts of its schedule, is not staffed)
        self.staffed_s = 0.0
        self.on_from = now
        self.part = -1  # its index in AGENT_STATES
        self.elig: tuple[QueueTally, ...] = ()  # queues it is eligible for (Realtime.eligs)
        self.avail: list[QueueTally] = []  # those it is counted available in
