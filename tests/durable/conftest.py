"""Fixtures for the Redis durability tests: a private redis-server, subprocess cleanup.

Each test gets its own ``redis-server`` on a free 127.0.0.1 port with its own
data directory, AOF on (``appendfsync always``) and RDB off. Without the
``redis-server`` binary the tests skip, except under CI (``CI`` set), where
they fail: CI installs it (``.ci/run``). Fixtures kill their processes at teardown; a run
stopped without one (SIGTERM, SIGKILL) takes them with it (``router/durable/testing.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from router.durable.testing import Proc, RedisClusterServers, RedisServer, redis_server_path

CONFIG = """
[routing]
mode = "offer"
offer_timeout_s = 2.0

[[queues]]
name = "orders"
channel = "chat"
requires = { orders = 1 }

[[queues]]
name = "refunds"
channel = "voice"
requires = { refund = 1 }

[[agents]]
name = "chat"
count = 6
skills = { orders = 2, refund = 1 }
capacity = { chat = 3, voice = 1 }

[[agents]]
name = "voice"
count = 3
skills = { refund = 3 }
capacity = { voice = 1 }
"""


def need_redis() -> None:
    if redis_server_path() is None or shutil.which("redis-cli") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, and CI is set (.ci/run installs it)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    need_redis()
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """Three cluster-enabled masters on loopback, joined by ``redis-cli --cluster create``."""
    need_redis()
    cluster = RedisClusterServers(tmp_path / "cluster", 3)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.kill()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "router.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Subprocesses to kill at teardown, whatever happened."""
    started: list[Proc] = []
    try:
        yield started
    finally:
        for p in started:
            p.kill()
