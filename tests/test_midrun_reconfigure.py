"""A reconfigure in the middle of a run (left48): the figures judged by the answer target
in force, and a queue removed mid-run in the simulator's timeline and the replay.

The rule (docs/metrics.md, docs/simulator.md): an answer is judged by its queue's
``answer_target_s`` in force when it was answered, as contact-center service-level
reports judge each interaction against the queue's service-level target when the
interaction is counted; a target changed later does not judge it again, and a take-back
(a hand-back, a callback's call that reached nobody) comes out of the figure it went in.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, InvalidInput, Router
from router.events import Assigned, Reconfigured, encode_events
from router.observe import Monitor
from router.sim import build_report, decode_scenario
from router.sim.engine import ANSWERED, REJECTED, Simulator
from router.sim.scenario import router_config
from tests.helpers import config

SCENARIO = """
[simulation]
duration_s = 6000
warmup_s = 0
[[queues]]
name = "q"
answer_target_s = 5
{extra_queue}
[[agents]]
count = 2
capacity = {{ voice = 1 }}
[[arrivals]]
queue = "q"
rate_per_s = 0.035
handle_time = {{ dist = "exponential", mean_s = 50 }}
"""

AT = 3000.0  # the hook's reconfigure: the first step at or after it


def _with_target(sc: Any, target: float) -> Any:
    cfg = router_config(sc)
    queues = [msgspec.structs.replace(q, answer_target_s=target) for q in cfg.queues]
    return msgspec.structs.replace(cfg, queues=queues)


def _retargeted_run(target: float) -> tuple[Any, Any, Any, list[float]]:
    """The scenario run with ``q``'s target raised to ``target`` at :data:`AT`, a monitor
    fed every event (told the new config, as the operator page's replay does)."""
    sc = decode_scenario(SCENARIO.format(extra_queue="").encode())
    mon = Monitor(router_config(sc))
    when: list[float] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        mon.feed((ev,))
        if not when and ev.at >= AT:
            cfg = _with_target(sc, target)
            sim.router.reconfigure(cfg, sim.router.now)
            mon.configure(cfg)
            when.append(sim.router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    res = sim.run()
    mon.flush(res.end_time)
    return sim, res, mon, when


def test_the_report_judges_each_answer_by_the_target_in_force_when_answered() -> None:
    sim, res, mon, when = _retargeted_run(600.0)
    assert when
    rep = build_report(res)
    answered = [r for r in res.inquiries if r.outcome == ANSWERED]
    # answered in the step whose event ran the hook, or before: the file's target
    before = [r for r in answered if r.answered_at <= when[0]]
    after = [r for r in answered if r.answered_at > when[0]]
    assert before and after
    assert all(r.wait <= 600.0 for r in after)  # the raised target holds them all
    own = sum(r.wait <= 5.0 for r in before) + len(after)
    by_file = sum(r.wait <= 5.0 for r in answered)
    assert own > by_file + 10  # the scenario file's target would count far fewer
    assert rep["offered"] == len(res.inquiries) and rep["unresolved"] == 0
    assert rep["service_level"] * rep["offered"] == pytest.approx(own)
    assert rep["queues"]["q"]["service_level"] == rep["service_level"]
    # the core's and the operator page's figures count the same answers
    core = sim.router.statistics().queues["q"].totals
    assert core is not None and core.answered_in_target == own
    assert mon.statistics().queues["q"].windows["since_reset"].answered_in_target == own


def test_a_lowered_target_mid_run_judges_the_later_answers_by_it() -> None:
    sim, res, _, when = _retargeted_run(1.0)
    rep = build_report(res)
    answered = [r for r in res.inquiries if r.outcome == ANSWERED]
    own = sum(r.wait <= 5.0 for r in answered if r.answered_at <= when[0])
    own += sum(r.wait <= 1.0 for r in answered if r.answered_at > when[0])
    assert rep["service_level"] * rep["offered"] == pytest.approx(own)
    core = sim.router.statistics().queues["q"].totals
    assert core is not None and core.answered_in_target == own


def test_the_plots_outcome_counts_judge_by_the_same_target() -> None:
    from router.sim.plots import _outcome_counts

    _, res, _, _ = _retargeted_run(600.0)
    rep = build_report(res)
    assert _outcome_counts(res)["q"]["within"] == round(rep["service_level"] * rep["offered"])


# ------------------------------------------------------------------ take-backs (core, monitor)

# decline_memory = "forever": with the default the lone agent's hand-back ends its round and
# it takes the inquiry again at once
ONE = """
[routing]
mode = "immediate"
decline_memory = "forever"
[[queues]]
name = "q"
answer_target_s = 60
requires = { x = 1 }
"""


def _answered_at_30() -> tuple[Router, Monitor]:
    """``i`` answered after 30 s (within q's 60 s target), then the target lowered to 10."""
    cfg = config(ONE)
    r = Router(cfg)
    mon = Monitor(cfg)
    r.submit(Inquiry(id="i", queue="q"), now=0.0)
    mon.feed(r.tick(0.0))
    r.login(AgentSpec(id="a", skills={"x": 1}, capacity={"voice": 1}), now=30.0)
    ev = r.tick(30.0)
    mon.feed(ev)
    assert [e.wait_s for e in ev if isinstance(e, Assigned)] == [30.0]
    lowered = config(ONE.replace("answer_target_s = 60", "answer_target_s = 10"))
    r.reconfigure(lowered, 40.0)
    mon.feed(r.tick(40.0))
    mon.configure(lowered)
    return r, mon


def _in_target(r: Router, mon: Monitor) -> tuple[int, int, int, int]:
    core = r.statistics().queues["q"].totals
    m = mon.statistics().queues["q"].windows["since_reset"]
    assert core is not None
    return core.answered, core.answered_in_target, m.answered, m.answered_in_target


def test_a_hand_back_after_the_target_changed_takes_back_the_answer_as_counted() -> None:
    r, mon = _answered_at_30()
    assert _in_target(r, mon) == (1, 1, 1, 1)
    r.hand_back("i", 50.0)
    mon.feed(r.tick(50.0))
    assert r.inquiry_state("i") == "waiting"  # never back to the agent who handed it back
    assert _in_target(r, mon) == (0, 0, 0, 0)  # counted within 60 s, taken back as that
    windows = r.statistics().queues["q"].windows["since_reset"]
    assert (windows.answered, windows.answered_in_target) == (0, 0)
    r.login(AgentSpec(id="b", skills={"x": 1}, capacity={"voice": 1}), now=55.0)
    mon.feed(r.tick(55.0))  # answered again after 55 s: late by the 10 s in force
    assert _in_target(r, mon) == (1, 0, 1, 0)


def test_the_kept_target_survives_a_snapshot() -> None:
    r, _ = _answered_at_30()
    r2 = Router.restore(r.snapshot())
    r2.hand_back("i", 50.0)
    r2.tick(50.0)
    core = r2.statistics().queues["q"].totals
    assert core is not None and (core.answered, core.answered_in_target) == (0, 0)


# ------------------------------------------------------------------ a queue removed mid-run

TWO = SCENARIO.format(
    extra_queue="""on_remove = "{on_remove}"
[[queues]]
name = "spare"
answer_target_s = 5"""
)


def _removing_run(on_remove: str) -> tuple[Simulator, Any, list[float]]:
    """``q`` (its arrivals too) removed at :data:`AT`; ``on_remove`` names where to."""
    text = TWO.replace(
        'on_remove = "{on_remove}"', f'on_remove = "{on_remove}"' if on_remove else ""
    )
    sc = decode_scenario(text.encode())
    keep = router_config(sc)
    keep = msgspec.structs.replace(keep, queues=[q for q in keep.queues if q.name != "q"])
    when: list[float] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        if not when and ev.at >= AT:
            sim.router.reconfigure(keep, sim.router.now)
            when.append(sim.router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    return sim, sim.run(), when


@pytest.mark.parametrize("on_remove", ["spare", ""], ids=["on_remove", "nowhere"])
def test_a_queue_removed_mid_run_ends_its_timeline_series(on_remove: str, tmp_path: Any) -> None:
    _, res, when = _removing_run(on_remove)
    tl = res.timeline
    n = len(tl["t"])
    assert all(len(s) == n for s in (*tl["waiting"].values(), *tl["callbacks"].values()))
    gone = [i for i, t in enumerate(tl["t"]) if t > when[0]]
    kept = [i for i, t in enumerate(tl["t"]) if t < when[0]]
    assert gone and kept
    assert all(tl["waiting"]["q"][i] is None and tl["callbacks"]["q"][i] is None for i in gone)
    assert all(isinstance(tl["waiting"]["q"][i], int) for i in kept)
    assert all(isinstance(tl["waiting"]["spare"][i], int) for i in range(n))
    rep = build_report(res)
    later = [r for r in res.inquiries if r.arrival > when[0]]
    assert later
    if on_remove:  # the removed queue's callers dial on and reach its on_remove
        assert all(r.queue == "spare" for r in later)
        assert rep["queues"]["spare"]["offered"] == len(later)
        assert rep["unresolved"] == 0
    else:  # nowhere to go: rejected, never given to the core
        assert all(r.queue == "q" and r.outcome == REJECTED for r in later)
        assert rep["queues"]["q"]["rejected"] >= len(later)
    for name, row in rep["queues"].items():
        ended = sum(row[k] for k in ("answered", "abandoned", "rejected", "deflected"))
        ended += row["unresolved"]
        assert row["offered"] + row["moved_in"] - row["moved_out"] == ended, name
    from router.sim.plots import matplotlib_available, write_charts

    if matplotlib_available():  # the charts draw the gap
        assert len(write_charts(res, rep, tmp_path)) == 7


def test_a_queue_removed_by_the_last_steps_hook_ends_the_timeline_too() -> None:
    """The engine looks for a change before the last point as well: a hook removing a
    queue at the run's last event gives a null there, not ``UnknownId``."""
    text = TWO.replace('on_remove = "{on_remove}"', "")
    sc = decode_scenario(text.encode())
    keep = router_config(sc)
    keep = msgspec.structs.replace(keep, queues=[q for q in keep.queues if q.name != "q"])
    sim: Simulator

    def hook(ev: Any) -> bool:
        if ev.at >= AT:  # the router's own reconfigure: the engine is not told
            sim.router.reconfigure(keep, sim.router.now)
            return False  # stop the run here: no step after the change
        return True

    sim = Simulator(sc, on_event=hook)
    res = sim.run()
    assert res.end_time >= AT
    assert res.timeline["waiting"]["q"][-1] is None
    assert res.timeline["waiting"]["spare"][-1] == 0


# ------------------------------------------------- a queue a mid-run reconfigure adds (fix49)


def _adding_run(*, via_engine: bool, heavy: bool = False) -> tuple[Simulator, Any, list[float]]:
    """``q`` replaced by ``added`` (not in the scenario) at the first step after :data:`AT`
    with callers waiting in ``q``: they are handed over there and ``q``'s stream's later
    callers dial it. Through ``Simulator.reconfigure(hand_over=)`` (the operator page's
    way), or through the router's own ``reconfigure``: ``added`` first added beside ``q``
    (at ``AT / 2``, ``q``'s ``on_remove`` naming it), then ``q`` removed (the engine sees
    each change at its next step). ``when``: the instant ``added`` came, then ``q`` went.
    ``heavy``: ``added`` is a heavy queue, at most :data:`RUN` heavy inquiries in a row."""
    sc = decode_scenario((SCENARIO.format(extra_queue="") + (HEAVY if heavy else "")).encode())
    cfg = router_config(sc)
    (q,) = cfg.queues
    added = msgspec.structs.replace(q, name="added", answer_target_s=7.0, heavy=heavy)
    beside = msgspec.structs.replace(
        cfg, queues=[msgspec.structs.replace(q, on_remove="added"), added]
    )
    new = msgspec.structs.replace(cfg, queues=[added])
    when: list[float] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        router = sim.router
        if not via_engine and not when and ev.at >= AT / 2:
            router.reconfigure(beside, router.now)
            when.append(router.now)
        elif len(when) < 2 and ev.at >= AT and router.queue_length("q") >= 2:
            if via_engine:
                sim.reconfigure(new, hand_over={"q": "added"})
                when.extend((router.now, router.now))
            else:
                router.reconfigure(new, router.now)
                when.append(router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    return sim, sim.run(), when


@pytest.mark.parametrize("via_engine", [True, False], ids=["hand_over", "on_remove"])
def test_a_queue_added_mid_run_has_its_row_and_timeline(via_engine: bool, tmp_path: Any) -> None:
    _, res, when = _adding_run(via_engine=via_engine)
    tl = res.timeline
    n = len(tl["t"])
    assert list(tl["waiting"]) == ["q", "added"] and list(tl["callbacks"]) == ["q", "added"]
    assert all(len(s) == n for s in (*tl["waiting"].values(), *tl["callbacks"].values()))
    before = [i for i, t in enumerate(tl["t"]) if t < when[0]]
    since = [i for i, t in enumerate(tl["t"]) if t > when[0]]
    after = [i for i, t in enumerate(tl["t"]) if t > when[1]]
    assert before and after
    assert all(tl["waiting"]["added"][i] is None for i in before)  # null before it existed
    assert all(isinstance(tl["waiting"]["added"][i], int) for i in since)
    assert all(tl["waiting"]["q"][i] is None for i in after)
    assert all(isinstance(tl["waiting"]["q"][i], int) for i in range(n) if tl["t"][i] < when[1])
    rep = build_report(res)
    assert list(rep["queues"]) == ["q", "added"]
    handed = [r for r in res.inquiries if r.path == ["added"]]
    later = [r for r in res.inquiries if r.arrival > when[1]]
    assert handed and later  # some waited in q at the change; later callers dial on
    assert all(r.queue == "added" and r.path is None for r in later)
    row = rep["queues"]["added"]
    assert row["offered"] == len(later) and row["moved_in"] == len(handed)
    assert rep["queues"]["q"]["moved_out"] == len(handed)
    assert rep["unresolved"] == 0 and rep["anomalies"] == {}
    for name, r in rep["queues"].items():
        ended = sum(r[k] for k in ("answered", "abandoned", "rejected", "deflected"))
        assert r["offered"] + r["moved_in"] - r["moved_out"] == ended + r["unresolved"], name
    # its answers judged by its own target (7 s), as the core judges them
    answered = [r for r in res.inquiries if r.outcome == ANSWERED and r.final_queue == "added"]
    assert answered and all(r.target == 7.0 for r in answered)
    within = sum(1 for r in answered if r.answered_at - r.arrival <= 7.0)
    assert row["service_level"] == within / len(
        [r for r in res.inquiries if r.final_queue == "added"]
    )
    from router.sim.plots import matplotlib_available, write_charts

    if matplotlib_available():
        assert len(write_charts(res, rep, tmp_path)) == 7


RUN = 2  # max_consecutive_heavy of HEAVY
HEAVY = f"[wellbeing]\nmax_consecutive_heavy = {RUN}\n"


@pytest.mark.parametrize("via_engine", [True, False], ids=["hand_over", "on_remove"])
def test_an_added_heavy_queues_callers_are_heavy_in_the_report_as_the_core_has_them(
    via_engine: bool,
) -> None:
    # tidy50: the engine noted an added queue's `heavy` and never read it: the callers
    # dialing it were light in the report (max_heavy_run 0) while the core held them heavy
    _, res, when = _adding_run(via_engine=via_engine, heavy=True)
    later = [r for r in res.inquiries if r.arrival > when[1]]
    earlier = [r for r in res.inquiries if r.arrival <= when[1]]
    assert later and all(r.queue == "added" and r.heavy for r in later)
    # submitted to q (light), handed over or not: a move keeps them light, as in the core
    assert earlier and not any(r.heavy for r in earlier)
    assert [r for r in earlier if r.path == ["added"]]
    # the core's limit, counted by the engine: runs as long as the core allows, no longer
    assert build_report(res)["max_heavy_run"] == RUN
    # as a scenario's heavy queue: the same figure from the first call
    text = SCENARIO.format(extra_queue="").replace(
        "answer_target_s = 5", "answer_target_s = 5\nheavy = true"
    )
    res0 = Simulator(decode_scenario((text + HEAVY).encode())).run()
    assert all(r.heavy for r in res0.inquiries) and build_report(res0)["max_heavy_run"] == RUN


def test_a_reconfigure_making_a_scenario_queue_heavy_makes_its_later_callers_heavy() -> None:
    sc = decode_scenario((SCENARIO.format(extra_queue="") + HEAVY).encode())
    cfg = router_config(sc)
    heavy = msgspec.structs.replace(
        cfg, queues=[msgspec.structs.replace(cfg.queues[0], heavy=True)]
    )
    when: list[float] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        if not when and ev.at >= AT:
            sim.reconfigure(heavy)
            when.append(sim.router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    res = sim.run()
    assert when
    later = [r for r in res.inquiries if r.arrival > when[0]]
    earlier = [r for r in res.inquiries if r.arrival <= when[0]]
    assert later and earlier
    assert all(r.heavy for r in later) and not any(r.heavy for r in earlier)
    assert build_report(res)["max_heavy_run"] == RUN


# ------------------------------------------------- hours changed mid-run (fix49)

CLOSES = 3000.0  # "00:50" on the scenario's Monday: the hours the reconfigure brings


def _closing_run() -> tuple[Any, list[float]]:
    """``q`` (always open in the scenario) given hours at the first step after :data:`AT`
    with callers waiting: open until 00:50, so closed from then on; ``at_close = "serve"``:
    those waiting stay in line and are answered while it is closed."""
    sc = decode_scenario(SCENARIO.format(extra_queue="").encode())
    cfg = router_config(sc)
    (q,) = cfg.queues
    hours = msgspec.convert([{"days": "mon-sun", "open": "00:00", "close": "00:50"}], list[Any])
    closing = msgspec.structs.replace(
        cfg, queues=[msgspec.convert({**msgspec.to_builtins(q), "hours": hours}, type(q))]
    )
    when: list[float] = []
    waiting: list[int] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        if not when and ev.at >= AT and sim.router.queue_length("q") >= 2:
            waiting.append(sim.router.queue_length("q"))
            sim.reconfigure(closing)
            when.append(sim.router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    res = sim.run()
    assert when and when[0] >= CLOSES and waiting
    return res, when


def test_hours_a_reconfigure_brings_are_the_ones_the_run_follows() -> None:
    res, when = _closing_run()
    later = [r for r in res.inquiries if r.arrival > when[0]]
    assert later
    # arrivals follow the hours in force: each one gets the closed outcome (rejected)
    closed = {id(r) for r in res.closed_outcomes}
    assert all(r.outcome == REJECTED and id(r) in closed for r in later)
    # and the answers after the change are counted as answered while closed, by those hours
    answered_since = [r for r in res.inquiries if r.outcome == ANSWERED and r.answered_at > when[0]]
    assert answered_since  # the callers waiting at the close (at_close = "serve")
    assert all(r.arrival <= when[0] for r in answered_since)
    assert {id(r) for r in res.closed_answered} == {id(r) for r in answered_since}
    rep = build_report(res)
    assert rep["closed"] == len(later) == rep["queues"]["q"]["closed"]
    assert rep["answered_while_closed"] == len(answered_since)
    assert rep["queues"]["q"]["answered_while_closed"] == len(answered_since)


# ------------------------------------------------- the interval CSV of such a run (tidy49)


def test_a_queue_added_mid_run_has_its_csv_rows(tmp_path: Any) -> None:
    """``queues.csv`` of a run whose hook adds ``added`` at :data:`AT`: its rows after the
    scenario's, blank for every interval that ended before it came, counted in ``ALL``."""
    import csv

    from router.sim.csv_report import QUEUE_COLUMNS, write_csv
    from router.sim.observed import ObservedRun

    sc = decode_scenario(SCENARIO.format(extra_queue="").encode())
    cfg = router_config(sc)
    (q,) = cfg.queues
    added = msgspec.structs.replace(q, name="added", answer_target_s=7.0)
    new = msgspec.structs.replace(cfg, queues=[added])
    mon = Monitor(cfg, intervals_s=900.0)
    when: list[float] = []

    def hook(ev: Any) -> bool:
        if not when and ev.at >= AT and run.sim.router.queue_length("q") >= 1:
            run.sim.reconfigure(new, hand_over={"q": "added"})
            mon.configure(new)
            when.append(run.sim.router.now)
        return True

    run = ObservedRun(sc, mon, after_event=hook)
    res = run.run()
    assert res.added_at == {"added": when[0]}
    write_csv(mon, sc, tmp_path, res)
    with (tmp_path / "queues.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    ks = sorted({float(r["start_s"]) for r in rows})
    assert [r["queue"] for r in rows] == ["q", "added", "ALL"] * len(ks)
    came = [r for r in rows if r["queue"] == "added"]
    blank = [r for r in came if float(r["start_s"]) + 900 <= when[0]]
    there = [r for r in came if float(r["start_s"]) + 900 > when[0]]
    assert blank and there
    assert all(r[c] == "" for r in blank for c in QUEUE_COLUMNS[4:])
    assert all(r["offered"] != "" and r["answered"] != "" for r in there)
    # every caller dialing q after the change reaches added: its rows count them
    later = [r for r in res.inquiries if r.arrival > when[0]]
    assert later and sum(int(r["offered"]) for r in there) == len(later)
    for i in range(len(ks)):
        part = rows[3 * i : 3 * i + 2]
        total = rows[3 * i + 2]
        for key in ("offered", "answered", "abandoned", "rejected", "handled"):
            assert int(total[key]) == sum(int(p[key] or 0) for p in part), key
    rep = build_report(res)
    assert sum(int(r["offered"]) for r in rows if r["queue"] == "ALL") == rep["arrivals_total"]
    assert sum(int(r["answered"] or 0) for r in came) == rep["queues"]["added"]["answered"]


# ------------------------------------------- two reconfigures in one step of a hook (tidy49)


@pytest.mark.parametrize("how", ["on_remove", "hand_over"])
def test_two_reconfigures_in_one_hook_call_are_both_seen(how: str) -> None:
    """A hook adds ``added`` (``q``'s ``on_remove`` naming it, or not), then at once drops
    ``q`` (``hand_over`` naming ``added``, or not): both through ``Router.reconfigure`` in one
    call. The engine sees both configs: ``q``'s later callers dial ``added``, none is
    rejected for a queue gone (main: every later arrival rejected)."""
    sc = decode_scenario(SCENARIO.format(extra_queue="").encode())
    cfg = router_config(sc)
    (q,) = cfg.queues
    added = msgspec.structs.replace(q, name="added", answer_target_s=7.0)
    on_remove = "added" if how == "on_remove" else None
    beside = msgspec.structs.replace(
        cfg, queues=[msgspec.structs.replace(q, on_remove=on_remove), added]
    )
    new = msgspec.structs.replace(cfg, queues=[added])
    hand_over = {"q": "added"} if how == "hand_over" else None
    when: list[float] = []
    seen: list[dict[str, str | None]] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        router = sim.router
        if not when and ev.at >= AT and router.queue_length("q") >= 1:
            router.reconfigure(beside, router.now)
            router.reconfigure(new, router.now, hand_over=hand_over)
            when.append(router.now)
        return True

    sim = Simulator(sc, on_event=hook)

    def spy(moved: dict[str, str | None]) -> None:
        seen.append(dict(moved))

    sim.router.add_reconfigure_listener(spy)  # beside the engine's, not in its place
    res = sim.run()
    assert seen == [{}, {"q": "added"}]
    assert [x.name for x in res.added_queues] == ["added"] and res.added_at == {"added": when[0]}
    later = [r for r in res.inquiries if r.arrival > when[0]]
    assert later and all(r.queue == "added" and r.outcome != REJECTED for r in later)
    handed = [r for r in res.inquiries if r.path == ["added"]]
    assert handed  # the callers waiting in q at the change
    rep = build_report(res)
    assert rep["queues"]["added"]["offered"] == len(later)
    assert rep["queues"]["added"]["moved_in"] == len(handed)
    assert rep["unresolved"] == 0 and rep["anomalies"] == {}


def test_the_router_calls_its_reconfigure_listeners_only_after_a_change() -> None:
    """``Router.add_reconfigure_listener``: each removed queue and its target (``None``:
    rejected), called after the change (the router's config is the new one); a refused
    config calls nothing."""

    def qs(*names: str, b_to: str = "") -> Any:
        text = "".join(f'[[queues]]\nname = "{n}"\n' for n in names)
        return config(text.replace('name = "b"\n', f'name = "b"\non_remove = "{b_to}"\n'))

    r = Router(qs("a", "b", "c", b_to="a"))
    calls: list[tuple[int, dict[str, str | None]]] = []
    r.add_reconfigure_listener(lambda moved: calls.append((r.version, moved)))
    r.reconfigure(qs("a"), 1.0)
    assert calls == [(2, {"b": "a", "c": None})]
    with pytest.raises(Exception, match="hand_over"):
        r.reconfigure(qs("a"), 2.0, hand_over={"zz": "a"})
    assert len(calls) == 1 and r.version == 2
    r.reconfigure(qs("a", "d"), 3.0)
    assert calls[-1] == (3, {})


def test_reconfigure_listeners_are_a_list_in_the_order_added() -> None:
    # (fix50) tidy49's single ``on_reconfigure``: an embedder that set it replaced the
    # simulator engine's. Now each listener added is called, in order, each with its copy
    calls: list[str] = []

    class Seen:
        def __init__(self, name: str) -> None:
            self.name = name

        def note(self, moved: dict[str, str | None]) -> None:
            calls.append(f"{self.name}:{sorted(moved)}")
            moved.clear()  # its own copy: the next listener still sees the queues

    r = Router(config('[[queues]]\nname = "a"\n[[queues]]\nname = "b"\n'))
    first, second = Seen("first"), Seen("second")
    r.add_reconfigure_listener(first.note)
    r.add_reconfigure_listener(second.note)
    r.add_reconfigure_listener(first.note)  # added already (an equal bound method): once
    r.reconfigure(config('[[queues]]\nname = "a"\n'), 1.0)
    assert calls == ["first:['b']", "second:['b']"]
    r.remove_reconfigure_listener(first.note)
    r.reconfigure(config('[[queues]]\nname = "a"\n[[queues]]\nname = "c"\n'), 2.0)
    assert calls[2:] == ["second:[]"]
    with pytest.raises(InvalidInput, match=r"^listener: not added"):
        r.remove_reconfigure_listener(first.note)
    with pytest.raises(InvalidInput, match=r"^listener: must be callable, got int"):
        r.add_reconfigure_listener(3)  # type: ignore[arg-type]
    r.reconfigure(config('[[queues]]\nname = "a"\n'), 3.0)
    assert calls[3:] == ["second:['c']"]  # the refusals changed nothing
    assert Router.restore(r.snapshot())._reconfigure_listeners == []  # not restored


def test_an_embedders_listener_leaves_the_engines_in_place() -> None:
    # the engine's listener notes the queue a hook adds (``SimResult.added_queues``): an
    # embedder's listener added beside it must not take its place
    sc = decode_scenario(SCENARIO.format(extra_queue="").encode())
    cfg = router_config(sc)
    extra = msgspec.structs.replace(cfg.queues[0], name="extra")
    added = msgspec.structs.replace(cfg, queues=[*cfg.queues, extra])
    done: list[float] = []
    sim: Simulator

    def hook(ev: Any) -> bool:
        if not done and ev.at >= 10.0:
            sim.router.reconfigure(added, sim.router.now)
            done.append(sim.router.now)
        return True

    sim = Simulator(sc, on_event=hook)
    mine: list[dict[str, str | None]] = []
    sim.router.add_reconfigure_listener(mine.append)
    res = sim.run()
    assert mine == [{}]
    assert [q.name for q in res.added_queues] == ["extra"]


# -------------------------------------- a monitor learns an added queue's target (fix50)


def test_a_monitor_learns_an_added_queues_target_and_channel_from_the_event() -> None:
    # (fix50) a queue added mid-run: a monitor fed the events, never told the new config,
    # judged its answers by a default 20 s (and its channel unknown). ``Reconfigured``
    # now names the added or changed queues' answer targets and channels
    first = config('[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n')
    added = config(
        '[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\nanswer_target_s = 10\n'
        '[[queues]]\nname = "b"\nchannel = "chat"\nanswer_target_s = 100\n'
    )
    r = Router(first)
    mon = Monitor(first)
    mon.feed(r.tick(0.0))
    r.reconfigure(added, 1.0)
    r.submit(Inquiry(id="i1", queue="b"), 1.0)
    r.submit(Inquiry(id="i2", queue="a"), 1.0)
    r.login(AgentSpec(id="ann", capacity={"chat": 1, "voice": 1}), 51.0)
    events = r.tick(51.0)
    mon.feed(events)
    (note,) = [e for e in events if isinstance(e, Reconfigured)]
    assert note.answer_targets == (("a", 10.0), ("b", 100.0))
    assert note.channels == (("b", "chat"),)
    st = mon.statistics(60.0)
    b, a = st.queues["b"], st.queues["a"]
    assert (b.answer_target_s, b.channel, a.answer_target_s) == (100.0, "chat", 10.0)
    assert b.windows["since_reset"].answered_in_target == 1  # waited 50 s: within 100
    assert a.windows["since_reset"].answered_in_target == 0  # waited 50 s: not within 10
    assert r.statistics().queues["b"].windows["since_reset"].answered_in_target == 1
    # an unchanged queue is left out; bytes as before for a reconfigure that adds nothing
    r.reconfigure(added, 70.0)
    (same,) = [e for e in r.tick(70.0) if isinstance(e, Reconfigured)]
    assert same.answer_targets == () and same.channels == ()
    assert encode_events([same]) == (b'[{"type":"Reconfigured","at":70.0,"version":3}]')
