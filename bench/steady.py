"""Is the lifecycle benchmark's state steady? ``python -m bench.steady [--agents N]
[--blocks B] [--k K] [--cold]``.

Builds the lifecycle benchmark's steady state (``bench.workload.SteadyState``, as
``bench.sections.lifecycles`` does), then runs ``B`` blocks of ``K`` lifecycles and prints,
per block: microseconds per lifecycle (CPU time), the simulated time reached, whether it
passed the recent-work window (``routing.recent_window_s``) and the inquiries waiting; with
``--calls`` (pure build), the core's agent timers fired (the wellbeing check: a recent-work
entry expiring out of the window, a cooldown or heavy-call block ending), agent refreshes and
fills per lifecycle.

What it showed (BENCHMARKS.md, "The lifecycle benchmark's state is not yet steady"), and
shows again with ``--cold`` (no warm-up after the fill): the fill starts with a backlog that
drains as the lifecycles run, and no agent timer fires before the simulated time passes the
recent-work window; after it, one fires per lifecycle, as in a center that has run longer
than the window. Without ``--cold`` the state is built as every benchmark now builds it
(``bench.workload``: a window of at most ``WINDOW_LIFECYCLES`` lifecycles, passed by the
untimed warm-up), and the blocks should cost the same from the first.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from typing import Any

from bench.timing import collect_after_setup
from bench.workload import SteadyState, make_workload
from router import Router

#: core functions whose calls per lifecycle ``--calls`` counts (pure build: cProfile)
CALLS = ("_agent_timer", "_refresh", "_fill")


def blocks(
    agents: int, n_blocks: int, k: int, calls: bool = False, cold: bool = False
) -> list[dict[str, Any]]:
    """One row per block of ``k`` lifecycles (see the module docstring); with ``calls``,
    the calls per lifecycle of :data:`CALLS` (cProfile: the pure build only, and slower);
    with ``cold``, from the fill on (no warm-up)."""
    wl = make_workload(agents)
    s = SteadyState(Router(wl.config), wl, warm=0 if cold else None)
    collect_after_setup()
    router: Any = s.r
    window = wl.config.routing.recent_window_s
    rows = []
    for _ in range(n_blocks):
        prof = cProfile.Profile() if calls else None
        if prof is not None:
            prof.enable()
        cpu = s.run(k)
        if prof is not None:
            prof.disable()
        row: dict[str, Any] = {
            "us_per_lifecycle": cpu / k * 1e6,
            "now_s": s.now,
            "window_passed": s.now > window,
            "waiting": router.statistics().waiting,
        }
        if prof is not None:
            counted = dict.fromkeys(CALLS, 0.0)
            for (path, _, name), (_, n, *_) in pstats.Stats(prof).stats.items():  # type: ignore[attr-defined]
                if name in counted and path.endswith("core.py"):
                    counted[name] += n / k
            row["calls_per_lifecycle"] = counted
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.steady", description=__doc__)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--k", type=int, default=20_000, help="lifecycles per block")
    ap.add_argument(
        "--calls", action="store_true", help=f"count calls of {', '.join(CALLS)} (pure build)"
    )
    ap.add_argument("--cold", action="store_true", help="no warm-up after the fill")
    args = ap.parse_args(argv)
    print(f"{args.agents} agents, {args.blocks} blocks of {args.k} lifecycles")
    head = f"{'block':>5} {'us/lifecycle':>12} {'sim time s':>10} {'window':>6} {'waiting':>8}"
    print(head + ("".join(f" {c:>13}" for c in CALLS) if args.calls else ""))
    for i, row in enumerate(blocks(args.agents, args.blocks, args.k, args.calls, args.cold)):
        line = (
            f"{i:>5} {row['us_per_lifecycle']:>12.1f} {row['now_s']:>10.0f} "
            f"{'passed' if row['window_passed'] else '':>6} {row['waiting']:>8}"
        )
        if args.calls:
            line += "".join(f" {row['calls_per_lifecycle'][c]:>13.2f}" for c in CALLS)
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
