"""``Router._best_key`` against its definition, timed on one router state in one process.

``python -m bench.best_key`` drives :func:`bench.flows.flow_work`'s center (200 agents)
halfway through its inquiries, then times, in alternating rounds, the definition (the
least ``_key`` over the pools ``_can_take`` admits: ``_best_key`` as it was before issue
14) and ``_best_key`` itself, on the agents with every pool open (as a freed agent's
usually are) and on all agents. Both give the same values (checked first). Prints CPU
microseconds per call, medians of the rounds, and the median per-round ratio.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from bench.flows import PACE, flow_work
from router import Offered, Router


def definition(r: Any, agent: Any) -> tuple[float, int]:
    """The least key over the pools the agent can take work from now, then its incarnation."""
    best = math.inf
    for pool, prof, _ in agent.pools:
        if r._can_take(agent, pool):
            k = r._key(agent, pool, prof)
            if k < best:
                best = k
    return (best, agent.incarnation)


def mid_flow(n_agents: int = 200, n_inquiries: int = 3000) -> Any:
    """A router halfway through the flow: agents with work in hand and recent work."""
    work = flow_work(n_agents, n_inquiries)
    r: Any = Router(work.config, now=0.0)
    for spec in work.agents:
        r.login(spec, 0.0)
    r.tick(0.0)
    now = 0.0
    for start in range(0, n_inquiries // 2, PACE):
        now += 0.01
        for inquiry in work.inquiries[start : start + PACE]:
            r.submit(inquiry, now)
        for ev in r.tick(now):
            if type(ev) is Offered:
                r.accept(ev.inquiry_id, now)
                if sum(map(ord, ev.inquiry_id)) % 3:
                    r.complete(ev.inquiry_id, now)
    return r


def main(rounds: int = 21, calls: int = 40) -> None:
    r = mid_flow()
    every = list(r._agents.values())
    open_ = [a for a in every if all(r._can_take(a, p) for p, _, _ in a.pools)]
    cpu = time.process_time
    for label, group in (("every pool open", open_), ("all agents", every)):
        assert all(definition(r, a) == r._best_key(a) for a in group)
        before: list[float] = []
        after: list[float] = []
        for _ in range(rounds):
            t0 = cpu()
            for _ in range(calls):
                for a in group:
                    definition(r, a)
            t1 = cpu()
            for _ in range(calls):
                for a in group:
                    r._best_key(a)
            t2 = cpu()
            n = calls * len(group) / 1e6
            before.append((t1 - t0) / n)
            after.append((t2 - t1) / n)
        ratio = statistics.median(b / a for a, b in zip(before, after))
        print(
            f"{label} ({len(group)} agents): definition {statistics.median(before):.2f} us, "
            f"_best_key {statistics.median(after):.2f} us per call; per-round ratio {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
