"""mutF36's sweep: targeting's rest, the clock's rest, the policies' lines drawn.

Each test here kills mutants a mutation sweep found alive (BENCHMARKS.md, "Mutation sweep
of targeting, clock and the policies, the rest (mutF36)"). Behaviour only: expressions in,
verdicts and messages out; the policies through inputs, events and counters, so these
tests hold while the core changes. Deterministic, no timing.
"""

from __future__ import annotations

from typing import Any

import pytest

from router.config.targeting import TargetError, compile_target, parse_target

# --- attribute targeting -----------------------------------------------------------------

AGENT = {"level": 4, "team": "refund", "vip": True, "langs": ["zh", "en"]}

#: (expression, the inquiry's attributes, whether AGENT serves it)
EVAL: list[tuple[str, dict[str, Any] | None, bool]] = [
    ("level in [1, 4]", {}, True),  # a number in a list literal
    ("level in [4]", {}, True),
    ("level in [1, 2]", {}, False),
    ("[1, 4] has level", {}, True),
    ("inquiry.n in [3, 4.0]", {"n": 4}, True),
    ("level in []", {}, False),  # an empty list literal
    ("not level in [] and vip", {}, True),
    ("[] has level", {}, False),
]


@pytest.mark.parametrize(("text", "inquiry", "expected"), EVAL)
def test_targeting_expressions_evaluate_f36(
    text: str, inquiry: dict[str, Any] | None, expected: bool
) -> None:
    t = parse_target(text)
    assert t.matches(AGENT, inquiry) is expected
    assert t.admits(AGENT, t.bind(inquiry)) is expected
    assert compile_target(text).matches(AGENT, inquiry) is expected


def test_compile_target_hands_back_the_same_compiled_expression() -> None:
    # memoised: a config reload re-uses the compiled expression (a cache cleared at every
    # call past none but a full one gave a new, equal one each time)
    text = "level >= 3 and team == 'refund'"
    first = compile_target(text)
    assert compile_target(text) is first
    assert compile_target(text).matches(AGENT, {}) is True


def test_compile_target_forgets_past_4096_expressions() -> None:
    # the memo is bounded: past 4096 other expressions, an expression is compiled anew
    # (a cache never cleared kept the first one for good)
    text = "level == 4 and vip"
    first = compile_target(text)
    for i in range(4097):
        compile_target(f"level == {i}")
    again = compile_target(text)
    assert again is not first
    assert again.matches(AGENT, {}) is True


#: (expression, column, the whole message)
MISTAKES: list[tuple[str, int, str]] = [
    ("team == 'a\\", 9, "a string that is never closed"),  # a backslash at the end
    ("'\\", 1, "a string that is never closed"),
]


@pytest.mark.parametrize(("text", "column", "message"), MISTAKES)
def test_targeting_mistakes_name_the_column_and_the_whole_message_f36(
    text: str, column: int, message: str
) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert (info.value.column, info.value.message) == (column, message)
    assert info.value.args == (column, message)  # as ValueError's arguments too
    assert str(info.value) == f"column {column}: {message}"
