"""``python -m bench``: every figure of scenario.md §4 in one process and one run.

Theory of operation
-------------------
The run goes section by section (see :mod:`bench.sections`): the 20x surge
first (so the peak RSS is its own), then a million waiting inquiries (whose
memory is RSS growth, meaningful only before anything big was freed), our
simulator beside ciw, the adapters beside an ``asyncio.Queue`` pool, and the
core lifecycle at each agent count beside the naive peer. A section that cannot run
(a missing example, a failing adapter) leaves its keys ``null`` and says why in
``notes``; the others still run.

Ratios are what the project guards (``ratios`` in the report, and
:mod:`bench.check` against ``bench/baseline.json``): a figure divided by another
measured beside it, so the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from bench.check import GUARDS, check, load_baseline
from bench.timing import machine

__all__ = ["MODES", "build_report", "main"]

ROOT = Path(__file__).resolve().parent.parent
SURGE_SCENARIO = ROOT / "examples" / "spring_festival.toml"

#: Sizes per mode. Report labels stay the spec's ("1000", "10000", "100000"); in
#: ``tiny`` mode (the test suite's smoke run) they stand for much smaller centers.
MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "sizes": {"1000": 1000, "10000": 10_000, "100000": 100_000},
        "naive": ("1000", "10000"),
        "rounds": 15,
        "depth": 1_000_000,
        "depth_series": (),
        "sim_duration_s": 86_400.0,
        "sim_rounds": 3,
        "e2e": (10_000, 100, 5),
        "surge": True,
        "limits": {"surge20": 60, "sim_vs_ciw": 30, "e2e": 30},
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
        "rounds": 41,
        "depth": 1_000_000,
        "depth_series": (10_000, 100_000, 1_000_000),
        "sim_duration_s": 86_400.0,
        "sim_rounds": 7,
        "e2e": (20_000, 100, 7),
        "surge": True,
        "limits": {"surge20": 300, "sim_vs_ciw": 120, "e2e": 120},
    },
    "tiny": {
        "sizes": {"1000": 60, "10000": 150, "100000": 300},
        "naive": ("1000", "10000"),
        "rounds": 3,
        "depth": 3000,
        "depth_series": (),
        "sim_duration_s": 3600.0,
        "sim_rounds": 1,
        "e2e": (200, 10, 1),
        "surge": False,
        "limits": {"sim_vs_ciw": 30, "e2e": 30},
    },
}

#: The issue's targets, as ``(comparison, bound)`` on report keys or ratios.
TARGETS: dict[str, tuple[str, float]] = {
    "core_lifecycle_calibrated": ("<=", 10.0),
    "speedup_vs_naive_10000": (">=", 50.0),
    "scaling_100000_over_1000": ("<=", 2.0),
    "queued_1m_over_lifecycle_10000": ("<=", 2.0),
    "bytes_per_queued_inquiry": ("<=", 400.0),
    "uvloop_over_queue_pool": (">=", 0.3),
    "sim_over_ciw": (">=", 2.0),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bench: {message} (see python -m bench --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m bench",
        description="Benchmarks of the router core beside its peers (BENCHMARKS.md).",
    )
    p.add_argument("--quick", action="store_true", help="the CI subset (about 2 minutes)")
    p.add_argument(
        "--tiny", action="store_true", help="a seconds-long smoke run; figures not comparable"
    )
    p.add_argument("--json", metavar="PATH", help="write the report here")
    p.add_argument(
        "--check",
        metavar="BASELINE",
        help="exit 1 if a ratio is worse than this baseline by more than its margin",
    )
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


def build_report(
    mode: str, progress: Callable[[str], None], only: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run every section of ``mode`` and assemble the report (scenario.md §4 keys)."""
    from bench import sections

    cfg = MODES[mode]
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
    }
    notes: list[str] = []
    extra: dict[str, Any] = {}
    t_start = time.perf_counter()

    def section(name: str, fn: Callable[[], None]) -> None:
        if only and name not in only:
            return
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
            notes.append("surge20: skipped in tiny mode")
            return
        if not SURGE_SCENARIO.exists():
            notes.append(f"surge20: {SURGE_SCENARIO.relative_to(ROOT)} does not exist yet")
            return
        rep["surge20"] = sections.surge(SURGE_SCENARIO)

    def do_sim() -> None:
        rep.update(sections.sim_vs_ciw(cfg["sim_duration_s"], cfg["sim_rounds"]))

    def do_e2e() -> None:
        n, agents, rounds = cfg["e2e"]
        out = sections.e2e(n, agents, rounds)
        rep["e2e_per_s"] = out["e2e_per_s"]
        rep["asyncio_queue_pool_per_s"] = out["asyncio_queue_pool_per_s"]
        extra["core_direct_per_s"] = out["core_direct_per_s"]
        extra["e2e_flow"] = {"inquiries": n, "agents": agents, "rounds": rounds}

    def do_lifecycles() -> None:
        naive = {lb: cfg["sizes"][lb] for lb in cfg["naive"]}
        out = sections.lifecycles(cfg["sizes"], naive, cfg["rounds"], progress)
        rep["calibration_heapq_pair_us"] = out["calibration_heapq_pair_us"]
        rep["core_lifecycle_us"] = out["core_lifecycle_us"]
        rep["naive_lifecycle_us"] = out["naive_lifecycle_us"]
        extra["lifecycle"] = {
            k: out[k] for k in ("waiting_at_steady_state", "units_per_round", "spread")
        }

    def do_queue() -> None:
        out = sections.queue_depth(
            cfg["sizes"]["10000"],
            cfg["depth"],
            cfg["rounds"],
            series=cfg["depth_series"],
            traced=mode == "full",
            progress=progress,
        )
        rep["queued_1m_decision_us"] = out.pop("queued_1m_decision_us")
        rep["bytes_per_queued_inquiry"] = out.pop("bytes_per_queued_inquiry")
        extra["queue_depth"] = out

    section("surge20", do_surge)
    section("queue_depth", do_queue)
    section("sim_vs_ciw", do_sim)
    section("e2e", do_e2e)
    section("lifecycles", do_lifecycles)

    lc = rep["core_lifecycle_us"] or {}
    nv = rep["naive_lifecycle_us"] or {}
    cal = rep["calibration_heapq_pair_us"]
    rep["core_lifecycle_calibrated"] = _ratio(lc.get("10000"), cal)
    rep["speedup_vs_naive_10000"] = _ratio(nv.get("10000"), lc.get("10000"))
    rep["scaling_100000_over_1000"] = _ratio(lc.get("100000"), lc.get("1000"))
    qd = extra.get("queue_depth", {})
    queued_cal = _ratio(rep["queued_1m_decision_us"], qd.get("calibration_us"))
    e2e = rep["e2e_per_s"] or {}
    surge = rep["surge20"] or {}
    ratios = {
        "core_lifecycle_calibrated": rep["core_lifecycle_calibrated"],
        "speedup_vs_naive_10000": rep["speedup_vs_naive_10000"],
        "scaling_100000_over_1000": rep["scaling_100000_over_1000"],
        # each side over the calibration measured beside it: drift between sections cancels
        "queued_1m_over_lifecycle_10000": _ratio(queued_cal, rep["core_lifecycle_calibrated"]),
        "bytes_per_queued_inquiry": rep["bytes_per_queued_inquiry"],
        "uvloop_over_queue_pool": _ratio(e2e.get("uvloop"), rep["asyncio_queue_pool_per_s"]),
        "sim_over_ciw": _ratio(rep["sim_customers_per_s"], rep["ciw_customers_per_s"]),
        "surge20_p99_calibrated": _ratio(surge.get("p99_decision_us"), surge.get("calibration_us")),
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
    series: dict[str, Any] = {"agents": {}, "naive_agents": {}, "queue_depth": {}}
    for lb, us in lc.items():
        series["agents"][str(cfg["sizes"][lb])] = us
    for lb, us in nv.items():
        series["naive_agents"][str(cfg["sizes"][lb])] = us
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
        "sizes": cfg["sizes"],
        "rounds": cfg["rounds"],
        "machine": machine(),
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
            lines.append(f"  {k:<28} {_fmt(v)}")
    lines.append("ratios (guarded):")
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
    if args.quick and args.tiny:
        print("bench: --quick and --tiny exclude each other", file=sys.stderr)
        return 2
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    baseline = None
    if args.check:
        try:
            baseline = load_baseline(Path(args.check))
        except ValueError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 2

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    rep = build_report(mode, progress)
    print(summary(rep))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rep, indent=2, sort_keys=False) + "\n")
        print(f"wrote {path}")
    if args.chart:
        from bench.chart import write_chart

        print(f"wrote {write_chart(rep, Path(args.chart))}")
    if baseline is not None:
        if mode == "tiny":
            print("bench: --check needs --quick or a full run, not --tiny", file=sys.stderr)
            return 2
        failures = check(rep["ratios"], baseline)
        for line in failures:
            print(line)
        if failures:
            return 1
        print(f"bench-check: all {len(baseline['ratios'])} ratios within their margins")
    return 0


_ = GUARDS
