"""``simulate --csv DIR``: interval reports as workforce tools read them (15 or 30 minutes).

Theory of operation: the run is an :class:`~router.sim.observed.ObservedRun` whose
:class:`~router.observe.Monitor` keeps fixed interval rows on the scenario's clock
(``[k * interval, (k + 1) * interval)`` from ``t = 0``). Two files come out:

- ``queues.csv``: one row per interval and queue, plus an ``ALL`` row per interval:
  offered, answered, abandoned, rejected, deflected, answered within target, service
  level, ASA, handled, AHT, the agent capacity-seconds spent on the queue
  (``workload_s``) and ``occupancy`` = that workload over the staffed agent-seconds of
  the interval (so the queues' occupancies add up to the ``ALL`` row's);
- ``agents.csv``: one row per interval and agent that was staffed or active in it:
  staffed and busy seconds, occupancy, offers, handled, declined, expired, AHT.

Counting follows the monitor (docs/metrics.md): arrivals in the interval they
arrive, outcomes in the interval they happen, each by the queue the inquiry
arrived at; service level is answered within target over ended. Every interval
from the first with any activity to the last is written, warm-up and drain included
(the clock says which is which).
Empty ratios are empty cells. A queue a mid-run reconfigure added (``SimResult.added_queues``,
given ``result``) has its rows after the scenario's, every cell of an interval that ended
before it existed empty (the report's ``null``); its rows count in the ``ALL`` row.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from router.observe import Counts, Monitor
from router.sim.clock import clock_label, start_offset_s
from router.sim.engine import Progress, SimResult
from router.sim.observed import ObservedRun
from router.sim.scenario import Scenario, router_config

__all__ = ["AGENT_COLUMNS", "QUEUE_COLUMNS", "run_with_intervals", "write_csv"]

QUEUE_COLUMNS = (
    "interval_start",
    "interval_end",
    "start_s",
    "queue",
    "offered",
    "answered",
    "abandoned",
    "rejected",
    "deflected",
    "answered_in_target",
    "service_level",
    "asa_s",
    "handled",
    "aht_s",
    "workload_s",
    "occupancy",
)
AGENT_COLUMNS = (
    "interval_start",
    "interval_end",
    "start_s",
    "agent",
    "staffed_s",
    "busy_s",
    "occupancy",
    "offers",
    "handled",
    "declined",
    "expired",
    "aht_s",
)


def run_with_intervals(
    scenario: Scenario,
    interval_s: float,
    *,
    seed: int | None = None,
    load: float = 1.0,
    duration_s: float | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> tuple[SimResult, Monitor]:
    """Run ``scenario`` once with a monitor keeping ``interval_s`` rows."""
    monitor = Monitor(router_config(scenario), intervals_s=interval_s)
    run = ObservedRun(
        scenario,
        monitor,
        seed=seed,
        load=load,
        duration_s=duration_s,
        progress=progress,
        force=force,
    )
    return run.run(), monitor


def _cell(x: float | None, nd: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.{nd}f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def write_csv(
    monitor: Monitor, scenario: Scenario, outdir: Path, result: SimResult | None = None
) -> list[Path]:
    """Write ``queues.csv`` and ``agents.csv`` into ``outdir``; returns their paths. With the
    run's ``result``, the queues a mid-run reconfigure added have rows too."""
    size = monitor.intervals_s
    if size is None:
        raise ValueError("write_csv needs a Monitor with intervals_s")
    outdir.mkdir(parents=True, exist_ok=True)
    offset = start_offset_s(scenario)
    agent_rows = monitor.agent_intervals()
    queue_rows = {(int(start // size), name): c for start, _, name, c in monitor.queue_intervals()}
    unjudged = {(int(start // size), name) for start, name in monitor.unjudged_intervals()}
    used = [k for k, _ in queue_rows] + [int(s // size) for s, *_ in agent_rows] or [0]
    first, last = min(used), max(used)
    staffed: dict[int, float] = {}
    for start, _, _, row in agent_rows:
        k = int(start // size)
        staffed[k] = staffed.get(k, 0.0) + row.staffed_s
    names = [q.name for q in (result.queue_configs() if result is not None else scenario.queues)]
    since = result.added_at if result is not None else {}

    def stamp(k: int) -> list[Any]:
        return [clock_label(k * size, offset), clock_label((k + 1) * size, offset), k * size]

    qpath = outdir / "queues.csv"
    with qpath.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(QUEUE_COLUMNS)
        for k in range(first, last + 1):
            total = Counts()
            work_all = 0.0
            per: list[tuple[str, Counts | None, float]] = []
            for name in names:
                if name in since and (k + 1) * size <= since[name]:
                    per.append((name, None, 0.0))  # not there yet: blank, not zero
                    continue
                got = queue_rows.get((k, name)) or Counts()
                total.add(got)
                work_all += got.workload_s
                per.append((name, got, got.workload_s))
            per.append(("ALL", total, work_all))
            # an answer judged against no target (a queue the monitor had none for): no
            # service level for its row, nor for the interval's ALL row
            blind = {name for name, _, _ in per if (k, name) in unjudged}
            if blind:
                blind.add("ALL")
            for name, c, work in per:
                if c is None:
                    w.writerow([*stamp(k), name, *[""] * (len(QUEUE_COLUMNS) - 4)])
                    continue
                fig = c.figures()
                sl = None if name in blind else fig.service_level
                occ = work / staffed[k] if staffed.get(k) else None
                w.writerow(
                    [
                        *stamp(k),
                        name,
                        c.offered,
                        c.answered,
                        c.abandoned,
                        c.rejected,
                        c.deflected,
                        c.in_target,
                        _cell(sl),
                        _cell(fig.asa_s, 2),
                        c.handled,
                        _cell(fig.aht_s, 2),
                        _cell(work, 2),
                        _cell(occ),
                    ]
                )
    apath = outdir / "agents.csv"
    with apath.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(AGENT_COLUMNS)
        for start, _, agent, row in agent_rows:
            k = int(start // size)
            w.writerow(
                [
                    *stamp(k),
                    agent,
                    _cell(row.staffed_s, 2),
                    _cell(row.busy_s, 2),
                    _cell(row.busy_s / row.staffed_s if row.staffed_s > 0 else None),
                    row.offers,
                    row.handled,
                    row.declined,
                    row.expired,
                    _cell(row.handle_s / row.handled if row.handled else None, 2),
                ]
            )
    return [qpath, apath]
