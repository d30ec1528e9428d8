"""Mutable hot-path records of the core: tickets (inquiries), agents, pools, queues.

Plain ``__slots__`` classes: created once per inquiry or agent and mutated in
place, never exposed to callers (callers see events and statistics). The core
(``router/core.py``) changes them; policies read them and ask the core for
changes through the operations of ``router/state/ops.py``.

Heaps are lazy: an entry ``(key, seq, ver, record)`` is live while
``record.ver == ver`` (an agent entry, which names its record by slot, reads that
version from the router's version table); every change of a record bumps its
version, so stale entries are skipped when they reach the top and dropped by
compaction (``router/state/lazyheap.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from heapq import heappop
from math import copysign
from typing import TYPE_CHECKING, Any, Final, final

from router.config import DISTRIBUTIONS, QueueConfig, Weights
from router.config.targeting import Target, compile_target
from router.model import AgentSpec, Shift
from router.state.estimate import QueueRates
from router.state.loads import (
    NO_LOAD,
    LoadState,
    cap_numbers,
    channel_no,
    load_state,
    step_up,
    with_channels,
)
from router.state.tallies import AgentTally, QueueTally
from router.state.vecheap import AgentHeap, LiveTable

if TYPE_CHECKING:  # (an annotation only: never evaluated, the pure build needs no import)
    from mypy_extensions import i32, u8

# Ticket states
WAITING: Final = 1
OFFERED: Final = 2
ASSIGNED: Final = 3
WRAPUP: Final = 4
DONE: Final = 5
PARKED: Final = 6  # out of line but keeping its place (callback); owned by admission

#: A ticket's version during its first stay in line (``Ticket.ver`` starts at 0 and every
#: entry into or exit from a line bumps it): the only stay whose entry may be in a pool's
#: ``arrivals`` line, so such an entry is live exactly while its ticket's version is this.
FIRST_STAY: Final = 1

#: The most :class:`TicketTerms` a queue keeps for sharing (its callers' tenants and costs
#: are open-ended, so the table is forgotten when full rather than grown).
MAX_SHARED_TERMS: Final = 4096

TICKET_STATE_NAMES = {
    WAITING: "waiting",
    OFFERED: "offered",
    ASSIGNED: "assigned",
    WRAPUP: "wrap_up",
    DONE: "done",
    PARKED: "parked",
}

# Agent states
READY: Final = 1
BREAK: Final = 2
AWAY: Final = 3
LOGGING_OUT: Final = 4

# What the wellbeing guardrails let a ready agent take now, whatever the queue
# (``Router._may_take``, the one rule; the real-time counts ask it too)
TAKES_ANY: Final = 0
TAKES_LIGHT: Final = 1  # no heavy queue: a pause after heavy work, or a heavy-only cooldown
TAKES_NONE: Final = 2  # a cooldown that keeps it off every queue

_INF = float("inf")

Requirement = tuple[tuple[str, int], ...]
#: The canonical values of the inquiry attributes a queue's ``match`` reads
#: (``router/config/targeting.py``); ``()`` when it reads none.
Binding = tuple[Any, ...]
#: (queue, tenant, skills at the ticket's relaxation step, heavy, capacity-unit cost,
#: the inquiry's attribute binding)
PoolKey = tuple[str, "str | None", Requirement, bool, int, Binding]


@final
class QueueState:
    """A configured queue and its running counters."""

    __slots__ = (
        "answer_target_s",
        "arrival_head",
        "binds",
        "by_arrival",
        "cfg",
        "chan",
        "channel",
        "coeffs",
        "est",
        "heavy",
        "last_terms",
        "late",
        "max_offers",
        "mode",
        "n_callbacks",
        "n_waiting",
        "name",
        "newest",
        "pools",
        "preferred_wait_s",
        "priority",
        "removed",
        "requires",
        "steps",
        "tally",
        "target",
        "tenant",
        "terms",
        "unit_cost",
        "waiting_by_priority",
        "weights",
    )

    def __init__(self, cfg: QueueConfig, weights: Weights, coeffs: Coeffs) -> None:
        self.name = cfg.name
        #: the TicketTerms of this queue's tickets, one per distinct (priority, tenant,
        #: heavy, cost, step) in use here (:meth:`terms_for`)
        self.terms: dict[tuple[int, str | None, bool, int, int], TicketTerms] = {}
        #: the record :meth:`terms_for` gave last (most arrivals of a queue share one:
        #: its own priority, tenant, heavy flag and the channel's cost)
        self.last_terms: TicketTerms | None = None
        self.n_waiting = 0
        self.n_callbacks = 0  # of n_waiting: callbacks holding their place in line
        #: priority -> how many of its inquiries wait in line: a record per priority seen
        #: here (made with the first TicketTerms of that priority, :meth:`waiting_count`),
        #: which the terms hold (``TicketTerms.waiting``): an entry into or exit from the
        #: line counts there without a dict lookup; priorities with none waiting stay at 0
        self.waiting_by_priority: dict[int, WaitingCount] = {}
        self.removed = False
        self.pools: list[Pool] = []  # every pool of this queue, in creation order
        # the longest wait (router/state/realtime.py): arrivals admitted in time order, and a
        # lazy heap by arrival of every other entry into the line (requeued, relaxed, moved);
        # by_arrival[:arrival_head]: stale heads already passed (compact_arrivals drops them)
        self.by_arrival: list[Ticket] = []
        self.arrival_head = 0
        self.newest = -float("inf")  # arrival of the last ticket appended to by_arrival
        self.late: list[tuple[float, int, int, Ticket]] = []
        #: the estimator's record of this queue (``WaitEstimator.made``/``record``), held by
        #: the core for the observations of every inquiry; ``None`` until it has one
        self.est: QueueRates | None = None
        self.tally = QueueTally(cfg.channel)  # real-time figures (router/state/realtime.py)
        #: its channel's capacity-unit cost, an arrival's default (set by the router with
        #: each configuration: ``Router._apply_config``)
        self.unit_cost = 1
        self.apply(cfg, weights, coeffs)

    def terms_for(
        self, priority: int, tenant: str | None, heavy: bool, cost: int, step: int
    ) -> TicketTerms:
        """The shared :class:`TicketTerms` of a ticket in this queue with these values (made
        on first use; the table holds at most :data:`MAX_SHARED_TERMS`)."""
        k = self.last_terms
        if (
            k is not None
            and k.priority == priority
            and k.cost == cost
            and k.step == step
            and k.heavy == heavy
            and (k.tenant is tenant or k.tenant == tenant)
        ):
            return k  # the table's record for these values (cleared with it)
        key = (priority, tenant, heavy, cost, step)
        terms = self.terms
        k = terms.get(key)
        if k is None:
            if len(terms) >= MAX_SHARED_TERMS:
                # callers' tenants and costs are open-ended: forget the table rather than
                # grow it (records are values; tickets keep theirs, sharing starts again)
                terms.clear()
            k = terms[key] = TicketTerms(self, priority, tenant, heavy, cost, step)
        self.last_terms = k
        return k

    def waiting_count(self, priority: int) -> WaitingCount:
        """The count of the inquiries of ``priority`` waiting here (made on first use)."""
        c = self.waiting_by_priority.get(priority)
        if c is None:
            c = self.waiting_by_priority[priority] = WaitingCount()
        return c

    def apply(self, cfg: QueueConfig, weights: Weights, coeffs: Coeffs) -> None:
        """Take ``cfg``; ``weights`` are the routing weights and ``coeffs`` their ``Coeffs``
        (one per configuration, shared by the queues without weights of their own)."""
        self.cfg = cfg
        self.channel = cfg.channel
        self.chan = channel_no(cfg.channel)  # (router/state/loads.py, channel numbers)
        self.priority = cfg.priority
        self.tenant = cfg.tenant
        self.requires: Requirement = tuple(sorted(cfg.requires.items()))
        self.steps: list[tuple[float, dict[str, int]]] = [
            (s.after_s, s.requires) for s in cfg.steps
        ]
        self.answer_target_s = cfg.answer_target_s
        self.weights = cfg.weights or weights
        #: the same weights as native floats for the scorer
        self.coeffs = coeffs if self.weights is weights else Coeffs(self.weights)
        self.heavy = cfg.heavy
        self.target: Target | None = compile_target(cfg.match) if cfg.match is not None else None
        #: whether the pool key carries the inquiry's attributes (the match reads some)
        self.binds = self.target is not None and bool(self.target.inquiry_names)
        #: index in DISTRIBUTIONS (0: scored; see router/state/distribution.py)
        self.mode = DISTRIBUTIONS.index(cfg.distribution)
        self.max_offers = cfg.max_offers
        self.preferred_wait_s = cfg.preferred_wait_s

    def binding(self, attributes: dict[str, Any] | None) -> Binding:
        """The part of a pool key an inquiry's attributes add (``()`` unless the match reads
        some)."""
        if not self.binds:
            return ()
        assert self.target is not None
        return self.target.bind(attributes)

    def head_of_line(self) -> Ticket | None:
        """The waiting inquiry next in line (smallest aged key over the queue's pools)."""
        if not self.n_waiting:
            return None
        best: Ticket | None = None
        for pool in self.pools:
            t = pool.first()
            if t is not None and (best is None or (t.aged, t.seq) < (best.aged, best.seq)):
                best = t
            for heap in (pool.declined, pool.preferring):
                while heap:
                    e = heap[0]
                    t = e[3]
                    if t.ver != e[2] or t.state != WAITING:
                        heappop(heap)
                        continue
                    if best is None or (t.aged, t.seq) < (best.aged, best.seq):
                        best = t
                    break
        return best

    def waiting(self) -> Iterator[Ticket]:
        """Every waiting inquiry of the queue (no order)."""
        for pool in self.pools:
            for t in pool.arrivals:
                if t.ver == FIRST_STAY and t.state == WAITING:
                    yield t
            for heap in (pool.waiting, pool.declined, pool.preferring):
                for e in heap:
                    t = e[3]
                    if t.ver == e[2] and t.state == WAITING:
                        yield t


@final
class WaitingCount:
    """How many inquiries of one priority wait in a queue's line
    (``QueueState.waiting_by_priority``)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


@final
class Pool:
    """All inquiries with one requirement key, and the agents eligible for it.

    ``agents``: heap of ``(score_key, seq, agent_ver, agent_slot)``, lower key = better
    (``AgentTuple`` in router/state/lazyheap.py; the agent is ``Router._slots[agent_slot]``;
    ``agent_ver`` the int object of ``Router._vers[agent_slot]``, typed ``object``, whose
    identity is the liveness test). The pure build's; compiled, ``agents`` stays empty and
    the heap is ``vh`` (router/state/vecheap.py: the same order, ``(key, rank)``).
    The waiting inquiries no agent declined are in two ordered lines: ``arrivals``, a
    list of the tickets that came in line in ``(aged, seq)`` order on their first stay
    (the common case: new arrivals in time order; one pointer each, live while the
    ticket's ``ver`` is :data:`FIRST_STAY`; ``last_aged``/``last_seq`` the key of the
    last one appended; the entries before ``head`` are stale heads already passed, which
    the next compaction drops: a list read from an index, where a deque's ``popleft``
    and ``[0]`` would be generic calls compiled), and ``waiting``, a heap of
    ``(aged_key, ticket_seq, ticket_ver, ticket)`` of every other one (requeued,
    re-prioritised, moved, or arrived out of order); the most urgent is the lesser of the
    two live heads (:meth:`first`).
    ``declined``: a heap as ``waiting`` of those some agent declined,
    with ``declined_by`` counting, per agent id, how many of them that agent declined.
    An agent whose count equals ``n_declined`` skips the declined heap at once; any
    other looks for the first entry it did not decline (the liveness bound in
    ``router/core.py``). ``eligible`` counts the agents eligible for the pool (logged in,
    not leaving) and ``n_away`` those of them set away: a declined inquiry's round of
    declines ends when every other one declined it (``Router._round_over``).
    ``preferring``: the same for inquiries still waiting for their preferred agents only
    (``router/state/preference.py`` lists them per agent; no other agent looks here).
    ``n_waiting`` counts all three heaps.
    ``bind`` is the inquiry-attribute part of the key; ``mode`` the queue's
    distribution mode and ``floor`` the ``random`` mode's last drawn winner
    (``router/state/distribution.py``).
    Entries go stale when their version no longer matches and are dropped lazily.
    """

    __slots__ = (
        "agents",
        "arrivals",
        "bind",
        "chan",
        "channel",
        "cost",
        "declined",
        "declined_by",
        "eligible",
        "floor",
        "head",
        "heavy",
        "key",
        "last_aged",
        "last_seq",
        "line_live",
        "lines",
        "members",
        "mode",
        "n_away",
        "n_declined",
        "n_listed",
        "n_preferring",
        "n_waiting",
        "preferring",
        "queue",
        "requires",
        "slots",
        "tenant",
        "vh",
        "waiting",
    )

    def __init__(self, key: PoolKey, queue: QueueState) -> None:
        self.key = key
        self.queue = queue
        self.tenant = key[1]
        self.requires = key[2]
        self.heavy = key[3]
        self.cost = key[4]
        self.channel = queue.channel
        self.chan = channel_no(queue.channel)  # (router/state/loads.py, channel numbers)
        self.agents: list[tuple[float, int, object, int]] = []
        #: the memberships ``(pool, proficiency feature, queue weight)`` of its eligible
        #: agents, one per distinct pair of values, shared (:func:`join_pool`); typed Any
        #: so that the compiled build hands on the tuple itself (a value typed as a tuple
        #: of three is unboxed there, and boxed again into a new tuple where it is stored)
        self.members: dict[tuple[float, float], Any] = {}
        self.arrivals: list[Ticket] = []
        self.head = 0  # arrivals[:head]: stale, passed by first(); dropped by a compaction
        self.last_aged = -_INF
        self.last_seq = 0
        self.waiting: list[tuple[float, int, int, Ticket]] = []
        #: compiled: the agent heap, parallel vectors (vecheap.py; ``agents`` stays empty);
        #: the router makes it with the pool. Pure: None (the heap is ``agents``)
        self.vh: AgentHeap | None = None
        self.declined: list[tuple[float, int, int, Ticket]] = []
        self.declined_by: dict[str, int] = {}
        self.n_waiting = 0
        self.n_declined = 0
        self.eligible = 0
        #: the eligible agents set away (``AWAY``: no answer, presence timeout, shift end),
        #: who wait for a person to come back: not in a round of declines (core._round_over)
        self.n_away = 0
        self.bind = key[5]
        self.mode = queue.mode
        self.floor = 0.0
        self.preferring: list[tuple[float, int, int, Ticket]] = []
        self.n_preferring = 0
        #: preferred agent id -> heap of the tickets in their preference phase that prefer it
        self.lines: dict[str, list[tuple[float, int, int, Ticket]]] = {}
        self.line_live: dict[str, int] = {}
        #: agents with a live entry in ``agents`` (each such agent lists this pool in its
        #: ``listed``): the free agents the expected wait counts (``free_agents``)
        self.n_listed = 0
        #: the caps on ``channel`` summed over the eligible agents (``pool_slots``)
        self.slots = 0

    def first(self) -> Ticket | None:
        """The most urgent waiting ticket no agent declined: the lesser ``(aged, seq)`` of
        the live heads of ``arrivals`` and ``waiting`` (stale heads are dropped)."""
        line = self.arrivals
        best: Ticket | None = None
        i = self.head
        n = len(line)
        while i < n:
            t = line[i]
            if t.ver == FIRST_STAY:
                best = t
                break
            i += 1  # stale for good (a ticket's version only grows): passed
        self.head = i
        heap = self.waiting
        while heap:
            entry = heap[0]
            t = entry[3]
            if t.ver != entry[2]:
                heappop(heap)
                continue
            if best is None:
                return t
            aged = entry[0]
            if aged < best.aged or (aged == best.aged and entry[1] < best.seq):
                return t
            break
        return best


@final
class Ticket:
    """One live inquiry."""

    __slots__ = (
        "aged",
        "agent",
        "arrival",
        "assigned_at",
        "id",
        "more",
        "offer_no",
        "patience_at",
        "pool",
        "seq",
        "state",
        "terms",
        "ver",
        "wait_end",
    )

    def __init__(
        self,
        id: str,
        queue: QueueState,
        priority: int,
        arrival: float,
        entered: float,
        seq: int,
        tenant: str | None,
        extra: dict[str, int] | None,
        heavy: bool,
        cost: int,
        patience_at: float | None,
    ) -> None:
        self.id = id
        #: queue, priority, tenant, heavy, cost and overflow step: a record shared by the
        #: tickets with the same six (:meth:`QueueState.terms_for`); replaced, never
        #: changed, when one of them changes
        self.terms = queue.terms_for(priority, tenant, heavy, cost, 0)
        self.arrival = arrival
        self.seq = seq
        self.patience_at = patience_at
        self.state = WAITING
        self.ver = 0
        self.aged = 0.0
        self.pool: Pool | None = None
        self.agent: Agent | None = None
        self.offer_no = 0
        self.assigned_at = 0.0
        self.wait_end = 0.0
        #: the fields a plain inquiry never sets (None until one of them is set)
        self.more: TicketMore | None = None
        if extra is not None:
            self.extra = extra
        # entered its queue later than it arrived (_differs: a call only at 0.0)
        if entered != arrival or (entered == 0.0 and _differs(entered, arrival)):
            self._more().entered = entered

    # The six fields below live in the shared ``terms``: setting one puts the ticket on
    # another record (the old one may be shared with other tickets).

    @property
    def queue(self) -> QueueState:
        """The queue it is in."""
        return self.terms.queue

    @queue.setter
    def queue(self, value: QueueState) -> None:
        k = self.terms
        self.terms = value.terms_for(k.priority, k.tenant, k.heavy, k.cost, k.step)

    @property
    def step(self) -> int:
        """Its overflow step in its queue (0: the queue's own requirement; ``i``: the one of
        ``queue.steps[i - 1]``)."""
        return self.terms.step

    @step.setter
    def step(self, value: int) -> None:
        k = self.terms
        self.terms = k.queue.terms_for(k.priority, k.tenant, k.heavy, k.cost, value)

    @property
    def priority(self) -> int:
        """Its priority (higher is served first)."""
        return self.terms.priority

    @priority.setter
    def priority(self, value: int) -> None:
        k = self.terms
        self.terms = k.queue.terms_for(value, k.tenant, k.heavy, k.cost, k.step)

    @property
    def tenant(self) -> str | None:
        """Its tenant (None: none)."""
        return self.terms.tenant

    @tenant.setter
    def tenant(self, value: str | None) -> None:
        k = self.terms
        self.terms = k.queue.terms_for(k.priority, value, k.heavy, k.cost, k.step)

    @property
    def heavy(self) -> bool:
        """A heavy inquiry (wellbeing: streaks and cooldowns)."""
        return self.terms.heavy

    @heavy.setter
    def heavy(self, value: bool) -> None:
        k = self.terms
        self.terms = k.queue.terms_for(k.priority, k.tenant, value, k.cost, k.step)

    @property
    def cost(self) -> int:
        """The capacity units it holds while offered or assigned."""
        return self.terms.cost

    @cost.setter
    def cost(self, value: int) -> None:
        k = self.terms
        self.terms = k.queue.terms_for(k.priority, k.tenant, k.heavy, value, k.step)

    # The fields below live in ``more``: reading one of a plain ticket gives its default,
    # setting one to its default allocates nothing.

    def _more(self) -> TicketMore:
        """The side record, allocated on first use."""
        m = self.more
        if m is None:
            m = self.more = TicketMore()
        return m

    @property
    def entered(self) -> float:
        """When it entered its current queue: its arrival until a transfer, a hand-back or
        a restore with another value (only a different value is kept, in ``more``)."""
        m = self.more
        if m is None:
            return self.arrival
        e = m.entered
        return self.arrival if e is None else e

    @entered.setter
    def entered(self, value: float) -> None:
        if _differs(value, self.arrival):
            self._more().entered = value
        elif self.more is not None:
            self.more.entered = None

    @property
    def extra(self) -> dict[str, int] | None:
        """Skills the inquiry requires beyond its queue's (None: none)."""
        m = self.more
        return None if m is None else m.extra

    @extra.setter
    def extra(self, value: dict[str, int] | None) -> None:
        if value is not None or self.more is not None:
            self._more().extra = value

    @property
    def declined(self) -> set[str] | None:
        """The ids of the agents that declined it (None: nobody did)."""
        m = self.more
        return None if m is None else m.declined

    @declined.setter
    def declined(self, value: set[str] | None) -> None:
        if value is not None or self.more is not None:
            self._more().declined = value

    @property
    def callback(self) -> bool:
        """A callback: the customer hung up and keeps the place."""
        m = self.more
        return False if m is None else m.callback

    @callback.setter
    def callback(self, value: bool) -> None:
        if value or self.more is not None:
            self._more().callback = value

    @property
    def answer_target(self) -> float | None:
        """The answer target its answer was counted by, kept by a reconfigure that changed
        its queue's while it was assigned (None: its queue's target in force)."""
        m = self.more
        return None if m is None else m.answer_target

    @answer_target.setter
    def answer_target(self, value: float | None) -> None:
        if value is not None or self.more is not None:
            self._more().answer_target = value

    @property
    def attributes(self) -> dict[str, Any] | None:
        """The inquiry's attributes (read by its queue's match)."""
        m = self.more
        return None if m is None else m.attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any] | None) -> None:
        if value is not None or self.more is not None:
            self._more().attributes = value

    @property
    def prefer(self) -> tuple[str, ...] | None:
        """The agents it prefers, in the order named; None when it names none."""
        m = self.more
        return None if m is None else m.prefer

    @prefer.setter
    def prefer(self, value: tuple[str, ...] | None) -> None:
        if value is not None or self.more is not None:
            self._more().prefer = value

    @property
    def prefer_until(self) -> float:
        """> 0 while it waits for its preferred agents only (until this time)."""
        m = self.more
        return 0.0 if m is None else m.prefer_until

    @prefer_until.setter
    def prefer_until(self, value: float) -> None:
        if value != 0.0 or self.more is not None:
            self._more().prefer_until = value

    @property
    def also(self) -> dict[str, Agent] | None:
        """With max_offers > 1: the other agents its open offer went to (None: one offer)."""
        m = self.more
        return None if m is None else m.also

    @also.setter
    def also(self, value: dict[str, Agent] | None) -> None:
        if value is not None or self.more is not None:
            self._more().also = value


def _differs(a: float, b: float) -> bool:
    """``a`` is not the same time as ``b`` (a ``-0.0`` differs from ``0.0``: either one
    reaches a snapshot as written)."""
    return a != b or (a == 0.0 and copysign(1.0, a) != copysign(1.0, b))


@final
class TicketTerms:
    """A ticket's queue, priority, tenant, heavy flag, cost and overflow step: immutable, one
    record per queue and distinct five values (kept by the queue:
    :meth:`QueueState.terms_for`), shared by every ticket that has them (a waiting inquiry
    keeps one pointer instead of six fields). A ticket whose value changes is given another
    record, so a change to one ticket, or to its queue's configuration (which updates the
    ``QueueState`` in place), never moves another's values."""

    __slots__ = (
        "cost",
        "heavy",
        "pool",
        "pool_gen",
        "priority",
        "queue",
        "step",
        "tenant",
        "waiting",
    )

    def __init__(
        self,
        queue: QueueState,
        priority: int,
        tenant: str | None,
        heavy: bool,
        cost: int,
        step: int,
    ) -> None:
        self.step = step
        self.queue = queue
        self.priority = priority
        self.tenant = tenant
        self.heavy = heavy
        self.cost = cost
        #: the pool of a ticket with these terms at step 0, no extra requirements and a
        #: queue whose match reads no attributes, while ``pool_gen`` is the router's
        #: (``Router._pool_for``; renewed when the pools or the queues' settings change)
        self.pool: Pool | None = None
        self.pool_gen = -1
        #: the queue's count of waiting inquiries of this priority (one record per queue
        #: and priority, shared by the terms that have them: ``_enqueue``/``_dequeue``)
        self.waiting = queue.waiting_count(priority)


@final
class TicketMore:
    """The fields of a :class:`Ticket` that a plain inquiry never sets, allocated the first
    time one is set (a waiting inquiry costs 64 bytes less without them)."""

    __slots__ = (
        "also",
        "answer_target",
        "attributes",
        "callback",
        "declined",
        "entered",
        "extra",
        "prefer",
        "prefer_until",
    )

    def __init__(self) -> None:
        #: when it entered its queue, if not at its arrival (None: at its arrival)
        self.entered: float | None = None
        self.extra: dict[str, int] | None = None
        self.declined: set[str] | None = None
        self.callback = False
        self.attributes: dict[str, Any] | None = None
        self.prefer: tuple[str, ...] | None = None
        self.prefer_until = 0.0
        self.also: dict[str, Agent] | None = None
        #: the answer target its answer was judged by, kept when a reconfigure changes its
        #: queue's target while it is assigned (a take-back then uses it; None: the queue's)
        self.answer_target: float | None = None


@final
class Agent:
    """One logged-in agent and everything the scorer and guardrails need."""

    __slots__ = (
        "batch_key",
        "break_due",
        "break_until",
        "brk_flags",
        "capn",
        "caps",
        "cooldown_until",
        "declines",
        "freed",
        "heavy_block_until",
        "heavy_streak",
        "id",
        "idle_from",
        "idle_since",
        "incarnation",
        "last_seen",
        "listed",
        "listed_ver",
        "load",
        "loadn",
        "loadst",
        "no_answer",
        "off_shift",
        "offers",
        "pools",
        "queues",
        "rank",
        "recent",
        "recent_sum",
        "roomy",
        "rr",
        "seq",
        "shift_end",
        "shift_next",
        "shift_no",
        "shifts",
        "skills",
        "slot",
        "spec",
        "state",
        "state_reason",
        "stretch_start",
        "tally",
        "team",
        "tenants",
        "timer_at",
        "timer_seq",
        "total_load",
        "units",
        "units_by",
        "units_used",
        "ver",
        "work",
        "wrap_up_s",
    )

    def __init__(self, spec: AgentSpec, now: float, incarnation: int) -> None:
        # The order of these assignments is the field order of the compiled record (mypyc
        # lays its attributes out as ``__init__`` first assigns them; the pure build's layout
        # is ``__slots__``'s): the fields a lifecycle reads together come first and together,
        # so that an agent touched costs fewer cache lines (at 100,000 agents they are
        # memory misses; BENCHMARKS.md, "The lifecycle at 100,000 agents (scale28)"). First
        # ``ver`` and ``state``, which ``unlist`` and ``_refresh`` read first (a heap entry's
        # liveness test reads the router's version table, not the record: lazyheap.py),
        # beside the object header that fetching the record touches anyway; then what
        # ``_refresh`` and the scorer read, then assignment, release and completion, then the
        # timer's guardrails; the spec's copies and the schedule last.
        self.ver = 0
        self.state = READY
        #: the pools holding a live entry of this agent (``Pool.n_listed`` counts them)
        self.listed: list[Pool] = []
        self.seq = 0
        self.listed_ver = -1
        # (pool, proficiency feature, queue weight)
        self.pools: list[tuple[Pool, float, float]] = []
        #: inquiries held per channel: its load state's dict, shared by every agent with the
        #: same counts and never changed in place (router/state/loads.py); changed only
        #: with ``loadst``, to a neighbouring state (``load_up``, ``load_with``, ``set_load``,
        #: and ``Router._assign`` and ``_release`` inline)
        self.load: dict[str, int] = NO_LOAD.counts
        self.loadst: LoadState = NO_LOAD
        #: ``loadst.nums``: ``load`` by channel number (``Pool.chan``; router/state/loads.py)
        self.loadn: list[int] = NO_LOAD.nums
        #: replaced (``set_caps``), never changed in place: shared by the agents with the
        #: same caps (``Router._set_caps``); ``capn`` is it by channel number, shared too
        self.caps: dict[str, int] = {}
        self.capn: list[int] = []
        self.units: int | None = spec.units
        self.units_used = 0
        # wellbeing: a cooldown after long heavy work; a break waiting for a place
        self.cooldown_until = -_INF
        self.idle_since = now
        self.recent_sum = 0.0
        #: the recent-work window, an entry per work ended (when, and how long it took) in
        #: time order: ``RecentWork`` objects compiled, flat floats ``[at, handle, ...]``
        #: pure (``router/state/recent.py``)
        self.recent: list[Any] = []
        self.heavy_streak = 0
        self.total_load = 0
        #: the agent's index in the router's slot table (``Router._slots``): its heap
        #: entries name it by this int, not by reference (lazyheap.py, vecheap.py)
        self.slot = -1
        self.id: str = spec.id
        self.roomy = False  # ready with a free slot on some channel (statistics count it)
        #: ``max_declines``: its declines in a row with nothing accepted between (at most the
        #: setting). A ``u8`` beside the one-byte ``roomy``, in the padding before ``rank``:
        #: the compiled record keeps its size
        self.declines: u8 = 0
        #: in ``Router._freed`` (freed since the last matching pass, so in it once): a bool
        #: after ``declines``, in the padding before ``rank``: the record keeps its size
        self.freed = False
        #: compiled: the listing's rank, its entries' ``seq`` (vecheap.py's ``ss``): ``seq``'s
        #: order in 31 bits (``Router._refresh``, ``_renumber_ranks``); pure: unused. An
        #: ``i32`` right after the one-byte ``roomy``, in its padding: the compiled record
        #: keeps its size (a 448-byte block with the collector's header, the object at a
        #: line's start) and its fields' places
        self.rank: i32 = 0
        self.offers: dict[str, Ticket] = {}
        self.work: dict[str, Ticket] = {}
        self.idle_from = now
        self.stretch_start = now
        self.break_due = _INF  # inf: no break deferred
        self.no_answer = 0
        #: the last input from the agent's console (presence timeouts)
        self.last_seen = now
        self.tally = AgentTally(now)  # real-time figures (router/state/realtime.py)
        self.timer_at = float("inf")  # the agent's one pending timer (core._schedule_agent)
        self.timer_seq = 0  # and the sequence number of its deadline entry
        #: when its schedule next changes other than at its shift end (inf: never; set with
        #: ``shift_no`` below). Here, not with the schedule's fields: the agent timer's
        #: guardrails (``Guardrails.check``) read it, and this line of the compiled record
        #: they read anyway (BENCHMARKS.md, scale49)
        self.shift_next = _INF
        self.wrap_up_s: float = spec.wrap_up_s
        self.heavy_block_until = 0.0
        self.break_until = 0.0
        self.shift_end: float | None = spec.shift_end
        self.brk_flags = 0  # what break staffing counted (router/state/breaks.py)
        #: round robin: queue -> the router's sequence number at the agent's last offer there
        self.rr: dict[str, int] = {}
        self.incarnation = incarnation
        self.state_reason = ""
        self.spec = spec
        self.skills: dict[str, int] = dict(spec.skills)
        self.tenants: frozenset[str] = spec_tenants(spec)
        self.queues: dict[str, float] = dict(spec.queues)
        # schedules (router/state/schedule.py): the current (or, off shift, the next)
        # shift and the next change that is not the shift end
        self.team: str | None = spec.team
        #: a tuple: usually the empty one, which the collector does not track
        self.shifts: tuple[Shift, ...] = tuple(spec.shifts)
        self.shift_no = 0
        self.off_shift = False
        #: capacity units held per channel (agents with ``units``; interruptible work)
        self.units_by: dict[str, int] = {}
        if self.shifts and self.shift_end is None:
            self.shift_end = self.shifts[-1].end_s
        #: its ``_best_key`` while a batch of freed agents is ordered (``Router._by_best_key``)
        self.batch_key = _INF


def spec_tenants(spec: AgentSpec) -> frozenset[str]:
    """``spec.tenants`` as a frozenset: the spec's own, not a copy (the compiled build's
    ``frozenset()`` copies one), so an agent holds one tracked object less for the
    collector."""
    return as_names(getattr(spec, "tenants"))  # noqa: B009 (see as_names)


def shift_tenants(shift: Shift) -> frozenset[str] | None:
    """``shift.tenants`` as a frozenset, or None where the shift names none."""
    tenants = getattr(shift, "tenants")  # noqa: B009 (see as_names)
    return None if tenants is None else as_names(tenants)


def as_names(values: Any) -> frozenset[str]:
    """A Python caller's set, list or tuple of names (checked by ``router.values``) as the
    frozenset the wire gives. The fields are read with ``getattr``: the compiled build checks
    an attribute read of a declared ``frozenset`` field and refused the other forms."""
    return values if type(values) is frozenset else frozenset(values)


def serves(
    agent: Agent,
    tenants: frozenset[str],
    queues: dict[str, float],
    q: QueueState,
    tenant: str | None,
    requires: Requirement,
) -> bool:
    """Whether ``agent``'s skills and channels, with these ``tenants`` and ``queues`` (its
    own, or those of a shift), let it serve ``requires`` of ``tenant`` in queue ``q``."""
    if queues and q.name not in queues:
        return False
    if tenant is not None and tenant not in tenants:
        return False
    if agent.spec.capacity.get(q.channel, 0) <= 0:
        return False
    skills = agent.skills
    for s, lvl in requires:  # noqa: SIM110 (a plain loop: no generator)
        if skills.get(s, 0) < lvl:
            return False
    return True


def load_up(agent: Agent, ch: str) -> int:
    """One inquiry more on ``ch`` for ``agent`` (its load state's neighbour); the new count."""
    st = step_up(agent.loadst, ch)
    agent.loadst = st
    agent.loadn = st.nums
    counts = agent.load = st.counts
    return counts[ch]


def load_with(agent: Agent, channels: Iterable[str]) -> None:
    """``agent``'s load counts each of ``channels`` (0 where it had no count)."""
    st = with_channels(agent.loadst, channels)
    agent.loadst = st
    agent.loadn = st.nums
    agent.load = st.counts


def set_load(agent: Agent, counts: dict[str, int]) -> None:
    """``agent``'s load is ``counts`` (a restored record's), shared (router/state/loads.py)."""
    st = load_state(counts.items())
    agent.loadst = st
    agent.loadn = st.nums
    agent.load = st.counts


def unlist(agent: Agent, vers: list[object], table: LiveTable | None = None) -> None:
    """Every heap entry of ``agent`` goes stale (its version changes, and its cell in the
    router's version table ``vers`` is cleared: router/state/lazyheap.py; compiled, its cell
    in the live ``table``: router/state/vecheap.py): it is listed nowhere until re-pushed."""
    agent.ver += 1
    if table is None:  # no entry holds None; the next listing (_refresh) writes its own
        vers[agent.slot] = None
    else:  # compiled: no entry's ``ss`` is -1
        table.cells[agent.slot] = -1
    listed = agent.listed
    if listed:
        for pool in listed:
            pool.n_listed -= 1
        listed.clear()


def listed(agent: Agent, pool: Pool) -> None:
    """``agent``'s current version was pushed into ``pool``'s agent heap."""
    agent.listed.append(pool)
    pool.n_listed += 1


def join_pool(agent: Agent, pool: Pool, prof: float, weight: float) -> None:
    """``agent`` becomes eligible for ``pool``. Its membership is the pool's one tuple of
    these values, shared by every agent with them (the agents of a profile share theirs:
    one tracked object less per agent and pool for the cyclic collector). Neither value is
    ever ``-0.0`` (a mean of ``(level - 1) / 4``; a weight > 0), so equal keys are the same
    floats."""
    members = pool.members
    key = (prof, weight)
    m = members.get(key)
    if m is None:
        members[key] = (pool, prof, weight)
        m = members[key]  # the stored tuple (see Pool.members)
    agent.pools.append(m)
    pool.eligible += 1
    if agent.state == AWAY:
        pool.n_away += 1
    pool.slots += agent.caps.get(pool.channel, 0)


def leave_pools(agent: Agent) -> None:
    """``agent`` is eligible for no pool any more (its eligibility is worked out again, or
    it logs out)."""
    caps = agent.caps
    away = agent.state == AWAY
    for pool, _, _ in agent.pools:
        pool.eligible -= 1
        if away:
            pool.n_away -= 1
        pool.slots -= caps.get(pool.channel, 0)
    agent.pools = []


def count_away(agent: Agent, sign: int) -> None:
    """``agent``, eligible for its pools, is set away (``sign`` 1) or back (-1):
    ``Pool.n_away`` follows."""
    for pool, _, _ in agent.pools:
        pool.n_away += sign


def set_caps(agent: Agent, caps: dict[str, int]) -> None:
    """``agent``'s caps per channel become ``caps`` (the pools' slots follow)."""
    old = agent.caps
    for pool, _, _ in agent.pools:
        ch = pool.channel
        pool.slots += caps.get(ch, 0) - old.get(ch, 0)
    agent.caps = caps
    agent.capn = cap_numbers(caps)


def free_agents(pool: Pool, need: int) -> int:
    """How many agents are listed in ``pool`` now, ready to take its work (counting stops
    at ``need``): exact, whatever the layout of the pool's heap."""
    n = pool.n_listed
    return n if n < need else need


def agent_room(agent: Agent, pool: Pool) -> int:
    """How many inquiries of ``pool`` ``agent`` could hold more now: its cap on the pool's
    channel less its load there, within its units left (``units``, each inquiry costing
    ``pool.cost``); at least 1 (asked of a listed or freed agent, which can take one)."""
    ch = pool.channel
    room = agent.caps.get(ch, 0) - agent.load.get(ch, 0)
    units = agent.units
    cost = pool.cost
    if units is not None and cost > 0:
        left = (units - agent.units_used) // cost
        if left < room:
            room = left
    return room if room > 1 else 1


def pool_slots(pool: Pool) -> float:
    """Eligible capacity of ``pool``: the caps on its channel summed over its eligible
    agents (at least 1)."""
    return max(1.0, float(pool.slots))


@final
class Coeffs:
    """A :class:`~router.config.Weights` as native float attributes: what the scorer
    (``router/state/scoring.py``) reads on every refresh, without an attribute lookup on
    the config struct. The core makes one for the routing weights per configuration, which
    the queues without weights of their own share (its refresh groups pools by identity),
    and one per queue with its own.
    Each value is ``float(weight)``: the same float arithmetic as reading the struct."""

    __slots__ = (
        "heavy_streak",
        "idle_time",
        "load",
        "proficiency",
        "recent_count",
        "recent_work",
    )

    def __init__(self, w: Weights) -> None:
        self.proficiency = float(w.proficiency)
        self.idle_time = float(w.idle_time)
        self.load = float(w.load)
        self.recent_work = float(w.recent_work)
        self.recent_count = float(w.recent_count)
        self.heavy_streak = float(w.heavy_streak)
