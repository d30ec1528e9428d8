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
from router.durable.log import SUBMIT, Producer
from router.durable.testing import Proc, RedisServer
from router.durable.wire import Accept, Complete, DomainKeys, Submit, decode_batch, encode_item
from router.events import Assigned, Completed, Offered
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


async def drive(url: str, domain: str, n: int, chunk: int, concurrency: int) -> dict[str, Any]:
    """Submit ``n`` inquiries and play the agents until all are completed.

    Submissions are ``submit_many`` calls of ``chunk`` inquiries, ``concurrency``
    of them in flight at once (like many backend requests submitting at once).
    """
    client = Redis.from_url(url)
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
            answers: list[Any] = []
            for e in entries:
                after = e.id
                for ev in e.events:
                    if isinstance(ev, Offered):
                        answers.append(Accept(inquiry_id=ev.inquiry_id, agent_id=ev.agent_id))
                    elif isinstance(ev, Assigned):
                        answers.append(Complete(inquiry_id=ev.inquiry_id))
                    elif isinstance(ev, Completed):
                        completed += 1
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


def _redis_cpu(server: RedisServer) -> float:
    c = server.client()
    try:
        info: Any = c.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    finally:
        c.close()


def _serve_args(url: str, cfg: Path, domains: str, batch: int, lease_ms: int) -> list[str]:
    return [
        "router", "serve", str(cfg), "--redis", url, "--domains", domains,
        "--agents-from-config", "--batch", str(batch), "--lease-ms", str(lease_ms),
        "--keep-log", "--log-level", "WARNING",
    ]  # fmt: skip


async def _audit(url: str, domains: list[str], config: RouterConfig, n: int) -> list[str]:
    client = Redis.from_url(url)
    problems: list[str] = []
    try:
        for d in domains:
            rep = await verify_replay(client, d, strict=True)
            ids = [f"{d}-{i}" for i in range(n)]
            problems += rep.problems + audit_events(rep, config, ids).problems
    finally:
        await client.aclose()
    return problems


async def _wait_owned(url: str, domains: list[str], timeout: float = 30.0) -> None:
    client = Redis.from_url(url)
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


async def _proc_stats(url: str) -> list[dict[str, Any]]:
    client = Redis.from_url(url)
    try:
        out = []
        for key in await client.keys("router:proc:*"):
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
) -> dict[str, Any]:
    """One run: ``processes`` routers sharing ``domains`` domains, ``n`` inquiries each."""
    names = [f"d{i}" for i in range(domains)]
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    config: RouterConfig = decode_config(CONFIG.encode())
    redis = RedisServer(workdir / "redis", fsync=fsync)
    redis.start()
    procs: list[Proc] = []
    try:
        per = [names[i::processes] for i in range(processes)]
        for i, ds in enumerate(per):
            args = _serve_args(redis.url, cfg_path, ",".join(ds), batch, 5000)
            procs.append(Proc(args, workdir / f"serve{i}.log"))
        asyncio.run(_wait_owned(redis.url, names))
        cpu0 = {p.pid: _cpu_s(p.pid) for p in procs}
        redis_cpu0 = _redis_cpu(redis)
        drivers = [
            Proc(
                ["bench.durable", "drive", "--redis", redis.url, "--domain", d,
                 "-n", str(n), "--chunk", str(chunk), "--concurrency", str(concurrency)],
                workdir / f"drive-{d}.log",
            )
            for d in names
        ]  # fmt: skip
        procs += drivers
        for d in drivers:
            d.proc.wait(600)
        results = [json.loads(d.output().strip().splitlines()[-1]) for d in drivers]
        cpu = {p.pid: _cpu_s(p.pid) - cpu0[p.pid] for p in procs if p.pid in cpu0}
        stats = asyncio.run(_proc_stats(redis.url))
        redis_cpu = _redis_cpu(redis) - redis_cpu0
        wall = max(r["last"] for r in results) - min(r["first"] for r in results)
        for p in procs:
            p.terminate()
        problems = asyncio.run(_audit(redis.url, names, config, n))
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
                    payload = encode_item(Submit(inquiry=iq, key=iq.id))
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


def takeover(lease_ms: int, rate: float, workdir: Path) -> dict[str, Any]:
    """Kill the owner of domain ``t`` under load; time the lease and the first new output."""
    cfg_path = workdir / "bench.toml"
    cfg_path.write_text(CONFIG)
    redis = RedisServer(workdir / "redis")
    redis.start()
    procs: list[Proc] = []
    try:
        p1 = Proc(_serve_args(redis.url, cfg_path, "t", 1000, lease_ms), workdir / "s1.log")
        procs.append(p1)
        asyncio.run(_wait_owned(redis.url, ["t"]))
        p2 = Proc(_serve_args(redis.url, cfg_path, "t", 1000, lease_ms), workdir / "s2.log")
        procs.append(p2)
        return asyncio.run(_takeover(redis.url, p1, lease_ms, rate))
    finally:
        for p in procs:
            p.kill()
        redis.kill()


async def _takeover(url: str, victim: Proc, lease_ms: int, rate: float) -> dict[str, Any]:
    client = Redis.from_url(url)
    producer = Producer(client, "t")
    await asyncio.sleep(0.5)
    i = 0
    step = 0.01
    per_step = max(1, int(rate * step))

    async def load(until: float) -> None:
        nonlocal i
        while time.monotonic() < until:
            await producer.submit_many(
                [Inquiry(id=f"t-{i + k}", queue="orders") for k in range(per_step)]
            )
            i += per_step
            await asyncio.sleep(step)

    await load(time.monotonic() + 1.0)
    token = int(await client.get("router:{t}:fence") or 0)
    loader = asyncio.create_task(load(time.monotonic() + 3.0 + 3 * lease_ms / 1000))
    victim.signal(signal.SIGKILL)
    t_kill = time.monotonic()
    t_lease = t_output = float("nan")
    while time.monotonic() - t_kill < 10 * lease_ms / 1000 + 5:
        if t_lease != t_lease and int(await client.get("router:{t}:fence") or 0) > token:
            t_lease = time.monotonic()
        rows: Any = await client.xrevrange("router:{t}:output", count=1)
        if rows and int(rows[0][1][b"tok"]) > token:
            t_output = time.monotonic()
            break
        await asyncio.sleep(0.002)
    await loader
    await client.aclose()
    return {
        "lease_ms": lease_ms,
        "load_per_s": rate,
        "lease_taken_s": round(t_lease - t_kill, 3),
        "first_output_s": round(t_output - t_kill, 3),
    }


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
    b = sub.add_parser("backlog", help="routers draining a backlog (no driver in the loop)")
    b.add_argument("-n", type=int, default=20000, help="inquiries per domain")
    b.add_argument("--domains", type=int, default=1)
    b.add_argument("--processes", type=int, default=1)
    b.add_argument("--batch", type=int, nargs="+", default=[1000], help="serve --batch values")
    k = sub.add_parser("takeover", help="time for a survivor to take over a killed owner")
    k.add_argument("--lease-ms", type=int, nargs="+", default=[1000])
    k.add_argument("--rate", type=float, default=500.0)
    d = sub.add_parser("drive", help="(internal) load driver for one domain")
    d.add_argument("--redis", required=True)
    d.add_argument("--domain", required=True)
    d.add_argument("-n", type=int, required=True)
    d.add_argument("--chunk", type=int, default=200)
    d.add_argument("--concurrency", type=int, default=1)
    a = p.parse_args(argv)
    if a.cmd == "drive":
        res = asyncio.run(drive(a.redis, a.domain, a.n, a.chunk, a.concurrency))
        print(json.dumps(res), flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="router-bench-") as tmp:
        if a.cmd == "throughput":
            for b in a.batch:
                for chunk in a.chunk:
                    work = Path(tmp) / f"b{b}-c{chunk}"
                    work.mkdir()
                    res = throughput(
                        a.n, a.domains, a.processes, b, chunk, a.concurrency, a.fsync, work
                    )
                    print(json.dumps(res), flush=True)
        elif a.cmd == "backlog":
            for size in a.batch:
                work = Path(tmp) / f"b{size}"
                work.mkdir()
                res = backlog(a.n, a.domains, a.processes, size, work)
                print(json.dumps(res), flush=True)
        else:
            for lease in a.lease_ms:
                work = Path(tmp) / f"l{lease}"
                work.mkdir()
                print(json.dumps(takeover(lease, a.rate, work)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
