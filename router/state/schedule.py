"""Agent schedules: which shift an agent is on, and when that changes.

Theory of operation
-------------------
An agent may log in with a schedule (``AgentSpec.shifts``: shifts in time order,
not overlapping, only the last one open-ended). The agent record keeps the index
of its current shift (or, between shifts, of the next one), whether it is off
shift, and ``shift_next``: the next time that changes, other than the end of the
last shift, which is the agent's ``shift_end`` and goes through the shift-end
guardrail like any shift end (overtime rules included; ``router/wellbeing.py``).
During a shift the agent serves the shift's ``tenants`` and ``queues`` (its own
when the shift does not name them); off shift it serves nothing. Back-to-back
shifts switch at once; the agent's record, with its continuous-work stretch and
heavy streak, carries across. The core (``router/core.py``) re-lists the agent
in its pools after every change; this module only computes.
"""

from __future__ import annotations

from router.state.records import Agent, shift_tenants, spec_tenants

__all__ = ["advance", "apply_shift", "locate", "staffed_until"]

_INF = float("inf")


def locate(agent: Agent, now: float) -> None:
    """Put ``agent`` on the shift under way at ``now`` (or off shift before the next one).

    Past its last shift the agent is on the last one: its end is the shift end, which
    the guardrail applies at once.
    """
    shifts = agent.shifts
    for i, sh in enumerate(shifts):
        if sh.end_s is None or sh.end_s > now:
            apply_shift(agent, i, sh.start_s > now)
            return
    apply_shift(agent, len(shifts) - 1, False)


def apply_shift(agent: Agent, i: int, off: bool) -> None:
    """Shift ``i``'s tenants and queues (the agent's own where it names none)."""
    spec = agent.spec
    sh = agent.shifts[i]
    agent.shift_no = i
    agent.off_shift = off
    tenants = shift_tenants(sh)
    agent.tenants = tenants if tenants is not None else spec_tenants(spec)
    agent.queues = dict(sh.queues) if sh.queues is not None else dict(spec.queues)
    if off:
        agent.shift_next = sh.start_s
    elif i + 1 < len(agent.shifts):
        end = sh.end_s
        agent.shift_next = end if end is not None else _INF
    else:
        agent.shift_next = _INF  # the last shift ends at the shift end (a guardrail)


def advance(agent: Agent, now: float) -> None:
    """``agent.shift_next`` has come: the next shift starts, or the agent goes off shift."""
    shifts = agent.shifts
    while agent.shift_next <= now:
        i = agent.shift_no
        if agent.off_shift:
            apply_shift(agent, i, False)
        else:
            nxt = shifts[i + 1]
            apply_shift(agent, i + 1, nxt.start_s > now)


def staffed_until(agent: Agent, shift_limit: float | None) -> float:
    """When the agent's present run of back-to-back shifts ends (inf: not scheduled to);
    ``shift_limit`` is its shift end as the guardrail applies it (overtime included)."""
    last = shift_limit if shift_limit is not None else _INF
    shifts = agent.shifts
    if not shifts:
        return last
    j = agent.shift_no
    while j + 1 < len(shifts) and shifts[j].end_s == shifts[j + 1].start_s:
        j += 1
    if j == len(shifts) - 1:
        return last
    end = shifts[j].end_s
    return end if end is not None else _INF
