"""Agent scoring: a weighted sum of named features, and its explanation.

Theory of operation: an agent's score for a pool is

    score = w_proficiency * proficiency            # mean (level-1)/4 over required skills
          + w_idle_time   * (now - idle_since) / idle_scale_s
          - w_load        * load_ratio             # busy / cap on the channel (or units)
          - w_recent_work * handled_s_in_window / recent_window_s
          - w_recent_count * inquiries_handled_in_window
          - w_heavy_streak * consecutive_heavy / max_consecutive_heavy

``idle_since`` is the latest of: the agent's last work ending with nothing
else in hand, its becoming ready, its last assignment; so for a one-call agent
the idle term is longest-idle-first (Armony & Ward). Equal scores fall back to
the order agents were listed in, which is also longest-idle-first.

Higher wins. The idle term is linear in ``now`` with the same slope for every
agent, so ordering agents by ``score - w_idle * now / idle_scale_s`` (a
constant between the agent's own state changes) orders them by score at any
later time. That constant, negated, is the heap key: a pool's agent heap never
needs re-sorting as time passes, only when an agent's own state changes.
"""

from __future__ import annotations

from typing import final

from router.config import FEATURES, Routing, Weights
from router.events import FeatureScore
from router.state.recent import SHIFT as RECENT_SHIFT
from router.state.records import Agent, Coeffs, Pool

__all__ = ["Scorer"]


@final
class Scorer:
    """Computes heap keys and explanations for one config version."""

    __slots__ = ("heavy_k", "idle_scale", "window")

    def __init__(self, routing: Routing, heavy_k: int | None) -> None:
        self.idle_scale = routing.idle_scale_s
        self.window = routing.recent_window_s
        self.heavy_k = float(heavy_k or 1)

    @staticmethod
    def proficiency(agent: Agent, pool: Pool) -> float:
        req = pool.requires
        if not req:
            return 0.0
        skills = agent.skills
        # ``sum(... for s, _ in req)`` as a plain loop (compiled, a generator object per
        # call: once per agent and pool made); the same additions in the same order as
        # CPython 3.11's ``sum`` (its first float added to 0 exactly: no term is -0.0)
        total = 0.0
        for s, _ in req:
            total += (skills[s] - 1) / 4.0
        return total / len(req)

    @staticmethod
    def load_ratio(agent: Agent, channel: str) -> float:
        cap = agent.caps.get(channel, 0)
        ratio = agent.load.get(channel, 0) / cap if cap > 0 else 1.0
        if agent.units is not None:
            u = agent.units_used / agent.units
            if u > ratio:
                ratio = u
        return ratio

    def key(self, agent: Agent, pool: Pool, prof: float, w: Coeffs) -> float:
        """Heap key (lower is better); time-invariant between the agent's changes.

        Always ``base_key - w.proficiency * prof``, in that order: float addition is not
        associative, so every path that keys an agent (listing it, a new pool, a restore,
        a batched pass's order) computes the same terms in the same order, bit for bit,
        and equal states list agents in equal order however they were reached."""
        ch = pool.channel
        base = self.base_key(agent, w, agent.load.get(ch, 0), agent.caps.get(ch, 0))
        return base - w.proficiency * prof

    def base_key(self, agent: Agent, w: Coeffs, on: int, cap: int) -> float:
        """The part of :meth:`key` shared by every pool of a channel (all but proficiency);
        ``on`` and ``cap``: the agent's load and capacity on that channel (``_refresh`` has
        read them for its own test). A pool's key is this minus ``w.proficiency * prof``."""
        k = w.idle_time * agent.idle_since / self.idle_scale
        if w.load:  # load_ratio inlined: this runs once per channel on every refresh
            ratio = on / cap if cap > 0 else 1.0
            if agent.units is not None:
                u = agent.units_used / agent.units
                if u > ratio:
                    ratio = u
            k += w.load * ratio
        if w.recent_work:
            k += w.recent_work * agent.recent_sum / self.window
        if w.recent_count:
            k += w.recent_count * (len(agent.recent) >> RECENT_SHIFT)  # its entries
        if w.heavy_streak:
            k += w.heavy_streak * agent.heavy_streak / self.heavy_k
        return k

    def features(self, agent: Agent, pool: Pool, prof: float, now: float) -> dict[str, float]:
        """Feature values at ``now``; each enters the score multiplied by its weight."""
        return {
            "proficiency": prof,
            "idle_time": (now - agent.idle_since) / self.idle_scale,
            "load": -self.load_ratio(agent, pool.channel),
            "recent_work": -agent.recent_sum / self.window,
            "recent_count": -float(len(agent.recent) >> RECENT_SHIFT),
            "heavy_streak": -agent.heavy_streak / self.heavy_k,
        }

    def explain(
        self, agent: Agent, pool: Pool, prof: float, w: Weights, now: float
    ) -> FeatureScore:
        feats = self.features(agent, pool, prof, now)
        weights = {name: float(getattr(w, name)) for name in FEATURES}
        score = sum(feats[n] * weights[n] for n in FEATURES)
        return FeatureScore(agent_id=agent.id, features=feats, weights=weights, score=score)
