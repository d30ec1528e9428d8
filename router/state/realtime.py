"""The core's real-time statistics: every figure ``statistics()`` reads, kept up to date.

Theory of operation
-------------------
``Router.statistics()`` costs O(queues + agents changed since the last call),
never a scan of the inquiries or of every agent. Each kind of figure gets
there its own way:

* **Outcome counts.** The core (``router/core.py``) counts each fact once,
  where it happens, into the open bucket of the queue's sliding windows
  (``QueueTally.windows``, ``router/state/windows.py``): *offered* at arrival
  under the queue the inquiry arrived at; *answered* (with its wait, and
  whether it was within the queue's ``answer_target_s``) when an agent takes
  it; *abandoned* (patience, withdrawn, a callback never reached), *rejected*
  and *deflected* at the end, under the queue it ended in; *handled* (with its
  handle time) at completion. A callback whose call reached nobody takes its
  answer back from the bucket it was counted in. O(1) each.
* **Longest wait.** New arrivals come in time order, so each queue appends
  them to a list (``QueueState.by_arrival``: one pointer per inquiry, read from
  ``QueueState.arrival_head``, past the stale heads: a deque's ``popleft`` and
  ``[0]`` would be generic calls compiled); every
  other entry into the line (requeued after a decline, a relaxation step, an
  overflow, a callback's retry, an arrival stamped earlier than the last) is
  pushed on a small lazy heap by arrival (``QueueState.late``). The longest
  wait is the older of the two live heads. Entries whose inquiry no longer
  waits in that queue are dropped when they reach the head at a read, or by
  compaction when a structure grows past twice the queue's waiting count
  (``router/state/lazyheap.py``), so the cost stays O(1) amortised per entry.
* **Agents.** Whether an agent is *eligible* for a queue (its skills,
  tenants, queue list and channels fit the queue's base requirement, and a
  ``match`` that reads only agent attributes lets it in; off shift it is
  eligible nowhere) changes only at login, logout, reconfigure, a change of
  its attributes (``Router.set_attributes``) and when its schedule moves to
  another shift or off shift (``router/state/schedule.py``: the shift names
  its tenants and queues):
  :meth:`Realtime.add_agent`, :meth:`Realtime.remove_agent` and
  :meth:`Realtime.recount_agent` count it then, O(queues). Whether it is
  *available* there (ready, with room for one more inquiry of the queue's
  channel, capacity units permitting (or an interruption its channel's rule
  allows: router/state/capacity.py), and not kept off the queue now by a
  cooldown or a pause after heavy work, by the router's own rule
  ``Router._may_take``, :attr:`Realtime.may_take`) and its place in the agents-by-state
  partition change with every offer and release: the core only notes the
  agent in :attr:`Realtime.changed` (one dict store on the hot path, skipped while
  the agent is already noted: ``AgentTally.noted``) and
  :meth:`Realtime.settle` re-counts the noted agents at the next read,
  O(changed agents x their queues). (Whether it has room at all, for
  ``agents_with_room``, the core counts itself as it goes: ``Agent.roomy``.)
* **Per agent** (``AgentTally``): offers, handled and handle time, declines,
  expiries and the capacity-time of holds already released are counted where
  they happen; open holds are added when read (O(load)).

A reset (``Router.reset_statistics``) starts the since-reset figures of every
queue and agent over: O(queues + agents + held inquiries), once. Eligibility,
availability, the partition and the arrival heaps are derived state: a restore
or a reconfigure recounts them (:meth:`Realtime.recount`); the windows and the
agents' figures are in the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from heapq import heappop
from typing import Final

from router.config import Channel, RouterConfig
from router.state.capacity import Interrupts
from router.state.estimate import WaitEstimator
from router.state.records import (
    ASSIGNED,
    BREAK,
    READY,
    TAKES_ANY,
    TAKES_LIGHT,
    TAKES_NONE,
    WAITING,
    Agent,
    QueueState,
    Requirement,
    Ticket,
    serves,
)
from router.state.stat_records import AgentTallyRecord
from router.state.tallies import AgentTally, QueueTally, capacity_shares, shares_by_number
from router.stats import AGENT_STATES, AgentStatistics, QueueStatistics

__all__ = [
    "AWAY",
    "BUSY",
    "IDLE",
    "ON_BREAK",
    "WRAP_UP",
    "Realtime",
    "compact_arrivals",
    "fits",
    "index_arrivals",
    "longest_wait",
    "partition",
    "tally_record",
]

# indexes into AGENT_STATES
IDLE, BUSY, WRAP_UP, ON_BREAK, AWAY = range(5)

_INF = float("inf")

#: The most distinct ``AgentTally.shares`` dicts a router keeps for sharing
#: (``Realtime.shares``; agents' specs are open-ended, so the table starts again when full)
MAX_SHARED_SHARES: Final = 4096


def _takes_any(agent: Agent) -> int:
    """No guardrail (a Realtime not yet joined to its router)."""
    return TAKES_ANY


def fits(agent: Agent, q: QueueState, tenant: str | None, requires: Requirement) -> bool:
    """Whether skills, tenant, queue membership and channel let ``agent`` serve ``q``
    under ``requires`` now: with its present shift's tenants and queues; off shift it
    serves nothing (router/state/schedule.py)."""
    if agent.off_shift:
        return False
    return serves(agent, agent.tenants, agent.queues, q, tenant, requires)


def _matched(agent: Agent, q: QueueState) -> bool:
    """Whether the queue's ``match`` lets ``agent`` in: decided here when it reads only
    the agent's attributes; one that reads the inquiry's too is decided per inquiry
    (router/config/targeting.py) and does not narrow the queue's eligible agents."""
    target = q.target
    return target is None or q.binds or target.admits(agent.spec.attributes, ())


def partition(agent: Agent) -> int:
    """The agent's index in :data:`~router.stats.AGENT_STATES`."""
    if agent.offers:
        return BUSY
    if agent.work:
        for t in agent.work.values():
            if t.state == ASSIGNED:
                return BUSY
        return WRAP_UP
    if agent.state == READY:
        return IDLE
    return ON_BREAK if agent.state == BREAK else AWAY


def has_room(agent: Agent) -> bool:
    """Ready, with room for one more inquiry on some channel."""
    if agent.state != READY:
        return False
    loadn = agent.loadn  # by channel number (router/state/loads.py), as _release's inline
    for cn, cap in enumerate(agent.capn):  # noqa: SIM110 (0 where it has no cap: never room)
        if loadn[cn] < cap:
            return True
    return False


def longest_wait(q: QueueState, now: float) -> float:
    """How long the longest-waiting inquiry of ``q`` has waited (0 when none waits).

    Drops the entries at the heads of ``q.by_arrival`` and ``q.late`` whose inquiry
    no longer waits there (each is dropped once).
    """
    if not q.n_waiting:
        return 0.0
    oldest = _INF
    line = q.by_arrival
    i = q.arrival_head
    n = len(line)
    while i < n:
        t = line[i]
        if t.state == WAITING and t.terms.queue is q:
            oldest = t.arrival
            break
        i += 1  # passed, never read again (as if dropped: compact_arrivals drops it)
    q.arrival_head = i
    late = q.late
    while late:
        e = late[0]
        t = e[3]
        if t.ver == e[2] and t.state == WAITING:
            if e[0] < oldest:
                oldest = e[0]
            break
        heappop(late)
    return max(0.0, now - oldest) if oldest < _INF else 0.0


def compact_arrivals(q: QueueState) -> None:
    """Drop the entries of ``q.by_arrival`` whose inquiry no longer waits in ``q``: first
    from the head (served first, in the common case, and never looked at again: passed,
    and cut off once they outnumber the rest), then, if the line is still long, from
    everywhere."""
    line = q.by_arrival
    i = q.arrival_head
    n = len(line)
    while i < n:
        t = line[i]
        if t.state == WAITING and t.terms.queue is q:
            break
        i += 1
    if n - i > 2 * q.n_waiting + 64:
        q.by_arrival = [t for t in line[i:] if t.state == WAITING and t.terms.queue is q]
        i = 0
    elif i > n - i:  # the passed heads outnumber the rest: cut off (O(1) amortised each)
        del line[:i]
        i = 0
    q.arrival_head = i


def index_arrivals(queues: Iterable[QueueState], waiting: Iterable[Ticket]) -> None:
    """Rebuild every queue's arrival index from its waiting inquiries (restore, reconfigure)."""
    lines: dict[str, list[Ticket]] = {}
    for t in waiting:
        lines.setdefault(t.terms.queue.name, []).append(t)
    for q in queues:
        line = sorted(lines.get(q.name, ()), key=_arrival_order)
        q.by_arrival = line
        q.arrival_head = 0
        q.newest = line[-1].arrival if line else -_INF
        q.late = []


def _arrival_order(t: Ticket) -> tuple[float, int]:
    return (t.arrival, t.seq)


def tally_record(tl: AgentTally) -> AgentTallyRecord:
    return AgentTallyRecord(
        since=tl.since,
        offers=tl.offers,
        handled=tl.handled,
        handle_s=tl.handle_s,
        declined=tl.declined,
        expired=tl.expired,
        busy_s=tl.busy_s,
        staffed_s=tl.staffed_s,
        on_from=tl.on_from,
    )


def restore_tally(rec: AgentTallyRecord, tl: AgentTally) -> None:
    tl.since = rec.since
    tl.offers = rec.offers
    tl.handled = rec.handled
    tl.handle_s = rec.handle_s
    tl.declined = rec.declined
    tl.expired = rec.expired
    tl.busy_s = rec.busy_s
    tl.staffed_s = rec.staffed_s
    tl.on_from = rec.on_from if rec.on_from is not None else rec.since


def _held_busy(agent: Agent, now: float) -> float:
    """Capacity-time the agent's open holds (offers, work, wrap-up) have held until ``now``."""
    shares = agent.tally.shares
    busy = 0.0
    for held in (agent.offers, agent.work):
        for t in held.values():
            busy += shares.get(t.terms.queue.channel, 0.0) * (now - t.wait_end)
    return busy


class Realtime:
    """The counts over agents and the bookkeeping of :meth:`settle`; one per Router."""

    __slots__ = (
        "by_state",
        "changed",
        "eligs",
        "interrupts",
        "may_take",
        "reset_at",
        "reset_ties",
        "sharens",
        "shares",
        "unit_costs",
    )

    def __init__(self, now: float) -> None:
        self.by_state = [0] * len(AGENT_STATES)
        #: agents whose availability or state may have changed since the last settle
        self.changed: dict[str, Agent] = {}
        #: the agents' ``AgentTally.elig``, one tuple per distinct value, shared (the agents
        #: of a profile share theirs: one tracked object less per agent for the collector)
        self.eligs: dict[tuple[QueueTally, ...], tuple[QueueTally, ...]] = {}
        self.unit_costs: dict[str, int] = {}
        #: the agents' ``AgentTally.shares``, one dict per distinct (capacity, units), shared
        #: and never changed in place (:meth:`shares_for`): the agents of a profile read
        #: one dict where each read its own, which at 10,000 agents is a trip to memory on
        #: every release (BENCHMARKS.md, lc37); cleared when the channels' costs change
        self.shares: dict[tuple[tuple[tuple[str, int], ...], int | None], dict[str, float]] = {}
        #: the same shares by channel number (``AgentTally.sharen``), one list per key of
        #: :attr:`shares`, made and forgotten with its dict
        self.sharens: dict[tuple[tuple[tuple[str, int], ...], int | None], list[float]] = {}
        #: interruptible capacity: a channel that may take an agent past its units
        self.interrupts = Interrupts({})
        self.reset_at = now
        #: inquiries answered at the very instant of the last reset, before it
        self.reset_ties: set[str] = set()
        #: what the wellbeing guardrails let a ready agent take at the router's time now:
        #: ``TAKES_ANY``, ``TAKES_LIGHT`` (no heavy queue) or ``TAKES_NONE`` (the router's
        #: own rule, ``Router._may_take``: a cooldown after long heavy work, the pause after
        #: ``max_consecutive_heavy`` heavy inquiries, each unless a surge suspends it)
        self.may_take: Callable[[Agent], int] = _takes_any

    def configure(
        self, cfg: RouterConfig, channels: dict[str, Channel], queues: Iterable[QueueState]
    ) -> None:
        """Take the windows and channel costs of ``cfg`` (at start and after a reconfigure).

        Windows of a new shape start empty; the since-reset figures carry on.
        """
        st = cfg.statistics
        windows = tuple(float(w) for w in st.windows)
        unit_costs = {name: ch.unit_cost for name, ch in channels.items()}
        if unit_costs != self.unit_costs:
            self.shares = {}  # (agents keep the dicts they have until recounted, as before)
            self.sharens = {}
        self.unit_costs = unit_costs
        self.interrupts = Interrupts(channels)
        for q in queues:
            tl = q.tally
            tl.channel = q.channel
            tl.heavy = q.heavy
            tl.unit_cost = self.unit_costs.get(q.channel, 0)
            tl.ewt_key = None  # priority seconds and the estimator's priors may change
            if not tl.windows.same_shape(windows, st.bucket_s):
                tl.windows = tl.windows.reshaped(windows, st.bucket_s)

    # ------------------------------------------------------------------ agents

    def add_agent(self, agent: Agent, queues: Iterable[QueueState]) -> None:
        """Count a logged-in agent: its occupancy shares, the queues it is eligible for,
        where it is available and its state (login, recount)."""
        tl = agent.tally
        tl.shares = self.shares_for(agent.spec.capacity, agent.units)
        tl.sharen = self.sharens[(tuple(agent.spec.capacity.items()), agent.units)]
        elig = tuple(
            q.tally
            for q in queues
            if not q.removed and fits(agent, q, q.tenant, q.requires) and _matched(agent, q)
        )
        tl.elig = self.eligs.setdefault(elig, elig)
        for qt in tl.elig:
            qt.eligible += 1
        tl.counted = True
        tl.part = -1
        tl.avail = []
        self._place(agent)
        self.changed[agent.id] = agent  # placed again at the next read, at its time

    def shares_for(self, capacity: dict[str, int], units: int | None) -> dict[str, float]:
        """``capacity_shares`` of these values under the channels' costs now: the one dict
        of :attr:`shares` for them (made on first use; the table holds at most
        :data:`MAX_SHARED_SHARES`, then starts again)."""
        key = (tuple(capacity.items()), units)
        shares = self.shares.get(key)
        if shares is None:
            if len(self.shares) >= MAX_SHARED_SHARES:
                self.shares = {}  # open-ended specs: forget the table rather than grow it
                self.sharens = {}
            shares = self.shares[key] = capacity_shares(dict(capacity), units, self.unit_costs)
            self.sharens[key] = shares_by_number(shares)
        return shares

    def remove_agent(self, agent: Agent) -> None:
        """The agent left: take it out of every count."""
        tl = agent.tally
        if not tl.counted:
            return
        for qt in tl.elig:
            qt.eligible -= 1
        for qt in tl.avail:
            qt.available -= 1
        if tl.part >= 0:
            self.by_state[tl.part] -= 1
        tl.counted = False
        tl.part = -1
        tl.elig = ()
        tl.avail = []
        if self.changed.get(agent.id) is agent:
            del self.changed[agent.id]
        tl.noted = False

    def recount_agent(self, agent: Agent, queues: Iterable[QueueState]) -> None:
        """The agent's tenants, queues or shift changed: count where it is eligible again
        (a logged-out agent stays uncounted)."""
        if agent.tally.counted:
            self.remove_agent(agent)
            self.add_agent(agent, queues)

    def respec_agent(self, agent: Agent, queues: Iterable[QueueState], now: float) -> None:
        """The agent's spec changed (``Router.update_agent``): eligibility and capacity
        shares anew; the busy time its open holds counted so far stays as it was (they
        count at the new shares from ``now`` on)."""
        before = _held_busy(agent, now)
        self.recount_agent(agent, queues)
        agent.tally.busy_s += before - _held_busy(agent, now)

    def set_off_shift(self, agent: Agent, now: float, off: bool) -> None:
        """The agent went off shift (``off``) or came back on: off-shift time is not
        staffed (the core calls this where it says so in an event, as the monitor sees it)."""
        tl = agent.tally
        if off:
            if tl.on_from != _INF:
                tl.staffed_s += max(0.0, now - tl.on_from)
                tl.on_from = _INF
        elif tl.on_from == _INF:
            tl.on_from = now

    def _place(self, agent: Agent) -> None:
        """Move the agent's counts to where it is now."""
        tl = agent.tally
        part = partition(agent)
        if part != tl.part:
            if tl.part >= 0:
                self.by_state[tl.part] -= 1
            self.by_state[part] += 1
            tl.part = part
        avail = []
        if agent.roomy:  # ready with room on some channel, kept by the core (Router._room)
            load = agent.load
            caps = agent.caps
            spare = agent.units - agent.units_used if agent.units is not None else None
            # the guardrails may keep it off every queue, or off heavy ones, now
            takes = self.may_take(agent)
            for qt in tl.elig if takes != TAKES_NONE else ():
                if takes == TAKES_LIGHT and qt.heavy:
                    continue
                ch = qt.channel
                if load.get(ch, 0) < caps.get(ch, 0) and (
                    spare is None
                    or qt.unit_cost <= spare
                    or self.interrupts.allows(agent, ch, qt.unit_cost)
                ):
                    avail.append(qt)
        old = tl.avail
        if avail != old:
            for qt in old:
                qt.available -= 1
            for qt in avail:
                qt.available += 1
            tl.avail = avail

    def settle(self) -> None:
        """Re-count the agents noted as changed since the last call, at the router's time
        now (its guardrails, :attr:`may_take`, read the router's time and surge mode)."""
        changed = self.changed
        if changed:
            for agent in changed.values():
                tl = agent.tally
                tl.noted = False  # (AgentTally.noted: it may be noted again)
                if tl.counted:
                    self._place(agent)
            changed.clear()

    def recount(self, agents: Iterable[Agent], queues: list[QueueState]) -> None:
        """Count every agent from scratch (reconfigure, restore): O(agents x queues)."""
        for q in queues:
            q.tally.eligible = 0
            q.tally.available = 0
        self.by_state = [0] * len(AGENT_STATES)
        for agent in self.changed.values():
            agent.tally.noted = False
        self.changed.clear()
        self.eligs.clear()  # (a removed queue's tally is in none any more)
        for a in agents:
            a.tally.counted = False
            self.add_agent(a, queues)

    def agents_by_state(self) -> dict[str, int]:
        return dict(zip(AGENT_STATES, self.by_state, strict=True))

    # ------------------------------------------------------------------ reading

    def queue_statistics(
        self, q: QueueState, now: float, est: WaitEstimator, priority_seconds: float
    ) -> QueueStatistics:
        """The figures of one queue (call :meth:`settle` first)."""
        tl = q.tally
        name = q.name
        counts = q.waiting_by_priority
        by_p: dict[int, int] = {}
        if len(counts) == 1:  # the common case: one priority per queue
            for p, c in counts.items():
                if c.n:
                    by_p[p] = c.n
        else:
            for p in sorted(counts, reverse=True):
                n = counts[p].n
                if n:
                    by_p[p] = n
        # expected waits are pure functions of these: computed again only when one moved
        key = (est.version(name), tl.available, tl.eligible, q.priority, *by_p.items())
        if key != tl.ewt_key:
            ewt: dict[int, float] = {}
            for p in sorted({q.priority, *by_p}, reverse=True):
                position = 1 + sum(n for pp, n in by_p.items() if pp >= p)
                if not tl.eligible:
                    ewt[p] = _INF
                elif tl.available >= position:
                    ewt[p] = 0.0
                else:
                    ewt[p] = est.expected_wait(name, position - tl.available, p, priority_seconds)
            tl.ewt = (est.expected_wait(name, q.n_waiting), ewt)
            tl.ewt_key = key
        expected, ewt = tl.ewt
        windows = tl.windows.query(now)  # (refreshes windows.total)
        return QueueStatistics(
            waiting=q.n_waiting,
            expected_wait_s=expected,
            longest_wait_s=longest_wait(q, now),
            waiting_by_priority=by_p,
            expected_wait_by_priority_s=dict(ewt),
            eligible_agents=tl.eligible,
            available_agents=tl.available,
            windows=windows,
            totals=tl.windows.total,
            wait_histogram=tl.histogram(),
            wait_sum_s=tl.windows.total_wait_s,
        )

    def agent_statistics(
        self, agent: Agent, now: float, draining: bool = False, drain_place: bool = False
    ) -> AgentStatistics:
        """One agent's figures at ``now``: O(channels + inquiries it holds)."""
        tl = agent.tally
        busy = tl.busy_s + _held_busy(agent, now)
        staffed = tl.staffed_s + (now - tl.on_from if now > tl.on_from else 0.0)
        part = partition(agent)
        return AgentStatistics(
            id=agent.id,
            state=AGENT_STATES[part],
            reason=agent.state_reason,
            load=dict(agent.load),
            caps=dict(agent.caps),
            since=tl.since,
            staffed_s=staffed,
            busy_s=busy,
            occupancy=busy / staffed if staffed > 0 else None,
            offers=tl.offers,
            handled=tl.handled,
            aht_s=tl.handle_s / tl.handled if tl.handled else None,
            declined=tl.declined,
            expired=tl.expired,
            draining=draining,
            drain_place=drain_place,
        )

    # ------------------------------------------------------------------ reset

    def answered_before_reset(self, t: Ticket) -> bool:
        """Whether the answer of ``t`` (assigned) was counted before the last reset."""
        at = t.assigned_at
        return at < self.reset_at or (at == self.reset_at and t.id in self.reset_ties)

    def answer_taken_back(self, t: Ticket) -> None:
        """The answer of ``t`` no longer counts: a next one at the reset instant is after it."""
        self.reset_ties.discard(t.id)

    def reset(self, now: float, queues: Iterable[QueueState], agents: Iterable[Agent]) -> None:
        """Start the since-reset figures of every queue and agent over at ``now``."""
        self.reset_at = now
        self.reset_ties = set()
        for q in queues:
            q.tally.windows.reset(now)
        for a in agents:
            for t in a.work.values():
                if t.state == ASSIGNED and t.assigned_at == now:
                    self.reset_ties.add(t.id)
            tl = a.tally
            tl.since = now
            tl.offers = tl.handled = tl.declined = tl.expired = 0
            tl.handle_s = 0.0
            tl.busy_s = 0.0 - _held_busy(a, now)  # holds open now count from ``now`` on
            tl.staffed_s = 0.0
            if tl.on_from != _INF:
                tl.on_from = now
