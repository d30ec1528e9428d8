"""End-to-end flows: the same agents and inquiries through an adapter, the service, the core.

Theory of operation
-------------------
:func:`flow_work` draws a realistic center (:func:`bench.workload.make_workload`:
team profiles, tenants, skills, voice and chat caps, ~58 queues) and a stream
of inquiries over the queues that some agent may serve. Three flows move that
same stream from submit to completion, and each returns inquiries per CPU
second (``time.process_time`` from the first submit to the last completion;
agents log in and inquiry objects are built before the clock starts):

- :func:`adapter_flow`: the router behind its async adapter (trio, asyncio or
  uvloop). One agent session per agent accepts every offer it reads and
  completes it at once. The producer submits with ``submit_nowait``, a plain
  call as the service's ``submit`` and the core's are (no admission policy in
  this center holds a producer, so it never raises ``WouldBlock``); the flow
  ``uvloop_awaited`` is the same on uvloop with ``await router.submit(...)``
  (one coroutine per inquiry), reported beside it.
- :func:`service_flow`: :class:`bench.service.SkillQueueService`, the asyncio
  service a backend engineer would write instead, on uvloop.
- :func:`direct_flow`: the core called directly, no event loop: submit a
  batch, tick once, accept and complete every offer (the agents freed pull
  waiting work at the next batch's tick). The adapters' ceiling.

The producer is paced as a real one is: it yields to the loop after every
``PACE`` submits (a producer that never yields lets nothing else run; one that
yields after every submit measures the loop's scheduling). The core flow
matches after every batch of ``PACE``, which is what the adapter's runner
does when the producer yields.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bench.workload import make_workload, may_serve
from router import AgentSpec, Inquiry, Offered, Router, RouterConfig

__all__ = [
    "FLOWS",
    "PACE",
    "FlowWork",
    "adapter_flow",
    "direct_flow",
    "flow_work",
    "run_flow",
    "service_flow",
]

PACE = 10
#: Flow names :func:`run_flow` knows: the adapters by loop, the service, the core.
FLOWS = ("trio", "asyncio", "uvloop", "uvloop_awaited", "service", "direct")
_CPU = time.process_time


@dataclass(frozen=True)
class FlowWork:
    """A center and the inquiries every flow moves (the same objects each time)."""

    config: RouterConfig
    agents: tuple[AgentSpec, ...]
    inquiries: tuple[Inquiry, ...]


def flow_work(n_agents: int, n_inquiries: int, seed: int = 7) -> FlowWork:
    """``n_agents`` agents of a realistic center; ``n_inquiries`` arrivals over served queues."""
    wl = make_workload(n_agents, seed=seed)
    served = {q.name for q in wl.queues if any(may_serve(a, q) for a in wl.agents)}
    rng = random.Random(seed + 1)
    inquiries: list[Inquiry] = []
    while len(inquiries) < n_inquiries:
        queue = wl.pick_queue(rng.random())
        if queue in served:
            inquiries.append(Inquiry(id=f"f{len(inquiries)}", queue=queue))
    return FlowWork(wl.config, tuple(wl.agents), tuple(inquiries))


class _Done:
    """Counts completions; ``on_last`` runs at the last one."""

    __slots__ = ("count", "n", "on_last")

    def __init__(self, n: int, on_last: Callable[[], None]) -> None:
        self.count = 0
        self.n = n
        self.on_last = on_last

    def __call__(self, inquiry_id: str, agent_id: str = "") -> None:
        self.count += 1
        if self.count == self.n:
            self.on_last()


async def adapter_flow(work: FlowWork, backend: str, *, awaited: bool = False) -> float:
    """Inquiries per CPU second through the adapter, inside a running ``backend`` loop.

    The producer calls ``submit_nowait`` (as the service's producer calls its plain
    ``submit``), or, with ``awaited``, awaits ``submit``.
    """
    from router.adapters import get_backend, open_router

    be = get_backend(backend)
    if be.name == "trio":
        import trio

        sleep0: Callable[[], Coroutine[Any, Any, None]] = lambda: trio.sleep(0)  # noqa: E731
    else:
        import asyncio

        sleep0 = lambda: asyncio.sleep(0)  # noqa: E731
    all_done = be.waiter()
    all_ready = be.waiter()
    done = _Done(len(work.inquiries), all_done.wake)
    ready = _Done(len(work.agents), all_ready.wake)

    async with open_router(work.config, backend=be) as router:

        def agent(spec: AgentSpec) -> Callable[[], Coroutine[Any, Any, None]]:
            async def run() -> None:
                async with router.agent(spec) as session:
                    ready(spec.id)
                    accept = session.accept
                    complete = session.complete
                    async for offer in session:
                        accept(offer)
                        complete(offer.inquiry_id)
                        done(offer.inquiry_id)

            return run

        async with be.task_group() as group:
            for spec in work.agents:
                group.start_soon(agent(spec), spec.id)
            await all_ready.wait()
            t0 = _CPU()
            if awaited:
                submit = router.submit
                for i, inquiry in enumerate(work.inquiries, 1):
                    admission = await submit(inquiry)
                    if not admission.admitted:
                        raise RuntimeError(f"flow: {inquiry.id} not admitted: {admission.reason}")
                    if i % PACE == 0:
                        await sleep0()
            else:
                submit_nowait = router.submit_nowait
                for i, inquiry in enumerate(work.inquiries, 1):
                    admission = submit_nowait(inquiry)
                    if not admission.admitted:
                        raise RuntimeError(f"flow: {inquiry.id} not admitted: {admission.reason}")
                    if i % PACE == 0:
                        await sleep0()
            await all_done.wait()
            elapsed = _CPU() - t0
            group.cancel()
    return len(work.inquiries) / elapsed


async def service_flow(work: FlowWork) -> float:
    """Inquiries per CPU second through the hand-written asyncio service (running loop)."""
    import asyncio

    from bench.service import SkillQueueService

    finished = asyncio.Event()
    done = _Done(len(work.inquiries), finished.set)
    async with SkillQueueService(work.config.queues, work.agents, done) as service:
        submit = service.submit
        t0 = _CPU()
        for i, inquiry in enumerate(work.inquiries, 1):
            submit(inquiry)
            if i % PACE == 0:
                await asyncio.sleep(0)
        await finished.wait()
        elapsed = _CPU() - t0
    return len(work.inquiries) / elapsed


def direct_flow(work: FlowWork) -> float:
    """Inquiries per CPU second with the core called directly (no event loop)."""
    core = Router(work.config, now=0.0)
    for spec in work.agents:
        core.login(spec, 0.0)
    core.tick(0.0)
    submit, tick, accept, complete = core.submit, core.tick, core.accept, core.complete
    base = time.monotonic() - core.now
    clock = time.monotonic
    inquiries = work.inquiries
    n = len(inquiries)
    completed = 0
    t0 = _CPU()
    for start in range(0, n + PACE, PACE):  # one more tick after the last batch
        for inquiry in inquiries[start : start + PACE]:
            submit(inquiry, clock() - base)
        for ev in tick(clock() - base):
            if type(ev) is Offered:
                accept(ev.inquiry_id, clock() - base)
                complete(ev.inquiry_id, clock() - base)
                completed += 1
    while completed < n:  # freed agents pull what still waits
        offers = 0
        for ev in tick(clock() - base):
            if type(ev) is Offered:
                accept(ev.inquiry_id, clock() - base)
                complete(ev.inquiry_id, clock() - base)
                offers += 1
        if not offers:
            raise RuntimeError(f"flow: {n - completed} inquiries found no agent")
        completed += offers
    elapsed = _CPU() - t0
    return n / elapsed


def run_flow(name: str, work: FlowWork) -> float:
    """One run of flow ``name`` (one of :data:`FLOWS`) in a fresh event loop."""
    from bench.throughput import run_in

    if name == "direct":
        return direct_flow(work)
    if name == "service":
        rate: float = run_in("uvloop", lambda: service_flow(work))
    elif name in ("trio", "asyncio", "uvloop"):
        backend = "trio" if name == "trio" else "asyncio"
        rate = run_in(name, lambda: adapter_flow(work, backend))
    elif name == "uvloop_awaited":
        rate = run_in("uvloop", lambda: adapter_flow(work, "asyncio", awaited=True))
    else:
        raise ValueError(f"flow: unknown flow {name!r}; known: {', '.join(FLOWS)}")
    return rate
