"""Every crash point x {kill -9, SIGSTOP past the lease}, with real processes mid-flood.

The owner runs with ``ROUTER_DURABLE_FAULT=POINT:N`` and stops itself at the
N-th busy pass through POINT (:mod:`router.durable.faults`). A survivor starts;
the owner is then either killed with SIGKILL, or left stopped until the
survivor holds its lease and resumed (its next write must be fenced). Checked
from the streams once everything drained: every acknowledged inquiry has
exactly one outcome, none was assigned twice, no cap was exceeded, and the
output stream holds, once each and byte for byte, the outputs a replay of the
whole log gives (no output missing for a logged batch, none doubled). At the
dead-letter points (``after_isolation``, ``after_dead_letter``) one submission
is poisoned: only it is refused ``DeadLettered``; the other inputs of its batch
are served, their inquiries reaching outcomes like every other.
"""

from __future__ import annotations

import asyncio
import re
import signal
import threading
from pathlib import Path

import pytest

from router.durable.faults import POINTS
from router.durable.testing import Proc, RedisServer
from tests.durable.harness import (
    agents,
    flood,
    load,
    owner_pid,
    serve,
    settle_and_check,
    stopped,
    wait_for,
)

pytestmark = pytest.mark.redis

#: The busy pass to stop at: far enough into the flood that work is in flight.
WHEN = {
    "recovering": 1,
    "after_read": 8,
    "commit_unacknowledged": 8,
    "after_commit": 8,
    "after_apply": 8,
    "after_snapshot": 1,
    "after_isolation": 1,
    "after_dead_letter": 1,
}
DEAD_POINTS = ("after_isolation", "after_dead_letter")
TOTAL = 400
POISON = "d-101"


def _holder(server: RedisServer) -> int | None:
    c = server.client()
    try:
        return owner_pid(c.get("router:{d}:lease"))
    finally:
        c.close()


@pytest.mark.parametrize("mode", ["kill9", "sigstop"])
@pytest.mark.parametrize("point", POINTS)
def test_no_crash_point_loses_or_doubles_anything(
    redis_server: RedisServer,
    config_file: Path,
    tmp_path: Path,
    procs: list[Proc],
    point: str,
    mode: str,
) -> None:
    url = redis_server.url
    env = {"ROUTER_DURABLE_FAULT": f"{point}:{WHEN[point]}"}
    plain: dict[str, str] = {}
    if point in DEAD_POINTS:
        env["ROUTER_DURABLE_POISON"] = plain["ROUTER_DURABLE_POISON"] = POISON
    first: Proc | None = None
    if point == "recovering":  # the faulty process must be the one taking over
        first = serve(procs, tmp_path, "first", url, config_file, "d", "--snapshot-every-s", "60")
        wait_for(lambda: _holder(redis_server) == first.pid, "the first owner")
    # snapshots often, so some land right after a batch, with its outputs still pending
    extra = ("--snapshot-every-s", "0.1") if point == "after_snapshot" else ()
    owner = serve(procs, tmp_path, "owner", url, config_file, "d", *extra, env=env)
    if first is None:
        wait_for(lambda: _holder(redis_server) == owner.pid, "the faulty owner")
    agents(procs, tmp_path, url, "d")
    survivor: list[Proc] = []
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            wait_for(lambda: stopped(owner), f"the owner to stop at {point}", timeout=60)
            survivor.append(serve(procs, tmp_path, "survivor", url, config_file, "d", env=plain))
            if mode == "kill9":
                owner.signal(signal.SIGKILL)
            else:
                wait_for(lambda: _holder(redis_server) == survivor[0].pid, "the takeover")
                owner.signal(signal.SIGCONT)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    midway = (lambda: first.signal(signal.SIGKILL)) if first is not None else None
    added = asyncio.run(flood(url, ["d"], TOTAL, 200.0, midway=midway, midway_at=0.3))
    watcher.join(90)
    assert not errors, errors
    assert survivor, "the owner never stopped at the fault point"
    if mode == "sigstop":
        wait_for(
            lambda: re.search(r"domain 'd': write refused by fencing", owner.output()),
            "the resumed owner's write to be refused",
        )
    result = settle_and_check(url, added, load(config_file), procs)
    rep, audit = result["d"]
    assert rep.problems == []
    assert audit.problems == []
    assert audit.inquiries == TOTAL
    assert sum(audit.outcomes.values()) == TOTAL
    tokens = [t for _, t, _ in rep.batches]
    assert tokens == sorted(tokens) and tokens[-1] > tokens[0]  # a takeover happened
    if point in DEAD_POINTS:
        # the poison input alone is dead-lettered: its batch's other inputs were served
        assert len(rep.dead) == 1
        ((bid, record),) = rep.dead.items()
        assert record.items is not None and len(record.items) == 1
        (batch,) = [b for i, _, b in rep.batches if i == bid]
        assert len(batch.items) >= 4  # the producer's entry d-100..d-103, maybe more
        poison = batch.items[record.items[0]].input
        assert getattr(poison, "inquiry", None) is not None and poison.inquiry.id == POISON
        refused = [
            (x.input, x.ref) for o in rep.outputs for x in o.refusals if x.error == "DeadLettered"
        ]
        assert refused == [("submit", POISON)]
        assert audit.outcomes.get("DeadLettered") == 1  # every other inquiry: a real outcome
    for p in (owner, *survivor):
        assert "Traceback" not in p.output() or point in DEAD_POINTS
