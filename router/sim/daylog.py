"""Arrivals CSV files (``[[arrivals]] from_csv``): parsing, with the bad row named.

The file has a header row and one row per arrival:

- ``timestamp`` (required): seconds from the scenario's ``t = 0`` (``3605.5``), or a
  clock time ``HH:MM[:SS]`` (optionally ``mon 09:00:05``) on the scenario's clock,
  which starts at ``simulation.start`` (``mon 00:00`` when the scenario names none);
- ``queue`` (optional): the queue of the row. An ``[[arrivals]]`` entry replays the
  rows of its own ``queue``, so one file can feed several entries; without the
  column every row belongs to the entry that names the file;
- ``handle_s`` (optional): the handle time; an empty cell (or no column) draws it
  from the entry's ``handle_time`` distribution;
- ``patience_s`` (optional): how long the customer waits; an empty cell draws it
  from the entry's ``patience``, or never abandons without one.

Rows need not be sorted. :func:`read_day` reports a bad cell as
``file:line: column: problem``. ``router/sim/replay.py`` turns the rows into a stream.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from router.sim.clock import DAYS

__all__ = ["COLUMNS", "DayRow", "read_day"]

_CLOCK = re.compile(
    r"^(?:(?P<day>[a-z]{3})\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}(?:\.\d*)?))?$",
    re.IGNORECASE,
)
COLUMNS = ("timestamp", "queue", "handle_s", "patience_s")

DayRow = tuple[float, str | None, float | None, float | None]


def _seconds(text: str, column: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{column}: expected seconds, got {text!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{column}: expected a finite number > 0, got {text!r}")
    return x


def _timestamp(text: str, offset_s: float) -> float:
    m = _CLOCK.fullmatch(text)
    if m is None:
        try:
            t = float(text)
        except ValueError:
            raise ValueError(
                f"timestamp: expected seconds or a clock time HH:MM[:SS], got {text!r}"
            ) from None
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"timestamp: expected a finite number >= 0, got {text!r}")
        return t
    day = m["day"].lower() if m["day"] else None
    if day is not None and day not in DAYS:
        raise ValueError(f"timestamp: unknown day {m['day']!r} (mon..sun)")
    h, mi = int(m["h"]), int(m["m"])
    if h > 23 or mi > 59:
        raise ValueError(f"timestamp: no such time of day {text!r}")
    clock = h * 3600 + mi * 60 + float(m["s"] or 0)
    if day is not None:
        t = DAYS.index(day) * 86400 + clock - offset_s
    else:
        t = clock - offset_s % 86400
    if t < 0:
        raise ValueError(f"timestamp: {text!r} is before the scenario starts")
    return t


def read_day(path: str | Path, offset_s: float = 0.0) -> list[DayRow]:
    """Parse an arrivals CSV into ``(t, queue, handle_s, patience_s)`` rows sorted by time.

    Raises ``ValueError("day.csv:5: handle_s: ...")`` naming the first bad row, or
    ``OSError`` when the file cannot be read.
    """
    p = Path(path)
    rows: list[DayRow] = []
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{p.name}:1: empty file; expected a header row")
        names = [h.strip().lower() for h in header]
        unknown = [n for n in names if n not in COLUMNS]
        if unknown or "timestamp" not in names:
            raise ValueError(
                f"{p.name}:1: header must name timestamp and any of queue, handle_s, "
                f"patience_s; got {', '.join(header)}"
            )
        col = {n: i for i, n in enumerate(names)}
        for lineno, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise ValueError(f"{p.name}:{lineno}: {len(cells)} cells, expected {len(names)}")

            def cell(name: str, cells: list[str] = cells) -> str:
                i = col.get(name)
                return cells[i].strip() if i is not None else ""

            try:
                t = _timestamp(cell("timestamp"), offset_s)
                handle = _seconds(cell("handle_s"), "handle_s") if cell("handle_s") else None
                pat = cell("patience_s")
                patience = _seconds(pat, "patience_s") if pat else None
            except ValueError as exc:
                raise ValueError(f"{p.name}:{lineno}: {exc}") from None
            rows.append((t, cell("queue") or None, handle, patience))
    rows.sort(key=lambda r: r[0])
    return rows
