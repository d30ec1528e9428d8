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

Three more needs share the same timer. A schedule (``router/state/schedule.py``):
at ``agent.shift_next`` the agent changes shift (``SHIFT_CHANGE``); a wellbeing
break under way at the agent's shift end ends with the shift (the agent goes
home). A cooldown after long heavy work (``cooldown_after_heavy_s``): at its end
the agent is re-listed. Break staffing (``router/state/breaks.py``): a break that
waits for a place has no continuous-work timer (places open on other agents'
events) but, with ``max_break_deferral_s``, one at the end of its deferral; and
``break_s`` before the agent's run of shifts ends, the core counts it as leaving
(:meth:`Guardrails.leaving`). With ``break_window_s`` an agent freed up within that long
before its break falls due may take it early (:meth:`Guardrails.early_due`; the places
are break staffing's): no timer of its own, the core asks when the agent frees up. With
``drain_for_break`` too, the core adds one: when the window opens
(:meth:`Guardrails.window_opens`, in ``Router._agent_next_time``) it asks the agent, work in
flight or not.
"""

from __future__ import annotations

from typing import Final, final

from router.config import Wellbeing
from router.state.breaks import LEAVING
from router.state.recent import NATIVE as NATIVE_RECENT
from router.state.recent import RecentWork
from router.state.records import BREAK, LOGGING_OUT, READY, Agent
from router.state.schedule import staffed_until

__all__ = [
    "BREAK_OVER",
    "CHANGED",
    "NOTHING",
    "SHIFT_CHANGE",
    "SHIFT_END",
    "TAKE_BREAK",
    "Guardrails",
]

# what a timer asks of the core
NOTHING: Final = 0
CHANGED: Final = 1  # the agent's score changed: re-list it
BREAK_OVER: Final = 2  # back to work
SHIFT_END: Final = 3  # no new work: away
TAKE_BREAK: Final = 4  # continuous work reached its limit (or a deferred break its deferral)
SHIFT_CHANGE: Final = 5  # the schedule moves on: another shift, or off shift until the next

_INF: Final = float("inf")
_NEG_INF: Final = -_INF  # (``-_INF`` in a timer's test is a negation per call, pure)


@final
class Guardrails:
    """The wellbeing guardrails of one config version."""

    __slots__ = ("break_s", "max_work", "wb", "window")

    def __init__(self, wellbeing: Wellbeing, recent_window_s: float) -> None:
        self.wb = wellbeing
        self.window = recent_window_s
        # read once per config version (as the core reads ``max_consecutive_heavy``): every
        # timer firing reads them, natively here instead of a struct attribute's lookup
        self.max_work = wellbeing.max_continuous_work_s
        self.break_s = wellbeing.break_s

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

    def cooling(self, agent: Agent, now: float, surge: bool) -> bool:
        """Whether the agent is in a cooldown after long heavy work now."""
        return agent.cooldown_until > now and not self.suspended("cooldown", surge)

    def leaving(self, agent: Agent, now: float, surge: bool) -> bool:
        """Whether the agent's run of shifts ends within ``break_s`` (break staffing)."""
        until = staffed_until(agent, self.shift_limit(agent, surge))
        return now >= until - self.break_s

    def early_due(
        self, agent: Agent, now: float, surge: bool, window: float, drain: bool = False
    ) -> float:
        """When ``agent``'s break falls due, if it may start it ``window`` early now, else
        inf: ready, within the window, freed up within it (``idle_from``) with no work in
        flight, not yet due (a due break is the timer's), not rested (idle as long as a
        break: that was one), not deferred, on shift when it falls due (else it goes home
        instead), and continuous work not suspended in a surge. ``drain``
        (``drain_for_break``): any agent within its window, work in flight or not (it
        drains: no new work, the break starts when it holds nothing)."""
        due = self._due_to_bring_forward(agent, surge)
        if now >= due or now < due - window:  # (inf: none to bring forward)
            return _INF
        if agent.total_load:
            if not drain:
                return _INF
        elif now - agent.idle_from >= self.break_s or (
            not drain and agent.idle_from < due - window
        ):
            return _INF
        if due >= staffed_until(agent, self.shift_limit(agent, surge)):
            return _INF
        return due

    def window_opens(self, agent: Agent, surge: bool, window: float) -> float:
        """When ``agent``'s break window (``window`` before its break falls due) opens, or
        inf (no break to bring forward: see :meth:`early_due`); ``drain_for_break`` asks
        the agent then, work in flight or not."""
        return self._due_to_bring_forward(agent, surge) - window

    def _due_to_bring_forward(self, agent: Agent, surge: bool) -> float:
        """When ``agent``'s break falls due if one may be brought forward at all, else inf:
        a continuous-work limit, the agent ready, not deferred (a deferred break is due
        already), continuous work not suspended in a surge."""
        max_work = self.max_work
        if (
            max_work is None
            or agent.state != READY
            or agent.break_due != _INF
            or self.suspended("continuous_work", surge)
        ):
            return _INF
        return agent.stretch_start + max_work

    def next_time(self, agent: Agent, surge: bool, staffing: bool = False) -> float:
        """The next time a guardrail or window changes this agent, or inf.

        ``staffing``: break staffing is on (the agent's leaving mark needs a timer).
        """
        # each ``if t < nxt: nxt = t`` is ``nxt = min(nxt, t)`` (the same result, NaN
        # included) without a call: every agent timer asks
        nxt = _INF
        state = agent.state
        if state == READY:
            max_work = self.max_work
            if max_work is not None and not self.suspended("continuous_work", surge):
                wb = self.wb
                if agent.break_due == _INF:
                    t = agent.stretch_start + max_work
                    if t < nxt:
                        nxt = t
                elif wb.max_break_deferral_s is not None:
                    t = agent.break_due + wb.max_break_deferral_s
                    if t < nxt:
                        nxt = t
            if agent.shift_end is not None:  # (shift_limit is None without a shift end)
                limit = self.shift_limit(agent, surge)
                if limit is not None and limit < nxt:
                    nxt = limit
        elif state == BREAK and agent.state_reason == "wellbeing":
            limit = self.shift_limit(agent, surge)
            if limit is not None and limit < nxt:
                nxt = limit
        if state != LOGGING_OUT:
            t = agent.shift_next
            if t < nxt:
                nxt = t
        if agent.break_until:
            t = agent.break_until
            if t < nxt:
                nxt = t
        if agent.heavy_block_until:
            t = agent.heavy_block_until
            if t < nxt:
                nxt = t
        if agent.cooldown_until > _NEG_INF:
            t = agent.cooldown_until
            if t < nxt:
                nxt = t
        recent = agent.recent
        if recent:  # its oldest entry's time (router/state/recent.py: two forms)
            if NATIVE_RECENT:
                first: RecentWork = recent[0]
                t = first.at + self.window
            else:
                t = recent[0] + self.window
            if t < nxt:
                nxt = t
        if staffing and not agent.brk_flags & LEAVING:
            until = staffed_until(agent, self.shift_limit(agent, surge))
            if until < _INF:
                t = until - self.break_s
                if t < nxt:
                    nxt = t
        return nxt

    def check(self, agent: Agent, now: float, surge: bool) -> int:
        """The agent's timer fired at ``now``: update its own record, say what the core does."""
        changed = False
        recent = agent.recent
        if recent:
            # same expression as next_time: (t + w) - w may round below t, and a timer
            # due at the oldest entry's time + window must then remove it (no re-fire)
            window = self.window
            i = 0
            n = len(recent)
            if NATIVE_RECENT:  # RecentWork entries (router/state/recent.py)
                while i < n:
                    e: RecentWork = recent[i]
                    if e.at + window > now:
                        break
                    agent.recent_sum -= e.handle
                    i += 1
            else:  # flat pairs: (at, handle) at i, i + 1
                while i < n and recent[i] + window <= now:
                    agent.recent_sum -= recent[i + 1]
                    i += 2
            if i:
                if i == 1:  # the common take (compiled: a pop makes no slice object)
                    recent.pop(0)
                else:
                    del recent[:i]
                if not recent:
                    agent.recent_sum = 0.0
                changed = True
        if agent.heavy_block_until and now >= agent.heavy_block_until:
            agent.heavy_block_until = 0.0
            agent.heavy_streak = 0
            changed = True
        if agent.cooldown_until > _NEG_INF and now >= agent.cooldown_until:
            agent.cooldown_until = _NEG_INF
            changed = True
        state = agent.state
        if state != LOGGING_OUT and agent.shift_next <= now:
            return SHIFT_CHANGE
        if state == READY:  # (first: most timers fire for a ready agent)
            if agent.shift_end is not None:  # (shift_limit is None without a shift end)
                limit = self.shift_limit(agent, surge)
                if limit is not None and now >= limit:
                    return SHIFT_END
            if agent.total_load == 0 and now - agent.idle_from >= self.break_s:
                agent.stretch_start = now  # idle as long as a break: that was one
                agent.break_due = _INF
            max_work = self.max_work
            if max_work is not None and not self.suspended("continuous_work", surge):
                due = agent.break_due
                if due == _INF:
                    if agent.stretch_start + max_work <= now:  # as in next_time
                        return TAKE_BREAK
                else:
                    deferral = self.wb.max_break_deferral_s
                    if deferral is not None and due + deferral <= now:
                        return TAKE_BREAK
        elif state == BREAK:
            if agent.state_reason == "wellbeing":
                limit = self.shift_limit(agent, surge)
                if limit is not None and now >= limit:
                    return SHIFT_END  # the break ends with the shift: the agent goes home
            if agent.break_until and now >= agent.break_until:
                agent.stretch_start = now
                return BREAK_OVER
        return CHANGED if changed else NOTHING
