"""``Guardrails.check`` and ``Guardrails.next_time`` against a plain reference.

The two methods are shaped for the agent timer's cost (the tests in the order the
common firing meets them, constants instead of expressions). The reference below is
their plain reading (router/wellbeing.py's theory of operation, test by test in the
order it gives them); random agent records, near every threshold, in every state,
in and out of surge, must get the same action, the same changes to the record and
the same next time from both.
"""

from __future__ import annotations

import random

from router import AgentSpec
from router.config import Wellbeing
from router.state.breaks import LEAVING
from router.state.recent import from_pairs, pairs
from router.state.records import AWAY, BREAK, LOGGING_OUT, READY, Agent
from router.state.schedule import staffed_until
from router.wellbeing import (
    BREAK_OVER,
    CHANGED,
    NOTHING,
    SHIFT_CHANGE,
    SHIFT_END,
    TAKE_BREAK,
    Guardrails,
)

INF = float("inf")


def _limit(g: Guardrails, agent: Agent, surge: bool) -> float | None:
    if agent.shift_end is None:
        return None
    if surge and "shift" in g.wb.suspend_in_surge:
        return agent.shift_end + g.wb.max_overtime_s
    return agent.shift_end


def _work_on(g: Guardrails, surge: bool) -> bool:
    return g.wb.max_continuous_work_s is not None and not (
        surge and "continuous_work" in g.wb.suspend_in_surge
    )


def ref_next_time(g: Guardrails, agent: Agent, surge: bool, staffing: bool) -> float:
    wb = g.wb
    times = [INF]
    if agent.state == READY:
        if _work_on(g, surge):
            assert wb.max_continuous_work_s is not None
            if agent.break_due == INF:
                times.append(agent.stretch_start + wb.max_continuous_work_s)
            elif wb.max_break_deferral_s is not None:
                times.append(agent.break_due + wb.max_break_deferral_s)
        limit = _limit(g, agent, surge)
        if limit is not None:
            times.append(limit)
    elif agent.state == BREAK and agent.state_reason == "wellbeing":
        limit = _limit(g, agent, surge)
        if limit is not None:
            times.append(limit)
    if agent.state != LOGGING_OUT:
        times.append(agent.shift_next)
    if agent.break_until:
        times.append(agent.break_until)
    if agent.heavy_block_until:
        times.append(agent.heavy_block_until)
    if agent.cooldown_until > -INF:
        times.append(agent.cooldown_until)
    if agent.recent:  # (at, handle) entries, either form (router/state/recent.py)
        times.append(pairs(agent.recent)[0][0] + g.window)
    if staffing and not agent.brk_flags & LEAVING:
        until = staffed_until(agent, _limit(g, agent, surge))
        if until < INF:
            times.append(until - g.break_s)
    return min(times)


def ref_check(g: Guardrails, agent: Agent, now: float, surge: bool) -> int:
    wb = g.wb
    changed = False
    out = 0
    window = pairs(agent.recent)
    while out < len(window) and window[out][0] + g.window <= now:
        agent.recent_sum -= window[out][1]
        out += 1
    if out:
        agent.recent = from_pairs(window[out:])
        if not agent.recent:
            agent.recent_sum = 0.0
        changed = True
    if agent.heavy_block_until and now >= agent.heavy_block_until:
        agent.heavy_block_until = 0.0
        agent.heavy_streak = 0
        changed = True
    if agent.cooldown_until > -INF and now >= agent.cooldown_until:
        agent.cooldown_until = -INF
        changed = True
    if agent.state != LOGGING_OUT and agent.shift_next <= now:
        return SHIFT_CHANGE
    if agent.state == BREAK and agent.state_reason == "wellbeing":
        limit = _limit(g, agent, surge)
        if limit is not None and now >= limit:
            return SHIFT_END
    if agent.state == BREAK and agent.break_until and now >= agent.break_until:
        agent.stretch_start = now
        return BREAK_OVER
    if agent.state == READY:
        limit = _limit(g, agent, surge)
        if limit is not None and now >= limit:
            return SHIFT_END
        if agent.total_load == 0 and now - agent.idle_from >= wb.break_s:
            agent.stretch_start = now
            agent.break_due = INF
        if _work_on(g, surge):
            assert wb.max_continuous_work_s is not None
            if agent.break_due == INF:
                if agent.stretch_start + wb.max_continuous_work_s <= now:
                    return TAKE_BREAK
            elif (
                wb.max_break_deferral_s is not None
                and agent.break_due + wb.max_break_deferral_s <= now
            ):
                return TAKE_BREAK
    return CHANGED if changed else NOTHING


FIELDS = (
    "recent",
    "recent_sum",
    "heavy_block_until",
    "heavy_streak",
    "cooldown_until",
    "stretch_start",
    "break_due",
)


def _random_agent(rng: random.Random, now: float) -> Agent:
    def near() -> float:  # a time at, just before or after ``now``, or further
        return now + rng.choice((-300.0, -60.0, -1.0, 0.0, 0.0, 1.0, 60.0, 300.0))

    agent = Agent(AgentSpec(id="a", skills={"s": 1}, capacity={"voice": 1}), 0.0, 0)
    agent.state = rng.choice((READY, READY, BREAK, AWAY, LOGGING_OUT))
    agent.state_reason = rng.choice(("wellbeing", "manual", ""))
    agent.shift_end = rng.choice((None, near()))
    agent.shift_next = rng.choice((INF, INF, near()))
    agent.break_until = rng.choice((0.0, near()))
    agent.heavy_block_until = rng.choice((0.0, near()))
    agent.heavy_streak = rng.choice((0, 2))
    agent.cooldown_until = rng.choice((-INF, near()))
    agent.stretch_start = near() - rng.choice((0.0, 600.0, 1200.0, 1800.0))
    agent.break_due = rng.choice((INF, INF, near() - 600.0))
    agent.total_load = rng.choice((0, 1))
    agent.idle_from = near() - rng.choice((0.0, 900.0))
    agent.brk_flags = rng.choice((0, LEAVING))
    for _ in range(rng.randrange(4)):  # entries in time order, some out of the window
        at = near() - 600.0
        window = pairs(agent.recent)
        if not window or at >= window[-1][0]:
            agent.recent = from_pairs([*window, (at, 30.0)])
            agent.recent_sum += 30.0
    return agent


def test_check_and_next_time_agree_with_their_plain_reading() -> None:
    rng = random.Random(14)
    seen: set[int] = set()
    for case in range(6000):
        wb = Wellbeing(
            max_continuous_work_s=rng.choice((None, 1200.0, 1800.0)),
            break_s=rng.choice((600.0, 900.0)),
            max_overtime_s=rng.choice((0.0, 60.0)),
            max_break_deferral_s=rng.choice((None, 300.0)),
            suspend_in_surge=rng.sample(["continuous_work", "shift", "heavy", "cooldown"], 2),
        )
        g = Guardrails(wb, recent_window_s=600.0)
        now = 10_000.0
        surge = rng.random() < 0.3
        staffing = rng.random() < 0.5
        seed = rng.getrandbits(64)
        agent = _random_agent(random.Random(seed), now)
        ref = _random_agent(random.Random(seed), now)  # the same record (compiled: no copy)
        assert g.next_time(agent, surge, staffing) == ref_next_time(g, ref, surge, staffing), case
        action = g.check(agent, now, surge)
        assert action == ref_check(g, ref, now, surge), case
        for name in FIELDS:
            got, want = getattr(agent, name), getattr(ref, name)
            if name == "recent":  # (compiled: RecentWork entries, compared by value)
                got, want = pairs(got), pairs(want)
            assert got == want, (case, name)
        assert g.next_time(agent, surge, staffing) == ref_next_time(g, ref, surge, staffing), case
        seen.add(action)
    assert seen == {NOTHING, CHANGED, BREAK_OVER, SHIFT_END, TAKE_BREAK, SHIFT_CHANGE}
