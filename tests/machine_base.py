"""The one Hypothesis state machine base every router machine extends.

A machine drives a :class:`~router.Router` with random inputs and checks, after
every step, what the core promises; the rules and checks live here once, a
subclass only brings its config (and rules of its own, such as reconfigure).

Safety, checked after every step and on every decision event:

* every submitted inquiry is live or has exactly one outcome; no inquiry is
  assigned twice; each live inquiry is held by at most one agent, the one its
  record names;
* caps: no agent holds more on a channel than its spec allows (raised by surge
  caps while in surge), never more than the channel's hard maximum; a cap that
  fell (surge ended, a reconfigure) only lets the load drain; capacity units
  held equal the costs of the inquiries held, within the agent's units;
* every decision (``Offered``, or ``Assigned`` in immediate mode) fits: the
  agent's skills meet the inquiry's requirement at the relaxation step in force
  at the event (from the time it entered its queue, not the step the core
  claims), its tenant and queue membership and channel; an agent is never
  offered an inquiry it declined or let expire until a ``DeclinesForgotten`` says
  the inquiry's round is over;
* ``statistics()`` agrees with the records; the counters add up;
* in-queue changes (``update_inquiry``, ``transfer``, ``hand_back``,
  ``update_agent``): a refused change names its reason and leaves the snapshot
  byte-identical; a handed-back inquiry is not offered to that agent again
  within its round;
  only a callback between attempts is parked; an offer stands only with a
  ready agent that fits it under its current spec and the inquiry's current
  requirement; a cap or a unit budget an update lowered only lets the load drain;
* interruptible capacity: an agent is above its capacity units only while it
  holds work of a channel whose ``interrupts`` rule allowed it (the interrupted
  channels at most at their thresholds, the rest within the budget);
* hours of operation (read here from the config, independently of the core's
  schedule): an arrival at a closed queue gets the queue's ``closed`` outcome and
  one at an open queue never does; a queue with ``at_close = "closed"`` has
  nobody waiting while closed; a callback for a closed queue is back in line by
  the opening;
* presence: an agent is set away for silence only once it sent nothing for
  ``presence_timeout_s`` (any input of the agent counts).
* the deadline heap: the core's count of K_OFFER entries and of spent ones (an offer
  accepted, declined, withdrawn, rescinded...: ``Router._compact_deadlines``) equal a
  recount of the heap; every pending offer has exactly one deadline entry; an entry the
  core would drop (compaction, snapshots) can never fire: not live, and of a kind other
  than an offer only once its agent or inquiry has left;
* the real-time figures (``router/state/realtime.py``) agree with a brute-force
  recount (``tests/realtime_ledger.py``): per queue waiting, longest wait,
  waiting by priority, eligible and available agents; agents by state and with
  room; each agent's state, load, offers, handled, declines and expiries; and
  every sliding window and the since-reset figures equal a ledger of the
  events, across resets (the rule ``reset_statistics``) and snapshots;
* the waiting lines agree with a recount: in every pool, each waiting inquiry
  has exactly one live entry (in the ``arrivals`` line, the ``waiting`` or
  ``declined`` heap, or the preference heap), the counts (``n_waiting``,
  ``n_declined``) equal the live entries, the ``arrivals`` line is in
  ``(aged, seq)`` order, and the head a freed agent reads (``Pool.first``) is
  the most urgent undeclined inquiry by a brute-force sort.

Liveness, checked after every ``tick`` (``tests/liveness.py``): no waiting
inquiry is compatible with a ready agent that has room and has not declined
it (room includes an interruption its channel's rule allows); none keeps its
declines past its round (``decline_memory = "round"``); no ready agent has
been silent for ``presence_timeout_s``. The rule ``tick_at_next_deadline``
advances exactly to ``next_deadline()``.

Mutants this must catch (``tests/test_mutants.py`` applies each and expects a
failure): ``_match`` returning at once; relaxation steps applied at arrival;
the declined set ignored; a freed agent that never looks at the declined
inquiries (a search that gives up); tenants ignored; capacity units not given
back; caps raised above the spec; a withdrawal with no outcome; statistics that
miss a requeue; a snapshot that forgets who declined; a callback never retried;
the break share ignored; a cooldown that keeps nobody off; a task deadline ignored;
a hand-back that loses the inquiry or offers it to the same agent again; an agent
update that leaves an offer it no longer fits; an interruption past its
threshold; no interruption at all; a presence timeout that never fires, that
leaves the offers with the agent, or that ignores heartbeats; a snapshot that
forgets when an agent was last seen; a ring (``max_offers > 1``) whose first accept
leaves the others open; a ring's winner not listed again; a preferred wait that never
ends; a queue's ``match`` not applied; windows that miss an answer; real-time agent
counts that miss a change, or a shift change; an agent in a cooldown counted as
available (and, by a directed test only, one paused after heavy work); an offer
deadline not counted when pushed or when ``next_deadline`` drops it; compaction that
drops pending offers' or waiting inquiries' deadlines; a pool whose ``arrivals`` line is
read before its heap (a requeued inquiry behind newer ones).

The feature rules (issue 16) run only on configs that use the features (a ``match``,
``max_offers > 1`` or ``preferred_wait_s``), so other machines draw as before:
``submit_targeted`` (attributes and preferred agents, through ``Router.handle``),
``set_attributes``, and bad values in both refused with the state byte-identical. A
decision must satisfy the queue's ``match`` and, while the inquiry waits for its preferred
agents, name one of them; an accept of a ring must rescind every other open offer.

Replay, at the end of every run: the inputs the machine gave (through
:class:`Recorded`) go again into a fresh router of the first config, with no
``next_deadline()`` calls and no snapshot round trips, and every tick must give the
same events, every input the same result or the same refusal. Time is data and the
core reads nothing else: the durable mode's restore-and-replay relies on it, and a
query or a snapshot that changed later decisions would break it.

CI runs each machine on a fixed derandomized set of examples plus a bounded
randomized run; ``ROUTER_FUZZ=N`` runs N randomized examples per machine.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any, ClassVar

import msgspec
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from router import AgentSpec, Inquiry, InvalidState, Router, RouterConfig, UnknownId, UsageError
from router.config import DEFAULT_CHANNELS
from router.config.targeting import parse_target
from router.core import K_AGENT, K_OFFER
from router.inputs import ResetStatistics, SetAttributes, Submit
from router.model import Shift
from router.state.breaks import DRAINING
from router.state.records import (
    ASSIGNED,
    BREAK,
    FIRST_STAY,
    LOGGING_OUT,
    OFFERED,
    PARKED,
    READY,
    WAITING,
    WRAPUP,
    Agent,
    Ticket,
    free_agents,
    pool_slots,
)
from tests.liveness import requirement, stalls
from tests.realtime_ledger import EventLedger, check_realtime

OUTCOMES = {"Abandoned", "Withdrawn", "Completed", "Rejected", "Deflected", "TaskExpired"}
DAY = 86400.0
#: the inquiries a change picks from: one state at a time, so each is picked often
STATE_GROUPS = ((WAITING,), (OFFERED,), (ASSIGNED,), (PARKED, WRAPUP))
#: what an arrival at a closed queue gets, by the queue's ``closed``
CLOSED_OUTCOME = {"reject": "rejected", "deflect": "deflected", "callback": "callback"}


class HoursModel:
    """Which queues are open when, read from the config independently of the core's
    schedule (``router/config/clock.py``). Machines keep to daily spans (``days =
    "mon-sun"``, ``close`` after ``open``) on the default clock (``now = 0`` is Monday
    00:00), so a queue is open at ``now`` iff ``now mod 86400`` is inside a span."""

    def __init__(self, cfg: RouterConfig) -> None:
        clock = cfg.routing.clock
        assert clock.start == "mon 00:00" and not clock.unix, "machines keep the default clock"
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self.closed: dict[str, str] = {}
        self.at_close: dict[str, str] = {}
        for q in cfg.queues:
            if q.hours is None:
                continue
            spans = []
            for h in q.hours:
                assert h.days == "mon-sun", "machines keep to daily spans"
                start, end = _minutes(h.open) * 60.0, _minutes(h.close) * 60.0
                assert start < end, "machines keep to spans within a day"
                spans.append((start, end))
            self.spans[q.name] = sorted(spans)
            self.closed[q.name] = q.closed
            self.at_close[q.name] = q.at_close

    def is_open(self, queue: str, at: float) -> bool:
        spans = self.spans.get(queue)
        if spans is None:
            return True
        x = at % DAY
        return any(start <= x < end for start, end in spans)

    def opens_at(self, queue: str, at: float) -> float:
        """``at`` if ``queue`` is open then, else its next opening."""
        if self.is_open(queue, at):
            return at
        x = at % DAY
        later = [start for start, _ in self.spans[queue] if start > x]
        return at - x + (later[0] if later else DAY + self.spans[queue][0][0])


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def fuzz() -> int | None:
    """``ROUTER_FUZZ=N``: N randomized examples per machine instead of the bounded run."""
    value = os.environ.get("ROUTER_FUZZ")
    return int(value) if value else None


def machine_tests(machine: type[RuleBasedStateMachine], fixed: int, randomized: int) -> Any:
    """Two test classes for ``machine``: a fixed derandomized set and a randomized run.

    Returns ``(fixed_test_case, randomized_test_case)``; assign both to module names.
    """
    steps = getattr(machine, "STEPS", 50)
    common: dict[str, Any] = {
        "stateful_step_count": steps,
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    }
    fixed_case = machine.TestCase
    fixed_case.settings = settings(max_examples=fixed, derandomize=True, **common)
    randomized_machine = type(machine.__name__ + "Randomized", (machine,), {})
    random_case = randomized_machine.TestCase
    n = fuzz()
    random_case.settings = settings(
        max_examples=n if n is not None else randomized, derandomize=False, **common
    )
    return fixed_case, random_case


def hunting(examples: int = 60) -> settings:
    """Settings for a mutant hunt: fixed examples, no shrinking (only "is it caught?")."""
    return settings(
        max_examples=examples,
        stateful_step_count=60,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


#: the Router methods that are inputs (everything else only reads)
INPUTS = frozenset(
    {
        "tick", "handle", "submit", "callback_failed", "withdraw", "accept", "decline",
        "complete", "update_inquiry", "transfer", "hand_back", "login", "update_agent",
        "heartbeat", "set_ready", "go_on_break", "logout", "set_attributes", "reconfigure",
        "reset_statistics",
    }
)  # fmt: skip


#: (input, positional arguments, keyword arguments, its result or the refusal's class)
InputLog = list[tuple[str, tuple[Any, ...], dict[str, Any], Any]]


class Recorded:
    """A Router whose inputs are logged with what they returned, or that they were refused.

    Everything else (queries, the records the invariants read) passes through."""

    def __init__(self, router: Router, log: InputLog) -> None:
        object.__setattr__(self, "router", router)
        object.__setattr__(self, "log", log)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.router, name)
        if name not in INPUTS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = attr(*args, **kwargs)
            except UsageError as exc:
                self.log.append((name, args, kwargs, type(exc)))
                raise
            self.log.append((name, args, kwargs, out))
            return out

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.router, name, value)


def replay(cfg: RouterConfig, log: InputLog) -> None:
    """Give a fresh router the logged inputs: the same results, the same refusals."""
    r = Router(cfg)
    for i, (name, args, kwargs, out) in enumerate(log):
        try:
            got = getattr(r, name)(*args, **kwargs)
        except UsageError as exc:
            got = type(exc)
        assert got == out, f"replay: input {i}, {name}{args!r}, gave {got!r}, not {out!r}"


class RouterMachine(RuleBasedStateMachine):
    """Drives one Router; subclasses set :attr:`CONFIG` (TOML) or override :meth:`config`."""

    CONFIG: ClassVar[str] = ""
    STEPS: ClassVar[int] = 50
    #: spread of the agents' levels and of the time between ticks
    LEVELS: ClassVar[tuple[int, ...]] = (0, 1, 2, 3, 3, 4, 5, 5)
    DTS: ClassVar[tuple[float, ...]] = (0.0, 1.0, 7.0, 16.0, 45.0)
    #: agents log in with a team and, often, a schedule of shifts (``AgentSpec.shifts``)
    SCHEDULES: ClassVar[bool] = False
    #: how agents answer an offer after a tick (``wait``: not yet; a silent console)
    ANSWERS: ClassVar[tuple[str, ...]] = ("accept", "accept", "decline", "wait")
    #: the agents' capacity-unit budgets (None: no budget)
    UNITS: ClassVar[tuple[int | None, ...]] = (None, None, None, 100, 200)

    def __init__(self) -> None:
        super().__init__()
        cfg = self.config()
        self.inputs: InputLog = []
        self.r: Router = Recorded(Router(cfg), self.inputs)  # type: ignore[assignment]
        self.configs: dict[int, RouterConfig] = {1: cfg}
        self.now = 0.0
        self.n_inq = 0
        self.n_agents = 0
        self.specs: dict[str, AgentSpec] = {}  # the spec of each agent id, latest login
        self.gone: list[str] = []  # agent ids logged out (for re-login)
        self.submitted: set[str] = set()
        self.outcome: dict[str, str] = {}
        self.assigned_once: set[str] = set()
        self.offered: set[str] = set()
        #: (agent, inquiry) not to offer again until the inquiry's round of declines is over
        self.declined: set[tuple[str, str]] = set()
        self.callbacks: set[str] = set()
        self.retry_at: dict[str, float] = {}  # callbacks between attempts: back in line by
        self.ceiling: dict[tuple[str, str], int] = {}
        self.surge = False
        self.relaxed: set[str] = set()  # inquiries a surge relaxed to their last step
        self.skills = sorted(
            {s for q in cfg.queues for s in q.requires}
            | {s for q in cfg.queues for st_ in q.steps for s in st_.requires}
        )
        self.tenants = sorted({q.tenant for q in cfg.queues if q.tenant is not None})
        self.on_wb_break: set[str] = set()  # agents on a wellbeing break at the last check
        self.drains_seen: set[str] = set()  # agents draining under max_drain_share then
        self.off_shift_at_check: set[str] = set()  # agents off shift at the last check
        self.task_deadline: dict[str, float] = {}  # outbound tasks: started or ended by then
        self.seen: dict[str, float] = {}  # each agent's last input (presence timeouts)
        self.handed_back: dict[str, str] = {}  # inquiry -> the agent that handed it back
        self.units_ceiling: dict[str, int] = {}  # units held when an update lowered the budget
        self._hours_of: tuple[RouterConfig, HoursModel] | None = None
        #: the routing features in play (issue 16): match expressions, preferred agents,
        #: multi-offer; their rules run only then, so other machines draw as before
        self.targeted = any(q.match is not None for q in cfg.queues)
        self.featured = self.targeted or any(
            q.max_offers > 1 or q.preferred_wait_s > 0 for q in cfg.queues
        )
        #: every windowed fact recounted from the events handed out so far
        self.ledger = EventLedger({q.name: q.answer_target_s for q in cfg.queues})

    def hours(self) -> HoursModel:
        """The hours of the router's config now (a reconfigure may change them)."""
        cfg = self.r.config
        if self._hours_of is None or self._hours_of[0] is not cfg:
            self._hours_of = (cfg, HoursModel(cfg))
        return self._hours_of[1]

    def config(self) -> RouterConfig:
        from router import decode_config

        return decode_config(self.CONFIG)

    # ---------------------------------------------------------------- helpers

    def _pick(self, states: tuple[int, ...], k: int) -> Ticket | None:
        found = sorted(
            (t for t in self.r._tickets.values() if t.state in states), key=lambda t: t.id
        )
        return found[k % len(found)] if found else None

    def _fire_due_by_a_refusal(self) -> None:
        """Fire the deadlines due by ``self.now`` the way a refused input does."""
        due = self.r.next_deadline()
        if due is not None and due <= self.now:
            with contextlib.suppress(UnknownId):
                self.r.heartbeat("nobody", self.now)
                raise AssertionError("an unknown id was accepted")

    def _refused(self, call: Any, error: type[Exception], why: str) -> None:
        """``call`` must raise ``error`` and leave the router byte-identical.

        Deadlines already due (one an input scheduled at ``now``, say) fire as any input
        enters, refused or not: time passed (``Router._enter``). They are fired first by
        a refused input of their own, so the comparison sees only what ``call`` did.
        """
        self._fire_due_by_a_refusal()
        before = self.r.snapshot()
        try:
            call()
        except error:
            pass
        else:
            raise AssertionError(f"accepted, but {why}")
        assert self.r.snapshot() == before, f"a refused change ({why}) altered the router"

    def _requires(self, data: st.DataObject) -> dict[str, int] | None:
        """New extra requirements: unchanged, cleared, or one skill at a level."""
        choices: list[dict[str, int] | None] = [None, None, {}]
        choices += [{s: lvl} for s in self.skills for lvl in (1, 3)]
        return data.draw(st.sampled_from(choices), label="requires")

    def _transfer_refusal(self, t: Ticket, queue: str) -> str | None:
        """Why a transfer of ``t`` to ``queue`` must be refused (docs/routing-features.md)."""
        q = next(q for q in self.r.config.queues if q.name == queue)
        if t.state not in (WAITING, OFFERED, ASSIGNED):
            return f"{t.id} is neither waiting, offered nor assigned"
        if t.queue.name == queue:
            return f"{t.id} is in {queue} already"
        if q.channel != t.queue.channel:
            return f"{queue} is on another channel"
        if q.tenant is not None and t.tenant != q.tenant:
            return f"{queue} belongs to another tenant"
        if not self.hours().is_open(queue, self.now):
            return f"{queue} is closed"
        return None

    @staticmethod
    def _holders(t: Ticket) -> list[str]:
        """Who holds ``t``: its agent, and with ``max_offers > 1`` every open offer."""
        if t.agent is None:
            return []
        return [t.agent.id, *(t.also or ())]

    def _channels(self) -> dict[str, int]:
        return {
            ch: c.max_concurrency
            for ch, c in {**DEFAULT_CHANNELS, **self.r.config.channels}.items()
        }

    def _expected_cap(self, agent_id: str, channel: str) -> int:
        spec_cap = self.specs[agent_id].capacity.get(channel, 0)
        surge = self.r.config.backpressure.surge
        if self.surge and surge is not None and spec_cap > 0:
            raised = surge.caps.get(channel)
            if raised is not None and raised > spec_cap:
                spec_cap = raised
        return min(spec_cap, self._channels().get(channel, 0))

    def _tick(self, now: float) -> None:
        events = self.r.tick(now)
        self._absorb(events)
        self.ledger.feed(events)
        assert stalls(self.r) == [], stalls(self.r)
        for iid, at in list(self.retry_at.items()):
            t = self.r._tickets.get(iid)
            # back in line; or moved to an outbound queue, whose tasks wait held (parked)
            if t is None or t.state != PARKED or self.r._bp.outbound.holding.get(iid) is t:
                del self.retry_at[iid]
            else:
                assert now < at, f"callback {iid} still parked at {now}, due back at {at}"
        for iid, deadline in list(self.task_deadline.items()):
            t = self.r._tickets.get(iid)
            if t is None or t.state != PARKED:
                if t is None or t.state != WAITING:  # started, or ended: no longer watched
                    del self.task_deadline[iid]
            else:
                assert now < deadline, f"task {iid} still held past its deadline {deadline}"
        timeout = self.r.config.routing.presence_timeout_s
        if timeout is not None:
            for a in self.r._agents.values():
                if a.state == READY:
                    last = self.seen[a.id]
                    assert now < last + timeout, f"{a.id} still ready at {now}, silent since {last}"

    def _absorb(self, events: list[Any]) -> None:
        for e in events:
            name = type(e).__name__
            if name == "SurgeStarted":
                self.surge = True
                if (
                    self.r.config.backpressure.surge
                    and self.r.config.backpressure.surge.relax_steps
                ):
                    self.relaxed |= set(self.r._tickets)
            elif name == "SurgeEnded":
                self.surge = False
            elif name == "Queued" and self.surge:
                self.relaxed.add(e.inquiry_id)
            elif name == "Offered":
                self._check_decision(e)
                self.offered.add(e.inquiry_id)
            elif name == "Assigned":
                assert e.inquiry_id not in self.assigned_once, f"assigned twice: {e}"
                self.assigned_once.add(e.inquiry_id)
                if e.inquiry_id not in self.offered:  # immediate mode: a decision
                    self._check_decision(e)
            elif name == "OfferExpired":
                self.declined.add((e.agent_id, e.inquiry_id))
            elif name == "DeclinesForgotten":  # its round is over (stalls() checks not late)
                self.declined = {p for p in self.declined if p[1] != e.inquiry_id}
            elif name == "CallbackScheduled":
                self.callbacks.add(e.inquiry_id)
                if e.reason == "closed":  # called back when its queue opens
                    self.retry_at[e.inquiry_id] = self.hours().opens_at(e.queue, e.at)
            elif name == "Requeued" and e.reason.startswith("callback_unreached"):
                # the call failed: the next one is a new decision (in event order: the
                # Assigned of the failed call may still have been in the outbox)
                self.assigned_once.discard(e.inquiry_id)
                self.offered.discard(e.inquiry_id)
            elif name == "Requeued" and e.reason == "handed_back":
                agent_id = self.handed_back.pop(e.inquiry_id)
                self.declined.add((agent_id, e.inquiry_id))  # never for this agent again
                self.assigned_once.discard(e.inquiry_id)  # the next one is a new decision
                self.offered.discard(e.inquiry_id)
            elif name == "Transferred":  # the new queue's steps start: all of them in a surge
                if e.agent_id is not None:  # it left its agent: the next one is a new decision
                    self.assigned_once.discard(e.inquiry_id)
                    self.offered.discard(e.inquiry_id)
                self.relaxed.discard(e.inquiry_id)
                surge = self.r.config.backpressure.surge
                if self.surge and surge is not None and surge.relax_steps:
                    self.relaxed.add(e.inquiry_id)
            elif name == "AgentAway" and e.reason == "presence_timeout":
                timeout = self.r.config.routing.presence_timeout_s
                last = self.seen[e.agent_id]
                assert timeout is not None and e.at >= last + timeout, (
                    f"{e.agent_id} timed out at {e.at}, seen at {last}"
                )
            if name in OUTCOMES:
                assert e.inquiry_id not in self.outcome, f"two outcomes: {e}"
                self.outcome[e.inquiry_id] = name

    def _check_decision(self, e: Any) -> None:
        """The agent fits the inquiry at the relaxation step in force at the event."""
        assert (e.agent_id, e.inquiry_id) not in self.declined, f"offered again after a no: {e}"
        t = self.r._tickets.get(e.inquiry_id)
        if t is None or e.agent_id not in self._holders(t):
            return  # ended or moved on within the same tick (its own checks ran)
        spec = self.specs[e.agent_id]
        q = t.queue
        if q.cfg.match is not None:
            fits = parse_target(q.cfg.match).matches(spec.attributes, t.attributes)
            assert fits, f"unmatched: {e} {spec.attributes} {t.attributes}"
        if t.prefer_until > 0.0:  # offered while it waits for its preferred agents
            assert t.prefer is not None and e.agent_id in t.prefer, f"not preferred: {e}"
        in_force = sum(1 for after, _ in q.steps if t.entered + after <= e.at)
        if e.inquiry_id in self.relaxed:
            in_force = len(q.steps)
        need = dict(q.requires) if in_force == 0 else dict(q.steps[in_force - 1][1])
        for skill, level in (t.extra or {}).items():
            need[skill] = max(need.get(skill, 0), level)
        for skill, level in need.items():
            assert spec.skills.get(skill, 0) >= level, f"unfit at step {in_force}: {e} {spec}"
        tenants, queues = self._in_force(spec, e.at)
        assert t.tenant is None or t.tenant in tenants, f"wrong tenant: {e} {spec}"
        assert not queues or q.name in queues, f"queue not served: {e} {spec}"
        assert spec.capacity.get(q.channel, 0) > 0, f"no such channel: {e} {spec}"
        wb = self.r.config.wellbeing
        agent = self.r._agents.get(e.agent_id)
        cooling = agent is not None and agent.cooldown_until > e.at
        if cooling and not (self.surge and "cooldown" in wb.suspend_in_surge):
            assert wb.cooldown_from == "heavy" and not t.heavy, f"during a cooldown: {e}"
        hours = self.hours()
        if hours.at_close.get(q.name) == "closed":
            assert hours.is_open(q.name, e.at), f"offered while its queue is closed: {e}"

    @staticmethod
    def _in_force(spec: AgentSpec, at: float) -> tuple[frozenset[str], dict[str, float]]:
        """The tenants and queues ``spec`` serves at ``at``: its shift's, or its own; a
        decision between two shifts (or before the first) is a failure."""
        shifts = spec.shifts
        if not shifts:
            return spec.tenants, spec.queues
        for i, sh in enumerate(shifts):
            last = i == len(shifts) - 1
            if sh.start_s <= at and (last or sh.end_s is None or at < sh.end_s):
                tenants = sh.tenants if sh.tenants is not None else spec.tenants
                return tenants, sh.queues if sh.queues is not None else spec.queues
        raise AssertionError(f"a decision at {at} off shift: {spec}")

    def _schedule(self, data: st.DataObject) -> tuple[str | None, list[Shift]]:
        """A team and a schedule from now: none, a shift ahead, or two shifts with a gap
        (the second maybe for other tenants: one company by day, another in the evening)."""
        team = data.draw(st.sampled_from([None, "t1", "t2", "t2"]), label="team")
        now = self.now
        kind = data.draw(st.sampled_from(["none", "ahead", "two", "back_to_back"]), label="sch")
        other = None
        if self.tenants:
            other = data.draw(
                st.sampled_from([None, *(frozenset({t}) for t in self.tenants)]), label="t2"
            )
        if kind == "ahead":
            return team, [Shift(start_s=now + 20.0, end_s=now + 200.0)]
        if kind == "two":
            return team, [
                Shift(start_s=now, end_s=now + 60.0),
                Shift(start_s=now + 90.0, tenants=other),
            ]
        if kind == "back_to_back":
            return team, [
                Shift(start_s=now, end_s=now + 50.0),
                Shift(start_s=now + 50.0, end_s=now + 400.0, tenants=other),
            ]
        return team, []

    def _spec(self, data: st.DataObject, agent_id: str) -> AgentSpec:
        """A spec biased towards agents who can work (most have the skills, the tenants
        and a slot), with enough misfits that eligibility is tested."""
        skills = {
            s: lvl
            for s in self.skills
            if (lvl := data.draw(st.sampled_from(self.LEVELS), label=f"skill {s}"))
        }
        tenants: set[str] = set()
        if self.tenants:
            everyone = set(self.tenants)
            choices = [everyone, everyone, *({t} for t in self.tenants), set()]
            tenants = data.draw(st.sampled_from(choices), label="tenants")
        channels = {q.channel for q in self.r.config.queues} | {"voice"}
        limits = self._channels()
        capacity = {}
        for ch in sorted(channels & set(limits)):
            top = min(3, limits[ch])
            capacity[ch] = data.draw(st.sampled_from([top, top, 1, 0]), label=f"cap {ch}")
        units = data.draw(st.sampled_from(self.UNITS), label="units")
        wrap = data.draw(st.sampled_from([0.0, 5.0]), label="wrap")
        team, shifts = self._schedule(data) if self.SCHEDULES else (None, [])
        attributes = self._attributes(data) if self.targeted else {}
        return AgentSpec(
            id=agent_id,
            skills=skills,
            capacity=capacity,
            tenants=frozenset(tenants),
            units=units,
            wrap_up_s=wrap,
            team=team,
            shifts=shifts,
            attributes=attributes,
        )

    #: agents' attributes the feature machines' ``match`` expressions read
    LANGS: ClassVar[tuple[tuple[str, ...], ...]] = (("zh",), ("zh",), ("en",), ("zh", "en"), ())

    def _attributes(self, data: st.DataObject) -> dict[str, Any]:
        langs = data.draw(st.sampled_from(self.LANGS), label="langs")
        vip = data.draw(st.booleans(), label="vip")
        level = data.draw(st.sampled_from([1, 2, 3]), label="level")
        return {"langs": list(langs), "vip": vip, "level": level}

    # ---------------------------------------------------------------- rules: time

    @rule(data=st.data())
    def tick(self, data: st.DataObject) -> None:
        self.now += data.draw(st.sampled_from(self.DTS), label="dt")
        self._tick(self.now)
        self._respond(data)

    @rule(data=st.data())
    def tick_at_next_deadline(self, data: st.DataObject) -> None:
        nxt = self.r.next_deadline()
        if nxt is not None:
            assert nxt == nxt and nxt >= self.r.now  # a number, not in the past
            self.now = max(self.now, nxt)
        self._tick(self.now)
        self._respond(data)

    def _respond(self, data: st.DataObject) -> None:
        """The agents answer what the tick gave them: accept, decline, or not yet; and some
        of the work in hand is finished."""
        for t in sorted(self.r._tickets.values(), key=lambda t: t.id):
            if t.state == OFFERED and t.agent is not None:
                what = data.draw(st.sampled_from(self.ANSWERS))
                self._answer(t, what, data.draw(st.integers(0, 50)) if t.also else 0)
            elif t.state == ASSIGNED and data.draw(st.booleans()):
                assert t.agent is not None
                self.seen[t.agent.id] = self.now
                self.r.complete(t.id, self.now)

    # ---------------------------------------------------------------- rules: agents

    @initialize(data=st.data(), n=st.integers(1, 3))
    def staff(self, data: st.DataObject, n: int) -> None:
        """A few agents from the start, so most examples route something."""
        for _ in range(n):
            self.login(data)

    @rule(data=st.data())
    def login(self, data: st.DataObject) -> None:
        self.n_agents += 1
        spec = self._spec(data, f"ag{self.n_agents}")
        self.specs[spec.id] = spec
        self.r.login(spec, self.now)
        self.seen[spec.id] = self.now

    @precondition(lambda self: bool(self.gone))
    @rule(data=st.data(), k=st.integers(0, 50))
    def login_again(self, data: st.DataObject, k: int) -> None:
        """An id that logged out comes back, maybe with another spec."""
        agent_id = self.gone[k % len(self.gone)]
        if agent_id in self.r._agents:  # still finishing its work
            with contextlib.suppress(UsageError):
                self.r.login(self._spec(data, agent_id), self.now)
                raise AssertionError("a second login of a live id was accepted")
            return
        self.gone.remove(agent_id)
        spec = self._spec(data, agent_id)
        self.specs[agent_id] = spec
        self.r.login(spec, self.now)
        self.seen[agent_id] = self.now

    @precondition(lambda self: bool(self.r._agents))
    @rule(k=st.integers(0, 50), action=st.sampled_from(["break", "ready", "logout"]))
    def agent_state(self, k: int, action: str) -> None:
        ids = sorted(self.r._agents)
        aid = ids[k % len(ids)]
        try:
            if action == "break":
                self.r.go_on_break(aid, self.now)
                self.seen[aid] = self.now
            elif action == "ready":
                self.r.set_ready(aid, self.now)
                self.seen[aid] = self.now
            else:
                self.r.logout(aid, self.now)
                self.gone.append(aid)
        except InvalidState:
            assert self.r._agents[aid].state != READY  # only a leaving agent refuses

    # ---------------------------------------------------------------- rules: inquiries

    @rule(
        k=st.integers(0, 50),
        patience=st.sampled_from([None, None, 10.0, 60.0]),
        priority=st.sampled_from([None, 0, 2]),
        cost=st.sampled_from([None, None, 30, 60]),
        heavy=st.booleans(),
    )
    def submit(
        self, k: int, patience: float | None, priority: int | None, cost: int | None, heavy: bool
    ) -> None:
        self._submit(
            k,
            patience_s=patience,
            priority=priority,
            cost=cost,
            tags=frozenset({"heavy"}) if heavy else frozenset(),
        )

    def _submit(self, k: int, **fields: Any) -> None:
        """Submit the next inquiry id to the ``k``-th queue (through ``Router.handle``)."""
        queues = [q.name for q in self.r.config.queues]
        if not queues:
            return
        self.n_inq += 1
        iid = f"i{self.n_inq}"
        inquiry = Inquiry(id=iid, queue=queues[k % len(queues)], **fields)
        adm = self.r.handle(Submit(inquiry=inquiry), self.now)
        if adm.outcome != "blocked":
            self.submitted.add(iid)
        out = self.r.config.backpressure.outbound
        patience = inquiry.patience_s
        deadline = patience if patience is not None else out.deadline_s.get(inquiry.queue)
        if inquiry.queue in out.queues and adm.outcome == "admitted" and deadline is not None:
            self.task_deadline[iid] = self.now + deadline
        hours = self.hours()
        if not hours.is_open(inquiry.queue, self.now):
            said = (adm.outcome, adm.reason)
            assert said == (CLOSED_OUTCOME[hours.closed[inquiry.queue]], "closed"), said
            if adm.outcome == "callback":
                self.callbacks.add(iid)
                self.retry_at[iid] = hours.opens_at(inquiry.queue, self.now)
        else:
            assert adm.reason != "closed", f"{iid} closed out of an open queue at {self.now}"

    @rule(k=st.integers(0, 50), n=st.integers(2, 6), priority=st.sampled_from([None, 1]))
    def burst(self, k: int, n: int, priority: int | None) -> None:
        """Several arrivals at once to one queue: lines build up, bounds and surges trip."""
        for _ in range(n):
            self.submit(k, None, priority, None, False)

    # ---------------------------------------------------------------- rules: features

    @precondition(lambda self: self.featured)
    @rule(
        k=st.integers(0, 50),
        lang=st.sampled_from([None, "zh", "zh", "en"]),
        tier=st.sampled_from([None, 1, 2, 3]),
        prefer=st.lists(st.integers(0, 50), max_size=3),
        patience=st.sampled_from([None, 60.0]),
    )
    def submit_targeted(
        self, k: int, lang: str | None, tier: int | None, prefer: list[int], patience: float | None
    ) -> None:
        """An inquiry with attributes (read by ``match``) naming preferred agents: known
        ones, logged-out ones or ids nobody has, through ``Router.handle``."""
        # mostly agents who cannot take it now (busy, away), so that it waits for them
        busy = sorted(a.id for a in self.r._agents.values() if a.state != READY or a.total_load)
        ids = [*busy, *busy, *(f"ag{n}" for n in range(1, self.n_agents + 2))]  # + one unknown
        attributes: dict[str, Any] = {}
        if lang is not None:
            attributes["lang"] = lang
        if tier is not None:
            attributes["tier"] = tier
        self._submit(
            k,
            patience_s=patience,
            attributes=attributes,
            preferred_agents=[ids[n % len(ids)] for n in prefer],
        )

    @precondition(lambda self: self.targeted and bool(self.r._agents))
    @rule(data=st.data(), k=st.integers(0, 50))
    def set_attributes(self, data: st.DataObject, k: int) -> None:
        """A logged-in agent's attributes change: every ``match`` is evaluated again; work
        in hand and open offers stay (they were fit when given)."""
        ids = sorted(self.r._agents)
        aid = ids[k % len(ids)]
        attributes = self._attributes(data)
        try:
            self.r.handle(SetAttributes(agent_id=aid, attributes=attributes), self.now)
        except InvalidState:
            assert self.r._agents[aid].state == LOGGING_OUT  # only a leaving agent refuses
            return
        self.specs[aid] = msgspec.structs.replace(self.specs[aid], attributes=attributes)

    @precondition(lambda self: self.featured)
    @rule(k=st.integers(0, 50), bad=st.sampled_from([math.nan, math.inf, -math.inf, None]))
    def bad_feature_inputs_are_refused(self, k: int, bad: float | None) -> None:
        """NaN/inf/None in attributes or preferred agents: a UsageError naming the field,
        and the router's state byte-identical."""
        before = self.r.snapshot()
        aid = sorted(self.r._agents)[k % len(self.r._agents)] if self.r._agents else "ag1"
        queue = self.r.config.queues[k % len(self.r.config.queues)].name
        cases: list[tuple[Any, str]] = [
            (SetAttributes(agent_id=aid, attributes={"level": bad}), "attributes"),  # type: ignore[dict-item]
            (
                Submit(inquiry=Inquiry(id="bad", queue=queue, attributes={"tier": bad})),  # type: ignore[dict-item]
                "attributes",
            ),
            (
                Submit(inquiry=Inquiry(id="bad", queue=queue, preferred_agents=[bad])),  # type: ignore[list-item]
                "preferred_agents",
            ),
        ]
        for inp, field in cases:
            try:
                self.r.handle(inp, self.now)
            except UsageError as exc:
                assert field in str(exc), f"{exc} does not name {field}"
            else:
                raise AssertionError(f"accepted {inp}")
            assert self.r.snapshot() == before, f"{inp} changed the state"

    @rule(k=st.integers(0, 50), accept=st.booleans())
    def answer_offer(self, k: int, accept: bool) -> None:
        t = self._pick((OFFERED,), k)
        if t is None:
            return
        self._answer(t, "accept" if accept else "decline", k)

    def _answer(self, t: Ticket, what: str, k: int) -> None:
        """One holder of ``t``'s offer (the ``k``-th, with several open) answers. With
        ``max_offers > 1`` an accept must rescind every other open offer of ``t``."""
        holders = self._holders(t)
        aid = holders[k % len(holders)]
        if what != "wait":
            self.seen[aid] = self.now
        if what == "accept":
            self.r.accept(t.id, self.now, aid)
            assert self._holders(t) == [aid], f"offers of {t.id} not rescinded: {holders}"
            for other in holders:
                if other != aid:
                    assert t.id not in self.r._agents[other].offers, f"{other} still rings"
        elif what == "decline":
            self.declined.add((aid, t.id))
            self.r.decline(t.id, self.now, aid)

    @rule(k=st.integers(0, 50))
    def complete(self, k: int) -> None:
        t = self._pick((ASSIGNED,), k)
        if t is not None:
            assert t.agent is not None
            self.seen[t.agent.id] = self.now
            self.r.complete(t.id, self.now)

    @rule(k=st.integers(0, 50))
    def withdraw(self, k: int) -> None:
        t = self._pick((WAITING, OFFERED, PARKED), k)
        if t is not None:
            self.r.withdraw(t.id, self.now)

    @rule(k=st.integers(0, 50))
    def callback_failed(self, k: int) -> None:
        t = self._pick((OFFERED, ASSIGNED), k)
        if t is None:
            return
        if t.id in self.callbacks:
            assert t.agent is not None
            self.seen[t.agent.id] = self.now
            self.r.callback_failed(t.id, self.now)
            if t.id in self.r._tickets:  # another attempt comes (Requeued: a new decision)
                due = self.now + self.r.config.backpressure.callback.retry_s
                self.retry_at[t.id] = self.hours().opens_at(t.queue.name, due)  # (or at opening)
        else:
            with contextlib.suppress(InvalidState):
                self.r.callback_failed(t.id, self.now)
                raise AssertionError(f"callback_failed accepted for {t.id}, not a callback")

    @rule()
    def unknown_ids_are_refused(self) -> None:
        self._fire_due_by_a_refusal()
        before = self.r.snapshot()
        for call in (
            lambda: self.r.accept("nobody", self.now),
            lambda: self.r.set_ready("nobody", self.now),
            lambda: self.r.heartbeat("nobody", self.now),
            lambda: self.r.hand_back("nobody", self.now),
            lambda: self.r.update_inquiry("nobody", self.now, priority=1),
            lambda: self.r.transfer("nobody", self.r.config.queues[0].name, self.now),
        ):
            with contextlib.suppress(UnknownId):
                call()
                raise AssertionError("an unknown id was accepted")
        assert self.r.snapshot() == before

    # ---------------------------------------------------------------- rules: in-queue changes

    @rule(k=st.integers(0, 50), priority=st.sampled_from([None, None, -5, 0, 4]), data=st.data())
    def update_inquiry(self, k: int, priority: int | None, data: st.DataObject) -> None:
        t = self._pick(data.draw(st.sampled_from(STATE_GROUPS), label="of"), k)
        if t is None:
            return
        requires = self._requires(data)
        iid = t.id

        def call() -> None:
            self.r.update_inquiry(iid, self.now, priority, requires)

        if t.state in (ASSIGNED, WRAPUP):
            self._refused(call, InvalidState, f"{iid} is with its agent")
        elif t.state == PARKED and self.r._bp.outbound.holds(t):  # a callback moved there too
            self._refused(call, InvalidState, f"{iid} is an outbound task held")
        else:
            call()

    @rule(
        k=st.integers(0, 50),
        j=st.integers(0, 50),
        by_agent=st.booleans(),
        priority=st.sampled_from([None, None, 1]),
        data=st.data(),
    )
    def transfer(
        self, k: int, j: int, by_agent: bool, priority: int | None, data: st.DataObject
    ) -> None:
        t = self._pick(data.draw(st.sampled_from(STATE_GROUPS), label="of"), k)
        queues = [q.name for q in self.r.config.queues]
        if t is None or not queues:
            return
        queue = queues[j % len(queues)]
        requires = self._requires(data)
        agent = t.agent
        agent_id = agent.id if by_agent and agent is not None else None
        iid = t.id

        def call() -> None:
            self.r.transfer(
                iid, queue, self.now, agent_id=agent_id, priority=priority, requires=requires
            )

        why = self._transfer_refusal(t, queue)
        if why is not None:
            self._refused(call, UsageError, why)
            return
        call()
        if agent_id is not None:
            self.seen[agent_id] = self.now

    @rule(k=st.integers(0, 50), by_agent=st.booleans(), priority=st.sampled_from([None, 2]))
    def hand_back(self, k: int, by_agent: bool, priority: int | None) -> None:
        t = self._pick((ASSIGNED, OFFERED, WRAPUP), k)
        if t is None:
            return
        agent = t.agent
        assert agent is not None
        iid = t.id

        def call() -> None:
            self.r.hand_back(iid, self.now, agent.id if by_agent else None, priority=priority)

        if t.state != ASSIGNED:
            self._refused(call, InvalidState, f"{iid} is not assigned")
            return
        call()
        self.seen[agent.id] = self.now
        self.handed_back[iid] = agent.id  # applied with its Requeued event (in order)

    @precondition(lambda self: bool(self.r._agents))
    @rule(k=st.integers(0, 50), data=st.data())
    def update_agent(self, k: int, data: st.DataObject) -> None:
        """A logged-in agent's skills, caps, units or tenants change without a logout."""
        ids = sorted(self.r._agents)
        a = self.r._agents[ids[k % len(ids)]]
        # (a team or schedule change needs a logout and a login: the update keeps them)
        drawn = self._spec(data, a.id)
        spec = msgspec.structs.replace(drawn, team=a.spec.team, shifts=a.spec.shifts)
        if a.state == LOGGING_OUT:
            self._refused(
                lambda: self.r.update_agent(spec, self.now), InvalidState, f"{a.id} leaves"
            )
            return
        self.r.update_agent(spec, self.now)
        self.specs[a.id] = spec
        # a budget below what it holds only lets that drain
        self.units_ceiling[a.id] = sum(t.cost for t in (*a.offers.values(), *a.work.values()))

    @precondition(lambda self: bool(self.r._agents))
    @rule(k=st.integers(0, 50))
    def heartbeat(self, k: int) -> None:
        ids = sorted(self.r._agents)
        aid = ids[k % len(ids)]
        self.r.heartbeat(aid, self.now)
        self.seen[aid] = self.now

    @rule()
    def reset_statistics(self) -> None:
        """The operator starts the since-reset figures over (an input like any other)."""
        self.r.handle(ResetStatistics(), self.now)
        self.ledger.mark_reset(pending=len(self.r._events))

    @rule()
    def snapshot_roundtrip(self) -> None:
        snap = self.r.snapshot()
        restored = Router.restore(snap)
        assert restored.snapshot() == snap
        self.r = Recorded(restored, self.inputs)  # type: ignore[assignment]

    def teardown(self) -> None:
        replay(self.configs[1], self.inputs)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def every_inquiry_accounted_for(self) -> None:
        live = self.r._tickets
        # events of inputs since the last tick are still in the router's outbox
        pending = {e.inquiry_id for e in self.r._events if type(e).__name__ in OUTCOMES}
        for iid in self.submitted:
            ended = iid in self.outcome or iid in pending
            # a completed inquiry stays live, in wrap-up, until the agent's slot frees
            alive = iid in live and live[iid].state != WRAPUP
            assert alive != ended, f"{iid} is {'alive and ended' if alive else 'lost'}"
        holders: dict[str, list[str]] = {}
        for a in self.r._agents.values():
            for iid in a.offers:
                holders.setdefault(iid, []).append(a.id)
            for iid in a.work:
                assert iid not in holders, f"{iid} held by {holders[iid]} and {a.id}"
                holders[iid] = [a.id]
        for iid, t in live.items():
            if t.state == OFFERED:  # one open offer, or up to max_offers of them
                held = sorted(holders.get(iid, []))
                assert held == sorted(self._holders(t)), f"{iid} held by {held}"
                assert len(held) <= t.queue.max_offers, f"{iid} rings {held}"
            elif t.state in (ASSIGNED, WRAPUP):
                assert t.agent is not None and t.also is None, f"{iid} held by several"
                assert holders.get(iid) == [t.agent.id], f"{iid} held by {holders.get(iid)}"
            else:
                assert iid not in holders

    @invariant()
    def caps_and_units(self) -> None:
        for a in self.r._agents.values():
            for ch, n in a.load.items():
                cap = self._expected_cap(a.id, ch)
                ceiling = self.ceiling.get((a.id, ch), cap)
                assert 0 <= n <= max(cap, ceiling), f"{a.id} holds {n} on {ch}, cap {cap}"
                self.ceiling[(a.id, ch)] = max(cap, min(ceiling, n))
            held = list(a.offers.values()) + list(a.work.values())
            assert len(held) == a.total_load == sum(a.load.values())
            spec = self.specs[a.id]
            if spec.units is not None:
                costs = sum(t.cost for t in held)
                assert a.units_used == costs, f"{a.id} uses {a.units_used} units, holds {costs}"
                ceiling = max(spec.units, min(self.units_ceiling.get(a.id, 0), costs))
                self.units_ceiling[a.id] = ceiling
                if costs > ceiling and not any(t.cost > spec.units for t in held):
                    assert self._interrupted(a, spec.units), (
                        f"{a.id} uses {costs} units of {spec.units}: no interruption allows it"
                    )
            else:
                assert a.units_used == 0

    def _interrupted(self, a: Agent, units: int) -> bool:
        """Whether ``a``'s work past its budget is an interruption a rule allows: it holds
        work of an interrupting channel, the interrupted channels at most at their
        thresholds, and the rest of its work within the budget."""
        channels = {**DEFAULT_CHANNELS, **self.r.config.channels}
        held = [*a.offers.values(), *a.work.values()]
        for ch, c in channels.items():
            rule_ = c.interrupts
            if not rule_ or a.load.get(ch, 0) == 0:
                continue
            if any(a.load.get(other, 0) > most for other, most in rule_.items()):
                continue
            rest = sum(t.cost for t in held if t.queue.channel not in rule_)
            if rest <= units:
                return True
        return False

    @invariant()
    def offers_stand_with_ready_agents_that_fit(self) -> None:
        """An offer stays only with a ready agent that fits it now (a break, a presence
        timeout, an agent update, a requirement update or a reconfigure takes it back
        otherwise: an offer standing at a reconfigure is held to the new config,
        docs/tuning.md section 6)."""
        for a in self.r._agents.values():
            spec = self.specs[a.id]
            for t in a.offers.values():
                assert a.state == READY, f"{a.id} (state {a.state}) keeps the offer of {t.id}"
                need = requirement(t)
                fits = all(spec.skills.get(s, 0) >= lvl for s, lvl in need.items())
                if not spec.shifts:  # (a shift's own tenants and queues: checked at decisions)
                    fits = fits and (t.tenant is None or t.tenant in spec.tenants)
                    fits = fits and (not spec.queues or t.queue.name in spec.queues)
                fits = fits and spec.capacity.get(t.queue.channel, 0) > 0
                assert fits, f"{a.id} keeps the offer of {t.id} it does not fit: {spec}"

    @invariant()
    def parked_only_between_calls(self) -> None:
        """Out of line only: a callback between attempts, or an outbound task held."""
        held = set(self.r.config.backpressure.outbound.queues)
        # (events of inputs since the last tick are still in the router's outbox)
        pending = {e.inquiry_id for e in self.r._events if type(e).__name__ == "CallbackScheduled"}
        for t in self.r._tickets.values():
            if t.state == PARKED:
                called = t.id in self.callbacks or t.id in pending
                assert called or t.queue.name in held, f"{t.id} parked, lost"

    @invariant()
    def closed_queues_answer_nobody(self) -> None:
        hours = self.hours()
        if not hours.spans:
            return
        now = self.r.now
        for t in self.r._tickets.values():
            q = t.queue.name
            if t.state == WAITING and hours.at_close.get(q) == "closed":
                assert hours.is_open(q, now), f"{t.id} waits in {q}, closed at {now}"

    @invariant()
    def statistics_agree_with_the_records(self) -> None:
        s = self.r.statistics()
        states = [t.state for t in self.r._tickets.values()]
        said = (s.waiting, s.offered, s.in_service, s.wrap_up, s.parked)
        counted = tuple(states.count(k) for k in (WAITING, OFFERED, ASSIGNED, WRAPUP, PARKED))
        assert said == counted, f"statistics say {said}, the records {counted}"
        agents = self.r._agents.values()
        assert s.agents_ready == sum(1 for a in agents if a.state == READY)
        with_room = sum(
            1
            for a in agents
            if a.state == READY and any(a.load.get(ch, 0) < cap for ch, cap in a.caps.items())
        )
        assert s.agents_with_room == with_room, f"{s.agents_with_room} with room, {with_room}"
        assert s.agents_logged_in == len(self.r._agents)

    @invariant()
    def realtime_statistics_agree_with_a_recount(self) -> None:
        # the outbox holds the events of inputs since the last tick: the ledger sees them too
        check_realtime(self.r, self.ledger.with_pending(self.r._events))

    @invariant()
    def estimate_inputs_agree_with_a_recount(self) -> None:
        """The expected wait's inputs are counters kept as agents come, go and change:
        each pool's eligible agents and the caps they sum on its channel
        (``pool_slots``), and the agents with a live entry in its heap
        (``free_agents``) equal a count from scratch, whatever the heap's layout."""
        for pool in self.r._pools.values():
            eligible = [a for a in self.r._agents.values() if any(p is pool for p, _, _ in a.pools)]
            assert pool.eligible == len(eligible), (pool.key, pool.eligible, len(eligible))
            caps = sum(a.caps.get(pool.channel, 0) for a in eligible)
            assert pool.slots == caps, f"{pool.key}: slots {pool.slots}, caps sum {caps}"
            slots = self.r._slots  # heap entries name their agent by slot
            live = [slots[sl] for _, _, sl, is_live in self.r._heap_entries(pool) if is_live]
            for a in live:  # a live entry names a logged-in agent
                assert self.r._agents.get(a.id) is a, f"{pool.key}: {a.id} listed, gone"
            assert len(live) == len({a.id for a in live}), f"{pool.key}: listed twice"
            assert pool.n_listed == len(live), f"{pool.key}: {pool.n_listed} listed, {len(live)}"
            for n in range(10):
                assert free_agents(pool, n) == min(n, len(live))
            assert pool_slots(pool) == max(1.0, float(caps))
        live_in: dict[str, set[int]] = {}
        for pool in self.r._pools.values():
            for _, _, sl, is_live in self.r._heap_entries(pool):
                if is_live:
                    live_in.setdefault(self.r._slots[sl].id, set()).add(id(pool))
        for a in self.r._agents.values():
            where = {id(p) for p in a.listed}
            assert where == live_in.get(a.id, set()), f"{a.id} listed where it has no entry"
            assert len(a.listed) == len(where), f"{a.id} lists a pool twice"

    @invariant()
    def no_timer_before_now(self) -> None:
        """Time never runs back: no timer is set before the router's time (one in the past
        would fire at its own time, and a refused input would restore that time)."""
        nxt = self.r.next_deadline()
        assert nxt is None or nxt >= self.r.now, f"a timer at {nxt}, now={self.r.now}"

    @invariant()
    def z_deadline_counts_agree_with_a_recount(self) -> None:
        # (invariants run in name order: last, so a mutant the other checks hunt, which
        # also unsettles the offer counts, is reported by the check meant for it)
        r = self.r
        # the offer entries name their inquiry by id, the agent timers their agent by slot
        # (atoms only: ``Router._entry_obj``)
        offers = [
            (r._entry_obj(e[2], e[3], e[1]), e[4]) for e in r._deadline_entries() if e[2] == K_OFFER
        ]
        counted = r._offer_entries
        assert counted == len(offers), f"offer deadlines: {counted} counted, {len(offers)} held"
        pending = [
            t.id
            for t, no in offers
            if t is not None
            and r._tickets.get(t.id) is t
            and t.state == OFFERED
            and t.offer_no == no
        ]
        spent = len(offers) - len(pending)
        said = counted - r._n_offered
        assert said == spent, f"spent offer deadlines: {said} counted, {spent} recounted"
        offered = sorted(t.id for t in r._tickets.values() if t.state == OFFERED)
        assert sorted(pending) == offered, f"offers {offered}, their deadlines {sorted(pending)}"
        for at, seq, kind, atom, arg in r._deadline_entries():
            if not r._deadline_spent(kind, atom, arg, seq):
                continue
            obj = r._entry_obj(kind, atom, seq)
            assert not r._deadline_live(kind, atom, arg, at, seq), (
                f"live deadline {kind} of {getattr(obj, 'id', atom)}"
            )
            if kind == K_AGENT:  # an agent's timer is its latest entry (no other revives)
                assert r._agents.get(obj.id) is not obj or obj.timer_seq != arg, (
                    f"timer of {obj.id} dropped, logged in"
                )
            elif kind != K_OFFER and isinstance(obj, Ticket):
                assert r._tickets.get(obj.id) is not obj, f"deadline {kind} of {obj.id} dropped"
        timers = {
            (r._entry_obj(kind, atom, seq).id, at, arg)
            for at, seq, kind, atom, arg in r._deadline_entries()
            if kind == K_AGENT
        }
        for a in r._agents.values():
            if a.timer_at < float("inf"):
                assert (a.id, a.timer_at, a.timer_seq) in timers, f"{a.id}'s timer is lost"

    @invariant()
    def waiting_lines_agree_with_a_recount(self) -> None:
        """Each waiting inquiry has one live entry in its pool's lines; the counters and
        the head equal a recount (``Pool`` in router/state/records.py)."""
        placed: dict[str, int] = {}
        for pool in self.r._pools.values():
            line = [t for t in pool.arrivals if t.ver == FIRST_STAY]
            keys = [(t.aged, t.seq) for t in line]
            assert keys == sorted(keys) and len(set(keys)) == len(keys), (
                f"waiting line of {pool.key} out of order: {keys}"
            )
            heaps = [e[3] for e in pool.waiting if e[3].ver == e[2]]
            declined = [e[3] for e in pool.declined if e[3].ver == e[2]]
            preferring = [e[3] for e in pool.preferring if e[3].ver == e[2]]
            for t in line + heaps + declined + preferring:
                assert t.state == WAITING and t.pool is pool, f"{t.id} stale entry in {pool.key}"
                placed[t.id] = placed.get(t.id, 0) + 1
            assert pool.n_waiting == len(line) + len(heaps) + len(declined) + len(preferring), (
                f"waiting line of {pool.key}: n_waiting {pool.n_waiting}"
            )
            assert pool.n_declined == len(declined), f"waiting line of {pool.key}: n_declined"
            open_ = sorted(line + heaps, key=lambda t: (t.aged, t.seq))
            head = pool.first()
            want = open_[0] if open_ else None
            assert head is want, (
                f"waiting line of {pool.key}: head {head and head.id}, most urgent "
                f"{want and want.id}"
            )
        for t in self.r._tickets.values():
            if t.state == WAITING and t.pool is not None:
                assert placed.get(t.id) == 1, f"{t.id} has {placed.get(t.id, 0)} live entries"
        assert sum(placed.values()) == self.r._waiting

    @invariant()
    def held_tasks_agree_with_a_recount(self) -> None:
        """Outbound tasks held, per queue: exactly the parked tickets the policy holds."""
        o = self.r._bp.outbound
        held: dict[str, int] = {}
        for t in o.holding.values():
            assert self.r._tickets.get(t.id) is t and t.state == PARKED, f"{t.id} held, gone"
            held[t.queue.name] = held.get(t.queue.name, 0) + 1
        assert {k: n for k, n in o.n_held.items() if n} == held, (o.n_held, held)

    @invariant()
    def counters_add_up(self) -> None:
        c = self.r.counters
        assert c.submitted == len(self.submitted), (c.submitted, len(self.submitted))
        live = sum(1 for t in self.r._tickets.values() if t.state != WRAPUP)
        done = c.completed + c.withdrawn + c.abandoned + c.rejected + c.deflected
        done += c.tasks_expired
        assert c.submitted == live + done, f"counters do not add up: {msgspec.structs.asdict(c)}"

    @invariant()
    def breaks_start_only_with_a_place(self) -> None:
        """``wellbeing.max_break_share``: a wellbeing break that started since the last
        step left at most ``max(1, floor(share * n))`` of the ``n`` agents on shift on a
        break, in the agent's team and router-wide (counted here from the records: caller
        breaks count too; agents leaving or logging out may lower ``n`` later). An agent
        whose shift started since the last step, already on a break of its own, is not
        counted on a break: the step may have run past the instant the break was decided
        (a shift starting at that very instant is counted first: a directed test in
        tests/test_wellbeing.py). A team named in ``max_break_share_by_team`` is held to
        its own share. Drains under ``max_drain_share`` hold no break place
        (share50): they are counted apart, at most ``max(1, floor(d * n))`` draining when
        one started since the last step."""
        wb = self.r.config.wellbeing
        agents = self.r._agents.values()
        self._drains_within_their_share()
        now_on = {
            a.id
            for a in agents
            if a.state == BREAK and a.state_reason == "wellbeing" and not a.brk_flags & DRAINING
        }
        started, self.on_wb_break = now_on - self.on_wb_break, now_on
        came = self.off_shift_at_check
        self.off_shift_at_check = {a.id for a in agents if a.off_shift}
        share = wb.max_break_share
        if not started or share is None or wb.max_break_deferral_s is not None:
            return
        staffed = [a for a in agents if not a.off_shift]
        teams = {self.r._agents[aid].team for aid in started}
        for team in [None, *sorted(t for t in teams if t is not None)]:
            group = [a for a in staffed if team is None or a.team == team]
            on_break = sum(
                1
                for a in group
                if a.state == BREAK and a.id not in came and not a.brk_flags & DRAINING
            )
            # a team's own share (max_break_share_by_team, meal51), else the router's
            s = wb.max_break_share_by_team.get(team, share) if team is not None else share
            allowed = max(1, int(s * len(group) + 1e-9))
            who = f"team {team}" if team else "all agents"
            assert on_break <= allowed, (
                f"{sorted(started)} went on a break: {on_break} of {len(group)} in {who} "
                f"on a break, share {s}"
            )

    def _drains_within_their_share(self) -> None:
        """``max_drain_share``: a drain that started since the last check left at most the
        drain share of its team and of all agents on shift draining (a drain is a
        wellbeing notice marked ``DRAINING``: no break place held); a team named in
        ``max_drain_share_by_team`` is held to its own drain share."""
        wb = self.r.config.wellbeing
        agents = self.r._agents.values()
        now = {
            a.id
            for a in agents
            if a.state == BREAK
            and a.state_reason == "wellbeing"
            and not a.break_until
            and a.brk_flags & DRAINING
        }
        started, self.drains_seen = now - self.drains_seen, now
        share = wb.max_drain_share
        if not started or share is None:
            return
        staffed = [a for a in agents if not a.off_shift]
        teams = {self.r._agents[aid].team for aid in started}
        for team in [None, *sorted(t for t in teams if t is not None)]:
            group = [a for a in staffed if team is None or a.team == team]
            n = sum(1 for a in group if a.id in now)
            # a team's own drain share (max_drain_share_by_team, drain52), else the router's
            s = wb.max_drain_share_by_team.get(team, share) if team is not None else share
            allowed = max(1, int(s * len(group) + 1e-9))
            assert n <= allowed, f"{sorted(started)} drain: {n} of {len(group)}, share {s}"

    @invariant()
    def no_agent_stuck_before_its_break(self) -> None:
        """A wellbeing break told and not started (a due break's notice, or a drain for a
        break brought forward: ``drain_for_break``) waits only for work the agent holds: one
        that holds nothing has started its break or is back at work (drain49)."""
        for a in self.r._agents.values():
            if a.state == BREAK and a.state_reason == "wellbeing" and not a.break_until:
                assert a.total_load > 0, f"{a.id} told to break, holds nothing, not on a break"
