"""The core's live counters (router/state/counting.py) are the public Counters' fields."""

from __future__ import annotations

import msgspec

from router.state.counting import LiveCounters
from router.stats import Counters


def test_live_counters_start_at_counters_defaults() -> None:
    assert LiveCounters().counters() == Counters()


def test_every_field_round_trips() -> None:
    names = Counters.__struct_fields__
    start = Counters(**{name: 3 * i + 1 for i, name in enumerate(names)})
    live = LiveCounters.of(start)
    assert live.counters() == start
    for name in names:  # each field is its own counter
        setattr(live, name, getattr(live, name) + 1)
    after = msgspec.structs.asdict(live.counters())
    assert after == {name: 3 * i + 2 for i, name in enumerate(names)}


def test_the_copy_is_not_live() -> None:
    live = LiveCounters()
    copy = live.counters()
    live.submitted += 1
    assert copy.submitted == 0 and live.counters().submitted == 1
