"""``serve --http``: /health tells the truth about Redis, leases and lag; /metrics is Prometheus."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from router import Inquiry, decode_config
from router.durable import DomainOptions, Producer
from router.durable.serve import Server
from router.durable.testing import RedisServer
from tests.durable.conftest import CONFIG
from tests.durable.harness import run

pytestmark = pytest.mark.redis


async def _sorted_runners(server: Server) -> list[str]:
    return sorted(server.runners)


async def _until(pred: Callable[[], Awaitable[Any]], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = await pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def test_health_and_metrics_follow_redis_leases_and_lag(redis_server: RedisServer) -> None:
    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=600, agents_from_config=True)
        server = Server(
            redis_server.url,
            cfg,
            ["h1", "h2"],
            opts,
            http=("127.0.0.1", 0),
            redis_timeout_s=1.0,
            max_lag_s=5.0,
            fence_alert_s=60.0,  # a loaded machine's polls cannot miss the report
        )
        task = asyncio.create_task(server.run())
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            await _until(
                lambda: c.hget(server.proc_key, "domains"), "the heartbeat to list domains"
            )
            await _until(
                async_eq(lambda: c.hget(server.proc_key, "domains"), b"h1,h2"), "both domains"
            )
            base = f"http://127.0.0.1:{server.http_port}"

            async def health() -> tuple[int, dict[str, Any]]:
                async with http.get(f"{base}/health") as resp:
                    return resp.status, msgspec.json.decode(await resp.read())

            assert await health() == (
                200,
                {"status": "ok", "problems": [], "owner": server.owner, "domains": ["h1", "h2"]},
            )
            p = Producer(c, "h1")
            await p.create_group("agents")
            await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(30)])
            await _until(
                lambda: c.xlen("router:{h1}:output"), "outputs"
            )  # the group now lags behind them
            await asyncio.sleep(0.5)  # a heartbeat observes the group
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = await resp.text()
            families = {f.name: f for f in text_string_to_metric_families(text)}
            for name in (
                "router_durable_lag_seconds",
                "router_durable_takeovers",
                "router_durable_fenced_refusals",
                "router_durable_batch_inputs",
                "router_durable_dead_letters",
                "router_durable_dead_inputs",
                "router_durable_outputs_pending",
                "router_durable_unprocessed_submissions",
            ):
                assert name in families, name
            lag = {
                s.labels["domain"]: s.value for s in families["router_durable_lag_seconds"].samples
            }
            assert set(lag) == {"h1", "h2"}
            assert "router_durable_takeovers_total 0.0" in text
            assert "router_durable_fenced_refusals_total 0.0" in text
            inputs = [
                s.value
                for s in families["router_durable_batch_inputs"].samples
                if s.name.endswith("_sum") and s.labels["domain"] == "h1"
            ]
            assert inputs and inputs[0] >= 30 + 9  # 30 submissions and 9 logins
            pending = [
                s for s in families["router_durable_outputs_pending"].samples if s.labels["group"]
            ]
            assert [(s.labels["domain"], s.labels["group"]) for s in pending] == [("h1", "agents")]
            assert pending[0].value >= 1
            # each owned domain's core figures, labelled by domain (router.metrics)
            core = {
                (s.labels["domain"], s.labels["counter"]): s.value
                for s in families["router_core_events"].samples
            }
            assert core[("h1", "submitted")] == 30 and core[("h2", "submitted")] == 0
            logged_in = {
                s.labels["domain"]: s.value for s in families["router_agents_logged_in"].samples
            }
            assert logged_in == {"h1": 9.0, "h2": 9.0}
            waiting = {
                (s.labels["domain"], s.labels["queue"])
                for s in families["router_inquiries_waiting"].samples
            }
            assert waiting == {(d, q) for d in ("h1", "h2") for q in ("orders", "refunds")}
            assert text.count("# TYPE router_inquiries_waiting gauge") == 1

            # a hung Redis: calls time out, /health fails (and still answers), then recovers
            assert redis_server.proc is not None
            redis_server.proc.send_signal(signal.SIGSTOP)
            t0 = time.monotonic()
            try:

                async def redis_down() -> bool:
                    status, h = await health()
                    return status == 503 and "redis unreachable" in h["problems"]

                await _until(redis_down, "/health to report Redis unreachable", timeout=10.0)
                assert time.monotonic() - t0 < 10.0
            finally:
                redis_server.proc.send_signal(signal.SIGCONT)
            await _until(
                async_eq(lambda: health_status(health), 200), "/health to recover", timeout=20
            )

            # a lease lost to another owner, stolen while h2 is served (after the hung Redis
            # a domain may still be cooling down: then it is merely not acquired, not fenced)
            await _until(
                async_eq(lambda: _sorted_runners(server), ["h1", "h2"]),
                "both domains served again",
                timeout=30,
            )
            await c.set("router:{h2}:lease", "thief", px=60_000)
            await c.incr("router:{h2}:fence")

            async def fenced() -> bool:
                status, h = await health()
                return status == 503 and any("fenced" in x for x in h["problems"])

            await _until(fenced, "/health to report the lost lease")
            assert server.counters["fenced_refusals"] == 1

            async def metric_domains() -> set[str]:
                async with http.get(f"{base}/metrics") as resp:
                    text = await resp.text()
                fams = {f.name: f for f in text_string_to_metric_families(text)}
                return {s.labels["domain"] for s in fams["router_agents_logged_in"].samples}

            assert await metric_domains() == {"h1"}  # a lost domain's core figures go with it

            # lag past the bound: a request read long ago and not yet logged
            runner = server.runners["h1"]
            runner._requests.insert(0, ("1000-0", [], [], 0))  # white-box: 1 s after the epoch
            problems = server.health_problems()
            assert any(re.match(r"^domain h1: \d+\.\d s behind \(max 5 s\)$", x) for x in problems)
            runner._requests.pop(0)
        finally:
            await http.close()
            server.stop()
            await task
        assert not await c.exists("router:{h1}:lease")  # handed over on the way out
        assert not await c.exists(server.proc_key)

    run(redis_server.url, body)


def test_metrics_carry_outcomes_and_service_level_per_domain(redis_server: RedisServer) -> None:
    """No event monitor in ``serve``: outcomes, arrivals, the wait histogram and the windows
    come from each domain's core (``QueueStatistics.totals``, ``wait_histogram`` and
    ``windows``), and a reset sent over the
    durable wire restarts the since-reset figures only."""

    async def body(c: Redis) -> None:
        cfg = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=600, agents_from_config=True)
        server = Server(redis_server.url, cfg, ["h1", "h2"], opts, http=("127.0.0.1", 0))
        task = asyncio.create_task(server.run())
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            await _until(
                async_eq(lambda: c.hget(server.proc_key, "domains"), b"h1,h2"), "both domains"
            )
            base = f"http://127.0.0.1:{server.http_port}"
            p = Producer(c, "h1")
            await p.submit_many([Inquiry(id=f"q{i}", queue="orders") for i in range(30)])

            # outcomes, arrivals and service level per domain, from the core's statistics
            async def scrape() -> dict[str, Any]:
                async with http.get(f"{base}/metrics") as resp:
                    text = await resp.text()
                return {f.name: f for f in text_string_to_metric_families(text)}

            def value(fams: dict[str, Any], name: str, **labels: str) -> float | None:
                for s in fams[name].samples:
                    if s.name in (name, name + "_total") and all(
                        s.labels.get(k) == v for k, v in labels.items()
                    ):
                        return float(s.value)
                return None

            await p.withdraw("q0")  # ended unanswered: abandoned, service level 0

            async def withdrawn() -> dict[str, Any] | None:
                fams = await scrape()
                n = value(fams, "router_outcomes", domain="h1", queue="orders", outcome="abandoned")
                return fams if n == 1 else None

            fams = await _until(withdrawn, "the withdrawal in h1's router_outcomes_total")
            assert value(fams, "router_offered", domain="h1", queue="orders") == 30
            assert value(fams, "router_offered", domain="h2", queue="orders") == 0
            for window in ("5m", "since_reset"):
                sl = value(fams, "router_service_level", domain="h1", queue="orders", window=window)
                assert sl == 0.0, window
            assert value(fams, "router_service_level", domain="h2", queue="orders") is None
            # the core's wait histogram per domain (nothing answered yet: counts of zero)
            counts = {
                s.labels["domain"]: s.value
                for s in fams["router_wait_seconds"].samples
                if s.name == "router_wait_seconds_count" and s.labels["queue"] == "orders"
            }
            assert counts == {"h1": 0.0, "h2": 0.0}
            await p.reset_statistics()  # through the durable wire: since reset starts over

            async def was_reset() -> dict[str, Any] | None:
                fams = await scrape()
                sl = value(fams, "router_service_level", domain="h1", window="since_reset")
                return fams if sl is None else None

            fams = await _until(was_reset, "the reset to reach h1's core")
            assert value(fams, "router_service_level", domain="h1", window="5m") == 0.0
            assert value(fams, "router_outcomes", domain="h1", outcome="abandoned") == 1  # total

        finally:
            await http.close()
            server.stop()
            await task

    run(redis_server.url, body)


def async_eq(fn: Callable[[], Awaitable[Any]], want: Any) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await fn() == want)

    return check


async def health_status(health: Callable[[], Awaitable[tuple[int, Any]]]) -> int:
    try:
        return (await health())[0]
    except (TimeoutError, aiohttp.ClientError):
        return 0
