"""Failures of real processes against a real redis-server: kill -9, SIGSTOP, Redis restart."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import pytest

from router.durable.testing import Proc, RedisServer
from tests.durable.harness import (
    agents,
    flood,
    load,
    owner_pid,
    serve,
    settle_and_check,
    wait_for,
)

pytestmark = pytest.mark.redis


def _holders(server: RedisServer, domains: list[str]) -> dict[str, int | None]:
    c = server.client()
    try:
        return {d: owner_pid(c.get(f"router:{{{d}}}:lease")) for d in domains}
    finally:
        c.close()


def _assert_clean(result: dict[str, tuple[object, object]]) -> None:
    for d, (rep, audit) in result.items():
        assert rep.problems == [], d  # type: ignore[attr-defined]
        assert audit.problems == [], d  # type: ignore[attr-defined]


def test_kill_9_of_the_owner_mid_flood_loses_nothing(
    redis_server: RedisServer, config_file: Path, tmp_path: Path, procs: list[Proc]
) -> None:
    domains = ["a", "b"]
    p1 = serve(procs, tmp_path, "serve1", redis_server.url, config_file, "a,b")
    wait_for(lambda: all(_holders(redis_server, domains).values()), "p1 to own a and b")
    p2 = serve(procs, tmp_path, "serve2", redis_server.url, config_file, "a,b")
    # fair share: p1 hands one domain over to p2
    wait_for(
        lambda: set(_holders(redis_server, domains).values()) == {p1.pid, p2.pid},
        "one domain per process",
    )
    agents(procs, tmp_path, redis_server.url, "a,b")
    victim = _holders(redis_server, domains)["a"]
    dead, survivor = (p1, p2) if victim == p1.pid else (p2, p1)

    # 20x flood: 15 inquiries/s per domain is a normal day for these agents; 300/s arrive for
    # 4 s, and the owner of "a" dies 1.2 s in, so its successor takes over mid-flood
    added = asyncio.run(
        flood(
            redis_server.url,
            domains,
            1200,
            300.0,
            midway=lambda: dead.signal(signal.SIGKILL),
            midway_at=0.3,
        )
    )
    wait_for(lambda: not dead.alive(), "the owner to die")
    wait_for(
        lambda: set(_holders(redis_server, domains).values()) == {survivor.pid},
        "the survivor to own both domains",
    )
    result = settle_and_check(redis_server.url, added, load(config_file), procs)
    _assert_clean(result)  # exactly one outcome each, none assigned twice, caps held
    for d in domains:
        audit = result[d][1]
        assert audit.inquiries == 1200
        assert sum(audit.outcomes.values()) == 1200
        assert audit.assigned > 0
    tokens = {t for _, t, _ in result["a"][0].batches}
    assert len(tokens) >= 2  # the log of "a" was written by two owners
    log = survivor.output()
    assert re.search(r"acquired domain a \(token \d+\); recovered in [\d.]+ ms: \d+ batches", log)
    assert "Traceback" not in log


def test_paused_owner_cannot_write_after_takeover(
    redis_server: RedisServer, config_file: Path, tmp_path: Path, procs: list[Proc]
) -> None:
    pa = serve(procs, tmp_path, "serveA", redis_server.url, config_file, "a")
    wait_for(lambda: _holders(redis_server, ["a"])["a"] == pa.pid, "A to own a")
    pb = serve(procs, tmp_path, "serveB", redis_server.url, config_file, "a")
    agents(procs, tmp_path, redis_server.url, "a")
    c = redis_server.client()
    owner_a = c.get("router:{a}:lease").decode()

    def pause_a() -> None:
        pa.signal(signal.SIGSTOP)
        wait_for(lambda: _holders(redis_server, ["a"])["a"] == pb.pid, "B to take a over")
        pa.signal(signal.SIGCONT)  # A wakes up believing it still owns a

    added = asyncio.run(flood(redis_server.url, ["a"], 1200, 300.0, midway=pause_a, midway_at=0.3))
    # A wakes into one of two races, both safe: its next write is refused by the fence, or a
    # Redis call it had in flight when stopped times out first (its timer fires on waking),
    # so it drops the domain as in doubt and finds the lease taken. Which one is the event
    # loop's choice; on a loaded machine both happen. Either way A writes nothing more.
    fenced = re.compile(
        r"domain 'a': write refused by fencing \(our token 1, current token 2\); "
        r"dropping the domain"
    )
    in_doubt = re.compile(r"domain a: \w+: .*; last write in doubt, recovering from the log")
    wait_for(
        lambda: fenced.search(pa.output()) or in_doubt.search(pa.output()),
        "A to drop the domain (a refused write, or a call in doubt)",
    )
    if fenced.search(pa.output()):
        wait_for(
            lambda: int(c.hget(f"router:proc:{owner_a}", "fenced_refusals") or 0) >= 1,
            "A's health hash to count the refusal",
        )
    assert _holders(redis_server, ["a"])["a"] == pb.pid  # A never took it back
    result = settle_and_check(redis_server.url, added, load(config_file), procs)
    _assert_clean(result)  # includes: tokens never go down along either stream
    tokens = [t for _, t, _ in result["a"][0].batches]
    assert tokens[0] == 1 and tokens[-1] == 2 and tokens == sorted(tokens)
    c.close()


def test_redis_restart_with_aof_loses_no_acknowledged_inquiry(
    redis_server: RedisServer, config_file: Path, tmp_path: Path, procs: list[Proc]
) -> None:
    p = serve(procs, tmp_path, "serve", redis_server.url, config_file, "a")
    wait_for(lambda: _holders(redis_server, ["a"])["a"] == p.pid, "the process to own a")
    agents(procs, tmp_path, redis_server.url, "a")

    def restart() -> None:
        redis_server.kill()  # SIGKILL: only what the AOF holds survives
        redis_server.start()

    added = asyncio.run(flood(redis_server.url, ["a"], 1000, 250.0, midway=restart))
    result = settle_and_check(redis_server.url, added, load(config_file), procs)
    _assert_clean(result)
    assert result["a"][1].inquiries == 1000
    log = p.output()
    assert re.search(r"domain a: \w+: .*; last write in doubt, recovering from the log", log)
    assert len(re.findall(r"acquired domain a \(token (\d+)\)", log)) >= 2
