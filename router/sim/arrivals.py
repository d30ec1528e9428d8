"""Seeded arrival streams and duration samplers for the simulator.

Theory of operation: each ``[[arrivals]]`` stream is a non-homogeneous Poisson
process whose rate is piecewise constant: the base ``rate_per_s`` times ``--load``
times the product of the multipliers of the surges active at that instant. The
next arrival after ``t`` is found exactly by inversion: draw ``E ~ Exp(1)`` and walk
the rate segments, spending ``rate * length`` of ``E`` per segment, until it runs
out (no thinning, no rejected draws). Every stream owns its own
``random.Random``, seeded from the scenario seed and the stream's index, and draws
each inquiry's handle time and patience at its arrival. So a stream's inquiries are
the same whatever the routing does: two configs run on the same seed see the same
customers (common random numbers), which makes what-if comparisons sharp.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from itertools import pairwise
from typing import Any, Final

from router.sim.scenario import Arrival, Constant, Distribution, Exponential, Lognormal, Surge

__all__ = ["EXPOVARIATE_INLINE", "Stream", "inquiry_fields", "rate_segments", "sampler"]

Sampler = Callable[[random.Random], float]


def _expovariate_inlines() -> bool:
    """Whether ``-log(1 - rng.random()) / rate`` draws exactly what ``rng.expovariate(rate)``
    draws on this Python (CPython's own formula since long before 3.11); checked once, at
    import, on a few seeded draws, so a Python that changes it falls back to the method."""
    a = random.Random("router-sim/expovariate")
    b = random.Random("router-sim/expovariate")
    return all(
        a.expovariate(rate) == -math.log(1.0 - b.random()) / rate
        for rate in (1.0, 0.5, 1.0 / 180.0, 3.7)
        for _ in range(16)
    )


#: draws inline the exponential (one Python call fewer per draw: the simulator's hot path)
EXPOVARIATE_INLINE: Final = _expovariate_inlines()


def sampler(dist: Distribution) -> Sampler:
    """A function drawing one duration (seconds) from ``dist`` with a given RNG."""
    if isinstance(dist, Exponential):
        rate = 1.0 / dist.mean_s
        if EXPOVARIATE_INLINE:
            return lambda rng: -math.log(1.0 - rng.random()) / rate
        return lambda rng: rng.expovariate(rate)
    if isinstance(dist, Lognormal):
        if dist.sd_s == 0:
            mean = dist.mean_s
            return lambda rng: mean
        sigma2 = math.log1p((dist.sd_s / dist.mean_s) ** 2)
        mu = math.log(dist.mean_s) - sigma2 / 2.0
        sigma = math.sqrt(sigma2)
        return lambda rng: rng.lognormvariate(mu, sigma)
    if isinstance(dist, Constant):
        value = dist.mean_s
        return lambda rng: value
    raise TypeError(f"unknown distribution {dist!r}")  # pragma: no cover


def rate_segments(
    base_rate: float, queue: str, surges: list[Surge], duration_s: float
) -> list[tuple[float, float, float]]:
    """``[(start, end, rate)]`` covering ``[0, duration_s)`` for one stream."""
    cuts = {0.0, duration_s}
    mine = [s for s in surges if not s.queues or queue in s.queues]
    for s in mine:
        for x in (s.start_s, s.end_s):
            if 0.0 < x < duration_s:
                cuts.add(x)
    points = sorted(cuts)
    out: list[tuple[float, float, float]] = []
    for a, b in pairwise(points):
        rate = base_rate
        for s in mine:
            if s.start_s <= a < s.end_s:
                rate *= s.multiplier
        if out and out[-1][2] == rate:
            out[-1] = (out[-1][0], b, rate)
        else:
            out.append((a, b, rate))
    return out


def inquiry_fields(arrival: Arrival) -> dict[str, Any]:
    """The ``Inquiry`` fields every arrival of a stream carries (priority, tags, ...)."""
    fixed: dict[str, Any] = {}
    if arrival.priority is not None:
        fixed["priority"] = arrival.priority
    if arrival.tags:
        fixed["tags"] = frozenset(arrival.tags)
    if arrival.requires:
        fixed["requires"] = dict(arrival.requires)
    if arrival.tenant is not None:
        fixed["tenant"] = arrival.tenant
    if arrival.attributes:
        fixed["attributes"] = dict(arrival.attributes)
    if arrival.preferred_agents:
        fixed["preferred_agents"] = list(arrival.preferred_agents)
    return fixed


class Stream:
    """One arrival stream: its RNG, rate segments and per-inquiry draws."""

    __slots__ = (
        "arrival",
        "fixed",
        "handle",
        "heavy",
        "index",
        "patience",
        "queue",
        "rng",
        "seg_i",
        "segments",
    )

    def __init__(
        self,
        index: int,
        arrival: Arrival,
        seed: int,
        load: float,
        surges: list[Surge],
        duration_s: float,
    ) -> None:
        self.index = index
        self.arrival = arrival
        self.queue = arrival.queue
        self.rng = random.Random(f"router-sim/{seed}/{index}")
        rate = arrival.rate_per_s or 0.0  # None only with from_csv (router/sim/replay.py)
        self.segments = rate_segments(rate * load, arrival.queue, surges, duration_s)
        self.seg_i = 0
        assert arrival.handle_time is not None  # checked by scenario_problems
        self.handle = sampler(arrival.handle_time)
        self.patience = sampler(arrival.patience) if arrival.patience is not None else None
        self.heavy = "heavy" in arrival.tags  # the engine adds the queue's own flag
        #: ``Inquiry`` fields every arrival of this stream carries
        self.fixed = inquiry_fields(arrival)

    def next_after(self, t: float) -> float | None:
        """The next arrival time after ``t``, or ``None`` when the stream is over."""
        segs = self.segments
        i = self.seg_i
        rng = self.rng
        # Exp(1); x / 1.0 == x, so the inline form is expovariate(1.0) exactly
        need = -math.log(1.0 - rng.random()) if EXPOVARIATE_INLINE else rng.expovariate(1.0)
        n = len(segs)
        while i < n:
            start, end, rate = segs[i]
            if t < start:
                t = start
            if rate > 0.0:
                room = (end - t) * rate
                if need < room:
                    self.seg_i = i
                    return t + need / rate
                need -= room
            i += 1
        self.seg_i = n
        return None
