"""Directed tests from the mutation sweep of config warnings, policies, reload and events (mutT50).

The lines no sweep had covered (mutS49's "Not swept" list): ``router/config/warnings.py``,
the round/drain/window fields of ``router/config/schema.py``, left48's ``places_held`` in
``router/policies/admission.py``/``control.py``, ``router/reload.py``,
``router/dashboard/replay.py`` and ``router/events.py`` (drawn and sampled as BENCHMARKS.md,
mutT50, says): each test pins one promise a mutant broke without the test files noticing;
its comment names the mutants (``file:line`` at ``659b705``). None is timed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import math
import os
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import Inquiry, Router, RouterConfig, decode_config
from router import events as E
from router.config import config_warnings
from router.errors import ConfigError
from router.events import Event, Explanation, FeatureScore, Overflowed
from router.reload import ConfigWatcher
from tests.helpers import BREAK_SHARE, config
from tests.test_config_warnings import queue_orders, warned, wellbeing
from tests.test_mutation_sweep_n44 import (
    test_the_module_exports_every_public_name_it_defines as exports_every_public_name,
)

# ---------------------------------------------------------------- config warnings


def test_overtime_below_a_second_without_shift_suspended_is_warned() -> None:
    # warnings:79 (`max_overtime_s > 1`): half a second of overtime does nothing either
    assert warned(wellbeing("max_overtime_s = 0.5")) == [
        "$.wellbeing.max_overtime_s: 0.5 does nothing unless suspend_in_surge names "
        '"shift" (overtime exists only then, in a surge)'
    ]


def test_callback_table_beside_a_queue_with_hours_that_rejects_when_closed_is_warned() -> None:
    # warnings:133 (`q.closed == "callback" or q.hours`): hours alone do not make the
    # callback table serve anything; only a queue closed with "callback" does
    hours = queue_orders('hours = [{ open = "00:00", close = "00:30" }]')
    table = "\n[backpressure.callback]\nmin_wait_s = 30\n"
    assert warned(hours + table) == [
        "$.backpressure.callback: set, but 'callback' is not in $.backpressure.policy "
        "(admit_all); its settings do nothing"
    ]


# ---------------------------------------------------------------- the schema's window


def test_a_window_of_zero_is_accepted_as_off() -> None:
    # schema:233 (`PositiveSeconds`): docs/tuning.md says the window is "off when absent
    # or 0"; a 0 must be accepted (and is not warned: it is the documented off switch)
    cfg = config(
        BREAK_SHARE.replace(
            "max_break_share = 0.5\n", "max_break_share = 0.5\nbreak_window_s = 0\n"
        )
    )
    assert cfg.wellbeing.break_window_s == 0
    assert config_warnings(cfg) == []


@pytest.mark.parametrize("value", ["1", "0", "1.0"])
def test_a_drain_switch_that_is_a_number_is_refused_naming_the_field(value: str) -> None:
    # schema:237 (`bool | int`): the switch is true or false; a number is a bad value
    toml = BREAK_SHARE.replace(
        "max_break_share = 0.5\n",
        f"max_break_share = 0.5\nbreak_window_s = 40\ndrain_for_break = {value}\n",
    )
    with pytest.raises(ConfigError, match=r"\$\.wellbeing\.drain_for_break"):
        config(toml)


# ---------------------------------------------------------------- exports


@pytest.mark.parametrize("name", ["router.config.warnings", "router.dashboard.replay"])
def test_the_swept_modules_export_every_public_name_they_define(name: str) -> None:
    # warnings:28 (`__all__` dropped); the n44 check, on two modules its list lacks
    exports_every_public_name(name)


# ---------------------------------------------------------------- places held


#: q overflows to second after 30 s; second holds at most one place
SECOND_FULL = """
[routing]
mode = "immediate"
[[queues]]
name = "q"
[[queues]]
name = "second"
max_queue = 1
[backpressure]
policy = "overflow"
[backpressure.overflow.queues.q]
to = "second"
after_s = 30
"""


def test_a_wait_overflow_never_fills_the_second_queue_past_its_max_queue() -> None:
    # admission:438 (`places_held(rule.to) > limit`): with second holding its one place,
    # the inquiry waiting in q past after_s stays in q
    r = Router(decode_config(SECOND_FULL))
    r.submit(Inquiry(id="s1", queue="second"), 0)
    r.submit(Inquiry(id="q1", queue="q"), 0)
    r.tick(0)
    assert not [e for e in r.tick(30) if isinstance(e, Overflowed)]
    assert (r.queue_length("q"), r.queue_length("second")) == (1, 1)
    # a free place there: the next inquiry to wait its 30 s moves
    r.withdraw("s1", 31)
    r.submit(Inquiry(id="q2", queue="q"), 31)
    moved = [e.inquiry_id for e in r.tick(61) if isinstance(e, Overflowed)]
    assert moved == ["q2"]


def test_has_room_is_false_while_a_queue_holds_its_own_max_queue() -> None:
    # control:238 (`places_held(queue) > limit` in has_room): the queue's own bound, no
    # router-wide one; `block` refuses the third and has_room must say so until one leaves
    toml = SECOND_FULL.replace('policy = "overflow"', 'policy = "block"').replace(
        'name = "q"\n', 'name = "q"\nmax_queue = 2\n'
    )
    r = Router(decode_config(toml))
    assert [r.submit(Inquiry(id=i, queue="q"), 0).outcome for i in "123"] == [
        "admitted",
        "admitted",
        "blocked",
    ]
    assert r.has_room("q") is False
    assert r.has_room("second") is True
    r.withdraw("1", 1)
    assert r.has_room("q") is True


# ---------------------------------------------------------------- the reload watcher


def test_a_watcher_that_never_loaded_starts_empty_and_takes_the_file_on_its_second_poll(
    tmp_path: Path,
) -> None:
    # reload:87 (`problems` not set in __init__), reload:91 (`_stat` not set): a watcher
    # polled without load() (the file may come later); its public state before any
    # version: no config, no problems, no warnings
    path = tmp_path / "router.toml"
    path.write_text('[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n')
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(path, clock=lambda: 1e12)
    assert (w.config, w.problems, w.warnings, w.loads, w.rejections) == (None, [], [], 0, 0)
    assert w.poll() is None  # new bytes, seen once: maybe still being written
    cfg = w.poll()
    assert cfg is not None and cfg.queue_names() == ["a"]
    assert (w.config, w.problems, w.loads) == (cfg, [], 1)


V1 = '[routing]\nmode = "immediate"\n[[queues]]\nname = "a"\n'


def watcher(path: Path, clock: float = 1e12) -> tuple[ConfigWatcher[RouterConfig], list[list[str]]]:
    errors: list[list[str]] = []
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(
        path, on_error=errors.append, clock=lambda: clock
    )
    w.load()
    return w, errors


def test_an_unreadable_file_is_reported_at_once_and_once(tmp_path: Path) -> None:
    # reload:136 (`if again`: the first failure not reported), :138 (its `return None`
    # dropped: poll raises), :134 (its stat not kept: reported at every poll)
    path = tmp_path / "router.toml"
    path.write_text(V1)
    w, errors = watcher(path)
    path.rename(tmp_path / "old.toml")
    path.mkdir()  # stat works, read fails
    assert w.poll() is None
    assert len(errors) == 1 and errors[0][0].startswith(f"$: cannot read {path}")
    assert w.poll() is None and w.poll() is None
    assert len(errors) == 1 and w.rejections == 1
    assert w.config is not None and w.config.queue_names() == ["a"]


def test_a_file_back_after_vanishing_waits_for_a_stable_file(tmp_path: Path) -> None:
    # reload:122 (the stat of the vanished file kept): a new file where one vanished is
    # not a rename over the file we knew; it may be half written, so it waits a poll
    path = tmp_path / "router.toml"
    path.write_text(V1)
    w, errors = watcher(path)
    path.rename(tmp_path / "old.toml")  # the old inode stays in use: the new file's differs
    assert w.poll() is None and len(errors) == 1
    path.write_text(V1.replace('"a"', '"b"'))
    assert w.poll() is None  # seen once
    cfg = w.poll()
    assert cfg is not None and cfg.queue_names() == ["b"]


def test_a_file_touched_exactly_racy_s_ago_is_read_again(tmp_path: Path) -> None:
    # reload:141 (`>` for `>=`): a file whose mtime is exactly racy_s before the read is
    # racy: a same-size rewrite in the same mtime tick must still be caught
    path = tmp_path / "router.toml"
    path.write_text(V1)
    ns = 10**18  # 1e9 s: exact as a float, as is 1e9 + 2 - 2
    os.utime(path, ns=(ns - 10**10, ns - 10**10))
    w, errors = watcher(path, clock=1e9 + 2.0)
    os.utime(path, ns=(ns, ns))  # touched: same bytes, mtime exactly racy_s (2 s) ago
    assert w.poll() is None  # read, the bytes in force: nothing to do, but racy
    path.write_text(V1.replace('"a"', '"b"'))  # same size, the same mtime tick
    os.utime(path, ns=(ns, ns))
    assert w.poll() is None  # new bytes seen once
    cfg = w.poll()
    assert cfg is not None and cfg.queue_names() == ["b"] and errors == []


def test_a_refused_file_touched_again_is_not_reported_again(tmp_path: Path) -> None:
    # reload:151 (the refused bytes' digest not kept): once per distinct content, even
    # when an editor saves the same bad bytes again (a new mtime)
    path = tmp_path / "router.toml"
    path.write_text(V1)
    w, errors = watcher(path)
    bad = V1.replace('mode = "immediate"', 'mode = "sometimes"')
    path.write_text(bad)
    os.utime(path, ns=(10**18, 10**18))
    assert w.poll() is None and w.poll() is None
    assert len(errors) == 1 and "$.routing.mode" in errors[0][0]
    for k in (1, 2):
        os.utime(path, ns=(10**18 + k * 10**9, 10**18 + k * 10**9))  # saved again, same bytes
        assert w.poll() is None and w.poll() is None
    assert len(errors) == 1 and w.rejections == 1
    assert w.config is not None and w.config.routing.mode == "immediate"


def test_a_file_dropping_a_queue_that_holds_one_inquiry_is_refused(tmp_path: Path) -> None:
    # reload:200 (`held.total > 1`): one inquiry waiting is work the file would drop
    path = tmp_path / "router.toml"
    two = V1 + '[[queues]]\nname = "b"\n'
    path.write_text(two)
    routers: list[Router] = []
    errors: list[list[str]] = []
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(
        path,
        on_change=lambda cfg: routers[0].reconfigure(cfg, 0),
        on_error=errors.append,
        waiting=lambda q: routers[0].queue_holdings(q),
        clock=lambda: 1e12,
    )
    routers.append(Router(w.load()))
    routers[0].submit(Inquiry(id="b1", queue="b"), 0)
    path.write_text(V1)
    os.utime(path, ns=(10**18, 10**18))
    assert w.poll() is None and w.poll() is None
    assert errors == [
        [
            "$.queues: the new file drops queue 'b' while it holds 1 waiting; keep it, "
            "or first give it on_remove = a queue the new file keeps"
        ]
    ]
    assert routers[0].config.queue_names() == ["a", "b"]


# ---------------------------------------------------------------- the dashboard's replay

#: a short day: one queue, three agents
DAY = """
[simulation]
duration_s = 600
[[queues]]
name = "q"
[[agents]]
count = 3
[[arrivals]]
queue = "q"
rate_per_s = 0.05
handle_time = { dist = "exponential", mean_s = 60 }
"""


def replay_source() -> Any:
    pytest.importorskip("aiohttp", reason="pip install 'inquiry-router[dashboard]'")
    from router.dashboard.replay import ReplaySource
    from router.sim import decode_scenario

    return ReplaySource, decode_scenario(DAY.encode())


@pytest.mark.parametrize("speed", [0.0, -1.0, math.nan, math.inf])
def test_a_replay_speed_that_is_not_a_positive_number_is_refused(speed: float) -> None:
    # replay:64 (the ValueError dropped): the CLI's --speed reaches it as given
    source, sc = replay_source()
    with pytest.raises(ValueError, match=r"^speed: must be a positive number, got "):
        source(sc, speed=speed)


def test_a_replay_runs_the_scenario_at_its_own_load_by_default() -> None:
    # replay:57 (`load: float = 2.0`): the scenario's arrivals as written
    source, sc = replay_source()
    assert source(sc).run.sim.load == 1.0
    assert source(sc, load=1.5).run.sim.load == 1.5


def test_a_config_the_router_refuses_in_a_replay_is_handed_back_as_its_error() -> None:
    # replay:37 (the ConfigError import dropped: the `except` clause itself fails, the
    # replay's thread dies and the upload waits forever): the router's refusal comes back
    # to the uploader and the replay goes on with the config in force
    source, sc = replay_source()
    from router.sim.scenario import router_config

    replay = source(sc, speed=20.0, push_s=0.05)  # 30 s of wall time: still running
    cfg = router_config(sc)
    clock = msgspec.structs.replace(cfg.routing.clock, unix=not cfg.routing.clock.unix)
    unix = msgspec.structs.replace(cfg, routing=msgspec.structs.replace(cfg.routing, clock=clock))
    source(sc).stop()  # replay:114 (`is None`): stopping one never started does nothing
    replay.start()
    # replay:108 (`daemon=False`): a replay's thread never keeps the process alive
    assert replay._thread is not None and replay._thread.daemon
    try:
        with pytest.raises(ConfigError, match=r"\$\.routing\.clock\.unix: cannot change"):
            asyncio.run(asyncio.wait_for(replay.apply(unix), timeout=30))
        assert asyncio.run(asyncio.wait_for(replay.apply(cfg), timeout=30)) == 2
    finally:
        replay.stop()
    # stop() waits for the thread (replay:114 again): done, the last state published
    assert replay.done and not replay._thread.is_alive()
    assert replay.error is None


def test_an_upload_still_queued_when_the_replay_ends_is_refused_not_left_waiting() -> None:
    # replay:258 (`while False` in _refuse_pending): an upload queued as the replay ends
    # (apply() raced the end) gets an answer; the replay's thread run here, stopped at once
    source, sc = replay_source()
    from router.dashboard.server import Applied
    from router.sim.scenario import router_config

    replay = source(sc, speed=1e6)
    fut: concurrent.futures.Future[int] = concurrent.futures.Future()
    replay._pending.put((router_config(sc), fut))
    replay._stop.set()  # the hook stops the run at its first event, before any pacing
    replay._main()
    assert replay.done and replay.error is None
    exc = fut.exception(timeout=0)
    assert isinstance(exc, Applied)
    assert exc.problems == ["the replay has ended; start it again to try another config"]


# ---------------------------------------------------------------- events


@pytest.mark.parametrize("cls", typing.get_args(Event), ids=lambda c: c.__name__)
def test_every_event_is_a_frozen_gc_free_struct_tagged_with_its_name(cls: Any) -> None:
    # events:99 and the other `frozen=False` (and `gc=`, `tag=`) mutants: the module's
    # promise (frozen, GC-free, tagged with the class name, defaults omitted on the wire)
    c = cls.__struct_config__
    assert (c.frozen, c.gc, c.tag, c.tag_field, c.omit_defaults) == (
        True,
        False,
        cls.__name__,
        "type",
        True,
    )


@pytest.mark.parametrize("cls", [FeatureScore, Explanation])
def test_the_explanation_parts_are_frozen_gc_free_structs(cls: Any) -> None:
    c = cls.__struct_config__
    assert (c.frozen, c.gc, c.tag) == (True, False, None)


#: events whose fields no nearest test constructed, each as it goes on the wire
WIRE = [
    (
        E.Rejected(at=1.0, version=2, inquiry_id="i", queue="q", reason="queue_full: q holds 2"),
        {
            "type": "Rejected",
            "at": 1.0,
            "version": 2,
            "inquiry_id": "i",
            "queue": "q",
            "reason": "queue_full: q holds 2",
        },
    ),
    (
        E.Deflected(at=1.0, inquiry_id="i", queue="q", reason="expected_wait: 90 s"),
        {
            "type": "Deflected",
            "at": 1.0,
            "inquiry_id": "i",
            "queue": "q",
            "reason": "expected_wait: 90 s",
        },
    ),
    (
        E.Reconfigured(at=1.0, version=3, handed_over=0, rejected=0),
        {"type": "Reconfigured", "at": 1.0, "version": 3},
    ),
    (
        E.Reconfigured(at=1.0, version=3, handed_over=2, rejected=1),
        {"type": "Reconfigured", "at": 1.0, "version": 3, "handed_over": 2, "rejected": 1},
    ),
    (
        E.SurgeEnded(at=5.0, reason="waiting 2"),
        {"type": "SurgeEnded", "at": 5.0, "reason": "waiting 2"},
    ),
    (
        E.BreakDeferred(at=5.0, agent_id="a", due=4.0, reason="team t: 1 of 2 on a break"),
        {
            "type": "BreakDeferred",
            "at": 5.0,
            "agent_id": "a",
            "due": 4.0,
            "reason": "team t: 1 of 2 on a break",
        },
    ),
    (
        E.CooldownStarted(
            at=5.0, agent_id="a", inquiry_id="i", until=65.0, off="heavy", reason="r"
        ),
        {
            "type": "CooldownStarted",
            "at": 5.0,
            "agent_id": "a",
            "inquiry_id": "i",
            "until": 65.0,
            "off": "heavy",
            "reason": "r",
        },
    ),
    (
        E.TaskExpired(at=5.0, inquiry_id="i", queue="q", wait_s=5.0, reason="r"),
        {
            "type": "TaskExpired",
            "at": 5.0,
            "inquiry_id": "i",
            "queue": "q",
            "wait_s": 5.0,
            "reason": "r",
        },
    ),
    (
        E.AgentDraining(at=5.0, agent_id="a", due=9.0),
        {"type": "AgentDraining", "at": 5.0, "agent_id": "a", "due": 9.0},
    ),
    (E.QueueOpened(at=9.0, queue="q"), {"type": "QueueOpened", "at": 9.0, "queue": "q"}),
    (
        E.AgentAttributesSet(at=5.0, agent_id="a", pools=2),
        {"type": "AgentAttributesSet", "at": 5.0, "agent_id": "a", "pools": 2},
    ),
]


@pytest.mark.parametrize(("event", "wire"), WIRE, ids=[type(e).__name__ for e, _ in WIRE])
def test_an_event_goes_on_the_wire_with_every_field_and_comes_back_equal(
    event: Any, wire: dict[str, Any]
) -> None:
    # events:111, :117, :233, :249, :263, :272, :281, :289, :321 (a field dropped), :255
    # (`rejected` defaulting to 1: an omitted count read back as one rejection)
    assert json.loads(E.encode_events([event])) == [wire]
    assert E.decode_events(json.dumps([wire]).encode()) == [event]
