"""The async examples: smoke runs of each program, and the service's protocol in-process.

Network traffic stays on 127.0.0.1; every program stops by itself.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_example(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=EXAMPLES
    )


def summary_of(stdout: str) -> dict[str, str]:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("summary "))
    return dict(kv.split("=", 1) for kv in line.split()[1:])


# ---------------------------------------------------------------- smoke runs


def test_trio_chat_desk_runs_in_real_time() -> None:
    proc = run_example(
        "trio_chat_desk.py", "--seconds", "0.5", "--customers", "60", "--chat-mean", "0.2",
        "--patience", "5", "--every", "0.25",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("t=") >= 2  # live statistics lines
    s = summary_of(proc.stdout)
    assert s["customers"] == "60"
    assert int(s["answered"]) + int(s["abandoned"]) + int(s["refused"]) == 60


def test_trio_chat_desk_runs_a_day_in_virtual_time() -> None:
    proc = run_example("trio_chat_desk.py", "--virtual", "--customers", "400", "--every", "10")
    assert proc.returncode == 0, proc.stderr
    s = summary_of(proc.stdout)
    assert s["customers"] == "400"
    assert int(s["ticks"]) < int(s["inputs"])  # batching: fewer passes than inputs


def test_trio_chat_desk_rejects_bad_flags() -> None:
    proc = run_example("trio_chat_desk.py", "--chats", "40")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .endswith("--chats: the chat channel allows at most 30 per agent")
    )


def test_service_and_load_client_with_a_20x_burst() -> None:
    service = subprocess.Popen(
        [sys.executable, "asyncio_service.py", "--seconds", "60", "--every", "0.5"],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert service.stdout is not None
        first = service.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), first
        port = first.strip().rsplit(":", 1)[1]
        client = run_example(
            "load_client.py", "--port", port, "--agents", "5", "--chats", "5", "--rate", "15",
            "--burst", "20", "--seconds", "1.5", "--handle", "0.1", "--patience", "2",
            "--drain", "20",
        )  # fmt: skip
        assert client.returncode == 0, client.stdout + client.stderr
        assert (
            'malformed inquiry -> {"error":"$.queue: Object missing required field","line":2}'
            in client.stdout
        )
        s = summary_of(client.stdout)
        ended = sum(int(s.get(k, 0)) for k in ("assigned", "abandoned", "rejected", "withdrawn"))
        assert ended == int(s["admission_admitted"]) == int(s["sent"])
        assert int(s["assigned"]) > 0
    finally:
        service.send_signal(signal.SIGINT)
        out, err = service.communicate(timeout=20)
    assert service.returncode == 0, err
    stopped = re.search(r"^stopped: connections=6 errors=(\d+)$", out, re.M)
    assert stopped is not None, out
    assert int(stopped[1]) >= 1  # the malformed line (plus accepts of offers that expired)


def test_load_client_tells_a_gone_offer_from_an_error() -> None:
    lc = load_example("load_client")
    lines = lc.AgentLines()
    for kind, inquiry in [("accept", "c1"), ("accept", "c2"), ("complete", "c2")]:
        lines.note(kind, inquiry)  # lines 2, 3, 4 (line 1: the hello)
    lines.note("complete", "c1")  # line 5
    # the caller of c1 hung up while the accept was on its way: a race, not an error
    assert lines.refused({"error": "unknown inquiry 'c1'", "line": 2}) == ("accept", "c1")
    assert lines.refused({"error": "unknown inquiry 'c1'", "line": 5}) == ("complete", "c1")
    # c2 was accepted: its complete refused is an error, as is a line the client never sent
    assert lines.refused({"error": "unknown inquiry 'c2'", "line": 4}) is None
    assert lines.refused({"error": "$.type: ...", "line": 9}) is None


def test_load_client_fails_on_any_error_and_says_which() -> None:
    # it used to print agent_errors=4 and exit 0
    lc = load_example("load_client")
    good = {"admission_admitted": 3, "assigned": 2, "abandoned": 1, "offers_gone": 1}
    assert lc.verdict(good, []) == []
    error = "agent000 line 7: unknown inquiry 'c2'"
    assert lc.verdict(good, [error]) == [f"load_client: error: {error}"]
    assert lc.verdict({**good, "assigned": 1}, []) == [
        "load_client: 2 outcomes for 3 admitted inquiries"
    ]
    assert lc.verdict({**good, "missing_outcomes": 1}, []) == ["load_client: missing_outcomes=1"]


# ---------------------------------------------------------------- the protocol, in-process


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, line: str | dict[str, Any]) -> None:
        text = line if isinstance(line, str) else json.dumps(line)
        self.writer.write(text.encode() + b"\n")
        await self.writer.drain()

    async def recv(self) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.reader.readline(), 10)
        assert raw, "the service closed the connection"
        msg: dict[str, Any] = json.loads(raw)
        return msg

    async def ask(self, line: str | dict[str, Any]) -> dict[str, Any]:
        await self.send(line)
        return await self.recv()

    def close(self) -> None:
        self.writer.close()


@asynccontextmanager
async def running_service(
    config: Any = None, **serve: Any
) -> AsyncIterator[tuple[Any, Callable[[], Any]]]:
    """The example service in this loop (``serve`` adds keyword arguments, e.g. ``http_port``)."""
    svc = load_example("asyncio_service")
    started: asyncio.Future[tuple[Any, int]] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(
        svc.serve(
            config if config is not None else svc.default_config(),
            seconds=30,
            every=100,
            stop=stop,
            ready=lambda service, port: started.set_result((service, port)),
            **serve,
        )
    )
    service, port = await started

    async def connect() -> Client:
        return Client(*await asyncio.open_connection("127.0.0.1", port))

    try:
        yield service, connect
    finally:
        stop.set()
        await task


def run_async(fn: Callable[[], Any]) -> Any:
    with asyncio.Runner() as runner:
        return runner.run(fn())


def test_service_answers_malformed_lines_with_one_error_line_each() -> None:
    async def scenario() -> None:
        async with running_service() as (service, connect):
            c = await connect()
            bad_json = await c.ask("not json")
            assert bad_json["line"] == 1
            assert bad_json["error"].startswith("$: malformed JSON: ")
            assert await c.ask({"hello": "agent"}) == {
                "error": "$.agent: an agent must say who it is",
                "line": 2,
            }
            assert await c.ask({"hello": "producer"}) == {"ok": "producer"}
            cases = [
                ({"id": "c1"}, "$.queue: Object missing required field"),
                (
                    {"id": "c2", "queue": "chat", "priority": "high"},
                    "$.priority: Expected int | null, got str",
                ),
                (
                    {"id": "c3", "queue": "chat", "patience_s": -1},
                    "$.patience_s: Expected float > 0.0",
                ),
                (
                    {"id": "c4", "queue": "chat", "extra": 1},
                    "$: Object contains unknown field extra",
                ),
                ({"id": "c5", "queue": "nope"}, "unknown queue 'nope'; known: 'chat'"),
            ]
            for n, (line, error) in enumerate(cases, start=4):
                assert await c.ask(line) == {"error": error, "line": n}
            ok = await c.ask({"id": "c6", "queue": "chat"})  # the connection carried on
            assert ok["admission"]["inquiry_id"] == "c6"
            assert ok["admission"]["outcome"] == "admitted"
            assert service.errors == 7
            c.close()

    run_async(scenario)


def test_a_first_line_that_is_no_hello_says_so() -> None:
    """The docs' producer line sent first (user51: the answer was ``$: Object contains
    unknown field type``, which names no hello)."""

    async def scenario() -> None:
        async with running_service() as (_service, connect):
            c = await connect()
            submit = {"type": "submit", "inquiry": {"id": "c1", "queue": "chat"}}
            hint = (
                "$.hello: the first line says who is calling: "
                '{"hello": "producer"} or {"hello": "agent", "agent": {"id": ...}}'
            )
            assert await c.ask(submit) == {"error": hint, "line": 1}
            wrong = await c.ask({"hello": "operator"})  # a hello: msgspec's own line
            assert wrong["line"] == 2 and wrong["error"].startswith("$.hello: "), wrong
            assert await c.ask({"hello": "producer"}) == {"ok": "producer"}
            assert (await c.ask(submit))["admission"]["outcome"] == "admitted"
            c.close()

    run_async(scenario)


def test_service_streams_work_to_agents_and_outcomes_to_producers() -> None:
    async def scenario() -> None:
        async with running_service() as (service, connect):
            agent = await connect()
            hello = {"hello": "agent", "agent": {"id": "ye", "capacity": {"chat": 2}}}
            assert await agent.ask(hello) == {"ok": "agent"}
            producer = await connect()
            assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
            adm = await producer.ask({"id": "c1", "queue": "chat"})
            assert adm["admission"]["outcome"] == "admitted"
            offer = await agent.recv()
            assert (offer["type"], offer["inquiry_id"], offer["agent_id"]) == (
                "Offered",
                "c1",
                "ye",
            )
            await agent.send({"type": "accept", "inquiry_id": "c1"})
            assigned = await producer.recv()
            assert (assigned["type"], assigned["agent_id"]) == ("Assigned", "ye")
            assert await agent.ask({"type": "complete"}) == {
                "error": "$.inquiry_id: Object missing required field",
                "line": 3,
            }
            assert await agent.ask({"type": "complete", "inquiry_id": "zz"}) == {
                "error": "unknown inquiry 'zz'",
                "line": 4,
            }
            assert await agent.ask({"type": "set_ready", "agent_id": "someone"}) == {
                "error": "$.agent_id: this connection is agent 'ye'",
                "line": 5,
            }
            assert await agent.ask({"type": "submit", "inquiry": {"id": "x", "queue": "chat"}}) == {
                "error": "$.type: an agent cannot send Submit",
                "line": 6,
            }
            await agent.send({"type": "go_on_break", "agent_id": "ye", "reason": "tea"})
            await agent.send({"type": "set_ready", "agent_id": "ye"})
            await agent.send({"type": "complete", "inquiry_id": "c1"})
            await asyncio.sleep(0.05)
            stats = service.router.statistics().router
            assert stats.counters.completed == 1 and stats.agents_ready == 1
            # a producer speaks the same vocabulary: submit and withdraw
            adm = await producer.ask({"type": "submit", "inquiry": {"id": "c2", "queue": "chat"}})
            assert adm["admission"]["outcome"] == "admitted"
            offer = await agent.recv()
            assert offer["inquiry_id"] == "c2"
            await producer.send({"type": "withdraw", "inquiry_id": "c2"})
            await asyncio.sleep(0.05)
            assert service.router.statistics().router.counters.withdrawn == 1
            assert (await producer.recv())["type"] == "Withdrawn"  # c2's outcome
            # and starts the since-reset figures over
            before = service.router.statistics().router.queues["chat"].windows["since_reset"]
            assert before.offered == 2
            assert await producer.ask({"type": "reset_statistics"}) == {"ok": "reset_statistics"}
            stats = service.router.statistics().router
            assert stats.queues["chat"].windows["since_reset"].offered == 0
            agent.close()
            producer.close()

    run_async(scenario)


def test_service_carries_in_queue_changes_and_heartbeats() -> None:
    """A supervisor (producer side) updates, transfers and changes an agent; an agent hands
    back, transfers and sends heartbeats; a bad change gets an error line."""
    from router import QueueConfig, RouterConfig, Routing

    config = RouterConfig(
        queues=[QueueConfig(name="chat", channel="chat"), QueueConfig(name="vip", channel="chat")],
        routing=Routing(offer_timeout_s=10.0, decline_memory="forever"),  # (a refusal kept)
    )

    async def scenario() -> None:
        async with running_service(config, http_port=0) as (service, connect):
            agent = await connect()
            hello = {"hello": "agent", "agent": {"id": "ye", "capacity": {"chat": 2}}}
            assert await agent.ask(hello) == {"ok": "agent"}
            assert service.monitor.shares("ye") == {"chat": 0.5}
            twin = await connect()  # a second console as ye: refused, the page keeps ye's
            refused = await twin.ask(
                {"hello": "agent", "agent": {"id": "ye", "capacity": {"chat": 5}}}
            )
            assert "ye" in refused["error"]
            assert service.monitor.shares("ye") == {"chat": 0.5}
            twin.close()
            producer = await connect()
            assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
            adm = await producer.ask({"id": "c1", "queue": "chat"})
            assert adm["admission"]["outcome"] == "admitted"
            assert (await agent.recv())["inquiry_id"] == "c1"
            await agent.send({"type": "accept", "inquiry_id": "c1"})
            assert (await producer.recv())["type"] == "Assigned"
            await agent.send({"type": "hand_back", "inquiry_id": "c1"})
            await agent.send({"type": "heartbeat", "agent_id": "ye"})
            assert await agent.ask({"type": "heartbeat", "agent_id": "li"}) == {
                "error": "$.agent_id: this connection is agent 'ye'",
                "line": 5,
            }
            router = service.router
            assert router.statistics().router.counters.handed_back == 1
            assert router.statistics().router.waiting == 1  # never back to ye
            change = {"type": "update_inquiry", "inquiry_id": "c1", "priority": 5}
            assert await producer.ask(change) == {"ok": "update_inquiry"}
            move = {"type": "transfer", "inquiry_id": "c1", "queue": "vip"}
            assert await producer.ask(move) == {"ok": "transfer"}
            bad = {"type": "transfer", "inquiry_id": "c1", "queue": "nope"}
            assert "unknown queue 'nope'" in (await producer.ask(bad))["error"]
            nan = '{"type": "update_inquiry", "inquiry_id": "c1", "priority": 1e999}'
            assert "$.priority" in (await producer.ask(nan))["error"]
            spec = {"type": "update_agent", "agent": {"id": "ye", "capacity": {"chat": 3}}}
            assert await producer.ask(spec) == {"ok": "update_agent"}
            stats = router.statistics().router
            assert (stats.counters.updated, stats.counters.transferred) == (1, 1)
            assert router.core.agent_spec("ye").capacity == {"chat": 3}
            assert service.monitor.shares("ye") == {"chat": 1 / 3}  # the page's occupancy
            assert stats.queues["vip"].waiting == 1
            agent.close()
            producer.close()

    run_async(scenario)


FEATURES = """
[routing]
offer_timeout_s = 10
[[queues]]
name = "chat"
channel = "chat"
match = "inquiry.lang in langs"
preferred_wait_s = 30
[[queues]]
name = "ring"
channel = "chat"
max_offers = 2
"""


def test_service_carries_attributes_preferences_and_rings() -> None:
    from router import decode_config

    async def scenario() -> None:
        async with running_service(config=decode_config(FEATURES)) as (service, connect):
            agents = {}
            for aid in ("ye", "li"):
                agents[aid] = c = await connect()
                spec = {"id": aid, "capacity": {"chat": 2}, "attributes": {"langs": ["en"]}}
                assert await c.ask({"hello": "agent", "agent": spec}) == {"ok": "agent"}
            ye, li = agents["ye"], agents["li"]
            producer = await connect()
            assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
            c1 = {"id": "c1", "queue": "chat", "attributes": {"lang": "zh"}}
            assert (await producer.ask(c1))["admission"]["outcome"] == "admitted"
            await asyncio.sleep(0.05)
            assert service.router.statistics().router.waiting == 1  # nobody speaks zh
            # li learns Chinese: the queue's match is evaluated again, c1 goes to li
            bad = {"type": "set_attributes", "agent_id": "li", "attributes": {"x": {"y": 1}}}
            err = await li.ask(bad)
            assert err["error"].startswith("$.attributes") and err["line"] == 2
            assert await li.ask(
                {"type": "set_attributes", "agent_id": "ye", "attributes": {"langs": ["zh"]}}
            ) == {"error": "$.agent_id: this connection is agent 'li'", "line": 3}
            await li.send(
                {"type": "set_attributes", "agent_id": "li", "attributes": {"langs": ["zh"]}}
            )
            offer = await li.recv()
            assert (offer["type"], offer["inquiry_id"]) == ("Offered", "c1")
            # a preferred agent: c2 waits for ye although li is free
            c2 = {"type": "submit", "inquiry": {"id": "c2", "queue": "chat",
                  "attributes": {"lang": "en"}, "preferred_agents": ["ye"]}}  # fmt: skip
            assert (await producer.ask(c2))["admission"]["outcome"] == "admitted"
            offer = await ye.recv()
            assert (offer["inquiry_id"], offer["agent_id"]) == ("c2", "ye")
            # a ring to both: the first accept wins, the other's offer is rescinded
            assert (await producer.ask({"id": "r1", "queue": "ring"}))["admission"]
            assert (await ye.recv())["inquiry_id"] == "r1"
            assert (await li.recv())["inquiry_id"] == "r1"
            await ye.send({"type": "accept", "inquiry_id": "r1"})
            rescinded = await li.recv()
            assert (rescinded["type"], rescinded["inquiry_id"], rescinded["accepted_by"]) == (
                "OfferRescinded",
                "r1",
                "ye",
            )
            assigned = await producer.recv()
            while assigned["inquiry_id"] != "r1":  # c1 or c2 may be answered first
                assigned = await producer.recv()
            assert (assigned["type"], assigned["agent_id"]) == ("Assigned", "ye")
            for c in (ye, li, producer):
                c.close()

    run_async(scenario)


def test_a_disconnected_producer_withdraws_its_waiting_inquiries() -> None:
    async def scenario() -> None:
        async with running_service() as (service, connect):
            producer = await connect()
            assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
            for k in range(3):
                adm = await producer.ask({"id": f"c{k}", "queue": "chat"})
                assert adm["admission"]["outcome"] == "admitted"
            producer.close()
            for _ in range(200):
                await asyncio.sleep(0.01)
                stats = service.router.statistics().router
                if stats.counters.withdrawn == 3:
                    break
            assert stats.counters.withdrawn == 3
            assert stats.waiting == 0

    run_async(scenario)


def test_a_disconnected_agent_hands_its_offers_back() -> None:
    async def scenario() -> None:
        async with running_service() as (_service, connect):
            first = await connect()
            assert await first.ask({"hello": "agent", "agent": {"id": "a1"}}) == {"ok": "agent"}
            producer = await connect()
            assert await producer.ask({"hello": "producer"}) == {"ok": "producer"}
            await producer.ask({"id": "c1", "queue": "chat"})
            hello = {"hello": "agent", "agent": {"id": "a2", "capacity": {"chat": 1}}}
            # a1 has no chat capacity (voice only): nobody can take c1 yet
            second = await connect()
            assert await second.ask(hello) == {"ok": "agent"}
            offer = await second.recv()
            assert offer["inquiry_id"] == "c1"
            second.close()  # gone without answering
            third = await connect()
            hello["agent"]["id"] = "a3"  # type: ignore[index]
            assert await third.ask(hello) == {"ok": "agent"}
            again = await third.recv()
            assert (again["inquiry_id"], again["agent_id"]) == ("c1", "a3")
            for c in (first, producer, third):
                c.close()

    run_async(scenario)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seconds", "0"], "--seconds: must be a positive number"),
        (["--port", "70000"], "--port: must be 0..65535"),
    ],
)
def test_service_rejects_bad_flags(flags: list[str], message: str) -> None:
    proc = run_example("asyncio_service.py", *flags)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(message)


def test_service_reports_a_bad_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[queues]]\nname = "chat"\nanswer_target_s = -1\n')
    proc = run_example("asyncio_service.py", "--config", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "asyncio_service: $.queues[0].answer_target_s: Expected float > 0.0"
    )
