"""mutH38's sweep: the estimator, the config schema, the lazy heaps, the open survivors.

Each test here kills mutants a mutation sweep found alive, or pins a bug one showed
(BENCHMARKS.md, "Mutation sweep of lazyheap, estimate, schema and the open survivors
(mutH38)"). Behaviour only: inputs in, events, admissions, problems and snapshots out.
Deterministic, no timing.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import Struct

from router import ConfigError, Router
from router.cli.check import check_main
from router.config import RouterConfig, config_problems, convert_config, schema
from router.events import Assigned
from router.state.estimate import (
    WaitEstimator,
    digamma,
    inverse_digamma,
    wait_for_position,
    wait_through,
)
from tests.test_mutation_sweep_c34 import BASE, BOUNDS, _check, _problems, _with
from tests.test_mutation_sweep_g37 import _burst_then_silence

NAN, INF = float("nan"), float("inf")


def _spell_path(path: tuple[Any, ...]) -> str:
    """``("agents", 0, "queues", "q")`` as ``$.agents[0].queues.q``."""
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)


# --- the estimator -----------------------------------------------------------------------


def _gate_opens_at(estimate: str = "") -> list[tuple[str, float]]:
    """When the held task of g37's burst-then-silence starts (a look each second to 60 s)."""
    r: Router = _burst_then_silence(estimate)
    started = []
    for now in range(3, 61):
        started += [(e.inquiry_id, e.at) for e in r.tick(float(now)) if isinstance(e, Assigned)]
    return started


def test_the_configured_arrival_window_sets_how_fast_the_outbound_gate_forgets_a_burst() -> None:
    # a bug the survivor `estimate.py:242` (the estimator's own 600 s) showed: the
    # estimator never took `[backpressure.estimate].arrival_window_s`, so a 10 s window
    # held the task as long as the default. With 10 s the decayed count of the 20
    # arrivals is 0.31 at 42 s (0.96 erlangs of 30 s calls), well below the silence bound
    # (3 / 41 s: 2.2 erlangs), and the look at 42 s starts it; with 600 s the bound alone
    # does, at 52 s (the looks: every 10 s from 2 s)
    assert _gate_opens_at() == [("t", 52.0)]
    assert _gate_opens_at("arrival_window_s = 600\n") == [("t", 52.0)]
    assert _gate_opens_at("arrival_window_s = 10\n") == [("t", 42.0)]
    assert _gate_opens_at("arrival_window_s = 5\n") == [("t", 22.0)]


def test_rate_is_answers_per_second_measured_else_slots_over_the_handle_time() -> None:
    # `estimate.py:440` (`return None`): the rate before a backlogged gap is measured is
    # `max(slots, 1) / handle`, the prior handle time until one is measured
    est = WaitEstimator(alpha=0.5, prior_handle_s=200.0)
    assert (est.rate("q"), est.rate("q", 4.0), est.rate("q", 0.5)) == (1 / 200, 4 / 200, 1 / 200)
    est.on_complete("q", 50.0)
    assert (est.rate("q"), est.rate("q", 4.0)) == (1 / 50, 4 / 50)
    est.on_answer("q", 100.0, 95.0)  # waited 5 s: backlogged since 95
    est.on_answer("q", 104.0, 90.0)  # backlogged through: a gap of 4 s, the mean 4.5 s
    assert (est.rate("q"), est.rate("q", 4.0)) == (1 / 4.5, 1 / 4.5)


def test_abandonment_after_waits_under_a_second_shortens_the_expected_wait() -> None:
    # `estimate.py:482` (`r.waited > 1.0`): customers who abandon within a second still
    # make an abandonment hazard (0.5 abandoned over 0.25 s waited: 2 per second), and the
    # expected wait is the one with it (181 s), not position / rate (540 s)
    est = WaitEstimator(alpha=0.5)
    est.on_abandon("q", 0.5)
    assert est.theta("q") == 2.0
    w = est.expected_wait("q", 3)
    assert w == wait_for_position(3, 1 / 180.0, 2.0) and 180.0 < w < 181.0


def _fast_then_slow() -> tuple[WaitEstimator, float]:
    """30 answers a second apart, then 100 answers 30 s apart (always backlogged): the
    estimator and the time of the last answer."""
    est = WaitEstimator()
    t = 0.0
    for gap in [1.0] * 30 + [30.0] * 100:
        t += gap
        est.on_answer("q", t, 0.0)
    return est, t


def test_a_long_wait_is_predicted_from_the_recent_rate_not_the_whole_history() -> None:
    # `estimate.py:395` (`r.t_slow` not kept: the slow measurements never decay): 30
    # answers a second apart, then 100 answers 30 s apart (always backlogged). A wait
    # past 600 s reads the 600 s horizon: about 20.6 answers in 611 s lately, so 30
    # ahead wait 892 s; with the whole history (130 in 3030 s) it would be 699 s
    est, _ = _fast_then_slow()
    assert 29.8 < est.gap["q"] < 29.9  # the answers' mean gap: position 30 is past 600 s
    assert 891.0 < est.expected_wait("q", 30) < 892.0


def test_the_arrival_rate_counts_every_arrival_the_first_too_decayed() -> None:
    # `estimate.py:211` (`arr_n = -1.0` at first): the first arrival went uncounted.
    # Arrivals at 0, 10 and 20 s: at 20 s, each decayed by e^(-age / 600), over the 20 s
    # seen so far (as much of a 600 s window: 600 (1 - e^(-20/600)))
    est = WaitEstimator()
    assert est.arrival_rate("q", 0.0) == 0.0
    for at in (0.0, 10.0, 20.0):
        est.on_arrival("q", 0, at)
    n = math.exp(-20 / 600) + math.exp(-10 / 600) + 1.0
    assert est.arrival_rate("q", 20.0) == pytest.approx(n / (600 * -math.expm1(-20 / 600)))
    assert 0.149 < est.arrival_rate("q", 20.0) < 0.151


def test_a_change_of_staff_rescales_from_the_last_staff_nobody_in_between() -> None:
    # `estimate.py:347` (`staff <= -1.0`): a moment with nobody able to serve (0) is no
    # staffing to rescale from; the rates measured with 4 agents are rescaled for 8
    # (the gap halves), not kept as if measured with nobody
    est = WaitEstimator()
    est.on_answer("q", 10.0, 0.0)
    est.on_answer("q", 20.0, 0.0)
    assert est.gap["q"] == 10.0
    est.restaff("q", 4.0, 20.0)
    est.restaff("q", 0.0, 30.0)
    est.restaff("q", 8.0, 40.0)
    assert est.gap["q"] == 5.0


def test_later_arrivals_of_higher_priority_are_forecast_from_their_gaps() -> None:
    # `estimate.py:299` (`a.last` not kept): the gaps between arrivals of a priority are
    # measured from the one before (10 s here, not from time 0: 110 s, 120 s). The
    # customer at position 2 of priority 0 (360 s by the prior) is overtaken by one
    # priority-5 arrival per 10 s for 5 x 60 s: 30 more ahead, 32 x 180 s
    est = WaitEstimator()
    for at in (100.0, 110.0, 120.0):
        est.on_arrival("q", 5, at)
    for at in (100.0, 130.0):
        est.on_arrival("q", 0, at)
    assert est.rates["q"].arrival_gap == {5: 10.0, 0: 30.0}
    assert est.rates["q"].arrival_last == {5: 120.0, 0: 130.0}
    w = est.expected_wait("q", 2, priority=0, priority_seconds=60.0)
    assert w == pytest.approx(32 * 180.0)


def test_the_move_rate_decays_each_move_from_its_own_time() -> None:
    # `estimate.py:328` (`min(r.mv_t, now)`: the moves' clock stuck at 0, each decayed
    # again from time 0): moves out of the line at 100, 110 and 120 s count e^(-age / 600)
    # each at 120 s, over the 120 s seen since the first arrival
    est = WaitEstimator()
    est.on_arrival("q", 0, 0.0)
    for at in (100.0, 110.0, 120.0):
        est.on_moved("q", at, 5.0)
    n = math.exp(-20 / 600) + math.exp(-10 / 600) + 1.0
    assert est.move_rate("q", 120.0) == pytest.approx(n / (600 * -math.expm1(-120 / 600)))


def test_a_constant_rate_split_into_segments_gives_the_same_wait() -> None:
    # `estimate.py:125` (`theta < rate / 1e-9`: a segment that ends first moved the line
    # by its service alone, forgetting those ahead who give up): the same rate in two
    # segments is the wait of one, with abandonment as without (lines of 8 or more
    # throughout: shorter ones are summed directly, a slightly different curve)
    for n, theta in ((20.0, 0.01), (100.0, 0.02), (20.0, 0.0)):
        one = wait_for_position(n, 0.1, theta)
        assert one > 30.0
        assert wait_through(n, theta, [(30.0, 0.1), (math.inf, 0.1)]) == pytest.approx(one)


def test_a_change_of_staff_rescales_the_slow_measurements_too() -> None:
    # `estimate.py:362` (the slow horizons' backlogged time not rescaled): twice the
    # agents halve a long wait read from the 600 s horizon as they halve the gap: 60
    # ahead, 892 s (30 per 611 / 20.6 s ... halved), not 1,783 s
    est, t = _fast_then_slow()
    est.restaff("q", 4.0, t)
    est.restaff("q", 8.0, t)
    assert 14.9 < est.gap["q"] < 15.0  # 60 ahead: past 600 s by the gap as well
    assert 891.0 < est.expected_wait("q", 60) < 892.0


def test_before_any_measurement_the_line_moves_at_slots_over_the_prior_handle_time() -> None:
    # `estimate.py:490` (`min(slots, 1.0)`): four slots serve four at a time (180 s for
    # the 4th by the 180 s prior); fewer than one slot counts as one
    est = WaitEstimator()
    assert est.expected_wait("q", 4, slots=4.0) == 180.0
    assert est.expected_wait("q", 4, slots=0.5) == 720.0


def test_inverse_digamma_inverts_digamma_to_the_last_digits() -> None:
    # `estimate.py:91` (trigamma's `2.0 / x`: Newton's steps off, 1e-6 left at 12)
    for x in (0.5, 3.0, 12.0, 50.0, 1000.0):
        assert inverse_digamma(digamma(x)) == pytest.approx(x, rel=1e-12, abs=0.0)


def test_a_long_wait_without_enough_recent_answers_is_read_from_the_gap() -> None:
    # `estimate.py:501` (`continue`: a horizon short of 10 answers skipped for a longer
    # one): 10 answers 100 s apart, then 10 300 s apart; at position 20 (3605 s by the
    # mean gap, 180.3 s) the 600 s horizon holds 2.6 answers: too few, so the gap's
    # estimate stands; the 3600 s horizon (10.9 in 2506 s) is not read past it (4,591 s)
    est = WaitEstimator()
    t = 0.0
    for gap in [100.0] * 10 + [300.0] * 10:
        t += gap
        est.on_answer("q", t, 0.0)
    assert est.expected_wait("q", 20) == pytest.approx(20 * est.gap["q"])
    assert 3605.0 < est.expected_wait("q", 20) < 3605.1


def test_a_measured_handle_time_under_a_second_is_used() -> None:
    # `estimate.py:489` (`r.handle > 1.0`): a measured 0.5 s handle time is the rate's
    # (2 a second), not the 180 s prior
    est = WaitEstimator()
    est.on_complete("q", 0.5)
    assert est.expected_wait("q", 2) == 1.0


def test_every_observation_renews_the_version_to_one_never_given_before() -> None:
    # `estimate.py:256` (`changes -= 1` in `_changed`): versions went down there and up
    # inline, so a second arrival gave 0 ("nothing measured") and numbers came back
    est = WaitEstimator()
    seen = [est.version("q")]
    assert seen == [0]

    def first_staff_then_an_answer() -> None:
        est.restaff("q", 4.0, 2.0)  # the first staffing known: nothing to rescale
        est.on_answer("q", 2.5, 1.0)

    steps = [
        lambda: est.on_arrival("q", 0, 1.0),
        lambda: est.on_arrival("q", 0, 2.0),
        first_staff_then_an_answer,
        lambda: est.on_answer("q", 3.0, 1.0),
        lambda: est.restaff("q", 8.0, 3.0),
        lambda: est.on_abandon("q", 2.0),
        lambda: est.on_complete("q", 30.0),
        lambda: est.on_moved("q", 4.0, 3.0),
    ]
    for step in steps:
        step()
        assert est.version("q") not in seen
        seen.append(est.version("q"))


def test_answers_from_the_end_of_the_transient_on_are_measured() -> None:
    # `estimate.py:378` (`decided <= r.settle_until`): after a large change of staff the
    # answers of the next handle time (180 s by the prior) are not measured; one at its
    # end is (the gap moves from 5 s toward the 1 s since the answer before: 4.8 s)
    est = WaitEstimator()
    est.on_answer("q", 10.0, 0.0)
    est.on_answer("q", 20.0, 0.0)
    est.restaff("q", 4.0, 20.0)
    est.restaff("q", 8.0, 20.0)  # twice the agents: the transient lasts to 200 s
    assert est.gap["q"] == 5.0
    est.on_answer("q", 199.0, 0.0)
    assert est.gap["q"] == 5.0  # in the transient: not measured
    est.on_answer("q", 200.0, 0.0)
    assert est.gap["q"] == pytest.approx(5.0 + 0.05 * (1.0 - 5.0))


# --- the config schema -------------------------------------------------------------------

#: every field's default, per table (a table's own default: its class's name). The
#: documented ones (docs/backpressure.md, docs/tuning.md, the schema's comments) and the
#: rest as they are: a default is what a config that leaves the field out means.
DEFAULTS: dict[str, dict[str, Any]] = {
    "Weights": {
        "proficiency": 1.0,
        "idle_time": 1.0,
        "load": 1.0,
        "recent_work": 0.0,
        "recent_count": 0.0,
        "heavy_streak": 0.0,
    },
    "Clock": {"start": "mon 00:00", "unix": False, "utc_offset": "+00:00"},
    "Routing": {
        "weights": "Weights",
        "priority_seconds": 60.0,
        "mode": "offer",
        "offer_timeout_s": 30.0,
        "max_no_answer": 3,
        "max_declines": None,
        "decline_memory": "round",
        "idle_scale_s": 60.0,
        "recent_window_s": 1800.0,
        "trace": False,
        "strict": False,
        "clock": "Clock",
        "presence_timeout_s": None,
        "seed": 0,
    },
    "Channel": {"max_concurrency": 1, "unit_cost": 0, "interrupts": {}},
    "Step": {"requires": {}},
    "Hours": {"days": "mon-sun", "open": "00:00", "close": "24:00"},
    "QueueConfig": {
        "channel": "voice",
        "requires": {},
        "priority": 0,
        "tenant": None,
        "answer_target_s": 20.0,
        "steps": [],
        "weights": None,
        "heavy": False,
        "on_remove": None,
        "max_queue": None,
        "hours": None,
        "closed": "reject",
        "at_close": "serve",
        "match": None,
        "distribution": "scored",
        "max_offers": 1,
        "preferred_wait_s": 0.0,
    },
    "Wellbeing": {
        "max_continuous_work_s": None,
        "break_s": 900.0,
        "max_consecutive_heavy": None,
        "heavy_recovery_s": 120.0,
        "max_overtime_s": 0.0,
        "suspend_in_surge": [],
        "max_break_share": None,
        "max_break_share_by_team": {},
        "max_break_deferral_s": None,
        "break_window_s": None,
        "drain_for_break": False,
        "max_drain_share": None,
        "max_drain_share_by_team": {},
        "cooldown_after_heavy_s": None,
        "cooldown_s": 300.0,
        "cooldown_from": "all",
    },
    "AgentProfile": {
        "count": 1,
        "name": None,
        "skills": {},
        "capacity": {"voice": 1},
        "units": None,
        "tenants": [],
        "queues": {},
        "wrap_up_s": 0.0,
        "shift_start_s": 0.0,
        "shift_end_s": None,
        "shifts": [],
        "handback_share": 0.0,
        "decline_share": 0.0,
        "decline_away_s": None,
        "no_answer_share": None,
        "no_answer_away_s": None,
        "console_drop_s": None,
        "console_back_s": None,
        "attributes": {},
    },
    "DeflectPolicy": {"max_wait_s": 300.0, "queues": {}, "exempt": []},
    "CallbackPolicy": {
        "min_wait_s": 120.0,
        "queues": {},
        "exempt": [],
        "retry_s": 300.0,
        "max_attempts": 3,
    },
    "OverflowRule": {"after_s": None, "max_queue": None},
    "OverflowPolicy": {"queues": {}},
    "CodelPolicy": {"target_s": 30.0, "interval_s": 120.0, "queues": [], "action": "reject"},
    "BucketLimit": {},
    "TokenBucketPolicy": {
        "per": "queue",
        "rate_per_s": 10.0,
        "burst": 20.0,
        "limits": {},
        "action": "reject",
    },
    "SurgeConfig": {
        "enter_wait_s": None,
        "exit_wait_s": None,
        "enter_waiting": None,
        "exit_waiting": None,
        "enter_after_s": 60.0,
        "exit_after_s": 300.0,
        "queues": [],
        "caps": {},
        "wrap_up_s": None,
        "relax_steps": False,
        "pause_outbound": True,
        "callbacks": False,
    },
    "OutboundConfig": {
        "queues": [],
        "reserve_idle": 1,
        "protect": [],
        "service_level": 0.8,
        "deadline_s": {},
    },
    "EstimateConfig": {"alpha": 0.05, "prior_handle_s": 180.0, "arrival_window_s": 600.0},
    "Backpressure": {
        "policy": "admit_all",
        "max_queue": None,
        "deflect": "DeflectPolicy",
        "callback": "CallbackPolicy",
        "overflow": "OverflowPolicy",
        "codel": "CodelPolicy",
        "token_bucket": "TokenBucketPolicy",
        "surge": None,
        "outbound": "OutboundConfig",
        "estimate": "EstimateConfig",
        "max_callbacks": None,
        "priority_reserve": 0.0,
    },
    "StatisticsConfig": {"windows": [300.0, 900.0, 1800.0], "bucket_s": 10.0},
    "RouterConfig": {
        "routing": "Routing",
        "channels": {},
        "queues": [],
        "wellbeing": "Wellbeing",
        "backpressure": "Backpressure",
        "agents": [],
        "statistics": "StatisticsConfig",
    },
}


def test_the_built_in_channels_are_the_documented_ones() -> None:
    # `schema.py:153` (chat's `unit_cost = 19`): the caps docs/tuning.md gives (voice 1,
    # chat 30, email 20, task 5) and the unit costs (a voice call 100, chat 20, email 10,
    # task 20 of an agent's units)
    assert {
        name: (c.max_concurrency, c.unit_cost, c.interrupts)
        for name, c in schema.DEFAULT_CHANNELS.items()
    } == {
        "voice": (1, 100, {}),
        "chat": (30, 20, {}),
        "email": (20, 10, {}),
        "task": (5, 20, {}),
    }


def _defaults(tp: type[Struct]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in msgspec.structs.fields(tp):
        if f.default is not msgspec.NODEFAULT:
            value = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            value = f.default_factory()
        else:
            continue  # required
        out[f.name] = type(value).__name__ if isinstance(value, Struct) else value
    return out


def test_every_config_field_has_its_documented_default() -> None:
    # `schema.py:209` (`max_overtime_s = 1.0`), `:351` (`prior_handle_s = 179.0`) and
    # every other default moved: a config that leaves a field out means its default
    tables = {
        name: tp
        for name, tp in vars(schema).items()
        if isinstance(tp, type) and issubclass(tp, Struct) and tp.__module__ == schema.__name__
    }
    assert sorted(tables) == sorted([*DEFAULTS, "_Base"])
    for name, expected in DEFAULTS.items():
        got = _defaults(tables[name])
        assert got == expected, name
        # and each float default is a float (an int default would take `is float` paths)
        assert [k for k, v in got.items() if type(v) is not type(expected[k])] == [], name


def _set(cfg: RouterConfig, path: tuple[Any, ...], value: Any) -> None:
    """Set the field at ``path`` (the file's keys and list indices) of a decoded config, as a
    Python caller would."""
    cur: Any = cfg
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(cur, Struct):
            attr = next(f.name for f in msgspec.structs.fields(cur) if f.encode_name == key)
            if last:
                setattr(cur, attr, value)
            else:
                cur = getattr(cur, attr)
        elif last:
            cur[key] = value
        else:
            cur = cur[key]


def _from_python(path: tuple[Any, ...], value: Any, ok: Any) -> list[str]:
    """The problems of the config BOUNDS makes valid at ``path`` (by ``ok``), with ``value``
    set from Python: ``Router(config)`` and a reconfigure refuse it with the same lines,
    and ``config_problems`` gives them."""
    cfg = msgspec.convert(_with({path: ok}), RouterConfig)
    _set(cfg, path, value)
    problems = config_problems(cfg)
    if not problems:
        Router(cfg)
        return []
    with pytest.raises(ConfigError) as info:
        Router(cfg)
    assert info.value.problems == problems
    r = Router(convert_config(BASE))
    before = r.snapshot()
    with pytest.raises(ConfigError) as info:
        r.reconfigure(cfg, 1.0)
    assert info.value.problems == problems and r.snapshot() == before
    return problems


def _from_the_wire(tmp_path: Path, path: tuple[Any, ...], value: Any) -> tuple[int, list[str]]:
    """``router check`` of BASE with ``value`` at ``path`` in a YAML file (which spells
    NaN, infinities and null): its exit code and lines."""
    raw = _with({path: 0})
    cur = raw
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    f = tmp_path / "c.yaml"
    f.write_bytes(msgspec.yaml.encode(raw))
    out = io.StringIO()
    code = check_main([str(f)], out=out)
    return code, out.getvalue().splitlines()


@pytest.mark.parametrize(
    ("path", "bad", "line", "ok"), BOUNDS, ids=[b[2].split(":")[0] for b in BOUNDS]
)
def test_each_schema_bound_refuses_a_python_callers_value_past_it_naming_the_path(
    path: tuple[Any, ...], bad: Any, line: str, ok: Any
) -> None:
    # mutC34's BOUNDS (each `Meta` bound, past it and at it, through `router check`) from
    # a Python caller: a bound loosened (`ge=-1`, `gt` to `ge`, `le=2`) takes the value
    # from Python as well as from a file; `Router(config)` and `reconfigure` refuse it
    assert _from_python(path, bad, ok) == [line]
    spelled = line.split(": ")[0]
    assert not [p for p in _from_python(path, ok, ok) if p.startswith(spelled + ": Expected")]


#: the float fields of BOUNDS (a path once each)
FLOATS = list({b[0]: b for b in BOUNDS if type(b[1]) is float or type(b[3]) is float})
#: None at an optional float is "not given" (no problem), or the table's own problem
NONE_TAKEN: dict[str, list[str]] = {
    "$.routing.presence_timeout_s": [],
    "$.wellbeing.max_continuous_work_s": [],
    "$.wellbeing.max_break_share": [],
    "$.wellbeing.max_break_deferral_s": [],
    "$.wellbeing.cooldown_after_heavy_s": [],
    "$.backpressure.surge.exit_wait_s": [],
    "$.backpressure.surge.wrap_up_s": [],
    "$.agents[0].shift_end_s": [],
    "$.agents[0].console_drop_s": [],
    "$.backpressure.overflow.queues.q.after_s": [
        "$.backpressure.overflow.queues.q: set after_s, max_queue or both"
    ],
    "$.backpressure.surge.enter_wait_s": [
        "$.backpressure.surge: set enter_wait_s, enter_waiting or both"
    ],
}


@pytest.mark.parametrize("value", [NAN, INF, -INF, None], ids=["nan", "inf", "-inf", "None"])
@pytest.mark.parametrize("path", FLOATS, ids=[_spell_path(p) for p in FLOATS])
def test_every_float_setting_refuses_nan_inf_and_none_from_python_and_the_wire_alike(
    tmp_path: Path, path: tuple[Any, ...], value: Any
) -> None:
    # "NaN/inf/None from Python callers as well as from the wire": the same lines both
    # ways, the first naming the field; None refused unless the field is optional
    ok = next(b[3] for b in BOUNDS if b[0] == path)
    spelled = _spell_path(path)
    python = _from_python(path, value, ok)
    code, wire = _from_the_wire(tmp_path, path, value)
    if python:
        assert (code, wire) == (2, python)
    else:
        assert code == 0 and wire[0].startswith("ok: ")
    if value is None:
        assert python == NONE_TAKEN.get(spelled, [f"{spelled}: Expected float, got null"])
    else:
        assert python[0] == f"{spelled}: must be a finite number, got {value}"


_LONG_KEY = "k" * 201
#: (path, a value past a length bound, the one line, the value at the bound): the length
#: bounds (`Meta(max_length=...)`, `Name`'s) that BOUNDS leaves out
LENGTHS: list[tuple[tuple[Any, ...], Any, str, Any]] = [
    (
        ("queues", 1, "match"),
        "a" * 2001,
        "$.queues[1].match: Expected str of length <= 2000",
        "a" * 2000,
    ),
    (
        ("statistics", "windows"),
        [10.0 * (i + 1) for i in range(17)],
        "$.statistics.windows: Expected array of length <= 16",
        [10.0 * (i + 1) for i in range(16)],
    ),
    (
        ("queues", 0, "name"),
        "q" * 201,
        "$.queues[0].name: Expected str of length <= 200",
        "q" * 200,
    ),
    (("queues", 0, "name"), "", "$.queues[0].name: Expected str of length >= 1", "q"),
    (
        ("agents", 0, "attributes"),
        {"tier": "g" * 201},
        "$.agents[0].attributes.tier: Expected str of length <= 200",
        {"tier": "g" * 200},
    ),
    (
        ("agents", 0, "attributes"),
        {"tier": ["g"] * 101},
        "$.agents[0].attributes.tier: Expected array of length <= 100",
        {"tier": ["g"] * 100},
    ),
    (
        ("agents", 0, "skills"),
        {_LONG_KEY: 1},
        f"$.agents[0].skills: invalid key '{_LONG_KEY}': Expected str of length <= 200",
        {_LONG_KEY[1:]: 1},
    ),
]


@pytest.mark.parametrize(
    ("path", "bad", "line", "ok"),
    LENGTHS,
    ids=[f"{b[2].split(':')[0]}-{len(b[1])}" for b in LENGTHS],
)
def test_each_length_bound_refuses_past_it_from_a_file_and_from_python(
    tmp_path: Path, path: tuple[Any, ...], bad: Any, line: str, ok: Any
) -> None:
    # a length bound loosened (`max_length=2001`, `=17`, ...) or dropped: the value one
    # past it taken, from a file (`router check`) and from a Python caller alike
    assert _check(tmp_path, _with({path: bad})) == (2, [line])
    assert _from_python(path, bad, ok) == [line]
    spelled = line.split(": ")[0]
    for problems in (_problems(_with({path: ok})), _from_python(path, ok, ok)):
        assert not [p for p in problems if p.startswith(spelled + ": ") and "length" in p]


def test_a_configs_channel_is_its_own_else_the_built_in_else_a_key_error() -> None:
    # `schema.py:402` (the test negated): `RouterConfig.channel` (the naive baseline's);
    # `:407` (`return None`): `queue_names`
    cfg = convert_config(BASE)
    assert cfg.queue_names() == ["q", "q2"]
    assert cfg.channel("x") is cfg.channels["x"]
    assert cfg.channel("voice") is schema.DEFAULT_CHANNELS["voice"]
    with pytest.raises(KeyError):
        cfg.channel("nope")
