"""The router's live counters: a plain record the core and the policies add to.

:class:`~router.stats.Counters` is the counters' public form (a msgspec Struct:
``Router.counters``, ``statistics()``, snapshots). Compiled, every ``counters.x += 1``
on it is a generic attribute read, an add on a boxed int and a generic write, four to
six of them per inquiry. The core counts into :class:`LiveCounters` instead (this
module is compiled: each field is a native int) and hands out :class:`Counters`
copies (:meth:`LiveCounters.counters`); a snapshot's counters come back through
:meth:`LiveCounters.of`. The fields are Counters' own, same names
(``tests/test_counting.py``).
"""

from __future__ import annotations

from router.stats import Counters

__all__ = ["LiveCounters"]


class LiveCounters:
    """Counts since the router started, as :class:`~router.stats.Counters` documents them."""

    def __init__(self) -> None:
        self.submitted = 0
        self.admitted = 0
        self.rejected = 0
        self.deflected = 0
        self.withdrawn = 0
        self.abandoned = 0
        self.offers = 0
        self.declined = 0
        self.expired = 0
        self.assigned = 0
        self.completed = 0
        self.decisions = 0
        self.blocked = 0
        self.shed = 0
        self.overflowed = 0
        self.callbacks = 0
        self.callback_attempts_failed = 0
        self.surges = 0
        self.tasks_expired = 0
        self.updated = 0
        self.transferred = 0
        self.handed_back = 0
        self.agents_updated = 0
        self.closed = 0
        self.interruptions = 0
        self.presence_timeouts = 0

    def counters(self) -> Counters:
        """A copy in the public form."""
        return Counters(**{name: getattr(self, name) for name in Counters.__struct_fields__})

    @staticmethod
    def of(counters: Counters) -> LiveCounters:
        """Live counters starting from ``counters`` (a restored snapshot's)."""
        live = LiveCounters()
        for name in Counters.__struct_fields__:
            setattr(live, name, getattr(counters, name))
        return live
