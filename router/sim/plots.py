"""PNG charts of a simulation run (needs the optional ``plot`` extra: matplotlib).

Theory of operation: every chart is drawn from the :class:`SimResult` and its
report alone, with matplotlib's non-interactive Agg backend, so it works on a
headless CI box. :func:`write_charts` writes one file per chart plus
``overview.png`` (all four panels, the picture the README shows) and returns the
paths. :func:`matplotlib_available` lets callers skip charts with a clear message.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from router.sim.engine import ABANDONED, ANSWERED, DEFLECTED, REJECTED, SimResult

__all__ = ["MISSING_MESSAGE", "matplotlib_available", "write_charts"]

MISSING_MESSAGE = "charts need matplotlib: pip install 'inquiry-router[plot]'"

_COLORS = {
    "within": "#2e7d32",
    "callback": "#80cbc4",
    "late": "#f9a825",
    "abandoned": "#c62828",
    "rejected": "#6a1b9a",
    "deflected": "#1565c0",
}


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def _shade_surges(ax: Any, res: SimResult) -> None:
    for start, end in res.surge_windows:  # the router's own surge mode (backpressure)
        end = min(end, res.end_time)
        ax.axvspan(start / 3600, end / 3600, ymin=0.97, ymax=1.0, color="#6a1b9a", alpha=0.6, lw=0)
    if res.surge_windows:
        ax.text(
            res.surge_windows[0][0] / 3600,
            0.955,
            " router in surge mode",
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            color="#6a1b9a",
        )
    shift = 0.08 if res.surge_windows else 0.0
    for i, s in enumerate(res.scenario.surges):
        end = min(s.end_s, res.duration_s)
        label = f"surge x{s.multiplier:g}" + (f" ({', '.join(s.queues)})" if s.queues else "")
        ax.axvspan(s.start_s / 3600, end / 3600, color="#ff7043", alpha=0.08 + 0.04 * (i % 2))
        ax.text(
            s.start_s / 3600,
            1.0 - 0.07 * (i % 3) - shift,
            " " + label,
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            color="#bf360c",
        )


def _queue_panel(ax: Any, res: SimResult) -> None:
    tl = res.timeline
    hours = [t / 3600 for t in tl["t"]]
    for name, series in tl["waiting"].items():
        ax.plot(hours, series, label=name, linewidth=1.2)
    _shade_surges(ax, res)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("inquiries waiting")
    ax.set_title("Queue length over time")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def _wait_by_time_panel(ax: Any, res: SimResult) -> None:
    buckets = 48
    width = res.duration_s / buckets
    names = [q.name for q in res.scenario.queues]
    sums = {n: [0.0] * buckets for n in names}
    counts = {n: [0] * buckets for n in names}
    for r in res.inquiries:
        if r.outcome == ANSWERED and r.arrival < res.duration_s:
            b = min(int(r.arrival / width), buckets - 1)
            sums[r.queue][b] += r.answered_at - r.arrival
            counts[r.queue][b] += 1
    xs = [(i + 0.5) * width / 3600 for i in range(buckets)]
    for n in names:
        ys = [s / c if c else float("nan") for s, c in zip(sums[n], counts[n])]
        if any(c for c in counts[n]):
            ax.plot(xs, ys, marker=".", linewidth=1, label=n)
    _shade_surges(ax, res)
    ax.set_xlabel("arrival time (h)")
    ax.set_ylabel("mean wait of answered (s)")
    ax.set_title("Waiting over time")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def _wait_hist_panel(ax: Any, res: SimResult, rep: dict[str, Any]) -> None:
    lo, hi = res.warmup_s, res.duration_s
    waits = [
        r.answered_at - r.arrival
        for r in res.inquiries
        if r.outcome == ANSWERED and lo <= r.arrival < hi
    ]
    if waits:
        top = max(waits) or 1.0
        ax.hist(waits, bins=60, range=(0, top), color="#455a64")
        ax.set_yscale("log")
    for q in res.scenario.queues:
        ax.axvline(q.answer_target_s, color="#2e7d32", linestyle="--", linewidth=0.8)
    for key, style in (("wait_p95_s", ":"), ("wait_p99_s", "-.")):
        v = rep.get(key)
        if v is not None:
            ax.axvline(v, color="#c62828", linestyle=style, linewidth=0.9, label=key[5:8])
    ax.set_xlabel("wait of answered inquiries (s); green: answer targets")
    ax.set_ylabel("inquiries (log)")
    ax.set_title("Wait distribution")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def _agents_panel(ax: Any, res: SimResult) -> None:
    lo, hi = res.warmup_s, res.duration_s
    rows: list[tuple[str, float]] = []
    for a in res.agents:
        if a.login_at is None:
            continue
        start = max(a.login_at, lo)
        end = min(a.logout_at if a.logout_at is not None else hi, hi)
        if end > start:
            rows.append((a.group, a.busy / (end - start)))
    groups = sorted({g for g, _ in rows})
    cmap = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"]
    x = 0
    for gi, g in enumerate(groups):
        occ = sorted((o for gg, o in rows if gg == g), reverse=True)
        ax.bar(
            range(x, x + len(occ)),
            [100 * o for o in occ],
            width=1.0,
            color=cmap[gi % len(cmap)],
            label=f"{g} ({len(occ)})",
        )
        x += len(occ)
    ax.set_ylim(0, 105)
    ax.set_xlabel("agents (sorted within group)")
    ax.set_ylabel("occupancy in window (%)")
    ax.set_title("Per-agent occupancy")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3, axis="y")


def _outcomes_panel(ax: Any, res: SimResult) -> None:
    lo, hi = res.warmup_s, res.duration_s
    names = [q.name for q in res.scenario.queues]
    target = {q.name: q.answer_target_s for q in res.scenario.queues}
    cats = ["within", "late", "callback", "abandoned", "rejected", "deflected"]
    data = {n: dict.fromkeys(cats, 0) for n in names}
    for r in res.inquiries:
        if not lo <= r.arrival < hi:
            continue
        d = data[r.queue]
        if r.outcome == ANSWERED:
            if r.answered_at - r.arrival <= target[r.queue]:
                d["within"] += 1
            else:
                d["callback" if r.callback else "late"] += 1
        elif r.outcome == ABANDONED:
            d["abandoned"] += 1
        elif r.outcome == REJECTED:
            d["rejected"] += 1
        elif r.outcome == DEFLECTED:
            d["deflected"] += 1
    names = [n for n in names if any(data[n].values())]  # e.g. a second-pass queue
    left = [0.0] * len(names)
    ys = list(range(len(names)))
    for c in cats:
        vals = [float(data[n][c]) for n in names]
        if any(vals):
            labels = {
                "within": "answered in target",
                "late": "answered late",
                "callback": "answered late, by callback",
            }
            ax.barh(ys, vals, left=left, color=_COLORS[c], label=labels.get(c, c))
            left = [a + b for a, b in zip(left, vals)]
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_xlabel("inquiries arrived in the window (by the queue they arrived at)")
    ax.set_title("Outcomes by queue")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")


def write_charts(
    res: SimResult, rep: dict[str, Any], outdir: str | Path, title: str = ""
) -> list[Path]:
    """Write the PNG charts into ``outdir``; returns their paths. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    single: list[tuple[str, Callable[[Any], None]]] = [
        ("queues.png", lambda ax: _queue_panel(ax, res)),
        ("waiting.png", lambda ax: _wait_by_time_panel(ax, res)),
        ("waits.png", lambda ax: _wait_hist_panel(ax, res, rep)),
        ("agents.png", lambda ax: _agents_panel(ax, res)),
        ("outcomes.png", lambda ax: _outcomes_panel(ax, res)),
    ]
    for name, draw in single:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        paths.append(out / name)
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), dpi=100)
    _queue_panel(axes[0][0], res)
    _wait_hist_panel(axes[0][1], res, rep)
    _agents_panel(axes[1][0], res)
    _outcomes_panel(axes[1][1], res)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "overview.png")
    plt.close(fig)
    paths.append(out / "overview.png")
    return paths
