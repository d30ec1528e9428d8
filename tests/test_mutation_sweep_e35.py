"""mutE35's sweep: the survivors left open, attribute targeting, the policies, the clock.

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of targeting, the policies and the left survivors (mutE35)"). The policies are tested
through behaviour (inputs in, events and admissions out), not their internals, so these
tests hold while the core and the admission fast path change. One is the failing test of
a real bug the sweep found (`test_a_new_callback_under_a_reused_id_gets_all_its_attempts`).
Deterministic, no timing.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from router import AgentSpec, Inquiry, Router, decode_config
from router.config.clock import (
    EPS,
    WeekSchedule,
    clock_offset_s,
    parse_days,
    parse_time_of_day,
    parse_utc_offset,
)
from router.config.problems import key_path
from router.config.targeting import (
    MAX_DEPTH,
    MAX_LENGTH,
    TargetError,
    canon,
    canon_map,
    compile_target,
    decanon,
    parse_target,
)
from router.events import Abandoned, Deflected, SurgeEnded, SurgeStarted
from tests.test_hours import HOURS

# --- the survivors left open by mutB33 and mutC34 ---------------------------------------


def _one_queue(extra: str = "") -> Router:
    return Router(decode_config('[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\n' + extra))


def _codel_run(steps: list[Any]) -> list[tuple[str, float]]:
    """Drive a CoDel router (target 10 s, interval 12 s) through ``steps``: ``(id, at)``
    submits and ticks, a bare number a tick. Its sheds (ids and times), in order."""
    r = _one_queue(
        '[backpressure]\npolicy = "codel"\n'
        '[backpressure.codel]\ntarget_s = 10\ninterval_s = 12\naction = "deflect"\n'
    )
    shed: list[tuple[str, float]] = []
    for step in steps:
        if isinstance(step, tuple):
            r.submit(Inquiry(id=step[0], queue="q"), step[1])
            step = step[1]
        shed += [(e.inquiry_id, round(e.at, 3)) for e in r.tick(step) if isinstance(e, Deflected)]
    return shed


def test_codel_reads_the_new_head_after_each_drop_within_one_tick() -> None:
    # A, B, C old; Y1, Y2 young. Sheds: A at 22 (above target 10 s since 10, for an
    # interval), B at 34, C at 34 + 12/sqrt(2). Y1 is then 9.5 s in line, below target:
    # dropping stops, Y1 crosses the target at 43 and is shed an interval later, at 55.
    # One late tick (at 60) covering the three CoDel timers after 34 must shed the same
    # inquiries at the same times as ticks at each deadline: the head is read again after
    # each drop, not the one just shed (mutC34's open `admission.py:469`, `head = ...`
    # dropped: Y1 was shed at 34 + 12/sqrt(2) + 12/sqrt(3), 49.4, by the stale head's wait)
    arrivals = [("A", 0.0), ("B", 0.5), ("C", 1.0), 10.0, 22.0, ("Y1", 33.0), ("Y2", 33.5), 34.0]
    expected = [("A", 22.0), ("B", 34.0), ("C", 42.485), ("Y1", 55.0)]
    assert _codel_run([*arrivals, 60.0]) == expected
    assert _codel_run([*arrivals, 42.48528137423857, 43.0, 55.0, 60.0]) == expected


def _arrival_wait(waiting: int, freed: int) -> tuple[int | None, float]:
    """The position and expected wait of an arrival behind ``waiting`` inquiries, with
    ``freed`` agents logged in since the last matching pass (none listed yet)."""
    r = _one_queue()
    for i in range(waiting):
        r.submit(Inquiry(id=f"w{i}", queue="q"), 0)
    r.tick(0)  # nobody to serve them: all wait
    for i in range(freed):
        r.login(AgentSpec(id=f"a{i}"), 1)
    adm = r.submit(Inquiry(id="x", queue="q"), 1)  # before the pass that would list them
    return adm.position, adm.expected_wait_s


def test_the_look_at_freed_agents_counts_at_most_the_first_eight_in_line() -> None:
    # `_freed_fit` counts freed agents who could take the arrival, stopping at `need`
    # (its position, at most 8: "they take the first in line"): up to position 8 an arrival
    # with that many agents freed expects no wait; at position 9 the look stops at 8 and
    # the ninth is estimated, however many were freed (mutB33's open `control.py:275`
    # `n > need`, `:276` `break` to `continue`: a wait of 0 at position 9)
    assert _arrival_wait(7, 8) == (8, 0.0)
    assert _arrival_wait(7, 9) == (8, 0.0)
    for freed in (8, 9, 20):
        position, ewt = _arrival_wait(8, freed)
        assert position == 9 and ewt > 0.0, freed


# --- the policies ------------------------------------------------------------------------


def test_an_arrival_while_closed_is_counted_under_its_outcome() -> None:
    # `hours.py:133` (`c.deflected -= 1`): the deflection of a closed queue was uncounted
    for closed, outcome in (("deflect", "deflected"), ("reject", "rejected")):
        r = Router(decode_config(HOURS % (closed, "serve")))
        assert r.submit(Inquiry(id="early", queue="sales"), 60).outcome == outcome
        r.tick(60)
        c = r.counters
        assert (c.closed, c.deflected, c.rejected) == (
            1,
            int(outcome == "deflected"),
            int(outcome == "rejected"),
        )


def test_a_callback_given_up_reports_its_wait_since_arrival() -> None:
    # `callbacks.py:120` (`now + t.arrival`): the Abandoned of an unreached callback
    # reported its wait from time 0 (the only arrival tested before was at 0)
    r = _one_queue(
        '[backpressure]\npolicy = "callback"\n'
        "[backpressure.callback]\nmin_wait_s = 1\nretry_s = 100\nmax_attempts = 1\n"
    )
    r.login(AgentSpec(id="a1"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    assert r.submit(Inquiry(id="i1", queue="q"), 5).outcome == "callback"
    r.complete("i0", 6)
    r.tick(6)
    r.callback_failed("i1", 8)
    gone = [e for e in r.tick(8) if isinstance(e, Abandoned)]
    assert [(e.inquiry_id, e.wait_s, e.reason) for e in gone] == [
        ("i1", 3.0, "callback_unreached: 1 attempts")
    ]


# --- attribute targeting -----------------------------------------------------------------

AGENT = {
    "vip": True,
    "flag": False,
    "langs": ["zh", "en"],
    "level": 4,
    "team": "refund",
    "quote": "it's",
    "my-attr_2": 1,
}

#: (expression, the inquiry's attributes, whether AGENT serves it), beyond test_targeting's
EVAL: list[tuple[str, dict[str, Any] | None, bool]] = [
    ("flag in [true, false]", {}, True),  # booleans in a list literal
    ("vip in [true]", {}, True),
    ("vip in [false]", {}, False),
    ("[true, 'x'] has vip", {}, True),
    ("true", {}, True),  # a boolean literal is a condition
    ("false", {}, False),
    ("flag", {}, False),  # a bare attribute: true only when it is true
    ("level", {}, False),  # 4 is not true
    ("not not vip", {}, True),
    ("level < 4", {}, False),
    ("level <= 4", {}, True),
    ("level > 4", {}, False),
    ("level >= 4", {}, True),
    ("level <= 3", {}, False),
    ("level >= 5", {}, False),
    ("level > 3.5", {}, True),
    ("team > 'a'", {}, True),
    ("team >= 'refund'", {}, True),
    ("team <= 'refund'", {}, True),
    ("team > 'refund'", {}, False),
    ("level < missing", {}, False),  # missing on the right: false too
    ("missing < level", {}, False),
    ("level > -.5", {}, True),  # a negative number without a leading digit
    ("level == -4", {}, False),
    ("level == 4e0", {}, True),
    ("level < 1E1", {}, True),
    ("level > 1e-1", {}, True),
    ("level < 1.5e+1", {}, True),
    ("level == 4.", {}, True),
    ("quote == 'it\\'s'", {}, True),  # an escaped quote inside a string
    ('quote == "it\'s"', {}, True),
    ("my-attr_2 == 1", {}, True),  # names take '-', '_' and digits after the first letter
    ("vip\tand\nlevel == 4", {}, True),  # any blank separates
    ("inquiry.not == 1", {"not": 1}, True),  # a keyword is a name after 'inquiry.'
    ("level == 1 or level == 2 or level == 4", {}, True),  # every part of an 'or'
    ("level == 4 or level == 1 or level == 2", {}, True),
    ("level == 1 or level == 2 or level == 3", {}, False),
    ("vip and level == 4 and team == 'refund'", {}, True),  # every part of an 'and'
    ("vip and level == 4 and team == 'x'", {}, False),
    ("team == 'x' and vip", {}, False),
    ("inquiry.b == 2 and inquiry.a == 1", {"a": 1, "b": 2}, True),  # two names, bound sorted
    ("inquiry.b == 2 and inquiry.a == 1", {"a": 2, "b": 1}, False),
    ("inquiry.b == 2 and inquiry.a == 1", {"b": 2}, False),
    ("inquiry.a == 1", None, False),  # no attributes: every one missing
    ("not inquiry.a == 1", None, True),
    ("inquiry.tier == level", {"tier": 4}, True),  # one name, not a string: canonical
    ("inquiry.tier == level", {"tier": 4.0}, True),
    ("inquiry.flag == vip", {"flag": True}, True),
    ("inquiry.flag == vip", {"flag": 1}, False),
    ("inquiry.tags has 'zh'", {"tags": ["zh"]}, True),
    ("inquiry.lang == team", {"lang": "refund"}, True),
    ("langs has inquiry.tags", {"tags": ["zh"]}, False),  # 'has' one value, never a list
    ("inquiry.tags in langs", {"tags": ["zh"]}, False),  # 'in' one value, never a list
]


@pytest.mark.parametrize(("text", "inquiry", "expected"), EVAL)
def test_targeting_expressions_evaluate(
    text: str, inquiry: dict[str, Any] | None, expected: bool
) -> None:
    t = parse_target(text)
    assert t.matches(AGENT, inquiry) is expected
    assert t.admits(AGENT, t.bind(inquiry)) is expected
    assert compile_target(text).matches(AGENT, inquiry) is expected


#: (expression, column, the whole message), beyond test_targeting's
MISTAKES: list[tuple[str, int, str]] = [
    ("x" * (MAX_LENGTH + 1), MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters"),
    ("(" * (MAX_DEPTH + 1) + "vip" + ")" * (MAX_DEPTH + 1), 33, "nested deeper than 32 levels"),
    ("not " * (MAX_DEPTH + 1) + "vip", 129, "nested deeper than 32 levels"),
    ("   ", 1, "empty expression; leave match out to accept every agent"),
    ("(vip or level", 14, "expected ')' to close the '(' at column 1, found the end"),
    ("(vip level)", 6, "expected ')' to close the '(' at column 1, found 'level'"),
    ("level == 1e999", 10, "'1e999' is not a finite number"),
    ("level == -1e999", 10, "'-1e999' is not a finite number"),
    ("level == 1e", 10, "'1e' is not a number"),
    ("vip | level", 5, "unknown operator '|'; use 'or'"),
    ("vip || level", 5, "unknown operator '||'; use 'or'"),
    ("vip & level", 5, "unknown operator '&'; use 'and'"),
    ("!vip", 1, "unknown operator '!'; use 'not'"),
    ("vip @ 1", 5, "unexpected character '@'"),
    ("inquiry.1 == 1", 9, "expected an attribute name after 'inquiry.', found '1'"),
    ("inquiry. == 1", 10, "expected an attribute name after 'inquiry.', found '=='"),
    ("inquiry.", 9, "expected an attribute name after 'inquiry.', found the end"),
    ("level in [1 2]", 13, "expected ',' or ']' in the list at column 10, found '2'"),
    ("level in [1,", 13, "a list holds literals (strings, numbers, true, false), found the end"),
    ("level in [[1]]", 11, "a list holds literals (strings, numbers, true, false), found '['"),
    ("level == 1 == 2", 12, "comparisons do not chain; join them with 'and'"),
    ("level in langs in langs", 16, "comparisons do not chain; join them with 'and'"),
    ("langs has 1 has 2", 13, "comparisons do not chain; join them with 'and'"),
    ("level == 1 vip", 12, "expected 'and', 'or' or the end, found 'vip'"),
    ("level == 1)", 11, "expected 'and', 'or' or the end, found ')'"),
    ("tags has [1]", 10, "'has' tests one value, not a list"),
    ("'a' has 1", 1, "'has' needs a list on its left, not a string"),
    ("true has 1", 1, "'has' needs a list on its left, not a boolean"),
    ("level in 3", 10, "'in' needs a list on its right, not a number"),
    ("level in true", 10, "'in' needs a list on its right, not a boolean"),
    ("level < [1]", 9, "'<' orders numbers or strings, not a list"),
    ("[1] >= level", 1, "'>=' orders numbers or strings, not a list"),
    ("true > level", 1, "'>' orders numbers or strings, not a boolean"),
    ("1 < 'a'", 3, "'<' cannot order a number against a string"),
    ("'a' <= 1", 5, "'<=' cannot order a string against a number"),
    ("true == 1", 6, "a boolean is never equal to a number"),
    ("[1] != 'a'", 5, "a list is never equal to a string"),
    ("1", 1, "a number is not a condition; compare it with ==, <, in..."),
    ("[1]", 1, "a list is not a condition; compare it with ==, <, in..."),
    ("vip and 'x'", 9, "a string is not a condition; compare it with ==, <, in..."),
    ("vip ==", 7, "expected a value after '==', found the end"),
    ("vip in", 7, "expected a value after 'in', found the end"),
    ("vip and", 8, "expected a condition, found the end"),
    ("vip or )", 8, "expected a condition, found ')'"),
    ("not", 4, "expected a condition, found the end"),
    ("vip 'x'", 5, "expected 'and', 'or' or the end, found \"'x'\""),  # a string's own text
    ('level in [1 "ab"]', 13, "expected ',' or ']' in the list at column 10, found '\"ab\"'"),
    ("team == 'a\\", 9, "a string that is never closed"),  # a backslash at the end
    ("'\\", 1, "a string that is never closed"),
]


@pytest.mark.parametrize(("text", "column", "message"), MISTAKES)
def test_targeting_mistakes_name_the_column_and_the_whole_message(
    text: str, column: int, message: str
) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert (info.value.column, info.value.message) == (column, message)
    assert info.value.args == (column, message)  # as ValueError's arguments too
    assert str(info.value) == f"column {column}: {message}"


def test_targeting_takes_the_longest_and_deepest_expression_allowed() -> None:
    longest = "vip" + " " * (MAX_LENGTH - 3)
    assert len(longest) == MAX_LENGTH and parse_target(longest).matches(AGENT, {})
    deepest = "(" * MAX_DEPTH + "vip" + ")" * MAX_DEPTH
    assert parse_target(deepest).matches(AGENT, {})
    assert parse_target("not " * MAX_DEPTH + "vip").matches(AGENT, {}) is True  # 32: even
    # depth is nesting, not count: many side by side are fine
    wide = " and ".join(["(vip)"] * (MAX_DEPTH + 5))
    assert parse_target(wide).matches(AGENT, {})


def test_targeting_names_what_it_reads() -> None:
    t = parse_target("vip and (level > inquiry.tier or not team == 'x') and inquiry.a in langs")
    assert t.agent_names == ("langs", "level", "team", "vip")
    assert t.inquiry_names == ("a", "tier")
    assert t.bind({"tier": 2, "a": "zh"}) == (("s", "zh"), ("n", 2))
    assert t.bind({}) == (None, None)
    one = parse_target("inquiry.x == 1 or inquiry.x == 'a'")
    assert one.inquiry_names == ("x",)
    assert one.bind({"x": "a"}) == (("s", "a"),)
    assert one.bind({"x": 1.0}) == (("n", 1.0),)
    assert one.bind({"x": [True]}) == (("l", (("b", True),)),)
    assert one.bind({"y": 1}) == (None,)
    assert parse_target("true").agent_names == () == parse_target("true").inquiry_names
    assert repr(t) == f"Target({t.text!r})"
    assert compile_target(t.text) is compile_target(t.text)


def test_canonical_values_tell_true_from_one_and_come_back_plain() -> None:
    assert canon(True) == ("b", True) != canon(1) == ("n", 1) == canon(1.0)
    assert canon("a") == ("s", "a") and canon(None) is None
    assert canon([1, ["a", False]]) == ("l", (("n", 1), ("l", (("s", "a"), ("b", False)))))
    assert canon((1,)) == ("l", (("n", 1),))
    with pytest.raises(TypeError, match=r"^not an attribute value: \{\}$"):
        canon({})
    for v in (True, 0, 2.5, "x", [1, ["a", False]], None):
        assert decanon(canon(v)) == v
    assert canon_map(None) == {} == canon_map({})
    assert canon_map({"a": 1, "b": [True]}) == {"a": ("n", 1), "b": ("l", (("b", True),))}


# --- the clock: the week schedule and its parsers ---------------------------------------

H = 3600.0
D = 24 * H


def _week(*spans: tuple[str, str, str], start: str = "mon 00:00") -> WeekSchedule:
    return WeekSchedule(
        [
            (parse_days(d), parse_time_of_day(o), parse_time_of_day(c, allow_24=True))
            for d, o, c in spans
        ],
        clock_offset_s(start),
    )


def test_spans_that_touch_or_nest_merge_into_one_interval() -> None:
    touching = _week(("mon", "08:00", "12:00"), ("mon", "12:00", "14:00"))
    assert touching.bounds == [8 * H, 14 * H]  # no change at 12:00
    assert touching.next_change(9 * H) == 14 * H and touching.is_open(12 * H)
    nested = _week(("mon", "08:00", "18:00"), ("mon", "09:00", "10:00"))
    assert nested.bounds == [8 * H, 18 * H]  # the inner span does not shorten the outer
    assert nested.is_open(12 * H) and nested.next_change(9.5 * H) == 18 * H
    apart = _week(("mon", "08:00", "09:00"), ("mon", "10:00", "11:00"))
    assert apart.bounds == [8 * H, 9 * H, 10 * H, 11 * H] and not apart.is_open(9.5 * H)


def test_a_span_to_sunday_midnight_and_one_past_it() -> None:
    to_end = _week(("sun", "20:00", "24:00"))
    assert to_end.bounds == [6 * D + 20 * H, 7 * D] and not to_end.open_at_zero
    assert to_end.is_open(7 * D - 1) and not to_end.is_open(7 * D)
    assert to_end.next_change(7 * D - 1) == 7 * D
    assert to_end.next_change(7 * D + 1) == 13 * D + 20 * H  # past the last bound: wraps
    past = _week(("sun", "20:00", "02:00"))
    assert past.open_at_zero and past.bounds == [2 * H, 6 * D + 20 * H]  # no change at the wrap
    assert past.is_open(H) and not past.is_open(3 * H) and past.is_open(6 * D + 21 * H)
    none = WeekSchedule([], 0.0)
    assert not none.is_open(0) and none.next_change(0) == math.inf == none.next_open(5)


def test_a_point_within_eps_of_a_change_is_past_it() -> None:
    s = _week(("mon", "08:00", "09:00"))
    for near in (8 * H - EPS / 2, 8 * H, 8 * H + EPS / 2):
        assert s.is_open(near) and s.next_change(near) == near + (9 * H - near)
    assert not s.is_open(8 * H - 2 * EPS) and s.next_change(8 * H - 2 * EPS) == 8 * H
    assert s.next_open(9 * H - EPS / 2) == 7 * D + 8 * H  # closing now: the next opening


def test_clock_parsers_take_their_bounds_and_name_what_they_refuse() -> None:
    assert clock_offset_s("sun 23:59") == 6 * D + 23 * H + 59 * 60
    assert clock_offset_s(" MON 00:00 ") == 0.0
    assert parse_time_of_day("23:59") == 23 * H + 59 * 60
    assert parse_time_of_day("24:00", allow_24=True) == D
    assert parse_time_of_day("00:00", allow_24=True) == 0.0
    assert parse_utc_offset("-05:30") == -(5 * H + 30 * 60)
    assert parse_utc_offset("+23:59") == 23 * H + 59 * 60
    assert parse_utc_offset("-00:00") == 0.0
    assert parse_days("sun-sun") == [6] and parse_days("sat-fri") == list(range(7))
    assert parse_days(" Sat , sun,sat ") == [5, 6]
    assert parse_days("mon - wed, fri -sat") == [0, 1, 2, 4, 5]  # blanks around the dash
    refused: list[tuple[Any, str]] = [
        (
            lambda: clock_offset_s("mon 24:00"),
            "expected a day and a time like 'mon 00:00', got 'mon 24:00'",
        ),
        (lambda: parse_time_of_day("24:00"), "expected a time like '08:00', got '24:00'"),
        (
            lambda: parse_time_of_day("8:00", allow_24=True),
            "expected a time like '08:00' (or '24:00'), got '8:00'",
        ),
        (
            lambda: parse_utc_offset("08:00"),
            "expected an offset like '+08:00' or '-05:30', got '08:00'",
        ),
        (
            lambda: parse_days("mon-"),
            "expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), got 'mon-'",
        ),
        (
            lambda: parse_days("mon,,tue"),
            "expected days like 'mon-fri' or 'sat,sun' (mon tue wed thu fri sat sun), "
            "got 'mon,,tue'",
        ),
    ]
    for call, message in refused:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == message


def test_a_trailing_newline_is_not_part_of_a_match() -> None:
    # `re.match` with `...$` takes "08:30\n" (`$` matches before a final newline), as the
    # domain names did (mutD35): the parsers read with `fullmatch`
    for call in (
        lambda: parse_time_of_day("08:30\n"),
        lambda: parse_utc_offset("+08:00\n"),
    ):
        with pytest.raises(ValueError):
            call()
    assert key_path("$.teams", "a\n") == '$.teams["a\\n"]'
    assert key_path("$.teams", "night-shift_2") == "$.teams.night-shift_2"


def test_surge_measures_only_watched_queues_with_someone_waiting() -> None:
    # `surge.py:117` (`q.removed and not q.n_waiting`): an empty watched queue with nobody
    # to serve it was measured (a first arrival's wait by the prior, 360 s) and entered surge
    r = _one_queue(
        '[[queues]]\nname = "empty"\nrequires = { nobody = 1 }\n'
        "[backpressure.surge]\nenter_wait_s = 10\nenter_after_s = 0\nexit_after_s = 0\n"
        'queues = ["q", "empty"]\n'
    )
    r.login(AgentSpec(id="a1"), 0)
    seen: list[str] = []
    for now in (0.0, 1.0, 50.0):
        seen += [type(e).__name__ for e in r.tick(now) if isinstance(e, SurgeStarted)]
    assert seen == []
    r.submit(Inquiry(id="x", queue="empty"), 60)  # now someone waits there, unserved
    assert [e.reason for e in r.tick(60) if isinstance(e, SurgeStarted)] == [
        "expected_wait: empty 360 s > 10 s for 0 s"
    ]


def test_a_new_callback_under_a_reused_id_gets_all_its_attempts() -> None:
    # A real bug found by the sweep (`callbacks.py:203`, the compaction bound after a
    # restore, led to it): the failed attempts were kept by inquiry id until a compaction,
    # so a later inquiry under the same id, called back, started with the earlier one's
    # count: given up after one attempt of two ("callback_unreached: 2 attempts"). A
    # restored router (whose snapshot keeps live callbacks only) gave it both.
    r = _one_queue(
        '[backpressure]\npolicy = "callback"\n'
        "[backpressure.callback]\nmin_wait_s = 1\nretry_s = 10\nmax_attempts = 2\n"
    )
    r.login(AgentSpec(id="a1"), 0)
    r.submit(Inquiry(id="i0", queue="q"), 0)
    r.tick(0)
    assert r.submit(Inquiry(id="cb", queue="q"), 1).outcome == "callback"
    r.complete("i0", 2)
    r.tick(2)
    r.callback_failed("cb", 3)  # the first customer's first attempt fails
    assert [type(e).__name__ for e in r.tick(3)] == ["Requeued"]
    r.tick(13)  # the retry reaches the customer
    assert r.inquiry_state("cb") == "assigned"
    r.complete("cb", 20)
    r.tick(20)
    r.submit(Inquiry(id="i1", queue="q"), 21)
    r.tick(21)
    assert r.submit(Inquiry(id="cb", queue="q"), 22).outcome == "callback"  # a new customer
    r.complete("i1", 23)
    r.tick(23)
    r.callback_failed("cb", 24)
    assert [(type(e).__name__, e.reason) for e in r.tick(24)] == [
        ("Requeued", "callback_unreached: attempt 1 of 2, retry at 34")
    ]


@pytest.mark.parametrize("declined_at", [52, 51])
def test_a_task_back_in_line_past_its_deadline_expires(declined_at: int) -> None:
    # `outbound.py:307` (`self._expire(t)` dropped): a task declined after its deadline
    # (which passed while it was on offer) was parked for good, neither held nor expired;
    # mutG37's `outbound.py:306` (`deadline < now`): one declined at the very second of its
    # deadline (51: it arrived at 1) was held again, and held for good
    r = Router(
        decode_config(
            '[routing]\nmode = "offer"\noffer_timeout_s = 100\ndecline_memory = "forever"\n'
            '[[queues]]\nname = "in"\n'
            '[[queues]]\nname = "out"\n[backpressure.outbound]\nqueues = ["out"]\n'
            "reserve_idle = 0\ndeadline_s = { out = 50 }\n"
        )
    )
    r.login(AgentSpec(id="a0"), 0)
    r.submit(Inquiry(id="t0", queue="out"), 1)
    assert [type(e).__name__ for e in r.tick(1)] == ["AgentLoggedIn", "Queued", "Offered"]
    assert r.tick(51) == [] and r.inquiry_state("t0") == "offered"  # its deadline, on offer
    r.decline("t0", declined_at)
    assert [(type(e).__name__, getattr(e, "reason", "")) for e in r.tick(declined_at)] == [
        ("OfferDeclined", ""),
        ("Requeued", "declined"),
        (
            "TaskExpired",
            f"deadline: not started {declined_at - 1} s after arrival (deadline 50 s)",
        ),
    ]
    assert r.counters.tasks_expired == 1


def test_a_task_refused_by_a_full_outbound_queue_is_counted() -> None:
    # `outbound.py:182` (`c.rejected += 1` dropped): the refusal was announced, not counted
    r = Router(
        decode_config(
            '[routing]\nmode = "immediate"\n[[queues]]\nname = "out"\nmax_queue = 1\n'
            '[backpressure.outbound]\nqueues = ["out"]\nreserve_idle = 0\n'
        )
    )
    assert r.submit(Inquiry(id="t0", queue="out"), 0).outcome == "admitted"
    adm = r.submit(Inquiry(id="t1", queue="out"), 0)
    assert (adm.outcome, adm.reason) == ("rejected", "queue_full: out holds 1")
    c = r.counters
    assert (c.submitted, c.rejected) == (2, 1)


def test_leaving_surge_waits_its_own_hold_from_its_own_crossing() -> None:
    # `surge.py:183` (`self.since = None` dropped at a toggle): the exit's hold was counted
    # from the entry's crossing, so surge ended 20 s after the entry's crossing began (at
    # 20), not 20 s after the line emptied (31). Seen when the first look after the entry
    # already finds the exit's condition: here the withdrawals at 11 come before any tick
    # after the entry's timer (due at 10, fired by the input at 11)
    r = _one_queue(
        "[backpressure.surge]\nenter_waiting = 1\nexit_waiting = 1\n"
        'enter_after_s = 10\nexit_after_s = 20\nqueues = ["q"]\n'
    )
    for i in range(2):
        r.submit(Inquiry(id=f"i{i}", queue="q"), 0)
    seen: list[tuple[str, float]] = []
    for now in (0.0, 11.0, 40.0):
        if now == 11.0:
            r.withdraw("i0", now)
            r.withdraw("i1", now)
        seen += [
            (type(e).__name__, e.at)
            for e in r.tick(now)
            if isinstance(e, SurgeStarted | SurgeEnded)
        ]
    assert seen == [("SurgeStarted", 10.0), ("SurgeEnded", 31.0)]
