"""mutI39's sweep: the config checks, the problem walker and the loading.

Each test here kills mutants a mutation sweep of ``router/config/checks.py``,
``problems.py`` and ``loading.py`` found alive (BENCHMARKS.md, "Mutation sweep of the
config checks, problems and loading (mutI39)"). The promise is the operator's: a bad
config gives one ``path: message`` line per mistake, the path naming the field, and
never a traceback. Messages are asserted exactly. Deterministic, no timing.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import ConfigError, decode_config
from router.config import (
    RouterConfig,
    convert_config,
    detect_format,
    load_config,
    parse_text,
    structure_problems,
)
from router.sim.scenario import Scenario
from tests.test_mutation_sweep_c34 import _problems, _with


def _refused(call: Any, *args: Any) -> list[str]:
    """The problem lines of the ConfigError ``call(*args)`` raises."""
    with pytest.raises(ConfigError) as info:
        call(*args)
    return info.value.problems


# --- the problem walker (problems.py) -----------------------------------------------------


def test_a_tuple_of_one_item_type_is_walked_item_by_item() -> None:
    # `problems.py:83` (`args[-1]`: the `...` of `tuple[int, ...]` taken as the item type):
    # each bad item is named at its index, as in a list
    assert structure_problems([1, "x", 3, "y"], tuple[int, ...]) == [
        "$[1]: Expected int, got str",
        "$[3]: Expected int, got str",
    ]
    assert structure_problems({"a": [1, "x"]}, dict[str, tuple[int, ...]]) == [
        "$.a[1]: Expected int, got str"
    ]


def test_typings_generics_are_walked_as_the_builtin_ones() -> None:
    # `problems.py:79` (`isinstance(inner, type) or issubclass(inner, Struct)`): a caller's
    # `typing.List[int]` is no class, and `issubclass` raised a TypeError for it
    assert structure_problems([1, "x", "y"], typing.List[int]) == [  # noqa: UP006
        "$[1]: Expected int, got str",
        "$[2]: Expected int, got str",
    ]
    tp = typing.Dict[str, typing.Tuple[int, ...]]  # noqa: UP006
    assert structure_problems({"a": "x", "b": [1, "z"]}, tp) == [
        "$.a: Expected array, got str",
        "$.b[1]: Expected int, got str",
    ]


def test_a_fixed_tuple_is_reported_by_msgspec_not_walked_as_one_item_type() -> None:
    # `problems.py:161` (`origin is tuple or ...`: a fixed tuple walked with its first
    # item's type for every item): `"y"` is wrong for `int`, not for `str`
    assert structure_problems(["x", "y"], tuple[int, str]) == ["$[0]: Expected int, got str"]
    assert structure_problems([1, 2], tuple[int, str]) == ["$[1]: Expected str, got int"]


def test_every_bad_key_of_a_table_is_reported_and_its_good_keys_walked() -> None:
    # `problems.py:93` (`break` after the first invalid key)
    long = "x" * 201
    raw = _with({("agents", 0, "capacity"): {"": 1, "voice": 1, long: 2, "chat": -1}})
    assert _problems(raw) == [
        "$.agents[0].capacity: invalid key '': Expected str of length >= 1",
        f"$.agents[0].capacity: invalid key '{long}': Expected str of length <= 200",
        "$.agents[0].capacity.chat: Expected int >= 0",
    ]


def test_an_infinity_in_a_table_that_converts_is_reported_beside_a_schema_mistake() -> None:
    # `problems.py:136` (a list's items not looked at for nan/inf): `gt=0` takes inf, so
    # the tables convert; the semantic checks, which would name it, do not run
    inf = float("inf")
    raw = _with(
        {
            ("statistics", "windows"): [300.0, inf],
            ("agents", 0, "queues"): {"q": 1, "q2": inf},
            ("queues", 1, "priority"): "x",
        }
    )
    assert _problems(raw) == [
        "$.queues[1].priority: Expected int, got str",
        "$.agents[0].queues.q2: must be a finite number, got inf",
        "$.statistics.windows[1]: must be a finite number, got inf",
    ]


def test_a_table_where_a_string_or_number_belongs_is_one_line_each() -> None:
    # `problems.py:151` (`isinstance(tp, type) or ...`: `str.__struct_config__`, an
    # AttributeError, for a table given where a plain value belongs)
    raw = _with(
        {
            ("queues", 1, "name"): {"a": 1},
            ("queues", 1, "priority"): {},
            ("routing", "offer_timeout_s"): {"s": 1},
        }
    )
    assert _problems(raw) == [
        "$.routing.offer_timeout_s: Expected float, got object",
        "$.queues[1].name: Expected str, got object",
        "$.queues[1].priority: Expected int, got object",
    ]


def test_every_mistake_in_a_tagged_table_is_reported_at_its_path() -> None:
    # `problems.py:153` (`tag_field is None and ...`: a member of a tagged union, the
    # simulator's distributions, never walked: msgspec's first mistake alone)
    dists = {
        "handle_time": {"dist": "lognormal", "mean_s": -1, "sd_s": -2},
        "patience": {"dist": "exponential", "mean_s": 0, "sd_s": 1},
    }
    raw = {"queues": [{"name": "q"}], "arrivals": [{"queue": "q", "rate_per_s": 1, **dists}]}
    assert _refused(convert_config, raw, Scenario) == [
        "$.arrivals[0].handle_time.mean_s: Expected float > 0.0",
        "$.arrivals[0].handle_time.sd_s: Expected float >= 0.0",
        "$.arrivals[0].patience: unknown field 'sd_s'; known: mean_s",
        "$.arrivals[0].patience.mean_s: Expected float > 0.0",
    ]


# --- the semantic checks (checks.py) -------------------------------------------------------


def test_every_overflow_rule_is_checked_past_one_naming_an_unknown_queue() -> None:
    # `checks.py:420` (`break` after a rule from an unknown queue), `:423` (after one to one)
    itself = [
        "$.backpressure.overflow.queues.q2.to: a queue cannot overflow to itself",
        "$.backpressure.overflow.queues.q2.to: overflow rules form a cycle through 'q2'",
    ]
    for src, to, line in [
        ("q", "nope", "$.backpressure.overflow.queues.q.to: unknown queue 'nope'"),
        ("zz", "q", "$.backpressure.overflow.queues.zz: unknown queue 'zz'"),
    ]:
        rules = {src: {"to": to, "after_s": 1}, "q2": {"to": "q2", "after_s": 1}}
        assert _problems(_with({("backpressure", "overflow", "queues"): rules})) == [line, *itself]


# --- loading (loading.py) -----------------------------------------------------------------


def test_the_format_is_the_suffix_s_in_any_case(tmp_path: Path) -> None:
    # `loading.py:39` (`.tml` no longer TOML)
    formats = {"toml": "toml", "TML": "toml", "json": "json", "JSON": "json", "yaml": "yaml"}
    formats |= {"Yml": "yaml"}
    assert {s: detect_format(Path(f"c.{s}")) for s in formats} == formats
    (tmp_path / "c.tml").write_text('[[queues]]\nname = "q"\n')
    assert load_config(tmp_path / "c.tml").queue_names() == ["q"]
    assert _refused(detect_format, Path("c.ini")) == [
        "$: unknown file type '.ini'; use .toml, .tml, .json, .yaml or .yml"
    ]
    assert _refused(detect_format, Path("toml")) == [
        "$: the file name has no suffix; use .toml, .tml, .json, .yaml or .yml"
    ]


def test_an_unknown_format_is_one_line_naming_it() -> None:
    # `loading.py:67` (the raise dropped: None parsed, then "the config is empty")
    assert _refused(parse_text, "a = 1", "ini") == ["$: unknown format 'ini'"]
    assert _refused(decode_config, "[routing]", "TOML") == ["$: unknown format 'TOML'"]


class _Tree(msgspec.Struct, forbid_unknown_fields=True):
    kids: list[_Tree] = msgspec.field(default_factory=list)


class _WithTree(RouterConfig):
    """A caller's config type (as a scenario is) with a recursive table of its own."""

    tree: _Tree | None = None


def test_data_nested_too_deeply_for_msgspec_is_one_line_not_a_traceback() -> None:
    # `loading.py:109` (the safety net's raise dropped: an UnboundLocalError). The parsers
    # refuse deep nesting; a Python caller's data reaches msgspec, which raises a
    # RecursionError at this depth
    tree: dict[str, Any] = {"kids": []}
    for _ in range(5000):
        tree = {"kids": [tree]}
    raw = {"queues": [{"name": "q"}], "tree": tree}
    assert _refused(convert_config, raw, _WithTree) == ["$: nested too deeply"]
