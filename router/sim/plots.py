"""PNG charts of a simulation run (needs the optional ``plot`` extra: matplotlib).

Theory of operation: every chart is drawn from the :class:`SimResult` and its
report alone, with matplotlib's non-interactive Agg backend, so it works on a
headless CI box. Time axes read the scenario's own clock (``[simulation] start``,
e.g. "Fri 18:00") and run to the end of the run, the drain included. Callers who
hung up and wait for a callback are drawn apart (dashed) from callers on the line;
outcomes are shares of each queue (the queue the inquiry ended in), so a priority
line of 34 calls is as readable as a flood of 9,000. An empty run (``--load 0``)
draws empty panels with zero-based axes and no warnings. :func:`write_charts`
writes one file per chart plus ``overview.png`` (six panels, the picture the README
shows) and returns the paths; :func:`overview_figure` returns that figure unsaved.
:func:`matplotlib_available` lets callers skip charts with a clear message.
"""

from __future__ import annotations

import importlib.util
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from router.sim.clock import clock_label, clock_offset_s
from router.sim.engine import ABANDONED, ANSWERED, DEFLECTED, OPEN, REJECTED, SimResult
from router.sim.report import EWT_WINDOW_S, answer_target, staffed_in_window

__all__ = ["MISSING_MESSAGE", "matplotlib_available", "overview_figure", "write_charts"]

MISSING_MESSAGE = "charts need matplotlib: pip install 'inquiry-router[plot]'"

_COLORS = {
    "within": "#2e7d32",
    "late": "#f9a825",
    "callback": "#80cbc4",
    "abandoned": "#c62828",
    "rejected": "#6a1b9a",
    "deflected": "#1565c0",
    "unresolved": "#9e9e9e",
}
_LABELS = {
    "within": "answered in target",
    "late": "answered late",
    "callback": "answered late, by callback",
    "unresolved": "no outcome",
}
_GROUP_COLORS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"]


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


# ---------------------------------------------------------------------- helpers


def _legend(ax: Any, below: bool = False, **kw: Any) -> None:
    """A legend only when something is labelled (matplotlib warns otherwise); ``below``
    puts it under the axes, off the data (time panels: surges shade the whole width)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if below:
        kw = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncol": 3, **kw}
    ax.legend(handles, labels, fontsize=7, **kw)


def _zero_based(ax: Any) -> None:
    """Counts and shares are never negative: the y axis starts at 0 (and has some height)."""
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top if top > 0 else 1)


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="#757575")


def _clock_axis(ax: Any, res: SimResult, end_h: float, label: str = "") -> None:
    """Hours since t = 0 on x, labelled with the scenario's wall clock."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    off = clock_offset_s(res.scenario.simulation.start)
    span = max(end_h, 1e-9)
    step = next((s for s in (1, 2, 3, 4, 6, 12, 24) if span / s <= 9), 48)
    off_h = off / 3600.0
    k = math.ceil(off_h / step)
    ticks = []
    while k * step - off_h <= span + 1e-9:
        ticks.append(k * step - off_h)
        k += 1
    ax.set_xlim(0, span)
    ax.xaxis.set_major_locator(FixedLocator(ticks))

    def fmt(x: float, pos: int | None) -> str:
        text = clock_label(x * 3600.0, off)
        return text if pos == 0 or text.endswith(" 00:00") else text[4:]

    ax.xaxis.set_major_formatter(FuncFormatter(fmt))
    ax.set_xlabel(label or "time (the scenario's clock)")


def _shade(ax: Any, res: SimResult) -> None:
    """Arrival surges (orange), the router's surge mode (purple bar), the drain (grey);
    each labelled once, for the legend."""
    end_h = res.end_time / 3600
    for i, (start, end) in enumerate(res.surge_windows):  # the router's own surge mode
        end = min(end, res.end_time)
        ax.axvspan(
            start / 3600,
            end / 3600,
            ymin=0.97,
            ymax=1.0,
            color="#6a1b9a",
            alpha=0.6,
            lw=0,
            label="" if i else "router in surge mode",
        )
    floods = [
        s
        for s in res.scenario.surges
        if s.multiplier > 1 and (s.start_s > 0 or s.end_s < res.duration_s)
    ]  # a flood over the whole run is in the title; multipliers <= 1 shape a normal day
    for i, s in enumerate(floods):
        end = min(s.end_s, res.duration_s)
        label = f"arrivals x{s.multiplier:g}" + (f" ({', '.join(s.queues)})" if s.queues else "")
        ax.axvspan(
            s.start_s / 3600,
            end / 3600,
            color="#ff7043",
            alpha=0.08 + 0.04 * (i % 2),
            lw=0,
            label=label,
        )
    if end_h > res.duration_s / 3600 + 1e-9:
        ax.axvspan(
            res.duration_s / 3600,
            end_h,
            color="#9e9e9e",
            alpha=0.15,
            lw=0,
            label="drain (no new arrivals)",
        )


def _end_h(res: SimResult) -> float:
    return max(res.end_time, res.duration_s) / 3600


# ---------------------------------------------------------------------- panels


def _queue_panel(ax: Any, res: SimResult) -> None:
    tl = res.timeline
    hours = [t / 3600 for t in tl["t"]]
    callbacks = tl.get("callbacks", {})
    drawn_cb = False
    for i, (name, series) in enumerate(tl["waiting"].items()):
        color = f"C{i % 10}"
        cb = callbacks.get(name, [])
        if not any(series) and not any(cb):
            continue
        ax.plot(hours, series, label=name, linewidth=1.2, color=color)
        if any(cb):
            ax.plot(hours, cb, linewidth=1.0, linestyle="--", color=color)
            drawn_cb = True
    if drawn_cb:
        ax.plot([], [], linestyle="--", color="#424242", label="dashed: callbacks (hung up)")
    _shade(ax, res)
    _clock_axis(ax, res, _end_h(res))
    _zero_based(ax)
    if not hours or (not any(any(s) for s in tl["waiting"].values()) and not drawn_cb):
        _empty(ax, "nobody waited")
    ax.set_ylabel("callers waiting")
    ax.set_title("Waiting: on the line (solid), for a callback (dashed)")
    _legend(ax, below=True)
    ax.grid(alpha=0.3)


def _wait_by_time_panel(ax: Any, res: SimResult) -> None:
    """Mean wait of answered inquiries per half hour of arrival, and the wait they were told."""
    width = EWT_WINDOW_S
    n = max(1, math.ceil(res.duration_s / width))
    names = [q.name for q in res.queue_configs()]
    sums = {q: [0.0] * n for q in names}
    told = {q: [0.0] * n for q in names}
    n_told = {q: [0] * n for q in names}
    counts = {q: [0] * n for q in names}
    for r in res.inquiries:
        if r.outcome == ANSWERED and r.arrival < res.duration_s:
            b = min(int(r.arrival / width), n - 1)
            sums[r.queue][b] += r.answered_at - r.arrival
            counts[r.queue][b] += 1
            if r.ewt is not None and math.isfinite(r.ewt):
                told[r.queue][b] += r.ewt
                n_told[r.queue][b] += 1
    xs = [(i + 0.5) * width / 3600 for i in range(n)]
    drawn = False
    for i, q in enumerate(names):
        if not any(counts[q]):
            continue
        color = f"C{i % 10}"
        ys = [s / c if c else float("nan") for s, c in zip(sums[q], counts[q])]
        ax.plot(xs, ys, marker=".", linewidth=1.2, label=q, color=color)
        ts = [s / c if c else float("nan") for s, c in zip(told[q], n_told[q])]
        ax.plot(xs, ts, linewidth=0.9, linestyle="--", color=color)
        drawn = True
    if drawn:
        ax.plot([], [], linestyle="--", color="#424242", label="dashed: wait told at arrival")
    else:
        _empty(ax, "nobody was answered")
    _shade(ax, res)
    _clock_axis(ax, res, res.duration_s / 3600, "arrival time (half-hour windows)")
    _zero_based(ax)
    ax.set_ylabel("mean wait of answered (s)")
    ax.set_title("Wait by arrival time: actual (solid), told (dashed)")
    _legend(ax, below=True)
    ax.grid(alpha=0.3)


def _staffing_panel(ax: Any, res: SimResult) -> None:
    tl = res.timeline
    hours = [t / 3600 for t in tl["t"]]
    ax.plot(hours, tl["agents_staffed"], color="#455a64", linewidth=1.2, label="logged in")
    ax.plot(hours, tl["busy_capacity"], color="#1565c0", linewidth=1.2, label="busy (agents)")
    ax.fill_between(
        hours, tl.get("agents_on_break", [0] * len(hours)), color="#ef6c00", alpha=0.5, lw=0
    )
    ax.plot([], [], color="#ef6c00", alpha=0.5, linewidth=6, label="on a break")
    _shade(ax, res)
    _clock_axis(ax, res, _end_h(res))
    _zero_based(ax)
    ax.set_ylabel("agents")
    peak = res.on_break_max
    ax.set_title(f"Agents (at most {100 * peak:.0f}% on a break at once)")
    _legend(ax, below=True)
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
        for q in res.queue_configs():
            if q.answer_target_s <= top:
                ax.axvline(q.answer_target_s, color="#2e7d32", linestyle="--", linewidth=0.8)
        for key, style in (("wait_p95_s", ":"), ("wait_p99_s", "-.")):
            v = rep.get(key)
            if v is not None:
                ax.axvline(v, color="#c62828", linestyle=style, linewidth=0.9, label=key[5:8])
        ax.set_xlim(0, top)
    else:
        _empty(ax, "nobody was answered")
        ax.set_xlim(0, 1)
        _zero_based(ax)
    ax.set_xlabel("wait of answered inquiries (s); green: answer targets")
    ax.set_ylabel("inquiries (log)" if waits else "inquiries")
    ax.set_title("Wait distribution")
    _legend(ax)
    ax.grid(alpha=0.3)


def _agents_panel(ax: Any, res: SimResult) -> None:
    lo, hi = res.warmup_s, res.duration_s
    rows: list[tuple[str, float]] = []
    for a in res.agents:
        staffed = staffed_in_window(a, lo, hi)  # on shift, as the report's occupancy
        if staffed > 0:
            rows.append((a.group, a.busy / staffed))
    groups = list(dict.fromkeys(g for g, _ in rows))
    x = 0
    for gi, g in enumerate(groups):
        occ = sorted((o for gg, o in rows if gg == g), reverse=True)
        ax.bar(
            range(x, x + len(occ)),
            [100 * o for o in occ],
            width=1.0,
            color=_GROUP_COLORS[gi % len(_GROUP_COLORS)],
            label=f"{g} ({len(occ)})",
        )
        x += len(occ)
    if not rows:
        _empty(ax, "no agent staffed in the window")
    ax.set_xlim(-0.5, max(x, 1) - 0.5)
    ax.set_ylim(0, 105)
    ax.set_xlabel("agents (sorted within group)")
    ax.set_ylabel("occupancy in window (%)")
    ax.set_title("Per-agent occupancy")
    _legend(ax, loc="lower left")
    ax.grid(alpha=0.3, axis="y")


def _outcome_counts(res: SimResult) -> dict[str, dict[str, int]]:
    """Per queue the inquiry ended in (the one that served it): counts by outcome."""
    lo, hi = res.warmup_s, res.duration_s
    target = {q.name: q.answer_target_s for q in res.queue_configs()}
    data = {q.name: dict.fromkeys(_COLORS, 0) for q in res.queue_configs()}
    for r in res.inquiries:
        if not lo <= r.arrival < hi:
            continue
        q = r.final_queue
        d = data[q]
        if r.outcome == ANSWERED:
            if r.answered_at - r.arrival <= answer_target(r, target):
                d["within"] += 1
            else:
                d["callback" if r.callback else "late"] += 1
        elif r.outcome == ABANDONED:
            d["abandoned"] += 1
        elif r.outcome == REJECTED:
            d["rejected"] += 1
        elif r.outcome == DEFLECTED:
            d["deflected"] += 1
        elif r.outcome == OPEN:
            d["unresolved"] += 1
    return {q: d for q, d in data.items() if any(d.values())}


def _outcomes_panel(ax: Any, res: SimResult) -> None:
    data = _outcome_counts(res)
    names = list(data)
    totals = [sum(data[n].values()) for n in names]
    ys = list(range(len(names)))
    left = [0.0] * len(names)
    for c, color in _COLORS.items():
        vals = [100.0 * data[n][c] / t for n, t in zip(names, totals)]
        if any(vals):
            ax.barh(ys, vals, left=left, color=color, label=_LABELS.get(c, c))
            left = [a + b for a, b in zip(left, vals)]
    outbound = set(res.scenario.backpressure.outbound.queues)
    labels = [
        f"{n}{' (outbound)' if n in outbound else ''}\nn = {t:,}" for n, t in zip(names, totals)
    ]
    ax.set_yticks(ys, labels)
    ax.tick_params(axis="y", labelsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    if not names:
        _empty(ax, "no inquiries in the window")
    ax.set_xlabel("% of the inquiries that ended in the queue (the one that served them)")
    ax.set_title("Outcomes by queue")
    _legend(ax, below=True)
    ax.grid(alpha=0.3, axis="x")


# ---------------------------------------------------------------------- figures


def _wrap_title(fig: Any, title: str, fontsize: float = 11) -> int:
    """Put ``title`` on top, wrapped to the figure's width; returns the number of lines."""
    chars = max(40, int(fig.get_figwidth() * 72 / (fontsize * 0.6)))
    lines = textwrap.wrap(title, chars) or [""]
    fig.suptitle("\n".join(lines), fontsize=fontsize)
    return len(lines)


def overview_figure(res: SimResult, rep: dict[str, Any], title: str = "") -> Any:
    """The six-panel overview as a matplotlib Figure (not saved, not closed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(19, 10), dpi=90)
    _queue_panel(axes[0][0], res)
    _wait_by_time_panel(axes[0][1], res)
    _staffing_panel(axes[0][2], res)
    _outcomes_panel(axes[1][0], res)
    _agents_panel(axes[1][1], res)
    _wait_hist_panel(axes[1][2], res, rep)
    top = 1.0
    if title:
        lines = _wrap_title(fig, title)
        top = 1.0 - 0.03 * lines
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


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
        ("staffing.png", lambda ax: _staffing_panel(ax, res)),
        ("waits.png", lambda ax: _wait_hist_panel(ax, res, rep)),
        ("agents.png", lambda ax: _agents_panel(ax, res)),
        ("outcomes.png", lambda ax: _outcomes_panel(ax, res)),
    ]
    for name, draw in single:
        fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        paths.append(out / name)
    fig = overview_figure(res, rep, title)
    fig.savefig(out / "overview.png")
    plt.close(fig)
    paths.append(out / "overview.png")
    return paths
