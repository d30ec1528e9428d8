"""Timing helpers: the calibration loop, interleaved repetitions, machine facts.

Theory of operation
-------------------
On a shared 2-core machine an absolute time is noise; a ratio of two figures
measured close together in the same process is not (much). Three things keep
the ratios steady:

- the clock is the CPU time of this thread (:data:`CLOCK`, ``time.thread_time``),
  not wall time: while another process holds the core, ours is not charged;
- every timed case runs as a short repetition, and the cases of one section
  take turns, round after round (calibration, core 1k, core 10k, ...,
  calibration, core 1k, ...), so a slow spell (a neighbour thrashing the caches)
  hits all of them alike;
- each figure is the median over its rounds: a rare gen-2 garbage collection
  or a burst lands in one round and is ignored, while GC stays enabled as in a
  real service.
"""

from __future__ import annotations

import gc
import os
import platform
import random
import re
import statistics
import sys
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from pathlib import Path
from time import thread_time

#: The benchmark clock: CPU seconds of the calling thread.
CLOCK = thread_time

__all__ = [
    "CLOCK",
    "HeapqPairs",
    "collect_after_setup",
    "give_back_memory",
    "interleave",
    "machine",
    "peak_rss_mb",
    "reset_peak_rss",
    "rss_bytes",
    "versions",
]

#: Distributions whose versions a figure depends on (the router's own and its peers').
MEASURED_PACKAGES = ("msgspec", "trio", "uvloop", "ciw", "simpy")


class HeapqPairs:
    """The calibration loop: one ``heappush`` + ``heappop`` pair on a 10,000-entry heap."""

    def __init__(self, size: int = 10_000, seed: int = 3) -> None:
        rng = random.Random(seed)
        self.heap = [rng.random() for _ in range(size)]
        heapify(self.heap)
        self.values = [rng.random() for _ in range(1 << 16)]

    def run(self, k: int) -> float:
        """Seconds for ``k`` pairs (the heap keeps its size)."""
        heap = self.heap
        values = self.values
        m = len(values)
        t0 = CLOCK()
        for i in range(k):
            heappush(heap, values[i % m])
            heappop(heap)
        return CLOCK() - t0


Case = tuple[Callable[[int], float], int]


def interleave(
    cases: dict[str, Case], rounds: int, *, warmup: bool = True
) -> dict[str, list[float]]:
    """Run every case ``rounds`` times, taking turns; per-unit seconds of each round.

    A case is ``(fn, k)``: ``fn(k)`` does ``k`` units of work and returns the
    seconds they took. Returns ``{name: [seconds per unit, one per round]}``.
    """
    if warmup:
        for fn, k in cases.values():
            fn(max(1, k // 4))
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (fn, k) in cases.items():
            out[name].append(fn(k) / k)
    return out


def median_us(samples: list[float]) -> float:
    """Median of per-unit seconds, in microseconds."""
    return statistics.median(samples) * 1e6


def collect_after_setup() -> None:
    """After a setup run with GC off: one full collection, then GC back on.

    Everything the setup built lands in the oldest generation, so the timed
    rounds pay only the young-generation collections a steady service pays.
    """
    gc.collect()
    gc.enable()


def rss_bytes() -> int | None:
    """Current resident set size (Linux ``/proc/self/statm``), or None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def give_back_memory() -> None:
    """Collect garbage and ask glibc to return free heap pages, so RSS deltas mean growth."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark for this process (Linux); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident set size since start or the last :func:`reset_peak_rss`, in MB."""
    try:
        status = Path("/proc/self/status").read_text()
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if m:
            return int(m.group(1)) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, object]:
    """Facts about the machine a report was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    return {
        "nproc": nproc,
        "cpu": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str | None]:
    """Python's version and those of :data:`MEASURED_PACKAGES` (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in MEASURED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
