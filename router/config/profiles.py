"""Agent profiles (``[[agents]]``) as the agents who log in: one AgentSpec per person.

The simulator (``router/sim/engine.py``) and durable mode (``router/durable/domain.py``)
log in the agents a config describes; both build them here, so a profile means the
same thing everywhere. ``offset`` moves the profile's times (shift end, shifts) onto
the router's clock.
"""

from __future__ import annotations

import msgspec

from router.config.schema import AgentProfile
from router.model import AgentSpec

__all__ = ["profile_agent"]


def profile_agent(p: AgentProfile, agent_id: str, team: str, offset: float = 0.0) -> AgentSpec:
    """The AgentSpec of one agent of profile ``p``, in team ``team``."""
    return AgentSpec(
        id=agent_id,
        skills=dict(p.skills),
        capacity=dict(p.capacity),
        units=p.units,
        tenants=frozenset(p.tenants),
        queues=dict(p.queues),
        wrap_up_s=p.wrap_up_s,
        shift_end=offset + p.shift_end_s if p.shift_end_s is not None else None,
        team=team,
        shifts=[
            msgspec.structs.replace(
                sh,
                start_s=offset + sh.start_s,
                end_s=offset + sh.end_s if sh.end_s is not None else None,
            )
            for sh in p.shifts
        ],
        attributes=dict(p.attributes),
    )
