"""Distribution modes: which eligible agent a queue's inquiry goes to.

Theory of operation
-------------------
A pool's agent heap orders the ready agents by a key, lowest first, that stays
valid between the agent's own changes (``router/core.py`` re-lists an agent
whenever it changes). Each mode is such a key, computed when the agent is
listed, never by a scan of all agents at decision time:

===============  =======================================  ==========================
mode             key (lower goes first)                   anchors' names
===============  =======================================  ==========================
scored           ``-score`` (``router/state/scoring.py``)  ACS best-worker scoring
longest_idle     ``idle_since``                           Asterisk/ACS longest idle
least_occupied   load share on the pool's channel         Asterisk fewestcalls
round_robin      the router's sequence number at the      Asterisk rrmemory, ACS
                 agent's last offer in this queue         round robin
best_skill       ``-proficiency`` for the pool            Genesys best available
random           ``floor + Exp(1)`` (below)               Asterisk random
===============  =======================================  ==========================

Ties fall to the entry's listing sequence: the agent listed first, i.e. whose
state changed longest ago.

``random`` must pick uniformly among the listed agents although keys are drawn
when an agent is listed, not at the decision. Keys are ``floor + E`` with ``E``
exponential: when the smallest key ``m`` wins, every other listed key is
``m + Exp(1)`` again given that it exceeded ``m`` (memorylessness), so setting
``floor = m`` and drawing a newly listed agent's key as ``floor + Exp(1)`` keeps
all listed keys identically distributed: each decision is a uniform choice. The
draws come from :class:`Draws`, a counter-based generator (SplitMix64) seeded
by ``[routing] seed``: its whole state is one counter, so a snapshot holds it
(and the live keys), and a restored router draws the same numbers.
"""

from __future__ import annotations

from math import log
from typing import Final

from router.config import DISTRIBUTIONS
from router.state.records import Agent, Pool
from router.state.scoring import Scorer

__all__ = [
    "BEST_SKILL",
    "LEAST_OCCUPIED",
    "LONGEST_IDLE",
    "RANDOM",
    "ROUND_ROBIN",
    "SCORED",
    "Draws",
    "mode_features",
    "mode_key",
    "mode_name",
]

# Final: the compiled build inlines them (a plain module global is a dict lookup per use)
SCORED: Final = 0
LONGEST_IDLE: Final = 1
LEAST_OCCUPIED: Final = 2
ROUND_ROBIN: Final = 3
BEST_SKILL: Final = 4
RANDOM: Final = 5
assert DISTRIBUTIONS[RANDOM] == "random" and DISTRIBUTIONS[SCORED] == "scored"

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class Draws:
    """Deterministic uniform and exponential draws: SplitMix64 over a counter."""

    __slots__ = ("n", "seed")

    def __init__(self, seed: int, n: int = 0) -> None:
        self.seed = seed
        self.n = n

    def uniform(self) -> float:
        """The next draw in ``[0, 1)``."""
        self.n += 1
        z = (self.seed * _GOLDEN + self.n * _GOLDEN) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
        return (z >> 11) * (1.0 / 9007199254740992.0)

    def exp(self) -> float:
        """The next draw of an exponential with mean 1."""
        return -log(1.0 - self.uniform())


def mode_key(mode: int, agent: Agent, pool: Pool, prof: float, draws: Draws) -> float:
    """The heap key of ``agent`` in ``pool`` under a mode other than ``scored``."""
    if mode == LONGEST_IDLE:
        return agent.idle_since
    if mode == LEAST_OCCUPIED:
        return Scorer.load_ratio(agent, pool.channel)
    if mode == ROUND_ROBIN:
        return float(agent.rr.get(pool.queue.name, 0))
    if mode == BEST_SKILL:
        return -prof
    return pool.floor + draws.exp()


def mode_name(mode: int) -> str:
    return DISTRIBUTIONS[mode]


def mode_features(
    mode: int, agent: Agent, pool: Pool, prof: float, key: float | None, now: float
) -> tuple[dict[str, float], float]:
    """The one value a mode orders by, as an explanation's features, and the score (higher
    wins). ``key`` is the agent's heap key when known (``random``: its draw)."""
    if mode == LONGEST_IDLE:
        idle = now - agent.idle_since
        return {"idle_s": idle}, idle
    if mode == LEAST_OCCUPIED:
        occ = Scorer.load_ratio(agent, pool.channel)
        return {"occupancy": occ}, -occ
    if mode == ROUND_ROBIN:
        turn = float(agent.rr.get(pool.queue.name, 0))
        return {"last_turn": turn}, -turn
    if mode == BEST_SKILL:
        return {"proficiency": prof}, prof
    draw = key - pool.floor if key is not None else 0.0
    return {"draw": draw}, -draw
