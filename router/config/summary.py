"""A config file at a glance: is it a scenario, and its one-line ``check`` summary.

A scenario is a router config plus the simulator's tables; each kind of command takes
one kind. Given the other, a command says which kind the file is and what it needs
(:func:`scenario_given`, :func:`config_given`) instead of a schema error about fields
it did not expect.
"""

from __future__ import annotations

from typing import Any

from router.config.checks import policy_names
from router.config.schema import RouterConfig

__all__ = [
    "SCENARIO_KEYS",
    "config_given",
    "is_scenario",
    "plural",
    "scenario_given",
    "summary_line",
]

#: Top-level tables that make a file a scenario rather than a plain config.
SCENARIO_KEYS: tuple[str, ...] = ("simulation", "arrivals", "surges")
_TABLES = {"simulation": "[simulation]", "arrivals": "[[arrivals]]", "surges": "[[surges]]"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def is_scenario(raw: Any) -> bool:
    """Whether parsed file data is a scenario (has a simulator table)."""
    return isinstance(raw, dict) and any(k in raw for k in SCENARIO_KEYS)


def scenario_given(raw: Any) -> str:
    """The one problem line for a scenario given where a router config belongs."""
    tables = ", ".join(_TABLES[k] for k in SCENARIO_KEYS if k in raw)
    return (
        f"$: a scenario (it has {tables}), not a router config; give a router config, such as "
        "the scenario without those tables (router check FILE says which a file is)"
    )


def config_given() -> str:
    """The one problem line for a router config given where a scenario belongs."""
    return (
        "$: a router config, not a scenario (it has no [simulation], [[arrivals]] or "
        "[[surges]]); a scenario is a router config plus [simulation] and [[arrivals]] "
        "(docs/simulator.md; e.g. examples/spring_festival.toml)"
    )


def summary_line(cfg: RouterConfig, raw: Any = None) -> str:
    """``ok: 3 queues, 2 agent profiles (120 agents), policy reject_when_full``."""
    agents = sum(a.count for a in cfg.agents)
    names = policy_names(cfg.backpressure)
    parts = [
        plural(len(cfg.queues), "queue"),
        f"{plural(len(cfg.agents), 'agent profile')} ({plural(agents, 'agent')})",
        (
            "no policy (every arrival admitted)"
            if not names
            else ("policy " if len(names) == 1 else "policies ") + ", ".join(names)
        ),
    ]
    if is_scenario(raw):
        arrivals = raw.get("arrivals", [])
        surges = raw.get("surges", [])
        parts.append(plural(len(arrivals) if isinstance(arrivals, list) else 0, "arrival stream"))
        parts.append(plural(len(surges) if isinstance(surges, list) else 0, "surge"))
        return "ok: scenario, " + ", ".join(parts)
    return "ok: " + ", ".join(parts)
