"""The snapshot codec: the core's logical state as deterministic MessagePack bytes.

Theory of operation: a snapshot stores the logical state (config, queues with
their real-time windows, agents with their real-time figures, live tickets, the
raw deadline heap, pending work, undelivered events, the policies' own state,
when the statistics were reset) and none of the derived indexes (pools, heaps,
the real-time counts over agents and the arrival index are rebuilt). ``Router.snapshot``
(``router/core.py``) fills a :class:`Snapshot` with the records of this module
and encodes it; ``Router.restore`` decodes it, puts each record back and
rebuilds the indexes: pools in their original creation order, and exactly the
heap entries that were valid (an agent whose listing is current, ``listed_ver
== ver``, in each pool it can take work from; every waiting ticket in its
pool). Heap order is a total order on ``(key, seq)``, and every seq is
restored, so the restored router pops the same entries in the same order and
emits byte-identical events for the same inputs. The durability layer (Redis)
relies on this. Sets are encoded sorted, so equal states give equal bytes.

The routing features of docs/routing-features.md add, at the end of the records
(older snapshots decode with their defaults): each pool's inquiry-attribute
binding (plain values) and ``random`` floor, the live ``random`` keys (they are
draws, not derivable from the state), the draw counter, each agent's round-robin
turns, each ticket's attributes, preferred agents and phase, and the other agents
of a multi-agent offer.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from router.config import QueueConfig, RouterConfig
from router.config.problems import format_validation_error
from router.errors import InvalidSnapshot
from router.events import Event
from router.model import AgentSpec
from router.state.recent import from_pairs as recent_from_pairs
from router.state.recent import pairs as recent_pairs
from router.state.records import Agent, Pool, QueueState, Ticket, set_load
from router.state.schedule import apply_shift
from router.state.stat_records import AgentTallyRecord, WindowsRecord
from router.stats import Counters

__all__ = [
    "FORMAT",
    "AgentRecord",
    "EarlyRecord",
    "LostPool",
    "QueueRecord",
    "Snapshot",
    "TicketRecord",
    "agent_record",
    "decode",
    "encode",
    "queue_record",
    "restore_agent",
    "restore_ticket",
    "ticket_record",
]

#: Bumped when the layout changes: 2 added the pool's capacity-unit cost to its key.
FORMAT = 2


class QueueRecord(Struct, array_like=True):
    cfg: QueueConfig
    removed: bool
    #: the real-time windows of outcome counts (router/state/windows.py)
    windows: WindowsRecord | None = None
    #: ``QueueTally.waits``, the answered waits per histogram bucket since the start
    #: (``None`` in snapshots written before they were kept: they restart from zero)
    waits: list[int] | None = None


class AgentRecord(Struct, array_like=True):
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
    shift_no: int = 0
    off_shift: bool = False
    cooldown_until: float = float("-inf")
    break_due: float = float("inf")
    brk_flags: int = 0
    last_seen: float = 0.0
    rr: dict[str, int] = {}
    #: the agent's real-time figures (router/state/tallies.py)
    tally: AgentTallyRecord | None = None
    #: the ids of its offers and of its work in the order they came (what it gives back
    #: first); snapshots without them restore both in the order of the tickets
    offers: list[str] = []
    work: list[str] = []


class TicketRecord(Struct, array_like=True):
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
    callback: bool = False
    attributes: dict[str, Any] | None = None
    prefer: list[str] | None = None
    prefer_until: float = 0.0
    also: list[str] | None = None


#: a pool key in plain values: queue, tenant, requirement, heavy, cost, binding
LostPool = tuple[str, str | None, list[tuple[str, int]], bool, int, list[Any]]


class EarlyRecord(Struct, array_like=True):
    """The break-window candidates pending (``break_window_s``, router/state/breaks.py):
    the agents the core asks at its next pass (``Router._early_asks``, in order), the
    queued candidates (due, incarnation, counter, agent id; stale ones of agents still
    there included: they stand again if the agent is due the same again) and the counter."""

    asks: list[str]
    entries: list[tuple[float, int, int, str]]
    k: int


class Snapshot(Struct):
    format: int
    config: RouterConfig
    version: int
    now: float
    seq: int
    surge: bool
    counters: Counters
    gaps: dict[str, float]
    lasts: dict[str, float]
    queues: list[QueueRecord]
    pools: list[tuple[str, str | None, list[tuple[str, int]], bool, int]]
    agents: list[AgentRecord]
    tickets: list[TicketRecord]
    deadlines: list[tuple[float, int, int, str, int]]
    pending: list[str]
    freed: list[str]
    events: list[Event]
    extra: dict[str, Any] = {}
    #: deferred breaks (router/state/breaks.py): (due, incarnation, counter, agent id)
    breaks: list[tuple[float, int, int, str]] = []
    breaks_k: int = 0
    #: per pool (the order of ``pools``): its inquiry-attribute binding, as plain values
    pool_binds: list[list[Any]] = []
    #: per pool: the ``random`` mode's floor
    pool_floors: list[float] = []
    #: (pool index, [(agent id, key) of its live entries]) for pools in ``random`` mode
    random_keys: list[tuple[int, list[tuple[str, float]]]] = []
    #: draws taken from the ``random`` mode's generator
    draws: int = 0
    #: when the since-reset statistics started (``Router.reset_statistics``)
    statistics_reset_at: float = 0.0
    #: inquiries answered at the instant of that reset, before it
    statistics_reset_ties: list[str] = []
    #: (inquiry id, pool key as in ``pools`` plus its binding) of each ticket whose pool
    #: is no longer one of the router's: a reconfigure made new pools while it was in
    #: service (an open offer is given the new config's pool at the reconfigure; a snapshot written
    #: before may hold one here). It gets back a pool of that key of its own, as it held
    #: (``pool`` alone would name a listed pool of the same key, or none): an old offer is
    #: checked against the requirement it was made under, and is in no agent's pools. UNSET
    #: (left out of the bytes) when there is none: every other snapshot's bytes are as before
    lost_pools: list[tuple[str, LostPool]] | UnsetType = UNSET
    #: inquiry id -> the answer target its answer was counted by, for the assigned ones
    #: whose queue's target a reconfigure changed since (``Ticket.answer_target``); UNSET
    #: (left out of the bytes) when there is none
    answer_targets: dict[str, float] | UnsetType = UNSET
    #: the break-window candidates pending, restored as they were (a restored router
    #: decides an early break at the pass a replay does); UNSET (left out of the bytes)
    #: without ``break_window_s``. Missing, a restore asks every agent at the next pass
    early: EarlyRecord | UnsetType = UNSET
    #: the break-window candidates of agents gone since they queued (due, incarnation,
    #: counter, team): stale, but counted until a pass pops them or the count outgrows the
    #: staff (``BreakStaffing.n_early``), so restored as placeholders where they stood;
    #: UNSET (left out of the bytes) when there is none
    early_gone: list[tuple[float, int, int, str | None]] | UnsetType = UNSET
    #: agent id -> its run of declines (``max_declines``), for the agents with one; UNSET
    #: (left out of the bytes) when none has (always without the setting); 1 to 100, as
    #: the setting (an agent's ``u8``: a bad snapshot is refused, not wrapped)
    declines: dict[str, Annotated[int, Meta(ge=1, le=100)]] | UnsetType = UNSET


_encoder = msgspec.msgpack.Encoder(order="deterministic")  # sets sorted: bytes stable
_decoder = msgspec.msgpack.Decoder(Snapshot)


def encode(snap: Snapshot) -> bytes:
    """Deterministic bytes of a snapshot."""
    return _encoder.encode(snap)


class _Format(Struct):
    """Only a snapshot's ``format`` (the other fields skipped): read when the whole does
    not decode, to name another format rather than the first field its layout breaks."""

    format: int


_format_decoder = msgspec.msgpack.Decoder(_Format)


def decode(data: object) -> Snapshot:
    """A snapshot from :func:`encode` bytes; :class:`~router.errors.InvalidSnapshot` (a
    ``ValueError``) saying what is wrong when they are not bytes, not a snapshot, or
    another format's."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidSnapshot(f"expected bytes, got {type(data).__name__}")
    try:
        snap = _decoder.decode(data)
    except msgspec.MsgspecError as exc:
        try:
            other = _format_decoder.decode(data).format
        except msgspec.MsgspecError:
            other = FORMAT
        if other != FORMAT:
            raise InvalidSnapshot(_other_format(other)) from None
        raise InvalidSnapshot(format_validation_error(exc)) from None
    if snap.format != FORMAT:
        raise InvalidSnapshot(_other_format(snap.format))
    return snap


def _other_format(n: int) -> str:
    return f"format {n} is not supported (expected {FORMAT})"


def queue_record(
    q: QueueState, windows: WindowsRecord | None = None, waits: list[int] | None = None
) -> QueueRecord:
    return QueueRecord(q.cfg, q.removed, windows, waits)


def agent_record(a: Agent, tally: AgentTallyRecord | None = None) -> AgentRecord:
    return AgentRecord(
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
        recent=recent_pairs(a.recent),  # (either form: router/state/recent.py)
        recent_sum=a.recent_sum,
        heavy_streak=a.heavy_streak,
        heavy_block_until=a.heavy_block_until,
        no_answer=a.no_answer,
        timer_at=a.timer_at,
        shift_no=a.shift_no,
        off_shift=a.off_shift,
        cooldown_until=a.cooldown_until,
        break_due=a.break_due,
        brk_flags=a.brk_flags,
        last_seen=a.last_seen,
        rr=dict(a.rr),
        tally=tally,
        offers=list(a.offers),
        work=list(a.work),
    )


def restore_agent(rec: AgentRecord, a: Agent) -> None:
    """Put the recorded fields back on ``a`` (made from ``rec.spec``, caps already set)."""
    a.state = rec.state
    a.state_reason = rec.state_reason
    a.units_used = rec.units_used
    a.ver = rec.ver
    a.listed_ver = rec.listed_ver
    a.seq = rec.seq
    a.idle_since = rec.idle_since
    a.idle_from = rec.idle_from
    a.stretch_start = rec.stretch_start
    a.break_until = rec.break_until
    a.recent_sum = rec.recent_sum
    a.heavy_streak = rec.heavy_streak
    a.heavy_block_until = rec.heavy_block_until
    a.no_answer = rec.no_answer
    a.timer_at = rec.timer_at
    a.last_seen = rec.last_seen
    set_load(a, rec.load)  # shared (router/state/loads.py)
    a.total_load = sum(rec.load.values())
    a.recent = recent_from_pairs(rec.recent)  # this build's form
    if a.shifts:
        apply_shift(a, rec.shift_no, rec.off_shift)  # the shift's tenants and queues
    a.cooldown_until = rec.cooldown_until
    a.break_due = rec.break_due
    a.brk_flags = rec.brk_flags  # the core counts them again (break staffing)
    a.rr = dict(rec.rr)


def reorder(held: dict[str, Any], order: list[str]) -> None:
    """Put ``held`` (an agent's offers or work, keyed by inquiry id) in ``order`` when the
    record gave one for exactly these inquiries."""
    if order and len(order) == len(held) and all(i in held for i in order):
        items = [(i, held[i]) for i in order]
        held.clear()
        held.update(items)


def ticket_record(t: Ticket, pool_index: dict[Any, int]) -> TicketRecord:
    """``pool_index``: pool key -> position in the snapshot's pool list."""
    return TicketRecord(
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
        callback=t.callback,
        attributes=t.attributes,
        prefer=list(t.prefer) if t.prefer is not None else None,
        prefer_until=t.prefer_until,
        also=list(t.also) if t.also is not None else None,
    )


def restore_ticket(rec: TicketRecord, queue: QueueState, pools: list[Pool]) -> Ticket:
    """A ticket from its record (its agent is attached by the caller)."""
    t = Ticket(
        rec.id,
        queue,
        rec.priority,
        rec.arrival,
        rec.entered,
        rec.seq,
        rec.tenant,
        rec.extra,
        rec.heavy,
        rec.cost,
        rec.patience_at,
    )
    t.state = rec.state
    t.ver = rec.ver
    t.step = rec.step
    t.aged = rec.aged
    t.pool = pools[rec.pool] if rec.pool >= 0 else None
    t.declined = set(rec.declined) if rec.declined is not None else None
    t.offer_no = rec.offer_no
    t.assigned_at = rec.assigned_at
    t.wait_end = rec.wait_end
    t.callback = rec.callback
    t.attributes = rec.attributes
    t.prefer = tuple(rec.prefer) if rec.prefer is not None else None
    t.prefer_until = rec.prefer_until
    return t
