"""The naive peers: the same routing work, done by scanning and scoring agents.

Theory of operation
-------------------
``NaiveRouter`` scans every agent; ``IndexedNaiveRouter`` (below) is what a
careful engineer writes first. ``NaiveRouter`` has the core's API for the
lifecycle the benchmark drives (login, submit, tick, accept, decline,
complete), the same offer mode with offer timeouts that requeue at the
original place and not back to the agent that declined or let it lapse until
every agent that may serve it has (the round, ``decline_memory = "round"``;
``"forever"`` keeps refusals for good), the same eligibility rules (tenant, queue list,
channel cap, skill levels), the same weighted score (proficiency, idle time,
load, recent work in a sliding window) and the same events. It differs in one
thing only: to place an inquiry it scans every logged-in agent and scores each
eligible one, and a freed agent scans the head of every queue. Deadlines (offer
expiry, the recent-work window) use one heap, as any reasonable router would.

Written to be fair: hot loops bind locals, agent records use ``__slots__``,
cheap rejections (state, tenant, room) come before skill checks, and the score
is the core's own formula so both routers pick agents by the same rule. Not
supported, because the benchmark does not use them: wellbeing guardrails,
capacity units, relaxation steps, backpressure policies, reconfigure.

``IndexedNaiveRouter`` adds the first index anyone adds: for each queue (and
requirement, for inquiries that bring their own), the list of agents that may
ever serve it (tenant, queue list, channel, skill levels: everything that does
not change while the agent is logged in), with the proficiency term of their
score computed once. Each queue's list is kept at login (a list for an
inquiry's own requirements is built on its first use). An arrival scores only
that list; a freed agent looks only at the heads of the queues it may serve.
Both lists keep login order, so ties break as in the scan-all router and the
decisions stay exactly the core's (``tests/test_bench.py`` replays a seeded run
through all three).
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heappop, heappush
from typing import Any

from router import (
    Admission,
    AgentLoggedIn,
    AgentSpec,
    Assigned,
    Completed,
    DuplicateId,
    Inquiry,
    InvalidState,
    Offered,
    OfferExpired,
    QueueConfig,
    Queued,
    Requeued,
    RouterConfig,
    UnknownId,
)

__all__ = ["IndexedNaiveRouter", "NaiveRouter"]

WAITING, OFFERED, ASSIGNED, DONE = 1, 2, 3, 4
K_OFFER, K_RECENT = 1, 2


class _Agent:
    __slots__ = ("caps", "id", "idle_since", "load", "queues", "recent_sum", "skills", "tenants")

    def __init__(self, spec: AgentSpec, now: float, config: RouterConfig) -> None:
        self.id = spec.id
        self.skills = dict(spec.skills)
        self.tenants = spec.tenants
        self.queues = dict(spec.queues)
        self.caps = {
            ch: min(cap, config.channel(ch).max_concurrency) for ch, cap in spec.capacity.items()
        }
        self.load = dict.fromkeys(self.caps, 0)
        self.idle_since = now
        self.recent_sum = 0.0


class _Ticket:
    __slots__ = (
        "aged",
        "agent",
        "arrival",
        "assigned_at",
        "declined",
        "id",
        "offer_no",
        "q",
        "requires",
        "seq",
        "state",
        "tenant",
        "ver",
    )

    def __init__(self, iq: Inquiry, q: _Queue, now: float, seq: int, aged: float) -> None:
        self.id = iq.id
        self.q = q
        self.tenant = iq.tenant if iq.tenant is not None else q.cfg.tenant
        req = dict(q.cfg.requires)
        for s, lvl in (iq.requires or {}).items():
            req[s] = max(req.get(s, 0), lvl)
        self.requires = tuple(sorted(req.items()))
        self.arrival = now
        self.aged = aged
        self.seq = seq
        self.state = WAITING
        self.agent: _Agent | None = None
        self.declined: set[str] | None = None
        self.offer_no = 0
        self.assigned_at = 0.0
        self.ver = 0  # bumped when the ticket leaves its queue: older heap entries are stale


class _Queue:
    __slots__ = ("cfg", "heap", "n_waiting", "name", "priority", "requires", "seen", "weights")

    def __init__(self, cfg: QueueConfig, config: RouterConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.priority = cfg.priority
        self.weights = cfg.weights or config.routing.weights
        self.heap: list[tuple[float, int, int, _Ticket]] = []
        self.n_waiting = 0
        self.requires = tuple(sorted(cfg.requires.items()))
        self.seen = False  # has had an arrival (the core creates its pools lazily, likewise)


class NaiveRouter:
    """Scan-all-agents routing with the core's lifecycle API (see the module docstring)."""

    def __init__(self, config: RouterConfig, now: float = 0.0) -> None:
        r = config.routing
        self.config = config
        self.now = now
        self.ps = r.priority_seconds
        self.immediate = r.mode == "immediate"
        self.offer_timeout = r.offer_timeout_s
        # (getattr: bench.guard runs the peers on reference routers older than the setting)
        self.rounds = getattr(r, "decline_memory", "forever") == "round"
        self.idle_scale = r.idle_scale_s
        self.window = r.recent_window_s
        self.queues = {q.name: _Queue(q, config) for q in config.queues}
        self.agents: dict[str, _Agent] = {}
        self.tickets: dict[str, _Ticket] = {}
        self.pending: list[_Ticket] = []
        self.freed: dict[str, _Agent] = {}
        self._fresh: set[_Ticket] = set()
        self._unlisted: set[str] = set()
        self.deadlines: list[tuple[float, int, int, Any, float]] = []
        self.events: list[Any] = []
        self.seq = 0
        self.decisions = 0

    # ---------------------------------------------------------------- inputs

    def _advance(self, now: float) -> None:
        dl = self.deadlines
        while dl and dl[0][0] <= now:
            at, _, kind, obj, arg = heappop(dl)
            self.now = at
            if kind == K_RECENT:
                obj.recent_sum -= arg
            elif obj.state == OFFERED and obj.offer_no == arg:
                self._expire(obj)
        self.now = now

    def login(self, spec: AgentSpec, now: float) -> None:
        self._advance(now)
        if spec.id in self.agents:
            raise DuplicateId(f"agent {spec.id!r} is already logged in")
        a = _Agent(spec, now, self.config)
        self.agents[a.id] = a
        self.freed[a.id] = a
        self.events.append(AgentLoggedIn(at=now, version=1, agent_id=a.id))

    def _ticket_for(self, iq: Inquiry, now: float) -> _Ticket:
        if iq.id in self.tickets:
            raise DuplicateId(f"inquiry {iq.id!r} is already in the router")
        q = self.queues.get(iq.queue)
        if q is None:
            raise UnknownId(f"unknown queue {iq.queue!r}")
        self.seq += 1
        q.seen = True
        priority = iq.priority if iq.priority is not None else q.priority
        t = _Ticket(iq, q, now, self.seq, now - priority * self.ps)
        self.tickets[t.id] = t
        return t

    def submit(self, iq: Inquiry, now: float) -> Admission:
        self._advance(now)
        t = self._ticket_for(iq, now)
        q = t.q
        heappush(q.heap, (t.aged, t.seq, t.ver, t))
        q.n_waiting += 1
        self.pending.append(t)
        position = q.n_waiting
        self.events.append(
            Queued(
                at=now,
                version=1,
                inquiry_id=t.id,
                queue=q.name,
                position=position,
                expected_wait_s=0.0,
            )
        )
        return Admission(
            inquiry_id=t.id,
            queue=q.name,
            outcome="admitted",
            expected_wait_s=0.0,
            position=position,
        )

    def accept(self, inquiry_id: str, now: float, agent_id: str | None = None) -> None:
        self._advance(now)
        t = self.tickets.get(inquiry_id)
        if t is None:
            raise UnknownId(f"unknown inquiry {inquiry_id!r}")
        if t.state != OFFERED:
            raise InvalidState(f"inquiry {inquiry_id!r} is not offered")
        self._start(t)

    def decline(self, inquiry_id: str, now: float, agent_id: str | None = None) -> None:
        self._advance(now)
        t = self.tickets.get(inquiry_id)
        if t is None or t.state != OFFERED:
            raise InvalidState(f"inquiry {inquiry_id!r} is not offered")
        self._take_back(t, "declined")

    def complete(self, inquiry_id: str, now: float) -> None:
        self._advance(now)
        t = self.tickets.get(inquiry_id)
        if t is None or t.state != ASSIGNED:
            raise InvalidState(f"inquiry {inquiry_id!r} is not assigned")
        a = t.agent
        assert a is not None
        handle = now - t.assigned_at
        a.recent_sum += handle
        self.seq += 1
        heappush(self.deadlines, (now + self.window, self.seq, K_RECENT, a, handle))
        t.state = DONE
        del self.tickets[t.id]
        self.events.append(
            Completed(
                at=now,
                version=1,
                inquiry_id=t.id,
                agent_id=a.id,
                queue=t.q.name,
                handle_s=handle,
                wrap_up_until=now,
            )
        )
        a.load[t.q.cfg.channel] -= 1
        if not any(a.load.values()):
            a.idle_since = now  # as the core: idle time counts from the end of the last work
        self.freed[a.id] = a

    def tick(self, now: float) -> list[Any]:
        self._advance(now)
        if self.freed:
            freed = list(self.freed.values())
            self.freed = {}
            if len(freed) > 1:
                freed.sort(key=self._best_key)  # as the core: the best-scored pulls first
            if self.pending:
                self._fresh = set(self.pending)
                self._unlisted = {a.id for a in freed}
            for a in freed:
                self._unlisted.discard(a.id)
                self._fill(a)
            self._fresh = set()
        if self.pending:
            pending = self.pending
            self.pending = []
            pending.sort(key=lambda t: (t.aged, t.seq))
            for t in pending:
                if t.state == WAITING:
                    self._place(t)
        events = self.events
        self.events = []
        return events

    # ---------------------------------------------------------------- bench setup

    def park(self, iq: Inquiry, now: float) -> None:
        """Queue ``iq`` without looking for an agent (replays another router's arrival)."""
        self._advance(now)
        t = self._ticket_for(iq, now)
        heappush(t.q.heap, (t.aged, t.seq, t.ver, t))
        t.q.n_waiting += 1

    def assign(self, inquiry_id: str, agent_id: str, now: float) -> None:
        """Put the waiting ``inquiry_id`` into service with ``agent_id``, as an accepted
        offer does (replays another router's decision without making one)."""
        self._advance(now)
        t = self.tickets[inquiry_id]
        a = self.agents[agent_id]
        t.ver += 1  # its queue entry is spent
        t.q.n_waiting -= 1
        t.agent = a
        a.load[t.q.cfg.channel] += 1
        a.idle_since = now
        t.state = ASSIGNED
        t.assigned_at = now

    def settle(self, now: float) -> None:
        """End a replay: what the replayed router's matching passes did is in the log, so
        nothing is left for this one's next pass."""
        self._advance(now)
        self.freed.clear()
        self.pending.clear()
        self.events.clear()

    # ---------------------------------------------------------------- matching

    def _place(self, t: _Ticket) -> None:
        """Scan every agent; give ``t`` to the best-scoring eligible one."""
        q = t.q
        w = q.weights
        wp, wi, wl, wr = w.proficiency, w.idle_time, w.load, w.recent_work
        scale, window = self.idle_scale, self.window
        ch = q.cfg.channel
        tenant = t.tenant
        req = t.requires
        n_req = len(req)
        qname = q.name
        declined = t.declined
        best: _Agent | None = None
        best_key = float("inf")
        unlisted = self._unlisted  # freed agents the core has not re-listed yet
        for a in self.agents.values():
            cap = a.caps.get(ch, 0)
            load = a.load.get(ch, 0)
            if load >= cap:
                continue
            if unlisted and a.id in unlisted:
                continue
            if tenant is not None and tenant not in a.tenants:
                continue
            if a.queues and qname not in a.queues:
                continue
            skills = a.skills
            prof = 0.0
            for s, lvl in req:
                have = skills.get(s, 0)
                if have < lvl:
                    break
                prof += have - 1
            else:
                if declined is not None and a.id in declined:
                    continue
                if n_req:
                    prof = prof / 4.0 / n_req
                # the core's heap key (lower is better), its terms in its order (float
                # addition is not associative): see router/state/scoring.py
                key = wi * a.idle_since / scale + wl * (load / cap)
                if wr:
                    key += wr * a.recent_sum / window
                key -= wp * prof
                if key < best_key:
                    best_key, best = key, a
        if best is not None:
            self._assign(t, best)

    def _key(self, a: _Agent, q: _Queue, requires: tuple[tuple[str, int], ...]) -> float:
        """The core's heap key of ``a`` for ``q`` (lower is better); inf if not eligible now."""
        ch = q.cfg.channel
        cap = a.caps.get(ch, 0)
        load = a.load.get(ch, 0)
        if load >= cap:
            return float("inf")
        tenant = q.cfg.tenant
        if (tenant is not None and tenant not in a.tenants) or (
            a.queues and q.name not in a.queues
        ):
            return float("inf")
        skills = a.skills
        prof = 0.0
        for s, lvl in requires:
            have = skills.get(s, 0)
            if have < lvl:
                return float("inf")
            prof += have - 1
        if requires:
            prof = prof / 4.0 / len(requires)
        w = q.weights
        key = w.idle_time * a.idle_since / self.idle_scale + w.load * (load / cap)
        if w.recent_work:
            key += w.recent_work * a.recent_sum / self.window
        return key - w.proficiency * prof  # (the core's order: Scorer.key)

    def _best_key(self, a: _Agent) -> float:
        """The agent's best key over the queues that have had traffic (the core's order)."""
        return min(
            (self._key(a, q, q.requires) for q in self._queues_of(a) if q.seen),
            default=float("inf"),
        )

    def _eligible(self, a: _Agent, t: _Ticket) -> bool:
        if t.tenant is not None and t.tenant not in a.tenants:
            return False
        if a.queues and t.q.name not in a.queues:
            return False
        if t.declined is not None and a.id in t.declined:
            return False
        skills = a.skills
        return all(skills.get(s, 0) >= lvl for s, lvl in t.requires)

    def _queues_of(self, a: _Agent) -> Iterable[_Queue]:
        """The queues whose heads a freed agent looks at (the scan-all router: every queue)."""
        return self.queues.values()

    def _fill(self, a: _Agent) -> None:
        """A freed agent takes the most urgent head of any queue it may serve, while it has room."""
        now = self.now
        while True:
            best: _Ticket | None = None
            best_urg = 0.0
            for q in self._queues_of(a):
                heap = q.heap
                if not q.n_waiting:
                    if heap:
                        heap.clear()  # only stale entries are left
                    continue
                ch = q.cfg.channel
                if a.load.get(ch, 0) >= a.caps.get(ch, 0):
                    continue
                while heap and heap[0][3].ver != heap[0][2]:
                    heappop(heap)
                if not heap:
                    continue
                head = self._first_eligible(heap, a)
                if head is None:
                    continue
                urg = (now - head.aged) * a.queues.get(q.name, 1.0)
                if best is None or urg > best_urg or (urg == best_urg and head.seq < best.seq):
                    best, best_urg = head, urg
            if best is None:
                return
            if best in self._fresh:  # as the core: a new inquiry picks among the free agents
                self._fresh.discard(best)
                self._place(best)
                if best.state != WAITING:
                    continue
            self._assign(best, a)

    def _first_eligible(
        self, heap: list[tuple[float, int, int, _Ticket]], a: _Agent
    ) -> _Ticket | None:
        head = heap[0][3]
        if self._eligible(a, head):
            return head
        for _, _, ver, t in sorted(heap)[:256]:
            if t.ver == ver and self._eligible(a, t):
                return t
        return None

    def _assign(self, t: _Ticket, a: _Agent) -> None:
        now = self.now
        t.state = OFFERED
        t.ver += 1
        t.q.n_waiting -= 1
        t.agent = a
        a.load[t.q.cfg.channel] += 1
        a.idle_since = now
        self.decisions += 1
        if self.immediate:
            self._start(t)
            return
        t.offer_no += 1
        self.seq += 1
        expires = now + self.offer_timeout
        heappush(self.deadlines, (expires, self.seq, K_OFFER, t, t.offer_no))
        self.events.append(
            Offered(
                at=now,
                version=1,
                inquiry_id=t.id,
                agent_id=a.id,
                queue=t.q.name,
                expires_at=expires,
            )
        )

    def _start(self, t: _Ticket) -> None:
        a = t.agent
        assert a is not None
        t.state = ASSIGNED
        t.assigned_at = self.now
        self.events.append(
            Assigned(
                at=self.now,
                version=1,
                inquiry_id=t.id,
                agent_id=a.id,
                queue=t.q.name,
                wait_s=self.now - t.arrival,
            )
        )

    def _expire(self, t: _Ticket) -> None:
        a = t.agent
        assert a is not None
        self.events.append(OfferExpired(at=self.now, version=1, inquiry_id=t.id, agent_id=a.id))
        self._take_back(t, "offer_expired")

    def _take_back(self, t: _Ticket, reason: str) -> None:
        a = t.agent
        assert a is not None
        a.load[t.q.cfg.channel] -= 1
        if not any(a.load.values()):
            a.idle_since = self.now
        self.freed[a.id] = a
        if t.declined is None:
            t.declined = set()
        t.declined.add(a.id)
        t.agent = None
        t.state = WAITING
        heappush(t.q.heap, (t.aged, t.seq, t.ver, t))  # the original place: same key and seq
        t.q.n_waiting += 1
        self.pending.append(t)
        self.events.append(
            Requeued(at=self.now, version=1, inquiry_id=t.id, queue=t.q.name, reason=reason)
        )
        if self.rounds and len(t.declined) >= self._round_size(t):
            # every agent that may serve it refused it: offer it to all of them again
            # imported here: bench.guard runs these peers against reference routers older
            # than the event (its workload has no declines, so never reaches this line)
            from router import DeclinesForgotten

            self.events.append(
                DeclinesForgotten(
                    at=self.now, version=1, inquiry_id=t.id, queue=t.q.name, agents=len(t.declined)
                )
            )
            t.declined = None

    def _round_size(self, t: _Ticket) -> int:
        """How many agents may serve ``t`` (its round: every one that may be offered it; an
        agent stays logged in, so those that refused it are among them)."""
        q = t.q
        return sum(
            1
            for a in self.agents.values()
            if _may_serve(a, q.name, q.cfg.channel, t.requires, t.tenant)
        )


Requires = tuple[tuple[str, int], ...]
_Candidate = tuple[_Agent, float, dict[str, int], int]


def _may_serve(a: _Agent, queue: str, channel: str, requires: Requires, tenant: str | None) -> bool:
    """Static eligibility: what cannot change while ``a`` is logged in."""
    if not a.caps.get(channel, 0):
        return False
    if tenant is not None and tenant not in a.tenants:
        return False
    if a.queues and queue not in a.queues:
        return False
    skills = a.skills
    return all(skills.get(s, 0) >= lvl for s, lvl in requires)


def _proficiency(a: _Agent, requires: Requires) -> float:
    """The proficiency term of the score, computed as :meth:`NaiveRouter._place` does."""
    prof = 0.0
    for s, _lvl in requires:
        prof += a.skills[s] - 1
    if requires:
        prof = prof / 4.0 / len(requires)
    return prof


class IndexedNaiveRouter(NaiveRouter):
    """Naive routing over per-queue lists of statically eligible agents (module docstring)."""

    def __init__(self, config: RouterConfig, now: float = 0.0) -> None:
        super().__init__(config, now)
        #: (queue, requirements, tenant) -> [(agent, proficiency term, its load by channel,
        #: its cap on the queue's channel)], in login order. Every queue's own list exists
        #: from the start and is kept at login; only an inquiry that brings its own
        #: requirements or tenant has its list built on first use (``_candidates``).
        self.candidates: dict[tuple[str, Requires, str | None], list[_Candidate]] = {
            (q.name, q.requires, q.cfg.tenant): [] for q in self.queues.values()
        }
        #: agent id -> the queues it may serve (their own requirements and tenant)
        self.served: dict[str, list[_Queue]] = {}

    def login(self, spec: AgentSpec, now: float) -> None:
        super().login(spec, now)
        a = self.agents[spec.id]
        self.served[a.id] = [
            q
            for q in self.queues.values()
            if _may_serve(a, q.name, q.cfg.channel, q.requires, None)
        ]
        for (name, requires, tenant), agents in self.candidates.items():
            ch = self.queues[name].cfg.channel
            if _may_serve(a, name, ch, requires, tenant):
                agents.append((a, _proficiency(a, requires), a.load, a.caps[ch]))

    def _queues_of(self, a: _Agent) -> Iterable[_Queue]:
        return self.served[a.id]

    def _candidates(self, t: _Ticket) -> list[_Candidate]:
        key = (t.q.name, t.requires, t.tenant)
        found = self.candidates.get(key)
        if found is None:
            ch = t.q.cfg.channel
            found = self.candidates[key] = [
                (a, _proficiency(a, t.requires), a.load, a.caps[ch])
                for a in self.agents.values()
                if _may_serve(a, t.q.name, ch, t.requires, t.tenant)
            ]
        return found

    def _round_size(self, t: _Ticket) -> int:
        return len(self._candidates(t))

    def _place(self, t: _Ticket) -> None:
        """Score only the agents that may serve ``t``; give it to the best one with room."""
        q = t.q
        w = q.weights
        wp, wi, wl, wr = w.proficiency, w.idle_time, w.load, w.recent_work
        scale, window = self.idle_scale, self.window
        ch = q.cfg.channel
        declined = t.declined
        best: _Agent | None = None
        best_key = float("inf")
        unlisted = self._unlisted  # freed agents the core has not re-listed yet
        for a, prof, loads, cap in self._candidates(t):
            load = loads[ch]
            if load >= cap:
                continue
            if declined is not None and a.id in declined:
                continue
            if unlisted and a.id in unlisted:
                continue
            key = wi * a.idle_since / scale + wl * (load / cap)  # (the core's order)
            if wr:
                key += wr * a.recent_sum / window
            key -= wp * prof
            if key < best_key:
                best_key, best = key, a
        if best is not None:
            self._assign(t, best)
