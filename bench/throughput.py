"""End-to-end throughput through the adapters, beside a plain ``asyncio.Queue`` pool.

Theory of operation: one flow, measured the same way for every backend. A
producer task submits ``n_inquiries`` inquiries as fast as ``await submit`` lets
it; ``n_agents`` agent sessions (one voice slot each by default) accept every
offer they read and complete it at once. The clock runs from the first submit
to the last completion; the rate is inquiries per second. Agents log in and
inquiry objects are built before the clock starts.

The peer does the same flow without routing: the producer puts the inquiries
into an unbounded ``asyncio.Queue``, ``workers`` tasks get ("offer"), record
("accept") and count ("complete") them. It has no skills, fairness, capacity or
deadlines, so it is the ceiling an adapter can approach, not a like-for-like
competitor.

``python -m bench.throughput`` prints every figure as JSON, each
measured in the same process, in interleaved rounds (best of ``--repeat``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from router import AgentSpec, Inquiry, QueueConfig, RouterConfig, Routing
from router.adapters import get_backend, open_router

__all__ = [
    "asyncio_queue_pool_flow",
    "core_direct_flow",
    "e2e_flow",
    "main",
    "measure_asyncio_queue_pool",
    "measure_e2e",
    "run_in",
]

BACKENDS = ("trio", "asyncio", "uvloop")


def flow_config(capacity: int = 1) -> RouterConfig:
    """One queue; voice (one slot per agent) or chat with ``capacity`` slots."""
    channel = "voice" if capacity == 1 else "chat"
    return RouterConfig(
        queues=[QueueConfig(name="q", channel=channel)],
        routing=Routing(offer_timeout_s=60.0),
    )


async def e2e_flow(backend: str, n_inquiries: int, n_agents: int, *, capacity: int = 1) -> float:
    """Inquiries per second submitted, offered, accepted and completed through an adapter.

    Run it inside the matching loop: ``trio.run`` for ``"trio"``, any asyncio loop
    for ``"asyncio"`` / ``"uvloop"``.
    """
    if n_inquiries < 1 or n_agents < 1:
        raise ValueError("n_inquiries and n_agents must be >= 1")
    be = get_backend(backend)
    channel = "voice" if capacity == 1 else "chat"
    specs = [AgentSpec(id=f"a{i}", capacity={channel: capacity}) for i in range(n_agents)]
    inquiries = [Inquiry(id=f"i{k}", queue="q") for k in range(n_inquiries)]
    done = be.waiter()
    ready = be.waiter()
    count = {"completed": 0, "ready": 0}

    async with open_router(flow_config(capacity), backend=be) as router:

        def agent(spec: AgentSpec) -> Callable[[], Any]:
            async def run() -> None:
                async with router.agent(spec) as session:
                    count["ready"] += 1
                    if count["ready"] == n_agents:
                        ready.wake()
                    accept = session.accept
                    complete = session.complete
                    async for offer in session:
                        accept(offer)
                        complete(offer.inquiry_id)
                        count["completed"] += 1
                        if count["completed"] == n_inquiries:
                            done.wake()

            return run

        async with be.task_group() as group:
            for spec in specs:
                group.start_soon(agent(spec), spec.id)
            await ready.wait()
            submit = router.submit
            t0 = time.perf_counter()
            for inquiry in inquiries:
                await submit(inquiry)
            await done.wait()
            elapsed = time.perf_counter() - t0
            group.cancel()
    return n_inquiries / elapsed


async def asyncio_queue_pool_flow(n: int, workers: int) -> float:
    """The same flow through a plain ``asyncio.Queue`` worker pool (no routing)."""
    import asyncio

    queue: asyncio.Queue[Inquiry] = asyncio.Queue()
    items = [Inquiry(id=f"i{k}", queue="q") for k in range(n)]
    held: dict[str, int] = {}
    completed = 0
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    async def worker(w: int) -> None:
        nonlocal completed
        while True:
            item = await queue.get()  # the offer
            held[item.id] = w  # accept
            del held[item.id]  # complete
            completed += 1
            if completed == n:
                done.set_result(None)

    tasks = [asyncio.create_task(worker(w)) for w in range(workers)]
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    for item in items:
        await queue.put(item)
    await done
    elapsed = time.perf_counter() - t0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return n / elapsed


def core_direct_flow(n_inquiries: int, n_agents: int, *, capacity: int = 1) -> float:
    """The same flow calling the core directly, no event loop: the adapters' ceiling."""
    from router import Offered, Router

    channel = "voice" if capacity == 1 else "chat"
    core = Router(flow_config(capacity), now=0.0)
    for i in range(n_agents):
        core.login(AgentSpec(id=f"a{i}", capacity={channel: capacity}), 0.0)
    core.tick(0.0)
    inquiries = [Inquiry(id=f"i{k}", queue="q") for k in range(n_inquiries)]
    t0 = time.perf_counter()
    clock = time.perf_counter
    for inquiry in inquiries:
        core.submit(inquiry, clock() - t0)
    completed = 0
    while completed < n_inquiries:
        for ev in core.tick(clock() - t0):
            if type(ev) is Offered:
                core.accept(ev.inquiry_id, clock() - t0)
                core.complete(ev.inquiry_id, clock() - t0)
                completed += 1
    return n_inquiries / (time.perf_counter() - t0)


def run_in(backend: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` (a coroutine function) in a fresh loop of ``backend``."""
    if backend == "trio":
        import trio

        return trio.run(fn)
    import asyncio

    if backend == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    elif backend == "asyncio":
        factory = asyncio.new_event_loop
    else:
        raise ValueError(f"backend: unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(fn())


def measure_e2e(
    backend: str, n_inquiries: int = 20_000, n_agents: int = 100, capacity: int = 1
) -> float:
    """:func:`e2e_flow` in a fresh loop: ``"trio"``, ``"asyncio"`` or ``"uvloop"``."""
    name = "asyncio" if backend == "uvloop" else backend
    rate: float = run_in(backend, lambda: e2e_flow(name, n_inquiries, n_agents, capacity=capacity))
    return rate


def measure_asyncio_queue_pool(n: int = 20_000, workers: int = 100, loop: str = "uvloop") -> float:
    """:func:`asyncio_queue_pool_flow` in a fresh ``"asyncio"`` or ``"uvloop"`` loop."""
    rate: float = run_in(loop, lambda: asyncio_queue_pool_flow(n, workers))
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="end-to-end adapter throughput beside an asyncio.Queue worker pool",
    )
    parser.add_argument("--n", type=int, default=20_000, help="inquiries per run")
    parser.add_argument("--agents", type=int, default=100, help="agents (workers)")
    parser.add_argument("--capacity", type=int, default=1, help="chat slots per agent (1: voice)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each is kept")
    args = parser.parse_args(argv)
    if min(args.n, args.agents, args.repeat, args.capacity) < 1:
        print("throughput: --n, --agents, --capacity and --repeat must be >= 1", file=sys.stderr)
        return 2
    if args.capacity > 30:
        print("throughput: --capacity: the chat channel allows at most 30", file=sys.stderr)
        return 2
    # interleaved rounds, best of each: a burst of load on a shared machine hits
    # every figure alike instead of one backend
    e2e: dict[str, float] = dict.fromkeys(BACKENDS, 0.0)
    pool: dict[str, float] = {"asyncio": 0.0, "uvloop": 0.0}
    direct = 0.0
    for _ in range(args.repeat):
        for b in BACKENDS:
            e2e[b] = max(e2e[b], measure_e2e(b, args.n, args.agents, args.capacity))
        for lp in pool:
            pool[lp] = max(pool[lp], measure_asyncio_queue_pool(args.n, args.agents, lp))
        direct = max(direct, core_direct_flow(args.n, args.agents, capacity=args.capacity))
    report = {
        "n": args.n,
        "agents": args.agents,
        "capacity": args.capacity,
        "e2e_per_s": {k: round(v) for k, v in e2e.items()},
        "core_direct_per_s": round(direct),
        "asyncio_queue_pool_per_s": round(pool["uvloop"]),
        "asyncio_queue_pool_default_loop_per_s": round(pool["asyncio"]),
        "uvloop_over_pool": round(e2e["uvloop"] / pool["uvloop"], 4),
        "uvloop_over_core_direct": round(e2e["uvloop"] / direct, 4),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
