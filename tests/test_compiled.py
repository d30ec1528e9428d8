"""The optional compiled build (``setup.py``, docs/compiled.md) against the pure reference.

The pure-Python build is the reference: a seeded 20x flood through the simulator
must give byte-identical encoded events from both builds. The build's own rules
are checked statically, so a module added later cannot break the compiled build
quietly: no msgspec Struct with class keywords in a compiled module (mypyc drops
them), one mypy pin everywhere.

The flood runs both builds in subprocesses from the compiled pass of ``make test``
(``make unit-compiled``, on ``build/compiled``); the pure pass skips it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import router

ROOT = Path(__file__).resolve().parents[1]
COMPILED = ROOT / "build" / "compiled"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


setup = _load(ROOT / "setup.py", "router_setup")


def test_one_mypy_pin_for_the_build_the_backend_and_the_dev_extra() -> None:
    backend = _load(ROOT / "build_backend" / "router_build.py", "router_build_backend")
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "dev"
    ]
    assert re.fullmatch(r"mypy==[0-9.]+", setup.MYPY)
    assert backend.MYPY == setup.MYPY
    assert setup.MYPY in dev


def test_one_librt_pin_for_the_compiled_extra_and_the_backend() -> None:
    """The compiled build needs ``librt`` at run time (its agent heaps' vectors:
    router/state/vecheap.py): the ``compiled`` extra, the build backend and setup.py
    name the same requirement; no other extra needs it."""
    backend = _load(ROOT / "build_backend" / "router_build.py", "router_build_backend")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "dependencies" in project["dynamic"]  # setup.py's install_requires (user53)
    deps = setup.REQUIRES
    assert re.fullmatch(r"librt>=[0-9.]+", setup.LIBRT)
    assert extras["compiled"] == [setup.LIBRT] and backend.LIBRT == setup.LIBRT
    assert setup.LIBRT in backend.COMPILE_REQUIRES
    assert not any("librt" in d for d in deps)  # the pure install does not need it


def _requires_dist(tmp: Path, compiled: bool) -> list[str]:
    """The ``Requires-Dist`` lines of the metadata the build backend prepares for pip
    (``prepare_metadata_for_build_wheel``: what pip resolves dependencies from), with
    ``ROUTER_COMPILE=1`` or without; no compiler or mypy runs for it."""
    env = {k: v for k, v in os.environ.items() if k != "ROUTER_COMPILE"}
    if compiled:
        env["ROUTER_COMPILE"] = "1"
    env["PYTHONPATH"] = str(ROOT / "build_backend")
    out = tmp / ("compiled" if compiled else "pure")
    out.mkdir()
    code = (
        "import sys, router_build\n"
        "print(router_build.prepare_metadata_for_build_wheel(sys.argv[1]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    name = proc.stdout.strip().splitlines()[-1]
    text = (out / name / "METADATA").read_text()
    return [
        ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("Requires-Dist:")
    ]


def test_a_compiled_install_declares_librt_and_a_pure_one_does_not(tmp_path: Path) -> None:
    """user53: ``ROUTER_COMPILE=1 pip install .`` installed a build that imports
    ``librt.vecs`` with metadata that did not name it (``dependencies`` was static): a
    later ``pip uninstall mypy librt`` or a fresh environment from ``pip freeze`` of the
    pure wheel broke it at import. The dependencies are now setup.py's
    (:func:`install_requires`): the compiled build's metadata (the hook pip reads and the
    wheel's) requires ``librt``, the pure one's does not."""
    compiled = _requires_dist(tmp_path, compiled=True)
    pure = _requires_dist(tmp_path, compiled=False)
    base = [d for d in pure if "extra ==" not in d]
    assert [d for d in compiled if "extra ==" not in d] == [*base, setup.LIBRT]
    assert not any(d.startswith("librt") for d in base)
    assert any(d.startswith("msgspec") for d in base)
    saved = os.environ.pop("ROUTER_COMPILE", None)
    try:
        assert setup.LIBRT not in setup.install_requires()
        os.environ["ROUTER_COMPILE"] = "1"
        assert setup.install_requires()[-1] == setup.LIBRT  # the wheel setup() writes
    finally:
        os.environ.pop("ROUTER_COMPILE", None)
        if saved is not None:
            os.environ["ROUTER_COMPILE"] = saved


#: the pure tree imported with ``librt`` hidden (an install without mypy): a router runs a
#: lifecycle; the compiled agent heap's module imports and is never used
NO_LIBRT = r"""
import sys
sys.modules["librt"] = None
sys.modules["librt.vecs"] = None
import router
from router import AgentSpec, Inquiry, Router, decode_config
import router.state.vecheap
r = Router(decode_config('[[queues]]\nname = "c"\nchannel = "chat"\n'))
r.login(AgentSpec(id="a", capacity={"chat": 1}), 0.0)
r.submit(Inquiry(id="i", queue="c"), 1.0)
events = [type(e).__name__ for e in r.tick(1.0)]
assert r._table is None and "librt" not in repr(sys.modules.get("librt.vecs"))
print(router.compiled, events)
"""


def test_the_pure_build_imports_and_runs_without_librt() -> None:
    """``librt`` is the compiled build's dependency only: the pure tree (the reference,
    what ``pip install`` without a compiler gives) imports and routes with it hidden."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_ROUTER")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", NO_LIBRT], capture_output=True, env=env, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split(" ", 1)[0] == "False"
    assert "Assigned" in proc.stdout.decode() or "Offered" in proc.stdout.decode()


@pytest.mark.skipif(
    not router.compiled,
    reason="runs in the compiled pass (make unit-compiled), after build/compiled is built",
)
def test_the_compiled_build_without_librt_says_what_to_install() -> None:
    """A compiled install without its runtime dependency fails at ``import router`` with
    a message naming it and the way out, not a bare ``No module named 'librt.vecs'``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_ROUTER")}
    env["PYTHONPATH"] = str(Path(router.__file__).resolve().parent.parent)
    hide = "import sys\nsys.modules['librt'] = None\nimport router\n"
    proc = subprocess.run(
        [sys.executable, "-c", hide], capture_output=True, env=env, cwd="/", timeout=120
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "ImportError: router's compiled build needs librt at run time" in err, err
    assert "pip install 'librt>=0.16'" in err and "librt.vecs" in err  # the cause chained


def test_the_hot_path_is_in_the_compiled_list() -> None:
    mods = setup.compiled_modules()
    for must in ("router/core.py", "router/state/records.py", "router/policies/control.py"):
        assert must in mods
    assert "router/sim/engine.py" in mods
    assert "router/sim/arrivals.py" in mods  # the simulator's draws (BENCHMARKS.md)
    assert "router/adapters/_hot.py" in mods  # the adapters' per-inquiry work
    for path in setup.PURE:
        assert (ROOT / path).is_file(), f"setup.PURE names {path}, which does not exist"
        assert path not in mods


def test_gcc_gets_the_inlining_options_and_other_compilers_none() -> None:
    # (setup.py's GCC_CFLAGS: calls inside the group's C file bound directly and its small
    # helpers inlined; another compiler would refuse or misread GCC's --param names)
    flags = list(setup.GCC_CFLAGS)
    assert "-fno-semantic-interposition" in flags
    for cc in ("gcc", "gcc -pthread", "/usr/bin/x86_64-linux-gnu-gcc-12", "ccache gcc"):
        assert setup.compiler_cflags(cc) == flags, cc
    for cc in ("clang", "clang -pthread", "/usr/bin/clang-gcc-compat", "cl.exe", "cc", "", None):
        assert setup.compiler_cflags(cc) == [], cc


def _struct_with_keywords(tree: ast.Module) -> list[str]:
    """Classes with a base and class keywords (``class X(Struct, frozen=True)``)."""
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and node.bases
        and any(k.arg != "metaclass" for k in node.keywords)
    ]


def test_compiled_modules_define_no_class_with_class_keywords() -> None:
    # mypyc calls a non-native class's metaclass without its class keywords: a msgspec
    # Struct would lose frozen=, gc=, array_like=, tag=... and encode differently
    bad = {
        path: names
        for path in setup.compiled_modules()
        if (names := _struct_with_keywords(ast.parse((ROOT / path).read_text())))
    }
    assert not bad, f"move these classes to a module in setup.PURE: {bad}"
    # the check itself sees such a class
    assert _struct_with_keywords(ast.parse("class V(Struct, frozen=True):\n    x: int\n")) == ["V"]


def test_router_compiled_says_which_build_is_loaded() -> None:
    wanted = os.environ.get("BENCH_ROUTER_BUILD", "")
    assert isinstance(router.compiled, bool)
    if wanted == "compiled":
        assert router.compiled
    elif wanted == "pure":
        assert not router.compiled
    from router._build import build_name, compiled_modules

    assert router.compiled == ("router.core" in compiled_modules())
    importlib.import_module("router.adapters")  # its per-inquiry work is compiled with the core
    assert router.compiled == ("router.adapters._hot" in compiled_modules())
    assert build_name() == ("compiled (mypyc)" if router.compiled else "pure Python")


FLOOD = """
import sys
from bench.build import apply_environment, describe
apply_environment()
from router.events import encode_events
from router.sim import Simulator, load_scenario
events = []
def keep(event):
    events.append(event)
    return True
sc = load_scenario(sys.argv[1])
Simulator(sc, seed=2020, load=20.0, duration_s=float(sys.argv[2]), on_event=keep).run()
sys.stderr.write(repr(describe()["compiled"]))
sys.stdout.buffer.write(encode_events(events))
"""


def _flood(build: str, path: Path, duration_s: float) -> tuple[bool, bytes]:
    env = {**os.environ, "BENCH_ROUTER_BUILD": build, "BENCH_ROUTER_PATH": str(path)}
    env["PYTHONPATH"] = str(ROOT)  # the harness (bench/); the router comes from path
    proc = subprocess.run(
        [sys.executable, "-c", FLOOD, str(ROOT / "examples" / "spring_festival.toml"),
         str(duration_s)],
        capture_output=True, env=env, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stderr.decode().strip() == "True", proc.stdout


@pytest.mark.skipif(
    not router.compiled,
    reason="runs in the compiled pass (make unit-compiled), after build/compiled is built",
)
def test_a_seeded_20x_flood_gives_the_same_events_byte_for_byte() -> None:
    # 18:00-19:20 of the flagship at --load 20: an hour of evening, then 20 minutes of
    # the x20 flood on top (400x a normal evening): rejections, callbacks, surge mode
    duration = 4800.0
    pure_flag, pure = _flood("pure", ROOT, duration)
    compiled_flag, compiled = _flood("compiled", COMPILED, duration)
    assert (pure_flag, compiled_flag) == (False, True)
    assert len(pure) > 1_000_000
    for tag in (b'"Offered"', b'"Rejected"', b'"CallbackScheduled"', b'"SurgeStarted"'):
        assert tag in pure
    if compiled != pure:
        a, b = pure.split(b"},{"), compiled.split(b"},{")
        first = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y) if a != b else None
        raise AssertionError(
            f"compiled events differ from the pure reference at event {first}: "
            f"pure {a[first or 0][:300]!r} compiled {b[first or 0][:300]!r}"
        )
