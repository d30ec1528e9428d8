"""A config file at a glance: is it a scenario, and its one-line ``check`` summary."""

from __future__ import annotations

from typing import Any

from router.config.schema import RouterConfig

__all__ = ["SCENARIO_KEYS", "is_scenario", "plural", "summary_line"]

#: Top-level tables that make a file a scenario rather than a plain config.
SCENARIO_KEYS: tuple[str, ...] = ("simulation", "arrivals", "surges")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def is_scenario(raw: Any) -> bool:
    """Whether parsed file data is a scenario (has a simulator table)."""
    return isinstance(raw, dict) and any(k in raw for k in SCENARIO_KEYS)


def summary_line(cfg: RouterConfig, raw: Any = None) -> str:
    """``ok: 3 queues, 2 agent profiles (120 agents), policy reject_when_full``."""
    agents = sum(a.count for a in cfg.agents)
    policy = cfg.backpressure.policy
    names = [policy] if isinstance(policy, str) else list(policy)
    parts = [
        plural(len(cfg.queues), "queue"),
        f"{plural(len(cfg.agents), 'agent profile')} ({plural(agents, 'agent')})",
        ("policy " if len(names) == 1 else "policies ") + ", ".join(names),
    ]
    if is_scenario(raw):
        arrivals = raw.get("arrivals", [])
        surges = raw.get("surges", [])
        parts.append(plural(len(arrivals) if isinstance(arrivals, list) else 0, "arrival stream"))
        parts.append(plural(len(surges) if isinstance(surges, list) else 0, "surge"))
        return "ok: scenario, " + ", ".join(parts)
    return "ok: " + ", ".join(parts)
