"""Hours of operation: the week schedule, closed outcomes, closing, opening, snapshots."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import (
    AgentSpec,
    ConfigError,
    InvalidState,
    Router,
    decode_config,
    encode_events,
)
from router.config.clock import DAYS, WEEK, WeekSchedule, clock_base, parse_days
from router.config.schema import Clock
from tests.helpers import config, inq

H = 3600.0
D = 86400.0


def schedule(spans: list[tuple[str, str, str]], start: str = "mon 00:00") -> WeekSchedule:
    cfg = decode_config(
        (
            f'[routing.clock]\nstart = "{start}"\n[[queues]]\nname = "q"\nhours = ['
            + ", ".join(f'{{days = "{d}", open = "{o}", close = "{c}"}}' for d, o, c in spans)
            + "]\n"
        ).encode()
    )
    from router.config.clock import queue_schedules

    return queue_schedules(cfg)["q"]


# ------------------------------------------------------------------ the week schedule


def test_weekdays_eight_to_ten() -> None:
    s = schedule([("mon-fri", "08:00", "22:00")])
    assert not s.is_open(8 * H - 1)
    assert s.is_open(8 * H)
    assert s.is_open(22 * H - 0.5)
    assert not s.is_open(22 * H)
    assert s.next_change(0) == 8 * H
    assert s.next_change(8 * H) == 22 * H
    assert s.next_change(22 * H) == D + 8 * H
    assert not s.is_open(5 * D + 12 * H)  # saturday noon
    assert s.next_change(4 * D + 22 * H) == 7 * D + 8 * H  # friday close -> monday open
    assert s.is_open(7 * D + 9 * H)  # next week
    assert s.next_open(5 * D) == 7 * D + 8 * H
    assert s.next_open(9 * H) == 9 * H


def test_spans_past_midnight_and_around_the_week() -> None:
    s = schedule([("fri", "22:00", "06:00"), ("sun", "23:00", "02:00")])
    assert s.is_open(4 * D + 23 * H)  # fri 23:00
    assert s.is_open(5 * D + 5 * H)  # sat 05:00
    assert not s.is_open(5 * D + 6 * H)
    assert s.is_open(6 * D + 23.5 * H)  # sun 23:30
    assert s.is_open(0.5 * H)  # mon 00:30, the same span
    assert not s.is_open(2 * H)
    assert s.next_change(6 * D + 23.5 * H) == 7 * D + 2 * H


def test_always_open_never_changes_and_the_start_shifts_the_clock() -> None:
    s = schedule([("mon-sun", "00:00", "24:00")])
    assert s.is_open(123456.0) and s.next_change(0) == math.inf
    fri = schedule([("mon-fri", "08:00", "22:00")], start="fri 21:00")
    assert fri.is_open(0) and not fri.is_open(H)
    assert fri.next_change(0) == H
    assert fri.next_open(H) == H + 2 * D + 10 * H  # fri 22:00 -> mon 08:00


def test_unix_time_with_an_offset() -> None:
    base = clock_base(Clock(unix=True, utc_offset="+08:00"))
    s = WeekSchedule([(parse_days("thu"), 8 * H, 9 * H)], base)
    assert s.is_open(0.0)  # 1970-01-01 00:00 UTC was a Thursday, 08:00 at +08:00
    assert not s.is_open(H)
    # 2024-01-01 00:00 UTC (1704067200) was a Monday
    monday = WeekSchedule([(parse_days("mon"), 0.0, H)], clock_base(Clock(unix=True)))
    assert monday.is_open(1704067200.0) and not monday.is_open(1704067200.0 - 1)


def test_days_parse_ranges_lists_and_wraps() -> None:
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,sun") == [5, 6]
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_days("Mon-Wed, sun") == [0, 1, 2, 6]
    with pytest.raises(ValueError, match="expected days like"):
        parse_days("weekdays")


def _naive_open(spans: list[tuple[list[int], int, int]], minute: int) -> bool:
    """Minute of the week open? The obvious way: look at today's and yesterday's spans."""
    day, m = divmod(minute, 1440)
    for days, o, c in spans:
        if c > o:
            if day in days and o <= m < c:
                return True
        else:  # past midnight: [o, 24:00) today, [0, c) the day after
            if day in days and m >= o:
                return True
            if (day - 1) % 7 in days and m < c:
                return True
    return False


span = st.tuples(
    st.sets(st.integers(0, 6), min_size=1),
    st.integers(0, 1439),
    st.integers(1, 1440),
).filter(lambda s: s[1] != s[2] % 1440 or s[2] == 1440)


@settings(max_examples=150, deadline=None)
@given(st.lists(span, min_size=1, max_size=4), st.integers(0, 6 * 1440), st.integers(0, 6))
def test_the_schedule_agrees_with_a_minute_by_minute_reading(
    spans: list[tuple[set[int], int, int]], start: int, probes_seed: int
) -> None:
    plain = [(sorted(days), o, c) for days, o, c in spans]
    s = WeekSchedule([(d, o * 60.0, c * 60.0) for d, o, c in plain], start * 60.0)
    for k in range(0, 7 * 1440, 37 + probes_seed):  # probe across the week
        want = _naive_open(plain, (k + start) % (7 * 1440))
        assert s.is_open(k * 60.0) == want, k
    # next_change lands exactly on the first minute whose state differs
    now = 0.0
    for _ in range(6):
        nxt = s.next_change(now)
        if nxt == math.inf:
            assert all(s.is_open(m * 60.0) == s.is_open(0.0) for m in range(0, 10080, 7))
            break
        assert nxt > now
        assert s.is_open(nxt) != s.is_open(nxt - 30.0)
        m = math.floor(now / 60.0) + 1
        while m * 60.0 < nxt:
            assert s.is_open(m * 60.0) == s.is_open(now), (now, m)
            m += 1
        now = nxt


# ------------------------------------------------------------------ config


def test_bad_hours_and_clocks_name_their_paths() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config(
            b"""
[routing.clock]
unix = true
start = "tue 08:00"
utc_offset = "+8"
[[queues]]
name = "q"
hours = [{ days = "mon-fry", open = "8:00", close = "22:00" }]
closed = "callback"
at_close = "closed"
"""
        )
    assert info.value.problems == [
        "$.routing.clock.utc_offset: expected an offset like '+08:00' or '-05:30', got '+8'",
        "$.routing.clock.start: with unix = true, now is Unix time; leave start out",
        "$.queues[0].hours[0].days: expected days like 'mon-fri' or 'sat,sun' "
        "(mon tue wed thu fri sat sun), got 'mon-fry'",
        "$.queues[0].hours[0].open: expected a time like '08:00', got '8:00'",
    ]
    with pytest.raises(ConfigError) as info:
        decode_config(b'[[queues]]\nname = "q"\nclosed = "sing"\n')
    assert info.value.problems == [
        "$.queues[0].closed: unknown value 'sing'; known: callback, deflect, reject"
    ]


# ------------------------------------------------------------------ the core


HOURS = """
[routing]
mode = "immediate"
[routing.clock]
start = "mon 06:00"
[[queues]]
name = "sales"
hours = [{ days = "mon-fri", open = "08:00", close = "18:00" }]
closed = "%s"
at_close = "%s"
[[queues]]
name = "always"
"""


def router(closed: str = "reject", at_close: str = "serve") -> Router:
    return Router(config(HOURS % (closed, at_close)))


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.mark.parametrize(
    ("closed", "outcome", "event"),
    [("reject", "rejected", "Rejected"), ("deflect", "deflected", "Deflected")],
)
def test_arrivals_while_closed_get_the_closed_outcome(
    closed: str, outcome: str, event: str
) -> None:
    r = router(closed)
    adm = r.submit(inq("early", queue="sales"), 60)  # mon 06:01: closed until 08:00
    assert (adm.outcome, adm.reason) == (outcome, "closed")
    assert adm.expected_wait_s == 2 * H - 60
    ev = r.tick(60)
    assert kinds(ev) == [event]
    assert ev[0].reason == "closed"
    assert r.submit(inq("other", queue="always"), 61).admitted  # other queues: open
    c = r.counters
    assert (c.closed, c.submitted, c.admitted) == (1, 2, 1)


def test_the_transitions_are_deadlines_with_events() -> None:
    r = router()
    assert r.next_deadline() == 2 * H
    assert kinds(r.tick(2 * H)) == ["QueueOpened"]
    assert r.next_deadline() == 12 * H
    assert r.submit(inq("in_hours", queue="sales"), 3 * H).admitted
    ev = r.tick(12 * H)
    assert kinds(ev) == ["Queued", "QueueClosed"]
    assert ev[1].queue == "sales" and ev[1].outcomes == 0
    assert r.next_deadline() == D + 2 * H  # tuesday 08:00


def test_a_callback_arrival_is_called_at_the_opening_in_arrival_order() -> None:
    r = router("callback")
    r.login(AgentSpec(id="ye"), 0)
    for i, t in enumerate((60.0, 120.0, 180.0)):
        adm = r.submit(inq(f"cb{i}", queue="sales", patience_s=30), t)
        assert (adm.outcome, adm.reason, adm.expected_wait_s) == ("callback", "closed", 2 * H - t)
    ev = [e for e in r.tick(200) if type(e).__name__ != "AgentLoggedIn"]
    assert kinds(ev) == ["CallbackScheduled"] * 3
    assert ev[0].reason == "closed" and ev[0].expected_wait_s == 2 * H - 60
    assert r.statistics().parked == 3
    assert r.queue_length("sales") == 0
    ev = r.tick(2 * H)
    assert kinds(ev) == ["QueueOpened", "Assigned"]
    assert ev[1].inquiry_id == "cb0" and ev[1].wait_s == 2 * H - 60
    for k in ("cb0", "cb1"):
        r.complete(k, 2 * H + 10)
        got = [e.inquiry_id for e in r.tick(2 * H + 10) if type(e).__name__ == "Assigned"]
        assert got == [f"cb{int(k[-1]) + 1}"]
    assert r.counters.callbacks == 3 and r.counters.abandoned == 0


def test_waiting_work_at_closing_is_served_by_default() -> None:
    r = router()
    r.tick(2 * H)
    for i in range(3):
        r.submit(inq(f"w{i}", queue="sales"), 11 * H)
    ev = r.tick(12 * H)
    assert kinds(ev)[-1] == "QueueClosed" and ev[-1].outcomes == 0
    r.login(AgentSpec(id="late"), 12 * H + 5)
    got = [e.inquiry_id for e in r.tick(12 * H + 5) if type(e).__name__ == "Assigned"]
    assert got == ["w0"]  # served after closing


@pytest.mark.parametrize("closed", ["reject", "deflect", "callback"])
def test_waiting_work_at_closing_can_get_the_closed_outcome(closed: str) -> None:
    r = router(closed, "closed")
    r.login(AgentSpec(id="ye"), 2 * H)
    r.tick(2 * H)
    for i in range(3):
        r.submit(inq(f"w{i}", queue="sales"), 11 * H)
    r.tick(11 * H)  # w0 assigned (finishes); w1, w2 wait
    ev = r.tick(12 * H)
    closing = [e for e in ev if type(e).__name__ == "QueueClosed"]
    assert closing and closing[0].outcomes == 2
    assert r.inquiry_state("w0") == "assigned"
    if closed == "callback":
        assert [r.inquiry_state(i) for i in ("w1", "w2")] == ["parked", "parked"]
        r.complete("w0", 12 * H + 1)
        assert [e for e in r.tick(12 * H + 1) if type(e).__name__ == "Assigned"] == []
        opening = r.tick(D + 2 * H)  # tuesday 08:00: called back in their order
        assert [e.inquiry_id for e in opening if type(e).__name__ == "Assigned"] == ["w1"]
    else:
        want = "Rejected" if closed == "reject" else "Deflected"
        ended = [e for e in ev if type(e).__name__ == want]
        assert [e.inquiry_id for e in ended] == ["w1", "w2"]
        assert all(e.reason == "closed" for e in ended)
    assert r.counters.closed == 2


def test_a_callback_retry_due_while_closed_waits_for_the_opening() -> None:
    r = Router(
        config(
            HOURS % ("reject", "serve")
            + """
[backpressure]
policy = "callback"
callback = { min_wait_s = 1, retry_s = 3600 }
"""
        )
    )
    r.login(AgentSpec(id="ye"), 2 * H)
    r.submit(inq("busy", queue="always"), 2 * H)
    r.tick(2 * H)
    assert r.submit(inq("cb", queue="sales"), 11.5 * H).outcome == "callback"
    r.complete("busy", 11.6 * H)
    r.tick(11.6 * H)
    r.callback_failed("cb", 11.7 * H)  # retry at 12.7 h: closed by then
    r.tick(13 * H)
    assert r.inquiry_state("cb") == "parked"
    ev = r.tick(D + 2 * H)
    assert [e.inquiry_id for e in ev if type(e).__name__ == "Assigned"] == ["cb"]


def test_a_transfer_into_a_closed_queue_is_refused() -> None:
    r = router()
    r.submit(inq("x", queue="always"), 0)
    before = r.snapshot()
    with pytest.raises(InvalidState, match=r"^queue 'sales' is closed"):
        r.transfer("x", "sales", 1)
    assert r.snapshot() == before
    r.transfer("x", "sales", 2 * H)
    assert r.inquiry_state("x") == "waiting"


def test_a_reconfigure_that_opens_a_queue_announces_it() -> None:
    r = router()
    cfg = config((HOURS % ("reject", "serve")).replace('"08:00"', '"05:00"'))
    r.reconfigure(cfg, 60)
    assert kinds(r.tick(60)) == ["QueueOpened", "Reconfigured"]
    assert r.submit(inq("x", queue="sales"), 61).admitted
    r.tick(61)
    # the old opening's timer wakes once, finds nothing to change, and times the closing
    assert r.next_deadline() == 2 * H
    assert kinds(r.tick(2 * H)) == []
    assert r.next_deadline() == 12 * H


def test_hours_survive_a_snapshot() -> None:
    r = router("callback", "closed")
    r.login(AgentSpec(id="ye"), 0)
    r.submit(inq("cb", queue="sales"), 60)
    r.tick(60)
    snap = r.snapshot()
    restored = Router.restore(snap)
    assert restored.snapshot() == snap
    assert restored.next_deadline() == r.next_deadline() == 2 * H
    a: list[Any] = []
    b: list[Any] = []
    for t in (2 * H, 3 * H, 12 * H, D):
        for x, out in ((r, a), (restored, b)):
            x.submit(inq(f"s{t}", queue="sales"), t)
            out += x.tick(t)
    assert encode_events(a) == encode_events(b)
    assert "QueueClosed" in kinds(a) and "QueueOpened" in kinds(a)
    assert r.snapshot() == restored.snapshot()


def test_the_simulators_start_is_the_router_clock() -> None:
    from router.sim.scenario import decode_scenario, router_config

    sc = decode_scenario(
        b"""
[simulation]
start = "fri 20:00"
[[queues]]
name = "q"
[[agents]]
count = 1
[[arrivals]]
queue = "q"
rate_per_s = 1
handle_time = { dist = "constant", mean_s = 1 }
"""
    )
    assert router_config(sc).routing.clock.start == "fri 20:00"
    assert DAYS[4] == "fri" and WEEK == 7 * D


def test_a_closed_queue_answers_nobody_who_comes_back_into_line() -> None:
    text = (HOURS % ("reject", "closed")).replace('"immediate"', '"offer"')
    r = Router(config(text, decline_memory="forever"))  # (ye alone: a round of one)
    r.login(AgentSpec(id="ye"), 2 * H)
    r.submit(inq("x", queue="sales"), 12 * H - 5)
    r.submit(inq("y", queue="sales"), 12 * H - 5)
    r.tick(12 * H - 5)  # x offered to ye, y waits
    ev = r.tick(12 * H)  # closing: y gets the outcome, x's offer stands
    assert [(type(e).__name__, e.inquiry_id) for e in ev if hasattr(e, "inquiry_id")] == [
        ("Rejected", "y")
    ]
    r.decline("x", 12 * H + 1)  # back into the line of a closed queue: closed out too
    ev = r.tick(12 * H + 1)
    assert [type(e).__name__ for e in ev] == ["OfferDeclined", "Requeued", "Rejected"]
    assert ev[-1].reason == "closed" and r.counters.closed == 2


def test_a_hand_back_after_closing_gets_the_closed_outcome() -> None:
    r = Router(config(HOURS % ("callback", "closed"), decline_memory="forever"))  # (ye alone)
    r.login(AgentSpec(id="ye"), 2 * H)
    r.submit(inq("x", queue="sales"), 11 * H)
    r.tick(11 * H)  # assigned
    r.tick(12 * H)
    r.hand_back("x", 12 * H + 1)
    ev = r.tick(12 * H + 1)
    assert [type(e).__name__ for e in ev] == ["Requeued", "CallbackScheduled"]
    assert r.inquiry_state("x") == "parked"
    opening = r.tick(D + 2 * H)  # tuesday 08:00: called back (by anyone but ye: nobody)
    assert [type(e).__name__ for e in opening] == ["QueueOpened"]
    assert r.inquiry_state("x") == "waiting"
