"""``python -m router check`` and ``python -m router explain``.

Theory of operation: both commands are for operators, so every failure they
can foresee (missing or unreadable file, malformed TOML, a schema or semantic
problem, a bad argument) is one line naming the file or path, exit code 2,
never a traceback. A valid file's warnings (settings that do nothing as
written, ``router/config/warnings.py``) follow its summary line as
``warning: path: message`` lines; they leave the exit code 0 unless ``--strict``
(then 1; a problem's 2 wins). ``check`` validates a router config, or a scenario (a config
plus ``[simulation]``, ``[[arrivals]]``, ``[[surges]]``) with the simulator's
``Scenario`` schema when ``router.sim`` is importable. ``explain`` runs a
scenario through the simulator with ``routing.trace`` on and prints, for each
routing decision, the chosen agent's features times weights beside the
runner-up's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from router.config import (
    RouterConfig,
    config_warnings,
    convert_config,
    detect_format,
    read_config_file,
)
from router.config.summary import SCENARIO_KEYS, is_scenario, summary_line
from router.errors import ConfigError

__all__ = ["check_file", "check_main", "explain_main", "format_explanation", "summary_line"]


class _UsageExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageExit(f"{self.prog}: {message}")


def _scenario_type() -> type[RouterConfig] | None:
    try:
        from router.sim.scenario import Scenario
    except ImportError:
        return None
    return Scenario


def check_file(path: str | Path, *, force: bool = False) -> tuple[RouterConfig, str]:
    """Validate a config or scenario file; returns it and its summary, or raises ConfigError.

    A scenario is also sized (``router.sim.guard``): past its ``[simulation.limits]`` it
    is refused unless ``force``. The backpressure chain is built as ``Router(...)`` builds
    it (nothing started), so a plug-in policy whose factory refuses the config's values is
    a problem here too (``$.backpressure.policy[i]``).
    """
    from router.policies.admission import build_policies

    raw = read_config_file(path)
    if is_scenario(raw):
        scenario = _scenario_type()
        if scenario is not None:
            from router.sim.guard import check_run_size
            from router.sim.scenario import load_scenario, router_config

            cfg = load_scenario(path)  # (also checks from_csv files)
            check_run_size(cfg, force=force)
            build_policies(router_config(cfg))  # (what the simulator's Router is given)
            return cfg, summary_line(cfg, raw)
        rest = {k: v for k, v in raw.items() if k not in SCENARIO_KEYS}
        cfg = convert_config(rest, fmt=detect_format(Path(path)))
        build_policies(cfg)
        note = " (scenario tables not checked: router.sim is not installed)"
        return cfg, summary_line(cfg, raw) + note
    cfg = convert_config(raw, fmt=detect_format(Path(path)))
    build_policies(cfg)
    return cfg, summary_line(cfg, raw)


def check_main(argv: Sequence[str], out: TextIO | None = None) -> int:
    """``python -m router check FILE [FILE ...]``: exit 2 when a file is invalid; else 0, or
    1 with ``--strict`` when a file has warnings."""
    out = out if out is not None else sys.stdout
    parser = _Parser(
        prog="router check",
        description="Validate router config or scenario files (TOML, JSON or YAML).",
    )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a router config, or a scenario (a config plus [simulation], [[arrivals]])",
    )
    parser.add_argument(
        "--force", action="store_true", help="accept scenarios past [simulation.limits]"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a valid file has warnings"
    )
    try:
        args = parser.parse_args(list(argv))
    except _UsageExit as exc:
        print(exc.message, file=sys.stderr)
        return 2
    many = len(args.files) > 1
    code = 0
    for name in args.files:
        prefix = f"{name}: " if many else ""
        try:
            cfg, line = check_file(name, force=args.force)
        except ConfigError as exc:
            code = 2
            for problem in exc.problems:
                print(prefix + problem, file=out)
            continue
        print(prefix + line, file=out)
        warnings = config_warnings(cfg)
        for warning in warnings:
            print(f"{prefix}warning: {warning}", file=out)
        if warnings and args.strict and code == 0:
            code = 1
    return code


# ---------------------------------------------------------------------- explain


def _num(x: float, signed: bool = False) -> str:
    if x == 0:
        return "0"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def format_explanation(ev: Any) -> list[str]:
    """A decision event as a table: each feature's value and value x weight, chosen vs runner-up."""
    exp = ev.explanation
    kind = type(ev).__name__
    head = f"t={ev.at:.3f} v{ev.version} {kind} inquiry {ev.inquiry_id} -> {ev.agent_id}"
    head += f" (queue {ev.queue})"
    if exp is None:
        return [head + ": no explanation (routing.trace is off)"]
    if exp.trigger == "agent_free":
        head += ": the agent became free and took the most urgent inquiry it can serve"
    notes = []
    if exp.distribution != "scored":
        notes.append(f"distribution {exp.distribution}")
    if exp.match is not None:
        notes.append(f"match {exp.match!r}")
    if exp.preferred:
        notes.append("a preferred agent of the inquiry")
    if exp.offers > 1:
        notes.append(f"offered to {exp.offers} agents at once")
    if notes:
        head += f" [{'; '.join(notes)}]"
    cols = [fs for fs in (exp.chosen, exp.runner_up) if fs is not None]
    width = max(16, *(len(fs.agent_id) + 2 for fs in cols))
    row = "  {:<13}{:>7}" + f"  {{:>{width}}}{{:>9}}" * len(cols)
    lines = [head]
    lines.append(row.format("feature", "weight", *[x for fs in cols for x in (fs.agent_id, "x w")]))
    for name, weight in exp.chosen.weights.items():
        cells = []
        for fs in cols:
            v = fs.features.get(name, 0.0)
            cells += [_num(v), _num(v * weight, signed=True)]
        lines.append(row.format(name, f"{weight:g}", *cells))
    lines.append(row.format("score", "", *[x for fs in cols for x in ("", f"{fs.score:+.3f}")]))
    if exp.runner_up is None and exp.trigger == "arrival" and exp.offers == 1:
        if not exp.preferred:
            lines.append("  (no other agent could take it)")
    elif exp.runner_up is not None and exp.runner_up.score == exp.chosen.score:
        if exp.distribution == "scored":
            lines.append("  (equal scores: the agent free for longest goes first)")
        else:
            lines.append("  (a tie: the agent whose state changed longest ago goes first)")
    if exp.interrupted:
        held = ", ".join(f"{n} {ch}" for ch, n in exp.interrupted.items())
        lines.append(f"  (an interruption: {held} keep running past the agent's capacity units)")
    return lines


def explain_main(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``python -m router explain SCENARIO [--inquiry ID] [--limit N]``.

    The decisions go to ``out``; a bad scenario's problems to ``err``, each prefixed with
    the file, as ``router simulate`` and ``router compare-policies`` print theirs, and so
    do a valid one's warnings (``FILE: warning: path: message``), before the decisions.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = _Parser(
        prog="router explain",
        description="Run a scenario with tracing on and show why each agent was chosen.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML, JSON or YAML)")
    parser.add_argument("--inquiry", metavar="ID", help="only decisions about this inquiry")
    parser.add_argument(
        "--limit", metavar="N", type=_positive_int, default=20, help="decisions shown (20)"
    )
    parser.add_argument(
        "--seed", metavar="N", type=int, default=None, help="override simulation.seed"
    )
    parser.add_argument(
        "--force", action="store_true", help="run even past [simulation.limits] (run size)"
    )
    try:
        args = parser.parse_args(list(argv))
    except _UsageExit as exc:
        print(exc.message, file=sys.stderr)
        return 2
    run = _sim_runner()
    if run is None:
        print("router explain: the simulator (router.sim) is not installed", file=sys.stderr)
        return 2
    from router.sim.scenario import load_scenario  # resolves from_csv against the file

    try:
        scenario: RouterConfig = load_scenario(args.scenario)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.scenario}: {problem}", file=err)
        return 2
    for warning in config_warnings(scenario):  # as ``router simulate``: before the run
        print(f"{args.scenario}: warning: {warning}", file=err)
    scenario = _with_trace(scenario)
    shown = 0
    settled: list[Any] = []

    def on_event(ev: Any) -> bool:
        nonlocal shown
        mine = args.inquiry is None or getattr(ev, "inquiry_id", None) == args.inquiry
        if getattr(ev, "explanation", None) is None:
            # with --inquiry, stop once it is out of the line for good
            if args.inquiry is not None and mine and type(ev).__name__ in _SETTLED:
                settled.append(ev)
                return False
            return True
        if not mine:
            return True
        if shown < args.limit:
            for line in format_explanation(ev):
                print(line, file=out)
            shown += 1
        return bool(shown < args.limit)

    try:
        run(scenario, on_event, args.seed, args.force)
    except ConfigError as exc:  # the run is past [simulation.limits] (router.sim.guard)
        for problem in exc.problems:
            print(f"{args.scenario}: {problem}", file=err)
        return 2
    if shown == 0:
        if args.inquiry is None:
            print("no routing decision in the scenario", file=out)
            return 0
        how = "it never arrived"
        if settled:
            ev = settled[0]
            how = f"{type(ev).__name__} at t={ev.at:.3f} before any agent was chosen"
        print(f"no routing decision for inquiry {args.inquiry!r}: {how}", file=out)
        return 2
    return 0


_SETTLED = frozenset({"Assigned", "Abandoned", "Withdrawn", "Rejected", "Deflected"})


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _with_trace(scenario: RouterConfig) -> RouterConfig:
    import msgspec

    routing = msgspec.structs.replace(scenario.routing, trace=True)
    return msgspec.structs.replace(scenario, routing=routing)


Runner = Callable[[RouterConfig, Callable[[Any], bool], "int | None", bool], None]


def _sim_runner() -> Runner | None:
    """The simulator's run function with an event hook (None when router.sim is absent)."""
    try:
        from router.sim.engine import simulate
    except ImportError:
        return None

    def run(
        scenario: RouterConfig, on_event: Callable[[Any], bool], seed: int | None, force: bool
    ) -> None:
        simulate(scenario, seed=seed, on_event=on_event, force=force)  # type: ignore[arg-type]

    return run
