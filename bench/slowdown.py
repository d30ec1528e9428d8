"""A scratch copy of the router with a busy loop in ``Router.submit``: the guard's test.

``python -m bench.slowdown DIR`` copies this tree's ``router/`` to ``DIR/router``
and makes ``Router.submit`` spin ``BENCH_INJECTED_LOOPS`` (environment, read at
import; 0 when unset) empty loop iterations first. The working tree is never
touched. Then::

    BENCH_INJECTED_LOOPS=N python -m bench.guard --candidate DIR

must fail when N makes the lifecycle ~20% slower, and pass with N=0 (the copy
is otherwise the working tree's code). ``--calibrate`` measures the 10k-agent
lifecycle of the copy with and without the loop, interleaved in subprocesses,
and prints the slowdown N gives (BENCHMARKS.md records a run).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.build import ENV_BUILD, ENV_PATH

ENV_LOOPS = "BENCH_INJECTED_LOOPS"
ROOT = Path(__file__).resolve().parent.parent
PATCH_HEAD = (
    "import os as _bench_os\n"
    f"_BENCH_INJECTED_LOOPS = int(_bench_os.environ.get({ENV_LOOPS!r}, '0') or 0)\n"
)


def _submit_file(router_dir: Path) -> tuple[Path, ast.FunctionDef]:
    """The module defining ``class Router`` with a ``submit`` method, and that method."""
    for path in sorted(router_dir.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == "Router":
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "submit":
                        return path, item
    raise SystemExit(f"bench.slowdown: no Router.submit under {router_dir}")


def make_copy(dst: Path) -> Path:
    """Copy ``router/`` to ``dst/router`` and patch the busy loop in; returns the patched file."""
    target = dst / "router"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "router", target, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    path, fn = _submit_file(target)
    lines = path.read_text().splitlines(keepends=True)
    first = fn.body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    at = (first.end_lineno or first.lineno) if is_doc else first.lineno - 1
    indent = " " * first.col_offset
    loop = f"{indent}for _ in range(_BENCH_INJECTED_LOOPS):  # injected by bench.slowdown\n"
    lines.insert(at, loop + f"{indent}    pass\n")
    body = "".join(lines)
    # module level, after the __future__ import if any (it must stay first)
    future = "from __future__ import annotations\n"
    if future in body:
        body = body.replace(future, future + PATCH_HEAD, 1)
    else:
        body = PATCH_HEAD + body
    path.write_text(body)
    return path


def _lifecycle(tree: Path, loops: int, out: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, **{ENV_PATH: str(tree), ENV_BUILD: "pure", ENV_LOOPS: str(loops)})
    cmd = [sys.executable, "-m", "bench", "--mode", "guard", "--sections", "lifecycles"]
    return subprocess.Popen(
        [*cmd, "--quiet", "--json", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def calibrate(tree: Path, loops: int, pairs: int) -> list[float]:
    """Per pair: the 10k lifecycle (over the indexed peer, as the guard reads it) with
    ``loops`` over without, the two processes side by side as the guard runs them."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pairs):
            paths = {n: Path(tmp) / f"{i}-{n}.json" for n in (0, loops)}
            procs = [_lifecycle(tree, n, path) for n, path in paths.items()]
            if any(p.wait() != 0 for p in procs):
                raise SystemExit("bench.slowdown: a lifecycle run failed")
            got = {
                n: json.loads(path.read_text())["extra"]["lifecycle"]["core_over_peer"]["10000"]
                for n, path in paths.items()
            }
            out.append(got[loops] / got[0])
            print(f"pair {i + 1}: x{out[-1]:.3f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.slowdown")
    p.add_argument("dir", help="where to put the patched copy (DIR/router)")
    p.add_argument("--calibrate", type=int, metavar="N", help="measure the slowdown N loops give")
    p.add_argument("--pairs", type=int, default=3, help="interleaved pairs for --calibrate")
    args = p.parse_args(argv)
    dst = Path(args.dir).resolve()
    dst.mkdir(parents=True, exist_ok=True)
    patched = make_copy(dst)
    print(f"patched {patched.relative_to(dst)} in {dst}: Router.submit spins ${ENV_LOOPS}")
    if args.calibrate is not None:
        ratios = calibrate(dst, args.calibrate, args.pairs)
        print(
            f"{ENV_LOOPS}={args.calibrate}: 10k lifecycle x{statistics.median(ratios):.3f} "
            f"(median of {len(ratios)} pairs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
