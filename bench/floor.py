"""The adapter flow's floor: the same flow on an asyncio loop with no routing at all.

Theory of operation
-------------------
``adapter_over_direct`` divides the core called directly (:func:`bench.flows.direct_flow`)
by the same inquiries through the router's asyncio adapter (``adapter_flow`` on uvloop).
Some of what the adapter flow pays beside the core no asyncio adapter of this flow
design can avoid: a producer paced as the flows' (a yield to the loop after every
``PACE`` submits), one task per agent session, and, when an offer reaches an agent's
task that is suspended, a wake-up and a step of that task. :func:`floor_flow` does only
that:

- each inquiry's agent is fixed before the clock starts (:func:`floor_plan`: the agent
  the core offers it to when it is called directly in batches of ``PACE``, as the direct
  flow does), so nothing is routed, scored, admitted or recorded;
- the producer appends the inquiry's id to its agent's buffer and, if that agent's task
  is suspended, wakes it: the cheapest wake-up asyncio has, a future of the loop that the
  task made and awaits bare, its result set by the producer (the adapter's ``Offers``
  waits the same way; adapt30 measured a future-like object of our own dearer);
- an agent's task reads every id buffered (its accept and complete are the core's, in
  the direct flow: here only the flows' completion count) and suspends on a fresh future
  only when its buffer is empty. An offer that finds its agent's task woken already, or
  running, costs no wake-up (a chat agent with several offers in one batch).

So ``direct / (direct + floor)``, both per inquiry, bounds ``adapter_over_direct`` from
above for this flow (BENCHMARKS.md, "The adapter's floor, ad45"). :func:`floor_flow`
returns its rate as the flows do (inquiries per CPU second, the first submit to the last
completion) and counts its wake-ups in :data:`WAKES`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from bench import flows
from bench.flows import PACE, FlowWork, _Done
from router import Offered, Router

__all__ = ["WAKES", "floor_flow", "floor_plan", "run_floor"]

#: wake-ups of the last :func:`floor_flow` run (offers that found their agent suspended)
WAKES: list[int] = [0]


class _Box:
    """One agent task's buffered inquiry ids and, while it is suspended, its future."""

    __slots__ = ("buffer", "fut")

    def __init__(self) -> None:
        self.buffer: deque[str] = deque()
        self.fut: Any = None


def floor_plan(work: FlowWork) -> tuple[str, ...]:
    """The agent each inquiry goes to: the core's offers, called directly in batches of
    ``PACE`` (virtual time, 0.1 ms a batch), every offer accepted and completed at once."""
    core = Router(work.config, now=0.0)
    for spec in work.agents:
        core.login(spec, 0.0)
    core.tick(0.0)
    agent_of: dict[str, str] = {}
    inquiries = work.inquiries
    batch = 0
    while len(agent_of) < len(inquiries):
        batch += 1
        now = batch * 1e-4
        for inquiry in inquiries[(batch - 1) * PACE : batch * PACE]:
            core.submit(inquiry, now)
        offers = [ev for ev in core.tick(now) if type(ev) is Offered]
        if not offers and batch * PACE >= len(inquiries):
            raise RuntimeError(f"floor: {len(inquiries) - len(agent_of)} found no agent")
        for ev in offers:
            core.accept(ev.inquiry_id, now)
            core.complete(ev.inquiry_id, now)
            agent_of[ev.inquiry_id] = ev.agent_id
    return tuple(agent_of[i.id] for i in inquiries)


async def floor_flow(work: FlowWork, plan: tuple[str, ...]) -> float:
    """Inquiries per CPU second with no routing (see the module docstring); a running loop."""
    loop = asyncio.get_running_loop()
    create_future = loop.create_future
    finished = create_future()
    done = _Done(len(work.inquiries), lambda: finished.set_result(None))
    boxes = {spec.id: _Box() for spec in work.agents}

    async def agent(box: _Box) -> None:
        buffer = box.buffer
        while True:
            while buffer:
                done(buffer.popleft())
            fut = box.fut = create_future()
            await fut

    tasks = [loop.create_task(agent(box)) for box in boxes.values()]
    await asyncio.sleep(0)  # every agent task waits on its future
    sends = [(inquiry.id, boxes[agent_id]) for inquiry, agent_id in zip(work.inquiries, plan)]
    wakes = 0
    sleep = asyncio.sleep
    t0 = flows._CPU()
    for i, (inquiry_id, box) in enumerate(sends, 1):
        box.buffer.append(inquiry_id)
        fut = box.fut
        if fut is not None:  # the agent's task is suspended: wake it
            box.fut = None
            fut.set_result(None)
            wakes += 1
        if i % PACE == 0:
            await sleep(0)
    await finished
    elapsed = flows._CPU() - t0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    WAKES[0] = wakes
    return len(work.inquiries) / elapsed


def run_floor(work: FlowWork, plan: tuple[str, ...] | None = None) -> float:
    """One run of :func:`floor_flow` in a fresh uvloop loop (the plan made if not given)."""
    from bench.throughput import run_in

    p = floor_plan(work) if plan is None else plan
    rate: float = run_in("uvloop", lambda: floor_flow(work, p))
    return rate
