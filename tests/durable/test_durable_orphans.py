"""The test servers (``redis-server``, ``router serve``) do not outlive the process that started
them, however it ends: a test run stopped by SIGTERM (a timeout) or SIGKILL (an xdist worker
killed) runs no teardown, and used to leave them running.

A Python subprocess starts both through ``router.durable.testing``, from a thread that ends at
once (as the soak and crash-point tests do: the servers must outlive that thread, only not the
process); the test checks they serve, kills the subprocess and polls until both are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.durable.conftest import CONFIG, need_redis
from tests.durable.harness import wait_for

ROOT = Path(__file__).resolve().parents[2]

STARTER = """
import json, sys, threading, time
from pathlib import Path
from router.durable.testing import Proc, RedisServer

tmp = Path(sys.argv[1])
pids = {}

def start():
    server = RedisServer(tmp / "redis")
    server.start()
    args = ["router", "serve", str(tmp / "router.toml"), "--redis", server.url, "--domains", "d"]
    serve = Proc(args, tmp / "serve.log")
    pids.update({"redis-server": server.proc.pid, "router serve": serve.pid})

thread = threading.Thread(target=start)
thread.start()
thread.join()
print(json.dumps(pids), flush=True)
time.sleep(600)
"""


def _start_time(pid: int) -> str | None:
    """The process's start time (``/proc/PID/stat`` field 22), None once it has exited.

    A zombie has exited (nobody may reap an orphan in a container); the start time tells a
    reused pid apart.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state is field 3
    return None if fields[0] in ("Z", "X") else fields[19]


@pytest.mark.skipif(sys.platform != "linux", reason="a parent-death signal is Linux-only")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_servers_die_with_the_process_that_started_them(tmp_path: Path, sig: int) -> None:
    need_redis()
    (tmp_path / "router.toml").write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    pids: dict[str, int] = {}
    try:
        assert starter.stdout is not None
        pids = json.loads(starter.stdout.readline() or "{}")
        assert set(pids) == {"redis-server", "router serve"}, starter.wait(5)
        started = {name: _start_time(pid) for name, pid in pids.items()}
        log = tmp_path / "serve.log"
        wait_for(lambda: "serving domains d" in log.read_text(), "router serve to serve")
        for name, pid in pids.items():  # alive after the thread that started them ended
            assert started[name] is not None and _start_time(pid) == started[name], name
        starter.send_signal(sig)
        assert starter.wait(10) == -sig
        for name, pid in pids.items():
            wait_for(lambda pid=pid, t=started[name]: _start_time(pid) != t, f"{name} to die")
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        for pid in pids.values():  # no leftovers from a failing run
            if _start_time(pid) is not None:
                os.kill(pid, signal.SIGKILL)
