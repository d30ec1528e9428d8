"""The wait histogram's counts (``QueueTally.count_wait``): the run of counts held apart
from the list reads the same as counting into the list, on both builds."""

from __future__ import annotations

import random
from itertools import accumulate

from router.state.tallies import QueueTally
from router.stats import WAIT_BUCKETS


def _bucket(wait: float) -> int:
    return next((i for i, b in enumerate(WAIT_BUCKETS) if wait <= b), len(WAIT_BUCKETS))


def test_counts_and_histogram_match_a_plain_count_through_runs_and_takebacks() -> None:
    rng = random.Random(43)
    tally = QueueTally("voice")
    ref = [0] * (len(WAIT_BUCKETS) + 1)
    # runs in one bucket, switches, takebacks (of a wait counted before), bounds exactly
    waits = [0.0, 0.0, 1.0, 1.0000001, 2.0, 7.0, 3600.0, 3600.5, 1e9]
    counted: list[float] = []
    for step in range(600):
        if counted and rng.random() < 0.2:
            wait, sign = counted.pop(rng.randrange(len(counted))), -1
        else:
            wait = rng.choice(waits) if rng.random() < 0.5 else (counted or [0.5])[-1]
            counted.append(wait)
            sign = 1
        tally.count_wait(wait, sign)
        ref[_bucket(wait)] += sign
        if step % 7 == 0:  # read mid-run: the run is folded in, and counting goes on
            assert tally.counts() == ref
            assert tally.histogram() == list(accumulate(ref))
    assert tally.counts() == ref
    assert tally.histogram() == list(accumulate(ref))
    assert sum(ref) == len(counted)


def test_load_counts_drops_a_pending_run_and_counting_resumes_from_the_loaded_counts() -> None:
    tally = QueueTally("voice")
    for _ in range(300):  # a run past the small-int cache, not yet in the list
        tally.count_wait(0.5, 1)
    assert tally.histogram()[0] == 300
    loaded = list(range(len(WAIT_BUCKETS) + 1))
    tally.load_counts(loaded)
    assert tally.counts() == loaded
    assert tally.histogram() == list(accumulate(loaded))
    tally.count_wait(0.5, 1)
    tally.count_wait(4000.0, 1)
    assert tally.counts() == [loaded[0] + 1, *loaded[1:-1], loaded[-1] + 1]
    loaded[0] = -7  # the tally holds its own copy
    assert tally.counts()[0] == 1
