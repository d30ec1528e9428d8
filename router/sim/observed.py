"""A simulation run with a :class:`~router.observe.Monitor` watching the core's events.

Theory of operation: :class:`ObservedRun` wraps a :class:`~router.sim.engine.Simulator`
and feeds every event of its ``on_event`` hook to a monitor, as a live service
feeds an adapter subscription. Before the first event it gives the monitor each
simulated agent's capacity shares (the engine's own ``AgentRec.weights``), so the
monitor's occupancy is the simulation report's. ``router simulate --csv`` and
``router dashboard`` are both built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.observe import Monitor
from router.sim.engine import Progress, SimResult, Simulator
from router.sim.scenario import Scenario, router_config

__all__ = ["ObservedRun"]


class ObservedRun:
    """Run ``scenario`` once with ``monitor`` fed every event (``Simulator`` arguments).

    ``after_event(ev)`` is called after the monitor saw ``ev``; returning False
    stops the run there (the dashboard paces the replay and applies uploads in it).
    """

    def __init__(
        self,
        scenario: Scenario,
        monitor: Monitor | None = None,
        *,
        seed: int | None = None,
        load: float = 1.0,
        duration_s: float | None = None,
        progress: Progress | None = None,
        after_event: Callable[[Any], bool] | None = None,
        force: bool = False,
    ) -> None:
        self.monitor = monitor if monitor is not None else Monitor(router_config(scenario))
        self.after_event = after_event
        self.sim = Simulator(
            scenario,
            seed=seed,
            load=load,
            duration_s=duration_s,
            progress=progress,
            on_event=self._on_event,
            force=force,
        )
        self._shares_given = False

    def _give_shares(self) -> None:
        for rec in self.sim.result.agents:
            self.monitor.set_shares(rec.id, dict(rec.weights))
        self._shares_given = True

    def _on_event(self, ev: Any) -> bool:
        if not self._shares_given:
            self._give_shares()
        self.monitor.feed((ev,))
        after = self.after_event
        return True if after is None else after(ev)

    def run(self) -> SimResult:
        """Run to the end (or until ``after_event`` says stop); the monitor is flushed to the
        end of the run, at least ``duration_s`` (agents stay staffed to the end of the day,
        as in the engine's ledger)."""
        res = self.sim.run()
        if not self._shares_given:
            self._give_shares()
        self.monitor.flush(max(res.end_time, res.duration_s))
        return res
