"""Errors the adapters raise to waiting callers."""

from __future__ import annotations

from typing import Any

from router.events import Abandoned, Deflected, Rejected, Withdrawn

__all__ = ["InquiryEnded", "RouterClosed", "SubscriberOverflow"]


class InquiryEnded(Exception):
    """``wait_assigned``: the inquiry ended without being assigned.

    ``event`` is the core's event that ended it (:class:`~router.events.Abandoned`,
    :class:`~router.events.Rejected`, :class:`~router.events.Deflected` or
    :class:`~router.events.Withdrawn`); ``outcome`` its lower-case name.
    """

    def __init__(self, event: Any) -> None:
        self.event = event
        self.inquiry_id: str = event.inquiry_id
        self.outcome: str = type(event).__name__.lower()
        super().__init__(_describe(event))


def _describe(ev: Any) -> str:
    who = f"inquiry {ev.inquiry_id!r}"
    if isinstance(ev, Abandoned):
        return f"{who} was abandoned after waiting {ev.wait_s:g} s in queue {ev.queue!r}"
    if isinstance(ev, Rejected | Deflected):
        return f"{who} was {type(ev).__name__.lower()}: {ev.reason}"
    if isinstance(ev, Withdrawn):
        return f"{who} was withdrawn from queue {ev.queue!r}"
    return f"{who} ended: {type(ev).__name__}"


class RouterClosed(Exception):
    """The router was closed (its ``async with`` block ended) while this call waited."""


class SubscriberOverflow(Exception):
    """An event subscriber fell ``maxlen`` events behind and was disconnected."""
