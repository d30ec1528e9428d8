"""The steady-state lifecycle in rounds, collector on:
``python -m bench.lifecycle_rounds [--agents N ...] [--rounds R] [--n K]``.

Builds the lifecycle benchmark's steady state (``SteadyState``: filled, then warmed past
the recent-work window; collector off while building, one full collection after), runs
2,000 lifecycles, then ``R`` rounds of ``K`` lifecycles with the collector on, and prints
the CPU microseconds per lifecycle of each round and their median. Meant for two processes
started together, one per build (``BENCH_ROUTER_PATH``): compare the medians of one pair.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

from bench.timing import collect_after_setup
from bench.workload import SteadyState, make_workload
from router import Router


def rounds(agents: int, n_rounds: int, n: int) -> list[float]:
    """Microseconds per lifecycle in each of ``n_rounds`` rounds of ``n`` lifecycles."""
    wl = make_workload(agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    collect_after_setup()
    s.run(2000)
    out = []
    for _ in range(n_rounds):
        t0 = time.process_time()
        s.run(n)
        out.append((time.process_time() - t0) / n * 1e6)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lifecycle_rounds")
    p.add_argument("--agents", type=int, nargs="+", default=[1000, 10_000, 100_000])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--n", type=int, default=10_000, help="lifecycles per round")
    args = p.parse_args(argv)
    if min(args.agents) < 10 or args.rounds < 1 or args.n < 1:
        print("bench.lifecycle_rounds: --agents >= 10, --rounds and --n >= 1", file=sys.stderr)
        return 2
    for agents in args.agents:
        r = rounds(agents, args.rounds, args.n)
        each = " ".join(f"{x:.1f}" for x in r)
        print(f"{agents:,} agents: median {statistics.median(r):.2f} us per lifecycle ({each})")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
