"""Break staffing: how many agents may be on a break at once, and who goes next.

Theory of operation
-------------------
With ``wellbeing.max_break_share = s``, at most ``floor(s * n)`` of the ``n``
agents on shift may be on a break at once, in each team (``AgentSpec.team``)
and router-wide; a team always allows one (a team smaller than ``1 / s`` can
exceed the share by that one person rather than never break).
``wellbeing.max_break_share_by_team`` gives a team a share of its own in place of
``s`` (its tally's ``share``): a small team whose breaks cannot fit in
``max(1, floor(s * n))`` places gets more (or a team fewer); router-wide ``s`` holds. "On a break"
counts from the notice (the agent stops taking new work and finishes what it
holds) to the end of the break, and includes breaks the caller gave
(``go_on_break``), which the router never refuses.

Agents leaving shortly would make the share of those who stay jump when they
go, so a second test looks ahead one ``break_s`` to the worst case: the agents
leaving from work gone, every break (those of leaving agents too: they may leave
last) still running, the share of those who remain kept. An agent is *leaving* when its
run of shifts ends within ``break_s`` (``router/state/schedule.py``), or when it is
logging out or away at its shift end. A break starts only if both tests pass in
its team and router-wide; when the work in flight is done and the break really
starts, the look-ahead is checked again (someone may have become leaving since
the notice), and if it fails the agent goes back to work, first in line.

An agent whose break does not fit keeps working; its break is *deferred*,
queued by the time it fell due. Whenever a place opens (a break ends, agents
come on shift, a leaving agent is no longer leaving), the deferred agent due
earliest whose team has a place goes. ``max_break_deferral_s`` bounds the wait:
past it the agent goes anyway, above the share (wellbeing first).

With ``wellbeing.break_window_s = w`` breaks are also brought *forward*, so that a
team that became due together (it logged in together) spreads its breaks over the
window instead of queueing past due: an agent that frees up (its work in flight
done, never cut) within ``w`` before its break falls due is an *early candidate*,
queued by its due time; a candidate still idle when a place opens may take it.
Places go first to the deferred breaks (due already), then to the candidates,
earliest due first, and never above the share (the same two tests): a candidate goes
only if the members of its group (team, or the agents of no team) due before it and not
on a break (deferred ones included, leaving ones not) are fewer than the places left,
so a place waits for the one due first to free up rather than going to a later one
(O(group) per decision, only with the window); when that one starts leaving or goes off
shift, or its stretch restarts after a rest as long as a break (at its timer, or when it
takes work: the core's ``_early_look``), it no longer counts ahead, and the candidates are
looked at again at once (a pass's end for work taken). The
core says who is a candidate and when (``Router._early_due``); a candidate that took
work again, rested as long as a break, reached its due time (the break is then due as
above), went on a break the caller gave or leaves before it falls due is dropped when
met at a queue's head. An early break is a wellbeing break like any (a new stretch at its end);
``max_break_deferral_s`` concerns only breaks past due. With ``drain_for_break`` a
candidate need not be free: one holding work is given its early break all the same, as a
notice (it *drains*: no new work, the break starts when it holds nothing), and counts on
a break from that notice, so draining agents take places like any break; the core asks
every agent when its window opens, not only when it frees up.

With ``wellbeing.max_drain_share = d`` as well, drains have a share of their own: a
draining agent still serves its work, so it counts as *draining* (``DRAINING``), not on a
break, and at most ``max(1, floor(d * n))`` of a team and of all agents drain at once (no
look-ahead: a drain leaves no one short of work); ``wellbeing.max_drain_share_by_team``
gives a team a drain share of its own in place of ``d`` (its tally's ``drain_share``),
router-wide ``d`` still holding. A busy early candidate then needs a drain
place, not a break place (earliest due first still; the members due before it are not
waited for: any of them in its window is a candidate too). When its work is done the
break starts if a break place is free (:meth:`has_place`, both tests); if not, the agent
goes back to work with its break deferred (queued by its due time, even before it falls
due) and goes first when a place opens, as a deferred break: from that notice it holds its
place (as every notice does without the drain share), so a place is never promised twice
and an agent never drains twice for one place. The core marks a drain in its flags (the
bit stays while the agent drains: a recount keeps it, a snapshot carries it).

The core (``router/core.py``) tells this module what each agent counts as
(:meth:`BreakStaffing.count`, with flags it computes from the agent's state)
after every change; the tallies are plain counters, so every decision is O(1)
plus O(teams) when places open.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush

from router.state.records import READY, Agent

__all__ = ["DRAINING", "LEAVING", "ON_BREAK", "STAFFED", "BreakStaffing"]

# what an agent counts as (Agent.brk_flags)
STAFFED = 1  # logged in and on shift
ON_BREAK = 2  # on a break, or told to take one and finishing its work
LEAVING = 4  # its run of shifts ends within break_s (or it is already going)
DRAINING = 8  # max_drain_share: draining for an early break, holding no break place

_INF = float("inf")


def _places(share: float, staffed: int) -> int:
    """Places under ``share`` for ``staffed`` agents on shift: at least one."""
    return max(1, math.floor(share * staffed + 1e-9))


class _Tally:
    """Counts of one team (or of the whole router) and its deferred breaks."""

    __slots__ = (
        "deferred",
        "drain_share",
        "draining",
        "early",
        "leaving",
        "members",
        "on_break",
        "on_break_leaving",
        "share",
        "staffed",
    )

    def __init__(self, share: float | None, drain_share: float | None = None) -> None:
        # the break share of this group: the team's own (max_break_share_by_team) or the
        # router's
        self.share = share
        # the team's own drain share (max_drain_share_by_team; None: the router's)
        self.drain_share = drain_share
        self.staffed = 0
        self.on_break = 0
        self.leaving = 0
        self.on_break_leaving = 0
        self.draining = 0
        # (due, incarnation, push counter, agent): a total order without comparing agents
        self.deferred: list[tuple[float, int, int, Agent]] = []
        # early candidates (break_window_s), the same order: (due, incarnation, counter, agent)
        self.early: list[tuple[float, int, int, Agent]] = []
        # the agents on shift whose queues these are (a team; the router's: those of no
        # team): who is due before an early candidate
        self.members: dict[str, Agent] = {}

    def add(self, flags: int, sign: int) -> None:
        if flags & STAFFED:
            self.staffed += sign
            if flags & ON_BREAK:
                self.on_break += sign
            elif flags & DRAINING:
                self.draining += sign
            if flags & LEAVING:
                self.leaving += sign
                if flags & ON_BREAK:
                    self.on_break_leaving += sign


class BreakStaffing:
    """The break-share tallies of one router (see the module docstring)."""

    __slots__ = (
        "all",
        "drain_share",
        "k",
        "k_early",
        "n_deferred",
        "n_early",
        "share",
        "team_drain_shares",
        "team_shares",
        "teams",
    )

    def __init__(self) -> None:
        self.share: float | None = None
        # max_drain_share (None: a drain holds a break place from its notice); the core sets it
        self.drain_share: float | None = None
        # max_break_share_by_team: a team's own break share (:meth:`set_team_shares`)
        self.team_shares: dict[str, float] = {}
        # max_drain_share_by_team: a team's own drain share (:meth:`set_team_shares`)
        self.team_drain_shares: dict[str, float] = {}
        self.all = _Tally(None)
        self.teams: dict[str, _Tally] = {}
        self.n_deferred = 0  # entries in the deferred heaps, stale ones included
        self.k = 0
        self.n_early = 0  # entries in the early heaps, stale ones included
        self.k_early = 0

    @property
    def enabled(self) -> bool:
        return self.share is not None

    def reset(self, share: float | None) -> None:
        """Forget every count (the core counts every agent again)."""
        self.share = share
        self.all = _Tally(share)
        self.teams = {}
        self.n_deferred = 0
        self.n_early = 0

    def set_team_shares(self, shares: dict[str, float], drain_shares: dict[str, float]) -> None:
        """Teams' own break and drain shares (``max_break_share_by_team``,
        ``max_drain_share_by_team``; others: the router's), for the teams counted from now
        on and those counted already."""
        self.team_shares = shares
        self.team_drain_shares = drain_shares
        for name, tally in self.teams.items():
            tally.share = shares.get(name, self.share)
            tally.drain_share = drain_shares.get(name)

    @staticmethod
    def _allowed(share: float | None, staffed: int) -> int:
        if share is None or staffed <= 0:
            return 0
        return _places(share, staffed)

    def count(self, agent: Agent, flags: int) -> bool:
        """Count ``agent`` as ``flags`` from now on; True if that may open a place (or,
        with early candidates, free one held for a member due first)."""
        old = agent.brk_flags
        if flags == old:
            return False
        agent.brk_flags = flags
        team = self._team(agent)
        for tally in (self.all, team) if team is not None else (self.all,):
            tally.add(old, -1)
            tally.add(flags, 1)
        if (old ^ flags) & STAFFED:
            group = team or self.all
            if flags & STAFFED:
                group.members[agent.id] = agent
            else:
                group.members.pop(agent.id, None)
        # a place opens when a break ends, staff grows or someone stops leaving
        gone = old & ~flags
        came = flags & ~old
        if gone & (ON_BREAK | LEAVING | DRAINING) or came & STAFFED:
            return True
        # with early candidates, a member that starts leaving or goes off shift no longer
        # counts as due ahead of them (_first_due): a place it was held for may go now
        return bool(self.n_early and (came & LEAVING or gone & STAFFED))

    def _team(self, agent: Agent) -> _Tally | None:
        name = agent.team
        if name is None:
            return None
        t = self.teams.get(name)
        if t is None:
            t = self.teams[name] = _Tally(
                self.team_shares.get(name, self.share), self.team_drain_shares.get(name)
            )
        return t

    def _fits(self, tally: _Tally, flags: int, extra: int) -> bool:
        """Whether ``tally`` holds ``extra`` more breaks (the agent's own, when not yet
        counted) now and in the worst case within one ``break_s``: every leaving agent
        at work gone, those on a break (this one included) still there."""
        breaks = tally.on_break + extra
        share = tally.share
        if breaks > self._allowed(share, tally.staffed):
            return False
        gone = tally.leaving - tally.on_break_leaving
        if extra and flags & LEAVING:
            gone -= 1  # the agent itself, counted as leaving at work until its break
        return breaks <= self._allowed(share, tally.staffed - gone)

    def has_place(self, agent: Agent) -> bool:
        """Whether ``agent`` (on shift, not yet on a break) may start its break now."""
        flags = agent.brk_flags
        if not self._fits(self.all, flags, 1):
            return False
        team = self._team(agent)
        return team is None or self._fits(team, flags, 1)

    def has_drain_place(self, agent: Agent) -> bool:
        """Whether ``agent`` (on shift, neither draining nor on a break) may start a drain
        now under ``drain_share``, router-wide and in its team (under the team's own share
        if it has one)."""
        share = self.drain_share
        if share is None:
            return False
        tally = self.all
        if tally.draining >= _places(share, tally.staffed):
            return False
        team = self._team(agent)
        if team is None:
            return True
        own = team.drain_share
        return team.draining < _places(own if own is not None else share, team.staffed)

    def still_fits(self, agent: Agent) -> bool:
        """At the start of a break given earlier (the agent is counted on a break)."""
        flags = agent.brk_flags
        if not self._fits(self.all, flags, 0):
            return False
        team = self._team(agent)
        return team is None or self._fits(team, flags, 0)

    def explain(self, agent: Agent) -> str:
        """Why ``agent``'s break waits: the tally that is full."""
        for name, tally in ((agent.team, self._team(agent)), (None, self.all)):
            if tally is None or self._fits(tally, agent.brk_flags, 1):
                continue
            who = f"team {name}" if name is not None else "all agents"
            key = "max_break_share"
            if name is not None and name in self.team_shares:
                key = f"max_break_share_by_team.{name}"
            return (
                f"break_share: {tally.on_break} of {tally.staffed} on a break in {who} "
                f"({key} {tally.share:g}, {tally.leaving} leaving soon)"
            )
        return "break_share"

    def defer(self, agent: Agent, due: float) -> None:
        """Queue ``agent``'s break, due since ``due``, for the next place."""
        agent.break_due = due
        team = self._team(agent)
        self.k += 1
        heappush((team or self.all).deferred, (due, agent.incarnation, self.k, agent))
        self.n_deferred += 1

    def next_to_go(self) -> Agent | None:
        """Take out of its queue the deferred agent due earliest that has a place now."""
        if not self.n_deferred:
            return None
        best: tuple[float, int, int, Agent] | None = None
        best_heap: list[tuple[float, int, int, Agent]] | None = None
        for tally in (self.all, *self.teams.values()):
            heap = tally.deferred
            while heap:
                due, _, _, agent = heap[0]
                if (
                    agent.break_due == due
                    and agent.state == READY
                    and agent.brk_flags & STAFFED
                    and not agent.brk_flags & ON_BREAK
                ):
                    break
                heappop(heap)
                self.n_deferred -= 1
            if heap and (best is None or heap[0][:3] < best[:3]) and self.has_place(heap[0][3]):
                best, best_heap = heap[0], heap
        if best is None or best_heap is None:
            return None
        heappop(best_heap)
        self.n_deferred -= 1
        return best[3]

    def add_early(self, agent: Agent, due: float, due_of: Callable[[Agent], float]) -> None:
        """Queue ``agent`` (due at ``due``) as an early candidate; ``due_of`` says whether an
        entry still stands (the agent's due time while it is a candidate, else inf)."""
        if self.n_early > 64 + 2 * self.all.staffed:  # stale entries outnumber: drop them
            n = 0
            for tally in (self.all, *self.teams.values()):
                tally.early = [e for e in tally.early if due_of(e[3]) == e[0]]
                tally.early.sort()
                n += len(tally.early)
            self.n_early = n
        team = self._team(agent)
        self.k_early += 1
        heappush((team or self.all).early, (due, agent.incarnation, self.k_early, agent))
        self.n_early += 1

    def _first_due(self, tally: _Tally, agent: Agent, due: float, max_work: float) -> bool:
        """Whether ``agent`` (due at ``due``) is among the first of its group by due time
        (then incarnation) for the places left there: the members due before it that are
        not on a break (deferred ones included, leaving ones not: they go home) would
        take the places first. O(group size), only with ``break_window_s``."""
        free = self._allowed(tally.share, tally.staffed) - tally.on_break
        if free <= 0:
            return False
        inc = agent.incarnation
        ahead = 0
        for m in tally.members.values():
            if m is agent or m.brk_flags & (ON_BREAK | LEAVING):
                continue
            d = m.break_due
            if d == _INF:
                d = m.stretch_start + max_work
            if d < due or (d == due and m.incarnation < inc):
                ahead += 1
                if ahead >= free:
                    return False
        return True

    def next_early(self, due_of: Callable[[Agent], float], max_work: float) -> Agent | None:
        """Take out of its queue the early candidate due earliest that has a place now and
        no one in its group due before it waiting for that place (earliest due first:
        a place may wait for that one to free up, work in flight is never cut)."""
        if not self.n_early:
            return None
        best: tuple[float, int, int, Agent] | None = None
        best_heap: list[tuple[float, int, int, Agent]] | None = None
        for tally in (self.all, *self.teams.values()):
            heap = tally.early
            while heap:
                due, _, _, agent = heap[0]
                if due_of(agent) == due:
                    break
                heappop(heap)
                self.n_early -= 1
            if not heap or (best is not None and heap[0][:3] >= best[:3]):
                continue
            head = heap[0][3]
            # a drain (work held beyond offers, which go back at the notice): its own share
            if self.drain_share is not None and head.total_load > len(head.offers):
                if self.has_drain_place(head):
                    best, best_heap = heap[0], heap
            elif self.has_place(head) and self._first_due(tally, head, heap[0][0], max_work):
                best, best_heap = heap[0], heap
        if best is None or best_heap is None:
            return None
        heappop(best_heap)
        self.n_early -= 1
        return best[3]

    def clear_early(self) -> None:
        """Drop every early candidate (the core asks its candidates again)."""
        for tally in (self.all, *self.teams.values()):
            tally.early = []
        self.n_early = 0

    def early_entries(
        self, live: Callable[[Agent], bool]
    ) -> tuple[list[tuple[float, int, int, str]], list[tuple[float, int, int, str | None]]]:
        """The early candidates queued, for the snapshot, stale entries included: those of
        agents ``live`` says are there as (due, incarnation, counter, agent id), and those
        of agents gone as (due, incarnation, counter, team): counted in ``n_early`` until
        popped or dropped, they decide when the heaps are compacted (:meth:`add_early`)."""
        kept: list[tuple[float, int, int, str]] = []
        gone: list[tuple[float, int, int, str | None]] = []
        for tally in (self.all, *self.teams.values()):
            for due, inc, k, agent in tally.early:
                if live(agent):
                    kept.append((due, inc, k, agent.id))
                else:
                    gone.append((due, inc, k, agent.team))
        kept.sort()
        gone.sort(key=lambda e: e[:3])
        return kept, gone

    def restore_early(self, entries: list[tuple[float, int, int, Agent]], k: int) -> None:
        """Put back :meth:`early_entries` (agents resolved; a gone one's a placeholder
        that is no one's candidate, in its team's heap) and the push counter."""
        self.clear_early()
        for due, inc, n, agent in entries:
            team = self._team(agent)
            heappush((team or self.all).early, (due, inc, n, agent))
            self.n_early += 1
        self.k_early = k

    def clear_deferred(self) -> list[Agent]:
        """Drop every deferred break (the guardrail is suspended); returns those agents."""
        out = []
        for tally in (self.all, *self.teams.values()):
            for due, _, _, agent in tally.deferred:
                if agent.break_due == due:
                    agent.break_due = _INF
                    out.append(agent)
            tally.deferred = []
        self.n_deferred = 0
        return out

    def deferred_entries(self) -> list[tuple[float, int, int, str]]:
        """The deferred breaks, for the snapshot: (due, incarnation, counter, agent id)."""
        out = []
        for tally in (self.all, *self.teams.values()):
            for due, inc, k, agent in tally.deferred:
                if agent.break_due == due:
                    out.append((due, inc, k, agent.id))
        out.sort()
        return out

    def restore_deferred(self, entries: list[tuple[float, int, int, Agent]], k: int) -> None:
        """Put back :meth:`deferred_entries` (agents resolved) and the push counter."""
        for due, inc, n, agent in entries:
            team = self._team(agent)
            heappush((team or self.all).deferred, (due, inc, n, agent))
            self.n_deferred += 1
        self.k = k
