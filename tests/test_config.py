"""Config schema and semantic checks: every problem, one exact line each."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import ConfigError, Router, RouterConfig, Weights, decode_config, load_config
from router.config import FEATURES, QueueConfig, convert_config, parse_text, semantic_problems

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "configs"


def problems(text: str, fmt: str = "toml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        decode_config(text, fmt)
    return info.value.problems


# ---------------------------------------------------------------- formats


def test_toml_json_yaml_have_the_same_structure() -> None:
    toml = load_config(EXAMPLES / "multi_tenant.toml")
    assert load_config(EXAMPLES / "multi_tenant.json") == toml
    assert load_config(EXAMPLES / "multi_tenant.yaml") == toml
    assert toml.queues[2].weights == Weights(proficiency=3.0, idle_time=0.0, load=2.0)


def test_defaults_of_a_bare_file() -> None:
    cfg = decode_config("[routing]")
    assert cfg == RouterConfig()
    assert cfg.routing.weights == Weights(proficiency=1.0, idle_time=1.0, load=1.0)
    assert FEATURES == (
        "proficiency",
        "idle_time",
        "load",
        "recent_work",
        "recent_count",
        "heavy_streak",
    )


_YAML_BOOL = "an unquoted yes, no, on, off, true or false is a YAML boolean: quote the string"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("routing:\n  mode: yes\n", f"$.routing.mode: Expected str, got bool (true): {_YAML_BOOL}"),
        (
            "queues:\n  - name: on\n    channel: voice\n",
            f"$.queues[0].name: Expected str, got bool (true): {_YAML_BOOL}",
        ),
        (
            "queues:\n  - name: a\n    closed: off\n",
            f"$.queues[0].closed: Expected str, got bool (false): {_YAML_BOOL}",
        ),
        (
            "backpressure:\n  policy: [no]\n",
            f"$.backpressure.policy[0]: Expected str, got bool (false): {_YAML_BOOL}",
        ),
        (
            "queues:\n  - name: a\n    requires: {no: 2}\n",
            "$.queues[0].requires: invalid key False: Expected str, got bool (false): "
            + _YAML_BOOL,
        ),
        (
            "queues:\n  - name: a\n    tenant: yes\n",
            f"$.queues[0].tenant: Expected str | null, got bool (true): {_YAML_BOOL}",
        ),
        # a bool where a number belongs is no quoting matter: msgspec's line as it was
        (
            "routing:\n  offer_timeout_s: yes\n",
            "$.routing.offer_timeout_s: Expected float, got bool",
        ),
    ],
)
def test_a_yaml_boolean_where_a_string_belongs_says_to_quote_it(text: str, line: str) -> None:
    """user51/52: YAML 1.1 reads ``mode: yes`` as true; msgspec's ``Expected str, got bool``
    named the field but not the cause."""
    assert problems(text, "yaml") == [line]


@pytest.mark.parametrize(
    ("text", "fmt", "line"),
    [
        ("[routing]\nmode = true\n", "toml", "$.routing.mode: Expected str, got bool"),
        (
            '[[queues]]\nname = "a"\nclosed = false\n',
            "toml",
            "$.queues[0].closed: Expected str, got bool",
        ),
        ('{"routing": {"mode": true}}', "json", "$.routing.mode: Expected str, got bool"),
        (
            '{"queues": [{"name": "a", "tenant": true}]}',
            "json",
            "$.queues[0].tenant: Expected str | null, got bool",
        ),
        (
            '{"backpressure": {"policy": [false]}}',
            "json",
            "$.backpressure.policy[0]: Expected str, got bool",
        ),
    ],
)
def test_a_toml_or_json_boolean_where_a_string_belongs_is_the_plain_type_error(
    text: str, fmt: str, line: str, tmp_path: Path
) -> None:
    """user53: the YAML-boolean hint showed for a TOML or JSON ``true`` too, where no
    ``yes`` was ever written: only a YAML source gets it (decode_config, load_config by
    suffix, and a mapping from Python, which says nothing of YAML)."""
    assert problems(text, fmt) == [line]
    f = tmp_path / f"router.{fmt}"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert info.value.problems == [line]
    with pytest.raises(ConfigError) as info:
        convert_config(msgspec.json.decode(msgspec.json.encode(parse_text(text, fmt))))
    assert info.value.problems == [line]
    y = tmp_path / "router.yaml"
    y.write_text("routing:\n  mode: yes\n")
    with pytest.raises(ConfigError) as info:
        load_config(y)
    assert info.value.problems == [f"$.routing.mode: Expected str, got bool (true): {_YAML_BOOL}"]


@pytest.mark.parametrize(
    ("text", "fmt", "line"),
    [
        ("a = [1,\nb = 2", "toml", r"^\$: malformed TOML: .*line 2.*$"),
        ("a = 1\na = 2", "toml", r"^\$: malformed TOML: .*$"),
        ('{"queues": [', "json", r"^\$: malformed JSON: .*$"),
        ("queues: [a, b", "yaml", r"^\$: malformed YAML: .*$"),
        ("[1, 2]", "json", r"^\$: Expected object, got array$"),
        ("- 1\n- 2", "yaml", r"^\$: Expected object, got array$"),
    ],
)
def test_malformed_text_is_one_line(text: str, fmt: str, line: str) -> None:
    got = problems(text, fmt)
    assert len(got) == 1
    assert "\n" not in got[0]
    assert re.match(line, got[0]), got


def test_unknown_file_type(tmp_path: Path) -> None:
    p = tmp_path / "router.ini"
    p.write_text("")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.problems == [
        "$: unknown file type '.ini'; use .toml, .tml, .json, .yaml or .yml"
    ]


# ---------------------------------------------------------------- schema paths


def test_dict_entry_error_names_the_key() -> None:
    text = """
[[queues]]
name = "a"
[[queues]]
name = "refund"
requires = { refund = 0 }
"""
    assert problems(text) == ["$.queues[1].requires.refund: Expected int >= 1"]


def test_every_independent_schema_problem_is_reported() -> None:
    text = """
[routing]
mode = "fast"
weights = { foo = 1, load = -1 }
[[queues]]
name = "a"
requires = { refund = 6, "odd key" = 0 }
answer_target_s = 0
[[queues]]
channel = "chat"
[[agents]]
capacity = { chat = -1 }
queues = { a = 0 }
colour = "red"
"""
    assert problems(text) == [
        "$.routing.weights: unknown feature 'foo'; known: proficiency, idle_time, load, "
        "recent_work, recent_count, heavy_streak",
        "$.routing.weights.load: Expected float >= 0.0",
        "$.routing.mode: unknown value 'fast'; known: immediate, offer",
        "$.queues[0].requires.refund: Expected int <= 5",
        '$.queues[0].requires["odd key"]: Expected int >= 1',
        "$.queues[0].answer_target_s: Expected float > 0.0",
        "$.queues[1]: missing required field 'name'",
        "$.agents[0]: unknown field 'colour'; known: count, name, skills, capacity, units, "
        "tenants, queues, wrap_up_s, shift_start_s, shift_end_s, shifts, handback_share, "
        "decline_share, decline_away_s, no_answer_share, no_answer_away_s, console_drop_s, "
        "console_back_s, attributes",
        "$.agents[0].capacity.chat: Expected int >= 0",
        "$.agents[0].queues.a: Expected float > 0.0",
    ]


def test_unknown_top_level_table() -> None:
    assert problems("[routng]\nmode = 'offer'") == [
        "$: unknown field 'routng'; known: routing, channels, queues, wellbeing, backpressure, "
        "agents, statistics"
    ]


def test_unknown_feature_in_a_queue_override() -> None:
    text = '[[queues]]\nname = "a"\nweights = { speed = 2 }'
    assert problems(text) == [
        "$.queues[0].weights: unknown feature 'speed'; known: proficiency, idle_time, load, "
        "recent_work, recent_count, heavy_streak"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "[routing]\nweights = { load = nan }",
            "$.routing.weights.load: must be a finite number, got nan",
        ),
        (
            "[routing]\nweights = { load = inf }",
            "$.routing.weights.load: must be a finite number, got inf",
        ),
        (
            "[routing]\npriority_seconds = inf",
            "$.routing.priority_seconds: must be a finite number, got inf",
        ),
        ("[wellbeing]\nbreak_s = nan", "$.wellbeing.break_s: must be a finite number, got nan"),
        (
            '[[queues]]\nname = "a"\nweights = { idle_time = inf }',
            "$.queues[0].weights.idle_time: must be a finite number, got inf",
        ),
        (
            '[[queues]]\nname = "a"\nsteps = [{ after_s = -inf }]',
            "$.queues[0].steps[0].after_s: must be a finite number, got -inf",
        ),
    ],
)
def test_toml_nan_and_inf_are_caught(text: str, line: str) -> None:
    assert problems(text) == [line]


def test_nan_beside_another_schema_error_is_still_reported() -> None:
    text = "[routing]\nweights = { load = inf }\nmode = 'x'\n[wellbeing]\nbreak_s = inf"
    got = problems(text)
    assert "$.routing.weights.load: must be a finite number, got inf" in got
    assert "$.wellbeing.break_s: must be a finite number, got inf" in got
    assert len(got) == 3


def test_programmatic_config_with_inf_is_refused_by_the_router() -> None:
    cfg = RouterConfig(queues=[QueueConfig(name="q", answer_target_s=math.inf)])
    assert semantic_problems(cfg) == [
        "$.queues[0].answer_target_s: must be a finite number, got inf"
    ]
    with pytest.raises(ConfigError, match=r"^\$\.queues\[0\]\.answer_target_s: must be"):
        Router(cfg)


# ---------------------------------------------------------------- semantic checks

SEMANTIC = [
    (
        "duplicate queue",
        '[[queues]]\nname = "a"\n[[queues]]\nname = "a"',
        ["$.queues[1].name: duplicate queue name 'a' (also $.queues[0])"],
    ),
    (
        "unknown channel",
        '[[queues]]\nname = "a"\nchannel = "fax"',
        ["$.queues[0].channel: unknown channel 'fax'; known: chat, email, task, voice"],
    ),
    (
        "steps not increasing",
        '[[queues]]\nname = "a"\nsteps = [{ after_s = 30 }, { after_s = 30 }, { after_s = 10 }]',
        [
            "$.queues[0].steps[1].after_s: steps must have increasing after_s (30 is not after 30)",
            "$.queues[0].steps[2].after_s: steps must have increasing after_s (10 is not after 30)",
        ],
    ),
    (
        "on_remove unknown",
        '[[queues]]\nname = "a"\non_remove = "b"',
        ["$.queues[0].on_remove: unknown queue 'b'"],
    ),
    (
        "on_remove itself",
        '[[queues]]\nname = "a"\non_remove = "a"',
        ["$.queues[0].on_remove: a queue cannot hand over to itself"],
    ),
    (
        "duplicate surge override",
        '[wellbeing]\nsuspend_in_surge = ["shift", "shift"]',
        ["$.wellbeing.suspend_in_surge[1]: 'shift' is listed twice"],
    ),
    (
        "duplicate profile",
        '[[agents]]\nname = "x"\n[[agents]]\nname = "x"',
        ["$.agents[1].name: duplicate agent profile name 'x' (also $.agents[0])"],
    ),
    (
        "cap above hard max",
        "[channels.chat]\nmax_concurrency = 20\n"
        '[[agents]]\ncapacity = { chat = 25, "my chan" = 1 }',
        [
            "$.agents[0].capacity.chat: 25 is above the channel's hard maximum 20",
            "$.agents[0].capacity[\"my chan\"]: unknown channel 'my chan'; "
            "known: chat, email, task, voice",
        ],
    ),
    (
        "profile lists unknown queue",
        '[[queues]]\nname = "a"\n[[agents]]\nqueues = { a = 1, b = 2 }',
        ["$.agents[0].queues.b: unknown queue 'b'"],
    ),
    (
        "shift ends before it starts",
        "[[agents]]\nshift_start_s = 100\nshift_end_s = 50",
        ["$.agents[0].shift_end_s: must be after shift_start_s"],
    ),
    (
        "tenant nobody serves",
        '[[queues]]\nname = "a"\ntenant = "fliggy"\n[[agents]]\ntenants = ["taobao"]',
        [
            "$.agents[0].tenants[0]: unknown tenant 'taobao'; the queues' tenants: fliggy",
            "$.queues[0].tenant: no agent profile serves tenant 'fliggy'",
        ],
    ),
    (
        "profile with a misspelled tenant",  # ok before: the two agents served nothing
        '[[queues]]\nname = "a"\ntenant = "fliggy"\n[[queues]]\nname = "b"\ntenant = "taobao"\n'
        '[[agents]]\ntenants = ["fliggy", "taobao"]\n'
        '[[agents]]\ncount = 2\ntenants = ["taobao", "fligy"]',
        ["$.agents[1].tenants[1]: unknown tenant 'fligy'; the queues' tenants: fliggy, taobao"],
    ),
    (
        "shift with a tenant no queue has",
        '[[queues]]\nname = "a"\ntenant = "t"\n[[agents]]\ntenants = ["t"]\n'
        'shifts = [{ start_s = 0, end_s = 60 }, { start_s = 60, tenants = ["u", "t"] }]',
        ["$.agents[0].shifts[1].tenants: unknown tenant 'u'; the queues' tenants: t"],
    ),
    (
        "profile tenant when no queue has one",
        '[[queues]]\nname = "a"\n[[agents]]\ntenants = ["t"]',
        ["$.agents[0].tenants[0]: unknown tenant 't'; no queue belongs to a tenant"],
    ),
    (
        "tenant served only by an empty profile",
        '[[queues]]\nname = "a"\ntenant = "t"\n[[agents]]\ncount = 0\ntenants = ["t"]\n[[agents]]',
        ["$.queues[0].tenant: no agent profile serves tenant 't'"],
    ),
    (
        "skill nobody has",
        '[[queues]]\nname = "a"\nrequires = { german = 1 }\n[[agents]]\nskills = { english = 5 }',
        ["$.queues[0].requires.german: needs level 1; no agent profile has it"],
    ),
    (
        "level nobody has",
        '[[queues]]\nname = "a"\nrequires = { refund = 4 }\n[[agents]]\nskills = { refund = 3 }',
        ["$.queues[0].requires.refund: needs level 4; the best is 3"],
    ),
    (
        "level nobody has, relaxed later",
        '[[queues]]\nname = "a"\nrequires = { refund = 4 }\n'
        "steps = [{ after_s = 30, requires = { refund = 2 } }]\n"
        "[[agents]]\nskills = { refund = 3 }",
        [
            "$.queues[0].requires.refund: needs level 4; the best is 3 "
            "(every inquiry waits for the first step)"
        ],
    ),
    (
        "level nobody has in a step",
        '[[queues]]\nname = "a"\nrequires = { refund = 1 }\n'
        "steps = [{ after_s = 30, requires = { refund = 5 } }]\n"
        "[[agents]]\nskills = { refund = 3 }",
        ["$.queues[0].steps[0].requires.refund: needs level 5; the best is 3"],
    ),
    (
        "no single profile has all skills",
        '[[queues]]\nname = "a"\nrequires = { a = 1, b = 1 }\n'
        "[[agents]]\nskills = { a = 2 }\n[[agents]]\nskills = { b = 2 }",
        ["$.queues[0].requires: no single agent profile has all of a >= 1, b >= 1"],
    ),
    (
        "only the wrong tenant has the skill",
        '[[queues]]\nname = "a"\ntenant = "t"\nrequires = { x = 2 }\n'
        '[[agents]]\ntenants = ["t"]\nskills = { x = 1 }\n[[agents]]\nskills = { x = 5 }',
        ["$.queues[0].requires.x: needs level 2; the best is 1"],
    ),
    (
        "nobody has the channel",
        '[[queues]]\nname = "a"\nchannel = "chat"\n[[agents]]\ncapacity = { voice = 1 }',
        ["$.queues[0].channel: no agent profile serving it has capacity on 'chat'"],
    ),
    (
        "every profile leaves the queue out",
        '[[queues]]\nname = "a"\n[[queues]]\nname = "b"\n[[agents]]\nqueues = { a = 1 }',
        ["$.queues[1].name: every agent profile that could serve it leaves it out of queues"],
    ),
    (
        "unknown backpressure policy",
        '[backpressure]\npolicy = "drop_everything"',
        [r"$.backpressure.policy: unknown policy 'drop_everything'; known: "],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in SEMANTIC], ids=[c[0] for c in SEMANTIC]
)
def test_semantic_check(text: str, expected: list[str]) -> None:
    got = problems(text)
    if expected[0].endswith("known: "):  # the policy list belongs to the backpressure layer
        assert len(got) == 1 and got[0].startswith(expected[0])
        assert "admit_all" in got[0] and "reject_when_full" in got[0]
    else:
        assert got == expected


def test_semantic_problems_are_all_reported_together() -> None:
    text = """
[wellbeing]
suspend_in_surge = ["heavy", "heavy"]
[[queues]]
name = "a"
channel = "fax"
[[queues]]
name = "a"
[[agents]]
shift_start_s = 10
shift_end_s = 5
"""
    assert problems(text) == [
        "$.queues[0].channel: unknown channel 'fax'; known: chat, email, task, voice",
        "$.queues[1].name: duplicate queue name 'a' (also $.queues[0])",
        "$.wellbeing.suspend_in_surge[1]: 'heavy' is listed twice",
        "$.agents[0].shift_end_s: must be after shift_start_s",
        "$.queues[0].channel: no agent profile serving it has capacity on 'fax'",
    ]


def test_examples_are_valid() -> None:
    from router.config import read_config_file
    from router.config.summary import is_scenario
    from router.sim import load_scenario

    files = sorted(EXAMPLES.glob("*.*"))
    assert len(files) >= 5
    for f in files:  # router configs, and the routing features' scenarios
        if is_scenario(read_config_file(f)):
            load_scenario(f)
        else:
            load_config(f)


def test_policy_names_are_the_built_ins_and_the_registry() -> None:
    from router.config import POLICY_NAMES
    from router.policies.admission import POLICIES

    assert set(POLICY_NAMES) == set(POLICIES)
    with pytest.raises(ConfigError) as info:
        decode_config('[backpressure]\npolicy = ["admit_all", "drop_all"]')
    assert info.value.problems == [
        "$.backpressure.policy[1]: unknown policy 'drop_all'; known: " + ", ".join(sorted(POLICIES))
    ]


def test_a_large_config_is_checked_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 50 MB config took minutes: the NaN walk asked msgspec for every struct's fields and
    the coverage check compared every queue with every profile. Both are now per type /
    per kind of queue; the counts below are what stays flat as the config grows."""
    from router.config import checks

    n = 3000
    queues = "\n".join(
        f'[[queues]]\nname = "q{i}"\nrequires = {{ refund = {1 + i % 3} }}\npriority = {i % 2}'
        for i in range(n)
    )
    text = queues + "\n[[agents]]\ncount = 2\nskills = { refund = 3 }\n"
    calls = {"fields": 0, "coverage": 0}
    real_fields, real_coverage = msgspec.structs.fields, checks._queue_coverage

    def fields(tp: Any) -> Any:
        calls["fields"] += 1
        return real_fields(tp)

    def coverage(*args: Any) -> Any:
        calls["coverage"] += 1
        return real_coverage(*args)

    monkeypatch.setattr(msgspec.structs, "fields", fields)
    monkeypatch.setattr(checks, "_queue_coverage", coverage)
    checks._FIELDS.clear()
    cfg = decode_config(text)
    assert len(cfg.queues) == n
    assert calls["fields"] <= 20  # once per struct type, not once per struct
    assert calls["coverage"] == 3  # once per kind of queue (three requirement levels)


def test_a_profile_tenant_no_queue_has_is_refused_in_documents_only() -> None:
    """A misspelled tenant is a document's problem (``router check``, files, the watcher);
    a ``RouterConfig`` made in Python, and a snapshot holding one, still build a router."""
    text = '[[queues]]\nname = "a"\ntenant = "fliggy"\n[[agents]]\ntenants = ["fliggy", "fligy"]'
    with pytest.raises(ConfigError) as err:
        decode_config(text)
    assert err.value.problems == [
        "$.agents[0].tenants[1]: unknown tenant 'fligy'; the queues' tenants: fliggy"
    ]
    cfg = msgspec.convert(msgspec.toml.decode(text), RouterConfig)
    assert semantic_problems(cfg) == []
    assert semantic_problems(cfg, profile_tenants=True) == err.value.problems
    router = Router(cfg)
    again = Router.restore(router.snapshot())
    assert again.snapshot() == router.snapshot()
    with pytest.raises(ConfigError):  # a mapping given to reconfigure is a document
        router.reconfigure(msgspec.to_builtins(cfg), 1.0)
    router.reconfigure(cfg, 1.0)  # the same config as a RouterConfig applies
