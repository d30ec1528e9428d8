"""Directed tests from the mutation sweep of last round's code (mutV53).

vec52 (the compiled agent heaps, ``vecheap.py``, the core's readers), freed52 (``_freed``
a list, ``Agent.freed``), sim52 (``no_answer_share``, ``no_answer_away_s``,
``console_back_s``, ``SimResult.away``), user52 (break reasons, ``expected_wait``'s
default, the YAML-bool hint, the max_queue warning, the monitor's channel,
``encode_input``), drain52 (``max_drain_share_by_team``) and the lead's commits, swept one
mutant a line without the randomized fuzz: each test pins one behaviour a mutant changed
without the nearest test files noticing; its comment names the mutants (``file:line`` at
``54e2779``, BENCHMARKS.md, mutV53). None is timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import router
from router import AgentSpec, Inquiry, QueueConfig, Router, RouterConfig
from router.config import config_warnings, decode_config
from router.events import CallbackScheduled, Offered, SurgeStarted
from router.sim import decode_scenario
from tests.sim_runs import example_text
from tests.test_sim_no_answers import PRESENCE, SILENT, run, scenario
from tests.test_surge import CONFIG as SURGE

#: one agent ("late") logs in at 100 s to a line already waiting: offered at once, its
#: offer rings out at 115 s (``no_answer_share = 1``), the core sets it away
#: (``max_no_answer = 1``), and its return falls at 125 s, the instant its console drops
TIE = """
[simulation]
duration_s = 400
warmup_s = 0
seed = 53
[routing]
mode = "offer"
offer_timeout_s = 15
max_no_answer = 1
[[queues]]
name = "q"
[[agents]]
name = "steady"
count = 1
capacity = { voice = 1 }
[[agents]]
name = "late"
count = 1
capacity = { voice = 1 }
shift_start_s = 100
no_answer_share = 1.0
no_answer_away_s = 10
console_drop_s = 125
[[arrivals]]
queue = "q"
rate_per_s = 0.1
handle_time = { dist = "exponential", mean_s = 1000 }
patience = { dist = "exponential", mean_s = 100000 }
"""


def test_a_return_at_the_instant_the_console_drops_waits_for_the_console() -> None:
    # sim/engine:1148 (``t >= a.drop_at`` made ``>``): a return falling at the very instant
    # the console goes silent was sent (set_ready at 125 s, then away again for the next
    # offer rung out); a silent console sends nothing from its drop on (as its heartbeats:
    # ``t < a.drop_at``), and without console_back_s it never comes back
    res, rep, events = run(decode_scenario(TIE))
    late = [e for e in events if getattr(e, "agent_id", "").startswith("late")]
    kinds = [(type(e).__name__, e.at) for e in late]
    assert kinds == [
        ("AgentLoggedIn", 100.0),
        ("Offered", 100.0),
        ("OfferExpired", 115.0),
        ("AgentAway", 115.0),
    ]
    assert rep["away_for_no_answers"] == 1 and rep["ready_after_no_answers"] == 0
    assert res.away["max_no_answer"] == [1, 0]


def test_a_groups_own_share_of_none_draws_nothing() -> None:
    # sim/engine:1266 (``share > 0`` made ``>= 0``): a group whose own no_answer_share is 0
    # drew from the groups' own stream at each of its offers (never ringing out), so the
    # draws of the groups with a share moved: the run is the one without its setting
    drifting = "no_answer_share = 0.5"
    _, _, with_zero = run(scenario(steady="no_answer_share = 0.0", drifting=drifting))
    _, _, without = run(scenario(drifting=drifting))
    assert any(type(e).__name__ == "OfferExpired" for e in without)
    assert with_zero == without


#: a random-mode queue with tracing: each explanation's ``draw`` is the agent's live key
RANDOM_TRACED = """
[routing]
trace = true
[[queues]]
name = "d"
distribution = "random"
preferred_wait_s = 60
"""


def test_an_offer_to_a_preferred_agent_explains_its_live_draw() -> None:
    # core:4336 (``if key is None`` made ``is not None`` in ``_explain_mode``): an
    # explanation made without the key (``_seek_preferred``'s, the preferred agent still
    # listed) read no live entry and told a draw of 0.0; it is the agent's listing's
    r = Router(decode_config(RANDOM_TRACED))
    for a in ("a1", "a2", "a3"):
        r.login(AgentSpec(id=a, capacity={"voice": 1}), 0.0)
    r.tick(0.0)
    r.submit(Inquiry(id="i1", queue="d"), 1.0)
    (first,) = [e for e in r.tick(1.0) if isinstance(e, Offered)]
    free = sorted({"a1", "a2", "a3"} - {first.agent_id})[0]
    r.submit(Inquiry(id="i2", queue="d", preferred_agents=[free]), 2.0)
    (offer,) = [e for e in r.tick(2.0) if isinstance(e, Offered)]
    assert offer.agent_id == free and offer.explanation is not None
    assert offer.explanation.preferred
    chosen = offer.explanation.chosen
    assert chosen.features["draw"] > 0.0 and chosen.score == -chosen.features["draw"]


@pytest.mark.parametrize(
    ("drain", "missing"),
    [
        (
            "",
            "drain_for_break (and its break_window_s, max_break_share, "
            "max_continuous_work_s): no agent drains",
        ),
        ("drain_for_break = true\n", "max_drain_share (a drain holds a break place)"),
    ],
)
def test_a_team_drain_map_that_does_nothing_is_one_warning(drain: str, missing: str) -> None:
    # config/warnings:158 (``drains = {}`` dropped, d06c577): a team drain map that does
    # nothing (no drains, or no max_drain_share) was warned as such and then once more per
    # name matching no agent group; one warning, as the break map's (mutV52's warnings:144)
    text = example_text("mafengwo_refund_flood.toml")
    assert "break_window_s = 7200" in text and "\ndrain_for_break" not in text
    text = text.replace(
        "break_window_s = 7200",
        f'break_window_s = 7200\n{drain}max_drain_share_by_team = {{ "nobody" = 0.3 }}',
        1,
    )
    warnings = [w for w in config_warnings(decode_scenario(text)) if "drain" in w]
    assert warnings == [f"$.wellbeing.max_drain_share_by_team: does nothing without {missing}"]


#: one agent, scored on its recent work: its entry leaves the 60 s window a minute after
RECENT = """
[routing]
recent_window_s = 60
[routing.weights]
recent_work = 1.0
[[queues]]
name = "q"
distribution = "scored"
"""


def test_an_agent_relisted_as_its_recent_work_leaves_the_window_is_counted_free_once() -> None:
    # core:2801 (``_relist_changed``'s ``unlist`` dropped): the agent whose recent-work
    # entry left the window (the timer fired by the next input's clock) stayed listed and
    # was freed too, so an arrival's estimate counted it twice (``Pool.n_listed`` and
    # ``_freed_fit``): the second caller of the instant was told 0 s, though one agent can
    # take one of the two
    r = Router(decode_config(RECENT))
    r.login(AgentSpec(id="x", capacity={"voice": 1}), 0.0)
    r.submit(Inquiry(id="c0", queue="q"), 1.0)
    r.tick(1.0)
    r.accept("c0", 2.0)
    r.complete("c0", 10.0)
    r.tick(10.0)  # x idle and listed, its recent work in the window
    first = r.submit(Inquiry(id="c1", queue="q"), 100.0)  # the window's timer fires first
    second = r.submit(Inquiry(id="c2", queue="q"), 100.0)
    assert first.position == 1 and first.expected_wait_s == 0.0
    assert second.position == 2 and second.expected_wait_s > 0.0


#: a chat queue offering each inquiry to two agents at once
TWO_OFFERS = """
[[queues]]
name = "q"
channel = "chat"
max_offers = 2
"""


def test_the_winner_of_an_offer_with_room_left_is_counted_free_once() -> None:
    # core:4469 (the winner's ``unlist`` dropped at its accept): the winner, listed with
    # room left (two chats), stayed listed with its old key and was freed too: the next
    # two callers of the instant were both told 0 s (counted twice, as core:2801)
    r = Router(decode_config(TWO_OFFERS))
    r.login(AgentSpec(id="x", capacity={"chat": 2}), 0.0)
    r.submit(Inquiry(id="c0", queue="q"), 1.0)
    r.tick(1.0)
    r.accept("c0", 2.0)
    first = r.submit(Inquiry(id="c1", queue="q"), 2.0)
    second = r.submit(Inquiry(id="c2", queue="q"), 2.0)
    assert first.position == 1 and first.expected_wait_s == 0.0
    assert second.position == 2 and second.expected_wait_s > 0.0


def test_an_updated_agent_is_counted_free_once() -> None:
    # core:4705 (``_relist``'s ``unlist`` dropped): an agent updated while listed stayed
    # listed in its pools and was freed for the next pass too: counted twice (core:2801)
    r = Router(RouterConfig(queues=[QueueConfig(name="q")]))
    r.login(AgentSpec(id="x", capacity={"voice": 1}), 0.0)
    r.tick(0.0)
    r.update_agent(AgentSpec(id="x", capacity={"voice": 1}, wrap_up_s=5.0), 1.0)
    first = r.submit(Inquiry(id="c1", queue="q"), 1.0)
    second = r.submit(Inquiry(id="c2", queue="q"), 1.0)
    assert first.position == 1 and first.expected_wait_s == 0.0
    assert second.position == 2 and second.expected_wait_s > 0.0


#: ``import router`` with another of its dependencies missing (``msgspec`` hidden)
NO_MSGSPEC = """
import sys
sys.modules["msgspec"] = None
try:
    import router
except ImportError as exc:
    print(type(exc).__name__, getattr(exc, "name", None), str(exc).splitlines()[0])
"""


def test_another_missing_dependency_is_named_as_itself_not_as_librt() -> None:
    # router/__init__:14 (the ``raise`` of a ModuleNotFoundError not about librt dropped):
    # any missing module then read as the compiled build's librt; only librt's own absence
    # is (test_compiled), another module's error is Python's own
    # (the build under test: its tree's router, as test_compiled's librt test)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_ROUTER")}
    env["PYTHONPATH"] = str(Path(router.__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, "-c", NO_MSGSPEC], capture_output=True, env=env, cwd="/", timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert out.startswith("ModuleNotFoundError msgspec "), out
    assert "librt" not in out


def test_agents_away_for_a_presence_timeout_for_good_are_reported_away() -> None:
    # sim/report:236 (``away_for_presence`` read from the returns' column): the nearest
    # test's runs had every agent back (4 and 4) or read only the events; with no
    # console_back_s the four timed-out agents are away and none is ready again
    res, rep, _ = run(scenario(routing=PRESENCE, drifting=SILENT))
    assert res.away["presence_timeout"] == [4, 0]
    assert rep["away_for_presence"] == rep["presence"]["timeouts"] == 4
    assert rep["ready_after_presence"] == 0


#: a random-mode queue: who gets the next inquiry is the agents' draws
RANDOM = """
[[queues]]
name = "d"
distribution = "random"
"""


def test_a_snapshot_of_a_random_queue_keeps_its_listed_draws() -> None:
    # core:4318 (``_listed_keys`` returning nothing, lead's 4a5094a: the snapshot's draws
    # read through the one heap reader): the nearest snapshot tests had no random-mode
    # pool, the snapshot of one then failed; restored, the same agents get the same work
    r = Router(decode_config(RANDOM))
    for n in range(6):
        r.login(AgentSpec(id=f"a{n}", capacity={"voice": 1}), 0.0)
    r.submit(Inquiry(id="first", queue="d"), 0.0)  # the pool is made: its agents listed
    r.tick(0.0)
    pool = next(iter(r._pools.values()))
    assert len(r._listed_keys(pool)) == 5  # (each drawn its place)
    back = Router.restore(r.snapshot())
    for k in range(4):
        for router_ in (r, back):
            router_.submit(Inquiry(id=f"c{k}", queue="d"), 1.0 + k)
        assert r.tick(1.0 + k) == back.tick(1.0 + k)
    assert len({r.agent_of(f"c{k}") for k in range(4)} - {None}) == 4


def test_agents_relisted_at_a_surge_fired_by_an_inputs_clock_are_counted_free_once() -> None:
    # core:5697 (``set_surge``'s ``unlist`` dropped): the surge that starts at 11 s (five
    # callers in "flood" for enter_after_s) fires with the next input's clock; every agent
    # is relisted under the surge's caps, and a ready one stayed listed and was freed too:
    # the second caller of that instant was told 0 s and offered no callback
    r = Router(decode_config(SURGE.format(enter_after=10)))
    r.login(AgentSpec(id="x", capacity={"voice": 1}), 0.0)
    r.tick(0.0)
    for n in range(5):
        r.submit(Inquiry(id=f"f{n}", queue="flood"), 1.0)
    r.tick(1.0)
    assert r.next_deadline() == 11.0
    first = r.submit(Inquiry(id="c1", queue="line"), 20.0)
    second = r.submit(Inquiry(id="c2", queue="line"), 20.0)
    assert first.position == 1 and first.expected_wait_s == 0.0
    assert second.position == 2 and second.expected_wait_s > 0.0
    events = r.tick(20.0)
    assert any(isinstance(e, SurgeStarted) for e in events)
    assert [e.inquiry_id for e in events if isinstance(e, CallbackScheduled)] == ["c2"]
