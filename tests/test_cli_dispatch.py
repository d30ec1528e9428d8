"""The ``router`` command's dispatcher: usage, version, and install hints that name the
distribution (``inquiry-router``), never the unrelated ``router`` on PyPI."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from router import __version__
from router.__main__ import COMMANDS, EXTRAS, main, missing_dependency

ROOT = Path(__file__).resolve().parents[1]
HINT = re.compile(r"pip install '([A-Za-z0-9_.-]+)\[([a-z,]+)\]'")


def extras() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(meta["project"]["optional-dependencies"])


def test_usage_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("check", "simulate", "explain", "compare-policies", "staff", "serve", "dashboard"):
        assert name in COMMANDS
        assert f"  {name} " in out
    assert main([]) == 2
    assert main(["nope"]) == 2
    assert "router: unknown command 'nope'" in capsys.readouterr().err


def test_version_comes_from_the_distributions_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert __version__ == meta["project"]["version"]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"router {__version__} (inquiry-router)\n"


def test_a_missing_dependency_names_its_extra() -> None:
    assert set(EXTRAS.values()) <= extras()
    exc = ModuleNotFoundError("No module named 'redis'", name="redis")
    assert missing_dependency("serve", exc) == (
        "router serve: needs the 'redis' package: pip install 'inquiry-router[redis]'"
    )
    exc = ModuleNotFoundError("No module named 'aiohttp.web'", name="aiohttp.web")
    assert missing_dependency("dashboard", exc).endswith("pip install 'inquiry-router[dashboard]'")
    other = ModuleNotFoundError("No module named 'zzz'", name="zzz")
    assert missing_dependency("x", other) == "router x: not available (No module named 'zzz')"


def test_every_install_hint_names_the_distribution_and_a_real_extra() -> None:
    """In code, docs and examples. router/durable/ is the durable mode's (issue 12) and still
    carries one old hint in its module docstring; it is left to that change."""
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("examples/*.py")]
    files += [p for p in ROOT.glob("router/**/*.py") if "durable" not in p.parts]
    known = extras()
    seen = 0
    for path in files:
        for m in HINT.finditer(path.read_text()):
            seen += 1
            assert m[1] in ("inquiry-router", "."), f"{path}: {m[0]}"  # . is a checkout
            assert set(m[2].split(",")) <= known, f"{path}: {m[0]}"
    assert seen >= 10


def test_a_reader_that_leaves_early_ends_a_command_quietly() -> None:
    """``router explain FILE | head``: exit 0 and no traceback once ``head`` has its lines."""
    cmd = [sys.executable, "-m", "router", "explain", "examples/spring_festival.toml"]
    proc = subprocess.Popen(
        [*cmd, "--limit", "100000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"t=")  # one line read, then the reader leaves
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert (proc.wait(timeout=120), err) == (0, "")


# --- the commands the docs quote ------------------------------------------------------------

#: what a reader types for the docs' placeholders (any file of the right kind will do)
PLACEHOLDERS = {
    "FILE": "examples/spring_festival.toml",
    "SCENARIO": "examples/spring_festival.toml",
    "CONFIG": "examples/configs/minimal.toml",
    "DIR": "out/intervals",
    "ID": "1",
    "N": "3",
}
COMMAND = re.compile(r"^(?:python -m )?router ([a-z-]+)((?: .*)?)$")


def quoted_commands() -> list[tuple[str, str]]:
    """``router CMD ...`` and ``python -m router CMD ...`` as README.md and docs/*.md quote
    them: every line of a ``sh`` or plain block and every inline one that names a file or a
    placeholder (not a bare mention such as `router serve --http`); ``[--opt X]`` is taken
    as written without the brackets, ``A|B`` as ``A``; ``[FILE ...]`` and ``...`` dropped."""
    found = []
    for doc in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]:
        text = doc.read_text()
        lines, fence = [], None
        for ln in text.splitlines():
            if ln.startswith("```"):
                fence = ln[3:] if fence is None else None
            elif fence in ("sh", ""):
                lines.append(ln)
        lines += [
            ln
            for ln in re.findall(r"`((?:python -m )?router [a-z][^`]*)`", text)
            if re.search(r"[A-Z]{2,}|examples/", ln)
        ]
        for line in lines:
            line = " ".join(line.split("#", 1)[0].split())  # comments off, one line
            line = re.sub(r"\[[A-Z]+ \.\.\.\]|\.\.\.", "", line)
            line = re.sub(r"\[(--[^]]*)\]", r"\1", line)
            line = re.sub(r"(\S+)\|\S+", r"\1", line)
            m = COMMAND.match(line.strip())
            if m and m[1] in COMMANDS:
                argv = [PLACEHOLDERS.get(w, w) for w in shlex.split(m[2])]
                found.append((f"{doc.name}: {line.strip()}", shlex.join([m[1], *argv])))
    return found


class _Parsed(Exception):
    """Raised in place of running a command once its arguments parsed."""


def test_every_command_the_docs_quote_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flags drift when a command changes and its docs do not: each quoted command's
    arguments must parse with today's parser (nothing is run: parsing stops there)."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, *args: Any, **kw: Any) -> Any:
        raise _Parsed(original(self, *args, **kw))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    commands = quoted_commands()
    assert len(commands) >= 25
    assert {shlex.split(c)[0] for _, c in commands} == set(COMMANDS)  # every command quoted
    refused = []
    for where, cmd in commands:
        try:
            code = main(shlex.split(cmd))
        except _Parsed:
            continue
        refused.append(f"{where} -> exit {code}")
    assert refused == []


def _parsers(monkeypatch: pytest.MonkeyPatch) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser, caught as the command parses (nothing is run)."""
    seen: dict[str, argparse.ArgumentParser] = {}

    def catch(self: argparse.ArgumentParser, *args: Any, **kw: Any) -> Any:
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    for name in COMMANDS:
        with pytest.raises(_Parsed) as info:
            main([name])
        seen[name] = info.value.args[0]
    return seen


def test_every_option_says_what_it_is_for_and_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``router COMMAND --help`` as a new user reads it: every argument has a line of help
    and a metavar of its own (not argparse's ``LEASE_MS``), and a default, when there is
    one, is in that line."""
    for name, parser in _parsers(monkeypatch).items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            flag = action.option_strings[-1] if action.option_strings else action.dest
            assert action.help, f"router {name} {flag}: no help"
            if action.nargs != 0 and action.choices is None and action.metavar is None:
                assert "_" not in action.dest, f"router {name} {flag}: {action.dest.upper()}"
            d = action.default
            if d in (None, False, "") or isinstance(d, bool):
                continue
            shown = {str(d)}
            if isinstance(d, int | float):
                shown |= {f"{d:g}", f"{int(d):,}"} if d == int(d) else {f"{d:g}"}
            assert any(s in action.help for s in shown), f"router {name} {flag}: default {d}"
