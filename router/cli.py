"""``python -m router check`` and ``python -m router explain``.

Theory of operation: both commands are for operators, so every failure they
can foresee (missing or unreadable file, malformed TOML, a schema or semantic
problem, a bad argument) is one line naming the file or path, exit code 2,
never a traceback. ``check`` validates a router config, or a scenario (a config
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

from router.config import RouterConfig, convert_config, read_config_file
from router.errors import ConfigError

__all__ = ["check_file", "check_main", "explain_main", "format_explanation", "summary_line"]

#: Top-level tables that make a file a scenario rather than a plain config.
SCENARIO_KEYS: tuple[str, ...] = ("simulation", "arrivals", "surges")


class _UsageExit(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageExit(f"{self.prog}: {message}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _scenario_type() -> type[RouterConfig] | None:
    try:
        from router.sim.scenario import Scenario
    except ImportError:
        return None
    return Scenario


def is_scenario(raw: Any) -> bool:
    """Whether parsed file data is a scenario (has a simulator table)."""
    return isinstance(raw, dict) and any(k in raw for k in SCENARIO_KEYS)


def summary_line(cfg: RouterConfig, raw: Any = None) -> str:
    """``ok: 3 queues, 2 agent profiles (120 agents), policy reject_when_full``."""
    agents = sum(a.count for a in cfg.agents)
    policy = cfg.backpressure.policy
    names = [policy] if isinstance(policy, str) else list(policy)
    parts = [
        _plural(len(cfg.queues), "queue"),
        f"{_plural(len(cfg.agents), 'agent profile')} ({_plural(agents, 'agent')})",
        ("policy " if len(names) == 1 else "policies ") + ", ".join(names),
    ]
    if is_scenario(raw):
        arrivals = raw.get("arrivals", [])
        surges = raw.get("surges", [])
        parts.append(_plural(len(arrivals) if isinstance(arrivals, list) else 0, "arrival stream"))
        parts.append(_plural(len(surges) if isinstance(surges, list) else 0, "surge"))
        return "ok: scenario, " + ", ".join(parts)
    return "ok: " + ", ".join(parts)


def check_file(path: str | Path) -> tuple[RouterConfig, str]:
    """Validate a config or scenario file; returns it and its summary, or raises ConfigError."""
    raw = read_config_file(path)
    if is_scenario(raw):
        scenario = _scenario_type()
        if scenario is not None:
            cfg = convert_config(raw, scenario)
            return cfg, summary_line(cfg, raw)
        rest = {k: v for k, v in raw.items() if k not in SCENARIO_KEYS}
        cfg = convert_config(rest)
        note = " (scenario tables not checked: router.sim is not installed)"
        return cfg, summary_line(cfg, raw) + note
    cfg = convert_config(raw)
    return cfg, summary_line(cfg, raw)


def check_main(argv: Sequence[str], out: TextIO | None = None) -> int:
    """``python -m router check FILE [FILE ...]``: exit 0 when every file is valid, else 2."""
    out = out if out is not None else sys.stdout
    parser = _Parser(
        prog="python -m router check",
        description="Validate router config or scenario files (TOML, JSON or YAML).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
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
            _, line = check_file(name)
        except ConfigError as exc:
            code = 2
            for problem in exc.problems:
                print(prefix + problem, file=out)
        else:
            print(prefix + line, file=out)
    return code


# ---------------------------------------------------------------------- explain


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if x else "0"


def format_explanation(ev: Any) -> list[str]:
    """A decision event's explanation as table lines: feature, weight, value x weight."""
    exp = ev.explanation
    kind = type(ev).__name__
    head = f"t={ev.at:.3f} v{ev.version} {kind} {ev.inquiry_id} -> {ev.agent_id} ({ev.queue})"
    if exp is None:
        return [head + ": no explanation (routing.trace is off)"]
    if exp.trigger == "agent_free":
        head += ": agent freed, took the most urgent inquiry it can serve"
    chosen, runner = exp.chosen, exp.runner_up
    cols = [f"chosen {chosen.agent_id}"]
    if runner is not None:
        cols.append(f"runner-up {runner.agent_id}")
    width = max(18, *(len(c) for c in cols))
    lines = [
        head,
        f"  {'feature':<13} {'weight':>7}  " + "  ".join(f"{c:>{width}}" for c in cols),
    ]
    for name, weight in chosen.weights.items():
        cells = []
        for fs in (chosen, runner):
            if fs is None:
                continue
            v = fs.features.get(name, 0.0)
            cells.append(f"{v:.3f} x {weight:g} = {_fmt(v * weight)}")
        lines.append(f"  {name:<13} {weight:>7g}  " + "  ".join(f"{c:>{width}}" for c in cells))
    totals = [f"{chosen.score:+.3f}"] + ([f"{runner.score:+.3f}"] if runner is not None else [])
    lines.append(f"  {'score':<13} {'':>7}  " + "  ".join(f"{c:>{width}}" for c in totals))
    if runner is None and exp.trigger == "arrival":
        lines.append("  (no other agent was free for this inquiry)")
    return lines


def explain_main(argv: Sequence[str], out: TextIO | None = None) -> int:
    """``python -m router explain SCENARIO [--inquiry ID] [--limit N]``."""
    out = out if out is not None else sys.stdout
    parser = _Parser(
        prog="python -m router explain",
        description="Run a scenario with tracing on and show why each agent was chosen.",
    )
    parser.add_argument("scenario", metavar="SCENARIO")
    parser.add_argument("--inquiry", metavar="ID", help="only decisions about this inquiry")
    parser.add_argument(
        "--limit", metavar="N", type=_positive_int, default=20, help="decisions shown (20)"
    )
    parser.add_argument("--seed", metavar="N", type=int, default=None, help="override the seed")
    try:
        args = parser.parse_args(list(argv))
    except _UsageExit as exc:
        print(exc.message, file=sys.stderr)
        return 2
    run = _sim_runner()
    if run is None:
        print("router explain: the simulator (router.sim) is not installed", file=sys.stderr)
        return 2
    try:
        raw = read_config_file(args.scenario)
        scenario_type = _scenario_type()
        assert scenario_type is not None
        scenario = convert_config(raw, scenario_type)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        return 2
    scenario = _with_trace(scenario, args.seed)
    shown = 0
    decisions = 0

    def on_event(ev: Any) -> bool:
        nonlocal shown, decisions
        if getattr(ev, "explanation", None) is None:
            return True
        decisions += 1
        if args.inquiry is not None and ev.inquiry_id != args.inquiry:
            return True
        if shown < args.limit:
            for line in format_explanation(ev):
                print(line, file=out)
            shown += 1
        return bool(shown < args.limit)

    run(scenario, on_event)
    if shown == 0:
        what = f"inquiry {args.inquiry!r}" if args.inquiry is not None else "the scenario"
        print(f"no routing decision found for {what}", file=out)
        return 2 if args.inquiry is not None else 0
    return 0


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _with_trace(scenario: RouterConfig, seed: int | None) -> RouterConfig:
    import msgspec

    routing = msgspec.structs.replace(scenario.routing, trace=True)
    changed: dict[str, Any] = {"routing": routing}
    sim = getattr(scenario, "simulation", None)
    if seed is not None and sim is not None:
        changed["simulation"] = msgspec.structs.replace(sim, seed=seed)
    return msgspec.structs.replace(scenario, **changed)


def _sim_runner() -> Callable[[RouterConfig, Callable[[Any], bool]], None] | None:
    """Adapter to the simulator's public run function (None when router.sim is absent)."""
    return None
