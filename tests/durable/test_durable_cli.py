"""``python -m router serve`` refuses bad input with one line and exit code 2 (no Redis)."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from router.cli.serve import _parser, serve_main
from router.durable import serve as durable_serve
from router.durable.domain import DomainOptions
from tests.durable.conftest import CONFIG


def test_serve_rejects_bad_arguments_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text(CONFIG)
    cases = [
        (["--redis", "redis://x"], r"^router serve: the following arguments are required: CONFIG$"),
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
        ([str(cfg), "--redis", "redis://x", "--snapshot-every-batches", "0"],
         r"^router serve: --snapshot-every-batches: must be >= 1, got 0$"),
        ([str(cfg), "--redis", "redis://x", "--snapshot-every-batches", "1.5"],
         r"^router serve: argument --snapshot-every-batches: invalid int value: '1\.5'$"),
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


def test_serve_given_a_scenario_says_it_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario where a router config belongs: one line naming what the file is and what
    serve needs, not three ``unknown field`` lines (tidy43's "Noticed")."""
    root = Path(__file__).parents[2]
    scenario = str(root / "examples" / "spring_festival.toml")
    assert serve_main([scenario, "--redis", "redis://x"]) == 2
    assert capsys.readouterr().err == (
        f"router serve: {scenario}: $: a scenario (it has [simulation], [[arrivals]], "
        "[[surges]]), not a router config; give a router config, such as the scenario "
        "without those tables (router check FILE says which a file is)\n"
    )
    only = tmp_path / "s.toml"  # one simulator table is enough to tell
    only.write_text(CONFIG + "\n[simulation]\nduration_s = 60\n")
    assert serve_main([str(only), "--redis", "redis://x"]) == 2
    assert "$: a scenario (it has [simulation]), not a router config;" in capsys.readouterr().err


def test_every_serve_flag_reaches_the_domain_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each flag of a ``DomainOptions`` field lands in the options the server gets; the
    parser's defaults are the options' own (a flag added to one and not the other fails)."""
    got: list[DomainOptions] = []

    class _Server:  # the process's stand-in: records its options and returns at once
        def __init__(
            self, url: str, config: object, domains: list[str], o: DomainOptions, **kw: object
        ) -> None:
            got.append(o)

        def stop(self) -> None:
            pass

        async def run(self) -> None:
            pass

    monkeypatch.setattr(durable_serve, "Server", _Server)
    cfg = tmp_path / "r.toml"
    cfg.write_text(CONFIG)
    base = [str(cfg), "--redis", "redis://x", "--no-uvloop"]
    assert serve_main(base) == 0
    assert got.pop() == DomainOptions()
    defaults = vars(_parser().parse_args(["r.toml", "--redis", "redis://x"]))
    fields = DomainOptions.__struct_fields__
    assert {f: defaults[f] for f in fields} == msgspec.structs.asdict(DomainOptions())
    flags = [
        "--lease-ms", "300", "--batch", "7", "--batch-items", "9", "--snapshot-every-s", "2.5",
        "--snapshot-every-batches", "3", "--keep-log", "--dedupe-window-s", "60",
        "--output-retention-s", "-1", "--max-unprocessed", "11", "--agents-from-config",
        "--prefix", "rt",
    ]  # fmt: skip
    assert serve_main([*base, *flags]) == 0
    assert got.pop() == DomainOptions(
        lease_ms=300, batch=7, batch_items=9, snapshot_every_s=2.5, snapshot_every_batches=3,
        keep_log=True, dedupe_window_s=60.0, output_retention_s=-1.0, max_unprocessed=11,
        agents_from_config=True, prefix="rt",
    )  # fmt: skip


def test_every_serve_flag_has_a_row_in_the_deploy_docs() -> None:
    """docs/deploy.md §2's table names every flag of ``router serve`` and no other."""
    doc = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text()
    table = doc.split("\n| flag | default | meaning |\n", 1)[1].split("\n\n", 1)[0]
    rows = set(re.findall(r"^\| `(--[a-z-]+)", table, re.M))
    actions = _parser()._actions
    flags = {o for a in actions for o in a.option_strings if o.startswith("--")} - {"--help"}
    assert rows == flags


def test_the_docs_name_every_input_and_the_producer_method_of_each() -> None:
    """README and docs/deploy.md list the inputs; deploy.md the ``Producer`` methods too."""
    from typing import get_args

    from router.durable import Producer
    from router.inputs import Input

    root = Path(__file__).parents[2]
    names = [cls.__name__ for cls in get_args(Input)]
    for doc in ("README.md", "docs/deploy.md"):
        text = (root / doc).read_text()
        assert [n for n in names if f"`{n}`" not in text] == [], doc
    deploy = (root / "docs" / "deploy.md").read_text()
    methods = [m for m in vars(Producer) if not m.startswith("_")]
    assert [m for m in methods if not re.search(rf"(`|\.){m}[`(]", deploy)] == []


def test_importing_router_does_not_import_redis() -> None:
    import subprocess
    import sys

    code = "import sys, router, router.__main__; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
