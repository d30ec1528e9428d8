"""Directed tests from the mutation sweep of mutN44's open survivors, ``stats.py`` and
``reload.py`` (mutO45).

Each test pins one behaviour of ``router/state/{breaks,distribution,staffing}.py``,
``router/errors.py`` or ``router/stats.py`` that a mutant changed without any other test
noticing; its comment names the mutants. They drive a small ``Router``; none is timed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import AgentSpec, Inquiry, Router, RouterConfig, Shift
from router.errors import ConfigError, InvalidInput, InvalidState, UnknownId
from router.events import (
    AgentAway,
    AgentOnBreak,
    Assigned,
    BreakDeferred,
    Offered,
    OfferExpired,
    SurgeEnded,
    SurgeStarted,
)
from router.reload import ConfigWatcher
from router.state import codec
from router.state.distribution import Draws
from router.stats import (
    Counters,
    QueueStatistics,
    RouterStatistics,
    WindowFigures,
    window_label,
)
from tests.helpers import BREAK_SHARE, config

# ---------------------------------------------------------------------- state/breaks.py

# break staffing with surge mode: entered at the first waiting inquiry, left at once
STAFFING = BREAK_SHARE.replace(
    "max_break_share = 0.5\n", 'max_break_share = 0.5\nsuspend_in_surge = ["continuous_work"]\n'
) + ("[backpressure.surge]\nenter_waiting = 1\nenter_after_s = 0\nexit_after_s = 0\n")


def breaks_of(events: list[Any]) -> list[str]:
    return [e.agent_id for e in events if isinstance(e, AgentOnBreak)]


def deferred_of(events: list[Any]) -> list[tuple[str, float]]:
    return [(e.agent_id, e.due) for e in events if isinstance(e, BreakDeferred)]


def on_break_at_0(r: Router, *agents: tuple[str, str | None]) -> None:
    """Log ``agents`` (id, team) in at 0 and send each on a break the caller ends."""
    for aid, team in agents:
        r.login(AgentSpec(id=aid, team=team), 0)
        r.go_on_break(aid, 0)
    assert breaks_of(r.tick(0)) == [aid for aid, _ in agents]


def at_work(r: Router, t: float, aid: str, **spec: Any) -> None:
    """Log ``aid`` in at ``t`` on one long inquiry: its break falls due at ``t + 80``."""
    r.login(AgentSpec(id=aid, **spec), t)
    r.submit(Inquiry(id="i" + aid, queue="q"), t)
    assert [e.agent_id for e in r.tick(t) if isinstance(e, Assigned)] == [aid]


def three_deferred(until: float) -> Router:
    """Six on shift, three places (share 0.5), all held by p1 (team B), p2, p3 from 0. X
    (team A, due 80), Z (team B, due 90) and Y (team A, due 100) are deferred in turn: A's
    heap holds X and Y, B's Z; the router-wide one is empty; B's tally comes first."""
    r = Router(config(STAFFING))
    on_break_at_0(r, ("p1", "B"), ("p2", None), ("p3", None))
    at_work(r, 0, "x", team="A")
    at_work(r, 10, "z", team="B")
    at_work(r, 20, "y", team="A")
    got = [d for t in (80, 90, 100) if t <= until for d in deferred_of(r.tick(t))]
    assert got == [("x", 80.0), ("z", 90.0), ("y", 100.0)][: len(got)]
    return r


def places_open(r: Router) -> list[tuple[float, list[str]]]:
    """p1, p2, p3 come back at 105, 106, 107; X's work ends at 108, so his break ends at
    138: the breaks that start at each."""
    out = []
    for t, p in ((105, "p1"), (106, "p2"), (107, "p3")):
        r.set_ready(p, t)
        out.append((float(t), breaks_of(r.tick(t))))
    r.complete("ix", 108)
    r.tick(108)
    out.append((138.0, breaks_of(r.tick(138))))
    return out


# p3's place goes to nobody: team A's one place is X's until his break ends at 138
ORDER = [(105.0, ["x"]), (106.0, ["z"]), (107.0, []), (138.0, ["y"])]


def test_deferred_breaks_go_in_due_order_across_team_heaps_as_places_open() -> None:
    # `breaks.py:197` (`heap[-1]`: team A's later Y against B's Z, so Z before X; an empty
    # heap read or a `None` compared: both crash; `negate`) and `:201` (the chosen entry
    # left in its heap: popped again as stale later, `n_deferred` hits 0 with Y still
    # deferred, and Y never gets a place)
    r = three_deferred(100)
    assert places_open(r) == ORDER


def test_a_leaving_agent_first_in_line_takes_the_place_only_it_fits() -> None:
    # `breaks.py:197` (`has_place(heap[-1][3])`): E1 (due 80) leaves at 130, so from 100 he
    # is leaving: the look-ahead lets him go (he is gone anyway) where E2 (due 100), who
    # stays, does not fit (3 breaks of 6, but of 5 once E1 is gone: 2 places)
    r = Router(config(STAFFING))
    on_break_at_0(r, ("p1", None), ("p2", None), ("p3", None))
    at_work(r, 0, "e1", shift_end=130.0)
    at_work(r, 20, "e2")
    r.login(AgentSpec(id="w"), 50)
    assert [d for t in (50, 80, 100) for d in deferred_of(r.tick(t))] == [
        ("e1", 80.0),
        ("e2", 100.0),
    ]
    r.set_ready("p1", 105)
    assert breaks_of(r.tick(105)) == ["e1"]


def test_a_surge_drops_the_deferred_breaks_and_their_count() -> None:
    # `breaks.py:213` (the heaps kept) and `:214` (`n_deferred = -1`): S's break is
    # deferred at 80; the surge from 85 to 87 drops it; S logs out with work. V1's and
    # V2's breaks are deferred after it; two places open: each goes (with S's entry left
    # behind, popping it as stale takes V2's count, and V2 never goes)
    r = Router(config(STAFFING))
    on_break_at_0(r, ("p1", None), ("p2", None))
    at_work(r, 0, "s")
    at_work(r, 30, "v1")
    at_work(r, 40, "v2")
    assert deferred_of(r.tick(80)) == [("s", 80.0)]
    r.submit(Inquiry(id="w1", queue="q"), 85)
    r.submit(Inquiry(id="w2", queue="q"), 85)
    assert [type(e) for e in r.tick(85) if isinstance(e, SurgeStarted)] == [SurgeStarted]
    r.withdraw("w1", 87)
    r.withdraw("w2", 87)
    assert [type(e) for e in r.tick(87) if isinstance(e, SurgeEnded)] == [SurgeEnded]
    assert deferred_of(r.tick(88)) == [("s", 80.0)]  # due again once the surge is over
    r.logout("s", 89)
    r.tick(89)
    assert [d for t in (110, 120) for d in deferred_of(r.tick(t))] == [
        ("v1", 110.0),
        ("v2", 120.0),
    ]
    r.set_ready("p1", 125)
    assert breaks_of(r.tick(125)) == ["v1"]
    r.set_ready("p2", 126)
    assert breaks_of(r.tick(126)) == ["v2"]


def test_a_restored_router_gives_the_deferred_breaks_as_the_original_would() -> None:
    # `breaks.py:232` (`n_deferred` not counted on restore, or `-= 1`: X's entry restored,
    # Z's and Y's deferred after: the count hits 0 with breaks deferred) and `:224` (the
    # snapshot lists the deferred breaks in due order, whatever heap holds them)
    r = Router.restore(three_deferred(85).snapshot())
    assert [d for t in (90, 100) for d in deferred_of(r.tick(t))] == [("z", 90.0), ("y", 100.0)]
    snap = codec.decode(r.snapshot())
    assert [(due, aid) for due, _, _, aid in snap.breaks] == [
        (80.0, "x"),
        (90.0, "z"),
        (100.0, "y"),
    ]
    assert places_open(r) == ORDER


# ---------------------------------------------------------------------- state/distribution.py


def traced(distribution: str, capacity: int) -> Router:
    r = Router(
        config(
            '[routing]\nmode = "immediate"\ntrace = true\nseed = 7\n'
            f'[[queues]]\nname = "q"\nchannel = "chat"\ndistribution = "{distribution}"\n'
        )
    )
    for aid in ("a", "b", "c")[: 3 if capacity > 1 else 1]:
        r.login(AgentSpec(id=aid, capacity={"chat": capacity}), 0)
    return r


def explained(r: Router, t: float) -> Any:
    (ev,) = [e for e in r.tick(t) if isinstance(e, Assigned)]
    return ev.explanation


def test_round_robin_explains_an_agent_never_given_a_turn_as_turn_0() -> None:
    # `distribution.py:123` (the default turn 1 or -1; the line dropped: a crash)
    r = traced("round_robin", 4)
    r.submit(Inquiry(id="c0", queue="q"), 1)
    x = explained(r, 1)
    assert (x.chosen.agent_id, x.chosen.features, x.chosen.score) == ("a", {"last_turn": 0.0}, 0.0)


def test_random_explains_each_agents_draw_above_the_pools_floor() -> None:
    # `distribution.py:127` (`key + floor`: the floor is the last winning draw, 0.505 after
    # the first pick; `key is None`: 0.0 for every agent) and `:128` (the score `+draw`):
    # each listing's key is the floor plus the router's next exponential draw (seed 7),
    # and the explanation shows that draw, the smaller one winning
    exp = Draws(7)
    draws = [exp.exp() for _ in range(7)]
    r = traced("random", 4)
    r.submit(Inquiry(id="c0", queue="q"), 1)
    r.tick(1)
    r.submit(Inquiry(id="c1", queue="q"), 2)
    x = explained(r, 2)
    assert (x.chosen.agent_id, x.runner_up.agent_id) == ("b", "a")
    assert x.chosen.features == {"draw": pytest.approx(draws[5], rel=1e-12)}
    assert x.runner_up.features == {"draw": pytest.approx(draws[6], rel=1e-12)}
    assert x.chosen.score == -x.chosen.features["draw"]
    assert x.runner_up.score == -x.runner_up.features["draw"]


def test_random_explains_an_agent_not_listed_as_draw_0() -> None:
    # `distribution.py:127` (the fallback 1.0 or -1.0): an agent freed by the end of its
    # work takes the waiting inquiry before it is listed again: no draw to show
    r = traced("random", 1)
    r.submit(Inquiry(id="c0", queue="q"), 1)
    r.tick(1)
    r.submit(Inquiry(id="c1", queue="q"), 2)
    assert [e for e in r.tick(2) if isinstance(e, Assigned)] == []
    r.complete("c0", 3)
    x = explained(r, 3)
    assert (x.trigger, x.chosen.features, x.chosen.score) == ("agent_free", {"draw": 0.0}, 0.0)


# ---------------------------------------------------------------------- state/staffing.py


def test_the_expected_wait_follows_the_shifts_to_come() -> None:
    # `staffing.py:42` (a logging-out agent ends the walk: GA's and TR's changes lost),
    # `:55`, `:56` (the gap between two shifts: GA off from 20 to 100, TR from 120 to 150,
    # after two shifts that meet at 50), `:61` (a step that changes nothing is no change),
    # `:63` (each step from the state the last one left)
    r = Router(config('[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n'))
    ga = [Shift(start_s=0.0, end_s=20.0), Shift(start_s=100.0, end_s=400.0)]
    tr = [
        Shift(start_s=0.0, end_s=50.0),
        Shift(start_s=50.0, end_s=120.0),
        Shift(start_s=150.0, end_s=500.0),
    ]
    for aid, shifts in (("lo", [Shift(start_s=0.0, end_s=300.0)]), ("ga", ga), ("tr", tr)):
        at_work(r, 0, aid, shifts=shifts)
    r.logout("lo", 5)  # with work: no staff now, nor later
    r.tick(5)
    adm = r.submit(Inquiry(id="w", queue="q"), 10)
    pool = r._pool_for(r._tickets["w"])
    assert r._staffing_changes(pool) == [
        (10.0, -1),  # GA's gap
        (90.0, 1),
        (110.0, -1),  # TR's gap
        (140.0, 1),
        (390.0, -1),  # the shift ends
        (490.0, -1),
    ]
    # nothing measured: 180 s a handle an agent. The one in line is served at 2/180 a
    # second from 10 s ahead, 1/180 to 90, 2/180 to 110, 1/180 to 140, then 2/180: served
    # 20 + 80 + 40 + 30 of the 180 by 140, the last 10 by 145
    assert (adm.position, adm.expected_wait_s) == (1, 145.0)


# ---------------------------------------------------------------------- errors.py


def test_a_config_errors_message_is_its_problems_one_a_line() -> None:
    # `errors.py:70` (without it the message is the list's repr)
    e = ConfigError(["$.a: bad", "$.b: worse"])
    assert (str(e), e.problems) == ("$.a: bad\n$.b: worse", ["$.a: bad", "$.b: worse"])


# ---------------------------------------------------------------------- stats.py


def test_every_counter_starts_at_0_and_an_older_record_decodes() -> None:
    # `stats.py:61`-`:99` (a default other than 0, or the field dropped): the core builds
    # `Counters` with every field; a record written before a counter existed decodes to 0
    names = [
        *("submitted", "admitted", "rejected", "deflected", "withdrawn", "abandoned"),
        *("offers", "declined", "expired", "assigned", "completed", "decisions", "blocked"),
        *("shed", "overflowed", "callbacks", "callback_attempts_failed", "surges"),
        *("tasks_expired", "updated", "transferred", "handed_back", "agents_updated"),
        *("closed", "interruptions", "presence_timeouts"),
    ]
    assert msgspec.structs.asdict(Counters()) == dict.fromkeys(names, 0)
    assert msgspec.convert({}, Counters) == Counters()


FIGURES = dict.fromkeys(
    ("offered", "answered", "abandoned", "rejected", "deflected", "answered_in_target"), 0
)


def test_the_statistics_structs_defaults() -> None:
    # `stats.py:136`-`:190`: what a figure added later reads as in an older record
    w = msgspec.convert(
        {**FIGURES, "handled": 0, "service_level": None, "abandon_rate": None}
        | {"asa_s": None, "aht_s": None},
        WindowFigures,
    )
    assert w.expired == 0
    q = msgspec.convert({"waiting": 0, "expected_wait_s": 0.0}, QueueStatistics)
    assert (q.longest_wait_s, q.eligible_agents, q.available_agents, q.totals) == (0.0, 0, 0, None)
    assert (q.waiting_by_priority, q.expected_wait_by_priority_s, q.windows) == ({}, {}, {})
    assert (q.wait_histogram, q.wait_sum_s) == ([], 0.0)
    required = ("agents_logged_in", "agents_ready", "agents_with_room", "waiting", "offered")
    s = msgspec.convert(
        {"now": 1.0, "version": 1, "in_service": 0, "wrap_up": 0, "queues": {}}
        | dict.fromkeys(required, 0)
        | {"counters": {}},
        RouterStatistics,
    )
    assert (s.surge, s.parked, s.agents_by_state, s.reset_at) == (False, 0, {}, 0.0)


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(3600, "1h"), (7200, "2h"), (300, "5m"), (60, "1m"), (90, "90s"), (45, "45s"), (0.5, "0.5s")],
)
def test_a_windows_label(seconds: float, label: str) -> None:
    # `stats.py:105`-`:109`
    assert window_label(seconds) == label


# ---------------------------------------------------------------------- reload.py

V1 = b'[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n'
V2 = V1 + b'[[queues]]\nname = "b"\n'


class InMemory(ConfigWatcher[RouterConfig]):
    """A watcher over a file the test holds: each poll finds ``stat`` (``None``: the file is
    gone) and ``data`` (``None``: it cannot be read); ``reads`` counts the reads."""

    def __init__(self, clock: float = 1e12) -> None:
        super().__init__("mem.toml", clock=lambda: clock)  # 1e12: no read is racy
        self.stat: tuple[int, int, int] | None = (1, 1, len(V1))
        self.data: bytes | None = V1
        self.reads = 0
        self.load()

    def put(self, data: bytes | None, mtime: int, ino: int = 1) -> None:
        self.stat = (ino, mtime, len(data or b""))
        self.data = data

    def _stat_now(self) -> tuple[int, int, int]:
        if self.stat is None:
            raise ConfigError(["$: cannot read mem.toml: gone"])
        return self.stat

    def _read(self) -> bytes:
        self.reads += 1
        if self.data is None:
            raise ConfigError(["$: cannot read mem.toml: unreadable"])
        return self.data


def queues(polled: list[RouterConfig | None]) -> list[list[str] | None]:
    return [None if c is None else c.queue_names() for c in polled]


def test_a_new_watcher_has_no_problems() -> None:
    # `reload.py:76`, `:77` (line numbers: `e54e7b8`, before the fix below)
    w: ConfigWatcher[RouterConfig] = ConfigWatcher("nowhere.toml")
    assert (w.config, w.problems, w.loads, w.rejections) == (None, [], 0, 0)


@pytest.mark.parametrize("gap", ["gone", "unreadable", "the version in force"])
def test_new_bytes_seen_once_then_lost_must_be_seen_twice_again(gap: str) -> None:
    # `reload.py:108` (gone), `:121` (unreadable), `:130` (the version in force back): V2
    # seen once is forgotten when the file is lost between two polls; back, with the
    # same bytes and stat, it is applied on the second poll again, not at once
    w = InMemory()
    w.put(V2, 2)
    polled = [w.poll()]
    if gap == "gone":
        w.stat = None
    else:
        w.put(None if gap == "unreadable" else V1, 3)
    polled.append(w.poll())
    w.put(V2, 2)
    polled += [w.poll(), w.poll()]
    assert queues(polled) == [None, None, None, ["a", "b"]]


def test_a_file_back_after_it_vanished_is_no_atomic_replacement() -> None:
    # `reload.py:111`: gone, the file's stat is forgotten: back with another inode, V2 is
    # seen twice before it applies (only a rename over the file known is complete at once)
    w = InMemory()
    w.stat = None
    assert w.poll() is None
    w.put(V2, 3, ino=2)
    assert queues([w.poll(), w.poll()]) == [None, ["a", "b"]]


def test_each_time_the_file_vanishes_is_reported() -> None:
    # `reload.py:114`: once back, a file that vanishes again is reported again
    w = InMemory()
    for _ in range(2):
        w.stat = None
        assert [w.poll(), w.poll()] == [None, None]
        w.put(V1, 1)
        assert w.poll() is None
    assert (w.rejections, w.loads) == (2, 1)


def test_a_poll_after_an_ignored_rewrite_or_a_new_version_costs_one_stat() -> None:
    # `reload.py:127`: the same bytes with a new mtime are read once; the stat is kept,
    # so the next polls read nothing; `:135`: nor after a version is applied
    w = InMemory()
    w.put(V1, 2)
    assert [w.poll(), w.poll(), w.poll()] == [None, None, None]
    assert (w.reads, w.loads) == (2, 1)  # load() and the first poll
    w.put(V2, 3)
    assert queues([w.poll(), w.poll(), w.poll(), w.poll()]) == [None, ["a", "b"], None, None]
    assert (w.reads, w.loads) == (4, 2)


def test_the_same_bytes_replaced_atomically_are_not_applied_again() -> None:
    # `reload.py:131` (the `return` after the version in force is found again)
    w = InMemory()
    w.put(V1, 2, ino=2)
    assert w.poll() is None
    assert w.loads == 1


def test_a_refused_version_is_reported_once_even_with_a_new_mtime() -> None:
    # `reload.py:136`: the refused bytes' digest is kept, so the same bytes saved again
    # are not validated and reported again
    w = InMemory()
    bad = V1 + b"[routing.x]\n"
    w.put(bad, 2)
    assert [w.poll(), w.poll()] == [None, None]
    w.put(bad, 3)
    assert [w.poll(), w.poll()] == [None, None]
    assert w.rejections == 1 and w.config is not None and w.config.queue_names() == ["a"]


def test_an_unreadable_file_after_a_good_one_is_reported_once() -> None:
    # `reload.py:120`: the stat of the unreadable file is kept: the next polls read nothing
    # (and the fix's `again`: a new stat is a new version)
    w = InMemory()
    w.put(None, 2)
    assert [w.poll(), w.poll(), w.poll()] == [None, None, None]
    assert (w.rejections, w.reads) == (1, 2)
    assert w.problems == ["$: cannot read mem.toml: unreadable"]
    w.put(None, 3)  # saved again, still unreadable: a new version, reported
    assert [w.poll(), w.poll()] == [None, None]
    assert (w.rejections, w.reads) == (2, 3)


def test_a_racy_read_of_the_version_in_force_is_read_again() -> None:
    # `reload.py:126` (racy from the mtime, not the inode): at 100 s the same bytes are
    # saved (mtime 100 s: racy), then other bytes of the same size in the same tick: the
    # stat is the same, but the read was racy, so the next poll reads again
    w = InMemory(clock=100.0)
    w.put(V1, 100_000_000_000)
    assert w.poll() is None
    w.put(V1.replace(b'"a"', b'"c"'), 100_000_000_000)
    assert queues([w.poll(), w.poll()]) == [None, ["c"]]


def test_an_unreadable_file_is_polled_again_and_applied_once_readable(tmp_path: Path) -> None:
    # `reload.py:82`, `:122`: a watcher starts racy, so a file it never read is read on every poll
    # (without `_racy` the second poll fails); a directory where the file should be
    path = tmp_path / "r.toml"
    path.mkdir()
    reported: list[list[str]] = []
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(
        path, on_error=reported.append, clock=lambda: 1e12
    )
    assert [w.poll(), w.poll(), w.poll()] == [None, None, None]
    # reported once (the docstring's "once per distinct content"), not on every poll
    assert reported == [[f"$: cannot read {path}: Is a directory"]]
    assert (w.problems, w.rejections) == (reported[0], 1)
    path.rmdir()
    path.write_bytes(V1)
    c = w.poll() or w.poll()  # at once if the file has another inode than the directory had
    assert c is not None and c.queue_names() == ["a"]


def test_a_file_dropping_a_later_queue_with_work_waiting_is_refused() -> None:
    # `reload.py:179` (`continue` -> `break`: the queues after the first one kept go
    # unchecked): V2 in force (a, b); V1 drops b while 2 inquiries wait in it
    w = InMemory()
    w.put(V2, 2)
    assert queues([w.poll(), w.poll()]) == [None, ["a", "b"]]
    w.waiting = {"a": 1, "b": 2}.__getitem__
    w.put(V1, 3)
    assert [w.poll(), w.poll()] == [None, None]
    assert w.problems == [
        "$.queues: the new file drops queue 'b' while it holds 2 inquiries; keep it, or "
        "first give it on_remove = a queue the new file keeps"
    ]


# ---------------------------------------------------------------------- core.py: decline


#: A alone: under the default its refusal would end the round of one (the old rule pinned)
FOREVER = {"decline_memory": "forever"}


def declined_at_2(toml: str) -> tuple[Router, list[Any]]:
    """Agent A offered H1 at 1 (offers time out after 100 s) and declining it at 2; H2 at 3:
    the events at 3."""
    r = Router(config('[routing]\nmode = "offer"\noffer_timeout_s = 100\n' + toml, **FOREVER))
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="h1", queue="q"), 1)
    r.tick(1)
    r.decline("h1", 2)
    r.submit(Inquiry(id="h2", queue="q"), 3)
    return r, r.tick(3)


def test_a_declined_heavy_offer_leaves_the_heavy_streak_as_it_was() -> None:
    # `core.py:1729` (`heavy_streak -= 0`): one heavy inquiry in a row at most; H1 declined
    # does not count, so H2 (heavy too) is offered to A
    r, events = declined_at_2(
        '[wellbeing]\nmax_consecutive_heavy = 1\n[[queues]]\nname = "q"\nheavy = true\n'
    )
    assert [(e.inquiry_id, e.agent_id) for e in events if isinstance(e, Offered)] == [("h2", "a")]
    assert (r.counters.declined, r._agents["a"].tally.declined) == (1, 1)  # `:1703`, `:1704`


def test_a_decline_is_a_sign_of_life_for_the_presence_timeout() -> None:
    # `core.py:1702`: A is set away 30 s after the last thing its console sent, the decline
    # at 2 (not the login at 0; an offer made is not a sign of life)
    r, _ = declined_at_2('presence_timeout_s = 30\n[[queues]]\nname = "q"\n')
    assert [e for e in r.tick(31) if isinstance(e, AgentAway)] == []
    away = [(e.agent_id, e.reason) for e in r.tick(32) if isinstance(e, AgentAway)]
    assert away == [("a", "presence_timeout")]


def test_a_declined_light_offer_leaves_the_heavy_streak_as_it_was() -> None:
    # `core.py:1728` (`heavy or streak`): after one heavy inquiry served, a light one
    # offered and declined neither ends nor shortens the streak of heavy work
    r = Router(
        config(
            '[routing]\nmode = "offer"\noffer_timeout_s = 100\n[wellbeing]\n'
            'max_consecutive_heavy = 2\n[[queues]]\nname = "hq"\nheavy = true\n'
            '[[queues]]\nname = "lq"\n'
        )
    )
    r.login(AgentSpec(id="a"), 0)
    r.submit(Inquiry(id="h0", queue="hq"), 1)
    r.tick(1)
    r.accept("h0", 2)
    r.complete("h0", 3)
    r.submit(Inquiry(id="l1", queue="lq"), 4)
    assert [e.inquiry_id for e in r.tick(4) if isinstance(e, Offered)] == ["l1"]
    r.decline("l1", 5)
    assert r._agents["a"].heavy_streak == 1


@pytest.mark.parametrize("bad", ["", "x" * 1000])  # (an int: the compiled build's TypeError)
def test_a_decline_checks_its_ids_at_the_edge(bad: str) -> None:
    # `core.py:1696`, `:1698`: a malformed id is an `InvalidInput` naming the field, not a
    # lookup's `InvalidState`; the router stays usable
    r, _ = declined_at_2('[[queues]]\nname = "q"\n')
    with pytest.raises(InvalidInput) as e:
        r.decline(bad, 4)
    assert e.value.field == "inquiry_id"
    with pytest.raises(InvalidInput) as e:
        r.decline("h2", 4, agent_id=bad)
    assert e.value.field == "agent_id"
    r.decline("h2", 4, agent_id="a")
    assert r.counters.declined == 2


def test_an_expired_offer_counts_once_for_the_router_and_for_the_agent() -> None:
    # `core.py:1739`, `:1740` (`expired -= 1`): H2, offered to A at 3, expires at 103
    r, _ = declined_at_2('[[queues]]\nname = "q"\n')
    assert [e.inquiry_id for e in r.tick(103) if isinstance(e, OfferExpired)] == ["h2"]
    assert (r.counters.expired, r.agent_statistics("a").expired) == (1, 1)


def test_an_expired_heavy_offer_leaves_the_heavy_streak_as_it_was() -> None:
    # `core.py:1745` (`_undo_heavy` in `_expire_offer`): H2 (heavy), offered to A at 3,
    # expires at 103 unanswered: it does not count, so H3 (heavy) is offered to A
    r, _ = declined_at_2(
        '[wellbeing]\nmax_consecutive_heavy = 1\n[[queues]]\nname = "q"\nheavy = true\n'
    )
    r.tick(103)
    r.submit(Inquiry(id="h3", queue="q"), 104)
    assert [(e.inquiry_id, e.agent_id) for e in r.tick(104) if isinstance(e, Offered)] == [
        ("h3", "a")
    ]


def test_declining_what_was_not_offered_raises_and_changes_nothing() -> None:
    # `core.py:1712` (`_failed`: a caller's mistake leaves no trace, not even the time it
    # carried): an unknown inquiry, one not offered
    r, _ = declined_at_2('[[queues]]\nname = "q"\n')
    with pytest.raises(UnknownId):
        r.decline("nope", 10)
    with pytest.raises(InvalidState):
        r.decline("h1", 10)  # back in line, not offered
    assert (r.now, r.counters.declined) == (3.0, 1)
    r.tick(4)  # not "time went backwards"
