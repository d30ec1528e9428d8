"""``python -m router check``: exit codes, one line per problem, never a traceback."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from router.cli.check import check_main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "configs"

CONFIG = """
[[queues]]
name = "refund"
requires = { refund = 1 }
[[queues]]
name = "chat"
channel = "chat"
[[queues]]
name = "vip"
requires = { refund = 3 }
[backpressure]
policy = "reject_when_full"
max_queue = 100
[[agents]]
count = 100
skills = { refund = 2 }
capacity = { voice = 1, chat = 5 }
[[agents]]
count = 20
skills = { refund = 4 }
"""

SCENARIO = """
[[queues]]
name = "refund"
[simulation]
duration_s = 600
seed = 3
[[agents]]
count = 4
[[arrivals]]
queue = "refund"
rate_per_s = 0.01
handle_time = { dist = "exponential", mean_s = 120 }
[[surges]]
start_s = 100
end_s = 200
multiplier = 5
"""


def run(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = check_main(list(args), out=out)
    return code, out.getvalue().splitlines()


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_valid_config_gives_one_summary_line(tmp_path: Path) -> None:
    assert run(write(tmp_path, "ok.toml", CONFIG)) == (
        0,
        ["ok: 3 queues, 2 agent profiles (120 agents), policy reject_when_full"],
    )


def test_invalid_config_gives_one_line_per_problem(tmp_path: Path) -> None:
    bad = CONFIG.replace("requires = { refund = 3 }", "requires = { refund = 0 }").replace(
        'name = "chat"', 'name = "chat"\ncolour = "red"'
    )
    code, lines = run(write(tmp_path, "bad.toml", bad))
    assert code == 2
    assert lines == [
        "$.queues[1]: unknown field 'colour'; known: name, channel, requires, priority, tenant, "
        "answer_target_s, steps, weights, heavy, on_remove, max_queue, hours, closed, at_close, "
        "match, distribution, max_offers, preferred_wait_s",
        "$.queues[2].requires.refund: Expected int >= 1",
    ]


def test_semantic_problem(tmp_path: Path) -> None:
    code, lines = run(write(tmp_path, "c.toml", CONFIG.replace("refund = 4", "refund = 2")))
    assert (code, lines) == (2, ["$.queues[2].requires.refund: needs level 3; the best is 2"])


def test_tuning_md_section_1_example_gives_the_lines_it_quotes(tmp_path: Path) -> None:
    """docs/tuning.md §1: its bad.toml gives the two schema lines quoted, and with those
    fixed, the semantic one (it quoted all three as one file's output, which cannot be)."""
    section = (ROOT / "docs" / "tuning.md").read_text().split("## 1.")[1].split("## 2.")[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", section, re.S | re.M)
    assert [lang for lang, _ in blocks] == ["toml", "", ""]
    text, first, then = blocks[0][1], blocks[1][1].splitlines(), blocks[2][1].splitlines()
    assert run(write(tmp_path, "bad.toml", text)) == (2, first)
    fixed = text.replace(", speed = 2.0", "").replace("refund = 0", "refund = 1")
    assert run(write(tmp_path, "fixed.toml", fixed)) == (2, then)


def test_tuning_md_gives_the_answer_target_default_the_schema_has() -> None:
    # tidy51 (tidy50's note): QueueConfig.answer_target_s defaults to 20 s, which every
    # service level of a queue that leaves it out rests on; docs/ showed 20 only as an example
    from router.config.schema import QueueConfig

    default = QueueConfig(name="q").answer_target_s
    section = (ROOT / "docs" / "tuning.md").read_text().split("## 7.")[1]
    said = re.search(r"`answer_target_s` \(default\s+(\d+(?:\.\d+)?) s\b", section)
    assert said is not None, "docs/tuning.md section 7 gives no answer_target_s default"
    assert float(said.group(1)) == default == 20.0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.toml", None, r"^\$: cannot read .*missing\.toml: No such file or directory$"),
        ("dir.toml", "<dir>", r"^\$: cannot read .*dir\.toml: Is a directory$"),
        ("bad.toml", "[queues\nname=1", r"^\$: malformed TOML: .+$"),
        (
            "latin1.toml",
            b"a = '\xe9'",
            r"^\$: the file is not UTF-8 text: byte 0xe9 at line 1, .+$",
        ),
        ("bad.json", "{", r"^\$: malformed JSON: .+$"),
        (
            "conf.ini",
            "",
            r"^\$: unknown file type '\.ini'; use \.toml, \.tml, \.json, \.yaml or \.yml$",
        ),
    ],
)
def test_unusable_file_is_one_line_exit_2(
    tmp_path: Path, name: str, content: str | bytes | None, expected: str
) -> None:
    p = tmp_path / name
    if content == "<dir>":
        p.mkdir()
    elif isinstance(content, bytes):
        p.write_bytes(content)
    elif content is not None:
        p.write_text(content)
    code, lines = run(str(p))
    assert code == 2
    assert len(lines) == 1
    assert re.match(expected, lines[0]), lines


def test_scenario_is_checked_with_its_tables(tmp_path: Path) -> None:
    assert run(write(tmp_path, "s.toml", SCENARIO)) == (
        0,
        [
            "ok: scenario, 1 queue, 1 agent profile (4 agents), policy admit_all, "
            "1 arrival stream, 1 surge"
        ],
    )
    bad = SCENARIO.replace('queue = "refund"', 'queue = "refunds"').replace(
        "mean_s = 120", "mean_s = -1"
    )
    code, lines = run(write(tmp_path, "s2.toml", bad))
    assert code == 2
    assert lines == ["$.arrivals[0].handle_time.mean_s: Expected float > 0.0"]
    bad = SCENARIO.replace('queue = "refund"', 'queue = "refunds"').replace("seed = 3", "sed = 3")
    code, lines = run(write(tmp_path, "s3.toml", bad))
    assert code == 2
    assert lines[0].startswith("$.simulation: unknown field 'sed'; known: duration_s,")
    bad = SCENARIO.replace('queue = "refund"', 'queue = "refunds"')
    assert run(write(tmp_path, "s4.toml", bad)) == (
        2,
        ["$.arrivals[0].queue: unknown queue 'refunds'"],
    )


CONFIG_GIVEN = (
    "$: a router config, not a scenario (it has no [simulation], [[arrivals]] or [[surges]]); "
    "a scenario is a router config plus [simulation] and [[arrivals]] "
    "(docs/simulator.md; e.g. examples/spring_festival.toml)"
)
SCENARIO_GIVEN = (
    "$: a scenario (it has [simulation], [[arrivals]], [[surges]]), not a router config; "
    "give a router config, such as the scenario without those tables "
    "(router check FILE says which a file is)"
)


def test_the_scenario_commands_given_a_router_config_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """simulate, explain, compare-policies and dashboard given a plain router config: one
    line saying what the file is and what a scenario adds (before: ``$.arrivals: a scenario
    needs at least one [[arrivals]] stream``), exit 2."""
    from router.cli.check import explain_main
    from router.cli.compare import compare_main
    from router.sim.cli import simulate_main

    cfg = write(tmp_path, "c.toml", CONFIG)
    assert simulate_main([cfg]) == 2
    assert capsys.readouterr().err == f"{cfg}: {CONFIG_GIVEN}\n"
    assert explain_main([cfg]) == 2
    assert capsys.readouterr().err == f"{cfg}: {CONFIG_GIVEN}\n"
    assert compare_main([cfg]) == 2
    assert capsys.readouterr().err == f"{cfg}: {CONFIG_GIVEN}\n"
    pytest.importorskip("aiohttp")
    from router.cli.dashboard import dashboard_main

    assert dashboard_main([cfg]) == 2
    assert capsys.readouterr().err == f"{cfg}: {CONFIG_GIVEN}\n"
    # and check, which takes both, still takes it as a config
    assert run(cfg)[0] == 0


def test_a_scenario_where_a_router_config_belongs_is_named_one(tmp_path: Path) -> None:
    """load_config and decode_config (serve, the example service, Router users) given a
    scenario: the one line, not ``unknown field 'simulation'`` and its siblings."""
    from router.config import convert_config, decode_config, load_config
    from router.errors import ConfigError
    from router.sim.scenario import load_scenario

    path = write(tmp_path, "s.toml", SCENARIO)
    for load in (lambda: load_config(path), lambda: decode_config(SCENARIO)):
        with pytest.raises(ConfigError) as info:
            load()
        assert info.value.problems == [SCENARIO_GIVEN]
    assert load_scenario(path).simulation.seed == 3  # a scenario's own loader takes it
    with pytest.raises(ConfigError) as info:
        convert_config({"queues": [{"name": "q"}], "arrivals": []})
    assert info.value.problems == [
        "$: a scenario (it has [[arrivals]]), not a router config; give a router config, "
        "such as the scenario without those tables (router check FILE says which a file is)"
    ]


def test_explain_reads_a_replayed_day_beside_its_scenario() -> None:
    """``router explain examples/replay_day.toml`` from the checkout's root: its ``from_csv``
    is relative to the scenario file (a ``FileNotFoundError`` traceback before)."""
    from router.cli.check import explain_main

    out = io.StringIO()
    assert explain_main([str(ROOT / "examples" / "replay_day.toml"), "--limit", "1"], out=out) == 0
    assert out.getvalue().startswith("t=")


def test_several_files_prefix_each_line(tmp_path: Path) -> None:
    good = write(tmp_path, "a.toml", CONFIG)
    bad = write(tmp_path, "b.toml", "[routing]\nweights = { load = nan }")
    code, lines = run(good, bad)
    assert code == 2
    assert lines == [
        f"{good}: ok: 3 queues, 2 agent profiles (120 agents), policy reject_when_full",
        f"{bad}: $.routing.weights.load: must be a finite number, got nan",
    ]


def test_every_example_config_passes() -> None:
    files = sorted(str(p) for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".json", ".yaml"))
    assert len(files) >= 5
    code, lines = run(*files)
    assert code == 0, lines
    assert all(": ok: " in line for line in lines)


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_main([]) == 2
    err = capsys.readouterr().err
    assert err == "router check: the following arguments are required: FILE\n"


def test_real_command_line_never_prints_a_traceback(tmp_path: Path) -> None:
    p = write(tmp_path, "x.toml", "[routing]\nweights = { foo = 1 }")
    proc = subprocess.run(
        [sys.executable, "-m", "router", "check", p], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2
    assert proc.stdout == (
        "$.routing.weights: unknown feature 'foo'; known: proficiency, idle_time, load, "
        "recent_work, recent_count, heavy_streak\n"
    )
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty.toml", ""),
        ("comments.toml", "# nothing yet\n"),
        ("empty.yaml", "\n"),
        ("e.json", "{}"),
    ],
)
def test_an_empty_config_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    code, lines = run(str(path))
    assert code == 2
    assert lines == ["$: the config is empty: expected tables such as [routing] and [[queues]]"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("deep.toml", "a = " + "[" * 5000 + "]" * 5000, "$: malformed TOML: nested too deeply"),
        ("deep.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "$: malformed JSON: "),
        ("deep2.json", '{"queues": ' + "[" * 900 + "]" * 900 + "}", "$.queues[0]: Expected object"),
    ],
)
def test_deep_nesting_is_one_line_not_a_traceback(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "router", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
