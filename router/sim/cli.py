"""``python -m router simulate`` and ``python -m router demo``.

Exit codes: 0 done, 2 a user error (bad arguments or a bad scenario file: one
line per problem on stderr, naming the field), never a traceback. A valid
scenario's warnings (``router check``'s: settings that do nothing) go to stderr
before the run, one ``FILE: warning: path: message`` line each.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import msgspec

from router._build import build_name
from router.config import config_warnings
from router.errors import ConfigError
from router.sim.arrivals import rate_segments
from router.sim.clock import clock_label, clock_offset_s
from router.sim.engine import SimResult, simulate
from router.sim.plots import MISSING_MESSAGE, matplotlib_available, write_charts
from router.sim.report import build_report, format_summary
from router.sim.scenario import Scenario, load_scenario

__all__ = ["demo_main", "flagship_path", "simulate_main"]

FLAGSHIP = "spring_festival.toml"


class _UsageExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageExit(f"{self.prog}: {message}")


def _load_factor(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(x) and x >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return x


def _positive(text: str) -> float:
    x = _load_factor(text)
    if x <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return x


def _progress(stream: TextIO) -> Any:
    def report(line: str) -> None:
        print(line, file=stream, flush=True)

    return report


def _write_json(rep: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(rep), indent=2) + b"\n")


def _charts(res: SimResult, rep: dict[str, Any], outdir: Path, title: str, err: TextIO) -> int:
    if not matplotlib_available():
        print(f"note: {MISSING_MESSAGE}; skipping charts", file=err)
        return 0
    paths = write_charts(res, rep, outdir, title)
    print(f"charts: {', '.join(str(p) for p in paths)}")
    return len(paths)


def _peak(sc: Scenario, load: float) -> float:
    """The largest factor over a stream's base rate at any instant: --load x its surges."""
    peak = 1.0
    for a in sc.arrivals:
        for _, _, rate in rate_segments(1.0, a.queue, sc.surges, sc.simulation.duration_s):
            peak = max(peak, rate)
    return peak * load


def _load_on_surges(sc: Scenario, load: float) -> str:
    """By design ``--load`` multiplies on top of the file's own ``[[surges]]``; said once when
    both flood (a file whose surge already is the story's factor, run at that factor again,
    counts it twice), else ``""``."""
    floods = [sv for sv in sc.surges if sv.multiplier > 1]
    if load <= 1 or not floods:
        return ""
    named = ", ".join(
        f"x{sv.multiplier:g} {'+'.join(sv.queues) if sv.queues else 'all'}" for sv in floods
    )
    return (
        f"--load {load:g} multiplies on top of the file's own surges ({named}): the peak is "
        f"{_peak(sc, load):,.4g}x the base rate; --load 1 runs the file's story as written"
    )


def _title(path: str, res: SimResult) -> str:
    sc = res.scenario
    agents = sum(g.count for g in sc.agents)
    off = clock_offset_s(sc.simulation.start)

    def span(a: float, b: float) -> str:
        if a <= 0 and b >= res.duration_s:
            return "all run"
        end = clock_label(b, off, day=False)
        return f"{clock_label(a, off, day=False)}-{'24:00' if end == '00:00' else end}"

    # floods only: multipliers <= 1 shape a normal day (quiet nights) and are in the file
    surges = "".join(
        f", surge x{sv.multiplier:g} {'+'.join(sv.queues) if sv.queues else 'all'}"
        f" {span(sv.start_s, sv.end_s)}"
        for sv in sc.surges
        if sv.multiplier > 1
    )
    peak = _peak(sc, res.load)
    load = f"load x{res.load:g}" + (f" (peak {peak:,.4g}x base)" if peak != res.load else "")
    return (
        f"{Path(path).name}: seed {res.seed}, {load}{surges}, "
        f"{clock_label(0.0, off)} + {res.duration_s / 3600:g} h (warm-up {res.warmup_s:g}s), "
        f"{agents} agents, {len(sc.queues)} queues"
    )


def _run(
    path: str,
    seed: int | None,
    load: float,
    duration: float | None,
    quiet: bool,
    err: TextIO,
    force: bool = False,
    csv_dir: str | None = None,
    interval_s: float = 900.0,
) -> tuple[SimResult, dict[str, Any]] | int:
    progress = None if quiet else _progress(err)
    try:
        scenario: Scenario = load_scenario(path)
        for warning in config_warnings(scenario):
            print(f"{path}: warning: {warning}", file=err)
        note = _load_on_surges(scenario, load)
        if note:
            print(f"{path}: note: {note}", file=err)
        if csv_dir is None:
            res = simulate(
                scenario,
                seed=seed,
                load=load,
                duration_s=duration,
                progress=progress,
                force=force,
            )
            return res, build_report(res)
        from router.sim.csv_report import run_with_intervals, write_csv

        res, monitor = run_with_intervals(
            scenario,
            interval_s,
            seed=seed,
            load=load,
            duration_s=duration,
            progress=progress,
            force=force,
        )
    except ConfigError as exc:  # a bad file, or a run past [simulation.limits]
        for problem in exc.problems:
            print(f"{path}: {problem}", file=err)
        return 2
    try:
        paths = write_csv(monitor, scenario, Path(csv_dir), res)
    except OSError as exc:
        print(f"router simulate: cannot write output: {exc}", file=err)
        return 2
    print(f"csv: {', '.join(str(p) for p in paths)} ({interval_s / 60:g}-minute intervals)")
    return res, build_report(res)


def _quiet_pipe(main: Any) -> Any:
    """``... | head`` closing stdout early ends the command quietly (exit 0), no traceback."""

    def wrapper(argv: Sequence[str] | None = None) -> int:
        try:
            code: int = main(argv)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0

    wrapper.__doc__ = main.__doc__
    return wrapper


@_quiet_pipe
def simulate_main(argv: Sequence[str] | None = None) -> int:
    """``router simulate FILE [--seed N] [--load X] [--json PATH] [--plot DIR] [--csv DIR]``."""
    err = sys.stderr
    parser = _Parser(
        prog="router simulate",
        description="Run a scenario through the real router core in virtual time.",
    )
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML, JSON or YAML)")
    parser.add_argument(
        "--seed", metavar="N", type=int, default=None, help="override simulation.seed"
    )
    parser.add_argument(
        "--load",
        type=_load_factor,
        default=1.0,
        metavar="X",
        help="multiply every arrival rate by X, on top of the file's own [[surges]], by "
        "design: a file whose surge is x20 run at --load 20 peaks at 400x its base rate (a "
        "note on stderr says so); --load 1 (the default) runs the file's story as written",
    )
    parser.add_argument("--json", metavar="PATH", help="write the JSON report here")
    parser.add_argument("--plot", metavar="DIR", help="write PNG charts here (needs matplotlib)")
    parser.add_argument(
        "--duration",
        metavar="S",
        type=_positive,
        default=None,
        help="override simulation.duration_s (seconds)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--force", action="store_true", help="run even past [simulation.limits] (run size)"
    )
    parser.add_argument(
        "--csv", metavar="DIR", help="write interval reports queues.csv and agents.csv here"
    )
    parser.add_argument(
        "--interval",
        type=int,
        choices=(15, 30),
        default=15,
        help="minutes per --csv interval row (default 15)",
    )
    try:
        args = parser.parse_args(list(sys.argv[2:] if argv is None else argv))
    except _UsageExit as exc:
        print(exc.message, file=err)
        return 2
    ran = _run(
        args.file,
        args.seed,
        args.load,
        args.duration,
        args.quiet,
        err,
        force=args.force,
        csv_dir=args.csv,
        interval_s=args.interval * 60.0,
    )
    if isinstance(ran, int):
        return ran
    res, rep = ran
    title = _title(args.file, res)
    print(format_summary(rep, title))
    try:
        if args.json:
            _write_json(rep, Path(args.json))
            print(f"report: {args.json}")
        if args.plot:
            _charts(res, rep, Path(args.plot), title, err)
    except BrokenPipeError:
        raise  # stdout closed early (``| head``): _quiet_pipe ends quietly
    except OSError as exc:
        print(f"router simulate: cannot write output: {exc}", file=err)
        return 2
    return 0


def flagship_path() -> Path:
    """``examples/spring_festival.toml`` of the source tree: the package's parent (a
    checkout, an editable install), or the tree a compiled build was made in (``make
    compiled`` installs the package into the tree's ``build/compiled``, without the
    examples); else of the current directory."""
    root = Path(__file__).resolve().parents[2]
    roots = [root]
    if root.name == "compiled" and root.parent.name == "build":
        roots.append(root.parent.parent)
    for top in roots:
        here = top / "examples" / FLAGSHIP
        if here.exists():
            return here
    return Path("examples") / FLAGSHIP


@_quiet_pipe
def demo_main(argv: Sequence[str] | None = None) -> int:
    """``python -m router demo [--out DIR] [--seed N]``: the flagship 20x scenario."""
    err = sys.stderr
    parser = _Parser(
        prog="router demo",
        description="Run the flagship Spring Festival scenario (20x calls) and chart it.",
    )
    parser.add_argument(
        "--out", metavar="DIR", default="out/demo", help="report and charts here (out/demo)"
    )
    parser.add_argument(
        "--seed", metavar="N", type=int, default=None, help="override simulation.seed"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    try:
        args = parser.parse_args(list(sys.argv[2:] if argv is None else argv))
    except _UsageExit as exc:
        print(exc.message, file=err)
        return 2
    path = flagship_path()
    ran = _run(str(path), args.seed, 1.0, None, args.quiet, err)
    if isinstance(ran, int):
        return ran
    res, rep = ran
    title = "Spring Festival flood (Tujia-style), " + _title(str(path), res)
    print(format_summary(rep, title))
    print(f"core: {build_name()}")
    out = Path(args.out)
    try:
        _write_json(rep, out / "report.json")
        print(f"report: {out / 'report.json'}")
        _charts(res, rep, out, title, err)
    except BrokenPipeError:
        raise
    except OSError as exc:
        print(f"router demo: cannot write output: {exc}", file=err)
        return 2
    return 0
