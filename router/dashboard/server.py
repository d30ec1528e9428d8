"""The operator page's web server (aiohttp): static page, live updates, config upload, metrics.

Routes:

- ``GET /``: the page (``static/index.html``, plain HTML/JS/CSS, no CDN: works offline);
- ``GET /events``: server-sent events, one ``state`` message (the JSON of
  ``router/dashboard/state.py``) whenever it changed, every ``push_s`` at most;
- ``GET /api/state``: the same JSON once;
- ``POST /api/config``: a config file (multipart field ``config``, or the raw body
  with ``?filename=``); checked like ``router check``, applied through the core's
  ``reconfigure`` only if valid; answers ``{"ok": true, "version": n, "summary": ...,
  "warnings": [...]}`` (``router check``'s warnings: applied all the same)
  or ``{"ok": false, "problems": [...]}`` (status 422);
- ``GET /metrics``: Prometheus text format, when the source has a collector;
- ``GET /health``: ``ok``.

A :class:`Source` (the replay of ``router dashboard``, or a live adapter in the
example service) produces the state and applies configs; the server never
touches the router itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from importlib.resources import files
from typing import Any, Protocol

from aiohttp import web

from router.config import RouterConfig, config_warnings
from router.dashboard.state import check_upload
from router.errors import ConfigError

__all__ = ["Applied", "Source", "make_app", "start_server"]

MAX_UPLOAD = 1 << 20
_STATIC = files("router.dashboard") / "static"
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


class Applied(Exception):
    """Raised by a source to refuse a config it cannot apply (one line per problem)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Source(Protocol):
    def state(self) -> tuple[int, bytes]:
        """``(sequence, JSON bytes)`` of the latest page state; the sequence grows on change."""
        ...

    async def apply(self, config: RouterConfig) -> int:
        """Reconfigure the router; returns the new version or raises ConfigError/Applied."""
        ...

    def metrics(self) -> bytes | None:
        """Prometheus text, or None when metrics are not available."""
        ...


def _static(name: str) -> web.Response:
    res = _STATIC / name
    if not res.is_file():
        raise web.HTTPNotFound()
    suffix = "." + name.rsplit(".", 1)[-1]
    return web.Response(body=res.read_bytes(), content_type=_TYPES.get(suffix, "text/plain"))


def make_app(source: Source, *, push_s: float = 0.5) -> web.Application:
    """The aiohttp application serving ``source``."""
    app = web.Application(client_max_size=MAX_UPLOAD)
    closing = asyncio.Event()

    async def index(request: web.Request) -> web.Response:
        return _static("index.html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        return _static(name)

    async def api_state(request: web.Request) -> web.Response:
        _, body = source.state()
        return web.Response(body=body, content_type="application/json")

    async def events(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await resp.prepare(request)
        sent = -1
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while not closing.is_set():
                seq, body = source.state()
                if seq != sent:
                    sent = seq
                    await resp.write(b"event: state\ndata: " + body + b"\n\n")
                else:
                    await resp.write(b": keep-alive\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closing.wait(), push_s)
        return resp

    async def api_config(request: web.Request) -> web.Response:
        filename = request.query.get("filename", "config.toml")
        data: bytes
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            field: Any = form.get("config")
            if field is None:
                return _refused(["config: the form has no 'config' file or text"], 400)
            if isinstance(field, web.FileField):
                filename = field.filename or filename
                data = field.file.read()
            else:
                data = str(field).encode()
                filename = str(form.get("filename") or filename)
        else:
            data = await request.read()
        try:
            cfg, summary = check_upload(data, filename)
            version = await source.apply(cfg)
        except (ConfigError, Applied) as exc:
            return _refused(list(exc.problems), 422)
        warnings = config_warnings(cfg)
        return web.json_response(
            {"ok": True, "version": version, "summary": summary, "warnings": warnings}
        )

    async def metrics(request: web.Request) -> web.Response:
        body = source.metrics()
        if body is None:
            raise web.HTTPNotFound(
                text="metrics need prometheus-client: pip install 'inquiry-router[metrics]'\n"
            )
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def on_shutdown(app: web.Application) -> None:
        closing.set()

    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/events", events)
    app.router.add_get("/api/state", api_state)
    app.router.add_post("/api/config", api_config)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    app.on_shutdown.append(on_shutdown)
    return app


def _refused(problems: list[str], status: int) -> web.Response:
    return web.json_response({"ok": False, "problems": problems}, status=status)


async def start_server(
    source: Source, host: str = "127.0.0.1", port: int = 0, *, push_s: float = 0.5
) -> tuple[web.AppRunner, int]:
    """Serve ``source`` on ``host:port`` (0: a free port); returns the runner and the port.

    Stop it with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(make_app(source, push_s=push_s), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)
