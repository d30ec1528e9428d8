"""Profile the steady-state lifecycle: ``python -m bench.profile [--agents N] [--n K]``.

Builds the same steady state as the lifecycle benchmark, then runs ``K``
lifecycles under cProfile (top functions by own time) and, with
``--pyinstrument``, under pyinstrument's statistical profiler (call tree).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys

from bench.timing import collect_after_setup
from bench.workload import SteadyState, make_workload
from router import Router


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--n", type=int, default=20_000, help="lifecycles to profile")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--pyinstrument", action="store_true", help="also print pyinstrument's tree")
    args = p.parse_args(argv)
    if args.agents < 10 or args.n < 1:
        print("bench.profile: --agents must be >= 10 and --n >= 1", file=sys.stderr)
        return 2
    wl = make_workload(args.agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    collect_after_setup()
    s.run(min(2000, args.n))
    prof = cProfile.Profile()
    prof.enable()
    s.run(args.n)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
    print(f"cProfile: {args.n:,} lifecycles at {args.agents:,} agents, by own time")
    print(out.getvalue())
    if args.pyinstrument:
        from pyinstrument import Profiler

        pi = Profiler(interval=0.0002)
        pi.start()
        s.run(args.n)
        pi.stop()
        print(pi.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
