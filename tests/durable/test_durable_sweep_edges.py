"""Directed tests from the mutation sweep of durable serving (BENCHMARKS: "Mutation sweep
of durable serving, control, the runner and the policies (mutB33)"): each names the
behaviour a surviving mutant broke."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from router.durable.serve import _check_args, _parser, _UsageError, serve_main
from tests.durable.conftest import CONFIG

OK = ["r.toml", "--redis", "redis://x"]


def _check(*extra: str) -> tuple[list[str], tuple[str, int] | None]:
    return _check_args(_parser().parse_args([*OK, *extra]))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--domains", "a,b,a"], r"^--domains: a domain is listed twice$"),
        (["--lease-ms", "199"], r"^--lease-ms: must be in 200\.\.600000, got 199$"),
        (["--lease-ms", "600001"], r"^--lease-ms: must be in 200\.\.600000, got 600001$"),
        (["--batch", "0"], r"^--batch: must be in 1\.\.100000, got 0$"),
        (["--batch", "100001"], r"^--batch: must be in 1\.\.100000, got 100001$"),
        (["--batch-items", "1000001"], r"^--batch-items: must be in 1\.\.1000000, got 1000001$"),
        (["--snapshot-every-s", "0"], r"^--snapshot-every-s: must be > 0, got 0\.0$"),
        (["--snapshot-every-s", "inf"], r"^--snapshot-every-s: must be > 0, got inf$"),
        (["--dedupe-window-s", "0"], r"^--dedupe-window-s: must be > 0, got 0\.0$"),
        (["--dedupe-window-s", "nan"], r"^--dedupe-window-s: must be > 0, got nan$"),
        (["--max-lag-s", "-1"], r"^--max-lag-s: must be > 0, got -1\.0$"),
        (["--max-lag-s", "inf"], r"^--max-lag-s: must be > 0, got inf$"),
        (["--redis-timeout-s", "inf"], r"^--redis-timeout-s: must be > 0, got inf$"),
        (["--redis-timeout-s", "0.5"], r"^--redis-timeout-s: must exceed the 0\.5 s XREAD"),
        (["--fence-alert-s", "0"], r"^--fence-alert-s: must be > 0, got 0\.0$"),
        (["--output-retention-s", "inf"], r"^--output-retention-s: must be >= 0 or -1, got inf$"),
        (["--output-retention-s", "-0.5"], r"^--output-retention-s: must be >= 0 or -1, got -0\.5$"),
        (["--prefix", ""], r"^--prefix: must be non-empty without braces, got ''$"),
        (["--prefix", "a{b"], r"^--prefix: must be non-empty without braces, got 'a\{b'$"),
        (["--prefix", "a}b"], r"^--prefix: must be non-empty without braces, got 'a\}b'$"),
        (["--http", "8080"], r"^--http: expected HOST:PORT, got '8080'$"),
        (["--http", "h:"], r"^--http: expected HOST:PORT, got 'h:'$"),
        (["--http", "h:x1"], r"^--http: expected HOST:PORT, got 'h:x1'$"),
        (["--http", "h:65536"], r"^--http: expected HOST:PORT, got 'h:65536'$"),
        (["--redis", "tcp://x"], r"^--redis: expected redis://, rediss:// or unix:// URL"),
    ],
)
def test_serve_refuses_each_bad_value_naming_its_flag(extra: list[str], message: str) -> None:
    with pytest.raises(_UsageError) as err:
        _check(*extra)
    assert re.match(message, str(err.value)), str(err.value)


def test_serve_accepts_the_bounds_of_each_range() -> None:
    """The edge values of each range are accepted, and parsed as given."""
    assert _check() == (["default"], None)
    assert _check("--domains", " a , b") == (["a", "b"], None)
    for extra in (
        ["--lease-ms", "200"],
        ["--lease-ms", "600000"],
        ["--batch", "1"],
        ["--batch", "100000"],
        ["--batch-items", "1"],
        ["--batch-items", "1000000"],
        ["--output-retention-s", "0"],
        ["--output-retention-s", "-1"],
        ["--max-unprocessed", "0"],
        ["--redis-timeout-s", "0.51"],
        ["--redis", "rediss://x"],
        ["--redis", "unix:///tmp/r.sock"],
        ["--lease-ms", "300", "--fence-alert-s", "0.001"],
    ):
        _check(*extra)
    assert _check("--http", "127.0.0.1:0") == (["default"], ("127.0.0.1", 0))
    assert _check("--http", "[::1]:65535") == (["default"], ("[::1]", 65535))


def test_a_refused_argument_exits_with_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(CONFIG)
    assert serve_main([str(cfg), "--redis", "redis://x", "--http", "nope"]) == 2
    assert capsys.readouterr().err == "router serve: --http: expected HOST:PORT, got 'nope'\n"
