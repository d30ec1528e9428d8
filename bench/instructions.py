"""Instructions per steady-state lifecycle, counted by callgrind: stable on a shared machine.

``python -m bench.instructions [--agents N] [--warm W] [--k K] [--cache-sim | --ll SIZE]
[--out FILE]`` runs this module's driver under ``valgrind --tool=callgrind
--instr-atstart=no``: the lifecycle benchmark's steady state at N agents (``SteadyState``,
its own warm-up past the recent-work window), W more lifecycles, one full collection (the
collector stays off), the K arrivals built; then the instrumentation is switched on
(``callgrind_control -i on``) for the K lifecycles only and off again before the
interpreter's teardown. It prints the instructions per lifecycle (with ``--cache-sim``, the
simulated L1/L2 misses too: 32 KB L1d, 512 KB L2, this machine's ``lscpu``, the simulated
caches cold at the first counted lifecycle). The tree and build measured follow
``BENCH_ROUTER_PATH`` and ``BENCH_ROUTER_BUILD`` (``bench/build.py``); ``callgrind_annotate
--inclusive=yes FILE`` says where the instructions go.

``--ll SIZE`` (``32M``: this machine's L3; ``K``, ``M``, ``G`` or bytes) simulates a
last-level cache of that size (16-way, 64-byte lines) behind the 32 KB L1d, and warms it:
K lifecycles run instrumented first, the counters are zeroed (``callgrind_control -z``),
then the K counted. Its ``DLmr + DLmw`` per lifecycle are the lifecycle's trips to memory
once the caches hold what the steady state keeps touching (at 10,000 agents the state
does not fit in a 512 KB L2 at all, so only the L3-sized figure tells 10k from 1k).

``--flow FLOW [--inquiries N] [--runs R]`` counts one of the end-to-end section's flows
instead (``bench/flows.py``, the e2e section's 200 agents and N inquiries: ``direct``, the
core alone; ``uvloop`` and ``asyncio``, the adapter on that loop; ``service``, the
hand-written asyncio service; ``floor``, ``bench/floor.py``'s flow without routing, each
inquiry's agent fixed beforehand): one uninstrumented run (warm), one full collection,
then R runs, each counted between the flow's two ``time.process_time()`` calls, the part
the e2e section times (not its set-up: a loop, a router, the logins, the first tick); it
prints the instructions per inquiry.

Timings on 2 shared cores move with the neighbours' load; instruction counts of one tree
differ by about 0.1-0.5% from run to run (object addresses order some sets). Compare two
trees by their counts, each taken with this module.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the end-to-end section's center (``bench.sections.e2e``: 200 agents, as e2e35-e2e37 counted)
FLOW_AGENTS = 200
#: ``--flow``: the flows of ``bench.flows`` counted, and ``bench.floor``'s
COUNTED_FLOWS = ("direct", "uvloop", "asyncio", "service", "floor")
CACHE_SIM = ["--cache-sim=yes", "--branch-sim=no", "--D1=32768,8,64", "--LL=524288,8,64"]
#: ``--ll``: the simulated last-level cache's ways and line size
LL_WAYS = 16
LINE = 64
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def ll_size(text: str) -> int:
    """``--ll``'s size in bytes (``32M``, ``512K``, ``33554432``): a power-of-two number of
    16-way sets of 64-byte lines, as valgrind requires; ``ValueError`` otherwise."""
    t = text.strip().upper().removesuffix("B")
    scale = _UNITS.get(t[-1:], 1)
    digits = t[:-1] if scale > 1 else t
    if not digits.isdigit():
        raise ValueError(text)
    size = int(digits) * scale
    sets, rest = divmod(size, LL_WAYS * LINE)
    if rest or sets < 1 or sets & (sets - 1):
        raise ValueError(text)
    return size


def ll_sim(size: int) -> list[str]:
    """valgrind's cache options for a warmed ``--ll`` run: the L1d of ``CACHE_SIM``, LL ``size``."""
    return [*CACHE_SIM[:3], f"--LL={size},{LL_WAYS},{LINE}"]


def drive(agents: int, warm: int, k: int, marker: str, warm_caches: bool = False) -> None:
    """The driver, run under callgrind: set up, then ``marker`` says the K may be counted
    (with ``warm_caches``, K lifecycles warm the simulated caches first and ``marker.z``
    says the counters may be zeroed before the K counted)."""
    import gc

    import bench  # noqa: F401  (applies BENCH_ROUTER_PATH before router is imported)
    from bench.workload import SteadyState, make_workload
    from router import Router

    wl = make_workload(agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    s.warm(warm)
    gc.collect()  # one full collection; the collector stays off
    # built before the count: the core's lifecycles, not the driver's
    parts = iter([s.inquiries(k) for _ in range(2 if warm_caches else 1)])
    s.inquiries = lambda _k: next(parts)  # type: ignore[method-assign,assignment]
    _handshake(marker)  # the instrumentation goes on
    if warm_caches:
        s.run(k)  # the simulated caches take in what the steady state touches
        _handshake(marker + ".z")  # the counters start again from zero
    s.run(k)
    _handshake(marker + ".end")  # ... and off, before the teardown


def drive_flow(inquiries: int, runs: int, marker: str, name: str = "direct") -> None:
    """A flow's driver (``--flow NAME``): warm once, then ``runs`` runs counted."""
    import gc
    from collections.abc import Callable

    import bench  # noqa: F401  (applies BENCH_ROUTER_PATH before router is imported)
    from bench import flows
    from bench.flows import flow_work, run_flow

    work = flow_work(FLOW_AGENTS, inquiries)
    run: Callable[[], float]
    if name == "floor":
        from bench.floor import floor_plan, run_floor

        plan = floor_plan(work)  # the agents fixed beforehand, not counted
        run = lambda: run_floor(work, plan)  # noqa: E731
    else:
        run = lambda: run_flow(name, work)  # noqa: E731
    gc.disable()
    run()
    gc.collect()  # one full collection; the collector stays off
    clock = flows._CPU
    calls = iter(range(2 * runs))

    def counted() -> float:  # the flow's clock: on at its first read, off at its second
        i = next(calls)
        if i % 2:
            now = clock()
            _handshake(f"{marker}.{i}")
            return now
        _handshake(f"{marker}.{i}")
        return clock()

    flows._CPU = counted
    for _ in range(runs):
        run()


def _handshake(path: str) -> None:
    """Create ``path`` and wait until the parent has acted and removed it."""
    Path(path).touch()
    while os.path.exists(path):
        time.sleep(0.05)


def _wait_for(path: str, proc: subprocess.Popen[bytes]) -> None:
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError(f"the driver ended (exit {proc.returncode}) before {path}")
        time.sleep(0.2)


def _totals(out: Path) -> dict[str, int]:
    """The ``events:`` and ``totals:`` lines of a callgrind output file, paired."""
    names: list[str] = []
    for line in out.read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("totals:"):
            return dict(zip(names, (int(x) for x in line.split()[1:]), strict=False))
    raise RuntimeError(f"no totals in {out}")


def count(
    agents: int,
    warm: int,
    k: int,
    out: Path,
    cache_sim: bool = False,
    flow: tuple[int, int] | None = None,
    ll: int | None = None,
    flow_name: str = "direct",
) -> dict[str, int]:
    """Run the driver under callgrind; the totals of the K lifecycles by event name (with
    ``flow``, ``(inquiries, runs)``: of the runs of flow ``flow_name``; with ``ll``, a
    last-level cache of that many bytes, warmed by K lifecycles before the K counted)."""
    if ll is not None and flow is not None:
        raise ValueError("ll counts lifecycles, not the flow")
    sim = ll_sim(ll) if ll is not None else CACHE_SIM if cache_sim else []
    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "go")
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            *sim,
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--drive",
            marker,
            "--agents",
            str(agents),
            "--warm",
            str(warm),
            "--k",
            str(k),
            *(
                ["--flow", flow_name, "--inquiries", str(flow[0]), "--runs", str(flow[1])]
                if flow
                else []
            ),
            *(["--warm-caches"] if ll is not None else []),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if flow is None:
            switches = [(marker, "-i on"), (marker + ".end", "-i off")]
            if ll is not None:
                switches.insert(1, (marker + ".z", "-z"))
        else:  # on and off around each run's timed part
            switches = [
                (f"{marker}.{i}", "-i off" if i % 2 else "-i on") for i in range(2 * flow[1])
            ]
        with subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL) as proc:
            for path, switch in switches:
                _wait_for(path, proc)
                subprocess.run(
                    ["callgrind_control", *switch.split(), str(proc.pid)],
                    check=True,
                    capture_output=True,
                )
                os.remove(path)
            if proc.wait() != 0:
                raise RuntimeError(f"valgrind exited {proc.returncode}")
    if ll is not None:
        _summary_from_totals(out)
    return _totals(out)


def _summary_from_totals(out: Path) -> None:
    """After ``callgrind_control -z`` callgrind writes a wrapped-around ``summary:`` line
    (the zeroing is taken from the run's grand total); ``callgrind_annotate`` reads it for
    its percentages, so it gets the ``totals:`` line's values, the counted K."""
    lines = out.read_text().splitlines(keepends=True)
    totals = next(line for line in lines if line.startswith("totals:"))
    fixed = [
        "summary:" + totals[len("totals:") :] if x.startswith("summary:") else x for x in lines
    ]
    out.write_text("".join(fixed))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--warm", type=int, default=20_000, help="lifecycles after the set-up")
    p.add_argument("--k", type=int, default=4000, help="lifecycles counted")
    p.add_argument("--cache-sim", action="store_true", help="simulated cache misses too")
    p.add_argument(
        "--ll",
        default=None,
        metavar="SIZE",
        help="simulate a last-level cache of SIZE (32M: this machine's L3), warmed first",
    )
    p.add_argument("--out", default=None, help="the callgrind output file (default: a temp)")
    p.add_argument(
        "--flow", choices=COUNTED_FLOWS, default=None, help="an e2e flow (or the floor) instead"
    )
    p.add_argument("--inquiries", type=int, default=3000, help="--flow: inquiries per run")
    p.add_argument("--runs", type=int, default=4, help="--flow: runs counted")
    p.add_argument("--drive", default=None, help=argparse.SUPPRESS)  # the driver, internal
    p.add_argument("--warm-caches", action="store_true", help=argparse.SUPPRESS)  # internal
    args = p.parse_args(argv)
    if args.agents < 10 or args.warm < 0 or args.k < 1:
        print("bench.instructions: --agents >= 10, --warm >= 0, --k >= 1", file=sys.stderr)
        return 2
    if args.flow is not None and (args.inquiries < 1 or args.runs < 1):
        print("bench.instructions: --inquiries >= 1, --runs >= 1", file=sys.stderr)
        return 2
    ll = None
    if args.ll is not None:
        try:
            ll = ll_size(args.ll)
        except ValueError:
            print(
                f"bench.instructions: --ll {args.ll!r}: a size such as 32M, 512K or 33554432"
                f" ({LL_WAYS} x {LINE} bytes times a power of two)",
                file=sys.stderr,
            )
            return 2
        if args.flow is not None:
            print("bench.instructions: --ll counts lifecycles, not --flow", file=sys.stderr)
            return 2
    if args.drive is not None:
        if args.flow is not None:
            drive_flow(args.inquiries, args.runs, args.drive, args.flow)
        else:
            drive(args.agents, args.warm, args.k, args.drive, args.warm_caches)
        return 0
    missing = [c for c in ("valgrind", "callgrind_control") if shutil.which(c) is None]
    if missing:
        print(
            f"bench.instructions: {' and '.join(missing)} not found (apt-get install valgrind)",
            file=sys.stderr,
        )
        return 2
    from bench.build import describe

    build = "compiled" if describe()["compiled"] else "pure"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "callgrind.out"
        flow = (args.inquiries, args.runs) if args.flow is not None else None
        totals = count(
            args.agents, args.warm, args.k, out, args.cache_sim, flow, ll, args.flow or "direct"
        )
    if flow is not None:
        per = {name: value / (flow[0] * flow[1]) for name, value in totals.items()}
        what = f"{args.flow} flow, {FLOW_AGENTS} agents, {flow[1]} x {flow[0]:,} inquiries"
        unit = "inquiry"
    else:
        per = {name: value / args.k for name, value in totals.items()}
        what = f"{args.agents:,} agents, {args.k:,} lifecycles"
        unit = "lifecycle"
    line = ", ".join(f"{name} {v:,.1f}" for name, v in per.items() if name != "Ir")
    if ll is not None:  # the last level's misses: trips to memory with warm caches
        what += f", LL {args.ll} warmed by {args.k:,} more"
        line += f"; LL misses {per['DLmr'] + per['DLmw']:,.2f}"
    print(
        f"{build}, {what}: {per['Ir']:,.0f} instructions per {unit}"
        + (f" ({line})" if line else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
