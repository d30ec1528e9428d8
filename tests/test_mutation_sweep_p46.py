"""Directed tests from the mutation sweep of the core's assignment path (mutP46).

``Router.accept``, ``_start_work``, ``_complete``, ``_release``, ``_assign``, ``_match``,
``_seek_agent`` and ``_fill`` swept one mutant a line without the randomized fuzz: each test
pins one behaviour a mutant changed without the six core test files noticing (some of those
mutants a broader file kills too, a scenario run: BENCHMARKS.md, mutP46); its comment names
the mutants (``core.py`` lines at ``3aa8f8d``). They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, UnknownId
from router.events import (
    AgentAway,
    AgentOnBreak,
    Assigned,
    BreakDeferred,
    CooldownStarted,
    Offered,
    OfferExpired,
)
from tests.helpers import BREAK_SHARE, RELAXING_SURGE, config

ONE_QUEUE = '[routing]\nmode = "offer"\noffer_timeout_s = 10\nmax_no_answer = 2\n'
Q = '[[queues]]\nname = "q"\n'


def offered(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in events if isinstance(e, Offered)]


def assigned(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.inquiry_id, e.agent_id) for e in events if isinstance(e, Assigned)]


def away(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.agent_id, e.reason) for e in events if isinstance(e, AgentAway)]


# ---------------------------------------------------------------------- accept


def test_an_accept_ends_the_run_of_unanswered_offers() -> None:
    # `core.py:1587` (`agent.no_answer = 0` dropped): with `max_no_answer = 2`, one offer
    # expired, one accepted, then one more expired is a run of one, not two: A stays ready
    r = Router(config(ONE_QUEUE + Q, decline_memory="forever"))  # (A alone)
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    assert offered(r.tick(0)) == [("i1", "a")]
    ev = r.tick(10)
    assert [e.inquiry_id for e in ev if isinstance(e, OfferExpired)] == ["i1"]
    assert away(ev) == []
    r.withdraw("i1", 10)
    r.submit(Inquiry(id="i2", queue="q"), 11)
    assert offered(r.tick(11)) == [("i2", "a")]
    r.accept("i2", 12)
    r.complete("i2", 13)
    r.submit(Inquiry(id="i3", queue="q"), 14)
    assert offered(r.tick(14)) == [("i3", "a")]
    ev = r.tick(24)
    assert [e.inquiry_id for e in ev if isinstance(e, OfferExpired)] == ["i3"]
    assert away(ev) == []
    assert r.agent_statistics("a").state == "idle"


def test_an_accept_and_a_completion_are_signs_of_life_for_the_presence_timeout() -> None:
    # `core.py:1804` (`agent.last_seen = now` in `_complete` dropped): A accepts at 2 and
    # completes at 5; it is set away 30 s after the completion, not after the accept
    r = Router(config('[routing]\nmode = "offer"\npresence_timeout_s = 30\n' + Q))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i", queue="q"), 1)
    assert offered(r.tick(1)) == [("i", "a")]
    r.accept("i", 2)
    r.complete("i", 5)
    assert away(r.tick(34)) == []
    assert away(r.tick(35)) == [("a", "presence_timeout")]


def test_the_bound_on_the_spent_room_counts_an_accepts_offer_entry_exactly() -> None:
    # `core.py:1627` (`_spent_room -= 3`): an accept spends its offer's deadline entry, the
    # compaction margin falls by two, and the bound with it: exact, not lower (a lower bound
    # recounts the margin at inputs that need no count)
    from tests.test_deadline_heap import _margin

    r = Router(config(ONE_QUEUE + Q + 'channel = "chat"\n'))
    r.login(AgentSpec(id="a", capacity={"chat": 2}), 0)
    for iid in ("i1", "i2"):
        r.submit(Inquiry(id=iid, queue="q"), 0)
    r.tick(0)
    r = Router.restore(r.snapshot())
    r.tick(0)
    assert r._spent_room == _margin(r)  # counted at the restored router's first input
    r.accept("i1", 1)
    assert r._spent_room == _margin(r)


def test_a_callbacks_answer_is_no_live_callers_wait_in_the_abandonment_model() -> None:
    # `core.py:1640` (`more.callback` for `not more.callback`): a callback reached in offer
    # mode was not on the line, so its wait does not move the estimator's mean wait of the
    # callers who could have abandoned (it counts as service)
    from tests.test_admission import callback_behind_two

    r = callback_behind_two()
    r.accept("1", 1)
    r.complete("1", 10)
    r.tick(10)
    r.accept("2", 11)
    r.complete("2", 20)
    r.tick(20)
    assert r.inquiry_state("cb") == "offered"
    rates = r._estimator.rates["q"]
    before = (rates.waited, rates.abandon)
    r.accept("cb", 21)
    assert r.inquiry_state("cb") == "assigned"
    assert (rates.waited, rates.abandon) == before


def test_completing_an_unknown_inquiry_is_an_unknown_id_and_the_router_goes_on() -> None:
    # `core.py:1786` (the `_ticket` lookup dropped): an id the router never saw is the
    # caller's mistake, `UnknownId`, not a crash that marks the router broken
    r = Router(config(ONE_QUEUE + Q))
    r.login(AgentSpec(id="a"), 0)
    with pytest.raises(UnknownId):
        r.complete("nope", 1)
    r.submit(Inquiry(id="i", queue="q"), 2)
    assert offered(r.tick(2)) == [("i", "a")]


def test_a_completion_at_a_bucket_edge_counts_in_the_bucket_it_opens() -> None:
    # `core.py:1798` (`now <= w.until`): answered at 5 (bucket 0-10), completed at exactly
    # 10 (bucket 10-20); at 60 the 1 min window starts at 10: it holds the handled one, not
    # the answer; at 70 neither
    toml = '[routing]\nmode = "offer"\n[statistics]\nwindows = [60]\nbucket_s = 10\n' + Q
    r = Router(config(toml))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i", queue="q"), 1)
    r.tick(1)
    r.accept("i", 5)
    r.complete("i", 10)
    seen = []
    for t in (10, 60, 69.5, 70):
        r.tick(t)
        w = r.statistics().queues["q"].windows["1m"]
        seen.append((t, w.handled, w.answered))
    assert seen == [(10, 1, 1), (60, 1, 0), (69.5, 1, 0), (70, 0, 0)]


def test_an_agents_handle_time_adds_up_over_its_completions() -> None:
    # `core.py:1803` (`tally.handle_s -= handle`): A handles i1 for 9 s and i2 for 5 s: its
    # handled 2, its mean handle time 7 s
    r = Router(config(ONE_QUEUE + Q))
    r.login(AgentSpec(id="a"), 0)
    for iid, at, done in (("i1", 0.0, 10.0), ("i2", 20.0, 26.0)):
        r.submit(Inquiry(id=iid, queue="q"), at)
        assert offered(r.tick(at)) == [(iid, "a")]
        r.accept(iid, at + 1)
        r.complete(iid, done)
    s = r.agent_statistics("a")
    assert (s.handled, s.aht_s) == (2, 7.0)


def test_a_heavy_inquiry_handled_exactly_the_cooldown_threshold_starts_a_cooldown() -> None:
    # `core.py:1808` (`handle > after`): "handled at least this long": 10 s of a heavy
    # inquiry with `cooldown_after_heavy_s = 10` is followed by the cooldown, 9.5 s is not
    toml = (
        '[routing]\nmode = "offer"\n[wellbeing]\ncooldown_after_heavy_s = 10\ncooldown_s = 30\n'
        '[[queues]]\nname = "hq"\nheavy = true\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a"), 0)
    r.login(AgentSpec(id="b"), 0)
    r.submit(Inquiry(id="h1", queue="hq"), 1)
    r.submit(Inquiry(id="h2", queue="hq"), 1)
    assert sorted(offered(r.tick(1))) == [("h1", "a"), ("h2", "b")]
    r.accept("h1", 2)
    r.accept("h2", 2)
    r.complete("h2", 11.5)
    r.complete("h1", 12)
    cooled = [(e.agent_id, e.until) for e in r.tick(12) if isinstance(e, CooldownStarted)]
    assert cooled == [("a", 42.0)]


def test_a_completion_into_wrap_up_moves_it_from_in_service_to_wrap_up() -> None:
    # `core.py:1824` (`_n_assigned += 1`), `:1825` (`_n_wrapup -= 1`): the occupancy counts
    # of `statistics()` after a completion with 5 s of wrap-up, and after the wrap-up
    r = Router(config(ONE_QUEUE + Q))
    r.login(AgentSpec(id="a", wrap_up_s=5), 0)
    r.submit(Inquiry(id="i", queue="q"), 0)
    r.tick(0)
    r.accept("i", 1)
    s = r.statistics()
    assert (s.offered, s.in_service, s.wrap_up) == (0, 1, 0)
    r.complete("i", 3)
    s = r.statistics()
    assert (s.in_service, s.wrap_up) == (0, 1)
    r.tick(8)
    s = r.statistics()
    assert (s.in_service, s.wrap_up) == (0, 0)


def test_a_completion_into_wrap_up_re_lists_the_agent_by_its_new_recent_work() -> None:
    # `core.py:1827` (the `unlist` dropped): scored by recent work alone, Y handled one at 1,
    # X one from 2 to 3 (then 10 s of wrap-up, a chat slot left). i2 arriving at 3 meets
    # two agents of one completion each: the one listed longer, Y, takes it, not X by the
    # key it had before its completion
    toml = (
        '[routing]\nmode = "immediate"\n[routing.weights]\nproficiency = 0\nidle_time = 0\n'
        'load = 0\nrecent_count = 1\n[[queues]]\nname = "c"\nchannel = "chat"\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="y", capacity={"chat": 2}), 0)
    r.submit(Inquiry(id="i0", queue="c"), 0)
    assert assigned(r.tick(0)) == [("i0", "y")]
    r.complete("i0", 1)
    r.login(AgentSpec(id="x", capacity={"chat": 2}, wrap_up_s=10), 1)
    r.tick(1)
    r.submit(Inquiry(id="i1", queue="c"), 2)
    assert assigned(r.tick(2)) == [("i1", "x")]
    r.complete("i1", 3)
    r.submit(Inquiry(id="i2", queue="c"), 3)
    assert assigned(r.tick(3)) == [("i2", "y")]


# ---------------------------------------------------------------------- _release


def test_a_released_chat_no_longer_counts_as_interruptible_units() -> None:
    # `core.py:2472` (`units_by[ch] += cost` on release): 100 units, two chats (40) and two
    # emails (20); one chat completed leaves 20 chat units to interrupt: a call (100) would
    # need 40 - 20 + 100 <= 100, so it waits (with the chat's units still counted, it fit)
    from tests.test_interrupts import hold
    from tests.test_interrupts import router as blend

    r = blend()
    hold(r, "chat", 2, 1)
    hold(r, "email", 2, 1)
    r.complete("chat1", 2)
    r.submit(Inquiry(id="call", queue="voice"), 3)
    assert assigned(r.tick(3)) == []
    r.complete("email0", 4)
    r.complete("email1", 4)  # the chat's 20 units alone: 20 - 20 + 100, it interrupts
    assert assigned(r.tick(4)) == [("call", "ye")]


def test_a_break_given_with_work_in_flight_that_no_longer_fits_is_deferred_at_its_start() -> None:
    # `core.py:2488` (the `return` after `_break_still_fits` dropped): Su's break is given
    # at 80 with her work in flight (one place of three on shift); Pu goes on a break of
    # his own at 82. When Su's work ends at 85 her break no longer fits: she goes back to
    # work and the break waits for a place; no break starts, and none is announced
    r = Router(config(BREAK_SHARE))
    r.login(AgentSpec(id="su"), 0)
    r.submit(Inquiry(id="long", queue="q"), 0)
    assert assigned(r.tick(0)) == [("long", "su")]
    r.login(AgentSpec(id="pu"), 10)
    r.login(AgentSpec(id="ka"), 10)
    notice = [(e.agent_id, e.until) for e in r.tick(80) if isinstance(e, AgentOnBreak)]
    assert notice == [("su", None)]
    r.go_on_break("pu", 82)
    r.tick(82)
    r.complete("long", 85)
    ev = r.tick(85)
    assert [e for e in ev if isinstance(e, AgentOnBreak)] == []
    assert [e.agent_id for e in ev if isinstance(e, BreakDeferred)] == ["su"]
    assert r.agent_statistics("su").state == "idle"


def test_agents_with_room_follows_work_released_under_a_lowered_cap() -> None:
    # `core.py:2503` (`roomy = True`), `:2506` (`loadn <= cap`), `:2510` (`agent.roomy`
    # not kept): A holds 3 chats and its chat cap is lowered to 1; it has room only once
    # the last is done, and none again when it takes the next
    r = Router(config('[routing]\nmode = "immediate"\n[[queues]]\nname = "c"\nchannel = "chat"\n'))
    r.login(AgentSpec(id="a", capacity={"chat": 3}), 0)
    for i in range(3):
        r.submit(Inquiry(id=f"c{i}", queue="c"), 0)
    r.tick(0)
    r.update_agent(AgentSpec(id="a", capacity={"chat": 1}), 1)
    r.tick(1)
    seen = [r.statistics().agents_with_room]
    for i in range(3):
        r.complete(f"c{i}", 2 + i)
        r.tick(2 + i)
        seen.append(r.statistics().agents_with_room)
    r.submit(Inquiry(id="c3", queue="c"), 5)
    assert assigned(r.tick(5)) == [("c3", "a")]
    seen.append(r.statistics().agents_with_room)
    assert seen == [0, 0, 0, 1, 0]


# ---------------------------------------------------------------------- _assign


def test_an_agent_whose_last_slot_on_one_channel_is_taken_keeps_room_on_another() -> None:
    # `core.py:3714` (`state != READY`), `:3717` (`roomy = False` in the loop): a call takes
    # A's one voice slot; its two chat slots leave it with room until two chats take them
    toml = (
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "v"\n'
        '[[queues]]\nname = "c"\nchannel = "chat"\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a", capacity={"voice": 1, "chat": 2}), 0)
    seen = [r.statistics().agents_with_room]
    for iid, queue in (("call", "v"), ("c0", "c"), ("c1", "c")):
        r.submit(Inquiry(id=iid, queue=queue), 1)
        assert assigned(r.tick(1)) == [(iid, "a")]
        seen.append(r.statistics().agents_with_room)
    assert seen == [1, 1, 1, 0]


def test_an_assignment_restarts_the_agents_idle_time() -> None:
    # `core.py:3725` (`idle_since = now` dropped): longest idle first; A ready from 0, B
    # from 5. i1 at 10 goes to A; A's idle time counts from then (it has a chat slot left),
    # so i2 at 11 goes to B, idle since 5
    toml = (
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "c"\nchannel = "chat"\n'
        'distribution = "longest_idle"\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a", capacity={"chat": 2}), 0)
    r.login(AgentSpec(id="b", capacity={"chat": 2}), 5)
    r.submit(Inquiry(id="i1", queue="c"), 10)
    assert assigned(r.tick(10)) == [("i1", "a")]
    r.submit(Inquiry(id="i2", queue="c"), 11)
    assert assigned(r.tick(11)) == [("i2", "b")]


def test_round_robin_gives_each_agent_its_turn_in_order() -> None:
    # `core.py:3728` (`mode != ROUND_ROBIN`), `:3729` (the turn not noted): three chat agents
    # with room for two each take the queue's inquiries in turn, A B C, then A B C again
    toml = (
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "c"\nchannel = "chat"\n'
        'distribution = "round_robin"\n'
    )
    r = Router(config(toml))
    for aid in ("a", "b", "c"):
        r.login(AgentSpec(id=aid, capacity={"chat": 2}), 0)
    got = []
    for k in range(6):
        r.submit(Inquiry(id=f"i{k}", queue="c"), 1 + k)
        got += [aid for _, aid in assigned(r.tick(1 + k))]
    assert got == ["a", "b", "c", "a", "b", "c"]


def test_an_agents_busy_time_counts_from_the_offer() -> None:
    # `core.py:3732` (`t.wait_end = now` dropped): A, on shift from 0, is offered i at 100,
    # accepts at 101 and completes at 110: busy 10 s of 110 (the hold from the offer on)
    r = Router(config(ONE_QUEUE.replace("offer_timeout_s = 10", "offer_timeout_s = 30") + Q))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i", queue="q"), 100)
    assert offered(r.tick(100)) == [("i", "a")]
    r.accept("i", 101)
    r.complete("i", 110)
    s = r.agent_statistics("a")
    assert (s.busy_s, s.staffed_s) == (10.0, 110.0)


def test_an_offers_number_never_repeats_across_single_and_ring_offers() -> None:
    # `core.py:3761` (`offer_no -= 1`): i is offered from the one-agent queue s at 0
    # (expiry 10), moved to the ring queue r at 1 (offered there), back to s at 2 (offered
    # again, expiry 12). The first offer's deadline at 10 is spent: the offer in force
    # expires at 12, not at 10 (a number repeated would make the old deadline its own)
    toml = (
        '[routing]\nmode = "offer"\noffer_timeout_s = 10\n[[queues]]\nname = "s"\n'
        '[[queues]]\nname = "r"\nmax_offers = 2\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i", queue="s"), 0)
    assert offered(r.tick(0)) == [("i", "a")]
    for at, queue in ((1, "r"), (2, "s")):
        r.transfer("i", queue, at)
        assert offered(r.tick(at)) == [("i", "a")]
    assert [e for e in r.tick(10) if isinstance(e, OfferExpired)] == []
    assert [e.inquiry_id for e in r.tick(12) if isinstance(e, OfferExpired)] == ["i"]


def test_an_immediate_assignment_counts_and_times_as_an_accepted_offer() -> None:
    # immediate mode: `core.py:3733` (`decisions -= 1`), `:3741` (`assigned_at` not set:
    # the handle time from 0), `:3742` (in service not counted), `:3753` (`wait_s = now +
    # arrival`): i arrives at 100 while A is busy, is assigned at 105 and completed at 112
    r = Router(config('[routing]\nmode = "immediate"\n' + Q))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 100)
    r.tick(100)
    r.submit(Inquiry(id="i", queue="q"), 100)
    assert assigned(r.tick(100)) == []
    r.complete("i0", 105)
    (ev,) = [e for e in r.tick(105) if isinstance(e, Assigned)]
    assert (ev.inquiry_id, ev.wait_s) == ("i", 5.0)
    s = r.statistics()
    assert (s.in_service, s.counters.decisions, s.counters.assigned) == (1, 2, 2)
    r.complete("i", 112)
    assert r.agent_statistics("a").aht_s == 6.0  # (5 s for i0, 7 s for i)
    assert r.statistics().in_service == 0


def test_each_offer_counts_for_the_router_and_the_agent() -> None:
    # `core.py:3762`, `:3763` (the offer counts dropped): i1 is offered to A and expires,
    # then offered to B; i2 is offered to A: three offers, two of them A's
    r = Router(config(ONE_QUEUE + Q))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i1", queue="q"), 0)
    assert offered(r.tick(0)) == [("i1", "a")]
    r.login(AgentSpec(id="b"), 5)
    r.tick(5)
    assert offered(r.tick(10)) == [("i1", "b")]
    r.submit(Inquiry(id="i2", queue="q"), 11)
    assert offered(r.tick(11)) == [("i2", "a")]
    assert r.counters.offers == 3
    assert (r.agent_statistics("a").offers, r.agent_statistics("b").offers) == (2, 1)


def test_an_immediate_answer_counts_once_in_the_waits_and_in_the_estimator() -> None:
    # immediate mode: `core.py:3744` (the estimator not told: no answer recorded for the
    # queue), `:3745` (`_count_answer(t, now, 2)`: the wait counted twice in the histogram)
    r = Router(config('[routing]\nmode = "immediate"\n' + Q))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 100)
    r.submit(Inquiry(id="i", queue="q"), 100)
    r.tick(100)
    r.complete("i0", 105)
    assert [e.inquiry_id for e in r.tick(105) if isinstance(e, Assigned)] == ["i"]
    qs = r.statistics().queues["q"]
    assert (qs.wait_histogram[-1], qs.wait_sum_s) == (2, 5.0)  # (cumulative: +Inf last)
    rates = r._estimator.rates["q"]
    assert (rates.has_last, rates.last) == (True, 105.0)


def test_an_assignment_is_seen_by_the_real_time_counts() -> None:
    # `core.py:3735` (`if tally.noted`), `:3737` (the agent not noted): A, counted available
    # at the last read, takes i: the next read counts it busy, no longer available
    r = Router(config('[routing]\nmode = "immediate"\n' + Q))
    r.login(AgentSpec(id="a"), 0)
    s = r.statistics()
    assert (s.queues["q"].available_agents, s.agents_by_state.get("busy", 0)) == (1, 0)
    r.submit(Inquiry(id="i", queue="q"), 1)
    assert assigned(r.tick(1)) == [("i", "a")]
    s = r.statistics()
    assert (s.queues["q"].available_agents, s.agents_by_state.get("busy", 0)) == (0, 1)


def test_a_natural_break_long_enough_voids_a_deferred_break() -> None:
    # `core.py:3724` (`break_due = _INF` dropped): Su's break, due at 80, waits (Pu holds
    # the one place of two). Su's work ends at 85 and she is idle 35 s (break_s 30): the
    # work she takes at 120 starts a new stretch, so when Pu's place opens at 130 no
    # break is given to Su
    r = Router(config(BREAK_SHARE))
    r.login(AgentSpec(id="su"), 0)
    r.submit(Inquiry(id="long", queue="q"), 0)
    assert assigned(r.tick(0)) == [("long", "su")]
    r.login(AgentSpec(id="pu"), 10)
    r.go_on_break("pu", 75)
    r.tick(75)
    assert [e.agent_id for e in r.tick(80) if isinstance(e, BreakDeferred)] == ["su"]
    r.complete("long", 85)
    r.tick(85)
    r.submit(Inquiry(id="next", queue="q"), 120)
    assert assigned(r.tick(120)) == [("next", "su")]
    r.set_ready("pu", 130)
    assert [e for e in r.tick(130) if isinstance(e, AgentOnBreak)] == []


# ---------------------------------------------------------------------- _match


def test_new_inquiries_of_one_pass_meet_the_agents_most_urgent_first() -> None:
    # `core.py:3312` (`len(pending) > 2`), `:3316` (the sort dropped): "low" then "high"
    # (priority 1: 60 s more urgent) arrive before the pass; the one free agent takes
    # "high", whatever the order they came in
    r = Router(config('[routing]\nmode = "immediate"\n' + Q))
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    r.submit(Inquiry(id="low", queue="q"), 1)
    r.submit(Inquiry(id="high", queue="q", priority=1), 1)
    assert assigned(r.tick(1)) == [("high", "a")]


def test_a_ring_reaches_every_agent_freed_in_the_same_pass() -> None:
    # `core.py:3300` (the batch not kept: `_placed_elsewhere` lists only the agent it was
    # called for): A and B end their calls at 10, when x arrives at the ring queue r
    # (two offers at once): both are offered x, not only the first freed
    toml = (
        '[routing]\nmode = "offer"\noffer_timeout_s = 30\n[[queues]]\nname = "s"\n'
        '[[queues]]\nname = "r"\nmax_offers = 2\n'
    )
    r = Router(config(toml))
    for aid in ("a", "b"):
        r.login(AgentSpec(id=aid), 0)
    for iid in ("s0", "s1"):
        r.submit(Inquiry(id=iid, queue="s"), 0)
    assert sorted(offered(r.tick(0))) == [("s0", "a"), ("s1", "b")]
    for iid in ("s0", "s1"):
        r.accept(iid, 1)
    for iid in ("s0", "s1"):
        r.complete(iid, 10)
    r.submit(Inquiry(id="x", queue="r"), 10)
    assert sorted(offered(r.tick(10))) == [("x", "a"), ("x", "b")]


def test_two_new_inquiries_of_one_pass_both_go_by_the_mode_not_to_the_freed_agent() -> None:
    # `core.py:3274` (`len(pending) == 2`: only the first of two new ones marked new): B
    # ends its call at 20 as x, then the more urgent y, arrive. Both are new, so each goes
    # to the best agent by score, not to B because it was freed: y to A (idle since 5),
    # x then to B
    r = Router(config('[routing]\nmode = "immediate"\n' + Q))
    r.login(AgentSpec(id="b"), 0)
    r.submit(Inquiry(id="w", queue="q"), 0)
    assert assigned(r.tick(0)) == [("w", "b")]
    r.login(AgentSpec(id="a"), 5)
    r.tick(5)
    r.complete("w", 20)
    r.submit(Inquiry(id="x", queue="q"), 20)
    r.submit(Inquiry(id="y", queue="q", priority=1), 20)
    assert sorted(assigned(r.tick(20))) == [("x", "b"), ("y", "a")]


RING_AND_CHAT = (
    '[routing]\nmode = "offer"\noffer_timeout_s = 30\n[[queues]]\nname = "s"\n'
    '[[queues]]\nname = "c"\nchannel = "chat"\n[[queues]]\nname = "r"\nmax_offers = 2\n'
)


@pytest.mark.parametrize("arrivals", [["x"], ["x", "x2"]])
def test_ring_inquiries_waiting_since_an_earlier_pass_go_to_the_freed_agents_in_turn(
    arrivals: list[str],
) -> None:
    # `core.py:3305`, `:3306` (the pass's marks of its new inquiries not cleared): x (and
    # x2) reach the ring queue r at 5, in a pass that freed only the chat agent: they wait.
    # A and B, freed together at 10, meet them as old work: each takes the most urgent
    # left, alone (x to A, x2 to B); x is not rung on both as if it had just arrived
    r = Router(config(RING_AND_CHAT))
    for aid, cap in (("a", {"voice": 1}), ("b", {"voice": 1}), ("ch", {"chat": 1})):
        r.login(AgentSpec(id=aid, capacity=cap), 0)
    for iid, queue in (("s0", "s"), ("s1", "s"), ("c0", "c")):
        r.submit(Inquiry(id=iid, queue=queue), 0)
    assert sorted(offered(r.tick(0))) == [("c0", "ch"), ("s0", "a"), ("s1", "b")]
    for iid in ("s0", "s1", "c0"):
        r.accept(iid, 1)
    r.complete("c0", 5)
    for iid in arrivals:
        r.submit(Inquiry(id=iid, queue="r"), 5)
    assert offered(r.tick(5)) == []
    r.complete("s0", 10)
    r.complete("s1", 10)
    assert sorted(offered(r.tick(10))) == list(zip(arrivals, ["a", "b"]))


def test_an_agent_on_a_reused_slot_stays_listed_after_a_lone_freed_agents_ring() -> None:
    # `core.py:3303` (`self._batch = []` dropped: the batch of an old pass of several freed
    # agents stays, and a later ring of a lone freed agent refreshes its stale members).
    # d00-d16 are freed together at 0 and all log out at 1: the 17th retirement (past
    # 16 + 0 agents / 4) compacts the heaps, so the slots are free again. N logs in at 2
    # on d16's slot, listed. F logs in on d15's at 3 as i reaches the ring queue: i is rung
    # on both. A stale batch would refresh the gone d16 too, writing its version into N's
    # cell: N's entries go stale though N counts as listed, so it is offered neither i nor
    # j (after F took i) until something re-lists it
    r = Router(config(RING_AND_CHAT))
    gone = [f"d{i:02}" for i in range(17)]
    for aid in gone:
        r.login(AgentSpec(id=aid), 0)
    r.tick(0)
    for aid in gone:
        r.logout(aid, 1)
    r.tick(1)
    r.login(AgentSpec(id="n"), 2)
    assert offered(r.tick(2)) == []
    r.login(AgentSpec(id="f"), 3)
    r.submit(Inquiry(id="i", queue="r"), 3)
    assert sorted(offered(r.tick(3))) == [("i", "f"), ("i", "n")]
    r.accept("i", 4, agent_id="f")
    r.tick(4)
    r.submit(Inquiry(id="j", queue="r"), 5)
    assert offered(r.tick(5)) == [("j", "n")]


# ---------------------------------------------------------------------- _fill


def test_a_freed_agent_at_its_heavy_limit_does_not_pull_waiting_heavy_work() -> None:
    # `core.py:3533` (`and self._guard.suspended(...)`): one heavy inquiry in a row at most,
    # then 60 s of recovery. A ends h1 at 10 with h2 waiting: h2 waits for the recovery to
    # end (70), A being the only agent
    toml = (
        '[routing]\nmode = "immediate"\n[wellbeing]\nmax_consecutive_heavy = 1\n'
        'heavy_recovery_s = 60\n[[queues]]\nname = "hq"\nheavy = true\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="h1", queue="hq"), 0)
    r.submit(Inquiry(id="h2", queue="hq"), 0)
    assert assigned(r.tick(0)) == [("h1", "a")]
    r.complete("h1", 10)
    assert assigned(r.tick(10)) == []
    assert assigned(r.tick(70)) == [("h2", "a")]


def test_an_agent_cooling_down_from_all_work_pulls_no_light_work_either() -> None:
    # `core.py:3536` (`if self._cooldown_heavy`): A (two chats) ends a heavy one handled
    # 20 s at 21: a 30 s cooldown from all work. The light chat waiting is not pulled
    # by the freed slot; it goes to A when the cooldown ends, at 51
    toml = (
        '[routing]\nmode = "immediate"\n[wellbeing]\ncooldown_after_heavy_s = 20\n'
        'cooldown_s = 30\n[[queues]]\nname = "hq"\nchannel = "chat"\nheavy = true\n'
        '[[queues]]\nname = "lq"\nchannel = "chat"\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a", capacity={"chat": 2}), 0)
    r.submit(Inquiry(id="h", queue="hq"), 1)
    r.submit(Inquiry(id="l1", queue="lq"), 1)
    r.submit(Inquiry(id="l2", queue="lq"), 1)
    assert sorted(assigned(r.tick(1))) == [("h", "a"), ("l1", "a")]
    r.complete("h", 21)
    assert assigned(r.tick(21)) == []
    assert assigned(r.tick(51)) == [("l2", "a")]


# ---------------------------------------------------------------------- _seek_agent


def test_an_agent_given_a_new_inquiry_stays_listed_while_it_has_room() -> None:
    # `core.py:3367` (`state != READY`), `:3371` (the refresh dropped): A (two chats) takes
    # i1 at 1 as a new inquiry meets it; i2 at 2 finds it listed, with its second slot
    r = Router(config('[routing]\nmode = "immediate"\n[[queues]]\nname = "c"\nchannel = "chat"\n'))
    r.login(AgentSpec(id="a", capacity={"chat": 2}), 0)
    r.tick(0)
    for k in (1, 2):
        r.submit(Inquiry(id=f"i{k}", queue="c"), k)
        assert assigned(r.tick(k)) == [(f"i{k}", "a")]


def test_old_ring_work_taken_alone_restarts_the_idle_time_at_the_accept() -> None:
    # `core.py:3582` (`max_offers > 2`: a freed agent's old work of a two-agent ring offered
    # as a one-agent offer): a ring's offer changes the winner's idle time at its accept
    # (`_win`), not when offered. A, freed at 10, is offered x (waiting since 5) and
    # accepts at 20; B logs in at 15. y (longest idle first) at 25 goes to B, idle since 15
    toml = (
        '[routing]\nmode = "offer"\noffer_timeout_s = 30\n[[queues]]\nname = "c"\n'
        'channel = "chat"\ndistribution = "longest_idle"\n'
        '[[queues]]\nname = "r"\nchannel = "chat"\nmax_offers = 2\n'
    )
    r = Router(config(toml))
    r.login(AgentSpec(id="a", capacity={"chat": 2}), 0)
    for iid in ("c0", "c1"):
        r.submit(Inquiry(id=iid, queue="c"), 0)
    assert offered(r.tick(0)) == [("c0", "a"), ("c1", "a")]
    for iid in ("c0", "c1"):
        r.accept(iid, 1)
    r.submit(Inquiry(id="x", queue="r"), 5)
    assert offered(r.tick(5)) == []
    r.complete("c0", 10)
    assert offered(r.tick(10)) == [("x", "a")]
    r.login(AgentSpec(id="b", capacity={"chat": 2}), 15)
    r.tick(15)
    r.accept("x", 20)
    r.complete("c1", 21)
    r.submit(Inquiry(id="y", queue="c"), 25)
    assert offered(r.tick(25)) == [("y", "b")]


# ---------------------------------------------------------------------- _submit


def test_a_wait_for_a_preferred_agent_ends_at_the_queues_preferred_wait() -> None:
    # `core.py:1382` (the preference's deadline not set): i prefers P, busy; after the
    # queue's 30 s of `preferred_wait_s` it goes to Q, free all along
    toml = '[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\npreferred_wait_s = 30\n'
    r = Router(config(toml))
    r.login(AgentSpec(id="p"), 0)
    r.submit(Inquiry(id="w", queue="q"), 0)
    assert assigned(r.tick(0)) == [("w", "p")]
    r.login(AgentSpec(id="q"), 0)
    r.submit(Inquiry(id="i", queue="q", preferred_agents=["p"]), 1)
    assert assigned(r.tick(1)) == []
    assert assigned(r.tick(30)) == []
    assert assigned(r.tick(31)) == [("i", "q")]


def test_an_arrival_in_a_surge_that_relaxes_steps_starts_at_the_last_step() -> None:
    # `core.py:1384` (`self._surge or plain_in_surge`: a surge arrival admitted on the plain
    # path, unrelaxed): with `relax_steps`, an inquiry arriving in the surge requires only
    # the last step's skills at once; A4 (refund 1), free, is offered it
    r = Router(config(RELAXING_SURGE))
    r.login(AgentSpec(id="a1", skills={"refund": 3}), 0)
    r.submit(Inquiry(id="i1", queue="main"), 0)
    assert offered(r.tick(0)) == [("i1", "a1")]
    r.accept("i1", 1)
    r.tick(1)
    r.submit(Inquiry(id="i2", queue="main"), 2)
    r.submit(Inquiry(id="i3", queue="main"), 2)
    r.tick(2)
    assert [type(e).__name__ for e in r.tick(12)] == ["SurgeStarted"]
    for aid in ("a2", "a3"):
        r.login(AgentSpec(id=aid, skills={"refund": 1}), 13)
    assert offered(r.tick(13)) == [("i2", "a2"), ("i3", "a3")]
    r.login(AgentSpec(id="a4", skills={"refund": 1}), 14)
    r.submit(Inquiry(id="i4", queue="main"), 14)
    assert offered(r.tick(14)) == [("i4", "a4")]


def test_a_deflected_arrival_counts_in_its_queues_windows() -> None:
    # `core.py:1414` (`b.deflected += 1` dropped): with `deflect` above 100 s, the second
    # arrival (180 s expected) is deflected: offered 2, deflected 1 in the queue's windows
    from tests.test_admission import router, submit

    r = router('[backpressure]\npolicy = "deflect"\n[backpressure.deflect]\nmax_wait_s = 100\n')
    r.login(AgentSpec(id="a"), 0)
    r.tick(0)
    assert submit(r, "1", 0).outcome == "admitted"
    assert submit(r, "2", 0).outcome == "deflected"
    w = r.statistics().queues["q"].windows["since_reset"]
    assert (w.offered, w.deflected, w.rejected) == (2, 1, 0)
