"""Where the bytes of a waiting inquiry go: tracemalloc by allocating line over a fill.

``python -m bench.inquiry_bytes [--depth N] [--top K]`` builds the 10,000-agent router of
the ``queue_depth`` section (``bench/sections.py``), fills it to ``N`` waiting the same
way, and prints the bytes (and objects) each allocating source line added per inquiry,
largest first. It counts Python allocations only (no allocator slack, unlike the RSS
figure ``bytes_per_queued_inquiry``). Honours ``BENCH_ROUTER_PATH`` (``bench/build.py``),
so two trees can be compared.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

from bench.sections import _fill_to
from bench.workload import SteadyState, make_workload
from router import Router


def breakdown(depth: int, n_agents: int = 10_000) -> tuple[int, list[tuple[str, float, float]]]:
    """Inquiries added, and (source line, bytes per inquiry, objects per inquiry) rows."""
    wl = make_workload(n_agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl, prefix="w")
    gc.collect()
    n0 = s.n
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    _fill_to(s, depth)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    added = s.n - n0
    rows = [
        (str(st.traceback), st.size_diff / added, st.count_diff / added)
        for st in after.compare_to(before, "lineno")
    ]
    return added, rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.inquiry_bytes", description=__doc__)
    ap.add_argument("--depth", type=int, default=200_000, help="waiting inquiries to reach")
    ap.add_argument("--top", type=int, default=12, help="source lines to print")
    args = ap.parse_args(argv)
    added, rows = breakdown(args.depth)
    print(f"{added:,} inquiries added; bytes and objects per inquiry by allocating line")
    for line, size, count in rows[: args.top]:
        print(f"{size:8.1f} B {count:7.3f} objs  {line}")
    print(f"{sum(r[1] for r in rows):8.1f} B in all")


if __name__ == "__main__":
    main()
