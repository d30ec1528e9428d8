"""The simulator: scenarios replayed through the real core in virtual time.

``load_scenario(path)`` reads a scenario file, ``simulate(scenario)`` runs it and
``build_report(result)`` summarises it (docs/simulator.md); ``python -m router
simulate FILE`` does all three. See docs/simulator.md.
"""

from router.sim.engine import SimResult, Simulator, simulate
from router.sim.guard import RunTooLarge, estimate_run
from router.sim.report import build_report, format_summary
from router.sim.scenario import (
    Arrival,
    Constant,
    Exponential,
    Limits,
    Lognormal,
    Scenario,
    Simulation,
    Surge,
    decode_scenario,
    load_scenario,
    router_config,
)

__all__ = [
    "Arrival",
    "Constant",
    "Exponential",
    "Limits",
    "Lognormal",
    "RunTooLarge",
    "Scenario",
    "SimResult",
    "Simulation",
    "Simulator",
    "Surge",
    "build_report",
    "decode_scenario",
    "estimate_run",
    "format_summary",
    "load_scenario",
    "router_config",
    "simulate",
]
