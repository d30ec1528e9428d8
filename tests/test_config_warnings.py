"""Warnings: settings a valid config accepts but that cannot take effect.

Each rule has a config that triggers it and a close one that must not. Where the
rule is about runtime behaviour, a short simulation shows the setting is inert:
the events with it equal the events without it (and the close, unwarned config
does change them, so the run would have seen an effect). Then the channels:
``router check`` (exit codes, ``--strict``), ``router simulate``, the reload
watcher and the operator page; and every example config checks clean.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest

from router.cli.check import check_main
from router.config import RouterConfig, config_warnings, decode_config
from router.policies import register_policy, unregister_policy
from router.policies.admission import AdmitAll
from router.reload import ConfigWatcher
from router.sim.engine import simulate
from router.sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(
    [*ROOT.glob("examples/*.toml"), *(ROOT / "examples" / "configs").iterdir()],
    key=lambda p: p.name,
)

#: a small overloaded day: six voice agents (four leave at 30 min), heavy complaints
BASE = """
[routing]
mode = "offer"
[[queues]]
name = "complaints"
heavy = true
[[queues]]
name = "orders"
[[agents]]
name = "desk"
count = 4
shift_end_s = 1800
[[agents]]
name = "late"
count = 2
[simulation]
duration_s = 3600
seed = 7
[[arrivals]]
queue = "complaints"
rate_per_s = 0.02
handle_time = { dist = "exponential", mean_s = 200 }
[[arrivals]]
queue = "orders"
rate_per_s = 0.03
handle_time = { dist = "exponential", mean_s = 100 }
patience = { dist = "exponential", mean_s = 900 }
"""

SURGE = "\n[backpressure.surge]\nenter_waiting = 5\nenter_after_s = 0\n"


def scenario(text: str) -> Scenario:
    return decode_config(text.encode(), "toml", Scenario)


def warned(text: str) -> list[str]:
    return config_warnings(scenario(text))


def events(text: str) -> list[str]:
    """Every event of a run of the scenario, as text (time, version, ids, reasons)."""
    out: list[str] = []

    def hook(ev: Any) -> bool:
        out.append(repr(ev))
        return True

    simulate(scenario(text), on_event=hook)
    return out


def queue_orders(*lines: str) -> str:
    return BASE.replace('name = "orders"\n', 'name = "orders"\n' + "".join(f"{x}\n" for x in lines))


def routing(*lines: str) -> str:
    return BASE.replace('mode = "offer"\n', "".join(f"{x}\n" for x in lines))


def wellbeing(*lines: str, extra: str = "") -> str:
    return BASE + "\n[wellbeing]\n" + "".join(f"{x}\n" for x in lines) + extra


def test_base_scenario_has_no_warning() -> None:
    assert warned(BASE) == []
    assert warned(BASE + SURGE) == []


# ---------------------------------------------------------------- surge override


def test_suspend_in_surge_without_a_surge_section() -> None:
    text = wellbeing("max_overtime_s = 900", 'suspend_in_surge = ["shift"]')
    assert warned(text) == [
        "$.wellbeing.suspend_in_surge: the router is never in surge without a "
        "[backpressure.surge] section; add one or drop suspend_in_surge"
    ]
    assert events(text) == events(BASE)
    with_surge = wellbeing("max_overtime_s = 900", 'suspend_in_surge = ["shift"]', extra=SURGE)
    assert warned(with_surge) == []
    assert events(with_surge) != events(BASE + SURGE)  # overtime in surge: the agents stay


@pytest.mark.parametrize(
    ("guardrail", "off", "on", "why"),
    [
        (
            "continuous_work",
            "",
            "max_continuous_work_s = 600",
            "max_continuous_work_s is not set (no break rule to suspend)",
        ),
        (
            "heavy",
            "",
            "max_consecutive_heavy = 1",
            "max_consecutive_heavy is not set (no heavy-streak rule to suspend)",
        ),
        (
            "cooldown",
            "",
            "cooldown_after_heavy_s = 60",
            "cooldown_after_heavy_s is not set (no cooldown to suspend)",
        ),
        (
            "shift",
            "max_overtime_s = 0",
            "max_overtime_s = 900",
            "max_overtime_s is 0 (a suspended shift end still stops new work at the shift's end)",
        ),
    ],
)
def test_suspending_a_guardrail_that_is_off(guardrail: str, off: str, on: str, why: str) -> None:
    suspend = f'suspend_in_surge = ["{guardrail}"]'
    text = wellbeing(off, suspend, extra=SURGE)
    assert warned(text) == [
        f"$.wellbeing.suspend_in_surge[0]: suspending {guardrail!r} does nothing: {why}"
    ]
    assert events(text) == events(wellbeing(off, extra=SURGE))
    # with the guardrail on, suspending it changes the run and is not warned about
    assert warned(wellbeing(on, suspend, extra=SURGE)) == []
    assert events(wellbeing(on, suspend, extra=SURGE)) != events(wellbeing(on, extra=SURGE))


# ---------------------------------------------------------------- wellbeing companions


def test_max_overtime_without_shift_suspended() -> None:
    text = wellbeing("max_overtime_s = 900", extra=SURGE)
    assert warned(text) == [
        "$.wellbeing.max_overtime_s: 900 does nothing unless suspend_in_surge names "
        '"shift" (overtime exists only then, in a surge)'
    ]
    assert events(text) == events(BASE + SURGE)
    assert warned(wellbeing("max_overtime_s = 0", extra=SURGE)) == []


def test_break_deferral_without_a_break_share() -> None:
    text = wellbeing("max_continuous_work_s = 600", "max_break_deferral_s = 60")
    assert warned(text) == [
        "$.wellbeing.max_break_deferral_s: does nothing without max_break_share "
        "(no break is deferred)"
    ]
    assert events(text) == events(wellbeing("max_continuous_work_s = 600"))
    share = ("max_continuous_work_s = 600", "max_break_share = 0.2")
    assert warned(wellbeing(*share, "max_break_deferral_s = 60")) == []
    assert events(wellbeing(*share, "max_break_deferral_s = 60")) != events(wellbeing(*share))


def test_a_break_window_of_0_is_off_for_both_warnings() -> None:
    # tidy51 (mutT50's note): 0 is off (docs/tuning.md, the core's `_early_s`), and the
    # drain warning read it so ("does nothing without break_window_s") while the window's
    # own warning took a 0 window for a set one that lacked its share
    work = "max_continuous_work_s = 600"
    assert warned(wellbeing(work, "break_window_s = 0")) == []
    share = (work, "max_break_share = 0.2")
    assert events(wellbeing(*share, "break_window_s = 0")) == events(wellbeing(*share))
    assert warned(wellbeing(*share, "break_window_s = 0", "drain_for_break = true")) == [
        "$.wellbeing.drain_for_break: does nothing without break_window_s "
        "(no break is brought forward to drain for)"
    ]
    # a window above 0 without its share is still warned
    assert warned(wellbeing(work, "break_window_s = 60")) == [
        "$.wellbeing.break_window_s: does nothing without max_break_share "
        "(no break falls due to be brought forward under a share)"
    ]


def test_cooldown_settings_without_a_cooldown() -> None:
    text = wellbeing("cooldown_s = 600", 'cooldown_from = "heavy"')
    assert warned(text) == [
        "$.wellbeing.cooldown_s: does nothing without cooldown_after_heavy_s (no cooldown starts)",
        "$.wellbeing.cooldown_from: does nothing without cooldown_after_heavy_s "
        "(no cooldown starts)",
    ]
    assert events(text) == events(BASE)
    after = "cooldown_after_heavy_s = 60"
    assert warned(wellbeing(after, "cooldown_s = 600")) == []
    assert events(wellbeing(after, "cooldown_s = 600")) != events(wellbeing(after))


# ---------------------------------------------------------------- backpressure


@pytest.mark.parametrize(
    ("policy", "table"),
    [
        ("deflect", "[backpressure.deflect]\nmax_wait_s = 30"),
        ("callback", "[backpressure.callback]\nmin_wait_s = 30"),
        ("overflow", '[backpressure.overflow.queues.orders]\nto = "complaints"\nafter_s = 30'),
        ("codel", "[backpressure.codel]\ntarget_s = 10\ninterval_s = 30"),
        ("token_bucket", "[backpressure.token_bucket]\nrate_per_s = 0.01\nburst = 1"),
    ],
)
def test_a_policy_table_without_the_policy_in_the_chain(policy: str, table: str) -> None:
    text = BASE + "\n" + table + "\n"
    assert warned(text) == [
        f"$.backpressure.{policy}: set, but {policy!r} is not in $.backpressure.policy "
        "(admit_all); its settings do nothing"
    ]
    assert events(text) == events(BASE)
    chained = BASE + f'\n[backpressure]\npolicy = ["{policy}"]\n' + table + "\n"
    assert warned(chained) == []
    assert events(chained) != events(BASE)


def test_callback_table_serving_surge_or_hours_is_not_warned() -> None:
    table = "\n[backpressure.callback]\nmin_wait_s = 30\n"
    surge = SURGE + "callbacks = true\n"
    assert warned(BASE + surge + table) == []
    hours = queue_orders('hours = [{ open = "00:00", close = "00:30" }]', 'closed = "callback"')
    assert warned(hours + table) == []


def test_max_callbacks_with_no_bound_after_the_callback_offer() -> None:
    table = "[backpressure.callback]\nmin_wait_s = 30\n"
    alone = BASE + '\n[backpressure]\npolicy = ["callback"]\nmax_callbacks = 0\n' + table
    inert = (
        "$.backpressure.max_callbacks: does nothing: only reject_when_full, "
        "shed_lowest_priority or block after a callback offer in $.backpressure.policy checks it"
    )
    assert warned(alone) == [inert]
    assert events(alone) == events(alone.replace("max_callbacks = 0\n", ""))
    # a bound before the offer does not check callbacks either; nor without any offer
    before = '\n[backpressure]\npolicy = ["reject_when_full", "callback"]\nmax_queue = 1000\n'
    assert warned(BASE + before + "max_callbacks = 0\n" + table) == [inert]
    assert warned(BASE + "\n[backpressure]\nmax_callbacks = 5\n") == [inert]


def test_no_place_for_callbacks_beside_a_bounded_callback_chain() -> None:
    chain = '\n[backpressure]\npolicy = ["callback", "reject_when_full"]\nmax_queue = 1000\n'
    table = "[backpressure.callback]\nmin_wait_s = 30\n"
    text = BASE + chain + "max_callbacks = 0\n" + table
    assert warned(text) == [
        "$.backpressure.max_callbacks: 0 callbacks may hold a place, so the callback "
        "policy's callers are rejected (reject_when_full refuses them)"
    ]
    run = events(text)
    assert not any(e.startswith("CallbackScheduled") for e in run)
    assert any(e.startswith("Rejected") and "router_full: 0 callbacks" in e for e in run)
    # a place for callbacks: they are kept, no warning
    kept = BASE + chain + "max_callbacks = 5\n" + table
    assert warned(kept) == []
    assert any(e.startswith("CallbackScheduled") for e in events(kept))
    surge = SURGE + "callbacks = true\n"
    shed = '\n[backpressure]\npolicy = "block"\nmax_queue = 100\nmax_callbacks = 0\n'
    assert warned(BASE + shed + surge) == [
        "$.backpressure.max_callbacks: 0 callbacks may hold a place, so the callbacks surge "
        "offers are rejected (block refuses them)"
    ]


def test_max_queue_with_no_bounded_policy_in_the_chain() -> None:
    text = BASE + '\n[backpressure]\npolicy = "admit_all"\nmax_queue = 1\n'
    inert = (
        "$.backpressure.max_queue: does nothing: only reject_when_full, shed_lowest_priority "
        "or block in $.backpressure.policy checks it (the chain: admit_all)"
    )
    assert warned(text) == [inert]
    assert events(text) == events(text.replace("max_queue = 1\n", ""))
    # a bounded policy reads it: not warned, and the same bound rejects callers
    bounded = text.replace('"admit_all"', '"reject_when_full"')
    assert warned(bounded) == []
    assert any("router_full" in e for e in events(bounded))
    empty = BASE + "\n[backpressure]\npolicy = []\nmax_queue = 1\n"
    assert warned(empty) == [inert.replace("admit_all)", "none: every arrival admitted)")]
    # a policy of the embedder's own may read it (router.policies.register_policy): no warning
    register_policy("reads_max_queue", AdmitAll)
    try:
        assert warned(text.replace('"admit_all"', '["reads_max_queue"]')) == []
    finally:
        unregister_policy("reads_max_queue")


def test_a_queues_max_queue_with_nothing_that_reads_it() -> None:
    """user52: a queue's own ``max_queue`` is read by the bounded policies, by ``overflow``
    as room in a queue its rules move to, and by outbound in its own queues: with none of
    them it does nothing, warned as ``$.backpressure.max_queue`` is."""
    text = queue_orders("max_queue = 1")
    inert = (
        "$.queues[1].max_queue: does nothing: only reject_when_full, shed_lowest_priority or "
        "block in $.backpressure.policy checks it (the chain: admit_all), overflow in a queue "
        "its rules move to, outbound in its own queues"
    )
    assert warned(text) == [inert]
    assert events(text) == events(text.replace("max_queue = 1\n", ""))
    codel = text + '\n[backpressure]\npolicy = ["codel"]\n'
    assert warned(codel) == [inert.replace("chain: admit_all", "chain: codel")]
    # a bounded policy reads it: not warned, and the bound rejects orders
    bounded = text + '\n[backpressure]\npolicy = "reject_when_full"\n'
    assert warned(bounded) == []
    assert any("queue_full" in e for e in events(bounded))
    # overflow reads it as the room left in the queue it moves complaints to
    overflow = (
        text + '\n[backpressure]\npolicy = ["overflow"]\n'
        '[backpressure.overflow.queues.complaints]\nto = "orders"\nafter_s = 60\n'
    )
    assert warned(overflow) == []
    # ... but not in a queue no rule moves to
    into_complaints = overflow.replace('to = "orders"', 'to = "complaints"').replace(
        "overflow.queues.complaints", "overflow.queues.orders"
    )
    assert warned(into_complaints) == [inert.replace("chain: admit_all", "chain: overflow")]
    # outbound bounds its own queues with it
    outbound = text + '\n[backpressure.outbound]\nqueues = ["orders"]\n'
    assert warned(outbound) == []
    # a policy of the embedder's own may read it: no warning
    register_policy("reads_max_queue", AdmitAll)
    try:
        assert warned(text + '\n[backpressure]\npolicy = ["reads_max_queue"]\n') == []
    finally:
        unregister_policy("reads_max_queue")


def test_an_empty_chain_is_named_in_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(BASE + "\n[backpressure]\npolicy = []\n")
    code, lines = run_check(str(path))
    assert code == 0
    assert lines[0].endswith("no policy (every arrival admitted), 2 arrival streams, 0 surges")


# ---------------------------------------------------------------- routing and queues


def test_offer_settings_in_immediate_mode() -> None:
    immediate = BASE.replace('mode = "offer"', 'mode = "immediate"')
    settings = "offer_timeout_s = 5\nmax_no_answer = 1"
    text = immediate.replace('mode = "immediate"', 'mode = "immediate"\n' + settings)
    assert warned(text) == [
        '$.routing.offer_timeout_s: 5 does nothing with mode = "immediate" '
        "(work is assigned without an offer)",
        '$.routing.max_no_answer: 1 does nothing with mode = "immediate" '
        "(no offer goes unanswered)",
    ]
    assert events(text) == events(immediate)
    # in offer mode, with offers left unanswered, the same settings change the run
    unanswered = BASE.replace("seed = 7\n", "seed = 7\nno_answer_share = 0.3\n")
    offer = unanswered.replace('mode = "offer"', 'mode = "offer"\n' + settings)
    assert warned(offer) == []
    assert events(offer) != events(unanswered)


def test_queue_weights_under_a_distribution_that_does_not_score() -> None:
    weights = "weights = { proficiency = 0, idle_time = 0, load = 0, recent_work = 5 }"
    text = queue_orders('distribution = "longest_idle"', weights)
    assert warned(text) == [
        '$.queues[1].weights: do nothing with distribution = "longest_idle" '
        '(only "scored" weighs features)'
    ]
    assert events(text) == events(queue_orders('distribution = "longest_idle"'))
    assert warned(queue_orders(weights)) == []
    assert events(queue_orders(weights)) != events(BASE)


def test_closed_outcome_without_hours() -> None:
    text = queue_orders('closed = "callback"')
    assert warned(text) == [
        "$.queues[1].closed: does nothing without hours (the queue never closes)",
    ]
    assert events(text) == events(BASE)
    hours = 'hours = [{ open = "00:00", close = "00:30" }]'
    assert warned(queue_orders(hours, 'closed = "callback"')) == []
    assert events(queue_orders(hours, 'closed = "callback"')) != events(queue_orders(hours))


# ---------------------------------------------------------------- the channels


def run_check(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = check_main(list(args), out=out)
    return code, out.getvalue().splitlines()


CONFIG = """
[[queues]]
name = "orders"
closed = "deflect"
[wellbeing]
suspend_in_surge = ["heavy"]
"""


def test_check_prints_warnings_after_the_summary_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(CONFIG)
    lines = [
        "ok: 1 queue, 0 agent profiles (0 agents), policy admit_all",
        "warning: $.wellbeing.suspend_in_surge: the router is never in surge without a "
        "[backpressure.surge] section; add one or drop suspend_in_surge",
        "warning: $.queues[0].closed: does nothing without hours (the queue never closes)",
    ]
    assert run_check(str(path)) == (0, lines)
    assert run_check("--strict", str(path)) == (1, lines)


def test_strict_is_0_when_clean_and_2_wins_over_warnings(tmp_path: Path) -> None:
    clean, warn, bad = tmp_path / "c.toml", tmp_path / "w.toml", tmp_path / "b.toml"
    clean.write_text('[[queues]]\nname = "orders"\n')
    warn.write_text(CONFIG)
    bad.write_text('[[queues]]\nname = "orders"\npriority = 5000\n')
    assert run_check("--strict", str(clean)) == (
        0,
        ["ok: 1 queue, 0 agent profiles (0 agents), policy admit_all"],
    )
    code, lines = run_check("--strict", str(warn), str(bad), str(clean))
    assert code == 2
    assert [line.split(": ")[0] for line in lines] == [str(warn)] * 3 + [str(bad), str(clean)]
    assert lines[1].startswith(f"{warn}: warning: $.wellbeing.suspend_in_surge: ")
    assert run_check("--strict", str(clean), str(warn))[0] == 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_checks_with_no_warning(path: Path) -> None:
    if path.suffix not in (".toml", ".json", ".yaml"):
        pytest.skip("not a config")
    if path.suffix == ".yaml":
        pytest.importorskip("yaml")
    code, lines = run_check("--strict", str(path))
    assert code == 0, lines
    assert len(lines) == 1 and lines[0].startswith("ok: "), lines


def test_simulate_prints_the_warnings_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.sim.cli import simulate_main

    path = tmp_path / "s.toml"
    path.write_text(
        queue_orders('closed = "deflect"').replace("duration_s = 3600", "duration_s = 60")
    )
    assert simulate_main([str(path), "--quiet", "--json", str(tmp_path / "r.json")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"{path}: warning: $.queues[1].closed: does nothing without hours (the queue never closes)"
    )


def test_explain_prints_the_warnings_before_the_decisions(tmp_path: Path) -> None:
    from router.cli.check import explain_main

    path = tmp_path / "s.toml"
    path.write_text(queue_orders('closed = "deflect"'))
    out, err = io.StringIO(), io.StringIO()
    assert explain_main([str(path), "--limit", "1"], out=out, err=err) == 0
    assert err.getvalue().splitlines() == [
        f"{path}: warning: $.queues[1].closed: does nothing without hours (the queue never closes)"
    ]
    assert out.getvalue().startswith("t=")  # the decisions, as without the warning
    clean = tmp_path / "c.toml"
    clean.write_text(BASE)
    err = io.StringIO()
    assert explain_main([str(clean), "--limit", "1"], out=io.StringIO(), err=err) == 0
    assert err.getvalue() == ""


def test_compare_policies_prints_the_warnings_before_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.cli.compare import compare_main

    path = tmp_path / "s.toml"
    path.write_text(
        queue_orders('closed = "deflect"').replace("duration_s = 3600", "duration_s = 600")
    )
    assert compare_main([str(path), "--only", "admit_all"]) == 0
    cap = capsys.readouterr()
    assert cap.err.splitlines() == [
        f"{path}: warning: $.queues[1].closed: does nothing without hours (the queue never closes)"
    ]
    out = cap.out.splitlines()
    assert out[0].startswith("s.toml, seed 7, load x1: ") and out[-1].startswith("| admit_all |")
    clean = tmp_path / "c.toml"
    clean.write_text(BASE.replace("duration_s = 3600", "duration_s = 600"))
    assert compare_main([str(clean), "--only", "admit_all"]) == 0
    assert capsys.readouterr().err == ""


def test_reload_watcher_applies_a_warned_file_and_reports_the_warnings(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text('[[queues]]\nname = "orders"\n')
    seen: list[list[str]] = []
    applied: list[RouterConfig] = []
    w: ConfigWatcher[RouterConfig] = ConfigWatcher(
        path, on_change=applied.append, on_warning=seen.append, racy_s=0.0
    )
    w.load()
    assert (w.warnings, seen) == ([], [])
    tmp = tmp_path / "new.toml"
    tmp.write_text(CONFIG)
    os.replace(tmp, path)  # atomic: applied on this poll
    cfg = w.poll()
    assert cfg is not None and applied == [cfg] and w.config is cfg
    assert w.problems == [] and w.warnings == config_warnings(cfg) and len(w.warnings) == 2
    assert seen == [w.warnings]
    tmp.write_text('[[queues]]\nname = "orders"\n')
    os.replace(tmp, path)
    assert w.poll() is not None and w.warnings == [] and len(seen) == 1


def test_operator_page_applies_a_warned_upload_and_shows_the_warnings() -> None:
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    from router.dashboard.server import make_app

    class Source:
        def __init__(self) -> None:
            self.applied: list[RouterConfig] = []

        def state(self) -> tuple[int, bytes]:
            return 0, b"{}"

        async def apply(self, config: RouterConfig) -> int:
            self.applied.append(config)
            return len(self.applied) + 1

        def metrics(self) -> bytes | None:
            return None

    async def flow() -> list[Any]:
        source = Source()
        async with TestClient(TestServer(make_app(source))) as client:
            res = await client.post("/api/config?filename=w.toml", data=CONFIG.encode())
            warned_body = (res.status, await res.json())
            res = await client.post("/api/config?filename=c.toml", data=b'[[queues]]\nname = "a"\n')
            clean_body = (res.status, await res.json())
        return [warned_body, clean_body, len(source.applied)]

    warned_body, clean_body, n = asyncio.run(flow())
    assert warned_body == (
        200,
        {
            "ok": True,
            "version": 2,
            "summary": "ok: 1 queue, 0 agent profiles (0 agents), policy admit_all",
            "warnings": config_warnings(decode_config(CONFIG)),
        },
    )
    assert len(warned_body[1]["warnings"]) == 2
    assert clean_body[1]["warnings"] == [] and n == 2
    page = (ROOT / "router" / "dashboard" / "static" / "app.js").read_text()
    assert "body.warnings" in page
