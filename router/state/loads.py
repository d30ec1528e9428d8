"""Shared load counts: one dict per distinct load, held by every agent with that load.

Theory of operation. An agent's ``load`` (inquiries held per channel, ``Agent.load``) is
read by the scorer, the refresh, the seeks, the releases and the real-time counts. At
10,000 agents a dict of its own per agent is cold when the completing or the assigned agent
is touched: two or three trips to memory (BENCHMARKS.md, ix38). Loads are small counts, so
the distinct ones in use are few. Each is a :class:`LoadState`: its counts as a dict (the
same items in the same order as the per-agent dict had), never changed in place, and the
states one inquiry more or less on a channel away, found once and then cached on the state
(``ups``, ``downs``). An agent holds its state (``Agent.loadst``) and that state's dict
(``Agent.load``, what the readers read); a change replaces both (``router/state/records.py``:
``load_up``, ``load_with``, ``set_load``; ``Router._assign`` and ``_release`` inline). The
dicts in use stay few and hot.

The table of states is module-wide (values, shared by every router in the process) and is
forgotten when it reaches :data:`MAX_SHARED_LOADS` states (channels and capacities are
open-ended): states already held keep their counts and their cached neighbours, so an
agent's counts stay right; only the sharing starts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, final

#: The most load states the table keeps before it starts again.
MAX_SHARED_LOADS: Final = 4096

LoadKey = tuple[tuple[str, int], ...]


@final
class LoadState:
    """One load: ``counts`` (channel -> inquiries held, never changed in place) and the
    loads one inquiry more (``ups``) or less (``downs``) on a channel, cached by channel."""

    __slots__ = ("counts", "downs", "ups")

    def __init__(self, key: LoadKey) -> None:
        self.counts: dict[str, int] = dict(key)
        self.ups: dict[str, LoadState] = {}
        self.downs: dict[str, LoadState] = {}


_table: dict[LoadKey, LoadState] = {}


def load_state(items: Iterable[tuple[str, int]]) -> LoadState:
    """The shared state of these counts, in this order (made on first use)."""
    key = tuple(items)
    st = _table.get(key)
    if st is None:
        if len(_table) >= MAX_SHARED_LOADS:
            _table.clear()  # open-ended: forget the table rather than grow it
        st = _table[key] = LoadState(key)
    return st


def step_up(st: LoadState, ch: str) -> LoadState:
    """``st`` with one inquiry more on ``ch`` (a channel new to it comes last)."""
    nxt = st.ups.get(ch)
    if nxt is None:
        counts = dict(st.counts)
        counts[ch] = counts.get(ch, 0) + 1
        nxt = st.ups[ch] = load_state(counts.items())
    return nxt


def step_down(st: LoadState, ch: str) -> LoadState:
    """``st`` with one inquiry less on ``ch`` (``KeyError`` if it holds none there)."""
    nxt = st.downs.get(ch)
    if nxt is None:
        counts = dict(st.counts)
        counts[ch] -= 1
        nxt = st.downs[ch] = load_state(counts.items())
    return nxt


def with_channels(st: LoadState, channels: Iterable[str]) -> LoadState:
    """``st`` with a count of 0 for each of ``channels`` it has none for, in their order."""
    counts = st.counts
    missing = [ch for ch in channels if ch not in counts]
    if not missing:
        return st
    items = list(counts.items())
    for ch in missing:
        items.append((ch, 0))
    return load_state(items)


#: No load (a new agent's)
NO_LOAD: Final = load_state(())
