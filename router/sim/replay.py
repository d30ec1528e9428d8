"""``[[arrivals]] from_csv = "day.csv"``: replay a real day's arrivals instead of a Poisson stream.

Theory of operation: the rows of the file (``router/sim/daylog.py`` parses them)
that belong to the entry's ``queue`` become a :class:`CsvStream`, which offers the
simulation engine the same interface as a Poisson
:class:`~router.sim.arrivals.Stream` (``next_after``, ``handle``, ``patience``), so the
engine runs it unchanged. Per row, the handle time and patience are the file's when
given, else drawn from the entry's distributions with the stream's own seeded RNG.
``--load`` and ``[[surges]]`` do not apply to replayed arrivals (they are what
happened). ``load_scenario`` resolves a relative path against the scenario's
directory and checks the file first, so ``router check`` and ``simulate`` name a
bad row.
"""

from __future__ import annotations

import random

from router.sim.arrivals import Sampler, Stream, inquiry_fields, sampler
from router.sim.daylog import read_day
from router.sim.scenario import Arrival, Surge

__all__ = ["CsvStream", "make_stream"]


class CsvStream:
    """One replayed stream: the rows of ``arrival.from_csv`` for ``arrival.queue``."""

    def __init__(self, index: int, arrival: Arrival, seed: int, offset_s: float = 0.0) -> None:
        assert arrival.from_csv is not None
        self.index = index
        self.arrival = arrival
        self.queue = arrival.queue
        self.rng = random.Random(f"router-sim/{seed}/{index}")
        self.rows = [r for r in read_day(arrival.from_csv, offset_s) if r[1] in (None, self.queue)]
        self._next = 0
        self._cur = -1
        self._handle: Sampler | None = (
            sampler(arrival.handle_time) if arrival.handle_time is not None else None
        )
        self._patience = sampler(arrival.patience) if arrival.patience is not None else None
        self.heavy = "heavy" in arrival.tags  # the engine adds the queue's own flag
        self.fixed = inquiry_fields(arrival)

    def next_after(self, t: float) -> float | None:
        """The next row's time (rows at the same instant come one by one), or None."""
        if self._next >= len(self.rows):
            return None
        self._cur = self._next
        self._next += 1
        return self.rows[self._cur][0]

    def handle(self, rng: random.Random) -> float:
        """The arriving row's handle time (or a draw from ``handle_time``)."""
        h = self.rows[self._cur][2]
        if h is not None:
            return h
        assert self._handle is not None  # check_csv_arrivals refused this file otherwise
        return self._handle(rng)

    @property
    def patience(self) -> Sampler | None:
        """The arriving row's patience as a sampler (or ``patience``'s, or None)."""
        p = self.rows[self._cur][3]
        if p is not None:
            return lambda rng: p
        return self._patience


def make_stream(
    index: int,
    arrival: Arrival,
    seed: int,
    load: float,
    surges: list[Surge],
    duration_s: float,
    offset_s: float = 0.0,
) -> Stream | CsvStream:
    """The engine's stream for one ``[[arrivals]]`` entry: Poisson, or replayed from CSV."""
    if arrival.from_csv is not None:
        return CsvStream(index, arrival, seed, offset_s)
    return Stream(index, arrival, seed, load, surges, duration_s)
