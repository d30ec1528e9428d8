"""Run-size guards: estimate a simulation before running it, refuse one that is too big.

Theory of operation: a scenario's arrival streams are Poisson with piecewise-constant
rates, so the expected number of arrivals is exact arithmetic over the rate segments
(base rate x ``--load`` x the surges in force), with no sampling. :func:`estimate_run`
adds the agents and a rough count of simulation events (about ten per arrival: arrival,
queued, offer, accept, assigned, completion, wrap-up..., plus logins and breaks per
agent). :func:`run_size_problems` compares the estimate with ``[simulation.limits]``
and returns one line per limit passed; ``python -m router check`` and ``simulate``
print them and stop unless ``--force``. One case is refused even with ``--force``:
arrivals so dense that consecutive arrival times are the same floating-point number,
where virtual time could never advance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from router.errors import ConfigError
from router.sim.arrivals import rate_segments
from router.sim.scenario import Scenario

__all__ = ["RunEstimate", "RunTooLarge", "check_run_size", "estimate_run", "run_size_problems"]

#: simulation events per arrival and per agent (measured on the seed scenarios: 5-10 per
#: arrival; logins, breaks and shift ends per agent)
EVENTS_PER_ARRIVAL = 10
EVENTS_PER_AGENT = 4

#: below this spacing relative to the clock value, ``t + gap == t`` in floating point
_FLOAT_RESOLUTION = 2.0**-50


class RunTooLarge(ConfigError):
    """The estimated run passes ``[simulation.limits]`` (or cannot advance time at all)."""


@dataclass(frozen=True)
class RunEstimate:
    """What a run will roughly take: expected arrivals, agents, simulation events."""

    arrivals: float
    agents: int
    events: float
    #: the densest stream: (index, rate per second, time at which it runs) or None
    densest: tuple[int, float, float] | None = None


def estimate_run(
    sc: Scenario, *, load: float = 1.0, duration_s: float | None = None
) -> RunEstimate:
    """Expected arrivals (exact for the Poisson streams), agents and events of one run."""
    duration = sc.simulation.duration_s if duration_s is None else duration_s
    arrivals = 0.0
    densest: tuple[int, float, float] | None = None
    for i, a in enumerate(sc.arrivals):
        if a.rate_per_s is None:  # a replayed day: at most one arrival per row of its file
            arrivals += _rows(a.from_csv)
            continue
        for start, end, rate in rate_segments(a.rate_per_s * load, a.queue, sc.surges, duration):
            if rate > 0:
                arrivals += rate * (end - start)  # inf stays inf, never NaN (rate > 0)
                if densest is None or rate * end > densest[1] * densest[2]:
                    densest = (i, rate, end)
    agents = sum(g.count for g in sc.agents)
    per_agent = EVENTS_PER_AGENT
    work = sc.wellbeing.max_continuous_work_s
    if work:
        per_agent += 2 * math.ceil(duration / work)
    events = EVENTS_PER_ARRIVAL * arrivals + per_agent * agents
    return RunEstimate(arrivals=arrivals, agents=agents, events=events, densest=densest)


def _rows(path: str | None) -> int:
    """Data rows of a ``from_csv`` file (0 when it cannot be read: ``check`` reports that)."""
    if path is None:
        return 0
    try:
        with open(path, "rb") as f:
            return max(0, sum(1 for _ in f) - 1)
    except OSError:
        return 0


def _n(x: float) -> str:
    if not math.isfinite(x):
        return "infinitely many"
    return f"{x:,.0f}" if x < 1e12 else f"{x:.2g}"


def run_size_problems(
    sc: Scenario, *, load: float = 1.0, duration_s: float | None = None, force: bool = False
) -> list[str]:
    """One line per limit the run would pass (empty: fine). ``force`` skips the limits
    but not a stream too dense for virtual time to advance."""
    est = estimate_run(sc, load=load, duration_s=duration_s)
    out: list[str] = []
    if est.densest is not None:
        i, rate, end = est.densest
        if not math.isfinite(rate) or 1.0 / rate < end * _FLOAT_RESOLUTION:
            out.append(
                f"$.arrivals[{i}].rate_per_s: {rate:.3g}/s (with load and surges) puts arrivals "
                f"{1.0 / rate:.2g} s apart, below the clock's resolution at t = {end:g} s: "
                "virtual time could not advance; no run is possible, even with --force"
            )
            return out
    if force:
        return out
    lim = sc.simulation.limits
    at = f" at --load {load:g}" if load != 1.0 else ""
    how = "lower it, raise simulation.limits.{key}, or pass --force"
    if est.arrivals > lim.arrivals:
        out.append(
            f"$.arrivals: about {_n(est.arrivals)} arrivals expected{at} over "
            f"{duration_s or sc.simulation.duration_s:g} s, above simulation.limits.arrivals = "
            f"{lim.arrivals:,}; " + how.format(key="arrivals")
        )
    if est.agents > lim.agents:
        out.append(
            f"$.agents: {est.agents:,} agents, above simulation.limits.agents = {lim.agents:,}; "
            + how.format(key="agents")
        )
    if not out and est.events > lim.events:
        out.append(
            f"$.simulation: about {_n(est.events)} simulation events expected{at}, above "
            f"simulation.limits.events = {lim.events:,}; " + how.format(key="events")
        )
    return out


def check_run_size(
    sc: Scenario, *, load: float = 1.0, duration_s: float | None = None, force: bool = False
) -> None:
    """Raise :class:`RunTooLarge` (one line per problem) when the run is refused."""
    problems = run_size_problems(sc, load=load, duration_s=duration_s, force=force)
    if problems:
        raise RunTooLarge(problems)
