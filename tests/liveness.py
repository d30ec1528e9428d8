"""The liveness invariant, checked from the records rather than the core's indexes.

After every ``tick`` no WAITING inquiry may be compatible with a READY agent
that has room for it and has not declined it, and (``decline_memory = "round"``,
the default) no inquiry may keep its declines once its round is over: every agent
in the round (logged in, not leaving, not set away, able to serve it at its step)
declined it, so all are forgotten and a declining agent may be offered it again.
"Compatible" is computed here from the agent's spec and the inquiry's queue at the
relaxation step in force (skills, tenant, queue membership, channel cap, capacity units or an
interruption its channel's ``interrupts`` rule allows, the heavy-call guardrail, a
cooldown after long heavy work, the queue's ``match`` expression evaluated afresh on
both attribute mappings, and, while the inquiry still waits for its preferred agents,
only those), independently of the pools and heaps the core uses to decide, so a core
whose indexes lose an inquiry fails this check.
"""

from __future__ import annotations

from router import Router
from router.config import DEFAULT_CHANNELS
from router.config.targeting import parse_target
from router.state.records import AWAY, LOGGING_OUT, READY, WAITING, Agent, Ticket


def requirement(t: Ticket) -> dict[str, int]:
    """The skills ``t`` needs at the relaxation step in force (its own extras included)."""
    q = t.queue
    base = dict(q.requires) if t.step == 0 else dict(q.steps[t.step - 1][1])
    for skill, level in (t.extra or {}).items():
        base[skill] = max(base.get(skill, 0), level)
    return base


def can_serve_now(r: Router, a: Agent, t: Ticket) -> bool:
    """Whether READY agent ``a`` could take waiting ``t`` right now."""
    q = t.queue
    if a.state != READY or (t.declined is not None and a.id in t.declined):
        return False  # (a round that is over has no declines: round_over below)
    if a.queues and q.name not in a.queues:
        return False
    if t.tenant is not None and t.tenant not in a.tenants:
        return False
    if t.prefer is not None and a.id not in t.prefer and still_preferring(r, t):
        return False  # still waiting for its preferred agents only
    match = q.cfg.match
    if match is not None and not parse_target(match).matches(a.spec.attributes, t.attributes):
        return False
    if any(a.skills.get(s, 0) < lvl for s, lvl in requirement(t).items()):
        return False
    ch = q.channel
    if a.spec.capacity.get(ch, 0) <= 0 or a.load.get(ch, 0) >= a.caps.get(ch, 0):
        return False
    if (
        a.units is not None
        and a.units_used + t.cost > a.units
        and not interruption_allowed(r, a, ch, t.cost)
    ):
        return False
    wb = r.config.wellbeing
    surge = r.statistics().surge
    cooling = a.cooldown_until > r.now and not (surge and "cooldown" in wb.suspend_in_surge)
    if cooling and (wb.cooldown_from == "all" or t.heavy):
        return False  # off the phone after long heavy work (off heavy queues only, or all)
    k = wb.max_consecutive_heavy
    surge_off = surge and "heavy" in wb.suspend_in_surge
    return not (t.heavy and k is not None and a.heavy_streak >= k and not surge_off)


def interruption_allowed(r: Router, a: Agent, channel: str, cost: int) -> bool:
    """Whether ``a`` may take work of ``channel`` costing ``cost`` past its units by
    interrupting other channels (``[channels.X] interrupts``): each interrupted channel
    held at most at its threshold, some of it held, the rest within the budget."""
    assert a.units is not None
    c = {**DEFAULT_CHANNELS, **r.config.channels}.get(channel)
    rule = c.interrupts if c is not None else {}
    if not rule:
        return False
    held = [*a.offers.values(), *a.work.values()]
    if any(sum(1 for t in held if t.queue.channel == ch) > most for ch, most in rule.items()):
        return False
    interruptible = sum(t.cost for t in held if t.queue.channel in rule)
    return interruptible > 0 and a.units_used - interruptible + cost <= a.units


def could_serve(a: Agent, t: Ticket) -> bool:
    """Whether ``a`` may serve ``t`` at all, busy or not: skills at the step in force,
    tenant, queue membership, the queue's ``match``, a slot on its channel."""
    q = t.queue
    if a.queues and q.name not in a.queues:
        return False
    if t.tenant is not None and t.tenant not in a.tenants:
        return False
    match = q.cfg.match
    if match is not None and not parse_target(match).matches(a.spec.attributes, t.attributes):
        return False
    if any(a.skills.get(s, 0) < lvl for s, lvl in requirement(t).items()):
        return False
    return a.spec.capacity.get(q.channel, 0) > 0


def still_preferring(r: Router, t: Ticket) -> bool:
    """Whether ``t`` may still wait for its preferred agents only, by the documented rule
    (docs/routing-features.md), not by the core's flag: less than the queue's
    ``preferred_wait_s`` since it entered, and one of them who could serve it is logged
    in (not leaving) and has not declined it."""
    wait = t.queue.cfg.preferred_wait_s
    if not t.prefer or wait <= 0.0 or r.now >= t.entered + wait:
        return False
    for aid in t.prefer:
        p = r._agents.get(aid)
        if p is None or p.state == LOGGING_OUT:
            continue
        if t.declined is not None and aid in t.declined:
            continue
        if could_serve(p, t):
            return True
    return False


def round_over(r: Router, t: Ticket) -> bool:
    """Whether every agent in ``t``'s round declined it (docs/routing-features.md): the
    agents logged in (not leaving), not set away and able to serve it at its step
    (:func:`could_serve`); busy or on a break, they count. None left: over."""
    declined = t.declined or set()
    for a in r._agents.values():
        if a.state in (LOGGING_OUT, AWAY) or a.off_shift:
            continue
        if a.id not in declined and could_serve(a, t):
            return False
    return True


def stalls(r: Router) -> list[str]:
    """Every (waiting inquiry, agent) pair that breaks the invariant, and every waiting
    inquiry that keeps its declines past its round; empty when it holds."""
    out = []
    agents = list(r._agents.values())
    rounds = r.config.routing.decline_memory == "round"
    for t in r._tickets.values():
        if t.state != WAITING:
            continue
        if rounds and t.declined and not still_preferring(r, t) and round_over(r, t):
            out.append(f"{t.id} keeps {sorted(t.declined)}'s declines past its round")
        for a in agents:
            if can_serve_now(r, a, t):
                out.append(f"{t.id} waits in {t.queue.name} (step {t.step}) while {a.id} is free")
    return out


def pool_counts(r: Router) -> list[str]:
    """Each pool's ``eligible`` and ``n_away`` against its agents, recounted (mutS49; every
    round test checks it through ``tests/test_decline_rounds.py``'s ``pool_problems``: a
    round is over when ``eligible - n_away`` agents declined)."""
    out: list[str] = []
    for key, pool in r._pools.items():
        members = [a for a in r._agents.values() if any(p is pool for p, _, _ in a.pools)]
        n_away = sum(1 for a in members if a.state == AWAY)
        if (pool.eligible, pool.n_away) != (len(members), n_away):
            out.append(f"{key}: eligible/n_away {pool.eligible}/{pool.n_away}")
            out.append(f"  recounted {len(members)}/{n_away}")
    return out
