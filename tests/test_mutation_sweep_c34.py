"""mutC34's sweep: the config checks, the NaN/inf/None promise, the policies, the
estimator and the heaps.

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of the heaps, the estimator, the config and the policies (mutC34)"): a check dropped or
loosened, a path spelled wrong, a bound moved. Deterministic, no timing.
"""

from __future__ import annotations

import copy
import heapq
import io
import json
import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import router
from router import ConfigError, Router, UsageError
from router.cli.check import check_main
from router.config import AgentProfile, QueueConfig, RouterConfig, config_problems, convert_config
from router.config.checks import window_problems
from router.config.clock import clock_offset_s, parse_days, parse_time_of_day, parse_utc_offset
from router.config.profiles import profile_agent
from router.inputs import Login, SetAttributes, Submit, UpdateAgent
from router.model import Shift
from router.policies.timers import NamedTimer, NamedTimers
from router.state import lazyheap
from router.state.estimate import WaitEstimator
from router.state.lazyheap import DeadlineEntry
from router.state.records import WAITING
from tests.helpers import RELAXING_SURGE, agent, basic, config, inq, names

NAN, INF = math.nan, math.inf


def _router() -> Router:
    r = basic()
    r.login(agent("a1"), 0)
    r.submit(inq("i1", patience_s=100.0), 5)
    r.submit(inq("i2"), 5)
    r.tick(5)  # i1 offered to a1, i2 waiting
    return r


# --- the NaN/inf/None promise: every float a Python caller gives ----------------------

#: (case, the input for ``handle`` made with the value, the field named, None allowed)
FLOAT_FIELDS: list[tuple[str, Callable[[Any], Any], str, bool]] = [
    ("inquiry patience_s", lambda v: Submit(inquiry=inq("x", patience_s=v)), "patience_s", True),
    ("inquiry arrived_at", lambda v: Submit(inquiry=inq("x", arrived_at=v)), "arrived_at", True),
    (
        "inquiry attribute",
        lambda v: Submit(inquiry=inq("x", attributes={"tier": v})),
        "attributes.tier",
        False,
    ),
    ("login wrap_up_s", lambda v: Login(agent=agent("b", wrap_up_s=v)), "wrap_up_s", False),
    ("login shift_end", lambda v: Login(agent=agent("b", shift_end=v)), "shift_end", True),
    (
        "login proficiency",
        lambda v: Login(agent=agent("b", queues={"refund": v})),
        "queues.refund",
        False,
    ),
    (
        "login attribute",
        lambda v: Login(agent=agent("b", attributes={"tier": v})),
        "attributes.tier",
        False,
    ),
    ("update wrap_up_s", lambda v: UpdateAgent(agent=agent("a1", wrap_up_s=v)), "wrap_up_s", False),
    ("update shift_end", lambda v: UpdateAgent(agent=agent("a1", shift_end=v)), "shift_end", True),
    (
        "update proficiency",
        lambda v: UpdateAgent(agent=agent("a1", queues={"refund": v})),
        "queues.refund",
        False,
    ),
    (
        "update attribute",
        lambda v: UpdateAgent(agent=agent("a1", attributes={"tier": v})),
        "attributes.tier",
        False,
    ),
    (
        "set_attributes value",
        lambda v: SetAttributes(agent_id="a1", attributes={"tier": v}),
        "attributes.tier",
        False,
    ),
    (
        "set_attributes list item",
        lambda v: SetAttributes(agent_id="a1", attributes={"tier": [1.0, v]}),
        "attributes.tier[1]",
        False,
    ),
]

#: the same inputs through the Router's methods
_METHOD: dict[str, Callable[[Router, Any], object]] = {
    "Submit": lambda r, i: r.submit(i.inquiry, 6),
    "Login": lambda r, i: r.login(i.agent, 6),
    "UpdateAgent": lambda r, i: r.update_agent(i.agent, 6),
    "SetAttributes": lambda r, i: r.set_attributes(i.agent_id, i.attributes, 6),
}


@pytest.mark.parametrize("via", ["method", "handle"])
@pytest.mark.parametrize("value", [NAN, INF, -INF, None], ids=["nan", "inf", "-inf", "None"])
@pytest.mark.parametrize(
    ("make", "field", "none_ok"), [c[1:] for c in FLOAT_FIELDS], ids=[c[0] for c in FLOAT_FIELDS]
)
def test_every_float_field_refuses_nan_inf_and_none_naming_it(
    make: Callable[[Any], Any], field: str, none_ok: bool, value: Any, via: str
) -> None:
    r = _router()
    before = r.snapshot()
    inp = make(value)
    call = _METHOD[type(inp).__name__]
    if value is None and none_ok:  # Optional: None is "not given", taken
        (call(r, inp) if via == "method" else r.handle(inp, 6))
        return
    with pytest.raises(UsageError) as info:
        call(r, inp) if via == "method" else r.handle(inp, 6)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: must be a ")
    assert r.snapshot() == before


#: every method taking ``now``, given valid arguments otherwise
NOW_CALLS: dict[str, Callable[[Router, Any], object]] = {
    "tick": lambda r, t: r.tick(t),
    "submit": lambda r, t: r.submit(inq("x"), t),
    "callback_failed": lambda r, t: r.callback_failed("i2", t),
    "withdraw": lambda r, t: r.withdraw("i2", t),
    "accept": lambda r, t: r.accept("i1", t),
    "decline": lambda r, t: r.decline("i1", t),
    "complete": lambda r, t: r.complete("i1", t),
    "update_inquiry": lambda r, t: r.update_inquiry("i2", t, priority=1),
    "transfer": lambda r, t: r.transfer("i2", "vip", t),
    "hand_back": lambda r, t: r.hand_back("i1", t),
    "login": lambda r, t: r.login(agent("b"), t),
    "update_agent": lambda r, t: r.update_agent(agent("a1", level=2), t),
    "heartbeat": lambda r, t: r.heartbeat("a1", t),
    "set_ready": lambda r, t: r.set_ready("a1", t),
    "go_on_break": lambda r, t: r.go_on_break("a1", t),
    "logout": lambda r, t: r.logout("a1", t),
    "set_attributes": lambda r, t: r.set_attributes("a1", {"tier": 1}, t),
    "reset_statistics": lambda r, t: r.reset_statistics(t),
    "handle": lambda r, t: r.handle(Submit(inquiry=inq("x")), t),
}


@pytest.mark.parametrize("value", [NAN, INF, -INF, None], ids=["nan", "inf", "-inf", "None"])
@pytest.mark.parametrize("method", sorted(NOW_CALLS))
def test_every_method_refuses_a_nan_inf_or_none_now(method: str, value: Any) -> None:
    r = _router()
    before = r.snapshot()
    if value is None and router.compiled:
        # a compiled method refuses an argument of the wrong type itself (docs/compiled.md)
        with pytest.raises(TypeError):
            NOW_CALLS[method](r, value)
        assert r.snapshot() == before
        return
    with pytest.raises(UsageError) as info:
        NOW_CALLS[method](r, value)
    assert info.value.field == "now"
    assert str(info.value) == f"now: must be a finite number, got {value}"
    assert r.snapshot() == before


# --- config validation: every bound of the schema, at its path, through ``router check`` ---

#: a valid config reaching every table (two queues, two profiles, one with shifts)
BASE: dict[str, Any] = {
    "routing": {"weights": {}, "clock": {}},
    "channels": {"x": {"max_concurrency": 1, "interrupts": {"voice": 1}}},
    "queues": [
        {
            "name": "q",
            "requires": {"k": 1},
            "steps": [{"after_s": 5, "requires": {"k": 1}}],
            "hours": [{}],
            "weights": {},
        },
        {"name": "q2"},
    ],
    "wellbeing": {},
    "backpressure": {
        # every table's policy in the chain: a table outside it is a warning (warn47)
        "policy": ["deflect", "callback", "overflow", "codel", "token_bucket"],
        "deflect": {"queues": {"q": 10}},
        "callback": {"queues": {"q": 10}},
        "overflow": {"queues": {"q": {"to": "q2", "after_s": 5}}},
        "codel": {},
        "token_bucket": {"limits": {"q": {"rate_per_s": 1, "burst": 1}}},
        "surge": {"enter_wait_s": 10, "caps": {"voice": 1}},
        "outbound": {"queues": ["q2"], "deadline_s": {"q2": 5}},
        "estimate": {},
    },
    "agents": [
        {"skills": {"k": 5}, "capacity": {"voice": 1}, "queues": {"q": 1, "q2": 1}},
        {"skills": {"k": 5}, "shifts": [{"start_s": 0, "queues": {"q": 1, "q2": 1}}]},
    ],
    "statistics": {"windows": [300.0]},
}


def _with(changes: dict[tuple[Any, ...], Any], base: dict[str, Any] | None = None) -> Any:
    """``base`` (default BASE) with each path set (a missing table is made; None deletes)."""
    raw = copy.deepcopy(BASE if base is None else base)
    for path, value in changes.items():
        cur = raw
        for k in path[:-1]:
            cur = cur.setdefault(k, {}) if isinstance(cur, dict) else cur[k]
        if value is None and isinstance(cur, dict):
            cur.pop(path[-1], None)
        else:
            cur[path[-1]] = value
    return raw


def _check(tmp_path: Path, raw: Any) -> tuple[int, list[str]]:
    """``router check`` of ``raw`` as a JSON file: the exit code and the lines."""
    f = tmp_path / "c.json"
    f.write_text(json.dumps(raw))
    out = io.StringIO()
    code = check_main([str(f)], out=out)
    return code, out.getvalue().splitlines()


def _problems(raw: Any) -> list[str]:
    try:
        convert_config(raw)
    except ConfigError as exc:
        return exc.problems
    return []


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    code, lines = _check(tmp_path, BASE)
    assert (
        code == 0
        and len(lines) == 1
        and lines
        == [
            "ok: 2 queues, 2 agent profiles (2 agents), "
            "policies deflect, callback, overflow, codel, token_bucket"
        ]
    ), lines


#: (path, a value past the bound, the one line ``router check`` prints, the bound's value)
BOUNDS: list[tuple[tuple[Any, ...], Any, str, Any]] = [
    (
        ("routing", "weights", "proficiency"),
        -0.5,
        "$.routing.weights.proficiency: Expected float >= 0.0",
        0,
    ),
    (
        ("routing", "weights", "idle_time"),
        -0.5,
        "$.routing.weights.idle_time: Expected float >= 0.0",
        0,
    ),
    (("routing", "weights", "load"), -0.5, "$.routing.weights.load: Expected float >= 0.0", 0),
    (
        ("routing", "weights", "recent_work"),
        -0.5,
        "$.routing.weights.recent_work: Expected float >= 0.0",
        0,
    ),
    (
        ("routing", "weights", "recent_count"),
        -0.5,
        "$.routing.weights.recent_count: Expected float >= 0.0",
        0,
    ),
    (
        ("routing", "weights", "heavy_streak"),
        -0.5,
        "$.routing.weights.heavy_streak: Expected float >= 0.0",
        0,
    ),
    (("routing", "priority_seconds"), -0.5, "$.routing.priority_seconds: Expected float >= 0.0", 0),
    (("routing", "offer_timeout_s"), 0, "$.routing.offer_timeout_s: Expected float > 0.0", 0.5),
    (("routing", "max_no_answer"), 0, "$.routing.max_no_answer: Expected int >= 1", 1),
    (("routing", "idle_scale_s"), 0, "$.routing.idle_scale_s: Expected float > 0.0", 0.5),
    (("routing", "recent_window_s"), 0, "$.routing.recent_window_s: Expected float > 0.0", 0.5),
    (
        ("routing", "presence_timeout_s"),
        0,
        "$.routing.presence_timeout_s: Expected float > 0.0",
        0.5,
    ),
    (("routing", "seed"), -1, "$.routing.seed: Expected int >= 0", 0),
    (
        ("routing", "seed"),
        9223372036854775808,
        "$.routing.seed: Expected int <= 9223372036854775807",
        9223372036854775807,
    ),
    (("channels", "x", "max_concurrency"), 0, "$.channels.x.max_concurrency: Expected int >= 1", 1),
    (
        ("channels", "x", "max_concurrency"),
        1001,
        "$.channels.x.max_concurrency: Expected int <= 1000",
        1000,
    ),
    (("channels", "x", "unit_cost"), -1, "$.channels.x.unit_cost: Expected int >= 0", 0),
    (("channels", "x", "interrupts", "k"), -1, "$.channels.x.interrupts.k: Expected int >= 0", 0),
    (("queues", 0, "requires", "k"), 0, "$.queues[0].requires.k: Expected int >= 1", 1),
    (("queues", 0, "requires", "k"), 6, "$.queues[0].requires.k: Expected int <= 5", 5),
    (("queues", 0, "priority"), -1001, "$.queues[0].priority: Expected int >= -1000", -1000),
    (("queues", 0, "priority"), 1001, "$.queues[0].priority: Expected int <= 1000", 1000),
    (("queues", 0, "answer_target_s"), 0, "$.queues[0].answer_target_s: Expected float > 0.0", 0.5),
    (
        ("queues", 0, "steps", 0, "after_s"),
        0,
        "$.queues[0].steps[0].after_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("queues", 0, "steps", 0, "requires", "k"),
        0,
        "$.queues[0].steps[0].requires.k: Expected int >= 1",
        1,
    ),
    (
        ("queues", 0, "steps", 0, "requires", "k"),
        6,
        "$.queues[0].steps[0].requires.k: Expected int <= 5",
        5,
    ),
    (
        ("queues", 0, "weights", "proficiency"),
        -0.5,
        "$.queues[0].weights.proficiency: Expected float >= 0.0",
        0,
    ),
    (
        ("queues", 0, "weights", "idle_time"),
        -0.5,
        "$.queues[0].weights.idle_time: Expected float >= 0.0",
        0,
    ),
    (("queues", 0, "weights", "load"), -0.5, "$.queues[0].weights.load: Expected float >= 0.0", 0),
    (
        ("queues", 0, "weights", "recent_work"),
        -0.5,
        "$.queues[0].weights.recent_work: Expected float >= 0.0",
        0,
    ),
    (
        ("queues", 0, "weights", "recent_count"),
        -0.5,
        "$.queues[0].weights.recent_count: Expected float >= 0.0",
        0,
    ),
    (
        ("queues", 0, "weights", "heavy_streak"),
        -0.5,
        "$.queues[0].weights.heavy_streak: Expected float >= 0.0",
        0,
    ),
    (("queues", 0, "max_queue"), -1, "$.queues[0].max_queue: Expected int >= 0", 0),
    (("queues", 0, "max_offers"), 0, "$.queues[0].max_offers: Expected int >= 1", 1),
    (("queues", 0, "max_offers"), 51, "$.queues[0].max_offers: Expected int <= 50", 50),
    (
        ("queues", 0, "preferred_wait_s"),
        -0.5,
        "$.queues[0].preferred_wait_s: Expected float >= 0.0",
        0,
    ),
    (
        ("wellbeing", "max_continuous_work_s"),
        0,
        "$.wellbeing.max_continuous_work_s: Expected float > 0.0",
        0.5,
    ),
    (("wellbeing", "break_s"), 0, "$.wellbeing.break_s: Expected float > 0.0", 0.5),
    (
        ("wellbeing", "max_consecutive_heavy"),
        0,
        "$.wellbeing.max_consecutive_heavy: Expected int >= 1",
        1,
    ),
    (
        ("wellbeing", "heavy_recovery_s"),
        -0.5,
        "$.wellbeing.heavy_recovery_s: Expected float >= 0.0",
        0,
    ),
    (("wellbeing", "max_overtime_s"), -0.5, "$.wellbeing.max_overtime_s: Expected float >= 0.0", 0),
    (("wellbeing", "max_break_share"), 0, "$.wellbeing.max_break_share: Expected float > 0.0", 0.5),
    (
        ("wellbeing", "max_break_share"),
        1.5,
        "$.wellbeing.max_break_share: Expected float <= 1.0",
        1,
    ),
    (
        ("wellbeing", "max_break_deferral_s"),
        0,
        "$.wellbeing.max_break_deferral_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("wellbeing", "cooldown_after_heavy_s"),
        0,
        "$.wellbeing.cooldown_after_heavy_s: Expected float > 0.0",
        0.5,
    ),
    (("wellbeing", "cooldown_s"), -0.5, "$.wellbeing.cooldown_s: Expected float >= 0.0", 0),
    (("backpressure", "max_queue"), -1, "$.backpressure.max_queue: Expected int >= 0", 0),
    (
        ("backpressure", "deflect", "max_wait_s"),
        0,
        "$.backpressure.deflect.max_wait_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "deflect", "queues", "k"),
        0,
        "$.backpressure.deflect.queues.k: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "callback", "min_wait_s"),
        0,
        "$.backpressure.callback.min_wait_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "callback", "queues", "k"),
        0,
        "$.backpressure.callback.queues.k: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "callback", "retry_s"),
        0,
        "$.backpressure.callback.retry_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "callback", "max_attempts"),
        0,
        "$.backpressure.callback.max_attempts: Expected int >= 1",
        1,
    ),
    (
        ("backpressure", "callback", "max_attempts"),
        101,
        "$.backpressure.callback.max_attempts: Expected int <= 100",
        100,
    ),
    (
        ("backpressure", "overflow", "queues", "q", "after_s"),
        0,
        "$.backpressure.overflow.queues.q.after_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "overflow", "queues", "q", "max_queue"),
        -1,
        "$.backpressure.overflow.queues.q.max_queue: Expected int >= 0",
        0,
    ),
    (
        ("backpressure", "codel", "target_s"),
        0,
        "$.backpressure.codel.target_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "codel", "interval_s"),
        0,
        "$.backpressure.codel.interval_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "token_bucket", "rate_per_s"),
        0,
        "$.backpressure.token_bucket.rate_per_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "token_bucket", "burst"),
        0.5,
        "$.backpressure.token_bucket.burst: Expected float >= 1.0",
        1,
    ),
    (
        ("backpressure", "token_bucket", "limits", "q", "rate_per_s"),
        0,
        "$.backpressure.token_bucket.limits.q.rate_per_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "token_bucket", "limits", "q", "burst"),
        0.5,
        "$.backpressure.token_bucket.limits.q.burst: Expected float >= 1.0",
        1,
    ),
    (
        ("backpressure", "surge", "enter_wait_s"),
        0,
        "$.backpressure.surge.enter_wait_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "surge", "exit_wait_s"),
        0,
        "$.backpressure.surge.exit_wait_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "surge", "enter_waiting"),
        0,
        "$.backpressure.surge.enter_waiting: Expected int >= 1",
        1,
    ),
    (
        ("backpressure", "surge", "exit_waiting"),
        -1,
        "$.backpressure.surge.exit_waiting: Expected int >= 0",
        0,
    ),
    (
        ("backpressure", "surge", "enter_after_s"),
        -0.5,
        "$.backpressure.surge.enter_after_s: Expected float >= 0.0",
        0,
    ),
    (
        ("backpressure", "surge", "exit_after_s"),
        -0.5,
        "$.backpressure.surge.exit_after_s: Expected float >= 0.0",
        0,
    ),
    (
        ("backpressure", "surge", "caps", "k"),
        0,
        "$.backpressure.surge.caps.k: Expected int >= 1",
        1,
    ),
    (
        ("backpressure", "surge", "wrap_up_s"),
        -0.5,
        "$.backpressure.surge.wrap_up_s: Expected float >= 0.0",
        0,
    ),
    (
        ("backpressure", "outbound", "reserve_idle"),
        -1,
        "$.backpressure.outbound.reserve_idle: Expected int >= 0",
        0,
    ),
    (
        ("backpressure", "outbound", "service_level"),
        0,
        "$.backpressure.outbound.service_level: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "outbound", "service_level"),
        1,
        "$.backpressure.outbound.service_level: Expected float < 1.0",
        0.99,
    ),
    (
        ("backpressure", "outbound", "deadline_s", "k"),
        0,
        "$.backpressure.outbound.deadline_s.k: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "estimate", "alpha"),
        0,
        "$.backpressure.estimate.alpha: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "estimate", "alpha"),
        1.5,
        "$.backpressure.estimate.alpha: Expected float <= 1.0",
        1,
    ),
    (
        ("backpressure", "estimate", "prior_handle_s"),
        0,
        "$.backpressure.estimate.prior_handle_s: Expected float > 0.0",
        0.5,
    ),
    (
        ("backpressure", "estimate", "arrival_window_s"),
        0,
        "$.backpressure.estimate.arrival_window_s: Expected float > 0.0",
        0.5,
    ),
    (("backpressure", "max_callbacks"), -1, "$.backpressure.max_callbacks: Expected int >= 0", 0),
    (
        ("backpressure", "priority_reserve"),
        -0.5,
        "$.backpressure.priority_reserve: Expected float >= 0.0",
        0,
    ),
    (
        ("backpressure", "priority_reserve"),
        1,
        "$.backpressure.priority_reserve: Expected float < 1.0",
        0.99,
    ),
    (("agents", 0, "count"), -1, "$.agents[0].count: Expected int >= 0", 0),
    (("agents", 0, "skills", "k"), 0, "$.agents[0].skills.k: Expected int >= 1", 1),
    (("agents", 0, "skills", "k"), 6, "$.agents[0].skills.k: Expected int <= 5", 5),
    (("agents", 0, "capacity", "k"), -1, "$.agents[0].capacity.k: Expected int >= 0", 0),
    (("agents", 0, "units"), 0, "$.agents[0].units: Expected int >= 1", 1),
    (("agents", 0, "queues", "k"), 0, "$.agents[0].queues.k: Expected float > 0.0", 0.5),
    (("agents", 0, "wrap_up_s"), -0.5, "$.agents[0].wrap_up_s: Expected float >= 0.0", 0),
    (("agents", 0, "shift_start_s"), -0.5, "$.agents[0].shift_start_s: Expected float >= 0.0", 0),
    (("agents", 0, "shift_end_s"), -0.5, "$.agents[0].shift_end_s: Expected float >= 0.0", 0),
    (("agents", 0, "handback_share"), -0.5, "$.agents[0].handback_share: Expected float >= 0.0", 0),
    (("agents", 0, "handback_share"), 1.5, "$.agents[0].handback_share: Expected float <= 1.0", 1),
    (("agents", 0, "console_drop_s"), -0.5, "$.agents[0].console_drop_s: Expected float >= 0.0", 0),
    (("statistics", "windows", 0), 0, "$.statistics.windows[0]: Expected float > 0.0", 0.5),
    (("statistics", "bucket_s"), 0, "$.statistics.bucket_s: Expected float > 0.0", 0.5),
]


@pytest.mark.parametrize(
    ("path", "bad", "line", "ok"), BOUNDS, ids=[b[2].split(":")[0] for b in BOUNDS]
)
def test_each_schema_bound_refuses_past_it_naming_the_path_and_takes_the_bound(
    tmp_path: Path, path: tuple[Any, ...], bad: Any, line: str, ok: Any
) -> None:
    assert _check(tmp_path, _with({path: bad})) == (2, [line])
    spelled = line.split(": ")[0]
    assert not [p for p in _problems(_with({path: ok})) if p.startswith(spelled + ": Expected")]


#: (case, changes to BASE, every line ``router check`` prints: exit 2, or none: exit 0)
SEMANTIC: list[tuple[str, dict[tuple[Any, ...], Any], list[str]]] = [
    (
        "dup queue",
        {("queues", 1, "name"): "q"},
        [
            "$.queues[1].name: duplicate queue name 'q' (also $.queues[0])",
            "$.agents[0].queues.q2: unknown queue 'q2'",
            "$.agents[1].shifts[0].queues.q2: unknown queue 'q2'",
            "$.backpressure.outbound.queues: unknown queue 'q2'",
            "$.backpressure.outbound.deadline_s.q2: unknown queue 'q2'",
            "$.backpressure.overflow.queues.q.to: unknown queue 'q2'",
        ],
    ),
    (
        "unknown channel",
        {("queues", 1, "channel"): "fax"},
        [
            "$.queues[1].channel: unknown channel 'fax'; known: chat, email, task, voice, x",
            "$.queues[1].channel: no agent profile serving it has capacity on 'fax'",
            "$.backpressure.overflow.queues.q.to: queue 'q2' is on channel 'fax', 'q' on 'voice'",
        ],
    ),
    (
        "bad match",
        {("queues", 1, "match"): "tier >"},
        ["$.queues[1].match: column 7: expected a value after '>', found the end"],
    ),
    (
        "max_offers immediate",
        {("queues", 1, "max_offers"): 2, ("routing", "mode"): "immediate"},
        [
            '$.queues[1].max_offers: 2 offers at once need routing.mode = "offer" (immediate mode assigns without an offer)'  # noqa: E501
        ],
    ),
    (
        "max_offers 1 immediate",
        {("queues", 1, "max_offers"): 1, ("routing", "mode"): "immediate"},
        [],
    ),
    (
        "steps equal",
        {("queues", 1, "steps"): [{"after_s": 5}, {"after_s": 5}]},
        ["$.queues[1].steps[1].after_s: steps must have increasing after_s (5 is not after 5)"],
    ),
    (
        "steps down",
        {("queues", 1, "steps"): [{"after_s": 10}, {"after_s": 5}, {"after_s": 7}]},
        [
            "$.queues[1].steps[1].after_s: steps must have increasing after_s (5 is not after 10)",
            "$.queues[1].steps[2].after_s: steps must have increasing after_s (7 is not after 10)",
        ],
    ),
    ("step half", {("queues", 1, "steps"): [{"after_s": 0.5}, {"after_s": 1.5}]}, []),
    ("step tiny", {("queues", 1, "steps"): [{"after_s": 0.1}]}, []),
    (
        "on_remove self",
        {("queues", 1, "on_remove"): "q2"},
        ["$.queues[1].on_remove: a queue cannot hand over to itself"],
    ),
    (
        "on_remove unknown",
        {("queues", 1, "on_remove"): "zz"},
        ["$.queues[1].on_remove: unknown queue 'zz'"],
    ),
    ("on_remove ok", {("queues", 1, "on_remove"): "q"}, []),
    (
        "surge twice",
        {("wellbeing", "suspend_in_surge"): ["shift", "heavy", "shift"]},
        ["$.wellbeing.suspend_in_surge[2]: 'shift' is listed twice"],
    ),
    (
        "dup profile",
        {("agents", 0, "name"): "p", ("agents", 1, "name"): "p"},
        ["$.agents[1].name: duplicate agent profile name 'p' (also $.agents[0])"],
    ),
    (
        "cap unknown",
        {("agents", 0, "capacity"): {"voice": 1, "fax": 1}},
        ["$.agents[0].capacity.fax: unknown channel 'fax'; known: chat, email, task, voice, x"],
    ),
    (
        "cap above",
        {("agents", 0, "capacity"): {"voice": 2, "chat": 30}},
        ["$.agents[0].capacity.voice: 2 is above the channel's hard maximum 1"],
    ),
    (
        "agent queue unknown",
        {("agents", 0, "queues"): {"q": 1, "q2": 1, "zz": 1}},
        ["$.agents[0].queues.zz: unknown queue 'zz'"],
    ),
    (
        "shift_end equal",
        {("agents", 0, "shift_start_s"): 10, ("agents", 0, "shift_end_s"): 10},
        ["$.agents[0].shift_end_s: must be after shift_start_s"],
    ),
    (
        "shift_end after",
        {("agents", 0, "shift_start_s"): 10, ("agents", 0, "shift_end_s"): 10.5},
        [],
    ),
    (
        "shifts with start/end",
        {("agents", 1, "shift_start_s"): 5, ("agents", 1, "shift_end_s"): 50},
        [
            "$.agents[1].shift_start_s: not with shifts (each shift has its own start_s)",
            "$.agents[1].shift_end_s: not with shifts (the last shift's end_s ends the day)",
        ],
    ),
    (
        "shift negative",
        {("agents", 1, "shifts"): [{"start_s": -1}]},
        ["$.agents[1].shifts[0].start_s: must be >= 0, got -1"],
    ),
    (
        "shift end before",
        {("agents", 1, "shifts"): [{"start_s": 10, "end_s": 10}]},
        ["$.agents[1].shifts[0].end_s: must be after start_s (10 <= 10)"],
    ),
    (
        "shift open not last",
        {("agents", 1, "shifts"): [{"start_s": 0}, {"start_s": 10}]},
        ["$.agents[1].shifts[0].end_s: only the last shift may be open-ended"],
    ),
    (
        "shift overlap",
        {("agents", 1, "shifts"): [{"start_s": 0, "end_s": 20}, {"start_s": 10}]},
        [
            "$.agents[1].shifts[1].start_s: 10 is before the end of shifts[0] (20); shifts must be in time order and not overlap"  # noqa: E501
        ],
    ),
    (
        "shift touching ok",
        {
            ("agents", 1, "shifts"): [
                {"start_s": 0, "end_s": 20},
                {"start_s": 20, "end_s": 30},
                {"start_s": 30},
            ]
        },
        [],
    ),
    (
        "shift queue unknown",
        {("agents", 1, "shifts"): [{"start_s": 0, "queues": {"q": 1, "q2": 1, "zz": 1}}]},
        ["$.agents[1].shifts[0].queues.zz: unknown queue 'zz'"],
    ),
    (
        "interrupt self",
        {("channels", "x", "interrupts"): {"x": 1}},
        ["$.channels.x.interrupts.x: a channel cannot interrupt itself"],
    ),
    (
        "interrupt unknown",
        {("channels", "x", "interrupts"): {"fax": 1}},
        ["$.channels.x.interrupts.fax: unknown channel 'fax'; known: chat, email, task, voice, x"],
    ),
    (
        "interrupt above",
        {("channels", "x", "interrupts"): {"voice": 2, "chat": 30}},
        ["$.channels.x.interrupts.voice: 2 is above the channel's hard maximum 1"],
    ),
    (
        "tenant none",
        {("queues", 1, "tenant"): "t"},
        [
            "$.queues[1].tenant: no agent profile serves tenant 't'",
            "$.backpressure.overflow.queues.q.to: queue 'q2' belongs to tenant 't', 'q' to None",
        ],
    ),
    (
        "tenant ok",
        {("queues", 1, "tenant"): "t", ("agents", 0, "tenants"): ["t"]},
        ["$.backpressure.overflow.queues.q.to: queue 'q2' belongs to tenant 't', 'q' to None"],
    ),
    (
        "no capacity",
        {("queues", 1, "channel"): "chat"},
        [
            "$.queues[1].channel: no agent profile serving it has capacity on 'chat'",
            "$.backpressure.overflow.queues.q.to: queue 'q2' is on channel 'chat', 'q' on 'voice'",
        ],
    ),
    (
        "left out",
        {
            ("agents", 0, "queues"): {"q": 1},
            ("agents", 1, "shifts"): [{"start_s": 0, "queues": {"q": 1}}],
        },
        ["$.queues[1].name: every agent profile that could serve it leaves it out of queues"],
    ),
    (
        "match none",
        {("queues", 1, "match"): "tier == 'gold'"},
        ["$.queues[1].match: no agent profile that could serve the queue matches it"],
    ),
    (
        "match ok",
        {("queues", 1, "match"): "tier == 'gold'", ("agents", 0, "attributes"): {"tier": "gold"}},
        [],
    ),
    (
        "level high",
        {
            ("queues", 1, "requires"): {"k": 5},
            ("agents", 0, "skills"): {"k": 3},
            ("agents", 1, "skills"): {"k": 4},
            ("queues", 0, "requires"): {"k": 1},
        },
        ["$.queues[1].requires.k: needs level 5; the best is 4"],
    ),
    (
        "first step waits",
        {
            ("queues", 0, "requires"): {"k": 5},
            ("agents", 0, "skills"): {"k": 3},
            ("agents", 1, "skills"): {"k": 4},
            ("queues", 0, "steps"): [{"after_s": 5, "requires": {"k": 1}}],
        },
        [
            "$.queues[0].requires.k: needs level 5; the best is 4 (every inquiry waits for the first step)"  # noqa: E501
        ],
    ),
    (
        "nobody staffed",
        {("agents", 0, "count"): 0, ("agents", 1, "count"): 0},
        [
            "$.queues[0].channel: no agent profile serving it has capacity on 'voice'",
            "$.queues[1].channel: no agent profile serving it has capacity on 'voice'",
        ],
    ),
    (
        "level none",
        {("queues", 1, "requires"): {"z": 2}},
        ["$.queues[1].requires.z: needs level 2; no agent profile has it"],
    ),
    (
        "no single",
        {
            ("queues", 1, "requires"): {"k": 1, "z": 1},
            ("agents", 0, "skills"): {"k": 1},
            ("agents", 1, "skills"): {"z": 1},
        },
        ["$.queues[1].requires: no single agent profile has all of k >= 1, z >= 1"],
    ),
    (
        "step level high",
        {("queues", 1, "steps"): [{"after_s": 5, "requires": {"k": 5, "z": 1}}]},
        ["$.queues[1].steps[0].requires.z: needs level 1; no agent profile has it"],
    ),
    (
        "bucket windows",
        {("statistics", "windows"): [5.0, 300.0, 300.0], ("statistics", "bucket_s"): 10},
        [
            "$.statistics.windows[0]: 5 must be a number >= bucket_s (10)",
            "$.statistics.windows[2]: 300 repeats the window '5m'",
        ],
    ),
    (
        "windows span",
        {("statistics", "windows"): [1000.5], ("statistics", "bucket_s"): 0.01},
        [
            "$.statistics.windows[0]: 1000.5 s spans more than 100,000 buckets of 0.01 s (raise bucket_s)"  # noqa: E501
        ],
    ),
    (
        "windows span ok",
        {("statistics", "windows"): [1000.0], ("statistics", "bucket_s"): 0.01},
        [],
    ),
    (
        "window equal bucket",
        {("statistics", "windows"): [10.0], ("statistics", "bucket_s"): 10},
        [],
    ),
    (
        "policy twice",
        {("backpressure", "policy"): ["deflect", "deflect"]},
        ["$.backpressure.policy[1]: policy 'deflect' appears twice"],
    ),
    (
        "bounded",
        {("backpressure", "policy"): ["deflect", "reject_when_full"]},
        [
            "$.backpressure.policy[1]: reject_when_full needs a bound: set $.backpressure.max_queue or max_queue on a queue"  # noqa: E501
        ],
    ),
    (
        "bounded str",
        {("backpressure", "policy"): "block"},
        [
            "$.backpressure.policy: block needs a bound: set $.backpressure.max_queue or max_queue on a queue"  # noqa: E501
        ],
    ),
    (
        "bounded queue max",
        {("backpressure", "policy"): "shed_lowest_priority", ("queues", 1, "max_queue"): 3},
        [],
    ),
    (
        "bounded bp max",
        {("backpressure", "policy"): "shed_lowest_priority", ("backpressure", "max_queue"): 3},
        [],
    ),
    (
        "unknown queues",
        {
            ("backpressure", "deflect", "queues"): {"zz": 1},
            ("backpressure", "deflect", "exempt"): ["q", "zy"],
            ("backpressure", "callback", "queues"): {"zx": 1},
            ("backpressure", "callback", "exempt"): ["zw"],
            ("backpressure", "codel", "queues"): ["zv"],
            ("backpressure", "outbound", "protect"): ["zu"],
        },
        [
            "$.backpressure.deflect.queues.zz: unknown queue 'zz'",
            "$.backpressure.deflect.exempt: unknown queue 'zy'",
            "$.backpressure.callback.queues.zx: unknown queue 'zx'",
            "$.backpressure.callback.exempt: unknown queue 'zw'",
            "$.backpressure.codel.queues: unknown queue 'zv'",
            "$.backpressure.outbound.protect: unknown queue 'zu'",
        ],
    ),
    (
        "outbound queue unknown",
        {("backpressure", "outbound", "queues"): ["q2", "zt"]},
        ["$.backpressure.outbound.queues: unknown queue 'zt'"],
    ),
    (
        "deadline not outbound",
        {("backpressure", "outbound", "deadline_s"): {"q": 5, "zs": 5}},
        [
            "$.backpressure.outbound.deadline_s.q: 'q' is not an outbound queue (backpressure.outbound.queues)",  # noqa: E501
            "$.backpressure.outbound.deadline_s.zs: unknown queue 'zs'",
        ],
    ),
    (
        "bucket per queue",
        {("backpressure", "token_bucket", "limits"): {"zr": {"rate_per_s": 1, "burst": 1}}},
        ["$.backpressure.token_bucket.limits.zr: unknown queue 'zr'"],
    ),
    (
        "bucket per tenant",
        {
            ("backpressure", "token_bucket", "per"): "tenant",
            ("backpressure", "token_bucket", "limits"): {"zr": {"rate_per_s": 1, "burst": 1}},
        },
        [],
    ),
    (
        "overflow src",
        {("backpressure", "overflow", "queues"): {"zq": {"to": "q", "after_s": 1}}},
        ["$.backpressure.overflow.queues.zq: unknown queue 'zq'"],
    ),
    (
        "overflow to",
        {("backpressure", "overflow", "queues"): {"q": {"to": "zp", "after_s": 1}}},
        ["$.backpressure.overflow.queues.q.to: unknown queue 'zp'"],
    ),
    (
        "overflow self",
        {("backpressure", "overflow", "queues"): {"q": {"to": "q", "after_s": 1}}},
        [
            "$.backpressure.overflow.queues.q.to: a queue cannot overflow to itself",
            "$.backpressure.overflow.queues.q.to: overflow rules form a cycle through 'q'",
        ],
    ),
    (
        "overflow channel",
        {
            ("queues", 1, "channel"): "chat",
            ("agents", 0, "capacity"): {"voice": 1, "chat": 1},
            ("backpressure", "overflow", "queues"): {"q": {"to": "q2", "after_s": 1}},
        },
        ["$.backpressure.overflow.queues.q.to: queue 'q2' is on channel 'chat', 'q' on 'voice'"],
    ),
    (
        "overflow tenant",
        {
            ("queues", 1, "tenant"): "t",
            ("agents", 0, "tenants"): ["t"],
            ("backpressure", "overflow", "queues"): {"q": {"to": "q2", "after_s": 1}},
        },
        ["$.backpressure.overflow.queues.q.to: queue 'q2' belongs to tenant 't', 'q' to None"],
    ),
    (
        "overflow tenant to none ok",
        {
            ("queues", 0, "tenant"): "t",
            ("agents", 0, "tenants"): ["t"],
            ("backpressure", "overflow", "queues"): {"q": {"to": "q2", "after_s": 1}},
        },
        [],
    ),
    (
        "overflow neither",
        {("backpressure", "overflow", "queues"): {"q": {"to": "q2"}}},
        ["$.backpressure.overflow.queues.q: set after_s, max_queue or both"],
    ),
    (
        "overflow max only",
        {("backpressure", "overflow", "queues"): {"q": {"to": "q2", "max_queue": 3}}},
        [],
    ),
    (
        "overflow cycle",
        {
            ("backpressure", "overflow", "queues"): {
                "q": {"to": "q2", "after_s": 1},
                "q2": {"to": "q", "after_s": 1},
            }
        },
        [
            "$.backpressure.overflow.queues.q.to: overflow rules form a cycle through 'q'",
            "$.backpressure.overflow.queues.q2.to: overflow rules form a cycle through 'q2'",
        ],
    ),
    (
        "surge neither",
        {("backpressure", "surge"): {}},
        ["$.backpressure.surge: set enter_wait_s, enter_waiting or both"],
    ),
    ("surge waiting only", {("backpressure", "surge"): {"enter_waiting": 4}}, []),
    (
        "surge exit above",
        {
            ("backpressure", "surge"): {
                "enter_wait_s": 10,
                "exit_wait_s": 10.5,
                "enter_waiting": 4,
                "exit_waiting": 5,
            }
        },
        [
            "$.backpressure.surge.exit_wait_s: 10.5 is above enter_wait_s 10",
            "$.backpressure.surge.exit_waiting: 5 is above enter_waiting 4",
        ],
    ),
    (
        "surge exit equal",
        {
            ("backpressure", "surge"): {
                "enter_wait_s": 10,
                "exit_wait_s": 10,
                "enter_waiting": 4,
                "exit_waiting": 4,
            }
        },
        [],
    ),
    (
        "surge queues caps",
        {
            ("backpressure", "surge"): {
                "enter_wait_s": 10,
                "queues": ["q", "zo"],
                "caps": {"fax": 1, "chat": 31, "email": 20},
            }
        },
        [
            "$.backpressure.surge.queues: unknown queue 'zo'",
            "$.backpressure.surge.caps.fax: unknown channel 'fax'",
            "$.backpressure.surge.caps.chat: 31 is above the channel's hard maximum 30",
        ],
    ),
    (
        "shift tenants serve",
        {
            ("queues", 1, "tenant"): "t",
            ("agents", 1, "shifts"): [
                {"start_s": 0, "tenants": ["t"], "queues": {"q": 1, "q2": 1}}
            ],
            ("backpressure", "overflow", "queues"): {},
        },
        [],
    ),
    (
        "shift queues serve",
        {
            ("agents", 0, "queues"): {"q": 1},
            ("agents", 1, "queues"): {"q": 1},
            ("agents", 1, "shifts"): [{"start_s": 0, "queues": {"q": 1, "q2": 1}}],
        },
        [],
    ),
    (
        "alike queues share an answer",
        {
            ("queues",): [
                {
                    "name": "q",
                    "requires": {"k": 1},
                    "steps": [{"after_s": 5, "requires": {"k": 1}}],
                    "hours": [{}],
                    "weights": {},
                },
                {"name": "q2"},
                {"name": "q3", "tenant": "u"},
                {"name": "q4"},
                {"name": "q5", "tenant": "u"},
            ],
            ("agents", 0, "queues"): None,
            ("agents", 1, "shifts"): [{"start_s": 0}],
        },
        [
            "$.queues[2].tenant: no agent profile serves tenant 'u'",
            "$.queues[4].tenant: no agent profile serves tenant 'u'",
        ],
    ),
    (
        "bounded every queue",
        {
            ("backpressure", "policy"): "block",
            ("queues", 0, "max_queue"): 3,
            ("queues", 1, "max_queue"): 3,
        },
        [],
    ),
    (
        "clock start",
        {("routing", "clock", "start"): "monday 9:00"},
        ["$.routing.clock.start: expected a day and a time like 'mon 00:00', got 'monday 9:00'"],
    ),
    ("clock start any case", {("routing", "clock", "start"): " Fri 18:00 "}, []),
    (
        "clock offset",
        {("routing", "clock", "unix"): True, ("routing", "clock", "utc_offset"): "+8"},
        ["$.routing.clock.utc_offset: expected an offset like '+08:00' or '-05:30', got '+8'"],
    ),
    (
        "clock offset ok",
        {("routing", "clock", "unix"): True, ("routing", "clock", "utc_offset"): "-05:30"},
        [],
    ),
    (
        "clock offset 24",
        {("routing", "clock", "unix"): True, ("routing", "clock", "utc_offset"): "+24:00"},
        ["$.routing.clock.utc_offset: expected an offset like '+08:00' or '-05:30', got '+24:00'"],
    ),
    (
        "unix with start",
        {("routing", "clock", "unix"): True, ("routing", "clock", "start"): "tue 00:00"},
        ["$.routing.clock.start: with unix = true, now is Unix time; leave start out"],
    ),
    (
        "offset without unix",
        {("routing", "clock", "utc_offset"): "+01:00"},
        ["$.routing.clock.utc_offset: applies only with unix = true (now as Unix time)"],
    ),
    (
        "at_close without hours",
        {("queues", 1, "at_close"): "closed"},
        ["$.queues[1].at_close: the queue has no hours"],
    ),
    ("at_close with hours", {("queues", 0, "at_close"): "closed"}, []),
    (
        "empty hours",
        {("queues", 1, "hours"): []},
        [
            "$.queues[1].hours: an empty list would never open; leave hours out for a queue that is always open"  # noqa: E501
        ],
    ),
    (
        "bad days",
        {
            ("queues", 1, "hours"): [
                {"days": "weekdays"},
                {"days": "mon-"},
                {"days": "fri-mon"},
                {"days": "mon-fri, sun"},
            ]
        },
        [
            "$.queues[1].hours[0].days: expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), got 'weekdays'",  # noqa: E501
            "$.queues[1].hours[1].days: expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), got 'mon-'",  # noqa: E501
        ],
    ),
    (
        "bad open",
        {("queues", 1, "hours"): [{"open": "8:00"}, {"open": "24:00"}, {"open": "23:59"}]},
        [
            "$.queues[1].hours[0].open: expected a time like '08:00', got '8:00'",
            "$.queues[1].hours[1].open: expected a time like '08:00', got '24:00'",
        ],
    ),
    (
        "bad close",
        {
            ("queues", 1, "hours"): [
                {"close": "25:00"},
                {"open": "08:00", "close": "08:00"},
                {"days": "x", "open": "x"},
            ]
        },
        [
            "$.queues[1].hours[0].close: expected a time like '08:00' (or '24:00'), got '25:00'",
            "$.queues[1].hours[1].close: equals open (08:00); for all day use open = '00:00', close = '24:00'",  # noqa: E501
            "$.queues[1].hours[2].days: expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), got 'x'",  # noqa: E501
            "$.queues[1].hours[2].open: expected a time like '08:00', got 'x'",
        ],
    ),
    (
        "cycle past the source",
        {
            ("queues",): [
                {
                    "name": "q",
                    "requires": {"k": 1},
                    "steps": [{"after_s": 5, "requires": {"k": 1}}],
                    "hours": [{}],
                    "weights": {},
                },
                {"name": "q2"},
                {"name": "q3"},
            ],
            ("backpressure", "overflow", "queues"): {
                "q": {"to": "q2", "after_s": 1},
                "q2": {"to": "q3", "after_s": 1},
                "q3": {"to": "q2", "after_s": 1},
            },
        },
        [
            "$.queues[2].name: every agent profile that could serve it leaves it out of queues",
            "$.backpressure.overflow.queues.q.to: overflow rules form a cycle through 'q2'",
            "$.backpressure.overflow.queues.q2.to: overflow rules form a cycle through 'q2'",
            "$.backpressure.overflow.queues.q3.to: overflow rules form a cycle through 'q3'",
        ],
    ),
]


@pytest.mark.parametrize(
    ("changes", "lines"), [c[1:] for c in SEMANTIC], ids=[c[0] for c in SEMANTIC]
)
def test_each_semantic_check_names_its_path_and_check_exits_2(
    tmp_path: Path, changes: dict[tuple[Any, ...], Any], lines: list[str]
) -> None:
    raw = _with(changes)
    assert _problems(raw) == lines
    code, out = _check(tmp_path, raw)
    assert (code, out if lines else []) == ((2, lines) if lines else (0, []))


# --- the admission control: mutB33's open ones ----------------------------------------

_OVERFLOW = """
[[queues]]
name = "main"
[[queues]]
name = "spill"
[backpressure]
policy = "overflow"
[backpressure.overflow.queues.main]
to = "spill"
after_s = 5
"""


def test_an_overflow_is_counted_as_a_move_out_of_its_line() -> None:
    # control.move tells the estimator (on_moved): the line's move rate feeds the next
    # arrival's expected wait. Dropped, the rate stayed 0.
    r = Router(config(_OVERFLOW))
    r.submit(inq("i1", queue="main"), 0)
    r.submit(inq("i2", queue="main"), 1)
    assert names(r.tick(10)) == ["Queued", "Queued", "Overflowed", "Overflowed"]
    assert r._estimator.move_rate("main", 10) > 0.0
    assert r._estimator.move_rate("spill", 10) == 0.0


def test_only_an_arrival_in_its_queues_own_pool_sets_the_queues_staffing() -> None:
    # arrival_wait restaffs the estimator with the pool's eligible agents only for a plain
    # arrival (step 0, no extra requirement, the queue's tenant): an arrival needing
    # refund 3 is in a pool of one agent, not the queue's two.
    r = Router(config('[[queues]]\nname = "main"\nrequires = { refund = 1 }\n'))
    r.login(agent("a1", level=3), 0)
    r.login(agent("a2", level=1), 0)
    r.submit(inq("i1", queue="main"), 0)
    r.submit(inq("i2", queue="main"), 0)
    r.tick(0)
    r.accept("i1", 1)
    r.accept("i2", 1)
    assert names(r.tick(1)) == ["Assigned", "Assigned"]
    r.submit(inq("x", queue="main"), 2)
    assert r._estimator.rates["main"].staff == 2.0
    r.submit(inq("y", queue="main", requires={"refund": 3}), 3)
    assert r._estimator.rates["main"].staff == 2.0


#: (case, TOML text, the one line ``router check`` prints): TOML allows nan and inf
NONFINITE: list[tuple[str, str, str]] = [
    (
        "dict value",
        '[[queues]]\nname = "q"\n[[agents]]\nqueues = { q = inf }\n',
        "$.agents[0].queues.q: must be a finite number, got inf",
    ),
    (
        "list item",
        "[statistics]\nwindows = [300.0, inf]\n",
        "$.statistics.windows[1]: must be a finite number, got inf",
    ),
    (
        "scalar",
        "[routing]\noffer_timeout_s = nan\n",
        "$.routing.offer_timeout_s: must be a finite number, got nan",
    ),
    (
        "struct in a list",
        '[[queues]]\nname = "q"\n[[agents]]\nshifts = [{ start_s = inf }]\n',
        "$.agents[0].shifts[0].start_s: must be a finite number, got inf",
    ),
    (
        "attribute",
        '[[queues]]\nname = "q"\n[[agents]]\nattributes = { tier = nan }\n',
        "$.agents[0].attributes.tier: must be a finite number, got nan",
    ),
    (
        "attribute list item",
        '[[queues]]\nname = "q"\n[[agents]]\nattributes = { tier = [1.0, -inf] }\n',
        "$.agents[0].attributes.tier[1]: must be a finite number, got -inf",
    ),
    (
        "optional table",
        '[[queues]]\nname = "q"\n[backpressure.surge]\nenter_wait_s = inf\n',
        "$.backpressure.surge.enter_wait_s: must be a finite number, got inf",
    ),
]


@pytest.mark.parametrize(
    ("text", "line"), [c[1:] for c in NONFINITE], ids=[c[0] for c in NONFINITE]
)
def test_nan_and_inf_in_a_file_are_refused_at_their_path(
    tmp_path: Path, text: str, line: str
) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    out = io.StringIO()
    assert (check_main([str(f)], out=out), out.getvalue().splitlines()) == (2, [line])


def test_a_config_built_in_python_is_checked_against_the_schema_and_for_nonfinite() -> None:
    assert config_problems(RouterConfig(queues=[QueueConfig(name="q", priority=10**30)])) == [
        "$.queues[0].priority: Expected int <= 1000"
    ]
    cfg = RouterConfig(agents=[AgentProfile(queues={"q": INF})], queues=[QueueConfig(name="q")])
    assert config_problems(cfg) == ["$.agents[0].queues.q: must be a finite number, got inf"]
    assert config_problems("x") == ["$: expected a RouterConfig, got str"]


# --- the heaps: the compiled build's entry heaps against heapq, ties included ---------


def _tuples(heap: list[Any]) -> list[tuple[float, int]]:
    return [(e[0], e[1]) for e in heap]


@pytest.mark.parametrize("seed", range(12))
def test_vector_agent_heap_lays_out_and_pops_as_heapq_with_many_ties(seed: int) -> None:
    """The compiled build's agent heap (router/state/vecheap.py; every entry live here):
    ``heapq``'s layout after every push and pop, ties on the key decided by ``ss``."""
    pytest.importorskip("librt.vecs", reason="the compiled build's agent heap needs librt")
    from router.state.vecheap import AgentHeap

    rng = random.Random(seed)
    h = AgentHeap()
    ref: list[tuple[float, int]] = []
    for s in rng.sample(range(1000), 200):
        if ref and rng.random() < 0.35:
            got = (h.keys[0], h.ss[0])
            h.pop()
            assert got == heapq.heappop(ref)
        else:
            k = float(rng.randrange(3))
            h.push(k, s)
            heapq.heappush(ref, (k, s))
        assert [(h.keys[i], h.ss[i]) for i in range(h.n)] == ref


@pytest.mark.parametrize("kind", ["deadline"])
@pytest.mark.parametrize("seed", range(12))
def test_entry_heaps_lay_out_and_pop_as_heapq_with_many_ties(kind: str, seed: int) -> None:
    # keys from three values: most compares are ties decided by seq (pushed out of order)
    rng = random.Random(seed)
    make: Callable[[float, int], Any] = lambda k, s: DeadlineEntry(k, s, 0, None, s)  # noqa: E731
    push, pop, heapify_ = (
        lazyheap.deadline_push,
        lazyheap.deadline_pop,
        lazyheap.deadline_heapify,
    )
    seqs = rng.sample(range(1000), 200)
    ours: list[Any] = []
    ref: list[tuple[float, int]] = []
    for s in seqs:
        if ref and rng.random() < 0.35:
            got = pop(ours)
            want = heapq.heappop(ref)
            assert (got[0], got[1]) == want
        else:
            k = float(rng.randrange(3))
            push(ours, make(k, s))
            heapq.heappush(ref, (k, s))
        assert _tuples(ours) == ref
    while ref:
        got = pop(ours)
        assert (got[0], got[1]) == heapq.heappop(ref)
        assert _tuples(ours) == ref
    # heapify of an unordered list, then pops
    items = [(float(rng.randrange(3)), s) for s in rng.sample(range(1000), 50 + seed)]
    ours = [make(k, s) for k, s in items]
    heapify_(ours)
    heapq.heapify(items)
    assert _tuples(ours) == items
    assert [tuple(pop(ours))[:2] for _ in range(len(items))] == [
        heapq.heappop(items) for _ in range(len(items))
    ]


def test_entry_order_is_key_then_seq() -> None:
    for make in (lambda k, s: DeadlineEntry(k, s, 0, None, 0),):
        assert make(1.0, 5) < make(2.0, 1)
        assert not make(2.0, 1) < make(1.0, 5)
        assert make(1.0, 1) < make(1.0, 2)
        assert not make(1.0, 2) < make(1.0, 1)
        assert not make(1.0, 1) < make(1.0, 1)


def test_bloated_is_past_twice_the_live_entries_plus_64() -> None:
    assert not lazyheap.bloated(2 * 10 + 64, 10)
    assert lazyheap.bloated(2 * 10 + 65, 10)
    assert not lazyheap.bloated(64, 0)
    assert lazyheap.bloated(65, 0)


# --- the estimator: its state through a snapshot ---------------------------------------

_ESTIMATE = """
[routing]
priority_seconds = 60
[[queues]]
name = "main"
[[queues]]
name = "spill"
[backpressure]
policy = "overflow"
[backpressure.overflow.queues.main]
to = "spill"
after_s = 50
"""


def _estimated_router() -> tuple[Router, float]:
    """Arrivals of two priorities, answers, completions, abandons and overflow moves: every
    part of the estimator's state measured."""
    r = Router(config(_ESTIMATE))
    r.login(agent("a1"), 0)
    t = 0.0
    busy: list[str] = []
    for k in range(40):
        t += 7.0
        if busy and k % 2:
            r.complete(busy.pop(), t)
        prio = 5 if k % 3 == 0 else 0
        r.submit(inq(f"i{k}", queue="main", priority=prio, patience_s=30.0 if k % 4 else None), t)
        for e in r.tick(t):
            if type(e).__name__ == "Offered":
                r.accept(e.inquiry_id, t)
                busy.append(e.inquiry_id)
    return r, t


def test_a_restored_estimator_estimates_as_the_one_it_was() -> None:
    r, t = _estimated_router()
    rates = r._estimator.rates["main"]
    assert len(rates.gap_order) == 2 and rates.mv_n > 0 and rates.abandon > 0
    assert rates.handle > 0
    snap = r.snapshot()
    b = Router.restore(snap)
    assert b.snapshot() == snap
    assert b._estimator.rates["main"].gap_order == rates.gap_order
    for k, prio in enumerate((0, 5, 0)):
        now = t + 1 + k
        x = r.submit(inq(f"z{k}", queue="main", priority=prio), now)
        y = b.submit(inq(f"z{k}", queue="main", priority=prio), now)
        assert x.expected_wait_s == y.expected_wait_s > 0.0
    assert b.snapshot() == r.snapshot()


def test_window_problems_name_each_bad_window_and_bucket() -> None:
    # also the Monitor's arguments: values the schema never saw
    assert window_problems([300.0], 0) == ["bucket_s: must be a positive number, got 0"]
    assert window_problems([300.0], "10") == ["bucket_s: must be a positive number, got '10'"]
    assert window_problems([10.0, "x", 3.0, 20.0], 10.0) == [
        "windows[1]: 'x' must be a number >= bucket_s (10)",
        "windows[2]: 3 must be a number >= bucket_s (10)",
    ]
    assert window_problems([10.0 * 100_000, 10.0 * 100_000 + 10.0], 10.0) == [
        "windows[1]: 1.00001e+06 s spans more than 100,000 buckets of 10 s (raise bucket_s)"
    ]


#: (case, changes to BASE, every line ``router check`` prints): schema mistakes, each at
#: its path, independent ones all reported (router/config/problems.py's walker)
STRUCTURE: list[tuple[str, dict[tuple[Any, ...], Any], list[str]]] = [
    (
        "two queues",
        {("queues", 0, "priority"): "high", ("queues", 1, "requires"): {"refund": 0}},
        [
            "$.queues[0].priority: Expected int, got str",
            "$.queues[1].requires.refund: Expected int >= 1",
        ],
    ),
    (
        "unknown field",
        {("queues", 1, "colour"): "red"},
        [
            "$.queues[1]: unknown field 'colour'; known: name, channel, requires, priority, tenant, answer_target_s, steps, weights, heavy, on_remove, max_queue, hours, closed, at_close, match, distribution, max_offers, preferred_wait_s"  # noqa: E501
        ],
    ),
    (
        "unknown feature",
        {("routing", "weights", "speed"): 1},
        [
            "$.routing.weights: unknown feature 'speed'; known: proficiency, idle_time, load, recent_work, recent_count, heavy_streak"  # noqa: E501
        ],
    ),
    (
        "missing required",
        {("queues", 1, "steps"): [{"after_s": 5}, {}]},
        ["$.queues[1].steps[1]: missing required field 'after_s'"],
    ),
    (
        "bad key",
        {("agents", 0, "capacity"): {"": 1, "voice": 1}},
        ["$.agents[0].capacity: invalid key '': Expected str of length >= 1"],
    ),
    (
        "quoted key",
        {("queues", 1, "requires"): {"a b": 0}},
        ['$.queues[1].requires["a b"]: Expected int >= 1'],
    ),
    (
        "unknown mode",
        {("routing", "mode"): "fast"},
        ["$.routing.mode: unknown value 'fast'; known: immediate, offer"],
    ),
    (
        "unknown policy",
        {("backpressure", "policy"): ["admit_all", "nope"]},
        [
            "$.backpressure.policy[1]: unknown policy 'nope'; known: admit_all, block, callback, codel, deflect, overflow, reject_when_full, shed_lowest_priority, token_bucket"  # noqa: E501
        ],
    ),
    ("not a list", {("queues",): 5}, ["$.queues: Expected array, got int"]),
    (
        "list item",
        {("statistics", "windows"): [300, "x"]},
        ["$.statistics.windows[1]: Expected float, got str"],
    ),
    (
        "list items",
        {("statistics", "windows"): ["x", 300, "y"]},
        [
            "$.statistics.windows[0]: Expected float, got str",
            "$.statistics.windows[2]: Expected float, got str",
        ],
    ),
    (
        "optional table",
        {("backpressure", "surge"): 5},
        ["$.backpressure.surge: Expected object | null, got int"],
    ),
    (
        "optional table field",
        {("backpressure", "surge"): {"enter_wait_s": "x"}},
        ["$.backpressure.surge.enter_wait_s: Expected float | null, got str"],
    ),
    (
        "tuple-less",
        {("queues", 1, "hours"): [{"days": 5}]},
        ["$.queues[1].hours[0].days: Expected str, got int"],
    ),
    (
        "top level",
        {("queue",): []},
        [
            "$: unknown field 'queue'; known: routing, channels, queues, wellbeing, backpressure, agents, statistics"  # noqa: E501
        ],
    ),
]


@pytest.mark.parametrize(
    ("changes", "lines"), [c[1:] for c in STRUCTURE], ids=[c[0] for c in STRUCTURE]
)
def test_each_schema_mistake_is_reported_at_its_path(
    tmp_path: Path, changes: dict[tuple[Any, ...], Any], lines: list[str]
) -> None:
    assert _check(tmp_path, _with(changes)) == (2, lines)


def test_a_nonfinite_value_beside_a_schema_mistake_is_reported_too(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        '[routing]\noffer_timeout_s = nan\nmode = "fast"\n[[queues]]\nname = "q"\npriority = "x"\n'
    )
    out = io.StringIO()
    assert check_main([str(f)], out=out) == 2
    assert out.getvalue().splitlines() == [
        "$.routing.mode: unknown value 'fast'; known: immediate, offer",
        "$.routing.offer_timeout_s: must be a finite number, got nan",
        "$.queues[0].priority: Expected int, got str",
    ]


# --- the named policy timers -----------------------------------------------------------


class _Ops:
    """The two things NamedTimers reads of the core: the time and the deadline heap."""

    def __init__(self) -> None:
        self.now = 0.0
        self.scheduled: list[tuple[float, str, int]] = []

    def schedule(self, when: float, timer: Any, purpose: int) -> None:
        self.scheduled.append((when, timer.name, purpose))


def test_a_named_timer_is_covered_only_by_an_earlier_pending_one_of_its_name() -> None:
    ops = _Ops()
    timers = NamedTimers(ops)  # type: ignore[arg-type]
    ops.now = 5.0
    timers.schedule("a", 5.0, "x", 1)  # now: dropped (it would fire again at once)
    timers.schedule("a", 4.0, "x", 1)  # the past: dropped
    assert ops.scheduled == [] and timers.at == {}
    timers.schedule("a", 20.0, "x", 1)
    timers.schedule("a", 30.0, "x", 1)  # covered by 20
    timers.schedule("a", 20.0, "x", 1)  # covered by 20 (equal)
    timers.schedule("b", 30.0, "y", 2)  # another name: not covered
    timers.schedule("a", 10.0, "z", 1)  # before 20: scheduled, now the one pending
    assert ops.scheduled == [(20.0, "a", 1), (30.0, "b", 2), (10.0, "a", 1)]
    assert timers.at == {"a": 10.0, "b": 30.0}
    a = timers.timers["a"]
    assert a.target == "z" and a.id == "\x00a" and timers.live(a)
    ops.now = 10.0
    timers.schedule("a", 12.0, "x", 1)  # covered: the pending one fires now
    assert len(ops.scheduled) == 3
    timers.fired(a)  # the pending one fired: a new request is no longer covered
    assert "a" not in timers.at
    ops.now = 11.0
    timers.fired(timers.timers["b"])  # not b's time: b stays pending
    assert timers.at == {"b": 30.0}
    timers.schedule("a", 25.0, "x", 1)
    assert ops.scheduled[-1] == (25.0, "a", 1)
    assert not timers.live(NamedTimer("a", None))  # another object of the name


def test_named_timers_dump_in_time_order_not_seq_order() -> None:
    ops = _Ops()
    timers = NamedTimers(ops)  # type: ignore[arg-type]
    timers.schedule("late", 30.0, None, 2)
    timers.schedule("early", 20.0, None, 1)
    late, early = timers.timers["late"], timers.timers["early"]
    ops.policy_timers = lambda: [(30.0, 1, late, 2), (20.0, 2, early, 1)]  # type: ignore[attr-defined]
    assert timers.dump() == (
        [[20.0, 2, 1, "early"], [30.0, 1, 2, "late"]],
        {"late": 30.0, "early": 20.0},
    )


def test_clock_and_hours_parse_to_their_seconds() -> None:
    assert clock_offset_s("fri 18:00") == 4 * 86400 + 18 * 3600
    assert clock_offset_s(" SUN 23:59 ") == 6 * 86400 + 23 * 3600 + 59 * 60
    assert parse_utc_offset("-05:30") == -(5 * 3600 + 30 * 60)
    assert parse_utc_offset("+08:15") == 8 * 3600 + 15 * 60
    assert parse_days("fri-mon") == [0, 4, 5, 6]
    assert parse_days("mon-fri,sun") == [0, 1, 2, 3, 4, 6]
    assert parse_days("sun") == [6]
    assert parse_days("tue-tue") == [1]
    assert parse_time_of_day("24:00", allow_24=True) == 86400
    assert parse_time_of_day("23:59") == 23 * 3600 + 59 * 60
    with pytest.raises(ValueError, match=r"^expected a time like '08:00', got '24:00'$"):
        parse_time_of_day("24:00")


def test_a_profiles_agent_has_its_fields_and_its_times_from_the_offset() -> None:
    p = AgentProfile(
        skills={"k": 2},
        capacity={"voice": 1, "chat": 3},
        units=4,
        tenants=["t", "s"],
        queues={"q": 0.5},
        wrap_up_s=7.0,
        shift_end_s=100.0,
        attributes={"tier": "gold"},
    )
    spec = profile_agent(p, "a-1", "team", 1000.0)
    assert (spec.id, spec.team, spec.skills, spec.capacity, spec.units) == (
        "a-1",
        "team",
        {"k": 2},
        {"voice": 1, "chat": 3},
        4,
    )
    assert (spec.tenants, spec.queues, spec.wrap_up_s, spec.shift_end) == (
        frozenset({"t", "s"}),
        {"q": 0.5},
        7.0,
        1100.0,
    )
    assert spec.attributes == {"tier": "gold"} and spec.shifts == []
    assert profile_agent(AgentProfile(), "b", "x").shift_end is None
    shifted = profile_agent(
        AgentProfile(shifts=[Shift(start_s=0.0, end_s=60.0), Shift(start_s=90.0)]), "c", "x", 10.0
    )
    assert [(s.start_s, s.end_s) for s in shifted.shifts] == [(10.0, 70.0), (100.0, None)]


#: (file name, its text, the one line ``router check`` prints, exit code)
FILES: list[tuple[str, str, str, int]] = [
    ("a.ini", "x", "$: unknown file type '.ini'; use .toml, .tml, .json, .yaml or .yml", 2),
    (
        "b.toml",
        "[routing\n",
        "$: malformed TOML: Expected ']' at the end of a table declaration (at line 1, column 9)",
        2,
    ),
    ("c.json", "{", "$: malformed JSON: Input data was truncated", 2),
    ("e.toml", "", "$: the config is empty: expected tables such as [routing] and [[queues]]", 2),
    ("f.json", "{}", "$: the config is empty: expected tables such as [routing] and [[queues]]", 2),
    (
        "h.yaml",
        "routing: {mode: offer}\n",
        "ok: 0 queues, 0 agent profiles (0 agents), policy admit_all",
        0,
    ),
    ("i.yml", "queues: 5\n", "$.queues: Expected array, got int", 2),
]


@pytest.mark.parametrize(("name", "text", "line", "code"), FILES, ids=[f[0] for f in FILES])
def test_each_file_problem_is_one_line_and_exit_2(
    tmp_path: Path, name: str, text: str, line: str, code: int
) -> None:
    f = tmp_path / name
    f.write_text(text)
    out = io.StringIO()
    assert (check_main([str(f)], out=out), out.getvalue().splitlines()) == (code, [line])


def test_a_missing_file_and_a_missing_yaml_module_are_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "g.toml"
    out = io.StringIO()
    assert check_main([str(missing)], out=out) == 2
    assert out.getvalue().splitlines() == [f"$: cannot read {missing}: No such file or directory"]
    f = tmp_path / "j.yaml"
    f.write_text("routing: {}\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml: ImportError
    out = io.StringIO()
    assert check_main([str(f)], out=out) == 2
    assert out.getvalue().splitlines() == [
        "$: YAML needs PyYAML: pip install 'inquiry-router[yaml]'"
    ]


def test_expected_wait_through_announced_staffing_changes() -> None:
    e = WaitEstimator()  # no measurements: 180 s a handle (the prior)
    # nobody now, one agent from 60 s: the third in line waits 60 + 3 * 180
    assert e.expected_wait("q", 3, staff=0.0, changes=[(60.0, 1)]) == 600.0
    assert e.expected_wait("q", 1, staff=0.0, changes=[(60.0, 1)]) == 240.0
    # the only agent leaves before the line is served: never (not a rate of one agent)
    assert e.expected_wait("q", 3, staff=0.0, changes=[(60.0, 1), (120.0, -1)]) == INF
    assert e.expected_wait("q", 3, staff=1.0, changes=[(60.0, -1)]) == INF


def test_a_change_of_no_agents_changes_no_estimate_with_overtaking_arrivals() -> None:
    e = WaitEstimator()
    for t in range(0, 600, 10):
        e.on_arrival("q", 5, float(t))
        e.on_arrival("q", 0, t + 5.0)
    kw: dict[str, Any] = {"priority_seconds": 60.0, "staff": 2.0, "now": 600.0}
    base = e.expected_wait("q", 3, priority=0, **kw)
    assert base > e.expected_wait("q", 3, **kw)  # the priority 5 arrivals overtake it
    assert e.expected_wait("q", 3, priority=0, changes=[(1e9, 0)], **kw) == base


def test_moves_out_of_the_line_shorten_an_overtaken_arrivals_wait() -> None:
    def estimator(moves: int) -> WaitEstimator:
        e = WaitEstimator()
        for t in range(0, 600, 10):
            e.on_arrival("q", 5, float(t))
            e.on_arrival("q", 0, t + 5.0)
        for k in range(moves):
            e.on_moved("q", 550.0 + k, 30.0)
        return e

    kw: dict[str, Any] = {"priority": 0, "priority_seconds": 60.0, "staff": 2.0, "now": 600.0}
    still = estimator(0).expected_wait("q", 3, **kw)
    moved = estimator(20).expected_wait("q", 3, **kw)
    assert 0.0 < moved < still


# --- the admission policies --------------------------------------------------------------


def test_token_buckets_past_64_forget_the_full_ones_and_keep_a_slow_limit() -> None:
    # 64 queues' buckets: the next new one compacts them (a full bucket is no bucket); q0's
    # own limit (one token per 1000 s) keeps its empty bucket, so q0 stays limited
    queues = "".join(f'[[queues]]\nname = "q{i}"\n' for i in range(66))
    r = Router(
        config(
            queues + '[backpressure]\npolicy = "token_bucket"\n[backpressure.token_bucket]\n'
            'per = "queue"\nrate_per_s = 1\nburst = 1\n'
            "[backpressure.token_bucket.limits.q0]\nrate_per_s = 0.001\nburst = 1\n"
        )
    )
    for i in range(64):
        assert r.submit(inq(f"a{i}", queue=f"q{i}"), 0).outcome == "admitted"
    (bucket,) = [p for p in r._bp.chain if type(p).__name__ == "TokenBucket"]
    assert len(bucket.buckets) == 64
    assert r.submit(inq("b64", queue="q64"), 10).outcome == "admitted"
    assert sorted(bucket.buckets) == ["q0", "q64"] and bucket._compact_at == 2 * 1 + 64
    refused = r.submit(inq("b0", queue="q0"), 10)
    assert (refused.outcome, refused.reason) == (
        "rejected",
        "rate_limited: queue q0 above 0.001/s (burst 1)",
    )
    assert r.submit(inq("b1", queue="q1"), 10).outcome == "admitted"  # full again: admitted


def test_surge_relaxes_every_waiting_inquiry_past_one_already_assigned() -> None:
    r = Router(config(RELAXING_SURGE))
    r.login(agent("a1", level=3), 0)
    r.submit(inq("i1", queue="main"), 0)
    r.tick(0)
    r.accept("i1", 1)  # i1, first of the tickets, is not waiting
    r.login(agent("a2", level=1), 2)  # serves the relaxed step only
    r.submit(inq("i2", queue="main"), 2)
    r.submit(inq("i3", queue="main"), 2)
    assert names(r.tick(2)) == ["Assigned", "AgentLoggedIn", "Queued", "Queued"]
    assert names(r.tick(5)) == []
    events = r.tick(12)
    assert names(events) == ["SurgeStarted", "Offered"]
    assert (events[1].inquiry_id, events[1].agent_id) == ("i2", "a2")


def test_a_queue_closing_with_at_close_serve_closes_no_inquiry() -> None:
    text = '[[queues]]\nname = "main"\nhours = [{ open = "08:00", close = "09:00" }]\n'
    r = Router(config(text, decline_memory="forever"))  # (a1 alone: a round of one)
    r.login(agent("a1"), 0)
    r.submit(inq("x", queue="main"), 8 * 3600 + 10)
    r.tick(8 * 3600 + 20)  # offered; the offer expires at the close: x waits
    events = r.tick(9 * 3600)
    assert names(events) == ["OfferExpired", "Requeued", "QueueClosed"]
    assert events[-1].outcomes == 0
    # at_close = "closed" with nobody waiting: none either
    r = Router(
        config(
            '[[queues]]\nname = "main"\nat_close = "closed"\n'
            'hours = [{ open = "08:00", close = "09:00" }]\n'
        )
    )
    r.tick(8 * 3600)
    events = r.tick(9 * 3600)
    assert names(events) == ["QueueClosed"] and events[0].outcomes == 0


def test_a_callback_withdrawn_between_attempts_no_longer_holds_a_retry() -> None:
    r = Router(
        config(
            '[[queues]]\nname = "main"\n[backpressure]\npolicy = "callback"\n'
            "[backpressure.callback]\nmin_wait_s = 1\nretry_s = 100\n"
        )
    )
    r.login(agent("a1"), 0)
    r.submit(inq("i0", queue="main"), 0)
    r.tick(0)
    r.accept("i0", 0)
    assert r.submit(inq("i1", queue="main"), 1).outcome == "callback"
    r.complete("i0", 2)
    r.tick(2)
    r.accept("i1", 3)
    r.callback_failed("i1", 4)  # parked until its retry at 104
    assert names(r.tick(4)) == ["Assigned", "Requeued"]
    cb = r._bp.callbacks
    assert list(cb.retrying) == ["i1"] and cb.retrying_in["main"] == 1
    r.withdraw("i1", 5)
    assert names(r.tick(5)) == ["Withdrawn"]
    assert cb.retrying == {} and cb.retrying_in["main"] == 0


def test_a_restored_router_keeps_an_outbound_tasks_deadline() -> None:
    r = Router(
        config(
            '[[queues]]\nname = "calls"\n[[queues]]\nname = "task"\nchannel = "task"\n'
            '[backpressure]\npolicy = "admit_all"\n[backpressure.outbound]\nqueues = ["task"]\n'
            "reserve_idle = 1\ndeadline_s = { task = 50 }\n"
        )
    )
    r.login(agent("a1"), 0)
    r.submit(inq("t1", queue="task"), 1)
    assert names(r.tick(1)) == ["AgentLoggedIn", "Queued"]  # held: a1 is the reserve
    snap = r.snapshot()
    b = Router.restore(snap)
    assert b._bp.outbound.deadlines == r._bp.outbound.deadlines == {"t1": 51.0}
    assert b.snapshot() == snap
    assert names(r.tick(60)) == names(b.tick(60)) == ["TaskExpired"]


def test_live_tickets_is_a_heap_of_the_live_entries() -> None:
    if router.compiled:  # compiled, the entries must hold Ticket records, not these stand-ins
        pytest.skip("the compiled live_tickets takes Ticket records only")

    class T:
        def __init__(self, ver: int, state: int) -> None:
            self.ver, self.state = ver, state

    rng = random.Random(7)
    heap: list[Any] = []
    for seq in range(60):
        t = T(rng.randrange(2), WAITING if rng.random() < 0.8 else WAITING + 1)
        heapq.heappush(heap, (float(rng.randrange(100)), seq, 1, t))
    live = lazyheap.live_tickets(heap)
    want = sorted(e for e in heap if e[3].ver == 1 and e[3].state == WAITING)
    assert all(live[(i - 1) // 2][:2] <= live[i][:2] for i in range(1, len(live)))  # a heap
    assert [heapq.heappop(live) for _ in range(len(want))] == want


def test_a_queue_taken_out_of_outbound_releases_its_held_tasks() -> None:
    text = (
        '[[queues]]\nname = "calls"\n[[queues]]\nname = "task"\nchannel = "task"\n'
        '[backpressure]\npolicy = "admit_all"\n[backpressure.outbound]\n'
        "queues = [%s]\nreserve_idle = 1\n"
    )
    r = Router(config(text % '"task"'))
    r.login(agent("a1"), 0)
    r.submit(inq("t1", queue="task"), 1)
    assert names(r.tick(1)) == ["AgentLoggedIn", "Queued"]
    assert list(r._bp.outbound.holding) == ["t1"]  # held for idle capacity
    r.reconfigure(config(text % ""), 2)
    assert names(r.tick(2)) == ["Reconfigured"]
    assert r._bp.outbound.holding == {}
