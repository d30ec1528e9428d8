"""OpenTelemetry spans around inputs and decisions, checked with the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("opentelemetry.sdk", reason="pip install opentelemetry-sdk (the dev extra)")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from router import AgentSpec, Inquiry, Router, UnknownId
from router.adapters import open_router
from router.observe.tracing import Tracing
from tests.helpers import config
from tests.test_observe_monitor import TWO_QUEUES


@pytest.fixture
def spans() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider), exporter


def test_bare_core_tick_and_submit_spans(spans: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = spans
    r = Router(config(TWO_QUEUES), now=0.0)
    r.login(AgentSpec(id="ye"), now=0.0)
    adm = tracing.submit(r, Inquiry(id="c1", queue="refund"), 1.0)
    assert adm.outcome == "admitted"
    events = tracing.tick(r, 1.0)
    assert [type(e).__name__ for e in events] == ["AgentLoggedIn", "Queued", "Offered"]
    with pytest.raises(UnknownId):
        tracing.submit(r, Inquiry(id="c2", queue="nope"), 2.0)
    submit, tick, failed = exporter.get_finished_spans()
    assert submit.name == "router.submit"
    assert dict(submit.attributes or {}) == {
        "router.inquiry_id": "c1",
        "router.queue": "refund",
        "router.admission": "admitted",
    }
    assert tick.name == "router.tick"
    assert (tick.attributes or {})["router.decisions"] == 1
    assert (tick.attributes or {})["router.events"] == 3
    (offered,) = tick.events
    assert offered.name == "router.offered"
    assert dict(offered.attributes or {}) == {
        "router.inquiry_id": "c1",
        "router.queue": "refund",
        "router.agent_id": "ye",
    }
    assert failed.status.status_code == StatusCode.ERROR
    assert "unknown queue 'nope'" in (failed.status.description or "")


def test_adapter_spans(spans: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = spans

    async def main() -> None:
        cfg = config(TWO_QUEUES)
        async with (
            open_router(cfg, backend="asyncio", tracing=tracing) as router,
            router.agent(AgentSpec(id="ye")) as session,
        ):
            await router.submit(Inquiry(id="c1", queue="refund"))
            offer = await session.__anext__()
            session.accept(offer)
            assigned = await router.wait_assigned("c1")
            assert assigned.agent_id == "ye"
            router.reconfigure(cfg)

    asyncio.run(main())
    names = [s.name for s in exporter.get_finished_spans()]
    assert "router.submit" in names and "router.reconfigure" in names
    ticks = [s for s in exporter.get_finished_spans() if s.name == "router.tick"]
    decided = [e.name for s in ticks for e in s.events]
    assert decided[:2] == ["router.offered", "router.assigned"]
    assert sum((s.attributes or {})["router.decisions"] for s in ticks) == 2
