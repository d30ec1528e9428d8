"""A scenario replayed in accelerated virtual time, as a source for the operator page.

Theory of operation: the simulator runs in a thread of its own
(:class:`~router.sim.observed.ObservedRun`, the real core, a monitor fed every
event). Its event hook paces the run: an event at virtual time ``t`` waits until
the wall clock reaches ``t / speed`` after the start, in slices of at most 50 ms.
Everything that touches the router happens in that thread, between two steps of
the engine, where the core is consistent: every ``push_s`` of wall time the hook
builds the page state (and the Prometheus text) and publishes it as bytes, which
the web server's thread only reads; and an uploaded config, already checked,
waits in a queue until the hook applies it through ``Router.reconfigure`` at the
router's current time and hands the result back through a future.

The replay keeps the scenario's arrival streams, so a config applied to it keeps
the scenario's queues on their channels (weights, priorities, targets,
backpressure and wellbeing may all change), except that it may drop a queue no
arrival stream dials, or one whose ``on_remove`` (in the config in force) names a
queue it keeps: that queue's callers then reach its ``on_remove`` (the
simulator's ``Simulator.reconfigure``; its timeline points are null from there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import queue
import threading
import time
from typing import Any

import msgspec

from router.config import RouterConfig
from router.dashboard.server import Applied
from router.dashboard.state import page_state
from router.errors import ConfigError
from router.observe import Monitor
from router.sim.clock import clock_label, start_offset_s
from router.sim.observed import ObservedRun
from router.sim.scenario import Scenario, router_config

__all__ = ["ReplaySource"]

_SLICE_S = 0.05


class ReplaySource:
    """Replay ``scenario`` at ``speed`` virtual seconds per wall second; see the module doc."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 60.0,
        seed: int | None = None,
        load: float = 1.0,
        duration_s: float | None = None,
        title: str = "",
        sl_goal: float = 0.8,
        push_s: float = 0.25,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed: must be a positive number, got {speed!r}")
        self.scenario = scenario
        self.speed = speed
        self.title = title
        self.sl_goal = sl_goal
        self.push_s = push_s
        self.monitor = Monitor(router_config(scenario))
        self.run = ObservedRun(
            scenario,
            self.monitor,
            seed=seed,
            load=load,
            duration_s=duration_s,
            after_event=self._after_event,
        )
        self.router = self.run.sim.router
        self.duration_s = self.run.sim.duration
        self._offset = start_offset_s(scenario)
        self._pending: queue.Queue[tuple[RouterConfig, concurrent.futures.Future[int]]]
        self._pending = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wall0 = 0.0
        self._paced_to = 0.0
        self._next_push = 0.0
        self._seq = 0
        self._published: tuple[int, bytes, bytes | None] = (0, b"{}", None)
        self.done = False
        self._ended = False
        self.error: BaseException | None = None
        self._collector: Any = None
        try:
            from router.metrics import RouterCollector
        except ImportError:
            pass
        else:
            self._collector = RouterCollector(self.router, self.monitor)

    # ------------------------------------------------------------------ thread

    def start(self) -> None:
        """Start the replay thread; once (a second call raises ``RuntimeError``, as a
        thread's second start does: two runs would drive one router)."""
        if self._thread is not None:
            raise RuntimeError("the replay was started already; build a new ReplaySource")
        self._wall0 = time.monotonic()
        self._publish(0.0)
        self._thread = threading.Thread(target=self._main, name="router-replay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the replay and wait for its thread. Cleanup, safe in any state (as trio's
        and anyio's ``aclose()``): before :meth:`start` it does nothing (a later start
        runs), and again after a stop it waits for the same thread."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            self.run.run()
        except BaseException as exc:  # shown on the page; the server keeps serving
            self.error = exc
        finally:
            self._ended = True
            self._refuse_pending("the replay has ended; start it again to try another config")
            try:
                self._publish(self.router.now)
            except Exception as exc:  # a broken router cannot report statistics
                self.error = self.error or exc
            self.done = True  # after the last publish: a reader who sees done sees the end

    def _virtual_now(self) -> float:
        return (time.monotonic() - self._wall0) * self.speed

    def _after_event(self, ev: Any) -> bool:
        t = ev.at
        if t > self._paced_to:
            self._pace(t)
        elif time.monotonic() >= self._next_push:
            self._publish(t)
        return not self._stop.is_set()

    def _pace(self, t: float) -> None:
        while not self._stop.is_set():
            self._apply_pending()
            ahead = t - self._virtual_now()
            if time.monotonic() >= self._next_push:
                self._publish(min(t, max(self._paced_to, t - max(ahead, 0.0))))
            if ahead <= 0:
                break
            time.sleep(min(_SLICE_S, ahead / self.speed))
        self._paced_to = t

    # ------------------------------------------------------------------ publishing

    def _publish(self, at: float) -> None:
        stats = self.router.statistics()
        mon = self.monitor.statistics(at)
        offset = self._offset
        extra: dict[str, Any] = {
            "clock": clock_label(at, offset, seconds=True),
            "speed": self.speed,
            "progress": round(min(1.0, at / self.duration_s), 4) if self.duration_s else None,
            "done": self._ended,
            "error": None if self.error is None else f"{type(self.error).__name__}: {self.error}",
        }
        state = page_state(
            stats,
            mon,
            title=self.title,
            mode="replay",
            clock=lambda t: clock_label(t, offset),
            sl_goal=self.sl_goal,
            extra=extra,
        )
        metrics = None
        if self._collector is not None:
            from prometheus_client import CollectorRegistry, generate_latest

            registry = CollectorRegistry()
            registry.register(self._collector)
            metrics = generate_latest(registry)
        self._seq += 1
        self._published = (self._seq, msgspec.json.encode(state), metrics)
        self._next_push = time.monotonic() + self.push_s

    # ------------------------------------------------------------------ Source

    def state(self) -> tuple[int, bytes]:
        seq, body, _ = self._published
        return seq, body

    def metrics(self) -> bytes | None:
        return self._published[2]

    async def apply(self, config: RouterConfig) -> int:
        """Apply ``config`` between two steps of the running replay; its new version.
        Refused (``Applied``, nothing changed) before :meth:`start`: no thread would take it."""
        problems = self._same_queues(config)
        if problems:
            raise Applied(problems)
        if self._thread is None:
            raise Applied(["the replay has not started: call start() before applying a config"])
        if self._ended:
            raise Applied(["the replay has ended; start it again to try another config"])
        fut: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._pending.put((config, fut))
        if self._ended:  # ended while we queued it
            self._refuse_pending("the replay has ended; start it again to try another config")
        return await asyncio.wrap_future(fut)

    def _same_queues(self, config: RouterConfig) -> list[str]:
        old = {q.name: q.channel for q in self.scenario.queues}
        new = {q.name: q.channel for q in config.queues}
        out = []
        for i, q in enumerate(config.queues):
            if q.name not in old:
                out.append(
                    f"$.queues[{i}].name: {q.name!r} is not a queue of the replayed scenario "
                    "(its arrival streams need the same queues)"
                )
            elif old[q.name] != q.channel:
                out.append(
                    f"$.queues[{i}].channel: {q.channel!r}, but the replay's {q.name!r} "
                    f"is {old[q.name]!r}"
                )
        dialed = {a.queue for a in self.scenario.arrivals}
        in_force = {q.name: q.on_remove for q in self.router.config.queues}
        for name in old:
            if name in new or name not in dialed:
                continue
            to = in_force.get(name)
            if name in in_force and (to is None or to not in new):
                out.append(
                    f"$.queues: {name!r} is missing; the replay's arrivals need it: keep "
                    "it, or first give it on_remove = a queue the new file keeps"
                )
        return out

    def _apply_pending(self) -> None:
        while True:
            try:
                cfg, fut = self._pending.get_nowait()
            except queue.Empty:
                return
            try:
                version = self.run.sim.reconfigure(cfg)
            except ConfigError as exc:
                fut.set_exception(exc)
            except BaseException as exc:  # pragma: no cover - a core bug
                fut.set_exception(exc)
                raise
            else:
                self.monitor.configure(cfg)
                self._next_push = 0.0  # show it at once
                fut.set_result(version)

    def _refuse_pending(self, why: str) -> None:
        while True:
            try:
                _, fut = self._pending.get_nowait()
            except queue.Empty:
                return
            fut.set_exception(Applied([why]))
