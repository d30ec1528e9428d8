"""Driving served domains from a test: processes, a flooding producer, a drain check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import Inquiry, RouterConfig, decode_config, load_config
from router.durable import DomainOptions, DomainRunner
from router.durable.audit import Audit, Replay, audit_events, verify_replay
from router.durable.log import Producer, connect
from router.durable.testing import Proc
from tests.durable.conftest import CONFIG

LEASE_MS = 1000


# ---------------------------------------------------------------------- in-process runners


class Clock:
    """Router time for a runner: set by the test, never read from the machine."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def run(url: str, body: Callable[[Redis], Awaitable[None]]) -> None:
    async def main() -> None:
        client = Redis.from_url(url)
        try:
            await body(client)
        finally:
            await client.aclose()

    asyncio.run(main())


def runner(
    client: Redis,
    clock: Clock,
    owner: str = "p1",
    config: RouterConfig | None = None,
    **options: Any,
) -> DomainRunner:
    cfg = config if config is not None else decode_config(CONFIG.encode())
    opts = DomainOptions(
        **{"lease_ms": 60_000, "keep_log": True, "agents_from_config": True, **options}
    )
    return DomainRunner(client, "d", owner, cfg, opts, clock=clock)


async def settle(r: DomainRunner) -> None:
    """Cycle until everything read is logged, applied and published."""
    for _ in range(100):
        worked = await r.cycle(block=False)
        if not worked and not r.pending_out:
            return
    raise AssertionError("the runner did not settle")


async def start(r: DomainRunner) -> None:
    assert await r.acquire()
    await r.recover()
    await settle(r)


# ---------------------------------------------------------------------- processes


def serve(
    procs: list[Proc],
    tmp: Path,
    name: str,
    url: str,
    config: Path,
    domains: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Proc:
    args = [
        "router", "serve", str(config), "--redis", url, "--domains", domains,
        "--agents-from-config", "--lease-ms", str(LEASE_MS), "--keep-log",
        "--snapshot-every-s", "0.5", *extra,
    ]  # fmt: skip
    p = Proc(args, tmp / f"{name}.log", env=env)
    procs.append(p)
    return p


def stopped(p: Proc) -> bool:
    """Whether ``p`` is stopped (state ``T``, e.g. it sent itself SIGSTOP at a fault point)."""
    try:
        stat = Path(f"/proc/{p.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def agents(procs: list[Proc], tmp: Path, url: str, domains: str, *extra: str) -> Proc:
    args = ["tests.durable.agentsim", "--redis", url, "--domains", domains,
            "--handle-s", "0.05:0.2", "--seed", "7", *extra]  # fmt: skip
    p = Proc(args, tmp / "agentsim.log")
    procs.append(p)
    return p


def wait_for(pred: Callable[[], object], what: str, timeout: float = 30.0) -> object:
    """Poll ``pred`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def owner_pid(owner: bytes | str | None) -> int | None:
    """The pid inside an owner id ``host:pid:nonce``."""
    if owner is None:
        return None
    text = owner.decode() if isinstance(owner, bytes) else owner
    return int(text.split(":")[-2])


async def flood(
    url: str,
    domains: list[str],
    total: int,
    per_s: float,
    *,
    patience_s: float = 2.0,
    midway: Callable[[], None] | None = None,
    midway_at: float = 0.4,
    first: int = 0,
    cluster: bool = False,
) -> dict[str, list[str]]:
    """Add ``total`` inquiries per domain at ``per_s`` each; returns the ids acknowledged.

    Each add is idempotent (key = inquiry id): a batch that failed (Redis down)
    is retried as is until Redis acknowledges it, and only then counted.
    """
    client = connect(url, timeout_s=5.0, cluster=cluster)
    producers = {d: Producer(client, d) for d in domains}
    added: dict[str, list[str]] = {d: [] for d in domains}
    step = 0.02
    per_step = max(1, round(per_s * step))
    t0 = time.monotonic()
    sent = 0
    fired = False
    try:
        while sent < total:
            k = min(per_step, total - sent)
            for d, p in producers.items():
                batch = [
                    Inquiry(
                        id=f"{d}-{first + sent + j}",
                        queue="orders" if (sent + j) % 3 else "refunds",
                        patience_s=patience_s,
                    )
                    for j in range(k)
                ]
                while True:
                    try:
                        await p.submit_many(batch)
                        break
                    except (RedisConnectionError, RedisTimeoutError, OSError):
                        await asyncio.sleep(0.05)  # Redis down: retry with the same keys
                added[d] += [iq.id for iq in batch]  # ours even when a retry says duplicate
            sent += k
            if midway is not None and not fired and sent >= total * midway_at:
                fired = True
                midway()
            delay = t0 + (sent / per_step) * step - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    finally:
        await client.aclose()
    return added


async def drain(
    url: str,
    added: dict[str, list[str]],
    config: RouterConfig,
    timeout: float = 60.0,
    cluster: bool = False,
) -> None:
    """Wait until every added inquiry has an outcome in the outputs (or the timeout)."""
    client = connect(url, timeout_s=5.0, cluster=cluster)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = True
            for d, ids in added.items():
                rep = await verify_replay(client, d, strict=False)
                audit = audit_events(rep, config, ids)
                done = done and not any("has 0 outcomes" in p for p in audit.problems)
            if done:
                return
            await asyncio.sleep(0.25)
    finally:
        await client.aclose()


async def final_check(
    url: str, added: dict[str, list[str]], config: RouterConfig, cluster: bool = False
) -> dict[str, tuple[Replay, Audit]]:
    """Once every process stopped: strict replay check and audit of each domain."""
    client = connect(url, timeout_s=5.0, cluster=cluster)
    try:
        result = {}
        for d, ids in added.items():
            rep = await verify_replay(client, d, strict=True)
            result[d] = (rep, audit_events(rep, config, ids))
        return result
    finally:
        await client.aclose()


def settle_and_check(
    url: str,
    added: dict[str, list[str]],
    config: RouterConfig,
    procs: list[Proc],
    cluster: bool = False,
) -> dict[str, tuple[Replay, Audit]]:
    """Drain, stop every process gracefully (agents first), then check strictly."""
    asyncio.run(drain(url, added, config, cluster=cluster))
    for p in sorted(procs, key=lambda p: "agentsim" not in str(p.log_path)):
        p.terminate()
    return asyncio.run(final_check(url, added, config, cluster=cluster))


def load(path: Path) -> RouterConfig:
    cfg: RouterConfig = load_config(path, RouterConfig)
    return cfg
