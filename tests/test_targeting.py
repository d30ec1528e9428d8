"""Attribute targeting: the ``match`` language, its checks, and pools keyed by it in the core."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from router import (
    AgentSpec,
    ConfigError,
    ImpossibleRequirement,
    Inquiry,
    InvalidInput,
    InvalidState,
    Router,
    SetAttributes,
    decode_config,
    decode_input,
)
from router.config.targeting import Target, TargetError, parse_target
from tests.helpers import brief, config

# ---------------------------------------------------------------------- the language

AGENT = {"vip": True, "langs": ["zh", "en"], "level": 4, "team": "refund", "tags": ["a", 1]}


@pytest.mark.parametrize(
    ("text", "inquiry", "expected"),
    [
        ("vip == true", {}, True),
        ("vip", {}, True),
        ("not vip", {}, False),
        ("vip == 1", {}, False),  # true is not 1
        ("level == 4.0", {}, True),  # 4 is 4.0
        ("level >= 4 and level < 5", {}, True),
        ("level > 4 or team == 'refund'", {}, True),
        ('team != "refund"', {}, False),
        ("team < 'zzz'", {}, True),  # strings order
        ("team < 3", {}, False),  # kinds that do not order: false, not an error
        ("inquiry.lang in langs", {"lang": "zh"}, True),
        ("inquiry.lang in langs", {"lang": "ja"}, False),
        ("inquiry.lang in langs", {}, False),  # missing: false
        ("langs HAS inquiry.lang", {"lang": "en"}, True),
        ("langs has 'ja'", {}, False),
        ("tags has 1", {}, True),
        ("tags has true", {}, False),
        ("team IN ['refund', 'sales']", {}, True),
        ("missing == 1", {}, False),
        ("missing != 1", {}, False),  # a missing attribute matches nothing, not even !=
        ("not (missing == 1)", {}, True),
        ("inquiry.vip == vip", {"vip": True}, True),
        ("inquiry.tier >= level", {"tier": 5}, True),
        ("inquiry.tier >= level", {"tier": "5"}, False),
        ("langs == ['zh', 'en']", {}, True),
        ("(vip and level > 3) and not (team == 'x' or level < 0)", {}, True),
        ("level > -1.5e0", {}, True),
    ],
)
def test_expressions_evaluate_as_documented(
    text: str, inquiry: dict[str, Any], expected: bool
) -> None:
    assert parse_target(text).matches(AGENT, inquiry) is expected


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 1, "empty expression"),
        ("vip ==", 7, "expected a value after '==', found the end"),
        ("vip = true", 5, "unknown operator '='; use '=='"),
        ("vip && level", 5, "unknown operator '&&'; use 'and'"),
        ("'yes'", 1, "a string is not a condition"),
        ("level < true", 9, "'<' orders numbers or strings, not a boolean"),
        ("1 == 'a'", 3, "a number is never equal to a string"),
        ("team in 'refund'", 9, "'in' needs a list on its right, not a string"),
        ("[1, 2] in langs", 1, "'in' tests one value, not a list; use 'has'"),
        ("3 has team", 1, "'has' needs a list on its left, not a number"),
        ("a == b == c", 8, "comparisons do not chain"),
        ("(vip", 5, "expected ')' to close the '(' at column 1"),
        ("inquiry == 1", 9, "write inquiry.NAME"),
        ("x in [1, y]", 10, "a list holds literals"),
        ("'open", 1, "a string that is never closed"),
        ("vip level", 5, "expected 'and', 'or' or the end, found 'level'"),
        ("level > 1.2.3", 9, "'1.2.3' is not a number"),
        ("not " * 40 + "vip", 129, "nested deeper than 32 levels"),
    ],
)
def test_mistakes_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    assert info.value.column == column
    assert str(info.value).startswith(f"column {column}: {message}")


def test_the_signature_is_the_inquiry_attributes_read() -> None:
    t = parse_target("inquiry.lang in langs and vip and inquiry.tier > level and inquiry.lang!='x'")
    assert t.inquiry_names == ("lang", "tier")
    assert t.agent_names == ("langs", "level", "vip")
    # canonical: true is not 1, 1 is 1.0, lists are tuples, absent is None
    assert t.bind({"lang": "zh", "tier": 1}) == t.bind({"lang": "zh", "tier": 1.0})
    assert t.bind({"lang": True}) != t.bind({"lang": 1})
    assert t.bind(None) == (None, None)
    assert t.bind({"lang": ["a"]}) == (("l", (("s", "a"),)), None)


# ---------------------------------------------------------------------- config


QUEUES = """
[[queues]]
name = "plain"
[[queues]]
name = "vip"
match = "vip == true"
[[queues]]
name = "lang"
match = "inquiry.lang in langs and level >= 2"
"""


def test_check_names_the_path_and_column() -> None:
    bad = QUEUES.replace('"vip == true"', '"vip == true and"').replace(
        '"inquiry.lang in langs and level >= 2"', '"inquiry.lang in 3"'
    )
    with pytest.raises(ConfigError) as info:
        decode_config(bad.encode())
    assert info.value.problems == [
        "$.queues[1].match: column 16: expected a condition, found the end",
        "$.queues[2].match: column 17: 'in' needs a list on its right, not a number",
    ]


def test_check_finds_a_match_no_profile_satisfies() -> None:
    text = (
        QUEUES
        + """
[[agents]]
count = 3
attributes = { vip = false, langs = ["zh"], level = 3 }
"""
    )
    with pytest.raises(ConfigError) as info:
        decode_config(text.encode())
    # "lang" depends on the inquiry: not decidable from profiles alone, so not reported
    assert info.value.problems == [
        "$.queues[1].match: no agent profile that could serve the queue matches it"
    ]
    decode_config(text.replace("vip = false", "vip = true").encode())


def test_the_check_command_prints_the_line(tmp_path: Any) -> None:
    from router.cli.check import check_main

    path = tmp_path / "bad.toml"
    path.write_text(QUEUES.replace("level >= 2", "level >="))
    out = io.StringIO()
    assert check_main([str(path)], out=out) == 2
    line = r"^\$\.queues\[2\]\.match: column 35: expected a value after '>=', found the end$"
    assert re.search(line, out.getvalue(), re.M)


def test_immediate_mode_refuses_multi_offers() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config(b'[routing]\nmode = "immediate"\n[[queues]]\nname = "q"\nmax_offers = 2\n')
    assert info.value.problems == [
        '$.queues[0].max_offers: 2 offers at once need routing.mode = "offer" (immediate mode '
        "assigns without an offer)"
    ]


def test_profile_attributes_are_checked_value_by_value() -> None:
    with pytest.raises(ConfigError) as info:
        decode_config(b"[[agents]]\nattributes = { level = nan, tags = [[1]], ok = [1, 'a'] }\n")
    assert info.value.problems == [
        "$.agents[0].attributes.level: must be a finite number, got nan",
        "$.agents[0].attributes.tags[0]: Expected bool | int | float | str, got array",
    ]


# ---------------------------------------------------------------------- the core

CFG = """
[routing]
mode = "immediate"
[[queues]]
name = "support"
channel = "chat"
match = "inquiry.lang in langs"
[[queues]]
name = "vip"
channel = "voice"
requires = { refund = 1 }
match = "vip and level >= inquiry.tier"
"""


def agent(aid: str, langs: list[str], vip: bool = False, level: int = 1, **kw: Any) -> AgentSpec:
    return AgentSpec(
        id=aid,
        skills={"refund": 1},
        capacity={"chat": 5, "voice": 1},
        attributes={"langs": langs, "vip": vip, "level": level},
        **kw,
    )


def test_inquiries_reach_only_matching_agents() -> None:
    r = Router(config(CFG))
    r.login(agent("zh", ["zh"]), 0)
    r.login(agent("en", ["en"], vip=True, level=2), 0)
    r.login(agent("both", ["zh", "en"], vip=True, level=5), 0)
    r.tick(0)
    got: dict[str, str] = {}
    for i, (lang, q, tier) in enumerate(
        [("zh", "support", 0), ("en", "support", 0), ("ja", "support", 0), ("x", "vip", 3)]
    ):
        r.submit(
            Inquiry(id=f"c{i}", queue=q, attributes={"lang": lang, "tier": tier}), float(i + 1)
        )
        for e in r.tick(float(i + 1)):
            if type(e).__name__ == "Assigned":
                got[e.inquiry_id] = e.agent_id
    assert got["c0"] in ("zh", "both") and got["c1"] in ("en", "both")
    assert "c2" not in got  # nobody speaks ja: it waits
    assert got["c3"] == "both"  # vip and level 5 >= tier 3; "en" is level 2
    assert r.inquiry_state("c2") == "waiting"
    # pools: one per distinct binding, each agent's eligibility decided once
    keys = sorted(k[5] for k in r._pools if k[0] == "support")
    assert keys == [(("s", "en"),), (("s", "ja"),), (("s", "zh"),)]


def test_eligibility_is_evaluated_per_agent_and_pool_never_per_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = Target.admits

    def counting(self: Target, agent_attrs: Any, bound: Any) -> bool:
        nonlocal calls
        calls += 1
        return real(self, agent_attrs, bound)

    monkeypatch.setattr(Target, "admits", counting)
    r = Router(config(CFG))
    for i in range(20):
        r.login(agent(f"a{i}", ["zh", "en"] if i % 2 else ["zh"]), 0)
    r.tick(0)
    now = 0.0
    for i in range(400):
        now += 1
        lang = ["zh", "en"][i % 2]
        r.submit(Inquiry(id=f"c{i}", queue="support", attributes={"lang": lang}), now)
        r.tick(now)
        r.complete(f"c{i}", now)
    # 2 pools x 20 agents, whatever the number of decisions
    assert r.counters.decisions == 400
    assert calls == 40


def test_strict_mode_knows_the_match() -> None:
    r = Router(config(CFG, strict=True))
    r.login(agent("zh", ["zh"]), 0)
    with pytest.raises(ImpossibleRequirement):
        r.submit(Inquiry(id="c1", queue="support", attributes={"lang": "ja"}), 1)
    assert not r._pools  # a refusal leaves no pool behind
    r.submit(Inquiry(id="c2", queue="support", attributes={"lang": "zh"}), 1)


def test_set_attributes_moves_an_agent_between_pools_without_touching_its_work() -> None:
    r = Router(config(CFG))
    r.login(agent("a", ["zh"]), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="support", attributes={"lang": "zh"}), 1)
    r.submit(Inquiry(id="c2", queue="support", attributes={"lang": "en"}), 1)
    assert brief(r.tick(1))[-1] == ("Assigned", "c1", "a")
    r.handle(SetAttributes(agent_id="a", attributes={"langs": ["en"]}), 2)
    events = r.tick(2)
    assert brief(events) == [("AgentAttributesSet", "a"), ("Assigned", "c2", "a")]
    assert events[0].pools == 1
    assert r.agent_of("c1") == "a"  # work in hand stays
    r.submit(Inquiry(id="c3", queue="support", attributes={"lang": "zh"}), 3)
    r.tick(3)
    assert r.inquiry_state("c3") == "waiting"


@pytest.mark.parametrize(
    ("attrs", "field"),
    [
        ({"x": float("nan")}, "attributes.x"),
        ({"x": [1, float("inf")]}, "attributes.x[1]"),
        ({"x": None}, "attributes.x"),
        ({"x": [[1]]}, "attributes.x[0]"),
        ({"x": 2**70}, "attributes.x"),
        ({"": 1}, "attributes"),
        ({"x": "s" * 201}, "attributes.x"),
        ({"x": list(range(101))}, "attributes.x"),
    ],
)
def test_bad_attributes_are_refused_naming_the_field_and_change_nothing(
    attrs: dict[str, Any], field: str
) -> None:
    r = Router(config(CFG))
    r.login(agent("a", ["zh"]), 0)
    r.tick(0)
    before = r.snapshot()
    with pytest.raises(InvalidInput) as info:
        r.submit(Inquiry(id="c1", queue="support", attributes=attrs), 1)
    assert info.value.field == field
    with pytest.raises(InvalidInput) as info:
        r.set_attributes("a", attrs, 1)
    assert info.value.field == field
    with pytest.raises(InvalidInput) as info:
        r.login(AgentSpec(id="b", attributes=attrs), 1)
    assert info.value.field == field
    assert r.snapshot() == before


def test_attributes_from_the_wire_are_validated_by_the_schema() -> None:
    inp = decode_input(
        b'{"type": "set_attributes", "agent_id": "a", "attributes": {"x": [1, "b"]}}'
    )
    assert inp == SetAttributes(agent_id="a", attributes={"x": [1, "b"]})
    import msgspec

    with pytest.raises(msgspec.ValidationError, match=r"\$\.attributes\[\.\.\.\]"):
        decode_input(b'{"type": "set_attributes", "agent_id": "a", "attributes": {"x": null}}')
    with pytest.raises(msgspec.ValidationError, match="preferred_agents"):
        decode_input(
            b'{"type": "submit", "inquiry": {"id": "c", "queue": "q", "preferred_agents": [""]}}'
        )


def test_unknown_or_leaving_agents_are_refused() -> None:
    r = Router(config(CFG))
    with pytest.raises(Exception, match="unknown agent 'nobody'"):
        r.set_attributes("nobody", {}, 0)
    r.login(agent("a", ["zh"]), 0)
    r.tick(0)
    r.submit(Inquiry(id="c1", queue="support", attributes={"lang": "zh"}), 1)
    r.tick(1)
    r.logout("a", 2)  # still holds c1: logging out
    with pytest.raises(InvalidState, match="logging out"):
        r.set_attributes("a", {"langs": ["en"]}, 3)


def test_snapshots_keep_the_bindings() -> None:
    r = Router(config(CFG))
    r.login(agent("a", ["zh"], vip=True, level=3), 0)
    r.tick(0)
    for i, (q, attrs) in enumerate(
        [("support", {"lang": "en"}), ("vip", {"tier": 9}), ("support", {"lang": ["x", 1]})]
    ):
        r.submit(Inquiry(id=f"c{i}", queue=q, attributes=attrs), 1)
    r.tick(1)
    snap = r.snapshot()
    again = Router.restore(snap)
    assert again.snapshot() == snap
    assert set(again._pools) == set(r._pools)
    for rr in (r, again):
        rr.set_attributes("a", {"langs": ["en"], "vip": True, "level": 9}, 2)
    assert brief(r.tick(2)) == brief(again.tick(2))
