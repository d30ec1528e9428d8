"""Each seed scenario's story, checked from its report (never from its config).

The behaviours are the ones each file's header names under "Behaviours checked from the
report". Tests marked ``xfail(strict=True)`` name a core feature that a story (or issue
13) asks for and the core does not have yet; they fail today, and start passing (so fail
as XPASS) the day the feature lands: then drop the mark.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from router.sim import build_report, load_scenario, simulate
from tests.sim_runs import (
    EXAMPLES,
    TEAM_DAY,
    example_text,
    run_example,
    run_text,
    staffed_at,
    waiting_between,
)

# ---------------------------------------------------------------- spring_festival.toml


def test_flagship_surge_mode_and_callbacks() -> None:
    _, rep = run_example("spring_festival.toml")
    assert rep["surge_mode_s"] > 3600  # the router switched to surge mode in the flood
    assert rep["callbacks"] > 1000  # callers kept their place as callbacks
    assert rep["core_counters"]["callback_attempts_failed"] > 0  # 85% reach: misses retried
    assert rep["unresolved"] == 0


def test_flagship_second_pass_is_the_complaint_team() -> None:
    _, rep = run_example("spring_festival.toml")
    q = rep["queues"]
    assert q["second_pass"]["offered"] == 0  # nobody calls it: work moves there
    assert q["second_pass"]["moved_in"] == q["cancellation"]["moved_out"] > 100
    assert set(q["second_pass"]["answered_by_group"]) == {"complaint_team"}
    assert q["second_pass"]["answered"] > 0.9 * q["second_pass"]["moved_in"]
    # the row adds up: what arrived or moved in ended here
    row = q["second_pass"]
    assert row["moved_in"] == row["answered"] + row["abandoned"] + row["rejected"] + (
        row["deflected"] + row["unresolved"]
    )


def test_flagship_reinforcements_log_in_at_19_30() -> None:
    _, rep = run_example("spring_festival.toml")
    assert staffed_at(rep, 5000) == 28  # hotline 16 + complaint team 12
    assert staffed_at(rep, 5500) == 218  # + 190 from the other business lines
    assert rep["queues"]["cancellation"]["answered_by_group"]["reinforcement"] > 5000


def test_flagship_guardrails_hold_in_the_flood() -> None:
    _, rep = run_example("spring_festival.toml")
    assert rep["wellbeing_breaks"] > 100
    assert rep["max_heavy_run"] <= 3
    q = rep["queues"]
    assert q["complaint"]["service_level"] > 0.7 > q["cancellation"]["service_level"]
    assert q["complaint"]["rejected"] == 0


def test_flagship_expected_wait_within_a_quarter() -> None:
    _, rep = run_example("spring_festival.toml")
    assert rep["ewt_rel_error"] < 0.25
    flood = [w for w in rep["ewt_by_window"] if 3600 <= w["start_s"] < 14400]
    assert len(flood) == 6
    assert all(w["ewt_rel_error"] < 0.25 for w in flood), [w["ewt_rel_error"] for w in flood]


PRIORITY_BEHIND_CALLBACKS = """
[routing]
mode = "immediate"
[backpressure]
policy = ["callback", "reject_when_full"]
max_queue = 40
[backpressure.callback]
min_wait_s = 30
exempt = ["priority"]
[[queues]]
name = "flood"
answer_target_s = 30
[[queues]]
name = "priority"
priority = 60
answer_target_s = 30
[simulation]
duration_s = 7200
seed = 5
[[agents]]
count = 5
[[arrivals]]
queue = "flood"
rate_per_s = 0.1
handle_time = { dist = "exponential", mean_s = 120 }
patience = { dist = "exponential", mean_s = 300 }
[[arrivals]]
queue = "priority"
rate_per_s = 0.005
handle_time = { dist = "exponential", mean_s = 120 }
patience = { dist = "exponential", mean_s = 300 }
"""


def test_callbacks_holding_the_bound_never_refuse_the_priority_line() -> None:
    # the flagship at --load 2 before its second pass was bounded: callbacks filled
    # max_queue and 150 of 401 complaints got router_full; the same, small
    rep = run_text(PRIORITY_BEHIND_CALLBACKS)
    assert rep["callbacks"] > 100 and rep["queues"]["flood"]["rejected"] > 0  # the bound bites
    assert rep["queues"]["priority"]["rejected"] == 0  # ...never on the priority line


def test_the_flagship_complaint_line_is_not_refused_at_load_2() -> None:
    # the finding: at --load 2, 150 of 401 complaints got router_full behind parked callbacks
    _, rep = run_example("spring_festival.toml", load=2)
    assert rep["callbacks"] > 1000  # callbacks hold places...
    assert rep["queues"]["complaint"]["offered"] > 300
    assert rep["queues"]["complaint"]["rejected"] == 0  # ...never the complaint line's


# ---------------------------------------------------------------- tujia_24h.toml


def _normal_days(name: str, seeds: int) -> dict[str, int]:
    """Offered per queue over ``seeds`` runs of the same day without its floods."""
    sc = load_scenario(EXAMPLES / name)
    normal = msgspec.structs.replace(sc, surges=[s for s in sc.surges if s.multiplier <= 1])
    total: dict[str, int] = {}
    for seed in range(seeds):
        rep = build_report(simulate(normal, seed=seed), timeline=False)
        for q, row in rep["queues"].items():
            total[q] = total.get(q, 0) + row["offered"]
    return total


def test_tujia_day_is_20x_calls_and_6_to_7x_complaints() -> None:
    _, rep = run_example("tujia_24h.toml")
    normal = _normal_days("tujia_24h.toml", 5)  # ~2,700 calls, ~580 complaints: SE 2% / 6%
    calls = 5 * rep["queues"]["cancellation"]["offered"] / normal["cancellation"]
    complaints = 5 * rep["queues"]["complaint"]["offered"] / normal["complaint"]
    assert 18 < calls < 22, calls
    assert 5.5 < complaints < 7.5, complaints


def test_tujia_complaint_team_is_the_second_pass() -> None:
    _, rep = run_example("tujia_24h.toml")
    sp = rep["queues"]["second_pass"]
    assert sp["moved_in"] == rep["queues"]["cancellation"]["moved_out"] > 100
    assert set(sp["answered_by_group"]) == {"complaint_early", "complaint_late"}


def test_tujia_someone_answers_at_every_instant_through_the_handovers() -> None:
    _, rep = run_example("tujia_24h.toml")
    tl = rep["timeline"]
    day = [n for t, n in zip(tl["t"], tl["agents_staffed"]) if 0 < t < 86400]
    assert min(day) >= 12 and len(day) > 280  # a point every 5 minutes
    # handovers overlap: day 08:00 before night leaves 08:30, evening 16:00 before 16:30
    assert staffed_at(rep, 8.25 * 3600) > staffed_at(rep, 7.9 * 3600)
    assert staffed_at(rep, 16.25 * 3600) > staffed_at(rep, 16.75 * 3600)


def test_tujia_drain_runs_past_midnight_to_the_last_caller() -> None:
    _, rep = run_example("tujia_24h.toml")
    assert rep["unresolved"] == 0
    assert rep["end_time_s"] > 86400 + 600  # callbacks still being returned after midnight
    assert rep["timeline"]["t"][-1] == rep["end_time_s"]  # the charts show it to the end
    assert rep["queues"]["cancellation"]["answered_by_group"]["next_night"] > 0


def test_tujia_callers_are_told_a_wait_that_counts_the_next_shift() -> None:
    # every shift is on the roster: the estimate counts the people due at each handover
    # (logging in unannounced, 07:30 and 23:30 were told 3-4x their wait; 0.32 overall)
    _, rep = run_example("tujia_24h.toml")
    assert rep["ewt_rel_error"] < 0.2
    worst = max(w["ewt_rel_error"] or 0.0 for w in rep["ewt_by_window"])
    assert worst < 1.5, worst


# ---------------------------------------------------------------- taobao_fliggy_chat.toml

TAOBAO_GROUPS = {"taobao_day", "taobao_evening", "crossover"}
FLIGGY_GROUPS = {"fliggy", "fliggy_parttime", "crossover"}


def test_taobao_chats_up_to_twenty_and_tenants_stay_apart() -> None:
    _, rep = run_example("taobao_fliggy_chat.toml")
    assert rep["max_concurrency"] == {"chat": 20} and rep["cap_violations"] == 0
    q = rep["queues"]
    assert set(q["taobao_orders"]["answered_by_group"]) <= TAOBAO_GROUPS
    for name in ("fliggy_refund", "fliggy_change"):
        assert set(q[name]["answered_by_group"]) <= FLIGGY_GROUPS
        assert q[name]["answered_by_group"]["crossover"] > 100


def test_crossover_shift_clears_the_fliggy_backlog_at_21_00() -> None:
    _, rep = run_example("taobao_fliggy_chat.toml")
    fliggy = ["fliggy_refund", "fliggy_change"]
    before = waiting_between(rep, fliggy, 12600, 14400)  # 20:30-21:00
    after = waiting_between(rep, fliggy, 15300, 21600)  # 21:15-23:00
    assert after < 0.2 * before, (before, after)


def test_ye_works_taobao_by_day_then_fliggy_as_one_person() -> None:
    text = example_text("taobao_fliggy_chat.toml").replace(
        'name = "crossover"             # Ye Suzhen and colleagues: two extra hours for Fliggy\n'
        "count = 25\n",
        'name = "ye"\ncount = 25\nshifts = [ { start_s = 0, end_s = 14400, tenants = '
        '["taobao"] }, { start_s = 14400, end_s = 21600, tenants = ["fliggy"], queues = '
        "{ fliggy_refund = 1.0, fliggy_change = 1.0 } } ]\n",
    )
    text = text.replace("shift_start_s = 14400\nshift_end_s = 21600\n", "")
    rep = run_text(text)
    q = rep["queues"]
    assert q["taobao_orders"]["answered_by_group"]["ye"] > 0
    assert q["fliggy_refund"]["answered_by_group"]["ye"] > 0


# ---------------------------------------------------------------- alipay_hotline.toml


def test_alipay_medical_line_first_and_outbound_on_idle_capacity() -> None:
    _, rep = run_example("alipay_hotline.toml")
    q = rep["queues"]
    assert q["medical_line"]["asa_s"] < q["account"]["asa_s"]
    assert set(q["medical_outbound"]["answered_by_group"]) == {"wucaishi_team"}
    assert set(q["fraud_wakeup"]["answered_by_group"]) == {"hotline"}
    out = rep["outbound"]
    assert out["offered"] > 200 and out["answered"] == out["offered"]
    assert q["account"]["service_level"] > 0.95 and q["huabei_jiebei"]["service_level"] > 0.95


def test_alipay_at_20x_starves_no_outbound_task_while_agents_idle() -> None:
    _, rep = run_example("alipay_hotline.toml", 20.0, 3600.0)
    out = rep["outbound"]
    assert out["offered"] > 1000
    assert rep["unresolved"] == 0  # drain: idle agents after the flood take every task
    fraud = rep["queues"]["fraud_wakeup"]
    assert fraud["expired"] > 50  # wake-up calls past their 30 minutes: their own outcome
    # ...the rest started in time (accepted 3 s after the offer: accept_delay_s)
    assert fraud["answered"] > 0 and fraud["wait_max_s"] <= 1800 + 3
    assert out["offered"] == out["answered"] + out["expired"]
    # the core counts every task, the report those that arrived after the warm-up
    assert rep["core_counters"]["tasks_expired"] >= out["expired"]


# ---------------------------------------------------------------- mafengwo_refund_flood.toml


def test_mafengwo_self_service_breaks_and_blended_volunteers() -> None:
    _, rep = run_example("mafengwo_refund_flood.toml")
    q = rep["queues"]
    assert q["refund_voice"]["deflected"] > 100 and q["refund_chat"]["deflected"] > 0
    assert q["presale"]["deflected"] == 0
    for name in ("refund_voice", "refund_chat"):  # one units budget, calls and chats
        assert q[name]["answered_by_group"]["after_shift_volunteers"] > 0
    assert rep["wellbeing_breaks"] > 50
    # the early birds leave at 13:00 (work in flight, and a break under way, first)
    assert staffed_at(rep, 21000) - staffed_at(rep, 25000) == 14


# ---------------------------------------------------------------- airline_complaints.toml


def test_airline_heavy_calls_spread_and_capped() -> None:
    _, rep = run_example("airline_complaints.toml")
    assert rep["max_heavy_run"] <= 2
    by = rep["queues"]["complaints"]["answered_by_group"]
    assert by["quality_team"] > 100 and by["general"] > 100
    assert rep["after_long_heavy"]["count"] > 50  # calls over 20 minutes happen


def test_airline_recovery_after_an_abusive_call() -> None:
    _, rep = run_example("airline_complaints.toml")
    after = rep["after_long_heavy"]
    assert after["gap_p10_s"] >= 300  # at least 5 minutes off the phone, 9 times in 10


# ---------------------------------------------------------------- a team logging in together


@pytest.mark.parametrize(
    "name",
    [
        # the 190 reinforcements who log in together at 19:30 would break together at 21:30
        "spring_festival.toml",
        # each shift would break together two hours after it logs in
        "tujia_24h.toml",
        # the voice team logged in at 07:00 would take its meal break together at 10:00
        "mafengwo_refund_flood.toml",
        "airline_complaints.toml",
    ],
)
def test_break_share_holds_in_the_seed_scenarios(name: str) -> None:
    _, rep = run_example(name)
    assert rep["on_break_max_fraction"] <= 0.25
    assert max(rep["on_break_max_fraction_by_group"].values()) <= 0.25
    assert rep["wellbeing_breaks"] > 10  # breaks are taken, a quarter at a time
    assert rep["unresolved"] == 0
    # without the guardrail the same day sends whole teams on a break at once
    line = next(x for x in example_text(name).splitlines() if x.startswith("max_break_share"))
    free = run_text(example_text(name).replace(line + "\n", ""))
    assert free["on_break_max_fraction"] > 0.25


def test_a_team_logging_in_together_breaks_together_today() -> None:
    rep = run_text(TEAM_DAY.format(wellbeing=""))
    assert rep["on_break_max_fraction"] > 0.9  # what the share cap must prevent


def test_a_team_of_60_with_a_25_percent_break_share() -> None:
    free = run_text(TEAM_DAY.format(wellbeing=""))
    capped = run_text(TEAM_DAY.format(wellbeing="max_break_share = 0.25"))
    assert capped["on_break_max_fraction"] <= 0.25
    assert capped["service_level"] >= free["service_level"]


# ---------------------------------------------------------------- the stories' numbers

# (scenario, queues, the flood's window on the run's clock, the story's factor: its range,
# widened where a few hundred arrivals make one run's ratio uncertain by 5-10%)
FLOODS = [
    # seed 000: Fliggy's "refunds and changes ... five to six times the usual rate", from 18:00
    ("taobao_fliggy_chat.toml", ("fliggy_refund", "fliggy_change"), 3600, 21600, 5.0, 6.0),
    # seed 003: "business volume increased 20 times" (19:00-22:00; "20 多倍": 18-22x)...
    ("spring_festival.toml", ("cancellation",), 3600, 14400, 18.0, 22.0),
    # ...and "complaints ... 6-7 times the daily average"
    ("spring_festival.toml", ("complaint",), 3600, 14400, 5.5, 7.5),
    # seed 002: "数十倍于平日的售后订单" (dozens of times the usual after-sales orders), 09:00-13:00
    ("mafengwo_refund_flood.toml", ("refund_voice", "refund_chat"), 7200, 21600, 24.0, 99.0),
    # seed 004: complaints "rise three to four times", 10:00-16:00
    ("airline_complaints.toml", ("complaints",), 7200, 28800, 2.8, 4.2),
]


def _arrivals(res: Any, queues: tuple[str, ...], lo: float, hi: float) -> int:
    return sum(1 for r in res.inquiries if r.queue in queues and lo <= r.arrival < hi)


def _usual(name: str, queues: tuple[str, ...], lo: float, hi: float, seeds: int) -> float:
    """Mean arrivals at ``queues`` in ``[lo, hi)`` on the same day without its floods (only
    those queues' streams, run to ``hi``: the usual rate, measured, never read)."""
    sc = load_scenario(EXAMPLES / name)
    usual = msgspec.structs.replace(
        sc,
        surges=[s for s in sc.surges if s.multiplier <= 1],
        arrivals=[a for a in sc.arrivals if a.queue in queues],
    )
    runs = [simulate(usual, seed=seed, duration_s=hi) for seed in range(seeds)]
    return sum(_arrivals(res, queues, lo, hi) for res in runs) / seeds


@pytest.mark.parametrize(("name", "queues", "lo", "hi", "least", "most"), FLOODS)
def test_each_flood_is_the_story_s_factor(
    name: str, queues: tuple[str, ...], lo: float, hi: float, least: float, most: float
) -> None:
    # the tujia_24h day is checked the same way above (the whole day against 5 usual days)
    res, _ = run_example(name)
    factor = _arrivals(res, queues, lo, hi) / _usual(name, queues, lo, hi, 4)
    assert least < factor < most, factor


def test_ye_and_her_colleagues_answer_their_hundreds_of_chats() -> None:
    # seed 000: Ye "answered more than 100 inquiries" on mask orders in her Taobao shift and
    # "helped more than 150 people a day" at the worst; per agent, the fewest in each group
    _, rep = run_example("taobao_fliggy_chat.toml")
    handled = rep["handled_by_group"]
    assert handled["taobao_day"]["min"] > 100  # 17:00-21:00, mask orders
    assert handled["crossover"]["min"] > 150  # Ye's profile: 21:00-23:00, both tenants


def _events(name: str, load: float = 1.0, duration_s: float | None = None) -> list[Any]:
    events: list[Any] = []

    def keep(ev: Any) -> bool:
        events.append(ev)
        return True

    simulate(load_scenario(EXAMPLES / name), load=load, duration_s=duration_s, on_event=keep)
    return events


@pytest.mark.parametrize(("load", "duration_s"), [(1.0, None), (20.0, 3600.0)])
def test_alipay_press_5_is_served_before_anything_else_the_team_does(
    load: float, duration_s: float | None
) -> None:
    # seed 001: the medical teams' line first. From the events: no one of the emergency
    # team (the only agents with the medical skill) is offered other work (a supply
    # callback, an account call) while a medical call waits unoffered, even at 20x
    waiting: set[str] = set()
    offered_medical = 0
    other_work_while_waiting = []
    for ev in _events("alipay_hotline.toml", load, duration_s):
        kind = type(ev).__name__
        if kind == "Queued" and ev.queue == "medical_line":
            waiting.add(ev.inquiry_id)
        elif kind == "Offered":
            if ev.queue == "medical_line":
                waiting.discard(ev.inquiry_id)
                offered_medical += 1
            elif waiting and ev.agent_id.startswith("wucaishi_team"):
                other_work_while_waiting.append((ev.at, ev.agent_id, ev.queue))
        elif kind == "Abandoned":
            waiting.discard(ev.inquiry_id)
    assert offered_medical > 30
    assert other_work_while_waiting == []


def test_every_flagship_callback_is_called_back_and_unreached_ones_three_times() -> None:
    # seed 003 via the flagship: callers who take a callback keep their place and are
    # called; a missed call (85% reach) is retried; only after 3 misses does one end
    scheduled: set[str] = set()
    calls: dict[str, int] = {}
    ended: dict[str, str] = {}
    for ev in _events("spring_festival.toml"):
        kind = type(ev).__name__
        if kind == "CallbackScheduled":
            scheduled.add(ev.inquiry_id)
        elif kind == "Offered" and ev.inquiry_id in scheduled:
            calls[ev.inquiry_id] = calls.get(ev.inquiry_id, 0) + 1
        elif kind in ("Assigned", "Abandoned") and ev.inquiry_id in scheduled:
            ended[ev.inquiry_id] = getattr(ev, "reason", "") or kind
    assert len(scheduled) > 8000
    assert set(calls) == scheduled == set(ended)  # every callback called, every one ended
    gave_up = [i for i, how in ended.items() if how != "Assigned"]
    assert 0 < len(gave_up) < 0.01 * len(scheduled)
    assert {ended[i] for i in gave_up} == {"callback_unreached: 3 attempts"}
    assert all(calls[i] >= 3 for i in gave_up)


def test_mafengwo_meals_are_never_cut_short_in_the_flood() -> None:
    # seed 002: meals were squeezed "from 1 hour to 30 minutes, at the busiest 10 minutes";
    # the guardrail's 30 minutes hold in the x30 flood: every meal break runs its full
    # break_s (AgentOnBreak's until) and the agent is back exactly then (or its shift ended)
    starts: dict[str, tuple[float, float]] = {}
    lengths = []
    for ev in _events("mafengwo_refund_flood.toml"):
        kind = type(ev).__name__
        if kind == "AgentOnBreak" and ev.reason == "wellbeing" and ev.until is not None:
            starts[ev.agent_id] = (ev.at, ev.until)
        elif kind in ("AgentReady", "AgentAway", "AgentLoggedOut") and ev.agent_id in starts:
            at, until = starts.pop(ev.agent_id)
            assert ev.at == until or kind != "AgentReady", (ev, until)
            lengths.append(ev.at - at)
    assert len(lengths) > 50
    assert min(lengths) == pytest.approx(1800.0)


CHAT_BREAKS = pytest.mark.xfail(
    strict=True,
    reason="the chat team's meals still start up to 2.2 h late (break_window_s; 2.6 h with "
    "wellbeing.drain_for_break, drain49): a drain holds a place in the quarter for its "
    "longest chat (mean 32 min), so 18 agents' meals and drains need more place-time than "
    "4 places give through the flood. Drains outside the share (wellbeing.max_drain_share, "
    "share50) do not meet the hour either: 1.6 h late at 0.25 (1.7-2.1 h at the other "
    "values from 0.1 to 1), service level 0.304 -> 0.19-0.29: a drain ended without a "
    "free place sends the agent back to work, and its place later waits for the chats it "
    "took. A team's own share (wellbeing.max_break_share_by_team, meal51): the remote six "
    "at a third (two places) with drains start on time, the chat team then 1.3 h late (SL "
    "0.254); both at a third every meal within 39 min, but SL 0.304 -> 0.179 (0.230, 56 min, "
    "with a 90-minute window): more chat agents away or draining cost chat service level. "
    "A team's own drain share (wellbeing.max_drain_share_by_team, drain52): both at a "
    "third, drains under 0.05 and the chat team's under 0.17, every meal within 44 min at "
    "SL 0.224 on seed 121, but 1.9 h late on seed 122 (the file: 3.1 h there). "
    "Missing: a trade within 2 points of service level",
)


def _late_breaks(rep: dict[str, Any], late_s: float) -> None:
    assert rep["on_break_max_fraction"] <= 0.25
    assert rep["breaks_missed"] == 0
    assert rep["break_late_max_s"] <= late_s, rep["break_late_max_s_by_group"]


@pytest.mark.parametrize(
    ("name", "late_s"),
    [
        # the 30-minute meal after 3 hours, within an hour (five chats in flight may take
        # that long to end): 3.1 h late at most with the share only deferring, 8 never taken
        pytest.param("mafengwo_refund_flood.toml", 3600.0, marks=CHAT_BREAKS),
        # a 15-minute break after 90 minutes, within an hour (an abusive call in flight
        # may last that long): 74 minutes late at most without break_window_s
        ("airline_complaints.toml", 3600.0),
        # a 15-minute break after 2 hours: 86 minutes late at most without break_window_s
        ("tujia_24h.toml", 1800.0),
    ],
)
def test_breaks_start_soon_after_due_with_a_quarter_away(name: str, late_s: float) -> None:
    # seeds 000/003: breaks that are due are taken, a quarter of a team away at most;
    # the examples set wellbeing.break_window_s, which brings breaks forward into free places
    _late_breaks(run_example(name)[1], late_s)


def test_the_flagship_breaks_on_time_with_a_break_window() -> None:
    # the flagship (the digest's config, so left as it is) defers its reinforcements'
    # breaks up to 48 minutes past the 2 hours; the same night with an hour's window
    # starts every break by its due time, a quarter of a team away at most
    text = example_text("spring_festival.toml")
    assert not any(line.startswith("break_window_s") for line in text.splitlines())
    assert run_example("spring_festival.toml")[1]["break_late_max_s"] > 1800.0
    text = text.replace(
        "max_break_share = 0.25", "max_break_share = 0.25\nbreak_window_s = 3600", 1
    )
    _late_breaks(run_text(text), 1800.0)
