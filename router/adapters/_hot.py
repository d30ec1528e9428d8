"""The adapters' per-inquiry work, in plain classes that the compiled build compiles.

Theory of operation: ``_runner.py`` holds the adapters' public classes
(``RouterHandle``, ``AgentSession``, ``Subscription``, ``open_router``): async
methods, context managers and a msgspec Struct of statistics, which stay pure
Python (docs/compiled.md says why). What they do for every inquiry without
awaiting lives here, in two final classes with explicit types that mypyc compiles
(``setup.py``), so the calls into the compiled core are native calls:

- :class:`Hub`, one per open router: the inputs of the hot path (``submit``, an
  agent's ``accept``, ``decline`` and ``complete``) applied to the core at the
  loop's time, the *dirty* mark that wakes the runner once per batch, and
  :meth:`Hub.tick`: one matching pass and the dispatch of its events to agent
  inboxes, callers blocked in ``wait_assigned``, held producers and subscriptions;
- :class:`Inbox`, one per agent session: the offers delivered and not read yet,
  and :meth:`Inbox.take`, the next one still offered to the agent.

Nothing here awaits: a caller that must wait (the runner, an agent reading its
offers, ``wait_assigned``, a held producer) registers a waiter here and awaits it
in ``_runner.py``; this module only wakes waiters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Final, final

from router.adapters._backend import Waiter
from router.adapters._errors import InquiryEnded, RouterClosed
from router.core import Router
from router.errors import InvalidInput, InvalidState, RouterBroken, WouldBlock
from router.events import (
    Abandoned,
    AgentAway,
    AgentOnBreak,
    Assigned,
    Completed,
    Deflected,
    Offered,
    OfferRescinded,
    Queued,
    Rejected,
    Requeued,
    Transferred,
    Withdrawn,
)
from router.model import Admission, Inquiry

__all__ = [
    "BLOCKED",
    "Blocked",
    "FutureWaiter",
    "Hub",
    "Inbox",
    "Offers",
    "Slot",
    "Work",
    "offer_id",
]

#: The admission outcome a ``block`` policy returns: the producer must wait for room.
BLOCKED: Final = "blocked"
#: offers an agent read and never answered (expired) kept before the stale are forgotten
_SEEN_MAX: Final = 64
#: entries of ``Hub.ended_order`` whose outcome was forgotten early (a resubmitted id) kept
#: beyond the live ones before the order is rebuilt from ``Hub.ended``
_STALE_MAX: Final = 64

Work = Offered | Assigned | OfferRescinded

# the event classes the dispatch tells apart (module constants: one load each, compiled)
_OFFERED: Final = Offered
_ASSIGNED: Final = Assigned
_COMPLETED: Final = Completed
_QUEUED: Final = Queued
_RESCINDED: Final = OfferRescinded
_ENDINGS: Final = (Abandoned, Rejected, Deflected, Withdrawn)
_PAUSES: Final = (AgentOnBreak, AgentAway)
_BACK_IN_LINE: Final = (Requeued, Transferred)
_WORK: Final = (Offered, Assigned, OfferRescinded)


def offer_id(offer: object) -> str:
    """The inquiry an agent's answer names: an offer event's (``Work``) or the id given.

    Anything else is the caller's mistake, refused here (InvalidInput naming ``offer``) rather
    than as an AttributeError; an id's value is the core's to check."""
    if isinstance(offer, str):
        return offer
    if isinstance(offer, _WORK):
        return offer.inquiry_id
    raise InvalidInput(
        "offer",
        "must be an offer (Offered, Assigned) or an inquiry id, got " + type(offer).__name__,
    )


@final
class FutureWaiter:
    """asyncio's one-shot wake-up (``_asyncio.py``): a future of the loop, awaited bare.

    Here rather than in ``_asyncio.py`` so that waking an agent's session and making a
    fresh waiter for its next read are native calls in the compiled build. Imports
    nothing of asyncio: the loop makes the future.
    """

    __slots__ = ("fut",)

    def __init__(self, loop: Any) -> None:
        self.fut: Any = loop.create_future()

    def wake(self) -> None:
        fut = self.fut
        # no done() call first (a method call per wake): a done future refuses the result
        try:
            fut.set_result(None)
        except Exception:
            if not fut.done():
                raise
            # done already: its task was cancelled meanwhile (or it was woken before)

    def wait(self) -> Awaitable[None]:
        fut: Awaitable[None] = self.fut
        return fut


@final
class Slot:
    """One caller blocked in ``wait_assigned``."""

    __slots__ = ("error", "result", "waiter")

    def __init__(self, waiter: Waiter) -> None:
        self.waiter = waiter
        self.result: Assigned | None = None
        self.error: BaseException | None = None


@final
class Blocked:
    """One producer held by a ``block`` admission verdict."""

    __slots__ = ("admission", "error", "inquiry", "waiter")

    def __init__(self, inquiry: Inquiry, waiter: Waiter) -> None:
        self.inquiry = inquiry
        self.waiter = waiter
        self.admission: Admission | None = None
        self.error: BaseException | None = None


@final
class Inbox:
    """One agent session's offers delivered and not read yet, and its answers."""

    __slots__ = (
        "active",
        "agent_id",
        "buffer",
        "ended",
        "hub",
        "keepalive",
        "reader",
        "seen",
        "waiter",
    )

    def __init__(self, hub: Hub, agent_id: str, keepalive: bool) -> None:
        self.hub = hub
        self.agent_id = agent_id
        #: heartbeats are sent for this session while it is open
        self.keepalive = keepalive
        self.buffer: deque[Work] = deque()
        #: inquiries of offers this agent has read and not answered (for rescinds)
        self.seen: set[str] = set()
        #: the session's reader waits on it while the buffer is empty
        self.waiter: Waiter | None = None
        #: or, on asyncio, its ``async for`` (:class:`Offers`) waits: a slot of that
        #: type, so that waking it is a native call (compiled), not a protocol's method
        self.reader: Offers | None = None
        self.active = False
        self.ended = False

    def deliver(self, ev: Work) -> None:
        self.buffer.append(ev)
        r = self.reader
        if r is not None:
            self.reader = None
            r.wake()
        w = self.waiter
        if w is not None:
            self.waiter = None
            w.wake()

    def end(self) -> None:
        self.ended = True
        r = self.reader
        if r is not None:
            r.wake()
        w = self.waiter
        if w is not None:
            w.wake()

    def take(self) -> Work | None:
        """The next buffered offer still this agent's, or None when none is buffered.

        A declined or expired offer never returns to the same agent, and offers taken
        back by a break or away are dropped from the buffer (``Hub.tick``), so an
        offer (or, in immediate mode, an assignment) the core no longer gives this
        agent is skipped. A rescind is always returned.
        """
        buf = self.buffer
        core = self.hub.core
        agent_id = self.agent_id
        while buf:
            ev = buf.popleft()
            if type(ev) is _RESCINDED:
                return ev
            inquiry_id = ev.inquiry_id
            if not core.holds(inquiry_id, agent_id):
                continue
            if type(ev) is _OFFERED:
                seen = self.seen
                if len(seen) < _SEEN_MAX:  # the common case of note_seen, inline
                    seen.add(inquiry_id)
                else:
                    self.note_seen(inquiry_id)
            return ev
        return None

    def note_seen(self, inquiry_id: str) -> None:
        seen = self.seen
        if len(seen) >= _SEEN_MAX:  # offers read and never answered (expired): forget them
            core = self.hub.core
            agent_id = self.agent_id
            self.seen = seen = {i for i in seen if core.holds(i, agent_id)}
        seen.add(inquiry_id)

    def answer(self, offer: Work | str) -> str:
        """The inquiry an answer (accept, decline) is about; refuses a rescinded offer."""
        if isinstance(offer, str):
            inquiry_id = offer
        elif isinstance(offer, OfferRescinded):
            why = (
                f"{offer.accepted_by!r} accepted it first"
                if offer.accepted_by is not None
                else offer.reason
            )
            raise InvalidState(f"inquiry {offer.inquiry_id!r}: the offer was rescinded ({why})")
        else:
            inquiry_id = offer_id(offer)
        self.seen.discard(inquiry_id)
        return inquiry_id

    def accept(self, offer: Work | str) -> None:
        hub = self.hub
        if hub.closed:
            hub.check_open()
        if type(offer) is _OFFERED:  # the common case of answer(), inline
            inquiry_id = offer.inquiry_id
            self.seen.discard(inquiry_id)
        else:
            inquiry_id = self.answer(offer)
        hub.core.accept(inquiry_id, hub.now(), self.agent_id)
        hub.input_done()

    def decline(self, offer: Work | str) -> None:
        hub = self.hub
        hub.check_open()
        inquiry_id = self.answer(offer)
        hub.core.decline(inquiry_id, hub.now(), self.agent_id)
        hub.input_done()

    def complete(self, inquiry_id: str) -> None:
        hub = self.hub
        if hub.closed:
            hub.check_open()
        core = hub.core
        if core.agent_of(inquiry_id) != self.agent_id:
            raise InvalidState(f"inquiry {inquiry_id!r} is not assigned to agent {self.agent_id!r}")
        core.complete(inquiry_id, hub.now())
        hub.input_done()


@final
class Offers:
    """asyncio's ``async for`` over one session's offers, with no coroutine per read.

    ``AgentSession.__aiter__`` returns one of these when the loop is asyncio's (the
    backend's ``loop``). It is its own ``__anext__`` awaitable; awaiting it runs
    :meth:`__await__`, the same steps as ``AgentSession.__anext__`` (``take``, then
    the session's end, then wait for a wake-up and read again), as a generator that
    yields a fresh future of the loop to the task while it waits, as ``await future``
    does. A read whose offer is buffered returns at once (asyncio's convention).
    Compiled, the generator is native: a read runs no interpreter frame, returns its
    offer without raising ``StopIteration`` (the generator's send slot), and what
    waits is this object (the inbox's ``reader``, woken by :meth:`wake`), not a fresh
    waiter per read. A task cancelled while it waits gets the cancellation at its
    ``async for``.
    """

    __slots__ = ("fut", "inbox", "loop")

    def __init__(self, inbox: Inbox, loop: Any) -> None:
        self.inbox = inbox
        self.loop = loop
        #: the future the reading task waits on (a fresh one per wait)
        self.fut: Any = None

    def __aiter__(self) -> Offers:
        return self

    def __anext__(self) -> Offers:
        return self

    def __await__(self) -> Generator[Any, None, Work]:
        inbox = self.inbox
        while True:
            if inbox.buffer:  # take() of an empty buffer is None: no call
                ev = inbox.take()
                if ev is not None:
                    return ev
            if inbox.ended:
                raise StopAsyncIteration
            fut = self.fut = self.loop.create_future()
            fut._asyncio_future_blocking = True  # what ``Future.__await__`` sets before it yields
            inbox.reader = self
            try:
                yield fut
            finally:
                inbox.reader = None

    def wake(self) -> None:
        """Wake the reading task (``Hub.tick``, ``Inbox.deliver`` and ``Inbox.end``)."""
        fut = self.fut
        # as FutureWaiter.wake: no done() call first
        try:
            fut.set_result(None)
        except Exception:
            if not fut.done():
                raise
            # done already: the reading task was cancelled while it waited


@final
class Hub:
    """One open router's state between the loop and the core (see the module docstring)."""

    __slots__ = (
        "assigned",
        "blocked",
        "closed",
        "core",
        "dirty",
        "ended",
        "ended_head",
        "ended_order",
        "events",
        "failure",
        "history",
        "immediate",
        "inputs",
        "keepalive_waiter",
        "now",
        "runner_waiter",
        "sessions",
        "subs",
        "ticks",
        "tracing",
        "waiters",
    )

    def __init__(self, core: Router, now: Callable[[], float], history: int, tracing: Any) -> None:
        self.core = core
        #: the loop's clock (the router's clock)
        self.now = now
        #: a ``router.observe.tracing.Tracing`` (spans around submit, tick, reconfigure) or None
        self.tracing = tracing
        self.history = history
        #: an input changed the core since the last tick: the runner ticks
        self.dirty = True
        self.runner_waiter: Waiter | None = None
        self.keepalive_waiter: Waiter | None = None
        self.closed = False
        self.failure: BaseException | None = None
        self.waiters: dict[str, list[Slot]] = {}
        #: the ``Assigned`` event of every inquiry in service
        self.assigned: dict[str, Assigned] = {}
        #: the last ``history`` outcomes (``Assigned`` of completed ones, or the ending), by
        #: inquiry id: a plain dict (an OrderedDict's insert costs twice a dict's), with
        #: its order of arrival kept beside it, in ``ended_order``
        self.ended: dict[str, Any] = {}
        #: the outcomes of ``ended`` as they came (the oldest first), to forget the oldest
        #: one without a scan of a dict's deleted slots; an outcome dropped from ``ended``
        #: early (its id was submitted again) stays here, stale, until it is reached
        #: (``forget_oldest``) or the order is rebuilt (``remember``). A list read from
        #: ``ended_head`` on (the entries before it were forgotten, and are None): its
        #: ``append`` is a native call compiled, a deque's a generic method call; the
        #: forgotten prefix is cut once it is as long as the rest (``forget_oldest``)
        self.ended_order: list[Any] = []
        self.ended_head = 0
        self.sessions: dict[str, Inbox] = {}
        #: the open subscriptions (``_runner.Subscription``: ``_push``, ``_end``)
        self.subs: list[Any] = []
        self.blocked: dict[str, deque[Blocked]] = {}
        self.immediate = core.config.routing.mode == "immediate"
        self.ticks = 0
        self.inputs = 0
        self.events = 0

    # ------------------------------------------------------------------ inputs

    def check_open(self) -> None:
        if self.closed:
            if self.failure is not None:
                raise RouterBroken("the router failed earlier") from self.failure
            raise RouterClosed("the router is closed")

    def input_done(self) -> None:
        """An input changed the core: make sure the runner ticks soon (once)."""
        self.inputs += 1
        if not self.dirty:
            self.dirty = True
            w = self.runner_waiter
            if w is not None:
                w.wake()

    def submit(self, inquiry: Inquiry, nowait: bool = False) -> Admission:
        """The core's admission of ``inquiry`` now; the runner ticks unless it is held
        (``nowait``: a held one raises ``WouldBlock`` instead, :meth:`submit_nowait`)."""
        if self.closed:
            self.check_open()
        if self.tracing is None:
            adm = self.core.submit(inquiry, self.now())
        else:
            adm = self.tracing.submit(self.core, inquiry, self.now())
        if adm.outcome == BLOCKED:  # (the outcome read once: a generic read compiled)
            if nowait:
                raise WouldBlock(f"queue {inquiry.queue!r}: {adm.reason or 'full'}")
            return adm
        ended = self.ended
        inquiry_id = inquiry.id
        if inquiry_id in ended:  # a resubmitted id: its old outcome goes (no call else)
            del ended[inquiry_id]
        self.input_done()
        return adm

    def submit_nowait(self, inquiry: Inquiry) -> Admission:
        """``RouterHandle.submit_nowait`` (bound to it): ``submit``, or ``WouldBlock``.

        Refused with ``WouldBlock`` while producers already wait for the queue's room,
        or when a ``block`` policy would hold this one. Here so that a producer's plain
        submit runs no interpreter frame in the compiled build.
        """
        if self.closed:
            self.check_open()
        blocked = self.blocked
        if blocked:
            line = blocked.get(inquiry.queue)
            if line:
                raise WouldBlock(
                    f"queue {inquiry.queue!r}: {len(line)} producer(s) already wait for room"
                )
        return self.submit(inquiry, True)

    def complete(self, inquiry_id: str) -> None:
        self.check_open()
        self.core.complete(inquiry_id, self.now())
        self.input_done()

    # ------------------------------------------------------------------ the matching pass

    def tick(self) -> None:
        """One matching pass at the loop's time; its events to whoever waits for them."""
        if self.tracing is None:
            events: list[Any] = self.core.tick(self.now())
        else:
            events = self.tracing.tick(self.core, self.now())
        self.ticks += 1
        if events:
            self.events += len(events)
            sessions = self.sessions
            waiters = self.waiters
            assigned_of = self.assigned
            immediate = self.immediate
            for ev in events:
                cls = type(ev)
                if cls is _OFFERED:  # the most frequent one first
                    inbox = sessions.get(ev.agent_id)
                    if inbox is not None:  # deliver(), inline
                        inbox.buffer.append(ev)
                        r = inbox.reader
                        if r is not None:  # asyncio's ``async for``: a native call
                            inbox.reader = None
                            r.wake()
                        else:
                            w = inbox.waiter
                            if w is not None:
                                inbox.waiter = None
                                w.wake()
                elif cls is _ASSIGNED:
                    inquiry_id = ev.inquiry_id
                    # waiters is most often empty: no lookup then (a native size test)
                    if immediate or (waiters and inquiry_id in waiters):
                        self.on_assigned(ev)
                    else:  # nobody waits for it: on_assigned's one effect, inline
                        assigned_of[inquiry_id] = ev
                elif cls is _COMPLETED:
                    inquiry_id = ev.inquiry_id
                    # get and del: dict.pop(key, default) is a generic method call (compiled)
                    assigned = assigned_of.get(inquiry_id)
                    if assigned is not None:
                        del assigned_of[inquiry_id]
                        self.remember(inquiry_id, assigned)
                elif cls is _QUEUED:  # as frequent: nobody here waits for it
                    pass
                elif cls in _ENDINGS:
                    self.on_ended(ev)
                elif cls is _RESCINDED:
                    # An unread offer is dropped as stale when read; one already read is
                    # answered by the rescind, so the agent's screen can take it down.
                    inbox = sessions.get(ev.agent_id)
                    if inbox is not None and ev.inquiry_id in inbox.seen:
                        inbox.seen.discard(ev.inquiry_id)
                        inbox.deliver(ev)
                elif cls in _PAUSES:
                    # The core took back every open offer of this agent: drop them unread,
                    # so a later re-offer of the same inquiry is the only one the agent sees.
                    inbox = sessions.get(ev.agent_id)
                    if inbox is not None:
                        inbox.buffer.clear()
                elif cls in _BACK_IN_LINE:
                    # handed back or transferred after its assignment: not in service any more
                    self.assigned.pop(ev.inquiry_id, None)
            if self.subs:
                for sub in list(self.subs):
                    sub._push(events)
        if self.blocked:
            self.retry_blocked()

    def on_assigned(self, ev: Assigned) -> None:
        self.assigned[ev.inquiry_id] = ev
        slots = self.waiters.pop(ev.inquiry_id, None)
        if slots is not None:
            for slot in slots:
                slot.result = ev
                slot.waiter.wake()
        if self.immediate:
            inbox = self.sessions.get(ev.agent_id)
            if inbox is not None:
                inbox.deliver(ev)

    def on_ended(self, ev: Any) -> None:
        self.remember(ev.inquiry_id, ev)
        slots = self.waiters.pop(ev.inquiry_id, None)
        if slots is not None:
            for slot in slots:
                slot.error = InquiryEnded(ev)
                slot.waiter.wake()

    def remember(self, inquiry_id: str, ev: Any) -> None:
        """Keep ``ev`` (whose ``inquiry_id`` this is) among the last ``history`` outcomes."""
        ended = self.ended
        ended[inquiry_id] = ev
        order = self.ended_order
        order.append(ev)
        if len(ended) > self.history:
            self.forget_oldest()
        elif len(order) - self.ended_head > 2 * len(ended) + _STALE_MAX:
            # mostly stale entries (ids submitted again): the dict has the live ones in order
            self.ended_order = list(ended.values())
            self.ended_head = 0

    def forget_oldest(self) -> None:
        """Drop the oldest outcomes until ``history`` are left (stale entries are skipped)."""
        ended = self.ended
        order = self.ended_order
        history = self.history
        head = self.ended_head
        while len(ended) > history:
            ev = order[head]
            order[head] = None  # forgotten: not kept alive by the order
            head += 1
            inquiry_id = ev.inquiry_id
            if ended.get(inquiry_id) is ev:  # else stale: the id's outcome went before
                del ended[inquiry_id]
        if head == len(order):  # all forgotten (``history`` 0)
            order.clear()
            head = 0
        elif head > _STALE_MAX and 2 * head >= len(order):
            del order[:head]  # the forgotten prefix, cut at most once per its length
            head = 0
        self.ended_head = head

    def retry_blocked(self) -> None:
        """Admit held producers, first come first served per queue, while there is room."""
        core = self.core
        now = self.now()
        for queue in list(self.blocked):
            line = self.blocked[queue]
            while line:
                held = line[0]
                try:
                    if not core.has_room(queue):
                        break
                    adm = core.submit(held.inquiry, now)
                except Exception as exc:  # e.g. the queue was removed by reconfigure
                    held.error = exc
                else:
                    if adm.outcome == BLOCKED:
                        break
                    held.admission = adm
                    self.ended.pop(held.inquiry.id, None)
                    self.input_done()
                line.popleft()
                held.waiter.wake()
            if not line:
                del self.blocked[queue]

    # ------------------------------------------------------------------ closing

    def shut(self, error: BaseException) -> None:
        """Closed: every waiting caller gets ``error``; sessions end (subscriptions: the caller)."""
        self.closed = True
        for slots in self.waiters.values():
            for slot in slots:
                slot.error = error
                slot.waiter.wake()
        self.waiters.clear()
        for line in self.blocked.values():
            for held in line:
                held.error = error
                held.waiter.wake()
        self.blocked.clear()
        for inbox in list(self.sessions.values()):
            inbox.end()
