"""The throughput flows run to completion on every backend (speed itself is for bench/)."""

from __future__ import annotations

import json

import pytest

from bench import throughput


@pytest.mark.parametrize("backend", ["trio", "asyncio", "uvloop"])
def test_e2e_flow_completes_every_inquiry(backend: str) -> None:
    assert throughput.measure_e2e(backend, n_inquiries=300, n_agents=7) > 0


def test_e2e_flow_with_chat_capacity() -> None:
    rate = throughput.run_in("asyncio", lambda: throughput.e2e_flow("asyncio", 200, 3, capacity=5))
    assert rate > 0


def test_peers_complete() -> None:
    assert throughput.measure_asyncio_queue_pool(300, 7, loop="asyncio") > 0
    assert throughput.core_direct_flow(300, 7) > 0


def test_cli_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert throughput.main(["--n", "200", "--agents", "5", "--repeat", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["e2e_per_s"]) == {"trio", "asyncio", "uvloop"}
    assert {"core_direct_per_s", "asyncio_queue_pool_per_s", "uvloop_over_pool"} <= set(report)


def test_cli_rejects_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert throughput.main(["--n", "0"]) == 2
    assert (
        capsys.readouterr().err
        == "throughput: --n, --agents, --capacity and --repeat must be >= 1\n"
    )


def test_flow_rejects_an_unknown_backend() -> None:
    with pytest.raises(ValueError, match=r"^backend: unknown backend 'curio'; known: "):
        throughput.run_in("curio", lambda: None)
