"""``python -m router compare-policies FILE``: backpressure policies side by side on a scenario.

Theory of operation: the scenario is simulated once per variant of its
``[backpressure]`` table, everything else (arrivals, staffing, seed) unchanged,
and one row per variant is printed as a Markdown table: answered, abandoned,
rejected, deflected, callbacks, the service level of the priority queue (the
queue with the highest priority), the 95th percentile wait of answered
inquiries, and the error of the expected wait told at arrival against the wait
that followed (mean absolute error and bias, answered inquiries). The variants
and their parameters are derived from the scenario (see :func:`variants`);
docs/backpressure.md explains each. ``block`` is left out: it makes the
producer wait, which a simulator's Poisson arrivals cannot do.

Exit codes: 0 done, 2 a user error (bad arguments or file: one line per
problem on stderr, naming the field), never a traceback. A valid scenario's
warnings (``router check``'s: settings that do nothing) go to stderr before the
table, one ``FILE: warning: path: message`` line each, as ``router simulate``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import msgspec

from router.config import Backpressure, backpressure_problems, config_warnings
from router.errors import ConfigError

__all__ = ["compare", "compare_main", "format_table", "variants"]

DEFLECT_WAIT_S = 300.0
CODEL = {"target_s": 120.0, "interval_s": 300.0}
BUCKET_FACTOR = 3.0  # token bucket: 3x each queue's normal arrival rate
BUCKET_BURST = 60.0
DEFAULT_BOUND = 2000


def _priority_queue(sc: Any) -> str | None:
    queues = list(sc.queues)
    if not queues:
        return None
    top = max(queues, key=lambda q: q.priority)
    return top.name if any(q.priority < top.priority for q in queues) else None


def variants(sc: Any) -> list[tuple[str, Backpressure]]:
    """The ``[backpressure]`` variants compared on scenario ``sc``, with their labels.

    * ``configured``: the scenario's own table (surge included);
    * one row per policy alone, bounded by the scenario's ``max_queue`` (else 2000),
      with the priority queue exempt from ``deflect``, ``callback`` and ``codel``:
      ``deflect`` at 300 s, ``callback`` as configured (default 120 s), ``overflow``
      with the scenario's rules (skipped if it has none), ``codel`` target 120 s /
      interval 300 s, ``token_bucket`` per queue at 3x its normal arrival rate, burst 60;
    * ``chain``: overflow, callback, deflect at 1800 s (self-service for those who would
      wait more than half an hour even as a callback), shed_lowest_priority.
    """
    bp: Backpressure = sc.backpressure
    bound = bp.max_queue if bp.max_queue is not None else DEFAULT_BOUND
    prio = _priority_queue(sc)
    exempt = [prio] if prio is not None else []
    others = [q.name for q in sc.queues if q.name != prio]
    rates: dict[str, float] = {}
    for a in sc.arrivals:
        rates[a.queue] = rates.get(a.queue, 0.0) + (a.rate_per_s or 0.0)
    callback = msgspec.to_builtins(bp.callback)
    callback["exempt"] = sorted(set(callback.get("exempt", [])) | set(exempt))
    base: dict[str, Any] = {
        "max_queue": bound,
        "deflect": {"max_wait_s": DEFLECT_WAIT_S, "exempt": exempt},
        "callback": callback,
        "overflow": msgspec.to_builtins(bp.overflow),
        "codel": {**CODEL, "queues": others},
        "token_bucket": {
            "per": "queue",
            "rate_per_s": 1.0,
            "burst": BUCKET_BURST,
            "limits": {
                q: {"rate_per_s": max(r * BUCKET_FACTOR, 1e-3), "burst": BUCKET_BURST}
                for q, r in rates.items()
                if r > 0
            },
        },
    }
    has_overflow = bool(bp.overflow.queues)
    label = bp.policy if isinstance(bp.policy, str) else " + ".join(bp.policy)
    out: list[tuple[str, Backpressure]] = [
        (f"configured: {label}" + (" + surge" if bp.surge is not None else ""), bp)
    ]
    singles = [
        "admit_all",
        "reject_when_full",
        "shed_lowest_priority",
        "deflect",
        "callback",
        "overflow",
        "codel",
        "token_bucket",
    ]
    for name in singles:
        if name == "overflow" and not has_overflow:
            continue
        out.append((name, msgspec.convert({**base, "policy": name}, Backpressure)))
    chain = ["overflow", "callback", "deflect", "shed_lowest_priority"]
    if not has_overflow:
        chain.remove("overflow")
    table = {**base, "policy": chain, "deflect": {"max_wait_s": 1800.0, "exempt": exempt}}
    out.append(("chain: " + " + ".join(chain), msgspec.convert(table, Backpressure)))
    return out


def compare(
    sc: Any,
    *,
    seed: int | None = None,
    load: float = 1.0,
    duration_s: float | None = None,
    only: list[str] | None = None,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Simulate ``sc`` once per variant; one row of figures per variant (``force``: past
    ``[simulation.limits]``)."""
    from router.sim.engine import simulate
    from router.sim.report import build_report

    prio = _priority_queue(sc)
    rows = []
    for label, bp in variants(sc):
        if only and not any(label.startswith(o) for o in only):
            continue
        variant = msgspec.structs.replace(sc, backpressure=bp)
        problems = backpressure_problems(variant)
        if problems:
            raise ConfigError(problems)
        res = simulate(variant, seed=seed, load=load, duration_s=duration_s, force=force)
        rep = build_report(res, timeline=False)
        sl = rep["queues"][prio]["service_level"] if prio is not None else rep["service_level"]
        rows.append(
            {
                "policy": label,
                "offered": rep["offered"],
                "answered": rep["answered"],
                "abandoned": rep["abandoned"],
                "rejected": rep["rejected"],
                "deflected": rep["deflected"],
                "callbacks": rep["callbacks"],
                "unresolved": rep.get("unresolved", 0),
                "priority_queue": prio,
                "priority_service_level": sl,
                "wait_p95_s": rep["wait_p95_s"],
                "ewt_abs_error_s": rep["ewt_abs_error_s"],
                "ewt_bias_s": rep["ewt_bias_s"],
            }
        )
    return rows


def _num(x: Any, fmt: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, fmt)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    prio = rows[0]["priority_queue"] if rows else None
    sl = f"SL {prio}" if prio else "SL"
    head = [
        "policy",
        "answered",
        "abandoned",
        "rejected",
        "deflected",
        "callbacks",
        sl,
        "p95 wait s",
        "EWT error s (bias)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 8) + "|"]
    for r in rows:
        cells = [
            r["policy"],
            str(r["answered"]),
            str(r["abandoned"]),
            str(r["rejected"]),
            str(r["deflected"]),
            str(r["callbacks"]),
            _num(r["priority_service_level"], ".3f"),
            _num(r["wait_p95_s"], ".0f"),
            f"{_num(r['ewt_abs_error_s'], '.0f')} ({_num(r['ewt_bias_s'], '+.0f')})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class _UsageExit(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageExit(f"{self.prog}: {message}")


def _load(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return x


def compare_main(argv: Sequence[str] | None = None) -> int:
    """``python -m router compare-policies FILE [--seed N] [--load X] [--json PATH]``."""
    err = sys.stderr
    parser = _Parser(
        prog="router compare-policies",
        description="Simulate a scenario once per backpressure policy; print a Markdown table.",
    )
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML, JSON or YAML)")
    parser.add_argument(
        "--seed", metavar="N", type=int, default=None, help="override simulation.seed"
    )
    parser.add_argument(
        "--load",
        metavar="X",
        type=_load,
        default=1.0,
        help="multiply every arrival rate, on top of the file's own [[surges]] (default 1)",
    )
    parser.add_argument(
        "--duration",
        metavar="S",
        type=_load,
        default=None,
        help="override simulation.duration_s (seconds)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        default="",
        help="only these rows: comma-separated label prefixes (configured, admit_all, "
        "reject_when_full, shed_lowest_priority, deflect, callback, overflow, codel, "
        "token_bucket, chain; default: all)",
    )
    parser.add_argument(
        "--force", action="store_true", help="run even past [simulation.limits] (run size)"
    )
    try:
        args = parser.parse_args(list(sys.argv[2:] if argv is None else argv))
    except _UsageExit as exc:
        print(exc, file=err)
        return 2
    from router.sim.scenario import load_scenario

    try:
        sc = load_scenario(args.file)
        for warning in config_warnings(sc):
            print(f"{args.file}: warning: {warning}", file=err)
        only = [o.strip() for o in args.only.split(",") if o.strip()]
        rows = compare(
            sc,
            seed=args.seed,
            load=args.load,
            duration_s=args.duration,
            only=only,
            force=args.force,
        )
    except ConfigError as exc:
        for line in exc.problems:
            print(f"{args.file}: {line}", file=err)
        return 2
    if not rows:
        print(f"router compare-policies: no variant matches --only {args.only!r}", file=err)
        return 2
    seed = args.seed if args.seed is not None else sc.simulation.seed
    print(
        f"{Path(args.file).name}, seed {seed}, load x{args.load:g}: "
        f"{rows[0]['offered']} inquiries offered in the measured window"
    )
    print()
    print(format_table(rows))
    if args.json:
        try:
            Path(args.json).write_bytes(msgspec.json.format(msgspec.json.encode(rows)) + b"\n")
        except OSError as exc:
            print(f"router compare-policies: cannot write {args.json}: {exc}", file=err)
            return 2
    return 0
