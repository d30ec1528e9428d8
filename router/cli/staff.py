"""``python -m router staff``: how many agents a service-level target needs.

Erlang C, or Erlang A with ``--patience-s``; the maths is ``router/state/erlang.py``.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import NoReturn

from router.state.erlang import (
    agents_needed,
    erlang_a,
    erlang_c,
    mmc_mean_wait,
    mmc_occupancy,
    mmc_service_level,
)

__all__ = ["staff_main"]

_PER_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
# The default bound of the search: sizing ~100k agents takes well under a second; beyond
# it each step costs O(agents), so an absurd load is refused at once instead.
STAFF_MAX_AGENTS = 100_000


class _ArgError(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that raises instead of calling sys.exit."""

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _ArgError(status, message)

    def error(self, message: str) -> NoReturn:
        raise _ArgError(2, f"{self.format_usage()}{self.prog}: error: {message}\n")


#: ``agents_needed``'s parameter names -> the flags that give them, for its error messages
_FLAGS = {
    "arrival_rate": "--rate",
    "mean_service_s": "--aht",
    "target_s": "--target-s",
    "service_level": "--sl",
    "max_occupancy": "--max-occupancy",
    "mean_patience_s": "--patience-s",
    "max_abandon": "--max-abandon",
}
_PARAMETER = re.compile(r"\b(" + "|".join(_FLAGS) + r")\b")


def _flags(message: str) -> str:
    """An error of the calculator, with the flags a user typed for its parameter names."""
    return _PARAMETER.sub(lambda m: _FLAGS[m[1]], message)


def _build_parser() -> _Parser:
    p = _Parser(
        prog="router staff",
        description="Agents needed for a service-level target: Erlang C, or Erlang A with "
        "--patience-s (callers who abandon).",
    )
    p.add_argument(
        "--rate", metavar="R", type=float, required=True, help="arrival rate (calls per --per)"
    )
    p.add_argument(
        "--per",
        choices=sorted(_PER_SECONDS),
        default="second",
        help="time unit of --rate (default: second)",
    )
    p.add_argument(
        "--aht", metavar="S", type=float, required=True, help="average handle time, seconds"
    )
    p.add_argument(
        "--target-s",
        metavar="S",
        type=float,
        required=True,
        help="answered within this many seconds counts toward the service level",
    )
    p.add_argument(
        "--sl", metavar="F", type=float, default=0.8, help="service-level target (default 0.8)"
    )
    p.add_argument(
        "--max-occupancy",
        metavar="F",
        type=float,
        default=None,
        help="occupancy cap in (0, 1] (default: none)",
    )
    p.add_argument(
        "--patience-s",
        metavar="S",
        type=float,
        default=None,
        help="mean caller patience, seconds (switches to Erlang A)",
    )
    p.add_argument(
        "--max-abandon",
        metavar="F",
        type=float,
        default=None,
        help="abandonment cap (needs --patience-s; default: none)",
    )
    p.add_argument(
        "--max-agents",
        metavar="N",
        type=int,
        default=STAFF_MAX_AGENTS,
        help=f"refuse to size beyond this many agents (default {STAFF_MAX_AGENTS:,})",
    )
    return p


def _table(
    rate: float, aht: float, target: float, patience: float | None, agents: int
) -> list[str]:
    offered = rate * aht
    first = max(1, agents - 2)
    if patience is None:
        first = max(first, math.floor(offered) + 1)
    head = f"{'agents':>7} {'P(wait)':>8} {'ASA(s)':>9} {'SL':>7} {'occupancy':>9}"
    if patience is not None:
        head += f" {'abandon':>8}"
    lines = [head]
    for c in range(first, agents + 3):
        if patience is None:
            pw = erlang_c(c, offered)
            asa = mmc_mean_wait(c, rate, aht)
            sl = mmc_service_level(c, rate, aht, target)
            occ = mmc_occupancy(c, rate, aht)
            extra = ""
        else:
            ea = erlang_a(c, rate, aht, patience)
            pw, asa, sl, occ = (
                ea.p_wait,
                ea.mean_wait_served_s,
                ea.service_level(target),
                ea.occupancy,
            )
            extra = f" {ea.p_abandon:>8.2%}"
        mark = "*" if c == agents else " "
        lines.append(f"{mark}{c:>6} {pw:>8.4f} {asa:>9.2f} {sl:>7.2%} {occ:>9.2%}{extra}")
    return lines


def staff_main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m router staff --rate R --aht S --target-s T [--sl 0.8] ...``.

    ``argv`` excludes the program name; a leading ``"staff"`` token is accepted and ignored.
    Prints a small staffing table around the recommended head count and returns 0; on bad
    arguments prints a message to stderr and returns 2 (never raises).
    """
    args_in = sys.argv[1:] if argv is None else list(argv)
    if args_in and args_in[0] == "staff":
        args_in = args_in[1:]
    parser = _build_parser()
    try:
        ns = parser.parse_args(args_in)
    except _ArgError as exc:
        if exc.message:
            (sys.stderr if exc.status else sys.stdout).write(exc.message)
        return exc.status
    if not (math.isfinite(ns.rate) and ns.rate > 0):  # before --per converts it
        sys.stderr.write(
            f"{parser.prog}: error: --rate must be a finite number > 0, got {ns.rate:g}\n"
        )
        return 2
    rate = float(ns.rate) / _PER_SECONDS[ns.per]
    aht, target, sl = float(ns.aht), float(ns.target_s), float(ns.sl)
    patience: float | None = ns.patience_s
    try:
        if ns.max_agents < 1:
            raise ValueError(f"--max-agents must be >= 1, got {ns.max_agents}")
        agents = agents_needed(
            rate,
            aht,
            target,
            sl,
            ns.max_occupancy,
            patience,
            max_abandon=ns.max_abandon,
            max_agents=ns.max_agents,
        )
        lines = _table(rate, aht, target, patience, agents)
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        sys.stderr.write(f"{parser.prog}: error: {_flags(str(exc))}\n")
        return 2
    model = (
        "Erlang C (M/M/c)" if patience is None else f"Erlang A (M/M/c+M, patience {patience:g} s)"
    )
    print(f"model: {model}")
    print(
        f"offered load {rate * aht:.3f} Erlangs (rate {rate:.6g}/s, AHT {aht:g} s);"
        f" target {sl:.1%} answered within {target:g} s"
        + ("" if ns.max_occupancy is None else f", occupancy <= {ns.max_occupancy:.1%}")
        + ("" if ns.max_abandon is None else f", abandon <= {ns.max_abandon:.1%}")
    )
    print("\n".join(lines))
    print(f"agents needed: {agents}")
    return 0
