"""Snapshot and restore of the whole core state.

Theory of operation: a snapshot stores the logical state (config, queues,
agents, live tickets, the raw deadline heap, pending work, undelivered events)
and none of the derived indexes. Restore recreates pools in their original
creation order and re-lists exactly the heap entries that were valid: an
agent whose listing is current (``listed_ver == ver``) in each pool it can
take work from, every waiting ticket in its pool. Heap order is a total order
on ``(key, seq)``, and every seq is restored, so the restored router pops the
same entries in the same order and emits byte-identical events for the same
inputs. The durability layer (Redis) relies on this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import Struct

from router.config import QueueConfig, RouterConfig
from router.events import Event
from router.model import AgentSpec
from router.state.records import READY, WAITING, Agent, Pool, QueueState, Ticket

if TYPE_CHECKING:
    from router.core import Router

__all__ = ["dump", "load"]

FORMAT = 1


class _Queue(Struct, array_like=True):
    cfg: QueueConfig
    removed: bool


class _Agent(Struct, array_like=True):
    spec: AgentSpec
    state: int
    state_reason: str
    load: dict[str, int]
    units_used: int
    ver: int
    listed_ver: int
    seq: int
    incarnation: int
    idle_since: float
    idle_from: float
    stretch_start: float
    break_until: float
    recent: list[tuple[float, float]]
    recent_sum: float
    heavy_streak: int
    heavy_block_until: float
    no_answer: int
    timer_at: float = float("inf")


class _Ticket(Struct, array_like=True):
    id: str
    queue: str
    priority: int
    arrival: float
    entered: float
    seq: int
    tenant: str | None
    extra: dict[str, int] | None
    heavy: bool
    cost: int
    patience_at: float | None
    state: int
    ver: int
    step: int
    aged: float
    pool: int
    agent: str | None
    declined: list[str] | None
    offer_no: int
    assigned_at: float
    wait_end: float


class _Snapshot(Struct):
    format: int
    config: RouterConfig
    version: int
    now: float
    seq: int
    surge: bool
    counters: dict[str, int]
    gaps: dict[str, float]
    lasts: dict[str, float]
    queues: list[_Queue]
    pools: list[tuple[str, str | None, list[tuple[str, int]], bool]]
    agents: list[_Agent]
    tickets: list[_Ticket]
    deadlines: list[tuple[float, int, int, str, int]]
    pending: list[str]
    freed: list[str]
    events: list[Event]
    extra: dict[str, Any] = {}


_encoder = msgspec.msgpack.Encoder(order="deterministic")  # sets sorted: bytes stable
_decoder = msgspec.msgpack.Decoder(_Snapshot)


def dump(r: Router) -> bytes:
    pool_index = {key: i for i, key in enumerate(r._pools)}
    agents = [
        _Agent(
            spec=a.spec,
            state=a.state,
            state_reason=a.state_reason,
            load=dict(a.load),
            units_used=a.units_used,
            ver=a.ver,
            listed_ver=a.listed_ver,
            seq=a.seq,
            incarnation=a.incarnation,
            idle_since=a.idle_since,
            idle_from=a.idle_from,
            stretch_start=a.stretch_start,
            break_until=a.break_until,
            recent=list(a.recent),
            recent_sum=a.recent_sum,
            heavy_streak=a.heavy_streak,
            heavy_block_until=a.heavy_block_until,
            no_answer=a.no_answer,
            timer_at=a.timer_at,
        )
        for a in r._agents.values()
    ]
    tickets = [
        _Ticket(
            id=t.id,
            queue=t.queue.name,
            priority=t.priority,
            arrival=t.arrival,
            entered=t.entered,
            seq=t.seq,
            tenant=t.tenant,
            extra=t.extra,
            heavy=t.heavy,
            cost=t.cost,
            patience_at=t.patience_at,
            state=t.state,
            ver=t.ver,
            step=t.step,
            aged=t.aged,
            pool=pool_index.get(t.pool.key, -1) if t.pool is not None else -1,
            agent=t.agent.id if t.agent is not None else None,
            declined=sorted(t.declined) if t.declined is not None else None,
            offer_no=t.offer_no,
            assigned_at=t.assigned_at,
            wait_end=t.wait_end,
        )
        for t in r._tickets.values()
    ]
    deadlines = []
    for at, seq, kind, obj, arg in sorted(r._deadlines, key=lambda e: (e[0], e[1])):
        live: Agent | Ticket | None = (
            r._agents.get(obj.id) if isinstance(obj, Agent) else r._tickets.get(obj.id)
        )
        if live is not None and live is obj:
            deadlines.append((at, seq, kind, obj.id, arg))
    snap = _Snapshot(
        format=FORMAT,
        config=r._cfg,
        version=r._version,
        now=r._now,
        seq=r._seq,
        surge=r._surge,
        counters=dict(r.counters),
        gaps=dict(r._estimator.gap),
        lasts=dict(r._estimator.last),
        queues=[_Queue(q.cfg, q.removed) for q in r._queues.values()],
        pools=[(k[0], k[1], list(k[2]), k[3]) for k in r._pools],
        agents=agents,
        tickets=tickets,
        deadlines=deadlines,
        pending=[t.id for t in r._pending if r._tickets.get(t.id) is t],
        freed=list(r._freed),
        events=list(r._events),
        extra=r._snapshot_extra(),
    )
    return _encoder.encode(snap)


def load(data: bytes) -> Router:
    from router.core import K_AGENT, Router

    snap = _decoder.decode(data)
    if snap.format != FORMAT:
        raise ValueError(f"snapshot format {snap.format} is not supported (expected {FORMAT})")
    r = Router(snap.config, now=snap.now)
    r._version = snap.version
    r._seq = snap.seq
    r._surge = snap.surge
    r.counters = dict(snap.counters)
    r._estimator.gap = dict(snap.gaps)
    r._estimator.last = dict(snap.lasts)
    weights = snap.config.routing.weights
    r._queues = {}
    for sq in snap.queues:
        qs = QueueState(sq.cfg, weights)
        qs.removed = sq.removed
        r._queues[qs.name] = qs
    pools: list[Pool] = []
    for qname, tenant, req, heavy in snap.pools:
        key = (qname, tenant, tuple((s, lvl) for s, lvl in req), heavy)
        q = r._queues[qname]
        pool = Pool(key, q, r._channels[q.channel].unit_cost)
        r._pools[key] = pool
        pools.append(pool)
    for sa in snap.agents:
        a = Agent(sa.spec, snap.now, sa.incarnation)
        r._set_caps(a)
        for name in (
            "state",
            "state_reason",
            "units_used",
            "ver",
            "listed_ver",
            "seq",
            "idle_since",
            "idle_from",
            "stretch_start",
            "break_until",
            "recent_sum",
            "heavy_streak",
            "heavy_block_until",
            "no_answer",
            "timer_at",
        ):
            setattr(a, name, getattr(sa, name))
        a.load = dict(sa.load)
        a.total_load = sum(sa.load.values())
        a.recent = [tuple(x) for x in sa.recent]  # type: ignore[misc]
        r._index_agent(a)
        ver = a.ver
        a.ver = -2  # suppress pushes while pools are attached
        for pool in pools:
            r._consider(a, pool)
        a.ver = ver
    for st in snap.tickets:
        t = Ticket(
            st.id,
            r._queues[st.queue],
            st.priority,
            st.arrival,
            st.entered,
            st.seq,
            st.tenant,
            st.extra,
            st.heavy,
            st.cost,
            st.patience_at,
        )
        t.state = st.state
        t.ver = st.ver
        t.step = st.step
        t.aged = st.aged
        t.pool = pools[st.pool] if st.pool >= 0 else None
        t.declined = set(st.declined) if st.declined is not None else None
        t.offer_no = st.offer_no
        t.assigned_at = st.assigned_at
        t.wait_end = st.wait_end
        if st.agent is not None:
            agent = r._agents[st.agent]
            t.agent = agent
            if st.state == 2:  # OFFERED
                agent.offers[t.id] = t
            else:
                agent.work[t.id] = t
        r._tickets[t.id] = t
        if t.state == WAITING and t.pool is not None:
            pool = t.pool
            pool.waiting.append((t.aged, t.seq, t.ver, t))
            pool.n_waiting += 1
            t.queue.n_waiting += 1
            bp = t.queue.waiting_by_priority
            bp[t.priority] = bp.get(t.priority, 0) + 1
            r._waiting += 1
    for pool in pools:
        pool.waiting.sort()
    for a in r._agents.values():
        if a.state == READY and a.listed_ver == a.ver:
            for pool, prof, _ in a.pools:
                if r._can_take(a, pool):
                    pool.agents.append(
                        (r._scorer.key(a, pool, prof, pool.queue.weights), a.seq, a.ver, a)
                    )
    for pool in pools:
        pool.agents.sort()
    for at, seq, kind, oid, arg in snap.deadlines:
        obj: Any = r._agents[oid] if kind == K_AGENT else r._tickets[oid]
        r._deadlines.append((at, seq, kind, obj, arg))
    r._deadlines.sort(key=lambda e: (e[0], e[1]))
    r._pending = [r._tickets[i] for i in snap.pending]
    r._freed = {i: r._agents[i] for i in snap.freed}
    r._events = list(snap.events)
    r._restore_extra(snap.extra)
    return r
