"""The measured sections of ``python -m bench``; each returns plain numbers.

Theory of operation
-------------------
One function per section of the report (BENCHMARKS.md), run in one process in
the order :mod:`bench.run` chooses:

- :func:`surge` runs the flagship 20x scenario through the simulator, timing
  every ``tick`` that made decisions; it runs first so the process's peak RSS is
  the surge's own (the kernel's peak mark is reset just before it).
- :func:`sim_vs_ciw` runs the same M/M/c day (c = 35, A = 30 Erlangs) through our
  simulator, through ciw and through a SimPy model, taking turns.
- :func:`e2e` moves the same agents and inquiries through the adapters (trio,
  asyncio, uvloop), the hand-written asyncio service and the core called
  directly (:mod:`bench.flows`), beside the plain ``asyncio.Queue`` worker pool.
- :func:`lifecycles` builds steady-state routers at each agent count (and the
  naive peers, mirrored from the core's state) and times the lifecycle loop,
  interleaved with the calibration loop.
- :func:`queue_depth` fills a 10,000-agent router until a million inquiries
  wait, measuring memory per inquiry as RSS growth over the fill, then times
  one decision per lifecycle at that depth; on the way, at 200,000 waiting, it
  times ``statistics()`` beside a decision. It runs second, right after the
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

from bench.floor import floor_plan, run_floor
from bench.flows import FLOWS, flow_work, run_flow
from bench.naive import IndexedNaiveRouter, NaiveRouter
from bench.timing import (
    CLOCK,
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

__all__ = ["e2e", "lifecycles", "queue_depth", "sim_vs_ciw", "simpy_day", "surge"]

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
    return surge_figures(first, more, peak, reset_ok, cal)


def surge_figures(
    first: dict[str, Any],
    more: list[dict[str, Any]],
    peak: float,
    reset_ok: bool,
    cal: list[float],
) -> dict[str, Any]:
    """``surge20`` of the report from its runs (:func:`_timed_sim`'s, ``first`` with the
    outcomes and the peak RSS ``peak``), the heapq-pair calibrations ``cal`` and whether
    the peak could be reset; every key it writes (tests/test_report_keys.py runs it on a
    short run: the whole section takes minutes)."""
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
    inner = sim.tick
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

    sim.tick = timed_tick  # the simulator's hook: a compiled Router's methods cannot be patched
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


def simpy_day(duration_s: float, seed: int = 7) -> int:
    """The M/M/c day as a SimPy model: customers served (the textbook ``Resource`` model)."""
    import random

    import simpy

    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=MMC_SERVERS)
    rng = random.Random(seed)
    rate = MMC_ERLANGS / MMC_HANDLE_S
    served = 0

    def customer() -> Any:
        nonlocal served
        with agents.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1 / MMC_HANDLE_S))
            served += 1

    def source() -> Any:
        while True:
            yield env.timeout(rng.expovariate(rate))
            env.process(customer())

    env.process(source())
    env.run(until=duration_s)
    return served


def sim_vs_ciw(duration_s: float, rounds: int, *, simpy: bool = True) -> dict[str, Any]:
    """Customers served per CPU second: our simulator, ciw and SimPy on the same M/M/c day.

    Each round runs all three in turn; ``sim_over_ciw_rounds`` keeps the
    per-round ratios (a ratio of neighbours in time, steadier than the medians').
    """
    import ciw

    from router.sim import build_report, simulate

    sc = mmc_scenario(duration_s)
    rate = MMC_ERLANGS / MMC_HANDLE_S

    def ours() -> float:
        t0 = time.process_time()
        res = simulate(sc)
        cpu = time.process_time() - t0
        answered: int = build_report(res, timeline=False)["answered"]
        return answered / cpu

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

    def simpys() -> float:
        t0 = time.process_time()
        served = simpy_day(duration_s)
        return served / (time.process_time() - t0)

    a: list[float] = []
    b: list[float] = []
    c: list[float] = []
    for _ in range(rounds):
        a.append(ours())
        b.append(theirs())
        if simpy:
            c.append(simpys())
    out: dict[str, Any] = {
        "sim_customers_per_s": statistics.median(a),
        "ciw_customers_per_s": statistics.median(b),
        "simpy_customers_per_s": statistics.median(c) if c else None,
        "sim_over_ciw_rounds": [x / y for x, y in zip(a, b)],
    }
    return out


# ---------------------------------------------------------------------- adapters


POOL_FACTOR = 20
#: The service moves the flow ~10x faster than the adapters: it runs this many
#: times per round, so its figure is not a few milliseconds of noise.
SERVICE_REPEAT = 5


class _CpuTime:
    """Stands in for the ``time`` module inside the pool flow: CPU-time clock."""

    perf_counter = staticmethod(time.process_time)


def _pool_per_s(n: int, workers: int) -> float:
    """The adapters' plain ``asyncio.Queue`` worker pool (no routing) on uvloop, CPU time."""
    from bench import throughput as tp

    saved = tp.time  # type: ignore[attr-defined]
    tp.time = _CpuTime  # type: ignore[attr-defined]
    try:
        rate: float = tp.measure_asyncio_queue_pool(n, workers, "uvloop")
    finally:
        tp.time = saved  # type: ignore[attr-defined]
    return rate


def e2e(
    n: int, agents: int, rounds: int, flows: tuple[str, ...] = FLOWS, *, pool: bool = True
) -> dict[str, Any]:
    """The same agents and inquiries through each flow of :mod:`bench.flows`, taking turns.

    Rates are medians over ``rounds`` (inquiries per CPU second). The two ratios
    of the report (uvloop over the service, uvloop over the core) are medians of
    the per-round ratios: each pairs runs made seconds apart. ``pool`` adds the
    old ceiling peer, the adapters' plain ``asyncio.Queue`` pool (no routing).
    """
    work = flow_work(agents, n)
    runs: dict[str, list[float]] = {f: [] for f in flows}
    pool_runs: list[float] = []
    # the floor (bench/floor.py): the flow's pacing, agent tasks and wake-ups, no routing;
    # beside the direct flow it bounds ``adapter_over_direct`` from above
    plan = floor_plan(work) if {"direct", "uvloop"} <= set(flows) else None
    floor_runs: list[float] = []
    for name in flows:  # warm-up: imports, first-loop costs
        run_flow(name, work)
    for _ in range(rounds):
        for name in flows:
            if name == "service":
                cpu = sum(len(work.inquiries) / run_flow(name, work) for _ in range(SERVICE_REPEAT))
                runs[name].append(SERVICE_REPEAT * len(work.inquiries) / cpu)
            else:
                runs[name].append(run_flow(name, work))
        if pool:
            pool_runs.append(_pool_per_s(POOL_FACTOR * n, agents))
        if plan is not None:
            floor_runs.append(run_floor(work, plan))

    def per_round(a: str, b: str) -> float | None:
        if a not in runs or b not in runs:
            return None
        return _paired(runs[a], runs[b])

    med = {name: statistics.median(v) for name, v in runs.items()}
    return {
        "e2e_per_s": {b: med[b] for b in ("trio", "asyncio", "uvloop") if b in med},
        "skill_queue_service_per_s": med.get("service"),
        "core_direct_per_s": med.get("direct"),
        "asyncio_queue_pool_per_s": statistics.median(pool_runs) if pool_runs else None,
        "e2e_over_skill_queue_service": per_round("uvloop", "service"),
        "adapter_over_direct": per_round("uvloop", "direct"),
        # its ceiling: direct / (direct + floor) per inquiry, each round's pair
        "floor_per_s": statistics.median(floor_runs) if floor_runs else None,
        "adapter_ceiling": (
            statistics.median(f / (f + d) for f, d in zip(floor_runs, runs["direct"]))
            if floor_runs
            else None
        ),
        # the same with the producer awaiting ``submit`` (bench.flows: ``uvloop_awaited``)
        "uvloop_awaited_per_s": med.get("uvloop_awaited"),
        "adapter_awaited_over_direct": per_round("uvloop_awaited", "direct"),
        "e2e_awaited_over_skill_queue_service": per_round("uvloop_awaited", "service"),
        "flow": {
            "agents": len(work.agents),
            "inquiries": len(work.inquiries),
            "queues": len({i.queue for i in work.inquiries}),
            "rounds": rounds,
        },
    }


# ---------------------------------------------------------------------- lifecycles


def lifecycles(
    sizes: dict[str, int],
    naive_sizes: dict[str, int],
    rounds: int,
    progress: Progress = _quiet,
    indexed_sizes: dict[str, int] | None = None,
    keep: str | None = None,
    units: dict[str, int] | None = None,
    peer_rounds: int = 0,
) -> dict[str, Any]:
    """Median lifecycle microseconds per agent count, core and peers, with calibration.

    ``sizes`` maps report labels to agent counts (the labels are the report's keys);
    the naive (scan-all) and indexed naive peers run at the labels of
    ``naive_sizes`` and ``indexed_sizes``, each mirrored from the core's state.
    ``core_calibrated`` is the median over rounds of each round's lifecycle over
    that round's calibration (neighbours in time: steadier than a ratio of medians);
    ``core_over_peer`` the same against the indexed peer at its smallest size: a
    calibration that runs Python code, as the core does, not a loop in C. The indexed
    peer runs the core's units per round at its label, so both time the same lifecycles
    of one trajectory; ``indexed_over_core_paired`` is the median over rounds of the
    peer's round over the core's, and ``drift`` each case's steady-state check
    (:func:`_drift`). With ``keep``,
    the core's state at that label is returned as ``kept`` for :func:`queue_depth`.
    ``units`` fixes the core's lifecycles per round at a label instead of sizing them by
    speed (:func:`auto_k`): two processes then time exactly the same lifecycles of the
    trajectory, which the state's drift makes matter (``bench.steady``; the guard's mode).
    ``peer_rounds`` more rounds follow for the calibration, the peers and the core at the
    peers' labels only (taking turns in the same order; their samples appended), so the
    speedups over the peers are medians of ``rounds + peer_rounds`` rounds: the scan-all
    peer at 10,000 agents runs at the speed of the shared last-level cache, and its rounds
    move by a third with what the machine's other processes do (BENCHMARKS.md, "The naive
    peers between processes (peer25)").
    """
    indexed_sizes = indexed_sizes or {}
    peers = {"naive": (NaiveRouter, naive_sizes), "indexed": (IndexedNaiveRouter, indexed_sizes)}
    calib = HeapqPairs()
    cases: dict[str, tuple[Callable[[int], float], int]] = {}
    cases["calibration"] = (calib.run, auto_k(calib.run, probe=1000))
    states: list[SteadyState] = []
    cores: dict[str, SteadyState] = {}
    waiting: dict[str, int] = {}
    windows: dict[str, float] = {}
    for label, n in sizes.items():
        t0 = time.perf_counter()
        wl = make_workload(n)
        gc.disable()
        mirrored = [name for name, (_, at) in peers.items() if label in at]
        core = SteadyState(Router(wl.config), wl, record=bool(mirrored))
        copies = {name: core.mirror(peers[name][0](wl.config)) for name in mirrored}
        core.log.clear()
        collect_after_setup()
        waiting[label] = core.r.total_waiting()  # type: ignore[attr-defined]
        windows[label] = wl.config.routing.recent_window_s
        progress(
            f"built {n:,} agents: {len(core.busy):,} busy, {waiting[label]:,} waiting "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        states.append(core)
        cores[label] = core
        fixed = (units or {}).get(label)
        cases[f"core/{label}"] = (core.run, fixed if fixed else auto_k(core.run))
        for name, state in copies.items():
            states.append(state)
            if name == "indexed":
                # The indexed peer runs the core's lifecycles: its mirror has the same arrivals
                # and completion draws and makes the same decisions, so with the same probes,
                # warm-up and units per round both time the same stretch of one trajectory
                # (the state drifts as it runs: the backlog drains, the recent-work window
                # fills; a peer timed over its first few hundred lifecycles against a core
                # timed over tens of thousands measured two different states).
                auto_k(state.run)
                k = cases[f"core/{label}"][1]
            else:
                k = auto_k(state.run, probe=2)
            cases[f"{name}/{label}"] = (state.run, k)
    progress(f"timing {len(cases)} cases x {rounds} rounds")
    samples = interleave(cases, rounds)
    paired = [lb for lb in sizes if lb in naive_sizes or lb in indexed_sizes]
    if peer_rounds and paired:
        more = ["calibration"] + [
            f"{name}/{lb}"
            for lb in paired
            for name in ("core", "naive", "indexed")
            if f"{name}/{lb}" in cases
        ]
        progress(f"timing {len(more)} cases x {peer_rounds} more rounds (the peers' labels)")
        extra = interleave({name: cases[name] for name in more}, peer_rounds, warmup=False)
        for name, s in extra.items():
            samples[name].extend(s)  # after the first rounds: pairs by round stay aligned
    med = {name: median_us(s) for name, s in samples.items()}
    cal = samples["calibration"]
    out: dict[str, Any] = {
        "calibration_heapq_pair_us": med["calibration"],
        "core_lifecycle_us": {lb: med[f"core/{lb}"] for lb in sizes},
        "naive_lifecycle_us": {lb: med[f"naive/{lb}"] for lb in naive_sizes},
        "indexed_naive_lifecycle_us": {lb: med[f"indexed/{lb}"] for lb in indexed_sizes},
        "core_calibrated": {lb: _paired(samples[f"core/{lb}"], cal) for lb in sizes},
        "core_over_peer": {},
        "waiting_at_steady_state": waiting,
        # the recent-work window, passed before timing (bench.workload: the steady state)
        "recent_window_s": windows,
        "units_per_round": {name: k for name, (_, k) in cases.items()},
        "spread": {name: _spread(s) for name, s in samples.items()},
        "drift": {name: _drift(s) for name, s in samples.items()},
        # each size's lifecycle over the calibration of its round, median over rounds: a
        # host slowing down for a while slows both (the guard's figures)
        "calibrated_by_size": {
            lb: _paired(samples[f"core/{lb}"], samples["calibration"]) for lb in sizes
        },
        "samples_us": {name: [x * 1e6 for x in s] for name, s in samples.items()},
        "indexed_over_core_paired": {
            lb: _paired(samples[f"indexed/{lb}"], samples[f"core/{lb}"]) for lb in indexed_sizes
        },
        "naive_over_core_paired": {
            lb: _paired(samples[f"naive/{lb}"], samples[f"core/{lb}"]) for lb in naive_sizes
        },
    }
    if indexed_sizes:
        peer = samples[f"indexed/{next(iter(indexed_sizes))}"]
        out["core_over_peer"] = {lb: _paired(samples[f"core/{lb}"], peer) for lb in sizes}
    if keep is not None:
        out["kept"] = cores[keep]
    del states, cases, cores
    gc.collect()
    return out


def _paired(a: list[float], b: list[float]) -> float:
    """Median over rounds of ``a``'s sample over ``b``'s in the same round."""
    return statistics.median(x / y for x, y in zip(a, b))


def _drift(samples: list[float]) -> float:
    """Median of the last third of the rounds over that of the first third: a steady-state
    check (1.0: the case cost the same at the end as at the start; a cold start or a
    one-time cost inside the timed rounds shows as a value well below 1)."""
    third = len(samples) // 3
    if third < 1:
        return math.nan
    return statistics.median(samples[-third:]) / statistics.median(samples[:third])


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


def _statistics_case(s: SteadyState) -> Callable[[int], float]:
    """``k`` calls of ``statistics()``, one lifecycle (untimed) before each: no call sees
    the state the previous one saw, so a cache of the last answer cannot help."""
    r: Any = s.r

    def run(k: int) -> float:
        spent = 0.0
        for _ in range(k):
            s.run(1)
            t0 = CLOCK()
            r.statistics()
            spent += CLOCK() - t0
        return spent

    return run


def _time_at_depth(
    s: SteadyState, calib: HeapqPairs, k_cal: int, rounds: int, stats: bool
) -> dict[str, Any]:
    """Decision cost (and ``statistics()`` cost) at the router's current depth."""
    cases: dict[str, tuple[Callable[[int], float], int]] = {
        "calibration": (calib.run, k_cal),
        "decision": (s.run, auto_k(s.run)),
    }
    if stats:
        fn = _statistics_case(s)
        cases["statistics"] = (fn, auto_k(fn, probe=1))
    res = interleave(cases, rounds)
    out: dict[str, Any] = {
        "decision_us": median_us(res["decision"]),
        "calibration_us": median_us(res["calibration"]),
        "decision_calibrated": _paired(res["decision"], res["calibration"]),
        "spread": {name: _spread(v) for name, v in res.items()},
        "samples_us": {name: [x * 1e6 for x in v] for name, v in res.items()},
    }
    if stats:
        out["statistics_us"] = median_us(res["statistics"])
        out["statistics_over_decision"] = _paired(res["statistics"], res["decision"])
    return out


def queue_depth(
    n_agents: int,
    depth: int,
    rounds: int,
    *,
    stats_depth: int = 200_000,
    steady: bool = True,
    state: SteadyState | None = None,
    series: tuple[int, ...] = (),
    traced: bool = False,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Decision cost and memory per inquiry with ``depth`` inquiries waiting.

    A steady ``n_agents`` router is timed first (the lifecycle at its own small
    queue), then filled until ``depth`` wait, then timed again: at that depth
    every lifecycle is one decision (a freed agent takes the head of its pools).
    On the way, at ``stats_depth`` waiting (or at ``depth`` if smaller), one
    ``statistics()`` call is timed beside a decision. Memory is the growth of
    the process's RSS over the fill divided by the inquiries added (all still
    held), so run this before anything big was freed in the process; without
    ``/proc`` it falls back to tracemalloc. ``traced`` adds the tracemalloc
    figure (Python allocations only, 5x slower fill) on a second router;
    ``series`` adds untraced points at other depths for the chart; ``steady=False``
    skips timing the steady state before the fill. ``state`` fills that steady
    router (kept by :func:`lifecycles`) instead of building a new one: faster,
    but its memory figure then also reuses what earlier sections freed.
    """
    calib = HeapqPairs()
    k_cal = auto_k(calib.run, probe=1000)
    if state is None:
        give_back_memory()
        wl = make_workload(n_agents)
        gc.disable()
        s = SteadyState(Router(wl.config), wl, prefix="w")
        collect_after_setup()
    else:
        s = state
    r: Any = s.r
    steady_waiting = r.total_waiting()
    before: dict[str, list[float]] = {"calibration": [], "lc": []}
    if steady:
        lc = (s.run, auto_k(s.run))
        before = interleave({"calibration": (calib.run, k_cal), "lc": lc}, rounds)
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
    at_stats: dict[str, Any] | None = None
    if stats_depth < depth:
        _fill_to(s, stats_depth)
        collect_after_setup()
        progress(f"{r.total_waiting():,} waiting: timing statistics()")
        at_stats = _time_at_depth(s, calib, k_cal, rounds, stats=True)
        at_stats["waiting"] = r.total_waiting()
        gc.disable()
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
    after = _time_at_depth(s, calib, k_cal, rounds, stats=at_stats is None)
    if at_stats is None:
        at_stats = {k: after.pop(k) for k in ("statistics_us", "statistics_over_decision")}
        at_stats["decision_us"] = after["decision_us"]
        at_stats["waiting"] = r.total_waiting()
    out: dict[str, Any] = {
        "queued_1m_decision_us": after["decision_us"],
        "bytes_per_queued_inquiry": (m1 - m0) / added,
        "memory_measured_by": how,
        "calibration_us": after["calibration_us"],
        "decision_calibrated": after["decision_calibrated"],
        "steady_lifecycle_us": median_us(before["lc"]) if steady else None,
        "steady_calibration_us": median_us(before["calibration"]) if steady else None,
        "steady_waiting": steady_waiting,
        "waiting": r.total_waiting(),
        "added": added,
        "spread": after["spread"],
        "samples_us": after["samples_us"],
        "statistics": at_stats,
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
