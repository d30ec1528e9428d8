"""The Prometheus collector: spec names, values that agree with the core and the monitor."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

pytest.importorskip("prometheus_client", reason="pip install 'inquiry-router[metrics]'")

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from router import AgentSpec, Inquiry, Router
from router.adapters import open_router
from router.metrics import RouterCollector, RouterCollectors
from router.observe import Monitor, follow
from router.stats import WAIT_BUCKETS
from tests.test_observe_monitor import TWO_QUEUES, Driven

#: docs/metrics.md: the names the collector must expose (the durable ones are serve's).
SPEC_NAMES = {
    "router_inquiries_waiting": ("gauge", {"queue"}),
    "router_longest_wait_seconds": ("gauge", {"queue"}),
    "router_agents": ("gauge", {"state"}),
    "router_decisions": ("counter", set()),
    "router_outcomes": ("counter", {"queue", "outcome"}),
    "router_offer_outcomes": ("counter", {"outcome"}),
    "router_wait_seconds": ("histogram", {"queue"}),
    "router_service_level": ("gauge", {"queue", "window"}),
}


def scrape(collector: RouterCollector | RouterCollectors) -> dict[str, Any]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(families: dict[str, Any], name: str, **labels: str) -> float:
    for fam in families.values():
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    raise AssertionError(f"no sample {name}{labels}")


def busy_router() -> Driven:
    d = Driven()
    r = d.router
    spec = AgentSpec(id="ye", capacity={"voice": 1, "chat": 2})
    d.monitor.add_agent(spec)
    r.login(spec, now=0.0)
    for i in range(4):
        r.submit(Inquiry(id=f"c{i}", queue="refund", patience_s=50), now=float(i))
    r.submit(Inquiry(id="x", queue="chat"), now=3.0)
    d.tick(3.0)
    r.accept("c0", now=8.0)
    d.tick(8.0)
    r.complete("c0", now=30.0)
    d.tick(30.0)
    r.decline("c1", now=31.0)
    d.tick(31.0)
    d.tick(60.0)  # patience: c1, c2 and c3 waited 50 s
    return d


def test_spec_names_types_and_labels() -> None:
    d = busy_router()
    fams = scrape(RouterCollector(d.router, d.monitor))
    for name, (kind, labels) in SPEC_NAMES.items():
        assert name in fams, name
        fam = fams[name]
        assert fam.type == kind, name
        assert fam.samples, name
        for s in fam.samples:
            assert set(s.labels) - {"le"} == labels, (name, s.labels)


def test_values_agree_with_statistics_and_monitor() -> None:
    d = busy_router()
    r, m = d.router, d.monitor
    fams = scrape(RouterCollector(r, m))
    stats = r.statistics()
    mon = m.statistics(stats.now)
    for q in ("refund", "chat"):
        assert sample(fams, "router_inquiries_waiting", queue=q) == stats.queues[q].waiting
        got = sample(fams, "router_longest_wait_seconds", queue=q)
        assert got == mon.queues[q].longest_wait_s
    assert sample(fams, "router_decisions_total") == stats.counters.decisions > 0
    abandoned = sample(fams, "router_outcomes_total", queue="refund", outcome="abandoned")
    assert abandoned == stats.counters.abandoned == 3  # c1 after the decline, c2, c3
    assert sample(fams, "router_outcomes_total", queue="refund", outcome="answered") == 1
    assert sample(fams, "router_offer_outcomes_total", outcome="accepted") == 1
    assert sample(fams, "router_offer_outcomes_total", outcome="declined") == 1
    # c0 waited 8 s: in the le=10 bucket, not in le=5
    assert sample(fams, "router_wait_seconds_bucket", queue="refund", le="5.0") == 0
    assert sample(fams, "router_wait_seconds_bucket", queue="refund", le="10.0") == 1
    assert sample(fams, "router_wait_seconds_count", queue="refund") == 1
    assert sample(fams, "router_wait_seconds_sum", queue="refund") == 8.0
    # answered 1 in target of 4 ended (3 abandoned)
    sl = sample(fams, "router_service_level", queue="refund", window="5m")
    assert sl == pytest.approx(1 / 4)
    assert sample(fams, "router_service_level", queue="refund", window="since_reset") == sl
    states = {s.labels["state"]: s.value for s in fams["router_agents"].samples}
    assert states == mon.agents_by_state
    assert sum(states.values()) == stats.agents_logged_in == 1


def test_core_only_collector_and_per_agent_series() -> None:
    r = Router(Driven().cfg, now=0.0)
    r.submit(Inquiry(id="a", queue="refund"), now=0.0)
    r.tick(0.0)
    fams = scrape(RouterCollector(r))  # no monitor: what the core's statistics() says
    assert sample(fams, "router_inquiries_waiting", queue="refund") == 1
    assert sample(fams, "router_offered_total", queue="refund") == 1
    assert sample(fams, "router_outcomes_total", queue="refund", outcome="answered") == 0
    assert sample(fams, "router_wait_seconds_count", queue="refund") == 0  # the core's own
    assert "router_offer_outcomes" not in fams and "router_moved" not in fams  # events only
    # the core's totals equal the monitor's over a whole run, and survive a reset
    d = busy_router()
    d.router.reset_statistics(d.router.now)
    core = scrape(RouterCollector(d.router))
    both = scrape(RouterCollector(d.router, d.monitor))
    mon = d.monitor.statistics(d.router.now)
    for q, mq in mon.queues.items():
        assert sample(core, "router_offered_total", queue=q) == mq.offered
        for outcome, n in mq.outcomes.items():
            assert sample(core, "router_outcomes_total", queue=q, outcome=outcome) == n
            assert sample(both, "router_outcomes_total", queue=q, outcome=outcome) == n
    assert sample(core, "router_outcomes_total", queue="refund", outcome="abandoned") == 3
    # ... and so does the core's wait histogram, bucket for bucket
    bounds = [repr(float(b)) for b in WAIT_BUCKETS] + ["+Inf"]
    for q, mq in mon.queues.items():
        for le, n in zip(bounds, mq.wait_histogram, strict=True):
            assert sample(core, "router_wait_seconds_bucket", queue=q, le=le) == n, (q, le)
            assert sample(both, "router_wait_seconds_bucket", queue=q, le=le) == n, (q, le)
        assert sample(core, "router_wait_seconds_sum", queue=q) == mq.wait_sum_s
    assert sample(core, "router_wait_seconds_bucket", queue="refund", le="10.0") == 1
    d = busy_router()
    fams = scrape(RouterCollector(d.router, d.monitor, per_agent=True))
    assert sample(fams, "router_agent_handled_total", agent="ye") == 1
    assert sample(fams, "router_agent_offers_refused_total", agent="ye", outcome="declined") == 1
    occ = sample(fams, "router_agent_occupancy", agent="ye")
    assert 0 < occ <= 1 and math.isfinite(occ)


class _NoCoreYet:
    """A router front end with no core yet (a durable domain before its first batch)."""

    def statistics(self) -> None:
        return None


def test_routers_of_one_process_share_families_told_apart_by_a_label() -> None:
    """One family per name whatever the number of routers; a dropped router's series go."""
    d = busy_router()
    other = Router(Driven().cfg, now=0.0)
    other.submit(Inquiry(id="a", queue="refund"), now=0.0)
    other.submit(Inquiry(id="b", queue="chat"), now=0.0)
    other.tick(0.0)
    routers = RouterCollectors("domain")
    routers.add("shop-2", other)
    routers.add("shop-1", d.router, d.monitor)
    routers.add("shop-3", _NoCoreYet())
    assert routers.values() == ["shop-1", "shop-2", "shop-3"] and "shop-1" in routers
    registry = CollectorRegistry()
    registry.register(routers)
    text = generate_latest(registry).decode()
    assert text.count("# TYPE router_inquiries_waiting gauge") == 1
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for name, r in (("shop-1", d.router), ("shop-2", other)):
        stats = r.statistics()
        for q in ("refund", "chat"):
            got = sample(fams, "router_inquiries_waiting", domain=name, queue=q)
            assert got == stats.queues[q].waiting
        assert sample(fams, "router_core_events_total", domain=name, counter="submitted") == (
            stats.counters.submitted
        )
    assert sample(fams, "router_core_events_total", domain="shop-2", counter="submitted") == 2
    assert sample(fams, "router_outcomes_total", domain="shop-1", queue="refund",
                  outcome="abandoned") == 3  # fmt: skip
    domains = {s.labels.get("domain") for f in fams.values() for s in f.samples}
    assert domains == {"shop-1", "shop-2"}  # the router with no core yet has no series
    routers.discard("shop-1")
    fams = scrape(routers)
    domains = {s.labels.get("domain") for f in fams.values() for s in f.samples}
    assert domains == {"shop-2"} and "router_inquiries_waiting" in fams


def test_constant_labels_on_one_router() -> None:
    r = Router(Driven().cfg, now=0.0)
    fams = scrape(RouterCollector(r, labels={"tenant": "fliggy"}))
    assert sample(fams, "router_agents_logged_in", tenant="fliggy") == 0
    assert all(s.labels.get("tenant") == "fliggy" for f in fams.values() for s in f.samples)


def test_collector_refuses_what_is_not_a_router() -> None:
    with pytest.raises(TypeError, match=r"^router: expected a Router or RouterHandle, got 3$"):
        RouterCollector(3)


def test_adapter_handle_with_a_followed_monitor() -> None:
    """A RouterHandle scraped while ``follow`` feeds its monitor from the subscription."""

    async def main() -> dict[str, Any]:
        cfg = Driven(TWO_QUEUES).cfg
        monitor = Monitor(cfg)
        async with open_router(cfg, backend="asyncio") as router:
            task = asyncio.create_task(follow(router, monitor))
            await asyncio.sleep(0)
            async with router.agent(AgentSpec(id="ye")) as session:
                await router.submit(Inquiry(id="c1", queue="refund"))
                offer = await session.__anext__()
                session.accept(offer)
                await router.wait_assigned("c1")
                session.complete("c1")
                for _ in range(5):
                    await asyncio.sleep(0)
                fams = scrape(RouterCollector(router, monitor))
            task.cancel()
        return fams

    fams = asyncio.run(main())
    assert sample(fams, "router_outcomes_total", queue="refund", outcome="answered") == 1
    assert sample(fams, "router_offer_outcomes_total", outcome="accepted") == 1
    assert sample(fams, "router_decisions_total") >= 1


def test_the_core_alone_gives_the_real_time_gauges_and_is_preferred() -> None:
    d = busy_router()
    r, m = d.router, d.monitor
    r.submit(Inquiry(id="p", queue="refund", priority=2), now=60.0)  # waits until a tick
    fams = scrape(RouterCollector(r))  # no monitor: the core's own real-time figures
    st = r.statistics()
    assert sample(fams, "router_inquiries_waiting_by_priority", queue="refund", priority="2") == 1
    assert sample(fams, "router_longest_wait_seconds", queue="chat") == (
        st.queues["chat"].longest_wait_s
    )
    assert sample(fams, "router_service_level", queue="refund", window="5m") == pytest.approx(1 / 4)
    assert sample(fams, "router_abandon_rate", queue="refund", window="15m") == pytest.approx(3 / 4)
    assert sample(fams, "router_asa_seconds", queue="refund", window="30m") == 8.0
    for state, n in st.agents_by_state.items():
        assert sample(fams, "router_agents", state=state) == n
    assert sum(st.agents_by_state.values()) == 1
    for name, q in st.queues.items():
        assert sample(fams, "router_queue_agents", queue=name, state="eligible") == 1
        got = sample(fams, "router_queue_agents", queue=name, state="available")
        assert got == q.available_agents
        for p, n in q.waiting_by_priority.items():
            assert (
                sample(fams, "router_inquiries_waiting_by_priority", queue=name, priority=str(p))
                == n
            )
    per_agent = scrape(RouterCollector(r, per_agent=True))
    assert sample(per_agent, "router_agent_handled_total", agent="ye") == 1
    # after the core's own reset its since-reset figures win over the monitor's
    r.reset_statistics(61.0)
    fams = scrape(RouterCollector(r, m))
    assert m.statistics().queues["refund"].windows["since_reset"].service_level is not None
    with pytest.raises(AssertionError, match="no sample"):
        sample(fams, "router_service_level", queue="refund", window="since_reset")
    assert sample(fams, "router_service_level", queue="refund", window="5m") == pytest.approx(1 / 4)
