"""The sans-I/O routing core.

Theory of operation
-------------------
``Router`` is a synchronous state machine in the h11 style. Inputs are the
structs of ``router/inputs.py`` (``Submit``, ``Withdraw``, ``Login``,
``SetReady``, ``GoOnBreak``, ``Logout``, ``Accept``, ``Decline``, ``Complete``,
``CallbackFailed``, ``Reconfigure``, and the in-queue changes ``UpdateInquiry``,
``Transfer``, ``HandBack``, ``UpdateAgent``, ``Heartbeat``), taken by
``handle(input, now)`` or by the method of the same name; they record facts at
a caller supplied ``now``.
``tick(now)`` fires due deadlines, runs one matching pass and returns the
events that happened since the last tick. ``next_deadline()`` says when the
driver must call ``tick`` again. The core never reads a clock, sleeps, does I/O
or imports an event loop: adapters and the simulator supply time.

Data structures. Inquiries with the same requirement (queue, tenant, skills
after relaxation, heavy or not, capacity-unit cost, the values of the inquiry
attributes the queue's ``match`` reads) share a :class:`Pool`. A
pool holds lazy heaps (``router/state/lazyheap.py``): ready agents eligible for
it, keyed by their score (``router/state/scoring.py``; the idle term is linear
in time so the key never needs re-sorting), and waiting inquiries keyed by aged
arrival ``arrival - priority * priority_seconds`` then sequence: those no agent
declined in a line of the new arrivals that came in that order (one pointer each)
and a heap of every other entry, read as one line (``Pool.first``); those some
agent declined in a heap of their own. Every agent change bumps
the agent's version, which invalidates its heap entries; a refresh pushes new
ones only into the pools where it can take work now. A new arrival looks at the
head of one agent heap; a freed agent looks at the heads of the waiting heaps
of the pools it is eligible for. No decision scans all agents or all
inquiries. Whether an agent is eligible for a pool (skills, tenant, channel,
the queue's ``match`` expression) is decided once, when either appears.

Routing features (docs/routing-features.md): a queue's distribution mode is
the agent heap's key (``router/state/distribution.py``); an inquiry waiting for
its preferred agents sits in their lines of its pool, not in the heaps everyone
reads (``router/state/preference.py``); with ``max_offers > 1`` a decision
offers one ticket to several agents (``Ticket.also``), the first accept wins and
the others are rescinded. A matching pass lets agents freed since the last one
pull the most urgent work first; a freed agent whose most urgent inquiry is new
in the pass lists itself and lets the inquiry pick by its queue's mode.

One deadline heap (lazy too) drives offer expiry, patience,
relaxation steps, the end of a wait for preferred agents, wrap-up ends,
policy timers and agent timers
(``router/wellbeing.py``); offer expiries, pushed in time order (``now`` plus one
timeout), wait beside it in a plain line (pure, a ``deque``; compiled, a list read from a
head index, ``Router._line``), merged with its head by ``(when, seq)``.
Every offer pushes its expiry and most offers end
before it (accepted, declined): the core counts those spent entries and
compacts in bulk once they outnumber the rest: the line first
(:meth:`Router._compact_offer_line`, where they wait when offers are made in time order),
the heap too only where the line alone leaves them outnumbering
(:meth:`Router._compact_deadlines`); snapshots hold only deadlines that can
still fire, so compaction never shows. An agent has one timer, its latest entry (an
older one at the same time never comes back, so asking ``next_deadline()`` changes
nothing later). The offer and agent timer entries hold atoms only (the inquiry's id,
the agent's slot: :meth:`Router._entry_obj`), which the cyclic collector stops tracking.
The compiled build's entries are ``lazyheap.DeadlineEntry`` objects (native fields, never
tracked): the object a ticket's or a policy timer's entry names waits beside the heap, in
``Router._deadline_refs`` under the entry's ``seq``, until the entry leaves it.
Break-staffing decisions asked for while an instant's deadlines fire
wait for the instant's end (``_decide_breaks``): every shift change of that instant
counts first. Policies reach the state only through the core
operations of ``router/state/ops.py`` (implemented by ``_Ops``); a ticket's
life ends in one place, :meth:`Router._end`.

Memory at scale: at 10,000 agents an agent's own objects are out of the caches by
the time it is touched again. An agent's ``offers`` or ``work`` dict that its last
entry leaves is ``clear()``ed then, while its key table is in cache: the table goes
back to the interpreter's free list, and the next insertion takes one from there
(recently used, in cache) rather than reading and writing the cold one.

Invariant after every ``tick`` (liveness): no waiting inquiry is compatible
with a ready agent that has room for it and has not declined it (while an
inquiry waits for its preferred agents, only they are compatible); and, with
``decline_memory = "round"``, no waiting inquiry keeps its declines once every
agent in its round (eligible for its pool, logged in, not set away) declined it:
they are forgotten when it enters a line so (``_ends_round``) and when an agent
leaves a pool holding declined inquiries or is set away (``_end_rounds``). No search gives
up to keep it: a freed agent takes the head of a pool's undeclined heap unless
the declined heap holds a more urgent inquiry it did not decline; an agent
that declined every declined inquiry of the pool (``Pool.declined_by``) skips
that heap in O(1). The bound that remains: a decision costs O(log n) plus
O(log n) for each inquiry the deciding agent itself declined that still waits
ahead of the one it gets in that pool; a waiting inquiry looking for an agent
skips, the same way, only the agents that declined it. The cost of a decline is
paid by the one who declined. Ties break on a sequence counter, so the same
inputs give the same events (the compiled agent heaps hold each listing's rank
instead, the same order in 31 bits, packed with the agent's slot into one int:
``Agent.rank``, ``_renumber_ranks``).

Errors: a caller's mistake raises a ``UsageError`` subclass and changes
nothing: values are checked (``router/inputs.py``) before time moves; a refusal
that depends on the state comes after deadlines already due at ``now`` fired
(time passing is not the input's effect). Any other exception marks the
instance broken.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable
from copy import deepcopy
from heapq import heapify, heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any, Final, final, overload

import msgspec
from msgspec import UNSET, UnsetType

from router._build import is_compiled
from router.config import (
    DEFAULT_CHANNELS,
    RouterConfig,
    config_problems,
    convert_config,
    semantic_problems,
    shape_problems,
)
from router.config.targeting import canon, decanon
from router.errors import (
    ConfigError,
    DuplicateId,
    ImpossibleRequirement,
    InvalidInput,
    InvalidSnapshot,
    InvalidState,
    RouterBroken,
    TimeWentBackwards,
    UnknownId,
    UsageError,
)
from router.events import (
    Abandoned,
    AgentAttributesSet,
    AgentAway,
    AgentDraining,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentOnBreak,
    AgentReady,
    AgentUpdated,
    Assigned,
    BreakDeferred,
    Completed,
    CooldownStarted,
    DeclinesForgotten,
    Deflected,
    Event,
    Explanation,
    FeatureScore,
    InquiryUpdated,
    OfferDeclined,
    Offered,
    OfferExpired,
    OfferRescinded,
    Overflowed,
    Reconfigured,
    Rejected,
    Requeued,
    TaskExpired,
    Transferred,
    Withdrawn,
    WrapUpEnded,
)
from router.inputs import (
    Accept,
    CallbackFailed,
    Complete,
    Decline,
    GoOnBreak,
    HandBack,
    Heartbeat,
    Input,
    Login,
    Logout,
    Reconfigure,
    ResetStatistics,
    SetAttributes,
    SetReady,
    Submit,
    Transfer,
    UpdateAgent,
    UpdateInquiry,
    Withdraw,
    check_input_ids,
)
from router.model import Admission, AgentSpec, Attributes, Inquiry
from router.policies.admission import K_BP, AdmissionPolicy, build_policies
from router.policies.control import AdmissionControl, queued_admitted
from router.state import codec, preference, schedule
from router.state.breaks import DRAINING, LEAVING, ON_BREAK, STAFFED, BreakStaffing
from router.state.capacity import Interrupts
from router.state.counting import LiveCounters
from router.state.distribution import RANDOM, ROUND_ROBIN, SCORED, Draws, mode_features, mode_key
from router.state.estimate import QueueRates, WaitEstimator
from router.state.lazyheap import (
    RANK_LIMIT,
    SLOT_BITS,
    SLOT_LIMIT,
    DeadlineEntry,
    DeadlineTuple,
    best_live_except,
    compact_agents,
    deadline_heapify,
    deadline_pop,
    deadline_push,
    deadline_rekey,
    first_not_declined,
    live_arrivals,
    live_tickets,
)
from router.state.loads import step_down_no, step_up_no
from router.state.ops import PolicyTimer
from router.state.realtime import (
    Realtime,
    compact_arrivals,
    fits,
    has_room,
    index_arrivals,
    restore_tally,
    tally_record,
)
from router.state.recent import NATIVE as NATIVE_RECENT
from router.state.recent import RecentWork
from router.state.records import (
    ASSIGNED,
    AWAY,
    BREAK,
    DONE,
    FIRST_STAY,
    LOGGING_OUT,
    OFFERED,
    PARKED,
    READY,
    TAKES_ANY,
    TAKES_LIGHT,
    TAKES_NONE,
    TICKET_STATE_NAMES,
    WAITING,
    WRAPUP,
    Agent,
    Coeffs,
    Pool,
    PoolKey,
    QueueState,
    Requirement,
    Ticket,
    agent_room,
    count_away,
    join_pool,
    leave_pools,
    listed,
    load_up,
    load_with,
    pool_slots,
    set_caps,
    spec_tenants,
    unlist,
)
from router.state.scoring import Scorer
from router.state.staffing import pool_changes
from router.state.vecheap import SLOT_MASK, AgentHeap, LiveTable
from router.state.windows import Counts
from router.stats import AgentStatistics, Counters, QueueHolds, RouterStatistics
from router.values import (
    MAX_NAME,
    NO_TAGS,
    InquiryFields,
    check_agent_spec,
    check_attributes,
    check_bound,
    check_id,
    check_now,
    check_priority,
    check_reason,
    check_requires,
    inquiry_fields,
    query_id,
)
from router.wellbeing import (
    BREAK_OVER,
    CHANGED,
    SHIFT_CHANGE,
    SHIFT_END,
    TAKE_BREAK,
    Guardrails,
)

if TYPE_CHECKING:  # (an annotation only: never evaluated, the pure build needs no import)
    from mypy_extensions import i32, i64

__all__ = ["Router"]

# Deadline kinds
K_OFFER: Final = 1
K_PATIENCE: Final = 2
K_STEP: Final = 3
K_WRAP: Final = 4
K_AGENT: Final = 5
K_PREFER: Final = 16  # the end of an inquiry's wait for its preferred agents (K_BP is 6)

_INF: Final = float("inf")
#: compiled: what a cell of the offer line (``Router._line``) holds once its entry was popped
#: (the entry itself is released at its pop)
_PASSED: Final = DeadlineEntry(_INF, 0, 0, None, 0)
#: compiled: the offer line's passed cells are cut off once this many or more, and at least
#: as many as the entries held (:meth:`Router._line_cut`)
_LINE_CUT: Final = 64
#: how many entries of a pool's agent heap ``Router._listed_room`` looks at (a bound)
_ROOM_LOOK: Final = 32
#: the deadline heap is compacted once its spent offer entries outnumber the rest by this
_SPENT_SLACK: Final = 64
#: the most distinct caps dicts the agents share (``Router._caps_shared``; then forgotten)
MAX_SHARED_CAPS: Final = 4096

# What the wellbeing guardrails let a ready agent take now, whatever the pool (_may_take);
# this module's own Finals: compiled, a name imported from another module is looked up
# on every use (docs/compiled.md), and _may_take runs for every freed agent
_TAKES_ANY: Final = TAKES_ANY
_TAKES_LIGHT: Final = TAKES_LIGHT
_TAKES_NONE: Final = TAKES_NONE
# the events every lifecycle builds, as this module's Finals for the same reason (a class
# imported from router.events is a module-dict lookup per use, compiled)
_Assigned: Final = Assigned
_Completed: Final = Completed
#: the longest batch of freed agents or pending arrivals the compiled build orders by
#: insertion (``_by_best_key``, ``_by_urgency``: quadratic at worst); longer ones are sorted
_BY_INSERTION: Final = 32
#: ``Router._fresh_list`` between passes: an empty list, never written (read below ``_fresh_n``)
_NO_FRESH: Final[list[Ticket]] = []
#: a plain arrival's staffing changes without schedules: an empty list, never written (read
#: by ``AdmissionControl.arrival_wait`` and the estimator), not a new one per arrival
_NO_CHANGES: Final[list[tuple[float, int]]] = []
#: ``Inquiry.tags``' default (``router.values.NO_TAGS``): tags left at it hold no "heavy"
_NO_TAGS: Final = NO_TAGS

#: what a retired slot names (``Router._retire_slot``): a version no heap entry has
_GONE: Final = Agent(AgentSpec(id="", capacity={}), 0.0, -1)
_GONE.ver = -1


def _gone_agent(team: str | None) -> Agent:
    """A placeholder for an agent gone since it queued as an early candidate (restored
    from ``Snapshot.early_gone``): in ``team``'s heap, counted on no shift (``brk_flags``
    0), so no one's candidate: popped or dropped as the gone agent's entry would be."""
    return Agent(AgentSpec(id="", capacity={}, team=team), 0.0, -1)


@final
class Router:
    """A contact-center routing engine with no I/O. See the module docstring."""

    # every attribute the router has, named (pure build: no instance dict, so ``self._x``
    # reads and ``self._m(...)`` calls specialize to a slot read and a method without a dict
    # check; with a dict of this many keys CPython 3.11 keeps them generic); a new
    # attribute goes here too (compiled, mypyc ignores this: a native class has no dict)
    __slots__ = (
        "_agents",
        "_batch",
        "_bp",
        "_break_asks",
        "_break_s",
        "_breaks",
        "_broken",
        "_by_skill",
        "_caps_shared",
        "_cfg",
        "_changed",
        "_channels",
        "_cooldown_heavy",
        "_counters",
        "_deadline_refs",
        "_deadlines",
        "_drain_next",
        "_drain_s",
        "_draws",
        "_early_asks",
        "_early_look",
        "_early_s",
        "_estimator",
        "_events",
        "_free_slots",
        "_freed",
        "_fresh",
        "_fresh_list",
        "_fresh_n",
        "_fresh_one",
        "_guard",
        "_heavy_k",
        "_immediate",
        "_in_instant",
        "_interrupts",
        "_line",
        "_line_at",
        "_line_head",
        "_line_last",
        "_live",
        "_max_concurrency",
        "_max_declines",
        "_max_no_answer",
        "_n_assigned",
        "_n_offered",
        "_n_ready",
        "_n_with_room",
        "_n_wrapup",
        "_native_heap",
        "_now",
        "_offer_entries",
        "_offer_line",
        "_offer_timeout",
        "_pending",
        "_plans",
        "_pool_gen",
        "_pools",
        "_presence",
        "_ps",
        "_queues",
        "_rank",
        "_rank_limit",
        "_reconfigure_listeners",
        "_release_asked",
        "_releasing",
        "_retired",
        "_rollback_now",
        "_rounds",
        "_scheduled",
        "_scorer",
        "_seq",
        "_slot_limit",
        "_slots",
        "_spent_room",
        "_staff_ver",
        "_strict",
        "_surge",
        "_table",
        "_tickets",
        "_top_fired",
        "_trace",
        "_unit_cost",
        "_uses_recent",
        "_vers",
        "_version",
        "_waiting",
        "_waiting_cb",
        "_wb",
        "_window",
    )

    def __init__(self, config: RouterConfig | None = None, *, now: float = 0.0) -> None:
        cfg = config if config is not None else RouterConfig()
        problems = config_problems(cfg)
        if problems:
            raise ConfigError(problems)
        cfg = deepcopy(cfg)  # the router's own: the caller may edit theirs, unchecked
        self._broken: BaseException | None = None
        self._now = check_now(now)
        self._rollback_now = self._now
        self._seq = 0
        self._version = 1
        #: called in turn after each successful ``reconfigure`` (its config in force) with
        #: the queues it removed, each mapped to where its waiting inquiries went (``None``:
        #: rejected): :meth:`add_reconfigure_listener`; the simulator's engine sees every
        #: config so, an embedder's listener beside it (not restored from a snapshot)
        self._reconfigure_listeners: list[Callable[[dict[str, str | None]], object]] = []
        self._events: list[Event] = []
        self._tickets: dict[str, Ticket] = {}
        self._agents: dict[str, Agent] = {}
        #: the compiled build's heaps (pure: ``heapq`` on tuples, C code there, faster than
        #: the Python functions): the agent heaps are ``vecheap.AgentHeap`` vectors
        #: (``Pool.vh``) with the live table ``_table``; the deadline heap and the offer line
        #: hold ``DeadlineEntry`` objects (``lazyheap.deadline_push``/``deadline_pop``); the
        #: same order either way
        self._native_heap: bool = is_compiled("router.state.lazyheap")
        #: the slot table: the agent heap entries name their agent by its index here
        #: (``Agent.slot``; router/state/lazyheap.py); slots of agents gone are retired
        #: (they name ``_GONE``) and free again once every agent heap was compacted
        self._slots: list[Agent] = []
        #: pure: the version table, parallel to ``_slots``: each slot's agent's version as
        #: the int object its heap entries hold while it is listed at that version (``None``
        #: once it moves on or the slot retires); an entry is live while it holds that very
        #: object (``vers[slot] is ver``: router/state/lazyheap.py), a test that reads this
        #: list and not the agent. Compiled: empty (the live table holds liveness)
        self._vers: list[object] = []
        #: compiled: the live table, by slot the ``ss`` (``rank << SLOT_BITS | slot``) of
        #: the agent's live listing, ``-1`` when none (router/state/vecheap.py); pure: None
        self._table: LiveTable | None = LiveTable() if self._native_heap else None
        #: compiled: the last listing's rank (``Agent.rank``: its entries' ``seq``, in
        #: ``seq``'s order), and the bound that renumbers them (``_renumber_ranks``; a test
        #: may lower it)
        self._rank: i32 = 0
        self._rank_limit: i32 = RANK_LIMIT
        #: compiled: the agents' slots it has room for (an entry's ``ss``; a test may lower it)
        self._slot_limit: int = SLOT_LIMIT
        self._free_slots: list[int] = []
        self._retired: list[int] = []
        self._by_skill: dict[str, dict[str, Agent]] = {}
        self._queues: dict[str, QueueState] = {}
        self._pools: dict[PoolKey, Pool] = {}
        #: renewed whenever the pools or the queues' settings change: a ``TicketTerms``'
        #: cached pool (``pool_gen``) is good only while it is the router's (``_pool_for``)
        self._pool_gen = 0
        #: the deadline heap: ``DeadlineTuple`` entries ``(when, seq, kind, obj, arg)`` (pure),
        #: ``DeadlineEntry`` objects (compiled: ``_native_heap``), which hold atoms only
        self._deadlines: list[Any] = []
        #: compiled: the object a deadline entry names (a ticket, a policy timer's target) by
        #: the entry's ``seq``, for the kinds whose ``obj`` is not an atom (:func:`_by_ref`),
        #: from its push until it leaves the heap; the entry holds ``None`` (pure: empty)
        self._deadline_refs: dict[int, Any] = {}
        #: an agent timer is firing from the heap's top and is still there; the first push
        #: of its fire takes its place in one sift for the pop and the push (compiled,
        #: ``deadline_rekey``: the entry re-keyed, no allocation; pure, ``heapreplace``),
        #: or :meth:`_enter` pops it after the fire
        self._top_fired = False
        #: offer expiries pushed in time order (one timeout: ``now + offer_timeout_s``),
        #: beside the heap: O(1) push and pop; an entry earlier than the line's last (a
        #: shorter timeout after a reconfigure) goes to the heap. The next deadline is the
        #: first of the two heads by ``(when, seq)`` (:meth:`_next_source`)
        self._offer_line: deque[Any] = deque()  # (pure: tuples; compiled: empty)
        #: compiled, the offer line is ``_line[_line_head:]`` (``DeadlineEntry`` objects), a
        #: list read from a head index: ``append``, the head's read and its pop are native
        #: list operations where a ``deque``'s are generic method calls. An entry is released
        #: at its pop (its cell holds ``_PASSED``); the passed cells are cut off once they are
        #: at least half the list (:meth:`_line_cut`), or when the line empties. Pure: empty
        #: (the deque is the line: its ``popleft`` is C code there).
        #: :meth:`_line_entries` reads either as a list.
        self._line: list[DeadlineEntry] = []
        self._line_head: i64 = 0
        #: the offer line's first and last entries' times (infinity, minus infinity: empty)
        self._line_at = _INF
        self._line_last = -_INF
        #: K_OFFER entries in _deadlines and _offer_line; those beyond _n_offered are
        #: spent (_compact_deadlines)
        self._offer_entries = 0
        #: a lower bound of the spent-offer margin, ``len(_deadlines) + len(_offer_line) +
        #: _SPENT_SLACK - 2 * (_offer_entries - _n_offered)`` (below 0: compact): every
        #: change that lowers the margin lowers it too (``_spent_room -= ...`` beside it),
        #: the rises are not counted; :meth:`_enter` counts the margin only when this falls
        #: below 0 (pure: 20 bytecodes and ~5 int allocations per input otherwise)
        self._spent_room = -1
        self._pending: list[Ticket] = []
        #: the agents freed since the last matching pass, in the order they were freed, each
        #: once: a list, and ``Agent.freed`` marks the agents in it (set by ``_free``, cleared
        #: when the pass takes them or by ``_unfree``). Not a dict by id: its store reads the
        #: id string for the hash, a trip to memory per release at 10,000 agents; nor one by
        #: the record, a general-keys table that ``clear()`` drops and pymalloc remakes twice
        #: a lifecycle (BENCHMARKS.md, probe51 and freed52)
        self._freed: list[Agent] = []
        #: during a matching pass: the pending inquiries that have not sought an agent yet,
        #: and the agents freed since the last pass
        self._fresh: set[Ticket] | None = None
        #: the one pending inquiry of a pass that had just one, in place of ``_fresh`` (no
        #: set for it: a pass with one new inquiry and an agent freed, a recent-work entry
        #: leaving the window say, is the common case past the window), until it is met
        self._fresh_one: Ticket | None = None
        #: compiled, a pass of 2 to ``_BY_INSERTION`` new inquiries, in place of ``_fresh``
        #: (no set made, no hashing): ``_fresh_list[:_fresh_n]`` are those not met yet, of a
        #: copy of the pass's pending list (a met one is swapped past them: ``_meet_fresh``)
        self._fresh_list: list[Ticket] = _NO_FRESH
        self._fresh_n = 0
        #: the agents freed, during a pass that has several (``_placed_elsewhere``)
        self._batch: list[Agent] = []
        self._surge = False
        self._estimator = WaitEstimator()
        self._counters = LiveCounters()
        # what is in flight, kept up to date so statistics() never scans the inquiries
        self._n_offered = 0
        self._n_assigned = 0
        self._n_wrapup = 0
        self._n_ready = 0
        self._n_with_room = 0
        self._waiting = 0
        self._waiting_cb = 0  # of _waiting: callbacks holding their place in line
        self._breaks = BreakStaffing()
        self._releasing = False  # break staffing is handing out places (no re-entry)
        # while an instant's deadlines fire, break-staffing decisions wait for its end
        # (``_decide_breaks``): agents asking for a break, and whether places opened
        self._in_instant = False
        self._break_asks: dict[str, Agent] = {}
        self._release_asked = False
        # break_window_s (0: off): agents freed up or back since the last matching pass, asked
        # then whether they may take their break early (``_ask_early``)
        self._early_s = 0.0
        self._early_asks: dict[str, Agent] = {}
        # an agent's stretch restarted (a natural break) while there are early candidates:
        # due later now, it may no longer hold a place ahead of them; looked at again at
        # the end of the matching pass (``_match``)
        self._early_look = False
        # drain_for_break (0: off; else the window): candidates holding work are given their
        # early break too (they drain), and the window's opening has a timer of its own
        self._drain_s = 0.0
        # max_drain_share: the agent whose drain starts now, counted as draining (DRAINING,
        # router/state/breaks.py) rather than on a break; the mark then stays in its flags
        self._drain_next: Agent | None = None
        # agents with a shift end or a schedule, and per pool the changes they announce
        # (router/state/staffing.py), memoised until one of them logs in, out or changes
        self._scheduled: dict[str, Agent] = {}
        self._staff_ver = 0
        self._plans: dict[PoolKey, tuple[int, list[tuple[float, int]]]] = {}
        # real-time statistics (router/state/realtime.py); agents noted as changed
        self._live = Realtime(self._now)
        self._live.may_take = self._may_take  # the guardrails' one rule
        self._changed = self._live.changed
        self._bp = AdmissionControl(_Ops(self))
        self._draws = Draws(cfg.routing.seed)
        self._apply_config(cfg)

    # ------------------------------------------------------------------ config

    def _apply_config(self, cfg: RouterConfig, chain: list[AdmissionPolicy] | None = None) -> None:
        self._cfg = cfg
        self._pool_gen += 1  # a queue's requires and match may change: pool keys with them
        r = cfg.routing
        self._ps = r.priority_seconds
        self._immediate = r.mode == "immediate"
        self._offer_timeout = r.offer_timeout_s
        self._max_no_answer = r.max_no_answer
        self._max_declines = r.max_declines or 0  # 0: off
        self._rounds = r.decline_memory == "round"
        self._trace = r.trace
        self._strict = r.strict
        self._window = r.recent_window_s
        wb = cfg.wellbeing
        self._wb = wb
        # read on every decision (``_assign``): a native float, where the struct's attribute
        # is a generic ``getattr`` compiled
        self._break_s = wb.break_s
        self._guard = Guardrails(wb, r.recent_window_s)
        window = wb.break_window_s
        self._early_s = (
            window
            if window and wb.max_break_share is not None and wb.max_continuous_work_s is not None
            else 0.0
        )
        was_draining = self._drain_s
        self._drain_s = self._early_s if wb.drain_for_break else 0.0
        # drains under their own share (only where agents drain at all)
        self._breaks.drain_share = wb.max_drain_share if self._drain_s > 0.0 else None
        self._heavy_k = wb.max_consecutive_heavy
        self._cooldown_heavy = wb.cooldown_from == "heavy"
        self._channels = {**DEFAULT_CHANNELS, **cfg.channels}
        #: the agents' caps dicts, one per distinct content (:meth:`_set_caps`): an agent's is
        #: replaced, never changed in place (``records.set_caps``), so the agents of one
        #: capacity share it, a few dicts that stay in cache where each agent's own would be
        #: a miss at 100,000 agents (and one tracked object each for the collector)
        self._caps_shared: dict[tuple[tuple[str, int], ...], dict[str, int]] = {}
        self._max_concurrency = {ch: c.max_concurrency for ch, c in self._channels.items()}
        # an arrival's default cost, as ints, not a config struct's attribute; each queue
        # keeps its channel's (``QueueState.unit_cost``, below: no lookup per arrival)
        self._unit_cost = {ch: c.unit_cost for ch, c in self._channels.items()}
        self._interrupts = Interrupts(self._channels)
        self._presence = r.presence_timeout_s
        self._scorer = Scorer(r, wb.max_consecutive_heavy)
        self._draws.seed = r.seed
        self._uses_recent = any(
            w.recent_work > 0 or w.recent_count > 0
            for w in [r.weights, *(q.weights for q in cfg.queues if q.weights is not None)]
        )
        seen = set()
        coeffs = Coeffs(r.weights)  # read now: a caller may have changed the struct in place
        for q in cfg.queues:
            seen.add(q.name)
            qs = self._queues.get(q.name)
            if qs is None:
                self._queues[q.name] = QueueState(q, r.weights, coeffs)
            else:
                qs.removed = False
                qs.apply(q, r.weights, coeffs)
        for name, qs in self._queues.items():
            if name not in seen:
                qs.removed = True
            # (a removed queue's channel may be gone: it takes no arrival)
            qs.unit_cost = self._unit_cost.get(qs.channel, 1)
        self._live.configure(cfg, self._channels, self._queues.values())
        self._bp.configure(cfg, chain)
        self._staff_ver += 1  # overtime rules may have changed
        # teams' own break and drain shares: the tallies counted already take theirs now,
        # the recount below (any agent) asks the deferred and early breaks again under them
        self._breaks.set_team_shares(
            dict(wb.max_break_share_by_team), dict(wb.max_drain_share_by_team)
        )
        if self._agents or wb.max_break_share != self._breaks.share:
            self._recount_breaks(wb.max_break_share)
        if was_draining or self._drain_s:
            self._end_drains()  # the switch or the window may have changed

    @property
    def config(self) -> RouterConfig:
        return self._cfg

    @property
    def version(self) -> int:
        """Config version in force; bumped by every successful ``reconfigure``."""
        return self._version

    @property
    def now(self) -> float:
        """The latest time the router has seen."""
        return self._now

    # ------------------------------------------------------------------ time

    def _enter(self, now: float) -> float:
        """Fire deadlines due by ``now`` and move to it; returns ``now`` as a float.

        Every input starts here, inside the ``try`` whose ``except`` is
        :meth:`_failed`: a refused ``now`` changes nothing, and deadlines that fire
        before a later refusal stay fired (time passed; the input left no trace).
        """
        if self._broken is not None:
            raise RouterBroken("the router failed earlier and refuses inputs") from self._broken
        self._rollback_now = self._now
        # pure: the same float object as the router's time (the input before at this instant
        # passed it) was checked then; compiled (``_native_heap``), where ``is`` would box
        # both floats, every ``now`` is checked
        native = self._native_heap
        if native or now is not self._now:
            # (a finite float: no call). Compiled, ``now`` arrived as a C double (the call
            # converted an int) and ``type(now)`` would box it for nothing: only finiteness
            if (not native and type(now) is not float) or now - now != 0.0:
                now = check_now(now)  # an int stored in a record would change snapshot bytes
            if now < self._now:
                raise TimeWentBackwards(
                    f"now={now!r} is earlier than the router's time {self._now!r}"
                )
        dl = self._deadlines
        ol = self._offer_line
        # the same heap and line typed as what they hold compiled (``DeadlineEntry`` objects:
        # each field a native read); pure, tuples (these are locals: no cost there). ``times``
        # is the pure heap read for its head's time as a float: compiled, a conditional
        # expression of ``nd[0].when`` and an untyped ``dl[0][0]`` would box the float for a
        # generic compare
        nd: list[DeadlineEntry] = dl
        times: list[tuple[float, ...]] = dl
        if self._spent_room < 0:  # the margin may have run out: count it (_spent_room)
            # spent offer entries past the rest by _SPENT_SLACK: the rule of lazyheap.bloated
            if native:  # (the offer line's length: line[head:])
                held = len(dl) + len(self._line) - self._line_head
            else:
                held = len(dl) + len(ol)
            room = held + _SPENT_SLACK - 2 * (self._offer_entries - self._n_offered)
            if room < 0:
                # the offer line first: where it leaves the rule met, the heap is not read
                if not self._compact_offer_line():
                    self._compact_deadline_heap()
            else:
                self._spent_room = room
        if (dl and (nd[0].when if native else times[0][0]) <= now) or self._line_at <= now:
            self._in_instant = True
            obj: Any
            try:
                while True:
                    # the next entry by (when, seq): _next_source and _line_pop, inline (an
                    # offer's expiry and an agent timer per lifecycle come this way);
                    # (when, seq) decide the order, seq unique: as heappop's
                    if native:  # the offer line is line[hd:] (a list: native reads)
                        line = self._line
                        hd = self._line_head
                        from_line = False
                        if hd < len(line):
                            if dl:
                                la = self._line_at
                                h = nd[0]
                                hw = h.when
                                from_line = not (hw < la or (hw == la and h.seq < line[hd].seq))
                            else:
                                from_line = True
                        if from_line:
                            e = line[hd]
                            line[hd] = _PASSED  # released at its pop
                            hd += 1
                            self._line_head = hd
                            if hd < len(line):  # the tail stays
                                self._line_at = line[hd].when
                                if hd >= _LINE_CUT and hd + hd >= len(line):
                                    self._line_cut()
                            else:
                                self._line_cut()
                                self._line_at = _INF
                                self._line_last = -_INF
                        else:
                            e = nd[0]
                            if e.kind == K_AGENT:  # off the heap at the fire's first push
                                self._top_fired = True
                            else:
                                deadline_pop(nd)
                        at = e.when
                        seq = e.seq
                        kind = e.kind
                        obj = e.obj
                        arg = e.arg
                        if _by_ref(kind):
                            obj = self._deadline_refs.pop(seq)
                    else:
                        from_line = False
                        if ol:
                            if dl:
                                la = self._line_at
                                ht = dl[0]
                                from_line = not (ht[0] < la or (ht[0] == la and ht[1] < ol[0][1]))
                            else:
                                from_line = True
                        if from_line:
                            at, seq, kind, obj, arg = ol.popleft()
                            if ol:  # the tail stays
                                self._line_at = ol[0][0]
                            else:
                                self._line_at = _INF
                                self._line_last = -_INF
                        else:
                            at, seq, kind, obj, arg = dl[0]
                            if kind == K_AGENT:  # off the heap at the fire's first push
                                self._top_fired = True  # (heapreplace: one sift for both)
                            else:
                                heappop(dl)
                    self._now = at
                    if kind != K_OFFER:
                        self._spent_room -= 1  # one entry less, no spent one
                        self._fire(kind, obj, arg, seq)
                        if self._top_fired:  # no push took its place: off now
                            self._top_fired = False
                            if native:
                                deadline_pop(nd)
                            else:
                                heappop(dl)
                    else:
                        self._offer_entries -= 1
                        # _fire's test for an offer's expiry, inline (_offer_ticket): most
                        # offers were accepted before it (a lifecycle's expiry is spent), no
                        # call then; _fire tests the offer number. With no inquiry on offer
                        # (_n_offered: every offer answered, the common case) the entry is
                        # spent without looking its inquiry up
                        if self._n_offered:
                            o = self._tickets.get(obj)
                            if o is not None and o.seq <= seq and o.state == OFFERED:
                                self._fire(kind, obj, arg, seq)
                    if (self._break_asks or self._release_asked) and self._next_at() != at:
                        self._decide_breaks()
                    self._rollback_now = at
                    if not (
                        (dl and (nd[0].when if native else times[0][0]) <= now)
                        or self._line_at <= now
                    ):
                        break
            finally:
                self._in_instant = False
                if self._top_fired:  # (a fire that raised)
                    self._top_fired = False
                    if native:
                        deadline_pop(nd)
                    else:
                        heappop(dl)
        self._now = now
        return now

    def _failed(self, exc: BaseException) -> None:
        """An input raised ``exc``: a caller's mistake leaves no trace, anything else is a bug
        that marks the router broken."""
        if isinstance(exc, UsageError):
            self._now = self._rollback_now
        elif self._broken is None and not isinstance(exc, RouterBroken):
            self._broken = exc

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _at(self, when: float, kind: int, obj: Any, arg: int) -> None:
        self._seq += 1
        if kind == K_OFFER:
            self._offer_entries += 1
            self._spent_room -= 1  # (-2 for the entry counted, +1 for its place)
            if when >= self._line_last:  # in time order (a later seq breaks the tie)
                if self._native_heap:  # (an offer's entry names its inquiry by id: an atom)
                    line = self._line
                    if self._line_head == len(line):
                        self._line_at = when
                    line.append(DeadlineEntry(when, self._seq, kind, obj, arg))
                else:
                    ol = self._offer_line
                    if not ol:
                        self._line_at = when
                    ol.append((when, self._seq, kind, obj, arg))
                self._line_last = when
                return
        if self._native_heap:  # (when, seq) decide the order, as in the agent heaps
            self._push_entry(when, self._seq, kind, obj, arg)
        elif self._top_fired:  # (pure: inline, one call less on the hot path; as below)
            self._top_fired = False
            heapreplace(self._deadlines, (when, self._seq, kind, obj, arg))
        else:
            heappush(self._deadlines, (when, self._seq, kind, obj, arg))

    def _push_entry(self, when: float, seq: int, kind: int, obj: Any, arg: int) -> None:
        """Push a heap entry, its ``seq`` given (:meth:`_at`, a restored or policy timer), in
        the build's form: compiled, a ``DeadlineEntry`` that holds atoms only (the object
        beside it in ``_deadline_refs``, by ``seq``)."""
        if self._native_heap:
            if _by_ref(kind):
                self._deadline_refs[seq] = obj
                obj = None
            if self._top_fired:  # the agent timer firing at the top (_enter): its entry
                self._top_fired = False  # object, re-keyed, is this one (no allocation)
                deadline_rekey(self._deadlines, when, seq, kind, obj, arg)
            else:
                deadline_push(self._deadlines, DeadlineEntry(when, seq, kind, obj, arg))
        elif self._top_fired:  # pure: the firing agent timer's tuple replaced by this one
            self._top_fired = False
            heapreplace(self._deadlines, (when, seq, kind, obj, arg))
        else:
            heappush(self._deadlines, (when, seq, kind, obj, arg))

    def _deadline_head(self, src: int) -> DeadlineTuple:
        """The first entry of the heap (``src`` 1) or the offer line (2), as a tuple."""
        if self._native_heap:
            e = self._deadlines[0] if src == 1 else self._line[self._line_head]
            return self._entry_tuple(e)
        t: DeadlineTuple = self._deadlines[0] if src == 1 else self._offer_line[0]
        return t

    def _entry_tuple(self, e: DeadlineEntry) -> DeadlineTuple:
        """A compiled build's entry as the pure build's tuple, with the object it names."""
        return (
            e.when,
            e.seq,
            e.kind,
            self._deadline_refs[e.seq] if _by_ref(e.kind) else e.obj,
            e.arg,
        )

    def _heap_pop(self) -> Any:
        """The heap's first entry, taken off (the build's form)."""
        if self._native_heap:
            return deadline_pop(self._deadlines)
        return heappop(self._deadlines)

    def _dropped(self, kind: int, seq: int) -> None:
        """A heap entry that will never be pushed back left the heap: compiled, the object
        it names leaves ``_deadline_refs``."""
        if self._native_heap and _by_ref(kind):
            del self._deadline_refs[seq]

    def next_deadline(self, before: float = _INF) -> float | None:
        """When ``tick`` must run next, or ``None`` when nothing is scheduled.

        Returns the router's current time when a matching pass is pending. With
        ``before`` (a driver's own next event, as the simulation engine passes), the answer
        is exact below it; at or past it, it is some time ``>= before``: the query does not
        look past entries due after the driver's next event.

        A query: it changes nothing that happens later. It drops only the entries at the
        top that can never fire again; one that is not live now but may come back to life
        (:meth:`_deadline_asleep`: a policy's ticket timer while its inquiry is with an
        agent, a patience deadline while it is parked...) stays where it is
        (:meth:`_next_live_past_dormant`), to fire or be dropped at its own time, as it
        would had nobody asked.
        """
        limit = before if before == _INF else check_bound(before, "before")
        if self._pending or self._freed:
            return self._now
        while True:
            src = self._next_source()
            if not src:
                return None
            at, seq, kind, obj, arg = self._deadline_head(src)
            if self._deadline_live(kind, obj, arg, at, seq):
                return at
            if self._deadline_asleep(kind, obj, arg, at):
                return at if at >= limit else self._next_live_past_dormant(limit)
            if src == 2:
                self._line_pop()
            else:
                self._heap_pop()
                self._dropped(kind, seq)
            if kind == K_OFFER:
                self._offer_entries -= 1
            else:
                self._spent_room -= 1

    def _next_live_past_dormant(self, limit: float) -> float | None:
        """:meth:`next_deadline` past a sleeping entry at the top (:meth:`_deadline_asleep`):
        the first live entry's time, or ``None``; or the first entry's at or past
        ``limit``. The sleeping entries passed on the way are set aside and put back with
        their keys, so they fire in the same order; the others not live are dropped. Every
        entry passed is due before the time returned: a tick then takes it off, so a driver
        that ticks at the time returned (or bounds the query by its own next event, as the
        simulation engine does) pays for each such entry about once."""
        dl = self._deadlines
        ol = self._offer_line
        heap_aside: list[Any] = []  # (entries in the build's form)
        line_aside: list[Any] = []
        found: float | None = None
        while True:
            src = self._next_source()
            if not src:
                break
            at, seq, kind, obj, arg = self._deadline_head(src)
            if at >= limit or self._deadline_live(kind, obj, arg, at, seq):
                found = at
                break
            entry = self._line_pop() if src == 2 else self._heap_pop()
            if kind != K_OFFER:
                self._spent_room -= 1  # (an entry set aside and put back is not counted)
            if not self._deadline_asleep(kind, obj, arg, at):
                if kind == K_OFFER:
                    self._offer_entries -= 1
                self._dropped(kind, seq)
            elif src == 2:
                line_aside.append(entry)
            else:
                heap_aside.append(entry)
        native = self._native_heap
        for entry in heap_aside:  # (the same entries: their objects stay in _deadline_refs)
            if native:
                deadline_push(dl, entry)
            else:
                heappush(dl, entry)
        if line_aside:  # (an offer's entry not live is spent: never, in practice)
            if native:  # the first ones, still in time order
                line = self._line
                self._line_cut()
                line[0:0] = line_aside
            else:
                line_aside.reverse()
                ol.extendleft(line_aside)  # the first ones, still in time order
            self._line_ends()
        return found

    def _next_source(self) -> int:
        """Where the next deadline entry by ``(when, seq)`` is: 1 the heap's head, 2 the
        offer line's, 0 none. (Not the entry: the compiled build unboxes a fixed-length
        tuple, so an entry's identity does not survive a return.)"""
        dl = self._deadlines
        if self._native_heap:
            line = self._line
            hd = self._line_head
            if hd == len(line):
                return 1 if dl else 0
            if dl:
                la = self._line_at
                nd: list[DeadlineEntry] = dl
                h = nd[0]
                if h.when < la or (h.when == la and h.seq < line[hd].seq):
                    return 1
            return 2
        ol = self._offer_line
        if not ol:
            return 1 if dl else 0
        if dl:
            la = self._line_at
            ht = dl[0]
            if ht[0] < la or (ht[0] == la and ht[1] < ol[0][1]):
                return 1
        return 2

    def _next_at(self) -> float:
        """When the next deadline entry is due (infinity when none is held)."""
        dl = self._deadlines
        la = self._line_at
        if dl:
            nd: list[DeadlineEntry] = dl
            if self._native_heap:  # (statements: a conditional expression would box)
                h = nd[0].when
            else:
                h = dl[0][0]
            if h < la:
                return h
        return la

    def _line_pop(self) -> Any:
        """The offer line's first entry, taken off (the build's form); its head's time kept
        up to date."""
        if self._native_heap:  # (the hot pop is _enter's, inline)
            line = self._line
            hd = self._line_head
            ne = line[hd]
            line[hd] = _PASSED
            hd += 1
            self._line_head = hd
            if hd >= _LINE_CUT and hd + hd >= len(line):
                self._line_cut()
            self._line_ends()  # (emptied: cut)
            return ne
        ol = self._offer_line
        e = ol.popleft()
        if ol:
            self._line_at = ol[0][0]  # the tail stays
        else:
            self._line_at = _INF
            self._line_last = -_INF
        return e

    def _line_ends(self) -> None:
        """Take the offer line's head and tail times from the line (after it changed)."""
        if self._native_heap:
            line = self._line
            if self._line_head < len(line):
                self._line_at = line[self._line_head].when
                self._line_last = line[-1].when
                return
            self._line_cut()  # (emptied: no passed cells kept)
        elif self._offer_line:
            ol = self._offer_line
            self._line_at = ol[0][0]
            self._line_last = ol[-1][0]
            return
        self._line_at = _INF
        self._line_last = -_INF

    def _line_cut(self) -> None:
        """Compiled: cut the offer line's passed cells off (``_line[:_line_head]``, each
        ``_PASSED``: their entries were released at their pops); the head is 0 after. Made
        once they are ``_LINE_CUT`` or more and at least as many as the entries held, so a
        cut moves no more cells than pops made it due, and when the line empties."""
        del self._line[: self._line_head]
        self._line_head = 0

    def _line_entries(self) -> list[Any]:
        """The offer line's entries, first to last, in the build's form (a new list: compiled,
        ``DeadlineEntry`` objects read from the head; pure, the deque's tuples)."""
        if self._native_heap:
            return self._line[self._line_head :]
        return list(self._offer_line)

    def _compact_offer_line(self) -> bool:
        """Drop the spent entries of the offer line only (:meth:`_compact_deadlines`' first
        half); whether the compaction rule is met after it (then the heap is left as it is).

        :meth:`_enter` compacts once the spent offer entries outnumber the rest; in a steady
        state they are accepted offers whose expiries wait in the line (offers are made in
        time order), and the heap holds none: at 100,000 agents its ~23,000 agent timers,
        each read for its agent's ``timer_seq`` (a cold record), were the half of a
        compaction that dropped nothing (BENCHMARKS.md, "Memory trips from 1k to 100k
        agents, scale47"). The line's offer entries are all ``K_OFFER``, so the heap's are
        ``_offer_entries`` less the line's; the rule is then counted as :meth:`_enter` does.
        Where the heap holds spent offers that the rule still needs dropped, the caller
        compacts the heap too (:meth:`_compact_deadline_heap`).
        """
        # Read from the newest entry back, and only until ``_n_offered`` live ones are
        # found: every ticket on offer has exactly one live K_OFFER entry (its latest
        # ``offer_no``; :meth:`_compact_deadlines`), so the older entries are spent without
        # looking their inquiries up (at 100,000 agents a cold id probe and a cold ticket
        # each: BENCHMARKS.md, "The 100k lifecycle's remaining misses, scale53"). The live
        # offers are the newest, so with one on offer the newest entry is all that is read.
        live = self._n_offered
        if self._native_heap:
            line = self._line
            head = self._line_head
            in_line = len(line) - head
            nline: list[Any] = []
            i = len(line)
            while live and i > head:
                i -= 1
                e = line[i]
                if not self._deadline_spent(e.kind, e.obj, e.arg, e.seq):
                    nline.append(e)
                    live -= 1
            nline.reverse()  # still in time order
            line[:] = nline  # (the list stays the router's)
            self._line_head = 0
        else:
            ol = self._offer_line
            in_line = len(ol)
            nline = []
            i = in_line
            while live and i:
                i -= 1
                t = ol[i]
                if not self._deadline_spent(t[2], t[3], t[4], t[1]):
                    nline.append(t)
                    live -= 1
            nline.reverse()  # still in time order
            ol.clear()
            ol.extend(nline)
        self._line_ends()
        self._offer_entries = self._offer_entries - in_line + len(nline)
        self._spent_room = -1  # counted at the next input
        spent = self._offer_entries - self._n_offered
        return len(self._deadlines) + len(nline) + _SPENT_SLACK - 2 * spent >= 0

    def _compact_deadlines(self) -> None:
        """Drop the deadline entries that can never fire again, the offer line's and the
        heap's (re-heapified in place).

        Every ticket ``OFFERED`` has exactly one K_OFFER entry pending (each offer
        pushes one, with a new ``offer_no``; its expiry pops it), so the
        ``_offer_entries - _n_offered`` K_OFFER entries beyond that are spent: an
        offer accepted, declined, withdrawn, rescinded or ended some other way. When
        they outnumber the other entries by ``_SPENT_SLACK``, :meth:`_enter` compacts
        (it tests every input, counting only once ``_spent_room``, a lower bound of the
        margin, ran out: the same inputs compact): the offer line first
        (:meth:`_compact_offer_line`), the heap (:meth:`_compact_deadline_heap`) only
        where the line's spent entries alone do not meet the rule; the O(n) pass is paid
        for by the offers that ended since the last one.
        The live entries keep their ``(when, seq)`` keys, so they fire in the same order.
        """
        self._compact_offer_line()
        self._compact_deadline_heap()

    def _compact_deadline_heap(self) -> None:
        """The heap's half of :meth:`_compact_deadlines`: its spent entries dropped and the
        rest re-heapified in place (left as it was when none is spent)."""
        dl = self._deadlines
        dropped = 0  # spent K_OFFER entries dropped (``_offer_entries`` counts them)
        if self._native_heap:  # the entries' fields read natively; their objects by seq
            refs = self._deadline_refs
            nd: list[DeadlineEntry] = dl
            nkept: list[DeadlineEntry] = []
            for ne in nd:
                kind = ne.kind
                seq = ne.seq
                if not self._deadline_spent(
                    kind, refs[seq] if _by_ref(kind) else ne.obj, ne.arg, seq
                ):
                    nkept.append(ne)
                elif kind == K_OFFER:
                    dropped += 1
                elif _by_ref(kind):
                    del refs[seq]
            if len(nkept) != len(nd):  # (none dropped: the heap is as it was, kept in place)
                deadline_heapify(nkept)
                nd[:] = nkept
        else:
            kept: list[DeadlineTuple] = []
            for e in dl:
                if not self._deadline_spent(e[2], e[3], e[4], e[1]):
                    kept.append(e)
                elif e[2] == K_OFFER:
                    dropped += 1
            if len(kept) != len(dl):  # (none dropped: the heap is as it was)
                heapify(kept)
                dl[:] = kept
        self._offer_entries -= dropped
        self._spent_room = -1  # counted at the next input

    def _deadline_entries(self) -> list[DeadlineTuple]:
        """Every deadline entry held, the heap's and the offer line's (in no order), as
        ``(when, seq, kind, obj, arg)`` tuples (compiled: built from the entries)."""
        # (an agent timer firing at the top, _top_fired, is no longer held)
        heap = self._deadlines[1:] if self._top_fired else self._deadlines
        if self._native_heap:
            return [self._entry_tuple(e) for e in [*heap, *self._line_entries()]]
        return [*heap, *self._offer_line]

    def _offer_ticket(self, tid: str, seq: int) -> Ticket | None:
        """The inquiry an offer's deadline entry ``(when, seq, K_OFFER, tid, offer_no)``
        names, or ``None`` once it has left. The entries hold atoms only (the collector
        untracks them: no inquiry kept alive, nothing for it to traverse); an inquiry of the
        same id that came later has a later ``seq`` than every entry of the one before."""
        t = self._tickets.get(tid)
        if t is None or t.seq > seq:
            return None
        return t

    def _entry_obj(self, kind: int, obj: Any, seq: int) -> Any:
        """What a deadline entry names: its agent (by slot: ``_GONE`` once retired), its
        inquiry (``None`` once gone) or the policy timer's target."""
        if kind == K_AGENT:
            slot: int = obj
            return self._slots[slot]
        if kind == K_OFFER:
            return self._offer_ticket(obj, seq)
        return obj

    def _entry_id(self, kind: int, obj: Any) -> str:
        """The id a snapshot writes for a deadline entry not spent."""
        if kind == K_AGENT:
            slot: int = obj
            return self._slots[slot].id
        if kind == K_OFFER:
            tid: str = obj
            return tid
        named: Ticket = obj
        return named.id

    def _deadline_spent(self, kind: int, obj: Any, arg: int, seq: int) -> bool:
        """Whether a deadline entry can never fire again (compaction and snapshots drop it).

        Narrower than ``not _deadline_live``: a patience, step or preference deadline can
        come back to life (the same ``patience_at``, ``step`` or ``prefer_until`` set
        again), so those count as spent only once their ticket has left the router; an
        offer's ``offer_no`` never repeats, nor does an agent timer's entry number. Policy
        timers (K_BP) belong to the policies: spent once their inquiry has left.
        """
        if kind == K_AGENT:  # (a slot retired or taken by another agent: not its number)
            slot: int = obj
            return self._slots[slot].timer_seq != arg
        if kind == K_OFFER:
            o = self._offer_ticket(obj, seq)
            return o is None or o.state != OFFERED or o.offer_no != arg
        if kind == K_BP and not isinstance(obj, Ticket):
            return False  # a named policy timer (router/policies/timers.py)
        t: Ticket = obj
        return self._tickets.get(t.id) is not t

    def _deadline_asleep(self, kind: int, obj: Any, arg: int, at: float) -> bool:
        """Whether an entry not live now may come back to life (``next_deadline`` keeps it).

        Between ``not _deadline_live`` and ``_deadline_spent`` (which the snapshots use and
        keeps every deadline of an inquiry still here): an offer's or an agent timer's
        entry not live is spent; an inquiry in wrap-up only ends (its wrap-up deadline is
        live); a patience deadline comes back only from ``PARKED`` (``patience_at`` is set
        once, at the arrival, and only ever cleared: by an answer taken back, an outbound
        task's start, a callback's admission; so not from ``ASSIGNED``: every way back from
        an agent after an answer clears it). A step, preference or policy timer of an
        inquiry still here may (a hand-back, a decline, a move between queues): kept.
        """
        if kind in (K_OFFER, K_AGENT, K_WRAP):
            return False  # (not live: spent, or an inquiry past its wrap-up)
        if kind == K_BP and not isinstance(obj, Ticket):
            return True  # a named policy timer: the policies' (never spent)
        t: Ticket = obj
        if self._tickets.get(t.id) is not t or t.state == WRAPUP:
            return False
        if kind == K_PATIENCE:
            return t.state == PARKED and t.patience_at == at
        return True

    def _deadline_live(self, kind: int, obj: Any, arg: int, at: float, seq: int) -> bool:
        if kind == K_AGENT:
            # one pending timer per agent: its latest entry (``_schedule_agent``); the
            # entry names the agent's slot, whose later agents (or ``_GONE``) never hold
            # this entry's number
            slot: int = obj
            return self._slots[slot].timer_seq == arg
        if kind == K_OFFER:
            o = self._offer_ticket(obj, seq)
            return o is not None and o.state == OFFERED and o.offer_no == arg
        if kind == K_BP:
            return self._bp.timer_live(obj, arg)
        t: Ticket = obj
        if self._tickets.get(t.id) is not t:
            return False
        if kind == K_PATIENCE:  # a hand-back or transfer after an answer switches it off
            return t.state in (WAITING, OFFERED) and t.patience_at == at
        if kind == K_STEP:
            return t.state in (WAITING, OFFERED) and t.terms.step == arg - 1
        if kind == K_PREFER:
            return t.prefer_until == at and t.state in (WAITING, OFFERED, PARKED)
        return t.state == WRAPUP

    def tick(self, now: float) -> list[Event]:
        """Fire deadlines due by ``now``, match, and return the events since the last tick."""
        try:
            self._enter(now)
            self._match()
            if self._bp.active:
                self._bp.after_match()
        except BaseException as exc:
            self._failed(exc)
            raise
        events = self._events
        self._events = []
        return events

    # ------------------------------------------------------------------ inputs

    @overload
    def handle(self, input: Submit, now: float) -> Admission: ...

    @overload
    def handle(self, input: Reconfigure, now: float) -> int: ...

    @overload
    def handle(
        self,
        input: Withdraw
        | Login
        | SetReady
        | GoOnBreak
        | Logout
        | Accept
        | Decline
        | Complete
        | CallbackFailed
        | UpdateInquiry
        | Transfer
        | HandBack
        | UpdateAgent
        | Heartbeat
        | SetAttributes
        | ResetStatistics,
        now: float,
    ) -> None: ...

    def handle(self, input: Input, now: float) -> Admission | int | None:
        """Apply one input (``router/inputs.py``) at ``now``.

        ``handle(Submit(inquiry=i), now)`` is ``submit(i, now)``, and so on for every
        input: the methods are the same inputs spelled as calls. Returns the
        :class:`~router.model.Admission` of a ``Submit``, the new version after a
        ``Reconfigure``, else ``None``. A caller's mistake raises a
        :class:`~router.errors.UsageError` naming the field and changes nothing.
        """
        if isinstance(input, Submit):
            return self.submit(input.inquiry, now)
        check_input_ids(input)
        if isinstance(input, Accept):
            self.accept(input.inquiry_id, now, input.agent_id)
        elif isinstance(input, Complete):
            self.complete(input.inquiry_id, now)
        elif isinstance(input, Decline):
            self.decline(input.inquiry_id, now, input.agent_id)
        elif isinstance(input, Withdraw):
            self.withdraw(input.inquiry_id, now)
        elif isinstance(input, Login):
            self.login(input.agent, now)
        elif isinstance(input, SetReady):
            self.set_ready(input.agent_id, now)
        elif isinstance(input, GoOnBreak):
            self.go_on_break(input.agent_id, now, input.reason)
        elif isinstance(input, Logout):
            self.logout(input.agent_id, now)
        elif isinstance(input, CallbackFailed):
            self.callback_failed(input.inquiry_id, now)
        elif isinstance(input, Reconfigure):
            return self.reconfigure(input.config, now, hand_over=input.hand_over)
        elif isinstance(input, Heartbeat):
            self.heartbeat(input.agent_id, now)
        elif isinstance(input, UpdateInquiry):
            self.update_inquiry(input.inquiry_id, now, input.priority, input.requires)
        elif isinstance(input, Transfer):
            self.transfer(
                input.inquiry_id,
                input.queue,
                now,
                agent_id=input.agent_id,
                priority=input.priority,
                requires=input.requires,
            )
        elif isinstance(input, HandBack):
            self.hand_back(input.inquiry_id, now, input.agent_id, priority=input.priority)
        elif isinstance(input, UpdateAgent):
            self.update_agent(input.agent, now)
        elif isinstance(input, SetAttributes):
            self.set_attributes(input.agent_id, input.attributes, now)
        elif isinstance(input, ResetStatistics):
            self.reset_statistics(now)
        else:
            raise InvalidInput("input", f"not a router input: {type(input).__name__}")
        return None

    # ------------------------------------------------------------------ inquiries

    def submit(self, inquiry: Inquiry, now: float) -> Admission:
        """Admit (or refuse) an inquiry at ``now``; matching happens in the next ``tick``."""
        fields = inquiry_fields(inquiry)  # checked, and read once (not field by field)
        try:
            self._enter(now)
            return self._submit(fields)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _submit(self, fields: InquiryFields) -> Admission:
        # the inquiry's fields, typed as Inquiry declares them (one unpack, not 11 reads)
        iid: str
        qname: str
        prio: int | None
        requires: dict[str, int] | None
        own_tenant: str | None
        patience_s: float | None
        tags: Collection[str]  # a frozenset from the wire; a Python caller's set, list or tuple
        own_cost: int | None
        arrived_at: float | None
        attributes: Attributes
        preferred: list[str]
        (
            iid,
            qname,
            prio,
            requires,
            own_tenant,
            patience_s,
            tags,
            own_cost,
            arrived_at,
            attributes,
            preferred,
        ) = fields
        now = self._now
        if iid in self._tickets:
            raise DuplicateId(f"inquiry {iid!r} is already in the router")
        q = self._queues.get(qname)
        if q is None or q.removed:
            raise UnknownId(f"unknown queue {qname!r}; known: {self._queue_list()}")
        tenant = own_tenant if own_tenant is not None else q.tenant
        q_tenant = q.tenant  # (only an inquiry's own tenant can differ: compared as str)
        if q_tenant is not None and own_tenant is not None and own_tenant != q_tenant:
            raise InvalidInput(
                "tenant",
                f"inquiry {iid!r} has tenant {tenant!r} "
                f"but queue {q.name!r} belongs to {q.tenant!r}",
            )
        arrival = float(arrived_at) if arrived_at is not None else now
        if arrival > now:
            raise InvalidInput("arrived_at", f"{arrival!r} is later than now={now!r}")
        # (annotated: compiled, the conditional is kept as an object and each compare with
        # it below is generic)
        priority: int = prio if prio is not None else q.priority
        heavy = q.heavy or (tags is not _NO_TAGS and "heavy" in tags)  # (no set lookup)
        cost = own_cost if own_cost is not None else q.unit_cost  # (the channel's: one read)
        patience_at = arrival + patience_s if patience_s is not None else None
        t = Ticket(
            iid,
            q,
            priority,
            arrival,
            now,
            0,
            tenant,
            dict(requires) if requires else None,
            heavy,
            cost,
            patience_at,
        )
        if attributes:
            t.attributes = dict(attributes)
        if self._strict:
            self._check_possible(t)  # before anything changes: a refusal leaves no pool
        self._seq += 1
        t.seq = self._seq
        pool = self._pool_for(t)
        if preferred:
            t.prefer = tuple(dict.fromkeys(preferred))
            if q.preferred_wait_s > 0 and self._preferred_here(t, pool):
                t.prefer_until = now + q.preferred_wait_s
                self._at(t.prefer_until, K_PREFER, t, 0)
        bp = self._bp
        if bp.plain and (not self._surge or bp.plain_in_surge):
            # no policy can act on it: admitted here, as AdmissionControl.submit admits
            # when its chain is empty (the same estimate, counters and events), without
            # the round trips through the core operations
            position = 1  # self._position(q, priority), inline: once per arrival
            for p, c in q.waiting_by_priority.items():
                if p >= priority:
                    position += c.n
            changes = self._staffing_changes(pool) if self._scheduled else _NO_CHANGES
            pending = bool(self._pending or self._freed)
            ewt = bp.arrival_wait(t, pool, position, changes, pending, now, self._ps)
            self._counters.submitted += 1
            self._admit(t, pool)
            r = q.est  # the estimator's record of q, held (QueueState.est): no lookup by name
            if r is None or r.dropped:
                r = self._est_record(q)
            self._estimator.arrival(r, priority, arrival)
            adm = queued_admitted(self._events, t, q.name, position, ewt, now, self._version)
            w = q.tally.windows
            (w.cum if now < w.until else w.roll(now)).offered += 1  # w.current(now), inline
            return adm
        adm = bp.submit(t, pool)  # the backpressure chain; admits via _admit
        outcome = adm.outcome
        if outcome != "blocked":  # offered: counted under the queue it arrived at
            q.tally.windows.current(now).offered += 1
            if outcome == "rejected" or outcome == "deflected":  # refused at arrival
                b = t.terms.queue.tally.windows.current(now)
                if outcome == "rejected":
                    b.rejected += 1
                else:
                    b.deflected += 1
        return adm

    def _admit(self, t: Ticket, pool: Pool) -> None:
        """Put an accepted arrival in line (called by the admission control)."""
        self._counters.admitted += 1
        self._tickets[t.id] = t
        t.pool = pool
        self._enqueue(t, True)
        self._pending.append(t)
        if t.patience_at is not None:
            self._at(t.patience_at, K_PATIENCE, t, t.seq)
        if t.terms.queue.steps:  # (no overflow steps: nothing to schedule)
            self._schedule_step(t)

    def has_room(self, queue: object) -> bool:
        """False while ``queue`` or the router is at a configured ``max_queue`` (under the
        ``block`` policy a submit would return ``blocked``); adapters poll it after ``tick``.
        Raises :class:`UnknownId` for a queue that is not configured (or was removed)."""
        return self._bp.has_room(self._known_queue(queue).name)

    def callback_failed(self, inquiry_id: str, now: float) -> None:
        """The call for a callback on offer or assigned did not reach the customer: it goes
        back to its place after ``callback.retry_s``, or ends after ``max_attempts``."""
        check_id(inquiry_id, "inquiry_id")
        try:
            self._enter(now)
            t = self._ticket(inquiry_id)
            answered = t.state == ASSIGNED
            before_reset = answered and self._live.answered_before_reset(t)
            agent = t.agent
            self._bp.callbacks.failed(t)
            if agent is not None:
                agent.last_seen = self._now
            if answered:  # the call reached nobody: it was no answer
                self._count_answer(t, t.assigned_at, -1, before_reset)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _check_possible(self, t: Ticket) -> None:
        """Strict mode: raise if no agent could serve ``t`` even after every relaxation
        step. Creates nothing (a pool made only to look would outlive the refusal)."""
        q = t.terms.queue
        reqs = [dict(q.requires)] + [dict(r) for _, r in q.steps]
        for base in reqs:
            key = self._pool_key(t, base)
            pool = self._pools.get(key)
            if pool is not None:
                if pool.eligible:
                    return
            elif any(
                agent.state != LOGGING_OUT
                and self._fits(agent, q, key[1], key[2])
                and (q.target is None or q.target.admits(agent.spec.attributes, key[5]))
                for agent in self._candidates(key[2])
            ):
                return
        missing = ", ".join(f"{s}>={lvl}" for s, lvl in self._pool_key(t, reqs[-1])[2])
        raise ImpossibleRequirement(
            f"inquiry {t.id!r}: no logged-in agent can serve queue {q.name!r} "
            f"(channel {q.channel!r}, tenant {t.tenant!r}, skills {missing or 'none'})"
        )

    def _position(self, q: QueueState, priority: int) -> int:
        ahead = 0
        for p, c in q.waiting_by_priority.items():
            if p >= priority:
                ahead += c.n
        return ahead + 1

    def withdraw(self, inquiry_id: str, now: float) -> None:
        """The customer left (or the backend cancelled) before being assigned."""
        check_id(inquiry_id, "inquiry_id")
        try:
            self._enter(now)
            self._withdraw(inquiry_id)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _withdraw(self, inquiry_id: str) -> None:
        t = self._ticket(inquiry_id)
        if t.state not in (WAITING, OFFERED, PARKED):
            raise InvalidState(
                f"inquiry {inquiry_id!r} is {_state_name(t)}; only a waiting or offered "
                "inquiry can be withdrawn"
            )
        if t.state != PARKED:
            self._estimator.on_abandon(t.terms.queue.name, self._now - t.entered)
        else:
            self._bp.callbacks.withdrawn(t)
            self._bp.outbound.withdrawn(t)
        self._end(
            t,
            Withdrawn(
                at=self._now, version=self._version, inquiry_id=t.id, queue=t.terms.queue.name
            ),
        )

    def _end(self, t: Ticket, event: Event | None) -> None:
        """The one way a ticket's life ends: out of line or off its agent, out of the
        router, counted by its outcome and announced by ``event`` (``None``: a completed
        inquiry, whose ``Completed`` was counted and announced at completion)."""
        state = t.state
        agent = t.agent if state in (OFFERED, ASSIGNED, WRAPUP) else None
        if state == WAITING:
            self._dequeue(t)
        elif agent is not None:
            if state == OFFERED:
                del agent.offers[t.id]
                self._n_offered -= 1
                self._spent_room -= 2  # its offer's entry is spent
                if t.also is not None:
                    self._drop_others(t, undo_heavy=False)
            else:
                work = agent.work
                del work[t.id]
                if not work:  # emptied: its key table to the free list ("Memory at scale")
                    work.clear()
                if state == ASSIGNED:
                    self._n_assigned -= 1
                else:
                    self._n_wrapup -= 1
        t.state = DONE
        del self._tickets[t.id]
        if agent is not None:
            self._release(agent, t)
        if event is not None:
            c = self._counters
            # counted under the queue it ended in
            b = t.terms.queue.tally.windows.current(self._now)
            if isinstance(event, Withdrawn):
                c.withdrawn += 1
                b.abandoned += 1
            elif isinstance(event, Abandoned):
                c.abandoned += 1
                b.abandoned += 1
            elif isinstance(event, Rejected):
                c.rejected += 1
                b.rejected += 1
            elif isinstance(event, Deflected):
                c.deflected += 1
                b.deflected += 1
            elif isinstance(event, TaskExpired):  # (counters.tasks_expired: the outbound policy)
                b.expired += 1
            self._events.append(event)

    # ------------------------------------------------------------------ offers

    def accept(self, inquiry_id: str, now: float, agent_id: str | None = None) -> None:
        """The agent took the offered inquiry; it is now assigned."""
        if type(inquiry_id) is not str or not inquiry_id or len(inquiry_id) > MAX_NAME:
            check_id(inquiry_id, "inquiry_id")  # (a short id passes without the call)
        if agent_id is not None:
            check_id(agent_id, "agent_id")
        try:
            self._enter(now)
            t = self._tickets.get(inquiry_id)
            if t is None or t.state != OFFERED or t.more is not None or agent_id is not None:
                # unknown, not on offer, on offer to several agents, or an agent named
                t, agent = self._offer(inquiry_id, agent_id)
                if t.also is not None:
                    self._win(t, agent)
            else:  # a plain ticket (no side record) on offer to one agent
                assert t.agent is not None
                agent = t.agent
            offers = agent.offers
            del offers[t.id]
            if not offers:  # emptied: its key table to the free list ("Memory at scale")
                offers.clear()
            agent.work[t.id] = t
            agent.no_answer = 0
            agent.declines = 0
            agent.last_seen = self._now
            self._start_work(t, agent)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _offer(self, inquiry_id: str, agent_id: str | None) -> tuple[Ticket, Agent]:
        """The offered ticket and its agent; raises if it is not offered (to ``agent_id``)."""
        t = self._ticket(inquiry_id)
        if t.state != OFFERED:
            raise InvalidState(f"inquiry {inquiry_id!r} is {_state_name(t)}, not offered")
        agent = t.agent
        assert agent is not None
        also = t.also
        if also:  # several open offers: the caller says whose answer this is
            names = ", ".join(repr(a) for a in [agent.id, *also])
            if agent_id is None:
                raise InvalidState(
                    f"inquiry {inquiry_id!r} is offered to several agents ({names}); give agent_id"
                )
            if agent_id != agent.id:
                other = also.get(agent_id)
                if other is None:
                    raise InvalidState(
                        f"inquiry {inquiry_id!r} is offered to {names}, not {agent_id!r}"
                    )
                return t, other
            return t, agent
        if agent_id is not None and agent_id != agent.id:
            raise InvalidState(
                f"inquiry {inquiry_id!r} is offered to {agent.id!r}, not {agent_id!r}"
            )
        return t, agent

    def _start_work(self, t: Ticket, agent: Agent) -> None:
        now = self._now
        t.state = ASSIGNED
        t.assigned_at = now
        self._n_offered -= 1
        self._spent_room -= 2  # the offer's entry is spent
        self._n_assigned += 1
        self._counters.assigned += 1
        q = t.terms.queue
        name = q.name
        more = t.more
        if more is None:  # a plain ticket: entered at its arrival, not a callback
            r = q.est  # ``_answered``, inline while the record held is current (every answer)
            if r is not None and not r.dropped:
                self._estimator.answer(r, t.wait_end, t.arrival, True)
            else:
                self._answered(q, t.wait_end, t.arrival, True)
        else:
            self._answered(q, t.wait_end, t.entered, not more.callback)
        self._count_answer(t, now, 1)
        self._events.append(
            _Assigned(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                agent_id=agent.id,
                queue=name,
                wait_s=now - t.arrival,
            )
        )

    def _est_record(self, q: QueueState) -> QueueRates:
        """The estimator's record of ``q``, made on first use, now held on ``q``
        (``QueueState.est``): the observations of every inquiry take it from there, not
        by the queue's name. Asked again when the estimator dropped it (a restore of its
        records, ``WaitEstimator.load_extra_state``)."""
        r = q.est = self._estimator.made(q.name)
        return r

    def _answered(self, q: QueueState, decided: float, entered: float, live: bool) -> None:
        """``WaitEstimator.on_answer`` with ``q``'s record held (:meth:`_est_record`)."""
        r = q.est
        if r is None or r.dropped:
            r = q.est = self._estimator.record(q.name)
            if r is None:  # no record yet: the estimator decides whether this answer makes one
                self._estimator.on_answer(q.name, decided, entered, live)
                return
        self._estimator.answer(r, decided, entered, live)

    def _count_answer(self, t: Ticket, at: float, sign: int, before_reset: bool = False) -> None:
        """Count ``t`` answered at ``at`` in its queue's windows (``sign`` -1: take it back,
        ``before_reset``: it was counted before the last reset)."""
        q = t.terms.queue
        tl = q.tally
        w = tl.windows
        wait = at - t.arrival
        tl.count_wait(wait, sign)
        if sign > 0:
            c = w.cum if at < w.until else w.roll(at)  # w.current(at), inline: every answer
            c.answered += 1
            c.wait_s += wait
            if wait <= q.answer_target_s:
                c.in_target += 1
            return
        target = t.answer_target  # counted before a reconfigure changed the queue's
        if target is None:
            target = q.answer_target_s
        else:
            t.answer_target = None
        w.adjust(at, Counts.unanswer(wait, wait <= target), before_reset)
        self._live.answer_taken_back(t)

    def _unanswer(self, t: Ticket) -> None:
        """Take back the answer of an assigned ``t`` going back into line (a hand-back, a
        transfer): it counts as answered when an agent takes it again (docs/metrics.md)."""
        self._count_answer(t, t.assigned_at, -1, self._live.answered_before_reset(t))

    def decline(self, inquiry_id: str, now: float, agent_id: str | None = None) -> None:
        """The agent refused the offer; the inquiry goes back to its place, not to this agent."""
        check_id(inquiry_id, "inquiry_id")
        if agent_id is not None:
            check_id(agent_id, "agent_id")
        try:
            self._enter(now)
            t, agent = self._offer(inquiry_id, agent_id)
            agent.last_seen = self._now
            self._counters.declined += 1
            agent.tally.declined += 1
            self._events.append(
                OfferDeclined(
                    at=self._now, version=self._version, inquiry_id=t.id, agent_id=agent.id
                )
            )
            self._take_back(t, agent, "declined")
            if self._max_declines:
                self._count_decline(agent)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _count_decline(self, agent: Agent) -> None:
        """``max_declines``: one decline more in ``agent``'s run (reset by an accept and by
        ``set_ready``); the N-th sets it away, as ``max_no_answer`` does for expiries."""
        most = self._max_declines
        run = int(agent.declines) + 1
        if run >= most:
            agent.declines = most
            if agent.state == READY:
                self._stop_new_work(agent, AWAY, "max_declines")
        else:
            agent.declines = run

    def _take_back(self, t: Ticket, agent: Agent, reason: str) -> None:
        del agent.offers[t.id]
        self._undo_heavy(t, agent)
        if t.declined is None:
            t.declined = set()
        t.declined.add(agent.id)
        self._release(agent, t)
        if not self._drop_recipient(t, agent):
            self._requeue(t, reason)

    def _undo_heavy(self, t: Ticket, agent: Agent) -> None:
        """A heavy inquiry given back unserved does not count in the agent's heavy streak
        (else a streak at the limit with no call to end it would block the agent for good)."""
        if t.terms.heavy and agent.heavy_streak:
            agent.heavy_streak -= 1

    def _expire_offer(self, t: Ticket) -> None:
        agent = t.agent
        assert agent is not None
        holders = [agent] if t.also is None else [agent, *t.also.values()]
        t.also = None
        if t.declined is None:
            t.declined = set()
        for a in holders:
            self._counters.expired += 1
            a.tally.expired += 1
            self._events.append(
                OfferExpired(at=self._now, version=self._version, inquiry_id=t.id, agent_id=a.id)
            )
            del a.offers[t.id]
            self._undo_heavy(t, a)
            t.declined.add(a.id)
            self._release(a, t)
        self._requeue(t, "offer_expired")
        for a in holders:
            a.no_answer += 1
            if a.no_answer >= self._max_no_answer and a.state == READY:
                self._stop_new_work(a, AWAY, "max_no_answer")

    def _requeue(self, t: Ticket, reason: str) -> None:
        t.agent = None
        t.also = None
        # (before it is in line: a round of declines it ends there follows it)
        self._events.append(
            Requeued(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                queue=t.terms.queue.name,
                reason=reason,
            )
        )
        self._back_in_line(t)
        self._bp.back_in_line(t)  # a queue its hours closed may close it out

    # ------------------------------------------------------------------ completion

    def complete(self, inquiry_id: str, now: float) -> None:
        """The agent finished the inquiry; its slot is held for the agent's wrap-up time."""
        if type(inquiry_id) is not str or not inquiry_id or len(inquiry_id) > MAX_NAME:
            check_id(inquiry_id, "inquiry_id")  # (a short id passes without the call)
        try:
            self._enter(now)
            self._complete(inquiry_id)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _complete(self, inquiry_id: str) -> None:
        now = self._now
        t = self._tickets.get(inquiry_id)
        if t is None or t.state != ASSIGNED:
            t = self._ticket(inquiry_id)  # raises for an unknown id
            raise InvalidState(f"inquiry {inquiry_id!r} is {_state_name(t)}, not assigned")
        agent = t.agent
        assert agent is not None
        handle = now - t.assigned_at
        self._counters.completed += 1
        q = t.terms.queue
        r = q.est  # the estimator's record of q, held (QueueState.est)
        if r is None or r.dropped:
            r = self._est_record(q)
        self._estimator.complete(r, handle)
        w = q.tally.windows
        c = w.cum if now < w.until else w.roll(now)  # w.current(now), inline: every completion
        c.handled += 1
        c.handle_s += handle
        tally = agent.tally
        tally.handled += 1
        tally.handle_s += handle
        agent.last_seen = now
        self._work_ended(t, agent)
        if t.terms.heavy:  # (the wellbeing settings read only then: a light one has none)
            after = self._wb.cooldown_after_heavy_s
            if after is not None and handle >= after and self._wb.cooldown_s > 0:
                self._cool_down(agent, t, handle)
        wrap = self._bp.surge.wrap_up(agent.wrap_up_s) if self._surge else agent.wrap_up_s
        self._events.append(
            _Completed(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                agent_id=agent.id,
                queue=q.name,
                handle_s=handle,
                wrap_up_until=now + wrap,
            )
        )
        if wrap > 0:
            t.state = WRAPUP
            self._n_assigned -= 1
            self._n_wrapup += 1
            self._at(now + wrap, K_WRAP, t, t.seq)
            # recent work changed its score: re-listed where it has room
            unlist(agent, self._vers, self._table)
            if has_room(agent) and not agent.freed:  # (a voice agent in wrap-up has none)
                agent.freed = True  # self._free(agent), inline
                self._freed.append(agent)
            tl = agent.tally  # busy -> wrap_up: noted (_note_changed, inline)
            if not tl.noted:
                tl.noted = True
                self._changed[agent.id] = agent
        else:
            self._end(t, None)

    def _cool_down(self, agent: Agent, t: Ticket, handle: float) -> None:
        """After long heavy work the agent takes no new work (or no heavy work) for a while:
        recovery, apart from wrap-up, which only holds the slot."""
        wb = self._wb
        until = self._now + wb.cooldown_s
        if until > agent.cooldown_until:
            agent.cooldown_until = until
            unlist(agent, self._vers, self._table)
            self._schedule_agent(agent, until)
            self._note_changed(agent)  # not available while it cools down
        self._events.append(
            CooldownStarted(
                at=self._now,
                version=self._version,
                agent_id=agent.id,
                inquiry_id=t.id,
                until=agent.cooldown_until,
                off=wb.cooldown_from,
                reason=f"heavy inquiry handled {handle:.0f} s >= {wb.cooldown_after_heavy_s:g} s",
            )
        )

    def _work_ended(self, t: Ticket, agent: Agent) -> None:
        """``agent`` stopped working on the assigned ``t`` (completed, handed back or
        transferred): the recent-work window and the heavy-call streak follow."""
        now = self._now
        if self._uses_recent:
            handle = now - t.assigned_at
            recent = agent.recent  # (router/state/recent.py: its two forms)
            if NATIVE_RECENT:
                recent.append(RecentWork(now, handle))
            else:
                recent.append(now)
                recent.append(handle)
            agent.recent_sum += handle
            when = now + self._window
            if when < agent.timer_at:  # (else the pending timer comes first: no call)
                self._schedule_agent(agent, when)
        k = self._heavy_k
        if t.terms.heavy and k is not None and agent.heavy_streak >= k:
            if self._wb.heavy_recovery_s > 0:
                agent.heavy_block_until = now + self._wb.heavy_recovery_s
                self._schedule_agent(agent, agent.heavy_block_until)
            else:  # no recovery pause configured: the run ends with this inquiry
                agent.heavy_streak = 0
        elif not t.terms.heavy and agent.heavy_streak:
            # light work done ends a heavy run; a light offer that was declined, expired
            # or (a callback) did not reach the customer does not
            agent.heavy_streak = 0
            agent.heavy_block_until = 0.0

    # ------------------------------------------------------------------ in-queue changes

    def update_inquiry(
        self,
        inquiry_id: str,
        now: float,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> None:
        """Change a waiting, offered or parked inquiry's ``priority`` (re-aged from its
        original arrival) or ``requires`` (skills on top of its queue's; ``{}`` clears
        them): it keeps its arrival, so its place is the one it would have had with these
        values from the start. An offer to an agent the new requirement excludes goes back."""
        check_id(inquiry_id, "inquiry_id")
        check_priority(priority)
        check_requires(requires)
        try:
            self._enter(now)
            self._update_inquiry(inquiry_id, priority, requires)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _update_inquiry(
        self, inquiry_id: str, priority: int | None, requires: dict[str, int] | None
    ) -> None:
        t = self._ticket(inquiry_id)
        state = t.state
        if state not in (WAITING, OFFERED, PARKED):
            raise InvalidState(
                f"inquiry {inquiry_id!r} is {_state_name(t)}; only a waiting, offered or "
                "parked inquiry can be updated (hand an assigned one back first)"
            )
        # (a callback moved to an outbound queue is held there too: its key is the heap's)
        if state == PARKED and self._bp.outbound.holds(t):
            raise InvalidState(
                f"inquiry {inquiry_id!r} is an outbound task held for idle capacity; it can be "
                "updated once it is released"
            )
        if state == WAITING:
            self._dequeue(t)
            t.state = PARKED  # out of line for the change; _enqueue puts it back
        if priority is not None:
            t.priority = priority
        if requires is not None:
            t.extra = dict(requires) or None
        if state == WAITING:
            self._set_pool(t)
            self._enqueue(t)
            self._pending.append(t)
        elif state == OFFERED and requires is not None:
            self._hold_offer(t, "updated")
        self._counters.updated += 1
        self._events.append(
            InquiryUpdated(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                queue=t.terms.queue.name,
                priority=t.terms.priority,
            )
        )
        if t.state in (WAITING, OFFERED):
            self._bp.changed(t, moved=False)

    def transfer(
        self,
        inquiry_id: str,
        queue: str,
        now: float,
        *,
        agent_id: str | None = None,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> None:
        """Move a waiting, offered or assigned inquiry to ``queue`` (same channel), keeping
        its arrival time: it takes its place there by arrival and priority, and the new
        queue's relaxation steps start now (in a surge that relaxes steps, at the last one,
        as for an overflow move; a wait for preferred agents still on lasts at most the new
        queue's ``preferred_wait_s`` from now). An offered or assigned one leaves its agent
        (``agent_id``, if given, must be that agent); once answered it no longer abandons.
        A transfer into a queue closed by its ``hours`` is refused."""
        check_id(inquiry_id, "inquiry_id")
        check_id(queue, "queue")
        if agent_id is not None:
            check_id(agent_id, "agent_id")
        check_priority(priority)
        check_requires(requires)
        try:
            self._enter(now)
            self._transfer(inquiry_id, queue, agent_id, priority, requires)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _transfer(
        self,
        inquiry_id: str,
        queue: str,
        agent_id: str | None,
        priority: int | None,
        requires: dict[str, int] | None,
    ) -> None:
        now = self._now
        t = self._ticket(inquiry_id)
        if t.state not in (WAITING, OFFERED, ASSIGNED):
            raise InvalidState(
                f"inquiry {inquiry_id!r} is {_state_name(t)}; only a waiting, offered or "
                "assigned inquiry can be transferred"
            )
        q = self._queues.get(queue)
        if q is None or q.removed:
            raise UnknownId(f"unknown queue {queue!r}; known: {self._queue_list()}")
        src = t.terms.queue
        if q is src:
            raise InvalidInput("queue", f"inquiry {inquiry_id!r} is already in queue {queue!r}")
        if q.channel != src.channel:
            raise InvalidInput(
                "queue",
                f"queue {queue!r} is on channel {q.channel!r}; inquiry {inquiry_id!r} is on "
                f"{src.channel!r}",
            )
        if q.tenant is not None and t.tenant != q.tenant:
            raise InvalidInput(
                "queue",
                f"queue {queue!r} belongs to tenant {q.tenant!r}; inquiry {inquiry_id!r} to "
                f"{t.tenant!r}",
            )
        agent = t.agent
        if agent_id is not None and (agent is None or not self.holds(inquiry_id, agent_id)):
            held = f"held by {agent.id!r}" if agent is not None else _state_name(t)
            raise InvalidState(f"inquiry {inquiry_id!r} is {held}, not held by {agent_id!r}")
        if self._bp.closed_now(q):
            raise InvalidState(f"queue {queue!r} is closed (its hours of operation)")
        if t.state == WAITING:
            self._dequeue(t)
            self._estimator.on_removed(src.name, now - t.entered)
            t.state = PARKED  # out of line for the move; _enqueue puts it back
        else:
            assert agent is not None
            if t.state == ASSIGNED:  # back in line: its answer is taken back (statistics)
                self._unanswer(t)
            if t.also is not None:  # one of several open offers: the others are rescinded
                keep = agent if agent_id is None else self._offer(inquiry_id, agent_id)[1]
                self._rescind_others(t, keep, "transferred")
                agent = keep
            self._leave_agent(t, agent)
            if agent_id is not None:
                agent.last_seen = now
        self._move_to(t, q, len(q.steps) if self._bp.surge.relax_now else 0)  # as overflow
        if priority is not None:
            t.priority = priority
        if requires is not None:
            t.extra = dict(requires) or None
        if q.heavy and not t.terms.heavy:  # a heavy inquiry stays heavy
            t.heavy = True
        self._set_pool(t)
        self._enqueue(t)
        self._pending.append(t)
        self._schedule_step(t)
        self._counters.transferred += 1
        self._events.append(
            Transferred(
                at=now,
                version=self._version,
                inquiry_id=t.id,
                from_queue=src.name,
                to_queue=q.name,
                agent_id=agent.id if agent is not None else None,
            )
        )
        self._bp.changed(t, moved=True)

    def hand_back(
        self,
        inquiry_id: str,
        now: float,
        agent_id: str | None = None,
        *,
        priority: int | None = None,
    ) -> None:
        """The agent gives an assigned inquiry back unfinished: it waits in its queue again
        at its original place (arrival, priority; ``priority`` changes it), never for this
        agent again, and no longer abandons. The agent's slot is free at once (no wrap-up)."""
        check_id(inquiry_id, "inquiry_id")
        if agent_id is not None:
            check_id(agent_id, "agent_id")
        check_priority(priority)
        try:
            self._enter(now)
            self._hand_back(inquiry_id, agent_id, priority)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _hand_back(self, inquiry_id: str, agent_id: str | None, priority: int | None) -> None:
        t = self._ticket(inquiry_id)
        if t.state != ASSIGNED:
            raise InvalidState(
                f"inquiry {inquiry_id!r} is {_state_name(t)}; only an assigned inquiry can be "
                "handed back (decline an offer)"
            )
        agent = t.agent
        assert agent is not None
        if agent_id is not None and agent_id != agent.id:
            raise InvalidState(
                f"inquiry {inquiry_id!r} is assigned to {agent.id!r}, not {agent_id!r}"
            )
        agent.last_seen = self._now
        self._unanswer(t)  # back in line: its answer is taken back (statistics)
        self._leave_agent(t, agent)
        if t.declined is None:
            t.declined = set()
        t.declined.add(agent.id)
        if priority is not None:
            t.priority = priority
        self._counters.handed_back += 1
        self._requeue(t, "handed_back")
        if t.state == WAITING:  # (a queue its hours closed may have closed it out)
            self._bp.changed(t, moved=True)

    def _leave_agent(self, t: Ticket, agent: Agent) -> None:
        """Take an offered or assigned ``t`` off ``agent`` (not the agent's fault), leaving it
        out of line (``PARKED``) for the caller to place. Work done counts as work."""
        if t.state == OFFERED:
            del agent.offers[t.id]
            self._n_offered -= 1
            self._spent_room -= 2  # its offer's entry is spent
            self._undo_heavy(t, agent)
        else:
            del agent.work[t.id]
            self._n_assigned -= 1
            self._work_ended(t, agent)
            t.patience_at = None  # answered: the customer is on hold now, not abandoning
        t.state = PARKED
        t.agent = None
        self._release(agent, t)

    # ------------------------------------------------------------------ agents

    def login(self, spec: AgentSpec, now: float) -> None:
        """An agent logs in, ready for work."""
        check_agent_spec(spec, self._max_concurrency)
        try:
            self._enter(now)
            self._login(spec)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _login(self, spec: AgentSpec) -> None:
        now = self._now
        if spec.id in self._agents:
            raise DuplicateId(f"agent {spec.id!r} is already logged in")
        self._check_queues(spec)
        for i, sh in enumerate(spec.shifts):
            for qn in sh.queues or ():
                if qn not in self._queues:
                    raise UnknownId(
                        f"shifts[{i}].queues.{qn}: unknown queue {qn!r}; "
                        f"known: {self._queue_list()}"
                    )
        if self._native_heap and not self._free_slots and len(self._slots) >= self._slot_limit:
            raise InvalidState(
                f"agent {spec.id!r} cannot log in: a compiled router has room for "
                f"{self._slot_limit} agents (their heap entries' slots: router/state/lazyheap.py)"
            )
        agent = Agent(spec, now, self._next_seq())
        if agent.shifts:
            schedule.locate(agent, now)
        if agent.off_shift:  # logged in ahead of its shift: the router knows it is coming
            agent.state = AWAY
            agent.state_reason = "off_shift"
        else:
            self._n_ready += 1
        self._set_caps(agent)
        self._index_agent(agent)
        if agent.shifts or agent.shift_end is not None:
            self._scheduled[agent.id] = agent
            self._staff_ver += 1
        for pool in self._pools.values():
            self._consider(agent, pool)
        self._events.append(AgentLoggedIn(at=self._now, version=self._version, agent_id=agent.id))
        if agent.off_shift:
            self._events.append(
                AgentAway(
                    at=self._now, version=self._version, agent_id=agent.id, reason="off_shift"
                )
            )
        else:
            self._free(agent)
        self._schedule_agent(agent, self._agent_next_time(agent))
        self._count_break(agent)
        self._live.add_agent(agent, self._queues.values())
        if agent.off_shift:
            self._live.set_off_shift(agent, self._now, True)

    def _check_queues(self, spec: AgentSpec) -> None:
        """Raise UnknownId for a queue of ``spec`` the config does not have."""
        for qn in spec.queues:
            if qn not in self._queues:
                raise UnknownId(f"queues.{qn}: unknown queue {qn!r}; known: {self._queue_list()}")

    def update_agent(self, spec: AgentSpec, now: float) -> None:
        """A logged-in agent's new spec (same id), without a logout: skills, capacity,
        units, tenants, queues, wrap-up and shift end. Work in flight stays; a cap below
        the current load only stops new work until the load is under it; an open offer
        the agent no longer fits goes back to its place. Only the pools that exist are
        re-examined (as at login), never the other agents."""
        check_agent_spec(spec, self._max_concurrency)
        try:
            self._enter(now)
            self._update_agent(spec)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _update_agent(self, spec: AgentSpec) -> None:
        agent = self._staying_agent(spec.id)
        if spec.team != agent.spec.team or spec.shifts != agent.spec.shifts:
            raise InvalidInput(
                "agent.shifts", "a team or schedule change needs a logout and a login"
            )
        self._check_queues(spec)
        waiting_for = self._waiting_for(agent)
        old_skills = agent.skills
        agent.spec = spec
        agent.skills = dict(spec.skills)
        agent.tenants = spec_tenants(spec)
        agent.queues = dict(spec.queues)
        agent.units = spec.units
        agent.wrap_up_s = spec.wrap_up_s
        agent.shift_end = spec.shift_end
        if agent.shifts:  # the shift under way keeps its own tenants and queues
            schedule.apply_shift(agent, agent.shift_no, agent.off_shift)
            if agent.shift_end is None:
                agent.shift_end = agent.shifts[-1].end_s
        # the staffing to come (a shift end set, moved or dropped; skills or queues changed)
        if agent.shifts or agent.shift_end is not None:
            self._scheduled[agent.id] = agent
            self._staff_ver += 1
        elif self._scheduled.pop(agent.id, None) is not None:
            self._staff_ver += 1
        for skill in old_skills:
            if skill not in agent.skills:
                holders = self._by_skill[skill]
                del holders[agent.id]
                if not holders:
                    del self._by_skill[skill]
        for skill in agent.skills:
            if skill not in old_skills:
                self._by_skill.setdefault(skill, {})[agent.id] = agent
        # units held, recounted: the budget may have been switched on or off
        used = 0
        by: dict[str, int] = {}
        for t in (*agent.offers.values(), *agent.work.values()):
            used += t.terms.cost
            ch = t.terms.queue.channel
            by[ch] = by.get(ch, 0) + t.terms.cost
        agent.units_used = used if agent.units is not None else 0
        agent.units_by = by if agent.units is not None else {}
        self._set_caps(agent)
        self._live.respec_agent(agent, self._queues.values(), self._now)  # capacity shares
        self._relist(agent)  # skills, queues, tenants and the queues' match, evaluated again
        for t in list(agent.offers.values()):
            if not any(p is t.pool for p, _, _ in agent.pools):
                self._take_back_quietly(t, agent, "agent_updated")
        self._counters.agents_updated += 1
        self._events.append(AgentUpdated(at=self._now, version=self._version, agent_id=agent.id))
        self._schedule_agent(agent, self._agent_next_time(agent))
        self._recheck_preferences(waiting_for)

    def heartbeat(self, agent_id: str, now: float) -> None:
        """The agent's console is alive: with ``[routing] presence_timeout_s``, an agent that
        sends nothing (no heartbeat, no other input) for that long while ready is set away
        (``AgentAway(reason="presence_timeout")``) and its offers go back. Any input of the
        agent counts the same; a heartbeat changes nothing else (an agent set away stays
        away until ``set_ready``)."""
        check_id(agent_id, "agent_id")
        try:
            self._enter(now)
            self._agent(agent_id).last_seen = self._now
        except BaseException as exc:
            self._failed(exc)
            raise

    def agent_spec(self, agent_id: object) -> AgentSpec:
        """The spec a logged-in agent works under (for :meth:`update_agent` with changes:
        ``msgspec.structs.replace(router.agent_spec("ye"), skills={...})``)."""
        return self._agent(query_id(agent_id, "agent_id")).spec

    def _set_caps(self, agent: Agent) -> None:
        caps = {}
        surge = self._bp.surge if self._surge else None
        for ch, cap in agent.spec.capacity.items():
            if surge is not None:
                cap = surge.cap(ch, cap)
            caps[ch] = min(cap, self._channels[ch].max_concurrency)
        key = tuple(caps.items())  # (the same items in the same order: the same dict)
        shared = self._caps_shared.get(key)
        if shared is None:
            if len(self._caps_shared) >= MAX_SHARED_CAPS:  # open-ended: forget, not grow
                self._caps_shared.clear()
            shared = self._caps_shared[key] = caps
        set_caps(agent, shared)
        load_with(agent, shared)  # a count (0) for each of its channels
        self._room(agent)
        self._note_changed(agent)

    def set_ready(self, agent_id: str, now: float) -> None:
        """Back from a break or away: the agent takes work again."""
        check_id(agent_id, "agent_id")
        try:
            self._enter(now)
            agent = self._staying_agent(agent_id)
            agent.last_seen = self._now
            if agent.state == READY:
                return
            if agent.off_shift:
                raise InvalidState(
                    f"agent {agent_id!r} is off shift until {agent.shift_next!r} (its schedule)"
                )
            if agent.state == BREAK:
                agent.stretch_start = self._now
            self._make_ready(agent)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _make_ready(self, agent: Agent) -> None:
        if agent.state != READY:
            self._n_ready += 1
        if agent.state == AWAY:
            count_away(agent, -1)  # back in its pools' rounds
        agent.state = READY
        agent.state_reason = ""
        agent.break_until = 0.0
        agent.no_answer = 0
        agent.declines = 0
        agent.idle_since = self._now
        unlist(agent, self._vers, self._table)
        self._free(agent)
        self._room(agent)
        self._note_changed(agent)
        self._events.append(AgentReady(at=self._now, version=self._version, agent_id=agent.id))
        self._schedule_agent(agent, self._agent_next_time(agent))
        self._count_break(agent)
        if self._early_s > 0.0:
            self._early_asks[agent.id] = agent

    def go_on_break(self, agent_id: str, now: float, reason: str = "break") -> None:
        """No new work; pending offers go back to their place; work in flight finishes."""
        check_id(agent_id, "agent_id")
        check_reason(reason)
        try:
            self._enter(now)
            agent = self._staying_agent(agent_id)
            agent.last_seen = self._now
            self._stop_new_work(agent, BREAK, reason)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _stop_new_work(self, agent: Agent, state: int, reason: str, until: float = 0.0) -> None:
        was = agent.state
        if was == READY:
            self._n_ready -= 1
        away = state == AWAY and was != AWAY  # out of its pools' rounds of declines
        if away:
            count_away(agent, 1)
        elif was == AWAY and state != AWAY:
            count_away(agent, -1)
        agent.state = state
        agent.state_reason = reason
        agent.break_until = until
        agent.break_due = _INF  # a break waiting for a place is asked again when back
        unlist(agent, self._vers, self._table)
        self._unfree(agent)
        self._room(agent)
        self._note_changed(agent)
        for t in list(agent.offers.values()):
            self._take_back_quietly(t, agent, reason)
        if state == BREAK:
            self._events.append(
                AgentOnBreak(
                    at=self._now,
                    version=self._version,
                    agent_id=agent.id,
                    reason=reason,
                    until=until or None,
                )
            )
        elif state == AWAY:
            self._events.append(
                AgentAway(at=self._now, version=self._version, agent_id=agent.id, reason=reason)
            )
        self._count_break(agent)
        if away:
            self._end_rounds(self._declined_pools(agent))

    def _take_back_quietly(self, t: Ticket, agent: Agent, reason: str) -> None:
        """Return an offer without blaming the agent (it is leaving, not declining)."""
        del agent.offers[t.id]
        self._undo_heavy(t, agent)
        others = self._drop_recipient(t, agent)
        if others:  # other agents still hold the inquiry's offer
            self._events.append(
                OfferRescinded(
                    at=self._now,
                    version=self._version,
                    inquiry_id=t.id,
                    agent_id=agent.id,
                    reason=reason,
                )
            )
        self._release(agent, t)
        if not others:
            self._requeue(t, reason)

    def logout(self, agent_id: str, now: float) -> None:
        """Offers go back to their place; the agent leaves once work in flight is done."""
        check_id(agent_id, "agent_id")
        try:
            self._enter(now)
            self._logout(agent_id)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _logout(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        if agent.state == LOGGING_OUT:
            raise InvalidState(f"agent {agent_id!r} is already logging out")
        self._stop_new_work(agent, LOGGING_OUT, "logout")
        if agent.id in self._scheduled:
            self._staff_ver += 1  # no longer counted in the staffing to come
        if self._agents.get(agent_id) is not agent:
            return  # handing back its last offer already logged it out
        if agent.total_load == 0:
            self._remove_agent(agent)
        else:
            self._events.append(
                AgentAway(
                    at=self._now, version=self._version, agent_id=agent.id, reason="logging_out"
                )
            )
            waiting_for = self._waiting_for(agent)
            rounds = self._declined_pools(agent)
            # it takes no new work: no pool counts it as staff (the expected wait, the
            # impossible-requirement check), as no pool made from now on would
            leave_pools(agent)
            self._recheck_preferences(waiting_for)
            self._end_rounds(rounds)

    def _remove_agent(self, agent: Agent) -> None:
        if agent.roomy:
            agent.roomy = False
            self._n_with_room -= 1
        waiting_for = self._waiting_for(agent)
        rounds = self._declined_pools(agent)
        self._live.remove_agent(agent)
        leave_pools(agent)
        unlist(agent, self._vers, self._table)
        self._unindex_agent(agent)
        self._unfree(agent)
        if self._scheduled.pop(agent.id, None) is not None:
            self._staff_ver += 1
        self._events.append(AgentLoggedOut(at=self._now, version=self._version, agent_id=agent.id))
        self._count_break(agent)
        self._recheck_preferences(waiting_for)
        self._end_rounds(rounds)

    # ------------------------------------------------------------------ slots

    def _retire_slot(self, slot: int) -> None:
        """The agent of ``slot`` is gone: its entries still in the heaps name ``_GONE``
        (never live). Once the retired slots pass a quarter of the agents (+16), every
        agent heap is compacted, after which no entry names them: they are free again (a
        slot's next agent must not meet its last one's entries, whose versions it may
        reach). The compaction's O(entries) is amortised over those departures."""
        self._slots[slot] = _GONE
        table = self._table
        if table is not None:  # compiled: no entry holds -1
            table.cells[slot] = -1
        else:
            self._vers[slot] = None  # no entry holds it: the slot's entries are all stale
        retired = self._retired
        retired.append(slot)
        if len(retired) > 16 + (len(self._agents) >> 2):
            vers = self._vers
            for pool in self._pools.values():
                vh = pool.vh
                if vh is not None and table is not None:
                    vh.compact(table.cells)
                else:
                    compact_agents(pool.agents, vers)
            self._free_slots.extend(retired)
            retired.clear()

    def _release(self, agent: Agent, t: Ticket) -> None:
        """Give back the capacity ``t`` held on ``agent``."""
        queue = t.terms.queue
        ch = queue.channel
        cn = queue.chan
        downs = agent.loadst.downs  # one step down by channel number (loads.py), inline
        st = downs[cn] if cn < len(downs) else None
        if st is None:
            st = step_down_no(agent.loadst, cn, ch)
        agent.loadst = st
        agent.loadn = st.nums
        agent.load = st.counts
        agent.total_load -= 1
        if agent.units is not None:
            agent.units_used -= t.terms.cost
            agent.units_by[ch] -= t.terms.cost
        unlist(agent, self._vers, self._table)
        now = self._now
        tally = agent.tally
        # held since offered, at the channel's share, read by number (``AgentTally.sharen``:
        # the dict's ``get(ch, 0.0)`` was a str-keyed probe and, compiled, a boxed 0.0); a
        # channel past the list's end has none (a ``try`` costs nothing when it does not raise)
        try:
            share = tally.sharen[cn]
        except IndexError:
            share = 0.0
        tally.busy_s += share * (now - t.wait_end)
        if not tally.noted:  # _note_changed, inline: every release
            tally.noted = True
            self._changed[agent.id] = agent
        if agent.total_load == 0:
            agent.idle_from = now
            agent.idle_since = now  # idle time counts from the end of the last work
            if agent.state == LOGGING_OUT:
                self._remove_agent(agent)
                return
            if agent.state == BREAK and agent.state_reason == "wellbeing" and not agent.break_until:
                drained = agent.brk_flags & DRAINING
                if drained:
                    if not self._drain_has_place(agent):
                        return  # no break place: back to work, first in line for one
                elif self._breaks.enabled and not self._break_still_fits(agent):
                    return  # postponed: back to work, first in line for a place
                agent.break_until = now + self._wb.break_s
                self._events.append(
                    AgentOnBreak(
                        at=self._now,
                        version=self._version,
                        agent_id=agent.id,
                        reason="wellbeing",
                        until=agent.break_until,
                    )
                )
                self._schedule_agent(agent, agent.break_until)
                if drained:
                    self._count_break(agent)  # from draining to on a break: its place now
            elif self._early_s > 0.0 and agent.state == READY:
                self._early_asks[agent.id] = agent  # freed up: an early break? (_ask_early)
        if agent.state == READY:
            if not agent.freed:  # self._free(agent), inline: every release
                agent.freed = True
                self._freed.append(agent)
            # self._room(agent) and its ``has_room(agent)``, inline: every release
            roomy = False
            loadn = agent.loadn  # by channel number (router/state/loads.py)
            for cn, cap in enumerate(agent.capn):  # (0 where it has no cap: never room)
                if loadn[cn] < cap:
                    roomy = True
                    break
            if roomy != agent.roomy:
                agent.roomy = roomy
                self._n_with_room += 1 if roomy else -1

    def _free(self, agent: Agent) -> None:
        """``agent`` is freed: the next matching pass lets it pull work (``_freed``, once)."""
        if not agent.freed:
            agent.freed = True
            self._freed.append(agent)

    def _unfree(self, agent: Agent) -> None:
        """``agent`` is no longer freed (a break, a logout): out of ``_freed`` if it is in."""
        if agent.freed:
            agent.freed = False
            self._freed.remove(agent)

    def _note_changed(self, agent: Agent) -> None:
        """Note ``agent`` for the real-time counts' next settle (``Realtime.changed``): once
        until then (``AgentTally.noted``; an agent already noted costs no dict store)."""
        tl = agent.tally
        if not tl.noted:
            tl.noted = True
            self._changed[agent.id] = agent

    def _room(self, agent: Agent) -> None:
        """Keep ``statistics().agents_with_room`` up to date after ``agent``'s state, load
        or caps changed."""
        roomy = has_room(agent)
        if roomy != agent.roomy:
            agent.roomy = roomy
            self._n_with_room += 1 if roomy else -1

    # ------------------------------------------------------------------ agent timers

    def _agent_next_time(self, agent: Agent) -> float:
        """The next time a guardrail, window or presence timeout changes this agent, or inf."""
        # (self._breaks.enabled, without the property: every agent timer asks)
        at = self._guard.next_time(agent, self._surge, self._breaks.share is not None)
        timeout = self._presence
        if timeout is not None and agent.state == READY and agent.last_seen + timeout < at:
            at = agent.last_seen + timeout
        if self._drain_s > 0.0:  # drain_for_break: when the break window opens
            opens = self._guard.window_opens(agent, self._surge, self._drain_s)
            if self._now < opens < at:
                at = opens
        return at

    def _schedule_agent(self, agent: Agent, when: float) -> None:
        """Keep one pending timer per agent, at the earliest time anything needs it.

        The timer recomputes every need (``Guardrails.next_time``) when it fires, so a
        later need is covered by an earlier pending timer and is not pushed again.
        """
        if when < agent.timer_at:
            if when < self._now:  # max(when, self._now) without the call: every agent timer
                when = self._now
            agent.timer_at = when
            # the entry's own number is its ``arg``: only the latest entry is the timer, so
            # an earlier one at the same time never comes back to life (whether or not
            # ``next_deadline`` dropped it: a query must not change what happens later)
            seq = self._seq + 1
            agent.timer_seq = seq
            self._at(when, K_AGENT, agent.slot, seq)

    def _agent_timer(self, agent: Agent) -> None:
        timeout = self._presence
        if (
            timeout is not None
            and agent.state == READY
            and self._now >= agent.last_seen + timeout  # the expression of _agent_next_time
        ):
            # its console went silent: away, offers back to their place (not its fault)
            self._counters.presence_timeouts += 1
            self._stop_new_work(agent, AWAY, "presence_timeout")
            self._schedule_agent(agent, self._agent_next_time(agent))
            return
        action = self._guard.check(agent, self._now, self._surge)
        # CHANGED first: the common firing (a recent-work entry left the window)
        if action == CHANGED:
            self._relist_changed(agent)  # e.g. a cooldown ended: available again
        elif action == SHIFT_CHANGE:
            self._shift_change(agent)
        elif action == BREAK_OVER:
            self._make_ready(agent)
            return
        elif action == SHIFT_END:
            self._stop_new_work(agent, AWAY, "shift_end")
            return
        elif action == TAKE_BREAK:
            if self._in_instant and self._breaks.enabled and agent.break_due == _INF:
                # whether there is a place depends on everything due at this instant
                # (a shift starting with an agent already on a break): decided at its end
                self._break_asks[agent.id] = agent
                return
            self._take_break(agent)
            return
        if self._breaks.share is not None:  # (_count_break's own test: no call without it)
            self._count_break(agent)  # the agent may have become leaving (break staffing)
            if self._breaks.n_early and agent.stretch_start == self._now:
                # rested as long as a break (Guardrails.check): its stretch restarts, so it
                # is no longer due ahead of the early candidates it held a place for
                self._release_breaks()
        if self._drain_s > 0.0 and agent.state == READY:
            self._early_asks[agent.id] = agent  # its break window may have opened
        self._schedule_agent(agent, self._agent_next_time(agent))

    def _relist_changed(self, agent: Agent) -> None:
        """``agent``'s record changed (a cooldown ended, say): the next matching pass lists
        it again where it may take work now."""
        unlist(agent, self._vers, self._table)
        if agent.state == READY and not agent.freed:  # self._free(agent), inline
            agent.freed = True
            self._freed.append(agent)
        tl = agent.tally
        if not tl.noted:  # _note_changed, inline: an agent timer per lifecycle
            tl.noted = True
            self._changed[agent.id] = agent

    # ------------------------------------------------------------------ break staffing

    def _take_break(self, agent: Agent) -> None:
        """Continuous work reached its limit: the break starts, or waits for a place."""
        bs = self._breaks
        if bs.enabled and agent.break_due == _INF and not bs.has_place(agent):
            self._defer_break(agent)
            return
        self._begin_break(agent)

    def _defer_break(self, agent: Agent) -> None:
        """The agent keeps working; its break waits, in order of due time, for a place."""
        limit = self._wb.max_continuous_work_s
        due = agent.stretch_start + limit if limit is not None else self._now
        reason = self._breaks.explain(agent)
        self._breaks.defer(agent, due)
        # the timer that asked may have changed the agent's record too (a cooldown over)
        self._relist_changed(agent)
        self._events.append(
            BreakDeferred(
                at=self._now, version=self._version, agent_id=agent.id, due=due, reason=reason
            )
        )
        self._schedule_agent(agent, self._agent_next_time(agent))

    def _begin_break(self, agent: Agent) -> None:
        """No new work; the break starts when the work in flight is done (``_release``)."""
        until = self._now + self._wb.break_s if agent.total_load == 0 else 0.0
        self._stop_new_work(agent, BREAK, "wellbeing", until)
        self._schedule_agent(agent, self._agent_next_time(agent))  # break end, or shift end

    def _break_still_fits(self, agent: Agent) -> bool:
        """At the real start of a break given earlier: if the agents leaving soon now make it
        too many, the agent goes back to work, first in line (unless its deferral is over)."""
        return self._breaks.still_fits(agent) or self._goes_anyway_or_defers(agent, False)

    def _drain_has_place(self, agent: Agent) -> bool:
        """At the end of a drain under ``max_drain_share`` (the agent holds nothing now):
        whether its break may start, a place under the break share free (or its deferral
        over: wellbeing first). If not, the agent goes back to work, its break deferred by
        its due time (before it falls due too): it goes first when a place opens."""
        return self._breaks.has_place(agent) or self._goes_anyway_or_defers(agent, True)

    def _goes_anyway_or_defers(self, agent: Agent, before_due: bool) -> bool:
        """A break given earlier finds no place at its real start: True if it starts anyway
        (its deferral is over: wellbeing first); else the agent goes back to work (counted
        at work again) and its break is deferred, first in line for a place, if it is due
        (or ``before_due``: a drain's, due or not); a drain ended before due under the
        break share alone is a candidate again instead."""
        wb = self._wb
        limit = wb.max_continuous_work_s
        due = agent.stretch_start + limit if limit is not None else self._now
        deferral = wb.max_break_deferral_s
        if deferral is not None and self._now >= due + deferral:
            return True
        self._make_ready(agent)
        if agent.state == READY and agent.break_due == _INF and (before_due or self._now >= due):
            self._defer_break(agent)
        return False

    def _break_flags(self, agent: Agent) -> int:
        """What ``agent`` counts as for break staffing now (router/state/breaks.py)."""
        if agent.off_shift or self._agents.get(agent.id) is not agent:
            return 0
        flags = STAFFED
        state = agent.state
        if state == BREAK:
            if (
                agent.state_reason == "wellbeing"
                and not agent.break_until
                and self._breaks.drain_share is not None
                and (agent.brk_flags & DRAINING or agent is self._drain_next)
            ):
                flags |= DRAINING  # a drain under its own share (max_drain_share)
            else:
                flags |= ON_BREAK
        if (
            state == LOGGING_OUT
            or (state == AWAY and agent.state_reason == "shift_end")
            or self._guard.leaving(agent, self._now, self._surge)
        ):
            flags |= LEAVING
        return flags

    def _count_break(self, agent: Agent) -> None:
        """Tell break staffing what ``agent`` counts as; hand out places that opened."""
        bs = self._breaks
        if bs.share is not None and bs.count(agent, self._break_flags(agent)):
            self._release_breaks()

    def _decide_breaks(self) -> None:
        """The deadlines of an instant have fired: places opened go to the deferred breaks,
        then the agents whose timers asked for a break at this instant ask again, in the
        order they asked (their timers run again: the state may have moved on)."""
        self._in_instant = False  # so neither asks again: one pass decides them all
        try:
            if self._release_asked:
                self._release_asked = False
                self._release_breaks()
            asks, self._break_asks = self._break_asks, {}
            for agent in asks.values():
                if self._agents.get(agent.id) is agent:
                    self._agent_timer(agent)
        finally:
            self._in_instant = True

    def _release_breaks(self) -> None:
        """Deferred breaks take the places open now, the one due first going first."""
        if self._in_instant:
            self._release_asked = True  # at the instant's end (_decide_breaks)
            return
        if self._releasing:
            return
        self._releasing = True
        bs = self._breaks
        try:
            while True:
                agent = bs.next_to_go()
                if agent is not None:
                    agent.break_due = _INF
                elif bs.n_early:  # then breaks brought forward (break_window_s)
                    max_work = self._guard.max_work
                    if max_work is not None:
                        agent = bs.next_early(self._early_due, max_work)
                        if agent is not None and agent.total_load:  # drain_for_break
                            # (offers go back at the notice: one holding only offers
                            # frees up at once, its break under the break share)
                            if bs.drain_share is not None and agent.total_load > len(agent.offers):
                                self._drain_next = agent  # counted as draining
                            try:
                                self._begin_break(agent)
                            finally:
                                self._drain_next = None
                            if agent.state == BREAK and not agent.break_until:
                                self._events.append(
                                    AgentDraining(
                                        at=self._now,
                                        version=self._version,
                                        agent_id=agent.id,
                                        due=agent.stretch_start + max_work,
                                    )
                                )
                            continue
                if agent is None:
                    break
                self._begin_break(agent)
        finally:
            self._releasing = False

    def _early_due(self, agent: Agent) -> float:
        """When ``agent``'s break falls due if it may take it early now, else inf
        (``Guardrails.early_due``; counted on shift and not on a break)."""
        flags = agent.brk_flags
        if not flags & STAFFED or flags & ON_BREAK:
            return _INF
        return self._guard.early_due(
            agent, self._now, self._surge, self._early_s, self._drain_s > 0.0
        )

    def _draining(self, agent: Agent) -> bool:
        """Whether ``agent`` drains for a break brought forward: told to take its wellbeing
        break before it falls due, finishing the work it holds (``drain_for_break``)."""
        max_work = self._guard.max_work
        return (
            agent.state == BREAK
            and agent.state_reason == "wellbeing"
            and not agent.break_until
            and max_work is not None
            and self._now < agent.stretch_start + max_work
        )

    def _end_drains(self) -> None:
        """Agents draining whose drain no longer stands (the switch off, the window moved
        past them, continuous work suspended in a surge) take work again; their break
        falls due as before. O(agents), at a reconfigure or a surge's start only."""
        guard = self._guard
        for agent in list(self._agents.values()):
            if not self._draining(agent):
                continue
            max_work = guard.max_work
            if (
                self._drain_s <= 0.0
                or max_work is None
                or guard.suspended("continuous_work", self._surge)
                or self._now < agent.stretch_start + max_work - self._drain_s
            ):
                self._make_ready(agent)

    def _ask_early(self) -> None:
        """The agents freed up (or back) since the last pass that are in their break window
        queue as early candidates (router/state/breaks.py); then places open go, deferred
        breaks first, candidates by due time (the one freed up now may start at once)."""
        asks = self._early_asks
        self._early_asks = {}
        if self._early_s <= 0.0:
            return
        bs = self._breaks
        due_of = self._early_due
        added = False
        for agent in asks.values():
            due = due_of(agent)
            if due < _INF:
                bs.add_early(agent, due, due_of)
                added = True
        if added:
            self._release_breaks()

    def _ask_early_all(self) -> None:
        """Every agent is asked again at the next pass (a new config, a surge's change, a
        restore of a snapshot without ``Snapshot.early``: the candidates are then what the
        agents' records say, not a history; a newer snapshot restores them as they were)."""
        self._breaks.clear_early()
        if self._early_s > 0.0:
            self._early_asks.update(self._agents)
        else:
            self._early_asks.clear()

    def _recount_breaks(self, share: float | None) -> None:
        """Count every agent again (a new config): deferred breaks are asked for again."""
        bs = self._breaks
        if share is None and not bs.enabled:
            return
        waiting = bs.clear_deferred()
        bs.reset(share)
        for agent in self._agents.values():
            # a drain's mark stays (its flags read it: _break_flags); the bit alone counts
            # nowhere (not STAFFED), so the fresh tallies start from nothing
            agent.brk_flags = agent.brk_flags & DRAINING if share is not None else 0
            if share is not None:
                bs.count(agent, self._break_flags(agent))
        for agent in waiting:
            self._schedule_agent(agent, self._agent_next_time(agent))
        self._ask_early_all()
        if share is not None:
            for agent in self._agents.values():
                self._schedule_agent(agent, self._agent_next_time(agent))
            self._release_breaks()

    # ------------------------------------------------------------------ schedules

    def _staffing_changes(self, pool: Pool) -> list[tuple[float, int]]:
        """Announced staffing changes for ``pool``: (seconds from now, agents more/fewer)."""
        if not self._scheduled:
            return []
        memo = self._plans.get(pool.key)
        if memo is None or memo[0] != self._staff_ver:
            surge = self._surge
            guard = self._guard
            changes = pool_changes(
                self._scheduled.values(), pool, self._now, lambda a: guard.shift_limit(a, surge)
            )
            self._plans[pool.key] = memo = (self._staff_ver, changes)
        now = self._now
        return [(at - now, d) for at, d in memo[1] if at > now]

    def _shift_change(self, agent: Agent) -> None:
        """The agent's schedule moves on (router/state/schedule.py)."""
        was_off = agent.off_shift
        schedule.advance(agent, self._now)
        self._staff_ver += 1
        self._repool(agent)
        if agent.off_shift:
            if agent.state != LOGGING_OUT:
                self._stop_new_work(agent, AWAY, "off_shift")
                self._live.set_off_shift(agent, self._now, True)
        elif was_off and agent.state == AWAY:
            if agent.total_load == 0 and self._now - agent.idle_from >= self._wb.break_s:
                agent.stretch_start = self._now  # off shift as long as a break: that was one
            self._make_ready(agent)
            self._live.set_off_shift(agent, self._now, False)

    def _repool(self, agent: Agent) -> None:
        """List ``agent`` again in the pools its shift's tenants and queues allow."""
        rounds = self._declined_pools(agent)
        leave_pools(agent)
        unlist(agent, self._vers, self._table)
        for t in list(agent.offers.values()):
            held = t.pool
            assert held is not None
            if not self._fits(agent, t.terms.queue, held.tenant, held.requires):
                self._take_back_quietly(t, agent, "shift_change")
        for pool in self._pools.values():
            self._consider(agent, pool)
        self._live.recount_agent(agent, self._queues.values())  # eligible elsewhere now
        if agent.state == READY:
            self._free(agent)
        self._end_rounds(rounds)

    # ------------------------------------------------------------------ deadlines

    def _fire(self, kind: int, obj: Any, arg: int, seq: int) -> None:
        if kind == K_AGENT:
            slot: int = obj
            timed = self._slots[slot]
            if timed.timer_seq == arg:  # (_deadline_live)
                timed.timer_at = _INF
                self._agent_timer(timed)
            return
        if kind == K_OFFER:
            o = self._offer_ticket(obj, seq)
            if o is not None and o.state == OFFERED and o.offer_no == arg:  # (_deadline_live)
                self._expire_offer(o)
            return
        if not self._deadline_live(kind, obj, arg, self._now, seq):
            return
        if kind == K_BP:
            self._bp.fire(obj, arg)
            return
        t: Ticket = obj
        if kind == K_PATIENCE:
            wait = self._now - t.arrival
            if t.state == WAITING:
                self._estimator.on_abandon(t.terms.queue.name, self._now - t.entered)
            self._end(
                t,
                Abandoned(
                    at=self._now,
                    version=self._version,
                    inquiry_id=t.id,
                    queue=t.terms.queue.name,
                    wait_s=wait,
                ),
            )
        elif kind == K_STEP:
            steps = t.terms.queue.steps
            # a step timer set before the inquiry changed queue (overflow, hand-over) is stale
            if (
                t.state == WAITING
                and arg <= len(steps)
                and self._now >= t.entered + steps[arg - 1][0]
            ):
                self._dequeue(t)
                t.step = arg
                t.pool = self._pool_for(t)
                self._enqueue(t)
                self._pending.append(t)
                self._schedule_step(t)
        elif kind == K_PREFER:
            self._end_preference(t)
        else:  # K_WRAP
            agent = t.agent
            assert agent is not None
            self._events.append(
                WrapUpEnded(at=self._now, version=self._version, inquiry_id=t.id, agent_id=agent.id)
            )
            self._end(t, None)

    def _steps_due(self, t: Ticket) -> int:
        """How many of its queue's steps are due by now (its wait since ``entered``).

        The test is the step timer's own (``_fire``), so the next step's time, which
        :meth:`_schedule_step` sets, is always later than now: no timer is set in the past,
        where firing it would move the router's time back."""
        entered = t.entered
        now = self._now
        return sum(1 for after, _ in t.terms.queue.steps if now >= entered + after)

    def _back_in_line(self, t: Ticket) -> None:
        """``t``, out of line a while (on offer, a callback between attempts, a held outbound
        task), enters its queue's line again: at a step its queue has (the steps may have
        changed meanwhile: a reconfigure) and at least the steps its wait has made due (time
        out of line counts), then its next step's timer."""
        k = t.terms
        n = len(k.queue.steps)
        if n or k.step:  # (no steps, at step 0: the common case, nothing to re-pick)
            step = max(min(k.step, n), self._steps_due(t))
            if step != k.step:
                t.step = step
        self._set_pool(t)
        self._enqueue(t)
        self._pending.append(t)
        self._schedule_step(t)

    def _schedule_step(self, t: Ticket) -> None:
        steps = t.terms.queue.steps
        if t.terms.step < len(steps):
            self._at(t.entered + steps[t.terms.step][0], K_STEP, t, t.terms.step + 1)

    # ------------------------------------------------------------------ pools

    def _pool_key(self, t: Ticket, base: dict[str, int]) -> PoolKey:
        if t.extra:
            merged = dict(base)
            for s, lvl in t.extra.items():
                if merged.get(s, 0) < lvl:
                    merged[s] = lvl
            base = merged
        q = t.terms.queue
        k = t.terms
        return (
            q.name,
            k.tenant,
            tuple(sorted(base.items())),
            k.heavy,
            k.cost,
            q.binding(t.attributes),
        )

    def _pool_for(self, t: Ticket) -> Pool:
        k = t.terms
        q = k.queue
        more = t.more  # t.extra without the property: None for a plain ticket
        if k.step != 0:
            key: PoolKey = self._pool_key(t, q.steps[k.step - 1][1])
        elif more is not None and more.extra:
            key = self._pool_key(t, dict(q.requires))
        elif q.binds:
            key = (q.name, k.tenant, q.requires, k.heavy, k.cost, q.binding(t.attributes))
        else:
            # every ticket with these terms has this pool: kept on the terms while the pools
            # and the queues' settings stay as they are (``_pool_gen``)
            gen = self._pool_gen
            if k.pool_gen == gen and k.pool is not None:
                return k.pool
            pool = k.pool = self._pool_at((q.name, k.tenant, q.requires, k.heavy, k.cost, ()), q)
            k.pool_gen = gen
            return pool
        return self._pool_at(key, q)

    def _pool_at(self, key: PoolKey, q: QueueState) -> Pool:
        """The pool of ``key``, made on first use."""
        pool = self._pools.get(key)
        if pool is None:
            pool = self._make_pool(key, q)
        return pool

    def _make_pool(self, key: PoolKey, q: QueueState) -> Pool:
        pool = Pool(key, q)
        if self._native_heap:  # compiled: the agent heap's vectors (vecheap.py)
            pool.vh = AgentHeap()
        self._pools[key] = pool
        q.pools.append(pool)
        # in login order, whatever order the skill index holds them in (an agent update
        # that adds a skill appends there; a restore rebuilds it in login order): random
        # keys are drawn in this order. The index is mostly in that order already: sorted
        # only when it is not (a sort with a key calls it through its Python wrapper)
        agents = list(self._candidates(key[2]))
        last = -1
        for agent in agents:
            if agent.incarnation < last:
                agents.sort(key=_incarnation)
                break
            last = agent.incarnation
        for agent in agents:
            self._consider(agent, pool)
        return pool

    def _candidates(self, requires: Requirement) -> Iterable[Agent]:
        """Agents who may qualify for ``requires``: holders of its rarest skill."""
        candidates: Iterable[Agent] = self._agents.values()
        for skill, _ in requires:
            holders = self._by_skill.get(skill)
            if holders is None:
                return ()
            if len(holders) < len(self._agents):
                candidates = min(candidates, holders.values(), key=_size)
        return candidates

    def _index_agent(self, agent: Agent) -> None:
        self._agents[agent.id] = agent
        table = self._table  # compiled: the listing's cell (its rank; pure, its version)
        if self._free_slots:
            agent.slot = self._free_slots.pop()
            self._slots[agent.slot] = agent
            if table is not None:
                table.cells[agent.slot] = (int(agent.rank) << SLOT_BITS) | agent.slot
            else:
                self._vers[agent.slot] = agent.ver
        else:
            agent.slot = len(self._slots)
            self._slots.append(agent)
            if table is not None:
                table.add((int(agent.rank) << SLOT_BITS) | agent.slot)
            else:
                self._vers.append(agent.ver)
        for skill in agent.skills:
            self._by_skill.setdefault(skill, {})[agent.id] = agent

    def _unindex_agent(self, agent: Agent) -> None:
        del self._agents[agent.id]
        self._retire_slot(agent.slot)
        for skill in agent.skills:
            holders = self._by_skill[skill]
            del holders[agent.id]
            if not holders:
                del self._by_skill[skill]

    def _fits(self, agent: Agent, q: QueueState, tenant: str | None, requires: Requirement) -> bool:
        """Whether skills, tenant, queue membership and channel let ``agent`` serve (now:
        off shift it serves nothing)."""
        return fits(agent, q, tenant, requires)

    def _consider(self, agent: Agent, pool: Pool) -> None:
        """Make ``agent`` eligible for ``pool`` if skills, tenant, queue and channel fit (an
        agent logging out is eligible for none: it finishes its work and takes no more)."""
        q = pool.queue
        if agent.state == LOGGING_OUT or not self._fits(agent, q, pool.tenant, pool.requires):
            return
        target = q.target
        if target is not None and not target.admits(agent.spec.attributes, pool.bind):
            return  # the queue's match: evaluated once per (agent, pool), never per decision
        prof = Scorer.proficiency(agent, pool)
        join_pool(agent, pool, prof, agent.queues.get(q.name, 1.0))
        if agent.state == READY and agent.listed_ver == agent.ver and self._can_take(agent, pool):
            self._push_agent(agent, pool, prof)

    def _can_take(self, agent: Agent, pool: Pool) -> bool:
        if agent.state != READY:
            return False
        takes = self._may_take(agent)
        if takes == _TAKES_NONE or (takes == _TAKES_LIGHT and pool.heavy):
            return False
        ch = pool.channel
        if agent.load.get(ch, 0) >= agent.caps.get(ch, 0):
            return False
        return not (
            agent.units is not None
            and agent.units_used + pool.cost > agent.units
            and not self._interrupts.allows(agent, ch, pool.cost)
        )

    def _listed_room(self, pool: Pool, need: int) -> int:
        """The inquiries of ``pool`` its listed agents could take now, counted until it
        reaches ``need``: each agent's room (``agent_room``) for the live entries among the
        first :data:`_ROOM_LOOK` of the pool's heap, and 1 for every other listed agent (a
        listed agent can take one). A bounded look, never a scan of the pool's agents:
        the expected wait of an arrival (``router/policies/control.py``) and the
        ``expected_wait`` query count slots free, not agents free."""
        n = pool.n_listed
        if not n:
            return 0
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: router/state/vecheap.py
            live = vh.live_slots(table.cells, _ROOM_LOOK)
        else:
            vers = self._vers
            live = []
            heap = pool.agents
            for i in range(min(len(heap), _ROOM_LOOK)):
                e = heap[i]
                if vers[e[3]] is e[2]:
                    live.append(e[3])
        room = n - len(live)
        slots = self._slots
        for sl in live:
            room += agent_room(slots[sl], pool)
            if room >= need:
                break
        return room

    def _may_take(self, agent: Agent) -> int:
        """What the wellbeing guardrails let ``agent`` take now, whatever the pool:
        ``_TAKES_NONE`` in a cooldown off every queue, ``_TAKES_LIGHT`` in a cooldown off
        heavy work only or after ``max_consecutive_heavy`` heavy inquiries in a row (each
        unless suspended in a surge), else ``_TAKES_ANY``. The one rule ``_can_take``,
        ``_refresh`` and ``_best_key`` apply."""
        guard = self._guard
        if agent.cooldown_until > self._now and guard.cooling(agent, self._now, self._surge):
            return _TAKES_LIGHT if self._cooldown_heavy else _TAKES_NONE
        k = self._heavy_k
        if k is not None and agent.heavy_streak >= k and not guard.suspended("heavy", self._surge):
            return _TAKES_LIGHT
        return _TAKES_ANY

    def _key(self, agent: Agent, pool: Pool, prof: float) -> float:
        """``agent``'s heap key in ``pool``: its score, or its distribution mode's key."""
        if pool.mode == SCORED:
            return self._scorer.key(agent, pool, prof, pool.queue.coeffs)
        return mode_key(pool.mode, agent, pool, prof, self._draws)

    def _push_agent(self, agent: Agent, pool: Pool, prof: float) -> None:
        key = self._key(agent, pool, prof)
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: its listing's rank and slot
            vh.push(key, (int(agent.rank) << SLOT_BITS) | agent.slot)
            listed(agent, pool)
            if vh.n > pool.n_listed + (pool.n_listed >> 1) + 32:  # (as in _refresh)
                vh.compact(table.cells)
            return
        # the version object from the table: an entry's liveness is its identity there
        heap = pool.agents
        heappush(heap, (key, agent.seq, self._vers[agent.slot], agent.slot))
        listed(agent, pool)
        if len(heap) > pool.n_listed + (pool.n_listed >> 1) + 32:  # (as in _refresh)
            compact_agents(heap, self._vers)

    def _renumber_ranks(self) -> i32:
        """Compiled: the listings' ranks (``Agent.rank``, an ``i32``; the entries' ``seq``)
        from 1 again, in their order, before the next would reach ``_rank_limit``. Every
        agent heap is compacted, so each entry left is its agent's live one (or, for the
        agent being refreshed, its listing's until then, stale once the table takes its
        new version), then takes its agent's new rank: the entries keep their order, so
        every heap stays one. The count of ranks given (the agents in the table)."""
        table = self._table
        assert table is not None  # (compiled only)
        cells = table.cells
        pools = self._pools.values()
        for pool in pools:
            vh = pool.vh
            if vh is not None:
                vh.compact(cells)
        listed_now = [a for a in self._agents.values() if cells[a.slot] >= 0]
        listed_now.sort(key=_rank_of)
        for i, a in enumerate(listed_now):
            a.rank = i + 1
        slots = self._slots
        for pool in pools:
            vh = pool.vh
            if vh is not None:
                vss = vh.ss
                for j in range(vh.n):
                    sl = vss[j] & SLOT_MASK
                    vss[j] = (int(slots[sl].rank) << SLOT_BITS) | sl
        for a in listed_now:
            cells[a.slot] = (int(a.rank) << SLOT_BITS) | a.slot
        self._rank = len(listed_now)
        return self._rank

    def _refresh(self, agent: Agent) -> None:
        """Re-list ``agent`` in every pool where it can take work now.

        The hot path of every decision: the key parts shared by all pools of a
        channel (idle, load, recent work, heavy streak) are computed once.
        """
        # ``unlist(agent)`` inline (pure: a call less on every refresh)
        agent.ver += 1
        listing = agent.listed
        if listing:
            for pool in listing:
                pool.n_listed -= 1
            listing.clear()
        self._seq += 1
        seq = agent.seq = self._seq
        native = self._native_heap
        if native:  # compiled: the entries' seq is the listing's rank
            rank = self._rank + 1
            if rank >= self._rank_limit:  # (once in 2.1 billion refreshes)
                rank = self._renumber_ranks() + 1
            seq = agent.rank = self._rank = rank
        ver = agent.listed_ver = agent.ver
        slot: i64 = agent.slot
        vers = self._vers
        table = self._table
        ss: i64 = 0
        entry_ver: Any = None
        if table is not None:  # compiled: the live table's cell, written once per listing
            ss = (int(seq) << SLOT_BITS) | slot
            table.cells[slot] = ss
        else:  # pure: the version as an object, made once: the table's cell and every
            entry_ver = ver  # entry of this listing hold this very object
            vers[slot] = entry_ver
        if agent.state != READY:
            return
        loadn = agent.loadn  # load and caps by channel number (``Pool.chan``: loads.py)
        capn = agent.capn
        spare = agent.units - agent.units_used if agent.units is not None else None
        if agent.cooldown_until > self._now or self._heavy_k is not None:
            takes = self._may_take(agent)
            if takes == _TAKES_NONE:
                return  # off every queue until the cooldown ends (its timer re-lists it)
            heavy_blocked = takes == _TAKES_LIGHT
        else:  # ``_may_take``'s answer without the call: no cooldown, no heavy streak limit
            heavy_blocked = False
        # the scorer and the interrupts rule are called on their objects, not through
        # bound-method locals (compiled: a native call instead of a method object per call)
        scorer = self._scorer
        interrupts = self._interrupts
        # pure: ``heappush`` as a local (a global is looked up on every use); compiled, never
        # read (the heap is ``AgentHeap``'s): a module global read there is a dict lookup
        # per refresh, so it is not read at all
        push: Any = None if native else heappush
        # the bases of the first two (weights, channel) groups met, in locals (an agent of
        # two channels under one set of weights has two); any other in ``bases``
        group_c: Coeffs | None = None
        group_ch = ""
        group_base = 0.0
        group2_c: Coeffs | None = None
        group2_ch = ""
        group2_base = 0.0
        bases: dict[tuple[int, str], float] | None = None
        # pure: the entries' sequence number and slot as objects, made once (a tuple holds
        # objects); compiled, the heap holds them in ``ss``, a native int: nothing to box
        entry_seq: Any = None if native else seq
        entry_slot: Any = None if native else slot
        last_ch = ""  # the channel of the pool before (once ``seen``), and whether the
        full = False  # agent is full on it: the pools of one channel usually come together
        seen = False
        on_ch = 0  # the agent's load and capacity on ``last_ch``, read once for the key too
        cap_ch = 0
        # the channel met before ``last_ch`` (once ``seen2``), its load and capacity: an
        # agent of two channels has its pools interleaved (in the pools' creation order),
        # and a switch back swaps the two instead of reading both dicts again
        other_ch = ""
        other_on = 0
        other_cap = 0
        seen2 = False
        # the pools' floats read as objects: the weight is not used here and the
        # proficiency is unboxed only past the skips (``_fill``'s note)
        pools: list[tuple[Pool, object, object]] = agent.pools  # type: ignore[assignment]
        for pool, prof_o, _weight in pools:
            ch = pool.channel
            if not seen or ch != last_ch:
                if seen2 and ch == other_ch:  # (pairs: pure, a swap each, no tuple)
                    other_ch, last_ch = last_ch, other_ch
                    other_on, on_ch = on_ch, other_on
                    other_cap, cap_ch = cap_ch, other_cap
                else:
                    if seen:
                        seen2 = True
                        other_ch, other_on, other_cap = last_ch, on_ch, cap_ch
                    seen = True
                    last_ch = ch
                    cn = pool.chan
                    on_ch = loadn[cn]
                    cap_ch = capn[cn]
                full = on_ch >= cap_ch
            if full:
                continue
            if (
                spare is not None
                and pool.cost > spare
                and not interrupts.allows(agent, ch, pool.cost)
            ):
                continue
            if heavy_blocked and pool.heavy:
                continue
            prof: float = prof_o  # type: ignore[assignment]
            if pool.mode == SCORED:
                c = pool.queue.coeffs
                if c is group_c and ch == group_ch:
                    base = group_base
                elif group_c is None:
                    group_c = c
                    group_ch = ch
                    base = group_base = scorer.base_key(agent, c, on_ch, cap_ch)
                elif c is group2_c and ch == group2_ch:
                    base = group2_base
                elif group2_c is None:
                    group2_c = c
                    group2_ch = ch
                    base = group2_base = scorer.base_key(agent, c, on_ch, cap_ch)
                else:
                    if bases is None:
                        bases = {}
                    bk = (id(c), ch)
                    other = bases.get(bk)
                    if other is None:
                        other = bases[bk] = scorer.base_key(agent, c, on_ch, cap_ch)
                    base = other
                key = base - c.proficiency * prof
            else:
                key = mode_key(pool.mode, agent, pool, prof, self._draws)
            if native:  # a stale top gives the new entry its place (``AgentHeap.list_entry``)
                vh = pool.vh
                if vh is not None and table is not None:
                    vh.list_entry(key, ss, table.cells)
                    listing.append(pool)
                    n = pool.n_listed = pool.n_listed + 1
                    # compacted once stale entries pass half the live ones (+32): dropped
                    # in bulk instead of one pop each at the top (the order of live entries
                    # is unchanged)
                    if vh.n > n + (n >> 1) + 32:
                        vh.compact(table.cells)
                continue
            heap = pool.agents
            push(heap, (key, entry_seq, entry_ver, entry_slot))
            listing.append(pool)
            n = pool.n_listed = pool.n_listed + 1
            # pure, once stale entries pass the live ones (+64): a compaction costs more
            # there than the longer heap's sifts (BENCHMARKS.md: "The refresh's listing work")
            if len(heap) > n + n + 64:
                compact_agents(heap, vers)

    def _enqueue(self, t: Ticket, fresh: bool = False) -> None:
        """Put ``t`` in line in its pool (``fresh``: a new arrival, first time in line)."""
        pool = t.pool
        assert pool is not None
        if t.state == OFFERED:  # given back: declined, expired, or its agent is leaving
            self._n_offered -= 1
            self._spent_room -= 2  # its offer's entry is spent (or popped: not counted)
        t.state = WAITING
        t.ver += 1
        priority = t.terms.priority
        # at priority 0 the key is the arrival itself: no float of its own per ticket
        t.aged = t.arrival if priority == 0 else t.arrival - priority * self._ps
        pool.n_waiting += 1
        q = t.terms.queue
        q.n_waiting += 1
        t.terms.waiting.n += 1  # q.waiting_by_priority[priority], without the dict
        self._waiting += 1
        more = t.more  # None for a plain inquiry: no callback, decline or preference
        if more is not None and more.callback:
            q.n_callbacks += 1
            self._waiting_cb += 1
        if fresh and t.arrival >= q.newest:  # the common case: arrivals in time order
            q.newest = t.arrival
            line = q.by_arrival
            line.append(t)
            if len(line) > 2 * q.n_waiting + 64:
                compact_arrivals(q)
        else:
            late = q.late
            heappush(late, (t.arrival, t.seq, t.ver, t))
            if len(late) > 2 * q.n_waiting + 64:
                q.late = live_tickets(late)
        declined = more.declined if more is not None else None
        if more is not None and more.prefer_until > 0.0:  # for its preferred agents only
            preference.add(pool, t)
        elif declined and not (self._rounds and self._ends_round(t, pool, declined)):
            heap = pool.declined
            heappush(heap, (t.aged, t.seq, t.ver, t))
            pool.n_declined += 1
            by = pool.declined_by
            for aid in declined:
                by[aid] = by.get(aid, 0) + 1
            if len(heap) > 2 * pool.n_declined + 64:
                pool.declined = live_tickets(heap)
        elif (
            t.ver == FIRST_STAY
            and fresh
            and (t.aged > pool.last_aged or (t.aged == pool.last_aged and t.seq > pool.last_seq))
        ):  # first stay, in (aged, seq) order: one pointer, no heap entry (Pool.arrivals)
            pool.last_aged = t.aged
            pool.last_seq = t.seq
            line = pool.arrivals
            line.append(t)
            if len(line) > 2 * pool.n_waiting + 64:  # (the stale entries before head count)
                pool.arrivals = live_arrivals(line)
                pool.head = 0
        else:
            heap = pool.waiting
            heappush(heap, (t.aged, t.seq, t.ver, t))
            if len(heap) > 2 * (pool.n_waiting - pool.n_declined) + 64:
                pool.waiting = live_tickets(heap)

    def _dequeue(self, t: Ticket) -> None:
        pool = t.pool
        assert pool is not None
        t.ver += 1
        pool.n_waiting -= 1
        more = t.more  # None for a plain inquiry: no callback, decline or preference
        declined = more.declined if more is not None else None
        if more is not None and more.prefer_until > 0.0:
            preference.remove(pool, t)
        elif declined:
            pool.n_declined -= 1
            by = pool.declined_by
            for aid in declined:
                n = by[aid] - 1
                if n:
                    by[aid] = n
                else:
                    del by[aid]
        q = t.terms.queue
        q.n_waiting -= 1
        t.terms.waiting.n -= 1  # (its terms' priority's count in q.waiting_by_priority)
        self._waiting -= 1
        if more is not None and more.callback:
            q.n_callbacks -= 1
            self._waiting_cb -= 1

    # ------------------------------------------------------------------ rounds of declines

    def _ends_round(self, t: Ticket, pool: Pool, declined: set[str]) -> bool:
        """Whether ``t``, entering ``pool``'s line, finds its round of declines over
        (:meth:`_round_over`): then its declines are forgotten (``DeclinesForgotten``) and
        it waits among the undeclined."""
        if not self._round_over(pool, declined):
            return False
        self._forget_declines(t)
        return True

    def _round_over(self, pool: Pool, declined: set[str]) -> bool:
        """Whether every agent of ``pool``'s round declined (an id of ``declined``): the
        agents eligible for it (logged in, not leaving; skills at the step, tenant, queue,
        match, on shift: ``Pool.eligible``) but those set away (``Pool.n_away``: no answer,
        presence timeout, shift end; a person must bring them back). A busy agent or one on
        a break counts: it takes work again by itself. No agent in the round: over."""
        left = pool.eligible - pool.n_away
        agents = self._agents
        for aid in declined:
            if left <= 0:
                break
            a = agents.get(aid)
            if a is not None and a.state != AWAY and preference.eligible(a, pool):
                left -= 1
        return left <= 0

    def _forget_declines(self, t: Ticket) -> None:
        """``t``'s round is over: it may be offered to every agent again (out of line)."""
        declined = t.declined
        t.declined = None
        self._events.append(
            DeclinesForgotten(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                queue=t.terms.queue.name,
                agents=len(declined) if declined is not None else 0,
            )
        )

    def _declined_pools(self, agent: Agent) -> list[Pool]:
        """The pools of ``agent`` holding declined inquiries: where its leaving (a logout, a
        change, set away) may end a round (:meth:`_end_rounds`)."""
        if not self._rounds:
            return []
        return [pool for pool, _, _ in agent.pools if pool.n_declined]

    def _end_rounds(self, pools: list[Pool]) -> None:
        """An agent left ``pools`` (or was set away): the declined inquiries there whose
        round is over now wait among the undeclined, in their place in line."""
        over: list[Ticket] = []
        for pool in pools:
            if not pool.n_declined:
                continue
            for e in pool.declined:
                t = e[3]
                declined = t.declined
                if t.ver == e[2] and declined and self._round_over(pool, declined):
                    over.append(t)
        over.sort(key=_urgency)
        for t in over:
            self._dequeue(t)
            self._forget_declines(t)
            self._enqueue(t)
            self._pending.append(t)

    # ------------------------------------------------------------------ matching

    def _match(self) -> None:
        """One matching pass: agents freed since the last pass pull the most urgent work
        they can take, then new (or re-queued) inquiries go to the best agent listed.

        A freed agent whose most urgent inquiry is new in this pass (``_fresh``: it has not
        met the listed agents yet) does not just take it: the agent is listed, and the
        inquiry goes to the best listed agent by its queue's mode, which may be another
        one idle beside it. So urgency decides which inquiry is served first and the
        distribution mode who serves a new one, however inputs were batched.
        """
        if self._early_asks:  # (break_window_s) before the freed agents take work
            self._ask_early()
        freed = self._freed
        if freed:
            pending = self._pending
            if pending:
                if len(pending) == 1:
                    self._fresh_one = pending[0]
                elif self._native_heap and len(pending) <= _BY_INSERTION:
                    # compiled: marked by place in a copy (the pending list keeps its order,
                    # arrival order mostly, which ``_by_urgency`` sorts with a compare each)
                    self._fresh_list = pending.copy()
                    self._fresh_n = len(pending)
                else:
                    self._fresh = set(pending)
            if len(freed) == 1:
                # one agent freed (the common case: a recent-work entry left the window, or
                # work ended): no list of the batch. ``_batch`` stays empty; the one agent
                # in it would change nothing: ``_placed_elsewhere`` refreshes the agent it
                # was called for before it reads the batch for the agents not yet listed
                agent = freed[0]
                freed.clear()  # emptied in place: what the pass frees waits in it
                agent.freed = False  # (and it may be freed again by its own fill)
                self._fill(agent)
            else:
                # several agents freed in one batch: the best-keyed pulls first
                batch = freed
                self._freed = []  # what the pass frees waits in a new list
                for agent in batch:
                    agent.freed = False
                if self._native_heap and len(batch) <= _BY_INSERTION:
                    self._by_best_key(batch)  # compiled: the same order, read natively
                else:
                    batch.sort(key=self._best_key)
                self._batch = batch
                for agent in batch:
                    self._fill(agent)
                self._batch = []
            if pending:  # the marks of the new ones, set above, end with the fills
                self._fresh = None
                self._fresh_one = None
                self._fresh_n = 0
                self._fresh_list = _NO_FRESH
        if self._pending:
            pending = self._pending
            self._pending = []
            if len(pending) > 1:
                if self._native_heap and len(pending) <= _BY_INSERTION:
                    _by_urgency(pending)  # compiled: the same order, read natively
                else:
                    pending.sort(key=_urgency)
            for t in pending:
                if t.state == WAITING:
                    self._seek_agent(t)
        if self._early_look:  # (break_window_s) someone due ahead of candidates rested
            self._early_look = False
            self._release_breaks()

    def _seek_agent(self, t: Ticket) -> None:
        """Give ``t`` to the best agent listed in its pool, if any."""
        pool = t.pool
        assert pool is not None
        more = t.more  # None for a plain inquiry: no preference, nobody declined it
        if more is not None and more.prefer_until > 0.0:
            self._seek_preferred(t, pool)
            return
        if pool.queue.max_offers > 1 and not self._immediate:
            self._seek_many(t, pool)
            return
        declined = more.declined if more is not None else None
        if self._native_heap:
            vh = pool.vh
            table = self._table
            if vh is not None and table is not None:
                self._seek_vh(t, pool, vh, table, declined)
                return
        # ``heap`` is ``pool.agents`` throughout: the refresh after the assignment may compact
        # it, in place (``compact_agents``), so the skipped entries go back into the live list
        heap = pool.agents
        skipped: list[Any] | None = None
        slots = self._slots
        vers = self._vers
        while heap:
            entry = heap[0]
            slot = entry[3]
            if vers[slot] is not entry[2]:  # stale: its agent is not read
                heappop(heap)
                continue
            key = entry[0]
            agent = slots[slot]
            if declined is not None and agent.id in declined:
                if skipped is None:
                    skipped = []
                skipped.append(heappop(heap))
                continue
            explanation = self._explain_pool(agent, pool, t, key=key) if self._trace else None
            if pool.mode == RANDOM and key > pool.floor:
                pool.floor = key  # the winning draw: see router/state/distribution.py
            self._assign(t, agent, pool, explanation)
            if agent.state == READY:  # ``has_room(agent)`` inline (pure: a call less per seek)
                loadn = agent.loadn  # by channel number, as in _release
                for cn, cap in enumerate(agent.capn):
                    if loadn[cn] < cap:
                        self._refresh(agent)
                        break
            break
        if skipped:
            for e in skipped:
                heappush(heap, e)

    def _seek_vh(
        self, t: Ticket, pool: Pool, vh: AgentHeap, table: LiveTable, declined: set[str] | None
    ) -> None:
        """``_seek_agent`` on a compiled pool's heap (router/state/vecheap.py): its top's
        liveness read from the live table, not from its agent."""
        skipped: list[tuple[float, i64]] | None = None
        slots = self._slots
        while vh.n:
            s = vh.ss[0]
            if table.cells[s & SLOT_MASK] != s:  # stale: its agent is not read
                vh.pop()
                continue
            key = vh.keys[0]
            agent = slots[s & SLOT_MASK]
            if declined is not None and agent.id in declined:
                if skipped is None:
                    skipped = []
                skipped.append((key, s))
                vh.pop()
                continue
            explanation = self._explain_pool(agent, pool, t, key=key) if self._trace else None
            if pool.mode == RANDOM and key > pool.floor:
                pool.floor = key  # the winning draw: see router/state/distribution.py
            self._assign(t, agent, pool, explanation)
            if agent.state == READY:  # ``has_room(agent)`` inline, as in _seek_agent
                loadn = agent.loadn
                for cn, cap in enumerate(agent.capn):
                    if loadn[cn] < cap:
                        self._refresh(agent)
                        break
            break
        if skipped:  # (the refresh may have compacted the heap: these are live, pushed back)
            for k, s2 in skipped:
                vh.push(k, s2)

    def _by_best_key(self, agents: list[Agent]) -> None:
        """Sort ``agents`` by ``_best_key``, in place: ``agents.sort(key=self._best_key)``.

        The compiled build's way (``_match``, a batch of freed agents: about ten in the
        end-to-end flow): ``_best_key`` called natively, in the same order as ``sort``
        calls it (a random pool's key draws), its float kept on the agent
        (``Agent.batch_key``), the agents placed by insertion with native compares.
        ``list.sort`` with a key calls ``_best_key`` through its Python wrapper and
        compares a tuple per agent, generically. The order is the same: incarnations are
        unique (``_next_seq`` at login) and keys are finite (the config's numbers are), so
        ``(key, incarnation)`` orders any batch totally.
        """
        for j in range(len(agents)):
            agent = agents[j]
            k, inc = self._best_key(agent)
            agent.batch_key = k
            i = j
            while i > 0:
                before = agents[i - 1]
                bk = before.batch_key
                if bk < k or (bk == k and before.incarnation < inc):
                    break
                agents[i] = before
                i -= 1
            agents[i] = agent

    def _best_key(self, agent: Agent) -> tuple[float, int]:
        """A freed agent's place in a batched pass: its least ``_key`` over the pools it
        can take work from now (``_can_take``), then its incarnation.

        The value is that of ``min(_key(...))`` bit for bit, for less work: the checks of
        ``_can_take`` that depend on the agent alone are made once, and a scored pool's
        key is ``Scorer.base_key`` (shared by every pool of one channel and weights) minus
        its proficiency term. Float subtraction is monotone in what it subtracts, so the
        first two (weights, channel) groups met (an agent of two channels has two) each key
        their largest proficiency term once against their base; pools of other groups
        (rare: queues with their own weights) are keyed one by one. Other modes are keyed
        pool by pool, in order (``random`` draws). The agent's load and capacity on a
        channel are read once per channel met (as in ``_refresh``)."""
        best = _INF
        if agent.state != READY:
            return (best, agent.incarnation)
        loadn = agent.loadn  # load and caps by channel number (``Pool.chan``: loads.py)
        capn = agent.capn
        units = agent.units
        takes = self._may_take(agent)
        if takes == _TAKES_NONE:
            return (best, agent.incarnation)
        heavy_blocked = takes == _TAKES_LIGHT
        scorer = self._scorer
        group_w: Coeffs | None = None  # the first (weights, channel) met, its largest term
        group_ch = ""
        group_p = -_INF
        group_on = 0  # the agent's load and capacity on ``group_ch``
        group_cap = 0
        group2_w: Coeffs | None = None  # the second (an agent of two channels), the same
        group2_ch = ""
        group2_p = -_INF
        group2_on = 0
        group2_cap = 0
        # the load and capacity of the pool's channel read once per channel met, as in
        # ``_refresh`` (the channel before, ``last_ch``, and the one before it, ``other_ch``,
        # swapped on a switch back)
        last_ch = ""
        seen = False
        on_ch = 0
        cap_ch = 0
        other_ch = ""
        other_on = 0
        other_cap = 0
        seen2 = False
        # the pools' floats read as objects: the weight is not used here and the
        # proficiency is unboxed only past the skips (``_fill``'s note)
        pools: list[tuple[Pool, object, object]] = agent.pools  # type: ignore[assignment]
        for pool, prof_o, _weight in pools:
            ch = pool.channel
            if not seen or ch != last_ch:
                if seen2 and ch == other_ch:  # (pairs: pure, a swap each, no tuple)
                    other_ch, last_ch = last_ch, other_ch
                    other_on, on_ch = on_ch, other_on
                    other_cap, cap_ch = cap_ch, other_cap
                else:
                    if seen:
                        seen2 = True
                        other_ch, other_on, other_cap = last_ch, on_ch, cap_ch
                    seen = True
                    last_ch = ch
                    cn = pool.chan  # an agent has both for every pool's channel (_refresh)
                    on_ch = loadn[cn]
                    cap_ch = capn[cn]
            if on_ch >= cap_ch:
                continue
            if heavy_blocked and pool.heavy:
                continue
            if (
                units is not None
                and agent.units_used + pool.cost > units
                and not self._interrupts.allows(agent, ch, pool.cost)
            ):
                continue
            prof: float = prof_o  # type: ignore[assignment]
            if pool.mode == SCORED:
                w = pool.queue.coeffs
                p = w.proficiency * prof
                if w is group_w and ch == group_ch:
                    if p > group_p:
                        group_p = p
                elif group_w is None:
                    group_w, group_ch, group_p = w, ch, p
                    group_on = on_ch
                    group_cap = cap_ch
                elif w is group2_w and ch == group2_ch:
                    if p > group2_p:
                        group2_p = p
                elif group2_w is None:
                    group2_w, group2_ch, group2_p = w, ch, p
                    group2_on = on_ch
                    group2_cap = cap_ch
                else:
                    k = scorer.base_key(agent, w, on_ch, cap_ch) - p
                    if k < best:
                        best = k
            else:
                k = mode_key(pool.mode, agent, pool, prof, self._draws)
                if k < best:
                    best = k
        if group_w is not None:
            k = scorer.base_key(agent, group_w, group_on, group_cap) - group_p
            if k < best:
                best = k
        if group2_w is not None:
            k = scorer.base_key(agent, group2_w, group2_on, group2_cap) - group2_p
            if k < best:
                best = k
        return (best, agent.incarnation)

    def _fill(self, agent: Agent) -> None:
        """A freed agent takes the most urgent waiting inquiries it can, then is re-listed."""
        if agent.state == READY:
            now = self._now
            interrupts = self._interrupts
            while True:
                best: Ticket | None = None
                best_urg = 0.0
                best_pool: Pool | None = None
                best_prof = 0.0
                loadn = agent.loadn  # by channel number (``Pool.chan``: loads.py)
                capn = agent.capn
                spare = agent.units - agent.units_used if agent.units is not None else None
                heavy_blocked = (
                    self._heavy_k is not None
                    and agent.heavy_streak >= self._heavy_k
                    and not self._guard.suspended("heavy", self._surge)
                )
                if agent.cooldown_until > now and self._guard.cooling(agent, now, self._surge):
                    if not self._cooldown_heavy:
                        break
                    heavy_blocked = True
                # The pools' two floats are read as objects and unboxed only for a pool
                # with an inquiry to offer (compiled, unpacking ``tuple[Pool, float,
                # float]`` unboxes both for every pool, the ones skipped at once too);
                # the annotations below are what mypyc checks, no cost in the pure build
                pools: list[tuple[Pool, object, object]] = agent.pools  # type: ignore[assignment]
                for pool, prof_o, weight_o in pools:
                    if not pool.n_waiting:
                        continue
                    cn = pool.chan
                    if loadn[cn] >= capn[cn]:
                        continue
                    ch = pool.channel
                    if (
                        spare is not None
                        and pool.cost > spare
                        and not interrupts.allows(agent, ch, pool.cost)
                    ):
                        continue
                    if heavy_blocked and pool.heavy:
                        continue
                    t = self._head(pool, agent)
                    if pool.n_preferring:  # inquiries waiting for this agent in particular
                        p = preference.head(pool, agent.id)
                        if p is not None and (t is None or (p.aged, p.seq) < (t.aged, t.seq)):
                            t = p
                    if t is None:
                        continue
                    weight: float = weight_o  # type: ignore[assignment]
                    urg = (now - t.aged) * weight
                    if best is None or urg > best_urg or (urg == best_urg and t.seq < best.seq):
                        prof: float = prof_o  # type: ignore[assignment]
                        best, best_urg, best_pool, best_prof = t, urg, pool, prof
                if best is None or best_pool is None:
                    break
                if self._meet_fresh(best) and self._placed_elsewhere(
                    best, best_pool, agent, best_prof
                ):
                    continue
                explanation = (
                    self._explain_pool(agent, best_pool, best, "agent_free")
                    if self._trace
                    else None
                )
                if best_pool.queue.max_offers > 1 and not self._immediate:
                    self._offer_many(best, [agent], best_pool, [explanation])
                else:
                    self._assign(best, agent, best_pool, explanation)
        self._refresh(agent)

    def _meet_fresh(self, t: Ticket) -> bool:
        """Whether ``t`` is new in this pass and a freed agent meets it first (it is met
        now: ``_fresh``, or ``_fresh_one`` for a pass of one inquiry)."""
        if t is self._fresh_one:
            self._fresh_one = None
            return True
        n = self._fresh_n
        if n:
            # compiled, a short pass: the unmet ones are the copy's first ``n``; a met one
            # is swapped to the ``n``-th place, past them
            fl = self._fresh_list
            for i in range(n):
                if fl[i] is t:
                    n -= 1
                    fl[i] = fl[n]
                    fl[n] = t
                    self._fresh_n = n
                    return True
            return False
        fresh = self._fresh
        if fresh is not None and t in fresh:
            fresh.discard(t)
            return True
        return False

    def _placed_elsewhere(self, t: Ticket, pool: Pool, agent: Agent, prof: float) -> bool:
        """``t`` is new in this pass and the freed ``agent`` found it first: give it to the
        agent its queue's mode prefers among the listed ones and this one. True when it was
        placed here (with whichever agent, this one included); False when ``agent`` should
        take it itself. The common case (one offer, a deterministic key) compares this
        agent's key with the pool's head instead of listing it everywhere first."""
        if t.prefer_until > 0.0:  # its preferred agents, in the order named
            self._seek_preferred(t, pool)
            return t.state != WAITING
        ring = pool.queue.max_offers > 1 and not self._immediate
        if ring or pool.mode == RANDOM:
            # a ring reaches every agent free in this pass, not only this one; a random
            # draw competes as a listed key (the floor follows the winner)
            self._refresh(agent)
            if ring:  # (the batch is empty when this agent is the only one freed)
                for other in self._batch:
                    if other.listed_ver != other.ver:
                        self._refresh(other)
            self._seek_agent(t)
            return t.state != WAITING
        slots = self._slots
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: router/state/vecheap.py
            cells = table.cells
            while vh.n and cells[vh.ss[0] & SLOT_MASK] != vh.ss[0]:  # stale tops dropped
                vh.pop()
            if not vh.n:
                return False
            head_slot = vh.ss[0] & SLOT_MASK
            head_key = vh.keys[0]
        else:
            heap = pool.agents
            vers = self._vers
            while heap and vers[heap[0][3]] is not heap[0][2]:
                heappop(heap)
            if not heap:
                return False
            head = heap[0]
            head_slot = head[3]
            head_key = head[0]
        declined = t.declined
        if declined is not None and slots[head_slot].id in declined:  # rare: list it, seek
            self._refresh(agent)
            self._seek_agent(t)
            return t.state != WAITING
        # listed now, this agent would go behind an equal key (a newer listing)
        if self._key(agent, pool, prof) < head_key:
            return False
        self._seek_agent(t)  # the head of the pool takes it
        return t.state != WAITING

    def _head(self, pool: Pool, agent: Agent) -> Ticket | None:
        """The most urgent waiting ticket of ``pool`` that ``agent`` did not decline.

        The pool's ``arrivals`` line and ``waiting`` heap hold only tickets nobody
        declined, so their first (``Pool.first``) is the answer unless a better one in
        the ``declined`` heap is open to this agent; an agent that declined every ticket
        there skips that heap at once.
        """
        best = pool.first()
        n_declined = pool.n_declined
        if n_declined and pool.declined_by.get(agent.id, 0) < n_declined:
            other = first_not_declined(pool.declined, agent.id, best)
            if other is not None:
                return other
        return best

    def _take_units(
        self, agent: Agent, t: Ticket, ch: str, explanation: Explanation | None
    ) -> Explanation | None:
        """``t``'s capacity units held by ``agent`` (which has a budget); past the budget
        only an interruption gets here: counted, and said in the explanation."""
        if agent.units is not None and agent.units_used + t.terms.cost > agent.units:
            self._counters.interruptions += 1
            if explanation is not None:
                held = self._interrupts.held(agent, ch)
                explanation = msgspec.structs.replace(explanation, interrupted=held)
        agent.units_used += t.terms.cost
        agent.units_by[ch] = agent.units_by.get(ch, 0) + t.terms.cost
        return explanation

    def _assign(self, t: Ticket, agent: Agent, pool: Pool, explanation: Explanation | None) -> None:
        now = self._now
        self._dequeue(t)
        ch = pool.channel
        cn = pool.chan
        ups = agent.loadst.ups  # load_up(agent, ch) by channel number (loads.py), inline
        st = ups[cn] if cn < len(ups) else None
        if st is None:
            st = step_up_no(agent.loadst, cn, ch)
        agent.loadst = st
        agent.load = st.counts
        loadn = agent.loadn = st.nums
        on_ch = loadn[cn]  # read once: _take_units leaves the load alone
        agent.total_load += 1
        if agent.units is not None:
            explanation = self._take_units(agent, t, ch, explanation)
        if on_ch >= agent.capn[cn]:  # that was its last slot on ch: maybe no room left
            # self._room(agent) and its ``has_room(agent)``, inline (as in _release)
            roomy = False
            if agent.state == READY:
                for cap_cn, cap in enumerate(agent.capn):  # (0 where it has no cap: never room)
                    if loadn[cap_cn] < cap:
                        roomy = True
                        break
            if roomy != agent.roomy:
                agent.roomy = roomy
                self._n_with_room += 1 if roomy else -1
        if agent.total_load == 1 and now - agent.idle_from >= self._break_s:
            agent.stretch_start = now  # a natural break long enough resets the stretch
            agent.break_due = _INF
            if self._breaks.n_early:
                self._early_look = True  # no longer due ahead of a candidate, maybe
        agent.idle_since = now
        if t.terms.heavy:
            agent.heavy_streak += 1  # a light inquiry ends the run when completed (complete)
        if pool.mode == ROUND_ROBIN:
            agent.rr[pool.queue.name] = self._next_seq()  # its turn in this queue is used
        unlist(agent, self._vers, self._table)
        t.agent = agent
        t.wait_end = now
        self._counters.decisions += 1
        tally = agent.tally
        if not tally.noted:  # _note_changed, inline: every decision
            tally.noted = True
            self._changed[agent.id] = agent
        if self._immediate:
            agent.work[t.id] = t
            t.state = ASSIGNED
            t.assigned_at = now
            self._n_assigned += 1
            self._counters.assigned += 1
            self._answered(t.terms.queue, now, t.entered, not t.callback)
            self._count_answer(t, now, 1)
            self._events.append(
                Assigned(
                    at=self._now,
                    version=self._version,
                    inquiry_id=t.id,
                    agent_id=agent.id,
                    queue=t.terms.queue.name,
                    wait_s=now - t.arrival,
                    explanation=explanation,
                )
            )
        else:
            agent.offers[t.id] = t
            t.state = OFFERED
            self._n_offered += 1
            t.offer_no += 1
            self._counters.offers += 1
            tally.offers += 1
            expires = now + self._offer_timeout
            self._at(expires, K_OFFER, t.id, t.offer_no)
            self._events.append(
                Offered(
                    at=self._now,
                    version=self._version,
                    inquiry_id=t.id,
                    agent_id=agent.id,
                    queue=t.terms.queue.name,
                    expires_at=expires,
                    explanation=explanation,
                )
            )

    def _explain_pool(
        self,
        agent: Agent,
        pool: Pool,
        t: Ticket,
        trigger: str = "arrival",
        offers: int = 1,
        key: float | None = None,
    ) -> Explanation:
        now = self._now
        q = pool.queue
        w = q.weights
        mode = pool.mode
        preferred = t.prefer_until > 0.0
        runner = None
        if mode == SCORED:
            chosen = self._scorer.explain(agent, pool, Scorer.proficiency(agent, pool), w, now)
        else:
            chosen = self._explain_mode(agent, pool, now, key)
        if trigger == "arrival" and offers == 1 and not preferred:
            # the best other agent listed in the pool
            best = self._best_listed_except(pool, agent)
            if best is not None:
                best_key, other = best
                if mode == SCORED:
                    prof = Scorer.proficiency(other, pool)
                    runner = self._scorer.explain(other, pool, prof, w, now)
                else:
                    runner = self._explain_mode(other, pool, now, best_key)
        return Explanation(
            chosen=chosen,
            runner_up=runner,
            trigger=trigger,
            distribution=q.cfg.distribution,
            match=q.cfg.match,
            preferred=preferred,
            offers=offers,
        )

    def _heap_entries(self, pool: Pool) -> list[tuple[float, int, int, bool]]:
        """Every entry of ``pool``'s agent heap, in its layout: ``(key, seq, slot, live)``
        (``seq``: the listing's rank, compiled). Off the hot path: snapshots, tests."""
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: router/state/vecheap.py
            return vh.entries(table.cells)
        vers = self._vers
        return [(e[0], e[1], e[3], vers[e[3]] is e[2]) for e in pool.agents]

    def _listed_keys(self, pool: Pool) -> list[tuple[str, float]]:
        """The agent id and key of each live listing in ``pool`` (a snapshot's draws)."""
        slots = self._slots
        return [(slots[sl].id, k) for k, _, sl, live in self._heap_entries(pool) if live]

    def _best_listed_except(self, pool: Pool, agent: Agent) -> tuple[float, Agent] | None:
        """The key and agent of ``pool``'s best live listing but ``agent``'s (an
        explanation's runner-up), read without changing the heap."""
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: router/state/vecheap.py
            best = vh.best_live_except(table.cells, agent.slot)
            return None if best is None else (best[0], self._slots[best[1]])
        entry = best_live_except(pool.agents, self._slots, agent)
        return None if entry is None else (entry[0], self._slots[entry[3]])

    def _explain_mode(
        self, agent: Agent, pool: Pool, now: float, key: float | None
    ) -> FeatureScore:
        """A distribution mode's one ordering value for ``agent`` (its draw, for ``random``:
        ``key`` when the caller knows it, else its live entry in the pool's heap, if any)."""
        if key is None:  # (traced decisions only)
            vh = pool.vh
            table = self._table
            if vh is not None and table is not None:  # compiled: router/state/vecheap.py
                key = vh.live_key(table.cells, agent.slot)
            else:
                slots = self._slots
                for k, _, ver, slot in pool.agents:
                    if slots[slot] is agent and agent.ver == ver:
                        key = k
                        break
        prof = Scorer.proficiency(agent, pool)
        feats, score = mode_features(pool.mode, agent, pool, prof, key, now)
        weights = dict.fromkeys(feats, 1.0)
        return FeatureScore(agent_id=agent.id, features=feats, weights=weights, score=score)

    # ------------------------------------------------------------------ multi-offer

    def _seek_many(self, t: Ticket, pool: Pool) -> None:
        """``max_offers > 1``: offer ``t`` to up to that many agents listed in its pool."""
        n = pool.queue.max_offers
        chosen: list[Agent] = []
        keys: list[float] = []
        declined = t.declined
        slots = self._slots
        vh = pool.vh
        table = self._table
        if vh is not None and table is not None:  # compiled: router/state/vecheap.py
            cells = table.cells
            aside: list[tuple[float, i64]] = []
            while vh.n and len(chosen) < n:
                s = vh.ss[0]
                key = vh.keys[0]
                vh.pop()  # stale, declined (pushed back), or offered (re-listed after)
                sl = s & SLOT_MASK
                if cells[sl] != s:
                    continue
                agent = slots[sl]
                if declined is not None and agent.id in declined:
                    aside.append((key, s))
                    continue
                chosen.append(agent)
                keys.append(key)
            for k, s2 in aside:
                vh.push(k, s2)
        else:
            heap = pool.agents
            skipped: list[Any] = []
            vers = self._vers
            while heap and len(chosen) < n:
                entry = heap[0]
                slot = entry[3]
                if vers[slot] is not entry[2]:
                    heappop(heap)
                    continue
                agent = slots[slot]
                if declined is not None and agent.id in declined:
                    skipped.append(heappop(heap))
                    continue
                heappop(heap)  # the offer changes the agent: it is re-listed where it has room
                chosen.append(agent)
                keys.append(entry[0])
            for e in skipped:
                heappush(heap, e)
        if chosen:
            explanations = [
                self._explain_pool(a, pool, t, offers=len(chosen), key=k) if self._trace else None
                for a, k in zip(chosen, keys, strict=True)
            ]
            if pool.mode == RANDOM and keys[-1] > pool.floor:
                pool.floor = keys[-1]  # the highest winning draw (router/state/distribution.py)
            self._offer_many(t, chosen, pool, explanations)
            for agent in chosen:
                if has_room(agent):
                    self._refresh(agent)

    def _offer_many(
        self, t: Ticket, agents: list[Agent], pool: Pool, explanations: list[Explanation | None]
    ) -> None:
        """One decision, an offer to each of ``agents``: each holds a slot until it answers,
        the first accept wins (:meth:`_win`) and the others are rescinded. Idle time and
        the work stretch change only for the winner, at the accept."""
        now = self._now
        self._dequeue(t)
        self._counters.decisions += 1
        t.wait_end = now
        t.state = OFFERED
        self._n_offered += 1
        t.offer_no += 1
        t.agent = agents[0]
        t.also = {a.id: a for a in agents[1:]}
        expires = now + self._offer_timeout
        self._at(expires, K_OFFER, t.id, t.offer_no)
        ch = pool.channel
        rr = pool.mode == ROUND_ROBIN
        for agent, explanation in zip(agents, explanations, strict=True):
            on_ch = load_up(agent, ch)
            agent.total_load += 1
            if agent.units is not None:
                explanation = self._take_units(agent, t, ch, explanation)
            if on_ch >= agent.caps[ch]:  # its last slot on ch: maybe no room left
                self._room(agent)
            if t.terms.heavy:
                agent.heavy_streak += 1
            if rr:
                agent.rr[pool.queue.name] = self._next_seq()
            unlist(agent, self._vers, self._table)
            agent.offers[t.id] = t
            self._counters.offers += 1
            agent.tally.offers += 1
            self._note_changed(agent)
            self._events.append(
                Offered(
                    at=now,
                    version=self._version,
                    inquiry_id=t.id,
                    agent_id=agent.id,
                    queue=t.terms.queue.name,
                    expires_at=expires,
                    explanation=explanation,
                )
            )

    def _win(self, t: Ticket, winner: Agent) -> None:
        """``winner`` accepted a multi-agent offer first: rescind the others'."""
        self._rescind_others(t, winner, "accepted_elsewhere", accepted_by=winner.id)
        now = self._now
        look = False
        if winner.total_load == 1 and now - winner.idle_from >= self._break_s:
            winner.stretch_start = now  # as _assign does for a one-agent offer
            look = self._breaks.n_early > 0
        winner.idle_since = now
        # its keys changed (idle time): re-listed where it has room
        unlist(winner, self._vers, self._table)
        self._note_changed(winner)
        if has_room(winner):
            self._free(winner)
        if look:  # (an input, not a pass: at once, as _early_look's release at a pass's end)
            self._release_breaks()

    def _give_back(self, agent: Agent, t: Ticket) -> None:
        """A rescinded offer's slot: freed without touching the agent's idle time (it did
        nothing wrong and nothing happened to it)."""
        idle_since, idle_from = agent.idle_since, agent.idle_from
        self._release(agent, t)
        agent.idle_since, agent.idle_from = idle_since, idle_from

    def _drop_recipient(self, t: Ticket, agent: Agent) -> bool:
        """``agent``'s part of ``t``'s offer is gone (its slot already given back); True
        while other agents still hold an open offer of ``t``."""
        also = t.also
        if also is None:
            return False
        if agent is t.agent:
            if not also:
                t.also = None
                return False
            nxt = next(iter(also))
            t.agent = also.pop(nxt)
            return True
        del also[agent.id]
        return True

    def _rescind_others(
        self, t: Ticket, keep: Agent, reason: str, accepted_by: str | None = None
    ) -> None:
        """Leave ``t``'s offer with ``keep`` alone: the other holders' parts are rescinded
        (``OfferRescinded``, ``reason``), their slots freed."""
        first = t.agent
        assert first is not None and t.also is not None
        others = [a for a in (first, *t.also.values()) if a is not keep]
        t.agent = keep
        t.also = None
        for a in others:
            del a.offers[t.id]
            self._undo_heavy(t, a)
            self._give_back(a, t)
            self._events.append(
                OfferRescinded(
                    at=self._now,
                    version=self._version,
                    inquiry_id=t.id,
                    agent_id=a.id,
                    reason=reason,
                    accepted_by=accepted_by,
                )
            )

    def _drop_others(self, t: Ticket, undo_heavy: bool) -> None:
        """Take back the offers of ``t`` held by agents other than ``t.agent``."""
        also = t.also
        t.also = None
        if not also:
            return
        for a in also.values():
            del a.offers[t.id]
            if undo_heavy:
                self._undo_heavy(t, a)
            self._release(a, t)

    def holds(self, inquiry_id: object, agent_id: object) -> bool:
        """Whether ``agent_id`` holds the inquiry: an open offer of it (one of several, with
        ``max_offers > 1``), or the inquiry in service or wrap-up."""
        # (the type tests inline: the adapters' inbox asks once per offer it hands out)
        if type(inquiry_id) is not str:
            inquiry_id = query_id(inquiry_id, "inquiry_id")  # (raises)
        if type(agent_id) is not str:
            agent_id = query_id(agent_id, "agent_id")
        t = self._tickets.get(inquiry_id)
        if t is None or t.agent is None or t.state not in (OFFERED, ASSIGNED, WRAPUP):
            return False
        if t.agent.id == agent_id:
            return True
        return t.also is not None and agent_id in t.also

    def offered_to(self, inquiry_id: object) -> list[str]:
        """The agents holding an open offer of the inquiry (empty when it is not offered)."""
        t = self._ticket(query_id(inquiry_id, "inquiry_id"))
        if t.state != OFFERED or t.agent is None:
            return []
        return [t.agent.id, *(t.also or ())]

    # ------------------------------------------------------------------ preferred agents

    def _set_pool(self, t: Ticket) -> None:
        """``t``'s pool under its terms now (requeued, updated, moved, back from a park);
        its wait for preferred agents ends when none of them may serve it there (every one
        declined, is gone or lacks a new requirement), or when its time is up (the deadline
        fell due while it was assigned, when nothing was to end): anyone eligible may take
        it now."""
        pool = t.pool = self._pool_for(t)
        until = t.prefer_until
        if until > 0.0 and (until <= self._now or not self._preferred_here(t, pool)):
            t.prefer_until = 0.0

    def _preferred_here(self, t: Ticket, pool: Pool) -> bool:
        """Whether a preferred agent of ``t`` who serves ``pool`` is logged in and has not
        declined ``t``: the condition for ``t`` to keep waiting for them only."""
        prefer = t.prefer
        if prefer is None:
            return False
        declined = t.declined
        for aid in prefer:
            agent = self._agents.get(aid)
            if agent is None or agent.state == LOGGING_OUT:
                continue
            if declined is not None and aid in declined:
                continue
            if preference.eligible(agent, pool):
                return True
        return False

    def _seek_preferred(self, t: Ticket, pool: Pool) -> None:
        """``t`` waits for its preferred agents: the first free ones, in the order named."""
        prefer = t.prefer
        assert prefer is not None
        n = 1 if self._immediate else pool.queue.max_offers
        declined = t.declined
        chosen: list[Agent] = []
        for aid in prefer:
            agent = self._agents.get(aid)
            if agent is None or not self._can_take(agent, pool):
                continue
            if declined is not None and aid in declined:
                continue
            if not preference.eligible(agent, pool):
                continue
            chosen.append(agent)
            if len(chosen) >= n:
                break
        if not chosen:
            return
        if pool.queue.max_offers > 1 and not self._immediate:
            explanations = [
                self._explain_pool(a, pool, t, offers=len(chosen)) if self._trace else None
                for a in chosen
            ]
            self._offer_many(t, chosen, pool, explanations)
        else:
            agent = chosen[0]
            explanation = self._explain_pool(agent, pool, t) if self._trace else None
            self._assign(t, agent, pool, explanation)
        for agent in chosen:
            if has_room(agent):
                self._refresh(agent)

    def _move_to(self, t: Ticket, q: QueueState, step: int) -> None:
        """``t``, out of line, enters queue ``q`` now at relaxation ``step`` (a transfer, an
        overflow move, a removed queue's hand-over): its wait for preferred agents, if still
        on, lasts at most ``q.preferred_wait_s`` from now (``0`` there ends it). A move never
        starts or lengthens the wait. (The old deadline is spent: ``_fire`` ends a wait only
        at its ``prefer_until``.)"""
        t.queue = q
        t.entered = self._now
        t.step = step
        until = t.prefer_until
        if until <= 0.0:
            return
        wait = q.preferred_wait_s
        if wait <= 0.0:
            t.prefer_until = 0.0
            return
        end = self._now + wait
        if end < until:
            t.prefer_until = end
            self._at(end, K_PREFER, t, 0)

    def _end_preference(self, t: Ticket) -> None:
        """``t`` stops waiting for its preferred agents: every eligible agent may take it."""
        if t.prefer_until <= 0.0:
            return
        if t.state == WAITING:
            self._dequeue(t)
            t.prefer_until = 0.0
            self._enqueue(t)
            self._pending.append(t)
        else:
            t.prefer_until = 0.0

    def _waiting_for(self, agent: Agent) -> list[Ticket]:
        """The tickets in their preference phase that list ``agent`` among their preferred."""
        out: list[Ticket] = []
        aid = agent.id
        for pool, _, _ in agent.pools:
            if pool.n_preferring and aid in pool.line_live:
                out.extend(preference.line_tickets(pool, aid))
        return out

    def _recheck_preferences(self, tickets: list[Ticket]) -> None:
        """After an agent left (or changed): end the phase of tickets no preferred agent who
        could serve them is logged in for any more."""
        for t in tickets:
            pool = t.pool
            if (
                t.state == WAITING
                and t.prefer_until > 0.0
                and pool is not None
                and not self._preferred_here(t, pool)
            ):
                self._end_preference(t)

    # ------------------------------------------------------------------ attributes

    def set_attributes(self, agent_id: str, attributes: dict[str, Any], now: float) -> None:
        """Replace a logged-in agent's attributes; every queue's ``match`` is evaluated
        again for it. Work in hand and open offers stay where they are."""
        check_id(agent_id, "agent_id")
        check_attributes(attributes)
        try:
            self._enter(now)
            agent = self._staying_agent(agent_id)
            waiting_for = self._waiting_for(agent)
            agent.spec = msgspec.structs.replace(agent.spec, attributes=dict(attributes))
            self._relist(agent)
            self._events.append(
                AgentAttributesSet(
                    at=self._now, version=self._version, agent_id=agent.id, pools=len(agent.pools)
                )
            )
            self._recheck_preferences(waiting_for)
        except BaseException as exc:
            self._failed(exc)
            raise

    def _relist(self, agent: Agent) -> None:
        """Work out again which pools ``agent`` is eligible for (its spec changed)."""
        rounds = self._declined_pools(agent)
        leave_pools(agent)
        # stale everywhere; re-listed by the next matching pass
        unlist(agent, self._vers, self._table)
        for pool in self._pools.values():
            self._consider(agent, pool)
        self._live.recount_agent(agent, self._queues.values())  # a queue's match may differ
        if agent.state == READY:
            self._free(agent)
        self._end_rounds(rounds)

    # ------------------------------------------------------------------ reconfigure

    def reconfigure(
        self,
        config: RouterConfig | dict[str, Any],
        now: float,
        *,
        hand_over: dict[str, str] | None = None,
    ) -> int:
        """Atomically switch to ``config``; returns the new version.

        ``config`` is a :class:`~router.config.RouterConfig` or its plain-data form.
        Waiting inquiries of a removed queue (callbacks between two attempts and held
        outbound tasks too) move to ``hand_over[queue]``, else to the removed queue's
        ``on_remove`` (an ``Overflowed`` each), else they are rejected with reason
        ``queue_removed``; offered and assigned ones finish where they are. An open
        offer is held to the new config: an agent it no longer allows loses it at once
        (``reason="reconfigured"``); work in service stays.
        An invalid config raises ConfigError naming every problem and changes nothing.
        After the change, each listener (:meth:`add_reconfigure_listener`) gets the removed
        queues, each mapped to where its waiting inquiries went (``None``: rejected).
        """
        if isinstance(config, dict):
            config = convert_config(config)  # ConfigError names every problem
        elif not isinstance(config, RouterConfig):
            raise InvalidInput("config", f"must be a RouterConfig, got {type(config).__name__}")
        if hand_over is not None and (
            type(hand_over) is not dict
            or not all(type(k) is str and type(v) is str for k, v in hand_over.items())
        ):
            raise InvalidInput("hand_over", f"must map queue names to queue names: {hand_over!r}")
        # a config of the wrong shape (a dict for a table) is refused before the checks
        # against the running router, which read it as typed
        shape = shape_problems(config)
        if not shape:  # the router's own copy (as at ``Router(config)``)
            config = deepcopy(config)
        problems = [] if shape else semantic_problems(config)
        moved: dict[str, str | None] = {}
        try:
            self._enter(now)
            if shape:
                raise ConfigError(shape)
            version = self._reconfigure(config, hand_over, problems, moved)
        except BaseException as exc:
            self._failed(exc)
            raise
        # after the change: the router is whole whatever they do (one that raises stops
        # the rest, the exception the caller's); a copy, so a listener may add or remove
        for listener in list(self._reconfigure_listeners):
            listener(dict(moved))
        return version

    def add_reconfigure_listener(self, listener: Callable[[dict[str, str | None]], object]) -> None:
        """Call ``listener(moved)`` after each successful :meth:`reconfigure`, after the
        listeners added before it (``moved``: each removed queue mapped to where its waiting
        inquiries went, ``None``: rejected; the listener's own copy). Adding one already
        added does nothing (as ``trio.lowlevel.add_instrument``). A restored router has
        none."""
        if not callable(listener):
            raise InvalidInput("listener", f"must be callable, got {type(listener).__name__}")
        if not any(x is listener or x == listener for x in self._reconfigure_listeners):
            self._reconfigure_listeners.append(listener)

    def remove_reconfigure_listener(
        self, listener: Callable[[dict[str, str | None]], object]
    ) -> None:
        """Stop calling ``listener`` (:meth:`add_reconfigure_listener`); ``InvalidInput``
        (``listener``) if it was not added, the others kept."""
        for i, x in enumerate(self._reconfigure_listeners):
            if x is listener or x == listener:
                del self._reconfigure_listeners[i]
                return
        raise InvalidInput("listener", f"not added: {listener!r}")

    def _reconfigure(
        self,
        config: RouterConfig,
        hand_over: dict[str, str] | None,
        problems: list[str],
        targets: dict[str, str | None],
    ) -> int:
        """``reconfigure``'s change; ``targets`` (empty) gets each queue it removes, mapped
        to its waiting inquiries' target or ``None``."""
        new_names = {q.name for q in config.queues}
        for name, qs in self._queues.items():
            if name in new_names or qs.removed:
                continue
            target = (hand_over or {}).get(name, qs.cfg.on_remove)
            if target is not None and target not in new_names:
                problems.append(
                    f"hand_over.{name}: target queue {target!r} is not in the new config"
                )
            targets[name] = target
        for name in hand_over or {}:
            if name not in targets:
                problems.append(f"hand_over.{name}: {name!r} is not a queue this config removes")
        problems += self._channel_change_problems(config)
        if config.routing.clock.unix != self._cfg.routing.clock.unix:
            problems.append(
                "$.routing.clock.unix: cannot change in a running router "
                "(now would count from another origin)"
            )
        channels = {**DEFAULT_CHANNELS, **config.channels}
        for agent in self._agents.values():
            for ch in agent.spec.capacity:
                if ch not in channels:
                    problems.append(
                        f"$.channels: agent {agent.id!r} uses channel {ch!r}, "
                        "which the new config drops"
                    )
        chain: list[AdmissionPolicy] | None = None
        if not problems:  # built before anything changes: a plug-in's factory may refuse
            try:
                chain = build_policies(config)
            except ConfigError as exc:
                problems = list(exc.problems)
        if problems:
            raise ConfigError(problems)
        self._version += 1
        # tasks held in a removed outbound queue: moved or ended below, never by the policy
        outbound = self._bp.outbound
        tasks = outbound.let_go_in(targets) if targets and outbound.holding else []
        presence = self._presence
        counted = self._max_declines
        self._keep_answer_targets(config)
        before = {q.name: (q.channel, q.answer_target_s) for q in self._cfg.queues}
        self._apply_config(config, chain)
        if counted and not self._max_declines:  # turned off: no run is kept
            for agent in self._agents.values():
                agent.declines = 0
        if self._presence != presence:  # every agent counts as seen now (no instant timeouts)
            for agent in self._agents.values():
                agent.last_seen = self._now
        # the new limits and window may bring an agent's next need earlier than its timer
        # (a shorter stretch or window): moved there. A later need waits for the timer,
        # which finds nothing due and looks again (``_schedule_agent`` only moves earlier)
        for agent in self._agents.values():
            self._schedule_agent(agent, self._agent_next_time(agent))
        waiting = sorted((t for t in self._tickets.values() if t.state == WAITING), key=_urgency)
        handed = rejected = 0
        for t in waiting:
            name = t.terms.queue.name
            if name in targets and targets[name] is None:
                rejected += 1
                self._reject_removed(t, name)
                continue
            self._dequeue(t)
            if name in targets:
                target = targets[name]
                assert target is not None
                self._hand_over(t, name, target)
                handed += 1
            else:  # its queue's steps may have changed: apply the ones already due
                t.step = self._steps_due(t)
        # a callback between two attempts holds its place in its queue too: it follows the
        # removed queue's target (its retry puts it in line there) or is rejected now
        callbacks = self._bp.callbacks
        for t in sorted(callbacks.between_attempts_in(targets), key=_urgency):
            name = t.terms.queue.name
            target = targets[name]
            if target is None:
                callbacks.withdrawn(t)  # it holds no place any more
                rejected += 1
                self._reject_removed(t, name)
            else:
                self._hand_over(t, name, target)
                callbacks.moved(t, name)
                handed += 1
        survivors = [t for t in waiting if t.state != DONE]
        self._rebuild_indexes(survivors)
        for t in sorted(tasks, key=_urgency):
            name = t.terms.queue.name
            target = targets[name]
            if target is None:
                outbound.deadlines.pop(t.id, None)
                rejected += 1
                self._reject_removed(t, name)
                continue
            self._hand_over(t, name, target)
            handed += 1
            if target in outbound.queues:
                outbound.take_back(t)  # held there, its deadline kept
            else:  # an inbound queue: in line like an inquiry (as the policy's _unhold)
                outbound.deadlines.pop(t.id, None)
                self._back_in_line(t)
        self._live.recount(self._agents.values(), list(self._queues.values()))
        for t in survivors:
            self._schedule_step(t)
        for t in self._tickets.values():  # offered/parked: re-pick their step when requeued
            if t.terms.step > len(t.terms.queue.steps):
                t.step = len(t.terms.queue.steps)
        # every open offer held to the new config: an agent it no longer admits loses it at
        # once; the offers that stand are in the router's pools, which a later agent update
        # or shift change checks them against
        for t in [t for t in self._tickets.values() if t.state == OFFERED]:
            self._hold_offer(t, "reconfigured")
        # the queues added or changed, so a monitor fed the events learns their channels and
        # answer targets from here, at this point in the stream (router/observe/monitor.py)
        answer_targets: list[tuple[str, float]] = []
        queue_channels: list[tuple[str, str]] = []
        for q in config.queues:
            was = before.get(q.name)
            if was is None or was[1] != q.answer_target_s:
                answer_targets.append((q.name, q.answer_target_s))
            if was is None or was[0] != q.channel:
                queue_channels.append((q.name, q.channel))
        self._events.append(
            Reconfigured(
                at=self._now,
                version=self._version,
                handed_over=handed,
                rejected=rejected,
                answer_targets=tuple(answer_targets),
                channels=tuple(queue_channels),
            )
        )
        return self._version

    def _keep_answer_targets(self, config: RouterConfig) -> None:
        """Before ``config`` changes a queue's ``answer_target_s``: each inquiry assigned
        there keeps the target its answer was counted by, so a take-back (a hand-back, a
        transfer, a callback's call that reached nobody) comes out of the same figure."""
        changed = {
            q.name
            for q in config.queues
            if q.name in self._queues and self._queues[q.name].answer_target_s != q.answer_target_s
        }
        if not changed:
            return
        for t in self._tickets.values():
            if t.state == ASSIGNED:
                q = t.terms.queue
                if q.name in changed and t.answer_target is None:
                    t.answer_target = q.answer_target_s

    def _reject_removed(self, t: Ticket, name: str) -> None:
        """``t``, out of line, ends with its removed queue ``name`` (reconfigure, no target)."""
        self._end(
            t,
            Rejected(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                queue=name,
                reason="queue_removed",
            ),
        )

    def _hand_over(self, t: Ticket, name: str, target: str) -> None:
        """``t``, out of line, leaves the removed queue ``name`` for ``target`` (reconfigure):
        a move, announced as one (``Overflowed``) so the event consumers see it too."""
        self._move_to(t, self._queues[target], 0)
        self._events.append(
            Overflowed(
                at=self._now,
                version=self._version,
                inquiry_id=t.id,
                from_queue=name,
                to_queue=target,
                reason="queue_removed",
            )
        )

    def _hold_offer(self, t: Ticket, reason: str) -> None:
        """The offered ``t`` takes the pool it would wait in now (:meth:`_pool_for`, after a
        new requirement or config: its queue's requirement at its step, its tenant and own
        requirement, the queue's ``match``; made here if no waiting inquiry made it): the
        offer stands for the holders that pool lists; the others lose it with ``reason``, and
        the last one out puts the inquiry back in line."""
        agent = t.agent
        assert agent is not None
        pool = self._pool_for(t)
        holders = [agent, *(t.also or {}).values()]
        gone = [a for a in holders if not any(p is pool for p, _, _ in a.pools)]
        if len(gone) < len(holders):
            t.pool = pool  # the offer stands, in the pool it would wait in now
        for a in gone:  # the last one out puts the inquiry back in line
            self._take_back_quietly(t, a, reason)

    def _channel_change_problems(self, config: RouterConfig) -> list[str]:
        """A queue may not change channel while it holds agents' slots on the old one."""
        held: dict[str, int] = {}
        for t in self._tickets.values():
            if t.state in (OFFERED, ASSIGNED, WRAPUP):
                held[t.terms.queue.name] = held.get(t.terms.queue.name, 0) + 1
        out = []
        for i, q in enumerate(config.queues):
            old = self._queues.get(q.name)
            if old is not None and old.channel != q.channel and held.get(q.name):
                out.append(
                    f"$.queues[{i}].channel: queue {q.name!r} still holds {held[q.name]} "
                    f"inquiries on {old.channel!r} (offered or in service); change the channel "
                    "once they finish, or add a new queue and remove this one"
                )
        return out

    def _rebuild_indexes(self, waiting: list[Ticket]) -> None:
        """Recreate every pool from scratch (reconfigure)."""
        self._pools = {}
        self._pool_gen += 1  # the terms' pools are gone
        for q in self._queues.values():
            for k in q.terms.values():
                k.pool = None
        for q in self._queues.values():
            q.pools = []
        for agent in self._agents.values():
            agent.pools = []
            agent.listed = []  # the old pools are gone
            self._set_caps(agent)
            agent.listed_ver = -1
            if agent.state == READY:
                self._free(agent)
        for t in waiting:
            self._set_pool(t)
            self._enqueue(t)
            self._pending.append(t)
        index_arrivals(self._queues.values(), waiting)
        for pool in self._pools.values():
            pool.waiting.sort()
            pool.declined.sort()

    # ------------------------------------------------------------------ views

    def _ticket(self, inquiry_id: str) -> Ticket:
        t = self._tickets.get(inquiry_id)
        if t is None:
            raise UnknownId(f"unknown inquiry {inquiry_id!r}")
        return t

    def _agent(self, agent_id: str) -> Agent:
        a = self._agents.get(agent_id)
        if a is None:
            raise UnknownId(f"unknown agent {agent_id!r}")
        return a

    def _staying_agent(self, agent_id: str) -> Agent:
        """A logged-in agent that is not logging out (an agent input may change it)."""
        a = self._agent(agent_id)
        if a.state == LOGGING_OUT:
            raise InvalidState(f"agent {agent_id!r} is logging out")
        return a

    def _queue_list(self) -> str:
        names = [n for n, q in self._queues.items() if not q.removed]
        return ", ".join(repr(n) for n in names) or "(none)"

    @property
    def counters(self) -> Counters:
        """What the router counted since it started (a copy)."""
        return self._counters.counters()

    def _known_queue(self, queue: object) -> QueueState:
        """The configured queue named ``queue``; :class:`UnknownId` (or, for a value that is
        no queue name at all, :class:`InvalidInput`) otherwise."""
        q = self._queues.get(queue) if type(queue) is str else None
        if q is None or q.removed:
            check_id(queue, "queue")
            raise UnknownId(f"unknown queue {queue!r}; known: {self._queue_list()}")
        return q

    def queue_length(self, queue: object) -> int:
        """The inquiries waiting in ``queue``, callbacks holding their place included."""
        return self._known_queue(queue).n_waiting

    def queue_holds(self, queue: object) -> int:
        """Everything a reconfigure removing ``queue`` would hand over or reject: its line
        (:meth:`queue_length`), its callbacks between two attempts (or held until its hours
        open) and the outbound tasks it holds (:meth:`queue_holdings`, by kind).
        O(callbacks between attempts + tasks held), nothing kept for it."""
        return self.queue_holdings(queue).total

    def queue_holdings(self, queue: object) -> QueueHolds:
        """:meth:`queue_holds` by kind: ``waiting`` (its line), ``between_attempts``,
        ``held_tasks``; ``describe()`` names the non-zero ones. For a reload guard
        (``ConfigWatcher``'s ``waiting``: its refusal says what the queue holds)."""
        q = self._known_queue(queue)
        names = (q.name,)
        bp = self._bp
        return QueueHolds(
            waiting=q.n_waiting,
            between_attempts=len(bp.callbacks.between_attempts_in(names)),
            held_tasks=len(bp.outbound.held_in(names)),
        )

    def total_waiting(self) -> int:
        return self._waiting

    def expected_wait(self, queue: object, position: int | None = None) -> float:
        """The expected wait in seconds of the customer at ``position`` (1 = next) in
        ``queue``, from the rates measured so far. Without ``position``: the place an
        arrival at the queue's own priority would take now (behind everyone waiting at
        that priority or above). The places free now count as an ``Admission``'s do: the
        room of the agents listed in the queue's pools (per channel caps less load: one
        chat agent of 20 slots is 20 places; a bounded look, ``_listed_room``) where no
        line waits or a matching pass is pending, the most of any pool; before the queue
        is measured the rate is its widest pool's slots over the handle time. An
        ``Admission`` also counts announced staffing changes and overtaking."""
        q = self._known_queue(queue)
        if position is None:
            position = self._position(q, q.priority)
        elif type(position) is not int or position < 1:
            raise InvalidInput("position", f"must be an integer >= 1, got {position!r}")
        free = 0
        slots = 1.0
        pending = bool(self._pending or self._freed)
        for pool in q.pools:
            if not pool.eligible:
                continue
            s = pool_slots(pool)
            if s > slots:
                slots = s
            if not pool.n_waiting or pending:
                f = self._listed_room(pool, position)
                if f > free:
                    free = f
        if free >= position:
            return 0.0
        return self._estimator.expected_wait(q.name, position - free, slots=slots)

    def inquiry_state(self, inquiry_id: object) -> str:
        """``waiting``, ``offered``, ``assigned``, ``wrap_up`` or ``parked``; raises if unknown."""
        return _state_name(self._ticket(query_id(inquiry_id, "inquiry_id")))

    def agent_of(self, inquiry_id: object) -> str | None:
        """The agent an inquiry is offered or assigned to, if any."""
        a = self._ticket(query_id(inquiry_id, "inquiry_id")).agent
        return a.id if a is not None else None

    def statistics(self) -> RouterStatistics:
        """An immutable snapshot of counters, current occupancy and real-time figures.


        Cheap enough to scrape every second: the figures are kept up to date as
        inputs arrive (``router/state/realtime.py``); a call costs O(queues +
        agents changed since the last call), never a scan of the inquiries or of
        every agent. Windows are read at the router's time (:attr:`now`).
        """
        live = self._live
        live.settle()
        now = self._now
        held = self._n_offered + self._n_assigned + self._n_wrapup
        est = self._estimator
        ps = self._ps
        return RouterStatistics(
            now=now,
            version=self._version,
            agents_logged_in=len(self._agents),
            agents_ready=self._n_ready,
            agents_with_room=self._n_with_room,
            waiting=self._waiting,
            offered=self._n_offered,
            in_service=self._n_assigned,
            wrap_up=self._n_wrapup,
            parked=len(self._tickets) - self._waiting - held,
            counters=self.counters,
            queues={
                name: live.queue_statistics(q, now, est, ps)
                for name, q in self._queues.items()
                if not q.removed
            },
            surge=self._surge,
            agents_by_state=live.agents_by_state(),
            reset_at=live.reset_at,
        )

    def agent_statistics(self, agent_id: object) -> AgentStatistics:
        """One logged-in agent's state, load, occupancy, handled, declines and expiries
        since it logged in (or since the last reset); O(channels + inquiries it holds).
        Raises UnknownId for an agent that is not logged in."""
        a = self._agent(check_id(agent_id, "agent_id"))
        # draining: told its wellbeing break, finishing what it holds (a drain brought
        # forward, drain_for_break, or a due break's notice: the same wait)
        pending = a.state == BREAK and a.state_reason == "wellbeing" and not a.break_until
        # drain_place: a drain under max_drain_share (no break place held)
        return self._live.agent_statistics(
            a, self._now, pending, pending and bool(a.brk_flags & DRAINING)
        )

    def agent_ids(self) -> list[str]:
        """The logged-in agents, in login order (for a per-agent export: mind the count)."""
        return list(self._agents)

    def reset_statistics(self, now: float) -> None:
        """Start the "since reset" figures of every queue and agent over at ``now``
        (the sliding windows go on). O(queues + agents), once."""
        try:
            now = self._enter(now)
            self._live.reset(now, self._queues.values(), self._agents.values())
        except BaseException as exc:
            self._failed(exc)
            raise

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> bytes:
        """The whole state as msgspec bytes; :meth:`restore` rebuilds it exactly."""
        pool_index = {key: i for i, key in enumerate(self._pools)}
        # the entries that can still fire, in time order: equal states give equal bytes,
        # compacted or not (named policy timers are the policies' to dump)
        deadlines = [
            (at, seq, kind, self._entry_id(kind, obj), arg)
            for at, seq, kind, obj, arg in sorted(self._deadline_entries(), key=_at_seq)
            if (kind != K_BP or isinstance(obj, Ticket))
            and not self._deadline_spent(kind, obj, arg, seq)
        ]
        gaps, lasts = self._estimator.answers()
        early, early_gone = self._early_records()
        snap = codec.Snapshot(
            format=codec.FORMAT,
            config=self._cfg,
            version=self._version,
            now=self._now,
            seq=self._seq,
            surge=self._surge,
            counters=self.counters,
            gaps=gaps,
            lasts=lasts,
            queues=[
                codec.queue_record(q, q.tally.windows.dump(), q.tally.counts())
                for q in self._queues.values()
            ],
            pools=[(k[0], k[1], list(k[2]), k[3], k[4]) for k in self._pools],
            agents=[codec.agent_record(a, tally_record(a.tally)) for a in self._agents.values()],
            tickets=[codec.ticket_record(t, pool_index) for t in self._tickets.values()],
            deadlines=deadlines,
            pending=[t.id for t in self._pending if self._tickets.get(t.id) is t],
            freed=[a.id for a in self._freed],
            events=list(self._events),
            extra=self._bp.dump(),
            breaks=self._breaks.deferred_entries(),
            breaks_k=self._breaks.k,
            pool_binds=[[decanon(v) for v in k[5]] for k in self._pools],
            pool_floors=[p.floor for p in self._pools.values()],
            random_keys=[
                (i, sorted(self._listed_keys(p)))
                for i, p in enumerate(self._pools.values())
                if p.mode == RANDOM
            ],
            draws=self._draws.n,
            statistics_reset_at=self._live.reset_at,
            statistics_reset_ties=sorted(self._live.reset_ties),
            lost_pools=self._lost_pools(),
            answer_targets=self._answer_targets(),
            early=early,
            early_gone=early_gone,
            declines=self._decline_runs(),
        )
        return codec.encode(snap)

    def _early_records(
        self,
    ) -> tuple[codec.EarlyRecord | UnsetType, list[tuple[float, int, int, str | None]] | UnsetType]:
        """``Snapshot.early`` (the break-window candidates pending: the agents to ask at the
        next pass, in order, and the queued ones) and ``Snapshot.early_gone`` (the queued
        entries of agents gone since: no one's candidates, but counted in ``n_early`` until
        popped, so they decide when the heaps are compacted); UNSET without a window, and
        ``early_gone`` UNSET for none (the bytes as before)."""
        if self._early_s <= 0.0:
            return UNSET, UNSET
        agents = self._agents
        entries, gone = self._breaks.early_entries(lambda a: agents.get(a.id) is a)
        asks = [aid for aid, a in self._early_asks.items() if agents.get(aid) is a]
        return codec.EarlyRecord(asks=asks, entries=entries, k=self._breaks.k_early), gone or UNSET

    def _decline_runs(self) -> dict[str, int] | UnsetType:
        """``Snapshot.declines``: each agent's run of declines (``max_declines``); UNSET for
        none (always so with the setting off: the bytes as before)."""
        out = {aid: int(a.declines) for aid, a in self._agents.items() if a.declines}
        return out or UNSET

    def _answer_targets(self) -> dict[str, float] | UnsetType:
        """``Snapshot.answer_targets``: the targets kept on assigned tickets across a
        reconfigure (:meth:`_keep_answer_targets`); UNSET for none (the bytes as before)."""
        out: dict[str, float] = {}
        for t in self._tickets.values():
            target = t.answer_target
            if target is not None:
                out[t.id] = target
        return out or UNSET

    def _lost_pools(self) -> list[tuple[str, codec.LostPool]] | UnsetType:
        """The tickets held in a pool the router no longer lists (``Snapshot.lost_pools``),
        with that pool's key in plain values; UNSET for none. Since a reconfigure re-pools
        the open offers (:meth:`_hold_offer`), these are inquiries in service across a
        reconfigure, and offers restored from a snapshot written before that."""
        out: list[tuple[str, codec.LostPool]] = []
        pools = self._pools
        for t in self._tickets.values():
            pool = t.pool
            if pool is not None and pools.get(pool.key) is not pool:
                k = pool.key
                out.append((t.id, (k[0], k[1], list(k[2]), k[3], k[4], [decanon(v) for v in k[5]])))
        return out or UNSET

    @classmethod
    def restore(cls, data: object) -> Router:
        """Rebuild a router from :meth:`snapshot` bytes. Anything else (not bytes,
        truncated, not a snapshot, another format, a config or records that do not hold)
        raises :class:`~router.errors.InvalidSnapshot` saying what is wrong (``data`` is
        typed ``object`` so that the compiled build's wrapper lets it reach that check)."""
        snap = codec.decode(data)
        try:
            r = cls(snap.config, now=snap.now)
        except UsageError as exc:  # its config (or now) does not hold
            raise InvalidSnapshot(str(exc)) from None
        try:
            r._restore(snap)
        except InvalidSnapshot:  # (a ValueError: said as it is)
            raise
        except (LookupError, TypeError, ValueError) as exc:  # a record names what is not there
            raise InvalidSnapshot(f"inconsistent: {type(exc).__name__}: {exc}") from exc
        return r

    def _restore(self, snap: codec.Snapshot) -> None:
        n_agents = len(snap.agents)
        if self._native_heap and n_agents > self._slot_limit:  # before anything changes
            raise InvalidSnapshot(
                f"{n_agents} agents: a compiled router has room for {self._slot_limit} "
                "(their heap entries' slots: router/state/lazyheap.py); restore it into the "
                "pure build"
            )
        self._deadlines = []  # the snapshot's are the pending ones (not the fresh config's)
        self._deadline_refs = {}
        self._top_fired = False
        self._offer_line = deque()
        self._line = []
        self._line_head = 0
        self._line_ends()
        self._offer_entries = 0
        self._spent_room = -1  # counted at the first input
        self._version = snap.version
        self._seq = snap.seq
        self._surge = snap.surge
        self._counters = LiveCounters.of(snap.counters)
        self._draws.n = snap.draws
        weights = snap.config.routing.weights
        self._queues = {}
        coeffs = Coeffs(weights)
        for sq in snap.queues:
            qs = QueueState(sq.cfg, weights, coeffs)
            qs.removed = sq.removed
            qs.unit_cost = self._unit_cost.get(qs.channel, 1)  # (as _apply_config sets it)
            self._queues[qs.name] = qs
        self._live.configure(snap.config, self._channels, self._queues.values())
        for sq in snap.queues:
            tl = self._queues[sq.cfg.name].tally
            if sq.windows is not None:
                tl.windows.load(sq.windows)
            if sq.waits is not None and len(sq.waits) == len(tl.waits):
                tl.load_counts(sq.waits)
        self._live.reset_at = snap.statistics_reset_at
        self._live.reset_ties = set(snap.statistics_reset_ties)
        pools: list[Pool] = []
        binds = snap.pool_binds
        floors = snap.pool_floors
        for i, (qname, tenant, req, heavy, cost) in enumerate(snap.pools):
            bind = tuple(canon(v) for v in binds[i]) if binds else ()
            key = (qname, tenant, tuple((s, lvl) for s, lvl in req), heavy, cost, bind)
            q = self._queues[qname]
            pool = Pool(key, q)
            if self._native_heap:  # compiled: the agent heap's vectors (vecheap.py)
                pool.vh = AgentHeap()
            if floors:
                pool.floor = floors[i]
            self._pools[key] = pool
            q.pools.append(pool)
            pools.append(pool)
        for sa in snap.agents:
            a = Agent(sa.spec, snap.now, sa.incarnation)
            self._set_caps(a)
            codec.restore_agent(sa, a)
            if sa.tally is not None:
                restore_tally(sa.tally, a.tally)
            self._index_agent(a)
            if a.shifts or a.shift_end is not None:
                self._scheduled[a.id] = a  # its shift ends count in the staffing to come
            ver = a.ver
            a.ver = -2  # suppress pushes while pools are attached
            for pool in pools:
                self._consider(a, pool)
            a.ver = ver
        for st in snap.tickets:
            t = codec.restore_ticket(st, self._queues[st.queue], pools)
            if st.agent is not None:
                agent = self._agents[st.agent]
                t.agent = agent
                if t.state == OFFERED:
                    agent.offers[t.id] = t
                else:
                    agent.work[t.id] = t
                if agent.units is not None:  # derived: units held per channel
                    ch = t.terms.queue.channel
                    agent.units_by[ch] = agent.units_by.get(ch, 0) + t.terms.cost
            if st.also is not None:
                t.also = {aid: self._agents[aid] for aid in st.also}
                for other in t.also.values():
                    other.offers[t.id] = t
                    if other.units is not None:
                        ch = t.terms.queue.channel
                        other.units_by[ch] = other.units_by.get(ch, 0) + t.terms.cost
            self._tickets[t.id] = t
            if t.state == WAITING and t.pool is not None:
                pool = t.pool
                pool.n_waiting += 1
                t.terms.queue.n_waiting += 1
                t.terms.waiting.n += 1
                self._waiting += 1
                if t.callback:
                    t.terms.queue.n_callbacks += 1
                    self._waiting_cb += 1
                if t.prefer_until > 0.0:
                    preference.add(pool, t)
                elif t.declined:
                    pool.declined.append((t.aged, t.seq, t.ver, t))
                    pool.n_declined += 1
                    for aid in t.declined:
                        pool.declined_by[aid] = pool.declined_by.get(aid, 0) + 1
                else:
                    pool.waiting.append((t.aged, t.seq, t.ver, t))
        runs = snap.declines
        if isinstance(runs, dict):  # (UNSET: none)
            for aid, n in runs.items():
                self._agents[aid].declines = n
        kept = snap.answer_targets
        if isinstance(kept, dict):  # (UNSET: none)
            for iid, target in kept.items():
                self._tickets[iid].answer_target = target
        lost_pools = snap.lost_pools
        if isinstance(lost_pools, list):  # (UNSET: none)
            lost: dict[PoolKey, Pool] = {}  # one pool per key, outside self._pools
            for iid, lp in lost_pools:
                reqs = tuple((s, lvl) for s, lvl in lp[2])
                lkey: PoolKey = (lp[0], lp[1], reqs, lp[3], lp[4], tuple(canon(v) for v in lp[5]))
                held = lost.get(lkey)
                if held is None:
                    held = lost[lkey] = Pool(lkey, self._queues[lp[0]])
                self._tickets[iid].pool = held
        for sa in snap.agents:  # offers and work back in the order they came
            a = self._agents[sa.spec.id]
            codec.reorder(a.offers, sa.offers)
            codec.reorder(a.work, sa.work)
        for pool in pools:
            pool.waiting.sort()
            pool.declined.sort()
        waiting = [t for t in self._tickets.values() if t.state == WAITING]
        index_arrivals(self._queues.values(), waiting)
        drawn = {pools[i].key: dict(keys) for i, keys in snap.random_keys}
        if self._native_heap:  # the listings' ranks, in their seqs' order (Agent.rank)
            by_seq = sorted(self._agents.values(), key=_seq_of)
            for i, a in enumerate(by_seq):
                a.rank = i + 1
            self._rank = len(by_seq)
            table = self._table
            if table is not None:  # the live cells take the new ranks (vecheap.py)
                cells = table.cells
                for a in by_seq:
                    if cells[a.slot] >= 0:
                        cells[a.slot] = (int(a.rank) << SLOT_BITS) | a.slot
        for a in self._agents.values():
            if a.state == READY and a.listed_ver == a.ver:
                for pool, prof, _ in a.pools:
                    if self._can_take(a, pool):
                        if pool.mode == RANDOM:
                            k = drawn[pool.key][a.id]  # a draw: restored, not drawn again
                        else:
                            k = self._key(a, pool, prof)
                        vh = pool.vh
                        if vh is not None:  # compiled: router/state/vecheap.py
                            vh.push(k, (int(a.rank) << SLOT_BITS) | a.slot)
                        else:
                            pool.agents.append((k, a.seq, self._vers[a.slot], a.slot))
                        listed(a, pool)
        for pool in pools:
            pool.agents.sort()
        timers: dict[str, int] = {}  # agent id -> its timer's entry (the first at timer_at)
        for at, seq, kind, oid, arg in sorted(snap.deadlines, key=_at_seq):
            obj: Any = self._agents[oid] if kind == K_AGENT else self._tickets[oid]
            if kind == K_AGENT:
                # an entry's ``arg`` is its own number; snapshots of formats that gave the
                # agent's incarnation there held every entry at timer_at: the first fires
                arg = seq
                if at == obj.timer_at and oid not in timers:
                    timers[oid] = seq
                    obj.timer_seq = seq
                obj = obj.slot  # (the entries hold atoms: _offer_ticket, _entry_obj)
            elif kind == K_OFFER:
                obj = obj.id
            if kind == K_OFFER:
                self._offer_entries += 1
                if self._native_heap:
                    self._line.append(DeadlineEntry(at, seq, kind, obj, arg))
                else:
                    self._offer_line.append((at, seq, kind, obj, arg))  # in time order
            else:
                self._push_entry(at, seq, kind, obj, arg)  # (in time order: appended)
        self._line_ends()
        self._pending = [self._tickets[i] for i in snap.pending]
        for aid in snap.freed:  # (each once, as written: _free keeps it so)
            self._free(self._agents[aid])
        self._events = list(snap.events)
        for t in self._tickets.values():
            if t.state == OFFERED:
                self._n_offered += 1
            elif t.state == ASSIGNED:
                self._n_assigned += 1
            elif t.state == WRAPUP:
                self._n_wrapup += 1
        self._n_ready = sum(1 for a in self._agents.values() if a.state == READY)
        self._n_with_room = 0
        for a in self._agents.values():
            a.roomy = has_room(a)
            self._n_with_room += a.roomy
        self._live.recount(self._agents.values(), list(self._queues.values()))
        bs = self._breaks
        if bs.enabled:
            for a in self._agents.values():
                flags, a.brk_flags = a.brk_flags, 0
                bs.count(a, flags)  # the counted flags as they were, not recomputed
            bs.restore_deferred(
                [(due, inc, k, self._agents[aid]) for due, inc, k, aid in snap.breaks],
                snap.breaks_k,
            )
            early = snap.early
            if isinstance(early, codec.EarlyRecord) and self._early_s > 0.0:
                # the candidates as they were: the next pass asks whom the snapshotted
                # router would, and a place opening before it finds the same queue
                agents = self._agents
                gone = snap.early_gone if isinstance(snap.early_gone, list) else []
                bs.restore_early(
                    [(due, inc, k, agents[aid]) for due, inc, k, aid in early.entries]
                    + [(due, inc, k, _gone_agent(team)) for due, inc, k, team in gone],
                    early.k,
                )
                self._early_asks = {aid: agents[aid] for aid in early.asks}
            else:
                self._ask_early_all()  # (an older snapshot: every agent at the next pass)
        self._bp.load(snap.extra)  # the estimator's records (load_extra_state), then:
        self._estimator.load_answers(snap.gaps, snap.lasts)


@final
class _Ops:
    """The core operations the policies may call (``router/state/ops.py``), on one Router."""

    __slots__ = ("_r",)

    def __init__(self, router: Router) -> None:
        self._r = router

    @property
    def now(self) -> float:
        return self._r._now

    @property
    def version(self) -> int:
        return self._r._version

    @property
    def priority_seconds(self) -> float:
        return self._r._ps

    @property
    def in_surge(self) -> bool:
        return self._r._surge

    @property
    def counters(self) -> LiveCounters:
        return self._r._counters

    @property
    def estimator(self) -> WaitEstimator:
        return self._r._estimator

    def queue(self, name: str) -> QueueState | None:
        return self._r._queues.get(name)

    def ticket(self, inquiry_id: str) -> Ticket | None:
        return self._r._tickets.get(inquiry_id)

    def tickets(self) -> Iterable[Ticket]:
        return self._r._tickets.values()

    def agent_count(self) -> int:
        return len(self._r._agents)

    def total_waiting(self) -> int:
        return self._r._waiting

    def position(self, queue: QueueState, priority: int) -> int:
        return self._r._position(queue, priority)

    def match_pending(self) -> bool:
        r = self._r
        return bool(r._pending or r._freed)

    def staffing_changes(self, pool: Pool) -> list[tuple[float, int]]:
        return self._r._staffing_changes(pool)

    def callbacks_waiting(self) -> int:
        return self._r._waiting_cb

    def freed_agents(self) -> Iterable[Agent]:
        return self._r._freed

    def can_take(self, agent: Agent, pool: Pool) -> bool:
        return self._r._can_take(agent, pool)

    def listed_room(self, pool: Pool, need: int) -> int:
        return self._r._listed_room(pool, need)

    def pool_for(self, t: Ticket) -> Pool:
        return self._r._pool_for(t)

    def admit(self, t: Ticket, pool: Pool) -> None:
        self._r._admit(t, pool)

    def hold(self, t: Ticket) -> None:
        r = self._r
        r._counters.admitted += 1
        t.state = PARKED
        r._tickets[t.id] = t

    def enqueue(self, t: Ticket) -> None:
        self._r._back_in_line(t)

    def park(self, t: Ticket) -> None:
        r = self._r
        if t.state == WAITING:
            r._dequeue(t)
        t.state = PARKED
        t.pool = None

    def move(self, t: Ticket, queue: QueueState, step: int) -> None:
        r = self._r
        r._dequeue(t)
        r._move_to(t, queue, step)
        self.enqueue(t)

    def relax(self, t: Ticket, step: int) -> None:
        r = self._r
        r._dequeue(t)
        t.step = step
        self.enqueue(t)

    def try_start(self, t: Ticket) -> bool:
        r = self._r
        r._set_pool(t)
        r._enqueue(t)
        r._seek_agent(t)
        if t.state == WAITING:
            self.park(t)
            return False
        return True

    def release(self, t: Ticket) -> None:
        r = self._r
        agent = t.agent
        assert agent is not None
        if t.state == OFFERED:
            del agent.offers[t.id]
            r._n_offered -= 1
            r._spent_room -= 2  # its offer's entry is spent
            if t.also is not None:
                r._drop_others(t, undo_heavy=True)
        else:
            del agent.work[t.id]
            r._n_assigned -= 1
        r._undo_heavy(t, agent)
        r._release(agent, t)
        t.agent = None
        t.state = PARKED
        t.pool = None

    def end(self, t: Ticket, event: Event) -> None:
        self._r._end(t, event)

    def emit(self, event: Event) -> None:
        self._r._events.append(event)

    def schedule(self, when: float, target: Any, purpose: int) -> None:
        self._r._at(when, K_BP, target, purpose)

    def policy_timers(self) -> list[PolicyTimer]:
        return [
            (at, seq, obj, arg)
            for at, seq, kind, obj, arg in self._r._deadline_entries()
            if kind == K_BP
        ]

    def restore_policy_timer(self, timer: PolicyTimer) -> None:
        at, seq, target, purpose = timer
        self._r._push_entry(at, seq, K_BP, target, purpose)

    def match(self) -> None:
        self._r._match()

    def set_surge(self, on: bool) -> None:
        r = self._r
        r._surge = on
        r._staff_ver += 1  # overtime moves shift ends
        if on and r._guard.suspended("continuous_work", on):
            r._breaks.clear_deferred()  # no break is due in this surge
            if r._drain_s > 0.0:
                r._end_drains()  # nor brought forward: draining agents take work again
        for agent in r._agents.values():
            r._set_caps(agent)
            unlist(agent, r._vers, r._table)
            if agent.state == READY:
                r._free(agent)
            r._schedule_agent(agent, r._agent_next_time(agent))
        if r._breaks.enabled:  # overtime may move shift ends: who is leaving changes
            for agent in list(r._agents.values()):
                r._count_break(agent)
            r._ask_early_all()  # continuous work may be suspended, or no longer


def _at_seq(e: tuple[float, int, int, Any, int]) -> tuple[float, int]:
    return (e[0], e[1])


def _by_ref(kind: int) -> bool:
    """Whether a deadline entry of ``kind`` names an object (a ticket, a policy timer's
    target), which the compiled build keeps beside its heap (``Router._deadline_refs``):
    every kind but an offer's expiry (an inquiry's id) and an agent timer (a slot)."""
    return kind != K_OFFER and kind != K_AGENT


def _incarnation(agent: Agent) -> int:
    return agent.incarnation


def _size(c: Any) -> int:
    return len(c)


def _rank_of(a: Agent) -> int:
    return a.rank


def _seq_of(a: Agent) -> int:
    return a.seq


def _urgency(t: Ticket) -> tuple[float, int]:
    return (t.aged, t.seq)


def _by_urgency(tickets: list[Ticket]) -> None:
    """Sort ``tickets`` by ``_urgency``, in place, by insertion: ``tickets.sort(key=_urgency)``
    for the compiled build's short lists (``_match``'s pending arrivals; ``_BY_INSERTION``),
    where ``list.sort`` calls ``_urgency`` generically and compares a tuple per ticket. The
    order is the same: ``seq`` is unique, so ``(aged, seq)`` orders any list totally (an
    aged key is finite). Arrivals in time order are already in order: one compare each."""
    for j in range(1, len(tickets)):
        t = tickets[j]
        aged = t.aged
        seq = t.seq
        i = j
        while i > 0:
            before = tickets[i - 1]
            if before.aged < aged or (before.aged == aged and before.seq < seq):
                break
            tickets[i] = before
            i -= 1
        tickets[i] = t


def _state_name(t: Ticket) -> str:
    return TICKET_STATE_NAMES[t.state]
