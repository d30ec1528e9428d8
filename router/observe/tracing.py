"""OpenTelemetry spans around a driver's inputs and matching passes (``pip install
'inquiry-router[otel]'``: the library needs only ``opentelemetry-api``; the application
chooses and configures the SDK and exporter).

Theory of operation: a :class:`Tracing` wraps the calls a driver makes into the core.
``tick(router, now)`` runs one matching pass inside a ``router.tick`` span whose
attributes count the events and decisions, with one span event per decision
(``router.offered``/``router.assigned``: inquiry, agent, queue, wait) and per
refusal or abandonment; ``submit(router, inquiry, now)`` runs a submission inside a
``router.submit`` span carrying the inquiry, its queue and the admission outcome;
``reconfigure`` likewise. Errors are recorded on the span and re-raised unchanged.
With no SDK installed the API's tracer is a no-op. The adapters take one:
``open_router(config, tracing=Tracing())``; an embedder of the bare core calls
``tracing.tick(router, now)`` instead of ``router.tick(now)``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from router._dist import dist_version
from router.events import Abandoned, Assigned, Deflected, Offered, Rejected

__all__ = ["Tracing"]

_DECISIONS = (Offered, Assigned)
_NOTED: dict[type, str] = {
    Offered: "router.offered",
    Assigned: "router.assigned",
    Rejected: "router.rejected",
    Deflected: "router.deflected",
    Abandoned: "router.abandoned",
}


class Tracing:
    """Spans for one router's inputs and ticks; ``tracer_provider`` defaults to the global."""

    def __init__(self, tracer_provider: Any = None, *, events_per_span: int = 128) -> None:
        self.tracer = trace.get_tracer("router", dist_version(), tracer_provider=tracer_provider)
        self.events_per_span = events_per_span

    def tick(self, router: Any, now: float) -> list[Any]:
        """``router.tick(now)`` inside a ``router.tick`` span; returns its events."""
        with self.tracer.start_as_current_span("router.tick") as span:
            span.set_attribute("router.now", now)
            events: list[Any] = router.tick(now)
            self._record(span, events)
            return events

    def _record(self, span: Span, events: list[Any]) -> None:
        decisions = 0
        noted = 0
        for ev in events:
            cls = type(ev)
            if cls in _DECISIONS:
                decisions += 1
            name = _NOTED.get(cls)
            if name is None or noted >= self.events_per_span:
                continue
            noted += 1
            attrs: dict[str, Any] = {"router.inquiry_id": ev.inquiry_id, "router.queue": ev.queue}
            agent = getattr(ev, "agent_id", None)
            if agent is not None:
                attrs["router.agent_id"] = agent
            wait = getattr(ev, "wait_s", None)
            if wait is not None:
                attrs["router.wait_s"] = wait
            reason = getattr(ev, "reason", None)
            if reason:
                attrs["router.reason"] = reason
            span.add_event(name, attrs)
        span.set_attribute("router.events", len(events))
        span.set_attribute("router.decisions", decisions)
        if noted < sum(1 for ev in events if type(ev) in _NOTED):
            span.set_attribute("router.events_not_noted", True)

    def submit(self, router: Any, inquiry: Any, now: float) -> Any:
        """``router.submit(inquiry, now)`` in a ``router.submit`` span; returns the admission."""
        with self.tracer.start_as_current_span("router.submit") as span:
            span.set_attribute("router.inquiry_id", inquiry.id)
            span.set_attribute("router.queue", inquiry.queue)
            try:
                admission = router.submit(inquiry, now)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            span.set_attribute("router.admission", admission.outcome)
            if admission.reason:
                span.set_attribute("router.reason", admission.reason)
            return admission

    def reconfigure(self, router: Any, config: Any, now: float, **kwargs: Any) -> int:
        """``router.reconfigure(config, now, ...)`` inside a ``router.reconfigure`` span."""
        with self.tracer.start_as_current_span("router.reconfigure") as span:
            try:
                version: int = router.reconfigure(config, now, **kwargs)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                raise
            span.set_attribute("router.version", version)
            return version
