"""``python -m bench``: every figure of BENCHMARKS.md in one run.

Theory of operation
-------------------
The run goes section by section (see :mod:`bench.sections`): the 20x surge
first (so the peak RSS is its own), then a million waiting inquiries (whose
memory is RSS growth, meaningful only before anything big was freed), our
simulator beside ciw and SimPy, the adapters beside the hand-written service
and the core called directly, and the core lifecycle at each agent count beside
the naive peers. A section that cannot run (a missing example, a failing
adapter) leaves its keys ``null`` and says why in ``notes``; the others still run.

Every figure comes from this one process, except one: when the router loaded
here is the compiled build, ``core_lifecycle_calibrated_pure`` is measured by a
second ``python -m bench`` process running the lifecycles on the pure-Python
sources of the same tree (``BENCH_ROUTER_BUILD=pure``, :mod:`bench.build`).

Ratios are what the project compares (``ratios`` in the report): a figure
divided by another measured beside it, so the machine's speed cancels out. The
regression guard (:mod:`bench.guard`) runs this harness in ``guard`` mode, a
subset whose figures it compares between two code versions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from bench.build import ENV_BUILD, ENV_PATH, describe, require_build
from bench.timing import machine, versions

__all__ = ["MODES", "SECTIONS", "build_report", "main"]

ROOT = Path(__file__).resolve().parent.parent
SURGE_SCENARIO = ROOT / "examples" / "spring_festival.toml"

#: The sections of a run, in the order they run.
SECTIONS = ("surge20", "queue_depth", "sim_vs_ciw", "e2e", "lifecycles", "features")

#: Sizes per mode. Report labels stay the spec's ("1000", "10000", "100000"); in
#: ``tiny`` mode (the test suite's smoke run) they stand for much smaller centers.
#: ``guard`` is the subset :mod:`bench.guard` runs once per code version and repeat.
MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "sizes": {"1000": 1000, "10000": 10_000, "100000": 100_000},
        "naive": ("1000", "10000"),
        "indexed": ("1000", "10000"),
        "rounds": 15,
        # more rounds for the calibration, the peers and the core at the peers' labels
        # (sections.lifecycles): the speedups over the peers from 30 rounds
        "peer_rounds": 15,
        "depth": 1_000_000,
        "stats_depth": 200_000,
        "depth_series": (),
        "sim_duration_s": 86_400.0,
        "sim_rounds": 3,
        "e2e": (5000, 200, 5),
        "flows": ("trio", "asyncio", "uvloop", "uvloop_awaited", "service", "direct"),
        "pool": True,
        "surge": True,
        "pure_mode": "guard",
        "limits": {"surge20": 120, "sim_vs_ciw": 120, "e2e": 300},
    },
    "full": {
        "sizes": {
            "1000": 1000,
            "3000": 3000,
            "10000": 10_000,
            "30000": 30_000,
            "100000": 100_000,
        },
        "naive": ("1000", "3000", "10000"),
        "indexed": ("1000", "3000", "10000"),
        "rounds": 41,
        "peer_rounds": 20,
        "depth": 1_000_000,
        "stats_depth": 200_000,
        "depth_series": (10_000, 100_000, 1_000_000),
        "sim_duration_s": 86_400.0,
        "sim_rounds": 7,
        "e2e": (20_000, 200, 7),
        "flows": ("trio", "asyncio", "uvloop", "uvloop_awaited", "service", "direct"),
        "pool": True,
        "surge": True,
        "pure_mode": "guard",
        "limits": {"surge20": 300, "sim_vs_ciw": 300, "e2e": 900},
    },
    "tiny": {
        "sizes": {"1000": 60, "10000": 150, "100000": 300},
        "naive": ("1000", "10000"),
        "indexed": ("1000", "10000"),
        "rounds": 3,
        "peer_rounds": 1,
        "depth": 3000,
        "stats_depth": 3000,
        "depth_series": (),
        "sim_duration_s": 3600.0,
        "sim_rounds": 1,
        "e2e": (200, 20, 1),
        "flows": ("trio", "asyncio", "uvloop", "uvloop_awaited", "service", "direct"),
        "pool": True,
        "surge": False,
        "pure_mode": "tiny",
        "features_max_k": 2000,  # (bench/features.py: a center of 150 agents sustains ~10k)
        "limits": {"sim_vs_ciw": 30, "e2e": 30},
    },
    "guard": {
        "order": ("lifecycles", "queue_depth", "sim_vs_ciw", "e2e"),
        "reuse_10000": True,
        "sizes": {"1000": 1000, "10000": 10_000},
        "naive": (),
        "indexed": (),
        "rounds": 21,
        # Lifecycles per round fixed, not sized by speed: the state drifts as it runs (its
        # backlog drains; at 1,000 agents the recent-work window starts to expire after
        # about 30,000 lifecycles, each then dearer: bench.steady), so a process that sized
        # its rounds larger timed a later, dearer stretch. Both sides of the guard now time
        # the same lifecycles, all before the window (21 rounds of 1,000 at 1,000 agents
        # cover about 1,300 simulated seconds of its 1,800).
        "units": {"1000": 1000, "10000": 1500},
        "depth_rounds": 9,
        "depth": 200_000,
        "stats_depth": 200_000,
        "steady": False,
        "depth_series": (),
        "sim_duration_s": 43_200.0,
        "sim_rounds": 3,
        "simpy": False,
        "e2e": (3000, 200, 5),
        "flows": ("uvloop", "service", "direct"),
        "pool": False,
        "surge": False,
        "pure_mode": "guard",
        "limits": {"sim_vs_ciw": 120, "e2e": 180},
    },
}

#: The issue's targets, as ``(comparison, bound)`` on report ratios.
TARGETS: dict[str, tuple[str, float]] = {
    "core_lifecycle_calibrated": ("<=", 60.0),
    "core_lifecycle_calibrated_pure": ("<=", 120.0),
    "speedup_vs_indexed_naive_1000": (">=", 2.0),
    "speedup_vs_indexed_naive_10000": (">=", 20.0),
    "speedup_vs_naive_10000": (">=", 80.0),
    "scaling_100000_over_1000": ("<=", 2.0),
    "queued_1m_over_lifecycle_10000": ("<=", 2.0),
    "bytes_per_queued_inquiry": ("<=", 300.0),
    "e2e_over_skill_queue_service": (">=", 0.5),
    "adapter_over_direct": (">=", 0.9),
    "sim_over_ciw": (">=", 2.0),
    "worst_mode_over_lifecycle": ("<=", 1.5),
    "expression_over_lifecycle": ("<=", 1.5),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bench: {message} (see python -m bench --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m bench",
        description="Benchmarks of the router core beside its peers (BENCHMARKS.md).",
    )
    p.add_argument("--quick", action="store_true", help="the quick subset (about 2-3 minutes)")
    p.add_argument(
        "--tiny", action="store_true", help="a seconds-long smoke run; figures not comparable"
    )
    p.add_argument(
        "--mode",
        choices=sorted(MODES),
        help="full (default), quick, tiny, or guard (the subset bench.guard compares)",
    )
    p.add_argument(
        "--sections",
        metavar="LIST",
        help=f"comma-separated subset of: {', '.join(SECTIONS)}",
    )
    p.add_argument(
        "--pure-beside",
        action="store_true",
        help="measure core_lifecycle_calibrated_pure in a pure-Python process even when "
        "this build is pure (automatic when it is compiled)",
    )
    p.add_argument("--json", metavar="PATH", help="write the report here")
    p.add_argument("--chart", metavar="DIR", help="write the PNG chart here (full mode)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p


class SectionTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Abort the section with SectionTimeout after ``seconds`` (main thread, POSIX only)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise SectionTimeout(f"gave up after {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or not b:
        return None
    v = float(a) / float(b)
    return v if math.isfinite(v) else None


def pure_lifecycle_calibrated(mode: str, progress: Callable[[str], None]) -> float:
    """``core_lifecycle_calibrated`` of the pure-Python sources of the router loaded here.

    Runs ``python -m bench --mode MODE --sections lifecycles`` in a subprocess
    with ``BENCH_ROUTER_BUILD=pure`` on the same tree (:mod:`bench.build`).
    """
    import router

    root = Path(router.__file__ or "").resolve().parent.parent
    env = dict(os.environ, **{ENV_BUILD: "pure", ENV_PATH: str(root)})
    with tempfile.TemporaryDirectory(prefix="bench-pure-") as tmp:
        out = Path(tmp) / "pure.json"
        cmd = [sys.executable, "-m", "bench", "--mode", mode, "--sections", "lifecycles"]
        cmd += ["--quiet", "--json", str(out)]
        progress(f"pure-Python lifecycles in a subprocess ({mode} mode)")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the pure-Python run failed (exit {done.returncode}): {last}")
        rep = json.loads(out.read_text())
    if rep["compiled"]:
        raise RuntimeError("the pure-Python run loaded compiled modules")
    value = rep["core_lifecycle_calibrated"]
    if value is None:
        raise RuntimeError(f"the pure-Python run measured nothing: {rep['notes']}")
    return float(value)


def build_report(
    mode: str,
    progress: Callable[[str], None],
    only: tuple[str, ...] = (),
    *,
    pure_beside: bool = False,
) -> dict[str, Any]:
    """Run every section of ``mode`` and assemble the report (every key: docs/bench-report.md)."""
    from bench import sections

    cfg = MODES[mode]
    build = describe()
    order = [name for name in cfg.get("order", SECTIONS) if not only or name in only]
    rep: dict[str, Any] = {
        "calibration_heapq_pair_us": None,
        "core_lifecycle_us": None,
        "core_lifecycle_calibrated": None,
        "naive_lifecycle_us": None,
        "speedup_vs_naive_10000": None,
        "scaling_100000_over_1000": None,
        "queued_1m_decision_us": None,
        "bytes_per_queued_inquiry": None,
        "e2e_per_s": None,
        "asyncio_queue_pool_per_s": None,
        "sim_customers_per_s": None,
        "ciw_customers_per_s": None,
        "surge20": None,
        "compiled": build["compiled"],
        "core_lifecycle_calibrated_pure": None,
        "speedup_vs_indexed_naive": None,
        "e2e_over_skill_queue_service": None,
        "adapter_over_direct": None,
        "statistics_over_decision": None,
        "indexed_naive_lifecycle_us": None,
        "skill_queue_service_per_s": None,
        "simpy_customers_per_s": None,
        "lifecycle_us_by_mode": None,
        "expression_lifecycle_us": None,
    }
    notes: list[str] = []
    extra: dict[str, Any] = {}
    t_start = time.perf_counter()

    def section(name: str, fn: Callable[[], None]) -> None:
        limit = cfg["limits"].get(name)
        progress(f"[{time.perf_counter() - t_start:6.1f}s] {name}")
        t0 = time.perf_counter()
        try:
            with _time_limit(limit):
                fn()
        except Exception as exc:  # a broken peer or piece must not hide the other figures
            msg = str(exc).splitlines()[0] if str(exc) else ""
            notes.append(f"{name}: failed: {type(exc).__name__}: {msg}")
            progress(f"  {name} failed: {type(exc).__name__}: {msg}")
        extra.setdefault("section_wall_s", {})[name] = round(time.perf_counter() - t0, 1)

    def do_surge() -> None:
        if not cfg["surge"]:
            notes.append(f"surge20: skipped in {mode} mode")
            return
        if not SURGE_SCENARIO.exists():
            notes.append(f"surge20: {SURGE_SCENARIO.relative_to(ROOT)} does not exist yet")
            return
        rep["surge20"] = sections.surge(SURGE_SCENARIO)

    def do_sim() -> None:
        out = sections.sim_vs_ciw(
            cfg["sim_duration_s"], cfg["sim_rounds"], simpy=cfg.get("simpy", True)
        )
        for key in ("sim_customers_per_s", "ciw_customers_per_s", "simpy_customers_per_s"):
            rep[key] = out[key]
        extra["sim_over_ciw_rounds"] = out["sim_over_ciw_rounds"]

    def do_e2e() -> None:
        n, agents, rounds = cfg["e2e"]
        out = sections.e2e(n, agents, rounds, cfg["flows"], pool=cfg["pool"])
        for key in (
            "e2e_per_s",
            "asyncio_queue_pool_per_s",
            "e2e_over_skill_queue_service",
            "adapter_over_direct",
        ):
            rep[key] = out[key]
        rep["skill_queue_service_per_s"] = out["skill_queue_service_per_s"]
        extra["core_direct_per_s"] = out["core_direct_per_s"]
        # the ceiling of adapter_over_direct for this flow (bench/floor.py)
        extra["floor_per_s"] = out["floor_per_s"]
        extra["adapter_ceiling"] = out["adapter_ceiling"]
        # the producer awaiting ``submit`` (a coroutine per inquiry) instead of ``submit_nowait``
        extra["uvloop_awaited_per_s"] = out["uvloop_awaited_per_s"]
        extra["adapter_awaited_over_direct"] = out["adapter_awaited_over_direct"]
        extra["e2e_awaited_over_skill_queue_service"] = out["e2e_awaited_over_skill_queue_service"]
        extra["e2e_flow"] = out["flow"]

    kept: dict[str, Any] = {}

    def do_lifecycles() -> None:
        naive = {lb: cfg["sizes"][lb] for lb in cfg["naive"]}
        indexed = {lb: cfg["sizes"][lb] for lb in cfg["indexed"]}
        keep = "10000" if cfg.get("reuse_10000") and "queue_depth" in order else None
        out = sections.lifecycles(
            cfg["sizes"],
            naive,
            cfg["rounds"],
            progress,
            indexed,
            keep=keep,
            units=cfg.get("units"),
            peer_rounds=cfg.get("peer_rounds", 0),
        )
        if keep is not None:
            kept["state"] = out.pop("kept")
        rep["calibration_heapq_pair_us"] = out["calibration_heapq_pair_us"]
        rep["core_lifecycle_us"] = out["core_lifecycle_us"]
        rep["naive_lifecycle_us"] = out["naive_lifecycle_us"] or None
        rep["indexed_naive_lifecycle_us"] = out["indexed_naive_lifecycle_us"] or None
        extra["lifecycle"] = {
            k: out[k]
            for k in (
                "core_calibrated",
                "core_over_peer",
                "waiting_at_steady_state",
                "recent_window_s",
                "units_per_round",
                "spread",
                "drift",
                "calibrated_by_size",
                "indexed_over_core_paired",
                "naive_over_core_paired",
                "samples_us",
            )
        }

    def do_queue() -> None:
        out = sections.queue_depth(
            cfg["sizes"]["10000"],
            cfg["depth"],
            cfg.get("depth_rounds", cfg["rounds"]),
            stats_depth=cfg["stats_depth"],
            steady=cfg.get("steady", True),
            state=kept.pop("state", None),
            series=cfg["depth_series"],
            traced=mode == "full",
            progress=progress,
        )
        rep["queued_1m_decision_us"] = out.pop("queued_1m_decision_us")
        rep["bytes_per_queued_inquiry"] = out.pop("bytes_per_queued_inquiry")
        rep["statistics_over_decision"] = out["statistics"]["statistics_over_decision"]
        extra["queue_depth"] = out

    def do_features() -> None:  # bench/features.py: the routing features of issue 16
        from bench.features import features

        out = features(cfg["sizes"]["10000"], cfg["rounds"], progress, cfg.get("features_max_k"))
        rep["lifecycle_us_by_mode"] = out.pop("lifecycle_us_by_mode")
        rep["expression_lifecycle_us"] = out.pop("expression_lifecycle_us")
        extra["features"] = out

    runs = {
        "features": do_features,
        "surge20": do_surge,
        "queue_depth": do_queue,
        "sim_vs_ciw": do_sim,
        "e2e": do_e2e,
        "lifecycles": do_lifecycles,
    }
    for name in order:
        section(name, runs[name])

    build = describe()  # after the sections: every router module they use is loaded
    rep["compiled"] = build["compiled"]
    lc = rep["core_lifecycle_us"] or {}
    nv = rep["naive_lifecycle_us"] or {}
    ix = rep["indexed_naive_lifecycle_us"] or {}
    cal = rep["calibration_heapq_pair_us"]
    rep["core_lifecycle_calibrated"] = _ratio(lc.get("10000"), cal)
    if build["compiled"] or pure_beside:
        if not only or "lifecycles" in only:
            try:
                pure = pure_lifecycle_calibrated(cfg["pure_mode"], progress)
            except Exception as exc:
                notes.append(f"core_lifecycle_calibrated_pure: {exc}")
            else:
                rep["core_lifecycle_calibrated_pure"] = pure
    else:
        rep["core_lifecycle_calibrated_pure"] = rep["core_lifecycle_calibrated"]
    rep["speedup_vs_naive_10000"] = _ratio(nv.get("10000"), lc.get("10000"))
    if ix:
        rep["speedup_vs_indexed_naive"] = {lb: _ratio(us, lc.get(lb)) for lb, us in ix.items()}
    rep["scaling_100000_over_1000"] = _ratio(lc.get("100000"), lc.get("1000"))
    qd = extra.get("queue_depth", {})
    queued_cal = _ratio(rep["queued_1m_decision_us"], qd.get("calibration_us"))
    e2e = rep["e2e_per_s"] or {}
    surge = rep["surge20"] or {}
    speedup_ix = rep["speedup_vs_indexed_naive"] or {}
    ratios = {
        "core_lifecycle_calibrated": rep["core_lifecycle_calibrated"],
        "core_lifecycle_calibrated_pure": rep["core_lifecycle_calibrated_pure"],
        "speedup_vs_indexed_naive_1000": speedup_ix.get("1000"),
        "speedup_vs_indexed_naive_10000": speedup_ix.get("10000"),
        "speedup_vs_naive_10000": rep["speedup_vs_naive_10000"],
        "scaling_100000_over_1000": rep["scaling_100000_over_1000"],
        # each side over the calibration measured beside it: drift between sections cancels
        "queued_1m_over_lifecycle_10000": _ratio(queued_cal, rep["core_lifecycle_calibrated"]),
        "bytes_per_queued_inquiry": rep["bytes_per_queued_inquiry"],
        "e2e_over_skill_queue_service": rep["e2e_over_skill_queue_service"],
        "adapter_over_direct": rep["adapter_over_direct"],
        # reported, no target: the most any asyncio adapter of this flow can reach (the
        # floor beside the direct flow, bench/floor.py)
        "adapter_ceiling": extra.get("adapter_ceiling"),
        "statistics_over_decision": rep["statistics_over_decision"],
        "sim_over_ciw": _ratio(rep["sim_customers_per_s"], rep["ciw_customers_per_s"]),
        "sim_over_simpy": _ratio(rep["sim_customers_per_s"], rep["simpy_customers_per_s"]),
        # reported, no target: the pool does different work (no routing, never suspends)
        "uvloop_over_queue_pool": _ratio(e2e.get("uvloop"), rep["asyncio_queue_pool_per_s"]),
        # reported, not guarded: a tail percentile is not stable on 2 shared cores
        "surge20_p99_calibrated": _ratio(surge.get("p99_decision_us"), surge.get("calibration_us")),
        # bench/features.py: each beside today's lifecycle in the same section
        "worst_mode_over_lifecycle": max(
            extra.get("features", {}).get("by_mode_over_lifecycle", {}).values(), default=None
        ),
        "expression_over_lifecycle": extra.get("features", {}).get("expression_over_lifecycle"),
    }
    rep["ratios"] = ratios
    rep["targets"] = {
        name: {
            "target": f"{op} {bound:g}",
            "value": ratios.get(name),
            "met": None
            if ratios.get(name) is None
            else (ratios[name] <= bound if op == "<=" else ratios[name] >= bound),
        }
        for name, (op, bound) in TARGETS.items()
    }
    series: dict[str, Any] = {"agents": {}, "naive_agents": {}, "indexed_agents": {}}
    series["queue_depth"] = {}
    for key, values in (("agents", lc), ("naive_agents", nv), ("indexed_agents", ix)):
        for lb, us in values.items():
            series[key][str(cfg["sizes"][lb])] = us
    if "series" in qd:
        series["queue_depth"] = {k: v["us"] for k, v in qd.pop("series").items()}
    rep["series"] = series
    missing = [k for k, v in rep.items() if v is None]
    if missing and not notes:
        notes.append(f"not measured: {', '.join(missing)}")
    rep["notes"] = notes
    rep["extra"] = extra
    rep["meta"] = {
        "mode": mode,
        "sections": order,
        "sizes": cfg["sizes"],
        "rounds": cfg["rounds"],
        "peer_rounds": cfg.get("peer_rounds", 0),
        "build": build,
        "machine": machine(),
        "versions": versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_s": round(time.perf_counter() - t_start, 1),
        "method": (
            "CPU time (thread_time/process_time); medians over interleaved rounds in one "
            "process; GC on while timing; each lifecycle = submit, tick (offer), accept, "
            "complete one in-service inquiry, tick"
        ),
    }
    return rep


def _fmt(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


def summary(rep: dict[str, Any]) -> str:
    """A plain-text table of the §4 keys, the ratios and the targets."""
    lines = [f"bench ({rep['meta']['mode']}, {rep['meta']['wall_s']}s)"]
    skip = {"ratios", "targets", "series", "notes", "extra", "meta"}
    for k, v in rep.items():
        if k not in skip:
            lines.append(f"  {k:<30} {_fmt(v)}")
    lines.append("ratios:")
    for k, v in rep["ratios"].items():
        t = rep["targets"].get(k)
        target = ""
        if t is not None:
            met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
            target = f"   target {t['target']}: {met}"
        lines.append(f"  {k:<32} {_fmt(v)}{target}")
    for note in rep["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    picked = [m for m, on in (("quick", args.quick), ("tiny", args.tiny)) if on]
    if args.mode:
        picked.append(args.mode)
    if len(set(picked)) > 1:
        print("bench: --quick, --tiny and --mode exclude each other", file=sys.stderr)
        return 2
    mode = picked[0] if picked else "full"
    only: tuple[str, ...] = ()
    if args.sections:
        only = tuple(x.strip() for x in args.sections.split(",") if x.strip())
        unknown = [x for x in only if x not in SECTIONS]
        if unknown or not only:
            print(
                f"bench: --sections: unknown section {', '.join(unknown) or '(none)'}; "
                f"known: {', '.join(SECTIONS)}",
                file=sys.stderr,
            )
            return 2
    require_build()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    rep = build_report(mode, progress, only, pure_beside=args.pure_beside)
    print(summary(rep))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rep, indent=2, sort_keys=False) + "\n")
        print(f"wrote {path}")
    if args.chart:
        from bench.chart import write_chart

        print(f"wrote {write_chart(rep, Path(args.chart))}")
    return 0
