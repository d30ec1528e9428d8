"""Prometheus metrics for a router: a ``prometheus_client`` collector (``pip install
'inquiry-router[metrics]'``).

Two lines in an embedding service::

    from prometheus_client import REGISTRY
    from router.metrics import RouterCollector

    REGISTRY.register(RouterCollector(router, monitor))

``router`` is a :class:`~router.Router` or an adapter's ``RouterHandle``: anything
with ``statistics()`` (which may return ``None`` while there is no core yet: the
families are then empty). The current-state gauges (waiting, expected wait, agents,
in flight, surge, decisions) and the core's real-time figures (longest wait,
agents by state, eligible and available agents, waiting and expected wait by
priority, windowed service level, ASA and abandon rate, per-agent figures with
``per_agent``) and its figures since the start (outcomes and arrivals per queue,
the answered-wait histogram, all kept in its snapshot) are read from the core at
every scrape, so they always agree with it. ``monitor`` (a
:class:`~router.observe.Monitor` fed the router's events) adds what only events
tell: offer outcomes and moves, and stands in for any figure a core does not have
(read with ``getattr``); see docs/metrics.md for the names.

Several routers in one process (``router serve``'s domains, one router per
tenant) share one :class:`RouterCollectors`: it gives each router's series a
label (``domain="shop-1"``) and merges them into one family per name, since
Prometheus allows each family once per scrape. ``RouterCollector(...,
labels={...})`` adds constant labels to a single router's series.

Scrape from the thread that drives the router (the asyncio example service and
``router dashboard`` serve ``/metrics`` from their event loop); the core and the
monitor are not thread-safe.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from router.observe import Monitor, MonitorStatistics
from router.stats import WAIT_BUCKETS, RouterStatistics

__all__ = ["RouterCollector", "RouterCollectors", "core_statistics", "merge_families"]

#: The windowed ratios exported per queue and window, with the attribute they come from.
_WINDOW_GAUGES = (
    (
        "router_service_level",
        "service_level",
        "Answered within the queue's answer_target_s "
        "over inquiries that ended (answered, abandoned, rejected, deflected) in the window",
    ),
    ("router_asa_seconds", "asa_s", "Mean wait of the inquiries answered in the window"),
    ("router_abandon_rate", "abandon_rate", "Abandoned over ended inquiries in the window"),
)
_OUTCOMES = ("answered", "abandoned", "rejected", "deflected", "expired")


def core_statistics(router: Any) -> RouterStatistics | None:
    """The core's :class:`RouterStatistics` of a ``Router`` or an adapter's ``RouterHandle``
    (``None`` when ``router.statistics()`` says there is no core yet)."""
    stats = router.statistics()
    if stats is None:
        return None
    inner = getattr(stats, "router", None)  # AdapterStatistics wraps the core's
    return inner if isinstance(inner, RouterStatistics) else stats


def merge_families(groups: Iterable[Iterable[Metric]]) -> list[Metric]:
    """One family per name out of several collectors' families, samples in order.

    The first family of a name gives its help text and type; the series of the
    others (told apart by their labels) are appended to it.
    """
    merged: dict[str, Metric] = {}
    for families in groups:
        for fam in families:
            into = merged.get(fam.name)
            if into is None:
                into = merged[fam.name] = Metric(fam.name, fam.documentation, fam.type, fam.unit)
            into.samples += fam.samples
    return list(merged.values())


def _finite(x: Any) -> float | None:
    """``x`` as a float when it is a finite number, else None (NaN, inf, None, absent)."""
    if isinstance(x, int | float) and math.isfinite(x):
        return float(x)
    return None


class RouterCollector(Collector):
    """Collects ``router_*`` metrics from a router's ``statistics()`` and a :class:`Monitor`.

    ``per_agent=True`` adds one series per agent (occupancy, handled, declines,
    expiries): mind the cardinality with thousands of agents.
    """

    def __init__(
        self,
        router: Any,
        monitor: Monitor | None = None,
        *,
        per_agent: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if not callable(getattr(router, "statistics", None)):
            raise TypeError(f"router: expected a Router or RouterHandle, got {router!r}")
        self.router = router
        self.monitor = monitor
        self.per_agent = per_agent
        self.labels = dict(labels) if labels else {}

    def describe(self) -> Iterable[Metric]:
        return [m for m in self._families()]

    def collect(self) -> Iterable[Metric]:
        stats = core_statistics(self.router)
        mon = None
        if self.monitor is not None and stats is not None:
            mon = self.monitor.statistics(stats.now)
        families = list(self._families(stats, mon))
        if self.labels:
            const = self.labels
            for fam in families:
                fam.samples = [s._replace(labels={**const, **s.labels}) for s in fam.samples]
        return families

    # ------------------------------------------------------------------ families

    def _families(
        self, stats: RouterStatistics | None = None, mon: MonitorStatistics | None = None
    ) -> Iterator[Metric]:
        yield from self._core_families(stats)
        yield from self._event_families(stats, mon)

    def _core_families(self, stats: RouterStatistics | None) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "router_inquiries_waiting", "Inquiries waiting in line", labels=["queue"]
        )
        ewt = GaugeMetricFamily(
            "router_expected_wait_seconds",
            "Expected wait of a new arrival at the back of the queue",
            labels=["queue"],
        )
        flight = GaugeMetricFamily(
            "router_inquiries_in_flight",
            "Inquiries held by agents, by state (offered, in_service, wrap_up)",
            labels=["state"],
        )
        logged = GaugeMetricFamily("router_agents_logged_in", "Agents logged in")
        ready = GaugeMetricFamily("router_agents_ready", "Agents in the ready state")
        room = GaugeMetricFamily(
            "router_agents_with_room", "Ready agents with room for one more inquiry"
        )
        surge = GaugeMetricFamily("router_surge", "1 while the router is in surge mode")
        version = GaugeMetricFamily("router_config_version", "Config version in force")
        decisions = CounterMetricFamily("router_decisions", "Routing decisions made by the core")
        counters = CounterMetricFamily(
            "router_core_events",
            "The core's counters (submitted, assigned, abandoned, ...), router.Counters",
            labels=["counter"],
        )
        if stats is not None:
            for name, q in stats.queues.items():
                waiting.add_metric([name], q.waiting)
                expected = _finite(q.expected_wait_s)
                if expected is not None:
                    ewt.add_metric([name], expected)
            flight.add_metric(["offered"], stats.offered)
            flight.add_metric(["in_service"], stats.in_service)
            flight.add_metric(["wrap_up"], stats.wrap_up)
            logged.add_metric([], stats.agents_logged_in)
            ready.add_metric([], stats.agents_ready)
            room.add_metric([], stats.agents_with_room)
            surge.add_metric([], 1.0 if stats.surge else 0.0)
            version.add_metric([], stats.version)
            c = msgspec.structs.asdict(stats.counters)
            decisions.add_metric([], c["decisions"])
            for name, n in sorted(c.items()):
                if name != "decisions":
                    counters.add_metric([name], n)
        yield from (waiting, ewt, flight, logged, ready, room, surge, version, decisions)
        yield counters

    def _event_families(
        self, stats: RouterStatistics | None, mon: MonitorStatistics | None
    ) -> Iterator[Metric]:
        yield from self._realtime_families(stats, mon)
        yield from self._outcome_families(stats, mon)
        yield self._wait_family(stats, mon)
        if self.monitor is not None:
            yield from self._monitor_families(mon)
        if self.per_agent:
            yield from self._agent_families(mon, collecting=stats is not None)

    def _realtime_families(
        self, stats: RouterStatistics | None, mon: MonitorStatistics | None
    ) -> Iterator[Metric]:
        """The real-time figures: the core's own when it has them, else the monitor's."""
        longest = GaugeMetricFamily(
            "router_longest_wait_seconds",
            "How long the longest-waiting inquiry of the queue has waited",
            labels=["queue"],
        )
        agents = GaugeMetricFamily(
            "router_agents",
            "Logged-in agents by state (idle, busy, wrap_up, break, away)",
            labels=["state"],
        )
        queue_agents = GaugeMetricFamily(
            "router_queue_agents",
            "Agents whose skills, tenants and channels fit the queue (state=eligible), "
            "and those of them ready with room for one more of its inquiries (available)",
            labels=["queue", "state"],
        )
        by_priority = GaugeMetricFamily(
            "router_inquiries_waiting_by_priority",
            "Inquiries waiting in line, by priority",
            labels=["queue", "priority"],
        )
        ewt = GaugeMetricFamily(
            "router_expected_wait_by_priority_seconds",
            "Expected wait a new arrival of the priority would be told",
            labels=["queue", "priority"],
        )
        windows = [
            GaugeMetricFamily(name, doc, labels=["queue", "window"])
            for name, _, doc in _WINDOW_GAUGES
        ]
        core_queues = stats.queues if stats is not None else {}
        mon_queues = mon.queues if mon is not None else {}
        for name, q in core_queues.items():
            mq = mon_queues.get(name)
            core_longest = _finite(getattr(q, "longest_wait_s", None))
            if core_longest is not None:
                longest.add_metric([name], core_longest)
            elif mq is not None:
                longest.add_metric([name], mq.longest_wait_s)
            for state in ("eligible", "available"):
                n = getattr(q, f"{state}_agents", None)
                if n is not None:
                    queue_agents.add_metric([name, state], n)
            for p, n in (getattr(q, "waiting_by_priority", None) or {}).items():
                by_priority.add_metric([name, str(p)], n)
            for p, w in (getattr(q, "expected_wait_by_priority_s", None) or {}).items():
                value = _finite(w)
                if value is not None:
                    ewt.add_metric([name, str(p)], value)
        # windowed ratios: the core's for its queues, the monitor's for the rest
        figures = {name: mq.windows for name, mq in mon_queues.items()}
        for name, q in core_queues.items():
            core_windows = getattr(q, "windows", None)
            if core_windows:
                figures[name] = core_windows
        for name, by_window in figures.items():
            for (_, attr, _), family in zip(_WINDOW_GAUGES, windows, strict=True):
                for label, fig in by_window.items():
                    value = _finite(getattr(fig, attr, None))
                    if value is not None:
                        family.add_metric([name, label], value)
        by_state = getattr(stats, "agents_by_state", None) if stats is not None else None
        if not by_state and mon is not None:
            by_state = mon.agents_by_state
        for state, n in (by_state or {}).items():
            agents.add_metric([state], n)
        yield from (longest, agents, queue_agents, by_priority, ewt, *windows)

    def _outcome_families(
        self, stats: RouterStatistics | None, mon: MonitorStatistics | None
    ) -> Iterator[Metric]:
        """Outcomes and arrivals per queue since the start: the core's totals
        (``QueueStatistics.totals``, kept in the snapshot) when it has them, else the
        monitor's."""
        outcomes = CounterMetricFamily(
            "router_outcomes",
            "Inquiries that reached an outcome, by the queue they ended in",
            labels=["queue", "outcome"],
        )
        offered = CounterMetricFamily(
            "router_offered", "Inquiries that arrived at the queue", labels=["queue"]
        )
        done: set[str] = set()
        for name, q in (stats.queues if stats is not None else {}).items():
            totals = getattr(q, "totals", None)
            if totals is not None:
                done.add(name)
                offered.add_metric([name], totals.offered)
                for outcome in _OUTCOMES:
                    outcomes.add_metric([name, outcome], getattr(totals, outcome))
        if mon is not None:
            for name, mq in mon.queues.items():
                if name not in done:
                    offered.add_metric([name], mq.offered)
                    for outcome in _OUTCOMES:
                        outcomes.add_metric([name, outcome], mq.outcomes[outcome])
        yield from (outcomes, offered)

    def _wait_family(self, stats: RouterStatistics | None, mon: MonitorStatistics | None) -> Metric:
        """The answered waits since the start: the core's (``QueueStatistics.wait_histogram``,
        kept in the snapshot) when it has them, else the monitor's."""
        wait = HistogramMetricFamily(
            "router_wait_seconds",
            "Wait of answered inquiries, arrival to answer, by the queue that answered",
            labels=["queue"],
        )
        bounds = [repr(float(b)) for b in WAIT_BUCKETS] + ["+Inf"]
        done: set[str] = set()
        for name, q in (stats.queues if stats is not None else {}).items():
            hist = getattr(q, "wait_histogram", None)
            if hist:
                done.add(name)
                buckets = zip(bounds, (float(n) for n in hist), strict=True)
                wait.add_metric([name], list(buckets), q.wait_sum_s)
        for name, mq in (mon.queues if mon is not None else {}).items():
            if name not in done:
                buckets = zip(bounds, (float(n) for n in mq.wait_histogram), strict=True)
                wait.add_metric([name], list(buckets), mq.wait_sum_s)
        return wait

    def _monitor_families(self, mon: MonitorStatistics | None) -> Iterator[Metric]:
        """What only the events tell: offers and moves."""
        offers = CounterMetricFamily(
            "router_offer_outcomes",
            "Offers to agents by outcome (accepted, declined, expired, taken_back)",
            labels=["outcome"],
        )
        moved = CounterMetricFamily(
            "router_moved",
            "Inquiries moved between queues by overflow (direction in or out)",
            labels=["queue", "direction"],
        )
        if mon is not None:
            for outcome, n in mon.offer_outcomes.items():
                offers.add_metric([outcome], n)
            for name, mq in mon.queues.items():
                moved.add_metric([name, "in"], mq.moved_in)
                moved.add_metric([name, "out"], mq.moved_out)
        yield from (offers, moved)

    def _agent_families(self, mon: MonitorStatistics | None, collecting: bool) -> Iterator[Metric]:
        """One series per agent: the core's figures when it has them, else the monitor's."""
        occupancy = GaugeMetricFamily(
            "router_agent_occupancy",
            "Busy capacity-time over staffed time since reset (or login)",
            labels=["agent"],
        )
        handled = CounterMetricFamily(
            "router_agent_handled", "Inquiries completed by the agent", labels=["agent"]
        )
        refused = CounterMetricFamily(
            "router_agent_offers_refused",
            "Offers the agent declined or let expire",
            labels=["agent", "outcome"],
        )
        rows: list[Any] = []
        core = getattr(self.router, "core", self.router)  # a RouterHandle's core
        if not collecting:
            pass
        elif callable(getattr(core, "agent_statistics", None)):
            rows = [core.agent_statistics(agent_id) for agent_id in core.agent_ids()]
        elif mon is not None:
            rows = list(mon.agents.values())
        for a in rows:
            if a.occupancy is not None:
                occupancy.add_metric([a.id], a.occupancy)
            handled.add_metric([a.id], a.handled)
            refused.add_metric([a.id, "declined"], a.declined)
            refused.add_metric([a.id, "expired"], a.expired)
        yield from (occupancy, handled, refused)


class RouterCollectors(Collector):
    """One :class:`RouterCollector` per router of a process, told apart by one label.

    ``router serve`` keeps one per owned domain (``label="domain"``), adding a
    domain's when it is acquired and dropping it when the domain is lost or
    handed over; an embedder with one router per tenant can do the same. The
    members' families are merged (:func:`merge_families`) so each name appears
    once per scrape, whatever the number of routers.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self._members: dict[str, RouterCollector] = {}

    def __contains__(self, value: object) -> bool:
        return value in self._members

    def __len__(self) -> int:
        return len(self._members)

    def add(
        self, value: str, router: Any, monitor: Monitor | None = None, *, per_agent: bool = False
    ) -> RouterCollector:
        """Collect ``router`` with ``label=value`` (replacing one added under that value)."""
        member = RouterCollector(router, monitor, per_agent=per_agent, labels={self.label: value})
        self._members[value] = member
        return member

    def discard(self, value: str) -> None:
        """Stop collecting the router added under ``value`` (if any)."""
        self._members.pop(value, None)

    def values(self) -> list[str]:
        return sorted(self._members)

    def collect(self) -> Iterable[Metric]:
        return merge_families(self._members[v].collect() for v in sorted(self._members))
