"""The adapters' peer: the asyncio service a backend engineer writes instead of the router.

Theory of operation
-------------------
:class:`SkillQueueService` moves inquiries to agents the way a competent
engineer would with asyncio alone:

- one ``asyncio.Queue`` per routing queue; ``submit`` records the inquiry as
  waiting and puts it on its queue;
- for every agent, one ``asyncio.Semaphore`` per channel, sized by the agent's
  cap on that channel (voice 1, chat up to 20);
- one worker task per agent and queue the agent may serve (channel, tenant,
  queue list, skill levels: :func:`bench.workload.may_serve`). A worker waits on
  its queue's ``get()``; ``asyncio.Queue`` hands each item to the getter that
  has waited longest, so the agent idle longest on that queue gets it
  (longest-idle routing). The worker then takes a slot of the agent's channel
  semaphore, offers the inquiry to the agent, the agent accepts it and
  completes it, and the slot is given back.

The bookkeeping is what such a service keeps to answer "where is inquiry X":
the state of each inquiry and the agent holding it. It does not score agents
(proficiency, load, recent work), has no priorities or aging, no offer
timeouts, no admission policy and emits no events: that is the work the
router adds, and the ratio ``e2e_over_skill_queue_service`` prices it.

In the benchmark flow (:mod:`bench.flows`) agents accept and complete at once,
as the adapter flow's agent sessions do, so a worker never waits on its
semaphore; the semaphore still costs its acquire and release per inquiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bench.workload import may_serve
from router import AgentSpec, Inquiry, QueueConfig

__all__ = ["SkillQueueService"]

WAITING, OFFERED, IN_SERVICE = 1, 2, 3


class SkillQueueService:
    """Queues per routing queue, workers per agent and queue (see the module docstring).

    ``on_complete(inquiry_id, agent_id)`` is called after each completion. Use it
    inside a running loop: ``async with service:`` starts the workers and cancels
    them on exit.
    """

    def __init__(
        self,
        queues: Sequence[QueueConfig],
        agents: Sequence[AgentSpec],
        on_complete: Callable[[str, str], None],
    ) -> None:
        self.configs = {q.name: q for q in queues}
        self.queues: dict[str, asyncio.Queue[Inquiry]] = {q.name: asyncio.Queue() for q in queues}
        self.agents = list(agents)
        self.state: dict[str, int] = {}
        self.agent_of: dict[str, str] = {}
        self.on_complete = on_complete
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SkillQueueService:
        for spec in self.agents:
            slots = {ch: asyncio.Semaphore(cap) for ch, cap in spec.capacity.items() if cap}
            for q in self.configs.values():
                if may_serve(spec, q):
                    worker = self._worker(spec.id, self.queues[q.name], slots[q.channel])
                    self.tasks.append(asyncio.create_task(worker))
        await asyncio.sleep(0)  # every worker is waiting on its queue
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()

    def submit(self, inquiry: Inquiry) -> None:
        """Queue ``inquiry`` on its routing queue."""
        queue = self.queues.get(inquiry.queue)
        if queue is None:
            raise KeyError(f"unknown queue {inquiry.queue!r}")
        if inquiry.id in self.state:
            raise KeyError(f"inquiry {inquiry.id!r} is already in the service")
        self.state[inquiry.id] = WAITING
        queue.put_nowait(inquiry)

    async def _worker(
        self, agent_id: str, queue: asyncio.Queue[Inquiry], slots: asyncio.Semaphore
    ) -> None:
        state = self.state
        agent_of = self.agent_of
        on_complete = self.on_complete
        while True:
            inquiry = await queue.get()  # the longest-idle waiting worker gets it
            async with slots:  # one slot of the agent's channel cap
                iid = inquiry.id
                state[iid] = OFFERED  # offer
                agent_of[iid] = agent_id
                state[iid] = IN_SERVICE  # the agent accepts
                del state[iid]  # ... and completes
                del agent_of[iid]
                queue.task_done()
                on_complete(iid, agent_id)
