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
(assigned-and-completed, abandoned, rejected, ...) in a dict by inquiry id, with
their order of arrival beside it in a list to forget the oldest (``_hot.Hub.remember``).

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
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, cast

import msgspec

from router.adapters._backend import Backend, Waiter
from router.adapters._clock import UnixClock
from router.adapters._errors import InquiryEnded, RouterClosed, SubscriberOverflow
from router.adapters._hot import BLOCKED, Blocked, Hub, Inbox, Offers, Slot, Work, offer_id
from router.adapters._select import get_backend
from router.config import RouterConfig
from router.core import Router
from router.errors import InvalidInput, InvalidState, RouterBroken, UnknownId, WouldBlock
from router.events import Assigned
from router.inputs import Input, Reconfigure, Submit
from router.model import Admission, AgentSpec, Inquiry
from router.stats import RouterStatistics
from router.values import check_id, query_id

__all__ = [
    "BLOCKED",
    "AdapterStatistics",
    "AgentSession",
    "RouterHandle",
    "Subscription",
    "open_router",
]

_WITHDRAWABLE = ("waiting", "offered", "parked")
_INF = math.inf
#: Ticks in a row the core may ask for at the instant it just ticked, with no input between.
_MAX_REPEATS = 1000

Overflow = Literal["disconnect", "drop_oldest"]


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


class RouterHandle:
    """An open router inside an event loop; get one from :func:`open_router`.

    Methods that wait are ``async`` (``submit``, ``wait_assigned``); everything
    else is a plain function that records an input and returns at once.
    """

    def __init__(
        self, core: Router, backend: Backend, history: int = 10_000, tracing: Any = None
    ) -> None:
        if type(history) is not int or history < 0:  # (a bool, a float, None: not a count)
            raise ValueError(f"history: must be an integer >= 0, got {history!r}")
        if tracing is not None and not all(
            callable(getattr(tracing, name, None)) for name in ("submit", "tick", "reconfigure")
        ):  # (checked by shape: naming the class would import opentelemetry)
            raise ValueError(
                "tracing: must be a router.observe.tracing.Tracing or None, got "
                + type(tracing).__name__
            )
        self._core = core
        self._be = backend
        self._now: Callable[[], float] = backend.now
        self._checkpoints = backend.checkpoints
        #: the per-inquiry state and work (``_hot.py``: compiled in the compiled build)
        self._hub = hub = Hub(core, backend.now, history, tracing)
        # a producer's plain submit goes straight to the hub (no frame of the method
        # below, which documents it and does the same)
        self.submit_nowait = hub.submit_nowait  # type: ignore[method-assign]

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
        self._hub.check_open()

    def _input_done(self) -> None:
        """An input changed the core: make sure the runner ticks soon (once)."""
        self._hub.input_done()

    async def _run(self) -> None:
        """Tick when an input came or the core's next deadline is due; never spin.

        A deadline that is not a number, or a core that keeps asking for a tick at
        the instant it just ticked without any input in between, is a bug: the
        router fails (``RouterBroken`` for every caller) instead of busy-looping.
        A due deadline after a tick yields to the loop first, so a burst of due
        work never starves the callers' tasks. A tick that returned events is followed
        by one yield before the deadline is read: the callers it woke (agents' sessions,
        ``wait_assigned``) answer at once, their inputs make the next tick due, and the
        core's deadline (whose reading pops the spent offer entries one at a time) is
        read only when none came.
        """
        core = self._core
        be = self._be
        hub = self._hub
        tick = hub.tick
        repeats = 0
        just_ticked = False
        try:
            while True:
                if hub.dirty:
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
                        w = hub.runner_waiter = be.waiter()
                        try:
                            await be.wait_until(w, deadline)
                        finally:
                            hub.runner_waiter = None
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
                hub.dirty = False
                events = hub.events
                tick()
                just_ticked = True
                if hub.events != events and not hub.dirty:
                    # the pass woke callers whose answers (accept, complete) come at once:
                    # let them run first; their inputs make the next pass due, and the core's
                    # next deadline need not be read (its spent offer entries go in bulk)
                    await be.checkpoint()
        except BaseException as exc:
            if not hub.closed:
                self._fail(exc)
            raise

    # ------------------------------------------------------------------ inquiries

    def submit_nowait(self, inquiry: Inquiry) -> Admission:
        """Submit an inquiry; return its :class:`~router.model.Admission`.

        The admission says admitted (with position and expected wait) or refused
        (rejected, deflected, ... with a reason). Raises
        :class:`~router.errors.WouldBlock` when a ``block`` policy would make the
        producer wait (or producers already wait for that queue).
        """
        return self._hub.submit_nowait(inquiry)

    async def submit(self, inquiry: Inquiry) -> Admission:
        """Submit an inquiry; waits only while a ``block`` admission policy holds it.

        Producers held for one queue are admitted first come, first served. If the
        caller is cancelled while held, nothing is left in the router.
        """
        be = self._be
        if self._checkpoints:
            await be.checkpoint_if_cancelled()
        hub = self._hub
        blocked = hub.blocked
        adm = None if blocked and blocked.get(inquiry.queue) else hub.submit(inquiry)
        if adm is not None and adm.outcome != BLOCKED:
            if self._checkpoints:
                await be.cancel_shielded_checkpoint()
            return adm
        held = Blocked(inquiry, be.waiter())
        blocked.setdefault(inquiry.queue, deque()).append(held)
        try:
            await held.waiter.wait()
        except BaseException:
            if held.admission is None and held.error is None:
                line = blocked.get(inquiry.queue)
                if line is not None:
                    line.remove(held)
                    if not line:
                        del blocked[inquiry.queue]
            elif held.admission is not None and held.admission.admitted:
                self._withdraw_quietly(inquiry.id)
            raise
        if held.error is not None:
            raise held.error
        assert held.admission is not None
        return held.admission

    def withdraw(self, inquiry_id: str) -> None:
        """The customer left: take a waiting, offered or parked inquiry out."""
        self._check_open()
        self._core.withdraw(inquiry_id, self._now())
        self._input_done()

    def _withdraw_quietly(self, inquiry_id: str) -> None:
        """Withdraw if the inquiry is still withdrawable and the router still open."""
        if self._hub.closed:
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
        self._hub.complete(inquiry_id)

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
        know (:class:`~router.errors.InvalidInput` for one that is no str),
        :class:`RouterClosed` if the router closes meanwhile. Cancelling the last
        waiter withdraws the inquiry, then re-raises the cancellation.
        """
        query_id(inquiry_id, "inquiry_id")  # (as the core's queries, both builds)
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
        slot = Slot(be.waiter())
        waiters = self._hub.waiters
        slots = waiters.setdefault(inquiry_id, [])
        slots.append(slot)
        try:
            await slot.waiter.wait()
        except BaseException:
            if slot.result is None and slot.error is None:
                slots.remove(slot)
                if not slots:
                    del waiters[inquiry_id]
                    self._withdraw_quietly(inquiry_id)
            raise
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    def _outcome_of(self, inquiry_id: str) -> Any:
        """The known outcome (``Assigned`` or an ending), or None if one is coming."""
        hub = self._hub
        ev = hub.assigned.get(inquiry_id)
        if ev is not None:
            return ev
        try:
            self._core.inquiry_state(inquiry_id)
        except UnknownId:
            pass
        else:
            return None  # in the router: its outcome comes with a later tick
        if inquiry_id not in hub.ended and hub.dirty:
            hub.tick()  # it may have ended since the last tick: flush, then look
            ev = hub.assigned.get(inquiry_id)
            if ev is not None:
                return ev
        ev = hub.ended.get(inquiry_id)
        if ev is None:
            raise UnknownId(
                f"unknown inquiry {inquiry_id!r} (never submitted, or ended more than "
                f"{hub.history} outcomes ago)"
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
        if type(spec) is not AgentSpec:
            raise InvalidInput("agent", f"must be a router.AgentSpec, got {type(spec).__name__}")
        check_id(spec.id, "id")  # the session's key, read before the login checks the rest
        return AgentSession(self, spec, keepalive=keepalive)

    # ------------------------------------------------------------------ events

    def subscribe(self, maxlen: int = 1000, overflow: Overflow = "disconnect") -> Subscription:
        """A bounded event subscription: ``async with router.subscribe() as events:``.

        It receives every event from the tick after it opens. When a subscriber is
        ``maxlen`` events behind: ``overflow="disconnect"`` (default) delivers what
        it holds, then raises :class:`SubscriberOverflow`; ``"drop_oldest"`` drops
        the oldest events and counts them in ``dropped``.
        """
        if type(maxlen) is not int or maxlen < 1:  # (a bool, a float, None: not a length)
            raise ValueError(f"maxlen: must be an integer >= 1, got {maxlen!r}")
        if overflow not in ("disconnect", "drop_oldest"):
            raise ValueError(
                f"overflow: unknown policy {overflow!r}; known: 'disconnect', 'drop_oldest'"
            )
        return Subscription(self, maxlen, overflow)

    # ------------------------------------------------------------------ management

    def statistics(self) -> AdapterStatistics:
        """Counters of the adapter and the core's statistics snapshot."""
        hub = self._hub
        return AdapterStatistics(
            backend=self._be.name,
            ticks=hub.ticks,
            inputs=hub.inputs,
            events=hub.events,
            sessions=len(hub.sessions),
            waiting_callers=sum(len(s) for s in hub.waiters.values()),
            blocked_submitters=sum(len(line) for line in hub.blocked.values()),
            subscribers=len(hub.subs),
            router=self._core.statistics(),
        )

    def reconfigure(
        self, config: RouterConfig | dict[str, Any], *, hand_over: dict[str, str] | None = None
    ) -> int:
        """Switch to ``config`` atomically; returns the new version (see ``Router.reconfigure``)."""
        self._check_open()
        tracing = self._hub.tracing
        if tracing is None:
            version = self._core.reconfigure(config, self._now(), hand_over=hand_over)
        else:
            version = tracing.reconfigure(self._core, config, self._now(), hand_over=hand_over)
        self._hub.immediate = self._core.config.routing.mode == "immediate"
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
        hub = self._hub
        while True:
            timeout = self._core.config.routing.presence_timeout_s
            if timeout is None or not any(s.keepalive for s in hub.sessions.values()):
                w = hub.keepalive_waiter = be.waiter()
                try:
                    await w.wait()  # a keepalive session opened, or a reconfigure
                finally:
                    hub.keepalive_waiter = None
                continue
            await be.sleep_until(be.now() + timeout / 3)
            if hub.closed:
                return
            now = self._now()
            beats = 0
            for inbox in list(hub.sessions.values()):
                if inbox.keepalive and inbox.active:
                    try:
                        self._core.heartbeat(inbox.agent_id, now)
                    except UnknownId:  # logged out by the core (a shift end)
                        continue
                    beats += 1
            if beats:
                self._input_done()  # deadlines due by now fired: the runner ticks

    def _wake_keepalive(self) -> None:
        hub = self._hub
        w = hub.keepalive_waiter
        if w is not None:
            hub.keepalive_waiter = None
            w.wake()

    # ------------------------------------------------------------------ closing

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, Exception):
            broken = RouterBroken(f"the router failed: {exc!r}")
            broken.__cause__ = exc
            self._hub.failure = exc
            self._shut(broken)
        else:  # cancelled from outside
            self._shut(RouterClosed("the router is closed"))

    def _close(self) -> None:
        if not self._hub.closed:
            self._shut(RouterClosed("the router is closed"))

    def _shut(self, error: BaseException) -> None:
        self._hub.shut(error)
        for sub in list(self._hub.subs):
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
        #: the offers delivered and not read yet, and the answers (``_hot.py``)
        self._inbox = inbox = Inbox(handle._hub, spec.id, keepalive)
        # the hot answers go straight to the inbox (no frame of the methods below, which
        # document them and do the same)
        self.accept = inbox.accept  # type: ignore[method-assign]
        self.complete = inbox.complete  # type: ignore[method-assign]

    @property
    def keepalive(self) -> bool:
        """Heartbeats are sent for this session while it is open (``RouterHandle.agent``)."""
        return self._inbox.keepalive

    @keepalive.setter
    def keepalive(self, value: bool) -> None:
        self._inbox.keepalive = value

    async def __aenter__(self) -> AgentSession:
        h = self._handle
        hub = h._hub
        hub.check_open()
        inbox = self._inbox
        if inbox.active or inbox.ended:
            raise InvalidState(f"agent session {self.id!r} was already entered")
        h._core.login(self.spec, h._now())
        inbox.active = True
        hub.sessions[self.id] = inbox
        hub.input_done()
        if inbox.keepalive:
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
        inbox = self._inbox
        if not inbox.active:
            return
        inbox.active = False
        hub = self._handle._hub
        if hub.sessions.get(self.id) is inbox:
            del hub.sessions[self.id]
        inbox.end()
        if not hub.closed:
            hub.core.logout(self.id, hub.now())
            hub.input_done()

    def __aiter__(self) -> AsyncIterator[Work]:
        loop = self._handle._be.loop
        if loop is None:
            return self
        # asyncio: the same reads as ``__anext__`` below, without a coroutine per read
        return cast(AsyncIterator[Work], Offers(self._inbox, loop))

    async def __anext__(self) -> Work:
        h = self._handle
        be = h._be
        if h._checkpoints:
            await be.checkpoint_if_cancelled()
        inbox = self._inbox
        buf = inbox.buffer
        while True:
            if buf:  # take() of an empty buffer is None: no call
                ev = inbox.take()
                if ev is not None:
                    if h._checkpoints:
                        await be.cancel_shielded_checkpoint()
                    return ev
            if inbox.ended:
                raise StopAsyncIteration
            w = inbox.waiter = be.waiter()
            try:
                await w.wait()
            finally:
                inbox.waiter = None

    @property
    def pending(self) -> int:
        """Offers delivered but not read yet (some may have gone stale)."""
        return len(self._inbox.buffer)

    def hand_back(self, offer: Work | str, *, priority: int | None = None) -> None:
        """Give an assigned inquiry back unfinished: it waits again at its place, for
        another agent (``Router.hand_back``)."""
        inquiry_id = offer_id(offer)
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
        inquiry_id = offer_id(offer)
        self._handle.transfer(
            inquiry_id, queue, agent_id=self.id, priority=priority, requires=requires
        )

    def heartbeat(self) -> None:
        """The console is alive (sessions opened with ``keepalive=False`` send these)."""
        self._handle.heartbeat(self.id)

    def accept(self, offer: Work | str) -> None:
        """Take the offered inquiry. Raises InvalidState if the offer already expired."""
        self._inbox.accept(offer)

    def decline(self, offer: Work | str) -> None:
        """Refuse the offer; the inquiry goes back to its place, never to this agent."""
        self._inbox.decline(offer)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Replace this agent's attributes; queues' ``match`` expressions are evaluated again."""
        self._handle.set_attributes(self.id, attributes)

    def complete(self, inquiry_id: str) -> None:
        """Finish an inquiry this agent holds (allowed after the session exited)."""
        self._inbox.complete(inquiry_id)

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
        inquiry_id = offer_id(offer)
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
        self._handle._hub.subs.append(self)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._detach()
        self._ended = True

    def _detach(self) -> None:
        subs = self._handle._hub.subs
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
    # (anything but a RouterConfig is the core's ConfigError below, not an AttributeError here)
    unix = isinstance(config, RouterConfig) and config.routing.clock.unix
    if unix and not isinstance(be, UnixClock):
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
        failure = handle._hub.failure
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
