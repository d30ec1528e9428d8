"""The routing features' section of ``python -m bench``: their lifecycle beside today's.

Theory of operation
-------------------
Every case is the lifecycle loop of :class:`bench.workload.SteadyState` (submit,
tick, accept, complete one in-service inquiry, tick) on the same generated
center (:func:`bench.workload.make_workload`, 10,000 agents in the quick and full
runs), changed in one respect:

- ``lifecycle_us_by_mode``: every queue's ``distribution`` set to one mode
  (``scored`` is the workload unchanged);
- ``expression_lifecycle_us``: every queue with the match expression
  :data:`MATCH` over agent and inquiry attributes, so the pool key carries the
  inquiry's language; agents speak Chinese and some of English, Japanese and
  Korean, arrivals ask for one (60/25/10/5%).

"Today's lifecycle" (the workload as is, no feature) runs beside them in the
same process, interleaved round by round, so each ratio (``*_over_lifecycle``,
target at most 1.5) compares neighbours in time on the same machine load.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from typing import Any

import msgspec

from bench.timing import collect_after_setup, interleave, median_us
from bench.workload import SteadyState, Workload, make_workload
from router import AgentSpec, Inquiry, Router
from router.config import DISTRIBUTIONS

__all__ = ["MATCH", "features"]

#: The expression of the ``expression_lifecycle_us`` case: one inquiry attribute (4 values).
MATCH = "inquiry.lang in langs and not (blocked == true)"
_LANGS = ("zh", "en", "ja", "ko")
_LANG_WEIGHTS = (0.60, 0.25, 0.10, 0.05)
_SPEAKS = {"en": 0.5, "ja": 0.2, "ko": 0.1}

Progress = Callable[[str], None]


def _quiet(msg: str) -> None:
    pass


def with_mode(wl: Workload, mode: str) -> Workload:
    """The same center with every queue distributing by ``mode``."""
    queues = [msgspec.structs.replace(q, distribution=mode) for q in wl.queues]
    return _with(wl, queues, wl.agents)


def with_match(wl: Workload, seed: int = 13) -> Workload:
    """The same center with :data:`MATCH` on every queue and languages on every agent."""
    rng = random.Random(seed)
    queues = [msgspec.structs.replace(q, match=MATCH) for q in wl.queues]
    agents: list[AgentSpec] = []
    for a in wl.agents:
        langs = ["zh"] + [lang for lang, p in _SPEAKS.items() if rng.random() < p]
        agents.append(msgspec.structs.replace(a, attributes={"langs": langs}))
    return _with(wl, queues, agents)


def _with(wl: Workload, queues: list[Any], agents: list[AgentSpec]) -> Workload:
    config = msgspec.structs.replace(wl.config, queues=queues)
    return Workload(config, agents, queues, wl.cum_weights, wl.profiles)


class _LanguageState(SteadyState):
    """A steady state whose arrivals carry a ``lang`` attribute."""

    def inquiries(self, k: int) -> list[Inquiry]:
        rnd = self.rng.random
        pick = self.wl.pick_queue
        out = []
        for _ in range(k):
            self.n += 1
            u = rnd()
            lang = _LANGS[-1]
            acc = 0.0
            for name, w in zip(_LANGS, _LANG_WEIGHTS, strict=True):
                acc += w
                if u < acc:
                    lang = name
                    break
            queue = pick(rnd())
            out.append(Inquiry(id=f"{self.prefix}{self.n}", queue=queue, attributes={"lang": lang}))
        return out


def _auto_k(fn: Callable[[int], float], target_s: float = 0.1, probe: int = 4) -> int:
    unit = min(fn(probe) for _ in range(3)) / probe
    return max(probe, int(target_s / max(unit, 1e-9)))


def features(
    n_agents: int, rounds: int, progress: Progress = _quiet, max_k: int | None = None
) -> dict[str, Any]:
    """Lifecycle microseconds per distribution mode and with a match expression, and
    today's lifecycle beside each (see the module docstring).

    ``max_k`` caps the lifecycles per round (the tiny smoke run's small centers): with a
    match expression, an arrival whose language no agent of its queue speaks waits for
    good, so a center of 150 agents runs out of busy agents after about 10,000 lifecycles
    (one in 25 waits), and a faster build would time more of them than that.
    """
    base = make_workload(n_agents)
    builds: dict[str, tuple[Workload, type[SteadyState]]] = {"today": (base, SteadyState)}
    for mode in DISTRIBUTIONS:
        if mode != "scored":
            builds[f"mode/{mode}"] = (with_mode(base, mode), SteadyState)
    builds["expression"] = (with_match(base), _LanguageState)
    cases: dict[str, tuple[Callable[[int], float], int]] = {}
    states: list[SteadyState] = []
    waiting: dict[str, int] = {}
    pools: dict[str, int] = {}
    for name, (wl, kind) in builds.items():
        t0 = time.perf_counter()
        gc.disable()
        router = Router(wl.config)
        state = kind(router, wl, prefix=name[:2])
        collect_after_setup()
        states.append(state)
        waiting[name] = router.total_waiting()
        pools[name] = len(router._pools)
        k = _auto_k(state.run)
        cases[name] = (state.run, k if max_k is None else min(k, max_k))
        progress(f"features: built {name} ({time.perf_counter() - t0:.1f}s)")
    progress(f"features: timing {len(cases)} cases x {rounds} rounds")
    samples = interleave(cases, rounds)
    med = {name: median_us(s) for name, s in samples.items()}
    today = med["today"]
    by_mode = {"scored": today}
    by_mode.update({n.split("/", 1)[1]: us for n, us in med.items() if n.startswith("mode/")})
    out: dict[str, Any] = {
        "lifecycle_us_by_mode": by_mode,
        "expression_lifecycle_us": med["expression"],
        "lifecycle_us_same_run": today,
        "by_mode_over_lifecycle": {m: us / today for m, us in by_mode.items()},
        "expression_over_lifecycle": med["expression"] / today,
        "agents": n_agents,
        "match": MATCH,
        "waiting_at_steady_state": waiting,
        "pools": pools,
        "units_per_round": {name: k for name, (_, k) in cases.items()},
    }
    del states, cases
    gc.collect()
    return out
