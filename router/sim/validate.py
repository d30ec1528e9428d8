"""Validation of the simulator against queueing theory and against ``ciw``.

Theory of operation
-------------------
A single FIFO queue with ``c`` identical agents, Poisson arrivals and exponential
handle times is an M/M/c queue (Erlang C); with exponential patience it is
M/M/c+M (Erlang A). :func:`mmc_scenario` builds that scenario for the real
router (``routing.mode = "immediate"``, so the wait is arrival to the routing
decision, and scoring weights that cannot bias who waits: one pool, FIFO by
arrival). A long seeded run is then compared with ``router.state.erlang``.

Tolerance comes from the run itself, by **batch means**: the measured window is
cut into ``B`` equal stretches of arrival time; each stretch gives one estimate
(P(wait), mean wait, service level, P(abandon)); their spread gives a standard
error ``SE = sd / sqrt(B)`` that accounts for the autocorrelation of queue states
as long as a stretch is much longer than the queue's relaxation time. A result
passes when ``|simulated - exact| <= Z * SE`` (``Z = 4`` by default: about one
false alarm in 15,000 for a correct simulator). A longer run gives a smaller SE and
so a tighter test; :class:`Check` records the SE so a test can also insist that
the tolerance is tight enough to mean something.

The ``ciw`` cross-check replays the same M/M/c day in ``ciw`` (a dev dependency)
for several seeds and compares the two simulators' means with the Welch standard
error of the difference; it also times both in the same process (customers per
wall-clock second), which is the speed figure in docs/simulator.md.

``python -m router.sim.validate [--quick]`` prints the whole table.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from router.sim.engine import ABANDONED, ANSWERED, SimResult, simulate
from router.sim.scenario import Scenario, decode_scenario
from router.state.erlang import erlang_a, erlang_c, mmc_mean_wait, mmc_service_level

__all__ = [
    "Check",
    "batch_estimates",
    "check_erlang_a",
    "check_erlang_c",
    "ciw_mmc_day",
    "compare_with_ciw",
    "mmc_scenario",
    "sim_mmc_day",
]

Z_DEFAULT = 4.0


@dataclass(frozen=True)
class Check:
    """One simulated figure against its reference, with the batch-means tolerance."""

    name: str
    simulated: float
    reference: float
    se: float
    z: float = Z_DEFAULT

    @property
    def tolerance(self) -> float:
        return self.z * self.se

    @property
    def ok(self) -> bool:
        return abs(self.simulated - self.reference) <= self.tolerance

    def __str__(self) -> str:
        dev = (self.simulated - self.reference) / self.se if self.se > 0 else math.inf
        return (
            f"{self.name:<22} sim {self.simulated:10.4f}  ref {self.reference:10.4f}  "
            f"SE {self.se:8.4f}  dev {dev:+5.2f} SE  {'ok' if self.ok else 'FAIL'}"
        )


def mmc_scenario(
    servers: int,
    arrival_rate: float,
    mean_service_s: float,
    *,
    customers: int,
    seed: int,
    mean_patience_s: float | None = None,
    target_s: float = 20.0,
    warmup_s: float | None = None,
) -> Scenario:
    """An M/M/c (or M/M/c+M) scenario with about ``customers`` measured arrivals."""
    warm = 20.0 * mean_service_s if warmup_s is None else warmup_s
    duration = warm + customers / arrival_rate
    patience = (
        f'patience = {{ dist = "exponential", mean_s = {mean_patience_s!r} }}'
        if mean_patience_s is not None
        else ""
    )
    return decode_scenario(
        f"""
[routing]
mode = "immediate"
weights = {{ proficiency = 0.0, idle_time = 1.0, load = 0.0 }}

[[queues]]
name = "q"
answer_target_s = {target_s!r}

[simulation]
duration_s = {duration!r}
warmup_s = {warm!r}
seed = {seed}
drain = true

[[agents]]
count = {servers}

[[arrivals]]
queue = "q"
rate_per_s = {arrival_rate!r}
handle_time = {{ dist = "exponential", mean_s = {mean_service_s!r} }}
{patience}
"""
    )


def batch_estimates(res: SimResult, batches: int, target_s: float) -> dict[str, list[float]]:
    """Per-batch P(wait), mean wait (all arrivals), service level and P(abandon)."""
    lo, hi = res.warmup_s, res.duration_s
    width = (hi - lo) / batches
    n = [0] * batches
    waited = [0] * batches
    wait_sum = [0.0] * batches
    within = [0] * batches
    abandoned = [0] * batches
    for r in res.inquiries:
        if not lo <= r.arrival < hi:
            continue
        b = min(int((r.arrival - lo) / width), batches - 1)
        n[b] += 1
        if r.decided_at is None or r.decided_at > r.arrival:
            waited[b] += 1
        if r.outcome == ANSWERED:
            w = r.answered_at - r.arrival
            wait_sum[b] += w
            if w <= target_s:
                within[b] += 1
        elif r.outcome == ABANDONED:
            abandoned[b] += 1
    keep = [i for i in range(batches) if n[i]]
    return {
        "p_wait": [waited[i] / n[i] for i in keep],
        "mean_wait": [wait_sum[i] / n[i] for i in keep],
        "service_level": [within[i] / n[i] for i in keep],
        "p_abandon": [abandoned[i] / n[i] for i in keep],
    }


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def check_erlang_c(
    servers: int,
    offered_erlangs: float,
    mean_service_s: float = 100.0,
    *,
    customers: int,
    seed: int,
    target_s: float = 20.0,
    batches: int = 30,
    z: float = Z_DEFAULT,
) -> list[Check]:
    """Simulate M/M/c and check P(wait), mean wait and service level against Erlang C."""
    lam = offered_erlangs / mean_service_s
    res = simulate(mmc_scenario(servers, lam, mean_service_s, customers=customers, seed=seed))
    est = batch_estimates(res, batches, target_s)
    exact = {
        "p_wait": erlang_c(servers, offered_erlangs),
        "mean_wait": mmc_mean_wait(servers, lam, mean_service_s),
        "service_level": mmc_service_level(servers, lam, mean_service_s, target_s),
    }
    label = f"C c={servers} A={offered_erlangs:g}"
    out = []
    for key in ("p_wait", "mean_wait", "service_level"):
        mean, se = _mean_se(est[key])
        out.append(Check(f"{label} {key}", mean, exact[key], se, z))
    return out


def check_erlang_a(
    servers: int,
    offered_erlangs: float,
    mean_patience_s: float,
    mean_service_s: float = 100.0,
    *,
    customers: int,
    seed: int,
    target_s: float = 20.0,
    batches: int = 30,
    z: float = Z_DEFAULT,
) -> list[Check]:
    """Simulate M/M/c+M and check P(wait), P(abandon) and service level against Erlang A."""
    lam = offered_erlangs / mean_service_s
    scenario = mmc_scenario(
        servers,
        lam,
        mean_service_s,
        customers=customers,
        seed=seed,
        mean_patience_s=mean_patience_s,
    )
    est = batch_estimates(simulate(scenario), batches, target_s)
    ea = erlang_a(servers, lam, mean_service_s, mean_patience_s)
    exact = {
        "p_wait": ea.p_wait,
        "p_abandon": ea.p_abandon,
        "service_level": ea.service_level(target_s),
    }
    label = f"A c={servers} A={offered_erlangs:g}"
    out = []
    for key in ("p_wait", "p_abandon", "service_level"):
        mean, se = _mean_se(est[key])
        out.append(Check(f"{label} {key}", mean, exact[key], se, z))
    return out


# ------------------------------------------------------------------------ ciw

# The M/M/c day of the benchmark contract: c = 35, A = 30 Erlangs, 3-minute calls.
DAY_SERVERS = 35
DAY_RATE = 30 / 180
DAY_SERVICE_S = 180.0
DAY_S = 86400.0


def sim_mmc_day(seed: int, warmup_s: float = 3600.0) -> tuple[dict[str, float], int, float]:
    """One simulated M/M/c day: (P(wait), mean wait, SL(20 s)), arrivals and wall seconds."""
    scenario = mmc_scenario(
        DAY_SERVERS,
        DAY_RATE,
        DAY_SERVICE_S,
        customers=round(DAY_RATE * (DAY_S - warmup_s)),
        seed=seed,
        warmup_s=warmup_s,
    )
    t0 = time.perf_counter()
    res = simulate(scenario)
    wall = time.perf_counter() - t0
    est = batch_estimates(res, 1, 20.0)
    return {k: v[0] for k, v in est.items()}, len(res.inquiries), wall


def ciw_mmc_day(seed: int, warmup_s: float = 3600.0) -> tuple[dict[str, float], int, float]:
    """The same day in ``ciw``: (P(wait), mean wait, SL(20 s)), customers and wall seconds."""
    import ciw

    t0 = time.perf_counter()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(DAY_RATE)],
        service_distributions=[ciw.dists.Exponential(1.0 / DAY_SERVICE_S)],
        number_of_servers=[DAY_SERVERS],
    )
    ciw.seed(seed)
    q = ciw.Simulation(network)
    q.simulate_until_max_time(DAY_S)
    recs = q.get_all_records()
    wall = time.perf_counter() - t0
    waits = [r.waiting_time for r in recs if r.arrival_date >= warmup_s]
    n = len(waits)
    return (
        {
            "p_wait": sum(1 for w in waits if w > 0) / n,
            "mean_wait": sum(waits) / n,
            "service_level": sum(1 for w in waits if w <= 20.0) / n,
        },
        len(recs),
        wall,
    )


def compare_with_ciw(days: int, seed: int = 1, z: float = Z_DEFAULT) -> dict[str, Any]:
    """Replicate the M/M/c day ``days`` times in both simulators; compare and time them.

    ``ciw`` only records customers who finished by the end of the day, the router's
    simulator drains; both are measured over arrivals after the first hour. Speed:
    customers per wall-clock second, in this process, alternating the two.
    """
    ours: dict[str, list[float]] = {"p_wait": [], "mean_wait": [], "service_level": []}
    theirs: dict[str, list[float]] = {"p_wait": [], "mean_wait": [], "service_level": []}
    n_ours = n_theirs = 0
    wall_ours = wall_theirs = 0.0
    for d in range(days):
        a, n, w = sim_mmc_day(seed + d)
        b, m, v = ciw_mmc_day(seed + d)
        n_ours += n
        n_theirs += m
        wall_ours += w
        wall_theirs += v
        for k in ours:
            ours[k].append(a[k])
            theirs[k].append(b[k])
    checks = []
    for k in ours:
        m1, se1 = _mean_se(ours[k])
        m2, se2 = _mean_se(theirs[k])
        checks.append(Check(f"ciw {k}", m1, m2, math.hypot(se1, se2), z))
    exact = {
        "p_wait": erlang_c(DAY_SERVERS, DAY_RATE * DAY_SERVICE_S),
        "mean_wait": mmc_mean_wait(DAY_SERVERS, DAY_RATE, DAY_SERVICE_S),
        "service_level": mmc_service_level(DAY_SERVERS, DAY_RATE, DAY_SERVICE_S, 20.0),
    }
    return {
        "checks": checks,
        "exact": exact,
        "sim_customers_per_s": n_ours / wall_ours,
        "ciw_customers_per_s": n_theirs / wall_theirs,
        "speed_ratio": (n_ours / wall_ours) / (n_theirs / wall_theirs),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print every validation check and the ciw speed comparison (``--help``: the options,
    and nothing run; an unknown argument: exit 2)."""
    parser = argparse.ArgumentParser(
        prog="python -m router.sim.validate",
        description="Check the simulator against Erlang C, Erlang A and ciw "
        "(docs/simulator.md, Validation); a few minutes.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a quarter of the customers and 5 ciw days, not 20"
    )
    quick = parser.parse_args(list(sys.argv[1:] if argv is None else argv)).quick
    k = 1 if quick else 4
    checks: list[Check] = []
    t0 = time.perf_counter()
    checks += check_erlang_c(12, 10.0, customers=100_000 * k, seed=11)
    checks += check_erlang_c(212, 200.0, customers=150_000 * k, seed=12)
    checks += check_erlang_a(10, 10.0, 200.0, customers=100_000 * k, seed=13)
    checks += check_erlang_a(200, 210.0, 300.0, customers=150_000 * k, seed=14)
    cmp = compare_with_ciw(days=5 if quick else 20)
    checks += cmp["checks"]
    for c in checks:
        print(c)
    print(
        f"M/M/c day (c=35, A=30): sim {cmp['sim_customers_per_s']:,.0f} customers/s, "
        f"ciw {cmp['ciw_customers_per_s']:,.0f} customers/s, ratio {cmp['speed_ratio']:.2f}"
    )
    print(f"total {time.perf_counter() - t0:.1f}s wall")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
