"""A 20x flood through random owner kills, a pause past the lease and Redis restarts.

Each round floods two domains at 20x (300 inquiries/s each, against agents
comfortable at 15/s) while a seeded chaos thread kills the owner of a random
domain with SIGKILL (and starts a replacement process), stops the owner of a
random domain with SIGSTOP until another process took it over, then resumes it,
and kills ``redis-server`` with SIGKILL and restarts it from its AOF. After the
last round everything drains and the streams are checked strictly: every
acknowledged inquiry has exactly one outcome, none was assigned twice, caps
held, and the outputs are byte for byte what a replay of the logs gives.

CI runs one round; ``ROUTER_SOAK_ROUNDS=5 pytest tests/durable/test_durable_soak.py``
is the long run (docs/deploy.md §6).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import redis

from router.durable.testing import Proc, RedisServer
from tests.durable.harness import agents, flood, load, owner_pid, serve, settle_and_check, wait_for

pytestmark = pytest.mark.redis

ROUNDS = int(os.environ.get("ROUTER_SOAK_ROUNDS", "1"))
DOMAINS = ["a", "b"]
PER_ROUND = 900  # per domain: 3 s at 300/s


def _holders(server: RedisServer) -> dict[str, int | None]:
    try:
        c = server.client()
        try:
            return {d: owner_pid(c.get(f"router:{{{d}}}:lease")) for d in DOMAINS}
        finally:
            c.close()
    except redis.RedisError:
        return {}


def test_flood_with_kills_pauses_and_redis_restarts_loses_nothing(
    redis_server: RedisServer, config_file: Path, tmp_path: Path, procs: list[Proc]
) -> None:
    url = redis_server.url
    rng = random.Random(12)
    servers = [serve(procs, tmp_path, f"serve{i}", url, config_file, "a,b") for i in range(2)]
    wait_for(lambda: all(_holders(redis_server).values()), "both domains owned")
    agents(procs, tmp_path, url, "a,b")
    log: list[str] = []
    errors: list[BaseException] = []
    added: dict[str, list[str]] = {d: [] for d in DOMAINS}

    def live_owner(domain: str) -> Proc:
        def find() -> Proc | None:
            pid = _holders(redis_server).get(domain)
            return next((p for p in servers if p.pid == pid and p.alive()), None)

        found = wait_for(find, f"a live owner of {domain}")
        assert isinstance(found, Proc)
        return found

    def chaos(round_no: int) -> None:
        try:
            time.sleep(0.6)
            d = rng.choice(DOMAINS)
            victim = live_owner(d)
            victim.signal(signal.SIGKILL)
            log.append(f"round {round_no}: kill -9 owner of {d} (pid {victim.pid})")
            servers.append(serve(procs, tmp_path, f"serve{len(servers)}", url, config_file, "a,b"))
            time.sleep(rng.uniform(0.3, 0.8))
            d = rng.choice(DOMAINS)
            paused = live_owner(d)
            paused.signal(signal.SIGSTOP)
            log.append(f"round {round_no}: SIGSTOP owner of {d} (pid {paused.pid})")
            try:
                wait_for(
                    lambda: _holders(redis_server).get(d) not in (None, paused.pid),
                    f"a takeover of {d}",
                )
            finally:
                paused.signal(signal.SIGCONT)
            time.sleep(rng.uniform(0.2, 0.5))
            redis_server.kill()  # SIGKILL: only what the AOF holds survives
            redis_server.start()
            log.append(f"round {round_no}: redis-server SIGKILL and restart from AOF")
        except BaseException as exc:
            errors.append(exc)

    for round_no in range(ROUNDS):
        thread = threading.Thread(target=chaos, args=(round_no,))
        thread.start()
        got = asyncio.run(flood(url, DOMAINS, PER_ROUND, 300.0, first=round_no * PER_ROUND))
        thread.join(60)
        assert not errors, errors
        for d in DOMAINS:
            added[d] += got[d]
    result = settle_and_check(url, added, load(config_file), procs)
    for d in DOMAINS:
        rep, audit = result[d]
        assert rep.problems == [], (d, log)
        assert audit.problems == [], (d, log)
        assert audit.inquiries == ROUNDS * PER_ROUND
        assert sum(audit.outcomes.values()) == ROUNDS * PER_ROUND
    assert len(log) == 3 * ROUNDS, log
