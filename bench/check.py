"""The regression guard: ratios of a run against ``bench/baseline.json``.

Theory of operation
-------------------
Only ratios are guarded (a figure over another measured beside it), never an
absolute time. Each guarded ratio has a direction (``lower`` or ``higher`` is
better), an accepted value and a noise margin. A ratio regresses when it is
worse than the accepted value by more than the margin, as a factor:
``value > base * (1 + margin)`` when lower is better,
``value < base / (1 + margin)`` when higher is better.

The margins are measured, not guessed: ``python -m bench.check make OUT RUN...``
takes several quick runs (ten for the committed baseline), uses their median as
the accepted value and sets each margin well above the observed spread: twice
the largest deviation of any run from the median (over ten runs that deviation
is already about two standard deviations, so the margin is about four), at
least 5%, rounded up to 5%. BENCHMARKS.md records the runs.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

__all__ = ["GUARDS", "check", "load_baseline", "make_baseline"]

#: Guarded ratios and which way is better.
GUARDS: dict[str, str] = {
    "core_lifecycle_calibrated": "lower",
    "speedup_vs_naive_10000": "higher",
    "scaling_100000_over_1000": "lower",
    "queued_1m_over_lifecycle_10000": "lower",
    "bytes_per_queued_inquiry": "lower",
    "uvloop_over_queue_pool": "higher",
    "sim_over_ciw": "higher",
    "surge20_p99_calibrated": "lower",
}

MIN_MARGIN = 0.05
SPREAD_FACTOR = 2


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and validate a baseline file; ValueError with a one-line reason if bad."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
    ratios = data.get("ratios") if isinstance(data, dict) else None
    if not isinstance(ratios, dict) or not ratios:
        raise ValueError(f"{path}: $.ratios: expected an object of guarded ratios")
    for name, entry in ratios.items():
        where = f"{path}: $.ratios.{name}"
        if name not in GUARDS:
            raise ValueError(f"{where}: unknown ratio; known: {', '.join(GUARDS)}")
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object with value, better, margin")
        value, margin = entry.get("value"), entry.get("margin")
        if not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
            raise ValueError(f"{where}.value: expected a positive number")
        if not isinstance(margin, int | float) or not 0 <= margin < 10:
            raise ValueError(f"{where}.margin: expected a number in [0, 10)")
        if entry.get("better") != GUARDS[name]:
            raise ValueError(f"{where}.better: expected {GUARDS[name]!r}")
    return data


def check(ratios: dict[str, float | None], baseline: dict[str, Any]) -> list[str]:
    """One line per ratio that regressed beyond its margin (or went missing)."""
    out = []
    for name, entry in baseline["ratios"].items():
        base, margin, better = entry["value"], entry["margin"], entry["better"]
        value = ratios.get(name)
        if value is None or not math.isfinite(value):
            out.append(f"REGRESSION {name}: not measured in this run (baseline {base:.4g})")
            continue
        worse = value / base if better == "lower" else base / value
        if worse > 1 + margin:
            out.append(
                f"REGRESSION {name}: {value:.4g} vs baseline {base:.4g} "
                f"({better} is better): {100 * (worse - 1):.0f}% worse, "
                f"margin {100 * margin:.0f}%"
            )
    return out


def make_baseline(runs: list[dict[str, Any]], sources: list[str]) -> dict[str, Any]:
    """Accepted values (medians) and measured margins from several runs' ``ratios``."""
    ratios: dict[str, Any] = {}
    for name, better in GUARDS.items():
        values = [r["ratios"].get(name) for r in runs]
        vals = [float(v) for v in values if v is not None]
        if len(vals) < len(runs) or not vals:
            continue
        med = statistics.median(vals)
        dev = max(abs(v / med - 1) for v in vals)
        margin = max(MIN_MARGIN, math.ceil(SPREAD_FACTOR * dev * 20 - 1e-9) / 20)
        ratios[name] = {
            "value": round(med, 4),
            "better": better,
            "margin": round(margin, 2),
            "runs": [round(v, 4) for v in vals],
            "spread": round(dev, 4),
        }
    machine = runs[0].get("meta", {}).get("machine", {}) if runs else {}
    return {
        "comment": (
            "Accepted ratios for `python -m bench --quick --check`. value = median of the runs; "
            "margin = max(5%, 2 x largest deviation of a run from the median), rounded up to 5%. "
            "Regenerate with: python -m bench.check make bench/baseline.json RUN.json..."
        ),
        "sources": sources,
        "machine": machine,
        "ratios": ratios,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.check")
    sub = p.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make", help="write a baseline from several runs' JSON reports")
    mk.add_argument("out")
    mk.add_argument("runs", nargs="+")
    ck = sub.add_parser("compare", help="check a saved report against a baseline")
    ck.add_argument("baseline")
    ck.add_argument("report")
    args = p.parse_args(argv)
    try:
        if args.cmd == "make":
            runs = [json.loads(Path(r).read_text()) for r in args.runs]
            data = make_baseline(runs, args.runs)
            Path(args.out).write_text(json.dumps(data, indent=2) + "\n")
            for name, e in data["ratios"].items():
                print(
                    f"{name:<32} {e['value']:>10.4g}  spread {100 * e['spread']:5.1f}%  "
                    f"margin {100 * e['margin']:.0f}%"
                )
            return 0
        baseline = load_baseline(Path(args.baseline))
        report = json.loads(Path(args.report).read_text())
    except (OSError, ValueError) as exc:
        print(f"bench.check: {exc}", file=sys.stderr)
        return 2
    failures = check(report.get("ratios", {}), baseline)
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
