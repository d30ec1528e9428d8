"""Lazy heaps: entries go stale instead of being removed, and are dropped in bulk.

Theory of operation: the core's heaps hold entries ``(key, seq, ver, record)``.
An entry is live while ``record.ver == ver``; any change of the record bumps its
version, so the old entry goes stale in O(1) and a new one is pushed where the
record now belongs. Readers drop stale entries when they reach the top. A heap
whose length grows past ``2 * live + 64`` is compacted (stale entries dropped,
the rest re-heapified), so memory stays within a constant factor of the live
entries and the compaction's O(n) cost is amortised over the n pushes that
made it necessary. A pool's ``arrivals`` line (a deque of tickets, no entry tuples)
follows the same rule with its own liveness test (``FIRST_STAY``). Agent heaps know
their live count exactly (``Pool.n_listed``) and are compacted sooner, past
``1.5 * live + 32``: most stale agent entries are then dropped in bulk instead of
one pop each at the top (``router/core.py``).

An agent entry names its agent by the agent's slot, an index into the router's slot
table (``Router._slots``), not by reference: an entry of atoms only, which the cyclic
collector stops tracking at its first young collection instead of promoting it through
the generations with the agent it holds (section "The lifecycle, core19" of
BENCHMARKS.md). A slot is reused only after every agent heap was compacted since its
agent left (``Router._retire_slot``), so no entry names a slot's next agent.
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush
from typing import Any, Final

from router.state.records import FIRST_STAY, WAITING, Agent, Ticket

__all__ = [
    "ARITY",
    "AgentEntry",
    "TicketEntry",
    "agent_list",
    "best_live_except",
    "bloated",
    "compact_agents",
    "entry_heapify",
    "entry_pop",
    "entry_push",
    "first_not_declined",
    "live_arrivals",
    "live_tickets",
]

#: ``(score key, listing seq, agent version, agent slot)``; lower key is better.
AgentEntry = tuple[float, int, int, int]
#: ``(aged arrival, ticket seq, ticket version, ticket)``; lower key is more urgent.
TicketEntry = tuple[float, int, int, Ticket]


def bloated(length: int, live: int) -> bool:
    """Whether a heap of ``length`` entries with ``live`` live ones needs compacting."""
    return length > 2 * live + 64


#: The native entry heaps' arity is ``1 << _SHIFT`` (4): the children of ``i`` are
#: ``(i << _SHIFT) + 1`` onwards, its parent ``(i - 1) >> _SHIFT``. Half the levels of a
#: binary heap: a push (sifted toward the top, one compare a level) does half the compares
#: and moves, a pop (three compares a level to find the least child) as many compares and
#: half the moves, and each level is a cache miss at 100,000 agents.
_SHIFT: Final = 2
#: The number of children of a node, ``1 << _SHIFT``.
ARITY: Final = 4


def _before(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """``a < b`` for two entries of one heap: their ``(key, seq)`` decide (a heap never
    holds two entries with both equal: one listing per agent and pool; each deadline entry
    ``(when, seq, kind, obj, arg)`` has its own ``seq``). Compiled, this is two native float
    compares where ``heapq`` goes through ``tuple.__lt__`` (an equality and an order test
    of the keys, each a rich comparison returning a bool object)."""
    ka: float = a[0]
    kb: float = b[0]
    if ka < kb:
        return True
    if ka == kb:
        sa: int = a[1]
        sb: int = b[1]
        return sa < sb
    return False


def _sift_down(heap: list[Any], startpos: int, pos: int) -> None:
    """``heapq._siftdown`` on the :data:`ARITY`-ary layout with :func:`_before`, inline:
    the item at ``pos`` goes toward the top past each parent it comes before; its key is
    unboxed once, not once per parent it meets (compiled: one float read per level
    instead of two, and no call)."""
    newitem: tuple[Any, ...] = heap[pos]
    nk: float = newitem[0]
    while pos > startpos:
        parentpos = (pos - 1) >> _SHIFT
        parent: tuple[Any, ...] = heap[parentpos]
        pk: float = parent[0]
        if nk < pk:
            heap[pos] = parent
            pos = parentpos
            continue
        if nk == pk:
            ns: int = newitem[1]
            ps: int = parent[1]
            if ns < ps:
                heap[pos] = parent
                pos = parentpos
                continue
        break
    heap[pos] = newitem


def entry_push(heap: list[Any], entry: tuple[Any, ...]) -> None:
    """``heapq.heappush`` for a native entry heap (the compiled build's agent heaps and
    deadline heap, ``Router._native_heap``): the same order of ``(key, seq)``, on the
    :data:`ARITY`-ary layout. A native heap is only ever touched through this module's
    functions (the pure build's through ``heapq``'s, binary): the layouts differ, the
    order of the entries popped does not, and no layout is in a snapshot (a restore sorts
    its entries: a sorted list is a heap of any arity)."""
    heap.append(entry)
    _sift_down(heap, 0, len(heap) - 1)


def agent_list(heap: list[Any], entry: tuple[Any, ...], slots: list[Agent]) -> None:
    """:func:`entry_push` for the compiled refresh's agent entries, except that a stale top
    (its agent in ``slots`` has moved on) gives the new entry its place: the pool's next
    seek would pop it, one sift from the top to a leaf; here the new entry sifts down from
    the top instead and stops where it comes before the least child (new entries mostly
    settle a few levels above the bottom: fewer reads and moves than that pop plus the
    push). The live entries are those of a push (the same decisions); the layout differs,
    and it is never in a snapshot."""
    if heap:
        top: tuple[Any, ...] = heap[0]
        slot: int = top[3]
        ver: int = top[2]
        if slots[slot].ver != ver:
            _settle(heap, 0, entry, len(heap))  # in the stale top's place, sifted down
            return
    heap.append(entry)
    _sift_down(heap, 0, len(heap) - 1)


def _least_child(heap: list[Any], childpos: int, n: int) -> int:
    """The position of the least (by ``(key, seq)``) of the children ``heap[childpos:]``
    of one node, up to :data:`ARITY` of them and within ``heap[:n]`` (``childpos < n``):
    a node's last children, fewer than :data:`ARITY` (the sifts take a full family
    inline)."""
    best: tuple[Any, ...] = heap[childpos]
    bk: float = best[0]
    bpos = childpos
    end = childpos + ARITY
    if end > n:
        end = n
    for j in range(childpos + 1, end):
        e: tuple[Any, ...] = heap[j]
        ek: float = e[0]
        if ek < bk:
            best = e
            bk = ek
            bpos = j
        elif ek == bk:
            es: int = e[1]
            bs: int = best[1]
            if es < bs:
                best = e
                bpos = j
    return bpos


def _settle(heap: list[Any], pos: int, item: tuple[Any, ...], n: int) -> None:
    """Put ``item`` in the hole at ``pos`` of ``heap[:n]`` and sift it down by the least
    child while that child comes before it (its key unboxed once; :func:`entry_heapify`
    and :func:`agent_list`)."""
    ik: float = item[0]
    childpos = (pos << _SHIFT) + 1
    while childpos < n:
        if childpos + 3 < n:
            # four children: the least in a tournament, each read once, its key unboxed
            # once (inline: a call per level would read the winner again)
            a: tuple[Any, ...] = heap[childpos]
            b: tuple[Any, ...] = heap[childpos + 1]
            ka: float = a[0]
            kb: float = b[0]
            apos = childpos
            if kb < ka:
                a = b
                ka = kb
                apos = childpos + 1
            elif kb == ka:
                sa: int = a[1]
                sb: int = b[1]
                if sb < sa:
                    a = b
                    apos = childpos + 1
            c: tuple[Any, ...] = heap[childpos + 2]
            d: tuple[Any, ...] = heap[childpos + 3]
            kc: float = c[0]
            kd: float = d[0]
            cpos = childpos + 2
            if kd < kc:
                c = d
                kc = kd
                cpos = childpos + 3
            elif kd == kc:
                sc: int = c[1]
                sd: int = d[1]
                if sd < sc:
                    c = d
                    cpos = childpos + 3
            if kc < ka:
                a = c
                ka = kc
                apos = cpos
            elif kc == ka:
                sa2: int = a[1]
                sc2: int = c[1]
                if sc2 < sa2:
                    a = c
                    apos = cpos
            child: tuple[Any, ...] = a
            kchild: float = ka
            childpos = apos
        else:
            childpos = _least_child(heap, childpos, n)
            child = heap[childpos]
            kchild = child[0]
        # ``_before(item, child)``: the item stays here
        if ik < kchild:
            break
        if ik == kchild:
            si: int = item[1]
            sk: int = child[1]
            if si < sk:
                break
        heap[pos] = child
        pos = childpos
        childpos = (pos << _SHIFT) + 1
    heap[pos] = item


def _sift_up(heap: list[Any], pos: int) -> None:
    """``heapq._siftup`` on the :data:`ARITY`-ary layout: the hole at ``pos`` goes down to
    a leaf by the least child, then the item that was there goes up (it came from the
    bottom: it mostly belongs near it, so this compares less than :func:`_settle`)."""
    endpos = len(heap)
    startpos = pos
    newitem: tuple[Any, ...] = heap[pos]
    childpos = (pos << _SHIFT) + 1
    while childpos < endpos:
        if childpos + 3 < endpos:
            # four children: the tournament of :func:`_settle`
            a: tuple[Any, ...] = heap[childpos]
            b: tuple[Any, ...] = heap[childpos + 1]
            ka: float = a[0]
            kb: float = b[0]
            apos = childpos
            if kb < ka:
                a = b
                ka = kb
                apos = childpos + 1
            elif kb == ka:
                sa: int = a[1]
                sb: int = b[1]
                if sb < sa:
                    a = b
                    apos = childpos + 1
            c: tuple[Any, ...] = heap[childpos + 2]
            d: tuple[Any, ...] = heap[childpos + 3]
            kc: float = c[0]
            kd: float = d[0]
            cpos = childpos + 2
            if kd < kc:
                c = d
                kc = kd
                cpos = childpos + 3
            elif kd == kc:
                sc: int = c[1]
                sd: int = d[1]
                if sd < sc:
                    c = d
                    cpos = childpos + 3
            if kc < ka or (kc == ka and _before(c, a)):
                a = c
                apos = cpos
            heap[pos] = a
            pos = apos
        else:
            childpos = _least_child(heap, childpos, endpos)
            heap[pos] = heap[childpos]
            pos = childpos
        childpos = (pos << _SHIFT) + 1
    heap[pos] = newitem
    _sift_down(heap, startpos, pos)


def entry_heapify(heap: list[Any]) -> None:
    """``heapq.heapify`` for a native entry heap (see :func:`entry_push`): each parent,
    from the last one up, sifts down the path of least children and stops at the first
    child it comes before. A compaction's input is a heap with entries taken out, whose
    items mostly stay where they are: stopping early there saves the compares and moves of
    ``heapq``'s way (the hole down to a leaf and the item back up; a simulated pool of 300
    agents, binary: compares 585 -> 320, moves 560 -> 28 per compaction; BENCHMARKS.md,
    "The matching path (core25)")."""
    n = len(heap)
    for i in range((n - 2) >> _SHIFT, -1, -1):  # the last parent, (n - 1 - 1) >> _SHIFT
        _settle(heap, i, heap[i], n)


def entry_pop(heap: list[Any]) -> tuple[Any, ...]:
    """``heapq.heappop`` for a native entry heap (see :func:`entry_push`): the last item
    takes the top's place and sifts as in ``heapq`` (:func:`_sift_up`)."""
    last: tuple[Any, ...] = heap.pop()
    if not heap:
        return last
    top: tuple[Any, ...] = heap[0]
    heap[0] = last
    _sift_up(heap, 0)
    return top


def compact_agents(heap: list[Any], slots: list[Agent], native: bool = False) -> None:
    """Keep only the live entries of an agent heap (its agents in ``slots``), as a heap, in
    place: the list object stays the pool's (and a caller's who holds it). A new list would be a
    young container of up to a pool's whole listing: every young collection until it is
    promoted twice traverses all its entries (at 100,000 agents, pools of thousands of
    entries: ~19 entry visits per lifecycle); the pool's list is long in the oldest generation.

    ``native`` (``Router._native_heap``, the compiled build; the heap is then a native one,
    :func:`entry_push`): each entry is read as a tuple object (``tuple[Any, ...]``), whose
    slot and version are native ints; a typed ``AgentEntry`` would be unpacked into native
    fields and boxed into a new tuple (and new ints) when kept, and an untyped one read
    generically. Kept entries are moved down in place (a kept entry's new index is never
    past the one being read), then :func:`entry_heapify`. The pure build keeps the
    comprehension (a third faster there than the loop), copies it back and heapifies with
    ``heapq``. Either way the kept entries are those of the old copy-out, in the same
    order."""
    if native:
        j = 0
        for e in heap:
            entry: tuple[Any, ...] = e
            slot: int = entry[3]
            ver: int = entry[2]
            if slots[slot].ver == ver:
                heap[j] = entry
                j += 1
        del heap[j:]
        entry_heapify(heap)  # the native layout, native compares
    else:
        heap[:] = [e for e in heap if slots[e[3]].ver == e[2]]
        heapify(heap)


def best_live_except(heap: list[Any], slots: list[Any], agent: object, arity: int = 2) -> Any:
    """The live entry of least ``(key, seq)`` in an agent heap whose agent is not ``agent``
    (``None``: there is none), read without changing the heap: a best-first walk down
    the tree (a child is never before its parent), so it visits only the entries before
    the answer (stale ones, ``agent``'s) and their children. ``arity``: the heap's layout,
    2 for ``heapq``'s (the pure build), :data:`ARITY` for a native heap (the compiled
    build's, :func:`entry_push`). (Off the hot path: only an explanation reads it;
    ``slots`` untyped so that a test may pass plain records.)"""
    n = len(heap)
    if not n:
        return None
    frontier: list[tuple[float, int, int]] = [(heap[0][0], heap[0][1], 0)]
    while frontier:
        i = heappop(frontier)[2]
        e = heap[i]
        a = slots[e[3]]
        if a is not agent and a.ver == e[2]:
            return e
        for c in range(arity * i + 1, min(arity * i + arity + 1, n)):
            ce = heap[c]
            heappush(frontier, (ce[0], ce[1], c))
    return None


def live_tickets(heap: list[TicketEntry]) -> list[TicketEntry]:
    """The live entries of a waiting-ticket heap, as a new heap."""
    out = [e for e in heap if e[3].ver == e[2] and e[3].state == WAITING]
    heapify(out)
    return out


def live_arrivals(line: deque[Ticket]) -> deque[Ticket]:
    """The live entries of a pool's ``arrivals`` line (``Pool`` in router/state/records.py),
    in their order: those whose ticket is still in its first stay in line."""
    return deque(t for t in line if t.ver == FIRST_STAY)


def first_not_declined(
    heap: list[TicketEntry], agent_id: str, bound: Ticket | None = None
) -> Ticket | None:
    """The most urgent live ticket of ``heap`` that ``agent_id`` did not decline, and that
    comes before ``bound`` if given. Stale heads are dropped; the entries of tickets this
    agent declined are set aside and pushed back: O(log n) per such ticket ahead of the
    answer (the cost of a decline is paid by the one who declined)."""
    aside: list[TicketEntry] = []
    found = None
    while heap:
        entry = heap[0]
        t = entry[3]
        if t.ver != entry[2] or t.state != WAITING:
            heappop(heap)
            continue
        if bound is not None and (t.aged, t.seq) > (bound.aged, bound.seq):
            break
        declined = t.declined
        if declined is not None and agent_id in declined:
            aside.append(heappop(heap))
            continue
        found = t
        break
    for e in aside:
        heappush(heap, e)
    return found
