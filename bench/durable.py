"""Measure serving over Redis on loopback: end-to-end rate, batch sizes, takeover time.

Theory of operation: each run starts a private ``redis-server`` (AOF on), one
or more ``python -m router serve`` processes, and one load driver process per
domain (``drive``): the driver submits ``n`` inquiries as fast as Redis takes
them (idempotent ``submit_many`` calls of ``chunk``) while following the
domain's outputs, accepting every offer and completing every assignment at
once. An inquiry counts when its ``Completed`` event is read back, so the rate
covers three inputs per inquiry through Redis (submit, accept, complete) and
every write-ahead and output append. ``takeover`` kills the owner of a domain
under load with SIGKILL and reports the time until the survivor holds the
lease and until its first output. Every run ends with the strict replay audit.

``python -m bench.durable throughput [--domains 1] [--processes 1] ...``
``python -m bench.durable takeover [--lease-ms 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from router.config import RouterConfig, decode_config
from router.durable.audit import audit_events, verify_replay
from router.durable.log import SUBMIT, DomainFull, Producer, connect
from router.durable.testing import Proc, RedisClusterServers, RedisServer
from router.durable.wire import DomainKeys, Request, decode_batch, encode_request
from router.events import Assigned, Completed, Offered
from router.inputs import Accept, Complete, Submit
from router.model import Inquiry

__all__ = ["main"]

CONFIG = """
[routing]
mode = "offer"
offer_timeout_s = 30

[[queues]]
name = "orders"
channel = "chat"
requires = { orders = 1 }

[[queues]]
name = "refunds"
channel = "chat"
requires = { refund = 1 }

[[agents]]
name = "team"
count = 200
skills = { orders = 3, refund = 2 }
capacity = { chat = 20 }
"""


# ---------------------------------------------------------------------- the driver


def _answers(entries: list[Any]) -> tuple[list[Any], int]:
    """What instant agents send back for output entries (accept offers, complete work)."""
    answers: list[Any] = []
    completed = 0
    for e in entries:
        for ev in e.events:
            if isinstance(ev, Offered):
                answers.append(Accept(inquiry_id=ev.inquiry_id, agent_id=ev.agent_id))
            elif isinstance(ev, Assigned):
                answers.append(Complete(inquiry_id=ev.inquiry_id))
            elif isinstance(ev, Completed):
                completed += 1
    return answers, completed


async def drive(
    url: str, domain: str, n: int, chunk: int, concurrency: int, cluster: bool = False
) -> dict[str, Any]:
    """Submit ``n`` inquiries and play the agents until all are completed.

    Submissions are ``submit_many`` calls of ``chunk`` inquiries, ``concurrency``
    of them in flight at once (like many backend requests submitting at once).
    """
    client = _client(url, cluster)
    producer = Producer(client, domain)
    done = asyncio.Event()
    completed = 0
    t_first = time.time()

    starts = iter(range(0, n, chunk))

    async def submit() -> None:
        for start in starts:
            batch = [
                Inquiry(id=f"{domain}-{i}", queue="orders" if i % 2 else "refunds")
                for i in range(start, min(n, start + chunk))
            ]
            await producer.submit_many(batch)

    async def agents() -> None:
        nonlocal completed
        after = "0-0"
        while completed < n:
            entries = await producer.read_outputs(after, count=5000, block_ms=100)
            if entries:
                after = entries[-1].id
            answers, done_now = _answers(entries)
            completed += done_now
            if answers:
                await producer.send_many(answers)
        done.set()

    await asyncio.gather(agents(), *(submit() for _ in range(concurrency)))
    t_last = time.time()
    await client.aclose()
    cpu = time.process_time()
    return {"domain": domain, "n": n, "first": t_first, "last": t_last, "cpu_s": cpu}


# ---------------------------------------------------------------------- runs


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _client(url: str, cluster: bool) -> Any:
    return connect(url, timeout_s=10.0, cluster=cluster)


def _redis(workdir: Path, fsync: str = "always", cluster: bool = False) -> Any:
    """A started private Redis: one server, or a three-master cluster."""
    server: Any = (
        RedisClusterServers(workdir / "cluster", 3, fsync=fsync)
        if cluster
        else RedisServer(workdir / "redis", fsync=fsync)
    )
    server.start()
    return server


def _redis_cpu(server: Any) -> float:
    total = 0.0
    for node in getattr(server, "nodes", [server]):
        c = node.client()
        try:
            info: Any = c.info("cpu")
            total += float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
        finally:
            c.close()
    return total


def _serve_args(
    url: str, cfg: Path, domains: str, batch: int, lease_ms: int, cluster: bool = False
) -> list[str]:
    return [
        "router", "serve", str(cfg), "--redis", url, "--domains", domains,
        "--agents-from-config", "--batch", str(batch), "--lease-ms", str(lease_ms),
        "--keep-log", "--log-level", "WARNING", *(["--cluster"] if cluster else []),
    ]  # fmt: skip


async def _audit(
    url: str, domains: list[str], config: RouterConfig, n: int, cluster: bool = False
) -> list[str]:
    client = _client(url, cluster)
    problems: list[str] = []
    try:
        for d in domains:
            rep = await verify_replay(client, d, strict=True)
            ids = [f"{d}-{i}" for i in range(n)]
            problems += rep.problems + audit_events(rep, config, ids).problems
    finally:
        await client.aclose()
    return problems


async def _wait_owned(
    url: str, domains: list[str], timeout: float = 30.0, cluster: bool = False
) -> None:
    client = _client(url, cluster)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            held = [await client.get(f"router:{{{d}}}:lease") for d in domains]
            if all(held):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the domains were never all owned")
    finally:
        await client.aclose()


async def _proc_stats(url: str, cluster: bool = False) -> list[dict[str, Any]]:
    client = _client(url, cluster)
    try:
        out = []
        for key in await client.zrange("router:procs", 0, -1):
            key = b"router:proc:" + key
            raw = await client.hget(key, "json")
            if raw:
                out.append(json.loads(raw))
        return out
    finally:
        await client.aclose()


def throughput(
    n: int,
    domains: int,
    processes: int,
    batch: int,
    chunk: int,
    concurrency: int,
    fsync: str,
    workdir: Path,
    cluster: bool = False,
) -> dict[str, Any]:
    """One run: ``processes`` routers sharing ``domains`` domains, ``n`` inquiries each."""
    names = [f"d{i}" for i in range(domains)]
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    config: RouterConfig = decode_config(CONFIG.encode())
    redis = _redis(workdir, fsync, cluster)
    procs: list[Proc] = []
    try:
        per = [names[i::processes] for i in range(processes)]
        for i, ds in enumerate(per):
            args = _serve_args(redis.url, cfg_path, ",".join(ds), batch, 5000, cluster)
            procs.append(Proc(args, workdir / f"serve{i}.log"))
        asyncio.run(_wait_owned(redis.url, names, cluster=cluster))
        cpu0 = {p.pid: _cpu_s(p.pid) for p in procs}
        redis_cpu0 = _redis_cpu(redis)
        drivers = [
            Proc(
                ["bench.durable", "drive", "--redis", redis.url, "--domain", d,
                 "-n", str(n), "--chunk", str(chunk), "--concurrency", str(concurrency),
                 *(["--cluster"] if cluster else [])],
                workdir / f"drive-{d}.log",
            )
            for d in names
        ]  # fmt: skip
        procs += drivers
        for d in drivers:
            d.proc.wait(600)
        results = [json.loads(d.output().strip().splitlines()[-1]) for d in drivers]
        cpu = {p.pid: _cpu_s(p.pid) - cpu0[p.pid] for p in procs if p.pid in cpu0}
        stats = asyncio.run(_proc_stats(redis.url, cluster))
        redis_cpu = _redis_cpu(redis) - redis_cpu0
        wall = max(r["last"] for r in results) - min(r["first"] for r in results)
        for p in procs:
            p.terminate()
        problems = asyncio.run(_audit(redis.url, names, config, n, cluster))
    finally:
        for p in procs:
            p.kill()
        redis.kill()
    batches = sum(s["stats"][d]["batches"] for s in stats for d in s["stats"])
    inputs = sum(s["stats"][d]["inputs"] for s in stats for d in s["stats"])
    return {
        "domains": domains,
        "processes": processes,
        "max_batch": batch,
        "chunk": chunk,
        "concurrency": concurrency,
        "fsync": fsync,
        "cluster": cluster,
        "inquiries": n * domains,
        "wall_s": round(wall, 3),
        "inquiries_per_s": round(n * domains / wall, 1),
        "inputs_per_batch": round(inputs / batches, 1) if batches else 0.0,
        "largest_batch": max(
            (s["stats"][d]["max_batch"] for s in stats for d in s["stats"]), default=0
        ),
        "router_cpu_s": [round(c, 2) for c in cpu.values()],
        "driver_cpu_s": [round(r["cpu_s"], 2) for r in results],
        "redis_cpu_s": round(redis_cpu, 2),
        "audit_problems": problems[:5],
    }


async def _fill(url: str, domains: list[str], n: int) -> dict[str, str]:
    """Submit ``n`` single-inquiry requests per domain (pipelined); return the last ids."""
    client = Redis.from_url(url)
    last: dict[str, str] = {}
    try:
        await SUBMIT.load(client)
        for d in domains:
            keys = DomainKeys(d)
            for start in range(0, n, 1000):
                pipe = client.pipeline(transaction=False)
                for i in range(start, min(n, start + 1000)):
                    iq = Inquiry(id=f"{d}-{i}", queue="orders" if i % 2 else "refunds")
                    payload = encode_request(Request(input=Submit(inquiry=iq), key=iq.id))
                    pipe.evalsha(
                        SUBMIT.sha, 3, keys.requests, keys.idem, keys.flow, 0, iq.id, payload
                    )
                res = await pipe.execute()
                last[d] = res[-1][1].decode()
    finally:
        await client.aclose()
    return last


async def _created(url: str, domains: list[str]) -> None:
    """Return as soon as every domain logged its first batch (polls every 2 ms)."""
    client = Redis.from_url(url)
    try:
        while True:
            if all([await client.exists(DomainKeys(d).input) for d in domains]):
                return
            await asyncio.sleep(0.002)
    finally:
        await client.aclose()


async def _drained(url: str, last: dict[str, str], timeout: float = 300.0) -> dict[str, Any]:
    """Wait until every domain logged its last request and published its outputs."""
    client = Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            done = True
            for d, rid in last.items():
                keys = DomainKeys(d)
                head: Any = await client.xrevrange(keys.input, count=1)
                out: Any = await client.xrevrange(keys.output, count=1)
                if not head or not out or out[0][1][b"in"] != head[0][0]:
                    done = False
                    break
                if decode_batch(head[0][1][b"b"]).cur != rid:
                    done = False
                    break
            if done:
                first_ms = []
                last_ms = []
                batches = 0
                for d in last:
                    batches += await client.xlen(DomainKeys(d).input) - 1
                    keys = DomainKeys(d)
                    first: Any = await client.xrange(keys.input, count=1)
                    out = await client.xrevrange(keys.output, count=1)
                    first_ms.append(int(first[0][0].split(b"-")[0]))
                    last_ms.append(int(out[0][0].split(b"-")[0]))
                return {"wall_s": (max(last_ms) - min(first_ms)) / 1000.0, "batches": batches}
            await asyncio.sleep(0.01)
        raise RuntimeError("the backlog was not drained in time")
    finally:
        await client.aclose()


def backlog(n: int, domains: int, processes: int, batch: int, workdir: Path) -> dict[str, Any]:
    """Routers start on a backlog of ``n`` single-inquiry requests per domain and route it.

    Measured from the first logged batch (a domain's creation) to the last
    output entry, with Redis's own clock (stream ids): no driver in the loop,
    so this is what the router processes and Redis can do.
    """
    names = [f"d{i}" for i in range(domains)]
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    redis = RedisServer(workdir / "redis")
    redis.start()
    procs: list[Proc] = []
    try:
        last = asyncio.run(_fill(redis.url, names, n))
        per = [names[i::processes] for i in range(processes)]
        for i, ds in enumerate(per):
            args = _serve_args(redis.url, cfg_path, ",".join(ds), batch, 10000)
            procs.append(Proc(args, workdir / f"serve{i}.log"))
        redis_cpu0 = _redis_cpu(redis)
        asyncio.run(_created(redis.url, names))
        cpu0 = [_cpu_s(p.pid) for p in procs]
        res = asyncio.run(_drained(redis.url, last))
        cpu = [round(_cpu_s(p.pid) - c0, 2) for p, c0 in zip(procs, cpu0)]
        redis_cpu = _redis_cpu(redis) - redis_cpu0
    finally:
        for p in procs:
            p.kill()
        redis.kill()
    return {
        "bench": "backlog",
        "domains": domains,
        "processes": processes,
        "max_batch": batch,
        "inquiries": n * domains,
        "wall_s": res["wall_s"],
        "inquiries_per_s": round(n * domains / res["wall_s"], 1),
        "inputs_per_batch": round(n * domains / res["batches"], 1),
        "router_cpu_s": cpu,
        "router_cpu_us_per_inquiry": round(sum(cpu) / (n * domains) * 1e6, 1),
        "redis_cpu_s": round(redis_cpu, 2),
    }


def takeover(
    lease_ms: int, rate: float, workdir: Path, domains: int = 1, cluster: bool = False
) -> dict[str, Any]:
    """Kill the owner of ``domains`` domains under load; time the leases and first outputs."""
    names = [f"t{i}" for i in range(domains)]
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    redis = _redis(workdir, cluster=cluster)
    procs: list[Proc] = []
    try:
        args = _serve_args(redis.url, cfg_path, ",".join(names), 1000, lease_ms, cluster)
        args[args.index("WARNING")] = "INFO"  # the logs say when each domain was recovered
        p1 = Proc(args, workdir / "s1.log")
        procs.append(p1)
        asyncio.run(_wait_owned(redis.url, names, cluster=cluster))
        p2 = Proc(args, workdir / "s2.log")
        procs.append(p2)
        res = asyncio.run(_takeover(redis.url, names, p1, lease_ms, rate, cluster))
        res["cluster"] = cluster
        return res
    finally:
        for p in procs:
            p.kill()
        redis.kill()


async def _takeover(
    url: str, names: list[str], victim: Proc, lease_ms: int, rate: float, cluster: bool
) -> dict[str, Any]:
    client = _client(url, cluster)
    producers = [Producer(client, d) for d in names]
    await asyncio.sleep(0.5)
    i = 0
    step = 0.01
    per_step = max(1, int(rate * step))

    async def load(until: float) -> None:
        nonlocal i
        while time.monotonic() < until:
            for p in producers:
                d = p.keys.domain
                await p.submit_many(
                    [Inquiry(id=f"{d}-{i + k}", queue="orders") for k in range(per_step)]
                )
            i += per_step
            await asyncio.sleep(step)

    await load(time.monotonic() + 1.0)
    tokens = {d: int(await client.get(DomainKeys(d).fence) or 0) for d in names}
    # the survivor may have been handed a domain already (fair share): time the victim's
    held = {d: await client.get(DomainKeys(d).lease) for d in names}
    names = [d for d in names if held[d] and f":{victim.pid}:".encode() in held[d]]
    loader = asyncio.create_task(load(time.monotonic() + 3.0 + 3 * lease_ms / 1000))
    victim.signal(signal.SIGKILL)
    t_kill = time.monotonic()
    t_lease: dict[str, float] = {}
    t_output: dict[str, float] = {}
    while len(t_output) < len(names) and time.monotonic() - t_kill < 10 * lease_ms / 1000 + 5:
        for d in names:
            k = DomainKeys(d)
            if d not in t_lease and int(await client.get(k.fence) or 0) > tokens[d]:
                t_lease[d] = time.monotonic() - t_kill
            if d not in t_output:
                rows: Any = await client.xrevrange(k.output, count=1)
                if rows and int(rows[0][1][b"tok"]) > tokens[d]:
                    t_output[d] = time.monotonic() - t_kill
        await asyncio.sleep(0.002)
    await loader
    await client.aclose()
    nan = float("nan")
    return {
        "domains": len(producers),
        "taken_over": len(names),
        "lease_ms": lease_ms,
        "load_per_s_per_domain": rate,
        "lease_taken_s": round(max(t_lease.values(), default=nan), 3),
        "first_output_s": round(max(t_output.values(), default=nan), 3),
        "first_output_s_per_domain": {d: round(v, 3) for d, v in sorted(t_output.items())},
    }


async def _play_agents(producer: Producer, group: str, stop: asyncio.Event) -> int:
    """Accept every offer and complete every assignment, reading through a consumer group."""
    await producer.create_group(group)
    completed = 0
    while not stop.is_set():
        entries = await producer.read_group(group, "bench", count=5000, block_ms=100)
        answers, done_now = _answers(entries)
        completed += done_now
        if answers:
            await producer.send_many(answers)
        await producer.ack(group, [e.id for e in entries])
    return completed


async def _key_bytes(client: Any, keys: DomainKeys) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in ("requests", "input", "output", "idem", "snapshot", "flow", "dead"):
        n = await client.memory_usage(getattr(keys, name), samples=0)
        out[name] = int(n or 0)
    return out


def memory(
    rate: float,
    duration_s: float,
    window_s: float,
    sample_s: float,
    workdir: Path,
    aof_rewrite_min_mb: int = 64,
) -> dict[str, Any]:
    """Steady state at ``rate`` inquiries/s: Redis bytes per key sampled over the run."""
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    redis = _redis(workdir)
    procs: list[Proc] = []
    try:
        args = [
            "router", "serve", str(cfg_path), "--redis", redis.url, "--domains", "m",
            "--agents-from-config", "--log-level", "WARNING", "--snapshot-every-s", "5",
            "--dedupe-window-s", str(window_s), "--output-retention-s", str(window_s),
        ]  # fmt: skip
        procs.append(Proc(args, workdir / "serve.log"))
        c = redis.client()
        c.config_set("auto-aof-rewrite-min-size", f"{aof_rewrite_min_mb}mb")
        c.close()
        asyncio.run(_wait_owned(redis.url, ["m"]))
        res = asyncio.run(_memory(redis, rate, duration_s, window_s, sample_s))
        res["aof_rewrite_min_mb"] = aof_rewrite_min_mb
        return res
    finally:
        for p in procs:
            p.kill()
        redis.kill()


async def _memory(
    redis: Any, rate: float, duration_s: float, window_s: float, sample_s: float
) -> dict[str, Any]:
    client = _client(redis.url, False)
    producer = Producer(client, "m")
    keys = DomainKeys("m")
    stop = asyncio.Event()
    agents = asyncio.create_task(_play_agents(producer, "agents", stop))
    step = 0.02
    per_step = max(1, round(rate * step))
    submitted = 0
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    next_sample = t0 + sample_s
    while time.monotonic() - t0 < duration_s:
        await producer.submit_many(
            [Inquiry(id=f"m-{submitted + k}", queue="orders") for k in range(per_step)]
        )
        submitted += per_step
        now = time.monotonic()
        if now >= next_sample:
            info: Any = await client.info("memory")
            persistence: Any = await client.info("persistence")
            kb = await _key_bytes(client, keys)
            samples.append(
                {
                    "t_s": round(now - t0, 1),
                    "submitted": submitted,
                    "keys": kb,
                    "domain_bytes": sum(kb.values()),
                    "idem_keys": int(await client.zcard(keys.idem)),
                    "output_entries": int(await client.xlen(keys.output)),
                    "used_memory": int(info["used_memory"]),
                    "aof_bytes": int(persistence.get("aof_current_size", 0)),
                }
            )
            next_sample += sample_s
        delay = t0 + (submitted / per_step) * step - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    stop.set()
    completed = await agents
    await client.aclose()
    steady = [x for x in samples if x["t_s"] >= window_s + 10]
    half = len(steady) // 2
    first, second = steady[:half], steady[half:]

    def mean(rows: list[dict[str, Any]], key: str) -> float:
        return sum(r[key] for r in rows) / len(rows) if rows else float("nan")

    last = samples[-1]
    remembered = max(1, last["idem_keys"])
    per_inquiry = {k: round(v / (rate * window_s), 1) for k, v in last["keys"].items()}
    return {
        "bench": "memory",
        "rate_per_s": rate,
        "duration_s": duration_s,
        "dedupe_window_s": window_s,
        "output_retention_s": window_s,
        "submitted": submitted,
        "completed": completed,
        "idem_bytes_per_key": round(last["keys"]["idem"] / remembered, 1),
        "bytes_per_inquiry_in_window": per_inquiry,
        "domain_bytes_first_half": round(mean(first, "domain_bytes")),
        "domain_bytes_second_half": round(mean(second, "domain_bytes")),
        "used_memory_first_half": round(mean(first, "used_memory")),
        "used_memory_second_half": round(mean(second, "used_memory")),
        "aof_bytes_max": max((r["aof_bytes"] for r in samples), default=0),
        "aof_bytes_last": last["aof_bytes"],
        "samples": samples,
    }


def refusal(rate: float, limit: int, wait_s: float, workdir: Path) -> dict[str, Any]:
    """A producer facing a stalled domain: how soon and how fast it is refused; nothing lost."""
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    config: RouterConfig = decode_config(CONFIG.encode())
    redis = _redis(workdir)
    procs: list[Proc] = []
    try:
        args = [
            "router", "serve", str(cfg_path), "--redis", redis.url, "--domains", "r",
            "--agents-from-config", "--log-level", "WARNING", "--keep-log",
            "--max-unprocessed", str(limit), "--lease-ms", "2000",
        ]  # fmt: skip
        owner = Proc(args, workdir / "serve.log")
        procs.append(owner)
        asyncio.run(_wait_owned(redis.url, ["r"]))
        res = asyncio.run(_refusal(redis.url, owner, rate, wait_s))
        owner.terminate()
        added = res.pop("added")
        problems = asyncio.run(_audit_ids(redis.url, "r", config, added))
        res["audit_problems"] = problems[:5]
        res["accepted"] = len(added)
        return res
    finally:
        for p in procs:
            p.kill()
        redis.kill()


async def _audit_ids(url: str, domain: str, config: RouterConfig, ids: list[str]) -> list[str]:
    client = _client(url, False)
    try:
        rep = await verify_replay(client, domain, strict=True)
        return rep.problems + audit_events(rep, config, ids).problems
    finally:
        await client.aclose()


async def _refusal(url: str, owner: Proc, rate: float, wait_s: float) -> dict[str, Any]:
    client = _client(url, False)
    producer = Producer(client, "r")
    stop = asyncio.Event()
    agents = asyncio.create_task(_play_agents(producer, "agents", stop))
    step = 0.02
    per_step = max(1, round(rate * step))
    added: list[str] = []
    n = 0

    async def submit(wait: float) -> tuple[bool, float]:
        nonlocal n
        batch = [Inquiry(id=f"r-{n + k}", queue="orders") for k in range(per_step)]
        n += per_step
        t = time.monotonic()
        try:
            await producer.submit_many(batch, wait_s=wait)
        except DomainFull:
            return False, time.monotonic() - t
        added.extend(iq.id for iq in batch)
        return True, time.monotonic() - t

    for _ in range(int(1.0 / step)):  # a second of normal service
        await submit(0.0)
        await asyncio.sleep(step)
    owner.signal(signal.SIGSTOP)  # the domain stalls: nobody takes its requests
    t_stall = time.monotonic()
    first_refusal = float("nan")
    refused_calls: list[float] = []
    while len(refused_calls) < 50 and time.monotonic() - t_stall < 120:
        ok, took = await submit(0.0)
        if not ok:
            if not refused_calls:
                first_refusal = time.monotonic() - t_stall
            refused_calls.append(took)
        await asyncio.sleep(step)
    blocking = [(await submit(wait_s))[1] for _ in range(5)]
    owner.signal(signal.SIGCONT)
    t_resume = time.monotonic()
    while time.monotonic() - t_resume < 2.0:  # room again once the owner catches up
        await submit(wait_s)
        await asyncio.sleep(step)
    # the owner catches up on what the stall left and the agents finish it: until every
    # accepted inquiry has its outcome in the log (a fixed grace of 3 s was too short on a
    # loaded machine), at most a minute; the audit after the owner stops says what is left
    config = decode_config(CONFIG.encode())
    t_settle = time.monotonic()
    while time.monotonic() - t_settle < 60.0:
        await asyncio.sleep(0.5)
        rep = await verify_replay(client, "r", strict=False)
        if not audit_events(rep, config, added).problems:
            break
    stop.set()
    await agents
    await client.aclose()
    refused_calls.sort()
    return {
        "bench": "refusal",
        "rate_per_s": rate,
        "max_unprocessed": int(await _limit(url)),
        "first_refusal_after_stall_s": round(first_refusal, 3),
        "refused_call_ms": {
            "p50": round(refused_calls[len(refused_calls) // 2] * 1000, 2),
            "max": round(refused_calls[-1] * 1000, 2),
        },
        "blocking_wait_s": wait_s,
        "blocking_refusal_s": [round(b, 3) for b in blocking],
        "added": added,
    }


async def _limit(url: str) -> int:
    client = _client(url, False)
    try:
        return int(await client.hget(DomainKeys("r").flow, "limit") or 0)
    finally:
        await client.aclose()


# ---------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.durable")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput", help="end-to-end inquiries/s through Redis")
    t.add_argument("-n", type=int, default=20000, help="inquiries per domain")
    t.add_argument("--domains", type=int, default=1)
    t.add_argument("--processes", type=int, default=1)
    t.add_argument("--batch", type=int, nargs="+", default=[1000], help="serve --batch values")
    t.add_argument(
        "--chunk",
        type=int,
        nargs="+",
        default=[200],
        help="inquiries per submit_many call (one request entry each)",
    )
    t.add_argument("--concurrency", type=int, default=1, help="submit calls in flight")
    t.add_argument("--fsync", default="always", choices=["always", "everysec"])
    t.add_argument("--cluster", action="store_true", help="on a three-master Redis Cluster")
    b = sub.add_parser("backlog", help="routers draining a backlog (no driver in the loop)")
    b.add_argument("-n", type=int, default=20000, help="inquiries per domain")
    b.add_argument("--domains", type=int, default=1)
    b.add_argument("--processes", type=int, default=1)
    b.add_argument("--batch", type=int, nargs="+", default=[1000], help="serve --batch values")
    k = sub.add_parser("takeover", help="time for a survivor to take over a killed owner")
    k.add_argument("--lease-ms", type=int, nargs="+", default=[1000])
    k.add_argument("--rate", type=float, default=500.0, help="inquiries/s per domain")
    k.add_argument("--domains", type=int, nargs="+", default=[1])
    k.add_argument("--cluster", action="store_true", help="on a three-master Redis Cluster")
    m = sub.add_parser("memory", help="Redis bytes per inquiry at steady state")
    m.add_argument("--rate", type=float, default=200.0, help="inquiries/s")
    m.add_argument("--duration-s", type=float, default=120.0)
    m.add_argument("--window-s", type=float, default=30.0, help="dedupe window and retention")
    m.add_argument("--sample-s", type=float, default=10.0)
    m.add_argument("--aof-rewrite-min-mb", type=int, default=64, help="Redis's rewrite threshold")
    r = sub.add_parser("refusal", help="a producer facing a stalled domain")
    r.add_argument("--rate", type=float, default=500.0, help="inquiries/s")
    r.add_argument("--limit", type=int, default=2000, help="serve --max-unprocessed")
    r.add_argument("--wait-s", type=float, default=0.5, help="the blocking producer's wait")
    d = sub.add_parser("drive", help="(internal) load driver for one domain")
    d.add_argument("--redis", required=True)
    d.add_argument("--domain", required=True)
    d.add_argument("-n", type=int, required=True)
    d.add_argument("--chunk", type=int, default=200)
    d.add_argument("--concurrency", type=int, default=1)
    d.add_argument("--cluster", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "drive":
        res = asyncio.run(drive(a.redis, a.domain, a.n, a.chunk, a.concurrency, a.cluster))
        print(json.dumps(res), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp:
        if a.cmd == "throughput":
            for b in a.batch:
                for chunk in a.chunk:
                    work = Path(tmp) / f"b{b}-c{chunk}"
                    work.mkdir()
                    res = throughput(
                        a.n,
                        a.domains,
                        a.processes,
                        b,
                        chunk,
                        a.concurrency,
                        a.fsync,
                        work,
                        a.cluster,
                    )
                    print(json.dumps(res), flush=True)
        elif a.cmd == "memory":
            res = memory(
                a.rate, a.duration_s, a.window_s, a.sample_s, Path(tmp), a.aof_rewrite_min_mb
            )
            print(json.dumps(res), flush=True)
        elif a.cmd == "refusal":
            print(json.dumps(refusal(a.rate, a.limit, a.wait_s, Path(tmp))), flush=True)
        elif a.cmd == "backlog":
            for size in a.batch:
                work = Path(tmp) / f"b{size}"
                work.mkdir()
                res = backlog(a.n, a.domains, a.processes, size, work)
                print(json.dumps(res), flush=True)
        else:
            for lease in a.lease_ms:
                for n_domains in a.domains:
                    work = Path(tmp) / f"l{lease}-d{n_domains}"
                    work.mkdir()
                    res = takeover(lease, a.rate, work, n_domains, a.cluster)
                    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
