"""Shared load counts: one dict per distinct load, held by every agent with that load.

Theory of operation. An agent's ``load`` (inquiries held per channel, ``Agent.load``) is
read by the scorer, the refresh, the seeks, the releases and the real-time counts. At
10,000 agents a dict of its own per agent is cold when the completing or the assigned agent
is touched: two or three trips to memory (BENCHMARKS.md, ix38). Loads are small counts, so
the distinct ones in use are few. Each is a :class:`LoadState`: its counts as a dict (the
same items in the same order as the per-agent dict had), never changed in place, and the
states one inquiry more or less on a channel away, found once and then cached on the state
(``ups``, ``downs``: by channel number, below). An agent holds its state
(``Agent.loadst``) and that state's dict (``Agent.load``, what the readers read); a change
replaces both (``router/state/records.py``: ``load_up``, ``load_with``, ``set_load``;
``Router._assign`` and ``_release`` inline). The dicts in use stay few and hot.

The table of states is module-wide (values, shared by every router in the process) and is
forgotten when it reaches :data:`MAX_SHARED_LOADS` states (channels and capacities are
open-ended): states already held keep their counts and their cached neighbours, so an
agent's counts stay right; only the sharing starts again.

Channel numbers. The hot paths (a refresh, a seek, an assignment) read an agent's load and
capacity on a pool's channel by the channel's number (``channel_no``, module-wide, given
once per name and never forgotten: a number stays valid in every state and pool), an index
into a list (``LoadState.nums``, ``Agent.capn``: ``cap_numbers``), not a str-keyed probe of
the dicts. A list is as long as its highest channel number + 1, 0 where it has no count.
The cached neighbours are lists by channel number too (``ups``/``downs``, ``None`` where
not found yet, as long as the highest channel stepped on + 1): an assignment and a release
step by ``Pool.chan``/``QueueState.chan`` (``step_up_no``/``step_down_no``, the bound and
``None`` checks inline in ``Router._assign``/``_release``); ``step_up``/``step_down`` take
the channel's name for every other caller.
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
    loads one inquiry more (``ups``) or less (``downs``) on a channel, cached by channel
    number."""

    __slots__ = ("counts", "downs", "nums", "ups")

    def __init__(self, key: LoadKey) -> None:
        self.counts: dict[str, int] = dict(key)
        #: ``counts`` by channel number (``channel_no``)
        self.nums: list[int] = by_number(key)
        self.ups: list[LoadState | None] = []
        self.downs: list[LoadState | None] = []


_table: dict[LoadKey, LoadState] = {}
#: channel name -> its number (module-wide, never forgotten: the configured channels)
_numbers: dict[str, int] = {}
_caps_table: dict[LoadKey, list[int]] = {}


def channel_no(ch: str) -> int:
    """``ch``'s number (given on first use)."""
    n = _numbers.get(ch)
    if n is None:
        n = _numbers[ch] = len(_numbers)
    return n


def by_number(items: LoadKey) -> list[int]:
    """Counts per channel as a list indexed by channel number (0 where none)."""
    at = [channel_no(ch) for ch, _ in items]
    nums = [0] * (max(at) + 1 if at else 0)
    for i, (_, n) in zip(at, items, strict=True):
        nums[i] = n
    return nums


def cap_numbers(caps: dict[str, int]) -> list[int]:
    """``caps`` by channel number (``Agent.capn``): one list per distinct caps, shared."""
    key = tuple(caps.items())
    nums = _caps_table.get(key)
    if nums is None:
        if len(_caps_table) >= MAX_SHARED_LOADS:
            _caps_table.clear()  # open-ended: forget the table rather than grow it
        nums = _caps_table[key] = by_number(key)
    return nums


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
    return step_up_no(st, channel_no(ch), ch)


def step_down(st: LoadState, ch: str) -> LoadState:
    """``st`` with one inquiry less on ``ch`` (``KeyError`` if it holds none there)."""
    return step_down_no(st, channel_no(ch), ch)


def _cached(steps: list[LoadState | None], cn: int) -> LoadState | None:
    return steps[cn] if cn < len(steps) else None


def _cache(steps: list[LoadState | None], cn: int, nxt: LoadState) -> LoadState:
    if cn >= len(steps):
        steps.extend([None] * (cn + 1 - len(steps)))
    steps[cn] = nxt
    return nxt


def step_up_no(st: LoadState, cn: int, ch: str) -> LoadState:
    """``step_up(st, ch)``, ``cn`` being ``ch``'s number (``channel_no``)."""
    nxt = _cached(st.ups, cn)
    if nxt is None:
        counts = dict(st.counts)
        counts[ch] = counts.get(ch, 0) + 1
        nxt = _cache(st.ups, cn, load_state(counts.items()))
    return nxt


def step_down_no(st: LoadState, cn: int, ch: str) -> LoadState:
    """``step_down(st, ch)``, ``cn`` being ``ch``'s number (``channel_no``)."""
    nxt = _cached(st.downs, cn)
    if nxt is None:
        counts = dict(st.counts)
        counts[ch] -= 1
        nxt = _cache(st.downs, cn, load_state(counts.items()))
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
