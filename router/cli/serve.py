"""``router serve CONFIG --redis URL``: the command line of the durable mode's process.

Theory of operation: the parser and the argument checks need only the standard
library, so ``router serve --help`` works without redis-py; the process itself
(:class:`router.durable.serve.Server`, the ``redis`` extra) is imported when the
command runs, and without it the command prints the install line and exits 2
(:mod:`router.cli.extras`). Every bad argument is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import signal
import sys
from typing import Any, NoReturn

from router._dist import install_hint
from router.cli.extras import missing_extra
from router.config import RouterConfig, load_config
from router.errors import ConfigError

__all__ = ["serve_main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="router serve",
        description="Serve routing domains over Redis Streams (see docs/deploy.md). "
        f"Needs the redis extra: {install_hint('redis')}",
    )
    p.add_argument(
        "config",
        metavar="CONFIG",
        help="router config (TOML, JSON or YAML) for new domains; not a scenario",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        required=True,
        help="redis://host:port/db, rediss://... or unix:///path.sock",
    )
    p.add_argument(
        "--domains",
        metavar="A,B,...",
        default="default",
        help="comma-separated domain names (default: default)",
    )
    p.add_argument(
        "--agents-from-config",
        action="store_true",
        help="log in the config's [[agents]] when a domain is created",
    )
    p.add_argument(
        "--lease-ms", metavar="MS", type=int, default=5000, help="lease time (default 5000)"
    )
    p.add_argument(
        "--batch",
        metavar="N",
        type=int,
        default=1000,
        help="request entries per read (default 1000)",
    )
    p.add_argument(
        "--batch-items",
        metavar="N",
        type=int,
        default=5000,
        help="max inputs per logged batch (default 5000)",
    )
    p.add_argument(
        "--snapshot-every-s",
        metavar="S",
        type=float,
        default=5.0,
        help="snapshot period in seconds (default 5)",
    )
    p.add_argument(
        "--snapshot-every-batches",
        metavar="N",
        type=int,
        default=10_000,
        help="also snapshot after this many logged batches (default 10000)",
    )
    p.add_argument(
        "--keep-log", action="store_true", help="never trim the input log (full replay and audit)"
    )
    p.add_argument(
        "--dedupe-window-s",
        metavar="S",
        type=float,
        default=600.0,
        help="how long a submission's idempotency key is remembered (default 600)",
    )
    p.add_argument(
        "--output-retention-s",
        metavar="S",
        type=float,
        default=600.0,
        help="without consumer groups, keep output entries this long; -1 keeps all (default 600)",
    )
    p.add_argument(
        "--max-unprocessed",
        metavar="N",
        type=int,
        default=100_000,
        help="per-domain bound on submissions not yet logged; 0 = none (default 100000)",
    )
    p.add_argument(
        "--max-lag-s",
        metavar="S",
        type=float,
        default=10.0,
        help="/health fails past this lag (default 10)",
    )
    p.add_argument(
        "--fence-alert-s",
        metavar="S",
        type=float,
        default=None,
        help="/health fails this long after a domain is lost to another owner (default: a lease)",
    )
    p.add_argument(
        "--redis-timeout-s",
        metavar="S",
        type=float,
        default=2.0,
        help="connect and command timeout of every Redis call (default 2)",
    )
    p.add_argument("--cluster", action="store_true", help="the URL is a Redis Cluster node")
    p.add_argument("--prefix", default="router", help="key prefix (default router)")
    p.add_argument(
        "--http",
        metavar="HOST:PORT",
        default=None,
        help="serve GET /health, /metrics, /stats here (default: off)",
    )
    p.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log lines on stderr from this level (default INFO)",
    )
    return p


def _check_args(a: argparse.Namespace) -> tuple[list[str], tuple[str, int] | None]:
    from router.durable.wire import check_domain_name  # the redis extra (router.durable)

    if not a.redis.startswith(("redis://", "rediss://", "unix://")):
        raise _UsageError(f"--redis: expected redis://, rediss:// or unix:// URL, got {a.redis!r}")
    try:
        domains = [check_domain_name(d.strip()) for d in a.domains.split(",")]
    except ValueError as exc:
        raise _UsageError(f"--domains: {exc}") from None
    if len(set(domains)) != len(domains):
        raise _UsageError("--domains: a domain is listed twice")
    if not 200 <= a.lease_ms <= 600_000:
        raise _UsageError(f"--lease-ms: must be in 200..600000, got {a.lease_ms}")
    if not 1 <= a.batch <= 100_000:
        raise _UsageError(f"--batch: must be in 1..100000, got {a.batch}")
    if not (a.snapshot_every_s > 0 and math.isfinite(a.snapshot_every_s)):
        raise _UsageError(f"--snapshot-every-s: must be > 0, got {a.snapshot_every_s}")
    if a.snapshot_every_batches < 1:
        raise _UsageError(f"--snapshot-every-batches: must be >= 1, got {a.snapshot_every_batches}")
    if not 1 <= a.batch_items <= 1_000_000:
        raise _UsageError(f"--batch-items: must be in 1..1000000, got {a.batch_items}")
    for flag, value in (
        ("--dedupe-window-s", a.dedupe_window_s),
        ("--max-lag-s", a.max_lag_s),
        ("--redis-timeout-s", a.redis_timeout_s),
        ("--fence-alert-s", a.lease_ms / 1000.0 if a.fence_alert_s is None else a.fence_alert_s),
    ):
        if not (value > 0 and math.isfinite(value)):
            raise _UsageError(f"{flag}: must be > 0, got {value}")
    if not (
        math.isfinite(a.output_retention_s)
        and (a.output_retention_s >= 0 or a.output_retention_s == -1)
    ):
        raise _UsageError(f"--output-retention-s: must be >= 0 or -1, got {a.output_retention_s}")
    if a.max_unprocessed < 0:
        raise _UsageError(f"--max-unprocessed: must be >= 0, got {a.max_unprocessed}")
    if a.redis_timeout_s <= 0.5:
        raise _UsageError(
            f"--redis-timeout-s: must exceed the 0.5 s XREAD block, got {a.redis_timeout_s}"
        )
    if "{" in a.prefix or "}" in a.prefix or not a.prefix:
        raise _UsageError(f"--prefix: must be non-empty without braces, got {a.prefix!r}")
    http = None
    if a.http is not None:
        host, _, port = a.http.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise _UsageError(f"--http: expected HOST:PORT, got {a.http!r}")
        http = (host, int(port))
    return domains, http


def serve_main(argv: list[str]) -> int:
    """Entry point of ``python -m router serve``; returns the exit code."""
    try:
        from router.durable.domain import DomainOptions
        from router.durable.serve import Server
    except ImportError as exc:  # no redis-py
        return missing_extra("serve", exc, _parser().parse_args, argv)
    try:
        a = _parser().parse_args(argv)
        domains, http = _check_args(a)
    except _UsageError as exc:
        print(f"router serve: {exc}", file=sys.stderr)
        return 2
    try:
        config: RouterConfig = load_config(a.config, RouterConfig)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"router serve: {a.config}: {problem}", file=sys.stderr)
        return 2
    options = DomainOptions(
        lease_ms=a.lease_ms,
        batch=a.batch,
        snapshot_every_s=a.snapshot_every_s,
        snapshot_every_batches=a.snapshot_every_batches,
        keep_log=a.keep_log,
        batch_items=a.batch_items,
        dedupe_window_s=a.dedupe_window_s,
        output_retention_s=a.output_retention_s,
        max_unprocessed=a.max_unprocessed,
        agents_from_config=a.agents_from_config,
        prefix=a.prefix,
    )
    logging.basicConfig(
        level=a.log_level,
        stream=sys.stderr,
        format="%(asctime)s.%(msecs)03d router serve[%(process)d] %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        server = Server(
            a.redis,
            config,
            domains,
            options,
            http=http,
            max_lag_s=a.max_lag_s,
            redis_timeout_s=a.redis_timeout_s,
            cluster=a.cluster,
            fence_alert_s=a.fence_alert_s,
        )
    except ValueError as exc:
        print(f"router serve: --redis: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        await server.run()

    runner: Any = asyncio.run
    if not a.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            pass
    runner(main())
    return 0
