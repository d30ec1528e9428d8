"""Wellbeing timers: when a guardrail next changes an agent, and what it changes.

Theory of operation
-------------------
Every agent has one pending timer in the core's deadline heap (``Agent.timer_at``),
set to the earliest time any guardrail or window needs to look at it
(:meth:`Guardrails.next_time`): the end of its allowed continuous work, its
shift end (plus overtime when the shift cap is suspended in surge), the end of
a break, the end of a heavy-call recovery pause, the moment the oldest entry
leaves the recent-work window. When the timer fires, :meth:`Guardrails.check`
updates what only concerns the agent's own record (the recent-work window, the
heavy-call streak, a stretch reset after an idle spell as long as a break) and
returns what the core state machine (``router/core.py``) must do: make the
agent ready after its break, send it away at its shift end, send it on a
wellbeing break, or only re-list it because its score changed. Guardrails named
in ``wellbeing.suspend_in_surge`` are off while the router is in surge.
"""

from __future__ import annotations

from router.config import Wellbeing
from router.state.records import BREAK, READY, Agent

__all__ = ["BREAK_OVER", "CHANGED", "NOTHING", "SHIFT_END", "TAKE_BREAK", "Guardrails"]

# what a timer asks of the core
NOTHING = 0
CHANGED = 1  # the agent's score changed: re-list it
BREAK_OVER = 2  # back to work
SHIFT_END = 3  # no new work: away
TAKE_BREAK = 4  # continuous work reached its limit

_INF = float("inf")


class Guardrails:
    """The wellbeing guardrails of one config version."""

    __slots__ = ("wb", "window")

    def __init__(self, wellbeing: Wellbeing, recent_window_s: float) -> None:
        self.wb = wellbeing
        self.window = recent_window_s

    def suspended(self, guardrail: str, surge: bool) -> bool:
        """Whether ``guardrail`` is off now (only in surge, and only if configured so)."""
        return surge and guardrail in self.wb.suspend_in_surge

    def shift_limit(self, agent: Agent, surge: bool) -> float | None:
        """When the agent's shift stops new work (overtime added if suspended in surge)."""
        if agent.shift_end is None:
            return None
        if self.suspended("shift", surge):
            return agent.shift_end + self.wb.max_overtime_s
        return agent.shift_end

    def next_time(self, agent: Agent, surge: bool) -> float:
        """The next time a guardrail or window changes this agent, or inf."""
        nxt = _INF
        wb = self.wb
        if agent.state == READY:
            if wb.max_continuous_work_s is not None and not self.suspended(
                "continuous_work", surge
            ):
                nxt = min(nxt, agent.stretch_start + wb.max_continuous_work_s)
            limit = self.shift_limit(agent, surge)
            if limit is not None:
                nxt = min(nxt, limit)
        if agent.break_until:
            nxt = min(nxt, agent.break_until)
        if agent.heavy_block_until:
            nxt = min(nxt, agent.heavy_block_until)
        if agent.recent:
            nxt = min(nxt, agent.recent[0][0] + self.window)
        return nxt

    def check(self, agent: Agent, now: float, surge: bool) -> int:
        """The agent's timer fired at ``now``: update its own record, say what the core does."""
        changed = False
        if agent.recent:
            # same expression as next_time: (t + w) - w may round below t, and a timer
            # due at recent[0][0] + window must then remove that entry (no re-fire)
            window = self.window
            recent = agent.recent
            i = 0
            while i < len(recent) and recent[i][0] + window <= now:
                agent.recent_sum -= recent[i][1]
                i += 1
            if i:
                del recent[:i]
                if not recent:
                    agent.recent_sum = 0.0
                changed = True
        if agent.heavy_block_until and now >= agent.heavy_block_until:
            agent.heavy_block_until = 0.0
            agent.heavy_streak = 0
            changed = True
        if agent.state == BREAK and agent.break_until and now >= agent.break_until:
            agent.stretch_start = now
            return BREAK_OVER
        if agent.state == READY:
            limit = self.shift_limit(agent, surge)
            wb = self.wb
            if limit is not None and now >= limit:
                return SHIFT_END
            if agent.total_load == 0 and now - agent.idle_from >= wb.break_s:
                agent.stretch_start = now  # idle as long as a break: that was one
            if (
                wb.max_continuous_work_s is not None
                and not self.suspended("continuous_work", surge)
                and agent.stretch_start + wb.max_continuous_work_s <= now  # as in next_time
            ):
                return TAKE_BREAK
        return CHANGED if changed else NOTHING
