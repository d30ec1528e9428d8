"""The async runner: one implementation of the adapters, written against ``Backend``.

Theory of operation
-------------------
A :class:`RouterHandle` owns a sans-I/O :class:`~router.core.Router` and one
*runner* task. Callers' inputs (``submit``, ``accept``, ``complete``, ...) go
straight into the core at the loop's time and only mark the handle *dirty*; they
never match. The runner sleeps until the handle is dirty or the core's
``next_deadline()`` comes due, then calls ``tick(now)`` once and dispatches the
returned events:

- ``Offered`` (and ``Assigned`` in immediate mode) to the agent's session buffer,
  and ``OfferRescinded`` (another agent accepted a ``max_offers > 1`` inquiry first)
  to the session that had already read that offer;
- ``Assigned`` and the endings (``Abandoned``, ``Rejected``, ``Deflected``,
  ``Withdrawn``) to callers blocked in ``wait_assigned``;
- every event to each subscription's bounded buffer.

So a flood of inputs made while the runner sleeps costs one matching pass: the
first input wakes the runner, the others find it already woken (batching).
Waking is a one-shot :class:`~router.adapters._backend.Waiter` per waiting task,
set at most once per tick.

Outcomes are remembered so ``wait_assigned`` works after the fact: the
``Assigned`` event of every inquiry in service, and the last ``history`` endings
(assigned-and-completed, abandoned, rejected, ...) in a bounded ordered dict.

Cancellation: a caller cancelled while it waits for its inquiry (``wait_assigned``,
or ``submit`` held by a ``block`` admission policy) withdraws that inquiry from the
core before the cancellation propagates, so no one is offered a customer who is
gone. An agent session that exits (normally or by an exception) logs the agent
out; the core hands its open offers back to their place in line, and work in
flight stays with the agent until ``complete``.

Presence: with ``[routing] presence_timeout_s`` the core sets away an agent that
sent nothing for that long. A session opened with ``keepalive=True`` (the
default: the agent's code runs in this process) is alive while it is open: one
keepalive task sends a heartbeat for every such session a third of the timeout
apart, and stops with the session. A session that stands for a remote console
(``keepalive=False``, as the example service opens them) forwards only what
the console sends (:meth:`AgentSession.heartbeat` or any other input), so a
console that went silent is timed out by the core.

Clock: the router's ``now`` is the loop's clock, or, when the config's
``[routing.clock]`` says ``unix = true``, Unix time read off the loop's clock
(``_clock.py``).

Checkpoints follow the loop's own convention: on trio every ``await`` here is a
checkpoint; on asyncio, like ``asyncio.Queue.get``, an ``await`` whose answer is
at hand returns without suspending.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import msgspec

from router.adapters._backend import Backend, Waiter
from router.adapters._clock import UnixClock
from router.adapters._errors import InquiryEnded, RouterClosed, SubscriberOverflow
from router.adapters._select import get_backend
from router.config import RouterConfig
from router.core import Router
from router.errors import InvalidState, RouterBroken, UnknownId, WouldBlock
from router.events import (
    Abandoned,
    AgentAway,
    AgentOnBreak,
    Assigned,
    Completed,
    Deflected,
    Offered,
    OfferRescinded,
    Rejected,
    Requeued,
    Transferred,
    Withdrawn,
)
from router.inputs import Input, Reconfigure, Submit
from router.model import Admission, AgentSpec, Inquiry
from router.stats import RouterStatistics

__all__ = [
    "AdapterStatistics",
    "AgentSession",
    "RouterHandle",
    "Subscription",
    "open_router",
]

#: The admission outcome a ``block`` policy returns: the producer must wait for room.
BLOCKED = "blocked"
_WITHDRAWABLE = ("waiting", "offered", "parked")
_INF = math.inf
#: Ticks in a row the core may ask for at the instant it just ticked, with no input between.
_MAX_REPEATS = 1000

Overflow = Literal["disconnect", "drop_oldest"]
Work = Offered | Assigned | OfferRescinded


class AdapterStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """The adapter's own counters beside the core's :class:`RouterStatistics`.

    ``ticks`` against ``inputs`` shows the batching: many inputs per matching pass
    under load.
    """

    backend: str
    ticks: int
    inputs: int
    events: int
    sessions: int
    waiting_callers: int
    blocked_submitters: int
    subscribers: int
    router: RouterStatistics


class _Slot:
    """One caller blocked in ``wait_assigned``."""

    __slots__ = ("error", "result", "waiter")

    def __init__(self, waiter: Waiter) -> None:
        self.waiter = waiter
        self.result: Assigned | None = None
        self.error: BaseException | None = None


class _Blocked:
    """One producer held by a ``block`` admission verdict."""

    __slots__ = ("admission", "error", "inquiry", "waiter")

    def __init__(self, inquiry: Inquiry, waiter: Waiter) -> None:
        self.inquiry = inquiry
        self.waiter = waiter
        self.admission: Admission | None = None
        self.error: BaseException | None = None


class RouterHandle:
    """An open router inside an event loop; get one from :func:`open_router`.

    Methods that wait are ``async`` (``submit``, ``wait_assigned``); everything
    else is a plain function that records an input and returns at once.
    """

    def __init__(
        self, core: Router, backend: Backend, history: int = 10_000, tracing: Any = None
    ) -> None:
        if history < 0:
            raise ValueError(f"history: must be >= 0, got {history}")
        self._core = core
        #: a ``router.observe.tracing.Tracing`` (spans around submit, tick, reconfigure) or None
        self._tracing = tracing
        self._be = backend
        self._now: Callable[[], float] = backend.now
        self._checkpoints = backend.checkpoints
        self._history = history
        self._dirty = True
        self._runner_waiter: Waiter | None = None
        self._closed = False
        self._failure: BaseException | None = None
        self._waiters: dict[str, list[_Slot]] = {}
        self._assigned: dict[str, Assigned] = {}
        self._ended: OrderedDict[str, Any] = OrderedDict()
        self._sessions: dict[str, AgentSession] = {}
        self._subs: list[Subscription] = []
        self._blocked: dict[str, deque[_Blocked]] = {}
        self._immediate = core.config.routing.mode == "immediate"
        self._ticks = 0
        self._inputs = 0
        self._events = 0
        self._keepalive_waiter: Waiter | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            OfferRescinded: self._on_rescinded,
            Assigned: self._on_assigned,
            Completed: self._on_completed,
            Abandoned: self._on_ended,
            Rejected: self._on_ended,
            Deflected: self._on_ended,
            Withdrawn: self._on_ended,
            AgentOnBreak: self._on_agent_paused,
            AgentAway: self._on_agent_paused,
            Requeued: self._on_back_in_line,
            Transferred: self._on_back_in_line,
        }

    # ------------------------------------------------------------------ plumbing

    @property
    def backend(self) -> str:
        """``"trio"`` or ``"asyncio"``."""
        return self._be.name

    @property
    def core(self) -> Router:
        """The sans-I/O core, for reading (``snapshot()``, ``inquiry_state()``).

        Send inputs through the handle, which wakes the runner; an input made on
        the core directly is only matched at the next tick.
        """
        return self._core

    def now(self) -> float:
        """The loop's clock, which is the router's clock."""
        return self._now()

    def _check_open(self) -> None:
        if self._closed:
            if self._failure is not None:
                raise RouterBroken("the router failed earlier") from self._failure
            raise RouterClosed("the router is closed")

    def _input_done(self) -> None:
        """An input changed the core: make sure the runner ticks soon (once)."""
        self._inputs += 1
        if not self._dirty:
            self._dirty = True
            w = self._runner_waiter
            if w is not None:
                w.wake()

    async def _run(self) -> None:
        """Tick when an input came or the core's next deadline is due; never spin.

        A deadline that is not a number, or a core that keeps asking for a tick at
        the instant it just ticked without any input in between, is a bug: the
        router fails (``RouterBroken`` for every caller) instead of busy-looping.
        A due deadline after a tick yields to the loop first, so a burst of due
        work never starves the callers' tasks.
        """
        core = self._core
        be = self._be
        repeats = 0
        just_ticked = False
        try:
            while True:
                if self._dirty:
                    repeats = 0
                else:
                    deadline = core.next_deadline()
                    if deadline is None:
                        deadline = _INF
                    elif deadline != deadline:
                        raise RuntimeError("the core's next deadline is NaN")
                    if deadline > be.now():
                        repeats = 0
                        just_ticked = False
                        w = self._runner_waiter = be.waiter()
                        try:
                            await be.wait_until(w, deadline)
                        finally:
                            self._runner_waiter = None
                        continue  # woken by an input, or by the timer (due? coarse clocks)
                    if just_ticked:  # due again at once: let the other tasks run first
                        if deadline <= core.now:
                            repeats += 1
                            if repeats > _MAX_REPEATS:
                                raise RuntimeError(
                                    f"the core asked for a tick at {deadline!r} {repeats} "
                                    f"times without its time ({core.now!r}) moving on"
                                )
                        just_ticked = False
                        await be.checkpoint()
                        continue
                self._dirty = False
                self._tick()
                just_ticked = True
        except BaseException as exc:
            if not self._closed:
                self._fail(exc)
            raise

    def _tick(self) -> None:
        if self._tracing is None:
            events = self._core.tick(self._now())
        else:
            events = self._tracing.tick(self._core, self._now())
        self._ticks += 1
        if events:
            self._events += len(events)
            handlers = self._handlers
            sessions = self._sessions
            for ev in events:
                if type(ev) is Offered:  # the most frequent one handled: inline
                    session = sessions.get(ev.agent_id)
                    if session is not None:
                        session._deliver(ev)
                    continue
                handler = handlers.get(type(ev))
                if handler is not None:
                    handler(ev)
            if self._subs:
                for sub in list(self._subs):
                    sub._push(events)
        if self._blocked:
            self._retry_blocked()

    # ------------------------------------------------------------------ dispatch

    def _on_rescinded(self, ev: OfferRescinded) -> None:
        # An unread offer is dropped as stale when read; one already read is answered
        # by the rescind, so the agent's screen can take it down.
        session = self._sessions.get(ev.agent_id)
        if session is not None and ev.inquiry_id in session._seen:
            session._seen.discard(ev.inquiry_id)
            session._deliver(ev)

    def _on_agent_paused(self, ev: AgentOnBreak | AgentAway) -> None:
        # The core took back every open offer of this agent: drop them unread, so a
        # later re-offer of the same inquiry is the only one the agent sees.
        session = self._sessions.get(ev.agent_id)
        if session is not None:
            session._buffer.clear()

    def _on_assigned(self, ev: Assigned) -> None:
        self._assigned[ev.inquiry_id] = ev
        slots = self._waiters.pop(ev.inquiry_id, None)
        if slots is not None:
            for slot in slots:
                slot.result = ev
                slot.waiter.wake()
        if self._immediate:
            session = self._sessions.get(ev.agent_id)
            if session is not None:
                session._deliver(ev)

    def _on_back_in_line(self, ev: Requeued | Transferred) -> None:
        # handed back or transferred after its assignment: not in service any more
        self._assigned.pop(ev.inquiry_id, None)

    def _on_completed(self, ev: Completed) -> None:
        assigned = self._assigned.pop(ev.inquiry_id, None)
        if assigned is not None:
            self._remember(ev.inquiry_id, assigned)

    def _on_ended(self, ev: Any) -> None:
        self._remember(ev.inquiry_id, ev)
        slots = self._waiters.pop(ev.inquiry_id, None)
        if slots is not None:
            for slot in slots:
                slot.error = InquiryEnded(ev)
                slot.waiter.wake()

    def _remember(self, inquiry_id: str, ev: Any) -> None:
        ended = self._ended
        ended[inquiry_id] = ev
        if len(ended) > self._history:
            ended.popitem(last=False)

    # ------------------------------------------------------------------ inquiries

    def _submit_input(self, inquiry: Inquiry) -> Admission:
        self._check_open()
        if self._tracing is None:
            adm = self._core.submit(inquiry, self._now())
        else:
            adm = self._tracing.submit(self._core, inquiry, self._now())
        if adm.outcome != BLOCKED:
            self._ended.pop(inquiry.id, None)
            self._input_done()
        return adm

    def submit_nowait(self, inquiry: Inquiry) -> Admission:
        """Submit an inquiry; return its :class:`~router.model.Admission`.

        The admission says admitted (with position and expected wait) or refused
        (rejected, deflected, ... with a reason). Raises
        :class:`~router.errors.WouldBlock` when a ``block`` policy would make the
        producer wait (or producers already wait for that queue).
        """
        self._check_open()
        line = self._blocked.get(inquiry.queue)
        if line:
            raise WouldBlock(
                f"queue {inquiry.queue!r}: {len(line)} producer(s) already wait for room"
            )
        adm = self._submit_input(inquiry)
        if adm.outcome == BLOCKED:
            raise WouldBlock(f"queue {inquiry.queue!r}: {adm.reason or 'full'}")
        return adm

    async def submit(self, inquiry: Inquiry) -> Admission:
        """Submit an inquiry; waits only while a ``block`` admission policy holds it.

        Producers held for one queue are admitted first come, first served. If the
        caller is cancelled while held, nothing is left in the router.
        """
        be = self._be
        if self._checkpoints:
            await be.checkpoint_if_cancelled()
        blocked = self._blocked
        adm = None if blocked and blocked.get(inquiry.queue) else self._submit_input(inquiry)
        if adm is not None and adm.outcome != BLOCKED:
            if self._checkpoints:
                await be.cancel_shielded_checkpoint()
            return adm
        held = _Blocked(inquiry, be.waiter())
        self._blocked.setdefault(inquiry.queue, deque()).append(held)
        try:
            await held.waiter.wait()
        except BaseException:
            if held.admission is None and held.error is None:
                line = self._blocked.get(inquiry.queue)
                if line is not None:
                    line.remove(held)
                    if not line:
                        del self._blocked[inquiry.queue]
            elif held.admission is not None and held.admission.admitted:
                self._withdraw_quietly(inquiry.id)
            raise
        if held.error is not None:
            raise held.error
        assert held.admission is not None
        return held.admission

    def _retry_blocked(self) -> None:
        """Admit held producers, first come first served per queue, while there is room."""
        core = self._core
        now = self._now()
        for queue in list(self._blocked):
            line = self._blocked[queue]
            while line and core.has_room(queue):
                held = line[0]
                try:
                    adm = core.submit(held.inquiry, now)
                except Exception as exc:  # e.g. the queue was removed by reconfigure
                    held.error = exc
                else:
                    if adm.outcome == BLOCKED:
                        break
                    held.admission = adm
                    self._ended.pop(held.inquiry.id, None)
                    self._input_done()
                line.popleft()
                held.waiter.wake()
            if not line:
                del self._blocked[queue]

    def withdraw(self, inquiry_id: str) -> None:
        """The customer left: take a waiting, offered or parked inquiry out."""
        self._check_open()
        self._core.withdraw(inquiry_id, self._now())
        self._input_done()

    def _withdraw_quietly(self, inquiry_id: str) -> None:
        """Withdraw if the inquiry is still withdrawable and the router still open."""
        if self._closed:
            return
        core = self._core
        try:
            if core.inquiry_state(inquiry_id) not in _WITHDRAWABLE:
                return
        except UnknownId:
            return
        core.withdraw(inquiry_id, self._now())
        self._input_done()

    def complete(self, inquiry_id: str) -> None:
        """The inquiry's work is done (any agent; see also ``AgentSession.complete``)."""
        self._check_open()
        self._core.complete(inquiry_id, self._now())
        self._input_done()

    def callback_failed(self, inquiry_id: str) -> None:
        """A callback call did not reach the customer (see ``Router.callback_failed``)."""
        self._check_open()
        self._core.callback_failed(inquiry_id, self._now())
        self._input_done()

    def reset_statistics(self) -> None:
        """Start the since-reset figures of ``statistics()`` over (see
        ``Router.reset_statistics``; the sliding windows go on)."""
        self._check_open()
        self._core.reset_statistics(self._now())
        self._input_done()

    def handle(self, input: Input) -> Admission | int | None:
        """Apply any input of ``router/inputs.py`` at the loop's time, as the core's
        ``handle`` does; a ``Submit`` is :meth:`submit_nowait` (``WouldBlock`` when a
        ``block`` policy would hold it), a ``Reconfigure`` is :meth:`reconfigure`."""
        if isinstance(input, Submit):
            return self.submit_nowait(input.inquiry)
        if isinstance(input, Reconfigure):
            return self.reconfigure(input.config, hand_over=input.hand_over)
        self._check_open()
        result = self._core.handle(input, self._now())
        self._input_done()
        return result

    async def wait_assigned(self, inquiry_id: str) -> Assigned:
        """Wait until the inquiry is assigned; return the ``Assigned`` event.

        Returns at once if it already was (the event is kept while the inquiry is
        in service and among the last ``history`` outcomes after). Raises
        :class:`InquiryEnded` if it ends otherwise (abandoned, rejected, deflected,
        withdrawn), :class:`~router.errors.UnknownId` for an id the router does not
        know, :class:`RouterClosed` if the router closes meanwhile. Cancelling the
        last waiter withdraws the inquiry, then re-raises the cancellation.
        """
        self._check_open()
        be = self._be
        if self._checkpoints:
            await be.checkpoint_if_cancelled()
        known = self._outcome_of(inquiry_id)
        if known is not None:
            if self._checkpoints:
                await be.cancel_shielded_checkpoint()
            if isinstance(known, Assigned):
                return known
            raise InquiryEnded(known)
        slot = _Slot(be.waiter())
        slots = self._waiters.setdefault(inquiry_id, [])
        slots.append(slot)
        try:
            await slot.waiter.wait()
        except BaseException:
            if slot.result is None and slot.error is None:
                slots.remove(slot)
                if not slots:
                    del self._waiters[inquiry_id]
                    self._withdraw_quietly(inquiry_id)
            raise
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    def _outcome_of(self, inquiry_id: str) -> Any:
        """The known outcome (``Assigned`` or an ending), or None if one is coming."""
        ev = self._assigned.get(inquiry_id)
        if ev is not None:
            return ev
        try:
            self._core.inquiry_state(inquiry_id)
        except UnknownId:
            pass
        else:
            return None  # in the router: its outcome comes with a later tick
        if inquiry_id not in self._ended and self._dirty:
            self._tick()  # it may have ended since the last tick: flush, then look
            ev = self._assigned.get(inquiry_id)
            if ev is not None:
                return ev
        ev = self._ended.get(inquiry_id)
        if ev is None:
            raise UnknownId(
                f"unknown inquiry {inquiry_id!r} (never submitted, or ended more than "
                f"{self._history} outcomes ago)"
            )
        return ev

    # ------------------------------------------------------------------ agents

    def set_attributes(self, agent_id: str, attributes: dict[str, Any]) -> None:
        """Replace a logged-in agent's attributes (see ``Router.set_attributes``)."""
        self._check_open()
        self._core.set_attributes(agent_id, attributes, self._now())
        self._input_done()

    def agent(self, spec: AgentSpec, *, keepalive: bool = True) -> AgentSession:
        """An agent session: ``async with router.agent(spec) as session: async for offer in
        session: ...``. Logs in on enter, logs out on exit. ``keepalive``: heartbeats are
        sent for the session while it is open (presence timeouts); ``False`` when the
        session stands for a remote console that sends its own."""
        return AgentSession(self, spec, keepalive=keepalive)

    # ------------------------------------------------------------------ events

    def subscribe(self, maxlen: int = 1000, overflow: Overflow = "disconnect") -> Subscription:
        """A bounded event subscription: ``async with router.subscribe() as events:``.

        It receives every event from the tick after it opens. When a subscriber is
        ``maxlen`` events behind: ``overflow="disconnect"`` (default) delivers what
        it holds, then raises :class:`SubscriberOverflow`; ``"drop_oldest"`` drops
        the oldest events and counts them in ``dropped``.
        """
        if maxlen < 1:
            raise ValueError(f"maxlen: must be >= 1, got {maxlen}")
        if overflow not in ("disconnect", "drop_oldest"):
            raise ValueError(
                f"overflow: unknown policy {overflow!r}; known: 'disconnect', 'drop_oldest'"
            )
        return Subscription(self, maxlen, overflow)

    # ------------------------------------------------------------------ management

    def statistics(self) -> AdapterStatistics:
        """Counters of the adapter and the core's statistics snapshot."""
        return AdapterStatistics(
            backend=self._be.name,
            ticks=self._ticks,
            inputs=self._inputs,
            events=self._events,
            sessions=len(self._sessions),
            waiting_callers=sum(len(s) for s in self._waiters.values()),
            blocked_submitters=sum(len(line) for line in self._blocked.values()),
            subscribers=len(self._subs),
            router=self._core.statistics(),
        )

    def reconfigure(
        self, config: RouterConfig | dict[str, Any], *, hand_over: dict[str, str] | None = None
    ) -> int:
        """Switch to ``config`` atomically; returns the new version (see ``Router.reconfigure``)."""
        self._check_open()
        if self._tracing is None:
            version = self._core.reconfigure(config, self._now(), hand_over=hand_over)
        else:
            version = self._tracing.reconfigure(
                self._core, config, self._now(), hand_over=hand_over
            )
        self._immediate = self._core.config.routing.mode == "immediate"
        self._input_done()
        self._wake_keepalive()
        return version

    # ------------------------------------------------------------------ in-queue changes

    def _change(self, call: Callable[[float], None]) -> None:
        self._check_open()
        call(self._now())
        self._input_done()

    def update_inquiry(
        self,
        inquiry_id: str,
        *,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> None:
        """Re-prioritize or change the requirements of an inquiry in line
        (``Router.update_inquiry``)."""
        self._change(lambda now: self._core.update_inquiry(inquiry_id, now, priority, requires))

    def transfer(
        self,
        inquiry_id: str,
        queue: str,
        *,
        agent_id: str | None = None,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> None:
        """Move an inquiry to another queue, keeping its arrival time (``Router.transfer``)."""
        core = self._core
        self._change(
            lambda now: core.transfer(
                inquiry_id, queue, now, agent_id=agent_id, priority=priority, requires=requires
            )
        )

    def hand_back(
        self, inquiry_id: str, *, agent_id: str | None = None, priority: int | None = None
    ) -> None:
        """Put an assigned inquiry back at its place in line (``Router.hand_back``)."""
        self._change(lambda now: self._core.hand_back(inquiry_id, now, agent_id, priority=priority))

    def update_agent(self, spec: AgentSpec) -> None:
        """A logged-in agent's new spec, without a logout (``Router.update_agent``)."""
        self._change(lambda now: self._core.update_agent(spec, now))

    def heartbeat(self, agent_id: str) -> None:
        """The agent's console is alive (``Router.heartbeat``)."""
        self._change(lambda now: self._core.heartbeat(agent_id, now))

    # ------------------------------------------------------------------ presence

    async def _keepalive(self) -> None:
        """Heartbeats for the open ``keepalive`` sessions, a third of the timeout apart."""
        be = self._be
        while True:
            timeout = self._core.config.routing.presence_timeout_s
            if timeout is None or not any(s.keepalive for s in self._sessions.values()):
                w = self._keepalive_waiter = be.waiter()
                try:
                    await w.wait()  # a keepalive session opened, or a reconfigure
                finally:
                    self._keepalive_waiter = None
                continue
            await be.sleep_until(be.now() + timeout / 3)
            if self._closed:
                return
            now = self._now()
            beats = 0
            for session in list(self._sessions.values()):
                if session.keepalive and session._active:
                    try:
                        self._core.heartbeat(session.id, now)
                    except UnknownId:  # logged out by the core (a shift end)
                        continue
                    beats += 1
            if beats:
                self._input_done()  # deadlines due by now fired: the runner ticks

    def _wake_keepalive(self) -> None:
        w = self._keepalive_waiter
        if w is not None:
            self._keepalive_waiter = None
            w.wake()

    # ------------------------------------------------------------------ closing

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, Exception):
            broken = RouterBroken(f"the router failed: {exc!r}")
            broken.__cause__ = exc
            self._failure = exc
            self._shut(broken)
        else:  # cancelled from outside
            self._shut(RouterClosed("the router is closed"))

    def _close(self) -> None:
        if not self._closed:
            self._shut(RouterClosed("the router is closed"))

    def _shut(self, error: BaseException) -> None:
        self._closed = True
        for slots in self._waiters.values():
            for slot in slots:
                slot.error = error
                slot.waiter.wake()
        self._waiters.clear()
        for line in self._blocked.values():
            for held in line:
                held.error = error
                held.waiter.wake()
        self._blocked.clear()
        for session in list(self._sessions.values()):
            session._end()
        for sub in list(self._subs):
            sub._end()


class AgentSession:
    """One logged-in agent: an async iterator of offers, and the agent's inputs.

    Iterating yields ``Offered`` events (``Assigned`` ones in immediate mode, which
    need no accept). Offers that expired or were taken back before being read are
    skipped. In a queue with ``max_offers > 1`` an offer already read may be
    followed by an ``OfferRescinded`` (another agent accepted first): the offer is
    gone, there is nothing to answer. Iteration ends when the session or the
    router closes.
    """

    def __init__(self, handle: RouterHandle, spec: AgentSpec, *, keepalive: bool = True) -> None:
        self._handle = handle
        self.spec = spec
        self.id = spec.id
        #: heartbeats are sent for this session while it is open (``RouterHandle.agent``)
        self.keepalive = keepalive
        self._buffer: deque[Work] = deque()
        #: inquiries of offers this agent has read and not answered (for rescinds)
        self._seen: set[str] = set()
        self._waiter: Waiter | None = None
        self._active = False
        self._ended = False

    async def __aenter__(self) -> AgentSession:
        h = self._handle
        h._check_open()
        if self._active or self._ended:
            raise InvalidState(f"agent session {self.id!r} was already entered")
        h._core.login(self.spec, h._now())
        self._active = True
        h._sessions[self.id] = self
        h._input_done()
        if self.keepalive:
            h._wake_keepalive()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            self.logout()
        except RouterBroken:
            if exc_info[0] is None:
                raise
            # the block already fails, most likely for the same reason: keep its error

    def logout(self) -> None:
        """Log out now: offers go back in line; work in flight can still be completed."""
        if not self._active:
            return
        self._active = False
        h = self._handle
        if h._sessions.get(self.id) is self:
            del h._sessions[self.id]
        self._end()
        if not h._closed:
            h._core.logout(self.id, h._now())
            h._input_done()

    def _end(self) -> None:
        self._ended = True
        w = self._waiter
        if w is not None:
            w.wake()

    def _deliver(self, ev: Work) -> None:
        self._buffer.append(ev)
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.wake()

    def __aiter__(self) -> AsyncIterator[Work]:
        return self

    async def __anext__(self) -> Work:
        h = self._handle
        be = h._be
        if h._checkpoints:
            await be.checkpoint_if_cancelled()
        buf = self._buffer
        holds = h._core.holds
        while True:
            while buf:
                ev = buf.popleft()
                # Still offered (or, in immediate mode, assigned) to this agent? A declined
                # or expired offer never returns to the same agent, and offers taken back
                # by a break or away are dropped from the buffer (``_on_agent_paused``).
                cls = type(ev)
                if cls is not OfferRescinded:
                    if not holds(ev.inquiry_id, self.id):
                        continue
                    if cls is Offered:
                        self._note_seen(ev.inquiry_id)
                if h._checkpoints:
                    await be.cancel_shielded_checkpoint()
                return ev
            if self._ended:
                raise StopAsyncIteration
            w = self._waiter = be.waiter()
            try:
                await w.wait()
            finally:
                self._waiter = None

    def _note_seen(self, inquiry_id: str) -> None:
        seen = self._seen
        if len(seen) >= 64:  # offers read and never answered (expired): forget them
            holds = self._handle._core.holds
            self._seen = seen = {i for i in seen if holds(i, self.id)}
        seen.add(inquiry_id)

    @property
    def pending(self) -> int:
        """Offers delivered but not read yet (some may have gone stale)."""
        return len(self._buffer)

    def hand_back(self, offer: Work | str, *, priority: int | None = None) -> None:
        """Give an assigned inquiry back unfinished: it waits again at its place, for
        another agent (``Router.hand_back``)."""
        inquiry_id = offer if isinstance(offer, str) else offer.inquiry_id
        self._handle.hand_back(inquiry_id, agent_id=self.id, priority=priority)

    def transfer(
        self,
        offer: Work | str,
        queue: str,
        *,
        priority: int | None = None,
        requires: dict[str, int] | None = None,
    ) -> None:
        """Transfer an inquiry this agent holds to another queue (``Router.transfer``)."""
        inquiry_id = offer if isinstance(offer, str) else offer.inquiry_id
        self._handle.transfer(
            inquiry_id, queue, agent_id=self.id, priority=priority, requires=requires
        )

    def heartbeat(self) -> None:
        """The console is alive (sessions opened with ``keepalive=False`` send these)."""
        self._handle.heartbeat(self.id)

    def accept(self, offer: Work | str) -> None:
        """Take the offered inquiry. Raises InvalidState if the offer already expired."""
        h = self._handle
        h._check_open()
        inquiry_id = self._answer(offer)
        h._core.accept(inquiry_id, h._now(), agent_id=self.id)
        h._input_done()

    def decline(self, offer: Work | str) -> None:
        """Refuse the offer; the inquiry goes back to its place, never to this agent."""
        h = self._handle
        h._check_open()
        inquiry_id = self._answer(offer)
        h._core.decline(inquiry_id, h._now(), agent_id=self.id)
        h._input_done()

    def _answer(self, offer: Work | str) -> str:
        if isinstance(offer, OfferRescinded):
            why = (
                f"{offer.accepted_by!r} accepted it first"
                if offer.accepted_by is not None
                else offer.reason
            )
            raise InvalidState(f"inquiry {offer.inquiry_id!r}: the offer was rescinded ({why})")
        inquiry_id = offer if isinstance(offer, str) else offer.inquiry_id
        self._seen.discard(inquiry_id)
        return inquiry_id

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Replace this agent's attributes; queues' ``match`` expressions are evaluated again."""
        self._handle.set_attributes(self.id, attributes)

    def complete(self, inquiry_id: str) -> None:
        """Finish an inquiry this agent holds (allowed after the session exited)."""
        h = self._handle
        h._check_open()
        core = h._core
        if core.agent_of(inquiry_id) != self.id:
            raise InvalidState(f"inquiry {inquiry_id!r} is not assigned to agent {self.id!r}")
        core.complete(inquiry_id, h._now())
        h._input_done()

    def go_on_break(self, reason: str = "break") -> None:
        """No new offers; open offers go back in line; work in flight continues."""
        h = self._handle
        h._check_open()
        h._core.go_on_break(self.id, h._now(), reason)
        h._input_done()

    def set_ready(self) -> None:
        """Back from a break (or away): offers resume."""
        h = self._handle
        h._check_open()
        h._core.set_ready(self.id, h._now())
        h._input_done()

    def callback_failed(self, offer: Work | str) -> None:
        """The callback call for this offer or assignment did not reach the customer: it
        goes back to its place after ``callback.retry_s`` (see ``Router.callback_failed``)."""
        h = self._handle
        h._check_open()
        inquiry_id = offer if isinstance(offer, str) else offer.inquiry_id
        core = h._core
        if core.agent_of(inquiry_id) != self.id:
            raise InvalidState(f"inquiry {inquiry_id!r} is not offered or assigned to {self.id!r}")
        core.callback_failed(inquiry_id, h._now())
        h._input_done()


class Subscription:
    """A bounded async iterator of every event the router emits."""

    def __init__(self, handle: RouterHandle, maxlen: int, overflow: Overflow) -> None:
        self._handle = handle
        self.maxlen = maxlen
        self.overflow = overflow
        self._drop = overflow == "drop_oldest"
        self._buffer: deque[Any] = deque(maxlen=maxlen if self._drop else None)
        self._waiter: Waiter | None = None
        self._ended = False
        self._overflowed = False
        #: events dropped (``drop_oldest``) or not delivered after a disconnect.
        self.dropped = 0

    async def __aenter__(self) -> Subscription:
        self._handle._check_open()
        self._handle._subs.append(self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._detach()
        self._ended = True

    def _detach(self) -> None:
        subs = self._handle._subs
        if self in subs:
            subs.remove(self)

    def _end(self) -> None:
        self._ended = True
        self._detach()
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None:
            self._waiter = None
            w.wake()

    def _push(self, events: list[Any]) -> None:
        buf = self._buffer
        room = self.maxlen - len(buf)
        if len(events) <= room:
            buf.extend(events)
        elif self._drop:
            self.dropped += len(events) - room
            buf.extend(events)  # the deque's maxlen drops the oldest
        else:
            buf.extend(events[:room])
            self.dropped += len(events) - room
            self._overflowed = True
            self._detach()
        self._wake()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    def _overflow_error(self) -> SubscriberOverflow:
        return SubscriberOverflow(
            f"event subscriber fell {self.maxlen} events behind and was disconnected"
        )

    def receive_nowait(self) -> Any:
        """The next buffered event; raises WouldBlock when none is buffered yet."""
        if self._buffer:
            return self._buffer.popleft()
        if self._overflowed:
            raise self._overflow_error()
        if self._ended:
            raise RouterClosed("the subscription is closed")
        raise WouldBlock("no event buffered")

    async def __anext__(self) -> Any:
        h = self._handle
        be = h._be
        if h._checkpoints:
            await be.checkpoint_if_cancelled()
        while True:
            if self._buffer:
                ev = self._buffer.popleft()
                if h._checkpoints:
                    await be.cancel_shielded_checkpoint()
                return ev
            if self._overflowed:
                raise self._overflow_error()
            if self._ended:
                raise StopAsyncIteration
            w = self._waiter = be.waiter()
            try:
                await w.wait()
            finally:
                self._waiter = None


@asynccontextmanager
async def open_router(
    config: RouterConfig | None = None,
    *,
    backend: str | Backend | None = None,
    history: int = 10_000,
    tracing: Any = None,
) -> AsyncIterator[RouterHandle]:
    """Open a router in the running event loop: ``async with open_router(cfg) as router:``.

    ``backend`` is ``"trio"``, ``"asyncio"`` (``"uvloop"`` is an alias: the loop
    is whichever runs) or None to detect the running one. The router's clock is
    the loop's clock. ``tracing`` (a ``router.observe.tracing.Tracing``) puts
    OpenTelemetry spans around submissions, matching passes and reconfigures.
    On exit, callers still waiting get :class:`RouterClosed`,
    sessions and subscriptions stop iterating, and the runner is cancelled.

    Errors come out as one exception, never a group: the block's own, or
    :class:`~router.errors.RouterBroken` (caused by the core's error) when the
    router failed, whether or not the block failed too.
    """
    be = get_backend(backend)
    if config is not None and config.routing.clock.unix and not isinstance(be, UnixClock):
        be = UnixClock(be)  # now is Unix time, read off the loop's clock
    handle = RouterHandle(Router(config, now=be.now()), be, history, tracing)
    try:
        async with be.task_group() as group:
            group.start_soon(handle._run, "router-runner")
            group.start_soon(handle._keepalive, "router-keepalive")
            try:
                yield handle
            finally:
                handle._close()
                group.cancel()
    except BaseExceptionGroup as group_exc:
        # One exception type whatever failed: the block's own, or RouterBroken when the
        # runner failed (then the block, if it failed too, failed because of it).
        failure = handle._failure
        rest = [e for e in _leaves(group_exc) if e is not failure]
        if rest:
            inner = rest[0]
            raise inner from inner.__cause__
        if failure is not None:
            raise RouterBroken(f"the router failed: {failure!r}") from failure
        raise


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        else:
            out.append(exc)
    return out
