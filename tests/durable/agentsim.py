"""Simulated agents for served domains: read outputs, feed accepts and completions back.

Theory of operation: one task per domain follows the domain's ``output``
stream with ``XREAD BLOCK`` (from the start, or from a given id). Every
``Offered`` schedules an ``accept`` after ``accept_delay_s`` (or a ``decline``
with probability ``decline_p``); every ``Assigned`` schedules a ``complete``
after a handle time drawn uniformly from ``handle_s``. Due inputs are sent in
pipelined batches through a :class:`~router.durable.log.Producer`. A ``complete``
of ours refused with ``DeadLettered`` (it crashed the core, or its whole batch
died, so it changed nothing) is sent again, as a real agent desktop would: the
inquiry stays with its agent until a completion is applied. A refused ``accept``
or ``decline`` needs nothing: the offer expires and is made again. It is a test
and benchmark driver, not part of serving; on a Redis error it waits and goes
on from the last entry it read, so it survives a Redis restart.

``python -m tests.durable.agentsim --redis URL --domains a,b [--duration S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import random
import signal
import sys
import time
from typing import Any

from redis.exceptions import RedisError

from router.durable.log import Producer, connect
from router.durable.wire import check_domain_name
from router.events import Assigned, Offered
from router.inputs import Accept, Complete, Decline

__all__ = ["AgentSimulator", "main"]

_COMPLETE: str = Complete.__struct_config__.tag  # type: ignore[assignment]


class AgentSimulator:
    """Answer offers and complete work in the given domains until :meth:`stop`."""

    def __init__(
        self,
        url: str,
        domains: list[str],
        *,
        accept_delay_s: float = 0.0,
        handle_s: tuple[float, float] = (0.0, 0.0),
        decline_p: float = 0.0,
        seed: int = 0,
        prefix: str = "router",
        start: str = "0-0",
        cluster: bool = False,
    ) -> None:
        self.client = connect(url, timeout_s=5.0, cluster=cluster)
        self.domains = domains
        self.accept_delay_s = accept_delay_s
        self.handle_s = handle_s
        self.decline_p = decline_p
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.start = start
        self.counts = {
            "offers": 0,
            "accepts": 0,
            "declines": 0,
            "assigned": 0,
            "completes": 0,
            "resent": 0,
        }
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, duration_s: float | None = None) -> dict[str, int]:
        tasks = [asyncio.create_task(self._domain(d)) for d in self.domains]
        try:
            if duration_s is None:
                await self._stop.wait()
            else:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), duration_s)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await self.client.aclose()
        return dict(self.counts)

    async def _domain(self, domain: str) -> None:
        me = f"agentsim:{domain}"  # our refusals come back with it
        producer = Producer(self.client, domain, prefix=self.prefix, producer=me)
        due: list[tuple[float, int, Any]] = []
        seq = 0
        after = self.start
        c = self.counts
        while True:
            try:
                now = time.monotonic()
                ready = []
                while due and due[0][0] <= now:
                    ready.append(heapq.heappop(due)[2])
                if ready:
                    try:
                        await producer.send_many(ready)
                    except (RedisError, OSError):
                        for item in ready:  # keep them for the next attempt
                            seq += 1
                            heapq.heappush(due, (now, seq, item))
                        raise
                wait = due[0][0] - time.monotonic() if due else 0.2
                block = max(1, min(200, int(wait * 1000)))
                entries = await producer.read_outputs(after, count=2000, block_ms=block)
            except (RedisError, OSError):
                await asyncio.sleep(0.2)
                continue
            for entry in entries:
                after = entry.id
                now = time.monotonic()
                for ev in entry.events:
                    if isinstance(ev, Offered):
                        c["offers"] += 1
                        seq += 1
                        if self.decline_p and self.rng.random() < self.decline_p:
                            c["declines"] += 1
                            answer: Any = Decline(inquiry_id=ev.inquiry_id, agent_id=ev.agent_id)
                        else:
                            c["accepts"] += 1
                            answer = Accept(inquiry_id=ev.inquiry_id, agent_id=ev.agent_id)
                        heapq.heappush(due, (now + self.accept_delay_s, seq, answer))
                    elif isinstance(ev, Assigned):
                        c["assigned"] += 1
                        c["completes"] += 1
                        seq += 1
                        lo, hi = self.handle_s
                        at = now + (self.rng.uniform(lo, hi) if hi > lo else lo)
                        heapq.heappush(due, (at, seq, Complete(inquiry_id=ev.inquiry_id)))
                for r in entry.refusals:
                    if r.error == "DeadLettered" and r.producer == me and r.input == _COMPLETE:
                        c["resent"] += 1
                        seq += 1
                        heapq.heappush(due, (now, seq, Complete(inquiry_id=r.ref)))


def _range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition(":")
    a = float(lo)
    b = float(hi) if hi else a
    if not 0 <= a <= b:
        raise ValueError(f"expected LO[:HI] with 0 <= LO <= HI, got {text!r}")
    return a, b


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.durable.agentsim")
    p.add_argument("--redis", required=True)
    p.add_argument("--domains", default="default")
    p.add_argument("--accept-delay-s", type=float, default=0.0)
    p.add_argument("--handle-s", default="0", help="handle time LO[:HI] seconds, uniform")
    p.add_argument("--decline", type=float, default=0.0, help="probability of declining")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prefix", default="router")
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--cluster", action="store_true", help="the URL is a Redis Cluster node")
    a = p.parse_args(argv)
    try:
        domains = [check_domain_name(d) for d in a.domains.split(",")]
        handle = _range(a.handle_s)
    except ValueError as exc:
        print(f"agentsim: {exc}", file=sys.stderr)
        return 2
    sim = AgentSimulator(
        a.redis,
        domains,
        accept_delay_s=a.accept_delay_s,
        handle_s=handle,
        decline_p=a.decline,
        seed=a.seed,
        prefix=a.prefix,
        cluster=a.cluster,
    )

    async def go() -> dict[str, int]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, sim.stop)
        return await sim.run(a.duration)

    counts = asyncio.run(go())
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
