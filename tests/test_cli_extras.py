"""``router dashboard --help`` and ``router serve --help`` work without their extras; a run
without the extra still prints the install line and exits 2.

The extras are hidden in a subprocess: ``sys.modules[name] = None`` makes ``import aiohttp``
and ``import redis`` fail as they do where the package is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "examples" / "spring_festival.toml"
CONFIG = ROOT / "examples" / "configs" / "minimal.toml"

HIDDEN = """
import contextlib, io, json, sys
for top in ("aiohttp", "redis"):
    sys.modules[top] = None
from router.__main__ import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""

DASH_HINT = "router dashboard: needs the 'aiohttp' package: pip install 'inquiry-router[dashboard]'"
SERVE_HINT = "router serve: needs the 'redis' package: pip install 'inquiry-router[redis]'"


def test_help_without_the_extra_prints_the_options_and_a_run_the_install_line() -> None:
    runs = [
        ["dashboard", "--help"],
        ["dashboard", str(SCENARIO), "--speed", "600"],
        ["dashboard"],
        ["serve", "-h"],
        ["serve", str(CONFIG), "--redis", "redis://127.0.0.1:1/0"],
        ["serve", "--redis", "http://not-a-url"],
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", HIDDEN, json.dumps(runs)],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    (dash_help, dash_run, dash_bare, serve_help, serve_run, serve_bad) = json.loads(done.stdout)
    for (code, out, err), prog, options in (
        (dash_help, "router dashboard", ("SCENARIO", "--speed", "--port", "--exit-when-done")),
        (serve_help, "router serve", ("config", "--redis", "--domains", "--lease-ms", "--http")),
    ):
        assert code == 0, err
        assert out.startswith(f"usage: {prog} "), out
        for option in options:
            assert option in out, option
        assert "pip install 'inquiry-router[" in " ".join(out.split())  # the extra it needs
        assert err == ""
    for (code, out, err), hint in (
        (dash_run, DASH_HINT),
        (dash_bare, DASH_HINT),  # a usage error would only hide the install line
        (serve_run, SERVE_HINT),
        (serve_bad, SERVE_HINT),
    ):
        assert (code, out, err) == (2, "", hint + "\n")


def test_help_with_the_extras_installed(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("redis", reason="pip install 'inquiry-router[redis]'")
    pytest.importorskip("aiohttp", reason="pip install 'inquiry-router[dashboard]'")
    for name, option in (("serve", "--redis-timeout-s"), ("dashboard", "--sl-goal")):
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: router {name} ") and option in out
