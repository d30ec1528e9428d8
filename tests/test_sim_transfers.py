"""The simulator follows held work taken off its agent (xfer51): a transfer of an offered or
assigned inquiry, a hand-back (a hook's or the group's share), an agent leaving with work.

The core (``Router.transfer``/``hand_back``) takes the inquiry off its agent without a
``Completed``; the engine must drop the old holder's slot and its scheduled completion, take
the answer back as the core does, and follow the inquiry into its new queue. A hand-back
takes the answer back the same way, with what it counted (reopen51), and a hook's input at
the drain's last step is followed. Each run below checks the engine's records against the
core's own events."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router.events import Assigned, Completed, Offered, Requeued, Transferred
from router.sim import build_report, decode_scenario
from router.sim.engine import ANSWERED, OPEN, SimResult, Simulator

TWO_QUEUES = """
[routing]
mode = "{mode}"
[wellbeing]
max_consecutive_heavy = 2
[[queues]]
name = "q"
answer_target_s = 20
[[queues]]
name = "h"
answer_target_s = 20
heavy = true
[[agents]]
name = "a"
count = 4
capacity = {{ voice = 1 }}
handback_share = {share}
[[arrivals]]
queue = "q"
rate_per_s = 0.02
handle_time = {{ dist = "exponential", mean_s = 60 }}
[[arrivals]]
queue = "h"
rate_per_s = 0.01
handle_time = {{ dist = "exponential", mean_s = 60 }}
"""


def scenario(share: float = 0.0, mode: str = "offer", **sim: Any) -> Any:
    head = "[simulation]\n" + "".join(
        f"{k} = {msgspec.json.encode(v).decode()}\n" for k, v in sim.items()
    )
    return decode_scenario(head + TWO_QUEUES.format(share=share, mode=mode))


class Watch:
    """A hook that moves held work by ``act`` and records what the core said: each
    assignment's agent and start, and each completion's agent and length."""

    def __init__(self, sc: Any, act: Any, *, late: bool = False) -> None:
        self.sim = Simulator(sc, on_event=self.hook)
        self.act = act
        self.late = late  # act in the drain too (its last step included)
        self.starts: dict[str, tuple[float, str]] = {}
        self.works: list[tuple[str, str, str, float]] = []  # iid, assigned to, completed by, s
        self.into: dict[str, str] = {}  # iid -> the queue it was transferred to
        self.handed: set[str] = set()
        self.done: set[str] = set()  # iids the hook acted on once (never twice)

    def hook(self, ev: Any) -> bool:
        if isinstance(ev, Assigned):
            self.starts[ev.inquiry_id] = (ev.at, ev.agent_id)
        elif isinstance(ev, Completed):
            at, aid = self.starts.pop(ev.inquiry_id)
            self.works.append((ev.inquiry_id, aid, ev.agent_id, ev.at - at))
        elif isinstance(ev, Transferred) and ev.agent_id is not None:
            self.starts.pop(ev.inquiry_id, None)  # its work (if any) ended unfinished
        if self.late or ev.at < self.sim.duration:
            self.act(self, ev)
        return True

    def transfer(self, iid: str, state: str, agent_id: str) -> None:
        router = self.sim.router
        if iid in self.done or router.inquiry_state(iid) != state:
            return
        if router.agent_of(iid) != agent_id:
            return
        self.done.add(iid)
        src = self.sim._recs[iid].final_queue
        to = "q" if src == "h" else "h"
        router.transfer(iid, to, router.now, agent_id=agent_id)
        self.into[iid] = to

    def hand_back(self, iid: str, agent_id: str) -> None:
        router = self.sim.router
        if iid in self.done or router.inquiry_state(iid) != "assigned":
            return
        if router.agent_of(iid) != agent_id:
            return
        self.done.add(iid)
        self.starts.pop(iid, None)
        router.hand_back(iid, router.now, agent_id)
        self.handed.add(iid)


def check(w: Watch, res: SimResult) -> None:
    """The engine's records agree with the core's events."""
    rep = build_report(res)
    assert res.anomalies == {}  # no complete_refused, accept_refused, assigned_after_outcome
    assert res.cap_violations == 0
    assert rep["unresolved"] == 0
    recs = w.sim._recs
    # no early end of another agent's work: each completion by the agent it was assigned
    # to, after the handle time the engine drew for it
    counters = res.counters
    assert len(w.works) == counters["completed"] > len(recs) - 10
    for iid, assigned_to, completed_by, length in w.works:
        assert completed_by == assigned_to
        assert length == pytest.approx(recs[iid].handle), iid
    done = {iid for iid, *_ in w.works}
    router = w.sim.router
    in_service: dict[str, int] = {}  # heavy calls in service when the run ended, per agent
    for iid in recs.keys() - done:  # the drain ends once all are answered: still in service
        assert router.inquiry_state(iid) == "assigned", iid
        aid = router.agent_of(iid)
        assert aid is not None
        in_service[aid] = in_service.get(aid, 0) + recs[iid].heavy
    # each inquiry one outcome, answered once in the counts
    assert all(r.outcome == ANSWERED for r in recs.values())
    assert sum(a.handled for a in res.agents) == len(recs)
    assert counters["transferred"] == len(w.into)
    assert rep["answered"] == len(recs)
    # heaviness as the core's: heavy if it arrived in h or was moved into it (stays heavy)
    for iid, r in recs.items():
        assert r.heavy == (r.queue == "h" or w.into.get(iid) == "h"), iid
        if iid in w.into:
            assert r.final_queue == w.into[iid], iid
    for name, row in rep["queues"].items():  # each row adds up, the transfers as moves
        ended = row["answered"] + row["abandoned"] + row["rejected"] + row["deflected"]
        assert row["offered"] + row["moved_in"] - row["moved_out"] == ended + row["unresolved"], (
            name
        )
    moves = sum(row["moved_in"] for row in rep["queues"].values())
    assert moves == sum(len(r.path or ()) for r in recs.values()) >= len(w.into)
    for a in res.agents:  # nothing else left in progress; the ledgers closed at the end
        assert a.heavy_open == in_service.get(a.id, 0), a.id
        assert a.held == 0 and not any(a.load.values()), a.id
        assert a.max_heavy_run <= 2, a.id  # the core's max_consecutive_heavy
    assert rep["max_heavy_run"] <= 2


def transfers(w: Watch, ev: Any) -> None:
    n = int(ev.inquiry_id) if hasattr(ev, "inquiry_id") else 0
    if isinstance(ev, Offered) and n % 4 == 1:
        w.transfer(ev.inquiry_id, "offered", ev.agent_id)
    elif isinstance(ev, Assigned) and n % 4 == 2:
        w.transfer(ev.inquiry_id, "assigned", ev.agent_id)


def test_a_transfer_of_offered_or_assigned_work_is_followed_by_the_engine() -> None:
    # offered and assigned, light (q) and heavy (h), each into the other queue: q -> h makes
    # the call heavy, h -> q keeps it heavy. On the base the old agent's completion stayed
    # scheduled: complete_refused, or the next agent's work ended early
    sc = scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, transfers)
    res = w.sim.run()
    moved = w.into
    recs = w.sim._recs
    kinds = {(recs[i].queue, to, int(i) % 4) for i, to in moved.items()}
    # every case was met: light and heavy, offered (1) and assigned (2)
    assert kinds >= {("q", "h", 1), ("h", "q", 1), ("q", "h", 2), ("h", "q", 2)}
    assert res.events_by_type["Transferred"] == len(moved)
    check(w, res)
    # the moved answers count once, at their last assignment (the core took the first back)
    for iid in moved:
        if int(iid) % 4 == 2:
            assert recs[iid].answered_at > w.sim._recs[iid].arrival


def test_assigned_work_transferred_and_assigned_again_at_once_runs_its_full_length() -> None:
    # immediate mode: the moved call is assigned again in the same matching pass, often to
    # another agent; the old agent's completion, still scheduled on the base, ended that
    # agent's work early (or was refused once the call had ended)
    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Assigned) and int(ev.inquiry_id) % 3 == 0:
            w.transfer(ev.inquiry_id, "assigned", ev.agent_id)

    sc = scenario(mode="immediate", duration_s=20000, warmup_s=0)
    w = Watch(sc, act)
    res = w.sim.run()
    assert len(w.into) > 50
    assert {w.sim._recs[i].queue for i in w.into} == {"q", "h"}
    check(w, res)


def test_a_hooks_hand_back_of_assigned_work_is_followed_by_the_engine() -> None:
    # a hook's hand_back (not the group's share): the old completion must not run, the
    # answer is taken back and counted again, a heavy call leaves the agent's work in progress
    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Assigned) and int(ev.inquiry_id) % 3 == 0:
            w.hand_back(ev.inquiry_id, ev.agent_id)

    sc = scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, act)
    res = w.sim.run()
    assert len(w.handed) > 50
    assert {w.sim._recs[i].queue for i in w.handed} == {"q", "h"}
    assert dict(res.handbacks) == {w.sim._recs[i]: [1, 1] for i in w.handed}
    check(w, res)


def test_the_groups_own_hand_back_of_heavy_work_ends_its_work_in_progress() -> None:
    # the engine's own hand-back (handback_share): no Completed comes, so a heavy call's
    # work in progress must end with the hand-back, else the agent's heavy run never ends
    sc = scenario(share=0.3, duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, lambda w, ev: None)
    res = w.sim.run()
    assert sum(c[0] for c in res.handbacks.values()) > 50
    check(w, res)


def test_agents_leaving_with_offers_and_work_in_flight_leave_no_stale_holder() -> None:
    # a break or a logout takes offers back (Requeued/OfferRescinded, which the engine
    # follows) and lets work in flight finish where it is: nothing held goes stale
    back: dict[str, float] = {}  # agent -> when the hook sets it ready again
    out: list[str] = []

    def act(w: Watch, ev: Any) -> None:
        router = w.sim.router
        for aid, at in list(back.items()):
            if ev.at >= at:
                del back[aid]
                router.set_ready(aid, router.now)
        if not isinstance(ev, (Offered, Assigned)):
            return
        n = int(ev.inquiry_id)
        aid = ev.agent_id
        if aid in back or aid in out or router.agent_of(ev.inquiry_id) != aid:
            return
        if ev.inquiry_id in w.done:  # (each inquiry once: else it sends every agent away)
            return
        if (isinstance(ev, Offered) and n % 5 == 0) or (isinstance(ev, Assigned) and n % 5 == 1):
            w.done.add(ev.inquiry_id)
            router.go_on_break(aid, router.now)  # an offer taken back / work in flight
            back[aid] = ev.at + 120.0
        elif isinstance(ev, Assigned) and n % 97 == 3 and not out:
            router.logout(aid, router.now)  # with work in flight; never back
            out.append(aid)

    sc = scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, act)
    res = w.sim.run()
    assert out and res.events_by_type.get("Requeued", 0) == 0  # (handled, not only counted)
    assert sum(1 for a in res.agents if a.logout_at is not None) == 1
    check(w, res)


def test_a_reconfigure_removing_a_queue_with_offered_and_assigned_work_leaves_no_stale_holder() -> (
    None
):
    # offered and assigned work of a removed queue finishes where it is (an offer the new
    # config no longer allows is taken back); waiting calls are handed over to q
    done: list[float] = []

    def act(w: Watch, ev: Any) -> None:
        router = w.sim.router
        if done or ev.at < 8000 or not isinstance(ev, Offered) or ev.queue != "h":
            return
        # an offer in h open now, and work in service in h beside it
        if router.inquiry_state(ev.inquiry_id) != "offered" or not any(
            r.final_queue == "h" and router.inquiry_state(i) == "assigned"
            for i, r in w.sim._recs.items()
            if r.holder is not None
        ):
            return
        cfg = router.config
        left = msgspec.structs.replace(cfg, queues=[q for q in cfg.queues if q.name != "h"])
        router.reconfigure(left, router.now, hand_over={"h": "q"})
        done.append(ev.at)

    sc = scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, act)
    res = w.sim.run()
    assert done
    assert not any(r.queue == "h" and r.arrival > done[0] for r in w.sim._recs.values())
    check(w, res)


def test_a_handed_back_caller_withdrawn_while_waiting_has_one_outcome() -> None:
    # reopen51: a hand-back (the group's share) takes the answer back as a transfer does;
    # on the base the caller stayed ANSWERED while it waited again, so a withdrawal was a
    # second outcome (anomaly) and the answer still counted
    sc = scenario(share=0.3, duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    gone: set[str] = set()

    def act(w: Watch, ev: Any) -> None:
        if isinstance(ev, Requeued) and ev.reason == "handed_back" and int(ev.inquiry_id) % 2:
            router = w.sim.router
            if router.inquiry_state(ev.inquiry_id) in ("waiting", "offered"):
                router.withdraw(ev.inquiry_id, router.now)
            gone.add(ev.inquiry_id)

    w = Watch(sc, act)
    res = w.sim.run()
    rep = build_report(res)
    recs = w.sim._recs
    assert len(gone) > 50
    assert res.anomalies == {}
    assert rep["unresolved"] == 0 and res.cap_violations == 0
    for iid, r in recs.items():  # one outcome each: the withdrawn ones are not answered
        assert (r.outcome == ANSWERED) == (iid not in gone), iid
    answered = [r for r in recs.values() if r.outcome == ANSWERED]
    assert rep["answered"] == len(answered) == len(recs) - len(gone)
    assert sum(a.handled for a in res.agents) == len(answered)
    assert rep["abandoned"] == len(gone)  # (a withdrawal counts as abandoned)
    for r, (handed, again) in res.handbacks.items():
        assert again == (handed if r.outcome == ANSWERED else handed - 1)
    assert rep["handed_back"] == rep["answered_after_handback"] + len(gone)
    for row in rep["queues"].values():
        ended = row["answered"] + row["abandoned"] + row["rejected"] + row["deflected"]
        assert row["offered"] + row["moved_in"] - row["moved_out"] == ended + row["unresolved"]
    for a in res.agents:
        assert a.held == 0 and not any(a.load.values()), a.id


CLOSING = """
[simulation]
duration_s = 7200
warmup_s = 0
drain = true
start = "mon 17:00"
accept_delay_s = 5.0
[routing]
mode = "offer"
[[queues]]
name = "q"
answer_target_s = 20
preferred_wait_s = 10
hours = [{ days = "mon-fri", open = "08:00", close = "18:00" }]
closed = "reject"
at_close = "serve"
[[agents]]
name = "a"
count = 2
capacity = { voice = 1 }
[[arrivals]]
queue = "q"
rate_per_s = 0.04
handle_time = { dist = "exponential", mean_s = 60 }
returning_share = 0.5
"""


def test_an_answer_taken_back_leaves_no_closed_answer_and_no_history_entry() -> None:
    # the answer a hand-back takes back counted nothing any more: not an answer while the
    # queue was closed (on the base a caller answered after 18:00, handed back by a hook and
    # withdrawn still counted), not an entry in the returning customers' history (whose
    # draw sets a returning customer's preferred agent: one entry per answered call)
    sc = decode_scenario(CLOSING)
    last: dict[str, float] = {}  # iid -> its last assignment's time
    gone: set[str] = set()

    def act(w: Watch, ev: Any) -> None:
        router = w.sim.router
        if isinstance(ev, Assigned):
            last[ev.inquiry_id] = ev.at
            if ev.at >= 3000 and int(ev.inquiry_id) % 2:  # around the close (t = 3600)
                w.hand_back(ev.inquiry_id, ev.agent_id)
        elif (
            isinstance(ev, Requeued)
            and ev.reason == "handed_back"
            and int(ev.inquiry_id) % 4 == 1
            and router.inquiry_state(ev.inquiry_id) in ("waiting", "offered")
        ):
            router.withdraw(ev.inquiry_id, router.now)
            gone.add(ev.inquiry_id)

    w = Watch(sc, act, late=True)
    res = w.sim.run()
    rep = build_report(res)
    recs = w.sim._recs
    assert res.anomalies == {}
    assert rep["unresolved"] == 0
    assert gone and w.handed - gone
    answered = {i for i, r in recs.items() if r.outcome == ANSWERED}
    assert answered.isdisjoint(gone)
    while_closed = {i for i in answered if last[i] >= 3600}
    assert {i for i in w.handed - gone if last[i] >= 3600}  # answered again while closed
    assert rep["answered_while_closed"] == len(while_closed) > 0
    assert len(res.closed_answered) == len(while_closed)  # each once
    # the history: the agent each answered call counts for, once
    served = w.sim._served[0]
    assert sorted(served) == sorted(recs[i].agent_id for i in answered)
    assert sum(r.preferred is not None for r in recs.values()) > 20


def test_a_hooks_hand_back_at_the_drains_last_step_is_followed() -> None:
    # a hook hands back the call assigned at the drain's last step (the engine has every
    # caller's outcome then): the run takes one more step for it and goes on; on the base
    # the run ended there, the core had the call waiting again, the engine counted it answered
    def act(w: Watch, ev: Any) -> None:
        recs = w.sim._recs.values()
        last = ev.at >= w.sim.duration and all(r.outcome != OPEN for r in recs)
        if isinstance(ev, Assigned) and last and not w.handed:
            w.hand_back(ev.inquiry_id, ev.agent_id)

    sc = scenario(duration_s=3100, warmup_s=0, accept_delay_s=20.0)
    w = Watch(sc, act, late=True)
    res = w.sim.run()
    assert len(w.handed) == 1
    (iid,) = w.handed
    assert dict(res.handbacks) == {w.sim._recs[iid]: [1, 1]}
    assert res.end_time > w.sim._recs[iid].answered_at - 20.0 > w.sim.duration
    check(w, res)


CALLBACKS = """
[simulation]
duration_s = 20000
warmup_s = 0
accept_delay_s = 1.0
[routing]
mode = "offer"
[backpressure]
policy = "callback"
[backpressure.callback]
min_wait_s = 30
[[queues]]
name = "q"
[[agents]]
count = 2
capacity = { voice = 1 }
handback_share = 0.3
[[arrivals]]
queue = "q"
rate_per_s = 0.03
handle_time = { dist = "exponential", mean_s = 60 }
patience = { dist = "exponential", mean_s = 120 }
"""


def test_a_handed_back_callback_is_a_callback_again_in_the_timeline() -> None:
    # a callback handed back holds its place as a callback again (the timeline counts it
    # apart from live callers): the engine's open callbacks are the open callback callers
    checked = 0

    def act(w: Watch, ev: Any) -> None:
        nonlocal checked
        if isinstance(ev, Requeued) and ev.reason == "handed_back":
            recs = w.sim._recs
            if recs[ev.inquiry_id].callback:
                checked += 1
            want = {i for i, r in recs.items() if r.callback and r.outcome == OPEN}
            assert set(w.sim._callbacks_open) == want

    w = Watch(decode_scenario(CALLBACKS), act)
    res = w.sim.run()
    rep = build_report(res)
    assert checked > 10
    assert res.anomalies == {} and rep["unresolved"] == 0
    assert rep["offered"] == rep["answered"] + rep["abandoned"]


def test_a_transfer_is_heavy_as_the_core_decided_though_a_hook_flips_the_flag_at_once() -> None:
    """The hook transfers assigned work into the other queue and, in the same call,
    reconfigures that queue's ``heavy`` flag the other way. The core decided the moved
    call's heaviness at the transfer (``Router._transfer``: heavy if it was, or if the
    target queue was heavy then); the engine sees the ``Transferred`` only after the
    reconfigure, and must judge it by the config that event was decided under."""
    expect: dict[str, bool] = {}  # iid -> heavy as the core decided at the transfer

    def act(w: Watch, ev: Any) -> None:
        if not (isinstance(ev, Assigned) and int(ev.inquiry_id) % 4 == 2):
            return
        iid = ev.inquiry_id
        router = w.sim.router
        before = len(w.into)
        heavy_before = w.sim._recs[iid].heavy
        w.transfer(iid, "assigned", ev.agent_id)
        if len(w.into) == before:
            return
        to = w.into[iid]
        cfg = router.config
        flag = next(q.heavy for q in cfg.queues if q.name == to)
        expect[iid] = heavy_before or flag
        queues = [
            msgspec.structs.replace(q, heavy=not flag) if q.name == to else q for q in cfg.queues
        ]
        router.reconfigure(msgspec.structs.replace(cfg, queues=queues), router.now)

    sc = scenario(duration_s=20000, warmup_s=0, accept_delay_s=5.0)
    w = Watch(sc, act)
    res = w.sim.run()
    recs = w.sim._recs
    assert len(expect) > 50 and res.counters["transferred"] == len(expect)
    # both ways: light calls made heavy by a heavy target, and left light by a light one
    kinds = {(recs[i].queue == "h", e) for i, e in expect.items()}
    assert kinds >= {(False, True), (False, False)}
    assert {i: recs[i].heavy for i in expect} == expect
    assert res.anomalies == {} and res.cap_violations == 0
    # the agents' heavy work in progress follows the same flags
    router = w.sim.router
    done = {iid for iid, *_ in w.works}
    in_service: dict[str, int] = {}
    for iid in recs.keys() - done:
        aid = router.agent_of(iid)
        if aid is not None and router.inquiry_state(iid) == "assigned":
            in_service[aid] = in_service.get(aid, 0) + recs[iid].heavy
    for a in res.agents:
        assert a.heavy_open == in_service.get(a.id, 0), a.id
        assert a.max_heavy_run <= 2, a.id  # the core's max_consecutive_heavy, as it counted
