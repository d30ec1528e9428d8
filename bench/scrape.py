"""The cost of a scrape that follows many decisions: ``python -m bench.scrape [--agents N]``.

``statistics_over_decision`` (``bench/sections.py``) times ``statistics()`` after one
lifecycle. A real scrape comes every few seconds, after thousands of decisions:
``statistics()`` then re-counts every agent that changed since the last call
(``router/state/realtime.py``), so its cost grows with them, while the work per
decision stays the same. This prints, for a scrape every ``k`` lifecycles (1, 100,
1,000, 10,000), the median over rounds of one ``statistics()`` call, of one
lifecycle (the same steady state as the lifecycle benchmark, ``bench/workload.py``)
and their ratio, plus the scrape's cost spread over the ``k`` decisions before it.
The clock is the thread's CPU time (``bench/timing.py``).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys

from bench.timing import CLOCK, collect_after_setup
from bench.workload import SteadyState, make_workload
from router import Router


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scrape")
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    if args.agents < 10 or args.rounds < 1:
        print("bench.scrape: --agents must be >= 10 and --rounds >= 1", file=sys.stderr)
        return 2
    wl = make_workload(args.agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    collect_after_setup()
    s.run(3000)
    gc.enable()
    r = s.r
    r.statistics()
    print(f"{args.agents} agents, {r.statistics().waiting} waiting, {len(r.config.queues)} queues")
    print("every k lifecycles | statistics() us | lifecycle us | ratio | us per decision")
    for k in (1, 100, 1000, 10_000):
        scrape: list[float] = []
        life: list[float] = []
        for _ in range(args.rounds):
            t0 = CLOCK()
            s.run(k)
            life.append((CLOCK() - t0) / k)
            t0 = CLOCK()
            r.statistics()
            scrape.append(CLOCK() - t0)
        st, lc = statistics.median(scrape), statistics.median(life)
        row = f"{k:>18,} | {st * 1e6:>15,.0f} | {lc * 1e6:>12.1f} | {st / lc:>5.1f}"
        print(f"{row} | {st / k * 1e6:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
