"""A new user's first hour (ux40): what a newcomer met on a fresh clone, each kept fixed.

Every case is cheap (no simulation; two subprocesses: the README's snippet and the example
service).
"""

from __future__ import annotations

import io
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from router.cli.check import check_main
from router.config import detect_format, load_config, parse_text
from router.dashboard.state import check_upload
from router.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
HINT = "use .toml, .tml, .json, .yaml or .yml"


def _check(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = check_main(list(args), out=out)
    return code, out.getvalue().splitlines()


def _refused(fn: object, *args: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.problems


# --- file types --------------------------------------------------------------------------


def test_the_unknown_suffix_message_names_every_accepted_suffix() -> None:
    # .tml and .yml are accepted (loading.py): the message names them too
    assert _refused(detect_format, Path("c.ini")) == [f"$: unknown file type '.ini'; {HINT}"]


def test_a_missing_file_of_an_unknown_type_is_refused_for_its_type(tmp_path: Path) -> None:
    # the suffix decides before the disk is read: "cannot read" only for a file it could load
    assert _check(str(tmp_path / "c.ini")) == (2, [f"$: unknown file type '.ini'; {HINT}"])
    (tmp_path / "d.cfg").mkdir()
    assert _check(str(tmp_path / "d.cfg")) == (2, [f"$: unknown file type '.cfg'; {HINT}"])


def test_the_operator_page_takes_the_suffixes_router_check_takes() -> None:
    text = b'[[queues]]\nname = "q"\nchannel = "chat"\n'
    for name in ("c.toml", "c.TML", "c.tml"):
        assert check_upload(text, name)[0].queue_names() == ["q"]
    assert _refused(check_upload, text, "c.ini") == [f"c.ini: unknown file type '.ini'; {HINT}"]


# --- text that is not what it claims ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["toml", "json", "yaml"])
def test_a_file_that_is_not_utf8_says_so_in_one_line(fmt: str) -> None:
    if fmt == "yaml":
        pytest.importorskip("yaml")
    data = b'[[queues]]\nname = "caf\xe9"\n'  # Latin-1, as a Windows editor may save it
    assert _refused(parse_text, data, fmt) == [
        "$: the file is not UTF-8 text: byte 0xe9 at line 2, column 12; save it as UTF-8"
    ]


def test_malformed_json_is_said_once_with_its_line_and_column() -> None:
    # msgspec's own text begins "JSON is malformed: ", and counts bytes
    data = b'{"queues": [\n  {"name": "q", "answer_target_s": NaN}\n]}'
    assert _refused(parse_text, data, "json") == [
        "$: malformed JSON: invalid character (line 2, column 36)"
    ]
    assert _refused(parse_text, b"{", "json") == ["$: malformed JSON: Input data was truncated"]


# --- the README ---------------------------------------------------------------------------


def test_the_readme_python_snippets_run_as_written(tmp_path: Path) -> None:
    """Every ```python block of README.md, copied as a newcomer would, runs, and the events
    its comments name are the ones it prints, in that order."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for i, block in enumerate(blocks):
        script = tmp_path / f"snippet{i}.py"
        script.write_text(block)
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        printed = re.findall(r"(?:^|\[|, )([A-Z]\w+)\(", done.stdout, re.M)
        said = [
            name
            for comment in re.findall(r"print\(.*\)\s+# (.*)", block)
            for name in re.findall(r"\b([A-Z][a-z]+[A-Z]?\w*)\b", comment)
        ]
        assert said and printed == said, (printed, said)


def test_the_readme_embedding_snippet_is_the_example_file() -> None:
    """README: "This is `examples/embed_core.py`": every line of the snippet is in it."""
    block = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
    example = (ROOT / "examples" / "embed_core.py").read_text()
    missing = [line for line in block.splitlines() if line not in example.splitlines()]
    assert missing == []


# --- the example service ------------------------------------------------------------------


def test_ctrl_c_on_the_example_service_with_clients_connected_is_quiet() -> None:
    """A producer with an inquiry on offer and an agent connected, then SIGINT: exit 0 and
    no traceback (each client is hung up on before the router closes)."""
    service = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "asyncio_service.py"), "--every", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert service.stdout is not None
        first = service.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as producer,
            socket.create_connection(("127.0.0.1", port), timeout=10) as agent,
        ):
            p, a = producer.makefile("rwb"), agent.makefile("rwb")
            for f, line in (
                (p, b'{"hello": "producer"}'),
                (p, b'{"id": "c1", "queue": "chat"}'),
                (a, b'{"hello": "agent", "agent": {"id": "a1", "capacity": {"chat": 2}}}'),
            ):
                f.write(line + b"\n")
                f.flush()
                assert b"error" not in f.readline()
            assert b'"Offered"' in a.readline()
            service.send_signal(signal.SIGINT)
            out, err = service.communicate(timeout=20)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert (service.returncode, "Traceback" in err) == (0, False), err
    assert "stopped: connections=2 errors=0" in out


def test_the_example_service_says_malformed_json_once() -> None:
    from tests.test_examples_async import load_example

    error_line = load_example("asyncio_service").error_line
    with pytest.raises(msgspec.DecodeError) as info:
        msgspec.json.decode(b'{"id": NaN}')
    assert error_line(info.value) == "$: malformed JSON: invalid character (byte 7)"


def test_the_trio_example_without_trio_says_what_to_install() -> None:
    hide = "import sys, runpy; sys.modules['trio'] = None; "
    run = f"runpy.run_path({str(ROOT / 'examples' / 'trio_chat_desk.py')!r}, run_name='__main__')"
    done = subprocess.run(
        [sys.executable, "-c", hide + run], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (
        2,
        "trio_chat_desk: needs trio: pip install 'inquiry-router[trio]'\n",
    )


# --- a scenario's tagged values -----------------------------------------------------------

SCENARIO = """[[queues]]
name = "q"
channel = "chat"
[[agents]]
count = 2
capacity = { chat = 3 }
[simulation]
duration_s = 100
[[arrivals]]
queue = "q"
rate_per_s = 1
"""


def test_an_unknown_or_missing_distribution_names_the_known_ones(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        SCENARIO + 'handle_time = { dist = "weird", mean_s = 10 }\npatience = { mean_s = 60 }\n'
    )
    known = "known: constant, exponential, lognormal"
    assert _check(str(f)) == (
        2,
        [
            f"$.arrivals[0].handle_time.dist: unknown value 'weird'; {known}",
            f"$.arrivals[0].patience: missing required field 'dist'; {known}",
        ],
    )


# --- router staff -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate", "0"], "--rate must be a finite number > 0, got 0"),
        (["--rate", "-60", "--per", "minute"], "--rate must be a finite number > 0, got -60"),
        (["--rate", "nan"], "--rate must be a finite number > 0, got nan"),
        (["--aht", "0"], "--aht must be a finite number > 0, got 0.0"),
        (["--target-s", "-1"], "--target-s must be a finite number >= 0, got -1.0"),
        (["--sl", "1.5"], "--sl must be strictly between 0 and 1, got 1.5"),
        (["--max-occupancy", "2"], "--max-occupancy must be in (0, 1], got 2.0"),
        (
            ["--max-abandon", "0.1"],
            "--max-abandon needs --patience-s (Erlang C has no abandonment)",
        ),
    ],
)
def test_router_staff_names_the_flag_not_the_parameter(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from router.cli.staff import staff_main

    given = {"--rate": "1", "--aht": "180", "--target-s": "20"}
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        given[flag] = value
    assert staff_main([x for kv in given.items() for x in kv]) == 2
    assert capsys.readouterr().err == f"router staff: error: {message}\n"


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("toml", '[[queues]]\nname = "q"\nchannel = "chat"\n'),
        ("json", '{"queues": [{"name": "q", "channel": "chat"}]}'),
    ],
)
def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path: Path, fmt: str, text: str) -> None:
    # Notepad and some Windows tools save UTF-8 with a BOM; YAML took it, TOML and JSON did not
    f = tmp_path / f"c.{fmt}"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_config(f).queue_names() == ["q"]
    assert parse_text("\ufeff" + text, fmt) == parse_text(text, fmt)


def test_loading_something_that_is_no_text_or_path_is_a_config_error() -> None:
    # as Router({}) is: "$: expected a RouterConfig, got dict"
    assert _refused(parse_text, 5, "toml") == ["$: expected the text of a config, got int"]
    assert _refused(parse_text, None, "json") == ["$: expected the text of a config, got NoneType"]
    assert _refused(load_config, None) == ["$: expected a file path, got NoneType"]


def test_a_file_name_without_a_suffix_is_said_so() -> None:
    # was "unknown file type ''"
    assert _refused(detect_format, Path("router")) == [f"$: the file name has no suffix; {HINT}"]


# The core's queries about an unknown queue (has_room, queue_length, expected_wait) found here
# are tested in tests/test_queue_queries.py, with the fix.
