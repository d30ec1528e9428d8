"""A small routing service on uvloop (asyncio if uvloop is missing): JSON lines over TCP.

It listens on 127.0.0.1 (a free port unless ``--port``), routes the inquiries
producers send and streams the work to connected agent clients. One JSON object
per line, both ways. The first line of a connection says who is calling:

    {"hello": "producer"}                              -> {"ok": "producer"}
    {"hello": "agent", "agent": {"id": "a1", "capacity": {"chat": 20}}}
                                                       -> {"ok": "agent"}

Both sides then speak the router's own input vocabulary (``router/inputs.py``):
one tagged object per line, decoded and validated by msgspec. A producer sends
``{"type": "submit", "inquiry": {"id": "c1", "queue": "chat", "patience_s": 30}}``
(or the bare inquiry, ``{"id": "c1", "queue": "chat"}``, as shorthand),
``{"type": "withdraw", "inquiry_id": "c1"}`` and ``{"type": "reset_statistics"}``
(answered ``{"ok": "reset_statistics"}``: the since-reset figures start over); a
supervisor's changes go the same way: ``update_inquiry`` (priority, requirements),
``transfer`` (to another queue) and ``update_agent`` (a logged-in agent's new spec),
each answered ``{"ok": "<type>"}`` (docs/routing-features.md). The service answers a
submit at once with ``{"admission": {...}}``, and later with the ``Assigned`` event, or
the event that ended it (``Abandoned``, ``Rejected``, ...). If a producer disconnects,
its inquiries still waiting are withdrawn (cancellation withdraws).

An agent receives its work as events (``{"type": "Offered", ...}``; ``Assigned``
when the config routes in immediate mode) and sends ``accept``, ``decline``,
``complete`` and ``callback_failed`` (``{"type": "accept", "inquiry_id": "c1"}``),
``go_on_break``, ``set_ready``, ``logout`` and ``set_attributes`` (``{"type":
"set_ready", "agent_id": "a1"}``, its own id; ``{"type": "set_attributes", "agent_id":
"a1", "attributes": {"langs": ["zh", "en"]}}`` re-targets it for queues' ``match``),
``hand_back`` and ``transfer`` of work it holds, and ``heartbeat``. An inquiry's
``attributes`` and ``preferred_agents`` ride in the submit. In a queue with
``max_offers > 1`` an agent whose offer was taken by another gets the ``OfferRescinded``
event. Its session is a remote console (``keepalive=False``): with ``[routing]
presence_timeout_s`` only what it sends counts, so a console that went silent is set
away and its offers go back. When it disconnects, it is logged out and its open offers
go back in line.

A malformed line gets one error line naming the field, and the connection stays
open: ``{"error": "$.queue: Object missing required field", "line": 2}``.

The service prints its address (``listening on 127.0.0.1:PORT``), a statistics
line every ``--every`` seconds, and stops by itself after ``--seconds`` (or on
Ctrl-C) with a final summary. ``examples/load_client.py`` drives it.

With ``--http PORT`` (needs ``pip install 'inquiry-router[dashboard,metrics]'``) it
also serves, on 127.0.0.1, the live operator page at ``/`` (queues, waits, agents,
service level, surge, config upload applied through ``reconfigure``) and
Prometheus metrics at ``/metrics``: a ``router.observe.Monitor`` follows the
router's events and ``router.metrics.RouterCollector`` reads it with
``statistics()``. It prints ``http on 127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import re
import signal
import sys
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from router import (
    Accept,
    AgentSpec,
    CallbackFailed,
    Complete,
    Decline,
    GoOnBreak,
    HandBack,
    Heartbeat,
    Inquiry,
    Logout,
    QueueConfig,
    ResetStatistics,
    RouterConfig,
    Routing,
    SetAttributes,
    SetReady,
    Submit,
    Transfer,
    UpdateAgent,
    UpdateInquiry,
    UsageError,
    Withdraw,
    decode_input,
    load_config,
)
from router.adapters import AgentSession, InquiryEnded, RouterClosed, RouterHandle, open_router
from router.config import format_validation_error
from router.errors import ConfigError, InvalidMessage
from router.observe import Monitor, follow

#: the loopback address: the example never listens beyond this machine.
HOST = "127.0.0.1"


class Hello(msgspec.Struct, forbid_unknown_fields=True):
    hello: Literal["producer", "agent"]
    agent: AgentSpec | None = None


_hello = msgspec.json.Decoder(Hello)
_inquiry = msgspec.json.Decoder(Inquiry)
_encode = msgspec.json.Encoder().encode
_MISSING = re.compile(r"^(?P<path>\$[^:]*): Object missing required field (?P<field>\S+)$")


def _no_hello(raw: bytes) -> Exception | None:
    """A first line that is a JSON object with no ``hello`` (a producer's submit sent
    first): what to send instead, rather than msgspec's unknown field."""
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(obj, dict) and "hello" not in obj:
        return ValueError(
            "$.hello: the first line says who is calling: "
            '{"hello": "producer"} or {"hello": "agent", "agent": {"id": ...}}'
        )
    return None


def error_line(exc: Exception) -> str:
    """One line naming the field: ``$.queue: Object missing required field``."""
    if isinstance(exc, InvalidMessage) and exc.problem.startswith("JSON is malformed: "):
        return f"$: malformed JSON: {exc.problem.removeprefix('JSON is malformed: ')}"
    if isinstance(exc, msgspec.ValidationError):
        # decode_input's InvalidMessage says its path already; the decoders' own, msgspec's
        text = str(exc) if isinstance(exc, InvalidMessage) else format_validation_error(exc)
        m = _MISSING.match(text)
        if m is not None:
            return f"{m['path']}.{m['field']}: Object missing required field"
        return text
    if isinstance(exc, msgspec.DecodeError):  # msgspec's text may begin "JSON is malformed: "
        return f"$: malformed JSON: {str(exc).removeprefix('JSON is malformed: ')}"
    return str(exc)


def default_config() -> RouterConfig:
    return RouterConfig(
        queues=[QueueConfig(name="chat", channel="chat", answer_target_s=20.0)],
        routing=Routing(offer_timeout_s=10.0),
    )


class Connection:
    """One client: numbered input lines, JSON output lines, error lines."""

    def __init__(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.service = service
        self.reader = reader
        self.writer = writer
        self.lineno = 0

    async def readline(self) -> bytes:
        raw = await self.reader.readline()
        if raw:
            self.lineno += 1
        return raw

    def send(self, obj: Any) -> None:
        if not self.writer.is_closing():
            self.writer.write(_encode(obj) + b"\n")

    def fail(self, exc: Exception) -> None:
        self.service.errors += 1
        self.send({"error": error_line(exc), "line": self.lineno})


class Service:
    """The connections around one open router."""

    def __init__(self, router: RouterHandle, monitor: Monitor | None = None) -> None:
        self.router = router
        self.monitor = monitor
        self.connections = 0
        self.errors = 0
        #: the bound port of the page and /metrics (``--http``), else None
        self.http_port: int | None = None
        #: the clients connected now, and the tasks handling them
        self.open: set[Connection] = set()
        self.handlers: set[asyncio.Task[Any]] = set()

    async def hang_up(self) -> None:
        """Close every client's connection and let its handler finish, before the router
        closes: a stop (Ctrl-C) with clients connected ends quietly, with no task cancelled
        mid-read and no wait left to fail on the closed router."""
        for conn in list(self.open):
            conn.writer.close()
        await asyncio.gather(*self.handlers, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = Connection(self, reader, writer)
        me = asyncio.current_task()
        assert me is not None
        self.open.add(conn)
        self.handlers.add(me)
        try:
            while raw := await conn.readline():
                try:
                    hello = _hello.decode(raw)
                except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                    conn.fail(_no_hello(raw) or exc)
                    continue
                if hello.hello == "producer":
                    conn.send({"ok": "producer"})
                    await self.producer(conn)
                    return
                if hello.agent is None:
                    conn.fail(ValueError("$.agent: an agent must say who it is"))
                    continue
                try:
                    # a remote console: only what it sends keeps it present
                    session = self.router.agent(hello.agent, keepalive=False)
                    await session.__aenter__()
                except UsageError as exc:  # e.g. the id is already logged in
                    conn.fail(exc)
                    continue
                if self.monitor is not None:  # its capacity, for occupancy on the page
                    self.monitor.add_agent(hello.agent)  # (once the login is taken)
                async with contextlib.AsyncExitStack() as stack:
                    stack.push_async_exit(session)
                    conn.send({"ok": "agent"})
                    await self.agent(conn, session)
                return
        except (ConnectionError, RouterClosed):
            pass
        finally:
            self.open.discard(conn)
            self.handlers.discard(me)
            with contextlib.suppress(ConnectionError):
                writer.close()

    async def producer(self, conn: Connection) -> None:
        router = self.router

        async def outcome(inquiry_id: str) -> None:
            try:
                conn.send(await router.wait_assigned(inquiry_id))
            except InquiryEnded as exc:
                conn.send(exc.event)
            except RouterClosed:  # the service is stopping: nothing more to tell
                pass

        waits: set[asyncio.Task[None]] = set()
        try:
            while raw := await conn.readline():
                try:
                    if b'"type"' not in raw:  # a bare inquiry: shorthand for a submit
                        inquiry = _inquiry.decode(raw)
                    else:
                        inp = decode_input(raw)
                        if isinstance(inp, Withdraw):
                            router.withdraw(inp.inquiry_id)
                            continue
                        if isinstance(inp, ResetStatistics):
                            router.reset_statistics()
                            conn.send({"ok": "reset_statistics"})
                            continue
                        if isinstance(inp, UpdateInquiry | Transfer | UpdateAgent):
                            self.change(inp)
                            conn.send({"ok": inp.__struct_config__.tag})
                            continue
                        if not isinstance(inp, Submit):
                            raise ValueError(
                                "$.type: a producer sends submit, withdraw, reset_statistics, "
                                "update_inquiry, transfer or update_agent"
                            )
                        inquiry = inp.inquiry
                    admission = await router.submit(inquiry)
                except (
                    msgspec.ValidationError,
                    msgspec.DecodeError,
                    UsageError,
                    ValueError,
                ) as exc:
                    conn.fail(exc)
                    continue
                conn.send({"admission": admission})
                if admission.admitted:
                    task = asyncio.create_task(outcome(inquiry.id))
                    waits.add(task)
                    task.add_done_callback(waits.discard)
                await conn.writer.drain()
        finally:
            # the producer is gone: cancelling its open waits withdraws those inquiries
            for task in list(waits):
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def agent(self, conn: Connection, session: AgentSession) -> None:
        async def stream() -> None:
            async for work in session:
                conn.send(work)
                await conn.writer.drain()

        streamer = asyncio.create_task(stream())
        try:
            while raw := await conn.readline():
                try:
                    self.agent_input(session, decode_input(raw))
                except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                    conn.fail(exc)
                except UsageError as exc:  # e.g. accepting an offer that expired
                    conn.fail(exc)
        finally:
            streamer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streamer

    def change(self, inp: UpdateInquiry | Transfer | UpdateAgent) -> None:
        """A supervisor's change to an inquiry in line or to a logged-in agent."""
        router = self.router
        if isinstance(inp, UpdateInquiry):
            router.update_inquiry(inp.inquiry_id, priority=inp.priority, requires=inp.requires)
        elif isinstance(inp, Transfer):
            router.transfer(
                inp.inquiry_id,
                inp.queue,
                agent_id=inp.agent_id,
                priority=inp.priority,
                requires=inp.requires,
            )
        else:
            router.update_agent(inp.agent)
            if self.monitor is not None:  # its new capacity, for occupancy on the page
                self.monitor.add_agent(inp.agent)

    @staticmethod
    def agent_input(session: AgentSession, inp: Any) -> None:
        """One input from an agent connection, applied as that agent."""
        if isinstance(inp, Accept | Decline) and inp.agent_id not in (None, session.id):
            raise ValueError(f"$.agent_id: this connection is agent {session.id!r}")
        if isinstance(inp, HandBack | Transfer) and inp.agent_id not in (None, session.id):
            raise ValueError(f"$.agent_id: this connection is agent {session.id!r}")
        own = SetReady | GoOnBreak | Logout | Heartbeat | SetAttributes
        if isinstance(inp, own) and inp.agent_id != session.id:
            raise ValueError(f"$.agent_id: this connection is agent {session.id!r}")
        if isinstance(inp, Accept):
            session.accept(inp.inquiry_id)
        elif isinstance(inp, Decline):
            session.decline(inp.inquiry_id)
        elif isinstance(inp, Complete):
            session.complete(inp.inquiry_id)
        elif isinstance(inp, CallbackFailed):
            session.callback_failed(inp.inquiry_id)
        elif isinstance(inp, GoOnBreak):
            session.go_on_break(inp.reason)
        elif isinstance(inp, SetReady):
            session.set_ready()
        elif isinstance(inp, Logout):
            session.logout()
        elif isinstance(inp, HandBack):
            session.hand_back(inp.inquiry_id, priority=inp.priority)
        elif isinstance(inp, Transfer):
            session.transfer(
                inp.inquiry_id, inp.queue, priority=inp.priority, requires=inp.requires
            )
        elif isinstance(inp, Heartbeat):
            session.heartbeat()
        elif isinstance(inp, SetAttributes):
            session.set_attributes(inp.attributes)
        else:
            raise ValueError(f"$.type: an agent cannot send {type(inp).__name__}")

    def line(self, t0: float) -> str:
        s = self.router.statistics()
        r = s.router
        c = r.counters
        return (
            f"t={self.router.now() - t0:6.1f}s agents={r.agents_logged_in} waiting={r.waiting} "
            f"offered={r.offered} in_service={r.in_service} submitted={c.submitted} "
            f"assigned={c.assigned} abandoned={c.abandoned} withdrawn={c.withdrawn} "
            f"ticks={s.ticks} inputs={s.inputs}"
        )


async def serve(
    config: RouterConfig,
    *,
    port: int = 0,
    seconds: float = 60.0,
    every: float = 1.0,
    ready: Callable[[Service, int], None] | None = None,
    stop: asyncio.Event | None = None,
    http_port: int | None = None,
) -> Service:
    """Run the service until ``seconds`` pass or ``stop`` is set; returns it for its counters.

    ``ready(service, port)`` is called once it listens. ``http_port`` (0: a free
    one) adds the operator page and ``/metrics`` (``service.http_port``).
    """
    stop = stop if stop is not None else asyncio.Event()
    async with open_router(config, backend="asyncio") as router, contextlib.AsyncExitStack() as web:
        service = Service(router)
        if http_port is not None:
            service.monitor = Monitor(config, now=router.now())
            following = asyncio.create_task(follow(router, service.monitor))
            web.callback(following.cancel)
            service.http_port = await start_page(service, http_port, web)
        server = await asyncio.start_server(service.handle, HOST, port, limit=1 << 20)
        bound = server.sockets[0].getsockname()[1]
        if ready is not None:
            ready(service, bound)
        t0 = router.now()

        async def ticker() -> None:
            while True:
                await asyncio.sleep(every)
                print(service.line(t0), flush=True)

        stats = asyncio.create_task(ticker())
        async with server:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
            stats.cancel()
            server.close()
            await service.hang_up()
        print(service.line(t0), flush=True)
    return service


async def start_page(service: Service, port: int, stack: contextlib.AsyncExitStack) -> int:
    """Serve the operator page and ``/metrics`` on 127.0.0.1:``port``; returns the bound port."""
    from router.dashboard.live import LiveSource
    from router.dashboard.server import start_server

    assert service.monitor is not None
    source = LiveSource(service.router, service.monitor, title="asyncio_service (live)")
    runner, bound = await start_server(source, HOST, port)
    stack.push_async_callback(runner.cleanup)
    return bound


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    p.add_argument("--seconds", type=float, default=60.0, help="stop after this long")
    p.add_argument("--every", type=float, default=1.0, help="statistics period, s")
    p.add_argument("--config", help="router config file (TOML/JSON/YAML); default: one chat queue")
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    p.add_argument(
        "--http", type=int, metavar="PORT", help="serve the operator page and /metrics here"
    )
    args = p.parse_args(argv)
    for name in ("port", "http"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= 65535:
            p.error(f"--{name}: must be 0..65535")
    for name in ("seconds", "every"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value > 0):
            p.error(f"--{name}: must be a positive number")
    return args


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            print("uvloop is not installed; using asyncio's loop", file=sys.stderr)
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.http is not None:
        import importlib.util

        for module, extra in (("aiohttp", "dashboard"), ("prometheus_client", "metrics")):
            if importlib.util.find_spec(module) is None:
                print(
                    f"asyncio_service: --http needs {module}: "
                    f"pip install 'inquiry-router[{extra}]'",
                    file=sys.stderr,
                )
                return 2
    try:
        config = load_config(args.config) if args.config else default_config()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"asyncio_service: {problem}", file=sys.stderr)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(service: Service, port: int) -> None:
            print(f"listening on {HOST}:{port}", flush=True)
            if service.http_port is not None:
                print(f"http on {HOST}:{service.http_port} (page /, metrics /metrics)", flush=True)

        service = await serve(
            config,
            port=args.port,
            seconds=args.seconds,
            every=args.every,
            ready=ready,
            stop=stop,
            http_port=args.http,
        )
        print(f"stopped: connections={service.connections} errors={service.errors}", flush=True)

    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
