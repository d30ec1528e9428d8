"""``serve --http``: ``/health``, ``/metrics`` (Prometheus text) and ``/stats`` on aiohttp.

Theory of operation: the endpoints read the :class:`~router.durable.serve.Server`
state at request time and never touch Redis themselves, so a hung Redis cannot
hang them. ``/health`` answers 200 only when the server's own checks pass
(:meth:`~router.durable.serve.Server.health_problems`: Redis reachable, every
owned lease renewed within its lease time, no domain behind by more than
``--max-lag-s``), else 503 with the reasons. ``/metrics`` is rendered by
``prometheus_client`` from two collectors: :class:`DurableCollector` turns the
per-domain serving statistics into the ``router_durable_*`` families, and
:class:`DomainCores` exports each owned domain's core figures
(:class:`router.metrics.RouterCollector`, every series labelled ``domain``),
following the domains as they are acquired and lost (names in docs/metrics.md
and docs/deploy.md).
Needs the ``redis`` extra (aiohttp, prometheus-client). The server is seen through the
:class:`Server` protocol, so this module does not import ``serve``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import msgspec
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from router.durable.domain import BATCH_BUCKETS, DomainRunner
from router.metrics import RouterCollectors


class Server(Protocol):
    """What the endpoints read of a serving process (:class:`router.durable.serve.Server`)."""

    @property
    def owner(self) -> str: ...

    @property
    def runners(self) -> Mapping[str, DomainRunner]: ...

    @property
    def counters(self) -> Mapping[str, int]: ...

    @property
    def redis_ok(self) -> bool: ...

    def health_problems(self) -> list[str]: ...

    def health(self) -> dict[str, Any]: ...


__all__ = ["DomainCores", "DurableCollector", "start_http"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SERVER: web.AppKey[Server] = web.AppKey("server")
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry")


class DurableCollector(Collector):
    """Metric families of one serving process, computed at scrape time."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        srv = self.server
        runners = dict(sorted(srv.runners.items()))
        lag = GaugeMetricFamily(
            "router_durable_lag_seconds",
            "Age of the oldest request read and not yet logged, per owned domain",
            labels=["domain"],
        )
        backlog = GaugeMetricFamily(
            "router_durable_unprocessed_submissions",
            "Submissions added and not yet logged (bounded by --max-unprocessed)",
            labels=["domain"],
        )
        pending = GaugeMetricFamily(
            "router_durable_outputs_pending",
            "Output entries a consumer group has not acknowledged yet",
            labels=["domain", "group"],
        )
        batches = HistogramMetricFamily(
            "router_durable_batch_inputs",
            "Inputs per logged batch",
            labels=["domain"],
        )
        dead = CounterMetricFamily(
            "router_durable_dead_letters",
            "Logged batches that crashed the core and were dead-lettered",
            labels=["domain"],
        )
        dead_inputs = CounterMetricFamily(
            "router_durable_dead_inputs",
            "Inputs of dead-lettered batches refused as DeadLettered (the ones that crash the "
            "core, or every input of a batch dead whole)",
            labels=["domain"],
        )
        inputs = CounterMetricFamily(
            "router_durable_inputs", "Inputs logged and applied", labels=["domain"]
        )
        waiting = GaugeMetricFamily(
            "router_durable_waiting", "Inquiries waiting in the domain's core", labels=["domain"]
        )
        for d, r in runners.items():
            s = r.stats
            lag.add_metric([d], r.lag_s())
            backlog.add_metric([d], s.backlog)
            for group, n in sorted(s.outputs_pending.items()):
                pending.add_metric([d, group], n)
            cumulative = 0
            buckets = []
            for bound, count in zip(BATCH_BUCKETS, s.batch_hist):
                cumulative += count
                buckets.append((str(bound), cumulative))
            buckets.append(("+Inf", cumulative + s.batch_hist[-1]))
            batches.add_metric([d], buckets, sum_value=s.inputs)
            dead.add_metric([d], s.dead_letters)
            dead_inputs.add_metric([d], s.dead_inputs)
            inputs.add_metric([d], s.inputs)
            waiting.add_metric([d], s.waiting)
        c = srv.counters
        yield lag
        yield backlog
        yield pending
        yield batches
        yield dead
        yield dead_inputs
        yield inputs
        yield waiting
        yield CounterMetricFamily(
            "router_durable_takeovers",
            "Domains this process took over from a previous owner",
            value=c["takeovers"],
        )
        yield CounterMetricFamily(
            "router_durable_fenced_refusals",
            "Writes refused by the fencing check (the domain was lost to another owner)",
            value=c["fenced_refusals"],
        )
        yield CounterMetricFamily(
            "router_durable_domains_lost",
            "Domains dropped after a Redis error (recovered from the log again)",
            value=c["lost"],
        )
        yield GaugeMetricFamily(
            "router_durable_domains_owned", "Domains this process owns", value=len(runners)
        )
        yield GaugeMetricFamily(
            "router_durable_redis_up",
            "1 when the last Redis call succeeded",
            value=1.0 if srv.redis_ok else 0.0,
        )


class DomainCores(Collector):
    """The core's own figures of every domain the process owns, labelled ``domain``.

    At each scrape the members follow the server's runners: a domain acquired
    gets a :class:`~router.metrics.RouterCollector` over its runner, a domain
    lost or handed over is dropped (so two processes never export the same
    domain for long). No event monitor (it would restart at every takeover): every
    figure is the core's own, which a successor restores from the snapshot, so
    they continue across owners: current state, the counters, outcomes and
    arrivals per queue (``QueueStatistics.totals``), the answered-wait histogram
    (``router_wait_seconds``) and the sliding windows (service level, ASA,
    abandon rate). What only events tell (offer outcomes, moves) is not exported
    here.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cores = RouterCollectors("domain")
        self._runners: dict[str, DomainRunner] = {}

    def collect(self) -> Iterator[Metric]:
        runners = self.server.runners
        for d in [d for d, r in self._runners.items() if runners.get(d) is not r]:
            self.cores.discard(d)
            del self._runners[d]
        for d, r in runners.items():
            if d not in self._runners:
                self.cores.add(d, r)
                self._runners[d] = r
        yield from self.cores.collect()


async def _health(request: web.Request) -> web.Response:
    srv = request.app[SERVER]
    problems = srv.health_problems()
    body = {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "owner": srv.owner,
        "domains": sorted(srv.runners),
    }
    return web.Response(
        body=msgspec.json.encode(body),
        status=200 if not problems else 503,
        content_type="application/json",
    )


async def _metrics(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE})


async def _stats(request: web.Request) -> web.Response:
    srv = request.app[SERVER]
    return web.Response(body=msgspec.json.encode(srv.health()), content_type="application/json")


async def start_http(server: Server, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve the endpoints on ``host:port``; returns the runner (to clean up) and the port."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DurableCollector(server))
    registry.register(DomainCores(server))
    app = web.Application()
    app[SERVER] = server
    app[REGISTRY] = registry
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/stats", _stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])
