"""Directed tests from mutH38's sweep: durable mode's trim windows (``router/durable/domain.py``).

Each test pins one behaviour a mutant changed without the durable subset noticing
(BENCHMARKS.md, "Mutation sweep of lazyheap, estimate, schema and the open survivors
(mutH38)"). The windows run on the server's clock; the tests move the stored ages, not
the clock, and keep 50 s of margin either side of a bound, so load cannot decide them.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from router import Inquiry
from router.durable import Producer
from router.durable.scripts import id_score
from router.durable.testing import RedisServer
from tests.durable.harness import Clock, run, runner, settle, start

pytestmark = pytest.mark.redis

#: a window long enough that one part in a thousand of it (100 s) dwarfs any delay
WINDOW_S = 100_000.0
MARGIN_MS = 50_000


async def _server_ms(c: Redis) -> int:
    secs, micros = await c.time()
    return int(secs) * 1000 + int(micros) // 1000


def test_the_dedupe_window_keeps_a_key_just_inside_it_and_forgets_one_just_past(
    redis_server: RedisServer,
) -> None:
    # `domain.py:550` (`dedupe_window_s * 1001` or `* 999`): the window is the option's
    # seconds exactly, in ms; a key 50 s inside it is still a duplicate, one 50 s past is not
    async def body(c: Redis) -> None:
        r = runner(c, Clock(1.0), keep_log=False, dedupe_window_s=WINDOW_S)
        await start(r)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id=i, queue="orders") for i in ("inside", "past", "now")])
        await settle(r)
        edge = await _server_ms(c) - int(WINDOW_S * 1000)
        idem = "router:{d}:idem"
        assert await c.zcard(idem) == 3
        # their submissions made that long ago (the score is the request id's, in ms * 1024)
        await c.zadd(idem, {"inside": id_score(f"{edge + MARGIN_MS}-0")}, xx=True)
        await c.zadd(idem, {"past": id_score(f"{edge - MARGIN_MS}-0")}, xx=True)
        await r.snapshot()
        assert sorted(await c.zrange(idem, 0, -1)) == [b"inside", b"now"]
        again = await p.submit_many([Inquiry(id=i, queue="orders") for i in ("inside", "past")])
        assert [x.duplicate for x in again] == [True, False]

    run(redis_server.url, body)


def test_outputs_without_groups_are_kept_for_the_retention_window_only(
    redis_server: RedisServer,
) -> None:
    # `domain.py:551` (`output_retention_s * 1001` or `* 999`): without consumer groups
    # the output stream keeps what is younger than the retention, to the millisecond
    async def body(c: Redis) -> None:
        out = "router:{d}:output"
        now = await _server_ms(c)
        edge = now - int(WINDOW_S * 1000)
        # two entries the stream held from an earlier life, 50 s past the window and 50 s in
        # (of no input of this log: ``in`` 0-0, so the new owner publishes everything anew)
        old = {"tok": "old", "in": "0-0", "ev": ""}
        await c.xadd(out, {**old, "x": "past"}, id=f"{edge - MARGIN_MS}-0")
        await c.xadd(out, {**old, "x": "inside"}, id=f"{edge + MARGIN_MS}-0")
        r = runner(c, Clock(1.0), keep_log=False, output_retention_s=WINDOW_S)
        await start(r)
        p = Producer(c, "d")
        await p.submit_many([Inquiry(id="q", queue="orders")])
        await settle(r)
        n = await c.xlen(out)
        assert n >= 3
        await r.snapshot()
        entries = await c.xrange(out, "-", "+")
        assert len(entries) == n - 1
        assert entries[0][0] == f"{edge + MARGIN_MS}-0".encode()
        assert entries[0][1][b"x"] == b"inside"

    run(redis_server.url, body)
