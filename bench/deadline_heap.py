"""The core's deadline heap in the lifecycle benchmark: ``python -m bench.deadline_heap``.

Builds the lifecycle benchmark's steady state (:class:`bench.workload.SteadyState`),
then prints the deadline heap's length by entry kind after the fill (without the
benchmarks' warm-up past the recent-work window), after ``--warmup`` lifecycles
and after ``--n`` more, and the deadline entries popped per lifecycle by kind
(counted through the core module's ``heappop`` and the offer line's ``popleft``, so the
pure-Python build only; run it on another tree with ``BENCH_ROUTER_PATH``). "Entries"
are the heap's and the offer line's together (``Router._deadline_entries``). Each pop
of an entry that cannot fire is work the lifecycle pays for nothing (BENCHMARKS.md,
"Offer deadlines dropped in bulk").
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, deque
from typing import Any

import router.core as core
from bench.workload import SteadyState, make_workload
from router import Router

KINDS = {1: "offer", 2: "patience", 3: "step", 4: "wrap", 5: "agent", 6: "policy", 16: "prefer"}


def _kinds(entries: list[Any]) -> dict[str, int]:
    return {KINDS.get(k, str(k)): n for k, n in sorted(Counter(e[2] for e in entries).items())}


def entries(r: Router) -> list[Any]:
    """The deadline entries held: the heap's and the offer line's."""
    if hasattr(r, "_deadline_entries"):
        return r._deadline_entries()
    return list(r._deadlines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.deadline_heap")
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--warmup", type=int, default=3_000, help="lifecycles before counting")
    p.add_argument("--n", type=int, default=20_000, help="lifecycles counted")
    args = p.parse_args(argv)
    if args.agents < 10 or args.n < 1 or args.warmup < 0:
        print("bench.deadline_heap: --agents >= 10, --n >= 1, --warmup >= 0", file=sys.stderr)
        return 2
    if not hasattr(core, "__file__") or not str(core.__file__).endswith(".py"):
        print("bench.deadline_heap: counts pops in the pure-Python core only", file=sys.stderr)
        return 2
    popped: Counter[int] = Counter()
    heappop = core.heappop

    def counting(heap: list[Any]) -> Any:
        entry = heappop(heap)
        if heap is r._deadlines:
            popped[entry[2]] += 1
        return entry

    class CountingLine(deque[Any]):
        counting = False

        def popleft(self) -> Any:
            entry = super().popleft()
            if self.counting:
                popped[entry[2]] += 1
            return entry

    wl = make_workload(args.agents)
    r = Router(wl.config)
    line = CountingLine(getattr(r, "_offer_line", ()))
    if hasattr(r, "_offer_line"):  # (trees before the offer line: the heap alone)
        r._offer_line = line
    s = SteadyState(r, wl, warm=0)  # "after the fill": the --warmup lifecycles come next
    print(f"{args.agents:,} agents, {len(s.busy):,} busy after the fill")
    print(f"after the fill: {len(entries(r)):,} entries {_kinds(entries(r))}")
    s.run(args.warmup)
    print(f"after {args.warmup:,} lifecycles: {len(entries(r)):,} entries")
    core.heappop = counting
    line.counting = True
    try:
        s.run(args.n)
    finally:
        core.heappop = heappop
        line.counting = False
    print(f"after {args.n:,} more: {len(entries(r)):,} entries {_kinds(entries(r))}")
    per = {KINDS.get(k, str(k)): round(v / args.n, 3) for k, v in sorted(popped.items())}
    print(f"deadline entries popped per lifecycle: {sum(popped.values()) / args.n:.3f} {per}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
