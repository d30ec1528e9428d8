"""A ticket's rarely-set fields live in one side record (``TicketMore``), allocated only
when one of them is set: a plain waiting inquiry carries none (BENCHMARKS.md, "Bytes per
waiting inquiry")."""

from __future__ import annotations

import sys

from router import Router
from router.state.records import Ticket, TicketMore
from tests.helpers import agent, basic, inq

RARE = ("extra", "declined", "callback", "attributes", "prefer", "prefer_until", "also")


def _ticket(r: Router, iid: str) -> Ticket:
    t: Ticket = r._tickets[iid]  # type: ignore[attr-defined]
    return t


def test_plain_waiting_inquiry_has_no_side_record_and_reads_defaults() -> None:
    r = basic()
    r.submit(inq("q1"), 1.0)
    r.submit(inq("q2", priority=0), 2.0)
    r.tick(2.0)
    for iid in ("q1", "q2"):
        t = _ticket(r, iid)
        assert t.more is None
        assert (t.extra, t.declined, t.callback, t.attributes) == (None, None, False, None)
        assert (t.prefer, t.prefer_until, t.also) == (None, 0.0, None)
        assert t.aged == t.arrival  # priority 0: the key is the arrival itself


def test_a_pure_ticket_fits_pymalloc_s_144_byte_class() -> None:
    # one more slot makes it 152 bytes, a 160-byte block: bench-check's
    # bytes_per_queued_inquiry was +12% with e2e37's ``Ticket.fresh``. (Compiled, a ticket
    # is a native object of another size, and its block is 160 bytes either way.)
    r = basic()
    r.submit(inq("q1"), 1.0)
    t = _ticket(r, "q1")
    if type(t).__dict__.get("__slots__") is not None:  # the pure build's class
        assert sys.getsizeof(t) <= 144


def test_aged_key_of_a_prioritised_inquiry_is_still_aged() -> None:
    r = basic()
    r.submit(inq("v1", queue="vip"), 100.0)  # the queue's priority 2
    t = _ticket(r, "v1")
    assert t.aged == 100.0 - 2 * 60.0
    assert t.more is None


def test_setting_a_default_allocates_nothing() -> None:
    r = basic()
    r.submit(inq("q1"), 1.0)
    t = _ticket(r, "q1")
    t.extra = None
    t.declined = None
    t.callback = False
    t.attributes = None
    t.prefer = None
    t.prefer_until = 0.0
    t.also = None
    assert t.more is None


def test_setting_one_field_allocates_the_record_and_the_others_keep_their_defaults() -> None:
    for name, value in (
        ("extra", {"refund": 2}),
        ("declined", {"a1"}),
        ("callback", True),
        ("attributes", {"lang": "zh"}),
        ("prefer", ("a1",)),
        ("prefer_until", 9.0),
        ("also", {}),
    ):
        r = basic()
        r.submit(inq("q1"), 1.0)
        t = _ticket(r, "q1")
        setattr(t, name, value)
        assert isinstance(t.more, TicketMore)
        assert getattr(t, name) == value
        for other in RARE:
            if other != name:
                assert getattr(t.more, other) == getattr(TicketMore(), other)


def test_a_decline_allocates_the_record_and_the_inquiry_goes_to_the_declined_line() -> None:
    r = basic()
    r.login(agent("a1"), 0.0)
    r.login(agent("a2"), 0.0)
    r.submit(inq("q1"), 1.0)
    offered = [e for e in r.tick(1.0) if type(e).__name__ == "Offered"]
    assert len(offered) == 1
    first = offered[0].agent_id
    r.decline("q1", 2.0)
    t = _ticket(r, "q1")
    assert t.more is not None and t.declined == {first}
    assert t.pool is not None and t.pool.n_declined == 1
    again = [e for e in r.tick(2.0) if type(e).__name__ == "Offered"]
    assert [e.agent_id for e in again] == [a for a in ("a1", "a2") if a != first]


def test_restore_allocates_no_side_record_for_plain_tickets() -> None:
    r = basic()
    r.login(agent("a1"), 0.0)
    r.login(agent("a2"), 0.0)
    for k in range(5):
        r.submit(inq(f"q{k}"), 1.0 + k)
    r.tick(6.0)
    r.decline(next(iter(_offered_ids(r))), 7.0)
    data = r.snapshot()
    back = Router.restore(data)
    assert back.snapshot() == data
    for iid, t in back._tickets.items():  # type: ignore[attr-defined]
        orig = _ticket(r, iid)
        assert (t.more is None) == (orig.more is None), iid
        for name in RARE[:-1]:
            assert getattr(t, name) == getattr(orig, name), (iid, name)


def _offered_ids(r: Router) -> list[str]:
    return [iid for iid, t in r._tickets.items() if t.state == 2]  # type: ignore[attr-defined]


def test_tickets_of_one_kind_share_one_terms_record_and_a_change_moves_only_its_own() -> None:
    # queue, priority, tenant, heavy, cost and step live in one shared immutable record
    # (TicketTerms, BENCHMARKS.md "Ticket terms shared per queue")
    r = basic()
    r.submit(inq("q1"), 1.0)
    r.submit(inq("q2"), 2.0)
    r.submit(inq("v1", queue="vip"), 3.0)
    t1, t2, v1 = _ticket(r, "q1"), _ticket(r, "q2"), _ticket(r, "v1")
    assert t1.terms is t2.terms
    assert v1.terms is not t1.terms
    assert (v1.queue.name, v1.priority, v1.step) == ("vip", 2, 0)
    shared = t1.terms
    r.update_inquiry("q1", 4.0, priority=3)
    assert t1.priority == 3 and t2.priority == 0
    assert t2.terms is shared and shared.priority == 0  # the shared record did not change
    r.transfer("q2", "vip", 5.0)
    assert t2.queue.name == "vip" and t2.priority == 0 and t1.queue.name == "refund"
    r.update_inquiry("q1", 6.0, priority=0)
    assert t1.terms is shared  # back to the same values: the same record again


def test_entered_is_the_arrival_until_it_differs_and_only_then_takes_the_record() -> None:
    r = basic()
    r.submit(inq("q1"), 5.0)
    r.submit(inq("q2", arrived_at=3.0), 5.0)  # arrived before it entered the router's queue
    t1, t2 = _ticket(r, "q1"), _ticket(r, "q2")
    assert (t1.arrival, t1.entered, t1.more) == (5.0, 5.0, None)
    assert (t2.arrival, t2.entered) == (3.0, 5.0)
    assert t2.more is not None and t2.more.entered == 5.0
    r.transfer("q1", "vip", 8.0)  # entered its new queue now, keeps its arrival
    assert (t1.arrival, t1.entered) == (5.0, 8.0)
    assert t1.more is not None and t1.more.entered == 8.0
    t1.entered = 5.0  # back to its arrival: the record forgets it
    assert t1.more.entered is None and t1.entered == 5.0
    data = r.snapshot()
    back = Router.restore(data)
    assert back.snapshot() == data
    for iid in ("q1", "q2"):
        assert _ticket(back, iid).entered == _ticket(r, iid).entered


def test_entered_at_minus_zero_keeps_its_sign() -> None:
    r = basic()
    r.submit(inq("z", arrived_at=-0.0), 0.0)
    t = _ticket(r, "z")
    assert str(t.arrival) == "-0.0" and str(t.entered) == "0.0"
    assert t.more is not None


def test_the_shared_terms_table_stays_bounded_when_callers_bring_new_tenants() -> None:
    # a queue without a tenant takes its callers' tenants, an open-ended set: the sharing
    # table is forgotten when full rather than grown, and no ticket's values move
    from router.state.records import MAX_SHARED_TERMS

    r = basic()
    n = MAX_SHARED_TERMS + 50
    for i in range(n):
        r.submit(inq(f"t{i}", tenant=f"org{i}"), 1.0 + i * 1e-3)
    q = _ticket(r, "t0").queue
    assert 0 < len(q.terms) <= MAX_SHARED_TERMS
    for i in (0, MAX_SHARED_TERMS - 1, MAX_SHARED_TERMS, n - 1):
        t = _ticket(r, f"t{i}")
        assert (t.tenant, t.queue.name, t.priority) == (f"org{i}", "refund", 0)
    r.update_inquiry("t0", 10.0, priority=1)
    assert _ticket(r, "t0").priority == 1 and _ticket(r, "t0").tenant == "org0"
