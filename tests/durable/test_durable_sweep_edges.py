"""Directed tests from the mutation sweep of durable serving (BENCHMARKS: "Mutation sweep
of durable serving, control, the runner and the policies (mutB33)"): each names the
behaviour a surviving mutant broke."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from router import RouterConfig, decode_config
from router.cli.serve import _check_args, _parser, _UsageError, serve_main
from router.durable.domain import DomainOptions, DomainStats
from router.durable.log import Fenced, LogMoved
from router.durable.serve import Server
from router.durable.testing import RedisServer
from tests.durable.conftest import CONFIG
from tests.durable.harness import run

OK = ["r.toml", "--redis", "redis://x"]


def _check(*extra: str) -> tuple[list[str], tuple[str, int] | None]:
    return _check_args(_parser().parse_args([*OK, *extra]))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--domains", "a,b,a"], r"^--domains: a domain is listed twice$"),
        (["--lease-ms", "199"], r"^--lease-ms: must be in 200\.\.600000, got 199$"),
        (["--lease-ms", "600001"], r"^--lease-ms: must be in 200\.\.600000, got 600001$"),
        (["--batch", "0"], r"^--batch: must be in 1\.\.100000, got 0$"),
        (["--batch", "100001"], r"^--batch: must be in 1\.\.100000, got 100001$"),
        (["--batch-items", "1000001"], r"^--batch-items: must be in 1\.\.1000000, got 1000001$"),
        (["--snapshot-every-s", "0"], r"^--snapshot-every-s: must be > 0, got 0\.0$"),
        (["--snapshot-every-s", "inf"], r"^--snapshot-every-s: must be > 0, got inf$"),
        (["--snapshot-every-batches", "0"], r"^--snapshot-every-batches: must be >= 1, got 0$"),
        (["--snapshot-every-batches", "-3"], r"^--snapshot-every-batches: must be >= 1, got -3$"),
        (["--dedupe-window-s", "0"], r"^--dedupe-window-s: must be > 0, got 0\.0$"),
        (["--dedupe-window-s", "nan"], r"^--dedupe-window-s: must be > 0, got nan$"),
        (["--max-lag-s", "-1"], r"^--max-lag-s: must be > 0, got -1\.0$"),
        (["--max-lag-s", "inf"], r"^--max-lag-s: must be > 0, got inf$"),
        (["--redis-timeout-s", "inf"], r"^--redis-timeout-s: must be > 0, got inf$"),
        (["--redis-timeout-s", "0.5"], r"^--redis-timeout-s: must exceed the 0\.5 s XREAD"),
        (["--fence-alert-s", "0"], r"^--fence-alert-s: must be > 0, got 0\.0$"),
        (["--output-retention-s", "inf"], r"^--output-retention-s: must be >= 0 or -1, got inf$"),
        (
            ["--output-retention-s", "-0.5"],
            r"^--output-retention-s: must be >= 0 or -1, got -0\.5$",
        ),
        (["--prefix", ""], r"^--prefix: must be non-empty without braces, got ''$"),
        (["--prefix", "a{b"], r"^--prefix: must be non-empty without braces, got 'a\{b'$"),
        (["--prefix", "a}b"], r"^--prefix: must be non-empty without braces, got 'a\}b'$"),
        (["--http", "8080"], r"^--http: expected HOST:PORT, got '8080'$"),
        (["--http", "h:"], r"^--http: expected HOST:PORT, got 'h:'$"),
        (["--http", "h:x1"], r"^--http: expected HOST:PORT, got 'h:x1'$"),
        (["--http", "h:65536"], r"^--http: expected HOST:PORT, got 'h:65536'$"),
        (["--redis", "tcp://x"], r"^--redis: expected redis://, rediss:// or unix:// URL"),
    ],
)
def test_serve_refuses_each_bad_value_naming_its_flag(extra: list[str], message: str) -> None:
    with pytest.raises(_UsageError) as err:
        _check(*extra)
    assert re.match(message, str(err.value)), str(err.value)


def test_serve_accepts_the_bounds_of_each_range() -> None:
    """The edge values of each range are accepted, and parsed as given."""
    assert _check() == (["default"], None)
    assert _check("--domains", " a , b") == (["a", "b"], None)
    for extra in (
        ["--lease-ms", "200"],
        ["--lease-ms", "600000"],
        ["--batch", "1"],
        ["--batch", "100000"],
        ["--batch-items", "1"],
        ["--batch-items", "1000000"],
        ["--snapshot-every-batches", "1"],
        ["--output-retention-s", "0"],
        ["--output-retention-s", "-1"],
        ["--max-unprocessed", "0"],
        ["--redis-timeout-s", "0.51"],
        ["--redis", "rediss://x"],
        ["--redis", "unix:///tmp/r.sock"],
        ["--lease-ms", "300", "--fence-alert-s", "0.001"],
    ):
        _check(*extra)
    assert _check("--http", "127.0.0.1:0") == (["default"], ("127.0.0.1", 0))
    assert _check("--http", "[::1]:65535") == (["default"], ("[::1]", 65535))


def test_a_refused_argument_exits_with_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(CONFIG)
    assert serve_main([str(cfg), "--redis", "redis://x", "--http", "nope"]) == 2
    assert capsys.readouterr().err == "router serve: --http: expected HOST:PORT, got 'nope'\n"


# ---------------------------------------------------------------------- the server's own logic
# No Redis: the server's client connects at its first call, and these make none; each
# runner is a stand-in with the attributes the server reads.


class _Runner:
    def __init__(self, acquired_at: float, lag: float = 0.0, renewed_ago: float = 0.0) -> None:
        self.stats = DomainStats(acquired_at=acquired_at)
        self._lag = lag
        self.renewed_at = time.monotonic() - renewed_ago
        self.stopping = False

    def lag_s(self) -> float:
        return self._lag


def _server(domains: list[str], **kw: Any) -> Server:
    cfg: RouterConfig = decode_config(CONFIG.encode())
    return Server("redis://127.0.0.1:1", cfg, domains, DomainOptions(lease_ms=1000), **kw)


def _with_server(domains: list[str], body: Any, **kw: Any) -> None:
    async def main() -> None:
        server = _server(domains, **kw)
        try:
            body(server)
        finally:
            await server.client.aclose()

    asyncio.run(main())


def test_health_names_each_problem_past_its_bound_only() -> None:
    def body(s: Server) -> None:
        settled = time.time() - 100.0
        s.runners = {
            "a": _Runner(settled, lag=5.0),  # at the bound: fine
            "b": _Runner(settled, lag=5.0004, renewed_ago=0.5),  # past it
            "c": _Runner(settled, renewed_ago=30.0),  # the lease went unrenewed
        }  # type: ignore[dict-item]
        assert s.health_problems() == [
            "domain b: 5.0 s behind (max 5 s)",
            "domain c: lease not renewed for 30.0 s (lease lost)",
        ]
        h = s.health()
        assert h["problems"] == s.health_problems()
        assert h["domains"] == ["a", "b", "c"] and h["redis_ok"] is True
        assert [h["stats"][d]["lag_s"] for d in "abc"] == [5.0, 5.0, 0.0]  # rounded to ms
        assert h["live_processes"] == 1
        s.runners = {}
        s._redis_down(OSError("down"))
        assert not s.redis_ok and s.health_problems() == ["redis unreachable"]
        s._redis_up()
        assert s.redis_ok and s.health_problems() == []
        s.recent_fence_at = time.monotonic() - 1.0  # within fence_alert_s (2 s)
        assert s.health_problems() == [
            "lost a domain to another owner (fenced) within the last 2 s"
        ]
        s.recent_fence_at = time.monotonic() - 3.0
        assert s.health_problems() == []

    _with_server(["a", "b", "c"], body, max_lag_s=5.0, fence_alert_s=2.0)


def test_a_fenced_alert_lasts_one_lease_by_default() -> None:
    def body(s: Server) -> None:
        assert s.fence_alert_s == 1.0  # lease_ms=1000
        s.recent_fence_at = time.monotonic() - 0.5
        assert len(s.health_problems()) == 1

    _with_server(["a"], body)


def test_rebalance_hands_over_one_settled_shared_domain_above_the_fair_share() -> None:
    def body(s: Server) -> None:
        now = time.time()
        runners = {
            "a": _Runner(now - 100.0),
            "b": _Runner(now - 50.0),  # the newest settled one: handed over
            "c": _Runner(now - 1.0),  # just taken over: kept (its old owner may be the peer)
            "d": _Runner(now - 200.0),
        }
        s.runners = runners  # type: ignore[assignment]
        s.peers_serving = {"a": 1, "b": 1, "c": 1}  # nobody else serves d
        s.live = 1  # alone: nothing to share
        s._rebalance()
        assert not any(r.stopping for r in runners.values())
        s.live = 2  # fair share: ceil(4 / 2) = 2, and 4 are held
        before = time.monotonic()
        s._rebalance()
        assert [d for d, r in runners.items() if r.stopping] == ["b"]
        assert s.cool_until["b"] >= before + 3 * 1.0  # not taken back for three leases
        assert s.cool_until["b"] <= time.monotonic() + 3 * 1.0
        runners["b"].stopping = False
        s._rebalance()  # one per two leases at most
        assert not any(r.stopping for r in runners.values())
        s._last_release -= 2.0  # two leases later
        s._rebalance()
        assert [d for d, r in runners.items() if r.stopping] == ["b"]

    _with_server(["a", "b", "c", "d"], body)


def test_rebalance_keeps_the_fair_share_and_unshared_domains() -> None:
    def body(s: Server) -> None:
        old = time.time() - 100.0
        runners = {"a": _Runner(old), "b": _Runner(old), "c": _Runner(old)}
        s.runners = runners  # type: ignore[assignment]
        s.live = 2  # ceil(4 / 2) = 2 < 3 held
        s.peers_serving = {"a": 0}  # no peer serves b or c; a's count is zero
        s._rebalance()
        assert not any(r.stopping for r in runners.values())
        s.peers_serving = {"c": 1}
        s.live = 1
        s._rebalance()  # alone again: keep all
        assert not any(r.stopping for r in runners.values())
        s.live = 2
        del runners["a"]  # two held: the fair share exactly
        s._rebalance()
        assert not any(r.stopping for r in runners.values())
        runners["a"] = _Runner(old)
        runners["c"].stopping = True  # being handed over already: nothing more
        s._rebalance()
        assert [d for d, r in runners.items() if r.stopping] == ["c"]
        assert "c" not in s.cool_until

    _with_server(["a", "b", "c", "d"], body)


@pytest.mark.redis
def test_acquisitions_count_takeovers_of_a_domain_served_before(redis_server: RedisServer) -> None:
    """A domain whose fence was already raised (a previous owner) is a takeover; a new one
    is only an acquisition; one whose lease another owner holds is not taken."""

    async def body(c: Redis) -> None:
        await c.set("router:{t1}:fence", 1)  # a previous owner held t1
        await c.set("router:{t3}:lease", "someone", px=60_000)
        cfg: RouterConfig = decode_config(CONFIG.encode())
        server = Server(redis_server.url, cfg, ["t1", "t2", "t3"], DomainOptions(lease_ms=600))
        task = asyncio.create_task(server.run())
        try:
            deadline = time.monotonic() + 15.0
            while sorted(server.runners) != ["t1", "t2"]:
                assert time.monotonic() < deadline, "t1 and t2 were not acquired"
                await asyncio.sleep(0.05)
            assert server.runners["t1"].token == 2 and server.runners["t2"].token == 1
            assert (server.counters["acquired"], server.counters["takeovers"]) == (2, 1)
            assert await c.get("router:{t3}:lease") == b"someone"
        finally:
            server.stop()
            await task

    run(redis_server.url, body)


class _Seen:
    backlog = 7
    outputs_pending = {"agents": 3}  # noqa: RUF012


class _Log:
    async def observe(self) -> _Seen:
        return _Seen()


@pytest.mark.redis
def test_the_heartbeat_publishes_each_domain_and_counts_the_peers_sharing_ours(
    redis_server: RedisServer,
) -> None:
    """What a heartbeat publishes (each served domain's backlog and pending outputs from
    its log), and what it reads back: the live processes that serve some of our domains
    (a process serving none of them is not one) and, per domain, how many peers serve it."""

    async def body(c: Redis) -> None:
        cfg: RouterConfig = decode_config(CONFIG.encode())
        opts = DomainOptions(lease_ms=5000)
        me = Server(redis_server.url, cfg, ["a", "b", "c"], opts, owner="me")
        peer1 = Server(redis_server.url, cfg, ["b", "c", "x"], opts, owner="peer1")
        peer2 = Server(redis_server.url, cfg, ["c"], opts, owner="peer2")
        other = Server(redis_server.url, cfg, ["y"], opts, owner="other")
        servers = [me, peer1, peer2, other]
        try:
            held = _Runner(time.time())
            held.log = _Log()  # type: ignore[attr-defined]
            me.runners = {"a": held}  # type: ignore[dict-item]
            await me._heartbeat()
            assert (me.live, me.peers_serving) == (1, {})  # alone so far
            for s in servers[1:]:
                await s._heartbeat()
            await me._heartbeat()
            assert me.live == 3
            assert me.peers_serving == {"b": 1, "c": 2}
            assert (other.live, other.peers_serving) == (1, {})
            assert (await c.hget("router:proc:me", "serves")) == b"a,b,c"
            assert (await c.hget("router:proc:me", "domains")) == b"a"
            published = msgspec.json.decode(await c.hget("router:proc:me", "json"))
            assert published["stats"]["a"]["backlog"] == 7
            assert published["stats"]["a"]["outputs_pending"] == {"agents": 3}
            ttl = await c.pttl("router:proc:me")
            assert 10_000 < ttl <= 15_000  # three leases
            score = await c.zscore("router:procs", "me")
            assert score is not None and abs(score - (time.time() * 1000 + 5000)) < 2000
        finally:
            for s in servers:
                await s.client.aclose()

    run(redis_server.url, body)


class _Serving:
    """A domain runner stand-in for ``Server._serve``: ``recover`` or ``run`` raises
    ``error`` when given."""

    def __init__(self, domain: str, error: BaseException | None = None, at: str = "run") -> None:
        self.domain = domain
        self.token = 3
        self.pending_out: list[Any] = []
        self.error = error
        self.at = at
        self.calls: list[str] = []
        self.log = self

    async def _step(self, name: str) -> None:
        self.calls.append(name)
        if self.error is not None and name == self.at:
            raise self.error

    async def recover(self) -> int:
        await self._step("recover")
        return 4

    async def run(self) -> None:
        await self._step("run")

    async def hand_over(self) -> None:
        await self._step("hand_over")

    async def release(self) -> None:
        await self._step("release")


@pytest.mark.parametrize(
    ("error", "at", "counter", "cool_s", "calls"),
    [
        (None, "", "released", None, ["recover", "run", "hand_over"]),
        (Fenced("d", 3, "4"), "run", "fenced_refusals", 1.0, ["recover", "run"]),
        (RedisConnectionError("gone"), "run", "lost", 0.25, ["recover", "run"]),
        (LogMoved("moved"), "hand_over", "lost", 0.25, ["recover", "run", "hand_over"]),
        (OSError("reset"), "recover", "lost", 0.25, ["recover"]),
        (RuntimeError("a bug"), "run", "failed", 60.0, ["recover", "run", "release"]),
    ],
)
def test_serving_a_domain_ends_in_the_right_counter_and_cool_down(
    error: BaseException | None, at: str, counter: str, cool_s: float | None, calls: list[str]
) -> None:
    """How a domain's serving ends decides what is counted and how long the domain is left
    alone: a fenced write one lease (and /health reports it), a Redis error (the last write
    in doubt) a moment (min(0.5 s, a quarter lease)), a bug 60 s (the lease is released);
    a clean hand-over neither. The domain is dropped from the runners in every case."""

    async def main() -> None:
        s = _server(["d"])
        try:
            r = _Serving("d", error, at)
            s.runners["d"] = r  # type: ignore[assignment]
            s.tasks["d"] = asyncio.current_task()  # type: ignore[assignment]
            s._scripts_loaded = True
            before = time.monotonic()
            await s._serve(r)  # type: ignore[arg-type]
            after = time.monotonic()
            assert r.calls == calls
            assert {k: v for k, v in s.counters.items() if v} == {counter: 1}
            assert "d" not in s.runners and "d" not in s.tasks
            if cool_s is None:
                assert "d" not in s.cool_until
            else:
                assert before + cool_s <= s.cool_until["d"] <= after + cool_s
            assert s._scripts_loaded is (counter != "lost")  # Redis may have restarted
            fenced_now = before <= s.recent_fence_at <= after
            assert fenced_now is (counter == "fenced_refusals")
            assert bool(s.health_problems()) is (counter == "fenced_refusals")
        finally:
            await s.client.aclose()

    asyncio.run(main())


def test_redis_going_down_and_up_is_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    def body(s: Server) -> None:
        assert s.http_port is None
        logged: list[list[str]] = []
        with caplog.at_level(logging.INFO, logger="router.durable"):
            for call in (s._redis_down, s._redis_down, s._redis_up, s._redis_up):
                if call == s._redis_down:
                    call(OSError("refused"))
                else:
                    call()
                logged.append([r.getMessage() for r in caplog.records])
                caplog.clear()
        assert logged == [
            ["redis unavailable: OSError: refused; retrying"],
            [],
            ["redis available again"],
            [],
        ]

    _with_server(["a"], body)


def test_serve_option_defaults_are_the_documented_ones() -> None:
    a = _parser().parse_args(OK)
    assert {k: v for k, v in vars(a).items() if k not in ("config", "redis")} == {
        "domains": "default",
        "agents_from_config": False,
        "lease_ms": 5000,
        "batch": 1000,
        "batch_items": 5000,
        "snapshot_every_s": 5.0,
        "snapshot_every_batches": 10_000,
        "keep_log": False,
        "dedupe_window_s": 600.0,
        "output_retention_s": 600.0,
        "max_unprocessed": 100_000,
        "max_lag_s": 10.0,
        "fence_alert_s": None,
        "redis_timeout_s": 2.0,
        "cluster": False,
        "prefix": "router",
        "http": None,
        "no_uvloop": False,
        "log_level": "INFO",
    }


def test_a_dead_lettered_batch_is_counted_and_logged_with_its_domain(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def body(s: Server) -> None:
        report = s._dead_lettered("d2")
        with caplog.at_level(logging.ERROR, logger="router.durable"):
            report("b-1", "Traceback: boom\n", 1, 40)
            report("b-2", "again\n", 3, 3)
        assert s.counters["dead_letters"] == 2
        assert s.counters["dead_inputs"] == 4
        assert caplog.records[0].getMessage() == (
            "domain d2: batch b-1 crashed the core; dead-lettered: 1 of its 40 inputs refused "
            "(DeadLettered), the rest served; carrying on:\nTraceback: boom"
        )

    _with_server(["d2"], body)


@pytest.mark.redis
def test_a_flushed_script_cache_is_loaded_again_before_the_next_acquisition(
    redis_server: RedisServer,
) -> None:
    """Redis lost its scripts (a restart, ``SCRIPT FLUSH``) while the server kept polling a
    domain another owner holds: each lease try comes back NOSCRIPT, so the scripts are
    loaded again and the domain is taken once it is free."""

    async def body(c: Redis) -> None:
        await c.set("router:{s1}:lease", "someone", px=60_000)
        cfg: RouterConfig = decode_config(CONFIG.encode())
        server = Server(redis_server.url, cfg, ["s1"], DomainOptions(lease_ms=600))
        task = asyncio.create_task(server.run())
        try:
            deadline = time.monotonic() + 15.0
            while not server._scripts_loaded:
                assert time.monotonic() < deadline, "the scripts were never loaded"
                await asyncio.sleep(0.02)
            await c.script_flush()
            await asyncio.sleep(0.3)  # a few polls meet the empty cache
            await c.delete("router:{s1}:lease")
            while "s1" not in server.runners:
                assert time.monotonic() < deadline, "s1 was not acquired"
                await asyncio.sleep(0.05)
        finally:
            server.stop()
            await task

    run(redis_server.url, body)
