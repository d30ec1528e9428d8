"""What the cyclic collector takes of the steady-state lifecycle:
``python -m bench.gc_share [--agents N] [--n K]``.

Builds the lifecycle benchmark's steady state (collector off while building, one full
collection after, as ``bench.sections.lifecycles`` does), then runs ``K`` lifecycles
with the collector on, timing each collection by generation (``gc.callbacks``, CPU time), and
``K`` more with it off. Prints microseconds per lifecycle both ways, the collections
per generation and their cost per lifecycle, and the objects the collector tracks.
CPU time (``time.process_time``); run it beside nothing else, or read only the shares.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Any

from bench.timing import collect_after_setup
from bench.workload import SteadyState, make_workload
from router import Router


def measure(agents: int, n: int, freeze: bool = False) -> dict[str, Any]:
    """The figures above for one steady state of ``agents`` agents, ``n`` lifecycles each way
    (``freeze``: ``gc.freeze()`` after the set-up, as a service may after its start-up, so
    that full collections skip what the set-up built)."""
    wl = make_workload(agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    collect_after_setup()
    s.run(min(2000, n))
    tracked = len(gc.get_objects())
    if freeze:
        gc.freeze()
    per_gen = [[0, 0.0] for _ in range(3)]
    started = [0.0]

    def timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            g = per_gen[info["generation"]]
            g[0] += 1
            g[1] += time.process_time() - started[0]

    gc.callbacks.append(timer)
    try:
        t0 = time.process_time()
        s.run(n)
        on = time.process_time() - t0
    finally:
        gc.callbacks.remove(timer)
    gc.disable()
    t0 = time.process_time()
    s.run(n)
    off = time.process_time() - t0
    gc.enable()
    if freeze:
        gc.unfreeze()
    return {
        "agents": agents,
        "tracked_objects": tracked,
        "lifecycle_us_gc_on": on / n * 1e6,
        "lifecycle_us_gc_off": off / n * 1e6,
        "collections": [g[0] for g in per_gen],
        "collector_us_per_lifecycle": [g[1] / n * 1e6 for g in per_gen],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gc_share")
    p.add_argument("--agents", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument("--n", type=int, default=100_000, help="lifecycles each way")
    p.add_argument("--freeze", action="store_true", help="gc.freeze() after the set-up")
    args = p.parse_args(argv)
    if min(args.agents) < 10 or args.n < 1:
        print("bench.gc_share: --agents must be >= 10 and --n >= 1", file=sys.stderr)
        return 2
    for agents in args.agents:
        m = measure(agents, args.n, args.freeze)
        gens = " ".join(
            f"gen{i} {c} ({us:.2f} us)"
            for i, (c, us) in enumerate(
                zip(m["collections"], m["collector_us_per_lifecycle"], strict=True)
            )
        )
        total = sum(m["collector_us_per_lifecycle"])
        print(
            f"{agents:,} agents, {m['tracked_objects']:,} tracked objects: "
            f"{m['lifecycle_us_gc_on']:.1f} us per lifecycle with the collector, "
            f"{m['lifecycle_us_gc_off']:.1f} without; collections per {args.n:,}: {gens}; "
            f"{total:.2f} us ({total / m['lifecycle_us_gc_on']:.0%}) in the collector"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
