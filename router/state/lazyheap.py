"""Lazy heaps: entries go stale instead of being removed, and are dropped in bulk.

Theory of operation: the core's heaps hold entries ``(key, seq, ver, record)``.
An entry is live while ``record.ver == ver``; any change of the record bumps its
version, so the old entry goes stale in O(1) and a new one is pushed where the
record now belongs. Readers drop stale entries when they reach the top. A heap
whose length grows past ``2 * live + 64`` is compacted (stale entries dropped,
the rest re-heapified), so memory stays within a constant factor of the live
entries and the compaction's O(n) cost is amortised over the n pushes that
made it necessary. A pool's ``arrivals`` line (a list of tickets, no entry tuples, read
from ``Pool.head``) follows the same rule with its own liveness test (``FIRST_STAY``).
Agent heaps know their live count exactly (``Pool.n_listed``) and are compacted sooner, past
``1.5 * live + 32``: most stale agent entries are then dropped in bulk instead of
one pop each at the top (``router/core.py``).

An agent entry names its agent by the agent's slot, an index into the router's slot
table (``Router._slots``), not by reference: an entry of atoms only, which the cyclic
collector stops tracking at its first young collection instead of promoting it through
the generations with the agent it holds (section "The lifecycle, core19" of
BENCHMARKS.md). A slot is reused only after every agent heap was compacted since its
agent left (``Router._retire_slot``), so no entry names a slot's next agent.

An agent entry's liveness is read from the router's version table (``Router._vers``,
parallel to ``_slots``), not from the agent: ``vers[slot] is ver``. While an agent is listed
at its current version (``listed_ver == ver``) its cell holds that version as an int object
(written by ``_refresh`` when it lists the agent, by ``_index_agent`` for a new or restored
one); once the version moves on (``unlist``) or the slot retires, ``None``, which no entry
holds. Entries are pushed only while ``listed_ver == ver`` (``_refresh``, ``_consider``,
``restore``), with the table's object. So an entry of the current version holds the table's
very object (not rewritten since), and one of an older version an int of another value
(versions only grow) or meets ``None``: never that object. Identity is then the version
compare, read from one 8-byte cell of a contiguous list (80 KB at 10,000 agents) instead of
the agent record: a stale entry that a compaction or a seek walks past costs no read of its
agent (section "Liveness from a version table (mem29)" of BENCHMARKS.md).
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Any

from router.state.records import FIRST_STAY, WAITING, Ticket

__all__ = [
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

#: ``(score key, listing seq, agent version, agent slot)``; lower key is better. The version
#: is the object of the router's version table (``Router._vers[slot]``) when it was pushed.
AgentEntry = tuple[float, int, object, int]
#: ``(aged arrival, ticket seq, ticket version, ticket)``; lower key is more urgent.
TicketEntry = tuple[float, int, int, Ticket]


def bloated(length: int, live: int) -> bool:
    """Whether a heap of ``length`` entries with ``live`` live ones needs compacting."""
    return length > 2 * live + 64


def _before(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """``a < b`` for two entries of one heap: their ``(key, seq)`` decide (a heap never holds
    two entries with both equal: an agent heap one listing per agent and pool, the router's
    deadline heap ``(when, seq, kind, obj, arg)`` a ``seq`` of its own per entry). Compiled,
    this is two native float compares where ``heapq`` goes through ``tuple.__lt__`` (an
    equality and an order test of the keys, each a rich comparison returning a bool
    object)."""
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
    """``heapq._siftdown`` with :func:`_before`, inline: the new item's key is unboxed once,
    not once per parent it meets (compiled: one float read per level instead of two, and no
    call)."""
    newitem: tuple[Any, ...] = heap[pos]
    nk: float = newitem[0]
    while pos > startpos:
        parentpos = (pos - 1) >> 1
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
    """``heapq.heappush`` for an entry heap ordered by ``(key, seq)``: the router's agent heaps
    and its deadline heap, in the compiled build (``Router._native_heap``; the pure one calls
    ``heapq``'s C functions, faster there). The same order and layout as ``heapq``'s, so
    either may act on a heap the other built."""
    heap.append(entry)
    _sift_down(heap, 0, len(heap) - 1)


def agent_list(heap: list[Any], entry: tuple[Any, ...], vers: list[object]) -> None:
    """:func:`entry_push` for the compiled refresh, except that a stale top (its version is
    not its slot's object in ``vers``, the version table) gives the new entry its place: the
    pool's next seek would pop it, one sift from the top to a leaf; here the new entry sifts
    down from the top instead and stops where it comes before the lesser child (new entries
    mostly settle a few levels above the bottom: fewer reads and moves than that pop plus the
    push). The live entries are those of a push (the same decisions); the layout, never in a
    snapshot, is not ``heapq``'s after a replacement (the pure build pushes)."""
    if heap:
        top: tuple[Any, ...] = heap[0]
        slot: int = top[3]
        if vers[slot] is not top[2]:  # compiled: a pointer compare, nothing unboxed
            _settle(heap, 0, entry, len(heap))  # in the stale top's place, sifted down
            return
    heap.append(entry)
    _sift_down(heap, 0, len(heap) - 1)


def _settle(heap: list[Any], pos: int, item: tuple[Any, ...], n: int) -> None:
    """Put ``item`` in the hole at ``pos`` of ``heap[:n]`` and sift it down by the lesser
    child while that child comes before it (its key unboxed once; :func:`entry_heapify`
    and :func:`agent_list`)."""
    ik: float = item[0]
    childpos = 2 * pos + 1
    while childpos < n:
        # the lesser child, as ``heapq`` chooses it (the right one unless the left is before)
        child: tuple[Any, ...] = heap[childpos]
        kc: float = child[0]
        rightpos = childpos + 1
        if rightpos < n:
            right: tuple[Any, ...] = heap[rightpos]
            kr: float = right[0]
            if kc < kr:
                pass
            elif kc == kr:
                sc: int = child[1]
                sr: int = right[1]
                if not sc < sr:
                    childpos = rightpos
                    child = right
                    kc = kr
            else:
                childpos = rightpos
                child = right
                kc = kr
        # ``_before(item, child)``: the item stays here
        if ik < kc:
            break
        if ik == kc:
            si: int = item[1]
            sk: int = child[1]
            if si < sk:
                break
        heap[pos] = child
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos] = item


def _sift_up(heap: list[Any], pos: int) -> None:
    """``heapq._siftup`` with :func:`_before`: the hole at ``pos`` goes down to a leaf by
    the lesser child, then the item that was there goes up."""
    endpos = len(heap)
    startpos = pos
    newitem: tuple[Any, ...] = heap[pos]
    childpos = 2 * pos + 1
    while childpos < endpos:
        # ``not _before(child, right)`` inline: each entry read once, its key unboxed once
        child: tuple[Any, ...] = heap[childpos]
        rightpos = childpos + 1
        if rightpos < endpos:
            right: tuple[Any, ...] = heap[rightpos]
            kc: float = child[0]
            kr: float = right[0]
            if kc < kr:
                pass
            elif kc == kr:
                sc: int = child[1]
                sr: int = right[1]
                if not sc < sr:
                    childpos = rightpos
                    child = right
            else:
                childpos = rightpos
                child = right
        heap[pos] = child
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos] = newitem
    _sift_down(heap, startpos, pos)


def entry_heapify(heap: list[Any]) -> None:
    """``heapq.heapify``'s layout for an entry heap (see :func:`entry_push`), with native key
    compares instead of ``tuple.__lt__`` (two rich comparisons per pair of entries).

    Each item sifts down the path of lesser children and stops at the first child it comes
    before, where ``heapq`` takes the hole down to a leaf and the item back up. Along that
    path the children come in increasing order (the subtrees below are heaps already), so
    both put the item after the path's entries that come before it: the same place, the
    same layout, since no two entries of a heap have both key and seq equal (see
    :func:`_before`). ``heapq``'s way saves compares on random input; a compaction's input
    is a heap with entries taken out, whose items mostly stay where they are (a simulated
    pool of 300 agents: compares 585 -> 320, moves 560 -> 28 per compaction; BENCHMARKS.md,
    "The matching path (core25)")."""
    n = len(heap)
    for i in range(n // 2 - 1, -1, -1):
        _settle(heap, i, heap[i], n)


def entry_pop(heap: list[Any]) -> tuple[Any, ...]:
    """``heapq.heappop`` for an entry heap (see :func:`entry_push`): the last item takes
    the top's place and sifts as in ``heapq`` (:func:`_sift_up`)."""
    last: tuple[Any, ...] = heap.pop()
    if not heap:
        return last
    top: tuple[Any, ...] = heap[0]
    heap[0] = last
    _sift_up(heap, 0)
    return top


def compact_agents(heap: list[Any], vers: list[object], native: bool = False) -> None:
    """Keep only the live entries of an agent heap (``vers``: the version table), as a heap, in
    place: the list object stays the pool's (and a caller's who holds it). A new list would be a
    young container of up to a pool's whole listing: every young collection until it is
    promoted twice traverses all its entries (at 100,000 agents, pools of thousands of
    entries: ~19 entry visits per lifecycle); the pool's list is long in the oldest generation.

    ``native`` (``Router._native_heap``, the compiled build): each entry is read as a tuple
    object (``tuple[Any, ...]``), its slot a native int and its version an object (only its
    identity is tested: a pointer compare); a typed
    ``AgentEntry`` would be unpacked into native fields and boxed into a new tuple (and new
    ints) when kept, and an untyped one read generically. Kept entries are moved down in
    place (a kept entry's new index is never past the one being read). The pure build keeps
    the comprehension (a third faster there than the loop) and copies it back. Either way the
    kept entries are those of the old copy-out, in the same order, heapified the same way."""
    if native:
        j = 0
        for e in heap:
            entry: tuple[Any, ...] = e
            slot: int = entry[3]
            if vers[slot] is entry[2]:
                heap[j] = entry
                j += 1
        del heap[j:]
        entry_heapify(heap)  # heapq's layout, native compares
    else:
        heap[:] = [e for e in heap if vers[e[3]] is e[2]]
        heapify(heap)


def best_live_except(heap: list[Any], slots: list[Any], agent: object) -> Any:
    """The live entry of least ``(key, seq)`` in an agent heap whose agent is not ``agent``
    (``None``: there is none), read without changing the heap: a best-first walk down
    the tree (a child is never before its parent), so it visits only the entries before
    the answer (stale ones, ``agent``'s) and their children. (Off the hot path: only
    an explanation reads it; ``slots`` untyped so that a test may pass plain records.)"""
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
        for c in (2 * i + 1, 2 * i + 2):
            if c < n:
                ce = heap[c]
                heappush(frontier, (ce[0], ce[1], c))
    return None


def live_tickets(heap: list[TicketEntry]) -> list[TicketEntry]:
    """The live entries of a waiting-ticket heap, as a new heap."""
    out = [e for e in heap if e[3].ver == e[2] and e[3].state == WAITING]
    heapify(out)
    return out


def live_arrivals(line: list[Ticket]) -> list[Ticket]:
    """The live entries of a pool's ``arrivals`` line (``Pool`` in router/state/records.py),
    in their order: those whose ticket is still in its first stay in line (the stale
    entries before the pool's ``head`` among the dropped ones: the new line's head is 0)."""
    return [t for t in line if t.ver == FIRST_STAY]


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
