"""``router dashboard`` without a browser: the replay source, config checks, CLI errors."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import msgspec
import pytest

pytest.importorskip("aiohttp", reason="pip install 'inquiry-router[dashboard]'")

from router.cli.dashboard import dashboard_main
from router.dashboard.replay import ReplaySource
from router.dashboard.server import Applied
from router.dashboard.state import check_upload
from router.errors import ConfigError
from router.sim import decode_scenario, load_scenario
from router.sim.engine import REJECTED
from router.sim.scenario import router_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_replay_runs_publishes_and_applies_a_checked_config() -> None:
    sc = load_scenario(EXAMPLES / "taobao_fliggy_chat.toml")
    source = ReplaySource(sc, speed=2000.0, duration_s=1800.0, title="t", push_s=0.05)
    source.start()
    try:
        first_seq, _ = source.state()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and source.state()[0] < first_seq + 3:
            time.sleep(0.05)
        seq, body = source.state()
        assert seq >= first_seq + 3
        state = json.loads(body)
        assert state["mode"] == "replay"
        assert [q["name"] for q in state["queues"]] == [q.name for q in sc.queues]
        assert source.metrics() is not None and b"router_inquiries_waiting" in source.metrics()
        cfg = router_config(sc)
        weights = msgspec.structs.replace(cfg.routing.weights, load=3.0)
        tuned = msgspec.structs.replace(
            cfg, routing=msgspec.structs.replace(cfg.routing, weights=weights)
        )
        version = asyncio.run(source.apply(tuned))
        assert version == 2
        fewer = msgspec.structs.replace(cfg, queues=cfg.queues[:1])
        with pytest.raises(Applied) as info:
            asyncio.run(source.apply(fewer))
        assert info.value.problems[0] == (
            "$.queues: 'fliggy_refund' is missing; the replay's arrivals need it: keep it, "
            "or first give it on_remove = a queue the new file keeps"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not source.done:
            time.sleep(0.05)
        assert source.done and source.error is None
        final = json.loads(source.state()[1])
        assert final["done"] is True
        assert final["version"] == 2
        assert final["last_reconfigure"]["version"] == 2
        with pytest.raises(Applied, match="the replay has ended"):
            asyncio.run(source.apply(tuned))
    finally:
        source.stop()


def test_apply_before_start_is_refused_at_once() -> None:
    """Nothing takes a config before ``start()`` (the hook that applies it runs in the replay's
    thread): refused, nothing queued or changed. The timeout only keeps a hang from hanging
    the suite (it used to wait forever)."""
    sc = load_scenario(EXAMPLES / "taobao_fliggy_chat.toml")
    source = ReplaySource(sc, speed=2000.0, duration_s=1800.0)
    cfg = router_config(sc)
    with pytest.raises(Applied) as info:
        asyncio.run(asyncio.wait_for(source.apply(cfg), timeout=30))
    assert info.value.problems == [
        "the replay has not started: call start() before applying a config"
    ]
    assert source._pending.empty() and source.router.version == 1
    assert source._thread is None and not source.done


TWO_QUEUES = """
[simulation]
duration_s = 1800
[[queues]]
name = "fliggy_change"
[[queues]]
name = "fliggy_refund"
[[queues]]
name = "spare"
[[agents]]
count = 3
capacity = { voice = 1 }
[[arrivals]]
queue = "fliggy_change"
rate_per_s = 0.02
handle_time = { dist = "exponential", mean_s = 60 }
[[arrivals]]
queue = "fliggy_refund"
rate_per_s = 0.02
handle_time = { dist = "exponential", mean_s = 60 }
"""


def test_replay_takes_a_dropped_queue_whose_callers_have_somewhere_to_go() -> None:
    """A queue no stream dials may go; a dialed one once its on_remove names a kept queue:
    its callers then reach that queue, and its timeline points are null from there."""
    sc = decode_scenario(TWO_QUEUES.encode())
    source = ReplaySource(sc, speed=2000.0, duration_s=1800.0, push_s=0.05)
    cfg = router_config(sc)
    fewer = msgspec.structs.replace(
        cfg, queues=[q for q in cfg.queues if q.name != "fliggy_refund"]
    )
    spare = msgspec.structs.replace(cfg, queues=[q for q in cfg.queues if q.name != "spare"])
    first = msgspec.structs.replace(
        cfg,
        queues=[
            msgspec.structs.replace(q, on_remove="fliggy_change")
            if q.name == "fliggy_refund"
            else q
            for q in cfg.queues
        ],
    )
    source.start()
    try:
        assert asyncio.run(source.apply(spare)) == 2  # no stream dials it: it may go
        with pytest.raises(Applied, match="first give it on_remove"):
            asyncio.run(source.apply(fewer))
        assert asyncio.run(source.apply(first)) == 3
        assert asyncio.run(source.apply(fewer)) == 4
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not source.done:
            time.sleep(0.05)
        assert source.done and source.error is None
        assert json.loads(source.state()[1])["version"] == 4
    finally:
        source.stop()
    res = source.run.sim.result
    series = res.timeline["waiting"]["fliggy_refund"]
    assert len(series) == len(res.timeline["t"]) and series[-1] is None
    assert series[0] is not None
    late = [r for r in res.inquiries if r.stream == 1 and r.queue == "fliggy_change"]
    assert late  # the fliggy_refund stream's callers after the drop
    assert all(r.outcome != REJECTED for r in late)


def test_check_upload_is_router_check() -> None:
    text = (EXAMPLES / "configs" / "minimal.toml").read_bytes()
    cfg, summary = check_upload(text, "minimal.toml")
    assert [q.name for q in cfg.queues] == ["support"]
    assert summary.startswith("ok: 1 queue")
    with pytest.raises(ConfigError) as info:
        check_upload(text.replace(b"answer_target_s = 20", b"answer_target_s = nan"), "x.toml")
    assert info.value.problems[0].startswith("$.queues[0].answer_target_s")
    with pytest.raises(ConfigError, match=r"x\.ini: unknown file type '\.ini'"):
        check_upload(text, "x.ini")
    with pytest.raises(ConfigError):
        check_upload(b"{not json", "x.json")


def test_check_upload_takes_a_scenario_applies_its_router_config() -> None:
    """A replay's operator uploads the scenario they watch: its router config is applied,
    its simulator tables are checked (a bad one is named) and not applied."""
    path = EXAMPLES / "taobao_fliggy_chat.toml"
    cfg, summary = check_upload(path.read_bytes(), path.name)
    assert cfg == router_config(load_scenario(path))
    assert summary.startswith("ok: ")
    bad = path.read_text().replace("duration_s = 21600", "duration_s = -1", 1)
    with pytest.raises(ConfigError) as info:
        check_upload(bad.encode(), path.name)
    assert info.value.problems[0].startswith("$.simulation.duration_s")


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard_main([str(EXAMPLES / "spring_festival.toml"), "--speed", "0"]) == 2
    assert "argument --speed: expected a number > 0, got '0'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[simulation]\nduration_s = -1\n")
    assert dashboard_main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}: $.simulation.duration_s")
    assert "Traceback" not in err


def test_stop_before_start_does_nothing_and_the_replay_then_runs_to_its_end() -> None:
    # tidy51 (mutT50's note): stop() before start() set the stop flag for good, so the
    # replay started later ended at its first event. stop() is cleanup, safe in any state
    # (as trio's/anyio's aclose()): before start it does nothing; start() runs as ever
    sc = decode_scenario(TWO_QUEUES.encode())
    source = ReplaySource(sc, speed=1e5, duration_s=600.0, push_s=0.05)
    source.stop()
    assert not source.done and source._thread is None
    source.start()
    try:
        assert source._thread is not None
        source._thread.join(60)
        assert source.done and source.error is None
        assert source.router.now > 500.0  # the day to its last events, not its first one
        assert json.loads(source.state()[1])["done"] is True
        # a second start is a clear error, as a thread's (no second run beside the first)
        with pytest.raises(RuntimeError, match=r"^the replay was started already"):
            source.start()
    finally:
        source.stop()
    source.stop()  # again: nothing to do
