"""The seed scenarios of examples/ and cached runs of them, shared by the simulator tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from router.sim import build_report, decode_scenario, load_scenario, simulate
from router.sim.engine import SimResult

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEED_SCENARIOS = [
    "airline_complaints.toml",
    "alipay_hotline.toml",
    "mafengwo_refund_flood.toml",
    "spring_festival.toml",
    "taobao_fliggy_chat.toml",
    "tujia_24h.toml",
]

#: 60 agents logging in together for a 4-hour day, a break due after each hour; ``{wellbeing}``
#: adds lines to its ``[wellbeing]`` table (a break share, a break window)
TEAM_DAY = """
[wellbeing]
max_continuous_work_s = 3600
break_s = 900
{wellbeing}
[[queues]]
name = "q"
answer_target_s = 20
[simulation]
duration_s = 14400
seed = 3
[[agents]]
name = "team"
count = 60
[[arrivals]]
queue = "q"
rate_per_s = 0.18
handle_time = {{ dist = "exponential", mean_s = 240 }}
patience = {{ dist = "exponential", mean_s = 300 }}
"""


@cache
def run_example(
    name: str, load: float = 1.0, duration_s: float | None = None
) -> tuple[SimResult, dict[str, Any]]:
    """Run ``examples/NAME`` once per process (the tests share the result)."""
    res = simulate(load_scenario(EXAMPLES / name), load=load, duration_s=duration_s)
    return res, build_report(res)


def run_text(text: str, **kw: Any) -> dict[str, Any]:
    """Run scenario text and return its report."""
    return build_report(simulate(decode_scenario(text), **kw))


def example_text(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def waiting_between(rep: dict[str, Any], queues: list[str], lo: float, hi: float) -> float:
    """Mean number waiting (live and callbacks) in ``queues`` over timeline points in [lo, hi)."""
    tl = rep["timeline"]
    points = [i for i, t in enumerate(tl["t"]) if lo <= t < hi]
    total = sum(tl["waiting"][q][i] + tl["callbacks"][q][i] for q in queues for i in points)
    return total / len(points)


def staffed_at(rep: dict[str, Any], t: float) -> int:
    """Agents logged in at the last timeline point at or before ``t``."""
    tl = rep["timeline"]
    i = max(i for i, x in enumerate(tl["t"]) if x <= t)
    n: int = tl["agents_staffed"][i]
    return n
