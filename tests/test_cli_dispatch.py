"""The ``router`` command's dispatcher: usage, version, and install hints that name the
distribution (``inquiry-router``), never the unrelated ``router`` on PyPI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

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
