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

The pure build's agent entry is that tuple (:data:`AgentTuple`), which ``heapq`` orders in C.
The compiled build's agent heaps (``Router._native_heap``) are not lists of entries but
``vecheap.AgentHeap`` vectors, with liveness from a live table by slot instead of versions
(router/state/vecheap.py: the same order, ``(key, seq)`` with the listing's rank for ``seq``).
The router's deadline heap and offer line are lists either way: :data:`DeadlineTuple`
entries pure, :class:`DeadlineEntry` objects compiled (``deadline_push``, ``deadline_pop``,
``deadline_heapify``), which hold atoms only (the object a ticket's or a policy timer's entry
names is kept beside the heap by the entry's ``seq``: ``Router._deadline_refs``). An agent
timer that fires from the top of the heap is taken off by the first push of its fire
(``deadline_rekey`` compiled, ``heapq.heapreplace`` pure: one sift for the pop and the push;
``Router._top_fired``), not before. The native sifts hold their positions as ``i64`` (an
annotation only: plain C arithmetic and list indexing compiled, where a tagged int tests its
tag at every step; nothing pure), and so does a deadline entry's ``seq``. A deadline entry
is padded to an 80-byte block (not a 64-byte one, which pymalloc starts 48 bytes into a cache
line): three blocks in four hold the header and ``when`` in one line.

The pure build's agent entry's liveness is read from the router's version table (``Router._vers``,
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

from collections.abc import Iterator
from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING, Any, Final, final

from router.state.records import FIRST_STAY, WAITING, Ticket
from router.state.vecheap import SLOT_BITS

if TYPE_CHECKING:  # (an annotation only: never evaluated, the pure build needs no import)
    from mypy_extensions import i64

try:  # mypyc reads the decorator when it compiles; at run time it is a no-op
    from mypy_extensions import mypyc_attr
except ImportError:  # (not a dependency: the pure build runs without it)

    def mypyc_attr(*_args: object, **_kwargs: object) -> Any:  # type: ignore[misc]
        """``mypy_extensions.mypyc_attr``'s stand-in: no-op."""
        return lambda cls: cls


__all__ = [
    "RANK_LIMIT",
    "SLOT_BITS",
    "SLOT_LIMIT",
    "AgentTuple",
    "DeadlineEntry",
    "DeadlineTuple",
    "TicketEntry",
    "best_live_except",
    "bloated",
    "compact_agents",
    "deadline_heapify",
    "deadline_pop",
    "deadline_push",
    "first_not_declined",
    "live_arrivals",
    "live_tickets",
]

#: ``(score key, listing seq, agent version, agent slot)``; lower key is better. The version
#: is the object of the router's version table (``Router._vers[slot]``) when it was pushed.
#: The pure build's agent heap entry (``heapq`` compares tuples in C; compiled:
#: router/state/vecheap.py).
AgentTuple = tuple[float, int, object, int]
#: ``(when, seq, kind, obj, arg)``: the router's deadline entry (``Router._at``), ordered by
#: ``(when, seq)``; the pure build's, where the compiled build's is a :class:`DeadlineEntry`.
DeadlineTuple = tuple[float, int, int, Any, int]
#: ``(aged arrival, ticket seq, ticket version, ticket)``; lower key is more urgent.
TicketEntry = tuple[float, int, int, Ticket]

# SLOT_BITS, the slot's bits of a compiled agent heap entry's ``ss``: defined with the
# heap (vecheap.py, imported by records.py, so it cannot import this module)
#: the agents' slots a compiled router has room for (``Router._login``, ``_slot_limit``)
SLOT_LIMIT: Final = 1 << SLOT_BITS
#: the listings' ranks are below this (``Agent.rank`` is an ``i32``; ``ss`` then fits 57
#: bits); a compiled router renumbers them from 1 before one would reach it
#: (``Router._renumber_ranks``: once in 2.1 billion refreshes)
RANK_LIMIT: Final = (1 << 31) - 1


@final
@mypyc_attr(acyclic=True, free_list_len=1)
class DeadlineEntry:
    """The compiled build's deadline entry (``Router._deadlines`` and the offer line,
    ``Router._line``): :data:`DeadlineTuple`'s five fields in a native object (the pure build
    keeps the tuples, which ``heapq`` compares in C). Compiled, ``when`` is a C double and
    ``seq``, ``kind`` and ``arg`` native ints: a sift's compare and the router's reads unbox
    nothing, and a push makes one object where a tuple needed two (the tuple and the time's
    float). ``obj`` is an atom only (an offer's inquiry id, an agent timer's slot; ``None`` for
    the kinds that name an object, which the router keeps beside the heap by the entry's
    ``seq``: ``Router._deadline_refs``), so the class is ``acyclic``: never tracked by the
    cyclic collector (an entry holding a reference would keep a cycle through it from ever being
    collected: a named policy timer's target holds its policy, which holds the router). ``(when,
    seq)`` orders entries (:meth:`__lt__`); ``e[i]`` and unpacking read the fields in the
    tuple's order, for readers off the hot path that take either form."""

    __slots__ = ("arg", "kind", "obj", "pad1", "seq", "when")

    def __init__(self, when: float, seq: i64, kind: int, obj: str | int | None, arg: int) -> None:
        self.when = when
        self.seq = seq
        self.kind = kind
        self.obj = obj
        self.arg = arg
        # never read: 72 bytes, an 80-byte block, for the header and ``when`` in one cache
        # line in three entries of four
        self.pad1: i64 = 0

    def __lt__(self, other: DeadlineEntry) -> bool:
        return self.when < other.when or (self.when == other.when and self.seq < other.seq)

    def __getitem__(self, i: int) -> Any:
        return (self.when, self.seq, self.kind, self.obj, self.arg)[i]

    def __len__(self) -> int:
        return 5

    def __iter__(self) -> Iterator[Any]:
        return iter((self.when, self.seq, self.kind, self.obj, self.arg))

    def __repr__(self) -> str:
        return f"DeadlineEntry{(self.when, self.seq, self.kind, self.obj, self.arg)!r}"


def bloated(length: int, live: int) -> bool:
    """Whether a heap of ``length`` entries with ``live`` live ones needs compacting."""
    return length > 2 * live + 64


def deadline_push(heap: list[DeadlineEntry], entry: DeadlineEntry) -> None:
    """:func:`entry_push` for the compiled deadline heap (:class:`DeadlineEntry` objects, each
    ``when`` a field read with no unboxing): ``heapq``'s layout, ``(when, seq)`` order."""
    heap.append(entry)
    _deadline_sift_down(heap, 0, len(heap) - 1)


def deadline_pop(heap: list[DeadlineEntry]) -> DeadlineEntry:
    """:func:`entry_pop` for :class:`DeadlineEntry` objects (``heapq.heappop``'s moves)."""
    last = heap.pop()
    if not heap:
        return last
    top = heap[0]
    heap[0] = last
    _deadline_sift_up(heap, 0)
    return top


def deadline_rekey(
    heap: list[DeadlineEntry], when: float, seq: i64, kind: int, obj: str | int | None, arg: int
) -> None:
    """The top of a non-empty deadline heap taken off and an entry of these fields pushed, in
    one sift (``heapq.heapreplace``'s moves): the top's own object takes the new fields (no
    allocation; a holder of it must have read its old fields), the hole at the top goes to a
    leaf by the lesser child, then the entry goes up from there. The entries held after are
    those of a :func:`deadline_pop` and a :func:`deadline_push` (so the same ``(when, seq)``
    order); the layout may differ (never in a snapshot: ``Router.snapshot`` sorts them)."""
    top = heap[0]
    top.when = when
    top.seq = seq
    top.kind = kind
    top.obj = obj
    top.arg = arg
    _deadline_sift_up(heap, 0)


def deadline_heapify(heap: list[DeadlineEntry]) -> None:
    """:func:`entry_heapify` for :class:`DeadlineEntry` objects: ``heapq.heapify``'s layout."""
    n: i64 = len(heap)
    for i in range(n // 2 - 1, -1, -1):
        _deadline_settle(heap, i, heap[i], n)


def _deadline_sift_down(heap: list[DeadlineEntry], startpos: i64, pos: i64) -> None:
    """:func:`_sift_down` for :class:`DeadlineEntry` objects (``heapq._siftdown``'s moves)."""
    newitem = heap[pos]
    nk = newitem.when
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        parent = heap[parentpos]
        pk = parent.when
        if nk < pk or (nk == pk and newitem.seq < parent.seq):
            heap[pos] = parent
            pos = parentpos
            continue
        break
    heap[pos] = newitem


def _deadline_settle(heap: list[DeadlineEntry], pos: i64, item: DeadlineEntry, n: i64) -> None:
    """:func:`_settle` for :class:`DeadlineEntry` objects (:func:`deadline_heapify`)."""
    ik = item.when
    childpos = 2 * pos + 1
    while childpos < n:
        # the lesser child, as ``heapq`` chooses it (the right one unless the left is before)
        child = heap[childpos]
        kc = child.when
        rightpos = childpos + 1
        if rightpos < n:
            right = heap[rightpos]
            kr = right.when
            if not (kc < kr or (kc == kr and child.seq < right.seq)):  # not child < right
                childpos = rightpos
                child = right
                kc = kr
        # ``item < child``: the item stays here
        if ik < kc or (ik == kc and item.seq < child.seq):
            break
        heap[pos] = child
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos] = item


def _deadline_sift_up(heap: list[DeadlineEntry], pos: i64) -> None:
    """:func:`_sift_up` for :class:`DeadlineEntry` objects (``heapq._siftup``'s moves): the
    hole at ``pos`` goes down to a leaf by the lesser child, then the item goes up."""
    endpos: i64 = len(heap)
    startpos = pos
    newitem = heap[pos]
    childpos = 2 * pos + 1
    while childpos < endpos:
        child = heap[childpos]
        rightpos = childpos + 1
        if rightpos < endpos:
            right = heap[rightpos]
            kc = child.when
            kr = right.when
            if not (kc < kr or (kc == kr and child.seq < right.seq)):  # not child < right
                childpos = rightpos
                child = right
        heap[pos] = child
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos] = newitem
    _deadline_sift_down(heap, startpos, pos)


def compact_agents(heap: list[Any], vers: list[object]) -> None:
    """Keep only the live entries of a pure agent heap (``vers``: the version table), as a
    heap, in place: the list object stays the pool's (and a caller's who holds it). A new
    list would be a young container of up to a pool's whole listing: every young collection
    until it is promoted twice traverses all its entries; the pool's list is long in the
    oldest generation. The comprehension, copied back (a third faster than a loop moving
    entries down in place, pure), then ``heapq.heapify``. (The compiled build's heaps are
    ``vecheap.AgentHeap``'s: ``AgentHeap.compact``.)"""
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
