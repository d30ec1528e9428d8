"""Domains spread over a three-master Redis Cluster keep every guarantee, per domain."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from router.durable.testing import Proc, RedisClusterServers
from tests.durable.harness import agents, flood, load, owner_pid, serve, settle_and_check, wait_for

pytestmark = pytest.mark.redis


def _spread(cluster: RedisClusterServers) -> list[str]:
    """One domain per node: the hash tag ``{domain}`` decides the slot."""
    by_node: dict[int, str] = {}
    for name in (f"shop{i}" for i in range(100)):
        by_node.setdefault(cluster.node_of(f"router:{{{name}}}:lease"), name)
        if len(by_node) == 3:
            return [by_node[i] for i in range(3)]
    raise AssertionError("no three domains on three nodes")


def _holder(cluster: RedisClusterServers, domain: str) -> int | None:
    key = f"router:{{{domain}}}:lease"
    c = cluster.nodes[cluster.node_of(key)].client()
    try:
        return owner_pid(c.get(key))
    finally:
        c.close()


def test_kill_9_over_a_three_master_cluster_loses_nothing(
    redis_cluster: RedisClusterServers, config_file: Path, tmp_path: Path, procs: list[Proc]
) -> None:
    url = redis_cluster.url
    domains = _spread(redis_cluster)
    names = ",".join(domains)
    p1 = serve(procs, tmp_path, "serve1", url, config_file, names, "--cluster")
    wait_for(lambda: all(_holder(redis_cluster, d) == p1.pid for d in domains), "p1 to own all")
    p2 = serve(procs, tmp_path, "serve2", url, config_file, names, "--cluster")
    agents(procs, tmp_path, url, names, "--cluster")
    wait_for(lambda: _holder(redis_cluster, domains[0]) in (p1.pid, p2.pid), "an owner")
    dead = p1 if _holder(redis_cluster, domains[0]) == p1.pid else p2
    added = asyncio.run(
        flood(
            url,
            domains,
            600,
            200.0,
            midway=lambda: dead.signal(signal.SIGKILL),
            midway_at=0.4,
            cluster=True,
        )
    )
    result = settle_and_check(url, added, load(config_file), procs, cluster=True)
    for d in domains:
        rep, audit = result[d]
        assert rep.problems == [], d
        assert audit.problems == [], d
        assert audit.inquiries == 600 and sum(audit.outcomes.values()) == 600
    tokens = {t for _, t, _ in result[domains[0]][0].batches}
    assert len(tokens) >= 2  # taken over from the killed owner
    # each domain's keys live on its own node
    assert sorted(redis_cluster.node_of(f"router:{{{d}}}:input") for d in domains) == [0, 1, 2]
