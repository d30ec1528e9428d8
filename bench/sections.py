"""The measured sections of ``python -m bench``; each returns plain numbers.

Theory of operation
-------------------
One function per section of the report (scenario.md §4), run in one process in
the order :mod:`bench.run` chooses:

- :func:`surge` runs the flagship 20x scenario through the simulator, timing
  every ``tick`` that made decisions; it runs first so the process's peak RSS is
  the surge's own (the kernel's peak mark is reset just before it).
- :func:`sim_vs_ciw` runs the same M/M/c day (c = 35, A = 30 Erlangs) through our
  simulator and through ciw, taking turns.
- :func:`e2e` drives the adapters' own throughput flow on trio, asyncio and
  uvloop beside the plain ``asyncio.Queue`` worker pool.
- :func:`lifecycles` builds steady-state routers at each agent count (and the
  naive peer, mirrored from the core's state) and times the lifecycle loop,
  interleaved with the calibration loop.
- :func:`queue_depth` fills a 10,000-agent router until a million inquiries
  wait, measuring memory per inquiry as RSS growth over the fill, then times
  one decision per lifecycle at that depth. It runs second, right after the
  small surge run: RSS growth only means something before big structures have
  been freed (freed memory stays mapped and would be reused by the fill).

Every router build runs with GC off and ends with one full collection (see
:func:`bench.timing.collect_after_setup`); timed rounds run with GC on.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.naive import NaiveRouter
from bench.timing import (
    HeapqPairs,
    collect_after_setup,
    give_back_memory,
    interleave,
    median_us,
    peak_rss_mb,
    reset_peak_rss,
    rss_bytes,
)
from bench.workload import SteadyState, make_workload
from router import Router

__all__ = ["e2e", "lifecycles", "queue_depth", "sim_vs_ciw", "surge"]

Progress = Callable[[str], None]
ROUND_S = 0.1  # target CPU time of one repetition of one case (long enough to
# include the periodic costs: heap compactions, young-generation GC)


def _quiet(msg: str) -> None:
    pass


def auto_k(fn: Callable[[int], float], target_s: float = ROUND_S, probe: int = 4) -> int:
    """How many units of ``fn`` make one repetition of about ``target_s`` (at least ``probe``).

    The fastest of three probes sets it, so one slow probe cannot shrink the rounds.
    """
    unit = min(fn(probe) for _ in range(3)) / probe
    return max(probe, int(target_s / max(unit, 1e-9)))


# ---------------------------------------------------------------------- surge


def surge(path: Path, runs: int = 3) -> dict[str, Any]:
    """Outcomes, p99 decision time and peak RSS of the scenario at ``path``, as written.

    The first run gives the outcomes (the same every run: the scenario is seeded)
    and the peak RSS; the decision-time percentiles are medians over ``runs``
    runs, since one run's p99 moves with where the young-GC pauses land.
    """
    from router.sim import load_scenario

    sc = load_scenario(path)
    calib = HeapqPairs()
    k_cal = auto_k(calib.run, probe=1000)
    cal = [calib.run(k_cal) / k_cal for _ in range(5)]
    gc.collect()
    reset_ok = reset_peak_rss()
    first = _timed_sim(sc)
    peak = peak_rss_mb()
    more = [_timed_sim(sc) for _ in range(runs - 1)]
    cal += [calib.run(k_cal) / k_cal for _ in range(5)]
    rep = first["report"]
    out: dict[str, Any] = {k: rep[k] for k in ("offered", "answered", "abandoned")}
    out["rejected"] = rep.get("rejected", 0)
    out["deflected"] = rep.get("deflected", 0)
    every = [first, *more]
    out["p99_decision_us"] = statistics.median(r["p99"] for r in every)
    out["peak_rss_mb"] = round(peak, 1)
    out["p50_decision_us"] = statistics.median(r["p50"] for r in every)
    out["p99_tick_us"] = statistics.median(r["p99_tick"] for r in every)
    out["p99_decision_us_runs"] = [round(r["p99"], 2) for r in every]
    out["decisions"] = rep["decisions"]
    out["callbacks"] = rep.get("callbacks", 0)
    out["service_level"] = rep.get("service_level")
    out["cap_violations"] = rep.get("cap_violations")
    out["wall_s"] = round(first["wall"], 3)
    out["peak_rss_scope"] = "surge run" if reset_ok else "process so far"
    out["calibration_us"] = median_us(cal)
    return out


def _timed_sim(sc: Any) -> dict[str, Any]:
    """One simulator run with every deciding ``tick`` timed (CPU time, per decision)."""
    from router.sim import Simulator, build_report

    sim = Simulator(sc)
    router = sim.router
    inner = router.tick
    per_decision: list[float] = []
    per_tick: list[float] = []
    clock = time.thread_time_ns  # CPU time of each tick: a preempted tick is not charged

    def timed_tick(now: float) -> list[Any]:
        d0 = router.counters.decisions  # a copy: read outside the timed call
        t0 = clock()
        events = inner(now)
        dt = clock() - t0
        n = router.counters.decisions - d0
        if n:
            per_decision.append(dt / n)
            per_tick.append(dt)
        return events

    router.tick = timed_tick  # type: ignore[method-assign]
    t0 = time.perf_counter()
    res = sim.run()
    wall = time.perf_counter() - t0
    return {
        "report": build_report(res, timeline=False),
        "wall": wall,
        "p99": _pct(per_decision, 0.99) / 1000,
        "p50": _pct(per_decision, 0.5) / 1000,
        "p99_tick": _pct(per_tick, 0.99) / 1000,
    }


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


# ---------------------------------------------------------------------- sim vs ciw

MMC_HANDLE_S = 180.0
MMC_SERVERS = 35
MMC_ERLANGS = 30.0


def mmc_scenario(duration_s: float, seed: int = 7) -> Any:
    """The M/M/c day as a scenario: c = 35 voice agents, A = 30 Erlangs, mean handle 180 s."""
    from router.sim import decode_scenario

    rate = MMC_ERLANGS / MMC_HANDLE_S
    return decode_scenario(
        f"""
[simulation]
duration_s = {duration_s}
warmup_s = 0
seed = {seed}
drain = false
[[queues]]
name = "mmc"
channel = "voice"
[[agents]]
count = {MMC_SERVERS}
capacity = {{ voice = 1 }}
[[arrivals]]
queue = "mmc"
rate_per_s = {rate!r}
handle_time = {{ dist = "exponential", mean_s = {MMC_HANDLE_S} }}
"""
    )


def sim_vs_ciw(duration_s: float, rounds: int) -> dict[str, float]:
    """Customers served per CPU second: our simulator and ciw on the same M/M/c day."""
    import ciw

    from router.sim import simulate
    from router.sim.engine import ANSWERED

    sc = mmc_scenario(duration_s)
    rate = MMC_ERLANGS / MMC_HANDLE_S

    def ours() -> float:
        t0 = time.process_time()
        res = simulate(sc)
        cpu = time.process_time() - t0
        return sum(1 for r in res.inquiries if r.outcome == ANSWERED) / cpu

    def theirs() -> float:
        net = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=rate)],
            service_distributions=[ciw.dists.Exponential(rate=1 / MMC_HANDLE_S)],
            number_of_servers=[MMC_SERVERS],
        )
        ciw.seed(7)
        t0 = time.process_time()
        q = ciw.Simulation(net)
        q.simulate_until_max_time(duration_s)
        cpu = time.process_time() - t0
        return len(q.get_all_records()) / cpu

    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(ours())
        b.append(theirs())
    return {
        "sim_customers_per_s": statistics.median(a),
        "ciw_customers_per_s": statistics.median(b),
    }


# ---------------------------------------------------------------------- adapters


POOL_FACTOR = 20


class _CpuTime:
    """Stands in for the ``time`` module inside the throughput flows: CPU-time clock."""

    perf_counter = staticmethod(time.process_time)


def e2e(n: int, agents: int, rounds: int) -> dict[str, Any]:
    """Adapter throughput (trio, asyncio, uvloop) beside the ``asyncio.Queue`` pool.

    Each flow is the adapters' own (:mod:`bench.throughput`: the clock
    runs from the first submit to the last completion). While they run, that
    module's ``time`` is swapped for a CPU-time clock, so another process holding
    the core is not charged to the flow. Medians over ``rounds``, taking turns.
    """
    from bench import throughput as tp

    names = ("trio", "asyncio", "uvloop", "pool", "core")
    runs: dict[str, list[float]] = {k: [] for k in names}
    pool_n = POOL_FACTOR * n  # the pool is ~50x faster: a longer run, not a few ms of noise
    saved = tp.time  # type: ignore[attr-defined]
    tp.time = _CpuTime  # type: ignore[attr-defined]
    try:
        for _ in range(rounds):
            for backend in ("trio", "asyncio", "uvloop"):
                runs[backend].append(tp.measure_e2e(backend, n, agents))
            runs["pool"].append(tp.measure_asyncio_queue_pool(pool_n, agents, "uvloop"))
            runs["core"].append(tp.core_direct_flow(n, agents))
    finally:
        tp.time = saved  # type: ignore[attr-defined]
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {
        "e2e_per_s": {b: med[b] for b in ("trio", "asyncio", "uvloop")},
        "asyncio_queue_pool_per_s": med["pool"],
        "core_direct_per_s": med["core"],
    }


# ---------------------------------------------------------------------- lifecycles


def lifecycles(
    sizes: dict[str, int],
    naive_sizes: dict[str, int],
    rounds: int,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Median lifecycle microseconds per agent count, core and naive, with calibration.

    ``sizes`` maps report labels to agent counts (the labels are the report's keys).
    """
    calib = HeapqPairs()
    cases: dict[str, tuple[Callable[[int], float], int]] = {}
    cases["calibration"] = (calib.run, auto_k(calib.run, probe=1000))
    states: list[SteadyState] = []
    waiting: dict[str, int] = {}
    for label, n in sizes.items():
        t0 = time.perf_counter()
        wl = make_workload(n)
        gc.disable()
        core = SteadyState(Router(wl.config), wl, record=label in naive_sizes)
        naive = core.mirror(NaiveRouter(wl.config)) if label in naive_sizes else None
        core.arrivals.clear()
        core.placed.clear()
        collect_after_setup()
        waiting[label] = core.r.total_waiting()  # type: ignore[attr-defined]
        progress(
            f"built {n:,} agents: {len(core.busy):,} busy, {waiting[label]:,} waiting "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        states.append(core)
        cases[f"core/{label}"] = (core.run, auto_k(core.run))
        if naive is not None:
            states.append(naive)
            cases[f"naive/{label}"] = (naive.run, auto_k(naive.run, probe=2))
    progress(f"timing {len(cases)} cases x {rounds} rounds")
    samples = interleave(cases, rounds)
    med = {name: median_us(s) for name, s in samples.items()}
    out: dict[str, Any] = {
        "calibration_heapq_pair_us": med["calibration"],
        "core_lifecycle_us": {lb: med[f"core/{lb}"] for lb in sizes},
        "naive_lifecycle_us": {lb: med[f"naive/{lb}"] for lb in naive_sizes},
        "waiting_at_steady_state": waiting,
        "units_per_round": {name: k for name, (_, k) in cases.items()},
        "spread": {name: _spread(s) for name, s in samples.items()},
    }
    del states, cases
    gc.collect()
    return out


def _spread(samples: list[float]) -> float:
    """Interquartile range over median: how much the rounds of one case disagree."""
    if len(samples) < 4:
        return math.nan
    q = statistics.quantiles(samples, n=4)
    return (q[2] - q[0]) / statistics.median(samples)


# ---------------------------------------------------------------------- queue depth


def _fill_to(s: SteadyState, depth: int) -> None:
    r: Any = s.r
    while r.total_waiting() < depth:
        s.fill(depth - r.total_waiting(), batch=5000)


def queue_depth(
    n_agents: int,
    depth: int,
    rounds: int,
    *,
    series: tuple[int, ...] = (),
    traced: bool = False,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Decision cost and memory per inquiry with ``depth`` inquiries waiting.

    A steady ``n_agents`` router is timed first (the lifecycle at its own small
    queue), then filled until ``depth`` wait, then timed again: at that depth
    every lifecycle is one decision (a freed agent takes the head of its pools).
    Memory is the growth of the process's RSS over the fill divided by the
    inquiries added (all still held), so run this before anything big was freed
    in the process; without ``/proc`` it falls back to tracemalloc. ``traced``
    adds the tracemalloc figure (Python allocations only, 5x slower fill) on a
    second router; ``series`` adds untraced points at other depths for the chart.
    """
    calib = HeapqPairs()
    k_cal = auto_k(calib.run, probe=1000)
    give_back_memory()
    wl = make_workload(n_agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl, prefix="w")
    collect_after_setup()
    r: Any = s.r
    steady_waiting = r.total_waiting()
    before = interleave({"calibration": (calib.run, k_cal), "lc": (s.run, auto_k(s.run))}, rounds)
    progress(f"filling to {depth:,} waiting")
    t0 = time.perf_counter()
    gc.disable()
    n0 = s.n
    # RSS growth is only meaningful for a large fill: a small one lands in arenas that earlier
    # sections freed (seen: 97 B/inquiry in --tiny). Small fills are traced instead.
    m0 = rss_bytes() if depth >= 200_000 else None
    if m0 is None:
        tracemalloc.start()
        m0 = tracemalloc.get_traced_memory()[0]
    _fill_to(s, depth)
    gc.collect()
    if tracemalloc.is_tracing():
        m1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        how = "tracemalloc"
    else:
        m1 = rss_bytes() or 0
        how = "rss"
    added = s.n - n0
    collect_after_setup()
    progress(f"filled {added:,} in {time.perf_counter() - t0:.1f}s; timing decisions")
    after = interleave(
        {"calibration": (calib.run, k_cal), "decision": (s.run, auto_k(s.run))}, rounds
    )
    out: dict[str, Any] = {
        "queued_1m_decision_us": median_us(after["decision"]),
        "bytes_per_queued_inquiry": (m1 - m0) / added,
        "memory_measured_by": how,
        "calibration_us": median_us(after["calibration"]),
        "steady_lifecycle_us": median_us(before["lc"]),
        "steady_calibration_us": median_us(before["calibration"]),
        "steady_waiting": steady_waiting,
        "waiting": r.total_waiting(),
        "added": added,
        "spread": {"decision": _spread(after["decision"])},
    }
    del s, r
    gc.collect()
    if traced:
        out["bytes_per_queued_inquiry_tracemalloc"] = _traced_bytes(n_agents, depth, progress)
    if series:
        out["series"] = _depth_series(n_agents, series, rounds, progress)
    return out


def _traced_bytes(n_agents: int, depth: int, progress: Progress) -> float:
    """Python-level bytes per inquiry (tracemalloc) over a fill to ``depth`` waiting."""
    wl = make_workload(n_agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl, prefix="t")
    progress(f"filling to {depth:,} waiting under tracemalloc")
    n0 = s.n
    tracemalloc.start()
    m0 = tracemalloc.get_traced_memory()[0]
    _fill_to(s, depth)
    gc.collect()
    m1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    added = s.n - n0
    del s
    collect_after_setup()
    return (m1 - m0) / added


def _depth_series(
    n_agents: int, depths: tuple[int, ...], rounds: int, progress: Progress
) -> dict[str, dict[str, float]]:
    """Untraced decision cost at each depth, on one router filled step by step."""
    calib = HeapqPairs()
    k_cal = auto_k(calib.run, probe=1000)
    wl = make_workload(n_agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl, prefix="d")
    collect_after_setup()
    r: Any = s.r
    points: dict[str, dict[str, float]] = {}
    res = interleave({"calibration": (calib.run, k_cal), "lc": (s.run, auto_k(s.run))}, rounds)
    points[str(r.total_waiting())] = {
        "us": median_us(res["lc"]),
        "calibration_us": median_us(res["calibration"]),
    }
    for depth in depths:
        gc.disable()
        _fill_to(s, depth)
        collect_after_setup()
        progress(f"depth {depth:,}: timing")
        res = interleave({"calibration": (calib.run, k_cal), "lc": (s.run, auto_k(s.run))}, rounds)
        points[str(r.total_waiting())] = {
            "us": median_us(res["lc"]),
            "calibration_us": median_us(res["calibration"]),
        }
    del s, r
    gc.collect()
    return points
