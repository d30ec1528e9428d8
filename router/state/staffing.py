"""Scheduled staffing: the changes agents' schedules announce for a pool.

Theory of operation
-------------------
The expected wait (``router/state/estimate.py``) scales a queue's measured service
rate by the staffing to come. The core knows two kinds of announced change: a
shift end (``AgentSpec.shift_end``, or the last shift's end, overtime rules
included), and a schedule (``AgentSpec.shifts``): an agent logged in ahead of its
shift (a roster) will serve from its start; one whose shift is followed by a shift
for another tenant will serve other queues. :func:`pool_changes` walks the
schedules of the agents that have one and lists, in time order, when the number of
agents able to serve a pool goes up or down after ``now``. Agents on a break or
away still count: a break ends by itself, staffing does not. The core caches the
list per pool and recomputes it when a login, logout, shift change or surge toggle
moved the staffing; agents without a schedule cost nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from router.state.records import LOGGING_OUT, Agent, Pool, serves, shift_tenants, spec_tenants

__all__ = ["pool_changes"]


def pool_changes(
    agents: Iterable[Agent],
    pool: Pool,
    now: float,
    shift_limit: Callable[[Agent], float | None],
) -> list[tuple[float, int]]:
    """``(time, change)`` after ``now``, in time order: how many more (or fewer) of
    ``agents`` can serve ``pool`` from then on. ``shift_limit`` gives an agent's shift
    end as the guardrail applies it."""
    q = pool.queue
    tenant = pool.tenant
    requires = pool.requires
    deltas: dict[float, int] = {}
    for a in agents:
        if a.state == LOGGING_OUT:
            continue
        state = not a.off_shift and serves(a, a.tenants, a.queues, q, tenant, requires)
        steps: list[tuple[float, bool]] = []
        shifts = a.shifts
        spec = a.spec
        for j in range(a.shift_no, len(shifts)):
            sh = shifts[j]
            if j > a.shift_no or a.off_shift:
                own = shift_tenants(sh)
                tenants = own if own is not None else spec_tenants(spec)
                queues = sh.queues if sh.queues is not None else spec.queues
                steps.append((sh.start_s, serves(a, tenants, queues, q, tenant, requires)))
            end = sh.end_s
            if j + 1 < len(shifts) and end is not None and end < shifts[j + 1].start_s:
                steps.append((end, False))
        final = shift_limit(a)
        if final is not None:
            steps.append((final, False))
        for at, serving in steps:
            if at > now and serving != state:
                deltas[at] = deltas.get(at, 0) + (1 if serving else -1)
                state = serving
    return sorted((at, d) for at, d in deltas.items() if d)
