"""``router dashboard SCENARIO``: replay a scenario in accelerated virtual time on a live page.

Exit codes: 0 stopped (Ctrl-C, ``--seconds``, or ``--exit-when-done``), 2 a user
error (bad arguments or scenario: one line per problem, naming the field) or no
aiohttp (the ``dashboard`` extra, imported when the command runs, so ``--help``
works without it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from router._dist import install_hint
from router.cli.check import _Parser, _UsageExit
from router.cli.extras import missing_extra
from router.errors import ConfigError
from router.sim.cli import _positive
from router.sim.scenario import load_scenario

if TYPE_CHECKING:
    from router.dashboard.replay import ReplaySource

__all__ = ["dashboard_main"]


def _fraction(text: str) -> float:
    x = _positive(text)
    if x > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return x


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0..65535, got {text!r}")
    return n


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = _Parser(
        prog="router dashboard",
        description="Replay a scenario in accelerated virtual time and watch it on a live page "
        "(queues, waits, agents, service level, surge, reconfigure by upload). "
        f"Needs the dashboard extra: {install_hint('dashboard')}",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML, JSON or YAML)")
    p.add_argument(
        "--speed", metavar="X", type=_positive, default=60.0, help="virtual s per wall s (60)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=8050, help="TCP port (8050; 0: a free one)")
    p.add_argument("--seed", metavar="N", type=int, default=None, help="override simulation.seed")
    p.add_argument(
        "--load", metavar="X", type=_positive, default=1.0, help="multiply every arrival rate (1)"
    )
    p.add_argument(
        "--duration",
        metavar="S",
        type=_positive,
        default=None,
        help="override simulation.duration_s (seconds)",
    )
    p.add_argument(
        "--sl-goal", metavar="F", type=_fraction, default=0.8, help="service-level goal (0.8)"
    )
    p.add_argument(
        "--seconds",
        metavar="S",
        type=_positive,
        default=None,
        help="stop after this many wall seconds (default: run until Ctrl-C)",
    )
    p.add_argument("--exit-when-done", action="store_true", help="stop when the replay ends")
    return p.parse_args(list(argv))


def dashboard_main(argv: Sequence[str]) -> int:
    """``router dashboard SCENARIO [--speed X] [--port N] ...``."""
    try:
        from router.dashboard.replay import ReplaySource
    except ImportError as exc:  # no aiohttp (router.dashboard.server)
        return missing_extra("dashboard", exc, parse, argv)
    try:
        args = parse(argv)
    except _UsageExit as exc:
        print(exc.message, file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{args.scenario}: {problem}", file=sys.stderr)
        return 2
    title = f"{Path(args.scenario).name}: load x{args.load:g}, replay at {args.speed:g}x"
    source = ReplaySource(
        scenario,
        speed=args.speed,
        seed=args.seed,
        load=args.load,
        duration_s=args.duration,
        title=title,
        sl_goal=args.sl_goal,
    )
    try:
        return asyncio.run(_serve(source, args))
    except OSError as exc:
        print(f"router dashboard: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2


async def _serve(source: ReplaySource, args: argparse.Namespace) -> int:
    from router.dashboard.server import start_server

    runner, port = await start_server(source, args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    source.start()
    print(f"dashboard: http://{args.host}:{port}/  ({source.title}; Ctrl-C stops)", flush=True)
    try:
        deadline = loop.time() + args.seconds if args.seconds is not None else math.inf
        while not stop.is_set() and loop.time() < deadline:
            if args.exit_when_done and source.done:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        source.stop()
        await runner.cleanup()
    if source.error is not None:
        print(f"router dashboard: the replay failed: {source.error!r}", file=sys.stderr)
        return 1
    print("dashboard: stopped", flush=True)
    return 0
