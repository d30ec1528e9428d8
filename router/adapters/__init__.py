"""Async adapters: run the sans-I/O core inside a trio or asyncio (uvloop) program.

::

    async with open_router(config) as router:          # trio or asyncio, detected
        admission = await router.submit(Inquiry(id="c1", queue="refund"))
        assigned = await router.wait_assigned("c1")

    async with router.agent(AgentSpec(id="ye")) as session:
        async for offer in session:
            session.accept(offer)
            ...
            session.complete(offer.inquiry_id)

Importing this package loads neither trio nor asyncio; the backend is imported
when a router is opened. See ``docs/adapters.md``.
"""

from router.adapters._backend import Backend
from router.adapters._errors import InquiryEnded, RouterClosed, SubscriberOverflow
from router.adapters._runner import (
    BLOCKED,
    AdapterStatistics,
    AgentSession,
    RouterHandle,
    Subscription,
    open_router,
)
from router.adapters._select import current_backend_name, get_backend

__all__ = [
    "BLOCKED",
    "AdapterStatistics",
    "AgentSession",
    "Backend",
    "InquiryEnded",
    "RouterClosed",
    "RouterHandle",
    "SubscriberOverflow",
    "Subscription",
    "current_backend_name",
    "get_backend",
    "open_router",
]
