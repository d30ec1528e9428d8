"""The BENCHMARKS.md chart: cost per decision against agent count and queue depth.

``python -m bench --chart docs/img`` (full mode) or
``python -m bench.chart out/bench.json docs/img`` draws it from a saved report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["write_chart"]

FILENAME = "bench_scaling.png"


def write_chart(rep: dict[str, Any], out_dir: Path) -> Path:
    """Draw the two panels from ``rep["series"]`` into ``out_dir/bench_scaling.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = rep["series"]
    cal = rep.get("calibration_heapq_pair_us")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))

    def xy(d: dict[str, float]) -> tuple[list[int], list[float]]:
        pts = sorted((int(k), v) for k, v in d.items())
        return [p[0] for p in pts], [p[1] for p in pts]

    x, y = xy(series["agents"])
    left.plot(x, y, "o-", color="tab:blue", label="router core")
    for xi, yi in zip(x, y):
        left.annotate(f"{yi:.0f}", (xi, yi), textcoords="offset points", xytext=(0, 7), ha="center")
    if series.get("naive_agents"):
        nx, ny = xy(series["naive_agents"])
        left.plot(nx, ny, "s--", color="tab:red", label="naive: scan and score every agent")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("logged-in agents (steady state, ~80% of capacity busy)")
    left.set_ylabel("µs per inquiry lifecycle")
    left.set_title("Cost per decision vs agent count")
    left.grid(True, which="both", alpha=0.3)
    left.legend(loc="center right")

    if series.get("queue_depth"):
        qx, qy = xy(series["queue_depth"])
        right.plot(qx, qy, "o-", color="tab:green", label="10,000 agents")
        for xi, yi in zip(qx, qy):
            right.annotate(
                f"{yi:.0f}", (xi, yi), textcoords="offset points", xytext=(0, 7), ha="center"
            )
        right.annotate(
            "steady state",
            (qx[0], qy[0]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
        )
        right.set_ylim(0, max(qy) * 1.4)
    right.set_xscale("log")
    right.set_xlabel("inquiries waiting (beyond the steady state: every slot busy)")
    right.set_ylabel("µs per decision (one lifecycle)")
    right.set_title("Cost per decision vs queue depth")
    right.grid(True, which="both", alpha=0.3)
    if series.get("queue_depth"):
        right.legend(loc="lower right")
    meta = rep.get("meta", {})
    m = meta.get("machine", {})
    sub = f"{m.get('cpu', '?')}, {m.get('nproc', '?')} cores, Python {m.get('python', '?')}"
    if cal:
        sub += f"; calibration: heapq push+pop pair on a 10k heap = {cal:.3f} µs"
    fig.suptitle(sub, fontsize=9, y=0.02, va="bottom")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILENAME
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.chart REPORT.json OUT_DIR", file=sys.stderr)
        return 2
    try:
        rep = json.loads(Path(args[0]).read_text())
    except (OSError, ValueError) as exc:
        print(f"bench.chart: {args[0]}: {exc}", file=sys.stderr)
        return 2
    print(write_chart(rep, Path(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
