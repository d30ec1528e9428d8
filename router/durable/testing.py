"""Helpers for tests and benchmarks: a private redis-server and ``router serve`` processes.

Theory of operation: :class:`RedisServer` runs Debian's ``redis-server`` on a
free loopback port with its own data directory, AOF on (``appendfsync always``
by default, so an acknowledged write survives ``kill -9``) and RDB snapshots
off; it can be killed and restarted on the same port and directory.
:class:`RedisClusterServers` makes three of them (cluster-enabled) one Redis
Cluster with ``redis-cli --cluster create``.
:class:`Proc` runs a Python module in a subprocess with its output in a log
file, and always kills it on :meth:`Proc.kill` (SIGKILL after a grace period).
Neither outlives the process that started it, however that ends (``_spawn``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import redis

__all__ = ["Proc", "RedisClusterServers", "RedisServer", "free_port", "redis_server_path"]


def redis_server_path() -> str | None:
    """The ``redis-server`` executable, or None when it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )


# ---------------------------------------------------------------------- children
#
# A test run stopped by SIGTERM (a timeout) or SIGKILL (an xdist worker killed) runs no
# fixture teardown, no ``atexit`` and no signal handler, so nothing in this process can
# stop its children then: only the kernel can. On Linux every child asks it, between fork
# and exec, for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``; kept across
# exec, so redis-server gets it too). SIGKILL, not SIGTERM: a ``router serve`` told to stop
# would wait for a Redis that may be dying with it. The kernel's "parent" is the *thread*
# that forked the child, and tests start servers from threads that end (the soak's chaos
# thread, a crash-point watcher), so every child is forked by one spawner thread that
# lives as long as the process (a daemon: it ends only when the process does). The
# ``preexec_fn`` is safe beside other threads: it only calls a function resolved before
# the fork and ``os`` calls, takes no lock and imports nothing. And everywhere an
# ``atexit`` hook kills the children still running at a normal exit (Ctrl-C included):
# all there is where prctl is not.

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_jobs: queue.SimpleQueue[tuple[Callable[[], subprocess.Popen[bytes]], Future[Any]]] = (
    queue.SimpleQueue()
)
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()
_children: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()


def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGKILLed when its parent dies; None off Linux."""
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _spawner_loop() -> None:
    while True:
        start, done = _jobs.get()
        try:
            done.set_result(start())
        except BaseException as exc:  # the caller's to handle
            done.set_exception(exc)


def _kill_children() -> None:
    for p in list(_children):
        if p.poll() is None:
            p.kill()


def _spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, **kwargs)`` for a child that dies with this process."""
    global _spawner
    preexec = _death_signal()
    if preexec is None:
        p = subprocess.Popen(args, **kwargs)
    else:
        with _spawner_lock:
            if _spawner is None or not _spawner.is_alive():  # not alive in a forked child
                _spawner = threading.Thread(target=_spawner_loop, name="spawner", daemon=True)
                _spawner.start()
        done: Future[subprocess.Popen[bytes]] = Future()
        _jobs.put((lambda: subprocess.Popen(args, preexec_fn=preexec, **kwargs), done))
        p = done.result()
    _children.add(p)
    return p


atexit.register(_kill_children)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisServer:
    """A private redis-server on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        *,
        fsync: str = "always",
        port: int | None = None,
        cluster: bool = False,
    ) -> None:
        exe = redis_server_path()
        if exe is None:
            raise FileNotFoundError("redis-server is not installed")
        self.exe = exe
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.cluster = cluster
        self.port = port or (_cluster_port() if cluster else free_port())
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [
            self.exe,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        self.proc = _spawn(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{log}")
            try:
                c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0)
                try:
                    if c.ping():
                        return
                finally:
                    c.close()
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server (SIGKILL by default: only what AOF already holds survives)."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


class Proc:
    """A ``python -m MODULE ARGS`` subprocess with its stdout/stderr in ``log``."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = Path(log)
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = _spawn(
            [sys.executable, "-m", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )
        self.pid = self.proc.pid

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, grace: float = 10.0) -> int:
        """SIGTERM (after SIGCONT, in case it is stopped), then SIGKILL after ``grace``."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _command(client: redis.Redis, *args: str) -> Any:
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


class RedisClusterServers:
    """A Redis Cluster of ``masters`` private redis-servers on 127.0.0.1, no replicas.

    Each node is a :class:`RedisServer` started with ``--cluster-enabled yes``;
    ``redis-cli --cluster create`` spreads the 16,384 slots over them.
    """

    def __init__(self, directory: Path, masters: int = 3, *, fsync: str = "always") -> None:
        self.nodes = [
            RedisServer(Path(directory) / f"node{i}", fsync=fsync, cluster=True)
            for i in range(masters)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while True:
                c = node.client()
                try:
                    info = _command(c, "CLUSTER", "INFO")
                finally:
                    c.close()
                text = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" in text:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster not ready on port {node.port}:\n{text}")
                time.sleep(0.05)

    def node_of(self, key: str) -> int:
        """Index of the node serving ``key``'s slot."""
        c = self.nodes[0].client()
        try:
            slot = int(_command(c, "CLUSTER", "KEYSLOT", key))
            for lo, hi, master, *_ in _command(c, "CLUSTER", "SLOTS"):
                if lo <= slot <= hi:
                    port = int(master[1])
                    return next(i for i, n in enumerate(self.nodes) if n.port == port)
        finally:
            c.close()
        raise LookupError(key)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()
