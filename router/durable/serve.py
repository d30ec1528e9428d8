"""The process behind ``router serve CONFIG --redis URL``: own routing domains, share them out.

Theory of operation: a :class:`Server` is one asyncio (uvloop when available)
process. Every ``lease/10`` it tries to take each configured domain whose
lease is free (never one it released a moment ago), recovers it from Redis and
runs a :class:`~router.durable.domain.DomainRunner` task for it. Every
``lease/3`` it publishes a heartbeat: a hash ``<prefix>:proc:<owner>`` (pid,
domains, counters, per-domain statistics as JSON; expires after three leases)
and a score in the sorted set ``<prefix>:procs``. The live processes that serve
some of the same domains (``--domains`` lists may differ) give each one a fair
share, ``ceil(its domains / those processes)``; a process above it hands one
domain over (snapshot, release) per lease period, choosing one that another
live process also serves, and that process takes it. A domain whose write is
refused by the fencing check is dropped at once: another process owns it. Any
other Redis error leaves the last write in doubt, so the domain is dropped and
recovered from the log again. At its first connection it warns when Redis keeps no
append-only file (Redis's default), which the guarantees of docs/deploy.md need.

Every Redis call has a socket timeout (``--redis-timeout-s``): a hung Redis
shows up as errors, never as a frozen process. ``--http HOST:PORT`` adds
``GET /health`` (503 with reasons when Redis is unreachable, a lease was not
renewed in time, or a domain lags by more than ``--max-lag-s``), ``GET
/metrics`` (Prometheus text) and ``GET /stats`` (JSON), served by aiohttp
(:mod:`router.durable.http`). ``--cluster`` talks to a Redis Cluster: each
domain's keys share one hash slot, so its scripts run on one node. The command
line is ``router/cli/serve.py`` (its ``--help`` works without redis-py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from typing import Any

import msgspec
from redis.exceptions import RedisError

from router.config import RouterConfig
from router.durable.domain import DomainOptions, DomainRunner
from router.durable.log import ACQUIRE, OWNER_SCRIPTS, Calls, Fenced, LogMoved, connect
from router.durable.wire import DomainKeys
from router.errors import InvalidSnapshot

__all__ = ["Server", "connect"]

log = logging.getLogger("router.durable")


class Server:
    """Own, serve and share out routing domains. See the module docstring."""

    def __init__(
        self,
        url: str,
        config: RouterConfig,
        domains: list[str],
        options: DomainOptions,
        *,
        owner: str | None = None,
        http: tuple[str, int] | None = None,
        max_lag_s: float = 10.0,
        redis_timeout_s: float = 2.0,
        cluster: bool = False,
        fence_alert_s: float | None = None,
    ) -> None:
        self.url = url
        self.config = config
        self.domains = domains
        self.options = options
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.http = http
        self.http_port: int | None = None
        self.max_lag_s = max_lag_s
        self.client = connect(url, timeout_s=redis_timeout_s, cluster=cluster)
        self.runners: dict[str, DomainRunner] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.cool_until: dict[str, float] = {}
        self.counters = {
            "acquired": 0,
            "takeovers": 0,
            "released": 0,
            "fenced_refusals": 0,
            "lost": 0,
            "failed": 0,
            "dead_letters": 0,
            "dead_inputs": 0,
        }
        self.recent_fence_at = -math.inf  # monotonic time of the last fenced refusal
        self.live = 1  # live processes serving at least one of our domains, us included
        self.peers_serving: dict[str, int] = {}  # domain -> other live processes serving it
        self.started = time.time()
        self._lease_s = options.lease_ms / 1000.0
        # how long /health reports a domain lost to another owner (default: one lease)
        self.fence_alert_s = self._lease_s if fence_alert_s is None else fence_alert_s
        self._last_release = 0.0
        self._redis_ok = True
        self._scripts_loaded = False
        self._aof_checked = False
        self._stop = asyncio.Event()
        p = options.prefix
        self.proc_key = f"{p}:proc:{self.owner}"
        self.procs_key = f"{p}:procs"

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Serve until :meth:`stop`; then hand every domain over and leave."""
        log.info("owner %s serving domains %s", self.owner, ",".join(self.domains))
        http_runner = await self._start_http() if self.http is not None else None
        beat = asyncio.create_task(self._heartbeat_loop())
        try:
            poll = max(0.05, self._lease_s / 10.0)
            while not self._stop.is_set():
                await self._acquire_free()
                self._rebalance()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), poll)
        finally:
            for runner in self.runners.values():
                runner.stopping = True
            if self.tasks:
                await asyncio.wait(list(self.tasks.values()), timeout=self._lease_s)
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await beat
            with contextlib.suppress(RedisError, OSError):
                await self.client.delete(self.proc_key)
                await self.client.zrem(self.procs_key, self.owner)
            if http_runner is not None:
                await http_runner.cleanup()
            await self.client.aclose()
            log.info("owner %s stopped", self.owner)

    # ------------------------------------------------------------------ domains

    async def _acquire_free(self) -> None:
        """Try every free domain's lease in one pipeline; serve the ones acquired."""
        now = time.monotonic()
        wanted = [
            d for d in self.domains if d not in self.runners and self.cool_until.get(d, 0.0) <= now
        ]
        if not wanted:
            return
        p = self.options.prefix
        try:
            if not self._scripts_loaded:
                for script in OWNER_SCRIPTS:
                    await script.load(self.client)
                self._scripts_loaded = True
                if not self._aof_checked:
                    await self._warn_without_aof()
            calls = Calls(self.client)
            for d in wanted:
                k = DomainKeys(d, p)
                calls.evalsha(
                    ACQUIRE.sha, 3, k.lease, k.fence, k.flow, self.owner, self.options.lease_ms,
                    self.options.max_unprocessed,
                )  # fmt: skip
            replies = await calls.execute()
        except (RedisError, OSError) as exc:
            self._scripts_loaded = False  # a restarted server has an empty script cache
            self._redis_down(exc)
            return
        self._redis_up()
        for domain, reply in zip(wanted, replies):
            if isinstance(reply, BaseException):
                self._scripts_loaded = False
                continue
            token = int(reply[0])
            if token <= 0:
                continue
            runner = DomainRunner(
                self.client,
                domain,
                self.owner,
                self.config,
                self.options,
                on_dead_letter=self._dead_lettered(domain),
            )
            runner.adopt(token)
            self.counters["acquired"] += 1
            if token > 1:
                self.counters["takeovers"] += 1
            self.runners[domain] = runner
            self.tasks[domain] = asyncio.create_task(self._serve(runner))

    async def _warn_without_aof(self) -> None:
        """Log a warning, once, when Redis keeps no append-only file (its default): a Redis
        restart would then lose what producers were told was added. Redis that refuses
        ``CONFIG GET`` (managed services often do) is not second-guessed."""
        self._aof_checked = True
        try:
            reply: Any = await self.client.config_get("appendonly")
        except RedisError:
            return
        # a cluster client answers one dict per node, a single Redis one dict
        nodes = [v for v in reply.values() if isinstance(v, dict)] or [reply]
        values = {v.decode() if isinstance(v, bytes) else v for n in nodes for v in n.values()}
        if "no" in values:
            log.warning(
                "redis keeps no append-only file (appendonly no): a Redis restart loses what "
                "was acknowledged; set appendonly yes (docs/deploy.md, section 4)"
            )

    async def _serve(self, runner: DomainRunner) -> None:
        domain = runner.domain
        t0 = time.perf_counter()
        try:
            n = await runner.recover()
            log.info(
                "acquired domain %s (token %d); recovered in %.1f ms: %d batches replayed, "
                "%d outputs to republish",
                domain,
                runner.token,
                (time.perf_counter() - t0) * 1000.0,
                n,
                len(runner.pending_out),
            )
            await runner.run()
            await runner.hand_over()
            self.counters["released"] += 1
            log.info("released domain %s (token %d)", domain, runner.token)
        except Fenced as exc:
            self.counters["fenced_refusals"] += 1
            self.recent_fence_at = time.monotonic()
            log.warning("%s; dropping the domain", exc)
            self.cool_until[domain] = time.monotonic() + self._lease_s
        except (RedisError, OSError, LogMoved) as exc:
            self.counters["lost"] += 1
            self._scripts_loaded = False  # Redis may have restarted with an empty script cache
            log.warning(
                "domain %s: %s: %s; last write in doubt, recovering from the log",
                domain,
                type(exc).__name__,
                exc,
            )
            self.cool_until[domain] = time.monotonic() + min(0.5, self._lease_s / 4)
        except InvalidSnapshot as exc:
            # the stored snapshot is not one this release restores: an operator's matter
            # (a downgrade, a foreign write), said in one line; leave the domain
            self.counters["failed"] += 1
            log.error("domain %s: %s; leaving the domain for 60 s", domain, exc)
            self.cool_until[domain] = time.monotonic() + 60.0
            with contextlib.suppress(RedisError, OSError):
                await runner.log.release()
        except Exception:
            # not the core (a failing batch is dead-lettered): a bug here, leave the domain
            self.counters["failed"] += 1
            log.exception("domain %s: serving failed; leaving the domain for 60 s", domain)
            self.cool_until[domain] = time.monotonic() + 60.0
            with contextlib.suppress(RedisError, OSError):
                await runner.log.release()
        finally:
            self.runners.pop(domain, None)
            self.tasks.pop(domain, None)

    def _dead_lettered(self, domain: str) -> Any:
        def report(batch_id: str, detail: str, refused: int, inputs: int) -> None:
            self.counters["dead_letters"] += 1
            self.counters["dead_inputs"] += refused
            log.error(
                "domain %s: batch %s crashed the core; dead-lettered: %d of its %d inputs "
                "refused (DeadLettered), the rest served; carrying on:\n%s",
                domain,
                batch_id,
                refused,
                inputs,
                detail.rstrip(),
            )

        return report

    def _rebalance(self) -> None:
        """Hand one domain over when this process holds more than its fair share."""
        if self.live <= 1 or not self.runners:
            return
        share = math.ceil(len(self.domains) / self.live)
        now = time.monotonic()
        if len(self.runners) <= share or now - self._last_release < 2 * self._lease_s:
            return
        # a peer's heartbeat outlives it by up to a lease: never hand back a domain just taken
        # over (its previous owner may be the "peer"), only one held for three leases
        settled = time.time() - 3 * self._lease_s
        movable = [
            d
            for d, r in self.runners.items()
            if self.peers_serving.get(d, 0) > 0 and r.stats.acquired_at < settled
        ]
        if not movable:
            return
        domain = max(movable, key=lambda d: self.runners[d].stats.acquired_at)
        runner = self.runners[domain]
        if runner.stopping:
            return
        log.info(
            "handing over domain %s: %d owned, fair share %d of %d domains over %d processes",
            domain,
            len(self.runners),
            share,
            len(self.domains),
            self.live,
        )
        runner.stopping = True
        self._last_release = now
        self.cool_until[domain] = now + 3 * self._lease_s

    def _redis_down(self, exc: BaseException) -> None:
        if self._redis_ok:
            log.warning("redis unavailable: %s: %s; retrying", type(exc).__name__, exc)
        self._redis_ok = False

    def _redis_up(self) -> None:
        if not self._redis_ok:
            log.info("redis available again")
        self._redis_ok = True

    # ------------------------------------------------------------------ health

    @property
    def redis_ok(self) -> bool:
        return self._redis_ok

    def health_problems(self) -> list[str]:
        """Why this process is unhealthy (empty when healthy); what ``/health`` reports."""
        problems: list[str] = []
        if not self._redis_ok:
            problems.append("redis unreachable")
        now = time.monotonic()
        if now - self.recent_fence_at < self.fence_alert_s:
            problems.append(
                f"lost a domain to another owner (fenced) within the last {self.fence_alert_s:g} s"
            )
        for d, r in sorted(self.runners.items()):
            since = now - r.renewed_at
            if since > self._lease_s:
                problems.append(f"domain {d}: lease not renewed for {since:.1f} s (lease lost)")
            lag = r.lag_s()
            if lag > self.max_lag_s:
                problems.append(f"domain {d}: {lag:.1f} s behind (max {self.max_lag_s:g} s)")
        return problems

    def health(self) -> dict[str, Any]:
        """What the heartbeat publishes and ``GET /stats`` returns."""
        for r in self.runners.values():
            r.stats.lag_s = round(r.lag_s(), 3)
        return {
            "owner": self.owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self.started,
            "heartbeat": time.time(),
            "redis_ok": self._redis_ok,
            "problems": self.health_problems(),
            "live_processes": self.live,
            "domains": sorted(self.runners),
            "counters": dict(self.counters),
            "stats": {d: msgspec.to_builtins(r.stats) for d, r in sorted(self.runners.items())},
        }

    async def _heartbeat_loop(self) -> None:
        """Publish :meth:`health` every third of a lease until :meth:`stop` or a cancel.

        A cancel that lands inside a Redis call may come out of the client as a
        ``RedisError`` (its socket timeout and the cancel race); taken for Redis being down,
        it would be swallowed and the loop would beat on, and :meth:`run`'s shutdown would
        wait for it forever. So an error while the task is being cancelled ends it, and the
        loop also stops when the server does."""
        every = self._lease_s / 3.0
        task = asyncio.current_task()
        while not self._stop.is_set():
            try:
                await self._heartbeat()
                self._redis_up()
            except (RedisError, OSError) as exc:
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from exc
                self._redis_down(exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), every)

    async def _heartbeat(self) -> None:
        for r in list(self.runners.values()):
            seen = await r.log.observe()
            r.stats.backlog = seen.backlog
            r.stats.outputs_pending = seen.outputs_pending
        h = self.health()
        now_ms = int(time.time() * 1000)
        ttl_ms = 3 * self.options.lease_ms
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(
            self.proc_key,
            mapping={
                "owner": self.owner,
                "pid": h["pid"],
                "host": h["host"],
                "heartbeat": repr(h["heartbeat"]),
                "domains": ",".join(h["domains"]),
                "serves": ",".join(self.domains),
                "fenced_refusals": self.counters["fenced_refusals"],
                "json": msgspec.json.encode(h),
            },
        )
        pipe.pexpire(self.proc_key, ttl_ms)
        pipe.zadd(self.procs_key, {self.owner: now_ms + self.options.lease_ms})
        pipe.zremrangebyscore(self.procs_key, "-inf", now_ms)
        pipe.zrange(self.procs_key, 0, -1)
        res = await pipe.execute()
        others = [o.decode() for o in res[-1] if o.decode() != self.owner]
        serves: list[Any] = []
        if others:
            pipe = self.client.pipeline(transaction=False)
            for o in others:
                pipe.hget(f"{self.options.prefix}:proc:{o}", "serves")
            serves = await pipe.execute()
        mine = set(self.domains)
        peers: dict[str, int] = {}
        live = 1
        for raw in serves:
            theirs = set(raw.decode().split(",")) & mine if raw else set()
            if theirs:
                live += 1
                for d in theirs:
                    peers[d] = peers.get(d, 0) + 1
        self.live = live
        self.peers_serving = peers

    async def _start_http(self) -> Any:
        from router.durable.http import start_http

        assert self.http is not None
        host, port = self.http
        runner, self.http_port = await start_http(self, host, port)
        log.info("http on %s:%d (GET /health, /metrics, /stats)", host, self.http_port)
        return runner
