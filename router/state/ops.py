"""The operations of the core that policies may call: the only door into the Router.

Theory of operation
-------------------
Admission policies, callbacks, outbound tasks and surge mode
(``router/policies/``) decide; the core (``router/core.py``) owns every state
change. A policy never touches the Router: it holds a :class:`CoreOps` and asks
for changes in these terms:

* **reading**: ``now``, ``version``, ``priority_seconds``, ``in_surge``, the
  ``counters`` and the ``estimator``, a queue or an inquiry by name, every live
  inquiry, how many agents are logged in and how many inquiries wait, the
  position a new arrival would take, whether a matching pass is pending, the
  agents freed since the last pass, whether an agent can take work from a pool
  now;
* **a ticket's place**: ``admit`` (a new arrival goes in line), ``hold`` (a new
  arrival is registered out of line), ``enqueue`` (back in line at its
  original place), ``park`` (out of line, keeping its place), ``move`` (to
  another queue), ``relax`` (to a skill-relaxation step), ``try_start`` (give
  a held ticket to an agent now, or leave it held), ``release`` (take an offer
  or assignment back from its agent, without blaming the agent);
* **a ticket's end**: ``end(t, event)`` is the one way a ticket's life ends:
  out of line or off its agent, out of the router, counted and announced by its
  outcome event;
* **effects**: ``emit`` an event, ``schedule`` a policy timer (it comes back to
  the policies' ``fire``), run a matching pass (``match``), switch surge mode
  (``set_surge``: caps, guardrail timers and listings of every agent follow).

Every operation keeps the core's indexes consistent; a policy that wants
something the protocol does not offer must add an operation here, never reach
around it. ``router/core.py`` implements it (``_Ops``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from router.events import Event
from router.state.counting import LiveCounters
from router.state.estimate import WaitEstimator
from router.state.records import Agent, Pool, QueueState, Ticket

__all__ = ["CoreOps", "PolicyTimer"]

#: A policy timer as the core's deadline heap holds it: ``(at, seq, target, purpose)``.
PolicyTimer = tuple[float, int, Any, int]


class CoreOps(Protocol):
    """What the core offers its policies (see the module docstring)."""

    # ------------------------------------------------------------------ reading

    @property
    def now(self) -> float:
        """The router's time."""

    @property
    def version(self) -> int:
        """The config version in force (events carry it)."""

    @property
    def priority_seconds(self) -> float:
        """How many seconds of waiting one priority point is worth."""

    @property
    def in_surge(self) -> bool:
        """Whether surge mode is on."""

    @property
    def counters(self) -> LiveCounters:
        """The router's counters, live (policies add to theirs)."""

    @property
    def estimator(self) -> WaitEstimator:
        """The expected-wait estimator the core feeds."""

    def queue(self, name: str) -> QueueState | None:
        """A configured queue (``None`` if unknown)."""

    def ticket(self, inquiry_id: str) -> Ticket | None:
        """A live inquiry (``None`` once it ended)."""

    def tickets(self) -> Iterable[Ticket]:
        """Every live inquiry, in the order they entered the router."""

    def agent_count(self) -> int:
        """Agents logged in."""

    def total_waiting(self) -> int:
        """Inquiries waiting in line, all queues."""

    def position(self, queue: QueueState, priority: int) -> int:
        """The place (1 = next) a new arrival of ``priority`` would take in ``queue``."""

    def match_pending(self) -> bool:
        """Whether inputs since the last matching pass may still change who waits."""

    def callbacks_waiting(self) -> int:
        """Of :meth:`total_waiting`: callbacks holding their place in line."""

    def staffing_changes(self, pool: Pool) -> list[tuple[float, int]]:
        """Staffing changes the agents' schedules announce for ``pool``: (seconds from now,
        agents more or fewer), in time order (``router/state/staffing.py``)."""

    def freed_agents(self) -> Iterable[Agent]:
        """Agents freed since the last matching pass."""

    def can_take(self, agent: Agent, pool: Pool) -> bool:
        """Whether ``agent`` can take an inquiry of ``pool`` now."""

    def listed_room(self, pool: Pool, need: int) -> int:
        """The inquiries of ``pool`` its listed agents could take now, counted to ``need``
        (a bounded look at the pool's heap: ``Router._listed_room``)."""

    def pool_for(self, t: Ticket) -> Pool:
        """The pool ``t`` belongs in (queue, tenant, skills at its step), created if new."""

    # ------------------------------------------------------------------ a ticket's place

    def admit(self, t: Ticket, pool: Pool) -> None:
        """A new arrival enters the router in line in ``pool``."""

    def hold(self, t: Ticket) -> None:
        """A new arrival enters the router held out of line (``parked``)."""

    def enqueue(self, t: Ticket) -> None:
        """A parked ``t`` goes back in line at its original place."""

    def park(self, t: Ticket) -> None:
        """A waiting (or not yet placed) ``t`` leaves the line but keeps its place."""

    def move(self, t: Ticket, queue: QueueState, step: int) -> None:
        """A waiting ``t`` moves to ``queue`` at relaxation ``step``; its wait there starts now."""

    def relax(self, t: Ticket, step: int) -> None:
        """A waiting ``t`` moves to relaxation ``step`` of its queue."""

    def try_start(self, t: Ticket) -> bool:
        """Give a parked ``t`` to an agent now; if no one can take it, it stays parked."""

    def release(self, t: Ticket) -> None:
        """Take an offered or assigned ``t`` back from its agent (not the agent's fault)."""

    # ------------------------------------------------------------------ a ticket's end

    def end(self, t: Ticket, event: Event) -> None:
        """End ``t``'s life with its outcome ``event`` (counted and emitted)."""

    # ------------------------------------------------------------------ effects

    def emit(self, event: Event) -> None:
        """Add an event to those the next ``tick`` returns."""

    def schedule(self, when: float, target: Any, purpose: int) -> None:
        """A policy timer: ``fire(target, purpose)`` of the policies at ``when``."""

    def policy_timers(self) -> list[PolicyTimer]:
        """Pending policy timers (for the snapshot)."""

    def restore_policy_timer(self, timer: PolicyTimer) -> None:
        """Put back a pending policy timer (restoring a snapshot)."""

    def match(self) -> None:
        """Run a matching pass now."""

    def set_surge(self, on: bool) -> None:
        """Enter or leave surge mode; every agent is re-evaluated."""
