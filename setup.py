"""The optional compiled build: the hot-path modules through mypyc (docs/compiled.md).

Everything else about the distribution is in ``pyproject.toml``. Without
``ROUTER_COMPILE=1`` this file adds nothing and the package is pure Python (the
reference build). With it, the modules :func:`compiled_modules` lists become
C extension modules beside their ``.py`` sources; ``build_backend/router_build.py``
then asks the installer for the pinned mypy (:data:`MYPY`), so
``ROUTER_COMPILE=1 pip install .`` works with build isolation too.

A module stays pure Python when :data:`PURE` names it, with the reason.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

#: the mypy (and so mypyc) every compiled build uses; the ``dev`` extra pins the same
MYPY = "mypy==2.4.1"
#: the compiled build's one runtime dependency: ``librt.vecs``, the native vectors of its
#: agent heaps (router/state/vecheap.py; mypy installs it too). The ``compiled`` extra and
#: the build backend name the same; the pure build never imports it
LIBRT = "librt>=0.16"
#: what every install needs at run time (pyproject.toml's ``dependencies`` are dynamic:
#: :func:`install_requires`)
REQUIRES = ["msgspec>=0.18"]

ROOT = Path(__file__).resolve().parent

#: the hot path: these files and every module in these folders, less PURE
COMPILED_FILES = (
    "router/core.py",
    "router/wellbeing.py",
    "router/sim/engine.py",
    "router/sim/arrivals.py",
    "router/adapters/_hot.py",
    "router/values.py",
)
COMPILED_DIRS = ("router/state", "router/policies")

#: modules of those that stay pure Python, and why
PURE = {
    # mypyc creates a non-native class without its class keywords (frozen=, tag=,
    # array_like=...): a msgspec Struct would silently lose its options. Structs with
    # options therefore live in modules that are not compiled.
    "router/state/codec.py": "snapshot records are msgspec Structs with array_like=True",
    "router/policies/verdict.py": "Verdict is a frozen msgspec Struct",
    "router/state/stat_records.py": "real-time statistics' snapshot records: array_like Structs",
    # packages' __init__ only re-export
    "router/state/__init__.py": "re-exports only",
    "router/policies/__init__.py": "re-exports only",
}


#: GCC options for the compiled group's one C file (the modules' code and mypyc's runtime
#: helpers together): ``-fno-semantic-interposition`` lets calls between its functions bind
#: directly (a ``-fPIC`` shared object's exported functions are otherwise called through the
#: PLT and never inlined), and a larger inlining budget lets GCC inline the small helpers a
#: hot loop calls (``CPyList_GetItemInt64``, ``CPyList_SetItemInt64``: the heaps' sifts)
#: and small native functions. The same C, so the same decisions; about 8% fewer
#: instructions per lifecycle (BENCHMARKS.md, "The compiled lifecycle at 10,000 agents, cx44")
GCC_CFLAGS = ("-fno-semantic-interposition", "--param", "max-inline-insns-auto=60")


def compiler_cflags(cc: str | None) -> list[str]:
    """The extra C options for the compiler command ``cc`` (``CC``, else Python's own):
    :data:`GCC_CFLAGS` for GCC, none for another compiler (clang reads GCC's ``--param``
    names differently, MSVC has no such options)."""
    names = [os.path.basename(word) for word in (cc or "").split()]  # ("ccache gcc")
    gcc = any("gcc" in n for n in names) and not any("clang" in n for n in names)
    return list(GCC_CFLAGS) if gcc else []


def compile_requested() -> bool:
    """``ROUTER_COMPILE`` is set to 1/true/yes."""
    return os.environ.get("ROUTER_COMPILE", "").strip().lower() in ("1", "true", "yes")


def install_requires() -> list[str]:
    """The distribution's dependencies: :data:`REQUIRES`, plus :data:`LIBRT` for the
    compiled build (``ROUTER_COMPILE``, or ``ROUTER_COMPILE_METADATA``, which the build
    backend sets when it prepares a compiled build's metadata without compiling), so a
    compiled install's metadata says it needs ``librt`` and a pure one's does not."""
    compiled = compile_requested() or os.environ.get("ROUTER_COMPILE_METADATA") == "1"
    return [*REQUIRES, LIBRT] if compiled else list(REQUIRES)


def compiled_modules() -> list[str]:
    """The source files mypyc compiles, relative to the repository root, sorted."""
    files = set(COMPILED_FILES)
    for folder in COMPILED_DIRS:
        files.update(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob("*.py"))
    return sorted(files - set(PURE))


#: where a compiled build keeps its C sources and objects: apart from the pure build's
#: ``build/lib``, so a pure wheel built later in the same tree never picks up a stale
#: extension module
COMPILED_BUILD_BASE = "build/mypyc"


def _ext_modules() -> list[object]:
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        raise SystemExit(
            f"ROUTER_COMPILE=1 needs mypyc: pip install '{MYPY}' (or unset ROUTER_COMPILE "
            "for the pure-Python build)"
        ) from exc
    # one shared library (router_hot__mypyc) for the group: calls between compiled
    # modules stay native
    extensions = list(
        mypycify(
            compiled_modules(),
            opt_level="3",
            debug_level="0",
            group_name="router_hot",
            target_dir=f"{COMPILED_BUILD_BASE}/src",
        )
    )
    cflags = compiler_cflags(os.environ.get("CC") or sysconfig.get_config_var("CC"))
    for ext in extensions:
        ext.extra_compile_args = [*ext.extra_compile_args, *cflags]
    return extensions


if __name__ == "__main__":
    from setuptools import setup

    os.chdir(ROOT)  # mypycify takes paths relative to the repository root
    if compile_requested():
        setup(
            ext_modules=_ext_modules(),
            install_requires=install_requires(),
            options={"build": {"build_base": COMPILED_BUILD_BASE}},
        )
    else:
        setup(install_requires=install_requires())
