"""A brute-force recount of ``Router.statistics()``'s real-time figures, for the tests.

:func:`recount_now` scans the router's inquiries and agents for what is true now
(waiting, longest wait, waiting by priority, eligible and available agents,
agents by state, agents with room), written independently of
``router/state/realtime.py``. :class:`EventLedger` recounts the windowed figures
from the events alone, by the definitions of docs/metrics.md (offered under the
arrival queue, outcomes under the queue they ended in, a callback whose call
reached nobody taken back from its answer's bucket), keeping every fact with its
time so a window is a plain filter over the list. :func:`check_realtime`
compares both with ``statistics()`` and fails naming the figure.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from router import Router
from router.config import DEFAULT_CHANNELS
from router.config.targeting import parse_target
from router.state.records import ASSIGNED, BREAK, OFFERED, READY, WAITING, WRAPUP
from router.stats import WindowFigures, window_label

_OUTCOME_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "rejected",
    "deflected",
    "expired",
    "handled",
)


def _fits(agent: Any, q: Any) -> bool:
    """Eligibility with the tenants and queues of the shift in force (off shift: none)."""
    spec = agent.spec
    tenants, queues = set(spec.tenants), spec.queues
    if spec.shifts:
        if agent.off_shift:
            return False
        shift = spec.shifts[agent.shift_no]
        if shift.tenants is not None:
            tenants = set(shift.tenants)
        if shift.queues is not None:
            queues = shift.queues
    if queues and q.name not in queues:
        return False
    if q.tenant is not None and q.tenant not in tenants:
        return False
    if spec.capacity.get(q.channel, 0) <= 0:
        return False
    if not all(spec.skills.get(s, 0) >= lvl for s, lvl in q.cfg.requires.items()):
        return False
    # a queue's match that reads only the agent's attributes decides; else it is per inquiry
    target = parse_target(q.cfg.match) if q.cfg.match is not None else None
    return target is None or bool(target.inquiry_names) or target.matches(spec.attributes, {})


def _kept_off(r: Router, agent: Any, heavy: bool) -> bool:
    """A guardrail keeps the agent off this queue now (unless a surge suspends it): a
    cooldown after long heavy work (off every queue, or off heavy ones: ``cooldown_from``)
    or, for a heavy queue, the pause after ``max_consecutive_heavy`` heavy inquiries."""
    wb = r.config.wellbeing
    surge = r._surge
    k = wb.max_consecutive_heavy
    paused = heavy and k is not None and agent.heavy_streak >= k
    if paused and not (surge and "heavy" in wb.suspend_in_surge):
        return True
    if agent.cooldown_until <= r.now or (surge and "cooldown" in wb.suspend_in_surge):
        return False
    return heavy or wb.cooldown_from != "heavy"


def _interrupts(channels: dict[str, Any], agent: Any, q: Any, cost: int) -> bool:
    """An inquiry of ``q`` costing ``cost`` units may interrupt the agent's work: the
    channel's ``interrupts`` rule names channels the agent holds work of, each at most at
    its threshold, and the rest of its work leaves room for the inquiry."""
    rule = channels[q.channel].interrupts if q.channel in channels else {}
    held = [*agent.offers.values(), *agent.work.values()]
    if not rule or not any(t.queue.channel in rule for t in held):
        return False
    counts: dict[str, int] = {}
    for t in held:
        counts[t.queue.channel] = counts.get(t.queue.channel, 0) + 1
    if any(counts.get(ch, 0) > most for ch, most in rule.items()):
        return False
    rest = sum(t.cost for t in held if t.queue.channel not in rule)
    return bool(rest + cost <= agent.units)


def _state_of(agent: Any) -> str:
    held = list(agent.offers.values()) + list(agent.work.values())
    if any(t.state in (OFFERED, ASSIGNED) for t in held):
        return "busy"
    if any(t.state == WRAPUP for t in held):
        return "wrap_up"
    if agent.state == READY:
        return "idle"
    return "break" if agent.state == BREAK else "away"


def recount_now(r: Router) -> dict[str, Any]:
    """What is true now, from a scan of every inquiry and agent."""
    now = r.now
    channels = {**DEFAULT_CHANNELS, **r.config.channels}
    queues: dict[str, dict[str, Any]] = {}
    for name, q in r._queues.items():
        if q.removed:
            continue
        waiting = [t for t in r._tickets.values() if t.state == WAITING and t.queue is q]
        by_p: dict[int, int] = {}
        for t in waiting:
            by_p[t.priority] = by_p.get(t.priority, 0) + 1
        eligible = [a for a in r._agents.values() if _fits(a, q)]
        cost = channels[q.channel].unit_cost if q.channel in channels else 0
        available = [
            a
            for a in eligible
            if a.state == READY
            and a.load.get(q.channel, 0) < a.caps.get(q.channel, 0)
            and (
                a.units is None
                or a.units_used + cost <= a.units
                or _interrupts(channels, a, q, cost)
            )
            and not _kept_off(r, a, q.cfg.heavy)
        ]
        queues[name] = {
            "waiting": len(waiting),
            "longest_wait_s": max((now - t.arrival for t in waiting), default=0.0),
            "waiting_by_priority": by_p,
            "eligible_agents": len(eligible),
            "available_agents": len(available),
        }
    by_state = dict.fromkeys(("idle", "busy", "wrap_up", "break", "away"), 0)
    for a in r._agents.values():
        by_state[_state_of(a)] += 1
    room = sum(
        1
        for a in r._agents.values()
        if a.state == READY and any(a.load[ch] < cap for ch, cap in a.caps.items())
    )
    return {"queues": queues, "agents_by_state": by_state, "agents_with_room": room}


class EventLedger:
    """Every windowed fact, recounted from the events (feed them in order)."""

    def __init__(self, targets: dict[str, float]) -> None:
        self.targets = targets  # answer_target_s per queue
        #: (seq, at, queue, field, amount); a take-back carries its answer's time
        self.facts: list[tuple[int, float, str, str, float]] = []
        self.seen: set[str] = set()
        self.answered: dict[str, tuple[int, float, str, float]] = {}
        #: (seq, agent, "offers" | "handled" | "declined" | "expired"), and each agent's login
        self.agent_facts: list[tuple[int, str, str]] = []
        self.logins: dict[str, int] = {}
        self.seq = 0
        self.reset_seq = 0

    def _fact(self, at: float, queue: str, field: str, amount: float = 1, seq: int = -1) -> None:
        self.facts.append((self.seq if seq < 0 else seq, at, queue, field, amount))

    def _offered(self, iid: str, queue: str, at: float) -> None:
        if iid not in self.seen:
            self.seen.add(iid)
            self._fact(at, queue, "offered")

    def _take_back(self, iid: str) -> None:
        rec = self.answered.pop(iid, None)
        if rec is not None:
            seq, at, queue, wait = rec
            self._fact(at, queue, "answered", -1, seq)
            self._fact(at, queue, "wait_s", -wait, seq)
            if wait <= self.targets.get(queue, 20.0):
                self._fact(at, queue, "in_target", -1, seq)

    def feed(self, events: list[Any]) -> None:
        for e in events:
            self.seq += 1
            kind = type(e).__name__
            if kind in ("Queued", "CallbackScheduled"):
                self._offered(e.inquiry_id, e.queue, e.at)
            elif kind == "Overflowed":
                self._offered(e.inquiry_id, e.from_queue, e.at)
            elif kind in ("Rejected", "Deflected"):
                self._offered(e.inquiry_id, e.queue, e.at)
                self._fact(e.at, e.queue, kind.lower())
            elif kind == "TaskExpired":
                self._offered(e.inquiry_id, e.queue, e.at)
                self._fact(e.at, e.queue, "expired")
            elif kind in ("Abandoned", "Withdrawn"):
                self._offered(e.inquiry_id, e.queue, e.at)
                self._take_back(e.inquiry_id)
                self._fact(e.at, e.queue, "abandoned")
            elif kind == "Assigned" and e.inquiry_id not in self.answered:
                self.answered[e.inquiry_id] = (self.seq, e.at, e.queue, e.wait_s)
                self._fact(e.at, e.queue, "answered")
                self._fact(e.at, e.queue, "wait_s", e.wait_s)
                if e.wait_s <= self.targets.get(e.queue, 20.0):
                    self._fact(e.at, e.queue, "in_target")
            elif kind == "Transferred" or (
                kind == "Requeued"
                and (e.reason.startswith("callback_unreached") or e.reason == "handed_back")
            ):  # back in line: the answer (if any) is taken back
                self._take_back(e.inquiry_id)
            elif kind == "Completed":
                self._fact(e.at, e.queue, "handled")
                self._fact(e.at, e.queue, "handle_s", e.handle_s)
            elif kind == "AgentLoggedIn":
                self.logins[e.agent_id] = self.seq
            if kind in ("Offered", "Completed", "OfferDeclined", "OfferExpired"):
                field = {
                    "Offered": "offers",
                    "Completed": "handled",
                    "OfferDeclined": "declined",
                    "OfferExpired": "expired",
                }[kind]
                self.agent_facts.append((self.seq, e.agent_id, field))

    def with_pending(self, events: list[Any]) -> EventLedger:
        """A copy that also saw ``events`` (the router's outbox, not handed out yet)."""
        other = copy.copy(self)
        other.facts = list(self.facts)
        other.seen = set(self.seen)
        other.answered = dict(self.answered)
        other.agent_facts = list(self.agent_facts)
        other.logins = dict(self.logins)
        other.feed(events)
        return other

    def mark_reset(self, pending: int = 0) -> None:
        """The router's statistics were reset after the events fed so far and ``pending``
        more (events the router has not handed out yet)."""
        self.reset_seq = self.seq + pending + 1

    def agent_counts(self, agent_id: str) -> dict[str, int]:
        """An agent's offers, handled, declined and expired since its login or the reset."""
        since = max(self.logins.get(agent_id, 0), self.reset_seq)
        out = dict.fromkeys(("offers", "handled", "declined", "expired"), 0)
        for seq, who, field in self.agent_facts:
            if who == agent_id and seq >= since:
                out[field] += 1
        return out

    def figures(
        self, queue: str, now: float, window: float | None, bucket_s: float, total: bool = False
    ) -> dict[str, float]:
        """Sums of one queue's facts over a window (None: since reset; ``total``: all)."""
        k_now = int(now // bucket_s)
        out: dict[str, float] = {}
        for seq, at, q, field, amount in self.facts:
            if q != queue:
                continue
            if total:
                pass
            elif window is None:
                if seq < self.reset_seq:
                    continue
            elif not k_now - int(window // bucket_s) < int(at // bucket_s) <= k_now:
                continue
            out[field] = out.get(field, 0) + amount
        return out


def _agree(got: WindowFigures, want: dict[str, float], where: str) -> None:
    for field in _OUTCOME_FIELDS:
        n = getattr(got, field)
        assert n == want.get(field, 0), f"{where}.{field}: {n}, the ledger {want.get(field, 0)}"
    assert got.answered_in_target == want.get("in_target", 0), f"{where}.answered_in_target"
    answered = want.get("answered", 0)
    ended = sum(
        want.get(f, 0) for f in ("answered", "abandoned", "rejected", "deflected", "expired")
    )
    expect = {
        "service_level": want.get("in_target", 0) / ended if ended else None,
        "abandon_rate": want.get("abandoned", 0) / ended if ended else None,
        "asa_s": want.get("wait_s", 0.0) / answered if answered else None,
    }
    for field, value in expect.items():
        v = getattr(got, field)
        if value is None:
            assert v is None, f"{where}.{field}: {v} for nothing ended"
        else:
            assert v is not None and math.isclose(v, value, rel_tol=1e-9, abs_tol=1e-9), (
                f"{where}.{field}: {v} != {value}"
            )


def check_realtime(r: Router, ledger: EventLedger | None = None) -> None:
    """``statistics()`` equals the brute-force recount (and the ledger's windows)."""
    st = r.statistics()
    now = recount_now(r)
    by_state = now["agents_by_state"]
    assert st.agents_by_state == by_state, f"agents_by_state {st.agents_by_state}, {by_state}"
    assert sum(st.agents_by_state.values()) == st.agents_logged_in
    assert st.agents_with_room == now["agents_with_room"], "agents_with_room"
    assert set(st.queues) == set(now["queues"])
    for name, want in now["queues"].items():
        q = st.queues[name]
        for field, value in want.items():
            got = getattr(q, field)
            assert got == value, f"queues[{name}].{field}: {got} != {value} (recount)"
    for a in r._agents.values():
        got = r.agent_statistics(a.id)
        assert got.state == _state_of(a), a.id
        held: dict[str, int] = {}
        for t in list(a.offers.values()) + list(a.work.values()):
            held[t.queue.channel] = held.get(t.queue.channel, 0) + 1
        assert {ch: n for ch, n in got.load.items() if n} == held, a.id
        assert got.busy_s >= -1e-9 and got.staffed_s >= 0, a.id
        if ledger is not None and a.id in ledger.logins:
            counts = ledger.agent_counts(a.id)
            assert (got.offers, got.handled, got.declined, got.expired) == tuple(counts.values()), (
                a.id,
                got,
                counts,
            )
    if ledger is None:
        return
    cfg = r.config.statistics
    for name, q in st.queues.items():
        for w in cfg.windows:
            label = window_label(w)
            want = ledger.figures(name, r.now, w, cfg.bucket_s)
            _agree(q.windows[label], want, f"queues[{name}].windows[{label}]")
        want = ledger.figures(name, r.now, None, cfg.bucket_s)
        _agree(q.windows["since_reset"], want, f"queues[{name}].windows[since_reset]")
        assert q.totals is not None, name
        _agree(q.totals, ledger.figures(name, r.now, None, cfg.bucket_s, True), f"{name}.totals")
