"""``python -m router serve`` refuses bad input with one line and exit code 2 (no Redis)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from router.cli.serve import serve_main
from tests.durable.conftest import CONFIG


def test_serve_rejects_bad_arguments_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(CONFIG)
    cases = [
        (["--redis", "redis://x"], r"^router serve: the following arguments are required: config$"),
        ([str(cfg), "--redis", "http://x"], r"^router serve: --redis: expected redis://"),
        ([str(cfg), "--redis", "redis://x", "--domains", "a,b c"], r"^router serve: --domains: "
         r"domain name 'b c': use 1-100 letters"),
        ([str(cfg), "--redis", "redis://x", "--lease-ms", "10"],
         r"^router serve: --lease-ms: must be in 200\.\.600000, got 10$"),
        ([str(cfg), "--redis", "redis://x", "--redis-timeout-s", "0.2"],
         r"^router serve: --redis-timeout-s: must exceed the 0\.5 s XREAD block, got 0\.2$"),
        ([str(cfg), "--redis", "redis://x", "--max-unprocessed", "-1"],
         r"^router serve: --max-unprocessed: must be >= 0, got -1$"),
        ([str(cfg), "--redis", "redis://x", "--output-retention-s", "-2"],
         r"^router serve: --output-retention-s: must be >= 0 or -1, got -2\.0$"),
        ([str(cfg), "--redis", "redis://x", "--batch-items", "0"],
         r"^router serve: --batch-items: must be in 1\.\.1000000, got 0$"),
        ([str(tmp_path / "none.toml"), "--redis", "redis://x"],
         r"^router serve: .*none\.toml: \$: cannot read .*none\.toml: No such file"),
    ]  # fmt: skip
    for argv, pattern in cases:
        assert serve_main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert re.match(pattern, err), err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[queues]]\nname = "q"\nanswer_target_s = -1\n')
    assert serve_main([str(bad), "--redis", "redis://x"]) == 2
    assert re.match(
        r"^router serve: .*bad\.toml: \$\.queues\[0\]\.answer_target_s: Expected float > 0\.0$",
        capsys.readouterr().err,
    )


def test_importing_router_does_not_import_redis() -> None:
    import subprocess
    import sys

    code = "import sys, router, router.__main__; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
