"""The asyncio example service's ``--http``: the live page's JSON, config upload, ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="pip install 'inquiry-router[dashboard]'")
pytest.importorskip("prometheus_client", reason="pip install 'inquiry-router[metrics]'")

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.test_examples_async import Client, load_example, run_async, running_service

CONFIG = b"""
[routing]
offer_timeout_s = 10
weights = { proficiency = 1.0, idle_time = 2.0, load = 1.0 }
[[queues]]
name = "chat"
channel = "chat"
answer_target_s = 20
"""


async def _session_flow(connect: Callable[[], Any], http: str) -> dict[str, Any]:
    agent: Client = await connect()
    hello = {"hello": "agent", "agent": {"id": "ye", "capacity": {"chat": 2}}}
    assert await agent.ask(hello) == {"ok": "agent"}
    producer: Client = await connect()
    assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
    for k in range(3):
        adm = await producer.ask({"id": f"c{k}", "queue": "chat"})
        assert adm["admission"]["outcome"] == "admitted"
    for _ in range(2):
        offer = await agent.recv()
        await agent.send({"type": "accept", "inquiry_id": offer["inquiry_id"]})
    await asyncio.sleep(0.1)
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http_client:
        async with http_client.get(f"{http}/metrics") as res:
            assert res.status == 200
            assert res.headers["Content-Type"].startswith("text/plain")
            out["metrics"] = await res.text()
        await asyncio.sleep(0.3)  # the page state is rebuilt at most every 0.25 s
        async with http_client.get(f"{http}/api/state") as res:
            out["state"] = await res.json()
        async with http_client.post(
            f"{http}/api/config?filename=bad.toml", data=CONFIG.replace(b"20\n", b"-20\n")
        ) as res:
            out["bad"] = (res.status, await res.json())
        form = aiohttp.FormData()
        form.add_field("config", CONFIG, filename="tuned.toml")
        async with http_client.post(f"{http}/api/config", data=form) as res:
            out["good"] = (res.status, await res.json())
        async with http_client.get(f"{http}/") as res:
            out["page"] = await res.text()
        async with http_client.get(f"{http}/static/app.js") as res:
            out["js"] = res.status
        async with http_client.get(f"{http}/static/..%2Fstate.py") as res:
            out["escape"] = res.status
    agent.close()
    producer.close()
    return out


def test_service_serves_page_state_metrics_and_config_upload() -> None:
    async def scenario() -> dict[str, Any]:
        async with running_service(http_port=0) as (service, connect):
            out = await _session_flow(connect, f"http://127.0.0.1:{service.http_port}")
            out["version"] = service.router.core.version
        return out

    out = run_async(scenario)
    fams = {f.name: f for f in text_string_to_metric_families(out["metrics"])}
    waiting = {s.labels["queue"]: s.value for s in fams["router_inquiries_waiting"].samples}
    assert waiting == {"chat": 1.0}  # two accepted, one waits for a free slot
    answered = [
        s.value
        for s in fams["router_outcomes"].samples
        if s.labels == {"queue": "chat", "outcome": "answered"}
    ]
    assert answered == [2.0]
    state = out["state"]
    assert state["mode"] == "live"
    assert state["queues"][0]["name"] == "chat"
    assert state["queues"][0]["waiting"] == 1
    assert state["agents"][0]["id"] == "ye"
    assert state["agents"][0]["load"] == {"chat": 2}
    assert 0 < state["agents"][0]["occupancy"] <= 1.0  # both slots held since they were offered
    status, body = out["bad"]
    assert status == 422
    assert body == {
        "ok": False,
        "problems": ["$.queues[0].answer_target_s: Expected float > 0.0"],
    }
    status, body = out["good"]
    assert (status, body["ok"], body["version"]) == (200, True, 2)
    assert body["summary"].startswith("ok: 1 queue")
    assert out["version"] == 2
    assert '<script src="/static/app.js">' in out["page"]
    assert "http" not in out["page"].replace('href="/static', "").split("<body>")[0]  # no CDN
    assert out["js"] == 200
    assert out["escape"] == 404


def test_service_http_port_is_checked_like_port(capsys: pytest.CaptureFixture[str]) -> None:
    svc = load_example("asyncio_service")
    with pytest.raises(SystemExit):
        svc.parse_args(["--http", "70000"])
    assert capsys.readouterr().err.strip().endswith("--http: must be 0..65535")
