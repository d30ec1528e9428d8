"""An operator's shift in a surge (op47): promises the docs make to an operator, kept
across a hot reconfigure.

A callback whose call did not reach the customer waits between two attempts out of
line (``PARKED``), holding its place (docs/backpressure.md). Removing its queue must
treat it as it treats the queue's waiting inquiries (docs/tuning.md §6): it moves to
``hand_over[queue]`` or the queue's ``on_remove``, or, with no target, is rejected
then, counted in ``Reconfigured``; a customer promised a callback is never dropped
later while a target was given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from router import AgentSpec, Inquiry, InvalidInput, Router, RouterConfig, UnknownId
from router.events import Assigned, Offered, Overflowed, Reconfigured, Rejected, Requeued
from router.observe import Monitor
from router.reload import ConfigWatcher
from tests.helpers import config

QUEUES = """
[routing]
mode = "offer"
offer_timeout_s = 20
[backpressure]
policy = ["callback"]
[backpressure.callback]
min_wait_s = 0.001
retry_s = 100
[[queues]]
name = "a"
requires = { x = 1 }
{on_remove}
[[queues]]
name = "b"
requires = { x = 1 }
"""

# the bounds count a place between attempts where it is now (the router's and b's: 1)
ONLY_B = """
[routing]
mode = "offer"
offer_timeout_s = 20
[backpressure]
policy = ["callback", "reject_when_full"]
max_queue = 1
[backpressure.callback]
min_wait_s = 0.001
retry_s = 100
[[queues]]
name = "b"
requires = { x = 1 }
max_queue = 1
"""


def _between_attempts(on_remove: str = "") -> Router:
    """Queue ``a`` holds callback ``c1`` between two attempts (retry at 111)."""
    r = Router(config(QUEUES.replace("{on_remove}", on_remove)))
    r.login(AgentSpec(id="ag", skills={"x": 1}, capacity={"voice": 1}), now=0.0)
    r.submit(Inquiry(id="busy", queue="a"), now=0.0)
    r.tick(0.0)
    r.accept("busy", now=1.0)
    assert r.submit(Inquiry(id="c1", queue="a", patience_s=60), now=2.0).outcome == "callback"
    r.complete("busy", now=10.0)
    assert [type(e) for e in r.tick(10.0)][-1] is Offered
    r.callback_failed("c1", now=11.0)
    ev = r.tick(11.0)
    assert isinstance(ev[-1], Requeued) and ev[-1].reason.startswith("callback_unreached")
    assert r.inquiry_state("c1") == "parked"
    return r


def _run_to(r: Router, end: float) -> list[Any]:
    out: list[Any] = []
    while (nd := r.next_deadline()) is not None and nd <= end:
        out += r.tick(nd)
        for e in out:
            if isinstance(e, Offered) and r.inquiry_state(e.inquiry_id) == "offered":
                r.accept(e.inquiry_id, nd)
        out += r.tick(nd)
    return out + r.tick(end)


@pytest.mark.parametrize(
    ("on_remove", "hand_over"),
    [('on_remove = "b"', None), ("", {"a": "b"})],
    ids=["on_remove", "hand_over"],
)
def test_a_callback_between_attempts_follows_its_removed_queue(
    on_remove: str, hand_over: dict[str, str] | None
) -> None:
    r = _between_attempts(on_remove)
    assert r.reconfigure(config(ONLY_B), now=20.0, hand_over=hand_over) == 2
    ev = r.tick(20.0)
    assert ev == [
        Overflowed(
            at=20.0,
            version=2,
            inquiry_id="c1",
            from_queue="a",
            to_queue="b",
            reason="queue_removed",
        ),
        Reconfigured(at=20.0, version=2, handed_over=1, rejected=0),
    ]
    assert r.inquiry_state("c1") == "parked"  # still between attempts: the retry is at 111
    # its place is held in b now: b (max_queue 1) is full
    assert r.submit(Inquiry(id="c2", queue="b"), now=30.0).reason == "queue_full: b holds 1"
    ev = _run_to(r, 200.0)
    assert [e.inquiry_id for e in ev if isinstance(e, Rejected)] == ["c2"]  # (b was full)
    answered = [e for e in ev if isinstance(e, Assigned)]
    assert [(e.inquiry_id, e.queue, e.at) for e in answered] == [("c1", "b", 111.0)]
    tot = r.statistics().queues["b"].totals
    assert (tot.offered, tot.answered, tot.rejected) == (1, 1, 1)


def test_a_callback_between_attempts_of_a_removed_queue_without_target_is_rejected() -> None:
    r = _between_attempts()
    assert r.reconfigure(config(ONLY_B), now=20.0) == 2
    ev = r.tick(20.0)
    assert ev == [
        Rejected(at=20.0, version=2, inquiry_id="c1", queue="a", reason="queue_removed"),
        Reconfigured(at=20.0, version=2, handed_over=0, rejected=1),
    ]
    with pytest.raises(KeyError):
        r.inquiry_state("c1")
    assert r.counters.rejected == 1 and r.total_waiting() == 0
    assert _run_to(r, 200.0) == []
    # it holds no place any more: the router's bound (1) has room for a new callback
    assert r.submit(Inquiry(id="busy2", queue="b"), now=201.0).outcome == "admitted"
    r.tick(201.0)  # offered to ag: a new arrival would wait
    assert r.submit(Inquiry(id="c2", queue="b"), now=202.0).outcome == "callback"


HANDED = """
[routing]
mode = "immediate"
[[queues]]
name = "a"
requires = { x = 1 }
on_remove = "b"
[[queues]]
name = "b"
requires = { x = 1 }
"""


def test_a_removed_queues_hand_over_is_a_move_the_monitor_sees() -> None:
    """docs/backpressure.md: a move gets an ``Overflowed`` event on the way; so the event
    consumers (the monitor, the simulator's report) keep each queue's row adding up:
    ``offered + moved_in - moved_out`` = outcomes + still in the router."""
    cfg = config(HANDED)
    after = config(HANDED.split('[[queues]]\nname = "a"')[0] + '[[queues]]\nname = "b"\n')
    r, mon = Router(cfg), Monitor(cfg)
    r.login(AgentSpec(id="ag", skills={"x": 1}), 0.0)
    for k in range(3):
        r.submit(Inquiry(id=f"i{k}", queue="a"), 1.0)
    mon.feed(r.tick(1.0))  # i0 assigned, i1 and i2 wait
    r.reconfigure(after, 5.0)
    mon.configure(after)
    ev = r.tick(5.0)
    assert ev == [
        Overflowed(
            at=5.0,
            version=2,
            inquiry_id=f"i{k}",
            from_queue="a",
            to_queue="b",
            reason="queue_removed",
        )
        for k in (1, 2)
    ] + [Reconfigured(at=5.0, version=2, handed_over=2, rejected=0)]
    mon.feed(ev)
    for k, t in enumerate((10.0, 20.0, 30.0)):  # one agent: i0, i1, i2 in turn
        r.complete(f"i{k}", t)
        mon.feed(r.tick(t))
    rows = mon.statistics(30.0).queues
    for q, offered, moved_in, moved_out, answered in (("a", 3, 0, 2, 1), ("b", 0, 2, 0, 2)):
        row = rows[q]
        won = row.windows["since_reset"]
        assert (won.offered, row.moved_in, row.moved_out, won.answered) == (
            offered,
            moved_in,
            moved_out,
            answered,
        )
        assert offered + moved_in - moved_out == won.answered + row.waiting


OUTBOUND = """
[routing]
mode = "immediate"
[backpressure.outbound]
queues = [{outbound}]
reserve_idle = 0
[[queues]]
name = "in"
requires = {{ x = 1 }}
[[queues]]
name = "ob"
requires = {{ x = 1 }}
{on_remove}
[[queues]]
name = "ob2"
requires = {{ x = 1 }}
"""


def _held_tasks(on_remove: str) -> Router:
    """An agent busy on an inbound call; tasks t0..t2 held in the outbound queue ``ob``."""
    r = Router(config(OUTBOUND.format(outbound='"ob", "ob2"', on_remove=on_remove)))
    r.login(AgentSpec(id="ag", skills={"x": 1}), 0.0)
    r.submit(Inquiry(id="i0", queue="in"), 0.0)
    for k in range(3):
        r.submit(Inquiry(id=f"t{k}", queue="ob"), 0.0)
    r.tick(0.0)
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["parked"] * 3
    return r


ONLY_OB2 = OUTBOUND.format(outbound='"ob2"', on_remove="").replace(
    '[[queues]]\nname = "ob"\nrequires = { x = 1 }\n\n', ""
)


def test_tasks_held_in_a_removed_outbound_queue_follow_its_on_remove() -> None:
    r = _held_tasks('on_remove = "ob2"')
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert ev == [
        Overflowed(
            at=1.0,
            version=2,
            inquiry_id=f"t{k}",
            from_queue="ob",
            to_queue="ob2",
            reason="queue_removed",
        )
        for k in range(3)
    ] + [Reconfigured(at=1.0, version=2, handed_over=3, rejected=0)]
    # still held (outbound tasks in ob2 now): released onto idle capacity only, in order
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["parked"] * 3
    done = []
    for k, t in enumerate((10.0, 20.0, 30.0, 40.0)):
        r.complete("i0" if k == 0 else f"t{k - 1}", t)
        done += [(e.inquiry_id, e.queue) for e in r.tick(t) if isinstance(e, Assigned)]
    assert done == [("t0", "ob2"), ("t1", "ob2"), ("t2", "ob2")]
    assert r.counters.rejected == 0


def test_tasks_held_in_a_removed_outbound_queue_handed_to_an_inbound_queue_wait_in_line() -> None:
    r = _held_tasks('on_remove = "in"')
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert [(type(e).__name__, getattr(e, "to_queue", None)) for e in ev] == [
        ("Overflowed", "in")
    ] * 3 + [("Reconfigured", None)]
    assert [r.inquiry_state(f"t{k}") for k in range(3)] == ["waiting"] * 3
    assert r.queue_length("in") == 3
    r.complete("i0", 10.0)
    (a,) = [e for e in r.tick(10.0) if isinstance(e, Assigned)]
    assert (a.inquiry_id, a.queue, a.wait_s) == ("t0", "in", 10.0)


def test_tasks_held_in_a_removed_outbound_queue_without_target_are_counted_rejected() -> None:
    r = _held_tasks("")
    r.reconfigure(config(ONLY_OB2), 1.0)
    ev = r.tick(1.0)
    assert ev == [
        Rejected(at=1.0, version=2, inquiry_id=f"t{k}", queue="ob", reason="queue_removed")
        for k in range(3)
    ] + [Reconfigured(at=1.0, version=2, handed_over=0, rejected=3)]
    assert r.counters.rejected == 3


# ------------------------------------------------------------------ what a queue holds
# ``Router.queue_holds(queue)``: everything a reconfigure removing ``queue`` hands over or
# rejects (its line, callbacks between two attempts, held outbound tasks, callbacks its
# hours hold until the opening), so a reload guard sees all of it; ``queue_length`` counts
# the line only (unchanged).

HOURS = """
[routing]
mode = "immediate"
[routing.clock]
start = "mon 06:00"
[backpressure.callback]
min_wait_s = 0.001
[[queues]]
name = "sales"
hours = [{ days = "mon-fri", open = "08:00", close = "18:00" }]
closed = "callback"
{on_remove}
[[queues]]
name = "always"
"""
ONLY_ALWAYS = '[routing]\nmode = "immediate"\n[routing.clock]\nstart = "mon 06:00"\n'
ONLY_ALWAYS += '[[queues]]\nname = "always"\n'


def _line(on_remove: str, policy: str = "callback") -> Router:
    """Queue ``a`` holds two inquiries in line (ag busy on a third): callbacks holding their
    place (the callback policy: a caller who would wait is called back), or callers."""
    text = QUEUES.replace("{on_remove}", on_remove).replace('"offer"', '"immediate"')
    r = Router(config(text.replace('["callback"]', f'["{policy}"]')))
    r.login(AgentSpec(id="ag", skills={"x": 1}, capacity={"voice": 1}), now=0.0)
    r.submit(Inquiry(id="busy", queue="a"), now=0.0)
    r.tick(0.0)
    outcome = "callback" if policy == "callback" else "admitted"
    for k in range(2):
        assert r.submit(Inquiry(id=f"w{k}", queue="a"), now=1.0).outcome == outcome
    return r


def _closed(on_remove: str) -> Router:
    """Queue ``sales`` (closed until 08:00) holds a callback until it opens."""
    r = Router(config(HOURS.replace("{on_remove}", on_remove)))
    assert r.submit(Inquiry(id="early", queue="sales"), now=60.0).outcome == "callback"
    r.tick(60.0)
    assert r.inquiry_state("early") == "parked"
    return r


# (router with the queue holding work, its queue, the config without it, queue_length, holds)
KINDS = {
    "callers in line": (lambda on_remove: _line(on_remove, "admit_all"), "a", ONLY_B, 2, 2),
    "callbacks in line": (_line, "a", ONLY_B, 2, 2),
    "between attempts": (_between_attempts, "a", ONLY_B, 0, 1),
    "held outbound tasks": (
        lambda on_remove: _held_tasks(on_remove.replace('"b"', '"ob2"')),
        "ob",
        ONLY_OB2,
        0,
        3,
    ),
    "closed by its hours": (
        lambda on_remove: _closed(on_remove.replace('"b"', '"always"')),
        "sales",
        ONLY_ALWAYS,
        0,
        1,
    ),
}


# what the reload guard's refusal says each holds (QueueHolds.describe)
DESCRIBED = {
    "callers in line": "2 waiting",
    "callbacks in line": "2 waiting",
    "between attempts": "1 callback between attempts",
    "held outbound tasks": "3 held outbound tasks",
    "closed by its hours": "1 callback between attempts",
}


@pytest.mark.parametrize("target", [True, False], ids=["on_remove", "no target"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_queue_holds_is_what_removing_the_queue_hands_over_or_rejects(
    kind: str, target: bool
) -> None:
    make, queue, after, length, holds = KINDS[kind]
    r = make('on_remove = "b"' if target else "")
    assert r.queue_length(queue) == length  # the line only, as before
    assert r.queue_holds(queue) == holds
    parts = r.queue_holdings(queue)
    assert parts.total == holds and parts.waiting == length
    assert parts.describe() == DESCRIBED[kind]
    before = r.snapshot()
    assert r.queue_holds(queue) == holds and r.snapshot() == before  # a query changes nothing
    r.reconfigure(config(after), r.now + 1.0)
    (done,) = [e for e in r.tick(r.now) if isinstance(e, Reconfigured)]
    assert (done.handed_over, done.rejected) == ((holds, 0) if target else (0, holds))


def test_queue_holds_counts_a_callback_between_attempts_where_it_was_handed() -> None:
    r = _between_attempts('on_remove = "b"')
    assert (r.queue_holds("a"), r.queue_holds("b")) == (1, 0)
    r.reconfigure(config(ONLY_B), now=20.0)
    assert (r.queue_length("b"), r.queue_holds("b")) == (0, 1)
    _run_to(r, 200.0)  # called back at 111 and answered: held nowhere any more
    assert r.queue_holds("b") == 0


def test_queue_holds_checks_its_queue_as_queue_length_does() -> None:
    r = _between_attempts()
    with pytest.raises(UnknownId, match=r"^unknown queue 'c'; known: 'a', 'b'$"):
        r.queue_holds("c")
    for bad in (None, 7, b"a", ""):
        with pytest.raises(InvalidInput, match=r"^queue: must be a non-empty string, got "):
            r.queue_holds(bad)


def test_the_reload_guard_refuses_a_file_dropping_a_queue_holding_a_callback_between_attempts(
    tmp_path: Path,
) -> None:
    """docs/tuning.md §6's guard, ``waiting=router.queue_holdings``: the callback between
    two attempts is work in the queue, named as such in the refusal; ``queue_length`` (0
    here) let this file through and the router rejected the callback at the switch."""
    r = _between_attempts()
    path = tmp_path / "router.toml"
    path.write_text(QUEUES.replace("{on_remove}", ""))
    errors: list[list[str]] = []
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(
        path,
        on_change=lambda cfg: r.reconfigure(cfg, 20.0),
        on_error=errors.append,
        waiting=r.queue_holdings,
        clock=lambda: 1e12,
    )
    w.load()
    tmp = tmp_path / "new.toml"
    tmp.write_text(ONLY_B)
    os.replace(tmp, path)  # atomic: judged on this poll
    assert w.poll() is None
    assert errors == [
        [
            "$.queues: the new file drops queue 'a' while it holds 1 callback between "
            "attempts; keep it, or first give it on_remove = a queue the new file keeps"
        ]
    ]
    assert r.version == 1 and r.inquiry_state("c1") == "parked" and r.counters.rejected == 0
    # the two-step retirement: on_remove first, then the file without the queue
    tmp.write_text(QUEUES.replace("{on_remove}", 'on_remove = "b"'))
    os.replace(tmp, path)
    assert w.poll() is not None and r.version == 2
    tmp.write_text(ONLY_B)
    os.replace(tmp, path)
    assert w.poll() is not None and r.version == 3
    assert r.inquiry_state("c1") == "parked" and r.queue_holds("b") == 1
    assert r.counters.rejected == 0 and len(errors) == 1


def test_the_reload_guard_names_every_kind_a_queue_holds(tmp_path: Path) -> None:
    """Each non-zero part, singular or plural, in the order waiting, callbacks between
    attempts, held tasks; an int ``waiting`` (any count) is said as inquiries."""
    from router.stats import QueueHolds

    held = QueueHolds(waiting=2, between_attempts=1, held_tasks=3)
    assert held.total == 6
    assert held.describe() == "2 waiting, 1 callback between attempts, 3 held outbound tasks"
    assert QueueHolds(waiting=0, between_attempts=2, held_tasks=1).describe() == (
        "2 callbacks between attempts, 1 held outbound task"
    )
    assert QueueHolds(waiting=0, between_attempts=0, held_tasks=0).describe() == "nothing"
    path = tmp_path / "router.toml"
    path.write_text(QUEUES.replace("{on_remove}", ""))
    for waiting, said in [
        (
            lambda q: held if q == "a" else QueueHolds(waiting=0, between_attempts=0, held_tasks=0),
            "2 waiting, 1 callback between attempts, 3 held outbound tasks",
        ),
        (lambda q: 1 if q == "a" else 0, "1 inquiry"),
        (lambda q: 4 if q == "a" else 0, "4 inquiries"),
    ]:
        w: ConfigWatcher[RouterConfig] = ConfigWatcher(path, waiting=waiting, clock=lambda: 1e12)
        w.load()
        tmp = tmp_path / "new.toml"
        tmp.write_text(ONLY_B)
        os.replace(tmp, path)
        assert w.poll() is None
        assert w.problems == [
            f"$.queues: the new file drops queue 'a' while it holds {said}; keep it, or "
            "first give it on_remove = a queue the new file keeps"
        ]
        path.write_text(QUEUES.replace("{on_remove}", ""))
    empty = ConfigWatcher(  # holding nothing: the file passes
        path, waiting=lambda q: QueueHolds(waiting=0, between_attempts=0, held_tasks=0)
    )
    empty.load()
    tmp = tmp_path / "new.toml"
    tmp.write_text(ONLY_B)
    os.replace(tmp, path)
    assert empty.poll() is not None and empty.problems == []


# ------------------------------------------------------------------ the policies' view (left48)


def test_the_policies_view_names_each_count_once() -> None:
    """``places_held`` counts a callback between two attempts (what ``max_queue`` bounds),
    ``line_length`` does not (``Router.queue_length``'s figure); the old view names are the
    first's, warned once each."""
    r = _between_attempts()  # queue a: nobody in line, c1 between two attempts
    plane = r._bp
    assert (r.queue_length("a"), plane.line_length("a"), plane.places_held("a")) == (0, 0, 1)
    assert plane.total_places_held() == r.total_waiting() + 1
    with pytest.warns(DeprecationWarning, match=r"AdmissionView\.queue_length is deprecated"):
        assert plane.queue_length("a") == 1
    with pytest.warns(DeprecationWarning, match=r"AdmissionView\.total_waiting is deprecated"):
        assert plane.total_waiting() == plane.total_places_held()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once each: no second warning
        assert plane.queue_length("a") == 1 and plane.total_waiting() == 1
    assert (plane.line_length("nope"), plane.places_held("nope")) == (0, 0)
    lined = _line("", "admit_all")  # two callers in line: the two names agree
    assert (lined.queue_length("a"), lined._bp.line_length("a"), lined._bp.places_held("a")) == (
        2,
        2,
        2,
    )


def test_a_custom_policy_on_the_old_name_reads_what_it_read(request: Any) -> None:
    """A policy written against ``view.queue_length`` keeps its figure (callbacks between
    attempts counted) and is told once to pick a name (both builds: on the compiled one a
    Python subclass of the compiled ``AdmissionPolicy``, plug48)."""
    from router.config.registry import POLICIES
    from router.policies import admission, register_policy

    seen: list[tuple[int, int, int]] = []

    class Probe(admission.AdmissionPolicy):
        name = "probe"

        def on_arrival(self, view: Any, arrival: Any) -> None:
            q = arrival.queue
            seen.append((view.queue_length(q), view.places_held(q), view.line_length(q)))

    register_policy("probe", lambda cfg: Probe())  # as docs/backpressure.md says
    request.addfinalizer(lambda: POLICIES.pop("probe"))
    text = QUEUES.replace("{on_remove}", "").replace('["callback"]', '["probe", "callback"]')
    r = Router(config(text))
    r.login(AgentSpec(id="ag", skills={"x": 1}, capacity={"voice": 1}), now=0.0)
    with pytest.warns(DeprecationWarning, match="use places_held"):
        r.submit(Inquiry(id="busy", queue="a"), now=0.0)
    r.tick(0.0)
    r.accept("busy", now=1.0)
    assert r.submit(Inquiry(id="c1", queue="a", patience_s=60), now=2.0).outcome == "callback"
    r.complete("busy", now=10.0)
    r.tick(10.0)
    r.callback_failed("c1", now=11.0)
    r.tick(11.0)
    assert r.inquiry_state("c1") == "parked"
    r.submit(Inquiry(id="late", queue="a"), now=12.0)
    assert seen[-1] == (1, 1, 0)  # c1 between attempts: held, not in line


# ----------------------------------------------- where the old names' warning points (tidy49)


def test_the_old_names_warning_points_at_the_callers_line(request: Any) -> None:
    """The deprecation warning names the caller's file and line on both builds: a direct
    call on the view, and a custom policy's ``on_arrival`` (a Python subclass the core
    calls) reading the old name (main, compiled: 1-2 frames off)."""
    import inspect
    import warnings

    from router.config.registry import POLICIES
    from router.policies import admission, register_policy

    plane = _between_attempts()._bp
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        plane.queue_length("a")
        total_line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        plane.total_waiting()
    assert [(w.filename, w.lineno) for w in got] == [(__file__, line), (__file__, total_line)]

    where: list[int] = []

    class Old(admission.AdmissionPolicy):
        name = "old_names"

        def on_arrival(self, view: Any, arrival: Any) -> None:
            where.append(inspect.currentframe().f_lineno + 1)  # type: ignore[union-attr]
            view.queue_length(arrival.queue)

    register_policy("old_names", lambda cfg: Old())
    request.addfinalizer(lambda: POLICIES.pop("old_names"))
    text = QUEUES.replace("{on_remove}", "").replace('["callback"]', '["old_names"]')
    r = Router(config(text))
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        r.submit(Inquiry(id="x", queue="a"), now=0.0)
    assert where and [(w.filename, w.lineno) for w in got] == [(__file__, where[0])]
