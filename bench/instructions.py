"""Instructions per steady-state lifecycle, counted by callgrind: stable on a shared machine.

``python -m bench.instructions [--agents N] [--warm W] [--k K] [--cache-sim] [--out FILE]``
runs this module's driver under ``valgrind --tool=callgrind --instr-atstart=no``: the
lifecycle benchmark's steady state at N agents (``SteadyState``, its own warm-up past the
recent-work window), W more lifecycles, one full collection (the collector stays off), the
K arrivals built; then the instrumentation is switched on (``callgrind_control -i on``) for
the K lifecycles only and off again before the interpreter's teardown. It prints the
instructions per lifecycle (with ``--cache-sim``, the simulated L1/L2 misses too: 32 KB L1d,
512 KB L2, this machine's ``lscpu``). The tree and build measured follow
``BENCH_ROUTER_PATH`` and ``BENCH_ROUTER_BUILD`` (``bench/build.py``); ``callgrind_annotate
--inclusive=yes FILE`` says where the instructions go.

``--flow direct [--inquiries N] [--runs R]`` counts the end-to-end section's direct flow
instead (``bench/flows.py``: the core alone, the e2e section's 200 agents and N inquiries):
one uninstrumented run (warm), one full collection, then R runs, each counted between the
flow's two ``time.process_time()`` calls, the part the e2e section times (not its set-up:
a router, the logins, the first tick); it prints the instructions per inquiry.

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
CACHE_SIM = ["--cache-sim=yes", "--branch-sim=no", "--D1=32768,8,64", "--LL=524288,8,64"]


def drive(agents: int, warm: int, k: int, marker: str) -> None:
    """The driver, run under callgrind: set up, then ``marker`` says the K may be counted."""
    import gc

    import bench  # noqa: F401  (applies BENCH_ROUTER_PATH before router is imported)
    from bench.workload import SteadyState, make_workload
    from router import Router

    wl = make_workload(agents)
    gc.disable()
    s = SteadyState(Router(wl.config), wl)
    s.warm(warm)
    gc.collect()  # one full collection; the collector stays off
    arrivals = s.inquiries(k)  # built before the count: the core's lifecycles, not the driver's
    s.inquiries = lambda _k: arrivals  # type: ignore[method-assign]
    _handshake(marker)  # the instrumentation goes on
    s.run(k)
    _handshake(marker + ".end")  # ... and off, before the teardown


def drive_flow(inquiries: int, runs: int, marker: str) -> None:
    """The direct flow's driver (``--flow direct``): warm once, then ``runs`` runs counted."""
    import gc

    import bench  # noqa: F401  (applies BENCH_ROUTER_PATH before router is imported)
    from bench import flows
    from bench.flows import flow_work, run_flow

    work = flow_work(FLOW_AGENTS, inquiries)
    gc.disable()
    run_flow("direct", work)
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
        run_flow("direct", work)


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
) -> dict[str, int]:
    """Run the driver under callgrind; the totals of the K lifecycles by event name (with
    ``flow``, ``(inquiries, runs)``: of the direct flow's runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = os.path.join(tmp, "go")
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            *(CACHE_SIM if cache_sim else []),
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
                ["--flow", "direct", "--inquiries", str(flow[0]), "--runs", str(flow[1])]
                if flow
                else []
            ),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if flow is None:
            switches = [(marker, "on"), (marker + ".end", "off")]
        else:  # on and off around each run's timed part
            switches = [(f"{marker}.{i}", "off" if i % 2 else "on") for i in range(2 * flow[1])]
        with subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL) as proc:
            for path, switch in switches:
                _wait_for(path, proc)
                subprocess.run(
                    ["callgrind_control", "-i", switch, str(proc.pid)],
                    check=True,
                    capture_output=True,
                )
                os.remove(path)
            if proc.wait() != 0:
                raise RuntimeError(f"valgrind exited {proc.returncode}")
    return _totals(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    p.add_argument("--agents", type=int, default=10_000)
    p.add_argument("--warm", type=int, default=20_000, help="lifecycles after the set-up")
    p.add_argument("--k", type=int, default=4000, help="lifecycles counted")
    p.add_argument("--cache-sim", action="store_true", help="simulated cache misses too")
    p.add_argument("--out", default=None, help="the callgrind output file (default: a temp)")
    p.add_argument("--flow", choices=["direct"], default=None, help="the e2e direct flow instead")
    p.add_argument("--inquiries", type=int, default=3000, help="--flow: inquiries per run")
    p.add_argument("--runs", type=int, default=4, help="--flow: runs counted")
    p.add_argument("--drive", default=None, help=argparse.SUPPRESS)  # the driver, internal
    args = p.parse_args(argv)
    if args.agents < 10 or args.warm < 0 or args.k < 1:
        print("bench.instructions: --agents >= 10, --warm >= 0, --k >= 1", file=sys.stderr)
        return 2
    if args.flow is not None and (args.inquiries < 1 or args.runs < 1):
        print("bench.instructions: --inquiries >= 1, --runs >= 1", file=sys.stderr)
        return 2
    if args.drive is not None:
        if args.flow is not None:
            drive_flow(args.inquiries, args.runs, args.drive)
        else:
            drive(args.agents, args.warm, args.k, args.drive)
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
        totals = count(args.agents, args.warm, args.k, out, args.cache_sim, flow)
    if flow is not None:
        per = {name: value / (flow[0] * flow[1]) for name, value in totals.items()}
        what = f"direct flow, {FLOW_AGENTS} agents, {flow[1]} x {flow[0]:,} inquiries"
        unit = "inquiry"
    else:
        per = {name: value / args.k for name, value in totals.items()}
        what = f"{args.agents:,} agents, {args.k:,} lifecycles"
        unit = "lifecycle"
    line = ", ".join(f"{name} {v:,.1f}" for name, v in per.items() if name != "Ir")
    print(
        f"{build}, {what}: {per['Ir']:,.0f} instructions per {unit}"
        + (f" ({line})" if line else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
